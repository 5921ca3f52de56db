#pragma once
/// \file Splitting rows across ranks.
#include <cstdint>

namespace cadmm {

/// Half-open row range [begin, end) owned by one rank.
struct RowRange {
  std::int64_t begin = 0;  ///< first row
  std::int64_t end = 0;    ///< one past the last row
  /// Number of rows.
  std::int64_t size() const { return end - begin; }
};

/// Contiguous blocks balanced to within one row; the first n % ranks ranks get one extra row.
/// Ranks beyond n get an empty range.
RowRange partition_rows(std::int64_t n, int rank, int ranks);

}  // namespace cadmm
