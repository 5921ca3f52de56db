#include "cadmm/version.hpp"

namespace cadmm {

const char* version() { return CADMM_VERSION; }

const char* build_arch() { return CADMM_ARCH; }

// The compiler's own macros for the flags this file was built with, which are every file's but cpu.cpp's.
const char* build_features() {
  return ""
#ifdef __SSE4_2__
         " sse4.2"
#endif
#ifdef __AVX__
         " avx"
#endif
#ifdef __AVX2__
         " avx2"
#endif
#ifdef __FMA__
         " fma"
#endif
#ifdef __BMI2__
         " bmi2"
#endif
#ifdef __AVX512F__
         " avx512f"
#endif
#ifdef __AVX512DQ__
         " avx512dq"
#endif
#ifdef __AVX512CD__
         " avx512cd"
#endif
#ifdef __AVX512BW__
         " avx512bw"
#endif
#ifdef __AVX512VL__
         " avx512vl"
#endif
#ifdef __AVX512ER__
         " avx512er"
#endif
      ;
}

}  // namespace cadmm
