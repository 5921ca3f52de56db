#pragma once
// Polishing, as OSQP does: take the signs of the ADMM iterate as a guess of the solution's sign pattern and
// solve the optimality conditions restricted to it exactly; a few active-set corrections (drop coordinates
// whose sign flips, add those whose gradient violates the bound) repair a guess that is nearly right. The
// result is used only when the duality gap certifies it, so a wrong guess costs a few reductions.
#include <optional>

#include "cadmm/admm.hpp"

namespace cadmm {

/// A certified polished point.
struct Polished {
  Matrix w;
  Optimality optimality;
};

/// Solves on the sign pattern `sign` (d x k: -1, 0, +1; the signs of the iterate z, or a guess grown from them; z
/// orders the factorization, the largest first, so that corrections refactor little). Collective;
/// nullopt on every rank when the grouped penalty, too large an active set (AdmmProblem::max_polish), a singular block or no point that
/// settings.certified() accepts within a few corrections.
std::optional<Polished> polish(const AdmmProblem& problem, Eigen::ArrayXXi sign, const Matrix& z,
                               const SolverSettings& settings, Communicator& comm);

/// The warm start's polish: a path's previous solution z is usually one active-set correction away from the new
/// one, so its sign pattern, grown by the sequential strong rule (Tibshirani et al. 2012: |grad_j| >= 2 lambda -
/// lambda_prev, with grad the gradient at z), is polished before any iteration. Collective; as polish().
std::optional<Polished> polish_warm_start(const AdmmProblem& problem, const Matrix& z, const Matrix& grad,
                                          const SolverSettings& settings, Communicator& comm);

}  // namespace cadmm
