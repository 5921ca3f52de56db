#include "cli/fitting.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <thread>

#include "cadmm/error.hpp"
#include "cli/report.hpp"

namespace cadmm::cli {

namespace {

// The memory limit of this process's control group and of every group above it (cgroup v2 memory.max or v1
// memory.limit_in_bytes; Slurm confines a job's memory this way), or +infinity where none is set.
double cgroup_memory_limit() {
  double limit = std::numeric_limits<double>::infinity();
  std::ifstream groups("/proc/self/cgroup");
  std::string line;
  while (std::getline(groups, line)) {
    const std::size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    std::string root, file;
    if (controllers.empty()) {
      root = "/sys/fs/cgroup", file = "memory.max";
    } else if (("," + controllers + ",").find(",memory,") != std::string::npos) {
      root = "/sys/fs/cgroup/memory", file = "memory.limit_in_bytes";
    } else {
      continue;
    }
    for (;;) {
      std::ifstream in(root + path + "/" + file);
      double value = 0;
      if (in >> value && value > 0) limit = std::min(limit, value);  // "max" (no limit) does not parse
      if (path.empty() || path == "/") break;
      path = path.substr(0, path.find_last_of('/'));
    }
  }
  return limit;
}

// This rank's share of the node's memory, or of its control group's limit when lower (0: unknown).
double memory_share(const MpiCommunicator& comm) {
  const double node = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  return node > 0 ? std::min(node, cgroup_memory_limit()) / std::max(1, comm.ranks_on_node()) : 0;
}

// Throws UsageError when this rank's share of the node's memory cannot hold its local data.
void check_memory(LocalForm form, std::int64_t rows, std::int64_t nnz, const io::DataLayout& l, int pieces,
                  const MpiCommunicator& comm) {
  const double need = local_memory_bytes(form, rows, l.features, l.targets, nnz, pieces);
  const double share = memory_share(comm);
  if (share <= 0 || need <= 0.9 * share) return;
  const bool tall = form == LocalForm::gram;
  throw UsageError("this rank would need about " + fmt(need / (1 << 30), "%.1f") + " GiB for its local " +
                   (tall ? "Gram factorization" : "rows and their factorization") +
                   (pieces > 1 ? " and " + std::to_string(pieces) + " fold sums" : std::string()) + " but has " +
                   fmt(share / (1 << 30), "%.1f") + " GiB (its share of the node); " +
                   (tall ? "the Gram form needs d^2 doubles per fold whatever the rank count: use fewer ranks per node"
                         : "spread the rows over more nodes") +
                   " (plan: cadmm info FILE --ranks P)");
}

}  // namespace

po::options_description checkpoint_options() {
  po::options_description o("Checkpoints");
  o.add_options()
    ("checkpoint", po::value<std::string>()->value_name("FILE"),
     "write the solver state here every --checkpoint-every iterations and when interrupted")
    ("checkpoint-every", po::value<int>()->default_value(100)->value_name("N"), "iterations between checkpoints")
    ("resume", "continue from --checkpoint FILE if it exists (else start from zero)");
  return o;
}

CheckpointOptions checkpoint_from(const po::variables_map& vm) {
  CheckpointOptions c;
  c.file = vm.count("checkpoint") ? vm["checkpoint"].as<std::string>() : "";
  c.every = vm["checkpoint-every"].as<int>();
  c.resume = vm.count("resume") > 0;
  if (c.resume && c.file.empty()) throw UsageError("--resume: needs --checkpoint FILE");
  if (c.every < 1) throw UsageError("--checkpoint-every: must be >= 1");
  return c;
}

DataId data_id(const po::variables_map& vm, const io::DataLayout& layout) {
  return DataId{vm["data"].as<std::string>(), layout.x_name, layout.y_name, layout.rows, layout.features,
                layout.targets};
}

std::unique_ptr<io::CheckpointFile> checkpoint_store(const CheckpointOptions& c, const CheckpointKey& key,
                                                     MpiCommunicator& comm) {
  if (c.file.empty()) return nullptr;
  auto store = std::make_unique<io::CheckpointFile>(c.file, key, comm);
  store->every = c.every;
  store->resume = c.resume;
  return store;
}

PrintedProgress::PrintedProgress(bool verbose, double progress_seconds, std::string checkpoint, std::string command,
                                 int rank)
    : verbose_(verbose), checkpoint_(std::move(checkpoint)), rank_(rank), command_(std::move(command)),
      printer_(verbose, progress_seconds) {}

void PrintedProgress::resumed(const Resume* got) {
  if (!got) {
    if (verbose_) std::printf("no checkpoint at %s yet: starting from zero\n", checkpoint_.c_str());
    return;
  }
  if (rank_ == 0 && !got->note.empty()) warn(got->note);
  if (verbose_)
    std::printf("resuming from %s at iteration %d%s\n", got->file.c_str(), got->state.iteration,
                command_ == "path" ? (" of lambda " + std::to_string(got->done.fits.size() + 1)).c_str() : "");
}

void PrintedProgress::finish(const FitResult& r) {
  if (!r.admm.history.empty()) printer_.finish(r.admm.history.back());
}

void raise_if_interrupted(const AdmmResult& r, const std::string& where, const std::string& checkpoint) {
  if (r.status != Status::interrupted) return;
  const std::string what = "interrupted by a signal at " + where;
  if (checkpoint.empty())
    throw RuntimeFailure(what + "; no result was written (use --checkpoint FILE to keep progress)");
  throw RuntimeFailure(what + "; state saved to '" + checkpoint + "': run again with --resume");
}

std::string diverged_at(int iteration) {
  return "diverged (non-finite values or a residual growing without bound) at iteration " + std::to_string(iteration);
}

AdmmObserver base_observer(int rank) {
  AdmmObserver o;
  o.stop_requested = interrupt_requested;
  const char* spec = std::getenv("CADMM_FAULT");
  if (!spec || !*spec) return o;
  const std::string s = spec;
  const std::size_t at = s.find('@'), colon = s.find(':');
  const std::string kind = s.substr(0, at);
  int iteration = 0, on_rank = -1;
  char tail = 0;
  const bool ok = at != std::string::npos &&
                  std::sscanf(s.c_str() + at + 1, "%d%c", &iteration, &tail) >= 1 && iteration >= 1 &&
                  (colon == std::string::npos ? tail == 0 : tail == ':' && std::sscanf(s.c_str() + colon + 1, "%d", &on_rank) == 1) &&
                  (kind == "throw" || kind == "term" || kind == "kill" || kind == "nan" || kind == "grow" || kind == "slow");
  if (!ok) throw UsageError("CADMM_FAULT: expected KIND@ITERATION[:RANK] with KIND throw, term, kill, nan, grow or slow; got '" + s + "'");
  if (on_rank >= 0 && on_rank != rank) return o;
  o.before_step = [kind, iteration](int it, AdmmState& st) {
    if (kind == "grow" && it >= iteration) st.u *= 1e12;
    if (kind == "slow" && it >= iteration) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (it != iteration) return;
    if (kind == "throw") throw RuntimeFailure("injected fault (CADMM_FAULT)");
    if (kind == "term") std::raise(SIGTERM);
    if (kind == "kill") std::raise(SIGKILL);
    if (kind == "nan" && st.u.size() > 0) st.u(0, 0) = std::numeric_limits<double>::quiet_NaN();
  };
  return o;
}

std::optional<po::variables_map> parse_fit_options(const Args& args, const char* usage, bool one_lambda,
                                                   const po::options_description& extra, MpiCommunicator& comm) {
  po::options_description out("Output");
  out.add_options()("output,o", po::value<std::string>()->default_value("result.h5")->value_name("FILE"),
                    "result file (written to a temporary name, then renamed)");
  po::options_description desc;
  desc.add(general_options()).add(data_options()).add(model_options(one_lambda));
  if (!one_lambda) desc.add(lambda_sequence_options());
  desc.add(solver_options()).add(out).add(extra);
  auto vm = parse(args, desc);
  if (vm.count("help")) {
    if (comm.rank() == 0) std::cout << usage << desc << std::endl;
    return std::nullopt;
  }
  if (!vm.count("data")) throw UsageError("--data: required (the HDF5 file with X and y)");
  return vm;
}

namespace {

// Rows (over all ranks) of the sample that tells whether a working set pays: with 8,192 the share of features
// violating at zero came within 0.08 of the full data's on the benchmark problems (l21 with 10 targets reads
// highest: noise adds to every row norm), for a read of 8,192 x 8 d bytes.
constexpr std::int64_t kSampleRows = 8192;

// The sample's sums, reduced as the streamed form reduces rows: each rank reads a share of kSampleRows in eight
// blocks spread over its range (sorted files are common); collective.
PreparedProblem row_sample(const io::DataReader& reader, RowRange range, const io::DataLayout& layout,
                           std::size_t bytes, const ProblemSpec& spec, MpiCommunicator& comm) {
  const std::int64_t n = layout.rows, size = range.size();
  const std::int64_t want = std::min(size, (size * std::min(n, kSampleRows) + n - 1) / std::max<std::int64_t>(n, 1));
  const std::int64_t blocks = std::min<std::int64_t>(8, want), each = blocks > 0 ? want / blocks : 0;
  LocalDataBuilder sample(blocks * each, layout.features, layout.targets, 1, LocalForm::streamed, layout.x_float32);
  collectively(comm, [&] {
    for (std::int64_t b = 0; b < blocks; ++b) {
      const std::int64_t begin = range.begin + size * b / blocks;
      reader.read_rows({begin, begin + each}, bytes, [&](RowMatrix& x, RowMatrix& y) { sample.add_rows(x, y); });
    }
  });
  return prepare(std::move(sample).take(), spec, comm);
}

}  // namespace

LoadedData load_data(const po::variables_map& vm, MpiCommunicator& comm, const PieceMap& piece_map,
                     const FitRequest* screen) {
  const double buffer_mb = vm["read-buffer-mb"].as<double>();
  if (!(buffer_mb > 0)) throw UsageError("--read-buffer-mb: must be > 0");
  Stopwatch clock;
  std::unique_ptr<io::DataReader> reader;
  collectively(comm, [&] {
    reader = std::make_unique<io::DataReader>(vm["data"].as<std::string>(), vm["x-dataset"].as<std::string>(),
                                               vm["y-dataset"].as<std::string>(), comm.handle());
  });
  LoadedData d;
  d.layout = reader->layout();
  collectively(comm, [&] { d.range = reader->partition(comm.rank(), comm.size()); });
  const std::optional<LocalForm> requested = parse_local_solver(vm["local-solver"].as<std::string>());
  const double budget = 0.9 * memory_share(comm);
  LocalForm form =
      plan_local_form(d.range.size(), d.layout.features, d.layout.sparse, requested, screen != nullptr, budget);
  const std::size_t bytes = static_cast<std::size_t>(buffer_mb * (1 << 20));
  if (form == LocalForm::streamed && (d.layout.sparse || piece_map))
    throw UsageError("--local-solver streamed: only for dense X in solve and path");
  std::int64_t nnz = 0;
  // An out-of-memory kill would take the job down without a word: refuse a plan that cannot fit, and a shape the
  // file cannot back, before anything (fold numbers included) is allocated; with folds, check again once their
  // number is known.
  collectively(comm, [&] {
    nnz = d.layout.sparse ? reader->nnz_in(d.range) : d.range.size() * d.layout.features;
    check_memory(form, d.range.size(), nnz, d.layout, 1, comm);
    reader->verify_stored();
  });
  // A sample of the rows, before the one pass that counts, tells two things about a working-set solve. When most
  // features can leave zero at the requested lambda (correlated designs, small lambdas), a working set would take
  // them all after a pass that formed no Gram: the plan keeps the full Gram. Otherwise the streamed form sums the
  // columns of the first set with the rest, so its first round reads nothing again. Every rank takes part when any
  // could plan a working-set form (the test uses global facts only) and all reach the same answer.
  std::string why;
  std::vector<Eigen::Index> first;
  const bool may_stream = requested ? *requested == LocalForm::streamed : d.layout.features >= kStreamMinFeatures;
  if (screen && may_stream && !d.layout.sparse && d.layout.rows > 0) {
    const PreparedProblem sample = row_sample(*reader, d.range, d.layout, bytes, screen->spec, comm);
    // The sample only plans: the lambda it tests is the request resolved against the sample's own lambda_max.
    const double lambda = screen->lambda.resolve(lambda_max(sample)).front();
    const double share = violating_share_at_zero(sample, lambda);
    if (share <= kDenseStart) {
      first = first_working_set(sample, lambda);
    } else if (!requested) {  // asked for streamed, it streams: the working set will then take every feature
      form = plan_local_form(d.range.size(), d.layout.features, false, requested, false, budget);
      collectively(comm, [&] { check_memory(form, d.range.size(), nnz, d.layout, 1, comm); });
      why = " (in a sample of the rows " + fmt(100 * share, "%.0f") +
            "% of the features can leave zero: working sets would not pay)";
    }
  }
  const Pieces pieces = piece_map ? piece_map(*reader, d.range) : Pieces{};
  if (pieces.count > 1) collectively(comm, [&] { check_memory(form, d.range.size(), nnz, d.layout, pieces.count, comm); });
  d.builder = std::make_unique<LocalDataBuilder>(d.range.size(), d.layout.features, d.layout.targets, pieces.count,
                                                 form, d.layout.x_float32);
  d.builder->fetch_with_sums(first);  // the streamed form only
  std::int64_t at = 0;
  const auto add = [&](auto& x, RowMatrix& y) {
    // A long read must stop on SIGTERM too (Slurm's time limit), not only the solve loop.
    if (interrupt_requested()) throw RuntimeFailure("interrupted by a signal while reading the data; nothing was written");
    Stopwatch acc;
    d.builder->add_rows(x, y, pieces.of_row.empty() ? nullptr : pieces.of_row.data() + at);
    at += x.rows();
    d.accumulate_seconds += acc.lap();
  };
  if (comm.rank() == 0 && !vm.count("quiet")) {
    std::printf("reading %lld rows x %lld features (%s) from %s on %d rank(s): %s%s\n",
                static_cast<long long>(d.layout.rows), static_cast<long long>(d.layout.features),
                d.layout.sparse ? (std::to_string(d.layout.nnz) + " nonzeros").c_str() : "dense",
                d.layout.file.c_str(), comm.size(), to_string(form).c_str(), why.c_str());
    std::fflush(stdout);
  }
  collectively(comm, [&] {
    if (d.layout.sparse)
      reader->read_sparse_rows(d.range, bytes, [&](const SparseRows& x, RowMatrix& y) { add(x, y); });
    else
      reader->read_rows(d.range, bytes, [&](RowMatrix& x, RowMatrix& y) { add(x, y); });
  });
  // The streamed form reads its rows again for the working sets' products, so the file stays open. Closing a
  // parallel HDF5 file is collective (MPI_File_close): when any rank streams, every rank keeps it open until the
  // model goes, or a rank closing early waits for the others in a barrier they never reach (found with one rank
  // streamed and its neighbour, one row short of d, in the woodbury form).
  double streams = form == LocalForm::streamed ? 1.0 : 0.0;
  comm.max(&streams, 1);
  if (streams > 0) {
    d.first_set = std::move(first);
    d.file = std::shared_ptr<const io::DataReader>(std::move(reader));
    if (form == LocalForm::streamed)
      d.stream = [file = d.file, range = d.range, bytes](const std::function<void(const RowMatrix&)>& sink) {
        file->read_rows(range, bytes, [&](RowMatrix& x, RowMatrix&) { sink(x); }, true);
      };
  }
  reader.reset();
  d.read_seconds = clock.lap() - d.accumulate_seconds;
  return d;
}

DataModel load_model(const po::variables_map& vm, const FitRequest& request, MpiCommunicator& comm, Phases& t,
                     bool working_sets) {
  Stopwatch clock;
  // Working sets serve a penalty with an l1 part; a checkpoint holds the full problem's exact state.
  const bool screen = working_sets && request.spec.has_l1() && !vm.count("checkpoint");
  LoadedData loaded = load_data(vm, comm, {}, screen ? &request : nullptr);
  t.read = loaded.read_seconds;
  clock.lap();
  DataModel dm;
  dm.layout = loaded.layout;
  RowSums sums = std::move(*loaded.builder).take();
  if (loaded.stream) sums.set_stream(std::move(loaded.stream));
  dm.file = std::move(loaded.file);
  dm.model = make_model(prepare(std::move(sums), request.spec, comm), comm);
  dm.model.first_set = std::move(loaded.first_set);
  loaded.builder.reset();
  t.setup = clock.lap() + loaded.accumulate_seconds;
  dm.kinds = solver_kinds(dm.model, comm);
  return dm;
}

void check_outputs(const po::variables_map& vm, const std::string& output, const std::string& checkpoint,
                   MpiCommunicator& comm) {
  const std::string data = vm["data"].as<std::string>();
  collectively(comm, [&] {
    if (comm.rank() != 0) return;
    io::check_output_path(output, "--output", {data});
    if (!checkpoint.empty()) io::check_output_path(checkpoint, "--checkpoint", {data, output});
  });
}

std::string solver_kinds(const Model& model, Communicator& comm) {
  double kinds[kLocalForms + 1] = {};  // the forms, then ranks without rows
  kinds[model.local->rows() == 0 ? kLocalForms : static_cast<int>(model.form)] = 1;
  comm.sum(kinds, kLocalForms + 1);
  std::string text;
  for (int f = 0; f <= kLocalForms; ++f)
    if (kinds[f] > 0)
      text += (text.empty() ? "" : ", ") + fmt(kinds[f], "%.0f") + " " +
              (f == kLocalForms ? std::string("without rows") : to_string(static_cast<LocalForm>(f)));
  return text;
}

io::RunFacts run_facts(const ProblemSpec& spec, const io::DataLayout& layout, const Communicator& comm,
                       double solve_seconds, const std::string& command) {
  io::RunFacts facts;
  facts.spec = spec;
  facts.command = command;
  facts.n_ranks = comm.size();
  facts.n_rows = layout.rows;
  facts.n_features = layout.features;
  facts.n_targets = layout.targets;
  facts.y_is_1d = layout.y_is_1d;
  facts.solve_seconds = solve_seconds;
  return facts;
}

double peak_memory(Communicator& comm) {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  double peak = static_cast<double>(u.ru_maxrss) * 1024.0;  // kilobytes on Linux
  comm.max(&peak, 1);
  return peak;
}

void print_times(const Phases& t) {
  std::printf("  time        read %.3fs | setup/factor %.3fs | iterations %.3fs (communication %.3fs) | write %.3fs\n",
              t.read, t.setup, t.iterations, t.communication, t.write);
  if (t.peak_bytes > 0) std::printf("  memory      peak %.1f MiB resident (the largest rank)\n", t.peak_bytes / (1 << 20));
}

void print_problem(const ProblemSpec& spec, double lambda_max, const io::RunFacts& facts, const PreparedProblem& p,
                   const std::string& kinds) {
  const bool shared = spec.penalty == Penalty::elasticnet || spec.penalty == Penalty::l21;
  std::printf("  problem     %s%s, lambda_max %s\n", to_string(spec.penalty).c_str(),
              shared ? (", l1_ratio " + fmt(spec.effective_l1_ratio())).c_str() : "", fmt(lambda_max).c_str());
  std::printf("  data        %lld rows x %lld features, %lld target(s); %d rank(s): %s\n",
              static_cast<long long>(facts.n_rows), static_cast<long long>(facts.n_features),
              static_cast<long long>(facts.n_targets), facts.n_ranks, kinds.c_str());
  if (p.constant_columns > 0) std::printf("              %d constant column(s) get coefficient 0\n", p.constant_columns);
}

Eigen::Index nonzeros(const Matrix& coef) { return (coef.array() != 0).count(); }

}  // namespace cadmm::cli
