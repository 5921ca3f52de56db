// Built for the baseline instruction set (CMakeLists.txt), so that it can tell a processor that lacks what the rest
// was built for before any of that code runs.
#include "core/cpu.hpp"

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "cadmm/version.hpp"
#include "core/lapack.hpp"

namespace cadmm {

namespace cpu {

namespace {

bool processor_has(const std::string& f) {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();  // before main, libgcc's own initialisation may not have run yet
  if (f == "sse4.2") return __builtin_cpu_supports("sse4.2");
  if (f == "avx") return __builtin_cpu_supports("avx");
  if (f == "avx2") return __builtin_cpu_supports("avx2");
  if (f == "fma") return __builtin_cpu_supports("fma");
  if (f == "bmi2") return __builtin_cpu_supports("bmi2");
  if (f == "avx512f") return __builtin_cpu_supports("avx512f");
  if (f == "avx512dq") return __builtin_cpu_supports("avx512dq");
  if (f == "avx512cd") return __builtin_cpu_supports("avx512cd");
  if (f == "avx512bw") return __builtin_cpu_supports("avx512bw");
  if (f == "avx512vl") return __builtin_cpu_supports("avx512vl");
  if (f == "avx512er") return __builtin_cpu_supports("avx512er");
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
  std::string features = build_features();
  if (!features.empty() && features.front() == ' ') features.erase(0, 1);
  return std::string("built for ") + build_arch() + (features.empty() ? "" : " (" + features + ")") +
         "; large products by " + lapack::products_library();
}

}  // namespace cadmm
