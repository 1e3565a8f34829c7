"""Distributed maps, map-making results and map files."""
import os
from dataclasses import dataclass, field

import numpy as np

from . import _core
from ._config import verbosity

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

    def __init__(self, core, comm=None, *, verbose=None):
        self._core = core
        self.comm = comm
        self._verbose = verbose  # write's default: the verbose= of the call that made it
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
            self._splits = {name: Result(self._core.split_result(name), self.comm,
                                         verbose=self._verbose)
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

    def write(self, path=None, *, verbose=None):
        """Writes the map file (collective): ``.h5`` as parallel HDF5, ``.fits`` as a FITS map
        healpy reads. Default path: the config's output.path. ``verbose``: print the library's
        lines about the write (default: as the run or MapMaker that made this result)."""
        with verbosity(self._verbose if verbose is None else verbose):
            self._core.write(str(path) if path is not None else self.config.output_path,
                             self.comm)

    def __repr__(self):
        return (f"<tod2map.Result {self.method} {self.stokes} nside {self.nside}: "
                f"{self.iterations} iterations, {self.pixels_observed} pixels observed>")


@dataclass(repr=False)
class MapFile:
    """A whole map file read by ``read_map``: a tod2map HDF5 map (docs/formats-maps.md), a
    tod2map FITS map, or a HEALPix FITS map from elsewhere (healpy.write_map, Planck).

    The same attributes for every kind; what a file does not hold is None (arrays) or ""
    (strings): a FITS map has no ``rcond``, ``invcov`` or ``residuals``, and a FITS map not
    written by tod2map has no ``method``, ``config`` or ``version`` (nor ``hits`` without a
    HITS column).
    """

    nside: int
    ordering: str           #: "RING" or "NEST": the order of the arrays
    coordsys: str           #: "G", "E", "C" or "" when the file does not say
    stokes: str             #: "IQU" or "I"
    units: str
    method: str             #: "binned", "destripe", "gls"; "" for a map tod2map did not make
    config: str             #: the resolved YAML config of the run ("" when the file has none)
    version: str            #: tod2map version of the writer ("" for other writers)
    created: str            #: UTC time of the write, ISO 8601 ("" when the file does not say)
    map: np.ndarray         #: (nstokes, npix) float64, UNSEEN where unobserved or masked
    hits: np.ndarray        #: (npix,) int64; None for a FITS map without HITS
    rcond: np.ndarray       #: (npix,); None for a FITS map
    invcov: np.ndarray      #: (ncov, npix); None for a FITS map
    residuals: np.ndarray   #: (niter + 1,); None for a FITS map
    split: str = ""         #: the output.splits name of a split map, "" for the full map
    extra: dict = field(default_factory=dict)  #: HDF5: other datasets by path ("baselines/...");
    #: FITS: other columns of the map table by name, each (npix,)
    path: str = ""          #: the file read
    format: str = ""        #: "hdf5" or "fits"

    @property
    def npix(self):
        return 12 * self.nside * self.nside

    def __repr__(self):
        what = " ".join(w for w in (self.method, self.split and f"split {self.split}") if w)
        return (f"<tod2map.MapFile {self.path or '?'} ({self.format}): nside {self.nside} "
                f"{self.ordering} {self.stokes}{' ' + self.units if self.units else ''}"
                f"{', ' + what if what else ''}>")


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_FITS_SIGNATURE = b"SIMPLE  ="
_GZIP_SIGNATURE = b"\x1f\x8b"  # a .fits.gz, which astropy reads as it is


def _file_format(path):
    """"fits", "hdf5" or None, from the file's first bytes (HDF5: its signature at 0, 512,
    1024, ... as HDF5 looks for it after a user block)."""
    with open(path, "rb") as f:
        head = f.read(len(_FITS_SIGNATURE))
        if head.startswith(_FITS_SIGNATURE) or head.startswith(_GZIP_SIGNATURE):
            return "fits"
        size = os.fstat(f.fileno()).st_size
        offset = 0
        while offset + len(_HDF5_SIGNATURE) <= size:
            f.seek(offset)
            if f.read(len(_HDF5_SIGNATURE)) == _HDF5_SIGNATURE:
                return "hdf5"
            offset = 512 if offset == 0 else 2 * offset
    return None


def _reorder(a, nest_to_ring, nside):
    """a (..., npix) from NEST to RING order (nest_to_ring) or from RING to NEST."""
    h = _core.Healpix(nside, "RING")
    ring = np.arange(12 * nside * nside, dtype=np.int64)
    # RING array r[p] = n[ring2nest(p)]; NEST array n[q] = r[nest2ring(q)].
    index = h.ring2nest(ring) if nest_to_ring else h.nest2ring(ring)
    return np.ascontiguousarray(a[..., index])


def read_map(path, ordering=None):
    """Reads a whole map file on this rank (not collective): a tod2map HDF5 map, a tod2map FITS
    map, or a HEALPix FITS map written by healpy or others (1 column: I; 3 or more: the first
    three are I, Q, U; a HITS column is the hits; implicit or explicit indexing).

    Parameters
    ----------
    path : str or os.PathLike
        The file; its first bytes, not its extension, say which format it is.
    ordering : {None, "RING", "NEST"}
        None (default) keeps the file's order (``MapFile.ordering`` says which); "RING" or
        "NEST" reorders every per-pixel array to it (``healpy.read_map`` returns RING by
        default: ``read_map(path, "RING")`` gives the same arrays).

    Returns
    -------
    MapFile

    Raises
    ------
    OSError
        The file is missing, is neither HDF5 nor FITS, or is not a map (a timeline file, or
        missing a dataset, attribute or HEALPix keyword); the message names the file.
    ValueError
        A FITS map whose columns or size make no HEALPix map (named), or a bad ``ordering``.
    """
    path = os.fspath(path)
    if ordering is not None:
        wanted = str(ordering).upper()
        wanted = {"NESTED": "NEST"}.get(wanted, wanted)
        if wanted not in ("RING", "NEST"):
            raise ValueError(f"read_map: ordering must be None, 'RING' or 'NEST', got {ordering!r}")
    kind = _file_format(path)
    if kind == "fits":
        m = _read_fits_map(path)
    elif kind == "hdf5":
        try:
            fields = _core.read_map(path)
        except OSError:
            what = _timeline_file(path)
            if what:
                raise OSError(f"read_map: {path}: not a map file: {what}") from None
            raise
        m = MapFile(**fields, path=path, format="hdf5")
    else:
        raise OSError(f"read_map: {path}: not a map file: neither HDF5 nor FITS")
    if ordering is not None and wanted != m.ordering:
        to_ring = wanted == "RING"
        for name in ("map", "hits", "rcond", "invcov"):
            a = getattr(m, name)
            if a is not None:
                setattr(m, name, _reorder(a, to_ring, m.nside))
        if m.format == "fits":  # FITS extra columns are per pixel (HDF5 extras are not)
            m.extra = {k: _reorder(v, to_ring, m.nside) for k, v in m.extra.items()}
        m.ordering = wanted
    return m


def _timeline_file(path):
    """What `tod2map info` calls the file when it is a timeline file ("HDF5 timeline file, 4
    detector groups; `tod2map info` describes it"), else ""."""
    try:
        first = _core.describe(path).splitlines()[0]
    except (OSError, ValueError, RuntimeError, IndexError):
        return ""
    what = first[len(path) + 2:] if first.startswith(path + ": ") else first
    return f"{what} (`tod2map info` describes it)" if "timeline file" in what else ""


# Column names of HITS in HEALPix FITS maps (tod2map and Planck: HITS).
_HITS_NAMES = ("HITS", "HIT", "NHITS", "N_OBS", "NOBS")
# Columns that show a FITS file is a timeline file, not a map.
_TIMELINE_COLUMNS = {"THETA", "PHI", "PSI", "SIGNAL"}


def _header_text(header, key):
    value = header.get(key)
    return "" if value is None else str(value).strip()


def _read_fits_map(path):
    """A FITS HEALPix map as a MapFile (astropy.io.fits)."""
    try:
        from astropy.io import fits
    except ImportError as e:
        raise ImportError(f"read_map: {path}: reading FITS maps needs astropy "
                          f"(python3-astropy): {e}") from None

    try:
        hdus = fits.open(path, memmap=False)
    except OSError as e:
        raise OSError(f"read_map: {path}: cannot read as FITS ({e})") from None
    with hdus:
        table = None
        for hdu in hdus[1:]:
            if isinstance(hdu, fits.BinTableHDU) and (
                    _header_text(hdu.header, "PIXTYPE").upper() == "HEALPIX"
                    or "NSIDE" in hdu.header):
                table = hdu
                break
        if table is None:
            names = [(hdu.name or str(k), [c.name for c in getattr(hdu, "columns", [])])
                     for k, hdu in enumerate(hdus) if k > 0]
            cols = {c.upper() for _, cs in names for c in cs}
            if cols & _TIMELINE_COLUMNS:
                what = (f"a timeline file (HDU {names[0][0]!r} has columns "
                        f"{', '.join(names[0][1])}; `tod2map info` describes it)")
            elif not names:
                what = "it has no table HDU"
            else:
                what = "no table HDU has PIXTYPE = 'HEALPIX' or NSIDE"
            raise OSError(f"read_map: {path}: not a HEALPix map: {what}")
        return _fits_table_map(path, table, _fits_config(hdus))


def _unseen_mask(values, bad=None):
    """Where values are UNSEEN (also as float32 rounds it: healpy's default column type) or the
    FITS BAD_DATA value `bad`."""
    out = np.isclose(values, UNSEEN, rtol=1e-5, atol=0)
    if isinstance(bad, (int, float)) and bad != UNSEEN:
        out |= values == bad
    return out


@dataclass
class _HealpixColumns:
    """The columns of a HEALPix FITS map table, parsed (read_map and tod2map.plot share it)."""

    names: list         #: TTYPEn as written
    upper: list         #: the same, in upper case
    units: list         #: TUNITn per column ("" when none)
    hits_col: object    #: index of the hit count column, or None
    value_cols: list    #: the other columns but PIXEL, in file order
    nside: int
    ordering: str       #: "RING" or "NEST", the file's
    full: object        #: full(i, dtype, fill): column i over every pixel, in the file's order


def _healpix_columns(table, where):
    """Parses a HEALPix FITS map table: NSIDE (from the header, or the row count), ORDERING,
    implicit or explicit (INDXSCHM, PIXEL) indexing, the hits column, and BAD_DATA / float32
    UNSEEN values brought back to UNSEEN. Raises ValueError naming `where`."""
    header = table.header
    columns = list(table.columns)
    names = [c.name for c in columns]
    upper = [n.upper() for n in names]
    data = table.data
    explicit = _header_text(header, "INDXSCHM").upper() == "EXPLICIT" or "PIXEL" in upper

    def column(i, dtype):
        values = np.asarray(data.field(i)) if data is not None else np.empty(0)
        return np.asarray(values, dtype=dtype).reshape(-1)  # healpy: rows of 1024

    pixel_col = upper.index("PIXEL") if "PIXEL" in upper else None
    if explicit and pixel_col is None:
        raise ValueError(f"{where}: INDXSCHM = 'EXPLICIT' but no PIXEL column")
    hits_col = next((i for i, n in enumerate(upper) if n in _HITS_NAMES), None)
    value_cols = [i for i in range(len(names)) if i not in (pixel_col, hits_col)]
    if not value_cols:
        raise ValueError(f"{where}: no map column besides {', '.join(names)}")

    n = len(column(value_cols[0], np.float64))
    nside = header.get("NSIDE")
    if nside is None:
        if explicit:
            raise ValueError(f"{where}: a map with explicit indexing needs NSIDE")
        nside = int(round((n / 12) ** 0.5))
        if 12 * nside * nside != n:
            raise ValueError(f"{where}: {n} pixels is not 12 nside^2 and there is no NSIDE")
    nside = int(nside)
    if nside < 1 or nside & (nside - 1):
        raise ValueError(f"{where}: NSIDE = {nside} is not a power of two")
    npix = 12 * nside * nside
    if explicit:
        pixels = column(pixel_col, np.int64)
        if pixels.size and (pixels.min() < 0 or pixels.max() >= npix):
            raise ValueError(f"{where}: PIXEL values outside 0..{npix - 1} (NSIDE {nside})")
    elif n != npix:
        raise ValueError(f"{where}: {n} pixels, but NSIDE {nside} has {npix}")

    ordering = _header_text(header, "ORDERING").upper() or "RING"  # healpy assumes RING too
    if ordering.startswith("NEST"):
        ordering = "NEST"
    elif ordering != "RING":
        raise ValueError(f"{where}: ORDERING = {ordering!r} is neither RING nor NESTED")

    bad = header.get("BAD_DATA")

    def full(i, dtype, fill):
        values = column(i, dtype)
        if np.issubdtype(dtype, np.floating):
            values[_unseen_mask(values, bad)] = UNSEEN
        if not explicit:
            return values
        out = np.full(npix, fill, dtype=dtype)
        out[pixels] = values
        return out

    return _HealpixColumns(names=names, upper=upper,
                           units=[(c.unit or "").strip() for c in columns], hits_col=hits_col,
                           value_cols=value_cols, nside=nside, ordering=ordering, full=full)


def _fits_table_map(path, table, config):
    header = table.header
    where = f"read_map: {path}[HDU {table.name!r}]"
    cols = _healpix_columns(table, where)
    names, value_cols = cols.names, cols.value_cols
    if len(value_cols) == 1:
        stokes = "I"
    elif len(value_cols) >= 3:
        stokes = "IQU"
    else:
        raise ValueError(f"{where}: {len(value_cols)} map columns ({', '.join(names)}); "
                         f"read_map reads 1 (I) or 3 and more (the first three as I, Q, U)")
    map_cols = value_cols[:len(stokes)]
    extra_cols = value_cols[len(stokes):]
    maps = np.stack([cols.full(i, np.float64, UNSEEN) for i in map_cols])
    hits = cols.full(cols.hits_col, np.int64, 0) if cols.hits_col is not None else None
    extra = {names[i]: cols.full(i, np.float64, UNSEEN) for i in extra_cols}

    creator = _header_text(header, "CREATOR")
    ours = creator.startswith("tod2map ")
    created = _header_text(header, "DATE")
    if ours and created and not created.endswith("Z"):
        created += "Z"  # the HDF5 attribute's spelling; FITS DATE is UTC without a suffix
    return MapFile(nside=cols.nside, ordering=cols.ordering,
                   coordsys=_header_text(header, "COORDSYS"), stokes=stokes,
                   units=cols.units[map_cols[0]], method=_header_text(header, "METHOD"),
                   config=config, version=creator[8:] if ours else "",
                   created=created, map=maps, hits=hits, rcond=None, invcov=None,
                   residuals=None, split=_header_text(header, "SPLIT"), extra=extra, path=path,
                   format="fits")


# A config line longer than this is written over several rows (io/src/map_fits_writer.cpp).
_CONFIG_ROW = 8192


def _fits_config(hdus):
    """The YAML of a tod2map FITS map's CONFIG extension ("" without one): one line per row
    (FITS pads them with blanks), a row of 8192 characters continued on the next."""
    from astropy.io import fits

    if "CONFIG" not in hdus:
        return ""
    hdu = hdus["CONFIG"]
    if not isinstance(hdu, fits.BinTableHDU) or hdu.data is None or "YAML" not in hdu.columns.names:
        return ""
    lines, continued = [], False
    for row in hdu.data.field("YAML"):
        row = row.decode() if isinstance(row, bytes) else str(row)
        row = row.rstrip(" ")
        if continued:
            lines[-1] += row
        else:
            lines.append(row)
        continued = len(row) == _CONFIG_ROW
    return "\n".join(lines) + "\n" if lines else ""


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
