#include <gtest/gtest.h>

#include "cadmm/error.hpp"
#include "cadmm/fit.hpp"
#include "cadmm/data.hpp"

using namespace cadmm;

namespace {
// The default problem with standardized columns.
ProblemSpec standardized() {
  ProblemSpec s;
  s.standardize = true;
  return s;
}
// Feeds rows in uneven blocks, as the reader does (projections: keeps the columns' projections, for the tie test).
RowSums build(const RowMatrix& x, const RowMatrix& y, int block, bool projections = false) {
  LocalDataBuilder b(x.rows(), x.cols(), y.cols());
  if (projections) b.keep_projections(0);
  for (Eigen::Index r = 0; r < x.rows(); r += block) {
    const Eigen::Index m = std::min<Eigen::Index>(block, x.rows() - r);
    RowMatrix xb = x.middleRows(r, m), yb = y.middleRows(r, m);
    b.add_rows(xb, yb);
  }
  return std::move(b).take();
}
}  // namespace

TEST(Prepare, CenteredGramIsAccurateUnderLargeOffsets) {
  // Columns with mean 1e6 and unit spread: a naive X^T X - n m m^T would lose ~12 digits.
  std::srand(5);
  const int n = 500, d = 4;
  RowMatrix x = RowMatrix::Random(n, d), y = RowMatrix::Random(n, 1);
  x.array() += 1e6;
  y.array() += 3e5;
  SerialCommunicator comm;
  PreparedData p = prepare(build(x, y, 37), ProblemSpec{}, comm);
  const RowMatrix xc = x.rowwise() - x.colwise().mean();
  const RowMatrix yc = y.rowwise() - y.colwise().mean();
  const Vector var_ref = xc.colwise().squaredNorm().transpose() / n;
  EXPECT_LT((p.x_var - var_ref).norm(), 1e-9 * var_ref.norm());
  const Matrix q_ref = xc.transpose() * yc / n;
  EXPECT_LT((p.q_global - q_ref).norm(), 1e-9 * q_ref.norm());
  // The factored local term reproduces the centered Hessian.
  const auto f = std::move(p.block).factor(Vector::Ones(d), n);
  const Matrix z = Matrix::Random(d, 1);
  const Matrix hz_ref = xc.transpose() * (xc * z) / n;
  const Matrix hz = f->q() - f->fit_at(z).grad;
  EXPECT_LT((hz - hz_ref).norm(), 1e-8 * hz_ref.norm());
}

TEST(Prepare, StreamedColumnsFetchedWithTheSumsAreTheCenteredScaledOnesAndCostNoPass) {
  // Large offsets (the shift and the move to the mean must stay exact), a column scale, uneven blocks; the
  // reference is the centred, scaled Hessian formed densely from the rows.
  std::srand(12);
  const int n = 400, d = 9;
  RowMatrix x = RowMatrix::Random(n, d), y = RowMatrix::Random(n, 2);
  x.array() += 1e5;
  const std::vector<Eigen::Index> fetched{7, 2, 5};
  int passes = 0;
  RowStream stream = [&passes, x](const std::function<void(const RowMatrix&)>& sink) { ++passes; sink(x); };
  LocalDataBuilder b(n, d, 2, 1, LocalForm::streamed);
  b.fetch_with_sums(fetched);
  for (Eigen::Index r = 0; r < n; r += 37) {
    const Eigen::Index m = std::min<Eigen::Index>(37, n - r);
    RowMatrix xb = x.middleRows(r, m), yb = y.middleRows(r, m);
    b.add_rows(xb, yb);
  }
  RowSums sums = std::move(b).take();
  sums.set_stream(stream);
  SerialCommunicator comm;
  PreparedData p = prepare(std::move(sums), ProblemSpec{}, comm);
  Vector scale(d);
  for (int j = 0; j < d; ++j) scale[j] = 0.5 + j;
  const auto f = std::move(p.block).factor(scale, n);
  const RowMatrix xc = x.rowwise() - x.colwise().mean();
  const Matrix a = xc * scale.asDiagonal();
  const Matrix h = a.transpose() * a / n;
  const std::vector<Eigen::Index> inside{5, 7};
  EXPECT_LT((f->hessian_block(inside) - h(inside, inside)).norm(), 1e-9 * h.norm());
  Matrix z = Matrix::Zero(d, 2);
  z(2, 0) = 0.3;
  z(7, 1) = -1.1;  // supported on the fetched features: the gradient at z needs no pass either
  EXPECT_LT((f->q() - f->fit_at(z).grad - h * z).norm(), 1e-9 * (h * z).norm());
  EXPECT_EQ(passes, 0) << "the fetched columns were read again";
  const std::vector<Eigen::Index> beyond{1, 5};
  EXPECT_LT((f->hessian_block(beyond) - h(beyond, beyond)).norm(), 1e-9 * h.norm());
  EXPECT_EQ(passes, 1);
}

TEST(Prepare, TallAndWideBlocksDescribeTheSameTerm) {
  std::srand(9);
  const int d = 6;
  RowMatrix x = RowMatrix::Random(20, d), y = RowMatrix::Random(20, 2);
  SerialCommunicator comm;
  PreparedData tall = prepare(build(x, y, 7), ProblemSpec{}, comm);
  // Same 20 rows seen as a wide block: only possible with d > rows, so append zero-variance features.
  RowMatrix xw(20, 30);
  xw.setZero();
  xw.leftCols(d) = x;
  PreparedData wide = prepare(build(xw, y, 7), ProblemSpec{}, comm);
  ASSERT_EQ(tall.block.form(), LocalForm::gram);
  ASSERT_EQ(wide.block.form(), LocalForm::woodbury);
  EXPECT_EQ(wide.constant_columns, 30 - d);
  Vector scale = Vector::Ones(30);
  scale.tail(30 - d).setZero();
  const auto ft = std::move(tall.block).factor(Vector::Ones(d), 20), fw = std::move(wide.block).factor(scale, 20);
  Matrix rhs = Matrix::Random(30, 2);
  rhs.bottomRows(30 - d).setZero();
  Matrix xt, xw_sol;
  ft->solve(rhs.topRows(d), 0.5, xt, 0.0);
  fw->solve(rhs, 0.5, xw_sol, 0.0);
  EXPECT_LT((xt - xw_sol.topRows(d)).norm(), 1e-10);
}

TEST(Prepare, ConstantColumnsAreDetectedNotAmplified) {
  std::srand(2);
  RowMatrix x = RowMatrix::Random(50, 3), y = RowMatrix::Random(50, 1);
  x.col(1).setConstant(0.1);  // sums of 0.1 are inexact: centering leaves rounding noise
  SerialCommunicator comm;
  const PreparedData p = prepare(build(x, y, 13), standardized(), comm);
  EXPECT_EQ(p.constant_columns, 1);
  EXPECT_EQ(p.x_var[1], 0.0);
  const ColumnScaling s = column_scaling(p);
  EXPECT_EQ(s.column[1], 0.0);
}

TEST(Prepare, NoRowsIsADataError) {
  SerialCommunicator comm;
  LocalDataBuilder b(0, 3, 1);
  EXPECT_THROW(prepare(std::move(b).take(), ProblemSpec{}, comm), DataError);
}

namespace {
// Prepares rows (x, y) in `form`, in two pieces (rows alternate, so the sums add), with weights w (null: none); the
// streamed form reads the same rows again (one piece then: its stream is the rows in order).
PreparedData prepare_in(LocalForm form, const RowMatrix& x, const RowMatrix& y, const Vector* w, bool sparse,
                        Communicator& comm) {
  const Eigen::Index n = x.rows();
  const int pieces = form == LocalForm::streamed ? 1 : 2;
  LocalDataBuilder b(n, x.cols(), y.cols(), pieces, form);
  std::vector<int> piece(static_cast<std::size_t>(n));
  for (Eigen::Index i = 0; i < n; ++i) piece[static_cast<std::size_t>(i)] = static_cast<int>(i % pieces);
  for (Eigen::Index r = 0; r < n; r += 11) {
    const Eigen::Index m = std::min<Eigen::Index>(11, n - r);
    RowMatrix xb = x.middleRows(r, m), yb = y.middleRows(r, m);
    const double* wb = w ? w->data() + r : nullptr;
    if (sparse)
      b.add_rows(SparseRows(xb.sparseView()), yb, piece.data() + r, wb);
    else
      b.add_rows(xb, yb, piece.data() + r, wb);
  }
  RowSums sums = b.total();
  if (form == LocalForm::streamed) sums.set_stream([x](const std::function<void(const RowMatrix&)>& sink) { sink(x); });
  ProblemSpec spec;
  spec.standardize = true;
  return prepare(std::move(sums), spec, comm);
}
}  // namespace

TEST(Prepare, IntegerWeightsAreRowsRepeatedInEveryForm) {
  // Weighted least squares with integer weights is plain least squares on every row repeated w_i times (0: left
  // out): the independent reference for the weighted sums, means, variances, Hessian, gradient and held-out errors.
  std::srand(21);
  const int n = 40, d = 5;
  RowMatrix x = RowMatrix::Random(n, d), y = RowMatrix::Random(n, 2);
  x.array() += 3.0;
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < d; ++j)
      if ((i + 2 * j) % 3 == 0) x(i, j) = 0;  // zeros for the CSR input
  Vector w(n);
  for (Eigen::Index i = 0; i < n; ++i) w[i] = static_cast<double>((i * 7) % 4);  // 0..3
  const Eigen::Index total = static_cast<Eigen::Index>(w.sum());
  RowMatrix xr(total, d), yr(total, 2);
  for (Eigen::Index i = 0, at = 0; i < n; ++i)
    for (int c = 0; c < static_cast<int>(w[i]); ++c, ++at) {
      xr.row(at) = x.row(i);
      yr.row(at) = y.row(i);
    }
  SerialCommunicator comm;
  Matrix z = Matrix::Random(d, 2);
  Vector scale(d);
  for (int j = 0; j < d; ++j) scale[j] = 0.5 + j;
  const Matrix coef = Matrix::Random(d, 4);
  const Vector intercept = Vector::Random(4);
  for (LocalForm form : {LocalForm::gram, LocalForm::woodbury, LocalForm::screened, LocalForm::cg, LocalForm::streamed})
    for (bool sparse : {false, true}) {
      if (sparse && (form == LocalForm::streamed || form == LocalForm::screened)) continue;
      SCOPED_TRACE(to_string(form) + (sparse ? " CSR" : " dense"));
      // Held-out errors of raw sums (before prepare).
      LocalDataBuilder bw(n, d, 2, 1, form), br(total, d, 2, 1, form);
      RowMatrix xw = x, xrr = xr;
      bw.add_rows(xw, y, nullptr, w.data());
      br.add_rows(xrr, yr, nullptr);
      if (form != LocalForm::streamed) {
        const Vector ew = bw.piece(0).squared_errors(coef, intercept), er = br.piece(0).squared_errors(coef, intercept);
        EXPECT_LT((ew - er).norm(), 1e-10 * er.norm());
      }
      PreparedData pw = prepare_in(form, x, y, &w, sparse, comm), pr = prepare_in(form, xr, yr, nullptr, sparse, comm);
      EXPECT_EQ(pw.n_rows, n);
      EXPECT_DOUBLE_EQ(pw.n_weight, static_cast<double>(total));
      EXPECT_LT((pw.x_mean - pr.x_mean).norm(), 1e-12 * pr.x_mean.norm());
      EXPECT_LT((pw.x_var - pr.x_var).norm(), 1e-12 * pr.x_var.norm());
      EXPECT_LT((pw.q_global - pr.q_global).norm(), 1e-12 * pr.q_global.norm());
      EXPECT_NEAR(pw.y_ss, pr.y_ss, 1e-12 * pr.y_ss);
      const auto fw = std::move(pw.block).factor(scale, pw.n_weight);
      const auto fr = std::move(pr.block).factor(scale, pr.n_weight);
      const LocalFit gw = fw->fit_at(z), gr = fr->fit_at(z);
      EXPECT_LT((gw.grad - gr.grad).norm(), 1e-11 * gr.grad.norm());
      EXPECT_NEAR(gw.rss, gr.rss, 1e-11 * gr.rss);
      const std::vector<Eigen::Index> some{0, 3, 4};
      EXPECT_LT((fw->hessian_block(some) - fr->hessian_block(some)).norm(), 1e-11 * fr->hessian_block(some).norm());
      Matrix sw, sr;
      fw->solve(gr.grad, 0.7, sw, 1e-13);
      fr->solve(gr.grad, 0.7, sr, 1e-13);
      EXPECT_LT((sw - sr).norm(), 1e-9 * sr.norm());
    }
}

TEST(Prepare, HeldFoldRowsGiveEachFoldTheSumsOfItsTrainingRowsAlone) {
  // Cross-validation with the rows held (holds_fold_rows): a fold's training sums are every row's less its own (the
  // Gram form), or a view of every held row less its own, centred and scaled implicitly (the screened form, with the
  // columns kept over all rows or, with no room for them, not kept). The reference is a Gram builder fed the training
  // rows alone (no subtraction anywhere), for dense and CSR rows, with and without weights, rows offset far from zero
  // (the subtraction must not cancel what the shift kept).
  std::srand(5);
  const int n = 90, d = 24, k = 2, folds = 3;
  RowMatrix x = RowMatrix::Random(n, d), y = RowMatrix::Random(n, k);
  x.array() += 50.0;
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < d; ++j)
      if ((i + j) % 4 == 0) x(i, j) = 0;
  Vector w = (Vector::Random(n).array() + 1.5).matrix();
  std::vector<int> fold(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) fold[static_cast<std::size_t>(i)] = (i * 7 + i / 5) % folds;
  SerialCommunicator comm;
  const Vector scale = Vector::LinSpaced(d, 0.5, 2.0);
  const Matrix coef = Matrix::Random(d, 3 * k);
  const Vector intercept = Vector::Random(3 * k);
  // A point on 20 features: the screened form's first gradient at it is a pass over the rows (fewer columns than a
  // pass is worth are missing), its second from the fetched columns.
  Matrix z = Matrix::Random(d, k);
  z.bottomRows(d - 20).setZero();
  const std::vector<Eigen::Index> some{0, 3, 4, 17};
  // The screened form's shared columns: room for all, for none, or for 10 of the 24 (the rest over the training rows).
  for (const double cache : {-1.0, 0.0, 8.0 * d * 10})
  for (LocalForm form : {LocalForm::gram, LocalForm::screened})
  for (bool sparse : {false, true})
  for (bool centred : {true, false})
    for (bool weighted : {false, true}) {
      if ((form == LocalForm::screened && sparse) || (form == LocalForm::gram && cache >= 0)) continue;
      SCOPED_TRACE(to_string(form) + (sparse ? " CSR" : " dense") + (weighted ? ", weighted" : "") +
                   (centred ? "" : ", no intercept") +
                   (cache == 0 ? ", no columns kept" : cache > 0 ? ", 10 columns kept" : ""));
      const double* wp = weighted ? w.data() : nullptr;
      LocalDataBuilder held(n, d, k, folds, form, false, true, cache);
      for (Eigen::Index r = 0; r < n; r += 13) {
        const Eigen::Index m = std::min<Eigen::Index>(13, n - r);
        RowMatrix xb = x.middleRows(r, m), yb = y.middleRows(r, m);
        if (sparse)
          held.add_rows(SparseRows(xb.sparseView()), yb, fold.data() + r, wp ? wp + r : nullptr);
        else
          held.add_rows(xb, yb, fold.data() + r, wp ? wp + r : nullptr);
      }
      for (int f = 0; f < folds; ++f) {
        SCOPED_TRACE("fold " + std::to_string(f));
        std::vector<Eigen::Index> train, own;
        for (Eigen::Index i = 0; i < n; ++i) (fold[static_cast<std::size_t>(i)] == f ? own : train).push_back(i);
        const auto alone = [&](const std::vector<Eigen::Index>& rows) {
          LocalDataBuilder b(static_cast<std::int64_t>(rows.size()), d, k, 1, LocalForm::gram);
          RowMatrix xs = x(rows, Eigen::all), ys = y(rows, Eigen::all);
          const Vector ws = w(rows);
          if (sparse)
            b.add_rows(SparseRows(xs.sparseView()), ys, nullptr, weighted ? ws.data() : nullptr);
          else
            b.add_rows(xs, ys, nullptr, weighted ? ws.data() : nullptr);
          return std::move(b).take();
        };
        const RowSums own_sums = alone(own);
        EXPECT_EQ(held.piece(f).rows(), static_cast<std::int64_t>(own.size()));
        EXPECT_NEAR(held.piece(f).weight(), own_sums.weight(), 1e-12 * own_sums.weight());
        const Vector e = held.piece(f).squared_errors(coef, intercept), er = own_sums.squared_errors(coef, intercept);
        EXPECT_LT((e - er).norm(), 1e-10 * er.norm());
        ProblemSpec spec;
        spec.standardize = true;
        spec.fit_intercept = centred;
        PreparedData p = prepare(held.total(f), spec, comm), pr = prepare(alone(train), spec, comm);
        EXPECT_EQ(p.n_rows, static_cast<std::int64_t>(train.size()));
        EXPECT_NEAR(p.n_weight, pr.n_weight, 1e-12 * pr.n_weight);
        EXPECT_LE((p.x_mean - pr.x_mean).norm(), 1e-12 * pr.x_mean.norm());
        EXPECT_LT((p.x_var - pr.x_var).norm(), 1e-10 * pr.x_var.norm());
        EXPECT_LT((p.x_curv - pr.x_curv).norm(), 1e-10 * pr.x_curv.norm());
        EXPECT_LT((p.q_global - pr.q_global).norm(), 1e-10 * pr.q_global.norm());
        EXPECT_NEAR(p.y_ss, pr.y_ss, 1e-11 * pr.y_ss);
        const auto h = std::move(p.block).factor(scale, p.n_weight), hr = std::move(pr.block).factor(scale, pr.n_weight);
        EXPECT_EQ(h->rows(), static_cast<std::int64_t>(train.size()));
        EXPECT_LT((h->q() - hr->q()).norm(), 1e-10 * hr->q().norm());
        EXPECT_NEAR(h->b_squares(), hr->b_squares(), 1e-11 * hr->b_squares());
        const Matrix block = hr->hessian_block(some);
        EXPECT_LT((h->hessian_block(some) - block).norm(), 1e-10 * block.norm()) << "block from the rows";
        const LocalFit gr = hr->fit_at(z);
        for (const char* route : {"a pass over the rows", "the fetched columns"}) {
          const LocalFit g = h->fit_at(z);
          EXPECT_LT((g.grad - gr.grad).norm(), 1e-10 * gr.grad.norm()) << route;
          EXPECT_NEAR(g.rss, gr.rss, 1e-10 * gr.rss) << route;
          EXPECT_NEAR(g.ry, gr.ry, 1e-10 * std::abs(gr.ry)) << route;
        }
        EXPECT_LT((h->hessian_block(some) - block).norm(), 1e-10 * block.norm()) << "block from the columns";
        std::vector<Eigen::Index> every(static_cast<std::size_t>(d));
        for (int j = 0; j < d; ++j) every[static_cast<std::size_t>(j)] = j;
        EXPECT_LT((h->hessian_block(every) - hr->hessian_block(every)).norm(), 1e-10 * hr->hessian_block(every).norm());
        Matrix sx, sr;
        h->solve(gr.grad, 0.7, sx, 1e-13);
        hr->solve(gr.grad, 0.7, sr, 1e-13);
        EXPECT_LT((sx - sr).norm(), 1e-9 * sr.norm());
      }
      // Every row's sums (the refit's) are the builder's own, unchanged by the folds' subtractions.
      PreparedData all = prepare(held.total(), ProblemSpec{}, comm);
      EXPECT_EQ(all.n_rows, n);
      LocalDataBuilder every_row(n, d, k, 1, LocalForm::gram);
      RowMatrix xa = x;
      every_row.add_rows(xa, y, nullptr, wp);
      PreparedData ar = prepare(std::move(every_row).take(), ProblemSpec{}, comm);
      EXPECT_LT((all.q_global - ar.q_global).norm(), 1e-10 * ar.q_global.norm());
      const auto ha = std::move(all.block).factor(scale, all.n_weight), hra = std::move(ar.block).factor(scale, ar.n_weight);
      const LocalFit gra = hra->fit_at(z);
      for (const char* route : {"a pass over the rows", "the kept columns"}) {
        const LocalFit ga = ha->fit_at(z);
        EXPECT_LT((ga.grad - gra.grad).norm(), 1e-10 * gra.grad.norm()) << "every row, " << route;
      }
    }
}

TEST(Prepare, WeightedSumsDoNotDependOnWhereTheWeightsLie) {
  // malloc puts a caller's weights at any 16-byte boundary, and Eigen sums an unaligned map from its first 64-byte
  // boundary on: the weights' total, and every sum scaled by it, changed in the last bit from run to run (a weighted
  // solve gave coefficients 6.7e-16 apart on one rank, found by a new-user trial).
  std::srand(11);
  const Eigen::Index n = 1001, d = 7;
  const RowMatrix x = RowMatrix::Random(n, d), y = RowMatrix::Random(n, 1);
  const Vector w = (Vector::Random(n).array() + 1.5).matrix();
  std::vector<double> storage(static_cast<std::size_t>(n) + 16);
  for (LocalForm form : {LocalForm::gram, LocalForm::woodbury, LocalForm::cg, LocalForm::screened, LocalForm::streamed})
    for (bool sparse : {false, true}) {
      SCOPED_TRACE(to_string(form) + (sparse ? " CSR" : " dense"));
      std::vector<double> totals;
      std::vector<Vector> sums;
      for (int offset = 0; offset < 8; ++offset) {
        std::copy(w.data(), w.data() + n, storage.begin() + offset);
        LocalDataBuilder b(n, d, 1, 1, form);
        RowMatrix xb = x;
        if (sparse)
          b.add_rows(SparseRows(xb.sparseView()), y, nullptr, storage.data() + offset);
        else
          b.add_rows(xb, y, nullptr, storage.data() + offset);
        const RowSums s = std::move(b).take();
        totals.push_back(s.weight());
        sums.push_back(s.sums());
      }
      for (int offset = 1; offset < 8; ++offset) {
        EXPECT_EQ(totals[static_cast<std::size_t>(offset)], totals[0]) << "weights at offset " << offset;
        EXPECT_TRUE(sums[static_cast<std::size_t>(offset)] == sums[0]) << "sums with weights at offset " << offset;
      }
    }
}

TEST(Prepare, TiedColumnsAreFoundUpToSignShiftAndTheirPenaltysScaleAndNothingElse) {
  // Column 1 = column 0; 2 = -0 + 5 (tied with an intercept); 3 = 3 x column 0 (tied under standardize only);
  // 4 = column 0 but one entry 1e-7 larger, 5 = column 0 times 1 + 1e-7 (distinct columns: never tied); 6 random;
  // 6 random about 1e6, 7 = column 6 + 1 (exactly: a large mean, tied with an intercept; the shift keeps the
  // projections' digits, which the centring alone would cancel).
  std::srand(21);
  const int n = 300;
  RowMatrix x = RowMatrix::Random(n, 8), y = RowMatrix::Random(n, 1);
  x.col(1) = x.col(0);
  x.col(2) = -x.col(0).array() + 5.0;
  x.col(3) = 3 * x.col(0);
  x.col(4) = x.col(0);
  x(17, 4) += 1e-7;
  x.col(5) = x.col(0) * (1 + 1e-7);
  x.col(6).array() += 1e6;
  x.col(7) = x.col(6).array() + 1.0;
  SerialCommunicator comm;
  using Ties = std::vector<std::pair<Eigen::Index, Eigen::Index>>;
  const auto ties = [&](const ProblemSpec& spec, bool projections = true) {
    Ties t = prepare(build(x, y, 41, projections), spec, comm).tied_columns;
    std::sort(t.begin(), t.end());
    return t;
  };
  EXPECT_EQ(ties(ProblemSpec{}), (Ties{{1, 0}, {2, 0}, {7, 6}}));
  EXPECT_EQ(ties(standardized()), (Ties{{1, 0}, {2, 0}, {3, 0}, {5, 0}, {7, 6}}));  // 5 is 0 scaled
  ProblemSpec no_intercept;
  no_intercept.fit_intercept = false;
  EXPECT_EQ(ties(no_intercept), (Ties{{1, 0}}));
  ProblemSpec ridge_part;
  ridge_part.penalty = Penalty::elasticnet;
  ridge_part.l1_ratio = 0.9;
  EXPECT_TRUE(ties(ridge_part).empty());
  ProblemSpec factors;  // column 1 penalized twice as much as column 0: not tied; column 2 keeps its tie
  factors.penalty_factor = {1, 2, 1, 1, 1, 1, 1, 1};
  EXPECT_EQ(ties(factors), (Ties{{2, 0}, {7, 6}}));
  ProblemSpec positive;  // bounded by 0 alike: equal with the same sign ties, a negated pair does not
  positive.lower_limits = {0};
  EXPECT_EQ(ties(positive), (Ties{{1, 0}, {7, 6}}));
  ProblemSpec bounded;  // other bounds: fitted as they are
  bounded.lower_limits = {-1};
  EXPECT_TRUE(ties(bounded).empty());
  EXPECT_TRUE(ties(ProblemSpec{}, false).empty());  // projections not kept: no test
  // A tie leaves the later column out: coefficient 0 through the curvature, as an exclusion.
  const PreparedData p = prepare(build(x, y, 41, true), ProblemSpec{}, comm);
  EXPECT_EQ(p.x_curv[1], 0.0);
  EXPECT_GT(p.x_curv[0], 0.0);
  EXPECT_EQ(p.q_global(2, 0), 0.0);
}
