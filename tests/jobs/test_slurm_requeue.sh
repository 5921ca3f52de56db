#!/usr/bin/env bash
# jobs/cadmm.sbatch with --checkpoint on a real Slurm (jobs/local-cluster.sh): a job that gets Slurm's warning
# signal mid-solve (sent as --signal=B:USR1 sends it: to the batch shell) saves its state, requeues itself, starts
# again by itself, resumes and finishes; its result file equals an uninterrupted job's bit for bit (timings aside).
# The signal is sent with scancel rather than by waiting for a real time limit: Slurm's warning may come up to a
# minute early, and one arriving while mpirun starts its daemons made the restarted launch fail. Two ranks on one
# node (slurm_job covers several). Usage: test_slurm_requeue.sh CADMM WORKDIR REPO_ROOT
set -euo pipefail
CADMM="$(realpath "$1")"; WORK="$2"; REPO="$(realpath "$3")"
rm -rf "$WORK"; mkdir -p "$WORK"
source "$REPO/tests/jobs/cluster.sh"
export OMPI_MCA_btl=self,tcp CADMM="$CADMM"
"$CADMM" generate --rows 20000 --features 200 --correlation 0.5 --output "$WORK/data.h5" --quiet
cd "$WORK"
# A solve that cannot converge before --max-iter (zero tolerances), long enough to be interrupted (15-20 s here).
solve=(solve --data "$WORK/data.h5" --penalty l1 --lambda-ratio 0.05 --abs-tol 0 --rel-tol 1e-300 --gap-tol 0
       --max-iter 250000 --progress-seconds 0.5)

# Waits (bounded) until job $1 has ended; prints its final state.
wait_job() {
  for _ in $(seq 1200); do
    state=$(scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
    case "$state" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE) echo "$state"; return ;; esac
    sleep 0.5
  done
  echo "TIMEOUT-WAITING"
}

job=$(sbatch --parsable -N 1 --ntasks=2 --time=10 --output="$WORK/plain.out" \
      "$REPO/jobs/cadmm.sbatch" "${solve[@]}" --output "$WORK/plain.h5")
[ "$(wait_job "$job")" = COMPLETED ] || { cat "$WORK/plain.out"; exit 1; }

job=$(sbatch --parsable -N 1 --ntasks=2 --time=10 --output="$WORK/requeue.out" \
      "$REPO/jobs/cadmm.sbatch" "${solve[@]}" --checkpoint "$WORK/state.ck" --checkpoint-every 50000 \
      --output "$WORK/requeue.h5")
# Once it iterates, send what Slurm sends before the time limit: SIGUSR1 to the batch shell.
for _ in $(seq 480); do
  grep -qE "^ +[0-9]+ " "$WORK/requeue.out" 2>/dev/null && break
  sleep 0.25
done
sleep 1
scancel --signal=USR1 --batch "$job"
# The requeued job starts again by itself once its old credential has expired (jobs/local-cluster.sh sets
# cred_expire=10 s; Slurm's default holds a requeued job back 120 s).
state=$(wait_job "$job")
cat "$WORK/requeue.out"
[ "$state" = COMPLETED ] || { echo "job ended $state"; exit 1; }
grep -q "state saved" "$WORK/requeue.out"
grep -q "restart 1" "$WORK/requeue.out"
grep -q "requeueing job $job" "$WORK/requeue.out"
grep -q "resuming from $WORK/state.ck" "$WORK/requeue.out"
/usr/bin/python3 - "$WORK" <<'PY'
import sys, h5py, numpy as np
w = sys.argv[1]
with h5py.File(f"{w}/requeue.h5") as a, h5py.File(f"{w}/plain.h5") as b:
    assert a.attrs["iterations"] == b.attrs["iterations"] == 250000, (a.attrs["iterations"], b.attrs["iterations"])
    for name in ("coef", "intercept"):
        assert a[name][()].tobytes() == b[name][()].tobytes(), name
    ha, hb = a["history"][()], b["history"][()]
    for f in ha.dtype.names:
        if f != "seconds":
            assert ha[f].tobytes() == hb[f].tobytes(), f
    for k in b.attrs:
        if not k.endswith("seconds"):
            assert np.asarray(a.attrs[k]).tobytes() == np.asarray(b.attrs[k]).tobytes(), k
print("requeued job: result equal bit for bit to the uninterrupted job")
PY
echo "1 passed, 0 failed"
