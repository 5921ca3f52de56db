#!/usr/bin/env python3
"""`cadmm path` on one case at one rank count, judged at every lambda against scikit-learn (Lasso, ElasticNet,
MultiTaskLasso / MultiTaskElasticNet with tol 1e-13, the fits enet_path makes) or, for ridge, a dense direct solve.
Cases *_sparse: X about 85% zeros, written as a CSR group and solved in the cg form (sparse rows), where every
lambda after the first is solved by coordinate descent over features spread across the ranks.

Checks per lambda: objective (recomputed here) within 1e-6 relative of the reference's, coefficients within 1e-4
of max |coef| over the path, intercepts likewise; /path/* shapes and that /coef is the last fit.
Usage: check_path.py CADMM CASE RANKS WORKDIR
"""
import os
import sys

import h5py
import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "data"))
from mpirun import run_cadmm  # noqa: E402
from make_fixtures import reference, standardized, synthetic  # noqa: E402
from check_fixture import objective  # noqa: E402

# name: (penalty, l1_ratio, fit_intercept, standardize, n, d, k, column scales)
CASES = {
    "lasso": ("l1", 1.0, True, False, 300, 20, 1, False),
    "lasso_std_no_intercept": ("l1", 1.0, False, True, 300, 20, 1, True),
    "enet_std": ("elasticnet", 0.5, True, True, 300, 20, 1, True),
    "enet_multi_no_intercept": ("elasticnet", 0.3, False, False, 250, 15, 2, False),
    "ridge": ("l2", 0.0, True, False, 200, 12, 1, True),
    "l21": ("l21", 1.0, True, False, 300, 20, 3, False),
    "l21_enet_std": ("l21", 0.6, True, True, 300, 20, 3, True),
    "lasso_wide": ("l1", 1.0, True, False, 60, 100, 1, False),
    "lasso_sparse": ("l1", 1.0, True, False, 400, 120, 1, False),
    "enet_std_sparse": ("elasticnet", 0.5, True, True, 400, 120, 1, True),
    "l21_sparse": ("l21", 1.0, True, False, 400, 120, 3, False),
    "l21_enet_std_sparse_no_intercept": ("l21", 0.6, False, True, 400, 120, 2, True),
}


def write_csr(f, X):
    g = f.create_group("X")
    g.attrs["encoding-type"] = "csr_matrix"
    g.attrs["encoding-version"] = "0.1.0"
    g.attrs["shape"] = np.array(X.shape)
    g["data"], g["indices"], g["indptr"] = X.data, X.indices, X.indptr


def main():
    cadmm, case, ranks, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    penalty, a, fit_intercept, standardize, n, d, k, scaled = CASES[case]
    os.makedirs(work, exist_ok=True)
    X, Y = synthetic(n, d, k, seed=7 + len(case))
    sparse = case.endswith("sparse") or "_sparse_" in case
    if scaled:  # columns on different scales and offsets, so standardize matters
        X = X * np.linspace(0.2, 5, d) + (0 if sparse else 2)
    if sparse:  # about 85% zeros at random, nonzero column means: the implicit centring matters
        X = np.where(np.random.default_rng(len(case)).random(X.shape) < 0.15, X + 1, 0.0)
        Y = X @ np.where(np.arange(d)[:, None] % 6 == 0, 1.0, 0.0) @ np.ones((1, k)) + 0.5 * Y.reshape(n, k)
        Y = Y[:, 0] if k == 1 else Y
    data, out = os.path.join(work, f"path_{case}.h5"), os.path.join(work, f"path_{case}_np{ranks}.h5")
    with h5py.File(data, "w") as f:
        if sparse:
            write_csr(f, sp.csr_matrix(X))
        else:
            f["X"] = X
        f["y"] = Y
    args = ["path", "--data", data, "--output", out, "--quiet", "--penalty", penalty,
            "--fit-intercept", str(fit_intercept).lower(), "--standardize", str(standardize).lower(),
            "--n-lambda", "12", "--lambda-min-ratio", "0.01"]
    if penalty in ("elasticnet", "l21"):
        args += ["--l1-ratio", str(a)]
    if sparse:
        args = [a for a in args if a != "--quiet"] + ["--local-solver", "cg"]
    _, printed, _ = run_cadmm(cadmm, ranks, args)

    with h5py.File(out, "r") as r:
        lambdas, coefs, icpts = r["path/lambda"][()], r["path/coef"][()], r["path/intercept"][()]
        last_coef, iters = r["coef"][()], r["path/iterations"][()]
        attrs = dict(r.attrs)
    failures = []
    # Sparse rows: every lambda after the first (lambda_max, where zero is the answer) by coordinate descent, so that
    # the references below judge its answers rather than those of a fallback (polishing, ADMM).
    if sparse and "0 ADMM iterations in all; 11 solved by the warm active set alone, 11 of them by coordinate descent" not in printed:
        failures.append("not every lambda after the first was solved by coordinate descent:\n" + printed)
    if len(lambdas) != 12 or coefs.shape != (12,) + ((d,) if k == 1 else (d, k)):
        failures.append(f"shapes: lambda {lambdas.shape}, coef {coefs.shape}")
    if not np.array_equal(last_coef, coefs[-1]) or attrs.get("command") != "path":
        failures.append("/coef is not the last fit or command attribute missing")
    if not np.all(np.diff(lambdas) < 0):
        failures.append("lambdas not decreasing")
    inv = standardized(X, fit_intercept)[1] if standardize else np.ones(d)
    refs = [reference(penalty, X, Y, lam, a, fit_intercept, standardize) for lam in lambdas]
    scale = max(max(np.abs(c).max() for c, _ in refs), 1e-300)
    worst_obj = worst_coef = 0.0
    for i, lam in enumerate(lambdas):
        ref_c, ref_b = refs[i]
        obj = objective(X, Y, coefs[i], icpts[i], lam, a, penalty == "l21", inv)
        obj_ref = objective(X, Y, ref_c, ref_b, lam, a, penalty == "l21", inv)
        rel = (obj - obj_ref) / abs(obj_ref)
        err = np.abs(coefs[i] - ref_c).max() / scale
        b_err = np.abs(np.asarray(icpts[i]) - ref_b).max() / max(np.abs(Y).std(), 1e-300)
        worst_obj, worst_coef = max(worst_obj, abs(rel)), max(worst_coef, err)
        if abs(rel) > 1e-6 or err > 1e-4 or b_err > 1e-4:
            failures.append(f"lambda[{i}]={lam:.4g}: objective rel {rel:.2e}, coef {err:.2e}, intercept {b_err:.2e}")
    print(f"path {case} np={ranks}: worst objective rel diff {worst_obj:.2e}, worst coef diff {worst_coef:.2e}, "
          f"ADMM iterations {int(iters.sum())}")
    for msg in failures:
        print("FAIL:", msg)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
