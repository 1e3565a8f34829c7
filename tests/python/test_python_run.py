"""tod2map.run, read_timelines, MapMaker and Result against the tod2map executable, run by
ctest serially and under mpiexec -n 2 (the executable then runs on as many ranks).

Proves: run() gives the executable's map, hits, rcond, invcov and residual history for the same
config to 1e-12 (destripe and binned), and writes the same file; MapMaker on timelines read by
read_timelines, and on the same data read independently with astropy into numpy arrays (the
same share per rank), gives the executable's map to 1e-12, and to 1e-10 with another share
(float32 and strided arrays included); DistributedMap.get returns, for pixels owned by other
ranks, the values in the executable's file, gather gives the whole file, iteration covers the
owned range; library errors reach Python on every rank as ValueError/OSError with the library's
message, also when only one rank's input is bad; the GIL is released while run() works (a
Python thread keeps running, unlike during a GIL-holding call).
"""
import os
import shutil
import subprocess
import tempfile
import textwrap
import threading
import time

import h5py
import numpy as np
import pytest
from astropy.io import fits
from mpi4py import MPI

import tod2map

COMM = MPI.COMM_WORLD
EXE = os.environ.get("TOD2MAP_EXE", "")
MPIEXEC = os.environ.get("MPIEXEC", "mpiexec")
UNSEEN = -1.6375e30
NSIDE = 16

CONFIG = """
input:
  files: ["data/obs_*.fits"]
pixelization: {nside: 16, ordering: RING, stokes: IQU}
mapmaker: {method: destripe, baseline_length: 1.0, min_hits: 3, min_rcond: 1.0e-3}
solver: {tol: 1.0e-12, maxiter: 500}
output: {path: out/exe_destripe.h5, baselines: true}
simulation:
  seed: 7
  output_dir: data
  n_observations: 4
  observation_length: 600.0
  sample_rate: 20.0
  flag_fraction: 0.05
  scan: {type: satellite, spin_period: 6.0, spin_angle_deg: 85.0,
         precession_period: 1900.0, precession_angle_deg: 65.0}
  focal_plane:
    - {name: a, polang_deg: 0.0, sigma: 1.0, fknee: 0.5, alpha: 2.0}
    - {name: b, polang_deg: 45.0, sigma: 2.0, fknee: 0.5, alpha: 2.0}
    - {name: c, polang_deg: 90.0, sigma: 1.5, fknee: 0.5, alpha: 2.0}
"""

tod2map.set_quiet(True)


def agree(error):
    """Raises on every rank when any rank has an error message (so no rank is left waiting in a
    collective call while another has failed)."""
    errors = [e for e in COMM.allgather(error) if e]
    if errors:
        raise AssertionError("; ".join(errors))


def clean_env():
    """The environment without the launcher's variables, so that an mpiexec started from inside
    an MPI job starts a job of its own."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OMPI_", "PMIX_", "PRTE_", "OPAL_"))}
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    return env


def run_exe(args, cwd):
    """Runs the executable on as many ranks as this job has (from rank 0); collective."""
    error = ""
    if COMM.rank == 0:
        cmd = [EXE] + [str(a) for a in args]
        if COMM.size > 1:
            cmd = [MPIEXEC, "-n", str(COMM.size), "--oversubscribe"] + cmd
        p = subprocess.run(cmd, cwd=cwd, env=clean_env(), capture_output=True, text=True,
                           timeout=240)
        if p.returncode != 0:
            error = f"{' '.join(cmd)} exited {p.returncode}: {p.stderr[-2000:]}"
    agree(error)


@pytest.fixture(scope="module")
def data():
    if not EXE:
        pytest.skip("TOD2MAP_EXE is not set (run through ctest)")
    folder = COMM.bcast(tempfile.mkdtemp(prefix="tod2map-pyrun-") if COMM.rank == 0 else None)
    cfg = os.path.join(folder, "config.yaml")
    if COMM.rank == 0:
        with open(cfg, "w") as f:
            f.write(textwrap.dedent(CONFIG))
    COMM.Barrier()
    tod2map.simulate(cfg, COMM)
    run_exe(["run", cfg], cwd=folder)
    run_exe(["run", cfg, "--set", "mapmaker.method=binned", "--set",
             "output.path=out/exe_binned.h5"], cwd=folder)
    yield folder, cfg
    COMM.Barrier()
    if COMM.rank == 0:
        shutil.rmtree(folder, ignore_errors=True)


def exe_file(folder, method):
    return os.path.join(folder, "out", f"exe_{method}.h5")


def compare_with_file(result, path, rtol=1e-12):
    """Gathers result's datasets and compares them with the map file on rank 0; returns the
    list of differences (on every rank)."""
    full = {name: getattr(result, name).gather(root=0)
            for name in ("map", "hits", "rcond", "invcov")}
    problems = []
    if COMM.rank == 0:
        with h5py.File(path, "r") as f:
            for name, mine in full.items():
                ref = f[name][()]
                if mine.shape != ref.shape:
                    problems.append(f"{name}: shape {mine.shape} vs {ref.shape}")
                    continue
                if name == "hits":
                    if not np.array_equal(mine, ref):
                        problems.append("hits differ")
                    continue
                seen = ref != UNSEEN
                if not np.array_equal(seen, mine != UNSEEN):
                    problems.append(f"{name}: observed pixels differ")
                    continue
                scale = np.abs(ref[seen]).max() if seen.any() else 1.0
                diff = np.abs(mine[seen] - ref[seen]).max() if seen.any() else 0.0
                if not diff <= rtol * scale:
                    problems.append(f"{name}: max difference {diff:.3e} (scale {scale:.3e})")
            res = f["solver/residuals"][()]
            if len(res) != len(result.residuals) or not np.allclose(result.residuals, res,
                                                                   rtol=rtol, atol=0):
                problems.append(f"residuals differ: {len(result.residuals)} vs {len(res)}")
    return COMM.bcast(problems)


@pytest.mark.parametrize("method", ["destripe", "binned"])
def test_run_equals_executable(data, method):
    folder, cfg = data
    out = os.path.join(folder, "out", f"py_{method}.h5")
    r = tod2map.run(cfg, COMM, overrides={"mapmaker.method": method, "output.path": out})
    assert r.method == method and r.nside == NSIDE and r.stokes == "IQU"
    assert set(r.timings) >= {"read", "pointing", "solve", "write", "total"}
    assert r.samples == 4 * 3 * 600 * 20
    assert 0 < r.samples_flagged < 0.1 * r.samples  # flag_fraction 0.05
    if method == "destripe":
        assert r.converged and r.iterations > 10 and r.residuals[-1] <= 1e-12
    assert compare_with_file(r, exe_file(folder, method)) == []
    # The file the Python run wrote is the executable's file too.
    problems = []
    if COMM.rank == 0:
        with h5py.File(out, "r") as mine, h5py.File(exe_file(folder, method), "r") as ref:
            for name in ("map", "hits", "rcond", "invcov", "solver/residuals"):
                if not np.array_equal(mine[name][()], ref[name][()]):
                    problems.append(name)
            if mine.attrs["method"] != method:
                problems.append(f"method attribute {mine.attrs['method']}")
    assert COMM.bcast(problems) == []


def test_owned_slices_and_local_views(data):
    folder, cfg = data
    r = tod2map.run(cfg, COMM, write=False)
    ranges = COMM.allgather((r.map.owned_range.start, r.map.owned_range.stop))
    assert ranges[0][0] == 0 and ranges[-1][1] == 12 * NSIDE**2
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))  # contiguous, rank order
    n = len(r.map.owned_range)
    assert r.map.local.shape == (3, n) and r.hits.local.shape == (n,)
    assert np.asarray(r.rcond).shape == (n,) and r.invcov.local.shape == (6, n)
    with h5py.File(exe_file(folder, "destripe"), "r") as f:
        sl = slice(r.map.owned_range.start, r.map.owned_range.stop)
        assert np.array_equal(r.map.local, f["map"][:, sl])
        assert np.array_equal(r.hits.local, f["hits"][sl])
    # Iterating over the owned range: every owned pixel once, with its values.
    pixels = [p for p, _ in r.hits]
    assert pixels == list(r.hits.owned_range)
    assert sum(int(v) for _, v in r.hits) == int(r.hits.local.sum())
    for p, v in r.map:
        if p % 97 == 0:
            assert np.array_equal(v, r.map.local[:, p - r.map.owned_range.start])


def test_get_reads_pixels_of_other_ranks(data):
    folder, cfg = data
    r = tod2map.run(cfg, COMM, write=False)
    with h5py.File(exe_file(folder, "destripe"), "r") as f:
        ref_map, ref_hits = f["map"][()], f["hits"][()]
    npix = 12 * NSIDE**2
    mine = r.map.owned_range
    # Every rank asks for pixels it does not own (all of them when alone), shuffled, repeated,
    # as a 2-D array; rank 1 also asks for nothing in a second call.
    rng = np.random.default_rng(COMM.rank)
    others = np.array([p for p in range(npix) if p not in mine] or list(range(npix)))
    ask = rng.choice(others, size=(40, 25))
    values = r.map.get(ask)
    assert values.shape == (3, 40, 25)
    assert np.array_equal(values, ref_map[:, ask])
    hits = r.hits.get(ask.ravel())
    assert hits.dtype == np.int64 and np.array_equal(hits, ref_hits[ask.ravel()])
    empty = r.rcond.get([] if COMM.rank == 1 else [0, npix - 1])
    assert empty.shape == ((0,) if COMM.rank == 1 else (2,))
    # gather: the whole file on the root only.
    root = COMM.size - 1
    full = r.map.gather(root=root)
    assert (full is not None) == (COMM.rank == root)
    assert full is None or np.array_equal(full, ref_map)


def test_mapmaker_on_read_timelines_equals_executable(data):
    folder, cfg = data
    timelines = tod2map.read_timelines(cfg, COMM)
    mm = tod2map.MapMaker(timelines, cfg, COMM)
    assert compare_with_file(mm.destripe(), exe_file(folder, "destripe")) == []
    assert compare_with_file(mm.binned(), exe_file(folder, "binned")) == []


def astropy_timeline(path, detector, transform=lambda a: a):
    """The timeline of `detector` in `path`, read with astropy (not tod2map's reader) into a
    numpy Timeline."""
    with fits.open(path) as f:
        primary, hdu = f[0].header, f[detector]
        h, d = hdu.header, hdu.data

        def col(name):
            return transform(np.array(d[name], dtype=np.float64))

        return tod2map.Timeline(
            col("SIGNAL"), col("PSI"), col("THETA"), col("PHI"), sigma=h["SIGMA"],
            samprate=primary["SAMPRATE"], detector=detector, obsid=str(primary["OBSID"]),
            flags=np.array(d["FLAG"]), polang=h.get("POLANG", 0.0), poleff=h.get("POLEFF", 1.0),
            fknee=h.get("FKNEE", 0.0), alpha=h.get("ALPHA", 1.0), coordsys=h.get("COORDSYS", ""))


def test_numpy_inputs_equal_fits(data):
    folder, cfg = data
    # This rank's share as `tod2map run` assigns it, but read by astropy into numpy arrays.
    read = tod2map.read_timelines(cfg, COMM)
    share = [(t.file, t.detector) for t in read]
    base = os.path.dirname(cfg)
    timelines = [astropy_timeline(os.path.join(base, f) if not os.path.isabs(f) else f, d)
                 for f, d in share]
    r = tod2map.MapMaker(timelines, cfg, COMM).destripe()
    assert compare_with_file(r, exe_file(folder, "destripe")) == []
    # The flag rule applied to the numpy flags matches the reader's.
    assert [t.n_flagged for t in timelines] == [t.n_flagged for t in read]


@pytest.mark.parametrize("layout", ["float64", "float32", "strided"])
def test_numpy_inputs_any_share_and_layout(data, layout):
    folder, cfg = data
    files = sorted(os.path.join(folder, "data", f) for f in os.listdir(os.path.join(folder, "data"))
                   if f.startswith("obs_"))
    pairs = [(f, d) for f in files for d in ("a", "b", "c")]
    transform = {"float64": lambda a: a,
                 "float32": lambda a: a.astype(np.float32),
                 "strided": lambda a: np.repeat(a, 2)[::2]}[layout]
    # Round robin: another share than the executable's, so sums run in another order.
    timelines = [astropy_timeline(f, d, transform) for i, (f, d) in enumerate(pairs)
                 if i % COMM.size == COMM.rank]
    if layout == "float64":
        assert all(t.signal.dtype == np.float64 for t in timelines)
    r = tod2map.MapMaker(timelines, cfg, COMM).binned()
    # float32 rounds the pointing and the signal: only the pixels hit far from an edge agree.
    if layout == "float32":
        full = r.hits.gather(root=0)
        moved = None
        if COMM.rank == 0:
            with h5py.File(exe_file(folder, "binned"), "r") as f:
                moved = np.abs(full - f["hits"][()]).sum() / full.sum()
        assert COMM.bcast(moved) < 0.01
        return
    assert compare_with_file(r, exe_file(folder, "binned"), rtol=1e-10) == []


def test_zero_copy_timeline_arrays(data):
    n = 1000
    signal = np.linspace(0.0, 1.0, n)
    psi = np.zeros(n)
    theta = np.full(n, 1.0)
    phi = np.linspace(0, 6, n)
    t = tod2map.Timeline(signal, psi, theta, phi, sigma=1.0, samprate=10.0)
    assert t.signal is signal or np.shares_memory(t.signal, signal)
    assert np.shares_memory(t.theta, theta) and np.shares_memory(t.phi, phi)
    t32 = tod2map.Timeline(signal.astype(np.float32), psi, theta, phi, sigma=1.0, samprate=10.0)
    assert t32.signal.dtype == np.float64 and np.allclose(t32.signal, signal)
    folder, cfg = data
    read = tod2map.read_timelines(cfg, COMM)
    # Views of what the reader read: writable numpy arrays sharing the reader's memory.
    assert all(x.signal.base is not None for x in read)


def test_errors_reach_python_on_every_rank(data):
    folder, cfg = data
    with pytest.raises(ValueError) as e:
        tod2map.run(cfg, COMM, write=False, overrides={"mapmaker.min_hits": "many"})
    msgs = COMM.allgather(str(e.value))
    assert "mapmaker.min_hits" in msgs[0] and len(set(msgs)) == 1
    with pytest.raises(ValueError, match="mapmaker.metod"):
        tod2map.run({"mapmaker": {"metod": "binned"}}, COMM)
    # Only one rank's config path is bad: every rank raises the same OSError.
    path = cfg if COMM.rank != COMM.size - 1 else os.path.join(folder, "missing.yaml")
    with pytest.raises(OSError) as e:
        tod2map.load_config(path, comm=COMM)
    msgs = COMM.allgather(str(e.value))
    assert "missing.yaml" in msgs[0] and len(set(msgs)) == 1
    # A file that is not FITS: OSError naming it, on every rank.
    bad = os.path.join(folder, "bad", "obs_9999.fits")
    if COMM.rank == 0:
        os.makedirs(os.path.dirname(bad), exist_ok=True)
        with open(bad, "w") as f:
            f.write("not a FITS file\n")
    COMM.Barrier()
    with pytest.raises(OSError, match="obs_9999.fits"):
        tod2map.run(cfg, COMM, write=False, overrides={"input.files": [bad]})
    with pytest.raises(TypeError, match="mpi4py"):
        tod2map.run(cfg, comm="world")


def test_gil_released_while_reading_solving_writing(data):
    folder, cfg = data
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.0005)

    def ticks_during(call):
        thread = threading.Thread(target=ticker)
        ticks.clear()
        stop.clear()
        thread.start()
        time.sleep(0.02)
        t0 = time.perf_counter()
        call()
        t1 = time.perf_counter()
        stop.set()
        thread.join()
        return sum(t0 < t < t1 for t in ticks), t1 - t0

    out = os.path.join(folder, "out", "gil.h5")
    inside, seconds = ticks_during(lambda: tod2map.run(cfg, COMM, overrides={"output.path": out}))
    # Control: a long call that holds the GIL (a C loop with no bytecode in between) lets the
    # thread tick only around its edges, where the interpreter may hand the GIL over a few times
    # (4 seen on a loaded machine). Its length is doubled until it lasts over 0.1 s, whatever
    # the speed of the machine.
    n = 20_000_000
    while True:
        held, held_seconds = ticks_during(lambda: sum(range(n)))
        if held_seconds > 0.1:
            break
        n *= 2
    assert held <= 10, held
    # A run that held the GIL throughout would tick only at its edges too, like the control.
    assert seconds > 0.02 and inside >= max(20, 5 * held), (inside, held, seconds)
