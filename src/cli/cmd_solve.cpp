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

// Throws UsageError when this rank's share of the node's memory cannot hold its local data.
void check_memory(std::int64_t rows, const io::DataLayout& l, const MpiCommunicator& comm) {
  const double need = local_memory_bytes(rows, l.features, l.targets);
  const double node = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  const double share = node / std::max(1, comm.ranks_on_node());
  if (node <= 0 || need <= 0.9 * share) return;
  const bool tall = rows >= l.features;
  throw UsageError("this rank would need about " + fmt(need / (1 << 30), "%.1f") + " GiB for its local " +
                   (tall ? "Gram factorization" : "rows and their factorization") + " but has " +
                   fmt(share / (1 << 30), "%.1f") + " GiB (its share of the node); " +
                   (tall ? "the Gram form needs 2 d^2 doubles whatever the rank count: use fewer ranks per node"
                         : "spread the rows over more nodes") +
                   " (plan: cadmm info FILE --ranks P)");
}

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

// The state to resume from, or nullopt when there is no checkpoint yet; collective. A checkpoint of another
// problem is refused; one written by another rank count keeps z and rho and restarts the duals at zero.
std::optional<AdmmState> resume(const std::string& path, const io::CheckpointKey& key, MpiCommunicator& comm,
                                std::vector<IterationRecord>& history, bool verbose) {
  double exists = 0;
  if (comm.rank() == 0) exists = std::filesystem::exists(path) ? 1 : 0;
  comm.broadcast(&exists, sizeof exists, 0);
  if (exists == 0) {
    if (verbose) std::printf("no checkpoint at %s yet: starting from zero\n", path.c_str());
    return std::nullopt;
  }
  io::Checkpoint c;
  collectively(comm, [&] {
    if (comm.rank() != 0) return;
    c = io::read_checkpoint(path);
    const std::string mismatch = io::key_mismatch(c.key, key);
    if (!mismatch.empty()) throw UsageError("--resume: checkpoint '" + path + "' belongs to another problem: " + mismatch);
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
    warn("checkpoint '" + path + "' was written by " + std::to_string(static_cast<int>(head[0])) + " ranks, this run has " +
         std::to_string(comm.size()) + ": resuming from its z with the dual variables at zero");
  }
  history = std::move(c.history);
  if (verbose) std::printf("resuming from %s at iteration %d\n", path.c_str(), st.iteration);
  return st;
}

// Distinct phases of the run, for the summary.
struct Phases {
  double read = 0, setup = 0, iterations = 0, communication = 0, write = 0;
};

void print_summary(const FitResult& r, const PreparedProblem& p, const io::RunFacts& facts, const Phases& t,
                   const std::string& kinds, const std::string& output) {
  const AdmmResult& a = r.admm;
  const Eigen::Index nnz = (r.coef.array() != 0).count();
  std::printf("\ncadmm solve: %s after %d iterations%s\n", to_string(a.status).c_str(), a.state.iteration,
              a.polished ? ", polished (exact on the sign pattern of the iterate, certified by the duality gap)" : "");
  std::printf("  problem     %s, lambda %s (%s x lambda_max %s)%s\n", to_string(facts.settings.penalty).c_str(),
              fmt(r.lambda).c_str(), fmt(r.lambda_max > 0 ? r.lambda / r.lambda_max : 0.0, "%.4g").c_str(),
              fmt(r.lambda_max).c_str(),
              facts.settings.penalty == Penalty::elasticnet || facts.settings.penalty == Penalty::l21
                  ? (", l1_ratio " + fmt(r.l1_ratio)).c_str()
                  : "");
  std::printf("  data        %lld rows x %lld features, %lld target(s); %d rank(s): %s\n",
              static_cast<long long>(facts.n_rows), static_cast<long long>(facts.n_features),
              static_cast<long long>(facts.n_targets), facts.n_ranks, kinds.c_str());
  if (p.constant_columns > 0)
    std::printf("              %d constant column(s) get coefficient 0\n", p.constant_columns);
  std::printf("  objective   %.12e   duality gap %.3e   nonzero coefficients %lld of %lld\n", a.optimality.objective,
              a.optimality.gap, static_cast<long long>(nnz), static_cast<long long>(r.coef.size()));
  std::printf("  residuals   primal %.3e, dual %.3e, final rho %.4g%s\n", a.r_norm, a.s_norm, a.state.rho,
              a.polished ? " (of the last ADMM iterate)" : "");
  std::printf("  time        read %.3fs | setup/factor %.3fs | iterations %.3fs (communication %.3fs) | write %.3fs\n",
              t.read, t.setup, t.iterations, t.communication, t.write);
  std::printf("  output      %s\n", output.c_str());
  std::fflush(stdout);
}

}  // namespace

int run_solve(const Args& args, MpiCommunicator& comm) {
  po::options_description out("Output and checkpoints");
  out.add_options()("output,o", po::value<std::string>()->default_value("result.h5")->value_name("FILE"),
                    "result file (written to a temporary name, then renamed)")
    ("checkpoint", po::value<std::string>()->value_name("FILE"),
     "write the solver state here every --checkpoint-every iterations and when interrupted")
    ("checkpoint-every", po::value<int>()->default_value(100)->value_name("N"), "iterations between checkpoints")
    ("resume", "continue from --checkpoint FILE if it exists (else start from zero)");
  po::options_description desc;
  desc.add(general_options()).add(data_options()).add(model_options()).add(solver_options()).add(out);
  const auto vm = parse(args, desc);
  const bool root = comm.rank() == 0;
  if (vm.count("help")) {
    if (root) std::cout << kUsage << desc << std::endl;
    return 0;
  }
  const Settings settings = settings_from(vm);
  if (!vm.count("data")) throw UsageError("--data: required (the HDF5 file with X and y)");
  const std::string data_file = vm["data"].as<std::string>();
  const std::string output = vm["output"].as<std::string>();
  const double buffer_mb = vm["read-buffer-mb"].as<double>();
  if (!(buffer_mb > 0)) throw UsageError("--read-buffer-mb: must be > 0");
  const bool verbose = root && !vm.count("quiet");

  const std::string checkpoint = vm.count("checkpoint") ? vm["checkpoint"].as<std::string>() : "";
  const int checkpoint_every = vm["checkpoint-every"].as<int>();
  if (vm.count("resume") && checkpoint.empty()) throw UsageError("--resume: needs --checkpoint FILE");
  if (checkpoint_every < 1) throw UsageError("--checkpoint-every: must be >= 1");
  // Fail now, not after an hour of solving, if the result cannot be written.
  collectively(comm, [&] {
    if (!root) return;
    io::check_output_path(output, "--output", {data_file});
    if (!checkpoint.empty()) io::check_output_path(checkpoint, "--checkpoint", {data_file, output});
  });

  Phases t;
  Stopwatch clock;
  // Read: each rank streams its own contiguous block of rows into the local accumulator.
  std::unique_ptr<io::DenseReader> reader;
  collectively(comm, [&] {
    reader = std::make_unique<io::DenseReader>(data_file, vm["x-dataset"].as<std::string>(),
                                               vm["y-dataset"].as<std::string>(), comm.handle());
  });
  const io::DataLayout layout = reader->layout();
  const RowRange range = partition_rows(layout.rows, comm.rank(), comm.size());
  // An out-of-memory kill would take the job down without a word: refuse a plan that cannot fit.
  collectively(comm, [&] { check_memory(range.size(), layout, comm); });
  LocalDataBuilder builder(range.size(), layout.features, layout.targets);
  double accumulate_seconds = 0;
  collectively(comm, [&] {
    reader->read_rows(range, static_cast<std::size_t>(buffer_mb * (1 << 20)), [&](RowMatrix& x, RowMatrix& y) {
      Stopwatch acc;
      builder.add_rows(x, y);
      accumulate_seconds += acc.lap();
    });
  });
  reader.reset();
  t.read = clock.lap() - accumulate_seconds;

  const PreparedProblem problem = prepare(std::move(builder), settings.fit_intercept, settings.standardize, comm);
  t.setup = clock.lap() + accumulate_seconds;

  // Which local solver each rank uses, for the summary.
  double kinds[3] = {0, 0, 0};
  kinds[problem.block.rows() == 0 ? 2 : problem.block.tall() ? 0 : 1] = 1;
  comm.sum(kinds, 3);
  std::string kind_text = fmt(kinds[0], "%.0f") + " gram";
  if (kinds[1] > 0) kind_text += ", " + fmt(kinds[1], "%.0f") + " woodbury";
  if (kinds[2] > 0) kind_text += ", " + fmt(kinds[2], "%.0f") + " without rows";

  io::CheckpointKey key;
  key.data = data_file;
  key.x_dataset = layout.x_name;
  key.y_dataset = layout.y_name;
  key.penalty = to_string(settings.penalty);
  key.lambda = resolve_lambda(problem, settings);
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
  FitResult result = fit(problem, settings, comm, observer, start ? &*start : nullptr);
  if (root && !checkpoint.empty()) result.admm.history = history;
  if (!result.admm.history.empty()) progress.finish(result.admm.history.back());
  const double fit_seconds = clock.lap();
  t.setup += result.factor_seconds;
  t.iterations = fit_seconds - result.factor_seconds;
  t.communication = comm.seconds_in_collectives() - comm_before;

  if (result.admm.status == Status::interrupted) {
    const std::string what = "interrupted by a signal at iteration " + std::to_string(result.admm.state.iteration);
    if (checkpoint.empty())
      throw RuntimeFailure(what + "; no result was written (use --checkpoint FILE to keep progress)");
    save(checkpoint, key, result.admm.state, history, comm);
    throw RuntimeFailure(what + "; state saved to '" + checkpoint + "': run again with --resume");
  }
  io::RunFacts facts;
  facts.settings = settings;
  facts.n_ranks = comm.size();
  facts.n_rows = layout.rows;
  facts.n_features = layout.features;
  facts.n_targets = layout.targets;
  facts.y_is_1d = layout.y_is_1d;
  facts.solve_seconds = fit_seconds;
  collectively(comm, [&] {
    if (root) io::write_result(output, result, facts);
  });
  t.write = clock.lap();

  if (verbose) print_summary(result, problem, facts, t, kind_text, output);
  if (root && result.admm.status == Status::max_iter)
    warn("stopped at --max-iter " + std::to_string(settings.max_iter) +
         " before reaching the tolerances; the result is written with status \"max_iter\"");
  if (result.admm.status == Status::diverged)
    throw RuntimeFailure("the iteration diverged (non-finite values); the result was written with status "
                         "\"diverged\" to '" + output + "'");
  return 0;
}

}  // namespace cadmm::cli
