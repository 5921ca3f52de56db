#include "cadmm/fit.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "cadmm/error.hpp"

namespace cadmm {

double problem_lambda_max(const PreparedProblem& problem, const Settings& settings) {
  return lambda_max(problem.q_global, settings.penalty, settings.effective_l1_ratio(), problem.penalty_scale());
}

double resolve_lambda(const PreparedProblem& problem, const Settings& settings) {
  if (settings.lambda) return *settings.lambda;
  return settings.lambda_ratio * problem_lambda_max(problem, settings);
}

ColumnScaling column_scaling(const PreparedProblem& problem, double l2_weight) {
  const Vector p = problem.penalty_scale();
  ColumnScaling s;
  s.column = Vector::Zero(problem.n_features);
  s.penalty_weight = Vector::Ones(problem.n_features);
  for (Eigen::Index j = 0; j < problem.n_features; ++j) {
    if (problem.x_curv[j] <= 0) continue;  // excluded column: zeroed, coefficient 0
    // Jacobi scaling of loss plus ridge: feature j's curvature is curv_j + l2 p_j^2 on the original scale.
    s.column[j] = 1.0 / std::sqrt(problem.x_curv[j] + l2_weight * p[j] * p[j]);
    s.penalty_weight[j] = p[j] * s.column[j];
  }
  return s;
}

FitResult fit(const PreparedProblem& problem, const Settings& settings, Communicator& comm,
              const AdmmObserver& observer, const AdmmState* warm) {
  settings.validate();
  FitResult r;
  r.l1_ratio = settings.effective_l1_ratio();
  r.lambda_max = problem_lambda_max(problem, settings);
  r.lambda = settings.lambda ? *settings.lambda : settings.lambda_ratio * r.lambda_max;

  AdmmProblem ap;
  ap.penalty = PenaltySpec::make(settings.penalty, r.lambda, r.l1_ratio);
  const ColumnScaling scaling = column_scaling(problem, ap.penalty.l2_weight);
  ap.penalty.feature_weight = scaling.penalty_weight;
  std::unique_ptr<LocalSolver> local;
  const auto t0 = std::chrono::steady_clock::now();
  // The factorization can fail on one rank only; agree before the loop's first reduction.
  collectively(comm, [&] { local = problem.block.factor(scaling.column, static_cast<double>(problem.n_rows)); });
  r.factor_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ap.local = local.get();
  ap.active_ranks = problem.active_ranks;
  // Each rank's Hessian is about 1/N of the global one, whose trace is sum_j curv_j s_j^2: start rho at the
  // mean eigenvalue of a rank's Hessian.
  const double trace = (problem.x_curv.array() * scaling.column.array().square()).sum();
  const double mean_eig = trace / (std::max(1, problem.active_ranks) * std::max<double>(1.0, problem.n_features));
  ap.rho_auto = mean_eig > 0 && std::isfinite(mean_eig) ? mean_eig : 1.0;

  r.admm = admm_solve(ap, settings, comm, warm, observer);
  r.coef = scaling.column.asDiagonal() * r.admm.state.z;
  r.intercept = problem.y_mean - r.coef.transpose() * problem.x_mean;
  return r;
}

FitResult fit(const Eigen::Ref<const RowMatrix>& x_local, const Eigen::Ref<const RowMatrix>& y_local,
              const Settings& settings, Communicator& comm) {
  settings.validate();
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
  const PreparedProblem problem = prepare(std::move(data), settings.fit_intercept, settings.standardize, comm);
  return fit(problem, settings, comm);
}

}  // namespace cadmm
