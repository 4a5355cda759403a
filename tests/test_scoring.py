"""Tests of planner.scoring: normalisation, profiles, Pareto front, rank stability and the
vectorised layer metrics."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from shapely import LineString, Point, Polygon

from planner import scoring as s


@pytest.fixture
def candidates() -> pd.DataFrame:
    # Three archetypes: "cheap" (short, low cost, many borders, little domestic demand),
    # "secure" (one country, costlier), "gasify" (passes many cities, costliest).
    return pd.DataFrame(
        {
            "candidate": ["cheap", "secure", "gasify"],
            "length_km": [1500, 1800, 2100],
            "new_build_km": [1500, 1800, 2100],
            "reused_km": [0, 0, 300],
            "capex_usd": [4.0e9, 5.0e9, 6.0e9],
            "tariff_usd_per_1000m3": [30.0, 36.0, 40.0],
            "delivered_cost_usd_per_1000m3": [180.0, 190.0, 196.0],
            "demand_within_reach_bcm_y": [1.0, 2.0, 9.0],
            "new_demand_bcm_y": [0.1, 0.2, 0.9],
            "countries": [4, 1, 3],
            "border_crossings": [3, 0, 2],
            "terrain_difficulty": [1.2, 1.3, 1.2],
            "water_crossings": [5, 6, 9],
            "highest_point_m": [900, 1200, 800],
            "compressor_stations": [6, 7, 8],
            "compressor_power_mw": [150, 170, 190],
        }
    )


def test_profiles_are_data_and_sum_to_one():
    assert set(s.WEIGHT_PROFILES.columns) == {"lowest_cost", "supply_security",
                                              "domestic_gasification"}
    assert np.allclose(s.WEIGHT_PROFILES.sum(), 1.0)
    assert set(s.WEIGHT_PROFILES.index) <= set(s.CRITERIA.index)


def test_normalise_by_hand():
    t = pd.DataFrame({"capex_usd": [4.0, 5.0, 8.0], "demand_within_reach_bcm_y": [1.0, 2.0, 9.0],
                      "countries": [2, 2, 2]})
    n = s.normalise(t)
    assert n["capex_usd"].tolist() == pytest.approx([1.0, 0.75, 0.0])  # (8-x)/(8-4)
    assert n["demand_within_reach_bcm_y"].tolist() == pytest.approx([0.0, 1 / 8, 1.0])  # (x-1)/8
    assert n["countries"].tolist() == [1.0, 1.0, 1.0]
    m = s.normalise(t, method="max")
    assert m["capex_usd"].tolist() == pytest.approx([1.0, 4 / 5, 4 / 8])
    assert m["demand_within_reach_bcm_y"].tolist() == pytest.approx([1 / 9, 2 / 9, 1.0])


def test_score_by_hand(candidates):
    t = s.criteria_table(candidates)
    r = s.rank(t, {"capex_usd": 0.5, "demand_within_reach_bcm_y": 0.5})
    # capex normalised: cheap 1, secure 0.5, gasify 0; demand: 0, 1/8, 1
    assert r["score"].tolist() == pytest.approx([0.5, 0.5 * 0.5 + 0.5 / 8, 0.5])
    assert r.loc["secure", "rank"] == 3


def test_ranking_follows_the_weight_profile(candidates):
    t = s.criteria_table(candidates)
    best = {p: s.rank(t, p)["rank"].idxmin() for p in s.WEIGHT_PROFILES.columns}
    assert best == {"lowest_cost": "cheap", "supply_security": "secure",
                    "domestic_gasification": "gasify"}


def test_shifting_weight_moves_the_ranking(candidates):
    t = s.criteria_table(candidates)
    # from all-cost to all-demand, "gasify" must climb monotonically
    ranks = [s.rank(t, {"capex_usd": 1 - a, "demand_within_reach_bcm_y": a}).loc["gasify", "rank"]
             for a in np.linspace(0, 1, 11)]
    assert ranks[0] == 3 and ranks[-1] == 1
    assert all(b <= a for a, b in itertools.pairwise(ranks))


def test_pareto_front(candidates):
    t = s.criteria_table(candidates)
    assert s.pareto_front(t).all()  # each archetype is best at something
    worse = t.loc[["secure"]].rename(index={"secure": "worse"})
    worse[["capex_usd", "length_km"]] *= 1.1  # strictly worse than "secure" on two, equal else
    both = pd.concat([t, worse])
    front = s.pareto_front(both)
    assert not front["worse"] and front.drop("worse").all()
    # a dominated candidate never ranks first, whatever the profile
    for p in s.WEIGHT_PROFILES.columns:
        assert s.rank(both, p)["rank"].idxmin() != "worse"


def test_rank_stability(candidates):
    t = s.criteria_table(candidates)
    a = s.rank_stability(t, "lowest_cost", n_samples=500, seed=3)
    b = s.rank_stability(t, "lowest_cost", n_samples=500, seed=3)
    pd.testing.assert_frame_equal(a, b)  # seeded
    probs = a[[c for c in a.columns if c.startswith("rank_")]]
    assert np.allclose(probs.sum(axis=1), 1.0) and np.allclose(probs.sum(axis=0), 1.0)
    # near-certain weights reproduce the deterministic ranking
    certain = s.rank_stability(t, "lowest_cost", n_samples=300, concentration=1e6, seed=1)
    det = s.rank(t, "lowest_cost")["rank"]
    for c in t.index:
        assert certain.loc[c, f"rank_{det[c]}"] == 1.0
    # vaguer weights spread the probability
    vague = s.rank_stability(t, "lowest_cost", n_samples=2000, concentration=2, seed=1)
    assert vague["p_best"].max() < 1.0


def test_rank_stability_dominated_is_never_first(candidates):
    t = s.criteria_table(candidates)
    worse = t.loc[["cheap"]].rename(index={"cheap": "worse"})
    worse["capex_usd"] *= 1.2
    both = pd.concat([t, worse])
    rs = s.rank_stability(both, "lowest_cost", n_samples=1000, concentration=3, seed=0)
    assert rs.loc["worse", "p_best"] == 0.0


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda t: s.rank(t, "cheapest"), "profile"),
        (lambda t: s.rank(t, {"capex_usd": -1, "length_km": 2}), "weights"),
        (lambda t: s.rank(t, {"not_a_criterion": 1}), "not_a_criterion"),
        (lambda t: s.rank(t[["capex_usd"]], "supply_security"), "border_crossings"),
        (lambda t: s.rank_stability(t, n_samples=0), "n_samples"),
        (lambda t: s.normalise(t, method="zscore"), "method"),
    ],
)
def test_bad_input_names_the_problem(candidates, call, name):
    with pytest.raises(ValueError, match=name):
        call(s.criteria_table(candidates))


def test_criteria_table_rejects_bad_values(candidates):
    bad = candidates.copy()
    bad.loc[0, "capex_usd"] = -1
    with pytest.raises(ValueError, match="capex_usd"):
        s.criteria_table(bad)
    bad = candidates.copy()
    bad["length_km"] = bad["length_km"].astype(object)
    bad.loc[1, "length_km"] = "far"
    with pytest.raises(ValueError, match="length_km"):
        s.criteria_table(bad)
    with pytest.raises(ValueError, match="criteria"):
        s.criteria_table(pd.DataFrame({"candidate": ["a"], "colour": ["red"]}))


# ---------------------------------------------------------------------------------------
# Layer metrics: vectorised against a straightforward loop


def _loop_metrics(routes, countries, demand, water, reach_km):
    from shapely import union_all

    from planner.settings import STUDY_CRS

    outlines = union_all([g.boundary for g in countries.geometry])

    geod = Geod(ellps="WGS84")
    proj_routes = routes.to_crs(STUDY_CRS)
    proj_demand = demand.to_crs(STUDY_CRS)
    rows = []
    for i, line in enumerate(routes):
        n_countries = sum(line.intersects(g) for g in countries.geometry)
        x = line.intersection(outlines)
        borders = 0 if x.is_empty else len(getattr(x, "geoms", [x]))
        w = 0
        for g in water:
            x = line.intersection(g)
            w += 0 if x.is_empty else len(getattr(x, "geoms", [x]))
        d = sum(float(v) for p, v in zip(proj_demand.geometry, demand["demand_bcm_y"],
                                           strict=True)
                if p.distance(proj_routes.iloc[i]) <= reach_km * 1000)
        rows.append({"length_km": geod.geometry_length(line) / 1000, "countries": n_countries,
                     "border_crossings": borders, "water_crossings": w,
                     "demand_within_reach_bcm_y": d})
    return pd.DataFrame(rows, index=routes.index)


def test_route_layer_metrics_agree_with_a_loop():
    countries = gpd.GeoDataFrame(
        {"iso_a3": ["AAA", "BBB", "CCC"]},
        geometry=[Polygon([(60, 40), (62, 40), (62, 42), (60, 42)]),
                  Polygon([(62, 40), (64, 40), (64, 42), (62, 42)]),
                  Polygon([(64, 40), (66, 40), (66, 42), (64, 42)])], crs="EPSG:4326")
    demand = gpd.GeoDataFrame({"demand_bcm_y": [1.0, 2.0, 4.0]},
                              geometry=[Point(61, 41.1), Point(63, 41.8), Point(65.5, 40.2)],
                              crs="EPSG:4326")
    water = gpd.GeoSeries([LineString([(61.5, 39), (61.5, 43)]),
                           LineString([(63.5, 39), (63.7, 43)])], crs="EPSG:4326")
    routes = gpd.GeoSeries([LineString([(60.5, 41), (65.5, 41)]),
                            LineString([(60.5, 41), (61.8, 41.5), (60.5, 41.9)]),
                            LineString([(62.5, 40.5), (65.5, 40.3)])], crs="EPSG:4326")
    v = s.route_layer_metrics(routes, countries, demand, water=water, reach_km=25)
    loop = _loop_metrics(routes, countries, demand, water, 25)
    pd.testing.assert_frame_equal(v, loop, check_dtype=False, atol=1e-6)
    assert v.loc[0, "countries"] == 3 and v.loc[1, "countries"] == 1
    assert v.loc[0, "border_crossings"] == 2 and v.loc[1, "border_crossings"] == 0
    # 0.8° of latitude (~89 km) separates route 0 from the other two centres
    assert v.loc[0, "demand_within_reach_bcm_y"] == 1.0
    assert v.loc[2, "demand_within_reach_bcm_y"] == 4.0
    assert v.loc[0, "water_crossings"] == 2
    assert v.loc[0, "length_km"] == pytest.approx(
        Geod(ellps="WGS84").geometry_length(routes[0]) / 1000)
    with pytest.raises(ValueError, match="reach_km"):
        s.route_layer_metrics(routes, countries, demand, reach_km=-1)
