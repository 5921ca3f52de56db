// `cadmm predict`: apply a fitted model to data, each rank predicting and writing its own rows (docs/spec.md section 4).
#include <cstdio>
#include <iostream>

#include "cadmm/error.hpp"
#include "cadmm/partition.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/report.hpp"
#include "io/dataset_reader.hpp"
#include "io/parallel_file.hpp"
#include "io/result_writer.hpp"

namespace cadmm::cli {

namespace {
const char* kUsage =
    "Usage: [mpirun -np P] cadmm predict --model FILE --data FILE --output FILE [--lambda-index I]\n\n"
    "Applies a model written by solve, path or cv to the rows of X: prediction = X coef + intercept. Each rank\n"
    "predicts its own rows and writes them in row order to /prediction, (n,) or (n, k) as the model's y was. When\n"
    "the data file holds y as well, the mean squared error (over rows and targets) and R^2 (the mean over targets,\n"
    "as scikit-learn's r2_score) are printed and stored as attributes mse and r2. For a path file, --lambda-index I\n"
    "picks fit I (0-based, in /path/lambda order; default the last fit, /coef).\n\n";
}  // namespace

int run_predict(const Args& args, MpiCommunicator& comm) {
  po::options_description desc("Options");
  desc.add_options()
    ("help,h", "print this help and exit")
    ("config", po::value<std::string>()->value_name("FILE"), "INI file with any of these options")
    ("quiet,q", "print nothing on success")
    ("model", po::value<std::string>()->value_name("FILE"), "result file of solve, path or cv [required]")
    ("data", po::value<std::string>()->value_name("FILE"), "HDF5 file with X (and optionally y) [required]")
    ("x-dataset", po::value<std::string>()->default_value("/X")->value_name("PATH"), "dataset of X")
    ("y-dataset", po::value<std::string>()->value_name("PATH"),
     "dataset of y for MSE and R^2 (default /y when the file has it)")
    ("lambda-index", po::value<std::int64_t>()->value_name("I"), "fit I of a path file (default: the last)")
    ("read-buffer-mb", po::value<double>()->default_value(8)->value_name("MB"), "rows are streamed through a buffer of this size")
    ("output,o", po::value<std::string>()->value_name("FILE"), "output HDF5 file with /prediction [required]");
  const auto vm = parse(args, desc);
  const bool root = comm.rank() == 0;
  if (vm.count("help")) {
    if (root) std::cout << kUsage << desc << std::endl;
    return 0;
  }
  for (const char* required : {"model", "data", "output"})
    if (!vm.count(required)) throw UsageError(std::string("--") + required + ": required");
  const std::string model_file = vm["model"].as<std::string>(), data_file = vm["data"].as<std::string>();
  const std::string output = vm["output"].as<std::string>();
  const std::int64_t index = vm.count("lambda-index") ? vm["lambda-index"].as<std::int64_t>() : -1;
  if (vm.count("lambda-index") && index < 0) throw UsageError("--lambda-index: must be >= 0");
  const double buffer_mb = vm["read-buffer-mb"].as<double>();
  if (!(buffer_mb > 0)) throw UsageError("--read-buffer-mb: must be > 0");
  const bool verbose = root && !vm.count("quiet");

  Stopwatch clock;
  io::ModelFile model;
  // Every rank reads the small model file itself; a failure on any rank fails all.
  collectively(comm, [&] { model = io::read_model(model_file, index); });
  std::unique_ptr<io::DataReader> reader;
  const bool y_given = vm.count("y-dataset") > 0;
  collectively(comm, [&] {
    reader = std::make_unique<io::DataReader>(data_file, vm["x-dataset"].as<std::string>(),
                                               y_given ? vm["y-dataset"].as<std::string>() : "/y", comm.handle(),
                                               !y_given);
    const io::DataLayout& l = reader->layout();
    const std::int64_t d = model.coef.rows(), k = model.coef.cols();
    if (l.features != d)
      throw DataError("model '" + model_file + "' has " + std::to_string(d) + " features but " + l.x_name + " in '" +
                      data_file + "' has " + std::to_string(l.features) + " columns (shape " + std::to_string(l.rows) +
                      " x " + std::to_string(l.features) + ")");
    reader->verify_stored();
    if (l.has_y && l.targets != k)
      throw DataError("model '" + model_file + "' has " + std::to_string(k) + " target(s) but " + l.y_name + " in '" +
                      data_file + "' has " + std::to_string(l.targets));
  });
  const io::DataLayout layout = reader->layout();
  const std::int64_t n = layout.rows, k = model.coef.cols();
  RowRange range;
  collectively(comm, [&] { range = reader->partition(comm.rank(), comm.size()); });

  io::ParallelH5File out(output, "--output", {data_file, model_file}, comm);
  const int pred = out.create("prediction", H5T_IEEE_F64LE,
                              model.y_is_1d ? std::vector<std::int64_t>{n} : std::vector<std::int64_t>{n, k});
  // Sums for MSE and R^2, per target: squared errors, and y about the intercept (a stable pivot for its variance).
  Vector sums = Vector::Zero(3 * k);
  RowMatrix p;
  std::int64_t next = range.begin;
  const auto predict = [&](const auto& x, RowMatrix& y) {
    if (interrupt_requested()) throw RuntimeFailure("interrupted by a signal; no prediction file was written");
    p.noalias() = x * model.coef;
    p.rowwise() += model.intercept.transpose();
    if (layout.has_y) {
      sums.head(k) += (y - p).colwise().squaredNorm().transpose();
      const RowMatrix yc = y.rowwise() - model.intercept.transpose();
      sums.segment(k, k) += yc.colwise().sum().transpose();
      sums.tail(k) += yc.colwise().squaredNorm().transpose();
    }
    out.write_rows(pred, next, x.rows(), p.data());
    next += x.rows();
  };
  const std::size_t bytes = static_cast<std::size_t>(buffer_mb * (1 << 20));
  collectively(comm, [&] {
    if (layout.sparse)
      reader->read_sparse_rows(range, bytes, [&](const SparseRows& x, RowMatrix& y) { predict(x, y); });
    else
      reader->read_rows(range, bytes, [&](RowMatrix& x, RowMatrix& y) { predict(x, y); });
  });
  reader.reset();
  comm.sum(sums.data(), static_cast<std::size_t>(sums.size()));
  const double rows = static_cast<double>(n);
  double mse = 0, r2 = 0;
  if (layout.has_y) {
    mse = sums.head(k).sum() / (rows * static_cast<double>(k));
    for (Eigen::Index t = 0; t < k; ++t) {
      const double sst = sums[2 * k + t] - sums[k + t] * sums[k + t] / rows;  // sum (y - mean)^2
      r2 += (sst > 0 ? 1 - sums[t] / sst : 0.0) / static_cast<double>(k);
    }
    out.attribute("mse", mse);
    out.attribute("r2", r2);
  }
  out.attribute("model", model_file);
  out.attribute("data", data_file);
  out.attribute("lambda", model.lambda);
  out.attribute("lambda_index", static_cast<double>(model.index));
  out.attribute("n_rows", rows);
  out.commit();
  if (verbose) {
    std::printf("cadmm predict: %lld rows x %lld target(s) from %s (%s, lambda %s%s) in %.2fs on %d rank(s)\n",
                static_cast<long long>(n), static_cast<long long>(k), model_file.c_str(), model.command.c_str(),
                fmt(model.lambda).c_str(), model.index >= 0 ? (", index " + std::to_string(model.index)).c_str() : "",
                clock.lap(), comm.size());
    if (layout.has_y)
      std::printf("  MSE %.6e   R^2 %.6f   (against %s)\n", mse, r2, layout.y_name.c_str());
    else
      std::printf("  no y in %s: MSE and R^2 not computed\n", data_file.c_str());
    std::printf("  output %s (/prediction)\n", output.c_str());
  }
  return 0;
}

}  // namespace cadmm::cli
