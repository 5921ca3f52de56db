#pragma once
/// \file From this rank's raw rows to the centered local data: streaming accumulation and the few
/// reductions that make means and variances global.
#include <cstdint>
#include <memory>

#include "cadmm/communicator.hpp"
#include "cadmm/local_solver.hpp"
#include "cadmm/types.hpp"

namespace cadmm {

/// This rank's rows centered with the global means, unscaled: Gram sums for tall blocks, the rows for wide.
class CenteredBlock {
 public:
  /// Factors the local term for A = X_c diag(column_scale), b = Y_c, loss divided by n.
  std::unique_ptr<LocalSolver> factor(const Vector& column_scale, double n) const;
  /// X_c^T Y_c (d x k).
  Matrix xty() const;
  /// Column sums of squares of X_c (d).
  Vector column_squares() const;
  /// Local rows.
  std::int64_t rows() const { return rows_; }
  /// True when held as Gram sums (rows >= d).
  bool tall() const { return tall_; }

 private:
  friend class LocalDataBuilder;
  bool tall_ = false;
  std::int64_t rows_ = 0;
  Matrix gram_, xty_;  // tall
  double yy_ = 0;      // tall
  Matrix x_, y_;       // wide
};

/// Accumulates this rank's rows block by block. Tall blocks (rows >= d) keep only Gram-type sums, so
/// X is streamed through one reused buffer; wide blocks keep the rows for the matrix-inversion lemma.
class LocalDataBuilder {
 public:
  /// local_rows is the total this rank will add; it decides tall (Gram) or wide (Woodbury).
  LocalDataBuilder(std::int64_t local_rows, Eigen::Index d, Eigen::Index k);
  /// Adds the next rows (x: rows x d, y: rows x k). x may be modified (it is shifted in place).
  void add_rows(RowMatrix& x, const RowMatrix& y);
  /// Rows added so far.
  std::int64_t rows() const { return added_; }
  /// Number of features d.
  Eigen::Index features() const { return d_; }
  /// Number of targets k.
  Eigen::Index targets() const { return k_; }
  /// Column sums of X (d) followed by column sums of Y (k), for the global means.
  Vector sums() const;
  /// Sum over local rows of (x_ij - center_j)^2 (d), for the global variances.
  Vector squares_about(const Vector& center) const;
  /// Moves the data out, centered at the given means.
  CenteredBlock center(const Vector& x_mean, const Vector& y_mean) &&;

 private:
  std::int64_t expected_;
  std::int64_t added_ = 0;
  Eigen::Index d_, k_;
  bool tall_;
  // Tall: sums of the rows shifted by a per-rank guess of the mean (the first block's), which keeps the
  // later move to the global mean free of cancellation.
  Vector x_shift_, y_shift_, x_sum_, y_sum_;
  Matrix gram_, xty_;
  double yy_ = 0;
  // Wide: the rows themselves.
  Matrix x_rows_, y_rows_;
};

/// The centered local data plus the global facts every rank shares.
struct PreparedProblem {
  CenteredBlock block;          ///< this rank's data
  std::int64_t n_rows = 0;      ///< global rows
  Eigen::Index n_features = 0, n_targets = 0;
  Vector x_mean, y_mean;        ///< the centers used: global means, or zero without intercept
  Vector x_var;                 ///< column variances about the true mean (1/n, glmnet's); 0: constant column
  Vector x_curv;                ///< loss curvature diag(X_c^T X_c) / n; 0: column excluded (coefficient 0)
  bool standardize = false;     ///< the penalty acts on standardized coefficients (glmnet)
  Matrix q_global;              ///< X_c^T Y_c / n, the negative loss gradient at W = 0
  int active_ranks = 0;         ///< ranks holding rows
  int constant_columns = 0;     ///< excluded columns: constant with intercept or standardize, or all zero

  /// p_j: the penalized coefficient of feature j is p_j * w_j (sd_j with standardize, else 1).
  Vector penalty_scale() const;
};

/// Peak bytes one rank holds for rows x d local data with k targets: for the Gram form (rows >= d) the
/// centered Gram and its eigenvectors, d x d each; for the Woodbury form the centered rows, their scaled copy
/// and the rows x rows eigenvectors; plus the d x k iterates and Anderson history.
double local_memory_bytes(std::int64_t rows, std::int64_t d, std::int64_t k);

/// Makes means and variances global and centers the local data; collective. Throws DataError on no rows.
PreparedProblem prepare(LocalDataBuilder data, bool fit_intercept, bool standardize, Communicator& comm);

}  // namespace cadmm
