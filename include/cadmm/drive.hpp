#pragma once
/// \file The drivers every command calls: one solve, a path, a cross-validation and its refit, over Models built
/// once. They return results and report progress, checkpoints and interrupts through small interfaces (a
/// CheckpointStore that io implements over HDF5, a ProgressSink that the CLI prints), so a library user runs a
/// path or a CV exactly as `cadmm path` and `cadmm cv` do.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cadmm/path.hpp"

namespace cadmm {

/// Where the rows came from: what a resumed or collecting run must find again.
struct DataId {
  std::string file;                  ///< the data file as given
  std::string x_dataset, y_dataset;  ///< paths inside it
  std::int64_t rows = 0, features = 0, targets = 0;
};

/// What identifies a run's problem. A checkpoint stores it and a resumed run must agree with it; cv fold files
/// carry its text (fold_file_text) and the collecting run must agree with that.
struct CheckpointKey {
  std::string command = "solve";  ///< solve, path or cv
  std::string data, x_dataset, y_dataset, penalty;
  double lambda = 0, l1_ratio = 0;  ///< lambda: the solve's, or a sequence's first
  std::vector<double> lambdas;      ///< a path's whole sequence (empty for solve)
  std::int64_t n_rows = 0, n_features = 0, n_targets = 0, fit_intercept = 0, standardize = 0;
  std::string per_feature;          ///< ProblemSpec::per_feature_text (penalty factors, exclusions, bounds)
  double lambda_max = 0;            ///< the data's (0: not known): other data under the same file name change it
  std::string folds_from;           ///< cv: "K from seed S" or "K from dataset D" (not part of checkpoints)

  /// The text cv fold files carry: the data, the problem and the fold assignment.
  std::string fold_file_text() const;
};

/// The one function that makes the key of a run, for every command.
CheckpointKey run_key(const std::string& command, const DataId& data, const ProblemSpec& spec,
                      const std::vector<double>& lambdas, double lambda_max = 0);

/// Where an interrupted run continues.
struct Resume {
  AdmmState state;                       ///< the interrupted solve's exact state (loop state at the same rank count)
  std::vector<IterationRecord> history;  ///< its iterations so far (rank 0)
  PathResult done;                       ///< a path's finished lambdas
  std::string file;                      ///< the checkpoint it came from
  std::string note;                      ///< why the previous checkpoint was used, or why the duals restart
};

/// Where a driver keeps its checkpoints; every call is collective.
class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;
  /// The state to continue from, or nullopt when there is none yet.
  virtual std::optional<Resume> load() = 0;
  /// Saves the running solve's complete state, its iterations so far (rank 0's) and a path's finished lambdas.
  virtual void save(const AdmmState& state, const std::vector<IterationRecord>& history, const PathResult* done) = 0;
  int every = 100;      ///< iterations between checkpoints
  bool resume = false;  ///< the driver asks load() before it starts
};

/// What a driver reports while it runs (the CLI prints it); called on every rank.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  /// After load() was asked: the state resumed from, or null when there was none.
  virtual void resumed(const Resume* /*from*/) {}
  /// Every ADMM iteration.
  virtual void iteration(const IterationRecord& /*record*/) {}
  /// Every lambda of a path, the interrupted one included.
  virtual void lambda_done(std::size_t /*index*/, const FitResult& /*fit*/, double /*dev_ratio*/) {}
  /// Every fold of a cross-validation.
  virtual void fold_done(int /*fold*/, const PathResult& /*path*/, double /*seconds*/) {}
  /// Every lambda of a cross-validation's folds.
  virtual void fold_lambda_done(int /*fold*/, std::size_t /*index*/) {}
};

/// The hooks a driver runs with (all optional).
struct DriveHooks {
  AdmmObserver observer;                   ///< stop requests and test faults; the drivers add progress and checkpoints
  ProgressSink* progress = nullptr;        ///< where progress goes
  CheckpointStore* checkpoints = nullptr;  ///< where checkpoints go (solve and path)
};

/// One lambda (lambda.values.front()) over a Model, resumed from the store when it asks; on an interrupt the state
/// is saved to the store and the result comes back with status interrupted. Collective.
FitResult drive_solve(const Model& model, const Lambdas& lambda, const SolverSettings& settings, Communicator& comm,
                      const DriveHooks& hooks = {});

/// A path over a Model, resumed from the store when it asks; on an interrupt the finished lambdas and the running
/// solve are saved and the path comes back with its last fit interrupted. gather_rows (the plan's
/// RankPlan::gathers_rows on every rank, no store): its lambdas side by side (fit_path_side_by_side). Collective.
PathResult drive_path(const Model& model, const Lambdas& lambdas, const SolverSettings& settings, bool early_stop,
                      Communicator& comm, const DriveHooks& hooks = {}, bool gather_rows = false);

/// How a cross-validation runs besides its problem.
struct CvPlan {
  std::vector<bool> fit_fold;  ///< the folds to fit (empty: all); the others' errors stay NaN
  /// Fills the rows of the folds not fitted (from fold files) before the summary; unset: no summary unless every
  /// fold was fitted.
  std::function<void(CvResult&)> collect;
  std::vector<double> gammas;  ///< --relax: the blends to cross-validate (empty: no relaxed fits)
  bool gather_rows = false;    ///< the plan's RankPlan::gathers_rows (cg form: folds side by side where all agree)
};

/// K-fold cross-validation over the folds held as pieces of `folds` (cross_validate), then glmnet's summary.
/// Collective.
CvResult drive_cv(const LocalDataBuilder& folds, const ProblemSpec& spec, const Lambdas& lambdas,
                  const SolverSettings& settings, const CvPlan& plan, Communicator& comm, const DriveHooks& hooks = {});

/// The refit on all rows: the whole path over `lambdas`, warm-started as glmnet's fit is (cv.glmnet keeps it as
/// glmnet.fit); with relax its relaxed fits too (relaxed_fits over that path, so glmnet's rule for sets past n - 3
/// applies as in the folds). A path cut short (a signal, divergence) ends at the fit that stopped it. gather_rows: its
/// lambdas side by side, as drive_path's. Collective.
PathResult drive_refit(const Model& model, const Lambdas& lambdas, const SolverSettings& settings, Communicator& comm,
                       const DriveHooks& hooks = {}, bool relax = false, bool gather_rows = false);

}  // namespace cadmm
