#include "cadmm/partition.hpp"

#include "cadmm/error.hpp"

namespace cadmm {

RowRange partition_rows(std::int64_t n, int rank, int ranks) {
  if (n < 0 || ranks < 1 || rank < 0 || rank >= ranks)
    throw UsageError("partition_rows: invalid arguments");
  const std::int64_t base = n / ranks, extra = n % ranks;
  RowRange r;
  r.begin = rank * base + (rank < extra ? rank : extra);
  r.end = r.begin + base + (rank < extra ? 1 : 0);
  return r;
}

}  // namespace cadmm
