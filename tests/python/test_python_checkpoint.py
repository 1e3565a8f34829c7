"""tod2map.run(..., resume=True), run by ctest serially and under mpiexec -n 2 (the executable
then runs on as many ranks).

Proves: a checkpoint written by the executable (stopped at solver.maxiter) is continued by
tod2map.run with resume=True to the executable's uninterrupted map, bit for bit, and removed
once converged; a checkpoint of another config raises ValueError on every rank naming what
differs, and leaves the file as it was.
"""
import os
import shutil
import subprocess
import tempfile

import h5py
import pytest
from mpi4py import MPI

import tod2map

COMM = MPI.COMM_WORLD
EXE = os.environ.get("TOD2MAP_EXE", "")
MPIEXEC = os.environ.get("MPIEXEC", "mpiexec")
HERE = os.path.dirname(os.path.abspath(__file__))

tod2map.set_quiet(True)


def run_exe(args, cwd):
    """The executable on as many ranks as this job has, started by rank 0 in an environment
    without this job's launcher variables; raises on every rank if it fails."""
    error = ""
    if COMM.rank == 0:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OMPI_", "PMIX_", "PRTE_", "OPAL_"))}
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                   OMPI_MCA_rmaps_base_oversubscribe="1")
        cmd = [EXE] + [str(a) for a in args]
        if COMM.size > 1:
            cmd = [MPIEXEC, "-n", str(COMM.size), "--oversubscribe"] + cmd
        p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)
        if p.returncode != 0:
            error = f"{' '.join(cmd)} exited {p.returncode}: {p.stderr[-2000:]}"
    errors = [e for e in COMM.allgather(error) if e]
    if errors:
        raise AssertionError("; ".join(errors))


@pytest.fixture(scope="module")
def folder():
    if not EXE:
        pytest.skip("TOD2MAP_EXE is not set (run through ctest)")
    path = COMM.bcast(tempfile.mkdtemp(prefix="tod2map-pyckpt-") if COMM.rank == 0 else None)
    if COMM.rank == 0:
        shutil.copy(os.path.join(HERE, "checkpoint.yaml"), os.path.join(path, "config.yaml"))
    run_exe(["sim", "config.yaml"], path)
    run_exe(["run", "config.yaml", "--set", 'solver.checkpoint.path=""', "--set",
             "output.path=ref.h5"], path)
    yield path
    COMM.Barrier()
    if COMM.rank == 0:
        shutil.rmtree(path, ignore_errors=True)


def paths(folder):
    # Where the results go does not change the iterates: absolute paths are the same run.
    return {"output.path": os.path.join(folder, "out", "map.h5"),
            "solver.checkpoint.path": os.path.join(folder, "out", "ckpt.h5")}


def test_resume_continues_to_the_executables_map(folder):
    over = paths(folder)
    run_exe(["run", "config.yaml", "--set", "solver.maxiter=12", "--set",
             f"solver.checkpoint.path={over['solver.checkpoint.path']}"], folder)
    r = tod2map.run(os.path.join(folder, "config.yaml"), COMM, resume=True, overrides=over)
    assert len(r.residuals) > 13
    ok = True
    if COMM.rank == 0:
        with h5py.File(over["output.path"], "r") as a, h5py.File(os.path.join(folder, "ref.h5"), "r") as b:
            for name in ("map", "hits", "rcond", "invcov", "solver/residuals"):
                ok = ok and a[name][()].tobytes() == b[name][()].tobytes()
        ok = ok and not os.path.exists(over["solver.checkpoint.path"])
    assert COMM.allreduce(ok, op=MPI.LAND)


def test_checkpoint_of_another_config_raises_value_error(folder):
    over = paths(folder)
    run_exe(["run", "config.yaml", "--set", "solver.maxiter=5", "--set",
             f"solver.checkpoint.path={over['solver.checkpoint.path']}"], folder)
    before = None
    if COMM.rank == 0:
        with open(over["solver.checkpoint.path"], "rb") as f:
            before = f.read()
    with pytest.raises(ValueError, match=r"config differs \(mapmaker.baseline_length: 0.25 in "
                                         r"the checkpoint, 0.5 now\)"):
        tod2map.run(os.path.join(folder, "config.yaml"), COMM, resume=True,
                    overrides={**over, "mapmaker.baseline_length": 0.5})
    if COMM.rank == 0:
        with open(over["solver.checkpoint.path"], "rb") as f:
            assert f.read() == before
