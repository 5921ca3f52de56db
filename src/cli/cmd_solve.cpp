// `cadmm solve`: read this rank's rows, prepare, run ADMM, write the result (docs/spec.md sections 4-5).

#include <cstdio>
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

void print_summary(const FitResult& r, const DataModel& dm, const io::RunFacts& facts, const Phases& t,
                   const std::string& output) {
  const AdmmResult& a = r.admm;
  std::printf("\ncadmm solve: %s after %d iterations%s\n", to_string(a.status).c_str(), a.state.iteration,
              a.polished ? ", polished (exact on the sign pattern of the iterate, certified by the duality gap)" : "");
  print_problem(facts.spec, r.lambda_max, facts, dm.model.data, dm.kinds, dm.planned_bytes);
  std::printf("  lambda      %s (%s x lambda_max)\n", fmt(r.lambda).c_str(),
              fmt(r.lambda_max > 0 ? r.lambda / r.lambda_max : 0.0, "%.4g").c_str());
  std::printf("  objective   %.12e   nonzero coefficients %lld of %lld   duality gap %s\n", a.optimality.objective,
              static_cast<long long>(nonzeros(r.coef)), static_cast<long long>(r.coef.size()),
              gap_text(a.optimality.gap).c_str());
  print_largest(r.coef, facts.feature_names);
  std::printf("  residuals   primal %.3e, dual %.3e, final rho %.4g%s\n", a.r_norm, a.s_norm, a.state.rho,
              a.polished ? " (of the last ADMM iterate)" : "");
  if (a.working_set_rounds > 0)
    std::printf("  working set %d of %lld features after %d round(s) (a Gram of the set only; %s)\n",
                a.working_set, static_cast<long long>(r.coef.rows()), a.working_set_rounds,
                a.status == Status::converged ? "every feature KKT-checked" : "stopped before the features left out were checked");
  print_factors(a.factors);
  print_times(t, output);
}

}  // namespace

int run_solve(const Args& args, MpiCommunicator& comm) {
  const auto parsed = parse_fit_options("solve", args, kUsage, true, checkpoint_options(), comm);
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  const bool root = comm.rank() == 0;
  FitRequest request = fit_request_from(vm, true);
  read_feature_datasets(vm, request, comm);
  const std::string output = vm["output"].as<std::string>();
  const bool verbose = root && !vm.count("quiet");
  const CheckpointOptions ck = checkpoint_from(vm, false);
  // Fail now, not after an hour of solving, if the result cannot be written.
  check_outputs(vm, output, ck.file, comm);

  Phases t;
  const DataModel dm = load_model(vm, request, comm, t, Screen::one_fit);
  Stopwatch clock;
  const Lambdas lambda = resolve_lambdas(request.lambda, dm.model);
  const auto store = checkpoint_store(ck, run_key("solve", data_id(vm, dm.layout), request.spec, lambda.values,
                                                          lambda.lambda_max), comm);
  PrintedProgress progress(verbose, vm["progress-seconds"].as<double>(), ck.file, "solve", comm.rank());
  DriveHooks hooks{base_observer(comm.rank()), &progress, store.get()};
  const double comm_before = comm.seconds_in_collectives();
  const FitResult result = drive_solve(dm.model, lambda, request.solver, comm, hooks);
  progress.finish(result);
  const double fit_seconds = clock.lap();
  t.iterations = fit_seconds;
  t.communication = comm.seconds_in_collectives() - comm_before;
  raise_if_interrupted(result.admm, "iteration " + std::to_string(result.admm.state.iteration), ck.file);

  const io::RunFacts facts = run_facts(dm.model.data, dm.layout, comm, fit_seconds, "solve");
  collectively(comm, [&] {
    if (root) io::write_result(output, result, facts);
  });
  t.write = clock.lap();
  t.peak_bytes = peak_memory(comm);

  if (verbose) print_summary(result, dm, facts, t, output);
  if (root && result.admm.status == Status::max_iter)
    warn("stopped at --max-iter " + std::to_string(request.solver.max_iter) +
         " before reaching the tolerances; the result is written with status \"max_iter\"");
  if (result.admm.status == Status::diverged)
    throw RuntimeFailure("the iteration " + diverged_at(result.admm.state.iteration) + "; the result was written with status "
                         "\"diverged\" to '" + output + "'");
  return 0;
}

}  // namespace cadmm::cli
