#pragma once
// The loop's state between iterations (private to cadmm: library users hold it only through AdmmState::loop), and
// the one description of its fields that checkpoints store, hash and broadcast, so no other file lists them.
#include <type_traits>

#include "cadmm/admm.hpp"

namespace cadmm {

/// Anderson acceleration's memory of past steps of the map (z, u) -> (z+, u+), this rank's part of each vector.
struct AndersonHistory {
  int count = 0;          ///< valid columns of dg and df
  int newest = -1;        ///< ring position of the newest column
  bool has_prev = false;  ///< f_prev and g_prev hold the previous step
  Vector f_prev, g_prev;  ///< previous map output and fixed-point residual
  Matrix dg, df;          ///< ring buffers of differences of residuals and outputs, size x memory
};

/// Everything the next iteration reads besides (z, u, rho, iteration). Restored from a checkpoint of the same
/// rank count, the loop takes exactly the iterations the uninterrupted run would have taken, bit for bit.
struct LoopState {
  /// The iteration this solve started at (the objective is evaluated there); 0: the solve had not begun (a path
  /// stopped between lambdas), so a resume starts it from (z, u, rho) as a warm start.
  int first_iteration = 1;
  Matrix x;                      ///< this rank's local iterate: the warm start of an iterative local solve
  double solve_tol = 1e-4;       ///< relative tolerance of an iterative local solve (replicated)
  int last_adapt = 0;            ///< iteration of the last rho change
  double r_norm = 0, s_norm = 0; ///< residuals of the last iteration
  double best_r = 0;             ///< smallest primal residual so far, floored by the iterate's scale (divergence)
  AndersonHistory anderson;      ///< acceleration memory (empty without acceleration)
  bool trial = false;            ///< (z, u) is an extrapolated point on probation
  double residual_before_trial = 0;  ///< fixed-point residual the trial must not exceed
  Vector plain;                  ///< this rank's part of the plain ADMM iterate the trial replaced
  Eigen::ArrayXXi pattern, tried;    ///< polishing: sign pattern of z, and the last one tried
  int pattern_age = 0, last_try = 0, retry_every = 100;  ///< polishing schedule
  /// This rank's LocalSolver::resumable_factorizations (Choleskys, eigendecompositions): a resume restores them.
  Vector factors = Vector::Zero(2);
  /// The working-set forms' kept Hessian columns (LocalSolver::columns_log; the same on every rank): a resume replays
  /// them. Empty in the other forms.
  std::vector<double> columns;
};

/// What a checkpoint keeps of the local solver's factorizations and columns (LoopState::factors, columns), and its
/// resume.
inline void note_factors(LoopState& l, const LocalSolver& local, double rho) {
  const FactorLog f = local.resumable_factorizations(rho);
  l.factors << f.cholesky, f.eigen;
  l.columns = local.columns_log();
}
inline void resume_factors(const LoopState& l, const LocalSolver& local) {
  local.resume_factorizations(FactorLog{static_cast<int>(l.factors[0]), static_cast<int>(l.factors[1])});
  local.replay_columns(l.columns);
}

/// A complete state (loop state included) of a d x k solve with this Anderson memory, every array sized as the
/// loop sizes it (zero), so a checkpoint of any iteration has the same layout.
inline AdmmState sized_state(Eigen::Index d, Eigen::Index k, Eigen::Index memory) {
  AdmmState st;
  st.z = st.u = Matrix::Zero(d, k);
  LoopState& l = st.loop.emplace();
  l.x = Matrix::Zero(d, k);
  const Eigen::Index n = memory > 0 ? 2 * d * k : 0;
  l.anderson.f_prev = l.anderson.g_prev = l.plain = Vector::Zero(n);
  l.anderson.dg = l.anderson.df = Matrix::Zero(n, memory);
  return st;
}

/// warm (z, u, rho) as the state of a solve that has not begun (first_iteration 0, no history): what a checkpoint
/// holds for a lambda a signal stopped before its ADMM loop, so that its resume starts it from warm, as the
/// uninterrupted run did.
inline AdmmState not_begun(const AdmmState& warm) {
  AdmmState st = warm;
  st.iteration = 0;
  AdmmState shape = sized_state(warm.z.rows(), warm.z.cols(), 0);
  shape.loop->first_iteration = 0;
  st.loop = std::move(shape.loop);
  return st;
}

/// The replicated scalars of a complete state (AdmmState or const AdmmState with a loop state), in the one order
/// checkpoints store, hash and broadcast them: f(name, value) with value a double, int or bool lvalue.
template <class State, class F>
void visit_scalars(State& st, F&& f) {
  auto& l = *st.loop;
  auto& a = l.anderson;
  f("iteration", st.iteration), f("rho", st.rho), f("first_iteration", l.first_iteration);
  f("solve_tol", l.solve_tol), f("last_adapt", l.last_adapt), f("r_norm", l.r_norm), f("s_norm", l.s_norm);
  f("best_r", l.best_r), f("anderson_count", a.count), f("anderson_newest", a.newest);
  f("anderson_has_prev", a.has_prev), f("trial", l.trial), f("residual_before_trial", l.residual_before_trial);
  f("pattern_age", l.pattern_age), f("last_try", l.last_try), f("retry_every", l.retry_every);
}

/// This rank's own arrays of a complete state (u and the loop's vectors), in the one order: f(name, data, size),
/// data a double* (const double* for a const state).
template <class State, class F>
void visit_rank_arrays(State& st, F&& f) {
  auto& l = *st.loop;
  auto& a = l.anderson;
  f("rank/u", st.u.data(), st.u.size()), f("rank/x", l.x.data(), l.x.size());
  f("rank/anderson_f_prev", a.f_prev.data(), a.f_prev.size());
  f("rank/anderson_g_prev", a.g_prev.data(), a.g_prev.size());
  f("rank/anderson_dg", a.dg.data(), a.dg.size()), f("rank/anderson_df", a.df.data(), a.df.size());
  f("rank/plain", l.plain.data(), l.plain.size());
  f("rank/factors", l.factors.data(), l.factors.size());
}

/// The replicated integer arrays of a complete state (the polishing patterns): f(name, array).
template <class State, class F>
void visit_patterns(State& st, F&& f) {
  f("pattern", st.loop->pattern), f("tried", st.loop->tried);
}

}  // namespace cadmm
