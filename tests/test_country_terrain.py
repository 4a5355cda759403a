"""Per-country terrain in the accounts: each country's pipe CAPEX at its own terrain classes
(planner.accounting.new_build_class_km, country_accounts(terrain_km=...))."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely import LineString, Polygon

from planner import accounting, economics
from planner.terrain import Terrain
from planner.terrain_classes import (
    TERRAIN_CLASSES,
    TerrainClassifier,
    class_factors,
    terrain_factor_from_km,
)

CLASS_KM = [f"new_build_{c}_km" for c in TERRAIN_CLASSES]


@pytest.fixture
def countries() -> gpd.GeoDataFrame:
    # three countries of one regional factor (none listed: 1), side by side along 0.5 N
    return gpd.GeoDataFrame(
        {"iso_a3": ["AAA", "BBB", "CCC"], "name": ["A", "B", "C"]},
        geometry=[Polygon([(x, 0), (x + 1, 0), (x + 1, 1), (x, 1)]) for x in (0, 1, 2)],
        crs="EPSG:4326")


def _accounts(pieces: pd.DataFrame, terrain_km: pd.DataFrame | None
              ) -> tuple[pd.DataFrame, economics.RouteCost]:
    """Accounts of a new line without compression (so all new CAPEX is pipe)."""
    new_km = float(pieces.loc[pieces["kind"].eq("new"), "km"].sum())
    route = (pd.DataFrame(terrain_km).sum() if terrain_km is not None
             else pd.Series({"flat": 1.0}))
    cost = economics.route_cost(1067, new_km, 10, compressor_power_kw=0.0,
                                fuel_bcm_y=0.0, border_crossings=0, water_crossings=0,
                                utilisation=0.8,
                                terrain_factor=terrain_factor_from_km(route.to_dict()))
    total = float(pieces["end_km"].iloc[-1])
    t = accounting.country_accounts(
        pieces, cost, throughput_bcm_y=10, utilisation=0.8, discount_rate=0.08,
        lifetime_years=30,
        stations=accounting.Stations(np.zeros(0), np.zeros(0), np.zeros(0)),
        fuel_bcm_y=0.0, profile_km=total, crossings=pd.DataFrame(
            columns=["into", "new_build", "meter_in"]), river_isos=[],
        reuse_tariff_usd_per_1000m3=0.0, buyer_iso="CCC", delivered_cost_usd_per_1000m3=180,
        alternative_price_usd_per_1000m3=200, names={}, terrain_km=terrain_km)
    return t.set_index("iso_a3"), cost


def _new_line(countries: gpd.GeoDataFrame) -> pd.DataFrame:
    legs = [{"kind": "new", "system": "", "length_km": 300.0,
             "geometry": LineString([(0.05, 0.5), (2.95, 0.5)])}]
    return accounting.route_pieces(legs, countries, max_segment_km=2)


def test_mountain_km_in_one_country_raise_its_capex_share_and_rows_still_add_up(countries):
    pieces = _new_line(countries)
    km = pieces.groupby("iso_a3")["km"].sum()
    # all the route's mountain km lie in B; A and C flat
    terrain = pd.DataFrame({"flat": [km["AAA"], 0.0, km["CCC"]], "hilly": 0.0,
                            "mountain": [0.0, km["BBB"], 0.0]}, index=["AAA", "BBB", "CCC"])
    t, cost = _accounts(pieces, terrain)
    km_share = t["new_build_km"] / t["new_build_km"].sum()
    pipe_share = t["pipe_capex_musd"] / t["pipe_capex_musd"].sum()
    assert pipe_share["BBB"] > km_share["BBB"] + 0.05
    assert pipe_share["AAA"] < km_share["AAA"] and pipe_share["CCC"] < km_share["CCC"]
    f = class_factors()
    per_km = t["pipe_capex_musd"] / t["new_build_km"]
    assert per_km["BBB"] / per_km["AAA"] == pytest.approx(f["mountain"] / f["flat"], rel=1e-9)
    assert t.loc["BBB", "new_build_terrain_factor"] == pytest.approx(f["mountain"])
    # the identities: rows add up to the route's CAPEX, OPEX and new-build tariff revenue
    assert t["capex_musd"].sum() * 1e6 == pytest.approx(cost.capex_usd, rel=1e-12)
    assert t["pipe_capex_musd"].sum() * 1e6 == pytest.approx(cost.pipeline_capex_usd
                                                             + cost.metering_capex_usd
                                                             + cost.crossings_capex_usd,
                                                             rel=1e-12)
    assert t["opex_musd_y"].sum() * 1e6 == pytest.approx(cost.opex_usd_per_year, rel=1e-9)
    assert t["transit_revenue_musd_y"].sum() == pytest.approx(
        10 * 0.8 * cost.tariff_usd_per_1000m3, rel=1e-9)
    # the transit revenue of new pipe follows its CAPEX: B earns more per km too
    rev = t["transit_revenue_new_musd_y"]
    assert (rev / rev.sum()).to_numpy() == pytest.approx(pipe_share.to_numpy(), rel=1e-12)
    assert t[CLASS_KM].sum().tolist() == pytest.approx(terrain.sum().tolist())


def test_without_terrain_km_the_accounts_are_as_before(countries):
    pieces = _new_line(countries)
    t, cost = _accounts(pieces, None)
    per_km = t["pipe_capex_musd"] / t["new_build_km"]
    assert per_km.to_numpy() == pytest.approx(np.full(3, per_km.iloc[0]), rel=1e-12)
    assert t[CLASS_KM].isna().all().all() and t["new_build_terrain_factor"].isna().all()
    assert t["capex_musd"].sum() * 1e6 == pytest.approx(cost.capex_usd, rel=1e-12)
    # level ground everywhere gives the same shares as no terrain
    flat = pd.DataFrame({"flat": pieces.groupby("iso_a3")["km"].sum(), "hilly": 0.0,
                         "mountain": 0.0})
    t_flat, _ = _accounts(pieces, flat)
    assert t_flat["capex_musd"].to_numpy() == pytest.approx(t["capex_musd"].to_numpy(),
                                                            rel=1e-12)


def test_terrain_km_of_a_country_off_the_route_is_refused(countries):
    pieces = _new_line(countries)
    bad = pd.DataFrame({"flat": [10.0], "hilly": 0.0, "mountain": 0.0}, index=["ZZZ"])
    with pytest.raises(ValueError, match=r"terrain_km: countries \['ZZZ'\]"):
        _accounts(pieces, bad)


def _ramp_dem() -> Terrain:
    """Level west of 1 E; rising 10 % eastwards between 1 and 2 E; level east of 2 E."""
    cell = 1 / 60
    dx_m = cell * 111_320.0
    steps = np.clip(np.arange(180) - 59.5, 0, 60)[None, :].repeat(60, axis=0)
    z = (0.10 * steps * dx_m).astype(np.float32)
    return Terrain(z, Affine(cell, 0, 0.0, 0, -cell, 1.0), "EPSG:4326")


def test_class_km_by_country_add_up_to_the_routes_and_lie_where_the_slope_is(countries):
    clf = TerrainClassifier.from_terrain(_ramp_dem())
    # new, reused, new: the reused line's km are not classified, each new leg's are
    legs = [{"kind": "new", "system": "", "length_km": 90.0,
             "geometry": LineString([(0.1, 0.5), (0.9, 0.5)])},
            {"kind": "reuse", "system": "Old", "length_km": 20.0,
             "geometry": LineString([(0.9, 0.5), (1.1, 0.5)])},
            {"kind": "new", "system": "", "length_km": 200.0,
             "geometry": LineString([(1.1, 0.5), (2.9, 0.5)])}]
    pieces = accounting.route_pieces(legs, countries, max_segment_km=2)
    by_country = accounting.new_build_class_km(legs, pieces, clf, name="route X")
    route = clf.lines_km([legs[0]["geometry"], legs[2]["geometry"]], name="route X")
    assert by_country.sum().to_numpy() == pytest.approx(
        [route[c] for c in TERRAIN_CLASSES], rel=1e-12)
    assert by_country.loc["BBB", "mountain"] > 90.0
    assert by_country.loc["AAA", "mountain"] == 0.0
    assert by_country.loc["CCC", "mountain"] < 3.0  # one boundary cell at most
    # every country of classified km has new-build km
    new_km = pieces[pieces["kind"].eq("new")].groupby("iso_a3")["km"].sum()
    assert set(by_country.index) <= set(new_km.index)
    t, cost = _accounts(pieces, by_country)
    assert t["capex_musd"].sum() * 1e6 == pytest.approx(cost.capex_usd, rel=1e-12)
    assert t.loc["BBB", "capex_share"] > new_km["BBB"] / new_km.sum()


# --- identities on the shipped studies' real outputs ------------------------------------


def test_shipped_per_country_terrain_km_and_capex_add_up_to_each_route(shipped_runs):
    checked = mountains = 0
    for name, run in shipped_runs.items():
        routes = run.ranking.set_index("route_id")
        for rid, g in run.per_country.groupby("route_id"):
            r = routes.loc[rid]
            where = f"{name} / {r['name']}"
            for c in TERRAIN_CLASSES:
                assert g[f"new_build_{c}_km"].sum() == pytest.approx(
                    r[f"new_build_{c}_km"], rel=1e-9, abs=1e-9), where
            assert g["capex_musd"].sum() == pytest.approx(r["capex_musd"], rel=1e-9), where
            # class km only where new pipe is built, and each country's factor from its own
            assert (g.loc[g["new_build_km"] <= 0, CLASS_KM].fillna(0.0).to_numpy()
                    == 0).all(), where
            for _, row in g[g[CLASS_KM].sum(axis=1) > 0].iterrows():
                own = {c: row[f"new_build_{c}_km"] for c in TERRAIN_CLASSES}
                assert row["new_build_terrain_factor"] == pytest.approx(
                    terrain_factor_from_km(own), rel=1e-12), where
            mountains += int((g["new_build_mountain_km"] > 0).any())
            checked += 1
    assert checked >= 2 * 10
    assert mountains > 0  # some route builds in the mountains: the test is not vacuous
    for run in shipped_runs.values():
        written = pd.read_csv(run.files["per_country_csv"])
        assert {*CLASS_KM, "new_build_terrain_factor"} <= set(written.columns)
