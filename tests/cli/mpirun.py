"""Runs cadmm under mpirun with a hard time limit and kills exactly the processes it started."""
import os
import signal
import subprocess

TIMEOUT = float(os.environ.get("CADMM_TEST_TIMEOUT", "120"))


def mpi_env():
    env = dict(os.environ)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1",
               OMPI_MCA_btl="self,vader,tcp", OPENBLAS_NUM_THREADS="1")
    return env


def run_cadmm(cadmm, ranks, args, expect=0, env=None):
    """Runs `mpirun -np ranks cadmm args` (env: extra environment variables); returns (code, stdout, stderr);
    raises if the code differs from expect (expect=None accepts any code)."""
    cmd = ["mpirun", "--timeout", str(int(TIMEOUT)), "-np", str(ranks), cadmm] + list(args)
    # A new session makes the whole mpirun tree one process group, so a hang is killed by that group's id.
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**mpi_env(), **(env or {})},
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=TIMEOUT + 15)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise SystemExit(f"TIMEOUT after {TIMEOUT}s: {' '.join(cmd)}")
    if expect is not None and p.returncode != expect:
        raise SystemExit(f"exit code {p.returncode} (expected {expect}): {' '.join(cmd)}\n{out}\n{err}")
    return p.returncode, out, err
