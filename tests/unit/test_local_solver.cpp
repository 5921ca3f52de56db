#include <gtest/gtest.h>

#include "cadmm/error.hpp"
#include "cadmm/local_solver.hpp"
#include "cadmm/plan.hpp"

using namespace cadmm;

namespace {
struct Block {
  Matrix a, b;  // A (m x d), b (m x k), loss 1/(2n) ||A x - b||^2
  double n;
};

Block make_block(int m, int d, int k, double n, unsigned seed) {
  std::srand(seed);
  Block blk{Matrix::Random(m, d), Matrix::Random(m, k), n};
  blk.a.col(0) *= 100;  // badly scaled column
  return blk;
}

std::unique_ptr<LocalSolver> gram_of(const Block& b) {
  return make_gram_solver(b.a.transpose() * b.a / b.n, b.a.transpose() * b.b / b.n, b.b.squaredNorm() / b.n,
                          b.a.rows());
}

std::unique_ptr<LocalSolver> woodbury_of(const Block& b) {
  const double f = 1 / std::sqrt(b.n);
  return make_woodbury_solver(b.a * f, b.b * f);
}

std::unique_ptr<LocalSolver> screened_of(const Block& b) {
  const double f = 1 / std::sqrt(b.n);
  return make_screened_solver(b.a * f, b.b * f);
}

// The rows read again, 7 at a time (blocks need not divide the rows), with no centre and unit scale.
std::unique_ptr<LocalSolver> streamed_of(const Block& b) {
  const RowMatrix rows = b.a;
  RowStream stream = [rows](const std::function<void(const RowMatrix&)>& sink) {
    for (Eigen::Index r0 = 0; r0 < rows.rows(); r0 += 7) sink(rows.middleRows(r0, std::min<Eigen::Index>(7, rows.rows() - r0)));
  };
  return make_streamed_solver(stream, Vector::Zero(b.a.cols()), Vector::Ones(b.a.cols()), Vector(), b.a.transpose() * b.b / b.n,
                              b.b.squaredNorm() / b.n, b.a.rows(), b.n);
}

// Reference: dense LDLT of A^T A / n + rho I.
Matrix direct_solve(const Block& b, const Matrix& rhs, double rho) {
  Matrix h = b.a.transpose() * b.a / b.n;
  h.diagonal().array() += rho;
  return h.ldlt().solve(rhs);
}

void expect_matches_direct(const LocalSolver& s, const Block& b, const char* kind) {
  const int d = static_cast<int>(b.a.cols()), k = static_cast<int>(b.b.cols());
  for (double rho : {1e-4, 0.3, 7.0, 1e3}) {
    const Matrix rhs = Matrix::Random(d, k);
    Matrix x;
    s.solve(rhs, rho, x, 1e-15);  // direct solvers ignore the tolerance; CG runs to rounding
    const Matrix ref = direct_solve(b, rhs, rho);
    EXPECT_LT((x - ref).norm(), 1e-9 * (1 + ref.norm())) << kind << " rho " << rho;
  }
  // Residual statistics against their definitions.
  const Matrix z = Matrix::Random(d, k);
  const LocalFit f = s.fit_at(z);
  const Matrix r = b.b - b.a * z;
  EXPECT_LT((f.grad - b.a.transpose() * r / b.n).norm(), 1e-9 * (1 + f.grad.norm()));
  EXPECT_NEAR(f.rss, r.squaredNorm() / b.n, 1e-9 * r.squaredNorm() / b.n);
  EXPECT_NEAR(f.ry, (r.array() * b.b.array()).sum() / b.n, 1e-9 * (1 + std::abs(f.ry)));
  EXPECT_LT((s.q() - b.a.transpose() * b.b / b.n).norm(), 1e-9 * (1 + s.q().norm()));
  const std::vector<Eigen::Index> some{0, 2, 3};
  const Matrix h_ref = b.a.transpose() * b.a / b.n;
  EXPECT_LT((s.hessian_block(some) - h_ref(some, some)).norm(), 1e-9 * h_ref.norm());
}
}  // namespace

TEST(GramSolver, MatchesDenseSolveForAnyRho) {
  const Block b = make_block(80, 12, 2, 200, 1);
  expect_matches_direct(*gram_of(b), b, "gram");
}

// The direct forms factor on the first x-update only: by Cholesky per rho (a repeated rho reuses its factor) until
// kEigenOverCholesky were made, then one eigendecomposition serves every rho. Every answer matches the dense solve,
// and gradients and blocks read before, between and after the factorizations match their definitions.
TEST(GramSolver, FactorsLazilyCholeskyPerRhoThenOneEigendecomposition) {
  for (const bool wide : {false, true}) {
    const Block b = wide ? make_block(9, 30, 2, 200, 12) : make_block(80, 12, 2, 200, 11);
    const auto s = wide ? woodbury_of(b) : gram_of(b);
    const int d = static_cast<int>(b.a.cols());
    EXPECT_EQ(s->factorizations().cholesky, 0);
    Matrix z = Matrix::Zero(d, 2);
    z.row(1).setConstant(0.5), z.row(4).setConstant(-2);  // sparse z: the gradient reads H's columns 1 and 4
    const Matrix r = b.b - b.a * z;
    EXPECT_LT((s->fit_at(z).grad - b.a.transpose() * r / b.n).norm(), 1e-9 * (1 + r.norm()));
    EXPECT_EQ(s->factorizations().cholesky, 0) << "a gradient needs no factorization";
    const int choleskies = static_cast<int>(kEigenOverCholesky);
    std::vector<double> rhos{1.0, 1.0};  // the second reuses the first factor
    for (int i = 1; i <= choleskies + 2; ++i) rhos.push_back(1.0 + i);
    int distinct = 0;
    for (std::size_t i = 0; i < rhos.size(); ++i) {
      distinct += i == 0 || rhos[i] != rhos[i - 1];
      const Matrix rhs = Matrix::Random(d, 2);
      Matrix x;
      s->solve(rhs, rhos[i], x, 0);
      const Matrix ref = direct_solve(b, rhs, rhos[i]);
      EXPECT_LT((x - ref).norm(), 1e-9 * (1 + ref.norm())) << "rho " << rhos[i];
      const FactorLog log = s->factorizations();
      EXPECT_EQ(log.cholesky, std::min(distinct, choleskies)) << "rho " << rhos[i];
      EXPECT_EQ(log.eigen, distinct > choleskies ? 1 : 0) << "rho " << rhos[i];
      EXPECT_LT((s->fit_at(z).grad - b.a.transpose() * r / b.n).norm(), 1e-9 * (1 + r.norm()));
    }
    const std::vector<Eigen::Index> some{0, 4};
    const Matrix h_ref = b.a.transpose() * b.a / b.n;
    EXPECT_LT((s->hessian_block(some) - h_ref(some, some)).norm(), 1e-9 * h_ref.norm());
  }
}

TEST(WoodburySolver, MatchesDenseSolveForAnyRho) {
  const Block b = make_block(9, 30, 3, 200, 2);
  expect_matches_direct(*woodbury_of(b), b, "woodbury");
}

TEST(ScreenedSolver, MatchesDenseSolveForAnyRho) {
  const Block b = make_block(300, 12, 2, 700, 5);
  expect_matches_direct(*screened_of(b), b, "screened");
  // At zero the statistics are known without a pass over the rows; they must be the same ones.
  const LocalFit f = screened_of(b)->fit_at(Matrix::Zero(12, 2));
  EXPECT_LT((f.grad - b.a.transpose() * b.b / b.n).norm(), 1e-9 * f.grad.norm());
  EXPECT_NEAR(f.rss, b.b.squaredNorm() / b.n, 1e-12 * f.rss);
}

// The screened form answers gradients by passes over its rows until they have cost as much as the columns of the
// support would (kPassInColumns each), then keeps those columns: every answer, before and after, and every block
// (kept columns, fetched ones, a mix; rows other than the columns), must be the dense product's.
TEST(ScreenedSolver, GradientsAndBlocksAreTheProductsBeforeAndAfterItKeepsColumns) {
  const Block b = make_block(300, 40, 2, 700, 9);
  const auto s = screened_of(b);
  const Matrix h_ref = b.a.transpose() * b.a / b.n;
  Matrix z = Matrix::Zero(40, 2);
  for (int j = 0; j < 17; ++j) z(2 * j, j % 2) = 0.1 * (j + 1);  // 17 features: more than one pass's worth
  for (int call = 0; call < 4; ++call) {  // the first passes, the second buys the columns, the rest reuse them
    const Matrix r = b.b - b.a * z;
    const LocalFit f = s->fit_at(z);
    EXPECT_LT((f.grad - b.a.transpose() * r / b.n).norm(), 1e-12 * (1 + f.grad.norm())) << "call " << call;
    EXPECT_NEAR(f.rss, r.squaredNorm() / b.n, 1e-11 * f.rss) << "call " << call;
    EXPECT_NEAR(f.ry, (r.array() * b.b.array()).sum() / b.n, 1e-11 * std::abs(f.ry)) << "call " << call;
    z(1, 1) += 0.25;  // a feature not kept joins: fetched alone
  }
  const std::vector<Eigen::Index> mixed{3, 0, 2, 39, 1}, rows{5, 2, 0};
  EXPECT_LT((s->hessian_block(mixed) - h_ref(mixed, mixed)).norm(), 1e-12 * h_ref.norm());
  EXPECT_LT((s->hessian_columns(rows, mixed) - h_ref(rows, mixed)).norm(), 1e-12 * h_ref.norm());
  expect_matches_direct(*s, b, "screened, columns kept");
}

TEST(StreamedSolver, MatchesDenseSolveForAnyRhoAndPassesOncePerNewFeature) {
  const Block b = make_block(300, 12, 2, 700, 8);
  expect_matches_direct(*streamed_of(b), b, "streamed");
  // Passes: features fetched once each, so a second look at the same subset reads nothing.
  int passes = 0;
  const RowMatrix rows = b.a;
  RowStream counting = [&passes, rows](const std::function<void(const RowMatrix&)>& sink) { ++passes; sink(rows); };
  auto s = make_streamed_solver(counting, Vector::Zero(12), Vector::Ones(12), Vector(), b.a.transpose() * b.b / b.n,
                                b.b.squaredNorm() / b.n, b.a.rows(), b.n);
  s->hessian_block({1, 2});
  s->hessian_block({2, 1});
  Matrix z = Matrix::Zero(12, 2);
  z(1, 0) = 0.5;
  s->fit_at(z);
  EXPECT_EQ(passes, 1);
  s->hessian_block({1, 5});
  EXPECT_EQ(passes, 2);
}

TEST(LocalSolver, RestrictedTermIsTheProblemOnTheSubsetForEveryForm) {
  // The subset's problem: columns S of A only. Its solves and statistics must be those of that smaller block.
  const Block tall = make_block(300, 12, 2, 700, 6), wide = make_block(8, 12, 2, 700, 7);
  const std::vector<Eigen::Index> subset{1, 4, 5, 11};
  for (const Block* b : {&tall, &wide}) {
    Block sub{b->a(Eigen::all, subset), b->b, b->n};
    std::vector<std::unique_ptr<LocalSolver>> forms;
    forms.push_back(screened_of(*b));
    forms.push_back(streamed_of(*b));
    forms.push_back(woodbury_of(*b));
    if (b == &tall) forms.push_back(gram_of(*b));
    for (const auto& s : forms) expect_matches_direct(*s->restricted(subset), sub, "restricted");
  }
}

TEST(WoodburySolver, RankDeficientTallBlockStillSolves) {
  Block b = make_block(40, 10, 1, 40, 3);
  b.a.col(3) = b.a.col(4);  // duplicate column: singular Gram, fine once rho > 0
  expect_matches_direct(*gram_of(b), b, "gram");
  expect_matches_direct(*woodbury_of(b), b, "woodbury");
}

TEST(CgSolver, MatchesDenseSolveOfTheImplicitlyCentredScaledRows) {
  // A = (X - 1 mu^T) S / sqrt(n) with sparse X: the solver never forms A; the reference does, densely.
  std::srand(4);
  const int m = 50, d = 20, k = 2;
  const double n = 120;
  Matrix xd = Matrix::Random(m, d);
  xd = (xd.array().abs() < 0.7).select(0.0, xd);  // about 30% nonzeros
  const SparseRows x = RowMatrix(xd).sparseView();
  const Vector mu = Vector::Random(d), scale = Vector::Random(d).cwiseAbs() + Vector::Constant(d, 0.1);
  const Matrix y = Matrix::Random(m, k);
  Block b{(xd.rowwise() - mu.transpose()) * scale.asDiagonal(), y, n};
  b.a /= std::sqrt(n);
  b.b /= std::sqrt(n);
  b.n = 1;  // A and b already carry 1/sqrt(n)
  CsrRows rows(d, false);
  rows.append(x);
  const auto cg = make_cg_solver(rows, mu, scale, Vector(), y, n);
  EXPECT_TRUE(cg->iterative());
  expect_matches_direct(*cg, b, "cg");
  // Warm start and tolerance: from the exact answer nothing moves; a loose tolerance stops early but near.
  const Matrix rhs = Matrix::Random(d, k);
  Matrix x_ref = direct_solve(b, rhs, 0.5), x_warm = x_ref;
  cg->solve(rhs, 0.5, x_warm, 1e-12);
  EXPECT_LT((x_warm - x_ref).norm(), 1e-12 * x_ref.norm());
  Matrix x_loose;
  cg->solve(rhs, 0.5, x_loose, 1e-3);
  EXPECT_LT((x_loose - x_ref).norm(), 1e-1 * x_ref.norm());
  // The form keeps its last residual and statistics: points asked for in turn, again, and one changed in place
  // (one entry) each get their own, against the dense definitions.
  Matrix z1 = Matrix::Random(d, k);
  const Matrix z2 = Matrix::Random(d, k);
  for (int step = 0; step < 6; ++step) {
    if (step == 4) z1(3, 1) += 0.5;
    const Matrix& z = step % 2 ? z2 : z1;
    const Matrix r = b.b - b.a * z;
    EXPECT_LT((cg->residual(z) - r).norm(), 1e-12 * r.norm()) << "step " << step;
    const LocalFit f = cg->fit_at(z);
    EXPECT_LT((f.grad - b.a.transpose() * r).norm(), 1e-12 * (b.a.transpose() * r).norm()) << "step " << step;
    EXPECT_NEAR(f.rss, r.squaredNorm(), 1e-12 * r.squaredNorm()) << "step " << step;
    EXPECT_NEAR(f.ry, (r.array() * b.b.array()).sum(), 1e-12 * r.squaredNorm()) << "step " << step;
  }
}

TEST(WoodburySolver, NoRowsIsTheIdentityOverRho) {
  const auto s = make_woodbury_solver(Matrix(0, 5), Matrix(0, 2));
  const Matrix rhs = Matrix::Random(5, 2);
  Matrix x;
  s->solve(rhs, 4.0, x, 0.0);
  EXPECT_LT((x - rhs / 4.0).norm(), 1e-15);
  EXPECT_EQ(s->rows(), 0);
  EXPECT_EQ(s->fit_at(rhs).rss, 0.0);
}

TEST(CsrRows, Float32HeldValuesGiveTheDoubleProducts) {
  // Values that float32 holds exactly (as a float32 file's do): the single-precision store loses nothing.
  std::srand(8);
  Matrix xd = (Matrix::Random(30, 12) * 64).array().round() / 64;
  xd = (xd.array().abs() < 0.5).select(0.0, xd);
  const SparseRows x = RowMatrix(xd).sparseView();
  CsrRows single(12, true), twice(12, false);
  single.append(x);
  twice.append(RowMatrix(xd));
  const Matrix v = Matrix::Random(12, 3), w = Matrix::Random(30, 2);
  EXPECT_EQ(single.nnz(), twice.nnz());
  EXPECT_LT((single.times(v) - xd * v).cwiseAbs().maxCoeff(), 1e-13);
  EXPECT_LT((single.transpose_times(w) - xd.transpose() * w).cwiseAbs().maxCoeff(), 1e-13);
  EXPECT_EQ((single.times(v) - twice.times(v)).cwiseAbs().maxCoeff(), 0.0);
  CsrRows more(12, true);
  more.append(x);
  single.append(more);  // rows of the same precision add
  EXPECT_EQ(single.rows(), 60);
  EXPECT_LT((single.times(v).bottomRows(30) - xd * v).cwiseAbs().maxCoeff(), 1e-13);
  EXPECT_THROW(single.append(twice), RuntimeFailure);
}
