#include "cadmm/penalty.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace cadmm {

PenaltySpec PenaltySpec::make(Penalty p, double lambda, double l1_ratio) {
  PenaltySpec s;
  s.l1_weight = lambda * l1_ratio;
  s.l2_weight = lambda * (1.0 - l1_ratio);
  s.grouped = (p == Penalty::l21);
  return s;
}

double PenaltySpec::value(const Matrix& w) const {
  double l1 = 0, l2 = 0;
  for (Eigen::Index j = 0; j < w.rows(); ++j) {
    const double c = weight(j);
    l1 += c * (grouped ? w.row(j).norm() : w.row(j).cwiseAbs().sum());
    l2 += c * c * w.row(j).squaredNorm();
  }
  return l1_weight * l1 + 0.5 * l2_weight * l2;
}

void PenaltySpec::prox(const Matrix& v, double t, Matrix& out) const {
  // Feature j's penalty is a c|.| + b c^2/2 ||.||^2, whose prox is shrink(v, t a c) / (1 + t b c^2).
  out.resize(v.rows(), v.cols());
  for (Eigen::Index j = 0; j < v.rows(); ++j) {
    const double c = weight(j);
    const double thr = t * l1_weight * c;
    const double scale = 1.0 / (1.0 + t * l2_weight * c * c);
    if (grouped) {
      const double norm = v.row(j).norm();
      out.row(j) = (norm > thr ? (1.0 - thr / norm) * scale : 0.0) * v.row(j);
    } else {
      for (Eigen::Index k = 0; k < v.cols(); ++k) {
        const double m = std::abs(v(j, k)) - thr;
        out(j, k) = m > 0 ? std::copysign(m * scale, v(j, k)) : 0.0;
      }
    }
  }
}

double PenaltySpec::dual_norm(const Matrix& v) const {
  double best = 0;
  for (Eigen::Index j = 0; j < v.rows(); ++j)
    best = std::max(best, (grouped ? v.row(j).norm() : v.row(j).cwiseAbs().maxCoeff()) / weight(j));
  return best;
}

double PenaltySpec::conjugate(const Matrix& v) const {
  // g(w) = a c|w| + b c^2/2 w^2  =>  g*(v) = (|v| - a c)_+^2 / (2 b c^2) for b > 0; for b = 0 the indicator
  // of |v| <= a c.
  if (l2_weight <= 0) {
    const double slack = 1e-12 * std::max(1.0, l1_weight);
    return dual_norm(v) <= l1_weight + slack ? 0.0 : std::numeric_limits<double>::infinity();
  }
  double sum = 0;
  for (Eigen::Index j = 0; j < v.rows(); ++j) {
    const double c = weight(j), thr = l1_weight * c;
    double row = 0;
    if (grouped) {
      const double m = v.row(j).norm() - thr;
      if (m > 0) row = m * m;
    } else {
      for (Eigen::Index k = 0; k < v.cols(); ++k) {
        const double m = std::abs(v(j, k)) - thr;
        if (m > 0) row += m * m;
      }
    }
    sum += row / (c * c);
  }
  return sum / (2.0 * l2_weight);
}

double lambda_max(const Matrix& q, Penalty p, double l1_ratio, const Vector& feature_weight) {
  PenaltySpec unit = PenaltySpec::make(p, 1.0, 1.0);
  unit.feature_weight = feature_weight;
  return unit.dual_norm(q) / std::max(l1_ratio, 1e-3);
}

}  // namespace cadmm
