#pragma once
// Checkpoint files: the ADMM state (z, every rank's u, rho, iteration) and the history so far, plus what
// identifies the problem, so a resumed run can refuse a checkpoint of another problem.
#include <cstdint>
#include <string>
#include <vector>

#include "cadmm/admm.hpp"

namespace cadmm::io {

/// What a resumed run must agree on with the run that wrote the checkpoint.
struct CheckpointKey {
  std::string data, x_dataset, y_dataset, penalty;
  double lambda = 0, l1_ratio = 0;
  std::int64_t n_rows = 0, n_features = 0, n_targets = 0, fit_intercept = 0, standardize = 0;
};

/// A checkpoint as read back.
struct Checkpoint {
  CheckpointKey key;
  int n_ranks = 0;                      ///< ranks of the run that wrote it (u is one block per rank)
  Matrix z;                             ///< consensus variable (the solver's internal scaling)
  std::vector<double> u;                ///< n_ranks blocks of d x k, rank order
  double rho = 0;
  int iteration = 0;
  std::vector<IterationRecord> history;
};

/// Writes atomically (temporary + rename); u holds every rank's block in rank order. The checkpoint it replaces
/// is kept as previous_checkpoint(path) (hard-linked before the rename, so a complete checkpoint exists at every
/// moment), and a checksum over every field is stored with it. Serial.
void write_checkpoint(const std::string& path, const Checkpoint& c);
/// Reads and verifies a checkpoint; DataError naming path and what failed (not a cadmm checkpoint, truncated or
/// unreadable, checksum mismatch). Serial.
Checkpoint read_checkpoint(const std::string& path);
/// Where the checkpoint before the last one is kept: path + ".prev".
std::string previous_checkpoint(const std::string& path);
/// Empty when the keys agree, else a message naming the first field that differs.
std::string key_mismatch(const CheckpointKey& stored, const CheckpointKey& now);

}  // namespace cadmm::io
