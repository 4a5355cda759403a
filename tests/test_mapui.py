"""The decision map's panel data, hooks and escaping on small constructed cases (no browser)."""

from __future__ import annotations

import json
import re
import time
from types import SimpleNamespace

import folium
import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString
from test_webmap import PAYLOADS, small_layers

from planner import webmap
from planner.mapui import _json_for_script, decision_map


def candidates(name_of=lambda i: f"Route {i}") -> gpd.GeoDataFrame:
    rows = []
    for scenario in ("cheap", "secure"):
        for i, dest in enumerate(["Tashkent", "Almaty", "Tashkent"]):
            rows.append({"scenario": scenario, "route_id": f"{scenario}-{i}",
                         "name": f"{dest} — {name_of(i)}", "destination": dest,
                         "rank": i + 1 if scenario == "cheap" else 3 - i,
                         "score": 0.9 - 0.1 * i, "capex_musd": 100.0 + i,
                         "delivered_cost_usd_per_1000m3": 190.0 + i,
                         "tariff_usd_per_1000m3": 40.0 + i, "throughput_bcm_y": 2.0,
                         "distance_km": np.array([0.0, 500.0, 1000.0]),
                         "elevation_m": np.array([100.0, 400.0, 200.0]),
                         "pressure_bar": np.array([75.0, 70.0, 65.0]),
                         "p_best": 0.5})
    geoms = [LineString([(55 + i, 45), (62, 44 - i), (69.6, 42.3)]) for i in range(len(rows))]
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")


def study(title="Study <b>x</b>"):
    return SimpleNamespace(title=title, description="Which route?",
                           scenarios=[SimpleNamespace(name="cheap", weight_profile="lowest_cost"),
                                      SimpleNamespace(name="secure",
                                                      weight_profile="supply_security")])


def panel_data(html: str) -> dict:
    m = re.search(r"var DATA = (\{.*?\});\n", html)
    assert m is not None
    return json.loads(m.group(1))


def test_panel_data_per_scenario_in_rank_order():
    m = decision_map(study(), small_layers(), candidates(), gpd.GeoDataFrame())
    html = webmap.make_offline(m)
    data = panel_data(html)
    assert [s["name"] for s in data["scenarios"]] == ["cheap", "secure"]
    secure = data["scenarios"][1]["rows"]
    assert [r["rank"] for r in secure] == [1, 2, 3]
    assert [r["id"] for r in secure] == ["secure-2", "secure-1", "secure-0"]
    # one colour per destination, the same in every scenario
    colours = {(r["destination"], r["colour"]) for s in data["scenarios"] for r in s["rows"]}
    assert len(colours) == 2
    # every row points at a route layer and every scenario at its group, both in the page
    for s in data["scenarios"]:
        assert f"var {s['group']} = " in html
        for r in s["rows"]:
            assert f"var {r['layer']} = " in html
    # the scenario groups are switched by the panel, not listed in the layer control
    assert not [n for n in webmap.layer_names(m)["overlays"] if n.startswith("Candidates")]
    assert html.count("<svg xmlns") >= 6  # one inline profile per route


def test_hostile_names_are_data_not_markup():
    hostile = candidates(lambda i: PAYLOADS[i % len(PAYLOADS)])
    m = decision_map(study(PAYLOADS[0]), small_layers(), hostile, gpd.GeoDataFrame(),
                     extra_panels=[(PAYLOADS[1], "<p>plan</p>")])
    html = webmap.make_offline(m)
    for p in ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>"):
        assert p not in html
    data = panel_data(html)
    assert data["title"] == PAYLOADS[0]  # shown with textContent, so the raw text is right
    assert "&lt;img src=x onerror=alert(2)&gt;" in html  # the panel title is escaped


def test_json_for_script_cannot_close_the_script():
    text = _json_for_script({"a": "</script><!-- & \u2028"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028"}


def test_extra_layer_hook_adds_to_the_layer_control():
    def plan_layer(m: folium.Map) -> None:
        fg = webmap._group(m, "System plan")
        folium.PolyLine([(45, 55), (42, 69)]).add_to(fg)

    m = decision_map(study(), small_layers(), candidates(), gpd.GeoDataFrame(),
                     extra_layers=[plan_layer])
    assert "System plan" in webmap.layer_names(m)["overlays"]


def test_profile_svg_is_fast_and_small():
    d = np.linspace(0, 3000, 3000)
    z = 300 + 200 * np.sin(d / 200)
    p = np.linspace(75, 50, 3000)
    t = time.perf_counter()
    svgs = [webmap.profile_svg(d, z, p, title="r") for _ in range(80)]
    assert time.perf_counter() - t < 2.0
    assert max(len(s) for s in svgs) < 8000


@pytest.mark.parametrize("n", [0, 1])
def test_profile_svg_needs_two_points(n):
    assert webmap.profile_svg([0.0] * n, [1.0] * n) == ""
