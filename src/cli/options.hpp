#pragma once
// Option parsing shared by the commands: the only place Boost.Program_options is used.
#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "cadmm/settings.hpp"

namespace cadmm::cli {

namespace po = boost::program_options;

/// Parses args (after the command name) and, when --config is given, that INI file (same keys as the long
/// options; the command line wins). Throws UsageError on unknown options, bad values or a missing file.
po::variables_map parse(const std::vector<std::string>& args, const po::options_description& desc,
                        const po::positional_options_description* positional = nullptr);

/// --help, --config, --quiet.
po::options_description general_options();
/// --data, --x-dataset, --y-dataset.
po::options_description data_options();
/// Model and solver options shared by solve/path/cv (Settings fields); --lambda/--lambda-ratio for solve only.
po::options_description model_options(bool one_lambda = true);
po::options_description solver_options();

/// --n-lambda, --lambda-min-ratio, --lambdas (path and cv).
po::options_description lambda_sequence_options();
/// The lambda sequence those options ask for, given the data's lambda_max; UsageError naming the option.
std::vector<double> lambda_sequence(const po::variables_map& vm, double lambda_max);

/// Settings from parsed options, validated; throws UsageError naming the option.
Settings settings_from(const po::variables_map& vm);

/// true/false/1/0/yes/no (any case); throws UsageError naming the option otherwise.
bool parse_bool(const std::string& option, const std::string& text);

/// Value of a boolean option given as text, or fallback when absent.
bool bool_option(const po::variables_map& vm, const std::string& name, bool fallback);

}  // namespace cadmm::cli
