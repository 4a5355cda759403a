"""Appraisal of reused existing lines: capacity and compression leg by leg."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString

from planner import hydraulics as h
from planner.appraisal import COMPRESSION_RATIO, leg_profiles, reused_legs, reused_lines_table


def _leg(kind, start, end, *, system="", reverse=False, diameter=np.nan, pressure=np.nan,
         strings=np.nan):
    return {"kind": kind, "system": system, "reverse": reverse, "length_km": end - start,
            "start_km": start, "end_km": end, "diameter_mm": diameter,
            "max_pressure_mpa": pressure, "strings": strings,
            "geometry": LineString([(60 + start / 100, 45), (60 + end / 100, 45)])}


def _flat(length_km):
    return h.RouteProfile(np.linspace(0, length_km, 101), np.zeros(101))


def test_leg_profiles_cover_the_route_in_order():
    profile = h.RouteProfile(np.array([0.0, 100, 200, 300]), np.array([0.0, 100, 200, 300]))
    legs = [_leg("new", 0, 50), _leg("reuse", 50, 250), _leg("new", 250, 300)]
    parts = leg_profiles(legs, profile)
    assert [p.length_km for p in parts] == pytest.approx([50, 200, 50])
    # elevations are the route's at the leg ends (here elevation = km)
    assert parts[1].elevation_m[0] == pytest.approx(50)
    assert parts[1].elevation_m[-1] == pytest.approx(250)


def test_leg_of_no_length_has_no_profile():
    # a new link that starts on the network (seen on real reuse routes) has zero length
    profile = _flat(300)
    legs = [_leg("reuse", 0, 300, system="X"), _leg("new", 300, 300)]
    assert leg_profiles(legs, profile)[1] is None


def test_forward_leg_capacity_is_the_pipe_capacity_times_strings():
    # 400 km level leg, two 1020 mm strings at 5.4 MPa, no station on it: the capacity is
    # two strings' capacity between the maximum pressure and maximum / compression ratio.
    legs = [_leg("new", 0, 20), _leg("reuse", 20, 420, system="X", diameter=1020,
                                     pressure=5.4, strings=2)]
    t = reused_legs(legs, _flat(420), 10.0)
    assert len(t) == 1 and bool(t["assessed"].iloc[0])
    p_max = 5.4 * 10  # bar, as the module takes MPa x 10 as absolute
    one = h.pipe_capacity_bcm_y(h.Pipe.for_pressure(1020, 5.4), p_max,
                                p_max / COMPRESSION_RATIO, length_km=400)
    # 1e-3: the leg is marched in 4 km steps (Z per step), the reference in one step
    assert t["capacity_bcm_y"].iloc[0] == pytest.approx(2 * one, rel=1e-3)
    assert t["strings"].iloc[0] == 2


def test_reverse_flow_counts_new_compression():
    # The same leg used against its design flow: its stations face the other way, so every
    # station the throughput needs is counted as new, including one at its start: nothing
    # is known of the pressure the route's supply delivers, so it enters at minimum suction.
    legs = [_leg("reuse", 0, 400, system="X", reverse=True, diameter=1020, pressure=5.4,
                 strings=2)]
    t = reused_legs(legs, _flat(400), 20.0).iloc[0]
    p_max = 5.4 * 10  # bar, as the module takes MPa x 10 as absolute
    plan = h.place_compressor_stations(_flat(400), 10.0, h.Pipe.for_pressure(1020, 5.4),
                                       p_max, p_max / COMPRESSION_RATIO,
                                       supply_pressure_bar=p_max / COMPRESSION_RATIO,
                                       step_km=5.0)
    assert plan.count >= 2 and plan.stations["distance_km"].iloc[0] == 0
    assert t["new_stations"] == plan.count
    assert t["new_power_kw"] == pytest.approx(2 * plan.total_power_kw, rel=1e-6)
    assert "upper bound" in t["note"]


def test_pressure_is_carried_from_leg_to_leg():
    # A new link delivering at 98 bar feeds a 5.4 MPa line: no station at its start. The
    # next line receives what the first delivers, so it needs a station at its start.
    legs = [_leg("new", 0, 20),
            _leg("reuse", 20, 220, system="A", reverse=True, diameter=1020, pressure=5.4,
                 strings=1),
            _leg("reuse", 220, 420, system="B", reverse=True, diameter=1020, pressure=5.4,
                 strings=1)]
    t = reused_legs(legs, _flat(420), 8.0, new_build_pressure_bar=98.0).set_index("system")
    p_max = 5.4 * 10  # bar, as the module takes MPa x 10 as absolute
    pipe = h.Pipe.for_pressure(1020, 5.4)
    first = h.place_compressor_stations(_flat(200), 8.0, pipe, p_max, p_max / COMPRESSION_RATIO,
                                        step_km=5.0)
    second = h.place_compressor_stations(_flat(200), 8.0, pipe, p_max,
                                         p_max / COMPRESSION_RATIO, step_km=5.0,
                                         supply_pressure_bar=first.delivery_pressure_bar)
    assert first.delivery_pressure_bar < p_max
    assert t.loc["A", "new_stations"] == first.count
    assert t.loc["B", "new_stations"] == second.count == first.count + 1
    assert t.loc["B", "new_power_kw"] == pytest.approx(second.total_power_kw, rel=1e-6)


def test_line_without_published_figures_is_listed_not_assessed():
    legs = [_leg("reuse", 0, 300, system="Unknown line", strings=1)]
    t = reused_legs(legs, _flat(300), 5.0).iloc[0]
    assert not t["assessed"] and t["new_power_kw"] == 0
    assert "not assessed" in t["note"]


def test_impossible_throughput_names_the_line():
    legs = [_leg("reuse", 0, 300, system="Small line", diameter=273, pressure=1.2, strings=1)]
    with pytest.raises(ValueError, match=r"Small line.*cannot carry 50 bcm/y"):
        reused_legs(legs, _flat(300), 50.0)


def test_reused_lines_table_one_row_per_leg():
    legs = [_leg("reuse", 0, 400, system="X", reverse=True, diameter=1020, pressure=5.4,
                 strings=2), _leg("reuse", 400, 500, system="Y", strings=1)]
    t = reused_legs(legs, _flat(500), 10.0)
    cands = pd.DataFrame({"route_id": ["r-0", "r-1"], "name": ["A — reuse", "A — greenfield"],
                          "throughput_bcm_y": [10.0, 10.0],
                          "reuse_legs": [t.to_dict("records"), None]})
    table = reused_lines_table(cands)
    assert table["system"].tolist() == ["X", "Y"]
    assert set(table["route_id"]) == {"r-0"}


# ---------------------------------------------------------------------------------------
# Real data: reverse flow on Central Asia–Center from the Russian border to Nukus


@pytest.fixture(scope="module")
def cac_route(layers, surface):
    from planner.network import pipeline_graph, reuse_route

    sp = layers.supply_points
    border = sp[(sp.kind == "border_crossing") & (sp.pipeline == "Central Asia–Center")
                & (sp.from_country == "Russia") & (sp.to_country == "Kazakhstan")].geometry
    d = layers.demand_centres
    nukus = d[(d.name == "Nukus") & (d.country == "Uzbekistan")].geometry.iloc[0]
    graph = pipeline_graph(layers.pipelines, statuses=["operating"])
    r = reuse_route(surface, graph, (border.iloc[0].x, border.iloc[0].y), (nukus.x, nukus.y),
                    require_reuse=True)
    row = r.route.iloc[0]
    profile = h.RouteProfile(np.asarray(row["distance_km"]),
                             np.nan_to_num(np.asarray(row["elevation_m"], dtype=float)))
    return r.legs.to_dict("records"), profile, r.route


def test_real_reverse_flow_on_central_asia_center(layers, cac_route):
    legs, profile, _ = cac_route
    t = reused_legs(legs, profile, 5.0, layers.compressor_stations,
                    new_build_pressure_bar=98.0)
    cac = t[t["system"] == "Central Asia–Center"].iloc[0]
    # the leg carries the curated figures: 3 strings of (at least) 1220 mm (GEM wiki), and
    # the estimated 5.39 MPa, which the note flags
    assert cac["reverse"] and cac["assessed"]
    assert (cac["strings"], cac["diameter_mm"]) == (3, 1220)
    assert "estimate" in cac["note"]
    # 5 bcm/y over three 1220 mm strings loses little pressure: no station on the way, and
    # the leg's capacity without compression is several times the throughput
    assert cac["capacity_bcm_y"] > 3 * 5.0
    assert cac["new_stations"] == 0
    # at 30 bcm/y the same leg needs compression along the way
    more = reused_legs(legs, profile, 30.0, layers.compressor_stations,
                       new_build_pressure_bar=98.0)
    assert more.set_index("system").loc["Central Asia–Center", "new_stations"] >= 1


def _cac_candidate(route, legs):
    """The reuse route on Central Asia–Center as a candidate row of 5 bcm/y."""
    row = route.iloc[0].copy()
    row["legs"] = legs
    row["throughput_bcm_y"] = 5.0
    row["new_build_km"] = row["new_km"]
    return row


def test_real_reuse_route_appraised_with_pressure_along_it(layers, cac_route):
    from planner.appraisal import appraise_route
    from planner.study import default_study_path, load_study

    legs, profile, route = cac_route
    study = load_study(default_study_path())
    row = _cac_candidate(route, legs)
    out = appraise_route(row, layers, study, study.scenarios[0])
    p = np.asarray(out["pressure_bar"], dtype=float)
    assert p.size == profile.distance_km.size
    # pressures are known on the new links and the assessed lines, never above the highest
    # maximum of the lines used, and NaN only on lines without figures
    table = pd.DataFrame(out["reuse_legs"])
    assert np.isfinite(p).any()
    assert np.nanmax(p) <= 11.8 * 10 + 1e-6
    if table["assessed"].all():
        assert np.isfinite(p).all()
    assert out["station_km"] == sorted(out["station_km"])
    assert all(0 <= x <= profile.length_km for x in out["station_km"])
    assert out["stations"] == len(out["station_km"])


def test_link_fed_by_a_reused_line_starts_from_the_pressure_it_receives():
    # A 14 km link after an assessed 7.4 MPa line receives what that line delivers: its
    # hydraulics need no station (before: a head station, with its fixed cost, as if the
    # link started at the supply). The same link from the supply keeps its head station.
    from planner.appraisal import design_new_pipe, new_build_plan, received_bar

    legs = [_leg("reuse", 0, 300, system="A", diameter=1020, pressure=7.4, strings=1),
            _leg("new", 300, 314)]
    profile = _flat(314)
    sizing = design_new_pipe(2.0, leg_profiles(legs, profile)[1])
    assert sizing.stations.count == 1  # the design's head station
    p_max = sizing.pressure_class_mpa * 10
    existing = reused_legs(legs, profile, 2.0, new_build_pressure_bar=p_max)
    inlet = received_bar(legs, profile, existing, p_max)[1]
    delivered = float(np.asarray(existing["_pressure"].iloc[0])[-1, 1])
    assert inlet == pytest.approx(min(delivered, p_max))
    plan = new_build_plan(legs, profile, sizing, 2.0, existing)
    assert plan.count == 0
    assert plan.profile["pressure_bar"].iloc[0] == pytest.approx(inlet)
    assert plan.delivery_pressure_bar >= p_max / sizing.compression_ratio
    # from the supply point (first leg): the design's plan, head station included
    first = [_leg("new", 0, 14), _leg("reuse", 14, 314, system="A", diameter=1020,
                                      pressure=7.4, strings=1)]
    assert new_build_plan(first, profile, sizing, 2.0, existing) is sizing.stations


def test_fed_link_below_minimum_suction_gets_a_head_station():
    pipe = h.Pipe.for_pressure(508, 11.8)
    plan = h.place_compressor_stations(_flat(14), 2.0, pipe, 118.0, 118.0 / 1.5,
                                       inlet_pressure_bar=50.0)
    assert plan.count == 1 and plan.stations["suction_bar"].iloc[0] == pytest.approx(50.0)


def test_new_legs_after_reused_lines_are_placed_one_by_one():
    # supply link, reused line not assessed, destination link: the destination link starts
    # afresh (at the new pipe's maximum, the line's pressure being unknown), not where the
    # supply link's pressure left off
    legs = [_leg("new", 0, 150), _leg("reuse", 150, 450, system="Unknown"),
            _leg("new", 450, 600)]
    profile = _flat(600)
    build = [p for leg, p in zip(legs, leg_profiles(legs, profile), strict=True)
             if leg["kind"] == "new"]
    from planner.appraisal import _join, design_new_pipe, new_build_plan

    sizing = design_new_pipe(10.0, _join(build))
    existing = reused_legs(legs, profile, 10.0)
    plan = new_build_plan(legs, profile, sizing, 10.0, existing)
    p_max = sizing.pressure_class_mpa * 10
    assert plan.stations["distance_km"].iloc[0] == 0  # the supply's head station
    assert plan.profile["pressure_bar"].max() <= p_max + 1e-9
    after = plan.profile[plan.profile["distance_km"] > 150.0 + 1e-9]
    assert after["pressure_bar"].iloc[0] == pytest.approx(p_max, rel=0.01)
    assert plan.profile["distance_km"].iloc[-1] == pytest.approx(300.0)

def test_geometry_passed_in_and_cost_table_reach_every_figure(layers, cac_route):
    """A sweep passes the geometry-only part in (same figures as computing it) and a cost
    table of its own, which reaches the route cost, the regional factor and the per-country
    accounts (their identities still hold)."""
    from planner.appraisal import appraise_route, route_geometry
    from planner.economics import load_cost_parameters
    from planner.study import default_study_path, load_study

    legs, _, route = cac_route
    study = load_study(default_study_path())
    row = _cac_candidate(route, legs)
    scen = study.scenarios[0]
    own = appraise_route(row, layers, study, scen)
    given = appraise_route(row, layers, study, scen, geometry=route_geometry(row, layers))
    for k in ("capex_musd", "tariff_usd_per_1000m3", "border_crossings", "water_crossings",
              "demand_within_reach_bcm_y", "new_demand_bcm_y", "countries"):
        assert given[k] == own[k], k
    pd.testing.assert_frame_equal(given["country_split"], own["country_split"])

    table = load_cost_parameters().copy()
    table.loc["regional_factor_central_asia", "value"] *= 1.5
    table.loc["pipeline_fixed_om_share", "value"] *= 2.0
    dear = appraise_route(row, layers, study, scen, params=table)
    assert dear["capex_musd"] > own["capex_musd"]
    acc = dear["country_split"]
    assert acc["capex_musd"].sum() == pytest.approx(dear["capex_musd"], rel=5e-3)
    assert acc["opex_musd_y"].sum() == pytest.approx(dear["opex_musd_y"], rel=5e-3)


def test_capex_multiplier_scales_every_capex_of_a_route(layers, cac_route):
    """``capex_multiplier`` (the sweep's handle on the measured CAPEX error) multiplies a
    route's whole CAPEX and its per-country rows alike, whatever the countries' own
    regional factors (Russia and China have none)."""
    from planner.appraisal import appraise_route
    from planner.economics import load_cost_parameters
    from planner.study import default_study_path, load_study

    legs, _, route = cac_route
    study = load_study(default_study_path())
    row = _cac_candidate(route, legs)
    scen = study.scenarios[0]
    own = appraise_route(row, layers, study, scen)
    table = load_cost_parameters().copy()
    table.loc["capex_multiplier", "value"] = 1.5
    dear = appraise_route(row, layers, study, scen, params=table)
    assert dear["capex_musd"] == pytest.approx(1.5 * own["capex_musd"], rel=1e-9)
    assert dear["regional_factor"] == pytest.approx(1.5 * own["regional_factor"], rel=1e-12)
    acc = dear["country_split"].set_index("iso_a3")["capex_musd"]
    base = own["country_split"].set_index("iso_a3")["capex_musd"]
    pd.testing.assert_series_equal(acc, 1.5 * base, rtol=1e-9)


def test_fuel_is_counted_once_and_priced_at_the_study_supply_price(layers, cac_route):
    """The tariff recovers the compressors' fuel (it is in the OPEX the tariff levelizes),
    so the delivered cost is the gas at the source plus the tariff, not the gas grossed up
    for the fuel as well (that counted the fuel twice); and a scenario's price of gas at
    the supply point prices the fuel too, as the system plan does."""
    import dataclasses

    from planner import economics
    from planner.appraisal import appraise_route
    from planner.study import default_study_path, load_study

    legs, _, route = cac_route
    study = load_study(default_study_path())
    row = _cac_candidate(route, legs)
    scen = study.scenarios[0]
    own = appraise_route(row, layers, study, scen)
    source = economics.parameter("fuel_gas_price_usd_per_1000m3",
                                 currency_year=economics.DEFAULT_CURRENCY_YEAR)
    assert own["fuel_bcm_y"] > 0
    assert own["delivered_cost_usd_per_1000m3"] == pytest.approx(
        source + own["tariff_usd_per_1000m3"], rel=1e-12)

    dear = appraise_route(row, layers, study, dataclasses.replace(
        scen, costs={**scen.costs, "supply_price_usd_per_1000m3": 2 * source}))
    assert dear["delivered_cost_usd_per_1000m3"] == pytest.approx(
        2 * source + dear["tariff_usd_per_1000m3"], rel=1e-12)
    # the same design and CAPEX; only the fuel's price moves the OPEX and the tariff
    assert dear["capex_musd"] == pytest.approx(own["capex_musd"], rel=1e-12)
    util = {**study.costs, **scen.costs}.get("utilisation", economics.parameter("utilisation"))
    fuel_musd_y = own["fuel_bcm_y"] * util * source  # bcm × USD per 1000 m³ = M USD
    assert dear["opex_musd_y"] - own["opex_musd_y"] == pytest.approx(fuel_musd_y, rel=1e-6)
