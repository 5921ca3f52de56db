#pragma once
// Checkpoint files: the complete ADMM state (z, rho, iteration, every rank's u and loop state: Anderson history,
// trial point, rho and polishing schedule, local warm start) and the history so far, plus what identifies the
// problem, so a resumed run can refuse a checkpoint of another problem and, at the same rank count, continue
// bit for bit as the uninterrupted run would have.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cadmm/admm.hpp"
#include "cadmm/communicator.hpp"
#include "cadmm/drive.hpp"

namespace cadmm::io {

/// A checkpoint as one rank sees it after loading.
struct Checkpoint {
  CheckpointKey key;
  int n_ranks = 0;                       ///< ranks of the run that wrote it
  std::string file;                      ///< the file it came from (the checkpoint or the previous one)
  std::string note;                      ///< why the previous checkpoint was used, or why the duals restart
  AdmmState state;                       ///< loop state (and this rank's u) only when n_ranks matches
  std::vector<IterationRecord> history;  ///< iterations so far (rank 0; a path's: those of the interrupted solve)
  PathResult done;                       ///< a path's finished lambdas (every rank)
};

/// Collective: writes every rank's state (each rank passes its own; rank 0's history; for a path, the finished
/// lambdas, the same on every rank) atomically, keeping the
/// checkpoint it replaces as previous_checkpoint(path). A checksum over every field is stored with it. Rank 0
/// holds one rank's block at a time, whatever the rank count.
void write_checkpoint(const std::string& path, const CheckpointKey& key, const AdmmState& state,
                      const std::vector<IterationRecord>& history, Communicator& comm,
                      const PathResult* done = nullptr);

/// Collective: the checkpoint to resume from, or nullopt when neither path nor its previous one exists. A
/// checkpoint that is damaged (checksum, truncation), foreign or of another problem is refused with DataError
/// naming the file and what failed, unless the previous one is good: then that one is used and note says why.
std::optional<Checkpoint> load_checkpoint(const std::string& path, const CheckpointKey& key, Communicator& comm);

/// Serial: reads and verifies a whole checkpoint (streaming every rank's block through the checksum) and
/// returns its key and history; DataError naming path and what failed.
Checkpoint verify_checkpoint(const std::string& path);

/// Before a run that checkpoints (rank 0): check_output_path for --checkpoint against the data, and refusals
/// (UsageError) of a checkpoint path that is the --output file too, or an existing HDF5 file that is not a cadmm
/// checkpoint (a result or someone's data, which the first checkpoint would replace). One that cannot be opened may
/// be a damaged checkpoint, and with `resuming` the file is read first, so load_checkpoint reports what it is.
void check_checkpoint_path(const std::string& path, const std::string& data, const std::string& output,
                           bool resuming);

/// Where the checkpoint before the last one is kept: path + ".prev".
std::string previous_checkpoint(const std::string& path);
/// Empty when the keys agree, else a message naming the first field that differs.
std::string key_mismatch(const CheckpointKey& stored, const CheckpointKey& now);

/// The CheckpointStore of the drivers over these files: path, the key of the run, and the communicator.
class CheckpointFile final : public CheckpointStore {
 public:
  CheckpointFile(std::string path, CheckpointKey key, Communicator& comm)
      : path_(std::move(path)), key_(std::move(key)), comm_(comm) {}
  /// load_checkpoint() as a Resume.
  std::optional<Resume> load() override;
  /// write_checkpoint().
  void save(const AdmmState& state, const std::vector<IterationRecord>& history, const PathResult* done) override;

 private:
  std::string path_;
  CheckpointKey key_;
  Communicator& comm_;
};

}  // namespace cadmm::io
