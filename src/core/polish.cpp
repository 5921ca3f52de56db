#include "core/polish.hpp"

#include <cmath>
#include <vector>

namespace cadmm {

std::optional<Matrix> polish(const AdmmProblem& problem, const Matrix& z, Communicator& comm) {
  const PenaltySpec& pen = problem.penalty;
  // Row-group shrinkage makes the restricted conditions nonlinear; decided from z, so alike on every rank.
  if (pen.grouped) return std::nullopt;
  const Eigen::Index d = z.rows(), k = z.cols();
  std::vector<std::vector<Eigen::Index>> active(static_cast<std::size_t>(k));
  std::size_t size = 0;
  for (Eigen::Index t = 0; t < k; ++t) {
    for (Eigen::Index j = 0; j < d; ++j)
      if (z(j, t) != 0) active[t].push_back(j);
    if (static_cast<Eigen::Index>(active[t].size()) > kMaxPolishActive) return std::nullopt;
    size += active[t].size() * (active[t].size() + 1);
  }
  // One reduction carries every target's block of the Hessian and gradient at zero.
  Vector buf(static_cast<Eigen::Index>(size));
  const LocalSolver& local = *problem.local;
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
      const double c = pen.feature_weight.size() ? pen.feature_weight[s[i]] : 1.0;
      h(i, i) += pen.l2_weight * c * c;
      rhs[i] -= pen.l1_weight * c * (z(s[i], t) > 0 ? 1.0 : -1.0);
    }
    const Eigen::LDLT<Matrix> ldlt(h);
    if (ldlt.info() != Eigen::Success || !ldlt.isPositive()) return std::nullopt;
    const Vector ws = ldlt.solve(rhs);
    for (Eigen::Index i = 0; i < m; ++i) {
      const bool sign_flipped = pen.l1_weight > 0 && (ws[i] == 0 || (ws[i] > 0) != (z(s[i], t) > 0));
      if (!std::isfinite(ws[i]) || sign_flipped) return std::nullopt;
      w(s[i], t) = ws[i];
    }
  }
  return w;
}

}  // namespace cadmm
