#pragma once
/// \file Regularization paths and K-fold cross-validation over Models (one pass over the data for all of it).
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "cadmm/fit.hpp"

namespace cadmm {

/// A fitted path: one FitResult per lambda fitted, in the order given.
struct PathResult {
  std::vector<FitResult> fits;   ///< coefficients, intercepts and solver outcome per lambda
  std::vector<double> dev_ratio; ///< fraction of the null deviance explained, 1 - RSS / ||Y_c||^2, per fit
  bool stopped_early = false;    ///< --early-stop ended the path before its last lambda
  bool side_by_side = false;     ///< the lambdas were fitted side by side (fit_path_side_by_side)
  FactorLog factors;             ///< the factorizations its solves made, in all
  std::vector<FitResult> relaxed;  ///< glmnet's relaxed fits (relaxed_fits), one per fit; empty unless asked
};

/// glmnet's relaxed lasso (relax = TRUE): for each fit, the fit without penalty on the features it keeps (nonzero for
/// some target) and every other coefficient at 0: least squares over that set from the same sums (one reduction of
/// the set's Hessian block over the ranks per distinct set), with the fit's intercept, weights, offsets and bounds.
/// A set of more than n - 3 features gets none (glmnet's maxp): such a fit takes the relaxed fit of the last fit before
/// it that had one, as glmnet's predictions do. Collective; every rank gets the same fits (coef, intercept, lambda).
std::vector<FitResult> relaxed_fits(const Model& model, const std::vector<FitResult>& fits, Communicator& comm);

/// glmnet's blend of a fit and its relaxed fit: gamma fit + (1 - gamma) relaxed (coefficients and intercept), with
/// gamma raised to at least 1e-5 as glmnet's blend.relaxed does.
FitResult blend(const FitResult& fit, const FitResult& relaxed, double gamma);

/// Called on every rank after each lambda (index into the lambdas, its fit, its deviance ratio).
using PathProgress = std::function<void(std::size_t, const FitResult&, double)>;

/// Where an interrupted path continues: the fits done so far, and the exact state (loop state included) of the
/// solve that was interrupted, with its history so far.
struct PathResume {
  PathResult done;                        ///< the lambdas finished before the interruption
  AdmmState next;                         ///< the interrupted solve of lambda done.fits.size()
  std::vector<IterationRecord> history;   ///< that solve's iterations so far
};

/// Fits the lambdas in order, each warm-started from the previous one, over one Model (no refactoring); every
/// fit records lambdas.lambda_max as the one its lambda came from; collective. early_stop ends the path, as glmnet does, once the deviance ratio changes by less than 1e-5
/// (relative) between neighbours or exceeds 0.999, from the fifth lambda on. With resume, it continues an
/// interrupted path exactly as the uninterrupted one would have gone on. observer.stop_requested is asked inside
/// ADMM iterations and, collectively, before every lambda but the first: a stop there ends the path with that lambda
/// interrupted at its warm start (its state is what a checkpoint keeps). With observer.checkpoint set, a checkpoint is
/// also taken between lambdas once observer.checkpoint_every ADMM iterations and coordinate-descent sweeps have
/// passed since the last.
PathResult fit_path(const Model& model, const Lambdas& lambdas, const SolverSettings& settings,
                    bool early_stop, Communicator& comm, const PathProgress& progress = {},
                    const AdmmObserver& observer = {}, const PathResume* resume = nullptr);

/// The same path with its lambdas side by side, where rows_fit on every rank (its plan's RankPlan::gathers_rows) and
/// the form gathers its rows (the cg form: gathered_model): every rank holds the whole model, and in each round of P
/// lambdas rank r fits the r-th alone, from its own answer P lambdas before; the fits are then shared, so every rank
/// returns the same PathResult. Each answer is certified as fit_path's, so the two agree to the solver's tolerance.
/// With observer.checkpoint set, lambda i starts from the recorded answer of lambda i - P, so that a resume (from
/// resume.done: its state is not read) repeats the path bit for bit at the same P; the checkpoint is then taken
/// between rounds (once observer.checkpoint_every ADMM iterations and coordinate-descent sweeps have passed, and at an
/// interrupt, by the caller). nullopt on every rank otherwise (one rank included). Collective.
std::optional<PathResult> fit_path_side_by_side(const Model& model, const Lambdas& lambdas,
                                                const SolverSettings& settings, bool early_stop, bool rows_fit,
                                                Communicator& comm, const PathProgress& progress = {},
                                                const AdmmObserver& observer = {}, const PathResume* resume = nullptr);

/// The fold of global row `row` among `folds`: the rows are put in a pseudo-random order by a keyed
/// permutation of [0, n) and dealt out in turn, so fold sizes differ by at most one and the assignment is a
/// function of (seed, n, folds, row) only: the same at any rank count.
class FoldAssignment {
 public:
  /// Throws UsageError naming --folds when folds < 2 or folds > n.
  FoldAssignment(std::uint64_t seed, std::int64_t n, int folds);
  /// Fold (0-based) of a row in [0, n).
  int fold(std::int64_t row) const;
  std::int64_t rows() const { return n_; }
  int folds() const { return folds_; }

 private:
  std::uint64_t permute(std::uint64_t i) const;
  std::uint64_t seed_;
  std::int64_t n_;
  int folds_;
  int half_bits_;
};

/// Outcome of a K-fold cross-validation over a lambda sequence.
struct CvResult {
  std::vector<double> lambdas;       ///< the sequence, decreasing
  Matrix mse;                        ///< folds x lambdas: held-out mean squared error (over rows and targets;
                                     ///< with row weights, weighted: sum w r^2 / (sum w k))
  Vector mse_mean;                   ///< per lambda: mean over folds weighted by fold weight (glmnet's cvm)
  Vector mse_std;                    ///< per lambda: standard error of mse_mean (glmnet's cvsd)
  std::vector<std::int64_t> fold_rows;  ///< rows per fold
  std::vector<double> fold_weight;   ///< sum of the rows' weights per fold (its rows unweighted; empty: fold_rows)
  std::size_t index_min = 0;         ///< largest lambda attaining the minimum of mse_mean
  std::size_t index_1se = 0;         ///< largest lambda with mse_mean <= mse_mean[min] + mse_std[min]
  int data_passes = 1;               ///< passes over X made for every fold and the refit
  FactorLog factors;                 ///< the factorizations the folds' paths made, in all
  bool side_by_side = false;         ///< each fold's terms were summed into one rank, which fitted it alone
  /// Fold fits that stopped at --max-iter uncertified (their held-out errors are their last iterates'), and the first
  /// of them: {fold, lambda index}, 0-based.
  std::size_t unconverged = 0;
  std::pair<int, std::size_t> first_unconverged{0, 0};
  /// Relaxed fits (cv --relax, glmnet's cv.glmnet(relax = TRUE)): the blends gamma fit + (1 - gamma) relaxed
  /// cross-validated (empty: none), each one's folds x lambdas errors, their means and standard errors (gammas x
  /// lambdas, as mse_mean and mse_std), and the pairs glmnet's rules choose: the largest lambda, then the largest
  /// gamma, at the minimum (relaxed_min) and within one standard error of it (relaxed_1se); {gamma index, lambda index}.
  std::vector<double> gammas;
  std::vector<Matrix> relaxed_mse;
  Matrix relaxed_mean, relaxed_std;
  std::pair<std::size_t, std::size_t> relaxed_min{0, 0}, relaxed_1se{0, 0};
};

/// Called on every rank after fold f (0-based) with its path.
using FoldProgress = std::function<void(int, const PathResult&, double seconds)>;
/// Called on every rank after lambda i (0-based) of fold f's path.
using FoldLambdaProgress = std::function<void(int, std::size_t)>;

/// Cross-validates over folds held as pieces of `data` (piece f = this rank's rows of fold f): for each fold,
/// the training sums are the other pieces' total, prepared and factored once, then a warm-started path; the
/// held-out error of every lambda comes from piece f's sums; collective. observer reaches every fold's solves
/// (its stop_requested ends the run with RuntimeFailure).
/// fit_fold (one flag per fold; empty: all) picks the folds to fit: the others' rows of mse stay NaN and the
/// summary is left to the caller (a job array fits one fold per task; `cv --collect` fills the rest).
/// gammas (non-empty): also every fold's relaxed fits (relaxed_fits), scored blended at each gamma.
/// lambda_progress: after each lambda of each fold (progress lines). Folds are fitted side by side, each alone on one
/// rank, where every rank holds the Gram form, or the cg form with gather_rows (the plan's gathers_rows) on every
/// rank.
CvResult cross_validate(const LocalDataBuilder& data, const ProblemSpec& spec, const Lambdas& lambdas,
                        const SolverSettings& settings, Communicator& comm, const FoldProgress& progress = {}, const AdmmObserver& observer = {},
                        const std::vector<bool>& fit_fold = {}, const std::vector<double>& gammas = {},
                        const FoldLambdaProgress& lambda_progress = {}, bool gather_rows = false);

/// glmnet's summary of fold errors: mse_mean, mse_std, index_min, index_1se from mse and fold_weight (cv.glmnet weighs
/// each fold by the sum of its rows' weights); with gammas, the relaxed curves and choices as well.
void summarize_folds(CvResult& cv);

}  // namespace cadmm
