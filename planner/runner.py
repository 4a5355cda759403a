"""Run a study end to end: layers -> candidates -> engineering and economics -> ranking ->
outputs (map, ranking table, report, candidates GeoPackage, metadata).

Outputs go to ``maps/<study>/`` (or ``out_dir``). They are built in a temporary folder
beside it and swapped in only when every file is written, so a failed run leaves the
earlier outputs intact and no half-written file.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd

from planner import __version__, settings
from planner.layers import Layers
from planner.study import Place, Scenario, Study, layers_for_study, load_study, resolve_place

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
    """The scenario's cost surface (cached on disk by its inputs)."""
    from planner.costsurface import build_cost_surface

    return build_cost_surface(
        layers.terrain, layers.countries, layers.water, layers.pipelines, layers.mountains,
        settlements=layers.demand_centres, resolution_m=study.resolution_km * 1000.0,
        crs=study.crs, region=study.region,
        excluded_countries=scenario.excluded_countries,
    )


def generate_candidates(study: Study, layers: Layers, surface: Any, origin: Place,
                        destinations: list[Place], progress: bool | None = None,
                        graphs: dict[str, Any] | None = None) -> gpd.GeoDataFrame:
    """Candidate routes from ``origin`` to each destination.

    Per destination: the greenfield least-cost route and ``study.alternatives``
    spatially distinct alternatives; with ``study.reuse_existing``, routes that reuse
    existing pipelines (including reverse flow) and build new links only where needed:
    one per corridor graph in ``graphs`` (see :func:`corridor_graphs`), or one over the
    whole operating network.
    """
    from planner.routing import RoutingError, alternative_routes

    if graphs is None:
        graphs = reuse_graphs(study, layers)
    frames = []
    for dest in _progress(destinations, "candidates", progress):
        try:
            alts = alternative_routes(surface, (origin.lon, origin.lat), (dest.lon, dest.lat),
                                      k=1 + study.alternatives, origin_name=origin.name,
                                      destination_name=dest.name)
        except RoutingError as exc:
            log.warning("no greenfield route to %s: %s", dest.name, exc)
            continue
        alts = alts.copy()
        alts["kind"] = "greenfield"
        alts["label"] = ["least-cost" if r == 0 else f"alternative {r}" for r in alts["rank"]]
        alts["new_build_km"] = alts["length_km"]
        alts["reused_km"] = 0.0
        alts["reused_pipelines"] = ""
        alts = alts.drop(columns=["rank"])
        frames.append(_tag_destination(alts, dest))
        if study.reuse_existing:
            for label, graph in graphs.items():
                reuse = _reuse_candidate(layers, surface, origin, dest, graph, label)
                if reuse is not None:
                    frames.append(_tag_destination(reuse, dest))
    if not frames:
        raise RuntimeError("no candidate route could be generated: see the warnings above")
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


def _tag_destination(df: gpd.GeoDataFrame, dest: Place) -> gpd.GeoDataFrame:
    df = df.copy()
    df["destination"] = dest.name
    df["destination_country"] = dest.country
    df["throughput_bcm_y"] = dest.throughput_bcm_y
    return df


def _reuse_candidate(layers: Layers, surface: Any, origin: Place, dest: Place,
                     graph: Any = None, label: str = "existing lines + new links"
                     ) -> gpd.GeoDataFrame | None:
    """The route that reuses existing lines (``graph``) and builds new links where needed."""
    from planner.network import pipeline_graph, reuse_route
    from planner.routing import RoutingError

    if graph is None:
        graph = pipeline_graph(layers.pipelines, statuses=["operating"])
    try:
        r = reuse_route(surface, graph, (origin.lon, origin.lat), (dest.lon, dest.lat),
                        origin_name=origin.name, destination_name=dest.name,
                        volume_bcm_y=dest.throughput_bcm_y, require_reuse=True)
    except (RoutingError, ValueError, RuntimeError) as exc:
        log.warning("no reuse route to %s (%s): %s", dest.name, label, exc)
        return None
    route = r.route.copy()
    route["kind"] = "reuse"
    route["label"] = label
    route["new_build_km"] = route["new_km"]
    route["reused_pipelines"] = [", ".join(p) if isinstance(p, list | tuple) else str(p)
                                 for p in route["pipelines"]]
    # the legs (with their lines' diameter, pressure and strings) for the hydraulics
    route["legs"] = [r.legs.drop(columns="cost").to_dict("records")]
    return route


def corridor_graphs(layers: Layers, corridors: dict[str, list[str]]) -> dict[str, Any]:
    """One pipeline graph per named corridor.

    A corridor's graph holds the whole operating network except the systems that other
    corridors name and this one does not: each reuse candidate then goes by its own trunk
    line while still using the connecting and regional lines (which no corridor names).
    """
    from planner.network import pipeline_graph

    known = set(layers.pipelines["system"])
    named = {s for systems in corridors.values() for s in systems}
    graphs: dict[str, Any] = {}
    for name, systems in corridors.items():
        unknown = sorted(set(systems) - known)
        if unknown:
            log.warning("corridor %s: systems not in the pipelines layer: %s", name,
                        ", ".join(unknown))
        others = named - set(systems)
        sub = layers.pipelines[~layers.pipelines["system"].isin(others)]
        graphs[name] = pipeline_graph(sub, statuses=["operating"])
    return graphs


def reuse_graphs(study: Study, layers: Layers) -> dict[str, Any]:
    """The pipeline graphs a study's reuse candidates go by, built once per run: one per
    corridor, and the whole operating network unless the study turns that off."""
    if not study.reuse_existing:
        return {}
    from planner.network import pipeline_graph

    graphs = corridor_graphs(layers, study.corridors)
    if study.network_wide_reuse or not graphs:
        graphs["existing lines + new links"] = pipeline_graph(layers.pipelines,
                                                              statuses=["operating"])
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
    from planner.appraisal import appraise_candidates, per_country_table, rank_candidates
    from planner.timing import StageTimer

    t0 = time.perf_counter()
    timer = StageTimer(log)  # where the time went, logged at INFO (planner -v)
    with timer("study and layers"):
        study = load_study(path)
        layers = layers_for_study(study)
        origins = [resolve_place(p, layers) for p in study.supply]
        destinations = [resolve_place(p, layers) for p in study.destinations]
    origin = origins[0]

    scen_cands = []
    country_tables = []
    surfaces = {}
    with timer("pipeline graphs"):
        graphs = reuse_graphs(study, layers)
    for scenario in _progress(study.scenarios, "scenarios", progress):
        with timer("cost surfaces"):
            surface = cost_surface_for(study, layers, scenario)
        surfaces[scenario.name] = surface
        with timer("candidate routes"):
            cands = generate_candidates(study, layers, surface, origin, destinations,
                                        progress, graphs)
        with timer("appraisal"):
            cands = appraise_candidates(cands, layers, study, scenario)
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
        columns=["country_split", "legs"], errors="ignore")
    per_country = pd.concat(country_tables, ignore_index=True)
    target = Path(out_dir) if out_dir else settings.MAPS_DIR / study.name
    files = write_outputs(target, study, layers, candidates, per_country, surfaces, timer)
    seconds = time.perf_counter() - t0
    log.info("study %s written to %s in %.1f s", study.name, target, seconds)
    log.info("where the time went: %s", timer.summary(seconds))
    ranking = candidates.drop(columns=["geometry"])
    return StudyOutputs(target, files, ranking, candidates, per_country, seconds,
                        extra={"timings": dict(timer.seconds)})


# --- outputs -----------------------------------------------------------------------------

RANKING_COLUMNS = [
    "scenario", "rank", "score", "name", "destination", "kind", "throughput_bcm_y",
    "length_km", "new_build_km", "reused_km", "diameter_mm", "strings", "stations",
    "compressor_power_mw", "capex_musd", "tariff_usd_per_1000m3",
    "tariff_usd_per_1000m3_100km", "delivered_cost_usd_per_1000m3", "demand_served_bcm_y",
    "countries", "border_crossings", "water_crossings", "highest_point_m",
    "terrain_difficulty", "pareto", "reused_pipelines", "reused_capacity_bcm_y",
    "reused_assessed_km", "reuse_compression_mw",
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
                  timer: Any = None) -> dict[str, Path]:
    """Write every output into a temporary folder, then swap it in for ``target``
    (``timer``: a :class:`planner.timing.StageTimer` to time the map and the rest)."""
    from contextlib import nullcontext

    def stage(name: str) -> Any:
        return timer(name) if timer is not None else nullcontext()

    from planner.appraisal import reused_lines_table
    from planner.report import study_map, study_report_html, study_report_markdown

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        names = {
            "map": tmp / "index.html",
            "ranking_csv": tmp / "ranking.csv",
            "per_country_csv": tmp / "per_country.csv",
            "report_md": tmp / "report.md",
            "report_html": tmp / "report.html",
            "candidates_gpkg": tmp / "candidates.gpkg",
            "reused_lines_csv": tmp / "reused_lines.csv",
            "metadata": tmp / "metadata.json",
        }
        ranking = ranking_table(candidates)
        ranking.to_csv(names["ranking_csv"], index=False)
        per_country.to_csv(names["per_country_csv"], index=False)
        reused = reused_lines_table(candidates)
        reused.to_csv(names["reused_lines_csv"], index=False)
        names["report_md"].write_text(
            study_report_markdown(study, ranking, per_country, reused), encoding="utf-8")
        names["report_html"].write_text(
            study_report_html(study, ranking, per_country, reused), encoding="utf-8")
        gpkg = gpd.GeoDataFrame(_plain(candidates), crs=candidates.crs)
        gpkg.to_file(names["candidates_gpkg"], layer="candidates", driver="GPKG")
        with stage("map"):
            study_map(study, layers, candidates, per_country, surfaces, names["map"])
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
        _swap_in(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {k: target / v.name for k, v in names.items()}


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
