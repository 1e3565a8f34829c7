"""Quick-look images of map files: Mollweide projections of I, Q, U (healpy + matplotlib)."""
import os

import numpy as np

from ._maps import UNSEEN, read_map


def _load(path):
    """(maps (nstokes, npix), stokes names, nside, nest, description, units) of a map file."""
    if str(path).endswith((".fits", ".fit", ".fits.gz")):
        import healpy as hp

        maps, header = hp.read_map(str(path), field=None, h=True, nest=None, dtype=np.float64)
        maps = np.atleast_2d(maps)
        header = dict(header)
        # Our FITS maps (and healpy's) name the columns I_STOKES, Q_STOKES, U_STOKES and may
        # add HITS: keep the Stokes columns, with their TUNITn.
        ttypes = [str(header.get(f"TTYPE{k + 1}", "")).strip().upper() for k in range(len(maps))]
        keep = [k for k, t in enumerate(ttypes) if t != "HITS"] or list(range(len(maps)))
        stokes = {"I_STOKES": "I", "Q_STOKES": "Q", "U_STOKES": "U", "TEMPERATURE": "I",
                  "Q_POLARISATION": "Q", "U_POLARISATION": "U"}
        names = [stokes.get(ttypes[k], "IQU"[k] if len(keep) <= 3 and k < 3 else str(k))
                 for k in keep]
        units = str(header.get(f"TUNIT{keep[0] + 1}", "") or "").strip()
        nest = str(header.get("ORDERING", "RING")).upper().startswith("NEST")
        coordsys = str(header.get("COORDSYS", "") or "").strip()
        return (maps[keep], names, hp.npix2nside(maps.shape[1]), nest,
                f"FITS map, {coordsys or '?'}", units)
    f = read_map(path)
    return (f.map, list(f.stokes), f.nside, f.ordering == "NEST",
            f"{f.method}, {f.coordsys or '?'}", f.units)


def _limits(values, name):
    """Colour range: 1-99 percentiles of the observed values, symmetric for Q and U."""
    if values.size == 0:
        return -1.0, 1.0
    if name in ("Q", "U"):
        v = float(np.percentile(np.abs(values), 99))
        return (-v, v) if v > 0 else (-1.0, 1.0)
    lo, hi = (float(x) for x in np.percentile(values, [1, 99]))
    return (lo, hi) if hi > lo else (lo - 1.0, lo + 1.0)


def plot_map(path, output, *, title=None, xsize=800, dpi=100):
    """Writes a Mollweide quick-look of every Stokes component of a map file.

    Parameters
    ----------
    path : str or os.PathLike
        A tod2map HDF5 map (.h5) or a healpy-readable FITS map (.fits).
    output : str or os.PathLike
        Image file; the format follows the extension (.png, .pdf, .svg).
    title : str, optional
        Figure title (default: the file name, method, nside).
    xsize : int
        Width in pixels of each projected panel.
    dpi : int
        Resolution of the image.

    Notes
    -----
    Uses matplotlib's object API with the Agg canvas, so it never touches pyplot state or
    needs a display. Unobserved pixels (UNSEEN) are grey. Colour bars are labelled with the
    map's units (HDF5 attribute ``units``, FITS ``TUNITn``).
    """
    fig = map_figure(path, title=title, xsize=xsize, dpi=dpi)
    fig.savefig(os.fspath(output), dpi=dpi)
    return os.fspath(output)


def map_figure(path, *, title=None, xsize=800, dpi=100):
    """The figure plot_map saves (a matplotlib Figure on the Agg canvas), to adjust or embed."""
    # First: a bad file fails before the slow imports.
    maps, names, nside, nest, what, units = _load(path)
    import healpy as hp
    import matplotlib
    import matplotlib.cm
    import matplotlib.colors
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    proj = hp.projector.MollweideProj(xsize=xsize)

    def vec2pix(x, y, z):
        return hp.vec2pix(nside, x, y, z, nest=nest)

    n = len(names)
    fig = Figure(figsize=(4.5 * n, 3.1), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    for i, name in enumerate(names):
        m = np.asarray(maps[i], dtype=np.float64)
        seen = (m != UNSEEN) & np.isfinite(m)
        # The projector gives -inf outside the ellipse (left white) and the map's value inside
        # (NaN where unobserved: grey). One RGBA image, so no layer can show through another.
        image = proj.projmap(np.where(seen, m, np.nan), vec2pix)
        outside = np.isneginf(image)
        vmin, vmax = _limits(m[seen], name)
        cmap = matplotlib.colormaps["RdBu_r" if name in ("Q", "U") else "viridis"]
        norm = matplotlib.colors.Normalize(vmin=vmin, vmax=vmax)
        rgba = cmap(norm(np.where(np.isfinite(image), image, vmin)))
        rgba[np.isnan(image)] = (0.6, 0.6, 0.6, 1.0)
        rgba[outside] = (1.0, 1.0, 1.0, 0.0)
        ax = fig.add_subplot(1, n, i + 1)
        ax.imshow(rgba, origin="lower", extent=proj.get_extent(), interpolation="nearest")
        mappable = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
        ax.set_axis_off()
        ax.set_title(name, fontsize=10)
        bar = fig.colorbar(mappable, ax=ax, orientation="horizontal", fraction=0.06, pad=0.02,
                           shrink=0.8)
        bar.set_label(units or "no units", fontsize=9)
    observed = int(np.sum((maps[0] != UNSEEN) & np.isfinite(maps[0])))
    fig.suptitle(title if title is not None
                 else f"{os.path.basename(str(path))}: {what}, nside {nside}, {observed} of "
                      f"{maps.shape[1]} pixels observed", fontsize=10)
    return fig
