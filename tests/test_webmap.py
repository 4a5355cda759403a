"""Offline interactive maps: vendoring, escaping, layers, atomic writes (no browser)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from folium import plugins
from shapely.geometry import LineString, Point, Polygon

from planner import webmap
from planner.webmap import (
    CDN_FILES,
    VENDOR_DIR,
    add_cost_surface,
    add_routes,
    base_map,
    escape_text,
    existing_system_map,
    layer_names,
    make_offline,
    map_size_report,
    offline_html,
    save_map,
    simplify_for_display,
)

PAYLOADS = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "`${alert(3)}`",
    "\\`);alert(4);//",
)


def small_layers(name_of=lambda i, kind: f"{kind} {i}") -> dict[str, gpd.GeoDataFrame]:
    """A tiny, self-made set of layers (independent of the curated data)."""
    crs = "EPSG:4326"
    pipelines = gpd.GeoDataFrame(
        {"pipeline_id": ["p0", "p1", "p2"],
         "name": [name_of(i, "pipeline") for i in range(3)],
         "system": ["CAC", "BGR", "x"], "status": ["Operating", "Proposed", "Construction"],
         "countries": ["KAZ;UZB", "UZB", "KAZ"], "capacity_bcm_y": [60.0, np.nan, 10.0],
         "operator": ["QazaqGaz", None, "x"], "length_km": [1500.0, 900.0, 300.0]},
        geometry=[LineString([(55, 45), (60, 43), (69, 42)]),
                  LineString([(64, 40), (60, 46)]), LineString([(69, 42), (71, 46)])], crs=crs)
    stations = gpd.GeoDataFrame(
        {"station_id": ["s0"], "name": [name_of(0, "station")], "pipeline": ["CAC"],
         "power_mw": [25.0], "placement": ["km 300"], "is_estimate": [True], "source": ["x"]},
        geometry=[Point(60, 43)], crs=crs)
    centres = gpd.GeoDataFrame(
        {"centre_id": ["c0", "c1"], "name": [name_of(i, "centre") for i in range(2)],
         "country": ["UZB", "KAZ"], "population": [2_900_000, 1_300_000],
         "demand_bcm_y": [4.2, 0.8], "gas_access": [True, False]},
        geometry=[Point(69.24, 41.31), Point(71.43, 51.13)], crs=crs)
    supply = gpd.GeoDataFrame(
        {"supply_id": ["x0"], "name": [name_of(0, "supply")], "kind": ["border_crossing"],
         "country": ["KAZ"], "from_country": ["RUS"], "to_country": ["KAZ"],
         "pipeline": ["CAC"]},
        geometry=[Point(55, 45)], crs=crs)
    countries = gpd.GeoDataFrame(
        {"iso_a3": ["KAZ", "UZB"], "name": [name_of(0, "country"), name_of(1, "country")]},
        geometry=[Polygon([(50, 41), (87, 41), (87, 55), (50, 55)]),
                  Polygon([(56, 37), (73, 37), (73, 45), (56, 45)])], crs=crs)
    water = gpd.GeoDataFrame(
        {"name": [name_of(0, "lake"), name_of(1, "river")], "kind": ["lake", "river"]},
        geometry=[Polygon([(58, 44), (61, 44), (61, 46), (58, 46)]),
                  LineString([(60, 42), (62, 44)])], crs=crs)
    return {"pipelines": pipelines, "compressor_stations": stations, "demand_centres": centres,
            "supply_points": supply, "countries": countries, "water": water}


def small_routes(name_of=lambda i: f"Route {i}") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"route_id": ["r1", "r2"], "name": [name_of(1), name_of(2)], "rank": [1, 2],
         "score": [0.81, 0.62], "length_km": [1480.0, 1900.0], "capex_musd": [2100.0, 3300.0]},
        geometry=[LineString([(55.2, 45.3), (62, 44), (69.6, 42.3)]),
                  LineString([(64.4, 39.8), (60, 45), (55, 51)])], crs="EPSG:4326")


# --------------------------------------------------------------------------- vendoring


def _folium_urls() -> set[str]:
    fol = importlib.import_module("folium.folium")
    urls = {u for _, u in fol._default_js + fol._default_css}
    for cls in (plugins.Fullscreen, plugins.MeasureControl, plugins.MiniMap, plugins.Search):
        urls |= {u for _, u in cls.default_js + cls.default_css}
    return urls


def test_every_folium_cdn_url_is_vendored():
    missing = _folium_urls() - set(CDN_FILES)
    assert not missing, f"folium links files that are not vendored: {missing}"


def test_vendored_files_exist_with_licences_and_are_listed():
    listing = (VENDOR_DIR / "VENDORED.md").read_text(encoding="utf-8")
    for rel in CDN_FILES.values():
        assert (VENDOR_DIR / rel).is_file(), rel
    for pkg in sorted(p for p in VENDOR_DIR.iterdir() if p.is_dir()):
        licences = [f for f in pkg.iterdir() if f.name.lower().startswith("license")]
        assert licences, f"{pkg.name} has no LICENSE file"
        assert pkg.name in listing, f"{pkg.name} missing from VENDORED.md"


def test_offline_page_links_nothing_external():
    m = existing_system_map(small_layers())
    add_routes(m, small_routes())
    html = make_offline(m)
    assert not re.search(r"<(script|link|img)\b[^>]*(src|href)=[\"']?(https?:)?//", html)
    for url in CDN_FILES:
        assert url not in html
    # every url() left in the inlined CSS is a data URI
    for style in re.findall(r"<style>(.*?)</style>", html, re.S):
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", style):
            assert url.startswith(("data:", "#")), url
    assert "L.Control.Search" in html and "L.Control.MiniMap" in html


def test_lean_drops_awesome_marker_fonts_unless_used():
    lean = make_offline(base_map())
    assert "fa-solid-900" not in lean
    m = base_map()
    folium.Marker((45, 67), icon=folium.Icon(icon="fire", prefix="fa")).add_to(m)
    full = make_offline(m)
    assert "font/woff2" in full and "L.AwesomeMarkers" in full


def test_unknown_external_script_is_refused():
    page = '<head><script src="https://example.org/x.js"></script></head>'
    with pytest.raises(webmap.OfflineError, match=r"example\.org"):
        offline_html(page)
    assert "example.org" in offline_html(page, strict=False)


# --------------------------------------------------------------------------- escaping


@pytest.mark.parametrize("payload", PAYLOADS)
def test_escape_text_neutralises(payload):
    out = escape_text(payload)
    assert not set(out) & set("<>`$\\\"'")
    assert _unescape(out) == payload


def _unescape(s: str) -> str:
    import html

    return html.unescape(s)


def test_hostile_names_never_reach_the_page_raw():
    def hostile(i, kind):
        return f"{kind} {PAYLOADS[i % len(PAYLOADS)]}"

    m = existing_system_map(small_layers(hostile))
    add_routes(m, small_routes(lambda i: PAYLOADS[i - 1] + PAYLOADS[i + 1]))
    html = make_offline(m)
    # HTML payloads: only ever escaped (or JSON-escaped as \u003c inside data)
    for p in ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>"):
        assert p not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # template literals (Tooltip, Popup) hold no raw backtick, ${ or backslash from the data
    literals = re.findall(r"(?:bindTooltip\(|\$\()\s*`(.*?)`\s*[,)]", html, re.S)
    assert len(literals) >= 4
    for body in literals:
        assert "alert" not in body or ("${" not in body and "\\" not in body), body
    assert "&#96;&#36;{alert(3)}&#96;" in html


# --------------------------------------------------------------------------- map content


def test_layer_control_lists_every_layer():
    m = existing_system_map(small_layers())
    add_routes(m, small_routes())
    add_cost_surface(m, np.random.default_rng(1).random((20, 30)), (50, 38, 80, 55))
    names = layer_names(m)
    assert names["base"] == ["OpenStreetMap", "Terrain (OpenTopoMap)",
                             "None (vector basemap only)"]
    assert names["overlays"] == [
        "Countries and borders", "Seas, lakes and rivers", "Pipelines: operating",
        "Pipelines: under construction", "Pipelines: proposed", "Compressor stations",
        "Supply points", "Demand centres", "Candidate routes", "Cost surface"]
    webmap.finish_map(m)
    control = next(c for c in m._children.values() if isinstance(c, folium.LayerControl))
    control.render()
    assert list(control.base_layers) == names["base"]
    assert list(control.overlays) == names["overlays"]
    # the control comes after every layer in the page's script
    assert list(m._children)[-1] == control.get_name()


def test_attributions_on_the_map():
    html = make_offline(base_map())
    for a in ("Global Energy Monitor, Global Gas Infrastructure Tracker (CC BY 4.0)",
              "GeoNames (CC BY 4.0)", "OpenStreetMap contributors", "Natural Earth"):
        assert a in html


def test_route_popup_has_figures_profile_and_table():
    png = webmap.profile_png([0, 700, 1480], [200, 900, 400], [75, 66, 58])
    per_country = pd.DataFrame({"country": ["KAZ", "UZB"], "km": [1100.0, 380.0]})
    m = base_map()
    add_routes(m, small_routes(), profiles={"r1": png}, tables={"r1": per_country},
               labels={"capex_musd": "Capex (M USD)"})
    html = make_offline(m)
    assert "Capex (M USD)" in html and "2,100" in html and "1,480" in html
    assert "data:image/png;base64," in html and "Per country" in html


def test_add_routes_needs_its_columns():
    with pytest.raises(ValueError, match="rank"):
        add_routes(base_map(), small_routes().drop(columns="rank"))


def test_custom_popup_html_is_neutralised_for_template_literal():
    r = small_routes().assign(popup_html=["<p>cost `x` ${y}</p>", ""])
    m = base_map()
    add_routes(m, r)
    html = make_offline(m)
    assert "<p>cost &#96;x&#96; &#36;{y}</p>" in html


def test_simplify_for_display_keeps_the_input():
    line = LineString([(0, 0), *[(i / 100, 0.0001 * (i % 2)) for i in range(1, 100)], (1, 0)])
    gdf = gpd.GeoDataFrame(geometry=[line], crs="EPSG:4326")
    out = simplify_for_display(gdf, 0.001)
    assert len(out.geometry[0].coords) == 2
    assert len(gdf.geometry[0].coords) == 101


# --------------------------------------------------------------------------- writing


def test_save_map_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "index.html"
    save_map(base_map(), target)
    before = target.read_bytes()
    assert b"L.map(" in before

    def boom(*a, **k):
        raise RuntimeError("render failed")

    monkeypatch.setattr(webmap, "make_offline", boom)
    with pytest.raises(RuntimeError):
        save_map(base_map(), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]


@pytest.mark.slow
def test_default_layers_map_size(layers, tmp_path):
    m = existing_system_map(layers)
    add_routes(m, small_routes())
    path = save_map(m, tmp_path / "index.html")
    size = path.stat().st_size
    report = map_size_report(path.read_text(encoding="utf-8"))
    assert size == report["total"]
    assert size < 4_000_000, f"map is {size / 1e6:.1f} MB"
    assert Path(path).read_text(encoding="utf-8").count("Tashkent") >= 1


def test_routes_without_rank_come_last():
    r = small_routes().assign(rank=[1, np.nan])
    m = base_map()
    add_routes(m, r)
    html = make_offline(m)
    assert "#1 Route 1" in html and "#2 Route 2" in html


def test_basemap_is_clipped_to_the_data():
    layers = small_layers()
    world = gpd.GeoDataFrame({"iso_a3": ["RUS"], "name": ["Russia"]},
                             geometry=[Polygon([(20, 40), (180, 40), (180, 80), (20, 80)])],
                             crs="EPSG:4326")
    layers["countries"] = world
    m = existing_system_map(layers)
    gj = next(c for fg in m._children.values() if isinstance(fg, folium.FeatureGroup)
              for c in fg._children.values() if isinstance(c, folium.GeoJson))
    xs = [x for x, _ in gj.data["features"][0]["geometry"]["coordinates"][0]]
    west, _, east, _ = webmap.display_extent(layers)
    assert (west, east) == (52.0, 74.43)
    assert max(xs) <= east + 1e-6 and min(xs) >= west - 1e-6
