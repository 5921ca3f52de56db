#pragma once
// What solve, path and cv share: reading this rank's rows once (optionally into folds), the memory check,
// run facts, the solver-kind line and the time line of the summaries.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cadmm/drive.hpp"
#include "cadmm/mpi_communicator.hpp"
#include "cadmm/partition.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/report.hpp"
#include "io/checkpoint.hpp"
#include "io/dataset_reader.hpp"
#include "io/result_writer.hpp"

namespace cadmm::cli {

/// The observer every fitting command starts from: a signal stops the loop, and the test-only environment
/// variable CADMM_FAULT="KIND@ITERATION[:RANK]" injects a fault on one rank (every rank when RANK is left out)
/// before that iteration's local work: throw (an exception), term (SIGTERM to itself), kill (SIGKILL), nan (a NaN
/// in the dual variable), grow (the dual variable scaled up 1e12-fold each iteration from then on).
AdmmObserver base_observer(int rank);

/// --checkpoint FILE, --checkpoint-every N, --resume (solve and path).
po::options_description checkpoint_options();
/// The checkpoint options as given.
struct CheckpointOptions {
  std::string file;   ///< empty: no checkpoints
  int every = 100;    ///< iterations between checkpoints
  bool resume = false;
};
/// Reads them; UsageError for --resume without --checkpoint or --checkpoint-every < 1.
/// working_sets: the run may checkpoint a working-set form (a path of an l1-type penalty without feature groups).
CheckpointOptions checkpoint_from(const po::variables_map& vm, bool working_sets);
/// The data a run reads, as its key names it (--data as given, the datasets and the shape).
DataId data_id(const po::variables_map& vm, const io::DataLayout& layout);
/// The drivers' checkpoint store for these options and key (null without --checkpoint).
std::unique_ptr<io::CheckpointFile> checkpoint_store(const CheckpointOptions& c, const CheckpointKey& key,
                                                     MpiCommunicator& comm);

/// Reads the per-feature values a request names as datasets of the --data file (rank 0 reads, every rank gets them)
/// into its spec; collective. Their lengths are checked against the data's features when it is prepared.
void read_feature_datasets(const po::variables_map& vm, FitRequest& request, MpiCommunicator& comm);

/// What solve and path print of a run besides their own lines: the per-iteration progress (solve), and a resume.
class PrintedProgress : public ProgressSink {
 public:
  /// verbose: rank 0 without --quiet; progress_seconds: --progress-seconds; command: solve or path.
  PrintedProgress(bool verbose, double progress_seconds, std::string checkpoint, std::string command, int rank);
  void resumed(const Resume* from) override;
  void iteration(const IterationRecord& r) override { printer_(r); }
  /// Prints the last record of a solve if it was not printed yet.
  void finish(const FitResult& r);

 protected:
  bool verbose_;
  std::string checkpoint_;
  int rank_;
  std::string command_;
  ProgressPrinter printer_;
};

/// Throws the RuntimeFailure of an interrupted run ("interrupted by a signal at WHERE; ..."), saying whether its
/// state was saved to the checkpoint; does nothing when r was not interrupted.
void raise_if_interrupted(const AdmmResult& r, const std::string& where, const std::string& checkpoint);

/// "diverged (...) at iteration N": the one wording of a breakdown, for the error message.
std::string diverged_at(int iteration);

/// How this rank's rows split into pieces (folds): the count and each local row's piece.
struct Pieces {
  int count = 1;
  std::vector<int> of_row;  ///< empty: every row in piece 0
};
/// Computes the pieces once the data file is open (e.g. reads a fold dataset); collective.
using PieceMap = std::function<Pieces(const io::DataReader&, RowRange)>;

/// Parses a fitting command's options: general, data, model (with --lambda/--lambda-ratio when one_lambda, else
/// the lambda sequence), solver, --output, then `extra`. Prints usage and the options and returns nullopt on
/// --help; throws UsageError without --data.
std::optional<po::variables_map> parse_fit_options(const char* command, const Args& args, const char* usage, bool one_lambda,
                                                   const po::options_description& extra, MpiCommunicator& comm);

/// This rank's rows, read once.
struct LoadedData {
  io::DataLayout layout;
  RowRange range;
  std::unique_ptr<LocalDataBuilder> builder;
  RowStream stream;  ///< the streamed form: reads this rank's rows again
  std::shared_ptr<const io::DataReader> file;  ///< open while any rank streams (see DataModel::file)
  Plan plan;  ///< this rank's plan (first_set: while any rank streams, the features whose columns came with the sums)
  double planned_bytes = 0;  ///< the largest rank's planned memory (info prints the same figure per rank)
  double read_seconds = 0;  ///< reading, without the Gram updates done while reading
  double accumulate_seconds = 0;  ///< Gram updates done while reading (setup)
};

/// Opens --data, checks the plan fits in memory, and streams this rank's rows into a builder; collective. fit:
/// the fit (with an l1 part) that working sets would serve, or null, and `screen` how (plan_local_form): for one fit,
/// tall dense blocks are planned for working sets unless a sample of the rows shows most features violating at zero.
LoadedData load_data(const po::variables_map& vm, MpiCommunicator& comm, const PieceMap& pieces = {},
                     const FitRequest* fit = nullptr, Screen screen = Screen::none);

/// Distinct phases of a run, for the summary.
struct Phases {
  double read = 0, setup = 0, iterations = 0, communication = 0, write = 0;
  double peak_bytes = 0;  ///< peak resident memory of the largest rank (peak_memory)
};
/// The largest peak resident set size over the ranks, in bytes; collective.
double peak_memory(Communicator& comm);
/// The rows read once and the Model built on them, for solve and path.
struct DataModel {
  /// The data file, kept open on every rank while some rank's model streams from it (closing it is collective);
  /// declared first, so it closes after the model, at the same point on every rank.
  std::shared_ptr<const io::DataReader> file;
  io::DataLayout layout;
  Model model;
  double planned_bytes = 0;  ///< the largest rank's planned memory
  bool gathers_rows = false;  ///< this rank's plan holds every row beside its own (RankPlan::gathers_rows)
  std::string kinds;  ///< solver_kinds() of the model
};
/// True where working sets (and a path's lambdas side by side) can serve the fit: a penalty with an l1 part and no
/// groups (the sets add features one by one). A solve with --checkpoint plans no working-set form (load_data); a path
/// may (its checkpoints keep the sets' columns).
bool working_sets_serve(const FitRequest& request);
/// load_data() then prepare() and make_model(); fills t.read and t.setup; collective. screen: what the plan's
/// working-set forms would serve (solve: one fit, without a checkpoint; path: its lambdas), where working_sets_serve().
DataModel load_model(const po::variables_map& vm, const FitRequest& request, MpiCommunicator& comm, Phases& t,
                     Screen screen);

/// Refuses (UsageError, on every rank) a --output or --checkpoint that cannot be written, before any work.
void check_outputs(const po::variables_map& vm, const std::string& output, const std::string& checkpoint,
                   MpiCommunicator& comm);

/// "2 gram, 1 woodbury, 1 without rows": which local solver the ranks use; collective.
std::string solver_kinds(const Model& model, Communicator& comm);

/// Facts the result file records besides the fit (data: the fitted data's, its spec and tied columns).
io::RunFacts run_facts(const PreparedData& data, const io::DataLayout& layout, const Communicator& comm,
                       double solve_seconds, const std::string& command);

/// The summary's last lines: times, peak memory and the output file.
void print_times(const Phases& t, const std::string& output);
/// The summary's factor line: which factorizations the x-updates made (rank 0's), and why.
void print_factors(const FactorLog& f);
/// The summary's `largest` line: the few coefficients of largest magnitude (over targets), by the features' names
/// where the data named them (else x0, x1, ...; 0-based as --exclude).
void print_largest(const Matrix& coef, const std::vector<std::string>& names);
/// The summary's problem and data lines.
void print_problem(const ProblemSpec& spec, double lambda_max, const io::RunFacts& facts, const PreparedData& p,
                   const std::string& kinds, double planned_bytes);

/// --relax (path and cv; glmnet's relax = TRUE), with --gamma G1,G2,... when `with_gamma` (cv).
po::options_description relax_options(bool with_gamma);
/// Whether --relax was asked; UsageError for a penalty without an l1 part (every feature is kept: nothing to relax).
bool relax_from(const po::variables_map& vm, const ProblemSpec& spec);

/// "%d nonzero of %d" count of a coefficient matrix.
Eigen::Index nonzeros(const Matrix& coef);

}  // namespace cadmm::cli
