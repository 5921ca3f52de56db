#pragma once
/// \file Communicator over an MPI communicator (the only MPI type in the public API).
#include <mpi.h>

#include "cadmm/communicator.hpp"

namespace cadmm {

/// Communicator implemented with MPI; sums are reduced to rank 0 and broadcast so every rank sees the
/// same bits (MPI_Allreduce does not promise that), which keeps every stop decision identical.
class MpiCommunicator final : public Communicator {
 public:
  /// Wraps comm (not owned, not freed).
  explicit MpiCommunicator(MPI_Comm comm = MPI_COMM_WORLD);
  using Communicator::sum;
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void sum(double* data, std::size_t n) override;
  void sum_to(double* data, std::size_t n, int root) override;
  void max(double* data, std::size_t n) override;
  void broadcast(void* data, std::size_t bytes, int root) override;
  void gather(const double* local, std::size_t n, double* all) override;
  void scatter(const double* all, std::size_t n, double* local) override;
  void gather_each(const double* local, std::size_t n, const std::function<void(int, const double*)>& sink) override;
  void scatter_each(const std::function<void(int, double*)>& source, std::size_t n, double* local) override;
  void exchange(const std::vector<std::vector<double>>& send, std::vector<std::vector<double>>& recv) override;
  double seconds_in_collectives() const override { return seconds_; }
  /// The wrapped MPI communicator (for MPI-IO).
  MPI_Comm handle() const { return comm_; }
  /// Number of ranks sharing this rank's node (to size BLAS thread pools).
  int ranks_on_node() const;

 private:
  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
  double seconds_ = 0;
};

}  // namespace cadmm
