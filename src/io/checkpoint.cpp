#include "io/checkpoint.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <type_traits>

#include "cadmm/error.hpp"
#include "cadmm/version.hpp"
#include "core/hash.hpp"
#include "core/solve/loop_state.hpp"
#include "io/hdf5_util.hpp"
#include "io/result_writer.hpp"

namespace cadmm::io {

namespace {

const char* kKind = "cadmm-checkpoint";
// Format 2 holds the complete loop state; format 1 (z, u, rho only) is refused with a message saying so.
constexpr std::int64_t kFormat = 2;
// The working-set forms' kept Hessian columns (LoopState::columns), replicated; only where there are some.
const char* kColumns = "working_set_columns";

// A chained hash over every field in a fixed order (field by field: struct padding is not content). Each 8-byte
// word passes through a bijective mix, so a change in any one word always changes the result.
class Checksum {
 public:
  void add(const void* data, std::size_t bytes) {
    const auto* p = static_cast<const unsigned char*>(data);
    std::size_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      h_ = mix64(h_ ^ w);
    }
    std::uint64_t tail = bytes;  // the length, and the last bytes, in one more word
    for (std::size_t b = 0; i + b < bytes; ++b) tail ^= static_cast<std::uint64_t>(p[i + b]) << (8 * (b + 1));
    h_ = mix64(h_ ^ tail);
  }
  void add(double v) { add(&v, sizeof v); }
  void add(std::int64_t v) { add(&v, sizeof v); }
  void add(const std::string& s) { add(s.data(), s.size()); }
  std::string hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h_));
    return buf;
  }

 private:
  std::uint64_t h_ = 0x6361646d6d2d636bULL;
};

// Each rank's own part of the state: one (n_ranks, size) dataset per field, the same sizes on every rank; the
// fields and their order are the loop state's own (visit_rank_arrays). Scalars (visit_scalars: ints and bools are
// stored as int64, and travel exactly as doubles) and patterns (visit_patterns) likewise.
template <class State>
auto rank_fields(State& st) {
  using Ptr = std::conditional_t<std::is_const_v<State>, const double*, double*>;
  struct Field {
    const char* name;
    Ptr data;
    std::int64_t size;
  };
  std::vector<Field> fields;
  visit_rank_arrays(st, [&](const char* name, Ptr data, std::int64_t size) { fields.push_back({name, data, size}); });
  return fields;
}

// A path's finished fits as one array of doubles (stored, hashed and broadcast as it is): m, then per fit its
// scalars, history length, coef (d x k, column-major), intercept (k) and history records.
constexpr int kFitScalars = 13, kRecord = 9;

std::vector<double> pack_fits(const PathResult& p) {
  std::vector<double> v{static_cast<double>(p.fits.size())};
  for (std::size_t i = 0; i < p.fits.size(); ++i) {
    const FitResult& f = p.fits[i];
    const AdmmResult& a = f.admm;
    v.insert(v.end(), {f.lambda, f.lambda_max, f.l1_ratio, static_cast<double>(a.state.iteration),
                       static_cast<double>(a.status), a.polished ? 1.0 : 0.0, a.r_norm, a.s_norm, a.optimality.objective,
                       a.optimality.rss, a.optimality.gap, a.state.rho, p.dev_ratio[i]});
    v.push_back(static_cast<double>(a.history.size()));
    v.push_back(static_cast<double>(f.coef.rows()));
    v.push_back(static_cast<double>(f.coef.cols()));
    v.insert(v.end(), f.coef.data(), f.coef.data() + f.coef.size());
    v.insert(v.end(), f.intercept.data(), f.intercept.data() + f.intercept.size());
    for (const IterationRecord& r : a.history)
      v.insert(v.end(), {static_cast<double>(r.iteration), r.r_norm, r.s_norm, r.eps_pri, r.eps_dual, r.rho,
                         r.objective, r.gap, r.seconds});
  }
  return v;
}

PathResult unpack_fits(const std::vector<double>& v, const std::string& path) {
  PathResult p;
  std::size_t at = 0;
  const auto take = [&](std::size_t n) {
    if (at + n > v.size()) throw DataError("checkpoint '" + path + "' is inconsistent (path fits)");
    const double* out = v.data() + at;
    at += n;
    return out;
  };
  const std::size_t m = v.empty() ? 0 : static_cast<std::size_t>(*take(1));
  for (std::size_t i = 0; i < m; ++i) {
    const double* s = take(kFitScalars);
    FitResult f;
    AdmmResult& a = f.admm;
    f.lambda = s[0], f.lambda_max = s[1], f.l1_ratio = s[2];
    a.state.iteration = static_cast<int>(s[3]);
    a.status = static_cast<Status>(static_cast<int>(s[4]));
    a.polished = s[5] != 0;
    a.r_norm = s[6], a.s_norm = s[7];
    a.optimality.objective = s[8], a.optimality.rss = s[9], a.optimality.gap = s[10];
    a.state.rho = s[11];
    p.dev_ratio.push_back(s[12]);
    const double* n = take(3);
    const auto records = static_cast<std::size_t>(n[0]);
    const auto d = static_cast<Eigen::Index>(n[1]), k = static_cast<Eigen::Index>(n[2]);
    f.coef = Eigen::Map<const Matrix>(take(static_cast<std::size_t>(d * k)), d, k);
    f.intercept = Eigen::Map<const Vector>(take(static_cast<std::size_t>(k)), k);
    for (std::size_t r = 0; r < records; ++r) {
      const double* x = take(kRecord);
      IterationRecord rec;
      rec.iteration = static_cast<int>(x[0]);
      rec.r_norm = x[1], rec.s_norm = x[2], rec.eps_pri = x[3], rec.eps_dual = x[4], rec.rho = x[5];
      rec.objective = x[6], rec.gap = x[7], rec.seconds = x[8];
      a.history.push_back(rec);
    }
    p.fits.push_back(std::move(f));
  }
  if (at != v.size()) throw DataError("checkpoint '" + path + "' is inconsistent (path fits)");
  return p;
}

void hash_header(Checksum& h, const CheckpointKey& k, std::int64_t n_ranks, const AdmmState& st,
                 const std::vector<IterationRecord>& history, const std::vector<double>& done) {
  for (const std::string* s : {&k.command, &k.data, &k.x_dataset, &k.y_dataset, &k.penalty}) h.add(*s);
  if (!k.per_feature.empty()) h.add(k.per_feature);  // absent from checkpoints of runs without such terms
  h.add(k.lambdas.data(), sizeof(double) * k.lambdas.size());
  h.add(done.data(), sizeof(double) * done.size());
  h.add(k.lambda), h.add(k.l1_ratio);
  if (k.lambda_max > 0) h.add(k.lambda_max);  // absent from checkpoints of earlier versions
  for (std::int64_t v : {k.n_rows, k.n_features, k.n_targets, k.fit_intercept, k.standardize}) h.add(v);
  h.add(n_ranks);
  visit_scalars(st, [&](const char*, const auto& v) { h.add(static_cast<double>(v)); });
  h.add(static_cast<std::int64_t>(st.loop->anderson.dg.cols()));
  h.add(st.z.data(), sizeof(double) * static_cast<std::size_t>(st.z.size()));
  visit_patterns(st, [&](const char*, const Eigen::ArrayXXi& p) {
    h.add(static_cast<std::int64_t>(p.size()));
    h.add(p.data(), sizeof(int) * static_cast<std::size_t>(p.size()));
  });
  const std::vector<double>& columns = st.loop->columns;  // absent from checkpoints of forms without working sets
  if (!columns.empty()) h.add(columns.data(), sizeof(double) * columns.size());
  for (const IterationRecord& r : history) {
    h.add(static_cast<std::int64_t>(r.iteration));
    for (double v : {r.r_norm, r.s_norm, r.eps_pri, r.eps_dual, r.rho, r.objective, r.gap, r.seconds}) h.add(v);
  }
}

template <class T>
T read_attribute(hid_t file, const char* name, hid_t mem_type, const std::string& path) {
  T value{};
  Handle attr(H5Aopen(file, name, H5P_DEFAULT), H5Aclose);
  if (!attr.valid() || H5Aread(attr.get(), mem_type, &value) < 0)
    throw DataError("checkpoint '" + path + "' lacks attribute " + name);
  return value;
}

void write_pattern(AtomicH5File& f, const char* name, const Eigen::ArrayXXi& p) {
  const std::vector<double> v(p.data(), p.data() + p.size());
  if (p.size() == 0)
    f.write_dataset(name, {0}, v.data());
  else
    f.write_dataset(name, {p.cols(), p.rows()}, v.data());
}

Eigen::ArrayXXi read_pattern(hid_t file, const char* name, Eigen::Index d, Eigen::Index k, const std::string& path) {
  std::vector<std::int64_t> shape;
  const std::vector<double> v = read_doubles(file, name, shape, "checkpoint", path);
  if (v.empty()) return {};
  if (static_cast<Eigen::Index>(v.size()) != d * k) throw DataError("checkpoint '" + path + "' is inconsistent (" + name + ")");
  Eigen::ArrayXXi p(d, k);
  for (Eigen::Index i = 0; i < p.size(); ++i) p.data()[i] = static_cast<int>(v[static_cast<std::size_t>(i)]);
  return p;
}

// Rank 0's view of an opened checkpoint: key, rank count, replicated state (this rank's fields zero), history.
Checkpoint read_header(hid_t f, const std::string& path, std::vector<double>& done) {
  Handle root(H5Gopen2(f, "/", H5P_DEFAULT), H5Gclose);
  if (read_string_attribute(root.get(), "kind") != kKind) throw DataError("'" + path + "' is not a cadmm checkpoint");
  double format = 0;
  if (!read_number_attribute(root.get(), "format", format) || format != kFormat)
    throw DataError("checkpoint '" + path + "' was written by another cadmm version (format " +
                    std::to_string(static_cast<int>(format)) + ", this one reads " + std::to_string(kFormat) +
                    "): start again without --resume");
  Checkpoint c;
  CheckpointKey& key = c.key;
  key.command = read_string_attribute(root.get(), "command");
  key.data = read_string_attribute(root.get(), "data");
  key.x_dataset = read_string_attribute(root.get(), "x_dataset");
  key.y_dataset = read_string_attribute(root.get(), "y_dataset");
  key.penalty = read_string_attribute(root.get(), "penalty");
  key.per_feature = read_string_attribute(root.get(), "per_feature");
  key.lambda = read_attribute<double>(f, "lambda", H5T_NATIVE_DOUBLE, path);
  if (!read_number_attribute(root.get(), "lambda_max", key.lambda_max)) key.lambda_max = 0;
  key.l1_ratio = read_attribute<double>(f, "l1_ratio", H5T_NATIVE_DOUBLE, path);
  for (auto [name, field] : {std::pair{"n_rows", &key.n_rows}, {"n_features", &key.n_features},
                             {"n_targets", &key.n_targets}, {"fit_intercept", &key.fit_intercept},
                             {"standardize", &key.standardize}})
    *field = read_attribute<std::int64_t>(f, name, H5T_NATIVE_INT64, path);
  c.n_ranks = static_cast<int>(read_attribute<std::int64_t>(f, "n_ranks", H5T_NATIVE_INT64, path));
  const auto memory = read_attribute<std::int64_t>(f, "anderson_memory", H5T_NATIVE_INT64, path);
  const Eigen::Index d = key.n_features, k = key.n_targets;
  if (d < 1 || k < 1 || c.n_ranks < 1 || memory < 0 || memory > 1000 || d * k > (std::int64_t{1} << 40))
    throw DataError("checkpoint '" + path + "' is inconsistent (sizes)");
  c.state = sized_state(d, k, memory);
  visit_scalars(c.state, [&](const char* name, auto& v) {
    using T = std::decay_t<decltype(v)>;
    if constexpr (std::is_same_v<T, double>)
      v = read_attribute<double>(f, name, H5T_NATIVE_DOUBLE, path);
    else
      v = static_cast<T>(read_attribute<std::int64_t>(f, name, H5T_NATIVE_INT64, path));
  });
  std::vector<std::int64_t> shape;
  const std::vector<double> z = read_doubles(f, "z", shape, "checkpoint", path);
  if (static_cast<Eigen::Index>(z.size()) != d * k || !(c.state.rho > 0))
    throw DataError("checkpoint '" + path + "' is inconsistent (sizes or rho)");
  c.state.z = Eigen::Map<const Matrix>(z.data(), d, k);
  visit_patterns(c.state, [&](const char* name, Eigen::ArrayXXi& p) { p = read_pattern(f, name, d, k, path); });
  if (object_exists(f, kColumns)) c.state.loop->columns = read_doubles(f, kColumns, shape, "checkpoint", path);
  c.history = read_history(f, path);
  key.lambdas = read_doubles(f, "lambdas", shape, "checkpoint", path);
  done = read_doubles(f, "path_done", shape, "checkpoint", path);
  c.done = unpack_fits(done, path);
  return c;
}

Handle open_checkpoint(const std::string& path) {
  silence_hdf5();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) || H5Fis_hdf5(path.c_str()) <= 0)
    throw DataError("checkpoint '" + path + "' is not a readable HDF5 file (truncated or not a checkpoint)");
  Handle fapl = file_access();
  Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
  if (!f.valid()) throw DataError("cannot open checkpoint '" + path + "'");
  return f;
}

}  // namespace

void check_checkpoint_path(const std::string& path, const std::string& data, const std::string& output,
                           bool resuming) {
  check_output_path(path, "--checkpoint", {data});
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::weakly_canonical(path, ec) == fs::weakly_canonical(output, ec) || (fs::exists(path, ec) && fs::equivalent(path, output, ec)))
    throw UsageError("--checkpoint: '" + path + "' is the --output file too; name another file for the checkpoint");
  if (resuming || !fs::exists(path, ec) || H5Fis_hdf5(path.c_str()) <= 0) return;
  silence_hdf5();
  Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!f.valid()) return;
  Handle root(H5Gopen2(f.get(), "/", H5P_DEFAULT), H5Gclose);
  if (root.valid() && read_string_attribute(root.get(), "kind") != kKind)
    throw UsageError("--checkpoint: '" + path + "' exists and is not a cadmm checkpoint (" +
                     (object_exists(f.get(), "/coef") ? "a cadmm result" : "an HDF5 file") +
                     "), which the first checkpoint would replace; name a new file, or remove that one first");
}

std::string previous_checkpoint(const std::string& path) { return path + ".prev"; }

void write_checkpoint(const std::string& path, const CheckpointKey& key, const AdmmState& st,
                      const std::vector<IterationRecord>& history, Communicator& comm, const PathResult* done) {
  if (!st.loop) throw std::logic_error("write_checkpoint: the state has no loop state");
  const bool root = comm.rank() == 0;
  const std::vector<double> done_fits = done && root ? pack_fits(*done) : std::vector<double>{};
  const auto fields = rank_fields(st);
  std::optional<AtomicH5File> f;
  Checksum h;
  collectively(comm, [&] {
    if (!root) return;
    f.emplace(path, "checkpoint");
    const std::int64_t d = st.z.rows(), k = st.z.cols();
    // Internal state, stored as laid out in memory: a column-major d x k matrix is a row-major (k, d) array.
    f->write_dataset("z", {k, d}, st.z.data());
    visit_patterns(st, [&](const char* name, const Eigen::ArrayXXi& p) { write_pattern(*f, name, p); });
    write_history(*f, history, path);
    f->write_dataset("lambdas", {static_cast<std::int64_t>(key.lambdas.size())}, key.lambdas.data());
    f->write_dataset("path_done", {static_cast<std::int64_t>(done_fits.size())}, done_fits.data());
    if (const std::vector<double>& columns = st.loop->columns; !columns.empty())
      f->write_dataset(kColumns, {static_cast<std::int64_t>(columns.size())}, columns.data());
    f->attribute("command", key.command);
    for (const auto& field : fields) f->create_rows(field.name, comm.size(), field.size);
    f->attribute("kind", std::string(kKind));
    f->attribute("format", kFormat);
    f->attribute("version", std::string(version()));
    f->attribute("n_ranks", static_cast<std::int64_t>(comm.size()));
    f->attribute("anderson_memory", static_cast<std::int64_t>(st.loop->anderson.dg.cols()));
    visit_scalars(st, [&](const char* name, const auto& v) {
      if constexpr (std::is_same_v<std::decay_t<decltype(v)>, double>)
        f->attribute(name, v);
      else
        f->attribute(name, static_cast<std::int64_t>(v));
    });
    f->attribute("data", key.data);
    f->attribute("x_dataset", key.x_dataset);
    f->attribute("y_dataset", key.y_dataset);
    f->attribute("penalty", key.penalty);
    if (!key.per_feature.empty()) f->attribute("per_feature", key.per_feature);
    f->attribute("lambda", key.lambda);
    if (key.lambda_max > 0) f->attribute("lambda_max", key.lambda_max);
    f->attribute("l1_ratio", key.l1_ratio);
    f->attribute("n_rows", key.n_rows);
    f->attribute("n_features", key.n_features);
    f->attribute("n_targets", key.n_targets);
    f->attribute("fit_intercept", key.fit_intercept);
    f->attribute("standardize", key.standardize);
    hash_header(h, key, comm.size(), st, history, done_fits);
  });
  for (const auto& field : fields)
    collectively(comm, [&] {
      comm.gather_each(field.data, static_cast<std::size_t>(field.size), [&](int r, const double* block) {
        f->write_row(field.name, r, field.size, block);
        h.add(block, sizeof(double) * static_cast<std::size_t>(field.size));
      });
    });
  collectively(comm, [&] {
    if (!root) return;
    f->attribute("checksum", h.hex());
    f->commit(previous_checkpoint(path));
  });
}

Checkpoint verify_checkpoint(const std::string& path) {
  Handle f = open_checkpoint(path);
  std::vector<double> done;
  Checkpoint c = read_header(f.get(), path, done);
  Checksum h;
  hash_header(h, c.key, c.n_ranks, c.state, c.history, done);
  std::vector<double> row;
  for (const auto& field : rank_fields(c.state)) {
    if (!object_exists(f.get(), field.name))  // a field this version added (rank/factors: stop 41)
      throw DataError("checkpoint '" + path + "' lacks " + field.name + ": it was written by another version of "
                      "cadmm; resume with that version, or start again without --resume");
    row.resize(static_cast<std::size_t>(field.size));
    for (int r = 0; r < c.n_ranks; ++r) {
      read_row(f.get(), field.name, r, field.size, row.data(), "checkpoint", path);
      h.add(row.data(), sizeof(double) * row.size());
    }
  }
  Handle root(H5Gopen2(f.get(), "/", H5P_DEFAULT), H5Gclose);
  const std::string stored = read_string_attribute(root.get(), "checksum");
  if (stored.empty()) throw DataError("checkpoint '" + path + "' has no checksum");
  if (stored != h.hex())
    throw DataError("checkpoint '" + path + "' is damaged: its content does not match its checksum");
  return c;
}

namespace {

// Rank 0: the checkpoint at path, verified and of this problem, or else the previous one (note says why); DataError
// naming both when neither is usable.
Checkpoint load_verified(const std::string& path, const CheckpointKey& key) {
  const std::string prev = previous_checkpoint(path);
  const auto load = [&](const std::string& file) {
    Checkpoint got = verify_checkpoint(file);
    const std::string mismatch = key_mismatch(got.key, key);
    if (!mismatch.empty()) throw DataError("checkpoint '" + file + "' belongs to another problem: " + mismatch);
    got.file = file;
    return got;
  };
  try {
    if (!std::filesystem::exists(path)) throw DataError("checkpoint '" + path + "' is missing");
    return load(path);
  } catch (const DataError& e) {
    if (!std::filesystem::exists(prev)) throw DataError(std::string("--resume: ") + e.what());
    Checkpoint c;
    try {
      c = load(prev);
    } catch (const DataError& e2) {
      throw DataError(std::string("--resume: ") + e.what() + "; the previous one is not usable either: " + e2.what());
    }
    c.note = std::string(e.what()) + ": resuming from the previous checkpoint '" + prev + "' instead";
    return c;
  }
}

// Rank 0's replicated parts to every rank: the sizes, the scalars, z, the polishing patterns, the file, the note
// and a path's finished fits.
void broadcast_replicated(Checkpoint& c, Eigen::Index d, Eigen::Index k, Communicator& comm) {
  const bool root = comm.rank() == 0;
  std::vector<double> head;
  if (root) {
    head = {static_cast<double>(c.n_ranks), static_cast<double>(c.state.loop->anderson.dg.cols())};
    visit_patterns(c.state, [&](const char*, const Eigen::ArrayXXi& p) { head.push_back(static_cast<double>(p.size())); });
    visit_scalars(c.state, [&](const char*, const auto& v) { head.push_back(static_cast<double>(v)); });
  }
  double sizes = static_cast<double>(head.size());
  comm.broadcast(&sizes, sizeof sizes, 0);
  head.resize(static_cast<std::size_t>(sizes));
  comm.broadcast(head.data(), sizeof(double) * head.size(), 0);
  if (!root) {
    c.n_ranks = static_cast<int>(head[0]);
    c.state = sized_state(d, k, static_cast<Eigen::Index>(head[1]));
    std::size_t i = 2;
    visit_patterns(c.state, [&](const char*, Eigen::ArrayXXi& p) {
      if (head[i++] > 0) p.resize(d, k);
    });
    visit_scalars(c.state, [&](const char*, auto& v) { v = static_cast<std::decay_t<decltype(v)>>(head[i++]); });
  }
  comm.broadcast(c.state.z.data(), sizeof(double) * static_cast<std::size_t>(d * k), 0);
  visit_patterns(c.state, [&](const char*, Eigen::ArrayXXi& p) {
    comm.broadcast(p.data(), sizeof(int) * static_cast<std::size_t>(p.size()), 0);
  });
  std::vector<double>& columns = c.state.loop->columns;
  double columns_size = static_cast<double>(columns.size());
  comm.broadcast(&columns_size, sizeof columns_size, 0);
  columns.resize(static_cast<std::size_t>(columns_size));
  comm.broadcast(columns.data(), sizeof(double) * columns.size(), 0);
  comm.broadcast(c.file, 0);
  comm.broadcast(c.note, 0);
  std::vector<double> done = root ? pack_fits(c.done) : std::vector<double>{};
  double done_size = static_cast<double>(done.size());
  comm.broadcast(&done_size, sizeof done_size, 0);
  done.resize(static_cast<std::size_t>(done_size));
  comm.broadcast(done.data(), sizeof(double) * done.size(), 0);
  if (!root) c.done = unpack_fits(done, c.file);
}

}  // namespace

std::optional<Checkpoint> load_checkpoint(const std::string& path, const CheckpointKey& key, Communicator& comm) {
  const bool root = comm.rank() == 0;
  double exists = 0;
  if (root) exists = std::filesystem::exists(path) || std::filesystem::exists(previous_checkpoint(path)) ? 1 : 0;
  comm.broadcast(&exists, sizeof exists, 0);
  if (exists == 0) return std::nullopt;
  Checkpoint c;
  collectively(comm, [&] {
    if (root) c = load_verified(path, key);
  });
  broadcast_replicated(c, key.n_features, key.n_targets, comm);
  if (c.n_ranks != comm.size()) {
    // Another rank count: the duals and the loop state belong to another split of the rows.
    c.state.loop.reset();
    c.state.u.setZero();
    const std::string why = "checkpoint '" + c.file + "' was written by " + std::to_string(c.n_ranks) +
                            " ranks, this run has " + std::to_string(comm.size()) +
                            ": resuming from its z and rho with the dual variables at zero";
    c.note = c.note.empty() ? why : c.note + "; " + why;
    return c;
  }
  Handle f;  // each rank's own arrays, scattered from rank 0's reads
  for (const auto& field : rank_fields(c.state))
    collectively(comm, [&] {
      comm.scatter_each(
          [&](int r, double* block) {
            if (!f.valid()) f = open_checkpoint(c.file);
            read_row(f.get(), field.name, r, field.size, block, "checkpoint", c.file);
          },
          static_cast<std::size_t>(field.size), field.data);
    });
  return c;
}

std::string key_mismatch(const CheckpointKey& a, const CheckpointKey& b) {
  // Numbers in as few digits as tell them apart (0.7, not 0.69999999999999996).
  const auto text = [](const auto& v) -> std::string {
    std::ostringstream s;
    if constexpr (std::is_floating_point_v<std::decay_t<decltype(v)>>) {
      for (int digits = 6; digits <= 17; ++digits) {
        s.str("");
        s.precision(digits);
        s << v;
        if (!std::isfinite(v) || std::strtod(s.str().c_str(), nullptr) == v) break;
      }
    } else {
      s << v;
    }
    return s.str();
  };
  const auto differ = [&](const std::string& field, const auto& x, const auto& y) -> std::string {
    return field + " was " + text(x) + ", this run has " + text(y);
  };
  // lambda_max is a sum over ranks: another rank count changes its last bits, not the problem.
  const auto same = [](double x, double y) { return std::abs(x - y) <= 1e-9 * std::max(std::abs(x), std::abs(y)); };
  if (a.command != b.command) return differ("command", a.command, b.command);
  // The data file however it is spelled (a relative path from the same directory, an absolute one, a symlink).
  std::error_code ec;
  if (a.data != b.data && !std::filesystem::equivalent(a.data, b.data, ec)) return differ("data", a.data, b.data);
  if (a.x_dataset != b.x_dataset) return differ("x-dataset", a.x_dataset, b.x_dataset);
  if (a.y_dataset != b.y_dataset) return differ("y-dataset", a.y_dataset, b.y_dataset);
  if (a.n_rows != b.n_rows || a.n_features != b.n_features || a.n_targets != b.n_targets)
    return differ("data shape (rows, features, targets)", std::to_string(a.n_rows) + "x" + std::to_string(a.n_features) + "x" + std::to_string(a.n_targets),
                  std::to_string(b.n_rows) + "x" + std::to_string(b.n_features) + "x" + std::to_string(b.n_targets));
  if (a.penalty != b.penalty) return differ("penalty", a.penalty, b.penalty);
  if (!same(a.l1_ratio, b.l1_ratio)) return differ("l1-ratio", a.l1_ratio, b.l1_ratio);
  if (a.fit_intercept != b.fit_intercept) return differ("fit-intercept", a.fit_intercept, b.fit_intercept);
  if (a.standardize != b.standardize) return differ("standardize", a.standardize, b.standardize);
  if (a.per_feature != b.per_feature)
    return differ("per-feature terms (penalty factors, exclude, limits)", a.per_feature.empty() ? "none" : a.per_feature,
                  b.per_feature.empty() ? "none" : b.per_feature);
  // The same file name, shape and options over other values (the data rewritten, a job's --resume kept): explicit
  // lambdas would not tell, the finished fits being the old data's. (Checkpoints of earlier versions have none.) With
  // unpenalized features lambda_max comes from a fit of them, certified to a gap: another rank count moves it more
  // than its rounding.
  if (a.lambda_max > 0 && b.lambda_max > 0 &&
      std::abs(a.lambda_max - b.lambda_max) > 1e-6 * std::max(a.lambda_max, b.lambda_max))
    return differ("the data's lambda_max (other values in '" + b.data + "'?)", a.lambda_max, b.lambda_max);
  if (!same(a.lambda, b.lambda)) return differ("lambda", a.lambda, b.lambda);
  bool same_sequence = a.lambdas.size() == b.lambdas.size();
  for (std::size_t i = 0; same_sequence && i < a.lambdas.size(); ++i) same_sequence = same(a.lambdas[i], b.lambdas[i]);
  if (!same_sequence)
    return differ("lambda sequence (count)", std::to_string(a.lambdas.size()), std::to_string(b.lambdas.size()));
  return {};
}

std::optional<Resume> CheckpointFile::load() {
  std::optional<Checkpoint> c = load_checkpoint(path_, key_, comm_);
  if (!c) return std::nullopt;
  return Resume{std::move(c->state), std::move(c->history), std::move(c->done), std::move(c->file), std::move(c->note)};
}

void CheckpointFile::save(const AdmmState& state, const std::vector<IterationRecord>& history, const PathResult* done) {
  write_checkpoint(path_, key_, state, history, comm_, done);
}

}  // namespace cadmm::io
