// The Woodbury form (dense rows fewer than the features, and ranks without rows): the rows kept
// (src/core/forms/held_rows.hpp) and solved by the matrix-inversion lemma with the small rows x rows factor.
#include <algorithm>
#include <cmath>
#include <optional>

#include "cadmm/local_solver.hpp"
#include "core/forms/shifted_system.hpp"

namespace cadmm {

namespace {

// (B^T B + rho I)^{-1} = (I - B^T (rho I + B B^T)^{-1} B) / rho (Boyd 4.2.4), with B B^T formed and factored on the
// first solve (src/core/forms/shifted_system.hpp); gradients read B itself.
class WoodburySolver final : public LocalSolver {
 public:
  WoodburySolver(Matrix b, Matrix c) : b_(std::move(b)), c_(std::move(c)) { q_ = b_.transpose() * c_; }
  void solve(const Matrix& rhs, double rho, Matrix& x, double) const override {
    if (!kernel_) kernel_.emplace(b_ * b_.transpose());
    const Matrix t = kernel_->solve(b_ * rhs, rho);
    x = rhs;
    x.noalias() -= b_.transpose() * t;
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
  FactorLog factorizations() const override { return kernel_ ? kernel_->log() : FactorLog{}; }
  FactorLog resumable_factorizations(double rho) const override {
    return kernel_ ? kernel_->resumable_log(rho) : FactorLog{};
  }
  void resume_factorizations(const FactorLog& log) const override {
    if (log.cholesky == 0 && log.eigen == 0) return;  // nothing made yet: the kernel stays unformed
    if (!kernel_) kernel_.emplace(b_ * b_.transpose());
    kernel_->resume(log);
  }

 private:
  Matrix b_, c_, q_;
  mutable std::optional<ShiftedSystem> kernel_;  // B B^T, rows x rows
};

}  // namespace

std::unique_ptr<LocalSolver> make_woodbury_solver(Matrix b_mat, Matrix c) {
  return std::make_unique<WoodburySolver>(std::move(b_mat), std::move(c));
}

}  // namespace cadmm
