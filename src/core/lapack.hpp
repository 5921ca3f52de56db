#pragma once
// Thin wrappers over the few BLAS/LAPACK routines that Eigen does not route to OpenBLAS by itself: the large products
// and factors, computed by OpenBLAS or, where its kernel for this processor is the slower, by Eigen (lapack.cpp). The
// BLAS and LAPACK names below say what is computed; Eigen computes the same where use_products() chooses it.
#include <string>

#include "cadmm/types.hpp"

namespace cadmm {
class Communicator;
}

namespace cadmm::lapack {

/// G += alpha B^T B for a row-major block B (rows x d); only the upper triangle of G is updated (dsyrk).
void add_gram_upper(Matrix& g, const double* block_row_major, Eigen::Index rows, double alpha = 1.0);
/// G += B^T B for a column-major block B (rows x n, leading dimension rows); upper triangle only (dsyrk).
void add_gram_upper_cols(Matrix& g, const Matrix& block);
/// C += alpha B^T D for a row-major block B (rows x d) and a column-major D (rows x n); C is d x n (dgemm).
void add_transpose_product(Matrix& c, const double* block_row_major, Eigen::Index rows, const Matrix& d,
                           double alpha = 1.0);
/// A^T B (dgemm), for a tall A: the products over all of a rank's rows, or over a range of them (a block of rows
/// of a larger column-major matrix, read in place).
Matrix transpose_times(const Eigen::Ref<const Matrix>& a, const Eigen::Ref<const Matrix>& b);
/// Copies the upper triangle of a symmetric matrix to the lower one.
void symmetrize_from_upper(Matrix& g);
/// Eigen-decomposition of a symmetric matrix in place (upper triangle read, overwritten by the
/// eigenvectors V): a = V diag(values) V^T, via dsyevd.
void symmetric_eigen_in_place(Matrix& a, Vector& values);
/// Cholesky factorization in place (upper triangle read, overwritten by U with a = U^T U), via dpotrf; false when a
/// is not positive definite. a may be a block of a larger matrix.
bool cholesky_upper_in_place(Eigen::Ref<Matrix> a);
/// The factor of a symmetric [A11 A12; A12^T A22] from R11's: on entry a's leading keep x keep block holds the upper
/// factor R11 (R11^T R11 = A11), the block right of it A12 and the upper triangle of the trailing block A22; on exit
/// the upper triangle is the whole factor [R11 R12; 0 R22] (R12 = R11^-T A12 by dtrsm, R22 the factor of
/// A22 - R12^T R12 by dsyrk and dpotrf). a may be a block of a larger matrix; false when not positive definite.
bool extend_cholesky_upper(Eigen::Ref<Matrix> a, Eigen::Index keep);
/// The factor of a without row and column p from a's upper factor R (m x m, may be a block): on exit the leading
/// (m-1) x (m-1) block. R without row and column p is upper triangular but for the block behind p, whose Gram loses
/// row p's tail x: R33'^T R33' = R33^T R33 + x x^T, a rank-one update by rotations (stable; about 3 (m-p)^2 flops,
/// not blocked).
void remove_from_cholesky_upper(Eigen::Ref<Matrix> r, Eigen::Index p);
/// b = a^{-1} b for a's factor from cholesky_upper_in_place, via dpotrs; the factor may be a block.
void cholesky_solve(const Eigen::Ref<const Matrix>& factor, Matrix& b);
/// Sets the OpenBLAS thread count.
void set_threads(int n);
/// Which library computes the Gram and cross products and the Cholesky factors above: by default the faster for
/// this process (its processor, OpenBLAS's kernel for it and its thread count).
enum class Products { fastest, openblas, eigen };
/// Sets it (the tests run both).
void use_products(Products p);
/// Sets it alike on every rank: Eigen's where it is the faster on all of them, else OpenBLAS's. Polishing does the
/// same local work on every rank and relies on its bits being the same. Collective.
void agree_on_products(Communicator& comm);
/// Which library computes them, and OpenBLAS's kernel (for `cadmm --version`).
std::string products_library();

}  // namespace cadmm::lapack
