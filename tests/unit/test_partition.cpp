#include <gtest/gtest.h>

#include "cadmm/error.hpp"
#include "cadmm/partition.hpp"

using namespace cadmm;

TEST(Partition, ContiguousCoverageBalancedWithinOneRow) {
  for (std::int64_t n : {0, 1, 2, 7, 10, 1000, 1001}) {
    for (int p : {1, 2, 3, 4, 7, 16}) {
      std::int64_t next = 0, lo = n, hi = 0;
      for (int r = 0; r < p; ++r) {
        const RowRange rr = partition_rows(n, r, p);
        EXPECT_EQ(rr.begin, next) << n << " rows, rank " << r << " of " << p;
        next = rr.end;
        lo = std::min(lo, rr.size());
        hi = std::max(hi, rr.size());
      }
      EXPECT_EQ(next, n);
      EXPECT_LE(hi - lo, 1);
    }
  }
}

TEST(Partition, MoreRanksThanRowsGivesEmptyTail) {
  EXPECT_EQ(partition_rows(3, 0, 5).size(), 1);
  EXPECT_EQ(partition_rows(3, 2, 5).size(), 1);
  EXPECT_EQ(partition_rows(3, 3, 5).size(), 0);
  EXPECT_EQ(partition_rows(3, 4, 5).size(), 0);
}

TEST(Partition, RejectsBadArguments) {
  EXPECT_THROW(partition_rows(10, 3, 3), UsageError);
  EXPECT_THROW(partition_rows(10, 0, 0), UsageError);
  EXPECT_THROW(partition_rows(-1, 0, 1), UsageError);
}
