"""Routing benchmarks: coarse-to-fine refinement and many-to-many against plain solves.

Run from the repository root::

    python benchmarks/bench_routing.py            # 1 km and 500 m, many-to-many at 2 km
    python benchmarks/bench_routing.py --quick    # 2 km and 1 km only (a minute)

Prints the figures and writes them to ``benchmarks/RESULTS.md``.

What is compared, in one process, on the same cost surface:

1. One route across the whole default region, from the Russia–Kazakhstan border near
   Orenburg (55.1 E, 51.2 N) to Tashkent (69.24 E, 41.31 N): ``least_cost_route(...,
   method="refined")`` (coarse solve, then a corridor at full resolution; timed cold, i.e.
   including building the coarse grid, and warm) against a plain full-resolution
   ``skimage.graph.MCP_Geometric`` solve (``find_costs`` from the origin with the
   destination as the end, then ``traceback``). Cost gap, time and peak memory
   (``tracemalloc``: numpy and scikit-image allocations are traced) are reported.
2. Many-to-many, 5 supply points (where Russian gas enters Kazakhstan, one per pipeline
   system) × 30 demand centres (the largest in Kazakhstan, Uzbekistan and Kyrgyzstan):
   ``routes_many_to_many`` (one sweep per origin, all 30 routes traced from it) against
   the best plain use of scikit-image on the same work: per origin, one
   ``MCP_Geometric.find_costs`` with all 30 destinations as ends, then a ``traceback`` to
   each (not 150 single-pair solves, which would flatter the planner).

Cost surface build time is reported separately (it is cached on disk and reused).
"""

from __future__ import annotations

import argparse
import gc
import logging
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from skimage.graph import MCP_Geometric

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from planner import routing, settings  # noqa: E402
from planner.costsurface import CostSurface, build_cost_surface  # noqa: E402
from planner.layers import default_layers  # noqa: E402

ORIGIN = (55.1, 51.2)  # Russia–Kazakhstan border near Orenburg
DESTINATION = (69.24, 41.31)  # Tashkent

#: More origin–destination pairs for the refinement gap (lon, lat).
GAP_PAIRS = {
    "Beyneu → Almaty": ((55.10, 45.18), (76.91, 43.33)),
    "Ashgabat → Bishkek": ((58.38, 37.95), (74.58, 42.88)),
    "Baku → Nukus": ((49.86, 40.40), (59.62, 42.47)),
    "Atyrau → Almaty": ((51.92, 47.11), (76.91, 43.33)),
    "Orenburg border → Tashkent": (ORIGIN, DESTINATION),
}


def measure(fn: Callable[[], Any], repeat: int = 1,
            setup: Callable[[], None] | None = None) -> tuple[Any, float, float]:
    """Result, best-of-``repeat`` seconds and peak traced memory (MiB) of ``fn()``.

    Times come from runs without tracing (tracemalloc slows allocations down); the peak
    from one more run under ``tracemalloc``. The machine may be shared: the best of a
    few runs is the least disturbed one.
    """
    best, out = float("inf"), None
    for _ in range(repeat):
        if setup is not None:
            setup()
        gc.collect()
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    if setup is not None:
        setup()
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, best, peak / 2**20


def plain_solve(surface: CostSurface, o: routing.Place, d: routing.Place) -> float:
    """A plain full-resolution MCP_Geometric solve; returns the route's cost (km-eq)."""
    mcp = MCP_Geometric(surface.cost, sampling=(surface.resolution_m,) * 2)
    mcp.find_costs([(o.row, o.col)], [(d.row, d.col)])
    path = np.asarray(mcp.traceback((d.row, d.col)))
    return routing.path_cost(surface.cost, path[:, 0], path[:, 1], surface.resolution_m)


def surface_at(layers: Any, res: float, cache_dir: Path | None) -> tuple[CostSurface, float]:
    t = time.perf_counter()
    s = build_cost_surface(layers.terrain, layers.countries, layers.water, layers.pipelines,
                           layers.mountains, layers.demand_centres, resolution_m=res,
                           cache_dir=cache_dir)
    return s, time.perf_counter() - t


def fresh_build(layers: Any, res: float) -> tuple[float, float]:
    """Seconds and peak MiB of building a surface without the cache."""
    _, t, m = measure(lambda: build_cost_surface(
        layers.terrain, layers.countries, layers.water, layers.pipelines, layers.mountains,
        layers.demand_centres, resolution_m=res, use_cache=False))
    return t, m


def bench_single(layers: Any, res: float, cache_dir: Path | None) -> dict[str, Any]:
    fresh_s, fresh_mib = fresh_build(layers, res)
    s, t_build = surface_at(layers, res, cache_dir)
    o = routing.locate(s, ORIGIN, "Orenburg border")
    d = routing.locate(s, DESTINATION, "Tashkent")
    # refined cold (includes building the coarse grid), then warm, then plain
    refined, t_cold, m_cold = measure(lambda: routing.least_cost_route(
        s, ORIGIN, DESTINATION, method="refined"), repeat=3, setup=routing.clear_caches)
    _, t_warm, m_warm = measure(lambda: routing.least_cost_route(
        s, ORIGIN, DESTINATION, method="refined"), repeat=3)
    full_cost, t_full, m_full = measure(lambda: plain_solve(s, o, d), repeat=2)
    rc = float(refined.cost.iloc[0])
    return {
        "resolution_m": res, "cells": s.shape[0] * s.shape[1], "shape": s.shape,
        "build_s": t_build, "from_cache": s.from_cache, "fresh_s": fresh_s,
        "fresh_mib": fresh_mib,
        "coarse_factor": routing.default_coarse_factor(s),
        "refined_cost": rc, "full_cost": full_cost,
        "gap_pct": 100.0 * (rc - full_cost) / full_cost,
        "length_km": float(refined.length_km.iloc[0]),
        "refined_cold_s": t_cold, "refined_warm_s": t_warm, "full_s": t_full,
        "refined_cold_mib": m_cold, "refined_warm_mib": m_warm, "full_mib": m_full,
        "speedup_cold": t_full / t_cold, "speedup_warm": t_full / t_warm,
        "memory_ratio": m_full / m_cold,
    }


def bench_gaps(layers: Any, res: float, cache_dir: Path | None) -> list[dict[str, Any]]:
    s, _ = surface_at(layers, res, cache_dir)
    out = []
    for name, (o, d) in GAP_PAIRS.items():
        g = routing.refinement_gap(s, o, d)
        out.append({"pair": name, "resolution_m": res, **g})
    return out


def bench_many(layers: Any, res: float, cache_dir: Path | None) -> dict[str, Any]:
    s, _ = surface_at(layers, res, cache_dir)
    sp = layers.supply_points
    ru = sp[(sp.kind == "border_crossing") & (sp.from_country == "Russia")
            & (sp.to_country == "Kazakhstan")].drop_duplicates("pipeline").head(5)
    dc = layers.demand_centres
    dem = dc[dc.country.isin(["Kazakhstan", "Uzbekistan", "Kyrgyzstan"])].nlargest(
        30, "population")
    supply = {f"{r.pipeline} ({r.supply_id})": (r.geometry.x, r.geometry.y)
              for r in ru.itertuples()}
    demand = {f"{r.name}": (r.geometry.x, r.geometry.y) for r in dem.itertuples()}
    routes, t_ours, m_ours = measure(lambda: routing.routes_many_to_many(
        s, supply, demand, method="full", skip_unreachable=True))
    os_ = [routing.locate(s, p, n) for n, p in supply.items()]
    ds = [routing.locate(s, p, n) for n, p in demand.items()]

    def per_origin() -> dict[tuple[str, str], float]:
        """Plain scikit-image: one multi-target sweep per origin, then one traceback each."""
        out = {}
        for o in os_:
            mcp = MCP_Geometric(s.cost, sampling=(s.resolution_m,) * 2)
            ends = [(d.row, d.col) for d in ds]
            cum, _ = mcp.find_costs([(o.row, o.col)], ends, find_all_ends=True)
            for d in ds:
                if (o.row, o.col) == (d.row, d.col) or not np.isfinite(cum[d.row, d.col]):
                    continue
                path = np.asarray(mcp.traceback((d.row, d.col)))
                out[(o.name, d.name)] = routing.path_cost(s.cost, path[:, 0], path[:, 1],
                                                          s.resolution_m)
        return out

    plain, t_plain, m_plain = measure(per_origin)
    ours = routes.set_index(["origin", "destination"]).cost
    worst = max(abs(ours[k] - v) / v for k, v in plain.items() if k in ours.index)
    return {
        "resolution_m": res, "cells": s.shape[0] * s.shape[1], "pairs": len(routes),
        "supply": list(supply), "ours_s": t_ours, "plain_s": t_plain, "ours_mib": m_ours,
        "plain_mib": m_plain, "speedup": t_plain / t_ours, "max_cost_diff_pct": 100 * worst,
        "routes_km": float(routes.length_km.sum()),
    }


def report(single: list[dict[str, Any]], many: dict[str, Any] | None,
           gaps: list[dict[str, Any]] | None = None) -> str:
    lines = [
        "# Routing benchmarks",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, "
        f"{_cpus()} CPUs; produced by `python benchmarks/bench_routing.py`"
        f"{' --quick' if '--quick' in sys.argv else ''} on {time.strftime('%Y-%m-%d')}.",
        "Peak memory is `tracemalloc`'s peak during the call (numpy and scikit-image "
        "arrays are traced), measured in a separate run; times are wall-clock without "
        "tracing, best of 3 (refined) or 2 (plain) runs after a warm-up, as the machine "
        "may be shared.",
        "",
        "## One route across the default region: Orenburg border (55.1 E, 51.2 N) → "
        "Tashkent",
        "",
        "Refined = `least_cost_route(method=\"refined\")`: solve on a coarsened grid, then "
        "at full resolution inside a corridor around the coarse path (widened while the "
        "path touches its edge). Cold includes building the coarse grid (done once per "
        "surface); plain = one full-resolution `MCP_Geometric` solve with early stop at "
        "the destination.",
        "",
        "| resolution | cells | coarse factor | refined cost (km-eq) | optimum (km-eq) | gap "
        "| refined cold / warm (s) | plain (s) | speed-up cold / warm | peak MiB refined / "
        "plain | memory ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in single:
        lines.append(
            f"| {r['resolution_m']:g} m | {r['cells']:,} | {r['coarse_factor']} | "
            f"{r['refined_cost']:.1f} | {r['full_cost']:.1f} | {r['gap_pct']:.3f} % | "
            f"{r['refined_cold_s']:.2f} / {r['refined_warm_s']:.2f} | {r['full_s']:.2f} | "
            f"{r['speedup_cold']:.1f}× / {r['speedup_warm']:.1f}× | "
            f"{r['refined_cold_mib']:.0f} / {r['full_mib']:.0f} | "
            f"{r['memory_ratio']:.1f}× less |")
    lines += ["", "Cost surface (not in the times above; built once, then cached on disk):", ""]
    for r in single:
        how = "loaded from cache" if r["from_cache"] else "built and cached"
        lines.append(f"- {r['resolution_m']:g} m: build {r['fresh_s']:.1f} s (peak "
                     f"{r['fresh_mib']:.0f} MiB); in the run above {r['build_s']:.1f} s "
                     f"({how}); route length {r['length_km']:.0f} km")
    if gaps:
        lines += [
            "",
            f"## Refinement gap on more pairs at {gaps[0]['resolution_m']:g} m",
            "",
            "`refinement_gap` (defaults: ~1 M-cell coarse grid whose cells cost the mean of "
            "their `factor` cheapest fine cells, corridor 3 coarse cells wide each side). "
            "With block means instead of the cheapest cells the coarse pass misses thin "
            "pipeline corridors and gaps of up to 2 % were measured on these pairs.",
            "",
            "| pair | refined (km-eq) | optimum (km-eq) | gap | refined (s) | full (s) |",
            "|---|---|---|---|---|---|",
        ]
        for g in gaps:
            lines.append(f"| {g['pair']} | {g['refined_cost']:.1f} | {g['optimal_cost']:.1f} | "
                         f"{g['gap_pct']:.3f} % | {g['refined_s']:.2f} | {g['full_s']:.2f} |")
    if many:
        lines += [
            "",
            f"## Many-to-many: 5 supply points × 30 demand centres at "
            f"{many['resolution_m']:g} m ({many['cells']:,} cells)",
            "",
            "Supply: where Russian gas enters Kazakhstan, one point per pipeline system "
            f"({'; '.join(many['supply'])}). Demand: the 30 largest centres in Kazakhstan, "
            "Uzbekistan and Kyrgyzstan.",
            "",
            "| method | routes | time (s) | peak MiB |",
            "|---|---|---|---|",
            f"| `routes_many_to_many` (one sweep per origin) | {many['pairs']} | "
            f"{many['ours_s']:.1f} | {many['ours_mib']:.0f} |",
            f"| plain scikit-image: one `MCP_Geometric` sweep per origin, all ends "
            f"(`find_all_ends=True`), one traceback each | {many['pairs']} | "
            f"{many['plain_s']:.1f} | {many['plain_mib']:.0f} |",
            "",
            f"Ratio {many['speedup']:.2f}× (plain time / ours); largest cost difference "
            f"between the two "
            f"{many['max_cost_diff_pct']:.2g} %; {many['routes_km']:,.0f} km of routes.",
        ]
    return "\n".join(lines) + "\n"


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="2 km and 1 km only")
    ap.add_argument("--cache-dir", type=Path, default=None,
                    help=f"cost-surface cache (default {settings.CACHE_DIR})")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS.md"))
    ap.add_argument("--no-many", action="store_true", help="skip the many-to-many benchmark")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    layers = default_layers()
    # warm-up: first-call costs of the libraries (PROJ database, scikit-image) are no
    # part of either method
    warm, _ = surface_at(layers, 20_000.0, args.cache_dir)
    routing.least_cost_route(warm, ORIGIN, DESTINATION, method="refined")
    plain_solve(warm, routing.locate(warm, ORIGIN), routing.locate(warm, DESTINATION))
    resolutions = [2000.0, 1000.0] if args.quick else [1000.0, 500.0]
    single = []
    for res in resolutions:
        r = bench_single(layers, res, args.cache_dir)
        single.append(r)
        print(f"{res:>6g} m  {r['cells']:>11,} cells  refined {r['refined_cost']:.1f} vs "
              f"optimum {r['full_cost']:.1f} km-eq (gap {r['gap_pct']:.3f} %)  time "
              f"{r['refined_cold_s']:.2f} s cold / {r['refined_warm_s']:.2f} s warm vs "
              f"{r['full_s']:.2f} s ({r['speedup_cold']:.1f}× / {r['speedup_warm']:.1f}×)  "
              f"peak {r['refined_cold_mib']:.0f} vs {r['full_mib']:.0f} MiB "
              f"({r['memory_ratio']:.1f}× less)", flush=True)
    gaps = bench_gaps(layers, 1000.0 if not args.quick else 2000.0, args.cache_dir)
    for g in gaps:
        print(f"gap {g['pair']}: {g['gap_pct']:.3f} %", flush=True)
    many = None
    if not args.no_many:
        many = bench_many(layers, 2000.0, args.cache_dir)
        print(f"many-to-many 5 × 30 at 2 km: {many['pairs']} routes in {many['ours_s']:.1f} s "
              f"({many['ours_mib']:.0f} MiB) vs plain scikit-image, one sweep per origin "
              f"{many['plain_s']:.1f} s ({many['plain_mib']:.0f} MiB): {many['speedup']:.2f}×; "
              f"max cost difference "
              f"{many['max_cost_diff_pct']:.2g} %", flush=True)
    text = report(single, many, gaps)
    args.out.write_text(text, encoding="utf-8")
    print(f"written {args.out}")
    ok = all(r["gap_pct"] < 1.0 and r["speedup_cold"] >= 5 and r["memory_ratio"] > 1
             for r in single if r["resolution_m"] <= 1000) and all(
                 g["gap_pct"] < 1.0 for g in gaps)
    print("targets at ≤ 1 km (gap < 1 %, ≥ 5× faster, less memory):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
