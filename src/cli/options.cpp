#include "cli/options.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "cadmm/error.hpp"
#include "cadmm/plan.hpp"
#include "cadmm/path.hpp"

namespace cadmm::cli {

std::string cv_rule_name(const std::string& text) {
  return text == "lambda.min" ? "lambda_min" : text == "lambda.1se" ? "lambda_1se" : text;
}

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

std::string trim(const std::string& text) {
  const std::size_t b = text.find_first_not_of(" \t\r\f\v"), e = text.find_last_not_of(" \t\r\f\v");
  return b == std::string::npos ? "" : text.substr(b, e - b + 1);
}

namespace {

// The commands that read options (main.cpp dispatches them), the sections an INI file may have.
constexpr const char* kCommands[] = {"solve", "path", "cv", "predict", "generate", "convert", "info"};

// An option's name as people vary it: lower case, without '-', '_' and '.' (l1_ratio, lambda.min.ratio).
std::string squash(const std::string& name) {
  std::string out;
  for (unsigned char c : name)
    if (c != '-' && c != '_' && c != '.') out += static_cast<char>(std::tolower(c));
  return out;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// A switch takes no value (--quiet, --resume); a boolean option takes true/false (its value name is BOOL) and, with
// the implicit value every one has, none. Both are booleans: --name, --no-name and --name true|false all work.
bool is_switch(const po::option_description& o) { return o.semantic()->max_tokens() == 0; }
bool is_boolean(const po::option_description& o) {
  return is_switch(o) || o.format_parameter().find("BOOL") != std::string::npos;
}

std::optional<bool> bool_literal(const std::string& text) {
  try {
    return parse_bool("", text);
  } catch (const UsageError&) {
    return std::nullopt;
  }
}

// Names glmnet, scikit-learn and Spark users bring (compared squashed), and what cadmm calls them. A name that is an
// option of the command in hand never gets here.
struct Foreign {
  const char* name;
  const char* answer;
};
constexpr Foreign kForeign[] = {
    {"alpha", "scikit-learn's alpha is cadmm's --lambda (path and cv: --lambdas); glmnet's alpha is cadmm's --l1-ratio"},
    {"alphas", "scikit-learn's alphas are cadmm's --lambdas"},
    {"lambda", "path and cv fit a sequence: --lambdas V1,V2,... or --n-lambda N --lambda-min-ratio R ('cadmm solve "
               "--lambda V' fits one)"},
    {"nlambda", "use --n-lambda (path and cv)"},
    {"nalphas", "use --n-lambda (path and cv)"},
    {"eps", "scikit-learn's eps (alpha_min / alpha_max) is cadmm's --lambda-min-ratio"},
    {"nfolds", "use --folds (cv)"},
    {"cv", "use --folds (cv: the number of folds)"},
    {"foldid", "use --fold-dataset (cv: a dataset of fold numbers in the data file)"},
    {"regparam", "Spark's regParam is cadmm's --lambda"},
    {"elasticnetparam", "Spark's elasticNetParam is cadmm's --l1-ratio"},
    {"maxit", "use --max-iter"},
    {"thresh", "cadmm stops on the duality gap: --gap-tol (relative to the objective), and --abs-tol / --rel-tol"},
    {"tol", "cadmm stops on the duality gap: --gap-tol (relative to the objective), and --abs-tol / --rel-tol"},
    {"weights", "use --weights-dataset (a dataset of the data file)"},
    {"sampleweight", "use --weights-dataset (a dataset of the data file)"},
    {"offset", "use --offset-dataset (a dataset of the data file)"},
    {"penaltyfactor", "use --penalty-factor-dataset (a dataset of the data file)"},
    {"intercept", "use --fit-intercept or --no-fit-intercept"},
    {"standardise", "use --standardize"},
    {"normalize", "use --standardize (columns scaled to unit variance, coefficients reported on the original scale)"},
    {"groups", "use --penalty group --groups-dataset PATH"},
    {"family", "cadmm fits least squares: glmnet's family = \"gaussian\"; its \"mgaussian\" is --penalty l21 with a "
               "y of several columns (the default l1 fits each target alone)"},
    {"newoffset", "predict takes the new data's offset as --offset-dataset PATH (glmnet's newoffset)"},
    {"grouped", "cv's mse_std comes from the folds' errors (glmnet's grouped = TRUE)"},
    {"dfmax", "not supported: a path runs to --lambda-min-ratio; --early-stop ends it where the fit stops improving"},
    {"pmax", "not supported: a path runs to --lambda-min-ratio; --early-stop ends it where the fit stops improving"},
    {"standardizeresponse", "y is not rescaled (glmnet's standardize.response = FALSE); scale its columns beforehand"},
    {"layer", "name the matrix with --x-dataset (an AnnData layer: --x-dataset /layers/NAME; raw: /raw/X)"},
    {"useraw", "use --x-dataset /raw/X (AnnData's raw matrix; its /raw/var names come along)"},
    {"obs", "name y with --y-dataset /obs/COLUMN (several columns: put them in adata.obsm['Y'] and give /obsm/Y)"},
    {"target", "name y with --y-dataset PATH (in an AnnData file /obs/COLUMN)"},
    {"randomstate", "use --seed (cv's folds)"},
    {"njobs", "cadmm runs in parallel on MPI ranks: mpirun -np P cadmm ..."},
    {"k", "use --folds (cv)"},
    {"typemeasure", "cv reports the mean squared error (glmnet's type.measure = \"mse\")"},
    {"s", "glmnet's s is predict's --lambda VALUE|lambda_min|lambda_1se (or --lambda-index I)"},
    {"newx", "predict reads the new data from --data"},
    {"x", "the data come from --data FILE (--x-dataset names X inside it)"},
    {"y", "the data come from --data FILE (--y-dataset names y inside it)"},
};

// Options that some commands take and others do not, with the commands that take them: asked of another command,
// the answer names them; in an INI file's lines for every command, they are left to the commands that take them.
struct Elsewhere {
  const char* name;
  const char* commands;
};
constexpr Elsewhere kElsewhere[] = {
    {"n-lambda", "path and cv"}, {"lambda-min-ratio", "path and cv"}, {"lambdas", "path and cv"},
    {"early-stop", "path and cv"}, {"relax", "path and cv"}, {"lambda", "solve and predict"},
    {"lambda-ratio", "solve"}, {"folds", "cv"}, {"fold-dataset", "cv"}, {"refit", "cv"}, {"fold", "cv"},
    {"collect", "cv"}, {"gamma", "cv and predict"}, {"seed", "cv and generate"}, {"lambda-index", "predict"},
    {"model", "predict"}, {"checkpoint", "solve and path"}, {"checkpoint-every", "solve and path"},
    {"resume", "solve and path"}};

const Elsewhere* elsewhere(const std::string& name) {
  for (const Elsewhere& e : kElsewhere)
    if (name == e.name) return &e;
  return nullptr;
}

// What an unrecognised option (its name without dashes) should have been, as a sentence.
std::string suggestion(const std::string& name, const po::options_description& desc) {
  const std::string flat = squash(name);
  std::vector<std::string> names;  // every long name, and --no-NAME for the booleans
  for (const auto& o : desc.options()) {
    if (o->long_name().empty()) continue;
    names.push_back(o->long_name());
    if (is_boolean(*o)) names.push_back("no-" + o->long_name());
  }
  for (const std::string& n : names)
    if (squash(n) == flat) return "did you mean --" + n + "?";
  // glmnet's and scikit-learn's names as they spell them first (--lambda to path: it fits a sequence), then cadmm's
  // options of other commands (--n-lambda to solve), then the foreign names however spelled (--n_folds).
  for (const Foreign& f : kForeign)
    if (name == f.name) return f.answer;
  for (const Elsewhere& e : kElsewhere)
    if (squash(e.name) == flat) return "--" + std::string(e.name) + " is an option of " + e.commands + ", not of this command";
  for (const Foreign& f : kForeign)
    if (flat == f.name) return f.answer;
  const auto either = [](const std::vector<std::string>& found) {
    std::string text = "did you mean";
    for (std::size_t i = 0; i < found.size(); ++i) text += (i == 0 ? " --" : i + 1 == found.size() ? " or --" : ", --") + found[i];
    return text + "?";
  };
  std::vector<std::string> found;
  for (const std::string& n : names)
    if (flat.size() >= 2 && squash(n).compare(0, flat.size(), flat) == 0) found.push_back(n);
  if (!found.empty() && found.size() <= 4) return either(found) + " (options are not abbreviated)";
  std::size_t best = std::max<std::size_t>(1, flat.size() / 3) + 1;
  found.clear();
  for (const std::string& n : names) {
    const std::size_t d = edit_distance(flat, squash(n));
    if (d < best) best = d, found.clear();
    if (d == best) found.push_back(n);
  }
  if (!found.empty() && found.size() <= 3) return either(found);
  return "";
}

UsageError unknown_option(const std::string& name, const po::options_description& desc, const std::string& where) {
  const std::string hint = suggestion(name, desc);
  return UsageError(where + "unrecognised option '--" + name + "'" + (hint.empty() ? "" : ": " + hint));
}

const po::option_description* find_long(const po::options_description& desc, const std::string& name) {
  return desc.find_nothrow(name, false, false, false);
}

// The command line as Boost should see it: --no-NAME becomes --NAME=false, a boolean followed by a word that is a
// boolean becomes --NAME=WORD, and a switch given false is dropped (true: the bare switch) and added to `off`, so
// that an INI file cannot turn it on (the command line wins).
std::vector<std::string> normalized(const std::vector<std::string>& args, const po::options_description& desc,
                                    std::set<std::string>& off) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() < 3 || a.compare(0, 2, "--") != 0) {
      out.push_back(a);
      continue;
    }
    const std::size_t eq = a.find('=');
    std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    std::optional<std::string> value;
    if (eq != std::string::npos) value = a.substr(eq + 1);
    const po::option_description* o = find_long(desc, name);
    if (!o && name.compare(0, 3, "no-") == 0) {
      const po::option_description* negated = find_long(desc, name.substr(3));
      if (negated && is_boolean(*negated) && !value) o = negated, name = name.substr(3), value = "false";
    }
    if (!o || !is_boolean(*o)) {
      out.push_back(a);
      continue;
    }
    if (!value && i + 1 < args.size() && bool_literal(args[i + 1])) value = args[++i];
    if (!is_switch(*o)) {
      out.push_back("--" + name + (value ? "=" + *value : ""));
      continue;
    }
    const std::optional<bool> on = value ? bool_literal(*value) : std::optional<bool>(true);
    if (!on) throw UsageError("--" + name + ": expected true/false/1/0/yes/no, got '" + *value + "'");
    if (*on) out.push_back("--" + name);
    else off.insert(name);
  }
  return out;
}

// Options that give the same thing two ways: one of a pair on the command line replaces the other in a config file.
constexpr std::pair<const char*, const char*> kAlternatives[] = {
    {"lambda", "lambda-ratio"}, {"density", "nnz-per-row"}, {"positive", "lower-limits"}};

// Long options spelled out (no guessing from a prefix), short ones and --name=value as Boost has them.
constexpr int kStyle = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;

// Stores the options of an INI file's text: 'key = value' lines ('#' starts a comment, ';' a comment line), keys
// spelled with '-' or '_' alike; lines before any [section] apply to every command, those under [COMMAND] to that one
// (over the former), others' sections are skipped. What is already stored (the command line) wins, and so do the
// switches it turned off (`off`) and the options whose alternative it gave (kAlternatives). A key given twice in one of those scopes is refused. Errors name the file and line.
void store_config(const std::string& text, const std::string& path, const std::string& command,
                  const po::options_description& desc, po::variables_map& vm, const std::set<std::string>& off) {
  struct Entry {
    std::string value;
    int line = 0;
    bool in_section = false;
  };
  std::map<std::string, Entry> chosen;  // key -> the line that sets it: the command's section over the global lines
  std::istringstream lines(text);
  std::string line, section;
  const auto where = [&](int number) { return "--config '" + path + "' line " + std::to_string(number) + ": "; };
  for (int number = 1; std::getline(lines, line); ++number) {
    line = trim(line.substr(0, line.find('#')));
    if (line.empty() || line[0] == ';') continue;
    if (line[0] == '[') {
      if (line.back() != ']') throw UsageError(where(number) + "a section is written [COMMAND]");
      section = trim(line.substr(1, line.size() - 2));
      if (std::find(std::begin(kCommands), std::end(kCommands), section) == std::end(kCommands))
        throw UsageError(where(number) + "[" + section + "] is not a command (sections: [solve], [path], [cv], "
                         "[predict], [generate], [convert], [info])");
      continue;
    }
    if (!section.empty() && section != command) continue;
    const std::size_t eq = line.find('=');
    if (eq == std::string::npos) throw UsageError(where(number) + "expected 'key = value', got '" + line + "'");
    std::string key = trim(line.substr(0, eq));
    std::replace(key.begin(), key.end(), '_', '-');
    if (key == "config") throw UsageError(where(number) + "a config file cannot name another (--config)");
    // A line for every command that this one does not take is for the commands that do (n-lambda, folds, ...).
    if (!find_long(desc, key) && section.empty() && elsewhere(key)) continue;
    if (!find_long(desc, key)) throw unknown_option(key, desc, where(number));
    const Entry entry{trim(line.substr(eq + 1)), number, !section.empty()};
    const auto [at, fresh] = chosen.emplace(key, entry);
    if (fresh) continue;
    if (at->second.in_section == entry.in_section)
      throw UsageError(where(number) + key + " is given twice (line " + std::to_string(at->second.line) + " too)");
    if (entry.in_section) at->second = entry;  // [command] overrides what applies to every command
  }
  // An option given on the command line also wins over the config's choice of its alternative (`--lambda` over an
  // INI's lambda-ratio), as it wins over the same key.
  std::set<std::string> given;
  for (const auto& [key, value] : vm)
    if (!value.defaulted()) given.insert(key);
  const auto replaced = [&](const std::string& key) {
    for (const auto& [a, b] : kAlternatives)
      if ((key == a && given.count(b)) || (key == b && given.count(a))) return true;
    return false;
  };
  for (const auto& [key, entry] : chosen) {
    if (off.count(key) || replaced(key)) continue;
    std::vector<std::string> tokens;
    if (is_switch(*find_long(desc, key))) {
      const std::optional<bool> on = bool_literal(entry.value);
      if (!on) throw UsageError(where(entry.line) + key + ": expected true/false/1/0/yes/no, got '" + entry.value + "'");
      if (*on) tokens.push_back("--" + key);
    } else {
      tokens.push_back("--" + key + "=" + entry.value);
    }
    try {
      po::store(po::command_line_parser(tokens).options(desc).style(kStyle).run(), vm);
    } catch (const po::error& e) {
      throw UsageError(where(entry.line) + e.what());
    }
  }
}

}  // namespace

po::variables_map parse(const std::string& command, const std::vector<std::string>& args,
                        const po::options_description& desc, const po::positional_options_description* positional) {
  po::variables_map vm;
  for (const std::string& a : args) refuse_placeholders(a, "command line");
  try {
    std::set<std::string> off;  // switches the command line turned off
    po::command_line_parser parser(normalized(args, desc, off));
    parser.options(desc).style(kStyle);
    if (positional) parser.positional(*positional);
    const po::parsed_options parsed = parser.run();
    // Without positional arguments Boost keeps a stray word (a value after a switch, a misplaced one) and drops it.
    if (!positional)
      for (const po::option& o : parsed.options)
        if (o.position_key >= 0 && !o.value.empty())
          throw UsageError("unexpected argument '" + o.value.front() + "' (every value follows its --option)");
    po::store(parsed, vm);
    if (vm.count("config")) {
      const std::string path = vm["config"].as<std::string>();
      const std::string text = read_config(path);
      refuse_placeholders(text, "--config '" + path + "'");
      store_config(text, path, command, desc, vm, off);
    }
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    std::string name = e.get_option_name();
    while (!name.empty() && name[0] == '-') name.erase(0, 1);
    throw unknown_option(name.substr(0, name.find('=')), desc, "");
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  return vm;
}

std::string command_suggestion(const std::string& command) {
  const std::string flat = squash(command);
  if (flat == "fit" || flat == "train" || flat == "lasso" || flat == "glmnet" || flat == "enet" || flat == "elasticnet")
    return "did you mean solve (one lambda) or path (a lambda sequence)?";
  if (flat == "cvglmnet" || flat == "lassocv" || flat == "elasticnetcv" || flat == "crossvalidate" || flat == "crossval")
    return "did you mean cv?";
  if (flat == "score" || flat == "apply" || flat == "transform") return "did you mean predict?";
  std::string best;
  std::size_t distance = 3;
  std::vector<std::string> commands(std::begin(kCommands), std::end(kCommands));
  commands.push_back("plot");  // a script of its own (tools/cadmm-plot), no options of ours
  for (const std::string& c : commands)
    if (const std::size_t d = edit_distance(flat, c); d < distance) distance = d, best = c;
  return best.empty() ? "" : "did you mean " + best + "?";
}

namespace {
// Shown as "[=BOOL]": Boost's own "[=BOOL(=true)]" beside "(default false)" read as if the default were true.
class BoolValue : public po::typed_value<std::string> {
 public:
  BoolValue() : po::typed_value<std::string>(nullptr) {}
  std::string name() const override { return "[=BOOL]"; }
};
}  // namespace

po::typed_value<std::string>* boolean() { return (new BoolValue)->implicit_value("true"); }

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
    ("data", po::value<std::string>()->value_name("FILE"),
     "HDF5 file with X (n x d) and y (n or n x k) [required]. Every other dataset option (--y-dataset, "
     "--weights-dataset, --fold-dataset, --penalty-factor-dataset, --lower-limits PATH, ...) names a dataset of this "
     "file (/y) or of another one as FILE:PATH (folds.h5:/foldid)")
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
  o.add(selection_options());
  return o;
}

po::options_description selection_options() {
  po::options_description o("Columns and names");
  o.add_options()
    ("feature-names-dataset", po::value<std::string>()->value_name("PATH"),
     "dataset of the feature names inside the file (default: AnnData's /var/_index, pandas' blockN_items beside "
     "blockN_values, /feature_names, when there); results keep them as /feature_names")
    ("y-column", po::value<std::string>()->value_name("NAME|J"),
     "X's dataset is a table of every column (pandas' to_hdf, a converted CSV): y is this column, by name or 0-based "
     "number, X the others")
    ("x-columns", po::value<std::string>()->value_name("A,B,..."),
     "with --y-column: X is these columns of the table, in this order (default: all but y's)")
    ("x-layout", po::value<std::string>()->default_value("rows")->value_name("LAYOUT"),
     "rows (n, d; also spelled rows-by-features), as NumPy and h5py write; features-by-rows (d, n), as R (rhdf5, "
     "hdf5r), Fortran and MATLAB write a matrix: each rank reads its columns of the stored array");
  return o;
}

io::DataSelection selection_from(const po::variables_map& vm) {
  io::DataSelection s;
  if (vm.count("feature-names-dataset")) s.names_dataset = vm["feature-names-dataset"].as<std::string>();
  if (vm.count("y-column")) s.y_column = vm["y-column"].as<std::string>();
  if (vm.count("x-columns")) s.x_columns = vm["x-columns"].as<std::string>();
  const std::string layout = vm.count("x-layout") ? vm["x-layout"].as<std::string>() : "rows";
  if (layout != "rows" && layout != "rows-by-features" && layout != "features-by-rows")
    throw UsageError("--x-layout: expected rows (or rows-by-features) or features-by-rows, got '" + layout + "'");
  s.features_by_rows = layout == "features-by-rows";
  s.layout_given = vm.count("x-layout") > 0 && !vm["x-layout"].defaulted();
  if (s.y_column.empty() != !vm.count("y-column")) throw UsageError("--y-column: give a column's name or number");
  if (vm.count("y-column") && vm.count("y-dataset") && !vm["y-dataset"].defaulted())
    throw UsageError("--y-column and --y-dataset: give one (y is a column of X's table, or a dataset of its own)");
  return s;
}

po::options_description model_options(bool one_lambda) {
  po::options_description o("Model");
  o.add_options()
    ("penalty", po::value<std::string>()->default_value("l1")->value_name("NAME"),
     "l1 (or lasso), l2 (or ridge), elasticnet, l21 (multi-task / row-group), group (group lasso over feature "
     "groups: --groups-dataset)");
  if (one_lambda)
    o.add_options()
      ("lambda", po::value<double>()->value_name("VALUE"), "absolute regularization strength")
      ("lambda-ratio", po::value<double>()->value_name("R"),
       "lambda = R * lambda_max (default 0.1); lambda_max is the smallest lambda with all coefficients 0");
  o.add_options()
    ("l1-ratio", po::value<double>()->value_name("A"), "l1 share a: default 0.5 for elasticnet, 1 for l21 and group")
    ("fit-intercept", boolean(), "fit an unpenalized intercept (default true)")
    ("standardize", boolean(),
     "scale columns to unit variance before fitting, report on the original scale (default false)")
    ("penalty-factor-dataset", po::value<std::string>()->value_name("PATH"),
     "dataset of d factors >= 0 in the data file: feature j's penalty is lambda * factor_j * P(w_j); 0 leaves it "
     "unpenalized. Rescaled to sum to d, as glmnet's penalty.factor")
    ("exclude", po::value<std::string>()->value_name("J,K-L,NAME"),
     "features whose coefficients are fixed at 0, as glmnet's exclude: 0-based numbers, ranges as J-K, or the "
     "features' names (an item that is not a number or a range is a name, as the data names its features)")
    ("lower-limits", po::value<std::string>()->value_name("VALUE|PATH"),
     "lower bound <= 0 on every coefficient (a number), or a dataset of d bounds in the data file; on the original "
     "scale, also with --standardize (glmnet's lower.limits)")
    ("upper-limits", po::value<std::string>()->value_name("VALUE|PATH"),
     "upper bound >= 0 on every coefficient, or a dataset of d bounds (glmnet's upper.limits)")
    ("positive", boolean(),
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
      std::to_string(static_cast<int>(100 * kDenseStart)) + "% of the features leaving zero at that lambda, and in a "
      "path with an l1 part (checkpointed or not): screened from d = " + std::to_string(kPathScreenMinFeatures) +
      " where the rows fit; woodbury for dense rows < d (a path's wide data: screened from d = " +
      std::to_string(kScreenMinFeatures) + "); gram for sparse d <= " + std::to_string(kSparseGramMaxFeatures) +
      ", else cg), gram, "
      "woodbury, cg (conjugate gradients on CSR rows, inexact ADMM), screened (rows kept, working sets) or streamed "
      "(rows read again from the file for working sets: up to 1.4x faster than gram here when the solution is sparse, "
      "up to 1.4x slower on strongly correlated features; solve and path, dense X)";
  po::options_description o("Solver");
  o.add_options()
    ("rho", po::value<double>()->value_name("VALUE"), "initial ADMM penalty (default: from the data's spectrum)")
    ("adaptive-rho", boolean(), "adapt rho by residual balancing (default true)")
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
    ("polish", boolean(),
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
     "explicit lambdas (comma-separated, any order: fitted from the largest down, as scikit-learn and glmnet do); overrides --n-lambda/--lambda-min-ratio");
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

// --exclude J,K,...: 0-based numbers, ranges J-K (inclusive), or names: an item that is neither is a feature's name,
// looked up in the data's names when they are read (read_feature_datasets, which also warns where a number or range
// as given is some feature's name).
void feature_list(const std::string& text, std::vector<long long>& numbers, FitRequest& request) {
  const auto number = [](const std::string& item) -> std::optional<long long> {
    long long v = -1;
    const auto r = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || r.ec != std::errc() || r.ptr != item.data() + item.size() || v < 0) return std::nullopt;
    return v;
  };
  for (std::size_t s = 0;;) {
    const std::size_t comma = std::min(text.find(',', s), text.size());
    const std::string item = trim(text.substr(s, comma - s));  // a name keeps the spaces inside it
    if (item.empty())
      throw UsageError("--exclude: an empty item in '" + text + "' (give 0-based numbers, J-K ranges or names, by commas)");
    const std::size_t dash = item.find('-', 1);
    const std::optional<long long> one = number(item);
    const std::optional<long long> a = dash == std::string::npos ? std::nullopt : number(item.substr(0, dash));
    const std::optional<long long> z = dash == std::string::npos ? std::nullopt : number(item.substr(dash + 1));
    if (one) {
      numbers.push_back(*one);
    } else if (a && z) {
      if (*z < *a || *z - *a > 100000000) throw UsageError("--exclude: range '" + item + "' is empty or too long");
      for (long long j = *a; j <= *z; ++j) numbers.push_back(j);
    }
    (one || (a && z) ? request.exclude_numbers : request.exclude_names).push_back(item);
    if (comma == text.size()) break;
    s = comma + 1;
  }
  std::sort(numbers.begin(), numbers.end());
  numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
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
  // getline drops the empty field after a last ',': "0.1," would pass as one value.
  if (const std::size_t last = text.find_last_not_of(" \t"); last != std::string::npos && text[last] == ',')
    throw UsageError(option + ": '" + text + "' ends with ',': a value is missing");
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
  if (vm.count("exclude")) feature_list(vm["exclude"].as<std::string>(), p.exclude, r);
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
