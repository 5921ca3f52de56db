#!/usr/bin/env python3
"""Per-feature terms (penalty factors, exclude, lower/upper limits, positive), offsets and observation weights end to
end at one rank count.

glmnet CASE (tests/data/fixtures/glmnet_terms_CASE.csv, written by tests/data/glmnet_terms_reference.R, with
  offsets in some: --offset-dataset in solve and path, and predict with the new rows' offsets; weights in some:
  --weights-dataset, and predict's weighted MSE and R^2 against scikit-learn's metrics with sample_weight):
  the source fixture's X and y are copied into a work file (dense, or CSR with "sparse") with the factors and
  limits as datasets; `cadmm solve` at glmnet's lambda and `cadmm path` over glmnet's (lambda_max, lambda) must give
  glmnet's coefficients (within 1e-4 of max |coef|) and objective (recomputed here, within 1e-6 relative), respect
  the bounds exactly, and report glmnet's lambda_max (with unpenalized features: the gradient after fitting them).
  With "cg" (CSR, the path in the cg form) every lambda of the path not solved at its warm start must be solved by
  coordinate descent over features spread across the ranks, with no ADMM iteration.
cv, cv_offset, cv_weights: `cadmm cv` with factors, an exclusion and --lower-limits 0 (and an offset, or weights)
  against glmnet on every fold
  combined by cv.glmnet's
  rules (glmnet_terms_cv.csv; why not cv.glmnet's own fold fits: see glmnet_terms_reference.R): the grid from
  cadmm's lambda_max, cvm, cvsd, lambda_min, lambda_1se and the refit.
sklearn_positive: `--positive` against scikit-learn's Lasso and ElasticNet(positive=True), dense and CSR.
relax_CASE (glmnet_terms_relax_CASE.csv): `cadmm path --relax` over glmnet's lambdas; every fit's blend at gamma 0 and
  0.5 (from /path/relaxed) must be glmnet's coef(fit, s, gamma) within 1e-4 of max |coef|, and predict --gamma 0.5
  must apply that blend. cv_relax: `cadmm cv --relax` against cv.glmnet(relax = TRUE): the cvm and cvsd of every
  gamma, the chosen (lambda, gamma) pairs and the refit.
bad: bad per-feature input and offsets are refused with exit 2 (usage) or 3 (data), a message naming the option, and no output.
Usage: check_terms.py CADMM CASE RANKS WORKDIR [sparse|cg|screened]
"""
import os
import re
import sys

import h5py
import numpy as np
import scipy.sparse as sp
from sklearn import linear_model

sys.path.insert(0, os.path.dirname(__file__))
from mpirun import expect_refusals, run_cadmm  # noqa: E402
from check_sparse import write_csr  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "data", "fixtures")


def read_case(name):
    with open(os.path.join(FIXTURES, f"glmnet_terms_{name}.csv")) as fh:
        source, alpha, lam, lmax, intercept, standardize, y_scale, offset, weights = fh.readline().strip().split(",")
        vectors = []
        for _ in range(4):
            text = fh.readline().strip()
            vectors.append(None if text == "-" else np.array([float(v) for v in text.split(",")]))
        rows = np.array([[float(v) for v in line.split(",")] for line in fh if line.strip()])
    return dict(source=source, y_scale=float(y_scale), offset=offset == "1", weights=weights == "1", alpha=float(alpha), lam=float(lam), lmax=float(lmax), intercept=intercept == "1",
                standardize=standardize == "1", pf=vectors[0], exclude=vectors[1], lower=vectors[2],
                upper=vectors[3], b=rows[0], coef=rows[1:])


def case_weights(n):
    """glmnet_terms_reference.R's observation weights: 0 to 2 in steps of 0.2, zero on every 11th row."""
    return ((np.arange(1, n + 1) * 37) % 11) / 5.0


def factors(case, d):
    """glmnet's factors as used: excluded features at 1, rescaled to sum to d."""
    f = np.ones(d) if case["pf"] is None else case["pf"].astype(float).copy()
    if case["exclude"] is not None:
        f[case["exclude"].astype(int)] = 1.0
    return f * d / f.sum()


def objective(X, Y, W, b, case):
    """glmnet's objective: 1/(2 sum w) sum_i w_i ||y_i - W^T x_i - b||^2 + lambda sum_j f_j (a ||w_j||_1-or-2 +
    (1-a)/2 ||w_j||^2) (w = 1 without weights), with w_j standardized (times the weighted sd_j) under standardize;
    the coefficients must lie in the bounds."""
    n, d = X.shape
    w = case_weights(n) if case.get("weights") else np.ones(n)
    W = W.reshape(d, -1)
    R = Y.reshape(n, -1) - X @ W - np.reshape(b, (1, -1))
    mean = w @ X / w.sum()
    sd = np.sqrt(w @ (X - mean) ** 2 / w.sum()) if case["standardize"] else np.ones(d)
    Ws = W * sd[:, None]
    grouped = W.shape[1] > 1
    l1 = np.linalg.norm(Ws, axis=1) if grouped else np.abs(Ws).sum(1)
    a = case["alpha"]
    pen = (factors(case, d) * (a * l1 + 0.5 * (1 - a) * (Ws**2).sum(1))).sum()
    return 0.5 * (w[:, None] * R**2).sum() / w.sum() + case["lam"] * pen


def bounds(case, d):
    lo = np.full(d, -np.inf) if case["lower"] is None else np.broadcast_to(case["lower"], (d,)).astype(float)
    hi = np.full(d, np.inf) if case["upper"] is None else np.broadcast_to(case["upper"], (d,)).astype(float)
    return lo, hi


def options(case, d):
    """The cadmm options of a case; the vectors as datasets of the data file (returned for writing)."""
    opts = ["--fit-intercept", str(case["intercept"]).lower(), "--standardize", str(case["standardize"]).lower()]
    k = case["coef"].shape[1]
    if k > 1:
        opts += ["--penalty", "l21", "--l1-ratio", repr(case["alpha"])]
    elif case["alpha"] < 1:
        opts += ["--penalty", "elasticnet", "--l1-ratio", repr(case["alpha"])]
    datasets = {}
    if case["pf"] is not None:
        datasets["/penalty_factor"] = case["pf"]
        opts += ["--penalty-factor-dataset", "/penalty_factor"]
    if case["exclude"] is not None:
        opts += ["--exclude", ",".join(str(int(j)) for j in case["exclude"])]
    for name in ("lower", "upper"):
        v = case[name]
        if v is None:
            continue
        if len(v) == 1:
            opts += [f"--{name}-limits", repr(float(v[0]))]
        else:
            datasets[f"/{name}"] = v
            opts += [f"--{name}-limits", f"/{name}"]
    return opts, datasets


def write_data(path, X, Y, sparse, datasets):
    if sparse:
        write_csr(path, sp.csr_matrix(X), Y)
    else:
        with h5py.File(path, "w") as f:
            f["X"], f["y"] = X, Y
    with h5py.File(path, "a") as f:
        for k, v in datasets.items():
            f[k] = v


def compare(label, X, Y, coef, b, case, ref_coef, ref_b, failures, attrs=None):
    d = X.shape[1]
    coef = coef.reshape(ref_coef.shape)
    scale = max(np.abs(ref_coef).max(), 1e-300)
    err = np.abs(coef - ref_coef).max() / scale
    obj, obj_ref = objective(X, Y, coef, b, case), objective(X, Y, ref_coef, ref_b, case)
    rel = (obj - obj_ref) / abs(obj_ref)
    lo, hi = bounds(case, d)
    outside = np.sum((coef < lo[:, None]) | (coef > hi[:, None]))
    excluded = case["exclude"].astype(int) if case["exclude"] is not None else []
    print(f"{label}: coef diff {err:.2e}, objective rel diff {rel:.2e}")
    if err > 1e-4:
        failures.append(f"{label}: coefficients differ from the reference by {err:.2e} of max |coef|")
    if abs(rel) > 1e-6:
        failures.append(f"{label}: objective {obj:.12g} vs reference {obj_ref:.12g} ({rel:.2e})")
    if outside:
        failures.append(f"{label}: {outside} coefficients outside their bounds")
    if np.any(coef[excluded] != 0):
        failures.append(f"{label}: an excluded feature has a nonzero coefficient")
    if attrs is not None and not np.isclose(attrs["lambda_max"], case["lmax"], rtol=1e-6):
        failures.append(f"{label}: lambda_max {attrs['lambda_max']} != glmnet's {case['lmax']}")


def glmnet_case(cadmm, name, ranks, work, sparse, cg=False):
    case = read_case(name)
    with h5py.File(os.path.join(FIXTURES, case["source"]), "r") as f:
        X, Y = f["X"][()].astype(np.float64), f["y"][()] / case["y_scale"]
    d = X.shape[1]
    opts, datasets = options(case, d)
    offset = None
    if case["offset"]:  # glmnet_terms_reference.R's offset: 20 sin(i), times t for target t
        offset = 20 * np.sin(np.arange(1, len(Y) + 1))
        if Y.ndim == 2:
            offset = np.outer(offset, np.arange(1, Y.shape[1] + 1))
        datasets["/offset"] = offset
        opts += ["--offset-dataset", "/offset"]
    if case["weights"]:
        datasets["/weights"] = case_weights(len(Y))
        opts += ["--weights-dataset", "/weights"]
    # Each variant its own files: ctest runs the sparse and the cg variants of a case side by side.
    data = os.path.join(work, f"terms_{name}{'_cg' if cg else '_sparse' if sparse else ''}_np{ranks}.h5")
    write_data(data, X, Y, sparse, datasets)
    if offset is not None:
        Y = Y - offset  # the problem glmnet solves, for the objective recomputed here
    ref_coef, ref_b = case["coef"], case["b"] if case["coef"].shape[1] > 1 else case["b"][0]
    failures = []
    out = data[:-3] + "_solve.out.h5"
    run_cadmm(cadmm, ranks, ["solve", "--data", data, "--lambda", repr(case["lam"]), "--output", out, "--quiet"] + opts)
    with h5py.File(out, "r") as r:
        compare(f"{name} solve np={ranks}", X, Y, r["coef"][()], r["intercept"][()], case, ref_coef, ref_b, failures,
                dict(r.attrs))
        iterations, polished = r.attrs["iterations"], r.attrs["polished"]
    # An upper bound that binds, an unpenalized feature and factors: polishing (coordinates held at the bound)
    # solves it from the unpenalized features' fit, before any ADMM iteration.
    if name == "factors_bounds_enet" and (iterations != 0 or not polished):
        failures.append(f"{name} solve: {iterations} ADMM iterations (polished {polished}); expected 0, polished")
    out = data[:-3] + "_path.out.h5"
    _, printed, _ = run_cadmm(cadmm, ranks, ["path", "--data", data, "--n-lambda", "20", "--lambda-min-ratio",
                                             repr(case["lam"] / case["lmax"]), "--output", out]
                              + (["--local-solver", "cg"] if cg else ["--quiet"]) + opts)
    if cg and not descended_alone(printed):
        failures.append(f"{name} path: not every lambda solved by coordinate descent:\n{printed}")
    with h5py.File(out, "r") as r:
        coefs, b = r["path/coef"][()], r["path/intercept"][()]
        lambdas = r["path/lambda"][()]
        # The grid starts at lambda_max (glmnet's first value), where every penalized coefficient is 0.
        if not np.isclose(lambdas[0], case["lmax"], rtol=1e-6):
            failures.append(f"{name} path: first lambda {lambdas[0]} != glmnet's lambda_max {case['lmax']}")
        compare(f"{name} path np={ranks}", X, Y, coefs[-1], b[-1], case, ref_coef, ref_b, failures)
    if case["weights"]:
        failures += weighted_scores(cadmm, ranks, data, out, X, Y if offset is None else Y + offset, offset)
    if offset is not None:
        # predict adds the new rows' offsets (glmnet's newoffset); without them it warns and leaves them out.
        pred_out = data[:-3] + "_predict.out.h5"
        run_cadmm(cadmm, ranks, ["predict", "--model", out, "--lambda-index", "19", "--data", data, "--offset-dataset",
                                 "/offset", "--output", pred_out, "--quiet"])
        with h5py.File(pred_out, "r") as r:
            pred = r["prediction"][()]
        ref = (X @ ref_coef).reshape(pred.shape) + ref_b + offset
        err = np.abs(pred - ref).max() / np.abs(ref).max()
        print(f"{name} predict np={ranks}: prediction diff {err:.2e}")
        if err > 1e-6:
            failures.append(f"{name} predict: predictions with the offset differ from glmnet's by {err:.2e}")
        _, _, se = run_cadmm(cadmm, ranks, ["predict", "--model", out, "--data", data, "--output", pred_out, "--quiet"])
        if "fitted with offset /offset" not in se:
            failures.append(f"{name} predict without --offset-dataset: no warning ({se.strip()!r})")
        # At lambda_max every penalized coefficient is 0 (the one whose bound is tight, up to the tolerances).
        pen = factors(case, d) > 0
        first = np.abs(coefs[0].reshape(d, -1))
        if first[pen].max() > 1e-6 * max(np.abs(coefs[-1]).max(), 1e-300):
            failures.append(f"{name} path: a penalized coefficient is {first[pen].max():.3g} at lambda_max")
    return failures


def descended_alone(printed):
    """True when a path's summary says that no ADMM iteration ran and that every lambda not already solved at its
    warm start was solved by coordinate descent (at least one)."""
    m = re.search(r"(\d+) ADMM iterations in all; (\d+) solved by the warm active set alone, (\d+) of them by "
                  r"coordinate descent", printed)
    return bool(m) and m.group(1) == "0" and m.group(2) == m.group(3)


def weighted_scores(cadmm, ranks, data, model, X, Y, offset):
    """predict --weights-dataset: its MSE and R^2 are scikit-learn's with sample_weight, on its own predictions."""
    from sklearn.metrics import mean_squared_error, r2_score
    pred_out = data[:-3] + "_predict_weighted.out.h5"
    args = ["predict", "--model", model, "--data", data, "--weights-dataset", "/weights", "--output", pred_out, "--quiet"]
    run_cadmm(cadmm, ranks, args + (["--offset-dataset", "/offset"] if offset is not None else []))
    with h5py.File(pred_out, "r") as r:
        pred, mse, r2 = r["prediction"][()], r.attrs["mse"], r.attrs["r2"]
    w = case_weights(len(Y))
    ref_mse = mean_squared_error(Y, pred, sample_weight=w)
    ref_r2 = r2_score(Y, pred, sample_weight=w)
    print(f"weighted predict np={ranks}: mse {mse:.10g} (sklearn {ref_mse:.10g}), r2 {r2:.10g} (sklearn {ref_r2:.10g})")
    if not np.isclose(mse, ref_mse, rtol=1e-10) or not np.isclose(r2, ref_r2, rtol=1e-10):
        return [f"weighted predict: mse {mse} / r2 {r2}, scikit-learn {ref_mse} / {ref_r2}"]
    return []


def numbers(line):
    return np.array([float(v) for v in line.strip().split(",")])


def relax_case(cadmm, name, ranks, work, sparse):
    with open(os.path.join(FIXTURES, f"glmnet_terms_{name}.csv")) as fh:
        source, alpha, standardize, y_scale, offset, weights, lower, upper = fh.readline().strip().split(",")
        lambdas = numbers(fh.readline())
        rows = np.array([numbers(line) for line in fh if line.strip()])
    with h5py.File(os.path.join(FIXTURES, source), "r") as f:
        X, Y = f["X"][()].astype(np.float64), f["y"][()] / float(y_scale)
    n, d = X.shape
    k = 1 if Y.ndim == 1 else Y.shape[1]
    opts = ["--standardize", "true" if standardize == "1" else "false", "--lambdas", ",".join(repr(v) for v in lambdas)]
    if k > 1:
        opts += ["--penalty", "l21"]
    elif float(alpha) < 1:
        opts += ["--penalty", "elasticnet", "--l1-ratio", alpha]
    datasets = {}
    if offset == "1":
        datasets["/offset"] = 20 * np.sin(np.arange(1, n + 1)) if k == 1 else np.outer(20 * np.sin(np.arange(1, n + 1)), np.arange(1, k + 1))
        opts += ["--offset-dataset", "/offset"]
    if weights == "1":
        datasets["/weights"] = case_weights(n)
        opts += ["--weights-dataset", "/weights"]
    for option, value in (("--lower-limits", lower), ("--upper-limits", upper)):
        if value != "-":
            opts += [option, value]
    data = os.path.join(work, f"terms_{name}{'_sparse' if sparse else ''}_np{ranks}.h5")
    write_data(data, X, Y, sparse, datasets)
    out = data[:-3] + "_path.out.h5"
    run_cadmm(cadmm, ranks, ["path", "--data", data, "--relax", "--output", out, "--quiet"] + opts)
    with h5py.File(out, "r") as r:
        coef = r["path/coef"][()].reshape(len(lambdas), d * k)
        b = r["path/intercept"][()].reshape(len(lambdas), k)
        rcoef = r["path/relaxed/coef"][()].reshape(len(lambdas), d * k)
        rb = r["path/relaxed/intercept"][()].reshape(len(lambdas), k)
    failures = []
    m = len(lambdas)
    for i, gamma in enumerate((0.0, 0.5)):
        g = max(gamma, 1e-5)  # glmnet's blend.relaxed
        ref = rows[i * m:(i + 1) * m]
        got = np.hstack([g * b + (1 - g) * rb, g * coef + (1 - g) * rcoef])
        scale = np.abs(ref[:, k:]).max()
        err = np.abs(got - ref).max() / scale
        print(f"{name} np={ranks}{' CSR' if sparse else ''} gamma {gamma}: max diff {err:.2e} of max |coef|")
        if err > 1e-4:
            failures.append(f"gamma {gamma}: blends differ from glmnet's by {err:.2e} of max |coef|")
    # predict --gamma 0.5 at fit 12 applies that blend.
    pred_out = data[:-3] + "_predict_relaxed.out.h5"
    run_cadmm(cadmm, ranks, ["predict", "--model", out, "--lambda-index", "12", "--gamma", "0.5", "--data", data,
                             "--output", pred_out, "--quiet"])
    with h5py.File(pred_out, "r") as r:
        pred = r["prediction"][()].reshape(n, k)
    ref = rows[m + 12]
    expect = X @ ref[k:].reshape(d, k) + ref[:k]  # no --offset-dataset given: the offset is left out
    err = np.abs(pred - expect).max() / np.abs(expect).max()
    print(f"{name} predict --gamma 0.5: diff {err:.2e}")
    if err > 1e-6:
        failures.append(f"predict --gamma 0.5 differs from glmnet's blend by {err:.2e}")
    return failures


def cv_relax(cadmm, ranks, work):
    with open(os.path.join(FIXTURES, "glmnet_terms_cv_relax.csv")) as fh:
        lines = [numbers(line) for line in fh if line.strip()]
    gammas, chosen = lines[0], lines[1]
    g = len(gammas)
    cvm, cvsd = np.array(lines[2:2 + g]), np.array(lines[2 + g:2 + 2 * g])
    lambdas, refit = lines[2 + 2 * g], lines[3 + 2 * g]
    with h5py.File(os.path.join(FIXTURES, "cv_gaussian.h5"), "r") as f:
        X, y, foldid = f["X"][()], f["y"][()], f["foldid"][()]
    data = os.path.join(work, f"terms_cv_relax_np{ranks}.h5")
    write_data(data, X, y, False, {"/foldid": foldid})
    out = data[:-3] + ".out.h5"
    run_cadmm(cadmm, ranks, ["cv", "--data", data, "--fold-dataset", "/foldid", "--lambdas",
                             ",".join(repr(v) for v in lambdas), "--relax", "--gamma", ",".join(repr(v) for v in gammas),
                             "--output", out, "--quiet"])
    failures = []
    with h5py.File(out, "r") as r:
        got_m, got_s = r["cv/relaxed/mse_mean"][()], r["cv/relaxed/mse_std"][()]
        got_chosen = [r["cv/relaxed/lambda_min"][()], r["cv/relaxed/gamma_min"][()], r["cv/relaxed/lambda_1se"][()],
                      r["cv/relaxed/gamma_1se"][()]]
        coef = np.concatenate([[r["intercept"][()]], r["coef"][()]])
        attrs = dict(r.attrs)
    m_rel = np.abs(got_m - cvm).max() / cvm.min()
    s_rel = np.abs(got_s - cvsd).max() / cvsd.min()
    c_err = np.abs(coef - refit).max() / np.abs(refit[1:]).max()
    print(f"cv_relax np={ranks}: cvm {m_rel:.2e}, cvsd {s_rel:.2e}, chosen {got_chosen} (glmnet {list(chosen)}), "
          f"refit {c_err:.2e}")
    if m_rel > 1e-6 or s_rel > 1e-5:
        failures.append(f"relaxed cvm/cvsd differ from cv.glmnet's: {m_rel:.2e} / {s_rel:.2e}")
    if not np.allclose(got_chosen, chosen, rtol=1e-9):
        failures.append(f"chosen (lambda, gamma) pairs {got_chosen}, cv.glmnet {list(chosen)}")
    if c_err > 1e-4 or not np.isclose(attrs.get("gamma", -1), chosen[1]):
        failures.append(f"refit differs from cv.glmnet's coef at (lambda.min, gamma.min) by {c_err:.2e}")
    # As a job array: one fold per task, then --collect; the relaxed curves must be the single run's, bit for bit, and
    # a fold file made without --relax is refused.
    common = ["cv", "--data", data, "--fold-dataset", "/foldid", "--lambdas", ",".join(repr(v) for v in lambdas),
              "--quiet"]
    relax = ["--relax", "--gamma", ",".join(repr(v) for v in gammas)]
    for fold in range(1, int(foldid.max()) + 1):
        run_cadmm(cadmm, ranks, common + relax + ["--fold", str(fold), "--output", data[:-3] + f"_fold{fold}.h5"])
    collected = data[:-3] + "_collected.h5"
    run_cadmm(cadmm, ranks, common + relax + ["--collect", data[:-3] + "_fold*.h5", "--output", collected])
    with h5py.File(collected, "r") as r, h5py.File(out, "r") as one:
        for name in ("cv/relaxed/mse_mean", "cv/relaxed/mse_std", "coef"):
            if not np.array_equal(r[name][()], one[name][()]):
                failures.append(f"--fold/--collect with --relax: {name} differs from the single run")
    plain = data[:-3] + "_plainfold1.h5"
    run_cadmm(cadmm, ranks, common + ["--fold", "1", "--output", plain])
    rc, _, se = run_cadmm(cadmm, ranks, common + relax + ["--collect", plain + "," + data[:-3] + "_fold[2-9].h5",
                                                          "--output", collected], expect=None)
    if rc != 3 or "without --relax" not in se:
        failures.append(f"--collect of a fold file made without --relax: exit {rc}, {se.strip()!r}")
    return failures


def cv_case(cadmm, ranks, work, name, form=""):
    """Factors, an exclusion and lower.limits = 0 on cv_gaussian.h5 (glmnet_terms_cv.csv): cadmm's grid (from its own
    lambda_max), cvm, cvsd, lambda_min, lambda_1se and the refit must be glmnet's. form "cg": in the cg form, whose
    folds (with their weights and offsets) are gathered one to a rank from 2 ranks on; "screened": dense rows held once,
    each fold's term a view of them (weights, offsets and centring applied implicitly)."""
    with open(os.path.join(FIXTURES, f"glmnet_terms_{name}.csv")) as fh:
        lmin, l1se = (float(v) for v in fh.readline().split(","))
        pf = np.array([float(v) for v in fh.readline().split(",")])
        exclude, lower = fh.readline().strip(), fh.readline().strip()
        rows = [[float(v) for v in line.split(",")] for line in fh if line.strip()]
    table = np.array([r for r in rows if len(r) == 3])
    refit = np.array([r[0] for r in rows if len(r) == 1])
    with h5py.File(os.path.join(FIXTURES, "cv_gaussian.h5"), "r") as f:
        X, y, foldid = f["X"][()], f["y"][()], f["foldid"][()]
    data = os.path.join(work, f"terms_{name}{'_' + form if form else ''}_np{ranks}.h5")
    datasets, extra = {"/foldid": foldid, "/pf": pf}, ["--local-solver", form] if form else []
    if name == "cv_offset":  # glmnet_terms_reference.R's offset
        datasets["/offset"] = 20 * np.sin(np.arange(1, len(y) + 1))
        extra += ["--offset-dataset", "/offset"]
    if name == "cv_weights":
        datasets["/weights"] = case_weights(len(y))
        extra += ["--weights-dataset", "/weights"]
    write_data(data, X, y, False, datasets)
    out = data[:-3] + ".out.h5"
    run_cadmm(cadmm, ranks, ["cv", "--data", data, "--fold-dataset", "/foldid", "--n-lambda", str(len(table)),
                             "--lambda-min-ratio", repr(table[-1, 0] / table[0, 0]), "--penalty-factor-dataset", "/pf",
                             "--exclude", exclude, "--lower-limits", lower, "--output", out, "--quiet"] + extra)
    failures = []
    with h5py.File(out, "r") as r:
        lam, cvm, cvsd = r["cv/lambda"][()], r["cv/mse_mean"][()], r["cv/mse_std"][()]
        got_min, got_1se = r["cv/lambda_min"][()], r["cv/lambda_1se"][()]
        coef, b = r["coef"][()].ravel(), r["intercept"][()]
    grid = np.abs(lam - table[:, 0]).max() / table[0, 0]
    cvm_rel = np.abs(cvm - table[:, 1]).max() / table[:, 1].min()
    cvsd_rel = np.abs(cvsd - table[:, 2]).max() / table[:, 2].min()
    coef_err = np.abs(np.concatenate([[b], coef]) - refit).max() / np.abs(refit[1:]).max()
    print(f"{name} np={ranks}: grid {grid:.2e}, cvm {cvm_rel:.2e}, cvsd {cvsd_rel:.2e}, refit {coef_err:.2e}")
    if grid > 1e-9:
        failures.append(f"lambda grid differs from glmnet's by {grid:.2e} of lambda_max")
    if cvm_rel > 1e-6 or cvsd_rel > 1e-5:
        failures.append(f"cvm/cvsd differ from cv.glmnet: {cvm_rel:.2e} / {cvsd_rel:.2e}")
    if not np.isclose(got_min, lmin, rtol=1e-9) or not np.isclose(got_1se, l1se, rtol=1e-9):
        failures.append(f"lambda_min/1se {got_min}/{got_1se}, cv.glmnet {lmin}/{l1se}")
    if coef_err > 1e-4 or coef.min() < 0 or coef[int(exclude)] != 0:
        failures.append(f"refit at lambda_min differs from glmnet's by {coef_err:.2e}, or breaks its terms")
    return failures


def sklearn_positive(cadmm, ranks, work):
    rng = np.random.default_rng(3)
    n, d = 300, 25
    X = rng.standard_normal((n, d)) + rng.standard_normal((n, 1))  # correlated columns
    w = rng.standard_normal(d)
    y = X @ w + 0.5 * rng.standard_normal(n)
    failures = []
    for sparse in (False, True):
        Xs = X.copy()
        if sparse:
            Xs[rng.random((n, d)) < 0.7] = 0.0
        ys = Xs @ w + 0.5 * rng.standard_normal(n)
        data = os.path.join(work, f"positive_{'sparse' if sparse else 'dense'}_np{ranks}.h5")
        write_data(data, Xs, ys, sparse, {})
        for l1_ratio in (1.0, 0.4):
            lam = 0.02
            ref = (linear_model.Lasso(alpha=lam, positive=True, tol=1e-13, max_iter=10**6) if l1_ratio == 1 else
                   linear_model.ElasticNet(alpha=lam, l1_ratio=l1_ratio, positive=True, tol=1e-13, max_iter=10**6))
            ref.fit(Xs, ys)
            case = dict(alpha=l1_ratio, lam=lam, standardize=False, pf=None, exclude=None, lower=np.array([0.0]),
                        upper=None)
            out = data[:-3] + f"_{l1_ratio}.out.h5"
            pen = ["--penalty", "l1"] if l1_ratio == 1 else ["--penalty", "elasticnet", "--l1-ratio", str(l1_ratio)]
            run_cadmm(cadmm, ranks, ["solve", "--data", data, "--lambda", str(lam), "--positive", "--output", out,
                                     "--quiet"] + pen)
            with h5py.File(out, "r") as r:
                compare(f"positive l1_ratio {l1_ratio} {'CSR' if sparse else 'dense'} np={ranks}", Xs, ys,
                        r["coef"][()], r["intercept"][()], case, ref.coef_.reshape(d, 1), ref.intercept_, failures)
            if (ref.coef_ == 0).sum() < 3:
                failures.append("the positive reference has too few zeros to test the constraint")
    return failures


def bad_inputs(cadmm, ranks, work):
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((50, 4)), rng.standard_normal(50)
    data = os.path.join(work, f"terms_bad_np{ranks}.h5")
    write_data(data, X, y, False, {"/pf_negative": np.array([1.0, -1, 1, 1]), "/pf_short": np.ones(3),
                                   "/pf_zero": np.zeros(4), "/pf_matrix": np.ones((2, 4)), "/offset_short": np.ones(49),
                                   "/offset_nan": np.r_[np.ones(30), np.nan, np.ones(19)],
                                   "/offset_wide": np.ones((50, 3)), "/w_negative": np.r_[np.ones(20), -0.5, np.ones(29)],
                                   "/w_inf": np.r_[np.ones(40), np.inf, np.ones(9)], "/w_zero": np.zeros(50),
                                   "/w_short": np.ones(49), "/w_matrix": np.ones((50, 2)),
                                   "/low_bad": np.array([-1, 0.5, -1, -1]), "/low_short": -np.ones(3),
                                   "/pf_inf": np.array([1, np.inf, 1, 1]), "/pf_all_inf": np.full(4, np.inf),
                                   "/pf_zero_inf": np.array([0, 0, np.inf, np.inf])})
    out = os.path.join(work, f"terms_bad_np{ranks}.out.h5")
    cases = [
        (["--penalty-factor-dataset", "/pf_negative"], 3,
         "--penalty-factor-dataset (dataset '/pf_negative'): feature 1 (0-based) has -1.000000"),
        (["--penalty-factor-dataset", "/pf_short"], 3, "3 values for 4 features"),
        (["--penalty-factor-dataset", "/pf_zero"], 3, "every factor is 0"),
        (["--penalty-factor-dataset", "/pf_all_inf"], 3, "every factor is inf: every feature would be excluded"),
        (["--penalty-factor-dataset", "/pf_zero_inf"], 3, "every factor is 0 (of the features not excluded)"),
        (["--penalty-factor-dataset", "/pf_matrix"], 3, "expected one value per feature"),
        (["--penalty-factor-dataset", "/missing"], 3, "/missing"),
        (["--exclude", "7"], 2, "feature 7 does not exist"),
        (["--exclude", "0-3"], 2, "every feature is excluded"),
        (["--exclude", "a"], 2, "not a feature number"),
        (["--lower-limits", "0.5"], 2, "must be <= 0"),
        (["--lower-limits", "/low_bad"], 3, "--lower-limits (dataset '/low_bad'): feature 1 (0-based) has 0.500000"),
        (["--lower-limits", "/low_short"], 3, "--lower-limits (dataset '/low_short'): 3 values for 4 features"),
        (["--upper-limits", "-1"], 2, "must be >= 0"),
        (["--positive", "--lower-limits", "-1"], 2, "one or the other"),
        (["--penalty", "l21", "--upper-limits", "1"], 2, "--upper-limits: bounds (and --positive"),
        (["--penalty", "l21", "--positive"], 2, "--positive, which is --lower-limits 0"),
        (["--offset-dataset", "/offset_short"], 3, "must have one row per row of X (50)"),
        (["--offset-dataset", "/offset_wide"], 3, "has shape (50, 3); its 3 columns are not the 1 target(s) of y"),
        (["--offset-dataset", "/offset_nan"], 3, "(the offset) contains NaN or Inf at row 30"),
        (["--offset-dataset", "/missing_offset"], 3, "/missing_offset"),
        (["--weights-dataset", "/w_negative"], 3, "holds -0.500000 at row 20 (0-based); weights must be finite and >= 0"),
        (["--weights-dataset", "/w_inf"], 3, "holds NaN or Inf at row 40"),
        (["--weights-dataset", "/w_zero"], 3, "weights (--weights-dataset) of these rows sum to zero"),
        (["--weights-dataset", "/w_short"], 3, "must hold one weight per row of X (50)"),
        (["--weights-dataset", "/w_matrix"], 3, "must hold one weight per row of X (50)"),
        (["--weights-dataset", "/missing_w"], 3, "/missing_w"),
    ]
    # --relax and --gamma (the command is path or cv: the first item names it).
    cases += [
        (["path", "--relax", "--penalty", "l2"], 2, "--relax: a penalty without an l1 part"),
        (["cv", "--relax", "--gamma", "0,1.5"], 2, "--gamma: 1.5 is outside [0, 1]"),
        (["cv", "--gamma", "0.5"], 2, "--gamma: needs --relax"),
    ]
    failures = expect_refusals(cadmm, ranks, data, out, cases)
    # predict --weights-dataset with weights that sum to zero has no MSE: refused, nothing written.
    model = os.path.join(work, f"terms_bad_model_np{ranks}.h5")
    run_cadmm(cadmm, ranks, ["solve", "--data", data, "--output", model, "--quiet"])
    if os.path.exists(out):
        os.remove(out)
    rc, _, se = run_cadmm(cadmm, ranks, ["predict", "--model", model, "--data", data, "--weights-dataset", "/w_zero",
                                         "--output", out], expect=None)
    if rc != 3 or "sum to zero" not in se or os.path.exists(out):
        failures.append(f"predict with zero weights: exit {rc}, {se.strip()!r}")
    # glmnet's rule: a penalty factor of inf excludes its feature (and counts as 1): the fit of --exclude 1.
    fits = []
    for extra in (["--penalty-factor-dataset", "/pf_inf"], ["--exclude", "1"]):
        run_cadmm(cadmm, ranks, ["solve", "--data", data, "--lambda", "0.01", "--output", out, "--quiet"] + extra)
        with h5py.File(out, "r") as f:
            fits.append(f["coef"][()])
    if not np.array_equal(fits[0], fits[1]) or fits[0][1] != 0:
        failures.append(f"penalty factor inf: {fits[0]} is not the fit of --exclude 1, {fits[1]}")
    return failures


def relax_collinear(cadmm, ranks, work):
    """Relaxed fits on kept features that are collinear (a column and its copy, which an elastic net keeps both of):
    the minimum-norm least squares (numpy.linalg.lstsq), not a Cholesky of a singular block."""
    rng = np.random.default_rng(8)
    n = 200
    X = rng.standard_normal((n, 6))
    X = np.hstack([X, X[:, [2]]])  # feature 6 is feature 2 again
    y = X[:, :3] @ np.array([1.5, -2.0, 1.0]) + 0.3 * rng.standard_normal(n)
    data = os.path.join(work, f"terms_relax_collinear_np{ranks}.h5")
    write_data(data, X, y, False, {})
    out = data[:-3] + ".out.h5"
    run_cadmm(cadmm, ranks, ["path", "--data", data, "--penalty", "elasticnet", "--l1-ratio", "0.5", "--n-lambda", "10",
                             "--relax", "--output", out, "--quiet"])
    failures = []
    with h5py.File(out, "r") as r:
        coefs, relaxed, rb = r["path/coef"][()], r["path/relaxed/coef"][()], r["path/relaxed/intercept"][()]
    Xc, yc = X - X.mean(0), y - y.mean()
    worst = 0.0
    for i in range(len(coefs)):
        kept = np.flatnonzero(coefs[i] != 0)
        ref = np.zeros(X.shape[1])
        if len(kept):
            ref[kept] = np.linalg.lstsq(Xc[:, kept], yc, rcond=None)[0]
        worst = max(worst, np.abs(relaxed[i] - ref).max() / max(np.abs(ref).max(), 1e-12))
    both = np.flatnonzero((coefs[:, 2] != 0) & (coefs[:, 6] != 0))
    print(f"relax_collinear np={ranks}: {len(both)} fits keep both copies; relaxed vs min-norm least squares {worst:.2e}")
    if len(both) == 0:
        failures.append("no fit keeps both copies: the case tests nothing")
    if worst > 1e-8 or not np.isfinite(rb).all():
        failures.append(f"relaxed fits of collinear sets differ from the minimum-norm least squares by {worst:.2e}")
    return failures


def main():
    cadmm, case, ranks, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    form = sys.argv[5] if len(sys.argv) > 5 else ""
    cg = form == "cg"
    sparse = cg or form == "sparse"
    os.makedirs(work, exist_ok=True)
    if case == "sklearn_positive":
        failures = sklearn_positive(cadmm, ranks, work)
    elif case == "bad":
        failures = bad_inputs(cadmm, ranks, work)
    elif case in ("cv", "cv_offset", "cv_weights"):
        failures = cv_case(cadmm, ranks, work, case, form)
    elif case == "relax_collinear":
        failures = relax_collinear(cadmm, ranks, work)
    elif case == "cv_relax":
        failures = cv_relax(cadmm, ranks, work)
    elif case.startswith("relax_"):
        failures = relax_case(cadmm, case, ranks, work, sparse)
    else:
        failures = glmnet_case(cadmm, case, ranks, work, sparse, cg)
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
