"""Cache keys of terrain-classified results hold the terrain-class rule and class factors
(planner.terrain_classes.rule_key): a change to either never serves a stale entry."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from planner import terrain_classes
from planner.study import default_study_path, load_study

#: Each part of the rule, with a changed value.
CHANGES = [("HILL_SLOPE_PCT", 3.0), ("MOUNTAIN_SLOPE_PCT", 10.0),
           ("RANGE_RULE", "mountain: slope >= MOUNTAIN_SLOPE_PCT only"),
           ("SAMPLE_STEP_DEG", 0.005)]


@pytest.fixture(scope="module")
def study():
    return load_study(default_study_path())


def _changed_factor(monkeypatch: pytest.MonkeyPatch) -> None:
    f = terrain_classes.class_factors()
    monkeypatch.setattr(terrain_classes, "class_factors",
                        lambda params=None: {**f, "mountain": f["mountain"] + 0.1})


@pytest.mark.parametrize(("name", "value"), CHANGES)
def test_the_rule_key_changes_with_each_constant_and_the_classifier_follows(
        monkeypatch, name, value):
    before = terrain_classes.rule_key()
    monkeypatch.setattr(terrain_classes, name, value)
    assert terrain_classes.rule_key() != before
    if name == "MOUNTAIN_SLOPE_PCT":  # the rule reads the band it reports
        import numpy as np

        assert terrain_classes.classify(np.array([9.0]), np.array([False])).tolist() == [1]


def test_the_rule_key_changes_with_a_class_factor(monkeypatch):
    before = terrain_classes.rule_key()
    _changed_factor(monkeypatch)
    assert terrain_classes.rule_key() != before
    assert terrain_classes.rule_key(factors=False) == {
        k: v for k, v in before.items() if k != "factors"}


@pytest.mark.parametrize(("name", "value"), [*CHANGES, ("factor", None)])
def test_every_key_of_classified_results_changes_with_the_rule(study, monkeypatch, name,
                                                              value):
    """The study cache's parts (keys of the candidates, plan network and plan solves), a
    plan product's key and the sweep's study fingerprint (its route sets and task
    results)."""
    from planner.cache import study_parts
    from planner.plan.options import PlanOptions
    from planner.plan.run import _plan_cache_key
    from planner.sweep.study_sweep import route_set_path, study_fingerprint

    layers = SimpleNamespace(vector_layers=dict)  # no layers: only the rule moves
    surface = SimpleNamespace(key="surface")

    def keys() -> list:
        parts = study_parts(study, layers)
        return [parts, _plan_cache_key("plan-network", study, layers, surface,
                                       PlanOptions(), parts),
                study_fingerprint(study), route_set_path(study, (2.0, ()), folder=".").name]

    before = keys()
    if name == "factor":
        _changed_factor(monkeypatch)
    else:
        monkeypatch.setattr(terrain_classes, name, value)
    after = keys()
    for i, (a, b) in enumerate(zip(before, after, strict=True)):
        assert a != b, i
