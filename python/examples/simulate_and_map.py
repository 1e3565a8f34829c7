#!/usr/bin/env python3
"""Simulate a small satellite survey, make binned and destriped maps, and plot them.

    PYTHONPATH=build/python /usr/bin/python3 python/examples/simulate_and_map.py [OUTDIR]
    PYTHONPATH=build/python scripts/mpirun -n 2 /usr/bin/python3 python/examples/simulate_and_map.py

OUTDIR (default example-out) receives data/ (the simulated timeline files and the input sky),
binned.h5, destriped.h5, their pictures binned.png and destriped.png, and pictures of each map
minus the input sky, binned_minus_sky.png and destriped_minus_sky.png. The detectors have
strong 1/f noise (white sigma 1 per sample, fknee 3 Hz): the binned map has stripes along the
scan, as large as the Q and U sky, which binned_minus_sky.png shows; destriping removes them
(destriped_minus_sky.png: noise some twenty times smaller, without stripes).
"""
import os
import sys

import healpy as hp
import numpy as np
from mpi4py import MPI

import tod2map
from tod2map.plot import plot_map

comm = MPI.COMM_WORLD
out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "example-out")

# One config for both steps: `simulation` says what to simulate, the rest how to map it.
config = {
    "input": {"files": [os.path.join(out, "data", "obs_*.fits")]},
    "pixelization": {"nside": 32, "ordering": "RING", "stokes": "IQU"},
    "mapmaker": {"baseline_length": 1.0, "min_hits": 3},
    "solver": {"tol": 1e-10, "maxiter": 300},
    "simulation": {
        "seed": 2026,
        "output_dir": os.path.join(out, "data"),
        "n_observations": 4,
        "observation_length": 600.0,
        "sample_rate": 50.0,
        "scan": {"type": "satellite", "spin_period": 6.0, "precession_period": 1900.0,
                 "precession_angle_deg": 65.0},
        "focal_plane": [
            {"name": f"det{k}", "polang_deg": 45.0 * k, "sigma": 1.0, "fknee": 3.0, "alpha": 2.0}
            for k in range(4)
        ],
    },
}

# 1. Simulate: writes the timeline files (each rank some observations) and the input sky.
tod2map.simulate(config, comm)

# 2. Read this rank's share of the timelines once; they are numpy arrays from here on.
timelines = tod2map.read_timelines(config, comm)
if comm.rank == 0:
    print(f"rank 0 holds {len(timelines)} timelines, e.g. {timelines[0]}")

# 3. Make both maps from the same timelines, and write them (collectively, parallel HDF5).
mapmaker = tod2map.MapMaker(timelines, config, comm)
results = {"binned": mapmaker.binned(), "destriped": mapmaker.destripe()}
for name, result in results.items():
    result.write(os.path.join(out, f"{name}.h5"))

# 4. Compare with the input sky on the pixels each rank owns, then sum over ranks.
sky = np.array(hp.read_map(os.path.join(out, "data", "sky.fits"), field=(0, 1, 2)))
for name, result in results.items():
    m = result.map.local                      # (3, n_owned): this rank's pixels
    seen = m[0] != tod2map.UNSEEN
    diff = m[:, seen] - sky[:, result.map.owned_pixels[seen]]
    diff[0] -= comm.allreduce(diff[0].sum()) / max(comm.allreduce(diff[0].size), 1)  # monopole
    rms = np.sqrt(comm.allreduce((diff**2).sum(axis=1)) / comm.allreduce(seen.sum()))
    if comm.rank == 0:
        print(f"{name:10s} residual rms I {rms[0]:.2e}  Q {rms[1]:.2e}  U {rms[2]:.2e}  "
              f"({result.iterations} iterations, {sum(result.timings.values()):.2f} s)")

# 5. Any rank can read any pixel (a collective call): here the north and south poles.
poles = results["destriped"].map.get(tod2map.Healpix(32).ang2pix([0.0, np.pi], [0.0, 0.0]))
if comm.rank == 0:
    print("I at the poles:", poles[0])

# 6. Pictures (rank 0 only: plotting reads the files written above): each map, and each map
#    minus the input sky (the I monopole, which destriping leaves free, removed).
if comm.rank == 0:
    for name in results:
        path = os.path.join(out, f"{name}.h5")
        print("wrote", plot_map(path, os.path.join(out, f"{name}.png"),
                                title=f"{name} map (nside 32, 1/f noise)"))
        print("wrote", plot_map(path, os.path.join(out, f"{name}_minus_sky.png"),
                                minus=os.path.join(out, "data", "sky.fits"),
                                remove_monopole=True, hits=False,
                                title=f"{name} map minus the input sky"))
