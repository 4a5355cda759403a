"""A study's readable outputs: the interactive map and the ranking report (Markdown, HTML).

Every data-derived string reaches HTML through :func:`planner.webmap.escape_text` (or
pandas' escaping ``to_html``), so names from GEM, OSM or a user's file are shown as text.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from planner import webmap
from planner.layers import Layers
from planner.study import Study

log = logging.getLogger(__name__)

# Columns shown in route popups, with their display labels (units explicit).
POPUP_LABELS: dict[str, str] = {
    "destination": "Destination",
    "kind": "Kind",
    "throughput_bcm_y": "Throughput (bcm/y)",
    "length_km": "Length (km)",
    "new_build_km": "New build (km)",
    "reused_km": "Reused (km)",
    "reused_pipelines": "Existing lines used",
    "diameter_mm": "Diameter (mm)",
    "strings": "Strings",
    "stations": "Compressor stations",
    "compressor_power_mw": "Compressor power (MW)",
    "capex_musd": "CAPEX (M USD)",
    "tariff_usd_per_1000m3": "Tariff (USD/1000 m³)",
    "tariff_usd_per_1000m3_100km": "Tariff (USD/1000 m³/100 km)",
    "delivered_cost_usd_per_1000m3": "Delivered cost (USD/1000 m³)",
    "demand_served_bcm_y": "Demand served (bcm/y)",
    "countries": "Countries",
    "border_crossings": "Border crossings",
    "water_crossings": "River crossings",
    "highest_point_m": "Highest point (m)",
    "reused_capacity_bcm_y": "Capacity of the reused lines, direction used (bcm/y)",
    "reuse_compression_mw": "New compression on reused lines (MW)",
}

# Columns of the reused-lines table in the reports.
REUSED_COLUMNS = {
    "name": "Route",
    "system": "Existing line",
    "reverse": "Reverse flow",
    "length_km": "km",
    "strings": "Strings",
    "diameter_mm": "Diameter (mm)",
    "max_pressure_mpa": "Max. pressure (MPa)",
    "capacity_bcm_y": "Capacity (bcm/y)",
    "new_stations": "New stations",
    "new_power_kw": "New compression (kW)",
    "note": "Note",
}


def _reused_first_scenario(reused: pd.DataFrame | None, ranking: pd.DataFrame
                           ) -> pd.DataFrame:
    if reused is None or not len(reused) or not len(ranking):
        return pd.DataFrame()
    t = reused
    if "scenario" in t.columns:
        t = t[t["scenario"].eq(ranking["scenario"].iloc[0])]
    cols = [c for c in REUSED_COLUMNS if c in t.columns]
    return t[cols].rename(columns=REUSED_COLUMNS)

COUNTRY_COLUMNS = {
    "country": "Country",
    "km": "km",
    "capex_share": "CAPEX share",
    "capex_musd": "CAPEX (M USD)",
    "transit_volume_bcm_y": "Transit (bcm/y)",
    "transit_revenue_musd_y": "Transit revenue (M USD/y)",
    "demand_served_bcm_y": "Demand served (bcm/y)",
    "border_crossings": "Border crossings",
}


def _country_table(per_country: pd.DataFrame, route_id: object) -> pd.DataFrame:
    t = per_country[per_country["route_id"] == route_id]
    cols = [c for c in COUNTRY_COLUMNS if c in t.columns]
    return t[cols].rename(columns=COUNTRY_COLUMNS)


def study_map(study: Study, layers: Layers, candidates: gpd.GeoDataFrame,
              per_country: pd.DataFrame, surfaces: dict[str, Any], path: Path) -> Path:
    """Write the study's interactive map: existing system, cost surface, ranked candidates."""
    m = webmap.existing_system_map(layers)
    webmap.add_junctions(m, _junctions(study, layers))
    first = next(iter(surfaces.values()), None)
    if first is not None:
        arr, bounds = _surface_lonlat(first)
        webmap.add_cost_surface(m, arr, bounds, name="Cost surface (first scenario)")
    for i, (scenario, routes) in enumerate(candidates.groupby("scenario", sort=False)):
        routes = routes.copy()
        routes["route_id"] = routes["route_id"].astype(str)
        profiles = {}
        tables = {}
        for _, r in routes.iterrows():
            tables[r["route_id"]] = _country_table(per_country, r["route_id"])
            dist = r.get("distance_km")
            elev = r.get("elevation_m")
            if isinstance(dist, list | np.ndarray) and isinstance(elev, list | np.ndarray):
                press = r.get("pressure_bar")
                profiles[r["route_id"]] = webmap.profile_png(
                    list(map(float, dist)), list(map(float, elev)),
                    list(map(float, press)) if isinstance(press, list | np.ndarray) else None,
                    title=str(r["name"]))
        cols = [c for c in POPUP_LABELS if c in routes.columns]
        keep = ["route_id", "name", "rank", "score", *cols, "geometry"]
        webmap.add_routes(m, routes[keep], name=f"Candidates: {scenario}", columns=cols,
                          labels=POPUP_LABELS, profiles=profiles, tables=tables,
                          show=i == 0)
    return webmap.save_map(m, path)


def _junctions(study: Study, layers: Layers) -> gpd.GeoDataFrame:
    """Junctions of the study's operating network (the graph its candidates went by)."""
    from planner.interconnections import network_tables_for_study
    from planner.network import junctions_frame, operating_graph

    hubs, flows = network_tables_for_study(study)
    return junctions_frame(operating_graph(layers.pipelines, countries=layers.countries,
                                           interconnections=hubs, line_flows=flows))


def _surface_lonlat(surface: Any) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The cost surface warped to a lon/lat grid for display."""
    import rasterio.warp
    from rasterio.enums import Resampling

    cost = np.where(np.isfinite(surface.cost), surface.cost, np.nan).astype("float32")
    h, w = cost.shape
    left, bottom, right, top = rasterio.transform.array_bounds(h, w, surface.transform)
    dst_t, dw, dh = rasterio.warp.calculate_default_transform(
        surface.crs, "EPSG:4326", w, h, left=left, bottom=bottom, right=right, top=top)
    out = np.full((dh, dw), np.nan, dtype="float32")
    rasterio.warp.reproject(cost, out, src_transform=surface.transform, src_crs=surface.crs,
                            dst_transform=dst_t, dst_crs="EPSG:4326", src_nodata=np.nan,
                            dst_nodata=np.nan, resampling=Resampling.nearest)
    b = rasterio.transform.array_bounds(dh, dw, dst_t)
    return out, (b[0], b[1], b[2], b[3])


def _fmt(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:,.2f}")
    return out


def _md_table(df: pd.DataFrame) -> str:
    df = _fmt(df)
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "---|" * len(df.columns)
    rows = ["| " + " | ".join(str(v).replace("|", "\\|") for v in r) + " |"
            for r in df.itertuples(index=False)]
    return "\n".join([head, sep, *rows])


_REUSED_NOTE = (
    "Each reused line is assessed at its diameter and maximum pressure (published, or an "
    "estimate where the note says so), in the direction the route uses it, for the route's "
    "throughput shared over its parallel strings; pressure is carried from line to line. "
    "New compression on a reverse-flow leg is an upper bound (every station counted as "
    "new); lines without a known diameter or pressure are listed, not assessed.")


def study_report_markdown(study: Study, ranking: pd.DataFrame, per_country: pd.DataFrame,
                          reused: pd.DataFrame | None = None) -> str:
    """The ranking, who-gains-what and reused-lines tables as Markdown."""
    parts = [f"# {study.title}", "", study.description.strip(), ""]
    for scenario, t in ranking.groupby("scenario", sort=False):
        parts += [f"## Scenario: {scenario}", "", _md_table(t.drop(columns=["scenario"])), ""]
    if len(per_country):
        parts += ["## Per country (best candidate per destination, first scenario)", ""]
        first = ranking["scenario"].iloc[0]
        best = ranking[ranking["scenario"].eq(first)].sort_values("rank")
        best = best.groupby("destination", sort=False).head(1)
        for _, r in best.iterrows():
            t = per_country[(per_country["scenario"] == first)
                            & (per_country["name"] == r["name"])]
            cols = [c for c in COUNTRY_COLUMNS if c in t.columns]
            parts += [f"### {r['name']}", "", _md_table(t[cols]), ""]
    lines = _reused_first_scenario(reused, ranking)
    if len(lines):
        parts += ["## Existing lines reused (first scenario)", "", _REUSED_NOTE, "",
                  _md_table(lines), ""]
    parts += _operated_route_lines(ranking)
    return "\n".join(parts)


def _operated_route_lines(ranking: pd.DataFrame) -> list[str]:
    from planner.operated_routes import operated_route_markdown

    return operated_route_markdown(ranking)


def study_report_html(study: Study, ranking: pd.DataFrame, per_country: pd.DataFrame,
                      reused: pd.DataFrame | None = None) -> str:
    """The same report as a standalone HTML page (every value escaped)."""
    body = [f"<h1>{html.escape(study.title)}</h1>",
            f"<p>{html.escape(study.description.strip())}</p>"]
    for scenario, t in ranking.groupby("scenario", sort=False):
        body.append(f"<h2>Scenario: {html.escape(str(scenario))}</h2>")
        body.append(_fmt(t.drop(columns=["scenario"])).to_html(index=False, escape=True,
                                                                 border=0))
    if len(per_country):
        body.append("<h2>Per country</h2>")
        cols = ["scenario", "name"] + [c for c in COUNTRY_COLUMNS if c in per_country.columns]
        body.append(_fmt(per_country[cols]).to_html(index=False, escape=True, border=0))
    lines = _reused_first_scenario(reused, ranking)
    if len(lines):
        body.append("<h2>Existing lines reused (first scenario)</h2>")
        body.append(f"<p>{html.escape(_REUSED_NOTE)}</p>")
        body.append(_fmt(lines).to_html(index=False, escape=True, border=0))
    from planner.operated_routes import operated_route_html

    body.append(operated_route_html(ranking))
    style = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
             "font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>"
            f"{html.escape(study.title)}</title><style>{style}</style></head><body>"
            + "\n".join(body) + "</body></html>")
