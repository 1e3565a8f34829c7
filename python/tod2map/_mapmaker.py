"""Runs, simulation, timelines and the map-maker."""
from . import _core
from ._config import load_config, verbosity
from ._maps import Result


def run(config, comm=None, *, write=True, overrides=None, resume=False, verbose=None):
    """Makes a map as ``tod2map run CONFIG`` does, with the same result.

    Parameters
    ----------
    config : dict, str, os.PathLike or Config
        See load_config.
    comm : mpi4py.MPI.Comm, optional
        The ranks that make the map together (default COMM_WORLD).
    write : bool
        Write output.path (the map file) as the executable does.
    overrides : dict or list of str, optional
        Keys to change, as ``tod2map run --set`` does.
    resume : bool
        Continue the destriping solve from the checkpoint at ``solver.checkpoint.path``, as
        ``tod2map run --resume`` does (docs/checkpoint.md).
    verbose : bool, optional
        True prints the library's progress lines on rank 0 as ``tod2map run`` does (the resolved
        config, input, solver iterations, summary); False silences them; None (default) follows
        ``set_quiet`` (quiet unless ``set_quiet(False)``). Warnings print either way.

    Returns
    -------
    Result
        This rank's owned pixels of map, hits, rcond, the solver history and the timings.

    Notes
    -----
    Collective. The GIL is released while reading, solving and writing; Ctrl-C (SIGINT) still
    raises KeyboardInterrupt within a second, at the next timeline, CG iteration or write step
    (docs/interrupts.md). With ``solver.checkpoint.path`` set, SIGTERM, SIGINT or SIGUSR1 during
    the solve writes the checkpoint and raises KeyboardInterrupt.
    """
    cfg = load_config(config, overrides, comm)
    with verbosity(verbose):
        core = _core.run(cfg, comm, write, resume)
    return Result(core, comm, verbose=verbose)


def simulate(config, comm=None, *, overrides=None, verbose=None):
    """Writes the simulated timeline files of the config's ``simulation`` section, as
    ``tod2map sim CONFIG`` does (docs/simulation.md). Collective. Ctrl-C raises
    KeyboardInterrupt before the next observation, leaving no .partial file. ``verbose``: as
    for run."""
    cfg = load_config(config, overrides, comm)
    with verbosity(verbose):
        _core.simulate(cfg, comm)


def read_timelines(config, comm=None, *, overrides=None, verbose=None):
    """This rank's share of the timelines of config's ``input`` section (whole files' detectors,
    balanced over ranks by sample count as ``tod2map run`` does). Collective. ``verbose``: as
    for run.

    Returns
    -------
    list of Timeline
        Their arrays are numpy views of what was read (no copy).
    """
    cfg = load_config(config, overrides, comm)
    with verbosity(verbose):
        return _core.read_timelines(cfg, comm)


def describe(path):
    """What ``tod2map info PATH`` prints about a timeline or map file, as text.

    The file's content (its first bytes), not its extension, decides how it is read; a file of
    no known format raises an error naming it."""
    return _core.describe(str(path))


# MapMaker keyword options and the config keys they set: the keys the config key table marks
# as shortcuts, each by its last name (nside sets pixelization.nside).
_OPTIONS = {key.rsplit(".", 1)[1]: key for key in _core.config_shortcut_keys()}


def _overrides(options, where):
    out = {}
    for name, value in options.items():
        if name == "pixelization":  # a Healpix object
            out["pixelization.nside"] = value.nside
            out["pixelization.ordering"] = value.ordering
        elif name in _OPTIONS:
            out[_OPTIONS[name]] = value
        else:
            known = ", ".join(["pixelization"] + sorted(_OPTIONS))
            raise TypeError(f"{where}: unknown option '{name}' (known: {known})")
    return out


class MapMaker:
    """Makes maps from timelines in memory (this rank's share): binned, destriped or GLS.

    The timelines' arrays are read in place, never copied into the library, so each call sees
    their current values. Every call is collective over comm.

    Parameters
    ----------
    timelines : iterable of Timeline
        This rank's timelines (from numpy arrays, or read_timelines). May be empty on a rank.
    config : dict, str, os.PathLike or Config, optional
        Supplies the pixelization, mapmaker, solver and output sections (of input, only
        max_rejected_fraction is used).
        Default: every key at its default (nside 256, IQU, destripe, tpetra).
    comm : mpi4py.MPI.Comm, optional
        Default COMM_WORLD.
    **options
        Shortcuts for config keys: pixelization (a Healpix), nside, ordering, stokes, method,
        baseline_length, noise_prior, nside_cross, min_hits, min_rcond, psd, bandwidth, backend,
        tol, maxiter, preconditioner, baselines, noise_model, max_rejected_fraction.
    verbose : bool, optional
        Progress lines of every map made (and written) from here: True prints them, False
        silences them, None (default) follows ``set_quiet``. Each call may also take
        ``verbose=``.

    Examples
    --------
    >>> mm = tod2map.MapMaker(timelines, pixelization=tod2map.Healpix(64), min_hits=3)
    >>> binned = mm.binned()
    >>> destriped = mm.destripe(baseline_length=2.0)
    >>> destriped.write("out/map.h5")
    """

    def __init__(self, timelines, config=None, comm=None, *, verbose=None, **options):
        self.timelines = list(timelines)
        for t in self.timelines:
            if not isinstance(t, _core.Timeline):
                raise TypeError(f"MapMaker: timelines must be tod2map.Timeline, got {type(t).__name__}")
        self.comm = comm
        self.verbose = verbose
        self.config = load_config(config if config is not None else {},
                                  _overrides(options, "MapMaker"), comm)

    def make(self, *, verbose=None, **options):
        """A map with the config's method (and these options). Returns a Result."""
        cfg = load_config(self.config, _overrides(options, "MapMaker.make"), self.comm)
        verbose = self.verbose if verbose is None else verbose
        with verbosity(verbose):
            core = _core.make_map(cfg, self.timelines, self.comm)
        return Result(core, self.comm, verbose=verbose)

    def binned(self, **options):
        """The binned map m = (P^T N^-1 P)^-1 P^T N^-1 d. Returns a Result."""
        return self.make(method="binned", **options)

    def destripe(self, **options):
        """The destriped map (baselines of baseline_length seconds solved by conjugate
        gradient, then the binned map of d - F a). Returns a Result."""
        return self.make(method="destripe", **options)

    def gls(self, **options):
        """The generalised-least-squares map m = (P^T N^-1 P)^-1 P^T N^-1 d with each
        detector's white + 1/f noise as a banded Toeplitz N^-1 (psd="header" or "estimate",
        bandwidth in samples), solved by conjugate gradient. Returns a Result."""
        return self.make(method="gls", **options)

    def __repr__(self):
        c = self.config
        return (f"<tod2map.MapMaker {len(self.timelines)} local timelines, nside {c.nside} "
                f"{c.ordering} {c.stokes}, {c.method}>")
