#include "cadmm/version.hpp"

namespace cadmm {
const char* version() { return CADMM_VERSION; }
}  // namespace cadmm
