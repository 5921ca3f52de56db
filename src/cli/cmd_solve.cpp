// `cadmm solve`: read this rank's rows, prepare, run ADMM, write the result (SPEC sections 4-5).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include "cadmm/error.hpp"
#include "cadmm/fit.hpp"
#include "cadmm/partition.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/fitting.hpp"
#include "cli/report.hpp"
#include "io/checkpoint.hpp"
#include "io/dataset_reader.hpp"
#include "io/result_writer.hpp"

namespace cadmm::cli {

namespace {

const char* kUsage =
    "Usage: cadmm solve --data FILE [options]\n"
    "       mpirun -np P cadmm solve --data FILE [options]\n\n"
    "Fits one lambda of  1/(2n) ||Y - X W - 1 b^T||_F^2 + lambda P(W)  by consensus ADMM, the rows of X split\n"
    "across the MPI ranks. The default answer matches scikit-learn at the same lambda (Lasso(alpha=lambda),\n"
    "ElasticNet(alpha=lambda, l1_ratio=a), Ridge(alpha=lambda*n), MultiTaskLasso/MultiTaskElasticNet).\n\n"
    "Examples:\n"
    "  cadmm solve --data demo.h5 --penalty l1 --lambda-ratio 0.1 --output lasso.h5\n"
    "  mpirun -np 4 cadmm solve --config configs/elasticnet.ini --lambda 0.01\n\n";

// Writes the state of every rank to a checkpoint (rank 0 writes); collective.
void save(const std::string& path, const io::CheckpointKey& key, const AdmmState& st,
          const std::vector<IterationRecord>& history, MpiCommunicator& comm) {
  io::Checkpoint c;
  c.key = key;
  c.n_ranks = comm.size();
  c.z = st.z;
  c.rho = st.rho;
  c.iteration = st.iteration;
  c.u.resize(comm.rank() == 0 ? static_cast<std::size_t>(comm.size() * st.u.size()) : 0);
  comm.gather(st.u.data(), static_cast<std::size_t>(st.u.size()), c.u.data());
  collectively(comm, [&] {
    if (comm.rank() == 0) {
      c.history = history;
      io::write_checkpoint(path, c);
    }
  });
}

// The state to resume from, or nullopt when there is no checkpoint yet; collective. A damaged checkpoint or one
// of another problem is refused (exit 3) unless the previous one, kept beside it, is good: then the run falls back
// to it and says so. One written by another rank count keeps z and rho and restarts the duals at zero.
std::optional<AdmmState> resume(const std::string& path, const io::CheckpointKey& key, MpiCommunicator& comm,
                                std::vector<IterationRecord>& history, bool verbose) {
  const std::string prev = io::previous_checkpoint(path);
  double exists = 0;
  if (comm.rank() == 0) exists = std::filesystem::exists(path) || std::filesystem::exists(prev) ? 1 : 0;
  comm.broadcast(&exists, sizeof exists, 0);
  if (exists == 0) {
    if (verbose) std::printf("no checkpoint at %s yet: starting from zero\n", path.c_str());
    return std::nullopt;
  }
  io::Checkpoint c;
  std::string used = path;
  collectively(comm, [&] {
    if (comm.rank() != 0) return;
    const auto load = [&](const std::string& file) {
      io::Checkpoint got = io::read_checkpoint(file);
      const std::string mismatch = io::key_mismatch(got.key, key);
      if (!mismatch.empty()) throw DataError("checkpoint '" + file + "' belongs to another problem: " + mismatch);
      return got;
    };
    try {
      if (!std::filesystem::exists(path)) throw DataError("checkpoint '" + path + "' is missing");
      c = load(path);
    } catch (const DataError& e) {
      if (!std::filesystem::exists(prev)) throw DataError(std::string("--resume: ") + e.what());
      try {
        c = load(prev);
      } catch (const DataError& e2) {
        throw DataError(std::string("--resume: ") + e.what() + "; the previous one is not usable either: " + e2.what());
      }
      used = prev;
      warn(std::string(e.what()) + ": resuming from the previous checkpoint '" + prev + "' instead");
    }
  });
  const Eigen::Index d = key.n_features, k = key.n_targets;
  double head[3] = {static_cast<double>(c.n_ranks), c.rho, static_cast<double>(c.iteration)};
  comm.broadcast(head, sizeof head, 0);
  AdmmState st;
  st.rho = head[1];
  st.iteration = static_cast<int>(head[2]);
  st.z = comm.rank() == 0 ? c.z : Matrix::Zero(d, k);
  comm.broadcast(st.z.data(), sizeof(double) * static_cast<std::size_t>(d * k), 0);
  st.u = Matrix::Zero(d, k);
  if (static_cast<int>(head[0]) == comm.size()) {
    comm.scatter(c.u.data(), static_cast<std::size_t>(d * k), st.u.data());
  } else if (comm.rank() == 0) {
    warn("checkpoint '" + used + "' was written by " + std::to_string(static_cast<int>(head[0])) + " ranks, this run has " +
         std::to_string(comm.size()) + ": resuming from its z with the dual variables at zero");
  }
  history = std::move(c.history);
  if (verbose) std::printf("resuming from %s at iteration %d\n", used.c_str(), st.iteration);
  return st;
}

void print_summary(const FitResult& r, const PreparedProblem& p, const io::RunFacts& facts, const Phases& t,
                   const std::string& kinds, const std::string& output) {
  const AdmmResult& a = r.admm;
  std::printf("\ncadmm solve: %s after %d iterations%s\n", to_string(a.status).c_str(), a.state.iteration,
              a.polished ? ", polished (exact on the sign pattern of the iterate, certified by the duality gap)" : "");
  print_problem(facts.settings, r.lambda_max, facts, p, kinds);
  std::printf("  lambda      %s (%s x lambda_max)\n", fmt(r.lambda).c_str(),
              fmt(r.lambda_max > 0 ? r.lambda / r.lambda_max : 0.0, "%.4g").c_str());
  std::printf("  objective   %.12e   duality gap %.3e   nonzero coefficients %lld of %lld\n", a.optimality.objective,
              a.optimality.gap, static_cast<long long>(nonzeros(r.coef)), static_cast<long long>(r.coef.size()));
  std::printf("  residuals   primal %.3e, dual %.3e, final rho %.4g%s\n", a.r_norm, a.s_norm, a.state.rho,
              a.polished ? " (of the last ADMM iterate)" : "");
  print_times(t);
  std::printf("  output      %s\n", output.c_str());
  std::fflush(stdout);
}

}  // namespace

int run_solve(const Args& args, MpiCommunicator& comm) {
  po::options_description checkpoints("Checkpoints");
  checkpoints.add_options()
    ("checkpoint", po::value<std::string>()->value_name("FILE"),
     "write the solver state here every --checkpoint-every iterations and when interrupted")
    ("checkpoint-every", po::value<int>()->default_value(100)->value_name("N"), "iterations between checkpoints")
    ("resume", "continue from --checkpoint FILE if it exists (else start from zero)");
  const auto parsed = parse_fit_options(args, kUsage, true, checkpoints, comm);
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  const bool root = comm.rank() == 0;
  const Settings settings = settings_from(vm);
  const std::string data_file = vm["data"].as<std::string>();
  const std::string output = vm["output"].as<std::string>();
  const bool verbose = root && !vm.count("quiet");

  const std::string checkpoint = vm.count("checkpoint") ? vm["checkpoint"].as<std::string>() : "";
  const int checkpoint_every = vm["checkpoint-every"].as<int>();
  if (vm.count("resume") && checkpoint.empty()) throw UsageError("--resume: needs --checkpoint FILE");
  if (checkpoint_every < 1) throw UsageError("--checkpoint-every: must be >= 1");
  // Fail now, not after an hour of solving, if the result cannot be written.
  check_outputs(vm, output, checkpoint, comm);

  Phases t;
  const DataModel dm = load_model(vm, settings, comm, t);
  const Model& model = dm.model;
  const io::DataLayout& layout = dm.layout;
  const std::string& kind_text = dm.kinds;
  Stopwatch clock;
  const double lambda = settings.resolve_lambda(lambda_max(model, settings));

  io::CheckpointKey key;
  key.data = data_file;
  key.x_dataset = layout.x_name;
  key.y_dataset = layout.y_name;
  key.penalty = to_string(settings.penalty);
  key.lambda = lambda;
  key.l1_ratio = settings.effective_l1_ratio();
  key.n_rows = layout.rows;
  key.n_features = layout.features;
  key.n_targets = layout.targets;
  key.fit_intercept = settings.fit_intercept;
  key.standardize = settings.standardize;
  std::vector<IterationRecord> history;  // every iteration so far, resumed ones included (rank 0)
  std::optional<AdmmState> start;
  if (vm.count("resume")) start = resume(checkpoint, key, comm, history, verbose);

  ProgressPrinter progress(verbose, vm["progress-seconds"].as<double>());
  AdmmObserver observer;
  observer.progress = [&](const IterationRecord& r) {
    progress(r);
    if (root && !checkpoint.empty()) history.push_back(r);
  };
  observer.stop_requested = interrupt_requested;
  if (!checkpoint.empty()) {
    observer.checkpoint_every = checkpoint_every;
    observer.checkpoint = [&](const AdmmState& st) { save(checkpoint, key, st, history, comm); };
  }
  const double comm_before = comm.seconds_in_collectives();
  FitResult result = fit(model, lambda, settings, comm, observer, start ? &*start : nullptr);
  if (root && !checkpoint.empty()) result.admm.history = history;
  if (!result.admm.history.empty()) progress.finish(result.admm.history.back());
  const double fit_seconds = clock.lap();
  t.iterations = fit_seconds;
  t.communication = comm.seconds_in_collectives() - comm_before;

  if (result.admm.status == Status::interrupted) {
    const std::string what = "interrupted by a signal at iteration " + std::to_string(result.admm.state.iteration);
    if (checkpoint.empty())
      throw RuntimeFailure(what + "; no result was written (use --checkpoint FILE to keep progress)");
    save(checkpoint, key, result.admm.state, history, comm);
    throw RuntimeFailure(what + "; state saved to '" + checkpoint + "': run again with --resume");
  }
  const io::RunFacts facts = run_facts(settings, layout, comm, fit_seconds, "solve");
  collectively(comm, [&] {
    if (root) io::write_result(output, result, facts);
  });
  t.write = clock.lap();

  if (verbose) print_summary(result, model.data, facts, t, kind_text, output);
  if (root && result.admm.status == Status::max_iter)
    warn("stopped at --max-iter " + std::to_string(settings.max_iter) +
         " before reaching the tolerances; the result is written with status \"max_iter\"");
  if (result.admm.status == Status::diverged)
    throw RuntimeFailure("the iteration diverged (non-finite values) at iteration " +
                         std::to_string(result.admm.state.iteration) + "; the result was written with status "
                         "\"diverged\" to '" + output + "'");
  return 0;
}

}  // namespace cadmm::cli
