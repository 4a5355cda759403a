"""Where is the default study's plan optimum? The plan's MILP solved for a long time.

Builds the default study's plan network and model by the runner's own path
(:func:`planner.plan.run.cached_plan_network`, then :func:`planner.plan.optimise.solve_plan`),
lets the runner's 60-s solve run as it does in a study, then gives HiGHS the full MILP
again from that plan with a long time limit, and records the best plan and the bound over
time from HiGHS's log. Run it alone (one long solve at a time, ``nice``)::

    nice python benchmarks/plan_long_solve.py --limit 1200 --network /tmp/plan-net.pkl

``--network`` keeps the built network in a pickle (rebuilt when missing) so later runs
skip the cost surface and candidate corridors. Prints a table of (seconds, best plan,
bound, gap) and the runner's 60-s result beside it.
"""

from __future__ import annotations

import argparse
import logging
import pickle
import re
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.plan import optimise, tree_dp  # noqa: E402
from planner.plan.candidates import PlanNetwork  # noqa: E402
from planner.plan.optimise import PlanEconomics, solve_plan  # noqa: E402
from planner.plan.options import PlanOptions  # noqa: E402


def default_study_plan() -> tuple[PlanNetwork, PlanOptions, PlanEconomics]:
    """The default study's plan network, options and economics, as the runner builds them."""
    from planner.plan.options import plan_options_from_study
    from planner.plan.run import cached_plan_network, plan_scenario
    from planner.runner import cost_surface_for
    from planner.study import default_study_path, layers_for_study, load_study

    study = load_study(default_study_path())
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=float, default=1200.0, help="long solve, seconds")
    ap.add_argument("--network", type=Path, default=None, help="pickle of the plan network")
    ap.add_argument("--skip-runner", action="store_true",
                    help="start the long solve from no plan instead of the 60-s solve's")
    ap.add_argument("--save", type=Path, default=None, help="pickle of the long solve")
    ap.add_argument("--tree-plan", action="store_true",
                    help="also the subset DP's tree plans as a first plan (10 s)")
    ap.add_argument("--runner-only", action="store_true",
                    help="only the runner's 60-s solve (with its bounds by source)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.network is not None and args.network.exists():
        net, opts, econ = pickle.loads(args.network.read_bytes())
    else:
        t = time.perf_counter()
        net, opts, econ = default_study_plan()
        print(f"network built in {time.perf_counter() - t:.1f} s", flush=True)
        if args.network is not None:
            args.network.write_bytes(pickle.dumps((net, opts, econ)))
    print(f"{len(net.nodes)} nodes, {len(net.arcs)} arcs", flush=True)

    model: dict[str, Any] = {}
    original = optimise._solve_highs

    def capture(c: np.ndarray, integ: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                a_mat: Any, lb: np.ndarray, ub: np.ndarray, *rest: Any
                ) -> tuple[str, np.ndarray | None, float]:
        model.update(c=c, integ=integ, lo=lo, hi=hi, a=a_mat, lb=lb, ub=ub,
                     tree_arcs=rest[3] if len(rest) > 3 else None)
        out = original(c, integ, lo, hi, a_mat, lb, ub, *rest)
        model["x"] = out[1]
        return out

    optimise._solve_highs = capture  # type: ignore[assignment]
    try:
        r = solve_plan(net, opts, econ)
    finally:
        optimise._solve_highs = original  # type: ignore[assignment]
    print(f"runner's solve: {r.status}, {r.objective_musd_y:.2f} M USD/y, gap "
          f"{r.mip_gap:.2%}, {r.solve_s:.1f} s, {r.n_binaries} binaries; bounds "
          + ", ".join(f"{k} {v:.1f}" for k, v in r.bounds.items()), flush=True)
    if args.tree_plan and model.get("tree_arcs") is not None:
        tree_first_plan(net, opts, econ, model["tree_arcs"])
    if args.runner_only:
        return

    h = optimise._highs_model(model["c"], model["lo"], model["hi"], model["a"], model["lb"],
                              model["ub"], model["integ"])
    with tempfile.TemporaryDirectory() as d:
        logf = Path(d) / "highs.log"
        h.setOptionValue("output_flag", True)
        h.setOptionValue("log_to_console", False)
        h.setOptionValue("log_file", str(logf))
        h.setOptionValue("mip_rel_gap", 1e-4)
        start = None if args.skip_runner else model.get("x")
        t = time.perf_counter()
        x, obj, bound = optimise._run(h, args.limit, start)
        wall = time.perf_counter() - t
        text = logf.read_text(encoding="utf-8", errors="replace")
    rows = parse_highs_log(text)
    print(f"long solve: {h.getModelStatus()}, best {obj:.2f}, bound {bound:.2f}, gap "
          f"{(obj - bound) / obj:.2%}, {wall:.0f} s", flush=True)
    print("| s | best plan | bound | gap |\n|---|---|---|---|")
    last = -1e9
    for s, best, bnd in rows:
        if s - last >= 30 or (s, best, bnd) == rows[-1]:
            gap = (best - bnd) / best if np.isfinite(best) else np.inf
            print(f"| {s:.0f} | {best:.2f} | {bnd:.2f} | {gap:.2%} |")
            last = s
    if x is not None:
        ycols = np.flatnonzero(model["integ"])
        print(f"binaries on: {int((x[ycols] > 0.5).sum())}", flush=True)
        if args.save is not None:
            args.save.write_bytes(pickle.dumps({"x": x, "objective": obj, "bound": bound,
                                                "log": text}))


if __name__ == "__main__":
    main()
