#!/usr/bin/env bash
# jobs/cadmm.sbatch with --checkpoint on a real Slurm (jobs/local-cluster.sh): a job whose real time limit (two
# minutes) expires mid-solve gets Slurm's warning signal (--signal=B:USR1@30 here), saves its state,
# requeues itself, starts again by itself, resumes (as often as the limit needs) and finishes; its result file
# equals an uninterrupted run's bit for bit (timings aside). The solve is a small one slowed to ~1.6 ms an
# iteration by the test-only CADMM_FAULT=slow@1, which changes no number. Then the same with the checkpoint named
# only in the --config INI file, the warning sent at once by scancel --batch --signal=USR1: the job requeues and
# resumes all the same. Two ranks on one node (slurm_job covers several).
# Usage: test_slurm_requeue.sh CADMM WORKDIR REPO_ROOT
set -euo pipefail
CADMM="$(realpath "$1")"; WORK="$2"; REPO="$(realpath "$3")"
rm -rf "$WORK"; mkdir -p "$WORK"
# Slurm holds a requeued job back for a multiple of the credential's life: measured here, 29 s at 10 s, 89 s at 30 s;
# Slurm's default, 120 s, would add minutes to every restart of a test that runs 2.5 minutes alone, up to 7 loaded.
# So 10 s here, at the price of a launch that must reach the slurmd within 10 s (mpirun starts its daemon on the
# job's one node with srun; see jobs/local-cluster.sh). slurm_job and slurm_install_module keep Slurm's default.
export CADMM_SLURM_CRED_EXPIRE=10
source "$REPO/tests/jobs/cluster.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,tcp OPENBLAS_NUM_THREADS=1 CADMM="$CADMM"
"$CADMM" generate --rows 5000 --features 50 --correlation 0.5 --output "$WORK/data.h5" --quiet
cd "$WORK"
# A solve that cannot converge before --max-iter (zero tolerances): a fixed 80,000 iterations, ~1.5 s unslowed,
# 100-150 s slowed (at least 1 ms an iteration).
solve=(solve --data "$WORK/data.h5" --penalty l1 --lambda-ratio 0.05 --abs-tol 0 --rel-tol 1e-300 --gap-tol 0
       --max-iter 80000 --progress-seconds 2)

# Waits (bounded) until job $1 has ended; prints its final state.
wait_job() {
  for _ in $(seq 1200); do
    state=$(scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
    case "$state" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE) echo "$state"; return ;; esac
    sleep 0.5
  done
  echo "TIMEOUT-WAITING"
}

# The uninterrupted run: the same binary and rank count under plain mpirun.
timeout 120 mpirun --timeout 110 -np 2 "$CADMM" "${solve[@]}" --output "$WORK/plain.h5" --quiet 2>/dev/null

# Slurm checks time limits every 30 s and may send the warning up to a minute early (man sbatch), so it comes
# 30-90 s into each run of a two-minute job, and the slowed solve outlasts at least the first run. The requeued job
# starts again by itself once its old credential has expired (10 s here, CADMM_SLURM_CRED_EXPIRE above).
# Waits for JOB (started at $start), prints its log OUT, and checks that it completed after requeueing itself and
# resuming from checkpoint CK.
completed_after_a_requeue() {
  local job=$1 out=$2 ck=$3 what=$4 state
  state=$(wait_job "$job")
  echo "job $job ($what) ended $state after $(( $(date +%s) - start )) s"
  cat "$out"
  [ "$state" = COMPLETED ] || { echo "job ended $state"; slurm_errors; exit 1; }
  grep -q "requeueing job $job" "$out"
  grep -q "resuming from $ck" "$out"
}
start=$(date +%s)
job=$(CADMM_FAULT=slow@1 sbatch --parsable -N 1 --ntasks=2 --time=2 --signal=B:USR1@30 --output="$WORK/requeue.out" \
      "$REPO/jobs/cadmm.sbatch" "${solve[@]}" --checkpoint "$WORK/state.ck" --checkpoint-every 2000 \
      --output "$WORK/requeue.h5")
completed_after_a_requeue "$job" "$WORK/requeue.out" "$WORK/state.ck" "past its time limit"
grep -q "state saved" "$WORK/requeue.out"
grep -q "restart 1" "$WORK/requeue.out"
echo "runs: $(grep -c "^cadmm solve: job" "$WORK/requeue.out"), requeues: $(grep -c "requeueing job" "$WORK/requeue.out")"
/usr/bin/python3 - "$WORK" <<'PY'
import sys, h5py, numpy as np
w = sys.argv[1]
with h5py.File(f"{w}/requeue.h5") as a, h5py.File(f"{w}/plain.h5") as b:
    assert a.attrs["iterations"] == b.attrs["iterations"] == 80000, (a.attrs["iterations"], b.attrs["iterations"])
    for name in ("coef", "intercept"):
        assert a[name][()].tobytes() == b[name][()].tobytes(), name
    ha, hb = a["history"][()], b["history"][()]
    for f in ha.dtype.names:
        if f != "seconds":
            assert ha[f].tobytes() == hb[f].tobytes(), f
    for k in b.attrs:
        if not k.endswith("seconds"):
            assert np.asarray(a.attrs[k]).tobytes() == np.asarray(b.attrs[k]).tobytes(), k
print("job past its time limit: result equal bit for bit to the uninterrupted run")
PY

# The checkpoint named in the --config file alone counts as one on the command line (the script reads the INI file as
# cadmm does): Slurm's warning, sent here as soon as the first checkpoint is on disk with scancel --batch
# --signal=USR1 (what --signal=B:USR1 sends before a time limit), makes the job save, requeue itself and resume.
short=(solve --data "$WORK/data.h5" --penalty l1 --lambda-ratio 0.05 --abs-tol 0 --rel-tol 1e-300 --gap-tol 0
       --max-iter 10000 --progress-seconds 2)
cat > "$WORK/run.ini" <<INI
# jobs/cadmm.sbatch finds the checkpoint here: --resume after a requeue
[solve]
checkpoint = $WORK/state_ini.ck   # every 1000 iterations
checkpoint_every = 1000
INI
timeout 120 mpirun --timeout 110 -np 2 "$CADMM" "${short[@]}" --output "$WORK/plain_ini.h5" --quiet 2>/dev/null
start=$(date +%s)
job=$(CADMM_FAULT=slow@1 sbatch --parsable -N 1 --ntasks=2 --time=10 --output="$WORK/ini.out" \
      "$REPO/jobs/cadmm.sbatch" "${short[@]}" --config "$WORK/run.ini" --output "$WORK/ini.h5")
for _ in $(seq 240); do [ -f "$WORK/state_ini.ck" ] && break; sleep 0.5; done
[ -f "$WORK/state_ini.ck" ] || { cat "$WORK/ini.out"; echo "no checkpoint after 120 s"; slurm_errors; exit 1; }
scancel --batch --signal=USR1 "$job"
completed_after_a_requeue "$job" "$WORK/ini.out" "$WORK/state_ini.ck" "checkpoint in the INI file"
/usr/bin/python3 - "$WORK" <<'PY'
import sys, h5py
w = sys.argv[1]
with h5py.File(f"{w}/ini.h5") as a, h5py.File(f"{w}/plain_ini.h5") as b:
    assert a.attrs["iterations"] == b.attrs["iterations"] == 10000, (a.attrs["iterations"], b.attrs["iterations"])
    for name in ("coef", "intercept"):
        assert a[name][()].tobytes() == b[name][()].tobytes(), name
print("checkpoint in the INI file: signalled, requeued, resumed; result equal bit for bit to the uninterrupted run")
PY
echo "2 passed, 0 failed"
