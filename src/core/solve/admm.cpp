#include "cadmm/admm.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

#include "cadmm/error.hpp"
#include "core/solve/anderson.hpp"
#include "core/solve/coordinate.hpp"
#include "core/solve/loop_state.hpp"
#include "core/solve/polish.hpp"

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
  // The same z gives the same reduced values bit for bit: a path's memory hands back the last point's (every rank
  // holds the same memory and z, so every rank skips the reduction alike).
  PolishMemory* const memory = problem.polish_memory;
  if (memory && memory->last && memory->last->z.rows() == z.rows() && memory->last->z.cols() == z.cols() &&
      memory->last->z == z) {
    if (grad_out) *grad_out = memory->last->grad;
    return optimality_at(problem.penalty, z, memory->last->grad, memory->last->rss, memory->last->ry);
  }
  const LocalFit local = problem.local->fit_at(z);
  // One reduction carries X^T R / n, ||R||^2 / n and <R, y> / n.
  Vector buf(local.grad.size() + 2);
  std::copy(local.grad.data(), local.grad.data() + local.grad.size(), buf.data());
  buf[buf.size() - 2] = local.rss;
  buf[buf.size() - 1] = local.ry;
  comm.sum(buf.data(), static_cast<std::size_t>(buf.size()));
  const Eigen::Map<const Matrix> grad(buf.data(), z.rows(), z.cols());
  if (grad_out) *grad_out = grad;
  if (memory) memory->last = PolishMemory::Evaluated{z, grad, buf[buf.size() - 2], buf[buf.size() - 1]};
  return optimality_at(problem.penalty, z, grad, buf[buf.size() - 2], buf[buf.size() - 1]);
}

Optimality optimality_at(const PenaltySpec& pen, const Matrix& z, const Matrix& grad, double rss, double ry) {
  Optimality o;
  o.rss = rss;
  o.objective = 0.5 * rss + pen.value(z);
  // Dual point theta = c R (R the residual); the dual value is (c <R, y> - c^2/2 ||R||^2) / n - g*(c X^T R / n).
  // c = 1 is feasible whenever there is a ridge part; c = l1 / ||X^T R / n||_dual is feasible for the l1 part.
  double best_dual = -std::numeric_limits<double>::infinity();
  // An unpenalized coefficient's conjugate needs a scale (PenaltySpec::conjugate): that of the fit, sqrt(2 objective).
  const double radius = std::sqrt(std::max(0.0, 2 * o.objective));
  // The rounding of g_j = q_j - (H z)_j (unit curvature: |H_jk| <= 1, |q_j| <= |g_j| + ||z||_1; the row forms'
  // X_j^T R / n: below sqrt(rss)). Near lambda = 0 it alone lifts the dual norm above l1 (at 1e-12 on a 10,000 x 3,000
  // set, by 2e-15: c = 1 - 2e-3), and the point scaled by c loses (1 - c)^2 ||R||^2 / 2, a gap of 2e-6 that no iterate
  // closes. So at c = 1 an excess within it is taken as rounding, but charged its first-order cost: the scaled point's
  // dual value is exactly D(1) - (1 - c) <R, X z> / n - (1 - c)^2 ||R||^2 / (2n), and only the last term (the one
  // rounding near lambda = 0 inflates) is left out. Without the charge the bound, a worst case over all features, passed
  // as rounding the real excesses of 1e-11 to 1e-9 of lambda that sparse fits with thousands of nonzeros still had,
  // and their gap read 0 where it was 3e-10 of the objective.
  const double dn = pen.dual_norm(grad);
  const double rounding =
      8 * std::numeric_limits<double>::epsilon() * (dn + 2 * z.cwiseAbs().sum() + std::sqrt(std::max(0.0, rss)));
  const double scaled = dn > pen.l1_weight ? pen.l1_weight / dn : 1.0;  // feasible for the l1 part
  auto try_scale = [&](double c, double slack, double charge) {
    const double conj = pen.conjugate(c * grad, z, radius, slack);
    if (std::isfinite(conj)) best_dual = std::max(best_dual, c * ry - 0.5 * c * c * rss - conj - charge);
  };
  if (pen.l2_weight > 0) try_scale(1.0, -1.0, 0.0);  // feasible with a ridge part
  else try_scale(1.0, rounding, (1 - scaled) * std::max(0.0, ry - rss));
  if (scaled < 1) try_scale(scaled, -1.0, 0.0);
  o.gap = std::max(0.0, o.objective - best_dual);
  return o;
}

namespace {

// The loop's working set on one rank; names follow Boyd et al. (x, z, u, rho). The state it works on, loop
// state included, is the caller's, so a checkpoint can take it whole at the end of any iteration.
class Iteration {
 public:
  Iteration(const AdmmProblem& p, const SolverSettings& s, Communicator& comm, AdmmState& st)
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
  // does not do that unless the arithmetic broke down. A lower rho raises the smallest (adapt_rho).
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
    // r = x - z moves about 1/factor-fold with rho: a lambda of a path that began at the huge rho lambda_max's fit
    // left (r near 1e-16) and then lowered it a thousandfold at a time was called diverged. A higher rho lowers
    // nothing: r can sit at its rounding floor while rho climbs.
    if (factor < 1) loop_.best_r /= factor;
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
  const SolverSettings& s_;
  Communicator& comm_;
  const LocalSolver& local_;
  bool active_;
  double n_agents_;
  double sqrt_np_ = 0;
  AdmmState& st_;
  LoopState& loop_;
  Matrix x_hat_, z_old_;
};

// The starting state: zero, a warm start (z, u, rho of a neighbouring solve), or a checkpoint's complete state.
AdmmState starting_state(const AdmmProblem& problem, const SolverSettings& settings, const AdmmState* warm) {
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
    st.loop.emplace(*warm->loop);
  } else {
    LoopState& l = st.loop.emplace();
    l.first_iteration = l.last_adapt = l.last_try = st.iteration;
    ++l.first_iteration;
    l.x = st.z;
  }
  return st;
}

// Without any penalty (lambda = 0) the loop stops on residuals alone, and no start is certified (PenaltySpec::has_gap).
bool stops_on_gap(const AdmmProblem& p, const SolverSettings& s) { return s.gap_tol > 0 && p.penalty.has_gap(); }

// One consensus ADMM solve on this rank, as a list of named steps (OSQP's shape): exchange (local x-update,
// one reduction, prox, dual update), record (residuals, objective and gap), the stop tests, polishing a held sign
// pattern, and the next input (a failed trial's plain iterate, a new rho, or an Anderson extrapolation).
class Loop {
 public:
  Loop(const AdmmProblem& p, const SolverSettings& s, Communicator& comm, const AdmmObserver& observer,
       AdmmResult& res)
      : p_(p), s_(s), comm_(comm), observer_(observer), res_(res), st_(res.state), loop_(*res.state.loop),
        iter_(p, s, comm, res.state) {
    const Eigen::Index d = p.local->q().rows(), k = p.local->q().cols();
    // Anderson acceleration of the map (z, u) -> (z+, u+), safeguarded: a trial step whose fixed-point
    // residual grows is dropped in favour of the plain ADMM iterate it replaced.
    if (s.anderson_memory > 0) aa_.emplace(loop_.anderson, s.anderson_memory, 2 * d * k);
    if (aa_ && loop_.plain.size() != 2 * d * k) {
      loop_.plain = Vector::Zero(2 * d * k);  // sized from the start: every checkpoint has the same layout
      loop_.trial = false;
    }
    if (!aa_) loop_.trial = false;
    buf_.resize(kAnderson + (aa_ ? aa_->products_size() : 0));
    use_gap_ = stops_on_gap(p, s);
  }

  void run() {
    const auto t0 = std::chrono::steady_clock::now();
    for (int it = st_.iteration + 1; it <= s_.max_iter; ++it) {
      exchange(it);
      const IterationRecord rec = record(it, t0);
      // Every input to these decisions is a reduced or replicated value, so all ranks decide alike.
      if (!std::isfinite(rec.r_norm) || !std::isfinite(rec.s_norm) || !st_.z.allFinite() ||
          iter_.residual_exploded(rec, buf_.data())) {
        res_.status = Status::diverged;
        break;
      }
      if (rec.r_norm <= rec.eps_pri && rec.s_norm <= rec.eps_dual && gap_ok_) {
        res_.status = Status::converged;
        break;
      }
      if (s_.polish && use_gap_ && polish_held_pattern(it)) break;
      next_input(rec, it);
      // The iteration is complete: the state now is exactly what the next iteration reads.
      if (buf_[kStop] > 0) {
        res_.status = Status::interrupted;
        note_factors(loop_, *p_.local, st_.rho);
        break;
      }
      if (observer_.checkpoint && observer_.checkpoint_every > 0 && it % observer_.checkpoint_every == 0) {
        note_factors(loop_, *p_.local, st_.rho);
        observer_.checkpoint(st_);
      }
    }
    // Stopped by the iteration cap right after an extrapolation: return the plain ADMM iterate (a prox output,
    // exactly sparse), not the extrapolated point.
    if (res_.status == Status::max_iter && loop_.trial) iter_.unpack(loop_.plain);
    if (!evaluated_last_) res_.optimality = evaluate(p_, st_.z, comm_);
    res_.r_norm = loop_.r_norm;
    res_.s_norm = loop_.s_norm;
  }

 private:
  // Layout of the per-iteration reduction: {||x-z||^2, ||x||^2, ||u||^2, stop requested, local failure,
  // Anderson products}.
  static constexpr int kStop = 3, kFailed = 4, kAnderson = 5;

  // One ADMM step (7.6)-(7.7) and one reduction for the residual norms, the flags and, when accelerating, the
  // inner products of the history. Local work may fail on one rank (or a test hook makes it): the failure rides
  // on this iteration's reduction, and every rank then raises it together.
  void exchange(int it) {
    if (aa_) iter_.pack(s_in_);
    std::exception_ptr failure;
    try {
      if (observer_.before_step) observer_.before_step(it, st_);
      iter_.local_step(v_);
    } catch (const Error& e) {
      failure = std::make_exception_ptr(Error(e.code(), std::string(e.what()) + " (at iteration " + std::to_string(it) + ")"));
    } catch (const std::exception& e) {
      failure = std::make_exception_ptr(RuntimeFailure("internal error at iteration " + std::to_string(it) + ": " + e.what()));
    }
    iter_.reduce(v_);
    iter_.local_norms(buf_.data());
    buf_[kStop] = observer_.stop_requested && observer_.stop_requested() ? 1.0 : 0.0;
    buf_[kFailed] = failure ? 1.0 : 0.0;
    if (aa_) {
      iter_.pack(f_out_);
      aa_->record(s_in_, f_out_);
      if (iter_.active())
        aa_->local_products(buf_.data() + kAnderson);
      else
        std::fill(buf_.begin() + kAnderson, buf_.end(), 0.0);  // ranks without rows are not agents
    }
    comm_.sum(buf_.data(), buf_.size());
    if (buf_[kFailed] > 0) raise_if_any(comm_, failure);
  }

  // The iteration's record: residuals (7.8), thresholds (3.12), and objective and gap where evaluated (every
  // gap_every iterations, the first, and when the residuals pass).
  IterationRecord record(int it, std::chrono::steady_clock::time_point t0) {
    IterationRecord rec = iter_.residuals(buf_.data());
    rec.iteration = it;
    iter_.tighten_solve(rec, buf_.data());
    const bool residuals_ok = rec.r_norm <= rec.eps_pri && rec.s_norm <= rec.eps_dual;
    rec.objective = rec.gap = std::numeric_limits<double>::quiet_NaN();
    gap_ok_ = !use_gap_;
    evaluated_last_ = residuals_ok || it % s_.gap_every == 0 || it == loop_.first_iteration;
    if (evaluated_last_) {
      res_.optimality = evaluate(p_, st_.z, comm_);
      rec.objective = res_.optimality.objective;
      if (p_.penalty.has_gap()) rec.gap = res_.optimality.gap;
      gap_ok_ = gap_ok_ || s_.certified(res_.optimality.gap, res_.optimality.objective);
    }
    rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    res_.history.push_back(rec);
    st_.iteration = it;
    loop_.r_norm = rec.r_norm;
    loop_.s_norm = rec.s_norm;
    if (observer_.progress) observer_.progress(rec);
    return rec;
  }

  // Polishing is tried on a sign pattern of z that has held for 10 iterations, and otherwise on a pattern not
  // tried yet every 100, 200, 400, ... iterations (a coordinate hovering at the threshold can keep the pattern
  // from ever holding); the doubling bounds what failed attempts cost when the active set is large. True when the
  // polished point is certified (the solve is over).
  bool polish_held_pattern(int it) {
    const auto same = [](const Eigen::ArrayXXi& a, const Eigen::ArrayXXi& b) { return a.size() == b.size() && (a == b).all(); };
    const Eigen::ArrayXXi now = sign_pattern(p_.penalty, st_.z);
    loop_.pattern_age = same(loop_.pattern, now) ? loop_.pattern_age + 1 : 0;
    loop_.pattern = now;
    if (!(loop_.pattern_age == 10 || (it - loop_.last_try >= loop_.retry_every && !same(loop_.tried, now)))) return false;
    if (loop_.pattern_age != 10) loop_.retry_every *= 2;
    loop_.tried = now;
    loop_.last_try = it;
    std::optional<Polished> p = polish(p_, now, st_.z, s_, comm_);
    if (!p) return false;
    st_.z = std::move(p->w);
    res_.optimality = p->optimality;
    res_.polished = true;
    res_.status = Status::converged;
    evaluated_last_ = true;
    return true;
  }

  // The next input of the map: the plain iterate, the plain one a failed trial replaced, or an extrapolation.
  void next_input(const IterationRecord& rec, int it) {
    const double residual = aa_ ? aa_->residual_squared(buf_.data() + kAnderson) : 0.0;
    const bool trial_failed = loop_.trial && residual > loop_.residual_before_trial;
    loop_.trial = false;
    if (trial_failed) {
      iter_.unpack(loop_.plain);  // the trial made things worse: continue from the plain iterate
      aa_->reset();
      evaluated_last_ = false;
    } else if (s_.adaptive_rho && it - loop_.last_adapt >= 5 && iter_.adapt_rho(rec, buf_.data()) != 1) {
      loop_.last_adapt = it;
      if (aa_) aa_->reset();  // the fixed-point map changed with rho
    } else if (aa_ && aa_->extrapolate(buf_.data() + kAnderson, s_in_)) {
      loop_.plain = f_out_;
      loop_.residual_before_trial = residual;
      iter_.unpack(s_in_);
      loop_.trial = true;
      evaluated_last_ = false;
    }
  }

  const AdmmProblem& p_;
  const SolverSettings& s_;
  Communicator& comm_;
  const AdmmObserver& observer_;
  AdmmResult& res_;
  AdmmState& st_;
  LoopState& loop_;
  Iteration iter_;
  std::optional<Anderson> aa_;
  Vector s_in_, f_out_;
  std::vector<double> buf_;
  Matrix v_;
  bool use_gap_ = false;
  bool gap_ok_ = false;
  bool evaluated_last_ = false;  // res_.optimality already belongs to the final z
};

// A start that needs no iteration: one the duality gap already certifies (W = 0 at lambda >= lambda_max, or a
// converged warm start), or a warm start whose strong-rule polish it certifies. True when res is finished.
bool certified_start(const AdmmProblem& problem, const SolverSettings& settings, Communicator& comm, bool warm,
                     const AdmmObserver& observer, AdmmResult& res) {
  AdmmState& st = res.state;
  Matrix grad;
  bool stopped = false;
  const Optimality o = evaluate(problem, st.z, comm, &grad);
  if (settings.certified(o.gap, o.objective)) {
    res.optimality = o;
  } else if (warm && settings.polish && descend_from(problem, st.z, grad, settings, comm, observer, res, &stopped)) {
    // Sparse rows (the cg form): coordinate descent from the warm start, whatever the pattern's size; polishing
    // would pay a pass over the rows for every Hessian block.
  } else if (stopped) {
    // A signal during coordinate descent: the lambda ends as not begun, so that its checkpoint resumes it from the
    // same warm start (src/core/solve/loop_state.hpp).
    st = not_begun(st);
    res.optimality = o;
    res.status = Status::interrupted;
    return true;
  } else if (std::optional<Polished> p =
                 warm && problem.previous_l1_weight && settings.polish
                     ? polish_warm_start(problem, st.z, grad, settings, comm)
                     : std::nullopt) {
    st.z = std::move(p->w);
    res.optimality = p->optimality;
    res.polished = true;
  } else {
    return false;
  }
  res.status = Status::converged;
  st.loop.reset();
  return true;
}

}  // namespace

AdmmResult admm_solve(const AdmmProblem& problem, const SolverSettings& settings, Communicator& comm,
                      const AdmmState* warm, const AdmmObserver& observer) {
  const bool resuming = warm && warm->loop;
  if (resuming) resume_factors(*warm->loop, *problem.local);
  const FactorLog before = problem.local->factorizations();
  AdmmResult res;
  res.state = starting_state(problem, settings, warm);
  // A resumed solve skips the start's certificate: it continues exactly as the interrupted one would. The loop (and
  // its Anderson history, memory x 2 d k, zeroed) is set up only for a start the certificate leaves: along a path
  // nearly every lambda is certified before an iteration.
  if (stops_on_gap(problem, settings) && !resuming &&
      certified_start(problem, settings, comm, warm != nullptr, observer, res))
    return res;
  Loop loop(problem, settings, comm, observer, res);
  loop.run();
  if (res.status != Status::interrupted) res.state.loop.reset();  // only a checkpoint needs it
  res.factors = problem.local->factorizations().since(before);
  return res;
}

}  // namespace cadmm
