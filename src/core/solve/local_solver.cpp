#include "cadmm/local_solver.hpp"

#include <algorithm>
#include <cmath>

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

// The forms that form Grams of feature subsets on demand (restricted): a solve on every feature (ridge, or a
// working set grown to all) forms the full one once, on first use, and is then the plain Gram form.
class SubsetGramSolver : public LocalSolver {
 public:
  void solve(const Matrix& rhs, double rho, Matrix& x, double tol) const final {
    if (!full_) {
      std::vector<Eigen::Index> all(static_cast<std::size_t>(q().rows()));
      for (Eigen::Index j = 0; j < q().rows(); ++j) all[static_cast<std::size_t>(j)] = j;
      full_ = restricted(all);
    }
    full_->solve(rhs, rho, x, tol);
  }

 private:
  mutable std::unique_ptr<LocalSolver> full_;
};

// The rows themselves, column-major: a working set's Gram costs rows |W|^2 instead of rows d^2, and the full
// gradient A^T (c - A z) one pass over the rows (dgemm).
class ScreenedSolver final : public SubsetGramSolver {
 public:
  ScreenedSolver(Matrix a, Matrix c) : a_(std::move(a)), c_(std::move(c)) {
    q_ = lapack::transpose_times(a_, c_);
    yy_ = c_.squaredNorm();
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
};

// Sums only; the products with the rows are formed by reading them again, a block at a time. C = A^T A_S (d x |S|)
// is kept for the features S fetched so far: the Gram of any subset of S is a block of C and the gradient at a z
// supported on S is q - C z_S, so a working set that stays inside S costs no further pass.
class StreamedSolver final : public SubsetGramSolver {
 public:
  StreamedSolver(RowStream stream, Vector mean, Vector scale, Matrix q, double yy, std::int64_t rows, double n,
                 const std::vector<Eigen::Index>& fetched, const Matrix& cross)
      : stream_(std::move(stream)), mean_(std::move(mean)), scale_(std::move(scale) / std::sqrt(n)), q_(std::move(q)),
        yy_(yy), rows_(rows), slot_(static_cast<std::size_t>(q_.rows()), -1), cross_(q_.rows(), 0) {
    if (fetched.empty()) return;
    cross_ = scale_.asDiagonal() * cross * scale_(fetched).asDiagonal();
    for (std::size_t i = 0; i < fetched.size(); ++i) slot_[static_cast<std::size_t>(fetched[i])] = static_cast<Eigen::Index>(i);
  }
  LocalFit fit_at(const Matrix& z) const override {
    if (z.isZero()) return LocalFit{q_, yy_, yy_};
    std::vector<Eigen::Index> support;
    for (Eigen::Index j = 0; j < z.rows(); ++j)
      if (!z.row(j).isZero()) support.push_back(j);
    const Matrix cz = columns(support) * z(support, Eigen::all);  // A^T A z
    LocalFit f;
    f.grad = q_ - cz;
    const double zq = (z.array() * q_.array()).sum();
    f.rss = std::max(0.0, (z.array() * cz.array()).sum() - 2 * zq + yy_);
    f.ry = yy_ - zq;
    return f;
  }
  Matrix hessian_block(const std::vector<Eigen::Index>& features) const override {
    return columns(features)(features, Eigen::all);
  }
  const Matrix& q() const override { return q_; }
  double b_squares() const override { return yy_; }
  std::int64_t rows() const override { return rows_; }

 private:
  // A^T A_F, fetching the columns not yet kept in one pass over the rows.
  Matrix columns(const std::vector<Eigen::Index>& features) const {
    std::vector<Eigen::Index> missing;
    for (Eigen::Index j : features)
      if (slot_[static_cast<std::size_t>(j)] < 0) missing.push_back(j);
    if (!missing.empty()) {
      const Eigen::Index old = cross_.cols(), add = static_cast<Eigen::Index>(missing.size());
      Matrix fresh = Matrix::Zero(cross_.rows(), add);
      RowMatrix a;
      Matrix picked;
      // Every feature at once: the full Gram, by the symmetric rank-k update (half the flops of a product).
      const bool all = old == 0 && add == cross_.rows();
      if (rows_ > 0)
        stream_([&](const RowMatrix& x) {
          a = (x.rowwise() - mean_.transpose()).array().rowwise() * scale_.transpose().array();  // one pass
          if (all) {
            lapack::add_gram_upper(fresh, a.data(), a.rows());
          } else {
            picked = a(Eigen::all, missing);
            lapack::add_transpose_product(fresh, a.data(), a.rows(), picked);
          }
        });
      if (all) {
        lapack::symmetrize_from_upper(fresh);
        fresh = fresh(Eigen::all, missing).eval();  // columns in the order asked for, rows by feature
      }
      cross_.conservativeResize(Eigen::NoChange, old + add);
      cross_.rightCols(add) = fresh;
      for (Eigen::Index i = 0; i < add; ++i) slot_[static_cast<std::size_t>(missing[static_cast<std::size_t>(i)])] = old + i;
    }
    std::vector<Eigen::Index> at(features.size());
    for (std::size_t i = 0; i < features.size(); ++i) at[i] = slot_[static_cast<std::size_t>(features[i])];
    return cross_(Eigen::all, at);
  }

  RowStream stream_;
  Vector mean_, scale_;
  Matrix q_;
  double yy_;
  std::int64_t rows_;
  mutable std::vector<Eigen::Index> slot_;  // column of cross_ holding feature j, or -1
  mutable Matrix cross_;
};

}  // namespace

std::unique_ptr<LocalSolver> LocalSolver::restricted(const std::vector<Eigen::Index>& features) const {
  return make_gram_solver(hessian_block(features), q()(features, Eigen::all), b_squares(), rows());
}

std::unique_ptr<LocalSolver> make_streamed_solver(RowStream stream, Vector mean, Vector scale, Matrix q, double yy,
                                                  std::int64_t rows, double n, std::vector<Eigen::Index> fetched,
                                                  const Matrix& cross) {
  return std::make_unique<StreamedSolver>(std::move(stream), std::move(mean), std::move(scale), std::move(q), yy, rows, n,
                                          fetched, cross);
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
