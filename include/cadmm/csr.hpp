#pragma once
/// \file CSR rows held in the precision they were stored in (float32 data stays float32), built by appending rows.
#include <cstdint>
#include <vector>

#include "cadmm/types.hpp"

namespace cadmm {

/// Rows of a sparse X as this rank holds them for the conjugate-gradient form: 64-bit structure, values float32
/// when the file stored float32 (exact: the values were float32 to begin with), else float64; products in double.
class CsrRows {
 public:
  CsrRows() = default;
  /// True when values are held in float32.
  bool single() const { return single_; }
  /// No rows yet, `cols` columns, values stored as float32 when single.
  CsrRows(Eigen::Index cols, bool single) : cols_(cols), single_(single) {}
  /// Appends the rows of a sparse block (repeated indices are kept; every product sums them).
  void append(const SparseRows& x);
  /// Appends dense rows, dropping zeros.
  void append(const RowMatrix& x);
  /// Appends another set's rows (same columns and precision).
  void append(const CsrRows& other);
  /// Appends the rows as doubles to `out` (for sending): rows, entries, each row's entry count, the columns, the
  /// values (exact: indices below 2^53, float32 values widened).
  void pack(std::vector<double>& out) const;
  /// Appends rows packed by pack() from `in`, advanced past them.
  void append_packed(const double*& in);
  /// Number of rows.
  Eigen::Index rows() const { return static_cast<Eigen::Index>(ptr_.size()) - 1; }
  /// Number of columns d.
  Eigen::Index cols() const { return cols_; }
  /// Stored entries.
  std::int64_t nnz() const { return ptr_.back(); }
  /// X v, rows x k.
  Matrix times(const Matrix& v) const;
  /// X^T w, d x k.
  Matrix transpose_times(const Matrix& w) const;
  /// Column sums (d), weighted by w (one per row) unless null.
  Vector column_sums(const double* w = nullptr) const;
  /// Sum over the rows of w_i (x_ij - center_j)^2 (d), total_weight the rows' sum of w (their count unweighted): a sum
  /// of terms >= 0, so a constant column gets 0 up to rounding of its own size.
  Vector squares_about(const Vector& center, double total_weight, const double* w = nullptr) const;
  /// Calls f(column, value) for every entry of row r.
  template <class F>
  void for_each_in_row(Eigen::Index r, F&& f) const {
    for (std::int64_t e = ptr_[static_cast<std::size_t>(r)]; e < ptr_[static_cast<std::size_t>(r) + 1]; ++e)
      f(col_[static_cast<std::size_t>(e)], value(e));
  }

 private:
  double value(std::int64_t e) const {
    return single_ ? val32_[static_cast<std::size_t>(e)] : val_[static_cast<std::size_t>(e)];
  }
  void push(std::int64_t col, double v);
  Eigen::Index cols_ = 0;
  bool single_ = false;
  std::vector<std::int64_t> ptr_{0}, col_;
  std::vector<double> val_;
  std::vector<float> val32_;
};

}  // namespace cadmm
