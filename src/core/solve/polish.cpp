#include "core/solve/polish.hpp"

#include "core/lapack.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace cadmm {

namespace {

using Signs = Eigen::ArrayXXi;
using Index = Eigen::Index;

// One target's restricted system over the rounds of one polish() call: G, the global Hessian block over the
// features seen so far (reduced once each) with their q, and the upper Cholesky factor R of G + l2 diag(c^2) over
// `order`, the current pattern's features. A new pattern keeps the longest prefix of `order` it still contains and
// refactors only the rest (the Schur complement of the prefix): the features a correction drops or adds sit late in
// the order (factored by decreasing |z|, the guessed ones last), so a round after the first costs about |S| times
// the features changed instead of |S|^3/3. Everything is a function of the call's signs and z, never of earlier
// calls, so a resumed run polishes bit for bit as the uninterrupted one.
struct TargetSystem {
  std::vector<Index> seen, slot;  // features of G; slot[j]: j's index in seen, or -1
  Matrix g;                       // global H(seen, seen)
  Vector q;                       // global q(seen)
  std::vector<Index> order;       // features of R, in factor order
  Matrix r;                       // upper: R^T R = G(order, order) + l2 diag(c^2)
};

class PatternSolver {
 public:
  PatternSolver(const AdmmProblem& problem, const Matrix& z, Communicator& comm)
      : p_(problem), z_(z), comm_(comm), targets_(static_cast<std::size_t>(z.cols())) {
    for (TargetSystem& t : targets_) t.slot.assign(static_cast<std::size_t>(z.rows()), -1);
  }

  // Solves (H_SS + l2 diag(c_S^2)) w_S = q_S - l1 c_S sign_S for every target, S = the nonzero signs. One reduction
  // carries every target's new columns and q; decisions depend only on signs and z, alike on every rank.
  std::optional<Matrix> solve(const Signs& sign) {
    const Index d = sign.rows(), k = sign.cols();
    std::vector<std::vector<Index>> sets(static_cast<std::size_t>(k));
    for (Index t = 0; t < k; ++t) {
      sets[t] = pattern(sign, t);
      if (static_cast<Index>(sets[t].size()) > p_.max_polish) return std::nullopt;
    }
    see(sets);
    Matrix w = Matrix::Zero(d, k);
    for (Index t = 0; t < k; ++t) {
      if (sets[t].empty()) continue;
      if (!refactor(targets_[t], sets[t])) return std::nullopt;
      const TargetSystem& sys = targets_[t];
      const Index m = static_cast<Index>(sys.order.size());
      Matrix rhs(m, 1);
      for (Index i = 0; i < m; ++i) {
        const Index j = sys.order[i];
        rhs(i, 0) = sys.q[sys.slot[j]] - p_.penalty.l1_weight * p_.penalty.weight(j) * sign(j, t);
      }
      lapack::cholesky_solve(sys.r, rhs);
      if (!rhs.allFinite()) return std::nullopt;
      for (Index i = 0; i < m; ++i) w(sys.order[i], t) = rhs(i, 0);
    }
    return w;
  }

 private:
  // The pattern's features of target t: those already in the factor, in its order, then the others by
  // decreasing |z| (ties by index).
  std::vector<Index> pattern(const Signs& sign, Index t) const {
    const TargetSystem& sys = targets_[t];
    std::vector<Index> set, fresh;
    std::vector<char> in_order(static_cast<std::size_t>(sign.rows()), 0);
    for (Index j : sys.order) {
      in_order[j] = 1;
      if (sign(j, t) != 0) set.push_back(j);
    }
    for (Index j = 0; j < sign.rows(); ++j)
      if (sign(j, t) != 0 && !in_order[j]) fresh.push_back(j);
    std::stable_sort(fresh.begin(), fresh.end(), [&](Index a, Index b) { return std::abs(z_(a, t)) > std::abs(z_(b, t)); });
    set.insert(set.end(), fresh.begin(), fresh.end());
    return set;
  }

  // Reduces, in one reduction, the Hessian columns and q of every target's features not seen yet, and adds them
  // to G.
  void see(const std::vector<std::vector<Index>>& sets) {
    const LocalSolver& local = *p_.local;
    std::vector<std::vector<Index>> fresh(sets.size());
    std::size_t size = 0;
    for (std::size_t t = 0; t < sets.size(); ++t) {
      for (Index j : sets[t])
        if (targets_[t].slot[j] < 0) fresh[t].push_back(j);
      size += fresh[t].size() * (targets_[t].seen.size() + fresh[t].size() + 1);
    }
    if (size == 0) return;
    Vector buf(static_cast<Index>(size));
    Index at = 0;
    for (std::size_t t = 0; t < sets.size(); ++t) {
      if (fresh[t].empty()) continue;
      std::vector<Index> rows = targets_[t].seen;
      rows.insert(rows.end(), fresh[t].begin(), fresh[t].end());
      const Matrix cols = local.hessian_columns(rows, fresh[t]);
      std::copy(cols.data(), cols.data() + cols.size(), buf.data() + at);
      at += cols.size();
      for (Index j : fresh[t]) buf[at++] = local.q()(j, static_cast<Index>(t));
    }
    comm_.sum(buf.data(), static_cast<std::size_t>(buf.size()));
    at = 0;
    for (std::size_t t = 0; t < sets.size(); ++t) {
      TargetSystem& sys = targets_[t];
      const Index old = static_cast<Index>(sys.seen.size()), add = static_cast<Index>(fresh[t].size());
      if (add == 0) continue;
      const Eigen::Map<const Matrix> cols(buf.data() + at, old + add, add);
      at += cols.size();
      sys.g.conservativeResize(old + add, old + add);
      sys.g.rightCols(add) = cols;
      sys.g.bottomLeftCorner(add, old) = cols.topRows(old).transpose();
      sys.q.conservativeResize(old + add);
      sys.q.tail(add) = Eigen::Map<const Vector>(buf.data() + at, add);
      at += add;
      for (Index i = 0; i < add; ++i) sys.slot[fresh[t][i]] = old + i, sys.seen.push_back(fresh[t][i]);
    }
  }

  // Makes R the factor over `set`: the longest prefix of the old order that `set` begins with is kept, the rest is
  // the Cholesky factor of its Schur complement. False when the block is not positive definite (the pattern's
  // columns are linearly dependent: no unique solution to polish).
  bool refactor(TargetSystem& sys, const std::vector<Index>& set) const {
    if (set == sys.order) return true;
    Index keep = 0;
    while (keep < static_cast<Index>(sys.order.size()) && keep < static_cast<Index>(set.size()) &&
           sys.order[keep] == set[keep])
      ++keep;
    const Index m = static_cast<Index>(set.size()), rest = m - keep;
    std::vector<Index> head(set.begin(), set.begin() + keep), tail(set.begin() + keep, set.end());
    std::vector<Index> head_slots, tail_slots;
    for (Index j : head) head_slots.push_back(sys.slot[j]);
    for (Index j : tail) tail_slots.push_back(sys.slot[j]);
    // [R11 X; 0 R22] with R11^T X = G(head, tail) and R22^T R22 = G(tail, tail) + l2 diag(c^2) - X^T X.
    const Matrix r11 = sys.r.topLeftCorner(keep, keep);
    if (rest == 0) {  // `set` is a prefix of the old order: its factor is the leading block
      sys.r = r11;
      sys.order = set;
      return true;
    }
    Matrix x = sys.g(head_slots, tail_slots);
    if (keep > 0) r11.triangularView<Eigen::Upper>().transpose().solveInPlace(x);
    Matrix r22 = sys.g(tail_slots, tail_slots);
    for (Index i = 0; i < rest; ++i) {
      const double c = p_.penalty.weight(tail[static_cast<std::size_t>(i)]);
      r22(i, i) += p_.penalty.l2_weight * c * c;
    }
    if (keep > 0) r22.noalias() -= x.transpose() * x;
    if (!lapack::cholesky_upper_in_place(r22)) return false;
    sys.r.resize(m, m);
    sys.r.topLeftCorner(keep, keep) = r11;
    sys.r.topRightCorner(keep, rest) = x;
    sys.r.bottomLeftCorner(rest, keep).setZero();
    sys.r.bottomRightCorner(rest, rest) = r22.triangularView<Eigen::Upper>();
    sys.order = set;
    return true;
  }

  const AdmmProblem& p_;
  const Matrix& z_;
  Communicator& comm_;
  std::vector<TargetSystem> targets_;
};

}  // namespace

std::optional<Polished> polish(const AdmmProblem& problem, Signs sign, const Matrix& z,
                               const SolverSettings& settings, Communicator& comm) {
  const PenaltySpec& pen = problem.penalty;
  // Row-group shrinkage makes the restricted conditions nonlinear; decided from z, so alike on every rank.
  if (pen.grouped) return std::nullopt;
  const bool has_l1 = pen.l1_weight > 0;
  PatternSolver system(problem, z, comm);
  for (int round = 0; round < 6; ++round) {
    const std::optional<Matrix> w = system.solve(sign);
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
  return polish(problem, sign, z, settings, comm);
}

}  // namespace cadmm
