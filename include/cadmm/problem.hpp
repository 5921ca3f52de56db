#pragma once
/// \file From this rank's raw rows to the centered, scaled local term: streaming accumulation and the
/// few reductions that make means and scales global.
#include <cstdint>
#include <memory>

#include "cadmm/communicator.hpp"
#include "cadmm/local_solver.hpp"
#include "cadmm/types.hpp"

namespace cadmm {

/// Accumulates this rank's rows block by block. Tall blocks (rows >= d) keep only Gram-type sums, so
/// X is streamed through one reused buffer; wide blocks keep the rows for the matrix-inversion lemma.
class LocalDataBuilder {
 public:
  /// local_rows is the total this rank will add; it decides tall (Gram) or wide (Woodbury).
  LocalDataBuilder(std::int64_t local_rows, Eigen::Index d, Eigen::Index k);
  /// Adds the next rows (x: rows x d, y: rows x k). x may be modified (it is shifted in place).
  void add_rows(RowMatrix& x, const RowMatrix& y);
  /// True when this rank uses the Gram form.
  bool tall() const { return tall_; }
  /// Rows added so far.
  std::int64_t rows() const { return added_; }
  Eigen::Index features() const { return d_; }
  Eigen::Index targets() const { return k_; }

  /// Column sums of X (d) followed by column sums of Y (k), for the global means.
  Vector sums() const;
  /// Sum over local rows of (x_ij - mean_j)^2, for the global scales.
  Vector centered_squares(const Vector& x_mean) const;
  /// Builds the local term for A = (X - 1 x_mean^T) diag(inv_scale), b = Y - 1 y_mean^T, loss / n.
  std::unique_ptr<LocalSolver> build(const Vector& x_mean, const Vector& inv_scale, const Vector& y_mean,
                                     double n) const;

 private:
  std::int64_t expected_;
  std::int64_t added_ = 0;
  Eigen::Index d_, k_;
  bool tall_;
  // Tall: sums of the rows shifted by a per-rank guess of the mean (the first block's), which keeps the
  // later correction to the global mean free of cancellation.
  Vector x_shift_, y_shift_, x_sum_, y_sum_;
  Matrix gram_, xty_;
  double yy_ = 0;
  // Wide: the rows themselves.
  Matrix x_rows_, y_rows_;
};

/// Centering and scaling shared by all ranks: A = (X - 1 x_mean^T) diag(inv_scale), b = Y - 1 y_mean^T.
struct Transform {
  Vector x_mean;     ///< column means (zero without intercept)
  Vector x_scale;    ///< column scales (1 without standardize; 0 for constant columns)
  Vector inv_scale;  ///< 1 / x_scale, or 0 where x_scale is 0 (the coefficient is then 0)
  Vector y_mean;     ///< target means (zero without intercept)

  /// Coefficients (d x k) and intercept (k) on the original scale from a solution w of the scaled problem.
  void to_original(const Matrix& w, Matrix& coef, Vector& intercept) const;
};

/// The local term plus the global facts every rank shares after preparation.
struct PreparedProblem {
  std::unique_ptr<LocalSolver> local;  ///< this rank's term
  Transform transform;                 ///< global centering/scaling
  std::int64_t n_rows = 0;             ///< global rows
  Eigen::Index n_features = 0, n_targets = 0;
  Matrix q_global;                     ///< X^T Y / n of the scaled data (gradient of the loss at 0)
  double trace_global = 0;             ///< sum over ranks of trace(A_i^T A_i / n)
  int active_ranks = 0;                ///< ranks holding rows
  int constant_columns = 0;            ///< columns with zero variance (standardize only)
};

/// Makes means and scales global and builds the local term; collective. Throws DataError on no rows.
PreparedProblem prepare(const LocalDataBuilder& data, bool fit_intercept, bool standardize, Communicator& comm);

}  // namespace cadmm
