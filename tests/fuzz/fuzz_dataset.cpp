// libFuzzer target: the checks cadmm makes of an input file's metadata and CSR structure. The bytes describe a
// small HDF5 file (dense or CSR X with any shape attribute, extents, dtypes, indptr, indices and values, and y),
// which is written for real and then opened, planned and read at 1 and 3 ranks' partitions as `solve` does.
// Only cadmm::Error may come out; a crash, a hang or another exception is a finding.
#include <hdf5.h>
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "cadmm/error.hpp"
#include "io/dataset_reader.hpp"

namespace {

// Reads the fuzz input as a stream of small numbers; zeros once it runs out.
class Bytes {
 public:
  Bytes(const std::uint8_t* p, std::size_t n) : p_(p), n_(n) {}
  std::uint8_t u8() { return i_ < n_ ? p_[i_++] : 0; }
  std::int64_t in(std::int64_t lo, std::int64_t hi) { return lo + static_cast<std::int64_t>(u8()) % (hi - lo + 1); }
  double value() {
    const std::uint8_t b = u8();
    if (b == 255) return std::numeric_limits<double>::quiet_NaN();
    if (b == 254) return std::numeric_limits<double>::infinity();
    return (static_cast<double>(b) - 127) / 16;
  }

 private:
  const std::uint8_t* p_;
  std::size_t n_, i_ = 0;
};

void dataset(hid_t loc, const char* name, hid_t file_type, std::vector<hsize_t> dims, hid_t mem_type, const void* buf) {
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t ds = H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  H5Dclose(ds);
  H5Sclose(space);
}

void write_file(const std::string& path, Bytes& in) {
  const std::uint8_t mode = in.u8();
  const bool sparse = mode & 1, y2d = mode & 2, f32 = mode & 4, i32 = mode & 8, odd_shape = mode & 16;
  const std::int64_t n = in.in(0, 12), d = in.in(0, 12), k = y2d ? in.in(0, 3) : 1;
  const std::int64_t n_claim = (mode & 32) ? n + in.in(-2, 2) : n, d_claim = (mode & 64) ? d + in.in(-2, 2) : d;
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t ftype = f32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE;
  const hid_t itype = i32 ? H5T_STD_I32LE : H5T_STD_I64LE;
  if (sparse) {
    const hid_t g = H5Gcreate2(file, "X", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (!(mode & 128)) {
      const hid_t st = H5Tcopy(H5T_C_S1);
      H5Tset_size(st, H5T_VARIABLE);
      const hid_t sp = H5Screate(H5S_SCALAR);
      const hid_t a = H5Acreate2(g, "encoding-type", st, sp, H5P_DEFAULT, H5P_DEFAULT);
      const char* v = in.u8() == 7 ? "csc_matrix" : "csr_matrix";
      H5Awrite(a, st, &v);
      H5Aclose(a), H5Sclose(sp), H5Tclose(st);
    }
    const std::vector<std::int64_t> shape = odd_shape ? std::vector<std::int64_t>{n_claim} : std::vector<std::int64_t>{n_claim, d_claim};
    const hsize_t len = shape.size();
    const hid_t sp = H5Screate_simple(1, &len, nullptr);
    const hid_t a = H5Acreate2(g, "shape", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT64, shape.data());
    H5Aclose(a), H5Sclose(sp);
    // Mostly monotone indptr from small steps, sometimes a raw value anywhere.
    std::vector<std::int64_t> indptr(static_cast<std::size_t>(n + 1 + in.in(-1, 1) * (in.u8() == 3)));
    std::int64_t at = 0;
    for (auto& v : indptr) {
      v = in.u8() == 9 ? in.in(-3, 60) : at;
      at += in.in(0, 4);
    }
    if (!indptr.empty() && in.u8() != 5) indptr[0] = 0;
    const std::int64_t nnz = (!indptr.empty() && in.u8() != 6) ? std::max<std::int64_t>(0, indptr.back()) : in.in(0, 60);
    std::vector<std::int64_t> indices(static_cast<std::size_t>(nnz));
    std::vector<double> values(static_cast<std::size_t>(std::max<std::int64_t>(0, nnz + in.in(-1, 1) * (in.u8() == 4))));
    for (auto& v : indices) v = in.in(-1, d + 1);
    for (auto& v : values) v = in.value();
    dataset(g, "indptr", itype, {indptr.size()}, H5T_NATIVE_INT64, indptr.data());
    dataset(g, "indices", itype, {indices.size()}, H5T_NATIVE_INT64, indices.data());
    dataset(g, "data", ftype, {values.size()}, H5T_NATIVE_DOUBLE, values.data());
    H5Gclose(g);
  } else {
    std::vector<double> x(static_cast<std::size_t>(n_claim < 0 || d_claim < 0 ? 0 : n_claim * d_claim));
    for (auto& v : x) v = in.value();
    if (odd_shape)
      dataset(file, "X", ftype, {x.size()}, H5T_NATIVE_DOUBLE, x.data());
    else
      dataset(file, "X", ftype, {static_cast<hsize_t>(std::max<std::int64_t>(0, n_claim)), static_cast<hsize_t>(std::max<std::int64_t>(0, d_claim))},
              H5T_NATIVE_DOUBLE, x.data());
  }
  const std::int64_t ny = n + ((mode & 32) && in.u8() == 1 ? 1 : 0);
  std::vector<double> y(static_cast<std::size_t>(ny * k));
  for (auto& v : y) v = in.value();
  if (y2d)
    dataset(file, "y", ftype, {static_cast<hsize_t>(ny), static_cast<hsize_t>(k)}, H5T_NATIVE_DOUBLE, y.data());
  else
    dataset(file, "y", ftype, {static_cast<hsize_t>(ny)}, H5T_NATIVE_DOUBLE, y.data());
  H5Fclose(file);
}

}  // namespace

// The scratch file every input is written to, removed when the run ends. In the working directory, under a name that
// is the same in every run (tests/fuzz/run.sh gives each run a directory of its own): with a pid in it, messages
// naming the file changed length from run to run, and with them the coverage, so a fixed-seed run was not reproducible.
static const std::string& scratch_path() {
  static const std::string path = "cadmm_fuzz_dataset.h5";
  return path;
}

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  // Open MPI's own crash handlers would take the signal before libFuzzer could save the input that caused it.
  setenv("OMPI_MCA_opal_signal", "", 0);
  MPI_Init(argc, argv);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  // The name is built first: exit handlers run in reverse order, so it is still alive when the file goes.
  scratch_path();
  std::atexit([] { std::remove(scratch_path().c_str()); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = scratch_path();
  Bytes in(data, size);
  write_file(path, in);
  try {
    const cadmm::io::DataReader reader(path, "/X", "/y", MPI_COMM_SELF);
    reader.verify_stored();
    for (const int ranks : {1, 3})
      for (int r = 0; r < ranks; ++r) {
        const cadmm::RowRange range = reader.partition(r, ranks);
        reader.nnz_in(range);
        if (reader.layout().sparse)
          reader.read_sparse_rows(range, 64, [](const cadmm::SparseRows&, cadmm::RowMatrix&) {});
        else
          reader.read_rows(range, 64, [](cadmm::RowMatrix&, cadmm::RowMatrix&) {});
      }
  } catch (const cadmm::Error&) {
  }
  return 0;
}
