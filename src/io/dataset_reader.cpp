#include "io/dataset_reader.hpp"

#include <algorithm>

#include "cadmm/error.hpp"

namespace cadmm::io {

namespace {

std::string where(const std::string& file, const std::string& name) { return "dataset '" + name + "' in '" + file + "'"; }

Handle open_dataset(hid_t file, const std::string& path, const std::string& name) {
  if (!object_exists(file, name)) throw DataError(where(path, name) + " does not exist");
  Handle obj(H5Oopen(file, name.c_str(), H5P_DEFAULT), H5Oclose);
  if (!obj.valid() || H5Iget_type(obj.get()) != H5I_DATASET) {
    if (obj.valid() && read_string_attribute(obj.get(), "encoding-type") == "csr_matrix")
      throw DataError(where(path, name) + " is a sparse CSR group; this build reads dense X only");
    throw DataError(where(path, name) + " is not a dataset");
  }
  Handle ds(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) throw DataError("cannot open " + where(path, name));
  Handle type(H5Dget_type(ds.get()), H5Tclose);
  const std::size_t size = H5Tget_size(type.get());
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_FLOAT || (size != 4 && size != 8)) {
    const char* kind = cls == H5T_INTEGER ? "integer" : cls == H5T_STRING ? "string" : cls == H5T_FLOAT ? "float"
                                                                                                         : "non-numeric";
    throw DataError(where(path, name) + " has an unsupported element type (" + kind + ", " + std::to_string(8 * size) +
                    " bits); cadmm reads float32 or float64 (with NumPy: array.astype('float64'))");
  }
  return ds;
}

}  // namespace

DenseReader::DenseReader(const std::string& file, const std::string& x_name, const std::string& y_name,
                         MPI_Comm comm, bool y_optional) {
  layout_.file = file;
  layout_.x_name = x_name;
  layout_.y_name = y_name;
  file_ = open_file_read(file, comm);
  x_ = open_dataset(file_.get(), file, x_name);
  layout_.has_y = !y_optional || object_exists(file_.get(), y_name);
  if (layout_.has_y) y_ = open_dataset(file_.get(), file, y_name);

  const auto xs = dataset_shape(x_.get());
  const auto ys = layout_.has_y ? dataset_shape(y_.get()) : std::vector<std::int64_t>{xs.empty() ? 0 : xs[0], 0};
  if (xs.size() != 2)
    throw DataError(where(file, x_name) + " must be 2-D (rows, features); it has " + std::to_string(xs.size()) +
                    " dimensions");
  if (ys.size() != 1 && ys.size() != 2)
    throw DataError(where(file, y_name) + " must be 1-D (rows,) or 2-D (rows, targets)");
  layout_.rows = xs[0];
  layout_.features = xs[1];
  layout_.y_is_1d = ys.size() == 1;
  layout_.targets = layout_.y_is_1d ? 1 : ys[1];
  if (layout_.rows == 0 || layout_.features == 0) throw DataError(where(file, x_name) + " is empty");
  if (layout_.has_y && layout_.targets == 0) throw DataError(where(file, y_name) + " has no targets");
  if (ys[0] != layout_.rows)
    throw DataError("shape mismatch in '" + file + "': " + x_name + " has " + std::to_string(layout_.rows) +
                    " rows but " + y_name + " has " + std::to_string(ys[0]));

  Handle type(H5Dget_type(x_.get()), H5Tclose);
  layout_.x_float32 = H5Tget_size(type.get()) == 4;
  Handle dcpl(H5Dget_create_plist(x_.get()), H5Pclose);
  layout_.x_chunked = H5Pget_layout(dcpl.get()) == H5D_CHUNKED;
  if (layout_.x_chunked) {
    hsize_t chunk[2] = {0, 0};
    H5Pget_chunk(dcpl.get(), 2, chunk);
    layout_.x_chunk_rows = static_cast<std::int64_t>(chunk[0]);
  }
}

namespace {

void read_block(hid_t ds, std::int64_t first, std::int64_t rows, std::int64_t cols, bool one_d, double* out,
                const std::string& what) {
  Handle fspace(H5Dget_space(ds), H5Sclose);
  hsize_t start[2] = {static_cast<hsize_t>(first), 0};
  hsize_t count[2] = {static_cast<hsize_t>(rows), static_cast<hsize_t>(cols)};
  const int rank = one_d ? 1 : 2;
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  Handle mspace(H5Screate_simple(rank, count, nullptr), H5Sclose);
  if (H5Dread(ds, H5T_NATIVE_DOUBLE, mspace.get(), fspace.get(), H5P_DEFAULT, out) < 0)
    throw RuntimeFailure("reading rows " + std::to_string(first) + ".." + std::to_string(first + rows - 1) + " of " +
                         what + " failed");
}

// Index of the first row holding a NaN or Inf, or -1.
Eigen::Index first_bad_row(const RowMatrix& m) {
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    if (!m.row(i).allFinite()) return i;
  return -1;
}

}  // namespace

std::vector<std::int64_t> DenseReader::read_int_rows(const std::string& name, RowRange range) const {
  const std::string what = where(layout_.file, name);
  if (!object_exists(file_.get(), name)) throw DataError(what + " does not exist");
  Handle ds(H5Dopen2(file_.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) throw DataError(what + " is not a dataset");
  Handle type(H5Dget_type(ds.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_INTEGER)
    throw DataError(what + " must hold integers (fold numbers, as glmnet's foldid)");
  const auto shape = dataset_shape(ds.get());
  if (shape.size() != 1 || shape[0] != layout_.rows)
    throw DataError(what + " must have shape (" + std::to_string(layout_.rows) + ",), one fold number per row of " +
                    layout_.x_name + "; it has " + std::to_string(shape.empty() ? 0 : shape[0]) + " entries in " +
                    std::to_string(shape.size()) + " dimension(s)");
  std::vector<std::int64_t> out(static_cast<std::size_t>(range.size()));
  if (range.size() == 0) return out;
  Handle fspace(H5Dget_space(ds.get()), H5Sclose);
  const hsize_t start = static_cast<hsize_t>(range.begin), count = static_cast<hsize_t>(range.size());
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr);
  Handle mspace(H5Screate_simple(1, &count, nullptr), H5Sclose);
  if (H5Dread(ds.get(), H5T_NATIVE_INT64, mspace.get(), fspace.get(), H5P_DEFAULT, out.data()) < 0)
    throw RuntimeFailure("reading " + what + " failed");
  return out;
}

void DenseReader::read_rows(RowRange range, std::size_t block_bytes,
                            const std::function<void(RowMatrix&, RowMatrix&)>& sink) const {
  const std::int64_t d = layout_.features, k = layout_.targets;
  std::int64_t block = std::max<std::int64_t>(1, static_cast<std::int64_t>(block_bytes / (8 * d)));
  // A read that covers part of a chunk still reads and decodes all of it (parallel HDF5 keeps no chunk
  // cache here), so blocks hold whole chunks and end on chunk boundaries: each chunk is decoded once.
  const std::int64_t chunk = layout_.x_chunked ? layout_.x_chunk_rows : 0;
  if (chunk > 0) block = std::max(chunk, block - block % chunk);
  block = std::min(block, std::max<std::int64_t>(range.size(), 1));
  const std::int64_t ky = layout_.has_y ? k : 0;
  RowMatrix x(block, d), y(block, ky);
  for (std::int64_t r0 = range.begin, r1; r0 < range.end; r0 = r1) {
    r1 = std::min(range.end, r0 + block);
    if (chunk > 0 && r1 < range.end && r1 % chunk != 0 && r1 - r1 % chunk > r0) r1 -= r1 % chunk;
    const std::int64_t m = r1 - r0;
    if (m != x.rows()) {
      x.resize(m, d);
      y.resize(m, ky);
    }
    read_block(x_.get(), r0, m, d, false, x.data(), where(layout_.file, layout_.x_name));
    if (layout_.has_y) read_block(y_.get(), r0, m, k, layout_.y_is_1d, y.data(), where(layout_.file, layout_.y_name));
    for (auto [mat, name] : {std::pair<RowMatrix*, const std::string*>{&x, &layout_.x_name}, {&y, &layout_.y_name}}) {
      const Eigen::Index bad = first_bad_row(*mat);
      if (bad >= 0)
        throw DataError(where(layout_.file, *name) + " contains NaN or Inf at row " + std::to_string(r0 + bad));
    }
    sink(x, y);
  }
}

}  // namespace cadmm::io
