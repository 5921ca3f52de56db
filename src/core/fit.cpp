#include "cadmm/fit.hpp"

#include <algorithm>
#include <cmath>

#include "cadmm/error.hpp"

namespace cadmm {

double resolve_lambda(const PreparedProblem& problem, const Settings& settings) {
  if (settings.lambda) return *settings.lambda;
  return settings.lambda_ratio * lambda_max(problem.q_global, settings.penalty, settings.effective_l1_ratio());
}

FitResult fit(const PreparedProblem& problem, const Settings& settings, Communicator& comm,
              const AdmmObserver& observer, const AdmmState* warm) {
  settings.validate();
  FitResult r;
  r.l1_ratio = settings.effective_l1_ratio();
  r.lambda_max = lambda_max(problem.q_global, settings.penalty, r.l1_ratio);
  r.lambda = resolve_lambda(problem, settings);

  AdmmProblem ap;
  ap.local = problem.local.get();
  ap.penalty = PenaltySpec::make(settings.penalty, r.lambda, r.l1_ratio);
  ap.active_ranks = problem.active_ranks;
  // Each rank's Hessian is about 1/N of the global one; start rho at its mean eigenvalue.
  const double mean_eig = problem.trace_global /
                          (std::max(1, problem.active_ranks) * std::max<double>(1.0, problem.n_features));
  ap.rho_auto = mean_eig > 0 && std::isfinite(mean_eig) ? mean_eig : 1.0;

  r.admm = admm_solve(ap, settings, comm, warm, observer);
  problem.transform.to_original(r.admm.state.z, r.coef, r.intercept);
  return r;
}

FitResult fit(const Eigen::Ref<const RowMatrix>& x_local, const Eigen::Ref<const RowMatrix>& y_local,
              const Settings& settings, Communicator& comm) {
  settings.validate();
  PreparedProblem problem;
  collectively(comm, [&] {
    if (x_local.rows() != y_local.rows())
      throw DataError("X has " + std::to_string(x_local.rows()) + " rows but Y has " +
                      std::to_string(y_local.rows()));
    if (!x_local.allFinite() || !y_local.allFinite()) throw DataError("X or Y contains NaN or Inf");
  });
  LocalDataBuilder data(x_local.rows(), x_local.cols(), y_local.cols());
  // Stream through a bounded buffer, as the file reader does, so the Gram form never copies all of X.
  const Eigen::Index block = std::max<Eigen::Index>(1, (1 << 20) / std::max<Eigen::Index>(1, x_local.cols()));
  for (Eigen::Index r0 = 0; r0 < x_local.rows(); r0 += block) {
    const Eigen::Index m = std::min(block, x_local.rows() - r0);
    RowMatrix xb = x_local.middleRows(r0, m);
    RowMatrix yb = y_local.middleRows(r0, m);
    data.add_rows(xb, yb);
  }
  problem = prepare(data, settings.fit_intercept, settings.standardize, comm);
  return fit(problem, settings, comm);
}

}  // namespace cadmm
