#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include "cadmm/error.hpp"
#include "io/dataset_reader.hpp"
#include "io/hdf5_util.hpp"
#include "io/result_writer.hpp"

using namespace cadmm;

namespace {
std::string temp(const std::string& name) { return testing::TempDir() + name; }

// Writes X (float64 or float32, optionally chunked) and y with the plain HDF5 API.
void write_data(const std::string& path, const RowMatrix& x, const Vector& y, bool f32, int chunk_rows,
                const char* x_name = "X", const char* y_name = "y") {
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t dims[2] = {static_cast<hsize_t>(x.rows()), static_cast<hsize_t>(x.cols())};
  hid_t s = H5Screate_simple(2, dims, nullptr);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (chunk_rows) {
    hsize_t c[2] = {static_cast<hsize_t>(chunk_rows), dims[1]};
    H5Pset_chunk(dcpl, 2, c);
  }
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t d = H5Dcreate2(f, x_name, f32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE, s, lcpl, dcpl, H5P_DEFAULT);
  H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x.data());
  H5Dclose(d);
  H5Sclose(s);
  hsize_t n = static_cast<hsize_t>(y.size());
  s = H5Screate_simple(1, &n, nullptr);
  d = H5Dcreate2(f, y_name, H5T_IEEE_F64LE, s, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, y.data());
  H5Dclose(d);
  H5Sclose(s);
  H5Pclose(dcpl);
  H5Pclose(lcpl);
  H5Fclose(f);
}

RowMatrix read_all(const io::DataReader& r, RowRange range, std::size_t buffer, RowMatrix* y_out = nullptr) {
  RowMatrix x(range.size(), r.layout().features), y(range.size(), r.layout().targets);
  Eigen::Index at = 0;
  r.read_rows(range, buffer, [&](RowMatrix& xb, RowMatrix& yb) {
    x.middleRows(at, xb.rows()) = xb;
    y.middleRows(at, yb.rows()) = yb;
    at += xb.rows();
  });
  EXPECT_EQ(at, range.size());
  if (y_out) *y_out = y;
  return x;
}

ExitCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return ExitCode::ok;
}
}  // namespace

TEST(DataReader, ReadsAnyRowRangeInBlocks) {
  std::srand(3);
  const RowMatrix x = RowMatrix::Random(103, 7);
  const Vector y = Vector::Random(103);
  for (bool f32 : {false, true}) {
    for (int chunk : {0, 10}) {
      const std::string path = temp("reader.h5");
      write_data(path, x, y, f32, chunk);
      io::DataReader r(path, "/X", "/y", MPI_COMM_NULL);
      EXPECT_EQ(r.layout().rows, 103);
      EXPECT_EQ(r.layout().features, 7);
      EXPECT_TRUE(r.layout().y_is_1d);
      EXPECT_EQ(r.layout().x_float32, f32);
      EXPECT_EQ(r.layout().x_chunked, chunk > 0);
      RowMatrix yr;
      const RowMatrix xr = read_all(r, {17, 90}, 3 * 7 * 8, &yr);  // 3-row blocks
      const RowMatrix expect = x.middleRows(17, 73);
      const double tol = f32 ? 1e-6 : 0.0;
      EXPECT_LE((xr - expect).cwiseAbs().maxCoeff(), tol);
      EXPECT_EQ((yr.col(0) - y.segment(17, 73)).cwiseAbs().maxCoeff(), 0.0);
    }
  }
}

TEST(DataReader, BadInputsAreDataErrors) {
  const RowMatrix x = RowMatrix::Random(10, 3);
  const Vector y = Vector::Random(10);
  const std::string path = temp("bad.h5");
  write_data(path, x, y, false, 0);
  EXPECT_EQ(code_of([&] { io::DataReader(temp("missing.h5"), "/X", "/y", MPI_COMM_NULL); }), ExitCode::bad_data);
  EXPECT_EQ(code_of([&] { io::DataReader(path, "/nope", "/y", MPI_COMM_NULL); }), ExitCode::bad_data);
  EXPECT_EQ(code_of([&] { io::DataReader(path, "/a/b/c", "/y", MPI_COMM_NULL); }), ExitCode::bad_data);
  EXPECT_EQ(code_of([&] { io::DataReader(path, "/y", "/y", MPI_COMM_NULL); }), ExitCode::bad_data);  // 1-D X
  // Shape mismatch between X and y.
  write_data(path, x, Vector::Random(9), false, 0);
  try {
    io::DataReader(path, "/X", "/y", MPI_COMM_NULL);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("10 rows"), std::string::npos) << e.what();
  }
  // Not an HDF5 file at all.
  { std::ofstream(temp("text.h5")) << "hello"; }
  EXPECT_EQ(code_of([&] { io::DataReader(temp("text.h5"), "/X", "/y", MPI_COMM_NULL); }), ExitCode::bad_data);
}

TEST(DataReader, NonFiniteValueNamesTheRow) {
  RowMatrix x = RowMatrix::Random(20, 3);
  x(13, 1) = std::numeric_limits<double>::quiet_NaN();
  const std::string path = temp("nan.h5");
  write_data(path, x, Vector::Random(20), false, 0, "data/X", "data/y");
  io::DataReader r(path, "data/X", "data/y", MPI_COMM_NULL);
  try {
    read_all(r, {0, 20}, 1 << 20);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("row 13"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(read_all(r, {0, 13}, 1 << 20));  // rows before it are fine
}

TEST(ResultWriter, RoundTripAndNoHalfWrittenFile) {
  FitResult fit;
  fit.coef = Matrix::Random(4, 2);
  fit.intercept = Vector::Random(2);
  fit.lambda = 0.5;
  fit.admm.status = Status::converged;
  fit.admm.state.iteration = 2;
  fit.admm.history.resize(2);
  fit.admm.history[1].iteration = 2;
  fit.admm.history[1].r_norm = 1.5e-9;
  io::RunFacts facts;
  facts.y_is_1d = false;
  facts.n_targets = 2;
  const std::string path = temp("result.h5");
  io::write_result(path, fit, facts);

  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  RowMatrix coef(4, 2);
  hid_t d = H5Dopen2(f, "coef", H5P_DEFAULT);
  H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, coef.data());
  H5Dclose(d);
  EXPECT_EQ((Matrix(coef) - fit.coef).norm(), 0.0);  // row-major on disk, (d, k)
  double lambda = 0;
  hid_t a = H5Aopen(f, "lambda", H5P_DEFAULT);
  H5Aread(a, H5T_NATIVE_DOUBLE, &lambda);
  H5Aclose(a);
  EXPECT_EQ(lambda, 0.5);
  hid_t root = H5Gopen2(f, "/", H5P_DEFAULT);
  EXPECT_EQ(io::read_string_attribute(root, "status"), "converged");
  H5Gclose(root);
  H5Fclose(f);

  // A failure during writing leaves the existing file untouched and no temporary behind.
  const auto size_before = std::filesystem::file_size(path);
  {
    io::AtomicH5File w(path);
    w.attribute("lambda", 1.0);
    // no commit: as if an exception unwound the writer
  }
  EXPECT_EQ(std::filesystem::file_size(path), size_before);
  for (const auto& e : std::filesystem::directory_iterator(testing::TempDir()))
    EXPECT_EQ(e.path().filename().string().find("result.h5.tmp-"), std::string::npos);
  EXPECT_EQ(code_of([&] { io::write_result("/nonexistent-dir/x.h5", fit, facts); }), ExitCode::failure);
}
