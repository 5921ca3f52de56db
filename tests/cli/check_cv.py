#!/usr/bin/env python3
"""`cadmm cv` end to end at one rank count.

Case cv_gaussian / cv_mgaussian (fixtures from tests/data: X, y, glmnet-style foldid, lambdas), at 6 ranks too for
cv_gaussian (each rank then holds its rows instead of a Gram per fold):
  * every fold's held-out MSE at every lambda equals a direct NumPy computation on the same folds, with
    scikit-learn (Lasso / MultiTaskLasso, tol 1e-13) fitted on the training rows;
  * mse_mean and mse_std equal cv.glmnet's cvm and cvsd (glmnet sums the squared error over targets, cadmm
    averages it, so for k targets glmnet's are k times cadmm's), and lambda_min / lambda_1se are glmnet's;
  * /coef is the refit on all rows at lambda_min (scikit-learn on all rows).
Case CASE_cg: the same with --local-solver cg (from 2 ranks the folds' rows are gathered, one fold a rank).
Case CASE_screened: the same with --local-solver screened (every rank holds its rows once, each fold's term a view of
them less the fold's own rows).
Case seeded: folds from --seed at RANKS ranks and at one rank: the same fold sizes (balanced to one row) and
the same fold MSE matrix, i.e. the same assignment of rows to folds; /cv/foldid (1-based, cv.glmnet's foldid) the same
at both, and every fold's MSE at every lambda equal to scikit-learn's fit on the folds it names.
Usage: check_cv.py CADMM CASE RANKS WORKDIR FIXTURE_DIR
"""
import os
import sys

import h5py
import numpy as np
from sklearn import linear_model

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "data"))
from mpirun import run_cadmm  # noqa: E402
from make_fixtures import synthetic  # noqa: E402


def sk_fit(X, Y, lam):
    model = (linear_model.MultiTaskLasso if Y.ndim == 2 else linear_model.Lasso)(alpha=lam, tol=1e-13, max_iter=10**6)
    model.fit(X, Y)
    return np.asarray(model.coef_).T, np.asarray(model.intercept_)


def read(out):
    with h5py.File(out, "r") as r:
        return {k: r[k][()] for k in ["cv/lambda", "cv/mse", "cv/mse_mean", "cv/mse_std", "cv/fold_rows",
                                        "cv/lambda_min", "cv/lambda_1se", "coef", "intercept", "cv/foldid"] if k in r}


def fold_mse_error(X, Y, foldid, lambdas, mse):
    """The largest relative difference between mse (folds x lambdas) and the held-out MSE of scikit-learn's fits
    on the training rows of each fold that foldid (1-based) names."""
    worst = 0.0
    for f in range(mse.shape[0]):
        train, test = foldid != f + 1, foldid == f + 1
        for i, lam in enumerate(lambdas):
            c, b = sk_fit(X[train], Y[train], lam)
            held = ((Y[test] - (X[test] @ c + b).reshape(Y[test].shape)) ** 2).mean()
            worst = max(worst, abs(mse[f, i] - held) / held)
    return worst


def glmnet_case(cadmm, case, ranks, work, fixtures):
    # CASE_cg: the same in the cg form (X's rows kept sparse; from 2 ranks each fold's rows are gathered into one rank,
    # which fits the fold alone by coordinate descent with no sums over the ranks).
    # CASE_screened: in the screened form (dense rows held once, a fold's term a view of them less its own rows).
    cg, screened = case.endswith("_cg"), case.endswith("_screened")
    out = os.path.join(work, f"{case}_np{ranks}.h5")
    case = case.rsplit("_", 1)[0] if cg or screened else case
    data = os.path.join(fixtures, case + ".h5")
    with h5py.File(data, "r") as f:
        X, Y, foldid, lambdas = f["X"][()], f["y"][()], f["foldid"][()], f["lambdas"][()]
    k = 1 if Y.ndim == 1 else Y.shape[1]
    _, stdout, _ = run_cadmm(cadmm, ranks, ["cv", "--data", data, "--fold-dataset", "/foldid", "--penalty",
                                            "l1" if k == 1 else "l21", "--lambdas",
                                            ",".join(repr(float(v)) for v in lambdas), "--output", out]
                             + (["--local-solver", "cg"] if cg else ["--local-solver", "screened"] if screened else []))
    r = read(out)
    failures = []
    # 240 rows x 12 features in 5 folds: a rank with fewer than 4 x 12 rows holds its rows and one Gram (a fold's
    # training Gram is the total less its own rows'), from 6 ranks on; below that, one Gram per fold.
    held = f"{ranks} rank(s) held their rows" in stdout
    if held != (not cg and not screened and 240 // ranks < 48):
        failures.append(f"the summary says rows held: {held} at {ranks} ranks")
    viewed = f"{ranks} rank(s) kept their rows once (screened)" in stdout
    if viewed != screened:
        failures.append(f"the summary says rows held once: {viewed} at {ranks} ranks")
    side = "fitted side by side, each on one rank" in stdout
    if cg and side != (ranks > 1):
        failures.append(f"the summary says folds side by side: {side} at {ranks} ranks")
    # Fold MSEs recomputed directly.
    worst = fold_mse_error(X, Y, foldid, lambdas, r["cv/mse"])
    if "cv/foldid" in r:
        failures.append("a cv whose folds came from --fold-dataset wrote /cv/foldid (the user's dataset already)")
    if worst > 1e-6:
        failures.append(f"fold MSE differs from the direct computation by {worst:.2e} (relative)")
    # cv.glmnet's answer.
    with open(os.path.join(fixtures, "glmnet_" + case + ".csv")) as fh:
        lmin, l1se = (float(v) for v in fh.readline().split(","))
        ref = np.array([[float(v) for v in line.split(",")] for line in fh if line.strip()])
    cvm_rel = np.abs(r["cv/mse_mean"] * k - ref[:, 1]).max() / ref[:, 1].min()
    cvsd_rel = np.abs(r["cv/mse_std"] * k - ref[:, 2]).max() / ref[:, 2].min()
    if not np.allclose(r["cv/lambda"], ref[:, 0], rtol=1e-12) or cvm_rel > 1e-6 or cvsd_rel > 1e-5:
        failures.append(f"cvm/cvsd differ from cv.glmnet: {cvm_rel:.2e} / {cvsd_rel:.2e}")
    if not np.isclose(r["cv/lambda_min"], lmin, rtol=1e-12) or not np.isclose(r["cv/lambda_1se"], l1se, rtol=1e-12):
        failures.append(f"lambda_min/1se {r['cv/lambda_min']}/{r['cv/lambda_1se']}, cv.glmnet {lmin}/{l1se}")
    c, b = sk_fit(X, Y, lmin)
    coef_err = np.abs(r["coef"] - c.reshape(r["coef"].shape)).max() / np.abs(c).max()
    if coef_err > 1e-4:
        failures.append(f"refit differs from scikit-learn at lambda_min by {coef_err:.2e}")
    print(f"cv {case} np={ranks}: fold MSE rel diff {worst:.2e}, cvm vs glmnet {cvm_rel:.2e}, cvsd {cvsd_rel:.2e}, "
          f"refit coef {coef_err:.2e}")
    return failures


def seeded_case(cadmm, ranks, work):
    X, Y = synthetic(203, 9, 1, 5)
    data = os.path.join(work, "cv_seeded.h5")
    with h5py.File(data, "w") as f:
        f["X"], f["y"] = X, Y
    runs = {}
    for p in sorted({1, ranks}):
        out = os.path.join(work, f"cv_seeded_np{p}.h5")
        run_cadmm(cadmm, p, ["cv", "--data", data, "--folds", "4", "--seed", "3", "--n-lambda", "15", "--output", out,
                             "--quiet"])
        runs[p] = read(out)
    failures = []
    rows = runs[ranks]["cv/fold_rows"]
    if rows.sum() != 203 or rows.max() - rows.min() > 1:
        failures.append(f"fold sizes {rows} are not a balanced split of 203 rows")
    if not np.array_equal(rows, runs[1]["cv/fold_rows"]):
        failures.append(f"fold sizes differ between 1 and {ranks} ranks")
    rel = np.abs(runs[ranks]["cv/mse"] - runs[1]["cv/mse"]).max() / np.abs(runs[1]["cv/mse"]).min()
    # Fits agree to the solver's tolerance (duality gap 1e-10: coefficients to ~1e-5); one row in another fold
    # moves a fold's MSE by about 1/50 of a row's share, ~1e-2 here.
    if rel > 1e-4:
        failures.append(f"fold MSEs differ between 1 and {ranks} ranks by {rel:.2e}: another assignment of rows")
    # Every row's fold, as cv.glmnet's foldid: the same at both rank counts, the fold sizes, and the folds the MSEs
    # were computed on.
    foldid = runs[ranks].get("cv/foldid")
    if foldid is None or foldid.shape != (203,):
        failures.append(f"/cv/foldid is {None if foldid is None else foldid.shape}, not 203 fold numbers")
        return failures
    if not np.array_equal(foldid, runs[1]["cv/foldid"]):
        failures.append(f"/cv/foldid differs between 1 and {ranks} ranks")
    if not np.array_equal(np.bincount(foldid, minlength=5)[1:], rows) or foldid.min() != 1:
        failures.append(f"/cv/foldid's fold sizes {np.bincount(foldid)[1:]} are not /cv/fold_rows {rows}")
    worst = fold_mse_error(X, Y, foldid, runs[ranks]["cv/lambda"], runs[ranks]["cv/mse"])
    if worst > 1e-6:
        failures.append(f"fold MSE differs by {worst:.2e} (relative) from scikit-learn's on the folds /cv/foldid names")
    print(f"cv seeded np={ranks}: fold sizes {rows.tolist()}, fold MSE diff to 1 rank {rel:.2e}, "
          f"to scikit-learn on /cv/foldid's folds {worst:.2e}")
    return failures


def main():
    cadmm, case, ranks, work, fixtures = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    os.makedirs(work, exist_ok=True)
    failures = seeded_case(cadmm, ranks, work) if case == "seeded" else glmnet_case(cadmm, case, ranks, work, fixtures)
    for msg in failures:
        print("FAIL:", msg)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
