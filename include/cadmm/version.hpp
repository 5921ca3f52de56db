#pragma once
/// \file Library version and what the build is made for.
#include <string>

namespace cadmm {
/// The version string written to every result file.
const char* version();
/// The instruction set the build was configured for (CMake's CADMM_ARCH: native, portable or a -march value).
const char* build_arch();
/// The instruction-set extensions the build's code may use, as __builtin_cpu_supports names them, separated by
/// spaces ("" for a portable build).
const char* build_features();
/// One line for `cadmm --version`: the instruction set built for and which library runs the large products.
std::string build_description();
}  // namespace cadmm
