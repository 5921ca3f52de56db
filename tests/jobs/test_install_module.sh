#!/usr/bin/env bash
# Installs cadmm the way a site does (cmake --install into a prefix), loads it with Debian's Lmod (`module load
# cadmm`) and runs the installed binary through the installed job script on the local 3-node Slurm.
# Usage: test_install_module.sh BUILD_DIR WORKDIR REPO_ROOT
set -euo pipefail
BUILD="$(realpath "$1")"; WORK="$2"; REPO="$(realpath "$3")"
rm -rf "$WORK"; mkdir -p "$WORK"
cmake --install "$BUILD" --prefix "$WORK/prefix" > "$WORK/install.log"
set +u  # Lmod's shell functions read unset variables
source /usr/share/lmod/lmod/init/bash
module use "$WORK/prefix/share/modulefiles"
module load cadmm
set -u
[ "$(command -v cadmm)" = "$WORK/prefix/bin/cadmm" ] || { echo "module load cadmm did not put the prefix on PATH"; exit 1; }
cadmm --version
[ -x "$CADMM_JOBS/cadmm.sbatch" ] && [ -f "$CADMM_CONFIGS/lasso.ini" ]

source "$REPO/tests/jobs/cluster.sh"
export OMPI_MCA_btl=self,tcp
unset CADMM  # the job script must find the binary through PATH, as a user's job does after module load
cd "$WORK"
cadmm generate --rows 3000 --features 20 --output "$WORK/data.h5" --quiet
timeout 300 sbatch --wait --nodes=2 --ntasks-per-node=1 --time=5 --output="$WORK/job.out" \
  "$CADMM_JOBS/cadmm.sbatch" solve --config "$CADMM_CONFIGS/lasso.ini" --data "$WORK/data.h5" \
  --output "$WORK/result.h5" --quiet || { cat "$WORK/job.out"; slurm_errors; exit 1; }
cat "$WORK/job.out"
grep -q "$WORK/prefix/bin/cadmm" "$WORK/job.out"
/usr/bin/python3 -c "
import h5py, sys
f = h5py.File('$WORK/result.h5')
assert f.attrs['status'] == 'converged' and f.attrs['n_ranks'] == 2, dict(f.attrs)
"
echo "1 passed, 0 failed"
