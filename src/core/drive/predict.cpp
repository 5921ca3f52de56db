// Predictions and their scores (include/cadmm/predict.hpp). The arithmetic is `cadmm predict`'s from before it
// moved here, operation for operation, so that predictions and the stored mse and r2 stay bit for bit the same.
#include "cadmm/predict.hpp"

#include "cadmm/error.hpp"

namespace cadmm {

namespace {
template <class Rows>
void predict_block(const Rows& x, const Matrix& coef, const Vector& intercept, RowMatrix& p) {
  p.noalias() = x * coef;
  p.rowwise() += intercept.transpose();
}
}  // namespace

void predict_rows(const RowMatrix& x, const Matrix& coef, const Vector& intercept, RowMatrix& p) {
  predict_block(x, coef, intercept, p);
}

void predict_rows(const SparseRows& x, const Matrix& coef, const Vector& intercept, RowMatrix& p) {
  predict_block(x, coef, intercept, p);
}

ScoreSums::ScoreSums(const Vector& intercept, bool weighted)
    : pivot_(intercept), sums_(Vector::Zero(3 * intercept.size() + 1)), weighted_(weighted) {}

void ScoreSums::add(const RowMatrix& y, const RowMatrix& p, const double* w) {
  const Eigen::Index k = pivot_.size();
  if (weighted_) {
    const Eigen::Map<const Vector> wv(w, y.rows());
    const RowMatrix yc = y.rowwise() - pivot_.transpose();
    sums_.head(k).noalias() += (y - p).array().square().matrix().transpose() * wv;
    sums_.segment(k, k).noalias() += yc.transpose() * wv;
    sums_.segment(2 * k, k).noalias() += yc.array().square().matrix().transpose() * wv;
    sums_[3 * k] += wv.sum();
    return;
  }
  sums_[3 * k] += static_cast<double>(y.rows());
  sums_.head(k) += (y - p).colwise().squaredNorm().transpose();
  const RowMatrix yc = y.rowwise() - pivot_.transpose();
  sums_.segment(k, k) += yc.colwise().sum().transpose();
  sums_.segment(2 * k, k) += yc.colwise().squaredNorm().transpose();
}

PredictionScore ScoreSums::finish(Communicator& comm, std::int64_t rows) {
  comm.sum(sums_.data(), static_cast<std::size_t>(sums_.size()));
  const Eigen::Index k = pivot_.size();
  // Weighted: the weights' sum stands for the rows (sklearn's mean_squared_error and r2_score with sample_weight).
  const double n = weighted_ ? sums_[3 * k] : static_cast<double>(rows);
  if (weighted_ && !(n > 0)) throw DataError("the weights (--weights-dataset) of these rows sum to zero: no MSE or R^2");
  PredictionScore score;
  score.mse = sums_.head(k).sum() / (n * static_cast<double>(k));
  for (Eigen::Index t = 0; t < k; ++t) {
    const double sst = sums_[2 * k + t] - sums_[k + t] * sums_[k + t] / n;  // sum (y - mean)^2
    score.r2 += (sst > 0 ? 1 - sums_[t] / sst : 0.0) / static_cast<double>(k);
  }
  return score;
}

}  // namespace cadmm
