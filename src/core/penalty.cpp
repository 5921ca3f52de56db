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
  double l1 = grouped ? w.rowwise().norm().sum() : w.cwiseAbs().sum();
  return l1_weight * l1 + 0.5 * l2_weight * w.squaredNorm();
}

void PenaltySpec::prox(const Matrix& v, double t, Matrix& out) const {
  // Shrink (elementwise or by rows), then scale for the ridge part: the prox of a + b/2||.||^2 is
  // prox_{t a / (1 + t b)} of v / (1 + t b), which equals shrink(v, t a) / (1 + t b).
  const double thr = t * l1_weight;
  const double scale = 1.0 / (1.0 + t * l2_weight);
  out.resize(v.rows(), v.cols());
  if (grouped) {
    for (Eigen::Index j = 0; j < v.rows(); ++j) {
      double norm = v.row(j).norm();
      double f = norm > thr ? (1.0 - thr / norm) * scale : 0.0;
      out.row(j) = f * v.row(j);
    }
  } else {
    out = v.unaryExpr([thr, scale](double x) {
      double m = std::abs(x) - thr;
      return m > 0 ? std::copysign(m * scale, x) : 0.0;
    });
  }
}

double PenaltySpec::dual_norm(const Matrix& v) const {
  if (v.size() == 0) return 0;
  return grouped ? v.rowwise().norm().maxCoeff() : v.cwiseAbs().maxCoeff();
}

double PenaltySpec::conjugate(const Matrix& v) const {
  // g(w) = a |w| + b/2 w^2  =>  g*(v) = (|v| - a)_+^2 / (2 b) for b > 0; the indicator of |v| <= a for b = 0.
  if (l2_weight <= 0) {
    const double slack = 1e-12 * std::max(1.0, l1_weight);
    return dual_norm(v) <= l1_weight + slack ? 0.0 : std::numeric_limits<double>::infinity();
  }
  double sum = 0;
  if (grouped) {
    for (Eigen::Index j = 0; j < v.rows(); ++j) {
      double m = v.row(j).norm() - l1_weight;
      if (m > 0) sum += m * m;
    }
  } else {
    for (Eigen::Index i = 0; i < v.size(); ++i) {
      double m = std::abs(v.data()[i]) - l1_weight;
      if (m > 0) sum += m * m;
    }
  }
  return sum / (2.0 * l2_weight);
}

double lambda_max(const Matrix& q, Penalty p, double l1_ratio) {
  PenaltySpec unit = PenaltySpec::make(p, 1.0, 1.0);
  return unit.dual_norm(q) / std::max(l1_ratio, 1e-3);
}

}  // namespace cadmm
