#pragma once
/// \file Exceptions with the process exit code they map to (docs/spec.md section 6).
#include <stdexcept>
#include <string>

namespace cadmm {

/// Process exit codes of the command-line tool.
enum class ExitCode : int {
  ok = 0,         ///< finished (also when max_iter was reached)
  failure = 1,    ///< numerical breakdown, I/O failure, interruption
  usage = 2,      ///< unknown option, bad value, inconsistent configuration
  bad_data = 3,   ///< missing file or dataset, shape mismatch, NaN/Inf, unsupported type, empty
};

/// Base exception: a message that names the file/dataset/option, plus the exit code it maps to.
class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message, bool collective = false)
      : std::runtime_error(message), code_(code), collective_(collective) {}
  /// Exit code the process should end with.
  ExitCode code() const { return code_; }
  /// True when every rank holds this same error (raised by raise_if_any).
  bool collective() const { return collective_; }

 private:
  ExitCode code_;
  bool collective_;
};

/// Misuse: bad option value or inconsistent settings.
struct UsageError : Error {
  explicit UsageError(const std::string& m, bool collective = false) : Error(ExitCode::usage, m, collective) {}
};

/// Bad input data: missing file/dataset, wrong shape or type, non-finite values.
struct DataError : Error {
  explicit DataError(const std::string& m, bool collective = false) : Error(ExitCode::bad_data, m, collective) {}
};

/// Failure while running: I/O failure on output, numerical breakdown.
struct RuntimeFailure : Error {
  explicit RuntimeFailure(const std::string& m, bool collective = false) : Error(ExitCode::failure, m, collective) {}
};

/// Throws the Error subclass that matches code (so a re-raised error keeps its type on every rank).
[[noreturn]] inline void throw_error(ExitCode code, const std::string& message, bool collective = false) {
  switch (code) {
    case ExitCode::usage: throw UsageError(message, collective);
    case ExitCode::bad_data: throw DataError(message, collective);
    default: throw RuntimeFailure(message, collective);
  }
}

}  // namespace cadmm
