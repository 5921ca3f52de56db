#include <cmath>

#include "cadmm/error.hpp"
#include "cadmm/problem.hpp"
#include "core/lapack.hpp"

namespace cadmm {

LocalDataBuilder::LocalDataBuilder(std::int64_t local_rows, Eigen::Index d, Eigen::Index k)
    : expected_(local_rows), d_(d), k_(k), tall_(local_rows >= d && local_rows > 0) {
  if (tall_) {
    x_sum_ = Vector::Zero(d);
    y_sum_ = Vector::Zero(k);
    gram_ = Matrix::Zero(d, d);
    xty_ = Matrix::Zero(d, k);
  } else {
    x_rows_.resize(local_rows, d);
    y_rows_.resize(local_rows, k);
  }
}

void LocalDataBuilder::add_rows(RowMatrix& x, const RowMatrix& y) {
  const Eigen::Index m = x.rows();
  if (m == 0) return;
  if (added_ + m > expected_ || x.cols() != d_ || y.cols() != k_ || y.rows() != m)
    throw RuntimeFailure("LocalDataBuilder: block shape does not match the declared local rows");
  if (tall_) {
    if (added_ == 0) {
      x_shift_ = x.colwise().mean().transpose();
      y_shift_ = y.colwise().mean().transpose();
    }
    x.rowwise() -= x_shift_.transpose();
    RowMatrix ys = y.rowwise() - y_shift_.transpose();
    lapack::add_gram_upper(gram_, x.data(), m);
    xty_.noalias() += x.transpose() * ys;
    x_sum_ += x.colwise().sum().transpose();
    y_sum_ += ys.colwise().sum().transpose();
    yy_ += ys.squaredNorm();
  } else {
    x_rows_.middleRows(added_, m) = x;
    y_rows_.middleRows(added_, m) = y;
  }
  added_ += m;
}

Vector LocalDataBuilder::sums() const {
  Vector s(d_ + k_);
  if (tall_) {
    const double m = static_cast<double>(added_);
    s.head(d_) = x_sum_ + m * x_shift_;
    s.tail(k_) = y_sum_ + m * y_shift_;
  } else {
    s.head(d_) = x_rows_.topRows(added_).colwise().sum().transpose();
    s.tail(k_) = y_rows_.topRows(added_).colwise().sum().transpose();
  }
  return s;
}

Vector LocalDataBuilder::centered_squares(const Vector& x_mean) const {
  if (!tall_) return (x_rows_.topRows(added_).rowwise() - x_mean.transpose()).colwise().squaredNorm().transpose();
  // sum (x~ - delta)^2 = diag(G~) - 2 delta .* sum x~ + m delta^2, with x~ = x - shift, delta = mean - shift.
  const Vector delta = x_mean - x_shift_;
  const double m = static_cast<double>(added_);
  return (gram_.diagonal().array() - 2 * delta.array() * x_sum_.array() + m * delta.array().square()).matrix();
}

std::unique_ptr<LocalSolver> LocalDataBuilder::build(const Vector& x_mean, const Vector& inv_scale,
                                                     const Vector& y_mean, double n) const {
  if (!tall_) {
    const double f = 1.0 / std::sqrt(n);
    Matrix a = ((x_rows_.topRows(added_).rowwise() - x_mean.transpose()) * (f * inv_scale).asDiagonal());
    Matrix b = (y_rows_.topRows(added_).rowwise() - y_mean.transpose()) * f;
    return make_woodbury_solver(std::move(a), std::move(b));
  }
  // Move the shifted sums to the global center: with delta = x_mean - shift and eps = y_mean - y_shift,
  // (X~ - 1 delta^T)^T (X~ - 1 delta^T) = G~ - delta s^T - s delta^T + m delta delta^T, and alike for X^T Y.
  const double m = static_cast<double>(added_);
  const Vector delta = x_mean - x_shift_;
  const Vector eps = y_mean - y_shift_;
  Matrix g = gram_;
  lapack::symmetrize_from_upper(g);
  g.noalias() -= delta * x_sum_.transpose() + x_sum_ * delta.transpose();
  g.noalias() += m * delta * delta.transpose();
  Matrix xty = xty_;
  xty.noalias() -= x_sum_ * eps.transpose() + delta * y_sum_.transpose();
  xty.noalias() += m * delta * eps.transpose();
  const double yy = yy_ - 2 * eps.dot(y_sum_) + m * eps.squaredNorm();
  const auto s = inv_scale.asDiagonal();
  Matrix h = s * g * s / n;
  Matrix q = s * xty / n;
  return make_gram_solver(h, std::move(q), yy / n, added_);
}

void Transform::to_original(const Matrix& w, Matrix& coef, Vector& intercept) const {
  coef = inv_scale.asDiagonal() * w;
  intercept = y_mean - coef.transpose() * x_mean;
}

PreparedProblem prepare(const LocalDataBuilder& data, bool fit_intercept, bool standardize, Communicator& comm) {
  const Eigen::Index d = data.features(), k = data.targets();
  PreparedProblem p;
  p.n_features = d;
  p.n_targets = k;

  // Reduction 1: row count, ranks with rows, column sums.
  Vector buf(d + k + 2);
  buf.head(d + k) = data.sums();
  buf[d + k] = static_cast<double>(data.rows());
  buf[d + k + 1] = data.rows() > 0 ? 1.0 : 0.0;
  comm.sum(buf.data(), static_cast<std::size_t>(buf.size()));
  p.n_rows = static_cast<std::int64_t>(buf[d + k]);
  p.active_ranks = static_cast<int>(buf[d + k + 1]);
  if (p.n_rows == 0) throw DataError("the data set has no rows");
  const double n = static_cast<double>(p.n_rows);

  Transform& t = p.transform;
  t.x_mean = fit_intercept ? Vector(buf.head(d) / n) : Vector::Zero(d);
  t.y_mean = fit_intercept ? Vector(buf.segment(d, k) / n) : Vector::Zero(k);
  t.x_scale = Vector::Ones(d);
  t.inv_scale = Vector::Ones(d);

  if (standardize) {
    // Reduction 2: glmnet's scale sqrt(mean((x - mean)^2)), uncentered when there is no intercept.
    Vector sq = data.centered_squares(t.x_mean);
    comm.sum(sq.data(), static_cast<std::size_t>(sq.size()));
    for (Eigen::Index j = 0; j < d; ++j) {
      const double sd = std::sqrt(std::max(0.0, sq[j] / n));
      // A constant column centers to rounding noise; treat it as zero instead of amplifying the noise.
      if (sd == 0 || sd <= 1e-10 * std::abs(t.x_mean[j])) {
        t.x_scale[j] = 0;
        t.inv_scale[j] = 0;
        ++p.constant_columns;
      } else {
        t.x_scale[j] = sd;
        t.inv_scale[j] = 1 / sd;
      }
    }
  }

  // The factorization can fail on one rank only; agree before the next reduction.
  collectively(comm, [&] { p.local = data.build(t.x_mean, t.inv_scale, t.y_mean, n); });

  // Reduction 3: the gradient at zero (for lambda_max) and the trace (for the automatic rho).
  Vector g(d * k + 1);
  std::copy(p.local->q().data(), p.local->q().data() + d * k, g.data());
  g[d * k] = p.local->trace();
  comm.sum(g.data(), static_cast<std::size_t>(g.size()));
  p.q_global = Eigen::Map<Matrix>(g.data(), d, k);
  p.trace_global = g[d * k];
  return p;
}

}  // namespace cadmm
