#pragma once
// The sums the Gram and streamed forms share: X~^T Y~, the column sums of X~ and Y~ and ||Y~||^2 with X~ = X - 1
// shift^T (a per-rank shift that keeps the later move to the global mean free of cancellation), and that move.
#include "core/forms/accumulator.hpp"

namespace cadmm {

/// Sums about a per-rank shift; the form adds its own second moments of X~ (the Gram, or column squares).
class ShiftedSums : public Accumulator {
 public:
  ShiftedSums(Eigen::Index d, Eigen::Index k, LocalForm form);
  bool shifted() const override { return true; }
  void set_shift(const Vector& x_shift, const Vector& y_shift) override;
  Vector sums() const override;
  Vector squares_about(const Vector& center) const override;
  void center(const Vector& x_mean, const Vector& y_mean) override;
  Matrix xty() const override { return xty_; }
  double y_squares() const override { return yy_; }

 protected:
  ShiftedSums(const ShiftedSums&) = default;
  void add_dense(RowMatrix& x, const RowMatrix& y, const double* w) override { accumulate(x, y, w, 1.0); }
  void subtract_dense(RowMatrix& x, const RowMatrix& y, const double* w) override { accumulate(x, y, w, -1.0); }
  void add_piece(const Accumulator& other) override;
  /// The form's second moments of shifted rows x~ (rows x d, row-major; weighted rows come multiplied by the square
  /// roots of their weights), added (sign 1) or subtracted (-1).
  virtual void add_shifted(const RowMatrix& x, double sign) = 0;
  /// The form's sums of the other piece (same shift).
  virtual void add_shifted_piece(const ShiftedSums& other) = 0;
  /// diag(X~^T X~), raw.
  virtual Vector shifted_squares() const = 0;
  /// Moves the form's second moments to the global mean: delta = x_mean - shift, m the rows' weight.
  virtual void center_moments(const Vector& x_mean, const Vector& delta, double m) = 0;

  Vector x_shift_, y_shift_, x_sum_, y_sum_;
  Matrix xty_;
  double yy_ = 0;

 private:
  /// Adds (sign 1) or subtracts (-1) dense rows' sums; x is shifted (and weighted) in place.
  void accumulate(RowMatrix& x, const RowMatrix& y, const double* w, double sign);
};

}  // namespace cadmm
