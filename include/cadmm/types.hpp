#pragma once
/// \file Matrix types shared by the public API.
#include <Eigen/Dense>
#include <Eigen/SparseCore>

#include <cstdint>

namespace cadmm {

/// Column-major dense matrix (coefficients W are d x k).
using Matrix = Eigen::MatrixXd;
/// Dense column vector.
using Vector = Eigen::VectorXd;
/// Row-major dense matrix: the layout of a row block read from HDF5 (C order).
using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
/// Compressed sparse rows (CSR, docs/spec.md section 3's sparse X) with 64-bit indices.
using SparseRows = Eigen::SparseMatrix<double, Eigen::RowMajor, std::int64_t>;

}  // namespace cadmm
