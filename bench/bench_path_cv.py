#!/usr/bin/env python3
"""cadmm path / cv vs scikit-learn and glmnet on one dense lasso, side by side in one run.

    /usr/bin/python3 bench/bench_path_cv.py [--cadmm build/cadmm] [--rows 200000] [--features 500] [--ranks 2]
                                            [--repeat 1] [--baseline OLD/cadmm] [--no-references] [--no-glmnet]

cadmm is timed as whole `mpirun` processes (launch, parallel read, Gram sums, factorization, all fits, write);
scikit-learn (lasso_path, LassoCV) and glmnet (glmnet, cv.glmnet, through Rscript) are timed on their fit calls
alone, with the data already in memory. 100 lambdas down to 1e-3 lambda_max, 10 folds. Needs Debian's
python3-sklearn, python3-h5py, r-cran-glmnet and r-cran-hdf5r.

--repeat N times every cadmm run N times and prints the median (the references run once). --baseline BIN times
every cadmm run with a second executable as well, the two interleaved run by run (new, baseline, new, ...), each
writing its own output: the tables gain the columns "cadmm (baseline)" and "new/base", and the end a verdict line
(the range of the ratios of medians; "slower beyond noise" when in some timing the new binary's fastest run is
slower than the baseline's slowest; whether the answers are equal bit for bit), then one line per timing with
each side's median and spread (min..max). --no-references skips scikit-learn and glmnet.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
from sklearn.linear_model import LassoCV, lasso_path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "cli"))
from mpirun import mpi_env  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from bench_lasso import objective  # noqa: E402
from bench_sparse import answer_difference, median_run, print_before_after, run, run_interleaved, verdict  # noqa: E402

R_SCRIPT = r"""
suppressPackageStartupMessages({ library(glmnet); library(hdf5r) })
f <- H5File$new(commandArgs(TRUE)[1], mode = "r"); x <- t(f[["X"]]$read()); y <- f[["y"]]$read(); f$close_all()
t0 <- proc.time()[["elapsed"]]
fit <- glmnet(x, y, nlambda = 100, lambda.min.ratio = 1e-3, standardize = FALSE)
t1 <- proc.time()[["elapsed"]]
set.seed(1)
cv <- cv.glmnet(x, y, nlambda = 100, lambda.min.ratio = 1e-3, standardize = FALSE, nfolds = 10)
t2 <- proc.time()[["elapsed"]]
b <- as.numeric(coef(fit, s = min(fit$lambda)))
cat(sprintf("glmnet %.3f %.3f %.17g %.17g %d\n", t1 - t0, t2 - t1, cv$lambda.min, min(fit$lambda), length(fit$lambda)))
cat(sprintf("%.17g\n", b), sep = "")
"""


def run_cadmm(args, ranks, cadmm, env):
    return run([cadmm] + args, env, ranks)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cadmm", default=os.path.join(os.path.dirname(__file__), "..", "build", "cadmm"))
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--features", type=int, default=500)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--workdir", default=tempfile.gettempdir())
    ap.add_argument("--no-glmnet", action="store_true")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per cadmm timing; the median is printed (default 1; the references run once)")
    ap.add_argument("--baseline", metavar="BIN",
                    help="a second cadmm executable (e.g. the one before a change): every cadmm timing is made "
                         "with both, interleaved run by run, and printed side by side with a verdict")
    ap.add_argument("--no-references", action="store_true", help="skip scikit-learn and glmnet")
    a = ap.parse_args()
    env = mpi_env()
    env.pop("OPENBLAS_NUM_THREADS", None)  # let cadmm size its BLAS pool
    data = os.path.join(a.workdir, f"bench_{a.rows}x{a.features}.h5")
    if not os.path.exists(data):
        run_cadmm(["generate", "--rows", str(a.rows), "--features", str(a.features), "--correlation", "0.5", "--seed",
                   "7", "--output", data], a.ranks, a.cadmm, env)
    out = lambda name: os.path.join(a.workdir, f"bench_{name}.h5")  # noqa: E731

    binaries = [a.cadmm] + ([a.baseline] if a.baseline else [])
    timings = []  # for the before/after verdict

    def timed(label, args, name):
        """`mpirun cadmm args --output out(name)` timed with every binary (the baseline's output is
        out(name + "_baseline")), interleaved, --repeat runs each; returns the new binary's median time, the
        output of that run, and the baseline's median time (None without --baseline)."""
        names = [name, name + "_baseline"]
        runs = run_interleaved([["mpirun", "-np", str(a.ranks), b] + args + ["--output", out(n)]
                                for b, n in zip(binaries, names)], env, a.repeat)
        t, text = median_run(runs[0])
        if not a.baseline:
            return t, text, None
        timings.append(dict(key=label, ts=[r[0] for r in runs[0]], tbs=[r[0] for r in runs[1]],
                            diff=answer_difference(out(names[0]), out(names[1]))))
        return t, text, median_run(runs[1])[0]

    t_path, path_text, b_path = timed("path", ["path", "--data", data, "--quiet"], "path")
    t_cv, cv_text, b_cv = timed("cv", ["cv", "--data", data, "--folds", "10"], "cv")
    t_small, _, b_small = timed("solve 1e-3 lambda_max", ["solve", "--data", data, "--lambda-ratio", "0.001",
                                                          "--quiet"], "solve")
    t_one, _, b_one = timed("solve 0.1 lambda_max", ["solve", "--data", data, "--lambda-ratio", "0.1", "--quiet"],
                            "solve")
    with h5py.File(out("path")) as f:
        lambdas, pc, pb = f["path/lambda"][()], f["path/coef"][()], f["path/intercept"][()]
        path_iters = int(f["path/iterations"][()].sum())
    with h5py.File(out("cv")) as f:
        cv_min = float(f["cv/lambda_min"][()])

    with h5py.File(data) as f:
        X, y = np.asfortranarray(f["X"][()]), f["y"][()]
    lam = lambdas[-1]
    o_c = objective(X, y, pc[-1], pb[-1], lam)
    rows = [("cadmm path, whole process", t_path, b_path, o_c)]
    cv_rows = [("cadmm cv, whole process", t_cv, b_cv, cv_min)]
    if not a.no_references:
        Xc, yc = np.asfortranarray(X - X.mean(0)), y - y.mean()  # lasso_path fits no intercept: centre first
        t0 = time.perf_counter()
        _, sk_coefs, _ = lasso_path(Xc, yc, alphas=lambdas)
        t_sk_path = time.perf_counter() - t0
        t0 = time.perf_counter()
        sk_cv = LassoCV(cv=10, alphas=lambdas).fit(X, y)
        t_sk_cv = time.perf_counter() - t0
        sk_w = sk_coefs[:, -1]
        o_s = objective(X, y, sk_w, y.mean() - X.mean(0) @ sk_w, lam)
        rows.append(("scikit-learn lasso_path, fit alone", t_sk_path, None, o_s))
        cv_rows.append(("scikit-learn LassoCV(cv=10), fit alone", t_sk_cv, None, sk_cv.alpha_))
    if not a.no_glmnet and not a.no_references:
        with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
            fh.write(R_SCRIPT)
        r = subprocess.run(["Rscript", fh.name, data], capture_output=True, text=True, timeout=3600)
        os.unlink(fh.name)
        if r.returncode != 0:
            sys.exit(r.stderr)
        lines = r.stdout.split("\n")
        _, t_g, t_gcv, g_min, g_last, g_n = lines[0].split()
        gb = np.array([float(v) for v in lines[1:1 + a.features + 1]])
        o_g = objective(X, y, gb[1:], gb[0], float(g_last))
        rows.append((f"glmnet, fit alone ({g_n} lambdas, last {float(g_last) / lambdas[0]:.3g} x lambda_max)",
                     float(t_g), None, o_g))
        cv_rows.append(("cv.glmnet(nfolds=10), fit alone", float(t_gcv), None, float(g_min)))

    vs = f" {'cadmm (baseline)':>16} {'new/base':>8}" if a.baseline else ""

    def base(t, tb):  # the baseline's columns, blank for the references
        if not a.baseline:
            return ""
        return f" {tb:16.2f} {t / tb:8.3f}" if tb is not None else f" {'':>16} {'':>8}"

    print(f"dense lasso, {a.rows} x {a.features}, correlation 0.5, {a.ranks} ranks; 100 lambdas to 1e-3 lambda_max\n")
    print(f"{'path':<62} {'seconds':>8}{vs} {'objective at last lambda':>26}")
    for name, t, tb, o in rows:
        print(f"{name:<62} {t:8.2f}{base(t, tb)} {o:26.15e}")
    was = lambda tb: f" (baseline {tb:.2f} s)" if tb is not None else ""  # noqa: E731
    print(f"  (cadmm: {path_iters} ADMM iterations over the path; one cadmm solve at 0.1 lambda_max: {t_one:.2f} s"
          f"{was(b_one)}, at 1e-3 lambda_max: {t_small:.2f} s{was(b_small)})")
    print(f"\n{'10-fold cross-validation':<62} {'seconds':>8}{vs} {'lambda_min':>26}")
    for name, t, tb, l in cv_rows:
        print(f"{name:<62} {t:8.2f}{base(t, tb)} {l:26.6e}")
    print(f"\nratios: path / solve at its smallest lambda {t_path / t_small:.2f}; cv / solve {t_cv / t_small:.2f}"
          + ("" if a.no_references else f"; cv / LassoCV {t_cv / t_sk_cv:.3f}"))
    print("\n" + cv_text[cv_text.rfind("cadmm cv:"):].rstrip())
    if a.baseline:
        print()
        print_before_after(a.cadmm, a.baseline, a.repeat, [verdict(f"dense lasso {a.rows} x {a.features}", timings)])


if __name__ == "__main__":
    main()
