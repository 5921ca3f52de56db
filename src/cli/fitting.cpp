#include "cli/fitting.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <thread>

#include "cadmm/error.hpp"
#include "cli/report.hpp"

namespace cadmm::cli {

po::options_description checkpoint_options() {
  po::options_description o("Checkpoints");
  o.add_options()
    ("checkpoint", po::value<std::string>()->value_name("FILE"),
     "write the solver state here every --checkpoint-every iterations and when interrupted")
    ("checkpoint-every", po::value<int>()->default_value(100)->value_name("N"),
     "ADMM iterations between checkpoints (a path also saves between lambdas once N iterations and "
     "coordinate-descent sweeps have passed)")
    ("resume", "continue from --checkpoint FILE if it exists (else start from zero)");
  return o;
}

CheckpointOptions checkpoint_from(const po::variables_map& vm, bool working_sets) {
  CheckpointOptions c;
  c.file = vm.count("checkpoint") ? vm["checkpoint"].as<std::string>() : "";
  c.every = vm["checkpoint-every"].as<int>();
  c.resume = vm.count("resume") > 0;
  if (c.resume && c.file.empty()) throw UsageError("--resume: needs --checkpoint FILE");
  if (c.every < 1) throw UsageError("--checkpoint-every: must be >= 1");
  const std::string form = vm.count("local-solver") ? vm["local-solver"].as<std::string>() : "auto";
  if (!c.file.empty() && (form == "streamed" || (form == "screened" && !working_sets)))
    throw UsageError("--checkpoint: the " + form + " form cannot be checkpointed " +
                     (form == "streamed" ? "(it serves one solve, whose restricted problems' state is not the full problem's)"
                                         : "here: only a path of an l1-type penalty without feature groups checkpoints its "
                                           "working sets") +
                     "; use --local-solver auto, which plans a form that can, or leave out --checkpoint");
  return c;
}

DataId data_id(const po::variables_map& vm, const io::DataLayout& layout) {
  // y minus an offset, or weighted rows, are other data than y: the checkpoint and fold keys name them.
  std::string y = layout.offset_name.empty() ? layout.y_name : layout.y_name + " - offset " + layout.offset_name;
  if (!layout.weights_name.empty()) y += " weighted by " + layout.weights_name;
  return DataId{vm["data"].as<std::string>(), layout.x_name, y, layout.rows, layout.features, layout.targets};
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

std::optional<po::variables_map> parse_fit_options(const char* command, const Args& args, const char* usage, bool one_lambda,
                                                   const po::options_description& extra, MpiCommunicator& comm) {
  po::options_description out("Output");
  out.add_options()("output,o", po::value<std::string>()->default_value("result.h5")->value_name("FILE"),
                    "result file (written to a temporary name, then renamed)");
  po::options_description desc;
  desc.add(general_options()).add(data_options()).add(model_options(one_lambda));
  if (!one_lambda) desc.add(lambda_sequence_options());
  desc.add(solver_options()).add(out).add(extra);
  auto vm = parse(command, args, desc);
  if (vm.count("help")) {
    if (comm.rank() == 0) std::cout << usage << desc << std::endl;
    return std::nullopt;
  }
  if (!vm.count("data")) throw UsageError("--data: required (the HDF5 file with X and y)");
  // Options read only once the data are in hand, checked before: a usage error costs no read.
  parse_local_solver(vm["local-solver"].as<std::string>());
  if (!(vm["progress-seconds"].as<double>() >= 0)) throw UsageError("--progress-seconds: must be >= 0");
  return vm;
}

namespace {

// The sample's sums, reduced as the streamed form reduces rows: each rank reads a share of kSampleRows in eight
// blocks spread over its range (sorted files are common); collective.
PreparedData row_sample(const io::DataReader& reader, RowRange range, const io::DataLayout& layout,
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

// Rank 0's `size` values to every rank.
void broadcast_values(std::vector<double>& values, double size, MpiCommunicator& comm) {
  comm.broadcast(&size, sizeof size, 0);
  values.resize(static_cast<std::size_t>(size));
  comm.broadcast(values.data(), sizeof(double) * values.size(), 0);
}

// The features --exclude names (every feature of that name, blanks around names ignored); UsageError when the data
// names no features or not this one.
std::vector<long long> named_features(const std::string& name, const io::DataLayout& layout) {
  const std::vector<std::string>& names = layout.feature_names;
  if (names.empty())
    throw UsageError("--exclude: '" + name + "' is not a feature number (0-based, as J,K or J-K), and the data names no "
                     "features to look it up in (--feature-names-dataset PATH gives their names)");
  std::vector<long long> found;
  std::string alike;  // the first name equal to it but for case, to suggest
  const auto lower = [](std::string t) {
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return t;
  };
  for (std::size_t j = 0; j < names.size(); ++j) {
    const std::string given = trim(names[j]);
    if (given == name) found.push_back(static_cast<long long>(j));
    else if (alike.empty() && lower(given) == lower(name)) alike = names[j];
  }
  if (!found.empty()) return found;
  std::string list;
  for (std::size_t i = 0; i < names.size() && i < 8; ++i) list += (i ? ", " : "") + names[i];
  throw UsageError("--exclude: '" + name + "' is neither a 0-based number, a J-K range nor a feature's name in " +
                   layout.names_from + " (" + std::to_string(names.size()) + " names: " + list +
                   (names.size() > 8 ? ", ..." : "") + ")" + (alike.empty() ? "" : "; names match by case: '" + alike + "'?"));
}

// A number or range of --exclude that is also a feature's name, at another place: the number is what counts.
void warn_number_named(const std::string& item, const io::DataLayout& layout) {
  const std::vector<std::string>& names = layout.feature_names;
  for (std::size_t j = 0; j < names.size(); ++j)
    if (trim(names[j]) == item && item != std::to_string(j)) {
      warn("--exclude: '" + item + "' is read as 0-based feature numbers, but feature " + std::to_string(j) +
           " is named '" + item + "' (numbers are positions): give " + std::to_string(j) + " to exclude that one");
      return;
    }
}

}  // namespace

void read_feature_datasets(const po::variables_map& vm, FitRequest& request, MpiCommunicator& comm) {
  const std::pair<const std::string*, std::pair<const char*, std::vector<double>*>> wanted[] = {
      {&request.datasets.penalty_factor, {"penalty-factor-dataset", &request.spec.penalty_factor}},
      {&request.datasets.lower_limits, {"lower-limits", &request.spec.lower_limits}},
      {&request.datasets.upper_limits, {"upper-limits", &request.spec.upper_limits}},
      {&request.datasets.groups, {"groups-dataset", &request.spec.groups}},
      {&request.datasets.group_weights, {"group-weights-dataset", &request.spec.group_weights}}};
  for (const auto& want : wanted) {
    const std::string& name = *want.first;
    const char* option = want.second.first;
    std::vector<double>& values = *want.second.second;
    if (name.empty()) continue;
    double size = 0;
    collectively(comm, [&] {
      if (comm.rank() != 0) return;
      values = io::read_vector_dataset(vm["data"].as<std::string>(), name, option);
      size = static_cast<double>(values.size());
    });
    broadcast_values(values, size, comm);
    request.spec.from_data[option] = name;
  }
  // --exclude: rank 0 reads the data's names of its features (those the fit reads, after --x-columns), and every rank
  // adds the numbers of the names given.
  if (!request.exclude_names.empty() || !request.exclude_numbers.empty()) {
    std::vector<double> numbers;
    double size = 0;
    collectively(comm, [&] {
      if (comm.rank() != 0) return;
      const io::DataReader reader(vm["data"].as<std::string>(), vm["x-dataset"].as<std::string>(),
                                  vm["y-dataset"].as<std::string>(), MPI_COMM_SELF, true, selection_from(vm));
      for (const std::string& item : request.exclude_numbers) warn_number_named(item, reader.layout());
      for (const std::string& name : request.exclude_names)
        for (long long j : named_features(name, reader.layout())) numbers.push_back(static_cast<double>(j));
      size = static_cast<double>(numbers.size());
    });
    broadcast_values(numbers, size, comm);
    for (double j : numbers) request.spec.exclude.push_back(static_cast<long long>(j));
  }
  // glmnet's rule: a penalty factor of inf keeps its feature out (an exclude), and then counts as 1.
  std::vector<double>& factors = request.spec.penalty_factor;
  std::vector<long long>& exclude = request.spec.exclude;
  const bool every_inf = !factors.empty() && std::all_of(factors.begin(), factors.end(), [](double f) {
    return std::isinf(f) && f > 0;
  });
  for (std::size_t j = 0; j < factors.size() && !every_inf; ++j)
    if (std::isinf(factors[j]) && factors[j] > 0) factors[j] = 1, exclude.push_back(static_cast<long long>(j));
  // Sorted and once each: the same terms, and digest, as the equivalent --exclude.
  std::sort(exclude.begin(), exclude.end());
  exclude.erase(std::unique(exclude.begin(), exclude.end()), exclude.end());
  collectively(comm, [&] {
    if (every_inf)
      throw DataError("--penalty-factor-dataset (dataset '" + request.datasets.penalty_factor +
                      "'): every factor is inf: every feature would be excluded");
    request.spec.validate();
  });
}

LoadedData load_data(const po::variables_map& vm, MpiCommunicator& comm, const PieceMap& piece_map,
                     const FitRequest* fit, Screen screen) {
  const double buffer_mb = vm["read-buffer-mb"].as<double>();
  if (!(buffer_mb > 0)) throw UsageError("--read-buffer-mb: must be > 0");
  const std::size_t bytes = static_cast<std::size_t>(buffer_mb * (1 << 20));
  Stopwatch clock;
  std::unique_ptr<io::DataReader> reader;
  collectively(comm, [&] {
    reader = std::make_unique<io::DataReader>(vm["data"].as<std::string>(), vm["x-dataset"].as<std::string>(),
                                               vm["y-dataset"].as<std::string>(), comm.handle(), false,
                                               selection_from(vm));
    if (vm.count("offset-dataset"))
      reader->set_offset(vm["offset-dataset"].as<std::string>(), reader->layout().targets, true);
    if (vm.count("weights-dataset")) reader->set_weights(vm["weights-dataset"].as<std::string>());
  });
  LoadedData d;
  d.layout = reader->layout();
  // Names that repeat cannot tell those features apart: predict checks the data's features by name.
  if (comm.rank() == 0 && !d.layout.feature_names.empty()) {
    std::map<std::string, std::vector<std::size_t>> at;
    for (std::size_t j = 0; j < d.layout.feature_names.size(); ++j) at[d.layout.feature_names[j]].push_back(j);
    std::size_t repeated = 0;
    std::string first;
    for (const auto& [name, columns] : at)
      if (columns.size() > 1 && repeated++ == 0)
        first = "'" + name + "' (columns " + std::to_string(columns[0]) + " and " + std::to_string(columns[1]) + ")";
    if (repeated > 0)
      warn("feature names repeat in " + d.layout.names_from + " (" + std::to_string(repeated) + " name(s); the first " +
           first + "): the model cannot tell those features apart by name, and predict will not notice them swapped "
           "(anndata: adata.var_names_make_unique())");
  }
  if (const std::string layout = io::layout_warning(d.layout); comm.rank() == 0 && !layout.empty()) warn(layout);
  collectively(comm, [&] { d.range = reader->partition(comm.rank(), comm.size()); });
  std::int64_t nnz = 0;
  collectively(comm, [&] { nnz = d.layout.sparse ? reader->nnz_in(d.range) : d.range.size() * d.layout.features; });
  PlanRequest request;
  request.requested = parse_local_solver(vm["local-solver"].as<std::string>());
  // A checkpoint holds the full problem's exact state, which a working-set form's restricted solves are not: a solve
  // that checkpoints plans the plain forms. A path's can (its checkpoints keep the finished lambdas, the columns the
  // working sets hold and a lambda stopped inside them as not begun), and its lambdas still go side by side.
  request.screen = fit && (screen == Screen::path || !vm.count("checkpoint")) ? screen : Screen::none;
  if (fit) request.lambda = fit->lambda;
  request.folds = static_cast<bool>(piece_map);
  request.bounded = fit && (!fit->spec.lower_limits.empty() || !fit->spec.upper_limits.empty());
  // The plan refuses what cannot fit, and a shape the file cannot back, before anything (fold numbers included) is
  // allocated; with folds, it checks again once their number is known.
  d.plan = make_plan(d.range.size(), nnz, d.layout.shape(), request, memory_budget(comm.ranks_on_node()), comm);
  collectively(comm, [&] { reader->verify_stored(); });
  d.plan.decide_by_sample(d.layout.shape(), request, [&] {
    return row_sample(*reader, d.range, d.layout, bytes, fit->spec, comm);
  }, comm);
  const Pieces pieces = piece_map ? piece_map(*reader, d.range) : Pieces{};
  d.plan.set_pieces(pieces.count, d.layout.shape(), comm);
  if (pieces.count <= 1 && fit && screen == Screen::path) d.plan.plan_gather(d.layout.shape());  // lambdas side by side
  d.planned_bytes = d.plan.rank.memory_bytes;
  comm.max(&d.planned_bytes, 1);
  const LocalForm form = d.plan.rank.form;
  d.builder = std::make_unique<LocalDataBuilder>(d.range.size(), d.layout.features, d.layout.targets, pieces.count,
                                                 form, d.layout.x_float32, d.plan.rank.fold_rows,
                                                 d.plan.rank.fold_cache_bytes);
  d.builder->keep_projections(d.range.begin);
  if (d.plan.rank.fold_rows) {
    std::vector<std::int64_t> count(static_cast<std::size_t>(pieces.count), 0);
    for (int p : pieces.of_row) ++count[static_cast<std::size_t>(p)];
    for (int p = 0; p < pieces.count; ++p) d.builder->reserve_piece(p, count[static_cast<std::size_t>(p)]);
  }
  d.builder->fetch_with_sums(d.plan.first_set);  // the streamed form only
  std::int64_t at = 0;
  const bool weighted = !d.layout.weights_name.empty();
  std::vector<double> w;
  // Bytes of rank 0's rows as stored: X's values (with a CSR entry's column index), y's.
  const double per_row = (d.layout.sparse ? (8.0 + 4.0) * static_cast<double>(nnz) / std::max<double>(1.0, static_cast<double>(d.range.size()))
                                          : (d.layout.x_float32 ? 4.0 : 8.0) * static_cast<double>(d.layout.features)) +
                         8.0 * static_cast<double>(d.layout.targets);
  ReadProgress reading(comm.rank() == 0 && !vm.count("quiet"), vm["progress-seconds"].as<double>(), d.range.size(), per_row);
  const auto add = [&](auto& x, RowMatrix& y) {
    if (weighted) reader->read_weights(d.range.begin + at, x.rows(), w);
    Stopwatch acc;
    d.builder->add_rows(x, y, pieces.of_row.empty() ? nullptr : pieces.of_row.data() + at, weighted ? w.data() : nullptr);
    at += x.rows();
    d.accumulate_seconds += acc.lap();
    reading.rows_read(at);
  };
  if (comm.rank() == 0 && !vm.count("quiet")) {
    std::printf("reading %lld rows x %lld features (%s) from %s on %d rank(s): %s%s\n",
                static_cast<long long>(d.layout.rows), static_cast<long long>(d.layout.features),
                d.layout.sparse ? (std::to_string(d.layout.nnz) + " nonzeros").c_str() : "dense",
                d.layout.file.c_str(), comm.size(), to_string(form).c_str(),
                d.plan.reason.empty() ? "" : (" (" + d.plan.reason + ")").c_str());
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
  double streams = reads_rows_again(form) ? 1.0 : 0.0;
  comm.max(&streams, 1);
  if (streams > 0) {
    d.file = std::shared_ptr<const io::DataReader>(std::move(reader));
    if (reads_rows_again(form))
      d.stream = [file = d.file, range = d.range, bytes](const std::function<void(const RowMatrix&)>& sink) {
        file->read_rows(range, bytes, [&](RowMatrix& x, RowMatrix&) { sink(x); }, true);
      };
  } else {
    d.plan.first_set.clear();
  }
  reader.reset();
  d.read_seconds = clock.lap() - d.accumulate_seconds;
  return d;
}

bool working_sets_serve(const FitRequest& request) {
  return request.spec.has_l1() && request.spec.groups.empty();
}

DataModel load_model(const po::variables_map& vm, const FitRequest& request, MpiCommunicator& comm, Phases& t,
                     Screen screen) {
  const ExitOnInterrupt reading(kReadingData);
  Stopwatch clock;
  LoadedData loaded = load_data(vm, comm, {}, working_sets_serve(request) ? &request : nullptr, screen);
  t.read = loaded.read_seconds;
  clock.lap();
  DataModel dm;
  dm.layout = loaded.layout;
  RowSums sums = std::move(*loaded.builder).take();
  if (loaded.stream) sums.set_stream(std::move(loaded.stream));
  dm.file = std::move(loaded.file);
  dm.model = make_model(prepare(std::move(sums), request.spec, comm), comm);
  dm.model.first_set = std::move(loaded.plan.first_set);
  dm.planned_bytes = loaded.planned_bytes;
  dm.gathers_rows = loaded.plan.rank.gathers_rows;
  loaded.builder.reset();
  t.setup = clock.lap() + loaded.accumulate_seconds;
  dm.kinds = solver_kinds(dm.model, comm);
  return dm;
}

po::options_description relax_options(bool with_gamma) {
  po::options_description o("Relaxed fits");
  o.add_options()("relax", boolean(),
                  "also fit glmnet's relaxed lasso: for each lambda, least squares without penalty on the features its "
                  "fit keeps (default false)");
  if (with_gamma)
    o.add_options()("gamma", po::value<std::string>()->default_value("0,0.25,0.5,0.75,1")->value_name("G1,G2,..."),
                    "with --relax: the blends gamma fit + (1 - gamma) relaxed to cross-validate, in [0, 1] (glmnet's "
                    "gamma)");
  return o;
}

bool relax_from(const po::variables_map& vm, const ProblemSpec& spec) {
  const bool relax = bool_option(vm, "relax", false);
  if (relax && !spec.has_l1())
    throw UsageError("--relax: a penalty without an l1 part keeps every feature, so there is nothing to relax (use "
                     "--penalty l1, elasticnet or l21)");
  return relax;
}

void check_outputs(const po::variables_map& vm, const std::string& output, const std::string& checkpoint,
                   MpiCommunicator& comm) {
  const std::string data = vm["data"].as<std::string>();
  collectively(comm, [&] {
    if (comm.rank() != 0) return;
    io::check_output_path(output, "--output", {data});
    if (!checkpoint.empty()) io::check_checkpoint_path(checkpoint, data, output, vm.count("resume") > 0);
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

io::RunFacts run_facts(const PreparedData& data, const io::DataLayout& layout, const Communicator& comm,
                       double solve_seconds, const std::string& command) {
  io::RunFacts facts;
  facts.spec = data.spec;
  facts.tied_columns = data.tied_columns;
  facts.command = command;
  facts.n_ranks = comm.size();
  facts.n_rows = layout.rows;
  facts.n_features = layout.features;
  facts.n_targets = layout.targets;
  facts.y_is_1d = layout.y_is_1d;
  facts.solve_seconds = solve_seconds;
  facts.offset_dataset = layout.offset_name;
  facts.weights_dataset = layout.weights_name;
  facts.data_file = layout.file;
  facts.x_dataset = layout.x_name;
  if (layout.table_columns == 0) facts.y_dataset = layout.y_name;
  facts.feature_names = layout.feature_names;
  return facts;
}

double peak_memory(Communicator& comm) {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  double peak = static_cast<double>(u.ru_maxrss) * 1024.0;  // kilobytes on Linux
  comm.max(&peak, 1);
  return peak;
}

void print_times(const Phases& t, const std::string& output) {
  std::printf("  time        read %.3fs | setup/factor %.3fs | iterations %.3fs (communication %.3fs) | write %.3fs\n",
              t.read, t.setup, t.iterations, t.communication, t.write);
  if (t.peak_bytes > 0) std::printf("  memory      peak %.1f MiB resident (the largest rank)\n", t.peak_bytes / (1 << 20));
  std::printf("  output      %s\n", output.c_str());
  std::fflush(stdout);
}

void print_factors(const FactorLog& f) {
  if (f.cholesky == 0 && f.eigen == 0) {
    std::printf("  factor      none (no ADMM x-update needed one; gradients and active sets read the sums)\n");
  } else {
    std::printf("  factor      %d Cholesky (one per rho of the x-updates)", f.cholesky);
    if (f.eigen > 0)
      std::printf(", %d eigendecomposition(s) (after %s Cholesky, one decomposition serving every rho is cheaper)",
                  f.eigen, fmt(kEigenOverCholesky, "%.0f").c_str());
    std::printf("\n");
  }
}

namespace {
// Feature j as summaries name it: its name (quoted when it holds a comma or a space), or xJ (0-based) without names.
std::string feature_name(const std::vector<std::string>& names, Eigen::Index j) {
  std::string name = names.empty() ? "x" + std::to_string(j) : names[static_cast<std::size_t>(j)];
  if (name.find_first_of(", ") != std::string::npos) name = "'" + name + "'";
  return name;
}
}  // namespace

void print_largest(const Matrix& coef, const std::vector<std::string>& names) {
  std::vector<std::pair<double, Eigen::Index>> by_size;
  for (Eigen::Index j = 0; j < coef.rows(); ++j) {
    const double size = coef.row(j).cwiseAbs().maxCoeff();
    if (size > 0) by_size.emplace_back(size, j);
  }
  if (by_size.empty()) return;
  const std::size_t shown = std::min<std::size_t>(5, by_size.size());
  std::partial_sort(by_size.begin(), by_size.begin() + static_cast<std::ptrdiff_t>(shown), by_size.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  std::string line;
  for (std::size_t i = 0; i < shown; ++i) {
    const Eigen::Index j = by_size[i].second;
    const std::string name = feature_name(names, j);
    // One target: the signed value; several: the largest magnitude over them.
    line += (i ? ", " : "") + name + " " + fmt(coef.cols() == 1 ? coef(j, 0) : by_size[i].first, "%.4g");
  }
  std::printf("  largest     %s%s\n", line.c_str(), coef.cols() == 1 ? "" : " (largest |coefficient| over the targets)");
}

void print_problem(const ProblemSpec& spec, double lambda_max, const io::RunFacts& facts, const PreparedData& p,
                   const std::string& kinds, double planned_bytes) {
  const bool shared = spec.penalty == Penalty::elasticnet || spec.penalty == Penalty::l21;
  std::printf("  problem     %s%s, lambda_max %s\n", to_string(spec.penalty).c_str(),
              shared ? (", l1_ratio " + fmt(spec.effective_l1_ratio())).c_str() : "", fmt(lambda_max).c_str());
  std::printf("  data        %lld rows x %lld features, %lld target(s); %d rank(s): %s\n",
              static_cast<long long>(facts.n_rows), static_cast<long long>(facts.n_features),
              static_cast<long long>(facts.n_targets), facts.n_ranks, kinds.c_str());
  if (p.constant_columns > 0) std::printf("              %d constant column(s) get coefficient 0\n", p.constant_columns);
  if (!p.tied_columns.empty()) {
    std::string pairs;
    for (std::size_t i = 0; i < std::min<std::size_t>(3, p.tied_columns.size()); ++i)
      pairs += (i ? ", " : "") + feature_name(facts.feature_names, p.tied_columns[i].first) + " ties " +
               feature_name(facts.feature_names, p.tied_columns[i].second);
    const std::string upto = std::string("sign") + (spec.fit_intercept ? ", shift" : "") +
                             (spec.standardize || !spec.penalty_factor.empty() ? ", scale" : "");
    std::printf("              %zu column(s) equal to an earlier one (up to %s) get coefficient 0: any split between "
                "equal columns is optimal, and the first takes it all, as glmnet's and scikit-learn's coordinate "
                "descent do up to rounding (%s%s; all in /tied_columns)\n",
                p.tied_columns.size(), upto.c_str(), pairs.c_str(), p.tied_columns.size() > 3 ? ", ..." : "");
  }
  if (!facts.weights_dataset.empty())
    std::printf("  weights     %s, summing to %s over these rows (rescaled to sum to the rows, as glmnet)\n",
                facts.weights_dataset.c_str(), fmt(p.n_weight).c_str());
  if (spec.per_feature()) {
    std::string terms;
    const auto add = [&](const std::string& t) { terms += (terms.empty() ? "" : "; ") + t; };
    if (!spec.penalty_factor.empty()) {
      const auto zero = std::count(spec.penalty_factor.begin(), spec.penalty_factor.end(), 0.0);
      add("penalty factors given (rescaled to sum to d), " + std::to_string(zero) + " unpenalized");
    }
    // Every excluded feature, constant ones too (they were counted as constant only: an empty line for one); the
    // list holds each once (read_feature_datasets). The first few by name, as --exclude may give them.
    if (!spec.exclude.empty()) {
      std::string which;
      for (std::size_t i = 0; i < std::min<std::size_t>(6, spec.exclude.size()); ++i)
        which += (i ? ", " : "") + feature_name(facts.feature_names, static_cast<Eigen::Index>(spec.exclude[i]));
      add(std::to_string(spec.exclude.size()) + " excluded (coefficient 0): " + which +
          (spec.exclude.size() > 6 ? ", ..." : ""));
    }
    const auto bound = [](const std::vector<double>& v, bool low) {
      if (v.empty()) return std::string(low ? "-inf" : "inf");
      return v.size() == 1 ? fmt(v[0]) : std::string("per feature");
    };
    if (!spec.unbounded())
      add("coefficients within [" + bound(spec.lower_limits, true) + ", " + bound(spec.upper_limits, false) + "]");
    if (!spec.groups.empty()) {
      const std::vector<double> w = spec.group_weights_used();
      add(std::to_string(w.size()) + " feature groups, weights " +
          (spec.group_weights.empty() ? std::string("sqrt(group size)") : std::string("given")));
    }
    std::printf("  terms       %s\n", terms.c_str());
  }
  std::printf("  plan        %s per rank at most (cadmm info FILE --ranks P shows every rank's)\n",
              bytes_text(planned_bytes).c_str());
}

Eigen::Index nonzeros(const Matrix& coef) { return (coef.array() != 0).count(); }

}  // namespace cadmm::cli
