"""The route operated since October 2023, found among a study's candidates and explained.

Since October 2023 Russian gas reaches Uzbekistan through Central Asia–Center (CAC) run in
reverse through Kazakhstan, received at the Karakalpakiya metering station in northern
Uzbekistan (sources in ``planner/data/interconnections.csv`` and ``line_flows.csv``). A
reuse candidate *follows that route* when it goes by CAC against its design flow and
enters the Uzbek network at the interconnection where Russian gas is received
(:data:`RECEIVING_INTERCONNECTION`), without the other trunks into the south
(Beineu–Bozoi–Shymkent, Bukhara–Ural).

:func:`operated_route_table` says where such candidates rank in each scenario and, against
the best candidate to the same destination, why.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import pandas as pd

from planner.neutralise import markdown_text

#: Interconnection (``interconnection_id`` in the table) where Russian gas enters the
#: Uzbek network from CAC.
RECEIVING_INTERCONNECTION = "karakalpakstan"
#: Trunk systems the operated route does not use.
OTHER_TRUNKS = ("Beineu–Bozoi–Shymkent", "Bukhara–Ural")


#: The report's introduction to the candidates that follow the operated route.
OPERATED_ROUTE_INTRO = (
    "Russian gas has reached Uzbekistan since October 2023 through Central Asia–Center in "
    "reverse through Kazakhstan, received in Karakalpakstan (sources: "
    "planner/data/interconnections.csv). Candidates that follow it:")


def _receiving_name() -> str:
    from planner.interconnections import interconnections_from_csv

    t = interconnections_from_csv().set_index("interconnection_id")
    return f"{t.loc[RECEIVING_INTERCONNECTION, 'name']!s} interconnection"


def follows_operated_route(candidates: pd.DataFrame) -> pd.Series:
    """True for the candidates that follow the route operated since October 2023.

    Examples
    --------
    >>> c = pd.DataFrame({"kind": ["reuse", "reuse"], "reused_pipelines": [
    ...     "Central Asia–Center, Karakalpakstan: Russian gas into the Uzbek network "
    ...     "interconnection, Gazli–Nukus",
    ...     "Central Asia–Center, Beineu–Bozoi–Shymkent"]})
    >>> follows_operated_route(c).tolist()
    [True, False]
    """
    if not len(candidates) or not {"kind", "reused_pipelines"} <= set(candidates.columns):
        return pd.Series(False, index=candidates.index)
    used = candidates["reused_pipelines"].fillna("").astype(str)
    hub = _receiving_name()
    return (candidates["kind"].eq("reuse") & used.str.contains("Central Asia–Center",
                                                               regex=False)
            & used.str.contains(hub, regex=False)
            & ~used.apply(lambda s: any(t in s for t in OTHER_TRUNKS)))


def operated_route_table(ranking: pd.DataFrame) -> pd.DataFrame:
    """Where the candidates on the operated route rank, per scenario, and why.

    Returns
    -------
    pandas.DataFrame
        One row per such candidate: ``scenario``, ``destination``, ``rank`` (in the
        scenario), ``of`` (candidates in the scenario), ``rank_for_destination``,
        ``new_build_km``, ``tariff_usd_per_1000m3``, ``best_for_destination`` and
        ``why`` (the comparison with that best candidate). Empty when none.
    """
    cols = ["scenario", "destination", "rank", "of", "rank_for_destination", "new_build_km",
            "tariff_usd_per_1000m3", "best_for_destination", "why"]
    if not len(ranking):
        return pd.DataFrame(columns=cols)
    mask = follows_operated_route(ranking)
    rows = []
    for _, r in ranking[mask].iterrows():
        scen = ranking[ranking["scenario"].eq(r["scenario"])]
        same = scen[scen["destination"].eq(r["destination"])].sort_values("rank")
        best = same.iloc[0]
        pos = int((same["rank"] < r["rank"]).sum()) + 1
        rows.append({"scenario": r["scenario"], "destination": r["destination"],
                     "rank": int(r["rank"]), "of": len(scen), "rank_for_destination": pos,
                     "new_build_km": float(r["new_build_km"]),
                     "tariff_usd_per_1000m3": float(r["tariff_usd_per_1000m3"]),
                     "best_for_destination": str(best["name"]), "why": _why(r, best)})
    return pd.DataFrame(rows, columns=cols)


def _why(r: pd.Series, best: pd.Series) -> str:
    if r["name"] == best["name"]:
        return (f"best for {r['destination']}: {r['new_build_km']:,.0f} km of new pipe, "
                f"{r['reused_km']:,.0f} km of existing lines, tariff "
                f"{r['tariff_usd_per_1000m3']:,.1f} USD/1000 m3")
    parts = [f"tariff {r['tariff_usd_per_1000m3']:,.1f} against "
             f"{best['tariff_usd_per_1000m3']:,.1f} USD/1000 m3"]
    dl = float(r["length_km"]) - float(best["length_km"])
    parts.append(f"{abs(dl):,.0f} km {'longer' if dl > 0 else 'shorter'}")
    dn = float(r["new_build_km"]) - float(best["new_build_km"])
    parts.append(f"{abs(dn):,.0f} km {'more' if dn > 0 else 'less'} new pipe")
    if pd.notna(r.get("capex_musd")) and pd.notna(best.get("capex_musd")):
        parts.append(f"CAPEX {float(r['capex_musd']):,.0f} against "
                     f"{float(best['capex_musd']):,.0f} M USD (new pipe and compression; "
                     "reused km pay the existing transit tariff)")
    if "score" in r and pd.notna(r["score"]) and pd.notna(best.get("score")):
        parts.append(f"score {float(r['score']):.3f} against {float(best['score']):.3f}")
    return f"behind {best['name']}: " + ", ".join(parts)


TITLE = "The route operated since October 2023"
INTRO = ("Russian gas has reached Uzbekistan since October 2023 through Central Asia–Center "
         "in reverse through Kazakhstan, received in Karakalpakstan (sources: "
         "planner/data/interconnections.csv). Candidates that follow it:")


def _item(r: pd.Series, esc: Callable[[object], str]) -> str:
    return (f"{esc(r['scenario'])}, {esc(r['destination'])}: rank {r['rank']} of {r['of']} "
            f"({r['rank_for_destination']} for this destination), "
            f"{r['new_build_km']:,.0f} km new build; {esc(r['why'])}.")


def operated_route_markdown(ranking: pd.DataFrame) -> list[str]:
    """Report lines (Markdown) on the operated route; empty when no candidate follows it."""
    t = operated_route_table(ranking)
    if not len(t):
        return []
    items = [f"- {_item(r, markdown_text)}" for _, r in t.iterrows()]
    return [f"## {TITLE}", "", INTRO, "", *items, ""]


def operated_route_html(ranking: pd.DataFrame) -> str:
    """The same section as HTML (every value escaped); empty when no candidate follows it."""
    t = operated_route_table(ranking)
    if not len(t):
        return ""
    items = "".join(f"<li>{html.escape(_item(r, str))}</li>" for _, r in t.iterrows())
    return f"<h2>{html.escape(TITLE)}</h2><p>{html.escape(INTRO)}</p><ul>{items}</ul>"


#: The section's introduction (the name the report module uses).
OPERATED_ROUTE_INTRO = INTRO

__all__ = ["OPERATED_ROUTE_INTRO", "follows_operated_route", "operated_route_html",
           "operated_route_markdown",
           "operated_route_table"]
