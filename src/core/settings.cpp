#include "cadmm/settings.hpp"

#include <cmath>

#include "cadmm/error.hpp"

namespace cadmm {

Penalty parse_penalty(const std::string& name) {
  if (name == "l1" || name == "lasso") return Penalty::l1;
  if (name == "l2" || name == "ridge") return Penalty::l2;
  if (name == "elasticnet") return Penalty::elasticnet;
  if (name == "l21") return Penalty::l21;
  throw UsageError("--penalty: unknown penalty '" + name + "' (expected l1, l2, elasticnet or l21)");
}

std::string to_string(Penalty p) {
  switch (p) {
    case Penalty::l1: return "l1";
    case Penalty::l2: return "l2";
    case Penalty::elasticnet: return "elasticnet";
    case Penalty::l21: return "l21";
  }
  return "?";
}

double Settings::effective_l1_ratio() const {
  switch (penalty) {
    case Penalty::l1: return 1.0;
    case Penalty::l2: return 0.0;
    case Penalty::elasticnet: return l1_ratio.value_or(0.5);
    case Penalty::l21: return l1_ratio.value_or(1.0);
  }
  return 1.0;
}

namespace {
void require(bool ok, const std::string& option, const std::string& what) {
  if (!ok) throw UsageError("--" + option + ": " + what);
}
}  // namespace

void Settings::validate() const {
  if (lambda) require(std::isfinite(*lambda) && *lambda >= 0, "lambda", "must be a finite value >= 0");
  require(std::isfinite(lambda_ratio) && lambda_ratio >= 0, "lambda-ratio", "must be a finite value >= 0");
  if (l1_ratio) {
    require(penalty == Penalty::elasticnet || penalty == Penalty::l21, "l1-ratio",
            "only applies to --penalty elasticnet or l21");
    require(std::isfinite(*l1_ratio) && *l1_ratio >= 0 && *l1_ratio <= 1, "l1-ratio", "must be in [0, 1]");
  }
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

}  // namespace cadmm
