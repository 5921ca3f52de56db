#include "io/checkpoint.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "cadmm/error.hpp"
#include "cadmm/version.hpp"
#include "io/hdf5_util.hpp"
#include "io/result_writer.hpp"

namespace cadmm::io {

namespace {

const char* kKind = "cadmm-checkpoint";

template <class T>
T read_attribute(hid_t file, const char* name, hid_t mem_type, const std::string& path) {
  T value{};
  Handle attr(H5Aopen(file, name, H5P_DEFAULT), H5Aclose);
  if (!attr.valid() || H5Aread(attr.get(), mem_type, &value) < 0)
    throw DataError("checkpoint '" + path + "' lacks attribute " + name);
  return value;
}

// FNV-1a over every field in a fixed order (field by field: struct padding bytes are not content).
class Checksum {
 public:
  void add(const void* data, std::size_t bytes) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < bytes; ++i) h_ = (h_ ^ p[i]) * 0x100000001b3ULL;
  }
  void add(double v) { add(&v, sizeof v); }
  void add(std::int64_t v) { add(&v, sizeof v); }
  void add(const std::string& s) {
    add(static_cast<std::int64_t>(s.size()));
    add(s.data(), s.size());
  }
  std::string hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h_));
    return buf;
  }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

std::string checksum(const Checkpoint& c) {
  Checksum h;
  const CheckpointKey& k = c.key;
  for (const std::string* s : {&k.data, &k.x_dataset, &k.y_dataset, &k.penalty}) h.add(*s);
  h.add(k.lambda), h.add(k.l1_ratio);
  for (std::int64_t v : {k.n_rows, k.n_features, k.n_targets, k.fit_intercept, k.standardize}) h.add(v);
  h.add(static_cast<std::int64_t>(c.n_ranks)), h.add(static_cast<std::int64_t>(c.iteration)), h.add(c.rho);
  h.add(c.z.data(), sizeof(double) * static_cast<std::size_t>(c.z.size()));
  h.add(c.u.data(), sizeof(double) * c.u.size());
  for (const IterationRecord& r : c.history) {
    h.add(static_cast<std::int64_t>(r.iteration));
    for (double v : {r.r_norm, r.s_norm, r.eps_pri, r.eps_dual, r.rho, r.objective, r.gap, r.seconds}) h.add(v);
  }
  return h.hex();
}

}  // namespace

std::string previous_checkpoint(const std::string& path) { return path + ".prev"; }

void write_checkpoint(const std::string& path, const Checkpoint& c) {
  AtomicH5File f(path);
  const std::int64_t d = c.z.rows(), k = c.z.cols();
  // Internal state, stored as laid out in memory: a column-major d x k matrix is a row-major (k, d) array.
  f.write_dataset("z", {k, d}, c.z.data());
  f.write_dataset("u", {c.n_ranks, k, d}, c.u.data());
  write_history(f, c.history, path);
  f.attribute("kind", std::string(kKind));
  f.attribute("version", std::string(version()));
  f.attribute("n_ranks", static_cast<std::int64_t>(c.n_ranks));
  f.attribute("iteration", static_cast<std::int64_t>(c.iteration));
  f.attribute("rho", c.rho);
  const CheckpointKey& key = c.key;
  f.attribute("data", key.data);
  f.attribute("x_dataset", key.x_dataset);
  f.attribute("y_dataset", key.y_dataset);
  f.attribute("penalty", key.penalty);
  f.attribute("lambda", key.lambda);
  f.attribute("l1_ratio", key.l1_ratio);
  f.attribute("n_rows", key.n_rows);
  f.attribute("n_features", key.n_features);
  f.attribute("n_targets", key.n_targets);
  f.attribute("fit_intercept", key.fit_intercept);
  f.attribute("standardize", key.standardize);
  f.attribute("checksum", checksum(c));
  f.commit(previous_checkpoint(path));
}

Checkpoint read_checkpoint(const std::string& path) {
  silence_hdf5();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) || H5Fis_hdf5(path.c_str()) <= 0)
    throw DataError("checkpoint '" + path + "' is not a readable HDF5 file");
  Handle fapl = file_access();
  Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
  if (!f.valid()) throw DataError("cannot open checkpoint '" + path + "'");
  Handle root(H5Gopen2(f.get(), "/", H5P_DEFAULT), H5Gclose);
  if (read_string_attribute(root.get(), "kind") != kKind) throw DataError("'" + path + "' is not a cadmm checkpoint");
  Checkpoint c;
  CheckpointKey& key = c.key;
  key.data = read_string_attribute(root.get(), "data");
  key.x_dataset = read_string_attribute(root.get(), "x_dataset");
  key.y_dataset = read_string_attribute(root.get(), "y_dataset");
  key.penalty = read_string_attribute(root.get(), "penalty");
  key.lambda = read_attribute<double>(f.get(), "lambda", H5T_NATIVE_DOUBLE, path);
  key.l1_ratio = read_attribute<double>(f.get(), "l1_ratio", H5T_NATIVE_DOUBLE, path);
  key.n_rows = read_attribute<std::int64_t>(f.get(), "n_rows", H5T_NATIVE_INT64, path);
  key.n_features = read_attribute<std::int64_t>(f.get(), "n_features", H5T_NATIVE_INT64, path);
  key.n_targets = read_attribute<std::int64_t>(f.get(), "n_targets", H5T_NATIVE_INT64, path);
  key.fit_intercept = read_attribute<std::int64_t>(f.get(), "fit_intercept", H5T_NATIVE_INT64, path);
  key.standardize = read_attribute<std::int64_t>(f.get(), "standardize", H5T_NATIVE_INT64, path);
  c.n_ranks = static_cast<int>(read_attribute<std::int64_t>(f.get(), "n_ranks", H5T_NATIVE_INT64, path));
  c.iteration = static_cast<int>(read_attribute<std::int64_t>(f.get(), "iteration", H5T_NATIVE_INT64, path));
  c.rho = read_attribute<double>(f.get(), "rho", H5T_NATIVE_DOUBLE, path);
  std::vector<std::int64_t> shape;
  const std::vector<double> z = read_doubles(f.get(), "z", shape, "checkpoint", path);
  c.u = read_doubles(f.get(), "u", shape, "checkpoint", path);
  const std::size_t dk = static_cast<std::size_t>(key.n_features * key.n_targets);
  if (z.size() != dk || c.u.size() != dk * static_cast<std::size_t>(c.n_ranks) || !(c.rho > 0))
    throw DataError("checkpoint '" + path + "' is inconsistent (sizes or rho)");
  c.z = Eigen::Map<const Matrix>(z.data(), key.n_features, key.n_targets);
  c.history = read_history(f.get(), path);
  const std::string stored = read_string_attribute(root.get(), "checksum");
  if (stored.empty()) throw DataError("checkpoint '" + path + "' has no checksum (written by an older cadmm?)");
  if (stored != checksum(c))
    throw DataError("checkpoint '" + path + "' is damaged: its content does not match its checksum");
  return c;
}

std::string key_mismatch(const CheckpointKey& a, const CheckpointKey& b) {
  const auto differ = [](const std::string& field, const auto& x, const auto& y) -> std::string {
    std::ostringstream s;
    s.precision(17);
    s << field << " was " << x << ", this run has " << y;
    return s.str();
  };
  // lambda_max is a sum over ranks: another rank count changes its last bits, not the problem.
  const auto same = [](double x, double y) { return std::abs(x - y) <= 1e-9 * std::max(std::abs(x), std::abs(y)); };
  if (a.data != b.data) return differ("data", a.data, b.data);
  if (a.x_dataset != b.x_dataset) return differ("x-dataset", a.x_dataset, b.x_dataset);
  if (a.y_dataset != b.y_dataset) return differ("y-dataset", a.y_dataset, b.y_dataset);
  if (a.n_rows != b.n_rows || a.n_features != b.n_features || a.n_targets != b.n_targets)
    return differ("data shape (rows, features, targets)", std::to_string(a.n_rows) + "x" + std::to_string(a.n_features) + "x" + std::to_string(a.n_targets),
                  std::to_string(b.n_rows) + "x" + std::to_string(b.n_features) + "x" + std::to_string(b.n_targets));
  if (a.penalty != b.penalty) return differ("penalty", a.penalty, b.penalty);
  if (!same(a.lambda, b.lambda)) return differ("lambda", a.lambda, b.lambda);
  if (!same(a.l1_ratio, b.l1_ratio)) return differ("l1-ratio", a.l1_ratio, b.l1_ratio);
  if (a.fit_intercept != b.fit_intercept) return differ("fit-intercept", a.fit_intercept, b.fit_intercept);
  if (a.standardize != b.standardize) return differ("standardize", a.standardize, b.standardize);
  return {};
}

}  // namespace cadmm::io
