#!/usr/bin/env python3
"""End-to-end behaviour of the cadmm command line: help, exit codes, error messages, atomic output,
parallel generation, configs. Usage: test_behaviour.py CADMM WORKDIR REPO_ROOT
"""
import glob
import os
import shutil
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from harness import CADMM, REPO, WORK, cadmm, expect_error, main, path, small, test, write  # noqa: E402
from mpirun import run_cadmm  # noqa: E402


@test
def help_and_version():
    _, out, _ = cadmm(1, "--help")
    assert "solve" in out and "generate" in out and "Exit codes" in out
    _, out, _ = cadmm(1, "solve", "--help")
    for opt in ["--penalty", "--lambda-ratio", "--l1-ratio", "--standardize", "--config", "--output", "--max-iter"]:
        assert opt in out, opt
    _, out, _ = cadmm(1, "--version")
    assert out.startswith("cadmm ")
    cadmm(1, expect=2)


@test
def usage_errors_exit_2():
    X, y = small()
    data = write("ok.h5", X, y)
    expect_error(1, 2, "--no-such", "solve", "--data", data, "--no-such", "1")
    expect_error(2, 2, "--penalty", "solve", "--data", data, "--penalty", "lasso3")
    expect_error(2, 2, "--lambda", "solve", "--data", data, "--lambda", "-2")
    expect_error(1, 2, "--data", "solve")
    expect_error(1, 2, "frobnicate", "frobnicate")
    expect_error(1, 2, "--config", "solve", "--data", data, "--config", path("missing.ini"))


@test
def a_config_that_is_not_an_ini_file_is_a_usage_error_naming_it():
    # Found by fuzz_options: a directory given to --config ended in "internal error ... Is a directory" and
    # MPI_ABORT with exit 1. A directory, a file that is not text (NUL, random bytes) and one too large are usage
    # errors (exit 2) naming the file, printed once at any rank count; each run bounded by run_cadmm's timeout.
    for ranks in (1, 2):
        expect_error(ranks, 2, "--config '/tmp': is a directory", "solve", "--config", "/tmp")
    with open(path("nul.ini"), "wb") as f:
        f.write(b"data = a\0b.h5\n")
    expect_error(1, 2, f"--config '{path('nul.ini')}': not a text file", "solve", "--config", path("nul.ini"))
    with open(path("binary.ini"), "wb") as f:
        f.write(bytes(range(256)) * 4)
    expect_error(1, 2, f"--config '{path('binary.ini')}': not a text file", "solve", "--config", path("binary.ini"))
    expect_error(1, 2, "--config '/dev/zero'", "solve", "--config", "/dev/zero")
    # A line Boost cannot parse: its message, with the file named.
    with open(path("garbled.ini"), "w") as f:
        f.write("no equals sign here\n")
    expect_error(1, 2, f"--config '{path('garbled.ini')}'", "solve", "--config", path("garbled.ini"))


@test
def data_errors_exit_3_and_name_the_problem():
    X, y = small()
    good = write("ok.h5", X, y)
    expect_error(3, 3, "missing.h5", "solve", "--data", path("missing.h5"))
    expect_error(3, 3, "'/Z'", "solve", "--data", good, "--x-dataset", "/Z")
    expect_error(1, 3, "rows", "solve", "--data", write("mismatch.h5", X, y[:-1]))
    expect_error(1, 3, "type", "solve", "--data", write("int.h5", X.astype(np.int64), y))
    expect_error(1, 3, "empty", "solve", "--data", write("empty.h5", np.zeros((0, 5)), np.zeros(0)))
    Xn = X.copy()
    Xn[47, 2] = np.nan
    for ranks in (1, 3):
        err = expect_error(ranks, 3, "contains NaN or Inf at row 47 (0-based, column 2)", "solve", "--data",
                           write("nan.h5", Xn, y))
        if ranks == 3:
            assert "rank 2" in err, err  # rows 40..59 belong to rank 2 of 3
    yi = y.copy()
    yi[5] = np.inf
    expect_error(2, 3, "contains NaN or Inf at row 5 (0-based)", "solve", "--data", write("inf.h5", X, yi))
    with open(path("text.h5"), "w") as f:
        f.write("not hdf5")
    expect_error(1, 3, "HDF5", "solve", "--data", path("text.h5"))
    # Text given where HDF5 belongs names the conversion; a dataset that is not there lists what the file holds; a
    # CSC matrix (AnnData after scanpy) is named with the one-line fix.
    np.savetxt(path("table.csv"), np.c_[X, y], delimiter=",")
    expect_error(2, 3, "looks like CSV text: convert it first, cadmm convert --input " + path("table.csv") + " --format csv",
                 "solve", "--data", path("table.csv"))
    with open(path("rows.svm"), "w") as f:
        f.write("1 1:0.5 3:2\n0 2:1\n")
    expect_error(1, 3, "looks like LIBSVM text", "solve", "--data", path("rows.svm"))
    expect_error(2, 3, "dataset '/target' in '" + good + "' does not exist (the file holds /X, /y)", "solve", "--data", good,
                 "--y-dataset", "/target")
    with h5py.File(path("csc.h5"), "w") as f:
        g = f.create_group("X")
        g.attrs["encoding-type"], g.attrs["shape"] = "csc_matrix", [40, 5]
        g["data"], g["indices"], g["indptr"] = np.ones(3), np.array([0, 1, 2]), np.array([0, 1, 2, 3, 3, 3])
        f["y"] = np.ones(40)
    expect_error(1, 3, "is a CSC sparse matrix (AnnData csc_matrix); cadmm reads CSR", "solve", "--data", path("csc.h5"))


@test
def a_plan_that_cannot_fit_in_memory_is_refused_before_reading():
    # 60,000 x 60,000 float64 (29 GB) declared but never written: HDF5 allocates it lazily.
    p = path("huge.h5")
    with h5py.File(p, "w") as f:
        f.create_dataset("X", shape=(60000, 60000), dtype="f8")
        f["y"] = np.zeros(60000)
    expect_error(2, 2, "GiB", "solve", "--data", p, "--output", path("huge_out.h5"))
    os.remove(p)


@test
def a_file_that_only_some_ranks_see_fails_everywhere_without_hanging():
    # As with a node-local path: rank 1 is given a file that does not exist, the others a good one.
    X, y = small()
    good = write("ok.h5", X, y)
    wrapper = path("per_rank.sh")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nif [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then d=%s; else d=%s; fi\nexec "$@" --data "$d"\n'
                % (path("node_local.h5"), good))
    os.chmod(wrapper, 0o755)
    _, _, err = run_cadmm(wrapper, 3, [CADMM, "solve", "--output", path("x.h5")], expect=3)
    assert "node_local.h5" in err and "(rank 1)" in err and err.count("cadmm: error") == 1, err


@test
def failed_run_leaves_existing_output_intact():
    X, y = small()
    Xn = X.copy()
    Xn[3, 0] = np.nan
    out = path("keep.h5")
    with open(out, "wb") as f:
        f.write(b"precious")
    cadmm(2, "solve", "--data", write("nan2.h5", Xn, y), "--output", out, expect=3)
    with open(out, "rb") as f:
        assert f.read() == b"precious"
    expect_error(2, 2, "does not exist", "solve", "--data", write("ok.h5", X, y), "--output", "/nonexistent-dir/x.h5")
    data = write("ok.h5", X, y)
    expect_error(1, 2, "input file", "solve", "--data", data, "--output", data)
    with h5py.File(data) as f:
        assert f["X"].shape == X.shape  # untouched
    assert not glob.glob(path("*.tmp-*")), glob.glob(path("*.tmp-*"))


@test
def a_working_set_stopped_at_max_iter_reports_the_full_problems_gap():
    """The screened form solves a working set; stopped by --max-iter inside its first set, it reported the set's gap
    (4.6e-5 here) as the answer's, with 'every feature KKT-checked', while the objective was far above the optimum
    (found by a new-user trial). The gap stored must bound the objective's error: checked against scikit-learn."""
    from sklearn.linear_model import Lasso
    data, out = path("ws_mi.h5"), path("ws_mi_out.h5")
    cadmm(2, "generate", "--rows", 1500, "--features", 600, "--seed", 1, "--output", data, "--quiet")
    _, printed, _ = cadmm(2, "solve", "--data", data, "--lambda-ratio", 0.05, "--max-iter", 10, "--local-solver",
                          "screened", "--output", out)
    assert "stopped before the features left out were checked" in printed, printed
    with h5py.File(data) as f:
        X, y = f["X"][()], f["y"][()]
    with h5py.File(out) as f:
        lam, objective, gap = f.attrs["lambda"], f.attrs["objective"], f.attrs["duality_gap"]
        assert f.attrs["status"] == "max_iter"
    ref = Lasso(alpha=lam, tol=1e-12, max_iter=100000).fit(X, y)
    optimum = 0.5 * np.mean((y - X @ ref.coef_ - ref.intercept_) ** 2) + lam * np.abs(ref.coef_).sum()
    assert objective - optimum > 1e-3 * optimum, (objective, optimum)  # the case: far from the optimum
    assert gap >= objective - optimum, (gap, objective, optimum)


@test
def the_reported_gap_bounds_the_true_one_on_sparse_data_with_many_nonzeros():
    """The duality gap counted an excess of the dual norm within a rounding bound (8 eps (2 ||z||_1 + ...)) as none: a
    worst case that, with thousands of nonzeros, passed real excesses of 1e-11 to 1e-9 of lambda. On these sets cadmm
    reported 0 where the gap of its answer is 4e-11 (l21) to 2e-10 (lasso, above --gap-tol 1e-10) of the objective
    (found by checking paths against scikit-learn). The gap is recomputed here with SciPy from the written coefficients
    (the dual point c R, c = min(1, lambda / max_j ||X_j^T R|| / n), the norm of the penalty's dual): it must not
    exceed the reported one, nor the tolerance, for the ADMM iterations and the coordinate descent of the sparse form
    (the dense forms' polish solves these sets to rounding), the lasso and the multi-task (l21) penalty."""
    import scipy.sparse as sp
    out = path("gap_csr_out.h5")
    for targets, penalty in ((1, "l1"), (3, "l21")):
        data = path(f"gap_csr_{targets}.h5")
        cadmm(2, "generate", "--rows", 10000, "--features", 5000, "--nnz-per-row", 30, "--targets", targets, "--seed",
              2, "--output", data, "--quiet")
        with h5py.File(data) as f:
            X = sp.csr_matrix((f["X/data"][()], f["X/indices"][()], f["X/indptr"][()]))
            Y = f["y"][()].reshape(X.shape[0], -1)
        n = X.shape[0]
        mu, Yc = np.asarray(X.mean(axis=0)).ravel(), Y - Y.mean(axis=0)

        def true_gap(b, lam):
            b = b.reshape(-1, targets)
            r = Yc - (X @ b - mu @ b)
            g = (X.T @ r - np.outer(mu, r.sum(axis=0))) / n
            rows = np.linalg.norm if penalty == "l21" else (lambda v, axis: np.abs(v).max(axis=axis))
            primal = 0.5 * (r * r).sum() / n + lam * (rows(b, axis=1).sum() if penalty == "l21" else np.abs(b).sum())
            c = min(1.0, lam / rows(g, axis=1).max())
            return primal - (c * (r * Yc).sum() / n - 0.5 * c * c * (r * r).sum() / n), primal

        runs = [(ranks, args) for ranks in (1, 2) for args in (("solve", "--lambda-ratio", 1e-2),
                                                               ("path", "--n-lambda", 30, "--lambda-min-ratio", 1e-2))]
        for ranks, args in (runs if targets == 1 else runs[-1:]):
            cadmm(ranks, *args, "--data", data, "--penalty", penalty, "--output", out, "--quiet")
            with h5py.File(out) as f:
                if "path" in f:
                    fits = zip(f["path/coef"][()], f["path/lambda"][()], f["path/duality_gap"][()])
                else:
                    fits = [(f["coef"][()], f.attrs["lambda"], f.attrs["duality_gap"])]
                for b, lam, reported in fits:
                    gap, objective = true_gap(b, lam)
                    assert gap <= reported + 1e-12 * objective, (penalty, ranks, args, lam, gap, reported, objective)
                    assert gap <= 1e-10 * objective, (penalty, ranks, args, lam, gap, objective)


@test
def a_bounded_wide_path_with_unpenalized_features_converges_at_every_lambda():
    """With --positive and unpenalized features on wide dense data, the last lambdas' supports near the row count and
    their bounded patterns' blocks are singular: working-set ADMM could not polish them and crept to --max-iter (a user's
    700 x 7,000 R table: 140 s on one lambda; here one lambda at 20,000 iterations). A bounded path now runs coordinate
    descent on the rows' columns first. Every lambda must converge, and its KKT conditions hold, checked with NumPy
    from the written coefficients: g_j = X_j^T R / n equals lambda pf_j where w_j > 0 and is at most that where w_j = 0."""
    data, out = path("bounded_wide.h5"), path("bounded_wide_out.h5")
    cadmm(1, "generate", "--rows", 300, "--features", 3000, "--seed", 4, "--output", data, "--quiet")
    d = 3000
    pf = np.ones(d)
    pf[:5] = 0
    with h5py.File(data, "a") as f:
        f["pf"] = pf
        X, y = f["X"][()], f["y"][()]
    pf = pf * d / pf.sum()  # rescaled to sum to d, as glmnet's
    Xc, yc, n = X - X.mean(axis=0), y - y.mean(), X.shape[0]
    scale = np.abs(Xc.T @ yc).max() / n
    for ranks in (1, 2):
        cadmm(ranks, "path", "--data", data, "--penalty-factor-dataset", "/pf", "--positive", "--lambda-min-ratio",
              1e-5, "--n-lambda", 50, "--output", out, "--quiet")
        with h5py.File(out) as f:
            assert f["path/converged"][()].all(), (ranks, np.flatnonzero(~f["path/converged"][()].astype(bool)))
            lambdas, coefs = f["path/lambda"][()], f["path/coef"][()]
        for lam, w in zip(lambdas, coefs):
            assert (w >= 0).all()
            g = Xc.T @ (yc - Xc @ w) / n
            active = w > 0
            assert np.abs(g[active] - lam * pf[active]).max(initial=0) <= 1e-6 * scale, (ranks, lam)
            assert (g[~active] - lam * pf[~active]).max(initial=0) <= 1e-6 * scale, (ranks, lam)


@test
def lambdas_near_zero_converge_to_least_squares():
    """Near lambda = 0 the gradient's rounding alone lifts its dual norm above lambda, and the dual point scaled back
    to feasibility left a gap (2e-6 at lambda 1e-12 on 10,000 x 3,000) that no iterate could close: solves and paths
    ran to --max-iter (250 s there). They now converge within a few dozen iterations, to NumPy's least squares with an
    intercept, dense and sparse (the cg form's coordinate descent too), on 1 and 2 ranks."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 40))
    X[:, 1] += 0.8 * X[:, 0]
    y = X @ rng.standard_normal(40) + rng.standard_normal(300)
    dense = write("near0.h5", X, y)
    S = rng.standard_normal((400, 60)) * (rng.random((400, 60)) < 0.2)
    ys = S @ rng.standard_normal(60) + 0.1 * rng.standard_normal(400)
    sparse = path("near0_csr.h5")
    with h5py.File(sparse, "w") as f:
        g = f.create_group("X")
        g.attrs["encoding-type"] = "csr_matrix"
        g.attrs["shape"] = S.shape
        rows, cols = np.nonzero(S)
        g["data"], g["indices"] = S[rows, cols], cols.astype(np.int32)
        g["indptr"] = np.searchsorted(rows, np.arange(S.shape[0] + 1)).astype(np.int64)
        f["y"] = ys
    out = path("near0_out.h5")
    for data, A, b, forms in ((dense, X, y, ["auto"]), (sparse, S, ys, ["auto", "cg"])):
        ols = np.linalg.lstsq(np.c_[A, np.ones(len(b))], b, rcond=None)[0]
        runs = [(ranks, "solve", "--lambda", lam) for ranks in (1, 2) for lam in (1e-13, 1e-15)]
        runs.append((2, "path", "--lambda-min-ratio", 1e-13, "--n-lambda", 30))
        for form in forms:
            for ranks, *args in runs:
                cadmm(ranks, *args, "--data", data, "--local-solver", form, "--max-iter", 3000, "--output", out,
                      "--quiet")
                with h5py.File(out) as r:
                    what = (data, form, ranks, args, r.attrs["status"], r.attrs["iterations"])
                    assert r.attrs["status"] == "converged" and r.attrs["iterations"] < 100, what
                    assert np.abs(r["coef"][()] - ols[:-1]).max() <= 1e-9 * np.abs(ols).max(), what
                    assert abs(r["intercept"][()] - ols[-1]) <= 1e-9 * np.abs(ols).max(), what
    # With bounds and unpenalized features the dual point's conjugate has terms of its own: certified at the answer of
    # SciPy's bounded least squares (NNLS, BVLS) and NumPy's, on centred data (the intercept is free).
    from scipy.optimize import lsq_linear, nnls
    with h5py.File(dense, "a") as f:
        f["pf"] = np.r_[0.0, 0.0, np.ones(38)]
    Xc, yc = X - X.mean(0), y - y.mean()
    for extra, ref in ((["--positive"], nnls(Xc, yc)[0]),
                       (["--lower-limits", -0.5, "--upper-limits", 0.5],
                        lsq_linear(Xc, yc, bounds=(-0.5, 0.5), method="bvls", tol=1e-15).x),
                       (["--penalty-factor-dataset", "/pf"], np.linalg.lstsq(Xc, yc, rcond=None)[0])):
        cadmm(2, "solve", "--data", dense, "--lambda", 1e-13, "--max-iter", 3000, *extra, "--output", out, "--quiet")
        with h5py.File(out) as r:
            what = (extra, r.attrs["status"], r.attrs["iterations"])
            assert r.attrs["status"] == "converged" and r.attrs["iterations"] < 100, what
            assert np.abs(r["coef"][()] - ref).max() <= 1e-9 * np.abs(ref).max(), what


@test
def max_iter_is_status_with_warning_and_exit_0():
    X, y = small(200, 8)
    out = path("maxiter.h5")
    _, _, err = cadmm(2, "solve", "--data", write("ok.h5", X, y), "--max-iter", 3, "--output", out, "--quiet")
    assert "max-iter" in err, err
    with h5py.File(out) as f:
        assert f.attrs["status"] == "max_iter" and f.attrs["converged"] == 0 and f.attrs["iterations"] == 3


def progress_reaches(p, index, seconds=60):
    """Reads a running path's progress lines (p: its Popen) until lambda `index` is printed; False when its output
    ends or `seconds` pass first."""
    deadline, at = time.time() + seconds, -1
    while at < index and time.time() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        words = line.split()
        at = int(words[0]) if words and words[0].isdigit() else at
    return at >= index


def run_until_signalled(data, out, extra, command="solve", ready=None):
    """Starts a run that cannot converge, sends SIGTERM to mpirun once ready(stdout line) held (by default: two
    progress rows, i.e. the ranks iterate), as Slurm does at the time limit (mpirun forwards it); returns
    (exit code, stderr)."""
    import signal
    import time
    from mpirun import started
    cmd = ["mpirun", "--timeout", "60", "-np", "2", CADMM, command, "--data", data, "--output", out,
           "--abs-tol", "0", "--rel-tol", "1e-300", "--gap-tol", "0", "--anderson-memory", "0", "--polish", "false",
           "--max-iter", "2000000000", "--progress-seconds", "0.2"] + extra
    rows = [0]

    def two_rows(line):
        rows[0] += line.split()[0].isdigit() if line.split() else 0
        return rows[0] >= 2

    ready = ready or two_rows
    with started(cmd) as p:
        # Signal only once the ranks are at work (a busy machine may take long to start them).
        deadline = time.time() + 60
        at_work = False
        while not at_work and time.time() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            at_work = ready(line)
        assert at_work, "the run never started iterating"
        time.sleep(0.3)
        os.kill(p.pid, signal.SIGTERM)
        _, err = p.communicate(timeout=30)
    return p.returncode, err


@test
def sigterm_stops_path_and_cv_on_every_rank():
    X, y = small(4000, 100)
    data, out = write("sig_pc.h5", X, y), path("sig_pc_out.h5")
    # The first lambda is above lambda_max (done at once), the second cannot converge with these tolerances.
    code, err = run_until_signalled(data, out, ["--lambdas", "1e6,1e-3"], "path",
                                    ready=lambda line: line.split()[:1] == ["0"])
    assert code == 1 and "interrupted" in err and err.count("cadmm: error") == 1, (code, err)
    code, err = run_until_signalled(data, out, ["--lambdas", "1e6,1e-3"], "cv",
                                    ready=lambda line: line.startswith("cadmm cv:"))
    assert code == 1 and "interrupted" in err and err.count("cadmm: error") == 1, (code, err)
    assert not os.path.exists(out)


@test
def sigterm_stops_a_long_read_and_absurd_shapes_are_refused():
    X, y = small(1_000_000, 4)
    data = write("slow_read.h5", X, y)
    # One row per read block (32 bytes) makes the read take seconds; the signal must end it, not wait for the loop.
    code, err = run_until_signalled(data, path("slow_out.h5"), ["--read-buffer-mb", "0.00003"], "solve",
                                    ready=lambda line: line.startswith("reading "))
    assert code == 1 and "while reading" in err and err.count("cadmm: error") == 1, (code, err)
    assert not os.path.exists(path("slow_out.h5"))
    # Two signals 50 ms apart (Ctrl-C reaching the process, then mpirun's SIGTERM) print the line once: the second
    # came while the first's handler lingered, entered it again and printed it twice.
    import signal
    from mpirun import started
    with started([CADMM, "solve", "--data", data, "--output", path("slow_out.h5"), "--read-buffer-mb",
                  "0.00003"]) as p:
        deadline, line = time.time() + 60, "?"
        while line and not line.startswith("reading ") and time.time() < deadline:
            line = p.stdout.readline()  # "" at the end: the run ended before reading
        assert line.startswith("reading "), "the run never started reading"
        p.send_signal(signal.SIGINT)
        time.sleep(0.05)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
    assert p.returncode == 1 and err.count("cadmm: error") == 1, (p.returncode, err)
    absurd = path("absurd.h5")
    with h5py.File(absurd, "w") as f:  # metadata only: 10^15 rows, nothing stored
        f.create_dataset("X", shape=(10**15, 10), dtype="f8", chunks=(1024, 10))
        f.create_dataset("y", shape=(10**15,), dtype="f8", chunks=(1024,))
    expect_error(2, 3, "not believable", "solve", "--data", absurd, "--output", path("absurd_out.h5"))


@test
def sigterm_in_one_long_block_of_the_read_ends_the_run_at_once_saying_so():
    # One read block of wide rows (12,000 x 4,000 in one block) takes some 2 s of Gram products, and mpirun kills the
    # ranks one second after passing Ctrl-C on as SIGTERM. The ranks went on to the end of the block, were killed,
    # and the run ended with exit 1 and no message; now they leave at once, rank 0 saying why.
    data = path("wide_read.h5")
    cadmm(2, "generate", "--rows", 12000, "--features", 4000, "--float32", "--seed", 2, "--output", data, "--quiet")
    try:
        code, err = run_until_signalled(data, path("wide_out.h5"),
                                        ["--read-buffer-mb", "400", "--local-solver", "gram"], "solve",
                                        ready=lambda line: line.startswith("reading "))
        assert code == 1 and "while reading" in err and err.count("cadmm: error") == 1, (code, err)
        assert not os.path.exists(path("wide_out.h5"))
    finally:
        os.remove(data)


@test
def sigterm_between_lambdas_of_a_coordinate_descent_path_checkpoints_and_resumes_bit_for_bit():
    """A sparse path in the cg form runs no ADMM iteration (coordinate descent solves every lambda): on one rank with
    the columns and secant it keeps from lambda to lambda, on 2 side by side (each rank fitting every other lambda
    alone). The signal stops the lambda in its sweeps, the path saves the finished lambdas, and its resume ends with
    the uninterrupted run's fits, bit for bit; a run without checkpoint gives the same fits to the solver's
    tolerance. After kill -9 the checkpoint taken between lambdas resumes bit for bit too."""
    import signal
    import time
    from mpirun import started
    data = path("cd_sig.h5")
    cadmm(2, "generate", "--rows", 60000, "--features", 20000, "--nnz-per-row", 25, "--seed", 4, "--output", data,
          "--quiet")
    common = ["path", "--data", data, "--local-solver", "cg", "--n-lambda", 60, "--lambda-min-ratio", 1e-2]
    for ranks in (1, 2):
        ck, out = path(f"cd_sig_ck{ranks}.h5"), path(f"cd_sig_out{ranks}.h5")
        for stale in (ck, ck + ".prev", out):
            if os.path.exists(stale):
                os.remove(stale)
        cmd = ["mpirun", "--timeout", "120", "-np", str(ranks), CADMM] + [str(a) for a in common] + [
            "--checkpoint", ck, "--output", out]
        with started(cmd) as p:
            # A third of the lambdas done: the slower ones are to come.
            assert progress_reaches(p, 20), "the path never reached its 21st lambda"
            os.kill(p.pid, signal.SIGTERM)
            printed, err = p.communicate(timeout=60)
        assert p.returncode == 1 and "state saved" in err and err.count("cadmm: error") == 1, (p.returncode, err)
        assert os.path.exists(ck) and not os.path.exists(out)
        with h5py.File(ck) as f:  # path_done starts with the number of finished fits
            assert 21 <= int(f["path_done"][0]) < 60, f"the checkpoint holds {f['path_done'][0]} finished lambdas"
        _, printed, _ = cadmm(ranks, *common, "--checkpoint", ck, "--resume", "--output", out)
        assert "0 ADMM iterations in all" in printed and "by coordinate descent" in printed, printed
        assert ("side by side" in printed) == (ranks > 1), printed
        whole, plain = path(f"cd_sig_whole{ranks}.h5"), path(f"cd_sig_plain{ranks}.h5")
        cadmm(ranks, *common, "--checkpoint", path(f"cd_sig_ck{ranks}_2.h5"), "--output", whole, "--quiet")
        cadmm(ranks, *common, "--output", plain, "--quiet")
        with h5py.File(out) as r, h5py.File(whole) as w, h5py.File(plain) as u:
            assert np.array_equal(r["path/coef"][()], w["path/coef"][()]), ranks
            assert np.array_equal(r["path/intercept"][()], w["path/intercept"][()]), ranks
            # Without a checkpoint a lambda may start from what the one before it kept: the same fits to the
            # solver's tolerance.
            c, ref = w["path/coef"][()], u["path/coef"][()]
            assert np.abs(c - ref).max() < 1e-6 * np.abs(ref).max(), (ranks, np.abs(c - ref).max())
        # kill -9 gives no chance to save: what is left is the checkpoint taken between lambdas once
        # --checkpoint-every sweeps had passed (before, a path of coordinate descent was saved only when stopped).
        killed = path(f"cd_kill_ck{ranks}.h5")
        for stale in (killed, killed + ".prev", out):
            if os.path.exists(stale):
                os.remove(stale)
        cmd = ["mpirun", "--timeout", "120", "-np", str(ranks), CADMM] + [str(a) for a in common] + [
            "--checkpoint", killed, "--checkpoint-every", 50, "--output", out]
        with started(cmd) as p:
            assert progress_reaches(p, 40), "the path never reached its 41st lambda"
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate(timeout=60)
        with h5py.File(killed) as f:
            assert 1 <= int(f["path_done"][0]) < 60, f"the checkpoint holds {f['path_done'][0]} finished lambdas"
        cadmm(ranks, *common, "--checkpoint", killed, "--checkpoint-every", 50, "--resume", "--output", out, "--quiet")
        with h5py.File(out) as r, h5py.File(whole) as w:
            assert np.array_equal(r["path/coef"][()], w["path/coef"][()]), ranks


@test
def sigterm_stops_every_rank_with_exit_1_and_keeps_a_checkpoint_when_asked():
    X, y = small(4000, 100)
    data, out = write("sig.h5", X, y), path("sig_out.h5")
    code, err = run_until_signalled(data, out, [])
    assert code == 1 and "interrupted" in err and "--checkpoint" in err, (code, err)
    assert not os.path.exists(out)
    ck = path("sig_ck.h5")
    code, err = run_until_signalled(data, out, ["--checkpoint", ck])
    assert code == 1 and "state saved" in err and os.path.exists(ck), (code, err)
    assert not os.path.exists(out)
    with h5py.File(ck) as f:
        assert f.attrs["iteration"] > 0 and len(f["history"]) == f.attrs["iteration"]
    # The tolerances are not part of the problem: resume with the defaults and finish (the iteration cap counts
    # the interrupted run's iterations too, which may be past the default already).
    cadmm(2, "solve", "--data", data, "--checkpoint", ck, "--resume", "--output", out, "--quiet",
          "--max-iter", 2000000000)
    cadmm(1, "solve", "--data", data, "--output", path("sig_fresh.h5"), "--quiet")
    with h5py.File(out) as r, h5py.File(path("sig_fresh.h5")) as f:
        assert r.attrs["status"] == "converged"
        assert np.abs(r["coef"][()] - f["coef"][()]).max() < 1e-6 * np.abs(f["coef"][()]).max()


@test
def checkpoint_and_resume_give_the_uninterrupted_answer():
    X, y = small(90, 400, seed=3)  # wide: takes a few hundred iterations
    data = write("ck_data.h5", X, y)
    common = ["solve", "--data", data, "--penalty", "elasticnet", "--lambda-ratio", "0.02", "--quiet"]
    cadmm(1, *common, "--output", path("ck_fresh.h5"))
    ck = path("ck.h5")
    cadmm(2, *common, "--max-iter", 25, "--checkpoint", ck, "--checkpoint-every", 10, "--output", path("ck_a.h5"))
    with h5py.File(ck) as f:
        assert f.attrs["iteration"] == 20 and f.attrs["n_ranks"] == 2 and len(f["history"]) == 20
    for ranks in (2, 3):  # same rank count: exact duals; another: z kept, duals restart at zero
        shutil.copy(ck, path("ck_copy.h5"))
        _, _, err = cadmm(ranks, *common, "--checkpoint", path("ck_copy.h5"), "--resume",
                          "--output", path(f"ck_b{ranks}.h5"))
        assert ("dual variables at zero" in err) == (ranks == 3), err
        with h5py.File(path(f"ck_b{ranks}.h5")) as r, h5py.File(path("ck_fresh.h5")) as f:
            assert r.attrs["status"] == "converged" and r.attrs["iterations"] > 20
            assert len(r["history"]) == r.attrs["iterations"] and r["history"]["iteration"][0] == 1
            ref = f["coef"][()]
            assert np.abs(r["coef"][()] - ref).max() < 1e-6 * np.abs(ref).max()
    # A checkpoint of another problem is refused (exit 3), naming what differs; --resume needs --checkpoint.
    expect_error(2, 3, "lambda", "solve", "--data", data, "--penalty", "elasticnet", "--lambda-ratio", "0.03",
                 "--checkpoint", ck, "--resume", "--output", path("x.h5"))
    expect_error(1, 2, "--resume", "solve", "--data", data, "--resume", "--output", path("x.h5"))
    # The working-set forms solve restricted problems, whose state no checkpoint holds: a solve's, the streamed form's
    # and a path's where working sets do not serve (ridge) are refused before any work (a stop inside one failed with
    # an internal error). A path of an l1-type penalty checkpoints them (test_faults).
    for command, *form in (("solve", "screened"), ("path", "streamed"), ("path", "screened", "--penalty", "l2")):
        expect_error(2, 2, "cannot be checkpointed", command, "--data", data, "--local-solver", *form,
                     "--checkpoint", path("ck_ws.h5"), "--output", path("x.h5"))
    # --resume without a checkpoint yet starts from zero (the same batch line serves every submission).
    cadmm(2, *common, "--checkpoint", path("ck_new.h5"), "--resume", "--output", path("ck_c.h5"))


@test
def damaged_checkpoints_are_refused_or_replaced_by_the_previous_one():
    X, y = small(90, 400, seed=3)
    data = write("dmg_data.h5", X, y)
    common = ["solve", "--data", data, "--penalty", "elasticnet", "--lambda-ratio", "0.02", "--quiet"]
    ck = path("dmg.h5")
    for f in (ck, ck + ".prev"):
        if os.path.exists(f):
            os.remove(f)
    cadmm(2, *common, "--max-iter", 25, "--checkpoint", ck, "--checkpoint-every", 10, "--output", path("dmg_a.h5"))
    with h5py.File(ck) as f, h5py.File(ck + ".prev") as g:  # the last (20) and the one before (10)
        assert f.attrs["iteration"] == 20 and g.attrs["iteration"] == 10
        # One bit inside the stored iterate z, inside rank 1's dual, inside the Anderson history.
        offsets = {name: f[name].id.get_offset() + (f[name].shape[-1] * 8 if name.startswith("rank") else 0)
                   for name in ("z", "rank/u", "rank/anderson_dg")}
    good, good_prev = open(ck, "rb").read(), open(ck + ".prev", "rb").read()

    def damage(kind):
        data_ = bytearray(good)
        if kind == "truncate":
            data_ = data_[: len(data_) // 2]
        else:
            data_[offsets[kind] + 3] ^= 0x10
        with open(ck, "wb") as fh:
            fh.write(data_)

    os.rename(ck + ".prev", ck + ".keep")
    for name in offsets:  # each flip, with no previous checkpoint to fall back to, is refused
        damage(name)
        expect_error(2, 3, "checksum", *common, "--checkpoint", ck, "--resume", "--output", path("dmg_out.h5"))
    os.rename(ck + ".keep", ck + ".prev")
    # Not a checkpoint at all (the data file), and a result file given as one: refused naming the file.
    expect_error(2, 3, "not a cadmm checkpoint", *common, "--checkpoint", path("dmg_a.h5"), "--resume",
                 "--output", path("dmg_out.h5"))
    for kind, needle in [("z", "checksum"), ("truncate", "checkpoint")]:
        # Alone: refused with exit 3 naming the file, nothing written.
        damage(kind)
        os.rename(ck + ".prev", ck + ".keep")
        expect_error(2, 3, needle, *common, "--checkpoint", ck, "--resume", "--output", path("dmg_out.h5"))
        assert not os.path.exists(path("dmg_out.h5"))
        # With the previous checkpoint beside it: falls back to it, says so, and finishes.
        os.rename(ck + ".keep", ck + ".prev")
        _, out, err = cadmm(2, *common, "--checkpoint", ck, "--resume", "--output", path("dmg_out.h5"))
        assert "previous checkpoint" in err and ck + ".prev" in err, err
        with h5py.File(path("dmg_out.h5")) as r:
            assert r.attrs["status"] == "converged"
        os.remove(path("dmg_out.h5"))
        with open(ck + ".prev", "wb") as fh:  # restore for the next kind (the run above replaced both)
            fh.write(good_prev)
        with open(ck, "wb") as fh:
            fh.write(good)
    # Both damaged: refused, naming both.
    damage("z")
    with open(ck + ".prev", "wb") as fh:
        fh.write(good_prev[: len(good_prev) // 3])
    err = expect_error(2, 3, "previous one is not usable", *common, "--checkpoint", ck, "--resume", "--output",
                       path("dmg_out.h5"))
    assert "checksum" in err


@test
def lambda_zero_is_least_squares():
    X, y = small(200, 6)
    out = path("ls.h5")
    _, text, _ = cadmm(2, "solve", "--data", write("ok.h5", X, y), "--lambda", 0, "--output", out)
    Xc, yc = X - X.mean(0), y - y.mean()
    ref = np.linalg.lstsq(Xc, yc, rcond=None)[0]
    with h5py.File(out) as f:
        assert f.attrs["status"] == "converged", f.attrs["status"]
        assert np.abs(f["coef"][()] - ref).max() < 1e-6 * np.abs(ref).max()
        # No penalty, no dual certificate: the gap is not reported as if it were one (it was the objective itself,
        # relative gap 1, beside "converged").
        assert np.isnan(f.attrs["duality_gap"]), f.attrs["duality_gap"]
    assert "duality gap none at lambda 0" in text, text
    # In a path, the lambda 0 alone has none; the others keep theirs.
    cadmm(2, "path", "--data", path("ok.h5"), "--lambdas", "1,0.1,0", "--output", path("ls_path.h5"), "--quiet")
    with h5py.File(path("ls_path.h5")) as f:
        gap = f["path/duality_gap"][()]
        assert np.isnan(gap[2]) and (gap[:2] <= 1e-10 * f["path/objective"][:2]).all(), gap
        assert np.abs(f["path/coef"][2] - ref).max() < 1e-6 * np.abs(ref).max()


@test
def nothing_to_fit_is_refused_where_lambdas_are_relative_to_lambda_max():
    # y constant (its centred values rounding noise: lambda_max 3e-32, and 100 lambdas of noise each ran to
    # --max-iter), y zero, X zero: every lambda leaves W = 0, so a ratio or grid of lambda_max is a data error.
    X, y = small(300, 5)
    cases = [("y is constant", X, np.full(300, 0.1)), ("y is constant", X, np.zeros(300)),
             ("no feature is correlated", np.zeros((300, 5)), y)]
    for i, (needle, Xi, yi) in enumerate(cases):
        data = write(f"nothing_{i}.h5", Xi, yi)
        for command in (["path"], ["cv", "--folds", 3], ["solve"]):
            err = expect_error(2, 3, "lambda_max is", *command, "--data", data, "--output", path("nothing.h5"))
            assert needle in err and "--lambdas" in err, err
    assert not os.path.exists(path("nothing.h5"))
    # An absolute lambda is still fitted: W = 0 and the intercept the mean.
    out = path("nothing_abs.h5")
    cadmm(2, "solve", "--data", path("nothing_0.h5"), "--lambda", 0.01, "--output", out, "--quiet")
    with h5py.File(out) as f:
        assert not f["coef"][()].any() and abs(f["intercept"][()] - 0.1) < 1e-15, (f["coef"][()], f["intercept"][()])
    # Without an intercept a constant y is something to fit.
    cadmm(2, "path", "--data", path("nothing_0.h5"), "--fit-intercept", "false", "--n-lambda", 5, "--output", out,
          "--quiet")


@test
def progress_and_summary():
    X, y = small(500, 10)
    _, out, _ = cadmm(2, "solve", "--data", write("ok.h5", X, y), "--output", path("p.h5"))
    for needle in ["iter", "primal r", "cadmm solve: converged", "read", "setup/factor", "iterations",
                   "communication", "write", "objective"]:
        assert needle in out, (needle, out)
    _, out, _ = cadmm(2, "solve", "--data", write("ok.h5", X, y), "--output", path("p.h5"), "--quiet")
    assert out.strip() == "", out


@test
def progress_inside_lambdas_folds_reads_and_generate():
    # A lambda or a fold that runs longer than --progress-seconds says where it is (CADMM_FAULT=slow@1: 1 ms an
    # iteration), one line per event (no carriage returns); so do long reads and generate.
    X, y = small(300, 8)
    data = write("slow.h5", X, y)
    slow = {"CADMM_FAULT": "slow@1"}
    tight = ["--abs-tol", 0, "--rel-tol", 1e-300, "--gap-tol", 0, "--max-iter", 800, "--polish", "false",
             "--progress-seconds", 0.25]
    _, out, _ = cadmm(2, "path", "--data", data, "--n-lambda", 1, *tight, "--output", path("slow_path.h5"), env=slow)
    running = [line for line in out.splitlines() if "running: iteration" in line]
    assert len(running) >= 2 and all(line.split()[0] == "0" for line in running[:1]), out
    _, out, _ = cadmm(2, "cv", "--data", data, "--n-lambda", 1, "--folds", 2, *tight, "--output", path("slow_cv.h5"),
                      env=slow)
    assert any(line.startswith("  fold  1 of 2: lambda 1 of 1, iteration") for line in out.splitlines()), out
    _, out, _ = cadmm(2, "generate", "--rows", 300000, "--features", 100, "--progress-seconds", 0.05,
                      "--output", path("slow_gen.h5"))
    assert "written" in out and "left)" in out, out
    _, out, _ = cadmm(2, "solve", "--data", path("slow_gen.h5"), "--progress-seconds", 0.01, "--read-buffer-mb", 1,
                      "--output", path("slow_gen_out.h5"))
    assert any(line.startswith("  read ") and "rank 0:" in line for line in out.splitlines()), out
    assert "\r" not in out


@test
def config_file_and_command_line_precedence():
    X, y = small(300, 6)
    data = write("ok.h5", X, y)
    ini = path("c.ini")
    with open(ini, "w") as f:
        f.write(f"data = {data}\npenalty = elasticnet\nl1-ratio = 0.3\nlambda = 0.5\noutput = {path('c.h5')}\n")
    cadmm(1, "solve", "--config", ini, "--lambda", "0.2", "--quiet")
    with h5py.File(path("c.h5")) as f:
        assert f.attrs["lambda"] == 0.2 and f.attrs["penalty"] == "elasticnet" and f.attrs["l1_ratio"] == 0.3


@test
def generate_is_the_same_file_at_any_rank_count():
    arrays = []
    for ranks in (1, 3):
        out = path(f"gen{ranks}.h5")
        # 37 features: y's sums over features are long enough that a blocked product's order would show.
        cadmm(ranks, "generate", "--rows", 1001, "--features", 37, "--targets", 2, "--correlation", 0.5,
              "--seed", 9, "--output", out, "--quiet")
        with h5py.File(out) as f:
            arrays.append({k: f[k][()] for k in ("X", "y", "truth", "truth_intercept")})
    for k in arrays[0]:
        assert np.array_equal(arrays[0][k], arrays[1][k]), k
    a = arrays[0]
    assert a["X"].shape == (1001, 37) and a["y"].shape == (1001, 2) and a["truth"].shape == (37, 2)
    # The data follow the stated model: y - X truth - intercept is noise of unit variance.
    noise = a["y"] - a["X"] @ a["truth"] - a["truth_intercept"]
    assert abs(noise.std() - 1) < 0.1 and abs(noise.mean()) < 0.1
    cadmm(2, "generate", "--rows", 50, "--features", 3, "--float32", "--output", path("g32.h5"), "--quiet")
    with h5py.File(path("g32.h5")) as f:
        assert f["X"].dtype == np.float32 and f["y"].ndim == 1
    expect_error(1, 2, "--rows", "generate", "--features", 3, "--output", path("x.h5"))


@test
def sparse_generate_is_the_same_at_any_rank_count():
    import scipy.sparse as sp
    runs = []
    for ranks in (1, 3):
        out = path(f"gens{ranks}.h5")
        cadmm(ranks, "generate", "--rows", 1001, "--features", 300, "--targets", 2, "--nnz-per-row", 7,
              "--correlation", 0.3, "--seed", 4, "--output", out, "--quiet")
        with h5py.File(out) as f:
            runs.append({k: f[k][()] for k in ("X/data", "X/indices", "X/indptr", "y", "truth", "truth_intercept")})
            runs[-1]["attrs"] = dict(f["X"].attrs)
    for k in ("X/data", "X/indices", "X/indptr", "y", "truth"):
        assert runs[0][k].dtype == runs[1][k].dtype and np.array_equal(runs[0][k], runs[1][k]), k
    a = runs[0]
    assert a["attrs"]["encoding-type"] == "csr_matrix" and list(a["attrs"]["shape"]) == [1001, 300]
    X = sp.csr_matrix((a["X/data"], a["X/indices"], a["X/indptr"]), shape=(1001, 300))
    assert X.nnz == 7007 and a["X/indptr"].dtype == np.int64
    assert all(np.all(np.diff(X.indices[X.indptr[i]:X.indptr[i + 1]]) > 0) for i in range(1001))
    noise = a["y"] - X @ a["truth"] - a["truth_intercept"]
    assert abs(noise.std() - 1) < 0.1 and abs(noise.mean()) < 0.1
    cadmm(2, "generate", "--rows", 500, "--features", 40, "--density", 0.1, "--output", path("gd.h5"), "--quiet")
    with h5py.File(path("gd.h5")) as f:
        assert abs(len(f["X/data"]) - 2000) <= 500 and f["X/indptr"][-1] == len(f["X/data"])
    expect_error(1, 2, "--density", "generate", "--rows", 5, "--features", 5, "--density", 2, "--output", path("x.h5"))


def read_csr(f):
    import scipy.sparse as sp
    g = f["X"]
    return sp.csr_matrix((g["data"][()], g["indices"][()], g["indptr"][()]), shape=tuple(g.attrs["shape"]))


@test
def convert_libsvm_and_csv_round_trips():
    from sklearn.datasets import dump_svmlight_file, load_svmlight_file
    import scipy.sparse as sp
    rng = np.random.default_rng(2)
    X = sp.random(300, 25, density=0.2, random_state=3, format="csr")
    y = rng.standard_normal(300)
    src, out = path("in.svm"), path("conv.h5")
    dump_svmlight_file(X, y, src, zero_based=False, comment="made by scikit-learn")
    _, text, _ = cadmm(1, "convert", "--input", src, "--format", "libsvm", "--output", out)
    assert "1-based" in text and "MB/s" in text, text
    Xr, yr = load_svmlight_file(src, n_features=25, zero_based=False)  # an independent parser
    with h5py.File(out) as f:
        Xc = read_csr(f)
        assert Xc.shape == (300, 25) and abs(Xc - Xr).max() == 0 and np.array_equal(f["y"][()], yr)
    # 0-based indices, qid, comments, multi-label lines, CRLF.
    with open(src, "w") as fh:
        fh.write("# header comment\r\n1,3 qid:7 0:1.5 4:-2 # tail\r\n2 1:3e-1\r\n\r\n3 0:1 2:1\r\n")
    cadmm(1, "convert", "--input", src, "--format", "libsvm", "--output", out, "--quiet")
    with h5py.File(out) as f:
        assert np.array_equal(read_csr(f).toarray(), [[1.5, 0, 0, 0, -2], [0, 0.3, 0, 0, 0], [1, 0, 1, 0, 0]])
        assert np.array_equal(f["y"][()], [[1, 0, 1], [0, 1, 0], [0, 0, 1]]) and list(f["y_labels"][()]) == [1, 2, 3]
    # The converted file solves like the original matrix.
    dump_svmlight_file(X, y, src, zero_based=False)
    cadmm(1, "convert", "--input", src, "--format", "libsvm", "--output", out, "--quiet")
    cadmm(2, "solve", "--data", out, "--output", path("conv_fit.h5"), "--quiet")
    # CSV with a header and the target in the first column.
    csv = path("in.csv")
    D = rng.standard_normal((40, 4))
    np.savetxt(csv, D, delimiter=",", header="t,a,b,c", comments="")
    cadmm(1, "convert", "--input", csv, "--format", "csv", "--header", "--target-column", 0, "--output", out, "--quiet")
    with h5py.File(out) as f:
        assert np.array_equal(f["X"][()], D[:, 1:]) and np.array_equal(f["y"][()], D[:, 0])
    # A small file makes a small file (each dataset's chunk was 8 MiB, allocated whole: 16 MiB for 40 rows), and a
    # file of several write blocks (1,048,576 values each) is read back whole.
    assert os.path.getsize(out) < 1 << 20, os.path.getsize(out)
    D = rng.standard_normal((140_000, 9))
    np.savetxt(csv, D, delimiter=",", fmt="%.17g")
    cadmm(1, "convert", "--input", csv, "--format", "csv", "--target-column", 8, "--output", out, "--quiet")
    with h5py.File(out) as f:
        assert np.array_equal(f["X"][()], D[:, :8]) and np.array_equal(f["y"][()], D[:, 8])
        assert f["X"].chunks == (131_072, 8), f["X"].chunks


@test
def convert_refuses_malformed_input_by_line_and_column():
    out = path("bad_conv.h5")
    cases = [("libsvm", "1 1:2 x:3\n", "line 1, column 3"), ("libsvm", "1 1:2\n2 3:1 2:5\n", "line 2, column 3"),
             ("libsvm", "1 1:2\n1 2:abc\n", "line 2, column 2"), ("libsvm", "", "no data"),
             ("libsvm", "one 1:2\n", "line 1, column 1"), ("csv", "1,2,3\n4,5\n", "line 2"),
             ("csv", "1,2\n3,x\n", "line 2, column 2"), ("csv", "", "no data")]
    for fmt, text, needle in cases:
        src = path("bad.txt")
        with open(src, "w") as fh:
            fh.write(text)
        expect_error(1, 3, needle, "convert", "--input", src, "--format", fmt, "--output", out)
        assert not os.path.exists(out) and not glob.glob(out + ".tmp*"), (fmt, text)
    expect_error(1, 3, "cannot be opened", "convert", "--input", path("nope.txt"), "--format", "csv", "--output", out)
    expect_error(1, 2, "--format", "convert", "--input", src, "--format", "arff", "--output", out)


@test
def more_ranks_than_rows():
    X, y = small(3, 4)
    cadmm(4, "solve", "--data", write("three.h5", X, y), "--penalty", "l2", "--lambda", "0.1",
          "--output", path("three_out.h5"), "--quiet")
    with h5py.File(path("three_out.h5")) as f:
        assert f.attrs["status"] == "converged" and f.attrs["n_ranks"] == 4
        Xc, yc = X - X.mean(0), y - y.mean()
        ref = np.linalg.solve(Xc.T @ Xc / 3 + 0.1 * np.eye(4), Xc.T @ yc / 3)
        assert np.abs(f["coef"][()] - ref).max() < 1e-5 * np.abs(ref).max()


@test
def streamed_ranks_beside_other_forms_and_idle_ranks_do_not_hang():
    # Streamed working sets keep the file open; closing it is collective, so ranks in other forms must keep it open
    # too (this hung before: one rank streamed, its neighbour one row short of d in the woodbury form). Both runs
    # are bounded by mpirun's timeout and checked against scikit-learn.
    from sklearn.linear_model import Lasso
    rng = np.random.default_rng(4)
    X = rng.standard_normal((599, 300))
    y = X[:, :20] @ rng.standard_normal(20) + rng.standard_normal(599)
    data = write("mixed_forms.h5", X, y)
    lam = 0.05 * np.abs((X - X.mean(0)).T @ (y - y.mean())).max() / 599
    ref = Lasso(alpha=lam, tol=1e-12, max_iter=100_000).fit(X, y).coef_
    for ranks in (2, 3):  # 2: one rank streamed, one woodbury (299 rows < 300); 3: every rank woodbury
        _, out, _ = cadmm(ranks, "solve", "--data", data, "--lambda", lam, "--output", path("mixed.h5"))
        if ranks == 2:
            assert "1 woodbury, 1 streamed" in out, out
        with h5py.File(path("mixed.h5")) as f:
            err = np.abs(f["coef"][()] - ref).max() / np.abs(ref).max()
            assert err < 1e-5, (ranks, err)
    # More ranks than rows, streamed asked for: the idle rank holds no rows and streams nothing.
    Xs, ys = small(3, 4)
    cadmm(4, "solve", "--data", write("streamed_idle.h5", Xs, ys), "--lambda", "0.01", "--local-solver", "streamed",
          "--output", path("idle.h5"), "--quiet")
    with h5py.File(path("idle.h5")) as f:
        assert f.attrs["status"] == "converged", dict(f.attrs)


@test
def plan_keeps_the_full_gram_when_a_sample_shows_most_features_leaving_zero():
    # solve plans working sets (streamed) for tall dense data from 256 features, but when most features can leave
    # zero at the requested lambda a working set would take them all after a pass that formed no Gram: a sample of
    # the rows decides before the real read. Both outcomes are checked against scikit-learn.
    from sklearn.linear_model import Lasso
    rng = np.random.default_rng(8)
    n, d = 4000, 300
    independent = rng.standard_normal((n, d))
    correlated = 0.3 * independent + rng.standard_normal((n, 1))  # every pair correlated about 0.92
    for name, X, ratio, form in (("indep", independent, 0.3, "streamed"), ("corr", correlated, 0.02, "gram (")):
        y = X[:, :8] @ rng.standard_normal(8) + rng.standard_normal(n)
        data = write(f"pilot_{name}.h5", X, y)
        q = np.abs((X - X.mean(0)).T @ (y - y.mean())) / n
        share = (q > ratio * q.max()).mean()
        assert (share > 0.8) == (form != "streamed"), (name, share)  # the data are what the case says they are
        _, out, _ = cadmm(2, "solve", "--data", data, "--lambda-ratio", ratio, "--output", path("pilot.h5"))
        assert f"on 2 rank(s): {form}" in out, out
        ref = Lasso(alpha=ratio * q.max(), tol=1e-12, max_iter=100_000).fit(X, y).coef_
        with h5py.File(path("pilot.h5")) as f:
            err = np.abs(f["coef"][()] - ref).max() / np.abs(ref).max()
            assert err < 1e-5, (name, err)


@test
def configs_run_as_they_are():
    demo = os.path.join(WORK, "configs_demo")
    os.makedirs(demo, exist_ok=True)
    # A small stand-in for the demo data set under the name the configs use.
    cadmm(2, "generate", "--rows", 3000, "--features", 20, "--targets", 3, "--correlation", 0.3,
          "--output", os.path.join(demo, "demo.h5"), "--quiet")
    inis = sorted(glob.glob(os.path.join(REPO, "configs", "*.ini")))
    assert len(inis) >= 4, inis
    for ini in inis:
        local = os.path.join(demo, os.path.basename(ini))
        shutil.copy(ini, local)
        cwd = os.getcwd()
        os.chdir(demo)
        try:
            cadmm(2, "solve", "--config", os.path.basename(local), "--quiet")
        finally:
            os.chdir(cwd)


@test
def info_describes_plan():
    X, y = small(100, 30)
    _, out, _ = cadmm(1, "info", write("info.h5", X, y), "--ranks", 5)
    assert "100 rows x 30 features" in out and "woodbury" in out and "gram" not in out.split("Plan")[1], out
    assert "flop/iter" in out and "fits:" in out, out


@test
def predict_matches_numpy():
    X, y = small(301, 7)
    data, model = write("pred_data.h5", X, y), path("pred_model.h5")
    cadmm(2, "solve", "--data", data, "--output", model, "--quiet")
    out = path("pred_out.h5")
    _, text, _ = cadmm(3, "predict", "--model", model, "--data", data, "--output", out)
    with h5py.File(model) as m, h5py.File(out) as p:
        ref = X @ m["coef"][()] + m["intercept"][()]
        got = p["prediction"][()]
        assert got.shape == (301,), got.shape
        assert np.abs(got - ref).max() < 1e-12 * np.abs(ref).max()
        mse = ((y - ref) ** 2).mean()
        r2 = 1 - ((y - ref) ** 2).sum() / ((y - y.mean()) ** 2).sum()
        assert np.isclose(p.attrs["mse"], mse, rtol=1e-10) and np.isclose(p.attrs["r2"], r2, rtol=1e-10)
    assert "MSE" in text and "R^2" in text, text
    # Without y in the file: predictions only.
    Xn = np.random.default_rng(1).standard_normal((50, 7))
    cadmm(2, "predict", "--model", model, "--data", write("pred_noy.h5", Xn, None), "--output", out, "--quiet")
    with h5py.File(model) as m, h5py.File(out) as p:
        assert np.abs(p["prediction"][()] - (Xn @ m["coef"][()] + m["intercept"][()])).max() < 1e-12
        assert "mse" not in p.attrs


@test
def predict_multi_target_and_path_index():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((120, 6))
    Y = X @ rng.standard_normal((6, 3)) + rng.standard_normal((120, 3))
    data, model, out = write("pred_mt.h5", X, Y), path("pred_mt_path.h5"), path("pred_mt_out.h5")
    cadmm(2, "path", "--data", data, "--penalty", "l21", "--n-lambda", 6, "--output", model, "--quiet")
    for index in [0, 3, None]:
        args = ["predict", "--model", model, "--data", data, "--output", out, "--quiet"]
        cadmm(3, *(args + (["--lambda-index", index] if index is not None else [])))
        with h5py.File(model) as m, h5py.File(out) as p:
            i = 5 if index is None else index
            ref = X @ m["path/coef"][i] + m["path/intercept"][i]
            assert p["prediction"].shape == (120, 3)
            assert np.abs(p["prediction"][()] - ref).max() < 1e-12 * max(1, np.abs(ref).max())
            r2 = np.mean([1 - ((Y[:, t] - ref[:, t]) ** 2).sum() / ((Y[:, t] - Y[:, t].mean()) ** 2).sum()
                          for t in range(3)])
            assert np.isclose(p.attrs["r2"], r2, rtol=1e-10), (p.attrs["r2"], r2)


@test
def path_cv_predict_bad_input():
    X, y = small(40, 5)
    data = write("bad_in.h5", X, y, folds=np.arange(40) % 4 + 1, folds_gap=np.where(np.arange(40) % 4 == 2, 4, np.arange(40) % 4 + 1),
                 folds_short=np.arange(39) % 4, folds_half=np.arange(40) % 4 + 1.5, folds_neg=np.arange(40) % 4 - 1,
                 folds_r=(np.arange(40) % 4 + 1).astype(float),
                 folds_na=np.where(np.arange(40) == 27, -2**31, np.arange(40) % 4 + 1).astype(np.int32),
                 folds_zero=np.where(np.isin(np.arange(40), [3, 9]), 0, np.arange(40) % 4 + 1))
    out = path("bad_out.h5")
    expect_error(2, 2, "--lambdas", "path", "--data", data, "--lambdas", "", "--output", out)
    expect_error(2, 2, "--lambdas", "path", "--data", data, "--lambdas", "0.1,-0.2", "--output", out)
    expect_error(2, 2, "--lambdas: 0.100000 is given twice", "path", "--data", data, "--lambdas", "0.2,0.1,0.1",
                 "--output", out)
    expect_error(1, 2, "--lambdas: value 2 (-1.000000) must be a finite value >= 0", "path", "--data", data,
                 "--lambdas", "0.01,-1,0.1", "--output", out)
    expect_error(1, 2, "not a number", "cv", "--data", data, "--lambdas", "0.1,x", "--output", out)
    expect_error(2, 2, "--folds", "cv", "--data", data, "--folds", 1, "--output", out)
    expect_error(3, 3, "only 40 rows", "cv", "--data", data, "--folds", 41, "--output", out)
    expect_error(2, 2, "--refit", "cv", "--data", data, "--refit", "best", "--output", out)
    expect_error(3, 3, "fold 3 is empty", "cv", "--data", data, "--fold-dataset", "folds_gap", "--output", out)
    expect_error(2, 3, "shape (40,)", "cv", "--data", data, "--fold-dataset", "folds_short", "--output", out)
    expect_error(2, 3, "holds 1.500000 at row 0: fold numbers must be whole numbers", "cv", "--data", data,
                 "--fold-dataset", "folds_half", "--output", out)
    expect_error(2, 3, "negative fold numbers (the smallest -1; the first at row 0, 0-based)", "cv", "--data", data,
                 "--fold-dataset", "folds_neg", "--output", out)
    # R's integer NA (the smallest int32) is named as such; a few 0s among 1..K make a fold of their own, with a warning.
    expect_error(2, 3, "the first at row 27, 0-based): R's NA", "cv", "--data", data, "--fold-dataset", "folds_na", "--output", out)
    _, _, err = cadmm(2, "cv", "--data", data, "--fold-dataset", "folds_zero", "--n-lambda", 5, "--output",
                      path("zero_folds.h5"), "--quiet")
    assert "fold 0 holds 2 rows" in err and "(5 folds)" in err, err
    expect_error(1, 2, "ends with ','", "path", "--data", data, "--lambdas", "0.1,", "--output", out)
    expect_error(2, 3, "does not exist (the file holds /", "cv", "--data", data, "--fold-dataset", "nope", "--output", out)
    assert not os.path.exists(out)
    model = path("bad_model.h5")
    cadmm(2, "path", "--data", data, "--n-lambda", 5, "--output", model, "--quiet")
    other = write("bad_other.h5", np.ones((10, 6)), np.ones(10))
    expect_error(2, 3, "5 features", "predict", "--model", model, "--data", other, "--output", out)
    expect_error(3, 2, "--lambda-index", "predict", "--model", model, "--data", data, "--lambda-index", 5,
                 "--output", out)
    expect_error(2, 3, "not a cadmm result", "predict", "--model", data, "--data", data, "--output", out)
    expect_error(1, 2, "--model", "predict", "--data", data, "--output", out)
    assert not os.path.exists(out)
    # --lambdas in any order, as scikit-learn's alphas: fitted from the largest down, the same path bit for bit.
    fits = []
    for order in ("0.01,0.1,0.05", "0.1,0.05,0.01"):
        cadmm(2, "path", "--data", data, "--lambdas", order, "--output", out, "--quiet")
        with h5py.File(out) as f:
            fits.append((f["path/lambda"][()], f["path/coef"][()]))
    assert list(fits[0][0]) == [0.1, 0.05, 0.01] and np.array_equal(fits[0][1], fits[1][1]), fits
    os.remove(out)
    # cv on the good fold dataset works and names where its folds came from.
    cadmm(2, "cv", "--data", data, "--fold-dataset", "folds", "--n-lambda", 5, "--output", out, "--quiet")
    with h5py.File(out) as f:
        assert list(f["cv/fold_rows"][()]) == [10, 10, 10, 10] and f["cv"].attrs["folds_from"] == "dataset folds"
        mse = f["cv/mse"][()]
    # R's numeric vectors are float64: whole numbers in them are the same folds.
    cadmm(2, "cv", "--data", data, "--fold-dataset", "folds_r", "--n-lambda", 5, "--output", out, "--quiet")
    with h5py.File(out) as f:
        assert np.array_equal(f["cv/mse"][()], mse)


@test
def predict_says_which_features_differ_reads_r_layout_and_skips_another_y():
    """Found by new-user trials: a missing named feature is named (it was counted only), R's column-major X-only
    file gets the --x-layout hint, and a file whose default /y is not the model's targets is predicted without it
    (it was refused; predictions need no y) unless --y-dataset names it."""
    rng = np.random.default_rng(8)
    X = rng.standard_normal((100, 5))
    Y = X @ rng.standard_normal((5, 3))
    names = np.array([b"a", b"b", b"c", b"d", b"e"])
    data = write("pn.h5", X, Y, feature_names=names)
    model = path("pn_model.h5")
    cadmm(2, "solve", "--data", data, "--penalty", "l21", "--output", model, "--quiet")
    out = path("pn_out.h5")
    expect_error(2, 3, "the model has 5, the data 4; the data lack the model's features, 1 of them ('e')", "predict", "--model", model,
                 "--data", write("pn4.h5", X[:, :4], None, feature_names=names[:4]), "--output", out)
    expect_error(2, 3, "add --x-layout features-by-rows", "predict", "--model", model, "--data",
                 write("pnT.h5", X[:30].T.copy(), None), "--output", out)
    other = write("pn1.h5", X, Y[:, 0], feature_names=names)
    _, _, err = cadmm(2, "predict", "--model", model, "--data", other, "--output", out)
    assert "predicting without y" in err and "has 3 target(s) but /y" in err, err
    with h5py.File(out) as f, h5py.File(model) as m:
        assert np.allclose(f["prediction"][()], X @ m["coef"][()] + m["intercept"][()], rtol=1e-12, atol=1e-12)
    expect_error(2, 3, "has 3 target(s) but /y", "predict", "--model", model, "--data", other, "--y-dataset", "/y",
                 "--output", out)
    # A default /y that could not be read as targets at all (integers) is left out alike.
    ints = write("pn_int.h5", X, np.ones((100, 2), dtype=np.int32), feature_names=names)
    _, _, err = cadmm(2, "predict", "--model", model, "--data", ints, "--output", out)
    assert "predicting without y" in err and "unsupported element type" in err, err


@test
def cv_folds_fitted_alone_then_collected_equal_one_run():
    X, y = small(600, 8)
    data = write("cvf.h5", X, y)
    # The Gram form (fold sums into one rank) and the cg form (a fold's rows gathered into one rank): bit for bit. The
    # screened form (its folds share the columns the folds before them computed, in other batches): to rounding.
    for form in ["cg", "auto", "screened"]:
        common = ["cv", "--data", data, "--folds", 4, "--n-lambda", 10, "--quiet", "--local-solver", form]
        cadmm(2, *common, "--output", path("cvf_one.h5"))
        for f in range(1, 5):
            cadmm(2, *common, "--fold", f, "--output", path(f"cvf_fold{f}.h5"))
        cadmm(2, *common, "--collect", path("cvf_fold*.h5"), "--output", path("cvf_merged.h5"))
        with h5py.File(path("cvf_one.h5")) as a, h5py.File(path("cvf_merged.h5")) as b:
            for d in ["cv/mse", "cv/mse_mean", "cv/mse_std", "cv/lambda_min", "cv/lambda_1se", "coef", "intercept"]:
                if form == "screened":
                    assert np.allclose(a[d][()], b[d][()], rtol=1e-9, atol=1e-12), (form, d)
                else:
                    assert a[d][()].tobytes() == b[d][()].tobytes(), (form, d)
    # Array tasks on one rank each, collected on two: lambda_max's sums run in another order, and the lambdas of these
    # data differ by an ulp (they were refused as 'another lambda sequence', found by a new-user trial). The one run's
    # curve, to rounding.
    auto = ["cv", "--data", data, "--folds", 4, "--n-lambda", 10, "--quiet"]
    cadmm(2, *auto, "--output", path("cvf_one.h5"))
    for f in range(1, 5):
        cadmm(1, *auto, "--fold", f, "--output", path(f"cvf_fold{f}.h5"))
    _, out, _ = cadmm(2, *[a for a in auto if a != "--quiet"], "--collect", path("cvf_fold*.h5"), "--output",
                      path("cvf_merged.h5"))
    with h5py.File(path("cvf_one.h5")) as a, h5py.File(path("cvf_merged.h5")) as b:
        assert np.allclose(a["cv/mse"][()], b["cv/mse"][()], rtol=1e-9, atol=1e-12)
    # The summary says where the folds' errors came from (it said they were fitted side by side here).
    assert "fitted by other runs, their errors read from" in out and "side by side, each" not in out, out
    # The collecting run may name the data otherwise than the tasks did (another directory, a symlink): the same file
    # (it was refused as 'another problem', found by a new-user trial).
    link = path("cvf_link.h5")
    if not os.path.lexists(link):
        os.symlink(os.path.relpath(data, os.path.dirname(link)), link)
    collected = [a if a != data else link for a in auto]
    cadmm(2, *collected, "--collect", path("cvf_fold*.h5"), "--output", path("cvf_merged_link.h5"))
    with h5py.File(path("cvf_merged.h5")) as a, h5py.File(path("cvf_merged_link.h5")) as b:
        assert a["cv/mse"][()].tobytes() == b["cv/mse"][()].tobytes()
    # A missing fold, a fold twice, another fold assignment, a file that is no fold file: refused naming it.
    os.rename(path("cvf_fold4.h5"), path("cvf_keep.h5"))
    expect_error(2, 3, "fold(s) 4", *common, "--collect", path("cvf_fold*.h5"), "--output", path("cvf_x.h5"))
    expect_error(2, 3, "is in both", *common, "--collect", path("cvf_fold*.h5") + "," + path("cvf_fold1.h5"),
                 "--output", path("cvf_x.h5"))
    os.rename(path("cvf_keep.h5"), path("cvf_fold4.h5"))
    expect_error(2, 3, "another problem or fold assignment", *common, "--seed", 7, "--collect",
                 path("cvf_fold*.h5"), "--output", path("cvf_x.h5"))
    expect_error(2, 3, "not a fold file", *common, "--collect", path("cvf_one.h5"), "--output", path("cvf_x.h5"))
    expect_error(2, 2, "--fold", *common, "--fold", 5, "--output", path("cvf_x.h5"))
    expect_error(1, 2, "exclude", *common, "--fold", 1, "--collect", "x", "--output", path("cvf_x.h5"))
    assert not os.path.exists(path("cvf_x.h5"))


@test
def path_early_stop_and_summary():
    X, y = small(400, 8)
    data, out = write("es.h5", X, y), path("es_out.h5")
    _, text, _ = cadmm(2, "path", "--data", data, "--output", out, "--early-stop")
    with h5py.File(out) as f:
        m = len(f["path/lambda"])
        dev = f["path/dev_ratio"][()]
        assert f["path"].attrs["stopped_early"] == 1 and 5 <= m < 100, m
        assert dev[-1] - dev[-2] < 1e-5 * dev[-1] or dev[-1] > 0.999
    assert "--early-stop" in text and "dev.ratio" in text and "data passes 1" in text, text
    cadmm(1, "path", "--data", data, "--output", out, "--quiet")
    with h5py.File(out) as f:
        assert len(f["path/lambda"]) == 100 and f["path"].attrs["stopped_early"] == 0


@test
def options_as_people_type_them():
    # No prefix guessing, the option meant named, glmnet / scikit-learn names answered, every boolean in every form,
    # INI sections; all refused before any data are read (the data file does not exist).
    missing = path("not_there.h5")
    expect_error(2, 2, "'--pen': did you mean --penalty", "solve", "--data", missing, "--pen", "l2")
    expect_error(1, 2, "'--lamda': did you mean --lambda?", "solve", "--data", missing, "--lamda", "0.1")
    expect_error(1, 2, "scikit-learn's alpha is cadmm's --lambda", "solve", "--data", missing, "--alpha", "0.1")
    expect_error(1, 2, "did you mean --l1-ratio?", "solve", "--data", missing, "--l1_ratio", "0.5")
    expect_error(1, 2, "use --folds", "cv", "--data", missing, "--nfolds", "5")
    expect_error(1, 2, "did you mean --n-lambda?", "path", "--data", missing, "--nlambda", "5")
    expect_error(1, 2, "--n-lambda: must be >= 1", "path", "--data", missing, "--n-lambda", "0")
    expect_error(1, 2, "--local-solver: unknown 'fast'", "solve", "--data", missing, "--local-solver", "fast")
    expect_error(1, 2, "unknown command 'solv': did you mean solve?", "solv", "--data", missing)
    X, y = small(200, 6)
    data = write("habits.h5", X, y)
    out_a, out_b = path("habits_a.h5"), path("habits_b.h5")
    cadmm(1, "solve", "--data", data, "--standardize", "--no-fit-intercept", "--output", out_a, "--quiet")
    cadmm(1, "solve", "--data", data, "--standardize", "true", "--fit-intercept", "false", "--output", out_b, "-q")
    with h5py.File(out_a) as a, h5py.File(out_b) as b:
        assert a.attrs["standardize"] == 1 and a.attrs["fit_intercept"] == 0, dict(a.attrs)
        assert np.array_equal(a["coef"][()], b["coef"][()]) and a["intercept"][()] == 0
    ini = path("habits.ini")
    with open(ini, "w") as f:
        f.write(f"data = {data}\nfit_intercept = false\n[path]\nn_lambda = 4\n[solve]\nstandardize = yes\n"
                f"lambda_ratio = 0.2\n")
    cadmm(1, "solve", "--config", ini, "--output", out_a, "--quiet")
    cadmm(1, "path", "--config", ini, "--output", out_b, "--quiet")
    with h5py.File(out_a) as a, h5py.File(out_b) as b:
        assert a.attrs["standardize"] == 1 and a.attrs["fit_intercept"] == 0
        assert len(b["path/lambda"]) == 4 and b.attrs["standardize"] == 0 and b.attrs["fit_intercept"] == 0
    with open(ini, "a") as f:
        f.write("max_itr = 5\n")
    expect_error(1, 2, f"--config '{ini}' line 8: unrecognised option '--max-itr': did you mean --max-iter?",
                 "solve", "--config", ini, "--output", out_a)



@test
def what_new_users_tried_is_answered():
    # Found by people trying cadmm for the first time: each of these was refused, misleading or silent.
    X, y = small(200, 6)
    data, out = write("newuser.h5", X, y), path("newuser_out.h5")
    # info takes --data as solve does (it was "unrecognised option").
    _, by_name, _ = cadmm(1, "info", "--data", data)
    _, by_position, _ = cadmm(1, "info", data)
    assert by_name == by_position and "200 rows x 6 features" in by_name, by_name
    # info describes a file without y (AnnData's never has /y); an explicit --y-dataset must exist.
    x_only = write("newuser_x.h5", X, None)
    _, text, _ = cadmm(1, "info", x_only)
    assert "y  none: the file has no /y" in text and "Plan for 1 rank(s)" in text, text
    expect_error(1, 3, "'/yy'", "info", x_only, "--y-dataset", "/yy")
    # cv --refit takes glmnet's spelling, as predict --lambda does.
    cadmm(2, "cv", "--data", data, "--refit", "lambda.1se", "--n-lambda", 20, "--output", out, "--quiet")
    with h5py.File(out) as f:
        assert f.attrs["lambda"] == f["cv/lambda_1se"][()], (f.attrs["lambda"], f["cv/lambda_1se"][()])
    # predict outside the path says it clamps; a missing model is called a model file (it was "data file").
    with h5py.File(out) as f:
        smallest = f["path/lambda"][-1]
    _, _, err = cadmm(1, "predict", "--model", out, "--data", data, "--lambda", smallest / 10, "--output",
                      path("newuser_pred.h5"))
    assert "below the path's smallest lambda" in err and "cadmm: warning" in err, err
    _, _, err = cadmm(1, "predict", "--model", out, "--data", data, "--lambda", smallest, "--output",
                      path("newuser_pred.h5"))
    assert "warning" not in err, err
    expect_error(1, 3, "model file (--model) '", "predict", "--model", path("no_model.h5"), "--data", data,
                 "--output", path("newuser_pred.h5"))
    # A CSR group written without its attributes: told what to add (it was "is not a dataset").
    with h5py.File(path("csr_bare.h5"), "w") as f:
        g = f.create_group("X")
        g["data"], g["indices"], g["indptr"] = np.ones(3), np.array([0, 1, 2]), np.array([0, 1, 2, 3])
        f["y"] = np.arange(3.0)
    expect_error(1, 3, 'encoding-type"] = "csr_matrix"', "solve", "--data", path("csr_bare.h5"), "--output", out)
    # A checkpoint path that is the output, or an existing result: refused, naming what it is (the output was called
    # "the input file"; the result was replaced by a checkpoint without a word). An old checkpoint is replaced.
    result = path("newuser_result.h5")
    cadmm(1, "solve", "--data", data, "--output", result, "--quiet")
    before = open(result, "rb").read()
    expect_error(1, 2, "is the --output file too", "solve", "--data", data, "--checkpoint", out, "--output", out)
    expect_error(2, 2, "exists and is not a cadmm checkpoint (a cadmm result)", "path", "--data", data,
                 "--checkpoint", result, "--output", out)
    assert open(result, "rb").read() == before
    ck = path("newuser.ck")
    for _ in range(2):
        cadmm(1, "solve", "--data", data, "--checkpoint", ck, "--output", out, "--quiet")
    # Help: a boolean's default reads as its default, and the penalty names people use are listed.
    _, text, _ = cadmm(1, "solve", "--help")
    assert "--standardize [=BOOL]" in text and "(=true)" not in text, text
    assert "l1 (or lasso), l2 (or ridge)" in text, text


def glmnet_interpolation(lambdas, coefs, intercepts, s):
    """glmnet's lambda.interp and predict(fit, s): linear in lambda between the two fits around s, clamped."""
    s = min(max(s, lambdas[-1]), lambdas[0])
    right = int(np.searchsorted(-lambdas, -s, side="left"))
    if right < len(lambdas) and lambdas[right] == s:
        return coefs[right], intercepts[right]
    left = right - 1
    frac = (s - lambdas[right]) / (lambdas[left] - lambdas[right])
    return frac * coefs[left] + (1 - frac) * coefs[right], frac * intercepts[left] + (1 - frac) * intercepts[right]


@test
def cv_keeps_the_full_path_and_predict_chooses_any_lambda():
    # The refit is the whole path on all rows (cv.glmnet's glmnet.fit): the same fits as `cadmm path` over the same
    # lambdas, /cv/nonzero their counts, /coef the fit at lambda_min; predict takes lambda_1se, lambda_min, a value
    # between two lambdas (glmnet's interpolation, recomputed here) or an index from it without a second run.
    X, y = small(400, 12)
    data, cv_out, path_out = write("cvpath.h5", X, y), path("cvpath_cv.h5"), path("cvpath_path.h5")
    _, text, _ = cadmm(2, "cv", "--data", data, "--n-lambda", 30, "--output", cv_out)
    assert "nonzero" in text and "<- lambda_1se" in text, text
    with h5py.File(cv_out) as c:
        lambdas = c["cv/lambda"][()]
        coefs, intercepts = c["path/coef"][()], c["path/intercept"][()]
        l_min, l_1se, nonzero = c["cv/lambda_min"][()], c["cv/lambda_1se"][()], c["cv/nonzero"][()]
        chosen = c.attrs["lambda_index"]
        assert np.array_equal(c["path/lambda"][()], lambdas) and nonzero.dtype.kind == "i"
        assert np.array_equal(nonzero, (coefs != 0).sum(axis=1)), nonzero
        assert lambdas[chosen] == l_min and np.array_equal(c["coef"][()], coefs[chosen])
    cadmm(2, "path", "--data", data, "--lambdas", ",".join(repr(v) for v in lambdas), "--output", path_out, "--quiet")
    with h5py.File(path_out) as p:
        assert np.abs(p["path/coef"][()] - coefs).max() <= 1e-9 * np.abs(coefs).max()
    between = float(np.sqrt(lambdas[7] * lambdas[8]))
    for choice, (ref_coef, ref_b) in [(["--lambda", "lambda_1se"], glmnet_interpolation(lambdas, coefs, intercepts, l_1se)),
                                      (["--lambda", "lambda.1se"], glmnet_interpolation(lambdas, coefs, intercepts, l_1se)),
                                      (["--lambda", "lambda_min"], (coefs[chosen], intercepts[chosen])),
                                      (["--lambda", repr(between)], glmnet_interpolation(lambdas, coefs, intercepts, between)),
                                      (["--lambda", "1e9"], (coefs[0], intercepts[0])),
                                      (["--lambda-index", "3"], (coefs[3], intercepts[3]))]:
        out = path("cvpath_pred.h5")
        cadmm(1, "predict", "--model", cv_out, "--data", data, "--output", out, "--quiet", *choice)
        with h5py.File(out) as p:
            ref = X @ ref_coef + ref_b
            assert np.abs(p["prediction"][()] - ref).max() <= 1e-12 * np.abs(ref).max(), choice
    expect_error(1, 2, "--lambda: give it or --lambda-index, not both", "predict", "--model", cv_out, "--data", data,
                 "--output", path("x.h5"), "--lambda", "0.1", "--lambda-index", "2")
    expect_error(1, 2, "expected lambda_min, lambda_1se or a value >= 0", "predict", "--model", cv_out, "--data", data,
                 "--output", path("x.h5"), "--lambda", "lambda_max")
    expect_error(1, 2, "is a path result, not a cv one", "predict", "--model", path_out, "--data", data,
                 "--output", path("x.h5"), "--lambda", "lambda_min")
    # A cv --relax file: --lambda lambda_1se without --gamma is the chosen relaxed pair (glmnet's predict.cv.relaxed).
    relax_out = path("cvpath_relax.h5")
    cadmm(2, "cv", "--data", data, "--n-lambda", 30, "--relax", "--output", relax_out, "--quiet")
    with h5py.File(relax_out) as c:
        lam, gamma = c["cv/relaxed/lambda_1se"][()], c["cv/relaxed/gamma_1se"][()]
        g = max(gamma, 1e-5)  # glmnet's blend.relaxed
        i = int(np.flatnonzero(c["path/lambda"][()] == lam)[0])
        ref_coef = g * c["path/coef"][i] + (1 - g) * c["path/relaxed/coef"][i]
        ref_b = g * c["path/intercept"][i] + (1 - g) * c["path/relaxed/intercept"][i]
    out = path("cvpath_pred.h5")
    cadmm(1, "predict", "--model", relax_out, "--data", data, "--output", out, "--quiet", "--lambda", "lambda_1se")
    with h5py.File(out) as p:
        ref = X @ ref_coef + ref_b
        assert np.abs(p["prediction"][()] - ref).max() <= 1e-12 * np.abs(ref).max()
        assert p.attrs["lambda_index"] == i and p.attrs["gamma"] == gamma
    # As predict.cv.relaxed too: with --gamma, lambda_1se is still the relaxed cv's; a lambda value without --gamma
    # takes gamma_1se (glmnet's default gamma = "gamma.1se"), with --gamma the one given.
    with h5py.File(relax_out) as c:
        lambdas, coefs, relaxed = c["path/lambda"][()], c["path/coef"][()], c["path/relaxed/coef"][()]
        intercepts, relaxed_b = c["path/intercept"][()], c["path/relaxed/intercept"][()]
        # The cases below tell the rules apart only where the relaxed choice is not the plain one and blends.
        assert c["cv/relaxed/lambda_1se"][()] != c["cv/lambda_1se"][()] and gamma < 1, (c["cv/lambda_1se"][()], lam, gamma)
    j = len(lambdas) // 2
    for choice, (at, g) in [(["--lambda", "lambda_1se", "--gamma", "1"], (i, 1.0)),
                            (["--lambda", "lambda_1se", "--gamma", "0"], (i, 1e-5)),
                            (["--lambda", repr(float(lambdas[j]))], (j, max(gamma, 1e-5))),
                            (["--lambda", repr(float(lambdas[j])), "--gamma", "1"], (j, 1.0))]:
        cadmm(1, "predict", "--model", relax_out, "--data", data, "--output", out, "--quiet", *choice)
        with h5py.File(out) as p:
            ref = X @ (g * coefs[at] + (1 - g) * relaxed[at]) + g * intercepts[at] + (1 - g) * relaxed_b[at]
            assert np.abs(p["prediction"][()] - ref).max() <= 1e-12 * np.abs(ref).max(), choice
    solve_out = path("cvpath_solve.h5")
    cadmm(1, "solve", "--data", data, "--output", solve_out, "--quiet")
    expect_error(1, 2, "--lambda: '" + solve_out + "' is a solve result with one model", "predict", "--model", solve_out,
                 "--data", data, "--output", path("x.h5"), "--lambda", "0.1")



@test
def cv_takes_a_fold_whose_rows_all_weigh_zero():
    """A held-out fold of weight 0 (a site weighted out that is also a fold) is fitted and counts for nothing in the
    mean error, as cv.glmnet does (it was refused: an R user's trial); mse_mean and mse_std against scikit-learn's
    weighted Lasso fitted on each fold's training rows, with glmnet's formulas (fold weights, N = the folds)."""
    from sklearn.linear_model import Lasso
    rng = np.random.default_rng(11)
    n, d, K = 90, 6, 3
    X = rng.standard_normal((n, d))
    y = X @ np.array([2.0, 0, -1.0, 0, 0.5, 0]) + 0.5 * rng.standard_normal(n)
    fold = np.arange(n) % K + 1
    w = rng.uniform(0.5, 2.0, n)
    w[fold == 2] = 0
    data = write("zero_fold.h5", X, y, w=w, fold=fold)
    out = path("zero_fold.h5.out")
    lambdas = [0.3, 0.1, 0.03]
    cadmm(2, "cv", "--data", data, "--weights-dataset", "/w", "--fold-dataset", "/fold", "--lambdas",
          ",".join(map(str, lambdas)), "--output", out, "--quiet")
    mse = np.full((K, len(lambdas)), np.nan)
    for f in range(1, K + 1):
        train, held = fold != f, fold == f
        if w[held].sum() == 0:
            continue
        for i, lam in enumerate(lambdas):
            fit = Lasso(alpha=lam, tol=1e-12, max_iter=100_000).fit(X[train], y[train], sample_weight=w[train])
            mse[f - 1, i] = np.average((y[held] - fit.predict(X[held])) ** 2, weights=w[held])
    fw = np.array([w[fold == f].sum() for f in range(1, K + 1)])
    good = fw > 0
    mean = (fw[good] / fw.sum()) @ mse[good]
    sd = np.sqrt((fw[good] / fw.sum()) @ (mse[good] - mean) ** 2 / (K - 1))
    with h5py.File(out) as r:
        assert np.allclose(r["cv/mse_mean"][()], mean, rtol=1e-6), (r["cv/mse_mean"][()], mean)
        assert np.allclose(r["cv/mse_std"][()], sd, rtol=1e-5), (r["cv/mse_std"][()], sd)


@test
def cv_warns_where_its_choice_needs_a_caveat():
    """A lambda_min at the grid's smallest lambda (the error may fall further: found by a trial's ridge cv, whose grid
    ends at 1e-3 of glmnet's large ridge lambda_max) and folds of fewer than 3 rows on average, where cv.glmnet's
    cvsd (grouped = FALSE) differs from the folds' one, are warned about; leave-one-out and an inner minimum are not."""
    X, y = small(n=12, d=4, seed=3)
    y = X @ np.array([3.0, -2.0, 1.0, 0.5]) + 0.01 * y  # nearly noiseless: the error falls all the way down
    data = write("caveat.h5", X, y)
    out = path("caveat.h5.out")
    _, _, err = cadmm(1, "cv", "--data", data, "--folds", 6, "--lambda-min-ratio", 0.1, "--output", out, "--quiet")
    with h5py.File(out) as f:
        assert f["cv/lambda_min"][()] == f["cv/lambda"][-1]
    assert "lambda_min is the path's smallest lambda" in err, err
    assert "fewer than 3 rows on average" in err and "--folds 12" in err, err
    # A grid that ends at 0 has nothing smaller to try.
    _, _, err = cadmm(1, "cv", "--data", data, "--folds", 12, "--lambdas", "1,0.1,0", "--output", out, "--quiet")
    with h5py.File(out) as f:
        assert f["cv/lambda_min"][()] == 0
    assert "warning" not in err, err
    rng = np.random.default_rng(4)
    X = rng.standard_normal((40, 30))
    data = write("caveat_noise.h5", X, X[:, 0] + rng.standard_normal(40))  # one signal: small lambdas overfit
    _, _, err = cadmm(1, "cv", "--data", data, "--folds", 40, "--output", out, "--quiet")
    with h5py.File(out) as f:
        assert f["cv/lambda_min"][()] != f["cv/lambda"][-1], "the minimum is inside the grid"
    assert "warning" not in err, err


@test
def the_summary_counts_every_excluded_feature_constant_ones_too():
    # An excluded constant column was counted as constant only: '--exclude 5' printed an empty 'terms' line, and
    # '--exclude 100,1999' said '1 excluded' (found by a single-cell trial).
    X, y = small(200, 6)
    X[:, 2] = 1.0
    data = write("excl_const.h5", X, y)
    for exclude, count, which in (("2", 1, "x2"), ("2,4", 2, "x2, x4")):
        _, out, _ = cadmm(1, "solve", "--data", data, "--exclude", exclude, "--output", path("excl_const_r.h5"))
        assert f"terms       {count} excluded (coefficient 0): {which}" in out, out


@test
def constant_sparse_columns_are_constant_at_every_rank_count_and_weighting():
    # A CSR column holding one value in every row (float32, as AnnData writes it) had its variance summed from
    # moments that cancel to noise: under --standardize 0, 1 or 2 of these 4 columns counted as constant, by rank count
    # and weights (found by a single-cell trial). Every rank count must count all 4 and give them coefficient 0.
    import scipy.sparse as sp
    from check_sparse import write_csr
    rng = np.random.default_rng(13)
    n, d = 2000, 12
    X = rng.normal(size=(n, d)).astype(np.float32)
    for j, v in ((3, 1000.3), (4, 0.1), (5, 123456.7), (6, np.float32(1 / 3))):
        X[:, j] = v
    y = X[:, 0] - 2 * X[:, 1] + rng.normal(0, 1, n)
    data = path("const_csr.h5")
    write_csr(data, sp.csr_matrix(X), y)
    with h5py.File(data, "a") as f:
        f["w"] = rng.uniform(0.1, 3, n)
    for ranks in (1, 2, 3):
        for weights in ([], ["--weights-dataset", "/w"]):
            for form in ("cg", "gram"):  # the CSR rows kept, or their Gram (whose variances come from moments)
                out = path(f"const_csr_{ranks}.h5")
                _, stdout, _ = run_cadmm(CADMM, ranks, ["solve", "--data", data, "--standardize", "--local-solver",
                                                        form, "--output", out] + weights)
                assert "4 constant column(s) get coefficient 0" in stdout, (ranks, weights, form, stdout)
                with h5py.File(out) as r:
                    assert not r["coef"][()].ravel()[3:7].any(), r["coef"][()]


@test
def a_cv_says_when_fold_fits_stop_at_max_iter():
    """A fold's fit that stopped at --max-iter uncertified went into the held-out errors without a word (a user's
    bounded 300 x 3,000 cv: one fold's last lambda 0.04 off in mse, found by refitting the fold with path). cv now warns
    with their count and the first one, in a whole cv and in a --fold task; a certified cv says nothing of it."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 20))
    data = write("cv_maxiter.h5", X, X[:, :3] @ [1.0, 2.0, 3.0] + rng.standard_normal(200))
    base = ["cv", "--data", data, "--penalty", "l2", "--folds", 3, "--n-lambda", 5]
    _, _, err = cadmm(1, *base, "--max-iter", 2, "--output", path("cv_maxiter_a.h5"))
    assert err.count("fold fit(s) stopped at --max-iter without certifying") == 1, err
    assert "fold 1, lambda" in err, err
    _, _, err = cadmm(2, *base, "--max-iter", 2, "--fold", 2, "--output", path("cv_maxiter_f2.h5"))
    assert err.count("fold fit(s) stopped at --max-iter") == 1 and "the first: fold 2," in err, err
    _, _, err = cadmm(2, *base, "--output", path("cv_maxiter_b.h5"))
    assert "stopped at --max-iter" not in err, err


if __name__ == "__main__":
    main()
