// The streamed form (tall dense blocks of one l1-type solve whose rows are cheaper to read again than to hold): its
// sums (the shifted sums, column squares instead of the Gram, and the columns of a first working set fetched in the
// same pass) and its solver, which reads the rows again for the working sets' products.
#include <algorithm>
#include <cmath>

#include "cadmm/error.hpp"
#include "core/forms/shifted_sums.hpp"
#include "core/forms/subset_gram.hpp"
#include "core/lapack.hpp"

namespace cadmm {

namespace {

// Sums only; the products with the rows are formed by reading them again, a block at a time (the kept columns:
// SubsetGramSolver).
class StreamedSolver final : public SubsetGramSolver {
 public:
  StreamedSolver(RowStream stream, Vector mean, Vector scale, Vector root_weights, Matrix q, double yy,
                 std::int64_t rows, double n, const std::vector<Eigen::Index>& fetched, const Matrix& cross)
      : SubsetGramSolver(std::move(q), yy, rows), stream_(std::move(stream)), mean_(std::move(mean)),
        scale_(std::move(scale) / std::sqrt(n)), root_w_(std::move(root_weights)) {
    if (!fetched.empty()) keep(fetched, scale_.asDiagonal() * cross * scale_(fetched).asDiagonal());
  }

 private:
  Matrix fetch(const std::vector<Eigen::Index>& missing) const override {
    const Eigen::Index d = q().rows(), add = static_cast<Eigen::Index>(missing.size());
    Matrix fresh = Matrix::Zero(d, add);
    RowMatrix a;
    Matrix picked;
    // Every feature at once: the full Gram, by the symmetric rank-k update (half the flops of a product).
    const bool all = add == d;
    Eigen::Index at = 0;  // the first row of the block, for its weights
    if (rows() > 0)
      stream_([&](const RowMatrix& x) {
        a = (x.rowwise() - mean_.transpose()).array().rowwise() * scale_.transpose().array();  // one pass
        if (root_w_.size() > 0) a.array().colwise() *= root_w_.segment(at, x.rows()).array();
        at += x.rows();
        if (all) {
          lapack::add_gram_upper(fresh, a.data(), a.rows());
        } else {
          picked = a(Eigen::all, missing);
          lapack::add_transpose_product(fresh, a.data(), a.rows(), picked);
        }
      });
    if (all) {
      lapack::symmetrize_from_upper(fresh);
      fresh = fresh(Eigen::all, missing).eval();  // columns in the order asked for, rows by feature
    }
    return fresh;
  }

  RowStream stream_;
  Vector mean_, scale_;
  Vector root_w_;  // sqrt of the rows' weights, in the order the stream reads them; empty: unweighted
};

// Column sums of squares of X~ (instead of the Gram), the columns X~^T X~_F of the features fetched with the sums,
// and how to read the rows again.
class StreamedSums final : public ShiftedSums {
 public:
  StreamedSums(Eigen::Index d, Eigen::Index k) : ShiftedSums(d, k, LocalForm::streamed), x_squares_(Vector::Zero(d)) {}
  std::unique_ptr<Accumulator> clone() const override { return std::unique_ptr<Accumulator>(new StreamedSums(*this)); }
  std::unique_ptr<Accumulator> empty_like() const override {
    auto e = std::make_unique<StreamedSums>(d_, k_);
    e->set_shift(x_shift_, y_shift_);
    e->fetch_with_sums(fetched_);
    return e;
  }
  Vector squared_errors(const Matrix&, const Vector&) const override {
    throw RuntimeFailure("RowSums: the streamed form keeps no sums to predict from");
  }
  void set_stream(RowStream stream) override { stream_ = std::move(stream); }
  void fetch_with_sums(std::vector<Eigen::Index> features) override {
    if (rows_ > 0) throw RuntimeFailure("RowSums::fetch_with_sums: call it before adding rows");
    fetched_ = std::move(features);
    cross_ = Matrix::Zero(d_, static_cast<Eigen::Index>(fetched_.size()));
  }
  Vector column_squares() const override { return x_squares_; }
  std::unique_ptr<LocalSolver> factor(const Vector& column_scale, double n) override {
    if (!stream_) throw RuntimeFailure("the streamed form needs a way to read the rows again (RowSums::set_stream)");
    const auto s = column_scale.asDiagonal();
    return make_streamed_solver(std::move(stream_), std::move(mean_), column_scale, std::move(root_w_), s * xty_ / n,
                                yy_ / n, rows_, n, std::move(fetched_), std::move(cross_));
  }

 private:
  StreamedSums(const StreamedSums&) = default;
  void add_dense(RowMatrix& x, const RowMatrix& y, const double* w) override {
    // The rows are read again unweighted: keep their weights' roots in reading order (one piece, in order).
    if (w) {
      root_w_.conservativeResize(rows_ + x.rows());
      root_w_.tail(x.rows()) = Eigen::Map<const Vector>(w, x.rows()).cwiseSqrt();
    }
    ShiftedSums::add_dense(x, y, w);
  }
  void subtract_dense(RowMatrix&, const RowMatrix&, const double*) override {
    throw RuntimeFailure("RowSums: the streamed form reads its rows again; none can be removed");
  }
  void add_shifted(const RowMatrix& x, double sign) override {
    x_squares_ += sign * x.colwise().squaredNorm().transpose();
    if (!fetched_.empty()) lapack::add_transpose_product(cross_, x.data(), x.rows(), x(Eigen::all, fetched_), sign);
  }
  void add_shifted_piece(const ShiftedSums& other) override {
    const auto& o = static_cast<const StreamedSums&>(other);
    if (o.fetched_ != fetched_) throw RuntimeFailure("RowSums: only sums of the same fetched columns add");
    x_squares_ += o.x_squares_;
    if (!fetched_.empty()) cross_ += o.cross_;
    if (o.root_w_.size() > 0) {
      root_w_.conservativeResize(root_w_.size() + o.root_w_.size());
      root_w_.tail(o.root_w_.size()) = o.root_w_;
    }
  }
  Vector shifted_squares() const override { return x_squares_; }
  void center_moments(const Vector& x_mean, const Vector& delta, double m) override {
    x_squares_ = squares_about(x_mean);
    mean_ = x_mean;
    // The same move as the Gram's (src/core/forms/shifted_sums.cpp), for its columns F.
    if (!fetched_.empty()) {
      const Vector delta_f = delta(fetched_), sum_f = x_sum_(fetched_);
      cross_.noalias() -= delta * sum_f.transpose() + x_sum_ * delta_f.transpose();
      cross_.noalias() += m * delta * delta_f.transpose();
    }
  }

  Vector x_squares_;                   // raw: of X~; centred: of X_c
  RowStream stream_;
  std::vector<Eigen::Index> fetched_;  // features whose columns come with the sums
  Matrix cross_;                       // X~^T X~_F, centred with the rest
  Vector mean_;                        // centred: the centre applied to the rows read again
  Vector root_w_;                      // sqrt of the rows' weights in reading order; empty: unweighted
};

}  // namespace

std::unique_ptr<Accumulator> make_streamed_sums(Eigen::Index d, Eigen::Index k) {
  return std::make_unique<StreamedSums>(d, k);
}

std::unique_ptr<LocalSolver> make_streamed_solver(RowStream stream, Vector mean, Vector scale, Vector root_weights,
                                                  Matrix q, double yy, std::int64_t rows, double n,
                                                  std::vector<Eigen::Index> fetched, const Matrix& cross) {
  return std::make_unique<StreamedSolver>(std::move(stream), std::move(mean), std::move(scale), std::move(root_weights),
                                          std::move(q), yy, rows, n, fetched, cross);
}

}  // namespace cadmm
