#!/usr/bin/python3
"""Destripe our timeline FITS files with libmadam (MADAM), as a side-by-side reference.

    [mpirun -n R] benchmarks/madam_driver.py --files 'GLOB' --nside N [--nside-cross N]
        --baseline-seconds S --precond diag|banded [--precond-width-min W --precond-width-max W]
        [--noise-prior] --iter-max K [--min-hits 3] [--min-rcond 1e-3] --out DIR

libmadam is not part of tod2map: it is imported at run time from the install prefix named by
TOD2MAP_LIBMADAM (lib*/libmadam.so and lib*/python3*/{site,dist}-packages/libmadam_wrapper; see
external/BUILD-NOTES.txt for how it was built). Use Debian's /usr/bin/python3 (numpy, healpy,
astropy, mpi4py).

What it does
------------
Each rank reads whole files, distributed round robin over the sorted glob. Per detector HDU:
pixels = healpy.ang2pix(nside, THETA, PHI, nest=True) (libmadam wants NESTED pixel numbers;
files with a PIXEL column are converted), pointing weights (1, eta cos 2(PSI+POLANG),
eta sin 2(PSI+POLANG)) for I, Q, U (eta = POLEFF), noise weight 1/SIGMA^2 (one per detector:
libmadam takes a single weight per detector, so SIGMA must agree across files). Samples with
FLAG & 255 != 0 (or non-finite values) get pixel -1, which is how libmadam flags samples. One
libmadam period ("pointing period") per file: the rank's files are concatenated and the start
index of each file is a period start, so baselines (base_first = S seconds, i.e.
nint(S*SAMPRATE) samples; the last baseline of a file takes the remainder) never cross files.
No coordinate rotation is done (COORDSYS is ignored).

libmadam parameters: nside_map=N, nside_cross=(--nside-cross or N), base_first=S,
fsample=SAMPRATE, kfilter=--noise-prior, iter_max=K, iter_min=0, cglimit=--cglimit (1e-30,
i.e. ||r||/||b|| < 1e-15: only convergence to round-off stops it before K iterations),
pixmode_map=pixmode_cross=2 (rcond = min/max eigenvalue of the 3x3 pixel matrix, the same
definition as tod2map's min_rcond) with pixlim_map=pixlim_cross=--min-rcond,
temperature_only=False, write_map=True, write_hits=True, nothing else written.
--precond diag: precond_width_min=max=1 (libmadam's diagonal preconditioner 1/(F^T N^-1 F),
without the prior's diagonal). --precond banded: the given widths (libmadam defaults 10/100);
libmadam builds band preconditioners only with kfilter=True and otherwise silently falls back
to the diagonal one (recorded as "effective_preconditioner" in the result).
--noise-prior: one PSD per detector, P(f) = SIGMA^2/SAMPRATE (1 + (FKNEE/f)^ALPHA) (two-sided,
per sample), tabulated on a fine log grid, with the last bin at SAMPRATE/2 set to the white
level SIGMA^2/SAMPRATE: libmadam takes the PSD at Nyquist as the white-noise plateau and
subtracts it, so its 1/f part is then exactly SIGMA^2/SAMPRATE (FKNEE/f)^ALPHA, as in tod2map's
NoisePrior. noise_weights_from_psd=False (the weights stay 1/SIGMA^2).
--min-hits H > 1: libmadam has no hit limit, so a NESTED input mask (file_inmask, hits at
nside_cross >= H) excludes those pixels from the destriping operator as tod2map does, and the
output map is masked where libmadam's hit map is < H (in madam_map.npy only; the FITS map
libmadam writes masks by rcond alone).

Outputs in DIR: madam_map.fits (libmadam's map: NESTED, float32 columns TEMPERATURE,
Q-POLARISATION, U-POLARISATION, unobserved = -1.6375e30; written by rank 1 when R > 1),
madam_hmap.fits (hits, NESTED), madam_stdout.txt (libmadam's rank-0 output, also echoed),
madam_map.npy ((3, 12 N^2) float64 I, Q, U in RING, masked pixels = healpy UNSEEN) and
madam_result.json (iterations, residual history, wall seconds of the destripe() call measured
on rank 0 after an MPI barrier, libmadam's own timers, file paths, parameters).

libmadam's cglimit (src/smadam_routines.f90, iterate_a): preconditioned CG on the baseline
amplitudes, starting from a = 0, so the first residual is r_0 = b = yba = F^T N^-1 Z d (the
destriping right-hand side). Each iteration computes rr = sum r_k^2 (the recursively updated,
unpreconditioned residual, Euclidean norm over all ranks' baselines, restricted to the baselines
inside the unflagged span of each period) and prints rr/rrinit with rrinit = ||b||^2. It stops
when rr/rrinit < cglimit and istep > iter_min, i.e. when ||r_k||/||b|| < sqrt(cglimit) (the
default cglimit = 1e-12 means ||r||/||b|| < 1e-6; tod2map's solver.tol t corresponds to
cglimit = t^2), or after iter_max iterations, or when r.z == 0; it aborts if rr/rrinit > 1e3.
The residual history in madam_result.json gives both rr/rrinit and its square root.
"""
import os
import sys

# Before numpy loads libgfortran (reference BLAS): unbuffered Fortran stdout, so libmadam's
# output is in the log file by the time destripe() returns.
os.environ.setdefault("GFORTRAN_UNBUFFERED_PRECONNECTED", "y")
# OpenMP threads per rank, unless the user chose: the cores this rank is bound to, or the
# node's cores / ranks on the node when unbound.
if "OMP_NUM_THREADS" not in os.environ:
    _local = int(os.environ.get("OMPI_COMM_WORLD_LOCAL_SIZE", os.environ.get("MPI_LOCALNRANKS", "1")))
    _cpus = len(os.sched_getaffinity(0))
    os.environ["OMP_NUM_THREADS"] = str(_cpus if _cpus < (os.cpu_count() or 1)  # bound by mpirun
                                        else max(1, _cpus // max(1, _local)))

import argparse
import ctypes
import glob
import importlib
import json
import re
import time
import traceback

import numpy as np

UNSEEN = -1.6375e30
MADAM_UNDEF = np.float32(-1.6375e30)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--files", required=True, help="glob of timeline FITS files (quote it)")
    p.add_argument("--nside", type=int, required=True)
    p.add_argument("--nside-cross", type=int, default=None, help="destriping resolution (default --nside)")
    p.add_argument("--nside-submap", type=int, default=16, help="libmadam nside_submap (default 16)")
    p.add_argument("--baseline-seconds", type=float, required=True)
    p.add_argument("--precond", choices=["diag", "banded"], required=True)
    p.add_argument("--precond-width-min", type=int, default=10)
    p.add_argument("--precond-width-max", type=int, default=100)
    p.add_argument("--noise-prior", action="store_true", help="kfilter=True with the 1/f PSDs")
    p.add_argument("--iter-max", type=int, required=True)
    p.add_argument("--cglimit", type=float, default=1e-30,
                   help="libmadam cglimit on ||r||^2/||b||^2 (default 1e-30: run iter-max iterations)")
    p.add_argument("--min-hits", type=int, default=3)
    p.add_argument("--min-rcond", type=float, default=1e-3)
    p.add_argument("--info", type=int, default=2, help="libmadam info level (>= 2 prints CG lines)")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    if a.nside_cross is None:
        a.nside_cross = a.nside
    for n, name in ((a.nside, "--nside"), (a.nside_cross, "--nside-cross"), (a.nside_submap, "--nside-submap")):
        if n < 1 or n & (n - 1):
            p.error("%s must be a power of 2" % name)
    if a.nside_cross > a.nside:
        p.error("libmadam does not support --nside-cross > --nside")
    if a.baseline_seconds <= 0 or a.iter_max < 0:
        p.error("--baseline-seconds must be > 0 and --iter-max >= 0")
    if a.precond == "diag":
        a.precond_width_min = a.precond_width_max = 1
    elif a.precond_width_min < 1 or a.precond_width_max < a.precond_width_min:
        p.error("need 1 <= --precond-width-min <= --precond-width-max")
    return a


# ----------------------------------------------------------------------------------------------
# libmadam from the install prefix


def load_libmadam(prefix):
    """Import libmadam_wrapper from the prefix, with its CDLL("libmadam.so") pointed at the
    prefix's library (the wrapper loads it by bare name, which dlopen would only find through
    LD_LIBRARY_PATH set before the process started)."""
    prefix = os.path.abspath(prefix)
    libs = []
    for libdir in ("lib", "lib64"):
        for name in ("libmadam.so", "libmadam.so.0", "libmadam.dylib"):
            path = os.path.join(prefix, libdir, name)
            if os.path.exists(path):
                libs.append(path)
    if not libs:
        raise RuntimeError("no libmadam.so under %s/lib or lib64 (TOD2MAP_LIBMADAM)" % prefix)
    libpath = libs[0]
    wrappers = []
    for pattern in ("lib*/python3*/site-packages", "lib*/python3*/dist-packages",
                    "lib*/python*/site-packages", "python", "."):
        for d in sorted(glob.glob(os.path.join(prefix, pattern))):
            if os.path.isfile(os.path.join(d, "libmadam_wrapper", "__init__.py")):
                wrappers.append(d)
    if not wrappers:
        raise RuntimeError("no libmadam_wrapper package under %s (TOD2MAP_LIBMADAM)" % prefix)
    libdir = os.path.dirname(libpath)
    os.environ["LD_LIBRARY_PATH"] = libdir + (":" + os.environ["LD_LIBRARY_PATH"]
                                              if os.environ.get("LD_LIBRARY_PATH") else "")
    ctypes.CDLL(libpath, mode=ctypes.RTLD_GLOBAL)
    sys.path.insert(0, wrappers[0])
    real_cdll = ctypes.CDLL

    class _PrefixCDLL(real_cdll):
        def __init__(self, name, *args, **kwargs):
            if name in ("libmadam.so", "libmadam.dylib"):
                name = libpath
            super().__init__(name, *args, **kwargs)

    ctypes.CDLL = _PrefixCDLL
    try:
        madam = importlib.import_module("libmadam_wrapper")
    finally:
        ctypes.CDLL = real_cdll
    if not getattr(madam, "available", False):
        raise RuntimeError("libmadam_wrapper could not load %s" % libpath)
    return madam, libpath, os.path.join(wrappers[0], "libmadam_wrapper")


# ----------------------------------------------------------------------------------------------
# Reading our timeline files


def header_float(h, key, default=None):
    if key in h:
        v = float(h[key])
        if not np.isfinite(v):
            raise ValueError("header key %s is not finite" % key)
        return v
    if default is None:
        raise KeyError("header key %s not found" % key)
    return default


def scan_file(path):
    """Headers only: sample rate, and per detector (name, nrows, sigma, fknee, alpha)."""
    from astropy.io import fits
    with fits.open(path, memmap=True) as hl:
        rate = header_float(hl[0].header, "SAMPRATE")
        dets = []
        for hdu in hl[1:]:
            if not isinstance(hdu, fits.BinTableHDU):
                continue
            h = hdu.header
            name = h.get("EXTNAME", "").strip()
            if not name:
                raise ValueError("%s: BINTABLE without EXTNAME" % path)
            dets.append((name, int(h["NAXIS2"]), header_float(h, "SIGMA"),
                         header_float(h, "FKNEE", 0.0), header_float(h, "ALPHA", 1.0)))
    if not dets:
        raise ValueError("%s: no detector tables" % path)
    return rate, dets


def read_file(path, det_index, nside, offset, nrows, timestamps, pixels, weights, signal):
    """Fill rows [offset, offset + nrows) of the local arrays from one file."""
    import healpy as hp
    from astropy.io import fits
    have_time = False
    with fits.open(path, memmap=True) as hl:
        rate = header_float(hl[0].header, "SAMPRATE")
        for hdu in hl[1:]:
            if not isinstance(hdu, fits.BinTableHDU):
                continue
            h = hdu.header
            idet = det_index[h["EXTNAME"].strip()]
            data = hdu.data
            cols = [c.upper() for c in data.columns.names]
            n = len(data)
            sl = slice(offset, offset + n)
            if "TIME" in cols and not have_time:
                timestamps[sl] = np.asarray(data["TIME"], dtype=np.float64)
                have_time = n == nrows
            psi = np.asarray(data["PSI"], dtype=np.float64)
            sig = np.asarray(data["SIGNAL"], dtype=np.float64)
            good = np.isfinite(psi) & np.isfinite(sig)
            if "FLAG" in cols:
                good &= (np.asarray(data["FLAG"]).astype(np.int64) & 255) == 0
            if "PIXEL" in cols:
                pin = np.asarray(data["PIXEL"], dtype=np.int64)
                nside_in = int(h["NSIDE"])
                nest_in = str(h.get("ORDERING", "RING")).strip().upper().startswith("NEST")
                good &= pin >= 0
                if nside_in == nside:
                    pix = pin[good] if nest_in else hp.ring2nest(nside, pin[good])
                else:
                    th, ph = hp.pix2ang(nside_in, pin[good], nest=nest_in)
                    pix = hp.ang2pix(nside, th, ph, nest=True)
            else:
                theta = np.asarray(data["THETA"], dtype=np.float64)
                phi = np.asarray(data["PHI"], dtype=np.float64)
                good &= np.isfinite(theta) & np.isfinite(phi)
                pix = hp.ang2pix(nside, theta[good], phi[good], nest=True)
            ang = 2.0 * (psi[good] + header_float(h, "POLANG", 0.0))
            eta = header_float(h, "POLEFF", 1.0)
            rows = np.flatnonzero(good) + offset
            pixels[idet, rows] = pix
            w = weights[idet]
            w[rows, 0] = 1.0
            w[rows, 1] = eta * np.cos(ang)
            w[rows, 2] = eta * np.sin(ang)
            signal[idet, rows] = sig[good]
    if not have_time:  # no TIME column: sample index / rate
        timestamps[offset:offset + nrows] = np.arange(nrows) / rate
    return rate


# ----------------------------------------------------------------------------------------------
# libmadam output


_NUM = r"[-+]?\d+\.\d*(?:[EeDd]?[-+]\d+)?"


def fortran_float(s):
    s = s.replace("D", "E").replace("d", "e")
    m = re.match(r"^([-+]?\d+\.\d*)([-+]\d+)$", s)  # ES format drops the E for |exp| > 99
    if m:
        s = m.group(1) + "E" + m.group(2)
    return float(s)


def parse_madam_log(text):
    out = {"iterations_reported": None, "rrinit": None, "history": [], "timers": {},
           "no_cg_iteration": "NO CG ITERATION" in text}
    it_re = re.compile(r"^\s*(\d+)\s+(%s)\s+(%s)\s+(%s)\s+(%s)\s+\(\s*([\d.]+)s\)\s*$"
                       % (_NUM, _NUM, _NUM, _NUM))
    for line in text.splitlines():
        m = it_re.match(line)
        if m:
            rr = fortran_float(m.group(2))
            out["history"].append({
                "iter": int(m.group(1)), "rr_over_rrinit": rr,
                "rel_residual": float(np.sqrt(rr)) if rr >= 0 else None,
                "rz2_over_rz": fortran_float(m.group(3)), "alpha": fortran_float(m.group(4)),
                "beta": fortran_float(m.group(5)), "seconds": float(m.group(6))})
            continue
        m = re.match(r"^\s*rrinit\s*=\s*(%s)" % _NUM, line)
        if m:
            out["rrinit"] = fortran_float(m.group(1))
            continue
        m = re.match(r"^\s*(\d+)\s+iteration steps", line)
        if m:
            out["iterations_reported"] = int(m.group(1))
            continue
        m = re.match(r"^\s*(\S.*?\S)\s+mean\s*=\s*(%s)\s+min\s*=\s*(%s)\s+max\s*=\s*(%s)" % (_NUM, _NUM, _NUM), line)
        if m:
            out["timers"][m.group(1)] = {"mean": float(m.group(2)), "min": float(m.group(3)),
                                         "max": float(m.group(4))}
            continue
        m = re.match(r"^\s*Total\s+(%s)\s*s\s*\(" % _NUM, line)
        if m:
            out["timers"]["Total"] = {"mean": float(m.group(1))}
    return out


def flush_fortran():
    try:
        ctypes.CDLL("libgfortran.so.5")._gfortran_flush_i4(None)
    except Exception:
        pass
    try:
        ctypes.CDLL(None).fflush(None)
    except Exception:
        pass


# ----------------------------------------------------------------------------------------------


def main(argv):
    args = parse_args(argv)
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    rank, size = comm.rank, comm.size

    prefix = os.environ.get("TOD2MAP_LIBMADAM")
    if not prefix:
        raise RuntimeError("set TOD2MAP_LIBMADAM to the libmadam install prefix")
    madam, libpath, wrapper_path = load_libmadam(prefix)

    outdir = os.path.abspath(args.out)
    files = None
    if rank == 0:
        files = sorted(glob.glob(args.files))
        os.makedirs(outdir, exist_ok=True)
        for name in ("madam_map.fits", "madam_hmap.fits", "madam_inmask.fits",
                     "madam_result.json", "madam_map.npy", "madam_stdout.txt"):
            if os.path.exists(os.path.join(outdir, name)):
                os.remove(os.path.join(outdir, name))
    files = comm.bcast(files, root=0)
    if not files:
        raise RuntimeError("no files match %r" % args.files)
    if len(files) < size:
        raise RuntimeError("%d files for %d ranks: every rank needs a file" % (len(files), size))
    my_files = files[rank::size]

    # Headers: detector list, noise parameters, sample rate (all must be global).
    scans = [scan_file(f) for f in my_files]
    info = comm.allgather([(f, s) for f, s in zip(my_files, scans)])
    detpars, rates, nrows_max, nsamp_tot = {}, set(), 0, 0
    for part in info:
        for f, (rate, dets) in part:
            rates.add(rate)
            nrows_max = max(nrows_max, max(d[1] for d in dets))
            nsamp_tot += max(d[1] for d in dets)
            for name, _, sigma, fknee, alpha in dets:
                pars = (sigma, fknee, alpha)
                old = detpars.setdefault(name, pars)
                if not np.allclose(old, pars, rtol=1e-9, atol=0):
                    raise RuntimeError("detector %s: SIGMA/FKNEE/ALPHA differ between files "
                                       "(%s in %s vs %s); libmadam takes one noise weight and "
                                       "PSD per detector" % (name, pars, f, old))
    if len(rates) != 1:
        raise RuntimeError("SAMPRATE differs between files: %s" % sorted(rates))
    fsample = rates.pop()
    dets = sorted(detpars)
    det_index = {d: i for i, d in enumerate(dets)}
    ndet, nnz = len(dets), 3
    if any(len(d) > 20 for d in dets):  # libmadam keeps 20 characters of a name
        madam_dets = ["det%05d" % i for i in range(ndet)]
    else:
        madam_dets = dets

    # Local data: the rank's files concatenated, one period per file.
    nrows = [max(d[1] for d in s[1]) for s in scans]
    periods = np.zeros(len(my_files), dtype=np.int64)
    periods[1:] = np.cumsum(nrows)[:-1]
    nsamp = int(sum(nrows))
    timestamps = np.zeros(nsamp, dtype=madam.TIMESTAMP_TYPE)
    pixels = np.full((ndet, nsamp), -1, dtype=madam.PIXEL_TYPE)
    pixweights = np.zeros((ndet, nsamp, nnz), dtype=madam.WEIGHT_TYPE)
    signal = np.zeros((ndet, nsamp), dtype=madam.SIGNAL_TYPE)
    t_read = time.time()
    for f, off, n in zip(my_files, periods, nrows):
        read_file(f, det_index, args.nside, int(off), n, timestamps, pixels, pixweights, signal)
    t_read = comm.allreduce(time.time() - t_read, op=MPI.MAX)

    detweights = np.array([1.0 / detpars[d][0] ** 2 for d in dets], dtype=np.float64)

    # Noise PSDs (only with the prior; without it libmadam needs none).
    tmin = comm.allreduce(float(timestamps.min()) if nsamp else np.inf, op=MPI.MIN)
    if args.noise_prior:
        nbase = max(1, int(round(args.baseline_seconds * fsample)))
        fa = fsample / nbase
        fmin = fsample / (16.0 * nrows_max)
        fmax = min(0.5 * fsample * (1 - 1e-9), 4.0 * fa)
        grid = np.logspace(np.log10(fmin), np.log10(fmax), 4096)
        psdfreqs = np.append(grid, 0.5 * fsample)
        psdvals = []
        for d in dets:
            sigma, fknee, alpha = detpars[d]
            white = sigma ** 2 / fsample
            if fknee <= 0 and rank == 0:
                print("madam_driver: WARNING: %s has FKNEE = 0; libmadam's prior then pins its "
                      "baselines (tod2map applies no prior to it)" % d, flush=True)
            v = white * (1.0 + (fknee / psdfreqs) ** alpha)
            v[-1] = white
            psdvals.append(v)
        psdvals = np.concatenate(psdvals)
        npsd = np.ones(ndet, dtype=np.int64)
        psdstarts = np.full(ndet, tmin - 1.0, dtype=np.float64)
    else:
        psdfreqs = np.zeros(1)
        psdvals = np.zeros(1)
        npsd = np.zeros(ndet, dtype=np.int64)
        psdstarts = np.zeros(1)

    # Hit limit: libmadam has none, so pass the pixels to keep as an input mask.
    inmask_path = None
    if args.min_hits > 1:
        shift = 2 * (int(np.log2(args.nside)) - int(np.log2(args.nside_cross)))
        p = pixels[pixels >= 0].astype(np.int64) >> shift
        hits = np.bincount(p, minlength=12 * args.nside_cross ** 2).astype(np.int64)
        del p
        total = np.zeros_like(hits) if rank == 0 else None
        comm.Reduce(hits, total, op=MPI.SUM, root=0)
        del hits
        if rank == 0:
            import healpy as hp
            inmask_path = os.path.join(outdir, "madam_inmask.fits")
            hp.write_map(inmask_path, (total >= args.min_hits).astype(np.float32), nest=True,
                         dtype=np.float32, fits_IDL=False, overwrite=True)
        inmask_path = comm.bcast(inmask_path, root=0)

    effective = "diag"
    if args.precond == "banded":
        effective = "banded" if args.noise_prior and args.precond_width_max > 1 else "diag"
        if effective == "diag" and rank == 0:
            print("madam_driver: WARNING: libmadam uses band preconditioners only with the noise "
                  "prior (kfilter); this run uses its diagonal preconditioner", flush=True)

    pars = {
        "info": args.info,
        "nside_map": args.nside,
        "nside_cross": args.nside_cross,
        "nside_submap": min(args.nside_submap, args.nside_cross),
        "base_first": repr(float(args.baseline_seconds)),
        "fsample": repr(float(fsample)),
        "kfilter": args.noise_prior,
        "diagfilter": 0,
        "precond_width_min": args.precond_width_min,
        "precond_width_max": args.precond_width_max,
        "iter_min": 0,
        "iter_max": args.iter_max,
        "cglimit": repr(float(args.cglimit)),
        "pixmode_map": 2,
        "pixmode_cross": 2,
        "pixlim_map": repr(float(args.min_rcond)),
        "pixlim_cross": repr(float(args.min_rcond)),
        "temperature_only": False,
        "noise_weights_from_psd": False,
        "write_map": True,
        "write_binmap": False,
        "write_hits": True,
        "write_matrix": False,
        "write_wcov": False,
        "write_base": False,
        "write_mask": False,
        "path_output": outdir,
        "file_root": "madam",
    }
    if inmask_path:
        pars["file_inmask"] = inmask_path
    for key in ("path_output", "file_inmask"):  # libmadam reads at most 150 characters a line
        if key in pars and len("%s = %s" % (key, pars[key])) > 140:
            rel = os.path.relpath(pars[key])
            if len("%s = %s" % (key, rel)) > 140:
                raise RuntimeError("%s too long for libmadam's parameter parser: %s" % (key, pars[key]))
            pars[key] = rel
    for v in pars.values():
        if isinstance(v, str) and (";" in v or "#" in v):
            raise RuntimeError("libmadam parameters cannot contain ';' or '#': %r" % v)

    # The call: rank 0's stdout (libmadam's CG lines) goes to a file, echoed afterwards.
    log_path = os.path.join(outdir, "madam_stdout.txt")
    comm.Barrier()
    saved = None
    if rank == 0:
        sys.stdout.flush()
        flush_fortran()
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        saved = os.dup(1)
        os.dup2(fd, 1)
        os.close(fd)
    try:
        t0 = time.perf_counter()
        madam.destripe(comm, pars, madam_dets, detweights, timestamps, pixels, pixweights,
                       signal, periods, npsd, psdstarts, psdfreqs, psdvals)
        wall = time.perf_counter() - t0
    finally:
        if rank == 0:
            flush_fortran()
            os.dup2(saved, 1)
            os.close(saved)
    comm.Barrier()
    wall_after_barrier = time.perf_counter() - t0
    del pixels, pixweights, signal

    if rank != 0:
        return 0
    with open(log_path) as f:
        text = f.read()
    sys.stdout.write(text)
    sys.stdout.flush()
    log = parse_madam_log(text)

    import healpy as hp
    npix = 12 * args.nside ** 2
    map_path = os.path.join(outdir, "madam_map.fits")
    hit_path = os.path.join(outdir, "madam_hmap.fits")
    if not os.path.exists(map_path):
        raise RuntimeError("libmadam wrote no %s (see %s)" % (map_path, log_path))
    m_nest = np.array(hp.read_map(map_path, field=(0, 1, 2), nest=None, dtype=None), dtype=np.float32)
    hits_nest = np.array(hp.read_map(hit_path, field=0, nest=None, dtype=None), dtype=np.float64)
    if m_nest.shape != (3, npix) or hits_nest.shape != (npix,):
        raise RuntimeError("unexpected map shapes %s, %s" % (m_nest.shape, hits_nest.shape))
    bad = np.any(m_nest == MADAM_UNDEF, axis=0) | ~np.all(np.isfinite(m_nest), axis=0)
    n_solved = int(npix - bad.sum())
    bad |= hits_nest < max(args.min_hits, 1)
    out = m_nest.astype(np.float64)
    out[:, bad] = UNSEEN
    ring2nest = hp.ring2nest(args.nside, np.arange(npix))
    np.save(os.path.join(outdir, "madam_map.npy"), np.ascontiguousarray(out[:, ring2nest]))

    hist = log["history"]
    iterations = log["iterations_reported"]
    if iterations is None:
        iterations = hist[-1]["iter"] if hist else 0
    if log["no_cg_iteration"]:
        stop = "no CG iteration (rz at start < 1e-30)"
    elif iterations >= args.iter_max:
        stop = "iter_max"
    elif hist and hist[-1]["rr_over_rrinit"] < args.cglimit:
        stop = "cglimit (rr/rrinit < cglimit)"
    else:
        stop = "r.z == 0"
    result = {
        "driver": os.path.abspath(__file__),
        "argv": argv,
        "libmadam": {"prefix": os.path.abspath(prefix), "library": libpath, "wrapper": wrapper_path},
        "mpi_ranks": size,
        "omp_num_threads": int(os.environ.get("OMP_NUM_THREADS", "0") or 0),
        "files": files,
        "detectors": dets,
        "n_samples_per_detector": nsamp_tot,
        "fsample": fsample,
        "params": pars,
        "precond": args.precond,
        "effective_preconditioner": effective,
        "noise_prior": args.noise_prior,
        "iter_max": args.iter_max,
        "iterations": iterations,
        "stop_reason": stop,
        "cglimit": args.cglimit,
        "cglimit_definition": "libmadam stops when ||r_k||^2/||b||^2 = rr/rrinit < cglimit "
                              "(and istep > iter_min), i.e. ||r||/||b|| < sqrt(cglimit); r is the "
                              "recursive unpreconditioned residual of the baseline system, b its "
                              "right-hand side (CG starts from a = 0)",
        "rrinit": log["rrinit"],
        "residual_history": hist,
        "rel_residual_history": [h["rel_residual"] for h in hist],
        "destripe_wall_seconds": wall,
        "destripe_wall_seconds_incl_final_barrier": wall_after_barrier,
        "read_seconds": t_read,
        "madam_timers": log["timers"],
        "cg_seconds_madam": log["timers"].get("CG iteration", {}).get("mean"),
        "cg_seconds_sum_of_iterations": float(sum(h["seconds"] for h in hist)),
        "map_file": {"path": map_path, "ordering": "NESTED", "dtype": "float32",
                     "columns": ["TEMPERATURE", "Q-POLARISATION", "U-POLARISATION"],
                     "stokes": "I, Q, U", "unseen": -1.6375e30,
                     "mask": "rcond < min_rcond (pixlim_map); min_hits not applied"},
        "hit_file": {"path": hit_path, "ordering": "NESTED", "columns": ["Total hits"]},
        "inmask_file": inmask_path,
        "npy_file": {"path": os.path.join(outdir, "madam_map.npy"), "ordering": "RING",
                     "shape": [3, npix], "stokes": "I, Q, U", "unseen": UNSEEN,
                     "mask": "libmadam's mask (rcond) or hits < min_hits"},
        "n_pixels_solved_by_madam": n_solved,
        "n_pixels_unmasked": int(npix - bad.sum()),
        "min_hits": args.min_hits,
        "min_rcond": args.min_rcond,
        "stdout_file": log_path,
    }
    with open(os.path.join(outdir, "madam_result.json"), "w") as f:
        json.dump(result, f, indent=1)
    last = hist[-1]["rel_residual"] if hist else None
    print("madam_driver: %d iterations (%s), ||r||/||b|| = %s, destripe %.3f s, map %s"
          % (iterations, stop, last, wall, map_path), flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        if "mpi4py.MPI" in sys.modules and sys.modules["mpi4py.MPI"].COMM_WORLD.size > 1:
            sys.modules["mpi4py.MPI"].COMM_WORLD.Abort(1)
        sys.exit(1)
