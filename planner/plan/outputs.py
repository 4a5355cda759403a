"""The plan's tables, files, map layer and report section.

- :func:`system_plan_table`: one row per used arc (``system_plan.csv``);
- :func:`plan_per_country`: the plan per country, rows adding up to the plan's totals;
- :func:`add_plan_layer`: a folium layer, line width proportional to flow, one popup per arc;
- :func:`plan_report_markdown` / :func:`plan_report_html`: the report section comparing the
  plan with the best independent route per destination.
"""

from __future__ import annotations

import html
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner import settings, webmap

#: Columns of ``system_plan.csv`` (the issue's, then the annual cost and its parts, then
#: a new arc's pipe terrain factor and km per terrain class, NaN for existing arcs).
PLAN_COLUMNS = ["from", "to", "kind", "system", "reverse", "length_km", "diameter_mm",
                "flow_bcm_y", "capex_musd", "country", "capital_musd_y",
                "compression_fuel_musd_y", "tariff_musd_y", "annual_musd_y",
                "terrain_factor", "flat_km", "hilly_km", "mountain_km", "arc_id"]

#: Columns of the per-country table.
COUNTRY_COLUMNS = ["country", "new_km", "reused_km", "capex_musd", "capital_musd_y",
                   "compression_fuel_musd_y", "tariff_musd_y", "annual_musd_y",
                   "transport_bcm_km_y", "demand_served_bcm_y"]

def system_plan_table(arcs: pd.DataFrame) -> pd.DataFrame:
    """The used arcs as ``system_plan.csv`` rows (largest flow first)."""
    if not len(arcs):
        return pd.DataFrame(columns=PLAN_COLUMNS)
    return (arcs.sort_values(["kind", "flow_bcm_y"], ascending=[False, False])
            [PLAN_COLUMNS].reset_index(drop=True))


def plan_per_country(arcs: pd.DataFrame, demand: dict[str, tuple[str, float]] | None = None
                     ) -> pd.DataFrame:
    """Per country: new and reused km, CAPEX, annual cost and its parts, transport work
    (bcm/y × km) and demand served; every arc's figures are split by its km per country,
    so the rows add up to the plan's totals (and the ``TOTAL`` row).

    Parameters
    ----------
    arcs
        :attr:`planner.plan.optimise.PlanResult.arcs`.
    demand
        Destination → (ISO3 country, bcm/y) for ``demand_served_bcm_y``.

    Examples
    --------
    >>> a = pd.DataFrame({"kind": ["new"], "length_km": [100.0], "flow_bcm_y": [2.0],
    ...     "capex_musd": [50.0], "capital_musd_y": [5.0], "compression_fuel_musd_y": [1.0],
    ...     "tariff_musd_y": [0.0], "annual_musd_y": [6.0],
    ...     "km_by_country": [{"KAZ": 75.0, "UZB": 25.0}]})
    >>> t = plan_per_country(a)
    >>> t.set_index("country").loc[["KAZ", "TOTAL"], "capex_musd"].tolist()
    [37.5, 50.0]
    """
    rows: dict[str, dict[str, float]] = {}
    money = ["capex_musd", "capital_musd_y", "compression_fuel_musd_y", "tariff_musd_y",
             "annual_musd_y"]
    for _, a in arcs.iterrows():
        kmc = a["km_by_country"] if isinstance(a["km_by_country"], dict) else {}
        total = sum(kmc.values()) or float(a["length_km"]) or 1.0
        if not kmc:
            kmc = {"---": float(a["length_km"])}
        for iso, km in kmc.items():
            share = km / total
            r = rows.setdefault(iso, {c: 0.0 for c in COUNTRY_COLUMNS if c != "country"})
            r["new_km" if a["kind"] == "new" else "reused_km"] += km * float(a["length_km"]) \
                / total
            for c in money:
                v = float(a[c]) if pd.notna(a[c]) else 0.0
                r[c] += v * share
            r["transport_bcm_km_y"] += float(a["flow_bcm_y"]) * km * float(a["length_km"]) \
                / total
    for iso, q in (demand or {}).values():
        rows.setdefault(iso, {c: 0.0 for c in COUNTRY_COLUMNS if c != "country"})
        rows[iso]["demand_served_bcm_y"] += float(q)
    t = pd.DataFrame([{"country": k, **v} for k, v in sorted(rows.items())],
                     columns=COUNTRY_COLUMNS)
    total_row = {"country": "TOTAL", **t.drop(columns="country").sum().to_dict()}
    return pd.concat([t, pd.DataFrame([total_row])], ignore_index=True)


def plan_geodataframe(arcs: pd.DataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(arcs.drop(columns=["km_by_country"], errors="ignore"),
                            geometry="geometry", crs=settings.STORAGE_CRS)


_POPUP = {"from": "From", "to": "To", "kind": "Kind", "system": "Existing system",
          "reverse": "Against design flow", "length_km": "Length (km)",
          "diameter_mm": "Diameter (mm)", "flow_bcm_y": "Flow (bcm/y)",
          "capex_musd": "CAPEX (M USD)", "annual_musd_y": "Annual cost (M USD/y)",
          "country": "Countries"}


def add_plan_layer(m: folium.Map, arcs: pd.DataFrame, *, name: str = "System plan",
                   show: bool = True, max_weight: float = 14.0) -> folium.FeatureGroup:
    """Add the plan's arcs: width proportional to flow, new pipe red, existing lines blue
    (dashed where the flow runs against the design direction), a popup per arc.

    Examples
    --------
    >>> from shapely.geometry import LineString
    >>> a = pd.DataFrame({"from": ["a"], "to": ["b"], "kind": ["new"], "system": [""],
    ...     "reverse": [False], "length_km": [10.0], "diameter_mm": [508.0],
    ...     "flow_bcm_y": [2.0], "capex_musd": [20.0], "annual_musd_y": [2.0],
    ...     "country": ["KAZ"], "geometry": [LineString([(60, 40), (61, 41)])]})
    >>> fg = add_plan_layer(webmap.base_map(), a)
    >>> len(fg._children)
    1
    """
    # the map's own overlay helper: escapes the (study-given) name, registers the layer
    fg = webmap._group(m, name, show=show)
    st = webmap._state(m)
    st.legend_sections[name] = [
        (webmap._legend_line("#c0392b", None, 6), "new pipe (width: flow)"),
        (webmap._legend_line("#1f5fa8", None, 6), "existing line used"),
        (webmap._legend_line("#1f5fa8", "8 6", 6), "existing line, reversed flow"),
    ]
    if not len(arcs):
        return fg
    top = max(float(arcs["flow_bcm_y"].max()), 1e-9)
    for _, a in arcs.iterrows():
        weight = 2.0 + (max_weight - 2.0) * float(a["flow_bcm_y"]) / top
        colour = "#c0392b" if a["kind"] == "new" else "#1f5fa8"
        dash = "8 6" if bool(a.get("reverse", False)) else None
        figures = {label: a.get(col) for col, label in _POPUP.items()}
        title = f"{a['from']} → {a['to']}"
        body = (f'<div class="planner-popup"><h4>{webmap.escape_text(title)}</h4>'
                + webmap.figures_table(figures) + "</div>")
        feature = {"type": "Feature",
                   "properties": {"_search": f"{a['from']} → {a['to']} (system plan)"},
                   "geometry": shapely.geometry.mapping(a.geometry)}
        gj = folium.GeoJson({"type": "FeatureCollection", "features": [feature]},
                            control=False,
                            style_function=lambda f, c=colour, w=weight, d=dash: {
                                "color": c, "weight": w, "opacity": 0.8, "dashArray": d})
        folium.Tooltip(webmap.escape_text(f"{title}: {float(a['flow_bcm_y']):.2f} bcm/y"),
                       sticky=True).add_to(gj)
        folium.Popup(folium.Html(body, script=True), max_width=420).add_to(gj)
        gj.add_to(fg)
        st.search_layers.append(gj)
    return fg


def html_table(df: pd.DataFrame) -> str:
    """An HTML table (every cell escaped): floats with two decimals, readable headers.

    >>> t = html_table(pd.DataFrame({"name": ["<b>"], "capex_musd": [1234.5]}))
    >>> "<td>&lt;b&gt;</td>" in t, "<td>1,234.50</td>" in t, "CAPEX" in t
    (True, True, True)
    """
    from planner.report import readable_column

    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:,.2f}")
    out.columns = [readable_column(c) for c in out.columns]
    return out.to_html(index=False, escape=True, border=0)


def _md(df: pd.DataFrame) -> str:
    """A Markdown table; text cells through :func:`planner.neutralise.markdown_text`.

    >>> print(_md(pd.DataFrame({"system": ["A|B\\n# x"], "km": [1.5]})))
    | system | km |
    |---|---|
    | A\\|B \\# x | 1.50 |
    """
    from planner.neutralise import markdown_text

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return "" if np.isnan(v) else f"{v:,.2f}"
        return markdown_text(v)

    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    sep = "|" + "---|" * len(df.columns)
    rows = ["| " + " | ".join(cell(v) for v in r) + " |" for r in df.itertuples(index=False)]
    return "\n".join([head, sep, *rows])


def _comparison(summary: dict[str, Any], independent: pd.DataFrame,
                appraised: pd.DataFrame | None) -> pd.DataFrame:
    t = independent[["destination", "throughput_bcm_y", "alone_musd_y",
                     "sequential_musd_y"]].copy()
    if appraised is not None and len(appraised):
        t = t.merge(appraised, on="destination", how="left")
    total = {"destination": "TOTAL (independent routes)",
             **t.drop(columns="destination").sum(numeric_only=True).to_dict()}
    plan = {"destination": "SYSTEM PLAN", "throughput_bcm_y": total["throughput_bcm_y"],
            "alone_musd_y": summary["objective_musd_y"],
            "sequential_musd_y": summary["objective_musd_y"]}
    if "appraised_musd_y" in t:
        plan["appraised_musd_y"] = summary["objective_musd_y"]
    return pd.concat([t, pd.DataFrame([total, plan])], ignore_index=True)


_NOTE = (
    "Annual cost = new pipe CAPEX × CRF + O&M + compression (capital and fuel) + tariffs "
    "on existing lines (million USD per year). Independent routes: *alone* = each "
    "destination solved alone in the same model on the whole network (their sum can "
    "count an existing line's spare capacity twice); *sequential* = each alone but in "
    "the spare capacity the earlier ones left (the independent routes built together); "
    "*appraised* = the study's best-ranked-by-cost candidate per destination (its own "
    "sizing and costing). Existing lines carry gas only in the directions they may run "
    "(against the design flow only where line_flows.csv says the line can be reversed, "
    "at the reverse factor), each direction within the spare capacity the pipeline graph "
    "gives (design or reverse capacity less the published flows) × plan.spare_share, "
    "unless plan.spare_bcm_y says otherwise.")


def _sentence(message: object) -> str:
    """A solver message without its closing full stop (the report adds one).

    Examples
    --------
    >>> _sentence("HiGHS failed on the MILP: Time limit reached. "), _sentence("x")
    ('HiGHS failed on the MILP: Time limit reached', 'x')
    """
    return str(message).strip().rstrip(".")


def _md_message(message: object) -> str:
    """A solver message as literal Markdown (:func:`planner.neutralise.markdown_text`).

    Examples
    --------
    >>> _md_message("HiGHS failed on the *full* MILP: <Solve error>.")
    'HiGHS failed on the \\\\*full\\\\* MILP: &lt;Solve error&gt;'
    """
    from planner.neutralise import markdown_text

    return markdown_text(_sentence(message))


def _capex_sentence(summary: dict[str, Any]) -> str:
    """The plan's CAPEX with the backtest's measured P10-P90 range (plain text).

    Examples
    --------
    >>> _capex_sentence({"capex_musd": 1000.0, "capex_musd_p10": 480.0,
    ...                  "capex_musd_p90": 1490.0})[:64]
    'CAPEX 1,000 M USD (P10–P90 480–1,490 M USD: the cost model’s mea'
    >>> _capex_sentence({})
    ''
    """
    c, lo, hi = (summary.get(k) for k in ("capex_musd", "capex_musd_p10", "capex_musd_p90"))
    if c is None or lo is None or hi is None:
        return ""
    return (f"CAPEX {c:,.0f} M USD (P10–P90 {lo:,.0f}–{hi:,.0f} M USD: the cost model’s "
            "measured error on built lines it was not fitted on, planner/data/capex_error.csv;"
            " one factor for the whole plan).")


def plan_report_markdown(summary: dict[str, Any], plan: pd.DataFrame,
                         per_country: pd.DataFrame, independent: pd.DataFrame,
                         paths: pd.DataFrame, appraised: pd.DataFrame | None = None) -> str:
    """The report section of the system plan (Markdown)."""
    s = summary
    parts = ["## System plan", "",
             f"Status **{s['status']}**, annual cost **{s['objective_musd_y']:,.1f} M USD/y**, "
             f"MIP gap {s['mip_gap']:.2%}, solved in {s['solve_s']:.1f} s "
             f"({s['n_variables']} variables, {s['n_binaries']} binary, "
             f"{s['n_constraints']} constraints). Hydraulic violations: "
             f"{s.get('violations', 0)}."
             + (f" **{_md_message(s['message'])}**." if s.get("message") else ""), "",
             _capex_sentence(s), "",
             _NOTE, "",
             "### Plan against independent routes", "",
             _md(_comparison(s, independent, appraised)), "",
             "### Per country (rows add up to the TOTAL row)", "", _md(per_country), "",
             "### Arcs", "", _md(plan.drop(columns=["arc_id"])), ""]
    if len(paths):
        parts += ["### Paths and hydraulic check", "",
                  _md(paths[["destination", "flow_bcm_y", "km", "new_km", "reversed_km",
                             "stations", "head_stations", "line_stations", "line_power_mw",
                             "violations"]]), ""]
    return "\n".join(parts)


def plan_report_html(summary: dict[str, Any], plan: pd.DataFrame, per_country: pd.DataFrame,
                     independent: pd.DataFrame, paths: pd.DataFrame,
                     appraised: pd.DataFrame | None = None, *, heading: bool = True) -> str:
    """The same section as HTML (every value escaped, headers with units); ``heading=False``
    leaves out the ``<h2>`` (the decision report's sections carry their own)."""
    s = summary
    tab = html_table
    head = (f"<p>Status <b>{html.escape(str(s['status']))}</b>, annual cost "
            f"<b>{s['objective_musd_y']:,.1f} M USD/y</b>, MIP gap {s['mip_gap']:.2%}, "
            f"solved in {s['solve_s']:.1f} s. Hydraulic violations: "
            f"{int(s.get('violations', 0))}."
            + (f" <b>{webmap.escape_text(_sentence(s['message']))}</b>."
               if s.get("message") else "")
            + f"</p><p>{html.escape(_capex_sentence(s))}</p><p>{html.escape(_NOTE)}</p>")
    body = ["<h2>System plan</h2>" if heading else "", head,
            "<h3>Plan against independent routes</h3>",
            tab(_comparison(s, independent, appraised)),
            "<h3>Per country (rows add up to the TOTAL row)</h3>", tab(per_country),
            "<h3>Arcs</h3>", tab(plan.drop(columns=["arc_id"]))]
    if len(paths):
        body += ["<h3>Paths and hydraulic check</h3>",
                 tab(paths[["destination", "flow_bcm_y", "km", "new_km", "reversed_km",
                            "stations", "head_stations", "line_stations", "line_power_mw",
                             "violations"]])]
    return "\n".join(body)


def plan_panel_html(summary: dict[str, Any], per_country: pd.DataFrame) -> str:
    """The plan in a few lines for the map's side panel (every value escaped).

    Examples
    --------
    >>> s = {"status": "optimal", "objective_musd_y": 120.0, "new_km": 310.0,
    ...      "reused_km": 1500.0, "capex_musd": 900.0}
    >>> t = plan_panel_html(s, pd.DataFrame({"country": ["<i>KAZ"], "new_km": [310.0]}))
    >>> "<i>KAZ" in t, "&lt;i&gt;KAZ" in t
    (False, True)
    >>> t = plan_panel_html({**s, "status": "error", "message": "HiGHS <b>failed</b>."},
    ...                     pd.DataFrame())
    >>> "Solver message" in t, "HiGHS &lt;b&gt;failed&lt;/b&gt;" in t
    (True, True)
    """
    from planner.report import readable_column

    figures = {"Status": summary.get("status"),
               **({"Solver message": _sentence(summary["message"])}
                  if summary.get("message") else {}),
               "Annual cost (M USD/y)": summary.get("objective_musd_y"),
               "New pipe (km)": summary.get("new_km"),
               "Existing lines used (km)": summary.get("reused_km"),
               "CAPEX (M USD)": summary.get("capex_musd")}
    cols = [c for c in ("country", "new_km", "reused_km", "capex_musd")
            if c in per_country.columns]
    table = per_country[cols].rename(columns=readable_column)
    return ("<p>The network that meets every destination's demand at least annual cost. "
            "On the map (tick <i>System plan</i> in the layer control): width by flow, new "
            "pipe red, existing lines blue.</p>"
            + webmap.figures_table(figures)
            + (webmap.dataframe_table(table, caption="Per country") if cols else ""))


__all__ = ["COUNTRY_COLUMNS", "PLAN_COLUMNS", "add_plan_layer", "html_table",
           "plan_geodataframe", "plan_panel_html", "plan_per_country", "plan_report_html",
           "plan_report_markdown", "system_plan_table"]
