#pragma once
/// \file Matrix types shared by the public API.
#include <Eigen/Dense>

namespace cadmm {

/// Column-major dense matrix (coefficients W are d x k).
using Matrix = Eigen::MatrixXd;
/// Dense column vector.
using Vector = Eigen::VectorXd;
/// Row-major dense matrix: the layout of a row block read from HDF5 (C order).
using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace cadmm
