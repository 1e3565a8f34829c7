"""End-to-end runs with solver.backend=petsc against the other backends, and the cross-check.

Proves: on the same simulated data (white + 1/f noise), binned and destriped maps, hits, pixel
blocks, baselines and CG residual histories made with the PETSc backend agree with Tpetra's
(or, without Tpetra, the native backend's) to 1e-10 at 1, 2 and 3 ranks, and across rank
counts; the run used the backend it was asked for. solver.cross_check=ksp and =belos re-solve
the destriping system with PETSc KSPCG / Belos CG, log both iteration counts and a difference
within 100 * tol, and leave the map unchanged. solver.petsc_options reach PETSc: log_view,
which PETSc reads only in PetscInitialize and writes only in PetscFinalize, produces its
report (so tod2map initialised PETSc with the options and finalised it at exit); a bad option
value stops the run with PETSc's message. From Python (the tod2map module under mpi4py, which
owns MPI), the PETSc backend gives the executable's map, and PETSc is finalised at interpreter
exit before Kokkos and MPI (log_view's report written, clean exit). A backend or cross-check
solver that is not built is refused with a clear message.
"""
import os
import re
import subprocess
import sys

import h5py
import numpy as np
import pytest

from conftest import run_tod2map, write_config

UNSEEN = -1.6375e30
RANKS = (1, 2, 3)
METHODS = ("binned", "destripe")
TOL = 1.0e-12

CONFIG = f"""
input:
  files: ["data/obs_*.fits"]
pixelization: {{nside: 8, ordering: RING, stokes: IQU}}
mapmaker: {{method: destripe, baseline_length: 1.0, min_hits: 3, min_rcond: 1.0e-3}}
solver: {{tol: {TOL}, maxiter: 1000}}
output: {{path: out/map.h5, baselines: true}}
simulation:
  seed: 31
  output_dir: data
  n_observations: 3
  observation_length: 120.0
  sample_rate: 20.0
  white_noise: true
  correlated_noise: true
  scan: {{type: satellite, spin_period: 6.0, spin_angle_deg: 85.0,
         precession_period: 600.0, precession_angle_deg: 65.0}}
  focal_plane:
    - {{name: a, polang_deg: 0.0, sigma: 1.0, fknee: 0.5, alpha: 2.0}}
    - {{name: b, polang_deg: 45.0, sigma: 1.0, fknee: 0.5, alpha: 2.0}}
    - {{name: c, polang_deg: 90.0, sigma: 1.0, fknee: 0.5, alpha: 2.0}}
    - {{name: d, polang_deg: 135.0, sigma: 1.0, fknee: 0.5, alpha: 2.0}}
"""


def read(path):
    with h5py.File(path, "r") as f:
        out = {k: f[k][()] for k in ("map", "hits", "rcond", "invcov", "solver/residuals")}
        if "baselines" in f:
            out["baselines"] = {(d, o): f["baselines"][d][o][()]
                                for d in f["baselines"] for o in f["baselines"][d]}
    return out


def run(folder, cfg, name, ranks, *settings):
    """Runs `tod2map run` with --set for each setting; returns (process, output path)."""
    out = folder / "out" / f"{name}_np{ranks}.h5"
    args = ["run", cfg, "--set", f"output.path={out}"]
    for s in settings:
        args += ["--set", s]
    return run_tod2map(args, ranks=ranks, cwd=folder, check=False), out


def refused_as_not_built(proc):
    return proc.returncode != 0 and "was not built into this tod2map" in proc.stderr


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("backends")
    cfg = write_config(folder, CONFIG)
    run_tod2map(["sim", cfg], ranks=2, cwd=folder)
    return folder, cfg


@pytest.fixture(scope="module")
def built(data):
    """The backends this build has, found by asking tod2map (a one-rank binned run each)."""
    folder, cfg = data
    have = []
    for backend in ("petsc", "tpetra", "native"):
        proc, _ = run(folder, cfg, f"probe_{backend}", 1, "mapmaker.method=binned",
                      f"solver.backend={backend}")
        if refused_as_not_built(proc):
            # The one-line message names the backend and what is available.
            assert f"solver.backend: '{backend}' was not built into this tod2map (available: " \
                in proc.stderr, proc.stderr
            continue
        assert proc.returncode == 0, proc.stderr
        have.append(backend)
    return have


@pytest.fixture(scope="module")
def maps(data, built):
    """{(method, backend, ranks): file contents} for petsc and the backend it is compared with."""
    if "petsc" not in built:
        pytest.skip("PETSc is not built")
    folder, cfg = data
    other = "tpetra" if "tpetra" in built else "native"
    result = {}
    for method in METHODS:
        for ranks in RANKS:
            for backend in ("petsc", other):
                proc, out = run(folder, cfg, f"{method}_{backend}", ranks,
                                f"mapmaker.method={method}", f"solver.backend={backend}")
                assert proc.returncode == 0, f"{method} {backend} np{ranks}:\n{proc.stdout}\n{proc.stderr}"
                assert f"backend {backend}" in proc.stdout, proc.stdout
                result[(method, backend, ranks)] = read(out)
    return result, other


def assert_same_maps(a, b, what):
    seen = a["map"] != UNSEEN
    np.testing.assert_array_equal(seen, b["map"] != UNSEEN, err_msg=what)
    assert seen.sum() > 100, what  # a real map, not a few pixels
    scale = np.abs(a["map"][seen]).max()
    assert np.abs(a["map"][seen] - b["map"][seen]).max() <= 1e-10 * scale, what
    np.testing.assert_array_equal(a["hits"], b["hits"], err_msg=what)  # integer sums: exact
    cov_scale = np.abs(a["invcov"]).max()
    assert np.abs(a["invcov"] - b["invcov"]).max() <= 1e-12 * cov_scale, what
    # rcond: closed-form eigenvalues, whose slope is infinite at repeated eigenvalues, so a
    # last-bit change in a block can move it by ~sqrt(eps).
    observed = a["hits"] > 0
    assert np.abs(a["rcond"][observed] - b["rcond"][observed]).max() <= 1e-6, what
    if "baselines" in a:
        assert a["baselines"].keys() == b["baselines"].keys(), what
        base_scale = max(np.abs(v).max() for v in a["baselines"].values())
        for k, v in a["baselines"].items():
            assert np.abs(v - b["baselines"][k]).max() <= 1e-10 * base_scale, (what, k)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("ranks", RANKS)
def test_petsc_matches_the_other_backend(maps, method, ranks):
    found, other = maps
    petsc, ref = found[(method, "petsc", ranks)], found[(method, other, ranks)]
    assert_same_maps(ref, petsc, f"{method} np{ranks} petsc vs {other}")
    res_p, res_o = petsc["solver/residuals"], ref["solver/residuals"]
    if method == "destripe":
        # the same CG on the same operator: iteration for iteration, up to round-off
        assert len(res_p) > 3 and abs(len(res_p) - len(res_o)) <= 1
        assert res_p[-1] <= TOL
        k = min(len(res_p), len(res_o), 6)
        np.testing.assert_allclose(res_p[:k], res_o[:k], rtol=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_petsc_same_map_on_1_2_3_ranks(maps, method):
    found, _ = maps
    ref = found[(method, "petsc", 1)]
    for ranks in RANKS[1:]:
        assert_same_maps(ref, found[(method, "petsc", ranks)], f"{method} petsc np1 vs np{ranks}")


CROSS_CHECK_LINE = re.compile(
    r"destripe cross-check: ours (\d+) iterations \(converged\), (\w+) (\d+) iterations "
    r"\(converged\), max relative difference of the baselines (\S+) \(limit (\S+)\)")


@pytest.mark.parametrize("solver,needs", [("ksp", "petsc"), ("belos", "tpetra")])
def test_cross_check(data, built, solver, needs):
    folder, cfg = data
    backend = "petsc" if "petsc" in built else built[0]
    proc, out = run(folder, cfg, f"cross_{solver}", 2, "mapmaker.method=destripe",
                    f"solver.backend={backend}", f"solver.cross_check={solver}")
    if needs not in built:
        # Refused before any work, with one line naming the key and what is missing.
        assert proc.returncode != 0
        assert f"solver.cross_check: '{solver}' needs " in proc.stderr, proc.stderr
        assert "which was not built into this tod2map" in proc.stderr, proc.stderr
        assert not out.exists()
        return
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    m = CROSS_CHECK_LINE.search(proc.stdout)
    assert m, proc.stdout
    ours, name, theirs, diff, limit = m.groups()
    assert name == solver
    assert int(ours) > 3 and abs(int(ours) - int(theirs)) <= 1
    assert float(limit) == pytest.approx(100 * TOL)
    assert float(diff) <= 100 * TOL
    # The check only compares: the map and baselines are those of a plain run.
    proc, plain_out = run(folder, cfg, f"plain_{solver}", 2, "mapmaker.method=destripe",
                          f"solver.backend={backend}")
    assert proc.returncode == 0, proc.stderr
    plain, checked = read(plain_out), read(out)
    np.testing.assert_array_equal(checked["map"], plain["map"])
    for k, v in plain["baselines"].items():
        np.testing.assert_array_equal(checked["baselines"][k], v)


def test_cross_check_on_binned_says_there_is_nothing_to_check(data, built):
    folder, cfg = data
    solver = "ksp" if "petsc" in built else "belos"
    if solver == "belos" and "tpetra" not in built:
        pytest.skip("neither PETSc nor Trilinos is built")
    proc, _ = run(folder, cfg, "cross_binned", 1, "mapmaker.method=binned",
                  f"solver.backend={built[0]}", f"solver.cross_check={solver}")
    assert proc.returncode == 0, proc.stderr
    assert "the binned map is solved block by block" in proc.stdout


def test_petsc_options_reach_petsc(data, built):
    if "petsc" not in built:
        pytest.skip("PETSc is not built")
    folder, cfg = data
    log = folder / "petsc_log.txt"
    proc, out = run(folder, cfg, "options", 2, "mapmaker.method=destripe", "solver.backend=petsc",
                    f"solver.petsc_options.log_view=ascii:{log}",
                    "solver.petsc_options.sf_type=neighbor")
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    assert out.exists()
    text = log.read_text()
    # Written by PetscFinalize: PETSc was started with the option and shut down at exit.
    assert "PETSc Performance Summary" in text, text[:2000]
    assert "PetscSF" in text or "SFReduce" in text or "SFBcast" in text, text[:4000]


def test_bad_petsc_option_stops_the_run(data, built):
    if "petsc" not in built:
        pytest.skip("PETSc is not built")
    folder, cfg = data
    proc, out = run(folder, cfg, "bad_option", 2, "mapmaker.method=binned",
                    "solver.backend=petsc", "solver.petsc_options.sf_type=no_such_sf")
    assert proc.returncode != 0
    assert "no_such_sf" in proc.stderr and "PetscSFSetFromOptions" in proc.stderr, proc.stderr
    assert not out.exists()


PYTHON_RUN = """
import sys
from mpi4py import MPI
import tod2map
cfg, out, log = sys.argv[1:4]
tod2map.set_quiet(True)
tod2map.run(cfg, MPI.COMM_WORLD, overrides=[f"output.path={out}", "mapmaker.method=destripe",
            "solver.backend=petsc", f"solver.petsc_options.log_view=ascii:{log}"])
"""


def test_petsc_from_python(data, built, maps):
    module_dir = os.path.join(os.environ.get("TOD2MAP_BUILD_DIR", ""), "python")
    if not os.path.isdir(os.path.join(module_dir, "tod2map")):
        pytest.skip("the tod2map Python module is not built")
    folder, cfg = data
    found, _ = maps
    out, log = folder / "out" / "python_petsc.h5", folder / "python_petsc_log.txt"
    env = dict(os.environ, PYTHONPATH=module_dir)
    cmd = [os.environ.get("MPIEXEC", "mpiexec"), "-n", "2", "--oversubscribe", sys.executable,
           "-c", PYTHON_RUN, str(cfg), str(out), str(log)]
    proc = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    # Written by PetscFinalize, which tod2map's runtime ran at interpreter exit.
    assert "PETSc Performance Summary" in log.read_text()
    assert_same_maps(found[("destripe", "petsc", 2)], read(out), "python petsc np2 vs executable")
