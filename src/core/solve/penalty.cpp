#include "cadmm/penalty.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace cadmm {

PenaltySpec PenaltySpec::make(Penalty p, double lambda, double l1_ratio) {
  PenaltySpec s;
  s.l1_weight = lambda * l1_ratio;
  s.l2_weight = lambda * (1.0 - l1_ratio);
  s.grouped = p == Penalty::l21 || p == Penalty::group;
  return s;
}

void PenaltySpec::set_groups(const std::vector<int>& id, const std::vector<double>& weight) {
  members.assign(weight.size(), {});
  for (std::size_t j = 0; j < id.size(); ++j)
    if (this->weight(static_cast<Eigen::Index>(j)) > 0) members[static_cast<std::size_t>(id[j])].push_back(static_cast<Eigen::Index>(j));
  group_weight = Eigen::Map<const Vector>(weight.data(), static_cast<Eigen::Index>(weight.size()));
}

double PenaltySpec::block_dual(const Matrix& v, const std::vector<Eigen::Index>& block) const {
  double sum = 0;
  for (Eigen::Index j : block) sum += v.row(j).squaredNorm() / (weight(j) * weight(j));
  return std::sqrt(sum);
}

std::vector<std::vector<Eigen::Index>> PenaltySpec::blocks(Eigen::Index features, std::vector<double>& weight) const {
  if (!members.empty()) {
    weight.assign(group_weight.data(), group_weight.data() + group_weight.size());
    return members;
  }
  std::vector<std::vector<Eigen::Index>> out(static_cast<std::size_t>(features));
  weight.resize(out.size());
  for (Eigen::Index j = 0; j < features; ++j) {
    out[static_cast<std::size_t>(j)] = {j};
    weight[static_cast<std::size_t>(j)] = penalized(j) ? 1.0 : 0.0;
  }
  return out;
}

// The prox of t (a w ||C z||_F + b/2 sum_j e_j ||z_j||^2) over one block's rows of v (a, b: the l1 and l2 weights): 0
// when ||C^{-1} v|| <= t a w; else z_j = v_j / (1 + t b e_j + t a w c_j^2 / r) with r = ||C z||, the root of
// G(r) = sum_j c_j^2 ||v_j||^2 / (r (1 + t b e_j) + t a w c_j^2)^2 = 1. G is convex and decreasing from G(0) > 1,
// so Newton's method from r = 0 climbs to the root without overshooting; it stops when a step no longer moves r.
void PenaltySpec::prox_block(const Matrix& v, const std::vector<Eigen::Index>& block, double w, double t,
                             Matrix& out) const {
  const double a = t * l1_weight * w, b = t * l2_weight;
  if (a <= 0) {  // an unpenalized block keeps only the ridge part
    for (Eigen::Index j : block) out.row(j) = v.row(j) / (1 + b * ridge(j));
    return;
  }
  if (block_dual(v, block) <= a) {
    for (Eigen::Index j : block) out.row(j).setZero();
    return;
  }
  double r = 0;
  for (int it = 0; it < 200; ++it) {
    double g = -1, dg = 0;
    for (Eigen::Index j : block) {
      const double c2 = weight(j) * weight(j), vv = c2 * v.row(j).squaredNorm();
      const double slope = 1 + b * ridge(j), den = r * slope + a * c2;
      g += vv / (den * den);
      dg -= 2 * vv * slope / (den * den * den);
    }
    const double next = r - g / dg;
    if (!(next > r)) break;  // converged: a Newton step from the left no longer climbs
    r = next;
  }
  for (Eigen::Index j : block) out.row(j) = v.row(j) / (1 + b * ridge(j) + a * weight(j) * weight(j) / r);
}

double PenaltySpec::value(const Matrix& w) const {
  double l1 = 0, l2 = 0;
  if (!members.empty()) {
    for (std::size_t g = 0; g < members.size(); ++g) {
      double sum = 0;
      for (Eigen::Index j : members[g]) sum += weight(j) * weight(j) * w.row(j).squaredNorm();
      l1 += group_weight[static_cast<Eigen::Index>(g)] * std::sqrt(sum);
    }
    for (Eigen::Index j = 0; j < w.rows(); ++j) l2 += ridge(j) * w.row(j).squaredNorm();
    return l1_weight * l1 + 0.5 * l2_weight * l2;
  }
  for (Eigen::Index j = 0; j < w.rows(); ++j) {
    const double c = weight(j);
    l1 += c * (grouped ? w.row(j).norm() : w.row(j).cwiseAbs().sum());
    l2 += ridge(j) * w.row(j).squaredNorm();
  }
  return l1_weight * l1 + 0.5 * l2_weight * l2;
}

double PenaltySpec::movable(Eigen::Index j, double g) const {
  if (g > 0) return upper_bound(j) > 0 ? g : 0.0;
  return lower_bound(j) < 0 ? -g : 0.0;
}

double PenaltySpec::push_row(const Eigen::Ref<const Eigen::RowVectorXd>& g, Eigen::Index j) const {
  if (grouped) return g.norm();
  double p = 0;
  for (Eigen::Index t = 0; t < g.size(); ++t) p = std::max(p, movable(j, g[t]));
  return p;
}

void PenaltySpec::prox(const Matrix& v, double t, Matrix& out) const {
  // Feature j's penalty is a c|.| + b e/2 ||.||^2, whose prox is shrink(v, t a c) / (1 + t b e); on one
  // coordinate a bound adds the indicator of an interval, whose prox with it is the clipped one.
  out.resize(v.rows(), v.cols());
  if (!members.empty()) {
    // Features in no norm (weight 0: their columns are zero) pass unchanged; each group by its own prox.
    std::vector<char> in(static_cast<std::size_t>(v.rows()), 0);
    for (const auto& g : members)
      for (Eigen::Index j : g) in[static_cast<std::size_t>(j)] = 1;
    for (Eigen::Index j = 0; j < v.rows(); ++j)
      if (!in[static_cast<std::size_t>(j)]) out.row(j) = v.row(j);
    for (std::size_t g = 0; g < members.size(); ++g)
      prox_block(v, members[g], group_weight[static_cast<Eigen::Index>(g)], t, out);
    return;
  }
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
  if (!members.empty()) {
    for (std::size_t g = 0; g < members.size(); ++g) {
      const double w = group_weight[static_cast<Eigen::Index>(g)];
      if (w > 0 && !members[g].empty()) best = std::max(best, block_dual(v, members[g]) / w);
    }
    return best;
  }
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

double PenaltySpec::conjugate(const Matrix& v, const Matrix& z, double radius, double slack_given) const {
  // g(w) = a c|w| + b e/2 w^2 (+ the bounds' indicator) per coordinate, or per row when grouped. An unbounded
  // penalized entry adds (|v| - a c)_+^2 / (2 l2 e), summed as m^2 / e and divided by 2 l2 once at the end (the
  // order of operations the results of earlier versions came from); bounded and unpenalized entries add their
  // own terms.
  const double slack = slack_given >= 0 ? slack_given : 1e-12 * std::max(1.0, l1_weight);
  double quadratic = 0, other = 0;
  if (!members.empty()) {
    // With u = C z the group's term is a w ||u|| + b/2 ||u||^2, whose conjugate at C^{-1} v is (||C^{-1} v|| - a w)_+^2
    // / (2 b); an unpenalized group (w = 0) without a ridge part is the indicator of v_g = 0, relaxed as above.
    for (std::size_t g = 0; g < members.size(); ++g) {
      const double a = l1_weight * group_weight[static_cast<Eigen::Index>(g)], norm = block_dual(v, members[g]);
      if (a <= 0 && l2_weight <= 0) {
        for (Eigen::Index j : members[g]) other += v.row(j).norm() * (2 * z.row(j).norm() + radius);
        continue;
      }
      const double m = norm - a;
      if (m <= (l2_weight > 0 ? 0.0 : slack * group_weight[static_cast<Eigen::Index>(g)])) continue;
      if (l2_weight <= 0) return std::numeric_limits<double>::infinity();
      quadratic += m * m;
    }
    return (quadratic > 0 ? quadratic / (2.0 * l2_weight) : 0.0) + other;
  }
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
