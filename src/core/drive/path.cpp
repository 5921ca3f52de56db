// Paths and cross-validation over Models (include/cadmm/path.hpp).
#include "cadmm/path.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

#include "cadmm/error.hpp"
#include "core/hash.hpp"
#include "core/solve/loop_state.hpp"
#include "core/solve/polish.hpp"

namespace cadmm {

namespace {

// What a path keeps of each fitted lambda, in order: its fit, its deviance ratio and the progress line. Returns
// whether the path ends there: interrupted, diverged, or glmnet's early stop (fdev = 1e-5, devmax = 0.999, checked
// from the fifth lambda on; every input is the same on every rank, so every rank stops alike).
bool record(PathResult& path, std::size_t i, FitResult f, double null_dev, std::size_t m, bool early_stop,
            const PathProgress& progress) {
  const double ratio = null_dev > 0 ? 1 - f.admm.optimality.rss / null_dev : 0.0;
  path.factors += f.admm.factors;
  path.dev_ratio.push_back(ratio);
  path.fits.push_back(std::move(f));
  if (progress) progress(i, path.fits.back(), ratio);
  const Status status = path.fits.back().admm.status;
  if (status == Status::interrupted || status == Status::diverged) return true;
  if (early_stop && i >= 4 && i + 1 < m && (ratio - path.dev_ratio[i - 1] < 1e-5 * ratio || ratio > 0.999)) {
    path.stopped_early = true;
    return true;
  }
  return false;
}

// Whether some rank was asked to stop (a signal): summed, so every rank answers alike.
bool stop_asked(const AdmmObserver& observer, Communicator& comm) {
  double stop = observer.stop_requested && observer.stop_requested() ? 1.0 : 0.0;
  comm.sum(&stop, 1);
  return stop > 0;
}

// The fit a path reports for lambda when a stop came before it began: the warm start (none: zero, with zero duals
// at the starting rho), interrupted, in a complete state a checkpoint can keep.
FitResult not_begun_fit(const Model& model, double lambda, double lambda_max, AdmmState warm,
                        const SolverSettings& settings) {
  const Eigen::Index d = model.data.n_features, k = model.data.n_targets;
  if (warm.z.size() == 0) warm.z = Matrix::Zero(d, k);
  if (warm.u.size() == 0) warm.u = Matrix::Zero(d, k);
  if (warm.rho <= 0) warm.rho = settings.rho.value_or(model.rho_auto);
  FitResult f;
  f.lambda = lambda;
  f.lambda_max = lambda_max;
  f.admm.state = not_begun(warm);
  if (model.local) note_factors(*f.admm.state.loop, *model.local, warm.rho);
  f.admm.status = Status::interrupted;
  f.coef = model.scaling.column.asDiagonal() * warm.z;
  f.intercept = model.data.y_mean - f.coef.transpose() * model.data.x_mean;
  return f;
}

// Root's fit on every rank: what the path's output, progress and checks read of it (not its iterate).
void share_fit(FitResult& f, int root, Eigen::Index d, Eigen::Index k, Communicator& comm) {
  constexpr int kScalars = 19, kRecord = 9;
  const bool mine = comm.rank() == root;
  const AdmmResult& a = f.admm;
  Vector head(kScalars);
  if (mine)
    head << f.lambda, f.lambda_max, f.l1_ratio, a.state.iteration, static_cast<double>(a.status), a.polished,
        a.descended, a.working_set, a.working_set_rounds, a.factors.cholesky, a.factors.eigen, a.r_norm, a.s_norm,
        a.optimality.objective, a.optimality.rss, a.optimality.gap, a.state.rho, a.sweeps,
        static_cast<double>(a.history.size());
  comm.broadcast(head.data(), sizeof(double) * kScalars, root);
  const Eigen::Index records = static_cast<Eigen::Index>(head[kScalars - 1]);
  Vector body(d * k + k + kRecord * records);
  if (mine) {
    body.head(d * k) = Eigen::Map<const Vector>(f.coef.data(), d * k);
    body.segment(d * k, k) = f.intercept;
    for (Eigen::Index r = 0; r < records; ++r) {
      const IterationRecord& x = a.history[static_cast<std::size_t>(r)];
      body.segment(d * k + k + kRecord * r, kRecord) << x.iteration, x.r_norm, x.s_norm, x.eps_pri, x.eps_dual, x.rho,
          x.objective, x.gap, x.seconds;
    }
  }
  comm.broadcast(body.data(), sizeof(double) * static_cast<std::size_t>(body.size()), root);
  if (mine) return;
  f = FitResult{};
  AdmmResult& b = f.admm;
  f.lambda = head[0], f.lambda_max = head[1], f.l1_ratio = head[2];
  b.state.iteration = static_cast<int>(head[3]);
  b.status = static_cast<Status>(static_cast<int>(head[4]));
  b.polished = head[5] != 0, b.descended = head[6] != 0;
  b.working_set = static_cast<int>(head[7]), b.working_set_rounds = static_cast<int>(head[8]);
  b.factors = FactorLog{static_cast<int>(head[9]), static_cast<int>(head[10])};
  b.r_norm = head[11], b.s_norm = head[12];
  b.optimality = Optimality{head[13], head[14], head[15]};
  b.state.rho = head[16];
  b.sweeps = static_cast<int>(head[17]);
  f.coef = Eigen::Map<const Matrix>(body.data(), d, k);
  f.intercept = body.segment(d * k, k);
  for (Eigen::Index r = 0; r < records; ++r) {
    const double* x = body.data() + d * k + k + kRecord * r;
    IterationRecord rec;
    rec.iteration = static_cast<int>(x[0]);
    rec.r_norm = x[1], rec.s_norm = x[2], rec.eps_pri = x[3], rec.eps_dual = x[4], rec.rho = x[5];
    rec.objective = x[6], rec.gap = x[7], rec.seconds = x[8];
    b.history.push_back(rec);
  }
}

// A recorded fit's z as a checkpoint gives it back (its coefficients over the column scale; an excluded feature's is 0):
// what a restartable path reads of its earlier lambdas, so that its resume reads the same bits.
Matrix recorded_z(const Model& model, const FitResult& f) {
  const Vector& s = model.scaling.column;
  Matrix z = Matrix::Zero(f.coef.rows(), f.coef.cols());
  for (Eigen::Index j = 0; j < z.rows(); ++j)
    if (s[j] > 0) z.row(j) = f.coef.row(j) / s[j];
  return z;
}

// Before lambda i of a path that checkpoints (PolishMemory::restartable): its memory as a resume at i would have it,
// the secant's prior being the answer `back` lambdas before the warm start's (every earlier fit is in path: a
// resumed path's from its checkpoint).
void restart_memory(PolishMemory& memory, const Model& model, const PathResult& path, std::size_t i, std::size_t back) {
  if (i < 2 * back) return memory.restart(Matrix(), 0.0);
  const FitResult& f = path.fits[i - 2 * back];
  memory.restart(recorded_z(model, f), f.lambda * f.l1_ratio);
}

// A path that checkpoints also saves between lambdas, once the ADMM iterations and coordinate-descent sweeps since the
// last save reach checkpoint_every: an ADMM solve saves every checkpoint_every of its own iterations only, so a path of
// short solves, or of coordinate descent alone, would otherwise be saved only when stopped. A save holds every finished
// lambda and the full state (on S1, 100,000 x 50,000, about 40 MB and half a second by the end), so it also waits
// for ten times what the last one took: at most a tenth of the time goes to saving. Rank 0's clock decides.
class SavesBetweenLambdas {
  static constexpr int kLambdaWork = 10;

 public:
  SavesBetweenLambdas(const AdmmObserver& observer, Communicator& comm) : observer_(observer), comm_(comm) {}
  // A lambda counts as kLambdaWork iterations at least: one solved by its warm active set alone (a polish: a
  // factorization and a gradient) costs about that, and a path of them was otherwise never saved (a user's trial: a
  // kill -9 at lambda 84 of 100 left no checkpoint).
  void count(const AdmmResult& a) { work_ += std::max(a.state.iteration + a.sweeps, kLambdaWork); }
  // Before a lambda that is to come: the state it starts from (next()), saved when due. Collective.
  template <class Next>
  void before_next(Next&& next) {
    if (!observer_.checkpoint || observer_.checkpoint_every <= 0 || work_ < observer_.checkpoint_every) return;
    const auto now = std::chrono::steady_clock::now();
    double due = std::chrono::duration<double>(now - last_end_).count() >= 10 * last_cost_ ? 1.0 : 0.0;
    comm_.broadcast(&due, sizeof due, 0);
    if (due == 0) return;
    observer_.checkpoint(next());
    last_end_ = std::chrono::steady_clock::now();
    last_cost_ = std::chrono::duration<double>(last_end_ - now).count();
    work_ = 0;
  }

 private:
  const AdmmObserver& observer_;
  Communicator& comm_;
  long long work_ = 0;
  std::chrono::steady_clock::time_point last_end_ = std::chrono::steady_clock::now();
  double last_cost_ = 0;
};

}  // namespace

PathResult fit_path(const Model& model, const Lambdas& grid, const SolverSettings& settings, bool early_stop,
                    Communicator& comm, const PathProgress& progress, const AdmmObserver& observer,
                    const PathResume* resume) {
  settings.validate();
  const std::vector<double>& lambdas = grid.values;
  PathResult path;
  AdmmState warm;
  // Polishing and coordinate descent keep what they learn from one lambda to the next; where a checkpoint may resume
  // the path in the middle, only what the resume would have too (a resumed run repeats the uninterrupted one bit for
  // bit).
  PolishMemory memory;
  memory.restartable = static_cast<bool>(observer.checkpoint);
  std::size_t first = 0;
  bool afresh = false;  // a resume at the first lambda, stopped before it began: started as the first run started it
  if (resume) {
    path = resume->done;
    first = path.fits.size();
    warm = resume->next;
    if (warm.loop && warm.loop->first_iteration == 0) {  // stopped before it began: a warm start
      if (model.local) collectively(comm, [&] { resume_factors(*warm.loop, *model.local); });
      warm.loop.reset();
      if (first == 0) warm = AdmmState{}, afresh = true;
    }
  }
  // z = 0 solves the model's own lambda_max. A grid that starts below it (a fold's: its grid comes from all the
  // rows) starts from there as from a neighbouring lambda, so the strong rule and polishing serve its first lambda
  // as they serve the others (without an l1 part z = 0 solves nothing; a form with working sets has its own start:
  // Model::first_set).
  const bool l1 = model.data.spec.effective_l1_ratio() > 0;
  const double own_max = l1 && !model.working_sets ? lambda_max(model) : 0.0;
  SavesBetweenLambdas saves(observer, comm);
  for (std::size_t i = first; i < lambdas.size(); ++i) {
    // A signal is otherwise seen only inside ADMM iterations, and a path solved by its warm starts alone (polishing,
    // coordinate descent) runs none: between lambdas every rank asks too. The path then ends with lambda i
    // interrupted at its warm start, which a checkpoint keeps (its resume starts lambda i from there, as this run
    // would have).
    if (i > first && stop_asked(observer, comm)) {
      path.fits.push_back(not_begun_fit(model, lambdas[i], grid.lambda_max, warm, settings));
      path.dev_ratio.push_back(std::numeric_limits<double>::quiet_NaN());  // not fitted
      break;
    }
    const bool resumed = resume && i == first && !afresh;
    if (!resumed) warm.iteration = 0;  // each lambda counts its own iterations
    const bool has_warm = i > 0 || resumed || lambdas[i] < own_max;
    const double warm_lambda = i > 0 ? lambdas[i - 1] : resumed ? 0.0 : own_max;
    if (memory.restartable) restart_memory(memory, model, path, i, 1);
    // Working sets solve restricted problems, whose state no checkpoint holds: a lambda stopped inside them (its state
    // has no loop: working_set_solve's) is kept as not begun, with the columns its start had (its resume starts it
    // again, as this run did). One solved on the full problem (lambda 0) keeps its loop, as in the other forms.
    const std::optional<FitResult> start =
        memory.restartable && model.working_sets
            ? std::optional<FitResult>(not_begun_fit(model, lambdas[i], grid.lambda_max, warm, settings))
            : std::nullopt;
    FitResult f = fit(model, lambdas[i], settings, comm, observer, has_warm ? &warm : nullptr, warm_lambda, &memory);
    if (start && f.admm.status == Status::interrupted && !f.admm.state.loop) f = *start;
    f.lambda_max = grid.lambda_max;
    if (resumed) f.admm.history.insert(f.admm.history.begin(), resume->history.begin(), resume->history.end());
    warm = f.admm.state;
    saves.count(f.admm);
    if (record(path, i, std::move(f), model.data.y_ss, lambdas.size(), early_stop, progress)) break;
    if (i + 1 < lambdas.size())
      saves.before_next([&] { return not_begun_fit(model, lambdas[i + 1], grid.lambda_max, warm, settings).admm.state; });
  }
  return path;
}

std::optional<PathResult> fit_path_side_by_side(const Model& model, const Lambdas& grid, const SolverSettings& settings,
                                                bool early_stop, bool rows_fit, Communicator& comm,
                                                const PathProgress& progress, const AdmmObserver& observer,
                                                const PathResume* resume) {
  settings.validate();
  double fit_here = rows_fit ? 1.0 : 0.0;  // every rank's plan must hold the rows
  comm.sum(&fit_here, 1);
  if (comm.size() < 2 || fit_here < comm.size()) return std::nullopt;
  const std::optional<Model> whole = gathered_model(model, comm);
  if (!whole) return std::nullopt;
  const std::vector<double>& lambdas = grid.values;
  const std::size_t m = lambdas.size(), ranks = static_cast<std::size_t>(comm.size());
  const std::size_t me = static_cast<std::size_t>(comm.rank());
  const Eigen::Index d = model.data.n_features, k = model.data.n_targets;
  SerialCommunicator alone;
  PolishMemory memory;
  // A path that checkpoints fits lambda i from the recorded answer of lambda i - P (and its secant from i - 2P), not
  // from this rank's own state: a function of the checkpoint's finished fits alone, so a resume at any lambda repeats
  // it bit for bit. Its fits run alone, so they save nothing themselves: the path saves between rounds.
  memory.restartable = static_cast<bool>(observer.checkpoint);
  AdmmObserver each_fit = observer;
  each_fit.checkpoint = nullptr;
  each_fit.checkpoint_every = 0;
  AdmmState warm;
  const bool l1 = model.data.spec.effective_l1_ratio() > 0;
  const double own_max = l1 && !whole->working_sets ? lambda_max(*whole) : 0.0;
  double warm_lambda = own_max;
  bool has_warm = false;
  PathResult path;
  if (resume) path = resume->done;
  path.side_by_side = true;
  const std::size_t first = path.fits.size();
  // The not-begun state of lambda i (what a checkpoint taken before it keeps): the last recorded answer, replicated.
  const auto before = [&](std::size_t i) {
    AdmmState st;
    if (i > 0) st.z = recorded_z(model, path.fits[i - 1]);
    return not_begun_fit(model, lambdas[i], grid.lambda_max, st, settings);
  };
  SavesBetweenLambdas saves(observer, comm);
  for (std::size_t round = first; round < m; round += ranks) {
    if (round > first && stop_asked(observer, comm)) {
      path.fits.push_back(before(round));
      path.dev_ratio.push_back(std::numeric_limits<double>::quiet_NaN());
      break;
    }
    const std::size_t i = round + me;
    FitResult mine;
    collectively(comm, [&] {
      if (i >= m) return;
      if (memory.restartable) {
        has_warm = i >= ranks;
        warm = AdmmState{};
        if (has_warm) warm.z = recorded_z(model, path.fits[i - ranks]);
        warm_lambda = has_warm ? lambdas[i - ranks] : own_max;
        restart_memory(memory, model, path, i, ranks);
      }
      warm.iteration = 0;
      mine = fit(*whole, lambdas[i], settings, alone, each_fit, has_warm || lambdas[i] < own_max ? &warm : nullptr,
                 warm_lambda, &memory);
      mine.lambda_max = grid.lambda_max;
      warm = mine.admm.state;
      warm_lambda = lambdas[i];
      has_warm = true;
    });
    bool ended = false;
    for (std::size_t r = 0; r < ranks && round + r < m; ++r) {
      FitResult f = r == me ? std::move(mine) : FitResult{};
      share_fit(f, static_cast<int>(r), d, k, comm);
      saves.count(f.admm);
      if (ended) continue;
      // An interrupted fit of a path that checkpoints is kept as not begun, from the state every rank can rebuild.
      if (memory.restartable && f.admm.status == Status::interrupted) f = before(round + r);
      ended = record(path, round + r, std::move(f), model.data.y_ss, m, early_stop, progress);
    }
    if (ended) break;
    if (round + ranks < m) saves.before_next([&] { return before(round + ranks).admm.state; });
  }
  return path;
}

FoldAssignment::FoldAssignment(std::uint64_t seed, std::int64_t n, int folds) : seed_(seed), n_(n), folds_(folds) {
  if (folds < 2) throw UsageError("--folds: must be >= 2");
  if (folds > n)
    throw DataError("--folds: " + std::to_string(folds) + " folds but the data has only " + std::to_string(n) + " rows");
  int bits = 2;
  while ((std::int64_t{1} << bits) < n) ++bits;
  half_bits_ = (bits + 1) / 2;  // a balanced Feistel network over [0, 4^half_bits) >= n, at most 4n
}

std::uint64_t FoldAssignment::permute(std::uint64_t i) const {
  // Four Feistel rounds over two halves of half_bits_ each: a bijection of [0, 4^half_bits_) for any keys.
  const std::uint64_t mask = (std::uint64_t{1} << half_bits_) - 1;
  std::uint64_t left = i >> half_bits_, right = i & mask;
  for (std::uint64_t round = 0; round < 4; ++round) {
    const std::uint64_t next = left ^ (mix64(mix64(seed_ ^ (round << 56)) ^ right) & mask);
    left = right;
    right = next;
  }
  return (left << half_bits_) | right;
}

int FoldAssignment::fold(std::int64_t row) const {
  // Cycle-walking restricts the permutation of the larger domain to a permutation of [0, n).
  std::uint64_t x = permute(static_cast<std::uint64_t>(row));
  while (x >= static_cast<std::uint64_t>(n_)) x = permute(x);
  return static_cast<int>(x % static_cast<std::uint64_t>(folds_));
}

namespace {

// cvm and cvsd of folds x lambdas errors, the folds weighed by w (summing to 1). A fold of weight 0 (its error 0/0)
// counts for nothing but the folds' number, as cv.glmnet counts it.
void fold_stats(const Matrix& mse, const Vector& w, Vector& mean, Vector& sd) {
  const Eigen::Index folds = mse.rows(), m = mse.cols();
  const auto weighed = [&](Eigen::Index l, auto&& term) {
    double total = 0;
    for (Eigen::Index f = 0; f < folds; ++f)
      if (w[f] > 0) total += w[f] * term(mse(f, l));
    return total;
  };
  mean.resize(m);
  sd.resize(m);
  for (Eigen::Index l = 0; l < m; ++l) {
    mean[l] = weighed(l, [](double e) { return e; });
    const double var = weighed(l, [&](double e) { return (e - mean[l]) * (e - mean[l]); });
    sd[l] = std::sqrt(var / std::max<double>(1.0, static_cast<double>(folds - 1)));
  }
}

// glmnet's getOptcv.relaxed: over every (gamma, lambda), the minimum of the mean error, ties to the largest lambda
// and then the largest gamma; then the same choice among the errors within one standard error of it.
void choose_relaxed(CvResult& cv) {
  const Eigen::Index g = cv.relaxed_mean.rows(), m = cv.relaxed_mean.cols();
  const auto better = [&](Eigen::Index gi, Eigen::Index li, const std::pair<std::size_t, std::size_t>& b) {
    const double lb = cv.lambdas[b.second], la = cv.lambdas[static_cast<std::size_t>(li)];
    return la > lb || (la == lb && cv.gammas[static_cast<std::size_t>(gi)] > cv.gammas[b.first]);
  };
  const auto pick = [&](double bound) {
    std::pair<std::size_t, std::size_t> best{0, 0};
    bool found = false;
    for (Eigen::Index gi = 0; gi < g; ++gi)
      for (Eigen::Index li = 0; li < m; ++li)
        if (cv.relaxed_mean(gi, li) <= bound && (!found || better(gi, li, best)))
          best = {static_cast<std::size_t>(gi), static_cast<std::size_t>(li)}, found = true;
    return best;
  };
  cv.relaxed_min = pick(cv.relaxed_mean.minCoeff());
  const auto [gmin, lmin] = cv.relaxed_min;
  cv.relaxed_1se = pick(cv.relaxed_mean(static_cast<Eigen::Index>(gmin), static_cast<Eigen::Index>(lmin)) +
                        cv.relaxed_std(static_cast<Eigen::Index>(gmin), static_cast<Eigen::Index>(lmin)));
}

}  // namespace

void summarize_folds(CvResult& cv) {
  const Eigen::Index folds = cv.mse.rows(), m = cv.mse.cols();
  Vector w(folds);
  for (Eigen::Index f = 0; f < folds; ++f)
    w[f] = cv.fold_weight.empty() ? static_cast<double>(cv.fold_rows[static_cast<std::size_t>(f)])
                                  : cv.fold_weight[static_cast<std::size_t>(f)];
  w /= w.sum();
  fold_stats(cv.mse, w, cv.mse_mean, cv.mse_std);
  // glmnet: lambda.min is the largest lambda attaining the minimum; lambda.1se the largest within one
  // standard error of it.
  Eigen::Index best = 0;
  for (Eigen::Index l = 1; l < m; ++l)
    if (cv.mse_mean[l] < cv.mse_mean[best]) best = l;
  cv.index_min = static_cast<std::size_t>(best);
  const double bound = cv.mse_mean[best] + cv.mse_std[best];
  Eigen::Index one_se = best;
  for (Eigen::Index l = 0; l <= best; ++l)
    if (cv.mse_mean[l] <= bound) {
      one_se = l;
      break;
    }
  cv.index_1se = static_cast<std::size_t>(one_se);
  if (cv.gammas.empty()) return;
  const Eigen::Index g = static_cast<Eigen::Index>(cv.gammas.size());
  cv.relaxed_mean.resize(g, m);
  cv.relaxed_std.resize(g, m);
  for (Eigen::Index gi = 0; gi < g; ++gi) {
    Vector mean, sd;
    fold_stats(cv.relaxed_mse[static_cast<std::size_t>(gi)], w, mean, sd);
    cv.relaxed_mean.row(gi) = mean.transpose();
    cv.relaxed_std.row(gi) = sd.transpose();
  }
  choose_relaxed(cv);
}

namespace {

// One fold's path, and every lambda's coefficients (then, relaxed, their blends at each gamma) side by side: d x
// (g + 1) m k, with their intercepts. A path cut short (a signal, divergence) leaves its missing columns zero.
struct FoldFits {
  PathResult path;
  Matrix coefs;
  Vector intercepts;
  double seconds = 0;
};

FoldFits fit_fold(const Model& model, const Lambdas& grid, const SolverSettings& settings, Communicator& comm,
                  const PathProgress& each, const AdmmObserver& observer, const std::vector<double>& gammas) {
  const auto t0 = std::chrono::steady_clock::now();
  const Eigen::Index d = model.data.n_features, k = model.data.n_targets;
  const Eigen::Index m = static_cast<Eigen::Index>(grid.values.size()), g = static_cast<Eigen::Index>(gammas.size());
  FoldFits out;
  out.path = fit_path(model, grid, settings, false, comm, each, observer);
  const std::vector<FitResult>& fits = out.path.fits;
  const bool complete = static_cast<Eigen::Index>(fits.size()) == m;
  const std::vector<FitResult> relaxed = gammas.empty() || !complete ? std::vector<FitResult>() : relaxed_fits(model, fits, comm);
  out.coefs = Matrix::Zero(d, (g + 1) * m * k);
  out.intercepts = Vector::Zero((g + 1) * m * k);
  for (Eigen::Index gi = -1, at = 0; gi < g; ++gi)
    for (Eigen::Index l = 0; l < m; ++l, at += k) {
      if (l >= static_cast<Eigen::Index>(fits.size()) || (gi >= 0 && relaxed.empty())) continue;
      const FitResult& fit = fits[static_cast<std::size_t>(l)];
      if (gi < 0) {
        out.coefs.middleCols(at, k) = fit.coef;
        out.intercepts.segment(at, k) = fit.intercept;
        continue;
      }
      const FitResult blended = blend(fit, relaxed[static_cast<std::size_t>(l)], gammas[static_cast<std::size_t>(gi)]);
      out.coefs.middleCols(at, k) = blended.coef;
      out.intercepts.segment(at, k) = blended.intercept;
    }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

// Root's fold fits to every rank: the coefficients, and what the progress lines and checks read of the path (each
// lambda's iterations and status, the factorizations, the seconds).
void share_fold(FoldFits& fits, int root, Eigen::Index d, Eigen::Index cols, std::size_t m, Communicator& comm) {
  Vector meta = Vector::Zero(4 + 2 * static_cast<Eigen::Index>(m));
  const bool mine = comm.rank() == root;
  if (mine) {
    meta[0] = static_cast<double>(fits.path.fits.size());
    meta[1] = fits.path.factors.cholesky;
    meta[2] = fits.path.factors.eigen;
    meta[3] = fits.seconds;
    for (std::size_t i = 0; i < fits.path.fits.size(); ++i) {
      meta[4 + 2 * static_cast<Eigen::Index>(i)] = fits.path.fits[i].admm.state.iteration;
      meta[5 + 2 * static_cast<Eigen::Index>(i)] = static_cast<double>(fits.path.fits[i].admm.status);
    }
  } else {
    fits.coefs.resize(d, cols);
    fits.intercepts.resize(cols);
  }
  comm.broadcast(meta.data(), sizeof(double) * static_cast<std::size_t>(meta.size()), root);
  comm.broadcast(fits.coefs.data(), sizeof(double) * static_cast<std::size_t>(fits.coefs.size()), root);
  comm.broadcast(fits.intercepts.data(), sizeof(double) * static_cast<std::size_t>(fits.intercepts.size()), root);
  if (mine) return;
  fits.path = PathResult{};
  fits.path.fits.resize(static_cast<std::size_t>(meta[0]));
  for (std::size_t i = 0; i < fits.path.fits.size(); ++i) {
    fits.path.fits[i].admm.state.iteration = static_cast<int>(meta[4 + 2 * static_cast<Eigen::Index>(i)]);
    fits.path.fits[i].admm.status = static_cast<Status>(static_cast<int>(meta[5 + 2 * static_cast<Eigen::Index>(i)]));
  }
  fits.path.factors = FactorLog{static_cast<int>(meta[1]), static_cast<int>(meta[2])};
  fits.seconds = meta[3];
}

}  // namespace

CvResult cross_validate(const LocalDataBuilder& data, const ProblemSpec& spec, const Lambdas& grid,
                        const SolverSettings& settings, Communicator& comm, const FoldProgress& progress,
                        const AdmmObserver& observer, const std::vector<bool>& fit_fold_flags,
                        const std::vector<double>& gammas, const FoldLambdaProgress& lambda_progress,
                        bool gather_rows) {
  const std::vector<double>& lambdas = grid.values;
  const int folds = data.pieces();
  const Eigen::Index d = data.features(), k = data.targets(), m = static_cast<Eigen::Index>(lambdas.size());
  CvResult cv;
  cv.lambdas = lambdas;
  cv.mse = Matrix::Constant(folds, m, std::numeric_limits<double>::quiet_NaN());
  cv.gammas = gammas;
  cv.relaxed_mse.assign(gammas.size(), cv.mse);
  const Eigen::Index g = static_cast<Eigen::Index>(gammas.size());
  // Rows and the rows' weight per fold, global; and how many ranks sum their terms in the Gram form, and how many
  // gather a fold's rows of the cg form.
  Vector rows(2 * folds + 2);
  for (int f = 0; f < folds; ++f) {
    rows[f] = static_cast<double>(data.piece(f).rows());
    rows[folds + f] = data.piece(f).weight();
  }
  rows[2 * folds] = data.form() == LocalForm::gram ? 1.0 : 0.0;
  rows[2 * folds + 1] = data.form() == LocalForm::cg && gather_rows ? 1.0 : 0.0;
  comm.sum(rows.data(), static_cast<std::size_t>(rows.size()));
  for (int f = 0; f < folds; ++f) {
    cv.fold_rows.push_back(static_cast<std::int64_t>(rows[f]));
    cv.fold_weight.push_back(rows[folds + f]);
    if (rows[f] == 0) throw DataError("fold " + std::to_string(f + 1) + " has no rows");
    // A fold whose rows all weigh 0 is still fitted (its training rows are the others), and its held-out error, 0/0,
    // weighs nothing in the mean, as in cv.glmnet (a site weighted out that is also a fold).
  }
  const bool all = fit_fold_flags.empty();
  std::vector<int> todo;
  for (int f = 0; f < folds; ++f)
    if (all || fit_fold_flags[static_cast<std::size_t>(f)]) todo.push_back(f);
  // Side by side: where every rank holds the Gram form, a fold's terms are summed into one rank, which fits the
  // fold's path alone while the others fit theirs (a path's polishing does the same work on every rank of a
  // collective fit: P ranks fit P folds in the time of one). So in the cg form where every rank can hold a fold's
  // rows (they are gathered: its coordinate descent then sums nothing over the ranks in any sweep). Otherwise every
  // rank takes part in every fold. Fold f goes to rank f mod P whichever folds are fitted, so that a job array's
  // task (one fold) sums and fits it as the one-job run does, bit for bit (a reduction's order of additions may
  // depend on its root). (The screened form's folds share the Hessian columns earlier folds computed: a task
  // fitting one fold computes them in other batches, equal to rounding.)
  const int ranks = comm.size();
  const bool side_by_side = ranks > 1 && (rows[2 * folds] == ranks || rows[2 * folds + 1] == ranks);
  cv.side_by_side = side_by_side;
  std::vector<std::vector<int>> rounds;  // the folds fitted together: round i holds the i-th fold of each rank
  std::vector<std::size_t> taken(static_cast<std::size_t>(ranks), 0);
  for (int f : todo) {
    const std::size_t at = side_by_side ? taken[static_cast<std::size_t>(f % ranks)]++ : rounds.size();
    if (at == rounds.size()) rounds.emplace_back();
    rounds[at].push_back(f);
  }
  const Eigen::Index cols = (g + 1) * m * k;
  SerialCommunicator alone;
  for (const std::vector<int>& round_folds : rounds) {
    const std::size_t count = round_folds.size();
    std::vector<FoldFits> round(count);
    if (!side_by_side) {
      const int f = round_folds[0];
      const Model model = make_model(prepare(data.total(f), spec, comm), comm);
      const PathProgress each = [&](std::size_t i, const FitResult&, double) {
        if (lambda_progress) lambda_progress(f, i);
      };
      round[0] = fit_fold(model, grid, settings, comm, each, observer, gammas);
    } else {
      // Each fold's model is made by all (the sums are spread over the ranks), then summed into its rank.
      std::optional<Model> mine;
      std::size_t my_slot = 0;
      for (std::size_t r = 0; r < count; ++r) {
        const int f = round_folds[r];
        std::optional<Model> whole = sum_model_to(make_model(prepare(data.total(f), spec, comm), comm), f % ranks, comm);
        if (whole) mine = std::move(whole), my_slot = r;
      }
      // A failure on one rank (its fold alone) reaches every rank before the next collective call.
      collectively(comm, [&] {
        if (!mine) return;
        const int f = round_folds[my_slot];
        const PathProgress each = [&](std::size_t i, const FitResult&, double) {
          if (lambda_progress) lambda_progress(f, i);
        };
        round[my_slot] = fit_fold(*mine, grid, settings, alone, each, observer, gammas);
      });
      for (std::size_t r = 0; r < count; ++r)
        share_fold(round[r], round_folds[r] % ranks, d, cols, lambdas.size(), comm);
    }
    for (std::size_t r = 0; r < count; ++r) {
      const int f = round_folds[r];
      const FoldFits& fits = round[r];
      cv.factors += fits.path.factors;
      if (fits.path.fits.empty() || fits.path.fits.back().admm.status == Status::interrupted)
        throw RuntimeFailure("interrupted by a signal during fold " + std::to_string(f + 1) + "; no result was written");
      if (fits.path.fits.size() != lambdas.size())
        throw RuntimeFailure("fold " + std::to_string(f + 1) + ": the iteration diverged at lambda " +
                             std::to_string(lambdas[fits.path.fits.size() - 1]));
      for (std::size_t l = 0; l < fits.path.fits.size(); ++l)
        if (fits.path.fits[l].admm.status == Status::max_iter && cv.unconverged++ == 0) cv.first_unconverged = {f, l};
      // Every lambda's held-out error in one product with the fold's sums, then one reduction for all: the fits,
      // then (relaxed) their blends at each gamma.
      Vector sse = data.piece(f).squared_errors(fits.coefs, fits.intercepts);
      comm.sum(sse.data(), static_cast<std::size_t>(sse.size()));
      sse /= rows[folds + f] * static_cast<double>(k);
      cv.mse.row(f) = sse.head(m).transpose();
      for (Eigen::Index gi = 0; gi < g; ++gi)
        cv.relaxed_mse[static_cast<std::size_t>(gi)].row(f) = sse.segment((gi + 1) * m, m).transpose();
      if (progress) progress(f, fits.path, fits.seconds);
    }
  }
  if (all) summarize_folds(cv);
  return cv;
}

}  // namespace cadmm
