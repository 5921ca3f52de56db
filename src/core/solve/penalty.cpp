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
    l2 += ridge(j) * w.row(j).squaredNorm();
  }
  return l1_weight * l1 + 0.5 * l2_weight * l2;
}

double PenaltySpec::lower_bound(Eigen::Index j) const { return lower.size() ? lower[j] : -HUGE_VAL; }
double PenaltySpec::upper_bound(Eigen::Index j) const { return upper.size() ? upper[j] : HUGE_VAL; }

double PenaltySpec::movable(Eigen::Index j, double g) const {
  if (g > 0) return upper_bound(j) > 0 ? g : 0.0;
  return lower_bound(j) < 0 ? -g : 0.0;
}

void PenaltySpec::prox(const Matrix& v, double t, Matrix& out) const {
  // Feature j's penalty is a c|.| + b e/2 ||.||^2, whose prox is shrink(v, t a c) / (1 + t b e); on one
  // coordinate a bound adds the indicator of an interval, whose prox with it is the clipped one.
  out.resize(v.rows(), v.cols());
  const bool bounded = lower.size() || upper.size();
  for (Eigen::Index j = 0; j < v.rows(); ++j) {
    const double c = weight(j);
    const double thr = t * l1_weight * c;
    const double scale = 1.0 / (1.0 + ridge_times(j, t * l2_weight));
    if (grouped) {
      const double norm = v.row(j).norm();
      out.row(j) = (norm > thr ? (1.0 - thr / norm) * scale : 0.0) * v.row(j);
    } else {
      for (Eigen::Index k = 0; k < v.cols(); ++k) {
        const double m = std::abs(v(j, k)) - thr;
        double w = m > 0 ? std::copysign(m * scale, v(j, k)) : 0.0;
        if (bounded) w = std::clamp(w, lower_bound(j), upper_bound(j));
        out(j, k) = w;
      }
    }
  }
}

double PenaltySpec::dual_norm(const Matrix& v) const {
  double best = 0;
  for (Eigen::Index j = 0; j < v.rows(); ++j) {
    if (!penalized(j)) continue;
    double e = 0;
    if (grouped) {
      e = v.row(j).norm();
    } else {
      for (Eigen::Index k = 0; k < v.cols(); ++k) {
        const double g = v(j, k);
        if (g > 0 ? std::isinf(upper_bound(j)) : std::isinf(lower_bound(j))) e = std::max(e, std::abs(g));
      }
    }
    best = std::max(best, e / weight(j));
  }
  return best;
}

namespace {
// sup over 0 <= w <= bound of (u - a) w - b/2 w^2: one side of a bounded coordinate's conjugate. For b = 0 an
// excess u - a within slack counts as none (the dual point is scaled to the bound, up to rounding).
double conjugate_side(double u, double a, double b, double bound, double slack) {
  const double m = u - a;
  if (m <= (b > 0 ? 0.0 : slack)) return 0.0;
  if (b > 0) {
    const double w = std::min(m / b, bound);
    return m * w - 0.5 * b * w * w;
  }
  return std::isinf(bound) ? std::numeric_limits<double>::infinity() : m * bound;
}
}  // namespace

double PenaltySpec::conjugate(const Matrix& v, const Matrix& z, double radius) const {
  // g(w) = a c|w| + b e/2 w^2 (+ the bounds' indicator) per coordinate, or per row when grouped. An unbounded
  // penalized entry adds (|v| - a c)_+^2 / (2 l2 e), summed as m^2 / e and divided by 2 l2 once at the end (the
  // order of operations the results of earlier versions came from); bounded and unpenalized entries add their
  // own terms.
  const double slack = 1e-12 * std::max(1.0, l1_weight);
  double quadratic = 0, other = 0;
  for (Eigen::Index j = 0; j < v.rows(); ++j) {
    const double c = weight(j), a = l1_weight * c, e = ridge(j), b = l2_weight * e;
    if (grouped) {
      const double norm = v.row(j).norm();
      if (c <= 0) {
        other += norm * (2 * z.row(j).norm() + radius);
        continue;
      }
      const double m = norm - a;
      if (m <= (b > 0 ? 0.0 : slack * c)) continue;
      if (b <= 0) return std::numeric_limits<double>::infinity();
      quadratic += m * m / e;
      continue;
    }
    const double hi = upper_bound(j), lo = lower_bound(j);
    if (c > 0 && b > 0 && std::isinf(hi) && std::isinf(lo)) {
      double row = 0;
      for (Eigen::Index k = 0; k < v.cols(); ++k) {
        const double m = std::abs(v(j, k)) - a;
        if (m > 0) row += m * m;
      }
      quadratic += row / e;
      continue;
    }
    for (Eigen::Index k = 0; k < v.cols(); ++k) {
      double up = hi, down = lo;
      if (c <= 0) {  // unpenalized: bounded by the iterate's scale where unbounded
        const double cap = 2 * std::abs(z(j, k)) + radius;
        if (std::isinf(up)) up = cap;
        if (std::isinf(down)) down = -cap;
      }
      const double term = std::max(conjugate_side(v(j, k), a, b, up, slack * c), conjugate_side(-v(j, k), a, b, -down, slack * c));
      if (std::isinf(term)) return term;
      other += term;
    }
  }
  return (quadratic > 0 ? quadratic / (2.0 * l2_weight) : 0.0) + other;
}

double lambda_max(const Matrix& q, Penalty p, double l1_ratio, const Vector& feature_weight) {
  PenaltySpec unit = PenaltySpec::make(p, 1.0, 1.0);
  unit.feature_weight = feature_weight;
  return unit.dual_norm(q) / std::max(l1_ratio, 1e-3);
}

}  // namespace cadmm
