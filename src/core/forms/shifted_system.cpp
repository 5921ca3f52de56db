// Lazy shifted solves (src/core/forms/shifted_system.hpp).
#include "core/forms/shifted_system.hpp"

#include "cadmm/error.hpp"
#include "cadmm/plan.hpp"
#include "core/lapack.hpp"

namespace cadmm {

ShiftedSystem::ShiftedSystem(Matrix m) : n_(m.rows()), m_(std::move(m)) {}

Matrix ShiftedSystem::release() && {
  if (eig_.size() > 0) throw RuntimeFailure("ShiftedSystem: M was replaced by its eigenvectors");
  chol_.resize(0, 0);
  n_ = 0;
  return std::move(m_);
}

Matrix ShiftedSystem::solve(const Matrix& b, double rho) const {
  if (eig_.size() == 0 && n_ > 0 && !(chol_.size() > 0 && chol_rho_ == rho)) {
    if (log_.cholesky + 1 > kEigenOverCholesky) {
      to_eigen();
    } else {
      chol_.resize(0, 0);  // the previous factor goes first: at most one n x n factor besides M
      chol_ = m_;
      chol_.diagonal().array() += rho;
      ++log_.cholesky;
      chol_rho_ = rho;
      if (!lapack::cholesky_upper_in_place(chol_)) to_eigen();  // rounding made M + rho I indefinite: decompose
    }
  }
  if (eig_.size() == 0) {
    Matrix x = b;
    if (n_ > 0) lapack::cholesky_solve(chol_, x);
    return x;
  }
  Matrix t = m_.transpose() * b;
  t.array().colwise() /= (eig_.array() + rho);
  return m_ * t;
}

FactorLog ShiftedSystem::resumable_log(double rho) const {
  FactorLog log = log_;
  if (eig_.size() == 0 && chol_.size() > 0 && chol_rho_ == rho) --log.cholesky;
  return log;
}

void ShiftedSystem::resume(const FactorLog& log) const {
  log_.cholesky = log.cholesky;
  if (log.eigen > 0 && eig_.size() == 0 && n_ > 0) to_eigen();
}

void ShiftedSystem::to_eigen() const {
  chol_.resize(0, 0);
  lapack::symmetric_eigen_in_place(m_, eig_);  // in place: the eigenvectors take M's memory
  eig_ = eig_.cwiseMax(0.0);                   // M is PSD; drop rounding noise below zero
  log_.eigen = true;
}

Matrix ShiftedSystem::times(const Matrix& z) const {
  if (eig_.size() > 0) {
    Matrix t = m_.transpose() * z;
    t.array().colwise() *= eig_.array();
    return m_ * t;
  }
  std::vector<Eigen::Index> support;
  for (Eigen::Index j = 0; j < z.rows(); ++j)
    if (!z.row(j).isZero()) support.push_back(j);
  if (static_cast<Eigen::Index>(support.size()) == n_) return m_ * z;
  // Column by column: contiguous axpys (Eigen's product over an indexed view of the columns does not vectorize).
  Matrix out = Matrix::Zero(n_, z.cols());
  for (Eigen::Index j : support) out.noalias() += m_.col(j) * z.row(j);
  return out;
}

Matrix ShiftedSystem::block(const std::vector<Eigen::Index>& rows, const std::vector<Eigen::Index>& cols) const {
  if (eig_.size() == 0) return m_(rows, cols);
  const Matrix v = m_(rows, Eigen::all), w = m_(cols, Eigen::all);
  return v * eig_.asDiagonal() * w.transpose();
}

}  // namespace cadmm
