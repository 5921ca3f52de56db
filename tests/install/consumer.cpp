// Solves a ridge problem in memory with the installed library and checks it against the closed form.
#include <cadmm/fit.hpp>
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
  return r.admm.status == cadmm::Status::converged && err < 1e-6 ? 0 : 1;
}
