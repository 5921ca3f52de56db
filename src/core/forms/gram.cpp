// The Gram form (tall blocks): its sums (src/core/forms/shifted_sums.hpp plus X~^T X~) and its solver over the
// scaled Hessian, factored lazily.
#include <algorithm>
#include <cmath>

#include "cadmm/communicator.hpp"
#include "cadmm/error.hpp"
#include "cadmm/plan.hpp"
#include "core/forms/shifted_sums.hpp"
#include "core/forms/shifted_system.hpp"
#include "core/lapack.hpp"

namespace cadmm {

namespace {

// H itself: the gradient at a sparse z reads H's columns on z's support, a working set's block is a block of H, and
// (H + rho I) is factored only when an x-update asks (src/core/forms/shifted_system.hpp).
class GramSolver final : public LocalSolver {
 public:
  GramSolver(Matrix h, Matrix q, double yy, std::int64_t rows)
      : q_(std::move(q)), yy_(yy), rows_(rows), h_(std::move(h)) {}
  void solve(const Matrix& rhs, double rho, Matrix& x, double) const override { x = h_.solve(rhs, rho); }
  FactorLog resumable_factorizations(double rho) const override { return h_.resumable_log(rho); }
  void resume_factorizations(const FactorLog& log) const override { h_.resume(log); }
  LocalFit fit_at(const Matrix& z) const override {
    const Matrix hz = h_.times(z);
    const double zq = (z.array() * q_.array()).sum();
    const double zhz = (z.array() * hz.array()).sum();
    LocalFit f;
    f.grad = q_ - hz;
    f.rss = std::max(0.0, zhz - 2 * zq + yy_);
    f.ry = yy_ - zq;
    return f;
  }
  Matrix hessian_block(const std::vector<Eigen::Index>& features) const override { return h_.block(features, features); }
  Matrix hessian_columns(const std::vector<Eigen::Index>& rows, const std::vector<Eigen::Index>& cols) const override {
    return h_.block(rows, cols);
  }
  const Matrix& q() const override { return q_; }
  double b_squares() const override { return yy_; }
  std::int64_t rows() const override { return rows_; }
  bool holds_hessian() const override { return true; }
  FactorLog factorizations() const override { return h_.log(); }
  std::unique_ptr<LocalSolver> summed_to(int root, Communicator& comm) && override {
    Matrix h = std::move(h_).release();
    comm.sum_to(h.data(), static_cast<std::size_t>(h.size()), root);
    Vector rest(q_.size() + 2);  // q, yy and the rows in one reduction
    std::copy(q_.data(), q_.data() + q_.size(), rest.data());
    rest[q_.size()] = yy_;
    rest[q_.size() + 1] = static_cast<double>(rows_);
    comm.sum_to(rest.data(), static_cast<std::size_t>(rest.size()), root);
    if (comm.rank() != root) return nullptr;
    return make_gram_solver(std::move(h), Eigen::Map<const Matrix>(rest.data(), q_.rows(), q_.cols()), rest[q_.size()],
                            static_cast<std::int64_t>(rest[q_.size() + 1]));
  }

 private:
  Matrix q_;
  double yy_;
  std::int64_t rows_;
  ShiftedSystem h_;
};

// X~^T X~ (upper triangle until centred) besides the shifted sums. Sparse X is not shifted (a shift would densify
// it): its shift stays zero and only y is shifted.
class GramSums final : public ShiftedSums {
 public:
  GramSums(Eigen::Index d, Eigen::Index k) : ShiftedSums(d, k, LocalForm::gram), gram_(Matrix::Zero(d, d)) {}
  std::unique_ptr<Accumulator> clone() const override { return std::unique_ptr<Accumulator>(new GramSums(*this)); }
  std::unique_ptr<Accumulator> empty_like() const override {
    auto e = std::make_unique<GramSums>(d_, k_);
    e->set_shift(x_shift_, y_shift_);
    return e;
  }
  Vector squared_errors(const Matrix& coef, const Vector& intercept) const override {
    // With x = x~ + s_x, y = y~ + s_y: y - w^T x - b = (y~ - w^T x~) + c, c = s_y - w^T s_x - b, so
    // ||.||^2 = yy~ - 2 w^T X~^T y~ + w^T G~ w + 2 c (sum y~ - w^T sum x~) + m c^2, with one product G~ W.
    const Eigen::Index cols = coef.cols();
    Vector per_column(cols);
    const Matrix gw = gram_.selfadjointView<Eigen::Upper>() * coef;
    const double m = weight_;  // with weights, every sum here is weighted alike
    for (Eigen::Index c = 0; c < cols; ++c) {
      const Eigen::Index t = c % k_;
      const double c0 = y_shift_[t] - coef.col(c).dot(x_shift_) - intercept[c];
      per_column[c] = -2 * coef.col(c).dot(xty_.col(t)) + coef.col(c).dot(gw.col(c)) +
                      2 * c0 * (y_sum_[t] - coef.col(c).dot(x_sum_)) + m * c0 * c0;
    }
    Vector out = per_model(per_column);
    out.array() += yy_;  // ||Y~||^2 is one total over the targets: once per model
    return out;
  }
  Vector column_squares() const override { return gram_.diagonal(); }
  std::unique_ptr<LocalSolver> factor(const Vector& column_scale, double n) override {
    // In place: the scaled Hessian replaces the centered Gram, so the factor costs no second d x d copy.
    const auto s = column_scale.asDiagonal();
    // Column by column, one pass over the d x d matrix: (s_i g_ij) s_j / n, as s G s / n is evaluated.
    for (Eigen::Index j = 0; j < gram_.cols(); ++j)
      gram_.col(j).array() = column_scale.array() * gram_.col(j).array() * column_scale[j] / n;
    xty_ = s * xty_ / n;
    return make_gram_solver(std::move(gram_), std::move(xty_), yy_ / n, rows_);
  }

 private:
  GramSums(const GramSums&) = default;
  void add_shifted(const RowMatrix& x, double sign) override { lapack::add_gram_upper(gram_, x.data(), x.rows(), sign); }
  void add_sparse(const SparseRows& x, const RowMatrix& y, const double* w) override {
    add_sparse_gram(x, w);
    const RowMatrix ys = y.rowwise() - y_shift_.transpose();
    for (Eigen::Index i = 0; i < x.rows(); ++i)
      for (SparseRows::InnerIterator a(x, i); a; ++a) {
        const double wa = w ? w[i] * a.value() : a.value();
        xty_.row(a.col()) += wa * ys.row(i);
        x_sum_[a.col()] += wa;
      }
    if (w) {
      const Eigen::Map<const Vector> wv(w, x.rows());
      y_sum_.noalias() += ys.transpose() * wv;
      yy_ += (ys.rowwise().squaredNorm().array() * wv.array()).sum();
    } else {
      y_sum_ += ys.colwise().sum().transpose();
      yy_ += ys.squaredNorm();
    }
  }
  // X^T W X of CSR rows: pair by pair of each row's nonzeros, or, from kSparseGramDenseShare of nonzeros, by blocks of
  // rows scattered into a dense buffer (times sqrt(w)) and added with one dsyrk each.
  void add_sparse_gram(const SparseRows& x, const double* w) {
    const Eigen::Index rows = x.rows();
    if (static_cast<double>(x.nonZeros()) < kSparseGramDenseShare * static_cast<double>(rows) * static_cast<double>(d_)) {
      for (Eigen::Index i = 0; i < rows; ++i)
        for (SparseRows::InnerIterator a(x, i); a; ++a) {
          const double wa = w ? w[i] * a.value() : a.value();
          for (SparseRows::InnerIterator b(x, i); b; ++b)
            if (b.col() >= a.col()) gram_(a.col(), b.col()) += wa * b.value();
        }
      return;
    }
    const Eigen::Index block = std::max<Eigen::Index>(1, (std::int64_t{4} << 20) / (8 * std::max<Eigen::Index>(1, d_)));
    RowMatrix dense;  // about 4 MB, for this call only (a fold's sums are many)
    for (Eigen::Index first = 0; first < rows; first += block) {
      const Eigen::Index count = std::min(block, rows - first);
      dense.setZero(count, d_);
      for (Eigen::Index i = 0; i < count; ++i) {
        const double root = w ? std::sqrt(w[first + i]) : 1.0;
        for (SparseRows::InnerIterator a(x, first + i); a; ++a) dense(i, a.col()) += root * a.value();
      }
      lapack::add_gram_upper(gram_, dense.data(), count);
    }
  }
  void add_shifted_piece(const ShiftedSums& other) override { gram_ += static_cast<const GramSums&>(other).gram_; }
  Vector shifted_squares() const override { return gram_.diagonal(); }
  void center_moments(const Vector&, const Vector& delta, double m) override {
    lapack::symmetrize_from_upper(gram_);
    // G - delta s^T - s delta^T + m delta delta^T column by column, in the order Eigen evaluated the whole-matrix
    // updates (and streamed.cpp moves its columns): one pass and no d x d temporaries.
    const Vector m_delta = m * delta;
    for (Eigen::Index j = 0; j < gram_.cols(); ++j) {
      gram_.col(j) -= delta * x_sum_[j];
      gram_.col(j) -= x_sum_ * delta[j];
      gram_.col(j) += m_delta * delta[j];
    }
  }

  Matrix gram_;
};

}  // namespace

std::unique_ptr<Accumulator> make_gram_sums(Eigen::Index d, Eigen::Index k) { return std::make_unique<GramSums>(d, k); }

std::unique_ptr<LocalSolver> make_gram_solver(Matrix h, Matrix q, double yy, std::int64_t rows) {
  return std::make_unique<GramSolver>(std::move(h), std::move(q), yy, rows);
}

}  // namespace cadmm
