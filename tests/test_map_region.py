"""A study's map draws the existing system within its region only (display only)."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point

from planner.layers import Layers
from planner.map_region import clip_to_box, layers_for_map, map_box

REGION = (44.0, 38.0, 51.0, 43.0)


def _layers() -> Layers:
    def pts(names: list[str], xy: list[tuple[float, float]]) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame({"name": names, "country": "X"},
                                geometry=[Point(p) for p in xy], crs="EPSG:4326")

    pipes = gpd.GeoDataFrame(
        {"name": ["inside", "leaving", "central asia"]},
        geometry=[LineString([(45, 40), (47, 41)]), LineString([(50, 40), (55, 40)]),
                  LineString([(60, 40), (70, 42)])], crs="EPSG:4326")
    empty = gpd.GeoDataFrame({"name": []}, geometry=[], crs="EPSG:4326")
    return Layers(pipelines=pipes, compressor_stations=empty,
                  demand_centres=pts(["Tbilisi", "Tashkent"], [(44.8, 41.7), (69.2, 41.3)]),
                  supply_points=pts(["Sangachal", "Galkynysh"], [(49.5, 40.2), (61.9, 37.3)]),
                  countries=empty, water=empty, mountains=empty, terrain=None)  # type: ignore[arg-type]


def test_map_layers_are_the_regions_and_lines_are_cut_at_the_margin():
    layers = _layers()
    shown = layers_for_map(layers, REGION, margin_deg=0.5)
    assert shown.pipelines["name"].tolist() == ["inside", "leaving"]
    assert shown.pipelines.geometry.iloc[1].bounds[2] == 51.5  # cut at the box's east edge
    assert shown.demand_centres["name"].tolist() == ["Tbilisi"]
    assert shown.supply_points["name"].tolist() == ["Sangachal"]
    # the computation's layers are untouched
    assert len(layers.pipelines) == 3 and len(layers.demand_centres) == 2


def test_map_box_margin_and_clip_keep_crs_and_index():
    assert map_box(REGION, 1.0) == (43.0, 37.0, 52.0, 44.0)
    g = _layers().demand_centres.to_crs(3857)
    out = clip_to_box(g, REGION)
    assert out.crs == g.crs and out.index.tolist() == [0]


def test_study_map_draws_the_clipped_layers(monkeypatch, tmp_path):
    import planner.mapui
    from planner import report, webmap

    seen = {}

    def fake_map(study, layers, *a, extra_layers=(), **k):
        seen["layers"] = layers
        m = SimpleNamespace()
        for add in extra_layers:
            add(m)
        return m

    junctions = gpd.GeoDataFrame(
        {"kind": ["t_junction", "t_junction"]},
        geometry=[Point(46, 40), Point(65, 41)], crs="EPSG:4326")
    monkeypatch.setattr(planner.mapui, "decision_map", fake_map)
    monkeypatch.setattr(report, "_junctions", lambda study, layers: junctions)
    monkeypatch.setattr(webmap, "add_junctions",
                        lambda m, j: seen.setdefault("junctions", j))
    monkeypatch.setattr(webmap, "save_map", lambda m, path: path)
    study = SimpleNamespace(region=REGION)
    cands = gpd.GeoDataFrame({"route_id": []}, geometry=[], crs="EPSG:4326")
    report.study_map(study, _layers(), cands, pd.DataFrame(), {}, tmp_path / "m.html")
    assert seen["layers"].pipelines["name"].tolist() == ["inside", "leaving"]
    assert seen["junctions"].geometry.x.tolist() == [46.0]
