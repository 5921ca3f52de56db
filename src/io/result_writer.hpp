#pragma once
// The result file of docs/spec.md section 5 (solve, path, cv), written by one rank to a temporary name and renamed into
// place, and reading a result back as a model for predict.
#include <string>
#include <utility>
#include <vector>

#include "cadmm/path.hpp"
#include "io/hdf5_util.hpp"

namespace cadmm::io {

/// Facts about the run that the result file records besides the fit itself.
struct RunFacts {
  ProblemSpec spec;                ///< what was solved
  std::string command = "solve";  ///< solve, path or cv
  int n_ranks = 1;
  std::int64_t n_rows = 0, n_features = 0, n_targets = 1;
  bool y_is_1d = true;
  double solve_seconds = 0;
  std::string offset_dataset;      ///< the offset subtracted from y (empty: none)
  std::string weights_dataset;     ///< the rows' weights (empty: none)
  std::string data_file;           ///< the data file as the run named it (attribute data)
  std::string x_dataset;           ///< X's dataset in the data file (predict warns when it reads another layer)
  std::string y_dataset;           ///< y's dataset (empty: a column of X's table); predict names it where it finds no y
  std::vector<std::string> feature_names;  ///< written as /feature_names (empty: the data named none)
  /// Columns tied to an earlier one (PreparedData::tied_columns), written as /tied_columns (m x 2: later, earlier)
  std::vector<std::pair<Eigen::Index, Eigen::Index>> tied_columns;
};

/// What a path or cv run adds to the file.
struct ResultExtras {
  const PathResult* path = nullptr;  ///< /path/* datasets and /history as every fit's history in turn
  const CvResult* cv = nullptr;      ///< /cv/* datasets
  std::string cv_refit;              ///< lambda_min or lambda_1se (attribute refit)
  std::string cv_folds_from;         ///< how folds were made (attribute folds_from)
  const FoldAssignment* folds = nullptr;  ///< cv's seeded folds: written as /cv/foldid (1-based, glmnet's foldid)
  double gamma = -1;                 ///< the relaxed blend of /coef (cv --relax; attribute gamma), -1: none
  std::int64_t lambda_index = -1;    ///< cv: /coef's index in /path/lambda (attribute lambda_index), -1: none
};

/// Writes /coef, /intercept, /history and the root attributes (plus extras). Throws RuntimeFailure naming path.
void write_result(const std::string& path, const FitResult& fit, const RunFacts& facts, const ResultExtras& extras = {});

/// Writes the iteration records as the compound dataset /history (shared with checkpoints).
void write_history(AtomicH5File& file, const std::vector<IterationRecord>& history, const std::string& path);
/// Reads /history written by write_history; throws DataError naming path when it is not there.
std::vector<IterationRecord> read_history(hid_t file, const std::string& path);

/// One fold of a cross-validation fitted on its own (`cv --fold F`, one task of a job array).
struct CvFoldFile {
  int fold = 0;                          ///< 0-based
  std::vector<double> lambdas;           ///< the whole sequence, as every task computes it from the data
  Vector mse;                            ///< this fold's held-out MSE per lambda
  std::vector<std::int64_t> fold_rows;   ///< rows of every fold
  std::string key;                       ///< the problem and fold assignment; must match the collecting run
  std::vector<double> gammas;            ///< cv --relax: the blends scored (empty: none)
  Matrix relaxed_mse;                    ///< cv --relax: this fold's held-out MSE per gamma (rows) and lambda
};

/// Writes a fold file: /cv/lambda, /cv/mse (1 x lambdas), /cv/fold_rows (with --relax also /cv/relaxed/gamma and
/// /cv/relaxed/mse, gammas x lambdas) and attributes command "cv-fold", fold (1-based), folds, key. Serial.
void write_cv_fold(const std::string& path, const CvResult& cv, int fold, const std::string& key);
/// Reads a fold file; DataError naming the file when it is not one. Serial.
CvFoldFile read_cv_fold(const std::string& path);

/// A fitted model read from a result file of solve, path or cv.
struct FittedModel {
  Matrix coef;                 ///< d x k
  Vector intercept;            ///< k
  bool y_is_1d = true;         ///< the model was fitted to a 1-D y (predictions are 1-D)
  double lambda = 0;           ///< lambda of the chosen fit
  std::string command;         ///< solve, path or cv
  std::int64_t path_length = 0;  ///< number of lambdas of a path file (0 otherwise)
  double gamma = -1;           ///< the relaxed blend applied (-1: none)
  std::int64_t index = -1;     ///< the path index used (-1: /coef, or a lambda between two fits)
  std::string offset_dataset;  ///< the offset the model was fitted with (empty: none)
  std::string x_dataset;       ///< X's dataset it was fitted on (empty: a file of an older version)
  std::string y_dataset;       ///< y's dataset it was fitted on (empty: an older version's file, or a table's column)
  std::vector<std::string> feature_names;  ///< /feature_names (empty: the training data named none)
  /// --lambda VALUE outside the path's range, clamped to its nearest end (glmnet's lambda.interp): what was asked and
  /// what was used, for a warning ("" otherwise, and above a path that starts at lambda_max, where W = 0 is exact)
  std::string clamped;
};

/// Which fit of a model file predict applies.
struct ModelChoice {
  std::int64_t index = -1;  ///< --lambda-index I: fit I of /path (-1: not given)
  std::string lambda;       ///< --lambda: lambda_min or lambda_1se (cv files), or a value ("": not given)
  double gamma = -1;        ///< --gamma G: blended with the relaxed fit, G fit + (1 - G) relaxed (-1: none)
};

/// Reads /coef and /intercept, or the fit `choice` names from a file with /path (path files, and cv files, which
/// keep the refit's whole path): fit I; the fit at cv's lambda_min or lambda_1se (of a cv --relax file without gamma:
/// its chosen relaxed (lambda, gamma) pair, as glmnet's predict.cv.relaxed); at a lambda value, glmnet's
/// linear interpolation in lambda between the two fits around it (clamped to the path's range); with gamma, each
/// blended with its relaxed fit (/path/relaxed), by default at /coef's lambda (a cv file's chosen fit, a path file's
/// last). Throws DataError naming the file when it is not a cadmm result, UsageError naming the option when the
/// choice does not fit the file. Serial.
FittedModel read_fitted_model(const std::string& path, const ModelChoice& choice = {});

}  // namespace cadmm::io
