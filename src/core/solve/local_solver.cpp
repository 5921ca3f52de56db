// What every local solver shares (include/cadmm/local_solver.hpp); each form's solver lives beside its
// accumulator in src/core/forms/.
#include "cadmm/local_solver.hpp"

namespace cadmm {

std::unique_ptr<LocalSolver> LocalSolver::restricted(const std::vector<Eigen::Index>& features) const {
  return make_gram_solver(hessian_block(features), q()(features, Eigen::all), b_squares(), rows());
}

}  // namespace cadmm
