// Kept rows (src/core/forms/held_rows.hpp).
#include "core/forms/held_rows.hpp"

#include <sys/mman.h>

#include <cmath>
#include <cstdint>

namespace cadmm {

void HeldRows::append_y(const RowMatrix& y, const double* w) {
  const Eigen::Index need = rows_ + y.rows();
  if (need > y_rows_.rows()) {
    const Eigen::Index cap = std::max(need, 2 * y_rows_.rows());
    y_rows_.conservativeResize(cap, k_);
    grow_x(cap);
  }
  y_rows_.middleRows(rows_, y.rows()) = y;
  if (w) {
    if (w_rows_.size() < y_rows_.rows()) w_rows_.conservativeResize(y_rows_.rows());
    w_rows_.segment(rows_, y.rows()) = Eigen::Map<const Vector>(w, y.rows());
  }
}

Vector HeldRows::root_weights() const { return weighted_ ? Vector(w_rows_.head(rows_).cwiseSqrt()) : Vector(); }

void HeldRows::center_y(const Vector& y_mean) {
  if (y_rows_.rows() != rows_) y_rows_.conservativeResize(rows_, k_);
  y_rows_.rowwise() -= y_mean.transpose();
  if (weighted_) y_rows_.array().colwise() *= root_weights().array();
}

Vector HeldRows::column_sums(const Matrix& m) const {
  if (weighted_) return m.topRows(rows_).transpose() * w_rows_.head(rows_);
  return m.topRows(rows_).colwise().sum().transpose();
}

Vector HeldRows::squares_about(const Matrix& m, const Vector& center) const {
  if (weighted_)
    return (m.topRows(rows_).rowwise() - center.transpose()).array().square().matrix().transpose() * w_rows_.head(rows_);
  return (m.topRows(rows_).rowwise() - center.transpose()).colwise().squaredNorm().transpose();
}

Vector HeldRows::squared_errors_from(const Matrix& r, const Vector& intercept) const {
  const Eigen::Index cols = r.cols();
  Vector per_column(cols);
  for (Eigen::Index c = 0; c < cols; ++c) {
    const auto e = (r.col(c) + y_rows_.topRows(rows_).col(c % k_)).array() - intercept[c];
    per_column[c] = weighted_ ? (e.square() * w_rows_.head(rows_).array()).sum() : e.square().sum();
  }
  return per_model(per_column);
}

DenseRows::DenseRows(Eigen::Index d, Eigen::Index k, LocalForm form, SolverMaker make_solver)
    : HeldRows(d, k, form), make_solver_(make_solver) {
  x_rows_.resize(0, d);
  y_rows_.resize(0, k);
}

void DenseRows::add_dense(RowMatrix& x, const RowMatrix& y, const double* w) {
  append_y(y, w);
  x_rows_.middleRows(rows_, x.rows()) = x;
}

void DenseRows::add_piece(const Accumulator& other) {
  const auto& o = static_cast<const DenseRows&>(other);
  const RowMatrix oy = o.y_rows_.topRows(o.rows_);
  append_y(oy, o.weighted_ ? o.w_rows_.data() : nullptr);
  x_rows_.middleRows(rows_, o.rows_) = o.x_rows_.topRows(o.rows_);
}

void DenseRows::remove_from(Accumulator& sums) const {
  RowMatrix x = x_rows_.topRows(rows_);
  const RowMatrix y = y_rows_.topRows(rows_);
  sums.remove_rows(x, y, weighted_ ? w_rows_.data() : nullptr);
}

Vector DenseRows::sums() const {
  Vector s(d_ + k_);
  s.tail(k_) = column_sums(y_rows_);
  s.head(d_) = column_sums(x_rows_);
  return s;
}

Vector DenseRows::squares_about(const Vector& center) const { return HeldRows::squares_about(x_rows_, center); }

Vector DenseRows::squared_errors(const Matrix& coef, const Vector& intercept) const {
  return squared_errors_from(Matrix(-(x_rows_.topRows(rows_) * coef)), intercept);
}

void DenseRows::reserve(std::int64_t rows) {
  if (rows <= y_rows_.rows()) return;
  y_rows_.conservativeResize(rows, k_);
  x_rows_.conservativeResize(rows, d_);
  advise_huge_pages(x_rows_);
}

void advise_huge_pages(Matrix& m) {
  // Huge pages cut the page faults (and the kernel's time zeroing 4 KB pages) 512-fold where the kernel leaves that
  // choice to the program.
  const auto begin = reinterpret_cast<std::uintptr_t>(m.data());
  const std::uintptr_t huge = std::uintptr_t{1} << 21;
  const std::uintptr_t from = (begin + huge - 1) & ~(huge - 1);
  const std::uintptr_t to = (begin + static_cast<std::uintptr_t>(m.size()) * sizeof(double)) & ~(huge - 1);
  if (to > from) madvise(reinterpret_cast<void*>(from), to - from, MADV_HUGEPAGE);
}

void DenseRows::center(const Vector& x_mean, const Vector& y_mean) {
  center_y(y_mean);
  if (x_rows_.rows() != rows_) x_rows_.conservativeResize(rows_, d_);
  x_rows_.rowwise() -= x_mean.transpose();
  // Weighted least squares is plain least squares on the rows times sqrt(w): the solvers never see the weights.
  if (weighted_) x_rows_.array().colwise() *= root_weights().array();
}

std::unique_ptr<LocalSolver> DenseRows::factor(const Vector& column_scale, double n) {
  // In place: the rows are this rank's largest array.
  const double f = 1.0 / std::sqrt(n);
  x_rows_.array().rowwise() *= (f * column_scale).transpose().array();
  y_rows_ *= f;
  return make_solver_(std::move(x_rows_), std::move(y_rows_));
}

std::unique_ptr<Accumulator> make_dense_rows(Eigen::Index d, Eigen::Index k, LocalForm form,
                                             DenseRows::SolverMaker make_solver) {
  return std::make_unique<DenseRows>(d, k, form, make_solver);
}

}  // namespace cadmm
