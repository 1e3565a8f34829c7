"""Shared helpers for the pytest suites: run the tod2map executable (optionally under
mpiexec) on configs written into a temporary folder."""
import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

EXE = os.environ.get("TOD2MAP_EXE", "")
MPIEXEC = os.environ.get("MPIEXEC", "mpiexec")


def run_tod2map(args, ranks=None, check=True, cwd=None, timeout=600):
    """Runs `tod2map ARGS` (under mpiexec -n RANKS when given); returns CompletedProcess."""
    if not EXE:
        pytest.skip("TOD2MAP_EXE is not set (run through ctest)")
    cmd = [EXE] + [str(a) for a in args]
    if ranks is not None:
        cmd = [MPIEXEC, "-n", str(ranks), "--oversubscribe"] + cmd
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def write_config(folder, text):
    """Writes a YAML config (dedented) into folder/config.yaml and returns its path."""
    path = os.path.join(str(folder), "config.yaml")
    with open(path, "w") as f:
        f.write(textwrap.dedent(text))
    return path


def rank_pid(launcher_pid, rank):
    """The pid of `rank` among mpirun's children (from its environment)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != launcher_pid:
                continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                if f"OMPI_COMM_WORLD_RANK={rank}".encode() in f.read().split(b"\0"):
                    return int(entry)
        except OSError:
            continue
    raise AssertionError(f"no rank {rank} under process {launcher_pid}")


def run_python(code, cwd):
    """Runs `code` with this Python in a process of its own: importing tod2map here would start
    MPI in the test process, and the mpiexec of later tests would then fail."""
    if importlib.util.find_spec("tod2map") is None:
        pytest.skip("the tod2map module is not on PYTHONPATH (run through ctest)")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OMPI_", "PMIX_", "PRTE_", "OPAL_"))}
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout
