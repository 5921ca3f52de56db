#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "cadmm/penalty.hpp"

using namespace cadmm;

namespace {
Matrix random_matrix(int r, int c, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<double> n;
  Matrix m(r, c);
  for (int i = 0; i < m.size(); ++i) m.data()[i] = n(g);
  return m;
}

// The prox objective lambda P(z) + 1/(2t) ||z - v||^2, for an independent optimality check.
double prox_objective(const PenaltySpec& p, const Matrix& z, const Matrix& v, double t) {
  return p.value(z) + (z - v).squaredNorm() / (2 * t);
}
}  // namespace

TEST(Prox, L1IsSoftThresholding) {
  PenaltySpec p = PenaltySpec::make(Penalty::l1, 2.0, 1.0);
  Matrix v(5, 1);
  v << 3.0, -3.0, 0.5, -1.0, 1.0;
  Matrix z;
  p.prox(v, 0.5, z);  // threshold t * lambda = 1
  EXPECT_DOUBLE_EQ(z(0), 2.0);
  EXPECT_DOUBLE_EQ(z(1), -2.0);
  EXPECT_EQ(z(2), 0.0);
  EXPECT_EQ(z(3), 0.0);
  EXPECT_EQ(z(4), 0.0);
}

TEST(Prox, L2IsScaling) {
  PenaltySpec p = PenaltySpec::make(Penalty::l2, 3.0, 0.0);
  Matrix v = random_matrix(4, 2, 1), z;
  p.prox(v, 0.5, z);  // v / (1 + t lambda) = v / 2.5
  EXPECT_LT((z - v / 2.5).norm(), 1e-15);
}

TEST(Prox, ElasticNetIsShrinkThenScale) {
  PenaltySpec p = PenaltySpec::make(Penalty::elasticnet, 2.0, 0.25);  // l1 0.5, l2 1.5
  Matrix v(2, 1);
  v << 2.0, -0.1;
  Matrix z;
  p.prox(v, 1.0, z);
  EXPECT_DOUBLE_EQ(z(0), (2.0 - 0.5) / (1 + 1.5));
  EXPECT_EQ(z(1), 0.0);
}

TEST(Prox, L21ShrinksRowsAndZeroesSmallRows) {
  PenaltySpec p = PenaltySpec::make(Penalty::l21, 1.0, 1.0);
  Matrix v(3, 2);
  v << 3, 4,    // norm 5 -> scaled by (1 - 1/5)
      0.3, 0.4, // norm 0.5 < 1 -> zero row
      0, 0;     // all-zero row stays zero (no division by zero)
  Matrix z;
  p.prox(v, 1.0, z);
  EXPECT_NEAR(z(0, 0), 2.4, 1e-15);
  EXPECT_NEAR(z(0, 1), 3.2, 1e-15);
  EXPECT_EQ(z.row(1).norm(), 0.0);
  EXPECT_EQ(z.row(2).norm(), 0.0);
  EXPECT_TRUE(z.allFinite());
}

TEST(Prox, MinimizesProxObjectiveForEveryPenaltyAndWeights) {
  // Independent of the closed forms: the returned point beats random perturbations of itself.
  std::mt19937 g(7);
  std::normal_distribution<double> n;
  for (Penalty pen : {Penalty::l1, Penalty::l2, Penalty::elasticnet, Penalty::l21}) {
    PenaltySpec p = PenaltySpec::make(pen, 0.7, pen == Penalty::l2 ? 0.0 : 0.6);
    p.feature_weight = Vector::LinSpaced(6, 0.2, 3.0);
    const Matrix v = random_matrix(6, 3, 3);
    Matrix z;
    p.prox(v, 0.8, z);
    const double best = prox_objective(p, z, v, 0.8);
    for (int trial = 0; trial < 200; ++trial) {
      Matrix d = random_matrix(6, 3, 100 + trial) * (trial % 2 ? 1e-3 : 1e-1);
      EXPECT_LE(best, prox_objective(p, z + d, v, 0.8) + 1e-12) << to_string(pen);
    }
  }
}

TEST(Penalty, ValueMatchesDefinition) {
  Matrix w(2, 2);
  w << 3, -4, 0, 1;
  PenaltySpec en = PenaltySpec::make(Penalty::elasticnet, 2.0, 0.5);
  EXPECT_DOUBLE_EQ(en.value(w), 2.0 * (0.5 * 8 + 0.25 * 26));
  PenaltySpec g = PenaltySpec::make(Penalty::l21, 2.0, 1.0);
  EXPECT_DOUBLE_EQ(g.value(w), 2.0 * (5 + 1));
  g.feature_weight = Vector::Constant(2, 3.0);
  EXPECT_DOUBLE_EQ(g.value(w), 3 * 2.0 * (5 + 1));
}

TEST(Penalty, ConjugateSatisfiesFenchelYoung) {
  // g(w) + g*(v) >= <w, v> for all w, v, with equality when v is a subgradient of g at w.
  for (Penalty pen : {Penalty::l2, Penalty::elasticnet, Penalty::l21}) {
    PenaltySpec p = PenaltySpec::make(pen, 0.9, pen == Penalty::l2 ? 0.0 : 0.4);
    p.feature_weight = Vector::LinSpaced(5, 0.5, 2.0);
    for (int s = 0; s < 20; ++s) {
      const Matrix w = random_matrix(5, 2, 10 + s), v = random_matrix(5, 2, 50 + s);
      EXPECT_GE(p.value(w) + p.conjugate(v, w, 0), (w.array() * v.array()).sum() - 1e-12);
    }
    // v = gradient of the smooth part plus a subgradient of the l1 part at a w with no zero entries.
    const Matrix w = random_matrix(5, 2, 99);
    Matrix v(5, 2);
    for (int j = 0; j < 5; ++j) {
      const double c = p.feature_weight[j];
      for (int t = 0; t < 2; ++t) {
        const double sub = p.grouped ? w(j, t) / w.row(j).norm() : (w(j, t) > 0 ? 1.0 : -1.0);
        v(j, t) = p.l1_weight * c * sub + p.l2_weight * c * c * w(j, t);
      }
    }
    EXPECT_NEAR(p.value(w) + p.conjugate(v, w, 0), (w.array() * v.array()).sum(), 1e-10) << to_string(pen);
  }
}

TEST(Penalty, PureL1ConjugateIsIndicatorOfDualBall) {
  PenaltySpec p = PenaltySpec::make(Penalty::l1, 1.5, 1.0);
  Matrix v(2, 1);
  v << 1.4, -1.5;
  const Matrix z = Matrix::Zero(2, 1);
  EXPECT_EQ(p.conjugate(v, z, 0), 0.0);
  v(0) = 1.6;
  EXPECT_TRUE(std::isinf(p.conjugate(v, z, 0)));
}

// Brute force over a fine grid of the box (wide where unbounded): the minimizer of t g(w) + (w - v)^2 / 2 and
// sup_w v w - g(w) for one coordinate of g(w) = a c|w| + b c^2/2 w^2 on [lo, hi].
struct Coordinate {
  double a, b, c, lo, hi;
  double g(double w) const { return a * c * std::abs(w) + 0.5 * b * c * c * w * w; }
  double grid_lo() const { return std::isinf(lo) ? -50 : lo; }
  double grid_hi() const { return std::isinf(hi) ? 50 : hi; }
  template <class F>
  double best(F f) const {  // max of f over the grid, its ends and 0 (the kink)
    double m = f(0.0);
    for (int i = 0; i <= 200000; ++i) m = std::max(m, f(grid_lo() + (grid_hi() - grid_lo()) * i / 200000.0));
    return m;
  }
};

TEST(Penalty, BoundedProxAndConjugateMatchBruteForce) {
  const Coordinate cases[] = {{1.0, 0.5, 1.3, -0.2, 0.7}, {1.0, 0.0, 0.8, 0.0, HUGE_VAL}, {0.7, 0.3, 1.0, -HUGE_VAL, 0.0},
                              {1.0, 0.0, 1.0, -0.5, 0.25}, {0.0, 0.0, 0.0, -1.0, 2.0}};
  for (const Coordinate& k : cases) {
    PenaltySpec p;
    p.l1_weight = k.a, p.l2_weight = k.b;
    p.feature_weight = Vector::Constant(1, k.c);
    p.lower = Vector::Constant(1, k.lo), p.upper = Vector::Constant(1, k.hi);
    for (double v : {-3.0, -0.9, -0.1, 0.0, 0.4, 1.2, 2.5}) {
      Matrix in(1, 1), out;
      in(0, 0) = v;
      const double t = 0.8;
      p.prox(in, t, out);
      const double best = k.best([&](double w) { return -(t * k.g(w) + 0.5 * (w - v) * (w - v)); });
      EXPECT_NEAR(-(t * k.g(out(0, 0)) + 0.5 * (out(0, 0) - v) * (out(0, 0) - v)), best, 1e-7) << v;
      EXPECT_GE(out(0, 0), k.lo);
      EXPECT_LE(out(0, 0), k.hi);
      // A finite conjugate where the box is finite on v's side, else the brute force grows with the grid.
      const double conj = p.conjugate(in, Matrix::Zero(1, 1), 0);
      const double sup = k.best([&](double w) { return v * w - k.g(w); });
      if (std::isfinite(conj))
        EXPECT_NEAR(conj, sup, 1e-6 * std::max(1.0, std::abs(sup))) << v;
      else
        EXPECT_GT(sup, 1.0) << v;
    }
  }
}

TEST(Penalty, UnpenalizedFeatureLeavesDualNormAndBoundsItsConjugate) {
  PenaltySpec p = PenaltySpec::make(Penalty::l1, 1.0, 1.0);
  p.feature_weight = Vector::Zero(2);
  p.feature_weight[1] = 1.0;
  Matrix v(2, 1), z(2, 1);
  v << 5.0, 0.5;
  z << 2.0, 0.0;
  EXPECT_DOUBLE_EQ(p.dual_norm(v), 0.5);  // feature 0 has no dual-norm constraint
  // Its coefficient is taken within |w| <= 2 |z| + radius: the conjugate is |v| times that.
  EXPECT_DOUBLE_EQ(p.conjugate(v, z, 1.0), 5.0 * 5.0);
  Matrix out;
  p.prox(v, 1.0, out);
  EXPECT_DOUBLE_EQ(out(0, 0), 5.0);  // no shrinkage
  EXPECT_DOUBLE_EQ(out(1, 0), 0.0);
}

TEST(Penalty, MovableRespectsSignConstraints) {
  PenaltySpec p;
  p.lower = Vector::Constant(2, 0.0);
  p.upper = Vector::Constant(2, HUGE_VAL);
  EXPECT_DOUBLE_EQ(p.movable(0, 2.0), 2.0);
  EXPECT_DOUBLE_EQ(p.movable(0, -2.0), 0.0);
  Matrix v(2, 1);
  v << -7.0, 1.5;
  EXPECT_DOUBLE_EQ(p.dual_norm(v), 1.5);  // a push against the bound of 0 costs nothing in the dual
}

TEST(LambdaMax, UsesDualNormAndL1Share) {
  Matrix q(3, 2);
  q << 1, -2, 0.5, 0.5, 3, 4;
  EXPECT_DOUBLE_EQ(lambda_max(q, Penalty::l1, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(lambda_max(q, Penalty::elasticnet, 0.5), 8.0);
  EXPECT_DOUBLE_EQ(lambda_max(q, Penalty::l21, 1.0), 5.0);
  EXPECT_DOUBLE_EQ(lambda_max(q, Penalty::l2, 0.0), 4.0 / 1e-3);  // glmnet's convention for ridge
  EXPECT_DOUBLE_EQ(lambda_max(q, Penalty::l1, 1.0, Vector::Constant(3, 2.0)), 2.0);
}

namespace {
// Feature groups {0, 1, 2}, {3}, {4, 5} with weights w_g, on features of different weights c_j (an internal rescale).
PenaltySpec grouped_spec(double lambda, double l1_ratio) {
  PenaltySpec p = PenaltySpec::make(Penalty::group, lambda, l1_ratio);
  p.feature_weight = Vector::LinSpaced(6, 0.3, 2.5);
  p.set_groups({0, 0, 0, 1, 2, 2}, {1.7, 1.0, 1.4});
  return p;
}
}  // namespace

TEST(Prox, GroupProxSatisfiesItsOptimalityConditions) {
  // z = prox(v): a nonzero group satisfies (v_g - z_g) / t = a w C^2 z_g / ||C z_g|| + b C^2 z_g; a zero group has
  // ||C^{-1} v_g|| <= t a w. Checked from the definitions, independent of the secular equation the prox solves.
  for (double ratio : {1.0, 0.5}) {
    const PenaltySpec p = grouped_spec(0.6, ratio);
    const std::vector<std::vector<int>> groups{{0, 1, 2}, {3}, {4, 5}};
    int zero = 0, nonzero = 0;
    for (int s = 0; s < 40; ++s) {
      const Matrix v = random_matrix(6, 2, 300 + s) * (0.02 + 0.06 * s);
      const double t = 0.9;
      Matrix z;
      p.prox(v, t, z);
      for (std::size_t g = 0; g < groups.size(); ++g) {
        const double w = p.group_weight[static_cast<Eigen::Index>(g)];
        double cz = 0, dual = 0;
        for (int j : groups[g]) {
          const double c = p.feature_weight[j];
          cz += c * c * z.row(j).squaredNorm();
          dual += v.row(j).squaredNorm() / (c * c);
        }
        cz = std::sqrt(cz);
        if (cz == 0) {
          ++zero;
          EXPECT_LE(std::sqrt(dual), t * p.l1_weight * w * (1 + 1e-12));
          continue;
        }
        ++nonzero;
        for (int j : groups[g]) {
          const double c2 = p.feature_weight[j] * p.feature_weight[j];
          const Matrix rest = (v.row(j) - z.row(j)) / t - (p.l1_weight * w * c2 / cz + p.l2_weight * c2) * z.row(j);
          EXPECT_LT(rest.norm(), 1e-10 * (1 + v.row(j).norm())) << "group " << g << " seed " << s;
        }
      }
    }
    EXPECT_GT(zero, 5);
    EXPECT_GT(nonzero, 5);
  }
}

TEST(Penalty, GroupDualNormConjugateAndValueAgree) {
  const PenaltySpec p = grouped_spec(0.8, 0.6);
  // value: a sum_g w_g ||C_g W_g|| + b/2 ||C W||^2.
  const Matrix w = random_matrix(6, 2, 7);
  const Vector c = p.feature_weight;
  const Matrix cw = c.asDiagonal() * w;
  const double l1 = 1.7 * cw.topRows(3).norm() + 1.0 * cw.row(3).norm() + 1.4 * cw.bottomRows(2).norm();
  EXPECT_NEAR(p.value(w), p.l1_weight * l1 + 0.5 * p.l2_weight * cw.squaredNorm(), 1e-12);
  // The dual norm: max_g ||C_g^{-1} V_g|| / w_g.
  const Matrix v = random_matrix(6, 2, 8);
  const Matrix cv = c.cwiseInverse().asDiagonal() * v;
  EXPECT_NEAR(p.dual_norm(v), std::max({cv.topRows(3).norm() / 1.7, cv.row(3).norm(), cv.bottomRows(2).norm() / 1.4}),
              1e-12);
  // Fenchel-Young: >= everywhere, with equality at a subgradient (u = (v - prox(v)) / t at z = prox(v)).
  for (int s = 0; s < 20; ++s) {
    const Matrix a = random_matrix(6, 2, 40 + s), b = random_matrix(6, 2, 80 + s);
    EXPECT_GE(p.value(a) + p.conjugate(b, a, 0), (a.array() * b.array()).sum() - 1e-12);
  }
  Matrix z;
  const Matrix big = random_matrix(6, 2, 9) * 3;
  p.prox(big, 0.5, z);
  const Matrix u = (big - z) / 0.5;
  EXPECT_NEAR(p.value(z) + p.conjugate(u, z, 0), (z.array() * u.array()).sum(), 1e-10);
  // Pure group lasso: the conjugate is the indicator of the dual ball.
  const PenaltySpec pure = grouped_spec(0.8, 1.0);
  const Matrix inside = v / (pure.dual_norm(v) / pure.l1_weight) * 0.99, outside = inside / 0.98;
  EXPECT_EQ(pure.conjugate(inside, z, 0), 0.0);
  EXPECT_TRUE(std::isinf(pure.conjugate(outside, z, 0)));
}
