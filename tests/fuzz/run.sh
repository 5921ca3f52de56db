#!/usr/bin/env bash
# Runs one libFuzzer target. New inputs go to a scratch corpus in WORKDIR, never into the source tree.
#   run.sh TARGET SEEDS WORKDIR [RUNS [SEED]]
#       The test suite's run, the same every time: every committed input in SEEDS once, then RUNS inputs (default
#       5000) made from them by libFuzzer with the fixed SEED (default 1). Counted in inputs, not seconds, with address
#       randomization off (setarch -R), no comparison-guided mutations (-use_cmp=0: they feed on what Open MPI and
#       HDF5 compare, which varies from run to run) and no timed corpus reloads (-reload=0): the same code runs the
#       same inputs, so it passes or fails the same way, however busy the machine.
#   run.sh TARGET SEEDS WORKDIR --random SECONDS
#       Longer fuzzing to find new bugs, not part of the test suite: a random seed (printed, so a run can be repeated),
#       SECONDS of wall time, every libFuzzer feature on.
# A finding fails the run: a crash, a leak, undefined behaviour, an exception other than cadmm's errors, one input
# running 10 s or using 2 GB. Its input is saved in WORKDIR/artifacts/ and replays with `TARGET FILE`; add it to
# SEEDS so that the test suite runs it from then on. The targets write their scratch files in the current directory,
# which is WORKDIR/scratch here (one directory per run).
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 TARGET SEEDS WORKDIR [RUNS [SEED]] | $0 TARGET SEEDS WORKDIR --random SECONDS" >&2
  exit 2
fi
target=$(realpath "$1") seeds=$(realpath "$2") work=$3
shift 3
random_seconds="" runs=5000 seed=1
if [ "${1:-}" = "--random" ]; then
  random_seconds=${2:?--random needs SECONDS}
else
  runs=${1:-$runs} seed=${2:-$seed}
fi
# The test suite's environment (tests/CMakeLists.txt), for a run by hand: leaks checked, Open MPI's own suppressed.
sanitizers="$(cd "$(dirname "${BASH_SOURCE[0]}")/../sanitizers" && pwd)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$sanitizers/lsan.supp:print_suppressions=0:fast_unwind_on_malloc=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" OPENBLAS_NUM_THREADS=1
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts" "$work/scratch"
work=$(realpath "$work")
log="$work/fuzz.log"
common=(-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/artifacts/")
cd "$work/scratch"

fail() {
  echo "FAILED: $1 (whole log: $log; the input that failed: $work/artifacts/)"
  tail -n 80 "$log"
  exit 1
}

if [ -n "$random_seconds" ]; then
  seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
  echo "random fuzzing for ${random_seconds}s with -seed=$seed"
  "$target" "${common[@]}" -seed="$seed" -max_total_time="$random_seconds" -print_final_stats=1 \
    "$work/corpus" "$seeds" > "$log" 2>&1 || fail "random fuzzing, -seed=$seed"
  grep -E "^(#[0-9]+[[:space:]]+DONE|Done |stat::)" "$log" || true
  exit 0
fi

# Address randomization off, where the system allows it: code whose branches depend on addresses (alignment checks,
# ordering by pointer) would otherwise reach different edges from run to run, and the fuzzer would follow them.
norandom=()
if setarch "$(uname -m)" -R true 2>/dev/null; then
  norandom=(setarch "$(uname -m)" -R)
else
  echo "note: setarch -R is not allowed here; address randomization stays on, so the run may vary slightly"
fi

mapfile -t inputs < <(find "$seeds" -maxdepth 1 -type f | sort)
[ ${#inputs[@]} -gt 0 ] || { echo "no inputs in $seeds"; exit 1; }
"${norandom[@]}" "$target" "${common[@]}" "${inputs[@]}" > "$log" 2>&1 || fail "a committed input of $seeds"
echo "${#inputs[@]} committed inputs of $seeds: passed"
"${norandom[@]}" "$target" "${common[@]}" -seed="$seed" -runs="$runs" -use_cmp=0 -reload=0 -print_final_stats=1 \
  "$work/corpus" "$seeds" >> "$log" 2>&1 || fail "-seed=$seed -runs=$runs"
echo "-seed=$seed -runs=$runs: passed"
grep -E "^(#[0-9]+[[:space:]]+DONE|stat::)" "$log" || true
