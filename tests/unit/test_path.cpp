#include <gtest/gtest.h>

#include <random>
#include <set>

#include "cadmm/communicator.hpp"
#include "cadmm/error.hpp"
#include "cadmm/path.hpp"
#include "cadmm/plan.hpp"

using namespace cadmm;

TEST(Folds, SeededAssignmentIsABalancedPermutation) {
  for (std::int64_t n : {2, 7, 100, 1001, 4099}) {
    for (int folds : {2, 3, 10}) {
      if (folds > n) continue;
      const FoldAssignment a(42, n, folds);
      std::vector<std::int64_t> size(static_cast<std::size_t>(folds), 0);
      for (std::int64_t i = 0; i < n; ++i) ++size[static_cast<std::size_t>(a.fold(i))];
      // Sizes differ by at most one: the rows are a permutation dealt out in turn.
      EXPECT_EQ(*std::max_element(size.begin(), size.end()) - *std::min_element(size.begin(), size.end()),
                n % folds == 0 ? 0 : 1)
          << "n " << n << " folds " << folds;
    }
  }
  // Not the identity: neighbouring rows are spread over folds, and another seed gives another split.
  const FoldAssignment a(1, 1000, 5), b(2, 1000, 5);
  int same = 0, neighbours = 0;
  for (int i = 0; i < 1000; ++i) {
    same += a.fold(i) == b.fold(i);
    neighbours += i > 0 && a.fold(i) == (a.fold(i - 1) + 1) % 5;
  }
  EXPECT_LT(same, 300);
  EXPECT_LT(neighbours, 300);
}

TEST(Folds, BadCountsAreRefused) {
  EXPECT_THROW(FoldAssignment(0, 10, 1), UsageError);
  EXPECT_THROW(FoldAssignment(0, 10, 11), DataError);  // the data is too small for the folds (exit 3)
}

TEST(Lambdas, GridAndChecks) {
  const std::vector<double> g = lambda_grid(2.0, 5, 1e-2);
  ASSERT_EQ(g.size(), 5u);
  EXPECT_DOUBLE_EQ(g.front(), 2.0);
  EXPECT_NEAR(g.back(), 0.02, 1e-15);
  EXPECT_NEAR(g[1] / g[0], g[4] / g[3], 1e-12);  // log-spaced
  EXPECT_THROW(check_lambdas({}), UsageError);
  EXPECT_THROW(check_lambdas({1.0, 1.0}), UsageError);
  EXPECT_THROW(check_lambdas({1.0, -0.5}), UsageError);
  EXPECT_NO_THROW(check_lambdas({1.0, 0.5, 0.0}));
}

TEST(Folds, GlmnetSummaryRules) {
  CvResult cv;
  cv.lambdas = {4, 3, 2, 1};
  cv.fold_rows = {10, 10, 20};
  cv.mse.resize(3, 4);
  cv.mse << 5, 2.0, 1.1, 1.0,  //
      5, 2.2, 0.9, 1.0,         //
      5, 2.1, 1.0, 1.0;
  summarize_folds(cv);
  // Weighted by fold size: (1.1 + 0.9 + 2 * 1.0) / 4 = 1.0 at index 2 and 1.0 at index 3: the larger lambda wins.
  EXPECT_NEAR(cv.mse_mean[2], 1.0, 1e-15);
  EXPECT_EQ(cv.index_min, 2u);
  // Standard error at index 2: sqrt(weighted variance / (folds - 1)) = sqrt((0.01 + 0.01) / 4 / 2) = 0.05.
  EXPECT_NEAR(cv.mse_std[2], 0.05, 1e-15);
  EXPECT_EQ(cv.index_1se, 2u);  // index 1 (2.1) is above 1.05
}

TEST(RowSums, FoldsAddAndPredictTheirOwnErrors) {
  std::srand(3);
  const int n = 90, d = 4, k = 2;
  RowMatrix x = RowMatrix::Random(n, d), y = RowMatrix::Random(n, k);
  x.array() += 1e4;  // large offsets: the shared shift keeps the sums exact enough
  for (bool tall : {true, false}) {
    // A wide builder (rows < d) keeps rows; make one with more features than local rows.
    const int dd = tall ? d : 120;
    RowMatrix xx = RowMatrix::Zero(n, dd);
    xx.leftCols(d) = x;
    LocalDataBuilder b(n, dd, k, 3);
    std::vector<int> piece(n);
    for (int i = 0; i < n; ++i) piece[static_cast<std::size_t>(i)] = (i * 7) % 3;
    for (int r0 = 0; r0 < n; r0 += 25) {
      const int m = std::min(25, n - r0);
      RowMatrix xb = xx.middleRows(r0, m), yb = y.middleRows(r0, m);
      b.add_rows(xb, yb, piece.data() + r0);
    }
    ASSERT_EQ(b.piece(0).form(), tall ? LocalForm::gram : LocalForm::woodbury);
    const Matrix w = Matrix::Random(dd, 2 * k);  // two models side by side
    const Vector icpt = Vector::Random(2 * k);
    for (int f = -1; f < 3; ++f) {
      const RowSums s = f < 0 ? b.total() : b.piece(f);
      const Vector got = s.squared_errors(w, icpt);
      Vector want = Vector::Zero(2);
      for (int i = 0; i < n; ++i) {
        if (f >= 0 && piece[static_cast<std::size_t>(i)] != f) continue;
        for (int m = 0; m < 2; ++m)
          want[m] += (y.row(i) - xx.row(i) * w.middleCols(m * k, k) - icpt.segment(m * k, k).transpose()).squaredNorm();
      }
      EXPECT_LT((got - want).cwiseAbs().maxCoeff(), 1e-8 * want.maxCoeff()) << "tall " << tall << " piece " << f;
    }
    // The training set of fold 0 is the other two folds' sum: same sums as adding them.
    RowSums other = b.piece(1);
    other += b.piece(2);
    EXPECT_EQ(other.rows(), b.total(0).rows());
    EXPECT_LT((other.sums() - b.total(0).sums()).norm(), 1e-9 * other.sums().norm());
  }
}

// A path over working sets (each lambda warm-started, its set seeded by the previous support) against the full
// Gram path: the same fits, and a few rounds per lambda rather than a set grown from scratch.
TEST(Path, WorkingSetPathEqualsTheFullGramPath) {
  std::mt19937 g(5);
  std::normal_distribution<double> nd;
  const int n = 500, d = 120;
  RowMatrix x(n, d), y(n, 1);
  for (int i = 0; i < x.size(); ++i) x.data()[i] = nd(g);
  Vector w = Vector::Zero(d);
  for (int j = 0; j < d; j += 4) w[j] = nd(g);
  y.col(0) = x * w;
  for (int i = 0; i < n; ++i) y(i, 0) += 0.3 * nd(g);
  SerialCommunicator comm;
  ProblemSpec spec;
  spec.penalty = Penalty::elasticnet;
  spec.l1_ratio = 0.7;
  const SolverSettings st;
  const Model full = make_model(x, y, spec, comm, LocalForm::gram);
  const Lambdas lambdas = Lambdas::resolve(LambdaRequest::grid(30, 1e-3), lambda_max(full));
  const PathResult a = fit_path(full, lambdas, st, false, comm);
  for (const LocalForm form : {LocalForm::screened, LocalForm::streamed}) {
  const Model screened = make_model(x, y, spec, comm, form);
  const PathResult b = fit_path(screened, lambdas, st, false, comm);
  ASSERT_EQ(a.fits.size(), b.fits.size());
  for (std::size_t i = 0; i < a.fits.size(); ++i) {
    const AdmmResult &fa = a.fits[i].admm, &fb = b.fits[i].admm;
    ASSERT_EQ(fb.status, Status::converged) << i;
    EXPECT_NEAR(fb.optimality.objective, fa.optimality.objective, 1e-9 * std::abs(fa.optimality.objective)) << i;
    EXPECT_LT((b.fits[i].coef - a.fits[i].coef).norm(), 1e-5 * (1 + a.fits[i].coef.norm())) << i;
    EXPECT_LE(fb.working_set_rounds, 3) << "lambda " << i << ": the warm start should seed the set";
  }
  }
}

// A path keeps its polishing factors from one lambda to the next unless it checkpoints (a checkpoint observer set):
// the same fits either way, for the lasso and for an elastic net (whose l2 weight, in every factor, changes with
// lambda). A grid that starts below the model's own lambda_max (a fold's) polishes its first lambda from z = 0
// through the strong rule, with no ADMM iteration.
TEST(Path, KeptPolishingFactorsGiveTheFitsOfFreshOnes) {
  std::mt19937 g(11);
  std::normal_distribution<double> nd;
  const int n = 300, d = 200;
  RowMatrix x(n, d), y(n, 1);
  for (int i = 0; i < n; ++i) {
    const double common = nd(g);
    for (int j = 0; j < d; ++j) x(i, j) = nd(g) + common;  // correlated columns: many sign corrections
  }
  Vector w = Vector::Zero(d);
  for (int j = 0; j < d; j += 3) w[j] = nd(g);
  y.col(0) = x * w;
  for (int i = 0; i < n; ++i) y(i, 0) += 0.5 * nd(g);
  SerialCommunicator comm;
  for (const double l1_ratio : {1.0, 0.6}) {
    ProblemSpec spec;
    spec.penalty = l1_ratio < 1 ? Penalty::elasticnet : Penalty::l1;
    spec.l1_ratio = l1_ratio;
    const SolverSettings st;
    const Model model = make_model(x, y, spec, comm, LocalForm::gram);
    const Lambdas grid = Lambdas::resolve(LambdaRequest::grid(40, 1e-3), lambda_max(model));
    AdmmObserver checkpointed;
    checkpointed.checkpoint = [](const AdmmState&) {};  // never called: checkpoint_every is 0
    const PathResult kept = fit_path(model, grid, st, false, comm);
    const PathResult fresh = fit_path(model, grid, st, false, comm, {}, checkpointed);
    ASSERT_EQ(kept.fits.size(), fresh.fits.size());
    for (std::size_t i = 0; i < kept.fits.size(); ++i) {
      const AdmmResult &a = kept.fits[i].admm, &b = fresh.fits[i].admm;
      ASSERT_EQ(a.status, Status::converged) << l1_ratio << " " << i;
      EXPECT_NEAR(a.optimality.objective, b.optimality.objective, 1e-10 * std::abs(b.optimality.objective)) << i;
      EXPECT_LT((kept.fits[i].coef - fresh.fits[i].coef).norm(), 1e-7 * (1 + fresh.fits[i].coef.norm())) << i;
    }
    EXPECT_GT(kept.fits.back().coef.col(0).cwiseAbs().maxCoeff(), 0);
    // A grid from the second lambda on: its first lambda is polished from z = 0 at the model's own lambda_max.
    const Lambdas tail{grid.lambda_max, std::vector<double>(grid.values.begin() + 1, grid.values.end())};
    const PathResult part = fit_path(model, tail, st, false, comm);
    EXPECT_EQ(part.fits.front().admm.history.size(), 0u) << l1_ratio;
    EXPECT_TRUE(part.fits.front().admm.polished) << l1_ratio << ": " << part.fits.front().admm.state.iteration << " iterations";
    EXPECT_NEAR(part.fits.front().admm.optimality.objective, kept.fits[1].admm.optimality.objective,
                1e-10 * std::abs(kept.fits[1].admm.optimality.objective));
  }
}

// A path keeps its rows (covariance mode) only from kPathScreenMinFeatures and where they fit; below, or without the
// room, the Gram. Never the streamed form: it would read the rows again for every lambda's entering features.
TEST(Plan, PathKeepsItsRowsOnlyForManyFeaturesWhereTheyFit) {
  const std::int64_t d = kPathScreenMinFeatures, rows = 3 * d;
  EXPECT_EQ(plan_local_form(rows, d, false, std::nullopt, Screen::path), LocalForm::screened);
  EXPECT_EQ(plan_local_form(rows, d - 1, false, std::nullopt, Screen::path), LocalForm::gram);
  EXPECT_EQ(plan_local_form(rows, d - 1, false, std::nullopt, Screen::one_fit), LocalForm::screened);
  const double rows_bytes = local_memory_bytes(LocalForm::screened, rows, d, 1, 0);
  EXPECT_EQ(plan_local_form(rows, d, false, std::nullopt, Screen::path, rows_bytes / 2), LocalForm::gram);
  EXPECT_EQ(plan_local_form(rows, d, false, std::nullopt, Screen::one_fit, rows_bytes / 2), LocalForm::streamed);
  EXPECT_EQ(plan_local_form(rows, d, false, std::nullopt, Screen::none), LocalForm::gram);
  EXPECT_EQ(plan_local_form(rows, d, true, std::nullopt, Screen::path), LocalForm::cg);
  // Fewer rows than features: working sets where they serve and fit (a path's or one fit's, as for tall blocks where
  // the data are tall as a whole; a path's rows kept where they are wide as a whole), the matrix-inversion lemma
  // otherwise.
  EXPECT_EQ(plan_local_form(d / 2, d, false, std::nullopt, Screen::path), LocalForm::screened);
  EXPECT_EQ(plan_local_form(d / 2, d - 1, false, std::nullopt, Screen::path, 0, 2 * d), LocalForm::gram);
  EXPECT_EQ(plan_local_form(d / 2, d - 1, false, std::nullopt, Screen::path, 0, d - 2), LocalForm::screened);
  EXPECT_EQ(plan_local_form(d / 2, d - 1, false, std::nullopt, Screen::path), LocalForm::screened);
  EXPECT_EQ(plan_local_form(d / 2, d, false, std::nullopt, Screen::one_fit), LocalForm::screened);
  EXPECT_EQ(plan_local_form(d / 2, d, false, std::nullopt, Screen::none), LocalForm::woodbury);
  EXPECT_EQ(plan_local_form(kScreenMinFeatures / 2, kScreenMinFeatures - 1, false, std::nullopt, Screen::path),
            LocalForm::woodbury);
  const double wide_bytes = local_memory_bytes(LocalForm::screened, d / 2, d, 1, 0);
  EXPECT_EQ(plan_local_form(d / 2, d, false, std::nullopt, Screen::path, wide_bytes / 2), LocalForm::woodbury);
}

// A wide block's (of data tall as a whole) working-set form that does not fit with cv's folds (the Gram form with the rows held: about 5 d^2
// doubles whatever the rows) goes back to the matrix-inversion lemma where that fits, rather than refusing the run.
TEST(Plan, WideBlocksTakeWoodburyWhereTheFoldsGramsDoNotFit) {
  SerialCommunicator comm;
  const std::int64_t d = 4000, rows = 1500, folds = 10;
  DataShape shape;
  shape.rows = 10 * rows, shape.features = d;  // tall as a whole, wide on this rank
  PlanRequest request;
  request.screen = Screen::path;
  request.folds = true;
  const double budget = local_memory_bytes(LocalForm::gram, rows, d, 1, 0);  // a path's Gram, just
  const double woodbury = local_memory_bytes(LocalForm::woodbury, rows, d, 1, 0, folds);
  ASSERT_LT(woodbury, budget);
  ASSERT_GT(local_memory_bytes(LocalForm::gram, rows, d, 1, 0, folds), budget);
  Plan plan = make_plan(rows, rows * d, shape, request, budget, comm);
  EXPECT_EQ(plan.rank.form, LocalForm::gram);  // a path's Gram fits
  plan.set_pieces(static_cast<int>(folds), shape, comm);
  EXPECT_EQ(plan.rank.form, LocalForm::woodbury);
  EXPECT_LE(plan.rank.memory_bytes, budget);
  EXPECT_FALSE(plan.reason.empty());
  // Asked for, the Gram form is refused (exit 2) instead; with room for neither, the planned form is.
  request.requested = LocalForm::gram;
  Plan asked = make_plan(rows, rows * d, shape, request, budget, comm);
  EXPECT_THROW(asked.set_pieces(static_cast<int>(folds), shape, comm), UsageError);
  request.requested.reset();
  Plan tight = make_plan(rows, rows * d, shape, request, budget, comm);
  tight.budget = 0.5 * woodbury;
  EXPECT_THROW(tight.set_pieces(static_cast<int>(folds), shape, comm), UsageError);
}
