// `cadmm path`: a decreasing lambda sequence with warm starts over one Model (docs/spec.md sections 4-5).
#include <cmath>
#include <cstdio>
#include <iostream>

#include "cadmm/error.hpp"
#include "cadmm/path.hpp"
#include "cli/commands.hpp"
#include "cli/fitting.hpp"
#include "cli/report.hpp"

namespace cadmm::cli {

namespace {

const char* kUsage =
    "Usage: [mpirun -np P] cadmm path --data FILE [options]\n\n"
    "Fits a decreasing sequence of lambdas, each warm-started from the previous one, with one pass over the data\n"
    "for the whole path (as glmnet's glmnet and scikit-learn's enet_path); nothing is factored unless an ADMM\n"
    "iteration needs it (the summary's 'factor' line says what ran). By default 100\n"
    "lambdas from lambda_max down to 1e-3 x lambda_max; --lambdas gives them explicitly. Writes /path/lambda,\n"
    "/path/coef, /path/intercept, /path/iterations, /path/objective, /path/duality_gap, /path/dev_ratio and\n"
    "/path/nonzero; /coef and /intercept are the last fit. 'cadmm predict --lambda-index I' applies fit I.\n"
    "With --relax (glmnet's relax = TRUE) each fit also gets its relaxed fit, least squares without penalty on the\n"
    "features it keeps, in /path/relaxed/coef and /path/relaxed/intercept; 'cadmm predict --lambda-index I --gamma G'\n"
    "applies G fit + (1 - G) relaxed.\n\n"
    "With --checkpoint FILE a signal (Slurm's time limit, preemption) saves the finished lambdas and the exact state\n"
    "of the running solve; --resume continues as the uninterrupted path would have.\n\n"
    "Examples:\n"
    "  cadmm path --data demo.h5 --n-lambda 50 --output path.h5\n"
    "  mpirun -np 4 cadmm path --data big.h5 --penalty elasticnet --lambdas 1,0.5,0.1 --output path.h5\n\n";

// A deviance ratio as printed to 5 decimals: one that rounds to zero prints 0.00000, not -0.00000 (the null fit's
// rounding).
double shown_ratio(double r) { return std::abs(r) < 5e-6 ? 0.0 : r; }

// Progress of a path: one line per lambda (and a resume, as solve prints it).
class PathLines final : public PrintedProgress {
 public:
  PathLines(bool verbose, double progress_seconds, std::string checkpoint, int rank)
      : PrintedProgress(verbose, progress_seconds, std::move(checkpoint), "path", rank), beat_(verbose, progress_seconds) {}
  void resumed(const Resume* from) override {
    PrintedProgress::resumed(from);
    if (from) running_ = from->done.fits.size();
  }
  // Inside a lambda that runs longer than --progress-seconds: where its solve is, at most that often.
  void iteration(const IterationRecord& r) override {
    if (!beat_.due()) return;
    header();
    std::printf("%6zu %12s  running: %s, %.1fs\n", running_, "", solve_state(r).c_str(), r.seconds);
    std::fflush(stdout);
  }
  void lambda_done(std::size_t i, const FitResult& f, double dev_ratio) override {
    running_ = i + 1;
    beat_.reset();
    if (!verbose_) return;
    header();
    if (f.admm.status == Status::interrupted) {  // its point is where it would have started: no fit to show
      std::printf("%6zu %12.5e %8d %8s %18s %10s %9s %8.2fs  (interrupted: not finished)\n", i, f.lambda,
                  f.admm.state.iteration, "-", "-", "-", "-", lap_.lap());
      std::fflush(stdout);
      return;
    }
    std::printf("%6zu %12.5e %8d %8lld %18.10e %10.2e %9.5f %8.2fs%s\n", i, f.lambda, f.admm.state.iteration,
                static_cast<long long>(nonzeros(f.coef)), f.admm.optimality.objective, f.admm.optimality.gap,
                shown_ratio(dev_ratio),
                lap_.lap(), f.admm.status == Status::diverged ? "  (diverged)"
                : f.admm.descended ? "  (coordinate descent)"
                : f.admm.polished && f.admm.state.iteration == 0 ? "  (warm active set)" : "");
    std::fflush(stdout);
  }

 private:
  void header() {
    if (header_)
      std::printf("%6s %12s %8s %8s %18s %10s %9s %9s\n", "index", "lambda", "iter", "nonzero", "objective", "gap",
                  "dev.ratio", "time");
    header_ = false;
  }
  bool header_ = true;
  Stopwatch lap_;
  Heartbeat beat_;
  std::size_t running_ = 0;  // the lambda being fitted
};

void print_summary(const PathResult& path, std::size_t asked, const DataModel& dm, const ProblemSpec& spec,
                   double lmax, const io::RunFacts& facts, const Phases& t, const std::string& output) {
  int iterations = 0, active_set = 0, descended = 0;
  for (const FitResult& f : path.fits) {
    iterations += f.admm.state.iteration;
    active_set += f.admm.polished && f.admm.state.iteration == 0;
    descended += f.admm.descended;
  }
  const FitResult& last = path.fits.back();
  std::printf("\ncadmm path: %zu of %zu lambda%s fitted%s, %d ADMM iterations in all; %d solved by the warm active set "
              "alone%s\n",
              path.fits.size(), asked, asked == 1 ? "" : "s",
              path.stopped_early ? (" (--early-stop: deviance ratio stopped changing at index " +
                                    std::to_string(path.fits.size() - 1) + ")").c_str()
                                 : "",
              iterations, active_set,
              descended ? (", " + std::to_string(descended) + " of them by coordinate descent").c_str() : "");
  print_problem(spec, lmax, facts, dm.model.data, dm.kinds, dm.planned_bytes);
  std::printf("  lambdas     %s .. %s (%s x lambda_max)%s\n", fmt(path.fits.front().lambda).c_str(),
              fmt(last.lambda).c_str(), fmt(lmax > 0 ? last.lambda / lmax : 0.0, "%.4g").c_str(),
              path.side_by_side ? "; side by side, each rank fitting every P-th alone over all the rows" : "");
  std::printf("  last fit    objective %.12e, %lld nonzero of %lld, deviance ratio %.5f, duality gap %s\n",
              last.admm.optimality.objective, static_cast<long long>(nonzeros(last.coef)),
              static_cast<long long>(last.coef.size()), shown_ratio(path.dev_ratio.back()), gap_text(last.admm.optimality.gap).c_str());
  print_largest(last.coef, facts.feature_names);
  if (dm.model.working_sets)  // screened or streamed: no single factorization
    std::printf("  data passes 1, then the Hessian's columns of the features that enter, once each%s\n",
                dm.kinds.find("streamed") != std::string::npos ? " (streamed: one more read per batch of them)" : "");
  else
    std::printf("  data passes 1 (one read for every lambda)\n");
  if (!path.relaxed.empty()) {
    std::size_t sets = 1;
    for (std::size_t i = 1; i < path.relaxed.size(); ++i) sets += path.relaxed[i].coef != path.relaxed[i - 1].coef;
    std::printf("  relaxed     %zu distinct refits on the kept features (/path/relaxed; predict --gamma G blends)\n",
                sets);
  }
  print_factors(path.factors);
  print_times(t, output);
}

}  // namespace

int run_path(const Args& args, MpiCommunicator& comm) {
  po::options_description extra("Path");
  extra.add_options()("early-stop", boolean(),
                      "end the path once the deviance ratio stops changing (glmnet's rule; default false: every "
                      "lambda is fitted)");
  extra.add(checkpoint_options());
  extra.add(relax_options(false));
  const auto parsed = parse_fit_options("path", args, kUsage, false, extra, comm);
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  const bool root = comm.rank() == 0;
  FitRequest request = fit_request_from(vm, false);
  read_feature_datasets(vm, request, comm);
  const std::string output = vm["output"].as<std::string>();
  const bool early_stop = bool_option(vm, "early-stop", false);
  const bool relax = relax_from(vm, request.spec);
  const bool verbose = root && !vm.count("quiet");
  const CheckpointOptions ck = checkpoint_from(vm, working_sets_serve(request));
  check_outputs(vm, output, ck.file, comm);

  Phases t;
  const DataModel dm = load_model(vm, request, comm, t, Screen::path);
  Stopwatch clock;
  const Lambdas lambdas = resolve_lambdas(request.lambda, dm.model);
  const auto store = checkpoint_store(ck, run_key("path", data_id(vm, dm.layout), request.spec, lambdas.values,
                                                          lambdas.lambda_max), comm);
  PathLines progress(verbose, vm["progress-seconds"].as<double>(), ck.file, comm.rank());
  const double comm_before = comm.seconds_in_collectives();
  PathResult path =
      drive_path(dm.model, lambdas, request.solver, early_stop, comm, {base_observer(comm.rank()), &progress, store.get()},
                 dm.gathers_rows);
  const double fit_seconds = clock.lap();
  t.iterations = fit_seconds;
  t.communication = comm.seconds_in_collectives() - comm_before;
  const FitResult& last = path.fits.back();
  raise_if_interrupted(last.admm, "lambda " + std::to_string(path.fits.size()) + " of " +
                       std::to_string(lambdas.values.size()), ck.file);
  if (relax) {
    path.relaxed = relaxed_fits(dm.model, path.fits, comm);
    t.iterations += clock.lap();
  }

  const io::RunFacts facts = run_facts(dm.model.data, dm.layout, comm, fit_seconds, "path");
  io::ResultExtras extras;
  extras.path = &path;
  collectively(comm, [&] {
    if (root) io::write_result(output, last, facts, extras);
  });
  t.write = clock.lap();
  t.peak_bytes = peak_memory(comm);
  if (verbose) print_summary(path, lambdas.values.size(), dm, request.spec, lambdas.lambda_max, facts, t, output);
  int not_converged = 0;  // a diverged lambda ends the path and is reported below
  for (const FitResult& f : path.fits) not_converged += f.admm.status == Status::max_iter;
  if (root && not_converged > 0)
    warn(std::to_string(not_converged) + " lambda(s) stopped at --max-iter " + std::to_string(request.solver.max_iter) +
         " before reaching the tolerances (see /path/converged)");
  if (last.admm.status == Status::diverged)
    throw RuntimeFailure("the iteration " + diverged_at(last.admm.state.iteration) + " of lambda " + fmt(last.lambda) +
                         "; the fits so far were written to '" + output + "'");
  return 0;
}

}  // namespace cadmm::cli
