"""The study's decision map: a side panel with title, summary, scenario switch and ranking.

:func:`decision_map` builds the page a negotiating team opens (``maps/<study>/index.html``):

- a **side panel** (left) with the study's title and question, a **scenario switch**
  (one button per scenario; only that scenario's routes are drawn), a **summary** of the
  scenario's recommended route (CAPEX, tariff, delivered cost), the **ranking** (click a
  row: the route is highlighted and the map zooms to it; click a route on the map: its row
  is highlighted), a **compare** table for the routes ticked in the ranking (drawn wider on
  the map, the others dimmed), and any extra panels;
- the **map** beside it: existing system, cost surface, the candidate routes of the chosen
  scenario coloured by destination (best routes drawn wider), popups with figures, a
  per-country table and an inline SVG profile (:func:`planner.webmap.profile_svg`, no
  matplotlib); the layer control is collapsed and the legend is closed on short screens.

Hooks for later additions
-------------------------
``extra_panels``
    ``(title, html)`` pairs appended to the side panel as collapsible sections (e.g. the
    system plan or coalition results). The HTML is inserted as is: build it from escaped
    values (:func:`planner.webmap.escape_text`, :func:`planner.webmap.dataframe_table`).
``extra_layers``
    Callables ``f(m)`` that add layers to the folium map (e.g. a plan's pipelines through
    :func:`planner.webmap._group` or a ``folium.FeatureGroup``); they run before the map is
    finished, so their layers appear in the layer control and legend.

The panel's data reach the page as JSON (``<``, ``>``, ``&`` escaped) and are shown with
``textContent``, so names from data never run as HTML.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element, Figure, MacroElement, Template

from planner import webmap

log = logging.getLogger(__name__)

#: Colours of the destinations (categorical), none close to a colour the map's other lines
#: take (pipeline status, :data:`planner.webmap.STATUS_STYLE`; the system plan's arcs): the
#: second was the under-construction orange, so a route could not be told from such a line.
DESTINATION_COLOURS = ("#1f78ff", "#e7298a", "#2ca02c", "#17becf", "#bcbd22", "#a6761d",
                       "#f781bf", "#6a00ff", "#00ff7f")

#: Figures of the ranking rows and the compare table: column -> label (units explicit).
PANEL_FIGURES: dict[str, str] = {
    "destination": "Destination",
    "length_km": "Length (km)",
    "new_build_km": "New build (km)",
    "reused_km": "Existing lines (km)",
    "diameter_mm": "Diameter (mm)",
    "stations": "Compressor stations",
    "capex_musd": "CAPEX (M USD)",
    "tariff_usd_per_1000m3": "Tariff (USD/1000 m³)",
    "delivered_cost_usd_per_1000m3": "Delivered cost (USD/1000 m³)",
    "new_demand_bcm_y": "New demand it can add (bcm/y)",
    "border_crossings": "Border crossings",
    "countries": "Countries",
    "score": "Score (0–1)",
    "p_best": "Ranks first (share of weight draws)",
}

ExtraLayer = Callable[[folium.Map], Any]


def _json_for_script(data: object) -> str:
    """JSON safe inside ``<script>``: no ``</script>``, comment or entity can start."""
    text = json.dumps(data, ensure_ascii=False, default=_plain)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _plain(v: object) -> object:
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return None if np.isnan(v) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return str(v)


def _value(v: object) -> object:
    if v is None or (isinstance(v, float | np.floating) and np.isnan(v)):
        return None
    return _plain(v) if isinstance(v, np.generic) else v if isinstance(
        v, int | float | bool | str) else str(v)


def destination_colours(destinations: Sequence[object]) -> dict[str, str]:
    """One colour per destination, in the order given.

    Examples
    --------
    >>> destination_colours(["Tashkent", "Almaty", "Tashkent"])
    {'Tashkent': '#1f78ff', 'Almaty': '#e7298a'}
    """
    names = list(dict.fromkeys(str(d) for d in destinations))
    return {d: DESTINATION_COLOURS[i % len(DESTINATION_COLOURS)] for i, d in enumerate(names)}


class _DecisionPanel(MacroElement):
    """The side panel and its script (scenario switch, ranking, selection, compare)."""

    _template = Template("""
        {% macro header(this, kwargs) %}
        <style>
        :root {--planner-panel-w: 360px;}
        @media (min-width: 1600px) {:root {--planner-panel-w: 430px;}}
        @media (max-width: 900px) {:root {--planner-panel-w: 300px;}}
        .folium-map {position: absolute !important; left: var(--planner-panel-w) !important;
          top: 0 !important; right: 0 !important; bottom: 0 !important; width: auto !important;
          height: auto !important;}
        body.planner-panel-hidden .folium-map {left: 0 !important;}
        body.planner-panel-hidden .planner-panel {display: none;}
        .planner-panel {position: absolute; left: 0; top: 0; bottom: 0;
          width: var(--planner-panel-w); box-sizing: border-box; overflow-y: auto;
          padding: 10px 12px 16px; background: #fff; z-index: 1001;
          border-right: 1px solid #d0d5db; font: 13px/1.4 system-ui, -apple-system,
          "Segoe UI", Roboto, sans-serif; color: #1d2733;}
        .planner-panel h1 {font-size: 15px; line-height: 1.25; margin: 0 0 4px;}
        .planner-panel h2 {font-size: 13px; text-transform: uppercase; letter-spacing: .04em;
          color: #555; margin: 12px 0 4px;}
        .planner-panel .question {color: #444; font-size: 12px; margin: 0 0 6px;
          display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical;
          overflow: hidden;}
        .planner-panel .question:hover {-webkit-line-clamp: unset;}
        .planner-panel .links {font-size: 12px; margin: 0 0 4px;}
        .planner-switch {display: flex; flex-wrap: wrap; gap: 4px;}
        .planner-switch button {flex: 1 1 auto; border: 1px solid #1b6ca8; background: #fff;
          color: #1b6ca8; border-radius: 4px; padding: 4px 6px; font: inherit; cursor: pointer;}
        .planner-switch button[aria-pressed="true"] {background: #1b6ca8; color: #fff;}
        .planner-summary {background: #f2f6fa; border-left: 4px solid #1b6ca8;
          padding: 6px 8px; margin: 8px 0;}
        .planner-summary .best {font-weight: 600;}
        .planner-summary dl {display: grid; grid-template-columns: auto auto; gap: 0 8px;
          margin: 4px 0 0;}
        .planner-summary dt {color: #555;} .planner-summary dd {margin: 0; text-align: right;
          font-variant-numeric: tabular-nums;}
        table.planner-ranking {width: 100%; border-collapse: collapse; font-size: 12px;}
        table.planner-ranking th {text-align: left; color: #555; font-weight: 600;
          border-bottom: 1px solid #ccc; position: sticky; top: -10px; background: #fff;}
        table.planner-ranking td {border-bottom: 1px solid #eee; padding: 3px 2px;
          vertical-align: top;}
        table.planner-ranking td.num {text-align: right; font-variant-numeric: tabular-nums;
          white-space: nowrap;}
        table.planner-ranking tr.planner-row {cursor: pointer;}
        table.planner-ranking tr.planner-row:hover {background: #f5f8fb;}
        table.planner-ranking tr.planner-row.selected {background: #fff3c4;}
        .planner-swatch {display: inline-block; width: 10px; height: 10px; border-radius: 2px;
          margin-right: 4px; vertical-align: -1px;}
        .planner-route-dest {font-weight: 600;} .planner-route-how {color: #555;}
        .planner-more {margin: 4px 0; font: inherit; font-size: 12px; cursor: pointer;}
        table.planner-compare {border-collapse: collapse; font-size: 12px; width: 100%;}
        table.planner-compare th, table.planner-compare td {border-bottom: 1px solid #eee;
          padding: 2px 3px; text-align: right; vertical-align: top;}
        table.planner-compare th:first-child {text-align: left; color: #555;
          font-weight: normal;}
        .planner-panel details {margin-top: 10px;} .planner-panel summary {cursor: pointer;
          font-weight: 600;}
        .planner-toggle {position: absolute; z-index: 1002; top: 10px; left:
          calc(var(--planner-panel-w) + 54px); background: #fff; border: 1px solid #999;
          border-radius: 4px; font: 12px system-ui, sans-serif; padding: 3px 6px; cursor: pointer;}
        body.planner-panel-hidden .planner-toggle {left: 54px;}
        .planner-legend {left: 10px !important; bottom: 52px !important;}
        .planner-summary .weights {color: #555; font-size: 11px;}
        .planner-summary dl {grid-template-columns: 1fr auto;}
        .planner-profile {display: block; margin-top: 4px;}
        html, body {overflow: hidden;}  /* only the panel and popups scroll, never the page */
        .leaflet-popup-content {max-height: calc(100vh - 140px); overflow-y: auto;}
        </style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
        <aside class="planner-panel" id="planner-panel" aria-label="Study summary and ranking">
          <h1 id="planner-title"></h1>
          <p class="question" id="planner-question"></p>
          <p class="links"><a href="report.html">Full report</a> · tables:
            <a href="ranking.csv">ranking.csv</a>, <a href="per_country.csv">per_country.csv</a></p>
          <h2>Scenario</h2>
          <div class="planner-switch" id="planner-switch" role="group"
               aria-label="Scenario"></div>
          <div class="planner-summary" id="planner-summary"></div>
          <h2>Ranking <span style="text-transform:none;font-weight:normal">(click a row to
            zoom; tick to compare)</span></h2>
          <table class="planner-ranking" id="planner-ranking"><thead><tr><th></th><th>#</th>
            <th>Route</th><th title="Delivered cost (USD/1000 m³)">USD/<br>1000 m³</th>
            <th title="CAPEX (M USD)">CAPEX<br>M USD</th></tr></thead><tbody></tbody></table>
          <button class="planner-more" id="planner-more" type="button"></button>
          <div id="planner-compare-box" hidden><h2>Compare</h2>
            <table class="planner-compare" id="planner-compare"></table></div>
          {{ this.extra_html }}
        </aside>
        <button class="planner-toggle" id="planner-toggle" type="button"
                title="Hide or show the panel">◀ panel</button>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function() {
          var DATA = {{ this.data_json }};
          var map = {{ this._parent.get_name() }};
          var TOP = 10, state = {scenario: 0, selected: null, all: false, compare: []};
          var $ = function(id) { return document.getElementById(id); };
          function el(tag, text, cls) {
            var e = document.createElement(tag);
            if (text !== undefined && text !== null) e.textContent = text;
            if (cls) e.className = cls;
            return e;
          }
          function fmt(v, d) {
            if (v === null || v === undefined || v === "") return "–";
            if (typeof v === "number") return v.toLocaleString("en-US",
              {minimumFractionDigits: d || 0, maximumFractionDigits: d || 0});
            if (typeof v === "boolean") return v ? "yes" : "no";
            return String(v);
          }
          var DIGITS = {score: 2, tariff_usd_per_1000m3: 1, delivered_cost_usd_per_1000m3: 1,
                        new_demand_bcm_y: 2};
          function fig(row, k) {
            if (k === "p_best") return row[k] === null ? "–" : Math.round(row[k] * 100) + "%";
            return fmt(row[k], DIGITS[k] || 0);
          }
          function scen() { return DATA.scenarios[state.scenario]; }
          function layerOf(row) { return window[row.layer]; }
          function style(row) {
            var sel = state.selected === row.id, cmp = state.compare.indexOf(row.id) >= 0;
            var dim = (state.selected !== null || state.compare.length > 0) && !sel && !cmp;
            return {color: row.colour, weight: sel ? 10 : (cmp ? 8 : (row.rank <= 3 ? 6 : 3.5)),
                    opacity: dim ? 0.35 : 0.9};
          }
          function restyle() {
            scen().rows.forEach(function(row) {
              var l = layerOf(row); if (!l) return;
              l.options.style = function() { return style(row); };
              l.setStyle(style(row));
            });
            var s = scen().rows.filter(function(r) { return r.id === state.selected; })[0];
            if (s && layerOf(s)) layerOf(s).bringToFront();
          }
          function select(id, zoom) {
            state.selected = id;
            var row = scen().rows.filter(function(r) { return r.id === id; })[0];
            if (row && row.rank > TOP && !state.all) { state.all = true; renderTable(); }
            restyle();
            document.querySelectorAll("#planner-ranking tr.planner-row").forEach(function(tr) {
              var on = tr.dataset.id === id;
              tr.classList.toggle("selected", on);
              if (on) tr.scrollIntoView({block: "nearest"});
            });
            if (zoom && row && layerOf(row)) {
              map.fitBounds(layerOf(row).getBounds(), {padding: [40, 40], maxZoom: 7});
            }
          }
          function renderSwitch() {
            var box = $("planner-switch"); box.textContent = "";
            DATA.scenarios.forEach(function(s, i) {
              var b = el("button", s.name); b.type = "button";
              b.setAttribute("aria-pressed", i === state.scenario ? "true" : "false");
              b.dataset.index = i;
              b.addEventListener("click", function() { setScenario(i); });
              box.appendChild(b);
            });
          }
          function renderSummary() {
            var s = scen(), box = $("planner-summary"); box.textContent = "";
            var best = s.rows[0];
            box.appendChild(el("div", s.profile ? "Weighting: " + s.profile : "", "weights"));
            if (!best) { box.appendChild(el("div", "No candidate in this scenario.")); return; }
            var p = el("div", null, "best");
            p.appendChild(el("span", "Recommended: "));
            p.appendChild(el("span", best.name));
            box.appendChild(p);
            var dl = el("dl");
            [["CAPEX (M USD)", fig(best, "capex_musd")],
             ["Tariff (USD/1000 m³)", fig(best, "tariff_usd_per_1000m3")],
             ["Delivered cost (USD/1000 m³)", fig(best, "delivered_cost_usd_per_1000m3")],
             ["Throughput (bcm/y)", fmt(best.throughput_bcm_y, 1)],
             ["Ranks first (weight draws)", fig(best, "p_best")]].forEach(function(kv) {
              dl.appendChild(el("dt", kv[0])); dl.appendChild(el("dd", kv[1]));
            });
            box.appendChild(dl);
            box.appendChild(el("div", s.rows.length + " candidate routes; colour = destination",
                               "weights"));
          }
          function renderTable() {
            var body = document.querySelector("#planner-ranking tbody"); body.textContent = "";
            var rows = scen().rows, shown = state.all ? rows : rows.slice(0, TOP);
            shown.forEach(function(row) {
              var tr = el("tr", null, "planner-row"); tr.dataset.id = row.id;
              var td0 = el("td"), cb = el("input"); cb.type = "checkbox";
              cb.title = "compare"; cb.checked = state.compare.indexOf(row.id) >= 0;
              cb.addEventListener("click", function(e) { e.stopPropagation(); toggleCompare(row.id); });
              td0.appendChild(cb); tr.appendChild(td0);
              tr.appendChild(el("td", row.rank, "num"));
              var td = el("td"), sw = el("span", null, "planner-swatch");
              sw.style.background = row.colour; td.appendChild(sw);
              td.appendChild(el("span", row.destination, "planner-route-dest"));
              td.appendChild(el("div", row.how, "planner-route-how"));
              tr.appendChild(td);
              tr.appendChild(el("td", fig(row, "delivered_cost_usd_per_1000m3"), "num"));
              tr.appendChild(el("td", fig(row, "capex_musd"), "num"));
              tr.addEventListener("click", function() { select(row.id, true); });
              if (row.id === state.selected) tr.classList.add("selected");
              body.appendChild(tr);
            });
            var more = $("planner-more");
            more.hidden = rows.length <= TOP;
            more.textContent = state.all ? "show the best " + TOP : "show all " + rows.length;
          }
          function toggleCompare(id) {
            var i = state.compare.indexOf(id);
            if (i >= 0) state.compare.splice(i, 1);
            else { state.compare.push(id); if (state.compare.length > 4) state.compare.shift(); }
            renderCompare(); renderTable(); restyle();
          }
          function renderCompare() {
            var rows = scen().rows.filter(function(r) { return state.compare.indexOf(r.id) >= 0; });
            var box = $("planner-compare-box"), t = $("planner-compare");
            box.hidden = rows.length === 0; t.textContent = "";
            if (!rows.length) return;
            var head = el("tr"); head.appendChild(el("th", ""));
            rows.forEach(function(r) { head.appendChild(el("th", "#" + r.rank + " " + r.how)); });
            t.appendChild(head);
            DATA.figures.forEach(function(f) {
              var tr = el("tr"); tr.appendChild(el("th", f[1]));
              rows.forEach(function(r) { tr.appendChild(el("td", fig(r, f[0]))); });
              t.appendChild(tr);
            });
          }
          function setScenario(i) {
            DATA.scenarios.forEach(function(s, j) {
              var g = window[s.group]; if (!g) return;
              if (j === i) { if (!map.hasLayer(g)) g.addTo(map); }
              else if (map.hasLayer(g)) map.removeLayer(g);
            });
            state = {scenario: i, selected: null, all: false, compare: []};
            map.closePopup();
            renderSwitch(); renderSummary(); renderTable(); renderCompare(); restyle();
          }
          DATA.scenarios.forEach(function(s) {
            s.rows.forEach(function(row) {
              var l = layerOf(row); if (!l) return;
              // folium's hover highlight calls resetStyle, which reads options.style: ours
              l.on("click", function() { select(row.id, false); });
            });
          });
          $("planner-title").textContent = DATA.title;
          $("planner-question").textContent = DATA.question;
          $("planner-more").addEventListener("click", function() {
            state.all = !state.all; renderTable(); });
          $("planner-toggle").addEventListener("click", function() {
            var hidden = document.body.classList.toggle("planner-panel-hidden");
            this.textContent = hidden ? "▶ panel" : "◀ panel";
            map.invalidateSize();
          });
          document.querySelectorAll(".planner-legend").forEach(function(lg) {
            map.getContainer().appendChild(lg);  // inside the map, beside the panel
            L.DomEvent.disableClickPropagation(lg); L.DomEvent.disableScrollPropagation(lg);
          });
          map.invalidateSize();
          if (DATA.bounds) map.fitBounds(DATA.bounds, {animate: false});
          setScenario(0);
          window.plannerPanel = {select: select, setScenario: setScenario, state: function() {
            return state; }, data: DATA};
        })();
        {% endmacro %}
    """)  # noqa: E501

    def __init__(self, data: Mapping[str, Any], extra_html: str = "") -> None:
        super().__init__()
        self._name = "PlannerDecisionPanel"
        self.data_json = _json_for_script(data)
        self.extra_html = extra_html


def _how(name: str, destination: str) -> str:
    """The part of a route name after its destination ("reverse flow on …")."""
    prefix = f"{destination} — "
    return name[len(prefix):] if name.startswith(prefix) else name


def decision_map(
    study: Any,
    layers: Any,
    candidates: gpd.GeoDataFrame,
    per_country: pd.DataFrame,
    surfaces: Mapping[str, Any] | None = None,
    *,
    extra_layers: Sequence[ExtraLayer] = (),
    extra_panels: Sequence[tuple[str, str]] = (),
    popup_labels: Mapping[str, str] | None = None,
    country_tables: Mapping[Any, pd.DataFrame] | None = None,
    surface_image: tuple[np.ndarray, tuple[float, float, float, float]] | None = None,
) -> folium.Map:
    """The study's decision map (see the module docstring); write it with
    :func:`planner.webmap.save_map`.

    Parameters
    ----------
    study
        The :class:`planner.study.Study` (title, description, scenarios and their profiles).
    layers
        The study's layers (existing system and basemap).
    candidates
        Ranked candidates of every scenario (``scenario``, ``route_id``, ``name``, ``rank``,
        ``score``, ``destination`` and figure columns; optional ``distance_km``,
        ``elevation_m``, ``pressure_bar`` arrays for the profile).
    per_country
        Unused unless ``country_tables`` is ``None``: rows per ``route_id`` and country.
    surfaces
        Unused here (the caller passes ``surface_image``); kept for symmetry.
    extra_layers, extra_panels
        Hooks for later additions (see the module docstring).
    popup_labels
        Popup figure columns and their labels.
    country_tables
        Per ``route_id``, the per-country table shown in the popup.
    surface_image
        ``(array, bounds)`` of the cost surface on a lon/lat grid, an optional overlay.
    """
    m = webmap.existing_system_map(layers)
    if surface_image is not None:
        webmap.add_cost_surface(m, surface_image[0], surface_image[1],
                                name="Cost surface (first scenario)")
    profiles = {s.name: s.weight_profile for s in getattr(study, "scenarios", ())}
    labels = dict(popup_labels or {})
    cands = candidates.copy()
    cands["route_id"] = cands["route_id"].astype(str)
    dest_col = cands["destination"] if "destination" in cands.columns else cands["name"]
    colours = destination_colours(dest_col)
    order = list(dict.fromkeys([*profiles, *cands["scenario"]]))
    scenarios = []
    for i, scenario in enumerate(s for s in order if (cands["scenario"] == s).any()):
        routes = cands[cands["scenario"] == scenario].sort_values("rank")
        route_colours = {rid: colours[str(d)] for rid, d in zip(
            routes["route_id"], routes.get("destination", routes["name"]), strict=True)}
        svgs = {}
        for _, r in routes.iterrows():
            dist, elev = r.get("distance_km"), r.get("elevation_m")
            if isinstance(dist, list | np.ndarray) and isinstance(elev, list | np.ndarray):
                press = r.get("pressure_bar")
                svgs[r["route_id"]] = webmap.profile_svg(
                    dist, elev, press if isinstance(press, list | np.ndarray) else None,
                    title="Profile along the route")
        cols = [c for c in labels if c in routes.columns]
        keep = ["route_id", "name", "rank", "score", *cols, "geometry"]
        fg = webmap.add_routes(m, routes[keep], name=f"Candidates: {scenario}", columns=cols,
                               labels=labels, profiles=svgs, tables=country_tables,
                               show=i == 0, colours=route_colours, control=False)
        layer_of = {gj.data["features"][0]["properties"]["route_id"]: gj.get_name()
                    for gj in fg._children.values() if isinstance(gj, folium.GeoJson)}
        rows = []
        for _, r in routes.iterrows():
            dest = str(r.get("destination", r["name"]))
            row = {"id": r["route_id"], "layer": layer_of.get(r["route_id"]),
                   "rank": int(r["rank"]), "name": str(r["name"]), "destination": dest,
                   "how": _how(str(r["name"]), dest), "colour": route_colours[r["route_id"]],
                   "throughput_bcm_y": _value(r.get("throughput_bcm_y"))}
            for c in PANEL_FIGURES:
                row[c] = _value(r.get(c)) if c in r.index else None
            rows.append(row)
        scenarios.append({"name": str(scenario), "group": fg.get_name(),
                          "profile": _profile_text(profiles.get(str(scenario), "")),
                          "rows": rows})
    st = webmap._state(m)
    for s in scenarios:  # one legend entry for the routes, whichever scenario is shown
        st.legend_sections.pop(f"Candidates: {s['name']}", None)
    st.legend_sections["Candidate routes (colour: destination; wider: top 3)"] = [
        (webmap._legend_line(c, None, 4), d) for d, c in colours.items()]
    for add in extra_layers:
        add(m)
    bounds = None
    if len(cands):
        w, s_, e, n = cands.total_bounds
        bounds = [[float(s_), float(w)], [float(n), float(e)]]
    data = {"title": str(getattr(study, "title", "")),
            "question": str(getattr(study, "description", "")).strip(),
            "scenarios": scenarios, "bounds": bounds,
            "figures": [[k, v] for k, v in PANEL_FIGURES.items()]}
    extra_html = "".join(
        f"<details><summary>{webmap.escape_text(title)}</summary>{body}</details>"
        for title, body in extra_panels)
    root = m.get_root()
    if isinstance(root, Figure):
        root.header.add_child(Element(
            '<meta name="viewport" content="width=device-width, initial-scale=1">'))
    _DecisionPanel(data, extra_html).add_to(m)
    return m


def _profile_text(profile: str) -> str:
    from planner.scoring import CRITERIA, WEIGHT_PROFILES

    if profile not in WEIGHT_PROFILES.columns:
        return str(profile)
    w = WEIGHT_PROFILES[profile]
    w = w[w > 0].sort_values(ascending=False).head(3)
    described = CRITERIA["description"].to_dict()
    return ", ".join(f"{described.get(c, c)} {v:.0%}" for c, v in w.items()) + ", …"


__all__ = ["DESTINATION_COLOURS", "PANEL_FIGURES", "decision_map", "destination_colours"]
