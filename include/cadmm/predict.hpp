#pragma once
/// \file Predictions of a fitted model block by block, and their scores against y (MSE and R^2) over every rank's
/// rows: what `cadmm predict` computes, apart from the reading and writing (docs/spec.md section 4).
#include <cstdint>

#include "cadmm/communicator.hpp"
#include "cadmm/types.hpp"

namespace cadmm {

/// Predictions of a block of dense rows: p = x coef + intercept (rows x k; p's storage is reused between blocks).
void predict_rows(const RowMatrix& x, const Matrix& coef, const Vector& intercept, RowMatrix& p);
/// Predictions of a block of sparse rows, as for dense rows.
void predict_rows(const SparseRows& x, const Matrix& coef, const Vector& intercept, RowMatrix& p);

/// How well predictions match y over every rank's rows.
struct PredictionScore {
  double mse = 0;  ///< mean squared error over rows and targets (weighted: sum w r^2 / (k sum w))
  double r2 = 0;   ///< R^2 per target, averaged over targets (as scikit-learn's r2_score, with sample_weight)
};

/// This rank's sums for MSE and R^2, per target: the squared errors, and y about the intercept and its squares.
/// The intercept is a stable pivot for y's variance (no cancellation when y's mean is far from zero).
class ScoreSums {
 public:
  /// Zero sums for intercept.size() targets, y taken about intercept; weighted: every block comes with weights.
  explicit ScoreSums(const Vector& intercept, bool weighted = false);
  /// Adds a block of rows: y their targets, p their predictions (rows x k each), w their weights (weighted sums).
  void add(const RowMatrix& y, const RowMatrix& p, const double* w = nullptr);
  /// Collective, once: sums over ranks and scores the predictions of all `rows` rows (every rank's).
  PredictionScore finish(Communicator& comm, std::int64_t rows);

 private:
  Vector pivot_;  ///< the intercept, k
  Vector sums_;   ///< 3k + 1: squared errors, sum of y - pivot, sum of (y - pivot)^2 (all weighted), the weights' sum
  bool weighted_ = false;
};

}  // namespace cadmm
