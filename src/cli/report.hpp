#pragma once
// What rank 0 prints while a solve runs and when it ends.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "cadmm/admm.hpp"

namespace cadmm::cli {

/// Prints a progress line on the first iteration and then at most every `interval` seconds; objective and gap
/// are the latest evaluated (every --gap-every iterations).
class ProgressPrinter {
 public:
  ProgressPrinter(bool enabled, double interval) : enabled_(enabled), interval_(interval) {}
  void operator()(const IterationRecord& r);
  /// Prints the last record if it was not printed yet.
  void finish(const IterationRecord& r);

 private:
  void print(const IterationRecord& r);
  bool enabled_;
  double interval_;
  double last_ = -1;
  int last_iteration_ = 0;
  bool header_ = false;
  double objective_ = 0, gap_ = 0;  // latest evaluated values
  bool evaluated_ = false;
};

/// Wall-clock phase timer.
class Stopwatch {
 public:
  /// Seconds since construction or the last lap().
  double peek() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t_).count(); }
  /// Seconds since construction or the last lap(), and restarts.
  double lap() {
    const auto now = std::chrono::steady_clock::now();
    const double s = std::chrono::duration<double>(now - t_).count();
    t_ = now;
    return s;
  }

 private:
  std::chrono::steady_clock::time_point t_ = std::chrono::steady_clock::now();
};

/// Progress inside a long step: due() is true at most once per `interval` seconds of wall time, the first time
/// `interval` after construction or the last reset() (a step that ends sooner prints nothing more). Lines end in
/// '\n' and are flushed, so a Slurm log gets one line per event.
class Heartbeat {
 public:
  Heartbeat(bool enabled, double interval) : enabled_(enabled), interval_(interval) {}
  bool due() {
    if (!enabled_ || clock_.peek() < interval_) return false;
    clock_.lap();
    return true;
  }
  void reset() { clock_.lap(); }

 private:
  bool enabled_;
  double interval_;
  Stopwatch clock_;
};

/// Rank 0's lines during a long read, at most every `interval` seconds: the share of its rows read, the bytes,
/// the rate and the time left (every rank reads its own share at about the same pace).
class ReadProgress {
 public:
  ReadProgress(bool enabled, double interval, std::int64_t rows, double bytes_per_row)
      : beat_(enabled, interval), rows_(rows), bytes_per_row_(bytes_per_row) {}
  void rows_read(std::int64_t done);

 private:
  Heartbeat beat_;
  Stopwatch since_;
  std::int64_t rows_;
  double bytes_per_row_;
};

/// Where a running solve is, for progress lines: "iteration I, primal r (eps e), dual s (eps e), gap g" ("gap -"
/// on an iteration that did not evaluate it).
std::string solve_state(const IterationRecord& r);

/// Formats a number compactly for summaries.
std::string fmt(double v, const char* format = "%.6g");
/// A fit's duality gap for summaries ("%.3e"), or why it has none (NaN: lambda 0, PenaltySpec::has_gap).
std::string gap_text(double gap);
/// Bytes as "12.3 MiB" (B, KiB, MiB, GiB, TiB; one decimal).
std::string bytes_text(double bytes);

/// Prints a message to stderr prefixed with "cadmm: warning: ".
void warn(const std::string& message);

/// SIGINT/SIGTERM/SIGUSR1 (Ctrl-C, Slurm's time limit or its warning signal) only set a flag; the solve loop turns it
/// into a collective stop so that every rank ends the same way (rank: who prints in ExitOnInterrupt).
void install_interrupt_handlers(int rank);
/// True once SIGINT, SIGTERM or SIGUSR1 arrived.
bool interrupt_requested();

/// While one lives, a signal ends the process at once with exit 1, rank 0 printing "interrupted by a signal while
/// DOING; nothing was written". For reading and preparing the data, where nothing is lost by leaving and no loop
/// asks for the flag often enough: mpirun kills the ranks one second after passing Ctrl-C on as SIGTERM, and one
/// block of a wide Gram's rows takes longer than that. A signal that came before the scope ends it at its start.
/// What solve, path and cv are doing until their loops begin (ExitOnInterrupt).
inline constexpr char kReadingData[] = "reading and preparing the data";

class ExitOnInterrupt {
 public:
  explicit ExitOnInterrupt(const char* doing);
  ~ExitOnInterrupt();
  ExitOnInterrupt(const ExitOnInterrupt&) = delete;
  ExitOnInterrupt& operator=(const ExitOnInterrupt&) = delete;

 private:
  std::string line_;
};

}  // namespace cadmm::cli
