// Sums about a per-rank shift (src/core/forms/shifted_sums.hpp).
#include "core/forms/shifted_sums.hpp"

#include "cadmm/error.hpp"

namespace cadmm {

ShiftedSums::ShiftedSums(Eigen::Index d, Eigen::Index k, LocalForm form)
    : Accumulator(d, k, form), x_shift_(Vector::Zero(d)), y_shift_(Vector::Zero(k)), x_sum_(Vector::Zero(d)),
      y_sum_(Vector::Zero(k)), xty_(Matrix::Zero(d, k)) {}

void ShiftedSums::set_shift(const Vector& x_shift, const Vector& y_shift) {
  x_shift_ = x_shift;
  y_shift_ = y_shift;
}

void ShiftedSums::accumulate(RowMatrix& x, const RowMatrix& y, const double* w, double sign) {
  x.rowwise() -= x_shift_.transpose();
  RowMatrix ys = y.rowwise() - y_shift_.transpose();
  if (w) {
    // sum w x~ for the means; the second moments from the rows times sqrt(w): sum (r x~)(r x~)^T = sum w x~ x~^T.
    const Eigen::Map<const Vector> wv(w, x.rows());
    x_sum_.noalias() += sign * (x.transpose() * wv);
    y_sum_.noalias() += sign * (ys.transpose() * wv);
    const Vector root = wv.cwiseSqrt();
    x.array().colwise() *= root.array();
    ys.array().colwise() *= root.array();
  } else {
    x_sum_ += sign * x.colwise().sum().transpose();
    y_sum_ += sign * ys.colwise().sum().transpose();
  }
  add_shifted(x, sign);
  xty_.noalias() += sign * (x.transpose() * ys);
  yy_ += sign * ys.squaredNorm();
}

void ShiftedSums::add_piece(const Accumulator& other) {
  const auto& o = static_cast<const ShiftedSums&>(other);
  if (o.x_shift_ != x_shift_) throw RuntimeFailure("RowSums: only sums of the same rank (same shape, form and shift) add");
  add_shifted_piece(o);
  xty_ += o.xty_;
  x_sum_ += o.x_sum_;
  y_sum_ += o.y_sum_;
  yy_ += o.yy_;
}

Vector ShiftedSums::sums() const {
  const double m = weight_;
  Vector s(d_ + k_);
  s.head(d_) = x_sum_ + m * x_shift_;
  s.tail(k_) = y_sum_ + m * y_shift_;
  return s;
}

Vector ShiftedSums::squares_about(const Vector& center) const {
  // sum (x~ - delta)^2 = diag(G~) - 2 delta .* sum x~ + m delta^2, with x~ = x - shift, delta = center - shift.
  const double m = weight_;
  const Vector delta = center - x_shift_;
  const Vector diag = shifted_squares();
  return (diag.array() - 2 * delta.array() * x_sum_.array() + m * delta.array().square()).matrix();
}

void ShiftedSums::center(const Vector& x_mean, const Vector& y_mean) {
  // Move the shifted sums to the center: with delta = x_mean - shift and eps = y_mean - y_shift,
  // (X~ - 1 delta^T)^T (X~ - 1 delta^T) = G~ - delta s^T - s delta^T + m delta delta^T, and alike for X^T Y.
  const double m = weight_;
  const Vector delta = x_mean - x_shift_;
  const Vector eps = y_mean - y_shift_;
  center_moments(x_mean, delta, m);
  xty_.noalias() -= x_sum_ * eps.transpose() + delta * y_sum_.transpose();
  xty_.noalias() += m * delta * eps.transpose();
  yy_ = yy_ - 2 * eps.dot(y_sum_) + m * eps.squaredNorm();
}

}  // namespace cadmm
