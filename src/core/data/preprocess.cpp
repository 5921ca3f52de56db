// Global means, variances and the centered local block (include/cadmm/data.hpp).
#include <algorithm>
#include <cmath>
#include <numeric>

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
// second look only: those of the moment-based forms carry cancellation).
constexpr double kTiedProjection = 1e-12, kTiedCurvature = 1e-6;

// The lasso's tie: two columns equal, up to sign, once centred (with an intercept) and divided by their penalty's
// scale (factor, times sd with standardize), make every split of their weight optimal, and a solver's choice among
// those optima then depends on the rank count and the form. glmnet and scikit-learn (cyclic coordinate descent)
// give the first column all of it; so does cadmm, by excluding the later one. Only without a ridge part (which makes
// the split unique and even), for penalized, unbounded features outside groups. The columns are compared through
// two random projections (ColumnProjections), centred on each rank at the global centre and then reduced: equal
// columns share them to rounding. local_weight: this rank's rows' weight.
void exclude_tied_columns(PreparedData& p, const ColumnProjections& proj, double local_weight, Communicator& comm) {
  const ProblemSpec& spec = p.spec;
  if (proj.empty() || !spec.has_l1() || spec.effective_l1_ratio() < 1 || !spec.groups.empty()) return;
  const Eigen::Index d = p.n_features;
  // sum w u (x - c) = sum w u (x - s) - (c - s) sum w u for each label; the terms' bound takes sum w (x - s)^2 <=
  // 2 sum w (x - c)^2 + 2 W (c - s)^2, W the rows' weight, whose second part each rank adds for its own shift.
  Vector buf(3 * d + 2);
  for (Eigen::Index j = 0; j < d; ++j) {
    const double off = p.x_mean[j] - proj.shift[j];
    for (int a = 0; a < 2; ++a) buf[a * d + j] = proj.x(j, a) - off * proj.w[a];
    buf[2 * d + j] = local_weight * off * off;
  }
  buf.tail(2) = proj.w2;
  comm.sum(buf.data(), static_cast<std::size_t>(buf.size()));
  const Vector scale = p.penalty_scale();
  const std::vector<double> factor = spec.penalty_factors(d);
  Matrix t(d, 2), bound(d, 2);
  Vector curvature(d), key(d);
  std::vector<Eigen::Index> eligible;
  for (Eigen::Index j = 0; j < d; ++j) {
    if (!(p.x_curv[j] > 0) || !(factor[static_cast<std::size_t>(j)] > 0) || std::isfinite(spec.lower(j)) ||
        std::isfinite(spec.upper(j)))
      continue;
    const double squares = 2 * (p.n_weight * p.x_curv[j] + buf[2 * d + j]);
    for (int a = 0; a < 2; ++a) {
      t(j, a) = buf[a * d + j] / scale[j];
      bound(j, a) = std::sqrt(buf[3 * d + a] * squares) / scale[j];
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
  const ColumnProjections projections = data.projections();  // the block consumes the sums
  const double local_weight = data.weight();
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
    const bool constant = p.x_var[j] <= 0 || std::sqrt(p.x_var[j]) <= 1e-10 * std::abs(mean[j]);
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
  exclude_tied_columns(p, projections, local_weight, comm);
  return p;
}

}  // namespace cadmm
