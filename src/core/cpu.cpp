// Built for the baseline instruction set (CMakeLists.txt), so that it can tell a processor that lacks what the rest
// was built for before any of that code runs.
#include "core/cpu.hpp"

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "cadmm/version.hpp"
#include "core/lapack.hpp"

// Referenced by the library's link interface (CMakeLists.txt), so that this file, and the check in it, is linked
// into every program built with the library, whether or not it calls anything here.
extern "C" const int cadmm_processor_check = 1;

namespace cadmm {

namespace cpu {

namespace {

bool processor_has(const std::string& f) {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();  // before main, libgcc's own initialisation may not have run yet
#define CADMM_QUERY(name) \
  if (f == name) return __builtin_cpu_supports(name);
  CADMM_QUERY("sse3") CADMM_QUERY("ssse3") CADMM_QUERY("sse4.1") CADMM_QUERY("sse4.2") CADMM_QUERY("popcnt")
  CADMM_QUERY("aes") CADMM_QUERY("pclmul") CADMM_QUERY("avx") CADMM_QUERY("avx2") CADMM_QUERY("fma")
  CADMM_QUERY("bmi") CADMM_QUERY("bmi2") CADMM_QUERY("gfni") CADMM_QUERY("vpclmulqdq") CADMM_QUERY("avx512f")
  CADMM_QUERY("avx512dq") CADMM_QUERY("avx512cd") CADMM_QUERY("avx512bw") CADMM_QUERY("avx512vl")
  CADMM_QUERY("avx512er") CADMM_QUERY("avx512ifma") CADMM_QUERY("avx512vbmi") CADMM_QUERY("avx512vbmi2")
  CADMM_QUERY("avx512vnni") CADMM_QUERY("avx512bitalg") CADMM_QUERY("avx512vpopcntdq") CADMM_QUERY("avx512bf16")
#if !defined(__clang__)  // names clang 14 cannot query (the sanitizer build's); with it they count as present
  CADMM_QUERY("f16c") CADMM_QUERY("lzcnt") CADMM_QUERY("movbe") CADMM_QUERY("vaes") CADMM_QUERY("avxvnni")
  CADMM_QUERY("avx512fp16")
#endif
#undef CADMM_QUERY
#endif
  (void)f;
  return true;
}

#if defined(__x86_64__) && defined(__GNUC__)
// A binary built with -march=native on a login node and started on an older compute node would die of SIGILL in
// its first vector loop; this runs first (priority 101 comes before every static constructor of the program) and
// names the remedy. Each rank prints it, and mpirun ends the job.
__attribute__((constructor(101))) void refuse_a_processor_without_the_build_features() {
  const std::string missing = missing_features(build_features());
  if (missing.empty()) return;
  std::fprintf(stderr,
               "cadmm: this processor lacks%s, which this build of cadmm uses (configured with CADMM_ARCH=%s on "
               "another machine). Build cadmm on this kind of node, or configure it with -DCADMM_ARCH=portable (or "
               "a -march value that every node has, such as x86-64-v3) for a cluster of mixed nodes.\n",
               missing.c_str(), build_arch());
  std::_Exit(1);
}
#endif

}  // namespace

std::string missing_features(const std::string& features) {
  std::istringstream in(features);
  std::string f, missing;
  while (in >> f)
    if (!processor_has(f)) missing += " " + f;
  return missing;
}

}  // namespace cpu

std::string build_description() {
  const std::string features = std::string(build_features()) + " ";
  const char* widest = features.find(" avx512f ") != std::string::npos ? "AVX-512"
                       : features.find(" avx2 ") != std::string::npos  ? "AVX2"
                       : features.find(" avx ") != std::string::npos   ? "AVX"
                                                                       : "baseline";
  return std::string("built for ") + build_arch() + " (" + widest + "); large products by " +
         lapack::products_library();
}

}  // namespace cadmm
