// glmnet's relaxed fits: least squares on each fit's set of kept features (include/cadmm/path.hpp).
#include <algorithm>
#include <cmath>

#include "cadmm/error.hpp"
#include "cadmm/path.hpp"

namespace cadmm {

namespace {

// Solves H x = q (H symmetric positive semidefinite): Cholesky, or the minimum-norm solution when H is singular or
// nearly so (collinear kept features: a Cholesky of rounding-level pivots would return coefficients of 1e15).
Vector solve_spd(const Matrix& h, const Vector& q) {
  if (h.rows() == 0) return Vector();
  const Eigen::LLT<Matrix> llt(h);
  if (llt.info() == Eigen::Success && llt.rcond() > 1e-12) return llt.solve(q);
  Eigen::CompleteOrthogonalDecomposition<Matrix> cod(h);
  cod.setThreshold(1e-12);
  return cod.solve(q);
}

// min 1/2 x^T H x - q^T x over lo <= x <= hi (lo <= 0 <= hi): a primal active-set method from the feasible x = 0.
// Each round solves on the free coordinates with the others at their bounds; a step that would leave the box stops
// at the first bound it meets and fixes that coordinate; at the free set's optimum the fixed coordinate whose gradient
// points most into the box is freed, until none does (the KKT conditions of the box).
Vector box_least_squares(const Matrix& h, const Vector& q, const Vector& lo, const Vector& hi) {
  const Eigen::Index m = q.size();
  Vector x = Vector::Zero(m);
  std::vector<int> at(static_cast<std::size_t>(m), 0);  // 0: free, -1: at lo, +1: at hi
  for (Eigen::Index j = 0; j < m; ++j)
    if (lo[j] == 0 && hi[j] == 0) at[static_cast<std::size_t>(j)] = -1;  // no room: fixed for good
  for (int round = 0; round < 20 * static_cast<int>(m) + 20; ++round) {
    std::vector<Eigen::Index> free;
    for (Eigen::Index j = 0; j < m; ++j)
      if (at[static_cast<std::size_t>(j)] == 0) free.push_back(j);
    const Vector rhs = q(free) - h(free, Eigen::all) * x + h(free, free) * x(free);
    const Vector target = solve_spd(h(free, free), rhs);
    double step = 1;
    Eigen::Index hit = -1;
    bool hit_low = false;
    for (std::size_t i = 0; i < free.size(); ++i) {
      const Eigen::Index j = free[i];
      const double move = target[static_cast<Eigen::Index>(i)] - x[j];
      const double room = move < 0 ? lo[j] - x[j] : hi[j] - x[j];
      if (move != 0 && room / move < step) step = std::max(0.0, room / move), hit = j, hit_low = move < 0;
    }
    for (std::size_t i = 0; i < free.size(); ++i)
      x[free[i]] += step * (target[static_cast<Eigen::Index>(i)] - x[free[i]]);
    if (hit >= 0) {
      x[hit] = hit_low ? lo[hit] : hi[hit];
      at[static_cast<std::size_t>(hit)] = hit_low ? -1 : 1;
      continue;
    }
    // Optimal on the free set: free the fixed coordinate whose descent direction points most into the box.
    const Vector g = q - h * x;  // minus the gradient
    Eigen::Index worst = -1;
    double most = 0;
    for (Eigen::Index j = 0; j < m; ++j) {
      const int side = at[static_cast<std::size_t>(j)];
      if (side == 0 || lo[j] == hi[j]) continue;
      const double push = side < 0 ? g[j] : -g[j];  // > 0: moving off the bound lowers the objective
      if (push > most) most = push, worst = j;
    }
    if (worst < 0) return x;
    at[static_cast<std::size_t>(worst)] = 0;
  }
  return x;  // not settled (a singular H can cycle): the last feasible point, no worse than where it started
}

// The relaxed fit of the features in `set` (scaled coordinates of the model), on the original scale.
FitResult relaxed_on(const Model& model, const std::vector<Eigen::Index>& set, Communicator& comm) {
  const PreparedData& data = model.data;
  const Eigen::Index d = data.n_features, k = data.n_targets, m = static_cast<Eigen::Index>(set.size());
  Matrix h = model.local->rows() > 0 ? model.local->hessian_block(set) : Matrix::Zero(m, m);
  comm.sum(h.data(), static_cast<std::size_t>(h.size()));
  const Vector s = model.scaling.column(set);
  const Matrix q = s.asDiagonal() * data.q_global(set, Eigen::all);  // the scaled X_c^T Y_c / n
  const bool bounded = model.scaling.lower.size() > 0;
  Matrix z(m, k);
  for (Eigen::Index t = 0; t < k; ++t)
    z.col(t) = bounded ? box_least_squares(h, q.col(t), model.scaling.lower(set), model.scaling.upper(set))
                       : solve_spd(h, q.col(t));
  FitResult r;
  r.coef = Matrix::Zero(d, k);
  r.coef(set, Eigen::all) = s.asDiagonal() * z;
  r.intercept = data.y_mean - r.coef.transpose() * data.x_mean;
  return r;
}

}  // namespace

std::vector<FitResult> relaxed_fits(const Model& model, const std::vector<FitResult>& fits, Communicator& comm) {
  const std::int64_t max_set = model.data.n_rows - 3;  // glmnet's maxp
  std::vector<FitResult> out;
  std::vector<Eigen::Index> last_set;
  bool have = false;
  for (const FitResult& f : fits) {
    std::vector<Eigen::Index> set;
    for (Eigen::Index j = 0; j < f.coef.rows(); ++j)
      if (!f.coef.row(j).isZero(0)) set.push_back(j);
    // The same set as the fit before, or one past glmnet's maxp (whose last relaxed fit then stands in): no new fit.
    if (have && (set == last_set || static_cast<std::int64_t>(set.size()) > max_set)) {
      out.push_back(out.back());
    } else {
      out.push_back(relaxed_on(model, set, comm));
      last_set = set;
      have = true;
    }
    out.back().lambda = f.lambda;
    out.back().lambda_max = f.lambda_max;
    out.back().l1_ratio = f.l1_ratio;
  }
  return out;
}

FitResult blend(const FitResult& fit, const FitResult& relaxed, double gamma) {
  const double g = std::max(gamma, 1e-5);
  FitResult r = fit;
  r.coef = g * fit.coef + (1 - g) * relaxed.coef;
  r.intercept = g * fit.intercept + (1 - g) * relaxed.intercept;
  return r;
}

}  // namespace cadmm
