#pragma once
/// \file The collective operations the solver needs, behind an interface so the ADMM loop never sees MPI.
#include <algorithm>
#include <cstddef>
#include <functional>
#include <exception>
#include <string>
#include <vector>

namespace cadmm {

/// Collective operations over the ranks that share one solve. Every call is collective: every rank must
/// make it, in the same order, with the same sizes.
class Communicator {
 public:
  virtual ~Communicator() = default;
  /// This process's index, 0-based.
  virtual int rank() const = 0;
  /// Number of processes.
  virtual int size() const = 0;
  /// In-place elementwise sum over ranks; the result is bitwise identical on every rank.
  virtual void sum(double* data, std::size_t n) = 0;
  /// In-place elementwise sum over ranks into root's data (the others' data is left undefined). The order of the
  /// additions may depend on root: the same data summed to another root may differ by rounding.
  virtual void sum_to(double* data, std::size_t n, int root) = 0;
  /// In-place elementwise max over ranks.
  virtual void max(double* data, std::size_t n) = 0;
  /// Copies n bytes from root to every rank.
  virtual void broadcast(void* data, std::size_t bytes, int root) = 0;
  /// Rank 0 receives every rank's n values, in rank order, into all (size() * n; ignored elsewhere).
  virtual void gather(const double* local, std::size_t n, double* all) = 0;
  /// Every rank receives its n values from rank 0's all (size() * n, rank order).
  virtual void scatter(const double* all, std::size_t n, double* local) = 0;
  /// Rank 0 hands each rank's n values, in rank order, to sink(rank, values), one block in memory at a time. A
  /// sink that throws does not stop the stream (no sender is left waiting): its first exception is rethrown on
  /// rank 0 once every block has arrived.
  virtual void gather_each(const double* local, std::size_t n, const std::function<void(int, const double*)>& sink) = 0;
  /// Every rank receives into local the n values that source(rank, values) writes for it on rank 0, one rank at
  /// a time. A source that throws sends zeros to the remaining ranks; its first exception is rethrown on rank 0.
  virtual void scatter_each(const std::function<void(int, double*)>& source, std::size_t n, double* local) = 0;
  /// Every rank sends send[p] (any length, empty included) to rank p and receives what rank p sent it in recv[p]
  /// (send and recv: size() blocks each; recv[rank()] is a copy of send[rank()]).
  virtual void exchange(const std::vector<std::vector<double>>& send, std::vector<std::vector<double>>& recv) = 0;
  /// Seconds spent inside collective calls so far (the "communication" phase of the summary).
  virtual double seconds_in_collectives() const = 0;

  /// Sums one scalar over ranks.
  double sum(double value) {
    sum(&value, 1);
    return value;
  }
  /// Copies a string from root to every rank.
  void broadcast(std::string& s, int root);
};

/// A communicator of one rank: the solver on in-memory data in one process, and unit tests.
class SerialCommunicator final : public Communicator {
 public:
  using Communicator::sum;
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void sum(double*, std::size_t) override {}
  void sum_to(double*, std::size_t, int) override {}
  void max(double*, std::size_t) override {}
  void broadcast(void*, std::size_t, int) override {}
  void gather(const double* local, std::size_t n, double* all) override { std::copy(local, local + n, all); }
  void scatter(const double* all, std::size_t n, double* local) override { std::copy(all, all + n, local); }
  void gather_each(const double* local, std::size_t, const std::function<void(int, const double*)>& sink) override {
    sink(0, local);
  }
  void scatter_each(const std::function<void(int, double*)>& source, std::size_t, double* local) override {
    source(0, local);
  }
  void exchange(const std::vector<std::vector<double>>& send, std::vector<std::vector<double>>& recv) override {
    recv = send;
  }
  double seconds_in_collectives() const override { return 0; }
};

/// Makes a local failure collective: every rank calls it after a step that may fail on some ranks only.
/// If any rank passed an exception, all ranks throw the same cadmm::Error (code and message of the
/// lowest failing rank, tagged with that rank); otherwise it returns.
void raise_if_any(Communicator& comm, std::exception_ptr local_failure);

/// Runs f and then raise_if_any with whatever it threw, so no rank is left waiting in a later collective.
template <class F>
void collectively(Communicator& comm, F&& f) {
  std::exception_ptr failure;
  try {
    f();
  } catch (...) {
    failure = std::current_exception();
  }
  raise_if_any(comm, failure);
}

}  // namespace cadmm
