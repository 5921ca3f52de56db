#pragma once
// A 64-bit mixing function for counter-based randomness (synthetic data, fold assignment).
#include <cstdint>

namespace cadmm {

/// The splitmix64 finalizer: a bijective, well-mixing map of 64-bit words.
inline std::uint64_t mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace cadmm
