#!/usr/bin/env python3
"""Runs under a memory cap finish and answer right (issue: larger than memory).

Each case runs `mpirun cadmm ...` inside a cgroup (v1 memory controller, as root) whose limit covers mpirun and the
ranks, swap included where the kernel accounts it; the cgroup is removed afterwards, processes still in it killed by
pid. The plan reads the cap as the node's memory.
- tall: dense data 1.6x the cap, `solve` on 2 ranks. The Gram form streams X through one reused buffer, so the run
  must finish (exit 0, no OOM kill) and equal scikit-learn's Lasso on the same data.
- wide cv: 2,200 x 2,000 dense on 2 ranks (wide blocks of data tall as a whole), a 5-fold `cv`. A path's working
  sets plan the Gram form there, whose held rows and Grams for the folds (about 5 d^2 doubles) exceed the cap's
  budget while a path's one Gram fits;
  the plan must take the matrix-inversion lemma (woodbury, which fits) instead of refusing the run (exit 2), and the
  refit equal scikit-learn's Lasso at the chosen lambda.
Usage: check_memory_cap.py CADMM WORKDIR
"""
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
from sklearn.linear_model import Lasso

sys.path.insert(0, os.path.dirname(__file__))
from mpirun import run_cadmm, started  # noqa: E402

CG = f"/sys/fs/cgroup/memory/cadmm_test_{os.getpid()}"


def capped_run(cap, ranks, cadmm, args):
    """(exit code, stdout, stderr, peak bytes of the cgroup, its oom_control) of mpirun -np RANKS cadmm ARGS."""
    os.makedirs(CG)
    try:
        with open(f"{CG}/memory.limit_in_bytes", "w") as fh:
            fh.write(str(cap))
        if os.path.exists(f"{CG}/memory.memsw.limit_in_bytes"):  # no escape into swap
            with open(f"{CG}/memory.memsw.limit_in_bytes", "w") as fh:
                fh.write(str(cap))
        cmd = ["sh", "-c", f'echo $$ > {CG}/cgroup.procs && exec mpirun --timeout 300 -np {ranks} "$0" "$@"', cadmm,
               *args]
        with started(cmd) as p:
            try:
                out, err = p.communicate(timeout=330)
            except subprocess.TimeoutExpired:
                out, err = "", "timed out under the cap"
        with open(f"{CG}/memory.max_usage_in_bytes") as fh:
            peak = int(fh.read())
        with open(f"{CG}/memory.oom_control") as fh:
            oom = fh.read()
        return p.returncode, out, err, peak, oom
    finally:
        for _ in range(50):  # kill what is left in the group by pid, then remove it
            with open(f"{CG}/cgroup.procs") as fh:
                pids = [int(x) for x in fh.read().split()]
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        os.rmdir(CG)


def coef_error(data, coef, lam):
    with h5py.File(data) as f:
        X, y = f["X"][()], f["y"][()]
    ref = Lasso(alpha=lam, tol=1e-10, max_iter=100_000).fit(X, y).coef_
    return np.abs(coef - ref).max() / np.abs(ref).max()


def tall(cadmm, work, failures):
    cap = 128 << 20
    rows, d = 200_000, 128  # 205 MB of float64: 1.6x the cap
    data, out = os.path.join(work, "cap_data.h5"), os.path.join(work, "cap_out.h5")
    run_cadmm(cadmm, 2, ["generate", "--rows", str(rows), "--features", str(d), "--correlation", "0.3", "--seed", "3",
                         "--output", data, "--quiet"])
    size = os.path.getsize(data)
    assert size >= 1.5 * cap, (size, cap)
    rc, _, err, peak, oom = capped_run(cap, 2, cadmm, ["solve", "--data", data, "--output", out, "--lambda-ratio",
                                                       "0.05", "--quiet"])
    print(f"tall: memory cap {cap >> 20} MiB, data {size >> 20} MiB: exit {rc}, peak usage of the cgroup "
          f"(page cache included) {peak >> 20} MiB")
    if rc != 0:
        failures.append(f"tall: exit {rc} under a {cap >> 20} MiB cap for {size >> 20} MiB of data: {err}\n{oom}")
        return
    with h5py.File(out) as r:
        err_coef = coef_error(data, r["coef"][()], r.attrs["lambda"])
    print(f"tall: coefficients vs scikit-learn (uncapped): {err_coef:.2e}")
    if err_coef > 1e-4:
        failures.append(f"tall: capped result differs from scikit-learn by {err_coef:.2e}")


def wide_cv(cadmm, work, failures):
    # Tall as a whole (2,200 rows), wide on each of 2 ranks (1,100 rows x 2,000 features): a path's working sets plan
    # the Gram form there, whose held rows and Grams for 5 folds exceed the cap's budget while a path's one Gram fits.
    rows, d, folds, ranks = 2200, 2000, 5, 2
    cap = 400 << 20
    budget = 0.9 * cap / ranks  # a rank's share of the node's memory that the plan uses (kBudgetShare)
    # A path's Gram and a polished block (4 d^2 doubles: 128 MB) fit it; cv's held rows and Grams (about 7 d^2
    # doubles and the rows: 245 MB) do not; woodbury's rows and kernel (63 MB) do.
    assert 8 * 4 * d * d < budget < 8 * 7 * d * d
    data, out = os.path.join(work, "wide_data.h5"), os.path.join(work, "wide_cv.h5")
    run_cadmm(cadmm, 1, ["generate", "--rows", str(rows), "--features", str(d), "--correlation", "0.2", "--seed", "5",
                         "--output", data, "--quiet"])
    rc, stdout, err, peak, oom = capped_run(cap, ranks, cadmm, ["cv", "--data", data, "--output", out, "--folds",
                                                                str(folds), "--n-lambda", "8", "--lambda-min-ratio", "0.1"])
    print(f"wide cv: memory cap {cap >> 20} MiB: exit {rc}, peak usage of the cgroup {peak >> 20} MiB")
    if rc != 0:
        failures.append(f"wide cv: exit {rc} under a {cap >> 20} MiB cap: {err}\n{oom}")
        return
    reading = [line for line in stdout.splitlines() if line.startswith("reading ")]
    print("wide cv:", reading[0] if reading else "(no reading line)")
    if not reading or "woodbury" not in reading[0]:
        failures.append(f"wide cv: the plan did not take the woodbury form under the cap: {reading}")
    # The refit's path at its smallest lambda (its most nonzeros).
    with h5py.File(out) as r:
        err_coef = coef_error(data, r["path/coef"][-1], float(r["path/lambda"][-1]))
    print(f"wide cv: the refit path's last coefficients vs scikit-learn: {err_coef:.2e}")
    if err_coef > 1e-4:
        failures.append(f"wide cv: the refit path differs from scikit-learn by {err_coef:.2e}")


def main():
    cadmm, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    if not os.path.isdir("/sys/fs/cgroup/memory"):
        sys.exit("FAIL: no cgroup v1 memory controller at /sys/fs/cgroup/memory (needed to cap the run)")
    failures = []
    tall(cadmm, work, failures)
    wide_cv(cadmm, work, failures)
    for msg in failures:
        print("FAIL:", msg)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
