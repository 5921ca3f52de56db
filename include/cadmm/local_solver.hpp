#pragma once
/// \file The rank-local least-squares term f_i(x) = 1/(2n) ||A_i x - b_i||^2 and its factorization.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "cadmm/csr.hpp"
#include "cadmm/types.hpp"

namespace cadmm {

class Communicator;

/// Reads this rank's raw rows of X again, block by block, into the sink; called alike on every rank that holds rows.
using RowStream = std::function<void(const std::function<void(const RowMatrix& x)>& sink)>;

/// Residual statistics of the local term at a point z, all divided by the global row count n.
struct LocalFit {
  Matrix grad;      ///< A_i^T (b_i - A_i z) / n, d x k
  double rss = 0;   ///< ||b_i - A_i z||_F^2 / n
  double ry = 0;    ///< <b_i - A_i z, b_i> / n
};

/// This rank's rows of some columns of A in sparse form, for coordinate descent over features spread across the
/// ranks: A_j = a_j - offset_j v, with a_j sparse (CSC over the local rows: column c's entries are start[c] to
/// start[c + 1] of row and value) and v the rows' centring direction (LocalSolver::centring_direction).
struct LocalColumns {
  std::vector<std::int64_t> start{0};
  std::vector<std::int64_t> row;
  std::vector<double> value;
  Vector offset;
};

/// The factorizations a local term made. They are made lazily, on the first x-update that needs one, and the
/// cheapest way known so far (src/core/forms/shifted_system.hpp): a term that no ADMM iteration used has none.
struct FactorLog {
  int cholesky = 0;  ///< Cholesky factorizations of a shifted system, one per rho
  int eigen = 0;     ///< eigendecompositions, each serving every rho after it
  FactorLog& operator+=(const FactorLog& o) {
    cholesky += o.cholesky, eigen += o.eigen;
    return *this;
  }
  /// What was made since `before`.
  FactorLog since(const FactorLog& before) const { return FactorLog{cholesky - before.cholesky, eigen - before.eigen}; }
};

/// The rank's local least-squares term behind one interface: Gram + eigen-decomposition (few features),
/// matrix-inversion lemma (fewer rows than features) and conjugate gradients on CSR rows (neither fits). The
/// direct ones factor on the first x-update (FactorLog), not before: a path whose lambdas need no ADMM iteration
/// factors nothing.
class LocalSolver {
 public:
  virtual ~LocalSolver() = default;
  /// x = (A_i^T A_i / n + rho I)^{-1} rhs (Boyd et al. (7.6) x-update), rhs and x d x k. x holds the previous
  /// solution on entry (an iterative solver's warm start); tol is the relative residual an iterative solver
  /// stops at (direct solvers are exact and ignore it).
  virtual void solve(const Matrix& rhs, double rho, Matrix& x, double tol) const = 0;
  /// True when solve() is inexact (iterative): the ADMM loop then tightens tol as its residuals fall.
  virtual bool iterative() const { return false; }
  /// Residual statistics at z (objective, duality gap, KKT checks).
  virtual LocalFit fit_at(const Matrix& z) const = 0;
  /// The block of A_i^T A_i / n on the given features (rows and columns), for polishing.
  virtual Matrix hessian_block(const std::vector<Eigen::Index>& features) const = 0;
  /// The rows x cols block of A_i^T A_i / n: by default a slice of hessian_block over both.
  virtual Matrix hessian_columns(const std::vector<Eigen::Index>& rows, const std::vector<Eigen::Index>& cols) const;
  /// A_i^T b_i / n, d x k.
  virtual const Matrix& q() const = 0;
  /// ||b_i||_F^2 / n.
  virtual double b_squares() const = 0;
  /// The same term on a subset of the features (the others held at zero), in the Gram form: a working set's
  /// problem. Costs one hessian_block of the subset.
  std::unique_ptr<LocalSolver> restricted(const std::vector<Eigen::Index>& features) const;
  /// Number of local rows.
  virtual std::int64_t rows() const = 0;
  /// The features' columns of A over the local rows in sparse form, when the term keeps its rows sparse (the cg
  /// form): fills out and returns true; the other forms return false. No features: the answer alone, at no cost.
  virtual bool sparse_columns(const std::vector<Eigen::Index>& /*features*/, LocalColumns& /*out*/) const { return false; }
  /// With sparse_columns: the direction v of the local rows' centring (the square roots of their weights, or ones).
  virtual Vector centring_direction() const { return Vector(); }
  /// With sparse_columns: the residual b - A z over the local rows (rows x k).
  virtual Matrix residual(const Matrix& z) const;
  /// True when the term holds its Hessian itself (the Gram form): any block of it costs no pass over the rows.
  virtual bool holds_hessian() const { return false; }
  /// The factorizations made so far (none for the iterative and row forms).
  virtual FactorLog factorizations() const { return {}; }
  /// What the choice between a Cholesky per rho and one eigendecomposition rests on, as a checkpoint taken at rho
  /// keeps it: the Choleskys made before rho's own (a resume makes that one again) and whether M was decomposed.
  virtual FactorLog resumable_factorizations(double /*rho*/) const { return {}; }
  /// Restores what resumable_factorizations gave, so that a resumed solve chooses as the uninterrupted one did.
  virtual void resume_factorizations(const FactorLog& /*log*/) const {}
  /// The working-set forms (screened): what they have learned of the Hessian so far, as a log that replay_columns
  /// repeats (the batches of columns fetched, in order, and the choice between passes and columns); empty in the other
  /// forms. A checkpoint keeps it (LoopState::columns) so that a resumed path holds the same columns, to the bit.
  virtual std::vector<double> columns_log() const { return {}; }
  /// On a term that has fetched nothing yet: fetches the log's batches as they were fetched and restores the choice.
  virtual void replay_columns(const std::vector<double>& /*log*/) const {}
  /// The Gram form before any factorization: this term summed over the ranks into root's, consumed; collective,
  /// every rank's term of the Gram form and the same size. Root gets the term of every rank's rows (one rank can then
  /// solve the whole problem alone), the others nullptr. RuntimeFailure in the other forms.
  virtual std::unique_ptr<LocalSolver> summed_to(int root, Communicator& comm) &&;
  /// The cg form: every rank's rows gathered into every rank's term (kept as it is; collective), so that each rank can
  /// fit the whole problem alone (a path's lambdas side by side). nullptr in the other forms (on every rank alike).
  virtual std::unique_ptr<LocalSolver> gathered(Communicator&) const { return nullptr; }
};

/// Tall blocks (rows >= d): from H = A^T A / n (d x d, symmetric), q = A^T b / n and yy = ||b||^2 / n. Gradients
/// and blocks come from H itself; (H + rho I) is factored on the first solve (ShiftedSystem).
std::unique_ptr<LocalSolver> make_gram_solver(Matrix h, Matrix q, double yy, std::int64_t rows);
/// Wide blocks (rows < d, including none): from B = A / sqrt(n) and c = b / sqrt(n), by the
/// matrix-inversion lemma with the small rows x rows factor.
std::unique_ptr<LocalSolver> make_woodbury_solver(Matrix b_mat, Matrix c);
/// Dense rows kept for working sets (tall blocks of an l1-type problem): from A = X_c diag(scale) / sqrt(n) and
/// c = y_c / sqrt(n). Grams are formed only for the features asked for (restricted, hessian_block); a solve on
/// all features forms the full Gram once, on first use.
std::unique_ptr<LocalSolver> make_screened_solver(Matrix a, Matrix c);
/// Dense rows not kept (tall blocks of an l1-type problem whose rows are cheaper to read again than to hold):
/// from q = A^T b / n and ||b||^2 / n, with A = (X - 1 mean^T) diag(scale) / sqrt(n) formed block by block from
/// the stream. The columns A^T A_F of the features asked for are computed in one pass (rows d |F| flops) and
/// kept: the working set's Gram and every later gradient at a point supported on them cost no pass at all.
/// fetched/cross: features whose columns X_c^T X_c,F (unscaled) came with the sums, so need no pass. root_weights:
/// with row weights, their square roots in the stream's order (A's rows are multiplied by them); empty: none.
std::unique_ptr<LocalSolver> make_streamed_solver(RowStream stream, Vector mean, Vector scale, Vector root_weights,
                                                  Matrix q, double yy, std::int64_t rows, double n,
                                                  std::vector<Eigen::Index> fetched = {}, const Matrix& cross = {});
/// CSR rows: A = R (X - 1 mean^T) diag(scale) / sqrt(n) and b = y_c / sqrt(n), applied implicitly (X stays sparse),
/// solved by conjugate gradients warm-started from the previous x. R = diag(root_weights), the square roots of the
/// rows' weights (empty: unweighted); y_c comes multiplied by them already.
std::unique_ptr<LocalSolver> make_cg_solver(CsrRows x, Vector mean, Vector scale, Vector root_weights, Matrix y_centered,
                                            double n);

}  // namespace cadmm
