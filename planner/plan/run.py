"""The system plan of a study: what :func:`planner.runner.run_study` calls.

:func:`system_plan_for_study` builds the candidate network for the plan's scenario, solves
the MILP, the independent baselines and the hydraulic check; :class:`SystemPlan` writes
``system_plan.csv``, ``system_plan.json``, ``plan_per_country.csv`` and
``system_plan_paths.csv`` and provides the report section and the map layer.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import folium
import numpy as np
import pandas as pd

from planner.backtest.capex_error import capex_band
from planner.costsurface import CostSurface
from planner.layers import Layers
from planner.plan import outputs
from planner.plan.candidates import PlanNetwork, plan_network
from planner.plan.check import check_arcs, check_paths, flow_paths
from planner.plan.optimise import PlanEconomics, PlanResult, independent_best, solve_plan
from planner.plan.options import PlanOptions, plan_options_from_study
from planner.study import Scenario, Study, resolve_place

log = logging.getLogger(__name__)


@dataclass
class SystemPlan:
    """A study's solved plan with its tables."""

    options: PlanOptions
    scenario: str
    network: PlanNetwork
    result: PlanResult
    table: pd.DataFrame
    per_country: pd.DataFrame
    independent: pd.DataFrame
    arc_check: pd.DataFrame
    paths: pd.DataFrame
    appraised: pd.DataFrame | None = None

    def summary(self) -> dict[str, Any]:
        s = self.result.summary()
        s["scenario"] = self.scenario
        s["violations"] = int((self.arc_check["violation"] != "").sum()) if len(
            self.arc_check) else 0
        s["independent_alone_musd_y"] = float(self.independent["alone_musd_y"].sum())
        s["independent_sequential_musd_y"] = float(
            self.independent["sequential_musd_y"].sum())
        if self.appraised is not None and len(self.appraised):
            s["independent_appraised_musd_y"] = float(self.appraised["appraised_musd_y"].sum())
        s["new_km"] = float(self.table.loc[self.table["kind"] == "new", "length_km"].sum())
        s["reused_km"] = float(
            self.table.loc[self.table["kind"] == "existing", "length_km"].sum())
        s["capex_musd"] = float(self.table["capex_musd"].sum())
        # the backtest's measured P10 / P90 of the engineering CAPEX (one factor for the
        # plan as a whole: the arcs share one calibration, so their errors are not averaged)
        s.update({str(k): float(v) for k, v in
                  capex_band(pd.Series([s["capex_musd"]])).iloc[0].items()})
        s["n_nodes"] = len(self.network.nodes)
        s["n_arcs"] = len(self.network.arcs)
        return s

    def write(self, folder: Path) -> dict[str, Path]:
        """Write the plan's files into ``folder``; returns their paths by key."""
        files = {"system_plan_csv": folder / "system_plan.csv",
                 "system_plan_json": folder / "system_plan.json",
                 "plan_per_country_csv": folder / "plan_per_country.csv",
                 "system_plan_paths_csv": folder / "system_plan_paths.csv"}
        from planner.io import write_csv, write_text_atomic

        plan = self.table.merge(self.arc_check, on="arc_id", how="left")
        write_csv(plan, files["system_plan_csv"])
        write_csv(self.per_country, files["plan_per_country_csv"])
        write_csv(self.paths, files["system_plan_paths_csv"])
        # JSON has no NaN or Infinity: an unknown figure (no plan, no bound) is written null
        summary = {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                   for k, v in self.summary().items()}
        write_text_atomic(files["system_plan_json"],
                          json.dumps(summary, indent=2, default=float))
        return files

    def report_markdown(self) -> str:
        return outputs.plan_report_markdown(self.summary(), self.table, self.per_country,
                                            self.independent, self.paths, self.appraised)

    def report_html(self, *, heading: bool = True) -> str:
        return outputs.plan_report_html(self.summary(), self.table, self.per_country,
                                        self.independent, self.paths, self.appraised,
                                        heading=heading)

    def panel_html(self) -> str:
        """The plan in a few lines for the map's side panel."""
        return outputs.plan_panel_html(self.summary(), self.per_country)

    def add_to_map(self, m: folium.Map, *, show: bool = True) -> None:
        outputs.add_plan_layer(m, self.result.arcs, name=f"System plan ({self.scenario})",
                               show=show)


def plan_scenario(study: Study, options: PlanOptions) -> Scenario:
    """The scenario whose costs apply, with the plan's excluded countries added."""
    base = next((s for s in study.scenarios if s.name == options.scenario), study.scenarios[0])
    excl = tuple(sorted(set(base.excluded_countries) | set(options.excluded_countries)))
    return replace(base, excluded_countries=excl)


def study_plan_network(study: Study, layers: Layers, surface: CostSurface,
                       options: PlanOptions) -> PlanNetwork:
    """The candidate network of a study on a cost surface (restricted to allowed countries).

    The existing network is built with the study's interconnections and line-flows tables
    (its ``[network]`` table, else the shipped ones), as for the route candidates.
    """
    from pyproj import CRS

    from planner import settings
    from planner.interconnections import network_tables_for_study
    from planner.network import operating_graph, pipeline_graph
    from planner.terrain_classes import classifier_for

    hubs, flows = network_tables_for_study(study)
    # with the countries, so that a line reversible only in some countries (line_flows.csv
    # reverse_countries) is reversible only there
    if CRS.from_user_input(surface.crs).equals(CRS.from_user_input(settings.STUDY_CRS)):
        # the graph the route candidates went by (built once per run, cached across runs)
        graph = operating_graph(layers.pipelines, countries=layers.countries,
                                interconnections=hubs, line_flows=flows)
    else:
        graph = pipeline_graph(layers.pipelines, statuses=["operating"], crs=surface.crs,
                               interconnections=hubs, line_flows=flows,
                               countries=layers.countries)
    sup = {p.name: (p.lon, p.lat) for p in (resolve_place(x, layers) for x in study.supply)}
    dem = {p.name: (p.lon, p.lat, float(p.throughput_bcm_y or 0.0))
           for p in (resolve_place(x, layers) for x in study.destinations)}
    net = plan_network(surface, graph, sup, dem, layers.countries, pipelines=layers.pipelines,
                       spare_share=options.spare_share, spare_bcm_y=options.spare_bcm_y,
                       unknown_capacity_bcm_y=options.unknown_capacity_bcm_y,
                       link_km=options.link_km, hubs=options.hubs, reduce=options.reduce,
                       terrain_classes=classifier_for(layers))
    return net


def _plan_cache_key(kind: str, study: Study, layers: Layers, surface: CostSurface,
                    options: PlanOptions, parts: dict[str, Any] | None = None,
                    **extra: Any) -> str | None:
    """The cache key of a plan product (None: the cache is off or the surface has no key);
    ``parts`` is :func:`planner.cache.study_parts` when the caller has it already."""
    from dataclasses import asdict

    from planner import settings
    from planner.cache import cache_key, study_parts

    if not (settings.USE_CACHE and surface.key):
        return None
    parts = study_parts(study, layers) if parts is None else parts
    return cache_key(kind, {**parts, "surface": surface.key, "options": asdict(options),
                            **extra})


def cached_plan_network(study: Study, layers: Layers, surface: CostSurface,
                        options: PlanOptions, *, parts: dict[str, Any] | None = None
                        ) -> PlanNetwork:
    """:func:`study_plan_network`, read from the cache (:mod:`planner.cache`) when an
    earlier run built it from the same inputs."""
    from planner.cache import cached

    def build() -> PlanNetwork:
        return study_plan_network(study, layers, surface, options)

    key = _plan_cache_key("plan-network", study, layers, surface, options, parts)
    return build() if key is None else cached("plan-network", key, build)[0]


def _cached_solves(study: Study, layers: Layers, surface: CostSurface, options: PlanOptions,
                   scenario: str, net: PlanNetwork, econ: PlanEconomics,
                   parts: dict[str, Any] | None = None
                   ) -> tuple[PlanResult, pd.DataFrame]:
    """The plan's MILP and the independent routes' solves, read from the cache when an
    earlier run solved them from the same inputs (a time-limited solve is not repeated
    for a plan of about the same cost: the stored plan, its gap and solve time are
    reported as solved then). A solve where HiGHS failed (:func:`solve_is_final`) is
    neither stored nor read back: the next run solves again."""
    from dataclasses import asdict

    from planner.cache import cached

    key = _plan_cache_key("plan-solve", study, layers, surface, options, parts,
                          scenario=scenario, economics=asdict(econ))

    def solve() -> tuple[PlanResult, pd.DataFrame]:
        return solve_plan(net, options, econ), independent_best(net, options, econ)

    if key is None:
        return solve()
    return cached("plan-solve", key, solve, keep=lambda v: solve_is_final(*v))[0]


def solve_is_final(result: PlanResult, independent: pd.DataFrame) -> bool:
    """Whether a plan's solves may be cached: no status ``error`` and no ``message`` (a
    failure HiGHS may not repeat), in the plan or the independent routes' solves.

    Examples
    --------
    >>> r = PlanResult("optimal", 1.0, 0.0, 1.0, 1, 1, 0, pd.DataFrame())
    >>> solve_is_final(r, pd.DataFrame({"status": ["optimal"]}))
    True
    >>> solve_is_final(replace(r, message="HiGHS failed on the build relaxation: Solve "
    ...                        "error"), pd.DataFrame({"status": ["optimal"]}))
    False
    >>> solve_is_final(r, pd.DataFrame({"status": ["error"]}))
    False
    """
    if result.status == "error" or result.message:
        return False
    return not ("status" in independent and independent["status"].eq("error").any())


def node_countries(net: PlanNetwork, surface: CostSurface) -> dict[str, str]:
    """ISO3 code of the cell under each node ("" outside every country)."""
    x, y = surface.lonlat_to_xy(net.nodes["lon"].to_numpy(float),
                                net.nodes["lat"].to_numpy(float))
    r, c = surface.xy_to_rowcol(x, y)
    h, w = surface.shape
    r, c = np.clip(r, 0, h - 1), np.clip(c, 0, w - 1)
    return {str(n): str(iso) for n, iso in zip(net.nodes.index, surface.country_at(r, c),
                                                 strict=True)}


def system_plan_for_study(study: Study, layers: Layers, surfaces: dict[str, CostSurface],
                          candidates: pd.DataFrame | None = None, *,
                          parts: dict[str, Any] | None = None) -> SystemPlan | None:
    """Solve the study's system plan, or None when the study does not enable it
    (``parts``: the run's :func:`planner.cache.study_parts`, when it has them)."""
    from planner import settings
    from planner.cache import study_parts
    from planner.runner import cost_surface_for

    options = plan_options_from_study(study)
    if not options.enabled:
        return None
    scenario = plan_scenario(study, options)
    surface = surfaces.get(scenario.name)
    if surface is None or tuple(surface.excluded_countries) != scenario.excluded_countries:
        surface = cost_surface_for(study, layers, scenario)
    if parts is None and settings.USE_CACHE:
        parts = study_parts(study, layers)  # once for both cached products
    net = cached_plan_network(study, layers, surface, options, parts=parts)
    net = net.restricted(excluded=scenario.excluded_countries)
    econ = PlanEconomics.from_costs({**study.costs, **scenario.costs})
    result, independent = _cached_solves(study, layers, surface, options, scenario.name,
                                         net, econ, parts)
    if not result.ok or result.message:
        log.warning("system plan: %s%s", result.status,
                    f" ({result.message})" if result.message else "")
    where = node_countries(net, surface)
    demand = {str(n): (str(where.get(str(n), "")), float(q))
              for n, q in net.nodes["demand_bcm_y"].items() if q > 0}
    arc_check = check_arcs(result.arcs, net, options, surface)
    paths = flow_paths(result.arcs, net)
    path_check = check_paths(result.arcs, arc_check, paths, net, options, surface)
    appraised = None
    if candidates is not None and len(candidates) and "tariff_usd_per_1000m3" in candidates:
        c = candidates[candidates["scenario"] == scenario.name] if "scenario" in candidates \
            else candidates
        annual = (c["tariff_usd_per_1000m3"] * c["throughput_bcm_y"] * econ.utilisation)
        appraised = pd.DataFrame(
            pd.DataFrame({"destination": c["destination"], "appraised_musd_y": annual})
            .groupby("destination", as_index=False)["appraised_musd_y"].min())
    plan = SystemPlan(options, scenario.name, net, result,
                      outputs.system_plan_table(result.arcs),
                      outputs.plan_per_country(result.arcs, demand), independent, arc_check,
                      path_check, appraised)
    s = plan.summary()
    log.info("system plan (%s): %s, %.1f M USD/y (independent: alone %.1f, sequential %.1f), "
             "gap %.3g, %.1f s, %d violations", scenario.name, s["status"],
             s["objective_musd_y"], s["independent_alone_musd_y"],
             s["independent_sequential_musd_y"], s["mip_gap"], s["solve_s"], s["violations"])
    return plan


__all__ = ["SystemPlan", "cached_plan_network", "node_countries", "plan_scenario",
           "solve_is_final", "study_plan_network", "system_plan_for_study"]
