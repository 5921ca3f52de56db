#pragma once
/// \file Entry points: a Model built once from prepared data, fits at any lambda over it, and the in-memory
/// convenience for library users.
#include <memory>
#include <optional>

#include "cadmm/admm.hpp"
#include "cadmm/data.hpp"
#include "cadmm/settings.hpp"

namespace cadmm {

/// Internal column scaling. ADMM with one scalar rho converges slowly when features' curvatures differ, so
/// the solver works on A = X_c diag(column) with unit loss curvature per feature (Jacobi); the penalty weights
/// make the scaled problem the same problem. It depends on the data only, so one factorization serves every
/// lambda (the ridge part of the penalty lives in the proximal step, not in the factored local term).
struct ColumnScaling {
  Vector column;          ///< s_j; coefficient on the original scale = s_j * scaled coefficient (0: excluded)
  Vector penalty_weight;  ///< c_j of PenaltySpec on the scaled coefficients (p_j s_j)
  Vector lower, upper;    ///< the bounds on the scaled coefficients (empty: unbounded)
  Vector ridge_weight;    ///< e_j of PenaltySpec with penalty factors f_j: f_j (p_j s_j / f_j)^2 (empty: none given)
};
/// The scaling of a prepared data.
ColumnScaling column_scaling(const PreparedData& data);

/// What depends only on the data (ProxSuite's Model): the global facts, the column scaling and this rank's
/// factored local term. Every lambda and every rho is served without refactoring: a path walks lambdas over
/// one Model, a cross-validation holds one per fold.
struct Model {
  PreparedData data;                 ///< global facts (the local block was moved into `local`)
  ColumnScaling scaling;                ///< fixed internal scaling
  std::unique_ptr<LocalSolver> local;   ///< factored local term
  LocalForm form = LocalForm::gram;     ///< how this rank holds and solves its local term
  double rho_auto = 1;                  ///< initial rho when Settings::rho is unset
  /// Some rank holds its data for working sets (LocalForm::screened or streamed): penalties with an l1 part are
  /// then solved over working sets (working_set_solve); the same on every rank.
  bool working_sets = false;
  /// Every rank's term gives sparse columns (AdmmProblem::columns), agreed by every rank.
  bool columns = false;
  /// AdmmProblem::max_polish, agreed by every rank.
  Eigen::Index max_polish = kMaxPolishActive;
  /// Smallest lambda with every penalized coefficient 0 (lambda_max(model)): with unpenalized features, the dual norm
  /// of the gradient at the fit on those alone (glmnet's rule); bounds do not change it (glmnet's either).
  double lambda_max = 0;
  /// Some kept feature has penalty factor 0: W = 0 is then no solution at any lambda, and a fit from zero starts
  /// by polishing the unpenalized features' pattern.
  bool unpenalized = false;
  /// Features whose columns came with the sums (the streamed form, chosen on a sample of the rows by
  /// first_working_set); the same on every rank. AdmmProblem::first_set of a fit from zero.
  std::vector<Eigen::Index> first_set;
};

/// Builds the Model, consuming the prepared data's local block; collective (a factorization that fails on
/// one rank fails on all).
Model make_model(PreparedData data, Communicator& comm);

/// A model of the Gram form summed into root's (consumed; collective, every rank's local term of the Gram form and not
/// yet factored): root gets the model of every rank's rows, which one rank solves alone (active_ranks 1; its fits
/// are the collective model's to the solver's tolerance); the others nullopt. Cross-validation fits its folds side
/// by side this way, one rank each.
std::optional<Model> sum_model_to(Model model, int root, Communicator& comm);

/// The model of every rank's rows on every rank (LocalSolver::gathered; collective, the model kept as it is), which each
/// rank solves alone; nullopt on every rank where the form has no such gather.
std::optional<Model> gathered_model(const Model& model, Communicator& comm);

/// Smallest lambda with W = 0 for the problem's penalty (the largest lambda of a path).
double lambda_max(const PreparedData& data);
/// The same for a Model (Model::lambda_max: unpenalized features fitted first).
inline double lambda_max(const Model& model) { return model.lambda_max; }
/// The request resolved against the model's lambda_max. A ratio or grid of lambda_max is refused (DataError) where
/// lambda_max is 0 up to rounding (y constant, X zero, or the unpenalized features fitting y exactly): every lambda
/// would leave the penalized coefficients 0, and a grid of rounding noise runs to --max-iter at every lambda.
Lambdas resolve_lambdas(const LambdaRequest& request, const Model& model);

/// Share of the features whose gradient at W = 0 exceeds its l1 bound at `lambda`: the features a working set
/// would start with from zero. Above kDenseStart, working_set_solve takes every feature at once, and the plan
/// (given the share on a sample of the rows) keeps the full Gram instead of a working-set form.
double violating_share_at_zero(const PreparedData& data, double lambda);
/// The set a working set starting from zero takes on this problem at `lambda`: the features violating most at
/// W = 0 (as many as working_set_solve's first round), in increasing order.
std::vector<Eigen::Index> first_working_set(const PreparedData& data, double lambda);

/// A fitted model on the original feature scale plus how the solve went.
struct FitResult {
  Matrix coef;            ///< d x k coefficients, original scale
  Vector intercept;       ///< k intercepts (0 without intercept)
  double lambda = 0;      ///< lambda used
  double lambda_max = 0;  ///< the lambda_max the lambda (or the path's grid) was resolved against
  double l1_ratio = 1;    ///< a used
  AdmmResult admm;        ///< status, residuals, objective, history, final iterate (internal scaling)
};

/// Solves at one lambda over a model; collective. warm may carry a previous iterate (a path's previous lambda,
/// or a checkpoint); warm_lambda, when > 0, is the lambda that iterate solved (sequential strong rule). The
/// result's lambda_max is left to the caller, who resolved lambda (the drivers). polish_memory, when given, is kept by
/// the polishing from this fit to the next on the same model (AdmmProblem::polish_memory).
FitResult fit(const Model& model, double lambda, const SolverSettings& settings, Communicator& comm,
              const AdmmObserver& observer = {}, const AdmmState* warm = nullptr, double warm_lambda = 0,
              PolishMemory* polish_memory = nullptr);

/// Convenience for library users: this rank's rows of X (rows x d) and Y (rows x k) already in memory, at the one
/// lambda `lambda` asks for. With SerialCommunicator it is a plain single-process solver. Collective.
FitResult fit(const Eigen::Ref<const RowMatrix>& x_local, const Eigen::Ref<const RowMatrix>& y_local,
              const ProblemSpec& spec, const LambdaRequest& lambda, Communicator& comm,
              const SolverSettings& settings = {});

/// Model of in-memory rows (as fit above does before solving); collective. form: how the rows are held (unset:
/// the plan's rule without working sets); with LocalForm::streamed the model reads x_local again, which must
/// then outlive it.
Model make_model(const Eigen::Ref<const RowMatrix>& x_local, const Eigen::Ref<const RowMatrix>& y_local,
                 const ProblemSpec& spec, Communicator& comm, std::optional<LocalForm> form = std::nullopt);

}  // namespace cadmm
