"""The Python API's conveniences (issue 18, points 8 and 12), each in a fresh interpreter (run by
ctest serially; importing tod2map here would start MPI in the test process).

Proves: read_map reads tod2map FITS maps into the same MapFile as the run's HDF5 map (map and
hits bit for bit, the same attributes and config), and healpy's own FITS maps (1 or 3 columns,
RING or NESTED, float32 or float64, full-sky or partial) as healpy reads them, in the file's
order or reordered; a timeline file or garbage raises one line naming the file; Timeline built
by keyword equals the positional form (the same arrays, no copy, the same map) and refuses
angles out of range naming the array, the first index and the value; the library is quiet by
default in Python, verbose=True and set_quiet(False) print its lines, warnings print anyway;
another interpreter is told which one the build is for.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import run_python, run_tod2map, write_config

BUILD = os.environ.get("TOD2MAP_BUILD_DIR", "")

CONFIG = """
input:
  files: ["data/obs_*.fits"]
pixelization: {nside: 16, ordering: RING, stokes: IQU}
mapmaker: {method: destripe, baseline_length: 5.0, min_hits: 1}
solver: {tol: 1.0e-10}
output: {path: out/map.h5}
simulation:
  seed: 18
  output_dir: data
  n_observations: 2
  observation_length: 200.0
  sample_rate: 20.0
  scan: {type: satellite, spin_period: 6.0, spin_angle_deg: 85.0,
         precession_period: 1900.0, precession_angle_deg: 65.0}
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A folder with config.yaml, FITS timelines in data/ and HDF5 timelines in h5data/."""
    folder = tmp_path_factory.mktemp("python_api")
    cfg = write_config(folder, CONFIG)
    run_tod2map(["sim", cfg], cwd=folder)
    run_tod2map(["sim", cfg, "--set", "simulation.format=hdf5", "--set",
                 "simulation.output_dir=h5data", "--set", "simulation.n_observations=1"],
                cwd=folder)
    return folder


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OMPI_", "PMIX_", "PRTE_", "OPAL_"))}
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", **extra)
    return env


def python(code, cwd, interpreter=None, args=(), **env):
    """CompletedProcess of `code` in a fresh interpreter (stdout and stderr apart)."""
    return subprocess.run([interpreter or sys.executable, *args, "-c", textwrap.dedent(code)],
                          cwd=cwd, env=clean_env(**env), capture_output=True, text=True,
                          timeout=300)


# ------------------------------------------------------------------------------------ read_map

def test_read_map_fits_equals_hdf5_of_the_same_result(data):
    out = run_python("""
        import numpy as np
        import tod2map

        for stokes, ordering in (("IQU", "RING"), ("I", "NEST")):
            r = tod2map.run("config.yaml", write=False, overrides={
                "pixelization.stokes": stokes, "pixelization.ordering": ordering})
            r.write(f"out/{stokes}.h5")
            r.write(f"out/{stokes}.fits")
            h = tod2map.read_map(f"out/{stokes}.h5")
            f = tod2map.read_map(f"out/{stokes}.fits")
            assert (h.format, f.format) == ("hdf5", "fits"), (h.format, f.format)
            assert f.map.dtype == np.float64 and f.hits.dtype == np.int64
            assert f.map.tobytes() == h.map.tobytes(), stokes   # bit for bit
            assert np.array_equal(f.hits, h.hits)
            for name in ("nside", "ordering", "coordsys", "stokes", "units", "method", "split",
                         "config", "version"):
                assert getattr(f, name) == getattr(h, name), (name, getattr(f, name),
                                                              getattr(h, name))
            assert (h.ordering, h.stokes, h.method, h.coordsys) == (ordering, stokes, "destripe",
                                                                    "G")
            assert h.config.startswith("# tod2map configuration") and "nside: 16" in h.config
            assert f.created.endswith("Z") and f.created[:10] == h.created[:10]
            assert f.rcond is None and f.invcov is None and f.residuals is None
            # Reordered on request: the other ordering, then back, is the same array.
            other = "RING" if ordering == "NEST" else "NEST"
            g = tod2map.read_map(f"out/{stokes}.fits", ordering=other)
            back = tod2map.read_map(f"out/{stokes}.h5", ordering=other)
            assert g.ordering == other and np.array_equal(g.map, back.map)
            assert np.array_equal(g.hits, back.hits) and back.rcond.shape == h.rcond.shape
            assert not np.array_equal(g.map, h.map)
            print(stokes, "ok")
        # half_difference takes FITS maps now too.
        d = tod2map.half_difference("out/IQU.fits", "out/IQU.h5")
        seen = d[0] != tod2map.UNSEEN
        assert seen.any() and np.all(d[:, seen] == 0.0)
        """, data)
    assert "IQU ok" in out and "I ok" in out, out


def test_read_map_of_healpy_files(data):
    out = run_python("""
        import warnings
        import healpy as hp
        import numpy as np
        import tod2map

        nside = 16
        npix = 12 * nside * nside
        rng = np.random.default_rng(5)
        iqu = rng.normal(size=(3, npix))
        iqu[:, 7] = hp.UNSEEN
        for nest in (False, True):
            for dtype in (np.float32, np.float64):
                for maps in (iqu, iqu[0]):
                    hp.write_map("h.fits", maps, nest=nest, dtype=dtype, coord="C",
                                 column_units="K_CMB", overwrite=True)
                    m = tod2map.read_map("h.fits")
                    want = np.atleast_2d(hp.read_map("h.fits", field=None, nest=None,
                                                     dtype=np.float64))
                    assert m.ordering == ("NEST" if nest else "RING"), m.ordering
                    assert m.stokes == ("IQU" if maps.ndim == 2 else "I")
                    assert m.nside == nside and m.units == "K_CMB" and m.coordsys == "C"
                    assert np.array_equal(m.map, want), (nest, dtype)
                    # The values written (as the column type), UNSEEN exact also from float32.
                    written = np.atleast_2d(maps).astype(dtype).astype(np.float64)
                    written[:, 7] = tod2map.UNSEEN
                    assert np.array_equal(m.map, written), (nest, dtype)
                    assert m.hits is None and m.method == "" and m.config == ""
                    # RING as healpy.read_map returns by default, and NEST.
                    ring = tod2map.read_map("h.fits", ordering="RING")
                    assert np.array_equal(ring.map, np.atleast_2d(
                        hp.read_map("h.fits", field=None, dtype=np.float64)))
                    nested = tod2map.read_map("h.fits", ordering="nested")
                    assert nested.ordering == "NEST" and np.array_equal(nested.map, np.atleast_2d(
                        hp.read_map("h.fits", field=None, nest=True, dtype=np.float64)))
        # A partial (explicitly indexed) map: UNSEEN where the file has no pixel.
        part = iqu[0].copy()
        part[1000:] = hp.UNSEEN
        hp.write_map("p.fits", part, partial=True, nest=True, overwrite=True, dtype=np.float64)
        m = tod2map.read_map("p.fits")
        assert m.ordering == "NEST" and np.array_equal(m.map[0], part)
        print("healpy ok")
        """, data)
    assert "healpy ok" in out, out


def test_read_map_refuses_what_is_not_a_map(data):
    (data / "garbage.bin").write_bytes(bytes(range(256)) * 20)
    (data / "notes.txt").write_text("SIMPLE is not FITS\n")
    out = run_python("""
        import glob
        import tod2map

        for path in [sorted(glob.glob("data/obs_*.fits"))[0], sorted(glob.glob("h5data/*.h5"))[0],
                     "garbage.bin", "notes.txt", "missing.h5"]:
            try:
                tod2map.read_map(path)
            except OSError as e:
                print(type(e).__name__, e)
        try:
            tod2map.read_map("garbage.bin", ordering="GALACTIC")
        except ValueError as e:
            print("ValueError", e)
        """, data)
    lines = out.splitlines()
    assert len(lines) == 6, out
    assert re.fullmatch(r"OSError read_map: data/obs_0000\.fits: not a HEALPix map: a timeline "
                        r"file \(HDU '\w+' has columns .*THETA.*; `tod2map info` describes it\)",
                        lines[0]), lines[0]
    assert re.fullmatch(r"OSError read_map: h5data/obs_0000\.h5: not a map file: HDF5 timeline "
                        r"file, \d+ detector groups \(`tod2map info` describes it\)", lines[1]), \
        lines[1]
    assert lines[2] == "OSError read_map: garbage.bin: not a map file: neither HDF5 nor FITS"
    assert lines[3] == "OSError read_map: notes.txt: not a map file: neither HDF5 nor FITS"
    assert lines[4].startswith("FileNotFoundError ") and "missing.h5" in lines[4], lines[4]
    assert lines[5] == ("ValueError read_map: ordering must be None, 'RING' or 'NEST', got "
                        "'GALACTIC'"), lines[5]


# ------------------------------------------------------------------------------------ Timeline

def test_timeline_keywords_and_validation(tmp_path):
    out = run_python("""
        import numpy as np
        import tod2map

        rng = np.random.default_rng(2)
        n = 4000
        signal, psi = rng.normal(size=n), rng.uniform(0, 3, n)
        theta, phi = np.arccos(rng.uniform(-1, 1, n)), rng.uniform(0, 6, n)
        old = tod2map.Timeline(signal, psi, theta, phi, sigma=1.0, samprate=10.0, detector="a")
        new = tod2map.Timeline(signal=signal, theta=theta, phi=phi, psi=psi, sigma=1.0,
                               samprate=10.0, detector="a", flags=None, validate=True)
        assert isinstance(new, tod2map.Timeline) and len(new) == n
        # Zero copy: the very arrays given.
        for name, a in (("signal", signal), ("psi", psi), ("theta", theta), ("phi", phi)):
            assert getattr(new, name) is a and getattr(old, name) is a, name
        assert np.array_equal(new.good, old.good)
        a = tod2map.MapMaker([old], nside=8, min_hits=1).binned()
        b = tod2map.MapMaker([new], nside=8, min_hits=1).binned()
        assert np.asarray(a.map).tobytes() == np.asarray(b.map).tobytes()

        def refused(**change):
            arrays = dict(signal=signal, theta=theta, phi=phi, psi=psi)
            arrays.update(change)
            try:
                tod2map.Timeline(**arrays, sigma=1.0, samprate=10.0)
            except ValueError as e:
                return str(e)
            return "accepted"

        degrees = np.degrees(theta)
        degrees[:3] = 1.0  # in range as radians
        print(refused(theta=degrees), int((degrees > np.pi).sum()))
        bad = phi.copy(); bad[17] = np.nan
        print(refused(phi=bad))
        bad = psi.copy(); bad[5] = 3e8
        print(refused(psi=bad))
        bad = theta.copy(); bad[9] = -0.2
        print(refused(theta=bad))
        print(refused(phi=phi[:10]))
        # A flagged sample may hold anything; validate=False counts and drops, as the reader.
        bad = theta.copy(); bad[3] = 120.0
        flags = np.zeros(n, dtype=np.int64); flags[3] = 1
        t = tod2map.Timeline(signal=signal, theta=bad, phi=phi, psi=psi, flags=flags, sigma=1.0,
                             samprate=10.0)
        print("flagged", t.n_flagged, t.n_bad_pointing, t.good[3])
        t = tod2map.Timeline(signal=signal, theta=bad, phi=phi, psi=psi, sigma=1.0, samprate=10.0,
                             validate=False)
        print("unchecked", t.n_bad_pointing, t.good[3])
        # Non-finite signal: left out and counted, as the reader does (not an error).
        s = signal.copy(); s[4] = np.inf
        t = tod2map.Timeline(signal=s, theta=theta, phi=phi, psi=psi, sigma=1.0, samprate=10.0)
        print("signal", t.n_nonfinite, t.good[4])
        for missing in ("sigma", "samprate"):
            kw = dict(sigma=1.0, samprate=10.0)
            del kw[missing]
            try:
                tod2map.Timeline(signal=signal, theta=theta, phi=phi, psi=psi, **kw)
            except TypeError as e:
                print(e)
        """, tmp_path)
    lines = out.splitlines()
    message, count = lines[0].rsplit(" ", 1)
    assert re.fullmatch(r"Timeline: theta\[3\] = [0-9.]+ is outside \[0, pi\] radians \(degrees\?\); "
                        rf"{count} of 4000 unflagged samples have bad angles \(flag them, or "
                        r"validate=False drops them as the file reader does\)", message), lines[0]
    assert lines[1].startswith("Timeline: phi[17] = nan is not finite; 1 of 4000 "), lines[1]
    assert lines[2].startswith("Timeline: psi[5] = 300000000.0 is outside [-1e8, 1e8] radians; "), \
        lines[2]
    assert lines[3].startswith("Timeline: theta[9] = -0.2 is outside [0, pi] radians (a "
                               "latitude? theta is the colatitude, pi/2 - latitude)"), lines[3]
    assert lines[4] == "Timeline: phi has 10 samples, signal has 4000", lines[4]
    assert lines[5:8] == ["flagged 1 0 0", "unchecked 1 0", "signal 1 0"], lines[5:8]
    assert lines[8].startswith("Timeline: sigma= is required"), lines[8]
    assert lines[9] == "Timeline: samprate= is required: the sampling rate in Hz", lines[9]


def test_theta_in_degrees_says_so(tmp_path):
    out = run_python("""
        import numpy as np
        import tod2map

        theta = np.full(8, 1.0)
        theta[3] = 120.0
        try:
            tod2map.Timeline(signal=np.zeros(8), theta=theta, phi=np.zeros(8), psi=np.zeros(8),
                             sigma=1.0, samprate=1.0)
        except ValueError as e:
            print(e)
        """, tmp_path)
    assert out.startswith("Timeline: theta[3] = 120.0 is outside [0, pi] radians (degrees?); "
                          "1 of 8 unflagged samples have bad angles"), out


# ------------------------------------------------------------------------------------ logging

def test_quiet_by_default_and_verbose_on_request(data):
    quiet = python("""
        import tod2map
        r = tod2map.run("config.yaml", write=False)
        t = tod2map.read_timelines("config.yaml")
        m = tod2map.MapMaker(t, "config.yaml").binned()
        m.write("out/quiet.h5")
        print("done", r.iterations > 0)
        """, data)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == "done True\n", quiet.stdout
    assert "warning" not in quiet.stderr, quiet.stderr

    loud = python("""
        import tod2map
        print("-- run")
        tod2map.run("config.yaml", write=False, verbose=True)
        print("-- quiet again")
        tod2map.run("config.yaml", write=False)
        print("-- mapmaker")
        t = tod2map.read_timelines("config.yaml")
        m = tod2map.MapMaker(t, "config.yaml", verbose=True).binned()
        m.write("out/loud.h5")
        print("-- set_quiet")
        assert tod2map.set_quiet(False) is True
        tod2map.simulate("config.yaml", overrides={"simulation.output_dir": "data2"})
        print("-- not converged")
        tod2map.set_quiet(True)
        tod2map.run("config.yaml", write=False, overrides={"solver.maxiter": 2})
        """, data)
    assert loud.returncode == 0, loud.stderr
    parts = dict(re.findall(r"^-- (.+)\n((?:(?!-- ).*\n)*)", loud.stdout, re.M))
    assert set(parts) == {"run", "quiet again", "mapmaker", "set_quiet", "not converged"}, parts
    assert "tod2map.run config.yaml on 1 rank(s)" in parts["run"], parts["run"]
    assert "resolved configuration:\n# tod2map configuration" in parts["run"], parts["run"]
    assert re.search(r"^destripe iter \d+ ", parts["run"], re.M), parts["run"]
    assert parts["quiet again"] == "" and parts["not converged"] == "", loud.stdout
    assert "pointing: " in parts["mapmaker"] and "write: out/loud.h5 in " in parts["mapmaker"]
    assert "sim: done in " in parts["set_quiet"], parts["set_quiet"]
    # Warnings print however quiet.
    assert re.search(r"^warning: .*did not converge", loud.stderr, re.M), loud.stderr


def test_the_executable_still_prints_its_log(data):
    proc = run_tod2map(["run", "config.yaml", "--set", "output.path=out/exe.h5"], cwd=data)
    assert "resolved configuration:" in proc.stdout and "destripe iter 1 " in proc.stdout


# ------------------------------------------------------------------------- the interpreter

def fake_package(tmp_path, executable, version):
    """The build's package with its files linked, and a _build_info.py that names another
    interpreter; returns the folder to put on PYTHONPATH."""
    if not BUILD:
        pytest.skip("TOD2MAP_BUILD_DIR is not set (run through ctest)")
    real = os.path.join(BUILD, "python", "tod2map")
    fake = tmp_path / "site" / "tod2map"
    fake.mkdir(parents=True)
    for name in os.listdir(real):
        if name.endswith((".py", ".so")) and name != "_build_info.py":
            os.symlink(os.path.join(real, name), fake / name)
    (fake / "_build_info.py").write_text(
        f"PYTHON_EXECUTABLE = {executable!r}\nPYTHON_VERSION = {tuple(version)!r}\n")
    return str(tmp_path / "site")


def last_line(proc):
    return proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""


def test_build_info_names_this_interpreter():
    if not BUILD:
        pytest.skip("TOD2MAP_BUILD_DIR is not set (run through ctest)")
    info = {}
    with open(os.path.join(BUILD, "python", "tod2map", "_build_info.py")) as f:
        exec(f.read(), info)
    assert os.path.realpath(info["PYTHON_EXECUTABLE"]) == os.path.realpath(sys.executable)
    assert info["PYTHON_VERSION"] == sys.version_info[:2]


def test_other_python_version_is_told_which_interpreter(tmp_path):
    site = fake_package(tmp_path, "/opt/py/bin/python3", (2, 7))
    proc = python("import tod2map", tmp_path, PYTHONPATH=site)
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert proc.returncode == 1
    assert last_line(proc) == (f"ImportError: tod2map was built for /opt/py/bin/python3 (Python "
                               f"2.7); this is {sys.executable} (Python {here}): run it with "
                               f"/opt/py/bin/python3"), proc.stderr
    assert "mpi4py" not in proc.stderr and "_core" not in proc.stderr.splitlines()[-1]


def test_same_version_without_numpy_is_told_which_interpreter(tmp_path):
    # -S: no site-packages, so neither numpy nor mpi4py (as a pyenv python3 first on PATH).
    site = fake_package(tmp_path, "/opt/py/bin/python3", sys.version_info[:2])
    proc = python("import tod2map", tmp_path, args=["-S"], PYTHONPATH=site)
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert proc.returncode == 1
    assert last_line(proc) == (f"ImportError: tod2map was built for /opt/py/bin/python3 (Python "
                               f"{here}); this is {sys.executable} (Python {here}), which cannot "
                               f"import numpy: run it with /opt/py/bin/python3"), proc.stderr


def test_the_build_interpreter_without_numpy_gets_the_real_error():
    # The build's own interpreter lacking a package: no advice to use itself.
    if not BUILD:
        pytest.skip("TOD2MAP_BUILD_DIR is not set (run through ctest)")
    proc = python("import tod2map", BUILD, args=["-S"],
                  PYTHONPATH=os.path.join(BUILD, "python"))
    assert proc.returncode == 1
    assert last_line(proc) == "ModuleNotFoundError: No module named 'numpy'", proc.stderr


def other_interpreters():
    """Interpreters on this machine other than this one (pyenv's, a python3 earlier on PATH)."""
    mine = os.path.realpath(sys.executable)
    found = []
    for path in [shutil.which("python3")] + sorted(
            glob.glob(os.path.expanduser("~/.pyenv/versions/*/bin/python3"))):
        if path and os.access(path, os.X_OK) and os.path.realpath(path) != mine \
                and path not in found:
            found.append(path)
    return found


def test_real_other_interpreters_are_told_which_one(tmp_path):
    if not BUILD:
        pytest.skip("TOD2MAP_BUILD_DIR is not set (run through ctest)")
    others = other_interpreters()
    if not others:
        pytest.skip("no other Python interpreter on this machine")
    with open(os.path.join(BUILD, "python", "tod2map", "_build_info.py")) as f:
        info = {}
        exec(f.read(), info)
    built = info["PYTHON_EXECUTABLE"]
    checked = 0
    for interpreter in others:
        # The package itself needs Python 3.6 to be parsed (an older one fails on its syntax).
        proc = python("import sys\nprint(sys.executable)\nif sys.version_info >= (3, 6): "
                      "import tod2map", tmp_path, interpreter=interpreter,
                      PYTHONPATH=os.path.join(BUILD, "python"))
        if proc.returncode == 0 or not proc.stdout.strip():
            continue  # too old, or one with numpy and mpi4py of the build's version
        executable = proc.stdout.strip().splitlines()[0]
        assert re.fullmatch(
            rf"ImportError: tod2map was built for {re.escape(built)} \(Python \d+\.\d+\); this "
            rf"is {re.escape(executable)} \(Python \d+\.\d+\)(, which cannot import \w+)?: run "
            rf"it with {re.escape(built)}", last_line(proc)), (interpreter, proc.stderr)
        checked += 1
    if not checked:
        pytest.skip("every other interpreter imports tod2map")
    print(f"{checked} other interpreters told to use {built}")
