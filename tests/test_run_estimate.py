"""A very fine resolution is warned about up front, with the setting to change."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from planner.run_estimate import (
    TARGET_S,
    WARN_ABOVE_S,
    estimated_run_seconds,
    resolution_for,
    route_searches,
    surface_cells,
    warn_if_slow,
)
from planner.study import load_study

EXAMPLE = Path(__file__).parents[1] / "planner" / "studies" / "examples" / "south_caucasus.toml"


def test_fine_resolution_warns_with_time_and_setting(caplog):
    study = replace(load_study(EXAMPLE), resolution_km=0.05)
    assert route_searches(study) == 20 and surface_cells(study) > 10**8
    with caplog.at_level(logging.WARNING, logger="planner.run_estimate"):
        seconds = warn_if_slow(study)
    assert seconds > WARN_ABOVE_S
    (msg,) = [r.getMessage() for r in caplog.records]
    km = resolution_for(study, TARGET_S)
    assert "resolution_km = 0.05" in msg and f"[region] resolution_km = {km:g}" in msg
    assert " min" in msg or " h" in msg
    # the suggested resolution brings the estimate near the target
    assert estimated_run_seconds(replace(study, resolution_km=km)) <= TARGET_S * 1.1


def test_shipped_resolution_is_quiet(caplog):
    study = load_study(EXAMPLE)  # 2 km
    with caplog.at_level(logging.WARNING, logger="planner.run_estimate"):
        assert warn_if_slow(study) < WARN_ABOVE_S
    assert not caplog.records
