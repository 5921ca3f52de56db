#include "cadmm/csr.hpp"

#include "cadmm/error.hpp"

namespace cadmm {

void CsrRows::push(std::int64_t col, double v) {
  col_.push_back(col);
  if (single_) val32_.push_back(static_cast<float>(v));
  else val_.push_back(v);
}

void CsrRows::append(const SparseRows& x) {
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    for (SparseRows::InnerIterator a(x, r); a; ++a) push(a.col(), a.value());
    ptr_.push_back(static_cast<std::int64_t>(col_.size()));
  }
}

void CsrRows::append(const RowMatrix& x) {
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    for (Eigen::Index j = 0; j < x.cols(); ++j)
      if (x(r, j) != 0) push(j, x(r, j));
    ptr_.push_back(static_cast<std::int64_t>(col_.size()));
  }
}

void CsrRows::append(const CsrRows& o) {
  if (o.cols_ != cols_ || o.single_ != single_) throw RuntimeFailure("CsrRows: only rows of the same shape and precision add");
  const std::int64_t base = nnz();
  col_.insert(col_.end(), o.col_.begin(), o.col_.end());
  val_.insert(val_.end(), o.val_.begin(), o.val_.end());
  val32_.insert(val32_.end(), o.val32_.begin(), o.val32_.end());
  for (std::size_t i = 1; i < o.ptr_.size(); ++i) ptr_.push_back(base + o.ptr_[i]);
}

void CsrRows::pack(std::vector<double>& out) const {
  out.push_back(static_cast<double>(rows()));
  out.push_back(static_cast<double>(nnz()));
  for (std::size_t r = 1; r < ptr_.size(); ++r) out.push_back(static_cast<double>(ptr_[r] - ptr_[r - 1]));
  for (std::int64_t c : col_) out.push_back(static_cast<double>(c));
  for (std::int64_t e = 0; e < nnz(); ++e) out.push_back(value(e));
}

void CsrRows::append_packed(const double*& in) {
  const auto rows = static_cast<std::int64_t>(in[0]), entries = static_cast<std::int64_t>(in[1]);
  const double* count = in + 2;
  const double* col = count + rows;
  const double* val = col + entries;
  for (std::int64_t r = 0, e = 0; r < rows; ++r) {
    for (const auto end = e + static_cast<std::int64_t>(count[r]); e < end; ++e) push(static_cast<std::int64_t>(col[e]), val[e]);
    ptr_.push_back(static_cast<std::int64_t>(col_.size()));
  }
  in = val + entries;
}

namespace {

// One column of X v over the rows, in four sums so that the additions do not wait on each other.
template <class V>
void rows_times(const std::vector<std::int64_t>& ptr, const std::vector<std::int64_t>& col, const V* val,
                const double* v, double* out) {
  for (std::size_t r = 0; r + 1 < ptr.size(); ++r) {
    double acc[4] = {0, 0, 0, 0};
    std::int64_t e = ptr[r];
    const std::int64_t end = ptr[r + 1];
    for (; e + 4 <= end; e += 4)
      for (int l = 0; l < 4; ++l) acc[l] += val[e + l] * v[col[static_cast<std::size_t>(e + l)]];
    for (; e < end; ++e) acc[0] += val[e] * v[col[static_cast<std::size_t>(e)]];
    out[r] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  }
}

// One column of X^T w: each row's entries scattered into out.
template <class V>
void rows_transpose_times(const std::vector<std::int64_t>& ptr, const std::vector<std::int64_t>& col, const V* val,
                          const double* w, double* out) {
  for (std::size_t r = 0; r + 1 < ptr.size(); ++r) {
    const double wr = w[r];
    if (wr == 0) continue;
    for (std::int64_t e = ptr[r]; e < ptr[r + 1]; ++e) out[col[static_cast<std::size_t>(e)]] += val[e] * wr;
  }
}

}  // namespace

Matrix CsrRows::times(const Matrix& v) const {
  Matrix out(rows(), v.cols());
  for (Eigen::Index t = 0; t < v.cols(); ++t) {
    if (single_) rows_times(ptr_, col_, val32_.data(), v.col(t).data(), out.col(t).data());
    else rows_times(ptr_, col_, val_.data(), v.col(t).data(), out.col(t).data());
  }
  return out;
}

Matrix CsrRows::transpose_times(const Matrix& w) const {
  Matrix out = Matrix::Zero(cols_, w.cols());
  for (Eigen::Index t = 0; t < w.cols(); ++t) {
    if (single_) rows_transpose_times(ptr_, col_, val32_.data(), w.col(t).data(), out.col(t).data());
    else rows_transpose_times(ptr_, col_, val_.data(), w.col(t).data(), out.col(t).data());
  }
  return out;
}

Vector CsrRows::column_sums(const double* w) const {
  Vector sums = Vector::Zero(cols_);
  for (Eigen::Index r = 0; r < rows(); ++r) {
    const double wr = w ? w[r] : 1.0;
    for_each_in_row(r, [&](std::int64_t c, double x) { sums[c] += wr * x; });  // exactly x when unweighted
  }
  return sums;
}

Vector CsrRows::squares_about(const Vector& center, double total_weight, const double* w) const {
  // Over a column's entries, w (x - c)^2; over its other rows, c^2 times their weight. The moments' sum
  // w x^2 - 2 c w x + W c^2 cancels to noise of 1e-16 of its terms: a constant column got a standard deviation of
  // about 1e-8 of its value, and whether it counted as constant depended on the rounding (weights, rank count).
  // A row's repeated indices are summed first (last: the row a column was last seen in; at: its entry's sum).
  Vector out = Vector::Zero(cols_), on_rows = Vector::Zero(cols_), at = Vector::Zero(cols_);
  std::vector<std::int64_t> last(static_cast<std::size_t>(cols_), -1), count(static_cast<std::size_t>(cols_), 0);
  for (Eigen::Index r = 0; r < rows(); ++r) {
    const double wr = w ? w[r] : 1.0;
    for_each_in_row(r, [&](std::int64_t c, double x) {
      std::int64_t& seen = last[static_cast<std::size_t>(c)];
      at[c] = seen == r ? at[c] + x : x;
      seen = r;
    });
    for_each_in_row(r, [&](std::int64_t c, double) {
      std::int64_t& seen = last[static_cast<std::size_t>(c)];
      if (seen != r) return;  // summed in already (a repeated index)
      seen = -1;
      const double d = at[c] - center[c];
      out[c] += wr * d * d;
      on_rows[c] += wr;
      ++count[static_cast<std::size_t>(c)];
    });
  }
  for (Eigen::Index c = 0; c < cols_; ++c)
    if (count[static_cast<std::size_t>(c)] < rows()) out[c] += center[c] * center[c] * std::max(0.0, total_weight - on_rows[c]);
  return out;
}

}  // namespace cadmm
