#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "cadmm/error.hpp"
#include "cadmm/fit.hpp"

using namespace cadmm;

namespace {
struct Data {
  RowMatrix x, y;
};

Data make_data(int n, int d, int k, unsigned seed, double offset = 0) {
  std::mt19937 g(seed);
  std::normal_distribution<double> nd;
  Data s{RowMatrix(n, d), RowMatrix(n, k)};
  for (int i = 0; i < s.x.size(); ++i) s.x.data()[i] = nd(g);
  for (int j = 0; j < d; ++j) s.x.col(j) = s.x.col(j) * (0.1 + j) + Vector::Constant(n, offset);
  Matrix w = Matrix::Zero(d, k);
  for (int j = 0; j < d; j += 3)
    for (int t = 0; t < k; ++t) w(j, t) = nd(g);
  s.y = s.x * w;
  for (int i = 0; i < s.y.size(); ++i) s.y.data()[i] += 0.5 * nd(g) + 2.0;
  return s;
}

// Ridge in closed form, the independent reference: (Xc^T Xc / n + lambda P^2) W = Xc^T Yc / n.
Matrix ridge_reference(const Data& s, double lambda, bool intercept, const Vector& p) {
  const double n = static_cast<double>(s.x.rows());
  Matrix xc = s.x, yc = s.y;
  if (intercept) {
    xc.rowwise() -= xc.colwise().mean();
    yc.rowwise() -= yc.colwise().mean();
  }
  Matrix h = xc.transpose() * xc / n;
  h.diagonal() += lambda * p.array().square().matrix();
  return h.ldlt().solve(xc.transpose() * yc / n);
}

// One fit's request in one place: the problem, the lambda and the solver, which the library takes apart.
struct Request {
  ProblemSpec spec;
  LambdaRequest lambda;
  SolverSettings solver;
};

FitResult fit(const RowMatrix& x, const RowMatrix& y, const Request& r, Communicator& comm) {
  return cadmm::fit(x, y, r.spec, r.lambda, comm, r.solver);
}

Request tight(Penalty p, double lambda) {
  Request s;
  s.spec.penalty = p;
  s.lambda = LambdaRequest::absolute(lambda);
  return s;
}
}  // namespace

TEST(Fit, RidgeMatchesClosedFormWithAndWithoutIntercept) {
  const Data s = make_data(120, 8, 2, 1, 5.0);
  SerialCommunicator comm;
  for (bool intercept : {true, false}) {
    Request st = tight(Penalty::l2, 0.3);
    st.spec.fit_intercept = intercept;
    const FitResult r = fit(s.x, s.y, st, comm);
    const Matrix ref = ridge_reference(s, 0.3, intercept, Vector::Ones(8));
    EXPECT_EQ(r.admm.status, Status::converged);
    EXPECT_LT((r.coef - ref).cwiseAbs().maxCoeff(), 1e-6 * ref.cwiseAbs().maxCoeff()) << intercept;
    const Vector b_ref = intercept ? Vector(s.y.colwise().mean().transpose() - ref.transpose() * s.x.colwise().mean().transpose())
                                   : Vector::Zero(2);
    EXPECT_LT((r.intercept - b_ref).cwiseAbs().maxCoeff(), 1e-6 * (1 + b_ref.cwiseAbs().maxCoeff()));
  }
}

TEST(Fit, StandardizedRidgePenalizesStandardizedCoefficients) {
  const Data s = make_data(150, 6, 1, 2, -3.0);
  SerialCommunicator comm;
  Request st = tight(Penalty::l2, 0.2);
  st.spec.standardize = true;
  const FitResult r = fit(s.x, s.y, st, comm);
  const RowMatrix xc = s.x.rowwise() - s.x.colwise().mean();
  const Vector sd = (xc.colwise().squaredNorm() / 150.0).cwiseSqrt().transpose();
  const Matrix ref = ridge_reference(s, 0.2, true, sd);
  EXPECT_LT((r.coef - ref).cwiseAbs().maxCoeff(), 1e-6 * ref.cwiseAbs().maxCoeff());
}

TEST(Fit, StandardizeWithoutInterceptScalesByTheCenteredDeviation) {
  // glmnet (intercept = FALSE, standardize = TRUE): X is not centered, but scaled by sd about the mean.
  const Data s = make_data(150, 6, 1, 3, 4.0);
  SerialCommunicator comm;
  Request st = tight(Penalty::l2, 0.2);
  st.spec.standardize = true;
  st.spec.fit_intercept = false;
  const FitResult r = fit(s.x, s.y, st, comm);
  const RowMatrix xc = s.x.rowwise() - s.x.colwise().mean();
  const Vector sd = (xc.colwise().squaredNorm() / 150.0).cwiseSqrt().transpose();
  const Matrix ref = ridge_reference(s, 0.2, false, sd);
  EXPECT_LT((r.coef - ref).cwiseAbs().maxCoeff(), 1e-6 * ref.cwiseAbs().maxCoeff());
  EXPECT_EQ(r.intercept.cwiseAbs().maxCoeff(), 0.0);
}

TEST(Fit, ConstantColumnIsAFeatureWithoutInterceptAndExcludedWithIt) {
  Data s = make_data(100, 4, 1, 12);
  s.x.col(2).setConstant(3.0);
  SerialCommunicator comm;
  Request st = tight(Penalty::l2, 0.1);
  st.spec.fit_intercept = false;
  const FitResult plain = fit(s.x, s.y, st, comm);
  const Matrix ref = ridge_reference(s, 0.1, false, Vector::Ones(4));
  EXPECT_LT((plain.coef - ref).cwiseAbs().maxCoeff(), 1e-6 * ref.cwiseAbs().maxCoeff());
  EXPECT_NE(plain.coef(2, 0), 0.0);  // it stands in for the missing intercept
  st.spec.fit_intercept = true;
  EXPECT_EQ(fit(s.x, s.y, st, comm).coef(2, 0), 0.0);
}

TEST(Fit, LassoSatisfiesKktConditions) {
  const Data s = make_data(200, 12, 1, 3);
  SerialCommunicator comm;
  Request st;
  st.lambda = LambdaRequest::ratio(0.2);
  const FitResult r = fit(s.x, s.y, st, comm);
  ASSERT_EQ(r.admm.status, Status::converged);
  // Recompute the gradient from the data: |g_j| <= lambda where w_j = 0, g_j = lambda sign(w_j) elsewhere.
  const Matrix resid = (s.y - s.x * r.coef).rowwise() - r.intercept.transpose();
  const Matrix g = s.x.transpose() * resid / 200.0;
  EXPECT_LT(std::abs(resid.sum()) / 200.0, 1e-8);
  int nonzero = 0;
  for (int j = 0; j < 12; ++j) {
    if (r.coef(j, 0) == 0) {
      EXPECT_LE(std::abs(g(j, 0)), r.lambda * (1 + 1e-6));
    } else {
      ++nonzero;
      EXPECT_NEAR(g(j, 0), r.lambda * (r.coef(j, 0) > 0 ? 1 : -1), 1e-6 * r.lambda);
    }
  }
  EXPECT_GT(nonzero, 0);
  EXPECT_LT(nonzero, 12);
}

// Working sets (rows kept: screened; rows read again: streamed) against the full Gram: the same answer for every l1-type penalty, with the set
// grown over several rounds (the true support, a third of 150 features, exceeds the first set), taken whole at
// 0.005 lambda_max (nearly every feature violates at zero), and the KKT
// conditions of every feature checked from the data.
TEST(Fit, WorkingSetsGiveTheFullProblemsAnswer) {
  struct Case { Penalty p; double a; int k; };
  int grew[2] = {0, 0};  // solves whose set grew after its first round: screened, streamed
  for (const Case c : {Case{Penalty::l1, 1, 1}, Case{Penalty::elasticnet, 0.5, 1}, Case{Penalty::l21, 1, 3},
                       Case{Penalty::l1, 1, 2}}) {
    const Data s = make_data(600, 150, c.k, 11);
    SerialCommunicator comm;
    Request st;
    st.spec.penalty = c.p;
    if (c.p != Penalty::l1) st.spec.l1_ratio = c.a;
    const Model full = make_model(s.x, s.y, st.spec, comm, LocalForm::gram);
    ASSERT_FALSE(full.working_sets);
    for (const LocalForm form : {LocalForm::screened, LocalForm::streamed}) {
    const Model screened = make_model(s.x, s.y, st.spec, comm, form);
    ASSERT_TRUE(screened.working_sets);
    for (double ratio : {0.5, 0.05, 0.005}) {
      const double lambda = ratio * lambda_max(full);
      const FitResult a = fit(full, lambda, st.solver, comm), b = fit(screened, lambda, st.solver, comm);
      ASSERT_EQ(b.admm.status, Status::converged) << to_string(c.p) << " " << ratio;
      EXPECT_EQ(a.admm.working_set_rounds, 0);
      EXPECT_GE(b.admm.working_set_rounds, 1);
      grew[form == LocalForm::streamed] += b.admm.working_set_rounds >= 2;
      if (ratio == 0.005) EXPECT_EQ(b.admm.working_set, 150) << "a start where nearly all features violate takes them all";
      EXPECT_LE(b.admm.working_set, 150);
      const double scale = std::abs(a.admm.optimality.objective);
      EXPECT_NEAR(b.admm.optimality.objective, a.admm.optimality.objective, 1e-9 * scale) << to_string(c.p) << " " << ratio;
      EXPECT_LE(b.admm.optimality.gap, st.solver.gap_tol * scale * 1.01);
      EXPECT_LT((b.coef - a.coef).norm(), 1e-5 * (1 + a.coef.norm())) << to_string(c.p) << " " << ratio;
      // KKT from the data for the features the set left at zero: ||g_j|| <= lambda a (unpenalized scale here).
      const Matrix resid = (s.y - s.x * b.coef).rowwise() - b.intercept.transpose();
      const Matrix g = s.x.transpose() * resid / 600.0;
      for (int j = 0; j < 150; ++j)
        if (b.coef.row(j).isZero()) {
          const double gn = c.p == Penalty::l21 ? g.row(j).norm() : g.row(j).cwiseAbs().maxCoeff();
          EXPECT_LE(gn, lambda * c.a * (1 + 1e-5)) << to_string(c.p) << " feature " << j;
        }
    }
    }
  }
  EXPECT_GT(grew[0], 0) << "no screened set ever grew: the KKT check was not exercised";
  EXPECT_GT(grew[1], 0) << "no streamed set ever grew: the KKT check was not exercised";
}

TEST(Fit, AFirstSetAtHandChangesTheRoundsNotTheAnswer) {
  // The first set comes from a sample of the rows, so it may miss features or hold useless ones: the KKT check on
  // the full problem must still grow the set to the full problem's answer.
  const Data s = make_data(600, 150, 2, 13);
  SerialCommunicator comm;
  Request st;
  st.spec.penalty = Penalty::l21;
  const Model full = make_model(s.x, s.y, st.spec, comm, LocalForm::gram);
  const double lambda = 0.1 * lambda_max(full);
  const FitResult ref = fit(full, lambda, st.solver, comm);
  std::vector<Eigen::Index> exact = first_working_set(full.data, lambda), useless, half;
  for (Eigen::Index j = 0; j < 150; ++j)  // features that do not violate at zero: the usual first set instead
    if (std::find(exact.begin(), exact.end(), j) == exact.end() && full.data.q_global.row(j).norm() < 0.5 * lambda)
      useless.push_back(j);
  ASSERT_FALSE(useless.empty());
  half.assign(exact.begin(), exact.begin() + static_cast<std::ptrdiff_t>(exact.size() / 2));
  const std::vector<Eigen::Index>* firsts[] = {&exact, &useless, &half};
  for (const auto* first : firsts) {
    Model m = make_model(s.x, s.y, st.spec, comm, LocalForm::streamed);
    m.first_set = *first;
    const FitResult r = fit(m, lambda, st.solver, comm);
    ASSERT_EQ(r.admm.status, Status::converged);
    EXPECT_NEAR(r.admm.optimality.objective, ref.admm.optimality.objective, 1e-9 * std::abs(ref.admm.optimality.objective));
    EXPECT_LT((r.coef - ref.coef).norm(), 1e-5 * (1 + ref.coef.norm()));
    if (first == &half) EXPECT_GE(r.admm.working_set_rounds, 2) << "a first set missing features must grow";
  }
}

TEST(Fit, ViolatingShareCountsTheFeaturesThatLeaveZero) {
  // Reference from the data: feature j leaves zero when ||x_cj^T Y_c / n|| / p_j exceeds lambda a (p_j: its
  // standard deviation with standardize), the norm the penalty's dual norm (max over targets, or the 2-norm for l21).
  struct Case { Penalty p; double a; int k; bool standardize; };
  for (const Case c : {Case{Penalty::l1, 1, 1, false}, Case{Penalty::elasticnet, 0.5, 1, true},
                       Case{Penalty::l21, 1, 3, false}, Case{Penalty::l21, 0.7, 2, true}, Case{Penalty::l1, 1, 2, true}}) {
    const Data s = make_data(400, 40, c.k, 5, 1.5);
    SerialCommunicator comm;
    ProblemSpec spec;
    spec.penalty = c.p;
    spec.standardize = c.standardize;
    if (c.p != Penalty::l1) spec.l1_ratio = c.a;
    const Model m = make_model(s.x, s.y, spec, comm, LocalForm::gram);
    Matrix xc = s.x, yc = s.y;
    xc.rowwise() -= xc.colwise().mean();
    yc.rowwise() -= yc.colwise().mean();
    const Matrix q = xc.transpose() * yc / 400.0;
    Vector score(40);
    for (int j = 0; j < 40; ++j) {
      const double sd = c.standardize ? std::sqrt(xc.col(j).squaredNorm() / 400.0) : 1.0;
      score[j] = (c.p == Penalty::l21 ? q.row(j).norm() : q.row(j).cwiseAbs().maxCoeff()) / sd;
    }
    for (double ratio : {0.9, 0.3, 0.05}) {
      // lambda_max = max score / a: the ratio resolved against the model's lambda_max
      const double resolved = LambdaRequest::ratio(ratio).resolve(lambda_max(m.data)).front();
      const double lambda = ratio * score.maxCoeff() / c.a;
      const double want = static_cast<double>((score.array() > lambda * c.a).count()) / 40.0;
      EXPECT_DOUBLE_EQ(violating_share_at_zero(m.data, resolved), want) << to_string(c.p) << " ratio " << ratio;
      // the same lambda given absolutely (a hair above: no feature sits on its bound)
      EXPECT_DOUBLE_EQ(violating_share_at_zero(m.data, lambda * 1.0001), want) << to_string(c.p) << " lambda " << lambda;
    }
  }
}

TEST(Fit, LambdaMaxIsTheFirstLambdaWithAllZeros) {
  const Data s = make_data(100, 5, 3, 4);
  SerialCommunicator comm;
  for (Penalty p : {Penalty::l1, Penalty::elasticnet, Penalty::l21}) {
    Request st;
    st.spec.penalty = p;
    st.lambda = LambdaRequest::ratio(1.0);
    EXPECT_EQ(fit(s.x, s.y, st, comm).coef.cwiseAbs().maxCoeff(), 0.0) << to_string(p);
    st.lambda = LambdaRequest::ratio(0.95);
    EXPECT_GT(fit(s.x, s.y, st, comm).coef.cwiseAbs().maxCoeff(), 0.0) << to_string(p);
  }
}

TEST(Fit, AccelerationChangesSpeedNotTheAnswer) {
  const Data s = make_data(300, 10, 1, 5);
  SerialCommunicator comm;
  Request on;
  on.spec.penalty = Penalty::elasticnet;
  on.lambda = LambdaRequest::ratio(0.05);
  Request off = on;
  off.solver.anderson_memory = 0;
  const FitResult a = fit(s.x, s.y, on, comm), b = fit(s.x, s.y, off, comm);
  EXPECT_EQ(a.admm.status, Status::converged);
  EXPECT_EQ(b.admm.status, Status::converged);
  EXPECT_LT((a.coef - b.coef).cwiseAbs().maxCoeff(), 1e-6 * b.coef.cwiseAbs().maxCoeff());
  EXPECT_NEAR(a.admm.optimality.objective, b.admm.optimality.objective, 1e-9 * b.admm.optimality.objective);
}

TEST(Fit, IterationCapIsAStatusNotAnError) {
  const Data s = make_data(100, 5, 1, 6);
  SerialCommunicator comm;
  Request st;
  st.solver.max_iter = 2;
  const FitResult r = fit(s.x, s.y, st, comm);
  EXPECT_EQ(r.admm.status, Status::max_iter);
  EXPECT_EQ(r.admm.state.iteration, 2);
  EXPECT_EQ(r.admm.history.size(), 2u);
  // Whatever iteration the cap falls on (Anderson steps included), the answer is the consensus variable,
  // not a local x: a lasso on data whose truth has zeros keeps exact zeros.
  const Data sparse = make_data(300, 12, 1, 9);
  for (int cap = 3; cap <= 15; ++cap) {
    st.solver.max_iter = cap;
    const FitResult c = fit(sparse.x, sparse.y, st, comm);
    EXPECT_GT((c.coef.array() == 0).count(), 0) << "cap " << cap;
  }
}

TEST(Fit, ReportedGapBoundsTheTrueSuboptimality) {
  // Stop early; the objective minus the converged objective must not exceed the reported gap.
  const Data s = make_data(200, 10, 1, 8);
  SerialCommunicator comm;
  Request st;
  st.lambda = LambdaRequest::ratio(0.1);
  const FitResult best = fit(s.x, s.y, st, comm);
  st.solver.max_iter = 4;
  st.solver.anderson_memory = 0;
  const FitResult early = fit(s.x, s.y, st, comm);
  EXPECT_GE(early.admm.optimality.objective - best.admm.optimality.objective, -1e-12);
  EXPECT_LE(early.admm.optimality.objective - best.admm.optimality.objective, early.admm.optimality.gap + 1e-12);
}

TEST(Fit, MismatchedRowsIsADataError) {
  SerialCommunicator comm;
  EXPECT_THROW(fit(RowMatrix::Random(5, 2), RowMatrix::Random(4, 1), Request{}, comm), DataError);
}

TEST(Fit, CheckpointHookAndResumeFromItsState) {
  const Data s = make_data(200, 8, 2, 21);
  SerialCommunicator comm;
  Request st;
  st.spec.penalty = Penalty::elasticnet;
  const Model model = make_model(s.x, s.y, st.spec, comm);
  st.lambda = LambdaRequest::ratio(0.05);
  st.solver.adaptive_rho = false;  // rho history and Anderson memory are not part of the state
  st.solver.anderson_memory = 0;
  st.solver.max_iter = 10;
  st.solver.abs_tol = st.solver.rel_tol = 1e-300;

  std::vector<int> at;
  AdmmState saved;
  AdmmObserver obs;
  obs.checkpoint_every = 3;
  obs.checkpoint = [&](const AdmmState& state) {
    at.push_back(state.iteration);
    if (state.iteration == 6) saved = state;
  };
  const double lambda = st.lambda.resolve(lambda_max(model)).front();
  const FitResult straight = fit(model, lambda, st.solver, comm, obs);
  EXPECT_EQ(at, (std::vector<int>{3, 6, 9}));
  ASSERT_EQ(saved.iteration, 6);

  const FitResult resumed = fit(model, lambda, st.solver, comm, {}, &saved);
  EXPECT_EQ(resumed.admm.state.iteration, 10);
  EXPECT_EQ(resumed.admm.history.size(), 4u);  // iterations 7..10
  EXPECT_EQ((resumed.admm.state.z - straight.admm.state.z).cwiseAbs().maxCoeff(), 0.0);
}

TEST(Fit, PolishingSolvesTheSupportExactlyAndOnlyWhenCertified) {
  const Data s = make_data(300, 15, 1, 31);
  SerialCommunicator comm;
  Request st;
  st.lambda = LambdaRequest::ratio(0.05);
  const FitResult on = fit(s.x, s.y, st, comm);
  st.solver.polish = false;
  const FitResult off = fit(s.x, s.y, st, comm);
  ASSERT_EQ(on.admm.status, Status::converged);
  EXPECT_TRUE(on.admm.polished);
  EXPECT_FALSE(off.admm.polished);
  EXPECT_LT((on.coef - off.coef).cwiseAbs().maxCoeff(), 1e-6 * off.coef.cwiseAbs().maxCoeff());
  // The polished point satisfies the optimality conditions to rounding: g_j = lambda sign(w_j) on the support.
  const Matrix resid = (s.y - s.x * on.coef).rowwise() - on.intercept.transpose();
  const Matrix g = s.x.transpose() * resid / 300.0;
  for (int j = 0; j < 15; ++j)
    if (on.coef(j, 0) != 0) EXPECT_NEAR(g(j, 0), on.lambda * (on.coef(j, 0) > 0 ? 1 : -1), 1e-10 * on.lambda);
  // Row-group penalties (l21) polish by Newton's method on the nonzero rows, to rounding as well:
  // g_j = lambda W_j / ||W_j|| on the support, ||g_j|| <= lambda off it.
  // Correlated columns (a shared factor), on which coordinate descent alone crawls.
  Data multi = make_data(300, 15, 3, 32);
  const Vector shared = multi.x.col(0);
  for (int j = 1; j < 15; ++j) multi.x.col(j) += 3 * shared;
  Request group;
  group.spec.penalty = Penalty::l21;
  group.lambda = LambdaRequest::ratio(0.1);
  const FitResult grouped = fit(multi.x, multi.y, group, comm);
  group.solver.polish = false;
  const FitResult plain = fit(multi.x, multi.y, group, comm);
  ASSERT_TRUE(grouped.admm.polished);
  EXPECT_FALSE(plain.admm.polished);
  EXPECT_LT((grouped.coef - plain.coef).cwiseAbs().maxCoeff(), 1e-6 * plain.coef.cwiseAbs().maxCoeff());
  const Matrix gr = multi.x.transpose() * ((multi.y - multi.x * grouped.coef).rowwise() - grouped.intercept.transpose()) / 300.0;
  int support = 0;
  for (int j = 0; j < 15; ++j) {
    const double norm = grouped.coef.row(j).norm();
    if (norm > 0) {
      ++support;
      EXPECT_LT((gr.row(j) - grouped.lambda * grouped.coef.row(j) / norm).norm(), 1e-10 * grouped.lambda);
    } else {
      EXPECT_LE(gr.row(j).norm(), grouped.lambda * (1 + 1e-9));
    }
  }
  EXPECT_GT(support, 0);
  EXPECT_LT(support, 15);
}
