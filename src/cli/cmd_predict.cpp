// `cadmm predict`: apply a fitted model to data, each rank predicting and writing its own rows (docs/spec.md section 4).
// The arithmetic (predictions, MSE and R^2) is core's (include/cadmm/predict.hpp); here are the options, the reading
// and the writing.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>

#include "cadmm/error.hpp"
#include "cadmm/partition.hpp"
#include "cadmm/predict.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/report.hpp"
#include "io/dataset_reader.hpp"
#include "io/parallel_file.hpp"
#include "io/result_writer.hpp"

namespace cadmm::cli {

namespace {
const char* kUsage =
    "Usage: [mpirun -np P] cadmm predict --model FILE --data FILE --output FILE [--lambda-index I | --lambda L]\n\n"
    "Applies a model written by solve, path or cv to the rows of X: prediction = X coef + intercept. Each rank\n"
    "predicts its own rows and writes them in row order to /prediction, (n,) or (n, k) as the model's y was. When\n"
    "the data file holds y as well, the mean squared error (over rows and targets) and R^2 (the mean over targets,\n"
    "as scikit-learn's r2_score) are printed and stored as attributes mse and r2; with --weights-dataset both are\n"
    "weighted (scikit-learn's sample_weight). A path file, and a cv file (which keeps the refit's whole path), hold one\n"
    "fit per lambda: --lambda-index I picks fit I (0-based, in /path/lambda order), --lambda lambda_min|lambda_1se the\n"
    "fit at cv's choice, --lambda VALUE the fit at that lambda, interpolated between its neighbours as glmnet's\n"
    "predict(fit, s = VALUE); the default is /coef (a path's last fit, a cv's refit). For a file of `path --relax` or\n"
    "`cv --relax`, --gamma G blends the fit with its relaxed fit, G fit + (1 - G) relaxed (glmnet's gamma).\n\n"
    "Examples:\n"
    "  cadmm predict --model cv.h5 --data new.h5 --lambda lambda_1se --output pred.h5\n"
    "  cadmm predict --model path.h5 --data new.h5 --lambda 0.05 --output pred.h5\n\n";

// What predict was asked, every option checked before any file is opened.
struct PredictRequest {
  std::string model_file, data_file, output, x_dataset, y_dataset;
  std::string offset_dataset;    // --offset-dataset: added to every prediction (glmnet's newoffset)
  std::string weights_dataset;   // --weights-dataset: weights of the MSE and R^2
  io::DataSelection select;      // --feature-names-dataset, --y-column, --x-columns, --x-layout
  bool y_given = false;          // --y-dataset was given: y must be there (otherwise /y is used when present)
  io::ModelChoice choice;        // --lambda-index, --lambda, --gamma
  std::size_t buffer_bytes = 0;  // --read-buffer-mb in bytes
  bool verbose = false;          // rank 0 prints the summary
};

po::options_description predict_options() {
  po::options_description desc("Options");
  desc.add_options()
    ("help,h", "print this help and exit")
    ("config", po::value<std::string>()->value_name("FILE"), "INI file with any of these options")
    ("quiet,q", "print nothing on success")
    ("model", po::value<std::string>()->value_name("FILE"), "result file of solve, path or cv [required]")
    ("data", po::value<std::string>()->value_name("FILE"),
     "HDF5 file with X (and optionally y) [required]; the other dataset options name a dataset of it (/y) or of "
     "another file as FILE:PATH")
    ("x-dataset", po::value<std::string>()->default_value("/X")->value_name("PATH"), "dataset of X")
    ("offset-dataset", po::value<std::string>()->value_name("PATH"),
     "offsets of the new rows ((n,) or (n, k)), added to the predictions (glmnet's newoffset); needed when the model "
     "was fitted with --offset-dataset")
    ("y-dataset", po::value<std::string>()->value_name("PATH"),
     "dataset of y for MSE and R^2 (default /y when the file has it)")
    ("weights-dataset", po::value<std::string>()->value_name("PATH"),
     "observation weights ((n,), >= 0) of the MSE and R^2 (scikit-learn's sample_weight); predictions are not weighted")
    ("lambda-index", po::value<std::int64_t>()->value_name("I"),
     "fit I of a path or cv file's /path (default: /coef, the last fit of a path, the refit of a cv)")
    ("lambda", po::value<std::string>()->value_name("lambda_min|lambda_1se|VALUE"),
     "the fit at cv's lambda_min or lambda_1se, or at a lambda value, interpolated linearly in lambda between the two "
     "fits around it as glmnet's predict(fit, s = VALUE) (path and cv files)")
    ("gamma", po::value<double>()->value_name("G"),
     "a path --relax or cv --relax file: blend the fit with its relaxed fit, G fit + (1 - G) relaxed, G in [0, 1] "
     "(glmnet's gamma)")
    ("read-buffer-mb", po::value<double>()->default_value(8)->value_name("MB"), "rows are streamed through a buffer of this size")
    ("output,o", po::value<std::string>()->value_name("FILE"), "output HDF5 file with /prediction [required]");
  desc.add(selection_options());
  return desc;
}

// The request of the command line; nullopt when --help was asked (and printed).
std::optional<PredictRequest> parse_request(const Args& args, MpiCommunicator& comm) {
  const po::options_description desc = predict_options();
  const auto vm = parse("predict", args, desc);
  const bool root = comm.rank() == 0;
  if (vm.count("help")) {
    if (root) std::cout << kUsage << desc << std::endl;
    return std::nullopt;
  }
  for (const char* required : {"model", "data", "output"})
    if (!vm.count(required)) throw UsageError(std::string("--") + required + ": required");
  PredictRequest req;
  req.model_file = vm["model"].as<std::string>();
  req.data_file = vm["data"].as<std::string>();
  req.output = vm["output"].as<std::string>();
  req.choice.index = vm.count("lambda-index") ? vm["lambda-index"].as<std::int64_t>() : -1;
  if (vm.count("lambda-index") && req.choice.index < 0) throw UsageError("--lambda-index: must be >= 0");
  if (vm.count("lambda")) req.choice.lambda = cv_rule_name(vm["lambda"].as<std::string>());
  if (vm.count("lambda") && vm.count("lambda-index")) throw UsageError("--lambda: give it or --lambda-index, not both");
  if (vm.count("gamma")) {
    req.choice.gamma = vm["gamma"].as<double>();
    if (!(req.choice.gamma >= 0 && req.choice.gamma <= 1)) throw UsageError("--gamma: must be in [0, 1]");
  }
  const double buffer_mb = vm["read-buffer-mb"].as<double>();
  if (!(buffer_mb > 0)) throw UsageError("--read-buffer-mb: must be > 0");
  req.buffer_bytes = static_cast<std::size_t>(buffer_mb * (1 << 20));
  req.x_dataset = vm["x-dataset"].as<std::string>();
  req.select = selection_from(vm);  if (vm.count("offset-dataset")) req.offset_dataset = vm["offset-dataset"].as<std::string>();
  if (vm.count("weights-dataset")) req.weights_dataset = vm["weights-dataset"].as<std::string>();
  req.y_given = vm.count("y-dataset") > 0;
  req.y_dataset = req.y_given ? vm["y-dataset"].as<std::string>() : "/y";
  req.y_given = req.y_given || !req.select.y_column.empty();  // a table's y column is there by definition
  req.verbose = root && !vm.count("quiet");
  return req;
}

// When both name their features, the data's must be the model's in its order (a model applied to columns in another
// order gives wrong predictions without any error): DataError naming the first difference.
void check_names(const std::vector<std::string>& model, const std::vector<std::string>& data, const PredictRequest& req) {
  if (model.empty() || data.empty() || model == data) return;
  std::size_t j = 0;
  while (j < model.size() && j < data.size() && model[j] == data[j]) ++j;
  std::vector<std::string> a = model, b = data;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::string message = "the features of '" + req.data_file + "' are not the model's: ";
  if (j < model.size() && j < data.size())
    message += "feature " + std::to_string(j) + " is '" + model[j] + "' in '" + req.model_file + "' but '" + data[j] +
               "' in the data";
  else
    message += "the model has " + std::to_string(model.size()) + ", the data " + std::to_string(data.size());
  if (a == b) {
    message += " (the same names in another order: reorder the data's columns as the model's /feature_names)";
  } else {
    // What one side lacks: how many, and the first few by name.
    const auto lacking = [](const std::vector<std::string>& from, const std::vector<std::string>& in,
                            const std::string& which) -> std::string {
      std::vector<std::string> missing;
      for (const std::string& name : from)
        if (!std::binary_search(in.begin(), in.end(), name)) missing.push_back(name);
      if (missing.empty()) return "";
      std::string text = "; " + which + std::to_string(missing.size()) + " of them (";
      for (std::size_t i = 0; i < std::min<std::size_t>(missing.size(), 5); ++i) text += (i ? ", '" : "'") + missing[i] + "'";
      return text + (missing.size() > 5 ? ", ...)" : ")");
    };
    message += lacking(a, b, "the data lack the model's features, ") + lacking(b, a, "the model lacks the data's, ");
    message += " (shapes: the model " + std::to_string(model.size()) + " features, the data " +
               std::to_string(data.size()) + "; with pandas or AnnData, reindex the data's columns to the model's "
               "/feature_names, filling the missing ones with zeros, if that is what they mean)";
  }
  throw DataError(message);
}

// Opens the data on every rank and checks it against the model (features, stored values, targets); a failure on
// any rank fails all.
std::unique_ptr<io::DataReader> open_data(const PredictRequest& req, const io::FittedModel& model,
                                          MpiCommunicator& comm) {
  std::unique_ptr<io::DataReader> reader;
  std::string y_left_out;  // why a default /y is not used: the predictions need none
  collectively(comm, [&] {
    const std::int64_t d = model.coef.rows(), k = model.coef.cols();
    const auto open = [&](const std::string& y) {
      return std::make_unique<io::DataReader>(req.data_file, req.x_dataset, y, comm.handle(), !req.y_given, req.select);
    };
    try {
      reader = open(req.y_dataset);
      const io::DataLayout& l = reader->layout();
      if (l.has_y && l.targets != k)
        throw DataError("model '" + req.model_file + "' has " + std::to_string(k) + " target(s) but " + l.y_name +
                        " in '" + req.data_file + "' has " + std::to_string(l.targets));
    } catch (const DataError& e) {
      if (req.y_given) throw;
      y_left_out = e.what();
      reader = open("");  // the same again without y: an error of X's is raised as it was
    }
    const io::DataLayout& l = reader->layout();
    if (l.features != d) {
      // Named on both sides: the features the data lack or add say more than the counts.
      check_names(model.feature_names, l.feature_names, req);
      // X written by R, Fortran or MATLAB (column-major) looks transposed to HDF5: (d, n).
      const bool transposed = !l.sparse && !l.x_transposed && l.rows == d;
      throw DataError("model '" + req.model_file + "' has " + std::to_string(d) + " features but " + l.x_name +
                      " in '" + req.data_file + "' has " + std::to_string(l.features) + " columns (shape " +
                      std::to_string(l.rows) + " x " + std::to_string(l.features) + ")" +
                      (transposed ? io::kColumnMajorHint : ""));
    }
    check_names(model.feature_names, l.feature_names, req);
    reader->verify_stored();
    if (!req.offset_dataset.empty()) reader->set_offset(req.offset_dataset, k, false);
    if (!req.weights_dataset.empty()) reader->set_weights(req.weights_dataset);
  });
  if (const std::string layout = io::layout_warning(reader->layout()); comm.rank() == 0 && !layout.empty())
    warn(layout);
  if (!y_left_out.empty() && comm.rank() == 0)
    warn("predicting without y (no MSE; name the targets with --y-dataset to score): " + y_left_out);
  if (!model.clamped.empty() && comm.rank() == 0)
    warn("--lambda " + req.choice.lambda + " is " + model.clamped + " (glmnet's predict clamps alike)");
  // An AnnData layer or adata.raw holds other values of the same genes (counts against log-normalised /X): the
  // feature names match, and the predictions are silently wrong. Say so when either side is one of them.
  const auto plain = [](const std::string& s) { return s.empty() || s[0] == '/' ? s : "/" + s; };
  const std::string fitted_on = plain(model.x_dataset), reading = plain(reader->layout().x_name);
  const auto layer = [](const std::string& s) { return s.rfind("/layers/", 0) == 0 || s.rfind("/raw/", 0) == 0; };
  if (!fitted_on.empty() && fitted_on != reading && (layer(fitted_on) || layer(reading)) && comm.rank() == 0)
    warn("model '" + req.model_file + "' was fitted on " + fitted_on + ", but these predictions read " + reading +
         ": give --x-dataset " + fitted_on + " if the data hold the same values");
  // glmnet refuses to predict without newoffset a model fitted with an offset; the predictions lack it, say so.
  if (!model.offset_dataset.empty() && req.offset_dataset.empty() && comm.rank() == 0)
    std::fprintf(stderr, "cadmm: warning: model '%s' was fitted with offset %s, but no --offset-dataset is given: "
                 "the predictions leave the offset out\n", req.model_file.c_str(), model.offset_dataset.c_str());
  return reader;
}

// Predicts this rank's rows block by block and writes them to /prediction (each rank its own rows, independently),
// scoring them against y when the data hold it; closes the data, then the scores are summed over ranks.
PredictionScore write_predictions(std::unique_ptr<io::DataReader> reader, const RowRange& range,
                                  const io::FittedModel& model, std::size_t buffer_bytes, io::ParallelH5File& out,
                                  MpiCommunicator& comm) {
  const io::DataLayout layout = reader->layout();
  const std::int64_t n = layout.rows, k = model.coef.cols();
  const int pred = out.create("prediction", H5T_IEEE_F64LE,
                              model.y_is_1d ? std::vector<std::int64_t>{n} : std::vector<std::int64_t>{n, k});
  const bool weighted = !layout.weights_name.empty() && layout.has_y;
  ScoreSums sums(model.intercept, weighted);
  RowMatrix p, offset;
  std::vector<double> w;
  const bool has_offset = !layout.offset_name.empty();
  std::int64_t next = range.begin;
  const auto predict = [&](const auto& x, RowMatrix& y) {
    if (interrupt_requested()) throw RuntimeFailure("interrupted by a signal; no prediction file was written");
    predict_rows(x, model.coef, model.intercept, p);
    if (has_offset) {
      reader->read_offset(next, x.rows(), offset);
      p += offset;
    }
    if (weighted) reader->read_weights(next, x.rows(), w);
    if (layout.has_y) sums.add(y, p, weighted ? w.data() : nullptr);
    out.write_rows(pred, next, x.rows(), p.data());
    next += x.rows();
  };
  collectively(comm, [&] {
    if (layout.sparse)
      reader->read_sparse_rows(range, buffer_bytes, [&](const SparseRows& x, RowMatrix& y) { predict(x, y); });
    else
      reader->read_rows(range, buffer_bytes, [&](RowMatrix& x, RowMatrix& y) { predict(x, y); });
  });
  reader.reset();
  return sums.finish(comm, n);
}

// Rank 0's summary of a finished prediction.
void print_summary(const PredictRequest& req, const io::FittedModel& model, const io::DataLayout& layout,
                   const PredictionScore& score, double seconds, int ranks) {
  std::printf("cadmm predict: %lld rows x %lld target(s) from %s (%s, lambda %s%s) in %.2fs on %d rank(s)\n",
              static_cast<long long>(layout.rows), static_cast<long long>(model.coef.cols()), req.model_file.c_str(),
              model.command.c_str(), fmt(model.lambda).c_str(),
              ((model.index >= 0 ? ", index " + std::to_string(model.index)
                                 : model.path_length > 0 ? std::string(", interpolated between two fits") : std::string()) +
               (model.gamma >= 0 ? ", gamma " + fmt(model.gamma) : std::string())).c_str(),
              seconds, ranks);
  if (layout.has_y)
    std::printf("  MSE %.6e   R^2 %.6f   (against %s%s)\n", score.mse, score.r2, layout.y_name.c_str(),
                layout.weights_name.empty() ? "" : (", weighted by " + layout.weights_name).c_str());
  else
    std::printf("  no y in %s: MSE and R^2 not computed%s\n", req.data_file.c_str(),
                model.y_dataset.empty() || model.y_dataset == "/y" || model.y_dataset == "y"
                    ? "" : (" (the model was fitted on " + model.y_dataset + ": give --y-dataset " + model.y_dataset +
                            " if these data hold it)").c_str());
  std::printf("  output %s (/prediction)\n", req.output.c_str());
}
}  // namespace

int run_predict(const Args& args, MpiCommunicator& comm) {
  const std::optional<PredictRequest> req = parse_request(args, comm);
  if (!req) return 0;
  Stopwatch clock;
  io::FittedModel model;
  // Every rank reads the small model file itself; a failure on any rank fails all.
  collectively(comm, [&] { model = io::read_fitted_model(req->model_file, req->choice); });
  std::unique_ptr<io::DataReader> reader = open_data(*req, model, comm);
  const io::DataLayout layout = reader->layout();
  RowRange range;
  collectively(comm, [&] { range = reader->partition(comm.rank(), comm.size()); });

  io::ParallelH5File out(req->output, "--output", {req->data_file, req->model_file}, comm);
  const PredictionScore score = write_predictions(std::move(reader), range, model, req->buffer_bytes, out, comm);
  if (layout.has_y) {
    out.attribute("mse", score.mse);
    out.attribute("r2", score.r2);
  }
  out.attribute("model", req->model_file);
  out.attribute("data", req->data_file);
  if (!layout.offset_name.empty()) out.attribute("offset_dataset", layout.offset_name);
  if (!layout.weights_name.empty()) out.attribute("weights_dataset", layout.weights_name);
  out.attribute("lambda", model.lambda);
  out.attribute("lambda_index", model.index);
  if (model.gamma >= 0) out.attribute("gamma", model.gamma);
  out.attribute("n_rows", static_cast<std::int64_t>(layout.rows));
  out.commit();
  if (req->verbose) print_summary(*req, model, layout, score, clock.lap(), comm.size());
  return 0;
}

}  // namespace cadmm::cli
