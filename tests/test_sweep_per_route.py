"""Per-route draws in sweeps (``per_route = true``): seeded and reproducible, independent of
the order routes are appraised in, different between routes, in the task key; a bad option
gives one error; the summary's win shares and rank spread, on constructed cases."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from planner.study import default_study_path, load_study
from planner.sweep.engine import task_key
from planner.sweep.study_sweep import (
    RouteSet,
    SweepError,
    appraise_task,
    parse_sweep,
    route_multiplier,
    route_multipliers,
    routing_key,
    sweep_tasks,
)
from planner.sweep.summary import candidate_summary, ranking_drivers, sweep_report_markdown

HEADER = """
[sweep]
name = "per-route"
samples = 6
seed = 11
scenarios = ["lowest cost", "domestic gasification"]
"""
COMMON = """
[[dimensions]]
parameter = "costs.capex_multiplier"
multiply = true
distribution = { kind = "lognormal", mean = -0.05, sigma = 0.2 }
"""
OWN = """
[[dimensions]]
label = "own CAPEX error"
parameter = "costs.capex_multiplier"
multiply = true
per_route = true
distribution = { kind = "lognormal", mean = 0.0, sigma = 0.5 }
"""
RATE = """
[[dimensions]]
parameter = "costs.discount_rate"
values = [0.06, 0.1]
"""
PER_ROUTE = HEADER + COMMON + OWN + RATE
ROUTES = [f"Route {c}" for c in "ABCDEFGH"]


@pytest.fixture(scope="module")
def study():
    return load_study(default_study_path())


def test_per_route_draws_are_seeded_and_in_the_task(study) -> None:
    spec = parse_sweep(PER_ROUTE)
    tasks = sweep_tasks(spec, study)
    assert len(tasks) == 12 and tasks == sweep_tasks(spec, study)  # reproducible
    entries = [t["per_route:costs.capex_multiplier"] for t in tasks]
    assert all(e["distribution"] == {"kind": "lognormal", "mean": 0.0, "sigma": 0.5}
               for e in entries)
    # one seed per sample, the same in every scenario (the common draws are too)
    seeds = [e["seed"] for e in entries]
    assert seeds[:6] == seeds[6:] and len(set(seeds[:6])) == 6
    assert [t["costs.capex_multiplier"] for t in tasks[:6]] == \
        [t["costs.capex_multiplier"] for t in tasks[6:]]
    # adding the per-route dimension leaves the common draws as they were
    without = sweep_tasks(parse_sweep(HEADER + COMMON + RATE), study)
    assert [t["costs.capex_multiplier"] for t in without] == \
        [t["costs.capex_multiplier"] for t in tasks]
    # the draw's spec is in the task key: another sigma, other tasks
    other = parse_sweep(PER_ROUTE.replace("sigma = 0.5", "sigma = 0.4"))
    assert not {task_key(t) for t in tasks} & {task_key(t) for t in sweep_tasks(other, study)}
    # a per-route dimension alone: the task holds the parameter's base value (1 as shipped)
    alone = sweep_tasks(parse_sweep(HEADER + OWN + RATE), study)
    assert all(t["costs.capex_multiplier"] == 1.0 for t in alone)


def test_route_draws_differ_between_routes_and_follow_the_distribution() -> None:
    draw = {"seed": 5, "distribution": {"kind": "lognormal", "mean": 0.1, "sigma": 0.5}}
    names = [f"route {i}" for i in range(4000)]
    x = np.log([route_multiplier(draw, "costs.capex_multiplier", n) for n in names])
    assert len(set(x.round(12))) == len(names)
    assert abs(x.mean() - 0.1) < 0.03 and abs(x.std(ddof=1) - 0.5) < 0.03
    # another task seed or another parameter: other draws, uncorrelated
    y = np.log([route_multiplier({**draw, "seed": 6}, "costs.capex_multiplier", n)
                for n in names])
    z = np.log([route_multiplier(draw, "costs.opex_share", n) for n in names])
    assert abs(np.corrcoef(x, y)[0, 1]) < 0.06 and abs(np.corrcoef(x, z)[0, 1]) < 0.06
    # values: each route one of them
    vals = {"seed": 5, "values": [0.8, 1.2]}
    got = {route_multiplier(vals, "costs.capex_multiplier", n) for n in names[:50]}
    assert got == {0.8, 1.2}
    assert route_multipliers({"per_route:costs.capex_multiplier": draw, "x": 1}, "route 1") \
        == {"costs.capex_multiplier": route_multiplier(draw, "costs.capex_multiplier",
                                                       "route 1")}


def _fake_route_set(names: list[str]) -> RouteSet:
    cands = pd.DataFrame({"name": names, "destination": "D", "kind": "greenfield",
                          "throughput_bcm_y": 10.0, "geometry": None})
    return RouteSet(cands, [None] * len(names), set())


def _fake_appraise(row: pd.Series, layers: Any, study: Any, scenario: Any, members: Any,
                   centres: Any = None, *, geometry: Any = None,
                   params: pd.DataFrame | None = None) -> dict[str, Any]:
    """CAPEX = 100 M USD × the route's ``capex_multiplier``; the rest equal."""
    assert params is not None
    m = float(params.loc["capex_multiplier", "value"])
    figures = dict.fromkeys(["length_km", "new_build_km", "reused_km", "new_demand_bcm_y",
                             "demand_within_reach_bcm_y", "n_countries",
                             "border_crossings", "terrain_difficulty", "water_crossings",
                             "highest_point_m", "stations", "compressor_power_mw"], 1.0)
    return {**figures, "capex_musd": 100.0 * m, "tariff_usd_per_1000m3": 10.0 * m,
            "delivered_cost_usd_per_1000m3": 100.0 + 10.0 * m}


def test_a_routes_draw_does_not_depend_on_the_order_of_routes(study, monkeypatch) -> None:
    """Each route's table gets the task's multiplier times its own draw, the same whatever
    the order (or set) of the routes appraised; ranks follow the drawn CAPEX."""
    import planner.appraisal

    monkeypatch.setattr(planner.appraisal, "appraise_route", _fake_appraise)
    spec = parse_sweep(PER_ROUTE)
    task = sweep_tasks(spec, study)[0]
    key = routing_key(study, task)

    def run(names: list[str]) -> pd.DataFrame:
        shared = {"study": study, "layers": None, "routes": {key: _fake_route_set(names)}}
        return appraise_task(task, shared).set_index("candidate")

    forward = run(ROUTES)
    backward = run(ROUTES[::-1])
    subset = run(ROUTES[2:5])
    col = "route:costs.capex_multiplier"
    pd.testing.assert_series_equal(forward[col], backward[col].reindex(forward.index))
    pd.testing.assert_series_equal(subset[col], forward[col].reindex(subset.index))
    assert forward[col].nunique() == len(ROUTES)
    own = forward[col].to_numpy()
    np.testing.assert_allclose(forward["capex_musd"],
                               100.0 * task["costs.capex_multiplier"] * own, rtol=1e-12)
    assert forward["rank"].to_numpy().tolist() == \
        pd.Series(own).rank(method="min").astype(int).tolist()
    assert "p:per_route:costs.capex_multiplier" not in forward.columns
    assert forward["p:costs.capex_multiplier"].eq(task["costs.capex_multiplier"]).all()
    # the same sample in another scenario: the same draw for each route
    other = sweep_tasks(spec, study)[6]
    shared = {"study": study, "layers": None,
              "routes": {routing_key(study, other): _fake_route_set(ROUTES)}}
    again = appraise_task(other, shared).set_index("candidate")
    pd.testing.assert_series_equal(again[col], forward[col])


@pytest.mark.parametrize(("dimension", "design", "message"), [
    ('parameter = "throughput_scale"\nper_route = true\nvalues = [1.0]', "monte_carlo",
     "dimensions[0].per_route (line 7): only cost parameters can be drawn per route; "
     "throughput_scale is the same for every route"),
    ('parameter = "costs.capex_multiplier"\nper_route = true\nvalues = [1.0]', "monte_carlo",
     "dimensions[0].per_route (line 7): a per-route draw needs multiply = true"),
    ('parameter = "costs.capex_multiplier"\nmultiply = true\nper_route = "yes"\n'
     'values = [1.0]', "monte_carlo", "dimensions[0].per_route (line 8): must be true or "
     "false, got 'yes'"),
    ('parameter = "costs.capex_multiplier"\nmultiply = true\nper_route = true\n'
     'values = [1.0]', "grid", "sweep.design (line 3): per_route dimensions are drawn for "
     "each route; they need design = 'monte_carlo'"),
])
def test_bad_per_route_option_gives_one_error(dimension: str, design: str,
                                              message: str) -> None:
    text = (f'[sweep]\nname = "x"\ndesign = "{design}"\n\n[[dimensions]]\n{dimension}\n')
    with pytest.raises(SweepError) as err:
        parse_sweep(text, "bad.toml")
    assert str(err.value).startswith("sweep bad.toml: 1 problem:")
    assert message in str(err.value)


def test_two_per_route_dimensions_of_one_parameter_are_refused() -> None:
    """The error names the parameter and both dimensions with their lines."""
    dim = ('[[dimensions]]\nparameter = "costs.capex_multiplier"\nmultiply = true\n'
           'per_route = true\ndistribution = { kind = "lognormal", mean = 0, sigma = 0.5 }\n')
    with pytest.raises(SweepError, match="one per_route dimension besides") as err:
        parse_sweep(f'[sweep]\nname = "x"\n{dim}{dim}', "dup.toml")
    assert str(err.value).startswith("sweep dup.toml: 1 problem:")
    assert ("costs.capex_multiplier is varied per route by both dimensions[0] (line 3) and "
            "dimensions[1] (line 8)") in str(err.value)


@pytest.mark.parametrize(("per_route", "distribution", "message"), [
    ("true", '{ kind = "lognormal", mean = 0, sigma = -1 }',
     "dimensions[0].distribution (line 9): lognormal needs sigma >= 0, got -1"),
    ("false", '{ kind = "lognormal", mean = 0, sigma = -1 }',
     "dimensions[0].distribution (line 9): lognormal needs sigma >= 0, got -1"),
    ("false", '{ kind = "normal", mean = 1, sd = -0.1 }',
     "dimensions[0].distribution (line 9): normal needs sd >= 0, got -0.1"),
    ("true", '{ kind = "normal", mean = 1, sd = 0.1 }',
     "dimensions[0].distribution (line 9): a multiplier must stay above 0, but this normal "
     "can draw values <= 0"),
    ("false", '{ kind = "uniform", low = 0.0, high = 1.5 }',
     "dimensions[0].distribution (line 9): a multiplier must stay above 0, but this uniform"),
    ("true", '{ kind = "triangular", low = -0.5, mode = 1, high = 1.5 }',
     "dimensions[0].distribution (line 9): a multiplier must stay above 0, but this "
     "triangular"),
    ("false", '{ kind = "uniform", low = 1.5, high = 0.7 }',
     "dimensions[0].distribution (line 9): uniform needs low <= high"),
])
def test_invalid_distribution_is_refused_when_parsed(per_route: str, distribution: str,
                                                     message: str) -> None:
    """Refused in parse_sweep with one error naming the file, the dimension and its line,
    before any task runs (per-route or common)."""
    text = (f'[sweep]\nname = "x"\nsamples = 2\n\n[[dimensions]]\n'
            f'parameter = "costs.capex_multiplier"\nmultiply = true\nper_route = {per_route}\n'
            f'distribution = {distribution}\n')
    with pytest.raises(SweepError) as err:
        parse_sweep(text, "bad.toml")
    assert str(err.value).startswith("sweep bad.toml: 1 problem:")
    assert message in str(err.value)


def test_positive_distributions_and_non_multiplied_normals_still_parse() -> None:
    """A lognormal of sigma 0, a uniform above 0, and a normal on a dimension that is not a
    multiplier are accepted."""
    text = ('[sweep]\nname = "x"\nsamples = 2\n[[dimensions]]\n'
            'parameter = "costs.capex_multiplier"\nmultiply = true\n'
            'distribution = { kind = "lognormal", mean = 0, sigma = 0 }\n[[dimensions]]\n'
            'parameter = "costs.capex_multiplier"\nmultiply = true\nper_route = true\n'
            'distribution = { kind = "uniform", low = 0.5, high = 1.5 }\n[[dimensions]]\n'
            'parameter = "costs.discount_rate"\n'
            'distribution = { kind = "normal", mean = 0.08, sd = 0.01 }\n')
    assert len(parse_sweep(text).dimensions) == 3


def test_summary_shows_win_shares_rank_spread_and_own_draw_driver() -> None:
    """Constructed: route A wins when its own draw is low (3 of 4 tasks), B once."""
    own_a = [0.5, 0.6, 0.7, 2.0]
    rows = []
    for i, a in enumerate(own_a):
        best_a = a < 1
        rows += [{"task_key": f"t{i}", "scenario": "s", "candidate": "A", "rank":
                  1 if best_a else 2, "route:costs.capex_multiplier": a},
                 {"task_key": f"t{i}", "scenario": "s", "candidate": "B", "rank":
                  2 if best_a else 1, "route:costs.capex_multiplier": 1.0}]
    r = pd.DataFrame(rows).assign(capex_musd=1.0, tariff_usd_per_1000m3=1.0,
                                  delivered_cost_usd_per_1000m3=1.0,
                                  **{"p:costs.capex_multiplier": 0.95})
    r["best"] = r["rank"].eq(1)
    s = candidate_summary(r).set_index("candidate")
    assert s["p_best"].to_dict() == {"A": 0.75, "B": 0.25}
    assert s.loc["A", ["rank_min", "rank_max"]].tolist() == [1, 2]
    assert s["p_best"].sum() == 1.0
    d = ranking_drivers(r).set_index("parameter")
    own = d.loc["costs.capex_multiplier (own draw)"]
    assert own["favourite"] == "A"
    assert (own["p_best_low"], own["p_best_high"]) == (1.0, 0.5)  # median 0.65
    # the common multiplier has one value (sigma 0): not varied, so no row (not a swing of 0)
    assert "costs.capex_multiplier" not in d.index
    assert list(d.index) == ["costs.capex_multiplier (own draw)"]
    # varied, it gets its row back; own draws all equal get none
    varied = r.assign(**{"p:costs.capex_multiplier": np.repeat([0.9, 1.1, 0.9, 1.1], 2)})
    assert "costs.capex_multiplier" in set(ranking_drivers(varied)["parameter"])
    flat = r.assign(**{"route:costs.capex_multiplier": 1.0})
    assert ranking_drivers(flat).empty
    md = sweep_report_markdown(candidate_summary(r), ranking_drivers(r), "t", 4, chart=None,
                               notes=["own CAPEX error: drawn for each route"])
    assert "The favourite, A, ranks first in 75% of the tasks." in md
    assert "| 1.2 (1–2; 1–2) |" in md and "own CAPEX error: drawn for each route" in md


def test_a_fuel_price_dimension_is_refused_where_the_study_prices_gas_at_supply(tmp_path):
    # the appraisal prices fuel at a study's supply price (appraisal.fuel_priced_at_supply),
    # so a swept fuel gas price would silently do nothing there
    import dataclasses

    from planner.study import default_study_path, load_study
    from planner.sweep.study_sweep import SweepError, parse_sweep, sweep_tasks

    study = load_study(default_study_path())
    spec = parse_sweep('[sweep]\nname = "s"\nstudy = "default"\ndesign = "grid"\n'
                       '[[dimensions]]\nparameter = "costs.fuel_gas_price_usd_per_1000m3"\n'
                       'values = [100.0, 200.0]\n', tmp_path / "s.toml")
    assert len(sweep_tasks(spec, study)) == 2 * len(study.scenarios)  # no supply price set
    priced = dataclasses.replace(study, costs={**study.costs,
                                               "supply_price_usd_per_1000m3": 180.0})
    with pytest.raises(SweepError, match=r"vary costs\.supply_price_usd_per_1000m3 instead"):
        sweep_tasks(spec, priced)
