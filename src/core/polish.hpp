#pragma once
// Polishing, as OSQP does: take the active set and signs of the ADMM iterate as a guess and solve the
// optimality conditions restricted to them exactly. The caller accepts the result only when the duality
// gap certifies it, so a wrong guess costs one attempt and nothing else.
#include <optional>

#include "cadmm/admm.hpp"

namespace cadmm {

/// Largest active set per target that polishing handles (its block is reduced over the ranks).
constexpr Eigen::Index kMaxPolishActive = 2000;

/// The point whose nonzeros and signs are those of z and whose restricted gradient vanishes:
/// (H_SS + l2 diag(c_S^2)) w_S = q_S - l1 c_S sign(z_S) for each target. Collective; nullopt (on every rank)
/// for the grouped penalty, too large an active set, a singular block or a sign that flips.
std::optional<Matrix> polish(const AdmmProblem& problem, const Matrix& z, Communicator& comm);

}  // namespace cadmm
