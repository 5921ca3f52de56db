#include "cadmm/local_solver.hpp"

#include <algorithm>

#include "core/lapack.hpp"

namespace cadmm {

namespace {

// H = V diag(lambda) V^T, so (H + rho I)^{-1} = V diag(1 / (lambda + rho)) V^T for every rho.
class GramSolver final : public LocalSolver {
 public:
  GramSolver(Matrix h, Matrix q, double yy, std::int64_t rows)
      : q_(std::move(q)), yy_(yy), rows_(rows), vec_(std::move(h)) {
    lapack::symmetric_eigen_in_place(vec_, eig_);
    eig_ = eig_.cwiseMax(0.0);  // a Gram matrix is PSD; drop rounding noise below zero
  }
  void solve(const Matrix& rhs, double rho, Matrix& x, double) const override {
    Matrix t = vec_.transpose() * rhs;
    t.array().colwise() /= (eig_.array() + rho);
    x.noalias() = vec_ * t;
  }
  LocalFit fit_at(const Matrix& z) const override {
    Matrix t = vec_.transpose() * z;
    const double zq = (z.array() * q_.array()).sum();
    const double zhz = (t.array().square().colwise() * eig_.array()).sum();
    t.array().colwise() *= eig_.array();
    LocalFit f;
    f.grad = q_ - vec_ * t;
    f.rss = std::max(0.0, zhz - 2 * zq + yy_);
    f.ry = yy_ - zq;
    return f;
  }
  Matrix hessian_block(const std::vector<Eigen::Index>& features) const override {
    const Matrix v = vec_(features, Eigen::all);
    return v * eig_.asDiagonal() * v.transpose();
  }
  const Matrix& q() const override { return q_; }
  double b_squares() const override { return yy_; }
  std::int64_t rows() const override { return rows_; }

 private:
  Matrix q_;
  double yy_;
  std::int64_t rows_;
  Matrix vec_;
  Vector eig_;
};

// (B^T B + rho I)^{-1} = (I - B^T (rho I + B B^T)^{-1} B) / rho, with B B^T = U diag(s) U^T (Boyd 4.2.4).
class WoodburySolver final : public LocalSolver {
 public:
  WoodburySolver(Matrix b, Matrix c) : b_(std::move(b)), c_(std::move(c)) {
    vec_ = b_ * b_.transpose();
    lapack::symmetric_eigen_in_place(vec_, eig_);
    eig_ = eig_.cwiseMax(0.0);
    q_ = b_.transpose() * c_;
  }
  void solve(const Matrix& rhs, double rho, Matrix& x, double) const override {
    Matrix t = vec_.transpose() * (b_ * rhs);
    t.array().colwise() /= (eig_.array() + rho);
    x = rhs;
    x.noalias() -= b_.transpose() * (vec_ * t);
    x /= rho;
  }
  LocalFit fit_at(const Matrix& z) const override {
    Matrix r = c_;
    r.noalias() -= b_ * z;
    LocalFit f;
    f.grad = b_.transpose() * r;
    f.rss = r.squaredNorm();
    f.ry = (r.array() * c_.array()).sum();
    return f;
  }
  Matrix hessian_block(const std::vector<Eigen::Index>& features) const override {
    const Matrix b = b_(Eigen::all, features);
    return b.transpose() * b;
  }
  const Matrix& q() const override { return q_; }
  double b_squares() const override { return c_.squaredNorm(); }
  std::int64_t rows() const override { return b_.rows(); }

 private:
  Matrix b_, c_, q_;
  Vector eig_;
  Matrix vec_;
};

// The rows themselves, column-major: a working set's Gram costs rows |W|^2 instead of rows d^2, and the full
// gradient A^T (c - A z) one pass over the rows (dgemm).
class ScreenedSolver final : public LocalSolver {
 public:
  ScreenedSolver(Matrix a, Matrix c) : a_(std::move(a)), c_(std::move(c)) {
    q_ = lapack::transpose_times(a_, c_);
    yy_ = c_.squaredNorm();
  }
  void solve(const Matrix& rhs, double rho, Matrix& x, double tol) const override {
    if (!full_) {  // every feature at once (ridge, or a working set grown to all): the plain Gram form
      std::vector<Eigen::Index> all(static_cast<std::size_t>(a_.cols()));
      for (Eigen::Index j = 0; j < a_.cols(); ++j) all[static_cast<std::size_t>(j)] = j;
      full_ = restricted(all);
    }
    full_->solve(rhs, rho, x, tol);
  }
  LocalFit fit_at(const Matrix& z) const override {
    if (z.isZero()) return LocalFit{q_, yy_, yy_};  // known without a pass over the rows
    Matrix r = c_;
    for (Eigen::Index j = 0; j < z.rows(); ++j)  // z is sparse: only its nonzero rows cost a pass
      if (!z.row(j).isZero()) r.noalias() -= a_.col(j) * z.row(j);
    LocalFit f;
    f.grad = lapack::transpose_times(a_, r);
    f.rss = r.squaredNorm();
    f.ry = (r.array() * c_.array()).sum();
    return f;
  }
  Matrix hessian_block(const std::vector<Eigen::Index>& features) const override {
    // Gathered a bounded block of rows at a time (about 32 MB), so a large subset never copies the rows whole.
    const Eigen::Index m = static_cast<Eigen::Index>(features.size()), n = a_.rows();
    Matrix h = Matrix::Zero(m, m);
    if (m == 0) return h;
    const Eigen::Index step = std::max<Eigen::Index>(256, (Eigen::Index{1} << 22) / m);
    Matrix block;
    for (Eigen::Index r0 = 0; r0 < n; r0 += step) {
      const Eigen::Index rows = std::min(step, n - r0);
      block = a_(Eigen::seqN(r0, rows), features);
      lapack::add_gram_upper_cols(h, block);
    }
    lapack::symmetrize_from_upper(h);
    return h;
  }
  const Matrix& q() const override { return q_; }
  double b_squares() const override { return yy_; }
  std::int64_t rows() const override { return a_.rows(); }

 private:
  Matrix a_, c_, q_;
  double yy_ = 0;
  mutable std::unique_ptr<LocalSolver> full_;
};

}  // namespace

std::unique_ptr<LocalSolver> LocalSolver::restricted(const std::vector<Eigen::Index>& features) const {
  return make_gram_solver(hessian_block(features), q()(features, Eigen::all), b_squares(), rows());
}

std::unique_ptr<LocalSolver> make_screened_solver(Matrix a, Matrix c) {
  return std::make_unique<ScreenedSolver>(std::move(a), std::move(c));
}

std::unique_ptr<LocalSolver> make_gram_solver(Matrix h, Matrix q, double yy, std::int64_t rows) {
  return std::make_unique<GramSolver>(std::move(h), std::move(q), yy, rows);
}

std::unique_ptr<LocalSolver> make_woodbury_solver(Matrix b_mat, Matrix c) {
  return std::make_unique<WoodburySolver>(std::move(b_mat), std::move(c));
}

}  // namespace cadmm
