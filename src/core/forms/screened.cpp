// The screened form (tall dense blocks of an l1-type solve or path whose rows fit): the rows kept
// (src/core/forms/held_rows.hpp), and Grams formed only for the features a working set asks for. In cv every row of
// a rank is kept once (HeldFolds) and each fold's term is a view of them, centred and scaled implicitly.
#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "cadmm/error.hpp"
#include "cadmm/local_solver.hpp"
#include "cadmm/plan.hpp"
#include "core/forms/held_rows.hpp"
#include "core/forms/subset_gram.hpp"
#include "core/lapack.hpp"

namespace cadmm {

namespace {

using Index = Eigen::Index;
using Ranges = std::vector<std::pair<Index, Index>>;  // (first row, count) of row ranges

// At most kBatch columns are gathered at a time, so that the copy of the picked columns stays bounded (a path's first
// set can be thousands of features).
constexpr Index kBatch = 512;

// S_R^T W S_R,cols over the rows R = first .. first + count of S, W the rows' weights (null: none): d x |cols|.
Matrix products(const Matrix& s, const Vector* w, Index first, Index count, const std::vector<Index>& cols) {
  const Index add = static_cast<Index>(cols.size());
  Matrix out(s.cols(), add);
  for (Index c0 = 0; c0 < add; c0 += kBatch) {
    const Index m = std::min(kBatch, add - c0);
    const std::vector<Index> batch(cols.begin() + c0, cols.begin() + c0 + m);
    Matrix picked = s(Eigen::seqN(first, count), batch);
    if (w) picked.array().colwise() *= w->segment(first, count).array();
    out.middleCols(c0, m) = lapack::transpose_times(s.middleRows(first, count), picked);
  }
  return out;
}

}  // namespace

// Every row of a rank kept once for cv's folds (holds_fold_rows in the screened form): S = X - 1 shift^T with the first
// block's mean as shift (so that a view's implicit centring loses nothing to cancellation), y and the weights raw,
// each fold's rows made contiguous once all are in (settle). The columns S^T W S_j over all rows of the features any
// fold asked for are kept while `limit` allows: a fold's own are those less its own rows' product, a tenth of a pass
// over the rows instead of nine tenths, and the refit's cost no pass at all.
class HeldFolds {
 public:
  HeldFolds(Index rows, Index d, Index k, int pieces)
      : x_(rows, d), y_(rows, k), piece_(static_cast<std::size_t>(rows)), pieces_(pieces),
        slot_(static_cast<std::size_t>(d), -1), limit_(d) {
    advise_huge_pages(x_);
  }
  void set_shift(const Vector& shift) {
    if (shift_.size() == 0) shift_ = shift;
  }
  void set_cache_limit(Index columns) { limit_ = std::max<Index>(0, columns); }
  void append(int piece, const RowMatrix& x, const RowMatrix& y, const double* w) {
    const Index m = x.rows();
    if (shift_.size() == 0) shift_ = Vector::Zero(x_.cols());
    if (filled_ + m > x_.rows()) throw RuntimeFailure("held fold rows: more rows than the builder declared");
    x_.middleRows(filled_, m) = x.rowwise() - shift_.transpose();
    y_.middleRows(filled_, m) = y;
    if (w) {
      if (w_.size() == 0) w_.resize(x_.rows());
      w_.segment(filled_, m) = Eigen::Map<const Vector>(w, m);
    }
    std::fill_n(piece_.begin() + filled_, m, piece);
    filled_ += m;
  }

  const Matrix& x() const { return settle(), x_; }
  const Matrix& y() const { return settle(), y_; }
  const Vector* w() const { return settle(), w_.size() ? &w_ : nullptr; }
  const Vector& shift() const { return shift_; }
  // Piece p's rows.
  Ranges piece_rows(int p) const {
    settle();
    return nonempty({{start_[static_cast<std::size_t>(p)], start_[static_cast<std::size_t>(p) + 1] - start_[static_cast<std::size_t>(p)]}});
  }
  // Every row but piece p's (p < 0: every row).
  Ranges rows_but(int p) const {
    settle();
    if (p < 0) return nonempty({{0, filled_}});
    const Index a = start_[static_cast<std::size_t>(p)], b = start_[static_cast<std::size_t>(p) + 1];
    return nonempty({{0, a}, {b, filled_ - b}});
  }

  // True when every feature of `cols` is kept or there is room to keep it.
  bool can_keep(const std::vector<Index>& cols) const {
    Index absent = 0;
    for (Index j : cols) absent += slot_[static_cast<std::size_t>(j)] < 0;
    return kept_ + absent <= limit_;
  }
  // S^T W S_cols over every row (d x |cols|): the kept columns, the others computed (and kept while there is room).
  Matrix all_rows_columns(const std::vector<Index>& cols) const {
    settle();
    std::vector<Index> absent;
    for (Index j : cols)
      if (slot_[static_cast<std::size_t>(j)] < 0) absent.push_back(j);
    const Matrix fresh = absent.empty() ? Matrix() : products(x_, w(), 0, filled_, absent);
    Matrix out(x_.cols(), static_cast<Index>(cols.size()));
    for (std::size_t c = 0, a = 0; c < cols.size(); ++c) {
      const Index at = slot_[static_cast<std::size_t>(cols[c])];
      if (at >= 0)
        out.col(static_cast<Index>(c)) = cache_.col(at);
      else
        out.col(static_cast<Index>(c)) = fresh.col(static_cast<Index>(a++));
    }
    const Index keep = std::min(limit_ - kept_, static_cast<Index>(absent.size()));
    if (keep > 0) {
      // Its whole room at once (what the plan counts): growing it would hold the old and the new copy together.
      if (cache_.cols() < limit_) cache_.resize(x_.cols(), limit_);
      cache_.middleCols(kept_, keep) = fresh.leftCols(keep);
      for (Index i = 0; i < keep; ++i) slot_[static_cast<std::size_t>(absent[static_cast<std::size_t>(i)])] = kept_ + i;
      kept_ += keep;
    }
    return out;
  }

 private:
  static Ranges nonempty(Ranges r) {
    r.erase(std::remove_if(r.begin(), r.end(), [](const auto& p) { return p.second <= 0; }), r.end());
    return r;
  }
  // Orders the rows by piece (stable), once, after the last row: one pass, column by column.
  void settle() const {
    if (settled_) return;
    settled_ = true;
    if (filled_ < x_.rows()) {
      x_.conservativeResize(filled_, Eigen::NoChange);
      y_.conservativeResize(filled_, Eigen::NoChange);
      if (w_.size()) w_.conservativeResize(filled_);
    }
    start_.assign(static_cast<std::size_t>(pieces_) + 1, 0);
    for (Index i = 0; i < filled_; ++i) ++start_[static_cast<std::size_t>(piece_[static_cast<std::size_t>(i)]) + 1];
    for (int p = 0; p < pieces_; ++p) start_[static_cast<std::size_t>(p) + 1] += start_[static_cast<std::size_t>(p)];
    std::vector<Index> order(static_cast<std::size_t>(filled_)), next(start_.begin(), start_.end() - 1);
    for (Index i = 0; i < filled_; ++i) order[static_cast<std::size_t>(next[static_cast<std::size_t>(piece_[static_cast<std::size_t>(i)])]++)] = i;
    Vector column(filled_);
    const auto permute = [&](auto&& col) {
      for (Index i = 0; i < filled_; ++i) column[i] = col[order[static_cast<std::size_t>(i)]];
      col = column;
    };
    for (Index j = 0; j < x_.cols(); ++j) permute(x_.col(j));
    for (Index j = 0; j < y_.cols(); ++j) permute(y_.col(j));
    if (w_.size()) permute(w_);
    piece_.clear();
    piece_.shrink_to_fit();
  }

  // Filled as rows come, ordered by settle() on the first read.
  mutable Matrix x_, y_;
  mutable Vector w_;
  mutable std::vector<int> piece_;
  mutable std::vector<Index> start_;
  mutable bool settled_ = false;
  Vector shift_;
  Index filled_ = 0;
  int pieces_;
  // The kept all-row columns.
  mutable std::vector<Index> slot_;
  mutable Matrix cache_;
  mutable Index kept_ = 0;
  Index limit_;
};

namespace {

// A = R (S_T - 1 delta^T) G: the rows T of S (ranges, in order), R the square roots of their weights, delta the centre
// less S's shift, G the columns' scale (with 1 / sqrt(n)). A single fit holds its rows centred and scaled in
// place: S = A, and R, delta and G are empty (the products are S's own).
struct RowView {
  std::shared_ptr<const Matrix> s;
  Ranges ranges;
  Vector rho;                               // R's diagonal over A's rows (empty: 1)
  Vector delta;                             // empty: 0
  Vector g;                                 // empty: 1
  Vector u;                                 // with delta: sum over T of w_i S_i (d)
  double wsum = 0;                          // with delta: sum over T of w_i
  std::shared_ptr<const HeldFolds> store;   // the all-row columns (null: none); with it
  Ranges own;                               // the rows of S not in T whose products it subtracts
};

// A^T r (r: A's rows x k).
Matrix at_times(const RowView& v, const Matrix& r) {
  Matrix weighted;
  if (v.rho.size()) weighted = r.array().colwise() * v.rho.array();
  const Matrix& x = v.rho.size() ? weighted : r;
  Matrix out = Matrix::Zero(v.s->cols(), r.cols());
  Index at = 0;
  for (const auto& [first, count] : v.ranges) {
    out += lapack::transpose_times(v.s->middleRows(first, count), x.middleRows(at, count));
    at += count;
  }
  if (v.delta.size()) out -= v.delta * x.colwise().sum();
  if (v.g.size()) out = v.g.asDiagonal() * out;
  return out;
}

// The rows' products over F x G, made A's: H - u_F delta_G^T - delta_F u_G^T + wsum delta_F delta_G^T, scaled by G.
void make_centred(const RowView& v, Matrix& h, const std::vector<Index>* rows, const std::vector<Index>& cols) {
  if (v.delta.size()) {
    const Vector du = rows ? Vector(v.delta(*rows)) : v.delta, uu = rows ? Vector(v.u(*rows)) : v.u;
    const Vector dc = v.delta(cols), uc = v.u(cols);
    h -= uu * dc.transpose() + du * (uc - v.wsum * dc).transpose();
  }
  if (v.g.size()) h = (rows ? Vector(v.g(*rows)) : v.g).asDiagonal() * h * v.g(cols).asDiagonal();
}

// The rows themselves, column-major: a block of a few features costs their products alone (rows |F|^2 flops) and a
// gradient one pass; once passes have cost as much, the columns of the features asked for (rows d |F| flops) are
// kept and a gradient needs no pass (SubsetGramSolver).
class ScreenedSolver final : public SubsetGramSolver {
 public:
  ScreenedSolver(RowView v, Matrix c)
      : SubsetGramSolver(at_times(v, c), c.squaredNorm(), c.rows()), v_(std::move(v)), c_(std::move(c)) {}

 private:
  // A bounded fit's coordinate descent (working_set_solve) takes the columns of rows few enough (dense_descent), their
  // values centred here: A_j = g_j R (S_T,j - delta_j 1). (delta is this rank's: the centre less its rows' own shift,
  // so it cannot be the one offset per feature that coordinate descent applies over every rank's rows.)
  bool sparse_columns(const std::vector<Index>& features, LocalColumns& out) const override {
    if (!dense_descent(c_.rows(), v_.s->cols())) return false;
    out = LocalColumns{};
    const std::size_t m = features.size();
    if (m == 0) return true;  // the question whether this form gives columns
    out.offset = Vector::Zero(static_cast<Index>(m));
    out.start.assign(m + 1, 0);
    out.row.reserve(m * static_cast<std::size_t>(c_.rows()));
    out.value.reserve(out.row.capacity());
    for (std::size_t c = 0; c < m; ++c) {
      const Index j = features[c];
      const double g = v_.g.size() ? v_.g[j] : 1.0, centre = v_.delta.size() ? v_.delta[j] : 0.0;
      Index at = 0;
      for (const auto& [first, count] : v_.ranges) {
        const auto column = v_.s->col(j).segment(first, count);
        for (Index i = 0; i < count; ++i) {
          const double value = g * (v_.rho.size() ? v_.rho[at + i] : 1.0) * (column[i] - centre);
          if (value == 0) continue;
          out.row.push_back(at + i);
          out.value.push_back(value);
        }
        at += count;
      }
      out.start[c + 1] = static_cast<std::int64_t>(out.row.size());
    }
    return true;
  }
  Vector centring_direction() const override { return v_.rho.size() ? v_.rho : Vector::Ones(c_.rows()); }

  Matrix residual(const Matrix& z) const override {
    const Matrix t = v_.g.size() ? Matrix(v_.g.asDiagonal() * z) : z;
    Matrix r = c_;
    Index at = 0;
    for (const auto& [first, count] : v_.ranges) {
      auto part = r.middleRows(at, count);
      for (Index j = 0; j < t.rows(); ++j) {  // z is sparse: only its nonzero rows cost a pass
        if (t.row(j).isZero()) continue;
        const auto column = v_.s->col(j).segment(first, count);
        if (v_.rho.size())
          part.noalias() -= column.cwiseProduct(v_.rho.segment(at, count)) * t.row(j);
        else
          part.noalias() -= column * t.row(j);
      }
      at += count;
    }
    if (v_.delta.size()) {  // A z's centring part, R 1 delta^T t
      const Eigen::RowVectorXd shift = v_.delta.transpose() * t;
      if (v_.rho.size())
        r.noalias() += v_.rho * shift;
      else
        r.rowwise() += shift;
    }
    return r;
  }

  std::optional<LocalFit> fit_by_pass(const Matrix& z) const override {
    const Matrix r = residual(z);
    LocalFit f;
    f.grad = at_times(v_, r);
    f.rss = r.squaredNorm();
    f.ry = (r.array() * c_.array()).sum();
    return f;
  }

  Matrix block_by_rows(const std::vector<Index>& features) const override {
    // Gathered a bounded block of rows at a time (about 32 MB), so a large subset never copies the rows whole.
    const Index m = static_cast<Index>(features.size());
    Matrix h = Matrix::Zero(m, m);
    if (m == 0) return h;
    const Index step = std::max<Index>(256, (Index{1} << 22) / m);
    Matrix block;
    Index at = 0;
    for (const auto& [first, count] : v_.ranges) {
      for (Index r0 = 0; r0 < count; r0 += step) {
        const Index rows = std::min(step, count - r0);
        block = (*v_.s)(Eigen::seqN(first + r0, rows), features);
        if (v_.rho.size()) block.array().colwise() *= v_.rho.segment(at + r0, rows).array();
        lapack::add_gram_upper_cols(h, block);
      }
      at += count;
    }
    lapack::symmetrize_from_upper(h);
    make_centred(v_, h, &features, features);
    return h;
  }

  Matrix fetch(const std::vector<Index>& missing) const override {
    const Index d = v_.s->cols(), add = static_cast<Index>(missing.size());
    if (add == d) return block_by_rows(missing);  // every feature: the full Gram by the symmetric product
    Matrix out;
    if (v_.store && v_.store->can_keep(missing)) {  // every row's kept columns less those of the rows outside A
      out = v_.store->all_rows_columns(missing);
      for (const auto& [first, count] : v_.own) out -= products(*v_.s, v_.store->w(), first, count, missing);
    } else {  // over A's rows alone (columns the store has no room for are cheaper so than over every row)
      const Vector* w = v_.store ? v_.store->w() : nullptr;
      for (const auto& [first, count] : v_.ranges) {
        Matrix part = products(*v_.s, w, first, count, missing);
        if (out.size() == 0)
          out = std::move(part);
        else
          out += part;
      }
      if (out.size() == 0) out = Matrix::Zero(d, add);
    }
    make_centred(v_, out, nullptr, missing);
    return out;
  }

  RowView v_;
  Matrix c_;
};

// Piece p of the held rows, to which its rows are added, or a view of every row but piece p's (p < 0: every row).
class FoldRows final : public Accumulator {
 public:
  FoldRows(std::shared_ptr<HeldFolds> store, Index d, Index k, int piece, bool view)
      : Accumulator(d, k, LocalForm::screened), store_(std::move(store)), piece_(piece), view_(view) {}
  std::unique_ptr<Accumulator> clone() const override { return std::unique_ptr<Accumulator>(new FoldRows(*this)); }
  std::unique_ptr<Accumulator> empty_like() const override {
    throw RuntimeFailure("held fold rows: a fold's rows are views of the rows held once; they do not add");
  }
  std::unique_ptr<Accumulator> training_view(int except) const override {
    auto v = std::unique_ptr<FoldRows>(new FoldRows(store_, d_, k_, except, true));
    const Vector* w = store_->w();
    for (const auto& [first, count] : v->ranges()) {
      v->rows_ += count;
      v->weight_ += w ? w->segment(first, count).sum() : static_cast<double>(count);
    }
    v->weighted_ = w != nullptr;
    return v;
  }
  bool shifted() const override { return true; }
  void set_shift(const Vector& x_shift, const Vector&) override { store_->set_shift(x_shift); }

  Vector sums() const override {
    Vector s = Vector::Zero(d_ + k_);
    const Vector* w = store_->w();
    for (const auto& [first, count] : ranges()) {
      const auto x = store_->x().middleRows(first, count);
      const auto y = store_->y().middleRows(first, count);
      if (w) {
        s.head(d_) += x.transpose() * w->segment(first, count);
        s.tail(k_) += y.transpose() * w->segment(first, count);
      } else {
        s.head(d_) += x.colwise().sum().transpose();
        s.tail(k_) += y.colwise().sum().transpose();
      }
    }
    s.head(d_) += weight_ * store_->shift();
    return s;
  }
  Vector squares_about(const Vector& center) const override {
    const Vector e = center - store_->shift();
    const Vector* w = store_->w();
    Vector out = Vector::Zero(d_);
    for (const auto& [first, count] : ranges())
      for (Index j = 0; j < d_; ++j) {
        const auto dev = store_->x().col(j).segment(first, count).array() - e[j];
        out[j] += w ? (dev.square() * w->segment(first, count).array()).sum() : dev.square().sum();
      }
    return out;
  }
  Vector squared_errors(const Matrix& coef, const Vector& intercept) const override {
    const Index cols = coef.cols();
    const Vector* w = store_->w();
    const Vector base = coef.transpose() * store_->shift() + intercept;  // x^T W + b = S^T W + (shift^T W + b)
    Vector per_column = Vector::Zero(cols);
    for (const auto& [first, count] : ranges()) {
      const Matrix p = store_->x().middleRows(first, count) * coef;
      for (Index c = 0; c < cols; ++c) {
        const auto e = store_->y().col(c % k_).segment(first, count).array() - p.col(c).array() - base[c];
        per_column[c] += w ? (e.square() * w->segment(first, count).array()).sum() : e.square().sum();
      }
    }
    return per_model(per_column);
  }
  void center(const Vector& x_mean, const Vector& y_mean) override { x_mean_ = x_mean, y_mean_ = y_mean; }
  Matrix xty() const override {
    const Vector* w = store_->w();
    Matrix out = Matrix::Zero(d_, k_);
    Eigen::RowVectorXd total = Eigen::RowVectorXd::Zero(k_);
    for (const auto& [first, count] : ranges()) {
      Matrix yc = store_->y().middleRows(first, count).rowwise() - y_mean_.transpose();
      if (w) yc.array().colwise() *= w->segment(first, count).array();
      out += store_->x().middleRows(first, count).transpose() * yc;
      total += yc.colwise().sum();
    }
    return out - (x_mean_ - store_->shift()) * total;
  }
  Vector column_squares() const override { return squares_about(x_mean_); }
  double y_squares() const override {
    const Vector* w = store_->w();
    double out = 0;
    for (const auto& [first, count] : ranges()) {
      const Matrix yc = store_->y().middleRows(first, count).rowwise() - y_mean_.transpose();
      out += w ? (yc.rowwise().squaredNorm().array() * w->segment(first, count).array()).sum() : yc.squaredNorm();
    }
    return out;
  }
  std::unique_ptr<LocalSolver> factor(const Vector& column_scale, double n) override {
    if (!view_) throw RuntimeFailure("held fold rows: a fold's own rows are not a training set");
    RowView v;
    v.s = std::shared_ptr<const Matrix>(store_, &store_->x());
    v.ranges = ranges();
    const Vector* w = store_->w();
    const double f = 1.0 / std::sqrt(n);
    Matrix c(rows_, k_);
    v.u = Vector::Zero(d_);
    Index at = 0;
    for (const auto& [first, count] : v.ranges) {
      c.middleRows(at, count) = (store_->y().middleRows(first, count).rowwise() - y_mean_.transpose()) * f;
      v.u += w ? Vector(store_->x().middleRows(first, count).transpose() * w->segment(first, count))
               : Vector(store_->x().middleRows(first, count).colwise().sum().transpose());
      at += count;
    }
    if (w) {
      v.rho.resize(rows_);
      at = 0;
      for (const auto& [first, count] : v.ranges) v.rho.segment(at, count) = w->segment(first, count).cwiseSqrt(), at += count;
      c.array().colwise() *= v.rho.array();
    }
    v.delta = x_mean_ - store_->shift();
    v.wsum = weight_;
    v.g = column_scale * f;
    v.store = store_;
    if (piece_ >= 0) v.own = store_->piece_rows(piece_);
    return std::make_unique<ScreenedSolver>(std::move(v), std::move(c));
  }

 private:
  FoldRows(const FoldRows&) = default;
  void add_dense(RowMatrix& x, const RowMatrix& y, const double* w) override {
    if (view_) throw RuntimeFailure("held fold rows: rows are added to a piece, not to a view");
    store_->append(piece_, x, y, w);
  }
  void add_piece(const Accumulator&) override {
    throw RuntimeFailure("held fold rows: a fold's rows are views of the rows held once; they do not add");
  }
  Ranges ranges() const { return view_ ? store_->rows_but(piece_) : store_->piece_rows(piece_); }

  std::shared_ptr<HeldFolds> store_;
  int piece_;
  bool view_;
  Vector x_mean_, y_mean_;
};

}  // namespace

std::unique_ptr<LocalSolver> make_screened_solver(Matrix a, Matrix c) {
  RowView v;
  v.ranges = {{0, a.rows()}};
  v.s = std::make_shared<const Matrix>(std::move(a));
  return std::make_unique<ScreenedSolver>(std::move(v), std::move(c));
}

std::vector<std::unique_ptr<Accumulator>> make_held_folds(std::int64_t rows, Index d, Index k, int pieces,
                                                          double cache_bytes) {
  auto store = std::make_shared<HeldFolds>(static_cast<Index>(rows), d, k, pieces);
  if (cache_bytes >= 0) store->set_cache_limit(static_cast<Index>(cache_bytes / (8.0 * static_cast<double>(std::max<Index>(1, d)))));
  std::vector<std::unique_ptr<Accumulator>> out;
  for (int p = 0; p < pieces; ++p) out.push_back(std::make_unique<FoldRows>(store, d, k, p, false));
  return out;
}

}  // namespace cadmm
