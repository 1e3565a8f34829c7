"""`tod2map sim` end to end: the timeline files follow docs/formats.md (checked with
astropy), the noiseless signal equals the sky looked up with healpy plus the IQU weights, the
sky file is healpy-readable and smooth, a sky written by healpy.write_map is sampled exactly,
and the files do not depend on the number of MPI ranks."""
import filecmp
import os

import healpy as hp
import numpy as np
import pytest
from astropy.io import fits

from conftest import MPIEXEC, run_tod2map, write_config

NSIDE = 8
SAMPLE_RATE = 10.0
LENGTH = 40.0
NSAMP = int(round(LENGTH * SAMPLE_RATE))
DETECTORS = [  # name, polang_deg, poleff, sigma, fknee, alpha
    ("d0A", 0.0, 1.0, 0.5, 0.2, 1.0),
    ("d0B", 90.0, 0.95, 0.6, 0.0, 1.0),
    ("d45", 45.0, 0.9, 0.7, 0.1, 1.7),
]


def make_config(folder, extra="", scan="", sky="", noise=True, n_obs=3):
    focal = "\n".join(
        f"    - {{name: {n}, polang_deg: {p}, poleff: {e}, sigma: {s}, fknee: {f}, alpha: {a}}}"
        for n, p, e, s, f, a in DETECTORS)
    text = f"""\
pixelization: {{nside: {NSIDE}, ordering: RING, stokes: IQU}}
simulation:
  seed: 1234
  output_dir: tod
  file_prefix: scan
  n_observations: {n_obs}
  observation_length: {LENGTH}
  sample_rate: {SAMPLE_RATE}
  coordsys: E
  white_noise: {str(noise).lower()}
  correlated_noise: {str(noise).lower()}
  focal_plane:
{focal}
"""
    if scan:
        text += f"  scan: {scan}\n"
    if sky:
        text += f"  sky: {sky}\n"
    text += extra
    return write_config(folder, text)


def obs_files(folder, n_obs=3):
    return [os.path.join(str(folder), "tod", f"scan_{k:04d}.fits") for k in range(n_obs)]


def sky_maps(path):
    return hp.read_map(path, field=(0, 1, 2), dtype=np.float64)


def model_signal(sky, theta, phi, psi, polang, poleff):
    i, q, u = sky
    nside = hp.npix2nside(len(i))
    pix = hp.ang2pix(nside, theta, phi)
    ang = 2.0 * (psi + polang)
    return i[pix] + poleff * (q[pix] * np.cos(ang) + u[pix] * np.sin(ang))


def test_files_follow_the_timeline_format(tmp_path):
    run_tod2map(["sim", make_config(tmp_path, extra="  flag_fraction: 0.1\n")])
    for k, path in enumerate(obs_files(tmp_path)):
        assert not os.path.exists(path + ".partial")
        with fits.open(path) as hdus:
            assert hdus[0].header["OBSID"] == k
            assert hdus[0].header["SAMPRATE"] == SAMPLE_RATE
            assert len(hdus) == 1 + len(DETECTORS)
            for hdu, (name, polang, poleff, sigma, fknee, alpha) in zip(hdus[1:], DETECTORS):
                h = hdu.header
                assert h["XTENSION"] == "BINTABLE"
                assert h["EXTNAME"] == name
                assert h["SIGMA"] == sigma
                assert h["FKNEE"] == fknee
                assert h["ALPHA"] == alpha
                assert h["POLANG"] == pytest.approx(np.radians(polang), abs=1e-15)
                assert h["POLEFF"] == poleff
                assert h["COORDSYS"] == "E"
                cols = {c.name: c.format for c in hdu.columns}
                assert cols == {"TIME": "D", "THETA": "D", "PHI": "D", "PSI": "D",
                                "SIGNAL": "D", "FLAG": "J"}
                d = hdu.data
                assert len(d) == NSAMP
                np.testing.assert_allclose(d["TIME"], k * LENGTH + np.arange(NSAMP) / SAMPLE_RATE,
                                           rtol=0, atol=1e-9)
                assert np.all((d["THETA"] >= 0) & (d["THETA"] <= np.pi))
                assert np.all((d["PHI"] >= 0) & (d["PHI"] < 2 * np.pi))
                assert np.all(np.abs(d["PSI"]) <= np.pi)
                assert set(np.unique(d["FLAG"])) == {0, 1}
                assert 0.03 < np.mean(d["FLAG"]) < 0.2


def test_float32_and_pixel_variants(tmp_path):
    extra = "  precision: float32\n  write_pixels: true\n"
    cfg = make_config(tmp_path, extra=extra, noise=False)
    with open(cfg) as f:
        text = f.read().replace("ordering: RING", "ordering: NEST")
    with open(cfg, "w") as f:
        f.write(text)
    run_tod2map(["sim", cfg])
    ref = tmp_path / "ref"
    ref.mkdir()
    run_tod2map(["sim", make_config(ref, extra="  precision: float32\n", noise=False)])
    for path, ref_path in zip(obs_files(tmp_path), obs_files(ref)):
        with fits.open(path) as hdus, fits.open(ref_path) as ref_hdus:
            for hdu, rhdu in zip(hdus[1:], ref_hdus[1:]):
                cols = {c.name: c.format for c in hdu.columns}
                assert cols == {"TIME": "D", "PIXEL": "K", "PSI": "E", "SIGNAL": "E", "FLAG": "J"}
                assert hdu.header["NSIDE"] == NSIDE
                assert hdu.header["ORDERING"].startswith("NEST")
                r = rhdu.data
                assert {c.name: c.format for c in rhdu.columns}["THETA"] == "E"
                expected = hp.ang2pix(NSIDE, r["THETA"].astype(np.float64),
                                      r["PHI"].astype(np.float64), nest=True)
                np.testing.assert_array_equal(hdu.data["PIXEL"], expected)
                np.testing.assert_array_equal(hdu.data["SIGNAL"], r["SIGNAL"])


def test_noiseless_signal_is_the_sky_through_the_weights(tmp_path):
    run_tod2map(["sim", make_config(tmp_path, noise=False)])
    sky_path = os.path.join(str(tmp_path), "tod", "sky.fits")
    sky = sky_maps(sky_path)
    header = dict(fits.getheader(sky_path, 1))
    assert header["NSIDE"] == NSIDE and header["ORDERING"] == "RING"
    assert header["COORDSYS"] == "E" and header["PIXTYPE"] == "HEALPIX"
    for path in obs_files(tmp_path):
        with fits.open(path) as hdus:
            for hdu in hdus[1:]:
                d, h = hdu.data, hdu.header
                expected = model_signal(sky, d["THETA"], d["PHI"], d["PSI"], h["POLANG"],
                                        h["POLEFF"])
                np.testing.assert_allclose(d["SIGNAL"], expected, rtol=1e-12, atol=1e-12)
                assert np.std(d["SIGNAL"]) > 0.1
                assert np.all(d["FLAG"] == 0)


def test_synthetic_sky_is_smooth_and_polarized(tmp_path):
    run_tod2map(["sim", make_config(tmp_path, n_obs=1,
                                    sky="{type: synthetic, nside: 64}")])
    i, q, u = sky_maps(os.path.join(str(tmp_path), "tod", "sky.fits"))
    assert len(i) == hp.nside2npix(64)
    assert np.std(q) > 1.0 and np.std(u) > 1.0 and np.std(i) > 10.0
    # Smooth: the power at l > 40 (scales under ~4.5 deg) is a tiny fraction of the total.
    cl = hp.anafast([i, q, u], lmax=3 * 64 - 1)
    for spectrum in cl[:3]:  # TT, EE, BB
        assert spectrum[41:].sum() < 1e-3 * spectrum.sum()


def test_healpy_written_sky_is_sampled_exactly(tmp_path):
    # nside 16 IQU in NEST: healpy writes 1024-element vector rows (fits_IDL default).
    nside = 16
    rng = np.random.default_rng(5)
    maps = [rng.normal(0, s, hp.nside2npix(nside)) for s in (100.0, 10.0, 10.0)]
    src = os.path.join(str(tmp_path), "input_sky.fits")
    hp.write_map(src, [hp.reorder(m, r2n=True) for m in maps], nest=True, coord="E",
                 dtype=np.float64, overwrite=True)
    with fits.open(src) as hdus:
        assert hdus[1].columns[0].format == "1024D"  # the vector-row layout
    run_tod2map(["sim", make_config(tmp_path, noise=False,
                                    sky="{type: file, path: input_sky.fits}")])
    written = sky_maps(os.path.join(str(tmp_path), "tod", "sky.fits"))
    for a, b in zip(written, maps):
        np.testing.assert_array_equal(a, b)
    for path in obs_files(tmp_path):
        with fits.open(path) as hdus:
            for hdu in hdus[1:]:
                d, h = hdu.data, hdu.header
                expected = model_signal(maps, d["THETA"], d["PHI"], d["PSI"], h["POLANG"],
                                        h["POLEFF"])
                np.testing.assert_allclose(d["SIGNAL"], expected, rtol=1e-12, atol=1e-12)

    # A temperature-only map gives I-only signal.
    hp.write_map(src, maps[0], coord="E", dtype=np.float64, overwrite=True)
    other = tmp_path / "tonly"
    other.mkdir()
    os.replace(src, os.path.join(str(other), "input_sky.fits"))
    run_tod2map(["sim", make_config(other, noise=False, sky="{type: file, path: input_sky.fits}")])
    with fits.open(obs_files(other)[0]) as hdus:
        d = hdus[2].data
        np.testing.assert_array_equal(d["SIGNAL"], maps[0][hp.ang2pix(nside, d["THETA"], d["PHI"])])


def test_files_do_not_depend_on_the_rank_count(tmp_path):
    if not os.environ.get("MPIEXEC"):
        pytest.skip("MPIEXEC not set (run through ctest)")
    extra = "  flag_fraction: 0.05\n"
    outputs = []
    for ranks in (1, 2):
        folder = tmp_path / f"np{ranks}"
        folder.mkdir()
        run_tod2map(["sim", make_config(folder, extra=extra, n_obs=5)], ranks=ranks)
        outputs.append(folder)
    names = [f"scan_{k:04d}.fits" for k in range(5)] + ["sky.fits"]
    for name in names:
        a = os.path.join(str(outputs[0]), "tod", name)
        b = os.path.join(str(outputs[1]), "tod", name)
        assert filecmp.cmp(a, b, shallow=False), f"{name} differs between 1 and 2 ranks"
    # ...and the noise is really there (not a trivially identical noiseless run).
    with fits.open(os.path.join(str(outputs[0]), "tod", names[0])) as hdus:
        assert np.std(np.diff(hdus[1].data["SIGNAL"])) > 0.1


def test_ground_scan_and_errors(tmp_path):
    scan = ("{type: ground, latitude_deg: -22.96, elevation_deg: 45, azimuth_center_deg: 180, "
            "azimuth_throw_deg: 30, scan_speed_deg: 1.0}")
    run_tod2map(["sim", make_config(tmp_path, scan=scan, extra="  write_sky: false\n")])
    assert not os.path.exists(os.path.join(str(tmp_path), "tod", "sky.fits"))
    with fits.open(obs_files(tmp_path)[1]) as hdus:
        d = hdus[1].data
        lat = np.radians(-22.96)
        dec = np.pi / 2 - d["THETA"]
        h = 2 * np.pi * d["TIME"] / 86164.0905 - d["PHI"]
        el = np.arcsin(np.sin(lat) * np.sin(dec) + np.cos(lat) * np.cos(dec) * np.cos(h))
        np.testing.assert_allclose(el, np.radians(45.0), atol=1e-9)

    bad = tmp_path / "bad"
    bad.mkdir()
    proc = run_tod2map(["sim", make_config(bad, sky="{type: file, path: missing_sky.fits}")],
                       check=False)
    assert proc.returncode != 0
    assert "missing_sky.fits" in proc.stderr
    assert not os.path.exists(os.path.join(str(bad), "tod", "scan_0000.fits"))
