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
  AdmmResult admm;        ///< status, residuals, objective, history, final iterate
};

/// The lambda that settings ask for (absolute, or a ratio of lambda_max).
double resolve_lambda(const PreparedProblem& problem, const Settings& settings);

/// Solves at the lambda settings ask for; collective. warm may carry a previous iterate (paths).
FitResult fit(const PreparedProblem& problem, const Settings& settings, Communicator& comm,
              const AdmmObserver& observer = {}, const AdmmState* warm = nullptr);

/// Convenience for library users: this rank's rows of X (rows x d) and Y (rows x k) already in memory.
/// With SerialCommunicator it is a plain single-process solver. Collective.
FitResult fit(const Eigen::Ref<const RowMatrix>& x_local, const Eigen::Ref<const RowMatrix>& y_local,
              const Settings& settings, Communicator& comm);

}  // namespace cadmm
