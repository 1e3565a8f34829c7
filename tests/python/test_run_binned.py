"""End-to-end binned map-making: simulated timelines in, HDF5/FITS maps out.

Proves: a noiseless simulation is recovered to 1e-10 in every unmasked pixel; with white
noise the residual is consistent with the predicted per-pixel covariance (chi-square); 1, 2
and 3 ranks give the same map; the files pass h5py and healpy reads; bad input fails cleanly.
"""
import hashlib
import os

import h5py
import healpy as hp
import numpy as np
import pytest
from astropy.io import fits

from conftest import run_tod2map, write_config

UNSEEN = -1.6375e30
NSIDE = 16

CONFIG = """
input:
  files: ["data/obs_*.fits"]
pixelization: {{nside: {nside}, ordering: RING, stokes: IQU}}
mapmaker: {{method: binned, min_hits: 3, min_rcond: 1.0e-3}}
output: {{path: {out}}}
simulation:
  seed: 7
  output_dir: data
  n_observations: 4
  observation_length: 400.0
  sample_rate: 20.0
  white_noise: {white}
  correlated_noise: false
  write_pixels: {pixels}
  scan: {{type: satellite, spin_period: 6.0, spin_angle_deg: 85.0,
          precession_period: 1900.0, precession_angle_deg: 65.0}}
  focal_plane:
    - {{name: a, polang_deg: 0.0, sigma: 0.1}}
    - {{name: b, polang_deg: 45.0, sigma: 0.1}}
    - {{name: c, polang_deg: 90.0, sigma: 0.2}}
    - {{name: d, polang_deg: 135.0, sigma: 0.2}}
"""


def simulate(folder, white=False, pixels=False, nside=NSIDE, ranks=None):
    cfg = write_config(folder, CONFIG.format(nside=nside, out=os.path.join(str(folder), "out", "map.h5"),
                                             white=str(white).lower(), pixels=str(pixels).lower()))
    run_tod2map(["sim", cfg], ranks=ranks)
    return cfg


def read_h5(path):
    with h5py.File(path, "r") as f:
        return {k: f[k][()] for k in ("map", "hits", "rcond", "invcov")}, dict(f.attrs), f["solver/residuals"][()]


@pytest.fixture(scope="module")
def noiseless(tmp_path_factory):
    folder = tmp_path_factory.mktemp("noiseless")
    cfg = simulate(folder)
    run_tod2map(["run", cfg], ranks=2)
    return folder, cfg


def test_noiseless_map_equals_input_sky(noiseless):
    folder, _ = noiseless
    data, attrs, residuals = read_h5(folder / "out" / "map.h5")
    sky = np.array(hp.read_map(str(folder / "data" / "sky.fits"), field=(0, 1, 2)))
    m = data["map"]
    assert m.shape == (3, 12 * NSIDE**2)
    seen = m[0] != UNSEEN
    assert seen.sum() > 0.5 * m.shape[1], "the scan should cover most of the sky"
    assert np.all(m[:, ~seen] == UNSEEN)
    rel = np.abs(m[:, seen] - sky[:, seen]) / np.max(np.abs(sky[:, seen]), axis=1, keepdims=True)
    assert rel.max() < 1e-10
    # masked pixels are exactly those under min_hits or min_rcond
    expect_masked = (data["hits"] < 3) | (data["rcond"] < 1e-3)
    np.testing.assert_array_equal(~seen, expect_masked)
    assert residuals[0] == 1.0 and residuals[-1] < 1e-12


def test_hdf5_file_layout(noiseless):
    folder, _ = noiseless
    path = folder / "out" / "map.h5"
    assert not os.path.exists(str(path) + ".partial")
    with h5py.File(path, "r") as f:
        npix = 12 * NSIDE**2
        assert f["map"].shape == (3, npix) and f["map"].dtype == np.float64
        assert f["hits"].shape == (npix,) and f["hits"].dtype == np.int64
        assert f["rcond"].shape == (npix,) and f["rcond"].dtype == np.float64
        assert f["invcov"].shape == (6, npix) and f["invcov"].dtype == np.float64
        assert f["solver/residuals"].ndim == 1
        a = f.attrs
        assert int(a["nside"]) == NSIDE
        for key, value in (("ordering", "RING"), ("stokes", "IQU"), ("method", "binned")):
            v = a[key]
            assert (v.decode() if isinstance(v, bytes) else str(v)) == value
        for key in ("coordsys", "units", "tod2map_version", "config", "created"):
            assert key in a
        cfg = a["config"]
        cfg = cfg.decode() if isinstance(cfg, bytes) else str(cfg)
        assert "nside: 16" in cfg and "method: binned" in cfg
        assert int(f["hits"][()].sum()) > 0


def test_stored_config_runs_again_from_any_folder(noiseless, tmp_path):
    """The config a map stores names its inputs by absolute path: saved to a file in another
    folder and run from a third, it reads the same timelines and gives the same map."""
    folder, _ = noiseless
    with h5py.File(folder / "out" / "map.h5", "r") as f:
        stored = f["config"][()].tobytes().decode()
    assert f'"{folder}/data/obs_*.fits"' in stored or f"{folder}/data/obs_*.fits" in stored, stored
    elsewhere = tmp_path / "saved"
    elsewhere.mkdir()
    (elsewhere / "again.yaml").write_text(stored)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    run_tod2map(["run", str(elsewhere / "again.yaml"), "--set", "output.path=again.h5"], ranks=2,
                cwd=str(cwd))
    a, _, _ = read_h5(folder / "out" / "map.h5")
    b, _, _ = read_h5(cwd / "again.h5")
    np.testing.assert_array_equal(a["hits"], b["hits"])
    np.testing.assert_array_equal(a["map"], b["map"])


def test_white_noise_residual_is_consistent_with_covariance(tmp_path):
    cfg = simulate(tmp_path, white=True)
    run_tod2map(["run", cfg])
    data, _, _ = read_h5(tmp_path / "out" / "map.h5")
    sky = np.array(hp.read_map(str(tmp_path / "data" / "sky.fits"), field=(0, 1, 2)))
    seen = data["map"][0] != UNSEEN
    r = (data["map"] - sky)[:, seen]  # (3, n)
    c = data["invcov"][:, seen]       # II IQ IU QQ QU UU
    block = np.array([[c[0], c[1], c[2]], [c[1], c[3], c[4]], [c[2], c[4], c[5]]])  # (3,3,n)
    chi2 = np.einsum("in,ijn,jn->", r, block, r)
    dof = r.size
    # chi-square with dof degrees of freedom: mean dof, standard deviation sqrt(2 dof)
    assert abs(chi2 - dof) < 5 * np.sqrt(2 * dof), (chi2, dof)
    # and the noise is really there (not a noiseless map by mistake)
    assert chi2 > 0.5 * dof


def test_same_map_on_1_2_3_ranks(noiseless, tmp_path):
    folder, cfg = noiseless
    maps = []
    for ranks in (1, 2, 3):
        out = tmp_path / f"map{ranks}.h5"
        run_tod2map(["run", cfg, "--set", f"output.path={out}"], ranks=ranks)
        maps.append(read_h5(out)[0])
    for other in maps[1:]:
        seen = maps[0]["map"] != UNSEEN
        np.testing.assert_array_equal(seen, other["map"] != UNSEEN)
        scale = np.abs(maps[0]["map"][seen]).max()
        assert np.abs(other["map"][seen] - maps[0]["map"][seen]).max() <= 1e-10 * scale
        np.testing.assert_array_equal(other["hits"], maps[0]["hits"])
        # sums over samples are added in another order on other rank counts: round-off only
        scale = np.abs(maps[0]["invcov"]).max()
        assert np.abs(other["invcov"] - maps[0]["invcov"]).max() <= 1e-12 * scale


def test_fits_output_reads_in_healpy(noiseless, tmp_path):
    folder, cfg = noiseless
    out = tmp_path / "map.fits"
    run_tod2map(["run", cfg, "--set", f"output.path={out}"], ranks=2)
    m = np.array(hp.read_map(str(out), field=(0, 1, 2)))
    h5, _, _ = read_h5(folder / "out" / "map.h5")
    seen = h5["map"][0] != UNSEEN
    np.testing.assert_allclose(m[:, seen], h5["map"][:, seen], rtol=1e-12)
    assert np.all(m[:, ~seen] == hp.UNSEEN)
    header = dict(fits.getheader(str(out), 1))
    assert header["PIXTYPE"] == "HEALPIX" and header["ORDERING"] == "RING" and header["NSIDE"] == NSIDE


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_all_flagged_input_fails_cleanly(tmp_path):
    cfg = simulate(tmp_path)
    for name in os.listdir(tmp_path / "data"):
        if name.startswith("obs"):
            with fits.open(tmp_path / "data" / name, mode="update") as hdus:
                for hdu in hdus[1:]:
                    hdu.data["FLAG"][:] = 1
    proc = run_tod2map(["run", cfg], ranks=2, check=False)
    assert proc.returncode != 0
    assert "no usable sample" in proc.stderr
    assert not os.path.exists(tmp_path / "out" / "map.h5")
    assert not os.path.exists(str(tmp_path / "out" / "map.h5") + ".partial")


def test_every_pixel_masked_is_an_error_not_a_map(noiseless, tmp_path):
    folder, cfg = noiseless
    out = tmp_path / "masked.h5"
    proc = run_tod2map(["run", cfg, "--set", "mapmaker.min_hits=1000000000", "--set", f"output.path={out}"],
                       ranks=2, check=False)
    assert proc.returncode != 0
    assert "observed pixels are masked (min_hits 1000000000" in proc.stderr
    assert not os.path.exists(out) and not os.path.exists(str(out) + ".partial")


def test_unwritable_output_keeps_earlier_map(noiseless, tmp_path):
    folder, cfg = noiseless
    good = tmp_path / "good.h5"
    run_tod2map(["run", cfg, "--set", f"output.path={good}"])
    before = digest(good)
    # a folder where the .partial file should go cannot be replaced by a file
    os.mkdir(str(good) + ".partial")
    proc = run_tod2map(["run", cfg, "--set", f"output.path={good}"], ranks=2, check=False)
    assert proc.returncode != 0
    assert str(good) in proc.stderr
    assert digest(good) == before
    os.rmdir(str(good) + ".partial")
    # an output folder below a regular file cannot be created
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    target = blocker / "sub" / "map.h5"
    proc = run_tod2map(["run", cfg, "--set", f"output.path={target}"], ranks=2, check=False)
    assert proc.returncode != 0
    assert "afile" in proc.stderr
    assert blocker.read_text() == "not a folder"


def test_pixel_nside_mismatch_is_reported(tmp_path):
    cfg = simulate(tmp_path, pixels=True)
    proc = run_tod2map(["run", cfg, "--set", "pixelization.nside=32"], check=False)
    assert proc.returncode != 0
    assert "NSIDE 16" in proc.stderr and "pixelization.nside is 32" in proc.stderr
    # the same files at the right nside make the same map as the THETA/PHI files
    run_tod2map(["run", cfg])
    data, _, _ = read_h5(tmp_path / "out" / "map.h5")
    sky = np.array(hp.read_map(str(tmp_path / "data" / "sky.fits"), field=(0, 1, 2)))
    seen = data["map"][0] != UNSEEN
    assert np.abs(data["map"][:, seen] - sky[:, seen]).max() < 1e-10 * np.abs(sky).max()
