#pragma once
/// \file From this rank's raw rows to the centered local data. The per-rank reduction of the data is a value
/// (RowSums) that adds across folds and centres with any means after the fact, so a path, every fold of a
/// cross-validation and the refit all come from one pass over the data.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cadmm/communicator.hpp"
#include "cadmm/csr.hpp"
#include "cadmm/local_solver.hpp"
#include "cadmm/plan.hpp"
#include "cadmm/settings.hpp"
#include "cadmm/types.hpp"

namespace cadmm {

class Accumulator;  // one local form's reduction of the rows (src/core/forms/accumulator.hpp)

/// This rank's rows centered with the global means, unscaled, in the form the plan chose.
class CenteredBlock {
 public:
  CenteredBlock();
  ~CenteredBlock();
  CenteredBlock(CenteredBlock&&) noexcept;
  CenteredBlock& operator=(CenteredBlock&&) noexcept;
  /// Factors the local term for A = X_c diag(column_scale), b = Y_c, loss divided by n; consumes the block (the
  /// rows forms scale their rows in place).
  std::unique_ptr<LocalSolver> factor(const Vector& column_scale, double n) &&;
  /// X_c^T Y_c (d x k).
  Matrix xty() const;
  /// Column sums of squares of X_c (d).
  Vector column_squares() const;
  /// ||Y_c||_F^2 over the local rows.
  double y_squares() const;
  /// Local rows.
  std::int64_t rows() const;
  /// How the block is held.
  LocalForm form() const;

 private:
  friend class RowSums;
  std::unique_ptr<Accumulator> acc_;
};

/// Two random projections of the columns about a per-rank shift s, sum_i w_i u_i (x_ij - s_j) for pseudo-random row
/// labels u_i drawn from each row's global index, with the labels' sums sum_i w_i u_i and sum_i w_i u_i^2: columns equal
/// up to sign (and shift, and scale) share them up to rounding, which is how prepare() finds tied columns without a
/// pass over the data. Sums of one rank's rows add (RowSums::operator+=); empty when not kept.
struct ColumnProjections {
  Matrix x;      ///< d x 2
  Vector w, w2;  ///< 2 each
  Vector shift;  ///< d: s
  bool empty() const { return x.size() == 0; }
  /// Adds another set of the same rank's rows (the same shift); an empty one adds nothing, and to an empty one it is
  /// copied.
  ColumnProjections& operator+=(const ColumnProjections& other);
};

/// Sums over a set of this rank's rows, as a value, in the plan's local form (one accumulator per form, beside its
/// solver in src/core/forms/): Gram-type sums about a per-rank shift for tall blocks, the rows themselves for wide
/// or sparse ones. Sums of the same rank add: the training set of fold f is the sum of the other folds.
class RowSums {
 public:
  RowSums();
  ~RowSums();
  RowSums(const RowSums& other);
  RowSums& operator=(const RowSums& other);
  RowSums(RowSums&&) noexcept;
  RowSums& operator=(RowSums&&) noexcept;
  /// Empty sums of d features and k targets in the given form; single keeps held values in float32 (cg form).
  RowSums(Eigen::Index d, Eigen::Index k, LocalForm form, bool single = false);
  /// Adds dense rows (x: rows x d, y: rows x k). In the shifted forms x is shifted in place; the first rows added to
  /// any piece of a builder fix the shift (LocalDataBuilder shares it). w: the rows' weights (>= 0; null: 1 each),
  /// given for every row of the sums or for none: every sum is then weighted, and the centring uses weighted means.
  void add_rows(RowMatrix& x, const RowMatrix& y, const double* w = nullptr);
  /// Adds CSR rows (x: rows x d, y: rows x k), never densified in the Gram and cg forms.
  void add_rows(const SparseRows& x, const RowMatrix& y, const double* w = nullptr);
  /// Adds another set of rows of the same rank (same form and shift).
  RowSums& operator+=(const RowSums& other);
  /// Rows summed.
  std::int64_t rows() const;
  /// Sum of the rows' weights (the rows when unweighted).
  double weight() const;
  /// Number of features d.
  Eigen::Index features() const;
  /// Number of targets k.
  Eigen::Index targets() const;
  /// The form the sums are held in.
  LocalForm form() const;
  /// Column sums of X (d) followed by column sums of Y (k), for the global means (weighted sums with weights).
  Vector sums() const;
  /// Sum over the rows of (x_ij - center_j)^2 (d), for the global variances (weighted).
  Vector squares_about(const Vector& center) const;
  /// Sum over the rows of w_i ||y_i - W^T x_i - b||^2 for each of the m models stacked in coef (d x m k) and
  /// intercept (m k): the validation error of fitted models, without another pass over X.
  Vector squared_errors(const Matrix& coef, const Vector& intercept) const;
  /// The rows centered at the given means, consuming the sums: kept rows move into the block and are centered in
  /// place (no second copy).
  CenteredBlock center(const Vector& x_mean, const Vector& y_mean) &&;
  /// Sizes the kept rows for the rows still to come (one allocation instead of geometric growth).
  void reserve(std::int64_t rows);
  /// The streamed form: how to read these rows again (it keeps only sums); carried to the local solver.
  void set_stream(RowStream stream);
  /// The streamed form: also sums the columns X~^T X~_F of these features (before any row is added), so the
  /// local solver starts with them and a working set inside F reads nothing again.
  void fetch_with_sums(std::vector<Eigen::Index> features);
  /// The columns' projections over these rows (LocalDataBuilder keeps them; empty otherwise).
  const ColumnProjections& projections() const { return projections_; }

 private:
  friend class LocalDataBuilder;
  explicit RowSums(std::unique_ptr<Accumulator> acc);
  std::unique_ptr<Accumulator> acc_;
  ColumnProjections projections_;
};

/// Accumulates this rank's rows block by block into one or several pieces (folds) that share one shift.
/// Tall blocks (rows >= d) keep only Gram-type sums, so X is streamed through one reused buffer; wide blocks
/// keep the rows for the matrix-inversion lemma.
class LocalDataBuilder {
 public:
  /// local_rows is the total this rank will add; form is the plan's (plan_local_form; unset: the rule for dense
  /// rows), the same for every piece; single keeps held values in float32 (float32 files, cg form). fold_rows (the
  /// plan's holds_fold_rows, with pieces > 1): one set of sums of every row in the form, and each piece's rows
  /// held (total(f) subtracts piece f's rows from the sums) instead of sums per piece; in the screened form every row
  /// held once, total(f) a view of the rows but piece f's, with the columns its terms ask for kept over all rows in
  /// at most fold_cache_bytes (< 0: no limit).
  LocalDataBuilder(std::int64_t local_rows, Eigen::Index d, Eigen::Index k, int pieces = 1,
                   std::optional<LocalForm> form = std::nullopt, bool single = false, bool fold_rows = false,
                   double fold_cache_bytes = -1);
  /// Keeps the columns' projections (prepare's test for tied columns), the rows labelled from first_row, the global
  /// index of this rank's first row; before any row is added, on every rank alike (without it none are kept and
  /// prepare does not look for ties).
  void keep_projections(std::int64_t first_row);
  /// Adds the next rows to piece 0. x may be modified (it is shifted in place).
  void add_rows(RowMatrix& x, const RowMatrix& y);
  /// Adds the next rows, row i to piece piece_of_row[i] (null: piece 0), with weight w[i] (null: unweighted; rows
  /// come with weights always or never).
  void add_rows(RowMatrix& x, const RowMatrix& y, const int* piece_of_row, const double* w = nullptr);
  /// The same for CSR rows.
  void add_rows(const SparseRows& x, const RowMatrix& y, const int* piece_of_row, const double* w = nullptr);
  /// Rows added so far.
  std::int64_t rows() const { return added_; }
  /// Number of features d.
  Eigen::Index features() const { return d_; }
  /// Number of targets k.
  Eigen::Index targets() const { return k_; }
  /// Piece p: its sums, or its rows held (fold_rows); either gives its rows, weight and squared errors.
  const RowSums& piece(int p) const { return pieces_[static_cast<std::size_t>(p)]; }
  /// Number of pieces.
  int pieces() const { return static_cast<int>(pieces_.size()); }
  /// The form of the sums (total()).
  LocalForm form() const { return form_; }
  /// Sum of every piece but `except` (-1: all), in the form.
  RowSums total(int except = -1) const;
  /// Sizes piece p's held rows (fold_rows; otherwise nothing) for the rows it will get.
  void reserve_piece(int p, std::int64_t rows);
  /// Moves piece 0 out (one piece: no copy of the sums).
  RowSums take() &&;
  /// The streamed form: RowSums::fetch_with_sums for every piece (before any row is added); else nothing.
  void fetch_with_sums(const std::vector<Eigen::Index>& features);

 private:
  void fix_shift(const Vector& x_shift, const RowMatrix& y);
  bool shifted() const;
  /// Adds rows (before any form shifts them) to their pieces' projections.
  void project(const RowMatrix& x, const int* piece_of_row, const double* w);
  void project(const SparseRows& x, const int* piece_of_row, const double* w);
  /// The projections row i of a block goes to (piece_of_row as add_rows reads it).
  ColumnProjections& projections_of(const int* piece_of_row, Eigen::Index i);
  /// Every piece's projections but `except`'s, summed.
  ColumnProjections projections_without(int except) const;
  /// For each of rows rows: its two labels times its weight (a) added to its piece's label sums, then f(i, piece's
  /// projections, a).
  template <typename F>
  void each_label(Eigen::Index rows, const int* piece_of_row, const double* w, F&& f);
  void check_block(Eigen::Index rows, Eigen::Index cols, const RowMatrix& y) const;
  std::int64_t expected_;
  std::int64_t added_ = 0;
  std::int64_t first_row_ = -1;  // keep_projections: the rows' labels start here; -1: no projections
  Eigen::Index d_, k_;
  LocalForm form_;
  bool single_;
  std::vector<RowSums> pieces_;
  RowSums all_;                      // fold_rows: the sums of every row (pieces_ hold the rows); else empty
  bool held_once_ = false;           // fold_rows in the screened form: pieces_ share the rows (make_held_folds)
  RowMatrix scratch_x_, scratch_y_;  // rows of one piece gathered from a mixed block
  std::vector<double> scratch_w_;    // and their weights
};

/// The centered local data plus the global facts every rank shares.
struct PreparedData {
  CenteredBlock block;          ///< this rank's data
  std::int64_t n_rows = 0;      ///< global rows
  double n_weight = 0;          ///< global sum of the rows' weights (n_rows unweighted): the loss is 1/(2 n_weight) sum w r^2
  Eigen::Index n_features = 0, n_targets = 0;
  Vector x_mean, y_mean;        ///< the centers used: global means, or zero without intercept
  Vector x_var;                 ///< column variances about the true mean (1/n, glmnet's); 0: constant column
  Vector x_curv;                ///< loss curvature diag(X_c^T X_c) / n; 0: column excluded (coefficient 0)
  double y_ss = 0;              ///< ||Y_c||_F^2 / n, the null deviance (deviance ratio of a path)
  ProblemSpec spec;             ///< what is solved (standardize: the penalty acts on standardized coefficients)
  Matrix q_global;              ///< X_c^T Y_c / n, the negative loss gradient at W = 0
  int active_ranks = 0;         ///< ranks holding rows
  int constant_columns = 0;     ///< excluded columns: constant with intercept or standardize, or all zero
  int excluded_columns = 0;     ///< columns excluded by ProblemSpec::exclude (not counted as constant)
  /// Columns tied to an earlier one (equal to it, up to sign, after centring and the penalty's scaling) under a
  /// penalty without a ridge part, where any split of their weight is optimal: excluded, as (later, earlier) pairs,
  /// so that the first takes it all, as glmnet's and scikit-learn's coordinate descent give it.
  std::vector<std::pair<Eigen::Index, Eigen::Index>> tied_columns;

  /// p_j: the penalized coefficient of feature j is p_j * w_j (the penalty factor, times sd_j with standardize).
  Vector penalty_scale() const;
  /// A copy of everything but the block (a model made of other rows with the same global facts: gathered_model).
  PreparedData facts() const {
    PreparedData p;
    p.n_rows = n_rows, p.n_weight = n_weight, p.n_features = n_features, p.n_targets = n_targets;
    p.x_mean = x_mean, p.y_mean = y_mean, p.x_var = x_var, p.x_curv = x_curv, p.y_ss = y_ss, p.spec = spec;
    p.q_global = q_global, p.active_ranks = active_ranks, p.constant_columns = constant_columns;
    p.excluded_columns = excluded_columns, p.tied_columns = tied_columns;
    return p;
  }
};

/// Makes means and variances global and centers the local data (consumed: kept rows are centered in place);
/// collective. Throws DataError on no rows.
PreparedData prepare(RowSums data, const ProblemSpec& spec, Communicator& comm);

}  // namespace cadmm
