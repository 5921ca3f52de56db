#include "io/result_writer.hpp"

#include "cadmm/error.hpp"
#include "cadmm/version.hpp"
#include "io/hdf5_util.hpp"

namespace cadmm::io {

namespace {

// One record per iteration with named fields (h5py reads a structured array).
Handle history_type() {
  Handle type(H5Tcreate(H5T_COMPOUND, sizeof(IterationRecord)), H5Tclose);
  H5Tinsert(type.get(), "iteration", HOFFSET(IterationRecord, iteration), H5T_NATIVE_INT);
  H5Tinsert(type.get(), "r_norm", HOFFSET(IterationRecord, r_norm), H5T_NATIVE_DOUBLE);
  H5Tinsert(type.get(), "s_norm", HOFFSET(IterationRecord, s_norm), H5T_NATIVE_DOUBLE);
  H5Tinsert(type.get(), "eps_pri", HOFFSET(IterationRecord, eps_pri), H5T_NATIVE_DOUBLE);
  H5Tinsert(type.get(), "eps_dual", HOFFSET(IterationRecord, eps_dual), H5T_NATIVE_DOUBLE);
  H5Tinsert(type.get(), "rho", HOFFSET(IterationRecord, rho), H5T_NATIVE_DOUBLE);
  H5Tinsert(type.get(), "objective", HOFFSET(IterationRecord, objective), H5T_NATIVE_DOUBLE);
  H5Tinsert(type.get(), "gap", HOFFSET(IterationRecord, gap), H5T_NATIVE_DOUBLE);
  H5Tinsert(type.get(), "seconds", HOFFSET(IterationRecord, seconds), H5T_NATIVE_DOUBLE);
  return type;
}

}  // namespace

void write_history(AtomicH5File& f, const std::vector<IterationRecord>& h, const std::string& path) {
  Handle type = history_type();
  hsize_t n = h.size();
  Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  Handle ds(H5Dcreate2(f.get(), "history", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  if (!ds.valid() || (n > 0 && H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, h.data()) < 0))
    throw RuntimeFailure("writing /history to '" + path + "' failed");
}

std::vector<IterationRecord> read_history(hid_t file, const std::string& path) {
  Handle ds(H5Dopen2(file, "history", H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) throw DataError("'" + path + "' has no /history");
  const auto shape = dataset_shape(ds.get());
  std::vector<IterationRecord> h(shape.empty() ? 0 : static_cast<std::size_t>(shape[0]));
  Handle type = history_type();
  if (!h.empty() && H5Dread(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, h.data()) < 0)
    throw DataError("cannot read /history of '" + path + "'");
  return h;
}

void write_result(const std::string& path, const FitResult& fit, const RunFacts& facts) {
  AtomicH5File f(path);
  const std::int64_t d = fit.coef.rows(), k = fit.coef.cols();
  const RowMatrix coef = fit.coef;  // HDF5 is row-major
  if (facts.y_is_1d) {
    f.write_dataset("coef", {d}, coef.data());
    f.write_dataset("intercept", {}, fit.intercept.data());
  } else {
    f.write_dataset("coef", {d, k}, coef.data());
    f.write_dataset("intercept", {k}, fit.intercept.data());
  }
  write_history(f, fit.admm.history, path);

  const Settings& s = facts.settings;
  const AdmmResult& a = fit.admm;
  f.attribute("penalty", to_string(s.penalty));
  f.attribute("lambda", fit.lambda);
  f.attribute("lambda_max", fit.lambda_max);
  f.attribute("l1_ratio", fit.l1_ratio);
  f.attribute("objective", a.optimality.objective);
  f.attribute("duality_gap", a.optimality.gap);
  f.attribute("iterations", static_cast<std::int64_t>(a.state.iteration));
  f.attribute("converged", static_cast<std::int64_t>(a.status == Status::converged));
  f.attribute("status", to_string(a.status));
  f.attribute("polished", static_cast<std::int64_t>(a.polished));
  f.attribute("primal_residual", a.r_norm);
  f.attribute("dual_residual", a.s_norm);
  f.attribute("rho", a.state.rho);
  f.attribute("n_ranks", static_cast<std::int64_t>(facts.n_ranks));
  f.attribute("n_rows", facts.n_rows);
  f.attribute("n_features", facts.n_features);
  f.attribute("n_targets", facts.n_targets);
  f.attribute("fit_intercept", static_cast<std::int64_t>(s.fit_intercept));
  f.attribute("standardize", static_cast<std::int64_t>(s.standardize));
  f.attribute("solve_seconds", facts.solve_seconds);
  f.attribute("version", std::string(version()));
  f.commit();
}

}  // namespace cadmm::io
