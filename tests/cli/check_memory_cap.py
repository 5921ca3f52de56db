#!/usr/bin/env python3
"""A dataset larger than the memory given to the run solves correctly (issue: larger than memory).

Generates dense data 1.6x the cap, then runs `mpirun -np 2 cadmm solve` inside a cgroup (v1 memory controller,
as root) whose limit covers mpirun and both ranks, swap included where the kernel accounts it. The Gram form
streams X through one reused buffer, so the run must finish (exit 0, no OOM kill) and equal scikit-learn's Lasso on
the same data. The cgroup is removed afterwards; processes still in it are killed by pid.
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

CAP = 128 << 20
CG = f"/sys/fs/cgroup/memory/cadmm_test_{os.getpid()}"


def main():
    cadmm, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    rows, d = 200_000, 128  # 205 MB of float64: 1.6x the cap
    data, out = os.path.join(work, "cap_data.h5"), os.path.join(work, "cap_out.h5")
    run_cadmm(cadmm, 2, ["generate", "--rows", str(rows), "--features", str(d), "--correlation", "0.3", "--seed", "3",
                         "--output", data, "--quiet"])
    size = os.path.getsize(data)
    assert size >= 1.5 * CAP, (size, CAP)
    if not os.path.isdir("/sys/fs/cgroup/memory"):
        sys.exit("FAIL: no cgroup v1 memory controller at /sys/fs/cgroup/memory (needed to cap the run)")
    os.makedirs(CG)
    failures = []
    try:
        with open(f"{CG}/memory.limit_in_bytes", "w") as fh:
            fh.write(str(CAP))
        if os.path.exists(f"{CG}/memory.memsw.limit_in_bytes"):  # no escape into swap
            with open(f"{CG}/memory.memsw.limit_in_bytes", "w") as fh:
                fh.write(str(CAP))
        cmd = ["sh", "-c", f'echo $$ > {CG}/cgroup.procs && exec mpirun --timeout 300 -np 2 "$0" "$@"', cadmm, "solve",
               "--data", data, "--output", out, "--lambda-ratio", "0.05", "--quiet"]
        with started(cmd) as p:
            try:
                _, err = p.communicate(timeout=330)
            except subprocess.TimeoutExpired:
                failures.append("timed out under the cap")
                err = ""
        with open(f"{CG}/memory.max_usage_in_bytes") as fh:
            peak = int(fh.read())
        with open(f"{CG}/memory.oom_control") as fh:
            oom = fh.read()
        if p.returncode != 0:
            failures.append(f"exit {p.returncode} under a {CAP >> 20} MiB cap for {size >> 20} MiB of data: {err}\n{oom}")
        print(f"memory cap {CAP >> 20} MiB, data {size >> 20} MiB: exit {p.returncode}, peak usage of the cgroup "
              f"(page cache included) {peak >> 20} MiB")
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
    if not failures:
        with h5py.File(data) as f:
            X, y = f["X"][()], f["y"][()]
        with h5py.File(out) as r:
            coef, lam = r["coef"][()], r.attrs["lambda"]
        ref = Lasso(alpha=lam, tol=1e-10, max_iter=100_000).fit(X, y).coef_
        err_coef = np.abs(coef - ref).max() / np.abs(ref).max()
        print(f"coefficients vs scikit-learn (uncapped): {err_coef:.2e}")
        if err_coef > 1e-4:
            failures.append(f"capped result differs from scikit-learn by {err_coef:.2e}")
    for msg in failures:
        print("FAIL:", msg)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
