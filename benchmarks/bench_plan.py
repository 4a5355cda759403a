"""System-plan benchmark: the MILP against network size, with and without the reductions.

Run from the repository root::

    python benchmarks/bench_plan.py            # sizes 10, 25, 50, 100, 200 and the default study
    python benchmarks/bench_plan.py --quick    # sizes 10, 25, 50

Prints the figures and appends them to ``benchmarks/RESULTS.md``.

What is compared, in one process, on the same networks:

1. Constructed networks of 10 → 200 nodes (seeded): one supply point, a fifth of the nodes
   destinations (1–4 bcm/y), an existing line through half of the key points cut into
   pieces (as :func:`planner.network.pipeline_graph` cuts lines every 25 km) with dead-end
   branches, and new corridors on the Delaunay edges of the key points. The
   plan (``reduce=True``: chains contracted, new chains too (one per-project intercept
   per corridor, so a few 0.1 M USD/y below the plain model), dead ends pruned, dominated
   diameters dropped, big-M at most the demand; solved through highspy from the cheaper of two first
   plans, :func:`planner.plan.optimise._solve_highs`) against the same reduced model solved by
   :func:`scipy.optimize.milp` from no start, and the plain model (``reduce=False``: the
   same MILP on the network as built, every diameter, :func:`scipy.optimize.milp`); all
   HiGHS, 60 s limit, 1 % gap. All must reach the same cost (within the gaps).
2. Plan cost against the sum of the independent best routes in the same model (alone and
   sequential, see :func:`planner.plan.optimise.independent_best`).
3. The default study's network, reduced and plain.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from planner.plan.candidates import (  # noqa: E402
    ARC_COLUMNS,
    PlanNetwork,
    contract_chains,
    contract_new_chains,
    delaunay_edges,
    prune_dead_ends,
)
from planner.plan.optimise import PlanEconomics, independent_best, solve_plan  # noqa: E402
from planner.plan.options import PlanOptions  # noqa: E402

ECON = PlanEconomics(discount_rate=0.08, lifetime_years=30, utilisation=0.8,
                     fuel_price_usd_per_1000m3=150.0, tariff_usd_per_1000m3_100km=1.66,
                     compressor_usd_per_kw=3670.0)


def synthetic(n: int, seed: int = 0) -> PlanNetwork:
    """A constructed network of about ``n`` nodes (see the module docstring)."""
    rng = np.random.default_rng(seed)
    n_key = max(4, n // 2)
    n_dead = max(1, n // 20)
    xy = rng.uniform(0, 2000, size=(n_key, 2))
    names = [f"n{i}" for i in range(n_key)]
    nodes = pd.DataFrame({"lon": xy[:, 0] / 100, "lat": xy[:, 1] / 100, "kind": "point",
                          "demand_bcm_y": 0.0, "supply": False}, index=names)
    nodes.loc["n0", "supply"] = True
    dests = rng.choice(np.arange(1, n_key), size=max(1, n // 5), replace=False)
    for d in dests:
        nodes.loc[f"n{d}", "demand_bcm_y"] = float(rng.integers(1, 5))
    rows = []

    def arc(u: str, v: str, kind: str, p: np.ndarray, q: np.ndarray, cap: float) -> None:
        length = float(np.hypot(*(q - p)))
        rows.append({"u": u, "v": v, "kind": kind,
                     "system": "Line" if kind == "existing" else "", "length_km": length,
                     "cost_km_eq": np.nan,
                     "terrain_km": ({"flat": length * (1 - (s := rng.uniform(0.0, 1.0))),
                                     "mountain": length * s} if kind == "new" else None),
                     "capacity_bcm_y": cap, "design": 0,
                     "km_by_country": {"AAA": length}, "countries": "AAA",
                     "geometry": LineString([tuple(p / 100), tuple(q / 100)])})

    for a, b in delaunay_edges(xy):
        arc(names[a], names[b], "new", xy[a], xy[b], np.nan)
    # an existing line through half of the key nodes, cut into pieces (as pipeline_graph cuts
    # lines every 25 km) so that the network has about n nodes
    order = np.argsort(xy[:, 0])[:: 2]
    n_extra = 0
    per_segment = max(0, n - n_key - n_dead) // max(1, len(order) - 1)
    for a, b in itertools.pairwise(order):
        p, q = xy[a], xy[b]
        k = per_segment + 1
        prev, prev_xy = names[a], p
        for j in range(1, k):
            mid = p + (q - p) * j / k
            name = f"x{n_extra}"
            n_extra += 1
            nodes.loc[name] = [mid[0] / 100, mid[1] / 100, "existing", 0.0, False]
            arc(prev, name, "existing", prev_xy, mid, 12.0)
            prev, prev_xy = name, mid
        arc(prev, names[b], "existing", prev_xy, q, 12.0)
    # dead-end branches off the line
    for j in range(n_dead):
        base = names[int(order[j % len(order)])]
        p = xy[int(order[j % len(order)])]
        tip = p + rng.uniform(-150, 150, size=2)
        name = f"dead{j}"
        nodes.loc[name] = [tip[0] / 100, tip[1] / 100, "existing", 0.0, False]
        arc(base, name, "existing", p, tip, 5.0)
    arcs = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    arcs.insert(0, "arc_id", [f"a{i}" for i in range(len(arcs))])
    return PlanNetwork(nodes, arcs.reindex(columns=ARC_COLUMNS))


def reduced(net: PlanNetwork) -> PlanNetwork:
    terminals = set(net.nodes.index[(net.nodes["demand_bcm_y"] > 0) | net.nodes["supply"]])
    keep = set(net.nodes.index[net.nodes["kind"] == "point"])
    arcs = contract_chains(net.arcs, keep=keep | terminals)
    nodes, arcs = prune_dead_ends(net.nodes, arcs, terminals)
    arcs = contract_new_chains(arcs, keep=terminals)
    nodes, arcs = prune_dead_ends(nodes, arcs, terminals)
    arcs = arcs.assign(arc_id=[f"r{i}" for i in range(len(arcs))])
    return PlanNetwork(nodes, gpd.GeoDataFrame(arcs, geometry="geometry", crs="EPSG:4326"))


def run(label: str, plain_net: PlanNetwork, red_net: PlanNetwork, opts: PlanOptions,
        with_independent: bool = True) -> dict[str, object]:
    t0 = time.perf_counter()
    r = solve_plan(red_net, replace(opts, reduce=True), ECON)
    t_red = time.perf_counter() - t0
    t0 = time.perf_counter()
    n = solve_plan(red_net, replace(opts, reduce=True), ECON, first_plan=False)
    t_nostart = time.perf_counter() - t0
    t0 = time.perf_counter()
    b = solve_plan(plain_net, replace(opts, reduce=False), ECON)
    t_plain = time.perf_counter() - t0
    row: dict[str, object] = {
        "network": label, "nodes": len(plain_net.nodes), "arcs": len(plain_net.arcs),
        "nodes_reduced": len(red_net.nodes), "arcs_reduced": len(red_net.arcs),
        "status": r.status, "cost": r.objective_musd_y, "gap": r.mip_gap,
        "binaries": r.n_binaries, "s": t_red,
        "nostart_status": n.status, "nostart_cost": n.objective_musd_y,
        "nostart_gap": n.mip_gap, "nostart_s": t_nostart,
        "plain_status": b.status, "plain_cost": b.objective_musd_y, "plain_gap": b.mip_gap,
        "plain_binaries": b.n_binaries, "plain_s": t_plain,
        "speedup": t_plain / max(t_red, 1e-9),
    }
    if with_independent:
        ind = independent_best(red_net, replace(opts, reduce=True), ECON)
        row["alone"] = float(ind["alone_musd_y"].sum())
        row["sequential"] = float(ind["sequential_musd_y"].sum())
    print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    return row


def default_study_networks() -> tuple[PlanNetwork, PlanNetwork, PlanOptions]:
    from planner.plan.options import plan_options_from_study
    from planner.plan.run import plan_scenario, study_plan_network
    from planner.runner import cost_surface_for
    from planner.study import default_study_path, layers_for_study, load_study

    study = load_study(default_study_path())
    layers = layers_for_study(study)
    opts = plan_options_from_study(study)
    scen = plan_scenario(study, opts)
    surface = cost_surface_for(study, layers, scen)
    red = study_plan_network(study, layers, surface, replace(opts, reduce=True))
    plain = study_plan_network(study, layers, surface, replace(opts, reduce=False))
    return plain, red, opts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sizes = [10, 25, 50] if args.quick else [10, 25, 50, 100, 200]
    opts = PlanOptions(enabled=True, time_limit_s=60.0, mip_gap=0.01)
    rows = []
    for n in sizes:
        net = synthetic(n, seed=n)
        rows.append(run(f"constructed {n}", net, reduced(net), opts))
    if not args.quick:
        plain, red, sopts = default_study_networks()
        rows.append(run("default study", plain, red, sopts))
    t = pd.DataFrame(rows)
    lines = [
        "", "## System plan MILP (`python benchmarks/bench_plan.py`)", "",
        f"{time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, "
        "HiGHS, time limit 60 s, relative gap 1 %. *plan*: with the reductions (chains "
        "contracted, dead ends pruned, dominated diameters dropped, big-M at most the "
        "demand), solved through highspy from the cheaper of two first plans (the MILP on "
        "the arcs the LP relaxation builds; the build relaxation's network with standard "
        "diameters); *no start*: the same reduced model with scipy.optimize.milp; *plain*: the "
        "same model on the network as built with every diameter, scipy.optimize.milp. "
        "Costs in M USD/y; *alone*/*sequential*: sum of the independent best routes in the "
        "same model.", "",
        "| network | nodes / arcs | reduced | plan: status, cost, gap, binaries, s | "
        "no start: status, cost, gap, s | "
        "plain: status, cost, gap, binaries, s | speed-up | alone | sequential |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in t.to_dict("records"):
        lines.append(
            f"| {r['network']} | {r['nodes']} / {r['arcs']} | {r['nodes_reduced']} / "
            f"{r['arcs_reduced']} | {r['status']}, {r['cost']:.1f}, {r['gap']:.2%}, "
            f"{r['binaries']}, {r['s']:.2f} | {r['nostart_status']}, "
            f"{r['nostart_cost']:.1f}, {r['nostart_gap']:.2%}, {r['nostart_s']:.2f} | "
            f"{r['plain_status']}, {r['plain_cost']:.1f}, "
            f"{r['plain_gap']:.2%}, {r['plain_binaries']}, {r['plain_s']:.2f} | "
            f"{r['speedup']:.1f}× | {r.get('alone', float('nan')):.1f} | "
            f"{r.get('sequential', float('nan')):.1f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        with open(ROOT / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
