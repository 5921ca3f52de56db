// `cadmm convert`: LIBSVM/SVMlight or CSV text to the HDF5 layout cadmm reads (docs/spec.md section 4).
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cadmm/error.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/report.hpp"
#include "io/convert.hpp"
#include "io/hdf5_util.hpp"

namespace cadmm::cli {

int run_convert(const Args& args, MpiCommunicator& comm) {
  po::options_description desc("Options");
  desc.add_options()
    ("help,h", "print this help and exit")
    ("quiet,q", "print nothing on success")
    ("input", po::value<std::string>()->value_name("FILE"), "text file to convert [required]")
    ("format", po::value<std::string>()->value_name("NAME"), "libsvm (also SVMlight) or csv [required]")
    ("output,o", po::value<std::string>()->value_name("FILE"), "HDF5 file to write [required]")
    ("header", "csv: the first line names the columns (kept as /feature_names)")
    ("target-column", po::value<std::string>()->value_name("J|NAME"),
     "csv: y's column, 0-based, or its name in the header (default: the last); none: no y, every column is X (data "
     "for predict). A header whose first name is empty (pandas' to_csv index, R's write.csv row names) marks a row "
     "index, which is left out")
    ("skip-columns", po::value<std::string>()->value_name("A,B,..."),
     "csv: columns left out unread, by name (with --header) or 0-based number: an id, a date, a text column")
    ("progress-seconds", po::value<double>()->default_value(1.0)->value_name("S"),
     "print a progress line at most every S seconds");
  const auto vm = parse("convert", args, desc);
  const bool root = comm.rank() == 0;
  if (vm.count("help")) {
    if (root)
      std::cout << "Usage: cadmm convert --input FILE --format {libsvm,csv} --output FILE [--header] [--target-column J|NAME|none]\n\n"
                   "LIBSVM/SVMlight lines 'label[,label...] [qid:N] index:value ...' become a sparse CSR group /X (AnnData\n"
                   "layout) and /y; indices are 1-based unless an index 0 appears; several labels per line (or a line with\n"
                   "none) give a 2-D y of 0/1 indicators over the distinct labels (listed in /y_labels). CSV of numbers\n"
                   "becomes dense /X and /y, the header's names /feature_names. gzip and bzip2 files are read as they are.\n"
                   "Streams in constant memory (one pass, growable datasets); a malformed line is reported with its line\n"
                   "and column and nothing is left at the output path. Runs on one rank.\n\n"
                << desc << std::endl;
    return 0;
  }
  for (const char* required : {"input", "format", "output"})
    if (!vm.count(required)) throw UsageError(std::string("--") + required + ": required");
  const std::string format = vm["format"].as<std::string>(), input = vm["input"].as<std::string>(),
                    output = vm["output"].as<std::string>();
  if (!(vm["progress-seconds"].as<double>() >= 0)) throw UsageError("--progress-seconds: must be >= 0");
  if (format != "libsvm" && format != "csv") throw UsageError("--format: expected libsvm or csv, got '" + format + "'");
  if (format == "libsvm" && (vm.count("header") || vm.count("target-column") || vm.count("skip-columns")))
    throw UsageError("--header/--target-column/--skip-columns: only for --format csv");
  io::ConvertReport rep;
  Stopwatch clock;
  // Progress at most every --progress-seconds: the input read so far, the rate, the time left.
  Heartbeat beat(root && !vm.count("quiet"), vm["progress-seconds"].as<double>());
  struct stat st {};
  const double size = ::stat(input.c_str(), &st) == 0 ? static_cast<double>(st.st_size) : 0;
  const auto tick = [&](std::int64_t bytes) {
    if (size > 0 && bytes > 0 && beat.due()) {
      const double seconds = clock.peek(), share = std::min(1.0, static_cast<double>(bytes) / size);
      std::printf("  read %.0f%% (%s of %s, %s/s, about %.0fs left)\n", 100 * share, bytes_text(static_cast<double>(bytes)).c_str(),
                  bytes_text(size).c_str(), bytes_text(static_cast<double>(bytes) / std::max(seconds, 1e-9)).c_str(),
                  seconds * (1 - share) / share);
      std::fflush(stdout);
    }
    return interrupt_requested();
  };
  collectively(comm, [&] {
    if (!root) return;  // text is read by one process; the other ranks only agree on the outcome
    io::check_output_path(output, "--output", {input});
    rep = format == "libsvm" ? io::convert_libsvm(input, output, tick)
                             : io::convert_csv(input, output, vm.count("header") > 0,
                                               vm.count("target-column") ? vm["target-column"].as<std::string>() : "",
                                               vm.count("skip-columns") ? vm["skip-columns"].as<std::string>() : "", tick);
  });
  const double seconds = clock.lap();
  if (root && !vm.count("quiet")) {
    std::string notes;
    if (format == "libsvm") notes = rep.zero_based ? ", 0-based indices" : ", 1-based indices";
    if (rep.unlabelled > 0) notes += ", " + std::to_string(rep.unlabelled) + " line(s) without a label (empty label sets)";
    if (format == "csv" && rep.target_column < 0) notes += ", no y (--target-column none): every column is X";
    if (format == "csv" && rep.target_column >= 0)
      notes += ", y = column " + std::to_string(rep.target_column) +
               (rep.target_name.empty() ? "" : " '" + rep.target_name + "', the other names in /feature_names");
    if (rep.row_index) notes += ", the first column left out (no name in the header: a row index, as pandas' to_csv "
                                "and R's write.csv write)";
    if (rep.skipped > 0) notes += ", " + std::to_string(rep.skipped) + " column(s) left out (--skip-columns)";
    if (!rep.compression.empty()) notes += ", read through " + rep.compression;
    std::printf("cadmm convert: %s -> %s: %lld rows x %lld features, %lld target(s), %lld nonzeros%s; %.1f MB in %.2fs "
                "(%.0f MB/s)\n",
                input.c_str(), output.c_str(), static_cast<long long>(rep.rows), static_cast<long long>(rep.features),
                static_cast<long long>(rep.targets), static_cast<long long>(rep.nonzeros), notes.c_str(),
                rep.bytes / 1e6, seconds, seconds > 0 ? rep.bytes / 1e6 / seconds : 0.0);
  }
  return 0;
}

}  // namespace cadmm::cli
