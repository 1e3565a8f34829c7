"""Several signal columns in one run (input.columns.signal as a list; issue 17 part 2).

Proves: with [SIGNAL, SIGNAL2] the run writes the SIGNAL map unchanged (bit for bit against a
run of SIGNAL alone) and <stem>_SIGNAL2.<ext> equal, bit for bit, to a run of SIGNAL2 alone, for
destripe and binned, from FITS and from HDF5 timelines, with each split per column; a sample
whose value is not finite in any listed column is left out of every map (the maps share their
samples); a listed column missing from a file stops the run before any sample is read, naming
input.columns.signal; Python refuses a call that writes no files.
"""
import re

import h5py
import numpy as np
import pytest
from astropy.io import fits

from conftest import run_python, run_tod2map, write_config

CONFIG = """
input:
  files: ["data/obs_*.{ext}"]
pixelization: {{nside: 16, ordering: RING, stokes: IQU}}
mapmaker: {{method: destripe, baseline_length: 5.0}}
solver: {{tol: 1.0e-10}}
output: {{path: out/map.h5}}
simulation:
  seed: 31
  output_dir: data
  format: {fmt}
  n_observations: 3
  observation_length: 200.0
  sample_rate: 20.0
  scan: {{type: satellite, spin_period: 6.0, spin_angle_deg: 85.0,
          precession_period: 1900.0, precession_angle_deg: 65.0}}
"""


def second_column(value):
    return 2.0 * value + 1.0


def add_column_fits(folder, nan_every=0):
    for path in sorted((folder / "data").glob("obs_*.fits")):
        with fits.open(path) as f:
            hdus = [f[0].copy()]
            for hdu in f[1:]:
                extra = second_column(hdu.data["SIGNAL"].astype(np.float64))
                if nan_every:
                    extra[::nan_every] = np.nan
                cols = hdu.columns + fits.ColDefs([fits.Column(name="SIGNAL2", format="D",
                                                               array=extra)])
                new = fits.BinTableHDU.from_columns(cols, header=hdu.header)
                hdus.append(new)
            hdus[0].header["NEXTEND"] = len(hdus) - 1
        fits.HDUList(hdus).writeto(path, overwrite=True)


def add_column_hdf5(folder):
    for path in sorted((folder / "data").glob("obs_*.h5")):
        with h5py.File(path, "r+") as f:
            for name, group in f.items():
                if isinstance(group, h5py.Group):
                    group["SIGNAL2"] = second_column(group["SIGNAL"][()].astype(np.float64))


def simulate(folder, fmt="fits", nan_every=0):
    cfg = write_config(folder, CONFIG.format(fmt=fmt, ext="fits" if fmt == "fits" else "h5"))
    run_tod2map(["sim", cfg])
    if fmt == "fits":
        add_column_fits(folder, nan_every)
    else:
        add_column_hdf5(folder)
    return cfg


def datasets(path):
    with h5py.File(path, "r") as f:
        return {k: f[k][()] for k in ("map", "hits", "rcond", "invcov")}


def assert_same(a, b):
    for k in a:
        assert np.array_equal(a[k], b[k]), k


@pytest.mark.parametrize("fmt, method", [("fits", "destripe"), ("fits", "binned"),
                                         ("hdf5", "destripe")])
def test_each_column_map_equals_a_run_of_that_column_alone(tmp_path, fmt, method):
    cfg = simulate(tmp_path, fmt)
    m = f"mapmaker.method={method}"
    proc = run_tod2map(["run", cfg, "--set", m, "--set", "input.columns.signal=[SIGNAL, SIGNAL2]",
                        "--set", "output.splits=[{name: h1, to: 0.5}]"], cwd=tmp_path)
    assert "signal column SIGNAL2: " in proc.stdout
    run_tod2map(["run", cfg, "--set", m, "--set", "output.path=alone/signal.h5"], cwd=tmp_path)
    run_tod2map(["run", cfg, "--set", m, "--set", "input.columns.signal=SIGNAL2",
                 "--set", "output.path=alone/signal2.h5",
                 "--set", "output.splits=[{name: h1, to: 0.5}]"], cwd=tmp_path)
    out = tmp_path / "out"
    assert_same(datasets(out / "map.h5"), datasets(tmp_path / "alone" / "signal.h5"))
    assert_same(datasets(out / "map_SIGNAL2.h5"), datasets(tmp_path / "alone" / "signal2.h5"))
    assert_same(datasets(out / "map_SIGNAL2_h1.h5"),
                datasets(tmp_path / "alone" / "signal2_h1.h5"))
    # The two columns differ: 2 SIGNAL + 1 is another map.
    a, b = datasets(out / "map.h5")["map"], datasets(out / "map_SIGNAL2.h5")["map"]
    seen = a[0] > -1e30
    assert np.allclose(b[1:, seen], 2 * a[1:, seen], rtol=1e-6, atol=1e-9)


def test_a_sample_not_finite_in_any_column_leaves_every_map(tmp_path):
    cfg = simulate(tmp_path, nan_every=7)
    proc = run_tod2map(["run", cfg, "--set", "input.columns.signal=[SIGNAL, SIGNAL2]",
                        "--set", "input.max_rejected_fraction=0.2"], cwd=tmp_path)
    total, used, nonfinite = (int(v) for v in re.search(
        r"samples (\d+): used (\d+), flagged \d+, not finite (\d+)", proc.stdout).groups())
    assert total == 3 * 4 * 4000
    assert nonfinite == 12 * len(range(0, 4000, 7)) and used == total - nonfinite
    hits = datasets(tmp_path / "out" / "map.h5")["hits"]
    assert np.array_equal(hits, datasets(tmp_path / "out" / "map_SIGNAL2.h5")["hits"])
    assert hits.sum() == used


def test_a_missing_column_stops_before_reading(tmp_path):
    cfg = simulate(tmp_path)
    proc = run_tod2map(["run", cfg, "--set", "input.columns.signal=[SIGNAL, SIGNAL3]"],
                       ranks=2, cwd=tmp_path, check=False)
    assert proc.returncode == 1
    assert "column 'SIGNAL3' (input.columns.signal) not found" in proc.stderr, proc.stderr
    assert "pointing:" not in proc.stdout
    assert not list(tmp_path.glob("out/*"))


def test_listed_twice_is_a_config_error(tmp_path):
    cfg = simulate(tmp_path)
    proc = run_tod2map(["run", cfg, "--set", "input.columns.signal=[SIGNAL, SIGNAL]"],
                       cwd=tmp_path, check=False)
    assert proc.returncode != 0
    assert "key input.columns.signal: column 'SIGNAL' is listed twice" in proc.stderr


def test_python_run_that_writes_nothing_refuses_more_columns(tmp_path):
    cfg = simulate(tmp_path)
    out = run_python(f"""
        import tod2map
        config = tod2map.load_config("{cfg}", ["input.columns.signal=[SIGNAL, SIGNAL2]"])
        try:
            tod2map.run(config, write=False)
        except ValueError as e:
            print("ValueError:", e)
        r = tod2map.run(config)
        print("written", r.samples_used > 0)
        """, tmp_path)
    assert "ValueError: input.columns.signal: 2 signal columns make 2 maps, but this call " \
           "writes no map files" in out
    assert "written True" in out
    assert (tmp_path / "out" / "map_SIGNAL2.h5").exists()
