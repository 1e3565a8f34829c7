"""Checkpoint and restart of the destriping (and GLS) CG, end to end (docs/checkpoint.md), on the small
simulated run of checkpoint.yaml (a few hundred CG iterations, about a second).

Proves: a run stopped at solver.maxiter after checkpoints every 5 iterations, then continued
with --resume and a larger maxiter, writes the map, hits, rcond, invcov, baselines and residual
history of an uninterrupted run bit for bit, and removes the checkpoint once converged; SIGTERM
sent to one rank of a 2-rank run (as a batch system sends it to every task), SIGTERM to a
single process, and SIGUSR1 to mpirun (which forwards it) each leave a checkpoint, no map and
no .partial, end the run with a clear message and the status 128 + signal, and --resume from
it gives the uninterrupted map bit for bit; a checkpoint of another config, rank count or input
file list, and a damaged or missing checkpoint, each stop the run with one clear error line
before any timeline is even indexed, and leave the checkpoint byte for byte as it was.
"""
import os
import shutil
import signal
import subprocess
import threading

import h5py
import numpy as np
import pytest

from conftest import EXE, MPIEXEC, rank_pid, run_tod2map

HERE = os.path.dirname(os.path.abspath(__file__))
DATASETS = ["map", "hits", "rcond", "invcov", "solver/residuals"]


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """Simulated data and the uninterrupted maps at 1 and 2 ranks (no checkpoint)."""
    base = tmp_path_factory.mktemp("checkpoint")
    shutil.copy(os.path.join(HERE, "checkpoint.yaml"), base / "config.yaml")
    run_tod2map(["sim", base / "config.yaml"], ranks=2)
    for ranks in (1, 2):
        run_tod2map(["run", base / "config.yaml", "--set", 'solver.checkpoint.path=""',
                     "--set", f"output.path=ref{ranks}.h5"], ranks=ranks, cwd=base)
    return base


def assert_same_map(path, ref):
    """Every dataset bit for bit (bytes, so that -0.0 and NaN patterns count too)."""
    with h5py.File(path, "r") as a, h5py.File(ref, "r") as b:
        names = DATASETS + [f"baselines/{d}/{o}" for d in b["baselines"] for o in b["baselines"][d]]
        for name in names:
            assert a[name].shape == b[name].shape, name
            assert a[name][()].tobytes() == b[name][()].tobytes(), name
        assert len(b["solver/residuals"]) > 50  # the solve was long enough to stop in
        assert b["solver/residuals"][-1] <= 1e-12


def checkpoint_iteration(path):
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "tod2map CG checkpoint"
        return int(f.attrs["iteration"])


def test_stopped_at_maxiter_then_resumed_equals_uninterrupted(sim, tmp_path):
    cfg = sim / "config.yaml"
    first = run_tod2map(["run", cfg, "--set", "solver.maxiter=12"], ranks=2, cwd=tmp_path)
    for k in (5, 10, 12):
        assert f"checkpoint: iteration {k} written to out/ckpt.h5 in " in first.stdout
    assert "NOT converged: maxiter" in first.stdout
    assert "kept (continue with --resume and a larger solver.maxiter)" in first.stdout
    ckpt = tmp_path / "out" / "ckpt.h5"
    assert checkpoint_iteration(ckpt) == 12
    with h5py.File(ckpt, "r") as f:
        assert f.attrs["ranks"] == 2 and len(f["residuals"]) == 13

    second = run_tod2map(["run", cfg, "--resume"], ranks=2, cwd=tmp_path)
    assert "checkpoint: resuming from out/ckpt.h5 after iteration 12" in second.stdout
    assert "destripe resumed after iteration 12" in second.stdout
    assert "resumed after iteration 12, last written after iteration" in second.stdout
    assert_same_map(tmp_path / "out" / "map.h5", sim / "ref2.h5")
    # Converged and written: the checkpoint is gone, and so is any .partial.
    assert sorted(os.listdir(tmp_path / "out")) == ["map.h5"]


def test_gls_stopped_at_maxiter_then_resumed_equals_uninterrupted(sim, tmp_path):
    # GLS's final solve is checkpointed as destripe's is, with the fitted spectra fitted again
    # (the same) on resume.
    cfg = sim / "config.yaml"
    gls = ["--set", "mapmaker.method=gls", "--set", "mapmaker.noise.psd=estimate"]
    run_tod2map(["run", cfg, *gls, "--set", 'solver.checkpoint.path=""', "--set",
                 "output.path=ref_gls.h5"], ranks=2, cwd=tmp_path)
    first = run_tod2map(["run", cfg, *gls, "--set", "solver.maxiter=7"], ranks=2, cwd=tmp_path)
    assert "checkpoint: iteration 7 written to out/ckpt.h5 in " in first.stdout
    assert checkpoint_iteration(tmp_path / "out" / "ckpt.h5") == 7
    second = run_tod2map(["run", cfg, *gls, "--resume"], ranks=2, cwd=tmp_path)
    assert "gls resumed after iteration 7" in second.stdout
    with h5py.File(tmp_path / "out" / "map.h5", "r") as a, h5py.File(tmp_path / "ref_gls.h5", "r") as b:
        for name in DATASETS:
            assert a[name][()].tobytes() == b[name][()].tobytes(), name
        assert len(b["solver/residuals"]) > 8 and b["solver/residuals"][-1] <= 1e-12
    assert sorted(os.listdir(tmp_path / "out")) == ["map.h5"]


def interrupted_run(cfg, cwd, ranks, send):
    """Starts `tod2map run` (every 0: checkpoints on a signal only), calls send(process) once the
    CG's first progress line is out, returns (exit status, stdout, stderr)."""
    cmd = [EXE, "run", str(cfg), "--set", "solver.checkpoint.every=0"]
    if ranks:
        cmd = [MPIEXEC, "-n", str(ranks), "--oversubscribe"] + cmd
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, bufsize=1)
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    try:
        out = []
        for line in proc.stdout:
            out.append(line)
            if line.startswith("destripe iter 1 "):
                send(proc)
                break
        rest, err = proc.communicate()
    finally:
        watchdog.cancel()
    return proc.returncode, "".join(out) + rest, err


@pytest.mark.parametrize("how", ["sigterm_to_rank_1", "sigusr1_to_mpirun", "sigterm_one_process"])
def test_signal_leaves_checkpoint_and_resume_equals_uninterrupted(sim, tmp_path, how):
    if not EXE:
        pytest.skip("TOD2MAP_EXE is not set (run through ctest)")
    cfg = sim / "config.yaml"
    ranks = None if how == "sigterm_one_process" else 2
    if how == "sigterm_to_rank_1":  # only rank 1 gets it: rank 0 must stop all the same
        send, sig = lambda p: os.kill(rank_pid(p.pid, 1), signal.SIGTERM), signal.SIGTERM
    elif how == "sigusr1_to_mpirun":  # mpirun forwards SIGUSR1 to every rank at once
        send, sig = lambda p: os.kill(p.pid, signal.SIGUSR1), signal.SIGUSR1
    else:
        send, sig = lambda p: os.kill(p.pid, signal.SIGTERM), signal.SIGTERM
    status, out, err = interrupted_run(cfg, tmp_path, ranks, send)
    name = signal.Signals(sig).name
    assert status == 128 + sig, (status, out, err)
    assert f"tod2map run: stopped: destripe stopped by {name} after iteration " in err
    assert f"its state saved to out/ckpt.h5; continue with `tod2map run {cfg} --resume`" in err
    ckpt = tmp_path / "out" / "ckpt.h5"
    k = checkpoint_iteration(ckpt)
    assert f"checkpoint: iteration {k} written to out/ckpt.h5" in out
    assert 1 <= k < 100
    assert sorted(os.listdir(tmp_path / "out")) == ["ckpt.h5"]  # no map, no .partial

    resumed = run_tod2map(["run", cfg, "--resume"], ranks=ranks, cwd=tmp_path)
    assert f"destripe resumed after iteration {k}," in resumed.stdout
    assert_same_map(tmp_path / "out" / "map.h5", sim / f"ref{ranks or 1}.h5")


@pytest.fixture
def stopped(sim, tmp_path):
    """A copy of the data (its files may be changed) and a checkpoint after 12 iterations, made
    by one process (no launcher: these tests run many short runs)."""
    shutil.copytree(sim / "data", tmp_path / "data")
    shutil.copy(sim / "config.yaml", tmp_path / "config.yaml")
    run_tod2map(["run", "config.yaml", "--set", "solver.maxiter=12"], cwd=tmp_path)
    ckpt = tmp_path / "out" / "ckpt.h5"
    assert checkpoint_iteration(ckpt) == 12
    return tmp_path, ckpt, ckpt.read_bytes()


def refused(folder, ckpt, expected, args=(), ranks=None):
    """--resume fails with one clear error line naming the checkpoint, before any input was
    looked at, and the checkpoint is unchanged."""
    before = ckpt.read_bytes() if ckpt.exists() else None
    before_mtime = ckpt.stat().st_mtime_ns if ckpt.exists() else None
    proc = run_tod2map(["run", "config.yaml", "--resume", *args], ranks=ranks, cwd=folder,
                       check=False)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    errors = {line for line in proc.stderr.splitlines() if line.startswith("tod2map run: error: ")}
    assert len(errors) == 1, proc.stderr  # the same line from every rank
    line = errors.pop()
    assert "out/ckpt.h5" in line and expected in line, line
    assert "input: " not in proc.stdout  # no timeline was indexed, let alone read
    if before is not None:
        assert ckpt.read_bytes() == before and ckpt.stat().st_mtime_ns == before_mtime
    assert not (folder / "out" / "map.h5.partial").exists()
    assert not (folder / "out" / "ckpt.h5.partial").exists()
    return line


def test_other_run_is_refused_before_reading(stopped):
    folder, ckpt, _ = stopped
    line = refused(folder, ckpt, "written by another run: config differs "
                   "(mapmaker.baseline_length: 0.25 in the checkpoint, 2.0 now)",
                   args=["--set", "mapmaker.baseline_length=2"])
    assert "run without --resume to start afresh" in line
    refused(folder, ckpt, "rank count 1 in the checkpoint, 2 now", ranks=2)
    refused(folder, ckpt, "rank count 1 in the checkpoint, 3 now", ranks=3)
    # What does not change the iterates may change: this resume is accepted (see the end).
    with open(folder / "data" / "ckpt_0002.fits", "ab") as f:
        f.write(b"\0" * 2880)  # one more (empty) FITS block: another file size
    refused(folder, ckpt, "input files differ (4 files in the checkpoint, 4 now; first "
            "difference: ")


def test_damaged_or_missing_checkpoint_is_refused_and_kept(stopped):
    folder, ckpt, good = stopped

    def delete_p():
        with h5py.File(ckpt, "r+") as f:
            del f["p"]

    def change_value():
        with h5py.File(ckpt, "r+") as f:
            f["x"][3] = 1.0

    damage = {
        "truncated": (lambda: ckpt.write_bytes(good[: len(good) // 2]), "cannot open file"),
        "garbage": (lambda: ckpt.write_bytes(os.urandom(len(good))), "not an HDF5 file"),
        "no dataset p": (delete_p, "dataset 'p' not found"),
        "changed value": (change_value, "does not match its checksum"),
    }
    for what, (spoil, expected) in damage.items():
        ckpt.write_bytes(good)
        spoil()
        refused(folder, ckpt, expected)
    ckpt.unlink()
    refused(folder, ckpt, "no such file")
    assert not ckpt.exists()
    # The good one, put back, still continues to the end.
    ckpt.write_bytes(good)
    run_tod2map(["run", "config.yaml", "--resume", "--set", "solver.tol=1e-6"], cwd=folder)
    assert not ckpt.exists()
