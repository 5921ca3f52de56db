#include "io/generator.hpp"

#include "cadmm/error.hpp"
#include "cadmm/mpi_communicator.hpp"
#include "cadmm/partition.hpp"
#include "io/parallel_file.hpp"

namespace cadmm::io {

void write_synthetic(const SyntheticSpec& spec, const GenerateOutput& out, MPI_Comm comm) {
  MpiCommunicator mc(comm);
  ParallelH5File file(out.path, "--output", {}, mc);
  const std::int64_t n = spec.rows, d = spec.features, k = spec.targets;
  const bool y_1d = out.y_1d && spec.targets == 1;
  const int x = file.create("X", out.float32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE, {n, d}, out.chunk_rows);
  const int y = file.create("y", H5T_IEEE_F64LE, y_1d ? std::vector<std::int64_t>{n} : std::vector<std::int64_t>{n, k},
                            out.chunk_rows);
  const int truth =
      file.create("truth", H5T_IEEE_F64LE, y_1d ? std::vector<std::int64_t>{d} : std::vector<std::int64_t>{d, k});
  const int intercept = file.create("truth_intercept", H5T_IEEE_F64LE, {k});

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
