#pragma once
/// \file Solver settings: one flat struct, defaults next to each field, validate() names a bad field.
#include <optional>
#include <string>

namespace cadmm {

/// Penalty family P(W) of SPEC section 1.
enum class Penalty { l1, l2, elasticnet, l21 };

/// Parses "l1", "l2", "elasticnet", "l21"; throws UsageError otherwise.
Penalty parse_penalty(const std::string& name);
/// The CLI/file name of a penalty.
std::string to_string(Penalty p);

/// Everything that decides what is solved and how; the CLI option and INI key of each field is its name
/// with '_' replaced by '-'.
struct Settings {
  Penalty penalty = Penalty::l1;            ///< penalty family
  std::optional<double> lambda;             ///< absolute lambda; when unset, lambda_ratio * lambda_max
  double lambda_ratio = 0.1;                ///< lambda as a fraction of lambda_max (used when lambda unset)
  std::optional<double> l1_ratio;           ///< a in SPEC; default 0.5 (elasticnet), 1 (l21); fixed for l1/l2
  bool fit_intercept = true;                ///< unpenalized intercept (handled by centering)
  bool standardize = false;                 ///< glmnet: scale columns to unit variance (1/n) before fitting
  std::optional<double> rho;                ///< initial ADMM penalty; unset: chosen from the data's spectrum
  bool adaptive_rho = true;                 ///< residual balancing; rho changes are free (spectral factors)
  double over_relaxation = 1.6;             ///< alpha in Boyd et al. (3.19); 1 disables, (0, 2) allowed
  int max_iter = 20000;                     ///< iteration cap; reaching it is status "max_iter", not an error
  double abs_tol = 1e-10;                   ///< absolute tolerance of the residual test, Boyd et al. (3.12)
  double rel_tol = 1e-7;                    ///< relative tolerance of the residual test, Boyd et al. (3.12)
  double gap_tol = 1e-10;                   ///< relative duality gap also required to stop; 0 disables
  int gap_every = 10;                       ///< evaluate objective and duality gap every this many iterations
  int anderson_memory = 10;                 ///< Anderson acceleration of (z, u) with this memory; 0 disables
  bool polish = true;                       ///< solve exactly on a support that held for 10 iterations

  /// The l1 share a actually used: 1 for l1, 0 for l2, l1_ratio (or its default) otherwise.
  double effective_l1_ratio() const;
  /// The lambda these settings ask for, given the problem's lambda_max (the one place lambda is resolved).
  double resolve_lambda(double lambda_max) const { return lambda ? *lambda : lambda_ratio * lambda_max; }
  /// Throws UsageError naming the first bad field (as its CLI option name).
  void validate() const;
};

}  // namespace cadmm
