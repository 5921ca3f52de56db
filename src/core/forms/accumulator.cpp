// What every form's accumulator shares (src/core/forms/accumulator.hpp).
#include "core/forms/accumulator.hpp"

#include "cadmm/error.hpp"

namespace cadmm {

bool Accumulator::takes_block(Eigen::Index rows, Eigen::Index cols, const RowMatrix& y) const {
  if (rows == 0) return false;
  if (cols != d_ || y.cols() != k_ || y.rows() != rows)
    throw RuntimeFailure("RowSums: block shape does not match the declared features and targets");
  return true;
}

void Accumulator::count(Eigen::Index rows, const double* w, int sign) {
  if (rows_ > 0 && weighted_ != (w != nullptr))
    throw RuntimeFailure("RowSums: rows with and without weights in one set of sums");
  weighted_ = w != nullptr;
  // A plain loop: Eigen sums an unaligned map from its first 64-byte boundary on, so the weights' total (and with it
  // every sum scaled by it) changed in the last bit with where malloc put the caller's buffer, from run to run.
  double total = static_cast<double>(rows);
  if (w) {
    total = 0;
    for (Eigen::Index i = 0; i < rows; ++i) total += w[i];
  }
  weight_ += sign * total;
  rows_ += sign * rows;
}

void Accumulator::remove_rows(RowMatrix& x, const RowMatrix& y, const double* w) {
  if (!takes_block(x.rows(), x.cols(), y)) return;
  if (x.rows() > rows_) throw RuntimeFailure("RowSums: more rows removed than were added");
  subtract_dense(x, y, w);
  count(x.rows(), w, -1);
}

void Accumulator::subtract_dense(RowMatrix&, const RowMatrix&, const double*) {
  throw RuntimeFailure("RowSums: rows can be removed from sums only (the gram and streamed forms)");
}

void Accumulator::remove_from(Accumulator&) const {
  throw RuntimeFailure("RowSums: only held dense rows can be removed from sums");
}

void Accumulator::add_rows(RowMatrix& x, const RowMatrix& y, const double* w) {
  if (!takes_block(x.rows(), x.cols(), y)) return;
  add_dense(x, y, w);
  count(x.rows(), w);
}

void Accumulator::add_rows(const SparseRows& x, const RowMatrix& y, const double* w) {
  if (!takes_block(x.rows(), x.cols(), y)) return;
  add_sparse(x, y, w);
  count(x.rows(), w);
}

void Accumulator::add_sparse(const SparseRows& x, const RowMatrix& y, const double* w) {
  RowMatrix dense = RowMatrix(x);
  add_dense(dense, y, w);
}

void Accumulator::add(const Accumulator& o) {
  if (o.rows_ == 0) return;
  if (o.d_ != d_ || o.k_ != k_ || o.form_ != form_)
    throw RuntimeFailure("RowSums: only sums of the same rank (same shape, form and shift) add");
  if (rows_ > 0 && weighted_ != o.weighted_)
    throw RuntimeFailure("RowSums: rows with and without weights in one set of sums");
  add_piece(o);
  rows_ += o.rows_;
  weight_ += o.weight_;
  weighted_ = o.weighted_;
}

Vector Accumulator::per_model(const Vector& per_column) const {
  const Eigen::Index cols = per_column.size();
  Vector out = Vector::Zero(cols / k_);
  for (Eigen::Index c = 0; c < cols; ++c) out[c / k_] += per_column[c];
  return out;
}

}  // namespace cadmm
