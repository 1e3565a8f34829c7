"""What can be checked before the work is checked before it: an output that cannot be written
stops the run before any timeline is read, and a config of any size is stored in the map."""
import os
import re
import resource
import subprocess
import sys

import h5py
import pytest
from astropy.io import fits

from conftest import run_tod2map
from test_run_binned import simulate


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("prework")
    return folder, simulate(folder)


def assert_stopped_before_reading(proc):
    assert proc.returncode == 1, proc.stderr
    # "input: N files, ..." is the first line of the reading phase
    assert not re.search(r"^input: \d+ files", proc.stdout, re.M), proc.stdout
    assert "pointing:" not in proc.stdout, proc.stdout


@pytest.mark.parametrize("path, message", [
    ("/proc/tod2map/map.h5", "cannot create folder"),
    ("/proc/map.fits", "cannot create '/proc/map.fits.partial'"),
])
def test_unwritable_output_stops_before_reading(simulated, path, message):
    _, cfg = simulated
    proc = run_tod2map(["run", cfg, "--set", f"output.path={path}"], ranks=2, check=False)
    assert_stopped_before_reading(proc)
    assert f"output.path: {path}" in proc.stderr and message in proc.stderr, proc.stderr


def test_path_too_long_for_mpi_io_stops_before_reading(simulated, tmp_path):
    _, cfg = simulated
    path = str(tmp_path / ("m" * (240 - len(str(tmp_path))))) + ".h5"
    proc = run_tod2map(["run", cfg, "--set", f"output.path={path}"], ranks=2, check=False)
    assert_stopped_before_reading(proc)
    assert "MPI-IO fails on paths longer than 240" in proc.stderr, proc.stderr


def test_file_size_limit_stops_before_reading(simulated, tmp_path):
    _, cfg = simulated

    def limit():
        # Above what Open MPI's start-up writes (it fails under about 3 MB), below the map.
        resource.setrlimit(resource.RLIMIT_FSIZE, (10000000, 10000000))

    import subprocess
    from conftest import EXE
    if not EXE:
        pytest.skip("TOD2MAP_EXE is not set (run through ctest)")
    proc = subprocess.run([EXE, "run", cfg, "--set", f"output.path={tmp_path}/m.h5",
                           "--set", "pixelization.nside=256"],
                          capture_output=True, text=True, preexec_fn=limit, timeout=300)
    assert_stopped_before_reading(proc)
    assert "file-size limit (ulimit -f) is 10000000 bytes" in proc.stderr, proc.stderr


def test_config_of_megabytes_is_stored_in_hdf5_and_fits(simulated, tmp_path):
    folder, cfg = simulated
    files = [str(folder / "data" / "obs_*.fits")] * 60000  # about 3 MB of YAML
    with open(cfg) as f:
        text = f.read()
    big = tmp_path / "big.yaml"
    with open(big, "w") as f:
        f.write(text.replace('files: ["data/obs_*.fits"]',
                             "files: [" + ", ".join(f'"{p}"' for p in files) + "]"))
    assert big.stat().st_size > 2_000_000
    for name in ("m.h5", "m.fits"):
        run_tod2map(["run", str(big), "--set", f"output.path={tmp_path / name}"], ranks=2)
    with h5py.File(tmp_path / "m.h5", "r") as f:
        stored = f["config"][()].tobytes().decode()
        assert "config" not in f.attrs  # too large for an attribute
    assert stored.count("obs_*.fits") == len(files)
    with fits.open(tmp_path / "m.fits") as hdus:
        rows = [r.rstrip() for r in hdus["CONFIG"].data["YAML"]]
    assert sum("obs_*.fits" in r for r in rows) == len(files)
    assert max(len(r) for r in rows) < 1000


def test_full_sky_file_larger_than_the_disk_stops_before_reading(simulated):
    _, cfg = simulated
    # nside 65536 IQU: 5e10 pixels x 88 bytes, terabytes on disk. The arrays in memory hold
    # only the observed pixels, so it is the file that cannot fit.
    proc = run_tod2map(["run", cfg, "--set", "pixelization.nside=65536"], ranks=2, check=False)
    assert_stopped_before_reading(proc)
    assert re.search(r"output.path: .*: the map needs about 4\.5\de\+03 GB but '.*' has .* free",
                     proc.stderr), proc.stderr


SPARSE_RUN = """
import sys, tod2map
r = tod2map.run(sys.argv[1], write=False, overrides={"pixelization.nside": 8192})
print(r.pixels_observed, r._core.n_owned, max(r.peak_rss_bytes))
"""


def test_few_observed_pixels_at_nside_8192_need_no_full_sky_arrays(simulated):
    _, cfg = simulated
    module_dir = os.path.join(os.environ.get("TOD2MAP_BUILD_DIR", ""), "python")
    if not os.path.isdir(os.path.join(module_dir, "tod2map")):
        pytest.skip("the tod2map Python module is not built")
    # Full-sky arrays at nside 8192 would take 77 GB on one rank; the run keeps only the
    # observed pixels (it used to be refused, and before that ended in std::bad_alloc).
    proc = subprocess.run([sys.executable, "-c", SPARSE_RUN, cfg], capture_output=True,
                          text=True, timeout=600, env=dict(os.environ, PYTHONPATH=module_dir))
    assert proc.returncode == 0, proc.stderr
    observed, owned, peak = (int(float(v)) for v in proc.stdout.split()[-3:])
    assert owned == 12 * 8192**2 and 0 < observed < owned // 1000
    assert peak < 2e9, f"peak RSS {peak / 1e9:.2f} GB"


def test_a_map_in_the_input_glob_is_named_as_a_map(simulated, tmp_path):
    folder, cfg = simulated
    # The simulator's sky.fits beside the timelines (the minimal config's data/*.fits), and a
    # map this run wrote, are named as maps, not as timelines that lack OBSID.
    proc = run_tod2map(["run", cfg, "--set", "input.files=[data/*.fits]",
                        "--set", f"output.path={tmp_path}/m.h5"], cwd=folder, check=False)
    assert_stopped_before_reading(proc)
    assert proc.stderr.startswith("tod2map run: error: io::index_timelines: "), proc.stderr
    assert ("/data/sky.fits: a HEALPix map (PIXTYPE = 'HEALPIX' in HDU 2), not a timeline file: "
            "leave it out of input.files") in proc.stderr, proc.stderr
    run_tod2map(["run", cfg, "--set", f"output.path={tmp_path}/m.h5"], cwd=folder)
    proc = run_tod2map(["run", cfg, "--set", f"input.files=[data/obs_*.fits, {tmp_path}/m.h5]",
                        "--set", f"output.path={tmp_path}/n.h5"], cwd=folder, check=False)
    assert_stopped_before_reading(proc)
    assert f"{tmp_path}/m.h5: a tod2map map file, not a timeline file" in proc.stderr, proc.stderr
