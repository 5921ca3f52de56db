// RowSums and CenteredBlock over the plan's accumulator (src/core/forms/), and the builder that fills them in one
// pass (include/cadmm/data.hpp).
#include "cadmm/error.hpp"
#include "cadmm/data.hpp"
#include "core/forms/accumulator.hpp"

namespace cadmm {

CenteredBlock::CenteredBlock() = default;
CenteredBlock::~CenteredBlock() = default;
CenteredBlock::CenteredBlock(CenteredBlock&&) noexcept = default;
CenteredBlock& CenteredBlock::operator=(CenteredBlock&&) noexcept = default;
std::unique_ptr<LocalSolver> CenteredBlock::factor(const Vector& column_scale, double n) && {
  return acc_->factor(column_scale, n);
}
Matrix CenteredBlock::xty() const { return acc_->xty(); }
Vector CenteredBlock::column_squares() const { return acc_->column_squares(); }
double CenteredBlock::y_squares() const { return acc_->y_squares(); }
std::int64_t CenteredBlock::rows() const { return acc_->rows(); }
LocalForm CenteredBlock::form() const { return acc_->form(); }

RowSums::RowSums() = default;
RowSums::~RowSums() = default;
RowSums::RowSums(const RowSums& o) : acc_(o.acc_ ? o.acc_->clone() : nullptr), projections_(o.projections_) {}
RowSums& RowSums::operator=(const RowSums& o) {
  acc_ = o.acc_ ? o.acc_->clone() : nullptr;
  projections_ = o.projections_;
  return *this;
}
RowSums::RowSums(RowSums&&) noexcept = default;
RowSums& RowSums::operator=(RowSums&&) noexcept = default;
RowSums::RowSums(std::unique_ptr<Accumulator> acc) : acc_(std::move(acc)) {}
RowSums::RowSums(Eigen::Index d, Eigen::Index k, LocalForm form, bool single)
    : acc_(make_accumulator(form, d, k, single)) {}

void RowSums::add_rows(RowMatrix& x, const RowMatrix& y, const double* w) { acc_->add_rows(x, y, w); }
void RowSums::add_rows(const SparseRows& x, const RowMatrix& y, const double* w) { acc_->add_rows(x, y, w); }
RowSums& RowSums::operator+=(const RowSums& other) {
  acc_->add(*other.acc_);
  projections_ += other.projections_;
  return *this;
}

ColumnProjections& ColumnProjections::operator+=(const ColumnProjections& o) {
  if (o.empty()) return *this;
  if (empty()) return *this = o;
  if (o.shift != shift) throw RuntimeFailure("RowSums: only projections of the same rank (same shift) add");
  x += o.x, w += o.w, w2 += o.w2;
  return *this;
}
std::int64_t RowSums::rows() const { return acc_->rows(); }
double RowSums::weight() const { return acc_->weight(); }
Eigen::Index RowSums::features() const { return acc_->features(); }
Eigen::Index RowSums::targets() const { return acc_->targets(); }
LocalForm RowSums::form() const { return acc_->form(); }
Vector RowSums::sums() const { return acc_->sums(); }
Vector RowSums::squares_about(const Vector& center) const { return acc_->squares_about(center); }
Vector RowSums::squared_errors(const Matrix& coef, const Vector& intercept) const {
  return acc_->squared_errors(coef, intercept);
}
CenteredBlock RowSums::center(const Vector& x_mean, const Vector& y_mean) && {
  acc_->center(x_mean, y_mean);
  CenteredBlock c;
  c.acc_ = std::move(acc_);
  return c;
}
void RowSums::reserve(std::int64_t rows) { acc_->reserve(rows); }
void RowSums::set_stream(RowStream stream) { acc_->set_stream(std::move(stream)); }
void RowSums::fetch_with_sums(std::vector<Eigen::Index> features) { acc_->fetch_with_sums(std::move(features)); }

LocalDataBuilder::LocalDataBuilder(std::int64_t local_rows, Eigen::Index d, Eigen::Index k, int pieces,
                                   std::optional<LocalForm> form, bool single, bool fold_rows, double fold_cache_bytes)
    : expected_(local_rows), d_(d), k_(k),
      form_(form_for_rows(form ? *form : plan_local_form(local_rows, d, false, std::nullopt), local_rows)),
      single_(single) {
  if (pieces < 1) throw RuntimeFailure("LocalDataBuilder: at least one piece");
  // Held rows: each piece's rows kept as the dense rows forms keep them (its form never factors), beside the sums of
  // all rows in the planned form.
  const bool hold = fold_rows && pieces > 1;
  pieces_.reserve(static_cast<std::size_t>(pieces));
  // The screened form holds every row once, each piece's a view of them (make_held_folds).
  held_once_ = hold && form_ == LocalForm::screened;
  if (held_once_) {
    for (auto& piece : make_held_folds(local_rows, d, k, pieces, fold_cache_bytes)) pieces_.push_back(RowSums(std::move(piece)));
    return;
  }
  if (hold) all_ = RowSums(d, k, form_, single_);
  // Each piece made on its own: copies of one prototype would cost a d x d Gram more (allocated and written).
  for (int p = 0; p < pieces; ++p) pieces_.emplace_back(d, k, hold ? LocalForm::woodbury : form_, single_);
  if (pieces == 1) pieces_[0].reserve(local_rows);
}

void LocalDataBuilder::reserve_piece(int p, std::int64_t rows) {
  if (all_.acc_) pieces_[static_cast<std::size_t>(p)].reserve(rows);
}

void LocalDataBuilder::fetch_with_sums(const std::vector<Eigen::Index>& features) {
  for (RowSums& p : pieces_) p.fetch_with_sums(features);
}

bool LocalDataBuilder::shifted() const { return (all_.acc_ ? all_ : pieces_[0]).acc_->shifted(); }

void LocalDataBuilder::fix_shift(const Vector& x_shift, const RowMatrix& y) {
  // The first block's mean is a per-rank guess of the global mean; every piece shares it so pieces add.
  const Vector ys = y.colwise().mean().transpose();
  for (RowSums& p : pieces_) p.acc_->set_shift(x_shift, ys);
  if (all_.acc_) all_.acc_->set_shift(x_shift, ys);
}

void LocalDataBuilder::check_block(Eigen::Index rows, Eigen::Index cols, const RowMatrix& y) const {
  if (added_ + rows > expected_ || cols != d_ || y.cols() != k_ || y.rows() != rows)
    throw RuntimeFailure("LocalDataBuilder: block shape does not match the declared local rows");
}

void LocalDataBuilder::add_rows(RowMatrix& x, const RowMatrix& y) { add_rows(x, y, nullptr); }

void LocalDataBuilder::add_rows(RowMatrix& x, const RowMatrix& y, const int* piece_of_row, const double* w) {
  const Eigen::Index m = x.rows();
  if (m == 0) return;
  check_block(m, x.cols(), y);
  if (added_ == 0) {
    // The first block's column means: the Gram sums' shift, and the projections' (which keep their digits where a
    // column's mean is large against its spread: a shift found by the centring alone would cancel them).
    const Vector means = x.colwise().mean().transpose();
    if (shifted()) fix_shift(means, y);
    if (first_row_ >= 0)
      for (RowSums& p : pieces_) p.projections_.shift = means;
  }
  project(x, piece_of_row, w);
  if (!piece_of_row || pieces_.size() == 1) {
    pieces_[0].add_rows(x, y, w);
  } else {
    // Gather each piece's rows into one reused buffer so the Gram update stays one dsyrk per piece.
    for (int p = 0; p < pieces(); ++p) {
      Eigen::Index count = 0;
      for (Eigen::Index i = 0; i < m; ++i) count += piece_of_row[i] == p;
      if (count == 0) continue;
      scratch_x_.resize(count, d_);
      scratch_y_.resize(count, k_);
      scratch_w_.clear();
      for (Eigen::Index i = 0, at = 0; i < m; ++i)
        if (piece_of_row[i] == p) {
          scratch_x_.row(at) = x.row(i);
          scratch_y_.row(at++) = y.row(i);
          if (w) scratch_w_.push_back(w[i]);
        }
      pieces_[static_cast<std::size_t>(p)].add_rows(scratch_x_, scratch_y_, w ? scratch_w_.data() : nullptr);
    }
  }
  if (all_.acc_) all_.add_rows(x, y, w);  // after the pieces copied the rows: the sums shift x in place
  added_ += m;
}

void LocalDataBuilder::add_rows(const SparseRows& x, const RowMatrix& y, const int* piece_of_row, const double* w) {
  const Eigen::Index m = x.rows();
  if (m == 0) return;
  check_block(m, x.cols(), y);
  if (added_ == 0 && shifted()) fix_shift(Vector::Zero(d_), y);
  project(x, piece_of_row, w);
  if (!piece_of_row || pieces_.size() == 1) {
    pieces_[0].add_rows(x, y, w);
  } else {
    for (int p = 0; p < pieces(); ++p) {
      std::vector<Eigen::Index> rows;
      for (Eigen::Index i = 0; i < m; ++i)
        if (piece_of_row[i] == p) rows.push_back(i);
      if (rows.empty()) continue;
      SparseRows part(static_cast<Eigen::Index>(rows.size()), d_);
      scratch_w_.clear();
      std::vector<Eigen::Triplet<double, std::int64_t>> entries;
      RowMatrix part_y(static_cast<Eigen::Index>(rows.size()), k_);
      for (std::size_t r = 0; r < rows.size(); ++r) {
        for (SparseRows::InnerIterator a(x, rows[r]); a; ++a)
          entries.emplace_back(static_cast<std::int64_t>(r), a.col(), a.value());
        part_y.row(static_cast<Eigen::Index>(r)) = y.row(rows[r]);
        if (w) scratch_w_.push_back(w[rows[r]]);
      }
      part.setFromTriplets(entries.begin(), entries.end());
      pieces_[static_cast<std::size_t>(p)].add_rows(part, part_y, w ? scratch_w_.data() : nullptr);
    }
  }
  if (all_.acc_) all_.add_rows(x, y, w);
  added_ += m;
}

namespace {

// Row label a (0 or 1) of the row with global index g: splitmix64 of (g, a), uniform in [-1, 1).
double row_label(std::int64_t g, int a) {
  std::uint64_t z = static_cast<std::uint64_t>(g) * 2 + static_cast<std::uint64_t>(a) + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-52 - 1.0;
}

}  // namespace

void LocalDataBuilder::keep_projections(std::int64_t first_row) {
  if (added_ > 0) throw RuntimeFailure("LocalDataBuilder: projections are kept from the first row on");
  first_row_ = first_row;
  for (RowSums& p : pieces_)
    p.projections_ = ColumnProjections{Matrix::Zero(d_, 2), Vector::Zero(2), Vector::Zero(2), Vector::Zero(d_)};
}

ColumnProjections& LocalDataBuilder::projections_of(const int* piece_of_row, Eigen::Index i) {
  return pieces_[!piece_of_row || pieces_.size() == 1 ? 0 : static_cast<std::size_t>(piece_of_row[i])].projections_;
}

// Each row's labels times its weight, a, into its piece's sums; then f(row, piece's projections, a) adds its
// values.
template <typename F>
void LocalDataBuilder::each_label(Eigen::Index rows, const int* piece_of_row, const double* w, F&& f) {
  for (Eigen::Index i = 0; i < rows; ++i) {
    ColumnProjections& p = projections_of(piece_of_row, i);
    Eigen::Vector2d a;
    for (int l = 0; l < 2; ++l) {
      const double u = row_label(first_row_ + added_ + i, l);
      a[l] = (w ? w[i] : 1.0) * u;
      p.w[l] += a[l];
      p.w2[l] += a[l] * u;
    }
    f(i, p, a);
  }
}

void LocalDataBuilder::project(const RowMatrix& x, const int* piece_of_row, const double* w) {
  if (first_row_ < 0) return;  // about the first block's column means, which the pieces share (add_rows)
  each_label(x.rows(), piece_of_row, w, [&](Eigen::Index i, ColumnProjections& p, const Eigen::Vector2d& a) {
    for (int l = 0; l < 2; ++l) p.x.col(l) += a[l] * (x.row(i).transpose() - p.shift);
  });
}

void LocalDataBuilder::project(const SparseRows& x, const int* piece_of_row, const double* w) {
  if (first_row_ < 0) return;  // CSR: about 0 (the shift stays zero), as its sums are
  each_label(x.rows(), piece_of_row, w, [&](Eigen::Index i, ColumnProjections& p, const Eigen::Vector2d& a) {
    for (SparseRows::InnerIterator e(x, i); e; ++e) p.x.row(e.col()) += e.value() * a.transpose();
  });
}

ColumnProjections LocalDataBuilder::projections_without(int except) const {
  ColumnProjections t;
  for (int p = 0; p < pieces(); ++p)
    if (p != except) t += pieces_[static_cast<std::size_t>(p)].projections_;
  return t;
}

RowSums LocalDataBuilder::total(int except) const {
  if (held_once_) {
    RowSums t(pieces_[0].acc_->training_view(except));
    t.projections_ = projections_without(except);
    return t;
  }
  if (all_.acc_) {
    // Piece `except`'s training sums: every row's sums less its own rows' (one dsyrk over them, in whole blocks).
    RowSums t(all_);
    if (except >= 0) pieces_[static_cast<std::size_t>(except)].acc_->remove_from(*t.acc_);
    t.projections_ = projections_without(except);
    return t;
  }
  RowSums t(pieces_[0].acc_->empty_like());
  for (int p = 0; p < pieces(); ++p)
    if (p != except) t += pieces_[static_cast<std::size_t>(p)];
  return t;
}

RowSums LocalDataBuilder::take() && {
  if (pieces_.size() != 1) return total();
  return std::move(pieces_[0]);
}

}  // namespace cadmm
