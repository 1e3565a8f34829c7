"""End-to-end GLS map-making (mapmaker.method: gls) on simulated strong 1/f noise.

Proves: with f_knee 0.5 Hz and alpha 2, the GLS map's residual against the input sky is no
larger than the destriper's (with its noise prior, its best) on several independent noise
realisations (the ratios are printed); the spectra fitted with noise.psd: estimate are those
the data were simulated with (median over the timelines: f_knee and alpha within 10 %, see
below); the
noise model written with output.noise_model is the header's with noise.psd: header; 1 and 3
ranks give the same map to 1e-9.
"""
import h5py
import healpy as hp
import numpy as np
import pytest

from conftest import run_tod2map, write_config

UNSEEN = -1.6375e30

CONFIG = """
input:
  files: ["data/obs_*.fits"]
pixelization: {{nside: 16, ordering: RING, stokes: IQU}}
mapmaker: {{method: gls, baseline_length: 1.0, min_hits: 3, min_rcond: 1.0e-3,
            noise: {{psd: header, bandwidth: 1024}}}}
solver: {{tol: 1.0e-10, maxiter: 1000}}
output: {{path: out/gls.h5, noise_model: true}}
simulation:
  seed: {seed}
  output_dir: data
  n_observations: 4
  observation_length: 600.0
  sample_rate: 50.0
  scan: {{type: satellite, spin_period: 6.0, spin_angle_deg: 85.0,
          precession_period: 1900.0, precession_angle_deg: 65.0}}
  focal_plane:
    - {{name: a, polang_deg: 0.0, sigma: 1.0, fknee: 0.5, alpha: 2.0}}
    - {{name: b, polang_deg: 45.0, sigma: 1.0, fknee: 0.5, alpha: 2.0}}
    - {{name: c, polang_deg: 90.0, sigma: 1.0, fknee: 0.5, alpha: 2.0}}
    - {{name: d, polang_deg: 135.0, sigma: 1.0, fknee: 0.5, alpha: 2.0}}
"""

SEEDS = (21, 22, 23)


def residual_rms(folder, out):
    with h5py.File(out, "r") as f:
        m = f["map"][()]
    sky = np.array(hp.read_map(str(folder / "data" / "sky.fits"), field=(0, 1, 2)))
    seen = m[0] != UNSEEN
    r = m[:, seen] - sky[:, seen]
    r[0] -= r[0].mean()  # neither method measures the I monopole well (destriping: not at all)
    return np.sqrt(np.mean(r**2))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("gls")
    folders = []
    for seed in SEEDS:
        folder = base / f"seed{seed}"
        folder.mkdir()
        cfg = write_config(folder, CONFIG.format(seed=seed))
        run_tod2map(["sim", cfg], ranks=2)
        run_tod2map(["run", cfg], ranks=2, cwd=folder)
        run_tod2map(["run", cfg, "--set", "mapmaker.method=destripe", "--set",
                     "mapmaker.noise_prior=true", "--set", "output.path=out/destripe.h5"],
                    ranks=2, cwd=folder)
        folders.append((folder, cfg))
    return folders


def test_gls_residual_is_no_larger_than_the_destripers(runs):
    ratios = []
    for folder, _ in runs:
        gls = residual_rms(folder, folder / "out" / "gls.h5")
        destripe = residual_rms(folder, folder / "out" / "destripe.h5")
        ratios.append(gls / destripe)
    print("GLS / destriped residual rms per realisation:", ", ".join(f"{r:.4f}" for r in ratios),
          f"(mean {np.mean(ratios):.4f})")
    assert np.mean(ratios) <= 1.0, ratios
    assert max(ratios) <= 1.02, ratios


def test_converges_and_writes_the_header_noise_model(runs):
    folder, _ = runs[0]
    with h5py.File(folder / "out" / "gls.h5", "r") as f:
        assert f.attrs["method"] in ("gls", b"gls")
        models = {(d, o): f["noise_model"][d][o][()] for d in f["noise_model"]
                  for o in f["noise_model"][d]}
        residuals = f["solver/residuals"][()]
    assert len(models) == 16
    for v in models.values():
        np.testing.assert_array_equal(v, [1.0, 0.5, 2.0])
    assert residuals[-1] <= 1e-10


def test_estimated_spectra_match_the_simulated_ones(runs):
    folder, cfg = runs[0]
    run_tod2map(["run", cfg, "--set", "mapmaker.noise.psd=estimate", "--set",
                 "output.path=out/estimate.h5"], ranks=2, cwd=folder)
    with h5py.File(folder / "out" / "estimate.h5", "r") as f:
        fits = np.array([f["noise_model"][d][o][()] for d in f["noise_model"]
                         for o in f["noise_model"][d]])
    sigma, fknee, alpha = np.median(fits, axis=0)
    print(f"median fitted sigma {sigma:.4f}, fknee {fknee:.4f} Hz, alpha {alpha:.4f}")
    # On noise alone the fit is within 2 % (tests/unit/test_psd_estimate.cpp). Here the residual
    # of a map also holds that map's noise: after one refit (the residual of a GLS map made
    # with the binned map's too-red fit) f_knee came out 12 % high; after the second, made with
    # a nearly right model, 6 % low with alpha 6.5 % high (the residual lacks the map's own
    # noise, N - P M P^T). On 3600 s observations both are within 1 %. The issue asks for 10 %.
    assert abs(sigma - 1.0) < 0.02
    assert abs(fknee - 0.5) < 0.05
    assert abs(alpha - 2.0) < 0.2
    # The map made with the fitted spectra is as good as with the true ones, within 1 %.
    assert residual_rms(folder, folder / "out" / "estimate.h5") <= \
        1.01 * residual_rms(folder, folder / "out" / "gls.h5")


def test_rank_counts_agree(runs):
    folder, cfg = runs[0]
    maps = {}
    for ranks in (1, 3):
        out = f"out/gls_np{ranks}.h5"
        run_tod2map(["run", cfg, "--set", f"output.path={out}"], ranks=ranks, cwd=folder)
        with h5py.File(folder / out, "r") as f:
            maps[ranks] = f["map"][()]
    with h5py.File(folder / "out" / "gls.h5", "r") as f:
        maps[2] = f["map"][()]
    seen = maps[2][0] != UNSEEN
    scale = np.abs(maps[2][:, seen]).max()
    for ranks in (1, 3):
        assert (maps[ranks][0] != UNSEEN).tolist() == seen.tolist()
        assert np.abs(maps[ranks][:, seen] - maps[2][:, seen]).max() <= 1e-9 * scale


def test_noise_maps_use_the_data_maps_fitted_noise_model(runs):
    """With noise.psd: estimate, the Monte Carlo noise maps are made with the N^-1 fitted to the
    data, once: not refitted to each realization's noise."""
    folder, cfg = runs[0]
    proc = run_tod2map(["run", cfg, "--set", "mapmaker.noise.psd=estimate", "--set",
                        "output.path=out/mc.h5", "--mc", "2"], ranks=2, cwd=folder)
    assert proc.stdout.count("noise fitted to the binned map's residual") == 1, proc.stdout
    for k in range(2):
        with h5py.File(folder / "out" / f"mc_mc000{k}.h5", "r") as f:
            m = f["map"][()]
        seen = m[0] != UNSEEN
        assert seen.sum() > 0.5 * m.shape[1]
        # Noise only: white sigma 1 per sample, a few hundred hits per pixel.
        assert 0.01 < np.std(m[1:, seen]) < 1.0
