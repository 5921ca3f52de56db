// Global means, variances and the centered local block (include/cadmm/data.hpp).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>

#include "cadmm/error.hpp"
#include "cadmm/data.hpp"

namespace cadmm {

Vector PreparedData::penalty_scale() const {
  const std::vector<double> factor = spec.penalty_factors(n_features);
  Vector p = Eigen::Map<const Vector>(factor.data(), n_features);
  if (spec.standardize)
    for (Eigen::Index j = 0; j < n_features; ++j)
      if (x_var[j] > 0) p[j] *= std::sqrt(x_var[j]);
  return p;
}

namespace {

// Two columns' projections count as equal within this multiple of a bound on the terms they sum (rounding of about
// 1e-16 of it, and far above it for the sums of many rows), their curvatures within this relative distance (a
// second look only: those of the moment-based forms carry cancellation). A column's projections within kFlat of
// its mean's size make it constant.
constexpr double kTiedProjection = 1e-12, kTiedCurvature = 1e-6, kFlat = 1e-12;

// The columns' projections (ColumnProjections) summed over the ranks about the columns' means: t = sum w u (x - mean)
// for each label, from each rank's sums about its own shift s, sum w u (x - s) - (mean - s) sum w u; with
// shifted = sum over the ranks of W (mean - s)^2 (W a rank's rows' weight), which the terms' bound needs
// (sum w (x - s)^2 <= 2 sum w (x - mean)^2 + 2 shifted), and the labels' sums sum w u and sum w u^2.
struct Projected {
  Matrix t;
  Vector shifted, w, w2;
};

Projected reduce_projections(const ColumnProjections& proj, const Vector& mean, double local_weight, Communicator& comm) {
  const Eigen::Index d = mean.size();
  Vector buf(3 * d + 4);
  for (Eigen::Index j = 0; j < d; ++j) {
    const double off = mean[j] - proj.shift[j];
    for (int a = 0; a < 2; ++a) buf[a * d + j] = proj.x(j, a) - off * proj.w[a];
    buf[2 * d + j] = local_weight * off * off;
  }
  buf.segment(3 * d, 2) = proj.w;
  buf.tail(2) = proj.w2;
  comm.sum(buf.data(), static_cast<std::size_t>(buf.size()));
  return Projected{Eigen::Map<const Matrix>(buf.data(), d, 2), buf.segment(2 * d, d), buf.segment(3 * d, 2), buf.tail(2)};
}

// Whether column j is constant by its projections: both within kFlat of what its mean would give them. Where a
// form's variance is summed from moments (the Gram form of CSR rows) a constant column's cancels to noise of about
// 1e-8 of its mean, above the variance test's 1e-10; its projections, sums of w u (x - mean), are 0 to rounding.
bool flat(const Projected& q, Eigen::Index j, double mean, double n) {
  for (int a = 0; a < 2; ++a)
    if (!(std::abs(q.t(j, a)) <= kFlat * std::sqrt(q.w2[a] * n) * std::abs(mean))) return false;
  return true;
}

// The lasso's tie: two columns equal, up to sign, once centred (with an intercept) and divided by their penalty's
// scale (factor, times sd with standardize), make every split of their weight optimal, and a solver's choice among
// those optima then depends on the rank count and the form. glmnet and scikit-learn (cyclic coordinate descent)
// give the first column all of it; so does cadmm, by excluding the later one. Only without a ridge part (which makes
// the split unique and even), for penalized features outside groups, unbounded or bounded by 0 alike (--positive).
// The columns are compared through their projections: equal columns share them to rounding.
void exclude_tied_columns(PreparedData& p, const Projected& q, const Vector& mean) {
  const ProblemSpec& spec = p.spec;
  if (!spec.has_l1() || spec.effective_l1_ratio() < 1 || !spec.groups.empty()) return;
  const Eigen::Index d = p.n_features;
  const Vector scale = p.penalty_scale();
  const std::vector<double> factor = spec.penalty_factors(d);
  Matrix t(d, 2), bound(d, 2);
  Vector curvature(d), key(d);
  std::vector<Eigen::Index> eligible;
  // Bounds: none (0), >= 0 (1) or <= 0 (2), which scaling by a positive factor keeps; other bounds leave a column
  // out of the test.
  std::vector<int> sign_bound(static_cast<std::size_t>(d), 0);
  for (Eigen::Index j = 0; j < d; ++j) {
    const double lo = spec.lower(j), hi = spec.upper(j);
    const int kind = std::isinf(lo) && std::isinf(hi) ? 0 : lo == 0 && std::isinf(hi) ? 1 : std::isinf(lo) && hi == 0 ? 2 : -1;
    sign_bound[static_cast<std::size_t>(j)] = kind;
    if (!(p.x_curv[j] > 0) || !(factor[static_cast<std::size_t>(j)] > 0) || kind < 0) continue;
    const double squares = 2 * (p.n_weight * p.x_var[j] + q.shifted[j]);
    for (int a = 0; a < 2; ++a) {  // about the centre used: the mean, or 0 without an intercept
      t(j, a) = (q.t(j, a) + (mean[j] - p.x_mean[j]) * q.w[a]) / scale[j];
      bound(j, a) = std::sqrt(q.w2[a] * squares) / scale[j];
    }
    curvature[j] = p.x_curv[j] / (scale[j] * scale[j]);
    key[j] = std::abs(t(j, 0)) + std::abs(t(j, 1));
    eligible.push_back(j);
  }
  std::sort(eligible.begin(), eligible.end(), [&](Eigen::Index a, Eigen::Index b) {
    return key[a] < key[b] || (key[a] == key[b] && a < b);
  });
  // Classes of tied columns, each rooted at its first column.
  std::vector<Eigen::Index> root(static_cast<std::size_t>(d));
  std::iota(root.begin(), root.end(), Eigen::Index{0});
  const auto up = [&](Eigen::Index j) -> Eigen::Index& { return root[static_cast<std::size_t>(j)]; };
  const auto find = [&](Eigen::Index j) {
    while (up(j) != j) j = up(j) = up(up(j));
    return j;
  };
  for (std::size_t i = 0; i < eligible.size(); ++i) {
    const Eigen::Index j = eligible[i];
    // A tied column's key is within the sum of both labels' tolerances, and its bounds are about j's (its terms are
    // j's, scaled): eight times j's own is room enough.
    const double window = 8 * kTiedProjection * (bound(j, 0) + bound(j, 1));
    for (std::size_t l = i + 1; l < eligible.size() && key[eligible[l]] - key[j] <= window; ++l) {
      const Eigen::Index m = eligible[l];
      const int big = std::abs(t(j, 0)) >= std::abs(t(j, 1)) ? 0 : 1;
      const double sign = t(j, big) * t(m, big) >= 0 ? 1.0 : -1.0;
      // Sign-bounded columns tie only with columns bounded alike and equal with the same sign: the first then takes
      // the sum of both (feasible, as both are); a negated pair's optimum is not a split.
      const int kind = sign_bound[static_cast<std::size_t>(j)];
      if (kind != sign_bound[static_cast<std::size_t>(m)] || (kind != 0 && sign < 0)) continue;
      bool tied = std::abs(curvature[j] - curvature[m]) <= kTiedCurvature * std::max(curvature[j], curvature[m]);
      for (int a = 0; a < 2; ++a)
        tied = tied && std::abs(t(j, a) - sign * t(m, a)) <= kTiedProjection * (bound(j, a) + bound(m, a));
      if (!tied) continue;
      const Eigen::Index first = find(j), second = find(m);
      up(std::max(first, second)) = std::min(first, second);
    }
  }
  for (Eigen::Index j = 0; j < d; ++j)
    if (const Eigen::Index first = find(j); first != j) {
      p.x_curv[j] = 0;
      p.q_global.row(j).setZero();
      p.tied_columns.emplace_back(j, first);
    }
}

}  // namespace

PreparedData prepare(RowSums data, const ProblemSpec& spec, Communicator& comm) {
  const bool fit_intercept = spec.fit_intercept, standardize = spec.standardize;
  const Eigen::Index d = data.features(), k = data.targets();
  spec.validate_features(d);
  PreparedData p;
  p.n_features = d;
  p.n_targets = k;
  p.spec = spec;

  // Reduction 1: row count, ranks with rows, the rows' weight, column sums (weighted: sum w x).
  Vector buf(d + k + 3);
  buf.head(d + k) = data.sums();
  buf[d + k] = static_cast<double>(data.rows());
  buf[d + k + 1] = data.rows() > 0 ? 1.0 : 0.0;
  buf[d + k + 2] = data.weight();
  comm.sum(buf.data(), static_cast<std::size_t>(buf.size()));
  p.n_rows = static_cast<std::int64_t>(buf[d + k]);
  p.active_ranks = static_cast<int>(buf[d + k + 1]);
  if (p.n_rows == 0) throw DataError("the data set has no rows");
  // glmnet and scikit-learn rescale the weights to sum to n and divide the loss by n: the same as dividing by the
  // weights' sum, which is n itself without weights. Means, variances and the loss all use it.
  p.n_weight = buf[d + k + 2];
  if (!(p.n_weight > 0)) throw DataError("the weights (--weights-dataset) of these rows sum to zero");
  const double n = p.n_weight;
  const Vector mean = buf.head(d) / n;
  p.x_mean = fit_intercept ? mean : Vector::Zero(d);
  p.y_mean = fit_intercept ? Vector(buf.segment(d, k) / n) : Vector::Zero(k);

  // glmnet scales by the standard deviation about the true mean even without an intercept.
  const Vector squares = data.squares_about(mean);
  std::optional<Projected> projected;
  if (!data.projections().empty()) projected = reduce_projections(data.projections(), mean, data.weight(), comm);
  p.block = std::move(data).center(p.x_mean, p.y_mean);

  // Reduction 2: squares about the mean, the loss curvature diag(X_c^T X_c), X_c^T Y_c and ||Y_c||^2.
  Vector g(2 * d + d * k + 1);
  g.head(d) = squares;
  g.segment(d, d) = p.block.column_squares();
  const Matrix xty = p.block.xty();
  std::copy(xty.data(), xty.data() + d * k, g.data() + 2 * d);
  g[2 * d + d * k] = p.block.y_squares();
  comm.sum(g.data(), static_cast<std::size_t>(g.size()));
  // Finite values whose squares overflow would make every later step (the factorization first) fail or quietly
  // drop the column. The sums are reduced, so every rank finds the same thing and throws alike.
  for (Eigen::Index j = 0; j < d; ++j)
    if (!std::isfinite(buf[j]) || !std::isfinite(g[j]) || !std::isfinite(g[d + j]))
      throw DataError("column " + std::to_string(j) + " of X (0-based) holds values too large for double precision "
                      "arithmetic (its sum of squares overflows); rescale X");
  if (!buf.segment(d, k).allFinite() || !g.tail(d * k + 1).allFinite())
    throw DataError("y (or X^T y) holds values too large for double precision arithmetic (its sum of squares "
                    "overflows); rescale the data");
  p.x_var = g.head(d) / n;
  p.x_curv = g.segment(d, d) / n;
  p.q_global = Eigen::Map<Matrix>(g.data() + 2 * d, d, k) / n;
  p.y_ss = g[2 * d + d * k] / n;
  for (Eigen::Index j = 0; j < d; ++j) {
    // A constant column centers to rounding noise; treat it as exactly constant instead of amplifying noise.
    const bool constant = p.x_var[j] <= 0 || std::sqrt(p.x_var[j]) <= 1e-10 * std::abs(mean[j]) ||
                          (projected && flat(*projected, j, mean[j], n));
    if (constant) p.x_var[j] = 0;
    // Without intercept or standardization a constant column is an ordinary feature (it acts as an offset).
    if ((constant && (fit_intercept || standardize)) || p.x_curv[j] <= 0) {
      p.x_curv[j] = 0;
      p.q_global.row(j).setZero();
      ++p.constant_columns;
    }
  }
  // Excluded features (glmnet's `exclude`) leave the problem as constant columns do: coefficient 0.
  for (long long j : spec.exclude)
    if (p.x_curv[j] > 0) {
      p.x_curv[j] = 0;
      p.q_global.row(j).setZero();
      ++p.excluded_columns;
    }
  if (projected) exclude_tied_columns(p, *projected, mean);
  return p;
}

}  // namespace cadmm
