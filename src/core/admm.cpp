#include "cadmm/admm.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

#include "cadmm/error.hpp"
#include "core/anderson.hpp"
#include "core/polish.hpp"

namespace cadmm {

std::string to_string(Status s) {
  switch (s) {
    case Status::converged: return "converged";
    case Status::max_iter: return "max_iter";
    case Status::diverged: return "diverged";
    case Status::interrupted: return "interrupted";
  }
  return "?";
}

Optimality evaluate(const AdmmProblem& problem, const Matrix& z, Communicator& comm, Matrix* grad_out) {
  const LocalFit local = problem.local->fit_at(z);
  // One reduction carries X^T R / n, ||R||^2 / n and <R, y> / n.
  Vector buf(local.grad.size() + 2);
  std::copy(local.grad.data(), local.grad.data() + local.grad.size(), buf.data());
  buf[buf.size() - 2] = local.rss;
  buf[buf.size() - 1] = local.ry;
  comm.sum(buf.data(), static_cast<std::size_t>(buf.size()));
  const Eigen::Map<const Matrix> grad(buf.data(), z.rows(), z.cols());
  const double rss = buf[buf.size() - 2], ry = buf[buf.size() - 1];
  if (grad_out) *grad_out = grad;

  const PenaltySpec& pen = problem.penalty;
  Optimality o;
  o.rss = rss;
  o.objective = 0.5 * rss + pen.value(z);
  // Dual point theta = c R (R the residual); the dual value is (c <R, y> - c^2/2 ||R||^2) / n - g*(c X^T R / n).
  // c = 1 is feasible whenever there is a ridge part; c = l1 / ||X^T R / n||_dual is feasible for the l1 part.
  double best_dual = -std::numeric_limits<double>::infinity();
  auto try_scale = [&](double c) {
    const double conj = pen.conjugate(c * grad);
    if (std::isfinite(conj)) best_dual = std::max(best_dual, c * ry - 0.5 * c * c * rss - conj);
  };
  if (pen.l2_weight > 0) try_scale(1.0);
  const double dn = pen.dual_norm(grad);
  try_scale(dn > pen.l1_weight ? pen.l1_weight / dn : 1.0);
  o.gap = std::max(0.0, o.objective - best_dual);
  return o;
}

namespace {

// The loop's working set on one rank; names follow Boyd et al. (x, z, u, rho). The state it works on, loop
// state included, is the caller's, so a checkpoint can take it whole at the end of any iteration.
class Iteration {
 public:
  Iteration(const AdmmProblem& p, const Settings& s, Communicator& comm, AdmmState& st)
      : p_(p), s_(s), comm_(comm), local_(*p.local), active_(p.local->rows() > 0),
        n_agents_(std::max(1, p.active_ranks)), st_(st), loop_(*st.loop) {
    const Eigen::Index d = local_.q().rows(), k = local_.q().cols();
    x_hat_.resize(d, k);
    sqrt_np_ = std::sqrt(n_agents_ * static_cast<double>(d * k));
  }

  bool active() const { return active_; }

  // The local half of one ADMM step (7.6): this rank's x-update, then the vector whose sum over ranks is the
  // average. May throw on this rank only; reduce() must follow on every rank regardless.
  void local_step(Matrix& v) {
    v.setZero(x_hat_.rows(), x_hat_.cols());
    if (!active_) return;
    local_.solve(local_.q() + st_.rho * (st_.z - st_.u), st_.rho, loop_.x, loop_.solve_tol);
    x_hat_ = s_.over_relaxation * loop_.x + (1 - s_.over_relaxation) * st_.z;  // over-relaxation (3.19)
    v = x_hat_ + st_.u;
  }

  // The global half (7.6)-(7.7): one reduction for the average, prox, dual update.
  void reduce(Matrix& v) {
    comm_.sum(v.data(), static_cast<std::size_t>(v.size()));
    z_old_ = st_.z;
    p_.penalty.prox(v / n_agents_, 1.0 / (n_agents_ * st_.rho), st_.z);
    if (active_) st_.u += x_hat_ - st_.z;
  }

  // Residuals (7.8) and thresholds (3.12) from the reduced squared norms {||x-z||^2, ||x||^2, ||u||^2}.
  IterationRecord residuals(const double* norms) const {
    IterationRecord rec;
    rec.rho = st_.rho;
    rec.r_norm = std::sqrt(norms[0]);
    rec.s_norm = st_.rho * std::sqrt(n_agents_) * (st_.z - z_old_).norm();
    rec.eps_pri = sqrt_np_ * s_.abs_tol + s_.rel_tol * x_scale(norms);
    rec.eps_dual = sqrt_np_ * s_.abs_tol + s_.rel_tol * st_.rho * std::sqrt(norms[2]);
    return rec;
  }

  // Inexact ADMM: an iterative local solve stops at a relative residual that falls with the primal residual
  // (never rises), so the x-update errors are summable and the iteration converges (Eckstein & Bertsekas 1992).
  void tighten_solve(const IterationRecord& rec, const double* norms) {
    if (!local_.iterative()) return;
    const double scale = x_scale(norms);
    if (scale > 0) loop_.solve_tol = std::min(loop_.solve_tol, std::max(1e-14, 1e-2 * rec.r_norm / scale));
  }

  // True when the primal residual has grown a hundred-million-fold past the smallest it has been (floored at
  // 1e-8 of the iterate's scale, so rounding noise after convergence does not count): ADMM on a convex problem
  // does not do that unless the arithmetic broke down.
  bool residual_exploded(const IterationRecord& rec, const double* norms) {
    const double floored = std::max(rec.r_norm, 1e-8 * x_scale(norms));
    if (floored > 0 && (loop_.best_r == 0 || floored < loop_.best_r)) loop_.best_r = floored;
    return loop_.best_r > 0 && rec.r_norm > 1e8 * loop_.best_r;
  }

  void local_norms(double* out) const {
    out[0] = out[1] = out[2] = 0;
    if (active_) out[0] = (loop_.x - st_.z).squaredNorm(), out[1] = loop_.x.squaredNorm(), out[2] = st_.u.squaredNorm();
  }

  // Residual balancing with residuals normalized by their thresholds' scales (as OSQP does); returns the
  // factor rho was multiplied by, or 1. Free here: the local factorizations serve any rho.
  double adapt_rho(const IterationRecord& rec, const double* norms) {
    if (rec.r_norm <= 0 || rec.s_norm <= 0) return 1;
    const double r_rel = rec.r_norm / std::max(x_scale(norms), 1e-300);
    const double s_rel = rec.s_norm / std::max(st_.rho * std::sqrt(norms[2]), 1e-300);
    const double factor = std::sqrt(r_rel / s_rel);
    if (!std::isfinite(factor) || (factor <= 5 && factor >= 0.2)) return 1;
    st_.rho *= factor;
    st_.u /= factor;  // the scaled dual u = y / rho
    return factor;
  }

  // The fixed-point state (z, u) as one local vector, for Anderson acceleration.
  void pack(Vector& out) const {
    const Eigen::Index n = st_.z.size();
    out.resize(2 * n);
    out.head(n) = Eigen::Map<const Vector>(st_.z.data(), n);
    out.tail(n) = Eigen::Map<const Vector>(st_.u.data(), n);
  }
  void unpack(const Vector& in) {
    const Eigen::Index n = st_.z.size();
    Eigen::Map<Vector>(st_.z.data(), n) = in.head(n);
    Eigen::Map<Vector>(st_.u.data(), n) = in.tail(n);
  }

 private:
  // max(||x||, ||z||) over all agents, the scale of the primal threshold (3.12).
  double x_scale(const double* norms) const { return std::max(std::sqrt(norms[1]), std::sqrt(n_agents_) * st_.z.norm()); }

  const AdmmProblem& p_;
  const Settings& s_;
  Communicator& comm_;
  const LocalSolver& local_;
  bool active_;
  double n_agents_;
  double sqrt_np_ = 0;
  AdmmState& st_;
  LoopState& loop_;
  Matrix x_hat_, z_old_;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The starting state: zero, a warm start (z, u, rho of a neighbouring solve), or a checkpoint's complete state.
AdmmState starting_state(const AdmmProblem& problem, const Settings& settings, const AdmmState* warm) {
  const Eigen::Index d = problem.local->q().rows(), k = problem.local->q().cols();
  AdmmState st;
  st.rho = settings.rho.value_or(problem.rho_auto);
  st.z = Matrix::Zero(d, k);
  st.u = Matrix::Zero(d, k);
  if (warm) {
    if (warm->z.rows() == d && warm->z.cols() == k) st.z = warm->z;
    if (warm->u.rows() == d && warm->u.cols() == k) st.u = warm->u;
    if (warm->rho > 0 && (!settings.rho || warm->loop)) st.rho = warm->rho;
    st.iteration = warm->iteration;
  }
  if (warm && warm->loop && warm->loop->x.rows() == d && warm->loop->x.cols() == k) {
    st.loop = *warm->loop;
  } else {
    LoopState& l = st.loop.emplace();
    l.first_iteration = l.last_adapt = l.last_try = st.iteration;
    ++l.first_iteration;
    l.x = st.z;
  }
  return st;
}

}  // namespace

AdmmResult admm_solve(const AdmmProblem& problem, const Settings& settings, Communicator& comm,
                      const AdmmState* warm, const AdmmObserver& observer) {
  const Eigen::Index d = problem.local->q().rows(), k = problem.local->q().cols();
  const bool resuming = warm && warm->loop;
  AdmmResult res;
  AdmmState& st = res.state;
  st = starting_state(problem, settings, warm);
  LoopState& loop = *st.loop;
  Iteration iter(problem, settings, comm, st);

  // Anderson acceleration of the map (z, u) -> (z+, u+), safeguarded: a trial step whose fixed-point
  // residual grows is dropped in favour of the plain ADMM iterate it replaced.
  const int memory = settings.anderson_memory;
  std::optional<Anderson> aa;
  if (memory > 0) aa.emplace(loop.anderson, memory, 2 * d * k);
  if (aa && loop.plain.size() != 2 * d * k) {
    loop.plain = Vector::Zero(2 * d * k);  // sized from the start: every checkpoint has the same layout
    loop.trial = false;
  }
  if (!aa) loop.trial = false;
  Vector s_in, f_out;

  // Without any penalty (lambda = 0) the dual is feasible only at the optimum: stop on residuals alone.
  const bool use_gap = settings.gap_tol > 0 && (problem.penalty.l1_weight > 0 || problem.penalty.l2_weight > 0);
  const auto gap_certifies = [&](const Optimality& o) {
    return o.gap <= settings.gap_tol * std::max(std::abs(o.objective), 1e-300);
  };
  // A start that the duality gap already certifies (W = 0 at lambda >= lambda_max, or a converged warm
  // start) needs no iteration. A resumed solve skips this: it continues exactly as the interrupted one would.
  if (use_gap && !resuming) {
    Matrix grad;
    const Optimality o = evaluate(problem, st.z, comm, &grad);
    if (gap_certifies(o)) {
      res.status = Status::converged;
      res.optimality = o;
      st.loop.reset();
      return res;
    }
    // A warm start (the previous lambda of a path) is usually one active-set correction away from the new
    // solution: polish its sign pattern, grown by the sequential strong rule (Tibshirani et al. 2012:
    // |grad_j| >= 2 lambda - lambda_prev), before any iteration. The duality gap on the full problem is the KKT
    // check that decides whether it is kept.
    if (warm && problem.previous_l1_weight && settings.polish && !problem.penalty.grouped) {
      Eigen::ArrayXXi sign = st.z.array().sign().cast<int>();
      if (problem.penalty.l1_weight > 0) {
        const double bound = std::max(0.0, 2 * problem.penalty.l1_weight - *problem.previous_l1_weight);
        for (Eigen::Index t = 0; t < sign.cols(); ++t)
          for (Eigen::Index j = 0; j < sign.rows(); ++j) {
            const double c = problem.penalty.feature_weight.size() ? problem.penalty.feature_weight[j] : 1.0;
            if (sign(j, t) == 0 && std::abs(grad(j, t)) >= bound * c && grad(j, t) != 0)
              sign(j, t) = grad(j, t) > 0 ? 1 : -1;
          }
      }
      if (std::optional<Polished> p = polish(problem, sign, settings.gap_tol, comm)) {
        st.z = std::move(p->w);
        res.optimality = p->optimality;
        res.polished = true;
        res.status = Status::converged;
        st.loop.reset();
        return res;
      }
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  // Layout of the per-iteration reduction: {||x-z||^2, ||x||^2, ||u||^2, stop requested, local failure,
  // Anderson products}.
  constexpr int kStop = 3, kFailed = 4, kAnderson = 5;
  std::vector<double> buf(kAnderson + (aa ? aa->products_size() : 0));
  bool evaluated_last = false;  // res.optimality already belongs to the final z
  Matrix v;
  // Polishing is tried on a sign pattern of z that has held for 10 iterations, and otherwise on a pattern not
  // tried yet every 100, 200, 400, ... iterations (a coordinate hovering at the threshold can keep the pattern
  // from ever holding); the doubling bounds what failed attempts cost when the active set is large.
  const auto same = [](const Eigen::ArrayXXi& a, const Eigen::ArrayXXi& b) { return a.size() == b.size() && (a == b).all(); };

  for (int it = st.iteration + 1; it <= settings.max_iter; ++it) {
    if (aa) iter.pack(s_in);
    // Local work may fail on one rank (or a test hook makes it): the failure rides on this iteration's
    // reduction, and every rank then raises it together.
    std::exception_ptr failure;
    try {
      if (observer.before_step) observer.before_step(it, st);
      iter.local_step(v);
    } catch (const Error& e) {
      failure = std::make_exception_ptr(Error(e.code(), std::string(e.what()) + " (at iteration " + std::to_string(it) + ")"));
    } catch (const std::exception& e) {
      failure = std::make_exception_ptr(RuntimeFailure("internal error at iteration " + std::to_string(it) + ": " + e.what()));
    }
    iter.reduce(v);
    // One reduction for the residual norms and, when accelerating, the inner products of the history.
    iter.local_norms(buf.data());
    buf[kStop] = observer.stop_requested && observer.stop_requested() ? 1.0 : 0.0;
    buf[kFailed] = failure ? 1.0 : 0.0;
    if (aa) {
      iter.pack(f_out);
      aa->record(s_in, f_out);
      if (iter.active())
        aa->local_products(buf.data() + kAnderson);
      else
        std::fill(buf.begin() + kAnderson, buf.end(), 0.0);  // ranks without rows are not agents
    }
    comm.sum(buf.data(), buf.size());
    if (buf[kFailed] > 0) raise_if_any(comm, failure);

    IterationRecord rec = iter.residuals(buf.data());
    rec.iteration = it;
    iter.tighten_solve(rec, buf.data());
    const bool residuals_ok = rec.r_norm <= rec.eps_pri && rec.s_norm <= rec.eps_dual;
    rec.objective = rec.gap = std::numeric_limits<double>::quiet_NaN();
    bool gap_ok = !use_gap;
    evaluated_last = residuals_ok || it % settings.gap_every == 0 || it == loop.first_iteration;
    if (evaluated_last) {
      res.optimality = evaluate(problem, st.z, comm);
      rec.objective = res.optimality.objective;
      rec.gap = res.optimality.gap;
      gap_ok = gap_ok || gap_certifies(res.optimality);
    }
    rec.seconds = seconds_since(t0);
    res.history.push_back(rec);
    st.iteration = it;
    loop.r_norm = rec.r_norm;
    loop.s_norm = rec.s_norm;
    if (observer.progress) observer.progress(rec);

    // Every input to these decisions is a reduced or replicated value, so all ranks decide alike.
    if (!std::isfinite(rec.r_norm) || !std::isfinite(rec.s_norm) || !st.z.allFinite() ||
        iter.residual_exploded(rec, buf.data())) {
      res.status = Status::diverged;
      break;
    }
    if (residuals_ok && gap_ok) {
      res.status = Status::converged;
      break;
    }

    if (settings.polish && use_gap) {
      const Eigen::ArrayXXi now = st.z.array().sign().cast<int>();
      loop.pattern_age = same(loop.pattern, now) ? loop.pattern_age + 1 : 0;
      loop.pattern = now;
      if (loop.pattern_age == 10 || (it - loop.last_try >= loop.retry_every && !same(loop.tried, now))) {
        if (loop.pattern_age != 10) loop.retry_every *= 2;
        loop.tried = now;
        loop.last_try = it;
        if (std::optional<Polished> p = polish(problem, now, settings.gap_tol, comm)) {
          st.z = std::move(p->w);
          res.optimality = p->optimality;
          res.polished = true;
          res.status = Status::converged;
          evaluated_last = true;
          break;
        }
      }
    }

    // The next input of the map: the plain iterate, the plain one a failed trial replaced, or an extrapolation.
    const double residual = aa ? aa->residual_squared(buf.data() + kAnderson) : 0.0;
    const bool trial_failed = loop.trial && residual > loop.residual_before_trial;
    loop.trial = false;
    if (trial_failed) {
      iter.unpack(loop.plain);  // the trial made things worse: continue from the plain iterate
      aa->reset();
      evaluated_last = false;
    } else if (settings.adaptive_rho && it - loop.last_adapt >= 5 && iter.adapt_rho(rec, buf.data()) != 1) {
      loop.last_adapt = it;
      if (aa) aa->reset();  // the fixed-point map changed with rho
    } else if (aa && aa->extrapolate(buf.data() + kAnderson, s_in)) {
      loop.plain = f_out;
      loop.residual_before_trial = residual;
      iter.unpack(s_in);
      loop.trial = true;
      evaluated_last = false;
    }

    // The iteration is complete: the state now is exactly what the next iteration reads.
    if (buf[kStop] > 0) {
      res.status = Status::interrupted;
      break;
    }
    if (observer.checkpoint && observer.checkpoint_every > 0 && it % observer.checkpoint_every == 0)
      observer.checkpoint(st);
  }
  // Stopped by the iteration cap right after an extrapolation: return the plain ADMM iterate (a prox output,
  // exactly sparse), not the extrapolated point.
  if (res.status == Status::max_iter && loop.trial) iter.unpack(loop.plain);
  if (!evaluated_last) res.optimality = evaluate(problem, st.z, comm);
  res.r_norm = loop.r_norm;
  res.s_norm = loop.s_norm;
  if (res.status != Status::interrupted) st.loop.reset();  // only a checkpoint needs it
  return res;
}

}  // namespace cadmm
