"""Noise Monte Carlo (monte_carlo section, `tod2map run --mc N`; issue 17 part 2).

Proves: --mc N writes N noise maps <stem>_mcNNNN (and each split's), with the map's hits,
rcond and invcov, after the map itself, which they leave unchanged bit for bit; a realization
made alone (monte_carlo.first) equals the same one made in a batch, bit for bit on the same
ranks and to 1e-10 on 3 ranks; the noise maps have the noise of the data: their rms matches the
residual (map - input sky) of the simulated data within 10% for destriped 1/f noise, and for
binned white noise each pixel's noise, normalised by the pixel's white-noise covariance, has
unit variance; requests that cannot work (no noise, no written output, a bad count) stop before
any work.
"""
import h5py
import healpy as hp
import numpy as np
import pytest

from conftest import run_python, run_tod2map, write_config

UNSEEN = -1.6375e30

CONFIG = """
input:
  files: ["data/obs_*.fits"]
pixelization: {{nside: 16, ordering: RING, stokes: IQU}}
mapmaker: {{method: {method}, baseline_length: 1.0, min_hits: 3, min_rcond: 1.0e-3}}
solver: {{tol: 1.0e-10, maxiter: 1000}}
output:
  path: out/map.h5
  splits: [{{name: half1, to: 0.5}}, {{name: everything}}]
simulation:
  seed: 23
  output_dir: data
  n_observations: 4
  observation_length: 300.0
  sample_rate: 20.0
  correlated_noise: {correlated}
  scan: {{type: satellite, spin_period: 6.0, spin_angle_deg: 85.0,
          precession_period: 1900.0, precession_angle_deg: 65.0}}
  focal_plane:
    - {{name: a, polang_deg: 0.0, sigma: 1.0, fknee: 0.5, alpha: 2.0}}
    - {{name: b, polang_deg: 45.0, sigma: 1.0, fknee: 0.5, alpha: 2.0}}
    - {{name: c, polang_deg: 90.0, sigma: 1.0, fknee: 0.5, alpha: 2.0}}
    - {{name: d, polang_deg: 135.0, sigma: 1.0, fknee: 0.5, alpha: 2.0}}
"""

N_MC = 6


def make(folder, method="destripe", correlated=True):
    folder.mkdir(parents=True, exist_ok=True)
    cfg = write_config(folder, CONFIG.format(method=method, correlated=str(correlated).lower()))
    run_tod2map(["sim", cfg])
    return cfg


def read(path, *names):
    with h5py.File(path, "r") as f:
        return [f[n][()] for n in names]


def rms_without_monopole(m):
    seen = m[0] != UNSEEN
    r = m[:, seen].copy()
    r[0] -= r[0].mean()  # destriping does not measure the I monopole
    return np.sqrt(np.mean(r**2))


@pytest.fixture(scope="module")
def destriped(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mc")
    cfg = make(folder)
    proc = run_tod2map(["run", cfg, "--mc", str(N_MC)], cwd=folder)
    return folder, cfg, proc


def test_mc_writes_noise_maps_after_an_unchanged_map(destriped, tmp_path):
    folder, cfg, proc = destriped
    out = folder / "out"
    assert sorted(p.name for p in out.glob("map_mc*")) == sorted(
        [f"map_mc{k:04d}.h5" for k in range(N_MC)] +
        [f"map_mc{k:04d}_{s}.h5" for k in range(N_MC) for s in ("half1", "everything")])
    assert f"monte carlo: {N_MC} noise maps (realizations 0 to {N_MC - 1})" in proc.stdout
    assert "monte carlo: per map" in proc.stdout
    hits, rcond, invcov = read(out / "map.h5", "hits", "rcond", "invcov")
    for k in range(N_MC):
        m, h, r, c, res = read(out / f"map_mc{k:04d}.h5", "map", "hits", "rcond", "invcov",
                               "solver/residuals")
        assert np.array_equal(h, hits) and np.array_equal(r, rcond) and np.array_equal(c, invcov)
        assert res[-1] <= 1e-10
        every, = read(out / f"map_mc{k:04d}_everything.h5", "map")
        assert np.array_equal(every, m)
    # The map itself is the one a run without --mc makes.
    run_tod2map(["run", cfg, "--set", f"output.path={tmp_path}/plain.h5",
                 "--set", f"input.files=[{folder}/data/obs_*.fits]"], cwd=tmp_path)
    assert np.array_equal(read(out / "map.h5", "map")[0], read(tmp_path / "plain.h5", "map")[0])
    # Realizations differ.
    a, b = (read(out / f"map_mc{k:04d}.h5", "map")[0] for k in (0, 1))
    seen = a[0] != UNSEEN
    assert np.abs(a[:, seen] - b[:, seen]).max() > 0.1 * rms_without_monopole(a)


def test_a_realization_alone_equals_it_in_a_batch(destriped, tmp_path):
    folder, cfg, _ = destriped
    files = f"input.files=[{folder}/data/obs_*.fits]"
    batch, = read(folder / "out" / "map_mc0004.h5", "map")
    batch_half, = read(folder / "out" / "map_mc0004_half1.h5", "map")
    run_tod2map(["run", cfg, "--set", files, "--set", f"output.path={tmp_path}/one.h5",
                 "--set", "monte_carlo.first=4", "--mc", "1"], cwd=tmp_path)
    assert sorted(p.name for p in tmp_path.glob("one_mc*")) == [
        "one_mc0004.h5", "one_mc0004_everything.h5", "one_mc0004_half1.h5"]
    assert np.array_equal(read(tmp_path / "one_mc0004.h5", "map")[0], batch)
    assert np.array_equal(read(tmp_path / "one_mc0004_half1.h5", "map")[0], batch_half)
    run_tod2map(["run", cfg, "--set", files, "--set", f"output.path={tmp_path}/three.h5",
                 "--set", "monte_carlo.first=4", "--mc", "1"], ranks=3, cwd=tmp_path)
    three, = read(tmp_path / "three_mc0004.h5", "map")
    seen = batch != UNSEEN
    assert np.array_equal(seen, three != UNSEEN)
    assert np.abs(three[seen] - batch[seen]).max() < 1e-10 * np.abs(batch[seen]).max()


def test_noise_maps_have_the_noise_of_the_data(destriped):
    folder, _, _ = destriped
    m, = read(folder / "out" / "map.h5", "map")
    sky = np.array(hp.read_map(str(folder / "data" / "sky.fits"), field=(0, 1, 2)))
    seen = m[0] != UNSEEN
    residual = np.full_like(m, UNSEEN)
    residual[:, seen] = m[:, seen] - sky[:, seen]
    data_rms = rms_without_monopole(residual)
    mc_rms = np.mean([rms_without_monopole(read(folder / "out" / f"map_mc{k:04d}.h5", "map")[0])
                      for k in range(N_MC)])
    assert 0.9 < mc_rms / data_rms < 1.1, (mc_rms, data_rms)


def test_binned_white_noise_maps_follow_the_pixel_covariance(tmp_path):
    cfg = make(tmp_path, method="binned", correlated=False)
    run_tod2map(["run", cfg, "--mc", "4", "--set", "monte_carlo.correlated_noise=false"],
                ranks=2, cwd=tmp_path)
    invcov, = read(tmp_path / "out" / "map.h5", "invcov")
    z = []
    for k in range(4):
        m, = read(tmp_path / "out" / f"map_mc{k:04d}.h5", "map")
        seen = m[0] != UNSEEN
        ii, iq, iu, qq, qu, uu = invcov[:, seen]
        blocks = np.array([[ii, iq, iu], [iq, qq, qu], [iu, qu, uu]]).transpose(2, 0, 1)
        cov = np.linalg.inv(blocks)
        z.append(m[:, seen].T / np.sqrt(np.diagonal(cov, axis1=1, axis2=2)))
    z = np.concatenate(z)
    assert abs(np.mean(z)) < 0.05
    assert 0.95 < np.var(z) < 1.05, np.var(z)


@pytest.mark.parametrize("args, words", [
    (["--mc", "-1"], "key monte_carlo.count: expected an integer >= 0"),
    (["--mc", "2", "--set", "monte_carlo.white_noise=false", "--set",
      "monte_carlo.correlated_noise=false"],
     "key monte_carlo.count: 2 noise maps with white_noise and correlated_noise both false"),
    (["--mc"], "--mc needs the number of noise maps"),
])
def test_bad_monte_carlo_requests_stop_before_any_work(destriped, tmp_path, args, words):
    _, cfg, _ = destriped
    proc = run_tod2map(["run", cfg, "--set", f"output.path={tmp_path}/x.h5"] + args,
                       check=False, cwd=tmp_path)
    assert proc.returncode != 0
    assert words in proc.stderr, proc.stderr
    assert not list(tmp_path.glob("x*"))


def test_python_run_without_writing_refuses_noise_maps(destriped):
    folder, cfg, _ = destriped
    out = run_python(f"""
        import tod2map
        config = tod2map.load_config("{cfg}", ["monte_carlo.count=2"])
        try:
            tod2map.run(config, write=False)
        except ValueError as e:
            print("ValueError:", e)
        """, folder)
    assert ("ValueError: monte_carlo.count: 2 noise maps are asked for, but this call writes no "
            "map files") in out
