"""Benchmark: layer-derived criteria of 1,000 candidate routes, vectorised vs a per-route loop.

Candidate routes are synthetic lines between real demand centres of the default layers
(seeded random pairs, each with a few jittered intermediate vertices, densified to about
10 km steps like a routed path). Both methods compute, per route: geodesic length,
countries crossed, border crossings (Natural Earth land boundary lines), water crossings
(rivers and lake outlines) and demand within reach. The vectorised method
(:func:`planner.scoring.route_layer_metrics`) uses spatial indexes (STRtree) and array
operations. The baseline is the best plain per-route loop: the same STRtrees built once,
each route queried against them one at a time (shapely). A loop without indexes, testing
every route against every feature, is also timed, for reference only.

Run::

    PYTHONPATH=. python benchmarks/bench_scoring.py       # 1,000 routes (or pip install -e .)
    PYTHONPATH=. python benchmarks/bench_scoring.py --routes 200 --loop-routes 200

Printing is the point of a benchmark; the package itself logs.
"""

from __future__ import annotations

import argparse
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod
from shapely import LineString

from planner import scoring, settings
from planner.layers import default_layers


def candidate_routes(centres: gpd.GeoDataFrame, n: int, seed: int = 0) -> gpd.GeoSeries:
    """``n`` synthetic routes between random pairs of real demand centres."""
    rng = np.random.default_rng(seed)
    xy = np.column_stack([centres.geometry.x, centres.geometry.y])
    lines = []
    while len(lines) < n:
        i, j = rng.choice(len(xy), size=2, replace=False)
        a, b = xy[i], xy[j]
        if np.hypot(*(b - a)) < 1.0:  # skip pairs closer than ~100 km
            continue
        t = np.sort(rng.uniform(0.15, 0.85, size=3))[:, None]
        normal = np.array([-(b - a)[1], (b - a)[0]]) / np.hypot(*(b - a))
        mids = a + t * (b - a) + rng.normal(0, 0.4, size=(3, 1)) * normal
        line = LineString(np.vstack([a, mids, b]))
        lines.append(shapely.segmentize(line, 0.1))
    return gpd.GeoSeries(lines, crs="EPSG:4326")


def loop_metrics(routes: gpd.GeoSeries, countries: gpd.GeoDataFrame,
                 demand: gpd.GeoDataFrame, borders: gpd.GeoSeries, water: gpd.GeoSeries,
                 reach_km: float) -> pd.DataFrame:
    """The straightforward way: every route against every feature, one at a time."""
    geod = Geod(ellps="WGS84")
    proj_routes = routes.to_crs(settings.STUDY_CRS)
    proj_demand = demand.to_crs(settings.STUDY_CRS).geometry.tolist()
    values = demand["demand_bcm_y"].astype(float).fillna(0.0).tolist()  # missing = none
    water_lines = [g.boundary if g.geom_type in ("Polygon", "MultiPolygon") else g
                   for g in water]
    rows = []
    for i, line in enumerate(routes):
        n_countries = sum(1 for g in countries.geometry if line.intersects(g))
        n_borders = 0
        for g in borders:
            x = line.intersection(g)
            if not x.is_empty:
                n_borders += len(x.geoms) if hasattr(x, "geoms") else 1
        n_water = 0
        for g in water_lines:
            x = line.intersection(g)
            if not x.is_empty:
                n_water += len(x.geoms) if hasattr(x, "geoms") else 1
        pr = proj_routes.iloc[i]
        served = sum(v for p, v in zip(proj_demand, values, strict=True)
                     if p.distance(pr) <= reach_km * 1000)
        rows.append({"length_km": geod.geometry_length(line) / 1000,
                     "countries": n_countries, "border_crossings": n_borders,
                     "water_crossings": n_water, "demand_within_reach_bcm_y": served})
    return pd.DataFrame(rows, index=routes.index)


def indexed_loop_metrics(routes: gpd.GeoSeries, countries: gpd.GeoDataFrame,
                         demand: gpd.GeoDataFrame, borders: gpd.GeoSeries,
                         water: gpd.GeoSeries, reach_km: float) -> pd.DataFrame:
    """The best plain per-route loop: spatial indexes (shapely STRtree) built once, then
    each route queried against them, one route at a time."""
    geod = Geod(ellps="WGS84")
    proj_routes = routes.to_crs(settings.STUDY_CRS).to_numpy()
    proj_demand = demand.to_crs(settings.STUDY_CRS).geometry.to_numpy()
    values = demand["demand_bcm_y"].astype(float).fillna(0.0).to_numpy()
    water_lines = np.array([g.boundary if g.geom_type in ("Polygon", "MultiPolygon") else g
                            for g in water])
    country_geoms = countries.geometry.to_numpy()
    border_geoms = borders.to_numpy()
    t_countries, t_borders = shapely.STRtree(country_geoms), shapely.STRtree(border_geoms)
    t_water, t_demand = shapely.STRtree(water_lines), shapely.STRtree(proj_demand)

    def count_parts(line: shapely.Geometry, tree: shapely.STRtree, geoms: np.ndarray) -> int:
        n = 0
        for j in tree.query(line, predicate="intersects"):
            x = line.intersection(geoms[j])
            if not x.is_empty:
                n += len(x.geoms) if hasattr(x, "geoms") else 1
        return n

    rows = []
    for i, line in enumerate(routes):
        near = t_demand.query(proj_routes[i], predicate="dwithin", distance=reach_km * 1000)
        rows.append({"length_km": geod.geometry_length(line) / 1000,
                     "countries": len(t_countries.query(line, predicate="intersects")),
                     "border_crossings": count_parts(line, t_borders, border_geoms),
                     "water_crossings": count_parts(line, t_water, water_lines),
                     "demand_within_reach_bcm_y": float(values[near].sum())})
    return pd.DataFrame(rows, index=routes.index)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--routes", type=int, default=1000)
    ap.add_argument("--loop-routes", type=int, default=None,
                    help="routes for the loop (default: all; fewer extrapolates linearly)")
    ap.add_argument("--reach-km", type=float, default=settings.REACH_KM)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    t0 = time.perf_counter()
    layers = default_layers()
    borders = gpd.read_file(settings.raw_path("borders")).geometry
    countries, demand, water = layers.countries, layers.demand_centres, layers.water.geometry
    routes = candidate_routes(demand, args.routes, seed=args.seed)
    t_load = time.perf_counter() - t0
    n_vertices = int(shapely.get_num_coordinates(routes.to_numpy()).sum())
    print(f"layers: {len(countries)} countries, {len(borders)} border lines, "
          f"{len(water)} water features, {len(demand)} demand centres "
          f"(loaded in {t_load:.1f} s)")
    print(f"candidates: {len(routes)} routes, {n_vertices} vertices")

    t0 = time.perf_counter()
    vec = scoring.route_layer_metrics(routes, countries, demand, borders=borders, water=water,
                                      reach_km=args.reach_km)
    t_vec = time.perf_counter() - t0

    n_loop = args.loop_routes or len(routes)
    sub = routes.iloc[:n_loop]
    t0 = time.perf_counter()
    loop = loop_metrics(sub, countries, demand, borders, water, args.reach_km)
    t_loop_measured = time.perf_counter() - t0
    t_loop = t_loop_measured * len(routes) / n_loop

    t0 = time.perf_counter()
    indexed = indexed_loop_metrics(routes, countries, demand, borders, water, args.reach_km)
    t_indexed = time.perf_counter() - t0

    diff = (vec.loc[sub.index] - loop).abs()
    agree = bool((diff[["countries", "border_crossings", "water_crossings"]] == 0).all().all()
                 and (diff[["length_km", "demand_within_reach_bcm_y"]] < 1e-6).all().all())
    d2 = (vec - indexed).abs()
    agree_indexed = bool(
        (d2[["countries", "border_crossings", "water_crossings"]] == 0).all().all()
        and (d2[["length_km", "demand_within_reach_bcm_y"]] < 1e-6).all().all())
    print(f"vectorised (STRtree + arrays):            {t_vec:8.3f} s")
    print(f"baseline: per-route loop, prebuilt STRtree: {t_indexed:8.3f} s")
    print(f"per-route loop without indexes:           {t_loop:8.3f} s"
          + ("" if n_loop == len(routes)
             else f" (measured {t_loop_measured:.2f} s on {n_loop} routes, extrapolated)"))
    print(f"ratio indexed loop / vectorised:          {t_indexed / t_vec:8.2f}x")
    print(f"ratio unindexed loop / vectorised:        {t_loop / t_vec:8.2f}x")
    print(f"results identical: indexed loop {agree_indexed} (all routes), "
          f"unindexed loop {agree} ({n_loop} routes)")
    if not agree:
        bad = diff[(diff > 1e-6).any(axis=1)]
        print(f"differences on {len(bad)} routes:\n{bad.head()}")
    print(vec.describe().loc[["mean", "min", "max"]].round(2).to_string())


if __name__ == "__main__":
    main()
