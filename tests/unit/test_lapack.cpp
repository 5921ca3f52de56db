#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cadmm/version.hpp"
#include "core/cpu.hpp"
#include "core/lapack.hpp"

using namespace cadmm;

namespace {

// Every test here runs with OpenBLAS's products and with Eigen's: which one a run takes depends on the processor.
class Lapack : public ::testing::TestWithParam<lapack::Products> {
 protected:
  void SetUp() override { lapack::use_products(GetParam()); }
  void TearDown() override { lapack::use_products(lapack::Products::fastest); }
};

INSTANTIATE_TEST_SUITE_P(Products, Lapack, ::testing::Values(lapack::Products::openblas, lapack::Products::eigen),
                         [](const auto& info) { return info.param == lapack::Products::eigen ? "Eigen" : "OpenBLAS"; });

}  // namespace

// The Gram and cross products of a row-major block (as the readers hold rows) and of column-major ones, against
// Eigen's plain dense products.
TEST_P(Lapack, ProductsAreTheDenseProducts) {
  std::srand(5);
  const Eigen::Index rows = 37, d = 11, k = 3;
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const RowMajor x = RowMajor::Random(rows, d);
  const Matrix xd = x, y = Matrix::Random(rows, k), start = Matrix::Random(d, d);

  Matrix g = start;
  lapack::add_gram_upper(g, x.data(), rows, -0.5);
  Matrix want = start - 0.5 * xd.transpose() * xd;
  EXPECT_LT((Matrix(g.triangularView<Eigen::Upper>()) - Matrix(want.triangularView<Eigen::Upper>())).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_EQ(Matrix(g.triangularView<Eigen::StrictlyLower>()), Matrix(start.triangularView<Eigen::StrictlyLower>()));

  g = start;
  lapack::add_gram_upper_cols(g, xd);
  want = start + xd.transpose() * xd;
  EXPECT_LT((Matrix(g.triangularView<Eigen::Upper>()) - Matrix(want.triangularView<Eigen::Upper>())).cwiseAbs().maxCoeff(), 1e-12);

  Matrix c = Matrix::Ones(d, k);
  lapack::add_transpose_product(c, x.data(), rows, y, 2.0);
  EXPECT_LT((c - (Matrix::Ones(d, k) + 2.0 * xd.transpose() * y)).cwiseAbs().maxCoeff(), 1e-12);

  EXPECT_LT((lapack::transpose_times(xd, y) - xd.transpose() * y).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_LT((lapack::transpose_times(xd, y.col(0)) - xd.transpose() * y.col(0)).cwiseAbs().maxCoeff(), 1e-12);
}

// The factor extended past a kept leading block is the factor of the whole matrix, and one with a row and column
// removed the factor of the rest, in a block of larger storage (the polishing keeps its factor in storage that grows
// by doubling). Small and large enough for the blocked algorithms (Eigen's Cholesky is unblocked below 32).
TEST_P(Lapack, ExtendedAndShrunkCholeskyFactorsAreTheFactorsOfTheWhole) {
  std::srand(3);
  for (const auto [m, keep, cap] : {std::array<Eigen::Index, 3>{9, 4, 13}, std::array<Eigen::Index, 3>{200, 70, 260}}) {
    const Matrix b = Matrix::Random(2 * m + 2, m);
    const Matrix a = b.transpose() * b + 0.1 * Matrix::Identity(m, m);
    const Matrix want = a.llt().matrixU();  // Eigen's own factor, the reference
    for (const Eigen::Index k : {Eigen::Index{0}, keep, m}) {
      Matrix store = Matrix::Constant(cap, cap, std::nan(""));
      auto r = store.topLeftCorner(m, m);
      r.topLeftCorner(k, k) = a.topLeftCorner(k, k);
      ASSERT_TRUE(lapack::cholesky_upper_in_place(r.topLeftCorner(k, k)));
      r.topRightCorner(k, m - k) = a.topRightCorner(k, m - k);
      r.bottomRightCorner(m - k, m - k) = a.bottomRightCorner(m - k, m - k);
      ASSERT_TRUE(lapack::extend_cholesky_upper(r, k)) << "m " << m << ", keep " << k;
      const Matrix got = r.triangularView<Eigen::Upper>();
      EXPECT_LT((got - want).norm(), 1e-12 * want.norm()) << "m " << m << ", keep " << k;
      Matrix x = Matrix::Random(m, 2), rhs = a * x;
      lapack::cholesky_solve(r, rhs);
      EXPECT_LT((rhs - x).norm(), 1e-10 * x.norm()) << "m " << m << ", keep " << k;
    }
    // Removing positions one by one (last, first, middle) gives the factor of what is left, in a block of storage.
    std::vector<Eigen::Index> left(static_cast<std::size_t>(m));
    for (Eigen::Index i = 0; i < m; ++i) left[static_cast<std::size_t>(i)] = i;
    Matrix store = Matrix::Constant(cap, cap, std::nan(""));
    store.topLeftCorner(m, m) = want;
    for (const Eigen::Index p : {m - 1, Eigen::Index{0}, Eigen::Index{3}, Eigen::Index{2}}) {
      const Eigen::Index size = static_cast<Eigen::Index>(left.size());
      lapack::remove_from_cholesky_upper(store.topLeftCorner(size, size), p);
      left.erase(left.begin() + p);
      const Matrix got = store.topLeftCorner(size - 1, size - 1).triangularView<Eigen::Upper>();
      const Matrix sub = a(left, left);
      EXPECT_LT((got.transpose() * got - sub).norm(), 1e-12 * sub.norm()) << "m " << m << ", removed " << p;
    }
  }
  Matrix indefinite = -Matrix::Identity(3, 3);
  EXPECT_FALSE(lapack::cholesky_upper_in_place(indefinite));
  Matrix not_a_number = Matrix::Identity(3, 3);
  not_a_number(1, 1) = std::nan("");
  EXPECT_FALSE(lapack::cholesky_upper_in_place(not_a_number));
}

// The check that refuses a processor without the build's instruction set agrees with the kernel's own list
// (/proc/cpuinfo, whose names differ for a few) on every feature it can query, including some this machine is
// likely to lack (avx512er: Xeon Phi only).
#if defined(__x86_64__)
TEST(Cpu, MissingFeaturesAreThoseTheKernelDoesNotList) {
  std::ifstream info("/proc/cpuinfo");
  std::string line;
  std::set<std::string> flags;
  while (std::getline(info, line))
    if (line.rfind("flags", 0) == 0) {
      std::istringstream words(line.substr(line.find(':') + 1));
      for (std::string w; words >> w;) flags.insert(w);
      break;
    }
  ASSERT_FALSE(flags.empty()) << "no flags line in /proc/cpuinfo";
  const std::vector<std::pair<std::string, std::string>> known = {
      {"sse3", "pni"},           {"ssse3", "ssse3"},       {"sse4.1", "sse4_1"},   {"sse4.2", "sse4_2"},
      {"popcnt", "popcnt"},      {"aes", "aes"},           {"pclmul", "pclmulqdq"}, {"avx", "avx"},
      {"avx2", "avx2"},          {"fma", "fma"},           {"bmi", "bmi1"},        {"bmi2", "bmi2"},
      {"gfni", "gfni"},          {"vpclmulqdq", "vpclmulqdq"}, {"avx512f", "avx512f"}, {"avx512dq", "avx512dq"},
      {"avx512cd", "avx512cd"},  {"avx512bw", "avx512bw"}, {"avx512vl", "avx512vl"}, {"avx512er", "avx512er"},
      {"avx512ifma", "avx512ifma"}, {"avx512vbmi", "avx512vbmi"}, {"avx512vbmi2", "avx512_vbmi2"},
      {"avx512vnni", "avx512_vnni"}, {"avx512bitalg", "avx512_bitalg"}, {"avx512vpopcntdq", "avx512_vpopcntdq"},
      {"avx512bf16", "avx512_bf16"}};
  std::string all, want;
  for (const auto& [name, flag] : known) {
    all += name + " ";
    if (!flags.count(flag)) want += " " + name;
  }
  EXPECT_EQ(cpu::missing_features(all + "a-name-it-does-not-know"), want);
  EXPECT_EQ(cpu::missing_features(build_features()), "") << "the tests run on the processor they were built for";
}
#endif
