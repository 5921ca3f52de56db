#pragma once
// Type-II Anderson acceleration (Walker & Ni 2011) of a fixed-point map s -> T(s) whose vector is spread
// over the ranks: each rank holds a local part, and inner products are sums of local dot products, which
// the caller reduces together with its own scalars so the acceleration costs no extra collective call.
#include "cadmm/types.hpp"

namespace cadmm {

class Anderson {
 public:
  /// memory: number of past differences kept; size: length of this rank's part of the vector.
  Anderson(int memory, Eigen::Index size);
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
  int memory_;
  int count_ = 0;   // valid columns
  int newest_ = -1; // ring position of the newest column
  bool has_prev_ = false;
  Vector f_prev_, g_prev_, f_, g_;
  Matrix dg_, df_;  // ring buffers of differences, size x memory
};

}  // namespace cadmm
