#pragma once
// What the screened and streamed solvers share (src/core/forms/screened.cpp, streamed.cpp): glmnet's covariance mode.
#include <memory>
#include <optional>
#include <vector>

#include "cadmm/local_solver.hpp"

namespace cadmm {

// The forms that form Hessian columns of feature subsets on demand. C = A^T A_F (d x |F|) is kept for the features F
// asked for so far, each fetched once (the forms differ only in where the rows come from: held in memory, or read
// again): the block of any features of F is a slice of C, and the gradient at a z supported on F is q - C z_F, d |F|
// flops instead of a pass over the rows. A path's features enter a few at a time, so its lambdas cost one product
// with the rows per batch of entering features, as glmnet's covariance mode does. A solve on every feature (ridge,
// or a working set grown to all) fetches the full Gram once, on first use, and is then the plain Gram form.
//
// A form that holds its rows can also answer without the columns, as a rent against their price: a gradient by a pass
// over the rows (two products with a vector, bound by memory) and a block by the rows' products over its features
// alone. One solve of a few rounds is then served as cheaply as before; a path, whose lambdas each need a gradient,
// pays passes until they would have bought the missing columns (kPassInColumns each), and from then on fetches
// (ski rental: at most twice the cheaper choice in hindsight). The decision uses global facts only (the support, the
// features asked for), so every rank takes it alike.
class SubsetGramSolver : public LocalSolver {
 public:
  void solve(const Matrix& rhs, double rho, Matrix& x, double tol) const final;
  LocalFit fit_at(const Matrix& z) const final;
  Matrix hessian_block(const std::vector<Eigen::Index>& features) const final;
  Matrix hessian_columns(const std::vector<Eigen::Index>& rows, const std::vector<Eigen::Index>& cols) const final;
  FactorLog resumable_factorizations(double rho) const final;
  void resume_factorizations(const FactorLog& log) const final;
  std::vector<double> columns_log() const final;
  void replay_columns(const std::vector<double>& log) const final;
  const Matrix& q() const final { return q_; }
  double b_squares() const final { return yy_; }
  std::int64_t rows() const final { return rows_; }

 protected:
  /// From q = A^T b / n, ||b||^2 / n and the rank's row count.
  SubsetGramSolver(Matrix q, double yy, std::int64_t rows);
  /// A^T A_M (d x |M|, columns in the order of `missing`), one product with the rows. `missing` holds no feature
  /// kept yet; when it is every feature, the full Gram (the symmetric product, half the flops).
  virtual Matrix fetch(const std::vector<Eigen::Index>& missing) const = 0;
  /// The gradient at z by a pass over the rows (forms that hold them); nullopt: no such pass (the columns are fetched).
  virtual std::optional<LocalFit> fit_by_pass(const Matrix& /*z*/) const { return std::nullopt; }
  /// The Hessian block of `features` from the rows' products over them alone; empty: no such product.
  virtual Matrix block_by_rows(const std::vector<Eigen::Index>& /*features*/) const { return {}; }
  /// Keeps columns known already (the streamed form's first set, summed with the rest of the sums).
  void keep(const std::vector<Eigen::Index>& features, const Matrix& columns) const;

 private:
  /// What one gradient pass over the rows costs, in fetched columns: a column is 2 rows d flops of a matrix product
  /// (about 35 GFLOP/s a rank here), a pass reads rows d doubles twice (bound by memory, about 10 GB/s shared), so a
  /// pass is worth some 4 x 35 / 10 ~ 16 columns. An estimate from those rates, not tuned: a factor of two either way
  /// moves only when a path starts keeping columns.
  static constexpr double kPassInColumns = 16;
  // The features not kept yet.
  std::vector<Eigen::Index> missing(const std::vector<Eigen::Index>& features) const;
  // Fetches them, in one product.
  void fetch_missing(const std::vector<Eigen::Index>& features) const;
  // The columns of `cols` kept (fetched if missing), their `rows` gathered.
  Matrix gather(const std::vector<Eigen::Index>& rows, const std::vector<Eigen::Index>& cols) const;

  Matrix q_;
  double yy_;
  std::int64_t rows_;
  mutable std::vector<Eigen::Index> slot_;  // column of cross_ holding feature j, or -1
  mutable Matrix cross_;                    // the kept columns (kept_ of them), capacity grown geometrically
  mutable Eigen::Index kept_ = 0;
  mutable double rent_ = 0;      // passes made instead of fetching, in fetched columns
  mutable bool bought_ = false;  // the columns are the way from now on
  mutable std::vector<double> fetched_;  // every fetch_missing batch, in order: its size, then its features
  mutable std::unique_ptr<LocalSolver> full_;  // the full Gram's term, for a solve on every feature
  mutable FactorLog full_log_;                  // its factorizations as a resume gave them, until it is made
};

}  // namespace cadmm
