// The plan (include/cadmm/plan.hpp): forms, memory, flops and the sample's decision, in one place.
#include "cadmm/plan.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <limits>

#include "cadmm/error.hpp"
#include "cadmm/fit.hpp"
#include "core/forms/accumulator.hpp"

namespace cadmm {

std::string to_string(LocalForm f) {
  switch (f) {
    case LocalForm::gram: return "gram";
    case LocalForm::woodbury: return "woodbury";
    case LocalForm::cg: return "cg";
    case LocalForm::screened: return "screened";
    case LocalForm::streamed: return "streamed";
  }
  return "?";
}

std::optional<LocalForm> parse_local_solver(const std::string& name) {
  if (name == "auto") return std::nullopt;
  if (name == "gram") return LocalForm::gram;
  if (name == "woodbury") return LocalForm::woodbury;
  if (name == "cg") return LocalForm::cg;
  if (name == "screened") return LocalForm::screened;
  if (name == "streamed") return LocalForm::streamed;
  throw UsageError("--local-solver: unknown '" + name + "' (expected auto, gram, woodbury, cg, screened or streamed)");
}

LocalForm form_for_rows(LocalForm planned, std::int64_t rows) {
  const bool needs_rows = planned == LocalForm::gram || planned == LocalForm::streamed || planned == LocalForm::screened;
  return rows == 0 && needs_rows ? LocalForm::woodbury : planned;
}

std::unique_ptr<Accumulator> make_accumulator(LocalForm form, Eigen::Index d, Eigen::Index k, bool single) {
  switch (form) {
    case LocalForm::gram: return make_gram_sums(d, k);
    case LocalForm::streamed: return make_streamed_sums(d, k);
    case LocalForm::woodbury: return make_dense_rows(d, k, form, make_woodbury_solver);
    case LocalForm::screened: return make_dense_rows(d, k, form, make_screened_solver);
    case LocalForm::cg: return make_cg_rows(d, k, single);
  }
  throw std::logic_error("make_accumulator: unknown form");
}

LocalForm plan_local_form(std::int64_t rows, std::int64_t d, bool sparse, std::optional<LocalForm> requested,
                          Screen screen, double budget, std::int64_t global_rows) {
  if (requested) return *requested;
  if (sparse) return d <= kSparseGramMaxFeatures ? LocalForm::gram : LocalForm::cg;
  if (rows == 0) return LocalForm::woodbury;
  // Keeping the rows is a choice, not a need: where they do not fit, the Gram form serves (a path never streams: it
  // would read the rows again for every lambda's entering features).
  const bool fits = budget <= 0 || local_memory_bytes(LocalForm::screened, rows, d, 1, 0) <= budget;
  // Fewer rows than features: the matrix-inversion lemma, whose every ADMM iteration reads the rows twice, unless an
  // l1-type fit's working sets serve, from kScreenMinFeatures and where a set's d x d blocks fit: they need no ADMM
  // at most lambdas, and the tall rules below serve them as well. 5,000 x 3,000 on 2 ranks (2,500 rows each): a
  // solve took 3.96 s in the woodbury form against 0.57 s screened, a 100-lambda path 76 s against 4.4 s in the Gram
  // form (19.4 s screened: its supports pass the polished blocks' size without a Gram). Where the data are wide as a
  // whole, a path's supports stay below the row count and their last lambdas' systems are singular, which the Gram
  // form's d x d ADMM works through slowly: there the rows stay (screened) from kScreenMinFeatures, as they take less
  // memory than the Gram too. 500 x 5,000 on 2 ranks, 100 lambdas: path 15.1 -> 0.8 s (R-written data of a user's trial; cadmm
  // generate's: > 900 -> 27 s), 10-fold cv 415 -> 11.4 s.
  if (rows < d && (screen == Screen::none || d < kScreenMinFeatures || !fits)) return LocalForm::woodbury;
  if (rows < d && screen == Screen::path && std::max(rows, global_rows) < d) return LocalForm::screened;
  if (screen == Screen::path) return d >= kPathScreenMinFeatures && fits ? LocalForm::screened : LocalForm::gram;
  if (screen == Screen::one_fit && d >= kScreenMinFeatures && fits) return LocalForm::screened;
  return screen == Screen::one_fit && d >= kStreamMinFeatures ? LocalForm::streamed : LocalForm::gram;
}

bool holds_fold_rows(LocalForm form, std::int64_t rows, std::int64_t d, int pieces) {
  if (pieces <= 1) return false;
  return (form == LocalForm::screened && rows > 0) ||
         (form == LocalForm::gram && rows < static_cast<std::int64_t>(pieces - 1) * d);
}

namespace {
// The residual (rows x targets) a path's coordinate descent holds on every rank, in doubles.
double descent_residual(std::int64_t global_rows, std::int64_t k) {
  return std::min(static_cast<double>(global_rows) * static_cast<double>(k), static_cast<double>(kMaxCoordinateResidual));
}
}  // namespace

double local_memory_bytes(LocalForm form, std::int64_t rows, std::int64_t d, std::int64_t k, std::int64_t nnz,
                          int pieces, std::int64_t global_rows) {
  const double m = static_cast<double>(rows), dd = static_cast<double>(d), kk = static_cast<double>(k);
  // x, z, u, their copies and 2 x 10 Anderson columns; the columns' two projections and shift per piece and their total
  const double iterates = 30 * dd * kk + 3 * dd * (pieces + 1);
  switch (form) {
    case LocalForm::gram: {
      const double block = static_cast<double>(std::min<std::int64_t>(d, kMaxPolishHeld));
      // Folds: one Gram per piece, or the rows (and a fold's copy of its own, shifted) with their total; then the
      // refit's Hessian, the fold's being made, the one summed into this rank from every rank's (cv fits folds side
      // by side) and a factor.
      if (holds_fold_rows(form, rows, d, pieces))
        return 8 * ((m + m / pieces) * (dd + kk) + 5 * dd * dd + 2 * block * block + iterates);
      const double grams = pieces > 1 ? pieces + 4.0 : 2.0;
      return 8 * (grams * dd * dd + 2 * block * block + iterates);
    }
    case LocalForm::woodbury: return 8 * (3 * m * dd + m * m + 2 * m * kk + iterates);
    // The rows (centered and scaled in place), and a working set's Gram and eigenvectors: at most d x d each.
    case LocalForm::screened: return 8 * (m * dd + 2 * dd * dd + 2 * m * kk + iterates);
    // Sums only, and the columns A^T A_S of the features fetched (at most d x d) with a working set's factor.
    case LocalForm::streamed: return 8 * (3 * dd * dd + iterates);
    case LocalForm::cg: {
      // The CSR rows (twice while building), and a path's coordinate descent: the owned columns (12 bytes an
      // entry) and their entries while they travel (16 bytes sent and received), five copies of the residual, and
      // the polished blocks of the small patterns.
      const double block = static_cast<double>(std::min<std::int64_t>(d, kMaxPolishActive));
      return (2 * 16.0 + 12 + 32) * static_cast<double>(nnz) +
             8 * (3 * m * kk + 5 * descent_residual(global_rows, k) + 2 * block * block + iterates);
    }
  }
  return 0;
}

LocalCost local_cost(LocalForm form, std::int64_t rows, std::int64_t d, std::int64_t k, std::int64_t nnz, bool sparse) {
  const double m = static_cast<double>(rows), dd = static_cast<double>(d), kk = static_cast<double>(k),
               z = static_cast<double>(nnz);
  LocalCost c;
  switch (form) {
    case LocalForm::gram:  // dsyrk (or pairs of a row's nonzeros), then dsyevd with vectors (about 4 d^3)
      c.setup_flops = (sparse ? (m > 0 ? z * z / m : 0) : m * dd * dd) + 4 * dd * dd * dd;
      c.iteration_flops = 4 * dd * dd * kk;
      break;
    case LocalForm::woodbury:  // B B^T and its eigen-decomposition; two products with B per x-update
      c.setup_flops = m * m * dd + 4 * m * m * m;
      c.iteration_flops = 4 * m * dd * kk + 4 * m * m * kk;
      break;
    case LocalForm::screened:  // per working-set round: the Gram of the set, and one pass for the full gradient;
      // the figures are the worst case, a set grown to every feature
      c.setup_flops = m * dd * dd + 4 * dd * dd * dd;
      c.iteration_flops = 4 * dd * dd * kk;
      break;
    case LocalForm::streamed:  // per feature fetched: a pass of rows d flops; worst case every feature
      c.setup_flops = m * dd * dd + 4 * dd * dd * dd;
      c.iteration_flops = 4 * dd * dd * kk;
      break;
    case LocalForm::cg:  // one product with X and one with X^T per CG step
      c.setup_flops = 2 * z;
      c.iteration_flops = (4 * z + 8 * dd) * kk;
      break;
  }
  return c;
}

namespace {

// The memory limit of this process's control group and of every group above it (cgroup v2 memory.max or v1
// memory.limit_in_bytes; Slurm confines a job's memory this way), or +infinity where none is set.
double cgroup_memory_limit() {
  double limit = std::numeric_limits<double>::infinity();
  std::ifstream groups("/proc/self/cgroup");
  std::string line;
  while (std::getline(groups, line)) {
    const std::size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    std::string root, file;
    if (controllers.empty()) {
      root = "/sys/fs/cgroup", file = "memory.max";
    } else if (("," + controllers + ",").find(",memory,") != std::string::npos) {
      root = "/sys/fs/cgroup/memory", file = "memory.limit_in_bytes";
    } else {
      continue;
    }
    for (;;) {
      std::ifstream in(root + path + "/" + file);
      double value = 0;
      if (in >> value && value > 0) limit = std::min(limit, value);  // "max" (no limit) does not parse
      if (path.empty() || path == "/") break;
      path = path.substr(0, path.find_last_of('/'));
    }
  }
  return limit;
}

std::string format(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Throws UsageError when this rank's budget cannot hold its local data.
void check_memory(const RankPlan& r, int pieces, double budget) {
  if (budget <= 0 || r.memory_bytes <= budget) return;
  const double share = budget / kBudgetShare;
  const bool tall = r.form == LocalForm::gram;
  throw UsageError("this rank would need about " + format("%.1f", r.memory_bytes / (1 << 30)) + " GiB for its local " +
                   (tall ? "Gram factorization" : "rows and their factorization") +
                   (r.fold_rows ? " and its rows for the " + std::to_string(pieces) + " folds"
                    : pieces > 1 ? " and " + std::to_string(pieces) + " fold sums" : std::string()) + " but has " +
                   format("%.1f", share / (1 << 30)) + " GiB (its share of the node); " +
                   (tall && !r.fold_rows ? "the Gram form needs d^2 doubles per fold whatever the rank count: use fewer ranks per node"
                         : "spread the rows over more nodes") +
                   " (plan: cadmm info FILE --ranks P)");
}

}  // namespace

double node_memory_bytes() {
  const double node = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  return node > 0 ? std::min(node, cgroup_memory_limit()) : 0;
}

double memory_share(int ranks_per_node) { return node_memory_bytes() / std::max(1, ranks_per_node); }

namespace {

// The form's fold rows, memory and flops for `pieces` sums. A wide dense block (rows < d) that plan_local_form gave
// the working-set rules, in a form that does not fit the budget with these pieces (cv's Gram with held rows needs about
// 5 d^2 doubles whatever the rows), takes the matrix-inversion lemma instead where that fits: it shrinks with the rows.
// Returns whether it did.
bool size_rank(RankPlan& r, const DataShape& shape, int pieces, double budget) {
  const auto size = [&] {
    r.fold_rows = holds_fold_rows(r.form, r.rows, shape.features, pieces);
    r.memory_bytes = local_memory_bytes(r.form, r.rows, shape.features, shape.targets, r.nnz, pieces, shape.rows);
    // A bounded fit's coordinate descent on a screened block's columns: 12 bytes a value held, 32 while they travel,
    // and five copies of the residual (as the cg form's).
    if (r.bounded && r.form == LocalForm::screened && dense_descent(r.rows, shape.features))
      r.memory_bytes += (12 + 32) * static_cast<double>(r.rows) * static_cast<double>(shape.features) +
                        8 * 5 * descent_residual(shape.rows, shape.targets);
    r.cost = local_cost(r.form, r.rows, shape.features, shape.targets, r.nnz, shape.sparse);
  };
  size();
  if (r.requested || shape.sparse || r.rows == 0 || r.rows >= shape.features || r.form == LocalForm::woodbury ||
      budget <= 0 || r.memory_bytes <= budget)
    return false;
  const LocalForm planned = r.form;
  r.form = LocalForm::woodbury;
  size();
  if (r.memory_bytes <= budget) return true;
  r.form = planned;  // neither fits: the plan's own form is refused
  size();
  return false;
}

std::string wide_reason(int pieces) {
  return std::string("the working sets' form") + (pieces > 1 ? " with " + std::to_string(pieces) + " folds" : "") +
         " would not fit this rank's memory; fewer rows than features";
}

}  // namespace

RankPlan plan_rank(std::int64_t rows, std::int64_t nnz, const DataShape& shape, const PlanRequest& request,
                   double budget, int pieces) {
  RankPlan r;
  r.rows = rows;
  r.nnz = nnz;
  r.requested = request.requested.has_value();
  r.bounded = request.bounded;
  r.form = plan_local_form(rows, shape.features, shape.sparse, request.requested, request.screen, budget, shape.rows);
  r.wide_fallback = size_rank(r, shape, pieces, budget);
  return r;
}

void Plan::plan_gather(const DataShape& shape) {
  const double gathered = kGatheredBytesPerEntry * static_cast<double>(shape.nnz);
  rank.gathers_rows = rank.form == LocalForm::cg && (budget <= 0 || rank.memory_bytes + gathered <= budget);
  if (rank.gathers_rows) rank.memory_bytes += gathered;
}

void Plan::set_pieces(int count, const DataShape& shape, Communicator& comm) {
  pieces = count;
  if (count <= 1) return;
  if (size_rank(rank, shape, count, budget)) rank.wide_fallback = true, reason = wide_reason(count);
  plan_gather(shape);
  if (rank.form == LocalForm::screened) {
    // The all-row columns the folds share: what the budget leaves, at most the whole d x d.
    const double whole = 8.0 * static_cast<double>(shape.features) * static_cast<double>(shape.features);
    rank.fold_cache_bytes = budget > 0 ? std::clamp(budget - rank.memory_bytes, 0.0, whole) : whole;
    rank.memory_bytes += rank.fold_cache_bytes;
  }
  collectively(comm, [&] { check_memory(rank, count, budget); });
}

Plan make_plan(std::int64_t rows, std::int64_t nnz, const DataShape& shape, const PlanRequest& request, double budget,
               Communicator& comm) {
  Plan p;
  p.budget = budget;
  p.rank = plan_rank(rows, nnz, shape, request, budget);
  if (p.rank.wide_fallback) p.reason = wide_reason(1);
  if (p.rank.form == LocalForm::streamed && (shape.sparse || request.folds))
    throw UsageError("--local-solver streamed: only for dense X in solve and path");
  // An out-of-memory kill would take the job down without a word: refuse a plan that cannot fit before anything
  // is allocated.
  collectively(comm, [&] { check_memory(p.rank, 1, budget); });
  return p;
}

void Plan::decide_by_sample(const DataShape& shape, const PlanRequest& request,
                            const std::function<PreparedData()>& sampler, Communicator& comm) {
  // A sample of the rows, before the one pass that counts, tells two things about a working-set solve. When most
  // features can leave zero at the requested lambda (correlated designs, small lambdas), a working set would take
  // them all after a pass that formed no Gram: the plan keeps the full Gram. Otherwise the streamed form sums the
  // columns of the first set with the rest, so its first round reads nothing again. Every rank takes part when any
  // could plan a working-set form (the test uses global facts only) and all reach the same answer.
  const bool may_stream =
      request.requested ? *request.requested == LocalForm::streamed : shape.features >= kStreamMinFeatures;
  if (request.screen != Screen::one_fit || !may_stream || shape.sparse || shape.rows <= 0) return;
  const PreparedData sample = sampler();
  // The sample only plans: the lambda it tests is the request resolved against the sample's own lambda_max.
  const double lambda = request.lambda.resolve(lambda_max(sample)).front();
  const double share = violating_share_at_zero(sample, lambda);
  if (share <= kDenseStart) {
    first_set = first_working_set(sample, lambda);
  } else if (!request.requested) {  // asked for streamed, it streams: the working set will then take every feature
    PlanRequest full = request;
    full.screen = Screen::none;
    rank = plan_rank(rank.rows, rank.nnz, shape, full, budget);
    collectively(comm, [&] { check_memory(rank, 1, budget); });
    reason = "in a sample of the rows " + format("%.0f", 100 * share) +
             "% of the features can leave zero: working sets would not pay";
  }
}

}  // namespace cadmm
