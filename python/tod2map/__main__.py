"""Command line: ``python3 -m tod2map plot MAP -o IMAGE``."""
import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m tod2map",
                                     description="tod2map command-line tools (Python side).")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plot", help="Mollweide quick-look of I, Q, U of a map file",
                       description="Mollweide quick-look of every Stokes component of a tod2map "
                                   "HDF5 map (or a healpy FITS map), written as an image.")
    p.add_argument("map", help="map file (.h5 from tod2map run, or .fits)")
    p.add_argument("-o", "--output", required=True, help="image file (.png, .pdf, .svg)")
    p.add_argument("--title", help="figure title")
    p.add_argument("--xsize", type=int, default=800, help="panel width in pixels (default 800)")
    p.add_argument("--dpi", type=int, default=100, help="image resolution (default 100)")
    args = parser.parse_args(argv)

    from .plot import plot_map  # after argument parsing: --help needs no MPI or healpy

    try:
        out = plot_map(args.map, args.output, title=args.title, xsize=args.xsize, dpi=args.dpi)
    except (OSError, ValueError) as e:
        print(f"tod2map plot: error: {e}", file=sys.stderr)
        return 1
    print(f"tod2map plot: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
