#include "io/dataset_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <tuple>

#include "cadmm/error.hpp"

namespace cadmm::io {

namespace {

// A dataset named by a --*-dataset value (of `file`, or FILE:PATH of another one), for messages.
std::string where(const std::string& file, const std::string& name) {
  const DatasetRef ref = dataset_ref(name, file);
  return "dataset '" + ref.name + "' in '" + ref.file + "'";
}

// Refuses a dataset whose shape claims far more than the file stores for it (an unwritten or forged extent such as
// 10^15 rows), before anything is allocated or read. Compression of real data stays far below the factor used
// (gzip of all-zero doubles is about 1000x).
void check_stored(hid_t ds, const std::string& what) {
  Handle type(H5Dget_type(ds), H5Tclose);
  double claimed = static_cast<double>(H5Tget_size(type.get()));
  for (std::int64_t extent : dataset_shape(ds)) claimed *= static_cast<double>(extent);
  const double stored = static_cast<double>(H5Dget_storage_size(ds));
  if (claimed > 1e6 && claimed > 1e5 * stored)
    throw DataError(what + " claims " + std::to_string(static_cast<long long>(claimed)) + " bytes but the file stores " +
                    std::to_string(static_cast<long long>(stored)) +
                    " for it: its shape is not believable (unwritten or damaged), refused before reading");
}

// Whether two open objects are the same stored object (two names, or one name twice).
bool same_object(hid_t a, hid_t b) {
#if H5_VERSION_GE(1, 12, 0)
  H5O_info2_t ia{}, ib{};
  if (H5Oget_info3(a, &ia, H5O_INFO_BASIC) < 0 || H5Oget_info3(b, &ib, H5O_INFO_BASIC) < 0) return false;
  int cmp = 1;
  return ia.fileno == ib.fileno && H5Otoken_cmp(a, &ia.token, &ib.token, &cmp) >= 0 && cmp == 0;
#else
  H5O_info_t ia{}, ib{};
  if (H5Oget_info2(a, &ia, H5O_INFO_BASIC) < 0 || H5Oget_info2(b, &ib, H5O_INFO_BASIC) < 0) return false;
  return ia.fileno == ib.fileno && ia.addr == ib.addr;
#endif
}

// What a dataset may hold: X and y are float32/64 (SPEC section 3: an integer X or y is an unsupported type, exit 3);
// indices and fold numbers integers; weights either (frequency weights are counts; read as float64, exact to 2^53).
enum class Element { floats, integers, numbers };

// " (the file holds /a, /b, ...)": the datasets to give instead of a name that is not there, or not a dataset.
std::string holdings(hid_t file) {
  const std::string list = contents(file);
  return list.empty() ? std::string(" (the file holds no dataset)") : " (the file holds " + list + ")";
}

// The error for a dataset `name` that the file does not have: what it holds, and where AnnData keeps its columns.
DataError missing_dataset(hid_t file, const std::string& path, const std::string& name) {
  // AnnData keeps its per-row columns (a response, weights, fold labels) in /obs.
  const bool anndata = name.rfind("/obs", 0) != 0 && object_exists(file, "/obs");
  return DataError(where(path, name) + " does not exist" + holdings(file) +
                   (anndata ? "; an AnnData file keeps its per-row columns in /obs (--y-dataset /obs/NAME)" : "") +
                   (name.find(',') != std::string::npos
                        ? "; several targets are one (n, k) dataset (AnnData: adata.obsm['Y'] = adata.obs[['a', "
                          "'b']].to_numpy(), then --y-dataset /obsm/Y)"
                        : ""));
}

// Opens a numeric dataset of the given element kind.
Handle open_dataset(hid_t file, const std::string& path, const std::string& name, Element element = Element::floats) {
  const bool integers = element == Element::integers;
  if (!object_exists(file, name)) throw missing_dataset(file, path, name);
  Handle obj(H5Oopen(file, name.c_str(), H5P_DEFAULT), H5Oclose);
  if (obj.valid() && H5Iget_type(obj.get()) == H5I_GROUP && read_string_attribute(obj.get(), "encoding-type") == "csc_matrix")
    throw DataError("'" + name + "' in '" + path + "' is a CSC sparse matrix (AnnData csc_matrix); cadmm reads CSR, "
                    "row by row: write it as CSR first (anndata: adata.X = adata.X.tocsr(); adata.write_h5ad(...); "
                    "SciPy: X.tocsr(); R: the @x, @i and @p of t(X), a dgCMatrix, are the data, indices and indptr "
                    "of X's CSR, with encoding-type \"csr_matrix\" and shape c(n, d))");
  if (is_categorical(file, name))
    throw DataError(where(path, name) + " is a categorical column (AnnData keeps a column of repeated values as codes "
                    "and categories): cadmm reads numbers; store the numbers themselves (pandas: "
                    "df[col].astype('float64'), or .cat.codes for one number per category)");
  if (obj.valid() && H5Iget_type(obj.get()) == H5I_GROUP && object_exists(file, name + "/data") &&
      object_exists(file, name + "/indices") && object_exists(file, name + "/indptr"))
    throw DataError(where(path, name) + " is a group of data, indices and indptr without the attribute that says how "
                    "to read them (encoding-type \"csr_matrix\" or \"csc_matrix\", with shape [n, d]: SciPy's and "
                    "AnnData's convention). For CSR rows, with h5py: g.attrs[\"encoding-type\"] = \"csr_matrix\"; "
                    "g.attrs[\"shape\"] = X.shape");
  if (!obj.valid() || H5Iget_type(obj.get()) != H5I_DATASET) throw DataError(where(path, name) + " is not a dataset" + holdings(file));
  Handle ds(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) throw DataError("cannot open " + where(path, name));
  Handle type(H5Dget_type(ds.get()), H5Tclose);
  const std::size_t size = H5Tget_size(type.get());
  const H5T_class_t cls = H5Tget_class(type.get());
  const bool ok = (element != Element::floats && cls == H5T_INTEGER) ||
                  (element != Element::integers && cls == H5T_FLOAT && (size == 4 || size == 8));
  if (cls == H5T_COMPOUND)
    throw DataError(where(path, name) + " is a compound (table) dataset, as pandas' to_hdf(format='table'), PyTables "
                    "and R's hdf5r (a data.frame) write: cadmm reads plain 2-D arrays; write it with df.to_hdf(FILE, "
                    "key='df', format='fixed') and give --x-dataset /df/block0_values --y-column NAME (R: write the "
                    "features as.matrix(df[, features]) and y as its own vector, and read them with --x-layout "
                    "features-by-rows --y-dataset NAME)");
  if (ok) check_filters(ds.get(), where(path, name));
  if (!ok) {
    const char* kind = cls == H5T_INTEGER ? "integer" : cls == H5T_STRING ? "string" : cls == H5T_FLOAT ? "float"
                                                                                                         : "non-numeric";
    throw DataError(where(path, name) + " has an unsupported element type (" + kind + ", " + std::to_string(8 * size) +
                    " bits); cadmm reads " + (integers ? "integers (int32 or int64)" :
                    "float32 or float64 (with NumPy: array.astype('float64'); an AnnData column: adata.obs[NAME] = "
                    "adata.obs[NAME].astype('float64'); R: storage.mode(M) <- \"double\")"));
  }
  return ds;
}

// pandas' to_hdf(format='fixed') keeps each dtype of a frame in its own block: /df/block0_values (floats),
// /df/block1_values (integers), ... X named as one block of a frame whose other blocks hold numbers would leave those
// columns out without a word (found by a new-user trial: an integer column of a house-price frame). Refused unless
// --x-columns chose X's columns; blocks of strings are no features and pass. A --y-column in another block is refused
// saying where it is (y is read from X's table).
void refuse_one_block_of_a_frame(hid_t file, const std::string& path, const std::string& x_name, bool columns_chosen,
                                 const std::string& y_column) {
  const std::size_t slash = x_name.rfind('/'), block = x_name.rfind("block");
  const std::string group = slash == std::string::npos ? "/" : x_name.substr(0, std::max<std::size_t>(slash, 1));
  if (columns_chosen || block == std::string::npos || (slash != std::string::npos && block != slash + 1) ||
      x_name.size() < 7 || x_name.compare(x_name.size() - 7, 7, "_values") != 0)
    return;
  Handle g(H5Oopen(file, group.c_str(), H5P_DEFAULT), H5Oclose);
  double blocks = 0;
  if (!g.valid() || read_string_attribute(g.get(), "pandas_type") != "frame" ||
      !read_number_attribute(g.get(), "nblocks", blocks))
    return;
  const std::string prefix = group == "/" ? "/block" : group + "/block";
  std::string left_out;
  for (int j = 0; j < static_cast<int>(blocks); ++j) {
    const std::string values = prefix + std::to_string(j) + "_values", items = prefix + std::to_string(j) + "_items";
    if (values == x_name || values.substr(1) == x_name || !object_exists(file, values)) continue;
    Handle ds(H5Dopen2(file, values.c_str(), H5P_DEFAULT), H5Dclose);
    if (!ds.valid()) continue;
    Handle type(H5Dget_type(ds.get()), H5Tclose);
    const H5T_class_t kind = H5Tget_class(type.get());
    if (kind != H5T_INTEGER && kind != H5T_FLOAT && kind != H5T_ENUM) continue;
    const std::string kind_name = kind == H5T_FLOAT ? "float" : kind == H5T_INTEGER ? "integer" : "bool";
    std::string names;
    try {
      for (const std::string& n : read_strings(file, items, items)) {
        if (!y_column.empty() && n == y_column)
          throw UsageError("--y-column " + y_column + ": that column is in " + values + " (" + kind_name +
                           "), another block of the pandas frame '" + group + "' than X's " + x_name +
                           "; y is read from X's table: write the frame as one float block "
                           "(df.astype('float64').to_hdf(...)), or y as a dataset of its own (--y-dataset)");
        names += (names.empty() ? "" : ", ") + n;
      }
    } catch (const DataError&) {
      names = "?";
    }
    left_out += (left_out.empty() ? "" : "; ") + names + " (" + values + ", " + kind_name + ")";
  }
  if (!left_out.empty())
    throw DataError(where(path, x_name) + " is one block of the pandas frame '" + group + "', whose other numeric "
                    "columns would be left out of X: " + left_out + ". Write the frame as one float block "
                    "(df.astype('float64').to_hdf(...), after dropping text columns), or name X's columns with "
                    "--x-columns (with --y-column) to leave them out on purpose");
}

// float32 storage (X kept in single precision where the plan allows); integers are read as float64.
bool is_float32(hid_t ds) {
  Handle type(H5Dget_type(ds), H5Tclose);
  return H5Tget_class(type.get()) == H5T_FLOAT && H5Tget_size(type.get()) == 4;
}

bool is_csr_group(hid_t file, const std::string& name) {
  if (!object_exists(file, name)) return false;
  Handle obj(H5Oopen(file, name.c_str(), H5P_DEFAULT), H5Oclose);
  return obj.valid() && H5Iget_type(obj.get()) == H5I_GROUP &&
         read_string_attribute(obj.get(), "encoding-type") == "csr_matrix";
}

// The `shape` attribute [n, d] of a CSR group.
std::vector<std::int64_t> csr_shape(hid_t file, const std::string& path, const std::string& name) {
  Handle obj(H5Oopen(file, name.c_str(), H5P_DEFAULT), H5Oclose);
  std::vector<std::int64_t> shape(2, -1);
  if (H5Aexists(obj.get(), "shape") <= 0) throw DataError(where(path, name) + " (CSR) has no shape attribute");
  Handle attr(H5Aopen(obj.get(), "shape", H5P_DEFAULT), H5Aclose);
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  if (H5Sget_simple_extent_npoints(space.get()) != 2 || H5Aread(attr.get(), H5T_NATIVE_INT64, shape.data()) < 0)
    throw DataError(where(path, name) + " (CSR): attribute shape must be [rows, features]");
  return shape;
}

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

// With X read by its columns (--x-layout features-by-rows), a 2-D array beside it (Y, an offset) written by the same
// column-major writer is stored (k, n): its second extent is the rows and its first is not.
bool stored_by_columns(const std::vector<std::int64_t>& shape, std::int64_t rows) {
  return shape.size() == 2 && shape[0] != rows && shape[1] == rows;
}

// Rows [first, first + rows) of an array stored (cols, n), as column-major writers (R, Fortran, MATLAB) store an
// n x cols matrix: the stored array's columns, transposed in memory.
RowMatrix read_stored_columns(hid_t ds, std::int64_t first, std::int64_t rows, std::int64_t cols, const std::string& what) {
  RowMatrix stored(cols, rows);
  Handle fspace(H5Dget_space(ds), H5Sclose);
  const hsize_t start[2] = {0, static_cast<hsize_t>(first)}, count[2] = {static_cast<hsize_t>(cols), static_cast<hsize_t>(rows)};
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  Handle mspace(H5Screate_simple(2, count, nullptr), H5Sclose);
  if (H5Dread(ds, H5T_NATIVE_DOUBLE, mspace.get(), fspace.get(), H5P_DEFAULT, stored.data()) < 0)
    throw RuntimeFailure("reading rows " + std::to_string(first) + ".." + std::to_string(first + rows - 1) + " of " +
                         what + " (stored by columns) failed");
  return stored.transpose();
}

// Where a block first holds a NaN or Inf (" contains NaN or Inf at row 16 (0-based, column 3)"; the column when
// there are several), or "" when all is finite. first: the block's first row in the file.
std::string nonfinite_at(const RowMatrix& m, std::int64_t first) {
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    if (m.row(i).allFinite()) continue;
    Eigen::Index column = 0;
    while (std::isfinite(m(i, column))) ++column;
    return " contains NaN or Inf at row " + std::to_string(first + i) + " (0-based" +
           (m.cols() > 1 ? ", column " + std::to_string(column) : std::string()) +
           "): a missing value (NA) or an overflow; drop or fill such rows first (pandas: dropna, R: na.omit)";
  }
  return "";
}

}  // namespace

std::string layout_warning(const DataLayout& l) {
  // Names from AnnData's /var or a pandas frame's items come from row-major (Python) writers.
  const bool python_names = l.names_from.rfind("/var/", 0) == 0 || l.names_from.rfind("/raw/var/", 0) == 0 ||
                            (l.names_from.size() > 6 && l.names_from.compare(l.names_from.size() - 6, 6, "_items") == 0);
  if (l.sparse || l.x_transposed || l.layout_given || python_names) return "";
  const std::string what = "'" + l.file + "' " + l.x_name;
  if (l.table_columns > 0 && l.rows < l.table_columns)
    return what + " is a table of " + std::to_string(l.rows) + " rows and " + std::to_string(l.table_columns) +
           " columns: if a column-major writer (R's hdf5r, MATLAB) stored it, its rows are the columns: add --x-layout "
           "features-by-rows";
  if (l.table_columns == 0 && l.rows == l.features)
    return what + " is square (" + std::to_string(l.rows) + " x " + std::to_string(l.features) + "), so its shape "
           "cannot tell whether it is stored by rows: if R, Fortran or MATLAB (column-major) wrote it, its rows are the "
           "features: add --x-layout features-by-rows";
  return "";
}

DataReader::DataReader(const std::string& file, const std::string& x_name, const std::string& y_name,
                         MPI_Comm comm, bool y_optional, const DataSelection& select) {
  if (dataset_ref(x_name, file).file != file)
    throw UsageError("--x-dataset " + x_name + ": X is read from the --data file; give its file as --data (the other "
                     "dataset options may name another file as FILE:PATH)");
  layout_.file = file;
  layout_.x_name = x_name;
  layout_.y_name = y_name;
  file_ = open_file_read(file, comm);
  layout_.sparse = is_csr_group(file_.get(), x_name);
  std::vector<std::int64_t> xs;
  if (layout_.sparse) {
    data_ = open_dataset(file_.get(), file, x_name + "/data");
    indices_ = open_dataset(file_.get(), file, x_name + "/indices", Element::integers);
    indptr_ = open_dataset(file_.get(), file, x_name + "/indptr", Element::integers);
    xs = csr_shape(file_.get(), file, x_name);
    const auto ds = dataset_shape(data_.get()), is = dataset_shape(indices_.get()), ps = dataset_shape(indptr_.get());
    if (ds.size() != 1 || is.size() != 1 || ps.size() != 1 || ds[0] != is[0])
      throw DataError(where(file, x_name) + " (CSR): data and indices must be 1-D of equal length");
    if (xs[0] < 0 || xs[1] < 0 || ps[0] != xs[0] + 1)
      throw DataError(where(file, x_name) + " (CSR): indptr has " + std::to_string(ps[0]) + " entries, shape says " +
                      std::to_string(xs[0]) + " rows (needs rows + 1)");
    layout_.nnz = ds[0];
    layout_.x_float32 = is_float32(data_.get());
  } else {
    x_ = open_dataset(file_.get(), file, x_name);
    xs = dataset_shape(x_.get());
    refuse_one_block_of_a_frame(file_.get(), file, x_name, !select.x_columns.empty(), select.y_column);
  }
  if (xs.size() != 2)
    throw DataError(where(file, x_name) + " must be 2-D (rows, features); it has " + std::to_string(xs.size()) +
                    " dimensions");
  if (select.features_by_rows && layout_.sparse)
    throw UsageError("--x-layout features-by-rows: " + where(file, x_name) +
                     " is a sparse (CSR) matrix, stored by rows already");
  if (!select.y_column.empty() && layout_.sparse)
    throw UsageError("--y-column: " + where(file, x_name) + " is a sparse (CSR) matrix, not a table with y among its " +
                     "columns: give y's own dataset with --y-dataset" +
                     (!object_exists(file_.get(), "/obs") ? ""
                      : select.y_column.find(',') == std::string::npos
                          ? " (in an AnnData file, /obs/" + select.y_column + ")"
                          : " (several AnnData columns: put them in adata.obsm['Y'] = adata.obs[[...]].to_numpy('float64') "
                            "and give /obsm/Y)"));
  if (!select.x_columns.empty() && select.y_column.empty())
    throw UsageError("--x-columns: only with --y-column (X and y as columns of one table)");
  if (select.features_by_rows) {
    std::swap(xs[0], xs[1]);
    layout_.x_transposed = true;
  }
  layout_.layout_given = select.layout_given;
  std::vector<std::int64_t> ys;
  if (!select.y_column.empty()) {  // X and y: columns of one table
    select_table(select, xs[1]);
    xs[1] = static_cast<std::int64_t>(x_columns_.size());
    ys = {xs[0]};
  } else {
    const Source y_at = source(y_name);
    layout_.has_y = !y_name.empty() && (!y_optional || object_exists(y_at.file, y_at.ref.name));
    if (layout_.has_y) {
      y_ = open_dataset(y_at.file, y_at.ref.file, y_at.ref.name);
      if (same_object(x_.valid() ? x_.get() : data_.get(), y_.get()))
        throw UsageError("--x-dataset and --y-dataset name the same data (" + where(file, y_name) + "): y would be "
                         "among the features; for a table holding every column (pandas' to_hdf, a CSV with its target "
                         "inside), name y's column with --y-column NAME|J");
    }
    ys = layout_.has_y ? dataset_shape(y_.get()) : std::vector<std::int64_t>{xs[0], 0};
    if (ys.size() != 1 && ys.size() != 2)
      throw DataError(where(file, y_name) + " must be 1-D (rows,) or 2-D (rows, targets)");
    // From the same column-major writer as X, a multi-target Y is stored (k, n) too.
    if (select.features_by_rows && layout_.has_y && stored_by_columns(ys, xs[0])) {
      std::swap(ys[0], ys[1]);
      layout_.y_transposed = true;
    }
  }
  layout_.rows = xs[0];
  layout_.features = xs[1];
  layout_.y_is_1d = ys.size() == 1;
  layout_.targets = layout_.y_is_1d ? 1 : ys[1];
  if (layout_.rows == 0 || layout_.features == 0) throw DataError(where(file, x_name) + " is empty");
  if (layout_.has_y && layout_.targets == 0) throw DataError(where(file, y_name) + " has no targets");
  if (ys[0] != layout_.rows) {
    // X written by R, Fortran or MATLAB (column-major) looks transposed to HDF5: (d, n) with y's n rows.
    // A one-column y from R alike: (1, n).
    const bool transposed = !layout_.sparse && !layout_.x_transposed &&
                            (xs[1] == ys[0] || (ys.size() == 2 && ys[0] == 1 && ys[1] == xs[1]));
    throw DataError("shape mismatch in '" + file + "': " + x_name + " has " + std::to_string(layout_.rows) +
                    " rows but " + layout_.y_name + " has " + std::to_string(ys[0]) +
                    (transposed ? kColumnMajorHint : ""));
  }
  if (layout_.table_columns == 0) {
    layout_.feature_names = column_names(select.names_dataset, layout_.features);
    if (layout_.feature_names.empty()) layout_.names_from.clear();
  }

  if (layout_.sparse) {
    if (indptr_at(0) != 0 || indptr_at(layout_.rows) != layout_.nnz)
      throw DataError(where(file, x_name) + " (CSR): indptr must start at 0 and end at nnz = " +
                      std::to_string(layout_.nnz) + " (it ends at " + std::to_string(indptr_at(layout_.rows)) + ")");
    return;
  }
  layout_.nnz = layout_.rows * layout_.features;
  layout_.x_float32 = is_float32(x_.get());
  Handle dcpl(H5Dget_create_plist(x_.get()), H5Pclose);
  layout_.x_chunked = H5Pget_layout(dcpl.get()) == H5D_CHUNKED;
  layout_.x_compressed = H5Pget_nfilters(dcpl.get()) > 0;
  if (layout_.x_chunked) {
    hsize_t chunk[2] = {0, 0};
    H5Pget_chunk(dcpl.get(), 2, chunk);
    layout_.x_chunk_rows = static_cast<std::int64_t>(chunk[layout_.x_transposed ? 1 : 0]);
  }
}


std::int64_t DataReader::indptr_at(std::int64_t row) const {
  std::int64_t v = 0;
  Handle fspace(H5Dget_space(indptr_.get()), H5Sclose);
  const hsize_t start = static_cast<hsize_t>(row), count = 1;
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr);
  Handle mspace(H5Screate_simple(1, &count, nullptr), H5Sclose);
  if (H5Dread(indptr_.get(), H5T_NATIVE_INT64, mspace.get(), fspace.get(), H5P_DEFAULT, &v) < 0)
    throw RuntimeFailure("reading indptr of " + where(layout_.file, layout_.x_name) + " failed");
  return v;
}

void DataReader::verify_stored() const {
  const std::string x = where(layout_.file, layout_.x_name);
  if (layout_.sparse) {
    check_stored(indptr_.get(), x + " (indptr)");
    check_stored(data_.get(), x + " (data)");
    check_stored(indices_.get(), x + " (indices)");
  } else {
    check_stored(x_.get(), x);
  }
  if (layout_.has_y && y_column_ < 0) check_stored(y_.get(), where(layout_.file, layout_.y_name));
}

std::int64_t DataReader::nnz_in(RowRange range) const {
  if (!layout_.sparse) return range.size() * layout_.features;
  return range.size() == 0 ? 0 : indptr_at(range.end) - indptr_at(range.begin);
}

RowRange DataReader::partition(int rank, int ranks) const {
  if (!layout_.sparse) return partition_rows(layout_.rows, rank, ranks);
  // Rank r starts at the first row whose indptr reaches r/P of the nonzeros: equal shares of the work, found with
  // about log2(n) single-entry reads of indptr per boundary. Every rank computes its neighbours' boundaries alike.
  const auto boundary = [&](int r) -> std::int64_t {
    if (r <= 0) return 0;
    if (r >= ranks) return layout_.rows;
    const double target = static_cast<double>(layout_.nnz) * r / ranks;
    std::int64_t lo = 0, hi = layout_.rows;  // first row with indptr >= target lies in [lo, hi]
    while (lo < hi) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      if (static_cast<double>(indptr_at(mid)) >= target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  RowRange r{boundary(rank), boundary(rank + 1)};
  if (r.end < r.begin) r.end = r.begin;  // a decreasing indptr: reading the range reports it
  return r;
}

void DataReader::read_x(std::int64_t first, std::int64_t rows, RowMatrix& x, RowMatrix* y) const {
  const std::string what = where(layout_.file, layout_.x_name);
  const std::int64_t d = layout_.features;
  // Rows [first, first + rows) of the stored array of `width` columns; stored (width, n), as column-major writers
  // store an n x width matrix, its columns [first, first + rows), transposed.
  const auto stored_rows = [&](std::int64_t width, RowMatrix& out) {
    if (layout_.x_transposed) {
      out = read_stored_columns(x_.get(), first, rows, width, what);
    } else {
      out.resize(rows, width);
      read_block(x_.get(), first, rows, width, false, out.data(), what);
    }
  };
  if (layout_.table_columns == 0) {
    stored_rows(d, x);
    return;
  }
  // A table (R's as.matrix of a data frame, stored (columns, n) when column-major): its rows once, then X's columns
  // and y's.
  RowMatrix table;
  stored_rows(layout_.table_columns, table);
  for (std::int64_t c = 0; c < d; ++c) x.col(c) = table.col(x_columns_[static_cast<std::size_t>(c)]);
  if (y) {
    y->col(0) = table.col(y_column_);
    if (subtract_offset_) {
      RowMatrix off;
      read_offset(first, rows, off);
      *y -= off;
    }
  }
}

void DataReader::read_y(std::int64_t first, std::int64_t rows, RowMatrix& y) const {
  if (!layout_.has_y) return;
  if (y_column_ >= 0) {  // only sparse rows call this alone, and a table is never sparse
    RowMatrix x(rows, layout_.features);
    read_x(first, rows, x, &y);
    return;
  }
  if (layout_.y_transposed)
    y = read_stored_columns(y_.get(), first, rows, layout_.targets, where(layout_.file, layout_.y_name));
  else
    read_block(y_.get(), first, rows, layout_.targets, layout_.y_is_1d, y.data(), where(layout_.file, layout_.y_name));
  if (!subtract_offset_) return;
  RowMatrix off;
  read_offset(first, rows, off);
  y -= off;
}

DataReader::Source DataReader::source(const std::string& value) const {
  DatasetRef ref = dataset_ref(value, layout_.file);
  if (ref.file == layout_.file) return {file_.get(), std::move(ref)};
  auto it = other_files_.find(ref.file);
  if (it == other_files_.end()) it = other_files_.emplace(ref.file, open_file_read(ref.file, MPI_COMM_NULL, "file")).first;
  return {it->second.get(), std::move(ref)};
}

void DataReader::set_offset(const std::string& name, std::int64_t targets, bool subtract) {
  const std::string what = where(layout_.file, name);
  const Source at = source(name);
  offset_ = open_dataset(at.file, at.ref.file, at.ref.name);
  std::vector<std::int64_t> s = dataset_shape(offset_.get());
  // From the same column-major writer as X (R), an (n, k) offset is stored (k, n), as Y is.
  offset_transposed_ = layout_.x_transposed && stored_by_columns(s, layout_.rows);
  if (offset_transposed_) std::swap(s[0], s[1]);
  if (s.empty() || s.size() > 2 || s[0] != layout_.rows || (s.size() == 2 && s[1] != targets && s[1] != 1)) {
    std::string shape;
    for (std::int64_t e : s) shape += (shape.empty() ? "" : ", ") + std::to_string(e);
    const bool rows_ok = s.size() == 2 && s[0] == layout_.rows;
    throw DataError("--offset-dataset: " + what + " has shape (" + shape + (s.size() == 1 ? ",)" : ")") + "; " +
                    (rows_ok ? "its " + std::to_string(s[1]) + " columns are not the " + std::to_string(targets) +
                                   " target(s) of y, "
                             : "it must have one row per row of X (" + std::to_string(layout_.rows) + "), ") +
                    "as (rows,) or (rows, " + std::to_string(targets) + ")");
  }
  offset_1d_ = s.size() == 1;
  offset_targets_ = targets;
  subtract_offset_ = subtract;
  layout_.offset_name = name;
}

void DataReader::read_offset(std::int64_t first, std::int64_t rows, RowMatrix& out) const {
  const std::string what = where(layout_.file, layout_.offset_name);
  const std::vector<std::int64_t> s = dataset_shape(offset_.get());
  const std::int64_t cols = s.size() == 2 ? s[offset_transposed_ ? 0 : 1] : 1;
  RowMatrix stored(rows, cols);
  if (offset_transposed_)
    stored = read_stored_columns(offset_.get(), first, rows, cols, what);
  else if (rows > 0)
    read_block(offset_.get(), first, rows, cols, offset_1d_, stored.data(), what);
  if (const std::string bad = nonfinite_at(stored, first); !bad.empty()) throw DataError(what + " (the offset)" + bad);
  out = cols == offset_targets_ ? stored : RowMatrix(stored.replicate(1, offset_targets_));
}

void DataReader::set_weights(const std::string& name) {
  const std::string what = where(layout_.file, name);
  const Source at = source(name);
  weights_ = open_dataset(at.file, at.ref.file, at.ref.name, Element::numbers);
  const std::vector<std::int64_t> s = dataset_shape(weights_.get());
  if (s.empty() || s.size() > 2 || s[0] != layout_.rows || (s.size() == 2 && s[1] != 1))
    throw DataError("--weights-dataset: " + what + " must hold one weight per row of X (" + std::to_string(layout_.rows) +
                    "), as (rows,)");
  layout_.weights_name = name;
}

void DataReader::read_weights(std::int64_t first, std::int64_t rows, std::vector<double>& out) const {
  const std::string what = where(layout_.file, layout_.weights_name);
  out.resize(static_cast<std::size_t>(rows));
  if (rows > 0) read_block(weights_.get(), first, rows, 1, dataset_shape(weights_.get()).size() == 1, out.data(), what);
  for (std::int64_t i = 0; i < rows; ++i) {
    const double w = out[static_cast<std::size_t>(i)];
    if (!std::isfinite(w) || w < 0)
      throw DataError(what + " (the weights) holds " + (std::isfinite(w) ? std::to_string(w) : std::string("NaN or Inf")) +
                      " at row " + std::to_string(first + i) + " (0-based); weights must be finite and >= 0");
  }
}

void DataReader::read_sparse_rows(RowRange range, std::size_t block_bytes, const SparseSink& sink) const {
  if (range.size() == 0) return;
  const std::string what = where(layout_.file, layout_.x_name);
  // This rank's indptr entries (rows + 1), then blocks of rows of about block_bytes of nonzeros.
  std::vector<std::int64_t> ptr(static_cast<std::size_t>(range.size() + 1));
  {
    Handle fspace(H5Dget_space(indptr_.get()), H5Sclose);
    const hsize_t start = static_cast<hsize_t>(range.begin), count = ptr.size();
    H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr);
    Handle mspace(H5Screate_simple(1, &count, nullptr), H5Sclose);
    if (H5Dread(indptr_.get(), H5T_NATIVE_INT64, mspace.get(), fspace.get(), H5P_DEFAULT, ptr.data()) < 0)
      throw RuntimeFailure("reading indptr of " + what + " failed");
  }
  for (std::size_t i = 0; i + 1 < ptr.size(); ++i)
    if (ptr[i + 1] < ptr[i] || ptr[i] < 0 || ptr[i + 1] > layout_.nnz)
      throw DataError(what + " (CSR): indptr is not monotone within [0, nnz] at row " +
                      std::to_string(range.begin + static_cast<std::int64_t>(i)));
  const std::int64_t per_block = std::max<std::int64_t>(1, static_cast<std::int64_t>(block_bytes / 12));
  std::vector<std::int64_t> cols, local_ptr;
  std::vector<double> vals;
  RowMatrix y;
  for (std::int64_t r0 = 0, r1; r0 < range.size(); r0 = r1) {
    r1 = r0 + 1;
    while (r1 < range.size() && ptr[static_cast<std::size_t>(r1 + 1)] - ptr[static_cast<std::size_t>(r0)] <= per_block) ++r1;
    const std::int64_t first = ptr[static_cast<std::size_t>(r0)], count = ptr[static_cast<std::size_t>(r1)] - first;
    cols.resize(static_cast<std::size_t>(count));
    vals.resize(static_cast<std::size_t>(count));
    if (count > 0) {
      for (auto [ds, type, out] : {std::tuple<hid_t, hid_t, void*>{indices_.get(), H5T_NATIVE_INT64, cols.data()},
                                   {data_.get(), H5T_NATIVE_DOUBLE, vals.data()}}) {
        Handle fspace(H5Dget_space(ds), H5Sclose);
        const hsize_t start = static_cast<hsize_t>(first), n = static_cast<hsize_t>(count);
        H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, &start, nullptr, &n, nullptr);
        Handle mspace(H5Screate_simple(1, &n, nullptr), H5Sclose);
        if (H5Dread(ds, type, mspace.get(), fspace.get(), H5P_DEFAULT, out) < 0)
          throw RuntimeFailure("reading rows " + std::to_string(range.begin + r0) + ".." +
                               std::to_string(range.begin + r1 - 1) + " of " + what + " failed");
      }
    }
    local_ptr.resize(static_cast<std::size_t>(r1 - r0 + 1));
    for (std::int64_t r = r0; r <= r1; ++r)
      local_ptr[static_cast<std::size_t>(r - r0)] = ptr[static_cast<std::size_t>(r)] - first;
    for (std::int64_t r = r0; r < r1; ++r)
      for (std::int64_t e = ptr[static_cast<std::size_t>(r)] - first; e < ptr[static_cast<std::size_t>(r + 1)] - first; ++e) {
        const std::int64_t c = cols[static_cast<std::size_t>(e)];
        if (c < 0 || c >= layout_.features)
          throw DataError(what + " (CSR): column index " + std::to_string(c) + " out of [0, " +
                          std::to_string(layout_.features) + ") at row " + std::to_string(range.begin + r));
        if (!std::isfinite(vals[static_cast<std::size_t>(e)]))
          throw DataError(what + " contains NaN or Inf at row " + std::to_string(range.begin + r) + " (0-based, column " +
                          std::to_string(c) + ")");
      }
    // An owned CSR with the file's entries as they are: unsorted or repeated indices within a row are fine for
    // every use (products and Gram pairs sum repeats).
    SparseRows x(r1 - r0, layout_.features);
    x.resizeNonZeros(count);
    std::copy(local_ptr.begin(), local_ptr.end(), x.outerIndexPtr());
    std::copy(cols.begin(), cols.end(), x.innerIndexPtr());
    std::copy(vals.begin(), vals.end(), x.valuePtr());
    y.resize(r1 - r0, layout_.has_y ? layout_.targets : 0);
    read_y(range.begin + r0, r1 - r0, y);
    if (const std::string bad = layout_.has_y ? nonfinite_at(y, range.begin + r0) : ""; !bad.empty())
      throw DataError(where(layout_.file, layout_.y_name) + bad);
    sink(x, y);
  }
}

std::vector<std::string> DataReader::column_names(const std::string& dataset, std::int64_t count) {
  if (!dataset.empty()) {
    const std::string what = "--feature-names-dataset: " + where(layout_.file, dataset);
    const Source at = source(dataset);
    std::vector<std::string> names = read_strings(at.file, at.ref.name, what);
    if (!names_fit(names.size(), count)) {
      // As many names as stored rows: a column-major writer's (R's) matrix, its columns stored as rows.
      const std::vector<std::int64_t> stored = x_.valid() ? dataset_shape(x_.get()) : std::vector<std::int64_t>{};
      const bool by_rows = !layout_.x_transposed && stored.size() == 2 &&
                           static_cast<std::int64_t>(names.size()) == stored[0] && stored[0] != stored[1];
      throw DataError(what + " holds " + std::to_string(names.size()) + " names; " + layout_.x_name + " has " +
                      std::to_string(count) + (layout_.table_columns > 0 ? " columns" : " features") +
                      (by_rows ? " and " + std::to_string(stored[0]) + " rows: if R, Fortran or MATLAB (column-major) "
                                 "wrote it, its rows are the columns: add --x-layout features-by-rows"
                               : ""));
    }
    layout_.names_from = dataset;
    return names;
  }
  std::vector<std::string> candidates;
  const std::string& x = layout_.x_name;
  // AnnData: /X and its layers are described by /var, scanpy's adata.raw (/raw/X) by /raw/var.
  const std::string var_group = x == "/X" || x == "X" || x.rfind("/layers/", 0) == 0 ? "/var"
                                : x == "/raw/X" || x == "raw/X"                       ? "/raw/var"
                                                                                      : "";
  if (!var_group.empty() && object_exists(file_.get(), var_group)) {
    Handle var(H5Oopen(file_.get(), var_group.c_str(), H5P_DEFAULT), H5Oclose);
    const std::string index = var.valid() ? read_string_attribute(var.get(), "_index") : "";
    if (!index.empty()) candidates.push_back(var_group + "/" + index);
  }
  const std::size_t values = x.rfind("_values");
  if (values != std::string::npos && values + 7 == x.size() && x.find("block") != std::string::npos)
    candidates.push_back(x.substr(0, values) + "_items");
  candidates.push_back("/feature_names");
  for (const std::string& c : candidates) {
    if (!object_exists(file_.get(), c)) continue;
    try {
      std::vector<std::string> names = read_strings(file_.get(), c, where(layout_.file, c));
      if (!names_fit(names.size(), count)) continue;
      layout_.names_from = c;
      return names;
    } catch (const DataError&) {
      // not names after all: the file names no columns
    }
  }
  return {};
}

bool DataReader::x_names_of_table(std::size_t names, std::int64_t count) const {
  return layout_.table_columns > 0 && static_cast<std::int64_t>(names) + 1 == count;
}

bool DataReader::names_fit(std::size_t names, std::int64_t count) const {
  return static_cast<std::int64_t>(names) == count || x_names_of_table(names, count);
}

void DataReader::select_table(const DataSelection& select, std::int64_t m) {
  layout_.table_columns = m;
  std::vector<std::string> names = column_names(select.names_dataset, m);
  // Names of X's columns alone, one fewer than the table's (R's colnames(X) kept apart from y): y's column is chosen
  // by its number and named by none.
  std::vector<std::string> x_names;
  if (x_names_of_table(names.size(), m)) x_names.swap(names);
  // A column by its name, or by its 0-based number.
  const auto column = [&](const std::string& text, const std::string& option) -> std::int64_t {
    const auto at = std::find(names.begin(), names.end(), text);
    if (at != names.end()) return at - names.begin();
    std::int64_t j = -1;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), j);
    if (r.ec == std::errc() && r.ptr == text.data() + text.size() && j >= 0 && j < m) return j;
    std::string list;
    for (std::size_t i = 0; i < names.size() && i < 12; ++i) list += (i ? ", " : "") + names[i];
    throw UsageError(option + ": " + where(layout_.file, layout_.x_name) + " has no column '" + text + "' (" +
                     std::to_string(m) + " columns, 0-based" +
                     (names.empty() ? std::string(", no names") : ": " + list + (names.size() > 12 ? ", ..." : "")) + ")");
  };
  const std::string& y = select.y_column;
  std::int64_t number = -1;
  if (!x_names.empty() && std::from_chars(y.data(), y.data() + y.size(), number).ptr != y.data() + y.size())
    throw UsageError("--y-column: '" + y + "': " + layout_.names_from + " holds " + std::to_string(x_names.size()) +
                     " names for the table's " + std::to_string(m) +
                     " columns, X's alone (y's has none), so give y's column by its number (0-based)");
  y_column_ = column(select.y_column, "--y-column");
  if (!x_names.empty()) {
    names = std::move(x_names);
    names.insert(names.begin() + y_column_, std::string());
  }
  if (select.x_columns.empty()) {
    for (std::int64_t j = 0; j < m; ++j)
      if (j != y_column_) x_columns_.push_back(j);
  } else {
    std::size_t s = 0;
    while (s <= select.x_columns.size()) {
      const std::size_t comma = std::min(select.x_columns.find(',', s), select.x_columns.size());
      const std::int64_t j = column(select.x_columns.substr(s, comma - s), "--x-columns");
      if (j == y_column_) throw UsageError("--x-columns: column '" + select.x_columns.substr(s, comma - s) + "' is y (--y-column)");
      if (std::find(x_columns_.begin(), x_columns_.end(), j) != x_columns_.end())
        throw UsageError("--x-columns: column '" + select.x_columns.substr(s, comma - s) + "' is given twice");
      x_columns_.push_back(j);
      s = comma + 1;
    }
  }
  if (x_columns_.empty()) throw UsageError("--y-column: the table has no other column to be X");
  layout_.y_name = layout_.x_name + ", column " + std::to_string(y_column_) +
                   (names.empty() || names[static_cast<std::size_t>(y_column_)].empty()
                        ? "" : " (" + names[static_cast<std::size_t>(y_column_)] + ")");
  if (!names.empty())
    for (std::int64_t j : x_columns_) layout_.feature_names.push_back(names[static_cast<std::size_t>(j)]);
}

std::vector<std::int64_t> DataReader::read_int_rows(const std::string& value, RowRange range) const {
  const std::string what = where(layout_.file, value);
  const auto [file, ref] = source(value);
  const std::string& name = ref.name;
  if (!object_exists(file, name)) throw missing_dataset(file, ref.file, name);
  // An AnnData categorical column (fold labels as text): its codes 0..K-1 split the rows as its labels do.
  const bool categorical = is_categorical(file, name);
  const std::string stored = categorical ? name + "/codes" : name;
  Handle ds(H5Dopen2(file, stored.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) throw DataError(what + " is not a dataset");
  check_filters(ds.get(), what);
  Handle type(H5Dget_type(ds.get()), H5Tclose);
  // R's numeric vectors and pandas' columns with a missing value are floats: whole numbers in them are fold numbers.
  const H5T_class_t type_class = H5Tget_class(type.get());
  if (type_class != H5T_INTEGER && type_class != H5T_FLOAT)
    throw DataError(what + " must hold fold numbers (integers, or floats that are whole numbers, as glmnet's foldid)");
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
  if (type_class == H5T_INTEGER) {
    if (H5Dread(ds.get(), H5T_NATIVE_INT64, mspace.get(), fspace.get(), H5P_DEFAULT, out.data()) < 0)
      throw RuntimeFailure("reading " + what + " failed");
    for (std::size_t i = 0; categorical && i < out.size(); ++i)
      if (out[i] < 0)
        throw DataError(what + " (a categorical column) has no label at row " +
                        std::to_string(range.begin + static_cast<std::int64_t>(i)) + " (0-based): every row needs a fold");
    return out;
  }
  std::vector<double> values(out.size());
  if (H5Dread(ds.get(), H5T_NATIVE_DOUBLE, mspace.get(), fspace.get(), H5P_DEFAULT, values.data()) < 0)
    throw RuntimeFailure("reading " + what + " failed");
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (!(std::abs(v) < 9.0e15) || v != std::floor(v))  // NaN too; 9e15 < 2^53: exactly an integer
      throw DataError(what + " holds " + std::to_string(v) + " at row " + std::to_string(range.begin + static_cast<std::int64_t>(i)) +
                      ": fold numbers must be whole numbers");
    out[i] = static_cast<std::int64_t>(v);
  }
  return out;
}

void DataReader::read_rows(RowRange range, std::size_t block_bytes,
                            const std::function<void(RowMatrix&, RowMatrix&)>& sink, bool again) const {
  const std::int64_t d = layout_.features, k = layout_.targets;
  // A table is read whole, row by row: its columns, not X's, size the blocks.
  const std::int64_t stored = layout_.table_columns > 0 ? layout_.table_columns : d;
  std::int64_t block = std::max<std::int64_t>(1, static_cast<std::int64_t>(block_bytes / (8 * stored)));
  // A read that covers part of a chunk still reads and decodes all of it (parallel HDF5 keeps no chunk
  // cache here), so blocks hold whole chunks and end on chunk boundaries: each chunk is decoded once.
  const std::int64_t chunk = layout_.x_chunked ? layout_.x_chunk_rows : 0;
  if (chunk > 0) block = std::max(chunk, block - block % chunk);
  block = std::min(block, std::max<std::int64_t>(range.size(), 1));
  const std::int64_t ky = layout_.has_y && !again ? k : 0;
  RowMatrix x(block, d), y(block, ky);
  for (std::int64_t r0 = range.begin, r1; r0 < range.end; r0 = r1) {
    r1 = std::min(range.end, r0 + block);
    if (chunk > 0 && r1 < range.end && r1 % chunk != 0 && r1 - r1 % chunk > r0) r1 -= r1 % chunk;
    const std::int64_t m = r1 - r0;
    if (m != x.rows()) {
      x.resize(m, d);
      y.resize(m, ky);
    }
    read_x(r0, m, x, ky > 0 && y_column_ >= 0 ? &y : nullptr);
    if (ky > 0 && y_column_ < 0) read_y(r0, m, y);
    for (auto [mat, name] : {std::pair<RowMatrix*, const std::string*>{&x, &layout_.x_name}, {&y, &layout_.y_name}}) {
      if (const std::string bad = again ? "" : nonfinite_at(*mat, r0); !bad.empty())
        throw DataError(where(layout_.file, *name) + bad);
    }
    sink(x, y);
  }
}

}  // namespace cadmm::io
