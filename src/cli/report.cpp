#include "cli/report.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>

#include <unistd.h>

namespace cadmm::cli {

void ProgressPrinter::operator()(const IterationRecord& r) {
  if (!enabled_) return;
  if (std::isfinite(r.objective)) {
    objective_ = r.objective;
    gap_ = r.gap;
    evaluated_ = true;
  }
  if (last_ < 0 || r.seconds - last_ >= interval_) print(r);
}

void ProgressPrinter::finish(const IterationRecord& r) {
  if (enabled_ && r.iteration != last_iteration_) print(r);
}

void ProgressPrinter::print(const IterationRecord& r) {
  if (!header_) {
    std::printf("%8s %11s %11s %11s %11s %10s %16s %10s %9s\n", "iter", "primal r", "eps_pri", "dual s", "eps_dual",
                "rho", "objective", "gap", "time");
    header_ = true;
  }
  char obj[32] = "-", gap[32] = "-";
  if (evaluated_) {
    std::snprintf(obj, sizeof obj, "%.10e", objective_);
    std::snprintf(gap, sizeof gap, "%.2e", gap_);
  }
  std::printf("%8d %11.3e %11.3e %11.3e %11.3e %10.3e %16s %10s %8.2fs\n", r.iteration, r.r_norm, r.eps_pri, r.s_norm,
              r.eps_dual, r.rho, obj, gap, r.seconds);
  std::fflush(stdout);
  last_ = r.seconds;
  last_iteration_ = r.iteration;
}

void ReadProgress::rows_read(std::int64_t done) {
  if (done <= 0 || done >= rows_ || !beat_.due()) return;
  const double seconds = since_.peek(), share = static_cast<double>(done) / static_cast<double>(rows_);
  std::printf("  read %.0f%% (rank 0: %s of %s, %s/s, about %.0fs left)\n", 100 * share,
              bytes_text(static_cast<double>(done) * bytes_per_row_).c_str(),
              bytes_text(static_cast<double>(rows_) * bytes_per_row_).c_str(),
              bytes_text(static_cast<double>(done) * bytes_per_row_ / std::max(seconds, 1e-9)).c_str(),
              seconds * (1 - share) / share);
  std::fflush(stdout);
}

std::string solve_state(const IterationRecord& r) {
  char text[160];
  char gap[32] = "-";
  if (std::isfinite(r.gap)) std::snprintf(gap, sizeof gap, "%.2e", r.gap);
  std::snprintf(text, sizeof text, "iteration %d, primal %.2e (eps %.2e), dual %.2e (eps %.2e), gap %s", r.iteration,
                r.r_norm, r.eps_pri, r.s_norm, r.eps_dual, gap);
  return text;
}

std::string bytes_text(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  return fmt(b, "%.1f") + " " + units[u];
}

std::string gap_text(double gap) {
  return std::isnan(gap) ? "none at lambda 0 (no penalty, so no dual certificate: stopped on the residuals)"
                         : fmt(gap, "%.3e");
}

std::string fmt(double v, const char* format) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

void warn(const std::string& message) { std::fprintf(stderr, "cadmm: warning: %s\n", message.c_str()); }

namespace {
volatile std::sig_atomic_t g_interrupted = 0;
// Set inside an ExitOnInterrupt scope: the line to print (rank 0 only; empty elsewhere) before leaving at once.
const char* volatile g_exit_line = nullptr;
volatile std::size_t g_exit_length = 0;
bool g_prints = false;

// Sleeps for `ms` milliseconds inside a signal handler (nanosleep is async-signal-safe), resuming after other signals.
void pause_ms(long ms) {
  timespec left{ms / 1000, (ms % 1000) * 1000000L};
  while (::nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

// mpirun forwards stderr through its own event loop: a rank that wrote its line and died at once could be reaped
// before that loop read the pipe, and the line was lost (exit 1, empty stderr, 2 runs in 15 on a loaded machine).
// So rank 0 stays alive a moment after writing, and the silent ranks leave after it; both well inside the second
// mpirun waits between SIGTERM and SIGKILL.
constexpr long kPrintingRankLingerMs = 200;
constexpr long kSilentRankLingerMs = 400;

// The signals that stop a run (Ctrl-C, Slurm's time limit and its warning).
sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGUSR1}) sigaddset(&set, s);
  return set;
}

std::atomic<int> g_exiting{0};  // lock-free: safe in a handler
static_assert(std::atomic<int>::is_always_lock_free);

[[noreturn]] void exit_interrupted() {
  // A second signal (Ctrl-C reaching the rank, then mpirun's SIGTERM) must not print the line again while this
  // lingers: blocked in this thread, and in another (MPI's threads take signals too) it waits for the _exit below.
  const sigset_t stops = stop_signals();
  ::sigprocmask(SIG_BLOCK, &stops, nullptr);
  if (g_exiting.exchange(1) != 0)
    for (;;) ::pause();
  if (const char* line = g_exit_line) {
    ssize_t ignored = ::write(STDERR_FILENO, line, g_exit_length);
    (void)ignored;
    pause_ms(kPrintingRankLingerMs);
  } else {
    pause_ms(kSilentRankLingerMs);
  }
  ::_exit(1);
}

extern "C" void on_signal(int) {
  g_interrupted = 1;
  if (g_exit_length > 0) exit_interrupted();
}
}  // namespace

void install_interrupt_handlers(int rank) {
  g_prints = rank == 0;
  // SIGUSR1 is what jobs/cadmm.sbatch passes on for Slurm's warning before the time limit (--signal). Each blocks the
  // others while the handler runs.
  struct sigaction action {};
  action.sa_handler = on_signal;
  action.sa_mask = stop_signals();
  action.sa_flags = SA_RESTART;  // as std::signal on glibc: a read or a wait goes on after the flag is set
  for (int s : {SIGINT, SIGTERM, SIGUSR1}) ::sigaction(s, &action, nullptr);
}

bool interrupt_requested() { return g_interrupted != 0; }

ExitOnInterrupt::ExitOnInterrupt(const char* doing)
    : line_(std::string("cadmm: error: interrupted by a signal while ") + doing + "; nothing was written\n") {
  g_exit_line = g_prints ? line_.c_str() : nullptr;
  g_exit_length = line_.size();
  if (g_interrupted) exit_interrupted();  // it came before the scope
}

ExitOnInterrupt::~ExitOnInterrupt() {
  g_exit_length = 0;
  g_exit_line = nullptr;
}

}  // namespace cadmm::cli
