#pragma once
/// \file What is solved (ProblemSpec), how (SolverSettings) and at which lambdas (LambdaRequest), apart, as
/// ProxSuite keeps its Model, Settings and Results apart. Each is a flat struct with its defaults beside each field
/// and a validate() that names the bad field by its CLI option (the INI key is the same name).
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cadmm {

/// Penalty family P(W) of docs/spec.md section 1.
enum class Penalty { l1, l2, elasticnet, l21, group };

/// Parses "l1", "l2", "elasticnet", "l21", "group"; throws UsageError otherwise.
Penalty parse_penalty(const std::string& name);
/// The CLI/file name of a penalty.
std::string to_string(Penalty p);

/// What is solved: the penalty and the data's treatment (the same at every lambda and for every solver).
struct ProblemSpec {
  Penalty penalty = Penalty::l1;   ///< penalty family
  std::optional<double> l1_ratio;  ///< a of docs/spec.md; default 0.5 (elasticnet), 1 (l21, group); fixed for l1/l2
  bool fit_intercept = true;       ///< unpenalized intercept (handled by centering)
  bool standardize = false;        ///< glmnet: scale columns to unit variance (1/n) before fitting
  /// Per-feature penalty factors as given (empty: all 1; else d values >= 0, 0 = never penalized); used rescaled
  /// to sum to d, as glmnet does (penalty_factors()).
  std::vector<double> penalty_factor;
  /// Features whose coefficients are fixed at 0 (0-based; glmnet's `exclude`).
  std::vector<long long> exclude;
  /// Bounds on the coefficients on the original scale (glmnet's lower.limits / upper.limits, also under
  /// standardize): empty = unbounded, one value for every feature, or d values; lower <= 0 <= upper. The intercept
  /// is never bounded.
  std::vector<double> lower_limits, upper_limits;
  /// --penalty group: each feature's group, numbered 0..G-1 with none empty (d values, whole numbers).
  std::vector<double> groups;
  /// --penalty group: each group's weight w_g >= 0 (G values; empty: sqrt of the group's size).
  std::vector<double> group_weights;
  /// Options (CLI names, without --) whose values were read from a dataset of the data file, and that dataset: a
  /// refusal of those values is a data error (exit 3) naming it, not a usage error.
  std::map<std::string, std::string> from_data;

  /// The l1 share a actually used: 1 for l1, 0 for l2, l1_ratio (or its default) otherwise.
  double effective_l1_ratio() const;
  /// True when the penalty has an l1 part (the problems working sets and strong rules serve).
  bool has_l1() const { return penalty != Penalty::l2 && effective_l1_ratio() > 0; }
  /// Throws UsageError naming the first bad field (as its CLI option name); DataError where the field's values came
  /// from the data file (from_data).
  void validate() const;
  /// The per-feature fields against d features (their lengths, exclude's range); the same errors as validate().
  void validate_features(long long d) const;
  /// True when any per-feature field (factors, exclusions, bounds, groups) is set.
  bool per_feature() const;
  /// The factors used (d values): the given ones with excluded features at 1, rescaled to sum to d (glmnet's
  /// rule); all ones when none are given.
  std::vector<double> penalty_factors(long long d) const;
  /// --penalty group: each feature's group id (empty otherwise).
  std::vector<int> group_ids() const;
  /// --penalty group: the weights used, given or sqrt(|g|) (empty otherwise).
  std::vector<double> group_weights_used() const;
  /// Lower (upper) bound of feature j on the original scale; -inf (+inf) when unbounded.
  double lower(long long j) const;
  double upper(long long j) const;
  /// The per-feature fields as one short text (empty when none is set): what a checkpoint or fold file must share
  /// with the run that uses it.
  std::string per_feature_text() const;
  /// True when the bounds leave feature j's coefficient free (no bound on either side).
  bool unbounded() const { return lower_limits.empty() && upper_limits.empty(); }
};

/// How it is solved: the ADMM loop's parameters (no effect on the answer beyond the tolerances).
struct SolverSettings {
  std::optional<double> rho;        ///< initial ADMM penalty; unset: chosen from the data's spectrum
  bool adaptive_rho = true;         ///< residual balancing; rho changes are free (spectral factors)
  double over_relaxation = 1.6;     ///< alpha in Boyd et al. (3.19); 1 disables, (0, 2) allowed
  int max_iter = 20000;             ///< iteration cap; reaching it is status "max_iter", not an error
  double abs_tol = 1e-10;           ///< absolute tolerance of the residual test, Boyd et al. (3.12)
  double rel_tol = 1e-7;            ///< relative tolerance of the residual test, Boyd et al. (3.12)
  double gap_tol = 1e-10;           ///< relative duality gap also required to stop; 0 disables
  int gap_every = 10;               ///< evaluate objective and duality gap every this many iterations
  int anderson_memory = 10;         ///< Anderson acceleration of (z, u) with this memory; 0 disables
  bool polish = true;               ///< solve exactly on a support that held for 10 iterations

  /// Throws UsageError naming the first bad field (as its CLI option name).
  void validate() const;
  /// True when a point whose duality gap is `gap` at objective `objective` is certified optimal (gap_tol > 0).
  bool certified(double gap, double objective) const;
};

/// Which lambdas: one (absolute, or a ratio of lambda_max), a log-spaced grid below lambda_max, or a given
/// decreasing list. Resolved once, against the full data's lambda_max.
struct LambdaRequest {
  /// The four ways to ask.
  enum class Kind { ratio, absolute, grid, list };
  Kind kind = Kind::ratio;          ///< how the lambdas are given
  double value = 0.1;               ///< ratio: lambda / lambda_max; absolute: lambda
  int count = 100;                  ///< grid: number of lambdas (--n-lambda)
  double min_ratio = 1e-3;          ///< grid: smallest lambda / lambda_max (--lambda-min-ratio)
  std::vector<double> list;         ///< list: the lambdas, strictly decreasing (--lambdas)

  /// One lambda, value * lambda_max.
  static LambdaRequest ratio(double value);
  /// One lambda, as given.
  static LambdaRequest absolute(double value);
  /// count lambdas from lambda_max down to min_ratio * lambda_max, log-spaced (glmnet, scikit-learn).
  static LambdaRequest grid(int count, double min_ratio);
  /// The given lambdas, in any order (kept sorted decreasing); UsageError on an empty list or a negative or
  /// non-finite value.
  static LambdaRequest given(std::vector<double> lambdas);

  /// Throws UsageError naming the option of the first bad field (checked before any data are read).
  void validate() const;
  /// The lambdas asked for, given the problem's lambda_max: the one place a request is resolved.
  std::vector<double> resolve(double lambda_max) const;
};

/// count values from lambda_max down to min_ratio * lambda_max, evenly spaced on the log scale (as glmnet and
/// scikit-learn); one value (lambda_max) when count is 1.
std::vector<double> lambda_grid(double lambda_max, int count, double min_ratio);

/// Throws UsageError naming --lambdas when the list is empty or has a negative or non-finite value (counted as given).
void check_lambda_values(const std::vector<double>& lambdas);
/// check_lambda_values, and strictly decreasing (LambdaRequest::given sorts; a repeated value is refused).
void check_lambdas(const std::vector<double>& lambdas);

/// A request resolved against the lambda_max it came from (every result stores that one).
struct Lambdas {
  double lambda_max = 0;        ///< of the data the request was resolved against (the full data's)
  std::vector<double> values;   ///< strictly decreasing, finite, >= 0

  /// Resolves a request (validated) against lambda_max.
  static Lambdas resolve(const LambdaRequest& request, double lambda_max);
};

}  // namespace cadmm
