"""The decision report on small constructed tables: order, hooks, escaping (no study run)."""

from __future__ import annotations

import re

import pandas as pd
from test_webmap import PAYLOADS

from planner import report
from planner.study import default_study_path, load_study


def ranking(name_of=lambda i: f"Route {i}") -> pd.DataFrame:
    rows = []
    for scenario in ("lowest cost", "domestic gasification"):
        for i in range(3):
            rows.append({"scenario": scenario, "rank": i + 1, "route_id": f"{scenario}-{i}",
                         "name": f"Tashkent — {name_of(i)}", "destination": "Tashkent",
                         "score": 0.9 - 0.1 * i, "capex_musd": 100.0 * (i + 1),
                         "tariff_usd_per_1000m3": 40.0 + i,
                         "delivered_cost_usd_per_1000m3": 190.0 + i,
                         "new_demand_bcm_y": 2.0 + i, "throughput_bcm_y": 4.0,
                         "length_km": 2000.0, "new_build_km": 100.0, "reused_km": 1900.0,
                         "reused_pipelines": "Central Asia–Center", "reused_capacity_bcm_y": 4.2,
                         "border_crossings": 1, "countries": "KAZ, UZB", "pareto": i < 2,
                         "p_best": [0.7, 0.2, 0.1][i], "expected_rank": 1.0 + i})
    return pd.DataFrame(rows)


def per_country(r: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, x in r.iterrows():
        for c, share in (("Kazakhstan", 0.9), ("Uzbekistan", 0.1)):
            rows.append({"scenario": x["scenario"], "route_id": x["route_id"],
                         "name": x["name"], "country": c, "km": 2000 * share,
                         "capex_share": share, "capex_musd": x["capex_musd"] * share,
                         "transit_revenue_musd_y": 50 * share, "new_demand_bcm_y": 1.0})
    return pd.DataFrame(rows)


def test_answer_first_in_study_order_with_hooks():
    study = load_study(default_study_path())
    r = ranking()
    page = report.study_report_html(study, r, per_country(r),
                                    extra_sections=[("Coalitions", "<p>shares</p>")])
    ids = re.findall(r"<section id='([^']+)'>", page)
    assert ids[0] == "answer" and ids[1] == "charts" and ids[-1] == "method"
    assert page.index("shares") < page.index("<section id='method'>")
    answer = page[page.index("<section id='answer'>"):page.index("<section id='charts'>")]
    # scenarios in the study file's order, whatever order the table has
    assert answer.index("<td>lowest cost</td>") < answer.index("<td>domestic gasification</td>")
    assert "Tashkent — Route 0" in answer and "190.0" in answer
    assert "Who gains what" in answer and "<b>Kazakhstan</b>" in answer
    assert "little headroom" in answer  # 4.2 bcm/y of capacity for 4.0 needed
    assert page.count("<figure id='chart-") == 4


def test_hostile_names_are_text_in_html_and_markdown():
    study = load_study(default_study_path())
    r = ranking(lambda i: PAYLOADS[i % len(PAYLOADS)])
    page = report.study_report_html(study, r, per_country(r))
    for p in ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>"):
        assert p not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    md = report.study_report_markdown(study, r, per_country(r))
    assert "<script>" not in md and "<img" not in md
    assert "Recommended route per scenario" in md


def test_best_route_per_destination_table():
    t = report.best_per_destination(ranking())
    assert t.columns.tolist() == ["Destination", "lowest cost", "domestic gasification"]
    assert t.iloc[0, 1] == "#1 Route 0 (190)"
