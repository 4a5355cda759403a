"""The study path designs new pipe with the engine the cost backtest validates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from line_costs import backtest, backtest_design, level, project, study_cost

from planner import economics as e
from planner import hydraulics as h
from planner.appraisal import _study_param, design_new_pipe
from planner.backtest import costs as bc


def _table(**values: float) -> pd.DataFrame:
    t = e.load_cost_parameters().copy()
    for name, v in values.items():
        t.loc[name, "value"] = v
    return t


@pytest.mark.parametrize(("flow", "length"), [(1.0, 1800), (4.0, 2100), (10.0, 2900)])
def test_study_design_is_the_backtest_design(flow, length):
    # what `planner backtest costs` validates on built lines (design_project with the
    # shipped calibration) is what a study computes for the same throughput and length
    line = pd.Series({"name": "x", "length_km": length, "capacity_bcm_y": flow,
                      "capex_musd": 1.0, "capex_year": e.DEFAULT_CURRENCY_YEAR,
                      "country": "", "strings": 1})
    bt = backtest_design(line)
    s = design_new_pipe(flow, level(length))
    assert (s.outer_diameter_mm, s.pressure_class_mpa, s.stations.count) == (
        bt["diameter_mm_predicted"], bt["pressure_class_mpa"], bt["stations_predicted"])


@pytest.mark.parametrize(("flow", "length", "country"),
                         [(4.0, 2100, "KAZ"), (10.0, 2900, "XXX")])
def test_study_capex_of_new_pipe_is_the_backtest_prediction(flow, length, country):
    # a level line of one country costed in the studies' currency year: the study's pipe
    # CAPEX (fitted pipe-cost trend at that year, regional factor) and its whole CAPEX
    # are what `planner backtest costs` predicts for the same line built that year
    cal = bc.CostCalibration.from_parameters()
    bt, predicted = backtest(length, flow, country)
    rf = e.regional_factor_for(country)
    trend = bc._trend_factor(project(length, flow, country).iloc[0], cal.pipe_trend,
                             cal.pipe_trend_lines)
    assert trend == e.pipe_cost_trend_factor(e.DEFAULT_CURRENCY_YEAR) > 1
    _, cost = study_cost(flow, float(length), {country: float(length)})
    assert cost.pipeline_capex_usd == pytest.approx(bt["pipe_usd"] * trend * rf, rel=1e-12)
    assert cost.capex_usd / 1e6 == pytest.approx(predicted, rel=1e-12)


def test_station_count_of_a_long_route_follows_the_trade_off():
    # 2 bcm/y over 1700 km: the old least-steel sizing with a 100 km spacing floor laid a
    # station every ~185 km; by cost (a station's fixed cost against pipe) far fewer
    route = level(1700)
    shipped = design_new_pipe(2.0, route)
    old = h.size_pipe(2.0, 1700)
    assert shipped.stations.count < old.stations.count
    free = design_new_pipe(2.0, route, params=_table(compressor_station_fixed_usd=0.0))
    dear = design_new_pipe(2.0, route, params=_table(compressor_station_fixed_usd=300e6))
    assert free.stations.count > shipped.stations.count > dear.stations.count


def test_pressure_class_is_a_trade_off():
    route = level(1700)
    shipped = design_new_pipe(2.0, route)
    # the highest class the calibration allows (design_max_pressure_class_mpa)
    cap = bc.CostCalibration.from_parameters().max_pressure_class_mpa
    assert shipped.pressure_class_mpa == max(c for c in h.PRESSURE_CLASSES_MPA if c <= cap)
    # dearer steel (the wall, so the tonnage, grows with the class): a lower class wins
    steel = design_new_pipe(2.0, route, params=_table(netl_materials_mult=10.0))
    assert steel.pressure_class_mpa < shipped.pressure_class_mpa
    # a short link needs no high pressure: the lightest class is cheapest
    assert design_new_pipe(2.0, level(50)).pressure_class_mpa < shipped.pressure_class_mpa


def test_calibrated_design_parameters_are_read_from_the_cost_table():
    route = level(1500)
    capped = design_new_pipe(10.0, route, params=_table(design_max_pressure_class_mpa=7.4))
    assert capped.pressure_class_mpa <= 7.4
    grown = design_new_pipe(10.0, route, params=_table(design_margin=1.0))
    assert grown.outer_diameter_mm > design_new_pipe(10.0, route).outer_diameter_mm
    # cheapest_design reads the same defaults when none are given
    sizing, _ = e.cheapest_design(10.0, 1500,
                                  cost_options={"params": _table(design_margin=1.0)})
    assert sizing.outer_diameter_mm == grown.outer_diameter_mm
    with pytest.raises(ValueError, match="design_max_pressure_class_mpa"):
        e.design_defaults(_table(design_max_pressure_class_mpa=1.0))


def test_greenfield_candidates_of_the_default_study_use_the_design(default_run):
    from planner.study import default_study_path, load_study

    study = load_study(default_study_path())
    scenarios = {s.name: s for s in study.scenarios}
    c = default_run.candidates
    greenfield = c[c["reused_km"].fillna(0.0) <= 0]
    assert len(greenfield) >= 5
    for _, r in greenfield.iterrows():
        sc = scenarios[r["scenario"]]
        profile = h.RouteProfile(np.asarray(r["distance_km"], dtype=float),
                                 np.nan_to_num(np.asarray(r["elevation_m"], dtype=float)))
        s = design_new_pipe(
            float(r["throughput_bcm_y"]), profile,
            discount_rate=_study_param(study, sc, "discount_rate"),
            lifetime_years=_study_param(study, sc, "lifetime_years"),
            utilisation=_study_param(study, sc, "utilisation"))
        where = r["name"]
        assert r["diameter_mm"] == s.outer_diameter_mm, where
        assert r["pressure_class_mpa"] == s.pressure_class_mpa, where
        assert r["stations"] == s.stations.count * s.strings, where
        # the route's compression CAPEX: power at USD/hp plus each station's fixed cost,
        # times the regional factor of its countries (as the backtest costs it)
        rows = default_run.per_country[default_run.per_country["route_id"] == r["route_id"]]
        km = {str(i): float(k) for i, k in zip(rows["iso_a3"], rows["km"], strict=True)
              if i != e.UNASSIGNED and k > 0}
        year = e.DEFAULT_CURRENCY_YEAR
        expected = (e.compressor_capex_usd(r["compressor_power_mw"] * 1e3, currency_year=year,
                                           regional_factor=1.0)
                    + r["stations"] * e.parameter("compressor_station_fixed_usd",
                                                  currency_year=year)
                    ) * e.regional_factor_for(km)
        assert rows["compression_capex_musd"].sum() * 1e6 == pytest.approx(expected,
                                                                         rel=1e-6), where
