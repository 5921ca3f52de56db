#include "cadmm/admm.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

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

// The loop's working set on one rank; names follow Boyd et al. (x, z, u, rho).
class Iteration {
 public:
  Iteration(const AdmmProblem& p, const Settings& s, Communicator& comm, const AdmmState& start)
      : p_(p), s_(s), comm_(comm), local_(*p.local), active_(p.local->rows() > 0),
        n_agents_(std::max(1, p.active_ranks)), st_(start) {
    const Eigen::Index d = local_.q().rows(), k = local_.q().cols();
    x_ = st_.z;
    x_hat_.resize(d, k);
    sqrt_np_ = std::sqrt(n_agents_ * static_cast<double>(d * k));
  }

  AdmmState& state() { return st_; }
  const Matrix& x() const { return x_; }
  bool active() const { return active_; }
  double n_agents() const { return n_agents_; }

  // One ADMM step (7.6)-(7.7): local solves, one reduction for the average, prox, dual update.
  void step() {
    Matrix v(x_hat_.rows(), x_hat_.cols());
    if (active_) {
      local_.solve(local_.q() + st_.rho * (st_.z - st_.u), st_.rho, x_, solve_tol_);
      x_hat_ = s_.over_relaxation * x_ + (1 - s_.over_relaxation) * st_.z;  // over-relaxation (3.19)
      v = x_hat_ + st_.u;
    } else {
      v.setZero();
    }
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
    rec.eps_pri = sqrt_np_ * s_.abs_tol + s_.rel_tol * std::max(std::sqrt(norms[1]), std::sqrt(n_agents_) * st_.z.norm());
    rec.eps_dual = sqrt_np_ * s_.abs_tol + s_.rel_tol * st_.rho * std::sqrt(norms[2]);
    return rec;
  }

  // Inexact ADMM: an iterative local solve stops at a relative residual that falls with the primal residual
  // (never rises), so the x-update errors are summable and the iteration converges (Eckstein & Bertsekas 1992).
  void tighten_solve(const IterationRecord& rec, const double* norms) {
    if (!local_.iterative()) return;
    const double scale = std::max(std::sqrt(norms[1]), std::sqrt(n_agents_) * st_.z.norm());
    if (scale > 0) solve_tol_ = std::min(solve_tol_, std::max(1e-14, 1e-2 * rec.r_norm / scale));
  }

  void local_norms(double* out) const {
    out[0] = out[1] = out[2] = 0;
    if (active_) out[0] = (x_ - st_.z).squaredNorm(), out[1] = x_.squaredNorm(), out[2] = st_.u.squaredNorm();
  }

  // Residual balancing with residuals normalized by their thresholds' scales (as OSQP does); returns the
  // factor rho was multiplied by, or 1. Free here: the local factorizations serve any rho.
  double adapt_rho(const IterationRecord& rec, const double* norms) {
    if (rec.r_norm <= 0 || rec.s_norm <= 0) return 1;
    const double x_scale = std::max(std::sqrt(norms[1]), std::sqrt(n_agents_) * st_.z.norm());
    const double r_rel = rec.r_norm / std::max(x_scale, 1e-300);
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
  const AdmmProblem& p_;
  const Settings& s_;
  Communicator& comm_;
  const LocalSolver& local_;
  bool active_;
  double n_agents_;
  double sqrt_np_ = 0;
  double solve_tol_ = 1e-4;  // relative residual of an iterative local solve
  AdmmState st_;
  Matrix x_, x_hat_, z_old_;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

AdmmResult admm_solve(const AdmmProblem& problem, const Settings& settings, Communicator& comm,
                      const AdmmState* warm, const AdmmObserver& observer) {
  const Eigen::Index d = problem.local->q().rows(), k = problem.local->q().cols();
  AdmmState start;
  start.rho = settings.rho.value_or(problem.rho_auto);
  start.z = Matrix::Zero(d, k);
  start.u = Matrix::Zero(d, k);
  if (warm) {
    if (warm->z.rows() == d && warm->z.cols() == k) start.z = warm->z;
    if (warm->u.rows() == d && warm->u.cols() == k) start.u = warm->u;
    if (warm->rho > 0 && !settings.rho) start.rho = warm->rho;
    start.iteration = warm->iteration;
  }
  Iteration iter(problem, settings, comm, start);
  AdmmState& st = iter.state();

  // Anderson acceleration of the map (z, u) -> (z+, u+), safeguarded: a trial step whose fixed-point
  // residual grows is dropped in favour of the plain ADMM iterate it replaced.
  const int memory = settings.anderson_memory;
  std::optional<Anderson> aa;
  if (memory > 0) aa.emplace(memory, 2 * d * k);
  Vector s_in, f_out, plain;
  bool trial = false;
  double residual_before_trial = 0;

  AdmmResult res;
  // Without any penalty (lambda = 0) the dual is feasible only at the optimum: stop on residuals alone.
  const bool use_gap = settings.gap_tol > 0 && (problem.penalty.l1_weight > 0 || problem.penalty.l2_weight > 0);
  // A start that the duality gap already certifies (W = 0 at lambda >= lambda_max, or a converged warm
  // start) needs no iteration.
  if (use_gap) {
    Matrix grad;
    const Optimality o = evaluate(problem, st.z, comm, &grad);
    if (o.gap <= settings.gap_tol * std::max(std::abs(o.objective), 1e-300)) {  // as gap_certifies below
      res.status = Status::converged;
      res.optimality = o;
      res.state = st;
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
        res.state = st;
        return res;
      }
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  int last_adapt = st.iteration;
  // Layout of the per-iteration reduction: {||x-z||^2, ||x||^2, ||u||^2, stop requested, Anderson products}.
  constexpr int kStop = 3, kAnderson = 4;
  std::vector<double> buf(kAnderson + (aa ? aa->products_size() : 0));
  bool evaluated_last = false;  // res.optimality already belongs to the final z
  const auto gap_certifies = [&](const Optimality& o) {
    return o.gap <= settings.gap_tol * std::max(std::abs(o.objective), 1e-300);
  };
  // Polishing is tried on a sign pattern of z that has held for 10 iterations, and otherwise on a pattern not
  // tried yet every 100, 200, 400, ... iterations (a coordinate hovering at the threshold can keep the pattern
  // from ever holding); the doubling bounds what failed attempts cost when the active set is large.
  Eigen::ArrayXXi pattern, tried;
  int pattern_age = 0, last_try = st.iteration, retry_every = 100;

  for (int it = st.iteration + 1; it <= settings.max_iter; ++it) {
    if (aa) iter.pack(s_in);
    iter.step();
    // One reduction for the residual norms and, when accelerating, the inner products of the history.
    iter.local_norms(buf.data());
    buf[kStop] = observer.stop_requested && observer.stop_requested() ? 1.0 : 0.0;
    if (aa) {
      iter.pack(f_out);
      aa->record(s_in, f_out);
      if (iter.active())
        aa->local_products(buf.data() + kAnderson);
      else
        std::fill(buf.begin() + kAnderson, buf.end(), 0.0);  // ranks without rows are not agents
    }
    comm.sum(buf.data(), buf.size());

    IterationRecord rec = iter.residuals(buf.data());
    rec.iteration = it;
    iter.tighten_solve(rec, buf.data());
    const bool residuals_ok = rec.r_norm <= rec.eps_pri && rec.s_norm <= rec.eps_dual;
    rec.objective = rec.gap = std::numeric_limits<double>::quiet_NaN();
    bool gap_ok = !use_gap;
    evaluated_last = residuals_ok || it % settings.gap_every == 0 || it == start.iteration + 1;
    if (evaluated_last) {
      res.optimality = evaluate(problem, st.z, comm);
      rec.objective = res.optimality.objective;
      rec.gap = res.optimality.gap;
      gap_ok = gap_ok || gap_certifies(res.optimality);
    }
    rec.seconds = seconds_since(t0);
    res.history.push_back(rec);
    st.iteration = it;
    res.r_norm = rec.r_norm;
    res.s_norm = rec.s_norm;
    if (observer.progress) observer.progress(rec);

    // Every input to these decisions is a reduced or replicated value, so all ranks decide alike.
    if (!std::isfinite(rec.r_norm) || !std::isfinite(rec.s_norm) || !st.z.allFinite()) {
      res.status = Status::diverged;
      break;
    }
    if (residuals_ok && gap_ok) {
      res.status = Status::converged;
      break;
    }
    if (buf[kStop] > 0) {
      res.status = Status::interrupted;
      break;
    }
    if (observer.checkpoint && observer.checkpoint_every > 0 && it % observer.checkpoint_every == 0)
      observer.checkpoint(st);

    if (settings.polish && use_gap) {
      const Eigen::ArrayXXi now = st.z.array().sign().cast<int>();
      const auto same = [](const Eigen::ArrayXXi& a, const Eigen::ArrayXXi& b) {
        return a.size() == b.size() && (a == b).all();
      };
      pattern_age = same(pattern, now) ? pattern_age + 1 : 0;
      pattern = now;
      if (pattern_age == 10 || (it - last_try >= retry_every && !same(tried, now))) {
        if (pattern_age != 10) retry_every *= 2;
        tried = now;
        last_try = it;
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

    const double residual = aa ? aa->residual_squared(buf.data() + kAnderson) : 0.0;
    if (trial && residual > residual_before_trial) {
      iter.unpack(plain);  // the trial made things worse: continue from the plain iterate
      aa->reset();
      trial = false;
      evaluated_last = false;
      continue;
    }
    trial = false;
    if (settings.adaptive_rho && it - last_adapt >= 5 && iter.adapt_rho(rec, buf.data()) != 1) {
      last_adapt = it;
      if (aa) aa->reset();  // the fixed-point map changed with rho
      continue;
    }
    if (aa && aa->extrapolate(buf.data() + kAnderson, s_in)) {
      plain = f_out;
      residual_before_trial = residual;
      iter.unpack(s_in);
      trial = true;
      evaluated_last = false;
    }
  }
  // Stopped by the iteration cap right after an extrapolation: return the plain ADMM iterate (a prox output,
  // exactly sparse), not the extrapolated point.
  if (res.status == Status::max_iter && trial) iter.unpack(plain);
  if (!evaluated_last) res.optimality = evaluate(problem, st.z, comm);
  res.state = st;
  return res;
}

}  // namespace cadmm
