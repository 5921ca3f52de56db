#include "cadmm/mpi_communicator.hpp"

#include <algorithm>
#include <climits>
#include <exception>
#include <vector>
#include <string>

#include "cadmm/error.hpp"

namespace cadmm {

namespace {
void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw RuntimeFailure(std::string("MPI call failed: ") + what);
}

// Splits counts above INT_MAX into several calls (MPI counts are int).
template <class F>
void in_chunks(std::size_t n, std::size_t elem, F&& f) {
  const std::size_t max_chunk = static_cast<std::size_t>(INT_MAX) / elem;
  for (std::size_t off = 0; off < n; off += max_chunk) f(off, static_cast<int>(std::min(max_chunk, n - off)));
}

struct Timer {
  double& total;
  double start = MPI_Wtime();
  ~Timer() { total += MPI_Wtime() - start; }
};
}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm comm) : comm_(comm) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

void MpiCommunicator::sum(double* data, std::size_t n) {
  Timer t{seconds_};
  in_chunks(n, sizeof(double), [&](std::size_t off, int count) {
    if (rank_ == 0)
      check(MPI_Reduce(MPI_IN_PLACE, data + off, count, MPI_DOUBLE, MPI_SUM, 0, comm_), "MPI_Reduce");
    else
      check(MPI_Reduce(data + off, nullptr, count, MPI_DOUBLE, MPI_SUM, 0, comm_), "MPI_Reduce");
    check(MPI_Bcast(data + off, count, MPI_DOUBLE, 0, comm_), "MPI_Bcast");
  });
}

void MpiCommunicator::sum_to(double* data, std::size_t n, int root) {
  Timer t{seconds_};
  in_chunks(n, sizeof(double), [&](std::size_t off, int count) {
    if (rank_ == root)
      check(MPI_Reduce(MPI_IN_PLACE, data + off, count, MPI_DOUBLE, MPI_SUM, root, comm_), "MPI_Reduce");
    else
      check(MPI_Reduce(data + off, nullptr, count, MPI_DOUBLE, MPI_SUM, root, comm_), "MPI_Reduce");
  });
}

void MpiCommunicator::max(double* data, std::size_t n) {
  Timer t{seconds_};
  in_chunks(n, sizeof(double), [&](std::size_t off, int count) {
    check(MPI_Allreduce(MPI_IN_PLACE, data + off, count, MPI_DOUBLE, MPI_MAX, comm_), "MPI_Allreduce");
  });
}

void MpiCommunicator::broadcast(void* data, std::size_t bytes, int root) {
  Timer t{seconds_};
  in_chunks(bytes, 1, [&](std::size_t off, int count) {
    check(MPI_Bcast(static_cast<char*>(data) + off, count, MPI_BYTE, root, comm_), "MPI_Bcast");
  });
}

void MpiCommunicator::gather(const double* local, std::size_t n, double* all) {
  Timer t{seconds_};
  if (n > static_cast<std::size_t>(INT_MAX)) throw RuntimeFailure("gather: block too large");
  check(MPI_Gather(local, static_cast<int>(n), MPI_DOUBLE, all, static_cast<int>(n), MPI_DOUBLE, 0, comm_),
        "MPI_Gather");
}

void MpiCommunicator::scatter(const double* all, std::size_t n, double* local) {
  Timer t{seconds_};
  if (n > static_cast<std::size_t>(INT_MAX)) throw RuntimeFailure("scatter: block too large");
  check(MPI_Scatter(all, static_cast<int>(n), MPI_DOUBLE, local, static_cast<int>(n), MPI_DOUBLE, 0, comm_),
        "MPI_Scatter");
}

void MpiCommunicator::gather_each(const double* local, std::size_t n,
                                  const std::function<void(int, const double*)>& sink) {
  Timer t{seconds_};
  constexpr int kTag = 7301;
  if (rank_ != 0) {
    in_chunks(n, sizeof(double), [&](std::size_t off, int count) {
      check(MPI_Send(local + off, count, MPI_DOUBLE, 0, kTag, comm_), "MPI_Send");
    });
    return;
  }
  std::exception_ptr failure;
  const auto hand = [&](int r, const double* block) {
    if (failure) return;
    try {
      sink(r, block);
    } catch (...) {
      failure = std::current_exception();
    }
  };
  hand(0, local);
  std::vector<double> block(n);
  for (int r = 1; r < size_; ++r) {
    in_chunks(n, sizeof(double), [&](std::size_t off, int count) {
      check(MPI_Recv(block.data() + off, count, MPI_DOUBLE, r, kTag, comm_, MPI_STATUS_IGNORE), "MPI_Recv");
    });
    hand(r, block.data());
  }
  if (failure) std::rethrow_exception(failure);
}

void MpiCommunicator::scatter_each(const std::function<void(int, double*)>& source, std::size_t n, double* local) {
  Timer t{seconds_};
  constexpr int kTag = 7302;
  if (rank_ != 0) {
    in_chunks(n, sizeof(double), [&](std::size_t off, int count) {
      check(MPI_Recv(local + off, count, MPI_DOUBLE, 0, kTag, comm_, MPI_STATUS_IGNORE), "MPI_Recv");
    });
    return;
  }
  std::exception_ptr failure;
  const auto fill = [&](int r, double* block) {
    std::fill(block, block + n, 0.0);
    if (failure) return;
    try {
      source(r, block);
    } catch (...) {
      failure = std::current_exception();
    }
  };
  std::vector<double> block(n);
  for (int r = 1; r < size_; ++r) {
    fill(r, block.data());
    in_chunks(n, sizeof(double), [&](std::size_t off, int count) {
      check(MPI_Send(block.data() + off, count, MPI_DOUBLE, r, kTag, comm_), "MPI_Send");
    });
  }
  fill(0, local);
  if (failure) std::rethrow_exception(failure);
}

void MpiCommunicator::exchange(const std::vector<std::vector<double>>& send, std::vector<std::vector<double>>& recv) {
  Timer t{seconds_};
  if (static_cast<int>(send.size()) != size_) throw RuntimeFailure("exchange: one block per rank expected");
  recv.assign(static_cast<std::size_t>(size_), {});
  recv[static_cast<std::size_t>(rank_)] = send[static_cast<std::size_t>(rank_)];
  // A ring of pairwise exchanges: at step s this rank sends to rank + s and receives from rank - s, sizes first,
  // then the values in chunks of at most INT_MAX (so no count or displacement overflows an int).
  for (int s = 1; s < size_; ++s) {
    const int to = (rank_ + s) % size_, from = (rank_ - s + size_) % size_;
    const std::vector<double>& out = send[static_cast<std::size_t>(to)];
    std::vector<double>& in = recv[static_cast<std::size_t>(from)];
    unsigned long long n_out = out.size(), n_in = 0;
    check(MPI_Sendrecv(&n_out, 1, MPI_UNSIGNED_LONG_LONG, to, 0, &n_in, 1, MPI_UNSIGNED_LONG_LONG, from, 0, comm_,
                       MPI_STATUS_IGNORE), "MPI_Sendrecv");
    in.resize(static_cast<std::size_t>(n_in));
    const std::size_t chunk = static_cast<std::size_t>(INT_MAX) / sizeof(double);
    std::vector<MPI_Request> pending;
    for (std::size_t off = 0; off < in.size(); off += chunk) {
      pending.emplace_back();
      check(MPI_Irecv(in.data() + off, static_cast<int>(std::min(chunk, in.size() - off)), MPI_DOUBLE, from, 1, comm_,
                      &pending.back()), "MPI_Irecv");
    }
    for (std::size_t off = 0; off < out.size(); off += chunk) {
      pending.emplace_back();
      check(MPI_Isend(out.data() + off, static_cast<int>(std::min(chunk, out.size() - off)), MPI_DOUBLE, to, 1, comm_,
                      &pending.back()), "MPI_Isend");
    }
    check(MPI_Waitall(static_cast<int>(pending.size()), pending.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
  }
}

int MpiCommunicator::ranks_on_node() const {
  MPI_Comm node;
  MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int n = 1;
  MPI_Comm_size(node, &n);
  MPI_Comm_free(&node);
  return n;
}

}  // namespace cadmm
