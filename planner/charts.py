"""Charts of a study's results, declared with Altair (Vega-Lite) and rendered offline to SVG.

Each ``*_chart`` function takes the study's tables (the ranking of :func:`planner.runner.
ranking_table`, the per-country table) and returns an :class:`altair.Chart`; :func:`chart_svg`
renders any chart to an SVG string with ``vl-convert`` (no browser, no network), ready to
be placed inline in an HTML page. Vega escapes every text it draws, so names from data show
as text.

- :func:`cost_demand_chart`: CAPEX against the new domestic demand a route can add
  (:mod:`planner.domestic`), Pareto front marked;
- :func:`per_country_chart`: per country along each scenario's recommended route: km,
  CAPEX and transit revenue;
- :func:`delivered_cost_chart`: delivered cost split into gas at the source and transport
  tariff, for the best routes of each scenario;
- :func:`rank_stability_chart`: how often each top route stays best when the weights vary.

Examples
--------
>>> import pandas as pd
>>> ranking = pd.DataFrame({
...     "scenario": ["s", "s"], "rank": [1, 2], "name": ["A", "B"],
...     "capex_musd": [50.0, 80.0], "new_demand_bcm_y": [2.0, 3.5], "pareto": [True, True],
...     "tariff_usd_per_1000m3": [40.0, 45.0], "delivered_cost_usd_per_1000m3": [190.0, 195.0],
...     "p_best": [0.8, 0.2], "expected_rank": [1.2, 1.8]})
>>> svg = chart_svg(cost_demand_chart(ranking))
>>> svg.startswith("<svg") and "CAPEX" in svg
True
"""

from __future__ import annotations

import logging
from typing import Any

import altair as alt
import pandas as pd

log = logging.getLogger(__name__)

#: Colours of the scenarios (in study order) and of the two parts of the delivered cost.
SCENARIO_COLOURS = ("#1b6ca8", "#e07b39", "#3a9d5d", "#8e5ea2", "#c44e52", "#7f7f7f")
COST_PART_COLOURS = {"Gas at the source": "#bdbdbd", "Transport tariff": "#1b6ca8"}
WIDTH = 560


def short_name(name: object, limit: int = 48) -> str:
    """A route name shortened for an axis label (full name stays in the tooltip).

    Examples
    --------
    >>> short_name("Tashkent — reverse flow on Central Asia–Center + Beineu–Bozoi–Shymkent", 30)
    'Tashkent — reverse flow on Ce…'
    """
    text = str(name)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _scenario_scale(ranking: pd.DataFrame) -> alt.Scale:
    names = list(dict.fromkeys(ranking["scenario"].astype(str)))
    return alt.Scale(domain=names, range=list(SCENARIO_COLOURS[: len(names)]) or ["#1b6ca8"])


def cost_demand_chart(ranking: pd.DataFrame) -> alt.Chart:
    """CAPEX (M USD) against the new demand a route can add (bcm/y), one panel per scenario.

    Filled circles are on the Pareto front (no other candidate of the scenario is cheaper
    and serves more and delivers cheaper gas); the front is joined by a line.
    """
    df = ranking.assign(
        scenario=ranking["scenario"].astype(str),
        front=ranking["pareto"].map({True: "on the Pareto front", False: "dominated"})
        .fillna("dominated"),
        route=ranking["name"].astype(str))
    cols = ["scenario", "route", "rank", "capex_musd", "new_demand_bcm_y", "front",
            "delivered_cost_usd_per_1000m3"]
    df = df.loc[df["capex_musd"] > 0, cols]
    base = alt.Chart(df)
    x = alt.X("capex_musd:Q", title="CAPEX (M USD, log scale)", scale=alt.Scale(type="log"))
    y = alt.Y("new_demand_bcm_y:Q", title="New demand it can add (bcm/y)")
    points = base.mark_point(size=60, filled=True).encode(
        x=x, y=y,
        color=alt.Color("scenario:N", scale=_scenario_scale(ranking), title="Scenario"),
        shape=alt.Shape("front:N", title=None,
                        scale=alt.Scale(domain=["on the Pareto front", "dominated"],
                                        range=["circle", "cross"])),
        opacity=alt.condition(alt.datum.front == "dominated", alt.value(0.45), alt.value(1.0)),
        tooltip=[alt.Tooltip("route:N", title="Route"), alt.Tooltip("rank:Q", title="Rank"),
                 alt.Tooltip("capex_musd:Q", title="CAPEX (M USD)", format=",.0f"),
                 alt.Tooltip("new_demand_bcm_y:Q", title="New demand (bcm/y)", format=".2f"),
                 alt.Tooltip("delivered_cost_usd_per_1000m3:Q",
                             title="Delivered (USD/1000 m³)", format=",.0f")])
    front = base.transform_filter(alt.datum.front == "on the Pareto front").mark_line(
        strokeDash=[4, 3], strokeWidth=1).encode(
        x=x, y=y, order="capex_musd:Q",
        color=alt.Color("scenario:N", scale=_scenario_scale(ranking), legend=None))
    n = df["scenario"].nunique()
    return (front + points).properties(width=max(180, WIDTH // max(n, 1) - 20), height=220) \
        .facet(column=alt.Column("scenario:N", title=None, sort=list(dict.fromkeys(
            df["scenario"])))).properties(
        title="Cost against the new demand a route can add (each point a candidate route)")


def per_country_chart(per_country: pd.DataFrame, recommended: pd.DataFrame) -> alt.Chart:
    """Per country along each scenario's recommended route: km, CAPEX, transit revenue.

    Parameters
    ----------
    per_country
        Rows per route and country (``route_id``, ``scenario``, ``country``, ``km``,
        ``capex_musd``, ``transit_revenue_musd_y``).
    recommended
        One row per scenario with its recommended route's ``route_id``.
    """
    keys = set(zip(recommended["scenario"], recommended["route_id"], strict=True))
    rows = per_country[[(s, r) in keys for s, r in
                        zip(per_country["scenario"], per_country["route_id"], strict=True)]]
    measures = {"km": "Route length (km)", "capex_musd": "CAPEX (M USD)",
                "transit_revenue_musd_y": "Transit revenue (M USD/y)"}
    present = [c for c in measures if c in rows.columns]
    long = rows.melt(id_vars=["scenario", "country"], value_vars=present,
                     var_name="measure", value_name="value")
    long["measure"] = long["measure"].map(measures)
    long["scenario"] = long["scenario"].astype(str)
    long["country"] = long["country"].astype(str)
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y("scenario:N", title=None, sort=list(dict.fromkeys(recommended["scenario"]))),
        x=alt.X("value:Q", title=None),
        color=alt.Color("country:N", title="Country"),
        tooltip=[alt.Tooltip("scenario:N", title="Scenario"),
                 alt.Tooltip("country:N", title="Country"),
                 alt.Tooltip("measure:N", title="Measure"),
                 alt.Tooltip("value:Q", title="Value", format=",.1f")],
    ).properties(width=WIDTH - 120, height=22 * max(1, len(recommended))).facet(
        row=alt.Row("measure:N", title=None, sort=[measures[c] for c in present],
                    header=alt.Header(labelAngle=0, labelAlign="left", labelFontWeight="bold")),
    ).resolve_scale(x="independent").properties(
        title="Who gains what along each scenario's recommended route")


def delivered_cost_chart(ranking: pd.DataFrame, top: int = 5) -> alt.Chart:
    """Delivered cost of each scenario's ``top`` routes: gas at the source + transport tariff.

    The tariff is the levelized transport tariff (USD/1000 m³); the rest of the delivered
    cost is the gas bought at the source (the tariff already recovers the fuel the
    compressors burn).
    """
    best = ranking.sort_values(["scenario", "rank"]).groupby("scenario", sort=False).head(top)
    rows = []
    for _, r in best.iterrows():
        label = f"#{int(r['rank'])} {short_name(r['name'])}"
        tariff = float(r["tariff_usd_per_1000m3"])
        delivered = float(r["delivered_cost_usd_per_1000m3"])
        for part, value in (("Gas at the source", delivered - tariff),
                            ("Transport tariff", tariff)):
            rows.append({"scenario": str(r["scenario"]), "route": label, "part": part,
                         "value": value, "full_name": str(r["name"]),
                         "delivered": delivered})
    df = pd.DataFrame(rows)
    chart = alt.Chart(df).mark_bar().encode(
        y=alt.Y("route:N", title=None, sort=None, axis=alt.Axis(labelLimit=330)),
        x=alt.X("value:Q", title="USD per 1000 m³", stack="zero"),
        color=alt.Color("part:N", title=None,
                        scale=alt.Scale(domain=list(COST_PART_COLOURS),
                                        range=list(COST_PART_COLOURS.values()))),
        order=alt.Order("part:N", sort="ascending"),
        tooltip=[alt.Tooltip("full_name:N", title="Route"),
                 alt.Tooltip("part:N", title="Part"),
                 alt.Tooltip("value:Q", title="USD/1000 m³", format=",.1f"),
                 alt.Tooltip("delivered:Q", title="Delivered (USD/1000 m³)", format=",.1f")],
    )
    return _by_scenario(chart, best, f"Tariff and delivered cost, best {top} routes per scenario")


def _by_scenario(chart: alt.Chart, best: pd.DataFrame, title: str) -> alt.Chart:
    """A horizontal bar chart of routes faceted into one row per scenario (in the order the
    scenarios first appear in ``best``), each row with its own routes."""
    return chart.properties(width=WIDTH - 300, height=alt.Step(16)).facet(
        row=alt.Row("scenario:N", title=None, sort=list(dict.fromkeys(best["scenario"])),
                    header=alt.Header(labelAngle=0, labelAlign="left",
                                      labelFontWeight="bold")),
    ).resolve_scale(y="independent").properties(title=title)


def rank_stability_chart(ranking: pd.DataFrame, top: int = 5) -> alt.Chart:
    """Share of weight draws in which each of a scenario's ``top`` routes ranks first.

    ``p_best`` comes from :func:`planner.scoring.rank_stability` (Dirichlet draws of the
    weights around the scenario's profile).
    """
    best = ranking.sort_values(["scenario", "rank"]).groupby("scenario", sort=False).head(top)
    df = pd.DataFrame({
        "scenario": best["scenario"].astype(str),
        "route": [f"#{int(k)} {short_name(n)}" for k, n in zip(best["rank"], best["name"],
                                                                 strict=True)],
        "full_name": best["name"].astype(str),
        "p_best": best["p_best"].astype(float),
        "expected_rank": best["expected_rank"].astype(float),
    })
    chart = alt.Chart(df).mark_bar().encode(
        y=alt.Y("route:N", title=None, sort=None, axis=alt.Axis(labelLimit=330)),
        x=alt.X("p_best:Q", title="Share of weight draws in which the route ranks first",
                axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("scenario:N", scale=_scenario_scale(ranking), legend=None),
        tooltip=[alt.Tooltip("full_name:N", title="Route"),
                 alt.Tooltip("p_best:Q", title="Ranks first", format=".0%"),
                 alt.Tooltip("expected_rank:Q", title="Expected rank", format=".1f")],
    )
    return _by_scenario(
        chart, best, "Rank stability: how often each top route stays first when the weights vary")


def chart_svg(chart: alt.TopLevelMixin | dict[str, Any]) -> str:
    """Render a chart (Altair object or Vega-Lite spec) to an SVG string, offline.

    Examples
    --------
    >>> import altair as alt, pandas as pd
    >>> chart_svg(alt.Chart(pd.DataFrame({"a": [1]})).mark_bar().encode(x="a")).startswith("<svg")
    True
    """
    import vl_convert

    from planner import settings

    spec = chart if isinstance(chart, dict) else chart.to_dict()
    if not settings.USE_CACHE:
        return str(vl_convert.vegalite_to_svg(spec))
    # rendering takes a third of a second a chart: kept in the cache (planner.cache)
    from planner.cache import cache_key, cached

    key = cache_key("chart-svg", {"spec": spec,
                                  "vl_convert": getattr(vl_convert, "__version__", "")})
    return cached("chart-svg", key, lambda: str(vl_convert.vegalite_to_svg(spec)))[0]


__all__ = [
    "chart_svg",
    "cost_demand_chart",
    "delivered_cost_chart",
    "per_country_chart",
    "rank_stability_chart",
    "short_name",
]
