// `cadmm cv`: K-fold cross-validation over a lambda sequence, then a refit on all rows (docs/spec.md sections 4-5).
#include <glob.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <filesystem>
#include <optional>
#include <sstream>

#include "cadmm/error.hpp"
#include "cadmm/path.hpp"
#include "cli/commands.hpp"
#include "cli/fitting.hpp"
#include "cli/report.hpp"

namespace cadmm::cli {

namespace {

const char* kUsage =
    "Usage: [mpirun -np P] cadmm cv --data FILE [options]\n\n"
    "K-fold cross-validation over a lambda sequence (as glmnet's cv.glmnet and scikit-learn's LassoCV), then a refit\n"
    "on all rows. The data is read once: each rank sums its rows per fold, the training set of\n"
    "fold f is the sum of the other folds, and every fold's path and held-out errors come from those sums (a rank\n"
    "with fewer rows than (folds - 1) x features keeps its rows and one Gram of them all instead). Folds\n"
    "come from --seed (a permutation of the global row index dealt out in turn: fold sizes differ by at most one,\n"
    "the same at any rank count) or from --fold-dataset (fold numbers 1..K or 0..K-1, like glmnet's foldid).\n"
    "lambda_min is the largest lambda with the least mean held-out MSE; lambda_1se the largest within one standard\n"
    "error of it (glmnet's rules). Writes /cv/lambda, /cv/mse_mean, /cv/mse_std, /cv/mse (folds x lambdas),\n"
    "/cv/fold_rows, /cv/nonzero (of the full data's fit at each lambda), /cv/lambda_min, /cv/lambda_1se, and with\n"
    "seeded folds /cv/foldid (every row's fold, 1-based: cv.glmnet's foldid, or --fold-dataset elsewhere). The refit is\n"
    "the whole path on all rows, kept in /path as a path file's (cv.glmnet's glmnet.fit); /coef and /intercept are its\n"
    "fit at the chosen lambda (--refit; root attribute lambda_index), and 'cadmm predict --model cv.h5 --lambda\n"
    "lambda_1se' (or lambda_min, a value, --lambda-index I) applies any other without a second run.\n\n"
    "With --relax (glmnet's cv.glmnet(relax = TRUE)), every fold's fits also get their relaxed fits (least squares\n"
    "without penalty on the features each keeps), and every blend gamma fit + (1 - gamma) relaxed of --gamma is\n"
    "cross-validated: /cv/relaxed/gamma, /cv/relaxed/mse_mean and mse_std (gammas x lambdas) and the chosen pairs\n"
    "/cv/relaxed/{gamma,lambda}_{min,1se} (glmnet's rules: the largest lambda, then the largest gamma). The refit is the\n"
    "blend at the chosen pair; /cv/mse_mean stays the plain fits' curve (gamma 1).\n\n"
    "As a job array, one fold per task: `--fold F --output fold_F.h5` fits fold F alone and writes a fold file;\n"
    "`--collect 'fold_*.h5'` then reads every fold's errors instead of fitting them, and finishes as above (the\n"
    "same result file as one job).\n\n"
    "Examples:\n"
    "  cadmm cv --data demo.h5 --folds 10 --output cv.h5\n"
    "  mpirun -np 4 cadmm cv --data big.h5 --fold-dataset /foldid --refit lambda_1se --output cv.h5\n"
    "  cadmm cv --data big.h5 --folds 10 --fold 3 --output fold_3.h5      (one task of an array)\n"
    "  cadmm cv --data big.h5 --folds 10 --collect 'fold_*.h5' --output cv.h5\n\n";

// Fold numbers from the data file: global min/max and counts are reduced so every rank agrees.
Pieces folds_from_dataset(const io::DataReader& reader, RowRange range, const std::string& name,
                          MpiCommunicator& comm) {
  std::vector<std::int64_t> ids;
  collectively(comm, [&] { ids = reader.read_int_rows(name, range); });
  double extremes[3] = {-1e300, -1e300, -1e300};  // max of -id and of id, and of -(the first negative's row)
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const double v = static_cast<double>(ids[i]);
    extremes[0] = std::max(extremes[0], -v);
    extremes[1] = std::max(extremes[1], v);
    if (v < 0) extremes[2] = std::max(extremes[2], -static_cast<double>(range.begin + static_cast<std::int64_t>(i)));
  }
  comm.max(extremes, 3);
  const std::int64_t lo = static_cast<std::int64_t>(-extremes[0]), hi = static_cast<std::int64_t>(extremes[1]);
  const std::string what = "fold dataset '" + name + "'";
  if (lo < 0)  // R writes an integer NA as the smallest int32
    throw DataError(what + " holds negative fold numbers (the smallest " + std::to_string(lo) + "; the first at row " +
                    std::to_string(static_cast<std::int64_t>(-extremes[2])) + ", 0-based)" +
                    (lo == -2147483648LL ? ": R's NA, a row without a fold; give every row one" : ""));
  if (lo > 1) throw DataError(what + ": fold numbers must start at 1 (or 0); the smallest is " + std::to_string(lo));
  if (hi - lo + 1 < 2) throw DataError(what + " names only one fold; cross-validation needs at least 2");
  if (hi - lo + 1 > 10000) throw DataError(what + " names " + std::to_string(hi - lo + 1) + " folds (at most 10000)");
  Pieces p;
  p.count = static_cast<int>(hi - lo + 1);
  Vector counts = Vector::Zero(p.count);
  for (std::int64_t v : ids) {
    p.of_row.push_back(static_cast<int>(v - lo));
    counts[v - lo] += 1;
  }
  comm.sum(counts.data(), static_cast<std::size_t>(p.count));
  if (lo == 0 && comm.rank() == 0 && p.count > 2 && 3 * counts[0] < counts.tail(p.count - 1).minCoeff())
    warn(what + ": fold 0 holds " + std::to_string(static_cast<std::int64_t>(counts[0])) + " rows, the others at least " +
         std::to_string(static_cast<std::int64_t>(counts.tail(p.count - 1).minCoeff())) + "; numbers 1.." +
         std::to_string(hi) + " with a few 0s make the 0s a fold of their own (" + std::to_string(p.count) +
         " folds), where cv.glmnet would hold them out in no fold");
  for (int f = 0; f < p.count; ++f)
    if (counts[f] == 0)
      throw DataError(what + ": fold " + std::to_string(f + lo) + " is empty (numbers run from " + std::to_string(lo) +
                      " to " + std::to_string(hi) + "; of a categorical column, a category that labels no row: " +
                      "pandas' .cat.remove_unused_categories() drops it)");
  return p;
}

// Fills the rows of cv.mse from the fold files matching pattern (comma-separated glob patterns), checking that
// each was made for this problem, lambda sequence and fold assignment, and that every fold is there exactly once.
void collect_folds(const std::string& patterns, const std::string& key, CvResult& cv, MpiCommunicator& comm) {
  collectively(comm, [&] {
    if (comm.rank() != 0) return;
    std::vector<std::string> files;
    std::stringstream list(patterns);
    for (std::string pattern; std::getline(list, pattern, ',');) {
      glob_t g{};
      if (glob(pattern.c_str(), 0, nullptr, &g) == 0)
        for (std::size_t i = 0; i < g.gl_pathc; ++i) files.emplace_back(g.gl_pathv[i]);
      globfree(&g);
    }
    if (files.empty()) throw DataError("--collect: no file matches '" + patterns + "'");
    std::vector<std::string> from(cv.mse.rows());
    for (const std::string& file : files) {
      const io::CvFoldFile f = io::read_cv_fold(file);
      if (f.key != key)
        throw DataError("--collect: '" + file + "' was made for another problem or fold assignment (" + f.key +
                        "; this run: " + key + ")");
      if (f.fold_rows != cv.fold_rows)
        throw DataError("--collect: '" + file + "' was made for other folds (rows per fold differ)");
      // Equal up to rounding: lambda_max's sums run in another order at another rank count (array tasks on one rank
      // each, the collecting job on several), which moves the lambdas by an ulp or so.
      bool same = f.lambdas.size() == cv.lambdas.size();
      for (std::size_t i = 0; same && i < cv.lambdas.size(); ++i)
        same = std::abs(f.lambdas[i] - cv.lambdas[i]) <= 1e-12 * std::abs(cv.lambdas[i]);
      if (!same) throw DataError("--collect: '" + file + "' was made for another lambda sequence");
      if (f.gammas != cv.gammas)
        throw DataError("--collect: '" + file + "' was made " +
                        (f.gammas.empty() ? std::string("without --relax") : std::string("with other --gamma values")) +
                        (cv.gammas.empty() ? " (this run has no --relax)" : " (this run's --relax --gamma differs)"));
      std::string& seen = from[static_cast<std::size_t>(f.fold)];
      if (!seen.empty())
        throw DataError("--collect: fold " + std::to_string(f.fold + 1) + " is in both '" + seen + "' and '" + file + "'");
      seen = file;
      cv.mse.row(f.fold) = f.mse.transpose();
      for (std::size_t g = 0; g < cv.gammas.size(); ++g)
        cv.relaxed_mse[g].row(f.fold) = f.relaxed_mse.row(static_cast<Eigen::Index>(g));
    }
    std::string missing;
    for (std::size_t f = 0; f < from.size(); ++f)
      if (from[f].empty()) missing += (missing.empty() ? "" : ", ") + std::to_string(f + 1);
    if (!missing.empty()) throw DataError("--collect: no file holds fold(s) " + missing + " of " + std::to_string(from.size()));
  });
  comm.broadcast(cv.mse.data(), sizeof(double) * static_cast<std::size_t>(cv.mse.size()), 0);
  for (Matrix& m : cv.relaxed_mse) comm.broadcast(m.data(), sizeof(double) * static_cast<std::size_t>(m.size()), 0);
}

// glmnet's print(cvfit) over the sequence: every lambda's error, its standard error and the nonzero coefficients of
// the full data's fit there (`full`: the refit's path).
void print_table(const CvResult& cv, const PathResult& full) {
  const std::size_t m = cv.lambdas.size(), step = std::max<std::size_t>(1, (m + 19) / 20);
  std::printf("\n%6s %12s %14s %12s %8s\n", "index", "lambda", "mse (mean)", "std. error", "nonzero");
  for (std::size_t i = 0; i < m; ++i) {
    const bool mark = i == cv.index_min || i == cv.index_1se;
    if (i % step != 0 && !mark && i + 1 != m) continue;
    const std::string nonzero = i < full.fits.size() ? std::to_string(nonzeros(full.fits[i].coef)) : "-";
    std::printf("%6zu %12.5e %14.6e %12.4e %8s%s%s\n", i, cv.lambdas[i], cv.mse_mean[static_cast<Eigen::Index>(i)],
                cv.mse_std[static_cast<Eigen::Index>(i)], nonzero.c_str(), i == cv.index_min ? "  <- lambda_min" : "",
                i == cv.index_1se ? "  <- lambda_1se" : "");
  }
}

// The cv options besides the fitting ones.
po::options_description cv_options() {
  po::options_description opts("Cross-validation");
  opts.add_options()
    ("folds", po::value<int>()->default_value(5)->value_name("K"), "number of folds")
    ("seed", po::value<std::uint64_t>()->default_value(0)->value_name("S"), "seed of the fold assignment")
    ("fold-dataset", po::value<std::string>()->value_name("NAME"),
     "(n,) dataset of fold numbers 1..K or 0..K-1 in the data file (or FILE:PATH in another), integers or whole "
     "floats (overrides --folds/--seed)")
    ("refit", po::value<std::string>()->default_value("lambda_min")->value_name("RULE"),
     "lambda of the final fit on all rows: lambda_min or lambda_1se (glmnet's lambda.min, lambda.1se)")
    ("fold", po::value<int>()->default_value(0)->value_name("F"),
     "fit fold F (1..K) alone and write a fold file to --output (one task of a job array); 0: every fold")
    ("collect", po::value<std::string>()->value_name("FILES"),
     "take the folds' errors from fold files (glob patterns, comma-separated) instead of fitting them");
  opts.add(relax_options(true));
  return opts;
}

// What the cv options ask for, checked before any data are read.
struct CvOptions {
  std::string refit;         // lambda_min or lambda_1se
  int folds = 5;             // --folds (unless a fold dataset)
  int only_fold = 0;         // --fold: 1-based, 0 all
  std::string collect;       // --collect patterns
  std::string fold_dataset;  // --fold-dataset
  std::uint64_t seed = 0;
  std::vector<double> gammas;  // --relax: --gamma's values, increasing (empty: no relaxed fits)
  std::string folds_from() const {
    return fold_dataset.empty() ? "seed " + std::to_string(seed) : "dataset " + fold_dataset;
  }
};

CvOptions cv_options_from(const po::variables_map& vm, const ProblemSpec& spec) {
  CvOptions o;
  o.refit = cv_rule_name(vm["refit"].as<std::string>());
  if (o.refit != "lambda_min" && o.refit != "lambda_1se")
    throw UsageError("--refit: expected lambda_min or lambda_1se (glmnet's lambda.min, lambda.1se), got '" +
                     vm["refit"].as<std::string>() + "'");
  o.folds = vm["folds"].as<int>();
  if (o.folds < 2) throw UsageError("--folds: must be >= 2");
  o.only_fold = vm["fold"].as<int>();
  o.collect = vm.count("collect") ? vm["collect"].as<std::string>() : "";
  if (o.only_fold < 0) throw UsageError("--fold: must be >= 1 (or 0 for every fold)");
  if (o.only_fold > 0 && !o.collect.empty()) throw UsageError("--fold and --collect exclude each other");
  o.fold_dataset = vm.count("fold-dataset") ? vm["fold-dataset"].as<std::string>() : "";
  o.seed = vm["seed"].as<std::uint64_t>();
  if (relax_from(vm, spec)) {
    o.gammas = number_list(vm["gamma"].as<std::string>(), "--gamma");
    for (double g : o.gammas)
      if (!(g >= 0 && g <= 1)) throw UsageError("--gamma: " + fmt(g) + " is outside [0, 1]");
    std::sort(o.gammas.begin(), o.gammas.end());
    o.gammas.erase(std::unique(o.gammas.begin(), o.gammas.end()), o.gammas.end());
    if (o.gammas.empty()) throw UsageError("--gamma: no values");
  } else if (!vm["gamma"].defaulted()) {
    throw UsageError("--gamma: needs --relax");
  }
  return o;
}

// Each local row's fold: from the fold dataset, or from the seeded assignment (the same at any rank count).
PieceMap fold_pieces(const CvOptions& o, MpiCommunicator& comm) {
  return [&o, &comm](const io::DataReader& reader, RowRange range) {
    if (!o.fold_dataset.empty()) return folds_from_dataset(reader, range, o.fold_dataset, comm);
    const FoldAssignment assign(o.seed, reader.layout().rows, o.folds);
    Pieces p;
    p.count = o.folds;
    for (std::int64_t r = range.begin; r < range.end; ++r) p.of_row.push_back(assign.fold(r));
    return p;
  };
}

// The folds to fit (--fold: one; --collect: none, their errors come from fold files) and how to collect.
CvPlan cv_plan(const CvOptions& o, int n_folds, const std::string& fold_key, MpiCommunicator& comm) {
  CvPlan plan;
  if (o.only_fold > 0 || !o.collect.empty()) plan.fit_fold.assign(static_cast<std::size_t>(n_folds), false);
  if (o.only_fold > 0) plan.fit_fold[static_cast<std::size_t>(o.only_fold - 1)] = true;
  if (!o.collect.empty())
    plan.collect = [&o, fold_key, &comm](CvResult& cv) { collect_folds(o.collect, fold_key, cv, comm); };
  plan.gammas = o.gammas;
  return plan;
}

// One line per fold.
class FoldLines final : public ProgressSink {
 public:
  FoldLines(bool verbose, int folds, std::size_t lambdas, double progress_seconds)
      : verbose_(verbose), folds_(folds), lambdas_(lambdas), beat_(verbose, progress_seconds) {}
  // Within a fold, at most every --progress-seconds: its lambda, and where a long solve is.
  void fold_lambda_done(int f, std::size_t i) override {
    fold_ = f, running_ = i + 1;
    if (beat_.due() && running_ < lambdas_)
      std::printf("  fold %2d of %d: %zu of %zu lambdas fitted\n", f + 1, folds_, running_, lambdas_), std::fflush(stdout);
  }
  void iteration(const IterationRecord& r) override {
    if (!beat_.due()) return;
    std::printf("  fold %2d of %d: lambda %zu of %zu, %s\n", fold_ + 1, folds_, running_ + 1, lambdas_,
                solve_state(r).c_str());
    std::fflush(stdout);
  }
  void fold_done(int f, const PathResult& p, double seconds) override {
    fold_ = f + 1, running_ = 0;
    beat_.reset();
    int it = 0;
    for (const FitResult& r : p.fits) it += r.admm.state.iteration;
    iterations += it;
    if (!verbose_) return;
    std::printf("  fold %2d of %d: %zu lambdas, %6d ADMM iterations, %.2fs\n", f + 1, folds_, p.fits.size(), it, seconds);
    std::fflush(stdout);
  }
  int iterations = 0;  // over every fold fitted

 private:
  bool verbose_;
  int folds_;
  std::size_t lambdas_;
  Heartbeat beat_;
  int fold_ = 0;             // the fold being fitted (0-based)
  std::size_t running_ = 0;  // its lambdas fitted so far
};

// Folds' fits left uncertified at --max-iter (the fold files of --fold say it too).
void warn_unconverged(const CvResult& cv) {
  if (cv.unconverged > 0)
    warn(std::to_string(cv.unconverged) + " fold fit(s) stopped at --max-iter without certifying their duality gap (the "
         "first: fold " + std::to_string(cv.first_unconverged.first + 1) + ", lambda " +
         fmt(cv.lambdas[cv.first_unconverged.second]) + ", index " + std::to_string(cv.first_unconverged.second) +
         "): their held-out errors are those of their last iterates; a larger --max-iter certifies them");
}

// What a user of the chosen lambda should know: folds' fits left uncertified, a minimum at the grid's end, and glmnet's
// ungrouped cvsd.
void warn_about_choice(const CvResult& cv) {
  warn_unconverged(cv);
  // The chosen lambda (the relaxed pair's with --relax) at a grid's end above 0, where the error still fell over the
  // last step by more than 1e-6 of itself (a flat tail's rounding is no news).
  const std::size_t m = cv.lambdas.size();
  const bool relaxed = !cv.gammas.empty();
  const std::size_t chosen = relaxed ? cv.relaxed_min.second : cv.index_min;
  const auto mean = [&](std::size_t l) {
    return relaxed ? cv.relaxed_mean(static_cast<Eigen::Index>(cv.relaxed_min.first), static_cast<Eigen::Index>(l))
                   : cv.mse_mean[static_cast<Eigen::Index>(l)];
  };
  if (m > 1 && chosen + 1 == m && cv.lambdas.back() > 0 && mean(m - 2) - mean(m - 1) > 1e-6 * mean(m - 1))
    warn("lambda_min is the path's smallest lambda (" + fmt(cv.lambdas.back()) + "): the held-out error may fall "
         "further below it; rerun with a smaller --lambda-min-ratio (or --lambdas) to see its minimum");
  std::int64_t rows = 0;
  for (std::int64_t r : cv.fold_rows) rows += r;
  const auto folds = static_cast<std::int64_t>(cv.fold_rows.size());
  if (folds > 1 && rows < 3 * folds && rows > folds)
    warn("the folds hold fewer than 3 rows on average: mse_std comes from the folds' mean errors (glmnet's grouped = "
         "TRUE), where cv.glmnet switches to the rows' errors (grouped = FALSE), so its cvsd and lambda_1se may differ; "
         "leave-one-out (--folds " + std::to_string(rows) + ") gives the two alike");
}

void print_summary(const CvResult& cv, const PathResult& full, const FitResult& final_fit, const CvOptions& o, const ProblemSpec& spec,
                   const Model& model, const std::string& kinds, double planned_bytes, const io::RunFacts& facts,
                   int iterations, int rows_held, int rows_viewed,
                   const Phases& t, const std::string& output) {
  print_table(cv, full);
  const bool relax = !cv.gammas.empty();
  std::printf("\ncadmm cv: lambda_min %s (index %zu), lambda_1se %s (index %zu); refit at %s%s: %s\n",
              fmt(cv.lambdas[cv.index_min]).c_str(), cv.index_min, fmt(cv.lambdas[cv.index_1se]).c_str(),
              cv.index_1se, relax ? "the relaxed " : "", o.refit.c_str(), to_string(final_fit.admm.status).c_str());
  if (relax) {
    // glmnet's print(cvfit) of a relaxed cv: the chosen (gamma, lambda) pairs.
    const auto pair_line = [&](const char* name, const std::pair<std::size_t, std::size_t>& p) {
      std::printf("  relaxed     %s: gamma %s, lambda %s (index %zu), mse %s\n", name, fmt(cv.gammas[p.first]).c_str(),
                  fmt(cv.lambdas[p.second]).c_str(), p.second,
                  fmt(cv.relaxed_mean(static_cast<Eigen::Index>(p.first), static_cast<Eigen::Index>(p.second))).c_str());
    };
    pair_line("lambda_min", cv.relaxed_min);
    pair_line("lambda_1se", cv.relaxed_1se);
  }
  print_problem(spec, final_fit.lambda_max, facts, model.data, kinds, planned_bytes);
  const std::string fitted = !o.collect.empty() ? "fitted by other runs, their errors read from '" + o.collect + "'"
                             : std::to_string(iterations) + " ADMM iterations over all folds" +
                                   (cv.side_by_side ? "; fitted side by side, each on one rank" : "");
  std::printf("  folds       %d, rows per fold %lld..%lld; %s\n", static_cast<int>(cv.fold_rows.size()),
              static_cast<long long>(*std::min_element(cv.fold_rows.begin(), cv.fold_rows.end())),
              static_cast<long long>(*std::max_element(cv.fold_rows.begin(), cv.fold_rows.end())), fitted.c_str());
  if (rows_held > 0)
    std::printf("              %d rank(s) held their rows and one Gram (fewer rows than (folds - 1) x features): a\n"
                "              fold's training Gram is that one less the Gram of the fold's own rows\n", rows_held);
  if (rows_viewed > 0)
    std::printf("              %d rank(s) kept their rows once (screened): a fold's term is a view of them less the\n"
                "              fold's own rows, and its Hessian columns those of all rows less its own rows'\n", rows_viewed);
  std::printf("  refit       lambda %s: objective %.12e, %lld nonzero of %lld, duality gap %s%s\n",
              fmt(final_fit.lambda).c_str(), final_fit.admm.optimality.objective,
              static_cast<long long>(nonzeros(final_fit.coef)), static_cast<long long>(final_fit.coef.size()),
              gap_text(final_fit.admm.optimality.gap).c_str(), full.side_by_side ? "; its path's lambdas side by side" : "");
  print_largest(final_fit.coef, facts.feature_names);
  std::printf("  data passes %d (%s from this one read; the path is kept in /path)\n", cv.data_passes,
              o.collect.empty() ? "every fold and the refit's path" : "the refit's path");
  FactorLog factors = cv.factors;
  factors += final_fit.admm.factors;
  print_factors(factors);
  print_times(t, output);
}

}  // namespace

int run_cv(const Args& args, MpiCommunicator& comm) {
  const auto parsed = parse_fit_options("cv", args, kUsage, false, cv_options(), comm);
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  const bool root = comm.rank() == 0;
  FitRequest request = fit_request_from(vm, false);
  read_feature_datasets(vm, request, comm);
  const std::string output = vm["output"].as<std::string>();
  const CvOptions o = cv_options_from(vm, request.spec);
  const bool verbose = root && !vm.count("quiet");
  check_outputs(vm, output, "", comm);

  Phases t;
  Stopwatch clock;
  // Every fold and the refit walk the path: tall dense blocks keep their rows where a path's would (each fold a view
  // of them).
  std::optional<ExitOnInterrupt> reading(kReadingData);
  LoadedData loaded =
      load_data(vm, comm, fold_pieces(o, comm), working_sets_serve(request) ? &request : nullptr, Screen::path);
  t.read = loaded.read_seconds;
  clock.lap();
  // The refit's model, made now: with unpenalized features its lambda_max comes from a fit on them (Model).
  const Model model = make_model(prepare(loaded.builder->total(), request.spec, comm), comm);
  const Lambdas lambdas = resolve_lambdas(request.lambda, model);
  t.setup = clock.lap() + loaded.accumulate_seconds;
  reading.reset();

  const double comm_before = comm.seconds_in_collectives();
  const int n_folds = loaded.builder->pieces();
  if (verbose)
    std::printf("cadmm cv: %d folds (%s), %zu lambdas, one pass over the data\n", n_folds,
                o.fold_dataset.empty() ? ("seed " + std::to_string(o.seed)).c_str() : ("from " + o.fold_dataset).c_str(),
                lambdas.values.size());
  if (o.only_fold > n_folds)
    throw UsageError("--fold: " + std::to_string(o.only_fold) + " is past the " + std::to_string(n_folds) + " folds");
  CheckpointKey key = run_key("cv", data_id(vm, loaded.layout), request.spec, lambdas.values);
  key.folds_from = std::to_string(n_folds) + " from " + o.folds_from();
  // What fold files must share with the run that collects them; the data file by its canonical path, so that an
  // array's tasks and the collecting job may reach it from other directories or through a symlink.
  CheckpointKey fold_id = key;
  std::error_code ec;
  if (const auto canonical = std::filesystem::weakly_canonical(key.data, ec); !ec) fold_id.data = canonical.string();
  const std::string fold_key = fold_id.fold_file_text();
  FoldLines lines(verbose, n_folds, lambdas.values.size(), vm["progress-seconds"].as<double>());
  CvPlan plan = cv_plan(o, n_folds, fold_key, comm);
  plan.gather_rows = loaded.plan.rank.gathers_rows;
  const DriveHooks hooks{base_observer(comm.rank()), &lines, nullptr};
  const CvResult cv = drive_cv(*loaded.builder, request.spec, lambdas, request.solver, plan, comm, hooks);
  loaded.builder.reset();
  // Ranks that held their rows for the folds: with one Gram (the Gram form), or once with views (screened).
  double held[2] = {loaded.plan.rank.fold_rows && loaded.plan.rank.form == LocalForm::gram ? 1.0 : 0.0,
                    loaded.plan.rank.fold_rows && loaded.plan.rank.form == LocalForm::screened ? 1.0 : 0.0};
  comm.sum(held, 2);
  if (o.only_fold > 0) {
    collectively(comm, [&] {
      if (root) io::write_cv_fold(output, cv, o.only_fold - 1, fold_key);
    });
    if (root) warn_unconverged(cv);
    if (verbose) std::printf("cadmm cv: fold %d of %d written to %s\n", o.only_fold, n_folds, output.c_str());
    return 0;
  }
  if (verbose && !o.collect.empty()) std::printf("  the %d folds' errors collected from %s\n", n_folds, o.collect.c_str());

  // With --relax the refit is the blend at glmnet's chosen (gamma, lambda) pair.
  const bool relax = !cv.gammas.empty();
  const auto pair = o.refit == "lambda_1se" ? cv.relaxed_1se : cv.relaxed_min;
  const std::size_t chosen = relax ? pair.second : o.refit == "lambda_1se" ? cv.index_1se : cv.index_min;
  const std::string kinds = solver_kinds(model, comm);
  // The refit is the whole path on all rows (kept in the file, as cv.glmnet keeps glmnet.fit); /coef is its chosen fit.
  const PathResult full = drive_refit(model, lambdas, request.solver, comm, hooks, relax, plan.gather_rows);
  if (full.fits.back().admm.status == Status::interrupted)
    throw RuntimeFailure("interrupted by a signal during the refit; no result was written");
  // A refit that diverged before the chosen lambda ends at its diverged fit, written and reported below.
  const bool complete = full.fits.size() == lambdas.values.size();
  FitResult final_fit = full.fits[std::min(chosen, full.fits.size() - 1)];
  final_fit.admm.factors = full.factors;  // the refit's factorizations are its whole path's
  const double gamma = relax ? cv.gammas[pair.first] : 1.0;
  const bool blended = relax && !full.relaxed.empty();
  if (blended) final_fit = blend(final_fit, full.relaxed[chosen], gamma);
  const double fit_seconds = clock.lap();
  t.iterations = fit_seconds;
  t.communication = comm.seconds_in_collectives() - comm_before;

  const io::RunFacts facts = run_facts(model.data, loaded.layout, comm, fit_seconds, "cv");
  io::ResultExtras extras;
  extras.cv = &cv;
  extras.path = complete ? &full : nullptr;  // a diverged refit keeps only /coef
  extras.lambda_index = complete ? static_cast<std::int64_t>(chosen) : -1;
  extras.cv_refit = o.refit;
  extras.cv_folds_from = o.folds_from();
  std::optional<FoldAssignment> seeded;  // a fold dataset is the user's already
  if (o.fold_dataset.empty()) extras.folds = &seeded.emplace(o.seed, loaded.layout.rows, o.folds);
  if (blended) extras.gamma = gamma;
  collectively(comm, [&] {
    if (root) io::write_result(output, final_fit, facts, extras);
  });
  t.write = clock.lap();
  t.peak_bytes = peak_memory(comm);
  if (verbose) print_summary(cv, full, final_fit, o, request.spec, model, kinds, loaded.planned_bytes, facts, lines.iterations,
                             static_cast<int>(held[0]), static_cast<int>(held[1]), t, output);
  if (root) warn_about_choice(cv);
  if (final_fit.admm.status == Status::diverged)
    throw RuntimeFailure("the refit " + diverged_at(final_fit.admm.state.iteration) + "; the result was written to '" + output + "'");
  return 0;
}

}  // namespace cadmm::cli
