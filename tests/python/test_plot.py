"""The quick-look plot tells the truth (issue 18, points 3 and 4): `python3 -m tod2map plot`
and tod2map.plot.map_figure.

Proves: panels are named from the file (HDF5 `stokes`, FITS TTYPEn; healpy.write_map's 1 and
3 columns, NESTED ordering honoured), an I-only map has an I panel and a hits panel and never a
"Q" made of hits; hits use a log colour scale (LogNorm) and --no-hits leaves them out; Q, U and
differences use a diverging map symmetric about 0, I a sequential one; the clipping is shown by
colour-bar extend arrows and stated in the label; the coordinate frame is named and a
graticule drawn; --diff of a map with itself is all zero; --minus subtracts an input sky
(another nside is ud_graded, with a note); mismatched components or nside are one-line errors.
"""
import importlib.util
import json
import os
import subprocess
import sys

import healpy as hp
import numpy as np
import pytest

from conftest import run_python, run_tod2map, write_config

CONFIG = """
input:
  files: ["data/obs_*.fits"]
pixelization: {nside: 16, ordering: RING, stokes: IQU}
mapmaker: {method: binned, baseline_length: 1.0, min_hits: 3, min_rcond: 1.0e-3}
solver: {tol: 1.0e-8, maxiter: 100}
output: {path: out/binned.h5}
simulation:
  seed: 11
  output_dir: data
  units: uK_CMB
  coordsys: G
  n_observations: 2
  observation_length: 300.0
  sample_rate: 20.0
  scan: {type: satellite, spin_period: 6.0, spin_angle_deg: 85.0,
         precession_period: 1900.0, precession_angle_deg: 65.0}
  focal_plane:
    - {name: a, polang_deg: 0.0, sigma: 1.0, fknee: 3.0, alpha: 2.0}
    - {name: b, polang_deg: 45.0, sigma: 1.0, fknee: 3.0, alpha: 2.0}
    - {name: c, polang_deg: 90.0, sigma: 1.0, fknee: 3.0, alpha: 2.0}
"""

# Prints what a figure shows, as JSON: the suptitle and, per panel, its title, colour map,
# norm class and limits, extend, label, the number of graticule lines and the drawn values.
DESCRIBE = """
import json, sys
import numpy as np
from tod2map.plot import map_figure

def describe(*args, **kwargs):
    fig = map_figure(*args, xsize=200, **kwargs)
    panels = []
    for p in fig.panels:
        v = p.values[np.isfinite(p.values)]
        panels.append(dict(name=p.name, cmap=p.cmap, norm=type(p.colorbar.norm).__name__,
                           vmin=p.vmin, vmax=p.vmax, extend=p.extend,
                           bar_extend=p.colorbar.extend, label=p.label,
                           xlabel=p.colorbar.ax.get_xlabel(), lines=len(p.ax.lines),
                           n=int(v.size), absmax=float(np.abs(v).max()) if v.size else -1.0,
                           rms=float(np.sqrt(np.mean(v**2))) if v.size else -1.0))
    return dict(title=" ".join(fig._suptitle.get_text().split()), panels=panels,
                axes_titles=[ax.get_title() for ax in fig.axes if ax.get_title()])
"""


def describe(folder, call):
    """map_figure(...) of `call` (the arguments, as Python source), described."""
    out = run_python(DESCRIBE + f"\nprint(json.dumps(describe({call})))\n", folder)
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    """A simulated survey with 1/f noise: its sky, a binned IQU HDF5 map, a destriped one, and
    an I-only FITS map of the same data."""
    folder = tmp_path_factory.mktemp("plot")
    cfg = write_config(folder, CONFIG)
    run_tod2map(["sim", cfg], cwd=folder)
    run_tod2map(["run", cfg], cwd=folder)
    run_tod2map(["run", cfg, "--set", "mapmaker.method=destripe", "--set",
                 "output.path=out/destriped.h5"], cwd=folder)
    run_tod2map(["run", cfg, "--set", "pixelization.stokes=I", "--set",
                 "output.path=out/i.fits"], cwd=folder)
    return folder


def test_iqu_hdf5_map(maps):
    d = describe(maps, "'out/binned.h5'")
    p = d["panels"]
    assert [x["name"] for x in p] == ["I", "Q", "U", "hits"]
    assert [x["cmap"] for x in p] == ["viridis", "RdBu_r", "RdBu_r", "magma"]
    # I: sequential, clipped at the 1st/99th percentiles, which the arrows and label say.
    i = p[0]
    assert i["norm"] == "Normalize" and i["vmin"] < i["vmax"]
    assert i["extend"] == i["bar_extend"] == "both"
    assert i["xlabel"] == i["label"] == "uK_CMB, clipped at the 1st/99th percentile"
    # Q and U: symmetric about 0, clipped at the 99th percentile of |value|.
    for q in p[1:3]:
        assert q["norm"] == "Normalize" and q["vmax"] > 0 and q["vmin"] == -q["vmax"]
        assert q["bar_extend"] == q["extend"] and q["extend"] != "neither"
        assert q["label"] == "uK_CMB, clipped at the 99th percentile of |value|"
        assert q["absmax"] > q["vmax"]  # there is something beyond the clip
    # Hits: log scale from the fewest to the most hits of an observed pixel, not clipped.
    h = p[3]
    assert h["norm"] == "LogNorm" and h["vmin"] >= 1 and h["vmax"] > 10 * h["vmin"]
    assert h["extend"] == "neither" and "log" in h["label"]
    # The frame is named, a graticule drawn (5 parallels, 11 meridians, the outline).
    assert "Galactic coordinates" in d["title"] and "graticule" in d["title"]
    assert "binned.h5: binned map" in d["title"]
    assert all(x["lines"] == 17 for x in p)


def test_no_hits_and_no_clip(maps):
    d = describe(maps, "'out/binned.h5', hits=False, clip=100")
    assert [x["name"] for x in d["panels"]] == ["I", "Q", "U"]
    for x in d["panels"]:  # the full range: no arrow, no clip in the label
        assert x["extend"] == x["bar_extend"] == "neither"
        assert x["label"] == "uK_CMB"


def test_i_only_fits_map(maps):
    d = describe(maps, "'out/i.fits'")
    # The FITS map's HITS column is the hits panel, never a "Q".
    assert [x["name"] for x in d["panels"]] == ["I", "hits"]
    assert d["panels"][1]["norm"] == "LogNorm"
    assert d["panels"][0]["cmap"] == "viridis"
    assert d["panels"][0]["label"].startswith("uK_CMB, clipped")
    assert "i.fits: binned map" in d["title"] and "Galactic coordinates" in d["title"]


def test_healpy_files(tmp_path):
    nside = 8
    npix = hp.nside2npix(nside)
    theta, phi = hp.pix2ang(nside, np.arange(npix))
    ring = np.array([100.0 * np.cos(theta), 10.0 * np.sin(phi), -10.0 * np.sin(phi)])
    ring[:, theta > 2.8] = hp.UNSEEN  # the south cap unobserved
    nest = hp.reorder(ring, r2n=True)
    hp.write_map(str(tmp_path / "nest.fits"), nest, nest=True, coord="C",
                 column_units="mK_CMB", dtype=np.float64)
    hp.write_map(str(tmp_path / "one.fits"), ring[0], dtype=np.float32)
    d = describe(tmp_path, "'nest.fits'")
    assert d["axes_titles"] == ["I", "Q", "U"]  # TEMPERATURE, Q_/U_POLARISATION; no hits
    assert "Equatorial coordinates" in d["title"] and "NEST order" in d["title"]
    assert [x["label"].split(",")[0] for x in d["panels"]] == ["mK_CMB"] * 3
    seen = int(np.sum(ring[0] != hp.UNSEEN))
    assert f"{seen} of {npix} pixels observed" in d["title"]
    # The ordering is honoured: the values drawn are the RING map's.
    out = run_python("""
        import numpy as np
        from tod2map.plot import map_figure
        fig = map_figure("nest.fits", xsize=100)
        np.save("drawn.npy", np.array([p.values for p in fig.panels]))
        """, tmp_path)
    drawn = np.load(tmp_path / "drawn.npy")
    expected = np.where(ring == hp.UNSEEN, np.nan, ring)
    np.testing.assert_array_equal(drawn, expected)
    d = describe(tmp_path, "'one.fits'")  # float32 UNSEEN is still grey
    assert [x["name"] for x in d["panels"]] == ["I"]
    assert d["panels"][0]["label"].startswith("no units")
    assert f"{seen} of {npix} pixels observed" in d["title"]
    assert "coordinate frame not stated" in d["title"]


def test_diff_of_a_map_with_itself_is_zero(maps):
    d = describe(maps, "'out/binned.h5', diff='out/binned.h5'")
    p = d["panels"]
    assert [x["name"] for x in p] == ["I - binned.h5", "Q - binned.h5", "U - binned.h5",
                                      "hits of binned.h5"]
    for x in p[:3]:
        assert x["cmap"] == "RdBu_r" and x["n"] > 1000 and x["absmax"] == 0.0
        assert x["vmin"] == -x["vmax"] and x["extend"] == "neither"
    assert "binned.h5 minus binned.h5" in d["title"]


def test_diff_binned_destriped_and_minus_sky(maps):
    d = describe(maps, "'out/binned.h5', diff='out/destriped.h5', hits=False")
    assert [x["name"] for x in d["panels"]] == ["I - destriped.h5", "Q - destriped.h5",
                                                "U - destriped.h5"]
    for x in d["panels"]:  # differences: diverging, symmetric, clipped
        assert x["cmap"] == "RdBu_r" and x["vmin"] == -x["vmax"] and x["extend"] != "neither"
    binned = describe(maps, "'out/binned.h5', minus='data/sky.fits', remove_monopole=True")
    destriped = describe(maps, "'out/destriped.h5', minus='data/sky.fits', "
                               "remove_monopole=True")
    for d in (binned, destriped):
        names = [x["name"] for x in d["panels"]]
        assert names[0].startswith("I - sky (mean ") and names[0].endswith(" uK_CMB removed)")
        assert names[1:] == ["Q - sky", "U - sky", f"hits of {d['title'].split(' ')[0]}"]
        assert "minus the input sky sky.fits" in d["title"]
        assert all(x["cmap"] == "RdBu_r" and x["vmin"] == -x["vmax"] for x in d["panels"][:3])
    # 1/f noise: the binned map's residual (the stripes) is larger than the destriped one's.
    for b, s in zip(binned["panels"][:3], destriped["panels"][:3]):
        assert b["rms"] > 2 * s["rms"] > 0, (b["rms"], s["rms"])


def sky32(folder):
    """The simulated sky at nside 32 (the maps' is 16), as healpy writes it."""
    path = folder / "sky32.fits"
    if not path.exists():
        sky = np.array(hp.read_map(str(folder / "data" / "sky.fits"), field=None))
        hp.write_map(str(path), hp.ud_grade(sky, 32), coord="G",
                     column_names=["I_STOKES", "Q_STOKES", "U_STOKES"], column_units="uK_CMB",
                     dtype=np.float64)
    return path.name


def test_minus_a_sky_of_another_nside(maps):
    d = describe(maps, f"'out/binned.h5', minus='{sky32(maps)}'")
    assert "sky32.fits degraded from nside 32 to 16 (healpy.ud_grade)" in d["title"]
    assert [x["name"] for x in d["panels"]][:3] == ["I - sky", "Q - sky", "U - sky"]
    # An I map minus an IQU sky uses its I.
    d = describe(maps, "'out/i.fits', minus='data/sky.fits'")
    assert [x["name"] for x in d["panels"]] == ["I - sky", "hits of i.fits"]


def clean_env():
    """The environment without the MPI launcher's variables (as conftest.run_python)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OMPI_", "PMIX_", "PRTE_", "OPAL_"))}
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return env


def plot_command(folder, *args):
    if importlib.util.find_spec("tod2map") is None:
        pytest.skip("the tod2map module is not on PYTHONPATH (run through ctest)")
    return subprocess.run([sys.executable, "-m", "tod2map", "plot", *args], cwd=folder,
                          env=clean_env(), capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("args, message", [
    (["out/binned.h5", "--minus", "out/i.fits"],
     "--minus: binned.h5 has I, Q, U but i.fits has I: i.fits needs every component of "
     "binned.h5"),
    (["out/binned.h5", "--diff", "out/i.fits"],
     "--diff: binned.h5 has I, Q, U but i.fits has I: the same components are needed"),
    (["out/binned.h5", "--diff", "sky32.fits"],
     "--diff: binned.h5 has nside 16 but sky32.fits has nside 32: the same nside is needed"),
    (["out/binned.h5", "--clip", "20"], "clip 20.0: expected a percentile in (50, 100]"),
    (["data/obs_0000.fits"], "data/obs_0000.fits: not a map but a timeline file"),
])
def test_errors_are_one_line(maps, args, message):
    sky32(maps)
    proc = plot_command(maps, *args, "-o", "bad.png")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.startswith("tod2map plot: error: " + message), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (maps / "bad.png").exists()


def test_command_line(maps):
    proc = plot_command(maps, "out/destriped.h5", "--minus", "data/sky.fits", "--no-hits",
                        "--remove-monopole", "--clip", "99.5", "--xsize", "300", "-o",
                        "minus.png")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "tod2map plot: wrote minus.png"
    import matplotlib.image

    img = matplotlib.image.imread(maps / "minus.png")
    # Three panels side by side, each with coloured pixels (red and blue: a diverging map).
    rgb = img[..., :3]
    red = (rgb[..., 0] - rgb[..., 2]) > 0.3
    blue = (rgb[..., 2] - rgb[..., 0]) > 0.3
    for part_red, part_blue in zip(np.array_split(red, 3, axis=1),
                                   np.array_split(blue, 3, axis=1)):
        assert part_red.sum() > 500 and part_blue.sum() > 500
    proc = plot_command(maps, "out/binned.h5", "--diff", "out/destriped.h5", "-o", "d.pdf")
    assert proc.returncode == 0, proc.stderr
    assert (maps / "d.pdf").read_bytes().startswith(b"%PDF")
    proc = plot_command(maps, "--help")
    assert proc.returncode == 0
    for option in ("--diff", "--minus", "--no-hits", "--clip", "--remove-monopole"):
        assert option in proc.stdout
