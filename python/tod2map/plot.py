"""Quick-look images of map files: Mollweide projections of I, Q, U (healpy + matplotlib)."""
import os

import numpy as np

from ._maps import UNSEEN, read_map


def _load(path):
    """(maps (nstokes, npix), stokes names, nside, nest, description) of a .h5 or .fits map."""
    if str(path).endswith((".fits", ".fit", ".fits.gz")):
        import healpy as hp

        maps, header = hp.read_map(str(path), field=None, h=True, nest=None, dtype=np.float64)
        maps = np.atleast_2d(maps)
        header = dict(header)
        names = "IQU"[: maps.shape[0]] if maps.shape[0] <= 3 else [str(i) for i in range(len(maps))]
        nest = str(header.get("ORDERING", "RING")).upper().startswith("NEST")
        return maps, list(names), hp.npix2nside(maps.shape[1]), nest, "FITS map"
    f = read_map(path)
    return f.map, list(f.stokes), f.nside, f.ordering == "NEST", f"{f.method}, {f.coordsys or '?'}"


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
    needs a display. Unobserved pixels (UNSEEN) are grey.
    """
    maps, names, nside, nest, what = _load(path)  # first: a bad file fails before slow imports
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
        fig.colorbar(mappable, ax=ax, orientation="horizontal", fraction=0.06, pad=0.02,
                     shrink=0.8)
    observed = int(np.sum((maps[0] != UNSEEN) & np.isfinite(maps[0])))
    fig.suptitle(title if title is not None
                 else f"{os.path.basename(str(path))}: {what}, nside {nside}, {observed} of "
                      f"{maps.shape[1]} pixels observed", fontsize=10)
    fig.savefig(os.fspath(output), dpi=dpi)
    return os.fspath(output)
