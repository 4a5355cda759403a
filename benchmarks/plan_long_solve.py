"""Where is the default study's plan optimum? The plan's MILP solved for a long time.

Builds the default study's plan network and model by the runner's own path
(:func:`planner.plan.run.cached_plan_network`, then :func:`planner.plan.optimise.solve_plan`),
lets the runner's 60-s solve run as it does in a study, then gives HiGHS the full MILP
again from that plan with a long time limit, and records the best plan and the bound over
time from HiGHS's log. Run it alone (one long solve at a time, ``nice``)::

    nice python benchmarks/plan_long_solve.py --limit 1200 --network plan-net.pkl

``--network`` keeps the built network in a pickle (rebuilt when missing) so later runs
skip the cost surface and candidate corridors. Prints a table of (seconds, best plan,
bound, gap) and the runner's 60-s result beside it.

``--disaggregated SECONDS`` measures instead the bounds of the one-commodity-per-destination
formulation (:func:`disaggregated_model`): its LP relaxation by interior point and dual
simplex, HiGHS's bound on it as a MILP within SECONDS, beside the LP of the plan's own
rows, after checking it costs the same as the plan's model at a plan (``--optimum``, a
``--save`` pickle of a long solve, or else the runner's 60-s plan)::

    nice python benchmarks/plan_long_solve.py --network plan-net.pkl \
        --optimum long.pkl --disaggregated 60

``--threads N [N ...]`` compares HiGHS's thread counts on the same network in one run:
each arm runs the runner's solve (``--repeat`` times, the arms interleaved so all see the
same load) with the plan option ``threads`` N (0: HiGHS's default, which here runs its
parallel tree search with 2 workers; the shipped default is 1) and, for N > 1, HiGHS's
``parallel`` "on" on its MIP runs (the build relaxation, the restricted MILPs and the full
MILP); without ``--runner-only`` each arm then runs the long solve from the same start
(the first arm's first 60-s plan). Prints objective, bound, gap, wall and CPU seconds
(CPU over wall: the cores it got) and the load average per run, and each arm's gap over
the first arm's::

    nice python benchmarks/plan_long_solve.py --network plan-net.pkl --runner-only \
        --threads 1 2 --repeat 2
    nice python benchmarks/plan_long_solve.py --network plan-net.pkl --threads 1 2 \
        --limit 300

``--hybrid VARIANT [...]`` runs partly discretised build relaxations (integer diameters on
some new arcs, :func:`hybrid_solve`) beside the runner's solve, interleaved (``--repeat``);
``--hybrid-seconds`` gives the build relaxation and each hybrid that long instead, to see
where their bounds go::

    nice python benchmarks/plan_long_solve.py --network plan-net.pkl --hybrid second lp
    nice python benchmarks/plan_long_solve.py --network plan-net.pkl --hybrid second lp \
        --hybrid-seconds 150

``--capacity-cuts ROUNDS`` solves the build relaxation with truncated capacity cuts
(:func:`capacity_cut_rounds`): the destinations alone, then ROUNDS rounds adding the cuts
its point violates, each round at most ``--hybrid-seconds`` (default 150)::

    nice python benchmarks/plan_long_solve.py --network plan-net.pkl --capacity-cuts 4

``--study`` builds another study's plan network instead of the default study's.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import pickle
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.plan import optimise, tree_dp  # noqa: E402
from planner.plan.candidates import PlanNetwork  # noqa: E402
from planner.plan.optimise import PlanEconomics, PlanResult, solve_plan  # noqa: E402
from planner.plan.options import PlanOptions  # noqa: E402


def default_study_plan(path: Path | None = None
                       ) -> tuple[PlanNetwork, PlanOptions, PlanEconomics]:
    """The default study's (or ``path``'s) plan network, options and economics, as the
    runner builds them."""
    from planner.plan.options import plan_options_from_study
    from planner.plan.run import cached_plan_network, plan_scenario
    from planner.runner import cost_surface_for
    from planner.study import default_study_path, layers_for_study, load_study

    study = load_study(path or default_study_path())
    layers = layers_for_study(study)
    opts = plan_options_from_study(study)
    scen = plan_scenario(study, opts)
    surface = cost_surface_for(study, layers, scen)
    net = cached_plan_network(study, layers, surface, opts).restricted(
        excluded=scen.excluded_countries)
    econ = PlanEconomics.from_costs({**study.costs, **scen.costs})
    return net, opts, econ


def tree_first_plan(net: PlanNetwork, opts: PlanOptions, econ: PlanEconomics,
                    tree_arcs: tree_dp.PlanArcs, seconds: float = 10.0) -> None:
    """The subset DP's tree plans (:func:`planner.plan.tree_dp.tree_plan`) and the MILP
    restricted to their new arcs (with every existing arc), as a first plan would be."""
    import pandas as pd

    tp = tree_dp.tree_plan(tree_arcs)
    arcs = net.arcs[~net.arcs["system"].isin(opts.forbidden)].reset_index(drop=True)
    new = arcs[arcs["kind"] == "new"].reset_index(drop=True)
    sub = PlanNetwork(net.nodes, pd.concat([arcs[arcs["kind"] == "existing"],
                                            new[tp.built]]).reset_index(drop=True))
    r = solve_plan(sub, replace(opts, time_limit_s=seconds), econ, first_plan=False)
    print(f"tree plans: {tp.trees} DP runs, {int(tp.built.sum())} new arcs, "
          f"{tp.seconds:.2f} s, first within the capacities {tp.value:.1f}; their arcs with "
          f"standard diameters: {r.status}, {r.objective_musd_y:.2f} M USD/y "
          f"(gap {r.mip_gap:.2%}, {r.solve_s:.1f} s)", flush=True)


def plan_arcs(net: PlanNetwork, opts: PlanOptions, econ: PlanEconomics
              ) -> tuple[tree_dp.PlanArcs, dict[str, Any]]:
    """The plan's model as :func:`solve_plan` builds it: as arrays (costs, capacities,
    supplies and demands) and as its MILP (``c``, ``lo``, ``hi``, ``a``, ``lb``, ``ub``);
    no solve."""
    got: dict[str, Any] = {}
    original = optimise._solve_highs

    def grab(*args: Any) -> tuple[str, None, float]:
        got.update(zip(("c", "integ", "lo", "hi", "a", "lb", "ub"), args[:7], strict=True))
        got["arcs"] = args[10]
        return "other", None, float("nan")

    optimise._solve_highs = grab  # type: ignore[assignment]
    try:
        solve_plan(net, opts, econ, tree_bound=True)
    finally:
        optimise._solve_highs = original  # type: ignore[assignment]
    return got.pop("arcs"), got


def disaggregated_model(a: tree_dp.PlanArcs) -> dict[str, Any]:
    """The plan's MILP with one commodity per destination (the strong formulation).

    Per destination d: flows on each existing arc and direction, and on each new arc,
    diameter and direction, with their own flow balance (the supply points free).
    Rows linking them to the build binaries ``y[e,k]``:
    ``f^d[e,k,+] + f^d[e,k,-] <= min(d_d, cap_k) y[e,k]`` per destination, and
    ``Σ_d (f^d[e,k,+] + f^d[e,k,-]) <= cap_k y[e,k]``, ``Σ_k y[e,k] <= 1``; existing arcs
    ``Σ_d g^d[e,±] <= spare capacity``. Costs as :func:`solve_plan`'s. A relaxation of
    the plan's MILP with the same optimum (an optimal flow splits into acyclic paths, one
    destination each, so no destination carries more than its demand on an arc).
    """
    n, nd = a.n_nodes, len(a.destinations)
    ne, nn, nk = len(a.ex_u), len(a.nw_u), len(a.capacity)
    dem = np.asarray(a.demand, float)
    ns = len(a.supplies)
    capk = np.asarray(a.capacity, float)
    m = nn * nk
    o_g, o_y = 0, nd * 2 * ne
    o_f = o_y + m
    o_s = o_f + nd * 2 * m
    n_var = o_s + nd * ns
    c, lo, hi = np.zeros(n_var), np.zeros(n_var), np.full(n_var, np.inf)
    integ = np.zeros(n_var)
    c[o_y:o_f], hi[o_y:o_f], integ[o_y:o_f] = a.fixed.ravel(), 1.0, 1.0
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lb: list[np.ndarray] = []
    ub: list[np.ndarray] = []
    r0 = 0

    def add(r: np.ndarray, col: np.ndarray, v: np.ndarray) -> None:
        rows.append(np.asarray(r))
        cols.append(np.asarray(col))
        vals.append(np.broadcast_to(np.asarray(v, float), np.shape(col)))

    e_new, k_new = np.repeat(np.arange(nn), nk), np.tile(np.arange(nk), nn)
    for d in range(nd):
        g0, f0, base = o_g + d * 2 * ne, o_f + d * 2 * m, r0 + d * n
        c[g0:g0 + ne], c[g0 + ne:g0 + 2 * ne] = a.ex_cost_uv, a.ex_cost_vu
        hi[g0:g0 + ne] = np.minimum(a.ex_cap_uv, dem[d])
        hi[g0 + ne:g0 + 2 * ne] = np.minimum(a.ex_cap_vu, dem[d])
        c[f0:f0 + 2 * m] = np.tile(a.per_flow.ravel(), 2)
        hi[f0:f0 + 2 * m] = np.tile(np.minimum(capk, dem[d]), 2 * nn)
        for s, (tail, head) in enumerate(((a.ex_u, a.ex_v), (a.ex_v, a.ex_u))):
            col = g0 + s * ne + np.arange(ne)
            add(base + head, col, 1.0)
            add(base + tail, col, -1.0)
        for s, (tail, head) in enumerate(((a.nw_u, a.nw_v), (a.nw_v, a.nw_u))):
            col = f0 + s * m + np.arange(m)
            add(base + head[e_new], col, 1.0)
            add(base + tail[e_new], col, -1.0)
        add(base + np.asarray(a.supplies), o_s + d * ns + np.arange(ns), 1.0)
        rhs = np.zeros(n)
        rhs[a.destinations[d]] = dem[d]
        lb.append(rhs)
        ub.append(rhs)
    r0 += nd * n
    for s, cap in enumerate((a.ex_cap_uv, a.ex_cap_vu)):
        for d in range(nd):
            add(r0 + np.arange(ne), o_g + d * 2 * ne + s * ne + np.arange(ne), 1.0)
        lb.append(np.full(ne, -np.inf))
        ub.append(np.asarray(cap, float))
        r0 += ne
    j = np.arange(m)
    for d in range(nd):  # per destination, arc and diameter
        f0 = o_f + d * 2 * m
        add(r0 + j, f0 + j, 1.0)
        add(r0 + j, f0 + m + j, 1.0)
        add(r0 + j, o_y + j, -np.minimum(capk[k_new], dem[d]))
        lb.append(np.full(m, -np.inf))
        ub.append(np.zeros(m))
        r0 += m
    for d in range(nd):  # all destinations, per arc and diameter
        add(r0 + j, o_f + d * 2 * m + j, 1.0)
        add(r0 + j, o_f + d * 2 * m + m + j, 1.0)
    add(r0 + j, o_y + j, -capk[k_new])
    lb.append(np.full(m, -np.inf))
    ub.append(np.zeros(m))
    r0 += m
    add(r0 + e_new, o_y + j, 1.0)  # one diameter per arc
    lb.append(np.full(nn, -np.inf))
    ub.append(np.ones(nn))
    r0 += nn
    mat = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                        shape=(r0, n_var))
    return {"c": c, "lo": lo, "hi": hi, "a": mat, "lb": np.concatenate(lb),
            "ub": np.concatenate(ub), "integ": integ, "ycols": o_y + j}


def capacity_cut(a: tree_dp.PlanArcs, ycols: np.ndarray, nodes: frozenset[int]
                 ) -> tuple[np.ndarray, np.ndarray, float] | None:
    """The truncated capacity cut of a node set S (no supply point in it): with R = the
    demand in S less the existing lines' spare capacity into S, the new arcs crossing S
    must bring R, and no one diameter counts for more than R:
    ``Σ_{e crossing S} Σ_k min(cap_k, R) y[e,k] >= R``. Valid for the plan's MILP (an arc
    with a diameter of at least R covers R alone; else the capacities add up) and so for
    the build relaxation, where it forbids a mix of diameters below R on an arc that
    must carry R alone. Returns the row (columns, coefficients, R), or None when S holds a
    supply point, R <= 0 or no new arc crosses S."""
    members = np.fromiter(nodes, dtype=int)
    if set(a.supplies) & set(nodes):
        return None
    demand = sum(q for t, q in zip(a.destinations, a.demand, strict=True) if t in nodes)
    in_u, in_v = np.isin(a.ex_u, members), np.isin(a.ex_v, members)
    spare = a.ex_cap_uv[~in_u & in_v].sum() + a.ex_cap_vu[in_u & ~in_v].sum()
    need = float(demand - spare)
    crossing = np.flatnonzero(np.isin(a.nw_u, members) ^ np.isin(a.nw_v, members))
    if need <= 1e-9 or not len(crossing):
        return None
    coef = np.tile(np.minimum(np.asarray(a.capacity, float), need), len(crossing))
    return ycols[crossing].ravel(), coef, need


def violated_capacity_cuts(a: tree_dp.PlanArcs, ycols: np.ndarray, x: np.ndarray,
                           tol: float = 1e-3) -> list[frozenset[int]]:
    """Node sets whose :func:`capacity_cut` the point ``x`` (of the build relaxation)
    violates, by separation: for every subset T of the destinations, the minimum cut
    between the supply points and T (networkx) with the existing lines' spare capacity
    each way and each new arc's capacity in ``x`` (Σ_k cap_k y[e,k]) both ways; its sink
    side is S."""
    import itertools

    import networkx as nx

    installed = (x[ycols] * np.asarray(a.capacity, float)).sum(axis=1)
    g = nx.DiGraph()

    def add(u: Any, v: Any, cap: float) -> None:
        if cap > 1e-9:
            old = g.get_edge_data(u, v, {"capacity": 0.0})["capacity"]
            g.add_edge(u, v, capacity=old + cap)

    for u, v, cu, cv in zip(a.ex_u, a.ex_v, a.ex_cap_uv, a.ex_cap_vu, strict=True):
        add(int(u), int(v), float(cu))
        add(int(v), int(u), float(cv))
    for u, v, cap in zip(a.nw_u, a.nw_v, installed, strict=True):
        add(int(u), int(v), float(cap))
        add(int(v), int(u), float(cap))
    for s in a.supplies:
        add("source", int(s), float("inf"))
    found: set[frozenset[int]] = set()
    dests = list(zip(a.destinations, a.demand, strict=True))
    for r in range(1, len(dests) + 1):
        for subset in itertools.combinations(dests, r):
            h = g.copy()
            for t, q in subset:
                h.add_edge(int(t), "sink", capacity=float(q) + 1e-6)
            _, (_, sink_side) = nx.minimum_cut(h, "source", "sink")
            found.add(frozenset(int(v) for v in sink_side if v != "sink"))
    out = []
    for nodes in found:
        row = capacity_cut(a, ycols, nodes)
        if row is not None and row[2] - float(row[1] @ x[row[0]]) > tol:
            out.append(nodes)
    return out


def capacity_cut_rounds(net: PlanNetwork, opts: PlanOptions, econ: PlanEconomics,
                        rounds: int, seconds: float) -> None:
    """The build relaxation with truncated capacity cuts (:func:`capacity_cut`), in rounds:
    the destinations alone first, then each round adds the cuts the last round's point
    violates (:func:`violated_capacity_cuts`) and solves again (serial HiGHS, its 0.1 %
    gap, at most ``seconds`` a round). The baseline, the build relaxation without cuts, is
    solved first in the same run; prints each round's cuts, plan, bound, time and bound
    over the baseline's."""
    a, m = plan_arcs(net, opts, econ)
    ne, nn, nk = len(a.ex_u), len(a.nw_u), len(a.capacity)
    ycols = 2 * ne + np.arange(nn * nk).reshape(nn, nk)
    sets: list[frozenset[int]] = []  # the baseline: no cuts
    optimise._size_thread_pool()
    base = float("nan")
    for rnd in range(-1, rounds + 1):
        if rnd == 0:
            sets = [frozenset([int(t)]) for t in a.destinations]
        hb = optimise._build_relaxation(m["c"], m["integ"], m["lo"], m["hi"], m["a"],
                                        m["lb"], m["ub"], ycols, threads=1)
        hb.setOptionValue("mip_rel_gap", optimise.BUILD_GAP_SHARE * opts.mip_gap)
        n_cuts = nnz = 0
        for nodes in sets:
            row = capacity_cut(a, ycols, nodes)
            if row is not None:
                hb.addRow(row[2], np.inf, len(row[0]), row[0].astype(np.int32), row[1])
                n_cuts, nnz = n_cuts + 1, nnz + len(row[0])
        t = time.perf_counter()
        x, obj, bound = optimise._run(hb, seconds)
        if rnd < 0:
            base = bound
        print(f"{'baseline, no cuts' if rnd < 0 else f'round {rnd}'}: {n_cuts} cuts ({nnz} "
              f"nonzeros), {hb.modelStatusToString(hb.getModelStatus())}, plan {obj:.2f}, "
              f"bound {bound:.2f} ({bound / base:.4f} of the baseline's), "
              f"{time.perf_counter() - t:.1f} s", flush=True)
        if rnd < 0:
            continue
        if x is None or rnd == rounds:
            break
        new = [s for s in violated_capacity_cuts(a, ycols, x) if s not in sets]
        print(f"  violated at its point: {len(new)} (sizes "
              f"{sorted(len(s) for s in new)})", flush=True)
        if not new:
            break
        sets += new


def disaggregated_bound(net: PlanNetwork, opts: PlanOptions, econ: PlanEconomics,
                        plan_x: np.ndarray, plan_objective: float, seconds: float) -> None:
    """Measure the disaggregated formulation's bounds on the plan network: its value at a
    plan of :func:`solve_plan`'s model (``plan_x``, build binaries fixed: must equal
    ``plan_objective``, the check that both are the same model), its LP relaxation by
    interior point and by dual simplex (timed), and HiGHS's bound on it as a MILP within
    ``seconds`` (from its log); beside them the LP relaxation of :func:`solve_plan`'s own
    rows."""
    a, agg = plan_arcs(net, opts, econ)
    h = optimise._highs_model(agg["c"], agg["lo"], agg["hi"], agg["a"], agg["lb"], agg["ub"])
    h.setOptionValue("solver", "ipm")
    h.setOptionValue("run_crossover", "off")
    t = time.perf_counter()
    h.run()
    print(f"the plan's MILP (solve_plan's rows), LP relaxation (ipm): "
          f"{h.getInfo().objective_function_value:.2f} M USD/y, "
          f"{time.perf_counter() - t:.1f} s", flush=True)
    t = time.perf_counter()
    md = disaggregated_model(a)
    print(f"disaggregated model: {md['a'].shape[1]} variables ({int(md['integ'].sum())} "
          f"binary), {md['a'].shape[0]} constraints, {md['a'].nnz} nonzeros, built in "
          f"{time.perf_counter() - t:.1f} s", flush=True)
    ne, m = len(a.ex_u), len(md["ycols"])
    y_plan = np.round(plan_x[2 * ne:2 * ne + m])  # solve_plan's layout: x+, x-, then y
    lo, hi = md["lo"].copy(), md["hi"].copy()
    lo[md["ycols"]] = hi[md["ycols"]] = y_plan
    h = optimise._highs_model(md["c"], lo, hi, md["a"], md["lb"], md["ub"])
    h.run()
    val = h.getInfo().objective_function_value
    print(f"at the plan's network: {val:.4f} M USD/y against the plan's {plan_objective:.4f} "
          f"(difference {val - plan_objective:+.2e})", flush=True)
    for solver, extra in (("ipm", {"run_crossover": "off"}), ("simplex", {"simplex_strategy": 1})):
        h = optimise._highs_model(md["c"], md["lo"], md["hi"], md["a"], md["lb"], md["ub"])
        h.setOptionValue("solver", solver)
        for k, v in extra.items():
            h.setOptionValue(k, v)
        t = time.perf_counter()
        h.run()
        print(f"LP relaxation ({solver}): {h.getModelStatus()}, "
              f"{h.getInfo().objective_function_value:.2f} M USD/y, "
              f"{time.perf_counter() - t:.1f} s", flush=True)
    h, _, obj, bound, _, _, text = long_solve(md, seconds, mip_rel_gap=opts.mip_gap)
    print(f"as a MILP, {seconds:.0f} s: {h.getModelStatus()}, best {obj:.2f}, bound "
          f"{bound:.2f}", flush=True)
    for s, best, bnd in parse_highs_log(text):
        print(f"  {s:.1f} s: bound {bnd:.2f}, best {best:.2f}")


_ROW = re.compile(r"^\s*[A-Za-z]?\s+\d+\s+\d+\s+\d+\s+[\d.]+%\s+(\S+)\s+(\S+)\s+(\S+)"
                  r".*?\s([\d.]+)s\s*$")


def parse_highs_log(text: str) -> list[tuple[float, float, float]]:
    """(seconds, best plan, bound) from the rows of a HiGHS MIP log."""
    rows = []
    for line in text.splitlines():
        m = _ROW.match(line)
        if not m:
            continue
        bound, best = m.group(1), m.group(2)
        try:
            rows.append((float(m.group(4)), float(best) if best != "inf" else np.inf,
                         float(bound)))
        except ValueError:
            continue
    return rows


def runner_solve(net: PlanNetwork, opts: PlanOptions, econ: PlanEconomics,
                 **kwargs: Any) -> tuple[PlanResult, dict[str, Any]]:
    """The runner's solve, and the MILP it handed HiGHS: ``c, integ, lo, hi, a, lb, ub``,
    ``tree_arcs`` (when given) and ``x``, the plan it returned."""
    model: dict[str, Any] = {}
    original = optimise._solve_highs

    def capture(c: np.ndarray, integ: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                a_mat: Any, lb: np.ndarray, ub: np.ndarray, *rest: Any
                ) -> tuple[str, np.ndarray | None, float]:
        model.update(c=c, integ=integ, lo=lo, hi=hi, a=a_mat, lb=lb, ub=ub,
                     options=rest[0], ycols=rest[1],
                     tree_arcs=rest[3] if len(rest) > 3 else None)
        out = original(c, integ, lo, hi, a_mat, lb, ub, *rest)
        model["x"] = out[1]
        return out

    optimise._solve_highs = capture  # type: ignore[assignment]
    try:
        r = solve_plan(net, opts, econ, **kwargs)
    finally:
        optimise._solve_highs = original  # type: ignore[assignment]
    return r, model


def long_solve(model: dict[str, Any], limit: float, start: np.ndarray | None = None,
               threads: int | None = None, mip_rel_gap: float = 1e-4
               ) -> tuple[Any, np.ndarray | None, float, float, float, float, str]:
    """A MILP (``c, lo, hi, a, lb, ub, integ``) given to HiGHS from ``start`` for ``limit``
    seconds, with its log; returns the model, its plan, objective, bound, wall and CPU
    seconds of the run, and the log text."""
    h = optimise._highs_model(model["c"], model["lo"], model["hi"], model["a"], model["lb"],
                              model["ub"], model["integ"], threads=threads)
    with tempfile.TemporaryDirectory() as d:
        logf = Path(d) / "highs.log"
        _highs_log(h, logf)
        h.setOptionValue("mip_rel_gap", mip_rel_gap)
        t, cpu0 = time.perf_counter(), time.process_time()
        x, obj, bound = optimise._run(h, limit, start)
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu0
        text = logf.read_text(encoding="utf-8", errors="replace")
    return h, x, obj, bound, wall, cpu, text


def print_log_table(text: str) -> None:
    """HiGHS's best plan and bound from its log, every 30 s and at the end."""
    rows = parse_highs_log(text)
    print("| s | best plan | bound | gap |\n|---|---|---|---|")
    last = -1e9
    for s, best, bnd in rows:
        if s - last >= 30 or (s, best, bnd) == rows[-1]:
            gap = (best - bnd) / best if np.isfinite(best) else np.inf
            print(f"| {s:.0f} | {best:.2f} | {bnd:.2f} | {gap:.2%} |")
            last = s


@contextlib.contextmanager
def parallel_on(enabled: bool) -> Iterator[None]:
    """With ``enabled``, every MIP run of :mod:`planner.plan.optimise` (``_run``: the
    restricted MILPs, the build relaxation, the full MILP; not the first LP relaxation)
    gets HiGHS's ``parallel`` "on" (its default "choose")."""
    if not enabled:
        yield
        return
    run = optimise._run

    def run_parallel(h: Any, *args: Any, **kwargs: Any) -> Any:
        h.setOptionValue("parallel", "on")
        return run(h, *args, **kwargs)

    optimise._run = run_parallel  # type: ignore[assignment]
    try:
        yield
    finally:
        optimise._run = run  # type: ignore[assignment]


def _load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def compare_threads(net: PlanNetwork, opts: PlanOptions, econ: PlanEconomics,
                    arms: list[int], repeat: int, long_limit: float | None) -> None:
    """The runner's solve with each thread count in ``arms`` (``repeat`` rounds, the arms
    interleaved), then (``long_limit``) the full MILP from the same 60-s plan for
    ``long_limit`` seconds per arm; objective, bound, gap, wall and CPU seconds and the
    load average (1/5/15 min) per run, and each arm's bound gap over the first arm's."""
    rows: list[dict[str, Any]] = []
    start: dict[str, Any] = {}
    for rnd in range(repeat):
        for n in arms:
            load0, cpu0 = _load(), time.process_time()
            with parallel_on(n > 1):
                r, model = runner_solve(net, replace(opts, threads=n), econ)
            cpu = time.process_time() - cpu0
            bound = max(r.bounds.values()) if r.bounds else float("nan")
            rows.append({"threads": n, "round": rnd + 1, "status": r.status,
                         "objective": r.objective_musd_y, "bound": bound, "gap": r.mip_gap,
                         "wall": r.solve_s, "cpu": cpu, "load": f"{load0} → {_load()}",
                         "bounds": r.bounds})
            print(f"threads {n}, round {rnd + 1}: {r.status}, {r.objective_musd_y:.2f} M "
                  f"USD/y, bound {bound:.2f}, gap {r.mip_gap:.2%}, {r.solve_s:.1f} s "
                  f"(CPU {cpu:.1f} s), load {rows[-1]['load']}; bounds "
                  + ", ".join(f"{k} {v:.1f}" for k, v in r.bounds.items()), flush=True)
            if not start and model.get("x") is not None:
                start = model
    print("\n| threads | round | status | plan (M USD/y) | bound | gap | wall s | CPU s "
          "| load 1/5/15 min |\n|---|---|---|---|---|---|---|---|---|")
    for w in rows:
        print(f"| {w['threads']} | {w['round']} | {w['status']} | {w['objective']:.2f} | "
              f"{w['bound']:.2f} | {w['gap']:.2%} | {w['wall']:.1f} | {w['cpu']:.1f} | "
              f"{w['load']} |")
    base = np.mean([w["gap"] for w in rows if w["threads"] == arms[0]])
    for n in arms:
        gaps = [w["gap"] for w in rows if w["threads"] == n]
        bnds = [w["bound"] for w in rows if w["threads"] == n]
        print(f"threads {n}: mean gap {np.mean(gaps):.2%} (range {min(gaps):.2%}–"
              f"{max(gaps):.2%}), mean bound {np.mean(bnds):.2f}; gap / threads "
              f"{arms[0]}'s: {np.mean(gaps) / base:.2f}", flush=True)
    if long_limit is None or not start:
        return
    finals: dict[int, tuple[float, float]] = {}
    for n in arms:
        optimise._size_thread_pool()
        load0 = _load()
        with parallel_on(n > 1):
            h, _, obj, bound, wall, cpu, text = long_solve(start, long_limit, start["x"],
                                                           threads=n)
        workers = [ln.strip() for ln in text.splitlines()
                   if "worker" in ln.lower() or "parallel" in ln.lower()]
        finals[n] = (obj, bound)
        print(f"\nlong solve, threads {n}: {h.getModelStatus()}, best {obj:.2f}, bound "
              f"{bound:.2f}, gap {(obj - bound) / obj:.2%}, {wall:.0f} s (CPU {cpu:.0f} s), "
              f"load {load0} → {_load()}; HiGHS: {'; '.join(workers) or '-'}", flush=True)
        print_log_table(text)
    o0, b0 = finals[arms[0]]
    for n in arms[1:]:
        o, b = finals[n]
        print(f"long solve: gap with threads {n} / threads {arms[0]}: "
              f"{((o - b) / o) / ((o0 - b0) / o0):.2f}", flush=True)


HYBRID_VARIANTS = ("runner", "lp", "first", "second", "mixed", "target", "iter")


def _highs_log(h: Any, path: Path) -> None:
    h.setOptionValue("output_flag", True)
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("log_file", str(path))


def hybrid_solve(model: dict[str, Any], variant: str, logdir: Path,
                 seconds: float | None = None) -> dict[str, Any]:
    """The runner's pipeline (:func:`planner.plan.optimise._solve_highs`, serial) with a
    *partially discretised build relaxation* ("hybrid": integer diameters on a set S of
    new arcs, continuous on the rest, one build binary per arc; still a relaxation of the
    plan's MILP, :func:`planner.plan.optimise._build_relaxation` with ``exact``).

    ``variant``: ``lp`` (the hybrid with S = the arcs the LP relaxation builds replaces
    the build relaxation, same time share and gap), ``first`` (the same with S = the new
    arcs of the first plan), ``second`` (the runner's steps, then instead of the full MILP
    the hybrid with S = the build relaxation's arcs and the best plan's, the best plan's
    cost as HiGHS's ``objective_bound`` cutoff, for the time left), ``iter`` (as
    ``second``, then S grows by the arcs the hybrid's plan builds with a diameter mix and
    it runs again while time is left), ``target`` (as ``second`` with the cutoff at the
    gap target, (1 - ``mip_gap``) × the best plan's cost: HiGHS then only has to prove
    that nothing in the relaxation is cheaper than that), ``mixed`` (as ``second`` with S
    only the build relaxation's arcs built with a mix of diameters). Returns the plan, the bounds by
    source and each step's log line; the hybrids' HiGHS logs go to ``logdir``. With
    ``seconds`` the build relaxation and each hybrid get that long, outside the time limit
    (to see where their bounds go, not a solve the runner could run).
    """
    import highspy

    opts: PlanOptions = model["options"]
    c, integ, lo, hi = model["c"], model["integ"], model["lo"], model["hi"]
    a_mat, lb, ub, ycols = model["a"], model["lb"], model["ub"], model["ycols"]
    limit, n = opts.time_limit_s, len(c)
    steps: list[str] = []
    t0 = time.perf_counter()

    def note(text: str) -> None:
        steps.append(f"{time.perf_counter() - t0:5.1f} s: {text}")
        print("   " + steps[-1], flush=True)

    optimise._size_thread_pool()
    # the runner's first steps (LP relaxation, the MILP on the arcs it builds), shared
    first = optimise._first_plan(c, integ, lo, hi, a_mat, lb, ub, opts, ycols, t0=t0)
    h, restricted = first.h, first.restricted

    def arcs_of(x: np.ndarray) -> np.ndarray:
        return x[ycols].sum(axis=1) > 0.5

    bounds: dict[str, float] = {}
    lp_arcs = first.lp_arcs
    best, best_obj = first.x, first.obj
    note(f"first plan on the {int(lp_arcs.sum())} arcs the LP builds: {best_obj:.2f}")

    def relaxation(exact: np.ndarray | None, seconds: float, name: str,
                   cutoff: float | None = None) -> tuple[np.ndarray | None, float, float]:
        hb = optimise._build_relaxation(c, integ, lo, hi, a_mat, lb, ub, ycols,
                                        opts.threads, exact)
        hb.setOptionValue("mip_rel_gap", optimise.BUILD_GAP_SHARE * opts.mip_gap)
        if cutoff is not None:
            hb.setOptionValue("objective_bound", float(cutoff))
        logf = logdir / f"{variant}-{name}.log"
        _highs_log(hb, logf)
        x, obj, bnd = optimise._run(hb, seconds)
        st = hb.getModelStatus()
        if cutoff is not None and st == highspy.HighsModelStatus.kInfeasible:
            bnd = cutoff  # nothing in the relaxation below the cutoff
        elif cutoff is not None:
            bnd = min(bnd, cutoff)
        traj = parse_highs_log(logf.read_text(encoding="utf-8", errors="replace"))
        marks = [r for i, r in enumerate(traj) if i == len(traj) - 1 or
                 int(r[0] // 5) != int(traj[i + 1][0] // 5)]
        note(f"{name} ({int(np.sum(exact)) if exact is not None else 0} arcs exact"
             f"{'' if cutoff is None else f', cutoff {cutoff:.2f}'}): {st}, "
             f"{obj:.2f}, bound {bnd:.2f}; HiGHS's bound by s: "
             + ", ".join(f"{s:.0f}: {b:.1f}" for s, _, b in marks))
        return x, obj, bnd

    def candidate(x: np.ndarray | None, name: str) -> None:
        nonlocal best, best_obj
        if x is None:
            return
        arcs = x[n:] > 0.5
        x2, obj2 = restricted(arcs, optimise.START_TIME_SHARE * limit)
        note(f"{name}'s {int(arcs.sum())} arcs with standard diameters: {obj2:.2f}")
        if obj2 < best_obj:
            best, best_obj = x2, obj2

    first_arcs = arcs_of(best) if best is not None else lp_arcs
    share = optimise.BUILD_TIME_SHARE * limit if seconds is None else seconds
    if variant in ("lp", "first"):
        exact = lp_arcs if variant == "lp" else first_arcs
        x_b, _, bounds["hybrid"] = relaxation(exact, share, "hybrid")
        candidate(x_b, "hybrid")
    else:
        x_b, _, bounds["build"] = relaxation(None, share, "build")
        candidate(x_b, "build relaxation")
    if variant in ("second", "mixed", "target", "iter") and x_b is not None and \
            best is not None:
        mix = (x_b[n:] > 0.5) & (x_b[ycols].max(axis=1) < 1 - 1e-6)
        note(f"build relaxation: {int((x_b[n:] > 0.5).sum())} arcs, {int(mix.sum())} of "
             f"them with a mix of diameters")
        exact = mix if variant == "mixed" else (x_b[n:] > 0.5) | arcs_of(best)
        rnd = 0
        while True:
            rnd += 1
            left = limit - (time.perf_counter() - t0) if seconds is None else seconds
            if left < 2.0:
                break
            cut = best_obj * (1 - opts.mip_gap) if variant == "target" else best_obj
            x_h, _, bnd = relaxation(exact, left, f"hybrid{rnd}", cutoff=cut)
            bounds["hybrid"] = max(bounds.get("hybrid", -np.inf), bnd)
            if variant != "iter" or x_h is None:
                break
            # arcs the hybrid builds with a mix of diameters: exact in the next round
            mixed = (x_h[n:] > 0.5) & (x_h[ycols].max(axis=1) < 1 - 1e-6) & ~exact
            candidate(x_h, f"hybrid{rnd}")
            if not mixed.any() or seconds is not None:
                break
            exact = exact | mixed
    else:
        x, obj, bounds["milp"] = optimise._run(h, optimise._time_left(t0, limit), best)
        note(f"full MILP: {h.getModelStatus()}, {obj:.2f}, bound {bounds['milp']:.2f}")
        if x is not None and obj < best_obj:
            best, best_obj = x, obj
    valid = optimise._valid_bounds(bounds, best_obj)
    return {"objective": best_obj, "bounds": valid, "gap": optimise._gap(best_obj, valid),
            "wall": time.perf_counter() - t0, "steps": steps}


def compare_hybrid(net: PlanNetwork, opts: PlanOptions, econ: PlanEconomics,
                   variants: list[str], repeat: int, seconds: float | None = None) -> None:
    """Each variant of :func:`hybrid_solve` beside the runner's solve (``runner``, the
    baseline arm), interleaved ``repeat`` times on the same network (serial HiGHS,
    ``threads`` 1): plan, bounds, gap, wall and CPU seconds, load, and each arm's gap
    over the runner's."""
    opts = replace(opts, threads=1)
    rows: list[dict[str, Any]] = []
    model: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as d:
        for rnd in range(repeat):
            for v in ["runner", *[w for w in variants if w != "runner"]]:
                load0, cpu0 = _load(), time.process_time()
                print(f"{v}, round {rnd + 1} (load {load0}):", flush=True)
                if v == "runner" or not model:
                    r, model = runner_solve(net, opts, econ)
                if v == "runner":
                    out = {"objective": r.objective_musd_y, "bounds": r.bounds,
                           "gap": r.mip_gap, "wall": r.solve_s}
                else:
                    out = hybrid_solve(model, v, Path(d), seconds)
                cpu = time.process_time() - cpu0
                bound = max(out["bounds"].values()) if out["bounds"] else float("nan")
                rows.append({"variant": v, "round": rnd + 1, **out, "bound": bound,
                             "cpu": cpu, "load": f"{load0} → {_load()}"})
                print(f"{v}, round {rnd + 1}: {out['objective']:.2f} M USD/y, bound "
                      f"{bound:.2f}, gap {out['gap']:.2%}, {out['wall']:.1f} s (CPU "
                      f"{cpu:.1f} s), load {rows[-1]['load']}; bounds "
                      + ", ".join(f"{k} {b:.1f}" for k, b in out["bounds"].items()),
                      flush=True)
    print("\n| variant | round | plan (M USD/y) | bound | bounds | gap | wall s | CPU s "
          "| load 1/5/15 min |\n|---|---|---|---|---|---|---|---|---|")
    for w in rows:
        print(f"| {w['variant']} | {w['round']} | {w['objective']:.2f} | {w['bound']:.2f} | "
              + ", ".join(f"{k} {b:.1f}" for k, b in w["bounds"].items())
              + f" | {w['gap']:.2%} | {w['wall']:.1f} | {w['cpu']:.1f} | {w['load']} |")
    base = np.mean([w["gap"] for w in rows if w["variant"] == "runner"])
    for v in dict.fromkeys(w["variant"] for w in rows):
        gaps = [w["gap"] for w in rows if w["variant"] == v]
        print(f"{v}: mean gap {np.mean(gaps):.2%} (range {min(gaps):.2%}–{max(gaps):.2%}); "
              f"gap / runner's: {np.mean(gaps) / base:.2f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=float, default=1200.0, help="long solve, seconds")
    ap.add_argument("--study", type=Path, default=None,
                    help="a study file (default: the shipped default study)")
    ap.add_argument("--network", type=Path, default=None, help="pickle of the plan network")
    ap.add_argument("--skip-runner", action="store_true",
                    help="start the long solve from no plan instead of the 60-s solve's")
    ap.add_argument("--save", type=Path, default=None, help="pickle of the long solve")
    ap.add_argument("--tree-plan", action="store_true",
                    help="also the subset DP's tree plans as a first plan (10 s)")
    ap.add_argument("--runner-only", action="store_true",
                    help="only the runner's 60-s solve (with its bounds by source)")
    ap.add_argument("--disaggregated", type=float, default=None, metavar="SECONDS",
                    help="measure the one-commodity-per-destination formulation's bounds "
                         "(its MILP for SECONDS); checked at --optimum's plan or the "
                         "runner's")
    ap.add_argument("--optimum", type=Path, default=None,
                    help="a --save pickle of a long solve (its plan for the check)")
    ap.add_argument("--threads", type=int, nargs="+", default=None, metavar="N",
                    help="compare HiGHS thread counts (parallel 'on' for N > 1; 0: "
                         "HiGHS's default) on the "
                         "runner's solve and, without --runner-only, the long solve")
    ap.add_argument("--repeat", type=int, default=1,
                    help="with --threads or --hybrid: rounds of the runner's solve per arm")
    ap.add_argument("--hybrid-seconds", type=float, default=None,
                    help="with --hybrid: the build relaxation and each hybrid get this "
                         "long, outside the time limit")
    ap.add_argument("--capacity-cuts", type=int, default=None, metavar="ROUNDS",
                    help="the build relaxation with truncated capacity cuts, ROUNDS rounds "
                         "of separation (each round at most --hybrid-seconds, default 150)")
    ap.add_argument("--hybrid", nargs="+", default=None, choices=HYBRID_VARIANTS,
                    metavar="VARIANT",
                    help="partially discretised build relaxations (hybrid_solve: "
                         + ", ".join(HYBRID_VARIANTS) + ") beside the runner's solve")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.network is not None and args.network.exists():
        net, opts, econ = pickle.loads(args.network.read_bytes())
    else:
        t = time.perf_counter()
        net, opts, econ = default_study_plan(args.study)
        print(f"network built in {time.perf_counter() - t:.1f} s", flush=True)
        if args.network is not None:
            args.network.write_bytes(pickle.dumps((net, opts, econ)))
    print(f"{len(net.nodes)} nodes, {len(net.arcs)} arcs", flush=True)
    if args.capacity_cuts is not None:
        capacity_cut_rounds(net, opts, econ, args.capacity_cuts, args.hybrid_seconds or 150.0)
        return
    if args.hybrid:
        compare_hybrid(net, opts, econ, args.hybrid, args.repeat, args.hybrid_seconds)
        return
    if args.threads:
        compare_threads(net, opts, econ, args.threads, args.repeat,
                        None if args.runner_only else args.limit)
        return

    if args.disaggregated is not None and args.optimum is not None:
        saved = pickle.loads(args.optimum.read_bytes())
        disaggregated_bound(net, opts, econ, saved["x"], saved["objective"],
                            args.disaggregated)
        return
    r, model = runner_solve(net, opts, econ, tree_bound=args.tree_plan)
    print(f"runner's solve: {r.status}, {r.objective_musd_y:.2f} M USD/y, gap "
          f"{r.mip_gap:.2%}, {r.solve_s:.1f} s, {r.n_binaries} binaries; bounds "
          + ", ".join(f"{k} {v:.1f}" for k, v in r.bounds.items()), flush=True)
    if args.tree_plan and model.get("tree_arcs") is not None:
        tree_first_plan(net, opts, econ, model["tree_arcs"])
    if args.disaggregated is not None and model.get("x") is not None:
        disaggregated_bound(net, opts, econ, model["x"], r.objective_musd_y,
                            args.disaggregated)
        return
    if args.runner_only:
        return

    start = None if args.skip_runner else model.get("x")
    h, x, obj, bound, wall, _, text = long_solve(model, args.limit, start)
    print(f"long solve: {h.getModelStatus()}, best {obj:.2f}, bound {bound:.2f}, gap "
          f"{(obj - bound) / obj:.2%}, {wall:.0f} s", flush=True)
    print_log_table(text)
    if x is not None:
        ycols = np.flatnonzero(model["integ"])
        print(f"binaries on: {int((x[ycols] > 0.5).sum())}", flush=True)
        if args.save is not None:
            args.save.write_bytes(pickle.dumps({"x": x, "objective": obj, "bound": bound,
                                                "log": text}))


if __name__ == "__main__":
    main()
