"""Terrain classes of new pipe (planner.terrain_classes) on constructed DEMs and ranges."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from pyproj import Geod
from shapely import LineString, box

from planner import economics as e
from planner.plan.optimise import arc_terrain_factors
from planner.terrain import Terrain
from planner.terrain_classes import (
    TerrainClassError,
    TerrainClassifier,
    classify,
    terrain_class_km,
    terrain_factor_from_km,
)

#: 1-arcmin cells, 44-46 E, 40-41 N (as the shipped DEM's grid).
CELL = 1 / 60
TRANSFORM = Affine(CELL, 0, 44.0, 0, -CELL, 41.0)
LINE = LineString([(44.1, 40.5), (45.9, 40.5)])
KM_PER_DEG = Geod(ellps="WGS84").line_length([44.0, 45.0], [40.5, 40.5]) / 1000.0


def _dem(east_slope_pct: float) -> Terrain:
    """Level west of 45 E, rising eastwards at ``east_slope_pct`` east of it."""
    rows, cols = 60, 120
    lat = 41.0 - (np.arange(rows) + 0.5) * CELL
    dx_m = CELL * 111_320.0 * np.cos(np.radians(lat))[:, None]  # as native_slope_pct
    steps = np.clip(np.arange(cols) - 59.5, 0, None)[None, :]
    z = (east_slope_pct / 100.0 * steps * dx_m).astype(np.float32)
    return Terrain(z, TRANSFORM, "EPSG:4326")


def _km(**deg: float) -> dict[str, float]:
    return {c: deg.get(c, 0.0) * KM_PER_DEG for c in ("flat", "hilly", "mountain")}


def test_a_level_line_is_flat():
    km = terrain_class_km(LINE, _dem(0.0))
    assert km == pytest.approx(_km(flat=1.8), abs=0.05)


def test_gentle_slope_is_hilly_and_inside_a_range_mountain():
    # 5 % east of 45 E: hilly (2-8 %); the part inside a range polygon (45.5-46 E): mountain
    ranges = gpd.GeoDataFrame(geometry=[box(45.5, 40.0, 46.0, 41.0)], crs="EPSG:4326")
    km = terrain_class_km(LINE, _dem(5.0), ranges)
    # one cell either side of a boundary may take its neighbour's class (central differences)
    assert km == pytest.approx(_km(flat=0.9, hilly=0.5, mountain=0.4), abs=1.5)
    # level ground inside a range polygon stays flat
    assert terrain_class_km(LINE, _dem(0.0), ranges) == pytest.approx(_km(flat=1.8), abs=0.05)


def test_a_steep_slope_is_mountain_and_classes_add_up_to_the_length():
    km = terrain_class_km(LINE, _dem(12.0))
    # the boundary cell takes half the slope (central differences): hilly, about 1.4 km
    assert km == pytest.approx(_km(flat=0.9, mountain=0.9), abs=2.0)
    assert sum(km.values()) == pytest.approx(1.8 * KM_PER_DEG, rel=1e-3)


def test_the_rule_at_its_thresholds():
    s = np.array([1.99, 2.0, 7.99, 8.0, 2.0, 1.99])
    r = np.array([False, False, False, False, True, True])
    assert classify(s, r).tolist() == [0, 1, 1, 2, 2, 0]
    with pytest.raises(TerrainClassError):
        classify(np.array([np.nan]), np.array([False]))


def test_a_line_leaving_the_dem_raises_naming_it():
    clf = TerrainClassifier.from_terrain(_dem(0.0))
    with pytest.raises(TerrainClassError, match=r"route X-Y: 8\d\.\d km outside the DEM, "):
        clf.class_km(LineString([(45.0, 40.5), (47.0, 40.5)]), name="route X-Y")
    with pytest.raises(TerrainClassError, match="route X-Y: no geometry"):
        clf.class_km(LineString(), name="route X-Y")


def test_a_line_on_the_dems_edge_is_on_it_and_nodata_cells_are_named():
    # the south (40 N) and east (46 E) edges are the grid's far edges: a line along them
    # lies in the edge cells, not outside
    clf = TerrainClassifier.from_terrain(_dem(0.0))
    south = clf.class_km(LineString([(44.1, 40.0), (45.9, 40.0)]), name="south edge")
    assert south["flat"] == pytest.approx(Geod(ellps="WGS84").line_length(
        [44.1, 45.9], [40.0, 40.0]) / 1000.0, rel=1e-4)
    east = clf.class_km(LineString([(46.0, 40.1), (46.0, 40.9)]), name="east edge")
    assert east["flat"] > 80
    # nodata cells inside the DEM: named as such, not as outside
    dem = _dem(0.0)
    z = dem.elevation.copy()
    z[:, 30:40] = np.nan  # 44.5-44.67 E
    holed = TerrainClassifier.from_terrain(Terrain(z, TRANSFORM, "EPSG:4326"))
    with pytest.raises(TerrainClassError, match=r"route X-Y: \d+\.\d km on nodata cells of the "
                       r"DEM, so .*unknown; extend the DEM \(or fill its nodata cells\)"):
        holed.class_km(LINE, name="route X-Y")
    with pytest.raises(TerrainClassError, match=r"km outside the DEM and \d+\.\d km on nodata"):
        holed.class_km(LineString([(44.1, 40.5), (46.5, 40.5)]), name="route X-Y")


def test_the_pipe_factor_is_the_km_weighted_mean_of_the_fitted_factors():
    f = {c: e.parameter(f"terrain_factor_{c}") for c in ("flat", "hilly", "mountain")}
    km = {"flat": 30.0, "hilly": 50.0, "mountain": 20.0}
    assert terrain_factor_from_km(km) == pytest.approx(
        (30 * f["flat"] + 50 * f["hilly"] + 20 * f["mountain"]) / 100, rel=1e-12)


def test_a_plan_arc_without_terrain_classes_raises_naming_it():
    arcs = pd.DataFrame({"arc_id": ["a0", "a7"],
                         "terrain_km": [{"flat": 5.0}, np.nan]})
    with pytest.raises(TerrainClassError, match=r"plan arc a7: no km per terrain class "
                       r"\(terrain_km is nan\).*plan_network\(terrain_classes=\.\.\.\)"):
        arc_terrain_factors(arcs)


def test_a_lateral_takes_the_fitted_factor_of_its_terrain_classes():
    from planner.domestic import new_demand

    near = pd.DataFrame({"centre_id": ["a", "b"], "name": ["A", "B"], "iso_a3": "KAZ",
                         "demand_bcm_y": [0.3, 0.3], "gas_access": False,
                         "distance_km": [40.0, 40.0],
                         "terrain_km": [{"flat": 40.0}, {"mountain": 40.0}]})
    t = new_demand(near, {"KAZ"}, spare_bcm_y=1.0).set_index("name")
    assert t.loc["B", "lateral_capex_musd"] / t.loc["A", "lateral_capex_musd"] == pytest.approx(
        e.parameter("terrain_factor_mountain") / e.parameter("terrain_factor_flat"), rel=1e-12)
    with pytest.raises(TerrainClassError, match="lateral to B"):
        new_demand(near.assign(terrain_km=[{"flat": 40.0}, None]), {"KAZ"}, spare_bcm_y=1.0)


def test_layers_with_their_own_mountains_get_their_own_ranges():
    # one DEM, a new mountains layer each time, the previous one freed: a cache keyed on
    # ids would hand a later layer an earlier layer's ranges once an id is reused
    import gc
    from types import SimpleNamespace

    from planner.terrain_classes import classifier_for

    terrain = _dem(0.0)
    for i in range(30):
        west = 44.0 + i * 0.05
        mountains = gpd.GeoDataFrame(geometry=[box(west, 40.0, west + 0.5, 41.0)],
                                     crs="EPSG:4326")
        clf = classifier_for(SimpleNamespace(terrain=terrain, mountains=mountains))
        assert clf.ranges is not None
        assert clf.ranges.bounds[0] == pytest.approx(west), i
        del mountains, clf
        gc.collect(0)


def test_a_centre_beyond_the_dem_stops_a_route_only_if_its_lateral_is_designed():
    # a route along 40.2 N inside the DEM (40-41 N); two centres within reach: A on the DEM,
    # B south of it (39.85 N). Classifying B's lateral fails, but B gets no lateral unless
    # it is a member's centre with unserved demand: only then the error, naming B
    from types import SimpleNamespace

    from shapely import Point

    from planner.appraisal import route_geometry
    from planner.domestic import new_demand

    countries = gpd.GeoDataFrame({"iso_a3": ["KAZ", "UZB"], "name": ["Kazakhstan", "Uzbekistan"]},
                                 geometry=[box(43, 40.0, 47, 42), box(43, 38, 47, 40.0)],
                                 crs="EPSG:4326")
    centres = gpd.GeoDataFrame(
        {"centre_id": ["a", "b"], "name": ["A", "B"], "country": ["Kazakhstan", "Uzbekistan"],
         "demand_bcm_y": [0.3, 0.3], "gas_access": [False, False], "unserved_share": 1.0},
        geometry=[Point(44.5, 40.4), Point(45.0, 39.85)], crs="EPSG:4326")
    layers = SimpleNamespace(terrain=_dem(0.0), mountains=None, countries=countries,
                             water=gpd.GeoDataFrame({"kind": []}, geometry=[], crs="EPSG:4326"),
                             demand_centres=centres)
    row = pd.Series({"name": "X-Y", "length_km": 150.0,
                     "geometry": LineString([(44.1, 40.2), (45.9, 40.2)])})
    geo = route_geometry(row, layers, centres)  # type: ignore[arg-type]
    near = geo.near.set_index("name")
    assert set(near.index) == {"A", "B"}
    assert near.at["A", "terrain_error"] == "" and near.at["A", "terrain_km"]["flat"] > 0
    assert near.at["B", "terrain_km"] is None
    # B is Uzbek: not a member of a Kazakh study, so no lateral and no error
    t = new_demand(geo.near, {"KAZ"}, spare_bcm_y=1.0).set_index("name")
    assert t.at["A", "new_demand_bcm_y"] == pytest.approx(0.3)
    assert t.at["B", "new_demand_bcm_y"] == 0
    # nor with gas already
    new_demand(geo.near.assign(gas_access=[False, True]), {"KAZ", "UZB"}, spare_bcm_y=1.0)
    # a member's centre without gas: its lateral is designed, so its classes are needed
    with pytest.raises(TerrainClassError,
                       match=r"route X-Y, lateral to demand centre B: \d+\.\d km outside the "
                             r"DEM, .*; extend the DEM to cover the centre B or leave B out"):
        new_demand(geo.near, {"KAZ", "UZB"}, spare_bcm_y=1.0)


def test_terrain_classes_are_the_backtests_labels():
    # the classes a study splits its pipe into are the labels the backtest fits factors on
    from planner.backtest.costs import TERRAINS
    from planner.terrain_classes import TERRAIN_CLASSES

    assert TERRAIN_CLASSES == TERRAINS
