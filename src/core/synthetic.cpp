#include "cadmm/synthetic.hpp"

#include <algorithm>
#include <cmath>

#include "core/hash.hpp"

namespace cadmm {

namespace {


// A counter-based stream: one independent uniform in (0, 1) per (seed, stream, i, j).
double uniform(std::uint64_t seed, std::uint64_t stream, std::uint64_t i, std::uint64_t j) {
  const std::uint64_t h = mix64(mix64(mix64(mix64(seed) ^ stream) ^ i) ^ j);
  return (static_cast<double>(h >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

double normal(std::uint64_t seed, std::uint64_t stream, std::uint64_t i, std::uint64_t j) {
  const double u1 = uniform(seed, stream, i, 2 * j), u2 = uniform(seed, stream, i, 2 * j + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

enum Stream : std::uint64_t { kX = 1, kNoise = 2, kTruth = 3, kColumns = 4, kCount = 5 };

}  // namespace

Matrix synthetic_truth(const SyntheticSpec& spec) {
  Matrix w = Matrix::Zero(spec.features, spec.targets);
  const std::int64_t nonzero = spec.features / 10 + 1;
  const std::int64_t step = std::max<std::int64_t>(1, spec.features / nonzero);
  for (std::int64_t j = 0; j < spec.features; j += step)
    for (std::int64_t t = 0; t < spec.targets; ++t) {
      const double sign = uniform(spec.seed, kTruth, j, 2 * t) < 0.5 ? -1.0 : 1.0;
      w(j, t) = sign * (0.5 + 1.5 * uniform(spec.seed, kTruth, j, 2 * t + 1));
    }
  return w;
}

void synthetic_rows(const SyntheticSpec& spec, const Matrix& truth, std::int64_t first, RowMatrix& x, RowMatrix& y) {
  const double c = spec.correlation, s = std::sqrt(1 - c * c);
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    const std::uint64_t i = static_cast<std::uint64_t>(first + r);
    double prev = 0;
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
      const double e = normal(spec.seed, kX, i, static_cast<std::uint64_t>(j));
      prev = j == 0 ? e : c * prev + s * e;  // AR(1): corr(x_j, x_l) = c^|j-l|, unit variance
      x(r, j) = prev;
    }
    // A plain loop in feature order: a blocked matrix product would sum in an order that depends on where this
    // rank's block starts, and the file would differ in last bits between rank counts.
    for (Eigen::Index t = 0; t < y.cols(); ++t) {
      double signal = 0;
      for (Eigen::Index j = 0; j < x.cols(); ++j) signal += x(r, j) * truth(j, t);
      y(r, t) = signal + spec.intercept + spec.noise * normal(spec.seed, kNoise, i, static_cast<std::uint64_t>(t));
    }
  }
}

std::int64_t synthetic_row_nnz(const SyntheticSpec& spec, std::int64_t row) {
  if (spec.nnz_per_row > 0) return std::min(spec.nnz_per_row, spec.features);
  const double expected = spec.density * static_cast<double>(spec.features);
  const double whole = std::floor(expected);
  const bool extra = uniform(spec.seed, kCount, static_cast<std::uint64_t>(row), 0) < expected - whole;
  return std::min(spec.features, static_cast<std::int64_t>(whole) + (extra ? 1 : 0));
}

void synthetic_sparse_row(const SyntheticSpec& spec, const Matrix& truth, std::int64_t row, std::vector<std::int64_t>& cols,
                          std::vector<double>& vals, double* y) {
  const std::uint64_t i = static_cast<std::uint64_t>(row);
  const std::int64_t m = synthetic_row_nnz(spec, row), d = spec.features;
  // Floyd's sampling of m distinct columns out of d, m draws whatever d is.
  const std::size_t first = cols.size();
  for (std::int64_t j = d - m; j < d; ++j) {
    const auto t = static_cast<std::int64_t>(uniform(spec.seed, kColumns, i, static_cast<std::uint64_t>(j)) * double(j + 1));
    const std::int64_t pick = std::min(t, j);
    const bool taken = std::find(cols.begin() + static_cast<std::ptrdiff_t>(first), cols.end(), pick) != cols.end();
    cols.push_back(taken ? j : pick);
  }
  std::sort(cols.begin() + static_cast<std::ptrdiff_t>(first), cols.end());
  const double c = spec.correlation, s = std::sqrt(1 - c * c);
  double prev = 0;
  for (std::size_t e = first; e < cols.size(); ++e) {
    const double v = normal(spec.seed, kX, i, static_cast<std::uint64_t>(cols[e]));
    prev = e == first ? v : c * prev + s * v;
    vals.push_back(prev);
  }
  for (Eigen::Index t = 0; t < truth.cols(); ++t) {
    double signal = 0;  // in column order: the same bits at any rank count
    for (std::size_t e = first; e < cols.size(); ++e) signal += vals[e] * truth(cols[e], t);
    y[t] = signal + spec.intercept + spec.noise * normal(spec.seed, kNoise, i, static_cast<std::uint64_t>(t));
  }
}

}  // namespace cadmm
