#include "io/result_writer.hpp"

#include <cerrno>

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
  errno = 0;
  Handle ds(H5Dcreate2(f.get(), "history", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  if (!ds.valid() || (n > 0 && H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, h.data()) < 0))
    throw RuntimeFailure("writing /history to '" + path + "' failed" + disk_reason(path));
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

namespace {

// Coefficient arrays as docs/spec.md writes them: (d,) for a 1-D y, else (d, k); stacked fits get a leading axis.
std::vector<std::int64_t> coef_shape(std::int64_t m, std::int64_t d, std::int64_t k, bool y_1d) {
  std::vector<std::int64_t> s;
  if (m >= 0) s.push_back(m);
  s.push_back(d);
  if (!y_1d) s.push_back(k);
  return s;
}

// Stacked fits' coefficients and intercepts as /GROUP/coef, (m, d) or (m, d, k), and /GROUP/intercept.
void write_stacked(AtomicH5File& f, const std::string& group, const std::vector<FitResult>& fits, bool y_1d) {
  const std::int64_t m = static_cast<std::int64_t>(fits.size());
  const std::int64_t d = fits.front().coef.rows(), k = fits.front().coef.cols();
  std::vector<double> coef, intercept;
  for (const FitResult& r : fits) {
    const RowMatrix c = r.coef;  // row-major (d, k)
    coef.insert(coef.end(), c.data(), c.data() + c.size());
    intercept.insert(intercept.end(), r.intercept.data(), r.intercept.data() + r.intercept.size());
  }
  f.write_dataset(group + "/coef", coef_shape(m, d, k, y_1d), coef.data());
  f.write_dataset(group + "/intercept", y_1d ? std::vector<std::int64_t>{m} : std::vector<std::int64_t>{m, k},
                  intercept.data());
}

void write_path(AtomicH5File& f, const PathResult& path, bool y_1d) {
  const std::size_t m = path.fits.size();
  std::vector<double> lambda, objective, gap;
  std::vector<std::int64_t> iterations, nonzero, converged;  // counts and flags as integers
  for (const FitResult& r : path.fits) {
    lambda.push_back(r.lambda);
    iterations.push_back(r.admm.state.iteration);
    objective.push_back(r.admm.optimality.objective);
    gap.push_back(r.admm.optimality.gap);
    nonzero.push_back(static_cast<std::int64_t>((r.coef.array() != 0).count()));
    converged.push_back(r.admm.status == Status::converged ? 1 : 0);
  }
  const std::int64_t mm = static_cast<std::int64_t>(m);
  f.write_dataset("path/lambda", {mm}, lambda.data());
  write_stacked(f, "path", path.fits, y_1d);
  // glmnet's relaxed fits (path --relax): predict --gamma blends them with the fits.
  if (!path.relaxed.empty()) write_stacked(f, "path/relaxed", path.relaxed, y_1d);
  f.write_dataset("path/iterations", {mm}, iterations.data());
  f.write_dataset("path/objective", {mm}, objective.data());
  f.write_dataset("path/duality_gap", {mm}, gap.data());
  f.write_dataset("path/dev_ratio", {mm}, path.dev_ratio.data());
  f.write_dataset("path/nonzero", {mm}, nonzero.data());
  f.write_dataset("path/converged", {mm}, converged.data());
  f.attribute("stopped_early", static_cast<std::int64_t>(path.stopped_early), "/path");
}

void write_cv(AtomicH5File& f, const CvResult& cv, const ResultExtras& x) {
  const std::int64_t m = static_cast<std::int64_t>(cv.lambdas.size()), folds = cv.mse.rows();
  const RowMatrix mse = cv.mse;
  const double lmin = cv.lambdas[cv.index_min], l1se = cv.lambdas[cv.index_1se];
  f.write_dataset("cv/lambda", {m}, cv.lambdas.data());
  f.write_dataset("cv/mse_mean", {m}, cv.mse_mean.data());
  f.write_dataset("cv/mse_std", {m}, cv.mse_std.data());
  f.write_dataset("cv/mse", {folds, m}, mse.data());
  f.write_dataset("cv/fold_rows", {folds}, cv.fold_rows.data());
  if (x.folds)  // every row's fold, 1-based: cv.glmnet's foldid =, scikit-learn's PredefinedSplit(foldid - 1)
    f.write_labels("cv/foldid", x.folds->rows(), x.folds->folds(), [&](std::int64_t b, std::int64_t e, std::int32_t* out) {
      for (std::int64_t r = b; r < e; ++r) out[r - b] = x.folds->fold(r) + 1;
    });
  if (x.path) {  // glmnet's nzero: the nonzero coefficients of the full data's fit at each lambda
    std::vector<std::int64_t> nonzero;
    for (const FitResult& r : x.path->fits) nonzero.push_back(static_cast<std::int64_t>((r.coef.array() != 0).count()));
    f.write_dataset("cv/nonzero", {m}, nonzero.data());
  }
  f.write_dataset("cv/lambda_min", {}, &lmin);
  f.write_dataset("cv/lambda_1se", {}, &l1se);
  f.attribute("folds", folds, "/cv");
  f.attribute("refit", x.cv_refit, "/cv");
  f.attribute("folds_from", x.cv_folds_from, "/cv");
  f.attribute("data_passes", static_cast<std::int64_t>(cv.data_passes), "/cv");
  if (!cv.gammas.empty()) {
    const std::int64_t g = static_cast<std::int64_t>(cv.gammas.size());
    const RowMatrix mean = cv.relaxed_mean, sd = cv.relaxed_std;
    f.write_dataset("cv/relaxed/gamma", {g}, cv.gammas.data());
    f.write_dataset("cv/relaxed/mse_mean", {g, m}, mean.data());
    f.write_dataset("cv/relaxed/mse_std", {g, m}, sd.data());
    for (const auto& [name, pair] : {std::pair{"min", cv.relaxed_min}, {"1se", cv.relaxed_1se}}) {
      f.write_dataset(std::string("cv/relaxed/gamma_") + name, {}, &cv.gammas[pair.first]);
      f.write_dataset(std::string("cv/relaxed/lambda_") + name, {}, &cv.lambdas[pair.second]);
    }
  }
}

}  // namespace

void write_cv_fold(const std::string& path, const CvResult& cv, int fold, const std::string& key) {
  AtomicH5File f(path);
  const std::int64_t m = static_cast<std::int64_t>(cv.lambdas.size()), folds = cv.mse.rows();
  const Vector mse = cv.mse.row(fold).transpose();
  f.write_dataset("cv/lambda", {m}, cv.lambdas.data());
  f.write_dataset("cv/mse", {1, m}, mse.data());
  f.write_dataset("cv/fold_rows", {folds}, cv.fold_rows.data());
  if (!cv.gammas.empty()) {
    const std::int64_t g = static_cast<std::int64_t>(cv.gammas.size());
    RowMatrix relaxed(g, m);
    for (std::int64_t i = 0; i < g; ++i) relaxed.row(i) = cv.relaxed_mse[static_cast<std::size_t>(i)].row(fold);
    f.write_dataset("cv/relaxed/gamma", {g}, cv.gammas.data());
    f.write_dataset("cv/relaxed/mse", {g, m}, relaxed.data());
  }
  f.attribute("command", std::string("cv-fold"));
  f.attribute("fold", static_cast<std::int64_t>(fold + 1));
  f.attribute("folds", folds);
  f.attribute("key", key);
  f.attribute("version", std::string(version()));
  f.commit();
}

CvFoldFile read_cv_fold(const std::string& path) {
  Handle file = open_file_read(path, MPI_COMM_NULL, "fold file");
  Handle root(H5Gopen2(file.get(), "/", H5P_DEFAULT), H5Gclose);
  if (read_string_attribute(root.get(), "command") != "cv-fold")
    throw DataError("'" + path + "' is not a fold file of `cadmm cv --fold`");
  CvFoldFile c;
  double fold = 0, folds = 0;
  if (!read_number_attribute(root.get(), "fold", fold) || !read_number_attribute(root.get(), "folds", folds))
    throw DataError("fold file '" + path + "' lacks its fold number");
  c.fold = static_cast<int>(fold) - 1;
  c.key = read_string_attribute(root.get(), "key");
  std::vector<std::int64_t> shape;
  c.lambdas = read_doubles(file.get(), "cv/lambda", shape, "fold file", path);
  const std::vector<double> mse = read_doubles(file.get(), "cv/mse", shape, "fold file", path);
  const std::vector<double> rows = read_doubles(file.get(), "cv/fold_rows", shape, "fold file", path);
  if (mse.size() != c.lambdas.size() || static_cast<double>(rows.size()) != folds || c.fold < 0 || c.fold >= folds)
    throw DataError("fold file '" + path + "' is inconsistent (sizes or fold number)");
  c.mse = Eigen::Map<const Vector>(mse.data(), static_cast<Eigen::Index>(mse.size()));
  c.fold_rows.assign(rows.begin(), rows.end());
  if (object_exists(file.get(), "cv/relaxed/mse")) {
    c.gammas = read_doubles(file.get(), "cv/relaxed/gamma", shape, "fold file", path);
    const std::vector<double> relaxed = read_doubles(file.get(), "cv/relaxed/mse", shape, "fold file", path);
    if (relaxed.size() != c.gammas.size() * c.lambdas.size())
      throw DataError("fold file '" + path + "' is inconsistent (its relaxed errors' size)");
    c.relaxed_mse = Eigen::Map<const RowMatrix>(relaxed.data(), static_cast<Eigen::Index>(c.gammas.size()),
                                                static_cast<Eigen::Index>(c.lambdas.size()));
  }
  return c;
}

void write_result(const std::string& path, const FitResult& fit, const RunFacts& facts, const ResultExtras& extras) {
  AtomicH5File f(path);
  const std::int64_t d = fit.coef.rows(), k = fit.coef.cols();
  const RowMatrix coef = fit.coef;  // HDF5 is row-major
  f.write_dataset("coef", coef_shape(-1, d, k, facts.y_is_1d), coef.data());
  if (facts.y_is_1d)
    f.write_dataset("intercept", {}, fit.intercept.data());
  else
    f.write_dataset("intercept", {k}, fit.intercept.data());
  if (extras.path) {
    std::vector<IterationRecord> all;  // every fit's iterations in turn
    for (const FitResult& r : extras.path->fits) all.insert(all.end(), r.admm.history.begin(), r.admm.history.end());
    write_history(f, all, path);
    write_path(f, *extras.path, facts.y_is_1d);
  } else {
    write_history(f, fit.admm.history, path);
  }
  if (extras.cv) write_cv(f, *extras.cv, extras);
  if (!facts.feature_names.empty()) f.write_strings("feature_names", facts.feature_names);

  const ProblemSpec& s = facts.spec;
  const AdmmResult& a = fit.admm;
  f.attribute("command", facts.command);
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
  if (s.per_feature()) f.attribute("per_feature", s.per_feature_text());
  if (!facts.offset_dataset.empty()) f.attribute("offset_dataset", facts.offset_dataset);
  if (!facts.weights_dataset.empty()) f.attribute("weights_dataset", facts.weights_dataset);
  if (!facts.data_file.empty()) f.attribute("data", facts.data_file);
  if (!facts.x_dataset.empty()) f.attribute("x_dataset", facts.x_dataset);
  if (!facts.y_dataset.empty()) f.attribute("y_dataset", facts.y_dataset);
  if (!facts.tied_columns.empty()) {
    std::vector<std::int64_t> pairs;
    for (const auto& [later, first] : facts.tied_columns) pairs.push_back(later), pairs.push_back(first);
    f.write_dataset("tied_columns", {static_cast<std::int64_t>(facts.tied_columns.size()), 2}, pairs.data());
  }
  if (extras.gamma >= 0) f.attribute("gamma", extras.gamma);
  if (extras.lambda_index >= 0) f.attribute("lambda_index", extras.lambda_index);
  f.attribute("solve_seconds", facts.solve_seconds);
  f.attribute("version", std::string(version()));
  f.commit();
}

}  // namespace cadmm::io

namespace cadmm::io {

FittedModel read_fitted_model(const std::string& path, const ModelChoice& choice) {
  Handle f = open_file_read(path, MPI_COMM_NULL, "model file (--model)");
  Handle root(H5Gopen2(f.get(), "/", H5P_DEFAULT), H5Gclose);
  FittedModel m;
  const std::string version = read_string_attribute(root.get(), "version");
  m.command = read_string_attribute(root.get(), "command");
  if (version.empty() || !object_exists(f.get(), "coef") || !object_exists(f.get(), "intercept"))
    throw DataError("model file '" + path + "' is not a cadmm result (no /coef, /intercept and version attribute)");
  if (m.command.empty()) m.command = "solve";
  m.offset_dataset = read_string_attribute(root.get(), "offset_dataset");
  m.x_dataset = read_string_attribute(root.get(), "x_dataset");
  m.y_dataset = read_string_attribute(root.get(), "y_dataset");
  if (object_exists(f.get(), "feature_names"))
    m.feature_names = read_strings(f.get(), "feature_names", "model file '" + path + "': /feature_names");
  if (!read_number_attribute(root.get(), "lambda", m.lambda)) m.lambda = 0;
  std::vector<std::int64_t> cshape, ishape;
  std::vector<double> coef = read_doubles(f.get(), "coef", cshape, "model file", path);
  std::vector<double> icpt = read_doubles(f.get(), "intercept", ishape, "model file", path);
  if (cshape.empty() || cshape.size() > 2 || (cshape.size() == 1 && !ishape.empty()) ||
      (cshape.size() == 2 && (ishape.size() != 1 || ishape[0] != cshape[1])))
    throw DataError("model file '" + path + "': /coef and /intercept have inconsistent shapes");
  m.y_is_1d = cshape.size() == 1;
  const std::int64_t d = cshape[0], k = m.y_is_1d ? 1 : cshape[1];
  if (!m.feature_names.empty() && static_cast<std::int64_t>(m.feature_names.size()) != d)
    throw DataError("model file '" + path + "': /feature_names holds " + std::to_string(m.feature_names.size()) +
                    " names but /coef has " + std::to_string(d) + " features");
  const bool chooses = choice.index >= 0 || !choice.lambda.empty() || choice.gamma >= 0;
  if (!object_exists(f.get(), "path/coef")) {
    const std::string what = "'" + path + "' is a " + m.command + " result with one model";
    if (choice.index >= 0) throw UsageError("--lambda-index: " + what + ", not a path");
    if (!choice.lambda.empty()) throw UsageError("--lambda: " + what + ", not a path");
    if (choice.gamma >= 0) throw UsageError("--gamma: " + what + "; relaxed fits come from `cadmm path --relax` or `cadmm cv --relax`");
  } else if (chooses) {
    std::vector<std::int64_t> pshape, lshape, pishape;
    const std::vector<double> lambdas = read_doubles(f.get(), "path/lambda", lshape, "model file", path);
    m.path_length = static_cast<std::int64_t>(lambdas.size());
    if (choice.index >= m.path_length)
      throw UsageError("--lambda-index: " + std::to_string(choice.index) + " is out of range: '" + path + "' holds " +
                       std::to_string(m.path_length) + " lambdas (0.." + std::to_string(m.path_length - 1) + ")");
    if (choice.gamma >= 0 && !object_exists(f.get(), "path/relaxed/coef"))
      throw UsageError("--gamma: '" + path + "' holds no relaxed fits (run `cadmm " + m.command + " --relax`)");
    // The fit: fits `left` and `right` weighed `share` and 1 - share (the same index twice for a fit of the path).
    std::int64_t left = choice.index, right = choice.index;
    double share = 1;
    double at = -1;  // the lambda value asked for
    double gamma = choice.gamma;
    // A cv --relax file, as glmnet's predict.cv.relaxed: lambda_min and lambda_1se are the relaxed cv's choices (with
    // --gamma too), its gamma_min / gamma_1se where no --gamma is given, and a lambda value without --gamma takes
    // gamma_1se (glmnet's default gamma = "gamma.1se").
    const bool relaxed_cv = object_exists(f.get(), "cv/relaxed/lambda_min") && object_exists(f.get(), "path/relaxed/coef");
    std::vector<std::int64_t> shape;
    const auto relaxed_gamma = [&](const std::string& name) {
      return read_doubles(f.get(), "cv/relaxed/gamma_" + name, shape, "model file", path).at(0);
    };
    if (choice.lambda == "lambda_min" || choice.lambda == "lambda_1se") {
      if (!object_exists(f.get(), "cv/" + choice.lambda))
        throw UsageError("--lambda " + choice.lambda + ": '" + path + "' is a " + m.command + " result, not a cv one");
      at = read_doubles(f.get(), (relaxed_cv ? "cv/relaxed/" : "cv/") + choice.lambda, shape, "model file", path).at(0);
      if (relaxed_cv && gamma < 0) gamma = relaxed_gamma(choice.lambda.substr(7));
    } else if (!choice.lambda.empty()) {
      std::size_t used = 0;
      try {
        at = std::stod(choice.lambda, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != choice.lambda.size() || !(at >= 0) || !std::isfinite(at))
        throw UsageError("--lambda: expected lambda_min, lambda_1se or a value >= 0, got '" + choice.lambda + "'");
      if (relaxed_cv && gamma < 0) gamma = relaxed_gamma("1se");
    } else if (choice.index < 0) {  // --gamma alone: at /coef's lambda
      double chosen = -1;
      left = right = read_number_attribute(root.get(), "lambda_index", chosen) && chosen >= 0
                         ? static_cast<std::int64_t>(chosen) : m.path_length - 1;
    }
    const auto shortest = [](double v) {
      char text[32];
      std::snprintf(text, sizeof text, "%.6g", v);
      return std::string(text);
    };
    if (at >= 0) {  // glmnet's lambda.interp: linear in lambda between its neighbours, clamped to the path's range
      const auto exact = std::find(lambdas.begin(), lambdas.end(), at);
      if (exact != lambdas.end()) {
        left = right = exact - lambdas.begin();
      } else if (at >= lambdas.front()) {
        left = right = 0;
        double lmax = -1;
        if (!(read_number_attribute(root.get(), "lambda_max", lmax) && lambdas.front() >= lmax))
          m.clamped = "above the path's largest lambda " + shortest(lambdas.front()) + ": the fit there is used";
      } else if (at <= lambdas.back()) {
        left = right = m.path_length - 1;
        m.clamped = "below the path's smallest lambda " + shortest(lambdas.back()) +
                    ": the fit there is used (run path with a smaller --lambda-min-ratio to fit it)";
      } else {
        right = std::find_if(lambdas.begin(), lambdas.end(), [&](double l) { return l < at; }) - lambdas.begin();
        left = right - 1;
        share = (at - lambdas[static_cast<std::size_t>(right)]) /
                (lambdas[static_cast<std::size_t>(left)] - lambdas[static_cast<std::size_t>(right)]);
      }
    }
    // Fit i of the stacked fits in GROUP (path, or path/relaxed).
    const auto fit_at = [&](const std::string& group, std::int64_t i) {
      const std::vector<double> all = read_doubles(f.get(), group + "/coef", pshape, "model file", path);
      const std::vector<double> alli = read_doubles(f.get(), group + "/intercept", pishape, "model file", path);
      if (pshape.empty() || pshape[0] != m.path_length || static_cast<std::int64_t>(all.size()) != m.path_length * d * k ||
          static_cast<std::int64_t>(alli.size()) != m.path_length * k)
        throw DataError("model file '" + path + "': /" + group + "/coef does not match /path/lambda and /coef");
      FitResult r;
      r.coef = Eigen::Map<const RowMatrix>(all.data() + i * d * k, d, k);
      r.intercept = Eigen::Map<const Vector>(alli.data() + i * k, k);
      return r;
    };
    const auto chosen = [&](const std::string& group) {
      FitResult r = fit_at(group, left);
      if (right != left) {
        const FitResult other = fit_at(group, right);
        r.coef = share * r.coef + (1 - share) * other.coef;
        r.intercept = share * r.intercept + (1 - share) * other.intercept;
      }
      return r;
    };
    FitResult r = chosen("path");
    if (gamma >= 0) r = blend(r, chosen("path/relaxed"), gamma);
    const RowMatrix c = r.coef;
    coef.assign(c.data(), c.data() + c.size());
    icpt.assign(r.intercept.data(), r.intercept.data() + k);
    m.lambda = left == right ? lambdas[static_cast<std::size_t>(left)] : at;
    m.index = left == right ? left : -1;
    m.gamma = gamma;
  }
  m.coef = Eigen::Map<const RowMatrix>(coef.data(), d, k);
  m.intercept = Eigen::Map<const Vector>(icpt.data(), k);
  if (!m.coef.allFinite() || !m.intercept.allFinite())
    throw DataError("model file '" + path + "' has non-finite coefficients");
  return m;
}

}  // namespace cadmm::io
