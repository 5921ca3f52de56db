#!/usr/bin/env bash
# jobs/scaling.sh in one command (mpirun, 1 and 2 ranks, small problems): the CSV has a row per sweep and rank
# count with every phase, the table and the plot are written. Usage: test_scaling.sh CADMM WORKDIR REPO_ROOT
set -euo pipefail
CADMM="$(realpath "$1")"; WORK="$2"; REPO="$(realpath "$3")"
rm -rf "$WORK"; mkdir -p "$WORK"
export OMPI_MCA_rmaps_base_oversubscribe=1
CADMM="$CADMM" timeout 300 "$REPO/jobs/scaling.sh" --launcher mpirun --ranks "1 2" --rows 20000 --rows-per-rank 10000 \
  --features 30 --out "$WORK/out"
/usr/bin/python3 - "$WORK/out" <<'PY'
import csv, os, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(out, "scaling.csv"))))
assert [(r["kind"], r["ranks"]) for r in rows] == [("strong", "1"), ("strong", "2"), ("weak", "1"), ("weak", "2")], rows
for r in rows:
    assert all(float(r[k]) >= 0 for k in ("read", "setup", "iterations_s", "communication", "write", "total")), r
    assert int(r["iterations"]) > 0 and r["status"] == "converged", r
assert rows[0]["efficiency"] == "1.0" and int(rows[3]["rows"]) == 20000, rows
assert "| strong | 2 |" in open(os.path.join(out, "scaling.md")).read()
assert os.path.getsize(os.path.join(out, "scaling.png")) > 10000
print("scaling.sh: CSV, table and plot written")
PY
echo "1 passed, 0 failed"
