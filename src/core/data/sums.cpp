// RowSums, the builder that fills them in one pass, and centering (include/cadmm/problem.hpp).
#include <cmath>

#include "cadmm/error.hpp"
#include "cadmm/problem.hpp"

#include <sys/mman.h>

#include <cstdint>
#include "core/lapack.hpp"

namespace cadmm {

RowSums::RowSums(Eigen::Index d, Eigen::Index k, LocalForm form, bool single)
    : d_(d), k_(k), form_(form), csr_(d, single) {
  if (shifted_sums(form_)) {
    x_shift_ = Vector::Zero(d);
    y_shift_ = Vector::Zero(k);
    x_sum_ = Vector::Zero(d);
    y_sum_ = Vector::Zero(k);
    if (form_ == LocalForm::gram)
      gram_ = Matrix::Zero(d, d);
    else
      x_squares_ = Vector::Zero(d);
    xty_ = Matrix::Zero(d, k);
  } else {
    x_rows_.resize(0, keeps_dense_rows(form_) ? d : 0);
    y_rows_.resize(0, k);
  }
}

void RowSums::append_y(const RowMatrix& y) {
  // Geometric growth: the rows form holds this rank's rows anyway, so the copy is not the cost that matters.
  const Eigen::Index need = rows_ + y.rows();
  if (need > y_rows_.rows()) {
    const Eigen::Index cap = std::max(need, 2 * y_rows_.rows());
    y_rows_.conservativeResize(cap, k_);
    if (keeps_dense_rows(form_)) x_rows_.conservativeResize(cap, d_);
  }
  y_rows_.middleRows(rows_, y.rows()) = y;
}

void RowSums::add_rows(RowMatrix& x, const RowMatrix& y) {
  const Eigen::Index m = x.rows();
  if (m == 0) return;
  if (x.cols() != d_ || y.cols() != k_ || y.rows() != m)
    throw RuntimeFailure("RowSums: block shape does not match the declared features and targets");
  if (shifted_sums(form_)) {
    x.rowwise() -= x_shift_.transpose();
    const RowMatrix ys = y.rowwise() - y_shift_.transpose();
    if (form_ == LocalForm::gram) {
      lapack::add_gram_upper(gram_, x.data(), m);
    } else {
      x_squares_ += x.colwise().squaredNorm().transpose();
      if (!fetched_.empty()) lapack::add_transpose_product(cross_, x.data(), m, x(Eigen::all, fetched_));
    }
    xty_.noalias() += x.transpose() * ys;
    x_sum_ += x.colwise().sum().transpose();
    y_sum_ += ys.colwise().sum().transpose();
    yy_ += ys.squaredNorm();
  } else if (keeps_dense_rows(form_)) {
    append_y(y);
    x_rows_.middleRows(rows_, m) = x;
  } else {
    append_y(y);
    csr_.append(x);
  }
  rows_ += m;
}

void RowSums::add_rows(const SparseRows& x, const RowMatrix& y) {
  const Eigen::Index m = x.rows();
  if (m == 0) return;
  if (x.cols() != d_ || y.cols() != k_ || y.rows() != m)
    throw RuntimeFailure("RowSums: block shape does not match the declared features and targets");
  if (keeps_dense_rows(form_) || form_ == LocalForm::streamed) {
    RowMatrix dense = RowMatrix(x);
    add_rows(dense, y);
    return;
  }
  if (form_ == LocalForm::gram) {
    // Sparse X is not shifted (a shift would densify it): x_shift_ stays zero, only y is shifted.
    const RowMatrix ys = y.rowwise() - y_shift_.transpose();
    for (Eigen::Index i = 0; i < m; ++i)
      for (SparseRows::InnerIterator a(x, i); a; ++a) {
        for (SparseRows::InnerIterator b(x, i); b; ++b)
          if (b.col() >= a.col()) gram_(a.col(), b.col()) += a.value() * b.value();
        xty_.row(a.col()) += a.value() * ys.row(i);
        x_sum_[a.col()] += a.value();
      }
    y_sum_ += ys.colwise().sum().transpose();
    yy_ += ys.squaredNorm();
  } else {
    append_y(y);
    csr_.append(x);
  }
  rows_ += m;
}

RowSums& RowSums::operator+=(const RowSums& o) {
  if (o.rows_ == 0) return *this;
  if (o.d_ != d_ || o.k_ != k_ || o.form_ != form_ || (shifted_sums(form_) && o.x_shift_ != x_shift_))
    throw RuntimeFailure("RowSums: only sums of the same rank (same shape, form and shift) add");
  if (shifted_sums(form_)) {
    if (form_ == LocalForm::gram) {
      gram_ += o.gram_;
    } else {
      if (o.fetched_ != fetched_) throw RuntimeFailure("RowSums: only sums of the same fetched columns add");
      x_squares_ += o.x_squares_;
      if (!fetched_.empty()) cross_ += o.cross_;
    }
    xty_ += o.xty_;
    x_sum_ += o.x_sum_;
    y_sum_ += o.y_sum_;
    yy_ += o.yy_;
    rows_ += o.rows_;
    return *this;
  }
  const RowMatrix oy = o.y_rows_.topRows(o.rows_);
  append_y(oy);
  if (keeps_dense_rows(form_)) {
    x_rows_.middleRows(rows_, o.rows_) = o.x_rows_.topRows(o.rows_);
  } else {
    csr_.append(o.csr_);
  }
  rows_ += o.rows_;
  return *this;
}

Vector RowSums::sums() const {
  Vector s(d_ + k_);
  const double m = static_cast<double>(rows_);
  if (shifted_sums(form_)) {
    s.head(d_) = x_sum_ + m * x_shift_;
    s.tail(k_) = y_sum_ + m * y_shift_;
    return s;
  }
  s.tail(k_) = y_rows_.topRows(rows_).colwise().sum().transpose();
  if (keeps_dense_rows(form_)) {
    s.head(d_) = x_rows_.topRows(rows_).colwise().sum().transpose();
  } else {
    Vector sums, squares;
    csr_.column_moments(sums, squares);
    s.head(d_) = sums;
  }
  return s;
}

Vector RowSums::squares_about(const Vector& center) const {
  if (keeps_dense_rows(form_))
    return (x_rows_.topRows(rows_).rowwise() - center.transpose()).colwise().squaredNorm().transpose();
  const double m = static_cast<double>(rows_);
  if (shifted_sums(form_)) {
    // sum (x~ - delta)^2 = diag(G~) - 2 delta .* sum x~ + m delta^2, with x~ = x - shift, delta = center - shift.
    const Vector delta = center - x_shift_;
    const Vector diag = form_ == LocalForm::gram ? Vector(gram_.diagonal()) : x_squares_;
    return (diag.array() - 2 * delta.array() * x_sum_.array() + m * delta.array().square()).matrix();
  }
  Vector sum, sq;
  csr_.column_moments(sum, sq);
  return (sq.array() - 2 * center.array() * sum.array() + m * center.array().square()).matrix();
}

Vector RowSums::squared_errors(const Matrix& coef, const Vector& intercept) const {
  const Eigen::Index cols = coef.cols(), models = cols / k_;
  Vector per_column(cols);
  if (form_ == LocalForm::streamed) throw RuntimeFailure("RowSums: the streamed form keeps no sums to predict from");
  if (form_ != LocalForm::gram) {
    Matrix r = keeps_dense_rows(form_) ? Matrix(-(x_rows_.topRows(rows_) * coef)) : Matrix(-csr_.times(coef));
    for (Eigen::Index c = 0; c < cols; ++c)
      per_column[c] = ((r.col(c) + y_rows_.topRows(rows_).col(c % k_)).array() - intercept[c]).square().sum();
  } else {
    // With x = x~ + s_x, y = y~ + s_y: y - w^T x - b = (y~ - w^T x~) + c, c = s_y - w^T s_x - b, so
    // ||.||^2 = yy~ - 2 w^T X~^T y~ + w^T G~ w + 2 c (sum y~ - w^T sum x~) + m c^2, with one product G~ W.
    const Matrix gw = gram_.selfadjointView<Eigen::Upper>() * coef;
    const double m = static_cast<double>(rows_);
    for (Eigen::Index c = 0; c < cols; ++c) {
      const Eigen::Index t = c % k_;
      const double c0 = y_shift_[t] - coef.col(c).dot(x_shift_) - intercept[c];
      per_column[c] = -2 * coef.col(c).dot(xty_.col(t)) + coef.col(c).dot(gw.col(c)) +
                      2 * c0 * (y_sum_[t] - coef.col(c).dot(x_sum_)) + m * c0 * c0;
    }
  }
  Vector out = Vector::Zero(models);
  for (Eigen::Index c = 0; c < cols; ++c) out[c / k_] += per_column[c];
  if (form_ == LocalForm::gram) out.array() += yy_;  // ||Y~||^2 is one total over the targets: once per model
  return out;
}

void RowSums::set_stream(RowStream stream) { stream_ = std::move(stream); }

void RowSums::fetch_with_sums(std::vector<Eigen::Index> features) {
  if (form_ != LocalForm::streamed) return;
  if (rows_ > 0) throw RuntimeFailure("RowSums::fetch_with_sums: call it before adding rows");
  fetched_ = std::move(features);
  cross_ = Matrix::Zero(d_, static_cast<Eigen::Index>(fetched_.size()));
}

void RowSums::reserve(std::int64_t rows) {
  if (shifted_sums(form_) || rows <= y_rows_.rows()) return;
  y_rows_.conservativeResize(rows, k_);
  if (!keeps_dense_rows(form_)) return;
  x_rows_.conservativeResize(rows, d_);
  // The rows are this rank's largest array, first touched as they are read: huge pages cut the page faults
  // (and the kernel's time zeroing 4 KB pages) 512-fold where the kernel leaves that choice to the program.
  const auto begin = reinterpret_cast<std::uintptr_t>(x_rows_.data());
  const std::uintptr_t huge = std::uintptr_t{1} << 21;
  const std::uintptr_t from = (begin + huge - 1) & ~(huge - 1);
  const std::uintptr_t to = (begin + static_cast<std::uintptr_t>(x_rows_.size()) * sizeof(double)) & ~(huge - 1);
  if (to > from) madvise(reinterpret_cast<void*>(from), to - from, MADV_HUGEPAGE);
}

CenteredBlock RowSums::center(const Vector& x_mean, const Vector& y_mean) && {
  CenteredBlock c;
  c.form_ = form_;
  c.rows_ = rows_;
  if (!shifted_sums(form_)) {
    if (y_rows_.rows() != rows_) y_rows_.conservativeResize(rows_, k_);
    c.y_ = std::move(y_rows_);
    c.y_.rowwise() -= y_mean.transpose();
    if (keeps_dense_rows(form_)) {
      if (x_rows_.rows() != rows_) x_rows_.conservativeResize(rows_, d_);
      c.x_ = std::move(x_rows_);
      c.x_.rowwise() -= x_mean.transpose();
    } else {
      c.sparse_ = std::move(csr_);
      c.mean_ = x_mean;  // applied implicitly: a centred sparse matrix would be dense
    }
    return c;
  }
  // Move the shifted sums to the center: with delta = x_mean - shift and eps = y_mean - y_shift,
  // (X~ - 1 delta^T)^T (X~ - 1 delta^T) = G~ - delta s^T - s delta^T + m delta delta^T, and alike for X^T Y.
  const double m = static_cast<double>(rows_);
  const Vector delta = x_mean - x_shift_;
  const Vector eps = y_mean - y_shift_;
  if (form_ == LocalForm::streamed) {
    c.x_squares_ = squares_about(x_mean);
    c.mean_ = x_mean;
    c.stream_ = std::move(stream_);
    // The same move as the Gram's below, for its columns F.
    c.fetched_ = std::move(fetched_);
    c.cross_ = std::move(cross_);
    if (!c.fetched_.empty()) {
      const Vector delta_f = delta(c.fetched_), sum_f = x_sum_(c.fetched_);
      c.cross_.noalias() -= delta * sum_f.transpose() + x_sum_ * delta_f.transpose();
      c.cross_.noalias() += m * delta * delta_f.transpose();
    }
  } else {
  c.gram_ = std::move(gram_);
  lapack::symmetrize_from_upper(c.gram_);
  c.gram_.noalias() -= delta * x_sum_.transpose() + x_sum_ * delta.transpose();
  c.gram_.noalias() += m * delta * delta.transpose();
  }
  c.xty_ = std::move(xty_);
  c.xty_.noalias() -= x_sum_ * eps.transpose() + delta * y_sum_.transpose();
  c.xty_.noalias() += m * delta * eps.transpose();
  c.yy_ = yy_ - 2 * eps.dot(y_sum_) + m * eps.squaredNorm();
  return c;
}

LocalDataBuilder::LocalDataBuilder(std::int64_t local_rows, Eigen::Index d, Eigen::Index k, int pieces,
                                   std::optional<LocalForm> form, bool single)
    : expected_(local_rows), d_(d), k_(k), form_(form ? *form : plan_local_form(local_rows, d, false, std::nullopt)),
      single_(single) {
  if (pieces < 1) throw RuntimeFailure("LocalDataBuilder: at least one piece");
  // A rank without rows takes part with an empty term; the rows form handles that.
  if (local_rows == 0 && (shifted_sums(form_) || form_ == LocalForm::screened)) form_ = LocalForm::woodbury;
  pieces_.assign(static_cast<std::size_t>(pieces), RowSums(d, k, form_, single_));
  if (pieces == 1) pieces_[0].reserve(local_rows);
}

void LocalDataBuilder::fetch_with_sums(const std::vector<Eigen::Index>& features) {
  for (RowSums& p : pieces_) p.fetch_with_sums(features);
}

void LocalDataBuilder::fix_shift(const Vector& x_shift, const RowMatrix& y) {
  // The first block's mean is a per-rank guess of the global mean; every piece shares it so pieces add.
  const Vector ys = y.colwise().mean().transpose();
  for (RowSums& p : pieces_) {
    p.x_shift_ = x_shift;
    p.y_shift_ = ys;
  }
}

void LocalDataBuilder::check_block(Eigen::Index rows, Eigen::Index cols, const RowMatrix& y) const {
  if (added_ + rows > expected_ || cols != d_ || y.cols() != k_ || y.rows() != rows)
    throw RuntimeFailure("LocalDataBuilder: block shape does not match the declared local rows");
}

void LocalDataBuilder::add_rows(RowMatrix& x, const RowMatrix& y) { add_rows(x, y, nullptr); }

void LocalDataBuilder::add_rows(RowMatrix& x, const RowMatrix& y, const int* piece_of_row) {
  const Eigen::Index m = x.rows();
  if (m == 0) return;
  check_block(m, x.cols(), y);
  if (shifted_sums(form_) && added_ == 0) fix_shift(x.colwise().mean().transpose(), y);
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

void LocalDataBuilder::add_rows(const SparseRows& x, const RowMatrix& y, const int* piece_of_row) {
  const Eigen::Index m = x.rows();
  if (m == 0) return;
  check_block(m, x.cols(), y);
  if (shifted_sums(form_) && added_ == 0) fix_shift(Vector::Zero(d_), y);
  if (!piece_of_row || pieces_.size() == 1) {
    pieces_[0].add_rows(x, y);
  } else {
    for (int p = 0; p < pieces(); ++p) {
      std::vector<Eigen::Index> rows;
      for (Eigen::Index i = 0; i < m; ++i)
        if (piece_of_row[i] == p) rows.push_back(i);
      if (rows.empty()) continue;
      SparseRows part(static_cast<Eigen::Index>(rows.size()), d_);
      std::vector<Eigen::Triplet<double, std::int64_t>> entries;
      RowMatrix part_y(static_cast<Eigen::Index>(rows.size()), k_);
      for (std::size_t r = 0; r < rows.size(); ++r) {
        for (SparseRows::InnerIterator a(x, rows[r]); a; ++a)
          entries.emplace_back(static_cast<std::int64_t>(r), a.col(), a.value());
        part_y.row(static_cast<Eigen::Index>(r)) = y.row(rows[r]);
      }
      part.setFromTriplets(entries.begin(), entries.end());
      pieces_[static_cast<std::size_t>(p)].add_rows(part, part_y);
    }
  }
  added_ += m;
}

RowSums LocalDataBuilder::total(int except) const {
  RowSums t(d_, k_, form_, single_);
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
  if (form_ == LocalForm::gram) {
    // In place: the scaled Hessian replaces the centered Gram, so the factor costs no second d x d copy.
    gram_ = s * gram_ * s;
    gram_ /= n;
    xty_ = s * xty_ / n;
    return make_gram_solver(std::move(gram_), std::move(xty_), yy_ / n, rows_);
  }
  if (form_ == LocalForm::cg) return make_cg_solver(std::move(sparse_), std::move(mean_), column_scale, std::move(y_), n);
  if (form_ == LocalForm::streamed) {
    if (!stream_) throw RuntimeFailure("the streamed form needs a way to read the rows again (RowSums::set_stream)");
    return make_streamed_solver(std::move(stream_), std::move(mean_), column_scale, s * xty_ / n, yy_ / n, rows_, n,
                                std::move(fetched_), std::move(cross_));
  }
  const double f = 1.0 / std::sqrt(n);
  x_.array().rowwise() *= (f * column_scale).transpose().array();  // in place: the rows are this rank's largest array
  y_ *= f;
  if (form_ == LocalForm::screened) return make_screened_solver(std::move(x_), std::move(y_));
  return make_woodbury_solver(std::move(x_), std::move(y_));
}

Matrix CenteredBlock::xty() const {
  switch (form_) {
    case LocalForm::gram:
    case LocalForm::streamed: return xty_;
    case LocalForm::woodbury:
    case LocalForm::screened: return x_.transpose() * y_;
    case LocalForm::cg: {
      // (X - 1 mu^T)^T Y_c = X^T Y_c - mu (1^T Y_c): Y_c is centred globally, not on this rank's rows.
      Matrix out = sparse_.transpose_times(y_);
      out.noalias() -= mean_ * y_.colwise().sum();
      return out;
    }
  }
  return {};
}

Vector CenteredBlock::column_squares() const {
  switch (form_) {
    case LocalForm::gram: return gram_.diagonal();
    case LocalForm::streamed: return x_squares_;
    case LocalForm::woodbury:
    case LocalForm::screened: return x_.colwise().squaredNorm().transpose();
    case LocalForm::cg: {
      Vector sum, sq;
      sparse_.column_moments(sum, sq);
      const double m = static_cast<double>(rows_);
      return (sq.array() - 2 * mean_.array() * sum.array() + m * mean_.array().square()).matrix();
    }
  }
  return {};
}

double CenteredBlock::y_squares() const { return shifted_sums(form_) ? yy_ : y_.squaredNorm(); }

}  // namespace cadmm
