"""The coalition game in the study's report and map ("who gains what under the union").

:func:`read_game_files` reads the files ``planner coalitions`` wrote;
:func:`coalition_section` renders the report section (Markdown, HTML, every value
escaped); :func:`coalition_panel_body` is the panel of the decision map's side panel
(:func:`planner.plan.sections.extra_sections` passes it as an ``extra_panels`` entry);
:func:`update_study_outputs` puts the section and the panel into an existing study output
folder (between ``<!--coalitions-->`` markers, so a later run replaces them).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import folium
import pandas as pd

from planner.io import write_text_atomic
from planner.neutralise import markdown_text

#: Title of the report section and of the map panel.
TITLE = "Coalitions: who gains what under the union"
#: Markers around the section's and the panel's body in report.html and index.html.
MARK_START, MARK_END = "<!--coalitions-->", "<!--/coalitions-->"

_NOTE = (
    "v(S): the largest surplus the members of S create with their own territory and "
    "existing lines: buyers' alternative price minus the seller's opportunity cost, times "
    "the volume served, minus the annual cost of the system plan restricted to S "
    "(M USD/y). Shapley value: each country's average marginal contribution; in_core: no "
    "coalition gets less than it could create alone; nucleolus: the allocation that "
    "minimises the largest complaint. Low/high: Shapley under every price assumption "
    "moved by the stated uncertainty. Shapley price: the border price that gives a buyer "
    "its Shapley share as a discount on its alternative; transit_fee: the fee per 1000 m³ "
    "of gas delivered that pays the Shapley share of a transit country (or of a buyer the "
    "union does not serve); the seller keeps the rest.")


def read_game_files(folder: Path) -> dict[str, Any]:
    """The coalition files of an output folder (``coalitions``, ``shares``, ``prices``
    frames and ``summary``)."""
    out: dict[str, Any] = {k: pd.read_csv(folder / f"{k}.csv")
                           for k in ("coalitions", "shares", "prices")}
    js = folder / "coalitions.json"
    out["summary"] = json.loads(js.read_text(encoding="utf-8")) if js.exists() else {}
    return out


def _as_game(result: Any) -> dict[str, Any]:
    if isinstance(result, dict):
        return result
    return {"coalitions": result.coalitions, "shares": result.shares, "prices": result.prices,
            "summary": result.summary}


_PRICE_COLS = ["buyer", "volume_bcm_y", "alternative_price_usd_per_1000m3",
               "transport_usd_per_1000m3", "corridor_low_usd_per_1000m3",
               "corridor_high_usd_per_1000m3", "shapley_price_usd_per_1000m3",
               "published_price_usd_per_1000m3", "published_year", "published_verified",
               "published_within_corridor"]


def _md(df: pd.DataFrame) -> str:
    from planner.plan.outputs import _md as md

    return md(df)


def coalition_section(result: Any, *, heading: bool = True) -> tuple[str, str]:
    """The report section as (Markdown, HTML); ``heading=False`` leaves the HTML's ``<h2>``
    out (the decision report's sections carry their own)."""
    game = _as_game(result)
    s = game["summary"]
    prices = game["prices"][[c for c in _PRICE_COLS if c in game["prices"].columns]]
    srcs = sorted({str(x) for c in ("alternative_price_source", "seller_cost_source",
                                    "published_source") if c in game["prices"]
                   for x in game["prices"][c].dropna()})
    head = (f"Grand coalition value {s.get('grand_coalition_value_musd_y', float('nan')):,.1f}"
            f" M USD/y; Σ Shapley {s.get('shapley_sum_musd_y', float('nan')):,.1f}; Shapley "
            f"allocation in the core: {s.get('shapley_in_core')}; core empty: "
            f"{s.get('core_empty')} (least-core ε "
            f"{s.get('least_core_epsilon_musd_y', float('nan')):,.2f}). "
            f"{s.get('plans_solved', 0)} restricted plans solved on "
            f"{s.get('sweep', {}).get('engine', '')} "
            f"({s.get('sweep', {}).get('workers', '')} workers, "
            f"{s.get('sweep', {}).get('seconds', float('nan')):.1f} s).")
    md = ["## Coalitions: who gains what under the union", "", head, "", _NOTE, "",
          "### Shares (M USD/y)", "", _md(game["shares"]), "",
          "### Coalition values", "", _md(game["coalitions"]), "",
          "### Price corridor per buyer (USD per 1000 m³)", "", _md(prices), "",
          "Sources: " + "; ".join(markdown_text(x) for x in srcs), ""]

    from planner.plan.outputs import html_table as tab

    htm = [f"<h2>{html.escape(TITLE)}</h2>" if heading else "",
           f"<p>{html.escape(head)}</p><p>{html.escape(_NOTE)}</p>",
           "<h3>Shares (M USD/y)</h3>", tab(game["shares"]),
           "<h3>Coalition values</h3>", tab(game["coalitions"]),
           "<h3>Price corridor per buyer (USD per 1000 m³)</h3>", tab(prices),
           "<p>Sources: " + html.escape("; ".join(srcs)) + "</p>"]
    return "\n".join(md), "\n".join(htm)


_PANEL_ID = "planner-coalitions"


def _f1(v: Any) -> str:
    return f"{round(float(v), 1) + 0.0:,.1f}"


def coalition_panel_body(result: Any) -> str:
    """Shapley share per country and the price corridor per buyer, as HTML tables (every
    value escaped) in a ``<div id="planner-coalitions">``."""
    game = _as_game(result)
    rows = "".join(
        f"<tr><td>{html.escape(str(r['country']))}</td><td>{html.escape(str(r['role']))}</td>"
        f"<td>{_f1(r['shapley_musd_y'])}</td>"
        f"<td>{_f1(r['shapley_low_musd_y'])}–{_f1(r['shapley_high_musd_y'])}"
        f"</td></tr>" for _, r in game["shares"].iterrows())

    def num(v: Any) -> str:
        return "" if pd.isna(v) else f"{float(v):,.0f}"

    prices = "".join(
        f"<tr><td>{html.escape(str(r['buyer']))}</td>"
        f"<td>{num(r['corridor_low_usd_per_1000m3'])}–"
        f"{num(r['corridor_high_usd_per_1000m3'])}</td>"
        f"<td>{num(r['shapley_price_usd_per_1000m3'])}</td></tr>"
        for _, r in game["prices"].iterrows())
    return (f'<div id="{_PANEL_ID}"><b>Shapley share</b> (M USD/y)'
            "<table><tr><th>country</th><th>role</th><th>Shapley</th><th>range</th></tr>"
            f"{rows}</table><b>Price corridor</b> (USD/1000 m³)<table><tr><th>buyer</th>"
            f"<th>corridor</th><th>Shapley price</th></tr>{prices}</table></div>")


def coalition_panel_html(result: Any) -> str:
    """A small fixed panel (for a map without the decision map's side panel)."""
    return ('<div style="position:fixed;bottom:24px;left:10px;z-index:1000;'
            'background:#fff;padding:6px 8px;border:1px solid #999;font:12px sans-serif;'
            f'max-width:320px"><b>{html.escape(TITLE)}</b>'
            f"{coalition_panel_body(result)}</div>")


def add_coalition_panel(m: folium.Map, result: Any) -> None:
    """Add the panel to a folium map."""
    root: Any = m.get_root()
    root.html.add_child(folium.Element(coalition_panel_html(result)))


def _put_marked(text: str, body: str, new: str, before: tuple[str, ...]) -> str:
    """``body`` between the markers where they are; else ``new`` before the first of
    ``before`` found in ``text`` (else at the end)."""
    pattern = re.escape(MARK_START) + ".*?" + re.escape(MARK_END)
    if re.search(pattern, text, flags=re.S):
        return re.sub(pattern, lambda _: MARK_START + body + MARK_END, text, count=1,
                      flags=re.S)
    for anchor in before:
        if anchor in text:
            return text.replace(anchor, new + anchor, 1)
    return text + new


def update_study_outputs(folder: Path, result: Any) -> list[Path]:
    """Put the section into ``report.md``, ``report.html`` and the panel into ``index.html``
    of a study's output folder, where they exist (replacing an earlier one).

    In the decision report the section goes before "Method and sources", and on the decision
    map into the side panel; pages of another layout get it before ``</body>``.
    """
    md, _ = coalition_section(result)
    _, body = coalition_section(result, heading=False)
    done = []
    rep = folder / "report.md"
    if rep.exists():
        text = rep.read_text(encoding="utf-8")
        text = re.split(r"\n## Coalitions: who gains what under the union\n", text)[0]
        write_text_atomic(rep, text.rstrip("\n") + "\n\n" + md + "\n")
        done.append(rep)
    rep = folder / "report.html"
    if rep.exists():
        text = rep.read_text(encoding="utf-8")
        section = (f"<section id='coalitions'><h2>{html.escape(TITLE)}</h2>"
                   f"{MARK_START}{body}{MARK_END}</section>")
        text = _put_marked(text, body, section,
                           ("<section id='method'>", "</main>", "</body></html>"))
        write_text_atomic(rep, text)
        done.append(rep)
    page = folder / "index.html"
    if page.exists():
        text = page.read_text(encoding="utf-8")
        panel = coalition_panel_body(result)
        if 'id="planner-panel"' in text:  # the decision map: a section of its side panel
            new = (f"<details><summary>{html.escape(TITLE)}</summary>{MARK_START}{panel}"
                   f"{MARK_END}</details>")
            text = _put_marked(text, panel, new, ("</aside>",))
        else:
            fixed = coalition_panel_html(result)
            text = _put_marked(text, fixed, MARK_START + fixed + MARK_END, ("</body>",))
        write_text_atomic(page, text)
        done.append(page)
    return done


__all__ = ["MARK_END", "MARK_START", "TITLE", "add_coalition_panel", "coalition_panel_body",
           "coalition_panel_html", "coalition_section",
           "read_game_files", "update_study_outputs"]
