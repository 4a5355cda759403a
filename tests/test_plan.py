"""The system plan: the optimiser on constructed networks with known optima, the [plan]
options, and identities on the default study's real outputs."""

from __future__ import annotations

import json
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString

from planner import economics
from planner.hydraulics import STANDARD_DIAMETERS_MM
from planner.plan.candidates import (
    ARC_COLUMNS,
    PlanNetwork,
    contract_chains,
    contract_new_chains,
    prune_dead_ends,
)
from planner.plan.optimise import PlanEconomics, diameter_options, independent_best, solve_plan
from planner.plan.options import TRUNK_DIAMETERS_MM, PlanOptions, plan_options_from_study
from planner.study import StudyError, parse_study

ECON = PlanEconomics(discount_rate=0.08, lifetime_years=30, utilisation=0.8,
                     fuel_price_usd_per_1000m3=150.0, tariff_usd_per_1000m3_100km=1.5,
                     compressor_usd_per_kw=3000.0)
OPTS = PlanOptions(enabled=True, time_limit_s=20)


def network(nodes: dict[str, tuple[float, float, float, bool]],
            arcs: list[tuple]) -> PlanNetwork:
    """nodes: name -> (x, y, demand, supply); arcs: (u, v, kind, capacity, countries)."""
    nd = pd.DataFrame({"lon": [v[0] for v in nodes.values()],
                       "lat": [v[1] for v in nodes.values()], "kind": "x",
                       "demand_bcm_y": [float(v[2]) for v in nodes.values()],
                       "supply": [bool(v[3]) for v in nodes.values()]}, index=list(nodes))
    rows = []
    for i, (u, v, kind, cap, countries) in enumerate(arcs):
        (x0, y0), (x1, y1) = nodes[u][:2], nodes[v][:2]
        length = float(np.hypot(x1 - x0, y1 - y0))
        rows.append({"arc_id": f"a{i}", "u": u, "v": v, "kind": kind,
                     "system": "Line" if kind == "existing" else "",
                     "length_km": length, "cost_km_eq": length if kind == "new" else np.nan,
                     "terrain_km": {"flat": length} if kind == "new" else None,
                     "capacity_bcm_y": cap, "design": 0,
                     "km_by_country": {c: length / len(countries) for c in countries},
                     "countries": ", ".join(countries),
                     "geometry": LineString([(x0 / 100, y0 / 100), (x1 / 100, y1 / 100)])})
    return PlanNetwork(nd, gpd.GeoDataFrame(rows, geometry="geometry",
                                            crs="EPSG:4326").reindex(columns=ARC_COLUMNS))


def _trunk_or_parallel_lines() -> PlanNetwork:
    """S far from two close destinations A and B (2 bcm/y each), a hub H near them."""
    return network({"S": (0, 0, 0, True), "H": (800, 0, 0, False), "A": (850, 60, 2, False),
                    "B": (850, -60, 2, False)},
                   [("S", "A", "new", np.nan, ["AAA"]), ("S", "B", "new", np.nan, ["AAA"]),
                    ("S", "H", "new", np.nan, ["AAA"]), ("H", "A", "new", np.nan, ["AAA"]),
                    ("H", "B", "new", np.nan, ["AAA"])])


def test_shared_trunk_beats_two_parallel_lines():
    # S far from two close destinations: a trunk to a hub H and two short branches is
    # cheaper than two long parallel lines (the known optimum of this network).
    net = _trunk_or_parallel_lines()
    r = solve_plan(net, OPTS, ECON)
    assert r.status == "optimal"
    built = {(a, b) for a, b in zip(r.arcs["from"], r.arcs["to"], strict=True)}
    assert built == {("S", "H"), ("H", "A"), ("H", "B")}
    trunk = r.arcs.set_index("from").loc["S"]
    assert trunk["flow_bcm_y"] == pytest.approx(4.0)
    alone = independent_best(net, OPTS, ECON)
    assert r.objective_musd_y < alone["alone_musd_y"].sum()
    assert r.objective_musd_y <= alone["sequential_musd_y"].sum() * (1 + OPTS.mip_gap)


def test_spare_capacity_used_before_new_pipe():
    arcs = [("S", "D", "existing", 5.0, ["AAA"]), ("S", "D", "new", np.nan, ["AAA"])]
    nodes = {"S": (0, 0, 0, True), "D": (600, 0, 3, False)}
    r = solve_plan(network(nodes, arcs), OPTS, ECON)
    assert set(r.arcs["kind"]) == {"existing"}
    assert r.arcs["flow_bcm_y"].sum() == pytest.approx(3.0)
    # more than the spare capacity: new pipe is built for what the line cannot carry (the
    # smallest diameter that covers it); the line carries the rest
    nodes["D"] = (600, 0, 8, False)
    r = solve_plan(network(nodes, arcs), OPTS, ECON)
    by = r.arcs.set_index("kind")
    assert by.at["existing", "flow_bcm_y"] + by.at["new", "flow_bcm_y"] == pytest.approx(8.0)
    assert 0 < by.at["existing", "flow_bcm_y"] <= 5.0 + 1e-9
    # the smallest diameter that carries the new pipe's flow at the plan's class
    caps = diameter_options(OPTS).set_index("diameter_mm")["capacity_bcm_y"]
    smallest = caps[caps >= by.at["new", "flow_bcm_y"] - 1e-9].index.min()
    assert by.at["new", "diameter_mm"] == smallest


def line_network(demand_bcm_y: float, **edge: object) -> PlanNetwork:
    """Supply S (graph node 0) and destination D (graph node 1) joined by one existing
    line, read through existing_arcs from a pipeline graph edge with ``edge``'s flow
    attributes, and by a new corridor. The line's design flow runs from D to S
    (``flow`` -1: from the higher node id to the lower)."""
    import networkx as nx

    from planner.plan.candidates import existing_arcs

    g = nx.MultiGraph()
    g.add_edge(0, 1, system="Line", pipeline_id="p1", length_km=600.0,
               geometry=LineString([(0, 0), (6, 0)]), flow=-1, **edge)
    ex = existing_arcs(g)
    ex["km_by_country"] = [{"AAA": 600.0}]
    ex["countries"] = "AAA"
    new = gpd.GeoDataFrame({"u": ["e0"], "v": ["e1"], "kind": "new", "system": "",
                            "length_km": 600.0, "cost_km_eq": 600.0, "design": 0,
                            "terrain_km": [{"flat": 600.0}],
                            "km_by_country": [{"AAA": 600.0}], "countries": "AAA"},
                           geometry=[LineString([(0, 0), (6, 0)])], crs="EPSG:4326")
    arcs = pd.concat([ex, new], ignore_index=True)
    arcs["arc_id"] = [f"a{i}" for i in range(len(arcs))]
    nodes = pd.DataFrame({"lon": [0.0, 6.0], "lat": [0.0, 0.0], "kind": "x",
                          "demand_bcm_y": [0.0, demand_bcm_y], "supply": [True, False]},
                         index=["e0", "e1"])
    return PlanNetwork(nodes, gpd.GeoDataFrame(arcs, geometry="geometry", crs="EPSG:4326")
                       .reindex(columns=ARC_COLUMNS))


def test_non_reversible_line_never_used_against_its_direction():
    # S -> D runs against the design flow of a line that cannot be reversed: its ample
    # design capacity is no use, new pipe carries everything
    net = line_network(3.0, reversible=False, spare_design_bcm_y=30.0,
                       spare_reverse_bcm_y=0.0, current_flow_bcm_y=np.nan,
                       reverse_flow_bcm_y=np.nan)
    ex = net.arcs[net.arcs["kind"] == "existing"].iloc[0]
    assert (ex["capacity_uv_bcm_y"], ex["capacity_vu_bcm_y"]) == (0.0, 30.0)
    r = solve_plan(net, OPTS, ECON)
    assert r.status == "optimal"
    assert set(r.arcs["kind"]) == {"new"}
    assert r.arcs["flow_bcm_y"].sum() == pytest.approx(3.0)
    # a study override of the spare capacity does not open the closed direction either
    import networkx as nx

    from planner.plan.candidates import existing_arcs

    g = nx.MultiGraph()
    g.add_edge(0, 1, system="Line", pipeline_id="p1", length_km=600.0, flow=-1,
               reversible=False, spare_design_bcm_y=30.0, spare_reverse_bcm_y=0.0,
               geometry=LineString([(0, 0), (6, 0)]))
    over = existing_arcs(g, spare_bcm_y={"Line": 5.0}).iloc[0]
    assert (over["capacity_uv_bcm_y"], over["capacity_vu_bcm_y"]) == (0.0, 5.0)
    # the other way (demand at S, supply at D) the line is used, at the plain tariff
    flipped = PlanNetwork(net.nodes.assign(demand_bcm_y=[3.0, 0.0], supply=[False, True]),
                          net.arcs)
    r = solve_plan(flipped, OPTS, ECON)
    assert set(r.arcs["kind"]) == {"existing"} and not r.arcs["reverse"].any()


def test_reverse_capacity_below_demand_forces_new_pipe():
    def reversible(spare_reverse: float) -> dict:
        # prepared for 8 bcm/y (say) in reverse, of which 8 - spare_reverse already flow
        return {"reversible": True, "spare_design_bcm_y": 30.0, "current_flow_bcm_y": np.nan,
                "reverse_capacity_bcm_y": 8.0, "reverse_flow_bcm_y": 8.0 - spare_reverse,
                "spare_reverse_bcm_y": spare_reverse}

    # enough left in reverse: the line alone carries the demand, against its design flow
    r = solve_plan(line_network(6.0, **reversible(7.0)), OPTS, ECON)
    assert set(r.arcs["kind"]) == {"existing"} and bool(r.arcs["reverse"].iloc[0])
    # 3 bcm/y left in reverse, 6 wanted: new pipe for the rest, the line at most its 3
    net = line_network(6.0, **reversible(3.0))
    ex = net.arcs[net.arcs["kind"] == "existing"].iloc[0]
    assert (ex["capacity_uv_bcm_y"], ex["capacity_vu_bcm_y"]) == (3.0, 30.0)
    r = solve_plan(net, OPTS, ECON)
    assert r.status == "optimal"
    by = r.arcs.set_index("kind")
    assert 0 < by.at["existing", "flow_bcm_y"] <= 3.0 + 1e-9
    assert bool(by.at["existing", "reverse"])
    assert by.at["existing", "flow_bcm_y"] + by.at["new", "flow_bcm_y"] == pytest.approx(6.0)
    # the reverse factor is charged on the reverse use, and only there
    def tariff(q: float) -> float:
        return ECON.tariff_usd_per_1000m3_100km * 600.0 / 100.0 * ECON.utilisation * q

    q = by.at["existing", "flow_bcm_y"]
    assert by.at["existing", "tariff_musd_y"] == pytest.approx(tariff(q) * ECON.reverse_factor)
    flipped = PlanNetwork(net.nodes.assign(demand_bcm_y=[3.0, 0.0], supply=[False, True]),
                          net.arcs)
    r = solve_plan(flipped, OPTS, ECON)
    assert not r.arcs["reverse"].any()
    assert r.arcs["tariff_musd_y"].sum() == pytest.approx(tariff(3.0))


def test_excluded_country_never_crossed():
    # the short way crosses XXX; excluded, the plan takes the long way round
    nodes = {"S": (0, 0, 0, True), "M": (300, 0, 0, False), "N": (300, 400, 0, False),
             "D": (600, 0, 2, False)}
    arcs = [("S", "M", "new", np.nan, ["AAA"]), ("M", "D", "existing", 10.0, ["XXX"]),
            ("S", "N", "new", np.nan, ["AAA"]), ("N", "D", "new", np.nan, ["AAA", "BBB"])]
    net = network(nodes, arcs)
    assert "XXX" in ", ".join(solve_plan(net, OPTS, ECON).arcs["country"])
    r = solve_plan(net.restricted(excluded=["XXX"]), OPTS, ECON)
    assert r.status == "optimal"
    assert not any("XXX" in c for c in r.arcs["country"])
    # only members' territory: without BBB no way is left
    r = solve_plan(net.restricted(allowed=["AAA"]), OPTS, ECON)
    assert r.status == "infeasible"


def test_budget_forbidden_and_two_paths():
    nodes = {"S": (0, 0, 0, True), "D": (500, 0, 2, False), "H": (250, 200, 0, False)}
    arcs = [("S", "D", "existing", 10.0, ["AAA"]), ("S", "H", "new", np.nan, ["AAA"]),
            ("H", "D", "new", np.nan, ["AAA"]), ("S", "D", "new", np.nan, ["AAA"])]
    net = network(nodes, arcs)
    assert set(solve_plan(net, OPTS, ECON).arcs["kind"]) == {"existing"}
    # forbidden: the existing line may not be used, so new pipe is built
    r = solve_plan(net, replace(OPTS, forbidden=("Line",)), ECON)
    assert set(r.arcs["kind"]) == {"new"}
    # budget too small for any new pipe: infeasible without the existing line
    r = solve_plan(net, replace(OPTS, forbidden=("Line",), max_new_km=100), ECON)
    assert r.status == "infeasible"
    # supply security: a second, disjoint path is built (its fixed charge is paid)
    plain = solve_plan(net, OPTS, ECON)
    secure = solve_plan(net, replace(OPTS, two_paths=True), ECON)
    assert secure.status == "optimal"
    assert secure.objective_musd_y > plain.objective_musd_y


def test_contract_chains_keeps_the_smallest_capacity():
    net = network({"a": (0, 0, 0, True), "b": (100, 0, 0, False), "c": (200, 0, 1, False)},
                  [("a", "b", "existing", 9.0, ["AAA"]), ("b", "c", "existing", 4.0, ["AAA"])])
    c = contract_chains(net.arcs, keep={"a", "c"})
    assert len(c) == 1 and c["capacity_bcm_y"].iloc[0] == 4.0
    assert c["length_km"].iloc[0] == pytest.approx(200.0)


def test_new_chain_contraction_keeps_the_plan_and_pays_one_intercept():
    # S -> m1 -> m2 -> D in three new pieces, plus a dead end at m1: the contracted
    # corridor S -> D is the same plan, one NETL per-project intercept instead of three
    net = network({"S": (0, 0, 0, True), "m1": (150, 0, 0, False), "m2": (300, 0, 0, False),
                   "D": (450, 0, 3, False), "x": (150, 80, 0, False)},
                  [("S", "m1", "new", np.nan, ["AAA"]), ("m1", "m2", "new", np.nan, ["AAA"]),
                   ("m2", "D", "new", np.nan, ["BBB"]), ("m1", "x", "new", np.nan, ["AAA"])])
    term = {"S", "D"}
    nodes, arcs = prune_dead_ends(net.nodes, net.arcs, term)
    arcs = contract_new_chains(arcs, keep=term)
    nodes, arcs = prune_dead_ends(nodes, arcs, term)
    assert list(nodes.index) == ["S", "D"] and len(arcs) == 1
    assert arcs["length_km"].iloc[0] == pytest.approx(450.0)
    assert arcs["km_by_country"].iloc[0] == pytest.approx({"AAA": 300.0, "BBB": 150.0})
    assert arcs["terrain_km"].iloc[0] == pytest.approx({"flat": 450.0})
    pieces = solve_plan(net, OPTS, ECON)
    corridor = solve_plan(PlanNetwork(nodes, arcs), OPTS, ECON)
    assert pieces.status == corridor.status == "optimal"
    assert set(pieces.arcs["diameter_mm"]) == set(corridor.arcs["diameter_mm"])
    k = diameter_options(OPTS, 3.0)
    intercept = float(k["capex_fixed_usd"].iloc[0]) / 1e6 * (ECON.crf + ECON.pipeline_om_share)
    assert pieces.objective_musd_y - corridor.objective_musd_y == pytest.approx(2 * intercept)


def test_new_chain_contraction_adds_up_the_km_per_terrain_class():
    # pieces carrying their km per class: the corridor's are their sums (its pipe's terrain
    # factor the km-weighted mean over the whole corridor); a piece without: unknown (None)
    net = network({"S": (0, 0, 0, True), "m": (100, 0, 0, False), "D": (150, 0, 3, False)},
                  [("S", "m", "new", np.nan, ["AAA"]), ("m", "D", "new", np.nan, ["AAA"])])
    arcs = net.arcs.copy()
    arcs["terrain_km"] = [{"flat": 80.0, "hilly": 20.0, "mountain": 0.0},
                          {"flat": 0.0, "hilly": 10.0, "mountain": 40.0}]
    merged = contract_new_chains(arcs, keep={"S", "D"})
    assert len(merged) == 1
    assert merged["terrain_km"].iloc[0] == pytest.approx(
        {"flat": 80.0, "hilly": 30.0, "mountain": 40.0})
    assert sum(merged["terrain_km"].iloc[0].values()) == pytest.approx(
        merged["length_km"].iloc[0])
    arcs["terrain_km"] = [{"flat": 100.0}, None]
    assert contract_new_chains(arcs, keep={"S", "D"})["terrain_km"].iloc[0] is None


def test_plan_arc_in_kazakhstan_costs_its_regional_factor_times_the_same_arc_at_one():
    # the route tables' basis: a new arc's CAPEX (pipe and stations) times the km-weighted
    # regional factor of its countries (Central Asia), the same arc elsewhere at 1
    def solve(countries: list[str]):
        net = network({"S": (0, 0, 0, True), "D": (700, 0, 3, False)},
                      [("S", "D", "new", np.nan, countries)])
        return solve_plan(net, OPTS, ECON), independent_best(net, OPTS, ECON)

    (plain, plain_alone), (kaz, kaz_alone) = solve(["AAA"]), solve(["KAZ"])
    (half, _) = solve(["KAZ", "AAA"])
    f = economics.regional_factor_for("KAZ")
    assert f == economics.parameter("regional_factor_central_asia") != 1.0
    assert plain.arcs["diameter_mm"].tolist() == kaz.arcs["diameter_mm"].tolist()
    assert kaz.arcs["capex_musd"].iloc[0] == pytest.approx(
        f * plain.arcs["capex_musd"].iloc[0], rel=1e-12)
    assert half.arcs["capex_musd"].iloc[0] == pytest.approx(
        (f + 1) / 2 * plain.arcs["capex_musd"].iloc[0], rel=1e-12)
    # the independent routes are costed on the same basis: alone is the plan here
    assert kaz_alone["alone_musd_y"].iloc[0] == pytest.approx(kaz.objective_musd_y, rel=1e-9)
    assert plain_alone["alone_musd_y"].iloc[0] == pytest.approx(plain.objective_musd_y,
                                                                rel=1e-9)
    # the line pipe carries the fitted pipe-cost trend at the studies' currency year
    trend = economics.pipe_cost_trend_factor(economics.DEFAULT_CURRENCY_YEAR)
    d = diameter_options(OPTS, 3.0).iloc[0]
    wall = float(d["wall_mm"])
    one = float(economics.pipeline_capex_usd(d["diameter_mm"], 1.0, wall_thickness_mm=wall)
                ["total"])
    two = float(economics.pipeline_capex_usd(d["diameter_mm"], 2.0, wall_thickness_mm=wall)
                ["total"])
    assert d["capex_fixed_usd"] == pytest.approx(trend * (2 * one - two), rel=1e-12)


def test_plan_sizes_are_the_trunk_sizes_from_508_mm():
    # a plan chooses among trunk sizes only, whatever smaller sizes single-line designs use
    assert PlanOptions().diameters_mm == TRUNK_DIAMETERS_MM
    assert TRUNK_DIAMETERS_MM == tuple(float(d) for d in STANDARD_DIAMETERS_MM if d >= 508)
    assert min(TRUNK_DIAMETERS_MM) == 508.0


def test_plan_options_collect_every_problem():
    text = """
[study]
name = "demo"
[[supply]]
name = "Beyneu"
[[destinations]]
name = "Shymkent"
throughput_bcm_y = 5
[plan]
max_new_km = -3
pressure_class_mpa = 6.0
must_use = ["X"]
forbidden = ["X"]
colour = "red"
threads = 1.5
"""
    s = parse_study(text)
    with pytest.raises(StudyError) as e:
        plan_options_from_study(s)
    msg = str(e.value)
    for key in ("plan.max_new_km", "plan.pressure_class_mpa", "plan.must_use", "plan.colour",
                "plan.threads"):
        assert key in msg


def test_plan_threads_one_after_another_in_one_process():
    # HiGHS keeps one scheduler per calling thread, sized at its first run; a solve asking
    # for another number of threads must still solve (each solve resets it)
    net = _trunk_or_parallel_lines()
    got = [solve_plan(net, replace(OPTS, threads=n), ECON) for n in (2, 1, 0, 1)]
    assert {r.status for r in got} == {"optimal"}
    assert [r.objective_musd_y for r in got] == pytest.approx([got[0].objective_musd_y] * 4)


# --- the default study's real outputs ------------------------------------------------------


@pytest.mark.xfail(strict=False, reason=(
    "issue 15's target (optimal or gap <= 1 % within 60 s) is not met. On the current cost "
    "basis (terrain classes, the 83-line refit) the 60-s plan 1,505.32 M USD/y is the "
    "optimum (proved in 404 s), but its gap is 1.39 %: the build relaxation's bound, "
    "1,484.4, is 1.4 % below it. On the basis before (pipe-cost trend, regional factors) "
    "serial HiGHS proves the optimum 1,626.14 M "
    "USD/y in 850 s; the 60-s plan is 1,626.68-1,641.36 at a 2.1-4.0 % gap (1,663.84 at "
    "1.66 % since the stations' O&M share of 39e9d28), and the bound "
    "(the build relaxation's) cannot reach 1 %: the build relaxation has a plan at "
    "1,601.1, so its optimum is at least 1.5 % below the optimum. On the earlier basis: "
    "60-s plan 1,471.2 within 0.05 % of the optimum 1,470.6, build relaxation at most "
    "1,453.7 (1.2 % below), serial 1.27-1.75 %; integer diameters on some arcs, the "
    "concave tree relaxation and the disaggregated formulation bound worse (README, "
    "System plan)"))
def test_default_study_plan_meets_the_solve_target(default_run):
    summary = json.loads((default_run.out_dir / "system_plan.json").read_text())
    assert summary["status"] == "optimal" or summary["mip_gap"] <= 0.01
    assert summary["solve_s"] < 60


def test_default_study_writes_the_plan(default_run):
    out = default_run.out_dir
    summary = json.loads((out / "system_plan.json").read_text())
    # a usable plan either way: solved, or stopped at the limit with its gap reported
    assert summary["status"] in ("optimal", "time limit")
    assert 0 <= summary["mip_gap"] < 1
    # at most the independent routes built together (the study's cheapest candidates,
    # "appraised", are no bound: each claims a line's spare capacity on its own, as the
    # "alone" routes do, so their sum need not be feasible)
    assert summary["objective_musd_y"] <= summary["independent_sequential_musd_y"]
    # the gap is measured from the best proven bound the file reports
    lb, obj = summary["lower_bound_musd_y"], summary["objective_musd_y"]
    assert lb <= obj * (1 + 1e-9)
    assert summary["mip_gap"] == pytest.approx(max(0.0, (obj - lb) / obj), abs=1e-6)
    plan = pd.read_csv(out / "system_plan.csv")
    for col in ("from", "to", "kind", "system", "reverse", "length_km", "diameter_mm",
                "flow_bcm_y", "capex_musd", "country"):
        assert col in plan.columns
    assert plan["annual_musd_y"].sum() == pytest.approx(summary["objective_musd_y"], rel=1e-9)
    assert "## System plan" in (out / "report.md").read_text()
    assert "System plan" in (out / "index.html").read_text()


def test_default_plan_flows_meet_every_demand(default_run):
    plan = pd.read_csv(default_run.out_dir / "system_plan.csv")
    net_in = (plan.groupby("to")["flow_bcm_y"].sum()
              .sub(plan.groupby("from")["flow_bcm_y"].sum(), fill_value=0.0))
    for d in default_run.extra["plan"].network.nodes.query("demand_bcm_y > 0").itertuples():
        assert net_in[d.Index] == pytest.approx(d.demand_bcm_y, abs=1e-6)


def test_default_plan_per_country_adds_up(default_run):
    out = default_run.out_dir
    t = pd.read_csv(out / "plan_per_country.csv").set_index("country")
    plan = pd.read_csv(out / "system_plan.csv")
    rows, total = t.drop(index="TOTAL"), t.loc["TOTAL"]
    for col in ("new_km", "reused_km", "capex_musd", "annual_musd_y", "tariff_musd_y"):
        assert rows[col].sum() == pytest.approx(total[col], rel=1e-9)
    assert total["new_km"] == pytest.approx(
        plan.loc[plan["kind"] == "new", "length_km"].sum(), rel=1e-9)
    assert total["capex_musd"] == pytest.approx(plan["capex_musd"].sum(), rel=1e-9)
    assert total["annual_musd_y"] == pytest.approx(plan["annual_musd_y"].sum(), rel=1e-9)
    scen = default_run.extra["plan"].network.nodes
    assert total["demand_served_bcm_y"] == pytest.approx(scen["demand_bcm_y"].sum())


def _grid() -> PlanNetwork:
    """A 3 × 3 grid of new corridors, an existing line, one supply point, three demands."""
    rng = np.random.default_rng(1)
    nodes = {f"n{i}{j}": (300.0 * i + rng.uniform(-40, 40), 300.0 * j + rng.uniform(-40, 40),
                          0.0, False) for i in range(3) for j in range(3)}
    nodes["n00"] = (*nodes["n00"][:2], 0.0, True)
    for name, q in (("n22", 4.0), ("n20", 2.0), ("n12", 1.0)):
        nodes[name] = (*nodes[name][:2], q, False)
    arcs = [(f"n{i}{j}", f"n{i + 1}{j}", "new", np.nan, ["AAA"])
            for i in range(2) for j in range(3)]
    arcs += [(f"n{i}{j}", f"n{i}{j + 1}", "new", np.nan, ["AAA"])
             for i in range(3) for j in range(2)]
    arcs += [("n00", "n10", "existing", 3.0, ["AAA"]), ("n10", "n20", "existing", 3.0, ["AAA"])]
    return network(nodes, arcs)


def test_first_plan_start_keeps_the_optimum():
    """The solve through highspy from a first plan (the MILP on the arcs its LP relaxation
    builds) reaches the optimum scipy.optimize.milp reaches from no start, on a grid of new
    corridors with an existing line (with a budget row of new km, and without)."""
    net = _grid()
    for opts in (OPTS, replace(OPTS, max_new_km=1600.0)):
        a = solve_plan(net, opts, ECON)
        b = solve_plan(net, opts, ECON, first_plan=False)
        assert a.status == b.status == "optimal"
        assert a.objective_musd_y == pytest.approx(b.objective_musd_y,
                                                   rel=2 * OPTS.mip_gap)
        assert a.arcs["flow_bcm_y"].gt(0).all()


def _dense_grid(n: int = 5) -> PlanNetwork:
    """An ``n`` × ``n`` jittered grid of new corridors with diagonals, one supply point and
    up to six destinations: 224 diameter binaries at n = 5, far from solved in 1 s."""
    rng = np.random.default_rng(3)
    nodes = {f"n{i}_{j}": (300.0 * i + rng.uniform(-80, 80), 300.0 * j + rng.uniform(-80, 80),
                           0.0, False) for i in range(n) for j in range(n)}
    nodes["n0_0"] = (*nodes["n0_0"][:2], 0.0, True)
    for _ in range(n * n // 4):
        i, j = rng.integers(1, n, 2)
        nodes[f"n{i}_{j}"] = (*nodes[f"n{i}_{j}"][:2], float(rng.uniform(0.5, 5)), False)
    steps = ((1, 0), (0, 1), (1, 1))
    return network(nodes, [(f"n{i}_{j}", f"n{i + di}_{j + dj}", "new", np.nan, ["AAA"])
                           for di, dj in steps for i in range(n - di) for j in range(n - dj)])


@pytest.mark.parametrize("limit", [0.3, 1.0, 2.0])
def test_solve_ends_within_its_time_limit(limit):
    """Stopped at its limit, the solve takes no more than it (issue 15: 60.02-60.08 s at
    60): each HiGHS run gets the time left less a margin, and a run with none is skipped
    (at 0.3 and 1 s the build relaxation; at 2 s every step runs; before, each got at
    least 1 s: 2.06-2.11 s for 1 s)."""
    r = solve_plan(_dense_grid(), replace(OPTS, time_limit_s=limit, mip_gap=1e-6), ECON)
    assert r.status == "time limit"
    assert r.solve_s <= limit


def test_infeasible_plan_still_reports():
    from planner.plan.check import check_arcs, check_paths, flow_paths
    from planner.plan.outputs import plan_per_country, plan_report_markdown, system_plan_table

    nodes = {"S": (0, 0, 0, True), "D": (500, 0, 2, False)}
    net = network(nodes, [("S", "D", "new", np.nan, ["AAA"])])
    r = solve_plan(net, replace(OPTS, max_new_km=10), ECON)
    assert r.status == "infeasible" and not r.ok
    table = system_plan_table(r.arcs)
    per_country = plan_per_country(r.arcs)
    assert list(per_country["country"]) == ["TOTAL"]
    chk = check_arcs(r.arcs, net, OPTS)
    paths = check_paths(r.arcs, chk, flow_paths(r.arcs, net), net, OPTS)
    ind = independent_best(net, replace(OPTS, max_new_km=10), ECON)
    text = plan_report_markdown({**r.summary(), "violations": 0}, table, per_country, ind,
                                paths)
    assert "infeasible" in text


def test_plan_network_uses_the_study_network_tables(monkeypatch):
    """The plan's existing network is built from the study's [network] tables, as the
    route candidates' is (not always from the shipped ones)."""
    from types import SimpleNamespace

    import planner.interconnections
    import planner.network
    from planner.plan.run import study_plan_network

    hubs, flows = pd.DataFrame({"hub": ["mine"]}), pd.DataFrame({"system": ["mine"]})
    seen = {}

    class Built(Exception):
        pass

    def graph(pipelines, **kwargs):
        seen.update(kwargs)
        raise Built

    monkeypatch.setattr(planner.interconnections, "network_tables_for_study",
                        lambda study: (hubs, flows))
    monkeypatch.setattr(planner.network, "pipeline_graph", graph)
    study = parse_study('[study]\nname = "d"\n[[supply]]\nname = "Beyneu"\n'
                        '[[destinations]]\nname = "Shymkent"\nthroughput_bcm_y = 5\n')
    with pytest.raises(Built):
        study_plan_network(study, SimpleNamespace(pipelines=None, countries=None),
                           SimpleNamespace(crs="EPSG:3857"), PlanOptions(enabled=True))
    assert seen["interconnections"] is hubs and seen["line_flows"] is flows


def test_default_plan_uses_existing_lines_only_in_allowed_directions(default_run, layers):
    """Every existing arc of the default study's plan runs, along every piece of the
    pipeline graph it stands for, in a direction that piece may carry gas (not against the
    design flow of a line that cannot be reversed there, nor in a direction the published
    flows use up)."""
    import networkx as nx

    from planner import settings
    from planner.network import pipeline_graph, spare_capacity

    plan = pd.read_csv(default_run.out_dir / "system_plan.csv")
    net = default_run.extra["plan"].network
    graph = pipeline_graph(layers.pipelines, statuses=["operating"], crs=settings.STUDY_CRS,
                           countries=layers.countries)
    used = plan[plan["kind"] == "existing"]
    assert len(used)

    def graph_node(name: str, system: str) -> int:
        own = {n for u, v, s in graph.edges(data="system") if s == system for n in (u, v)}
        if name.startswith("e") and name[1:].isdigit():
            n = int(name[1:])
            # the plan's node ids are this graph's
            assert graph.nodes[n]["lon"] == pytest.approx(net.nodes.at[name, "lon"])
            if n in own:
                return n
        # a node standing in for the line's node in its grid cell (a terminal, or another
        # line's node): the line's nearest node
        lon, lat = net.nodes.at[name, "lon"], net.nodes.at[name, "lat"]
        return min(own, key=lambda n: np.hypot(graph.nodes[n]["lon"] - lon,
                                               graph.nodes[n]["lat"] - lat))

    for row in used.to_dict("records"):
        system = row["system"]
        # the system's pieces, each in the directions it may carry a new flow
        open_ways = nx.DiGraph()
        for u, v, d in graph.edges(data=True):
            if d["system"] != system:
                continue
            for a, b in ((u, v), (v, u)):
                if not spare_capacity(d, a, b) <= 0:  # NaN (unknown) is open
                    open_ways.add_edge(a, b, length_km=d["length_km"])
        a, b = graph_node(str(row["from"]), system), graph_node(str(row["to"]), system)
        assert a in open_ways and b in open_ways, (row["arc_id"], system)
        # the arc's stretch, in its direction of flow, only over open ways
        km = nx.shortest_path_length(open_ways, a, b, weight="length_km")
        assert km <= 1.05 * float(row["length_km"]) + 10.0, (row["arc_id"], system, km)


class _FailingHighs:
    """A ``highspy.Highs`` whose runs end in HiGHS's "Solve error" (every run, or from the
    run given a start, the full MILP's, with ``from_start``)."""

    def __init__(self, h, from_start: bool):
        self._h, self._failing = h, not from_start

    def __getattr__(self, name):
        return getattr(self._h, name)

    def setSolution(self, sol):
        self._failing = True
        return self._h.setSolution(sol)

    def getModelStatus(self):
        import highspy

        return highspy.HighsModelStatus.kSolveError if self._failing else \
            self._h.getModelStatus()

    def getInfo(self):
        from types import SimpleNamespace

        return (SimpleNamespace(primal_solution_status=0, mip_dual_bound=float("nan"),
                                objective_function_value=float("inf"))
                if self._failing else self._h.getInfo())


@pytest.mark.parametrize("from_start", [False, True])
def test_highs_error_is_reported_not_silent(monkeypatch, caplog, from_start):
    """HiGHS failing on the plan's models ends in status "error" with HiGHS's status
    named in the result, the summary (system_plan.json) and the report, and a warning;
    when only the full MILP fails, the first plan is still the plan, with the message."""
    from planner.plan import optimise
    from planner.plan.outputs import plan_per_country, plan_report_markdown, system_plan_table

    made = optimise._highs_model
    monkeypatch.setattr(optimise, "_highs_model",
                        lambda *a, **k: _FailingHighs(made(*a, **k), from_start))
    net = _trunk_or_parallel_lines()
    with caplog.at_level("WARNING", logger="planner.plan.optimise"):
        r = solve_plan(net, OPTS, ECON)
    assert "HiGHS failed on the full MILP: Solve error" in r.message
    assert "HiGHS failed on the full MILP: Solve error" in caplog.text
    assert r.summary()["message"] == r.message
    if from_start:
        # the first plans ran: the trunk plan is the optimum of this network
        assert r.ok and r.status in ("optimal", "time limit")
        assert {(a, b) for a, b in zip(r.arcs["from"], r.arcs["to"], strict=True)} == \
            {("S", "H"), ("H", "A"), ("H", "B")}
        assert "LP relaxation" not in r.message
    else:
        assert r.status == "error" and not r.ok and len(r.arcs) == 0
        assert "HiGHS failed on the LP relaxation: Solve error" in r.message
        text = plan_report_markdown({**r.summary(), "violations": 0},
                                    system_plan_table(r.arcs), plan_per_country(r.arcs),
                                    independent_best(net, OPTS, ECON), pd.DataFrame())
        assert "Status **error**" in text and "Solve error" in text


def test_scipy_milp_error_is_reported(monkeypatch):
    from types import SimpleNamespace

    from planner.plan import optimise

    monkeypatch.setattr(optimise, "milp", lambda *a, **k: SimpleNamespace(
        status=4, x=None, fun=None, message="HiGHS did something unexpected."))
    r = solve_plan(_trunk_or_parallel_lines(), OPTS, ECON, first_plan=False)
    assert r.status == "error" and not r.ok
    assert r.message == ("HiGHS (scipy.optimize.milp) failed on the MILP: HiGHS did "
                         "something unexpected.")


def test_partly_discretised_build_relaxation_bounds_the_plan(monkeypatch):
    """The build relaxation with integer diameters on some arcs (the benchmark's "hybrid",
    issue 15) lies between the build relaxation and the MILP: exact on every arc it is the
    MILP (same optimum), on none the build relaxation."""
    from planner.plan import optimise

    got = {}

    def grab(c, integ, lo, hi, a_mat, lb, ub, options, ycols, *rest):
        got.update(c=c, integ=integ, lo=lo, hi=hi, a=a_mat, lb=lb, ub=ub, ycols=ycols)
        return "other", None, float("nan")

    net = _grid()
    opts = replace(OPTS, mip_gap=1e-6)
    optimum = solve_plan(net, opts, ECON, first_plan=False).objective_musd_y
    monkeypatch.setattr(optimise, "_solve_highs", grab)
    solve_plan(net, opts, ECON)
    nn = got["ycols"].shape[0]
    values = []
    for exact in (None, np.arange(nn) < nn // 2, np.ones(nn, bool)):
        h = optimise._build_relaxation(got["c"], got["integ"], got["lo"], got["hi"], got["a"],
                                       got["lb"], got["ub"], got["ycols"], 1, exact)
        h.setOptionValue("mip_rel_gap", 1e-6)
        _, obj, bound = optimise._run(h, 20.0)
        assert bound == pytest.approx(obj, rel=1e-5)
        values.append(obj)
    assert values[0] <= values[1] * (1 + 1e-6) and values[1] <= values[2] * (1 + 1e-6)
    assert values[2] == pytest.approx(optimum, rel=1e-5)
    assert values[0] < optimum  # the diameter mix is cheaper on this network


class _ScriptedHighs:
    """A ``highspy.Highs`` whose runs of the chosen models end in another model status:
    ``script`` maps "lp" (the LP relaxation), "restricted" (a MILP restricted to some
    arcs), "full" (the full MILP) and "build" (the build relaxation) to (status, point):
    whether HiGHS's own feasible point, if any, stays (else no point)."""

    def __init__(self, h, script, build: bool):
        self._h, self._script, self._build = h, script, build
        self._integer = self._fixed = False

    def __getattr__(self, name):
        return getattr(self._h, name)

    def changeColsIntegrality(self, *a):
        self._integer = True
        return self._h.changeColsIntegrality(*a)

    def changeColsBounds(self, n, cols, lo, hi):
        self._fixed = bool(np.all(np.asarray(hi) == 0))
        return self._h.changeColsBounds(n, cols, lo, hi)

    def _scripted(self):
        model = ("build" if self._build else "lp" if not self._integer else
                 "restricted" if self._fixed else "full")
        return self._script.get(model)

    def getModelStatus(self):
        s = self._scripted()
        return self._h.getModelStatus() if s is None else s[0]

    def getInfo(self):
        from types import SimpleNamespace

        s = self._scripted()
        if s is None or s[1]:
            return self._h.getInfo()
        return SimpleNamespace(primal_solution_status=0, mip_dual_bound=float("nan"),
                               objective_function_value=float("inf"))


def _scripted(monkeypatch, script):
    from planner.plan import optimise

    made = optimise._highs_model
    monkeypatch.setattr(optimise, "_highs_model", lambda *a, **k: _ScriptedHighs(
        made(*a, **k), script, build=(len(a) > 6 and a[6] is not None)
        or k.get("integ") is not None))


TRUNK = {("S", "H"), ("H", "A"), ("H", "B")}


def _built(r):
    return {(a, b) for a, b in zip(r.arcs["from"], r.arcs["to"], strict=True)}


def test_failed_build_relaxation_counts_no_bound(monkeypatch, caplog):
    import highspy

    _scripted(monkeypatch, {"build": (highspy.HighsModelStatus.kSolveError, False)})
    with caplog.at_level("WARNING", logger="planner.plan.optimise"):
        r = solve_plan(_trunk_or_parallel_lines(), OPTS, ECON)
    assert r.message == "HiGHS failed on the build relaxation: Solve error"
    assert "build" not in r.bounds and r.ok and _built(r) == TRUNK
    assert "build relaxation: Solve error" in caplog.text


def test_failed_restricted_milps_leave_the_full_milp(monkeypatch):
    import highspy

    _scripted(monkeypatch, {"restricted": (highspy.HighsModelStatus.kSolveError, False)})
    r = solve_plan(_trunk_or_parallel_lines(), OPTS, ECON)
    assert "HiGHS failed on the MILP restricted to" in r.message
    assert r.status == "optimal" and _built(r) == TRUNK


def test_error_status_keeps_a_feasible_incumbent(monkeypatch):
    """The full MILP fails but leaves a feasible point (no first plan to fall back on):
    that point is the plan, its run's bound is dropped, the message stays."""
    import highspy

    err = highspy.HighsModelStatus.kSolveError
    _scripted(monkeypatch, {"restricted": (err, False), "full": (err, True)})
    r = solve_plan(_trunk_or_parallel_lines(), OPTS, ECON)
    assert r.ok and r.status in ("optimal", "time limit") and _built(r) == TRUNK
    assert "HiGHS failed on the full MILP: Solve error" in r.message
    assert "milp" not in r.bounds


@pytest.mark.parametrize("status,point,expect", [
    ("kIterationLimit", True, "time limit"), ("kInterrupt", True, "time limit"),
    ("kModelEmpty", False, "error"), ("kTimeLimit", False, "time limit")])
def test_highspy_statuses_are_mapped_and_worded(monkeypatch, status, point, expect):
    """Every HiGHS model status of the full MILP has a status word: a limit with a plan is
    the plan (the remaining bounds may prove it), anything unusual has HiGHS's wording in
    the message; no plan within the time limit is "time limit", not "infeasible"."""
    import highspy

    st = getattr(highspy.HighsModelStatus, status)
    text = highspy.Highs().modelStatusToString(st)
    if point:
        _scripted(monkeypatch, {"full": (st, True)})
    else:  # no first plan either
        _scripted(monkeypatch, {"lp": (highspy.HighsModelStatus.kTimeLimit, False),
                                "full": (st, False)})
    r = solve_plan(_trunk_or_parallel_lines(), OPTS, ECON)
    if point:
        assert r.ok and _built(r) == TRUNK and text in r.message
    else:
        assert r.status == expect and not r.ok and np.isnan(r.objective_musd_y)
        assert r.message == (f"HiGHS failed on the full MILP: {text}" if expect == "error"
                             else "no plan found within the time limit of 20 s")


def test_lp_relaxation_unknown_with_a_feasible_point_is_used(monkeypatch, caplog):
    import highspy

    _scripted(monkeypatch, {"lp": (highspy.HighsModelStatus.kUnknown, True)})
    with caplog.at_level("INFO", logger="planner.plan.optimise"):
        r = solve_plan(_trunk_or_parallel_lines(), OPTS, ECON)
    assert r.status == "optimal" and r.message == "" and _built(r) == TRUNK
    assert "HiGHS #2108" in caplog.text and "first plan on the" in caplog.text


@pytest.mark.parametrize("code,message,with_x,status,note", [
    (4, "(HiGHS Status 11: Objective bound)", True, "time limit", "stopped with a plan"),
    (2, "(HiGHS Status 2: Model error)", False, "error", "failed on the MILP"),
    (2, "The problem is infeasible. (HiGHS Status 8: Infeasible)", False, "infeasible", ""),
    (1, "Time limit reached. (HiGHS Status 13: Time limit reached)", False, "time limit",
     "found no plan within the limit")])
def test_scipy_milp_statuses(monkeypatch, code, message, with_x, status, note):
    """scipy's milp: a point is a plan whatever the status (worded by it); its "Model
    error" (status 2) is an error, not infeasible; no plan in time is not infeasible."""
    from types import SimpleNamespace

    from planner.plan import optimise

    real = optimise.milp

    def fake(*a, **k):
        res = real(*a, **k)
        return SimpleNamespace(status=code, message=message,
                               x=res.x if with_x else None, fun=res.fun if with_x else None,
                               mip_gap=res.mip_gap, mip_dual_bound=res.mip_dual_bound)

    monkeypatch.setattr(optimise, "milp", fake)
    r = solve_plan(_trunk_or_parallel_lines(), OPTS, ECON, first_plan=False)
    assert r.status == status
    assert r.ok == with_x
    if with_x:
        assert _built(r) == TRUNK
    assert (note in r.message) if note else r.message == ""


def test_build_relaxation_exact_is_checked():
    import scipy.sparse as sp

    from planner.plan import optimise

    ycols = np.arange(4).reshape(2, 2)
    args = (np.ones(4), np.ones(4), np.zeros(4), np.ones(4), sp.csr_matrix((1, 4)),
            np.zeros(1), np.ones(1), ycols)
    for bad in (np.array([1, 0]), np.ones(3, bool), np.ones((2, 1), bool)):
        with pytest.raises(ValueError, match=r"boolean array of shape \(2,\)"):
            optimise._build_relaxation(*args, exact=bad)
    optimise._build_relaxation(*args, exact=np.array([True, False]))


def test_failed_solve_is_written_reported_and_not_cached(monkeypatch, tmp_path):
    """An error plan: system_plan.json has its status and message, the report shows the
    message neutralised (no doubled full stop), and the cache neither stores nor reuses
    the failed solve."""
    from planner import settings
    from planner.cache import store
    from planner.plan import run
    from planner.plan.check import check_arcs, check_paths, flow_paths
    from planner.plan.optimise import RESULT_COLUMNS, PlanResult
    from planner.plan.outputs import plan_per_country, system_plan_table

    net = _trunk_or_parallel_lines()
    failed = PlanResult("error", float("nan"), float("nan"), 1.0, 10, 5, 3,
                        pd.DataFrame(columns=RESULT_COLUMNS),
                        message="HiGHS failed on the *full* MILP: Solve error.")
    ind = pd.DataFrame({"destination": ["A"], "throughput_bcm_y": [2.0], "status": ["optimal"],
                        "alone_musd_y": [1.0], "sequential_musd_y": [1.0], "new_km": [1.0]})
    chk = check_arcs(failed.arcs, net, OPTS)
    plan = run.SystemPlan(OPTS, "base", net, failed, system_plan_table(failed.arcs),
                          plan_per_country(failed.arcs), ind, chk,
                          check_paths(failed.arcs, chk, flow_paths(failed.arcs, net), net,
                                      OPTS))
    written = json.loads(plan.write(tmp_path)["system_plan_json"].read_text())
    assert written["status"] == "error" and written["objective_musd_y"] is None
    assert written["message"] == failed.message
    md = plan.report_markdown()
    assert "**HiGHS failed on the \\*full\\* MILP: Solve error**." in md and ".." not in md
    assert "Solver message" in plan.panel_html()

    # the cache: a failed solve is solved again, a good one read back
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(run, "_plan_cache_key", lambda *a, **k: "k" * 40)
    monkeypatch.setattr(run, "independent_best", lambda *a: ind)
    good = replace(failed, status="optimal", objective_musd_y=1.0, message="")
    answers = [failed, failed, good, failed]
    monkeypatch.setattr(run, "solve_plan", lambda *a: answers.pop(0))
    store("plan-solve", "k" * 40, (failed, ind))  # an old run's failed entry: not reused
    for expect in ("error", "error", "optimal", "optimal"):
        assert run._cached_solves(None, None, None, OPTS, "base", net, ECON)[0].status == \
            expect
    assert answers == [failed]  # the good solve was read back, not solved again


def test_default_plan_new_arcs_km_per_terrain_class_add_up_to_their_length(default_run):
    # every new corridor of the shipped default study's candidate network carries its km
    # per terrain class (its pipe's terrain factor), classified on its (merged) geometry:
    # they add up to its length (geodesic sampling against the path's length); existing
    # arcs build no pipe and have none
    from planner.terrain_classes import TERRAIN_CLASSES

    arcs = default_run.extra["plan"].network.arcs
    new = arcs[arcs["kind"].eq("new")]
    assert len(new) > 10
    for a, km, length in zip(new["arc_id"], new["terrain_km"], new["length_km"], strict=True):
        assert isinstance(km, dict) and set(km) == set(TERRAIN_CLASSES), a
        assert all(np.isfinite(v) and v >= 0 for v in km.values()), a
        assert sum(km.values()) == pytest.approx(float(length), rel=0.02, abs=0.5), a
    assert arcs.loc[arcs["kind"].eq("existing"), "terrain_km"].isna().all()
    # some corridor crosses hills or mountains: the classes matter on the shipped study
    assert sum(km["hilly"] + km["mountain"] for km in new["terrain_km"]) > 0
