#include "cadmm/settings.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>

#include "cadmm/error.hpp"
#include "core/hash.hpp"

namespace cadmm {

Penalty parse_penalty(const std::string& name) {
  // The names scikit-learn's and glmnet's users bring too, however cased and joined (ElasticNet, elastic_net).
  std::string flat;
  for (char c : name)
    if (c != '_' && c != '-' && c != ' ') flat += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (flat == "l1" || flat == "lasso") return Penalty::l1;
  if (flat == "l2" || flat == "ridge") return Penalty::l2;
  if (flat == "elasticnet" || flat == "enet") return Penalty::elasticnet;
  if (flat == "l21" || flat == "multitask" || flat == "multitasklasso" || flat == "mgaussian") return Penalty::l21;
  if (flat == "group" || flat == "grouplasso") return Penalty::group;
  throw UsageError("--penalty: unknown penalty '" + name + "' (expected l1, l2, elasticnet, l21 or group)");
}

std::string to_string(Penalty p) {
  switch (p) {
    case Penalty::l1: return "l1";
    case Penalty::l2: return "l2";
    case Penalty::elasticnet: return "elasticnet";
    case Penalty::l21: return "l21";
    case Penalty::group: return "group";
  }
  return "?";
}

double ProblemSpec::effective_l1_ratio() const {
  switch (penalty) {
    case Penalty::l1: return 1.0;
    case Penalty::l2: return 0.0;
    case Penalty::elasticnet: return l1_ratio.value_or(0.5);
    case Penalty::l21:
    case Penalty::group: return l1_ratio.value_or(1.0);
  }
  return 1.0;
}

namespace {
void require(bool ok, const std::string& option, const std::string& what) {
  if (!ok) throw UsageError("--" + option + ": " + what);
}

// A refusal of what an option holds: where it came from a dataset of the data file (ProblemSpec::from_data) it is
// input data, refused as the weights are (exit 3, naming the dataset); a value typed on the command line is a usage
// error (exit 2).
void require_value(const ProblemSpec& spec, bool ok, const std::string& option, const std::string& what) {
  if (ok) return;
  const auto read = spec.from_data.find(option);
  if (read == spec.from_data.end()) throw UsageError("--" + option + ": " + what);
  throw DataError("--" + option + " (dataset '" + read->second + "'): " + what);
}

// "feature j" of a per-feature field (0-based, as --exclude counts).
std::string feature(std::size_t j) { return "feature " + std::to_string(j) + " (0-based)"; }
}  // namespace

void ProblemSpec::validate() const {
  if (l1_ratio) {
    require(penalty == Penalty::elasticnet || penalty == Penalty::l21 || penalty == Penalty::group, "l1-ratio",
            "only applies to --penalty elasticnet, l21 or group");
    require(std::isfinite(*l1_ratio) && *l1_ratio >= 0 && *l1_ratio <= 1, "l1-ratio", "must be in [0, 1]");
  }
  for (std::size_t j = 0; j < penalty_factor.size(); ++j)
    require_value(*this, !std::isnan(penalty_factor[j]) && penalty_factor[j] >= 0, "penalty-factor-dataset",
                  feature(j) + " has " + std::to_string(penalty_factor[j]) +
                      ": factors must be >= 0 (inf, as in glmnet, keeps a feature out)");
  if (!penalty_factor.empty()) {
    std::vector<char> excluded(penalty_factor.size(), 0);
    for (long long j : exclude)
      if (j >= 0 && j < static_cast<long long>(excluded.size())) excluded[static_cast<std::size_t>(j)] = 1;
    bool penalized = false;  // a factor > 0 on a feature not excluded
    for (std::size_t j = 0; j < penalty_factor.size(); ++j) penalized = penalized || (penalty_factor[j] > 0 && !excluded[j]);
    require_value(*this, penalized, "penalty-factor-dataset",
                  "every factor is 0 (of the features not excluded): nothing would be penalized (fit without a "
                  "penalty instead)");
  }
  for (long long j : exclude) require(j >= 0, "exclude", "feature numbers are 0-based and >= 0");
  for (std::size_t j = 0; j < lower_limits.size(); ++j)
    require_value(*this, !std::isnan(lower_limits[j]) && lower_limits[j] <= 0, "lower-limits",
                  (lower_limits.size() > 1 ? feature(j) + " has " + std::to_string(lower_limits[j]) + ": " : "") +
                      "must be <= 0 (glmnet's rule; -inf: unbounded)");
  for (std::size_t j = 0; j < upper_limits.size(); ++j)
    require_value(*this, !std::isnan(upper_limits[j]) && upper_limits[j] >= 0, "upper-limits",
                  (upper_limits.size() > 1 ? feature(j) + " has " + std::to_string(upper_limits[j]) + ": " : "") +
                      "must be >= 0 (glmnet's rule; inf: unbounded)");
  if (!unbounded())
    require(penalty != Penalty::l21 && penalty != Penalty::group, lower_limits.empty() ? "upper-limits" : "lower-limits",
            "bounds (and --positive, which is --lower-limits 0) apply coefficient by coefficient; --penalty " +
                to_string(penalty) + " shrinks " + (penalty == Penalty::l21 ? "rows" : "groups") +
                " as a whole (use l1 or elasticnet)");
  const bool grouped = penalty == Penalty::group;
  require(grouped || groups.empty(), "groups-dataset", "only applies to --penalty group");
  require(group_weights.empty() || grouped, "group-weights-dataset", "only applies to --penalty group");
  require(!grouped || penalty_factor.empty(), "penalty-factor-dataset",
          "not with --penalty group: weigh groups with --group-weights-dataset");
  for (std::size_t j = 0; j < groups.size(); ++j) {
    const double g = groups[j];
    require_value(*this, std::isfinite(g) && g >= 0 && g == std::floor(g) && g < 2147483647.0, "groups-dataset",
                  "group ids must be whole numbers >= 0 (" + feature(j) + " has " + std::to_string(g) + ")");
  }
  for (double w : group_weights)
    require_value(*this, std::isfinite(w) && w >= 0, "group-weights-dataset", "weights must be finite and >= 0");
}

void ProblemSpec::validate_features(long long d) const {
  const auto sized = [&](const std::vector<double>& v, const char* option, bool scalar_ok) {
    require_value(*this, v.empty() || static_cast<long long>(v.size()) == d || (scalar_ok && v.size() == 1), option,
                  std::to_string(v.size()) + " values for " + std::to_string(d) + " features");
  };
  sized(penalty_factor, "penalty-factor-dataset", false);
  sized(lower_limits, "lower-limits", true);
  sized(upper_limits, "upper-limits", true);
  for (long long j : exclude)
    require(j < d, "exclude", "feature " + std::to_string(j) + " does not exist (0-based; the data has " +
                                  std::to_string(d) + " features)");
  require(static_cast<long long>(exclude.size()) < d || d == 0, "exclude", "every feature is excluded");
  require(penalty != Penalty::group || !groups.empty(), "groups-dataset",
          "required with --penalty group (each feature's group, 0..G-1 or 1..G)");
  if (groups.empty()) return;
  require_value(*this, static_cast<long long>(groups.size()) == d, "groups-dataset",
          std::to_string(groups.size()) + " group ids for " + std::to_string(d) + " features");
  const std::vector<int> id = group_ids();
  const int count = *std::max_element(id.begin(), id.end()) + 1;
  const int base = static_cast<int>(*std::min_element(groups.begin(), groups.end())) == 1 ? 1 : 0;  // as given
  require_value(*this, count <= d, "groups-dataset",
          "group id " + std::to_string(count - 1 + base) + " is past the " + std::to_string(d) +
              " features: groups must be numbered 0..G-1 (or 1..G) with none empty");
  std::vector<int> size(static_cast<std::size_t>(count), 0);
  for (int g : id) ++size[static_cast<std::size_t>(g)];
  for (int g = 0; g < count; ++g)
    require_value(*this, size[static_cast<std::size_t>(g)] > 0, "groups-dataset",
            "groups must be numbered " + std::to_string(base) + ".." + std::to_string(count - 1 + base) +
                " with none empty: group " + std::to_string(g + base) + " has no feature");
  require_value(*this, group_weights.empty() || static_cast<int>(group_weights.size()) == count, "group-weights-dataset",
          std::to_string(group_weights.size()) + " weights for " + std::to_string(count) + " groups");
}

std::vector<int> ProblemSpec::group_ids() const {
  // Numbered 0..G-1, or 1..G as R's packages number them (grpreg, sparsegl, gglasso): then shifted down by one.
  std::vector<int> id;
  for (double g : groups) id.push_back(static_cast<int>(g));
  if (!id.empty() && *std::min_element(id.begin(), id.end()) == 1)
    for (int& g : id) --g;
  return id;
}

std::vector<double> ProblemSpec::group_weights_used() const {
  if (groups.empty() || !group_weights.empty()) return group_weights;
  const std::vector<int> id = group_ids();
  std::vector<double> w(static_cast<std::size_t>(*std::max_element(id.begin(), id.end()) + 1), 0.0);
  for (int g : id) w[static_cast<std::size_t>(g)] += 1;
  for (double& v : w) v = std::sqrt(v);  // the usual sqrt(|g|)
  return w;
}

std::string ProblemSpec::per_feature_text() const {
  // A digest of each field (its values' bits), so a long vector makes a short key.
  const auto digest = [](const char* name, const auto& v) -> std::string {
    if (v.empty()) return "";
    std::uint64_t h = mix64(v.size());
    for (const auto& x : v) {
      std::uint64_t bits = 0;
      const double value = static_cast<double>(x);
      std::memcpy(&bits, &value, sizeof bits);
      h = mix64(h ^ bits);
    }
    char text[64];
    std::snprintf(text, sizeof text, "%s %zu values #%016llx", name, v.size(), static_cast<unsigned long long>(h));
    return std::string(", ") + text;
  };
  const std::string all = digest("penalty factors", penalty_factor) + digest("exclude", exclude) +
                          digest("lower limits", lower_limits) + digest("upper limits", upper_limits) +
                          digest("groups", groups) + digest("group weights", group_weights);
  return all.empty() ? all : all.substr(2);
}

bool ProblemSpec::per_feature() const {
  return !penalty_factor.empty() || !exclude.empty() || !unbounded() || !groups.empty();
}

std::vector<double> ProblemSpec::penalty_factors(long long d) const {
  std::vector<double> f(static_cast<std::size_t>(d), 1.0);
  if (penalty_factor.empty()) return f;
  f = penalty_factor;
  for (long long j : exclude) f[static_cast<std::size_t>(j)] = 1.0;  // glmnet: so exclusions leave the rest alone
  double sum = 0;
  for (double v : f) sum += v;
  for (double& v : f) v *= static_cast<double>(d) / sum;
  return f;
}

namespace {
double limit_of(const std::vector<double>& v, long long j, double unbounded) {
  if (v.empty()) return unbounded;
  return v.size() == 1 ? v[0] : v[static_cast<std::size_t>(j)];
}
}  // namespace

double ProblemSpec::lower(long long j) const { return limit_of(lower_limits, j, -HUGE_VAL); }
double ProblemSpec::upper(long long j) const { return limit_of(upper_limits, j, HUGE_VAL); }

void SolverSettings::validate() const {
  if (rho) require(std::isfinite(*rho) && *rho > 0, "rho", "must be a finite value > 0");
  require(over_relaxation > 0 && over_relaxation < 2, "over-relaxation", "must be in (0, 2)");
  require(max_iter >= 1, "max-iter", "must be >= 1");
  require(std::isfinite(abs_tol) && abs_tol >= 0, "abs-tol", "must be >= 0");
  require(std::isfinite(rel_tol) && rel_tol >= 0, "rel-tol", "must be >= 0");
  require(abs_tol > 0 || rel_tol > 0, "abs-tol", "abs-tol and rel-tol cannot both be 0");
  require(std::isfinite(gap_tol) && gap_tol >= 0, "gap-tol", "must be >= 0 (0 disables the gap test)");
  require(gap_every >= 1, "gap-every", "must be >= 1");
  require(anderson_memory >= 0 && anderson_memory <= 50, "anderson-memory", "must be in [0, 50]");
}

bool SolverSettings::certified(double gap, double objective) const {
  return gap_tol > 0 && gap <= gap_tol * std::max(std::abs(objective), 1e-300);
}

LambdaRequest LambdaRequest::ratio(double value) {
  LambdaRequest r;
  r.kind = Kind::ratio;
  r.value = value;
  return r;
}

LambdaRequest LambdaRequest::absolute(double value) {
  LambdaRequest r;
  r.kind = Kind::absolute;
  r.value = value;
  return r;
}

LambdaRequest LambdaRequest::grid(int count, double min_ratio) {
  LambdaRequest r;
  r.kind = Kind::grid;
  r.count = count;
  r.min_ratio = min_ratio;
  return r;
}

LambdaRequest LambdaRequest::given(std::vector<double> lambdas) {
  LambdaRequest r;
  r.kind = Kind::list;
  r.list = std::move(lambdas);
  // Any order, as scikit-learn's alphas and glmnet's lambda: fitted from the largest down (warm starts). The values
  // are checked first, so a refusal counts them as typed.
  check_lambda_values(r.list);
  std::sort(r.list.begin(), r.list.end(), std::greater<>());
  return r;
}

void LambdaRequest::validate() const {
  switch (kind) {
    case Kind::absolute: require(std::isfinite(value) && value >= 0, "lambda", "must be a finite value >= 0"); break;
    case Kind::ratio: require(std::isfinite(value) && value >= 0, "lambda-ratio", "must be a finite value >= 0"); break;
    case Kind::grid:
      require(count >= 1, "n-lambda", "must be >= 1");
      require(min_ratio > 0 && min_ratio < 1, "lambda-min-ratio", "must be in (0, 1)");
      break;
    case Kind::list: check_lambdas(list); break;
  }
}

std::vector<double> LambdaRequest::resolve(double lambda_max) const {
  validate();
  switch (kind) {
    case Kind::absolute: return {value};
    case Kind::ratio: {
      const double lambda = value * lambda_max;
      require(std::isfinite(lambda) && lambda >= 0, "lambda", "must be a finite value >= 0");
      return {lambda};
    }
    case Kind::grid: return lambda_grid(lambda_max, count, min_ratio);
    case Kind::list: return list;
  }
  return {};
}

Lambdas Lambdas::resolve(const LambdaRequest& request, double lambda_max) {
  return Lambdas{lambda_max, request.resolve(lambda_max)};
}

std::vector<double> lambda_grid(double lambda_max, int count, double min_ratio) {
  if (count < 1) throw UsageError("--n-lambda: must be >= 1");
  if (!(min_ratio > 0 && min_ratio < 1)) throw UsageError("--lambda-min-ratio: must be in (0, 1)");
  std::vector<double> l(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i)
    l[static_cast<std::size_t>(i)] = count == 1 ? lambda_max : lambda_max * std::pow(min_ratio, double(i) / (count - 1));
  return l;
}

void check_lambda_values(const std::vector<double>& l) {
  if (l.empty()) throw UsageError("--lambdas: the list is empty");
  for (std::size_t i = 0; i < l.size(); ++i)
    if (!std::isfinite(l[i]) || l[i] < 0)
      throw UsageError("--lambdas: value " + std::to_string(i + 1) + " (" + std::to_string(l[i]) +
                       ") must be a finite value >= 0");
}

void check_lambdas(const std::vector<double>& l) {
  check_lambda_values(l);
  for (std::size_t i = 1; i < l.size(); ++i) {
    if (!(l[i] < l[i - 1]))
      throw UsageError(l[i] == l[i - 1] ? "--lambdas: " + std::to_string(l[i]) + " is given twice"
                                        : "--lambdas: values must be decreasing (value " + std::to_string(i + 1) +
                                              " is not below value " + std::to_string(i) + ")");
  }
}

}  // namespace cadmm
