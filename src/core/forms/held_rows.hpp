#pragma once
// What the forms that keep this rank's rows share (woodbury, screened: dense rows; cg: CSR rows): y's rows, grown
// geometrically (the rows forms hold this rank's rows anyway, so the copy is not the cost that matters), centred in
// place, and the squared errors of fitted models from the rows.
#include "core/forms/accumulator.hpp"

namespace cadmm {

/// Asks the kernel for huge pages under a large array about to be first touched (the rows: a rank's largest array).
void advise_huge_pages(Matrix& m);

/// Kept rows of y (and, for the dense forms, of X: DenseRows).
class HeldRows : public Accumulator {
 public:
  using Accumulator::Accumulator;
  double y_squares() const override { return y_rows_.squaredNorm(); }

 protected:
  HeldRows(const HeldRows&) = default;
  /// Appends y's rows (and their weights w, null: unweighted) at rows_, growing the kept arrays (grow_x) when needed.
  void append_y(const RowMatrix& y, const double* w);
  /// Grows X's kept rows with y's (dense forms).
  virtual void grow_x(Eigen::Index /*capacity*/) {}
  /// The y rows centred in place at y_mean (trimmed to rows_) and, with weights, multiplied by their square roots.
  void center_y(const Vector& y_mean);
  /// Squared errors per model from the residual products -X coef (rows x m k), weighted with the rows' weights.
  Vector squared_errors_from(const Matrix& minus_x_coef, const Vector& intercept) const;
  /// Column sums of kept rows (the first rows_ of m), weighted with the rows' weights.
  Vector column_sums(const Matrix& m) const;
  /// Column sums of (m - 1 center^T)^2 over the kept rows, weighted.
  Vector squares_about(const Matrix& m, const Vector& center) const;
  /// Square roots of the rows' weights (rows_; empty when unweighted).
  Vector root_weights() const;

  Matrix y_rows_;  // rows_ valid rows, capacity more
  Vector w_rows_;  // the rows' weights (rows_ valid rows), empty when unweighted
};

/// Dense rows of X kept with y's (woodbury and screened): centred in place, scaled in place into their form's solver.
class DenseRows final : public HeldRows {
 public:
  /// The solver of a form made from A = X_c diag(scale) / sqrt(n) and Y_c / sqrt(n) (the rows are moved in).
  using SolverMaker = std::unique_ptr<LocalSolver> (*)(Matrix a, Matrix c);
  DenseRows(Eigen::Index d, Eigen::Index k, LocalForm form, SolverMaker make_solver);
  std::unique_ptr<Accumulator> clone() const override { return std::unique_ptr<Accumulator>(new DenseRows(*this)); }
  std::unique_ptr<Accumulator> empty_like() const override {
    return std::make_unique<DenseRows>(d_, k_, form_, make_solver_);
  }
  std::unique_ptr<LocalSolver> factor(const Vector& column_scale, double n) override;
  Vector sums() const override;
  Vector squares_about(const Vector& center) const override;
  Vector squared_errors(const Matrix& coef, const Vector& intercept) const override;
  void reserve(std::int64_t rows) override;
  void center(const Vector& x_mean, const Vector& y_mean) override;
  Matrix xty() const override { return x_rows_.transpose() * y_rows_; }
  void remove_from(Accumulator& sums) const override;
  Vector column_squares() const override { return x_rows_.colwise().squaredNorm().transpose(); }

 private:
  DenseRows(const DenseRows&) = default;
  void add_dense(RowMatrix& x, const RowMatrix& y, const double* w) override;
  void add_piece(const Accumulator& other) override;
  void grow_x(Eigen::Index capacity) override { x_rows_.conservativeResize(capacity, d_); }

  SolverMaker make_solver_;
  Matrix x_rows_;
};

}  // namespace cadmm
