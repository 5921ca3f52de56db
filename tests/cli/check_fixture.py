#!/usr/bin/env python3
"""End-to-end check of `cadmm solve` on one fixture at one rank count.

Runs the CLI under mpirun (bounded by a timeout), then judges the result file independently of the solver:
  * the objective recomputed here from /coef and /intercept is within 1e-6 (relative) of the objective of
    scikit-learn's coefficients, recomputed the same way (tests/data/make_fixtures.py wrote those);
  * coefficients agree with scikit-learn within 1e-4 relative to max |coef|;
  * the KKT (subgradient) conditions hold at the returned point;
  * the result file carries every attribute docs/spec.md section 5 names.
Usage: check_fixture.py CADMM FIXTURE.h5 RANKS WORKDIR [EXTRA CLI OPTIONS]
(e.g. "--local-solver screened": the same checks over working sets)
"""
import os
import shlex
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from mpirun import run_cadmm  # noqa: E402

ATTRS = ["penalty", "lambda", "l1_ratio", "objective", "iterations", "converged", "status", "primal_residual",
         "dual_residual", "rho", "n_ranks", "n_rows", "n_features", "n_targets", "fit_intercept", "standardize",
         "solve_seconds", "version"]


def penalty_value(W, lam, a, grouped):
    W2 = W.reshape(W.shape[0], -1)
    l1 = np.linalg.norm(W2, axis=1).sum() if grouped else np.abs(W2).sum()
    return lam * (a * l1 + 0.5 * (1 - a) * (W2**2).sum())


def objective(X, Y, W, b, lam, a, grouped, inv_scale):
    R = Y.reshape(len(Y), -1) - X @ W.reshape(X.shape[1], -1) - np.reshape(b, (1, -1))
    # With standardize the penalty acts on the standardized coefficients (glmnet semantics).
    Ws = np.divide(W.reshape(X.shape[1], -1).T, inv_scale, out=np.zeros_like(W.reshape(X.shape[1], -1).T),
                   where=inv_scale != 0).T
    return 0.5 * (R**2).sum() / len(Y) + penalty_value(Ws, lam, a, grouped)


def kkt_violation(X, Y, W, b, lam, a, grouped, inv_scale, fit_intercept):
    """Largest violation of 0 in grad + lam*subdiff(P) on the standardized scale, relative to the size of the
    gradient at W = 0 (the scale lambda_max is measured in)."""
    n = len(Y)
    Wm = W.reshape(X.shape[1], -1)
    R = Y.reshape(n, -1) - X @ Wm - np.reshape(b, (1, -1))
    Xs = X * inv_scale
    if fit_intercept:
        Xs = Xs - Xs.mean(0)
    G = Xs.T @ R / n  # minus the gradient of the loss on the standardized scale
    Ws = np.divide(Wm.T, inv_scale, out=np.zeros_like(Wm.T), where=inv_scale != 0).T
    S = G - lam * (1 - a) * Ws  # must lie in lam*a*subdiff(l1 part)
    l1 = lam * a
    worst = 0.0
    for j in range(Wm.shape[0]):
        if inv_scale[j] == 0:
            continue
        if grouped:
            nz = np.linalg.norm(Ws[j]) > 0
            v = np.linalg.norm(S[j] - l1 * Ws[j] / np.linalg.norm(Ws[j])) if nz else max(0, np.linalg.norm(S[j]) - l1)
            worst = max(worst, v)
        else:
            for t in range(Wm.shape[1]):
                w = Ws[j, t]
                v = abs(S[j, t] - l1 * np.sign(w)) if w != 0 else max(0, abs(S[j, t]) - l1)
                worst = max(worst, v)
    Yc = Y.reshape(n, -1) - (Y.reshape(n, -1).mean(0) if fit_intercept else 0)
    scale = max(np.abs(Xs.T @ Yc / n).max(), 1e-300)
    intercept_grad = np.abs(R.mean(0)).max() / max(np.abs(Y).max(), 1e-300) if fit_intercept else 0.0
    return worst / scale, intercept_grad


def main():
    cadmm, fixture, ranks, workdir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    extra = shlex.split(sys.argv[5]) if len(sys.argv) > 5 else []
    name = os.path.splitext(os.path.basename(fixture))[0]
    os.makedirs(workdir, exist_ok=True)
    out = os.path.join(workdir, f"{name}_np{ranks}{'_' if extra else ''}{'_'.join(e.strip('-') for e in extra)}.h5")
    with h5py.File(fixture, "r") as f:
        ref = f["reference"]
        at = dict(ref.attrs)
        X = f[at["x_dataset"]][()].astype(np.float64)
        Y = f[at["y_dataset"]][()]
        ref_coef, ref_b = ref["coef"][()], ref["intercept"][()]
    args = ["solve", "--data", fixture, "--output", out, "--quiet"] + shlex.split(at["cli"]) + extra
    run_cadmm(cadmm, ranks, args)

    failures = []
    with h5py.File(out, "r") as r:
        coef, b = r["coef"][()], r["intercept"][()]
        attrs = dict(r.attrs)
        history = r["history"][()]
    missing = [a for a in ATTRS if a not in attrs]
    if missing:
        failures.append(f"missing attributes {missing}")
    if coef.shape != ref_coef.shape or np.shape(b) != np.shape(ref_b):
        failures.append(f"shape: coef {coef.shape} intercept {np.shape(b)}, expected {ref_coef.shape} {np.shape(ref_b)}")
    lam, a, grouped = at["lam"], at["l1_ratio"], at["penalty"] == "l21"
    fit_intercept, standardize = bool(at["fit_intercept"]), bool(at["standardize"])
    if standardize:
        m = X.mean(0)  # glmnet: deviation about the mean, with or without intercept
        sd = np.sqrt(((X - m) ** 2).mean(0))
        const = (sd == 0) | (sd <= 1e-10 * np.abs(m))
        inv_scale = np.where(const, 0.0, 1.0 / np.where(const, 1.0, sd))
    else:
        inv_scale = np.ones(X.shape[1])

    if not np.isclose(attrs.get("lambda", np.nan), lam, rtol=1e-9):
        failures.append(f"lambda {attrs.get('lambda')} != reference {lam}")
    # lambda_max as the reference implementation defines it (glmnet's first path value, or the formula).
    if not np.isclose(attrs.get("lambda_max", np.nan), at["lambda_max"], rtol=1e-8):
        failures.append(f"lambda_max {attrs.get('lambda_max')} != reference {at['lambda_max']}")
    obj = objective(X, Y, coef, b, lam, a, grouped, inv_scale)
    obj_ref = objective(X, Y, ref_coef, ref_b, lam, a, grouped, inv_scale)
    rel_obj = (obj - obj_ref) / abs(obj_ref)
    if abs(rel_obj) > 1e-6:
        failures.append(f"objective {obj:.12g} vs scikit-learn {obj_ref:.12g}: relative difference {rel_obj:.2e}")
    if not np.isclose(attrs.get("objective", np.nan), obj, rtol=1e-6):
        failures.append(f"reported objective {attrs.get('objective')} != recomputed {obj}")
    scale = max(np.abs(ref_coef).max(), 1e-300)
    coef_err = np.abs(coef - ref_coef).max() / scale if coef.shape == ref_coef.shape else np.inf
    if coef_err > 1e-4:
        failures.append(f"coefficients differ from scikit-learn by {coef_err:.2e} (relative to max |coef|)")
    b_err = np.abs(np.asarray(b) - ref_b).max() / max(np.abs(ref_b).max(), np.abs(Y).std(), 1e-300)
    if b_err > 1e-4:
        failures.append(f"intercept {b} vs scikit-learn {ref_b}")
    kkt, icpt = kkt_violation(X, Y, coef, b, lam, a, grouped, inv_scale, fit_intercept)
    if kkt > 1e-5 or icpt > 1e-6:
        failures.append(f"KKT violation {kkt:.2e} (relative to |X^T y|/n), intercept gradient {icpt:.2e}")
    if standardize and np.any(coef.reshape(len(inv_scale), -1)[inv_scale == 0] != 0):
        failures.append("a constant column got a nonzero coefficient")
    if attrs.get("status") != "converged" or attrs.get("n_ranks") != ranks or len(history) != attrs.get("iterations"):
        failures.append(f"status {attrs.get('status')}, n_ranks {attrs.get('n_ranks')}, "
                        f"history {len(history)} rows for {attrs.get('iterations')} iterations")

    print(f"{name} np={ranks}: objective rel diff {rel_obj:.2e}, coef diff {coef_err:.2e}, KKT {kkt:.2e}, "
          f"iterations {attrs.get('iterations')}")
    for msg in failures:
        print("FAIL:", msg)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
