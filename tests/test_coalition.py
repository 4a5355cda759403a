"""The coalition game: textbook games with known Shapley values and cores, a constructed
network with a pivotal transit country, the [coalitions] table, and the identity
Σ Shapley = v(N) on the default study's system plan."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from test_plan import ECON, network

from planner.coalition import game as g
from planner.coalition.run import coalition_game, write_game
from planner.coalition.spec import Buyer, GameSpec, game_spec_from_study
from planner.coalition.values import plan_tasks, solve_task
from planner.plan.optimise import PlanEconomics
from planner.plan.options import PlanOptions
from planner.study import StudyError, parse_study


def test_glove_game():
    players = ["L", "R1", "R2"]
    v = {frozenset({"L", "R1"}): 1.0, frozenset({"L", "R2"}): 1.0,
         frozenset(players): 1.0}
    phi = g.shapley_values(players, v)
    assert phi.to_dict() == pytest.approx({"L": 2 / 3, "R1": 1 / 6, "R2": 1 / 6})
    assert phi.sum() == pytest.approx(1.0)
    # the core is the single point (1, 0, 0): Shapley is outside it, the nucleolus is it
    assert not g.in_core(players, v, phi)
    assert g.in_core(players, v, {"L": 1.0, "R1": 0.0, "R2": 0.0})
    eps, _ = g.least_core(players, v)
    assert eps == pytest.approx(0.0, abs=1e-9)
    assert g.nucleolus(players, v).to_dict() == pytest.approx(
        {"L": 1.0, "R1": 0.0, "R2": 0.0}, abs=1e-9)


def test_transit_chain_pivotal_transit_country():
    # seller S, transit T, buyer B: only the whole chain creates value
    players = ["S", "T", "B"]
    v = {frozenset(players): 1.0}
    phi = g.shapley_values(players, v)
    assert phi.to_dict() == pytest.approx({"S": 1 / 3, "T": 1 / 3, "B": 1 / 3})
    assert g.in_core(players, v, phi)
    # a dear bypass of T worth 0.4: T's share falls to (1 - 0.4) / 3
    v[frozenset({"S", "B"})] = 0.4
    phi = g.shapley_values(players, v)
    assert phi.to_dict() == pytest.approx({"S": 0.4, "T": 0.2, "B": 0.4})
    assert g.in_core(players, v, phi)
    assert not g.core_violations(players, v, {"S": 0.1, "T": 0.8, "B": 0.1}).empty


def test_majority_game_has_an_empty_core():
    players = ["a", "b", "c"]
    v = {s: 1.0 for s in g.coalitions(players) if len(s) >= 2}
    eps, _ = g.least_core(players, v)
    assert eps == pytest.approx(1 / 3)
    assert g.nucleolus(players, v).to_dict() == pytest.approx(
        dict.fromkeys(players, 1 / 3))


SPEC = GameSpec(players=("RUS", "KAZ", "UZB"), seller="RUS", seller_cost_usd_per_1000m3=100,
                seller_cost_source="test", buyers=(Buyer("UZB", ("D",), 250.0, "test"),))


def _transit_network():
    # supply in Russia, a junction in Kazakhstan, the destination in Uzbekistan; a direct
    # Russia–Uzbekistan corridor would cross Kazakhstan too (there is no other way)
    return network({"S": (0, 0, 0, True), "M": (500, 0, 0, False), "D": (900, 0, 3, False)},
                   [("S", "M", "new", np.nan, ["RUS", "KAZ"]),
                    ("M", "D", "existing", 10.0, ["KAZ", "UZB"]),
                    ("S", "D", "new", np.nan, ["RUS", "KAZ", "UZB"])])


def test_removing_the_transit_country_zeroes_every_coalition_without_it():
    net = _transit_network()
    opts = PlanOptions(enabled=True, time_limit_s=20)
    demand = {"D": 3.0}
    tasks = plan_tasks(SPEC, demand)
    results = [solve_task(t, net, opts, {"base": ECON}) for t in tasks]
    import pandas as pd

    from planner.coalition.values import game_values, value_map

    vals = game_values(SPEC, pd.DataFrame(results), demand, ECON.utilisation, "base")
    v = value_map(vals)
    for s, value in v.items():
        if "KAZ" not in s:
            assert value == 0.0, s
    grand = frozenset(SPEC.players)
    assert v[grand] > 0
    phi = g.shapley_values(list(SPEC.players), v)
    assert phi.sum() == pytest.approx(v[grand])
    assert phi["KAZ"] == pytest.approx(v[grand] / 3)  # only the grand coalition creates value


def test_coalition_game_on_dask(tmp_path, monkeypatch):
    # the same game through the Dask sweep (threads: no worker processes in tests)
    from planner.coalition import run, values

    checked = []  # the plans' answers are checked once, all of them, not once per value
    for module in (run, values):
        monkeypatch.setattr(module, "check_answered",
                            lambda c, check=values.check_answered: checked.append(len(c))
                            or check(c))
    net = _transit_network()
    res = coalition_game(SPEC, net, PlanOptions(enabled=True, time_limit_s=20),
                         {"base": ECON}, "base", workers=1, processes=False)
    assert checked == [res.summary["sweep"]["tasks"]]
    assert res.summary["sweep"]["engine"].startswith("dask")
    assert res.summary["shapley_sum_musd_y"] == pytest.approx(
        res.summary["grand_coalition_value_musd_y"])
    files = write_game(res, tmp_path)
    assert {p.name for p in files.values()} == {"coalitions.csv", "shares.csv",
                                                "prices.csv", "coalitions.json"}
    # every CSV through planner.io.write_csv (formula cells neutralised, rows end CRLF)
    for name in ("coalitions.csv", "shares.csv", "prices.csv"):
        assert files[name].read_bytes().splitlines(keepends=True)[0].endswith(b"\r\n")
    price = res.prices.set_index("buyer").loc["UZB"]
    assert price["corridor_low_usd_per_1000m3"] <= price["shapley_price_usd_per_1000m3"] \
        <= price["corridor_high_usd_per_1000m3"]
    # the Shapley price and the transit fee implement the shares: what the seller keeps
    # after paying the system and the fee is its Shapley value
    shares = res.shares.set_index("country")
    vol, u = price["volume_bcm_y"], ECON.utilisation
    plan_cost = res.coalitions.set_index("coalition").at["KAZ+RUS+UZB", "plan_cost_musd_y"]
    fee = shares.at["KAZ", "transit_fee_usd_per_1000m3"]
    seller = ((price["shapley_price_usd_per_1000m3"] - SPEC.seller_cost_usd_per_1000m3)
              * vol * u - plan_cost - fee * vol * u)
    assert seller == pytest.approx(shares.at["RUS", "shapley_musd_y"], rel=1e-9)


def test_coalitions_table_collects_every_problem():
    text = """
[study]
name = "demo"
[[supply]]
name = "Beyneu"
[[destinations]]
name = "Shymkent"
throughput_bcm_y = 5
[coalitions]
players = ["RUS", "kaz"]
seller = "CHN"
seller_cost_usd_per_1000m3 = 100
[[coalitions.buyers]]
country = "UZB"
destinations = ["Nowhere"]
alternative_price_usd_per_1000m3 = 200
"""
    with pytest.raises(StudyError) as e:
        game_spec_from_study(parse_study(text))
    msg = str(e.value)
    for key in ("coalitions.players", "coalitions.seller", "seller_cost_source",
                "buyers[0].destinations", "buyers[0].source"):
        assert key in msg


# --- the default study --------------------------------------------------------------------


def test_default_study_shapley_adds_up_to_the_grand_coalition(default_run, tmp_path):
    from planner.coalition.report import update_study_outputs
    from planner.study import default_study_path, load_study

    study = load_study(default_study_path())
    spec = game_spec_from_study(study)
    plan = default_run.extra["plan"]
    econ = {plan.scenario: PlanEconomics.from_costs(
        {**study.costs, **next(s for s in study.scenarios if s.name == plan.scenario).costs})}
    res = coalition_game(spec, plan.network, plan.options, econ, plan.scenario, workers=1,
                         processes=False)
    s = res.summary
    vn = s["grand_coalition_value_musd_y"]
    assert abs(res.shares["shapley_musd_y"].sum() - vn) <= 1e-3 * max(abs(vn), 1e-9)
    # every coalition without the seller, or without any buyer, is worth nothing
    for _, r in res.coalitions.iterrows():
        members = set(r["members"].split(", "))
        if spec.seller not in members or not members & {b.country for b in spec.buyers}:
            assert r["value_musd_y"] == 0.0
    # the study's outputs take the section
    out = tmp_path / "out"
    shutil.copytree(default_run.out_dir, out)
    write_game(res, out)
    update_study_outputs(out, res)
    assert "## Coalitions: who gains what under the union" in (out / "report.md").read_text()
    assert "planner-coalitions" in (out / "index.html").read_text()


def test_cli_coalitions_without_a_table_is_one_clear_error(tmp_path):
    import subprocess
    import sys

    from planner.study import shipped_studies

    other = next(p for p in shipped_studies() if "via_astana" in p.name)
    r = subprocess.run([sys.executable, "-m", "planner.cli", "coalitions", str(other),
                        "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert r.returncode == 2
    assert "no [coalitions] table" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_coalition_markdown_neutralises_sources():
    """Sources from the study file reach report.md as literal text."""
    import pandas as pd

    from planner.coalition.report import coalition_section
    from planner.coalition.run import GameResult

    prices = pd.DataFrame({"buyer": ["UZB"], "volume_bcm_y": [1.0],
                           "alternative_price_source": ["<script>x</script> | [a](b)"]})
    res = GameResult(pd.DataFrame({"coalition": ["UZB"]}),
                     pd.DataFrame({"country": ["*UZB*"]}), prices, {})
    md, _ = coalition_section(res)
    assert "<script>" not in md and "\\| \\[a\\](b)" in md and "\\*UZB\\*" in md


def test_study_run_carries_coalition_results_only_for_the_same_study(tmp_path):
    # a later study run keeps `planner coalitions` files only when they were computed for
    # the same study file; results of an edited study are not shown as if they were current
    import json

    from planner.plan.sections import extra_sections

    net = _transit_network()
    res = coalition_game(SPEC, net, PlanOptions(enabled=True, time_limit_s=20),
                         {"base": ECON}, "base", workers=1, processes=False)
    res.summary["study_fingerprint"] = "aaaa"
    target = tmp_path / "study"
    write_game(res, target)
    assert json.loads((target / "coalitions.json").read_text())["study_fingerprint"] == "aaaa"

    tmp = tmp_path / "tmp-same"
    tmp.mkdir()
    names: dict = {}
    same = extra_sections(target, tmp, None, names, "aaaa")
    assert (tmp / "shares.csv").exists() and same.sections and same.panels

    tmp = tmp_path / "tmp-other"
    tmp.mkdir()
    names = {}
    other = extra_sections(target, tmp, None, names, "bbbb")
    assert not (tmp / "shares.csv").exists() and not other.sections and not names


@pytest.mark.parametrize("failure", ["error", "no plan in time"])
def test_coalition_plan_without_an_answer_is_one_clear_error(monkeypatch, failure):
    """A restricted plan HiGHS failed on (or found nothing for within the limit) is not
    "cannot be served": the game stops with one error naming the coalition, the buyers and
    HiGHS's message, before anything is computed or written; the CLI shows it as such."""
    from planner.coalition import values
    from planner.coalition.values import CoalitionPlanError
    from planner.plan.optimise import PlanResult, solve_plan

    def failing(net, options, econ, **kw):
        r = solve_plan(net, options, econ, **kw)
        if {"RUS", "KAZ"} <= set(net.arcs["countries"].str.cat(sep=", ").split(", ")):
            return r  # the grand coalition's network solves
        return PlanResult("error" if failure == "error" else "time limit", float("nan"),
                          float("nan"), 1.0, 1, 1, 0, r.arcs.iloc[:0],
                          message=("HiGHS failed on the full MILP: Solve error"
                                   if failure == "error" else
                                   "no plan found within the time limit of 20 s"))

    monkeypatch.setattr(values, "solve_plan", failing)
    net = _transit_network()
    row = solve_task(plan_tasks(SPEC, {"D": 3.0})[0], net,
                     PlanOptions(enabled=True, time_limit_s=20), {"base": ECON})
    assert not values.answered(row["status"], row["cost_musd_y"]) and row["message"]
    with pytest.raises(CoalitionPlanError) as err:
        coalition_game(SPEC, net, PlanOptions(enabled=True, time_limit_s=20),
                       {"base": ECON}, "base", workers=1, processes=False)
    text = str(err.value)
    assert "nothing was written" in text and "coalition RUS+UZB, buyers UZB" in text
    assert ("HiGHS failed on the full MILP: Solve error" if failure == "error" else
            "no plan found within the time limit") in text
    assert isinstance(err.value, ValueError)  # the CLI's expected errors: no traceback
