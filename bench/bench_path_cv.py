#!/usr/bin/env python3
"""cadmm path / cv vs scikit-learn and glmnet on several lasso problems, side by side in one run.

    /usr/bin/python3 bench/bench_path_cv.py [--problems P1,W1,S1] [--cadmm build/cadmm] [--ranks 2] [--repeat 1]
                                            [--baseline OLD/cadmm] [--no-references] [--no-glmnet] [--scale F]
                                            [--timeout 600] [--reference-memory-gb G] [--workdir DIR]
                                            [--path-only] [--no-sklearn]
                                            [--accuracy [--gap-tols 1e-10,1e-8,...] [--threshes 1e-7,...]]
                                            [--targets K]

Problems (generated once into --workdir by `cadmm generate ... --seed 7`, reused when present; 100 lambdas,
10 folds, lasso):
  P1  dense 200,000 x 500, correlation 0.5; lambdas to 1e-3 lambda_max (0.8 GB)
  W1  dense 20,000 x 4,000, correlation 0.5; lambdas to 1e-3 lambda_max (0.64 GB)
  S1  sparse CSR 100,000 x 50,000, 40 nonzeros per row; lambdas to 1e-2 lambda_max (48 MB)
  S2  sparse CSR 3,000 x 6,000, 60 nonzeros per row; lambdas to 1e-3 lambda_max, where the support nears n (2 MB;
      only when named in --problems)
  N1  dense 500 x 5,000, correlation 0.5: wide as a whole; lambdas to 1e-2 lambda_max, glmnet's default ratio where
      rows < features (20 MB; only when named in --problems)
  G1  dense 50,000 x 20,000, correlation 0.5; lambdas to 1e-2 lambda_max (8 GB; only when named in --problems:
      glmnet alone holds X twice, 16 GB, as its C++ code copies it; cv.glmnet and LassoCV need more than 20 GB
      and may be reported out of memory on a 24 GB machine; an hour or more in all)
--problems takes any of them, comma-separated (default P1,W1,S1). --scale F multiplies every problem's row and
feature counts by F (own data files; nonzeros per row at most the features), for quick trials. --targets K gives y K
columns (own data files): cadmm fits the K lassos (elementwise l1) in one path, glmnet (and cv.glmnet) one target
after the other, their times summed; scikit-learn is skipped, as its 2-D y means the multi-task penalty.

What is timed, per problem:
- cadmm `path` (its 100 lambdas), `cv --folds 10` and one `solve` at the smallest lambda, each as a whole
  `mpirun -np RANKS` process (launch, parallel read, setup, every fit, write); --repeat N prints the median of N.
- scikit-learn `lasso_path` (X centred and y centred beforehand, copy_X=False; on sparse X the column means go
  in through enet_path's X_offset / X_scale parameters, so X stays sparse: CSC, as it wants) and
  `LassoCV(cv=10)`; glmnet `glmnet` and `cv.glmnet(nfolds=10)` (set.seed(1)), both `standardize = FALSE` (sparse
  X as a Matrix dgCMatrix built from the CSR arrays). Every reference fits the lambdas of cadmm's path (`alphas=`,
  `lambda=`). Each reference call runs in a process of its own (python3 or Rscript) that first reads the data
  into memory (dense X read by blocks of rows into one preallocated array: Fortran order for scikit-learn, an R
  matrix for glmnet, so X is never held twice while reading) and then times the fit call alone. A fit still
  running --timeout seconds (default 600) after the data was in memory is stopped and printed "> 600 s
  (stopped)"; a reference process gets an address-space limit (--reference-memory-gb, default the memory
  available when it starts, less 1 GiB), so a fit that does not fit in memory prints "out of memory" instead of
  pushing the machine into swap or the OOM killer. Any other failure of any tool ends the run with its error.

Printed per problem: each tool's seconds; for the path tools the objective at the last lambda,
0.5/n ||y - X w - b||^2 + lambda ||w||_1 (bench_lasso.objective; computed here from the data file, dense X by
blocks of rows, sparse X as a scipy CSR matrix), relative to the best and the nonzeros; for the CV tools their
lambda_min (they split the folds differently, so those differ); the ratios the issue's targets use: path/glmnet,
path/lasso_path, cv/cv.glmnet, cv/LassoCV ("< r" where the reference was stopped), and path/solve, cv/solve;
then cadmm cv's summary. The end repeats every problem in one table.

--baseline BIN times every cadmm run with a second executable as well, the two interleaved run by run (new,
baseline, new, ...), each writing its own output: the tables gain the columns "cadmm (baseline)" and "new/base",
and the end a verdict per problem (the range of the ratios of medians; "slower beyond noise" when in some timing
the new binary's fastest run is slower than the baseline's slowest; whether the answers are equal bit for bit),
then one line per timing with each side's median and spread (min..max). --no-references skips scikit-learn and
glmnet, --no-glmnet glmnet alone, --no-sklearn scikit-learn alone. --path-only times the paths alone (cadmm path,
lasso_path, glmnet).

--accuracy then runs the path again at each cadmm --gap-tol of --gap-tols (default 1e-10,1e-8,1e-6,1e-4) and
glmnet at each thresh of --threshes (default 1e-7, glmnet's own, 1e-9, 1e-11), all in the same run, and prints
time against accuracy: each fit's objective at the last lambda relative to the best of every fit in the run, with
the largest duality gap cadmm certified over the path (relative to the objective; glmnet certifies none, its passes
over the data are shown instead); without --path-only also cv.glmnet at each thresh (its folds fitted to it).

Needs Debian's python3-sklearn, python3-h5py, python3-scipy, and for glmnet Rscript with r-cran-glmnet,
r-cran-hdf5r and r-cran-matrix; and enough disk in --workdir (default /work/benchwork if it exists, else the
temporary directory) for the data: 1.5 GB for P1, W1, S1, 8 GB more for G1.
"""
import argparse
import math
import os
import queue
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import h5py
import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "cli"))
from mpirun import mpi_env  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_lasso import objective  # noqa: E402
from bench_sparse import add_comparison_options, answer_difference, median_run, print_before_after, run, run_interleaved, verdict  # noqa: E402

PROBLEMS = {
    "P1": dict(rows=200_000, features=500, min_ratio=1e-3),
    "W1": dict(rows=20_000, features=4_000, min_ratio=1e-3),
    "S1": dict(rows=100_000, features=50_000, nnz_per_row=40, min_ratio=1e-2),
    "S2": dict(rows=3_000, features=6_000, nnz_per_row=60, min_ratio=1e-3),
    "N1": dict(rows=500, features=5_000, min_ratio=1e-2),
    "G1": dict(rows=50_000, features=20_000, min_ratio=1e-2),
}
N_LAMBDA, FOLDS, CORRELATION = 100, 10, 0.5
LOAD_LIMIT = 3600  # seconds a reference process may take to read its data before it counts as a failure
BLOCK_BYTES = 32 << 20  # dense X is read in blocks of rows of about this size (R holds 3 such temporaries)

# One glmnet call (one a target), timed alone: Rscript R_SCRIPT TOOL KIND DATA LAMBDAS BLOCK_BYTES [THRESH]. Prints
# "ready" once the data is in memory, "done SECONDS" after the fit, then "key value" lines and, after a line "coef",
# each target's intercept and coefficients at the last lambda, one a line. Exit status 3 with a line "oom ..." when memory ran out.
R_SCRIPT = r"""
suppressPackageStartupMessages({ library(glmnet); library(hdf5r); library(Matrix) })
a <- commandArgs(TRUE); tool <- a[1]; kind <- a[2]
oom <- function(e) {
  m <- conditionMessage(e)
  if (grepl("cannot allocate|bad_alloc|memory exhausted", m)) { cat("oom", m, "\n"); quit(status = 3) }
  stop(e)
}
cat(sprintf("version glmnet %s\n", as.character(packageVersion("glmnet"))))
lambda <- scan(a[4], quiet = TRUE)
thresh <- if (length(a) >= 6) as.numeric(a[6]) else 1e-7  # glmnet's default
tryCatch({
  f <- H5File$new(a[3], mode = "r")
  if (kind == "sparse") {
    g <- f[["X"]]; shape <- as.integer(g$attr_open("shape")$read())
    x <- sparseMatrix(j = as.integer(g[["indices"]]$read()) + 1L, p = as.integer(g[["indptr"]]$read()),
                      x = g[["data"]]$read(), dims = shape)  # the CSR arrays as row pointers: a dgCMatrix
  } else {
    ds <- f[["X"]]; d <- ds$dims[1]; n <- ds$dims[2]  # hdf5r gives the dimensions of C-order (n, d) as (d, n)
    x <- matrix(0, n, d)  # filled block by block: t(ds$read()) would hold X twice
    step <- max(1, floor(as.numeric(a[5]) / (8 * d)))
    for (i0 in seq(1, n, by = step)) { i1 <- min(n, i0 + step - 1); x[i0:i1, ] <- t(ds[, i0:i1]) }
  }
  y <- f[["y"]]$read(); f$close_all()
  ys <- if (is.matrix(y)) lapply(seq_len(nrow(y)), function(t) as.numeric(y[t, ])) else list(as.numeric(y))
}, error = oom)
cat("ready\n"); flush(stdout())
tryCatch({  # k targets (hdf5r reads C-order (n, k) as k x n): k fits, one a target, timed together
  t0 <- proc.time()[["elapsed"]]
  fits <- lapply(ys, function(yt) {
    if (tool == "glmnet") return(glmnet(x, yt, lambda = lambda, standardize = FALSE, thresh = thresh))
    set.seed(1)
    cv.glmnet(x, yt, lambda = lambda, standardize = FALSE, nfolds = 10, thresh = thresh)
  })
  t1 <- proc.time()[["elapsed"]]
}, error = oom)
fit <- fits[[1]]
cat(sprintf("done %.3f\n", t1 - t0))
if (tool == "glmnet") {
  cat(sprintf("lambdas %d\npasses %d\nlast_lambda %.17g\ncoef\n", min(sapply(fits, function(f) length(f$lambda))),
              sum(sapply(fits, function(f) f$npasses)), min(fit$lambda)))
  for (f in fits) cat(sprintf("%.17g\n", as.numeric(coef(f, s = min(f$lambda)))), sep = "")
} else {
  cat(sprintf("lambda_min %s\n", paste(sprintf("%.17g", sapply(fits, function(f) f$lambda.min)), collapse = " ")))
}
"""


def read_xy(data):
    """X and y of a cadmm data file: a dense X read by blocks of rows into one preallocated Fortran-order array,
    so it is never held twice; a sparse X (CSR group) as a scipy CSR matrix."""
    with h5py.File(data) as f:
        g = f["X"]
        y = f["y"][()]
        if isinstance(g, h5py.Group):
            shape = tuple(int(s) for s in g.attrs["shape"])
            return sp.csr_matrix((g["data"][()], g["indices"][()], g["indptr"][()]), shape=shape), y
        n, d = g.shape
        X = np.empty((n, d), order="F")
        step = max(1, BLOCK_BYTES // (8 * d))
        for i0 in range(0, n, step):
            X[i0:i0 + step] = g[i0:i0 + step]
    return X, y


def lambda_mins(text):
    """A cv.glmnet reference's lambda_min, one a target."""
    return " ".join(f"{float(v):.6e}" for v in text.split())


def glmnet_fit(coef, d):
    """(w, b) from a glmnet reference's coefficients: each target's intercept and d coefficients in turn; w is (d,)
    and b a number for one target, else (d, k) and (k,)."""
    c = coef.reshape(-1, d + 1)
    return (c[0, 1:], c[0, 0]) if len(c) == 1 else (c[:, 1:].T, c[:, 0])


def numpy_blas():
    """NumPy's BLAS and the kernel it runs (OpenBLAS picks one by the processor: a processor it does not know gets
    its generic Prescott kernels, which make scikit-learn's Gram several times slower)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ""
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return "".join(f" (NumPy's BLAS: {i.get('internal_api')} {i.get('version')}, {i.get('architecture')} kernel, "
                   f"{i.get('num_threads')} threads)" for i in blas[:1])


def child(argv):
    """One scikit-learn call, timed alone (the reference process of bench_path_cv.py; same protocol as
    R_SCRIPT): argv = TOOL KIND DATA LAMBDAS, TOOL lasso_path or LassoCV."""
    tool, kind, data, lambdas_file = argv
    import sklearn
    from sklearn.linear_model import LassoCV, lasso_path
    print(f"version scikit-learn {sklearn.__version__}{numpy_blas()}", flush=True)
    lambdas = np.loadtxt(lambdas_file, ndmin=1)
    try:
        X, y = read_xy(data)
        if kind == "sparse":
            X = X.tocsc()  # the layout both calls want (they would convert it inside the timed call)
        if tool == "lasso_path":  # lasso_path fits no intercept: centre first
            means, y_mean = np.asarray(X.mean(axis=0)).ravel(), y.mean()
            yc = y - y_mean
            if kind == "sparse":  # X stays sparse: the solver centres it implicitly with the means given here
                kw = dict(X_offset=means, X_scale=np.ones_like(means))
            else:
                X -= means  # in place: no second copy of X
                kw = {}
        print("ready", flush=True)
        t0 = time.perf_counter()
        if tool == "lasso_path":
            _, coefs, _ = lasso_path(X, yc, alphas=lambdas, copy_X=False, **kw)
        else:
            cv = LassoCV(cv=FOLDS, alphas=lambdas).fit(X, y)
        t = time.perf_counter() - t0
    except MemoryError as e:
        print("oom", e, flush=True)
        sys.exit(3)
    print(f"done {t:.3f}")
    if tool == "lasso_path":
        w = coefs[:, -1]
        print(f"lambdas {coefs.shape[1]}\nlast_lambda {lambdas.min():.17g}\ncoef")
        print("\n".join(f"{v:.17g}" for v in np.concatenate([[y_mean - means @ w], w])))
    else:
        print(f"lambda_min {cv.alpha_:.17g}")


def available_memory():
    with open("/proc/meminfo") as f:
        info = dict(line.split(":", 1) for line in f)
    return int(info["MemAvailable"].split()[0]) * 1024


def vm_peak(pid):
    """The peak address-space size of a running process, in bytes (0 if unknown)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmPeak:"))
    except (OSError, StopIteration):
        return 0


def reference(label, cmd, limit, memory):
    """Runs one reference process (the child above or R_SCRIPT) in a session of its own under an address-space
    limit of `memory` bytes (0: none); the fit has `limit` seconds (0: no limit) from the moment the process says
    its data is in memory, else the process group is killed. Returns dict(status="ok", seconds, values, coef),
    dict(status="stopped") or dict(status="oom", message); any other failure ends the run."""
    def preexec():
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    err = tempfile.TemporaryFile("w+")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True,
                         preexec_fn=preexec)
    lines = queue.Queue()

    def pump():
        for line in p.stdout:
            lines.put(line.strip())
        lines.put(None)
    threading.Thread(target=pump, daemon=True).start()
    out, ready, deadline = [], False, time.monotonic() + LOAD_LIMIT
    while True:
        try:
            line = lines.get(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            peak = vm_peak(p.pid)
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            if memory and peak + (256 << 20) >= memory:  # OpenBLAS spins, silently, when refused a thread's buffer
                return dict(status="oom", message=f"stalled at its address-space limit ({peak / 2**30:.1f} GiB)")
            if not ready:
                sys.exit(f"{label}: reading the data took over {LOAD_LIMIT} s: {' '.join(cmd)}")
            return dict(status="stopped")
        if line is None:
            break
        out.append(line)
        if line == "ready":
            ready, deadline = True, (time.monotonic() + limit) if limit else None
        elif line.startswith("done"):
            deadline = time.monotonic() + LOAD_LIMIT
    p.wait()
    oom = [line for line in out if line.startswith("oom")]
    if p.returncode == 3 and oom:
        return dict(status="oom", message=oom[0][4:])
    err.seek(0)
    if p.returncode != 0 or not any(line.startswith("done ") for line in out):
        sys.exit(f"{label} failed (exit status {p.returncode}): {' '.join(cmd)}\n" + "\n".join(out[-20:]) + "\n"
                 + err.read()[-4000:])
    done = next(i for i, line in enumerate(out) if line.startswith("done "))
    values, coef = {}, None
    for i in range(done + 1, len(out)):
        if out[i] == "coef":
            coef = np.array([float(v) for v in out[i + 1:] if v])
            break
        key, value = out[i].split(" ", 1)
        values[key] = value
    return dict(status="ok", seconds=float(out[done].split()[1]), values=values, coef=coef,
                versions=[line[8:] for line in out if line.startswith("version ")])


def objectives(data, fits, lam):
    """bench_lasso.objective of each (w, b) in fits on the data file, without holding X beyond its file: sparse X
    as a scipy CSR matrix, dense X by blocks of rows (the same formula, the squared residuals summed by block)."""
    with h5py.File(data) as f:
        g = f["X"]
        if isinstance(g, h5py.Group):
            X, y = read_xy(data)
            return [objective(X, y, w, b, lam) for w, b in fits]
        y = f["y"][()]
        n, d = g.shape
        rss = np.zeros(len(fits))
        step = max(1, BLOCK_BYTES // (8 * d))
        for i0 in range(0, n, step):
            Xb = g[i0:i0 + step]
            for k, (w, b) in enumerate(fits):
                r = y[i0:i0 + step] - Xb @ w - b
                rss[k] += np.vdot(r, r)
    return [0.5 * rss[k] / n + lam * np.abs(w).sum() for k, (w, _) in enumerate(fits)]


def problem_spec(name, scale, targets=1):
    p = dict(PROBLEMS[name], targets=targets)
    if scale != 1:
        p["rows"] = max(10 * FOLDS, round(p["rows"] * scale))
        p["features"] = max(10, round(p["features"] * scale))
    if "nnz_per_row" in p:
        p["nnz_per_row"] = min(p["nnz_per_row"], p["features"])
    return p


def describe(name, p):
    size = f"{p['rows']:,} x {p['features']:,}"
    kind = (f"sparse CSR {size}, {p['nnz_per_row']} nonzeros per row" if "nnz_per_row" in p
            else f"dense {size}, correlation {CORRELATION}")
    lasso = "lasso" if p["targets"] == 1 else f"lasso over {p['targets']} targets (elementwise l1)"
    return f"{name}: {kind}; {lasso}, {N_LAMBDA} lambdas to {p['min_ratio']:g} lambda_max, {FOLDS} folds"


def generate(a, env, name, p):
    """The problem's data file in --workdir, generated unless a file of that name and shape is there."""
    sparse = "nnz_per_row" in p
    k = p["targets"]
    data = os.path.join(a.workdir, f"bench_{'sparse_' if sparse else ''}{p['rows']}x{p['features']}"
                        f"{f'_k{k}' if k > 1 else ''}.h5")
    if os.path.exists(data):
        with h5py.File(data) as f:
            g = f["X"]
            shape = tuple(int(s) for s in g.attrs["shape"]) if isinstance(g, h5py.Group) else g.shape
            if shape != (p["rows"], p["features"]) or isinstance(g, h5py.Group) != sparse or \
                    f["y"].shape != ((p["rows"],) if k == 1 else (p["rows"], k)):
                sys.exit(f"{data} holds {'sparse' if isinstance(g, h5py.Group) else 'dense'} X of shape {shape} and "
                         f"y of shape {f['y'].shape}, not what {name} needs: move it away")
        return data, "reused"
    gen = ["generate", "--rows", str(p["rows"]), "--features", str(p["features"]), "--seed", "7", "--output", data,
           "--quiet"] + (["--targets", str(k)] if k > 1 else [])
    gen += ["--nnz-per-row", str(p["nnz_per_row"])] if sparse else ["--correlation", str(CORRELATION)]
    t, _ = run([a.cadmm] + gen, env, a.ranks)
    return data, f"generated in {t:.1f} s"


def fmt_time(r, limit, width=8):
    """A reference's seconds as printed: the time, "> 600 s (stopped)", "out of memory" or "-" (not run)."""
    if r is None:
        return f"{'-':>{width}}"
    if r["status"] == "stopped":
        return f"> {limit:g} s (stopped)"
    if r["status"] == "oom":
        return "out of memory"
    return f"{r['seconds']:{width}.2f}"


def ratio(t, r, limit, short=False):
    """cadmm's time over a reference's: "< x" where the reference was stopped (its time is over the limit)."""
    if r is None or r["status"] == "oom":
        return "oom" if r is not None and short else "-"
    if r["status"] == "stopped":
        return f"<{t / limit:.3g}"
    return f"{t / r['seconds']:.3g}"


def bench_problem(a, env, name, timings):
    """Times one problem with every tool and prints its tables; returns the summary row's figures."""
    p = problem_spec(name, a.scale, a.targets)
    data, made = generate(a, env, name, p)
    print(describe(name, p))
    print(f"  data {data} ({made}); cadmm on {a.ranks} rank(s)" + (f", median of {a.repeat} runs" if a.repeat > 1
                                                                    else ""))
    out = lambda tool: os.path.join(a.workdir, f"bench_{name}_{tool}.h5")  # noqa: E731
    binaries = [a.cadmm] + ([a.baseline] if a.baseline else [])
    ratio_args = ["--n-lambda", str(N_LAMBDA), "--lambda-min-ratio", f"{p['min_ratio']:g}"]

    def timed(label, args, tool):
        """`mpirun cadmm args --output out(tool)` timed with every binary (the baseline's output is
        out(tool + "_baseline")), interleaved, --repeat runs each; returns the new binary's median time, the
        output of that run, and the baseline's median time (None without --baseline)."""
        names = [tool, tool + "_baseline"]
        runs = run_interleaved([["mpirun", "-np", str(a.ranks), b] + args + ["--output", out(n)]
                                for b, n in zip(binaries, names)], env, a.repeat)
        t, text = median_run(runs[0])
        if not a.baseline:
            return t, text, None
        timings.append(dict(key=label, ts=[r[0] for r in runs[0]], tbs=[r[0] for r in runs[1]],
                            diff=answer_difference(out(names[0]), out(names[1]))))
        return t, text, median_run(runs[1])[0]

    t_path, _, b_path = timed("path", ["path", "--data", data, "--quiet"] + ratio_args, "path")
    t_cv = b_cv = t_solve = b_solve = None
    if not a.path_only:
        t_cv, cv_text, b_cv = timed("cv", ["cv", "--data", data, "--folds", str(FOLDS)] + ratio_args, "cv")
        t_solve, _, b_solve = timed(f"solve {p['min_ratio']:g} lambda_max",
                                    ["solve", "--data", data, "--lambda-ratio", f"{p['min_ratio']:g}", "--quiet"],
                                    "solve")
    with h5py.File(out("path")) as f:
        lambdas, pc, pb = f["path/lambda"][()], f["path/coef"][()], f["path/intercept"][()]
        path_iters = int(f["path/iterations"][()].sum())
    if not a.path_only:
        with h5py.File(out("cv")) as f:
            cv_min = float(f["cv/lambda_min"][()])
            cv_lambdas = f["cv/lambda"][()]
    lam = float(lambdas[-1])
    lambdas_file = os.path.join(a.workdir, f"bench_{name}_lambdas.txt")
    np.savetxt(lambdas_file, lambdas, fmt="%.17g")

    refs = {}
    if not a.no_references:
        me = os.path.abspath(__file__)
        kind = "sparse" if "nnz_per_row" in p else "dense"
        calls = [(tool, [sys.executable, me, "--child", tool, kind, data, lambdas_file])
                 for tool in ("lasso_path", "LassoCV")[:0 if a.no_sklearn or p["targets"] > 1 else 1 if a.path_only else 2]]
        if not a.no_glmnet:
            calls += [(tool, ["Rscript", a.r_script, tool, kind, data, lambdas_file, str(BLOCK_BYTES)])
                      for tool in ("glmnet", "cv.glmnet")[:1 if a.path_only else 2]]
        for tool, cmd in calls:
            memory = int(a.reference_memory_gb * 2**30) if a.reference_memory_gb else available_memory() - 2**30
            refs[tool] = reference(f"{name} {tool}", cmd, a.timeout, max(memory, 2**30))
            a.versions.update(refs[tool].get("versions", []))

    # the path tools' answers at the last lambda, all judged by one objective
    fits = [("cadmm path, whole process", t_path, b_path, (pc[-1], pb[-1]), None)]
    for tool, label in [("lasso_path", "scikit-learn lasso_path, fit alone"), ("glmnet", "glmnet, fit alone")]:
        if tool in refs:
            r = refs[tool]
            ok = r["status"] == "ok"
            if ok and int(r["values"]["lambdas"]) != len(lambdas):
                label += f" ({r['values']['lambdas']} of {len(lambdas)} lambdas)"
            fits.append((label, None, None, glmnet_fit(r["coef"], p["features"]) if ok else None, r))
    objs = objectives(data, [f[3] for f in fits if f[3] is not None], lam)
    best = min(objs)
    objs = iter(objs)

    vs = f" {'cadmm (baseline)':>16} {'new/base':>8}" if a.baseline else ""

    def base(t, tb):  # the baseline's columns, blank for the references
        if not a.baseline:
            return ""
        return f" {tb:16.2f} {t / tb:8.3f}" if tb is not None else f" {'':>16} {'':>8}"

    print(f"\n  {'path':<44} {'seconds':>8}{vs} {'objective at last lambda':>26} {'rel. to best':>13} "
          f"{'nonzeros':>9}")
    for label, t, tb, wb, r in fits:
        seconds = f"{t:8.2f}" if r is None else fmt_time(r, a.timeout)
        if wb is None:
            print(f"  {label:<44} {seconds:>8}{base(0, None)}")
            continue
        o = next(objs)
        print(f"  {label:<44} {seconds:>8}{base(t, tb)} {o:26.15e} {(o - best) / best:13.2e} "
              f"{int(np.count_nonzero(wb[0])):9d}")
    if not a.path_only:
        print(f"\n  {'10-fold cross-validation':<44} {'seconds':>8}{vs} {'lambda_min':>26}")
        print(f"  {'cadmm cv --folds 10, whole process':<44} {t_cv:8.2f}{base(t_cv, b_cv)} {cv_min:26.6e}")
    for tool, label in [("LassoCV", "scikit-learn LassoCV(cv=10), fit alone"),
                        ("cv.glmnet", "cv.glmnet(nfolds=10), fit alone")]:
        if tool in refs:
            r = refs[tool]
            lmin = f" {lambda_mins(r['values']['lambda_min']):>26}" if r["status"] == "ok" else ""
            print(f"  {label:<44} {fmt_time(r, a.timeout):>8}{base(0, None) if lmin else ''}{lmin}")
    row = dict(name=name, t_path=t_path, t_cv=t_cv, t_solve=t_solve, **{k: refs.get(k) for k in
                                                        ("lasso_path", "glmnet", "LassoCV", "cv.glmnet")})
    targets = [("path/glmnet", t_path, "glmnet"), ("path/lasso_path", t_path, "lasso_path"),
               ("cv/cv.glmnet", t_cv, "cv.glmnet"), ("cv/LassoCV", t_cv, "LassoCV")]
    shown = [f"{label} {ratio(t, refs[tool], a.timeout)}" for label, t, tool in targets if tool in refs and t is not None]
    was = lambda tb: f", baseline {tb:.2f} s" if tb is not None else ""  # noqa: E731
    if shown:
        print("\n  ratios: " + "; ".join(shown))
    if a.accuracy:
        accuracy_sweep(a, env, name, data, lambdas_file, ratio_args, out, best)
    if a.path_only:
        print(("" if shown else "\n") + f"  cadmm: {path_iters} ADMM iterations over the path (--path-only: no cv, no solve)\n")
        return row
    print(("" if shown else "\n") + f"  cadmm: path/solve {t_path / t_solve:.2f}; cv/solve {t_cv / t_solve:.2f} (one "
          f"solve at {p['min_ratio']:g} lambda_max: {t_solve:.2f} s{was(b_solve)}); {path_iters} ADMM iterations "
          "over the path")
    for tool in ("lasso_path", "LassoCV", "glmnet", "cv.glmnet"):
        if tool in refs and refs[tool]["status"] == "oom":
            print(f"  {tool}: out of memory under the limit of the reference process ({refs[tool]['message']})")
    if len(cv_lambdas) != len(lambdas) or not np.allclose(cv_lambdas, lambdas, rtol=1e-12, atol=0):
        print("  NOTE: cadmm cv's lambdas differ from its path's (the references fit the path's)")
    print("\n  " + cv_text[cv_text.rfind("cadmm cv:"):].rstrip().replace("\n", "\n  ") + "\n")
    return row


def accuracy_sweep(a, env, name, data, lambdas_file, ratio_args, out, best):
    """--accuracy: the path again at each cadmm --gap-tol of --gap-tols and each glmnet thresh of --threshes, in the
    same run, so that time is read against accuracy: the objective at the last lambda relative to the best of every
    fit in the run, and for cadmm the largest duality gap it certified over the path (relative to the objective);
    glmnet certifies nothing and reports its passes over the data instead."""
    lam = None
    fits, cvs = [], []
    for tol in a.gap_tols.split(","):
        tool = f"path_gap{tol}"
        t, _ = median_run(run_interleaved([["mpirun", "-np", str(a.ranks), a.cadmm, "path", "--data", data, "--quiet",
                                            "--gap-tol", tol] + ratio_args + ["--output", out(tool)]], env,
                                          a.repeat)[0])
        with h5py.File(out(tool)) as f:
            lam = float(f["path/lambda"][-1])
            gap = float(np.max(f["path/duality_gap"][()] / np.abs(f["path/objective"][()])))
            fits.append((f"cadmm path --gap-tol {tol}", t, (f["path/coef"][-1], f["path/intercept"][-1]),
                         f"{gap:.1e}"))
    if not (a.no_glmnet or a.no_references):
        kind = "sparse" if isinstance(h5py.File(data)["X"], h5py.Group) else "dense"
        memory = int(a.reference_memory_gb * 2**30) if a.reference_memory_gb else available_memory() - 2**30
        for thresh in a.threshes.split(","):
            r = reference(f"{name} glmnet thresh {thresh}",
                          ["Rscript", a.r_script, "glmnet", kind, data, lambdas_file, str(BLOCK_BYTES), thresh],
                          a.timeout, max(memory, 2**30))
            if r["status"] == "ok":
                fits.append((f"glmnet thresh {thresh}", r["seconds"], glmnet_fit(r["coef"], len(fits[0][2][0])),
                             f"{r['values']['passes']} passes"))
            else:
                print(f"  glmnet thresh {thresh}: {fmt_time(r, a.timeout).strip()}")
            if not a.path_only:  # its folds fitted to the same thresh
                r = reference(f"{name} cv.glmnet thresh {thresh}", ["Rscript", a.r_script, "cv.glmnet", kind, data,
                                                                    lambdas_file, str(BLOCK_BYTES), thresh],
                              a.timeout, max(memory, 2**30))
                cvs.append((f"cv.glmnet(nfolds=10) thresh {thresh}", r))
    objs = objectives(data, [f[2] for f in fits], lam)
    best = min([best] + objs)
    print(f"\n  {'accuracy (--accuracy): the path again':<44} {'seconds':>8} {'objective rel. to best':>23} "
          f"{'largest certified gap':>22}")
    for (label, t, _, note), o in zip(fits, objs):
        print(f"  {label:<44} {t:8.2f} {(o - best) / best:23.2e} {note:>22}")
    for label, r in cvs:
        lmin = f" lambda_min {lambda_mins(r['values']['lambda_min'])}" if r["status"] == "ok" else ""
        print(f"  {label:<44} {fmt_time(r, a.timeout):>8}{lmin}")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cadmm", default=os.path.join(os.path.dirname(__file__), "..", "build", "cadmm"))
    ap.add_argument("--problems", default="P1,W1,S1",
                    help=f"comma-separated, of {','.join(PROBLEMS)} (default P1,W1,S1; G1 needs ~20 GB and an hour)")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply every problem's rows and features by F (own data files), for quick trials")
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--targets", type=int, default=1,
                    help="k targets (y of k columns, own data files; elementwise l1): glmnet fits each target in turn "
                         "and its time is their sum; scikit-learn is skipped (its 2-D y means the multi-task penalty)")
    ap.add_argument("--no-sklearn", action="store_true", help="skip scikit-learn (lasso_path, LassoCV)")
    ap.add_argument("--path-only", action="store_true",
                    help="time the paths alone (cadmm path, lasso_path, glmnet): no cv, no solve")
    ap.add_argument("--accuracy", action="store_true",
                    help="also time the path at each --gap-tols (cadmm) and --threshes (glmnet), the same run: time "
                         "against accuracy")
    ap.add_argument("--gap-tols", default="1e-10,1e-8,1e-6,1e-4", help="cadmm's --gap-tol values for --accuracy")
    ap.add_argument("--threshes", default="1e-7,1e-9,1e-11", help="glmnet's thresh values for --accuracy")
    ap.add_argument("--workdir", default="/work/benchwork" if os.path.isdir("/work/benchwork")
                    else tempfile.gettempdir())
    add_comparison_options(ap, 1, "cadmm (the references run once)")
    ap.add_argument("--timeout", type=float, default=600,
                    help="seconds each reference fit may run once its data is in memory (default 600; 0: no limit)")
    ap.add_argument("--reference-memory-gb", type=float, default=0,
                    help="address-space limit of each reference process (default: the memory available when it "
                         "starts, less 1 GiB)")
    a = ap.parse_args()
    names = [n.strip() for n in a.problems.split(",") if n.strip()]
    unknown = [n for n in names if n not in PROBLEMS]
    if unknown or not names:
        ap.error(f"--problems: unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(PROBLEMS)}")
    if a.scale <= 0:
        ap.error("--scale must be positive")
    if a.targets < 1:
        ap.error("--targets must be at least 1")
    for binary in [a.cadmm] + ([a.baseline] if a.baseline else []):
        if not os.access(binary, os.X_OK):
            sys.exit(f"no cadmm executable at {binary} (--cadmm / --baseline)")
    if not (a.no_glmnet or a.no_references) and shutil.which("Rscript") is None:
        sys.exit("no Rscript for the glmnet columns: apt-get install r-cran-glmnet r-cran-hdf5r, or pass --no-glmnet")
    os.makedirs(a.workdir, exist_ok=True)
    env = mpi_env()
    env.pop("OPENBLAS_NUM_THREADS", None)  # let cadmm size its BLAS pool
    built = subprocess.run([a.cadmm, "--version"], env=env, capture_output=True, text=True).stdout.strip()
    print("cadmm: " + " ".join(built.splitlines()[1:]), flush=True)  # its instruction set and products' library
    a.versions = set()
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
        fh.write(R_SCRIPT)
    a.r_script = fh.name
    try:
        verdicts, rows = [], []
        for name in names:
            timings = []  # for the before/after verdict
            rows.append(bench_problem(a, env, name, timings))
            if a.baseline:
                verdicts.append(verdict(describe(name, problem_spec(name, a.scale, a.targets)).split(";")[0], timings))
    finally:
        os.unlink(a.r_script)

    refs = "" if a.no_references else (
        "; references fit alone, data in memory, stopped after " + (f"{a.timeout:g} s" if a.timeout else "no limit")
        + "".join(f"; {v}" for v in sorted(a.versions)))
    print(f"summary: seconds (cadmm whole process, {a.ranks} rank(s){refs})")
    ran = lambda key: any(row[key] is not None for row in rows)  # noqa: E731
    cols = [(c, k) for c, k in [("cadmm path", "t_path"), ("lasso_path", "lasso_path"), ("glmnet", "glmnet"),
                                ("cadmm cv", "t_cv"), ("LassoCV", "LassoCV"), ("cv.glmnet", "cv.glmnet")] if ran(k)]
    targets = [("path/glmnet", "t_path", "glmnet"), ("path/lasso_path", "t_path", "lasso_path"),
               ("cv/cv.glmnet", "t_cv", "cv.glmnet"), ("cv/LassoCV", "t_cv", "LassoCV"),
               ("path/solve", "t_path", "t_solve"), ("cv/solve", "t_cv", "t_solve")]
    targets = [(c, t, r) for c, t, r in targets if ran(r)]
    print(f"{'problem':<8}" + "".join(f" {c:>10}" for c, _ in cols) + " |"
          + "".join(f" {c:>{max(10, len(c))}}" for c, _, _ in targets))

    def cell(row, key):
        v = row[key]
        if isinstance(v, float):
            return f"{v:.2f}"
        if v is None:
            return "-"
        return {"stopped": f">{a.timeout:g}", "oom": "oom"}.get(v["status"], f"{v.get('seconds', 0):.2f}")

    def quotient(row, t, r):
        v = row[r]
        if row[t] is None:
            return "-"
        if isinstance(v, float):
            return f"{row[t] / v:.3g}"
        return ratio(row[t], v, a.timeout, short=True)
    for row in rows:
        print(f"{row['name']:<8}" + "".join(f" {cell(row, k):>10}" for _, k in cols) + " |"
              + "".join(f" {quotient(row, t, r):>{max(10, len(c))}}" for c, t, r in targets))
    if a.baseline:
        print()
        print_before_after(a.cadmm, a.baseline, a.repeat, verdicts)


if __name__ == "__main__":
    main()
