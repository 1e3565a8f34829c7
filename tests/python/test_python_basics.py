"""The tod2map module as a module: HEALPix functions, error translation, import and shut-down,
and the plot command. Run by ctest serially and under mpiexec -n 2 (the tests that start
Python subprocesses run in the serial suite only).

Proves: Healpix.ang2pix/vec2pix/ring2nest/nest2ring equal healpy exactly and pix2ang/pix2vec to a
few ulp, for scalars and broadcast arrays; library errors arrive as ValueError, OSError or
NotImplementedError with the library's message; importing twice (and reloading), importing
after or before mpi4py, and letting tod2map initialise MPI itself all work and exit with status
0; at exit Kokkos and PETSc are finalised before MPI is, after which the module refuses calls;
`python3 -m tod2map plot` draws I, Q and U panels from .h5 and .fits maps and reports a
missing file as one line with status 1.
"""
import os
import subprocess
import sys
import textwrap

import healpy as hp
import numpy as np
import pytest
from mpi4py import MPI

import tod2map

COMM = MPI.COMM_WORLD
serial_only = pytest.mark.skipif(COMM.size > 1, reason="process-level test: serial suite only")


@pytest.mark.parametrize("nside", [1, 16, 1024, 2**20])
@pytest.mark.parametrize("nest", [False, True])
def test_healpix_matches_healpy(nside, nest):
    h = tod2map.Healpix(nside, "NEST" if nest else "RING")
    assert h.npix == 12 * nside**2 and h.nside == nside
    rng = np.random.default_rng(nside)
    theta = np.arccos(rng.uniform(-1, 1, 100_000))
    phi = rng.uniform(-10, 10, 100_000)
    # Near the poles too, where the formulas change.
    theta[:1000] = rng.uniform(0, 0.02, 1000)
    pix = h.ang2pix(theta, phi)
    assert pix.dtype == np.int64
    assert np.array_equal(pix, hp.ang2pix(nside, theta, phi, nest=nest))
    t, p = h.pix2ang(pix)
    t_ref, p_ref = hp.pix2ang(nside, pix, nest=nest)
    np.testing.assert_allclose(t, t_ref, rtol=4e-16, atol=1e-300)
    np.testing.assert_allclose(p, p_ref, rtol=4e-16, atol=1e-300)
    v = hp.ang2vec(theta, phi).T * 3.0  # any length
    assert np.array_equal(h.vec2pix(*v), hp.vec2pix(nside, *v, nest=nest))
    np.testing.assert_allclose(np.stack(h.pix2vec(pix)), np.stack(hp.pix2vec(nside, pix, nest=nest)),
                               rtol=0, atol=2e-15)  # healpy's C++ formula: a few ulp
    if nest:
        ring = h.nest2ring(pix)
        assert np.array_equal(ring, hp.nest2ring(nside, pix))
        assert np.array_equal(h.ring2nest(ring), pix)


def test_healpix_scalars_broadcasting_and_invalid_input():
    h = tod2map.Healpix(16)
    assert repr(h) == "Healpix(nside=16, ordering='RING')"
    p = h.ang2pix(0.5, 1.0)
    assert int(p) == hp.ang2pix(16, 0.5, 1.0)
    theta, phi = h.pix2ang(int(p))
    assert isinstance(theta, float) and isinstance(phi, float)
    assert h.ang2pix(np.zeros((4, 1)) + 0.3, np.linspace(0, 1, 5)).shape == (4, 5)
    assert h.ang2pix(-0.1, 0.0) == -1 and h.ang2pix(0.1, np.inf) == -1
    t, _ = h.pix2ang(np.array([-1, h.npix]))
    assert np.isnan(t).all()
    assert h.pix2ang(np.arange(6).reshape(2, 3))[0].shape == (2, 3)
    with pytest.raises(ValueError, match="nside 3 is not a power of two"):
        tod2map.Healpix(3)
    with pytest.raises(ValueError, match="SPIRAL"):
        tod2map.Healpix(4, "SPIRAL")
    assert tod2map.Healpix(4, "nested") == tod2map.Healpix(4, "NEST")


def test_library_errors_become_python_exceptions(tmp_path_factory):
    # ConfigError -> ValueError, with the library's message (key path, did-you-mean).
    with pytest.raises(ValueError, match=r"key mapmaker\.metod.*method"):
        tod2map.load_config({"mapmaker": {"metod": "binned"}}, comm=COMM)
    with pytest.raises(ValueError, match="pixelization.nside"):
        tod2map.load_config({}, overrides={"pixelization.nside": 3}, comm=COMM)
    # IoError -> OSError naming the file.
    with pytest.raises(OSError, match="no_such_config.yaml"):
        tod2map.load_config("/nonexistent/no_such_config.yaml", comm=COMM)
    with pytest.raises(OSError, match="no_such_map.h5"):
        tod2map.read_map("/nonexistent/no_such_map.h5")
    with pytest.raises(TypeError, match="config must be"):
        tod2map.load_config(42)
    # NotCompiled -> NotImplementedError, for a backend this build lacks.
    missing = [b for b in ("tpetra", "petsc", "native") if b not in tod2map.available_backends()]
    if missing:
        with pytest.raises(NotImplementedError, match=missing[0]):
            tod2map.MapMaker([], backend=missing[0], comm=COMM).binned()


def test_config_lists_its_input_files(tmp_path):
    # Config.input_files(): input.files expanded relative to the config's folder, sorted; a
    # pattern that matches nothing is a ValueError naming the key.
    (tmp_path / "data").mkdir()
    for name in ("b.fits", "a.fits"):
        (tmp_path / "data" / name).write_bytes(b"")
    path = tmp_path / "run.yaml"
    path.write_text("input: {files: ['data/*.fits']}\n")
    config = tod2map.load_config(str(path), comm=COMM)
    assert config.input_files() == [str(tmp_path / "data" / "a.fits"),
                                    str(tmp_path / "data" / "b.fits")]
    path.write_text("input: {files: ['data/*.h5']}\n")
    with pytest.raises(ValueError, match=r"key input\.files: 'data/\*\.h5' matches no file"):
        tod2map.load_config(str(path), comm=COMM).input_files()


def clean_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OMPI_", "PMIX_", "PRTE_", "OPAL_"))}
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return env


# A small map made in the subprocess, so that Kokkos and the backend are really used.
SMALL_MAP = """
import numpy as np
def small_map(tod2map, backend=None):
    backend = backend or tod2map.available_backends()[0]
    rng = np.random.default_rng(1)
    n = 5000
    t = tod2map.Timeline(rng.normal(size=n), rng.uniform(0, 3, n),
                         np.arccos(rng.uniform(-1, 1, n)), rng.uniform(0, 6, n),
                         sigma=1.0, samprate=10.0)
    tod2map.set_quiet(True)
    return tod2map.MapMaker([t], nside=4, min_hits=1, backend=backend).binned()
"""


def python(code, cwd):
    """Runs SMALL_MAP + code in a fresh interpreter (this one's executable and PYTHONPATH)."""
    return subprocess.run([sys.executable, "-c", SMALL_MAP + textwrap.dedent(code)], cwd=cwd,
                          env=clean_env(), capture_output=True, text=True, timeout=120)


def check(proc, marker="done"):
    assert proc.returncode == 0, proc.stderr
    assert marker in proc.stdout, proc.stdout + proc.stderr
    # No complaint from Kokkos, MPI or PETSc at exit.
    for word in ("Kokkos", "MPI_", "PETSC ERROR", "Traceback"):
        assert word not in proc.stderr, proc.stderr


@serial_only
def test_import_twice_and_reload(tmp_path):
    check(python("""
        import importlib, tod2map
        core = tod2map._core
        import tod2map
        importlib.reload(tod2map)
        assert tod2map._core is core
        small_map(tod2map)
        print("done")
    """, tmp_path))


@serial_only
def test_import_after_mpi4py_reuses_its_mpi(tmp_path):
    check(python("""
        from mpi4py import MPI
        assert MPI.Is_initialized()
        level = MPI.Query_thread()
        import tod2map
        small_map(tod2map)
        assert MPI.Query_thread() == level and not MPI.Is_finalized()
        print("done")
    """, tmp_path))


@serial_only
def test_tod2map_initialises_mpi_when_mpi4py_does_not(tmp_path):
    # mpi4py told not to initialise MPI: tod2map does (once), and finalises it at exit.
    proc = python("""
        import atexit
        import mpi4py
        mpi4py.rc.initialize = False
        from mpi4py import MPI
        assert not MPI.Is_initialized()
        atexit.register(lambda: print("finalized at exit:", MPI.Is_finalized()))
        import tod2map
        assert MPI.Is_initialized()
        small_map(tod2map)
        print("done")
    """, tmp_path)
    check(proc)
    assert "finalized at exit: True" in proc.stdout


@serial_only
@pytest.mark.parametrize("backend", ["tpetra", "petsc"])
def test_exit_finalises_kokkos_and_petsc_before_mpi(tmp_path, backend):
    if backend not in tod2map.available_backends():
        pytest.skip(f"{backend} not built")
    # Registered before tod2map's own handler, so it runs after it (atexit is LIFO).
    proc = python(f"""
        import atexit
        from mpi4py import MPI
        def late():
            import tod2map
            print("late:", tod2map._core._is_finalized(), MPI.Is_finalized())
            try:
                small_map(tod2map)
            except RuntimeError as e:
                print("refused:", e)
        atexit.register(late)
        import tod2map
        r = small_map(tod2map, "{backend}")
        assert r.pixels_observed == 192
        print("done")
    """, tmp_path)
    check(proc)
    assert "late: True False" in proc.stdout
    assert "refused: tod2map: the runtime (Kokkos, MPI) was finalised" in proc.stdout


@serial_only
def test_plot_command(tmp_path):
    rng = np.random.default_rng(3)
    n = 40000
    t = tod2map.Timeline(rng.normal(size=n), rng.uniform(0, 3, n),
                         np.arccos(rng.uniform(-1, 0.5, n)), rng.uniform(0, 6, n), sigma=1.0,
                         samprate=10.0)
    r = tod2map.MapMaker([t], nside=8, min_hits=1).binned()
    r.write(tmp_path / "m.h5")
    r.write(tmp_path / "m.fits")
    import matplotlib.image

    from tod2map.plot import plot_map

    # The command on the HDF5 map, the function (what the command calls) on the FITS map.
    proc = subprocess.run([sys.executable, "-m", "tod2map", "plot", "m.h5", "-o", "m.h5.png",
                           "--xsize", "300"],
                          cwd=tmp_path, env=clean_env(), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    plot_map(tmp_path / "m.fits", tmp_path / "m.fits.png", xsize=300)
    for name in ("m.h5", "m.fits"):
        img = matplotlib.image.imread(tmp_path / (name + ".png"))
        # Three panels side by side, each with coloured (not grey, not white) pixels: the map.
        rgb = img[..., :3]
        coloured = (np.ptp(rgb, axis=-1) > 0.15)
        thirds = np.array_split(coloured, 3, axis=1)
        assert all(part.sum() > 2000 for part in thirds), [int(p.sum()) for p in thirds]
    proc = subprocess.run([sys.executable, "-m", "tod2map", "plot", "missing.h5", "-o", "x.png"],
                          cwd=tmp_path, env=clean_env(), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.startswith("tod2map plot: error: ") and "missing.h5" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.png").exists()


def test_healpy_like_spellings():
    # import tod2map gives tod2map.plot; Healpix takes healpy's nest=.
    assert callable(tod2map.plot.plot_map) and callable(tod2map.plot.map_figure)
    assert tod2map.Healpix(64, nest=True).ordering == "NEST"
    assert tod2map.Healpix(64, nest=False).ordering == "RING"
    assert tod2map.Healpix(64, "nested", nest=True).ordering == "NEST"
    with pytest.raises(ValueError, match="ordering 'RING' and nest=True disagree"):
        tod2map.Healpix(64, "RING", nest=True)
    pix = tod2map.Healpix(16, nest=True).ang2pix(0.3, 1.2)
    assert pix == hp.ang2pix(16, 0.3, 1.2, nest=True)


def test_distributed_map_len_and_indexing():
    owned = np.arange(12.0).reshape(4, 3).copy()  # 4 owned pixels x IQU
    m = tod2map.DistributedMap(owned, 10, 100, components="IQU")
    assert len(m) == 3 and m.shape == (3, 100)
    q = m["Q"]
    assert len(q) == 100 and np.array_equal(q.local, owned[:, 1])
    assert np.array_equal(m[2].local, owned[:, 2])
    assert np.array_equal(q[[10, 13]], [1.0, 10.0]) and q[11] == 4.0
    with pytest.raises(IndexError, match="pixel 14 is not owned by this rank"):
        q[14]
    with pytest.raises(KeyError):
        m["V"]
    with pytest.raises(IndexError):
        m[3]
