"""``planner coalitions [STUDY]``: the union's coalition game from the study's system plan.

:func:`coalition_game` solves the restricted plans (a Dask sweep over scenarios, coalitions
and buyer sets), computes the Shapley value, the core check, the least core and the
nucleolus, the sensitivity of the shares to the price assumptions and the scenarios, and
the price corridor per buyer. :func:`run_coalitions` writes ``coalitions.csv``,
``shares.csv``, ``prices.csv`` and ``coalitions.json`` into ``maps/<study>/`` and adds the
section to the study's report and map when they are there.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner import settings
from planner.coalition import game as g
from planner.coalition.spec import GameSpec, game_spec_from_study
from planner.coalition.values import (
    answered_game_values,
    check_answered,
    plan_tasks,
    price_scenarios,
    restricted_options,
    run_sweep,
    value_map,
)
from planner.plan.candidates import PlanNetwork
from planner.plan.optimise import PlanEconomics
from planner.plan.options import PlanOptions

log = logging.getLogger(__name__)


@dataclass
class GameResult:
    """The coalition game's tables (see :func:`coalition_game`)."""

    coalitions: pd.DataFrame
    shares: pd.DataFrame
    prices: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def _name(s: frozenset) -> str:
    return "+".join(sorted(s))


def coalition_game(spec: GameSpec, net: PlanNetwork, options: PlanOptions,
                   econ: dict[str, PlanEconomics], base: str, *,
                   excluded: dict[str, tuple[str, ...]] | None = None,
                   workers: int | None = None, processes: bool = True) -> GameResult:
    """Solve the game on a candidate network.

    Parameters
    ----------
    spec
        Players, seller, buyers and prices (:func:`game_spec_from_study`).
    net
        The study's candidate network (unrestricted; each coalition's plan restricts it).
    options
        Plan options (time limit, gap, pressure class).
    econ
        Scenario name → :class:`PlanEconomics`; ``base`` names the one the shares use.
    excluded
        Scenario name → countries the scenario excludes.

    Raises
    ------
    planner.coalition.values.CoalitionPlanError
        When a restricted plan has no answer (HiGHS failed on it, or found no plan within
        the time limit): one error naming each such plan, before anything is computed.
    """
    demand = {str(n): float(q) for n, q in net.nodes["demand_bcm_y"].items() if q > 0}
    tasks = plan_tasks(spec, demand, list(econ), excluded)
    opts = restricted_options(options)
    results, info = run_sweep(tasks, workers=workers or spec.workers,
                              processes=processes,
                              shared={"net": net, "options": opts, "econ": econ})
    costs = pd.DataFrame(results)
    # one clear error before any value is computed or written; every scenario's plans are
    # checked here, once, so the values below skip game_values's own check
    check_answered(costs)
    u = econ[base].utilisation
    values = answered_game_values(spec, costs, demand, u, base)
    v = value_map(values)
    players = list(spec.players)
    phi = g.shapley_values(players, v)
    eps, _ = g.least_core(players, v)
    nuc = g.nucleolus(players, v)
    core_ok = g.in_core(players, v, phi)
    grand = frozenset(players)

    # sensitivity: price assumptions (no re-solve: costs do not depend on prices) ...
    price_phis = []
    for alt_prices, seller_cost in price_scenarios(spec):
        vals = answered_game_values(spec, costs, demand, u, base, alt_prices, seller_cost)
        price_phis.append(g.shapley_values(players, value_map(vals)))
    pp = pd.DataFrame(price_phis)
    # ... and the study's scenarios
    scen_phi = {s: g.shapley_values(players, value_map(answered_game_values(
                    spec, costs, demand, econ[s].utilisation, s))) for s in econ}
    shares = pd.DataFrame({
        "country": players,
        "role": ["seller" if p == spec.seller else "buyer" if spec.buyer(p) else "transit"
                 for p in players],
        "shapley_musd_y": phi.reindex(players).to_numpy(),
        "standalone_musd_y": [v.get(frozenset({p}), 0.0) for p in players],
        "nucleolus_musd_y": nuc.reindex(players).to_numpy(),
        "in_core": core_ok,
        # rounded at 1e-9 M USD: LP noise, not a share
        "shapley_low_musd_y": pp.min().reindex(players).round(9).to_numpy() + 0.0,
        "shapley_high_musd_y": pp.max().reindex(players).round(9).to_numpy() + 0.0,
    })
    for s, ph in scen_phi.items():
        shares[f"shapley_musd_y [{s}]"] = ph.reindex(players).to_numpy()

    table = values.assign(
        members=[", ".join(sorted(s)) for s in values["coalition"]],
        served=[", ".join(b) for b in values["served"]],
        coalition=[_name(s) for s in values["coalition"]])
    table = table[["coalition", "members", "value_musd_y", "plan_cost_musd_y", "served",
                   "status"]]

    # price corridor per buyer: the seller's floor (its cost + the buyer's own transport in
    # the grand coalition) to the buyer's alternative price; the Shapley price gives the
    # buyer its Shapley share as a discount on its alternative price
    served_n = values.loc[values["coalition"] == grand, "served"].iloc[0]
    base_costs = costs[(costs["scenario"] == base) & (costs["coalition"] == grand)]
    rows = []
    for b in spec.buyers:
        vol = sum(demand.get(d, 0.0) for d in b.destinations)
        own = base_costs[base_costs["buyers"].map(lambda t, c=b.country: tuple(t) == (c,))]
        transport = (float(own["cost_musd_y"].iloc[0]) / (vol * u)
                     if len(own) and vol > 0 and np.isfinite(own["cost_musd_y"].iloc[0])
                     else float("nan"))
        low = spec.seller_cost_usd_per_1000m3 + transport
        high = b.alternative_price_usd_per_1000m3
        shap_price = (high - float(phi[b.country]) / (vol * u)
                      if b.country in served_n and vol > 0 else float("nan"))
        pub = [p for p in spec.published if p.buyer == b.country]
        row = {
            "buyer": b.country, "destinations": ", ".join(b.destinations),
            "volume_bcm_y": vol, "served_in_union": b.country in served_n,
            "alternative_price_usd_per_1000m3": high, "alternative_price_source": b.source,
            "seller_cost_usd_per_1000m3": spec.seller_cost_usd_per_1000m3,
            "seller_cost_source": spec.seller_cost_source,
            "transport_usd_per_1000m3": transport,
            "corridor_low_usd_per_1000m3": low, "corridor_high_usd_per_1000m3": high,
            "corridor_exists": bool(low <= high),
            "shapley_price_usd_per_1000m3": shap_price,
        }
        if pub:
            p = pub[0]
            row.update({"published_price_usd_per_1000m3": p.price_usd_per_1000m3,
                        "published_year": p.year, "published_source": p.source,
                        "published_verified": p.verified,
                        "published_within_corridor": bool(low <= p.price_usd_per_1000m3
                                                          <= high)})
        rows.append(row)
    prices = pd.DataFrame(rows)
    # shares not paid as a buyer's price discount are paid as transit fees: pure transit
    # countries, and buyers the union does not serve (their gas is cheaper at home)
    transit = [p for p in players if p != spec.seller and p not in served_n]
    served_vol = sum(sum(demand.get(d, 0.0) for d in b.destinations) for b in spec.buyers
                     if b.country in served_n)
    fees = {p: (float(phi[p]) / (served_vol * u) if served_vol > 0 else float("nan"))
            for p in transit}
    shares["transit_fee_usd_per_1000m3"] = [fees.get(p, float("nan")) for p in players]
    summary = {
        "players": players, "seller": spec.seller, "base_scenario": base,
        "grand_coalition_value_musd_y": v.get(grand, 0.0),
        "shapley_sum_musd_y": float(phi.sum()),
        "shapley_in_core": core_ok, "least_core_epsilon_musd_y": eps,
        "core_empty": bool(eps > 1e-6),
        "transit_fee_usd_per_1000m3": fees,
        "plans_solved": len(tasks), "sweep": info,
        "statuses": costs["status"].value_counts().to_dict(),
        "largest_mip_gap": float(costs["mip_gap"].replace([np.inf], np.nan).max()),
    }
    return GameResult(table, shares, prices, summary)


def write_game(result: GameResult, folder: Path) -> dict[str, Path]:
    """Write ``coalitions.csv``, ``shares.csv``, ``prices.csv``, ``coalitions.json``: all
    each written to a temporary file and swapped in with a rename (nothing half-written);
    CSV through :func:`planner.io.write_csv`."""
    from planner.io import write_csv, write_text_atomic

    folder.mkdir(parents=True, exist_ok=True)
    summary = json.dumps(result.summary, indent=2, default=str)
    tables = {"coalitions.csv": result.coalitions, "shares.csv": result.shares,
              "prices.csv": result.prices}
    out = {name: write_csv(df, folder / name) for name, df in tables.items()}
    out["coalitions.json"] = write_text_atomic(folder / "coalitions.json", summary)
    return out


def run_coalitions(path: str | Path | None = None, out_dir: str | Path | None = None, *,
                   workers: int | None = None, processes: bool = True) -> tuple[GameResult,
                                                                                 dict[str, Path]]:
    """Solve the study's coalition game and write its files beside the study's outputs."""
    from planner.coalition.report import update_study_outputs
    from planner.plan.options import plan_options_from_study
    from planner.plan.run import plan_scenario, study_plan_network
    from planner.runner import cost_surface_for
    from planner.study import (
        default_study_path,
        layers_for_study,
        load_study,
    )

    study = load_study(path or default_study_path())
    spec = game_spec_from_study(study)
    layers = layers_for_study(study)
    options = plan_options_from_study(study)
    scenario = plan_scenario(study, options)
    surface = cost_surface_for(study, layers, scenario)
    net = study_plan_network(study, layers, surface, options)
    econ = {s.name: PlanEconomics.from_costs({**study.costs, **s.costs})
            for s in study.scenarios}
    excluded = {s.name: tuple(s.excluded_countries) for s in study.scenarios}
    result = coalition_game(spec, net, options, econ, scenario.name, excluded=excluded,
                            workers=workers, processes=processes)
    # a later study run carries these results over only for this very study, layers and
    # code (the plans' costs depend on all three)
    from planner.cache import inputs_fingerprint

    result.summary["study_fingerprint"] = inputs_fingerprint(study, layers)
    target = Path(out_dir) if out_dir else settings.MAPS_DIR / study.name
    files = write_game(result, target)
    update_study_outputs(target, result)
    return result, files


__all__ = ["GameResult", "coalition_game", "run_coalitions", "write_game"]
