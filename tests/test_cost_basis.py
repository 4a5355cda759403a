"""One cost basis: route tables, plan arcs and the cost backtest price the same line alike.

The backtest (the validated model, :func:`planner.backtest.costs._predict`) prices a line
as ``(pipe × terrain × trend + compression + metering) × regional``; the route tables
(:func:`planner.appraisal.new_build_cost`) and the plan's new arcs
(:func:`planner.plan.optimise.solve_plan`) must give the same figure for the same line.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from line_costs import YEAR, backtest, project, study_cost
from shapely import LineString, Polygon

from planner import accounting
from planner import economics as e
from planner.appraisal import new_build_km_by_country
from planner.backtest import costs as bc
from planner.plan.candidates import ARC_COLUMNS, PlanNetwork
from planner.plan.optimise import PlanEconomics, diameter_options, solve_plan
from planner.plan.options import PlanOptions
from planner.terrain_classes import (
    TERRAIN_CLASSES,
    TerrainClassError,
    fitted_factor_range,
    terrain_factor_from_km,
)

TREND = e.pipe_cost_trend_factor(YEAR)


def test_regional_factor_multiplies_metering_and_crossings_as_in_the_backtest():
    # a level 2100 km line across Kazakhstan into Uzbekistan: one border, so one metering
    # station in the backtest's design; the study's whole CAPEX, metering included, is
    # the backtest's prediction for the same line built in the studies' currency year
    bt, predicted = backtest(2100, 4.0, "KAZ;UZB")
    assert bt["metering_usd"] > 0
    rf = e.regional_factor_for("KAZ")
    assert rf != 1.0
    _, cost = study_cost(4.0, 2100, {"KAZ": 1500.0, "UZB": 600.0}, border_crossings=1)
    assert cost.metering_capex_usd == pytest.approx(bt["metering_usd"] * rf, rel=1e-12)
    assert cost.capex_usd / 1e6 == pytest.approx(predicted, rel=1e-12)
    # river crossings (no term of the backtest: built lines' reported totals include
    # theirs, so the factor fitted on those totals covers them) take the factor too
    _, wet = study_cost(4.0, 2100, {"KAZ": 2100.0}, water_crossings=2)
    assert wet.crossings_capex_usd == pytest.approx(
        2 * e.parameter("river_crossing_usd", currency_year=YEAR) * rf, rel=1e-12)


def test_plan_arc_takes_terrain_on_its_pipe_only_as_route_tables_and_backtest():
    # a mountain arc of three station spacings in Kazakhstan: the plan's arc CAPEX is the
    # route tables' pipe and station fixed cost of the same line, and the backtest's
    # prediction for it: (pipe × terrain × trend + stations) × regional
    opts = PlanOptions(enabled=True, time_limit_s=20)
    econ = PlanEconomics(discount_rate=0.08, lifetime_years=30, utilisation=0.8,
                         fuel_price_usd_per_1000m3=150.0, tariff_usd_per_1000m3_100km=1.5,
                         compressor_usd_per_kw=3000.0,
                         pipeline_om_share=e.parameter("pipeline_fixed_om_share"),
                         compressor_om_share=e.parameter("compressor_fixed_om_share"))
    cal = bc.CostCalibration.from_parameters()
    tf = cal.terrain_factors["mountain"]
    assert tf > 1  # the fitted mountain factor: the checks below see it on the pipe
    km = 3 * opts.station_spacing_km
    nodes = pd.DataFrame({"lon": [0.0, 1.0], "lat": [0.0, 0.0], "kind": "x",
                          "demand_bcm_y": [0.0, 3.0], "supply": [True, False]},
                         index=["S", "D"])
    arcs = gpd.GeoDataFrame([{
        "arc_id": "a0", "u": "S", "v": "D", "kind": "new", "system": "", "length_km": km,
        "cost_km_eq": np.nan, "terrain_km": {"mountain": km},
        "capacity_bcm_y": np.nan, "design": 0,
        "km_by_country": {"KAZ": km}, "countries": "KAZ",
        "geometry": LineString([(60, 45), (63, 45)])}], geometry="geometry",
        crs="EPSG:4326").reindex(columns=ARC_COLUMNS)
    arc = solve_plan(PlanNetwork(nodes, arcs), opts, econ).arcs
    arc = arc[arc["kind"].eq("new")].iloc[0]
    d = float(arc["diameter_mm"])
    wall = float(diameter_options(opts).set_index("diameter_mm").loc[d, "wall_mm"])
    rf = e.regional_factor_for("KAZ")
    # the route tables: route_cost of the line, terrain and trend on the pipe, 3 stations
    table = e.route_cost(d, km, 3.0, wall_thickness_mm=wall, terrain_factor=tf * TREND,
                         regional_factor=rf, compressor_stations=3)
    assert arc["capex_musd"] == pytest.approx(table.capex_usd / 1e6, rel=1e-9)
    # and its annual capital and fixed O&M: the pipeline O&M share on the pipe, the
    # compressor share on the stations' fixed cost
    assert table.compressor_capex_usd > 0
    annual = table.capex_usd * e.capital_recovery_factor(0.08, 30) + table.fixed_opex_usd_per_year
    assert arc["capital_musd_y"] == pytest.approx(annual / 1e6, rel=1e-9)
    # the backtest: the same design, its pipe and stations before any factor
    p = project(km, 3.0, "KAZ", terrain="mountain")
    design = pd.DataFrame([{
        "pipe_usd": float(e.pipeline_capex_usd(d, km, wall_thickness_mm=wall,
                                               currency_year=YEAR)["total"]),
        "compression_usd": 3 * e.parameter("compressor_station_fixed_usd",
                                           currency_year=YEAR),
        "metering_usd": 0.0}], index=["x"])
    predicted = float(bc._predict(design, p, cal)["x"])
    assert arc["capex_musd"] == pytest.approx(predicted, rel=1e-9)


def _uzbekistan_russia(border_lon: float) -> gpd.GeoDataFrame:
    """Uzbekistan west of ``border_lon`` (60-64 E, 40-41 N), Russia east of it."""
    return gpd.GeoDataFrame(
        {"iso_a3": ["UZB", "RUS"], "name": ["Uzbekistan", "Russia"]},
        geometry=[Polygon([(60, 40), (border_lon, 40), (border_lon, 41), (60, 41)]),
                  Polygon([(border_lon, 40), (64, 40), (64, 41), (border_lon, 41)])],
        crs="EPSG:4326")


def test_reuse_route_takes_the_regional_factor_of_its_new_links_only():
    # a new link of 70 km in Uzbekistan (Central Asia) feeding a reused line through
    # Russia (no cost region: 1.0): the new CAPEX is spent in Uzbekistan, so it is the
    # backtest's prediction for an Uzbek line of the link's length, and the per-country
    # accounts put it all there and still add up to the route's totals
    countries = _uzbekistan_russia(61)
    legs = [{"kind": "new", "system": "", "length_km": 70.0,
             "geometry": LineString([(60.1, 40.5), (60.95, 40.5)])},
            {"kind": "reuse", "system": "Old line", "length_km": 250.0,
             "geometry": LineString([(60.95, 40.5), (63.9, 40.5)])}]
    pieces = accounting.route_pieces(legs, countries, max_segment_km=2)
    by_country = new_build_km_by_country(pieces)
    assert list(by_country) == ["UZB"]
    new_km = by_country["UZB"]
    reused_km = float(pieces.loc[pieces["kind"].eq("reuse"), "km"].sum())
    assert reused_km > 2 * new_km
    bt, predicted = backtest(new_km, 1.0, "UZB")
    s, cost = study_cost(1.0, new_km, by_country)
    assert s.outer_diameter_mm == bt["diameter_mm_predicted"]
    assert cost.capex_usd / 1e6 == pytest.approx(predicted, rel=1e-12)
    # the whole route's km would have diluted it toward Russia's 1.0
    whole = e.regional_factor_for(pieces.groupby("iso_a3")["km"].sum().to_dict())
    assert whole > e.regional_factor_for(by_country)
    crossings = accounting.border_crossings(pieces)
    assert not crossings["new_build"].any()  # the border is crossed by the reused line
    t = accounting.country_accounts(
        pieces, cost, throughput_bcm_y=1.0, utilisation=0.8, discount_rate=0.08,
        lifetime_years=30,
        stations=accounting.Stations(np.array([0.0]), np.array([5000.0]), np.array([0.01])),
        fuel_bcm_y=0.01, profile_km=float(pieces["end_km"].iloc[-1]), crossings=crossings,
        river_isos=[], reuse_tariff_usd_per_1000m3=2.0, buyer_iso="RUS",
        delivered_cost_usd_per_1000m3=180, alternative_price_usd_per_1000m3=200,
        names={"UZB": "Uzbekistan", "RUS": "Russia"}).set_index("iso_a3")
    assert t["capex_musd"].sum() * 1e6 == pytest.approx(cost.capex_usd, rel=1e-9)
    assert t.loc["UZB", "capex_musd"] * 1e6 == pytest.approx(cost.capex_usd, rel=1e-9)
    assert t.loc["RUS", "capex_musd"] == 0
    assert t["opex_musd_y"].sum() * 1e6 == pytest.approx(cost.opex_usd_per_year, rel=1e-9)


def test_new_pipe_outside_every_country_takes_factor_one_not_the_reused_countries():
    # new pieces all offshore ("---"): the new CAPEX is spent in no cost region (factor 1),
    # not along the reused line; only a route without new pipe falls back to all its km
    pieces = pd.DataFrame({"iso_a3": ["---", "KAZ"], "kind": ["new", "reuse"],
                           "km": [80.0, 400.0]})
    assert new_build_km_by_country(pieces) == {}
    assert e.regional_factor_for(new_build_km_by_country(pieces)) == 1.0
    assert new_build_km_by_country(pieces.assign(kind="reuse")) == {"KAZ": 400.0}


@pytest.mark.parametrize("terrain", ["hilly", "mountain"])
def test_study_prices_a_hilly_or_mountain_line_as_the_backtest(terrain):
    # a 900 km line in Kazakhstan all of one terrain class: the route tables' CAPEX (its
    # new pipe's km per class → the fitted class factor) is the backtest's prediction for
    # the same line labelled with that class
    _, predicted = backtest(900, 4.0, "KAZ", terrain)
    factor = terrain_factor_from_km({terrain: 900.0})
    assert factor == bc.CostCalibration.from_parameters().terrain_factors[terrain]
    _, cost = study_cost(4.0, 900, {"KAZ": 900.0}, terrain_factor=factor)
    assert cost.capex_usd / 1e6 == pytest.approx(predicted, rel=1e-12)
    # a line half flat, half of the class: the pipe takes the km-weighted mean factor
    half = terrain_factor_from_km({"flat": 450.0, terrain: 450.0})
    s, mixed = study_cost(4.0, 900, {"KAZ": 900.0}, terrain_factor=half)
    flat = float(e.pipeline_capex_usd(s.outer_diameter_mm, 900.0, strings=s.strings,
                                      wall_thickness_mm=s.wall_thickness_mm,
                                      currency_year=YEAR)["total"])
    assert mixed.pipeline_capex_usd == pytest.approx(
        flat * (1.0 + factor) / 2 * TREND * e.regional_factor_for("KAZ"), rel=1e-12)


def test_missing_terrain_classes_raise_naming_the_route():
    # not a silent factor 1 (as max(1, nan) gave before)
    for bad in (None, {"flat": float("nan")}, {"steep": 3.0}, {"hilly": -1.0}):
        with pytest.raises(TerrainClassError, match="route Beyneu-Tashkent"):
            terrain_factor_from_km(bad, name="route Beyneu-Tashkent")
    # a route without new pipe: the flat factor
    assert terrain_factor_from_km({}) == e.parameter("terrain_factor_flat")


def test_shipped_reuse_routes_take_the_regional_factor_of_their_new_km(default_run):
    # every route's regional factor (the one its CAPEX is priced at) is that of its
    # per-country new-build km in per_country (all its km when it builds nothing new;
    # factor 1 when its new pipe lies outside every country)
    pc = default_run.per_country
    reuse = default_run.ranking[default_run.ranking["kind"].eq("reuse")]
    assert len(reuse) > 0
    for _, r in default_run.ranking.iterrows():
        g = pc[pc["route_id"].eq(r["route_id"])]
        known = g[g["iso_a3"].ne(e.UNASSIGNED)]
        if (g["new_build_km"] > 0).any():
            km = known.loc[known["new_build_km"] > 0].set_index("iso_a3")["new_build_km"]
        else:
            km = known.loc[known["km"] > 0].set_index("iso_a3")["km"]
        expected = e.regional_factor_for({str(k): float(v) for k, v in km.items()})
        assert r["regional_factor"] == pytest.approx(expected, rel=1e-9), r["name"]
    # the weighting matters on the shipped study: some reuse route's factor differs from
    # the one its whole length would give
    differs = 0
    for _, r in reuse.iterrows():
        g = pc[pc["route_id"].eq(r["route_id"]) & pc["iso_a3"].ne(e.UNASSIGNED)]
        whole = e.regional_factor_for(dict(zip(g["iso_a3"], g["km"], strict=True)))
        differs += abs(whole - r["regional_factor"]) > 1e-6
    assert differs > 0
    assert "regional_factor" in pd.read_csv(default_run.files["ranking_csv"]).columns


def test_shipped_routes_price_new_pipe_at_their_terrain_classes(shipped_runs):
    # every route's new pipe takes the fitted class factors weighted by its km per
    # terrain class, so lies between the smallest and largest of them (both studies)
    rank = pd.concat([run.ranking for run in shipped_runs.values()], ignore_index=True)
    assert len(shipped_runs) == 2
    lo, hi = fitted_factor_range()
    f = rank["new_build_terrain_factor"]
    assert ((f >= lo - 1e-12) & (f <= hi + 1e-12)).all()
    for _, r in rank.iterrows():
        km = {c: float(r[f"new_build_{c}_km"]) for c in TERRAIN_CLASSES}
        assert r["new_build_terrain_factor"] == pytest.approx(terrain_factor_from_km(km),
                                                              rel=1e-12), r["name"]
        # the classified km are the new pipe's (geodesic sampling; reused km not in them)
        if r["new_build_km"] > 1:
            assert sum(km.values()) == pytest.approx(r["new_build_km"], rel=0.02), r["name"]
    for run in shipped_runs.values():
        written = set(pd.read_csv(run.files["ranking_csv"]).columns)
        assert {f"new_build_{c}_km" for c in TERRAIN_CLASSES} <= written


def test_country_accounts_share_capex_at_each_countrys_own_regional_factor():
    # a new line through Uzbekistan (Central Asia) into Russia (factor 1), a station
    # in each: each country's pipe and compression CAPEX is its km (power) times its own
    # factor, and the rows still add up to the route's CAPEX
    countries = _uzbekistan_russia(62)
    legs = [{"kind": "new", "system": "", "length_km": 300.0,
             "geometry": LineString([(61.0, 40.5), (63.0, 40.5)])}]
    pieces = accounting.route_pieces(legs, countries, max_segment_km=2)
    by_country = new_build_km_by_country(pieces)
    assert set(by_country) == {"UZB", "RUS"}
    _, cost = study_cost(2.0, sum(by_country.values()), by_country)
    total_km = float(pieces["end_km"].iloc[-1])
    t = accounting.country_accounts(
        pieces, cost, throughput_bcm_y=2.0, utilisation=0.8, discount_rate=0.08,
        lifetime_years=30,
        stations=accounting.Stations(np.array([0.1, 0.9]) * total_km,
                                     np.array([5000.0, 5000.0]), np.array([0.01, 0.01])),
        fuel_bcm_y=0.02, profile_km=total_km, crossings=accounting.border_crossings(pieces),
        river_isos=[], reuse_tariff_usd_per_1000m3=0.0, buyer_iso="RUS",
        delivered_cost_usd_per_1000m3=180, alternative_price_usd_per_1000m3=200,
        names={"UZB": "Uzbekistan", "RUS": "Russia"}).set_index("iso_a3")
    rf = e.regional_factor_for("UZB")
    assert rf != 1 == e.regional_factor_for("RUS")
    km = t["new_build_km"]
    pipe_per_km = t["pipe_capex_musd"] / km
    assert pipe_per_km["UZB"] == pytest.approx(rf * pipe_per_km["RUS"], rel=1e-9)
    comp = t["compression_capex_musd"]
    assert comp["UZB"] == pytest.approx(rf * comp["RUS"], rel=1e-9)
    assert t["capex_musd"].sum() * 1e6 == pytest.approx(cost.capex_usd, rel=1e-12)
    assert t["opex_musd_y"].sum() * 1e6 == pytest.approx(cost.opex_usd_per_year, rel=1e-9)
