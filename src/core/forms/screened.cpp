// The screened form (tall dense blocks of one l1-type solve whose rows fit): the rows kept
// (src/core/forms/held_rows.hpp), and Grams formed only for the features a working set asks for.
#include <algorithm>
#include <cmath>

#include "cadmm/local_solver.hpp"
#include "core/forms/subset_gram.hpp"
#include "core/lapack.hpp"

namespace cadmm {

namespace {

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

}  // namespace

std::unique_ptr<LocalSolver> make_screened_solver(Matrix a, Matrix c) {
  return std::make_unique<ScreenedSolver>(std::move(a), std::move(c));
}

}  // namespace cadmm
