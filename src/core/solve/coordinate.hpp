#pragma once
// Coordinate descent over features spread across the ranks, for sparse rows (the cg form): glmnet's method where a
// pattern is too large to polish. Each rank owns the features j with j mod P = its rank, and holds their columns
// over every rank's rows (an all-to-all of the entries, once per feature a path's strong sets bring); the residual
// is held by every rank. A sweep runs on every rank over its own features at once; the ranks' moves are then summed
// and taken whole or averaged, whichever lowers the objective more (the average always does: it is a convex
// combination of moves that each lower it), so the descent is monotone at any rank count and is plain cyclic
// coordinate descent on one rank. Every point it returns is certified by the full problem's duality gap.
#include <cstdint>
#include <optional>
#include <vector>

#include "cadmm/admm.hpp"

namespace cadmm {

struct Polished;

/// The residual r = b - A z that coordinate descent holds at z, as r~ + v o^T (every rank holds all of it alike).
struct HeldResidual {
  Matrix z;      ///< d x k
  RowMatrix rt;  ///< n x k, r~
  Vector o, vr;  ///< k each: o and v^T r
};

/// The columns a rank owns, over the global rows, kept across a path's lambdas (PolishMemory::columns): the
/// features fetched so far (owned by some rank) and this rank's own, with what a coordinate step reads of each.
struct OwnedColumns {
  bool ready = false;            ///< rows counted (and, where the residual fits, v and the columns gathered)
  std::int64_t n = 0;            ///< global rows
  std::int64_t first_row = 0;    ///< this rank's first row in the global order
  Vector v;                      ///< the centring direction over every row (A_j = a_j - m_j v)
  double vv = 0;                 ///< v^T v
  std::vector<Eigen::Index> feature;  ///< owned features, ascending
  std::vector<std::int64_t> slot;     ///< per feature: its index in `feature`, or -1
  std::vector<std::int64_t> start{0};
  std::vector<std::int32_t> row;  ///< global rows of the owned columns' entries
  std::vector<double> value;
  std::vector<double> offset, av, cv, h;  ///< m_j, a_j^T v, A_j^T v and ||A_j||^2 per owned feature
  Matrix prior;                  ///< the last call's warm start (a path's answer two lambdas back), or empty
  double prior_l1 = 0;           ///< its lambda's l1 weight
  /// The residual at the last certified answer, for the next lambda to start from (and certify with) without a pass
  /// over the rows; taken from the rows again every kHeldLambdas lambdas, so that its rounding cannot build up.
  HeldResidual held;
  int held_lambdas = 0;          ///< lambdas certified from `held` since it was last taken from the rows
};

/// From the warm start z (with its global gradient grad), coordinate descent on the strong set (z's support and the
/// features the sequential strong rule admits), grown by the KKT violators of the full gradient until the duality
/// gap certifies the point. Collective; nullopt on every rank when the problem gives no sparse columns
/// (AdmmProblem::columns unset), has feature groups, the residual would not fit (n k > kMaxCoordinateResidual) or no
/// certified point came within its sweeps. columns: kept from an earlier call (a path's), or null. observer's
/// stop_requested is summed with every sweep's moves: a stop sets *stopped (on every rank) and returns nullopt.
std::optional<Polished> coordinate_descent(const AdmmProblem& problem, const Matrix& z, const Matrix& grad,
                                           const SolverSettings& settings, Communicator& comm, OwnedColumns* columns,
                                           const AdmmObserver& observer, bool* stopped);

/// coordinate_descent from z as a fit's start (admm_solve's certified start, working_set_solve's bounded one), with
/// the columns a path keeps in its polish memory: true when it certified, its point then in z and its certificate and
/// sweeps in res; false otherwise (*stopped set when a signal stopped it).
bool descend_from(const AdmmProblem& problem, Matrix& z, const Matrix& grad, const SolverSettings& settings,
                  Communicator& comm, const AdmmObserver& observer, AdmmResult& res, bool* stopped);

}  // namespace cadmm
