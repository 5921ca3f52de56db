#pragma once
// Thin wrappers over the few BLAS/LAPACK routines that Eigen does not route to OpenBLAS by itself.
#include "cadmm/types.hpp"

namespace cadmm::lapack {

/// G += B^T B for a row-major block B (rows x d); only the upper triangle of G is updated (dsyrk).
void add_gram_upper(Matrix& g, const double* block_row_major, Eigen::Index rows);
/// Copies the upper triangle of a symmetric matrix to the lower one.
void symmetrize_from_upper(Matrix& g);
/// Eigen-decomposition of a symmetric matrix (upper triangle read): a = V diag(values) V^T, via dsyevd.
void symmetric_eigen(const Matrix& a, Vector& values, Matrix& vectors);
/// Sets the OpenBLAS thread count.
void set_threads(int n);

}  // namespace cadmm::lapack
