#!/usr/bin/env python3
"""The memory estimate against measured peak RSS (issue 17, memory plan).

For each size of `benchmarks/run --scaling` (the reference config's scan and focal plane, with
the number of samples and nside changed), simulates the data once, then at each rank count:
runs `tod2map run` (solver.maxiter 5: memory does not depend on the iteration count) and reads
its estimate made before allocating and its peak RSS per rank; runs `tod2map plan` from the
headers alone, with the whole sky (--sky-fraction 1) and with the fraction of pixels the run
observed. Prints a Markdown table.

    benchmarks/memory_plan.py [--work /tmp/tod2map-memory] [--sizes 1e6:128,...] [--ranks 1,2]
                              [--method destripe|binned|gls]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, "benchmarks", "configs", "destripe_2e7.yaml")
EXE = os.path.join(REPO, "build", "apps", "tod2map")
DETECTORS, RATE, OBS_SECONDS = 4, 50.0, 5000.0  # as the reference config


def layout(samples):
    per_obs_det = samples / DETECTORS / RATE
    n_obs = max(2, int(round(per_obs_det / OBS_SECONDS)))
    return n_obs, per_obs_det / n_obs


def env():
    e = dict(os.environ)
    e.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
             OMPI_MCA_rmaps_base_oversubscribe="1")
    return e


def run(cmd, cwd, allow_fail=False):
    p = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, text=True)
    if allow_fail:
        return p.stdout + p.stderr
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return p.stdout


def number(pattern, text):
    m = re.search(pattern, text)
    if not m:
        sys.exit(f"no match for {pattern!r}")
    return m.group(1)


def mib(text):
    value, unit = text.split()
    return float(value) * (1024.0 if unit == "GiB" else 1.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="/tmp/tod2map-memory")
    ap.add_argument("--sizes", default="1e6:128,1e6:512,2e7:512,2e7:2048,1e8:512,1e8:2048")
    ap.add_argument("--ranks", default="1,2")
    ap.add_argument("--method", default="destripe", choices=("destripe", "binned", "gls"))
    args = ap.parse_args()
    rows = []
    for size in args.sizes.split(","):
        samples, nside = float(size.split(":")[0]), int(size.split(":")[1])
        n_obs, length = layout(samples)
        case = os.path.join(args.work, size.replace(":", "_"))
        sets = [f"simulation.n_observations={n_obs}",
                f"simulation.observation_length={length:.6g}", f"pixelization.nside={nside}",
                "solver.maxiter=5"]
        flags = sum((["--set", s] for s in sets), [])
        if not os.path.isdir(os.path.join(case, "data")):
            os.makedirs(case, exist_ok=True)
            shutil.copyfile(CONFIG, os.path.join(case, "config.yaml"))
            run(["mpiexec", "-n", "2", EXE, "sim", "config.yaml"] + flags, case)
        for ranks in [int(r) for r in args.ranks.split(",")]:
            method = ["--set", f"mapmaker.method={args.method}"]
            out = run(["mpiexec", "-n", str(ranks), EXE, "run", "config.yaml"] + flags + method, case)
            estimate = float(number(r"memory: estimated ([0-9.]+) MiB per rank", out))
            peak = max(float(v) for v in
                       number(r"peak memory per rank \(MiB\):((?:\s+[0-9.]+)+)", out).split())
            observed = int(number(r"pixels observed (\d+)", out))
            fraction = observed / (12 * nside * nside)
            plans = []
            for f in (1.0, fraction):
                # A plan that does not fit this machine exits 1 but still says its estimate.
                p = run([EXE, "plan", "config.yaml", "-n", str(ranks), "--sky-fraction",
                         f"{f:.6g}"] + flags + method, case, allow_fail=True)
                plans.append(mib(number(r"(?:total\s+|would need about )([0-9.]+ [GM]iB)", p)))
            rows.append((size, ranks, peak, estimate, plans[0], fraction, plans[1]))
            print(f"{size} x{ranks}: peak {peak:.0f} MiB, run estimate {estimate:.0f}, plan "
                  f"{plans[0]:.0f} (sky 1), {plans[1]:.0f} (sky {fraction:.3f})", flush=True)
    print()
    print(f"method {args.method}")
    print("| samples:nside | ranks | peak RSS MiB/rank | run's estimate | ratio | plan, sky 1 | "
          "ratio | observed fraction | plan, that fraction | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size, ranks, peak, est, p1, f, pf in rows:
        print(f"| {size} | {ranks} | {peak:.0f} | {est:.0f} | {est / peak:.2f} | {p1:.0f} | "
              f"{p1 / peak:.2f} | {f:.3f} | {pf:.0f} | {pf / peak:.2f} |")


if __name__ == "__main__":
    main()
