#pragma once
// The result file of SPEC section 5, written by one rank to a temporary name and renamed into place.
#include <string>

#include "cadmm/fit.hpp"
#include "io/hdf5_util.hpp"

namespace cadmm::io {

/// Facts about the run that the result file records besides the fit itself.
struct RunFacts {
  Settings settings;
  int n_ranks = 1;
  std::int64_t n_rows = 0, n_features = 0, n_targets = 1;
  bool y_is_1d = true;
  double solve_seconds = 0;
};

/// Writes /coef, /intercept, /history and the root attributes. Throws RuntimeFailure naming path.
void write_result(const std::string& path, const FitResult& fit, const RunFacts& facts);

/// Writes the iteration records as the compound dataset /history (shared with checkpoints).
void write_history(AtomicH5File& file, const std::vector<IterationRecord>& history, const std::string& path);
/// Reads /history written by write_history; throws DataError naming path when it is not there.
std::vector<IterationRecord> read_history(hid_t file, const std::string& path);

}  // namespace cadmm::io
