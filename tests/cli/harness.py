"""What the end-to-end CLI test scripts share: the registry and runner of tests, a work directory, running cadmm
under mpirun with a hard time limit, writing small HDF5 inputs. Scripts run as: SCRIPT CADMM WORKDIR REPO_ROOT.
"""
import os
import shutil
import sys
import time
import traceback

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from mpirun import REFUSAL_ENV, run_cadmm  # noqa: E402

CADMM, WORK, REPO = (os.path.abspath(a) for a in sys.argv[1:4])
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def path(name):
    return os.path.join(WORK, name)


def cadmm(ranks, *args, expect=0, env=None):
    return run_cadmm(CADMM, ranks, [str(a) for a in args], expect=expect, env=env)


def write(name, X, y, **extra):
    p = path(name)
    with h5py.File(p, "w") as f:
        if X is not None:
            f["X"] = X
        if y is not None:
            f["y"] = y
        for k, v in extra.items():
            f[k] = v
    return p


def small(n=60, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, X @ rng.standard_normal(d) + rng.standard_normal(n)


def expect_error(ranks, code, needle, *args, env=None, refusal=True):
    """Runs cadmm expecting exit code `code` with `needle` printed once on stderr. refusal: the run ends before any
    work (every rank exits by itself), so mpirun need not wait to kill it; False for faults injected mid-run."""
    _, out, err = cadmm(ranks, *args, expect=code, env={**(REFUSAL_ENV if refusal else {}), **(env or {})})
    assert needle in err, f"expected {needle!r} in stderr:\n{err}"
    assert err.count("cadmm: error") == 1, f"error printed {err.count('cadmm: error')} times at {ranks} ranks:\n{err}"
    return err


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    passed = failed = 0
    for t in TESTS:
        start = time.monotonic()
        try:
            t()
            passed += 1
            print(f"ok   {t.__name__} ({time.monotonic() - start:.1f} s)")
        except BaseException as e:  # SystemExit from run_cadmm included
            failed += 1
            print(f"FAIL {t.__name__} ({time.monotonic() - start:.1f} s): {e}")
            traceback.print_exc()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


