#!/usr/bin/env bash
# Strong and weak scaling sweeps of `cadmm solve`, as Slurm jobs when Slurm is there (sbatch + jobs/cadmm.sbatch),
# else with plain mpirun; then a CSV, a Markdown table and a PNG plot with speedup and parallel efficiency.
#   jobs/scaling.sh [options]
#     --ranks "1 2 4 8"        rank counts to sweep (default "1 2 4")
#     --rows N                 strong scaling: rows of the fixed problem (default 400000)
#     --rows-per-rank N        weak scaling: rows per rank (default 100000)
#     --features D             features (default 200)
#     --targets K              targets (default 1; many targets make the Allreduce of d x k values large)
#     --ranks-per-node R       Slurm: ranks per node (default 1: each rank on its own node while nodes last)
#     --launcher slurm|mpirun  default: slurm when sbatch and a reachable controller exist, else mpirun
#     --solve "OPTIONS"        extra options for cadmm solve (default "--penalty l1 --lambda-ratio 0.05")
#     --out DIR                where data, logs and the report go (default scaling-<date>)
# cadmm is found like jobs/cadmm.sbatch finds it ($CADMM, PATH, build/cadmm). The report is
# DIR/scaling.csv, DIR/scaling.md and DIR/scaling.png (the plot needs python3-matplotlib).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ranks="1 2 4"; rows=400000; per_rank=100000; features=200; targets=1; per_node=1; launcher=""
solve_opts="--penalty l1 --lambda-ratio 0.05"; out="scaling-$(date +%Y%m%d-%H%M%S)"
while [ $# -gt 0 ]; do
  case "$1" in
    --ranks) ranks=$2; shift 2 ;;
    --rows) rows=$2; shift 2 ;;
    --rows-per-rank) per_rank=$2; shift 2 ;;
    --features) features=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    --ranks-per-node) per_node=$2; shift 2 ;;
    --launcher) launcher=$2; shift 2 ;;
    --solve) solve_opts=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "scaling.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "${CADMM:-}" ]; then
  CADMM=$(command -v cadmm || echo "$HERE/../build/cadmm")
fi
[ -x "$CADMM" ] || { echo "scaling.sh: cadmm not found (set CADMM)" >&2; exit 2; }
export CADMM
if [ -z "$launcher" ]; then
  if command -v sbatch >/dev/null && sinfo -h >/dev/null 2>&1; then launcher=slurm; else launcher=mpirun; fi
fi
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
read -r -a solve_args <<< "$solve_opts"
echo "scaling: $launcher, ranks {$ranks}, strong $rows x $features, weak $per_rank rows per rank; into $out"

# run NAME P ARGS...: one cadmm command on P ranks; its output goes to $out/NAME.log.
run() {
  local name=$1 p=$2; shift 2
  if [ "$launcher" = slurm ]; then
    local nodes=$(( (p + per_node - 1) / per_node ))
    sbatch --wait --ntasks="$p" --nodes="$nodes" --ntasks-per-node="$per_node" --output="$out/$name.log" \
      --job-name="cadmm-$name" "$HERE/cadmm.sbatch" "$@" > /dev/null
  else
    mpirun --oversubscribe -np "$p" "$CADMM" "$@" > "$out/$name.log" 2>&1
  fi
}

"$CADMM" generate --rows "$rows" --features "$features" --targets "$targets" --correlation 0.3 --seed 1 --output "$out/strong.h5" --quiet
for p in $ranks; do
  echo "  strong P=$p"
  run "strong_p$p" "$p" solve --data "$out/strong.h5" "${solve_args[@]}" --output "$out/strong_p$p.h5"
  # Weak: the same rows per rank, so P times the rows.
  "$CADMM" generate --rows $((per_rank * p)) --features "$features" --targets "$targets" --correlation 0.3 --seed 1 \
    --output "$out/weak_p$p.data.h5" --quiet
  echo "  weak   P=$p"
  run "weak_p$p" "$p" solve --data "$out/weak_p$p.data.h5" "${solve_args[@]}" --output "$out/weak_p$p.h5"
  rm -f "$out/weak_p$p.data.h5"
done
rm -f "$out/strong.h5"
python3=/usr/bin/python3; [ -x "$python3" ] || python3=python3
"$python3" "$HERE/scaling_report.py" "$out" "$launcher" "$features x $targets" $ranks
