// libFuzzer target: the LIBSVM/SVMlight and CSV parsers of `cadmm convert`. The first byte picks the format,
// --header and --target-column; the rest is the input file. Only cadmm::Error may come out, nothing may be left
// at the output path after a refusal, and an accepted file must convert to an HDF5 file.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "cadmm/error.hpp"
#include "io/convert.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // In the working directory, under a name that is the same in every run (tests/fuzz/run.sh gives each run a
  // directory of its own): with a pid in it, error messages naming the file changed length from run to run, and
  // with them the coverage, so a run with a fixed seed was not reproducible.
  static const std::string dir = "cadmm_fuzz_convert";
  static const bool made = std::filesystem::create_directories(dir) || true;
  (void)made;
  const std::string input = dir + "/in.txt", output = dir + "/out.h5";
  std::ofstream(input, std::ios::binary).write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
  const std::uint8_t mode = data[0];
  std::filesystem::remove(output);
  bool converted = false;
  try {
    if (mode & 1) {
      // The target column: the last, a number, or a header name (c0, c1, ...: present when the header says so).
      const int t = ((mode >> 2) & 7) - 1;
      const std::string target = t < 0 ? "" : ((mode & 32) ? "c" : "") + std::to_string(t);
      cadmm::io::convert_csv(input, output, (mode & 2) != 0, target);
    } else {
      cadmm::io::convert_libsvm(input, output);
    }
    converted = true;
  } catch (const cadmm::Error&) {
  }
  if (std::filesystem::exists(output) != converted) std::abort();  // a refusal left a file, or success wrote none
  return 0;
}
