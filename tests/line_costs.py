"""One level line priced by the cost backtest and by a study: the helpers that
tests/test_study_design.py, tests/test_cost_basis.py and tests/test_economics.py share."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from planner import economics as e
from planner import hydraulics as h
from planner.appraisal import design_new_pipe, new_build_cost
from planner.backtest import costs as bc

#: The studies' currency year: the lines here are built in it.
YEAR = e.DEFAULT_CURRENCY_YEAR


def level(length_km: float) -> h.RouteProfile:
    """A level route of ``length_km``."""
    return h.RouteProfile(np.array([0.0, length_km]), np.zeros(2))


def project(length_km: float, flow: float, country: str, terrain: str = "flat"
            ) -> pd.DataFrame:
    """A reference-project table of one line ``x`` built in :data:`YEAR`, validated as the
    backtest validates its input."""
    return bc._validate(pd.DataFrame({
        "name": ["x"], "length_km": [str(length_km)], "capacity_bcm_y": [str(flow)],
        "capex_musd": ["1"], "capex_year": [str(YEAR)], "country": [country],
        "terrain": [terrain]}), "constructed")


def backtest_design(p: pd.Series) -> dict[str, Any]:
    """The backtest's design of project ``p`` at the shipped calibration's design point."""
    cal = bc.CostCalibration.from_parameters()
    return bc.design_project(p, station_fixed_usd=cal.station_fixed_usd,
                             design_margin=cal.design_margin,
                             max_pressure_class_mpa=cal.max_pressure_class_mpa)


def backtest(length_km: float, flow: float, country: str, terrain: str = "flat"
             ) -> tuple[dict[str, Any], float]:
    """The backtest's design and predicted CAPEX (M USD) of a line of one terrain class
    (default level) built in YEAR."""
    p = project(length_km, flow, country, terrain)
    bt = backtest_design(p.iloc[0])
    cal = bc.CostCalibration.from_parameters()
    return bt, float(bc._predict(pd.DataFrame([bt], index=["x"]), p, cal)["x"])


def study_cost(flow: float, length_km: float, km_by_country: dict[str, float],
               **kw: Any) -> tuple[h.SizingResult, e.RouteCost]:
    """A study's design of the level line and its cost (:func:`new_build_cost`; ``kw``
    passed on), with the design's stations on every string."""
    s = design_new_pipe(flow, level(length_km))
    plan = s.stations
    return s, new_build_cost(s, length_km, flow, km_by_country,
                             compressor_power_kw=plan.total_power_kw * s.strings,
                             fuel_bcm_y=plan.total_fuel_bcm_y * s.strings,
                             compressor_stations=plan.count * s.strings, **kw)
