"""Run a study end to end: layers -> candidates -> engineering and economics -> ranking ->
outputs (map, ranking table, report, candidates GeoPackage, metadata).

Outputs go to ``maps/<study>/`` (or ``out_dir``). They are built in a temporary folder
beside it and swapped in only when every file is written, so a failed run leaves the
earlier outputs intact and no half-written file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd

from planner import __version__, settings
from planner.layers import Layers
from planner.study import Place, Scenario, Study
from planner.study_checks import check_reachable, load_checked_study

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class StudyOutputs:
    """What a study run wrote, and its main tables."""

    out_dir: Path
    files: dict[str, Path]
    ranking: pd.DataFrame
    candidates: gpd.GeoDataFrame
    per_country: pd.DataFrame
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _progress(items: Iterable[T], desc: str, enabled: bool | None, total: int | None = None
              ) -> Iterator[T]:
    """tqdm progress bar on a terminal; quiet otherwise (``enabled=None`` decides)."""
    from tqdm.auto import tqdm

    show = sys.stderr.isatty() if enabled is None else enabled
    yield from tqdm(items, desc=desc, disable=not show, total=total, leave=False)


def cost_surface_for(study: Study, layers: Layers, scenario: Scenario) -> Any:
    """The scenario's cost surface (:func:`planner.costsurface.study_cost_surface`)."""
    from planner.costsurface import study_cost_surface

    return study_cost_surface(study, layers, scenario)


def generate_candidates(study: Study, layers: Layers, surface: Any,
                        origin: Place | Sequence[Place], destinations: list[Place],
                        progress: bool | None = None,
                        graphs: dict[str, Any] | None = None) -> gpd.GeoDataFrame:
    """Candidate routes from the supply points (``origin``: one or several) to each
    destination.

    Per destination: the greenfield least-cost route and ``study.alternatives``
    spatially distinct alternatives; with ``study.reuse_existing``, routes that reuse
    existing pipelines (including reverse flow where the line can be reversed) and build
    new links only where needed: one per corridor graph in ``graphs`` (see
    :func:`corridor_graphs`), or one over the whole operating network. With several supply
    points every one is tried and a destination's candidates come from the cheapest
    (least km-eq among its candidates); ``supply_point`` names it and ``supply_choice``
    says why, per candidate.
    """
    from planner.routing import RoutingError

    origins = [origin] if isinstance(origin, Place) else list(origin)
    if graphs is None:
        graphs = reuse_graphs(study, layers)
    from planner.routing import prime_routes

    for o in origins if surface is not None else ():
        # one sweep per supply point finds every destination's least-cost path
        prime_routes(surface, (o.lon, o.lat), {d.name: (d.lon, d.lat) for d in destinations},
                     origin_name=o.name)
    frames = []
    for dest in _progress(destinations, "candidates", progress):
        options = {o.name: _destination_candidates(study, layers, surface, o, dest, graphs)
                   for o in origins}
        costs = {name: min((float(f["cost"].min()) for f in fs), default=float("inf"))
                 for name, fs in options.items()}
        chosen = min(costs, key=lambda k: costs[k])
        if not options[chosen]:
            continue
        choice = supply_choice_text(costs, chosen)
        for f in options[chosen]:
            f = f.copy()
            f["supply_point"] = chosen
            f["supply_choice"] = choice
            frames.append(f)
    if not frames:
        raise RoutingError("no candidate route could be generated: see the warnings above")
    cands = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=settings.STORAGE_CRS)
    # Corridors can give the same route (and so can the whole network): keep it once,
    # under the first name it was found with.
    same = pd.DataFrame({"d": cands["destination"], "l": cands["length_km"].round(1),
                         "r": cands["reused_km"].fillna(0).round(1)}).duplicated()
    cands = cands.loc[~same].reset_index(drop=True)
    cands["name"] = [f"{d} — {lab}" if k == "reuse" else f"{d} — {k} ({lab})"
                     for d, k, lab in zip(cands["destination"], cands["kind"], cands["label"],
                                          strict=True)]
    return cands


def supply_choice_text(costs: dict[str, float], chosen: str) -> str:
    """Why a destination's candidates come from ``chosen`` (a ``supply_choice`` value).

    Examples
    --------
    >>> supply_choice_text({"A": 1200.0}, "A")
    'the only supply point'
    >>> supply_choice_text({"A": 1200.0, "B": 900.4}, "B")
    'cheapest of 2 supply points (B 900 km-eq; A 1,200 km-eq)'
    """
    if len(costs) == 1:
        return "the only supply point"
    ranked = sorted(costs.items(), key=lambda kv: kv[1])
    parts = "; ".join(f"{k} {v:,.0f} km-eq" if np.isfinite(v) else f"{k} no route"
                      for k, v in ranked)
    return f"cheapest of {len(costs)} supply points ({parts})"


def _destination_candidates(study: Study, layers: Layers, surface: Any, origin: Place,
                            dest: Place, graphs: dict[str, Any]) -> list[gpd.GeoDataFrame]:
    """Greenfield and reuse candidates from one supply point to one destination."""
    from planner.routing import RoutingError, alternative_routes

    frames: list[gpd.GeoDataFrame] = []
    try:
        alts = alternative_routes(surface, (origin.lon, origin.lat), (dest.lon, dest.lat),
                                  k=1 + study.alternatives, origin_name=origin.name,
                                  destination_name=dest.name)
    except RoutingError as exc:
        log.warning("no greenfield route from %s to %s: %s", origin.name, dest.name, exc)
        return frames
    alts = alts.copy()
    alts["kind"] = "greenfield"
    alts["label"] = ["least-cost" if r == 0 else f"alternative {r}" for r in alts["rank"]]
    alts["new_build_km"] = alts["length_km"]
    alts["reused_km"] = 0.0
    alts["reused_pipelines"] = ""
    alts = alts.drop(columns=["rank"])
    frames.append(_tag_destination(alts, dest))
    if not study.reuse_existing:
        return frames
    failures: dict[str, str] = {}
    for label, graph in graphs.items():
        reuse, why = _reuse_candidate(layers, surface, origin, dest, graph, label)
        if reuse is not None:
            frames.append(_tag_destination(reuse, dest))
        else:
            failures[label] = why
    # A corridor leaves systems out on purpose: only a destination that no graph reaches
    # is reported, once, with the reason the whole network gives.
    for label, why in failures.items():
        log.info("no reuse route from %s to %s (%s): %s", origin.name, dest.name, label, why)
    if failures and len(failures) == len(graphs):
        label = WHOLE_NETWORK if WHOLE_NETWORK in failures else next(iter(failures))
        log.warning("no reuse route from %s to %s (%s): %s", origin.name, dest.name, label,
                    failures[label])
    return frames


def _tag_destination(df: gpd.GeoDataFrame, dest: Place) -> gpd.GeoDataFrame:
    df = df.copy()
    df["destination"] = dest.name
    df["destination_country"] = dest.country
    df["throughput_bcm_y"] = dest.throughput_bcm_y
    return df


#: Label of the reuse candidates over the whole operating network.
WHOLE_NETWORK = "existing lines + new links"


def _reuse_candidate(layers: Layers, surface: Any, origin: Place, dest: Place,
                     graph: Any = None, label: str = WHOLE_NETWORK
                     ) -> tuple[gpd.GeoDataFrame | None, str]:
    """The route that reuses existing lines (``graph``) and builds new links where needed,
    or None and why not."""
    from planner.network import pipeline_graph, reuse_route
    from planner.routing import RoutingError

    if graph is None:
        graph = pipeline_graph(layers.pipelines, statuses=["operating"],
                               countries=layers.countries)
    try:
        r = reuse_route(surface, graph, (origin.lon, origin.lat), (dest.lon, dest.lat),
                        origin_name=origin.name, destination_name=dest.name,
                        volume_bcm_y=dest.throughput_bcm_y, require_reuse=True)
    except (RoutingError, ValueError, RuntimeError) as exc:
        return None, str(exc)
    route = r.route.copy()
    route["kind"] = "reuse"
    route["label"] = label
    route["new_build_km"] = route["new_km"]
    route["reused_pipelines"] = [", ".join(p) if isinstance(p, list | tuple) else str(p)
                                 for p in route["pipelines"]]
    # the legs (with their lines' diameter, pressure and strings) for the hydraulics, and
    # their cost-surface cost (for the terrain_difficulty criterion only)
    route["legs"] = [r.legs.to_dict("records")]
    return route, ""


def corridor_graphs(layers: Layers, corridors: dict[str, list[str]],
                    **graph_options: Any) -> dict[str, Any]:
    """One pipeline graph per named corridor.

    A corridor's graph holds the whole operating network except the systems that other
    corridors name and this one does not: each reuse candidate then goes by its own trunk
    line while still using the connecting and regional lines (which no corridor names).
    ``graph_options`` go to :func:`planner.network.pipeline_graph` (interconnections,
    line flows); ``graph=`` gives the whole network already built (a corridor is then a
    view of it without the other corridors' systems).
    """
    from planner.network import pipeline_graph, without_systems

    graph_options.setdefault("countries", layers.countries)
    full = graph_options.pop("graph", None)
    if full is None and corridors:
        full = pipeline_graph(layers.pipelines, statuses=["operating"], **graph_options)
    known = set(layers.pipelines["system"])
    named = {s for systems in corridors.values() for s in systems}
    graphs: dict[str, Any] = {}
    for name, systems in corridors.items():
        unknown = sorted(set(systems) - known)
        if unknown:
            log.warning("corridor %s: systems not in the pipelines layer: %s", name,
                        ", ".join(unknown))
        graphs[name] = without_systems(full, named - set(systems))
    return graphs


def reuse_graphs(study: Study, layers: Layers) -> dict[str, Any]:
    """The pipeline graphs a study's reuse candidates go by, built once per run: one per
    corridor, and the whole operating network unless the study turns that off."""
    if not study.reuse_existing:
        return {}
    from planner.interconnections import network_tables_for_study
    from planner.network import operating_graph

    hubs, flows = network_tables_for_study(study)
    full = operating_graph(layers.pipelines, interconnections=hubs, line_flows=flows,
                           countries=layers.countries)
    graphs = corridor_graphs(layers, study.corridors, graph=full)
    if study.network_wide_reuse or not graphs:
        graphs[WHOLE_NETWORK] = full
    return graphs


def drop_excluded(cands: gpd.GeoDataFrame, scenario: Scenario) -> gpd.GeoDataFrame:
    """Drop candidates that cross a country the scenario excludes.

    Greenfield routes cannot (excluded countries are barriers of the cost surface); a route
    on existing lines can, and is then not a candidate of that scenario.
    """
    if not scenario.excluded_countries:
        return cands
    bad = [bool(set(str(c).split(", ")) & set(scenario.excluded_countries))
           for c in cands["countries"]]
    for name in cands.loc[bad, "name"]:
        log.info("%s: candidate %s crosses an excluded country", scenario.name, name)
    return cands.loc[[not b for b in bad]]


def run_study(path: str | Path, out_dir: str | Path | None = None,
              progress: bool | None = None) -> StudyOutputs:
    """Run the study in ``path`` and write its outputs; returns what was written.

    Examples
    --------
    >>> from planner.study import default_study_path
    >>> out = run_study(default_study_path(), out_dir=tmp_out)  # doctest: +SKIP
    """
    from planner.appraisal import (
        appraise_candidates,
        offtakes_table,
        per_country_table,
        rank_candidates,
    )
    from planner.cache import cache_key, cached, study_parts
    from planner.timing import StageTimer

    t0 = time.perf_counter()
    timer = StageTimer(log)  # where the time went, logged at INFO (planner -v)
    with timer("study and layers"):
        study, layers, origins, destinations = load_checked_study(path)
    from planner.run_estimate import warn_if_slow

    warn_if_slow(study)  # a very fine resolution: say how long it may take, up front

    scen_cands = []
    country_tables = []
    surfaces: dict[str, Any] = {}
    built: dict[str, Any] = {}

    def graphs() -> dict[str, Any]:  # only when a scenario is not in the cache
        if "graphs" not in built:
            with timer("pipeline graphs"):
                built["graphs"] = reuse_graphs(study, layers)
        return built["graphs"]

    with timer("cache keys"):
        parts = study_parts(study, layers) if settings.USE_CACHE else {}
    for scenario in _progress(study.scenarios, "scenarios", progress):
        with timer("cost surfaces"):
            surface = cost_surface_for(study, layers, scenario)
            # scenarios with the same surface share one object, and so the routes already
            # solved on it (planner.routing keeps them per surface)
            surface = next((s for s in surfaces.values() if s.key and s.key == surface.key),
                           surface)
            check_reachable(study, surface, scenario, origins, destinations)
        surfaces[scenario.name] = surface

        def candidates_of(scenario: Scenario = scenario, surface: Any = surface
                          ) -> gpd.GeoDataFrame:
            with timer("candidate routes"):
                cands = generate_candidates(study, layers, surface, origins, destinations,
                                            progress, graphs())
            with timer("appraisal"):
                return appraise_candidates(cands, layers, study, scenario)

        key = cache_key("candidates", {
            **parts, "scenario": asdict(scenario), "surface": surface.key,
            "places": [repr(p) for p in (*origins, *destinations)]})
        cands, _ = cached("candidates", key, candidates_of,
                          use_cache=settings.USE_CACHE and bool(surface.key))
        cands = drop_excluded(cands, scenario)
        with timer("ranking"):
            ranked = rank_candidates(cands, scenario)
        ranked["scenario"] = scenario.name
        scen_cands.append(ranked)
        countries = per_country_table(ranked)
        countries["scenario"] = scenario.name
        country_tables.append(countries)

    candidates = gpd.GeoDataFrame(pd.concat(scen_cands, ignore_index=True),
                                  crs=settings.STORAGE_CRS).drop(
        columns=["country_split", "legs", "offtakes"], errors="ignore")
    from planner.backtest.capex_error import with_capex_band

    candidates = with_capex_band(candidates)  # CAPEX x the backtest's measured P10 / P90
    offtakes = offtakes_table(pd.concat(scen_cands, ignore_index=True))
    per_country = pd.concat(country_tables, ignore_index=True)
    from planner.plan.run import system_plan_for_study

    with timer("system plan"):
        plan = system_plan_for_study(study, layers, surfaces, candidates,
                                     parts=parts or None)
    target = Path(out_dir) if out_dir else settings.MAPS_DIR / study.name
    files = write_outputs(target, study, layers, candidates, per_country, surfaces,
                          offtakes=offtakes, plan=plan, timer=timer, parts=parts or None)
    seconds = time.perf_counter() - t0
    log.info("study %s written to %s in %.1f s", study.name, target, seconds)
    log.info("where the time went: %s", timer.summary(seconds))
    ranking = candidates.drop(columns=["geometry"])
    return StudyOutputs(target, files, ranking, candidates, per_country, seconds,
                        extra={"timings": dict(timer.seconds),
                               **({"plan": plan} if plan is not None else {})})


# --- outputs -----------------------------------------------------------------------------

RANKING_COLUMNS = [
    "scenario", "route_id", "rank", "score", "name", "destination", "supply_point",
    "supply_choice", "kind", "throughput_bcm_y",
    "length_km", "new_build_km", "reused_km", "diameter_mm", "strings", "stations",
    "compressor_power_mw", "capex_musd", "capex_musd_p10", "capex_musd_p90",
    "tariff_usd_per_1000m3",
    "tariff_usd_per_1000m3_100km", "new_build_tariff_usd_per_1000m3",
    "reused_tariff_usd_per_1000m3", "utilisation", "tariff_revenue_musd_y",
    "delivered_cost_usd_per_1000m3", "alternative_price_usd_per_1000m3",
    "new_demand_bcm_y", "spare_capacity_bcm_y", "lateral_capex_musd", "new_demand_centres",
    "demand_within_reach_bcm_y", "opex_musd_y",
    "countries", "border_crossings", "water_crossings", "highest_point_m",
    "terrain_difficulty", "new_build_terrain_factor", "new_build_flat_km",
    "new_build_hilly_km", "new_build_mountain_km", "regional_factor",
    "pareto", "reused_pipelines", "reused_capacity_bcm_y",
    "reused_assessed_km", "reuse_compression_mw",
    "p_best", "expected_rank",
]


def _plain(df: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Columns that files can hold: arrays and lists become text, objects become str."""
    out = df.copy()
    for c in out.columns:
        if c == "geometry":
            continue
        if out[c].dtype == object:
            out[c] = [json.dumps(v.tolist() if isinstance(v, np.ndarray) else v, default=str)
                      if isinstance(v, list | tuple | dict | np.ndarray) else
                      (None if v is None else str(v)) for v in out[c]]
    return out


def ranking_table(candidates: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in RANKING_COLUMNS if c in candidates.columns]
    return candidates.sort_values(["scenario", "rank"])[cols].reset_index(drop=True)


def write_outputs(target: Path, study: Study, layers: Layers, candidates: gpd.GeoDataFrame,
                  per_country: pd.DataFrame, surfaces: dict[str, Any],
                  offtakes: pd.DataFrame | None = None, plan: Any = None,
                  timer: Any = None, parts: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write every output into a temporary folder, then swap it in for ``target``
    (``timer``: a :class:`planner.timing.StageTimer` to time the map and the rest;
    ``parts``: the run's :func:`planner.cache.study_parts`, if computed)."""
    from contextlib import nullcontext

    def stage(name: str) -> Any:
        return timer(name) if timer is not None else nullcontext()

    from planner.appraisal import reused_lines_table
    from planner.io import write_csv
    from planner.report import study_map, study_report_html, study_report_markdown

    made = [p for p in [target.parent, *target.parent.parents] if not p.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp: Path | None = None
    try:
        with _signals_held():  # so that an interrupt cannot come between mkdtemp and tmp
            tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        tmp.chmod(_folder_mode())  # mkdtemp makes it 0700; outputs are read as usual
        names = {
            "map": tmp / "index.html",
            "ranking_csv": tmp / "ranking.csv",
            "per_country_csv": tmp / "per_country.csv",
            "report_md": tmp / "report.md",
            "report_html": tmp / "report.html",
            "candidates_gpkg": tmp / "candidates.gpkg",
            "reused_lines_csv": tmp / "reused_lines.csv",
            "offtakes_csv": tmp / "offtakes.csv",
            "metadata": tmp / "metadata.json",
        }
        ranking = ranking_table(candidates)
        write_csv(ranking, names["ranking_csv"])
        write_csv(per_country, names["per_country_csv"])
        reused = reused_lines_table(candidates)
        write_csv(reused, names["reused_lines_csv"])
        write_csv(offtakes if offtakes is not None else pd.DataFrame(), names["offtakes_csv"])
        # the system plan (and a coalition game written earlier) add files and sections
        from planner.cache import inputs_fingerprint
        from planner.plan.sections import extra_sections

        extra = extra_sections(target, tmp, plan, names, inputs_fingerprint(study, layers, parts))
        names["report_md"].write_text(
            study_report_markdown(study, ranking, per_country, reused) + extra.markdown,
            encoding="utf-8")
        names["report_html"].write_text(
            study_report_html(study, ranking, per_country, reused,
                              extra_sections=extra.sections), encoding="utf-8")
        gpkg = gpd.GeoDataFrame(_plain(candidates), crs=candidates.crs)
        gpkg.to_file(names["candidates_gpkg"], layer="candidates", driver="GPKG")
        with stage("map"):
            study_map(study, layers, candidates, per_country, surfaces, names["map"],
                      extra_layers=extra.layers, extra_panels=extra.panels)
        meta = {
            "study": study.name,
            "title": study.title,
            "study_file": str(study.path),
            "study_toml": study.raw,
            "parameters": {
                "region": study.region, "crs": study.crs,
                "resolution_km": study.resolution_km, "alternatives": study.alternatives,
                "costs": study.costs,
                "scenarios": [asdict(s) for s in study.scenarios],
            },
            "layers": layers.sources,
            "versions": _versions(),
            "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "map_bytes": names["map"].stat().st_size,
        }
        names["metadata"].write_text(json.dumps(meta, indent=2, default=str),
                                     encoding="utf-8")
        _swap_in_held(tmp, target)
    except BaseException as exc:
        if getattr(exc, "outputs_in_place", None) is not None:
            raise  # stopped after the swap: the new outputs are complete, nothing to undo
        with _signals_held():  # a second Ctrl-C does not stop the clean-up half-way
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            for folder in made:  # folders this run made, deepest first, if still empty
                with contextlib.suppress(OSError):
                    folder.rmdir()
        raise
    return {k: target / v.name for k, v in names.items()}


#: Output folders this process has swapped in, complete (the CLI's message after an
#: interrupt says which new outputs are in place).
SWAPPED_IN: list[Path] = []


def _swap_in_held(tmp: Path, target: Path) -> None:
    """:func:`_swap_in` with SIGINT and SIGTERM held (:func:`_signals_held`).

    A signal that came during the swap is raised after it, when the new outputs are
    already in place; its exception then carries ``outputs_in_place`` (``target``), so that
    no clean-up runs for it, and ``target`` is recorded in :data:`SWAPPED_IN`.
    """
    swapped = False
    try:
        with _signals_held():
            _swap_in(tmp, target)
            swapped = True
            SWAPPED_IN.append(target)
    except BaseException as exc:
        if swapped:
            exc.outputs_in_place = target  # type: ignore[attr-defined]
        raise


def _swap_in(tmp: Path, target: Path) -> None:
    """Replace ``target`` by ``tmp`` with two renames (old kept until the new is in)."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _folder_mode() -> int:
    """Mode of a new folder under the process umask (what ``mkdir`` would give)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o777 & ~mask


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back during a step that must not be cut in half (making the
    temporary folder, swapping the outputs in, cleaning up); they arrive right after it.
    So an interrupt finds either the old outputs or the new, never neither.

    Held by Python handlers that record the signal, not by blocking it: a signal blocked in
    the main thread goes to another thread of the process, whose C handler still makes the
    main thread raise inside the step. After the step the held signal is raised again
    (SIGTERM first when both came); its exception then replaces one the step raised.
    Outside the main thread, or when a handler was not set from Python, the signals are
    blocked in this thread instead (the best that can be done there).
    """
    import signal
    import threading

    held = (signal.SIGINT, signal.SIGTERM)
    old = {s: signal.getsignal(s) for s in held}
    if (threading.current_thread() is not threading.main_thread()
            or any(h is None for h in old.values())):
        if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not POSIX
            yield
            return
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, set(held))
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        return
    got: list[int] = []

    def hold(signum: int, frame: object) -> None:
        got.append(signum)

    for s in held:
        signal.signal(s, hold)
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        if got:  # delivered now, to this thread, through the handler restored above
            signal.raise_signal(signal.SIGTERM if signal.SIGTERM in got else got[0])


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"planner": __version__, "python": platform.python_version()}
    for pkg in ("geopandas", "shapely", "pyproj", "rasterio", "scikit-image", "networkx",
                "folium", "osmnx", "numpy", "pandas"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


__all__ = ["StudyOutputs", "generate_candidates", "run_study", "write_outputs"]
