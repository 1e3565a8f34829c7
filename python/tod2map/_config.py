"""Configurations from dicts, YAML files or Config objects (see docs/config.md for the keys)."""
import contextlib
import json
import os
from collections.abc import Mapping

from . import _core

# Whether the library's progress lines print (the C++ log's quiet flag, which the package sets
# at import); verbose= of each call overrides it for that call.
_quiet = [False]


def set_quiet(quiet=True):
    """Silences (True, the default in Python) or shows (False) the progress lines that the
    library prints on rank 0 to stdout: the resolved config, input, solver iterations, timings,
    files written, as ``tod2map run`` prints them. Applies to every later call that is not
    given ``verbose=``. Warnings and errors (stderr) always print.

    Returns the previous setting."""
    previous = _quiet[0]
    _quiet[0] = bool(quiet)
    _core.set_quiet(_quiet[0])
    return previous


@contextlib.contextmanager
def verbosity(verbose):
    """The library's progress lines on (True) or off (False) during a with block; None keeps
    set_quiet's setting."""
    if verbose is None:
        yield
        return
    _core.set_quiet(not verbose)
    try:
        yield
    finally:
        _core.set_quiet(_quiet[0])


def _plain(value):
    """value with numpy scalars and arrays, paths and tuples turned into plain Python types, so
    that YAML and JSON can write it."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _plain(value.tolist())  # numpy scalar or array
    return value


def _override_strings(overrides):
    """["key.path=value", ...] from a dict {"key.path": value} or a sequence of such strings.
    Values are written as JSON, which is YAML, so they keep their type."""
    if overrides is None:
        return []
    if isinstance(overrides, Mapping):
        return [f"{key}={json.dumps(_plain(value))}" for key, value in overrides.items()]
    if isinstance(overrides, str):
        raise TypeError("overrides must be a dict or a list of 'key.path=value' strings, not a str")
    return [str(o) for o in overrides]


def load_config(config, overrides=None, comm=None):
    """Resolves a configuration.

    Parameters
    ----------
    config : dict, str, os.PathLike or Config
        A dict with the YAML structure (input paths relative to the current folder), the path of
        a YAML file (input paths relative to its folder), or a Config.
    overrides : dict or list of str, optional
        Keys to change, as ``{"mapmaker.method": "binned"}`` or ``["mapmaker.method=binned"]``.
    comm : mpi4py.MPI.Comm, optional
        Ranks that load it together (default COMM_WORLD): an error on one raises on all.

    Returns
    -------
    Config
        Every key resolved, defaults filled in.

    Raises
    ------
    ValueError
        Unknown key, wrong type or impossible value; the message names the key path.
    OSError
        The file cannot be read.
    """
    extra = _override_strings(overrides)
    if isinstance(config, _core.Config):
        if not extra:
            return config
        return _core.parse_config(config.yaml, config.base_dir, extra, comm)
    if isinstance(config, Mapping):
        import yaml  # only needed for dict configs (python3-yaml)

        text = yaml.safe_dump(_plain(config), default_flow_style=False, sort_keys=False)
        return _core.parse_config(text, os.getcwd(), extra, comm)
    if isinstance(config, (str, os.PathLike)):
        return _core.load_config(os.fspath(config), extra, comm)
    raise TypeError(
        f"config must be a dict, a YAML file path or a tod2map.Config, got {type(config).__name__}")
