#pragma once
// A file that every rank writes its own rows of (MPI-IO): created under a temporary name and renamed into place
// on commit, so an existing file is never left half-written. Shared by generate and predict.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cadmm/mpi_communicator.hpp"
#include "io/hdf5_util.hpp"

namespace cadmm::io {

/// Every call but write_rows is collective over the communicator and takes the same arguments on every rank.
class ParallelH5File {
 public:
  /// Checks the output directory on every rank, then creates path.tmp-<rank 0's pid>. RuntimeFailure/UsageError
  /// naming path, on every rank.
  ParallelH5File(const std::string& path, const std::string& option, const std::vector<std::string>& inputs,
                 MpiCommunicator& comm);
  ~ParallelH5File();  // without commit(): closes and removes the temporary
  ParallelH5File(const ParallelH5File&) = delete;
  ParallelH5File& operator=(const ParallelH5File&) = delete;

  /// Creates a dataset of the given file type and shape, chunked by chunk_rows rows (0: contiguous); returns its
  /// index for write_rows.
  int create(const std::string& name, hid_t file_type, const std::vector<std::int64_t>& shape, std::int64_t chunk_rows = 0);
  /// Writes rows [first, first + rows) of dataset `index` from row-major doubles; independent (any subset of
  /// ranks may call it).
  void write_rows(int index, std::int64_t first, std::int64_t rows, const double* data);
  /// The same from 64-bit integers (stored in the dataset's own integer type).
  void write_rows(int index, std::int64_t first, std::int64_t rows, const std::int64_t* data);
  /// A scalar attribute on an object (default the root group; the same value on every rank).
  void attribute(const std::string& name, double value, const std::string& object = "/");
  /// A scalar int64 attribute (counts and indices are integers, docs/spec.md section 5).
  void attribute(const std::string& name, std::int64_t value, const std::string& object = "/");
  /// A string attribute on an object (the same value on every rank).
  void attribute(const std::string& name, const std::string& value, const std::string& object = "/");
  /// A 1-D integer array attribute on an object (the same values on every rank).
  void attribute(const std::string& name, const std::vector<std::int64_t>& values, const std::string& object);
  /// Closes every dataset and the file and renames it into place.
  void commit();

 private:
  void write(int index, std::int64_t first, std::int64_t rows, hid_t mem_type, const void* data);
  void put_attribute(const std::string& name, const std::string& object, hid_t file_type, hid_t space,
                     hid_t mem_type, const void* data);
  std::string path_, tmp_;
  MpiCommunicator& comm_;
  Handle file_;
  std::vector<Handle> datasets_;
  std::vector<std::string> names_;  ///< the datasets' names, for messages
  std::vector<std::vector<std::int64_t>> shapes_;
  bool committed_ = false;
};

}  // namespace cadmm::io
