"""Distributed maps, map-making results and map files."""
from dataclasses import dataclass, field

import numpy as np

from . import _core

#: healpy's UNSEEN: the value of unobserved or masked pixels in tod2map maps.
UNSEEN = -1.6375e30


class DistributedMap:
    """A per-pixel array of the whole sphere, distributed over the ranks of a communicator.

    Each rank owns one contiguous range of pixels (``owned_range``), in rank order; its values
    are ``local``. ``get`` and ``gather`` read other ranks' pixels: they are collective, so
    every rank of the communicator must call them (each with its own arguments).

    Parameters
    ----------
    owned : numpy.ndarray
        This rank's values, pixel-major: shape (n_owned,) or (n_owned, ncomp), C-contiguous,
        float64 or int64. Kept, not copied.
    first_pixel : int
        First pixel this rank owns.
    npix : int
        Pixels of the whole map.
    comm : mpi4py.MPI.Comm, optional
        The ranks sharing the map (default COMM_WORLD).
    components : sequence of str, optional
        Names of the components (e.g. "IQU"), for display.
    """

    def __init__(self, owned, first_pixel, npix, comm=None, components=None):
        owned = np.asarray(owned)
        if owned.ndim not in (1, 2) or not owned.flags.c_contiguous:
            raise ValueError("DistributedMap: owned values must be a C-contiguous (n_owned,) or "
                             f"(n_owned, ncomp) array, got shape {owned.shape}")
        self._owned = owned
        self._first = int(first_pixel)
        self.npix = int(npix)
        self.comm = comm
        self.components = tuple(components) if components is not None else None

    @property
    def ncomp(self):
        """Values per pixel (1 for a scalar map)."""
        return 1 if self._owned.ndim == 1 else self._owned.shape[1]

    @property
    def dtype(self):
        return self._owned.dtype

    @property
    def shape(self):
        """Shape of the whole (global) array: (npix,) or (ncomp, npix)."""
        return (self.npix,) if self._owned.ndim == 1 else (self.ncomp, self.npix)

    @property
    def owned_range(self):
        """The global pixels this rank owns, as a range."""
        return range(self._first, self._first + self._owned.shape[0])

    @property
    def owned_pixels(self):
        """The global pixels this rank owns, as an int64 array."""
        return np.arange(self._first, self._first + self._owned.shape[0], dtype=np.int64)

    @property
    def local(self):
        """This rank's values, shape (n_owned,) or (ncomp, n_owned) as in the map file (a view,
        no copy)."""
        return self._owned if self._owned.ndim == 1 else self._owned.T

    def __array__(self, dtype=None):
        return np.asarray(self.local, dtype=dtype)

    def __len__(self):
        """shape[0]: the components of a multi-component map, the pixels of a scalar one."""
        return self.shape[0]

    def __getitem__(self, key):
        """A component of a multi-component map, by index or name (``m[1]``, ``m["Q"]``), as a
        scalar DistributedMap over the same ranks (a view). On a scalar map: this rank's values
        of owned pixels (``m[p]``, ``m[[p, q]]``); ``get`` reads pixels other ranks own. Not
        collective."""
        if self._owned.ndim == 2:
            if isinstance(key, str):
                if not self.components or key not in self.components:
                    raise KeyError(f"DistributedMap: no component {key!r} "
                                   f"(components: {self.components})")
                key = self.components.index(key)
            c = range(self.ncomp)[key]  # IndexError for a component out of range
            return DistributedMap(np.ascontiguousarray(self._owned[:, c]), self._first, self.npix,
                                  self.comm)
        pix = np.asarray(key)
        if not np.issubdtype(pix.dtype, np.integer):
            raise TypeError(f"DistributedMap: pixel indices must be integers, got {pix.dtype}")
        outside = (pix < self._first) | (pix >= self._first + self._owned.shape[0])
        if np.any(outside):
            raise IndexError(f"DistributedMap: pixel {int(pix[outside].flat[0])} is not owned by "
                             f"this rank (owned: {self.owned_range.start}.."
                             f"{self.owned_range.stop - 1}); use get(), which is collective")
        return self._owned[pix - self._first]

    def __iter__(self):
        """Iterates over the owned range: (pixel, value) pairs, value a scalar or an (ncomp,)
        array. Not collective."""
        for i, p in enumerate(self.owned_range):
            yield p, self._owned[i]

    def get(self, pixels):
        """Values of any pixels, wherever they are owned. Collective: every rank must call it,
        each with its own pixels (possibly none).

        Parameters
        ----------
        pixels : array_like of int
            Global pixel indices, any shape, repeats allowed.

        Returns
        -------
        numpy.ndarray
            Shape pixels.shape, or (ncomp,) + pixels.shape.

        Raises
        ------
        ValueError
            On every rank, when a pixel outside 0 .. npix-1 is asked for on any rank.
        """
        pix = np.asarray(pixels)
        if pix.size and not np.issubdtype(pix.dtype, np.integer):
            raise TypeError(f"DistributedMap.get: pixels must be integers, got {pix.dtype}")
        flat = np.ascontiguousarray(pix, dtype=np.int64).reshape(-1)
        values = _core.get_pixels(self.comm, self._owned, self._first, self.npix, flat)
        if self._owned.ndim == 1:
            return values[:, 0].reshape(pix.shape)
        return np.ascontiguousarray(values.T).reshape((self.ncomp,) + pix.shape)

    def gather(self, root=0):
        """The whole array on rank `root` (None on the others). Collective.

        Returns
        -------
        numpy.ndarray or None
            Shape (npix,) or (ncomp, npix) on root.
        """
        values = _core.gather_pixels(self.comm, self._owned, self._first, self.npix, root)
        if values is None:
            return None
        if self._owned.ndim == 1:
            return values[:, 0]
        return np.ascontiguousarray(values.T)

    def __repr__(self):
        comps = "".join(self.components) if self.components else str(self.ncomp)
        r = self.owned_range
        return (f"<tod2map.DistributedMap {comps} x {self.npix} pixels, {self.dtype}, "
                f"owned here [{r.start}, {r.stop})>")


class Result:
    """What a map-making run produced on this rank.

    The per-pixel outputs are DistributedMap objects holding this rank's owned pixels: ``map``
    (stokes x pixels, UNSEEN where unobserved or masked), ``hits``, ``rcond`` and ``invcov``
    (upper triangle of each pixel's P^T N^-1 P block). ``np.asarray(result.map)`` or
    ``result.map.local`` is the owned slice as a numpy array.

    The run keeps only the observed pixels; the owned slices (unobserved pixels filled in) are
    made on first access of ``map``, ``hits``, ``rcond`` or ``invcov``. ``write`` needs none of
    them, so a sky too large for memory as full arrays (nside 8192 with a small patch) can still
    be written.
    """

    def __init__(self, core, comm=None):
        self._core = core
        self.comm = comm
        self._arrays = None

    def _distributed(self, name):
        if self._arrays is None:
            core, comm = self._core, self.comm
            first, npix, stokes = core.first_pixel, core.npix, core.stokes
            cov = [a + b for i, a in enumerate(stokes) for b in stokes[i:]]
            self._arrays = {
                "map": DistributedMap(core.map, first, npix, comm, components=stokes),
                "hits": DistributedMap(core.hits, first, npix, comm),
                "rcond": DistributedMap(core.rcond, first, npix, comm),
                "invcov": DistributedMap(core.invcov, first, npix, comm, components=cov),
            }
        return self._arrays[name]

    map = property(lambda self: self._distributed("map"),
                   doc="Stokes maps (DistributedMap), UNSEEN where unobserved or masked.")
    hits = property(lambda self: self._distributed("hits"), doc="Samples per pixel.")
    rcond = property(lambda self: self._distributed("rcond"),
                     doc="Reciprocal condition number of each pixel's block.")
    invcov = property(lambda self: self._distributed("invcov"),
                      doc="Upper triangle of each pixel's P^T N^-1 P block.")

    nside = property(lambda self: self._core.nside)
    ordering = property(lambda self: self._core.ordering, doc="RING or NEST.")
    coordsys = property(lambda self: self._core.coordsys)
    units = property(lambda self: self._core.units,
                     doc="The map's units: output.units, else the input SIGNAL's unit ('' if none).")
    stokes = property(lambda self: self._core.stokes, doc="IQU or I.")
    method = property(lambda self: self._core.method)
    split = property(lambda self: self._core.split,
                     doc="The output.splits name of a split map; '' for the full map.")
    config = property(lambda self: self._core.config, doc="The Config that made it.")

    @property
    def splits(self):
        """The split maps of output.splits, by name (each a Result: its own map, hits, rcond,
        invcov, samples_used, pixels_observed; the run's solver history and timings)."""
        if getattr(self, "_splits", None) is None:
            self._splits = {name: Result(self._core.split_result(name), self.comm)
                            for name in self._core.split_names}
        return self._splits
    residuals = property(lambda self: self._core.residuals,
                         doc="Relative residual per solver iteration (numpy array).")
    iterations = property(lambda self: self._core.iterations)
    converged = property(lambda self: self._core.converged)
    timings = property(lambda self: self._core.timings,
                       doc="Seconds per phase (dict, max over ranks).")
    samples = property(lambda self: self._core.samples, doc="All samples, all ranks.")
    samples_used = property(lambda self: self._core.samples_used)
    samples_flagged = property(lambda self: self._core.samples_flagged)
    samples_nonfinite = property(lambda self: self._core.samples_nonfinite)
    samples_bad_pointing = property(
        lambda self: self._core.samples_bad_pointing,
        doc="Unflagged samples with THETA outside [0, pi] or |PHI| > 1e8 rad, all ranks.")
    samples_bad_weight = property(lambda self: self._core.samples_bad_weight,
                                  doc="Unflagged samples with |PSI| > 1e8 rad, all ranks.")
    pixels_observed = property(lambda self: self._core.pixels_observed)
    pixels_masked = property(lambda self: self._core.pixels_masked)
    peak_rss_bytes = property(lambda self: self._core.peak_rss_bytes,
                              doc="Peak memory of each rank, bytes.")
    baselines = property(lambda self: self._extra("baselines/"),
                         doc="Destriping offsets of this rank's timelines, by dataset name "
                             "(with output.baselines).")
    noise_model = property(lambda self: self._extra("noise_model/"),
                           doc="GLS: the noise spectrum used for each of this rank's timelines, "
                               "[sigma, fknee, alpha] by dataset name (with output.noise_model).")
    def _extra(self, prefix):
        return {k: v for k, v in self._core.extra.items() if k.startswith(prefix)}

    summary = property(lambda self: self._core.summary, doc="The summary `tod2map run` prints.")

    def write(self, path=None):
        """Writes the map file (collective): ``.h5`` as parallel HDF5, ``.fits`` as a FITS map
        healpy reads. Default path: the config's output.path."""
        self._core.write(str(path) if path is not None else self.config.output_path, self.comm)

    def __repr__(self):
        return (f"<tod2map.Result {self.method} {self.stokes} nside {self.nside}: "
                f"{self.iterations} iterations, {self.pixels_observed} pixels observed>")


@dataclass
class MapFile:
    """A tod2map HDF5 map file (DESIGN.md section 4), whole."""

    nside: int
    ordering: str
    coordsys: str
    stokes: str
    units: str
    method: str
    config: str
    version: str
    created: str
    map: np.ndarray         #: (nstokes, npix)
    hits: np.ndarray        #: (npix,)
    rcond: np.ndarray       #: (npix,)
    invcov: np.ndarray      #: (ncov, npix)
    residuals: np.ndarray   #: (niter + 1,)
    split: str = ""         #: the output.splits name of a split map, "" for the full map
    extra: dict = field(default_factory=dict)  #: other datasets by path ("baselines/...")


def read_map(path):
    """Reads a whole tod2map HDF5 map file on this rank (not collective).

    Raises
    ------
    OSError
        The file is missing, not HDF5, or lacks a dataset or attribute (named).
    """
    return MapFile(**_core.read_map(str(path)))


def _stokes_maps(m):
    """(nstokes, npix) array, Stokes names and units of a map given as a path, MapFile or
    array."""
    if isinstance(m, (str, bytes)) or hasattr(m, "__fspath__"):
        m = read_map(m)
    if isinstance(m, MapFile):
        return np.asarray(m.map, dtype=np.float64), m.stokes, m.units
    a = np.asarray(m, dtype=np.float64)
    return (a[np.newaxis] if a.ndim == 1 else a), "", ""


def half_difference(a, b):
    """(a - b) / 2 of two maps of the same sky (split maps: half-missions, detector sets), the
    map of the noise that the half-difference keeps; UNSEEN where either is UNSEEN.

    a and b are map files (tod2map HDF5), MapFile objects or arrays (npix,) or (nstokes, npix)
    of the same shape (a distributed Result: ``result.map.gather()`` on the root). Returns an
    array (nstokes, npix).
    """
    x, sx, ux = _stokes_maps(a)
    y, sy, uy = _stokes_maps(b)
    if x.shape != y.shape:
        raise ValueError(f"half_difference: maps of shapes {x.shape} and {y.shape} differ")
    if sx and sy and sx != sy:
        raise ValueError(f"half_difference: Stokes {sx} and {sy} differ")
    if ux and uy and ux != uy:
        raise ValueError(f"half_difference: units '{ux}' and '{uy}' differ")
    seen = (x != UNSEEN) & (y != UNSEEN)
    out = np.full_like(x, UNSEEN)
    out[seen] = 0.5 * (x[seen] - y[seen])
    return out
