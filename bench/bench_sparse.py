#!/usr/bin/env python3
"""cadmm on sparse CSR data vs scikit-learn on the same CSR matrix, side by side in one run.

    /usr/bin/python3 bench/bench_sparse.py [--cadmm build/cadmm] [--ranks 2] [--big]

Problem: `cadmm generate --rows 100000 --features 50000 --nnz-per-row 40`, lasso and elastic net (l1_ratio 0.5) at
0.05 lambda_max. cadmm is timed as a whole `mpirun` process; scikit-learn's Lasso / ElasticNet.fit alone on the
scipy CSR matrix already in memory (it centres sparse X implicitly, as cadmm does), at the lambda cadmm used; both
objectives are recomputed here with one formula. --big adds 1,000,000 x 1,000,000 with 40 nonzeros per row,
cadmm alone, with its plan (`cadmm info`).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import ElasticNet, Lasso

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "cli"))
from mpirun import mpi_env  # noqa: E402


def run(args, env, ranks=None):
    cmd = (["mpirun", "-np", str(ranks)] if ranks else []) + args
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, timeout=3600, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(p.stdout + p.stderr)
    return time.perf_counter() - t0, p.stdout


def run_interleaved(cmds, env, repeat=1):
    """Runs every command of cmds repeat times, interleaved run by run (A, B, A, B, ...: whatever else the machine
    does hits them alike); returns for each command its list of (seconds, stdout), in run order."""
    runs = [[] for _ in cmds]
    for _ in range(repeat):
        for cmd, done in zip(cmds, runs):
            t0 = time.perf_counter()
            p = subprocess.run(cmd, env=env, timeout=3600, capture_output=True, text=True)
            if p.returncode != 0:
                sys.exit(" ".join(cmd) + "\n" + p.stdout + p.stderr)
            done.append((time.perf_counter() - t0, p.stdout))
    return runs


def median_run(runs):
    """The run of median time among (seconds, stdout) pairs (the upper one of an even count)."""
    return sorted(runs, key=lambda r: r[0])[len(runs) // 2]


def before_after(label, new, base):
    """One line comparing two lists of seconds, the new binary's and the baseline's: medians, spread (min..max)
    and the ratio of medians; "slower beyond noise" only when new's fastest run is slower than the baseline's
    slowest. Returns (line, ratio, slower)."""
    med = lambda ts: sorted(ts)[len(ts) // 2]  # noqa: E731
    ratio = med(new) / med(base)
    slower, faster = min(new) > max(base), max(new) < min(base)
    verdict = "slower beyond noise" if slower else "faster beyond noise" if faster else "within noise"
    line = (f"{label:<22} new {med(new):7.3f} s ({min(new):.3f}..{max(new):.3f})  "
            f"baseline {med(base):7.3f} s ({min(base):.3f}..{max(base):.3f})  new/baseline {ratio:.3f}  {verdict}")
    return line, ratio, slower


def verdict(name, timings):
    """The before/after lines of one problem: its verdict, then one line per timing. timings: dicts with key (a
    label), ts and tbs (the new binary's and the baseline's seconds) and, for runs with an answer, diff (None when
    the answers are equal bit for bit, else answer_difference's text)."""
    lines, ratios, slow = [], [], []
    for row in timings:
        line, ratio, slower = before_after(row["key"], row["ts"], row["tbs"])
        lines.append("    " + line)
        ratios.append(ratio)
        if slower:
            slow.append(f"{row['key']} ({ratio:.3f})")
    diffs = [f"{row['key']}: {row['diff']}" for row in timings if row.get("diff")]
    runs = sum(1 for row in timings if "diff" in row)
    head = (f"{name}: " + (f"slower beyond noise in {', '.join(slow)}" if slow else "within noise")
            + f"; new/baseline {min(ratios):.3f}..{max(ratios):.3f} over {len(timings)} timings; "
            + (f"answers DIFFER in {len(diffs)} of {runs} runs: {'; '.join(diffs)}" if diffs
               else f"answers equal bit for bit in all {runs} runs"))
    return [head] + lines


def add_comparison_options(ap, repeat_default, repeated):
    """The options every benchmark that compares binaries and references shares: --no-glmnet, --repeat (the
    runs of what `repeated` names), --baseline and --no-references."""
    ap.add_argument("--no-glmnet", action="store_true")
    ap.add_argument("--repeat", type=int, default=repeat_default,
                    help=f"runs per timing of {repeated}; the median is printed (default {repeat_default})")
    ap.add_argument("--baseline", metavar="BIN",
                    help="a second cadmm executable (e.g. the one before a change): every cadmm timing is made "
                         "with both, interleaved run by run, and printed side by side with a verdict per problem")
    ap.add_argument("--no-references", action="store_true", help="skip scikit-learn and glmnet")


def print_before_after(new, base, repeat, verdicts):
    """Prints the before/after section: a header, then every problem's verdict(...) lines."""
    print(f"before/after: new {new} against baseline {base}, {repeat} interleaved run(s) each; median (min..max) "
          "seconds" + ("; one run each has no spread: the flags mean nothing" if repeat < 2 else ""))
    for lines in verdicts:
        print("\n".join(lines))


def answer_difference(path_a, path_b):
    """None if two cadmm output files hold the same answer bit for bit (every dataset and attribute, timings
    aside), else the first difference found, as text."""
    def items(f):
        out = {f"@{k}": v for k, v in f.attrs.items() if "seconds" not in k}
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                v = obj[()]
                if v.dtype.names:  # the history: every field but its clock
                    for field in v.dtype.names:
                        if field != "seconds":
                            out[f"{name}.{field}"] = v[field]
                else:
                    out[name] = v
            for k, a in obj.attrs.items():
                if "seconds" not in k:
                    out[f"{name}@{k}"] = a
        f.visititems(visit)
        return out
    with h5py.File(path_a) as fa, h5py.File(path_b) as fb:
        a, b = items(fa), items(fb)
    for key in sorted(set(a) | set(b)):
        if key not in a or key not in b:
            return f"{key} only in {'the new' if key in a else 'the baseline'} output"
        x, y = np.asarray(a[key]), np.asarray(b[key])
        if x.shape != y.shape:
            return f"{key}: shape {x.shape} against {y.shape}"
        if not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
            if x.dtype.kind in "fi" and y.dtype.kind in "fi":
                diff = float(np.max(np.abs(x.astype(float) - y.astype(float))))
                scale = float(np.max(np.abs(y.astype(float)))) or 1.0
                return f"{key}: max |difference| {diff:.3g} ({diff / scale:.2g} of max |baseline|)"
            return f"{key}: {x.tolist()!r} against {y.tolist()!r}"
    return None


def objective(X, y, w, b, lam, a):
    r = y - X @ w - b
    return 0.5 * r @ r / len(y) + lam * (a * np.abs(w).sum() + 0.5 * (1 - a) * w @ w)


def generate(cadmm, path, rows, features, ranks, env):
    if not os.path.exists(path):
        run([cadmm, "generate", "--rows", str(rows), "--features", str(features), "--nnz-per-row", "40", "--seed", "7",
             "--output", path, "--quiet"], env, ranks)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cadmm", default=os.path.join(os.path.dirname(__file__), "..", "build", "cadmm"))
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--workdir", default=tempfile.gettempdir())
    ap.add_argument("--big", action="store_true")
    a = ap.parse_args()
    env = mpi_env()
    env.pop("OPENBLAS_NUM_THREADS", None)
    data = os.path.join(a.workdir, "bench_sparse_100000x50000.h5")
    generate(a.cadmm, data, 100_000, 50_000, a.ranks, env)
    with h5py.File(data) as f:
        g = f["X"]
        X = sp.csr_matrix((g["data"][()], g["indices"][()], g["indptr"][()]), shape=tuple(g.attrs["shape"]))
        y = f["y"][()]
    print(f"sparse 100,000 x 50,000, 40 nonzeros per row ({X.nnz} in all), {a.ranks} ranks, 0.05 lambda_max\n")
    print(f"{'solver':<48} {'seconds':>8} {'objective':>22} {'rel. to best':>13} {'iters':>6}")
    for penalty, ratio in [("l1", 1.0), ("elasticnet", 0.5)]:
        out = os.path.join(a.workdir, f"bench_sparse_{penalty}.h5")
        t_c, _ = run([a.cadmm, "solve", "--data", data, "--penalty", penalty, "--lambda-ratio", "0.05", "--output", out,
                      "--quiet"], env, a.ranks)
        with h5py.File(out) as f:
            w, b, lam, iters = f["coef"][()], f["intercept"][()], f.attrs["lambda"], f.attrs["iterations"]
        model = Lasso(alpha=lam) if penalty == "l1" else ElasticNet(alpha=lam, l1_ratio=ratio)
        t0 = time.perf_counter()
        model.fit(X, y)
        t_s = time.perf_counter() - t0
        o_c = objective(X, y, w, b, lam, ratio)
        o_s = objective(X, y, model.coef_, model.intercept_, lam, ratio)
        best = min(o_c, o_s)
        print(f"{'cadmm ' + penalty + ', whole process':<48} {t_c:8.2f} {o_c:22.15e} {(o_c - best) / best:13.2e} {iters:6d}")
        print(f"{'scikit-learn ' + type(model).__name__ + '.fit, fit alone':<48} {t_s:8.2f} {o_s:22.15e} "
              f"{(o_s - best) / best:13.2e} {model.n_iter_:6d}")
        print(f"  ratio cadmm / scikit-learn: {t_c / t_s:.2f}")
    if a.big:
        big = os.path.join(a.workdir, "bench_sparse_1000000x1000000.h5")
        made = "already generated"
        if not os.path.exists(big):
            t_g, _ = run([a.cadmm, "generate", "--rows", "1000000", "--features", "1000000", "--nnz-per-row", "40",
                          "--seed", "7", "--output", big, "--quiet"], env, a.ranks)
            made = f"generated in {t_g:.1f} s"
        _, plan = run([a.cadmm, "info", big, "--ranks", str(a.ranks)], env)
        t_b, text = run([a.cadmm, "solve", "--data", big, "--lambda-ratio", "0.05", "--output",
                         os.path.join(a.workdir, "bench_sparse_big.h5"), "--progress-seconds", "10"], env, a.ranks)
        print(f"\nsparse 1,000,000 x 1,000,000, 40 nonzeros per row ({made}), cadmm alone:\n")
        print(plan.rstrip())
        print(text[text.find("cadmm solve:"):].rstrip())
        print(f"whole process: {t_b:.1f} s")


if __name__ == "__main__":
    main()
