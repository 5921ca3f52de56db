#pragma once
/// \file Synthetic regression data with known truth; every value is a pure function of (seed, row, column),
/// so any rank count produces the same data set.
#include <cstdint>
#include <vector>

#include "cadmm/types.hpp"

namespace cadmm {

/// Shape and distribution of a synthetic data set.
struct SyntheticSpec {
  std::int64_t rows = 0;      ///< n
  std::int64_t features = 0;  ///< d
  std::int64_t targets = 1;   ///< k
  double correlation = 0;     ///< AR(1) correlation between neighbouring features, in [0, 1)
  double noise = 1;           ///< standard deviation of the additive Gaussian noise
  double intercept = 1;       ///< added to every target
  std::uint64_t seed = 0;     ///< random seed
  std::int64_t nnz_per_row = 0;  ///< sparse X: this many nonzeros per row
  double density = 0;            ///< sparse X: fraction of nonzeros (each row floor or ceil of density * d)

  /// True when X is sparse (nnz_per_row or density given).
  bool sparse() const { return nnz_per_row > 0 || density > 0; }
};

/// True coefficients (d x k): about d/10 + 1 evenly spread features are nonzero, shared by all targets.
Matrix synthetic_truth(const SyntheticSpec& spec);

/// Rows [first, first + x.rows()) of X and Y = X W + intercept + noise, written into x (rows x d) and y.
void synthetic_rows(const SyntheticSpec& spec, const Matrix& truth, std::int64_t first, RowMatrix& x, RowMatrix& y);

/// Number of nonzeros of row `row` of a sparse spec.
std::int64_t synthetic_row_nnz(const SyntheticSpec& spec, std::int64_t row);

/// Row `row` of a sparse X: its columns (distinct, increasing) and values appended to cols and vals, AR(1)
/// correlated along the row's nonzeros; y (k values) = x W + intercept + noise. A function of (seed, row) only.
void synthetic_sparse_row(const SyntheticSpec& spec, const Matrix& truth, std::int64_t row, std::vector<std::int64_t>& cols,
                          std::vector<double>& vals, double* y);

}  // namespace cadmm
