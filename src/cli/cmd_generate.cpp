// `cadmm generate`: a synthetic data set with known truth, written in parallel.
#include <iostream>

#include "cadmm/error.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/report.hpp"
#include "io/generator.hpp"

namespace cadmm::cli {

int run_generate(const Args& args, MpiCommunicator& comm) {
  po::options_description desc("Options");
  desc.add_options()
    ("help,h", "print this help and exit")
    ("config", po::value<std::string>()->value_name("FILE"), "INI file with any of these options")
    ("quiet,q", "print nothing on success")
    ("rows", po::value<std::int64_t>()->value_name("N"), "number of rows n [required]")
    ("features", po::value<std::int64_t>()->value_name("D"), "number of features d [required]")
    ("targets", po::value<std::int64_t>()->value_name("K"), "number of targets k; given: y is (n, k), else (n,)")
    ("density", po::value<double>()->value_name("F"),
     "sparse X (CSR group): fraction of nonzeros, each row floor or ceil of F x d")
    ("nnz-per-row", po::value<std::int64_t>()->value_name("M"), "sparse X (CSR group): M nonzeros per row")
    ("correlation", po::value<double>()->default_value(0.0)->value_name("C"),
     "AR(1) correlation of neighbouring features, in [0, 1)")
    ("noise", po::value<double>()->default_value(1.0)->value_name("S"), "standard deviation of the noise in y")
    ("intercept", po::value<double>()->default_value(1.0)->value_name("B"), "intercept added to y")
    ("float32", "store X as float32")
    ("progress-seconds", po::value<double>()->default_value(1.0)->value_name("S"),
     "print a progress line at most every S seconds")
    ("chunk-rows", po::value<std::int64_t>()->default_value(0)->value_name("R"), "store X chunked by R rows (0: contiguous)")
    ("seed", po::value<std::uint64_t>()->default_value(0)->value_name("S"), "random seed (same seed, same file)")
    ("output,o", po::value<std::string>()->value_name("FILE"), "output HDF5 file [required]");
  const auto vm = parse("generate", args, desc);
  const bool root = comm.rank() == 0;
  if (vm.count("help")) {
    if (root)
      std::cout << "Usage: [mpirun -np P] cadmm generate --rows N --features D [--targets K] --output FILE\n\n"
                   "Writes /X (n x d), /y, the true coefficients /truth and /truth_intercept. Rows are N(0,1)\n"
                   "features with AR(1) correlation; about d/10+1 evenly spread features carry signal; every value\n"
                   "depends only on (seed, row, column), so any rank count writes the same datasets. With --density\n"
                   "or --nnz-per-row, X is a sparse CSR group (AnnData layout: data, indices, 64-bit indptr) whose\n"
                   "rows hold random distinct columns, the AR(1) correlation running along a row's nonzeros.\n\n"
                << desc << std::endl;
    return 0;
  }
  for (const char* required : {"rows", "features", "output"})
    if (!vm.count(required)) throw UsageError(std::string("--") + required + ": required");
  SyntheticSpec spec;
  spec.rows = vm["rows"].as<std::int64_t>();
  spec.features = vm["features"].as<std::int64_t>();
  spec.targets = vm.count("targets") ? vm["targets"].as<std::int64_t>() : 1;
  spec.correlation = vm["correlation"].as<double>();
  spec.noise = vm["noise"].as<double>();
  spec.intercept = vm["intercept"].as<double>();
  spec.seed = vm["seed"].as<std::uint64_t>();
  if (vm.count("density") && vm.count("nnz-per-row")) throw UsageError("--density and --nnz-per-row: give one or the other");
  if (vm.count("density")) {
    spec.density = vm["density"].as<double>();
    if (!(spec.density > 0 && spec.density <= 1)) throw UsageError("--density: must be in (0, 1]");
  }
  if (vm.count("nnz-per-row")) {
    spec.nnz_per_row = vm["nnz-per-row"].as<std::int64_t>();
    if (spec.nnz_per_row < 1) throw UsageError("--nnz-per-row: must be >= 1");
  }
  if (!(vm["progress-seconds"].as<double>() >= 0)) throw UsageError("--progress-seconds: must be >= 0");
  if (spec.rows < 1) throw UsageError("--rows: must be >= 1");
  if (spec.features < 1) throw UsageError("--features: must be >= 1");
  if (spec.targets < 1) throw UsageError("--targets: must be >= 1");
  if (!(spec.correlation >= 0 && spec.correlation < 1)) throw UsageError("--correlation: must be in [0, 1)");
  if (!(spec.noise >= 0)) throw UsageError("--noise: must be >= 0");
  io::GenerateOutput out;
  out.path = vm["output"].as<std::string>();
  out.float32 = vm.count("float32") > 0;
  out.chunk_rows = vm["chunk-rows"].as<std::int64_t>();
  out.y_1d = !vm.count("targets");
  if (out.chunk_rows < 0) throw UsageError("--chunk-rows: must be >= 0");

  Stopwatch clock;
  // Progress at most every --progress-seconds, from rank 0's share (every rank writes its own rows at about its pace).
  Heartbeat beat(root && !vm.count("quiet"), vm["progress-seconds"].as<double>());
  out.stop = [&](double done) {
    if (done > 0 && done < 1 && beat.due()) {
      const double seconds = clock.peek();
      std::printf("  written %.0f%% (rank 0's rows, %.1fs, about %.0fs left)\n", 100 * done, seconds, seconds * (1 - done) / done);
      std::fflush(stdout);
    }
    return interrupt_requested();
  };
  io::write_synthetic(spec, out, comm.handle());
  if (root && !vm.count("quiet"))
    std::printf("cadmm generate: wrote %s: %lld rows x %lld features, %lld target(s) in %.2fs on %d rank(s)\n",
                out.path.c_str(), static_cast<long long>(spec.rows), static_cast<long long>(spec.features),
                static_cast<long long>(spec.targets), clock.lap(), comm.size());
  return 0;
}

}  // namespace cadmm::cli
