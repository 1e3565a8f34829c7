"""The memory plan (issue 17 part 3): `tod2map plan` and the run's own check.

Proves: `tod2map plan CONFIG -n RANKS` reads headers only (it works with every timeline's data
bytes destroyed), prints the memory by part and the phases' times, and, told the observed sky
fraction, gives the estimate the run makes itself; the run's estimate made before allocating is
within 20 % of its measured peak RSS; a run that cannot fit stops, with nothing written, before
reading (when the samples alone are too many) or after the pointing expansion (naming pixels
and what to change), with one line; the plan stops the same way; bad sizes and arguments are
refused.
"""
import re
import shutil

import pytest
from astropy.io import fits

from conftest import run_tod2map, write_config

CONFIG = """
input:
  files: ["data/obs_*.fits"]
pixelization: {nside: 256, ordering: RING, stokes: IQU}
mapmaker: {method: destripe, baseline_length: 1.0}
solver: {maxiter: 5}
output: {path: out/map.h5}
simulation:
  seed: 3
  output_dir: data
  n_observations: 4
  observation_length: 2000.0
  sample_rate: 50.0
  precision: float32
  scan: {type: satellite, spin_period: 60.0, spin_angle_deg: 85.0,
         precession_period: 3000.0, precession_angle_deg: 65.0}
"""


def mib(text):
    value, unit = text.split()
    return float(value) * (1024.0 if unit == "GiB" else 1.0)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plan")
    cfg = write_config(folder, CONFIG)
    run_tod2map(["sim", cfg])
    return folder, cfg


def run_estimate(folder, cfg, ranks):
    out = run_tod2map(["run", cfg], ranks=ranks, cwd=folder).stdout
    estimate = float(re.search(r"memory: estimated ([0-9.]+) MiB per rank", out).group(1))
    peak = max(float(v) for v in
               re.search(r"peak memory per rank \(MiB\):((?:\s+[0-9.]+)+)", out).group(1).split())
    observed = int(re.search(r"pixels observed (\d+)", out).group(1))
    return estimate, peak, observed


@pytest.mark.parametrize("ranks", [1, 2])
def test_run_estimate_is_within_20_percent_of_peak_rss(data, ranks):
    estimate, peak, _ = run_estimate(*data, ranks)
    assert 0.8 < estimate / peak < 1.2, (estimate, peak)


def test_plan_reads_headers_only_and_matches_the_run(data, tmp_path):
    folder, cfg = data
    estimate, _, observed = run_estimate(folder, cfg, 2)
    fraction = observed / (12 * 256 * 256)
    # Every data byte of every timeline becomes 0xFF (NaN in the float columns): a plan that
    # read samples would see them; the headers stay.
    shutil.copytree(folder / "data", tmp_path / "data")
    shutil.copy(cfg, tmp_path / "config.yaml")
    for path in (tmp_path / "data").glob("obs_*.fits"):
        with fits.open(path) as f:
            spans = [(f.fileinfo(i)["datLoc"], f.fileinfo(i)["datSpan"]) for i in range(1, len(f))]
        raw = bytearray(path.read_bytes())
        for start, size in spans:
            raw[start:start + size] = b"\xff" * size
        path.write_bytes(raw)
    broken = run_tod2map(["run", tmp_path / "config.yaml"], cwd=tmp_path, check=False)
    assert broken.returncode == 1 and "not finite" in broken.stderr, broken.stderr
    out = run_tod2map(["plan", tmp_path / "config.yaml", "-n", "2", "--sky-fraction",
                       f"{fraction:.6g}"], cwd=tmp_path).stdout
    for part in ("samples", "pixel vectors", "solver vectors", "I/O buffers", "process", "total"):
        assert re.search(rf"^  {part} +[0-9.]+ [MG]iB$", out, re.M), (part, out)
    for phase in ("read", "pointing", "solve", "write"):
        assert re.search(rf"^  {phase} +[0-9.]+ s", out, re.M), (phase, out)
    assert "float32 signal" in out and out.rstrip().endswith("fits: yes")
    planned = mib(re.search(r"^  total +([0-9.]+ [MG]iB)$", out, re.M).group(1))
    assert 0.85 < planned / estimate < 1.15, (planned, estimate)
    seconds = float(re.search(r"planned in ([0-9.]+) s", out).group(1))
    assert seconds < 1.0


def test_run_that_cannot_hold_its_samples_stops_before_reading(data, tmp_path):
    folder, cfg = data
    proc = run_tod2map(["run", cfg, "--set", "resources.max_memory_per_rank=40MiB",
                        "--set", f"output.path={tmp_path}/m.h5"], ranks=2, cwd=folder,
                       check=False)
    assert proc.returncode == 1
    line = proc.stderr.splitlines()[0]
    assert line.startswith("tod2map run: error: memory: a rank would need about "), line
    assert "(before reading, pixels not counted yet: samples " in line
    assert "but may have 40 MiB (resources.max_memory_per_rank = 40MiB) on 2 rank(s)" in line
    assert "input: " not in proc.stdout or "pointing:" not in proc.stdout
    assert not list(tmp_path.iterdir())


def test_run_that_cannot_hold_its_pixels_stops_after_the_expansion(data, tmp_path):
    folder, cfg = data
    # Room for the samples but not for nside 2048's pixels.
    proc = run_tod2map(["run", cfg, "--set", "resources.max_memory_per_rank=150MiB",
                        "--set", "pixelization.nside=2048",
                        "--set", f"output.path={tmp_path}/m.h5"], ranks=2, cwd=folder,
                       check=False)
    assert proc.returncode == 1
    line = proc.stderr.splitlines()[0]
    assert "(after the pointing expansion: samples" in line, line
    assert "the largest part is pixels: use more ranks" in line
    assert "destripe: " not in proc.stdout  # no solve began
    assert not list(tmp_path.iterdir())


def test_plan_that_does_not_fit_exits_1_with_the_runs_message(data):
    folder, cfg = data
    proc = run_tod2map(["plan", cfg, "-n", "4", "--set", "resources.max_memory_per_rank=50MiB"],
                       cwd=folder, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("tod2map plan: error: memory: a rank would need about "), \
        proc.stderr
    assert "on 4 rank(s)" in proc.stderr


@pytest.mark.parametrize("args, words", [
    (["-n", "0"], "-n '0': expected a number of ranks >= 1"),
    ([], "missing -n RANKS"),
    (["-n", "2", "--sky-fraction", "1.5"], "--sky-fraction '1.5': expected a fraction in (0, 1]"),
    (["-n", "2", "--set", "resources.max_memory_per_rank=lots"],
     "key resources.max_memory_per_rank: 'lots' is not a memory size"),
])
def test_bad_plan_arguments(data, args, words):
    folder, cfg = data
    proc = run_tod2map(["plan", cfg] + args, cwd=folder, check=False)
    assert proc.returncode != 0
    assert words in proc.stderr, proc.stderr
