#pragma once
// Writing a synthetic data set in parallel: every rank writes its own rows (MPI-IO, independent writes).
#include <mpi.h>

#include <functional>
#include <string>

#include "cadmm/synthetic.hpp"

namespace cadmm::io {

/// Output options of `cadmm generate`.
struct GenerateOutput {
  std::string path;             ///< final file name (written to a temporary and renamed)
  bool float32 = false;         ///< store X as float32
  std::int64_t chunk_rows = 0;  ///< 0: contiguous X; otherwise chunked by this many rows
  bool y_1d = true;             ///< write y as (n,) (only when k == 1)
  /// Asked between blocks with the share of this rank's rows written so far (progress lines); true (e.g. a signal
  /// arrived) ends the run, nothing written.
  std::function<bool(double)> stop;
};

/// Writes /X, /y, /truth and /truth_intercept; collective over comm.
void write_synthetic(const SyntheticSpec& spec, const GenerateOutput& out, MPI_Comm comm);

}  // namespace cadmm::io
