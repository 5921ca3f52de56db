#pragma once
/// \file Entry points: fit one lambda on prepared data, or on in-memory Eigen rows of this rank.
#include "cadmm/admm.hpp"
#include "cadmm/problem.hpp"
#include "cadmm/settings.hpp"

namespace cadmm {

/// A fitted model on the original feature scale plus how the solve went.
struct FitResult {
  Matrix coef;            ///< d x k coefficients, original scale
  Vector intercept;       ///< k intercepts (0 without intercept)
  double lambda = 0;      ///< lambda used
  double lambda_max = 0;  ///< smallest lambda with W = 0
  double l1_ratio = 1;    ///< a used
  double factor_seconds = 0;  ///< time spent factoring the local term (the rest of the fit is iterations)
  AdmmResult admm;        ///< status, residuals, objective, history, final iterate
};

/// Smallest lambda with W = 0 for the penalty settings name.
double problem_lambda_max(const PreparedProblem& problem, const Settings& settings);
/// The lambda that settings ask for (absolute, or a ratio of lambda_max).
double resolve_lambda(const PreparedProblem& problem, const Settings& settings);

/// Internal column scaling of one solve. ADMM with one scalar rho converges slowly when features'
/// curvatures differ, so the solver works on A = X_c diag(column), scaled so that loss plus ridge has unit
/// curvature per feature (Jacobi); the penalty weights make the scaled problem the same problem.
struct ColumnScaling {
  Vector column;          ///< s_j; coefficient on the original scale = s_j * scaled coefficient (0: constant)
  Vector penalty_weight;  ///< c_j of PenaltySpec on the scaled coefficients
};
/// The scaling for a ridge weight l2_weight = lambda * (1 - a).
ColumnScaling column_scaling(const PreparedProblem& problem, double l2_weight);

/// Solves at the lambda settings ask for; collective. warm may carry a previous iterate (paths).
FitResult fit(const PreparedProblem& problem, const Settings& settings, Communicator& comm,
              const AdmmObserver& observer = {}, const AdmmState* warm = nullptr);

/// Convenience for library users: this rank's rows of X (rows x d) and Y (rows x k) already in memory.
/// With SerialCommunicator it is a plain single-process solver. Collective.
FitResult fit(const Eigen::Ref<const RowMatrix>& x_local, const Eigen::Ref<const RowMatrix>& y_local,
              const Settings& settings, Communicator& comm);

}  // namespace cadmm
