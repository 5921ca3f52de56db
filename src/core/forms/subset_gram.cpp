#include "core/forms/subset_gram.hpp"

#include <algorithm>

#include "cadmm/error.hpp"

namespace cadmm {

using Index = Eigen::Index;

SubsetGramSolver::SubsetGramSolver(Matrix q, double yy, std::int64_t rows)
    : q_(std::move(q)), yy_(yy), rows_(rows), slot_(static_cast<std::size_t>(q_.rows()), -1) {}

void SubsetGramSolver::solve(const Matrix& rhs, double rho, Matrix& x, double tol) const {
  if (!full_) {
    std::vector<Index> all(static_cast<std::size_t>(q_.rows()));
    for (Index j = 0; j < q_.rows(); ++j) all[static_cast<std::size_t>(j)] = j;
    full_ = restricted(all);
    full_->resume_factorizations(full_log_);  // a resumed solve's (none otherwise)
  }
  full_->solve(rhs, rho, x, tol);
}

LocalFit SubsetGramSolver::fit_at(const Matrix& z) const {
  if (z.isZero()) return LocalFit{q_, yy_, yy_};  // known without a product
  std::vector<Index> support;
  for (Index j = 0; j < z.rows(); ++j)
    if (!z.row(j).isZero()) support.push_back(j);
  const std::vector<Index> absent = missing(support);
  if (!bought_ && !absent.empty()) {
    if (rent_ + kPassInColumns < static_cast<double>(absent.size()))
      if (std::optional<LocalFit> f = fit_by_pass(z)) {
        rent_ += kPassInColumns;
        return *f;
      }
    bought_ = true;
  }
  fetch_missing(absent);
  Matrix cz = Matrix::Zero(q_.rows(), q_.cols());  // A^T A z, column by kept column (no copy of C_S)
  for (Index j : support) cz.noalias() += cross_.col(slot_[static_cast<std::size_t>(j)]) * z.row(j);
  LocalFit f;
  f.grad = q_ - cz;
  const double zq = (z.array() * q_.array()).sum();
  f.rss = std::max(0.0, (z.array() * cz.array()).sum() - 2 * zq + yy_);
  f.ry = yy_ - zq;
  return f;
}

Matrix SubsetGramSolver::hessian_block(const std::vector<Index>& features) const {
  return hessian_columns(features, features);
}

Matrix SubsetGramSolver::hessian_columns(const std::vector<Index>& rows, const std::vector<Index>& cols) const {
  // Before the columns are bought, a block of features not all kept comes from the rows' products over them alone.
  if (!bought_ && !missing(cols).empty()) {
    if (rows != cols) return LocalSolver::hessian_columns(rows, cols);  // a slice of the block over both
    if (Matrix h = block_by_rows(cols); h.size() > 0) return h;
  }
  return gather(rows, cols);
}

Matrix SubsetGramSolver::gather(const std::vector<Index>& rows, const std::vector<Index>& cols) const {
  fetch_missing(cols);
  Matrix out(static_cast<Index>(rows.size()), static_cast<Index>(cols.size()));
  for (std::size_t c = 0; c < cols.size(); ++c) {
    const auto column = cross_.col(slot_[static_cast<std::size_t>(cols[c])]);
    for (std::size_t r = 0; r < rows.size(); ++r) out(static_cast<Index>(r), static_cast<Index>(c)) = column(rows[r]);
  }
  return out;
}

void SubsetGramSolver::keep(const std::vector<Index>& features, const Matrix& columns) const {
  const Index add = static_cast<Index>(features.size());
  if (add == 0) return;
  if (kept_ + add > cross_.cols()) {
    // Grown by half again at least: a path adds a few columns per lambda, and copying every kept column each time
    // would cost more than the products (d x |F| doubles, hundreds of MB at d = 20,000).
    Matrix grown(q_.rows(), std::max(kept_ + add, cross_.cols() + cross_.cols() / 2));
    grown.leftCols(kept_) = cross_.leftCols(kept_);
    cross_.swap(grown);
  }
  cross_.middleCols(kept_, add) = columns;
  for (Index i = 0; i < add; ++i) slot_[static_cast<std::size_t>(features[static_cast<std::size_t>(i)])] = kept_ + i;
  kept_ += add;
}

std::vector<Index> SubsetGramSolver::missing(const std::vector<Index>& features) const {
  std::vector<Index> out;
  for (Index j : features)
    if (slot_[static_cast<std::size_t>(j)] < 0) out.push_back(j);
  return out;
}

void SubsetGramSolver::fetch_missing(const std::vector<Index>& features) const {
  const std::vector<Index> absent = missing(features);
  if (absent.empty()) return;
  keep(absent, fetch(absent));
  fetched_.push_back(static_cast<double>(absent.size()));
  fetched_.insert(fetched_.end(), absent.begin(), absent.end());
}

// The log: rent_, bought_, then the batches. A column's bits depend on the product it came from (its batch's size and
// members choose the kernels' blocking), so a replay fetches the same batches in the same order.
std::vector<double> SubsetGramSolver::columns_log() const {
  std::vector<double> log{rent_, bought_ ? 1.0 : 0.0};
  log.insert(log.end(), fetched_.begin(), fetched_.end());
  return log;
}

void SubsetGramSolver::replay_columns(const std::vector<double>& log) const {
  if (log.empty()) return;
  const auto bad = [] { throw DataError("the checkpoint's working-set columns do not fit this data (another version?)"); };
  // The model's own setup may have fetched the first batches already (lambda_max past unpenalized features): the log
  // starts with them.
  if (log.size() < 2 || log.size() - 2 < fetched_.size() || !std::equal(fetched_.begin(), fetched_.end(), log.begin() + 2))
    bad();
  const double d = static_cast<double>(q_.rows());
  for (std::size_t at = 2 + fetched_.size(); at < log.size();) {
    if (!(log[at] >= 1 && log[at] <= d) || log.size() - at - 1 < static_cast<std::size_t>(log[at])) bad();
    const auto count = static_cast<std::size_t>(log[at]);
    std::vector<Index> batch;
    for (std::size_t i = at + 1; i <= at + count; ++i) {
      if (!(log[i] >= 0 && log[i] < d) || slot_[static_cast<std::size_t>(log[i])] >= 0) bad();
      batch.push_back(static_cast<Index>(log[i]));
    }
    fetch_missing(batch);
    at += 1 + count;
  }
  rent_ = log[0];
  bought_ = log[1] != 0;
}

FactorLog SubsetGramSolver::resumable_factorizations(double rho) const {
  return full_ ? full_->resumable_factorizations(rho) : FactorLog{};
}

void SubsetGramSolver::resume_factorizations(const FactorLog& log) const {
  full_log_ = log;
  if (full_) full_->resume_factorizations(log);
}

}  // namespace cadmm
