// Global means, variances and the centered local block (include/cadmm/problem.hpp).
#include <cmath>

#include "cadmm/error.hpp"
#include "cadmm/problem.hpp"

namespace cadmm {

Vector PreparedProblem::penalty_scale() const {
  Vector p = Vector::Ones(n_features);
  if (spec.standardize)
    for (Eigen::Index j = 0; j < n_features; ++j)
      if (x_var[j] > 0) p[j] = std::sqrt(x_var[j]);
  return p;
}

double local_memory_bytes(LocalForm form, std::int64_t rows, std::int64_t d, std::int64_t k, std::int64_t nnz,
                          int pieces) {
  const double m = static_cast<double>(rows), dd = static_cast<double>(d), kk = static_cast<double>(k);
  const double iterates = 30 * dd * kk;  // x, z, u, their copies and 2 x 10 Anderson columns
  switch (form) {
    case LocalForm::gram: {
      // Folds: one Gram per piece, their total and a training sum besides the centered copy and its factor.
      const double grams = pieces > 1 ? pieces + 4.0 : 2.0;
      return 8 * (grams * dd * dd + iterates);
    }
    case LocalForm::woodbury: return 8 * (3 * m * dd + m * m + 2 * m * kk + iterates);
    // The rows (centered and scaled in place), and a working set's Gram and eigenvectors: at most d x d each.
    case LocalForm::screened: return 8 * (m * dd + 2 * dd * dd + 2 * m * kk + iterates);
    // Sums only, and the columns A^T A_S of the features fetched (at most d x d) with a working set's factor.
    case LocalForm::streamed: return 8 * (3 * dd * dd + iterates);
    case LocalForm::cg: return 2 * 16.0 * static_cast<double>(nnz) + 8 * (3 * m * kk + iterates);
  }
  return 0;
}

LocalCost local_cost(LocalForm form, std::int64_t rows, std::int64_t d, std::int64_t k, std::int64_t nnz, bool sparse) {
  const double m = static_cast<double>(rows), dd = static_cast<double>(d), kk = static_cast<double>(k),
               z = static_cast<double>(nnz);
  LocalCost c;
  switch (form) {
    case LocalForm::gram:  // dsyrk (or pairs of a row's nonzeros), then dsyevd with vectors (about 4 d^3)
      c.setup_flops = (sparse ? (m > 0 ? z * z / m : 0) : m * dd * dd) + 4 * dd * dd * dd;
      c.iteration_flops = 4 * dd * dd * kk;
      break;
    case LocalForm::woodbury:  // B B^T and its eigen-decomposition; two products with B per x-update
      c.setup_flops = m * m * dd + 4 * m * m * m;
      c.iteration_flops = 4 * m * dd * kk + 4 * m * m * kk;
      break;
    case LocalForm::screened:  // per working-set round: the Gram of the set, and one pass for the full gradient;
      // the figures are the worst case, a set grown to every feature
      c.setup_flops = m * dd * dd + 4 * dd * dd * dd;
      c.iteration_flops = 4 * dd * dd * kk;
      break;
    case LocalForm::streamed:  // per feature fetched: a pass of rows d flops; worst case every feature
      c.setup_flops = m * dd * dd + 4 * dd * dd * dd;
      c.iteration_flops = 4 * dd * dd * kk;
      break;
    case LocalForm::cg:  // one product with X and one with X^T per CG step
      c.setup_flops = 2 * z;
      c.iteration_flops = (4 * z + 8 * dd) * kk;
      break;
  }
  return c;
}

PreparedProblem prepare(RowSums data, const ProblemSpec& spec, Communicator& comm) {
  const bool fit_intercept = spec.fit_intercept, standardize = spec.standardize;
  const Eigen::Index d = data.features(), k = data.targets();
  PreparedProblem p;
  p.n_features = d;
  p.n_targets = k;
  p.spec = spec;

  // Reduction 1: row count, ranks with rows, column sums.
  Vector buf(d + k + 2);
  buf.head(d + k) = data.sums();
  buf[d + k] = static_cast<double>(data.rows());
  buf[d + k + 1] = data.rows() > 0 ? 1.0 : 0.0;
  comm.sum(buf.data(), static_cast<std::size_t>(buf.size()));
  p.n_rows = static_cast<std::int64_t>(buf[d + k]);
  p.active_ranks = static_cast<int>(buf[d + k + 1]);
  if (p.n_rows == 0) throw DataError("the data set has no rows");
  const double n = static_cast<double>(p.n_rows);
  const Vector mean = buf.head(d) / n;
  p.x_mean = fit_intercept ? mean : Vector::Zero(d);
  p.y_mean = fit_intercept ? Vector(buf.segment(d, k) / n) : Vector::Zero(k);

  // glmnet scales by the standard deviation about the true mean even without an intercept.
  const Vector squares = data.squares_about(mean);
  p.block = std::move(data).center(p.x_mean, p.y_mean);

  // Reduction 2: squares about the mean, the loss curvature diag(X_c^T X_c), X_c^T Y_c and ||Y_c||^2.
  Vector g(2 * d + d * k + 1);
  g.head(d) = squares;
  g.segment(d, d) = p.block.column_squares();
  const Matrix xty = p.block.xty();
  std::copy(xty.data(), xty.data() + d * k, g.data() + 2 * d);
  g[2 * d + d * k] = p.block.y_squares();
  comm.sum(g.data(), static_cast<std::size_t>(g.size()));
  // Finite values whose squares overflow would make every later step (the factorization first) fail or quietly
  // drop the column. The sums are reduced, so every rank finds the same thing and throws alike.
  for (Eigen::Index j = 0; j < d; ++j)
    if (!std::isfinite(buf[j]) || !std::isfinite(g[j]) || !std::isfinite(g[d + j]))
      throw DataError("column " + std::to_string(j) + " of X (0-based) holds values too large for double precision "
                      "arithmetic (its sum of squares overflows); rescale X");
  if (!buf.segment(d, k).allFinite() || !g.tail(d * k + 1).allFinite())
    throw DataError("y (or X^T y) holds values too large for double precision arithmetic (its sum of squares "
                    "overflows); rescale the data");
  p.x_var = g.head(d) / n;
  p.x_curv = g.segment(d, d) / n;
  p.q_global = Eigen::Map<Matrix>(g.data() + 2 * d, d, k) / n;
  p.y_ss = g[2 * d + d * k] / n;
  for (Eigen::Index j = 0; j < d; ++j) {
    // A constant column centers to rounding noise; treat it as exactly constant instead of amplifying noise.
    const bool constant = p.x_var[j] <= 0 || std::sqrt(p.x_var[j]) <= 1e-10 * std::abs(mean[j]);
    if (constant) p.x_var[j] = 0;
    // Without intercept or standardization a constant column is an ordinary feature (it acts as an offset).
    if ((constant && (fit_intercept || standardize)) || p.x_curv[j] <= 0) {
      p.x_curv[j] = 0;
      p.q_global.row(j).setZero();
      ++p.constant_columns;
    }
  }
  return p;
}

}  // namespace cadmm
