"""Runs cadmm under mpirun with a hard time limit and kills exactly the processes it started."""
import concurrent.futures
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile

TIMEOUT = float(os.environ.get("CADMM_TEST_TIMEOUT", "120"))


def mpi_env():
    env = dict(os.environ)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1",
               OMPI_MCA_btl="self,vader,tcp", OPENBLAS_NUM_THREADS="1")
    return env


@contextlib.contextmanager
def started(cmd, env=None):
    """Starts cmd (stdout and stderr piped, text) in a new session, so the whole tree it spawns (mpirun and its
    ranks) is one process group; on leaving, kills that group by its id if the command is still running.

    Each run gets its own Open MPI session directory, removed afterwards: concurrent mpiruns (ctest -j, the refusal
    checks' threads) share /tmp/ompi.HOST.UID otherwise, and one that creates it while another removes it fails in
    orte_init ("A call to mkdir was unable to create the desired directory ... File exists"; open-mpi/ompi#8510)."""
    session = tempfile.mkdtemp(prefix="cadmm-test-ompi-")
    env = {**(env or mpi_env()), "OMPI_MCA_orte_tmpdir_base": session}
    try:
        p = subprocess.Popen([str(a) for a in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env, start_new_session=True)
        try:
            yield p
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.communicate()
    finally:
        shutil.rmtree(session, ignore_errors=True)


# After a rank exits with a nonzero code, mpirun ends the job: SIGTERM to the ranks, then SIGKILL
# odls_base_sigkill_timeout seconds later (default 1), and it waits those seconds even when every rank has already
# exited, about 2 s a run. A refusal is decided before any work and every rank exits by itself, so runs that expect
# one set the wait to 0; runs that are signalled keep the default, which is the time they have to save their state.
REFUSAL_ENV = {"OMPI_MCA_odls_base_sigkill_timeout": "0"}


def run_cadmm(cadmm, ranks, args, expect=0, env=None):
    """Runs `mpirun -np ranks cadmm args` (env: extra environment variables); returns (code, stdout, stderr);
    raises if the code differs from expect (expect=None accepts any code)."""
    cmd = ["mpirun", "--timeout", str(int(TIMEOUT)), "-np", str(ranks), cadmm] + list(args)
    with started(cmd, {**mpi_env(), **(env or {})}) as p:
        try:
            out, err = p.communicate(timeout=TIMEOUT + 15)
        except subprocess.TimeoutExpired:
            raise SystemExit(f"TIMEOUT after {TIMEOUT}s: {' '.join(cmd)}")
    if expect is not None and p.returncode != expect:
        raise SystemExit(f"exit code {p.returncode} (expected {expect}): {' '.join(cmd)}\n{out}\n{err}")
    return p.returncode, out, err


def expect_refusals(cadmm, ranks, data, out, cases):
    """Runs each case (args, exit code, text): `cadmm COMMAND --data DATA --output OUT ARGS` (COMMAND: args' first item
    when it is path or cv, else solve); each must exit with its code, print its text once on stderr and write no
    output. Refusals cost little but mpirun's start, so the cases run a few at a time, each with its own output
    path. Returns the failures (and prints each refusal's first line)."""
    def one(numbered):
        i, (args, code, text) = numbered
        target = f"{out[:-3] if out.endswith('.h5') else out}.case{i}.h5"
        if os.path.exists(target):
            os.remove(target)
        command = [args[0]] if args[0] in ("path", "cv") else ["solve"]
        args = args[1:] if args[0] in ("path", "cv") else args
        rc, so, se = run_cadmm(cadmm, ranks, command + ["--data", data, "--output", target] + args, expect=None,
                               env=REFUSAL_ENV)
        if rc != code or text not in se or os.path.exists(target) or se.count(text) > 1:
            return f"{' '.join(args)}: exit {rc} (expected {code}), stderr {se.strip()!r}", None
        return None, f"{' '.join(args)}: exit {rc}, {se.strip().splitlines()[0]}"

    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(one, enumerate(cases)))
    for _, line in results:
        if line:
            print(line)
    return [failure for failure, _ in results if failure]
