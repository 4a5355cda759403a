"""Benchmark: a cost surface at 100 m over a national extent, its peak memory against the
estimate :func:`planner.costsurface.build_memory_bytes` and the limit.

The surface covers the bounding box of one country of the default layers (default
Uzbekistan; ``--country KAZ`` for Kazakhstan, about four times the cells) at
``--resolution`` metres, built without the cache (nothing written). Each build runs in a
fresh process; peak memory is the process's peak resident set (``ru_maxrss``), printed
with the resident set before the build (layers loaded, interpreter and libraries).

Run::

    PYTHONPATH=. python benchmarks/bench_costsurface.py                 # UZB at 100 m
    PYTHONPATH=. python benchmarks/bench_costsurface.py --country KAZ
    PYTHONPATH=. python benchmarks/bench_costsurface.py --resolution 1000 --resolution 100

Printing is the point of a benchmark; the package itself logs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def one_build(country: str, resolution_m: float) -> dict[str, float]:
    """Build one surface in this process and measure it (run in a fresh process)."""
    import resource
    import time

    from planner import costsurface, settings
    from planner.layers import default_layers

    layers = default_layers()
    c = layers.countries[layers.countries["iso_a3"] == country]
    if c.empty:
        raise SystemExit(f"no country {country!r} in the countries layer")
    bounds = tuple(float(b) for b in c.total_bounds)
    _, shape = costsurface.study_grid(bounds, resolution_m, settings.STUDY_CRS)
    before = _rss_mib()
    t0 = time.perf_counter()
    s = costsurface.build_cost_surface(
        layers.terrain, layers.countries, layers.water, layers.pipelines, layers.mountains,
        layers.demand_centres, resolution_m=resolution_m, region=bounds,  # type: ignore[arg-type]
        use_cache=False)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cells = shape[0] * shape[1]
    return {"rows": shape[0], "cols": shape[1], "cells": cells, "seconds": seconds,
            "rss_before_mib": before, "peak_mib": peak,
            "estimate_mib": costsurface.build_memory_bytes(shape, layers.terrain.shape) / 2**20,
            "result_mib": (s.cost.nbytes + s.elevation.nbytes + s.country.nbytes) / 2**20,
            "limit_gib": costsurface.memory_limit_bytes() / 2**30,
            "barrier_share": float((~(s.cost < float("inf"))).mean())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--country", default="UZB", help="ISO3 code (default UZB)")
    ap.add_argument("--resolution", type=float, action="append",
                    help="metres (repeatable; default 100)")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    resolutions = args.resolution or [100.0]
    if args.one:
        print(json.dumps(one_build(args.country, resolutions[0])))
        return
    print(f"Cost surface over the extent of {args.country}, built without the cache; each "
          "in a fresh process.\n")
    print("| resolution | cells | build (s) | RSS before (MiB) | peak RSS (MiB) | "
          "peak - before (MiB) | estimate (MiB) | result arrays (MiB) | B/cell measured | "
          "limit (GiB) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for res in resolutions:
        out = subprocess.run([sys.executable, __file__, "--one", "--country", args.country,
                              "--resolution", str(res)], capture_output=True, text=True,
                             check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        grow = r["peak_mib"] - r["rss_before_mib"]
        print(f"| {res:g} m | {r['cells']:,} ({r['rows']:,} x {r['cols']:,}) | "
              f"{r['seconds']:.1f} | {r['rss_before_mib']:.0f} | {r['peak_mib']:.0f} | "
              f"{grow:.0f} | {r['estimate_mib']:.0f} | {r['result_mib']:.0f} | "
              f"{grow * 2**20 / r['cells']:.1f} | {r['limit_gib']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
