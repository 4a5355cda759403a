"""A study's readable outputs: the decision report (HTML, Markdown) and the interactive map.

The HTML report (:func:`study_report_html`) puts the answer first — the recommended route
of each scenario with its CAPEX, tariff and delivered cost, who gains what (the per-country
accounts of :mod:`planner.accounting`), the main risks and the assumptions that drive the
result — then charts (:mod:`planner.charts`, Altair rendered offline to inline SVG),
readable tables with units, the new demand the top routes of a domestic-gasification
scenario can add (:mod:`planner.domestic`), where the route operated since October 2023
ranks (:mod:`planner.operated_routes`), any extra sections (the system plan, coalitions)
and method and sources. It is one self-contained page that needs no network;
:func:`study_report_markdown` gives the same content as Markdown. The map
(:func:`study_map`) is the decision map of :mod:`planner.mapui` with the network's
junctions as a layer.

Adding to the report
--------------------
The report is a list of :class:`ReportSection` (title, HTML, anchor) made by the builders
in :data:`SECTION_BUILDERS`, each a function ``f(ReportInputs) -> ReportSection | None``.
To add a section (e.g. the system plan, coalition results), either pass
``extra_sections=[(title, html), ...]`` to :func:`study_report_html` (they go before
"Method and sources"), or append a builder to :data:`SECTION_BUILDERS`. To add per-country
columns, add them to :data:`COUNTRY_COLUMNS` (column -> header with unit); ranking columns
shown in the tables are :data:`REPORT_TABLE_COLUMNS` with headers in
:data:`RANKING_LABELS`. To add to the map, pass ``extra_layers`` / ``extra_panels`` to
:func:`study_map`.

Every data-derived string reaches HTML through :func:`planner.webmap.escape_text` (or
pandas' escaping ``to_html``), so names from GEM, OSM or a user's file are shown as text;
Markdown text from data goes through :func:`planner.neutralise.markdown_text`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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


#: Unit suffixes of column names and how a header shows them (longest first).
UNIT_SUFFIXES = (
    ("_usd_per_1000m3", "USD/1000 m³"), ("_bcm_km_y", "bcm·km/y"), ("_musd_y", "M USD/y"),
    ("_musd", "M USD"), ("_bcm_y", "bcm/y"), ("_km", "km"), ("_mm", "mm"), ("_mpa", "MPa"),
    ("_mw", "MW"), ("_kw", "kW"),
)


def readable_column(name: object) -> str:
    """A column name as a table header: words, with the unit its suffix names.

    Examples
    --------
    >>> readable_column("compression_fuel_musd_y"), readable_column("new_km")
    ('Compression fuel (M USD/y)', 'New (km)')
    >>> readable_column("shapley_price_usd_per_1000m3"), readable_column("capex_musd")
    ('Shapley price (USD/1000 m³)', 'CAPEX (M USD)')
    """
    text, unit = str(name), ""
    for suffix, label in UNIT_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            text, unit = text[: -len(suffix)], label
            break
    words = " ".join(w.upper() if w in {"capex", "opex"} else w for w in text.split("_") if w)
    words = words[:1].upper() + words[1:]
    return f"{words} ({unit})" if unit else words


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
              per_country: pd.DataFrame, surfaces: dict[str, Any], path: Path, *,
              extra_layers: Sequence[Callable[[Any], Any]] = (),
              extra_panels: Sequence[tuple[str, str]] = ()) -> Path:
    """Write the study's decision map: side panel (title, summary, scenario switch,
    ranking, compare), existing system and its junctions, cost surface, candidates of the
    chosen scenario.

    ``extra_layers`` (callables ``f(folium_map)``) and ``extra_panels`` (``(title, html)``)
    are the hooks of :func:`planner.mapui.decision_map`. The existing system is drawn
    within the study's region (:func:`planner.map_region.layers_for_map`); the junctions
    are found on the whole network, as the routing found them, and drawn in the region.
    """
    from planner.map_region import clip_to_box, layers_for_map, map_box
    from planner.mapui import decision_map

    def junctions(m: Any) -> None:
        webmap.add_junctions(m, clip_to_box(_junctions(study, layers), map_box(study.region)))

    shown = layers_for_map(layers, study.region)  # drawn: the region's (display only)

    first = next(iter(surfaces.values()), None)
    tables = {str(rid): _country_table(per_country, rid)
              for rid in candidates["route_id"].unique()} if len(per_country) else None
    m = decision_map(study, shown, candidates, per_country, surfaces,
                     extra_layers=[junctions, *extra_layers], extra_panels=extra_panels,
                     popup_labels=POPUP_LABELS, country_tables=tables,
                     surface_image=None if first is None else _surface_lonlat(first))
    return webmap.save_map(m, path)


def _junctions(study: Study, layers: Layers) -> gpd.GeoDataFrame:
    """Junctions of the study's operating network (the graph its candidates went by)."""
    from planner.interconnections import network_tables_for_study
    from planner.network import junctions_frame, operating_graph

    hubs, flows = network_tables_for_study(study)
    return junctions_frame(operating_graph(layers.pipelines, countries=layers.countries,
                                           interconnections=hubs, line_flows=flows))


#: Longest side (pixels) of the cost-surface image on the map: finer surfaces are shown
#: resampled to it (display only; the map stays small enough to open anywhere).
SURFACE_DISPLAY_PX = 600


def _surface_lonlat(surface: Any) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The cost surface warped to a lon/lat grid for display."""
    import rasterio.warp
    from rasterio.enums import Resampling

    cost = np.where(np.isfinite(surface.cost), surface.cost, np.nan).astype("float32")
    h, w = cost.shape
    left, bottom, right, top = rasterio.transform.array_bounds(h, w, surface.transform)
    dst_t, dw, dh = rasterio.warp.calculate_default_transform(
        surface.crs, "EPSG:4326", w, h, left=left, bottom=bottom, right=right, top=top)
    if max(dw, dh) > SURFACE_DISPLAY_PX:  # a fine surface is shown at screen size
        f = max(dw, dh) / SURFACE_DISPLAY_PX
        dst_t, dw, dh = rasterio.warp.calculate_default_transform(
            surface.crs, "EPSG:4326", w, h, left=left, bottom=bottom, right=right, top=top,
            dst_width=max(1, round(dw / f)), dst_height=max(1, round(dh / f)))
    out = np.full((dh, dw), np.nan, dtype="float32")
    rasterio.warp.reproject(cost, out, src_transform=surface.transform, src_crs=surface.crs,
                            dst_transform=dst_t, dst_crs="EPSG:4326", src_nodata=np.nan,
                            dst_nodata=np.nan, resampling=Resampling.nearest)
    b = rasterio.transform.array_bounds(dh, dw, dst_t)
    return out, (b[0], b[1], b[2], b[3])


def column_decimals(values: pd.Series) -> int:
    """Decimals a report shows for a column of numbers: none where every value is whole
    or the largest is at least 100 (a CAPEX of M USD 131.15 claims a precision of 0.01 %
    that a cost model measured within ±30 % on half of real lines cannot back), one from
    10, else two (shares, scores, small volumes).

    Examples
    --------
    >>> [column_decimals(pd.Series(v)) for v in ([508.0, 610.0], [131.15, 10520.8],
    ...                                            [44.99, 60.8], [0.98, 0.5], [])]
    [0, 0, 1, 2, 0]
    """
    v = pd.to_numeric(values, errors="coerce").dropna().abs()
    v = v[np.isfinite(v)]
    if not len(v) or bool((v == v.round()).all()) or float(v.max()) >= 100:
        return 0
    return 1 if float(v.max()) >= 10 else 2


def _fmt(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            d = column_decimals(out[c])
            out[c] = out[c].map(lambda v, d=d: _number_text(v, d))
    return out


def _number_text(v: float, decimals: int) -> str:
    """``v`` with thousands separators and ``decimals``; empty for NaN, no sign on a
    value that rounds to zero."""
    if pd.isna(v):
        return ""
    text = f"{v:,.{decimals}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text


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

# --------------------------------------------------------------------------- report content

#: Human headers (with units) of the ranking columns shown in the report's tables.
RANKING_LABELS: dict[str, str] = {
    "rank": "Rank",
    "name": "Route",
    "score": "Score (0–1)",
    "p_best": "Ranks first (share of weight draws)",
    **{k: v for k, v in POPUP_LABELS.items() if k not in {"destination", "kind"}},
    "capex_musd_p10": "CAPEX P10 (M USD)",
    "capex_musd_p90": "CAPEX P90 (M USD)",
    "pareto": "Pareto front",
}

#: Columns of the per-scenario tables in the report, in order.
REPORT_TABLE_COLUMNS = (
    "rank", "name", "score", "capex_musd", "capex_musd_p10", "capex_musd_p90",
    "tariff_usd_per_1000m3", "delivered_cost_usd_per_1000m3", "new_demand_bcm_y", "length_km",
    "new_build_km", "reused_km", "diameter_mm", "stations", "border_crossings", "p_best",
)

#: Cost parameters the result is most sensitive to, shown with their sources.
DRIVING_PARAMETERS = (
    "discount_rate", "lifetime_years", "utilisation", "fuel_gas_price_usd_per_1000m3",
    "pipe_cost_trend_per_year", "compressor_usd_per_hp",
    "existing_transit_tariff_usd_per_1000m3_per_100km", "alternative_gas_price_usd_per_1000m3",
)
#: How CAPEX is scaled from the US basis of the cost regressions, in words (report text):
#: by the regions of the study's own countries, never one region for every study.
REGIONAL_SCALING = ("NETL regressions scaled by the regional factor of the countries where "
                    "the pipe is built, planner/data/cost_regions.csv")

_DOWNLOADS = (("index.html", "interactive map"), ("ranking.csv", "ranking"),
              ("per_country.csv", "per country"), ("reused_lines.csv", "reused lines"),
              ("candidates.gpkg", "routes (GeoPackage)"), ("metadata.json", "metadata"))


@dataclass(frozen=True)
class ReportSection:
    """One section of the HTML report: a title (plain text, escaped on output), an HTML
    body built from escaped values, and an anchor id."""

    title: str
    html: str
    anchor: str = ""


@dataclass
class ReportInputs:
    """Everything a section builder may use (the arguments of :func:`study_report_html`)."""

    study: Study
    ranking: pd.DataFrame
    per_country: pd.DataFrame
    reused: pd.DataFrame | None = None
    extra: dict[str, Any] = field(default_factory=dict)


SectionBuilder = Callable[[ReportInputs], "ReportSection | None"]


def _esc(value: object) -> str:
    return webmap.escape_text(value)


def _num(value: object, digits: int = 0, unit: str = "") -> str:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return _esc(value)
    if np.isnan(v):
        return "–"
    text = f"{v:,.{digits}f}"
    return f"{text} {_esc(unit)}" if unit else text


def capex_band_note() -> str:
    """What the CAPEX P10-P90 range is, with the measured factors (plain text).

    Examples
    --------
    >>> capex_band_note()[:60]
    'CAPEX P10–P90: CAPEX × 0.48 to × 1.49, the measured error of'
    """
    from planner.backtest.capex_error import capex_error_band, cost_factors

    lo, hi = capex_error_band().tolist()
    n = len(cost_factors())
    return (f"CAPEX P10–P90: CAPEX × {lo:.2f} to × {hi:.2f}, the measured error of the "
            f"engineering cost model on {n} built lines it was not fitted on (cost backtest: "
            "published over predicted CAPEX, leave-one-out on the shipped reference set and "
            "the ninth held-out set; planner/data/capex_error.csv). It assumes that error "
            "does not depend on the route; by construction one measured line in five lies "
            "outside it.")


def _band_html(r: pd.Series) -> str:
    lo, hi = r.get("capex_musd_p10"), r.get("capex_musd_p90")
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return ""
    return f"<br><span class='src'>P10–P90 {_num(lo, 0)}–{_num(hi, 0)}</span>"


def recommendations(ranking: pd.DataFrame, order: Sequence[str] | None = None
                    ) -> pd.DataFrame:
    """The recommended (rank 1) candidate of each scenario, in ``order`` (default: as the
    scenarios first appear in ``ranking``).

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"scenario": ["b", "b", "a"], "rank": [2, 1, 1], "name": ["x", "y", "z"]})
    >>> recommendations(r)[["scenario", "name"]].values.tolist()
    [['b', 'y'], ['a', 'z']]
    """
    if not len(ranking):
        return ranking
    names = list(dict.fromkeys([*(order or []), *ranking["scenario"]]))
    rank_of = {s: i for i, s in enumerate(names)}
    best = ranking.sort_values("rank").groupby("scenario", sort=False).head(1)
    return best.sort_values("scenario", key=lambda s: s.map(rank_of)).reset_index(drop=True)


def _route_countries(per_country: pd.DataFrame, row: pd.Series) -> pd.DataFrame:
    if not len(per_country):
        return per_country
    # arrays, not Series: the per-country table's index may repeat (one block per route)
    sel = per_country["scenario"].eq(row["scenario"]).to_numpy(copy=True)
    if "route_id" in row.index and "route_id" in per_country.columns:
        sel &= per_country["route_id"].eq(row["route_id"]).to_numpy()
    else:
        sel &= per_country["name"].eq(row["name"]).to_numpy()
    return per_country[sel]


def who_gains(per_country: pd.DataFrame, row: pd.Series) -> list[str]:
    """Sentences (escaped HTML) on what each country gets from a route (the columns of
    :mod:`planner.accounting`: km, CAPEX located there, transit revenue on new and reused
    km, the buyer's gain, net position, new demand the route can add there)."""
    out = []

    def positive(c: pd.Series, col: str) -> bool:
        v = c.get(col)
        return v is not None and pd.notna(v) and float(v) > 0

    for _, c in _route_countries(per_country, row).iterrows():
        bits = []
        if positive(c, "km"):
            bits.append(f"{_num(c.get('km'), 0, 'km')} of the route")
        if positive(c, "capex_musd"):
            bits.append(f"{_num(c.get('capex_musd'), 1, 'M USD')} of CAPEX")
        if positive(c, "transit_revenue_musd_y"):
            bits.append(f"transit revenue {_num(c['transit_revenue_musd_y'], 1, 'M USD/y')}")
        if positive(c, "buyer_gain_musd_y"):
            bits.append(f"saves {_num(c['buyer_gain_musd_y'], 1, 'M USD/y')} on its gas")
        if c.get("net_position_musd_y") is not None and pd.notna(c.get("net_position_musd_y")):
            bits.append(f"net position {_num(c['net_position_musd_y'], 1, 'M USD/y')}")
        if positive(c, "new_demand_bcm_y"):
            bits.append(f"{_num(c['new_demand_bcm_y'], 2, 'bcm/y')} of new demand it can add")
        role = f" ({_esc(c['role'])})" if pd.notna(c.get("role")) and c.get("role") else ""
        out.append(f"<b>{_esc(c.get('country'))}</b>{role}: " + (", ".join(bits) or "–"))
    return out


def route_risks(row: pd.Series, ranking: pd.DataFrame) -> list[str]:
    """The main risks of a recommended route, read from its figures (escaped HTML)."""
    risks = []
    reused = float(row.get("reused_km") or 0)
    if reused > 0:
        cap = row.get("reused_capacity_bcm_y")
        q = float(row.get("throughput_bcm_y") or 0)
        text = (f"Relies on {_num(reused, 0, 'km')} of existing lines "
                f"({_esc(row.get('reused_pipelines'))}): their owners' agreement, condition and "
                "direction of flow decide whether it can be built as planned")
        if pd.notna(cap) and q > 0:
            text += (f"; assessed capacity in the direction used {_num(cap, 1, 'bcm/y')} for "
                     f"{_num(q, 1, 'bcm/y')} needed")
            if float(cap) < 1.2 * q:
                text += " — <b>little headroom</b>"
        risks.append(text + ".")
    crossings = int(row.get("border_crossings") or 0)
    if crossings:
        risks.append(f"Crosses {crossings} international border(s) "
                     f"({_esc(row.get('countries'))}): transit terms must be agreed.")
    p_best = row.get("p_best")
    if pd.notna(p_best) and float(p_best) < 0.6:
        others = ranking[ranking["scenario"].eq(row["scenario"]) & ranking["rank"].eq(2)]
        runner = f"; runner-up: {_esc(others['name'].iloc[0])}" if len(others) else ""
        risks.append(f"Not a robust first: it ranks first in only {float(p_best):.0%} of the "
                     f"weight draws{runner}.")
    high = row.get("highest_point_m")
    if pd.notna(high) and float(high) > 1500:
        risks.append(f"Reaches {_num(high, 0, 'm')} above sea level: mountain construction.")
    risks.append(f"Costs are planning-level estimates ({REGIONAL_SCALING}); "
                 "see the assumptions below.")
    return risks


def new_build_countries(per_country: pd.DataFrame | None,
                        ranking: pd.DataFrame | None = None) -> list[str]:
    """ISO3 codes of the countries where the candidates build new pipe, most new-build km
    first (``per_country``'s ``new_build_km``, summed over routes and scenarios); without a
    per-country table, the countries the candidates cross (``ranking``'s ``countries``).

    Examples
    --------
    >>> import pandas as pd
    >>> pc = pd.DataFrame({"iso_a3": ["AZE", "GEO", "RUS", "GEO"],
    ...                    "new_build_km": [50.0, 0.0, 10.0, 70.0]})
    >>> new_build_countries(pc)
    ['GEO', 'AZE', 'RUS']
    >>> new_build_countries(None, pd.DataFrame({"countries": ["AZE, GEO", "KAZ, AZE"]}))
    ['AZE', 'GEO', 'KAZ']
    """
    if per_country is not None and {"iso_a3", "new_build_km"} <= set(per_country.columns):
        km = per_country.groupby("iso_a3", sort=False)["new_build_km"].sum()
        km = km[km > 0].sort_values(ascending=False, kind="stable")
        return [str(c) for c in km.index]
    if ranking is None or "countries" not in ranking:
        return []
    isos = (c.strip() for cell in ranking["countries"].dropna().astype(str)
            for c in cell.split(","))
    return list(dict.fromkeys(c for c in isos if c))


def regional_factor_names(per_country: pd.DataFrame | None,
                          ranking: pd.DataFrame | None = None,
                          params: pd.DataFrame | None = None) -> dict[str, list[str]]:
    """The ``regional_factor_<region>`` parameters that scale this study's CAPEX, each with
    the countries it applies to (:func:`new_build_countries`: where new pipe is built),
    and under ``""`` the countries without a fitted factor (1.0, the US basis of the
    regressions by definition, not measured).

    Examples
    --------
    >>> import pandas as pd
    >>> pc = pd.DataFrame({"iso_a3": ["AZE", "GEO", "RUS", "CHN", "KAZ"],
    ...                    "new_build_km": [90.0, 80.0, 70.0, 60.0, 0.0]})
    >>> regional_factor_names(pc)
    {'regional_factor_west_asia': ['AZE', 'GEO'], '': ['RUS', 'CHN']}
    """
    from planner import economics

    known = set((economics.load_cost_parameters() if params is None else params).index)
    region_of = economics._region_of()
    out: dict[str, list[str]] = {}
    for iso in new_build_countries(per_country, ranking):
        name = f"regional_factor_{region_of.get(iso, 'none')}"
        out.setdefault(name if name in known else "", []).append(iso)
    if "" in out:  # last
        out[""] = out.pop("")
    return out


#: The cost table's fuel gas price, and the study key that replaces it where set (route
#: fuel is priced at the study's supply price, :func:`planner.appraisal.fuel_priced_at_supply`,
#: as the system plan prices it).
FUEL_PRICE, SUPPLY_PRICE = "fuel_gas_price_usd_per_1000m3", "supply_price_usd_per_1000m3"


def _fuel_price_row(study: Study, value: float, label: str,
                    source: str) -> tuple[float, str, str]:
    """The fuel gas price row, marked as replaced by the study's (or scenarios') supply
    price where one is set."""
    scenarios = [s.name for s in study.scenarios if SUPPLY_PRICE in s.costs]
    if SUPPLY_PRICE in study.costs:
        return (float(study.costs[SUPPLY_PRICE]),
                f"{label} (replaced by supply price usd per 1000m3)",
                f"study file {study.path.name}: compressor fuel is priced at the study's "
                "supply price (as the system plan prices it); "
                + (f"scenario(s) {', '.join(scenarios)} set their own; " if scenarios else "")
                + f"cost table default {value:g}: {source}")
    if scenarios:
        source += (f"; replaced in scenario(s) {', '.join(scenarios)} by their supply price "
                   "(compressor fuel is priced at it)")
    return value, label, source


def _cost_parameter_rows(study: Study, ranking: pd.DataFrame | None = None,
                         per_country: pd.DataFrame | None = None) -> pd.DataFrame:
    from planner import economics

    params = economics.load_cost_parameters()
    rows = []
    overrides = dict(study.costs)
    values, units = params["value"].to_dict(), params["unit"].to_dict()
    sources = params["source"].to_dict()
    factors = regional_factor_names(per_country, ranking, params)
    if SUPPLY_PRICE in overrides:  # not a cost-table name: the loop below skips it
        rows.append({"Parameter": SUPPLY_PRICE.replace("_", " "),
                     "Value": float(overrides[SUPPLY_PRICE]), "Unit": "USD/1000 m3",
                     "Source": f"study file {study.path.name}"})
    for name in (*DRIVING_PARAMETERS, *(f for f in factors if f)):
        if name not in values:
            continue
        value, source = float(values[name]), str(sources[name])
        if name in overrides:
            value, source = float(overrides[name]), f"study file {study.path.name}"
        label = name.replace("_", " ")
        if name in factors:
            source = f"new pipe in {', '.join(factors[name])}; {source}"
        if name == FUEL_PRICE:
            value, label, source = _fuel_price_row(study, value, label, source)
        rows.append({"Parameter": label, "Value": value,
                     "Unit": str(units[name]), "Source": source})
    if factors.get(""):
        rows.append({"Parameter": "regional factor (none fitted)", "Value": 1.0, "Unit": "-",
                     "Source": f"new pipe in {', '.join(factors[''])}: no fitted factor for "
                     "these countries (planner/data/cost_regions.csv), so 1.0, the US basis "
                     "of the NETL regressions, by definition, not measured"})
    for s in study.scenarios:
        for k, v in s.costs.items():
            rows.append({"Parameter": f"{k.replace('_', ' ')} (scenario {s.name})",
                         "Value": float(v), "Unit": "", "Source": f"study file {study.path.name}"})
    return pd.DataFrame(rows)


def _weights_text(profile: str) -> str:
    from planner.scoring import CRITERIA, WEIGHT_PROFILES

    if profile not in WEIGHT_PROFILES.columns:
        return _esc(profile)
    w = WEIGHT_PROFILES[profile]
    w = w[w > 0].sort_values(ascending=False)
    described = CRITERIA["description"].to_dict()
    return ", ".join(f"{_esc(described.get(c, c))} {v:.0%}" for c, v in w.items())


def headline(rec: pd.DataFrame) -> str:
    """One sentence (escaped HTML) naming the route recommended most often.

    Examples
    --------
    >>> import pandas as pd
    >>> rec = pd.DataFrame({"scenario": ["a", "b"], "name": ["X", "X"],
    ...                     "delivered_cost_usd_per_1000m3": [190.0, 190.0],
    ...                     "tariff_usd_per_1000m3": [39.0, 39.0]})
    >>> headline(rec)
    '<b>X</b> is recommended in 2 of 2 scenarios: gas delivered at 190 USD/1000 m³, of which 39 USD/1000 m³ transport tariff.'
    """  # noqa: E501
    counts = rec["name"].value_counts()
    name = counts.index[0]
    r = rec[rec["name"].eq(name)].iloc[0]
    text = (f"<b>{_esc(name)}</b> is recommended in {int(counts.iloc[0])} of {len(rec)} "
            f"scenario{'s' if len(rec) > 1 else ''}")
    if pd.notna(r.get("delivered_cost_usd_per_1000m3")):
        text += (f": gas delivered at {_num(r['delivered_cost_usd_per_1000m3'], 0)} "
                 f"USD/1000 m³, of which {_num(r.get('tariff_usd_per_1000m3'), 0)} "
                 "USD/1000 m³ transport tariff")
    others = [f"{_esc(x['scenario'])}: {_esc(x['name'])}"
              for _, x in rec[~rec["name"].eq(name)].iterrows()]
    if others:
        text += "; otherwise " + "; ".join(others)
    return text + "."


def summary_section(inp: ReportInputs) -> ReportSection | None:
    """The answer: the recommended route of each scenario, who gains, risks, assumptions."""
    rec = recommendations(inp.ranking)
    if not len(rec):
        return ReportSection("The answer", "<p>No candidate route could be ranked.</p>",
                             "answer")
    profiles = {s.name: s.weight_profile for s in inp.study.scenarios}
    head = ("<tr><th>Scenario</th><th>Recommended route</th><th>CAPEX<br>(M USD)</th>"
            "<th>Tariff<br>(USD/1000 m³)</th><th>Delivered cost<br>(USD/1000 m³)</th>"
            "<th>Throughput<br>(bcm/y)</th><th>Ranks first<br>(weight draws)</th></tr>")
    rows = []
    for _, r in rec.iterrows():
        p = r.get("p_best")
        rows.append(
            f"<tr><td>{_esc(r['scenario'])}</td><td class='route'>{_esc(r['name'])}</td>"
            f"<td>{_num(r.get('capex_musd'), 0)}{_band_html(r)}</td>"
            f"<td>{_num(r.get('tariff_usd_per_1000m3'), 1)}</td>"
            f"<td>{_num(r.get('delivered_cost_usd_per_1000m3'), 1)}</td>"
            f"<td>{_num(r.get('throughput_bcm_y'), 1)}</td>"
            f"<td>{'–' if p is None or pd.isna(p) else f'{float(p):.0%}'}</td></tr>")
    parts = [f"<p class='headline'>{headline(rec)}</p>",
             f"<table class='answer'>{head}{''.join(rows)}</table>",
             f"<p class='note'>{_esc(capex_band_note())}</p>",
             "<p class='note'>Each candidate carries gas from the supply point to one "
             "destination; the best route to every destination is under "
             "<a href='#tables'>Tables</a>.</p>"]
    cards = []
    for _, r in rec.iterrows():
        gains = who_gains(inp.per_country, r)
        risks = route_risks(r, inp.ranking)
        prof = profiles.get(str(r["scenario"]), "")
        cards.append(
            "<div class='card'>"
            f"<h3>{_esc(r['scenario'])}</h3>"
            f"<p class='weights'>Weighting: {_weights_text(prof)}</p>"
            f"<p><b>{_esc(r['name'])}</b>: {_num(r.get('length_km'), 0, 'km')} "
            f"({_num(r.get('new_build_km'), 0, 'km')} new, "
            f"{_num(r.get('reused_km'), 0, 'km')} on existing lines), "
            f"{_num(r.get('diameter_mm'), 0, 'mm')}, "
            f"{_num(r.get('stations'), 0)} compressor station(s).</p>"
            "<h4>Who gains what</h4><ul>" + "".join(f"<li>{g}</li>" for g in gains)
            + "</ul><h4>Main risks</h4><ul>" + "".join(f"<li>{x}</li>" for x in risks)
            + "</ul></div>")
    parts.append(f"<div class='cards'>{''.join(cards)}</div>")
    params = _cost_parameter_rows(inp.study, inp.ranking, inp.per_country)
    if len(params):
        items = "".join(
            f"<li>{_esc(p['Parameter'])}: <b>{_num(p['Value'], 3 if p['Value'] < 10 else 0)}"
            f"</b> {_esc(p['Unit'])} <span class='src'>({_esc(p['Source'])})</span></li>"
            for _, p in params.iterrows())
        parts.append("<h3>Assumptions that drive the result</h3><ul class='assumptions'>"
                     + items + "<li>Ranking weights per scenario (judgement of the planner "
                     "team, not measured): see each scenario above.</li></ul>")
    return ReportSection("The answer", "".join(parts), "answer")


def charts_section(inp: ReportInputs) -> ReportSection | None:
    """Charts: cost against demand with the Pareto front, per country, tariff and delivered
    cost, rank stability (Altair, rendered offline to inline SVG)."""
    from planner import charts

    r = inp.ranking
    figs: list[tuple[str, Callable[[], Any]]] = []
    if {"capex_musd", "new_demand_bcm_y", "pareto"} <= set(r.columns):
        figs.append(("cost-demand", lambda: charts.cost_demand_chart(r)))
    if len(inp.per_country) and "route_id" in r.columns:
        figs.append(("per-country",
                     lambda: charts.per_country_chart(inp.per_country, recommendations(r))))
    if {"tariff_usd_per_1000m3", "delivered_cost_usd_per_1000m3"} <= set(r.columns):
        figs.append(("delivered-cost", lambda: charts.delivered_cost_chart(r)))
    if {"p_best", "expected_rank"} <= set(r.columns):
        figs.append(("rank-stability", lambda: charts.rank_stability_chart(r)))
    out = []
    for key, make in figs:
        try:
            svg = charts.chart_svg(make())
        except Exception as exc:  # a chart that cannot be drawn must not cost the report
            log.warning("chart %s not drawn: %s", key, exc)
            continue
        out.append(f"<figure id='chart-{key}'>{svg}</figure>")
    if not out:
        return None
    return ReportSection("Charts", "".join(out), "charts")


def _labelled(df: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    cols = [c for c in labels if c in df.columns]
    out = df[cols].copy()
    if "p_best" in out.columns:
        out["p_best"] = out["p_best"].map(lambda v: "" if pd.isna(v) else f"{v:.0%}")
    if "pareto" in out.columns:
        out["pareto"] = out["pareto"].map({True: "yes", False: ""})
    return out.rename(columns=labels)


def _html_table(df: pd.DataFrame, cls: str = "data") -> str:
    return _fmt(df).to_html(index=False, escape=True, border=0, classes=cls)


def best_per_destination(ranking: pd.DataFrame) -> pd.DataFrame:
    """Per destination (rows) and scenario (columns): its best-ranked route, as
    ``#rank route (delivered cost)``.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"scenario": ["s", "s"], "rank": [2, 1], "destination": ["A", "A"],
    ...                   "name": ["A — x", "A — y"],
    ...                   "delivered_cost_usd_per_1000m3": [200.0, 190.0]})
    >>> best_per_destination(r).values.tolist()
    [['A', '#1 y (190)']]
    """
    best = ranking.sort_values("rank").groupby(["scenario", "destination"], sort=False).head(1)
    text = [f"#{int(k)} {str(n).split(' — ', 1)[-1]} ({v:,.0f})" for k, n, v in zip(
        best["rank"], best["name"], best["delivered_cost_usd_per_1000m3"], strict=True)]
    table = best.assign(best=text).pivot(index="destination", columns="scenario", values="best")
    scen = [s for s in dict.fromkeys(ranking["scenario"]) if s in table.columns]
    dest = [d for d in dict.fromkeys(ranking["destination"]) if d in table.index]
    table = table.loc[dest, scen].fillna("–").reset_index()
    table.columns = ["Destination", *[str(c) for c in scen]]
    return table


def tables_section(inp: ReportInputs, top: int = 10) -> ReportSection | None:
    """Readable tables: each scenario's best routes, per country, reused lines."""
    parts = []
    if {"destination", "delivered_cost_usd_per_1000m3"} <= set(inp.ranking.columns):
        parts.append("<h3>Best route to each destination (rank within the scenario; "
                     "delivered cost in USD/1000 m³)</h3>")
        parts.append(_html_table(best_per_destination(inp.ranking), cls="data dest"))
    labels = {c: RANKING_LABELS[c] for c in REPORT_TABLE_COLUMNS if c in RANKING_LABELS}
    for scenario, t in inp.ranking.groupby("scenario", sort=False):
        t = t.sort_values("rank")
        parts.append(f"<h3>Scenario: {_esc(scenario)} — best {min(top, len(t))} of "
                     f"{len(t)} candidates</h3>")
        parts.append(_html_table(_labelled(t.head(top), labels)))
    rec = recommendations(inp.ranking)
    if len(inp.per_country) and len(rec):
        parts.append("<h3>Per country, recommended route of each scenario</h3>")
        frames = []
        for _, r in rec.iterrows():
            c = _route_countries(inp.per_country, r)
            cols = [k for k in COUNTRY_COLUMNS if k in c.columns]
            frames.append(c[cols].rename(columns=COUNTRY_COLUMNS).assign(
                Scenario=str(r["scenario"])))
        table = pd.concat(frames, ignore_index=True)
        table = table[["Scenario", *[c for c in table.columns if c != "Scenario"]]]
        if "CAPEX share" in table.columns:
            table["CAPEX share"] = table["CAPEX share"].map(
                lambda v: "" if pd.isna(v) else f"{v:.0%}")
        parts.append(_html_table(table))
        parts.append(f"<p class='note'>{_esc(accounting_note())}</p>")
    lines = _reused_first_scenario(inp.reused, inp.ranking)
    if len(lines):
        parts.append("<h3>Existing lines reused (first scenario)</h3>")
        parts.append(f"<p>{_esc(_REUSED_NOTE)}</p>")
        parts.append(_html_table(lines))
    parts.append("<p class='note'>Full tables: " + ", ".join(
        f"<a href='{f}'>{_esc(label)}</a>" for f, label in _DOWNLOADS) + ".</p>")
    return ReportSection("Tables", "".join(parts), "tables")


def method_section(inp: ReportInputs) -> ReportSection | None:
    """How the figures were made, and where the data and the parameters come from."""
    study = inp.study
    text = (
        f"<p>Candidate routes from the supply point to each destination were generated on a "
        f"cost surface at {_num(study.resolution_km, 0, 'km')} resolution (terrain slope and "
        "elevation, water, borders, existing corridors, mountains): the least-cost greenfield "
        f"route, {study.alternatives} spatially distinct alternative(s) and routes that reuse "
        "existing pipelines (including reverse flow) with new links where needed. Each "
        "candidate is sized (diameter, strings, compressor stations) with steady-state gas "
        f"flow equations for its throughput, costed with the {REGIONAL_SCALING} "
        "and a levelized tariff, split per country (CAPEX where it is "
        "built, transit revenue where the gas passes), and the unserved domestic demand it "
        "can add along the way is counted. Candidates are scored on the criteria of each "
        "scenario's weight profile (normalised 0–1, weighted sum); the Pareto front is taken "
        "over CAPEX, delivered cost and new demand; rank stability draws the weights from a "
        "Dirichlet distribution around the profile.</p>")
    params = _cost_parameter_rows(study, inp.ranking, inp.per_country)
    src = ""
    if len(params):
        src = ("<h3>Parameters and their sources</h3>"
               + _html_table(params.assign(Value=params["Value"].map(lambda v: f"{v:,.4g}"))))
    data = ("<h3>Data</h3><ul>" + "".join(f"<li>{_esc(a)}</li>" for a in webmap.ATTRIBUTIONS)
            + "</ul><p>Provenance and licences of every shipped file: "
            "<code>geodata/SOURCES.md</code>; cost parameters: "
            "<code>planner/data/cost_parameters.csv</code>.</p>")
    return ReportSection("Method and sources", text + src + data, "method")


def accounting_note() -> str:
    """How the per-country figures are made, in one paragraph (for both reports)."""
    from planner.accounting import UTILISATION_NOTE

    return (UTILISATION_NOTE + " CAPEX is located where it is built: new pipe on the "
            "country's new-build km, metering where new pipe crosses a border, compression at "
            "its stations; a country with reused km only earns the existing operator's tariff "
            "on them. Net position: transit revenue − CAPEX × CRF − OPEX, plus for the buyer "
            "(alternative price − delivered cost) × delivered volume.")


#: How the new demand of the domestic-gasification section is counted (both reports).
GASIFICATION_NOTE = (
    "Unserved demand (demand centres with no operating pipeline within reach, an estimate) "
    "in the study's member countries, within reach of the route, capped by its spare "
    "capacity (throughput × (1 − utilisation)); each centre is fed by a straight-line "
    "lateral costed like new pipe.")


def gasification_routes(study: Study, ranking: pd.DataFrame, top: int = 3
                        ) -> list[tuple[str, pd.DataFrame]]:
    """For each scenario ranked by the domestic-gasification profile, its ``top`` routes
    (with ``new_demand_centres``, the centres they would supply); empty when none."""
    if "new_demand_centres" not in ranking.columns:
        return []
    out = []
    for s in study.scenarios:
        if s.weight_profile != "domestic_gasification":
            continue
        t = ranking[ranking["scenario"].eq(s.name)].sort_values("rank").head(top)
        if len(t):
            out.append((s.name, t))
    return out


def gasification_markdown(study: Study, ranking: pd.DataFrame, top: int = 3) -> list[str]:
    """For each scenario ranked by the domestic-gasification profile, the demand centres
    its top routes would supply and the laterals' cost (from ``new_demand_centres``)."""
    parts: list[str] = []
    for name, t in gasification_routes(study, ranking, top):
        parts += [f"## New demand the top routes can add ({markdown_text(name)})", "",
                  GASIFICATION_NOTE, ""]
        for _, r in t.iterrows():
            centres = markdown_text(r.get("new_demand_centres") or "") or "none"
            parts += [f"- **{r['rank']}. {markdown_text(r['name'])}**: "
                      f"{r['new_demand_bcm_y']:.2f} of {r['spare_capacity_bcm_y']:.2f} bcm/y "
                      f"spare, laterals {r['lateral_capex_musd']:,.0f} M USD: {centres}"]
        parts.append("")
    return parts


def gasification_section(inp: ReportInputs) -> ReportSection | None:
    """The demand centres the top routes of a domestic-gasification scenario would supply."""
    parts = []
    for name, t in gasification_routes(inp.study, inp.ranking):
        items = "".join(
            f"<li><b>{int(r['rank'])}. {_esc(r['name'])}</b>: "
            f"{_num(r['new_demand_bcm_y'], 2)} of {_num(r['spare_capacity_bcm_y'], 2)} bcm/y "
            f"spare, laterals {_num(r['lateral_capex_musd'], 0, 'M USD')}: "
            f"{_esc(r.get('new_demand_centres') or 'none')}</li>" for _, r in t.iterrows())
        parts.append(f"<h3>Scenario: {_esc(name)}</h3><ul>{items}</ul>")
    if not parts:
        return None
    return ReportSection("New demand the top routes can add",
                         f"<p>{_esc(GASIFICATION_NOTE)}</p>" + "".join(parts), "gasification")


def operated_route_section(inp: ReportInputs) -> ReportSection | None:
    """Where the candidates that follow the route operated since October 2023 rank, and why
    (:mod:`planner.operated_routes`)."""
    from planner.operated_routes import OPERATED_ROUTE_INTRO, operated_route_table

    t = operated_route_table(inp.ranking)
    if not len(t):
        return None
    items = "".join(
        f"<li>{_esc(r['scenario'])}, {_esc(r['destination'])}: rank {int(r['rank'])} of "
        f"{int(r['of'])} ({int(r['rank_for_destination'])} for this destination), "
        f"{_num(r['new_build_km'], 0, 'km')} new build; {_esc(r['why'])}.</li>"
        for _, r in t.iterrows())
    return ReportSection("The route operated since October 2023",
                         f"<p>{_esc(OPERATED_ROUTE_INTRO)}</p><ul>{items}</ul>", "operated")


#: The report's sections in order; each builder returns a section or ``None`` (skipped).
#: Add a section by passing ``extra_sections`` to :func:`study_report_html` (placed before
#: "Method and sources") or by inserting a builder here.
SECTION_BUILDERS: list[SectionBuilder] = [
    summary_section,
    charts_section,
    tables_section,
    gasification_section,
    operated_route_section,
    method_section,
]

_REPORT_CSS = """
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2733;
  margin:0;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:18px 28px 40px;background:#fff}
header h1{font-size:24px;margin:0 0 4px}
header p.question{margin:0 0 6px;color:#374151}
header p.links{margin:0 0 10px;font-size:13px;color:#555}
nav{font-size:13px;margin-bottom:8px}nav a{margin-right:12px}
h2{font-size:19px;border-bottom:2px solid #1b6ca8;padding-bottom:2px;margin:22px 0 10px}
h3{font-size:16px;margin:14px 0 6px}h4{font-size:14px;margin:8px 0 2px}
table{border-collapse:collapse;font-size:13px;margin:4px 0 12px}
th,td{border-bottom:1px solid #dde1e6;padding:3px 8px;vertical-align:top}
th{background:#eef2f6;text-align:left;font-weight:600}
td{font-variant-numeric:tabular-nums}
table.answer{font-size:14px;width:100%}table.answer td{text-align:right}
table.answer td:first-child,table.answer td.route{text-align:left}
table.answer td.route{font-weight:600}
table.data td{text-align:right;max-width:340px}
table.data td:nth-child(2){text-align:left}
table.dest td{text-align:left}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:12px}
.card{border:1px solid #dde1e6;border-radius:6px;padding:8px 12px;background:#fbfcfd}
.card h3{margin-top:2px;color:#1b6ca8}.card ul{padding-left:18px;margin:2px 0}
.weights,.src,.note{color:#666;font-size:12px}
p.headline{font-size:16px;margin:4px 0 8px}
figure{margin:10px 0 18px;overflow-x:auto}figure svg{max-width:100%;height:auto}
"""


def _in_study_order(study: Study, ranking: pd.DataFrame) -> pd.DataFrame:
    """The ranking with its scenarios in the study file's order, each by rank."""
    order = {s.name: i for i, s in enumerate(study.scenarios)}
    if len(ranking) and "scenario" in ranking.columns:
        ranking = ranking.sort_values(["scenario", "rank"], kind="stable", key=lambda c: (
            c.map(order).fillna(len(order)) if c.name == "scenario" else c))
    return ranking


def report_sections(study: Study, ranking: pd.DataFrame, per_country: pd.DataFrame,
                    reused: pd.DataFrame | None = None, *,
                    extra_sections: Sequence[ReportSection | tuple[str, str]] = (),
                    builders: Sequence[SectionBuilder] | None = None) -> list[ReportSection]:
    """The report's sections in order: the builders' (default :data:`SECTION_BUILDERS`),
    with ``extra_sections`` inserted before "Method and sources".

    Examples
    --------
    >>> import pandas as pd
    >>> from planner.study import load_study, default_study_path
    >>> s = report_sections(load_study(default_study_path()), pd.DataFrame(columns=[
    ...     "scenario", "rank", "name"]), pd.DataFrame(), extra_sections=[("Plan", "<p>x</p>")])
    >>> [x.title for x in s]
    ['The answer', 'Tables', 'Plan', 'Method and sources']
    """
    inp = ReportInputs(study, _in_study_order(study, ranking), per_country, reused)
    out = [s for b in (SECTION_BUILDERS if builders is None else builders)
           if (s := b(inp)) is not None]
    extras = [x if isinstance(x, ReportSection) else ReportSection(x[0], x[1])
              for x in extra_sections]
    at = next((i for i, s in enumerate(out) if s.anchor == "method"), len(out))
    return out[:at] + extras + out[at:]


def study_report_markdown(study: Study, ranking: pd.DataFrame, per_country: pd.DataFrame,
                          reused: pd.DataFrame | None = None) -> str:
    """The recommendation, ranking, who-gains-what, domestic demand, reused-lines and
    operated-route sections as Markdown (text from data neutralised)."""
    ranking = _in_study_order(study, ranking)
    parts = [f"# {markdown_text(study.title)}", "", markdown_text(study.description), ""]
    rec = recommendations(ranking)
    if len(rec):
        cols = ["scenario", "name", "capex_musd", "capex_musd_p10", "capex_musd_p90",
                "tariff_usd_per_1000m3", "delivered_cost_usd_per_1000m3", "throughput_bcm_y",
                "p_best"]
        labels = {"scenario": "Scenario", **RANKING_LABELS, "name": "Recommended route"}
        parts += ["## Recommended route per scenario", "",
                  _md_table(_labelled(rec, {c: labels[c] for c in cols if c in labels})), "",
                  markdown_text(capex_band_note()), ""]
    labels = {c: RANKING_LABELS[c] for c in REPORT_TABLE_COLUMNS if c in RANKING_LABELS}
    for scenario, t in ranking.groupby("scenario", sort=False):
        parts += [f"## Scenario: {markdown_text(scenario)}", "",
                  _md_table(_labelled(t.sort_values("rank"), labels)), ""]
    if len(per_country) and len(rec):
        parts += ["## Per country, recommended route of each scenario", "",
                  accounting_note(), ""]
        for _, r in rec.iterrows():
            t = _route_countries(per_country, r)
            cols = [c for c in COUNTRY_COLUMNS if c in t.columns]
            parts += [f"### {markdown_text(r['scenario'])}: {markdown_text(r['name'])}", "",
                      _md_table(t[cols].rename(columns=COUNTRY_COLUMNS)), ""]
        # the best candidate to each other destination of the first scenario
        first = ranking[ranking["scenario"].eq(rec["scenario"].iloc[0])].sort_values("rank")
        best = first.groupby("destination", sort=False).head(1) \
            if "destination" in first.columns else first.head(0)
        best = best[~best["name"].isin(rec["name"])]
        if len(best):
            parts += [f"## Per country, best candidate to each other destination "
                      f"({markdown_text(rec['scenario'].iloc[0])})", ""]
        for _, r in best.iterrows():
            t = _route_countries(per_country, r)
            cols = [c for c in COUNTRY_COLUMNS if c in t.columns]
            parts += [f"### {markdown_text(r['name'])}", "",
                      _md_table(t[cols].rename(columns=COUNTRY_COLUMNS)), ""]
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
                      reused: pd.DataFrame | None = None, *,
                      extra_sections: Sequence[ReportSection | tuple[str, str]] = ()) -> str:
    """The decision report as one self-contained, offline HTML page (every value escaped).

    The answer comes first (recommended route per scenario with its cost, tariff and
    delivered cost, who gains what, main risks, driving assumptions), then charts, tables
    and method; ``extra_sections`` (``(title, html)`` pairs or :class:`ReportSection`) go
    before the method. See :func:`report_sections`.
    """
    sections = report_sections(study, ranking, per_country, reused,
                               extra_sections=extra_sections)
    nav = " ".join(f"<a href='#{_esc(s.anchor or f'section-{i}')}'>{_esc(s.title)}</a>"
                   for i, s in enumerate(sections))
    body = "".join(f"<section id='{_esc(s.anchor or f'section-{i}')}'><h2>{_esc(s.title)}</h2>"
                   f"{s.html}</section>" for i, s in enumerate(sections))
    n = len(ranking)
    n_scen = ranking["scenario"].nunique() if n else 0
    links = (f"{n} candidate routes in {n_scen} scenario(s) · "
             f"<a href='index.html'>open the interactive map</a> · written "
             f"{time.strftime('%Y-%m-%d', time.gmtime())}")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_esc(study.title)}</title><style>{_REPORT_CSS}</style></head><body><main>"
        f"<header><h1>{_esc(study.title)}</h1>"
        f"<p class='question'>{_esc(study.description.strip())}</p>"
        f"<p class='links'>{links}</p><nav>{nav}</nav></header>{body}</main></body></html>")
