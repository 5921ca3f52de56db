#!/usr/bin/env python3
"""The group lasso over feature groups (--penalty group) against an independent implementation.

The reference is accelerated proximal gradient (FISTA with adaptive restart) written here in NumPy on the problem as
the README states it: 1/(2 sum w) sum_i w_i ||y_i - W^T x_i - b||^2 + lambda (a sum_g w_g ||S_g W_g||_F +
(1-a)/2 ||S W||_F^2), S = diag(sd_j) under --standardize (weighted sds), else I; the intercept by weighted centring;
offsets subtracted from y; excluded features at 0. Its block soft-thresholding prox is exact, so it shares nothing
with cadmm's (which works on internally rescaled coefficients and solves a secular equation). Checked: coefficients
within 1e-4 of max |coef|, objective within 1e-6 (recomputed here for both), lambda_max (the first lambda of a path,
where every coefficient is 0), the relaxed fits (least squares on the kept features, numpy.linalg.lstsq), and the cv
curve (the reference fitted on every fold's training rows at cadmm's lambdas, combined by cv.glmnet's rules).

Usage: check_group.py CADMM CASE RANKS WORKDIR
CASE: dense (solve k = 1 and k = 3 standardized, weights + offset + exclude + given group weights with a 0, path,
path --relax), ranks (solve at RANKS ranks), sparse (CSR X), cv, bad (refused input).
"""
import os
import sys

import h5py
import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(__file__))
from mpirun import expect_refusals, run_cadmm  # noqa: E402
from check_sparse import write_csr  # noqa: E402

GROUPS = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 4, 4])


def make_data(k, seed=4, n=240, sparse=False):
    rng = np.random.default_rng(seed)
    d = len(GROUPS)
    X = rng.standard_normal((n, d)) * rng.uniform(0.3, 3, d) + rng.uniform(-1, 1, d)
    if sparse:
        X[rng.random((n, d)) < 0.5] = 0.0
    B = np.zeros((d, k))
    B[[0, 1, 2, 5, 6, 7, 8], :] = rng.standard_normal((7, k))
    Y = X @ B + 0.5 + rng.standard_normal((n, k))
    return X, Y


def problem(X, Y, obs_w, offset, std, exclude):
    """The centred, weighted, scaled least-squares problem: Z (n x d), targets T, weight total, sd, means."""
    n, d = X.shape
    w = np.ones(n) if obs_w is None else obs_w
    Yo = Y - (0 if offset is None else offset.reshape(n, -1))
    xm, ym = w @ X / w.sum(), w @ Yo / w.sum()
    Xc, Yc = X - xm, Yo - ym
    sd = np.sqrt(w @ Xc**2 / w.sum()) if std else np.ones(d)
    keep = np.ones(d, bool)
    keep[list(exclude)] = False
    root = np.sqrt(w)[:, None]
    return dict(Z=root * Xc / sd, T=root * Yc, W=w.sum(), sd=sd, xm=xm, ym=ym, keep=keep)


def fista(p, lam, a, wg, start=None):
    """Minimizes 1/(2W) ||T - Z V||^2 + lam (a sum_g wg_g ||V_g|| + (1-a)/2 ||V||^2) over V (standardized scale)."""
    Z, T, W, keep = p["Z"], p["T"], p["W"], p["keep"]
    d, k = Z.shape[1], T.shape[1]
    L = np.linalg.norm(Z[:, keep], 2) ** 2 / W + lam * (1 - a)
    V = np.zeros((d, k)) if start is None else start.copy()
    Wc, t = V.copy(), 1.0
    for _ in range(400000):
        G = -Z.T @ (T - Z @ V) / W + lam * (1 - a) * V
        U = V - G / L
        new = np.zeros_like(U)
        for g in range(len(wg)):
            m = (GROUPS == g) & keep
            norm, thr = np.linalg.norm(U[m]), lam * a * wg[g] / L
            if norm > thr:
                new[m] = (1 - thr / norm) * U[m]
        tn = (1 + np.sqrt(1 + 4 * t * t)) / 2
        if np.sum((new - Wc) * (V - new)) > 0:  # adaptive restart (O'Donoghue and Candes)
            tn, V = 1.0, new
        else:
            V = new + (t - 1) / tn * (new - Wc)
        if np.abs(new - Wc).max() <= 1e-15 * max(1.0, np.abs(new).max()):
            return new
        Wc, t = new, tn
    return Wc


def to_original(p, V):
    coef = V / p["sd"][:, None]
    return coef, p["ym"] - p["xm"] @ coef


def objective(p, coef, b, lam, a, wg):
    """The objective of (coef, b) on the original scale, recomputed from the raw problem."""
    V = coef * p["sd"][:, None]
    R = p["T"] - p["Z"] @ V  # the centred residual; b is the weighted-mean intercept
    pen = a * sum(wg[g] * np.linalg.norm(V[GROUPS == g]) for g in range(len(wg))) + 0.5 * (1 - a) * (V**2).sum()
    return 0.5 * (R**2).sum() / p["W"] + lam * pen


def lambda_max(p, a, wg):
    q = p["Z"].T @ p["T"] / p["W"]
    return max(np.linalg.norm(q[(GROUPS == g) & p["keep"]]) / wg[g] for g in range(len(wg)) if wg[g] > 0) / a


def compare(label, p, coef, b, ref_coef, ref_b, lam, a, wg, failures):
    d = len(GROUPS)
    coef, ref_coef = coef.reshape(d, -1), ref_coef.reshape(d, -1)
    # (At lambda_max the reference's coefficients are 0 up to rounding: an absolute floor.)
    err = np.abs(coef - ref_coef).max() / max(np.abs(ref_coef).max(), 1e-9)
    got, ref = objective(p, coef, b, lam, a, wg), objective(p, ref_coef, ref_b, lam, a, wg)
    rel = (got - ref) / abs(ref)
    print(f"{label}: coef diff {err:.2e}, objective rel diff {rel:.2e}, {np.count_nonzero(coef.any(1))} features kept")
    if err > 1e-4:
        failures.append(f"{label}: coefficients differ from the reference by {err:.2e} of max |coef|")
    if abs(rel) > 1e-6:
        failures.append(f"{label}: objective {got:.12g} vs reference {ref:.12g}")


def write(path, X, Y, sparse, extra):
    if sparse:
        write_csr(path, sp.csr_matrix(X), Y[:, 0] if Y.shape[1] == 1 else Y)
    else:
        with h5py.File(path, "w") as f:
            f["X"], f["y"] = X, Y[:, 0] if Y.shape[1] == 1 else Y
    with h5py.File(path, "a") as f:
        f["groups"] = GROUPS
        for name, v in extra.items():
            f[name] = v


def solve_case(cadmm, ranks, work, label, k, std, lam, a=1.0, sparse=False, weighted=False):
    X, Y = make_data(k, sparse=sparse)
    n = len(X)
    extra, opts = {}, []
    obs_w = offset = None
    exclude = []
    wg = np.sqrt(np.bincount(GROUPS))
    if weighted:  # weights (some 0), an offset, an excluded feature and given group weights (group 3 unpenalized)
        obs_w = ((np.arange(1, n + 1) * 37) % 11) / 5.0
        offset = 3 * np.sin(np.arange(1, n + 1))
        exclude = [7]
        wg = np.array([1.0, 2.0, 0.5, 0.0, 1.5])
        extra = {"w": obs_w, "offset": offset, "gw": wg}
        opts = ["--weights-dataset", "/w", "--offset-dataset", "/offset", "--exclude", "7",
                "--group-weights-dataset", "/gw"]
    data = os.path.join(work, f"group_{label}_np{ranks}.h5")
    write(data, X, Y, sparse, extra)
    p = problem(X, Y, obs_w, None if offset is None else np.repeat(offset[:, None], k, 1), std, exclude)
    out = data[:-3] + ".out.h5"
    run_cadmm(cadmm, ranks, ["solve", "--data", data, "--penalty", "group", "--groups-dataset", "/groups", "--lambda",
                             repr(lam), "--l1-ratio", repr(a), "--standardize", str(std).lower(), "--output", out,
                             "--quiet"] + opts)
    ref_coef, ref_b = to_original(p, fista(p, lam, a, wg))
    failures = []
    with h5py.File(out, "r") as r:
        compare(f"{label} solve np={ranks}", p, r["coef"][()], r["intercept"][()], ref_coef, ref_b, lam, a, wg, failures)
        if not weighted and not np.isclose(r.attrs["lambda_max"], lambda_max(p, a, wg), rtol=1e-9):
            failures.append(f"{label}: lambda_max {r.attrs['lambda_max']} != {lambda_max(p, a, wg)}")
        if weighted and np.any(r["coef"][()].reshape(len(GROUPS), -1)[7] != 0):
            failures.append(f"{label}: the excluded feature has a nonzero coefficient")
    return failures


def path_case(cadmm, ranks, work):
    """path (and --relax) at k = 2, standardized, elastic-net mix a = 0.8."""
    X, Y = make_data(2, seed=7)
    a = 0.8
    wg = np.sqrt(np.bincount(GROUPS))
    data = os.path.join(work, f"group_path_np{ranks}.h5")
    write(data, X, Y, False, {})
    p = problem(X, Y, None, None, True, [])
    out = data[:-3] + ".out.h5"
    run_cadmm(cadmm, ranks, ["path", "--data", data, "--penalty", "group", "--groups-dataset", "/groups",
                             "--l1-ratio", repr(a), "--standardize", "true", "--n-lambda", "8", "--lambda-min-ratio",
                             "0.02", "--relax", "--output", out, "--quiet"])
    failures = []
    with h5py.File(out, "r") as r:
        lambdas, coefs, bs = r["path/lambda"][()], r["path/coef"][()], r["path/intercept"][()]
        relaxed, relaxed_b = r["path/relaxed/coef"][()], r["path/relaxed/intercept"][()]
    lmax = lambda_max(p, a, wg)
    if not np.isclose(lambdas[0], lmax, rtol=1e-9) or np.any(coefs[0] != 0):
        failures.append(f"path: first lambda {lambdas[0]} (reference lambda_max {lmax}), coefficients "
                        f"{np.abs(coefs[0]).max():.3g} there")
    if not np.any(coefs[1] != 0):
        failures.append("path: nothing enters at the second lambda (lambda_max too large?)")
    V = None
    for i, lam in enumerate(lambdas):
        V = fista(p, lam, a, wg, V)
        ref_coef, ref_b = to_original(p, V)
        compare(f"path np={ranks} lambda {i}", p, coefs[i], bs[i], ref_coef, ref_b, lam, a, wg, failures)
        # The relaxed fit: least squares on the features the fit keeps.
        kept = np.flatnonzero(np.abs(coefs[i]).sum(1) > 0)
        rc = np.zeros_like(coefs[i])
        if len(kept):
            Xc, Yc = X - X.mean(0), Y - Y.mean(0)
            rc[kept] = np.linalg.lstsq(Xc[:, kept], Yc, rcond=None)[0]
        rb = Y.mean(0) - X.mean(0) @ rc
        err = max(np.abs(relaxed[i] - rc).max() / max(np.abs(rc).max(), 1e-300), np.abs(relaxed_b[i] - rb).max())
        if err > 1e-8:
            failures.append(f"path --relax: relaxed fit {i} differs from least squares on its kept features by {err:.2e}")
    return failures


def cv_case(cadmm, ranks, work):
    X, Y = make_data(1, seed=11)
    n = len(X)
    foldid = np.arange(n) % 4 + 1
    wg = np.sqrt(np.bincount(GROUPS))
    data = os.path.join(work, f"group_cv_np{ranks}.h5")
    write(data, X, Y, False, {"foldid": foldid})
    out = data[:-3] + ".out.h5"
    run_cadmm(cadmm, ranks, ["cv", "--data", data, "--penalty", "group", "--groups-dataset", "/groups", "--fold-dataset",
                             "/foldid", "--n-lambda", "10", "--lambda-min-ratio", "0.01", "--output", out, "--quiet"])
    with h5py.File(out, "r") as r:
        lambdas, cvm, cvsd = r["cv/lambda"][()], r["cv/mse_mean"][()], r["cv/mse_std"][()]
        lmin = r["cv/lambda_min"][()]
    mse = []
    for f in range(1, 5):
        tr, te = foldid != f, foldid == f
        p = problem(X[tr], Y[tr], None, None, False, [])
        V, row = None, []
        for lam in lambdas:
            V = fista(p, lam, 1.0, wg, V)
            coef, b = to_original(p, V)
            row.append(((Y[te] - X[te] @ coef - b) ** 2).mean())
        mse.append(row)
    mse = np.array(mse)
    sizes = np.bincount(foldid)[1:] / n
    ref_m = sizes @ mse
    ref_s = np.sqrt(sizes @ (mse - ref_m) ** 2 / 3)
    m_rel, s_rel = np.abs(cvm - ref_m).max() / ref_m.min(), np.abs(cvsd - ref_s).max() / ref_s.min()
    ref_min = lambdas[np.flatnonzero(ref_m == ref_m.min())[0]]
    print(f"cv np={ranks}: cvm {m_rel:.2e}, cvsd {s_rel:.2e}, lambda_min {lmin} (reference {ref_min})")
    failures = []
    if m_rel > 1e-6 or s_rel > 1e-5:
        failures.append(f"cv: cvm/cvsd differ from the reference by {m_rel:.2e} / {s_rel:.2e}")
    if lmin != ref_min:
        failures.append(f"cv: lambda_min {lmin}, reference {ref_min}")
    return failures


def bad_inputs(cadmm, ranks, work):
    X, Y = make_data(1)
    data = os.path.join(work, f"group_bad_np{ranks}.h5")
    write(data, X, Y, False, {"short": GROUPS[:-1], "gap": np.where(GROUPS == 4, 6, GROUPS), "half": GROUPS + 0.5,
                              "neg": np.where(GROUPS == 4, -1, GROUPS), "gw_short": np.ones(3), "pf": np.ones(12),
                              "codes": np.where(GROUPS == 4, 1e9, GROUPS), "one_based": GROUPS + 1})
    out = os.path.join(work, f"group_bad_np{ranks}.out.h5")
    group = ["--penalty", "group", "--groups-dataset"]
    cases = [
        (["--penalty", "group"], 2, "--penalty group: needs --groups-dataset"),
        (["--groups-dataset", "/groups"], 2, "--groups-dataset: only applies to --penalty group"),
        (group + ["/short"], 3, "11 group ids for 12 features"),
        (group + ["/gap"], 3, "group 4 has no feature"),
        (group + ["/half"], 3, "group ids must be whole numbers"),
        (group + ["/neg"], 3, "group ids must be whole numbers >= 0"),
        (group + ["/groups", "--group-weights-dataset", "/gw_short"], 3, "3 weights for 5 groups"),
        (group + ["/groups", "--penalty-factor-dataset", "/pf"], 2, "weigh groups with --group-weights-dataset"),
        (group + ["/groups", "--positive"], 2, "--penalty group shrinks groups as a whole"),
        (group + ["/missing"], 3, "/missing"),
        (group + ["/codes"], 3, "group id 1000000000 is past the 12 features"),
    ]
    failures = expect_refusals(cadmm, ranks, data, out, cases)
    # Groups numbered 1..G, as R's grpreg and sparsegl number them (an R user's trial: "group 0 has no feature"), fit
    # as 0..G-1 do, bit for bit.
    fits = []
    for ids in ("/groups", "/one_based"):
        run_cadmm(cadmm, ranks, ["solve", "--data", data, "--penalty", "group", "--groups-dataset", ids, "--lambda-ratio",
                                 "0.2", "--output", out, "--quiet"])
        with h5py.File(out) as f:
            fits.append(f["coef"][()].tobytes())
    if fits[0] != fits[1]:
        failures.append("groups numbered 1..G fit otherwise than 0..G-1")
    return failures


def main():
    cadmm, case, ranks, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    os.makedirs(work, exist_ok=True)
    if case == "dense":
        failures = solve_case(cadmm, ranks, work, "lasso", 1, False, 0.3)
        failures += solve_case(cadmm, ranks, work, "multi_std_enet", 3, True, 0.2, a=0.6)
        failures += solve_case(cadmm, ranks, work, "weights_offset", 1, False, 0.1, weighted=True)
        failures += path_case(cadmm, ranks, work)
    elif case == "ranks":
        failures = solve_case(cadmm, ranks, work, "lasso", 1, False, 0.05)
        failures += solve_case(cadmm, ranks, work, "multi_std_enet", 3, True, 0.2, a=0.6)
    elif case == "sparse":
        failures = solve_case(cadmm, ranks, work, "sparse", 1, True, 0.1, sparse=True)
        failures += solve_case(cadmm, ranks, work, "sparse_weights", 2, False, 0.1, sparse=True, weighted=True)
    elif case == "cv":
        failures = cv_case(cadmm, ranks, work)
    else:
        failures = bad_inputs(cadmm, ranks, work)
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
