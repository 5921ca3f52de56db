// Runs at 1, 2, 3 and 4 ranks (see tests/CMakeLists.txt). Assertions name the rank.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <utility>

#include "cadmm/error.hpp"
#include "cadmm/fit.hpp"
#include "cadmm/mpi_communicator.hpp"
#include "cadmm/partition.hpp"
#include "cadmm/path.hpp"
#include "cadmm/synthetic.hpp"
#include "io/dataset_reader.hpp"
#include "io/generator.hpp"

using namespace cadmm;

namespace {
int rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
int size() {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

struct Data {
  RowMatrix x, y;
};

// Every rank builds the same full data set (deterministic) and keeps its partition.
Data full_data(int n, int d, int k, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<double> nd;
  Data s{RowMatrix(n, d), RowMatrix(n, k)};
  for (int i = 0; i < s.x.size(); ++i) s.x.data()[i] = nd(g);
  for (int j = 1; j < d; ++j) s.x.col(j) = 0.7 * s.x.col(j - 1) + 0.3 * s.x.col(j);  // correlated
  s.x.col(0) *= 50;
  Matrix w = Matrix::Zero(d, k);
  for (int j = 0; j < d; j += 2)
    for (int t = 0; t < k; ++t) w(j, t) = nd(g);
  s.y = s.x * w;
  for (int i = 0; i < s.y.size(); ++i) s.y.data()[i] += nd(g) + 1;
  return s;
}

Data my_rows(const Data& s) {
  const RowRange r = partition_rows(s.x.rows(), rank(), size());
  return {s.x.middleRows(r.begin, r.size()), s.y.middleRows(r.begin, r.size())};
}

// True if buf holds the same bytes on every rank.
bool identical_everywhere(const void* data, int bytes) {
  std::vector<char> root(static_cast<std::size_t>(bytes));
  if (rank() == 0) std::memcpy(root.data(), data, static_cast<std::size_t>(bytes));
  MPI_Bcast(root.data(), bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
  int same = std::memcmp(root.data(), data, static_cast<std::size_t>(bytes)) == 0, all = 0;
  MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return all == 1;
}

std::string tmp_dir() {
  const char* t = std::getenv("CADMM_TEST_TMP");
  std::string dir = t ? t : std::filesystem::temp_directory_path().string() + "/cadmm_mpi_test";
  if (rank() == 0) std::filesystem::create_directories(dir);
  MPI_Barrier(MPI_COMM_WORLD);
  return dir;
}

// Sparse rows (~80% zeros, nonzero column means: the centring matters) of a sparse truth, kSparseTargets targets
// (each with its own support), y's noise scaled by `noise`.
constexpr Eigen::Index kSparseTargets = 9;

Data sparse_data(double noise) {
  std::mt19937 g(5);
  std::uniform_real_distribution<double> u;
  Data all = full_data(360, 70, kSparseTargets, 13);
  for (Eigen::Index i = 0; i < all.x.rows(); ++i)
    for (Eigen::Index j = 0; j < all.x.cols(); ++j) all.x(i, j) = u(g) < 0.2 ? all.x(i, j) + 1 : 0.0;
  Matrix w = Matrix::Zero(70, kSparseTargets);
  for (int j = 0; j < 70; j += 4) {
    w(j, 0) = 1.0 + j % 3, w(j, 1) = -1.0;
    for (Eigen::Index t = 2; t < kSparseTargets; ++t) w((j + t) % 70, t) = (t % 2 ? 0.5 : -2.0) * (1 + (j + t) % 3);
  }
  all.y = all.x * w + noise * all.y;
  return all;
}

// The sparse problems every cg test solves (case c < kSparseCases, then its targets): l1 with bounds; standardized
// elastic net with penalty factors, one of them 0; l21 over two targets; l1 over five targets and over nine (the
// descent's loops are compiled for each count of targets up to eight, and for any count beyond).
constexpr int kSparseCases = 5;

std::pair<ProblemSpec, Eigen::Index> sparse_case(int c) {
  ProblemSpec spec;
  if (c == 0) spec.lower_limits = {-0.5}, spec.upper_limits = {2.0};
  if (c == 1) {
    spec.penalty = Penalty::elasticnet, spec.l1_ratio = 0.5, spec.standardize = true;
    spec.penalty_factor.assign(70, 1.0);
    spec.penalty_factor[3] = 0.0, spec.penalty_factor[8] = 2.5;
  }
  if (c == 2) spec.penalty = Penalty::l21;
  return {spec, c == 2 ? 2 : c == 3 ? 5 : c == 4 ? kSparseTargets : 1};
}
}  // namespace

TEST(Mpi, SameAnswerAsOneRankForEveryPenalty) {
  const Data all = full_data(240, 9, 2, 11);
  const Data mine = my_rows(all);
  MpiCommunicator comm;
  SerialCommunicator serial;
  for (Penalty p : {Penalty::l1, Penalty::l2, Penalty::elasticnet, Penalty::l21}) {
    ProblemSpec spec;
    spec.penalty = p;
    const LambdaRequest lambda = p == Penalty::l2 ? LambdaRequest::absolute(0.05) : LambdaRequest::ratio(0.1);
    const FitResult ref = fit(all.x, all.y, spec, lambda, serial);  // one rank, same process
    const FitResult got = fit(mine.x, mine.y, spec, lambda, comm);
    ASSERT_EQ(got.admm.status, Status::converged) << "rank " << rank() << " " << to_string(p);
    const double scale = ref.coef.cwiseAbs().maxCoeff();
    EXPECT_LT((got.coef - ref.coef).cwiseAbs().maxCoeff(), 1e-5 * scale) << "rank " << rank() << " " << to_string(p);
    EXPECT_NEAR(got.admm.optimality.objective, ref.admm.optimality.objective, 1e-8 * ref.admm.optimality.objective)
        << "rank " << rank();
    // The global iterate, the iteration count and the rho path are bitwise identical on every rank.
    EXPECT_TRUE(identical_everywhere(got.admm.state.z.data(), static_cast<int>(got.admm.state.z.size() * 8)))
        << "rank " << rank();
    const int iters = got.admm.state.iteration;
    EXPECT_TRUE(identical_everywhere(&iters, sizeof iters));
    std::vector<double> trace;  // every history field but the wall time
    for (const IterationRecord& h : got.admm.history)
      trace.insert(trace.end(), {double(h.iteration), h.r_norm, h.s_norm, h.eps_pri, h.eps_dual, h.rho, h.objective, h.gap});
    EXPECT_TRUE(identical_everywhere(trace.data(), static_cast<int>(trace.size() * sizeof(double)))) << "rank " << rank();
  }
}

TEST(Mpi, MoreRanksThanRowsStillSolves) {
  // 3 rows: at 4 ranks one rank holds none; the data are wide everywhere.
  RowMatrix x(3, 4), y(3, 1);
  x << 1, 2, 0, 1, 0, 1, 3, 1, 2, 0, 1, 4;
  y << 1, 2, 3;
  const RowRange r = partition_rows(3, rank(), size());
  MpiCommunicator comm;
  SerialCommunicator serial;
  ProblemSpec spec;
  spec.penalty = Penalty::l2;
  const LambdaRequest lambda = LambdaRequest::absolute(0.1);
  const FitResult ref = fit(x, y, spec, lambda, serial);
  const FitResult got = fit(x.middleRows(r.begin, r.size()), y.middleRows(r.begin, r.size()), spec, lambda, comm);
  EXPECT_EQ(got.admm.status, Status::converged) << "rank " << rank();
  EXPECT_LT((got.coef - ref.coef).cwiseAbs().maxCoeff(), 1e-5 * ref.coef.cwiseAbs().maxCoeff()) << "rank " << rank();
}

TEST(Mpi, ALocalFailureBecomesTheSameErrorEverywhere) {
  MpiCommunicator comm;
  const int bad = size() - 1;
  try {
    collectively(comm, [&] {
      if (rank() == bad) throw DataError("bad rows 10..20");
    });
    FAIL() << "rank " << rank() << " did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_data) << "rank " << rank();
    EXPECT_NE(std::string(e.what()).find("bad rows 10..20"), std::string::npos) << "rank " << rank();
    if (size() > 1) EXPECT_NE(std::string(e.what()).find("rank " + std::to_string(bad)), std::string::npos);
  }
  // Nobody failing: nothing thrown, and the communicator still works afterwards.
  EXPECT_NO_THROW(collectively(comm, [] {}));
  EXPECT_DOUBLE_EQ(comm.sum(1.0), size());
}

TEST(Mpi, ParallelGenerateAndPartitionedReadMatchTheSerialDefinition) {
  const std::string path = tmp_dir() + "/gen.h5";
  SyntheticSpec spec;
  spec.rows = 37;  // odd: uneven blocks at every rank count
  spec.features = 5;
  spec.targets = 2;
  spec.correlation = 0.4;
  spec.seed = 3;
  io::GenerateOutput out;
  out.path = path;
  out.y_1d = false;
  out.chunk_rows = 4;
  io::write_synthetic(spec, out, MPI_COMM_WORLD);

  // The serial definition of the rows.
  RowMatrix x_ref(spec.rows, spec.features), y_ref(spec.rows, spec.targets);
  synthetic_rows(spec, synthetic_truth(spec), 0, x_ref, y_ref);

  io::DataReader reader(path, "/X", "/y", MPI_COMM_WORLD);
  const RowRange range = partition_rows(spec.rows, rank(), size());
  Eigen::Index at = range.begin;
  double worst = 0;
  reader.read_rows(range, 2 * 5 * 8, [&](RowMatrix& x, RowMatrix& y) {
    worst = std::max(worst, (x - x_ref.middleRows(at, x.rows())).cwiseAbs().maxCoeff());
    worst = std::max(worst, (y - y_ref.middleRows(at, y.rows())).cwiseAbs().maxCoeff());
    at += x.rows();
  });
  EXPECT_EQ(at, range.end) << "rank " << rank();
  EXPECT_EQ(worst, 0.0) << "rank " << rank();
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  // Only rank 0 prints results; every rank still runs and asserts.
  if (rank() != 0) delete ::testing::UnitTest::GetInstance()->listeners().Release(
      ::testing::UnitTest::GetInstance()->listeners().default_result_printer());
  int rc = RUN_ALL_TESTS();
  int worst = 0;
  MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return worst;
}

// Coordinate descent over features spread across the ranks (sparse rows, the cg form), with polishing disabled so
// that it alone solves every lambda of a path: each fit equals the one-rank Gram form's (ADMM and polishing on the
// full Gram, certified by its own gap) for l1 with bounds, standardized elastic net with penalty factors and l21 over
// two targets; its coefficients are the same bits on every rank.
TEST(Mpi, CoordinateDescentAloneSolvesASparsePathAsTheGramFormDoes) {
  const Data all = sparse_data(0.3);
  MpiCommunicator comm;
  SerialCommunicator serial;
  for (int c = 0; c < kSparseCases; ++c) {
    const auto [spec, k] = sparse_case(c);
    const Data whole{all.x, all.y.leftCols(k)};
    const Data mine = my_rows(whole);
    Model model = make_model(mine.x, mine.y, spec, comm, LocalForm::cg);
    model.max_polish = 0;  // no polishing: coordinate descent or, failing it, ADMM
    const Model ref_model = make_model(whole.x, whole.y, spec, serial, LocalForm::gram);
    ASSERT_TRUE(model.columns) << "rank " << rank();
    const Lambdas grid = Lambdas::resolve(LambdaRequest::grid(15, 0.01), model.lambda_max);
    SolverSettings settings;
    const PathResult got = fit_path(model, grid, settings, false, comm);
    const PathResult ref = fit_path(ref_model, grid, settings, false, serial);
    ASSERT_EQ(got.fits.size(), ref.fits.size());
    double scale = 0;
    for (const FitResult& f : ref.fits) scale = std::max(scale, f.coef.cwiseAbs().maxCoeff());
    for (std::size_t i = 1; i < got.fits.size(); ++i) {
      const FitResult &a = got.fits[i], &b = ref.fits[i];
      EXPECT_TRUE(a.admm.descended && a.admm.state.iteration == 0) << "case " << c << " lambda " << i << " rank " << rank();
      EXPECT_LT((a.coef - b.coef).cwiseAbs().maxCoeff(), 1e-6 * scale) << "case " << c << " lambda " << i;
      EXPECT_NEAR(a.admm.optimality.objective, b.admm.optimality.objective, 1e-9 * b.admm.optimality.objective)
          << "case " << c << " lambda " << i;
      EXPECT_TRUE(identical_everywhere(a.coef.data(), static_cast<int>(a.coef.size() * 8))) << "rank " << rank();
    }
  }
}

TEST(Mpi, LambdasSideBySideSolveThePathAsOneRankDoes) {
  MpiCommunicator comm;
  SerialCommunicator serial;
  for (int c = 0; c < kSparseCases; ++c) {
    const auto [spec, k] = sparse_case(c);
    // Case 1 with little noise: its deviance ratio passes 0.999, where glmnet's early stop ends the path.
    const Data all = sparse_data(c == 1 ? 0.01 : 0.3);
    const Data whole{all.x, all.y.leftCols(k)};
    const Data mine = my_rows(whole);
    const Model model = make_model(mine.x, mine.y, spec, comm, LocalForm::cg);
    const Model ref_model = make_model(whole.x, whole.y, spec, serial, LocalForm::gram);
    const Lambdas grid = Lambdas::resolve(LambdaRequest::grid(c == 1 ? 40 : 20, c == 1 ? 1e-4 : 0.01), model.lambda_max);
    SolverSettings settings;
    const bool early = c == 1;  // glmnet's early stop decided from the shared fits, in order
    std::optional<PathResult> got = fit_path_side_by_side(model, grid, settings, early, true, comm);
    if (size() == 1) {  // one rank has nothing to put side by side
      EXPECT_FALSE(got);
      continue;
    }
    ASSERT_TRUE(got) << "rank " << rank();
    const PathResult ref = fit_path(ref_model, grid, settings, early, serial);
    const PathResult plain = fit_path(model, grid, settings, early, comm);  // the ranks together
    ASSERT_EQ(got->fits.size(), ref.fits.size()) << "case " << c;
    ASSERT_EQ(got->fits.size(), plain.fits.size()) << "case " << c;
    EXPECT_EQ(got->stopped_early, early) << "case " << c;
    EXPECT_EQ(ref.stopped_early, early) << "case " << c;
    double scale = 0;
    for (const FitResult& f : ref.fits) scale = std::max(scale, f.coef.cwiseAbs().maxCoeff());
    for (std::size_t i = 0; i < got->fits.size(); ++i) {
      const FitResult &a = got->fits[i], &b = ref.fits[i];
      EXPECT_EQ(a.lambda, b.lambda);
      EXPECT_EQ(a.admm.status, Status::converged) << "case " << c << " lambda " << i;
      // Against the Gram form on one rank: the same objective (each certified to 1e-10), coefficients as the
      // contract asks (one lambda of case 1 there is certified 5e-10 away, 3e-5 off in a coefficient).
      EXPECT_NEAR(a.admm.optimality.objective, b.admm.optimality.objective, 1e-9 * b.admm.optimality.objective)
          << "case " << c << " lambda " << i;
      EXPECT_LT((a.coef - b.coef).cwiseAbs().maxCoeff(), 1e-4 * scale) << "case " << c << " lambda " << i;
      // Against the same form fitted by the ranks together: the coefficients too.
      const FitResult& p = plain.fits[i];
      EXPECT_LT((a.coef - p.coef).cwiseAbs().maxCoeff(), 1e-6 * scale) << "case " << c << " lambda " << i;
      EXPECT_LT((a.intercept - p.intercept).cwiseAbs().maxCoeff(), 1e-6 * (1 + scale)) << "case " << c;
      EXPECT_NEAR(got->dev_ratio[i], plain.dev_ratio[i], 1e-8) << "case " << c << " lambda " << i;
      EXPECT_TRUE(identical_everywhere(a.coef.data(), static_cast<int>(a.coef.size() * 8))) << "rank " << rank();
      EXPECT_TRUE(identical_everywhere(&a.admm.optimality.gap, 8)) << "rank " << rank();
    }
  }
  // One rank whose plan cannot hold the rows keeps every rank on the collective path.
  const Data mine = my_rows(sparse_data(0.3));
  const Model model = make_model(mine.x, mine.y.leftCols(1), ProblemSpec{}, comm, LocalForm::cg);
  const Lambdas grid = Lambdas::resolve(LambdaRequest::grid(5, 0.1), model.lambda_max);
  EXPECT_FALSE(fit_path_side_by_side(model, grid, SolverSettings{}, false, rank() != size() - 1, comm)) << "rank " << rank();
}
