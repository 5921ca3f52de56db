// RowSums, the builder that fills them in one pass, and centering (include/cadmm/problem.hpp).
#include <cmath>

#include "cadmm/error.hpp"
#include "cadmm/problem.hpp"
#include "core/lapack.hpp"

namespace cadmm {

RowSums::RowSums(Eigen::Index d, Eigen::Index k, bool gram_form) : d_(d), k_(k), gram_form_(gram_form) {
  if (gram_form_) {
    x_shift_ = Vector::Zero(d);
    y_shift_ = Vector::Zero(k);
    x_sum_ = Vector::Zero(d);
    y_sum_ = Vector::Zero(k);
    gram_ = Matrix::Zero(d, d);
    xty_ = Matrix::Zero(d, k);
  } else {
    x_rows_.resize(0, d);
    y_rows_.resize(0, k);
  }
}

void RowSums::add_rows(RowMatrix& x, const RowMatrix& y) {
  const Eigen::Index m = x.rows();
  if (m == 0) return;
  if (x.cols() != d_ || y.cols() != k_ || y.rows() != m)
    throw RuntimeFailure("RowSums: block shape does not match the declared features and targets");
  if (gram_form_) {
    x.rowwise() -= x_shift_.transpose();
    const RowMatrix ys = y.rowwise() - y_shift_.transpose();
    lapack::add_gram_upper(gram_, x.data(), m);
    xty_.noalias() += x.transpose() * ys;
    x_sum_ += x.colwise().sum().transpose();
    y_sum_ += ys.colwise().sum().transpose();
    yy_ += ys.squaredNorm();
  } else {
    // Geometric growth: a wide block is small (rows < d), so this copy is not the cost that matters.
    const Eigen::Index have = rows_, need = rows_ + m;
    if (need > x_rows_.rows()) {
      const Eigen::Index cap = std::max(need, 2 * x_rows_.rows());
      x_rows_.conservativeResize(cap, d_);
      y_rows_.conservativeResize(cap, k_);
    }
    x_rows_.middleRows(have, m) = x;
    y_rows_.middleRows(have, m) = y;
  }
  rows_ += m;
}

RowSums& RowSums::operator+=(const RowSums& o) {
  if (o.rows_ == 0) return *this;
  if (o.d_ != d_ || o.k_ != k_ || o.gram_form_ != gram_form_ || (gram_form_ && o.x_shift_ != x_shift_))
    throw RuntimeFailure("RowSums: only sums of the same rank (same shape, form and shift) add");
  if (gram_form_) {
    gram_ += o.gram_;
    xty_ += o.xty_;
    x_sum_ += o.x_sum_;
    y_sum_ += o.y_sum_;
    yy_ += o.yy_;
  } else {
    x_rows_.conservativeResize(rows_ + o.rows_, d_);
    y_rows_.conservativeResize(rows_ + o.rows_, k_);
    x_rows_.bottomRows(o.rows_) = o.x_rows_.topRows(o.rows_);
    y_rows_.bottomRows(o.rows_) = o.y_rows_.topRows(o.rows_);
  }
  rows_ += o.rows_;
  return *this;
}

Vector RowSums::sums() const {
  Vector s(d_ + k_);
  if (gram_form_) {
    const double m = static_cast<double>(rows_);
    s.head(d_) = x_sum_ + m * x_shift_;
    s.tail(k_) = y_sum_ + m * y_shift_;
  } else {
    s.head(d_) = x_rows_.topRows(rows_).colwise().sum().transpose();
    s.tail(k_) = y_rows_.topRows(rows_).colwise().sum().transpose();
  }
  return s;
}

Vector RowSums::squares_about(const Vector& center) const {
  if (!gram_form_)
    return (x_rows_.topRows(rows_).rowwise() - center.transpose()).colwise().squaredNorm().transpose();
  // sum (x~ - delta)^2 = diag(G~) - 2 delta .* sum x~ + m delta^2, with x~ = x - shift, delta = center - shift.
  const Vector delta = center - x_shift_;
  const double m = static_cast<double>(rows_);
  return (gram_.diagonal().array() - 2 * delta.array() * x_sum_.array() + m * delta.array().square()).matrix();
}

Vector RowSums::squared_errors(const Matrix& coef, const Vector& intercept) const {
  const Eigen::Index cols = coef.cols(), models = cols / k_;
  Vector per_column(cols);
  if (!gram_form_) {
    const auto x = x_rows_.topRows(rows_);
    Matrix r = -(x * coef);
    for (Eigen::Index c = 0; c < cols; ++c)
      per_column[c] = ((r.col(c) + y_rows_.topRows(rows_).col(c % k_)).array() - intercept[c]).square().sum();
  } else {
    // With x = x~ + s_x, y = y~ + s_y: y - w^T x - b = (y~ - w^T x~) + c, c = s_y - w^T s_x - b, so
    // ||.||^2 = yy~ - 2 w^T X~^T y~ + w^T G~ w + 2 c (sum y~ - w^T sum x~) + m c^2, with one product G~ W.
    const Matrix gw = gram_.selfadjointView<Eigen::Upper>() * coef;
    const double m = static_cast<double>(rows_);
    // ||Y~||^2 is kept as one total over the targets, so it is added once per model below.
    for (Eigen::Index c = 0; c < cols; ++c) {
      const Eigen::Index t = c % k_;
      const double c0 = y_shift_[t] - coef.col(c).dot(x_shift_) - intercept[c];
      per_column[c] = -2 * coef.col(c).dot(xty_.col(t)) + coef.col(c).dot(gw.col(c)) +
                      2 * c0 * (y_sum_[t] - coef.col(c).dot(x_sum_)) + m * c0 * c0;
    }
  }
  Vector out = Vector::Zero(models);
  for (Eigen::Index c = 0; c < cols; ++c) out[c / k_] += per_column[c];
  if (gram_form_) out.array() += yy_;
  return out;
}

CenteredBlock RowSums::center(const Vector& x_mean, const Vector& y_mean) const {
  CenteredBlock c;
  c.tall_ = gram_form_;
  c.rows_ = rows_;
  if (!gram_form_) {
    c.x_ = x_rows_.topRows(rows_);
    c.y_ = y_rows_.topRows(rows_);
    c.x_.rowwise() -= x_mean.transpose();
    c.y_.rowwise() -= y_mean.transpose();
    return c;
  }
  // Move the shifted sums to the center: with delta = x_mean - shift and eps = y_mean - y_shift,
  // (X~ - 1 delta^T)^T (X~ - 1 delta^T) = G~ - delta s^T - s delta^T + m delta delta^T, and alike for X^T Y.
  const double m = static_cast<double>(rows_);
  const Vector delta = x_mean - x_shift_;
  const Vector eps = y_mean - y_shift_;
  c.gram_ = gram_;
  lapack::symmetrize_from_upper(c.gram_);
  c.gram_.noalias() -= delta * x_sum_.transpose() + x_sum_ * delta.transpose();
  c.gram_.noalias() += m * delta * delta.transpose();
  c.xty_ = xty_;
  c.xty_.noalias() -= x_sum_ * eps.transpose() + delta * y_sum_.transpose();
  c.xty_.noalias() += m * delta * eps.transpose();
  c.yy_ = yy_ - 2 * eps.dot(y_sum_) + m * eps.squaredNorm();
  return c;
}

LocalDataBuilder::LocalDataBuilder(std::int64_t local_rows, Eigen::Index d, Eigen::Index k, int pieces)
    : expected_(local_rows), d_(d), k_(k), tall_(local_rows >= d && local_rows > 0) {
  if (pieces < 1) throw RuntimeFailure("LocalDataBuilder: at least one piece");
  pieces_.assign(static_cast<std::size_t>(pieces), RowSums(d, k, tall_));
}

void LocalDataBuilder::fix_shift(const RowMatrix& x, const RowMatrix& y) {
  // The first block's mean is a per-rank guess of the global mean; every piece shares it so pieces add.
  const Vector xs = x.colwise().mean().transpose(), ys = y.colwise().mean().transpose();
  for (RowSums& p : pieces_) {
    p.x_shift_ = xs;
    p.y_shift_ = ys;
  }
}

void LocalDataBuilder::add_rows(RowMatrix& x, const RowMatrix& y) { add_rows(x, y, nullptr); }

void LocalDataBuilder::add_rows(RowMatrix& x, const RowMatrix& y, const int* piece_of_row) {
  const Eigen::Index m = x.rows();
  if (m == 0) return;
  if (added_ + m > expected_ || x.cols() != d_ || y.cols() != k_ || y.rows() != m)
    throw RuntimeFailure("LocalDataBuilder: block shape does not match the declared local rows");
  if (tall_ && added_ == 0) fix_shift(x, y);
  if (!piece_of_row || pieces_.size() == 1) {
    pieces_[0].add_rows(x, y);
  } else {
    // Gather each piece's rows into one reused buffer so the Gram update stays one dsyrk per piece.
    for (int p = 0; p < pieces(); ++p) {
      Eigen::Index count = 0;
      for (Eigen::Index i = 0; i < m; ++i) count += piece_of_row[i] == p;
      if (count == 0) continue;
      scratch_x_.resize(count, d_);
      scratch_y_.resize(count, k_);
      for (Eigen::Index i = 0, at = 0; i < m; ++i)
        if (piece_of_row[i] == p) {
          scratch_x_.row(at) = x.row(i);
          scratch_y_.row(at++) = y.row(i);
        }
      pieces_[static_cast<std::size_t>(p)].add_rows(scratch_x_, scratch_y_);
    }
  }
  added_ += m;
}

RowSums LocalDataBuilder::total(int except) const {
  RowSums t(d_, k_, tall_);
  t.x_shift_ = pieces_[0].x_shift_;
  t.y_shift_ = pieces_[0].y_shift_;
  for (int p = 0; p < pieces(); ++p)
    if (p != except) t += pieces_[static_cast<std::size_t>(p)];
  return t;
}

RowSums LocalDataBuilder::take() && {
  if (pieces_.size() != 1) return total();
  return std::move(pieces_[0]);
}

std::unique_ptr<LocalSolver> CenteredBlock::factor(const Vector& column_scale, double n) && {
  const auto s = column_scale.asDiagonal();
  if (tall_) {
    // In place: the scaled Hessian replaces the centered Gram, so the factor costs no second d x d copy.
    gram_ = s * gram_ * s;
    gram_ /= n;
    xty_ = s * xty_ / n;
    return make_gram_solver(std::move(gram_), std::move(xty_), yy_ / n, rows_);
  }
  const double f = 1.0 / std::sqrt(n);
  return make_woodbury_solver(x_ * s * f, y_ * f);
}

Matrix CenteredBlock::xty() const { return tall_ ? xty_ : Matrix(x_.transpose() * y_); }

Vector CenteredBlock::column_squares() const {
  return tall_ ? Vector(gram_.diagonal()) : Vector(x_.colwise().squaredNorm().transpose());
}

double CenteredBlock::y_squares() const { return tall_ ? yy_ : y_.squaredNorm(); }

}  // namespace cadmm
