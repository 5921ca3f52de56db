#pragma once
/// \file The plan: how each rank holds and solves its local term, the memory and the flops that costs, and why;
/// computed once from shapes, nonzeros, memory and (for one l1-type solve) a sample of the rows, printed by `info`
/// and asked by every command. Every size and form rule of cadmm lives here and nowhere else.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cadmm/communicator.hpp"
#include "cadmm/settings.hpp"
#include "cadmm/types.hpp"

namespace cadmm {

struct PreparedData;

/// How a rank holds and solves its local term: Gram sums + eigen-decomposition, dense rows + matrix-inversion
/// lemma, CSR rows + conjugate gradients, dense rows kept for working sets (Grams of the features that can be
/// active only), or only sums kept and the rows read again for the working sets' products (streamed).
enum class LocalForm { gram, woodbury, cg, screened, streamed };
/// Number of forms.
constexpr int kLocalForms = 5;
/// "gram", "woodbury", "cg", "screened" or "streamed".
std::string to_string(LocalForm f);
/// Parses --local-solver: auto (nullopt), gram, woodbury, cg, screened, streamed; UsageError otherwise.
std::optional<LocalForm> parse_local_solver(const std::string& name);
/// True for the forms that solve an l1-type problem over working sets (screened, streamed).
inline bool uses_working_sets(LocalForm f) { return f == LocalForm::screened || f == LocalForm::streamed; }
/// True for the form that reads its rows again after the one pass (streamed): the data file stays open.
inline bool reads_rows_again(LocalForm f) { return f == LocalForm::streamed; }
/// The form a rank holding `rows` rows takes for the planned one: a rank without rows takes part with an empty
/// term, which the rows form (woodbury) handles whatever was planned.
LocalForm form_for_rows(LocalForm planned, std::int64_t rows);

/// Largest d for which sparse data is reduced to a d x d Gram by default (its eigen-decomposition costs d^3).
constexpr std::int64_t kSparseGramMaxFeatures = 4096;
/// Share of nonzeros from which a block of CSR rows adds to the Gram sums as dense rows (scattered into a buffer, one
/// dsyrk a block) rather than pair by pair of each row's nonzeros, whose cost grows with their square. 40,000 x
/// 1,000 on one rank, the sums' seconds pair by pair against dense: 0.03 / 0.90 at 2% nonzeros, 0.62 / 0.94 at
/// 10%, 2.2 / 0.93 at 20%, 6.8 / 0.96 at 40%; 20,000 x 1,224 at 65% on 2 ranks (a user's genes): solve 6.7 -> 0.7 s.
constexpr double kSparseGramDenseShare = 0.12;
/// Smallest d for which dense tall blocks keep their rows for working sets when the problem allows it. Keeping
/// the rows costs writing them into fresh memory (on this project's VMs, first-touched memory comes at 0.35-6
/// GB/s) and a pass over them per round, against a full Gram's rows d^2 flops and d^3 factorization: measured
/// here (bench/bench_performance.py), the Gram form wins below d ~ 1000 and the working sets win from there
/// (4x at d = 3000).
constexpr std::int64_t kScreenMinFeatures = 1024;
/// Smallest d for which dense tall blocks of an l1-type `solve` use streamed working sets below
/// kScreenMinFeatures: measured at d = 500 as fast as the full Gram (P1) and 1.4x faster (P3, 10 targets), and
/// 1.15-1.4x slower at d = 1000 with correlation 0.9 (P2, P4), where every feature is taken at once
/// (bench/bench_performance.py).
constexpr std::int64_t kStreamMinFeatures = 256;
/// Smallest d for which dense tall blocks of a path (and of a cv, whose folds and refit are paths) with an l1 part keep
/// their rows and fetch the Hessian's columns of the features that enter (glmnet's covariance mode,
/// src/core/forms/subset_gram.hpp) instead of forming the d x d Gram: rows d |S| flops for the |S| features that ever enter against the Gram's rows d^2 / 2 and d^2 doubles per
/// copy. Measured here (2 ranks, 100 lambdas, bench/bench_path_cv.py's problems): W1 (20,000 x 4,000, 2,743 of 4,000
/// active at the end) gram 8.1 s, screened 18.0 s; G1 (50,000 x 20,000, 2,289 active) gram 294 s, screened 165 s.
constexpr std::int64_t kPathScreenMinFeatures = 8192;
/// Share of the features violating their bound at the start beyond which no working set is tried: measured on the
/// benchmark problems, 59% and 69% (P1, P3: working sets as fast and 1.4x faster) against 92% (P2, correlation
/// 0.9: rounds of growing sets took 2x the full Gram's time). The working set's own rule and the plan's sample test.
constexpr double kDenseStart = 0.8;
/// What one eigendecomposition of a symmetric n x n matrix (dsyevd with vectors) costs in Cholesky factorizations
/// of it (dpotrf, n^3/3 flops), measured here with OpenBLAS on one core (scipy.linalg, best of two): 16 at n = 1000,
/// 22 at 2000, 30 at 4000. A shifted system is factored by Cholesky per rho until this many were made, then
/// decomposed once (src/core/forms/shifted_system.hpp): whatever the number of rho changes, at most 2.5 times the
/// cheaper choice in hindsight over that range.
constexpr double kEigenOverCholesky = 20;
/// Largest active set per target that polishing takes where forming its Hessian block costs a pass over the rows
/// (its block is reduced over the ranks and factored).
constexpr std::int64_t kMaxPolishActive = 2000;
/// The same where every rank holds its Hessian (the Gram form), so that a block costs no pass: the polished
/// systems of a path's small lambdas, whose active sets pass kMaxPolishActive, then need no ADMM iteration. Its
/// block is held twice while it is factored (local_memory_bytes counts it).
constexpr std::int64_t kMaxPolishHeld = 6144;
/// The largest residual (rows x targets) a path's coordinate descent (the cg form) holds on every rank: 2^27 doubles,
/// 1 GiB a copy; above it the path's large patterns are left to ADMM.
constexpr std::int64_t kMaxCoordinateResidual = std::int64_t{1} << 27;
/// The most values of dense rows (a rank's rows x d) whose columns a bounded fit's coordinate descent takes in the
/// screened form (12 bytes each held, 32 while they travel: about 0.35 GiB at most, which the plan counts:
/// PlanRequest::bounded); larger blocks keep to working sets.
constexpr std::int64_t kMaxDenseDescentValues = std::int64_t{1} << 23;
/// Whether a screened block of rows x d gives its columns to a bounded fit's coordinate descent (kMaxDenseDescentValues).
constexpr bool dense_descent(std::int64_t rows, std::int64_t d) { return rows * d <= kMaxDenseDescentValues; }
/// Bytes a nonzero of the whole data that a rank fitting a cv fold or a path's lambdas of the cg form alone holds
/// besides its own plan:
/// the gathered rows (16, while they arrive 16 more), and its coordinate descent's columns (12) and their transit
/// (16).
constexpr double kGatheredBytesPerEntry = 60;
/// Rows (over all ranks) of the sample that tells whether a working set pays: with 8,192 the share of features
/// violating at zero came within 0.08 of the full data's on the benchmark problems (l21 with 10 targets reads
/// highest: noise adds to every row norm), for a read of 8,192 x 8 d bytes.
constexpr std::int64_t kSampleRows = 8192;

/// What working sets may serve: nothing (no l1 part, groups, a checkpoint), one fit (solve), or a path's lambdas (path,
/// and cv's folds and refit).
enum class Screen { none, one_fit, path };

/// The one rule for a rank's local form: dense rows >= d, for one l1-type fit that working sets serve: screened from
/// kScreenMinFeatures where the kept rows fit in `budget` bytes (0: no limit), else streamed from kStreamMinFeatures;
/// for a path, screened from kPathScreenMinFeatures where the rows fit; otherwise gram; dense rows < d: woodbury,
/// unless working sets serve and d >= kScreenMinFeatures where the rows fit (then as for rows >= d, except that a
/// path's wide data, global_rows < d, keep their rows: screened); sparse: gram up to kSparseGramMaxFeatures, else cg;
/// or the requested one. global_rows: the data's rows over every rank (0: this rank's).
LocalForm plan_local_form(std::int64_t rows, std::int64_t d, bool sparse, std::optional<LocalForm> requested,
                          Screen screen = Screen::none, double budget = 0, std::int64_t global_rows = 0);

/// Cross-validation with the rows held: always in the screened form (every row kept once, each fold's term a view of
/// them less its own rows; the columns the folds' working sets ask for kept over all rows, in what the budget leaves:
/// RankPlan::fold_cache_bytes). In the Gram form: true when this rank holds its rows (dense, rows x d) and one Gram of them all
/// rather than one Gram per fold, i.e. when the rows take less memory than the folds' extra Grams (rows < (pieces - 1)
/// d: wide blocks, W1's 10,000 x 4,000 with 10 folds). A fold's training Gram is then the total minus the Gram of the
/// fold's own rows, one dsyrk over them when the fold is fitted: the data are still read once, and instead of adding
/// every fold's rows in slivers (a read block split ten ways: rank-25 updates of a d x d triangle, bound by memory)
/// the one Gram takes whole blocks.
bool holds_fold_rows(LocalForm form, std::int64_t rows, std::int64_t d, int pieces);
/// Peak bytes one rank holds for rows x d local data (nnz nonzeros) with k targets in a form: Gram, the centered
/// Gram and its factor, d x d each (one more Gram per piece when pieces > 1, the folds of a cross-validation, or the
/// rows and three more Grams when holds_fold_rows), and
/// a polished block (at most kMaxPolishHeld square) twice; Woodbury, the centered rows, their scaled copy and the rows x rows eigenvectors; screened,
/// the rows (centered and scaled in place) and a working set's Gram and eigenvectors (at most d x d); cg, the
/// CSR rows (at most 16 bytes a nonzero, twice while building) and y, and for a path's coordinate descent the
/// columns this rank owns (about its share of the nonzeros, 12 bytes each, 32 more while they travel), five
/// copies of the n x k residual over all global_rows and a polished block (at most kMaxPolishActive square) twice;
/// plus the d x k iterates and Anderson history.
double local_memory_bytes(LocalForm form, std::int64_t rows, std::int64_t d, std::int64_t k, std::int64_t nnz,
                          int pieces = 1, std::int64_t global_rows = 0);

/// Floating-point work of one rank's local term in a form: once (Gram sums or kernel, and the factorization) and
/// per ADMM iteration (for cg: per conjugate-gradient step, a few per iteration with the warm start).
struct LocalCost {
  double setup_flops = 0;      ///< reduction of the rows and factorization
  double iteration_flops = 0;  ///< one x-update and one residual evaluation
};
/// The cost model of the plan (printed by `info`).
LocalCost local_cost(LocalForm form, std::int64_t rows, std::int64_t d, std::int64_t k, std::int64_t nnz, bool sparse);

/// The memory of this node (physical, or its control group's limit when lower: cgroup v2 memory.max or v1
/// memory.limit_in_bytes of this process's group and every group above it, as Slurm confines a job); 0: unknown.
double node_memory_bytes();
/// One rank's share of node_memory_bytes() among ranks_per_node ranks (0: unknown).
double memory_share(int ranks_per_node);
/// The part of its share a rank may plan to use (the rest: the read buffer, MPI, the process itself).
constexpr double kBudgetShare = 0.9;
/// What one rank may plan to use: kBudgetShare of its memory_share (0: no limit).
inline double memory_budget(int ranks_per_node) { return kBudgetShare * memory_share(ranks_per_node); }

/// The data's shape, global.
struct DataShape {
  std::int64_t rows = 0, features = 0, targets = 1;
  std::int64_t nnz = 0;  ///< nonzeros of sparse X (rows x features when dense)
  bool sparse = false;
};

/// What a run asks of the plan besides the shape.
struct PlanRequest {
  std::optional<LocalForm> requested;  ///< --local-solver (unset: auto)
  /// What working sets would serve (an l1 part, no groups, no checkpoint): one fit (solve), whose tall dense blocks
  /// may keep their rows or stream them unless the sample shows most features leaving zero, or a path's lambdas,
  /// whose blocks keep their rows from kPathScreenMinFeatures.
  Screen screen = Screen::none;
  LambdaRequest lambda;                ///< the fit's lambda, for the sample's test
  bool folds = false;                  ///< cross-validation: sums per fold (no streamed form)
  /// Bounds on the coefficients: a fit on dense rows few enough (the screened form, dense_descent) runs coordinate
  /// descent on their columns (src/core/solve/working_set.cpp), which the rank's memory then counts.
  bool bounded = false;
};

/// One rank's part of the plan.
struct RankPlan {
  std::int64_t rows = 0, nnz = 0;  ///< this rank's rows and nonzeros
  LocalForm form = LocalForm::gram;
  bool requested = false;          ///< the form was asked for (--local-solver), not planned
  /// Dense rows < d that the working-set rules gave a form whose memory (with the pieces) exceeds the budget: the
  /// woodbury form instead, which fits.
  bool wide_fallback = false;
  bool fold_rows = false;          ///< holds_fold_rows: the rows and one Gram instead of a Gram per fold
  bool bounded = false;            ///< PlanRequest::bounded: a screened block's columns are counted
  /// The cg form in a cv or a path (plan_gather): rows gathered whole into one rank, where kGatheredBytesPerEntry a
  /// nonzero of the whole data fit beside the rank's own plan. cv then fits its folds side by side, each gathered into
  /// one rank, and a path (and cv's refit) its lambdas, every rank holding every row (no communication inside a fit);
  /// otherwise every rank takes part in every fold and every lambda.
  bool gathers_rows = false;
  /// The screened form with folds: bytes for the Hessian columns over all rows that the folds share (what the budget
  /// leaves beside the plan, at most d x d doubles; counted in memory_bytes).
  double fold_cache_bytes = -1;
  double memory_bytes = 0;         ///< local_memory_bytes of the form (pieces included)
  LocalCost cost;                  ///< local_cost of the form
};

/// The plan of a run on this rank.
struct Plan {
  RankPlan rank;                         ///< this rank's form, memory and flops
  double budget = 0;                     ///< bytes this rank may use (memory_budget; 0: no limit)
  int pieces = 1;                        ///< sums per rank (folds of a cross-validation)
  std::string reason;                    ///< why the form differs from the shape's rule, or empty
  std::vector<Eigen::Index> first_set;   ///< the streamed form's first working set (chosen on the sample)

  /// Sets the number of fold sums and checks the memory again (UsageError, collective).
  void set_pieces(int count, const DataShape& shape, Communicator& comm);
  /// RankPlan::gathers_rows, its bytes counted where it fits (the cg form; set_pieces asks it for folds, a path's
  /// load itself).
  void plan_gather(const DataShape& shape);
  /// For one l1-type solve that may stream: a sample of the rows decides between working sets (with their first
  /// set) and the full Gram (with the reason); otherwise nothing. Collective.
  void decide_by_sample(const DataShape& shape, const PlanRequest& request, const std::function<PreparedData()>& sampler,
                        Communicator& comm);
};

/// This rank's plan without a sample: the form, its memory and flops (info prints one per rank).
RankPlan plan_rank(std::int64_t rows, std::int64_t nnz, const DataShape& shape, const PlanRequest& request,
                   double budget, int pieces = 1);

/// The plan of this rank (rows, nnz of its share) by the shape's rule, refused with UsageError on every rank when
/// some rank's data cannot fit its budget (before anything is allocated). Collective.
Plan make_plan(std::int64_t rows, std::int64_t nnz, const DataShape& shape, const PlanRequest& request, double budget,
               Communicator& comm);

}  // namespace cadmm
