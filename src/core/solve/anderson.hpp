#pragma once
// Type-II Anderson acceleration (Walker & Ni 2011) of a fixed-point map s -> T(s) whose vector is spread
// over the ranks: each rank holds a local part, and inner products are sums of local dot products, which
// the caller reduces together with its own scalars so the acceleration costs no extra collective call.
#include "core/solve/loop_state.hpp"

namespace cadmm {

/// Works on a history it does not own (it lives in the loop state, so a checkpoint holds it).
class Anderson {
 public:
  /// Uses h, made empty for this memory and size unless it already has those dimensions.
  Anderson(AndersonHistory& h, int memory, Eigen::Index size);
  /// Forgets the history (after the map changed, e.g. a new rho).
  void reset();
  /// Records the output f = T(s) for the input s; afterwards local_products() describes this step.
  void record(const Vector& s, const Vector& f);
  /// Number of doubles local_products() writes.
  int products_size() const { return memory_ * memory_ + memory_ + 1; }
  /// Writes this rank's share of dG^T dG (memory^2), dG^T g (memory) and ||g||^2, to be summed over ranks.
  void local_products(double* out) const;
  /// ||g||^2 summed over ranks, from the reduced products.
  double residual_squared(const double* reduced) const { return reduced[memory_ * memory_ + memory_]; }
  /// From the reduced products, writes the extrapolated next input into next; false (next untouched) when
  /// there is no history yet or the least-squares problem is degenerate.
  bool extrapolate(const double* reduced, Vector& next) const;

 private:
  AndersonHistory& h_;
  int memory_;
  Vector f_, g_;  // this step's output and residual (scratch within one iteration)
};

}  // namespace cadmm
