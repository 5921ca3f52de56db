#!/usr/bin/env python3
"""`cadmm info FILE --ranks P` and `mpirun -np P cadmm solve` agree on the plan, for every fixture.

info prints one row per rank (rows, nonzeros, local form, memory, flops); solve prints which forms its ranks use
("data ... P rank(s): 2 gram, 1 woodbury") and the largest rank's planned memory ("plan  X per rank at most"). Both
come from the one plan in core (make_plan / plan_rank), so the forms counted over info's rows must be solve's, and
info's largest memory figure must be the figure solve prints, at every rank count.
Usage: check_plan.py CADMM FIXTURES_DIR WORKDIR
"""
import collections
import glob
import os
import re
import shlex
import subprocess
import sys

import h5py

sys.path.insert(0, os.path.dirname(__file__))
from mpirun import TIMEOUT, mpi_env, run_cadmm  # noqa: E402

UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}


def fixture_options(data):
    """The options the test suite solves the fixture with (tests/data/make_fixtures.py), and the dataset ones."""
    with h5py.File(data, "r") as f:
        cli = f["reference"].attrs["cli"]
    cli = shlex.split(cli.decode() if isinstance(cli, bytes) else cli)
    datasets = [a for i, a in enumerate(cli) if a in ("--x-dataset", "--y-dataset") or
                (i > 0 and cli[i - 1] in ("--x-dataset", "--y-dataset"))]
    return cli, datasets


def info_plan(cadmm, data, ranks):
    """(Counter of forms, largest memory text) from info's per-rank table."""
    out = subprocess.run([cadmm, "info", data, "--ranks", str(ranks)] + fixture_options(data)[1], capture_output=True, text=True,
                         timeout=TIMEOUT, env=mpi_env(), check=True).stdout
    forms, largest, largest_text = collections.Counter(), -1.0, None
    for m in re.finditer(r"^\s+\d+\s+\d+\s+\d+\s+(\w+)\s+([\d.]+) (B|KiB|MiB|GiB|TiB)\s", out, re.M):
        forms["without rows" if m.group(1) == "idle" else m.group(1)] += 1
        value = float(m.group(2)) * UNITS[m.group(3)]
        if value > largest:
            largest, largest_text = value, f"{m.group(2)} {m.group(3)}"
    if sum(forms.values()) != ranks:
        raise SystemExit(f"info printed {sum(forms.values())} rank rows for --ranks {ranks}:\n{out}")
    return forms, largest_text


def solve_plan(cadmm, data, ranks, workdir):
    _, out, _ = run_cadmm(cadmm, ranks, ["solve", "--data", data, "--output", os.path.join(workdir, "plan.h5")] +
                          fixture_options(data)[0])
    kinds = re.search(r"^  data .*rank\(s\): (.*)$", out, re.M)
    plan = re.search(r"^  plan\s+([\d.]+ \w+) per rank at most", out, re.M)
    if not kinds or not plan:
        raise SystemExit(f"solve printed no data/plan line:\n{out}")
    forms = collections.Counter()
    for item in kinds.group(1).split(", "):
        count, form = item.split(" ", 1)
        forms[form] = int(count)
    return forms, plan.group(1)


def main():
    cadmm, fixtures, workdir = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(workdir, exist_ok=True)
    files = sorted(f for f in glob.glob(os.path.join(fixtures, "*.h5")) if not os.path.basename(f).startswith("cv_"))
    failed = passed = 0
    for data in files:
        for ranks in (1, 3):
            name = f"{os.path.basename(data)} np{ranks}"
            info, solve = info_plan(cadmm, data, ranks), solve_plan(cadmm, data, ranks, workdir)
            if info == solve:
                passed += 1
            else:
                failed += 1
                print(f"FAIL {name}: info {dict(info[0])}, {info[1]}; solve {dict(solve[0])}, {solve[1]}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
