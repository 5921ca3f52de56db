#pragma once
// Reading a rank's rows of dense X and y from HDF5 (SPEC section 3).
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cadmm/partition.hpp"
#include "cadmm/types.hpp"
#include "io/hdf5_util.hpp"

namespace cadmm::io {

/// What the file holds, checked against SPEC section 3.
struct DataLayout {
  std::string file, x_name, y_name;
  std::int64_t rows = 0, features = 0, targets = 1;
  bool has_y = true;         ///< false when y was optional and absent (predict on new data)
  bool y_is_1d = true;       ///< y of shape (n,): results are written 1-D too
  bool x_float32 = false;    ///< stored element type of X
  bool x_chunked = false;    ///< chunked (else contiguous) layout of X
  std::int64_t x_chunk_rows = 0;
};

/// Opens X and y of one file on every rank (MPI-IO, collective open) and reads row ranges independently,
/// so a rank with no rows never has to take part in a read.
class DenseReader {
 public:
  /// Validates the layout; throws DataError naming the file and dataset on any mismatch. With y_optional a
  /// missing y dataset is allowed (layout().has_y false; sinks then get y with no columns).
  DenseReader(const std::string& file, const std::string& x_name, const std::string& y_name, MPI_Comm comm,
              bool y_optional = false);
  const DataLayout& layout() const { return layout_; }
  /// Reads rows of an integer (n,) dataset of the same file (fold numbers); DataError naming it when it is
  /// missing, not integer or not of length n.
  std::vector<std::int64_t> read_int_rows(const std::string& name, RowRange range) const;
  /// Streams rows of range in blocks of about block_bytes of X to sink(x, y) (as float64, row-major),
  /// reusing the same buffers; throws DataError naming the row of the first NaN/Inf.
  void read_rows(RowRange range, std::size_t block_bytes,
                 const std::function<void(RowMatrix& x, RowMatrix& y)>& sink) const;

 private:
  DataLayout layout_;
  Handle file_, x_, y_;
};

}  // namespace cadmm::io
