"""Coalition values from restricted system plans, solved as a sweep on dask.distributed.

``v(S)`` is the largest surplus the members of S create with only their own territory and
existing assets::

    v(S) = max over buyer sets B ⊆ buyers(S), B ≠ ∅ of
           Σ_{b∈B} (alternative price_b − seller cost) · volume_b · utilisation
           − annual cost of the system plan on S's territory serving B's destinations

and 0 when S holds no seller or no buyer, or when no B gains. A buyer is served whole
(all its destinations) or not at all. The plan on S's territory is the study's candidate
network without every arc that crosses a non-member for more than 1 km
(:meth:`planner.plan.candidates.PlanNetwork.restricted`). Tariffs on existing lines stay in
the cost (they stand for the lines' operation), also when their owner is a member.

Each (scenario, coalition, buyer set) is one MILP; :func:`run_sweep` runs them on a Dask
``LocalCluster`` through the planner's sweep engine (:mod:`planner.sweep.engine`).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from planner.coalition.game import coalitions
from planner.coalition.spec import GameSpec
from planner.plan.candidates import PlanNetwork
from planner.plan.optimise import PlanEconomics, solve_plan
from planner.plan.options import PlanOptions

log = logging.getLogger(__name__)

#: Pieces outside every country polygon (sea, digitising gaps) belong to no one.
NEUTRAL = "---"


@dataclass(frozen=True)
class PlanTask:
    """One restricted plan to solve."""

    scenario: str
    coalition: frozenset
    buyers: tuple[str, ...]
    demand: tuple[tuple[str, float], ...]
    excluded: tuple[str, ...] = ()


def plan_tasks(spec: GameSpec, demand: dict[str, float], scenarios: Sequence[str] = ("base",),
               excluded: dict[str, tuple[str, ...]] | None = None) -> list[PlanTask]:
    """Every (scenario, coalition, buyer set) whose plan must be solved.

    ``demand``: destination node → bcm/y (the study's destinations).
    """
    tasks = []
    for scen in scenarios:
        for s in coalitions(spec.players):
            if spec.seller not in s:
                continue
            members = [b for b in spec.buyers if b.country in s]
            for k in range(1, len(members) + 1):
                for combo in itertools.combinations(members, k):
                    dem = tuple((d, float(demand[d])) for b in combo for d in b.destinations
                                if d in demand)
                    tasks.append(PlanTask(scen, s, tuple(b.country for b in combo), dem,
                                          (excluded or {}).get(scen, ())))
    return tasks


class CoalitionPlanError(ValueError):
    """Some coalition plans have no answer (HiGHS failed, or found no plan within the time
    limit): the values, shares, core and prices built on them would be wrong. The
    message names every such plan (scenario, coalition, buyer set), its status and
    HiGHS's message."""


def solve_task(task: PlanTask, net: PlanNetwork, options: PlanOptions,
               econ: dict[str, PlanEconomics]) -> dict[str, Any]:
    """Solve one restricted plan (runs on a Dask worker).

    ``cost_musd_y`` is the plan's cost, inf when the buyer set cannot be served
    (infeasible) and NaN when the solve gave no answer (:func:`answered` false: status
    ``error``, or ``time limit`` without a plan); ``message`` is the plan's
    (:attr:`planner.plan.optimise.PlanResult.message`)."""
    allowed = [*task.coalition, NEUTRAL]
    sub = net.restricted(allowed=allowed, excluded=task.excluded)
    r = solve_plan(sub, options, econ[task.scenario], demand=dict(task.demand))
    cost = (r.objective_musd_y if r.ok else
            float("inf") if r.status == "infeasible" else float("nan"))
    return {"scenario": task.scenario, "coalition": task.coalition, "buyers": task.buyers,
            "status": r.status, "cost_musd_y": cost, "mip_gap": r.mip_gap,
            "solve_s": r.solve_s, "message": r.message}


def answered(status: str, cost_musd_y: float) -> bool:
    """Whether a plan's solve answered: a plan (finite cost) or ``infeasible`` (the buyer
    set cannot be served). ``error`` and ``time limit`` without a plan are no answer.

    Examples
    --------
    >>> answered("optimal", 10.0), answered("infeasible", float("inf"))
    (True, True)
    >>> answered("time limit", float("nan")), answered("error", float("nan"))
    (False, False)
    """
    cost = float(cost_musd_y)
    return bool(np.isfinite(cost) or (status == "infeasible" and cost == float("inf")))


def check_answered(costs: pd.DataFrame) -> None:
    """Raise :class:`CoalitionPlanError` naming every plan in ``costs`` (rows of
    :func:`solve_task`) without an answer (:func:`answered`); nothing when all answered."""
    if not len(costs):
        return
    bad = [r for r in costs.to_dict("records")
           if not answered(str(r["status"]), float(r["cost_musd_y"]))]
    if not bad:
        return

    def name(x: Any) -> str:
        return x if isinstance(x, str) else "+".join(sorted(str(m) for m in x))

    lines = [f"scenario {r['scenario']}, coalition {name(r['coalition'])}, buyers "
             f"{name(r['buyers'])}: status {r['status']}"
             + (f" ({r['message']})" if str(r.get("message") or "") else "") for r in bad]
    raise CoalitionPlanError(
        f"coalition plans: {len(bad)} of {len(costs)} restricted plans have no answer "
        "(HiGHS failed or found no plan within the time limit), so coalition values, "
        "shares, core and prices cannot be computed; nothing was written. Raise "
        "[plan] time_limit_s or rerun. Plans:\n" + "\n".join(f"  - {ln}" for ln in lines))


def _task_params(task: PlanTask) -> dict[str, Any]:
    """A plan task as the JSON-able parameters the sweep engine hashes and stores."""
    return {"scenario": task.scenario, "coalition": sorted(task.coalition),
            "buyers": list(task.buyers), "demand": [[d, q] for d, q in task.demand],
            "excluded": list(task.excluded)}


def _solve_params(params: Mapping[str, Any], shared: Any) -> pd.DataFrame:
    """:func:`solve_task` as a task of :func:`planner.sweep.engine.run_tasks` (one row)."""
    task = PlanTask(params["scenario"], frozenset(params["coalition"]), tuple(params["buyers"]),
                    tuple((str(d), float(q)) for d, q in params["demand"]),
                    tuple(params["excluded"]))
    row = solve_task(task, **shared)
    row["coalition"] = "+".join(sorted(task.coalition))
    row["buyers"] = "+".join(task.buyers)
    return pd.DataFrame([row])


def run_sweep(tasks: Sequence[PlanTask], *, workers: int = 2, processes: bool = True,
              shared: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]],
                                                             dict[str, Any]]:
    """``[solve_task(t, **shared) for t in tasks]`` on a Dask ``LocalCluster``, through the
    planner's sweep engine (:func:`planner.sweep.engine.run_tasks`: ``shared`` reaches each
    worker once, each result lands in a results store as it finishes, a failed task is
    reported, not lost silently).

    ``workers=1`` with ``processes=False`` runs in threads of this process (tests). Returns
    the results in the order of ``tasks`` and a note of how it ran (workers, seconds).
    """
    import tempfile

    from dask.distributed import Client, LocalCluster

    from planner.sweep.engine import ResultStore, run_tasks, task_key

    t0 = time.perf_counter()
    params = [_task_params(t) for t in tasks]
    # Dask logs its start and shutdown at INFO in this process: keep the CLI's output clean
    logging.getLogger("distributed").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="planner-coalitions-") as folder, \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes,
                         dashboard_address=":0", silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster) as client:
        store = ResultStore(folder)
        summary = run_tasks(_solve_params, params, store, client, shared=shared or {},
                            progress=False, desc="coalition plans")
        if summary.failed:
            raise RuntimeError("coalition plans failed: " + "; ".join(
                f"{k}: {v}" for k, v in summary.failed.items()))
        table = store.read().set_index("task_key")
    results: list[dict[str, Any]] = []
    for t, p in zip(tasks, params, strict=True):
        r = {str(k): v for k, v in table.loc[task_key(p)].items()}
        r["coalition"], r["buyers"] = t.coalition, t.buyers
        results.append(r)
    info: dict[str, Any] = {
        "engine": "dask.distributed LocalCluster (planner.sweep.engine.run_tasks)",
            "workers": workers, "processes": processes, "tasks": len(tasks),
            "seconds": time.perf_counter() - t0}
    return results, info


def surplus_musd_y(spec: GameSpec, buyers: Sequence[str], demand: dict[str, float],
                   utilisation: float, prices: dict[str, float] | None = None,
                   seller_cost: float | None = None) -> float:
    """Σ (alternative price − seller cost) × volume × utilisation of the buyers, M USD/y."""
    cost = spec.seller_cost_usd_per_1000m3 if seller_cost is None else seller_cost
    total = 0.0
    for b in spec.buyers:
        if b.country not in buyers:
            continue
        price = (prices or {}).get(b.country, b.alternative_price_usd_per_1000m3)
        vol = sum(demand.get(d, 0.0) for d in b.destinations)
        total += (price - cost) * vol * utilisation  # USD/1000 m³ × bcm = M USD
    return total


def game_values(spec: GameSpec, costs: pd.DataFrame, demand: dict[str, float],
                utilisation: float, scenario: str | None = None,
                prices: dict[str, float] | None = None, seller_cost: float | None = None
                ) -> pd.DataFrame:
    """``v(S)`` of every coalition from the solved plan costs (one scenario).

    Raises :class:`CoalitionPlanError` when a plan of the scenario has no answer
    (:func:`check_answered`).

    Returns
    -------
    pandas.DataFrame
        One row per coalition: ``coalition`` (frozenset), ``value_musd_y``,
        ``plan_cost_musd_y`` (of the best buyer set; 0 when none is served),
        ``served`` (buyers), ``status``.
    """
    c = costs if scenario is None else costs[costs["scenario"] == scenario]
    check_answered(c)
    return answered_game_values(spec, c, demand, utilisation, None, prices, seller_cost)


def answered_game_values(spec: GameSpec, costs: pd.DataFrame, demand: dict[str, float],
                         utilisation: float, scenario: str | None = None,
                         prices: dict[str, float] | None = None,
                         seller_cost: float | None = None) -> pd.DataFrame:
    """:func:`game_values` of costs already checked by :func:`check_answered` (the
    coalition game checks every scenario's plans once, then computes values under many
    price assumptions from them)."""
    c = costs if scenario is None else costs[costs["scenario"] == scenario]
    rows = []
    for s in coalitions(spec.players):
        best: tuple[float, float, tuple[str, ...], str] = (
            0.0, 0.0, (), "no seller" if spec.seller not in s else "no buyer")
        opts: list[dict[Any, Any]] = c[c["coalition"] == s].to_dict("records")
        if opts:
            best = (0.0, 0.0, (), "no gain")
        for r in opts:
            cost = float(r["cost_musd_y"])
            if not np.isfinite(cost):
                if best[3] == "no gain":
                    best = (0.0, 0.0, (), f"no gain ({r['status']} for some buyer sets)")
                continue
            buyers = tuple(str(b) for b in r["buyers"])
            gain = surplus_musd_y(spec, buyers, demand, utilisation, prices,
                                  seller_cost) - cost
            if gain > best[0]:
                best = (gain, cost, buyers, str(r["status"]))
        rows.append({"coalition": s, "value_musd_y": best[0], "plan_cost_musd_y": best[1],
                     "served": best[2], "status": best[3]})
    return pd.DataFrame(rows)


def value_map(values: pd.DataFrame) -> dict[frozenset, float]:
    return dict(zip(values["coalition"], values["value_musd_y"].astype(float), strict=True))


def price_scenarios(spec: GameSpec) -> list[tuple[dict[str, float], float]]:
    """Low/base/high of every buyer's alternative price and of the seller cost."""
    u = spec.price_uncertainty
    levels = (1 - u, 1.0, 1 + u)
    out = []
    for combo in itertools.product(levels, repeat=len(spec.buyers) + 1):
        prices = {b.country: b.alternative_price_usd_per_1000m3 * f
                  for b, f in zip(spec.buyers, combo[:-1], strict=True)}
        out.append((prices, spec.seller_cost_usd_per_1000m3 * combo[-1]))
    return out


def restricted_options(options: PlanOptions) -> PlanOptions:
    """Plan options for the coalition plans (no must-use rule: members may lack the line)."""
    return replace(options, must_use=(), two_paths=False)


__all__ = ["NEUTRAL", "CoalitionPlanError", "PlanTask", "answered", "answered_game_values",
           "check_answered", "game_values", "plan_tasks", "price_scenarios",
           "restricted_options", "run_sweep", "solve_task", "surplus_musd_y", "value_map"]
