#pragma once
// One function per command; each returns the process exit code and throws cadmm::Error collectively.
#include <string>
#include <vector>

#include "cadmm/mpi_communicator.hpp"

namespace cadmm::cli {

using Args = std::vector<std::string>;

int run_solve(const Args& args, MpiCommunicator& comm);
int run_generate(const Args& args, MpiCommunicator& comm);
int run_info(const Args& args, MpiCommunicator& comm);
int run_path(const Args& args, MpiCommunicator& comm);
int run_cv(const Args& args, MpiCommunicator& comm);
int run_predict(const Args& args, MpiCommunicator& comm);
int run_convert(const Args& args, MpiCommunicator& comm);

}  // namespace cadmm::cli
