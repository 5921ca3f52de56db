#pragma once
/// \file The penalty lambda * P(W): value, proximal operator, conjugate and lambda_max (docs/spec.md section 1).
#include <limits>

#include "cadmm/settings.hpp"
#include "cadmm/types.hpp"

namespace cadmm {

/// lambda * P(W) split into its weights, with an optional weight c_j >= 0 per feature (row of W):
/// l1_weight * sum_j c_j (sum_t |W_jt|, or ||W_j,:|| when grouped) + l2_weight/2 * sum_j e_j ||W_j,:||^2 (e_j = c_j^2
/// unless set); with feature groups (set_groups), the l1 part is l1_weight * sum_g w_g ||C_g W_g||_F instead (C_g =
/// diag(c_j) over the group's features: the norm of the coefficients on the scale the penalty acts on),
/// plus, when bounds are set (not grouped), the indicator of lower_j <= W_jt <= upper_j. The per-feature weights
/// let the solver work on internally rescaled columns while the penalty still acts on the coefficients the user
/// asked for; c_j = 0 leaves feature j unpenalized.
struct PenaltySpec {
  double l1_weight = 0;  ///< lambda * a
  double l2_weight = 0;  ///< lambda * (1 - a)
  bool grouped = false;  ///< l21 or group: the l1 part acts on rows (features) of W, or on groups of them
  Vector feature_weight; ///< c_j >= 0 per feature (0: unpenalized); empty means all ones
  Vector lower, upper;   ///< bounds per feature (lower <= 0 <= upper, +-inf: none); empty means unbounded
  /// e_j >= 0, the l2 part's weight per feature in place of c_j^2 (glmnet's penalty factors scale both parts
  /// linearly); empty means c_j^2
  Vector ridge_weight;
  /// Feature groups (set_groups): members per group (features of weight c_j > 0 only) and the weights w_g; empty:
  /// none (l21: every row its own group of weight c_j).
  std::vector<std::vector<Eigen::Index>> members;
  Vector group_weight;

  /// False at lambda = 0 (no penalty): a dual point is feasible only at the optimum, so the duality gap certifies
  /// nothing there (it stays the objective itself); the solve stops on its residuals and reports no gap (NaN).
  bool has_gap() const { return l1_weight > 0 || l2_weight > 0; }

  /// Groups from each feature's group id (0..G-1) and the G weights w_g; call after feature_weight is set (members of
  /// weight c_j = 0, excluded or constant columns, stay out of every norm). Needs ridge_weight empty (e_j = c_j^2).
  void set_groups(const std::vector<int>& id, const std::vector<double>& weight);

  /// c_j, the weight of feature j (1 when no weights are set): the one place the fallback lives.
  double weight(Eigen::Index j) const { return feature_weight.size() ? feature_weight[j] : 1.0; }
  /// e_j, the l2 part's weight of feature j.
  double ridge(Eigen::Index j) const { return ridge_weight.size() ? ridge_weight[j] : weight(j) * weight(j); }
  /// s e_j, evaluated as (s c_j) c_j without ridge weights (the rounding earlier versions' results came from).
  double ridge_times(Eigen::Index j, double s) const {
    return ridge_weight.size() ? s * ridge_weight[j] : s * weight(j) * weight(j);
  }
  /// Feature j's bounds (-inf / +inf when unbounded).
  double lower_bound(Eigen::Index j) const { return lower.size() ? lower[j] : -std::numeric_limits<double>::infinity(); }
  double upper_bound(Eigen::Index j) const { return upper.size() ? upper[j] : std::numeric_limits<double>::infinity(); }
  /// How hard a gradient entry g pushes a coefficient at 0 of feature j in a direction its bounds allow: |g|, or
  /// 0 when the bound on that side is 0 (a sign constraint).
  double movable(Eigen::Index j, double g) const;
  /// How hard the gradient's row j pushes feature j away from zero: ||grad_j|| when grouped, else the largest
  /// movable() over the targets.
  double push(const Matrix& grad, Eigen::Index j) const { return push_row(grad.row(j), j); }
  /// The same for feature j's gradient row g alone.
  double push_row(const Eigen::Ref<const Eigen::RowVectorXd>& g, Eigen::Index j) const;
  /// True when feature j has a positive weight (is penalized).
  bool penalized(Eigen::Index j) const { return weight(j) > 0; }
  /// The blocks the l1 part acts on when grouped, with their weights: the feature groups (w_g), or every feature
  /// alone (l21: weight 1, or 0 when unpenalized). Features in no group's norm belong to no block.
  std::vector<std::vector<Eigen::Index>> blocks(Eigen::Index features, std::vector<double>& weight) const;
  /// ||C_b^{-1} V_b||_F over a block's rows: its part of the dual norm before dividing by the block's weight.
  double block_dual(const Matrix& v, const std::vector<Eigen::Index>& block) const;
  /// The prox of t times one block's part of P (l1 weight times w, and its l2 part) on the block's rows of v,
  /// written into the same rows of out; the other rows of out are left as they are.
  void prox_block(const Matrix& v, const std::vector<Eigen::Index>& block, double w, double t, Matrix& out) const;
  /// Builds the weights of a penalty family at a given lambda and l1 share a.
  static PenaltySpec make(Penalty p, double lambda, double l1_ratio);
  /// lambda * P(W).
  double value(const Matrix& w) const;
  /// argmin_Z lambda P(Z) + 1/(2 t) ||Z - V||_F^2, written into out (may alias v).
  void prox(const Matrix& v, double t, Matrix& out) const;
  /// The dual norm of the l1 part over the penalized features: max |V_jt| / c_j, or max_j ||V_j,:|| / c_j when
  /// grouped; an entry counts only in a direction without a bound (the conjugate is finite in the other).
  double dual_norm(const Matrix& v) const;
  /// Fenchel conjugate of lambda P at V; +infinity when V is outside its domain (pure l1 case). An unpenalized
  /// feature's conjugate is the indicator of V_j = 0; an iterate never reaches that exactly, so its coefficient is
  /// taken bounded by |W_jt| <= 2 |z_jt| + radius, which leaves the solution unchanged once the iterate is within
  /// that of it (z: the current iterate; radius: a scale of the coefficients). Without a ridge part, an excess of
  /// |V_jt| over its bound within slack c_j counts as none (the rounding V was computed with); slack < 0: 1e-12
  /// max(1, lambda).
  double conjugate(const Matrix& v, const Matrix& z, double radius, double slack = -1) const;
};

/// Smallest lambda with W = 0, given the gradient at zero q = X^T Y / n of the centered (and scaled) data.
/// For a < 1e-3 (ridge) it uses a = 1e-3, as glmnet does, since pure ridge never gives W = 0.
double lambda_max(const Matrix& q, Penalty p, double l1_ratio, const Vector& feature_weight = Vector());

}  // namespace cadmm
