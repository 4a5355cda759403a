"""Least-cost routes against built pipelines: the route backtest and the calibration.

The backtest takes a built pipeline out of the corridor layer together with its parallel
strings (the same system, or another line lying mostly within
:data:`PARALLEL_WITHIN_KM` of it), routes between its two ends over the cost surface, and
measures how closely the generated route follows the real line:

- ``share_10km``, ``share_25km``: the share (0–1) of the generated route's length lying
  within 10 and 25 km of the real line;
- ``length_ratio``: generated route length over real line length (geodesic);
- ``extra_countries``: how many countries the route enters (for at least
  :data:`EXTRA_COUNTRY_MIN_KM`) that the real line does not touch;
- ``baseline_share_10km``, ``baseline_share_25km``: the same shares for the straight line
  between the two ends, the plain baseline every route must beat;
- ``mean_distance_km``, ``baseline_mean_distance_km``: the symmetric mean distance
  between the route (or the straight line) and the real line, a measure without the
  ceiling of the shares (:func:`mean_distance_km`).

A route beats the baseline strictly (:func:`beats_baseline`) when its 25 km share is
higher, or both are full and its 10 km share is not lower; by distance
(:func:`beats_baseline_distance`) when its mean distance is lower, or within
:data:`DISTANCE_TIE_KM` where the straight line already lies on the real line. Both
are reported.

The calibration fits the cost-surface factors (:class:`~planner.costsurface.CostParams`)
to the region's built lines (GEM operating lines longer than :data:`MIN_LINE_KM`) by a
search: a fixed, seeded Latin-hypercube sample of parameter sets over
:data:`SEARCH_SPACE`, plus the published defaults, is scored on every line once; a fit on
any set of lines then picks the candidate with the best mean objective on those lines
(:data:`OBJECTIVES`: :func:`line_objective` by default, :func:`distance_objective`, or
:func:`margin_objective`, relative to each line's straight line). Cross-validation folds
group lines of one system and their parallels, so no validation line has a twin among
the training lines; validation scores are reported apart from training scores. The
candidate set is drawn before any score is seen, so choosing it leaks nothing from the
validation lines.

The surfaces are assembled from components that :func:`planner.costsurface.build_cost_surface`
itself builds (one build per component with that component's factor set to an indicator
and every other factor neutral), so a parameter set costs one array expression instead of
a rebuild; :meth:`RouteSurfaces.surface` equals a full build with the same parameters (a
test checks it). Routes are solved as studies solve them, on the 8-connected grid without
straightening (:data:`ROUTE_NEIGHBOURS`, :data:`ROUTE_STRAIGHTEN`), so the backtest
validates what a study computes; the lattices of :mod:`planner.lattice` are an option.
A deviation prior (``CostParams.deviation_weight``, off by default, searched only when
named) can be applied to each line's own surface (:func:`line_surface`); studies do not
apply it.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import shapely
from scipy import ndimage
from scipy.stats import qmc
from shapely.geometry import LineString, MultiLineString, box
from shapely.geometry.base import BaseGeometry
from shapely.ops import linemerge

from planner import settings
from planner.costsurface import (
    CostParams,
    CostSurface,
    build_cost_surface,
    calibrated_params_path,
    cost_params_from_dict,
    per_route_params_problem,
)
from planner.geodesy import geodesic_length_km
from planner.layers import Layers

log = logging.getLogger(__name__)

#: Built lines shorter than this (km, inside the region) are not backtested.
MIN_LINE_KM = 150.0
#: Lines drawn coarser than this (km of line per segment between vertices) are schematic:
#: GEM draws some lines as a few straight segments over hundreds of kilometres (Chelyabinsk–
#: Petrovsk: one segment of 1,100 km), which records where the ends are but not where the
#: line was built, and gives the straight-line baseline a full score by construction.
#: Such lines are not backtested unless chosen by id.
MAX_KM_PER_VERTEX = 50.0
#: Pipeline statuses a line must have to be backtested by default.
BUILT_STATUSES = ("operating",)
#: Another line is a parallel string of the tested one when at least
#: :data:`PARALLEL_SHARE` of its length lies within this distance (km) of it.
PARALLEL_WITHIN_KM = 10.0
PARALLEL_SHARE = 0.5
#: A route counts as entering a country when it runs at least this far (km) inside it.
EXTRA_COUNTRY_MIN_KM = 10.0
#: Distances (km) of the share-within metrics.
WITHIN_KM = (10.0, 25.0)
#: Weight of the 10 km share and the penalty of entering an extra country in the
#: objective of one line (see :func:`line_objective`).
OBJECTIVE_WEIGHT_10KM = 0.5
OBJECTIVE_EXTRA_COUNTRY_PENALTY = 0.5
#: The routing lattice of the backtest and the calibration: 8, the 8-connected grid
#: studies route on (:func:`planner.routing.least_cost_route`'s default), so the backtest
#: validates what studies compute; 16 or 32 (:mod:`planner.lattice`) are measured
#: variants (README, "Route backtest"), not adopted.
ROUTE_NEIGHBOURS = 8
#: Whether backtest and calibration routes are straightened
#: (:func:`planner.routing.straighten_path`): False, as studies route
#: (``least_cost_route(straighten=False)``, :func:`planner.network.reuse_route`).
ROUTE_STRAIGHTEN = False
#: Columns of ``routes.csv``, in order.
RESULT_COLUMNS = ["pipeline_id", "name", "share_10km", "share_25km", "length_ratio",
                  "baseline_share_10km", "baseline_share_25km", "extra_countries",
                  "mean_distance_km", "baseline_mean_distance_km"]
#: Spacing (m) of the points along both lines at which :func:`mean_distance_km` measures.
DISTANCE_STEP_M = 1000.0
#: Tolerance (km) of :func:`beats_baseline_distance` when the straight line already lies
#: on the real line: a quarter of the default 10 km cell, the mean offset from a line of
#: the centres of the cells it passes through (the grid cannot resolve closer).
DISTANCE_TIE_KM = 2.5

#: The search space of the calibration: parameter, low, high, scale. Bounds are planning
#: judgements wide enough to hold the published defaults (see cost_components()).
SEARCH_SPACE = pd.DataFrame(
    [
        ("slope_hill_mult", 1.0, 3.0, "linear"),
        ("slope_mtn_mult", 1.0, 6.0, "linear"),
        ("elev_high_mult", 1.0, 3.0, "linear"),
        ("elev_very_high_mult", 1.0, 5.0, "linear"),
        ("mountain_mult", 1.0, 4.0, "linear"),
        ("river_crossing_mult", 1.0, 30.0, "log"),
        ("border_crossing_mult", 1.0, 400.0, "log"),
        ("parallel_mult", 0.1, 1.0, "linear"),
        ("parallel_corridor_m", 2000.0, 30000.0, "log"),
        ("settlement_mult", 0.5, 5.0, "log"),
        ("town_access_mult", 0.3, 1.0, "linear"),
        ("town_access_m", 2000.0, 30000.0, "log"),
    ],
    columns=["parameter", "low", "high", "scale"],
)
#: Factors searchable only when named (``parameters=``, ``--parameters``): not part of
#: the default search, so that search and its shipped figures stay as they were.
OPTIONAL_SEARCH_SPACE = pd.DataFrame(
    [
        ("length_base", 0.0, 4.0, "linear"),
        ("water_body_mult", 3.0, 300.0, "log"),
        ("deviation_weight", 0.0, 4.0, "linear"),
    ],
    columns=["parameter", "low", "high", "scale"],
)


class BacktestError(ValueError):
    """Bad backtest input (unknown pipeline ids, no line to test)."""


def _check_neighbours(neighbours: int | None) -> int:
    """``neighbours`` (default :data:`ROUTE_NEIGHBOURS`), checked against
    :data:`planner.lattice.NEIGHBOURS`."""
    from planner.lattice import NEIGHBOURS

    n = ROUTE_NEIGHBOURS if neighbours is None else neighbours
    if n not in NEIGHBOURS:
        raise BacktestError(f"neighbours must be one of {', '.join(map(str, NEIGHBOURS))}, "
                            f"got {neighbours!r}")
    return int(n)


# --- metrics ---------------------------------------------------------------------------


def share_within(route: BaseGeometry, real: BaseGeometry, within_m: float) -> float:
    """Share (0–1) of ``route``'s length lying within ``within_m`` of ``real``.

    Both in one projected CRS (metres). A route of no length counts as on the line.

    Examples
    --------
    >>> from shapely.geometry import LineString
    >>> real = LineString([(0, 0), (100_000, 0)])
    >>> share_within(real, real, 10_000)
    1.0
    >>> offset = LineString([(0, 15_000), (100_000, 15_000)])
    >>> share_within(offset, real, 10_000), share_within(offset, real, 25_000)
    (0.0, 1.0)
    """
    if route.length == 0:
        return 1.0
    inside = route.intersection(real.buffer(within_m, quad_segs=16))
    return float(min(1.0, inside.length / route.length))


def mean_distance_km(route: BaseGeometry, real: BaseGeometry,
                     step_m: float = DISTANCE_STEP_M) -> float:
    """Symmetric mean distance (km) between two lines in one projected CRS (metres): the
    mean, over points every ``step_m`` along ``route``, of their distance to ``real``,
    averaged with the same taken from ``real`` to ``route`` (the average Hausdorff
    distance). Unlike a share within a distance it has no ceiling: of two routes that
    both lie within 25 km, the closer one scores lower.

    Examples
    --------
    >>> from shapely.geometry import LineString
    >>> real = LineString([(0, 0), (100_000, 0)])
    >>> mean_distance_km(real, real)
    0.0
    >>> round(mean_distance_km(LineString([(0, 15_000), (100_000, 15_000)]), real), 6)
    15.0
    """
    def one_way(a: BaseGeometry, b: BaseGeometry) -> float:
        n = max(2, math.ceil(a.length / step_m) + 1)
        pts = shapely.line_interpolate_point(a, np.linspace(0.0, a.length, n))
        return float(np.mean(shapely.distance(pts, b)))

    return (one_way(route, real) + one_way(real, route)) / 2.0 / 1000.0


def line_metrics(route: BaseGeometry, real: BaseGeometry, baseline: BaseGeometry,
                 within_km: Sequence[float] = WITHIN_KM) -> dict[str, float]:
    """Shares within each distance of ``real`` for ``route`` and ``baseline``, and the
    length ratio route / real (all three in one projected CRS, metres).

    Examples
    --------
    >>> from shapely.geometry import LineString
    >>> real = LineString([(0, 0), (50_000, 30_000), (100_000, 0)])
    >>> m = line_metrics(real, real, LineString([(0, 0), (100_000, 0)]))
    >>> m["share_25km"], m["share_10km"], round(m["baseline_share_10km"], 2)
    (1.0, 1.0, 0.39)
    """
    out: dict[str, float] = {}
    for km in within_km:
        out[f"share_{km:g}km"] = share_within(route, real, km * 1000.0)
    out["length_ratio"] = float(route.length / real.length) if real.length else math.nan
    for km in within_km:
        out[f"baseline_share_{km:g}km"] = share_within(baseline, real, km * 1000.0)
    out["mean_distance_km"] = mean_distance_km(route, real)
    out["baseline_mean_distance_km"] = mean_distance_km(baseline, real)
    return out


def line_objective(share_10km: Any, share_25km: Any, extra_countries: Any) -> Any:
    """The calibration's score of a route (higher is better): share within 25 km, plus
    :data:`OBJECTIVE_WEIGHT_10KM` × share within 10 km, less
    :data:`OBJECTIVE_EXTRA_COUNTRY_PENALTY` when it enters a country the real line avoids.

    Examples
    --------
    >>> float(line_objective(1.0, 1.0, 0))
    1.5
    >>> float(line_objective(0.0, 1.0, 2))
    0.5
    """
    extra = np.asarray(extra_countries) > 0
    return (np.asarray(share_25km) + OBJECTIVE_WEIGHT_10KM * np.asarray(share_10km)
            - OBJECTIVE_EXTRA_COUNTRY_PENALTY * extra)


#: Scale (km) of the distance objective: a route this much closer on average scores 1.
OBJECTIVE_DISTANCE_KM = 25.0
#: Scale (km) of the margin objective (:func:`margin_objective`): half the default 10 km
#: cell (:data:`planner.settings.DEFAULT_RESOLUTION_KM`), twice :data:`DISTANCE_TIE_KM`.
#: A route one cell closer than the straight line scores tanh(2) = 0.96, so a large gain
#: on a sinuous line counts hardly more than a one-cell win on a near-straight one. Set
#: from the cell size, not fitted; on the shipped draw (seed 12) 2.5 and 10 km pick the
#: same fits, on other draws not always (README).
OBJECTIVE_MARGIN_KM = 5.0
#: The calibration's objectives (``objective`` of :func:`calibrate_routes`).
OBJECTIVES = ("shares", "distance", "margin")


def distance_objective(mean_distance: Any, extra_countries: Any) -> Any:
    """The calibration's ``distance`` objective of a route (higher is better): minus its
    symmetric mean distance to the real line over :data:`OBJECTIVE_DISTANCE_KM`, less
    :data:`OBJECTIVE_EXTRA_COUNTRY_PENALTY` when it enters a country the real line
    avoids (an extra country weighs as much as 12.5 km of mean distance).

    Examples
    --------
    >>> float(distance_objective(0.0, 0)), float(distance_objective(25.0, 1))
    (-0.0, -1.5)
    """
    extra = np.asarray(extra_countries) > 0
    return (-np.asarray(mean_distance, dtype=float) / OBJECTIVE_DISTANCE_KM
            - OBJECTIVE_EXTRA_COUNTRY_PENALTY * extra)


def margin_objective(mean_distance: Any, baseline_mean_distance: Any,
                     extra_countries: Any, scale_km: float = OBJECTIVE_MARGIN_KM) -> Any:
    """The calibration's ``margin`` objective of a route (higher is better): how much
    closer to the real line it lies than its own straight-line baseline, bounded,
    ``tanh((baseline_mean_distance - mean_distance) / scale_km)`` (``scale_km``:
    :data:`OBJECTIVE_MARGIN_KM` unless a sensitivity check says otherwise), less
    :data:`OBJECTIVE_EXTRA_COUNTRY_PENALTY` when it enters a country the real line avoids.

    ``shares`` and ``distance`` reward closeness in absolute terms, so a fit can trade a
    near-straight line (where the straight line is a few km off and a route must be very
    close to beat it) against a large gain on a sinuous line. The target of the backtest is
    relative (beat the straight line on as many lines as possible): this score is positive
    exactly when the route is closer than the straight line, and saturates at ±1, so every
    line weighs about the same. Mean distances in km (:func:`mean_distance_km`).

    Examples
    --------
    >>> float(margin_objective(5.0, 5.0, 0))
    0.0
    >>> closer, farther = margin_objective([4.0, 9.0], [9.0, 4.0], 0)
    >>> round(float(closer), 3), round(float(farther), 3)
    (0.762, -0.762)
    >>> round(float(margin_objective(4.0, 9.0, 1)), 3)
    0.262
    """
    extra = np.asarray(extra_countries) > 0
    margin = (np.asarray(baseline_mean_distance, dtype=float)
              - np.asarray(mean_distance, dtype=float))
    return np.tanh(margin / scale_km) - OBJECTIVE_EXTRA_COUNTRY_PENALTY * extra


#: How each objective reads in a calibration's provenance (``method``).
_OBJECTIVE_TEXT = {
    "shares": f"share within 25 km + {OBJECTIVE_WEIGHT_10KM:g} x share within 10 km",
    "distance": f"- mean distance to the real line / {OBJECTIVE_DISTANCE_KM:g} km",
    "margin": "tanh((straight line's mean distance to the real line - route's) / "
              f"{OBJECTIVE_MARGIN_KM:g} km)",
}


def _check_objective(objective: str) -> None:
    if objective not in OBJECTIVES:
        raise BacktestError(f"unknown objective {objective!r} (known: {', '.join(OBJECTIVES)})")


def with_objective(scores: pd.DataFrame, objective: str = "shares") -> pd.DataFrame:
    """``scores`` with the ``objective`` column of :func:`line_objective` (``shares``),
    :func:`distance_objective` (``distance``) or :func:`margin_objective` (``margin``).

    Re-scoring needs no routing: a score table of :func:`score_candidates` (also written
    by ``planner calibrate routes --out`` as ``calibration_scores.csv``) carries every
    metric the objectives read.

    Examples
    --------
    >>> rows = pd.DataFrame({"share_10km": [1.0], "share_25km": [1.0],
    ...                      "mean_distance_km": [4.0], "baseline_mean_distance_km": [4.0],
    ...                      "extra_countries": [0]})
    >>> [float(with_objective(rows, o)["objective"].iloc[0]) for o in OBJECTIVES]
    [1.5, -0.16, 0.0]
    """
    _check_objective(objective)
    if objective == "distance":
        value = distance_objective(scores["mean_distance_km"], scores["extra_countries"])
    elif objective == "margin":
        value = margin_objective(scores["mean_distance_km"],
                                 scores["baseline_mean_distance_km"],
                                 scores["extra_countries"])
    else:
        value = line_objective(scores["share_10km"], scores["share_25km"],
                               scores["extra_countries"])
    return scores.assign(objective=value)


def beats_baseline(row: Mapping[str, Any]) -> bool:
    """True when the route lies closer to the real line than the straight line does: a
    higher 25 km share, or an equal one (both full) with a 10 km share at least as high."""
    s25, b25 = float(row["share_25km"]), float(row["baseline_share_25km"])
    if s25 > b25 + 1e-9:
        return True
    return abs(s25 - b25) <= 1e-9 and float(row["share_10km"]) >= float(
        row["baseline_share_10km"]) - 1e-9 and s25 >= 1.0 - 1e-9


def beats_baseline_distance(row: Mapping[str, Any], tie_km: float = DISTANCE_TIE_KM
                            ) -> bool:
    """True when the route lies closer to the real line than the straight line does by
    the symmetric mean distance (:func:`mean_distance_km`, no ceiling), or, where the
    straight line already lies on the real line (mean distance at most ``tie_km``), when
    the route is no more than ``tie_km`` further from it.

    :func:`beats_baseline` (the strict measure on the shares) is kept and reported next
    to this one: on a line the straight line follows within 25 km all the way, a route
    can at best tie on the 25 km share.

    Examples
    --------
    >>> beats_baseline_distance({"mean_distance_km": 4.0, "baseline_mean_distance_km": 9.0})
    True
    >>> beats_baseline_distance({"mean_distance_km": 3.0, "baseline_mean_distance_km": 1.0})
    True
    >>> beats_baseline_distance({"mean_distance_km": 6.0, "baseline_mean_distance_km": 5.0})
    False
    """
    d, b = float(row["mean_distance_km"]), float(row["baseline_mean_distance_km"])
    if d < b:
        return True
    return b <= tie_km and d <= b + tie_km


# --- the lines -------------------------------------------------------------------------


def _longest_part(geom: BaseGeometry) -> LineString | None:
    if geom is None or geom.is_empty:
        return None
    merged = linemerge(geom) if isinstance(geom, MultiLineString) else geom
    parts = [g for g in getattr(merged, "geoms", [merged]) if isinstance(g, LineString)]
    if not parts:
        return None
    best: LineString = max(parts, key=lambda g: g.length)
    return best


def _projected(geoms: Iterable[BaseGeometry], crs: str) -> gpd.GeoSeries:
    return gpd.GeoSeries(list(geoms), crs=settings.STORAGE_CRS).to_crs(crs)


def built_lines(
    pipelines: gpd.GeoDataFrame,
    *,
    ids: Sequence[str] | None = None,
    min_km: float = MIN_LINE_KM,
    statuses: Sequence[str] = BUILT_STATUSES,
    region: tuple[float, float, float, float] = settings.DEFAULT_REGION,
    crs: str = settings.STUDY_CRS,
    max_km_per_vertex: float | None = MAX_KM_PER_VERTEX,
    as_built: bool = False,
) -> gpd.GeoDataFrame:
    """The built lines to backtest, one row per distinct line, with what to remove.

    Each line is clipped to ``region`` (inset by 0.1°) and its longest connected part is
    the line tested. A line repeated with the same geometry in its system (GEM lists
    twin strings apart) is kept once.

    Parameters
    ----------
    pipelines
        The pipelines layer (``pipeline_id``, ``name``, ``system``, ``status``).
    ids
        Pipeline ids to test (any status, any drawing); default: every line of
        ``statuses`` at least ``min_km`` long inside the region and drawn with at least
        one vertex per ``max_km_per_vertex`` km (:data:`MAX_KM_PER_VERTEX`; None: all).
    as_built
        Route each line over the network as it stood when the line was built: the lines
        of the layer that started later (``start_year``) are left out of its corridors
        too (column ``later``). A line without a start year, and lines without one,
        are not filtered.
    min_km, statuses, region, crs
        Selection, study region (degrees) and the projected CRS distances are taken in.

    Returns
    -------
    geopandas.GeoDataFrame
        ``pipeline_id``, ``name``, ``system``, ``length_km`` (of the part tested),
        ``km_per_vertex`` (how coarsely it is drawn),
        ``layer_index`` (the line's row label in ``pipelines``), ``removed`` (tuple of
        row labels of ``pipelines``: the line and its parallel strings), ``group``
        (lines sharing a system or parallels; cross-validation keeps a group together),
        ``later`` (row labels of ``pipelines`` that started after the line; empty unless
        ``as_built``) and the geometry (EPSG:4326).

    Raises
    ------
    BacktestError
        Unknown ids (all listed), or no line to test.
    """
    pipes = pipelines
    pid = pipes["pipeline_id"].astype(str)
    if ids:
        unknown = sorted(set(map(str, ids)) - set(pid))
        if unknown:
            raise BacktestError(
                f"pipeline ids not in the pipelines layer: {', '.join(unknown)} "
                f"(see the pipeline_id column, e.g. {', '.join(pid.iloc[:3])})")
        chosen = pipes[pid.isin(list(map(str, ids)))]
    else:
        st = pipes["status"].astype(str).str.lower()
        chosen = pipes[st.isin([s.lower() for s in statuses])]
    w, s, e, n = region
    clip = box(w + 0.1, s + 0.1, e - 0.1, n - 0.1)
    rows = []
    seen: set[tuple[str, bytes]] = set()
    for idx, r in chosen.iterrows():
        part = _longest_part(r.geometry.intersection(clip) if r.geometry is not None
                             else None)
        if part is None:
            continue
        km = float(geodesic_length_km(gpd.GeoSeries([part], crs=settings.STORAGE_CRS))[0])
        km_per_vertex = km / max(1, len(part.coords) - 1)
        if not ids and (km < min_km or (max_km_per_vertex is not None
                                        and km_per_vertex > max_km_per_vertex)):
            continue
        key = (str(r.get("system", "")), shapely.to_wkb(shapely.set_precision(part, 1e-4)))
        if key in seen:
            continue
        seen.add(key)
        rows.append({"layer_index": idx, "pipeline_id": str(r["pipeline_id"]),
                     "name": str(r["name"]), "system": str(r.get("system", "")),
                     "length_km": km, "km_per_vertex": km_per_vertex, "geometry": part})
    if not rows:
        raise BacktestError(f"no built line of {', '.join(statuses)} at least {min_km:g} km "
                            f"long inside the region {region} and drawn with a vertex at "
                            f"least every {max_km_per_vertex} km")
    lines = gpd.GeoDataFrame(rows, geometry="geometry", crs=settings.STORAGE_CRS)
    lines["removed"] = _parallel_strings(pipes, lines, crs)
    lines["later"] = _later_lines(pipes, lines) if as_built else [()] * len(lines)
    lines["group"] = _groups(lines)
    return lines.reset_index(drop=True)


def _parallel_strings(pipes: gpd.GeoDataFrame, lines: gpd.GeoDataFrame, crs: str
                      ) -> list[tuple[Any, ...]]:
    """Row labels of ``pipes`` to remove for each line: its system and its parallels."""
    proj = pipes.geometry.to_crs(crs)
    length = proj.length.to_numpy()
    system = pipes.get("system", pd.Series("", index=pipes.index)).astype(str)
    out = []
    for r, geom in zip(lines.itertuples(), _projected(lines.geometry, crs), strict=True):
        zone = geom.buffer(PARALLEL_WITHIN_KM * 1000.0)
        near = proj.intersection(zone).length.to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            parallel = near >= PARALLEL_SHARE * length
        same = (system == r.system).to_numpy() & (r.system != "")
        drop = set(pipes.index[parallel | same]) | {r.layer_index}
        out.append(tuple(sorted(drop, key=str)))
    return out


def _later_lines(pipes: gpd.GeoDataFrame, lines: gpd.GeoDataFrame) -> list[tuple[Any, ...]]:
    """Row labels of ``pipes`` that started after each line (both start years known)."""
    year = pd.to_numeric(pipes.get("start_year", pd.Series(np.nan, index=pipes.index)),
                         errors="coerce")
    out = []
    for idx in lines["layer_index"]:
        y = year.get(idx, np.nan)
        later = pipes.index[(year > y).to_numpy()] if np.isfinite(y) else pipes.index[:0]
        out.append(tuple(sorted(later, key=str)))
    return out


def held_out(lines: pd.DataFrame, holdout: Iterable[str]) -> pd.Series:
    """Which ``lines`` (with their ``group``, :func:`built_lines`) a fit leaves out when the
    lines ``holdout`` are held out: those and every line sharing a group with one (its
    system, its parallels), so that no held-out line has a twin in training.

    Examples
    --------
    >>> lines = pd.DataFrame({"pipeline_id": ["A", "B", "C"], "group": [0, 0, 1]})
    >>> held_out(lines, ["A"]).tolist()
    [True, True, False]
    """
    held = set(map(str, holdout))
    groups = set(lines.loc[lines["pipeline_id"].isin(held), "group"])
    return lines["group"].isin(groups)


def _groups(lines: gpd.GeoDataFrame) -> list[int]:
    """Lines of one system, or removed with each other, share a group."""
    n = len(lines)
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i in range(n):
        for j in range(i + 1, n):
            if (lines["system"].iloc[i] == lines["system"].iloc[j]
                    or lines["layer_index"].iloc[j] in lines["removed"].iloc[i]
                    or lines["layer_index"].iloc[i] in lines["removed"].iloc[j]):
                parent[find(i)] = find(j)
    roots = {r: k for k, r in enumerate(dict.fromkeys(find(i) for i in range(n)))}
    return [roots[find(i)] for i in range(n)]


# --- surfaces --------------------------------------------------------------------------


_NEUTRAL = dict(slope_hill_mult=1.0, slope_mtn_mult=1.0, elev_high_mult=1.0,
                elev_very_high_mult=1.0, mountain_mult=1.0, river_crossing_mult=1.0,
                border_crossing_mult=1.0, parallel_mult=1.0, settlement_mult=1.0,
                town_access_mult=1.0, length_base=0.0, water_body_mult=float("inf"),
                deviation_weight=0.0)


@dataclass(eq=False)
class RouteSurfaces:
    """The components of a region's cost surface, to assemble a surface for any
    parameter set and any set of removed pipelines without rebuilding.

    Built by :meth:`from_layers` from :func:`~planner.costsurface.build_cost_surface`
    itself; :meth:`surface` gives what a full build with the same parameters and the
    pipelines minus ``removed`` gives.
    """

    template: CostSurface
    hill: np.ndarray
    mountain_slope: np.ndarray
    mountain_range: np.ndarray
    border: np.ndarray
    settlement: np.ndarray
    river: np.ndarray
    barrier: np.ndarray
    pipelines: gpd.GeoDataFrame
    fixed: CostParams
    town_distance: np.ndarray | None = None
    neighbours: int = ROUTE_NEIGHBOURS
    water: np.ndarray | None = None
    straighten: bool = ROUTE_STRAIGHTEN
    _distance: dict[Any, np.ndarray] = field(default_factory=dict, repr=False)
    #: Builds ``water`` on first use (a whole surface build: only when a finite
    #: ``water_body_mult`` is asked for).
    _water_source: Callable[[], np.ndarray] | None = field(default=None, repr=False)
    #: :meth:`offset_ratio` per pair of line ends (None: a ring, no segment).
    _offset_ratio: dict[Any, np.ndarray | None] = field(default_factory=dict, repr=False)

    @classmethod
    def from_layers(cls, layers: Layers, resolution_m: float | None = None, *,
                    region: tuple[float, float, float, float] = settings.DEFAULT_REGION,
                    crs: str = settings.STUDY_CRS, params: CostParams | None = None,
                    cache_dir: str | Path | None = None,
                    towns: gpd.GeoDataFrame | None = None,
                    neighbours: int | None = None,
                    straighten: bool | None = None) -> RouteSurfaces:
        """Components of the surface of ``layers`` (settlements: the demand centres).

        ``params`` gives the factors that are not searched (slope and elevation
        thresholds, settlement density and threshold, corridor statuses, the towns'
        population threshold); ``towns`` those of the transport-corridor proxy
        (default :func:`~planner.costsurface.towns_from_geonames`); ``neighbours`` the
        routing lattice (default :data:`ROUTE_NEIGHBOURS`, see
        :func:`planner.routing.least_cost_route`); ``straighten`` whether 8-neighbour
        routes are straightened (default :data:`ROUTE_STRAIGHTEN`).
        """
        neighbours = _check_neighbours(neighbours)
        if straighten and neighbours != 8:
            raise BacktestError(f"straighten applies to 8-neighbour routes only, not to the "
                                f"{neighbours}-neighbour lattice")
        from planner.costsurface import (
            cell_centres_xy,
            town_distance_m,
            town_points_xy,
            towns_from_geonames,
        )

        res = float(resolution_m or settings.DEFAULT_RESOLUTION_KM * 1000.0)
        base = cost_params_from_dict({**_NEUTRAL, "country_factors": {}}, params)
        ref = base.reference_cell_m

        def build(**changes: float) -> CostSurface:
            return build_cost_surface(
                layers.terrain, layers.countries, layers.water, layers.pipelines,
                layers.mountains, layers.demand_centres, resolution_m=res, crs=crs,
                region=region, params=cost_params_from_dict(changes, base),
                cache_dir=cache_dir)

        hill = build(slope_hill_mult=2.0)
        barrier = ~np.isfinite(hill.cost)

        def part(s: CostSurface) -> np.ndarray:
            out = np.where(barrier, 0.0, s.cost - 1.0).astype(np.float32)
            return out

        town_xy = town_points_xy(towns if towns is not None else towns_from_geonames(), crs,
                                 base.town_access_min_population)
        town_distance = town_distance_m(
            town_xy, cell_centres_xy(hill.transform, hill.shape)).reshape(hill.shape)
        return cls(
            template=hill,
            hill=part(hill),
            mountain_slope=part(build(slope_mtn_mult=2.0)),
            mountain_range=part(build(mountain_mult=2.0)) > 0.5,
            border=part(build(border_crossing_mult=1.0 + 2.0 * res / ref)) > 0.5,
            settlement=part(build(settlement_mult=2.0)),
            river=part(build(river_crossing_mult=1.0 + res / ref)) > 0.5,
            barrier=barrier,
            pipelines=layers.pipelines,
            fixed=base,
            town_distance=town_distance,
            neighbours=neighbours,
            straighten=ROUTE_STRAIGHTEN if straighten is None else bool(straighten),
            _water_source=lambda: barrier & np.isfinite(build(water_body_mult=2.0).cost),
        )

    def water_mask(self) -> np.ndarray:
        """Water cells (seas, lakes, reservoirs) a finite ``water_body_mult`` prices,
        built on first use (one more surface build)."""
        if self.water is None and self._water_source is not None:
            self.water = self._water_source()
        if self.water is None:
            raise BacktestError("water_body_mult is finite but these route surfaces hold no "
                                "water mask; build them with RouteSurfaces.from_layers")
        return self.water

    def __getstate__(self) -> dict[str, Any]:
        # the builder holds the layers: not worth sending (water_mask() first if needed)
        return {**self.__dict__, "_water_source": None}

    @property
    def resolution_m(self) -> float:
        return self.template.resolution_m

    def corridor_distance(self, removed: Sequence[Any] = (),
                          statuses: Sequence[str] | None = None) -> np.ndarray:
        """Distance (m) of each cell centre to the nearest cell an existing pipeline of
        ``statuses`` passes through, with the ``removed`` rows of the layer left out."""
        statuses = tuple(sorted(s.lower() for s in (statuses or self.fixed.parallel_statuses)))
        key = (tuple(sorted(map(str, removed))), statuses)
        if key not in self._distance:
            pipes = self.pipelines.drop(index=list(removed), errors="ignore")
            st = pipes["status"].astype(str).str.lower() if "status" in pipes else None
            if st is not None:
                pipes = pipes[st.isin(statuses)]
            shape = self.template.shape
            geoms = [g for g in pipes.geometry.to_crs(self.template.crs) if g is not None
                     and not g.is_empty]
            lines = np.zeros(shape, bool)
            if geoms:
                lines = rasterio.features.rasterize(
                    ((g, 1) for g in geoms), out_shape=shape, transform=self.template.transform,
                    fill=0, all_touched=True, dtype="uint8") > 0
            if lines.any():
                dist = ndimage.distance_transform_edt(~lines) * self.resolution_m
            else:
                dist = np.full(shape, np.inf)
            self._distance[key] = dist
        return self._distance[key]

    def offset_ratio(self, line: Mapping[str, Any]) -> np.ndarray | None:
        """``d / L`` of every cell from the straight segment between the two ends of the
        built ``line`` (:func:`~planner.costsurface.segment_offset_ratio`), computed once
        per line and kept (every candidate of a search routes the same lines); None for a
        ring, whose ends coincide."""
        ends = _line_ends(line)
        if ends not in self._offset_ratio:
            from planner.costsurface import segment_offset_ratio

            start, end = _grid_xy(self.template, ends)
            self._offset_ratio[ends] = None if start == end else segment_offset_ratio(
                self.template.transform, self.template.shape, start, end)
        return self._offset_ratio[ends]

    def cost(self, params: CostParams, removed: Sequence[Any] = ()) -> np.ndarray:
        """The cost raster for ``params`` with the ``removed`` pipelines left out
        (``params.deviation_weight`` belongs to a pair of ends: :func:`line_surface`)."""
        p, res = params, self.resolution_m
        elev = self.template.elevation
        c = (1.0 + (p.slope_hill_mult - 1.0) * self.hill
             + (p.slope_mtn_mult - 1.0) * self.mountain_slope).astype(np.float32)
        with np.errstate(invalid="ignore"):
            c[elev >= p.elev_very_high_m] *= p.elev_very_high_mult
            c[(elev >= p.elev_high_m) & (elev < p.elev_very_high_m)] *= p.elev_high_mult
        c[self.mountain_range] *= p.mountain_mult
        codes = self.template.country_codes
        for iso, f in dict(p.country_factors).items():
            for i, cc in enumerate(codes):
                if cc == iso.upper():
                    c[self.template.country == i] *= float(f)
        c[self.border] += (p.border_crossing_mult - 1.0) * p.reference_cell_m / res / 2.0
        c *= 1.0 + (p.settlement_mult - 1.0) * self.settlement
        near = self.corridor_distance(removed, p.parallel_statuses) <= p.parallel_corridor_m
        c[near] *= p.parallel_mult
        if p.town_access_mult != 1.0 and self.town_distance is not None:
            if p.town_access_min_population != self.fixed.town_access_min_population:
                raise BacktestError("the route surfaces hold towns of at least "
                                    f"{self.fixed.town_access_min_population:g} people; "
                                    "build them with that threshold in params")
            c[self.town_distance <= p.town_access_m] *= p.town_access_mult
        c[self.river] += (p.river_crossing_mult - 1.0) * p.reference_cell_m / res
        if p.length_base:
            c = (c + np.float32(p.length_base)) / np.float32(1.0 + p.length_base)
        c[self.barrier] = p.barrier_mult
        if np.isfinite(p.water_body_mult):
            c[self.water_mask()] = p.water_body_mult
        return c

    def surface(self, params: CostParams, removed: Sequence[Any] = ()) -> CostSurface:
        """A :class:`~planner.costsurface.CostSurface` for ``params`` without ``removed``."""
        from planner.costsurface import cost_components

        return dataclasses.replace(self.template, cost=self.cost(params, removed),
                                   components=cost_components(params), key="", cache_path=None,
                                   from_cache=False)


# --- one line --------------------------------------------------------------------------


def _left_out(line: Mapping[str, Any]) -> tuple[Any, ...]:
    """Rows of the pipelines layer a line is routed without: its system and parallels,
    and with ``as_built`` the lines that started after it."""
    return tuple(line["removed"]) + tuple(line.get("later", ()) or ())


def _sample_countries(surface: CostSurface, line_xy: LineString) -> set[str]:
    step = max(surface.resolution_m / 4.0, 250.0)
    n = max(2, int(line_xy.length // step) + 1)
    pts = shapely.line_interpolate_point(line_xy, np.linspace(0, line_xy.length, n))
    xy = shapely.get_coordinates(pts)
    r, c = surface.xy_to_rowcol(xy[:, 0], xy[:, 1])
    h, w = surface.shape
    ok = (r >= 0) & (r < h) & (c >= 0) & (c < w)
    return {str(x) for x in surface.country_at(r[ok], c[ok]) if x}


_Ends = tuple[tuple[float, float], tuple[float, float]]


def _line_ends(line: Mapping[str, Any]) -> _Ends:
    """The two ends (lon, lat) of a built line, where its route starts and ends."""
    real: LineString = line["geometry"]
    (x0, y0), (x1, y1) = real.coords[0][:2], real.coords[-1][:2]
    return (float(x0), float(y0)), (float(x1), float(y1))


def _grid_xy(surface: CostSurface, ends: _Ends) -> _Ends:
    """``ends`` (lon, lat) in the grid CRS of ``surface``."""
    (x0, y0), (x1, y1) = ends
    x, y = surface.lonlat_to_xy(np.array([x0, x1]), np.array([y0, y1]))
    return (float(x[0]), float(y[0])), (float(x[1]), float(y[1]))


def line_surface(surfaces: RouteSurfaces, params: CostParams, line: Mapping[str, Any]
                 ) -> CostSurface:
    """The surface one built line is routed on: ``params`` without the line, its
    parallels (and with ``as_built`` the later lines), and with
    ``params.deviation_weight`` the deviation prior of its two ends
    (:func:`planner.costsurface.with_deviation_prior`; not on a ring, whose ends coincide:
    :func:`route_line` reports it as no route, as without the prior)."""
    from planner.costsurface import with_deviation_prior

    surface = surfaces.surface(params, _left_out(line))
    if params.deviation_weight:
        ratio = surfaces.offset_ratio(line)
        if ratio is not None:  # a ring has no segment: the router refuses it
            start, end = _grid_xy(surface, _line_ends(line))
            surface = with_deviation_prior(surface, start, end, params.deviation_weight,
                                           ratio=ratio)
    return surface


def route_line(surfaces: RouteSurfaces, params: CostParams, line: Mapping[str, Any],
               *, geometries: bool = False, straighten: bool | None = None
               ) -> dict[str, Any]:
    """Route between the two ends of one built line and measure the route against it.

    ``line`` is a row of :func:`built_lines`. Returns the metrics of :data:`RESULT_COLUMNS`
    plus ``route_km``, ``real_km``, ``extra_country_codes``, ``baseline_extra_countries``
    and ``error`` (the message when no route was found; metrics are then NaN); with
    ``geometries``, also ``route``, ``real`` and ``baseline`` (EPSG:4326).
    ``straighten`` (default ``surfaces.straighten``, :data:`ROUTE_STRAIGHTEN`) applies
    :func:`planner.routing.straighten_path` to 8-neighbour routes (lattice routes
    are not straightened).
    """
    if straighten is None:
        straighten = surfaces.straighten
    from planner.routing import RoutingError, least_cost_route

    surface = line_surface(surfaces, params, line)
    real: LineString = line["geometry"]
    start, end = _line_ends(line)
    out: dict[str, Any] = {"pipeline_id": line["pipeline_id"], "name": line["name"]}
    try:
        r = least_cost_route(surface, start, end, method="full",
                             straighten=bool(straighten) and surfaces.neighbours == 8,
                             neighbours=surfaces.neighbours,
                             origin_name=f"{line['name']} (start)",
                             destination_name=f"{line['name']} (end)")
    except RoutingError as exc:
        out.update({k: math.nan for k in RESULT_COLUMNS[2:]})
        out["error"] = str(exc)
        return out
    route = r.geometry.iloc[0]
    real_xy, route_xy, base_xy = _projected(
        [real, route, LineString([real.coords[0], real.coords[-1]])], surface.crs)
    out.update(line_metrics(route_xy, real_xy, base_xy))
    real_countries = _sample_countries(surface, real_xy)
    entered = {c for c, km in dict(r["km_by_country"].iloc[0]).items()
               if km >= EXTRA_COUNTRY_MIN_KM}
    extra = sorted(entered - real_countries)
    base_extra = sorted(_sample_countries(surface, base_xy) - real_countries)
    out.update({
        "extra_countries": len(extra), "extra_country_codes": " ".join(extra),
        "baseline_extra_countries": len(base_extra),
        "route_km": float(r["length_km"].iloc[0]), "real_km": float(line["length_km"]),
        "error": "",
    })
    out["length_ratio"] = out["route_km"] / out["real_km"]
    if geometries:
        out.update({"route": route, "real": real,
                    "baseline": LineString([real.coords[0], real.coords[-1]])})
    return out


# --- calibration -----------------------------------------------------------------------


def candidate_params(n: int, *, seed: int = 12, base: CostParams | None = None,
                     parameters: Sequence[str] | None = None) -> pd.DataFrame:
    """``n`` parameter sets over :data:`SEARCH_SPACE` (scrambled Latin hypercube, seeded),
    after the published defaults (row 0). One row per candidate, one column per parameter.

    ``parameters`` limits the search to those rows of :data:`SEARCH_SPACE`, or names
    rows of :data:`OPTIONAL_SEARCH_SPACE` (searched only when named); the others keep
    their published values (fewer free parameters, less room to overfit).

    Examples
    --------
    >>> c = candidate_params(4)
    >>> len(c), float(c.loc[0, "border_crossing_mult"])
    (5, 6.0)
    >>> bool((c["parallel_mult"].between(0.1, 1.0)).all())
    True
    """
    base = base or CostParams()
    space = SEARCH_SPACE
    columns = list(SEARCH_SPACE["parameter"])
    if parameters:
        every = pd.concat([SEARCH_SPACE, OPTIONAL_SEARCH_SPACE], ignore_index=True)
        unknown = sorted(set(parameters) - set(every["parameter"]))
        if unknown:
            raise BacktestError(f"not searchable: {', '.join(unknown)} (searchable: "
                                f"{', '.join(every['parameter'])})")
        space = every[every["parameter"].isin(list(parameters))]
        columns += [str(x) for x in OPTIONAL_SEARCH_SPACE["parameter"] if x in parameters]
    u = qmc.LatinHypercube(d=len(space), seed=seed).random(n) if n > 0 else np.empty(
        (0, len(space)))
    cols = {}
    for j, (name, low, high, scale) in enumerate(zip(
            space["parameter"].astype(str), space["low"].astype(float),
            space["high"].astype(float), space["scale"].astype(str), strict=True)):
        if scale == "log":
            v = np.exp(np.log(low) + u[:, j] * (np.log(high) - np.log(low)))
        else:
            v = low + u[:, j] * (high - low)
        cols[name] = np.r_[float(getattr(base, name)), v]
    for name in columns:
        cols.setdefault(name, np.full(n + 1, float(getattr(base, name))))
    df = pd.DataFrame(cols)[columns]
    # a mountain slope costs at least what a hill slope costs
    df["slope_mtn_mult"] = np.maximum(df["slope_mtn_mult"], df["slope_hill_mult"])
    df["elev_very_high_mult"] = np.maximum(df["elev_very_high_mult"], df["elev_high_mult"])
    df.index.name = "candidate"
    return df


def _params(base: CostParams, row: Mapping[Any, Any]) -> CostParams:
    names = {*SEARCH_SPACE["parameter"], *OPTIONAL_SEARCH_SPACE["parameter"]}
    return cost_params_from_dict({str(k): float(v) for k, v in row.items() if k in names},
                                 base)


def _score_chunk(surfaces: RouteSurfaces, lines: list[dict[str, Any]],
                 cands: list[tuple[int, dict[str, float]]]) -> list[dict[str, Any]]:
    out = []
    for cid, row in cands:
        p = _params(surfaces.fixed, row)
        for line in lines:
            m = route_line(surfaces, p, line)
            m["candidate"] = cid
            out.append(m)
    return out


def _score_task(params: Mapping[str, Any], shared: Any) -> pd.DataFrame:
    """One candidate routed on every line: a task of :func:`planner.sweep.engine.run_tasks`
    (``shared`` = the route surfaces and the line records, sent to each worker once)."""
    surfaces, recs = shared
    rows = _score_chunk(surfaces, recs, [(int(params["candidate"]), dict(params["params"]))])
    return pd.DataFrame(rows)


def score_candidates(surfaces: RouteSurfaces, lines: gpd.GeoDataFrame,
                     candidates: pd.DataFrame, *, client: Any = None,
                     progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Every candidate routed on every line: one row per (candidate, line) with the
    metrics of :func:`route_line` and ``objective`` (:func:`line_objective`).

    The candidates run as tasks of the planner's sweep engine
    (:func:`planner.sweep.engine.run_tasks`): on the workers of ``client`` (an optional
    ``dask.distributed.Client``), otherwise one after another here.
    """
    import tempfile

    from planner.sweep.engine import TASK_KEY, ResultStore, run_tasks, task_key

    recs = lines.drop(columns="geometry").assign(geometry=list(lines.geometry)).to_dict(
        "records")
    tasks = [{"candidate": int(i), "params": {str(k): float(v) for k, v in r.items()}}
             for i, r in zip(candidates.index.to_numpy(), candidates.to_dict("records"),
                             strict=True)]
    if "water_body_mult" in candidates and np.isfinite(candidates["water_body_mult"]).any():
        surfaces.water_mask()  # built here once: the surfaces travel to workers without layers
    with tempfile.TemporaryDirectory(prefix="planner-calibration-") as folder:
        store = ResultStore(folder)
        summary = run_tasks(_score_task, tasks, store, client, shared=(surfaces, recs),
                            progress=False, desc="calibration candidates")
        if summary.failed:
            raise RuntimeError("calibration candidates failed: " + "; ".join(
                f"{k}: {v}" for k, v in summary.failed.items()))
        df = store.read()
    # rows in the order of the candidates, each candidate's lines in their order
    order = {task_key(t): n for n, t in enumerate(tasks)}
    df = (df.assign(_order=df[TASK_KEY].map(order)).sort_values("_order", kind="stable")
          .drop(columns=["_order", TASK_KEY]).reset_index(drop=True))
    if progress:
        progress(len(tasks), len(tasks))
    df["objective"] = line_objective(df["share_10km"], df["share_25km"],
                                     df["extra_countries"])
    return df


#: Bumped when routing or the metrics change, so cached search scores are not reused.
SCORES_VERSION = 5


def _cached_scores(surfaces: RouteSurfaces, lines: gpd.GeoDataFrame, cands: pd.DataFrame,
                   **kwargs: Any) -> pd.DataFrame:
    """:func:`score_candidates`, cached under :data:`planner.settings.CACHE_DIR` by a hash
    of every input (surface, towns, lines and what they remove, candidates) and the code."""
    import hashlib

    from planner.cache import code_version

    towns = getattr(surfaces, "town_distance", None)
    src = json.dumps({
        "version": SCORES_VERSION, "code": code_version(), "surface": surfaces.template.key,
        "towns": None if towns is None else hashlib.sha256(
            np.ascontiguousarray(towns).tobytes()).hexdigest(),
        "fixed": surfaces.fixed.as_dict(), "neighbours": surfaces.neighbours,
        "straighten": surfaces.straighten,
        "lines": [[r.pipeline_id, [str(x) for x in _left_out(r._asdict())], r.geometry.wkt]
                  for r in lines.itertuples()],
        "candidates": cands.round(9).to_dict("split"),
    }, sort_keys=True, default=str)
    key = hashlib.sha256(src.encode()).hexdigest()[:24]
    path = Path(settings.CACHE_DIR) / f"route-scores-{key}.csv"
    if surfaces.template.key and path.exists():
        log.info("route calibration: scores loaded from %s", path)
        df = pd.read_csv(path, dtype={"pipeline_id": str, "extra_country_codes": str,
                                      "error": str}, keep_default_na=False,
                         na_values=[""])
        df["extra_country_codes"] = df["extra_country_codes"].fillna("")
        df["error"] = df["error"].fillna("")
        return df
    df = score_candidates(surfaces, lines, cands, **kwargs)
    if surfaces.template.key:
        from planner.io import write_text_atomic

        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, df.to_csv(index=False))
    return df


def best_candidate(scores: pd.DataFrame, lines: Iterable[str]) -> int:
    """The candidate with the best mean objective on ``lines`` (pipeline ids); a line
    no candidate could route is left out; ties go to the lower candidate number."""
    ids = set(map(str, lines))
    s = scores[scores["pipeline_id"].astype(str).isin(ids)]
    mean = s.groupby("candidate")["objective"].mean().sort_index()
    if mean.dropna().empty:
        raise BacktestError("no candidate routed any of the training lines")
    return int(mean.index[int(np.nanargmax(mean.to_numpy()))])


def cross_validate(scores: pd.DataFrame, lines: gpd.GeoDataFrame, folds: int = 5,
                   *, seed: int = 12) -> pd.DataFrame:
    """K-fold validation over line groups: each fold's lines are scored with the
    candidate fitted on the other folds' lines. One row per line (its validation
    result) with ``fold`` and ``candidate``."""
    groups = np.asarray(lines["group"])
    uniq = np.unique(groups)
    rng = np.random.default_rng(seed)
    order = rng.permutation(uniq)
    k = max(2, min(folds, len(uniq)))
    fold_of = {g: i % k for i, g in enumerate(order)}
    line_fold = pd.Series([fold_of[g] for g in groups], index=lines["pipeline_id"].astype(str))
    out = []
    for f in range(k):
        test = line_fold.index[line_fold == f]
        train = line_fold.index[line_fold != f]
        cid = best_candidate(scores, train)
        rows = scores[(scores["candidate"] == cid)
                      & scores["pipeline_id"].astype(str).isin(set(test))].copy()
        rows["fold"] = f
        out.append(rows)
    return pd.concat(out, ignore_index=True)


#: Columns of :func:`summarise` (and ``summary.csv``).
SUMMARY_COLUMNS = ["lines", "share_10km", "share_25km", "length_ratio", "baseline_share_10km",
                   "baseline_share_25km", "beats_baseline", "no_extra_country",
                   "mean_distance_km", "baseline_mean_distance_km", "closer_than_baseline",
                   "beats_baseline_distance"]


def summarise(table: pd.DataFrame) -> dict[str, float]:
    """Means and the done-when shares of a results table (lines with a route)."""
    t = table[table["share_25km"].notna()]
    if t.empty:
        return {"lines": 0, **{k: math.nan for k in SUMMARY_COLUMNS[1:]}}
    beats = t.apply(beats_baseline, axis=1)
    return {
        "lines": len(t),
        "share_10km": float(t["share_10km"].mean()),
        "share_25km": float(t["share_25km"].mean()),
        "length_ratio": float(t["length_ratio"].mean()),
        "baseline_share_10km": float(t["baseline_share_10km"].mean()),
        "baseline_share_25km": float(t["baseline_share_25km"].mean()),
        "beats_baseline": float(beats.mean()),
        "no_extra_country": float((t["extra_countries"] == 0).mean()),
        **_distance_summary(t),
    }


def _distance_summary(t: pd.DataFrame) -> dict[str, float]:
    """Mean distances and the two distance-based beats (NaN on tables without them)."""
    if "mean_distance_km" not in t or t["mean_distance_km"].isna().all():
        return {k: math.nan for k in SUMMARY_COLUMNS[-4:]}
    return {
        "mean_distance_km": float(t["mean_distance_km"].mean()),
        "baseline_mean_distance_km": float(t["baseline_mean_distance_km"].mean()),
        "closer_than_baseline": float(
            (t["mean_distance_km"] < t["baseline_mean_distance_km"]).mean()),
        "beats_baseline_distance": float(t.apply(beats_baseline_distance, axis=1).mean()),
    }


@dataclass
class Calibration:
    """A fitted parameter set with the evidence behind it.

    Attributes
    ----------
    params
        The fitted :class:`~planner.costsurface.CostParams` (on ``training_ids``).
    candidate
        Its candidate number in ``candidates``.
    candidates, scores
        The search: every candidate, and every (candidate, line) result.
    training
        Results of ``params`` on the lines it was fitted on (training scores).
    cross_validation
        K-fold results: each training line scored by a fit that did not see it.
    holdout
        Results of ``params`` on the held-out lines (never used in any fit).
    provenance
        Which lines, when, the resolution, the search and the scores.
    """

    params: CostParams
    candidate: int
    candidates: pd.DataFrame
    scores: pd.DataFrame
    training: pd.DataFrame
    cross_validation: pd.DataFrame
    holdout: pd.DataFrame
    provenance: dict[str, Any]


def calibrate_routes(
    layers: Layers | None = None,
    *,
    resolution_km: float | None = None,
    n_candidates: int = 120,
    folds: int = 5,
    seed: int = 12,
    holdout: Sequence[str] = (),
    min_km: float = MIN_LINE_KM,
    parameters: Sequence[str] | None = None,
    client: Any = None,
    surfaces: RouteSurfaces | None = None,
    lines: gpd.GeoDataFrame | None = None,
    progress: Callable[[int, int], None] | None = None,
    objective: str = "shares",
    neighbours: int | None = None,
    straighten: bool | None = None,
) -> Calibration:
    """Fit the cost-surface factors to the region's built lines.

    Parameters
    ----------
    layers
        Default: :func:`planner.layers.default_layers`.
    resolution_km
        Grid of the fit (default :data:`planner.settings.DEFAULT_RESOLUTION_KM`).
    n_candidates, seed
        Size and seed of the Latin-hypercube search (plus the published defaults).
    folds
        K of the cross-validation over the training lines (grouped by system).
    holdout
        Pipeline ids kept out of every fit and reported apart (validation).
    min_km
        Shortest line used (inside the region).
    parameters
        Search only these factors (default: all of :data:`SEARCH_SPACE`).
    client
        Optional ``dask.distributed.Client`` to score candidates in parallel.
    surfaces, lines
        Precomputed :class:`RouteSurfaces` and :func:`built_lines` (for reuse).
    objective
        What a fit maximises, per line, averaged: ``shares`` (:func:`line_objective`),
        ``distance`` (:func:`distance_objective`) or ``margin`` over the straight line
        (:func:`margin_objective`).
    neighbours, straighten
        Routing lattice (default :data:`ROUTE_NEIGHBOURS`) and whether 8-neighbour routes
        are straightened (default :data:`ROUTE_STRAIGHTEN`); ignored with ``surfaces``.

    Returns
    -------
    Calibration
    """
    from planner.layers import default_layers

    neighbours = _check_neighbours(neighbours)
    _check_objective(objective)  # before any routing, not after it

    layers = layers or default_layers()
    res_km = float(resolution_km or settings.DEFAULT_RESOLUTION_KM)
    if lines is None:
        lines = built_lines(layers.pipelines, min_km=min_km)
        extra = sorted(set(map(str, holdout)) - set(lines["pipeline_id"]))
        if extra:
            more = built_lines(layers.pipelines, ids=extra)
            lines = pd.concat([lines, more], ignore_index=True)
            lines = gpd.GeoDataFrame(lines, geometry="geometry", crs=settings.STORAGE_CRS)
            lines["group"] = _groups(lines)
    cands = candidate_params(n_candidates, seed=seed, parameters=parameters)  # row 0: published
    if surfaces is None:
        surfaces = RouteSurfaces.from_layers(layers, res_km * 1000.0, neighbours=neighbours,
                                             straighten=straighten)
    scores = with_objective(
        _cached_scores(surfaces, lines, cands, client=client, progress=progress), objective)
    is_held = held_out(lines, holdout)
    train_lines = lines[~is_held]
    routable = scores.groupby("pipeline_id")["share_25km"].apply(lambda s: s.notna().any())
    train_ids = [i for i in train_lines["pipeline_id"] if routable.get(i, False)]
    cid = best_candidate(scores, train_ids)
    params = _params(surfaces.fixed, cands.loc[cid].to_dict())
    chosen = scores[scores["candidate"] == cid]
    training = chosen[chosen["pipeline_id"].isin(train_ids)].assign(set="training")
    held_ids = list(lines.loc[is_held, "pipeline_id"])
    held_rows = chosen[chosen["pipeline_id"].isin(held_ids)].assign(set="validation")
    cv = cross_validate(scores, train_lines[train_lines["pipeline_id"].isin(train_ids)],
                        folds, seed=seed).assign(set="cross-validation")
    provenance = {
        "fitted_on": sorted(train_ids),
        "fitted_on_names": {r.pipeline_id: r.name for r in train_lines.itertuples()
                            if r.pipeline_id in set(train_ids)},
        "held_out": sorted(held_ids),
        "date": _dt.date.today().isoformat(),
        "resolution_km": res_km,
        "neighbours": surfaces.neighbours,
        "straighten": surfaces.straighten,
        "data": "GEM Global Gas Infrastructure Tracker pipelines (geodata/SOURCES.md): "
                f"status {', '.join(BUILT_STATUSES)}, at least {min_km:g} km inside the "
                f"region {list(settings.DEFAULT_REGION)}, drawn with a vertex at least "
                f"every {MAX_KM_PER_VERTEX:g} km",
        "searched": list(parameters or SEARCH_SPACE["parameter"]),
        "method": (f"search over {n_candidates} Latin-hypercube parameter sets (seed {seed}) "
                   f"plus the published defaults; objective per line: "
                   + _OBJECTIVE_TEXT[objective]
                   + f" - {OBJECTIVE_EXTRA_COUNTRY_PENALTY:g} if it enters an extra country; "
                   f"{folds}-fold cross-validation grouped by system"),
        "objective": objective,
        "candidate": cid,
        "published_defaults_candidate": 0,
        "training": summarise(training),
        "cross_validation": summarise(cv),
        "validation": summarise(held_rows) if len(held_rows) else {},
        "published_defaults_training": summarise(
            scores[(scores["candidate"] == 0) & scores["pipeline_id"].isin(train_ids)]),
    }
    return Calibration(params, cid, cands, scores, training, cv, held_rows, provenance)


#: How to keep a per-route parameter out of the package's calibration file.
_PER_ROUTE_FIX = ("write this calibration to a file of its own with --params-out FILE "
                  "(save_calibration(cal, path)) and read it with params_from_json")


def _is_shipped(path: str | Path | None) -> bool:
    """Whether ``path`` (None: the default) is the package's calibration file."""
    return path is None or Path(path).resolve() == calibrated_params_path().resolve()


def check_params_out(parameters: Sequence[str] | None, path: str | Path | None) -> None:
    """Refuse, before a search, to search a per-route parameter
    (:data:`~planner.costsurface.PER_ROUTE_PARAMS`) into the package's calibration file:
    studies read that file and cannot apply it (:func:`save_calibration` refuses a
    non-zero one after the search; this spares the search).

    Examples
    --------
    >>> check_params_out(["deviation_weight"], "elsewhere.json")
    >>> check_params_out(["deviation_weight"], None)
    Traceback (most recent call last):
    ...
    planner.backtest.routes.BacktestError: not searched: ...
    """
    problem = per_route_params_problem(list(parameters or ()), calibrated_params_path(),
                                       _PER_ROUTE_FIX)
    if problem is not None and _is_shipped(path):
        raise BacktestError(f"not searched: {problem}")


def save_calibration(cal: Calibration, path: str | Path | None = None) -> Path:
    """Write the fitted parameters and their provenance as JSON (default: the package's
    :func:`~planner.costsurface.calibrated_params_path`).

    Raises :class:`BacktestError`, writing nothing, when a per-route parameter
    (:data:`~planner.costsurface.PER_ROUTE_PARAMS`) was fitted non-zero and ``path`` is
    the package's file: studies read it and cannot apply that parameter, and dropping it
    would keep factors fitted together with it, a combination never scored.
    """
    from planner.io import write_text_atomic

    target = Path(path) if path is not None else calibrated_params_path()
    optional = [k for k in OPTIONAL_SEARCH_SPACE["parameter"]
                if k in cal.provenance.get("searched", ())]
    fitted = {k: getattr(cal.params, k) for k in [*SEARCH_SPACE["parameter"], *optional,
                                                   "town_access_min_population"]}
    if _is_shipped(target):
        problem = per_route_params_problem(cal.params.as_dict(), calibrated_params_path(),
                                           _PER_ROUTE_FIX)
        if problem is not None:
            raise BacktestError(f"not written: {problem}")
    doc = {"parameters": {k: round(float(v), 6) for k, v in fitted.items()
                          if math.isfinite(float(v))},  # inf (a barrier) is the default
           "provenance": cal.provenance}
    return write_text_atomic(target, json.dumps(doc, indent=2, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer | np.floating):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


# --- the backtest ----------------------------------------------------------------------


@dataclass
class RouteBacktest:
    """Results of :func:`backtest_routes`.

    ``table``: one row per line (``RESULT_COLUMNS`` first, then ``set``: training (a
    line the parameters were fitted on), validation (one they were not) or no route,
    ``beats_baseline``, ``route_km``, ``real_km``, ``extra_country_codes``, ``error``);
    ``routes``: real, generated and straight lines
    (EPSG:4326, column ``kind``); ``summary``: means per set; ``params`` and the
    ``calibration`` when one was refitted.
    """

    table: pd.DataFrame
    routes: gpd.GeoDataFrame
    summary: pd.DataFrame
    params: CostParams
    calibration: Calibration | None = None


def backtest_routes(
    layers: Layers | None = None,
    *,
    ids: Sequence[str] | None = None,
    resolution_km: float | None = None,
    params: CostParams | None = None,
    holdout: Sequence[str] = (),
    min_km: float = MIN_LINE_KM,
    n_candidates: int = 120,
    folds: int = 5,
    parameters: Sequence[str] | None = None,
    client: Any = None,
    objective: str = "shares",
    neighbours: int | None = None,
    straighten: bool | None = None,
) -> RouteBacktest:
    """Backtest least-cost routes against built pipelines.

    Parameters
    ----------
    layers
        Default: :func:`planner.layers.default_layers`.
    ids
        Pipeline ids to test; default every operating line ≥ ``min_km`` in the region.
    resolution_km
        Cost-surface cell size (default :data:`planner.settings.DEFAULT_RESOLUTION_KM`).
    params
        The cost model; default the calibrated parameters shipped with the package
        (:func:`planner.costsurface.calibrated_cost_params`).
    holdout
        Pipeline ids to validate on: the calibration is refitted without them (and
        without their system and parallels), and they are reported as ``validation``.
    n_candidates, folds, parameters, client, objective
        The refit's search (see :func:`calibrate_routes`).
    neighbours, straighten
        Routing lattice (default :data:`ROUTE_NEIGHBOURS`) and whether 8-neighbour routes
        are straightened (default :data:`ROUTE_STRAIGHTEN`).

    Returns
    -------
    RouteBacktest
    """
    from planner.costsurface import calibrated_cost_params
    from planner.layers import default_layers

    neighbours = _check_neighbours(neighbours)

    layers = layers or default_layers()
    res_km = float(resolution_km or settings.DEFAULT_RESOLUTION_KM)
    # the fixed (not searched) factors of the surfaces: those of the model tested
    surfaces = RouteSurfaces.from_layers(layers, res_km * 1000.0,
                                         params=params or calibrated_cost_params()[0],
                                         neighbours=neighbours, straighten=straighten)
    lines = built_lines(layers.pipelines, ids=list(ids) if ids else None, min_km=min_km)
    cal = None
    fitted_on: set[str] = set()
    if holdout:
        all_lines = built_lines(layers.pipelines, min_km=min_km)
        missing = sorted(set(map(str, holdout)) - set(all_lines["pipeline_id"]))
        if missing:
            extra = built_lines(layers.pipelines, ids=missing)
            all_lines = gpd.GeoDataFrame(pd.concat([all_lines, extra], ignore_index=True),
                                         geometry="geometry", crs=settings.STORAGE_CRS)
            all_lines["group"] = _groups(all_lines)
        cal = calibrate_routes(layers, resolution_km=res_km, n_candidates=n_candidates,
                               folds=folds, holdout=holdout, client=client,
                               parameters=parameters, objective=objective,
                               surfaces=surfaces, lines=all_lines)
        params = cal.params
        fitted_on = set(cal.provenance["fitted_on"])
        if not ids:
            lines = all_lines
    elif params is None:
        params, prov = calibrated_cost_params()
        fitted_on = {str(x) for x in prov.get("fitted_on", [])}
    rows, geoms = [], []
    for line in lines.to_dict("records"):
        m = route_line(surfaces, params, line, geometries=True)
        for kind in ("real", "route", "baseline"):
            if kind in m:
                geoms.append({"pipeline_id": line["pipeline_id"], "name": line["name"],
                              "kind": {"route": "generated", "real": "real",
                                       "baseline": "straight line"}[kind],
                              "geometry": m.pop(kind)})
        m["set"] = ("no route" if m.get("error") else
                    "training" if line["pipeline_id"] in fitted_on else "validation")
        rows.append(m)
    table = pd.DataFrame(rows)
    ok = table["share_25km"].notna()
    table["beats_baseline"] = False
    table.loc[ok, "beats_baseline"] = table[ok].apply(beats_baseline, axis=1)
    table["beats_baseline_distance"] = False
    table.loc[ok, "beats_baseline_distance"] = table[ok].apply(beats_baseline_distance,
                                                               axis=1)
    rest = [c for c in ["set", "beats_baseline", "beats_baseline_distance", "route_km",
                        "real_km", "extra_country_codes", "baseline_extra_countries",
                        "error"] if c in table]
    table = table[RESULT_COLUMNS + rest]
    for c in ("extra_countries", "baseline_extra_countries"):
        if c in table:
            table[c] = table[c].astype("Int64")
    summary = pd.DataFrame({s: summarise(g) for s, g in table.groupby("set")}).T[
        SUMMARY_COLUMNS]
    summary.index.name = "set"
    routes = gpd.GeoDataFrame(geoms, geometry="geometry", crs=settings.STORAGE_CRS)
    return RouteBacktest(table, routes, summary, params, cal)


def backtest_map(result: RouteBacktest, layers: Layers | None = None) -> Any:
    """A folium map of real (black), generated (red) and straight (grey) lines."""
    import folium

    from planner.webmap import base_map, escape_text

    countries = layers.countries if layers is not None else None
    m = base_map(countries=countries)
    style = {"real": ("#000000", 4, None), "generated": ("#d62728", 3, None),
             "straight line": ("#7f7f7f", 2, "6 6")}
    metrics = result.table.set_index("pipeline_id")
    for kind, (colour, weight, dash) in style.items():
        fg = folium.FeatureGroup(name=escape_text(f"{kind} routes"), show=True)
        for r in result.routes[result.routes["kind"] == kind].itertuples():
            t = metrics.loc[r.pipeline_id]
            tip = (f"{escape_text(r.name)} ({escape_text(r.pipeline_id)}) — {kind}: "
                   f"{100 * t['share_25km']:.0f} % within 25 km, "
                   f"{100 * t['share_10km']:.0f} % within 10 km")
            folium.PolyLine([(y, x) for x, y in r.geometry.coords], color=colour,
                            weight=weight, dash_array=dash, tooltip=tip).add_to(fg)
        fg.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def write_backtest(result: RouteBacktest, out_dir: str | Path,
                   layers: Layers | None = None) -> dict[str, Path]:
    """Write ``routes.csv``, ``routes_map.html`` and ``summary.csv`` to ``out_dir``."""
    from planner.io import write_csv, write_text_atomic
    from planner.webmap import make_offline

    # the map is rendered before the first file is written: a failure writes nothing
    page = make_offline(backtest_map(result, layers))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return {"routes.csv": write_csv(result.table, out / "routes.csv"),
            "summary.csv": write_csv(result.summary.reset_index(), out / "summary.csv"),
            "routes_map.html": write_text_atomic(out / "routes_map.html", page)}


def params_from_json(path: str | Path) -> tuple[CostParams, dict[str, Any]]:
    """Parameters and provenance from a file written by :func:`save_calibration`."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return cost_params_from_dict(doc["parameters"]), doc.get("provenance", {})


__all__ = [
    "MIN_LINE_KM",
    "OPTIONAL_SEARCH_SPACE",
    "RESULT_COLUMNS",
    "ROUTE_NEIGHBOURS",
    "ROUTE_STRAIGHTEN",
    "SEARCH_SPACE",
    "BacktestError",
    "Calibration",
    "RouteBacktest",
    "RouteSurfaces",
    "backtest_map",
    "backtest_routes",
    "beats_baseline",
    "beats_baseline_distance",
    "best_candidate",
    "built_lines",
    "calibrate_routes",
    "candidate_params",
    "check_params_out",
    "cross_validate",
    "distance_objective",
    "held_out",
    "line_metrics",
    "line_objective",
    "line_surface",
    "margin_objective",
    "mean_distance_km",
    "params_from_json",
    "route_line",
    "save_calibration",
    "score_candidates",
    "share_within",
    "summarise",
    "with_objective",
    "write_backtest",
]
