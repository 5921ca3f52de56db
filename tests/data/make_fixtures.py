#!/usr/bin/env python3
"""Writes the end-to-end fixtures: small HDF5 data sets plus reference solutions from scikit-learn.

Run with Debian's python (/usr/bin/python3, python3-sklearn + python3-h5py):
    /usr/bin/python3 tests/data/make_fixtures.py tests/data/fixtures
and, for the glmnet references (Debian's r-cran-glmnet and r-cran-hdf5r), afterwards:
    Rscript tests/data/glmnet_reference.R tests/data/fixtures
    /usr/bin/python3 tests/data/make_fixtures.py --glmnet tests/data/fixtures
and for cross-validation (cv_*.h5 are data only; their glmnet_cv_*.csv hold cv.glmnet's answer):
    /usr/bin/python3 tests/data/make_fixtures.py --cv tests/data/fixtures
    Rscript tests/data/glmnet_cv_reference.R tests/data/fixtures

Each fixture FILE.h5 holds the data (X, y or renamed datasets) and a group /reference with:
  coef (d,) or (d, k), intercept, attributes lambda, penalty, l1_ratio, fit_intercept, standardize,
  x_dataset, y_dataset, cli (extra command-line options as one string), source.
The reference is computed by scikit-learn (coordinate descent or Ridge's direct solve), never by cadmm.
"""
import os
import sys

import h5py
import numpy as np
from sklearn import datasets, linear_model

TOL = dict(tol=1e-13, max_iter=2_000_000)


def lam_max(X, Y, fit_intercept, l1_ratio, grouped):
    Xc = X - X.mean(0) if fit_intercept else X
    Yc = Y - Y.mean(0) if fit_intercept else Y
    g = Xc.T @ Yc.reshape(len(Y), -1) / len(Y)
    norm = np.linalg.norm(g, axis=1).max() if grouped else np.abs(g).max()
    return norm / max(l1_ratio, 1e-3)


def standardized(X, fit_intercept):
    """glmnet's standardize: standard deviation about the mean (1/n), also without an intercept (glmnet's
    Fortran `standard` routine computes sqrt(mean(x^2) - mean(x)^2) there too); constant columns scaled to 0."""
    m = X.mean(0)
    sd = np.sqrt(((X - m) ** 2).mean(0))
    const = (sd == 0) | (sd <= 1e-10 * np.abs(m))
    inv = np.where(const, 0.0, 1.0 / np.where(const, 1.0, sd))
    return X * inv, inv


def reference(penalty, X, Y, lam, l1_ratio, fit_intercept, standardize):
    """Returns (coef, intercept) on the original scale."""
    Xs, inv = standardized(X, fit_intercept) if standardize else (X, np.ones(X.shape[1]))
    n = X.shape[0]
    if penalty == "l1":
        m = linear_model.Lasso(alpha=lam, fit_intercept=fit_intercept, **TOL)
    elif penalty == "elasticnet":
        m = linear_model.ElasticNet(alpha=lam, l1_ratio=l1_ratio, fit_intercept=fit_intercept, **TOL)
    elif penalty == "l2":
        m = linear_model.Ridge(alpha=lam * n, fit_intercept=fit_intercept, solver="cholesky")
    elif penalty == "l21" and l1_ratio == 1.0:
        m = linear_model.MultiTaskLasso(alpha=lam, fit_intercept=fit_intercept, **TOL)
    elif penalty == "l21":
        m = linear_model.MultiTaskElasticNet(alpha=lam, l1_ratio=l1_ratio, fit_intercept=fit_intercept, **TOL)
    m.fit(Xs, Y)
    coef = np.asarray(m.coef_, dtype=float).T  # sklearn stores (k, d)
    if coef.ndim == 2 and Y.ndim == 1:
        coef = coef.ravel()
    coef = (coef.T * inv).T
    b = np.asarray(m.intercept_, dtype=float)
    if fit_intercept and standardize:
        b = Y.mean(0) - X.mean(0) @ coef
    return coef, b


def write(path, X, Y, penalty, lam=None, ratio=None, l1_ratio=None, fit_intercept=True, standardize=False,
          x_name="X", y_name="y", float32=False, chunk=None, source=""):
    Xs = X.astype(np.float32) if float32 else X
    Xref = Xs.astype(np.float64)
    a = {"l1": 1.0, "l2": 0.0}.get(penalty, l1_ratio if l1_ratio is not None else (0.5 if penalty == "elasticnet" else 1.0))
    Xfit = standardized(Xref, fit_intercept)[0] if standardize else Xref
    lmax = lam_max(Xfit, Y, fit_intercept, a, penalty == "l21")
    if lam is None:
        lam = ratio * lmax
    coef, b = reference(penalty, Xref, Y, lam, a, fit_intercept, standardize)
    cli = [f"--penalty {penalty}", f"--fit-intercept {str(fit_intercept).lower()}",
           f"--standardize {str(standardize).lower()}"]
    cli.append(f"--lambda-ratio {ratio!r}" if ratio is not None else f"--lambda {lam!r}")
    if l1_ratio is not None:
        cli.append(f"--l1-ratio {l1_ratio!r}")
    if x_name != "X":
        cli.append(f"--x-dataset {x_name}")
    if y_name != "y":
        cli.append(f"--y-dataset {y_name}")
    with h5py.File(path, "w") as f:
        f.create_dataset(x_name, data=Xs, chunks=(chunk, X.shape[1]) if chunk else None,
                         compression="gzip" if chunk else None)
        f.create_dataset(y_name, data=Y)
        g = f.create_group("reference")
        g.create_dataset("coef", data=coef)
        g.create_dataset("intercept", data=b)
        g.attrs.update(dict(lam=lam, lambda_max=lmax, penalty=penalty, l1_ratio=a, fit_intercept=int(fit_intercept),
                            standardize=int(standardize), x_dataset=x_name, y_dataset=y_name, cli=" ".join(cli),
                            source=source))
    print(f"{os.path.basename(path)}: n={X.shape[0]} d={X.shape[1]} {penalty} lambda={lam:.6g}")


def write_glmnet(directory):
    """Turns each glmnet_<case>.csv written by glmnet_reference.R into a fixture glmnet_<case>.h5: the data
    of the source fixture plus glmnet's solution as the reference (lasso, or l21 for two-dimensional y)."""
    for csv in sorted(f for f in os.listdir(directory) if f.startswith("glmnet_") and f.endswith(".csv")):
        with open(os.path.join(directory, csv)) as fh:
            lam, lmax, intercept, standardize, source = fh.readline().strip().split(",")
            rows = [[float(v) for v in line.split(",")] for line in fh if line.strip()]
        with h5py.File(os.path.join(directory, source), "r") as src:
            X, Y = src["X"][()], src["y"][()]
        b, coef = np.array(rows[0]), np.array(rows[1:])
        penalty = "l21" if Y.ndim == 2 else "l1"
        if Y.ndim == 1:
            b, coef = b[0], coef[:, 0]
        fit_intercept, standardize = intercept == "1", standardize == "1"
        cli = [f"--penalty {penalty}", f"--lambda {float(lam)!r}", f"--fit-intercept {str(fit_intercept).lower()}",
               f"--standardize {str(standardize).lower()}"]
        name = csv[:-4]
        with h5py.File(os.path.join(directory, name + ".h5"), "w") as f:
            f["X"], f["y"] = X, Y
            g = f.create_group("reference")
            g["coef"], g["intercept"] = coef, b
            g.attrs.update(dict(lam=float(lam), lambda_max=float(lmax), penalty=penalty, l1_ratio=1.0,
                                fit_intercept=int(fit_intercept), standardize=int(standardize), x_dataset="X",
                                y_dataset="y", cli=" ".join(cli), source=f"glmnet on the data of {source}"))
        print(f"{name}.h5: glmnet reference, {penalty}, lambda={float(lam):.6g}")


def write_cv(directory):
    """Cross-validation fixtures cv_<case>.h5: X, y, a fold vector foldid (1..5, as glmnet's) and a decreasing
    lambdas sequence; glmnet_cv_reference.R adds cv.glmnet's answer for them."""
    for name, k, seed in [("cv_gaussian", 1, 11), ("cv_mgaussian", 3, 12)]:
        X, Y = synthetic(240, 12, k, seed)
        rng = np.random.default_rng(seed)
        foldid = rng.permutation(np.arange(240) % 5) + 1
        lmax = lam_max(X, Y, True, 1.0, k > 1)
        lambdas = lmax * np.logspace(0, -2.5, 25)
        with h5py.File(os.path.join(directory, name + ".h5"), "w") as f:
            f["X"], f["y"], f["foldid"], f["lambdas"] = X, Y, foldid.astype(np.int32), lambdas
        print(f"{name}.h5: n=240 d=12 k={k}, 5 folds, 25 lambdas")


def synthetic(n, d, k, seed, corr=0.3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[:, 1:] = corr * X[:, :-1] + np.sqrt(1 - corr**2) * X[:, 1:]
    W = np.zeros((d, k))
    W[:: max(1, d // 8)] = rng.uniform(-2, 2, (len(range(0, d, max(1, d // 8))), k))
    Y = X @ W + 0.5 + rng.standard_normal((n, k))
    return X, (Y[:, 0] if k == 1 else Y)


def main(out):
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name + ".h5")
    Xd, yd = datasets.load_diabetes(return_X_y=True)
    Xd_raw = datasets.load_diabetes(scaled=False).data  # features with very different scales
    Xb, yb = datasets.load_breast_cancer(return_X_y=True)
    Xg, yg = datasets.load_digits(return_X_y=True)  # has constant columns
    lin = datasets.load_linnerud()
    Xl, Yl = lin.data.astype(float), lin.target.astype(float)

    write(p("lasso_diabetes"), Xd, yd, "l1", ratio=0.05, source="sklearn diabetes (scaled)")
    write(p("lasso_diabetes_raw"), Xd_raw, yd, "l1", ratio=0.02, source="sklearn diabetes (raw scale)")
    write(p("ridge_diabetes"), Xd_raw, yd, "l2", lam=0.5, source="sklearn diabetes (raw scale)")
    write(p("enet_breast"), Xb, yb.astype(float), "elasticnet", ratio=0.1, l1_ratio=0.7, source="breast cancer")
    write(p("lasso_digits_std"), Xg, yg.astype(float), "l1", ratio=0.05, standardize=True,
          source="digits, standardized, constant columns")
    write(p("l21_linnerud"), Xl, Yl, "l21", ratio=0.2, source="linnerud, 3 targets")
    Xs, Ys = synthetic(300, 20, 3, 1)
    write(p("mtenet_synth"), Xs, Ys, "l21", ratio=0.1, l1_ratio=0.6, source="synthetic, 3 targets")
    write(p("lasso_multi_target"), Xs, Ys, "l1", ratio=0.1, source="synthetic, 3 targets, elementwise l1")
    write(p("enet_multi_target"), Xs, Ys, "elasticnet", ratio=0.05, l1_ratio=0.3, source="synthetic, 3 targets")
    write(p("ridge_multi_target"), Xs, Ys, "l2", lam=0.05, source="synthetic, 3 targets")
    Xs1, ys1 = synthetic(400, 30, 1, 2)
    write(p("lasso_no_intercept"), Xs1, ys1, "l1", ratio=0.1, fit_intercept=False, source="synthetic")
    write(p("enet_std_no_intercept"), Xs1 * np.linspace(0.1, 10, 30) + 3, ys1, "elasticnet", ratio=0.1,
          fit_intercept=False, standardize=True, source="synthetic, scaled and shifted columns")
    write(p("ridge_std"), Xs1 * np.linspace(0.1, 10, 30) + 3, ys1, "l2", lam=0.1, standardize=True,
          source="synthetic, scaled and shifted columns")
    write(p("lasso_float32_chunked"), Xs1, ys1, "l1", ratio=0.1, float32=True, chunk=64,
          source="synthetic, float32, chunked and gzip-compressed")
    write(p("lasso_renamed"), Xs1, ys1, "l1", ratio=0.1, x_name="data/features", y_name="data/target",
          source="synthetic, datasets in a group")
    Xw, yw = synthetic(60, 150, 1, 3)
    write(p("lasso_wide"), Xw, yw, "l1", ratio=0.2, source="synthetic, more features than rows")
    Xw3, Yw3 = synthetic(40, 100, 2, 4)
    write(p("l21_wide"), Xw3, Yw3, "l21", ratio=0.3, source="synthetic, wide, 2 targets")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--glmnet"]
    out_dir = args[0] if args else os.path.join(os.path.dirname(__file__), "fixtures")
    args = [a for a in args if a != "--cv"]
    out_dir = args[0] if args else out_dir
    if "--glmnet" in sys.argv:
        write_glmnet(out_dir)
    elif "--cv" in sys.argv:
        write_cv(out_dir)
    else:
        main(out_dir)
