#!/usr/bin/env python3
"""cadmm on sparse CSR data vs scikit-learn on the same CSR matrix, side by side in one run.

    /usr/bin/python3 bench/bench_sparse.py [--cadmm build/cadmm] [--ranks 2] [--big]

Problem: `cadmm generate --rows 100000 --features 50000 --nnz-per-row 40`, lasso and elastic net (l1_ratio 0.5) at
0.05 lambda_max. cadmm is timed as a whole `mpirun` process; scikit-learn's Lasso / ElasticNet.fit alone on the
scipy CSR matrix already in memory (it centres sparse X implicitly, as cadmm does), at the lambda cadmm used; both
objectives are recomputed here with one formula. --big adds 1,000,000 x 1,000,000 with 40 nonzeros per row,
cadmm alone, with its plan (`cadmm info`).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import ElasticNet, Lasso

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "cli"))
from mpirun import mpi_env  # noqa: E402


def run(args, env, ranks=None):
    cmd = (["mpirun", "-np", str(ranks)] if ranks else []) + args
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, timeout=3600, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(p.stdout + p.stderr)
    return time.perf_counter() - t0, p.stdout


def objective(X, y, w, b, lam, a):
    r = y - X @ w - b
    return 0.5 * r @ r / len(y) + lam * (a * np.abs(w).sum() + 0.5 * (1 - a) * w @ w)


def generate(cadmm, path, rows, features, ranks, env):
    if not os.path.exists(path):
        run([cadmm, "generate", "--rows", str(rows), "--features", str(features), "--nnz-per-row", "40", "--seed", "7",
             "--output", path, "--quiet"], env, ranks)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cadmm", default=os.path.join(os.path.dirname(__file__), "..", "build", "cadmm"))
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--workdir", default=tempfile.gettempdir())
    ap.add_argument("--big", action="store_true")
    a = ap.parse_args()
    env = mpi_env()
    env.pop("OPENBLAS_NUM_THREADS", None)
    data = os.path.join(a.workdir, "bench_sparse_100000x50000.h5")
    generate(a.cadmm, data, 100_000, 50_000, a.ranks, env)
    with h5py.File(data) as f:
        g = f["X"]
        X = sp.csr_matrix((g["data"][()], g["indices"][()], g["indptr"][()]), shape=tuple(g.attrs["shape"]))
        y = f["y"][()]
    print(f"sparse 100,000 x 50,000, 40 nonzeros per row ({X.nnz} in all), {a.ranks} ranks, 0.05 lambda_max\n")
    print(f"{'solver':<48} {'seconds':>8} {'objective':>22} {'rel. to best':>13} {'iters':>6}")
    for penalty, ratio in [("l1", 1.0), ("elasticnet", 0.5)]:
        out = os.path.join(a.workdir, f"bench_sparse_{penalty}.h5")
        t_c, _ = run([a.cadmm, "solve", "--data", data, "--penalty", penalty, "--lambda-ratio", "0.05", "--output", out,
                      "--quiet"], env, a.ranks)
        with h5py.File(out) as f:
            w, b, lam, iters = f["coef"][()], f["intercept"][()], f.attrs["lambda"], f.attrs["iterations"]
        model = Lasso(alpha=lam) if penalty == "l1" else ElasticNet(alpha=lam, l1_ratio=ratio)
        t0 = time.perf_counter()
        model.fit(X, y)
        t_s = time.perf_counter() - t0
        o_c = objective(X, y, w, b, lam, ratio)
        o_s = objective(X, y, model.coef_, model.intercept_, lam, ratio)
        best = min(o_c, o_s)
        print(f"{'cadmm ' + penalty + ', whole process':<48} {t_c:8.2f} {o_c:22.15e} {(o_c - best) / best:13.2e} {iters:6d}")
        print(f"{'scikit-learn ' + type(model).__name__ + '.fit, fit alone':<48} {t_s:8.2f} {o_s:22.15e} "
              f"{(o_s - best) / best:13.2e} {model.n_iter_:6d}")
        print(f"  ratio cadmm / scikit-learn: {t_c / t_s:.2f}")
    if a.big:
        big = os.path.join(a.workdir, "bench_sparse_1000000x1000000.h5")
        made = "already generated"
        if not os.path.exists(big):
            t_g, _ = run([a.cadmm, "generate", "--rows", "1000000", "--features", "1000000", "--nnz-per-row", "40",
                          "--seed", "7", "--output", big, "--quiet"], env, a.ranks)
            made = f"generated in {t_g:.1f} s"
        _, plan = run([a.cadmm, "info", big, "--ranks", str(a.ranks)], env)
        t_b, text = run([a.cadmm, "solve", "--data", big, "--lambda-ratio", "0.05", "--output",
                         os.path.join(a.workdir, "bench_sparse_big.h5"), "--progress-seconds", "10"], env, a.ranks)
        print(f"\nsparse 1,000,000 x 1,000,000, 40 nonzeros per row ({made}), cadmm alone:\n")
        print(plan.rstrip())
        print(text[text.find("cadmm solve:"):].rstrip())
        print(f"whole process: {t_b:.1f} s")


if __name__ == "__main__":
    main()
