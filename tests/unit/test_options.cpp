#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "cadmm/error.hpp"
#include "cli/options.hpp"

using namespace cadmm;
using namespace cadmm::cli;

namespace {
po::options_description solve_like() {
  po::options_description d;
  d.add(general_options()).add(data_options()).add(model_options()).add(solver_options());
  return d;
}

FitRequest settings_for(const std::vector<std::string>& args) { return fit_request_from(parse("solve", args, solve_like()), true); }

// The UsageError message must name the option.
void expect_usage_error_naming(const std::vector<std::string>& args, const std::string& option) {
  try {
    settings_for(args);
    FAIL() << "no error for " << option;
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(option), std::string::npos) << e.what();
    EXPECT_EQ(e.code(), ExitCode::usage);
  }
}
}  // namespace

TEST(Options, DefaultsAreTheDocumentedOnes) {
  const FitRequest s = settings_for({});
  EXPECT_EQ(s.spec.penalty, Penalty::l1);
  EXPECT_TRUE(s.lambda.kind == LambdaRequest::Kind::ratio);
  EXPECT_DOUBLE_EQ(s.lambda.value, 0.1);
  EXPECT_TRUE(s.spec.fit_intercept);
  EXPECT_FALSE(s.spec.standardize);
  EXPECT_FALSE(s.solver.rho.has_value());
  EXPECT_DOUBLE_EQ(ProblemSpec{}.effective_l1_ratio(), 1.0);
  ProblemSpec en;
  en.penalty = Penalty::elasticnet;
  EXPECT_DOUBLE_EQ(en.effective_l1_ratio(), 0.5);
  en.penalty = Penalty::l21;
  EXPECT_DOUBLE_EQ(en.effective_l1_ratio(), 1.0);
}

TEST(Options, BoolSpellings) {
  for (const char* t : {"true", "TRUE", "1", "yes", "Yes"}) EXPECT_TRUE(parse_bool("x", t));
  for (const char* f : {"false", "0", "no", "NO"}) EXPECT_FALSE(parse_bool("x", f));
  EXPECT_THROW(parse_bool("fit-intercept", "maybe"), UsageError);
  EXPECT_FALSE(settings_for({"--fit-intercept", "no"}).spec.fit_intercept);
  EXPECT_TRUE(settings_for({"--standardize=1"}).spec.standardize);
}

TEST(Options, BadValuesNameTheOption) {
  expect_usage_error_naming({"--penalty", "lasso2"}, "--penalty");
  expect_usage_error_naming({"--lambda", "-1"}, "--lambda");
  expect_usage_error_naming({"--lambda", "1", "--lambda-ratio", "0.1"}, "--lambda");
  expect_usage_error_naming({"--penalty", "l1", "--l1-ratio", "0.5"}, "--l1-ratio");
  expect_usage_error_naming({"--penalty", "elasticnet", "--l1-ratio", "1.5"}, "--l1-ratio");
  expect_usage_error_naming({"--rho", "0"}, "--rho");
  expect_usage_error_naming({"--over-relaxation", "2"}, "--over-relaxation");
  expect_usage_error_naming({"--max-iter", "0"}, "--max-iter");
  expect_usage_error_naming({"--fit-intercept", "perhaps"}, "--fit-intercept");
  expect_usage_error_naming({"--anderson-memory", "-1"}, "--anderson-memory");
  EXPECT_THROW(settings_for({"--no-such-option", "1"}), UsageError);
  EXPECT_THROW(settings_for({"--max-iter", "many"}), UsageError);
}

// Found by tests/fuzz/fuzz_options: Boost's error messages replace placeholders until none is left, so an unknown
// option or bad value holding one (here %original_token%) never returned. Now refused up front, naming the text.
TEST(Options, PlaceholderTextIsRefusedNotLoopedOn) {
  expect_usage_error_naming({"--d%original_token%ty", "1"}, "%original_token%");
  expect_usage_error_naming({"--max-iter", "%value%"}, "%value%");
  const std::string path = testing::TempDir() + "cadmm_test_placeholder.ini";
  {
    std::ofstream f(path);
    f << "%canonical_option% = 1\n";
  }
  expect_usage_error_naming({"--config", path}, "%canonical_option%");
  std::remove(path.c_str());
  // A lone % (Slurm-style file names) is fine.
  EXPECT_NO_THROW(settings_for({"--data", "run%j.h5"}));
}

// Found by tests/fuzz/fuzz_options: --config naming a directory escaped as std::ios_base::failure from
// basic_filebuf::underflow ("Is a directory"), an internal error. Every file that is not an INI file of options is a
// UsageError naming it.
TEST(Options, ConfigThatIsNotAnIniFileIsAUsageErrorNamingIt) {
  const std::string dir = testing::TempDir();
  expect_usage_error_naming({"--config", dir}, "--config '" + dir + "': is a directory");
  const std::string path = dir + "cadmm_test_binary.ini";
  {
    std::ofstream f(path, std::ios::binary);
    f << "data = a" << '\0' << "b.h5\n";
  }
  expect_usage_error_naming({"--config", path}, "--config '" + path + "': not a text file");
  {
    std::ofstream f(path);
    f << "a line without an equals sign\n";
  }
  expect_usage_error_naming({"--config", path}, "--config '" + path + "'");
  std::remove(path.c_str());
  expect_usage_error_naming({"--config", "/dev/zero"}, "--config '/dev/zero': larger than 1 MiB");
}

TEST(Options, ConfigFileWithCommandLineWinning) {
  const std::string path = testing::TempDir() + "cadmm_test.ini";
  {
    std::ofstream f(path);
    f << "# comment\npenalty = elasticnet\nl1-ratio = 0.3\nlambda = 0.25\nfit-intercept = false\nmax-iter = 77\n";
  }
  const FitRequest s = settings_for({"--config", path, "--max-iter", "5"});
  EXPECT_EQ(s.spec.penalty, Penalty::elasticnet);
  EXPECT_DOUBLE_EQ(*s.spec.l1_ratio, 0.3);
  EXPECT_TRUE(s.lambda.kind == LambdaRequest::Kind::absolute);
  EXPECT_DOUBLE_EQ(s.lambda.value, 0.25);
  EXPECT_FALSE(s.spec.fit_intercept);
  EXPECT_EQ(s.solver.max_iter, 5);
  {
    std::ofstream f(path);
    f << "unknown-key = 3\n";
  }
  EXPECT_THROW(settings_for({"--config", path}), UsageError);
  std::remove(path.c_str());
  EXPECT_THROW(settings_for({"--config", path}), UsageError);  // missing file
}

namespace {
// The message of the UsageError that parsing args as `command` gives (fails the test when none is thrown).
std::string refusal(const std::vector<std::string>& args, const char* command = "solve") {
  const bool one_lambda = std::string(command) == "solve";
  po::options_description d;
  d.add(general_options()).add(data_options()).add(model_options(one_lambda)).add(solver_options());
  if (!one_lambda) d.add(lambda_sequence_options());
  try {
    parse(command, args, d);
  } catch (const UsageError& e) {
    EXPECT_EQ(e.code(), ExitCode::usage);
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}
void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "'" << part << "' not in: " << text;
}
}  // namespace

// Boost guessed from prefixes: --pen l2 was silently --penalty l2. Options are spelled out now, and a near miss,
// a prefix or a name from glmnet / scikit-learn is answered with the option meant.
TEST(Options, UnknownOptionsAreRefusedWithTheOptionMeant) {
  expect_contains(refusal({"--pen", "l2"}), "did you mean --penalty or --penalty-factor-dataset?");
  expect_contains(refusal({"--lamda", "0.1"}), "did you mean --lambda?");
  expect_contains(refusal({"--l1_ratio", "0.5"}), "did you mean --l1-ratio?");
  expect_contains(refusal({"--fit_intercept", "false"}), "did you mean --fit-intercept?");
  expect_contains(refusal({"--alpha", "0.1"}), "glmnet's alpha is cadmm's --l1-ratio");
  expect_contains(refusal({"--alpha", "0.1"}), "scikit-learn's alpha is cadmm's --lambda");
  expect_contains(refusal({"--nlambda", "50"}, "path"), "did you mean --n-lambda?");
  expect_contains(refusal({"--lambda.min.ratio", "0.01"}, "path"), "did you mean --lambda-min-ratio?");
  expect_contains(refusal({"--lambda", "0.1"}, "path"), "--lambdas");
  expect_contains(refusal({"--thresh", "1e-7"}), "--gap-tol");
  expect_contains(refusal({"--zzzz", "1"}), "unrecognised option '--zzzz'");
  // cadmm's own options of other commands say which (not "use --n-lambda" to a --n-lambda on solve)
  expect_contains(refusal({"--n-lambda", "5"}), "--n-lambda is an option of path and cv, not of this command");
  expect_contains(refusal({"--folds", "5"}, "path"), "--folds is an option of cv");
  expect_contains(refusal({"--nlambda", "5"}), "use --n-lambda (path and cv)");
  // A stray word (a value after a switch) is refused, not dropped.
  expect_contains(refusal({"--quiet", "maybe"}), "unexpected argument 'maybe'");
  EXPECT_EQ(command_suggestion("solv"), "did you mean solve?");
  EXPECT_EQ(command_suggestion("cv.glmnet"), "did you mean cv?");
  expect_contains(command_suggestion("fit"), "solve");
  EXPECT_EQ(command_suggestion("qqqqqqq"), "");
}

// Every boolean takes --NAME, --no-NAME, --NAME VALUE and --NAME=VALUE; switches (--quiet) take the same forms.
TEST(Options, BooleansTakeEveryForm) {
  EXPECT_TRUE(settings_for({"--standardize"}).spec.standardize);
  EXPECT_TRUE(settings_for({"--standardize", "true"}).spec.standardize);
  EXPECT_TRUE(settings_for({"--standardize", "--fit-intercept", "no"}).spec.standardize);
  EXPECT_FALSE(settings_for({"--standardize", "--fit-intercept", "no"}).spec.fit_intercept);
  EXPECT_FALSE(settings_for({"--no-fit-intercept"}).spec.fit_intercept);
  EXPECT_FALSE(settings_for({"--fit-intercept=0"}).spec.fit_intercept);
  EXPECT_FALSE(settings_for({"--no-polish"}).solver.polish);
  EXPECT_FALSE(settings_for({"--adaptive-rho", "false"}).solver.adaptive_rho);
  const auto quiet = [](const std::vector<std::string>& args) { return parse("solve", args, solve_like()).count("quiet"); };
  EXPECT_EQ(quiet({"--quiet"}), 1u);
  EXPECT_EQ(quiet({"--quiet", "yes"}), 1u);
  EXPECT_EQ(quiet({"--quiet=false"}), 0u);
  EXPECT_EQ(quiet({"--no-quiet"}), 0u);
  EXPECT_EQ(quiet({"-q"}), 1u);
  expect_contains(refusal({"--quiet=perhaps"}), "--quiet: expected true/false");
  expect_contains(refusal({"--no-penalty"}), "unrecognised option '--no-penalty'");
}

// INI files: keys with '-' or '_', a [COMMAND] section for each command (others skipped), errors naming file and line.
TEST(Options, ConfigSectionsUnderscoresAndLines) {
  const std::string path = testing::TempDir() + "cadmm_test_sections.ini";
  {
    std::ofstream f(path);
    f << "penalty = elasticnet   # inline comment\nfit_intercept = false\n\n[path]\nn_lambda = 7\n[solve]\nl1_ratio = 0.3\n"
         "standardize = yes\n; a comment line\n[cv]\nfolds = 3\n";
  }
  const FitRequest s = settings_for({"--config", path});
  EXPECT_EQ(s.spec.penalty, Penalty::elasticnet);
  EXPECT_FALSE(s.spec.fit_intercept);
  EXPECT_DOUBLE_EQ(*s.spec.l1_ratio, 0.3);
  EXPECT_TRUE(s.spec.standardize);
  EXPECT_FALSE(settings_for({"--config", path, "--no-standardize"}).spec.standardize);  // the command line wins
  {
    std::ofstream f(path);
    f << "penalty = l1\n[solve]\nlamda = 3\n";
  }
  expect_contains(refusal({"--config", path}), "--config '" + path + "' line 3: unrecognised option '--lamda': did you mean --lambda?");
  {
    std::ofstream f(path);
    f << "[fit]\npenalty = l1\n";
  }
  expect_contains(refusal({"--config", path}), "line 1: [fit] is not a command");
  {
    std::ofstream f(path);
    f << "\nmax_iter = many\n";
  }
  expect_contains(refusal({"--config", path}), "line 2: the argument ('many') for option '--max-iter' is invalid");
  {
    std::ofstream f(path);
    f << "penalty = l1\nquiet = true\n[solve]\npenalty = l2\n";
  }
  EXPECT_EQ(settings_for({"--config", path}).spec.penalty, Penalty::l2);  // [solve] over the lines for every command
  {
    std::ofstream f(path);
    f << "penalty = l1\nquiet = true\npenalty = l2\n";
  }
  expect_contains(refusal({"--config", path}), "line 3: penalty is given twice (line 1 too)");
  {
    std::ofstream f(path);
    f << "quiet = true\n";
  }
  // A switch the command line turns off stays off (the command line wins).
  EXPECT_EQ(parse("solve", {"--config", path}, solve_like()).count("quiet"), 1u);
  EXPECT_EQ(parse("solve", {"--config", path, "--no-quiet"}, solve_like()).count("quiet"), 0u);
  EXPECT_EQ(parse("solve", {"--config", path, "--quiet", "false"}, solve_like()).count("quiet"), 0u);
  {
    std::ofstream f(path);
    f << "n_lambda = 20\nfolds = 3\npenalty = l2\n";
  }
  // Lines for every command that solve does not take are for path and cv, not errors...
  EXPECT_EQ(settings_for({"--config", path}).spec.penalty, Penalty::l2);
  {
    std::ofstream f(path);
    f << "[solve]\nn_lambda = 20\n";
  }
  // ...but under [solve] they are.
  expect_contains(refusal({"--config", path}), "line 2: unrecognised option '--n-lambda': --n-lambda is an option of path and cv");
  {
    std::ofstream f(path);
    f << "lambda_ratio = 0.05\n";
  }
  // --lambda on the command line replaces the file's lambda-ratio (its alternative) instead of clashing with it...
  const LambdaRequest given = settings_for({"--config", path, "--lambda", "0.01"}).lambda;
  EXPECT_EQ(given.kind, LambdaRequest::Kind::absolute);
  EXPECT_DOUBLE_EQ(given.value, 0.01);
  EXPECT_DOUBLE_EQ(settings_for({"--config", path}).lambda.value, 0.05);
  // ...but both on the command line, or both in the file, are still refused.
  const auto settings_refusal = [](const std::vector<std::string>& args) -> std::string {
    try {
      settings_for(args);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "no error";
  };
  expect_contains(settings_refusal({"--lambda", "0.01", "--lambda-ratio", "0.1"}), "give one or the other");
  {
    std::ofstream f(path);
    f << "lambda_ratio = 0.05\nlambda = 0.01\n";
  }
  expect_contains(settings_refusal({"--config", path}), "give one or the other");
  std::remove(path.c_str());
}
