#!/usr/bin/env python3
"""Tied columns (a column equal to an earlier one, up to sign, after centring and the penalty's scaling) end to end, at
1, 2 and 3 ranks, against scikit-learn.

Any split of a lasso's weight between tied columns is optimal; scikit-learn and glmnet (cyclic coordinate descent)
give it all to the first column, and cadmm must too, at every rank count and in every form: solve (with and without
--standardize), path and cv (--fold-dataset, one pair tied on one fold's training rows only) must give scikit-learn's
Lasso coefficients within 1e-4 of max |coef| (the SPEC's bound; scikit-learn fitted without the later column of
each tie, see sk_coef), and every fold's held-out MSE within 1e-6. The
summary names the tie, and /tied_columns lists it; under --positive a pair equal with the same sign ties, a negated
one does not. Control: with a ridge part (elastic net, l1_ratio 0.5) the split is unique and even, and cadmm
must give ElasticNet's.

The data (600 x 30): x7 = x3 (equal), x12 = -x11 (equal up to sign), x20 = 3 x10 (tied under --standardize only:
without it the larger column takes the weight, uniquely), x16 = x15 but on fold 1's rows (tied in that fold's
training rows only).
Usage: check_ties.py CADMM CASE WORKDIR, CASE dense | dense_screened | csr | csr_cg
"""
import os
import sys

import h5py
import numpy as np
import scipy.sparse as sp
from sklearn import linear_model

sys.path.insert(0, os.path.dirname(__file__))
from mpirun import run_cadmm  # noqa: E402
from check_terms import write_data  # noqa: E402


def make_data(sparse):
    rng = np.random.default_rng(5)
    n, d = 600, 30
    if sparse:
        X = sp.random(n, d, density=0.3, random_state=6, format="csr")
        X.data += 0.5
        X = X.toarray()
    else:
        X = rng.standard_normal((n, d))
    foldid = np.arange(n) % 4 + 1
    X[:, 7] = X[:, 3]
    X[:, 12] = -X[:, 11]
    X[:, 20] = 3 * X[:, 10]
    X[:, 16] = X[:, 15]
    X[foldid == 1, 16] += 0.5
    b = np.zeros(d)
    b[[3, 10, 11, 15, 25]] = [2.0, -1.5, 1.0, 1.2, 0.8]
    y = X @ b + 0.3 * rng.standard_normal(n)
    return X, y, foldid


def sk_coef(X, y, lam, standardize=False, l1_ratio=1.0, tied=(), positive=False):
    """scikit-learn's fit without the later columns of each tie (their coefficients 0): its own answer where the
    columns are equal bit for bit (it gives the first all), and the same optimum where they are equal up to rounding
    only (x20 = 3 x10 standardized), where its coordinate descent leaks a rounding-driven share to the later one."""
    keep = np.setdiff1d(np.arange(X.shape[1]), tied)
    sd = X[:, keep].std(axis=0) if standardize else np.ones(len(keep))
    model = (linear_model.Lasso(alpha=lam, tol=1e-13, max_iter=10**6, positive=positive) if l1_ratio == 1 else
             linear_model.ElasticNet(alpha=lam, l1_ratio=l1_ratio, tol=1e-13, max_iter=10**6))
    model.fit(X[:, keep] / sd, y)
    coef = np.zeros(X.shape[1])
    coef[keep] = model.coef_ / sd
    return coef, model.intercept_


def main():
    cadmm, case, work = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(work, exist_ok=True)
    sparse = case.startswith("csr")
    X, y, foldid = make_data(sparse)
    data = os.path.join(work, f"ties_{case}.h5")
    write_data(data, X, y, sparse, {"foldid": foldid})
    form = {"dense_screened": ["--local-solver", "screened"], "csr_cg": ["--local-solver", "cg"]}.get(case, [])
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    lmax = np.abs(Xc.T @ yc).max() / len(y)
    lambdas = lmax * np.array([0.5, 0.2, 0.1, 0.05, 0.02])
    failures = []

    def compare(what, coef, ref):
        err = np.abs(coef.ravel() - ref).max() / np.abs(ref).max()
        if err > 1e-4:
            failures.append(f"{what}: coefficients differ from scikit-learn by {err:.2e} of max |coef| "
                            f"(x3 {coef.ravel()[3]:.6g} x7 {coef.ravel()[7]:.6g}; scikit-learn {ref[3]:.6g} {ref[7]:.6g})")
        return err

    worst = 0.0
    for ranks in (1, 2, 3):
        out = os.path.join(work, f"ties_{case}_np{ranks}.h5")
        for standardize in (False, True):
            lam = lambdas[3]
            _, stdout, _ = run_cadmm(cadmm, ranks, ["solve", "--data", data, "--lambda", repr(float(lam)), "--output",
                                                    out] + (["--standardize"] if standardize else []) + form)
            tied = [7, 12] + ([20] if standardize else [])
            with h5py.File(out, "r") as r:
                worst = max(worst, compare(f"solve np={ranks} standardize={standardize}", r["coef"][()],
                                           sk_coef(X, y, lam, standardize, tied=tied)[0]))
                pairs = r["tied_columns"][()].tolist() if "tied_columns" in r else []
            if sorted(pairs) != sorted([[7, 3], [12, 11]] + ([[20, 10]] if standardize else [])):
                failures.append(f"solve np={ranks} standardize={standardize}: /tied_columns is {pairs}")
            expected = ["x7 ties x3", "x12 ties x11"] + (["x20 ties x10"] if standardize else [])
            if not all(t in stdout for t in expected) or ("x20 ties x10" in stdout) != standardize:
                failures.append(f"solve np={ranks} standardize={standardize}: the summary does not name the ties "
                                f"{expected}:\n{stdout}")
        run_cadmm(cadmm, ranks, ["path", "--data", data, "--lambdas", ",".join(repr(float(v)) for v in lambdas),
                                 "--output", out] + form)
        with h5py.File(out, "r") as r:
            path = r["path/coef"][()].reshape(len(lambdas), -1)
        for i, lam in enumerate(lambdas):
            worst = max(worst, compare(f"path np={ranks} lambda {i}", path[i], sk_coef(X, y, lam, tied=[7, 12])[0]))
        run_cadmm(cadmm, ranks, ["cv", "--data", data, "--fold-dataset", "/foldid", "--lambdas",
                                 ",".join(repr(float(v)) for v in lambdas), "--output", out] + form)
        with h5py.File(out, "r") as r:
            mse = r["cv/mse"][()]
        fold_worst = 0.0
        for f in range(4):
            train, test = foldid != f + 1, foldid == f + 1
            for i, lam in enumerate(lambdas):
                c, b = sk_coef(X[train], y[train], lam, tied=[7, 12] + ([16] if f == 0 else []))
                ref = ((y[test] - X[test] @ c - b) ** 2).mean()
                fold_worst = max(fold_worst, abs(mse[f, i] - ref) / ref)
        if fold_worst > 1e-6:
            failures.append(f"cv np={ranks}: a fold's MSE differs from scikit-learn's fit by {fold_worst:.2e}")
        # --positive: x7 (equal to x3, bounded alike) ties; x12 = -x11 does not (its optimum is no split).
        _, stdout, _ = run_cadmm(cadmm, ranks, ["solve", "--data", data, "--lambda", repr(float(lambdas[3])),
                                                "--positive", "--output", out] + form)
        with h5py.File(out, "r") as r:
            worst = max(worst, compare(f"solve --positive np={ranks}", r["coef"][()],
                                       sk_coef(X, y, lambdas[3], tied=[7], positive=True)[0]))
        if "x7 ties x3" not in stdout or "x12 ties x11" in stdout:
            failures.append(f"solve --positive np={ranks}: the summary's ties are wrong:\n{stdout}")
        lam = lambdas[3]
        run_cadmm(cadmm, ranks, ["solve", "--data", data, "--penalty", "elasticnet", "--l1-ratio", "0.5", "--lambda",
                                 repr(float(lam)), "--output", out] + form)
        with h5py.File(out, "r") as r:
            coef = r["coef"][()].ravel()
        ref = sk_coef(X, y, lam, l1_ratio=0.5)[0]
        worst = max(worst, compare(f"elastic net np={ranks}", coef, ref))
        if not (abs(coef[3] - coef[7]) <= 1e-6 * abs(coef[3]) and coef[3] != 0):
            failures.append(f"elastic net np={ranks}: tied columns not split evenly ({coef[3]}, {coef[7]})")
        print(f"ties {case} np={ranks}: coefficients within {worst:.2e} of scikit-learn, fold MSE within {fold_worst:.2e}")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
