#include "core/lapack.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <vector>

#include "cadmm/communicator.hpp"
#include "cadmm/error.hpp"

extern "C" {
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha, const double* a,
            const int* lda, const double* beta, double* c, const int* ldc);
void dgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
            const int* ldc);
void dgemv_(const char* t, const int* m, const int* n, const double* alpha, const double* a, const int* lda,
            const double* x, const int* incx, const double* beta, double* y, const int* incy);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w, double* work,
             const int* lwork, int* iwork, const int* liwork, int* info);
void dtrsm_(const char* side, const char* uplo, const char* ta, const char* diag, const int* m, const int* n,
            const double* alpha, const double* a, const int* lda, double* b, const int* ldb);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda, double* b, const int* ldb,
             int* info);
void openblas_set_num_threads(int n);
int openblas_get_num_threads(void);
char* openblas_get_corename(void);
}

namespace cadmm::lapack {

namespace {

Products chosen = Products::fastest;

// OpenBLAS picks its kernels by the processor when it loads, and one newer than its table gets the generic ones:
// 0.3.21 takes this machine's Xeon (family 6, model 207) for a Prescott (SSE3), whose dsyrk made a 4,000 x 4,000
// Gram of 2,500 rows at 12 GFLOP/s on one core, against 45 GFLOP/s for Eigen's product built with -march=native
// (AVX-512; 29 with AVX2). So the Gram and cross products and the Cholesky factors are Eigen's where the build has
// AVX2 and FMA, OpenBLAS runs one of its older kernels, and no more than 3 threads would share its work (Eigen's
// products run on one). They are exact to rounding as OpenBLAS's are: the same sums in another order.
bool eigen_faster_here() {
#if defined(__AVX2__) && defined(__FMA__)
  static const bool older_kernel = [] {
    std::string core = openblas_get_corename();
    std::transform(core.begin(), core.end(), core.begin(), [](unsigned char c) { return std::tolower(c); });
    for (const char* vectorized : {"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"})
      if (core == vectorized) return false;
    return true;
  }();
  return older_kernel && openblas_get_num_threads() <= 3;
#else
  return false;
#endif
}

bool eigen_products() { return chosen == Products::fastest ? eigen_faster_here() : chosen == Products::eigen; }

}  // namespace

void use_products(Products p) { chosen = p; }

void agree_on_products(Communicator& comm) {
  double openblas = eigen_faster_here() ? 0.0 : 1.0;
  comm.max(&openblas, 1);
  chosen = openblas > 0 ? Products::openblas : Products::eigen;
}

std::string products_library() {
  const std::string core = openblas_get_corename();
  return eigen_products() ? "Eigen (OpenBLAS's kernel here: " + core + ")" : "OpenBLAS (" + core + " kernel)";
}

void add_gram_upper(Matrix& g, const double* block, Eigen::Index rows, double alpha) {
  if (rows == 0) return;
  const int n = static_cast<int>(g.rows()), k = static_cast<int>(rows), ld = n;
  const double one = 1.0;
  // A row-major rows x d block is the column-major d x rows matrix B, so B^T B of the block is B B^T: "N".
  if (eigen_products()) {
    g.selfadjointView<Eigen::Upper>().rankUpdate(Eigen::Map<const Matrix>(block, g.rows(), rows), alpha);
    return;
  }
  dsyrk_("U", "N", &n, &k, &alpha, block, &ld, &one, g.data(), &ld);
}

void add_gram_upper_cols(Matrix& g, const Matrix& block) {
  if (block.rows() == 0 || block.cols() == 0) return;
  const int n = static_cast<int>(g.rows()), k = static_cast<int>(block.rows()), ld = n;
  const double one = 1.0;
  if (eigen_products()) {
    g.selfadjointView<Eigen::Upper>().rankUpdate(block.transpose());
    return;
  }
  dsyrk_("U", "T", &n, &k, &one, block.data(), &k, &one, g.data(), &ld);
}

void add_transpose_product(Matrix& c, const double* block, Eigen::Index rows, const Matrix& d, double alpha) {
  if (rows == 0 || c.size() == 0) return;
  // The row-major block is the column-major d x rows matrix B^T: C (d x n) += B^T (d x rows) D (rows x n).
  const int m = static_cast<int>(c.rows()), n = static_cast<int>(c.cols()), k = static_cast<int>(rows);
  const double one = 1.0;
  if (eigen_products()) {
    c.noalias() += alpha * Eigen::Map<const Matrix>(block, c.rows(), rows) * d;
    return;
  }
  dgemm_("N", "N", &m, &n, &k, &alpha, block, &m, d.data(), &k, &one, c.data(), &m);
}

Matrix transpose_times(const Eigen::Ref<const Matrix>& a, const Eigen::Ref<const Matrix>& b) {
  Matrix out = Matrix::Zero(a.cols(), b.cols());
  if (a.rows() == 0 || out.size() == 0) return out;
  const int m = static_cast<int>(a.cols()), n = static_cast<int>(b.cols()), k = static_cast<int>(a.rows());
  const int lda = static_cast<int>(a.outerStride()), ldb = static_cast<int>(b.outerStride());
  const double one = 1.0, zero = 0.0;
  const int inc = 1;
  if (n > 1 && eigen_products()) {
    // As (B^T A)^T: Eigen then packs A as the product's right-hand side, straight from its columns, rather than
    // transposing it into left-hand panels, which took as long as the arithmetic for a narrow B (a few columns
    // against a rank's 25,000 x 20,000 rows: 1.4-3x faster measured here; equal to rounding).
    const Matrix t = b.transpose() * a;
    out = t.transpose();
  }
  else if (n == 1)  // dgemm would pack all of A for one column
    dgemv_("T", &k, &m, &one, a.data(), &lda, b.data(), &inc, &zero, out.data(), &inc);
  else
    dgemm_("T", "N", &m, &n, &k, &one, a.data(), &lda, b.data(), &ldb, &zero, out.data(), &m);
  return out;
}

void symmetrize_from_upper(Matrix& g) {
  // In tiles, so that the strided reads of the upper triangle's rows stay in cache (a d x d Gram is larger than it).
  constexpr Eigen::Index kTile = 64;
  const Eigen::Index n = g.rows();
  for (Eigen::Index jb = 0; jb < n; jb += kTile) {
    const Eigen::Index jn = std::min(kTile, n - jb);
    for (Eigen::Index ib = jb; ib < n; ib += kTile) {
      const Eigen::Index in = std::min(kTile, n - ib);
      for (Eigen::Index j = jb; j < jb + jn; ++j)
        for (Eigen::Index i = std::max(ib, j + 1); i < ib + in; ++i) g(i, j) = g(j, i);
    }
  }
}

void symmetric_eigen_in_place(Matrix& vectors, Vector& values) {
  const int n = static_cast<int>(vectors.rows());
  values.resize(n);
  if (n == 0) return;
  int info = 0, lwork = -1, liwork = -1, iwork_query = 0;
  double work_query = 0;
  dsyevd_("V", "U", &n, vectors.data(), &n, values.data(), &work_query, &lwork, &iwork_query, &liwork, &info);
  lwork = static_cast<int>(work_query);
  liwork = iwork_query;
  std::vector<double> work(static_cast<std::size_t>(lwork));
  std::vector<int> iwork(static_cast<std::size_t>(liwork));
  dsyevd_("V", "U", &n, vectors.data(), &n, values.data(), work.data(), &lwork, iwork.data(), &liwork, &info);
  if (info != 0) throw RuntimeFailure("eigen-decomposition failed (dsyevd info " + std::to_string(info) + ")");
}

bool cholesky_upper_in_place(Eigen::Ref<Matrix> a) { return extend_cholesky_upper(a, 0); }

bool extend_cholesky_upper(Eigen::Ref<Matrix> a, Eigen::Index keep) {
  const int m = static_cast<int>(a.rows()), k = static_cast<int>(keep), rest = m - k,
            ld = static_cast<int>(a.outerStride());
  if (rest <= 0) return true;
  if (eigen_products()) {
    auto r12 = a.block(0, keep, keep, rest);
    Eigen::Ref<Matrix> r22 = a.block(keep, keep, rest, rest);
    if (keep > 0) {
      a.topLeftCorner(keep, keep).triangularView<Eigen::Upper>().transpose().solveInPlace(r12);
      r22.selfadjointView<Eigen::Upper>().rankUpdate(r12.transpose(), -1.0);
    }
    const Eigen::LLT<Eigen::Ref<Matrix>, Eigen::Upper> factor(r22);  // in place: r22 becomes U, U^T U = A22
    return factor.info() == Eigen::Success && r22.diagonal().allFinite();
  }
  double* const r12 = a.data() + static_cast<Eigen::Index>(k) * ld;
  double* const r22 = r12 + k;
  if (k > 0) {
    const double one = 1.0, minus_one = -1.0;
    dtrsm_("L", "U", "T", "N", &k, &rest, &one, a.data(), &ld, r12, &ld);
    dsyrk_("U", "T", &rest, &k, &minus_one, r12, &ld, &one, r22, &ld);
  }
  int info = 0;
  dpotrf_("U", &rest, r22, &ld, &info);
  return info == 0 && a.diagonal().tail(rest).allFinite();  // neither dpotrf (OpenBLAS's) nor Eigen's LLT fails on NaN
}

void remove_from_cholesky_upper(Eigen::Ref<Matrix> r, Eigen::Index p) {
  // The rotations of the update (row k: R(k, j) <- (R(k, j) + s_k x_j) / c_k, x_j <- c_k x_j - s_k R(k, j), for
  // j > k), applied a column at a time so that memory is read in order: column j takes the rotations of the rows
  // above it, then makes its own from its diagonal and what is left of x_j.
  const Eigen::Index m = r.rows(), t = m - p - 1;
  Vector c(t), s(t), inv_c(t);
  for (Eigen::Index jj = 0; jj < t; ++jj) {
    double* const col = r.col(p + 1 + jj).data() + p + 1;
    double x = r(p, p + 1 + jj);
    for (Eigen::Index kk = 0; kk < jj; ++kk) {
      const double v = (col[kk] + s[kk] * x) * inv_c[kk];
      x = c[kk] * x - s[kk] * v;
      col[kk] = v;
    }
    const double d = col[jj], h = std::hypot(d, x);
    c[jj] = h / d;
    inv_c[jj] = d / h;
    s[jj] = x / d;
    col[jj] = h;
  }
  // Close the gap: column j > p moves to j - 1, its part below row p up by one.
  for (Eigen::Index j = p + 1; j < m; ++j) {
    r.col(j - 1).head(p) = r.col(j).head(p);
    r.col(j - 1).segment(p, j - p) = r.col(j).segment(p + 1, j - p);
  }
}

void cholesky_solve(const Eigen::Ref<const Matrix>& factor, Matrix& b) {
  const int n = static_cast<int>(factor.rows()), nrhs = static_cast<int>(b.cols()),
            ld = static_cast<int>(factor.outerStride()), ldb = static_cast<int>(b.rows());
  if (eigen_products()) {  // dpotrs packs the whole factor for a single right-hand side (OpenBLAS's generic dtrsm)
    factor.triangularView<Eigen::Upper>().transpose().solveInPlace(b);
    factor.triangularView<Eigen::Upper>().solveInPlace(b);
    return;
  }
  int info = 0;
  if (n > 0 && nrhs > 0) dpotrs_("U", &n, &nrhs, factor.data(), &ld, b.data(), &ldb, &info);
  if (info != 0) throw RuntimeFailure("Cholesky solve failed (dpotrs info " + std::to_string(info) + ")");
}

void set_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }

}  // namespace cadmm::lapack
