#pragma once
// RAII handles and small helpers over the HDF5 C API; the only HDF5-aware code besides src/io/*.cpp.
#include <hdf5.h>
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace cadmm::io {

/// Marks HDF5 as holding a file it could not close (a full disk): closing it again, or HDF5's own clean-up at
/// MPI_Finalize and exit, crashes (seen: a segfault, exit 139) or, for a file of all ranks, waits in another
/// collective than another rank's (a hang). main then ends the process without that clean-up.
void abandon_hdf5();
/// True after abandon_hdf5().
bool hdf5_abandoned();
/// ": No space left on device" (or the quota's, or an I/O error's) when errno says a write failed for the disk's
/// sake, else "": HDF5's own errors are silenced and say less. Set errno to 0 before the call that failed. MPI-IO
/// does not always leave errno set: given the path written, a file system with less than 1 MiB free says so too.
std::string disk_reason(const std::string& path = "");

/// Owns an hid_t and closes it with the right H5*close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(Handle&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      closer_ = o.closer_;
      o.id_ = -1;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  /// Closes now; returns false if the close failed (a failed file close means data may be lost).
  bool close() {
    herr_t rc = 0;
    if (id_ >= 0 && closer_) rc = closer_(id_);
    id_ = -1;
    if (rc < 0 && closer_ == &H5Fclose) abandon_hdf5();
    return rc >= 0;
  }
  /// Forgets the id without closing it (see abandon_hdf5).
  void release() { id_ = -1; }

 private:
  void reset() { close(); }
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

/// Turns off HDF5's automatic error-stack printing; cadmm reports errors itself.
void silence_hdf5();

/// A file-access property list that uses file locking where the file system supports it.
Handle file_access();

/// Opens an existing file read-only; through MPI-IO on comm when comm != MPI_COMM_NULL (collective).
/// Throws DataError naming the file (as `what`: "data file", "model file", ...) when it is missing or not HDF5.
Handle open_file_read(const std::string& path, MPI_Comm comm, const std::string& what = "data file");

/// Throws DataError naming the dataset (`what`) when its filter pipeline holds a filter this HDF5 cannot load: its
/// id, its name and the Debian package that provides it (or how to rewrite the file without it).
void check_filters(hid_t dataset, const std::string& what);

/// True if an object (dataset or group) exists at path inside the file.
bool object_exists(hid_t file, const std::string& path);
/// The datasets a file holds, as "/a, /b/c, ..." (at most `most`, then "and N more"); "" when none (for messages).
std::string contents(hid_t file, std::size_t most = 12);

/// Shape of a dataset.
std::vector<std::int64_t> dataset_shape(hid_t dataset);

/// Reads a variable- or fixed-length string attribute of an object; empty if absent.
std::string read_string_attribute(hid_t object, const std::string& name);

/// Reads a numeric scalar attribute of an object as double; false if absent or not numeric.
bool read_number_attribute(hid_t object, const std::string& name, double& out);

/// Reads a whole numeric dataset as doubles (row-major) with its shape; DataError naming what and path when
/// it is missing or unreadable.
std::vector<double> read_doubles(hid_t file, const std::string& name, std::vector<std::int64_t>& shape,
                                 const std::string& what, const std::string& path);

/// True when name is an AnnData categorical column: a group with encoding-type "categorical", codes and categories.
bool is_categorical(hid_t file, const std::string& name);

/// Reads a 1-D dataset of names (or an (m, 1) one): strings of variable or fixed length (h5py, pandas, AnnData, R),
/// or numbers (pandas' integer column labels), written as text, or an AnnData categorical column (its categories by
/// its codes). DataError naming `what` when it is missing, 2-D or of another type.
std::vector<std::string> read_strings(hid_t file, const std::string& name, const std::string& what);

/// Reads a 1-D numeric dataset (or an (m, 1) / (1, m) one) for the option that names it: `value`, of the HDF5 file
/// `data_file` or of the file it names (FILE:PATH, dataset_ref); DataError naming the option, the dataset and the file
/// when it is missing, not numeric or not a vector.
std::vector<double> read_vector_dataset(const std::string& data_file, const std::string& value, const std::string& option);

/// Where a --*-dataset value points: PATH, a dataset of the data file, or FILE:PATH (PATH starting with '/'), one of
/// another HDF5 file (split at the last ":/").
struct DatasetRef {
  std::string file, name;
};
DatasetRef dataset_ref(const std::string& value, const std::string& data_file);

/// Reads row i of a 2-D numeric dataset of `cols` columns into out; DataError naming what and path when it is
/// missing, has another shape, or cannot be read.
void read_row(hid_t file, const std::string& name, std::int64_t i, std::int64_t cols, double* out,
              const std::string& what, const std::string& path);

/// Checks before a long run that output can be created (its directory exists and is writable) and that it
/// is not one of the inputs; throws UsageError naming the option.
void check_output_path(const std::string& output, const std::string& option, const std::vector<std::string>& inputs);

/// Writes a file to a temporary name and renames it into place on commit, so an existing file is never
/// left truncated or half-written. Serial (one rank writes).
class AtomicH5File {
 public:
  /// Creates path + ".tmp-<pid>" next to path; throws RuntimeFailure naming path (as `what`: "output file",
  /// "checkpoint") on failure.
  explicit AtomicH5File(const std::string& path, std::string what = "output file");
  ~AtomicH5File();  // removes the temporary if commit() was not reached
  hid_t get() const { return file_.get(); }
  /// Closes and renames into place; with keep_previous, an existing file at the path is first hard-linked (or
  /// copied) there, so a complete file exists at every moment.
  void commit(const std::string& keep_previous = "");

  /// A float64 dataset of the given shape (row-major data); an empty shape makes a scalar.
  void write_dataset(const std::string& name, const std::vector<std::int64_t>& shape, const double* data);
  /// An int64 dataset (counts: iterations, nonzeros, rows), likewise.
  void write_dataset(const std::string& name, const std::vector<std::int64_t>& shape, const std::int64_t* data);
  /// Creates a float64 (rows, cols) dataset to be filled row by row with write_row.
  void create_rows(const std::string& name, std::int64_t rows, std::int64_t cols);
  /// Writes row i (cols values) of a dataset made by create_rows.
  void write_row(const std::string& name, std::int64_t i, std::int64_t cols, const double* data);
  /// A 1-D integer dataset of n labels in [0, max_label] (fold numbers), stored in the narrowest signed type that
  /// holds max_label, chunked and deflated; fill(begin, end, out) puts labels [begin, end) into out, a block of at
  /// most 2^20 at a time, so that n may exceed memory.
  void write_labels(const std::string& name, std::int64_t n, std::int64_t max_label,
                    const std::function<void(std::int64_t, std::int64_t, std::int32_t*)>& fill);
  /// A 1-D dataset of variable-length UTF-8 strings (feature names).
  void write_strings(const std::string& name, const std::vector<std::string>& values);
  void attribute(const std::string& name, double value, const std::string& object = "/");
  void attribute(const std::string& name, std::int64_t value, const std::string& object = "/");
  void attribute(const std::string& name, const std::string& value, const std::string& object = "/");

 private:
  void write_typed(const std::string& name, const std::vector<std::int64_t>& shape, hid_t file_type, hid_t memory_type,
                   const void* data);
  std::string named() const { return what_ + " '" + path_ + "'"; }  // the file as messages name it
  std::string path_, tmp_, what_;
  Handle file_;
  bool committed_ = false;
};

}  // namespace cadmm::io
