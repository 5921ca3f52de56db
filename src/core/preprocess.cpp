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
    const RowMatrix ys = y.rowwise() - y_shift_.transpose();
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

Vector LocalDataBuilder::squares_about(const Vector& center) const {
  if (!tall_) return (x_rows_.topRows(added_).rowwise() - center.transpose()).colwise().squaredNorm().transpose();
  // sum (x~ - delta)^2 = diag(G~) - 2 delta .* sum x~ + m delta^2, with x~ = x - shift, delta = center - shift.
  const Vector delta = center - x_shift_;
  const double m = static_cast<double>(added_);
  return (gram_.diagonal().array() - 2 * delta.array() * x_sum_.array() + m * delta.array().square()).matrix();
}

CenteredBlock LocalDataBuilder::center(const Vector& x_mean, const Vector& y_mean) && {
  CenteredBlock c;
  c.tall_ = tall_;
  c.rows_ = added_;
  if (!tall_) {
    c.x_ = std::move(x_rows_);
    c.y_ = std::move(y_rows_);
    c.x_.conservativeResize(added_, d_);
    c.y_.conservativeResize(added_, k_);
    c.x_.rowwise() -= x_mean.transpose();
    c.y_.rowwise() -= y_mean.transpose();
    return c;
  }
  // Move the shifted sums to the global center: with delta = x_mean - shift and eps = y_mean - y_shift,
  // (X~ - 1 delta^T)^T (X~ - 1 delta^T) = G~ - delta s^T - s delta^T + m delta delta^T, and alike for X^T Y.
  const double m = static_cast<double>(added_);
  const Vector delta = x_mean - x_shift_;
  const Vector eps = y_mean - y_shift_;
  c.gram_ = std::move(gram_);
  lapack::symmetrize_from_upper(c.gram_);
  c.gram_.noalias() -= delta * x_sum_.transpose() + x_sum_ * delta.transpose();
  c.gram_.noalias() += m * delta * delta.transpose();
  c.xty_ = std::move(xty_);
  c.xty_.noalias() -= x_sum_ * eps.transpose() + delta * y_sum_.transpose();
  c.xty_.noalias() += m * delta * eps.transpose();
  c.yy_ = yy_ - 2 * eps.dot(y_sum_) + m * eps.squaredNorm();
  return c;
}

std::unique_ptr<LocalSolver> CenteredBlock::factor(const Vector& column_scale, double n) const {
  const auto s = column_scale.asDiagonal();
  if (tall_) return make_gram_solver(s * gram_ * s / n, s * xty_ / n, yy_ / n, rows_);
  const double f = 1.0 / std::sqrt(n);
  return make_woodbury_solver(x_ * s * f, y_ * f);
}

Matrix CenteredBlock::xty() const { return tall_ ? xty_ : Matrix(x_.transpose() * y_); }

Vector CenteredBlock::column_squares() const {
  return tall_ ? Vector(gram_.diagonal()) : Vector(x_.colwise().squaredNorm().transpose());
}

Vector PreparedProblem::penalty_scale() const {
  Vector p = Vector::Ones(n_features);
  if (standardize)
    for (Eigen::Index j = 0; j < n_features; ++j)
      if (x_var[j] > 0) p[j] = std::sqrt(x_var[j]);
  return p;
}

double local_memory_bytes(std::int64_t rows, std::int64_t d, std::int64_t k) {
  const double m = static_cast<double>(rows), dd = static_cast<double>(d), kk = static_cast<double>(k);
  const double iterates = 30 * dd * kk;  // x, z, u, their copies and 2 x 10 Anderson columns
  const bool tall = rows >= d && rows > 0;
  return 8 * (tall ? 2 * dd * dd + iterates : 2 * m * dd + m * m + 2 * m * kk + iterates);
}

PreparedProblem prepare(LocalDataBuilder data, bool fit_intercept, bool standardize, Communicator& comm) {
  const Eigen::Index d = data.features(), k = data.targets();
  PreparedProblem p;
  p.n_features = d;
  p.n_targets = k;
  p.standardize = standardize;

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
  const Vector mean = buf.head(d) / n;
  p.x_mean = fit_intercept ? mean : Vector::Zero(d);
  p.y_mean = fit_intercept ? Vector(buf.segment(d, k) / n) : Vector::Zero(k);

  // glmnet scales by the standard deviation about the true mean even without an intercept.
  const Vector squares = data.squares_about(mean);
  p.block = std::move(data).center(p.x_mean, p.y_mean);

  // Reduction 2: squares about the mean, the loss curvature diag(X_c^T X_c) and X_c^T Y_c.
  Vector g(2 * d + d * k);
  g.head(d) = squares;
  g.segment(d, d) = p.block.column_squares();
  const Matrix xty = p.block.xty();
  std::copy(xty.data(), xty.data() + d * k, g.data() + 2 * d);
  comm.sum(g.data(), static_cast<std::size_t>(g.size()));
  p.x_var = g.head(d) / n;
  p.x_curv = g.segment(d, d) / n;
  p.q_global = Eigen::Map<Matrix>(g.data() + 2 * d, d, k) / n;
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
  return p;
}

}  // namespace cadmm
