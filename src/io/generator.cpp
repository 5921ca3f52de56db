#include "io/generator.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <vector>

#include "cadmm/communicator.hpp"
#include "cadmm/error.hpp"
#include "cadmm/mpi_communicator.hpp"
#include "cadmm/partition.hpp"
#include "io/hdf5_util.hpp"

namespace cadmm::io {

namespace {

Handle create_dataset(hid_t file, const char* name, hid_t type, const std::vector<hsize_t>& dims,
                      std::int64_t chunk_rows) {
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  if (chunk_rows > 0) {
    std::vector<hsize_t> chunk = dims;
    chunk[0] = std::min<hsize_t>(static_cast<hsize_t>(chunk_rows), dims[0]);
    H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
  }
  Handle ds(H5Dcreate2(file, name, type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) throw RuntimeFailure(std::string("cannot create dataset ") + name);
  return ds;
}

void write_rows(hid_t ds, std::int64_t first, std::int64_t rows, std::int64_t cols, int rank, const double* data) {
  Handle fspace(H5Dget_space(ds), H5Sclose);
  hsize_t start[2] = {static_cast<hsize_t>(first), 0}, count[2] = {static_cast<hsize_t>(rows), static_cast<hsize_t>(cols)};
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  Handle mspace(H5Screate_simple(rank, count, nullptr), H5Sclose);
  if (H5Dwrite(ds, H5T_NATIVE_DOUBLE, mspace.get(), fspace.get(), H5P_DEFAULT, data) < 0)
    throw RuntimeFailure("writing rows " + std::to_string(first) + ".." + std::to_string(first + rows - 1) + " failed");
}

// Creates, fills and renames the file; any failure is collective (every rank throws the same error).
void write_file(const SyntheticSpec& spec, const GenerateOutput& out, MpiCommunicator& mc, MPI_Comm comm,
                const std::string& tmp) {
  Handle file, x, y, truth, intercept;
  collectively(mc, [&] {
    Handle fapl = file_access();
    H5Pset_fapl_mpio(fapl.get(), comm, MPI_INFO_NULL);
    file = Handle(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose);
    if (!file.valid()) throw RuntimeFailure("cannot create output file '" + out.path + "' (temporary " + tmp + ")");
  });
  const hsize_t n = static_cast<hsize_t>(spec.rows), d = static_cast<hsize_t>(spec.features),
                k = static_cast<hsize_t>(spec.targets);
  const bool y_1d = out.y_1d && spec.targets == 1;
  // Dataset creation is collective in parallel HDF5: every rank makes the same calls.
  collectively(mc, [&] {
    x = create_dataset(file.get(), "X", out.float32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE, {n, d}, out.chunk_rows);
    y = create_dataset(file.get(), "y", H5T_IEEE_F64LE, y_1d ? std::vector<hsize_t>{n} : std::vector<hsize_t>{n, k},
                       out.chunk_rows);
    truth = create_dataset(file.get(), "truth", H5T_IEEE_F64LE,
                           y_1d ? std::vector<hsize_t>{d} : std::vector<hsize_t>{d, k}, 0);
    intercept = create_dataset(file.get(), "truth_intercept", H5T_IEEE_F64LE, {k}, 0);
  });

  const Matrix w = synthetic_truth(spec);
  collectively(mc, [&] {
    const RowRange range = partition_rows(spec.rows, mc.rank(), mc.size());
    const std::int64_t block = std::max<std::int64_t>(1, (8 << 20) / (8 * spec.features));
    RowMatrix xb, yb;
    for (std::int64_t r0 = range.begin; r0 < range.end; r0 += block) {
      const std::int64_t m = std::min(block, range.end - r0);
      xb.resize(m, spec.features);
      yb.resize(m, spec.targets);
      synthetic_rows(spec, w, r0, xb, yb);
      write_rows(x.get(), r0, m, spec.features, 2, xb.data());
      write_rows(y.get(), r0, m, spec.targets, y_1d ? 1 : 2, yb.data());
    }
    if (mc.rank() == 0) {
      RowMatrix wr = w;
      write_rows(truth.get(), 0, spec.features, spec.targets, y_1d ? 1 : 2, wr.data());
      const std::vector<double> b(static_cast<std::size_t>(spec.targets), spec.intercept);
      write_rows(intercept.get(), 0, spec.targets, 1, 1, b.data());
    }
  });
  x.close();
  y.close();
  truth.close();
  intercept.close();
  bool closed = file.close();  // collective
  collectively(mc, [&] {
    if (!closed) throw RuntimeFailure("closing output file '" + out.path + "' failed");
    if (mc.rank() == 0) {
      std::error_code ec;
      std::filesystem::rename(tmp, out.path, ec);
      if (ec) throw RuntimeFailure("cannot move '" + tmp + "' to '" + out.path + "': " + ec.message());
    }
  });
}

}  // namespace

void write_synthetic(const SyntheticSpec& spec, const GenerateOutput& out, MPI_Comm comm) {
  silence_hdf5();
  MpiCommunicator mc(comm);
  // Every rank writes, so every rank must see a writable directory before the collective create.
  collectively(mc, [&] { check_output_path(out.path, "--output", {}); });
  // Every rank must use the same temporary name: take rank 0's pid.
  double pid = static_cast<double>(::getpid());
  mc.broadcast(&pid, sizeof pid, 0);
  const std::string tmp = out.path + ".tmp-" + std::to_string(static_cast<long long>(pid));

  try {
    write_file(spec, out, mc, comm, tmp);
  } catch (...) {
    if (mc.rank() == 0) std::remove(tmp.c_str());
    throw;
  }
}

}  // namespace cadmm::io
