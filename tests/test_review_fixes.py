"""Fixes from the review of the South Caucasus study merge (constructed inputs, except the
identity on the default study's real outputs)."""

from __future__ import annotations

import pytest


def test_a_supply_point_and_a_destination_of_one_name_are_refused():
    # the plan keys terminals by name: the destination "Ganca" replaced the supply "Ganca"
    from planner.study import StudyError, parse_study

    text = ('[study]\nname = "s"\n[[supply]]\nname = "Ganca"\nlon = 49.47\nlat = 40.18\n'
            '[[destinations]]\nname = "Tbilisi"\nthroughput_bcm_y = 1.0\n'
            '[[destinations]]\nname = "ganca"\nthroughput_bcm_y = 1.0\n')
    with pytest.raises(StudyError) as err:
        parse_study(text)
    msg = str(err.value)
    assert "destinations[1].name (line 11): 'ganca' is already supply[0] (line 4)" in msg
    assert msg.count("is already") == 1


def test_plan_network_refuses_a_name_that_is_supply_and_destination():
    from planner.plan.candidates import plan_network

    with pytest.raises(ValueError, match="'Ganca' named both a supply point and a destination"):
        plan_network(None, None, {"Ganca": (49.47, 40.18)},  # type: ignore[arg-type]
                     {"Ganca": (46.35, 40.68, 1.0)}, None,  # type: ignore[arg-type]
                     terrain_classes=None)  # type: ignore[arg-type]
