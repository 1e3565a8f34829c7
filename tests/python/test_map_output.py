"""Map output files as other tools read them.

Proves: the HDF5 map written collectively at 1, 2 and 3 ranks has the datasets, shapes, dtypes
and root attributes of docs/formats-maps.md as h5py sees them (strings as str, nside as an
integer), every value equals the formula the writer was fed, the per-pixel datasets start on
stripe boundaries, extra arrays are concatenated in rank order; the FITS map is read by
healpy.read_map(path, field=(0,1,2)) with the same values and HEALPix header keywords.
The writer is tests/tools/map_output_tool.cpp; its formulas are mirrored in expected().
"""
import os
import re
import subprocess

import h5py
import healpy as hp
import numpy as np
import pytest
from astropy.io import fits

UNSEEN = -1.6375e30
NSIDE = 32
NPIX = 12 * NSIDE * NSIDE
STRIPE = 65536
TOOL = os.environ.get("TOD2MAP_MAP_OUTPUT_TOOL", "")
MPIEXEC = os.environ.get("MPIEXEC", "mpiexec")


def expected(ranks):
    """The values map_output_tool writes, computed independently of it."""
    p = np.arange(NPIX, dtype=np.int64)
    m = np.array([100.0 * s + 0.25 * p for s in range(3)])
    m[:, p % 11 == 3] = UNSEEN
    baselines = np.concatenate([10.0 * r + np.arange(r + 1) for r in range(ranks)])
    return {
        "map": m,
        "hits": p % 7 + 1,
        "rcond": 1.0 / (1.0 + p),
        "invcov": np.array([k + 0.001 * p for k in range(6)]),
        "solver/residuals": np.array([1.0, 0.1, 0.01]),
        "baselines/det0A": baselines,
    }


@pytest.fixture(scope="module", params=[1, 2, 3], ids=lambda n: f"np{n}")
def written(request, tmp_path_factory):
    if not TOOL:
        pytest.skip("TOD2MAP_MAP_OUTPUT_TOOL is not set (run through ctest)")
    ranks = request.param
    folder = tmp_path_factory.mktemp(f"maps_np{ranks}")
    h5, fitsfile = str(folder / "map.h5"), str(folder / "map.fits")
    cmd = [MPIEXEC, "-n", str(ranks), "--oversubscribe", TOOL, h5, fitsfile, str(NSIDE)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
    assert sorted(os.listdir(folder)) == ["map.fits", "map.h5"], "a .partial was left behind"
    return ranks, h5, fitsfile


def test_hdf5_datasets_shapes_and_dtypes(written):
    ranks, h5, _ = written
    with h5py.File(h5, "r") as f:
        shapes = {}
        f.visititems(lambda name, obj: shapes.__setitem__(name, (obj.shape, obj.dtype))
                     if isinstance(obj, h5py.Dataset) else None)
    assert shapes == {
        "map": ((3, NPIX), np.float64),
        "hits": ((NPIX,), np.int64),
        "rcond": ((NPIX,), np.float64),
        "invcov": ((6, NPIX), np.float64),
        "solver/residuals": ((3,), np.float64),
        "baselines/det0A": ((ranks * (ranks + 1) // 2,), np.float64),
        "config": ((len(f"pixelization:\n  nside: {NSIDE}\n  stokes: IQU\n"),), np.uint8),
    }


def test_hdf5_values_equal_the_formulas(written):
    ranks, h5, _ = written
    with h5py.File(h5, "r") as f:
        for name, want in expected(ranks).items():
            np.testing.assert_array_equal(f[name][()], want, err_msg=name)


def test_hdf5_root_attributes(written):
    _, h5, _ = written
    with h5py.File(h5, "r") as f:
        a = dict(f.attrs)
    assert set(a) == {"nside", "ordering", "coordsys", "stokes", "units", "method",
                      "tod2map_version", "config", "created"}
    assert isinstance(a["nside"], np.integer) and a["nside"] == NSIDE
    for key in ("ordering", "coordsys", "stokes", "units", "method", "tod2map_version",
                "config", "created"):
        assert isinstance(a[key], str), f"{key} is {type(a[key])}, expected str"
    assert (a["ordering"], a["coordsys"], a["stokes"], a["units"], a["method"]) == \
        ("RING", "G", "IQU", "K_CMB", "destripe")
    assert re.fullmatch(r"\d+\.\d+\.\d+", a["tod2map_version"])
    assert a["config"] == f"pixelization:\n  nside: {NSIDE}\n  stokes: IQU\n"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", a["created"])


def test_hdf5_pixel_datasets_are_stripe_aligned(written):
    _, h5, _ = written
    with h5py.File(h5, "r") as f:
        for name in ("map", "hits", "rcond", "invcov"):
            offset = f[name].id.get_offset()
            assert offset is not None and offset % STRIPE == 0, (name, offset)


def test_fits_read_by_healpy(written):
    ranks, _, fitsfile = written
    want = expected(ranks)
    m, header = hp.read_map(fitsfile, field=(0, 1, 2), h=True)
    np.testing.assert_array_equal(m, want["map"])
    h = dict(header)
    assert h["PIXTYPE"] == "HEALPIX"
    assert h["ORDERING"] == "RING"
    assert h["NSIDE"] == NSIDE
    assert h["INDXSCHM"] == "IMPLICIT"
    assert h["COORDSYS"] == "G"
    assert (h["FIRSTPIX"], h["LASTPIX"]) == (0, NPIX - 1)
    assert [h[f"TTYPE{i}"] for i in range(1, 5)] == ["I_STOKES", "Q_STOKES", "U_STOKES", "HITS"]
    # healpy masks UNSEEN pixels when asked, so it recognises our blank value.
    masked = hp.read_map(fitsfile, field=0)
    assert np.count_nonzero(hp.mask_bad(masked)) == np.count_nonzero(np.arange(NPIX) % 11 == 3)


def test_fits_hits_and_config_extension(written):
    ranks, _, fitsfile = written
    with fits.open(fitsfile) as hdul:
        np.testing.assert_array_equal(hdul[1].data["HITS"], expected(ranks)["hits"])
        assert hdul[1].columns["HITS"].format == "K"
        assert hdul[1].header["TUNIT1"] == "K_CMB"
        # One YAML line per row; FITS pads strings with trailing blanks.
        assert [line.rstrip() for line in hdul["CONFIG"].data["YAML"]] == \
            ["pixelization:", f"  nside: {NSIDE}", "  stokes: IQU"]
