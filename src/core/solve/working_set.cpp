// Working sets over consensus ADMM (include/cadmm/admm.hpp): in the spirit of glmnet's strong rules and of
// celer/skglm's working sets, with the duality gap of the full problem as the certificate.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cadmm/admm.hpp"
#include "cadmm/fit.hpp"
#include "core/solve/coordinate.hpp"

namespace cadmm {

namespace {

using Index = Eigen::Index;

// The smallest step a set grows by (and starts at): a round costs one pass over the rows (8 d bytes a row, for
// the KKT check) besides the set's Gram (|W|^2 flops a row); at ~30 GFLOP/s against ~10 GB/s the Gram is the
// smaller cost while |W| < sqrt(24 d), so sets up to about that size are taken whole instead of in more rounds.
Index min_step(Index d) { return std::max<Index>(10, static_cast<Index>(std::ceil(4 * std::sqrt(static_cast<double>(d))))); }

// How far feature j is from its KKT bound at zero: the dual norm of its gradient row over l1 c_j (> 1: it
// would move away from zero).
double score(const Matrix& grad, const PenaltySpec& pen, Index j) {
  const double norm = pen.push(grad, j);
  const double c = pen.weight(j);
  if (c <= 0) return norm > 0 ? HUGE_VAL : 0.0;  // unpenalized: any push moves it
  return norm / (pen.l1_weight * c);
}

// Adds to `in` up to `count` of the features outside it whose score exceeds 1, the largest first; returns how
// many violated.
Index add_violators(const Matrix& grad, const PenaltySpec& pen, std::vector<char>& in, Index count) {
  std::vector<std::pair<double, Index>> out;
  for (Index j = 0; j < grad.rows(); ++j) {
    if (in[static_cast<std::size_t>(j)]) continue;
    const double s = score(grad, pen, j);
    if (s > 1) out.emplace_back(s, j);
  }
  const Index take = std::min<Index>(count, static_cast<Index>(out.size()));
  // Ties broken by index, so every rank (same reduced gradient) picks the same set.
  std::partial_sort(out.begin(), out.begin() + take, out.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  for (Index i = 0; i < take; ++i) in[static_cast<std::size_t>(out[static_cast<std::size_t>(i)].second)] = 1;
  return static_cast<Index>(out.size());
}

}  // namespace

namespace {

// On the original scale: feature j's gradient row at zero is q_j and its bound l1_weight * p_j; the internal
// column scaling multiplies both by s_j, so the scores equal those working_set_solve ranks.
std::vector<char> violators_at_zero(const PreparedData& data, double lambda, Index take) {
  PenaltySpec pen = PenaltySpec::make(data.spec.penalty, lambda, data.spec.effective_l1_ratio());
  pen.feature_weight = data.penalty_scale();
  std::vector<char> in(static_cast<std::size_t>(data.q_global.rows()), 0);
  add_violators(data.q_global, pen, in, take);
  return in;
}

}  // namespace

double violating_share_at_zero(const PreparedData& data, double lambda) {
  const Index d = data.q_global.rows();
  if (d == 0) return 0;
  const std::vector<char> in = violators_at_zero(data, lambda, d);
  return static_cast<double>(std::count(in.begin(), in.end(), 1)) / static_cast<double>(d);
}

std::vector<Index> first_working_set(const PreparedData& data, double lambda) {
  const std::vector<char> in = violators_at_zero(data, lambda, min_step(data.q_global.rows()));
  std::vector<Index> set;
  for (std::size_t j = 0; j < in.size(); ++j)
    if (in[j]) set.push_back(static_cast<Index>(j));
  return set;
}

AdmmResult working_set_solve(const AdmmProblem& problem, const SolverSettings& settings, Communicator& comm,
                             const AdmmState* warm, const AdmmObserver& observer) {
  const LocalSolver& local = *problem.local;
  const Index d = local.q().rows(), k = local.q().cols();
  const PenaltySpec& pen = problem.penalty;
  const bool sized = warm && warm->z.rows() == d && warm->z.cols() == k;
  AdmmState full;  // the full-sized iterate between rounds
  full.z = sized ? warm->z : Matrix::Zero(d, k);
  full.u = sized && warm->u.rows() == d && warm->u.cols() == k ? warm->u : Matrix::Zero(d, k);
  full.rho = warm ? warm->rho : 0;
  full.iteration = warm ? warm->iteration : 0;

  AdmmResult res;
  Matrix grad;
  res.optimality = evaluate(problem, full.z, comm, &grad);
  // With bounds, dense rows few enough to give their columns (the screened form's, dense_descent): along a path,
  // coordinate descent from the warm start first, as the cg form's. A set's ADMM cannot polish a bounded pattern whose
  // block is singular (wide data whose support nears the rows: it crept to --max-iter), where coordinate descent
  // keeps to the bounds at every step. A start it does not certify goes on to working sets.
  const bool bounded = pen.lower.size() > 0 || pen.upper.size() > 0;
  if (bounded && sized && problem.columns && settings.polish &&
      !settings.certified(res.optimality.gap, res.optimality.objective)) {
    bool stopped = false;
    if (descend_from(problem, full.z, grad, settings, comm, observer, res, &stopped) || stopped) {
      res.status = stopped ? Status::interrupted : Status::converged;  // interrupted: kept as not begun (fit_path)
      res.state = std::move(full);
      return res;
    }
  }
  // The start's support, and the features that violate their bound most, as many again (at least min_step).
  std::vector<char> in(static_cast<std::size_t>(d), 0);
  Index support = 0;
  for (Index j = 0; j < d; ++j)
    if (!full.z.row(j).isZero()) in[static_cast<std::size_t>(j)] = 1, ++support;
  // A start where nearly every feature already violates its bound (a strongly correlated design, or a small
  // lambda) promises no small set; rounds would only add passes: take every feature at once.
  if (support + add_violators(grad, pen, in, std::max(min_step(d), support)) > kDenseStart * static_cast<double>(d)) {
    std::fill(in.begin(), in.end(), 1);
  } else if (support == 0 && !problem.first_set.empty()) {
    // From zero, the violators among the features at hand (fetched with the sums, chosen on a sample of the rows
    // by the rule above) start the set instead, at no pass; when none violates, the rule above stands.
    std::vector<char> hand(in.size(), 0);
    bool any = false;
    for (Index j : problem.first_set)
      if (score(grad, pen, j) > 1) hand[static_cast<std::size_t>(j)] = 1, any = true;
    if (any) in = std::move(hand);
  }

  // A restricted solve's state is not the full problem's: it saves no checkpoint (a path that checkpoints keeps a lambda
  // stopped here as not begun, fit_path), though it still stops when asked.
  AdmmObserver restricted_observer = observer;
  restricted_observer.checkpoint = nullptr;
  restricted_observer.checkpoint_every = 0;
  for (;;) {
    std::vector<Index> set;
    for (Index j = 0; j < d; ++j)
      if (in[static_cast<std::size_t>(j)]) set.push_back(j);
    if (set.empty()) {  // nothing can move from zero: z = 0 is the solution, and the gap says so
      res.status = Status::converged;
      break;
    }
    ++res.working_set_rounds;
    res.working_set = static_cast<int>(set.size());
    const std::unique_ptr<LocalSolver> restricted = local.restricted(set);
    AdmmProblem sub = problem;
    sub.local = restricted.get();
    sub.polish_memory = nullptr;  // indexed by the full problem's features
    sub.columns = false;          // a restricted Gram term
    sub.max_polish = std::max<Index>(problem.max_polish, std::min<Index>(kMaxPolishHeld, static_cast<Index>(set.size())));
    if (pen.feature_weight.size()) sub.penalty.feature_weight = pen.feature_weight(set);
    if (pen.ridge_weight.size()) sub.penalty.ridge_weight = pen.ridge_weight(set);
    if (pen.lower.size()) sub.penalty.lower = pen.lower(set);
    if (pen.upper.size()) sub.penalty.upper = pen.upper(set);
    AdmmState start;
    start.z = full.z(set, Eigen::all);
    start.u = full.u(set, Eigen::all);
    start.rho = full.rho;
    start.iteration = full.iteration;
    AdmmResult r = admm_solve(sub, settings, comm, &start, restricted_observer);

    full.z.setZero();
    full.z(set, Eigen::all) = r.state.z;
    full.u.setZero();
    full.u(set, Eigen::all) = r.state.u;
    full.rho = r.state.rho;
    full.iteration = r.state.iteration;
    res.history.insert(res.history.end(), r.history.begin(), r.history.end());
    res.factors += r.factors;
    res.status = r.status;
    res.polished = r.polished;
    res.r_norm = r.r_norm;
    res.s_norm = r.s_norm;
    res.optimality = r.optimality;
    if (r.status == Status::max_iter) {
      // Stopped inside the set: the set's gap says nothing of the features left out. The full problem's does
      // (found by a new-user trial: --max-iter 10 reported the set's 1.9e-5 at an objective 28% above the optimum).
      res.optimality = evaluate(problem, full.z, comm);
      break;
    }
    if (r.status != Status::converged) break;  // interrupted, or diverged: ended as it is
    // The full problem at the set's solution: its gap is the certificate, its gradient the KKT check of the
    // features left out. Grow by the solution's support (at least min_step), the worst violators first: the set
    // then tracks the support (celer's rule) rather than doubling on correlated data.
    res.optimality = evaluate(problem, full.z, comm, &grad);
    const bool certified = settings.certified(res.optimality.gap, res.optimality.objective);
    Index support_now = 0;
    for (Index j = 0; j < d; ++j) support_now += !full.z.row(j).isZero();
    if (certified || add_violators(grad, pen, in, std::max(min_step(d), support_now)) == 0) break;
  }
  res.state = std::move(full);
  return res;
}

}  // namespace cadmm
