"""New demand a route can add: constructed cases, and the default study."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import Point

from planner import domestic

# a route along the 45th parallel from 60 E to 62 E, as piece midpoints
MIDS = np.column_stack([np.linspace(60.0, 62.0, 200), np.full(200, 45.0)])


def _centres(**cols) -> gpd.GeoDataFrame:
    n = len(cols["name"])
    base = {"centre_id": [f"c{i}" for i in range(n)], "country": ["Kazakhstan"] * n,
            "population": [1e5] * n}
    base.update({k: v for k, v in cols.items() if k not in ("lon", "lat")})
    return gpd.GeoDataFrame(base, geometry=[Point(x, y) for x, y in
                                            zip(cols["lon"], cols["lat"], strict=True)],
                            crs="EPSG:4326")


def _new(centres, members=frozenset({"KAZ"}), spare=1.0):
    near = domestic.centres_within_reach(MIDS, centres, 50.0)
    near["iso_a3"] = near["country"].map({"Kazakhstan": "KAZ", "Russia": "RUS"})
    return domestic.new_demand(near, set(members), spare)


def test_a_route_past_a_supplied_city_gains_nothing():
    c = _centres(name=["Supplied"], lon=[61.0], lat=[45.1], demand_bcm_y=[0.5],
                 gas_access=[True])
    t = _new(c)
    assert len(t) == 1  # within reach: it counts in demand within reach ...
    assert t["new_demand_bcm_y"].sum() == 0  # ... but adds no new demand
    assert t["lateral_capex_musd"].sum() == 0


def test_two_unsupplied_cities_beyond_the_spare_capacity_are_capped():
    c = _centres(name=["Near", "Far"], lon=[61.0, 61.5], lat=[45.05, 45.3],
                 demand_bcm_y=[0.3, 0.3], gas_access=[False, False])
    t = _new(c, spare=0.4).set_index("name")
    assert t["new_demand_bcm_y"].sum() == pytest.approx(0.4)
    # the cheaper lateral (the nearer town) is served first and in full
    assert t.loc["Near", "new_demand_bcm_y"] == pytest.approx(0.3)
    assert t.loc["Far", "new_demand_bcm_y"] == pytest.approx(0.1)
    assert t.loc["Far", "distance_km"] > t.loc["Near", "distance_km"]
    assert (t["lateral_capex_musd"] > 0).all()


def test_only_member_countries_count_and_far_towns_are_out_of_reach():
    c = _centres(name=["Russian town", "Far town"], lon=[61.0, 61.0], lat=[45.1, 47.0],
                 demand_bcm_y=[0.3, 0.3], gas_access=[False, False],
                 country=["Russia", "Kazakhstan"])
    t = _new(c)
    assert t["name"].tolist() == ["Russian town"]
    assert t["new_demand_bcm_y"].sum() == 0
    assert _new(c, members={"KAZ", "RUS"})["new_demand_bcm_y"].sum() == pytest.approx(0.3)


def test_lateral_grows_with_flow_and_length():
    d1, c1 = domestic.lateral_design(0.05, 20)
    d2, c2 = domestic.lateral_design(1.5, 20)
    _, c3 = domestic.lateral_design(0.05, 60)
    assert d2 > d1 and c2 > c1 and c3 > c1


def test_gasification_check_sets_published_shares_beside_the_proximity_rule(layers):
    t = domestic.gasification_check(layers.demand_centres, layers.countries)
    assert {"KAZ", "UZB"} <= set(t["iso_a3"])
    assert t["published_share"].between(0, 1).all()
    assert t["centres_with_access_share"].between(0, 1).all()


def test_default_study_credits_no_more_new_demand_than_spare_capacity(default_run):
    r = default_run.ranking
    assert (r["new_demand_bcm_y"] <= r["spare_capacity_bcm_y"] + 1e-9).all()
    assert np.allclose(r["spare_capacity_bcm_y"],
                       r["throughput_bcm_y"] * (1 - r["utilisation"]))
    # only member countries' unserved centres count
    pc = default_run.per_country
    outside = pc[~pc["iso_a3"].isin(["RUS", "KAZ", "UZB"])]
    assert outside["new_demand_bcm_y"].sum() == 0
    off = pd.read_csv(default_run.files["offtakes_csv"])
    assert len(off) and not off["gas_access"].any() and off["member"].all()
    # the old measure is kept under its honest name, and is not smaller
    assert (r["demand_within_reach_bcm_y"] >= r["new_demand_bcm_y"] - 1e-9).all()


def test_member_countries_come_from_the_study_file():
    from planner.study import StudyError, parse_study

    text = ('[study]\nname = "demo"\nmember_countries = [{}]\n[[supply]]\nname = "Beyneu"\n'
            '[[destinations]]\nname = "Shymkent"\nthroughput_bcm_y = 5\n')
    assert parse_study(text.format('"Kazakhstan", "UZB"')).member_countries == (
        "Kazakhstan", "UZB")
    assert parse_study(text.replace('member_countries = [{}]\n', '')).member_countries == ()
    with pytest.raises(StudyError, match="member_countries"):
        parse_study(text.format("1, 2"))
