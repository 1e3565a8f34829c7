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

The library's progress lines (the resolved config, reading, solving, writing) are off by
default in Python; ``verbose=True`` on ``run``, ``simulate``, ``read_timelines``, ``MapMaker``
and ``Result.write`` prints them as the executable does, ``set_quiet(False)`` for every call.
Warnings and errors always print (stderr).

From the build tree: ``PYTHONPATH=<build>/python /usr/bin/python3 -c "import tod2map"``, with the
interpreter the build is for (another one is told which). See docs/python.md.
"""


def _check_interpreter():
    """Raises ImportError naming the interpreter the build is for when this one cannot load the
    extension: another Python version, or one that cannot import numpy or mpi4py (a pyenv or
    conda python3 first on PATH). Runs before anything imports the extension, numpy or mpi4py."""
    import os
    import sys

    try:
        from ._build_info import PYTHON_EXECUTABLE, PYTHON_VERSION
    except ImportError:  # the source folder, not a build: nothing to compare with
        return lambda error: None
    here = sys.version_info[:2]
    built = tuple(PYTHON_VERSION)
    executable = sys.executable or "this interpreter"

    def refuse(why):
        raise ImportError(
            f"tod2map was built for {PYTHON_EXECUTABLE} (Python {built[0]}.{built[1]}); this is "
            f"{executable} (Python {here[0]}.{here[1]}){why}: run it with {PYTHON_EXECUTABLE}"
        ) from None

    if here != built:
        refuse("")
    try:
        same = (os.path.realpath(executable) == os.path.realpath(PYTHON_EXECUTABLE)
                and sys.prefix == sys.base_prefix)
    except (OSError, ValueError):
        same = False

    def check(error):
        # The build's own interpreter lacking a package: the original error says what.
        if not same:
            refuse(f", which cannot import {error.name}" if error.name else f" ({error})")

    for name in ("numpy", "mpi4py"):
        try:
            __import__(name)
        except ImportError as error:
            check(error)
            raise
    return check


_interpreter_error = _check_interpreter()
try:
    from . import _core
except ImportError as _error:
    _interpreter_error(_error)
    raise
from ._config import load_config, set_quiet
from ._core import Config, Healpix, Timeline, available_backends
from ._mapmaker import MapMaker, describe, read_timelines, run, simulate
from ._maps import UNSEEN, DistributedMap, MapFile, Result, half_difference, read_map
from . import plot  # noqa: E402  (matplotlib and healpy load only when a figure is made)

__version__ = _core.version()
del _interpreter_error, _check_interpreter

set_quiet(True)  # progress lines only when asked for (verbose=True, set_quiet(False))

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
