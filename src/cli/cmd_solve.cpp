// `cadmm solve`: read this rank's rows, prepare, run ADMM, write the result (SPEC sections 4-5).
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cadmm/error.hpp"
#include "cadmm/fit.hpp"
#include "cadmm/partition.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/report.hpp"
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

// Distinct phases of the run, for the summary.
struct Phases {
  double read = 0, setup = 0, iterations = 0, communication = 0, write = 0;
};

void print_summary(const FitResult& r, const PreparedProblem& p, const io::RunFacts& facts, const Phases& t,
                   const std::string& kinds, const std::string& output) {
  const AdmmResult& a = r.admm;
  const Eigen::Index nnz = (r.coef.array() != 0).count();
  std::printf("\ncadmm solve: %s after %d iterations\n", to_string(a.status).c_str(), a.state.iteration);
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
  std::printf("  residuals   primal %.3e, dual %.3e, final rho %.4g\n", a.r_norm, a.s_norm, a.state.rho);
  std::printf("  time        read %.3fs | setup/factor %.3fs | iterations %.3fs (communication %.3fs) | write %.3fs\n",
              t.read, t.setup, t.iterations, t.communication, t.write);
  std::printf("  output      %s\n", output.c_str());
  std::fflush(stdout);
}

}  // namespace

int run_solve(const Args& args, MpiCommunicator& comm) {
  po::options_description out("Output");
  out.add_options()("output,o", po::value<std::string>()->default_value("result.h5")->value_name("FILE"),
                    "result file (written to a temporary name, then renamed)");
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

  // Fail now, not after an hour of solving, if the result cannot be written.
  collectively(comm, [&] {
    if (root) io::check_output_path(output, "--output", {data_file});
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

  ProgressPrinter progress(verbose, vm["progress-seconds"].as<double>());
  AdmmObserver observer;
  observer.progress = [&](const IterationRecord& r) { progress(r); };
  observer.stop_requested = interrupt_requested;
  const double comm_before = comm.seconds_in_collectives();
  const FitResult result = fit(problem, settings, comm, observer);
  if (!result.admm.history.empty()) progress.finish(result.admm.history.back());
  const double fit_seconds = clock.lap();
  t.setup += result.factor_seconds;
  t.iterations = fit_seconds - result.factor_seconds;
  t.communication = comm.seconds_in_collectives() - comm_before;

  if (result.admm.status == Status::interrupted)
    throw RuntimeFailure("interrupted by a signal at iteration " + std::to_string(result.admm.state.iteration) +
                         "; no result was written");
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
