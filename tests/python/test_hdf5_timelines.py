"""HDF5 timeline input (docs/formats.md, "HDF5 timeline files") gives exactly the FITS result.

Proves: the same observations as FITS files, as HDF5 files, and half of each give bitwise equal
maps (binned and destriped, on 1 and 2 ranks); the HDF5 files the simulator writes hold exactly
what the FITS files hold; a missing dataset and a bad attribute are named with file, group and
config key; `tod2map info` describes an HDF5 timeline file and still describes an HDF5 map.

The HDF5 files are made here from the FITS files with h5py, independently of tod2map's writer,
so the reader is checked against the documented layout rather than against its own writer.
"""
import os
import shutil

import h5py
import numpy as np
import pytest
from astropy.io import fits

from conftest import run_tod2map

SIM = """
pixelization: {{nside: 16, ordering: RING, stokes: IQU}}
mapmaker: {{method: binned, min_hits: 3, min_rcond: 1.0e-3}}
output: {{path: {out}}}
simulation:
  seed: 11
{format}  output_dir: {data}
  n_observations: 4
  observation_length: 200.0
  sample_rate: 50.0
  white_noise: true
  correlated_noise: true
  scan: {{type: satellite, spin_period: 6.0, spin_angle_deg: 85.0,
          precession_period: 1900.0, precession_angle_deg: 65.0}}
  focal_plane:
    - {{name: a, polang_deg: 0.0, sigma: 1.0, fknee: 0.5, alpha: 2.0}}
    - {{name: b, polang_deg: 45.0, sigma: 1.0, fknee: 0.5, alpha: 2.0}}
    - {{name: c, polang_deg: 90.0, sigma: 1.0, fknee: 0.5, alpha: 2.0}}
    - {{name: d, polang_deg: 135.0, sigma: 1.0, fknee: 0.5, alpha: 2.0}}
"""

METHODS = {
    "binned": "{method: binned, min_hits: 3, min_rcond: 1.0e-3}",
    "destripe": "{method: destripe, baseline_length: 1.0, min_hits: 3, min_rcond: 1.0e-3}",
}

RUN = """
input:
  files: [{files}]
pixelization: {{nside: 16, ordering: RING, stokes: IQU}}
mapmaker: {method}
solver: {{tol: 1.0e-12, maxiter: 1000}}
output: {{path: {out}}}
"""

PRIMARY_KEYS = ("OBSID", "SAMPRATE", "NEXTEND")
DETECTOR_KEYS = ("SIGMA", "FKNEE", "ALPHA", "POLANG", "POLEFF", "COORDSYS", "NSIDE", "ORDERING")


def fits_to_hdf5(src, dst):
    """Writes the layout of docs/formats.md: root attributes = primary keys, a group per
    detector BINTABLE with its keys as attributes and its columns as chunked 1-D datasets of
    the same dtype."""
    with fits.open(src) as hdus, h5py.File(dst, "w", track_order=True) as f:
        for key in PRIMARY_KEYS:
            if key in hdus[0].header:
                f.attrs[key] = hdus[0].header[key]
        for hdu in hdus[1:]:
            g = f.create_group(hdu.header["EXTNAME"])
            for key in DETECTOR_KEYS:
                if key in hdu.header:
                    g.attrs[key] = hdu.header[key]
            for col in hdu.columns.names:
                data = np.asarray(hdu.data[col])
                data = data.astype(data.dtype.newbyteorder("="))
                g.create_dataset(col, data=data, chunks=(min(len(data), 4096),))


def write_run_config(folder, name, files, method, out):
    path = folder / f"{name}.yaml"
    path.write_text(RUN.format(files=", ".join(f'"{p}"' for p in files), method=METHODS[method],
                               out=out))
    return str(path)


def read_map(path):
    with h5py.File(path, "r") as f:
        return {k: f[k][()] for k in ("map", "hits", "rcond", "invcov")}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """data/ (FITS from the simulator), h5/ (the same converted), mixed/ (half of each)."""
    folder = tmp_path_factory.mktemp("h5timelines")
    cfg = folder / "sim.yaml"
    cfg.write_text(SIM.format(format="", data="data", out="out_sim_fits/map.h5"))
    run_tod2map(["sim", str(cfg)], ranks=2, cwd=str(folder))
    # The simulator's own HDF5 files, same seed: input.files is left to its default.
    cfg = folder / "sim_h5.yaml"
    cfg.write_text(SIM.format(format="  format: hdf5\n", data="simh5", out="out_sim_h5/map.h5"))
    run_tod2map(["sim", str(cfg)], ranks=2, cwd=str(folder))
    (folder / "h5").mkdir()
    (folder / "mixed").mkdir()
    names = sorted(os.listdir(folder / "data"))
    obs = [n for n in names if n.startswith("obs_")]
    assert len(obs) == 4
    for k, name in enumerate(obs):
        h5name = name.replace(".fits", ".h5")
        fits_to_hdf5(folder / "data" / name, folder / "h5" / h5name)
        if k % 2:
            shutil.copy(folder / "h5" / h5name, folder / "mixed" / h5name)
        else:
            shutil.copy(folder / "data" / name, folder / "mixed" / name)
    return folder


FILES = {"fits": ["data/obs_*.fits"], "hdf5": ["h5/obs_*.h5"], "sim_hdf5": ["simh5/obs_*.h5"],
         "mixed": ["mixed/obs_*.fits", "mixed/obs_*.h5"]}


@pytest.mark.parametrize("method", ["binned", "destripe"])
@pytest.mark.parametrize("ranks", [1, 2])
def test_hdf5_and_mixed_input_give_bitwise_the_fits_map(inputs, method, ranks):
    maps = {}
    for kind, files in FILES.items():
        out = f"out_{kind}_{method}_{ranks}/map.h5"
        cfg = write_run_config(inputs, f"{kind}_{method}_{ranks}", files, method, out)
        run_tod2map(["run", cfg], ranks=ranks, cwd=str(inputs))
        maps[kind] = read_map(inputs / out)
    assert (maps["fits"]["map"][0] != -1.6375e30).sum() > 1000
    for kind in ("hdf5", "sim_hdf5", "mixed"):
        for key, value in maps["fits"].items():
            np.testing.assert_array_equal(maps[kind][key], value, err_msg=f"{kind} {key}")
            assert maps[kind][key].tobytes() == value.tobytes(), (kind, key)


def test_simulator_writes_the_documented_layout_with_the_fits_content(inputs):
    names = sorted(n for n in os.listdir(inputs / "simh5") if n.startswith("obs_"))
    assert names == sorted(os.listdir(inputs / "h5")), names
    for name in names:
        with h5py.File(inputs / "simh5" / name, "r") as got, h5py.File(inputs / "h5" / name, "r") as want:
            assert dict(got.attrs) == dict(want.attrs), name
            assert list(got) == list(want) == ["a", "b", "c", "d"], name  # focal-plane order
            for det in want:
                assert dict(got[det].attrs) == dict(want[det].attrs), (name, det)
                assert sorted(got[det]) == sorted(want[det]), (name, det)
                for col in want[det]:
                    g, w = got[det][col], want[det][col]
                    assert g.dtype == w.dtype and g.ndim == 1 and g.chunks, (name, det, col)
                    assert g[()].tobytes() == w[()].tobytes(), (name, det, col)


def test_default_input_files_follow_the_simulated_format(inputs):
    for cfg, out in (("sim.yaml", "out_sim_fits"), ("sim_h5.yaml", "out_sim_h5")):
        run_tod2map(["run", str(inputs / cfg)], ranks=2, cwd=str(inputs))
    fits_map, h5_map = (read_map(inputs / d / "map.h5") for d in ("out_sim_fits", "out_sim_h5"))
    for key, value in fits_map.items():
        assert h5_map[key].tobytes() == value.tobytes(), key


@pytest.fixture
def h5copy(inputs, tmp_path):
    shutil.copytree(inputs / "h5", tmp_path / "h5")
    cfg = write_run_config(tmp_path, "run", FILES["hdf5"], "binned", "out/map.h5")
    return tmp_path, cfg


def test_missing_dataset_names_file_group_and_config_key(h5copy):
    folder, cfg = h5copy
    with h5py.File(folder / "h5" / "obs_0001.h5", "a") as f:
        del f["b/PSI"]
    proc = run_tod2map(["run", cfg], ranks=2, check=False, cwd=str(folder))
    assert proc.returncode == 1, proc.stderr
    assert "obs_0001.h5[group 'b']" in proc.stderr, proc.stderr
    assert "dataset 'PSI' (input.columns.psi) not found" in proc.stderr, proc.stderr


def test_bad_attribute_value_is_named(h5copy):
    folder, cfg = h5copy
    with h5py.File(folder / "h5" / "obs_0002.h5", "a") as f:
        f["c"].attrs["POLEFF"] = 1.5
    proc = run_tod2map(["run", cfg], ranks=2, check=False, cwd=str(folder))
    assert proc.returncode == 1, proc.stderr
    assert "obs_0002.h5[group 'c']: attribute 'POLEFF' = 1.5 (expected 0 to 1)" in proc.stderr, \
        proc.stderr


def test_wrong_dataset_type_is_named(h5copy):
    folder, cfg = h5copy
    with h5py.File(folder / "h5" / "obs_0000.h5", "a") as f:
        n = f["a/SIGNAL"].shape[0]
        del f["a/SIGNAL"]
        f["a"].create_dataset("SIGNAL", data=np.zeros((n, 2)))
    proc = run_tod2map(["run", cfg], ranks=1, check=False, cwd=str(folder))
    assert proc.returncode == 1, proc.stderr
    assert "obs_0000.h5[group 'a']: dataset 'SIGNAL' has type float64, shape" in proc.stderr, \
        proc.stderr


def test_info_describes_hdf5_timelines_and_still_hdf5_maps(inputs):
    proc = run_tod2map(["info", str(inputs / "h5" / "obs_0000.h5")])
    assert "HDF5 timeline file, 4 detector groups" in proc.stdout, proc.stdout
    assert "group 'a':" in proc.stdout and "SIGNAL (float64)" in proc.stdout, proc.stdout
    maps = [p for p in sorted(inputs.glob("out_*/map.h5"))]
    if not maps:
        pytest.skip("no map written yet (run with the map tests)")
    proc = run_tod2map(["info", str(maps[0])])
    assert "tod2map HDF5 map file" in proc.stdout, proc.stdout
