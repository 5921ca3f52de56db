#pragma once
// LIBSVM/SVMlight and CSV text to the HDF5 layout of docs/spec.md section 3, streamed in constant memory.
#include <cstdint>
#include <functional>
#include <string>

namespace cadmm::io {

/// What a conversion read and wrote.
struct ConvertReport {
  std::int64_t rows = 0, features = 0, targets = 1, nonzeros = 0;
  std::int64_t bytes = 0;         ///< input bytes read
  bool zero_based = false;        ///< LIBSVM: an index 0 was seen, so indices were taken as 0-based
  std::int64_t unlabelled = 0;    ///< LIBSVM: lines without a label (empty label sets: y becomes indicators)
  std::string compression;        ///< "gzip", "bzip2" or "" (the input as read)
  std::string target_name;        ///< CSV with a header: the name of y's column
  std::int64_t target_column = -1;  ///< CSV: y's column (0-based, the row index left out)
  bool row_index = false;         ///< CSV: the header's first name was empty (a row index): that column left out
  std::int64_t skipped = 0;       ///< CSV: columns left out by --skip-columns
};

/// LIBSVM/SVMlight (`label[,label...] [qid:N] index:value ...`, indices 1-based unless an index 0 appears,
/// strictly increasing within a line, `#` comments) to a CSR group /X and /y; several comma-separated labels give
/// a 2-D y of 0/1 indicators over the distinct labels. Throws DataError naming the line and column of a malformed
/// line; nothing is left at `output` on failure. stop is asked every 8 MB of input with the bytes read so far
/// (progress lines); true (e.g. a signal arrived) ends the conversion with RuntimeFailure. Serial.
ConvertReport convert_libsvm(const std::string& input, const std::string& output,
                             const std::function<bool(std::int64_t)>& stop = {});

/// CSV of numbers to dense /X and /y: every row the same number of fields; the target column (a 0-based number, or
/// with a header a column's name; "": the last) goes to y. With header the first line names the columns: the other
/// columns' names are written as /feature_names. skip: comma-separated columns (numbers or names, as the target)
/// left out unread (an id, a text column). Same errors and guarantees as convert_libsvm. Serial.
ConvertReport convert_csv(const std::string& input, const std::string& output, bool header, const std::string& target,
                          const std::string& skip = "", const std::function<bool(std::int64_t)>& stop = {});

}  // namespace cadmm::io
