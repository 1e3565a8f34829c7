"""`cmake --install` into a scratch prefix gives a working tod2map: the executable, the Python
package, and the library with its headers and CMake package, which a separate C++ project
(examples/cpp) finds with find_package(tod2map), builds against and runs. All three make the
same map from the same timelines."""
import glob
import os
import pathlib
import shutil
import subprocess

import h5py
import numpy as np
import pytest

SOURCE = pathlib.Path(os.environ.get("TOD2MAP_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
BUILD = os.environ.get("TOD2MAP_BUILD_DIR")
CMAKE = os.environ.get("TOD2MAP_CMAKE") or shutil.which("cmake")
MPIEXEC = os.environ.get("MPIEXEC", "mpiexec")

pytestmark = pytest.mark.skipif(not BUILD or not CMAKE, reason="run through ctest (needs the build)")

CONFIG = """
input: {files: ["data/obs_*.fits"]}
pixelization: {nside: 16, stokes: IQU}
mapmaker: {method: destripe, baseline_length: 2.0}
solver: {tol: 1.0e-10, maxiter: 100}
output: {path: out/exe.h5}
simulation:
  seed: 3
  n_observations: 2
  observation_length: 300.0
  sample_rate: 20.0
  scan: {type: satellite, spin_period: 6.0, spin_angle_deg: 85.0, precession_period: 1900.0,
         precession_angle_deg: 65.0}
  focal_plane:
    - {name: a, polang_deg: 0.0, sigma: 0.1, fknee: 0.5, alpha: 1.5}
    - {name: b, polang_deg: 45.0, sigma: 0.1, fknee: 0.5, alpha: 1.5}
"""


def run(cmd, **kw):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}: exit {proc.returncode}\n" \
                                 f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    p = tmp_path_factory.mktemp("prefix")
    run([CMAKE, "--install", BUILD, "--prefix", p])
    return p


@pytest.fixture(scope="module")
def data(prefix, tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    (folder / "config.yaml").write_text(CONFIG)
    run([prefix / "bin" / "tod2map", "sim", "config.yaml"], cwd=folder)
    return folder


def read_map(path):
    with h5py.File(path, "r") as f:
        return f["map"][()], f["hits"][()]


def test_layout(prefix):
    for rel in ("bin/tod2map", "lib/libtod2map_core.a", "lib/libtod2map_mapmaker.a",
                "include/tod2map/mapmaker/pipeline.hpp", "include/tod2map/config/config.hpp",
                "include/tod2map/solvers/petsc_options.hpp",
                "lib/cmake/tod2map/tod2mapConfig.cmake", "lib/cmake/tod2map/tod2mapTargets.cmake"):
        assert (prefix / rel).is_file(), rel
    proc = run([prefix / "bin" / "tod2map", "--version"])
    assert proc.stdout.startswith("tod2map ")


def test_installed_executable_makes_the_map(prefix, data):
    run([MPIEXEC, "-n", "2", "--oversubscribe", prefix / "bin" / "tod2map", "run", "config.yaml"],
        cwd=data)
    m, hits = read_map(data / "out" / "exe.h5")
    assert hits.sum() == 2 * 2 * 300 * 20


def test_cpp_example_builds_against_the_installed_package(prefix, data, tmp_path):
    build = tmp_path / "example"
    launcher = shutil.which("ccache")
    run([CMAKE, "-S", SOURCE / "examples" / "cpp", "-B", build, "-G", "Ninja",
         f"-DCMAKE_PREFIX_PATH={prefix}", "-DCMAKE_BUILD_TYPE=Release"]
        + ([f"-DCMAKE_CXX_COMPILER_LAUNCHER={launcher}"] if launcher else []))
    run([CMAKE, "--build", build])
    proc = run([MPIEXEC, "-n", "2", "--oversubscribe", build / "make_map", "config.yaml",
                "output.path=out/example.h5"], cwd=data)
    assert "make_map: destripe map, nside 16" in proc.stdout
    if not (data / "out" / "exe.h5").exists():
        run([prefix / "bin" / "tod2map", "run", "config.yaml"], cwd=data)
    a, ha = read_map(data / "out" / "exe.h5")
    b, hb = read_map(data / "out" / "example.h5")
    np.testing.assert_array_equal(ha, hb)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_installed_python_package(prefix, data):
    found = glob.glob(str(prefix / "lib" / "python3*" / "*-packages" / "tod2map" / "__init__.py"))
    assert len(found) == 1, found
    site = os.path.dirname(os.path.dirname(found[0]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHONPATH")}
    env["PYTHONPATH"] = site
    code = ("import tod2map, sys; r = tod2map.run('config.yaml', overrides=['output.path=out/py.h5']); "
            "print(tod2map.__file__)")
    proc = run(["/usr/bin/python3", "-c", code], cwd=data, env=env)
    assert proc.stdout.strip().splitlines()[-1].startswith(site)
    if not (data / "out" / "exe.h5").exists():
        run([prefix / "bin" / "tod2map", "run", "config.yaml"], cwd=data)
    a, _ = read_map(data / "out" / "exe.h5")
    b, _ = read_map(data / "out" / "py.h5")
    # One rank here, two for exe.h5: the sums run in another order.
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)
