#pragma once
/// \file Consensus ADMM (Boyd et al. 2011, sections 7.1 and 8.2) over a LocalSolver and a Communicator.
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cadmm/communicator.hpp"
#include "cadmm/local_solver.hpp"
#include "cadmm/penalty.hpp"
#include "cadmm/plan.hpp"
#include "cadmm/settings.hpp"

namespace cadmm {

/// How a solve ended; reaching max_iter is an outcome, not an error.
enum class Status { converged, max_iter, diverged, interrupted };
/// "converged", "max_iter", "diverged" or "interrupted".
std::string to_string(Status s);

/// One row of /history.
struct IterationRecord {
  int iteration = 0;      ///< 1-based
  double r_norm = 0;      ///< primal residual, Boyd et al. (7.8)
  double s_norm = 0;      ///< dual residual, Boyd et al. (7.8)
  double eps_pri = 0;     ///< primal threshold, Boyd et al. (3.12)
  double eps_dual = 0;    ///< dual threshold, Boyd et al. (3.12)
  double rho = 0;         ///< rho used in this iteration
  double objective = 0;   ///< objective at z, NaN where not computed
  double gap = 0;         ///< duality gap at z, NaN where not computed
  double seconds = 0;     ///< elapsed since the loop started
};

/// Everything the next iteration reads besides (z, u, rho, iteration): Anderson history, trial point, rho and
/// polishing schedule, the local warm start (src/core/solve/loop_state.hpp; opaque to library users).
struct LoopState;

/// An owning, copyable handle to an object of a type this header leaves undefined (the loop state): copies are
/// deep, so a saved state never changes with the solve that goes on.
template <class T>
class Opaque {
 public:
  Opaque() = default;
  Opaque(const Opaque& o) : p_(o.p_ ? o.clone_(o.p_) : nullptr), clone_(o.clone_), drop_(o.drop_) {}
  Opaque(Opaque&& o) noexcept : p_(o.p_), clone_(o.clone_), drop_(o.drop_) { o.p_ = nullptr; }
  Opaque& operator=(Opaque o) noexcept {
    std::swap(p_, o.p_), std::swap(clone_, o.clone_), std::swap(drop_, o.drop_);
    return *this;
  }
  ~Opaque() { reset(); }
  /// Makes a T from args (where T is defined), replacing any held one.
  template <class... A>
  T& emplace(A&&... args) {
    reset();
    p_ = new T(std::forward<A>(args)...);
    clone_ = [](const T* t) { return new T(*t); };
    drop_ = [](T* t) { delete t; };
    return *p_;
  }
  /// Drops the held object.
  void reset() {
    if (p_) drop_(p_);
    p_ = nullptr;
  }
  /// True when an object is held.
  explicit operator bool() const { return p_ != nullptr; }
  /// The held object (const through a const handle: copies are deep, so constness is too).
  T& operator*() { return *p_; }
  /// The same, read-only.
  const T& operator*() const { return *p_; }
  /// The held object.
  T* operator->() { return p_; }
  /// The same, read-only.
  const T* operator->() const { return p_; }

 private:
  T* p_ = nullptr;
  T* (*clone_)(const T*) = nullptr;
  void (*drop_)(T*) = nullptr;
};

/// The iterate that warm starts or resumes a solve: z is global (identical on all ranks), u is this rank's.
struct AdmmState {
  Matrix z;        ///< consensus variable, d x k
  Matrix u;        ///< this rank's scaled dual variable, d x k
  double rho = 0;  ///< penalty parameter the scaled u belongs to
  int iteration = 0;  ///< iterations done so far
  /// Set in a checkpoint (and in an interrupted result): the solve resumes exactly instead of warm starting.
  Opaque<LoopState> loop;
};

/// Objective and duality gap at a point (both with the 1/(2n) loss scaling).
struct Optimality {
  double objective = 0;  ///< 1/(2n) ||Y - X W||^2 + lambda P(W) on the centered data
  double rss = 0;        ///< ||Y - X W||^2 / n on the centered data (the deviance)
  double gap = 0;        ///< primal minus the best dual value found: an upper bound on the objective's error
};

/// Outcome of a solve.
struct AdmmResult {
  AdmmState state;   ///< final iterate (z is the solution); its loop state is kept only when interrupted
  Status status = Status::max_iter;
  bool polished = false;  ///< z is the polished point (certified by the duality gap), not an ADMM iterate
  bool descended = false;  ///< z came from coordinate descent (a warm pattern too large to polish), certified alike
  int working_set = 0;     ///< features in the final working set (0: the solve ran on all features)
  int working_set_rounds = 0;  ///< working sets solved (each one ADMM solve plus one full KKT check)
  int sweeps = 0;              ///< coordinate-descent sweeps (descended)
  FactorLog factors;           ///< the factorizations this solve made (its working sets' included)
  double r_norm = 0, s_norm = 0;  ///< residuals of the last iteration
  Optimality optimality;          ///< objective and duality gap at state.z
  std::vector<IterationRecord> history;  ///< one record per iteration
};

/// Hooks into the loop: progress for printing, checkpoint every checkpoint_every iterations.
struct AdmmObserver {
  std::function<void(const IterationRecord&)> progress;            ///< called on every iteration
  /// Collective, called on every rank at the end of an iteration with the complete state (loop included).
  std::function<void(const AdmmState&)> checkpoint;
  /// Called on every rank before each iteration's local work; whatever it throws ends the solve on every rank
  /// (a test hook injects faults here).
  std::function<void(int iteration, AdmmState&)> before_step;
  int checkpoint_every = 0;                                        ///< 0 disables checkpoints
  std::function<bool()> stop_requested;  ///< local (e.g. a signal arrived); the loop makes it collective
};

struct PolishMemory;

/// Problem-wide facts the loop needs besides the local term.
struct AdmmProblem {
  const LocalSolver* local = nullptr;  ///< this rank's term (no rows: takes no part in the average)
  PenaltySpec penalty;                 ///< lambda * P
  int active_ranks = 1;                ///< number of ranks with rows (N in Boyd et al.)
  double rho_auto = 1;                 ///< initial rho when Settings::rho is unset
  /// Set when the warm start solved a neighbouring lambda (a path): its l1 weight, for the sequential strong
  /// rule; the warm start's sign pattern is then polished before the first iteration.
  std::optional<double> previous_l1_weight;
  /// Largest active set per target that polishing takes (the same on every rank): kMaxPolishActive, or
  /// kMaxPolishHeld where every rank with rows holds its Hessian.
  Eigen::Index max_polish = kMaxPolishActive;
  /// Features whose local terms are at hand on every rank (the streamed form's columns fetched with the sums): a
  /// working set starting from zero takes the violators among them, so its first round reads nothing again.
  std::vector<Eigen::Index> first_set;
  /// Set by a path over its model's lambdas: polishing keeps its reduced Hessian blocks and their factors from one
  /// lambda to the next (src/core/solve/polish.hpp); unset, every polish starts from nothing.
  PolishMemory* polish_memory = nullptr;
  /// Every rank's term gives its rows' sparse columns (the cg form): a warm start whose pattern is too large to
  /// polish is solved by coordinate descent over features spread across the ranks (src/core/solve/coordinate.hpp).
  bool columns = false;
};

/// Objective and duality gap at z; collective. grad, when given, receives X^T R / n (global).
Optimality evaluate(const AdmmProblem& problem, const Matrix& z, Communicator& comm, Matrix* grad = nullptr);

/// Objective and duality gap of lambda P at z from the global grad = X^T R / n, rss = ||R||^2 / n and ry = <R, y> / n
/// (R the residual at z): what evaluate() computes after its reduction; local.
Optimality optimality_at(const PenaltySpec& pen, const Matrix& z, const Matrix& grad, double rss, double ry);

/// Runs consensus ADMM from warm (or from zero); collective, identical decisions on every rank.
AdmmResult admm_solve(const AdmmProblem& problem, const SolverSettings& settings, Communicator& comm,
                      const AdmmState* warm = nullptr, const AdmmObserver& observer = {});

/// The same problem (with an l1 part) solved over working sets: ADMM on the features that can be active only
/// (each rank's Gram of the set: rows |W|^2 flops instead of rows d^2), then one full gradient X^T R checks the
/// KKT conditions of every feature left out, and the most violating join the set until none does. The result is
/// the full problem's, certified by its duality gap. Collective; the state it returns is full-sized, and an
/// interrupted solve's loop state is not kept (checkpointed runs use admm_solve).
AdmmResult working_set_solve(const AdmmProblem& problem, const SolverSettings& settings, Communicator& comm,
                             const AdmmState* warm = nullptr, const AdmmObserver& observer = {});

}  // namespace cadmm
