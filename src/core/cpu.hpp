#pragma once
// What the processor offers against what the build uses (CMake's CADMM_ARCH).
#include <string>

namespace cadmm::cpu {

/// The features of `features` (names as __builtin_cpu_supports takes them, separated by spaces) that this
/// processor lacks, each after a space; "" when it has them all. Names it does not know count as present.
std::string missing_features(const std::string& features);

}  // namespace cadmm::cpu
