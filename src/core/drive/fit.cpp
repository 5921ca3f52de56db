#include "cadmm/fit.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "cadmm/error.hpp"

namespace cadmm {

ColumnScaling column_scaling(const PreparedData& data) {
  const Vector p = data.penalty_scale();
  const Eigen::Index d = data.n_features;
  ColumnScaling s;
  s.column = Vector::Zero(d);
  s.penalty_weight = Vector::Ones(d);
  const bool bounded = !data.spec.unbounded();
  if (bounded) s.lower = Vector::Constant(d, -HUGE_VAL), s.upper = Vector::Constant(d, HUGE_VAL);
  // glmnet's factor f_j scales both parts of the penalty: l1 by f_j, l2 by f_j too (not f_j^2).
  const std::vector<double> factor = data.spec.penalty_factors(d);
  if (!data.spec.penalty_factor.empty()) s.ridge_weight = Vector::Zero(d);
  for (Eigen::Index j = 0; j < d; ++j) {
    if (data.x_curv[j] <= 0) continue;  // excluded column: zeroed, coefficient 0
    s.column[j] = 1.0 / std::sqrt(data.x_curv[j]);
    s.penalty_weight[j] = p[j] * s.column[j];
    if (s.ridge_weight.size() && factor[j] > 0) {
      const double unit = p[j] / factor[j] * s.column[j];  // the weight without the factor
      s.ridge_weight[j] = factor[j] * unit * unit;
    }
    // coefficient = s_j z_j: the bounds on z are the user's over s_j (infinities stay infinite).
    if (bounded) s.lower[j] = data.spec.lower(j) / s.column[j], s.upper[j] = data.spec.upper(j) / s.column[j];
  }
  return s;
}

namespace {

// --penalty group: the feature groups, on a penalty whose feature weights are set.
void add_groups(PenaltySpec& pen, const ProblemSpec& spec) {
  if (!spec.groups.empty()) pen.set_groups(spec.group_ids(), spec.group_weights_used());
}

// The penalty at lambda over a model's scaling: weights, bounds, groups.
PenaltySpec penalty_of(const Model& model, double lambda) {
  const ProblemSpec& spec = model.data.spec;
  PenaltySpec pen = PenaltySpec::make(spec.penalty, lambda, spec.effective_l1_ratio());
  pen.feature_weight = model.scaling.penalty_weight;
  pen.ridge_weight = model.scaling.ridge_weight;
  pen.lower = model.scaling.lower;
  pen.upper = model.scaling.upper;
  add_groups(pen, spec);
  return pen;
}

// lambda_max with unpenalized features: fit them alone (every penalized coefficient held at 0 by an l1 weight no
// gradient reaches), then the dual norm of the gradient there over the penalized ones, as glmnet does.
double lambda_max_after_unpenalized(const Model& m, Communicator& comm) {
  AdmmProblem ap;
  ap.penalty = penalty_of(m, 1.0);
  ap.penalty.l1_weight = 1e200, ap.penalty.l2_weight = 0;
  ap.local = m.local.get();
  ap.active_ranks = m.data.active_ranks;
  ap.rho_auto = m.rho_auto;
  ap.max_polish = m.max_polish;
  ap.previous_l1_weight = ap.penalty.l1_weight;
  SolverSettings settings;
  const Matrix zero = Matrix::Zero(m.data.n_features, m.data.n_targets);
  AdmmState start;
  start.z = zero;
  start.u = zero;
  const AdmmResult r = admm_solve(ap, settings, comm, &start);
  Matrix grad;
  evaluate(ap, r.state.z, comm, &grad);
  PenaltySpec unit = penalty_of(m, 1.0);
  unit.lower.resize(0), unit.upper.resize(0);  // glmnet's lambda_max ignores the bounds
  return unit.dual_norm(grad) / std::max(m.data.spec.effective_l1_ratio(), 1e-3);
}

// Each rank's scaled Hessian is about 1/N of the global one, whose trace is the number of features kept (unit
// curvature each): rho starts at the mean eigenvalue of a rank's Hessian.
double auto_rho(const ColumnScaling& scaling, int active_ranks, Eigen::Index d) {
  const double kept = static_cast<double>((scaling.column.array() > 0).count());
  const double mean_eig = kept / (std::max(1, active_ranks) * std::max<double>(1.0, static_cast<double>(d)));
  return mean_eig > 0 && std::isfinite(mean_eig) ? mean_eig : 1.0;
}

// The model now holds every rank's rows in its local term, which one rank solves alone. Whether that term gives its
// columns is its own answer (a summed fold may take another form than the ranks' terms it came from).
Model alone_with(Model model, std::unique_ptr<LocalSolver> whole) {
  model.local = std::move(whole);
  LocalColumns probe;
  model.columns = model.local->sparse_columns({}, probe);
  model.data.active_ranks = 1;
  model.rho_auto = auto_rho(model.scaling, 1, model.data.n_features);
  return model;
}

}  // namespace

std::optional<Model> sum_model_to(Model model, int root, Communicator& comm) {
  std::unique_ptr<LocalSolver> whole = std::move(*model.local).summed_to(root, comm);
  if (comm.rank() != root) return std::nullopt;
  return alone_with(std::move(model), std::move(whole));
}

std::optional<Model> gathered_model(const Model& model, Communicator& comm) {
  std::unique_ptr<LocalSolver> whole = model.local->gathered(comm);
  if (!whole) return std::nullopt;
  Model m;  // the model's global facts, copied (its local term is not copyable)
  m.data = model.data.facts();
  m.scaling = model.scaling;
  m.form = model.form;
  m.working_sets = model.working_sets;
  m.max_polish = model.max_polish;
  m.lambda_max = model.lambda_max;
  m.unpenalized = model.unpenalized;
  m.first_set = model.first_set;
  return alone_with(std::move(m), std::move(whole));
}

Model make_model(PreparedData data, Communicator& comm) {
  Model m;
  m.scaling = column_scaling(data);
  m.form = data.block.form();
  // The factorization can fail on one rank only; agree before anyone's next reduction.
  collectively(comm, [&] {
    m.local = std::move(data.block).factor(m.scaling.column, data.n_weight);
  });
  m.rho_auto = auto_rho(m.scaling, data.active_ranks, data.n_features);
  // One reduction: does any rank hold its data for working sets; does every rank with rows hold its Hessian.
  LocalColumns probe;
  double facts[3] = {uses_working_sets(m.form) ? 1.0 : 0.0, m.local->rows() > 0 && !m.local->holds_hessian() ? 1.0 : 0.0,
                     m.local->sparse_columns({}, probe) ? 1.0 : 0.0};
  comm.sum(facts, 3);
  m.working_sets = facts[0] > 0;
  m.columns = facts[2] == comm.size();
  m.max_polish = facts[1] > 0 ? kMaxPolishActive : kMaxPolishHeld;
  m.data = std::move(data);
  for (Eigen::Index j = 0; j < m.data.n_features; ++j)
    m.unpenalized = m.unpenalized || (m.scaling.column[j] > 0 && m.scaling.penalty_weight[j] <= 0);
  for (double w : m.data.spec.group_weights_used()) m.unpenalized = m.unpenalized || w <= 0;
  m.lambda_max = m.unpenalized && m.data.spec.has_l1() ? lambda_max_after_unpenalized(m, comm) : lambda_max(m.data);
  return m;
}

double lambda_max(const PreparedData& data) {
  if (!data.spec.groups.empty()) {
    PenaltySpec unit = PenaltySpec::make(data.spec.penalty, 1.0, 1.0);
    unit.feature_weight = data.penalty_scale();
    add_groups(unit, data.spec);
    return unit.dual_norm(data.q_global) / std::max(data.spec.effective_l1_ratio(), 1e-3);
  }
  return lambda_max(data.q_global, data.spec.penalty, data.spec.effective_l1_ratio(), data.penalty_scale());
}

Lambdas resolve_lambdas(const LambdaRequest& request, const Model& model) {
  const PreparedData& d = model.data;
  // Centred y is rounding noise of its mean (with an intercept; without one y_mean is 0 and y_ss is uncentred).
  const bool y_constant = d.y_ss <= 1e-24 * (d.y_ss + d.y_mean.squaredNorm());
  const bool nothing = model.lambda_max == 0 || y_constant;
  if (nothing && (request.kind == LambdaRequest::Kind::ratio || request.kind == LambdaRequest::Kind::grid)) {
    char value[32];
    std::snprintf(value, sizeof value, "%.3g", model.lambda_max);
    throw DataError("lambda_max is " + std::string(model.lambda_max == 0 ? "0" : "rounding noise (" +
                    std::string(value) + ")") + ": " +
                    (y_constant ? "y is constant" : "no feature is correlated with y (X is zero or "
                    "its columns constant, or the unpenalized features fit y exactly)") +
                    ", so every lambda leaves the penalized coefficients 0 and the fit is the intercept alone; a "
                    "lambda relative to lambda_max (--lambda-ratio, --n-lambda) has nothing to scale. Check "
                    "--data, --x-dataset and --y-dataset (or --y-column), or give --lambda / --lambdas");
  }
  return Lambdas::resolve(request, model.lambda_max);
}

FitResult fit(const Model& model, double lambda, const SolverSettings& settings, Communicator& comm,
              const AdmmObserver& observer, const AdmmState* warm, double warm_lambda, PolishMemory* polish_memory) {
  if (!(std::isfinite(lambda) && lambda >= 0)) throw UsageError("--lambda: must be a finite value >= 0");
  const ProblemSpec& spec = model.data.spec;
  FitResult r;
  r.l1_ratio = spec.effective_l1_ratio();
  r.lambda = lambda;

  AdmmProblem ap;
  ap.penalty = penalty_of(model, lambda);
  // Unpenalized features: zero solves no lambda, but polishing their pattern (the strong rule from lambda_max)
  // starts the fit close to its answer.
  AdmmState zero;
  if (!warm && model.unpenalized && ap.penalty.l1_weight > 0) {
    zero.z = zero.u = Matrix::Zero(model.data.n_features, model.data.n_targets);
    warm = &zero;
    warm_lambda = std::max(lambda, model.lambda_max);
  }
  if (warm && warm_lambda > 0) ap.previous_l1_weight = warm_lambda * r.l1_ratio;
  ap.local = model.local.get();
  ap.active_ranks = model.data.active_ranks;
  ap.rho_auto = model.rho_auto;
  ap.max_polish = model.max_polish;
  if (!warm) ap.first_set = model.first_set;
  ap.polish_memory = polish_memory;
  ap.columns = model.columns;

  // An exact resume continues the solve it was: one on the full problem (a path's lambdas stopped inside working sets
  // resume as not begun, fit_path).
  const bool resuming = warm && warm->loop;
  r.admm = model.working_sets && ap.penalty.l1_weight > 0 && ap.penalty.members.empty() && !resuming
               ? working_set_solve(ap, settings, comm, warm, observer)
               : admm_solve(ap, settings, comm, warm, observer);
  if (!ap.penalty.has_gap()) r.admm.optimality.gap = std::numeric_limits<double>::quiet_NaN();
  r.coef = model.scaling.column.asDiagonal() * r.admm.state.z;
  r.intercept = model.data.y_mean - r.coef.transpose() * model.data.x_mean;
  return r;
}

Model make_model(const Eigen::Ref<const RowMatrix>& x_local, const Eigen::Ref<const RowMatrix>& y_local,
                 const ProblemSpec& spec, Communicator& comm, std::optional<LocalForm> form) {
  collectively(comm, [&] {
    if (x_local.rows() != y_local.rows())
      throw DataError("X has " + std::to_string(x_local.rows()) + " rows but Y has " +
                      std::to_string(y_local.rows()));
    if (!x_local.allFinite() || !y_local.allFinite()) throw DataError("X or Y contains NaN or Inf");
  });
  LocalDataBuilder data(x_local.rows(), x_local.cols(), y_local.cols(), 1, form);
  Vector rows = Vector::Zero(comm.size());  // this rank's first row's global index, for the rows' labels
  rows[comm.rank()] = static_cast<double>(x_local.rows());
  comm.sum(rows.data(), static_cast<std::size_t>(rows.size()));
  data.keep_projections(static_cast<std::int64_t>(rows.head(comm.rank()).sum()));
  // Stream through a bounded buffer, as the file reader does, so the Gram form never copies all of X.
  const Eigen::Index block = std::max<Eigen::Index>(1, (1 << 20) / std::max<Eigen::Index>(1, x_local.cols()));
  for (Eigen::Index r0 = 0; r0 < x_local.rows(); r0 += block) {
    const Eigen::Index m = std::min(block, x_local.rows() - r0);
    RowMatrix xb = x_local.middleRows(r0, m);
    RowMatrix yb = y_local.middleRows(r0, m);
    data.add_rows(xb, yb);
  }
  RowSums sums = std::move(data).take();
  if (reads_rows_again(sums.form())) {  // read the rows again from the caller's memory
    const double* at = x_local.data();
    const Eigen::Index rows = x_local.rows(), cols = x_local.cols(), stride = x_local.outerStride();
    sums.set_stream([at, rows, cols, stride, block](const std::function<void(const RowMatrix&)>& sink) {
      const Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>> x(at, rows, cols, Eigen::OuterStride<>(stride));
      for (Eigen::Index r0 = 0; r0 < rows; r0 += block) sink(x.middleRows(r0, std::min(block, rows - r0)));
    });
  }
  return make_model(prepare(std::move(sums), spec, comm), comm);
}

FitResult fit(const Eigen::Ref<const RowMatrix>& x_local, const Eigen::Ref<const RowMatrix>& y_local,
              const ProblemSpec& spec, const LambdaRequest& lambda, Communicator& comm, const SolverSettings& settings) {
  spec.validate();
  settings.validate();
  lambda.validate();
  if (lambda.kind == LambdaRequest::Kind::grid || lambda.kind == LambdaRequest::Kind::list)
    throw UsageError("fit: one lambda (LambdaRequest::absolute or ratio); a sequence is a path (fit_path)");
  const Model model = make_model(x_local, y_local, spec, comm);
  const Lambdas lambdas = resolve_lambdas(lambda, model);
  FitResult r = fit(model, lambdas.values.front(), settings, comm);
  r.lambda_max = lambdas.lambda_max;
  return r;
}

}  // namespace cadmm
