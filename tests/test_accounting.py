"""Per-country accounts: constructed cases, and the identities on both shipped studies."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import LineString, Polygon

from planner import accounting, economics
from planner.appraisal import scenario_route_id
from planner.geodesy import GEOD, nearest_within_km

REL = 0.005  # the tolerance: 0.5 %


@pytest.fixture
def countries() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"iso_a3": ["AAA", "BBB", "CCC"], "name": ["A", "B", "C"]},
        geometry=[Polygon([(0, 0), (1, 0), (1, 1), (0, 1)]),
                  Polygon([(1, 0), (2, 0), (2, 1), (1, 1)]),
                  Polygon([(2, 0), (3, 0), (3, 1), (2, 1)])], crs="EPSG:4326")


def _accounts(countries, stations_km=(150.0,), power=(10_000.0,), fuel=(0.05,)):
    legs = [{"kind": "new", "system": "", "length_km": 100.0,
             "geometry": LineString([(0.2, 0.5), (1.1, 0.5)])},
            {"kind": "reuse", "system": "Old line", "length_km": 200.0,
             "geometry": LineString([(1.1, 0.5), (2.9, 0.5)])}]
    pieces = accounting.route_pieces(legs, countries, max_segment_km=2)
    crossings = accounting.border_crossings(pieces)
    cost = economics.route_cost(1067, 100, 10, compressor_power_kw=sum(power),
                                fuel_bcm_y=sum(fuel),
                                border_crossings=int(crossings["new_build"].sum()),
                                water_crossings=0, utilisation=0.8)
    t = accounting.country_accounts(
        pieces, cost, throughput_bcm_y=10, utilisation=0.8, discount_rate=0.08,
        lifetime_years=30,
        stations=accounting.Stations(np.array(stations_km), np.array(power), np.array(fuel)),
        fuel_bcm_y=sum(fuel), profile_km=300.0, crossings=crossings, river_isos=[],
        reuse_tariff_usd_per_1000m3=2.2, buyer_iso="CCC", delivered_cost_usd_per_1000m3=180,
        alternative_price_usd_per_1000m3=200, names={"AAA": "A", "BBB": "B", "CCC": "C"})
    return t.set_index("iso_a3"), cost


def test_built_and_used_are_apart(countries):
    t, cost = _accounts(countries)
    # the new leg runs through A and a little into B; the reused line through B and C
    assert t["km"].sum() == pytest.approx(300.0)
    assert t["new_build_km"].sum() == pytest.approx(100.0)
    assert t["reused_km"].sum() == pytest.approx(200.0)
    assert t.loc["CCC", "new_build_km"] == 0
    assert t.loc["CCC", "pipe_capex_musd"] == 0  # nothing built there
    assert "Old line" in t.loc["CCC", "reused_systems"]
    # one metering station, in B, where the new pipe crosses; none where the reused line does
    assert t["border_crossings"].sum() == 2
    assert cost.metering_capex_usd == pytest.approx(
        economics.parameter("metering_station_usd", currency_year=2023))
    # the station at km 150 is on the reused line in B: its compression is there
    assert t.loc["BBB", "compression_capex_musd"] * 1e6 == pytest.approx(
        cost.compressor_capex_usd)
    assert t["capex_musd"].sum() * 1e6 == pytest.approx(cost.capex_usd, rel=1e-9)
    assert t["opex_musd_y"].sum() * 1e6 == pytest.approx(cost.opex_usd_per_year, rel=1e-9)


def test_revenue_adds_up_to_the_tariff_on_the_volume_carried(countries):
    t, cost = _accounts(countries)
    route = 10 * 0.8 * (cost.tariff_usd_per_1000m3 + 2.2)  # bcm × USD/1000 m³ = M USD
    assert t["transit_revenue_musd_y"].sum() == pytest.approx(route, rel=1e-9)
    # the reused line's tariff goes to the countries of the reused km, pro rata
    reused = t["transit_revenue_reused_musd_y"]
    assert reused["AAA"] == 0
    assert reused.sum() == pytest.approx(10 * 0.8 * 2.2)
    assert reused["CCC"] / reused.sum() == pytest.approx(
        t.loc["CCC", "reused_km"] / t["reused_km"].sum())
    # the buyer's gain: (alternative − delivered) × volume carried
    assert t.loc["CCC", "buyer_gain_musd_y"] == pytest.approx((200 - 180) * 8)
    assert t.loc["CCC", "role"] == "transit, buyer"
    assert (t["net_position_musd_y"] == t["transit_net_musd_y"] + t["buyer_gain_musd_y"]).all()


def test_route_ids_are_unique_across_scenarios():
    a = scenario_route_id("supply security east", 0)
    b = scenario_route_id("supply security west", 0)
    assert a[:12] == b[:12] and a != b
    assert scenario_route_id("x", 1) == scenario_route_id("x", 1)


def test_prefiltered_nearest_matches_all_pairs():
    rng = np.random.default_rng(7)
    pts = np.column_stack([rng.uniform(45, 88, 400), rng.uniform(36, 56, 400)])
    line = np.column_stack([np.linspace(50, 80, 1500), 45 + 5 * np.sin(np.linspace(0, 6, 1500))])
    idx, d = nearest_within_km(pts, line, 60.0)
    a = np.repeat(pts, len(line), axis=0)
    b = np.tile(line, (len(pts), 1))
    _, _, dd = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    dmin = np.asarray(dd).reshape(len(pts), len(line)).min(axis=1) / 1000
    assert idx.tolist() == np.flatnonzero(dmin <= 60.0).tolist()
    assert np.allclose(d, dmin[idx])


# --- identities on both shipped studies ------------------------------------------------


def _routes(run):
    r = run.ranking.set_index("route_id")
    return r, run.per_country.groupby("route_id")


def test_route_ids_unique_in_shipped_runs(shipped_runs):
    for run in shipped_runs.values():
        ids = run.ranking["route_id"]
        assert ids.is_unique
        assert set(run.per_country["route_id"]) == set(ids)


def test_per_country_identities_on_shipped_studies(shipped_runs):
    checked = 0
    for name, run in shipped_runs.items():
        routes, groups = _routes(run)
        for rid, g in groups:
            r = routes.loc[rid]
            where = f"{name} / {r['name']}"
            assert g["capex_musd"].sum() == pytest.approx(r["capex_musd"], rel=REL), where
            revenue = r["throughput_bcm_y"] * r["utilisation"] * r["tariff_usd_per_1000m3"]
            assert r["tariff_revenue_musd_y"] == pytest.approx(revenue, rel=1e-9), where
            assert g["transit_revenue_musd_y"].sum() == pytest.approx(revenue, rel=REL), where
            assert g["km"].sum() == pytest.approx(r["length_km"], rel=REL), where
            assert g["new_build_km"].sum() == pytest.approx(r["new_build_km"], rel=REL), where
            assert g["reused_km"].sum() == pytest.approx(r["reused_km"], rel=REL, abs=1e-6)
            assert g["opex_musd_y"].sum() == pytest.approx(r["opex_musd_y"], rel=REL), where
            nothing_built = g["new_build_km"] <= 0
            assert (g.loc[nothing_built, "pipe_capex_musd"].abs() < 1e-9).all(), where
            assert g["border_crossings"].sum() == r["border_crossings"], where
            assert g["new_demand_bcm_y"].sum() == pytest.approx(r["new_demand_bcm_y"],
                                                                abs=1e-9), where
            buyers = g[g["role"].str.contains("buyer")]
            assert len(buyers) == 1, where
            checked += 1
    assert checked >= 2 * 10


def test_written_per_country_csv_keeps_its_columns(shipped_runs):
    for run in shipped_runs.values():
        t = pd.read_csv(run.files["per_country_csv"])
        for c in ["scenario", "route_id", "country", "capex_musd", "transit_revenue_musd_y",
                  "new_build_km", "reused_km", "net_position_musd_y", "new_demand_bcm_y"]:
            assert c in t.columns, c


def test_river_crossings_found_through_the_index_are_all_of_them(layers):
    import shapely

    from planner.appraisal import river_crossings

    line = LineString([(55, 40), (70, 45), (80, 43)])
    rivers = layers.water[layers.water["kind"].eq("river")]
    every = sum(len(shapely.get_parts(line.intersection(g))) for g in rivers.geometry
                if line.intersects(g))
    assert river_crossings(line, layers.water) == every > 0
    assert len(accounting.river_crossing_points([line], layers.water)) == every
