#!/usr/bin/env python3
"""Paths of the grouped penalties (feature groups, l21) side by side in one run: cadmm as it is, cadmm with
`--polish false` (every lambda by ADMM iterations: the grouped paths before their warm active set), and, for l21,
scikit-learn's multi-task `lasso_path`.

    /usr/bin/python3 bench/bench_group.py [--cadmm build/cadmm] [--ranks 2] [--problems GW,GT,MT] [--workdir DIR]
                                          [--no-admm]

Problems (generated once into --workdir with NumPy, seed 1, reused when present; 100 lambdas):
  GW  dense 3,000 x 6,000, 1,200 groups of 5 (30 carry the signal), a shared factor 0.5 in every column;
      --penalty group, lambdas to 0.05 lambda_max (wide: ADMM needs a Woodbury factorization per rho)
  GT  dense 50,000 x 500, 100 groups of 5 (20 carry the signal), the same factor; --penalty group, to 1e-3
  MT  dense 20,000 x 1,000, 5 targets, 50 rows of W nonzero; --penalty l21, to 1e-2 lambda_max
What is timed: each cadmm `path` as a whole `mpirun -np RANKS` process (launch, read, setup, every lambda, write);
scikit-learn's `lasso_path(X, Y, alphas=cadmm's lambdas)` (Y with 5 columns: the multi-task lasso, the same
objective 1/(2n) ||Y - X W||_F^2 + lambda sum_j ||W_j||) on X and Y centred beforehand, the call alone, data in
memory. Printed: seconds, the objective at the last lambda recomputed here from the data for every tool (relative to
the best), the largest coefficient difference against the first cadmm run, cadmm's ADMM iterations and the lambdas
its warm active set solved. --no-admm skips the `--polish false` runs (GW's takes about 6 minutes here).
"""
import argparse
import os
import subprocess
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "cli"))
from mpirun import mpi_env  # noqa: E402

PROBLEMS = {
    "GW": dict(rows=3_000, features=6_000, targets=1, group=5, signal=30, penalty="group", min_ratio=0.05),
    "GT": dict(rows=50_000, features=500, targets=1, group=5, signal=20, penalty="group", min_ratio=1e-3),
    "MT": dict(rows=20_000, features=1_000, targets=5, group=1, signal=50, penalty="l21", min_ratio=1e-2),
}


def generate(path, p):
    rng = np.random.default_rng(1)
    n, d, k, size = p["rows"], p["features"], p["targets"], p["group"]
    X = rng.standard_normal((n, d)) + 0.5 * rng.standard_normal((n, 1))
    W = np.zeros((d, k))
    for g in rng.choice(d // size, p["signal"], replace=False):
        W[g * size:(g + 1) * size] = rng.standard_normal((size, k))
    Y = X @ W + rng.standard_normal((n, k))
    with h5py.File(path + ".tmp", "w") as f:
        f["X"] = X
        f["y"] = Y[:, 0] if k == 1 else Y
        f["groups"] = np.arange(d) // size
    os.replace(path + ".tmp", path)


def load(path):
    with h5py.File(path) as f:
        X, Y = f["X"][()], f["y"][()]
        groups = f["groups"][()]
    return X, Y.reshape(len(X), -1), groups


def objective(X, Y, W, b, lam, groups, penalty):
    """1/(2n) ||Y - X W - b||_F^2 + lambda sum_g sqrt(|g|) ||W_g||_F (group) or lambda sum_j ||W_j|| (l21)."""
    R = Y - X @ W - b
    if penalty == "group":
        sizes = np.bincount(groups)
        norms = np.sqrt(np.bincount(groups, weights=(W ** 2).sum(axis=1)))
        pen = (np.sqrt(sizes) * norms).sum()
    else:
        pen = np.linalg.norm(W, axis=1).sum()
    return 0.5 * (R ** 2).sum() / len(X) + lam * pen


def cadmm_path(a, data, p, out, extra):
    cmd = ["mpirun", "-np", str(a.ranks), a.cadmm, "path", "--data", data, "--penalty", p["penalty"],
           "--lambda-min-ratio", str(p["min_ratio"]), "--output", out, "--quiet"] + extra
    if p["penalty"] == "group":
        cmd += ["--groups-dataset", "/groups"]
    t0 = time.perf_counter()
    subprocess.run(cmd, env=mpi_env(), check=True)
    seconds = time.perf_counter() - t0
    with h5py.File(out) as f:
        coef = f["path/coef"][()]
        k = p["targets"]
        W = coef[-1].reshape(-1, k)
        b = np.atleast_1d(f["path/intercept"][()][-1]).reshape(1, k)
        lambdas = f["path/lambda"][()]
        iterations = int(np.sum(f["path/iterations"][()]))
        warm = int(np.sum(f["path/iterations"][()] == 0))
    return dict(seconds=seconds, W=W, b=b, lambdas=lambdas, iterations=iterations, warm=warm)


def sklearn_path(X, Y, lambdas):
    from sklearn.linear_model import lasso_path
    means, y_means = X.mean(axis=0), Y.mean(axis=0)
    Xc, Yc = X - means, Y - y_means
    t0 = time.perf_counter()
    _, coefs, _ = lasso_path(Xc, Yc, alphas=lambdas, copy_X=False)
    seconds = time.perf_counter() - t0
    W = coefs[:, :, -1].T  # (targets, features, lambdas) for several targets
    return dict(seconds=seconds, W=W, b=(y_means - means @ W).reshape(1, -1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cadmm", default="build/cadmm")
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--problems", default="GW,GT,MT")
    ap.add_argument("--workdir", default="/work/benchwork" if os.path.isdir("/work/benchwork") else "/tmp")
    ap.add_argument("--no-admm", action="store_true")
    a = ap.parse_args()
    a.cadmm = os.path.abspath(a.cadmm)
    rows = []
    for name in a.problems.split(","):
        p = PROBLEMS[name]
        data = os.path.join(a.workdir, f"bench_group_{name}.h5")
        if not os.path.exists(data):
            generate(data, p)
        X, Y, groups = load(data)
        fits = {"cadmm": cadmm_path(a, data, p, data[:-3] + ".out.h5", [])}
        if not a.no_admm:
            fits["cadmm --polish false"] = cadmm_path(a, data, p, data[:-3] + ".admm.h5", ["--polish", "false"])
        lam = fits["cadmm"]["lambdas"][-1]
        if p["penalty"] == "l21":
            fits["sklearn lasso_path"] = sklearn_path(X, Y, fits["cadmm"]["lambdas"])
        objs = {t: objective(X, Y, f["W"], f["b"], lam, groups, p["penalty"]) for t, f in fits.items()}
        best = min(objs.values())
        shape = f" ({p['features'] // p['group']:,} groups of {p['group']})" if p["penalty"] == "group" else ""
        print(f"\n{name}: {p['rows']:,} x {p['features']:,}, {p['targets']} target(s), --penalty {p['penalty']}{shape}, "
              f"100 lambdas to {p['min_ratio']} lambda_max, {a.ranks} ranks")
        print(f"  {'tool':<22} {'seconds':>9} {'objective - best':>17} {'max |coef diff|':>16} {'ADMM iters':>11} {'warm-solved':>12}")
        for t, f in fits.items():
            diff = np.abs(f["W"] - fits["cadmm"]["W"]).max()
            iters = f"{f['iterations']:>11}" if "iterations" in f else f"{'-':>11}"
            warm = f"{f['warm']:>12}" if "warm" in f else f"{'-':>12}"
            print(f"  {t:<22} {f['seconds']:>9.2f} {(objs[t] - best) / abs(best):>17.1e} {diff:>16.1e} {iters} {warm}")
            rows.append((name, t, f["seconds"]))
    print("\nsummary (seconds):")
    for name, t, s in rows:
        print(f"  {name:<4} {t:<22} {s:9.2f}")


if __name__ == "__main__":
    main()
