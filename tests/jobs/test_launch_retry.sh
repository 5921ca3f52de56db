#!/usr/bin/env bash
# jobs/cadmm.sbatch tries a launch again when the launcher failed before any rank ran ("An ORTE daemon has
# unexpectedly failed after launch", Open MPI's message when a node is too busy to start its daemon in time) or lost
# a node's daemon ("ORTE has lost communication with a remote daemon", which Open MPI 4.1 also reports now and then
# while its daemons wire up: a CI run's 3-node job array hit it), at most CADMM_LAUNCH_RETRIES times, and never retries
# a run that failed in cadmm itself. Run without Slurm: a stand-in mpirun first in PATH fails the first FAILS launches
# that way (the second if LOST is set), then runs the real one.
# Usage: test_launch_retry.sh CADMM WORKDIR REPO
set -euo pipefail
CADMM="$1"; WORK="$2"; REPO="$3"
rm -rf "$WORK"; mkdir -p "$WORK/bin"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 REAL_MPIRUN="$(command -v mpirun)"
cat > "$WORK/bin/mpirun" <<'STANDIN'
#!/usr/bin/env bash
n=$(cat "$COUNT_FILE" 2>/dev/null || echo 0); echo $((n + 1)) > "$COUNT_FILE"
if [ "$n" -lt "$FAILS" ] && [ -n "${LOST:-}" ]; then
  printf -- '---\nORTE has lost communication with a remote daemon.\n\n  HNP daemon   : [[3770,0],0] on node vm\n---\n' >&2
  exit 1
elif [ "$n" -lt "$FAILS" ]; then
  printf -- '---\nAn ORTE daemon has unexpectedly failed after launch and before\ncommunicating back to mpirun.\n---\n' >&2
  exit 1
fi
exec "$REAL_MPIRUN" --timeout 100 "$@"
STANDIN
chmod +x "$WORK/bin/mpirun"
data="$REPO/tests/data/fixtures/lasso_diabetes.h5"
# run FAILS EXPECTED_RC EXPECTED_LAUNCHES ARGS...: the script's exit code and how many launches it made.
run() {
  local fails=$1 want_rc=$2 want_launches=$3; shift 3
  rm -f "$WORK/count" "$WORK/out.h5"
  set +e
  COUNT_FILE="$WORK/count" FAILS=$fails PATH="$WORK/bin:$PATH" CADMM="$CADMM" \
    timeout 300 bash "$REPO/jobs/cadmm.sbatch" "$@" > "$WORK/job.out" 2>&1
  local rc=$?
  set -e
  local launches; launches=$(cat "$WORK/count")
  if [ "$rc" -ne "$want_rc" ] || [ "$launches" -ne "$want_launches" ]; then
    echo "FAIL: FAILS=$fails $*: exit $rc after $launches launch(es), expected exit $want_rc after $want_launches"
    cat "$WORK/job.out"; exit 1
  fi
}
run 1 0 2 solve --data "$data" --output "$WORK/out.h5" --quiet      # one failed launch: tried again, solved
test -f "$WORK/out.h5"
grep -q "launcher failed before any rank ran (attempt 1)" "$WORK/job.out"
run 9 1 3 solve --data "$data" --output "$WORK/out.h5" --quiet      # always failing: 1 + 2 retries, then its exit
test ! -f "$WORK/out.h5"
run 0 3 1 solve --data "$WORK/missing.h5" --output "$WORK/out.h5"   # cadmm's own error (bad data): never retried
grep -q "does not exist" "$WORK/job.out"
export LOST=1
run 1 0 2 solve --data "$data" --output "$WORK/out.h5" --quiet      # a lost daemon: launched again, solved
test -f "$WORK/out.h5"
grep -q "lost a node's daemon and stopped every rank (attempt 1); launching again$" "$WORK/job.out"
run 2 0 3 path --data "$data" --output "$WORK/out.h5" --checkpoint "$WORK/ck.h5" --quiet  # twice, then from the checkpoint
grep -q "(attempt 2); launching again from the checkpoint" "$WORK/job.out"
run 9 1 3 solve --data "$data" --output "$WORK/out.h5" --quiet      # lost every time: 1 + 2 retries, then its exit
test ! -f "$WORK/out.h5"
echo "launch retry: 6 passed, 0 failed"
