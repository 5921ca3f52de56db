#include "io/generator.hpp"

#include <climits>

#include "cadmm/error.hpp"
#include "cadmm/mpi_communicator.hpp"
#include "cadmm/partition.hpp"
#include "io/parallel_file.hpp"

namespace cadmm::io {

namespace {

// A rank that is asked to stop leaves its loop at once; the collective step after the loop makes every rank throw,
// and the temporary file is removed.
void stop_if_asked(const GenerateOutput& out, const RowRange& range, std::int64_t at) {
  const double done = range.size() > 0 ? static_cast<double>(at - range.begin) / static_cast<double>(range.size()) : 1.0;
  if (out.stop && out.stop(done)) throw RuntimeFailure("interrupted by a signal; nothing was written");
}

// CSR in the AnnData layout: every rank writes its rows' entries at offsets from a prefix sum of the ranks' counts.
void write_sparse_x(const SyntheticSpec& spec, const Matrix& w, const GenerateOutput& out, ParallelH5File& file,
                    int y, MpiCommunicator& mc) {
  const std::int64_t n = spec.rows, d = spec.features;
  const RowRange range = partition_rows(n, mc.rank(), mc.size());
  double local = 0;
  for (std::int64_t r = range.begin; r < range.end; ++r) local += static_cast<double>(synthetic_row_nnz(spec, r));
  std::vector<double> counts(mc.rank() == 0 ? static_cast<std::size_t>(mc.size()) : 0), offsets(counts.size());
  mc.gather(&local, 1, counts.data());
  for (std::size_t r = 1; r < counts.size(); ++r) offsets[r] = offsets[r - 1] + counts[r - 1];
  double offset = 0;
  mc.scatter(offsets.data(), 1, &offset);
  const std::int64_t total = static_cast<std::int64_t>(mc.sum(local));
  const int data = file.create("X/data", out.float32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE, {total});
  const int indices = file.create("X/indices", d <= INT32_MAX ? H5T_STD_I32LE : H5T_STD_I64LE, {total});
  const int indptr = file.create("X/indptr", H5T_STD_I64LE, {n + 1});
  file.attribute("encoding-type", std::string("csr_matrix"), "/X");
  file.attribute("encoding-version", std::string("0.1.0"), "/X");
  file.attribute("shape", std::vector<std::int64_t>{n, d}, "/X");
  collectively(mc, [&] {
    std::int64_t at = static_cast<std::int64_t>(offset);
    std::vector<std::int64_t> cols, ptr;
    std::vector<double> vals;
    RowMatrix yb;
    const std::int64_t block = 65536;
    for (std::int64_t r0 = range.begin; r0 < range.end; r0 += block) {
      stop_if_asked(out, range, r0);
      const std::int64_t m = std::min(block, range.end - r0);
      cols.clear();
      vals.clear();
      ptr.clear();
      yb.resize(m, spec.targets);
      for (std::int64_t r = 0; r < m; ++r) {
        ptr.push_back(at + static_cast<std::int64_t>(cols.size()));
        synthetic_sparse_row(spec, w, r0 + r, cols, vals, yb.row(r).data());
      }
      file.write_rows(data, at, static_cast<std::int64_t>(vals.size()), vals.data());
      file.write_rows(indices, at, static_cast<std::int64_t>(cols.size()), cols.data());
      file.write_rows(indptr, r0, m, ptr.data());
      file.write_rows(y, r0, m, yb.data());
      at += static_cast<std::int64_t>(cols.size());
    }
    if (mc.rank() == 0) file.write_rows(indptr, n, 1, &total);
  });
}

}  // namespace

void write_synthetic(const SyntheticSpec& spec, const GenerateOutput& out, MPI_Comm comm) {
  MpiCommunicator mc(comm);
  ParallelH5File file(out.path, "--output", {}, mc);
  const std::int64_t n = spec.rows, d = spec.features, k = spec.targets;
  const bool y_1d = out.y_1d && spec.targets == 1;
  const int x = spec.sparse() ? -1 : file.create("X", out.float32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE, {n, d}, out.chunk_rows);
  const int y = file.create("y", H5T_IEEE_F64LE, y_1d ? std::vector<std::int64_t>{n} : std::vector<std::int64_t>{n, k},
                            out.chunk_rows);
  const int truth =
      file.create("truth", H5T_IEEE_F64LE, y_1d ? std::vector<std::int64_t>{d} : std::vector<std::int64_t>{d, k});
  const int intercept = file.create("truth_intercept", H5T_IEEE_F64LE, {k});

  const Matrix w = synthetic_truth(spec);
  if (spec.sparse()) {
    write_sparse_x(spec, w, out, file, y, mc);
    collectively(mc, [&] {
      if (mc.rank() != 0) return;
      const RowMatrix wr = w;
      file.write_rows(truth, 0, spec.features, wr.data());
      const std::vector<double> b(static_cast<std::size_t>(spec.targets), spec.intercept);
      file.write_rows(intercept, 0, spec.targets, b.data());
    });
    file.commit();
    return;
  }
  collectively(mc, [&] {
    const RowRange range = partition_rows(spec.rows, mc.rank(), mc.size());
    const std::int64_t block = std::max<std::int64_t>(1, (8 << 20) / (8 * spec.features));
    RowMatrix xb, yb;
    for (std::int64_t r0 = range.begin; r0 < range.end; r0 += block) {
      stop_if_asked(out, range, r0);
      const std::int64_t m = std::min(block, range.end - r0);
      xb.resize(m, spec.features);
      yb.resize(m, spec.targets);
      synthetic_rows(spec, w, r0, xb, yb);
      file.write_rows(x, r0, m, xb.data());
      file.write_rows(y, r0, m, yb.data());
    }
    if (mc.rank() == 0) {
      const RowMatrix wr = w;
      file.write_rows(truth, 0, spec.features, wr.data());
      const std::vector<double> b(static_cast<std::size_t>(spec.targets), spec.intercept);
      file.write_rows(intercept, 0, spec.targets, b.data());
    }
  });
  file.commit();
}

}  // namespace cadmm::io
