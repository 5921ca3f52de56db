#pragma once
// What the screened and streamed solvers share (src/core/forms/screened.cpp, streamed.cpp).
#include <memory>
#include <vector>

#include "cadmm/local_solver.hpp"

namespace cadmm {

// The forms that form Grams of feature subsets on demand (restricted): a solve on every feature (ridge, or a
// working set grown to all) forms the full one once, on first use, and is then the plain Gram form.
class SubsetGramSolver : public LocalSolver {
 public:
  void solve(const Matrix& rhs, double rho, Matrix& x, double tol) const final {
    if (!full_) {
      std::vector<Eigen::Index> all(static_cast<std::size_t>(q().rows()));
      for (Eigen::Index j = 0; j < q().rows(); ++j) all[static_cast<std::size_t>(j)] = j;
      full_ = restricted(all);
    }
    full_->solve(rhs, rho, x, tol);
  }

 private:
  mutable std::unique_ptr<LocalSolver> full_;
};

}  // namespace cadmm
