"""The building blocks on numpy data made in the test (no files): Timeline, MapMaker, Result,
DistributedMap, map writing. Run by ctest serially and under mpiexec -n 2.

Proves: the binned map of numpy timelines equals a numpy reference (3x3 block solve per pixel
over all ranks' samples) to 1e-10, with hits, invcov and rcond; destriping recovers a sky from
data with piecewise-constant offsets to 1e-8 where the binned map is off by the offsets; pixel
pointing gives the angle-pointing map bit for bit and NEST the RING map reordered; flagged and
non-finite samples count as the reader counts them and drop out exactly; timelines held by one
rank give the distributed map; Result.write files read back (read_map, healpy) equal the
gathered map; maps on COMM_SELF and on split communicators involve only their ranks; bad
arrays, options and pixels raise ValueError/TypeError naming what is wrong, on every rank when
one rank's input is bad.
"""
import os
import shutil
import tempfile

import healpy as hp
import numpy as np
import pytest
from mpi4py import MPI

import tod2map

COMM = MPI.COMM_WORLD
NSIDE = 8
NPIX = 12 * NSIDE**2
UNSEEN = tod2map.UNSEEN
SAMPRATE = 10.0

tod2map.set_quiet(True)


def on_root(check):
    """Runs check() on rank 0 and raises its failure on every rank, so that no rank goes on
    to the next collective call alone."""
    error = None
    if COMM.rank == 0:
        try:
            check()
        except AssertionError as e:
            error = str(e) or repr(e)
    error = COMM.bcast(error)
    if error:
        raise AssertionError(error)


def sky():
    """The same random IQU sky on every rank."""
    return np.random.default_rng(99).normal(size=(3, NPIX)) * np.array([[10.0], [2.0], [2.0]])


def samples(seed, n=20000, polang=0.0):
    """Random pointing over the sphere (so every pixel is well conditioned) and the sky's
    signal: d = I + Q cos 2(psi+polang) + U sin 2(psi+polang)."""
    rng = np.random.default_rng(seed)
    theta = np.arccos(rng.uniform(-1, 1, n))
    phi = rng.uniform(0, 2 * np.pi, n)
    psi = rng.uniform(0, np.pi, n)
    pix = hp.ang2pix(NSIDE, theta, phi)
    m = sky()
    ang = 2 * (psi + polang)
    signal = m[0, pix] + m[1, pix] * np.cos(ang) + m[2, pix] * np.sin(ang)
    return dict(theta=theta, phi=phi, psi=psi, signal=signal, pix=pix)


def local_timelines(noise=0.0, offsets=0.0):
    """Two timelines per rank (different seeds, sigmas and polarization angles)."""
    out = []
    for k in range(2):
        seed = 10 * COMM.rank + k
        polang = 0.3 * k
        s = samples(seed, polang=polang)
        rng = np.random.default_rng(1000 + seed)
        d = s["signal"] + noise * rng.normal(size=len(s["signal"]))
        if offsets:
            # One constant per 1 s baseline (SAMPRATE samples), as the destriper models.
            nb = -(-len(d) // int(SAMPRATE))
            d = d + np.repeat(offsets * rng.normal(size=nb), int(SAMPRATE))[: len(d)]
        out.append((tod2map.Timeline(d, s["psi"], s["theta"], s["phi"], sigma=1.0 + k,
                                     samprate=SAMPRATE, detector=f"d{k}", obsid=str(COMM.rank),
                                     polang=polang), s, d))
    return out


def reference_binned(parts):
    """Binned IQU map, hits, blocks from every rank's samples, in numpy."""
    A = np.zeros((NPIX, 3, 3))
    b = np.zeros((NPIX, 3))
    hits = np.zeros(NPIX, dtype=np.int64)
    for tl, s, d in (p for rank_parts in COMM.allgather(parts) for p in rank_parts):
        w = 1.0 / tl[0] ** 2
        ang = 2 * (s["psi"] + tl[1])
        P = np.stack([np.ones_like(ang), np.cos(ang), np.sin(ang)], axis=1)
        np.add.at(A, s["pix"], w * P[:, :, None] * P[:, None, :])
        np.add.at(b, s["pix"], w * P * d[:, None])
        hits += np.bincount(s["pix"], minlength=NPIX)
    return np.linalg.solve(A, b[:, :, None])[:, :, 0].T, hits, A


def picklable(local):
    return [((t.sigma, t.polang), s, d) for t, s, d in local]


def test_binned_equals_numpy_reference():
    local = local_timelines(noise=0.5)
    r = tod2map.MapMaker([t for t, _, _ in local], nside=NSIDE, min_hits=1, min_rcond=1e-6,
                         comm=COMM).binned()
    ref_map, ref_hits, A = reference_binned(picklable(local))
    full = r.map.gather(root=0)
    hits = r.hits.gather(root=0)
    invcov = r.invcov.gather(root=0)
    rcond = r.rcond.gather(root=0)

    def check():
        assert np.array_equal(hits, ref_hits)
        np.testing.assert_allclose(full, ref_map, rtol=0, atol=1e-10 * np.abs(ref_map).max())
        iu = np.triu_indices(3)
        packed = A[:, iu[0], iu[1]].T  # II IQ IU QQ QU UU
        np.testing.assert_allclose(invcov, packed, rtol=0, atol=1e-12 * np.abs(packed).max())
        eig = np.linalg.eigvalsh(A)
        np.testing.assert_allclose(rcond, eig[:, 0] / eig[:, -1], rtol=1e-6)

    on_root(check)
    assert r.samples == COMM.allreduce(sum(len(t) for t, _, _ in local))
    assert r.iterations == 1 and r.residuals[-1] < 1e-10  # the block-solve check step


def test_destripe_recovers_sky_under_offsets():
    local = local_timelines(offsets=5.0)
    mm = tod2map.MapMaker([t for t, _, _ in local], nside=NSIDE, min_hits=1, comm=COMM)
    destriped = mm.destripe(tol=1e-13, maxiter=1000)
    binned = mm.binned()
    truth = sky()
    err = {}
    for name, r in (("destripe", destriped), ("binned", binned)):
        m = r.map.gather(root=0)
        if COMM.rank == 0:
            d = m - truth
            d[0] -= d[0].mean()  # the I monopole is not measured by destriping
            err[name] = np.abs(d).max()
    err = COMM.bcast(err)
    assert destriped.converged
    assert err["destripe"] < 1e-8 * np.abs(truth).max(), err
    assert err["binned"] > 0.1, err


def test_gls_with_white_noise_is_the_binned_map_and_reports_its_noise_model():
    # The timelines carry no FKNEE: GLS's N^-1 is then diagonal, and its map the binned one.
    local = local_timelines(noise=0.5)
    mm = tod2map.MapMaker([t for t, _, _ in local], nside=NSIDE, min_hits=1, comm=COMM)
    gls = mm.gls(tol=1e-12, noise_model=True)
    binned = mm.binned()
    assert gls.method == "gls" and gls.converged and gls.iterations <= 2
    a, b = gls.map.gather(root=0), binned.map.gather(root=0)
    on_root(lambda: np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * np.abs(b).max()))
    # Every rank lists every timeline's dataset (as the file's writer needs), valued on its own.
    models = gls.noise_model
    assert sorted(models) == sorted(f"noise_model/d{k}/{r}" for k in range(2)
                                    for r in range(COMM.size))
    for name, value in models.items():
        mine = name.endswith(f"/{COMM.rank}")
        expect = [1.0 + int(name.split("/")[1][1]), 0.0, 1.0] if mine else []
        np.testing.assert_array_equal(value, expect)
    assert gls.baselines == {}


def test_pixel_pointing_and_nest_ordering():
    local = local_timelines(noise=0.3)
    by_angle = tod2map.MapMaker([t for t, _, _ in local], nside=NSIDE, min_hits=1, comm=COMM)
    pix_timelines = [tod2map.Timeline(t.signal, t.psi, pixel=s["pix"], nside=NSIDE,
                                      ordering="RING", sigma=t.sigma, samprate=SAMPRATE,
                                      polang=t.polang) for t, s, _ in local]
    by_pixel = tod2map.MapMaker(pix_timelines, nside=NSIDE, min_hits=1, comm=COMM)
    a = by_angle.binned().map.gather(root=0)
    b = by_pixel.binned().map.gather(root=0)
    nest = by_angle.binned(ordering="NEST").map.gather(root=0)
    assert by_angle.binned(ordering="NEST").ordering == "NEST"

    def check():
        assert np.array_equal(a, b)
        np.testing.assert_allclose(hp.reorder(nest, n2r=True), a, rtol=0,
                                   atol=1e-12 * np.abs(a).max())

    on_root(check)


def test_flagged_and_nonfinite_samples_drop_out():
    local = local_timelines(noise=0.3)
    flagged, cleaned = [], []
    expect_flagged = expect_nonfinite = 0
    for t, s, d in local:
        n = len(t)
        flags = np.zeros(n, dtype=np.int32)
        flags[::7] = 4          # flagged by the default mask 255
        flags[1::11] = 256      # outside the mask: used
        d = d.copy()
        d[3::13] = np.nan       # non-finite (and flagged where both)
        bad = (flags & 255) != 0
        expect_flagged += bad.sum()
        expect_nonfinite += (~bad & np.isnan(d)).sum()
        tl = tod2map.Timeline(d, s["psi"], s["theta"], s["phi"], sigma=t.sigma, samprate=SAMPRATE,
                              polang=t.polang, flags=flags)
        assert tl.n_flagged == bad.sum() and tl.n_nonfinite == (~bad & np.isnan(d)).sum()
        assert np.array_equal(tl.good, (~bad & np.isfinite(d)).astype(np.uint8))
        flagged.append(tl)
        keep = ~bad & np.isfinite(d)
        cleaned.append(tod2map.Timeline(d[keep], s["psi"][keep], s["theta"][keep], s["phi"][keep],
                                        sigma=t.sigma, samprate=SAMPRATE, polang=t.polang))
    # 1 in 13 samples is NaN, far above the default limit of 1% of a timeline's samples.
    with pytest.raises(ValueError, match="more than input.max_rejected_fraction = 0.01"):
        tod2map.MapMaker(flagged, nside=NSIDE, min_hits=1, comm=COMM).binned()
    r = tod2map.MapMaker(flagged, nside=NSIDE, min_hits=1, comm=COMM,
                         max_rejected_fraction=1.0).binned()
    c = tod2map.MapMaker(cleaned, nside=NSIDE, min_hits=1, comm=COMM).binned()
    assert r.samples_flagged == COMM.allreduce(int(expect_flagged))
    assert r.samples_nonfinite == COMM.allreduce(int(expect_nonfinite))
    assert r.samples_used == c.samples
    m1, m2 = r.map.gather(root=0), c.map.gather(root=0)
    on_root(lambda: np.testing.assert_array_equal(m1, m2))


def test_timelines_on_one_rank_only():
    everything = [x for part in COMM.allgather(picklable(local_timelines(noise=0.3))) for x in part]

    def make(parts):
        return [tod2map.Timeline(d, s["psi"], s["theta"], s["phi"], sigma=sig, samprate=SAMPRATE,
                                 polang=pol, detector=f"t{i}") for i, ((sig, pol), s, d) in parts]

    numbered = list(enumerate(everything))
    alone = tod2map.MapMaker(make(numbered) if COMM.rank == 0 else [], nside=NSIDE, min_hits=1,
                             comm=COMM).destripe()
    spread = tod2map.MapMaker(make(numbered[COMM.rank::COMM.size]), nside=NSIDE, min_hits=1,
                              comm=COMM).destripe()
    a, b = alone.map.gather(root=0), spread.map.gather(root=0)
    on_root(lambda: np.testing.assert_allclose(a, b, rtol=0, atol=1e-9 * np.abs(b).max()))


@pytest.fixture(scope="module")
def folder():
    path = COMM.bcast(tempfile.mkdtemp(prefix="tod2map-pymm-") if COMM.rank == 0 else None)
    yield path
    COMM.Barrier()
    if COMM.rank == 0:
        shutil.rmtree(path, ignore_errors=True)


def test_write_and_read_back(folder):
    local = local_timelines(noise=0.3)
    r = tod2map.MapMaker([t for t, _, _ in local], nside=NSIDE, stokes="IQU", min_hits=1,
                         comm=COMM).destripe(baselines=True)
    h5 = os.path.join(folder, "sub", "map.h5")
    fi = os.path.join(folder, "map.fits")
    r.write(h5)
    r.write(fi)
    full = r.map.gather(root=0)
    hits = r.hits.gather(root=0)

    def check():
        f = tod2map.read_map(h5)
        assert (f.nside, f.ordering, f.stokes, f.method) == (NSIDE, "RING", "IQU", "destripe")
        assert np.array_equal(f.map, full) and np.array_equal(f.hits, hits)
        assert np.array_equal(f.residuals, r.residuals)
        assert sorted(f.extra) == sorted(f"baselines/d{k}/{rank}" for k in range(2)
                                         for rank in range(COMM.size))
        assert np.array_equal(np.asarray(hp.read_map(fi, field=(0, 1, 2))), full)
        assert "nside" in tod2map.describe(h5)
        # The content, not the name, picks the describer; an unknown file is named in one line.
        misnamed = os.path.join(folder, "map_h5.fits")
        shutil.copyfile(h5, misnamed)
        assert tod2map.describe(misnamed) == tod2map.describe(h5).replace(h5, misnamed)
        notes = os.path.join(folder, "notes.h5")
        with open(notes, "w") as f:
            f.write("not a map\n")
        with pytest.raises(OSError, match="notes.h5: not a file tod2map reads"):
            tod2map.describe(notes)

    on_root(check)
    # Every rank lists every timeline's baselines; its own have one value per 1 s.
    for name, values in r.baselines.items():
        mine = name.endswith(f"/{COMM.rank}")
        assert len(values) == (2000 if mine else 0), name


def test_bad_inputs_raise_clear_errors():
    n = 10
    x = np.zeros(n)
    with pytest.raises(ValueError, match="psi has 9 samples, signal has 10"):
        tod2map.Timeline(x, np.zeros(9), x, x, sigma=1.0, samprate=1.0)
    with pytest.raises(ValueError, match="theta and phi, or as pixel"):
        tod2map.Timeline(x, x, sigma=1.0, samprate=1.0)
    with pytest.raises(ValueError, match="not both"):
        tod2map.Timeline(x, x, x, x, pixel=np.zeros(n, dtype=int), nside=2, sigma=1.0, samprate=1.0)
    with pytest.raises(ValueError, match="pixel 48 at sample 3 outside 0..47"):
        tod2map.Timeline(x, x, pixel=[0, 1, 2, 48, 0, 0, 0, 0, 0, 0], nside=2, sigma=1.0,
                         samprate=1.0)
    with pytest.raises(ValueError, match="signal must be 1-D"):
        tod2map.Timeline(np.zeros((2, 5)), x, x, x, sigma=1.0, samprate=1.0)
    with pytest.raises(TypeError, match="unknown option 'nsid'"):
        tod2map.MapMaker([], nsid=8, comm=COMM)
    with pytest.raises(ValueError, match="pixelization.nside"):
        tod2map.MapMaker([], nside=3, comm=COMM)
    with pytest.raises(TypeError, match="tod2map.Timeline"):
        tod2map.MapMaker([np.zeros(3)], comm=COMM)
    # One rank's timeline has a bad SIGMA: every rank raises the same ValueError.
    local = local_timelines()
    t, s, d = local[0]
    sigma = -1.0 if COMM.rank == COMM.size - 1 else 1.0
    bad = tod2map.Timeline(d, s["psi"], s["theta"], s["phi"], sigma=sigma, samprate=SAMPRATE,
                           detector="broken")
    with pytest.raises(ValueError, match="SIGMA must be a finite positive") as e:
        tod2map.MapMaker([bad], nside=NSIDE, comm=COMM).binned()
    assert len(set(COMM.allgather(str(e.value)))) == 1 and "broken" in str(e.value)
    # get: a pixel out of range on one rank fails on all, naming the pixel.
    r = tod2map.MapMaker([t for t, _, _ in local], nside=NSIDE, min_hits=1, comm=COMM).binned()
    ask = [NPIX + 5] if COMM.rank == 0 else [1, 2]
    with pytest.raises(ValueError, match=f"pixel {NPIX + 5} .*outside 0..{NPIX - 1}"):
        r.map.get(ask)
    with pytest.raises(ValueError, match="root 7 is not a rank"):
        r.map.gather(root=7)
    with pytest.raises(TypeError, match="integers"):
        r.map.get([0.5])
    # And the map is still usable afterwards (no rank left behind in a collective call).
    assert r.hits.get([0]).shape == (1,)


def test_any_communicator():
    # Each rank alone on COMM_SELF: a map of its own samples only, and get/gather on that
    # communicator (no other rank takes part).
    local = local_timelines(noise=0.3)
    r = tod2map.MapMaker([t for t, _, _ in local], nside=NSIDE, min_hits=1,
                         comm=MPI.COMM_SELF).binned()
    assert r.map.owned_range == range(0, NPIX)
    hits = np.bincount(np.concatenate([s["pix"] for _, s, _ in local]), minlength=NPIX)
    assert np.array_equal(r.hits.gather(root=0), hits)
    assert np.array_equal(r.hits.get([5, 7]), hits[[5, 7]])
    # A split communicator of the even and odd ranks.
    half = COMM.Split(COMM.rank % 2, COMM.rank)
    try:
        r = tod2map.MapMaker([t for t, _, _ in local], nside=NSIDE, min_hits=1,
                             comm=half).binned()
        assert r.samples == half.allreduce(sum(len(t) for t, _, _ in local))
    finally:
        half.Free()
