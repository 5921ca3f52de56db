// `cadmm info`: describe a data set and the memory and solver plan for P ranks.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>
#include <iostream>
#include <optional>

#include "cadmm/error.hpp"
#include "cadmm/partition.hpp"
#include "cadmm/data.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/report.hpp"
#include "io/checkpoint.hpp"
#include "io/dataset_reader.hpp"
#include "io/hdf5_util.hpp"

namespace cadmm::cli {

namespace {
// Every rank reads its share through the solver's reader (8 MiB blocks, the default buffer) and drops it.
void read_test(const io::DataReader& reader, MpiCommunicator& comm) {
  const io::DataLayout& l = reader.layout();
  RowRange range;
  collectively(comm, [&] { range = reader.partition(comm.rank(), comm.size()); });
  double flag = 0;
  comm.sum(&flag, 1);  // start together
  Stopwatch clock;
  double rows = 0;
  collectively(comm, [&] {
    if (l.sparse)
      reader.read_sparse_rows(range, 8 << 20, [&](const SparseRows& x, RowMatrix&) { rows += static_cast<double>(x.rows()); });
    else
      reader.read_rows(range, 8 << 20, [&](RowMatrix& x, RowMatrix&) { rows += static_cast<double>(x.rows()); });
  });
  double seconds = clock.lap();
  comm.max(&seconds, 1);
  comm.sum(&rows, 1);
  const double bytes = l.sparse ? 12.0 * static_cast<double>(l.nnz) + 8.0 * static_cast<double>(l.rows)
                                : (l.x_float32 ? 4.0 : 8.0) * static_cast<double>(l.rows) * static_cast<double>(l.features);
  if (comm.rank() == 0)
    std::printf("read test: %d rank(s) read %.0f rows (%s of X) in %.3f s (slowest rank): %.2f GB/s\n\n", comm.size(),
                rows, bytes_text(bytes).c_str(), seconds, seconds > 0 ? bytes / seconds / 1e9 : 0.0);
}

// What info was asked.
struct InfoRequest {
  std::string file, x_dataset, y_dataset;
  io::DataSelection select;
  int ranks = 1;           // plan for this many ranks
  bool read_test = false;  // --read-test
  bool y_optional = false; // --y-dataset not given: a file without /y (AnnData's) is still described
};

// The request of the command line; nullopt when --help was asked (and printed).
std::optional<InfoRequest> parse_request(const Args& args, MpiCommunicator& comm) {
  po::options_description desc("Options");
  desc.add_options()
    ("help,h", "print this help and exit")
    ("file", po::value<std::string>()->value_name("FILE"), "HDF5 data file")
    ("data", po::value<std::string>()->value_name("FILE"), "the same as FILE (solve's name for it)")
    ("x-dataset", po::value<std::string>()->default_value("/X")->value_name("PATH"), "dataset of X")
    ("y-dataset", po::value<std::string>()->default_value("/y")->value_name("PATH"), "dataset of y")
    ("ranks", po::value<int>()->value_name("P"), "plan for P ranks (default: the ranks of this run)")
    ("read-test", "every rank of this run (mpirun -np P cadmm info FILE --read-test) reads its share of the rows as "
                  "solve does, and the slowest rank's time is printed: the floor under a run's read phase");
  desc.add(selection_options());
  po::positional_options_description pos;
  pos.add("file", 1);
  const auto vm = parse("info", args, desc, &pos);
  if (vm.count("help")) {
    if (comm.rank() == 0)
      std::cout << "Usage: cadmm info FILE (or --data FILE) [--ranks P] [--read-test]\n\n"
                   "A data file: its X and y as stored and the memory and solver plan for P ranks. A result of solve, path\n"
                   "or cv: what was fitted and how to use it. A checkpoint: its run and progress, after verifying its\n"
                   "checksum (a damaged one exits 3).\n\n" << desc << std::endl;
    return std::nullopt;
  }
  if (vm.count("file") && vm.count("data") && vm["file"].as<std::string>() != vm["data"].as<std::string>())
    throw UsageError("info: two data files given (FILE and --data); give one");
  if (!vm.count("file") && !vm.count("data")) throw UsageError("info: give the data file (cadmm info FILE)");
  InfoRequest req;
  req.ranks = vm.count("ranks") ? vm["ranks"].as<int>() : comm.size();
  if (req.ranks < 1) throw UsageError("--ranks: must be >= 1");
  req.file = vm[vm.count("file") ? "file" : "data"].as<std::string>();
  req.x_dataset = vm["x-dataset"].as<std::string>();
  req.y_dataset = vm["y-dataset"].as<std::string>();
  req.y_optional = vm["y-dataset"].defaulted();
  req.select = selection_from(vm);
  req.read_test = vm.count("read-test") > 0;
  return req;
}

// The file's size, for the first line.
std::string size_of(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? "?" : bytes_text(static_cast<double>(size));
}

// The first five names, then ", ..." when there are more.
std::string first_names(const std::vector<std::string>& names) {
  std::string first;
  for (std::size_t j = 0; j < names.size() && j < 5; ++j) first += (j ? ", " : "") + names[j];
  return first + (names.size() > 5 ? ", ..." : "");
}

// The file, X and y as stored.
void print_data(const std::string& file, const io::DataLayout& l) {
  std::printf("%s (%s)\n", file.c_str(), size_of(file).c_str());
  std::printf("  X  %s: %lld rows x %lld features, %s, %s\n", l.x_name.c_str(), static_cast<long long>(l.rows),
              static_cast<long long>(l.features), l.x_float32 ? "float32" : "float64",
              l.sparse ? ("sparse CSR, " + std::to_string(l.nnz) + " nonzeros").c_str()
              : l.x_chunked ? ("chunked by " + std::to_string(l.x_chunk_rows) + " rows" +
                               (l.x_compressed ? ", compressed" : "")).c_str()
                            : "contiguous");
  if (l.has_y)
    std::printf("  y  %s: %lld target(s)%s\n", l.y_name.c_str(), static_cast<long long>(l.targets),
                l.y_is_1d ? " (1-D)" : "");
  else
    std::printf("  y  none: the file has no %s (fitting needs --y-dataset PATH or --y-column NAME; planned below "
                "for 1 target)\n", l.y_name.c_str());
  if (l.feature_names.empty()) {
    std::printf("  names  none (--feature-names-dataset PATH names the features)\n");
  } else {
    std::printf("  names  %s: %s\n", l.names_from.c_str(), first_names(l.feature_names).c_str());
  }
}

// What the plan table found over the ranks shown.
struct PlanTotals {
  double worst = 0;       // the largest rank's planned memory
  bool screened = false;  // some rank plans screened or streamed
  bool gram = false;      // some rank's cv would plan gram (its folds then add Grams or held rows)
  double gathered = 0;    // cg: what a rank adds to fit a cv fold alone (0: no rank plans cg)
};

// One line per rank (the first four and last two when there are more than 16): its rows, nonzeros, local form,
// memory and flops, planned as a solve plans them (working sets allowed).
PlanTotals print_rank_plans(const io::DataReader& reader, int ranks, double budget) {
  const io::DataLayout& l = reader.layout();
  DataShape shape = l.shape();
  shape.targets = std::max<std::int64_t>(1, shape.targets);  // a file without y: planned for one
  std::printf("\nPlan for %d rank(s):\n", ranks);
  std::printf("  %6s %12s %14s %10s %14s %12s %12s\n", "rank", "rows", "nonzeros", "solver", "memory", "setup flop",
              "flop/iter");
  PlanRequest request;
  request.screen = Screen::one_fit;
  PlanTotals totals;
  for (int r = 0; r < ranks; ++r) {
    if (!(ranks <= 16 || r < 4 || r >= ranks - 2)) {
      if (r == 4) std::printf("  %6s\n", "...");
      continue;
    }
    const RowRange range = reader.partition(r, ranks);
    const std::int64_t nnz = reader.nnz_in(range);
    const RankPlan plan = plan_rank(range.size(), nnz, shape, request, budget);
    totals.worst = std::max(totals.worst, plan.memory_bytes);
    totals.screened = totals.screened || plan.form == LocalForm::screened || plan.form == LocalForm::streamed;
    // cv plans as a path does (Screen::path): where that is the Gram form, its folds add Grams or held rows.
    totals.gram = totals.gram || plan_local_form(range.size(), shape.features, shape.sparse, std::nullopt, Screen::path,
                                                 budget, shape.rows) == LocalForm::gram;
    if (plan.form == LocalForm::cg) totals.gathered = kGatheredBytesPerEntry * static_cast<double>(shape.nnz);
    std::printf("  %6d %12lld %14lld %10s %14s %12s %12s\n", r, static_cast<long long>(range.size()),
                static_cast<long long>(nnz), range.size() == 0 ? "idle" : to_string(plan.form).c_str(),
                bytes_text(plan.memory_bytes).c_str(), fmt(plan.cost.setup_flops, "%.2e").c_str(),
                fmt(plan.cost.iteration_flops, "%.2e").c_str());
  }
  return totals;
}

// What the table leaves out (read buffer, cv's Grams, when screened plans apply) and whether the plan fits.
void print_plan_notes(const PlanTotals& totals, int per_node, double budget) {
  const double share = budget / kBudgetShare;  // the whole share, of which the plans may use kBudgetShare
  std::printf("  plus a read buffer of 8 MiB per rank (--read-buffer-mb) and about 30 MiB a process (MPI, HDF5, BLAS)%s\n",
              totals.gram ? ";" : "");
  if (totals.gram)
    std::printf("  cv adds (gram) one d x d Gram per fold, or keeps the rank's rows and three more Grams where the\n"
                "  rows are fewer than (folds - 1) x d\n");
  if (totals.screened)
    std::printf("  screened/streamed: one l1, elasticnet or l21 solve runs over working sets (the Grams of the features\n"
                "  that can be active; setup and flop/iter above are the worst case, all of them); l2 and solves with\n"
                "  --checkpoint use gram instead (2 d^2 doubles, setup rows x d^2 flops; woodbury on ranks with fewer\n"
                "  rows than features; a path checkpoints its working sets), and so does a solve whose lambda lets\n"
                "  more than %.0f%% of the features leave zero in a sample of the rows; a path and a cv keep their\n"
                "  rows (screened, the columns of the features that enter) from d = %lld where they fit, and from\n"
                "  d = 1024 where the data have fewer rows than features, else gram (woodbury on ranks with fewer\n"
                "  rows than features where gram would not fit); cv then holds the rows once (each fold a view of\n"
                "  them) and keeps the folds' columns over all rows in what the memory leaves, up to d^2 doubles\n",
                100 * kDenseStart, static_cast<long long>(kPathScreenMinFeatures));
  if (totals.gathered > 0)
    std::printf("  cg: cv gathers each fold's rows into one rank, which fits the fold alone while the others fit theirs,\n"
                "  and a path (and cv's refit) gathers all rows into every rank, which fits every P-th lambda alone,\n"
                "  where %s more (%.0f bytes a nonzero of the whole X) fit beside the rank's plan; otherwise every rank\n"
                "  takes part in every fold and lambda\n",
                bytes_text(totals.gathered).c_str(), kGatheredBytesPerEntry);
  if (budget <= 0 || totals.worst <= budget)
    std::printf("  fits: %d rank(s) per node like this one get %s each\n", per_node, bytes_text(share).c_str());
  else
    std::printf("  does NOT fit: %d rank(s) per node like this one get %s each, the largest plan needs %s; a gram plan\n"
                "  needs d^2 per rank whatever the rows (use fewer ranks per node), woodbury and cg shrink with the rows\n"
                "  per rank (use more nodes); solve/path/cv refuse such a plan before reading\n",
                per_node, bytes_text(share).c_str(), bytes_text(totals.worst).c_str());
}

// What a file is: cadmm's own result and checkpoint files are described as such, anything else as data.
enum class FileKind { data, result, checkpoint, fold, prediction };

// A number attribute of the file's root, or a fallback.
double number(hid_t f, const std::string& name, double otherwise = 0) {
  double v = otherwise;
  return io::read_number_attribute(f, name, v) ? v : otherwise;
}

FileKind file_kind(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec) || H5Fis_hdf5(path.c_str()) <= 0) return FileKind::data;
  const io::Handle file = io::open_file_read(path, MPI_COMM_NULL, "file");
  const hid_t f = file.get();
  if (io::read_string_attribute(f, "kind") == "cadmm-checkpoint") return FileKind::checkpoint;
  const std::string command = io::read_string_attribute(f, "command");
  if (command == "cv-fold" && io::object_exists(f, "cv/mse")) return FileKind::fold;
  if (io::object_exists(f, "prediction") && !io::read_string_attribute(f, "model").empty()) return FileKind::prediction;
  // What cadmm writes with every result: a version, the shape, /coef (a file that only looks like one is data).
  const bool fitted = (command == "solve" || command == "path" || command == "cv") &&
                      !io::read_string_attribute(f, "version").empty() && number(f, "n_features") > 0;
  return fitted && io::object_exists(f, "coef") && !io::object_exists(f, "X") ? FileKind::result : FileKind::data;
}

// The problem line both kinds share: penalty, l1_ratio where it matters, intercept and scaling.
std::string problem_text(hid_t f) {
  const std::string penalty = io::read_string_attribute(f, "penalty");
  std::string text = penalty;
  if (penalty == "elasticnet" || penalty == "group") text += " (l1_ratio " + fmt(number(f, "l1_ratio")) + ")";
  text += number(f, "fit_intercept", 1) != 0 ? ", intercept fitted" : ", no intercept";
  if (number(f, "standardize") != 0) text += ", standardized";
  // The checkpoint's per-feature terms without their values' hashes ("penalty factors 7000 values #e7b8...").
  std::string terms = io::read_string_attribute(f, "per_feature");
  for (std::size_t at; (at = terms.find(" #")) != std::string::npos;)
    terms.erase(at, terms.find_first_not_of("0123456789abcdef", at + 2) - at);
  if (!terms.empty()) text += "; " + terms;
  return text;
}

std::string shape_text(hid_t f) {
  return std::to_string(static_cast<long long>(number(f, "n_rows"))) + " rows x " +
         std::to_string(static_cast<long long>(number(f, "n_features"))) + " features, " +
         std::to_string(static_cast<long long>(number(f, "n_targets", 1))) + " target(s)";
}

// A solve, path or cv result: what was fitted, how well, and what to do with it.
void print_result(const std::string& path) {
  const io::Handle file = io::open_file_read(path, MPI_COMM_NULL, "result file");
  const hid_t f = file.get();
  const std::string command = io::read_string_attribute(f, "command");
  std::vector<std::int64_t> shape;
  std::printf("%s (%s): a cadmm %s result (cadmm %s)\n", path.c_str(), size_of(path).c_str(), command.c_str(),
              io::read_string_attribute(f, "version").c_str());
  const std::string x = io::read_string_attribute(f, "x_dataset"), y = io::read_string_attribute(f, "y_dataset");
  const std::string data = io::read_string_attribute(f, "data");
  const std::string xy = x.empty() ? "" : x + (y.empty() ? "" : " and " + y);
  const std::string datasets = data.empty() ? (xy.empty() ? "" : xy + ": ")
                               : data + (xy.empty() ? "" : " (" + xy + ")") + ": ";
  std::printf("  data        %s%s, fitted on %lld rank(s)\n", datasets.c_str(), shape_text(f).c_str(),
              static_cast<long long>(number(f, "n_ranks", 1)));
  const std::string offset = io::read_string_attribute(f, "offset_dataset");
  const std::string weights = io::read_string_attribute(f, "weights_dataset");
  if (!offset.empty() || !weights.empty())
    std::printf("  rows        %s%s%s\n", offset.empty() ? "" : ("offset " + offset).c_str(),
                !offset.empty() && !weights.empty() ? ", " : "", weights.empty() ? "" : ("weights " + weights).c_str());
  std::printf("  problem     %s; lambda_max %s\n", problem_text(f).c_str(), fmt(number(f, "lambda_max")).c_str());
  if (io::object_exists(f, "path/lambda")) {
    const std::vector<double> lambdas = io::read_doubles(f, "path/lambda", shape, "result file", path);
    const std::vector<double> converged = io::read_doubles(f, "path/converged", shape, "result file", path);
    const std::vector<double> nonzero = io::read_doubles(f, "path/nonzero", shape, "result file", path);
    const auto ok = std::count(converged.begin(), converged.end(), 1.0);
    std::printf("  path        %zu lambdas %s .. %s: %lld converged%s; nonzero %s .. %s\n", lambdas.size(),
                fmt(lambdas.front()).c_str(), fmt(lambdas.back()).c_str(), static_cast<long long>(ok),
                ok < static_cast<long long>(converged.size()) ? " (see /path/converged)" : "",
                fmt(*std::min_element(nonzero.begin(), nonzero.end())).c_str(),
                fmt(*std::max_element(nonzero.begin(), nonzero.end())).c_str());
  }
  if (io::object_exists(f, "cv/lambda_min")) {
    const io::Handle cv(H5Gopen2(f, "cv", H5P_DEFAULT), H5Gclose);
    const double lmin = io::read_doubles(f, "cv/lambda_min", shape, "result file", path).at(0);
    const double l1se = io::read_doubles(f, "cv/lambda_1se", shape, "result file", path).at(0);
    std::printf("  cv          %lld folds (%s%s), lambda_min %s, lambda_1se %s; refit at %s\n",
                static_cast<long long>(number(cv.get(), "folds")), io::read_string_attribute(cv.get(), "folds_from").c_str(),
                io::object_exists(f, "cv/foldid") ? ", every row's in /cv/foldid" : "", fmt(lmin).c_str(),
                fmt(l1se).c_str(), io::read_string_attribute(cv.get(), "refit").c_str());
    if (io::object_exists(f, "cv/relaxed/lambda_min")) {  // cv --relax chose a (gamma, lambda) pair
      const auto at = [&](const std::string& name) { return fmt(io::read_doubles(f, "cv/relaxed/" + name, shape, "result file", path).at(0)); };
      std::printf("  relaxed     (cv --relax) lambda_min %s at gamma %s, lambda_1se %s at gamma %s\n",
                  at("lambda_min").c_str(), at("gamma_min").c_str(), at("lambda_1se").c_str(), at("gamma_1se").c_str());
    }
  }
  const std::vector<double> coef = io::read_doubles(f, "coef", shape, "result file", path);
  const auto nonzero = std::count_if(coef.begin(), coef.end(), [](double c) { return c != 0; });
  const double gamma = number(f, "gamma", -1);
  std::printf("  /coef       lambda %s%s: %s, objective %.12e, %lld nonzero of %zu, duality gap %s\n",
              fmt(number(f, "lambda")).c_str(), gamma >= 0 ? (", the relaxed blend at gamma " + fmt(gamma)).c_str() : "",
              io::read_string_attribute(f, "status").c_str(), number(f, "objective"), static_cast<long long>(nonzero),
              coef.size(), gap_text(number(f, "duality_gap", -1)).c_str());
  if (io::object_exists(f, "feature_names")) {
    const std::vector<std::string> names = io::read_strings(f, "feature_names", "result file '" + path + "'");
    std::printf("  names       %s\n", first_names(names).c_str());
  }
  const std::string other = command != "cv" ? "" : io::read_string_attribute(f, "refit") == "lambda_1se" ? "lambda_min" : "lambda_1se";
  std::printf("  use         cadmm predict --model %s --data NEW.h5 --output pred.h5%s%s\n", path.c_str(),
              offset.empty() ? "" : " --offset-dataset NEWOFFSET",
              command == "solve" ? "" : command == "cv" ? (" [--lambda " + other + " | --lambda-index I]").c_str()
                                                        : " [--lambda-index I | --lambda L]");
  if (command != "solve") std::printf("              cadmm plot %s\n", path.c_str());
}

// A checkpoint: what run it belongs to, how far it got, and whether it is intact (every rank's block checksummed).
void print_checkpoint(const std::string& path) {
  const io::Checkpoint c = io::verify_checkpoint(path);  // DataError naming what is damaged
  const io::Handle file = io::open_file_read(path, MPI_COMM_NULL, "checkpoint");
  const hid_t f = file.get();
  const std::string command = c.key.command;
  std::printf("%s (%s): a cadmm checkpoint of `%s` (cadmm %s), intact: its checksum verified\n", path.c_str(),
              size_of(path).c_str(), command.c_str(), io::read_string_attribute(f, "version").c_str());
  std::printf("  data        %s (%s and %s): %s; written by %d rank(s)\n", c.key.data.c_str(), c.key.x_dataset.c_str(),
              c.key.y_dataset.c_str(), shape_text(f).c_str(), c.n_ranks);
  std::printf("  problem     %s\n", problem_text(f).c_str());
  const int iteration = static_cast<int>(number(f, "iteration"));
  if (command == "path") {
    const std::size_t done = c.done.fits.size(), m = c.key.lambdas.size();
    std::printf("  progress    %zu of the sequence's %zu lambdas (%s .. %s) finished%s\n", done, m,
                m ? fmt(c.key.lambdas.front()).c_str() : "-", m ? fmt(c.key.lambdas.back()).c_str() : "-",
                done < m && iteration > 0 ? ("; the next (index " + std::to_string(done) + ", lambda " +
                                             fmt(c.key.lambdas[done]) + ") saved after " + std::to_string(iteration) +
                                             " ADMM iteration(s)").c_str() : "");
  } else {
    std::printf("  progress    lambda %s, saved after %d ADMM iteration(s)\n", fmt(c.key.lambda).c_str(), iteration);
  }
  std::printf("  resume      (if its run did not end) the same command with --checkpoint %s --resume: at %d rank(s)\n"
              "              bit for bit as the uninterrupted run, at another count from the same point\n",
              path.c_str(), c.n_ranks);
}

// One fold of an array's cv (`cv --fold F`) and a prediction: what they are and where they go.
void print_other(const std::string& path, FileKind kind) {
  const io::Handle file = io::open_file_read(path, MPI_COMM_NULL, "file");
  const hid_t f = file.get();
  std::vector<std::int64_t> shape;
  if (kind == FileKind::fold) {
    const std::vector<double> lambdas = io::read_doubles(f, "cv/lambda", shape, "fold file", path);
    std::printf("%s (%s): a cadmm cv fold file, fold %lld of %lld (one task of a job array), %zu lambdas\n"
                "  problem     %s\n"
                "  use         cadmm cv ... --collect 'FOLD_FILES' with the same data, folds and options\n",
                path.c_str(), size_of(path).c_str(), static_cast<long long>(number(f, "fold")),
                static_cast<long long>(number(f, "folds")), lambdas.size(), io::read_string_attribute(f, "key").c_str());
    return;
  }
  const io::Handle ds(H5Dopen2(f, "prediction", H5P_DEFAULT), H5Dclose);
  shape = ds.valid() ? io::dataset_shape(ds.get()) : std::vector<std::int64_t>{};
  std::string dims;
  for (std::size_t i = 0; i < shape.size(); ++i) dims += (i ? " x " : "") + std::to_string(shape[i]);
  double mse = 0, r2 = 0;
  const bool scored = io::read_number_attribute(f, "mse", mse) && io::read_number_attribute(f, "r2", r2);
  std::printf("%s (%s): a cadmm prediction, /prediction %s, of model %s (lambda %s) on %s%s\n", path.c_str(),
              size_of(path).c_str(), dims.c_str(), io::read_string_attribute(f, "model").c_str(),
              fmt(number(f, "lambda")).c_str(), io::read_string_attribute(f, "data").c_str(),
              scored ? ("; MSE " + fmt(mse) + ", R^2 " + fmt(r2)).c_str() : "");
}

}  // namespace

int run_info(const Args& args, MpiCommunicator& comm) {
  const std::optional<InfoRequest> req = parse_request(args, comm);
  if (!req) return 0;
  if (const FileKind kind = file_kind(req->file); kind != FileKind::data) {
    collectively(comm, [&] {
      if (comm.rank() != 0) return;
      if (kind == FileKind::result) print_result(req->file);
      else if (kind == FileKind::checkpoint) print_checkpoint(req->file);
      else print_other(req->file, kind);
    });
    return 0;
  }
  std::unique_ptr<io::DataReader> reader;
  collectively(comm, [&] {
    reader = std::make_unique<io::DataReader>(req->file, req->x_dataset, req->y_dataset, comm.handle(),
                                               req->y_optional, req->select);
  });
  if (req->read_test) read_test(*reader, comm);
  if (comm.rank() != 0) return 0;
  print_data(req->file, reader->layout());
  // Whether it fits on a node like this one (its control group's limit included, as solve sees it), ranks packed
  // one per core.
  const int per_node = std::max(1, std::min(req->ranks, static_cast<int>(std::thread::hardware_concurrency())));
  const double budget = memory_budget(per_node);
  const PlanTotals totals = print_rank_plans(*reader, req->ranks, budget);
  print_plan_notes(totals, per_node, budget);
  return 0;
}

}  // namespace cadmm::cli
