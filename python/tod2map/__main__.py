"""Command line: ``python3 -m tod2map plot MAP -o IMAGE [--diff OTHER | --minus SKY]``,
``python3 -m tod2map halfdiff A B -o OUT.fits``."""
import argparse
import sys

import numpy as np


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m tod2map",
                                     description="tod2map command-line tools (Python side).")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plot", help="Mollweide quick-look of I, Q, U (and hits) of a map file",
                       description="Mollweide quick-look of every Stokes component of a tod2map "
                                   "map (HDF5 or FITS) or a HEALPix FITS map (healpy), and of "
                                   "its hit count, written as an image. I has a sequential "
                                   "colour map, Q, U and differences a diverging one centred "
                                   "on 0, clipped at robust percentiles; hits a log scale.")
    p.add_argument("map", help="map file (.h5 from tod2map run, or .fits)")
    p.add_argument("-o", "--output", required=True, help="image file (.png, .pdf, .svg)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--diff", metavar="OTHER",
                      help="draw MAP - OTHER (a map of the same nside and components)")
    what.add_argument("--minus", metavar="SKY",
                      help="draw MAP - SKY, an input sky (e.g. the simulator's data/sky.fits) "
                           "with every component of MAP; another nside is ud_graded to MAP's")
    p.add_argument("--no-hits", action="store_true", help="leave out the hits panel")
    p.add_argument("--clip", type=float, default=99.0, metavar="PCT",
                   help="clip the colour scales at this percentile (I: 100-PCT to PCT; Q, U, "
                        "differences: +-PCT of the absolute value; default 99, 100: no clip)")
    p.add_argument("--remove-monopole", action="store_true",
                   help="subtract the mean of I (the offset destriping leaves undetermined)")
    p.add_argument("--title", help="first line of the figure title")
    p.add_argument("--xsize", type=int, default=800, help="panel width in pixels (default 800)")
    p.add_argument("--dpi", type=int, default=100, help="image resolution (default 100)")
    h = sub.add_parser("halfdiff", help="(A - B) / 2 of two split maps, as a healpy FITS map",
                       description="The half-difference (A - B) / 2 of two maps of the same sky "
                                   "(tod2map HDF5 split maps: half-missions, detector sets), the "
                                   "noise left in their mean; UNSEEN where either is. Written "
                                   "as a FITS map healpy reads, with the Stokes names, "
                                   "ordering, coordinate system and units of A.")
    h.add_argument("a", help="map file A (.h5)")
    h.add_argument("b", help="map file B (.h5)")
    h.add_argument("-o", "--output", required=True, help="FITS map to write (.fits)")
    args = parser.parse_args(argv)
    if args.command == "halfdiff":
        return _halfdiff(args)

    from .plot import plot_map  # after argument parsing: --help needs no MPI or healpy

    try:
        out = plot_map(args.map, args.output, diff=args.diff, minus=args.minus,
                       hits=not args.no_hits, clip=args.clip,
                       remove_monopole=args.remove_monopole, title=args.title,
                       xsize=args.xsize, dpi=args.dpi)
    except (OSError, ValueError) as e:
        print(f"tod2map plot: error: {e}", file=sys.stderr)
        return 1
    print(f"tod2map plot: wrote {out}")
    return 0


def _halfdiff(args):
    from ._maps import half_difference, read_map

    try:
        a, b = read_map(args.a), read_map(args.b)
        if (a.nside, a.ordering, a.coordsys) != (b.nside, b.ordering, b.coordsys):
            raise ValueError(f"{args.a} and {args.b} differ in nside, ordering or coordinate "
                             f"system ({a.nside} {a.ordering} {a.coordsys or '-'} against "
                             f"{b.nside} {b.ordering} {b.coordsys or '-'})")
        diff = half_difference(a, b)
        import healpy

        healpy.write_map(args.output, list(diff), nest=a.ordering == "NEST",
                         coord=a.coordsys or None, column_names=list(a.stokes),
                         column_units=a.units or None, overwrite=True, dtype=np.float64)
    except (OSError, ValueError) as e:
        print(f"tod2map halfdiff: error: {e}", file=sys.stderr)
        return 1
    print(f"tod2map halfdiff: wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
