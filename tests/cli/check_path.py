#!/usr/bin/env python3
"""`cadmm path` on one case at one rank count, judged at every lambda against scikit-learn (Lasso, ElasticNet,
MultiTaskLasso / MultiTaskElasticNet with tol 1e-13, the fits enet_path makes) or, for ridge, a dense direct solve.

Checks per lambda: objective (recomputed here) within 1e-6 relative of the reference's, coefficients within 1e-4
of max |coef| over the path, intercepts likewise; /path/* shapes and that /coef is the last fit.
Usage: check_path.py CADMM CASE RANKS WORKDIR
"""
import os
import sys

import h5py
import numpy as np

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
}


def main():
    cadmm, case, ranks, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    penalty, a, fit_intercept, standardize, n, d, k, scaled = CASES[case]
    os.makedirs(work, exist_ok=True)
    X, Y = synthetic(n, d, k, seed=7 + len(case))
    if scaled:  # columns on different scales and offsets, so standardize matters
        X = X * np.linspace(0.2, 5, d) + 2
    data, out = os.path.join(work, f"path_{case}.h5"), os.path.join(work, f"path_{case}_np{ranks}.h5")
    with h5py.File(data, "w") as f:
        f["X"], f["y"] = X, Y
    args = ["path", "--data", data, "--output", out, "--quiet", "--penalty", penalty,
            "--fit-intercept", str(fit_intercept).lower(), "--standardize", str(standardize).lower(),
            "--n-lambda", "12", "--lambda-min-ratio", "0.01"]
    if penalty in ("elasticnet", "l21"):
        args += ["--l1-ratio", str(a)]
    run_cadmm(cadmm, ranks, args)

    with h5py.File(out, "r") as r:
        lambdas, coefs, icpts = r["path/lambda"][()], r["path/coef"][()], r["path/intercept"][()]
        last_coef, iters = r["coef"][()], r["path/iterations"][()]
        attrs = dict(r.attrs)
    failures = []
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
