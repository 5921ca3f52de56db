#pragma once
// Reading a rank's rows of X (dense, or CSR in the AnnData / SciPy layout) and y from HDF5 (docs/spec.md section 3).
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cadmm/partition.hpp"
#include "cadmm/plan.hpp"
#include "cadmm/types.hpp"
#include "io/hdf5_util.hpp"

namespace cadmm::io {

/// What a refusal adds where X looks transposed, as column-major writers store an n x d matrix: (d, n).
inline constexpr char kColumnMajorHint[] =
    "; X looks stored as (features, rows), as R, Fortran and MATLAB write a matrix: add --x-layout features-by-rows";

/// What the file holds, checked against docs/spec.md section 3.
struct DataLayout {
  std::string file, x_name, y_name;
  std::int64_t rows = 0, features = 0, targets = 1;
  bool has_y = true;         ///< false when y was optional and absent (predict on new data)
  bool y_is_1d = true;       ///< y of shape (n,): results are written 1-D too
  bool x_float32 = false;    ///< stored element type of X
  bool x_chunked = false;    ///< chunked (else contiguous) layout of X
  std::int64_t x_chunk_rows = 0;
  bool x_compressed = false; ///< X has filters (gzip, ...): each chunk is decoded on read
  bool sparse = false;       ///< X is a CSR group (data, indices, indptr)
  std::int64_t nnz = 0;      ///< stored entries of a sparse X (rows x features for dense)
  std::string offset_name;   ///< offset dataset (glmnet's offset), empty: none
  std::string weights_name;  ///< observation weights dataset (glmnet's weights), empty: none
  std::vector<std::string> feature_names;  ///< one per feature, empty when the file names none
  std::string names_from;    ///< the dataset they came from
  bool x_transposed = false; ///< X stored (d, n): each rank reads its columns of the stored array
  bool layout_given = false; ///< --x-layout given (DataSelection::layout_given)
  bool y_transposed = false; ///< with x_transposed, a 2-D Y stored (k, n) alike (read by its columns)
  std::int64_t table_columns = 0;  ///< --y-column: the columns of the stored table (X's and y's)

  /// The shape the plan works from.
  DataShape shape() const { return DataShape{rows, features, targets, nnz, sparse}; }
};

/// How X and y are taken from the file beyond their datasets' names.
struct DataSelection {
  std::string names_dataset;      ///< --feature-names-dataset ("": found where the writing library keeps them)
  std::string y_column;           ///< --y-column NAME|J: y is this column of X's dataset, a table of every column
  std::string x_columns;          ///< --x-columns A,B,...: with --y-column, X is these columns (default: all others)
  bool features_by_rows = false;  ///< --x-layout features-by-rows: X is stored (d, n) (R, Fortran, MATLAB)
  bool layout_given = false;      ///< --x-layout was given (either way): no warning that the shape cannot tell it
};

/// Sink of a block of rows: CSR rows of a sparse X, with their y rows.
using SparseSink = std::function<void(const SparseRows& x, RowMatrix& y)>;

/// A warning where X's shape cannot tell its layout (dense, as a column-major writer would store it read by rows: a
/// square X, or a --y-column table with fewer rows than columns), or "" where it can or need not: --x-layout given,
/// or names from a Python writer (AnnData's /var, a pandas frame's items).
std::string layout_warning(const DataLayout& l);

/// Opens X and y of one file on every rank (MPI-IO, collective open) and reads row ranges independently,
/// so a rank with no rows never has to take part in a read.
class DataReader {
 public:
  /// Validates the layout; throws DataError naming the file and dataset on any mismatch, UsageError when X and y
  /// are the same stored data (y would be among the features) or the selection does not fit the file. With
  /// y_optional a missing y dataset is allowed (layout().has_y false; sinks then get y with no columns); an empty
  /// y_name reads no y.
  DataReader(const std::string& file, const std::string& x_name, const std::string& y_name, MPI_Comm comm,
              bool y_optional = false, const DataSelection& select = {});
  const DataLayout& layout() const { return layout_; }
  /// Reads rows of an (n,) dataset (of the data file, or FILE:PATH of another: dataset_ref) holding whole numbers
  /// (fold numbers), as integers or floats;
  /// DataError naming it when it is missing, not numeric, not of length n, or holds a fraction, NaN or Inf.
  std::vector<std::int64_t> read_int_rows(const std::string& name, RowRange range) const;
  /// An offset dataset (of the data file, or FILE:PATH of another), (n,) or (n, targets) (glmnet's offset and
  /// newoffset). With subtract, every
  /// block of y read has it subtracted (the fitting commands fit y - offset). DataError naming it when it is
  /// missing, not numeric or of another shape; a NaN or Inf is reported (by row) when read.
  void set_offset(const std::string& name, std::int64_t targets, bool subtract);
  /// Rows [first, first + rows) of the offset, rows x targets (a 1-D offset repeated for every target).
  void read_offset(std::int64_t first, std::int64_t rows, RowMatrix& out) const;
  /// A dataset of the rows' weights (of the data file, or FILE:PATH of another), (n,) or (n, 1) (glmnet's weights,
  /// scikit-learn's sample_weight).
  /// DataError naming it when it is missing, not numeric or of another shape.
  void set_weights(const std::string& name);
  /// Rows [first, first + rows) of the weights; DataError naming the row of a negative, NaN or infinite weight.
  void read_weights(std::int64_t first, std::int64_t rows, std::vector<double>& out) const;
  /// This rank's rows: balanced to within one row for dense X, to a near-equal share of the nonzeros for sparse X
  /// (a binary search on indptr, a few reads per boundary).
  RowRange partition(int rank, int ranks) const;
  /// Throws DataError when a dataset's shape claims far more bytes than the file stores for it (an unwritten or
  /// forged extent such as 10^15 rows), before anything is allocated or read.
  void verify_stored() const;
  /// Stored entries in a range of rows (indptr difference for sparse X).
  std::int64_t nnz_in(RowRange range) const;
  /// Streams rows of a dense X in blocks of about block_bytes to sink(x, y) (as float64, row-major),
  /// reusing the same buffers; throws DataError naming the row of the first NaN/Inf. again: rows read before
  /// (the streamed form), X only (y is left empty) and not checked a second time.
  void read_rows(RowRange range, std::size_t block_bytes,
                 const std::function<void(RowMatrix& x, RowMatrix& y)>& sink, bool again = false) const;
  /// The same for a sparse X: blocks of about block_bytes of nonzeros as CSR rows. Throws DataError naming the
  /// row where indptr decreases or misses nnz, a column index is out of [0, d), or a value is NaN/Inf.
  void read_sparse_rows(RowRange range, std::size_t block_bytes, const SparseSink& sink) const;

 private:
  // The names of the `count` columns of X's stored dataset: from `dataset` when given (DataError naming it when it is
  // missing, not names, or not one per column), else from where the libraries that wrote the file keep them:
  // AnnData's var index (/var/_index), pandas' column labels beside a block of values (blockN_items beside
  // blockN_values), /feature_names (cadmm convert); empty when none is found. A table's may name X's columns alone.
  std::vector<std::string> column_names(const std::string& dataset, std::int64_t count);
  // Whether `names` names are those of a table's X columns alone (one fewer than its `count` columns).
  bool x_names_of_table(std::size_t names, std::int64_t count) const;
  // One name a column, or the table's X columns alone.
  bool names_fit(std::size_t names, std::int64_t count) const;
  // --y-column and --x-columns over X's stored (n, m) table.
  void select_table(const DataSelection& select, std::int64_t m);
  // Rows [first, first + rows) of X (and of y when y is a column of X's table, y != nullptr), as the layout says.
  void read_x(std::int64_t first, std::int64_t rows, RowMatrix& x, RowMatrix* y) const;
  std::int64_t indptr_at(std::int64_t row) const;
  void read_y(std::int64_t first, std::int64_t rows, RowMatrix& y) const;
  // Where a --*-dataset value points (dataset_ref), with the handle of its file: the data file's, or another file's,
  // opened on first use (serially: its reads are each rank's own rows).
  struct Source {
    hid_t file;
    DatasetRef ref;
  };
  Source source(const std::string& value) const;
  DataLayout layout_;
  Handle file_, x_, y_, offset_, weights_;
  mutable std::map<std::string, Handle> other_files_;  // by path
  std::int64_t offset_targets_ = 1;
  bool offset_1d_ = true, subtract_offset_ = false;
  bool offset_transposed_ = false;  // with x_transposed, an (n, k) offset stored (k, n) by the same writer
  Handle data_, indices_, indptr_;  // sparse X
  std::vector<std::int64_t> x_columns_;  // --y-column: X's columns of the table
  std::int64_t y_column_ = -1;           // --y-column: y's column of the table
};

}  // namespace cadmm::io
