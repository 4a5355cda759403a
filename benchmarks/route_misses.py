"""Why routes miss built lines: the per-line diagnosis of the route backtest (README,
"Route backtest", "Diagnosis of the misses").

For each line, with the shipped calibrated factors: the real line's sinuosity (length over
the straight line between its ends), the generated route's and the straight line's mean
distance to it, the cost (km-eq, the surface integrated every quarter cell) of the real
line, the route and the straight line on the line's own surface, the share of each lying
in a town discount, a corridor discount and on steep ground (hill or mountain slope in
more than 5 % / 2 % of the cell, or a mountain range), and the factor under the route
where it strays furthest from the real line. A miss is "grid" when the straight line or
the real line (crossing no barrier cell) costs less than the route the solver found (the
solver cannot follow it), "model" when the route is the cheapest (the factors pull it
away).

    python benchmarks/route_misses.py                       # 10 km, 8 neighbours
    python benchmarks/route_misses.py --straighten          # as the README table (measured
                                                            # with straightened grid routes)
    python benchmarks/route_misses.py --resolution-km 5 --misses-only
    python benchmarks/route_misses.py --neighbours 16

Runs one process; about 10 s at 10 km, a minute at 2 km (cached surfaces after).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import pandas as pd
import shapely

from planner.backtest import routes as R
from planner.costsurface import calibrated_cost_params
from planner.lattice import NEIGHBOURS
from planner.layers import default_layers


def _samples(g: Any, step: float) -> np.ndarray:
    n = max(2, int(g.length // step) + 1)
    return shapely.get_coordinates(shapely.line_interpolate_point(g, np.linspace(0, g.length, n)))


def _cells(surface: Any, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r, c = surface.xy_to_rowcol(xy[:, 0], xy[:, 1])
    h, w = surface.shape
    return np.clip(r, 0, h - 1), np.clip(c, 0, w - 1)


def _line_cost(surf: Any, g: Any) -> tuple[float, float]:
    """km-eq of a line on a surface, integrated every quarter cell, and the km it runs
    on barrier cells (left out of the cost)."""
    xy = _samples(g, surf.resolution_m / 4.0)
    v = surf.cost[_cells(surf, xy)].astype(float)
    step = g.length / (len(v) - 1) / 1000.0
    mid = (v[:-1] + v[1:]) / 2.0
    ok = np.isfinite(mid)
    return float(np.sum(mid[ok]) * step), float(np.sum(~ok) * step)


def diagnose(s: R.RouteSurfaces, params: Any, lines: Any) -> pd.DataFrame:
    """One row per routed line (see the module docstring)."""
    rows = []
    steep = (s.hill > 0.05) | (s.mountain_slope > 0.02) | s.mountain_range
    town = (s.town_distance <= params.town_access_m if s.town_distance is not None
            else np.zeros(s.template.shape, bool))
    for rec in lines.to_dict("records"):
        m = R.route_line(s, params, rec, geometries=True)
        if m.get("error"):
            continue
        surf = R.line_surface(s, params, rec)
        corr = s.corridor_distance(R._left_out(rec), params.parallel_statuses) <= \
            params.parallel_corridor_m
        real, route, base = R._projected([m["real"], m["route"], m["baseline"]], surf.crs)

        def cost(g: Any, surf: Any = surf) -> float:
            return _line_cost(surf, g)[0]

        def share(g: Any, mask: np.ndarray, surf: Any = surf) -> float:
            return float(mask[_cells(surf, _samples(g, 1000.0))].mean())

        xy = _samples(route, 1000.0)
        d = shapely.distance(shapely.points(xy), real)
        rc = _cells(surf, xy[[int(np.argmax(d))]])
        under = "+".join(k for k, v in (("town", town), ("corridor", corr), ("steep", steep),
                                        ("border", s.border)) if v[rc][0]) or "plain"
        row = {"pipeline_id": rec["pipeline_id"], "name": rec["name"],
               "sinuosity": real.length / base.length,
               "route_km": m["mean_distance_km"], "straight_km": m["baseline_mean_distance_km"],
               "beats": R.beats_baseline_distance(m),
               "cost_real": cost(real), "cost_route": cost(route), "cost_straight": cost(base),
               "real_barrier_km": _line_cost(surf, real)[1],
               "straight_barrier_km": _line_cost(surf, base)[1],
               "max_gap_km": float(d.max()) / 1000.0, "under_max_gap": under}
        for what, mask in (("town", town), ("corridor", corr), ("steep", steep)):
            for kind, g in (("route", route), ("real", real)):
                row[f"{kind}_{what}"] = share(g, mask)
        cheaper = [row[f"cost_{k}"] for k in ("real", "straight")
                   if row[f"{k}_barrier_km"] == 0.0]
        row["miss"] = ("" if row["beats"] else
                       "grid" if cheaper and min(cheaper) < row["cost_route"] else "model")
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution-km", type=float, default=10.0)
    ap.add_argument("--neighbours", type=int, default=8, choices=NEIGHBOURS)
    ap.add_argument("--misses-only", action="store_true",
                    help="only the lines the 10 km routes (on --neighbours) do not beat")
    ap.add_argument("--straighten", action="store_true",
                    help="straighten 8-neighbour routes (the backtest does not by default)")
    ap.add_argument("--out", default="", help="CSV of the table")
    ap.add_argument("--as-built", action="store_true",
                    help="corridors as they stood when each line was built")
    a = ap.parse_args(argv)
    if a.straighten and a.neighbours != 8:
        ap.error("--straighten applies to 8 neighbours only")
    straighten = True if a.straighten else None
    layers = default_layers()
    params, _ = calibrated_cost_params()
    lines = R.built_lines(layers.pipelines, as_built=a.as_built)
    if a.misses_only:
        s10 = R.RouteSurfaces.from_layers(layers, 10_000.0, params=params,
                                          neighbours=a.neighbours, straighten=straighten)
        keep = [r["pipeline_id"] for r in lines.to_dict("records")
                if not (m := R.route_line(s10, params, r)).get("error")
                and not R.beats_baseline_distance(m)]
        lines = lines[lines["pipeline_id"].isin(keep)]
    s = R.RouteSurfaces.from_layers(layers, a.resolution_km * 1000.0, params=params,
                                    neighbours=a.neighbours, straighten=straighten)
    t = diagnose(s, params, lines)
    if a.out:
        t.to_csv(a.out, index=False)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    print(t.drop(columns="name").round(2).to_string(index=False))
    misses = t[~t["beats"]]
    print(f"\n{a.resolution_km:g} km, {a.neighbours} neighbours: {len(t)} lines, "
          f"{len(misses)} not beating the straight line by distance "
          f"({(misses['miss'] == 'grid').sum()} grid, {(misses['miss'] == 'model').sum()} "
          f"model); misses' median sinuosity {misses['sinuosity'].median():.2f}, straight "
          f"line {misses['straight_km'].median():.1f} km off, route "
          f"{misses['route_km'].median():.1f} km")


if __name__ == "__main__":
    main()
