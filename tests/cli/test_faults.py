#!/usr/bin/env python3
"""Faults injected into real runs: a bitwise resume after SIGTERM for every penalty, an exception, a NaN and a
growing residual on one chosen rank, NaN in the last rank's rows, kill -9 of one rank. Faults inside the loop come
from the test-only hook CADMM_FAULT=KIND@ITERATION[:RANK]. Usage: test_faults.py CADMM WORKDIR REPO_ROOT
"""
import os
import re
import shutil
import signal
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from harness import CADMM, cadmm, expect_error, main, path, small, test, write  # noqa: E402
from mpirun import mpi_env, started  # noqa: E402


def hard_problem():
    """Wide and noisy: a few hundred iterations at lambda_ratio 0.02, long enough to stop anywhere."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((90, 400))
    y = X @ rng.standard_normal(400) + rng.standard_normal(90)
    Y = np.c_[y, X @ rng.standard_normal(400), X[:, :5].sum(1)]
    return write("hard.h5", X, y, Y=Y)


def same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def assert_bitwise_equal(resumed, fresh):
    """Every dataset and attribute equal bit for bit, except timings (the seconds column of /history and the
    *_seconds attributes)."""
    with h5py.File(resumed) as r, h5py.File(fresh) as f:
        names = []
        f.visit(names.append)
        other = []
        r.visit(other.append)
        assert sorted(names) == sorted(other), (names, other)
        for name in names:
            if not isinstance(f[name], h5py.Dataset):
                continue
            a, b = r[name][()], f[name][()]
            fields = [n for n in (f[name].dtype.names or [None]) if n != "seconds"]
            for field in fields:
                x, z = (np.asarray(a), np.asarray(b)) if field is None else (a[field], b[field])
                assert same_bits(x, z), f"{name} {field or ''} differs"
        for key in f.attrs:
            if key.endswith("seconds"):
                continue
            assert same_bits(np.asarray(r.attrs[key]), np.asarray(f.attrs[key])), (key, r.attrs[key], f.attrs[key])


@test
def sigterm_then_resume_is_bitwise_for_every_penalty():
    data = hard_problem()
    # A --rho far from the automatic one makes the residual balancing change rho early (l2 changes it anyway).
    cases = {"l1": ["--rho", 100], "l2": [], "elasticnet": ["--rho", 100], "l21": ["--y-dataset", "Y", "--rho", 100]}
    for i, (penalty, extra) in enumerate(cases.items()):
        common = ["solve", "--data", data, "--penalty", penalty, "--lambda-ratio", 0.02, "--quiet", *extra]
        fresh = path(f"bw_{penalty}_fresh.h5")
        cadmm(2, *common, "--output", fresh)
        with h5py.File(fresh) as f:
            h = f["history"][()]
            total = int(f.attrs["iterations"])
        changes = [int(h["iteration"][i]) for i in range(len(h) - 1) if h["rho"][i] != h["rho"][i + 1]]
        assert changes, f"{penalty}: no rho change to stop after"
        # After the first iteration (no extrapolation yet), right after the rho change (the new rho and rescaled
        # duals are in the state), and three iterations later, in the middle of the Anderson window the change
        # restarted. Under the sanitizers (ASan's environment, set by ctest for the sanitize build) each penalty
        # stops at one of the three, rotating, so that every point is still stopped at once there (each case is
        # three mpirun launches, some 12 s sanitized); the Release run stops every penalty at all three.
        points = [(1, None), (changes[0], "rho"), (changes[0] + 3, "anderson")]
        if "ASAN_OPTIONS" in os.environ:
            points = [points[i % len(points)]]
        for stop, check in points:
            assert stop < total, (penalty, stop, total)
            ck = path(f"bw_{penalty}_{stop}.ck")
            for f_ in (ck, ck + ".prev"):
                if os.path.exists(f_):
                    os.remove(f_)
            out = path(f"bw_{penalty}_{stop}.h5")
            # The signal reaches one rank only; the stop must still be collective.
            _, _, err = cadmm(2, *common, "--checkpoint", ck, "--checkpoint-every", 2, "--output", out, expect=1,
                              env={"CADMM_FAULT": f"term@{stop}:1"})
            assert "state saved" in err and not os.path.exists(out), err
            with h5py.File(ck) as c:
                assert c.attrs["iteration"] == stop and c.attrs["n_ranks"] == 2
                if check == "rho":
                    assert c.attrs["rho"] != h["rho"][stop - 1], "the checkpoint does not hold the new rho"
                elif check == "anderson":
                    assert 0 < c.attrs["anderson_count"] < 10, c.attrs["anderson_count"]
            cadmm(2, *common, "--checkpoint", ck, "--resume", "--output", out)
            assert_bitwise_equal(out, fresh)


@test
def path_stopped_twice_then_resumed_is_bitwise():
    data = hard_problem()
    common = ["path", "--data", data, "--n-lambda", 30, "--quiet"]
    fresh, out, ck = path("bwp_fresh.h5"), path("bwp.h5"), path("bwp.ck")
    # The uninterrupted run checkpoints too: a checkpointed path polishes every lambda from nothing, so that a
    # resume can repeat it (without --checkpoint the polishing keeps its factors, equal to rounding).
    cadmm(2, *common, "--output", fresh, "--checkpoint", path("bwp_fresh.ck"))
    with h5py.File(fresh) as f:
        its = f["path/iterations"][()]
    first = int(np.argmax(its >= 30))  # the first lambda that takes 30 iterations or more
    assert its[first] >= 30, its
    # The hook stops at that iteration count of any solve: first in lambda `first` at iteration 5, then, resumed,
    # in the same solve at iteration 25 (a checkpoint of a resumed solve), then to the end.
    for stop in (5, 25):
        _, text, err = cadmm(2, *[a for a in common if a != "--quiet"], "--output", out, "--checkpoint", ck,
                             "--resume", expect=1, env={"CADMM_FAULT": f"term@{stop}:0"})
        assert f"at lambda {first + 1} of 30" in err and "state saved" in err, err
        # The cut lambda's line says so (it read as a finished fit).
        assert text.rstrip().endswith("(interrupted: not finished)"), text
        with h5py.File(ck) as c:
            assert c.attrs["iteration"] == stop and c.attrs["command"] == "path"
    cadmm(2, *common, "--output", out, "--checkpoint", ck, "--resume")
    assert_bitwise_equal(out, fresh)
    # A path checkpoint is not a solve's, and another lambda sequence is another problem.
    expect_error(2, 3, "command", "solve", "--data", data, "--output", path("bwp_x.h5"), "--checkpoint", ck, "--resume")
    expect_error(2, 3, "lambda sequence", "path", "--data", data, "--n-lambda", 31, "--output", path("bwp_x.h5"),
                 "--checkpoint", ck, "--resume")


def stopped_then_resumed(common, name, kind, stop, code, fresh, check):
    """Runs `common` with a new checkpoint, stopped by the fault hook (`kind`@`stop` on rank 1, exit `code`), calls
    check(the checkpoint, stdout, stderr), then resumes it and asserts the result equals `fresh` bit for bit."""
    out, ck = path(f"{name}_{kind}.h5"), path(f"{name}_{kind}.ck")
    for stale in (out, ck, ck + ".prev"):
        if os.path.exists(stale):
            os.remove(stale)
    _, printed, err = cadmm(2, *common, "--output", out, "--checkpoint", ck, expect=code,
                            env={"CADMM_FAULT": f"{kind}@{stop}:1"})
    with h5py.File(ck) as c:
        check(c, printed, err)
    cadmm(2, *common, "--output", out, "--checkpoint", ck, "--resume")
    assert_bitwise_equal(out, fresh)


@test
def a_side_by_side_path_checkpoints_between_rounds_and_resumes_bitwise_after_a_stop_or_kill_9():
    """Sparse rows on 2 ranks fit a path's lambdas side by side, each rank alone. Without polishing every lambda is an
    ADMM solve: a SIGTERM inside rank 1's solve keeps its lambda as not begun, and kill -9 of rank 1 leaves the
    checkpoint the path took between two rounds (--checkpoint-every iterations); each resume repeats the
    uninterrupted checkpointed run bit for bit."""
    data = path("sbs.h5")
    cadmm(2, "generate", "--rows", 4000, "--features", 3000, "--nnz-per-row", 20, "--seed", 9, "--output", data,
          "--quiet")
    common = ["path", "--data", data, "--local-solver", "cg", "--n-lambda", 20, "--lambda-min-ratio", 1e-2,
              "--polish", "false", "--checkpoint-every", 10]
    fresh = path("sbs_fresh.h5")
    _, text, _ = cadmm(2, *common, "--output", fresh, "--checkpoint", path("sbs_fresh.ck"))
    assert "side by side" in text, text
    with h5py.File(fresh) as f:
        its = f["path/iterations"][()]
    # Rank 1 fits the odd lambdas; the largest count among them (a late one's) is where the hook, which acts at that
    # iteration of any solve of its rank, kills it.
    late = int(its[1::2].max())
    assert int(np.argmax(its[1::2])) >= len(its) // 4, its
    for kind, stop, code in (("term", 15, 1), ("kill", late, 137)):
        def check(c, printed, err):
            done = int(c["path_done"][0])
            assert c.attrs["iteration"] == 0 and 0 < done < len(its), (kind, done, c.attrs["iteration"])
            if kind == "term":
                assert "state saved" in err and "(interrupted: not finished)" in printed, err
            else:  # the last checkpoint was taken between rounds, well after the first
                assert done >= len(its) // 2, done
        stopped_then_resumed(common, "sbs", kind, stop, code, fresh, check)


@test
def a_working_set_path_checkpoints_its_columns_and_resumes_bitwise_after_a_stop_or_kill_9():
    """Wide dense data plan a path's working sets (the screened form), whose restricted solves no checkpoint holds: a
    SIGTERM inside one keeps its lambda as not begun, and kill -9 leaves the checkpoint the path took between lambdas
    (--checkpoint-every iterations). Both hold the Hessian columns the sets had fetched, which the resume fetches again
    in the same batches, so each resume repeats the uninterrupted checkpointed run bit for bit (resumed without them,
    the answers differed from the stopped lambda on, by about 1e-10). With unpenalized features the model's own set-up
    fetches their columns before any lambda (lambda_max past them), which the resume does again (a reviewer found the
    replay refusing them)."""
    data = path("ws.h5")
    cadmm(2, "generate", "--rows", 300, "--features", 2000, "--correlation", 0.5, "--seed", 9, "--output", data,
          "--quiet")
    factors = np.ones(2000)
    factors[[3, 17]] = 0
    with h5py.File(data, "a") as f:
        f["pf"] = factors
    base = ["path", "--data", data, "--n-lambda", 20, "--lambda-min-ratio", 1e-2, "--polish", "false",
            "--checkpoint-every", 10]
    for name, common, kinds in (("ws", base, ("term", "kill")), ("wspf", base + ["--penalty-factor-dataset", "/pf"],
                                                                     ("term",))):
        fresh, plain = path(f"{name}_fresh.h5"), path(f"{name}_plain.h5")
        _, text, _ = cadmm(2, *common, "--output", fresh, "--checkpoint", path(f"{name}_fresh.ck"))
        assert "2 screened" in text, text  # the plan keeps its working sets with a checkpoint
        cadmm(2, *common, "--output", plain, "--quiet")
        with h5py.File(fresh) as f, h5py.File(plain) as g:
            its = f["path/iterations"][()]
            ref = g["path/coef"][()]
            assert np.abs(f["path/coef"][()] - ref).max() <= 1e-6 * np.abs(ref).max()
        # The hook acts at that iteration count of any solve (a lambda's restricted solves count on from one
        # another): the stop comes inside the middle lambda's last restricted solve, the kill inside a late one.
        term, late = int(its[len(its) // 2]) - 1, int(its[-4])
        assert 0 < term < late, its
        for kind, stop, code in (("term", term, 1), ("kill", late, 137)):
            if kind not in kinds:
                continue
            def check(c, printed, err):
                done = int(c["path_done"][0])
                assert c.attrs["iteration"] == 0 and len(its) // 2 <= done < len(its), (kind, done)
                assert len(c["working_set_columns"]) > 2, kind  # the columns fetched so far
                if kind == "term":
                    assert "state saved" in err and "(interrupted: not finished)" in printed, (err, printed)
                    assert done == len(its) // 2, done
            stopped_then_resumed(common, name, kind, stop, code, fresh, check)


@test
def a_path_of_warm_active_sets_saves_between_lambdas_and_its_checkpoint_knows_its_data():
    """A path whose lambdas the warm active set solves alone (no ADMM iteration, no sweep) counted no work between
    lambdas and was saved only on a signal: a user's trial killed one (kill -9) at lambda 84 of 100 and found no
    checkpoint. Each lambda now counts as 10 iterations at least: the finished run has left its last save, and resuming
    from it repeats the run bit for bit. The same trial rewrote the data under the same name and resumed with explicit
    lambdas: the old data's fits were kept without a word; the data's lambda_max now tells."""
    data = path("was.h5")
    cadmm(2, "generate", "--rows", 2000, "--features", 40, "--seed", 4, "--output", data, "--quiet")
    common = ["path", "--data", data, "--n-lambda", 30, "--quiet"]
    fresh, ck = path("was_fresh.h5"), path("was.ck")
    cadmm(2, *common, "--output", fresh, "--checkpoint", ck)
    with h5py.File(fresh) as f:
        assert f["path/iterations"][()].sum() == 0  # the case: no ADMM iteration anywhere
        lambdas = ",".join(repr(float(v)) for v in f["path/lambda"][()])
    with h5py.File(ck) as c:
        done = int(c["path_done"][0])
        assert 10 <= done < 30, done
    out = path("was_resumed.h5")
    cadmm(2, *common, "--output", out, "--checkpoint", ck, "--resume")
    assert_bitwise_equal(out, fresh)
    cadmm(2, "generate", "--rows", 2000, "--features", 40, "--seed", 5, "--output", data, "--quiet")
    expect_error(2, 3, "lambda_max", "path", "--data", data, "--lambdas", lambdas, "--output", out, "--checkpoint", ck,
                 "--resume")


def slow_path(name):
    """A path's command line over correlated data (written to `name`), without polishing or acceleration and every
    lambda starting from a rho far above the balanced one: 8 lambdas of some 6,700 ADMM iterations in all."""
    data = path(name)
    cadmm(2, "generate", "--rows", 2000, "--features", 100, "--seed", 1, "--correlation", 0.95, "--output", data,
          "--quiet")
    return ["path", "--data", data, "--n-lambda", 8, "--rho", 1000, "--polish", "false", "--anderson-memory", 0,
            "--max-iter", 3000, "--quiet"]


@test
def a_path_resumed_after_its_rho_changes_chooses_its_factorizations_as_the_uninterrupted_one():
    # Correlated, without polishing or acceleration, and every lambda starting from a rho far above the balanced
    # one: ADMM changes rho often enough that 8 lambdas (some 6,700 iterations) make kEigenOverCholesky (20)
    # Choleskys, then one eigendecomposition. The switch depends on how many were made: a resume that counted from
    # 0 switched lambdas later, and its answers differed from there on (up to 7e-13). (Without --rho the same case
    # needs 40 lambdas and 27,000 iterations, which cost minutes under the sanitizers.)
    common = slow_path("rho_changes.h5")
    fresh, out, ck = path("rc_fresh.h5"), path("rc.h5"), path("rc.ck")
    _, text, _ = cadmm(2, *[a for a in common if a != "--quiet"], "--output", fresh, "--checkpoint",
                       path("rc_fresh.ck"))
    assert "1 eigendecomposition" in text, text  # the case this test is for
    _, _, err = cadmm(2, *common, "--output", out, "--checkpoint", ck, "--resume", expect=1,
                      env={"CADMM_FAULT": "term@50:0"})
    assert "state saved" in err, err
    with h5py.File(ck) as c:
        assert c.attrs["iteration"] == 50
    cadmm(2, *common, "--output", out, "--checkpoint", ck, "--resume")
    assert_bitwise_equal(out, fresh)
    # A checkpoint without the count (an older version's) is refused, saying so, rather than resumed differently.
    for f_ in (ck, ck + ".prev"):
        if os.path.exists(f_):
            with h5py.File(f_, "r+") as c:
                del c["rank/factors"]
    expect_error(2, 3, "written by another version of cadmm", *common, "--output", out, "--checkpoint", ck,
                 "--resume")


@test
def info_describes_a_checkpoint_and_a_result_and_finds_a_damaged_checkpoint():
    """`cadmm info` on cadmm's own files (it read them as data and refused them: 'dataset /X does not exist'): a path
    checkpoint stopped inside a lambda says how far it got and that its checksum holds; with one value changed it is
    refused as damaged (exit 3); the finished path's and a cv's results say what was fitted, as h5py reads them."""
    common = slow_path("info_ck.h5")
    data = common[2]
    out, ck, damaged = path("info_path.h5"), path("info.ck"), path("info_damaged.ck")
    for stale in (out, ck, ck + ".prev"):
        if os.path.exists(stale):
            os.remove(stale)
    cadmm(2, *common, "--output", out, "--checkpoint", ck, expect=1, env={"CADMM_FAULT": "term@50:0"})
    with h5py.File(ck) as c:
        done, m, its = int(c["path_done"][0]) if c["path_done"].size else 0, c["lambdas"].size, c.attrs["iteration"]
    _, text, _ = cadmm(1, "info", ck)
    assert "a cadmm checkpoint of `path`" in text and "checksum verified" in text, text
    assert f"{done} of the sequence's {m} lambdas" in text and f"next (index {done}, " in text, text
    assert f"saved after {its} ADMM iteration(s)" in text, text
    assert "2000 rows x 100 features, 1 target(s); written by 2 rank(s)" in text, text
    shutil.copy(ck, damaged)
    with h5py.File(damaged, "r+") as c:
        z = c["z"][()]
        z.flat[3] += 1
        c["z"][...] = z
    expect_error(2, 3, "damaged", "info", damaged)
    # Resumed through a symlink to the data: the same file, however spelled (a job that cd's elsewhere).
    link = path("info_ck_link.h5")
    if not os.path.lexists(link):
        os.symlink(os.path.basename(data), link)
    cadmm(2, *[link if a == data else a for a in common], "--output", out, "--checkpoint", ck, "--resume")
    _, text, _ = cadmm(1, "info", out)
    with h5py.File(out) as f:
        lam, coef, objective = f["path/lambda"][()], f["coef"][()], f.attrs["objective"]
    assert "a cadmm path result" in text and f"8 lambdas {lam[0]:.6g} .. {lam[-1]:.6g}: 8 converged" in text, text
    assert f"data        {link} (/X and /y): 2000 rows x 100 features" in text, text
    assert f"{np.count_nonzero(coef)} nonzero of 100" in text and f"objective {objective:.12e}" in text, text
    cv = path("info_cv.h5")
    cadmm(2, "cv", "--data", data, "--folds", 4, "--n-lambda", 10, "--output", cv, "--quiet")
    _, text, _ = cadmm(1, "info", cv)
    with h5py.File(cv) as f:
        lmin, l1se = f["cv/lambda_min"][()], f["cv/lambda_1se"][()]
    assert "a cadmm cv result" in text and "4 folds (seed 0, every row's in /cv/foldid)" in text, text
    assert f"lambda_min {lmin:.6g}, lambda_1se {l1se:.6g}; refit at lambda_min" in text, text
    # With --relax, the relaxed choice and /coef's blend; a fold file of an array; a prediction with its score.
    cadmm(2, "cv", "--data", data, "--folds", 4, "--n-lambda", 10, "--relax", "--output", cv, "--quiet")
    _, text, _ = cadmm(1, "info", cv)
    with h5py.File(cv) as f:
        lmin, gmin, gamma = f["cv/relaxed/lambda_min"][()], f["cv/relaxed/gamma_min"][()], f.attrs["gamma"]
    assert f"relaxed     (cv --relax) lambda_min {lmin:.6g} at gamma {gmin:.6g}" in text, text
    assert f"the relaxed blend at gamma {gamma:.6g}" in text, text
    fold = path("info_fold2.h5")
    cadmm(2, "cv", "--data", data, "--folds", 4, "--n-lambda", 10, "--fold", 2, "--output", fold, "--quiet")
    _, text, _ = cadmm(1, "info", fold)
    assert "a cadmm cv fold file, fold 2 of 4" in text and "--collect" in text, text
    prediction = path("info_pred.h5")
    cadmm(2, "predict", "--model", cv, "--data", data, "--output", prediction, "--quiet")
    _, text, _ = cadmm(1, "info", prediction)
    with h5py.File(prediction) as f:
        r2 = f.attrs["r2"]
    assert "a cadmm prediction, /prediction 2000, of model" in text and f"R^2 {r2:.6g}" in text, text


@test
def an_exception_on_one_rank_ends_every_rank_and_keeps_files():
    data = hard_problem()
    common = ["solve", "--data", data, "--lambda-ratio", 0.02, "--quiet"]
    out, ck = path("exc_out.h5"), path("exc.ck")
    cadmm(3, *common, "--output", out)  # a good result from an earlier run
    before = open(out, "rb").read()
    err = expect_error(3, 1, "injected fault", *common, "--output", out, "--checkpoint", ck, "--checkpoint-every", 2,
                       env={"CADMM_FAULT": "throw@5:1"}, refusal=False)
    assert "iteration 5" in err and "rank 1" in err, err
    assert open(out, "rb").read() == before, "a failing run changed the existing result"
    with h5py.File(ck) as c:  # the last good checkpoint, taken at the end of iteration 4
        assert c.attrs["iteration"] == 4
    # The same fault in path and cv ends those too, on every rank, once.
    for command in ("path", "cv"):
        expect_error(2, 1, "injected fault", command, "--data", data, "--n-lambda", 5, "--output", path("exc_pc.h5"),
                     env={"CADMM_FAULT": "throw@3:0"}, refusal=False)


@test
def nan_or_a_growing_residual_is_diverged_at_that_iteration():
    data = hard_problem()
    common = ["solve", "--data", data, "--lambda-ratio", 0.02, "--quiet"]
    for fault, rank in (("nan", 2), ("grow", 0)):
        out, ck = path(f"div_{fault}.h5"), path(f"div_{fault}.ck")
        err = expect_error(3, 1, "diverged", *common, "--output", out, "--checkpoint", ck, "--checkpoint-every", 1,
                           env={"CADMM_FAULT": f"{fault}@6:{rank}"}, refusal=False)
        assert "at iteration 6" in err, err
        with h5py.File(out) as f:
            assert f.attrs["status"] == "diverged" and f.attrs["iterations"] == 6
        with h5py.File(ck) as c:  # the state before the breakdown, and it resumes to the right answer
            assert c.attrs["iteration"] == 5 and np.isfinite(c["rank/u"][()]).all()
        cadmm(3, *common, "--output", out, "--checkpoint", ck, "--resume")
        with h5py.File(out) as f:
            assert f.attrs["status"] == "converged"


@test
def tolerances_nothing_can_meet_stop_at_max_iter_and_are_not_called_diverged():
    # lambda_max's fit drives rho toward 1e16 (its residuals vanish); the next lambda starts there and lowers rho
    # a thousandfold at a time, so its primal residual rises from about 1e-16 by the same factors. That is rho's
    # doing, not a breakdown: the previous binary called lambda 1 "diverged" at iteration 17 on 2 ranks.
    data = path("extreme_tol.h5")
    cadmm(2, "generate", "--rows", 2000, "--features", 100, "--correlation", 0.9, "--seed", 3, "--output", data,
          "--quiet")
    out = path("extreme_tol_path.h5")
    for ranks in (1, 2):
        _, _, err = cadmm(ranks, "path", "--data", data, "--abs-tol", 1e-300, "--rel-tol", 1e-300, "--gap-tol", 0,
                          "--polish", "false", "--n-lambda", 3, "--max-iter", 300, "--output", out, "--quiet")
        assert "diverged" not in err and "3 lambda(s) stopped at --max-iter 300" in err, err
        with h5py.File(out) as f:
            assert f.attrs["status"] == "max_iter" and not f["path/converged"][()].any(), f["path/converged"][()]
            # Each fit, though stopped, is as good as the default's (its gap is tiny: rounding's, not a breakdown).
            assert (f["path/duality_gap"][()] < 1e-9).all(), f["path/duality_gap"][()]


@test
def nan_only_in_the_last_ranks_rows_is_refused_everywhere():
    X, y = small(90, 6)
    X[-1, 3] = np.nan  # row 89: read by the last rank only
    data = write("nan_last.h5", X, y)
    for ranks in (1, 3):
        err = expect_error(ranks, 3, "NaN", "solve", "--data", data, "--output", path("nan_out.h5"))
        assert "row 89" in err, err
    assert not os.path.exists(path("nan_out.h5"))


@test
def values_whose_squares_overflow_are_refused_before_the_factorization():
    X, y = small(60, 5)
    X[59, 2] = 1e200  # finite, but its square is not: the Gram matrix would hold Inf and its factorization fail
    data = write("huge.h5", X, y)
    for ranks in (1, 3):
        err = expect_error(ranks, 3, "column 2 of X", "solve", "--data", data, "--output", path("huge_out.h5"))
        assert "rescale" in err, err
    assert not os.path.exists(path("huge_out.h5"))


@test
def kill_9_of_one_rank_ends_the_job_without_a_hang():
    data = hard_problem()
    cmd = ["mpirun", "--timeout", "60", "-np", "3", CADMM, "solve", "--data", data, "--lambda-ratio", 0.001,
           "--abs-tol", 0, "--rel-tol", 1e-300, "--gap-tol", 0, "--max-iter", 10**9, "--quiet",
           "--output", path("kill_out.h5")]
    env = {**mpi_env(), "CADMM_FAULT": "kill@20:1"}
    t0 = time.time()
    with started(cmd, env) as p:
        p.communicate(timeout=90)
    assert p.returncode != 0, "the job exited 0 after a rank was killed"
    assert time.time() - t0 < 60, "mpirun needed its own --timeout to end the job"
    assert not os.path.exists(path("kill_out.h5"))
    # No rank outlives the job: the process group of the run is empty.
    for _ in range(50):
        try:
            os.killpg(p.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.killpg(p.pid, signal.SIGKILL)
        raise AssertionError("ranks of the killed job were still running")


@test
def sigterm_ends_generate_and_convert_leaving_no_file():
    # generate: SIGTERM to mpirun (forwarded to the ranks) once the temporary file exists. mpirun sends SIGKILL
    # odls_base_sigkill_timeout seconds after it (default 1): under load a rank finishing its block write and
    # removing the file took longer (exit 1, nothing printed), so they get 5 (mpirun waits them out even after the
    # ranks exit).
    out = path("gen_sig.h5")
    cmd = ["mpirun", "--timeout", "60", "-np", "2", CADMM, "generate", "--rows", 20_000_000, "--features", 50,
           "--output", out, "--quiet"]
    with started(cmd, env={**mpi_env(), "OMPI_MCA_odls_base_sigkill_timeout": "5"}) as p:
        for _ in range(400):
            if any(n.startswith("gen_sig.h5.tmp-") for n in os.listdir(path(""))):
                break
            time.sleep(0.05)
        time.sleep(0.5)
        os.kill(p.pid, signal.SIGTERM)
        _, err = p.communicate(timeout=60)
    assert p.returncode == 1 and "interrupted" in err and err.count("cadmm: error") == 1, (p.returncode, err)
    left = [n for n in os.listdir(path("")) if n.startswith("gen_sig.h5")]
    assert not left, left
    # convert: the input is a pipe; the signal arrives mid-stream and is honoured at the next 8 MB refill.
    fifo = path("conv.fifo")
    if os.path.exists(fifo):
        os.remove(fifo)
    os.mkfifo(fifo)
    out = path("conv_sig.h5")
    line = ("1 " + " ".join(f"{j}:0.5" for j in range(1, 40)) + "\n").encode()
    with started([CADMM, "convert", "--input", fifo, "--format", "libsvm", "--output", out]) as p:
        with open(fifo, "wb") as w:
            w.write(line * 2000)
            w.flush()
            time.sleep(0.5)
            os.kill(p.pid, signal.SIGTERM)
            try:
                for _ in range(100):
                    w.write(line * 2000)  # about 30 MB more: several refills
            except BrokenPipeError:
                pass
        _, err = p.communicate(timeout=60)
    assert p.returncode == 1 and "interrupted" in err, (p.returncode, err)
    assert not [n for n in os.listdir(path("")) if n.startswith("conv_sig.h5")]


@test
def a_full_disk_fails_every_write_with_exit_1_and_leaves_nothing():
    # A 3 MiB tmpfs (the tests run as root, as CI does). Before: a result or checkpoint whose close failed crashed in
    # HDF5's clean-up at MPI_Finalize (exit 139); generate's collective close hung at 2-3 ranks in about half the
    # runs; a create that failed left an empty temporary file (found by a failure-modes trial).
    import subprocess
    disk = path("tiny_disk")
    os.makedirs(disk, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", disk], check=True)
    try:
        data = write("full_disk.h5", *small(2000, 100))
        filler = os.path.join(disk, ".filler")

        def fill(free_kib):
            if os.path.exists(filler):
                os.remove(filler)
            subprocess.run(["fallocate", "-l", str(3 * 1024 * 1024 - free_kib * 1024), filler], check=True)

        def run(ranks, *args):
            cmd = ["mpirun", "--timeout", "60", "-np", str(ranks), CADMM, *map(str, args)]
            with started(cmd) as p:
                _, err = p.communicate(timeout=90)
            left = [n for n in os.listdir(disk) if n != ".filler" and n != "kept.h5"]
            assert p.returncode == 1 and err.count("cadmm: error") == 1 and not left, (args, p.returncode, left, err)
            return err

        kept = os.path.join(disk, "kept.h5")
        for ranks in (1, 2):
            # The result's close fails (room for its first blocks only: 8 KiB beside the earlier result's block); an
            # existing result stays as it was.
            if os.path.exists(filler):
                os.remove(filler)
            with open(kept, "wb") as f:
                f.write(b"an earlier result")
            fill(12)
            err = run(ranks, "solve", "--data", data, "--output", kept, "--quiet")
            assert "failed while closing it: No space left on device" in err, err
            assert open(kept, "rb").read() == b"an earlier result"
            os.remove(kept)
            # No room at all: the temporary file is not even made.
            fill(0)
            run(ranks, "path", "--data", data, "--n-lambda", 5, "--output", os.path.join(disk, "p.h5"), "--quiet")
            # A checkpoint.
            fill(20)
            err = run(ranks, "solve", "--data", data, "--checkpoint", os.path.join(disk, "ck.h5"), "--checkpoint-every",
                      1, "--max-iter", 5, "--output", path("full_disk_out.h5"), "--quiet")
            assert "checkpoint '" in err and "output file" not in err, err  # it said "output file"
            assert "No space left on device" in err, err  # it gave no reason (found by an HPC user's trial)
        # generate writes from every rank at once (MPI-IO): 8 MB into 3 MiB.
        os.remove(filler)
        for ranks in (1, 2, 3, 2, 3):
            err = run(ranks, "generate", "--rows", 20000, "--features", 50, "--output", os.path.join(disk, "g.h5"),
                      "--quiet")
            # The dataset and range that failed first: X's mostly, y's when a rank got there first (seen under ASan).
            assert re.search(r"writing (X|y|truth)\S*\[\d+\.\.\d+\] to '.*' failed: No space left on device", err), err
    finally:
        subprocess.run(["umount", disk], check=True)


@test
def a_bad_fault_spec_is_a_usage_error():
    X, y = small()
    expect_error(1, 2, "CADMM_FAULT", "solve", "--data", write("spec.h5", X, y), "--output", path("spec_out.h5"),
                 env={"CADMM_FAULT": "explode@3"})


if __name__ == "__main__":
    main()
