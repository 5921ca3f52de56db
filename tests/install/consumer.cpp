// Solves a ridge problem in memory with the installed library and checks it against the closed form.
#include <cadmm/drive.hpp>
#include <cstdio>

int main() {
  const int n = 200, d = 6;
  cadmm::RowMatrix x = cadmm::RowMatrix::Random(n, d), y(n, 1);
  y.col(0) = x * Eigen::VectorXd::LinSpaced(d, -1, 1) + Eigen::VectorXd::Constant(n, 3.0);
  cadmm::ProblemSpec spec;
  spec.penalty = cadmm::Penalty::l2;
  cadmm::SerialCommunicator comm;
  const cadmm::FitResult r = cadmm::fit(x, y, spec, cadmm::LambdaRequest::absolute(0.1), comm);

  const Eigen::MatrixXd xc = x.rowwise() - x.colwise().mean();
  const Eigen::MatrixXd yc = y.rowwise() - y.colwise().mean();
  Eigen::MatrixXd h = xc.transpose() * xc / n;
  h.diagonal().array() += 0.1;
  const Eigen::MatrixXd ref = h.ldlt().solve(xc.transpose() * yc / n);
  const double err = (r.coef - ref).cwiseAbs().maxCoeff() / ref.cwiseAbs().maxCoeff();
  std::printf("status %s, iterations %d, max relative coefficient error %.2e\n",
              cadmm::to_string(r.admm.status).c_str(), r.admm.state.iteration, err);

  // The path driver as the README shows it: ridge at lambda_max * 1e-2 (the grid's last) equals the closed form.
  const cadmm::Model model = cadmm::make_model(x, y, spec, comm);
  const cadmm::Lambdas grid = cadmm::Lambdas::resolve(cadmm::LambdaRequest::grid(10, 1e-2), cadmm::lambda_max(model));
  const cadmm::PathResult path = cadmm::drive_path(model, grid, cadmm::SolverSettings{}, false, comm);
  Eigen::MatrixXd hp = xc.transpose() * xc / n;
  hp.diagonal().array() += grid.values.back();
  const Eigen::MatrixXd path_ref = hp.ldlt().solve(xc.transpose() * yc / n);
  const double path_err = (path.fits.back().coef - path_ref).cwiseAbs().maxCoeff() / path_ref.cwiseAbs().maxCoeff();
  std::printf("path: %zu fits, last lambda %.4g, max relative coefficient error %.2e\n", path.fits.size(),
              path.fits.back().lambda, path_err);
  return r.admm.status == cadmm::Status::converged && err < 1e-6 && path.fits.size() == 10 && path_err < 1e-6 ? 0 : 1;
}
