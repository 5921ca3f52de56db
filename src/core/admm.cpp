#include "cadmm/admm.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

namespace cadmm {

std::string to_string(Status s) {
  switch (s) {
    case Status::converged: return "converged";
    case Status::max_iter: return "max_iter";
    case Status::diverged: return "diverged";
  }
  return "?";
}

Optimality evaluate(const AdmmProblem& problem, const Matrix& z, Communicator& comm) {
  const LocalFit local = problem.local->fit_at(z);
  // One reduction carries X^T R / n, ||R||^2 / n and <R, y> / n.
  Vector buf(local.grad.size() + 2);
  std::copy(local.grad.data(), local.grad.data() + local.grad.size(), buf.data());
  buf[buf.size() - 2] = local.rss;
  buf[buf.size() - 1] = local.ry;
  comm.sum(buf.data(), static_cast<std::size_t>(buf.size()));
  const Eigen::Map<const Matrix> grad(buf.data(), z.rows(), z.cols());
  const double rss = buf[buf.size() - 2], ry = buf[buf.size() - 1];

  const PenaltySpec& pen = problem.penalty;
  Optimality o;
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

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool all_finite(const Matrix& m) { return m.allFinite(); }

}  // namespace

AdmmResult admm_solve(const AdmmProblem& problem, const Settings& settings, Communicator& comm,
                      const AdmmState* warm, const AdmmObserver& observer) {
  const LocalSolver& local = *problem.local;
  const Eigen::Index d = local.q().rows(), k = local.q().cols();
  const bool active = local.rows() > 0;
  const double n_agents = std::max(1, problem.active_ranks);
  const double alpha = settings.over_relaxation;
  const double sqrt_np = std::sqrt(n_agents * static_cast<double>(d * k));

  AdmmState st;
  st.rho = settings.rho.value_or(problem.rho_auto);
  st.z = Matrix::Zero(d, k);
  st.u = Matrix::Zero(d, k);
  if (warm) {
    if (warm->z.rows() == d && warm->z.cols() == k) st.z = warm->z;
    if (warm->u.rows() == d && warm->u.cols() == k) st.u = warm->u;
    if (warm->rho > 0 && !settings.rho) st.rho = warm->rho;
    st.iteration = warm->iteration;
  }

  AdmmResult res;
  Matrix x = st.z, x_hat(d, k), v(d, k), z_old(d, k);
  const auto t0 = std::chrono::steady_clock::now();
  double last_adapt_iteration = st.iteration;

  for (int it = st.iteration + 1; it <= settings.max_iter; ++it) {
    // x-update (7.6): each rank solves its regularized least-squares problem with its fixed factorization.
    if (active) {
      local.solve(local.q() + st.rho * (st.z - st.u), st.rho, x);
      x_hat = alpha * x + (1 - alpha) * st.z;  // over-relaxation (3.19)
      v = x_hat + st.u;
    } else {
      v.setZero();
    }
    // z-update (7.7): average over the ranks that hold rows, then the prox of lambda P / (N rho).
    comm.sum(v.data(), static_cast<std::size_t>(v.size()));
    z_old = st.z;
    problem.penalty.prox(v / n_agents, 1.0 / (n_agents * st.rho), st.z);
    // u-update (7.7), scaled dual.
    if (active) st.u += x_hat - st.z;

    // Residuals (7.8) and thresholds (3.12); the norms are sums over ranks.
    double norms[3] = {0, 0, 0};
    if (active) norms[0] = (x - st.z).squaredNorm(), norms[1] = x.squaredNorm(), norms[2] = st.u.squaredNorm();
    comm.sum(norms, 3);
    IterationRecord rec;
    rec.iteration = it;
    rec.rho = st.rho;
    rec.r_norm = std::sqrt(norms[0]);
    rec.s_norm = st.rho * std::sqrt(n_agents) * (st.z - z_old).norm();
    const double x_norm = std::sqrt(norms[1]), z_norm = std::sqrt(n_agents) * st.z.norm();
    const double y_norm = st.rho * std::sqrt(norms[2]);
    rec.eps_pri = sqrt_np * settings.abs_tol + settings.rel_tol * std::max(x_norm, z_norm);
    rec.eps_dual = sqrt_np * settings.abs_tol + settings.rel_tol * y_norm;
    const bool residuals_ok = rec.r_norm <= rec.eps_pri && rec.s_norm <= rec.eps_dual;

    rec.objective = rec.gap = std::numeric_limits<double>::quiet_NaN();
    bool gap_ok = settings.gap_tol <= 0;
    if (residuals_ok || it % settings.gap_every == 0 || it == st.iteration + 1) {
      const Optimality o = evaluate(problem, st.z, comm);
      rec.objective = o.objective;
      rec.gap = o.gap;
      gap_ok = gap_ok || o.gap <= settings.gap_tol * std::max(std::abs(o.objective), 1e-300);
    }
    rec.seconds = seconds_since(t0);
    res.history.push_back(rec);
    st.iteration = it;
    res.r_norm = rec.r_norm;
    res.s_norm = rec.s_norm;
    if (observer.progress) observer.progress(rec);

    // Every input to these decisions is a reduced or replicated value, so all ranks decide alike.
    if (!std::isfinite(rec.r_norm) || !std::isfinite(rec.s_norm) || !all_finite(st.z)) {
      res.status = Status::diverged;
      break;
    }
    if (residuals_ok && gap_ok) {
      res.status = Status::converged;
      break;
    }
    if (observer.checkpoint && observer.checkpoint_every > 0 && it % observer.checkpoint_every == 0)
      observer.checkpoint(st);

    // Residual balancing on the residuals normalized by their thresholds' scales (as OSQP does);
    // free here because the local factorizations are spectral.
    if (settings.adaptive_rho && it - last_adapt_iteration >= 5 && rec.r_norm > 0 && rec.s_norm > 0) {
      const double r_rel = rec.r_norm / std::max(std::max(x_norm, z_norm), 1e-300);
      const double s_rel = rec.s_norm / std::max(y_norm, 1e-300);
      const double factor = std::sqrt(r_rel / s_rel);
      if (std::isfinite(factor) && (factor > 5 || factor < 0.2)) {
        st.rho *= factor;
        st.u /= factor;
        last_adapt_iteration = it;
      }
    }
  }
  res.optimality = evaluate(problem, st.z, comm);
  res.state = std::move(st);
  return res;
}

}  // namespace cadmm
