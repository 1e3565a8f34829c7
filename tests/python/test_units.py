"""Units and coordinate systems from the timelines to the maps (issue 17, part 4).

Proves: SIGNAL's unit (FITS TUNITn, HDF5 attribute 'units' of the SIGNAL dataset) becomes the
map's units in the HDF5 map (attribute), the FITS map (TUNITn) and the quick-look's colour bars;
output.units overrides it; a timeline without a unit agrees with any; timelines that disagree
on units or COORDSYS, in any mix of formats, stop the run before any sample is read with one
line naming both values and both timelines; Python timelines carry units the same way.
"""
import h5py
import numpy as np
import pytest
from astropy.io import fits

from conftest import run_python, run_tod2map, write_config

CONFIG = """
input:
  files: {files}
pixelization: {{nside: 8, ordering: RING, stokes: IQU}}
mapmaker: {{method: binned, min_hits: 3, min_rcond: 1.0e-3}}
output: {{path: out/map.h5}}
simulation:
  seed: 5
  output_dir: data
  file_prefix: {prefix}
  format: {fmt}
  units: "{units}"
  coordsys: {coordsys}
  n_observations: 2
  observation_length: 200.0
  sample_rate: 20.0
  correlated_noise: false
  scan: {{type: satellite, spin_period: 6.0, spin_angle_deg: 85.0,
          precession_period: 1900.0, precession_angle_deg: 65.0}}
  focal_plane:
    - {{name: a, polang_deg: 0.0, sigma: 0.1}}
    - {{name: b, polang_deg: 45.0, sigma: 0.1}}
    - {{name: c, polang_deg: 90.0, sigma: 0.1}}
"""


def simulate(folder, prefix="obs", fmt="fits", units="uK_CMB", coordsys="G",
             files='["data/*_0*"]'):
    cfg = write_config(folder, CONFIG.format(files=files, prefix=prefix, fmt=fmt, units=units,
                                             coordsys=coordsys))
    run_tod2map(["sim", cfg])
    return cfg


def assert_stopped_before_reading(proc):
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "pointing:" not in proc.stdout, proc.stdout
    # One line from tod2map (mpiexec adds its own box after it).
    assert proc.stderr.startswith("tod2map run: error: io::index_timelines: input: timelines "
                                  "in different "), proc.stderr
    return proc.stderr.splitlines()[0]


def test_units_go_from_tunit_to_the_maps_and_the_plot(tmp_path):
    cfg = simulate(tmp_path)
    with fits.open(tmp_path / "data" / "obs_0000.fits") as f:
        names = list(f[1].columns.names)
        assert f[1].columns.units[names.index("SIGNAL")] == "uK_CMB"
    run_tod2map(["run", cfg], ranks=2, cwd=tmp_path)
    run_tod2map(["run", cfg, "--set", "output.path=out/map.fits"], ranks=2, cwd=tmp_path)
    with h5py.File(tmp_path / "out" / "map.h5", "r") as f:
        assert f.attrs["units"] == "uK_CMB"
    with fits.open(tmp_path / "out" / "map.fits") as f:
        header = f[1].header
        stokes = [k for k in range(1, header["TFIELDS"] + 1) if header[f"TTYPE{k}"].endswith("_STOKES")]
        assert [header[f"TUNIT{k}"] for k in stokes] == ["uK_CMB"] * 3
        assert header.get(f"TUNIT{header['TFIELDS']}", "") == ""  # HITS: a count
    sky = fits.getheader(tmp_path / "data" / "sky.fits", 1)
    assert sky["TUNIT1"] == "uK_CMB"

    # The quick-look's colour bars say the units; the FITS map's HITS column is the hits panel,
    # never a Stokes panel.
    out = run_python("""
        from tod2map.plot import map_figure
        for name in ("map.h5", "map.fits"):
            fig = map_figure("out/" + name, xsize=200)
            print(name, [p.name for p in fig.panels], [p.label.split(",")[0] for p in fig.panels])
        """, tmp_path)
    labels = "['I', 'Q', 'U', 'hits'] ['uK_CMB', 'uK_CMB', 'uK_CMB', 'samples per pixel (log scale)']"
    assert out.splitlines() == [f"map.h5 {labels}", f"map.fits {labels}"], out


def test_output_units_overrides_the_input(tmp_path):
    cfg = simulate(tmp_path)
    run_tod2map(["run", cfg, "--set", "output.units=K_CMB"], cwd=tmp_path)
    with h5py.File(tmp_path / "out" / "map.h5", "r") as f:
        assert f.attrs["units"] == "K_CMB"


def test_hdf5_timelines_carry_units(tmp_path):
    cfg = simulate(tmp_path, fmt="hdf5", units="K_RJ")
    with h5py.File(tmp_path / "data" / "obs_0000.h5", "r") as f:
        assert f["a/SIGNAL"].attrs["units"] == "K_RJ"
    run_tod2map(["run", cfg], ranks=2, cwd=tmp_path)
    with h5py.File(tmp_path / "out" / "map.h5", "r") as f:
        assert f.attrs["units"] == "K_RJ"


def test_a_timeline_without_units_agrees_with_any(tmp_path):
    cfg = simulate(tmp_path)
    path = tmp_path / "data" / "obs_0001.fits"
    with fits.open(path, mode="update") as f:
        for hdu in f[1:]:
            k = hdu.columns.names.index("SIGNAL") + 1
            del hdu.header[f"TUNIT{k}"]
    run_tod2map(["run", cfg], cwd=tmp_path)
    with h5py.File(tmp_path / "out" / "map.h5", "r") as f:
        assert f.attrs["units"] == "uK_CMB"


@pytest.mark.parametrize("field, other, words", [
    ("units", {"units": "K_CMB"}, ["different units", "'uK_CMB'", "'K_CMB'"]),
    ("coordsys", {"coordsys": "E"}, ["different coordinate systems", "'G'", "'E'"]),
])
def test_inputs_that_disagree_stop_before_reading(tmp_path, field, other, words):
    # FITS and HDF5 files mixed: the check is the format-neutral index's.
    simulate(tmp_path, prefix="a")
    cfg = simulate(tmp_path, prefix="b", fmt="hdf5", **other)
    proc = run_tod2map(["run", cfg], ranks=2, cwd=tmp_path, check=False)
    line = assert_stopped_before_reading(proc)
    for w in words + ["a_0000.fits[HDU 2 'a']", "b_0000.h5[group 'a']"]:
        assert w in line, line
    # Selecting one set of files runs.
    run_tod2map(["run", cfg, "--set", 'input.files=["data/a_*"]'], cwd=tmp_path)


def test_python_timelines_carry_units(tmp_path):
    out = run_python("""
        import numpy as np
        import tod2map
        rng = np.random.default_rng(4)
        n = 20000

        def timeline(units, name):
            return tod2map.Timeline(rng.normal(size=n), rng.uniform(0, 3, n),
                                    np.arccos(rng.uniform(-1, 1, n)), rng.uniform(0, 6, n),
                                    sigma=1.0, samprate=10.0, detector=name, units=units)

        a, b, c = timeline("mK", "a"), timeline("", "b"), timeline("K", "c")
        print(a.units, tod2map.MapMaker([a, b], nside=4, min_hits=1).binned().units)
        try:
            tod2map.MapMaker([a, c], nside=4, min_hits=1).binned()
        except ValueError as e:
            print(e)
        """, tmp_path)
    # (The module's log lines come first.)
    lines = out.splitlines()[-2:]
    assert lines[0] == "mK mK", out
    assert lines[1].startswith("input: timelines in different units: SIGNAL unit 'mK' and 'K' "
                               "in timeline of detector 'c'"), out
