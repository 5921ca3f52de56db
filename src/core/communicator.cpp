#include "cadmm/communicator.hpp"

#include <vector>

#include "cadmm/error.hpp"

namespace cadmm {

void Communicator::broadcast(std::string& s, int root) {
  double length = static_cast<double>(s.size());
  broadcast(&length, sizeof length, root);
  s.resize(static_cast<std::size_t>(length));
  if (!s.empty()) broadcast(s.data(), s.size(), root);
}

void raise_if_any(Communicator& comm, std::exception_ptr local_failure) {
  // The lowest failing rank wins, found with a max over (size - rank) so that no rank waits on another.
  double flag = local_failure ? static_cast<double>(comm.size() - comm.rank()) : 0.0;
  comm.max(&flag, 1);
  if (flag == 0) return;
  const int root = comm.size() - static_cast<int>(flag);

  double code = static_cast<double>(ExitCode::failure);
  std::string message;
  if (comm.rank() == root) {
    bool agreed_before = false;
    try {
      std::rethrow_exception(local_failure);
    } catch (const Error& e) {
      code = static_cast<double>(e.code());
      message = e.what();
      agreed_before = e.collective();  // already names the rank that found it
    } catch (const std::exception& e) {
      message = std::string("internal error: ") + e.what();
    } catch (...) {
      message = "internal error: unknown exception";
    }
    if (comm.size() > 1 && !agreed_before) message += " (rank " + std::to_string(root) + ")";
  }
  comm.broadcast(&code, sizeof code, root);
  comm.broadcast(message, root);
  throw_error(static_cast<ExitCode>(static_cast<int>(code)), message, true);
}

}  // namespace cadmm
