#!/usr/bin/env python3
"""cadmm against scikit-learn and glmnet on the performance issue's problems, side by side in one run.

    /usr/bin/python3 bench/bench_performance.py [--cadmm build/cadmm] [--ranks 1 2] [--only P1,P3] [--no-glmnet]
                                                [--repeat 3] [--baseline OLD/cadmm] [--no-references] [--scale F]

Problems (generated once into --workdir by `cadmm generate`, seed 7):
  P1  dense 200,000 x 500, correlation 0.5, lasso at 0.1 lambda_max
  P2  dense 100,000 x 1,000, correlation 0.9, lasso at 0.05 lambda_max
  P3  dense 100,000 x 500, 10 targets, l21 at 0.1 lambda_max (MultiTaskLasso; glmnet family "mgaussian")
  P4  P2's data, elastic net l1_ratio 0.5 at 0.05 lambda_max
  S   sparse CSR 100,000 x 50,000, 40 nonzeros per row, lasso at 0.05 lambda_max (no glmnet: hdf5r reads no CSR)

cadmm is timed as its whole `mpirun` process (launch, read, setup, iterations, write); so is its floor, a
`mpirun cadmm info FILE --read-test` that only starts and reads each rank's share. scikit-learn (first fit in
the process, then a repeated fit) and glmnet (through Rscript) are timed on their fit calls alone, with the data
already in memory (Fortran-ordered for scikit-learn). Every answer's objective is recomputed here with one
formula and compared with the best one found ("rel. obj": (objective - best) / best); the references run at the
loosest tolerance, from their default down in 10x steps, that comes within 1e-6 of cadmm's certified objective
(scikit-learn's first fit, at its default tolerance, is timed for the cost of a first call). cadmm runs three
times per rank count on dense data: its plan's choice, `--local-solver gram` (the full Gram, whose setup rate is
compared with this machine's DGEMM) and `--local-solver streamed` (working sets, the rows read again). A fourth
run, "terms", adds per-feature terms to the plan's run (issue 18's cost target: at most 1.2x the plain solve):
penalty factors (5 features unpenalized, 45 penalized twice, in a dataset /bench_penalty_factor written into the
data file) and bounds of +-half the plain solution's largest |coefficient| (they bind); its "x plain" note is its
time over the plain run's. A fifth, "weights", adds observation weights (uniform on [0, 2], /bench_weights). Their
objectives are other problems', so they have no "rel. obj".
Every time printed is the median of --repeat runs (cadmm, its floor, scikit-learn's repeated fit and glmnet;
fits over 20 s run once); the first fit in a process is, by its nature, measured once.

Before/after: --baseline BIN times every cadmm run (floors included) with a second executable as well, the two
interleaved run by run (new, baseline, new, baseline, ...), each writing its own output. The tables gain the
columns "cadmm (baseline)" (its median) and "new/base"; at the end, per problem, one verdict line (the range of
the ratios of medians, "slower beyond noise" when in some timing the new binary's fastest run is slower than the
baseline's slowest, and whether the two answers are equal bit for bit), then one line per timing with each side's
median and spread (min..max). --no-references skips scikit-learn and glmnet (a before/after check needs neither);
--scale F multiplies every problem's rows by F (into files of their own), for a quick smoke test.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # the references and the DGEMM probe on one core, as a rank
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn.linear_model import ElasticNet, Lasso, MultiTaskLasso  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "cli"))
from mpirun import mpi_env  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from bench_sparse import add_comparison_options, answer_difference, median_run, print_before_after, run_interleaved, verdict  # noqa: E402

PROBLEMS = {
    "P1": dict(gen=["--rows", "200000", "--features", "500", "--correlation", "0.5"], penalty="l1", ratio=0.1),
    "P2": dict(gen=["--rows", "100000", "--features", "1000", "--correlation", "0.9"], penalty="l1", ratio=0.05),
    "P3": dict(gen=["--rows", "100000", "--features", "500", "--targets", "10", "--correlation", "0.5"],
               penalty="l21", ratio=0.1),
    "P4": dict(data="P2", penalty="elasticnet", l1_ratio=0.5, ratio=0.05),
    "S": dict(gen=["--rows", "100000", "--features", "50000", "--nnz-per-row", "40"], penalty="l1", ratio=0.05),
}

R_SCRIPT = r"""
suppressPackageStartupMessages({ library(glmnet); library(hdf5r) })
a <- commandArgs(TRUE)
f <- H5File$new(a[1], mode = "r"); x <- t(f[["X"]]$read()); y <- f[["y"]]$read(); f$close_all()
if (is.matrix(y) || length(dim(y)) == 2) y <- t(y)
family <- if (a[2] == "l21") "mgaussian" else "gaussian"
alpha <- as.numeric(a[3]); lambda <- as.numeric(a[4]); s <- 1
if (family == "gaussian" && alpha < 1) {
  # glmnet scales y to unit variance inside, which changes the elastic net's problem (its ridge part does not
  # scale with y): hand it y / s and the weights of the same problem in those units, and scale back.
  s <- sqrt(mean((y - mean(y))^2)); y <- y / s
  l1 <- lambda * alpha / s; l2 <- lambda * (1 - alpha); lambda <- l1 + l2; alpha <- l1 / lambda
}
threshs <- as.numeric(strsplit(a[5], ",")[[1]]); reps <- as.integer(a[6])
for (thresh in threshs) {  # glmnet's default first, then tighter; the median time of reps fits
  times <- numeric(0)
  for (r in seq_len(reps)) {
    t0 <- proc.time()[["elapsed"]]
    fit <- glmnet(x, y, family = family, alpha = alpha, lambda = lambda, standardize = FALSE, thresh = thresh)
    times <- c(times, proc.time()[["elapsed"]] - t0)
  }
  b <- coef(fit)
  if (is.list(b)) b <- do.call(cbind, lapply(b, as.numeric)) else b <- matrix(as.numeric(b), ncol = 1) * s
  cat(sprintf("fit %g %.4f %d %d\n", thresh, median(times), nrow(b), ncol(b)))
  write.table(b, stdout(), row.names = FALSE, col.names = FALSE)
}
"""


def run(cmd, env, repeat=1):
    """Runs cmd repeat times; returns the median time and the output of that run (single runs here vary by
    20-30%)."""
    return median_run(run_interleaved([cmd], env, repeat)[0])


def binaries(a):
    """The cadmm executables timed: the new one, then the baseline if given."""
    return [a.cadmm] + ([a.baseline] if a.baseline else [])


def side_by_side(a, env, make_cmd):
    """Runs make_cmd(binary, i) for the i-th binary of binaries(a), --repeat times each, interleaved; returns per
    binary (median seconds, output of that run, every run's seconds)."""
    runs = run_interleaved([make_cmd(b, i) for i, b in enumerate(binaries(a))], env, a.repeat)
    return [median_run(r) + ([t for t, _ in r],) for r in runs]


def median_time(fit, repeat, first):
    """The median of `first` (a time already measured) and repeat - 1 more timed calls of fit(); fits beyond
    20 s are not repeated."""
    times = [first]
    while len(times) < repeat and first < 20:
        t0 = time.perf_counter()
        fit()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def objective(X, Y, W, b, lam, penalty, a):
    R = Y - X @ W - b
    loss = 0.5 * float((R * R).sum()) / Y.shape[0]
    if penalty == "l21":
        return loss + lam * np.linalg.norm(W, axis=1).sum()
    return loss + lam * (a * np.abs(W).sum() + 0.5 * (1 - a) * float((W * W).sum()))


def load(path):
    with h5py.File(path) as f:
        g = f["X"]
        if isinstance(g, h5py.Group):
            shape = tuple(int(s) for s in g.attrs["shape"])
            X = sp.csr_matrix((g["data"][()], g["indices"][()], g["indptr"][()]), shape=shape)
        else:
            X = np.asfortranarray(g[()])
        y = f["y"][()]
    return X, (y if y.ndim == 2 else y[:, None])


def dgemm_rate():
    a = np.random.default_rng(0).standard_normal((3000, 3000))
    best = np.inf
    for _ in range(4):
        t0 = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t0)
    return 2 * 3000 ** 3 / best / 1e9


def sequential_read_rate(path):
    t0 = time.perf_counter()
    n = 0
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(64 << 20):
            n += len(chunk)
    return n / (time.perf_counter() - t0) / 1e9


def with_factors(data, d, n):
    """The data file with /bench_penalty_factor (5 unpenalized features, 45 penalized twice, the rest once) and
    /bench_weights (n observation weights, uniform on [0, 2], seeded) added."""
    with h5py.File(data, "a") as f:
        if "bench_penalty_factor" not in f:
            pf = np.ones(d)
            pf[:5], pf[5:50] = 0.0, 2.0
            f["bench_penalty_factor"] = pf
        if "bench_weights" not in f:
            f["bench_weights"] = np.random.default_rng(7).uniform(0, 2, n)
    return data


def cadmm_run(a, env, ranks, data, spec, out, extra=()):
    """The solve timed with the new binary and, given --baseline, the baseline (its output beside out, named
    *_baseline.h5); returns the new one's figures, with the baseline's times and answer difference added."""
    outs = [out, out[:-3] + "_baseline.h5"]

    def cmd(binary, i):
        c = ["mpirun", "-np", str(ranks), binary, "solve", "--data", data, "--penalty", spec["penalty"],
             "--lambda-ratio", str(spec["ratio"]), "--output", outs[i]] + list(extra)
        return c + (["--l1-ratio", str(spec["l1_ratio"])] if "l1_ratio" in spec else [])

    timed = side_by_side(a, env, cmd)
    t, text, ts = timed[0]
    num = lambda pat: float(re.search(pat, text).group(1))  # noqa: E731
    with h5py.File(out) as f:
        W, b = f["coef"][()], f["intercept"][()]
        lam = float(f.attrs["lambda"])
    W = W if W.ndim == 2 else W[:, None]
    ws = re.search(r"working set (\d+) of \d+ features after (\d+) round", text)
    c = dict(t=t, ts=ts, read=num(r"read ([\d.]+)s"), setup=num(r"setup/factor ([\d.]+)s"),
             iters=num(r"iterations ([\d.]+)s"), mem=num(r"peak ([\d.]+) MiB"), W=W, b=b, lam=lam,
             plan=re.search(r"rank\(s\): ([^\n]+)", text).group(1), ws=f"{ws.group(1)}/{ws.group(2)}" if ws else "-")
    if a.baseline:
        c.update(tb=timed[1][0], tbs=timed[1][2], diff=answer_difference(out, outs[1]))
    return c


def references(a, X, Y, spec, lam, data, accurate):
    """scikit-learn and glmnet at the loosest tolerance (their default first, then 10x tighter) whose objective
    passes accurate(W, b); the fit time reported is that fit's."""
    out = []
    pen, l1r = spec["penalty"], spec.get("l1_ratio", 1.0)
    cls = {"l21": MultiTaskLasso, "elasticnet": ElasticNet}.get(pen, Lasso)
    kw = dict(l1_ratio=l1r) if pen == "elasticnet" else {}
    y = Y if pen == "l21" else Y[:, 0]
    t0 = time.perf_counter()
    cls(alpha=lam, max_iter=100_000, **kw).fit(X, y)
    first = time.perf_counter() - t0
    for tol in (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10):
        t0 = time.perf_counter()
        m = cls(alpha=lam, tol=tol, max_iter=100_000, **kw).fit(X, y)
        t = time.perf_counter() - t0
        W = m.coef_.T if pen == "l21" else m.coef_[:, None]
        if accurate(W, np.atleast_1d(m.intercept_)) or tol == 1e-10:
            break
    t = median_time(lambda: cls(alpha=lam, tol=tol, max_iter=100_000, **kw).fit(X, y), a.repeat, t)
    out.append(dict(name="scikit-learn, first fit in process (tol 1e-4)", t=first))
    out.append(dict(name=f"scikit-learn, repeated, tol {tol:g}", t=t, W=W, b=np.atleast_1d(m.intercept_)))
    if not a.no_glmnet and not sp.issparse(X):
        def glmnet(threshs, reps):
            p = subprocess.run(["Rscript", "-e", R_SCRIPT, data, pen, str(l1r), repr(lam), ",".join(threshs), str(reps)],
                               capture_output=True, text=True, timeout=3600)
            if p.returncode != 0:
                print("glmnet failed:", p.stderr.strip().splitlines()[-1:], file=sys.stderr)
                return []
            lines, fits, i = p.stdout.splitlines(), [], 0
            while i < len(lines):
                _, thresh, t, nr, nc = lines[i].split()
                B = np.array([[float(v) for v in line.split()] for line in lines[i + 1:i + 1 + int(nr)]])
                i += 1 + int(nr)
                fits.append(dict(name=f"glmnet, thresh {float(thresh):g}", thresh=thresh, t=float(t), W=B[1:], b=B[0]))
            return fits

        # Each threshold once, the first accurate one then timed as the median of --repeat fits.
        fits = glmnet(["1e-7", "1e-9", "1e-11", "1e-13"], 1)
        row = next((f for f in fits if accurate(f["W"], f["b"])), fits[-1] if fits else None)
        if row is not None:
            if a.repeat > 1 and row["t"] < 20:
                row["t"] = glmnet([row["thresh"]], a.repeat)[0]["t"]
            out.append(row)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cadmm", default=os.path.join(os.path.dirname(__file__), "..", "build", "cadmm"))
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--only", default=",".join(PROBLEMS), help="comma-separated problems (P1,P2,P3,P4,S)")
    ap.add_argument("--workdir", default=tempfile.gettempdir())
    add_comparison_options(ap, 3, "every tool")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply every problem's rows by this (data in files of their own; for smoke tests)")
    a = ap.parse_args()
    env = mpi_env()
    env.pop("OPENBLAS_NUM_THREADS", None)  # cadmm sizes its own BLAS pool
    gemm = dgemm_rate()
    print(f"machine: DGEMM {gemm:.1f} GFLOP/s on one core (numpy/OpenBLAS, 3000 x 3000, best of 4)\n")
    files, verdicts = {}, []
    for name in a.only.split(","):
        spec = PROBLEMS[name]
        src = spec.get("data", name)
        if src not in files:
            gen = list(PROBLEMS[src]["gen"])
            tag = ""
            if a.scale != 1:
                i = gen.index("--rows") + 1
                gen[i], tag = str(max(100, round(int(gen[i]) * a.scale))), f"_x{a.scale:g}"
            files[src] = os.path.join(a.workdir, f"perf_{src}{tag}.h5")
            if not os.path.exists(files[src]):
                run(["mpirun", "-np", "2", a.cadmm, "generate", "--seed", "7", "--output", files[src], "--quiet"]
                    + gen, env)
        data = files[src]
        X, Y = load(data)
        n, d = X.shape
        disk = sequential_read_rate(data)
        rows = []
        for r in a.ranks:
            timed = side_by_side(a, env, lambda binary, _: ["mpirun", "-np", str(r), binary, "info", data,
                                                             "--read-test"])
            t_floor, text, ts = timed[0]
            read_rate = float(re.search(r"([\d.]+) GB/s", text).group(1))
            rows.append(dict(name=f"floor: mpirun -np {r} cadmm info --read-test", t=t_floor, ts=ts,
                             key=f"floor np={r}",
                             note=f"read {read_rate:.2f} GB/s (plain sequential read {disk:.2f} GB/s)"))
            if a.baseline:
                rows[-1].update(tb=timed[1][0], tbs=timed[1][2])
            forms = (("plan", ()), ("gram", ("--local-solver", "gram")), ("streamed", ("--local-solver", "streamed")))
            for label, extra in forms[:1 if sp.issparse(X) else 3]:
                c = cadmm_run(a, env, r, data, spec, os.path.join(a.workdir, f"perf_out_{name}.h5"), extra)
                share = 8.0 * (n // r) * d / 2 ** 20 if not sp.issparse(X) else 12.0 * X.nnz / r / 2 ** 20
                note = (f"read {c['read']:.2f} setup {c['setup']:.2f} iter {c['iters']:.2f} s; "
                        f"peak {c['mem']:.0f} MiB/rank (data share {share:.0f} MiB); {c['plan']}")
                if label == "gram" and not sp.issparse(X):
                    rate = (n / r) * d * d / max(c["setup"], 1e-9) / 1e9
                    note += f"; Gram {rate:.1f} GFLOP/s/rank ({rate / gemm:.0%} of DGEMM)"
                if c["ws"] != "-":
                    note += f"; working set {c['ws']} rounds"
                rows.append(dict(name=f"cadmm np={r} {label}", t=c["t"], W=c["W"], b=c["b"], note=note,
                                 tail=c["t"] / t_floor, key=f"np={r} {label}",
                                 **{k: c[k] for k in ("ts", "tb", "tbs", "diff") if k in c}))
                lam = c["lam"]
                if label == "plan":
                    plain = c
            # The plan's run again with factors and binding bounds: the cost of per-feature terms.
            # (l21 takes no bounds: factors alone.)
            bound = f"{0.5 * np.abs(plain['W']).max():.6g}"
            terms = ("--penalty-factor-dataset", "/bench_penalty_factor")
            if spec["penalty"] != "l21":
                terms += ("--lower-limits", f"-{bound}", "--upper-limits", bound)
            what = "factors" if spec["penalty"] == "l21" else f"factors, bounds +-{bound}"
            # And with observation weights (read with y, weighted in the same pass).
            for label, extra in ((f"terms ({what})", terms), ("weights", ("--weights-dataset", "/bench_weights"))):
                key = label.split()[0]
                c = cadmm_run(a, env, r, with_factors(data, d, n), spec,
                              os.path.join(a.workdir, f"perf_out_{name}_{key}.h5"), extra)
                rows.append(dict(name=f"cadmm np={r} {label}", t=c["t"], tail=c["t"] / t_floor,
                                 key=f"np={r} {key}", note=f"x plain {c['t'] / plain['t']:.2f}; read {c['read']:.2f} "
                                 f"setup {c['setup']:.2f} iter {c['iters']:.2f} s",
                                 **{k: c[k] for k in ("ts", "tb", "tbs", "diff") if k in c}))
        l1r = spec.get("l1_ratio", 1.0)
        obj = lambda W, b: objective(X, Y, W, b, lam, spec["penalty"], l1r)  # noqa: E731
        for row in rows:
            if "W" in row:
                row["obj"] = obj(row["W"], row["b"])
        # cadmm's answers are certified by a duality gap of 1e-10; the references must come within 1e-6 of them.
        target = min(row["obj"] for row in rows if "obj" in row)
        if not a.no_references:
            rows += references(a, X, Y, spec, lam, data, lambda W, b: obj(W, b) <= target + 1e-6 * abs(target))
        for row in rows:
            if "W" in row:
                row["obj"] = obj(row["W"], row["b"])
        best = min(row["obj"] for row in rows if "obj" in row)
        what = {"l1": "lasso", "l21": "l21", "elasticnet": f"elastic net a={l1r}"}[spec["penalty"]]
        kind = f"sparse {X.nnz} nonzeros" if sp.issparse(X) else "dense"
        print(f"{name}: {n} x {d} {kind}, {Y.shape[1]} target(s), {what} at {spec['ratio']} lambda_max = {lam:.6g}")
        vs = f" {'cadmm (baseline)':>16} {'new/base':>8}" if a.baseline else ""
        print(f"  {'run':<44} {'seconds':>8}{vs} {'rel. obj':>10} {'x floor':>8}  notes")
        for row in rows:
            rel = f"{(row['obj'] - best) / abs(best):10.1e}" if "obj" in row else f"{'':>10}"
            tail = f"{row['tail']:8.2f}" if "tail" in row else f"{'':>8}"
            if a.baseline:
                vs = f" {row['tb']:16.2f} {row['t'] / row['tb']:8.3f}" if "tb" in row else f" {'':>16} {'':>8}"
            print(f"  {row['name']:<44} {row['t']:8.2f}{vs} {rel} {tail}  {row.get('note', '')}")
        print()
        if a.baseline:
            verdicts.append(verdict(name, [row for row in rows if "tb" in row]))
    if a.baseline:
        print_before_after(a.cadmm, a.baseline, a.repeat, verdicts)


if __name__ == "__main__":
    main()
