"""Quick-look images of map files: Mollweide projections of I, Q, U and the hits (healpy +
matplotlib), of one map, of the difference of two maps, or of a map minus an input sky."""
import os
import textwrap
from dataclasses import dataclass, field

import numpy as np

from ._maps import UNSEEN, _file_format, _healpix_columns, _reorder, _unseen_mask

#: Names of the coordinate systems of HEALPix COORDSYS and the tod2map ``coordsys`` attribute.
FRAMES = {"G": "Galactic", "C": "Equatorial", "Q": "Equatorial", "E": "Ecliptic"}

# FITS column names (TTYPEn) of the Stokes components, in upper case: tod2map and Planck
# (I_STOKES), healpy.write_map (TEMPERATURE, Q_POLARISATION), and others.
_STOKES_COLUMNS = {
    "I": "I", "I_STOKES": "I", "TEMPERATURE": "I", "T": "I", "INTENSITY": "I",
    "Q": "Q", "Q_STOKES": "Q", "Q_POLARISATION": "Q", "Q_POLARIZATION": "Q", "Q-POL": "Q",
    "U": "U", "U_STOKES": "U", "U_POLARISATION": "U", "U_POLARIZATION": "U", "U-POL": "U",
}


@dataclass
class _Map:
    """A map file as the plot uses it: RING order, NaN where unobserved or masked."""

    path: str
    values: np.ndarray          # (ncomp, npix) float64, RING, NaN where masked
    names: list                 # component names: "I", "Q", "U" (or the FITS column names)
    units: list                 # one unit string per component ("" when the file says none)
    nside: int
    ordering: str               # the file's ordering ("RING" or "NEST"); values are RING
    coordsys: str               # "G", "E", "C", ... or ""
    hits: np.ndarray = None     # (npix,) RING, or None when the file has no hit count
    what: str = ""              # "destripe map", "FITS map", ...
    notes: list = field(default_factory=list)


def _unseen(values):
    """Where values are UNSEEN (also as float32 would round it) or not finite."""
    return ~np.isfinite(values) | _unseen_mask(values)


def _ring(a, nside, nest):
    """a (..., npix) in RING order (a NEST array is reordered)."""
    return _reorder(a, True, nside) if nest else a


def _load_fits(path):
    """A HEALPix FITS map (tod2map's, healpy.write_map's, Planck's): the first binary table
    with PIXTYPE = 'HEALPIX' or NSIDE (else the first table), parsed as read_map does; its
    Stokes columns by name (TTYPEn), each with its TUNITn."""
    from astropy.io import fits

    try:
        hdus = fits.open(path, memmap=False)
    except OSError as e:
        raise OSError(f"{path}: cannot read as FITS ({e})") from None
    with hdus:
        tables = [h for h in hdus[1:] if isinstance(h, fits.BinTableHDU)]
        table = next((h for h in tables if str(h.header.get("PIXTYPE", "")).strip().upper()
                      == "HEALPIX" or "NSIDE" in h.header), tables[0] if tables else None)
        if table is None:
            raise OSError(f"{path}: not a HEALPix map (no binary table HDU)")
        header = table.header
        names = [c.name for c in table.columns]
        if {"THETA", "PHI", "SIGNAL"} & {n.strip().upper() for n in names} \
                and "NSIDE" not in header:
            raise OSError(f"{path}: not a map but a timeline file (HDU {table.name!r} has "
                          f"columns {', '.join(names)})")
        cols = _healpix_columns(table, path)
        upper = cols.upper
        known = [i for i in cols.value_cols if upper[i] in _STOKES_COLUMNS]
        if known:
            picked = sorted(known, key=lambda i: "IQU".index(_STOKES_COLUMNS[upper[i]]))
            comp = [_STOKES_COLUMNS[upper[i]] for i in picked]
        elif len(cols.value_cols) == 1:
            picked, comp = cols.value_cols, ["I"]
        elif len(cols.value_cols) >= 3:  # the HEALPix convention: the first three are I, Q, U
            picked, comp = cols.value_cols[:3], ["I", "Q", "U"]
        else:
            picked, comp = cols.value_cols, [names[i] for i in cols.value_cols]

        values = np.stack([cols.full(i, np.float64, UNSEEN) for i in picked])
        values[_unseen(values)] = np.nan
        hits = cols.full(cols.hits_col, np.float64, 0.0) if cols.hits_col is not None else None
        creator = str(header.get("CREATOR", "")).strip()
        method = str(header.get("METHOD", "")).strip()
        what = f"{method} map" if creator.startswith("tod2map") and method else "FITS map"
        nest = cols.ordering == "NEST"
        return _Map(path=path, values=_ring(values, cols.nside, nest), names=comp,
                    units=[cols.units[i] for i in picked], nside=cols.nside,
                    ordering=cols.ordering,
                    coordsys=str(header.get("COORDSYS", "") or "").strip().upper(),
                    hits=None if hits is None else _ring(hits, cols.nside, nest), what=what)


def _load_hdf5(path):
    """A tod2map HDF5 map (docs/formats-maps.md)."""
    from ._maps import read_map

    f = read_map(path)
    nest = str(f.ordering).upper().startswith("NEST")
    values = np.array(f.map, dtype=np.float64, ndmin=2)
    values[_unseen(values)] = np.nan
    hits = getattr(f, "hits", None)
    method = getattr(f, "method", "")
    split = getattr(f, "split", "")
    what = " ".join(w for w in (method, split and f"split {split}", "map") if w)
    return _Map(path=path, values=_ring(values, f.nside, nest), names=list(f.stokes),
                units=[f.units or ""] * values.shape[0], nside=int(f.nside),
                ordering="NEST" if nest else "RING", coordsys=(f.coordsys or "").upper(),
                hits=None if hits is None else _ring(np.asarray(hits, np.float64), f.nside, nest),
                what=what)


def _load(path):
    """The map file at path (HDF5 or FITS, told by its first bytes) as a _Map; pixels without
    hits (when the file counts them) are masked like UNSEEN ones."""
    path = os.fspath(path)
    m = _load_fits(path) if _file_format(path) == "fits" else _load_hdf5(path)
    if m.hits is not None:
        m.values[:, m.hits <= 0] = np.nan
    return m


def _frame(coordsys):
    c = (coordsys or "").strip().upper()
    if not c:
        return "coordinate frame not stated in the file"
    return f"{FRAMES.get(c[0], c)} coordinates"


def _same(what, a, b, name_a, name_b, label):
    if a and b and a != b:
        raise ValueError(f"{label}: {name_a} and {name_b} have different {what} "
                         f"({a!r} and {b!r})")


def _subtract(m, other, label, regrade):
    """m minus other (both _Map), component by component, in place: NaN where either is
    masked. regrade (--minus) lets other have more components and another nside."""
    a, b = os.path.basename(m.path), os.path.basename(other.path)
    missing = [n for n in m.names if n not in other.names]
    if missing or (not regrade and m.names != other.names):
        raise ValueError(f"{label}: {a} has {', '.join(m.names)} but {b} has "
                         f"{', '.join(other.names)}: "
                         + ("the same components are needed" if not regrade else
                            f"{b} needs every component of {a}"))
    if other.nside != m.nside:
        if not regrade:
            raise ValueError(f"{label}: {a} has nside {m.nside} but {b} has nside "
                             f"{other.nside}: the same nside is needed")
        import healpy as hp

        sky = np.where(np.isnan(other.values), UNSEEN, other.values)
        sky = np.atleast_2d(hp.ud_grade(sky, m.nside, order_in="RING", order_out="RING"))
        other.values = np.where(_unseen(sky), np.nan, sky)
        m.notes.append(f"{b} {'degraded' if other.nside > m.nside else 'upgraded'} from nside "
                       f"{other.nside} to {m.nside} (healpy.ud_grade)")
    _same("coordinate systems", m.coordsys, other.coordsys, a, b, label)
    for k, n in enumerate(m.names):
        _same("units", m.units[k], other.units[other.names.index(n)], a, b, label)
        m.values[k] = m.values[k] - other.values[other.names.index(n)]  # NaN where either is
    if not m.coordsys:
        m.coordsys = other.coordsys
    m.units = [u or other.units[other.names.index(n)] for u, n in zip(m.units, m.names)]


def _ordinal(p):
    p = float(p)
    if p != int(p):
        return f"{p:g}th"
    p = int(p)
    suffix = "th" if 10 <= p % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(p % 10, "th")
    return f"{p}{suffix}"


def _extend(lo, hi, vmin, vmax):
    low, high = lo < vmin, hi > vmax
    return "both" if low and high else "min" if low else "max" if high else "neither"


def _scale(values, diverging, clip):
    """(vmin, vmax, extend, note) of the colour scale of the observed values: the clip and
    100 - clip percentiles (sequential), or +-the clip percentile of |values| (diverging,
    centred on 0); extend says which ends the scale clips, note says how (or "")."""
    if values.size == 0:
        return -1.0, 1.0, "neither", "nothing observed"
    lo, hi = float(values.min()), float(values.max())
    if diverging:
        v = float(np.percentile(np.abs(values), clip))
        if v <= 0:
            v = max(abs(lo), abs(hi))
        if v <= 0:
            return -1.0, 1.0, "neither", "all 0"
        extend = _extend(lo, hi, -v, v)
        note = f"clipped at the {_ordinal(clip)} percentile of |value|"
    else:
        vmin, vmax = (float(x) for x in np.percentile(values, [100.0 - clip, clip]))
        if vmax <= vmin:
            vmin, vmax = lo, hi
        if vmax <= vmin:
            return vmin - 1.0, vmin + 1.0, "neither", f"all {vmin:g}"
        extend = _extend(lo, hi, vmin, vmax)
        note = f"clipped at the {_ordinal(100.0 - clip)}/{_ordinal(clip)} percentile"
        return vmin, vmax, extend, note if extend != "neither" else ""
    return -v, v, extend, note if extend != "neither" else ""


@dataclass
class Panel:
    """One map panel of a figure from map_figure (``fig.panels``)."""

    name: str                   #: its title: "I", "Q - sky", "hits", ...
    ax: object                  #: the matplotlib Axes of the projection
    colorbar: object            #: its matplotlib Colorbar (``colorbar.norm``, ``.extend``)
    cmap: str                   #: colormap name
    vmin: float
    vmax: float
    extend: str                 #: "neither", "min", "max" or "both": the ends the scale clips
    label: str                  #: the colour bar's label (units, and the clip)
    values: np.ndarray          #: (npix,) RING: what is drawn, NaN where grey


def plot_map(path, output, *, diff=None, minus=None, hits=True, clip=99.0,
             remove_monopole=False, title=None, xsize=800, dpi=100):
    """Writes a Mollweide quick-look of every Stokes component of a map file (and its hits).

    Parameters
    ----------
    path : str or os.PathLike
        A tod2map HDF5 map (.h5), a tod2map FITS map, or a HEALPix FITS map from elsewhere
        (healpy.write_map: 1 or 3 columns, RING or NESTED); the file's first bytes say which.
    output : str or os.PathLike
        Image file; the format follows the extension (.png, .pdf, .svg).
    diff : str or os.PathLike, optional
        Another map file of the same nside and components: draws ``path - diff``.
    minus : str or os.PathLike, optional
        An input sky (e.g. the simulator's ``sky.fits``): draws ``path - minus``. The sky needs
        every component of the map (an I map minus an IQU sky uses its I); a sky of another
        nside is brought to the map's with healpy.ud_grade, which the figure says.
    hits : bool
        Draw the hit count in its own panel (log colour scale) when the file has one.
    clip : float
        Percentile the colour scales are clipped at: I from the (100 - clip)th to the clip-th
        percentile, Q, U and differences at +- the clip-th percentile of their absolute value.
        100 shows the full range.
    remove_monopole : bool
        Subtract the mean of the observed pixels from I (the title says by how much): the
        monopole a destriped map does not determine, which would colour all of ``I - sky``.
    title : str, optional
        First line of the figure title (default: the file name and what it holds).
    xsize : int
        Width in pixels of each projected panel.
    dpi : int
        Resolution of the image.

    Returns
    -------
    str
        output.

    Raises
    ------
    OSError
        A file is missing or is not a map.
    ValueError
        diff and minus both given; the maps differ in nside (diff), components, units or
        coordinate system; clip outside (50, 100].

    Notes
    -----
    Uses matplotlib's object API with the Agg canvas, so it never touches pyplot state or
    needs a display. Unobserved pixels (UNSEEN, or no hits) are grey. I uses a sequential
    colour map, Q, U and every difference a diverging one centred on 0, the hits a log scale.
    Colour bars are labelled with the units (HDF5 attribute ``units``, FITS ``TUNITn``) and
    the clipping, and show it with arrows at the clipped ends. A graticule (30 degrees) is
    drawn and the coordinate frame (``coordsys`` / COORDSYS) named.
    """
    fig = map_figure(path, diff=diff, minus=minus, hits=hits, clip=clip,
                     remove_monopole=remove_monopole, title=title, xsize=xsize, dpi=dpi)
    fig.savefig(os.fspath(output), dpi=dpi)
    return os.fspath(output)


def _graticule(ax, proj, step=30.0):
    """Parallels and meridians every step degrees, and the outline of the sky."""
    style = dict(color="0.15", lw=0.35, alpha=0.45, zorder=3)
    lon = np.linspace(-180.0, 180.0, 361)
    for lat in np.arange(-90.0 + step, 90.0, step):
        x, y = proj.ang2xy(lon, np.full_like(lon, lat), lonlat=True)
        ax.plot(x, y, **style)
    lat = np.linspace(-89.9, 89.9, 181)
    for lon0 in np.arange(-180.0 + step, 180.0, step):
        x, y = proj.ang2xy(np.full_like(lat, lon0), lat, lonlat=True)
        ax.plot(x, y, **style)
    t = np.linspace(0.0, 2.0 * np.pi, 361)
    ax.plot(2.0 * np.cos(t), np.sin(t), color="0.3", lw=0.6, zorder=3)


def map_figure(path, *, diff=None, minus=None, hits=True, clip=99.0, remove_monopole=False,
               title=None, xsize=800, dpi=100):
    """The figure plot_map saves (a matplotlib Figure on the Agg canvas), to adjust or embed.
    ``fig.panels`` lists its panels (Panel: name, axes, colour bar, scale)."""
    if diff is not None and minus is not None:
        raise ValueError("give either diff (a map minus another) or minus (a map minus the "
                         "input sky), not both")
    if not 50.0 < float(clip) <= 100.0:
        raise ValueError(f"clip {clip}: expected a percentile in (50, 100]")
    clip = float(clip)
    # First: a bad file fails before the slow imports.
    m = _load(path)
    name = os.path.basename(m.path)
    if diff is not None or minus is not None:
        other = _load(diff if diff is not None else minus)
        label = "--diff" if diff is not None else "--minus"
        _subtract(m, other, label, regrade=minus is not None)
        against = "sky" if minus is not None else os.path.basename(other.path)
        panels = [(f"{n} - {against}", True) for n in m.names]
        what = (f"{name} minus {'the input sky ' if minus is not None else ''}"
                f"{os.path.basename(other.path)}")
    else:
        panels = [(n, n in ("Q", "U")) for n in m.names]
        what = f"{name}: {m.what}"
    import matplotlib
    import matplotlib.cm
    import matplotlib.colors
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    import healpy as hp

    show_hits = hits and m.hits is not None
    n = len(panels) + (1 if show_hits else 0)
    rows, cols = (2, 2) if n == 4 else (1, n)
    fig = Figure(figsize=(max(5.0 * cols, 6.0), 3.3 * rows + 0.45), dpi=dpi,
                 layout="constrained")
    FigureCanvasAgg(fig)
    proj = hp.projector.MollweideProj(xsize=xsize)

    def vec2pix(x, y, z):
        return hp.vec2pix(m.nside, x, y, z)

    def draw(k, image_values, title_text, cmap_name, norm, extend, label):
        # The projector gives -inf outside the ellipse (left transparent) and the map's value
        # inside (NaN where unobserved: grey). One RGBA image, so no layer shows through.
        image = proj.projmap(image_values, vec2pix)
        outside = np.isneginf(image)
        cmap = matplotlib.colormaps[cmap_name]
        finite = np.isfinite(image)
        rgba = cmap(norm(np.where(finite, image, norm.vmin)))
        rgba[np.isnan(image)] = (0.6, 0.6, 0.6, 1.0)
        rgba[outside] = (1.0, 1.0, 1.0, 0.0)
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.imshow(rgba, origin="lower", extent=proj.get_extent(), interpolation="nearest")
        _graticule(ax, proj)
        ax.set_xlim(-2.02, 2.02)
        ax.set_ylim(-1.02, 1.02)
        ax.set_axis_off()
        ax.set_title(title_text, fontsize=11)
        mappable = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
        bar = fig.colorbar(mappable, ax=ax, orientation="horizontal", fraction=0.07, pad=0.03,
                           shrink=0.85, aspect=30, extend=extend)
        bar.ax.tick_params(labelsize=8)
        bar.set_label(label, fontsize=8)
        fig.panels.append(Panel(name=title_text, ax=ax, colorbar=bar, cmap=cmap_name,
                                vmin=float(norm.vmin), vmax=float(norm.vmax), extend=extend,
                                label=label, values=image_values))

    fig.panels = []
    for k, (title_text, diverging) in enumerate(panels):
        values = m.values[k]
        seen = values[np.isfinite(values)]
        if remove_monopole and m.names[k] == "I" and seen.size:
            mean = float(seen.mean())
            values, seen = values - mean, seen - mean
            title_text += f" (mean {mean:.3g}{' ' + m.units[k] if m.units[k] else ''} removed)"
        vmin, vmax, extend, note = _scale(seen, diverging, clip)
        units = m.units[k] or "no units"
        draw(k, values, title_text, "RdBu_r" if diverging else "viridis",
             matplotlib.colors.Normalize(vmin=vmin, vmax=vmax), extend,
             f"{units}, {note}" if note else units)
    if show_hits:
        h = np.where(m.hits > 0, m.hits, np.nan)
        top = float(np.nanmax(h)) if np.isfinite(h).any() else 0.0
        if top > 0:
            norm = matplotlib.colors.LogNorm(vmin=float(np.nanmin(h)), vmax=max(top, 1.0))
            if norm.vmax <= norm.vmin:
                norm = matplotlib.colors.LogNorm(vmin=norm.vmin, vmax=norm.vmin * 10.0)
        else:
            norm = matplotlib.colors.LogNorm(vmin=1.0, vmax=10.0)
        hits_title = "hits" if diff is None and minus is None else f"hits of {name}"
        draw(len(panels), h, hits_title, "magma", norm, "neither",
             "samples per pixel (log scale)")

    observed = int(np.sum(np.isfinite(m.values[0])))
    ordering = "" if m.ordering == "RING" else f" (file in {m.ordering} order)"
    info = "; ".join([f"nside {m.nside}{ordering}, {observed} of {m.values.shape[1]} pixels "
                      f"observed", f"{_frame(m.coordsys)}, graticule every 30°"] + m.notes)
    width = max(40, int(fig.get_figwidth() * 13))  # characters of 10-point text per line
    lines = [line for text in (title if title is not None else what, info)
             for line in textwrap.wrap(text, width)]
    fig.suptitle("\n".join(lines), fontsize=10)
    fig.set_figheight(fig.get_figheight() + 0.17 * (len(lines) - 2))
    return fig
