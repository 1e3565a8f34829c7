"""Shared helpers for the pytest suites: run the tod2map executable (optionally under
mpiexec) on configs written into a temporary folder."""
import os
import subprocess
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
