#include "io/parallel_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <filesystem>

#include "cadmm/error.hpp"

namespace cadmm::io {

ParallelH5File::ParallelH5File(const std::string& path, const std::string& option,
                               const std::vector<std::string>& inputs, MpiCommunicator& comm)
    : path_(path), comm_(comm) {
  silence_hdf5();
  // Every rank writes, so every rank must see a writable directory before the collective create.
  collectively(comm, [&] { check_output_path(path, option, inputs); });
  // Every rank must use the same temporary name: take rank 0's pid.
  double pid = static_cast<double>(::getpid());
  comm.broadcast(&pid, sizeof pid, 0);
  tmp_ = path + ".tmp-" + std::to_string(static_cast<long long>(pid));
  collectively(comm, [&] {
    Handle fapl = file_access();
    H5Pset_fapl_mpio(fapl.get(), comm.handle(), MPI_INFO_NULL);
    file_ = Handle(H5Fcreate(tmp_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose);
    if (!file_.valid()) throw RuntimeFailure("cannot create output file '" + path + "' (temporary " + tmp_ + ")");
  });
}

ParallelH5File::~ParallelH5File() {
  if (committed_) return;
  if (std::uncaught_exceptions() > 0) {
    // An error unwinds (every rank's, agreed): after a failed write (a full disk) the collective close found the
    // ranks in different collectives inside HDF5 and hung, so the file is left open and HDF5's clean-up skipped.
    for (Handle& d : datasets_) d.release();
    file_.release();
    abandon_hdf5();
  } else {
    datasets_.clear();
    file_.close();
  }
  if (comm_.rank() == 0) std::remove(tmp_.c_str());
}

int ParallelH5File::create(const std::string& name, hid_t file_type, const std::vector<std::int64_t>& shape,
                           std::int64_t chunk_rows) {
  collectively(comm_, [&] {
    const std::vector<hsize_t> dims(shape.begin(), shape.end());
    Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
    Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    if (chunk_rows > 0 && !dims.empty() && dims[0] > 0) {
      std::vector<hsize_t> chunk = dims;
      chunk[0] = std::min<hsize_t>(static_cast<hsize_t>(chunk_rows), dims[0]);
      H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
    }
    Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    H5Pset_create_intermediate_group(lcpl.get(), 1);  // "X/data" makes the group X
    Handle ds(H5Dcreate2(file_.get(), name.c_str(), file_type, space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT),
              H5Dclose);
    if (!ds.valid()) throw RuntimeFailure("cannot create dataset " + name + " in '" + path_ + "'");
    datasets_.push_back(std::move(ds));
    shapes_.push_back(shape);
    names_.push_back(name);
  });
  return static_cast<int>(datasets_.size()) - 1;
}

void ParallelH5File::write_rows(int index, std::int64_t first, std::int64_t rows, const double* data) {
  write(index, first, rows, H5T_NATIVE_DOUBLE, data);
}

void ParallelH5File::write_rows(int index, std::int64_t first, std::int64_t rows, const std::int64_t* data) {
  write(index, first, rows, H5T_NATIVE_INT64, data);
}

void ParallelH5File::write(int index, std::int64_t first, std::int64_t rows, hid_t mem_type, const void* data) {
  if (rows == 0) return;
  const std::vector<std::int64_t>& shape = shapes_[static_cast<std::size_t>(index)];
  std::vector<hsize_t> start(shape.size(), 0), count(shape.begin(), shape.end());
  start[0] = static_cast<hsize_t>(first);
  count[0] = static_cast<hsize_t>(rows);
  const hid_t ds = datasets_[static_cast<std::size_t>(index)].get();
  Handle fspace(H5Dget_space(ds), H5Sclose);
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  Handle mspace(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), H5Sclose);
  errno = 0;
  if (H5Dwrite(ds, mem_type, mspace.get(), fspace.get(), H5P_DEFAULT, data) < 0)
    throw RuntimeFailure("writing " + names_[static_cast<std::size_t>(index)] + "[" + std::to_string(first) + ".." +
                         std::to_string(first + rows - 1) + "] to '" + path_ + "' failed" + disk_reason(path_));
}

void ParallelH5File::put_attribute(const std::string& name, const std::string& object, hid_t file_type, hid_t space,
                                   hid_t mem_type, const void* data) {
  collectively(comm_, [&] {
    Handle obj(H5Oopen(file_.get(), object.c_str(), H5P_DEFAULT), H5Oclose);
    Handle attr(obj.valid() ? H5Acreate2(obj.get(), name.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT) : -1,
                H5Aclose);
    errno = 0;
    if (!attr.valid() || H5Awrite(attr.get(), mem_type, data) < 0)
      throw RuntimeFailure("writing attribute " + name + " to '" + path_ + "' failed" + disk_reason(path_));
  });
}

void ParallelH5File::attribute(const std::string& name, double value, const std::string& object) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  put_attribute(name, object, H5T_IEEE_F64LE, space.get(), H5T_NATIVE_DOUBLE, &value);
}

void ParallelH5File::attribute(const std::string& name, std::int64_t value, const std::string& object) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  put_attribute(name, object, H5T_STD_I64LE, space.get(), H5T_NATIVE_INT64, &value);
}

void ParallelH5File::attribute(const std::string& name, const std::string& value, const std::string& object) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  const char* s = value.c_str();
  put_attribute(name, object, type.get(), space.get(), type.get(), &s);
}

void ParallelH5File::attribute(const std::string& name, const std::vector<std::int64_t>& values,
                               const std::string& object) {
  const hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  put_attribute(name, object, H5T_STD_I64LE, space.get(), H5T_NATIVE_INT64, values.data());
}

void ParallelH5File::commit() {
  datasets_.clear();
  const bool closed = file_.close();  // collective
  collectively(comm_, [&] {
    if (!closed) throw RuntimeFailure("closing output file '" + path_ + "' failed");
    if (comm_.rank() == 0) {
      std::error_code ec;
      std::filesystem::rename(tmp_, path_, ec);
      if (ec) throw RuntimeFailure("cannot move '" + tmp_ + "' to '" + path_ + "': " + ec.message());
    }
  });
  committed_ = true;
}

}  // namespace cadmm::io
