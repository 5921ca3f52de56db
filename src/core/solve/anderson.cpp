#include "core/solve/anderson.hpp"

#include <cmath>

namespace cadmm {

Anderson::Anderson(AndersonHistory& h, int memory, Eigen::Index size) : h_(h), memory_(memory), f_(size), g_(size) {
  if (h_.dg.rows() != size || h_.dg.cols() != memory || h_.f_prev.size() != size) {
    // Zero-filled, so a checkpoint never stores uninitialized memory.
    h_.f_prev = h_.g_prev = Vector::Zero(size);
    h_.dg = h_.df = Matrix::Zero(size, memory);
    reset();
  }
}

void Anderson::reset() {
  h_.count = 0;
  h_.newest = -1;
  h_.has_prev = false;
}

void Anderson::record(const Vector& s, const Vector& f) {
  f_ = f;
  g_ = f - s;
  if (h_.has_prev) {
    h_.newest = (h_.newest + 1) % memory_;
    h_.dg.col(h_.newest) = g_ - h_.g_prev;
    h_.df.col(h_.newest) = f_ - h_.f_prev;
    if (h_.count < memory_) ++h_.count;
  }
  h_.f_prev = f_;
  h_.g_prev = g_;
  h_.has_prev = true;
}

void Anderson::local_products(double* out) const {
  // Unused slots are written as zeros so every rank sends the same layout.
  Eigen::Map<Matrix> gram(out, memory_, memory_);
  Eigen::Map<Vector> rhs(out + memory_ * memory_, memory_);
  gram.setZero();
  rhs.setZero();
  for (int a = 0; a < h_.count; ++a) {
    rhs[a] = h_.dg.col(a).dot(g_);
    for (int b = 0; b <= a; ++b) gram(a, b) = gram(b, a) = h_.dg.col(a).dot(h_.dg.col(b));
  }
  out[memory_ * memory_ + memory_] = g_.squaredNorm();
}

bool Anderson::extrapolate(const double* reduced, Vector& next) const {
  const int count = h_.count;
  if (count == 0) return false;
  const Eigen::Map<const Matrix> full(reduced, memory_, memory_);
  const Eigen::Map<const Vector> full_rhs(reduced + memory_ * memory_, memory_);
  Matrix gram = full.topLeftCorner(count, count);
  // A little Tikhonov regularization keeps nearly collinear differences from blowing up gamma.
  gram.diagonal().array() += 1e-10 * gram.trace() / count + 1e-300;
  const Vector gamma = gram.ldlt().solve(full_rhs.head(count));
  if (!gamma.allFinite()) return false;
  next = f_ - h_.df.leftCols(count) * gamma;
  return next.allFinite();
}

}  // namespace cadmm
