#!/usr/bin/env python3
"""Bit-for-bit comparison of two cadmm executables ("no change in any answer" for refactorings).

Runs the same commands with a "before" and an "after" binary, each under `mpirun --timeout` at every rank count
of --ranks, and compares every result file they write: every dataset and every attribute (of the root, groups
and datasets), same dtype, same shape and the same bytes (NaN equals NaN), ignoring only timing and the version
string (the attributes `solve_seconds` and `version`, the `seconds` field of the compound `/history`). It also
compares the exit code of every run and the stdout of `cadmm info` (not of solve/path/cv, which print timings).

Cases, at each rank count unless noted: for every tests/data/fixtures/*.h5 the way the test suite runs it
(tests/cli/check_fixture.py: the options in the `cli` attribute of /reference; tests/cli/check_cv.py for the
cv_*.h5 files: --fold-dataset /foldid and the file's /lambdas): `solve`, `solve --local-solver screened` and
`streamed`, `path --n-lambda 20`, `cv` (--folds 3 --n-lambda 10 where the file has no folds), `predict` on
the solve and the path results, `info FILE --ranks 3` (once); on a sparse CSR, a dense and a wide dense data set
made by `cadmm generate` (the "before" binary, once): the same commands plus `--local-solver cg` (sparse),
`woodbury` and `gram` (wide), `generate` itself (its files compared) and a `solve --checkpoint` stopped by
--max-iter then `--resume`d (both result files compared).

Usage:
  compare_binaries.py --before OLD/cadmm --after NEW/cadmm [--ranks 1,2] [--out DIR] [--keep]
  compare_binaries.py --before-ref 6d4b10a --after build/cadmm   # builds 6d4b10a in a temporary git worktree
                      [--build-dir DIR]   (kept and reused: DIR/src is the worktree, DIR/src/build its build)
Prints "PASS name" or "FAIL name: reason" per case (reason: the file, the dataset or attribute, the first
differing index and both values), then "N passed, M failed"; exits 1 when a case failed, 2 on a setup error.
Not registered in ctest: run it by hand before merging a refactoring.
"""
import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
IGNORED_ATTRS = {"solve_seconds", "version"}
IGNORED_FIELDS = {"seconds"}  # of compound datasets (/history)
MAX_REPORTED = 4  # differences listed per case


def mpi_env():
    env = dict(os.environ)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1",
               OMPI_MCA_btl="self,vader,tcp", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return env


class Result:
    def __init__(self, code, out, err, timed_out=False):
        self.code, self.out, self.err, self.timed_out = code, out, err, timed_out


def run(cmd, cwd, timeout, env=None):
    """Runs cmd in its own session (mpirun and its ranks form one process group) and kills that group, by its id,
    if it outlives timeout."""
    p = subprocess.Popen([str(a) for a in cmd], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env or mpi_env(), start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        return Result(p.returncode, out, err)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return Result(None, out, err, timed_out=True)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()


def run_cadmm(binary, ranks, args, cwd, timeout):
    return run(["mpirun", "--timeout", str(int(timeout)), "-np", str(ranks), binary] + list(args), cwd, timeout + 20)


# ---------------------------------------------------------------------------------------------- comparison


def _fmt(v):
    if isinstance(v, (float, np.floating)) and not np.isnan(v):
        return f"{float(v)!r} ({float(v).hex()})"
    if isinstance(v, bytes):
        return repr(v)
    return repr(v.item() if isinstance(v, np.generic) else v)


def diff_values(a, b):
    """None when a and b hold the same bits (NaN equal to NaN whatever its payload), else a precise message."""
    if isinstance(a, h5py.Empty) or isinstance(b, h5py.Empty):
        return None if repr(a) == repr(b) else f"{a!r} vs {b!r}"
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype:
        return f"dtype {a.dtype} vs {b.dtype}"
    if a.shape != b.shape:
        return f"shape {a.shape} vs {b.shape}"
    if a.dtype.names:
        for field in a.dtype.names:
            if field in IGNORED_FIELDS:
                continue
            d = diff_values(a[field], b[field])
            if d:
                return f"field '{field}': {d}"
        return None
    if a.size == 0:
        return None
    fa, fb = a.reshape(-1), b.reshape(-1)
    if a.dtype.kind in "OUSV":  # strings (h5py: object arrays of bytes/str)
        bad = np.array([x != y and not (isinstance(x, np.ndarray) and np.array_equal(x, y)) for x, y in zip(fa, fb)])
    else:
        bytes_a = np.ascontiguousarray(fa).view(np.uint8).reshape(fa.size, -1)
        bytes_b = np.ascontiguousarray(fb).view(np.uint8).reshape(fb.size, -1)
        bad = (bytes_a != bytes_b).any(axis=1)
        if a.dtype.kind in "fc":
            bad &= ~(np.isnan(fa) & np.isnan(fb))
    if not bad.any():
        return None
    first = int(np.argmax(bad))
    where = tuple(int(i) for i in np.unravel_index(first, a.shape)) if a.ndim else "()"
    msg = f"first difference at index {where}: before {_fmt(fa[first])}, after {_fmt(fb[first])}"
    count = int(bad.sum())
    if a.size > 1:
        msg += f"; {count} of {a.size} elements differ"
        if a.dtype.kind in "fiu":
            with np.errstate(all="ignore"):
                delta = np.abs(fa[bad].astype(np.float64) - fb[bad].astype(np.float64))
            if np.isfinite(delta).any():
                msg += f", max |difference| {np.nanmax(delta):.3g}"
    return msg


def h5_objects(f):
    objs = {"/": f}
    f.visititems(lambda name, obj: objs.__setitem__("/" + name, obj))
    return objs


def kind(obj):
    return "dataset" if isinstance(obj, h5py.Dataset) else "group" if isinstance(obj, h5py.Group) else type(obj).__name__


def compare_h5(path_a, path_b, label):
    """Every difference between two HDF5 files, as messages naming the file, the object and the attribute."""
    diffs = []
    with h5py.File(path_a, "r") as fa, h5py.File(path_b, "r") as fb:
        oa, ob = h5_objects(fa), h5_objects(fb)
        for name in sorted(set(oa) - set(ob)):
            diffs.append(f"{label} {name}: only in before's file")
        for name in sorted(set(ob) - set(oa)):
            diffs.append(f"{label} {name}: only in after's file")
        for name in sorted(set(oa) & set(ob)):
            a, b = oa[name], ob[name]
            if kind(a) != kind(b):
                diffs.append(f"{label} {name}: {kind(a)} vs {kind(b)}")
                continue
            if isinstance(a, h5py.Dataset):
                if h5py.check_string_dtype(a.dtype) != h5py.check_string_dtype(b.dtype):
                    diffs.append(f"{label} {name}: string type {h5py.check_string_dtype(a.dtype)} vs "
                                 f"{h5py.check_string_dtype(b.dtype)}")
                d = diff_values(a[()], b[()])
                if d:
                    diffs.append(f"{label} {name}: {d}")
            ka, kb = set(a.attrs) - IGNORED_ATTRS, set(b.attrs) - IGNORED_ATTRS
            for key in sorted(ka - kb):
                diffs.append(f"{label} {name} attribute '{key}': only in before's file")
            for key in sorted(kb - ka):
                diffs.append(f"{label} {name} attribute '{key}': only in after's file")
            for key in sorted(ka & kb):
                ta, tb = a.attrs.get_id(key).dtype, b.attrs.get_id(key).dtype
                d = f"type {ta} vs {tb}" if ta != tb else diff_values(a.attrs[key], b.attrs[key])
                if d:
                    diffs.append(f"{label} {name} attribute '{key}': {d}")
    return diffs


def first_diff_line(a, b):
    la, lb = a.splitlines(), b.splitlines()
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            return f"line {i + 1}: before {x!r}, after {y!r}"
    return f"before has {len(la)} lines, after {len(lb)}"


# ---------------------------------------------------------------------------------------------- cases


class Case:
    """Commands run in order in each side's directory (paths relative to it), then compared: the exit codes of
    every command, the files in `outputs` (written by the command of that case) and, with stdout=True, the
    stdout of every command."""

    def __init__(self, name, commands, outputs, ranks, stdout=False):
        self.name, self.commands, self.outputs, self.ranks, self.stdout = name, commands, outputs, ranks, stdout


def strip_lambda(opts):
    """A fixture's solve options without the single lambda (for path and cv)."""
    out, skip = [], False
    for o in opts:
        if skip:
            skip = False
        elif o in ("--lambda", "--lambda-ratio"):
            skip = True
        elif not o.startswith(("--lambda=", "--lambda-ratio=")):
            out.append(o)
    return out


def data_opts(opts):
    """The --x-dataset / --y-dataset options among opts (predict and info take them as well)."""
    out = []
    for i, o in enumerate(opts):
        if o in ("--x-dataset", "--y-dataset"):
            out += [o, opts[i + 1]]
    return out


def fixture_options(path):
    """(solve options, path/cv options, cv options) of a fixture, as tests/cli/check_fixture.py and check_cv.py
    run it."""
    with h5py.File(path, "r") as f:
        if "reference" in f:
            solve = shlex.split(f["reference"].attrs["cli"])
            return solve, strip_lambda(solve), ["--folds", "3", "--n-lambda", "10"]
        penalty = "l1" if f["y"].ndim == 1 else "l21"
        base = ["--penalty", penalty]
        if "foldid" in f and "lambdas" in f:  # check_cv.py: glmnet's folds and lambdas
            cv = ["--fold-dataset", "/foldid", "--lambdas", ",".join(repr(float(v)) for v in f["lambdas"][()])]
        else:
            cv = ["--folds", "3", "--n-lambda", "10"]
        return base, base, cv


def fit_cases(tag, data, solve_opts, path_opts, cv_opts, ranks, solvers=(), path=True, cv=True):
    """solve (+ one solve per forced local solver), predict on it, path, predict on it, cv at `ranks`."""
    p = f"np{ranks}"
    q = ["--quiet"]
    dsets = data_opts(solve_opts)
    s_out, p_out, c_out = f"{tag}_solve_{p}.h5", f"{tag}_path_{p}.h5", f"{tag}_cv_{p}.h5"
    cases = [Case(f"solve {tag} {p}", [["solve", "--data", data, "--output", s_out] + solve_opts + q], [s_out], ranks)]
    for solver in solvers:
        out = f"{tag}_solve_{solver}_{p}.h5"
        cases.append(Case(f"solve[{solver}] {tag} {p}", [["solve", "--data", data, "--output", out,
                                                           "--local-solver", solver] + solve_opts + q], [out], ranks))
    pr = f"{tag}_predict_solve_{p}.h5"
    cases.append(Case(f"predict(solve) {tag} {p}", [["predict", "--model", s_out, "--data", data, "--output", pr]
                                                    + dsets + q], [pr], ranks))
    if path:
        cases.append(Case(f"path {tag} {p}", [["path", "--data", data, "--output", p_out, "--n-lambda", "20",
                                               "--lambda-min-ratio", "0.01"] + path_opts + q], [p_out], ranks))
        for idx in ("last", "7"):
            pr = f"{tag}_predict_path{idx}_{p}.h5"
            pick = [] if idx == "last" else ["--lambda-index", idx]
            cases.append(Case(f"predict(path{'' if idx == 'last' else ',' + idx}) {tag} {p}",
                              [["predict", "--model", p_out, "--data", data, "--output", pr] + pick + dsets + q],
                              [pr], ranks))
    if cv:
        cases.append(Case(f"cv {tag} {p}", [["cv", "--data", data, "--output", c_out] + path_opts + cv_opts + q],
                          [c_out], ranks))
    return cases


GENERATED = {  # name: generate options
    "gen_sparse": ["--rows", "300", "--features", "40", "--density", "0.1", "--seed", "1"],
    "gen_dense": ["--rows", "400", "--features", "50", "--correlation", "0.5", "--seed", "2"],
    "gen_wide": ["--rows", "60", "--features", "120", "--targets", "2", "--seed", "3"],  # woodbury's form
}


def build_cases(fixtures, inputs, rank_list):
    cases = []
    for fx in fixtures:  # info once per file
        name = os.path.splitext(os.path.basename(fx))[0]
        cases.append(Case(f"info {name}", [["info", fx, "--ranks", "3"] + data_opts(fixture_options(fx)[0])], [], 1,
                          stdout=True))
    for g in GENERATED:
        cases.append(Case(f"info {g}", [["info", inputs[g], "--ranks", "3"]], [], 1, stdout=True))
    for r in rank_list:
        for g, opts in GENERATED.items():
            out = f"{g}_generated_np{r}.h5"
            cases.append(Case(f"generate {g} np{r}", [["generate"] + opts + ["--output", out, "--quiet"]], [out], r))
        for fx in fixtures:
            name = os.path.splitext(os.path.basename(fx))[0]
            solve, path, cv = fixture_options(fx)
            cases += fit_cases(name, fx, solve, path, cv, r, solvers=("screened", "streamed"))
        cases += fit_cases("gen_sparse", inputs["gen_sparse"], [], [], ["--folds", "3", "--n-lambda", "10"], r,
                           solvers=("cg",))
        cases += fit_cases("gen_sparse_enet_std", inputs["gen_sparse"], ["--penalty", "elasticnet", "--standardize",
                           "true"], ["--penalty", "elasticnet", "--standardize", "true"], [], r, solvers=("cg",),
                           path=False, cv=False)
        cases += fit_cases("gen_dense", inputs["gen_dense"], ["--lambda-ratio", "0.05"], [],
                           ["--folds", "3", "--n-lambda", "10"], r, solvers=("screened", "streamed", "woodbury"))
        cases += fit_cases("gen_wide", inputs["gen_wide"], ["--penalty", "l21"], ["--penalty", "l21"],
                           ["--folds", "3", "--n-lambda", "10"], r, solvers=("woodbury", "gram"))
        # Checkpoint, stopped by --max-iter, then resumed: the stopped and the final result compared.
        common = ["solve", "--data", inputs["gen_dense"], "--penalty", "elasticnet", "--lambda-ratio", "0.01",
                  "--rho", "50", "--checkpoint", f"ck_np{r}.h5", "--checkpoint-every", "5", "--quiet"]
        a, b = f"ck_stopped_np{r}.h5", f"ck_resumed_np{r}.h5"
        cases.append(Case(f"solve checkpoint+resume gen_dense np{r}",
                          [common + ["--max-iter", "12", "--output", a], common + ["--resume", "--output", b]],
                          [a, b], r))
    return cases


def run_case(case, sides, timeout):
    """Runs the case on both sides; returns None (identical) or the reason it failed."""
    results = {}
    for side, (binary, cwd) in sides.items():
        results[side] = []
        for args in case.commands:
            res = run_cadmm(binary, case.ranks, args, cwd, timeout)
            results[side].append(res)
            if res.timed_out:
                break
    reasons = []
    for i, (ra, rb) in enumerate(zip(results["before"], results["after"])):
        step = f"command {i + 1} ({case.commands[i][0]})" if len(case.commands) > 1 else case.commands[i][0]
        if ra.timed_out or rb.timed_out:
            who = " and ".join(s for s, r in (("before", ra), ("after", rb)) if r.timed_out)
            return f"{step}: timed out after {timeout}s on {who}"
        if ra.code != rb.code:
            tail = {s: (r.err.strip().splitlines() or [""])[0] for s, r in (("before", ra), ("after", rb))}
            reasons.append(f"{step}: exit code before {ra.code}, after {rb.code} "
                           f"(stderr before {tail['before']!r}, after {tail['after']!r})")
        if case.stdout and ra.out != rb.out:
            reasons.append(f"{step}: stdout differs, {first_diff_line(ra.out, rb.out)}")
    if len(results["before"]) != len(results["after"]):
        reasons.append("not every command ran on both sides")
    for out in case.outputs:
        pa, pb = (os.path.join(sides[s][1], out) for s in ("before", "after"))
        ea, eb = os.path.exists(pa), os.path.exists(pb)
        if ea != eb:
            reasons.append(f"{out}: written by {'before' if ea else 'after'} only")
        elif ea:
            try:
                reasons += compare_h5(pa, pb, out)
            except OSError as e:
                reasons.append(f"{out}: cannot read: {e}")
    if not reasons:
        return "nonzero" if any(r.code for r in results["before"]) else None
    more = f" (+{len(reasons) - MAX_REPORTED} more differences)" if len(reasons) > MAX_REPORTED else ""
    return "; ".join(reasons[:MAX_REPORTED]) + more


# ---------------------------------------------------------------------------------------------- setup


def repo_root():
    return subprocess.run(["git", "-C", HERE, "rev-parse", "--show-toplevel"], capture_output=True, text=True,
                          check=True, timeout=30).stdout.strip()


def build_ref(ref, build_dir, jobs, timeout):
    """Builds commit `ref` of this repository in a git worktree under build_dir (Release, no tests); returns the
    binary and the worktree. An existing worktree there at the same commit with a binary is reused."""
    repo = repo_root()
    sha = subprocess.run(["git", "-C", repo, "rev-parse", "--verify", ref + "^{commit}"], capture_output=True,
                         text=True, timeout=30)
    if sha.returncode != 0:
        raise SystemExit(f"setup: {ref!r} is not a commit of {repo}: {sha.stderr.strip()}")
    sha = sha.stdout.strip()
    tree = os.path.join(build_dir, "src")
    binary = os.path.join(tree, "build", "cadmm")
    have = subprocess.run(["git", "-C", tree, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=30) \
        if os.path.isdir(tree) else None
    if have is not None and (have.returncode != 0 or have.stdout.strip() != sha):
        raise SystemExit(f"setup: {tree} exists and is not a worktree at {sha}; give another --build-dir")
    if have is None:
        os.makedirs(build_dir, exist_ok=True)
        r = run(["git", "-C", repo, "worktree", "add", "--detach", tree, sha], None, 300, os.environ.copy())
        if r.code != 0:
            raise SystemExit(f"setup: git worktree add failed: {r.err.strip()}")
    if not os.path.exists(binary):
        print(f"building {ref} ({sha[:10]}) in {tree}/build ...", flush=True)
        for cmd in (["cmake", "-S", tree, "-B", os.path.join(tree, "build"), "-DCMAKE_BUILD_TYPE=Release",
                     "-DCADMM_BUILD_TESTS=OFF"], ["cmake", "--build", os.path.join(tree, "build"), "-j", str(jobs)]):
            r = run(cmd, None, timeout, os.environ.copy())
            if r.timed_out or r.code != 0:
                raise SystemExit(f"setup: {' '.join(cmd)} failed ({'timeout' if r.timed_out else r.code}):\n"
                                 f"{r.out[-3000:]}{r.err[-3000:]}")
    return binary, tree


def remove_worktree(tree):
    repo = repo_root()
    r = run(["git", "-C", repo, "worktree", "remove", "--force", tree], None, 120, os.environ.copy())
    if r.code != 0:
        print(f"warning: git worktree remove {tree}: {r.err.strip()}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    who = ap.add_mutually_exclusive_group(required=True)
    who.add_argument("--before", help="cadmm executable of the reference ('before') side")
    who.add_argument("--before-ref", help="git ref of this repository to build as the 'before' binary")
    ap.add_argument("--after", help="cadmm executable to check (default: <repo>/build/cadmm)")
    ap.add_argument("--build-dir", help="with --before-ref: build under this directory and keep it (default: a "
                                        "temporary one, removed at the end unless --keep)")
    ap.add_argument("--build-jobs", type=int, default=2)
    ap.add_argument("--ranks", default="1,2", help="comma-separated rank counts (default 1,2)")
    ap.add_argument("--out", help="scratch directory (default: a temporary one); removed at the end unless --keep")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory (and a temporary build)")
    ap.add_argument("--timeout", type=float, default=120, help="seconds allowed per cadmm run (default 120)")
    ap.add_argument("--filter", help="only cases whose name matches this regular expression")
    ap.add_argument("--fixtures", default=os.path.join(HERE, "..", "data", "fixtures"),
                    help="directory of the *.h5 fixtures (default tests/data/fixtures)")
    args = ap.parse_args()
    rank_list = [int(r) for r in args.ranks.split(",") if r.strip()]

    scratch = os.path.abspath(args.out) if args.out else tempfile.mkdtemp(prefix="cadmm-bitwise-")
    owned_scratch = not args.out or not os.path.exists(scratch)
    build_dir = tree = None
    started = time.time()
    try:
        if args.before_ref:
            build_dir = os.path.abspath(args.build_dir) if args.build_dir else \
                tempfile.mkdtemp(prefix="cadmm-before-build-")
            before, tree = build_ref(args.before_ref, build_dir, args.build_jobs, 3600)
        else:
            before = args.before
        after = args.after or os.path.join(repo_root(), "build", "cadmm")
        before, after = os.path.abspath(before), os.path.abspath(after)
        for b in (before, after):
            if not os.access(b, os.X_OK):
                raise SystemExit(f"setup: {b} is not an executable")
        print(f"before: {before}\nafter:  {after}\nranks:  {rank_list}\nscratch: {scratch}", flush=True)

        sides = {}
        for side, binary in (("before", before), ("after", after)):
            d = os.path.join(scratch, side)
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            sides[side] = (binary, d)
        # Inputs made once by the before binary: every case of both sides reads the same files.
        inputs_dir = os.path.join(scratch, "inputs")
        os.makedirs(inputs_dir, exist_ok=True)
        inputs = {}
        for g, opts in GENERATED.items():
            inputs[g] = os.path.join(inputs_dir, g + ".h5")
            r = run_cadmm(before, 1, ["generate"] + opts + ["--output", inputs[g], "--quiet"], inputs_dir,
                          args.timeout)
            if r.timed_out or r.code != 0:
                raise SystemExit(f"setup: the before binary's generate failed: {r.err.strip()}")
        fixtures = sorted(os.path.join(os.path.abspath(args.fixtures), f) for f in os.listdir(args.fixtures)
                          if f.endswith(".h5"))
        if not fixtures:
            raise SystemExit(f"setup: no fixtures in {args.fixtures}")
        cases = build_cases(fixtures, inputs, rank_list)
        if args.filter:
            cases = [c for c in cases if re.search(args.filter, c.name)]

        passed = failed = nonzero = 0
        for case in cases:
            reason = run_case(case, sides, args.timeout)
            if reason == "nonzero":  # identical, but a command failed on both sides: worth knowing
                nonzero, reason = nonzero + 1, None
            if reason is None:
                passed += 1
                print(f"PASS {case.name}", flush=True)
            else:
                failed += 1
                print(f"FAIL {case.name}: {reason}", flush=True)
        print(f"({time.time() - started:.0f} s; {nonzero} identical case(s) with a nonzero exit code on both sides)",
              file=sys.stderr)
        print(f"{passed} passed, {failed} failed", flush=True)
        return 1 if failed else 0
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
            return 2
        raise
    finally:
        if args.keep:
            print(f"kept {scratch}" + (f" and {build_dir}" if build_dir else ""), file=sys.stderr)
        else:
            if owned_scratch:
                shutil.rmtree(scratch, ignore_errors=True)
            else:  # a given, pre-existing --out: remove only what this script made there
                for sub in ("before", "after", "inputs"):
                    shutil.rmtree(os.path.join(scratch, sub), ignore_errors=True)
            if tree and not args.build_dir:
                remove_worktree(tree)
                shutil.rmtree(build_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
