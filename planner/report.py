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
from planner.neutralise import markdown_text
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
    "new_demand_bcm_y": "New demand it can add (bcm/y)",
    "lateral_capex_musd": "Laterals to that demand (M USD)",
    "demand_within_reach_bcm_y": "Demand within reach, any (bcm/y)",
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
    "role": "Role",
    "new_build_km": "New km",
    "reused_km": "Reused km",
    "reused_systems": "Reused lines",
    "capex_musd": "CAPEX (M USD)",
    "opex_musd_y": "OPEX (M USD/y)",
    "transit_volume_bcm_y": "Transit (bcm/y)",
    "transit_revenue_musd_y": "Transit revenue (M USD/y)",
    "net_position_musd_y": "Net position (M USD/y)",
    "new_demand_bcm_y": "New demand (bcm/y)",
    "lateral_capex_musd": "Laterals (M USD)",
    "border_crossings": "Border crossings",
}


def _country_table(per_country: pd.DataFrame, route_id: object) -> pd.DataFrame:
    t = per_country[per_country["route_id"] == route_id]
    cols = [c for c in COUNTRY_COLUMNS if c in t.columns]
    return t[cols].rename(columns=COUNTRY_COLUMNS)


def study_map(study: Study, layers: Layers, candidates: gpd.GeoDataFrame,
              per_country: pd.DataFrame, surfaces: dict[str, Any], path: Path,
              extra: Any = None) -> Path:
    """Write the study's interactive map: existing system, cost surface, ranked candidates
    (and ``extra(m)``'s layers, e.g. the system plan)."""
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
    if extra is not None:
        extra(m)
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
    head = "| " + " | ".join(str(c).replace("|", "\\|") for c in df.columns) + " |"
    sep = "|" + "---|" * len(df.columns)
    rows = ["| " + " | ".join(map(markdown_text, r)) + " |"
            for r in df.itertuples(index=False)]
    return "\n".join([head, sep, *rows])


_REUSED_NOTE = (
    "Each reused line is assessed at its diameter and maximum pressure (published, or an "
    "estimate where the note says so), in the direction the route uses it, for the route's "
    "throughput shared over its parallel strings; pressure is carried from line to line. "
    "New compression on a reverse-flow leg is an upper bound (every station counted as "
    "new); lines without a known diameter or pressure are listed, not assessed.")


def accounting_note() -> str:
    """How the per-country figures are made, in one paragraph (for both reports)."""
    from planner.accounting import UTILISATION_NOTE

    return (UTILISATION_NOTE + " CAPEX is located where it is built: new pipe on the "
            "country's new-build km, metering where new pipe crosses a border, compression at "
            "its stations; a country with reused km only earns the existing operator's tariff "
            "on them. Net position: transit revenue − CAPEX × CRF − OPEX, plus for the buyer "
            "(alternative price − delivered cost) × delivered volume.")


def _md_text(value: object) -> str:
    """Data-derived text as literal Markdown (markup characters escaped)."""
    import re

    return re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", str(value))


def gasification_markdown(study: Study, ranking: pd.DataFrame, top: int = 3) -> list[str]:
    """For each scenario ranked by the domestic-gasification profile, the demand centres
    its top routes would supply and the laterals' cost (from ``new_demand_centres``)."""
    parts: list[str] = []
    gas = [s.name for s in study.scenarios if s.weight_profile == "domestic_gasification"]
    if "new_demand_centres" not in ranking.columns:
        return parts
    for name in gas:
        t = ranking[ranking["scenario"].eq(name)].sort_values("rank").head(top)
        if not len(t):
            continue
        parts += [f"## New demand the top routes can add ({_md_text(name)})", "",
                  "Unserved demand (demand centres with no operating pipeline within reach, "
                  "an estimate) in the study's member countries, within reach of the route, "
                  "capped by its spare capacity (throughput × (1 − utilisation)); each centre "
                  "is fed by a straight-line lateral costed like new pipe.", ""]
        for _, r in t.iterrows():
            centres = _md_text(r.get("new_demand_centres") or "") or "none"
            parts += [f"- **{r['rank']}. {_md_text(r['name'])}**: {r['new_demand_bcm_y']:.2f} of "
                      f"{r['spare_capacity_bcm_y']:.2f} bcm/y spare, laterals "
                      f"{r['lateral_capex_musd']:,.0f} M USD: {centres}"]
        parts.append("")
    return parts


def study_report_markdown(study: Study, ranking: pd.DataFrame, per_country: pd.DataFrame,
                          reused: pd.DataFrame | None = None) -> str:
    """The ranking, who-gains-what and reused-lines tables as Markdown."""
    parts = [f"# {markdown_text(study.title)}", "", markdown_text(study.description), ""]
    for scenario, t in ranking.groupby("scenario", sort=False):
        parts += [f"## Scenario: {markdown_text(scenario)}", "",
                  _md_table(t.drop(columns=["scenario"])), ""]
    if len(per_country):
        parts += ["## Per country (best candidate per destination, first scenario)", ""]
        first = ranking["scenario"].iloc[0]
        best = ranking[ranking["scenario"].eq(first)].sort_values("rank")
        best = best.groupby("destination", sort=False).head(1)
        parts += [accounting_note(), ""]
        for _, r in best.iterrows():
            key = "route_id" if "route_id" in r.index else "name"
            t = per_country[(per_country["scenario"] == first)
                            & (per_country[key] == r[key])]
            cols = [c for c in COUNTRY_COLUMNS if c in t.columns]
            parts += [f"### {markdown_text(r['name'])}", "", _md_table(t[cols]), ""]
    parts += gasification_markdown(study, ranking)
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
    if len(per_country):
        body.append(f"<p>{html.escape(accounting_note())}</p>")
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
