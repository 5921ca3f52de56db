#pragma once
// Thin wrappers over the few BLAS/LAPACK routines that Eigen does not route to OpenBLAS by itself.
#include "cadmm/types.hpp"

namespace cadmm::lapack {

/// G += B^T B for a row-major block B (rows x d); only the upper triangle of G is updated (dsyrk).
void add_gram_upper(Matrix& g, const double* block_row_major, Eigen::Index rows);
/// G += B^T B for a column-major block B (rows x n, leading dimension rows); upper triangle only (dsyrk).
void add_gram_upper_cols(Matrix& g, const Matrix& block);
/// C += B^T D for a row-major block B (rows x d) and a column-major D (rows x n); C is d x n (dgemm).
void add_transpose_product(Matrix& c, const double* block_row_major, Eigen::Index rows, const Matrix& d);
/// A^T B (dgemm), for a tall A: the products over all of a rank's rows.
Matrix transpose_times(const Matrix& a, const Matrix& b);
/// Copies the upper triangle of a symmetric matrix to the lower one.
void symmetrize_from_upper(Matrix& g);
/// Eigen-decomposition of a symmetric matrix in place (upper triangle read, overwritten by the
/// eigenvectors V): a = V diag(values) V^T, via dsyevd.
void symmetric_eigen_in_place(Matrix& a, Vector& values);
/// Cholesky factorization in place (upper triangle read, overwritten by U with a = U^T U), via dpotrf; false when a
/// is not positive definite.
bool cholesky_upper_in_place(Matrix& a);
/// b = a^{-1} b for a's factor from cholesky_upper_in_place, via dpotrs.
void cholesky_solve(const Matrix& factor, Matrix& b);
/// Sets the OpenBLAS thread count.
void set_threads(int n);

}  // namespace cadmm::lapack
