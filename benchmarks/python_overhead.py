#!/usr/bin/python3
"""Overhead of the Python route (tod2map.run) over the executable (tod2map run) for one run.

Simulates a data set from the reference config (benchmarks/configs/destripe_2e7.yaml, with the
observation count and nside given here), then times the same run both ways, alternating, on
the same rank count:

    exe:     [mpiexec -n R] build/apps/tod2map run CONFIG
    python:  [mpiexec -n R] /usr/bin/python3 -c "import tod2map; tod2map.run(CONFIG)"

Each measurement is the wall time of the whole command (interpreter start, imports, MPI and
Kokkos start-up, reading, solving, writing, shut-down), the CPU time of all its processes, and
the run's own "total" phase. The overheads are (python - exe) / exe: on the medians of the wall
time, of the CPU time and of the run's total, on the fastest wall times, and as the difference
of the time spent outside the run (wall - run total: start-up and shut-down) relative to the
executable's wall time. That last one is the Python route's own cost (the run is the same C++
function both ways), and the least disturbed by other load on the machine.

    PYTHONPATH=build/python benchmarks/python_overhead.py [--observations 2] [--nside 256]
        [--ranks 1] [--repeat 3] [--workdir /tmp/tod2map-bench-python] [--json FILE]
"""
import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE_CONFIG = os.path.join(REPO, "benchmarks", "configs", "destripe_2e7.yaml")
SAMPLES_PER_OBSERVATION = 4 * 5000 * 50  # detectors x seconds x Hz, as the reference config

PY_SNIPPET = """
import sys, time
t0 = time.perf_counter()
import tod2map
t1 = time.perf_counter()
r = tod2map.run(sys.argv[1], overrides=sys.argv[2:])
from mpi4py import MPI
if MPI.COMM_WORLD.rank == 0:
    print(f"import_seconds {t1 - t0:.4f}")
    print(f"run_total {r.timings['total']:.4f}")
"""


def mpi_env():
    """The environment of scripts/mpi-env (Open MPI as root, oversubscription)."""
    env = dict(os.environ)
    with open(os.path.join(REPO, "scripts", "mpi-env")) as f:
        for line in f:
            m = re.match(r"\s*export\s+(\w+)=(\S*)", line)
            if m:
                env[m.group(1)] = m.group(2)
    return env


def timed(cmd, env, cwd):
    """(wall seconds, CPU seconds of the command and its processes, stdout) of a command that
    must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"python_overhead: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--observations", type=int, default=2,
                    help="observations of 1e6 samples (default 2: 2e6 samples)")
    ap.add_argument("--nside", type=int, default=256)
    ap.add_argument("--ranks", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", default="/tmp/tod2map-bench-python")
    ap.add_argument("--exe", default=os.environ.get("TOD2MAP_EXE",
                                                    os.path.join(REPO, "build", "apps", "tod2map")))
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--json", help="also write the measurements to this file")
    args = ap.parse_args()

    env = mpi_env()
    if "PYTHONPATH" not in env:
        env["PYTHONPATH"] = os.path.join(REPO, "build", "python")
    os.makedirs(args.workdir, exist_ok=True)
    config = os.path.join(args.workdir, "config.yaml")
    shutil.copyfile(REFERENCE_CONFIG, config)
    sets = [f"simulation.n_observations={args.observations}", f"pixelization.nside={args.nside}",
            f"simulation.file_prefix=py{args.observations}"]
    sets.append(f"input.files=[data/py{args.observations}_*.fits]")
    launcher = ["mpiexec", "-n", str(args.ranks)] if args.ranks > 1 else []
    set_args = [a for s in sets for a in ("--set", s)]
    data = os.path.join(args.workdir, "data", f"py{args.observations}_0000.fits")
    if not os.path.exists(data):
        print(f"simulating {args.observations * SAMPLES_PER_OBSERVATION:.3g} samples into "
              f"{args.workdir}/data ...", flush=True)
        timed(launcher + [args.exe, "sim", config] + set_args, env, args.workdir)

    exe_cmd = launcher + [args.exe, "run", config] + set_args + ["--set", "output.path=out/exe.h5"]
    py_cmd = launcher + [args.python, "-c", PY_SNIPPET, config] + sets + ["output.path=out/py.h5"]
    rows = {"exe": [], "python": []}
    for i in range(args.repeat):
        for route, cmd in (("exe", exe_cmd), ("python", py_cmd)):
            wall, cpu, out = timed(cmd, env, args.workdir)
            if route == "exe":
                total = float(re.search(r"^total\s+([0-9.]+)", out, re.M).group(1))
                imp = 0.0
            else:
                total = float(re.search(r"^run_total ([0-9.]+)", out, re.M).group(1))
                imp = float(re.search(r"^import_seconds ([0-9.]+)", out, re.M).group(1))
            rows[route].append({"wall": wall, "cpu": cpu, "run_total": total, "import": imp})
            print(f"  {route:6s} #{i + 1}: wall {wall:7.3f} s, cpu {cpu:7.3f} s, run total "
                  f"{total:7.3f} s", flush=True)

    def med(route, key):
        return statistics.median(r[key] for r in rows[route])

    def least(route, key):
        return min(r[key] for r in rows[route])

    result = {
        "samples": args.observations * SAMPLES_PER_OBSERVATION, "nside": args.nside,
        "ranks": args.ranks, "repeat": args.repeat, "runs": rows,
        "wall_exe": med("exe", "wall"), "wall_python": med("python", "wall"),
        "total_exe": med("exe", "run_total"), "total_python": med("python", "run_total"),
        "import_python": med("python", "import"),
        "cpu_exe": med("exe", "cpu"), "cpu_python": med("python", "cpu"),
        "min_wall_exe": least("exe", "wall"), "min_wall_python": least("python", "wall"),
    }
    # Start-up and shut-down: what the command spends outside the run itself. The run is the
    # same C++ function both ways, so this difference is the Python route's own cost; it is
    # also less sensitive to other load on the machine than the difference of whole runs.
    for route in rows:
        for r in rows[route]:
            r["outside"] = r["wall"] - r["run_total"]
    result["outside_exe"] = med("exe", "outside")
    result["outside_python"] = med("python", "outside")
    result["overhead_wall"] = result["wall_python"] / result["wall_exe"] - 1
    result["overhead_min_wall"] = result["min_wall_python"] / result["min_wall_exe"] - 1
    result["overhead_cpu"] = result["cpu_python"] / result["cpu_exe"] - 1
    result["overhead_total"] = result["total_python"] / result["total_exe"] - 1
    result["overhead_outside"] = (result["outside_python"] - result["outside_exe"]) / result["wall_exe"]
    print(f"\n{result['samples']:.3g} samples, nside {args.nside}, {args.ranks} rank(s), "
          f"median of {args.repeat} (unless said otherwise), load average at the end "
          f"{os.getloadavg()[0]:.2f}:\n")
    print("| | executable | Python | overhead |")
    print("|---|---|---|---|")
    print(f"| whole command, wall (s) | {result['wall_exe']:.3f} | {result['wall_python']:.3f} | "
          f"{100 * result['overhead_wall']:+.1f}% |")
    print(f"| whole command, fastest wall (s) | {result['min_wall_exe']:.3f} | "
          f"{result['min_wall_python']:.3f} | {100 * result['overhead_min_wall']:+.1f}% |")
    print(f"| whole command, CPU of all processes (s) | {result['cpu_exe']:.3f} | "
          f"{result['cpu_python']:.3f} | {100 * result['overhead_cpu']:+.1f}% |")
    print(f"| run's total phase (s) | {result['total_exe']:.3f} | {result['total_python']:.3f} | "
          f"{100 * result['overhead_total']:+.1f}% |")
    print(f"| start-up + shut-down: wall - run total (s) | {result['outside_exe']:.3f} | "
          f"{result['outside_python']:.3f} | {100 * result['overhead_outside']:+.1f}% of the "
          f"executable's wall time |")
    print(f"| `import tod2map` (s) | - | {result['import_python']:.3f} | |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
