"""Where a study's time went (``planner study -v``): per-stage timings of the shipped
default study's run."""

from __future__ import annotations

import logging

from planner.timing import StageTimer


def test_study_stages_add_up_to_at_most_the_total(default_run) -> None:
    t = default_run.extra["timings"]
    for stage in ("study and layers", "pipeline graphs", "cost surfaces", "candidate routes",
                  "appraisal", "ranking", "map"):
        assert stage in t and t[stage] >= 0.0
    assert sum(t.values()) <= default_run.seconds + 1e-6


def test_stage_timer_logs_each_stage_and_a_summary(caplog) -> None:
    timer = StageTimer(logging.getLogger("planner.test"))
    with caplog.at_level(logging.INFO, logger="planner.test"):
        with timer("a"):
            pass
        with timer("a"):
            pass
    assert len([r for r in caplog.records if "time: a" in r.getMessage()]) == 2
    assert timer.summary(1.0).startswith("1.0 s: ")
    assert "other" in timer.summary(1.0)
