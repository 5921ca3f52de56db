#pragma once
// Polishing, as OSQP does: take the signs of the ADMM iterate as a guess of the solution's sign pattern and
// solve the optimality conditions restricted to it exactly; a few active-set corrections (drop coordinates
// whose sign flips, add those whose gradient violates the bound) repair a guess that is nearly right. The
// result is used only when the duality gap certifies it, so a wrong guess costs a few reductions.
#include <optional>

#include "cadmm/admm.hpp"

namespace cadmm {

/// Largest active set per target that polishing handles (its block is reduced over the ranks).
constexpr Eigen::Index kMaxPolishActive = 2000;

/// A certified polished point.
struct Polished {
  Matrix w;
  Optimality optimality;
};

/// Solves on the sign pattern `sign` (d x k: -1, 0, +1; the signs of an iterate, or a guess). Collective;
/// nullopt on every rank when the grouped penalty, too large an active set, a singular block or no certified
/// point within a few corrections.
std::optional<Polished> polish(const AdmmProblem& problem, Eigen::ArrayXXi sign, double gap_tol, Communicator& comm);

}  // namespace cadmm
