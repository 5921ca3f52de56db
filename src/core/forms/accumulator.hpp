#pragma once
// One accumulator per local form, behind one interface: it reduces this rank's rows of one piece (a fold, or all
// of them) in its form, adds another piece of the same rank, gives the sums the global means and variances come
// from, centres itself at the global means (algebra on the sums, never a rewrite of sparse X), and hands its data to
// its form's LocalSolver. Each form's accumulator lives beside its solver (src/core/forms/FORM.cpp); the plan alone
// picks the form (make_accumulator), so nothing else tests it.
#include <cstdint>
#include <memory>
#include <vector>

#include "cadmm/csr.hpp"
#include "cadmm/local_solver.hpp"
#include "cadmm/plan.hpp"
#include "cadmm/types.hpp"

namespace cadmm {

/// This rank's rows of one piece, reduced in one local form; first raw (rows are added), then centred.
class Accumulator {
 public:
  Accumulator(Eigen::Index d, Eigen::Index k, LocalForm form) : d_(d), k_(k), form_(form) {}
  virtual ~Accumulator() = default;
  /// A copy.
  virtual std::unique_ptr<Accumulator> clone() const = 0;
  /// Empty sums of the same form and shape, sharing this one's shift and fetched columns (so they add).
  virtual std::unique_ptr<Accumulator> empty_like() const = 0;

  /// Adds dense rows (x may be shifted in place); RuntimeFailure on a shape mismatch. w: the rows' weights (>= 0),
  /// null for weight 1 each; every sum below is then weighted (sum_i w_i x_i, sum_i w_i x_i x_i^T, ...). A set of
  /// sums takes weights for all of its rows or for none.
  void add_rows(RowMatrix& x, const RowMatrix& y, const double* w = nullptr);
  /// Adds CSR rows (the Gram and cg forms never densify them).
  void add_rows(const SparseRows& x, const RowMatrix& y, const double* w = nullptr);
  /// Adds another piece of the same rank (same form, shape and shift).
  void add(const Accumulator& other);
  /// Subtracts dense rows that were added (x is modified as add_rows does), weights as they were added: the forms of
  /// sums only (gram, streamed); RuntimeFailure in the others.
  void remove_rows(RowMatrix& x, const RowMatrix& y, const double* w = nullptr);
  /// The dense rows forms: subtracts the rows held here from `sums` (remove_rows), which added them too.
  virtual void remove_from(Accumulator& sums) const;
  /// Rows held once for every piece (make_held_folds): a view of every held row but piece `except`'s (-1: every row),
  /// sharing them; null in the other forms.
  virtual std::unique_ptr<Accumulator> training_view(int /*except*/) const { return nullptr; }

  /// Column sums of X (d) followed by column sums of Y (k), for the global means.
  virtual Vector sums() const = 0;
  /// Sum over the rows of (x_ij - center_j)^2 (d), for the global variances.
  virtual Vector squares_about(const Vector& center) const = 0;
  /// Sum over the rows of ||y_i - W^T x_i - b||^2 for each of the m models stacked in coef (d x m k) and
  /// intercept (m k).
  virtual Vector squared_errors(const Matrix& coef, const Vector& intercept) const = 0;

  /// True for the forms whose sums are taken about a per-rank shift (set_shift matters).
  virtual bool shifted() const { return false; }
  /// The per-rank shift (shifted forms), fixed by the first block a builder sees.
  virtual void set_shift(const Vector& /*x_shift*/, const Vector& /*y_shift*/) {}
  /// Sizes the kept rows for the rows still to come.
  virtual void reserve(std::int64_t /*rows*/) {}
  /// The streamed form: how to read these rows again; the other forms read nothing again and ignore it (a rank
  /// planned to stream that holds no rows takes the rows form).
  virtual void set_stream(RowStream /*stream*/) {}
  /// The streamed form: also sums the columns X~^T X~_F of these features (before any row is added); nothing else.
  virtual void fetch_with_sums(std::vector<Eigen::Index> /*features*/) {}

  /// Centres the data at the global means (the raw sums are consumed).
  virtual void center(const Vector& x_mean, const Vector& y_mean) = 0;
  /// Centred: X_c^T Y_c (d x k).
  virtual Matrix xty() const = 0;
  /// Centred: column sums of squares of X_c (d).
  virtual Vector column_squares() const = 0;
  /// Centred: ||Y_c||_F^2 over the local rows.
  virtual double y_squares() const = 0;
  /// Centred: the local term for A = X_c diag(column_scale), b = Y_c, loss divided by n (the data are consumed).
  virtual std::unique_ptr<LocalSolver> factor(const Vector& column_scale, double n) = 0;

  /// Rows summed.
  std::int64_t rows() const { return rows_; }
  /// Sum of the rows' weights (the number of rows when unweighted): the m of the centring algebra.
  double weight() const { return weight_; }
  /// Number of features d.
  Eigen::Index features() const { return d_; }
  /// Number of targets k.
  Eigen::Index targets() const { return k_; }
  /// The form.
  LocalForm form() const { return form_; }

 protected:
  Accumulator(const Accumulator&) = default;
  /// The form's part of add_rows (rows_ counts the rows before these; w as add_rows).
  virtual void add_dense(RowMatrix& x, const RowMatrix& y, const double* w) = 0;
  /// The form's part of add_rows for CSR rows: by default densified (the rows forms keep dense rows).
  virtual void add_sparse(const SparseRows& x, const RowMatrix& y, const double* w);
  /// The form's part of add (other has rows, the same form and shape).
  virtual void add_piece(const Accumulator& other) = 0;
  /// The form's part of remove_rows (rows_ counts the rows before these are removed).
  virtual void subtract_dense(RowMatrix& x, const RowMatrix& y, const double* w);
  /// False for an empty block; RuntimeFailure when its shape does not match the declared features and targets.
  bool takes_block(Eigen::Index rows, Eigen::Index cols, const RowMatrix& y) const;
  /// Sums per model of per-column squared errors (one column per target of each model).
  Vector per_model(const Vector& per_column) const;
  /// Counts rows just added (sign +1) or removed (-1), with their weights w (null: 1 each).
  void count(Eigen::Index rows, const double* w, int sign = 1);

  Eigen::Index d_, k_;
  LocalForm form_;
  std::int64_t rows_ = 0;
  double weight_ = 0;     // sum of the weights (exactly rows_ when unweighted)
  bool weighted_ = false; // rows came with weights
};

/// Gram sums about a per-rank shift (tall blocks).
std::unique_ptr<Accumulator> make_gram_sums(Eigen::Index d, Eigen::Index k);
/// Shifted sums without the Gram, the rows read again later (tall dense blocks of one l1-type solve).
std::unique_ptr<Accumulator> make_streamed_sums(Eigen::Index d, Eigen::Index k);
/// Dense rows kept (woodbury: wide blocks and ranks without rows, the matrix-inversion lemma; screened: tall dense
/// blocks of one l1-type solve, working sets), handed to make_solver(A, c) (make_woodbury_solver,
/// make_screened_solver) once centred and scaled.
std::unique_ptr<Accumulator> make_dense_rows(Eigen::Index d, Eigen::Index k, LocalForm form,
                                             std::unique_ptr<LocalSolver> (*make_solver)(Matrix a, Matrix c));
/// The screened form's rows for cv (holds_fold_rows): every row of the rank kept once, shared by `pieces` accumulators
/// (piece p's rows are added to the p-th) and by their training_view()s, whose local terms are the held rows less a
/// piece's, centred and scaled implicitly. The columns every fold's term asks for are kept over all rows in at most
/// cache_bytes (< 0: no limit). rows: the rows to come.
std::vector<std::unique_ptr<Accumulator>> make_held_folds(std::int64_t rows, Eigen::Index d, Eigen::Index k, int pieces,
                                                          double cache_bytes);
/// CSR rows kept for conjugate gradients; single holds values in float32.
std::unique_ptr<Accumulator> make_cg_rows(Eigen::Index d, Eigen::Index k, bool single);

/// The accumulator of a form (src/core/plan/plan.cpp: the one switch on the form).
std::unique_ptr<Accumulator> make_accumulator(LocalForm form, Eigen::Index d, Eigen::Index k, bool single);

}  // namespace cadmm
