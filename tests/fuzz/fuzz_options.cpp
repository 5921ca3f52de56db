// libFuzzer target: command-line options and INI files of the fitting commands. Input: command-line tokens, one
// per line, then a line "%%" and the text of an INI file given with --config. Only cadmm::Error may come out:
// any other exception, or a crash, is a finding.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "cadmm/error.hpp"
#include "cli/options.hpp"

using namespace cadmm::cli;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // In the working directory, under a name that is the same in every run (tests/fuzz/run.sh gives each run a
  // directory of its own): with a pid in it, error messages naming the file changed length from run to run, and
  // with them the coverage, so a run with a fixed seed was not reproducible.
  static const std::string ini = "cadmm_fuzz_options.ini";
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::size_t split = text.find("\n%%\n");
  std::vector<std::string> args;
  std::string line;
  for (char c : text.substr(0, split)) {
    if (c == '\n') {
      args.push_back(line);
      line.clear();
    } else {
      line += c;
    }
  }
  if (!line.empty()) args.push_back(line);
  if (split != std::string::npos) {
    std::ofstream(ini, std::ios::binary) << text.substr(split + 4);
    args.push_back("--config");
    args.push_back(ini);
  }
  // solve's options (one lambda) and path/cv's (a lambda sequence), as the commands build them.
  for (const bool one_lambda : {true, false}) {
    po::options_description desc;
    desc.add(general_options()).add(data_options()).add(model_options(one_lambda)).add(solver_options());
    if (!one_lambda) desc.add(lambda_sequence_options());
    try {
      const po::variables_map vm = parse(one_lambda ? "solve" : "path", args, desc);
      fit_request_from(vm, one_lambda).lambda.resolve(1.0);
    } catch (const cadmm::Error&) {
    }
  }
  return 0;
}
