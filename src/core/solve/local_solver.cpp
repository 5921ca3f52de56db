// What every local solver shares (include/cadmm/local_solver.hpp); each form's solver lives beside its
// accumulator in src/core/forms/.
#include "cadmm/local_solver.hpp"

#include <algorithm>

#include "cadmm/error.hpp"

namespace cadmm {

Matrix LocalSolver::hessian_columns(const std::vector<Eigen::Index>& rows, const std::vector<Eigen::Index>& cols) const {
  std::vector<Eigen::Index> both = rows, at_rows(rows.size()), at_cols;
  for (std::size_t i = 0; i < rows.size(); ++i) at_rows[i] = static_cast<Eigen::Index>(i);
  for (Eigen::Index j : cols) {
    const auto it = std::find(rows.begin(), rows.end(), j);
    at_cols.push_back(it != rows.end() ? it - rows.begin() : static_cast<Eigen::Index>(both.size()));
    if (it == rows.end()) both.push_back(j);
  }
  return hessian_block(both)(at_rows, at_cols);
}

std::unique_ptr<LocalSolver> LocalSolver::restricted(const std::vector<Eigen::Index>& features) const {
  return make_gram_solver(hessian_block(features), q()(features, Eigen::all), b_squares(), rows());
}

Matrix LocalSolver::residual(const Matrix&) const {
  throw RuntimeFailure("LocalSolver: only a term with sparse columns gives its residual");
}

std::unique_ptr<LocalSolver> LocalSolver::summed_to(int, Communicator&) && {
  throw RuntimeFailure("LocalSolver: only the Gram form's terms are summed over the ranks");
}

}  // namespace cadmm
