// The screened form (tall dense blocks of one l1-type solve whose rows fit): the rows kept
// (src/core/forms/held_rows.hpp), and Grams formed only for the features a working set asks for.
#include <algorithm>
#include <cmath>
#include <optional>

#include "cadmm/local_solver.hpp"
#include "core/forms/subset_gram.hpp"
#include "core/lapack.hpp"

namespace cadmm {

namespace {

// The rows themselves, column-major: a block of a few features costs their products alone (rows |F|^2 flops) and a
// gradient one pass; once passes have cost as much, the columns of the features asked for (rows d |F| flops) are
// kept and a gradient needs no pass (SubsetGramSolver).
class ScreenedSolver final : public SubsetGramSolver {
 public:
  ScreenedSolver(Matrix a, Matrix c)
      : SubsetGramSolver(lapack::transpose_times(a, c), c.squaredNorm(), a.rows()), a_(std::move(a)), c_(std::move(c)) {}

 private:
  // At most kBatch columns are gathered at a time, so that the copy of the picked columns stays bounded (a path's
  // first set can be thousands of features).
  static constexpr Eigen::Index kBatch = 512;

  std::optional<LocalFit> fit_by_pass(const Matrix& z) const override {
    Matrix r = c_;
    for (Eigen::Index j = 0; j < z.rows(); ++j)  // z is sparse: only its nonzero rows cost a pass
      if (!z.row(j).isZero()) r.noalias() -= a_.col(j) * z.row(j);
    LocalFit f;
    f.grad = lapack::transpose_times(a_, r);
    f.rss = r.squaredNorm();
    f.ry = (r.array() * c_.array()).sum();
    return f;
  }

  Matrix block_by_rows(const std::vector<Eigen::Index>& features) const override {
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

  Matrix fetch(const std::vector<Eigen::Index>& missing) const override {
    const Eigen::Index d = a_.cols(), add = static_cast<Eigen::Index>(missing.size());
    if (add < d) {
      Matrix out(d, add);
      for (Eigen::Index c0 = 0; c0 < add; c0 += kBatch) {
        const Eigen::Index m = std::min(kBatch, add - c0);
        const std::vector<Eigen::Index> batch(missing.begin() + c0, missing.begin() + c0 + m);
        out.middleCols(c0, m) = lapack::transpose_times(a_, a_(Eigen::all, batch));
      }
      return out;
    }
    return block_by_rows(missing);  // every feature: the full Gram by the symmetric product, in `missing`'s order
  }

  Matrix a_, c_;
};

}  // namespace

std::unique_ptr<LocalSolver> make_screened_solver(Matrix a, Matrix c) {
  return std::make_unique<ScreenedSolver>(std::move(a), std::move(c));
}

}  // namespace cadmm
