#pragma once
/// \file The penalty lambda * P(W): value, proximal operator, conjugate and lambda_max (docs/spec.md section 1).
#include "cadmm/settings.hpp"
#include "cadmm/types.hpp"

namespace cadmm {

/// lambda * P(W) split into its weights, with an optional positive weight c_j per feature (row of W):
/// l1_weight * sum_j c_j (sum_t |W_jt|, or ||W_j,:|| when grouped) + l2_weight/2 * sum_j c_j^2 ||W_j,:||^2.
/// The per-feature weights let the solver work on internally rescaled columns while the penalty still
/// acts on the coefficients the user asked for.
struct PenaltySpec {
  double l1_weight = 0;  ///< lambda * a
  double l2_weight = 0;  ///< lambda * (1 - a)
  bool grouped = false;  ///< l21: the l1 part acts on rows (features) of W
  Vector feature_weight; ///< c_j > 0 per feature; empty means all ones

  /// c_j, the weight of feature j (1 when no weights are set): the one place the fallback lives.
  double weight(Eigen::Index j) const { return feature_weight.size() ? feature_weight[j] : 1.0; }
  /// Builds the weights of a penalty family at a given lambda and l1 share a.
  static PenaltySpec make(Penalty p, double lambda, double l1_ratio);
  /// lambda * P(W).
  double value(const Matrix& w) const;
  /// argmin_Z lambda P(Z) + 1/(2 t) ||Z - V||_F^2, written into out (may alias v).
  void prox(const Matrix& v, double t, Matrix& out) const;
  /// The dual norm of the l1 part: max |V_jt| / c_j, or max_j ||V_j,:|| / c_j when grouped.
  double dual_norm(const Matrix& v) const;
  /// Fenchel conjugate of lambda P at V; +infinity when V is outside its domain (pure l1 case).
  double conjugate(const Matrix& v) const;
};

/// Smallest lambda with W = 0, given the gradient at zero q = X^T Y / n of the centered (and scaled) data.
/// For a < 1e-3 (ridge) it uses a = 1e-3, as glmnet does, since pure ridge never gives W = 0.
double lambda_max(const Matrix& q, Penalty p, double l1_ratio, const Vector& feature_weight = Vector());

}  // namespace cadmm
