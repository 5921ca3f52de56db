#!/usr/bin/env bash
# jobs/solve.sbatch on a real 3-node Slurm (jobs/local-cluster.sh) on this machine: the job spans 2 nodes,
# must finish with exit 0 within the time limit, and its result must match a one-rank run.
# Usage: test_slurm_job.sh CADMM WORKDIR REPO_ROOT
set -euo pipefail
CADMM="$(realpath "$1")"; WORK="$2"; REPO="$(realpath "$3")"
rm -rf "$WORK"; mkdir -p "$WORK"
# Ports from this shell's pid, so that two runs of this test (or a cluster started by hand) do not collide.
export CADMM_SLURM_DIR="$WORK/slurm" CADMM_SLURM_PORT=$((20000 + ($$ % 5000) * 4)) SLURM_CONF="$WORK/slurm/slurm.conf"
trap '"$REPO/jobs/local-cluster.sh" stop' EXIT
"$REPO/jobs/local-cluster.sh" start 3 > "$WORK/cluster.log"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,tcp OPENBLAS_NUM_THREADS=1
"$CADMM" generate --rows 20000 --features 30 --correlation 0.3 --output "$WORK/data.h5" --quiet
cd "$WORK"
# --wait makes sbatch return the job's exit code; timeout bounds a hang.
CADMM="$CADMM" timeout 180 sbatch --wait --nodes=2 --ntasks-per-node=1 --time=5 --output="$WORK/job.out" \
  "$REPO/jobs/solve.sbatch" --data "$WORK/data.h5" --penalty elasticnet --output "$WORK/slurm.h5" --quiet
"$CADMM" solve --data "$WORK/data.h5" --penalty elasticnet --output "$WORK/local.h5" --quiet
/usr/bin/python3 - "$WORK" <<'PY'
import sys, h5py, numpy as np
w = sys.argv[1]
a, b = h5py.File(f"{w}/slurm.h5"), h5py.File(f"{w}/local.h5")
assert a.attrs["n_ranks"] == 2 and a.attrs["status"] == "converged", dict(a.attrs)
err = np.abs(a["coef"][()] - b["coef"][()]).max() / np.abs(b["coef"][()]).max()
assert err < 1e-6, err
print(f"slurm job on 2 nodes: converged, coefficients match the 1-rank run to {err:.1e}")
PY
grep -q "2 node(s)" "$WORK/job.out"
echo "1 passed, 0 failed"
