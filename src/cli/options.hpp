#pragma once
// Option parsing shared by the commands: the only place Boost.Program_options is used.
#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "cadmm/settings.hpp"
#include "io/dataset_reader.hpp"

namespace cadmm::cli {

namespace po = boost::program_options;

/// Parses args (after the command name) and, when --config is given, that INI file (same keys as the long options,
/// '-' or '_'; its [COMMAND] section for this command; the command line wins). Options are spelled out (no prefix
/// guessing); every boolean takes --NAME, --no-NAME, --NAME true|false and --NAME=VALUE. Throws UsageError on unknown
/// options (suggesting the option meant: a near spelling, or cadmm's name for a glmnet / scikit-learn one), bad
/// values or a missing file, naming the file and line for the INI file's.
po::variables_map parse(const std::string& command, const std::vector<std::string>& args,
                        const po::options_description& desc,
                        const po::positional_options_description* positional = nullptr);

/// For an unknown command: "did you mean COMMAND?" (a near spelling, or what glmnet and scikit-learn users type), or "".
std::string command_suggestion(const std::string& command);

/// The value semantics of a boolean option: true/false/1/0/yes/no, true when given bare (read with bool_option).
po::typed_value<std::string>* boolean();

/// --help, --config, --quiet.
po::options_description general_options();
/// --data, --x-dataset, --y-dataset (and selection_options()).
po::options_description data_options();
/// How X and y are taken from the file: --feature-names-dataset, --y-column, --x-columns, --x-layout (every command
/// that reads data).
po::options_description selection_options();
/// The DataSelection those options ask for.
io::DataSelection selection_from(const po::variables_map& vm);
/// Model and solver options shared by solve/path/cv (Settings fields); --lambda/--lambda-ratio for solve only.
po::options_description model_options(bool one_lambda = true);
po::options_description solver_options();

/// Comma-separated numbers ("1,0.5, 0.1"); UsageError naming the option for anything else.
std::vector<double> number_list(const std::string& text, const std::string& option);

/// --n-lambda, --lambda-min-ratio, --lambdas (path and cv).
po::options_description lambda_sequence_options();
/// What a fitting command asks for, from its options: the problem, the solver and the lambdas, apart.
struct FitRequest {
  ProblemSpec spec;        ///< --penalty, --l1-ratio, --fit-intercept, --standardize, --exclude, numeric limits
  /// Per-feature values given as datasets of the data file, read with the data (read_feature_datasets).
  struct Datasets {
    std::string penalty_factor, lower_limits, upper_limits;  ///< empty: not given as a dataset
    std::string groups, group_weights;                       ///< --groups-dataset, --group-weights-dataset
  } datasets;
  SolverSettings solver;   ///< --rho ... --polish
  LambdaRequest lambda;    ///< --lambda / --lambda-ratio (solve), or --n-lambda, --lambda-min-ratio, --lambdas
  /// --exclude's items as given: those that are not numbers or ranges (features' names, added to spec.exclude once
  /// the data's names are read: read_feature_datasets), and those that are (spec.exclude has their numbers; kept to
  /// warn where a feature is named as one of them).
  std::vector<std::string> exclude_names, exclude_numbers;
};
/// The request of parsed options, every part validated (before any data are read); UsageError naming the option.
/// one_lambda: solve's --lambda/--lambda-ratio, else path's and cv's sequence options.
FitRequest fit_request_from(const po::variables_map& vm, bool one_lambda);

/// text without the blanks (spaces, tabs, line ends) around it.
std::string trim(const std::string& text);

/// true/false/1/0/yes/no (any case); throws UsageError naming the option otherwise.
bool parse_bool(const std::string& option, const std::string& text);

/// A cv rule as cadmm names it: glmnet's spellings lambda.min and lambda.1se become lambda_min and lambda_1se; any
/// other text is returned as it is.
std::string cv_rule_name(const std::string& text);

/// Value of a boolean option given as text, or fallback when absent.
bool bool_option(const po::variables_map& vm, const std::string& name, bool fallback);

}  // namespace cadmm::cli
