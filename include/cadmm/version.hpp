#pragma once
/// \file Library version.
namespace cadmm {
/// The version string written to every result file.
const char* version();
}  // namespace cadmm
