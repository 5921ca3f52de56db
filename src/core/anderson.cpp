#include "core/anderson.hpp"

#include <cmath>

namespace cadmm {

Anderson::Anderson(int memory, Eigen::Index size)
    : memory_(memory), f_prev_(size), g_prev_(size), f_(size), g_(size), dg_(size, memory), df_(size, memory) {}

void Anderson::reset() {
  count_ = 0;
  newest_ = -1;
  has_prev_ = false;
}

void Anderson::record(const Vector& s, const Vector& f) {
  f_ = f;
  g_ = f - s;
  if (has_prev_) {
    newest_ = (newest_ + 1) % memory_;
    dg_.col(newest_) = g_ - g_prev_;
    df_.col(newest_) = f_ - f_prev_;
    if (count_ < memory_) ++count_;
  }
  f_prev_ = f_;
  g_prev_ = g_;
  has_prev_ = true;
}

void Anderson::local_products(double* out) const {
  // Unused slots are written as zeros so every rank sends the same layout.
  Eigen::Map<Matrix> gram(out, memory_, memory_);
  Eigen::Map<Vector> rhs(out + memory_ * memory_, memory_);
  gram.setZero();
  rhs.setZero();
  for (int a = 0; a < count_; ++a) {
    rhs[a] = dg_.col(a).dot(g_);
    for (int b = 0; b <= a; ++b) gram(a, b) = gram(b, a) = dg_.col(a).dot(dg_.col(b));
  }
  out[memory_ * memory_ + memory_] = g_.squaredNorm();
}

bool Anderson::extrapolate(const double* reduced, Vector& next) const {
  if (count_ == 0) return false;
  const Eigen::Map<const Matrix> full(reduced, memory_, memory_);
  const Eigen::Map<const Vector> full_rhs(reduced + memory_ * memory_, memory_);
  Matrix gram = full.topLeftCorner(count_, count_);
  // A little Tikhonov regularization keeps nearly collinear differences from blowing up gamma.
  gram.diagonal().array() += 1e-10 * gram.trace() / count_ + 1e-300;
  const Vector gamma = gram.ldlt().solve(full_rhs.head(count_));
  if (!gamma.allFinite()) return false;
  next = f_ - df_.leftCols(count_) * gamma;
  return next.allFinite();
}

}  // namespace cadmm
