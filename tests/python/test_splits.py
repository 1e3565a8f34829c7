"""Split maps (output.splits, issue 17 part 1).

Proves: asking for splits leaves the full map unchanged, bit for bit; each destriped split
equals a numpy reference, independent of tod2map's kernels: the timelines read with astropy,
the baselines of the full solve (output.baselines) subtracted, the split's samples binned with
healpy pixels and 3x3 solves; a binned split equals a binned run on that subset alone; a split
of every timeline is the full map; split maps agree on 1, 2 and 3 ranks; FITS output carries
SPLIT; the half-difference of two halves (Python helper and `python3 -m tod2map halfdiff`) is
(a - b) / 2; Result.splits gives the files' maps from Python; splits that name no input, select
nothing, or ask for GLS stop the run before any sample is read, with nothing written.
"""
import h5py
import healpy as hp
import numpy as np
import pytest
from astropy.io import fits

from conftest import run_python, run_tod2map, write_config

NSIDE = 16
UNSEEN = -1.6375e30

CONFIG = """
input:
  files: ["data/obs_*.fits"]
pixelization: {{nside: 16, ordering: RING, stokes: IQU}}
mapmaker: {{method: {method}, baseline_length: 10.0, min_hits: 3, min_rcond: 1.0e-6}}
solver: {{tol: 1.0e-12, maxiter: 500}}
output:
  path: {path}
  baselines: {baselines}
{splits}
simulation:
  seed: 17
  output_dir: data
  file_prefix: obs
  n_observations: 4
  observation_length: 300.0
  sample_rate: 20.0
  scan: {{type: satellite, spin_period: 6.0, spin_angle_deg: 85.0,
          precession_period: 1900.0, precession_angle_deg: 65.0}}
  focal_plane:
    - {{name: a, polang_deg: 0.0, sigma: 0.05, fknee: 0.2, alpha: 1.5}}
    - {{name: b, polang_deg: 45.0, sigma: 0.05, fknee: 0.2, alpha: 1.5}}
    - {{name: c, polang_deg: 90.0, sigma: 0.05, fknee: 0.2, alpha: 1.5}}
    - {{name: d, polang_deg: 135.0, sigma: 0.05, fknee: 0.2, alpha: 1.5}}
"""

SPLITS = """\
  splits:
    - {name: half1, to: 0.5}
    - {name: half2, from: 0.5}
    - {name: ac, detectors: [a, c]}
    - {name: obs1_bd, detectors: [b, d], observations: ["1"]}
    - {name: everything}
"""


def config(folder, method="destripe", path="out/map.h5", splits=SPLITS, baselines="true"):
    return write_config(folder, CONFIG.format(method=method, path=path, splits=splits,
                                              baselines=baselines))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("splits")
    cfg = config(folder)
    run_tod2map(["sim", cfg])
    run_tod2map(["run", cfg], cwd=folder)
    return folder, cfg


def datasets(path):
    with h5py.File(path, "r") as f:
        return {k: f[k][()] for k in ("map", "hits", "rcond", "invcov")}


def read_timelines(folder):
    """Every timeline with astropy: (obsid, detector, pixel, signal, psi + polang, poleff,
    weight, samprate)."""
    out = []
    for path in sorted((folder / "data").glob("obs_*.fits")):
        with fits.open(path) as f:
            obsid, rate = str(f[0].header["OBSID"]), f[0].header["SAMPRATE"]
            for hdu in f[1:]:
                h, d = hdu.header, hdu.data
                pix = hp.ang2pix(NSIDE, d["THETA"].astype(float), d["PHI"].astype(float))
                out.append((obsid, h["EXTNAME"], pix, d["SIGNAL"].astype(float),
                            d["PSI"].astype(float) + h["POLANG"], h["POLEFF"],
                            1.0 / h["SIGMA"] ** 2, rate))
    return out


def reference_split(timelines, baselines, keep, baseline_seconds=10.0):
    """The normal equations of the binned IQU map of d - F a over the timelines `keep` selects
    (per pixel: A^T W A, A^T W (d - F a)) and the hits."""
    npix = hp.nside2npix(NSIDE)
    ata = np.zeros((npix, 3, 3))
    atd = np.zeros((npix, 3))
    hits = np.zeros(npix, dtype=np.int64)
    for obsid, det, pix, sig, angle, poleff, w, rate in timelines:
        if not keep(det, obsid):
            continue
        chunk = int(round(baseline_seconds * rate))
        offsets = np.repeat(baselines[det][obsid], chunk)[: len(sig)]
        d = sig - offsets
        a = np.stack([np.ones_like(d), poleff * np.cos(2 * angle), poleff * np.sin(2 * angle)], 1)
        np.add.at(ata, pix, w * a[:, :, None] * a[:, None, :])
        np.add.at(atd, pix, w * a * d[:, None])
        np.add.at(hits, pix, 1)
    return ata, atd, hits


def test_full_map_is_unchanged_by_asking_for_splits(data, tmp_path):
    folder, _ = data
    plain = config(tmp_path, splits="")
    run_tod2map(["run", plain, "--set", f"output.path={tmp_path}/plain.h5",
                 "--set", f"input.files=[{folder}/data/obs_*.fits]"], cwd=folder)
    full, alone = datasets(folder / "out" / "map.h5"), datasets(tmp_path / "plain.h5")
    for k in full:
        assert np.array_equal(full[k], alone[k]), k
    assert not list(tmp_path.glob("plain_*"))  # no split files without splits


def test_each_destriped_split_equals_the_numpy_reference(data):
    folder, _ = data
    timelines = read_timelines(folder)
    with h5py.File(folder / "out" / "map.h5", "r") as f:
        baselines = {det: {o: f["baselines"][det][o][()] for o in f["baselines"][det]}
                     for det in f["baselines"]}
    obsids = sorted({t[0] for t in timelines}, key=int)
    assert obsids == ["0", "1", "2", "3"]
    selections = {
        "half1": lambda det, o: o in ("0", "1"),
        "half2": lambda det, o: o in ("2", "3"),
        "ac": lambda det, o: det in ("a", "c"),
        "obs1_bd": lambda det, o: o == "1" and det in ("b", "d"),
        "everything": lambda det, o: True,
    }
    for name, keep in selections.items():
        ata, atd, ref_hits = reference_split(timelines, baselines, keep)
        with h5py.File(folder / "out" / f"map_{name}.h5", "r") as f:
            assert f.attrs["split"] == name
            got, hits = f["map"][()], f["hits"][()]
        assert np.array_equal(hits, ref_hits), name
        shown = got[0] != UNSEEN
        # tod2map masks pixels with fewer than 3 hits or a near-singular block; all others it
        # shows, and they equal the reference.
        assert np.all(ref_hits[shown] >= 3), name
        assert shown.sum() > 0.8 * (ref_hits >= 3).sum(), name
        ref = np.linalg.solve(ata[shown], atd[shown][:, :, None])[:, :, 0].T
        scale = np.abs(ref).max()
        assert np.abs(got[:, shown] - ref).max() < 1e-9 * scale, name


def test_a_split_of_everything_is_the_full_map(data):
    folder, _ = data
    full, every = datasets(folder / "out" / "map.h5"), datasets(folder / "out" / "map_everything.h5")
    for k in full:
        assert np.array_equal(full[k], every[k]), k


def test_binned_split_equals_a_binned_run_on_the_subset(data, tmp_path):
    folder, _ = data
    files = f"input.files=[{folder}/data/obs_*.fits]"
    (tmp_path / "subset").mkdir()
    cfg = config(tmp_path, method="binned", path=f"{tmp_path}/b.h5", baselines="false")
    subset = config(tmp_path / "subset", method="binned", path=f"{tmp_path}/ac.h5", splits="",
                    baselines="false")
    run_tod2map(["run", cfg, "--set", files], cwd=tmp_path)
    run_tod2map(["run", subset, "--set", files, "--set", "input.detectors=[a, c]"], cwd=tmp_path)
    split, alone = datasets(tmp_path / "b_ac.h5"), datasets(tmp_path / "ac.h5")
    for k in split:
        assert np.allclose(split[k], alone[k], rtol=1e-12, atol=0), k


def test_split_maps_agree_on_1_2_3_ranks(data, tmp_path):
    folder, cfg = data
    for ranks in (2, 3):
        run_tod2map(["run", cfg, "--set", f"output.path={tmp_path}/r{ranks}.h5"], ranks=ranks,
                    cwd=folder)
        for name in ("half1", "ac", "obs1_bd"):
            one = datasets(folder / "out" / f"map_{name}.h5")
            many = datasets(tmp_path / f"r{ranks}_{name}.h5")
            assert np.array_equal(one["hits"], many["hits"]), (ranks, name)
            seen = one["map"] != UNSEEN
            assert np.array_equal(seen, many["map"] != UNSEEN), (ranks, name)
            diff = np.abs(one["map"][seen] - many["map"][seen]).max()
            assert diff < 1e-10 * np.abs(one["map"][seen]).max(), (ranks, name, diff)


def test_fits_split_maps_carry_their_name(data, tmp_path):
    folder, cfg = data
    run_tod2map(["run", cfg, "--set", f"output.path={tmp_path}/m.fits"], cwd=folder)
    with fits.open(tmp_path / "m_half2.fits") as f:
        assert f[1].header["SPLIT"] == "half2"
    fits_map = hp.read_map(tmp_path / "m_half2.fits", field=(0, 1, 2))
    assert np.array_equal(fits_map, datasets(folder / "out" / "map_half2.h5")["map"])


def test_half_difference_from_python_and_the_command_line(data):
    folder, _ = data
    out = run_python("""
        import numpy as np, healpy as hp, tod2map, h5py, subprocess, sys
        d = tod2map.half_difference("out/map_half1.h5", "out/map_half2.h5")
        a, b = (h5py.File(f"out/map_{n}.h5", "r")["map"][()] for n in ("half1", "half2"))
        both = (a != tod2map.UNSEEN) & (b != tod2map.UNSEEN)
        assert np.array_equal(d[both], 0.5 * (a[both] - b[both]))
        assert np.all(d[~both] == tod2map.UNSEEN)
        subprocess.run([sys.executable, "-m", "tod2map", "halfdiff", "out/map_half1.h5",
                        "out/map_half2.h5", "-o", "out/hd.fits"], check=True)
        m, h = hp.read_map("out/hd.fits", field=None, h=True)
        h = dict(h)
        assert np.array_equal(m, d)
        print(h["TTYPE1"], h["TUNIT1"], h["COORDSYS"], both.sum())
        """, folder)
    ttype, tunit, coordsys, n = out.splitlines()[-1].split()
    assert (ttype, tunit, coordsys) == ("I", "uK_CMB", "G") and int(n) > 1000


def test_result_splits_from_python(data):
    folder, cfg = data
    out = run_python(f"""
        import numpy as np, h5py, tod2map
        r = tod2map.run(tod2map.load_config("{cfg}"), write=False)
        assert sorted(r.splits) == ["ac", "everything", "half1", "half2", "obs1_bd"]
        for name, s in r.splits.items():
            with h5py.File(f"out/map_{{name}}.h5", "r") as f:
                assert s.split == name
                assert np.array_equal(np.asarray(s.map), f["map"][()]), name
                assert np.array_equal(np.asarray(s.hits), f["hits"][()]), name
        print(r.split == "", r.splits["half1"].samples_used, r.samples_used)
        """, folder)
    full_is_unnamed, half, whole = out.splitlines()[-1].split()
    assert full_is_unnamed == "True" and 2 * int(half) == int(whole)


@pytest.mark.parametrize("splits, words", [
    ("  splits: [{name: x, detectors: [z]}]",
     "output.splits[0] ('x'): detector 'z' is not in the input (detectors: a, b, c, d)"),
    ("  splits: [{name: x, observations: ['9']}]",
     "output.splits[0] ('x'): observation '9' is not in the input (OBSIDs: 0, 1, 2, 3)"),
    ("  splits: [{name: x, observations: ['0'], from: 0.5}]",
     "output.splits[0] ('x'): selects no timeline of the input"),
])
def test_splits_that_select_nothing_stop_before_reading(data, tmp_path, splits, words):
    folder, _ = data
    cfg = config(tmp_path, splits=splits)
    proc = run_tod2map(["run", cfg, "--set", f"input.files=[{folder}/data/obs_*.fits]"],
                       ranks=2, cwd=tmp_path, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "pointing:" not in proc.stdout
    assert proc.stderr.startswith("tod2map run: error: " + words), proc.stderr
    assert not list(tmp_path.glob("out/*"))


@pytest.mark.parametrize("method, splits, words", [
    ("gls", SPLITS, "output.splits: split maps are made by methods binned and destripe, not gls"),
    ("destripe", "  splits: [{name: a}, {name: a}]", "output.splits[1].name: split name 'a' is "
                                                      "used twice"),
    ("destripe", "  splits: [{name: a/b}]", "output.splits[0].name: 'a/b' is not a split name"),
    ("destripe", "  splits: [{detectors: [a]}]", "output.splits[0].name: missing (every split "
                                                  "needs a name)"),
    ("destripe", "  splits: [{name: a, from: 0.5, to: 0.5}]", "output.splits[0].to: 0.5 is not "
                                                              "above from (0.5)"),
    ("destripe", "  splits: [{name: a, detector: [a]}]",
     "key output.splits[0].detector: unknown key (did you mean 'output.splits[0].detectors'?)"),
])
def test_bad_splits_are_config_errors(tmp_path, method, splits, words):
    cfg = config(tmp_path, method=method, splits=splits)
    proc = run_tod2map(["run", cfg], cwd=tmp_path, check=False)
    assert proc.returncode != 0
    assert words in proc.stderr, proc.stderr
    assert not list(tmp_path.glob("out/*"))
