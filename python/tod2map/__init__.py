"""tod2map: map-making for CMB telescope time-ordered data, from Python.

The same library as the ``tod2map`` executable (MPI, Kokkos, Trilinos), driven from Python:

- ``run(config)``: what ``tod2map run`` does, returning a Result;
- ``simulate(config)``: what ``tod2map sim`` does;
- building blocks: ``Healpix`` (ang2pix/pix2ang over numpy arrays), ``Timeline`` (from numpy
  arrays, kept without copying, or from FITS with ``read_timelines``), ``MapMaker``
  (``binned()``, ``destripe()``, ``gls()``), ``Result.write`` (HDF5/FITS), ``read_map``, ``half_difference`` (of two split maps);
- ``DistributedMap``: a map spread over the ranks, read as one array (``get``, ``gather``).

Communicators are mpi4py communicators (``comm=None`` means COMM_WORLD); importing tod2map
imports mpi4py, and MPI initialised by mpi4py is reused, never initialised twice. Kokkos (and
PETSc) are finalised at interpreter exit, before MPI. Library errors arrive as ValueError
(bad configuration or argument), OSError (files), NotImplementedError (not built in) or
RuntimeError, with the library's message.

From the build tree: ``PYTHONPATH=<build>/python python3 -c "import tod2map"``.
See docs/python.md.
"""
from . import _core
from ._config import load_config
from ._core import Config, Healpix, Timeline, available_backends, set_quiet
from ._mapmaker import MapMaker, describe, read_timelines, run, simulate
from ._maps import UNSEEN, DistributedMap, MapFile, Result, half_difference, read_map
from . import plot  # noqa: E402  (matplotlib and healpy load only when a figure is made)

__version__ = _core.version()

__all__ = [
    "Config",
    "DistributedMap",
    "Healpix",
    "MapFile",
    "MapMaker",
    "Result",
    "Timeline",
    "UNSEEN",
    "available_backends",
    "describe",
    "half_difference",
    "plot",
    "load_config",
    "read_map",
    "read_timelines",
    "run",
    "set_quiet",
    "simulate",
]
