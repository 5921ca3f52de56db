// `cadmm path`: a decreasing lambda sequence with warm starts over one Model (SPEC sections 4-5).
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
    "and one factorization for the whole path (as glmnet's glmnet and scikit-learn's enet_path). By default 100\n"
    "lambdas from lambda_max down to 1e-3 x lambda_max; --lambdas gives them explicitly. Writes /path/lambda,\n"
    "/path/coef, /path/intercept, /path/iterations, /path/objective, /path/duality_gap, /path/dev_ratio and\n"
    "/path/nonzero; /coef and /intercept are the last fit. 'cadmm predict --lambda-index I' applies fit I.\n\n"
    "With --checkpoint FILE a signal (Slurm's time limit, preemption) saves the finished lambdas and the exact state\n"
    "of the running solve; --resume continues as the uninterrupted path would have.\n\n"
    "Examples:\n"
    "  cadmm path --data demo.h5 --n-lambda 50 --output path.h5\n"
    "  mpirun -np 4 cadmm path --data big.h5 --penalty elasticnet --lambdas 1,0.5,0.1 --output path.h5\n\n";

void print_line(std::size_t i, const FitResult& f, double dev_ratio, double seconds, bool header) {
  if (header)
    std::printf("%6s %12s %8s %8s %18s %10s %9s %9s\n", "index", "lambda", "iter", "nonzero", "objective", "gap",
                "dev.ratio", "time");
  std::printf("%6zu %12.5e %8d %8lld %18.10e %10.2e %9.5f %8.2fs%s\n", i, f.lambda, f.admm.state.iteration,
              static_cast<long long>(nonzeros(f.coef)), f.admm.optimality.objective, f.admm.optimality.gap, dev_ratio,
              seconds, f.admm.polished && f.admm.state.iteration == 0 ? "  (warm active set)" : "");
  std::fflush(stdout);
}

}  // namespace

int run_path(const Args& args, MpiCommunicator& comm) {
  po::options_description extra("Path");
  extra.add_options()("early-stop", po::value<std::string>()->implicit_value("true")->value_name("BOOL"),
                      "end the path once the deviance ratio stops changing (glmnet's rule; default false: every "
                      "lambda is fitted)");
  extra.add(checkpoint_options());
  const auto parsed = parse_fit_options(args, kUsage, false, extra, comm);
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  const bool root = comm.rank() == 0;
  const Settings settings = settings_from(vm);
  const std::string output = vm["output"].as<std::string>();
  const bool early_stop = bool_option(vm, "early-stop", false);
  const bool verbose = root && !vm.count("quiet");
  const CheckpointOptions ck = checkpoint_from(vm);
  check_outputs(vm, output, ck.file, comm);

  Phases t;
  const DataModel dm = load_model(vm, settings, comm, t, false);
  const Model& model = dm.model;
  Stopwatch clock;
  const double lmax = lambda_max(model, settings);
  const std::vector<double> lambdas = lambda_sequence(vm, lmax);

  const io::CheckpointKey key = checkpoint_key(vm, dm.layout, settings, "path", lambdas);
  std::optional<PathResume> resume;
  if (std::optional<io::Checkpoint> c = resume_from(ck, key, comm, verbose))
    resume = PathResume{std::move(c->done), std::move(c->state), std::move(c->history)};
  // What a checkpoint needs besides the running solve's state: the finished lambdas and that solve's iterations.
  PathResult done = resume ? resume->done : PathResult{};
  std::vector<IterationRecord> current = resume ? resume->history : std::vector<IterationRecord>{};

  AdmmObserver observer = base_observer(comm.rank());
  if (!ck.file.empty()) {
    observer.progress = [&](const IterationRecord& r) { current.push_back(r); };
    observer.checkpoint_every = ck.every;
    observer.checkpoint = [&](const AdmmState& st) { io::write_checkpoint(ck.file, key, st, current, comm, &done); };
  }
  const double comm_before = comm.seconds_in_collectives();
  Stopwatch lap;
  bool header = true;
  const PathResult path = fit_path(model, lambdas, settings, early_stop, comm,
                                   [&](std::size_t i, const FitResult& f, double ratio) {
                                     if (verbose) print_line(i, f, ratio, lap.lap(), header);
                                     header = false;
                                     if (ck.file.empty() || f.admm.status == Status::interrupted) return;
                                     done.fits.push_back(f);
                                     done.dev_ratio.push_back(ratio);
                                     current.clear();
                                   },
                                   observer, resume ? &*resume : nullptr);
  const double fit_seconds = clock.lap();
  t.iterations = fit_seconds;
  t.communication = comm.seconds_in_collectives() - comm_before;
  const FitResult& last = path.fits.back();
  if (last.admm.status == Status::interrupted) {
    const std::string what = "interrupted by a signal at lambda " + std::to_string(path.fits.size()) + " of " +
                             std::to_string(lambdas.size());
    if (ck.file.empty())
      throw RuntimeFailure(what + "; no result was written (use --checkpoint FILE to keep progress)");
    io::write_checkpoint(ck.file, key, last.admm.state, current, comm, &done);
    throw RuntimeFailure(what + "; state saved to '" + ck.file + "': run again with --resume");
  }

  const io::RunFacts facts = run_facts(settings, dm.layout, comm, fit_seconds, "path");
  io::ResultExtras extras;
  extras.path = &path;
  collectively(comm, [&] {
    if (root) io::write_result(output, last, facts, extras);
  });
  t.write = clock.lap();
  t.peak_bytes = peak_memory(comm);

  int iterations = 0, not_converged = 0, active_set = 0;
  for (const FitResult& f : path.fits) {
    iterations += f.admm.state.iteration;
    not_converged += f.admm.status != Status::converged;
    active_set += f.admm.polished && f.admm.state.iteration == 0;
  }
  if (verbose) {
    std::printf("\ncadmm path: %zu of %zu lambdas fitted%s, %d ADMM iterations in all; %d solved by the warm active set "
                "alone\n",
                path.fits.size(), lambdas.size(),
                path.stopped_early ? (" (--early-stop: deviance ratio stopped changing at index " +
                                      std::to_string(path.fits.size() - 1) + ")").c_str()
                                   : "",
                iterations, active_set);
    print_problem(settings, lmax, facts, model.data, dm.kinds);
    std::printf("  lambdas     %s .. %s (%s x lambda_max)\n", fmt(lambdas.front()).c_str(), fmt(last.lambda).c_str(),
                fmt(lmax > 0 ? last.lambda / lmax : 0.0, "%.4g").c_str());
    std::printf("  last fit    objective %.12e, duality gap %.3e, %lld nonzero of %lld, deviance ratio %.5f\n",
                last.admm.optimality.objective, last.admm.optimality.gap, static_cast<long long>(nonzeros(last.coef)),
                static_cast<long long>(last.coef.size()), path.dev_ratio.back());
    if (model.working_sets)  // --local-solver screened or streamed: no single factorization
      std::printf("  data passes 1, then the working sets' Grams per lambda (streamed: one more read per batch of "
                  "features)\n");
    else
      std::printf("  data passes 1 (one read, one factorization for every lambda)\n");
    print_times(t);
    std::printf("  output      %s\n", output.c_str());
    std::fflush(stdout);
  }
  if (root && not_converged > 0)
    warn(std::to_string(not_converged) + " lambda(s) stopped at --max-iter " + std::to_string(settings.max_iter) +
         " before reaching the tolerances (see /path/converged)");
  if (last.admm.status == Status::diverged)
    throw RuntimeFailure("the iteration " + diverged_at(last.admm.state.iteration) + " of lambda " + fmt(last.lambda) +
                         "; the fits so far were written to '" + output + "'");
  return 0;
}

}  // namespace cadmm::cli
