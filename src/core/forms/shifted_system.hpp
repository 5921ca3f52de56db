#pragma once
// (M + rho I)^{-1} for a symmetric positive semi-definite M and any rho, factored only when a solve first asks and
// then the cheapest way known so far (the Gram and Woodbury forms' solves).
#include <cstdint>
#include <vector>

#include "cadmm/local_solver.hpp"

namespace cadmm {

/// M, held explicitly until an eigendecomposition replaces it. A solve at a new rho factors M + rho I by Cholesky
/// (n^3/3 flops) while the Cholesky factorizations made so far cost less in all than one eigendecomposition
/// (kEigenOverCholesky of them, include/cadmm/plan.hpp), which then serves every rho: whatever the number of rho
/// changes still to come, the factorizations cost a small multiple of the cheaper choice in hindsight (the
/// ski-rental rule). Products and blocks of M cost no factorization at all. Not copyable (it is a solver's part).
class ShiftedSystem {
 public:
  explicit ShiftedSystem(Matrix m);
  ShiftedSystem(const ShiftedSystem&) = delete;
  ShiftedSystem& operator=(const ShiftedSystem&) = delete;
  /// Dimension n.
  Eigen::Index size() const { return n_; }
  /// (M + rho I)^{-1} b.
  Matrix solve(const Matrix& b, double rho) const;
  /// M z; only the columns of M on z's nonzero rows are read while M is explicit.
  Matrix times(const Matrix& z) const;
  /// M on the given rows and columns.
  Matrix block(const std::vector<Eigen::Index>& rows, const std::vector<Eigen::Index>& cols) const;
  /// The factorizations made so far.
  const FactorLog& log() const { return log_; }
  /// log() less rho's own Cholesky where it holds one (LocalSolver::resumable_factorizations).
  FactorLog resumable_log(double rho) const;
  /// Continues from a resumable_log: its count, and M decomposed where it was.
  void resume(const FactorLog& log) const;
  /// M itself, moved out (RuntimeFailure once decomposed: M is no longer held).
  Matrix release() &&;

 private:
  void to_eigen() const;
  Eigen::Index n_;
  mutable Matrix m_;        // M, or its eigenvectors V once decomposed (M = V diag(eig_) V^T)
  mutable Vector eig_;      // empty until decomposed
  mutable Matrix chol_;     // upper Cholesky factor of M + chol_rho_ I (empty: none)
  mutable double chol_rho_ = 0;
  mutable FactorLog log_;
};

}  // namespace cadmm
