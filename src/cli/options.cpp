#include "cli/options.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>
#include <sstream>

#include "cadmm/error.hpp"
#include "cadmm/plan.hpp"
#include "cadmm/path.hpp"

namespace cadmm::cli {

bool parse_bool(const std::string& option, const std::string& text) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (t == "true" || t == "1" || t == "yes") return true;
  if (t == "false" || t == "0" || t == "no") return false;
  throw UsageError("--" + option + ": expected true/false/1/0/yes/no, got '" + text + "'");
}

bool bool_option(const po::variables_map& vm, const std::string& name, bool fallback) {
  return vm.count(name) ? parse_bool(name, vm[name].as<std::string>()) : fallback;
}

namespace {
// Boost.Program_options builds its error messages by replacing placeholders such as %value% with the offending
// text until none is left, so text that itself holds a placeholder makes that loop endless (found by fuzzing).
// No option name or value of cadmm needs one: refuse such text before Boost sees it.
void refuse_placeholders(const std::string& text, const std::string& where) {
  for (std::size_t open = text.find('%'); open != std::string::npos; open = text.find('%', open + 1)) {
    std::size_t end = open + 1;
    while (end < text.size() && (std::isalpha(static_cast<unsigned char>(text[end])) || text[end] == '_')) ++end;
    if (end > open + 1 && end < text.size() && text[end] == '%')
      throw UsageError(where + ": '" + text.substr(open, end - open + 1) + "' is not allowed in an option or value");
  }
}

// The text of the --config file. Whatever the path names, the outcome is the text or a UsageError naming the file:
// a directory (std::ifstream opened one and then threw from underflow, found by fuzzing), a file that cannot be
// opened or read, one larger than any options file (/dev/zero), or one that is not text (NUL or other control bytes).
std::string read_config(const std::string& path) {
  constexpr std::size_t kMaxBytes = 1 << 20;
  const std::string where = "--config '" + path + "'";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw UsageError(where + ": cannot open: " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw UsageError(where + ": cannot read: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw UsageError(where + ": is a directory, not an INI file");
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw UsageError(where + ": cannot read: " + std::strerror(errno));
    if (got == 0) break;
    text.append(buffer, static_cast<std::size_t>(got));
    if (text.size() > kMaxBytes) throw UsageError(where + ": larger than 1 MiB, not an INI file of options");
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') || c == 0x7f)
      throw UsageError(where + ": not a text file (control byte 0x" + "0123456789abcdef"[c >> 4] +
                       "0123456789abcdef"[c & 15] + " at offset " + std::to_string(i) + ")");
  }
  return text;
}
}  // namespace

po::variables_map parse(const std::vector<std::string>& args, const po::options_description& desc,
                        const po::positional_options_description* positional) {
  po::variables_map vm;
  for (const std::string& a : args) refuse_placeholders(a, "command line");
  try {
    po::command_line_parser parser(args);
    parser.options(desc);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), vm);
    if (vm.count("config")) {
      const std::string path = vm["config"].as<std::string>();
      const std::string text = read_config(path);
      refuse_placeholders(text, "--config '" + path + "'");
      std::istringstream config(text);
      // Values already stored from the command line are kept: the command line wins. Boost's messages about the
      // file's lines do not say which file: add it.
      try {
        po::store(po::parse_config_file(config, desc, false), vm);
      } catch (const po::error& e) {
        throw UsageError("--config '" + path + "': " + e.what());
      }
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  return vm;
}

po::options_description general_options() {
  po::options_description o("General");
  o.add_options()
    ("help,h", "print this help and exit")
    ("config", po::value<std::string>()->value_name("FILE"),
     "INI file with any of these options as 'key = value' (command line wins)")
    ("quiet,q", "no progress lines and no summary (warnings and errors still print)");
  return o;
}

po::options_description data_options() {
  po::options_description o("Data");
  o.add_options()
    ("data", po::value<std::string>()->value_name("FILE"), "HDF5 file with X (n x d) and y (n or n x k) [required]")
    ("x-dataset", po::value<std::string>()->default_value("/X")->value_name("PATH"), "dataset of X inside the file")
    ("y-dataset", po::value<std::string>()->default_value("/y")->value_name("PATH"), "dataset of y inside the file")
    ("weights-dataset", po::value<std::string>()->value_name("PATH"),
     "dataset of observation weights ((n,), >= 0) inside the file: the loss is sum w_i r_i^2 / (2 sum w), as glmnet's "
     "weights and scikit-learn's sample_weight (means and --standardize's variances weighted too)")
    ("offset-dataset", po::value<std::string>()->value_name("PATH"),
     "dataset of offsets ((n,) or (n, k)) inside the file: y - offset is fitted, as glmnet's offset (give predict "
     "the new data's with its --offset-dataset)")
    ("read-buffer-mb", po::value<double>()->default_value(8)->value_name("MB"),
     "rows are streamed through a reused buffer of this size");
  return o;
}

po::options_description model_options(bool one_lambda) {
  po::options_description o("Model");
  o.add_options()
    ("penalty", po::value<std::string>()->default_value("l1")->value_name("NAME"),
     "l1 (lasso), l2 (ridge), elasticnet, l21 (multi-task / row-group), group (group lasso over feature groups: "
     "--groups-dataset)");
  if (one_lambda)
    o.add_options()
      ("lambda", po::value<double>()->value_name("VALUE"), "absolute regularization strength")
      ("lambda-ratio", po::value<double>()->value_name("R"),
       "lambda = R * lambda_max (default 0.1); lambda_max is the smallest lambda with all coefficients 0");
  o.add_options()
    ("l1-ratio", po::value<double>()->value_name("A"), "l1 share a: default 0.5 for elasticnet, 1 for l21 and group")
    ("fit-intercept", po::value<std::string>()->value_name("BOOL"), "fit an unpenalized intercept (default true)")
    ("standardize", po::value<std::string>()->value_name("BOOL"),
     "scale columns to unit variance before fitting, report on the original scale (default false)")
    ("penalty-factor-dataset", po::value<std::string>()->value_name("PATH"),
     "dataset of d factors >= 0 in the data file: feature j's penalty is lambda * factor_j * P(w_j); 0 leaves it "
     "unpenalized. Rescaled to sum to d, as glmnet's penalty.factor")
    ("exclude", po::value<std::string>()->value_name("J,K,..."),
     "features whose coefficients are fixed at 0 (0-based numbers, ranges as J-K), as glmnet's exclude")
    ("lower-limits", po::value<std::string>()->value_name("VALUE|PATH"),
     "lower bound <= 0 on every coefficient (a number), or a dataset of d bounds in the data file; on the original "
     "scale, also with --standardize (glmnet's lower.limits)")
    ("upper-limits", po::value<std::string>()->value_name("VALUE|PATH"),
     "upper bound >= 0 on every coefficient, or a dataset of d bounds (glmnet's upper.limits)")
    ("positive", po::value<std::string>()->implicit_value("true")->value_name("BOOL"),
     "non-negative coefficients, as scikit-learn's positive=True (the same as --lower-limits 0)")
    ("groups-dataset", po::value<std::string>()->value_name("PATH"),
     "--penalty group: dataset of d group ids (0..G-1, none empty) in the data file; the penalty is "
     "a sum_g w_g ||W_g||_F + (1-a)/2 ||W||_F^2")
    ("group-weights-dataset", po::value<std::string>()->value_name("PATH"),
     "--penalty group: dataset of G weights w_g >= 0 (default sqrt of each group's size; 0: unpenalized group)");
  return o;
}

namespace {
// Default values as a person writes them (Boost would print 1.6 as 1.6000000000000001).
po::typed_value<double>* number(double def) {
  std::ostringstream text;
  text << def;
  return po::value<double>()->default_value(def, text.str());
}
}  // namespace

po::options_description solver_options() {
  const SolverSettings def;
  // The plan's thresholds as the plan has them (include/cadmm/plan.hpp), so the help cannot drift from the rule.
  const std::string local_solver_help =
      "local solve per rank: auto (the plan: for dense rows >= d, gram, except in a solve with an l1 part and no "
      "checkpoint: screened from d = " + std::to_string(kScreenMinFeatures) + " where the rows fit in memory, "
      "streamed from d = " + std::to_string(kStreamMinFeatures) + ", unless a sample of the rows shows more than " +
      std::to_string(static_cast<int>(100 * kDenseStart)) + "% of the features leaving zero at that lambda; woodbury "
      "for dense rows < d; gram for sparse d <= " + std::to_string(kSparseGramMaxFeatures) + ", else cg), gram, "
      "woodbury, cg (conjugate gradients on CSR rows, inexact ADMM), screened (rows kept, working sets) or streamed "
      "(rows read again from the file for working sets: up to 1.4x faster than gram here when the solution is sparse, "
      "up to 1.4x slower on strongly correlated features; solve and path, dense X)";
  po::options_description o("Solver");
  o.add_options()
    ("rho", po::value<double>()->value_name("VALUE"), "initial ADMM penalty (default: from the data's spectrum)")
    ("adaptive-rho", po::value<std::string>()->value_name("BOOL"), "adapt rho by residual balancing (default true)")
    ("over-relaxation", number(def.over_relaxation)->value_name("ALPHA"),
     "over-relaxation alpha in (0, 2)")
    ("max-iter", po::value<int>()->default_value(def.max_iter)->value_name("N"), "iteration limit")
    ("abs-tol", number(def.abs_tol)->value_name("EPS"), "absolute residual tolerance")
    ("rel-tol", number(def.rel_tol)->value_name("EPS"), "relative residual tolerance")
    ("gap-tol", number(def.gap_tol)->value_name("EPS"),
     "relative duality gap required to stop as well (0: residuals only)")
    ("gap-every", po::value<int>()->default_value(def.gap_every)->value_name("N"),
     "evaluate objective and duality gap every N iterations")
    ("anderson-memory", po::value<int>()->default_value(def.anderson_memory)->value_name("M"),
     "Anderson acceleration memory (0 disables)")
    ("polish", po::value<std::string>()->value_name("BOOL"),
     "solve exactly on the support of the iterate once it holds for 10 iterations, kept only if the duality gap "
     "certifies it (default true)")
    ("local-solver", po::value<std::string>()->default_value("auto")->value_name("NAME"), local_solver_help.c_str())
    ("progress-seconds", po::value<double>()->default_value(1.0)->value_name("S"),
     "print a progress line at most every S seconds");
  return o;
}

po::options_description lambda_sequence_options() {
  po::options_description o("Lambda sequence");
  o.add_options()
    ("n-lambda", po::value<int>()->default_value(100)->value_name("N"),
     "number of lambdas, from lambda_max down to --lambda-min-ratio x lambda_max, log-spaced")
    ("lambda-min-ratio", number(1e-3)->value_name("R"), "smallest lambda as a fraction of lambda_max")
    ("lambdas", po::value<std::string>()->value_name("L1,L2,..."),
     "explicit strictly decreasing lambdas (comma-separated); overrides --n-lambda/--lambda-min-ratio");
  return o;
}

namespace {

// The number the whole text spells (no trailing text), or nothing.
std::optional<double> whole_number(const std::string& text) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (text.empty() || used != text.size()) return std::nullopt;
  return v;
}

// --lambdas L1,L2,...: each item a whole number (no trailing text).

// --exclude J,K,...: 0-based numbers, or ranges J-K (inclusive).
std::vector<long long> feature_list(const std::string& text) {
  std::vector<long long> out;
  std::stringstream in(text);
  const auto number = [&](const std::string& item) {
    std::size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || v < 0)
      throw UsageError("--exclude: '" + item + "' is not a feature number (0-based, as J,K or J-K)");
    return v;
  };
  for (std::string item; std::getline(in, item, ',');) {
    item.erase(std::remove_if(item.begin(), item.end(), [](unsigned char c) { return std::isspace(c); }), item.end());
    const std::size_t dash = item.find('-', 1);
    if (dash == std::string::npos) {
      out.push_back(number(item));
      continue;
    }
    const long long a = number(item.substr(0, dash)), b = number(item.substr(dash + 1));
    if (b < a || b - a > 100000000) throw UsageError("--exclude: range '" + item + "' is empty or too long");
    for (long long j = a; j <= b; ++j) out.push_back(j);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// --lower-limits / --upper-limits: a number now, or a dataset read with the data (FitRequest::feature_datasets).
void limits_from(const po::variables_map& vm, const char* name, std::vector<double>& value, std::string& dataset) {
  if (!vm.count(name)) return;
  const std::string text = vm[name].as<std::string>();
  if (const std::optional<double> v = whole_number(text))
    value = {*v};
  else
    dataset = text;
}

LambdaRequest lambda_request_from(const po::variables_map& vm, bool one_lambda) {
  if (one_lambda) {
    if (vm.count("lambda") && vm.count("lambda-ratio"))
      throw UsageError("--lambda and --lambda-ratio: give one or the other");
    if (vm.count("lambda")) return LambdaRequest::absolute(vm["lambda"].as<double>());
    return vm.count("lambda-ratio") ? LambdaRequest::ratio(vm["lambda-ratio"].as<double>()) : LambdaRequest{};
  }
  if (vm.count("lambdas")) return LambdaRequest::given(number_list(vm["lambdas"].as<std::string>(), "--lambdas"));
  return LambdaRequest::grid(vm["n-lambda"].as<int>(), vm["lambda-min-ratio"].as<double>());
}

}  // namespace

std::vector<double> number_list(const std::string& text, const std::string& option) {
  std::vector<double> l;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    const auto first = item.find_first_not_of(" \t"), last = item.find_last_not_of(" \t");
    const std::string value = first == std::string::npos ? "" : item.substr(first, last - first + 1);
    const std::optional<double> v = whole_number(value);
    if (!v) throw UsageError(option + ": '" + value + "' is not a number");
    l.push_back(*v);
  }
  return l;
}

FitRequest fit_request_from(const po::variables_map& vm, bool one_lambda) {
  FitRequest r;
  ProblemSpec& p = r.spec;
  p.penalty = parse_penalty(vm["penalty"].as<std::string>());
  if (vm.count("l1-ratio")) p.l1_ratio = vm["l1-ratio"].as<double>();
  p.fit_intercept = bool_option(vm, "fit-intercept", p.fit_intercept);
  p.standardize = bool_option(vm, "standardize", p.standardize);
  if (vm.count("penalty-factor-dataset")) r.datasets.penalty_factor = vm["penalty-factor-dataset"].as<std::string>();
  if (vm.count("groups-dataset")) r.datasets.groups = vm["groups-dataset"].as<std::string>();
  if (p.penalty == Penalty::group && !vm.count("groups-dataset"))
    throw UsageError("--penalty group: needs --groups-dataset PATH (each feature's group, 0..G-1, in the data file)");
  if (p.penalty != Penalty::group && vm.count("groups-dataset"))
    throw UsageError("--groups-dataset: only applies to --penalty group");
  if (vm.count("group-weights-dataset")) r.datasets.group_weights = vm["group-weights-dataset"].as<std::string>();
  if (vm.count("exclude")) p.exclude = feature_list(vm["exclude"].as<std::string>());
  limits_from(vm, "lower-limits", p.lower_limits, r.datasets.lower_limits);
  limits_from(vm, "upper-limits", p.upper_limits, r.datasets.upper_limits);
  if (bool_option(vm, "positive", false)) {
    if (vm.count("lower-limits")) throw UsageError("--positive and --lower-limits: give one or the other");
    p.lower_limits = {0.0};
  }
  r.lambda = lambda_request_from(vm, one_lambda);
  SolverSettings& s = r.solver;
  if (vm.count("rho")) s.rho = vm["rho"].as<double>();
  s.adaptive_rho = bool_option(vm, "adaptive-rho", s.adaptive_rho);
  s.over_relaxation = vm["over-relaxation"].as<double>();
  s.max_iter = vm["max-iter"].as<int>();
  s.abs_tol = vm["abs-tol"].as<double>();
  s.rel_tol = vm["rel-tol"].as<double>();
  s.gap_tol = vm["gap-tol"].as<double>();
  s.gap_every = vm["gap-every"].as<int>();
  s.anderson_memory = vm["anderson-memory"].as<int>();
  s.polish = bool_option(vm, "polish", s.polish);
  r.lambda.validate();
  p.validate();
  s.validate();
  return r;
}

}  // namespace cadmm::cli
