// The Woodbury form (dense rows fewer than the features, and ranks without rows): the rows kept
// (src/core/forms/held_rows.hpp) and solved by the matrix-inversion lemma with the small rows x rows factor.
#include <algorithm>
#include <cmath>

#include "cadmm/local_solver.hpp"
#include "core/lapack.hpp"

namespace cadmm {

namespace {

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

}  // namespace

std::unique_ptr<LocalSolver> make_woodbury_solver(Matrix b_mat, Matrix c) {
  return std::make_unique<WoodburySolver>(std::move(b_mat), std::move(c));
}

}  // namespace cadmm
