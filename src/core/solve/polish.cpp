#include "core/solve/polish.hpp"

#include "core/lapack.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace cadmm {

namespace {

using Signs = Eigen::ArrayXXi;

// Solves (H_SS + l2 diag(c_S^2)) w_S = q_S - l1 c_S sign_S for every target, S = the nonzero signs.
// One reduction carries every target's Hessian block and gradient at zero. Decisions depend only on signs,
// which are alike on every rank, so every rank returns alike.
std::optional<Matrix> restricted_solve(const AdmmProblem& problem, const Signs& sign, Communicator& comm) {
  const PenaltySpec& pen = problem.penalty;
  const LocalSolver& local = *problem.local;
  const Eigen::Index d = sign.rows(), k = sign.cols();
  std::vector<std::vector<Eigen::Index>> active(static_cast<std::size_t>(k));
  std::size_t size = 0;
  for (Eigen::Index t = 0; t < k; ++t) {
    for (Eigen::Index j = 0; j < d; ++j)
      if (sign(j, t) != 0) active[t].push_back(j);
    if (static_cast<Eigen::Index>(active[t].size()) > problem.max_polish) return std::nullopt;
    size += active[t].size() * (active[t].size() + 1);
  }
  Vector buf(static_cast<Eigen::Index>(size));
  Eigen::Index at = 0;
  for (Eigen::Index t = 0; t < k; ++t) {
    const auto& s = active[t];
    const Eigen::Index m = static_cast<Eigen::Index>(s.size());
    if (m == 0) continue;
    Eigen::Map<Matrix>(buf.data() + at, m, m) = local.hessian_block(s);
    at += m * m;
    for (Eigen::Index i = 0; i < m; ++i) buf[at + i] = local.q()(s[i], t);
    at += m;
  }
  comm.sum(buf.data(), static_cast<std::size_t>(buf.size()));

  Matrix w = Matrix::Zero(d, k);
  at = 0;
  for (Eigen::Index t = 0; t < k; ++t) {
    const auto& s = active[t];
    const Eigen::Index m = static_cast<Eigen::Index>(s.size());
    if (m == 0) continue;
    Matrix h = Eigen::Map<const Matrix>(buf.data() + at, m, m);
    at += m * m;
    Vector rhs = Eigen::Map<const Vector>(buf.data() + at, m);
    at += m;
    for (Eigen::Index i = 0; i < m; ++i) {
      const double c = pen.weight(s[i]);
      h(i, i) += pen.l2_weight * c * c;
      rhs[i] -= pen.l1_weight * c * sign(s[i], t);
    }
    // Cholesky (LAPACK's blocked dpotrf): the block of a Gram plus a ridge is positive definite unless the active
    // columns are linearly dependent, and then the pattern has no unique solution to polish.
    if (!lapack::cholesky_upper_in_place(h)) return std::nullopt;
    Matrix ws = rhs;
    lapack::cholesky_solve(h, ws);
    if (!ws.allFinite()) return std::nullopt;
    for (Eigen::Index i = 0; i < m; ++i) w(s[i], t) = ws(i, 0);
  }
  return w;
}

}  // namespace

std::optional<Polished> polish(const AdmmProblem& problem, Signs sign, const SolverSettings& settings,
                               Communicator& comm) {
  const PenaltySpec& pen = problem.penalty;
  // Row-group shrinkage makes the restricted conditions nonlinear; decided from z, so alike on every rank.
  if (pen.grouped) return std::nullopt;
  const bool has_l1 = pen.l1_weight > 0;
  for (int round = 0; round < 6; ++round) {
    const std::optional<Matrix> w = restricted_solve(problem, sign, comm);
    if (!w) return std::nullopt;
    // A coordinate whose sign flipped does not belong to the pattern: drop it and solve again.
    bool flipped = false;
    for (Eigen::Index i = 0; has_l1 && i < sign.size(); ++i) {
      const double v = w->data()[i];
      if (sign.data()[i] != 0 && (v == 0 || (v > 0) != (sign.data()[i] > 0))) {
        sign.data()[i] = 0;
        flipped = true;
      }
    }
    if (flipped) continue;
    Matrix grad;
    const Optimality o = evaluate(problem, *w, comm, &grad);
    if (settings.certified(o.gap, o.objective)) return Polished{*w, o};
    // A zero coordinate whose gradient exceeds its bound l1 c_j belongs to the pattern, with that sign.
    bool added = false;
    for (Eigen::Index t = 0; has_l1 && t < sign.cols(); ++t)
      for (Eigen::Index j = 0; j < sign.rows(); ++j) {
        const double c = pen.weight(j);
        if (sign(j, t) == 0 && std::abs(grad(j, t)) > pen.l1_weight * c * (1 + 1e-9)) {
          sign(j, t) = grad(j, t) > 0 ? 1 : -1;
          added = true;
        }
      }
    if (!added) return std::nullopt;
  }
  return std::nullopt;
}

std::optional<Polished> polish_warm_start(const AdmmProblem& problem, const Matrix& z, const Matrix& grad,
                                          const SolverSettings& settings, Communicator& comm) {
  const PenaltySpec& pen = problem.penalty;
  Signs sign = z.array().sign().cast<int>();
  if (pen.l1_weight > 0) {
    const double bound = std::max(0.0, 2 * pen.l1_weight - *problem.previous_l1_weight);
    for (Eigen::Index t = 0; t < sign.cols(); ++t)
      for (Eigen::Index j = 0; j < sign.rows(); ++j)
        if (sign(j, t) == 0 && std::abs(grad(j, t)) >= bound * pen.weight(j) && grad(j, t) != 0)
          sign(j, t) = grad(j, t) > 0 ? 1 : -1;
  }
  return polish(problem, sign, settings, comm);
}

}  // namespace cadmm
