#!/usr/bin/python3
"""Speed of the FITS timeline reader against a raw read(2) of the same files.

For the input files of a config (default: the reference benchmarks/configs/destripe_2e7.yaml,
whose data `tod2map sim` writes), with the files in the page cache:

    raw:    read(2) of every file into one reused 1 MiB buffer (the ceiling: a copy out of the
            page cache, no decoding, no output arrays)
    reader: tod2map.read_timelines(config), all of the rank's timelines kept in memory; the
            reader thread's own time is the "reader busy X s" of the "input:" line it logs

Both are the best of --repeat runs, as GB/s of file bytes. The streaming reader that `tod2map
run` uses (read_each_timeline, reading the next timeline ahead while the pointing of the
current one is expanded) logs the same "input:" line there.

    PYTHONPATH=build/python benchmarks/fits_read.py [CONFIG] [--repeat 3]
"""
import argparse
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE_CONFIG = os.path.join(REPO, "benchmarks", "configs", "destripe_2e7.yaml")


def raw_read_seconds(files):
    buf = memoryview(bytearray(1 << 20))
    start = time.perf_counter()
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            while os.readv(fd, [buf]) > 0:
                pass
        finally:
            os.close(fd)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default=REFERENCE_CONFIG)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import tod2map  # after argument parsing, so --help works without the module

    config = tod2map.load_config(args.config)
    try:
        files = [os.path.join(config.base_dir, f) for f in config.input_files()]
    except ValueError as e:
        sys.exit(f"fits_read.py: {e} (run `tod2map sim {args.config}` first)")
    size = sum(os.path.getsize(f) for f in files)
    raw_read_seconds(files)  # into the page cache

    raw = min(raw_read_seconds(files) for _ in range(args.repeat))
    reader = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        timelines = tod2map.read_timelines(config)
        reader.append(time.perf_counter() - start)
        del timelines
    best = min(reader)
    print(f"files:  {len(files)}, {size / 1e9:.3f} GB")
    print(f"raw:    {raw:.3f} s = {size / 1e9 / raw:.2f} GB/s")
    print(f"reader: {best:.3f} s = {size / 1e9 / best:.2f} GB/s "
          f"({100 * raw / best:.0f}% of raw; read_timelines wall time, Python conversion included)")


if __name__ == "__main__":
    main()
