"""The plain baseline of ``bench_study.py``: the per-country split as it was before the
spatial pre-filters (a verbatim copy of ``planner.economics.per_country_split`` at commit
589a02d, renamed): every demand centre is measured with ``pyproj.Geod.inv`` against every
piece of the route.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely import LineString, MultiLineString

from planner._checks import non_negative as _non_negative
from planner._checks import positive as _positive
from planner.economics import UNASSIGNED, _segments, log
from planner.geodesy import GEOD as _GEOD


def plain_per_country_split(
    route_geometry: LineString | MultiLineString,
    countries: gpd.GeoDataFrame,
    capex_usd: float,
    throughput_bcm_y: float,
    transit_tariff_usd_per_1000m3_per_100km: float,
    demand_centres: gpd.GeoDataFrame,
    reach_km: float,
    *,
    max_segment_km: float = 1.0,
) -> pd.DataFrame:
    """``planner.economics.per_country_split`` as it was before the spatial pre-filters:
    every demand centre measured (geodesic) against every piece of the route."""
    if isinstance(route_geometry, MultiLineString):
        lines = list(route_geometry.geoms)
    elif isinstance(route_geometry, LineString):
        lines = [route_geometry]
    else:
        raise ValueError(
            f"route_geometry must be a LineString in EPSG:4326, got {type(route_geometry).__name__}"
        )
    if route_geometry.is_empty:
        raise ValueError("route_geometry is empty")
    capex = _non_negative("capex_usd", capex_usd)
    q = _positive("throughput_bcm_y", throughput_bcm_y)
    tariff = _non_negative("transit_tariff_usd_per_1000m3_per_100km",
                           transit_tariff_usd_per_1000m3_per_100km)
    reach = _non_negative("reach_km", reach_km)
    for frame, name, cols in ((countries, "countries", ("iso_a3", "name")),
                              (demand_centres, "demand_centres",
                               ("name", "country", "demand_bcm_y"))):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} lacks columns {missing}")
        if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
            raise ValueError(f"{name} must be in EPSG:4326, got {frame.crs}")

    parts = [_segments(line, max_segment_km) for line in lines]
    s = np.vstack([p[0] for p in parts])
    e = np.vstack([p[1] for p in parts])
    km = np.concatenate([p[2] for p in parts])
    total_km = float(km.sum())
    if total_km <= 0:
        raise ValueError("route_geometry has zero length")
    mids = gpd.GeoSeries(gpd.points_from_xy((s[:, 0] + e[:, 0]) / 2, (s[:, 1] + e[:, 1]) / 2),
                         crs="EPSG:4326")
    cty = countries[["iso_a3", "geometry"]]
    if cty.crs is None:
        log.warning("countries has no CRS; taking it as EPSG:4326")
        cty = cty.set_crs("EPSG:4326")
    hit = gpd.sjoin(gpd.GeoDataFrame(geometry=mids), cty, how="left", predicate="within")
    hit = hit[~hit.index.duplicated(keep="first")].sort_index()
    iso = hit["iso_a3"].fillna(UNASSIGNED).to_numpy()

    # crossings into a country: changes of country along the route, bridging gaps
    crossings: dict[str, int] = {}
    prev = None
    for c in iso:
        if c == UNASSIGNED:
            continue
        if prev is not None and c != prev:
            crossings[c] = crossings.get(c, 0) + 1
        prev = c

    names = dict(zip(countries["iso_a3"], countries["name"], strict=False))
    names[UNASSIGNED] = "outside any country"
    km_by = pd.Series(km).groupby(iso, sort=False).sum()

    # demand within reach: geodesic distance to the nearest route piece midpoint
    served = pd.Series(dtype=float)
    if len(demand_centres) and reach > 0:
        px = demand_centres.geometry.x.to_numpy()
        py = demand_centres.geometry.y.to_numpy()
        mx = mids.x.to_numpy()
        my = mids.y.to_numpy()
        dmin = np.full(px.size, np.inf)
        chunk = max(1, 2_000_000 // max(1, mx.size))
        for i in range(0, px.size, chunk):
            a = px[i:i + chunk, None] * np.ones((1, mx.size))
            b = py[i:i + chunk, None] * np.ones((1, mx.size))
            _, _, dd = _GEOD.inv(a, b, np.broadcast_to(mx, a.shape), np.broadcast_to(my, a.shape))
            dmin[i:i + chunk] = np.asarray(dd).min(axis=1) / 1000
        within = dmin <= reach + max_segment_km / 2
        dc = demand_centres.loc[within]
        country_iso = dc["country"].map(
            lambda x: x if x in names else {v: k for k, v in names.items()}.get(x, x))
        served = pd.to_numeric(dc["demand_bcm_y"], errors="coerce").fillna(0.0).groupby(
            country_iso.to_numpy()).sum()

    order = list(dict.fromkeys([*km_by.index, *served.index]))
    rows = []
    for c in order:
        k = float(km_by.get(c, 0.0))
        rows.append({
            "iso_a3": c,
            "name": names.get(c, c),
            "km": k,
            "capex_share": k / total_km,
            "capex_usd": capex * k / total_km,
            "transit_volume_bcm_y": q if k > 0 else 0.0,
            "transport_work_bcm_km": q * k,
            "transit_revenue_usd_per_year": q * 1e6 * tariff * k / 100,
            "demand_served_bcm_y": float(served.get(c, 0.0)),
            "border_crossings": int(crossings.get(c, 0)),
        })
    df = pd.DataFrame(rows)
    df.attrs["totals"] = {
        "km": total_km,
        "capex_usd": capex,
        "transport_work_bcm_km": q * total_km,
        "transit_revenue_usd_per_year": q * 1e6 * tariff * total_km / 100,
        "demand_served_bcm_y": float(served.sum()),
        "border_crossings": int(sum(crossings.values())),
    }
    return df
