// The drivers of every command (include/cadmm/drive.hpp).
#include "cadmm/drive.hpp"

#include <sstream>

#include "core/solve/loop_state.hpp"

namespace cadmm {

std::string CheckpointKey::fold_file_text() const {
  std::ostringstream key;
  key.precision(17);
  key << "data " << data << ", x " << x_dataset << ", y " << y_dataset << ", penalty " << penalty << ", l1-ratio "
      << l1_ratio << ", fit-intercept " << fit_intercept << ", standardize " << standardize
      << (per_feature.empty() ? "" : ", " + per_feature) << ", folds " << folds_from;
  return key.str();
}

CheckpointKey run_key(const std::string& command, const DataId& data, const ProblemSpec& spec,
                      const std::vector<double>& lambdas, double lambda_max) {
  CheckpointKey key;
  key.command = command;
  key.data = data.file;
  key.x_dataset = data.x_dataset;
  key.y_dataset = data.y_dataset;
  key.penalty = to_string(spec.penalty);
  key.lambda = lambdas.empty() ? 0.0 : lambdas.front();
  if (command != "solve") key.lambdas = lambdas;
  key.l1_ratio = spec.effective_l1_ratio();
  key.n_rows = data.rows;
  key.n_features = data.features;
  key.n_targets = data.targets;
  key.fit_intercept = spec.fit_intercept;
  key.standardize = spec.standardize;
  key.per_feature = spec.per_feature_text();
  key.lambda_max = lambda_max;
  return key;
}

namespace {

// The store's resume, when it asks for one, reported to the sink.
std::optional<Resume> resume_from(const DriveHooks& hooks) {
  if (!hooks.checkpoints || !hooks.checkpoints->resume) return std::nullopt;
  std::optional<Resume> got = hooks.checkpoints->load();
  if (hooks.progress) hooks.progress->resumed(got ? &*got : nullptr);
  return got;
}

}  // namespace

FitResult drive_solve(const Model& model, const Lambdas& lambda, const SolverSettings& settings, Communicator& comm,
                      const DriveHooks& hooks) {
  CheckpointStore* store = hooks.checkpoints;
  const bool root = comm.rank() == 0;
  std::vector<IterationRecord> history;  // every iteration so far, resumed ones included (rank 0, with a store)
  std::optional<AdmmState> start;
  if (std::optional<Resume> r = resume_from(hooks)) {
    start = std::move(r->state);
    history = std::move(r->history);
  }
  AdmmObserver observer = hooks.observer;
  observer.progress = [&](const IterationRecord& rec) {
    if (hooks.progress) hooks.progress->iteration(rec);
    if (root && store) history.push_back(rec);
  };
  if (store) {
    observer.checkpoint_every = store->every;
    observer.checkpoint = [&](const AdmmState& st) { store->save(st, history, nullptr); };
  }
  FitResult result = fit(model, lambda.values.front(), settings, comm, observer, start ? &*start : nullptr);
  result.lambda_max = lambda.lambda_max;
  if (root && store) result.admm.history = history;
  if (result.admm.status == Status::interrupted && store) store->save(result.admm.state, history, nullptr);
  return result;
}

PathResult drive_path(const Model& model, const Lambdas& lambdas, const SolverSettings& settings, bool early_stop,
                      Communicator& comm, const DriveHooks& hooks, bool gather_rows) {
  CheckpointStore* store = hooks.checkpoints;
  std::optional<PathResume> resume;
  if (std::optional<Resume> r = resume_from(hooks))
    resume = PathResume{std::move(r->done), std::move(r->state), std::move(r->history)};
  // What a checkpoint needs besides the running solve's state: the finished lambdas and that solve's iterations.
  PathResult done = resume ? resume->done : PathResult{};
  std::vector<IterationRecord> current = resume ? resume->history : std::vector<IterationRecord>{};
  AdmmObserver observer = hooks.observer;
  observer.progress = [&](const IterationRecord& rec) {
    if (hooks.progress) hooks.progress->iteration(rec);
    if (store) current.push_back(rec);
  };
  if (store) {
    observer.checkpoint_every = store->every;
    observer.checkpoint = [&](const AdmmState& st) { store->save(st, current, &done); };
  }
  const PathProgress each = [&](std::size_t i, const FitResult& f, double ratio) {
    if (hooks.progress) hooks.progress->lambda_done(i, f, ratio);
    if (!store || f.admm.status == Status::interrupted) return;
    done.fits.push_back(f);
    done.dev_ratio.push_back(ratio);
    current.clear();
  };
  // A path that checkpoints resumes bit for bit at the same rank count, side by side or not.
  std::optional<PathResult> side = fit_path_side_by_side(model, lambdas, settings, early_stop, gather_rows, comm, each,
                                                         observer, resume ? &*resume : nullptr);
  PathResult path = side ? std::move(*side)
                         : fit_path(model, lambdas, settings, early_stop, comm, each, observer, resume ? &*resume : nullptr);
  // An interrupted lambda kept as not begun (side by side, or stopped in its working sets) has no iterations yet.
  const FitResult& last = path.fits.back();
  const bool begun = last.admm.state.loop && last.admm.state.loop->first_iteration != 0;
  if (last.admm.status == Status::interrupted && store)
    store->save(last.admm.state, begun ? current : std::vector<IterationRecord>{}, &done);
  return path;
}

CvResult drive_cv(const LocalDataBuilder& folds, const ProblemSpec& spec, const Lambdas& lambdas,
                  const SolverSettings& settings, const CvPlan& plan, Communicator& comm, const DriveHooks& hooks) {
  const FoldProgress each = [&](int f, const PathResult& p, double seconds) {
    if (hooks.progress) hooks.progress->fold_done(f, p, seconds);
  };
  AdmmObserver observer = hooks.observer;
  observer.progress = [&](const IterationRecord& rec) {
    if (hooks.progress) hooks.progress->iteration(rec);
  };
  const FoldLambdaProgress lambda_done = [&](int f, std::size_t i) {
    if (hooks.progress) hooks.progress->fold_lambda_done(f, i);
  };
  CvResult cv = cross_validate(folds, spec, lambdas, settings, comm, each, observer, plan.fit_fold, plan.gammas, lambda_done,
                               plan.gather_rows);
  if (plan.collect) {
    plan.collect(cv);
    summarize_folds(cv);
  }
  return cv;
}

PathResult drive_refit(const Model& model, const Lambdas& lambdas, const SolverSettings& settings, Communicator& comm,
                       const DriveHooks& hooks, bool relax, bool gather_rows) {
  std::optional<PathResult> side =
      fit_path_side_by_side(model, lambdas, settings, false, gather_rows, comm, {}, hooks.observer);
  PathResult path = side ? std::move(*side) : fit_path(model, lambdas, settings, false, comm, {}, hooks.observer);
  if (relax && path.fits.size() == lambdas.values.size()) path.relaxed = relaxed_fits(model, path.fits, comm);
  return path;
}

}  // namespace cadmm
