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

FitRequest settings_for(const std::vector<std::string>& args) { return fit_request_from(parse(args, solve_like()), true); }

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
