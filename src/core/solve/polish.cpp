#include "core/solve/polish.hpp"

#include "core/lapack.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace cadmm {

namespace {

using Signs = Eigen::ArrayXXi;
using Index = Eigen::Index;

// Grows a square matrix's storage to at least n x n, keeping its leading `keep` x `keep` block: at once to `limit`
// (the largest it may need). Storage not yet written costs no memory (pages are given on first touch, and a leading
// block of m columns touches about m^2 doubles of it), while growing by doubling wrote every block again into fresh
// pages: on the W1 path (4,000 features, up to 2,743 active) that was 8% of the run in page faults.
void reserve_square(Matrix& a, Index n, Index keep, Index limit) {
  if (a.rows() >= n) return;
  const Index size = std::max(n, limit);
  Matrix grown(size, size);
  grown.topLeftCorner(keep, keep) = a.topLeftCorner(keep, keep);
  a.swap(grown);
}

class PatternSolver {
 public:
  // Uses `memory` (a path's, kept across its lambdas) or a memory of its own (this call only; also in a path that
  // checkpoints, whose resume would not have the earlier calls' factors).
  PatternSolver(const AdmmProblem& problem, const Matrix& z, Communicator& comm)
      : p_(problem), z_(z), comm_(comm),
        memory_(problem.polish_memory && !problem.polish_memory->restartable ? *problem.polish_memory : own_) {
    const std::size_t k = static_cast<std::size_t>(z.cols());
    if (memory_.targets.size() != k || memory_.features != z.rows()) {
      memory_.targets.assign(k, TargetSystem{});
      memory_.features = z.rows();
    }
    // The factors hold l2 diag(c^2): another l2 weight (an elastic net's next lambda) refactors from G.
    if (memory_.l2_weight != p_.penalty.l2_weight)
      for (TargetSystem& t : memory_.targets) t.order.clear();
    memory_.l2_weight = p_.penalty.l2_weight;
  }

  // Solves (H_SS + l2 diag(e_S)) w_S = q_S - l1 c_S sign_S - H_SB b_B for every target, S = the free signs (+-1),
  // B = the coordinates held at a bound b (+-2: kHeld). One reduction carries every target's new columns and q;
  // decisions depend only on signs, z and the memory, alike on every rank.
  std::optional<Matrix> solve(const Signs& sign) {
    const Index d = sign.rows(), k = sign.cols();
    std::vector<std::vector<Index>> sets(static_cast<std::size_t>(k)), held(static_cast<std::size_t>(k)),
        both(static_cast<std::size_t>(k));
    for (Index t = 0; t < k; ++t) {
      sets[t] = pattern(sign, t);
      for (Index j = 0; j < d; ++j)
        if (std::abs(sign(j, t)) == kHeld) held[t].push_back(j);
      both[t] = sets[t];
      both[t].insert(both[t].end(), held[t].begin(), held[t].end());
      if (static_cast<Index>(both[t].size()) > p_.max_polish) return std::nullopt;
    }
    see(both);
    Matrix w = Matrix::Zero(d, k);
    for (Index t = 0; t < k; ++t) {
      for (Index j : held[t]) w(j, t) = bound_of(j, sign(j, t));
      if (sets[t].empty()) continue;
      TargetSystem& sys = memory_.targets[t];
      if (!refactor(sys, sets[t])) return std::nullopt;
      const Index m = static_cast<Index>(sys.order.size());
      Matrix rhs(m, 1);
      for (Index i = 0; i < m; ++i) {
        const Index j = sys.order[i];
        rhs(i, 0) = sys.q[sys.slot[j]] - p_.penalty.l1_weight * p_.penalty.weight(j) * sign(j, t);
        for (Index h : held[t]) rhs(i, 0) -= sys.g(sys.slot[j], sys.slot[h]) * w(h, t);
      }
      lapack::cholesky_solve(sys.r.topLeftCorner(m, m), rhs);
      if (!rhs.allFinite()) return std::nullopt;
      for (Index i = 0; i < m; ++i) w(sys.order[i], t) = rhs(i, 0);
    }
    return w;
  }

 private:
  // The pattern's features of target t: those already in the factor, in its order, then the others by
  // decreasing |z| (ties by index).
  std::vector<Index> pattern(const Signs& sign, Index t) const {
    const TargetSystem& sys = memory_.targets[t];
    std::vector<Index> set, fresh;
    std::vector<char> in_order(static_cast<std::size_t>(sign.rows()), 0);
    for (Index j : sys.order) {
      in_order[j] = 1;
      if (std::abs(sign(j, t)) == 1) set.push_back(j);
    }
    for (Index j = 0; j < sign.rows(); ++j)
      if (std::abs(sign(j, t)) == 1 && !in_order[j]) fresh.push_back(j);
    std::stable_sort(fresh.begin(), fresh.end(), [&](Index a, Index b) { return std::abs(z_(a, t)) > std::abs(z_(b, t)); });
    set.insert(set.end(), fresh.begin(), fresh.end());
    return set;
  }

  // Reduces, in one reduction, the Hessian columns and q of every target's features not seen yet, and adds them
  // to G. A target whose G would pass seen_limit() (features seen by earlier lambdas and left since) starts again
  // from its current pattern.
  void see(const std::vector<std::vector<Index>>& sets) {
    const LocalSolver& local = *p_.local;
    std::vector<std::vector<Index>> fresh(sets.size());
    std::size_t size = 0;
    for (std::size_t t = 0; t < sets.size(); ++t) {
      TargetSystem* sys = &memory_.targets[t];
      const auto unseen = [&] {
        fresh[t].clear();
        for (Index j : sets[t])
          if (sys->slot.empty() || sys->slot[j] < 0) fresh[t].push_back(j);
      };
      unseen();
      if (static_cast<Index>(sys->seen.size() + fresh[t].size()) > seen_limit()) {
        *sys = TargetSystem{};
        unseen();
      }
      if (sys->slot.empty()) sys->slot.assign(static_cast<std::size_t>(memory_.features), -1);
      size += fresh[t].size() * (sys->seen.size() + fresh[t].size() + 1);
    }
    if (size == 0) return;
    Vector buf(static_cast<Index>(size));
    Index at = 0;
    for (std::size_t t = 0; t < sets.size(); ++t) {
      if (fresh[t].empty()) continue;
      std::vector<Index> rows = memory_.targets[t].seen;
      rows.insert(rows.end(), fresh[t].begin(), fresh[t].end());
      const Matrix cols = local.hessian_columns(rows, fresh[t]);
      std::copy(cols.data(), cols.data() + cols.size(), buf.data() + at);
      at += cols.size();
      for (Index j : fresh[t]) buf[at++] = local.q()(j, static_cast<Index>(t));
    }
    comm_.sum(buf.data(), static_cast<std::size_t>(buf.size()));
    at = 0;
    for (std::size_t t = 0; t < sets.size(); ++t) {
      TargetSystem& sys = memory_.targets[t];
      const Index old = static_cast<Index>(sys.seen.size()), add = static_cast<Index>(fresh[t].size());
      if (add == 0) continue;
      const Eigen::Map<const Matrix> cols(buf.data() + at, old + add, add);
      at += cols.size();
      reserve_square(sys.g, old + add, old, seen_limit());
      sys.g.block(0, old, old + add, add) = cols;
      sys.g.block(old, 0, add, old) = cols.topRows(old).transpose();
      sys.q.conservativeResize(old + add);
      sys.q.tail(add) = Eigen::Map<const Vector>(buf.data() + at, add);
      at += add;
      for (Index i = 0; i < add; ++i) sys.slot[fresh[t][i]] = old + i, sys.seen.push_back(fresh[t][i]);
    }
  }

  // The most features G holds, and R: the largest pattern polished (or d). The plan counts two such blocks per
  // rank where polishing takes its largest patterns (local_memory_bytes in src/core/plan/plan.cpp).
  Index seen_limit() const { return std::min(memory_.features, p_.max_polish); }

  // Makes R the factor over `set`, which pattern() made the old order without the features it dropped, then new
  // ones. A few dropped features are deleted from R (a rank-one update of the factor behind each); otherwise the
  // factor is kept up to the first of them. The new features then extend it by the Cholesky factor of their Schur
  // complement. False when the block is not positive definite (the pattern's columns are linearly dependent: no
  // unique solution to polish).
  bool refactor(TargetSystem& sys, const std::vector<Index>& set) const {
    if (set == sys.order) return true;
    std::vector<char> in_set(static_cast<std::size_t>(memory_.features), 0);
    for (Index j : set) in_set[j] = 1;
    std::vector<Index> dropped;  // positions in the old order
    for (std::size_t i = 0; i < sys.order.size(); ++i)
      if (!in_set[sys.order[i]]) dropped.push_back(static_cast<Index>(i));
    if (!dropped.empty() && deleting_pays(static_cast<Index>(sys.order.size()), dropped))
      for (auto at = dropped.rbegin(); at != dropped.rend(); ++at) {
        const Index m = static_cast<Index>(sys.order.size());
        lapack::remove_from_cholesky_upper(sys.r.topLeftCorner(m, m), *at);
        sys.order.erase(sys.order.begin() + *at);
      }
    Index keep = 0;
    while (keep < static_cast<Index>(sys.order.size()) && keep < static_cast<Index>(set.size()) &&
           sys.order[keep] == set[keep])
      ++keep;
    const Index m = static_cast<Index>(set.size()), rest = m - keep;
    sys.order.resize(static_cast<std::size_t>(keep));  // what R holds while its trailing part is remade
    if (rest == 0) return true;
    reserve_square(sys.r, m, keep, seen_limit());
    std::vector<Index> head_slots, tail_slots;
    for (Index i = 0; i < m; ++i) (i < keep ? head_slots : tail_slots).push_back(sys.slot[set[i]]);
    // [R11 R12; 0 R22]: A12 = G(head, tail), A22 = G(tail, tail) + l2 diag(c^2), then extended in place.
    sys.r.block(0, keep, keep, rest) = sys.g(head_slots, tail_slots);
    sys.r.block(keep, keep, rest, rest) = sys.g(tail_slots, tail_slots);
    for (Index i = 0; i < rest; ++i) {
      sys.r(keep + i, keep + i) += p_.penalty.ridge_times(set[keep + i], p_.penalty.l2_weight);
    }
    if (!lapack::extend_cholesky_upper(sys.r.topLeftCorner(m, m), keep)) return false;
    sys.order = set;
    return true;
  }

  // Deleting costs about (m - p)^2 strided updates per feature at position p, worth some 100 flops each of the
  // blocked refactor from the first position p0 (dtrsm, dsyrk, dpotrf: p0^2 t + p0 t^2 + t^3 / 3, t = m - p0).
  static bool deleting_pays(Index m, const std::vector<Index>& positions) {
    double deleting = 0;
    for (Index p : positions) deleting += 100.0 * static_cast<double>(m - p) * static_cast<double>(m - p);
    const double p0 = static_cast<double>(positions.front()), t = static_cast<double>(m) - p0;
    return deleting < p0 * p0 * t + p0 * t * t + t * t * t / 3;
  }

  // The bound a held coordinate sits at: the upper one for +kHeld, the lower one for -kHeld.
  double bound_of(Index j, int sign) const { return sign > 0 ? p_.penalty.upper_bound(j) : p_.penalty.lower_bound(j); }

  const AdmmProblem& p_;
  const Matrix& z_;
  Communicator& comm_;
  PolishMemory own_;
  PolishMemory& memory_;
};

// The blocks' restriction of a grouped problem: H and q over the features of `set` (blocks of the penalty), at[i] the
// rows of H that block set[i]'s features take.
struct BlockProblem {
  const PenaltySpec& pen;
  const std::vector<std::vector<Index>>& blocks;
  const std::vector<double>& weight;
  const std::vector<std::size_t>& set;
  const std::vector<std::vector<Index>>& at;
  Eigen::Map<const Matrix> h, q;

  // 1/2 W^T H W - q^T W + lambda P(W) over the set's rows.
  double objective(const Matrix& ws) const {
    double value = (0.5 * (ws.transpose() * h * ws) - q.transpose() * ws).trace();
    for (std::size_t i = 0; i < set.size(); ++i) {
      const std::vector<Index>& block = blocks[set[i]];
      double norm = 0;
      for (std::size_t r = 0; r < block.size(); ++r) {
        const double c = pen.weight(block[r]), sq = ws.row(at[i][r]).squaredNorm();
        norm += c * c * sq;
        value += 0.5 * pen.l2_weight * pen.ridge(block[r]) * sq;
      }
      value += pen.l1_weight * weight[set[i]] * std::sqrt(norm);
    }
    return value;
  }
};

// Newton's method on the blocks of ws that are nonzero (and the unpenalized ones), where the restricted objective is
// smooth: block coordinate descent finds which blocks are zero in a few sweeps but crawls when H is ill-conditioned,
// which Newton's method does not mind. Steps are halved until the objective decreases enough (Armijo); it stops when
// rounding leaves no descent. False when the system is larger than kMaxNewton unknowns or not positive definite.
bool newton_on_support(const BlockProblem& p, Matrix& ws) {
  constexpr Index kMaxNewton = 2000;
  const Index k = ws.cols();
  std::vector<Index> rows;   // rows of ws in the system
  std::vector<std::size_t> in;  // positions in p.set of its blocks
  for (std::size_t i = 0; i < p.set.size(); ++i) {
    bool nonzero = p.weight[p.set[i]] <= 0;
    for (Index r : p.at[i]) nonzero = nonzero || (ws.row(r).array() != 0).any();
    if (!nonzero) continue;
    in.push_back(i);
    rows.insert(rows.end(), p.at[i].begin(), p.at[i].end());
  }
  const Index m = static_cast<Index>(rows.size());
  if (m == 0 || m * k > kMaxNewton) return m == 0;
  for (int it = 0; it < 30; ++it) {
    // F: the gradient over the system's rows; J its Jacobian, unknowns ordered target by target.
    const Matrix hw = p.h(rows, Eigen::all) * ws - p.q(rows, Eigen::all);
    Matrix f = hw;
    Matrix jac = Matrix::Zero(m * k, m * k);
    for (Index t = 0; t < k; ++t) jac.block(t * m, t * m, m, m) = p.h(rows, rows);
    Index pos = 0;
    for (std::size_t i : in) {
      const std::vector<Index>& block = p.blocks[p.set[i]];
      const Index size = static_cast<Index>(block.size());
      const double a = p.pen.l1_weight * p.weight[p.set[i]];
      double r2 = 0;
      for (Index e = 0; e < size; ++e) r2 += p.pen.weight(block[e]) * p.pen.weight(block[e]) * ws.row(p.at[i][e]).squaredNorm();
      const double r = std::sqrt(r2);
      for (Index e = 0; e < size; ++e) {
        const Index row = p.at[i][e];
        const double c2 = p.pen.weight(block[e]) * p.pen.weight(block[e]), diag = p.pen.ridge_times(block[e], p.pen.l2_weight) + (a > 0 ? a * c2 / r : 0);
        f.row(pos + e) += diag * ws.row(row);
        for (Index t = 0; t < k; ++t) jac(t * m + pos + e, t * m + pos + e) += diag;
        if (a <= 0) continue;
        for (Index e2 = 0; e2 < size; ++e2) {
          const double c22 = p.pen.weight(block[e2]) * p.pen.weight(block[e2]);
          for (Index t = 0; t < k; ++t)
            for (Index s = 0; s < k; ++s)
              jac(t * m + pos + e, s * m + pos + e2) -= a * c2 * c22 * ws(row, t) * ws(p.at[i][e2], s) / (r2 * r);
        }
      }
      pos += size;
    }
    const Eigen::LLT<Matrix> llt(jac);
    if (llt.info() != Eigen::Success) return false;
    const Vector fv = Eigen::Map<const Vector>(f.data(), f.size());
    const Vector dv = llt.solve(-fv);
    if (!dv.allFinite()) return false;
    const Eigen::Map<const Matrix> step(dv.data(), m, k);
    const double before = p.objective(ws), slope = fv.dot(dv);
    if (!(slope < 0)) return true;  // no descent left: converged as far as rounding lets it
    // A decrement this small is below what the objective resolves: the full step, the last one, is taken unchecked.
    if (-slope <= 1e-10 * std::max(1.0, std::abs(before))) {
      ws(rows, Eigen::all) += step;
      return true;
    }
    Matrix trial = ws;
    bool moved = false;
    for (double alpha = 1; alpha > 1e-12 && !moved; alpha /= 2) {
      trial(rows, Eigen::all) = ws(rows, Eigen::all) + alpha * step;
      moved = p.objective(trial) <= before + 1e-4 * alpha * slope;
    }
    if (!moved) return true;
    ws = std::move(trial);
  }
  return true;
}

// Grouped penalties (l21's rows, feature groups) make the restricted conditions nonlinear in each block's norm: the
// problem restricted to the active blocks (`active`, and every unpenalized one) is solved instead by block
// coordinate descent on its global Hessian block H, reduced once with q and b = ||y||^2 / n; every rank then does
// the same local work on the same reduced values, so decisions agree. The restricted problem's own duality gap,
// computed from H, q and b alone, says when to stop; the full problem's gap certifies the result, and blocks whose
// KKT condition fails there join, a few times.
std::optional<Polished> polish_blocks(const AdmmProblem& problem, std::vector<char> active, const Matrix& z,
                                      const SolverSettings& settings, Communicator& comm) {
  const PenaltySpec& pen = problem.penalty;
  const Index d = z.rows(), k = z.cols();
  std::vector<double> weight;
  const std::vector<std::vector<Index>> blocks = pen.blocks(d, weight);
  Matrix w = z, v = Matrix::Zero(d, k), out = Matrix::Zero(d, k);
  for (int round = 0; round < 6; ++round) {
    std::vector<std::size_t> set;  // the blocks solved, and their features in order
    std::vector<Index> features, slot(static_cast<std::size_t>(d), -1);
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      if (blocks[b].empty() || (!active[b] && weight[b] > 0)) continue;  // an empty group: no feature in its norm
      set.push_back(b);
      for (Index j : blocks[b]) slot[static_cast<std::size_t>(j)] = static_cast<Index>(features.size()), features.push_back(j);
    }
    const Index m = static_cast<Index>(features.size());
    if (m > problem.max_polish) return std::nullopt;
    // One reduction: H(S, S), q(S) and b.
    Vector buf(m * m + m * k + 1);
    if (m > 0) {
      const Matrix h = problem.local->hessian_columns(features, features);
      std::copy(h.data(), h.data() + h.size(), buf.data());
      const Matrix q = problem.local->q()(features, Eigen::all);
      std::copy(q.data(), q.data() + q.size(), buf.data() + m * m);
    }
    buf[buf.size() - 1] = problem.local->b_squares();
    comm.sum(buf.data(), static_cast<std::size_t>(buf.size()));
    const Eigen::Map<const Matrix> h(buf.data(), m, m), q(buf.data() + m * m, m, k);
    const double b_sq = buf[buf.size() - 1];
    // Each block's step 1 / L_b, L_b the largest eigenvalue of its diagonal block of H.
    std::vector<std::vector<Index>> at(set.size());
    std::vector<double> lipschitz(set.size(), 0.0);
    for (std::size_t i = 0; i < set.size(); ++i) {
      for (Index j : blocks[set[i]]) at[i].push_back(slot[static_cast<std::size_t>(j)]);
      const Matrix hb = h(at[i], at[i]);
      lipschitz[i] = hb.rows() == 1 ? hb(0, 0) : Eigen::SelfAdjointEigenSolver<Matrix>(hb, Eigen::EigenvaluesOnly).eigenvalues().maxCoeff();
    }
    Matrix ws = w(features, Eigen::all);
    Matrix grad = q - h * ws;  // X_S^T R / n
    // The restricted problem's objective and gap: rss = b - 2 q^T W + W^T H W, <R, y> / n = b - q^T W.
    Matrix g_full = Matrix::Zero(d, k);
    const auto restricted_gap = [&] {
      w.setZero();
      w(features, Eigen::all) = ws;
      g_full(features, Eigen::all) = grad;
      const double qw = (q.transpose() * ws).trace(), ry = b_sq - qw;
      return optimality_at(pen, w, g_full, ry - (grad.transpose() * ws).trace(), ry);
    };
    // Sweeps find which blocks are zero; once they no longer change that (or their decrease says certifying would take
    // more than kSweeps in all), Newton's method on the nonzero blocks solves the rest to rounding, as the linear solve
    // of the lasso's polish does. Sweeps after it set to zero any block it was driving there (it cannot reach the
    // kink), and it runs again on the rest. Done when the restricted gap certifies after a Newton solve (or when the
    // system is too large for one, after sweeps alone).
    constexpr int kSweeps = 1000, kCheck = 5, kNewton = 3;
    const BlockProblem restricted{pen, blocks, weight, set, at, h, q};
    bool solved = false, stalled = false;
    int newton = 0;
    double last_gap = HUGE_VAL;
    std::vector<char> support;  // the set's nonzero blocks at the last check
    for (int sweep = 1; sweep <= kSweeps && !solved && !(stalled && newton == kNewton); ++sweep) {
      for (std::size_t i = 0; i < set.size(); ++i) {
        if (!(lipschitz[i] > 0)) continue;  // zero columns: the coefficient stays 0
        const std::vector<Index>& block = blocks[set[i]];
        for (std::size_t r = 0; r < block.size(); ++r) v.row(block[r]) = ws.row(at[i][r]) + grad.row(at[i][r]) / lipschitz[i];
        pen.prox_block(v, block, weight[set[i]], 1 / lipschitz[i], out);
        Matrix step(static_cast<Index>(block.size()), k);
        for (std::size_t r = 0; r < block.size(); ++r) step.row(static_cast<Index>(r)) = out.row(block[r]) - ws.row(at[i][r]);
        if ((step.array() == 0).all()) continue;
        grad.noalias() -= h(Eigen::all, at[i]) * step;
        ws(at[i], Eigen::all) += step;
      }
      if (sweep % kCheck != 0) continue;
      grad = q - h * ws;  // without the drift of the updates
      Optimality o = restricted_gap();
      double target = 0.5 * settings.gap_tol * std::abs(o.objective), rate = o.gap / last_gap;
      stalled = rate >= 1 || (rate > 0 && sweep + kCheck * std::log(target / o.gap) / std::log(rate) > kSweeps);
      std::vector<char> nonzero(set.size(), 0);
      for (std::size_t i = 0; i < set.size(); ++i)
        for (Index r : at[i]) nonzero[i] = nonzero[i] || (ws.row(r).array() != 0).any();
      const bool steady = nonzero == support;
      support = std::move(nonzero);
      if ((steady || stalled) && newton < kNewton) {
        // Too large or singular: sweeps only from here. Steps it took before failing stand (they lowered the
        // objective), so the gradient and gap are taken again either way.
        newton = newton_on_support(restricted, ws) ? newton + 1 : kNewton;
        grad = q - h * ws;
        o = restricted_gap();
        target = 0.5 * settings.gap_tol * std::abs(o.objective);
      }
      solved = o.gap <= target && newton > 0;
      last_gap = o.gap;
    }
    if (!solved || !ws.allFinite()) return std::nullopt;
    restricted_gap();  // w = the restricted solution
    Matrix full_grad;
    const Optimality o = evaluate(problem, w, comm, &full_grad);
    if (settings.certified(o.gap, o.objective)) return Polished{w, o};
    bool added = false;
    for (std::size_t b = 0; b < blocks.size(); ++b)
      if (!active[b] && weight[b] > 0 && pen.block_dual(full_grad, blocks[b]) > pen.l1_weight * weight[b])
        active[b] = 1, added = true;
    if (!added) return std::nullopt;
  }
  return std::nullopt;
}

// The blocks with a nonzero coefficient in z.
std::vector<char> nonzero_blocks(const PenaltySpec& pen, const Matrix& z) {
  std::vector<double> weight;
  const std::vector<std::vector<Index>> blocks = pen.blocks(z.rows(), weight);
  std::vector<char> active(blocks.size(), 0);
  for (std::size_t b = 0; b < blocks.size(); ++b)
    for (Index j : blocks[b]) active[b] = active[b] || (z.row(j).array() != 0).any();
  return active;
}

}  // namespace

std::optional<Polished> polish(const AdmmProblem& problem, Signs sign, const Matrix& z,
                               const SolverSettings& settings, Communicator& comm) {
  const PenaltySpec& pen = problem.penalty;
  if (pen.grouped) return polish_blocks(problem, nonzero_blocks(pen, z), z, settings, comm);
  const bool has_l1 = pen.l1_weight > 0;
  PatternSolver system(problem, z, comm);
  for (int round = 0; round < 6; ++round) {
    const std::optional<Matrix> w = system.solve(sign);
    if (!w) return std::nullopt;
    // A coordinate whose sign flipped does not belong to the pattern: drop it and solve again. An unpenalized one
    // has no kink at 0: it keeps its place with its new sign. One beyond a bound of 0 (a sign constraint) is
    // dropped alike; one beyond another bound is held there.
    bool flipped = false;
    for (Eigen::Index t = 0; t < sign.cols(); ++t)
      for (Eigen::Index j = 0; j < sign.rows(); ++j) {
        const double v = (*w)(j, t);
        if (sign(j, t) == 0 || std::abs(sign(j, t)) == kHeld) continue;
        if (v < pen.lower_bound(j) || v > pen.upper_bound(j)) {
          const bool above = v > pen.upper_bound(j);
          sign(j, t) = (above ? pen.upper_bound(j) : pen.lower_bound(j)) == 0 ? 0 : above ? kHeld : -kHeld;
          flipped = true;
        } else if (has_l1 && (v == 0 || (v > 0) != (sign(j, t) > 0))) {
          if (pen.penalized(j)) {
            sign(j, t) = 0;
            flipped = true;
          } else if (v != 0) {
            sign(j, t) = v > 0 ? 1 : -1;
          }
        }
      }
    if (flipped) continue;
    Matrix grad;
    const Optimality o = evaluate(problem, *w, comm, &grad);
    if (settings.certified(o.gap, o.objective)) return Polished{*w, o};
    // A zero coordinate whose gradient exceeds its bound l1 c_j belongs to the pattern, with that sign. A held one
    // whose gradient pulls it back inside its box is freed.
    bool added = false;
    for (Eigen::Index t = 0; t < sign.cols(); ++t)
      for (Eigen::Index j = 0; j < sign.rows(); ++j) {
        const double c = pen.weight(j);
        if (std::abs(sign(j, t)) == kHeld) {
          const int s = sign(j, t) > 0 ? 1 : -1;
          const double b = s > 0 ? pen.upper_bound(j) : pen.lower_bound(j);
          if (s * (grad(j, t) - pen.l1_weight * c * s - pen.l2_weight * pen.ridge(j) * b) < 0) sign(j, t) = s, added = true;
        } else if (has_l1 && sign(j, t) == 0 && pen.movable(j, grad(j, t)) > pen.l1_weight * c * (1 + 1e-9)) {
          sign(j, t) = grad(j, t) > 0 ? 1 : -1;
          added = true;
        }
      }
    if (!added) return std::nullopt;
  }
  return std::nullopt;
}

Eigen::ArrayXXi sign_pattern(const PenaltySpec& pen, const Matrix& z) {
  Signs sign = z.array().sign().cast<int>();
  if (pen.lower.size() || pen.upper.size())
    for (Eigen::Index t = 0; t < z.cols(); ++t)
      for (Eigen::Index j = 0; j < z.rows(); ++j)
        if (z(j, t) != 0 && (z(j, t) == pen.upper_bound(j) || z(j, t) == pen.lower_bound(j))) sign(j, t) *= kHeld;
  return sign;
}

std::optional<Polished> polish_warm_start(const AdmmProblem& problem, const Matrix& z, const Matrix& grad,
                                          const SolverSettings& settings, Communicator& comm) {
  const PenaltySpec& pen = problem.penalty;
  const double bound = std::max(0.0, 2 * pen.l1_weight - *problem.previous_l1_weight);
  if (pen.grouped) {
    std::vector<char> active = nonzero_blocks(pen, z);
    std::vector<double> weight;
    const std::vector<std::vector<Index>> blocks = pen.blocks(z.rows(), weight);
    for (std::size_t b = 0; b < blocks.size(); ++b)
      if (const double push = weight[b] > 0 ? pen.block_dual(grad, blocks[b]) : 0.0; push > 0 && push >= bound * weight[b])
        active[b] = 1;
    return polish_blocks(problem, std::move(active), z, settings, comm);
  }
  Signs sign = sign_pattern(pen, z);
  if (pen.l1_weight > 0) {
    for (Eigen::Index t = 0; t < sign.cols(); ++t)
      for (Eigen::Index j = 0; j < sign.rows(); ++j)
        if (const double push = pen.movable(j, grad(j, t)); sign(j, t) == 0 && push > 0 && push >= bound * pen.weight(j))
          sign(j, t) = grad(j, t) > 0 ? 1 : -1;
  }
  return polish(problem, sign, z, settings, comm);
}

}  // namespace cadmm
