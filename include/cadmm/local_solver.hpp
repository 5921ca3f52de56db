#pragma once
/// \file The rank-local least-squares term f_i(x) = 1/(2n) ||A_i x - b_i||^2 and its factorization.
#include <cstdint>
#include <memory>
#include <vector>

#include "cadmm/types.hpp"

namespace cadmm {

/// Residual statistics of the local term at a point z, all divided by the global row count n.
struct LocalFit {
  Matrix grad;      ///< A_i^T (b_i - A_i z) / n, d x k
  double rss = 0;   ///< ||b_i - A_i z||_F^2 / n
  double ry = 0;    ///< <b_i - A_i z, b_i> / n
};

/// Owns the factorization of A_i^T A_i / n computed once; any rho is then served without refactoring,
/// because both implementations keep an eigen-decomposition instead of a Cholesky factor.
class LocalSolver {
 public:
  virtual ~LocalSolver() = default;
  /// x = (A_i^T A_i / n + rho I)^{-1} rhs (Boyd et al. (7.6) x-update), rhs and x d x k.
  virtual void solve(const Matrix& rhs, double rho, Matrix& x) const = 0;
  /// Residual statistics at z (objective, duality gap, KKT checks).
  virtual LocalFit fit_at(const Matrix& z) const = 0;
  /// The block of A_i^T A_i / n on the given features (rows and columns), for polishing.
  virtual Matrix hessian_block(const std::vector<Eigen::Index>& features) const = 0;
  /// A_i^T b_i / n, d x k.
  virtual const Matrix& q() const = 0;
  /// Number of local rows.
  virtual std::int64_t rows() const = 0;
};

/// Tall blocks (rows >= d): from H = A^T A / n (d x d, symmetric), q = A^T b / n and yy = ||b||^2 / n.
std::unique_ptr<LocalSolver> make_gram_solver(Matrix h, Matrix q, double yy, std::int64_t rows);
/// Wide blocks (rows < d, including none): from B = A / sqrt(n) and c = b / sqrt(n), by the
/// matrix-inversion lemma with the small rows x rows factor.
std::unique_ptr<LocalSolver> make_woodbury_solver(Matrix b_mat, Matrix c);

}  // namespace cadmm
