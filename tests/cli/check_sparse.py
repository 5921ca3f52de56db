#!/usr/bin/env python3
"""Sparse X (docs/spec.md section 3's CSR group) end to end at one rank count.

Case PENALTY[_nointercept][_std][_f32][_cg]: random sparse data (float32 values with _f32); `cadmm solve` on the CSR file equals scikit-learn on the
same matrix (objective within 1e-6 relative, coefficients within 1e-4 of max |coef|) and equals cadmm on the dense
copy of the file; _cg forces the conjugate-gradient local solver (inexact ADMM), otherwise the plan's Gram form.
Case "balance": the plan (`cadmm info --ranks 3`) gives each rank a near-equal share of the nonzeros on rows of
very unequal length, `predict` on the CSR file equals NumPy, and unsorted / repeated indices within rows solve as
SciPy reads them.
Case "bad": broken CSR structure is refused with exit 3 and a message naming the row.
Usage: check_sparse.py CADMM CASE RANKS WORKDIR
"""
import os
import re
import sys

import h5py
import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "data"))
from mpirun import run_cadmm  # noqa: E402
from make_fixtures import reference, standardized  # noqa: E402
from check_fixture import objective  # noqa: E402


def write_csr(path, X, Y, **extra):
    with h5py.File(path, "w") as f:
        g = f.create_group("X")
        g.attrs["encoding-type"] = "csr_matrix"
        g.attrs["encoding-version"] = "0.1.0"
        g.attrs["shape"] = np.array(X.shape)
        g["data"], g["indices"], g["indptr"] = X.data, X.indices, X.indptr
        f["y"] = Y
        for k, v in extra.items():
            g[k] = v


def data(k, seed, n=500, d=40):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.15, random_state=seed, format="csr") * 2
    X.data += 0.5  # nonnegative, nonzero means: centring matters
    W = np.zeros((d, k))
    W[::5] = rng.standard_normal((len(range(0, d, 5)), k))
    Y = X @ W + 1.0 + 0.3 * rng.standard_normal((n, k))
    return X, (Y[:, 0] if k == 1 else Y)


def solve_case(cadmm, case, ranks, work):
    parts = case.split("_")
    penalty, fit_intercept, standardize, cg = parts[0], "nointercept" not in parts, "std" in parts, "cg" in parts
    single = "f32" in parts  # X stored as float32: held as float32 by the cg form
    a = {"l1": 1.0, "l2": 0.0, "elasticnet": 0.5, "l21": 1.0}[penalty]
    X, Y = data(3 if penalty == "l21" else 1, seed=len(case))
    if single:
        X = X.astype(np.float32)
    sparse_file, dense_file = os.path.join(work, f"{case}_csr.h5"), os.path.join(work, f"{case}_dense.h5")
    write_csr(sparse_file, X, Y)
    with h5py.File(dense_file, "w") as f:
        f["X"], f["y"] = X.toarray(), Y
    common = ["--penalty", penalty, "--fit-intercept", str(fit_intercept).lower(), "--standardize",
              str(standardize).lower(), "--quiet"] + (["--lambda", "0.05"] if penalty == "l2" else ["--lambda-ratio", "0.05"])
    out_s, out_d = os.path.join(work, f"{case}_s_np{ranks}.h5"), os.path.join(work, f"{case}_d_np{ranks}.h5")
    run_cadmm(cadmm, ranks, ["solve", "--data", sparse_file, "--output", out_s] + common +
              (["--local-solver", "cg"] if cg else []))
    run_cadmm(cadmm, ranks, ["solve", "--data", dense_file, "--output", out_d] + common)
    with h5py.File(out_s) as r, h5py.File(out_d) as q:
        coef, b, lam, status = r["coef"][()], r["intercept"][()], r.attrs["lambda"], r.attrs["status"]
        dense_coef = q["coef"][()]
    Xd = X.toarray().astype(np.float64)
    ref_c, ref_b = reference(penalty, Xd, Y, lam, a, fit_intercept, standardize)
    inv = standardized(Xd, fit_intercept)[1] if standardize else np.ones(Xd.shape[1])
    obj = objective(Xd, Y, coef, b, lam, a, penalty == "l21", inv)
    obj_ref = objective(Xd, Y, ref_c, ref_b, lam, a, penalty == "l21", inv)
    scale = max(np.abs(ref_c).max(), 1e-300)
    rel, err, dense_err = (obj - obj_ref) / abs(obj_ref), np.abs(coef - ref_c).max() / scale, np.abs(coef - dense_coef).max() / scale
    print(f"sparse {case} np={ranks}: objective rel {rel:.2e}, coef vs scikit-learn {err:.2e}, vs dense cadmm {dense_err:.2e}, "
          f"{status}")
    failures = []
    if status != "converged" or abs(rel) > 1e-6 or err > 1e-4 or dense_err > 1e-4:
        failures.append("sparse result differs from the references")
    return failures


def balance_case(cadmm, ranks, work):
    rng = np.random.default_rng(3)
    lengths = np.where(np.arange(600) < 100, 30, 2)  # the first rows carry most nonzeros
    rows = np.repeat(np.arange(600), lengths)
    cols = np.concatenate([rng.choice(50, size=m, replace=False) for m in lengths])
    X = sp.csr_matrix((rng.standard_normal(len(rows)), (rows, cols)), shape=(600, 50))
    y = X @ rng.standard_normal(50) + rng.standard_normal(600)
    f = os.path.join(work, "balance.h5")
    write_csr(f, X, y)
    _, text, _ = run_cadmm(cadmm, 1, ["info", f, "--ranks", "3"])
    shares = [int(m.group(1)) for m in re.finditer(r"^\s+\d+\s+\d+\s+(\d+)\s+gram", text, re.M)]
    failures = []
    if len(shares) != 3 or sum(shares) != X.nnz or max(shares) - min(shares) > 2 * 30:
        failures.append(f"nonzeros per rank {shares} are not balanced (total {X.nnz})\n{text}")
    model, out = os.path.join(work, "balance_model.h5"), os.path.join(work, "balance_pred.h5")
    run_cadmm(cadmm, ranks, ["solve", "--data", f, "--output", model, "--quiet"])
    run_cadmm(cadmm, ranks, ["predict", "--model", model, "--data", f, "--output", out, "--quiet"])
    with h5py.File(model) as m, h5py.File(out) as p:
        ref = X @ m["coef"][()] + m["intercept"][()]
        if np.abs(p["prediction"][()] - ref).max() > 1e-12 * np.abs(ref).max():
            failures.append("predict on sparse X differs from NumPy")
    # Unsorted and repeated column indices within rows (some writers leave them): repeats add, as in SciPy.
    n, d = 300, 30
    cols = rng.integers(0, d, size=n * 8)
    vals = rng.standard_normal(n * 8)
    Xu = sp.csr_matrix((vals, cols, np.arange(0, n * 8 + 1, 8)), shape=(n, d))
    Xd = Xu.toarray()
    yu = Xd @ rng.standard_normal(d) + rng.standard_normal(n)
    fu = os.path.join(work, "unsorted.h5")
    write_csr(fu, Xu, yu)
    for solver in ("gram", "cg"):
        out_u = os.path.join(work, f"unsorted_{solver}.h5")
        run_cadmm(cadmm, ranks, ["solve", "--data", fu, "--output", out_u, "--local-solver", solver, "--quiet"])
        with h5py.File(out_u) as r:
            ref, _ = reference("l1", Xd, yu, r.attrs["lambda"], 1.0, True, False)
            err = np.abs(r["coef"][()] - ref).max() / np.abs(ref).max()
        if err > 1e-4:
            failures.append(f"unsorted/repeated indices, {solver}: coefficients differ from scikit-learn by {err:.2e}")
    print(f"sparse balance np={ranks}: nonzeros per rank at 3 ranks {shares}")
    return failures


def bad_case(cadmm, ranks, work):
    X, y = data(1, seed=9, n=60, d=10)
    failures = []
    nonempty = lambda r: next(i for i in range(r, 60) if X.indptr[i + 1] > X.indptr[i])  # noqa: E731
    r1, r2 = nonempty(33), nonempty(41)
    cases = {
        "indptr decreases": (lambda g: g["indptr"].__setitem__(20, g["indptr"][19] - 1), "row 1"),
        "indptr misses nnz": (lambda g: g["indptr"].__setitem__(60, g["indptr"][60] - 1), "end at nnz"),
        "index >= d": (lambda g: g["indices"].__setitem__(int(X.indptr[r1]), 10), f"at row {r1}"),
        "negative index": (lambda g: g["indices"].__setitem__(int(X.indptr[r2]), -1), f"at row {r2}"),
    }
    for name, (damage, needle) in cases.items():
        f = os.path.join(work, "bad.h5")
        write_csr(f, X, y)
        with h5py.File(f, "r+") as h:
            damage(h["X"])
        code, out, err = run_cadmm(cadmm, ranks, ["solve", "--data", f, "--output", os.path.join(work, "bad_out.h5")],
                                   expect=None)
        if code != 3 or needle not in err or err.count("cadmm: error") != 1:
            failures.append(f"{name}: exit {code}, stderr {err!r} (expected exit 3 naming {needle!r})")
    print(f"sparse bad np={ranks}: {len(cases) - len(failures)} of {len(cases)} broken structures refused")
    return failures


def main():
    cadmm, case, ranks, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    os.makedirs(work, exist_ok=True)
    if case == "balance":
        failures = balance_case(cadmm, ranks, work)
    elif case == "bad":
        failures = bad_case(cadmm, ranks, work)
    else:
        failures = solve_case(cadmm, case, ranks, work)
    for msg in failures:
        print("FAIL:", msg)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
