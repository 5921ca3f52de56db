#pragma once
// Polishing, as OSQP does: take the signs of the ADMM iterate as a guess of the solution's sign pattern and
// solve the optimality conditions restricted to it exactly; a few active-set corrections (drop coordinates
// whose sign flips, add those whose gradient violates the bound) repair a guess that is nearly right. The
// result is used only when the duality gap certifies it, so a wrong guess costs a few reductions.
#include <optional>
#include <vector>

#include "cadmm/admm.hpp"
#include "core/solve/coordinate.hpp"

namespace cadmm {

/// One target's restricted system: G, the global Hessian block over the features seen so far (reduced once each)
/// with their q, and the upper Cholesky factor R of G + l2 diag(c^2) over `order`, the current pattern's features.
/// A new pattern keeps the longest prefix of `order` it still contains and refactors only the rest (the Schur
/// complement of the prefix): the features a correction, or a path's next lambda, drops or adds sit late in the
/// order (factored by decreasing |z|, the guessed ones last), so it costs about |S| times the features changed
/// instead of |S|^3/3. g and r are storage that grows by doubling: their leading blocks are meant.
struct TargetSystem {
  std::vector<Eigen::Index> seen, slot;  ///< features of G; slot[j]: j's index in seen, or -1
  Matrix g;                              ///< leading |seen| block: global H(seen, seen)
  Vector q;                              ///< global q(seen)
  std::vector<Eigen::Index> order;       ///< features of R, in factor order
  Matrix r;                              ///< leading |order| block, upper: R^T R = G(order, order) + l2 diag(c^2)
};

/// What polishing keeps from one call to the next on one model: every target's system. A call without one
/// (AdmmProblem::polish_memory unset) starts from nothing, so its result is a function of its signs and z alone;
/// with one, also of the calls before it (the same on every rank: they depend on reduced values only). A path keeps
/// one over its lambdas; one that checkpoints keeps it restartable (a resumed path has not made the earlier calls).
struct PolishMemory {
  std::vector<TargetSystem> targets;
  Eigen::Index features = 0;
  double l2_weight = 0;  ///< the l2 weight R was factored with
  /// The last point evaluate() reduced, with its global gradient, ||R||^2 / n and <R, y> / n: a path's next lambda
  /// starts where the last one ended, and none of these depends on lambda, so its first certificate costs no pass.
  struct Evaluated {
    Matrix z, grad;
    double rss = 0, ry = 0;
  };
  std::optional<Evaluated> last;
  /// The columns coordinate descent brought to this rank (src/core/solve/coordinate.hpp), kept for the next lambda.
  OwnedColumns columns;
  /// A path that checkpoints: its resume must repeat it bit for bit, so what a lambda reads of the earlier ones is only
  /// what the checkpoint holds as well. The columns stay (they are the data's); polishing keeps no factors; restart()
  /// clears the rest before each lambda.
  bool restartable = false;
  /// Before a restartable path's lambda: forgets the last point and the held residual (taken from the rows again) and
  /// sets the secant's prior (the answer two lambdas back, as the path recorded it, and its lambda's l1 weight).
  void restart(Matrix prior, double prior_l1) {
    last.reset();
    columns.held = HeldResidual{};
    columns.held_lambdas = 0;
    columns.prior = std::move(prior);
    columns.prior_l1 = prior_l1;
  }
};

/// A sign pattern's mark of a coordinate held at a nonzero bound (+kHeld: the upper one, -kHeld: the lower one).
constexpr int kHeld = 2;

/// The sign pattern of z: -1, 0, +1, and +-kHeld for a coordinate at a nonzero bound of the penalty.
Eigen::ArrayXXi sign_pattern(const PenaltySpec& pen, const Matrix& z);

/// A certified polished point.
struct Polished {
  Matrix w;
  Optimality optimality;
  int sweeps = 0;  ///< the coordinate-descent sweeps that found it (0: polishing alone)
};

/// Solves on the sign pattern `sign` (d x k: -1, 0, +1, +-kHeld; the signs of the iterate z, or a guess grown from them; z
/// orders the factorization, the largest first, so that corrections refactor little). Grouped penalties (l21, feature
/// groups) take their nonzero blocks of z instead of signs, solved by block coordinate descent and Newton's method on
/// the reduced Hessian block (polish.cpp). Collective; nullopt on every rank for too large an active set
/// (AdmmProblem::max_polish), a singular block or no point that settings.certified() accepts within a few corrections.
std::optional<Polished> polish(const AdmmProblem& problem, Eigen::ArrayXXi sign, const Matrix& z,
                               const SolverSettings& settings, Communicator& comm);

/// The warm start's polish: a path's previous solution z is usually one active-set correction away from the new
/// one, so its sign pattern, grown by the sequential strong rule (Tibshirani et al. 2012: |grad_j| >= 2 lambda -
/// lambda_prev, with grad the gradient at z; for grouped penalties the blocks whose dual norm passes that bound times
/// their weight), is polished before any iteration. Collective; as polish().
std::optional<Polished> polish_warm_start(const AdmmProblem& problem, const Matrix& z, const Matrix& grad,
                                          const SolverSettings& settings, Communicator& comm);

}  // namespace cadmm
