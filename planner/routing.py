"""Least-cost routes over a :class:`~planner.costsurface.CostSurface`.

Every function takes places as (lon, lat) pairs or shapely Points in EPSG:4326 (names are
resolved by the caller) and returns a GeoDataFrame of LineStrings in EPSG:4326, one row
per route, with:

- ``cost``: the route's cost in km of flat-land-equivalent new pipeline (km-eq);
- ``length_km``: geodesic length (``pyproj.Geod``, WGS 84);
- ``distance_km`` and ``elevation_m``: the terrain profile along the route (arrays, one
  value per vertex) for hydraulics;
- ``countries`` and ``km_by_country``: the countries crossed, in order, and the
  kilometres in each;
- ``snapped_origin_km``, ``snapped_destination_km``: how far a place was moved to the
  nearest passable cell; ``method`` (``"full"`` or ``"refined"``).

The solver is scikit-image's ``MCP_Geometric`` (Dijkstra on the 8-connected grid, edge
cost = step length × mean of the two cells' costs). For fine grids, :func:`least_cost_route`
solves on a coarsened surface first and then at full resolution inside a corridor around
the coarse path, widening the corridor when the path touches its edge;
:func:`refinement_gap` measures what that costs against the full-resolution optimum.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import rasterio.features
from affine import Affine
from pyproj import Geod
from scipy import ndimage
from scipy.spatial import Delaunay
from shapely.geometry import LineString, Point
from skimage.graph import MCP_Geometric

from planner import settings
from planner.costsurface import ROUTE_BYTES_PER_CELL, CostSurface, check_memory

log = logging.getLogger(__name__)

GEOD = Geod(ellps="WGS84")

#: Default distance (km) a place on a barrier may be moved to the nearest passable cell.
SNAP_KM = 25.0
#: Grids above this many cells are routed coarse-to-fine when ``method="auto"``.
REFINE_ABOVE_CELLS = 4_000_000
#: Target size (cells) of the coarse grid of a refinement.
COARSE_TARGET_CELLS = 1_000_000

PlaceLike: TypeAlias = tuple[float, float] | Point
Places: TypeAlias = gpd.GeoDataFrame | Mapping[str, PlaceLike] | Sequence[PlaceLike]


class RoutingError(ValueError):
    """A route cannot be found; the message says why and what to change."""


class PlaceError(RoutingError):
    """A place lies outside the surface or on a barrier with no passable cell near."""


class UnreachableError(RoutingError):
    """A destination cannot be reached from an origin (barriers separate them)."""


@dataclass(frozen=True)
class Place:
    """A place resolved to a cell of a surface."""

    name: str
    lon: float
    lat: float
    row: int
    col: int
    snapped_km: float


# --- places ----------------------------------------------------------------------------


def _lonlat(place: PlaceLike) -> tuple[float, float]:
    if isinstance(place, Point):
        return float(place.x), float(place.y)
    try:
        lon, lat = place
        return float(lon), float(lat)
    except (TypeError, ValueError) as exc:
        raise PlaceError(f"a place must be (lon, lat) or a shapely Point, got {place!r}") \
            from exc


def as_places(places: Places,
              name_column: str = "name") -> list[tuple[str, float, float]]:
    """(name, lon, lat) for a GeoDataFrame of points (EPSG:4326), a mapping name → place,
    or a sequence of places (named ``p0``, ``p1``, ...).

    Examples
    --------
    >>> as_places({"Tashkent": (69.24, 41.31)})
    [('Tashkent', 69.24, 41.31)]
    >>> as_places([(69.24, 41.31)])
    [('p0', 69.24, 41.31)]
    """
    if isinstance(places, gpd.GeoDataFrame):
        if places.crs is not None and places.crs.to_epsg() != 4326:
            places = places.to_crs(settings.STORAGE_CRS)
        names = (places[name_column].astype(str) if name_column in places
                 else pd.Series([f"p{i}" for i in range(len(places))]))
        return [(str(n), float(g.x), float(g.y))
                for n, g in zip(names, places.geometry, strict=True)]
    if isinstance(places, Mapping):
        return [(str(n), *_lonlat(p)) for n, p in places.items()]
    return [(f"p{i}", *_lonlat(p)) for i, p in enumerate(places)]


def _barrier_reason(surface: CostSurface, row: int, col: int) -> str:
    code = surface.country_codes[int(surface.country[row, col])]
    if code and code in surface.excluded_countries:
        return f"in excluded country {code}"
    if not np.isfinite(surface.elevation[row, col]):
        return "on water (sea, lake or reservoir) or outside the terrain data"
    return "on a barrier"


def locate(surface: CostSurface, place: PlaceLike, name: str | None = None,
           snap_km: float = SNAP_KM) -> Place:
    """The cell of a place; a place on a barrier moves to the nearest passable cell.

    Raises
    ------
    PlaceError
        When the place lies outside the surface, or no passable cell lies within
        ``snap_km``.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> from planner.costsurface import CostSurface, cost_components
    >>> from planner import settings
    >>> c = np.ones((50, 50), np.float32)
    >>> s = CostSurface(c, Affine(1000, 0, -25000, 0, -1000, 25000), settings.STUDY_CRS,
    ...                 1000.0, np.zeros_like(c), np.zeros((50, 50), np.uint8), ("",),
    ...                 cost_components())
    >>> p = locate(s, (67.0, 45.0), "centre")
    >>> p.row, p.col
    (25, 25)
    >>> locate(s, (60.0, 45.0), "far away")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    planner.routing.PlaceError: 'far away' at (60.0000, 45.0000) lies outside the cost surface ...
    """
    lon, lat = _lonlat(place)
    label = name or f"({lon:.4f}, {lat:.4f})"
    x, y = surface.lonlat_to_xy(np.array([lon]), np.array([lat]))
    r, c = surface.xy_to_rowcol(x, y)
    row, col = int(r[0]), int(c[0])
    h, w = surface.shape
    if not (0 <= row < h and 0 <= col < w):
        w_, s_, e_, n_ = surface.bounds
        lo, la = surface.xy_to_lonlat(np.array([w_, e_, w_, e_]), np.array([s_, s_, n_, n_]))
        raise PlaceError(
            f"{label!r} at ({lon:.4f}, {lat:.4f}) lies outside the cost surface "
            f"(about {lo.min():.1f}–{lo.max():.1f} E, {la.min():.1f}–{la.max():.1f} N): "
            f"check the coordinates (lon, lat order?) or build the surface over a larger "
            f"region"
        )
    if np.isfinite(surface.cost[row, col]):
        return Place(label, lon, lat, row, col, 0.0)
    res_km = surface.resolution_m / 1000.0
    rad = math.ceil(snap_km / res_km)
    r0, r1 = max(0, row - rad), min(h, row + rad + 1)
    c0, c1 = max(0, col - rad), min(w, col + rad + 1)
    ok = np.isfinite(surface.cost[r0:r1, c0:c1])
    if ok.any():
        rr, cc = np.nonzero(ok)
        d = np.hypot(rr + r0 - row, cc + c0 - col) * res_km
        i = int(np.argmin(d))
        if d[i] <= snap_km:
            nr, nc = int(rr[i] + r0), int(cc[i] + c0)
            log.info("%s is %s: snapped %.1f km to the nearest passable cell", label,
                     _barrier_reason(surface, row, col), d[i])
            return Place(label, lon, lat, nr, nc, float(d[i]))
    raise PlaceError(
        f"{label!r} at ({lon:.4f}, {lat:.4f}) is {_barrier_reason(surface, row, col)} and "
        f"no passable cell lies within {snap_km:g} km: move the place or raise snap_km"
    )


# --- solving ---------------------------------------------------------------------------


def _route_memory_check(shape: tuple[int, int], res: float, what: str) -> None:
    check_memory(shape, res, bytes_per_cell=ROUTE_BYTES_PER_CELL, what=what)


def _solve(cost: np.ndarray, start: tuple[int, int], ends: Sequence[tuple[int, int]],
           res: float, find_all_ends: bool = True) -> tuple[MCP_Geometric, np.ndarray]:
    """One Dijkstra sweep from ``start`` until ``ends`` are settled (cumulative in m-eq)."""
    mcp = MCP_Geometric(cost, sampling=(res, res))
    cum, _ = mcp.find_costs([start], list(ends) or None, find_all_ends=find_all_ends)
    return mcp, cum


#: First margin (cells) of a windowed solve around its start and ends, and its share of
#: their span; doubled until the window's paths are proven optimal.
WINDOW_MIN_CELLS = 40
WINDOW_SHARE = 0.5


def _outside_ring(r0: int, r1: int, c0: int, c1: int, h: int, w: int) -> np.ndarray:
    """Cells (row, col) just outside the window [r0, r1) x [c0, c1) that lie on the grid."""
    parts = []
    cols = np.arange(max(c0 - 1, 0), min(c1 + 1, w))
    rows = np.arange(r0, r1)
    if r0 > 0:
        parts.append(np.column_stack([np.full(cols.size, r0 - 1), cols]))
    if r1 < h:
        parts.append(np.column_stack([np.full(cols.size, r1), cols]))
    if c0 > 0:
        parts.append(np.column_stack([rows, np.full(rows.size, c0 - 1)]))
    if c1 < w:
        parts.append(np.column_stack([rows, np.full(rows.size, c1)]))
    return np.concatenate(parts) if parts else np.empty((0, 2), dtype=np.int64)


def window_paths(cost: np.ndarray, start: tuple[int, int], ends: Sequence[tuple[int, int]],
                 res: float, *, min_cost: float | None = None
                 ) -> dict[tuple[int, int], np.ndarray | None]:
    """Optimal cell paths from ``start`` to each of ``ends`` (None: unreachable), solved in
    a window around them and proven optimal on the whole grid.

    A path that leaves the window passes a cell ``b`` just outside it, so it costs at least
    ``min_cost`` × (|start − b| + |b − end|) (every step costs at least its length times
    the cheapest cell). Where the window's path costs no more than that bound for every
    ``b``, no path outside beats it; otherwise the margin doubles until it does (at worst
    the window is the whole grid). The result is the full-grid optimum; only the cost of a
    sweep over cells the route cannot use is saved.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.ones((300, 300), np.float32)
    >>> c[100:200, 150] = np.inf
    >>> p = window_paths(c, (150, 140), [(150, 160)], 1000.0)[(150, 160)]
    >>> int(p[0, 0]), int(p[-1, 1]), bool(p[:, 0].min() < 100 or p[:, 0].max() >= 200)
    (150, 160, True)
    """
    h, w = cost.shape
    cmin = float(np.min(cost)) if min_cost is None else float(min_cost)
    out: dict[tuple[int, int], np.ndarray | None] = {}
    pending = list(dict.fromkeys((int(r), int(c)) for r, c in ends))
    margin: int | None = None
    while pending:
        rows = [start[0], *(r for r, _ in pending)]
        cols = [start[1], *(c for _, c in pending)]
        if margin is None:
            span = max(max(rows) - min(rows), max(cols) - min(cols))
            margin = max(WINDOW_MIN_CELLS, int(WINDOW_SHARE * span))
        r0, r1 = max(0, min(rows) - margin), min(h, max(rows) + margin + 1)
        c0, c1 = max(0, min(cols) - margin), min(w, max(cols) + margin + 1)
        whole = (r0, c0, r1, c1) == (0, 0, h, w) or not (np.isfinite(cmin) and cmin > 0)
        if whole:
            r0, c0, r1, c1 = 0, 0, h, w
        mcp, cum = _solve(cost[r0:r1, c0:c1], (start[0] - r0, start[1] - c0),
                          [(r - r0, c - c0) for r, c in pending], res)
        ring = _outside_ring(r0, r1, c0, c1, h, w)
        to_start = np.hypot(ring[:, 0] - start[0], ring[:, 1] - start[1])
        left = []
        for r, c in pending:
            v = float(cum[r - r0, c - c0])
            bound = np.inf if whole or not len(ring) else cmin * res * float(
                np.min(to_start + np.hypot(ring[:, 0] - r, ring[:, 1] - c)))
            if v <= bound:
                out[(r, c)] = (np.asarray(mcp.traceback((r - r0, c - c0))) + np.array([r0, c0])
                               if np.isfinite(v) else None)
            else:
                left.append((r, c))
        del mcp, cum
        pending = left
        margin *= 2
    return out


def path_cost(cost: np.ndarray, rows: np.ndarray, cols: np.ndarray, res: float) -> float:
    """Cost (km-eq) of a cell path under the ``MCP_Geometric`` metric.

    Examples
    --------
    >>> import numpy as np
    >>> path_cost(np.ones((3, 3)), np.array([0, 1, 2]), np.array([0, 0, 0]), 1000.0)
    2.0
    """
    rows = np.asarray(rows)
    cols = np.asarray(cols)
    if len(rows) > 1 and max(np.abs(np.diff(rows)).max(), np.abs(np.diff(cols)).max()) > 1:
        from planner.lattice import lattice_cost  # a lattice path: moves longer than a king's

        return lattice_cost(cost, np.column_stack([rows, cols]), res)
    v = cost[rows, cols].astype(np.float64)
    step = np.hypot(np.diff(rows), np.diff(cols)) * res
    return float(np.sum(step * (v[:-1] + v[1:]) / 2.0) / 1000.0)


def _segment_cells(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cells (row, col) of a straight segment between two cell centres, in order: one
    step per cell along the major axis (a digital line: every step is a king's move)."""
    n = int(np.rint(np.abs(b - a).max())) + 1
    t = np.linspace(0.0, 1.0, max(n, 2))[:, None]
    cells = np.rint(a[None, :] + t * (b - a)[None, :]).astype(np.int64)
    keep = np.r_[True, np.any(cells[1:] != cells[:-1], axis=1)]
    return cells[keep]


def straighten_path(cost: np.ndarray, path: np.ndarray, res: float, *,
                    lookahead: int = 12) -> np.ndarray:
    """Any-angle shortcuts of a grid path that never cost more than the path.

    An 8-connected grid path is one of many equal-cost staircases: over even ground the
    solver may go diagonally first and straight after, tens of kilometres off the
    straight line. Walking the path, each vertex is joined by a straight segment to the
    farthest later vertex (looking up to ``lookahead`` vertices past the first that
    fails) whose segment costs no more than the path between them under
    :func:`path_cost` and crosses no barrier. The result is a cell path along those
    segments: its cost is at most the input's.

    Examples
    --------
    >>> import numpy as np
    >>> stair = np.array([[0, 0], [1, 1], [2, 2], [2, 3], [2, 4], [2, 5], [2, 6]])
    >>> out = straighten_path(np.ones((3, 7)), stair, 1.0)
    >>> out.tolist()  # within half a cell of the straight line from (0, 0) to (2, 6)
    [[0, 0], [0, 1], [1, 2], [1, 3], [1, 4], [2, 5], [2, 6]]
    >>> bool(path_cost(np.ones((3, 7)), out[:, 0], out[:, 1], 1.0)
    ...      <= path_cost(np.ones((3, 7)), stair[:, 0], stair[:, 1], 1.0) + 1e-9)
    True
    """
    path = np.asarray(path, dtype=np.int64)
    n = len(path)
    if n < 3:
        return path
    v = cost[path[:, 0], path[:, 1]].astype(np.float64)
    step = np.hypot(*np.diff(path, axis=0).T.astype(np.float64)) * res
    cum = np.r_[0.0, np.cumsum(step * (v[:-1] + v[1:]) / 2.0)]
    pieces = [path[:1]]
    i = 0
    while i < n - 1:
        best, j, misses = i + 1, i + 2, 0
        while j < n and misses <= lookahead:
            seg = _segment_cells(path[i].astype(float), path[j].astype(float))
            sc = cost[seg[:, 0], seg[:, 1]].astype(np.float64)
            if np.all(np.isfinite(sc)):
                d = np.hypot(*np.diff(seg, axis=0).T.astype(np.float64)) * res
                budget = (cum[j] - cum[i]) * (1.0 + 1e-9) + 1e-9
                if float(np.sum(d * (sc[:-1] + sc[1:]) / 2.0)) <= budget:
                    best, misses = j, 0
                    j += 1
                    continue
            misses += 1
            j += 1
        if best == i + 1:
            pieces.append(path[best:best + 1])
        else:
            pieces.append(_segment_cells(path[i].astype(float), path[best].astype(float))[1:])
        i = best
    return np.concatenate(pieces)


def _unreachable(origin: Place, dest: Place) -> UnreachableError:
    return UnreachableError(
        f"{dest.name!r} cannot be reached from {origin.name!r}: barriers (seas, lakes, "
        f"excluded countries or the edge of the terrain data) separate them; allow the "
        f"country, move the place, or build the surface over a larger region"
    )


#: Optimal cell paths already found on a grid, by (origin cell, destination cell); None:
#: unreachable. A study asks for the same route many times (the greenfield candidate, its
#: alternatives, and the greenfield cost of every reuse candidate), and a surface never
#: changes once built, so each is solved once per surface and process.
_PATHS: weakref.WeakKeyDictionary[
    CostSurface, dict[tuple[int, int, int, int], np.ndarray | None]] = weakref.WeakKeyDictionary()


def solve_paths(surface: CostSurface, o: Place, ds: Sequence[Place]) -> list[np.ndarray | None]:
    """Full-resolution optimal cell paths from ``o`` to each of ``ds`` (None: unreachable),
    with one Dijkstra sweep for all those not solved before on this surface.

    Paths are kept for the surface's lifetime, so a later :func:`least_cost_route` or
    :func:`alternative_routes` between the same cells does not solve again. A multi-target
    sweep settles each cell exactly as a single-target one does (Dijkstra fixes a cell's
    predecessor when it settles), and a windowed sweep is kept only when no path leaving
    its window can be cheaper, so every path is cost-optimal on the whole grid; where two
    paths cost exactly the same, either may be returned.

    The memo is per process and not locked: a study routes in one thread.
    """
    memo = _PATHS.setdefault(surface, {})
    todo = [d for d in ds if (o.row, o.col, d.row, d.col) not in memo]
    if todo:
        _route_memory_check(surface.shape, surface.resolution_m,
                            "full-resolution route solve")
        found = window_paths(surface.cost, (o.row, o.col), [(d.row, d.col) for d in todo],
                             surface.resolution_m, min_cost=_min_cost(surface))
        for (r, c), path in found.items():
            memo[(o.row, o.col, r, c)] = path
    return [memo[(o.row, o.col, d.row, d.col)] for d in ds]


_MIN_COST: weakref.WeakKeyDictionary[CostSurface, float] = weakref.WeakKeyDictionary()


def _min_cost(surface: CostSurface) -> float:
    """The cheapest cell of a surface (kept: it bounds every windowed solve on it)."""
    if surface not in _MIN_COST:
        _MIN_COST[surface] = float(np.min(surface.cost))
    return _MIN_COST[surface]


def _full_path(surface: CostSurface, o: Place, d: Place) -> np.ndarray:
    path = solve_paths(surface, o, [d])[0]
    if path is None:
        raise _unreachable(o, d)
    return path


def prime_routes(surface: CostSurface, origin: PlaceLike, destinations: Places, *,
                 origin_name: str | None = None, snap_km: float = SNAP_KM,
                 method: str = "auto") -> int:
    """Solve the least-cost paths from one place to many with one sweep, ahead of the
    :func:`least_cost_route` and :func:`alternative_routes` calls that will ask for them
    one by one (which then reuse them). Returns how many were solved; nothing is done
    with ``method`` refined (those grids are routed coarse-to-fine per pair) or for places
    that cannot be located (the later call reports them).
    """
    if _method(surface, method) != "full":
        return 0
    try:
        o = locate(surface, origin, origin_name, snap_km)
    except PlaceError:
        return 0
    ds = []
    for n, lon, lat in as_places(destinations):
        try:
            d = locate(surface, (lon, lat), n, snap_km)
        except PlaceError:
            continue
        if (d.row, d.col) != (o.row, o.col):
            ds.append(d)
    return len(solve_paths(surface, o, ds))


_COARSE: weakref.WeakKeyDictionary[CostSurface, dict[int, CostSurface]] = (
    weakref.WeakKeyDictionary())


def _coarse(surface: CostSurface, factor: int) -> CostSurface:
    per = _COARSE.setdefault(surface, {})
    if factor not in per:
        per[factor] = surface.coarsen(factor)
    return per[factor]


def clear_caches() -> None:
    """Forget the coarse grids kept for refinement and the paths already solved (they are
    rebuilt on demand)."""
    _COARSE.clear()
    _PATHS.clear()


def default_coarse_factor(surface: CostSurface) -> int:
    """Coarsening factor giving a coarse grid of about a million cells (at least 2)."""
    cells = surface.shape[0] * surface.shape[1]
    return max(2, math.ceil(math.sqrt(cells / COARSE_TARGET_CELLS)))


def _corridor_path(surface: CostSurface, o: Place, d: Place, guide_xy: np.ndarray,
                   corridor_km: float, max_widen: int = 3) -> np.ndarray | None:
    """Full-resolution path inside a corridor around a guide line; None if it fails."""
    res = surface.resolution_m
    h, w = surface.shape
    line = LineString(guide_xy) if len(guide_xy) > 1 else Point(guide_xy[0])
    width_m = corridor_km * 1000.0
    for _ in range(max_widen + 1):
        poly = line.buffer(width_m)
        minx, miny, maxx, maxy = poly.bounds
        rr, cc = surface.xy_to_rowcol(np.array([minx, maxx]), np.array([maxy, miny]))
        r0, c0 = max(0, int(rr[0]) - 1), max(0, int(cc[0]) - 1)
        r1, c1 = min(h, int(rr[1]) + 2), min(w, int(cc[1]) + 2)
        wt = surface.transform @ Affine.translation(c0, r0)
        inside = rasterio.features.rasterize([(poly, 1)], out_shape=(r1 - r0, c1 - c0),
                                             transform=wt, fill=0, dtype="uint8") > 0
        for p in (o, d):
            inside[p.row - r0, p.col - c0] = True
        sub = np.where(inside, surface.cost[r0:r1, c0:c1], np.inf)
        _route_memory_check(sub.shape, res, "corridor route solve")
        start, end = (o.row - r0, o.col - c0), (d.row - r0, d.col - c0)
        mcp, cum = _solve(sub, start, [end], res)
        if np.isfinite(cum[end]):
            path = np.asarray(mcp.traceback(end))
            core = ndimage.binary_erosion(inside, iterations=2, border_value=1)
            touches = ~core[path[:, 0], path[:, 1]]
            touches_edge = bool(touches[2:-2].any()) if len(path) > 4 else False
            if not touches_edge:
                log.debug("corridor %.0f km: %d cells, path %d cells", width_m / 1000,
                          int(inside.sum()), len(path))
                return path + np.array([r0, c0])
        log.info("refinement: path touches the %.0f km corridor (or is cut); widening",
                 width_m / 1000)
        width_m *= 2.0
    return None


def _coarse_place(surface: CostSurface, coarse: CostSurface, p: Place, f: int) -> Place | None:
    """The coarse cell of a fine place (the block of its fine cell when passable)."""
    try:
        c = locate(coarse, (p.lon, p.lat), p.name,
                   snap_km=max(SNAP_KM, 3 * coarse.resolution_m / 1000))
    except PlaceError:
        return None
    return _prefer(coarse, c, p.row // f, p.col // f)


def _refined_paths(surface: CostSurface, o: Place, ds: Sequence[Place],
                   coarse_factor: int | None, corridor_km: float | None,
                   ) -> list[np.ndarray | None]:
    """Coarse-to-fine paths from ``o`` to each of ``ds`` (None: unreachable).

    One coarse sweep from the origin serves every destination; each is then refined in
    its own corridor, falling back to a full-resolution solve when the coarse grid cannot
    connect them or the corridor keeps cutting the path.
    """
    f = coarse_factor or default_coarse_factor(surface)
    coarse = _coarse(surface, f)
    co = _coarse_place(surface, coarse, o, f)
    cds = [_coarse_place(surface, coarse, d, f) for d in ds]
    ends = [(c.row, c.col) for c in cds if c is not None]
    mcp = cum = None
    if co is not None and ends:
        mcp, cum = _solve(coarse.cost, (co.row, co.col), ends, coarse.resolution_m)
    width = corridor_km if corridor_km is not None else max(
        10.0, 3.0 * coarse.resolution_m / 1000.0)
    ox, oy = surface.rowcol_to_xy(np.array([o.row]), np.array([o.col]))
    out: list[np.ndarray | None] = []
    for d, cd in zip(ds, cds, strict=True):
        path = None
        if mcp is not None and cum is not None and cd is not None and np.isfinite(
                cum[cd.row, cd.col]):
            cpath = np.asarray(mcp.traceback((cd.row, cd.col)))
            x, y = coarse.rowcol_to_xy(cpath[:, 0], cpath[:, 1])
            dx, dy = surface.rowcol_to_xy(np.array([d.row]), np.array([d.col]))
            guide = np.column_stack([np.r_[ox, x, dx], np.r_[oy, y, dy]])
            path = _corridor_path(surface, o, d, guide, width)
            if path is None:
                log.warning("refinement failed for %s → %s; solving at full resolution",
                            o.name, d.name)
        else:
            log.info("refinement: coarse grid cannot connect %s and %s; solving at full "
                     "resolution", o.name, d.name)
        if path is None:
            try:
                path = _full_path(surface, o, d)
            except UnreachableError:
                path = None
        out.append(path)
    return out


def _refined_path(surface: CostSurface, o: Place, d: Place, coarse_factor: int | None,
                  corridor_km: float | None) -> np.ndarray:
    path = _refined_paths(surface, o, [d], coarse_factor, corridor_km)[0]
    if path is None:
        raise _unreachable(o, d)
    return path


def _prefer(coarse: CostSurface, located: Place, row: int, col: int) -> Place:
    h, w = coarse.shape
    if 0 <= row < h and 0 <= col < w and np.isfinite(coarse.cost[row, col]):
        return Place(located.name, located.lon, located.lat, row, col, located.snapped_km)
    return located


# --- route records ---------------------------------------------------------------------


def _record(surface: CostSurface, o: Place, d: Place, path: np.ndarray, method: str,
            cost_array: np.ndarray | None = None) -> dict[str, object]:
    rows, cols = path[:, 0], path[:, 1]
    x, y = surface.rowcol_to_xy(rows, cols)
    lon, lat = surface.xy_to_lonlat(x, y)
    lon, lat = lon.copy(), lat.copy()
    if o.snapped_km == 0.0:
        lon[0], lat[0] = o.lon, o.lat
    if d.snapped_km == 0.0:
        lon[-1], lat[-1] = d.lon, d.lat
    if len(lon) == 1:
        lon, lat = np.r_[lon, lon], np.r_[lat, lat]
        rows, cols = np.r_[rows, rows], np.r_[cols, cols]
    _, _, seg = GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
    seg_km = np.asarray(seg) / 1000.0
    dist = np.r_[0.0, np.cumsum(seg_km)]
    elev = surface.elevation[rows, cols].astype(np.float64)
    codes = surface.country_at(rows, cols)
    km_by: dict[str, float] = {}
    if len(rows) > 1 and max(np.abs(np.diff(rows)).max(), np.abs(np.diff(cols)).max()) > 1:
        codes = _lattice_countries(surface, rows, cols, seg_km, km_by)
    else:
        for code, km in zip(codes[:-1], seg_km, strict=True):
            if code:
                km_by[code] = km_by.get(code, 0.0) + float(km)
    order = [str(c) for c, _ in _runs(codes) if c]
    cost = path_cost(surface.cost if cost_array is None else cost_array, rows, cols,
                     surface.resolution_m)
    return {
        "origin": o.name, "destination": d.name, "cost": cost,
        "length_km": float(dist[-1]), "distance_km": dist, "elevation_m": elev,
        "countries": ", ".join(order), "km_by_country": {k: round(v, 3) for k, v in
                                                        km_by.items()},
        "snapped_origin_km": o.snapped_km, "snapped_destination_km": d.snapped_km,
        "method": method, "resolution_m": surface.resolution_m,
        "geometry": LineString(np.column_stack([lon, lat])),
    }


def _lattice_countries(surface: CostSurface, rows: np.ndarray, cols: np.ndarray,
                       seg_km: np.ndarray, km_by: dict[str, float]) -> np.ndarray:
    """Countries of the cells a lattice path crosses, in order (a move longer than a
    king's crosses cells between its vertices); adds each move's km to ``km_by`` in
    the shares of its length in each cell (:func:`planner.lattice.move_cells`)."""
    from planner.lattice import move_cells

    crossed = [surface.country_at(rows[:1], cols[:1])]
    for i, km in enumerate(seg_km):
        cells, share = move_cells(int(rows[i + 1] - rows[i]), int(cols[i + 1] - cols[i]))
        cc = surface.country_at(rows[i] + cells[:, 0], cols[i] + cells[:, 1])
        for code, f in zip(cc, share, strict=True):
            if code:
                km_by[str(code)] = km_by.get(str(code), 0.0) + float(km) * float(f)
        crossed.append(cc[1:])
    return np.concatenate(crossed)


def _runs(codes: np.ndarray) -> list[tuple[object, int]]:
    out: list[tuple[object, int]] = []
    for c in codes:
        if out and out[-1][0] == c:
            out[-1] = (c, out[-1][1] + 1)
        else:
            out.append((c, 1))
    return out


def _frame(records: list[dict[str, object]]) -> gpd.GeoDataFrame:
    cols = ["origin", "destination", "cost", "length_km", "distance_km", "elevation_m",
            "countries", "km_by_country", "snapped_origin_km", "snapped_destination_km",
            "method", "resolution_m", "geometry"]
    df = pd.DataFrame(records, columns=cols) if records else pd.DataFrame(columns=cols)
    return gpd.GeoDataFrame(df, geometry="geometry", crs=settings.STORAGE_CRS)


def _check_distinct(o: Place, d: Place) -> None:
    if (o.row, o.col) == (d.row, d.col):
        raise RoutingError(
            f"origin {o.name!r} and destination {d.name!r} are the same place (the same "
            f"cell at this resolution): give two different places"
        )


def _method(surface: CostSurface, method: str) -> str:
    if method not in ("auto", "full", "refined"):
        raise ValueError(f"method must be 'auto', 'full' or 'refined', got {method!r}")
    if method == "auto":
        cells = surface.shape[0] * surface.shape[1]
        return "refined" if cells > REFINE_ABOVE_CELLS else "full"
    return method


# --- public routes ---------------------------------------------------------------------


def least_cost_route(
    surface: CostSurface,
    origin: PlaceLike,
    destination: PlaceLike,
    *,
    origin_name: str | None = None,
    destination_name: str | None = None,
    method: str = "auto",
    coarse_factor: int | None = None,
    corridor_km: float | None = None,
    snap_km: float = SNAP_KM,
    straighten: bool = False,
    neighbours: int = 8,
) -> gpd.GeoDataFrame:
    """The least-cost route between two places.

    Parameters
    ----------
    surface
        From :func:`planner.costsurface.build_cost_surface`.
    origin, destination
        (lon, lat) in degrees or shapely Points (EPSG:4326).
    origin_name, destination_name
        Names for messages and the result.
    method
        ``"full"``: one full-resolution solve; ``"refined"``: coarse then a corridor at
        full resolution; ``"auto"``: refined above :data:`REFINE_ABOVE_CELLS` cells.
    coarse_factor, corridor_km
        Refinement: coarsening factor (default: a ~1 M-cell coarse grid) and the
        corridor half-width (default: 3 coarse cells, at least 10 km), doubled up to three
        times while the path touches the corridor's edge.
    snap_km
        How far a place on a barrier may move to the nearest passable cell.
    straighten
        Replace grid staircases by straight segments that cost no more
        (:func:`straighten_path`).
    neighbours
        8: the 8-connected grid (``MCP_Geometric``); 16 or 32: the lattice of
        :func:`planner.lattice.lattice_path` (knight moves and longer; near any-angle,
        always one full-resolution solve: ``method="refined"``, ``coarse_factor``,
        ``corridor_km`` and ``straighten=True`` are refused with it).

    Returns
    -------
    geopandas.GeoDataFrame
        One row (see the module docstring for the columns).

    Raises
    ------
    PlaceError, UnreachableError, RoutingError
        Outside the surface or stuck on a barrier; separated by barriers; the same place.

    Examples
    --------
    >>> from planner.layers import default_layers
    >>> from planner.costsurface import build_cost_surface
    >>> L = default_layers()
    >>> s = build_cost_surface(L.terrain, L.countries, L.water, L.pipelines, L.mountains,
    ...                        resolution_m=20_000)
    >>> r = least_cost_route(s, (55.3, 45.1), (69.6, 42.3), origin_name="Beyneu",
    ...                      destination_name="Shymkent")
    >>> bool(1100 < r.length_km.iloc[0] < 1600), r.countries.iloc[0]
    (True, 'KAZ')
    """
    from planner.lattice import NEIGHBOURS

    if neighbours not in NEIGHBOURS:
        raise ValueError(f"neighbours must be one of {', '.join(map(str, NEIGHBOURS))}, "
                         f"got {neighbours!r}")
    if neighbours != 8:
        clash = [k for k, on in (("method='refined'", method == "refined"),
                                 ("coarse_factor", coarse_factor is not None),
                                 ("corridor_km", corridor_km is not None),
                                 ("straighten=True", straighten)) if on]
        if clash:
            raise ValueError(f"{', '.join(clash)} only apply to the 8-neighbour grid; the "
                             f"{neighbours}-neighbour lattice is one full-resolution solve")
    o = locate(surface, origin, origin_name, snap_km)
    d = locate(surface, destination, destination_name, snap_km)
    _check_distinct(o, d)
    m = _method(surface, method)
    t0 = time.perf_counter()
    if neighbours != 8:
        from planner.lattice import lattice_path

        m = "full"
        found = lattice_path(surface.cost, (o.row, o.col), (d.row, d.col),
                             surface.resolution_m, neighbours=neighbours,
                             min_cost=_min_cost(surface))
        if found is None:
            raise _unreachable(o, d)
        path = found
    elif m == "full":
        path = _full_path(surface, o, d)
    else:
        path = _refined_path(surface, o, d, coarse_factor, corridor_km)
    if straighten and neighbours == 8:
        path = straighten_path(surface.cost, path, surface.resolution_m)
    rec = _record(surface, o, d, path, m)
    log.info("route %s → %s: %.0f km-eq, %.0f km (%s, %.2f s)", o.name, d.name, rec["cost"],
             rec["length_km"], m, time.perf_counter() - t0)
    return _frame([rec])


def refinement_gap(
    surface: CostSurface, origin: PlaceLike, destination: PlaceLike, *,
    coarse_factor: int | None = None, corridor_km: float | None = None,
) -> dict[str, float]:
    """Cost gap (%) of a coarse-to-fine route against the full-resolution optimum.

    Returns ``refined_cost``, ``optimal_cost`` (km-eq), ``gap_pct``, ``refined_s``,
    ``full_s`` and ``speedup``.

    Examples
    --------
    >>> from planner.layers import default_layers
    >>> from planner.costsurface import build_cost_surface
    >>> L = default_layers()
    >>> s = build_cost_surface(L.terrain, L.countries, L.water, L.pipelines, L.mountains,
    ...                        resolution_m=20_000)
    >>> g = refinement_gap(s, (55.3, 45.1), (69.6, 42.3))
    >>> 0 <= g["gap_pct"] < 1
    True
    """
    t = time.perf_counter()
    refined = least_cost_route(surface, origin, destination, method="refined",
                               coarse_factor=coarse_factor, corridor_km=corridor_km)
    t_ref = time.perf_counter() - t
    t = time.perf_counter()
    full = least_cost_route(surface, origin, destination, method="full")
    t_full = time.perf_counter() - t
    rc, fc = float(refined.cost.iloc[0]), float(full.cost.iloc[0])
    return {"refined_cost": rc, "optimal_cost": fc, "gap_pct": 100.0 * (rc - fc) / fc,
            "refined_s": t_ref, "full_s": t_full, "speedup": t_full / max(t_ref, 1e-9)}


def route_to_nearest(
    surface: CostSurface, origin: PlaceLike,
    targets: Places, *,
    origin_name: str | None = None, snap_km: float = SNAP_KM, method: str = "auto",
) -> gpd.GeoDataFrame:
    """The least-cost route from a place to the cheapest-to-reach of a set of places.

    One Dijkstra sweep that stops at the first target settled. With ``method`` refined
    (fine grids), the nearest target is chosen on the coarse grid and the route to it
    refined.

    Examples
    --------
    >>> from planner.layers import default_layers
    >>> from planner.costsurface import build_cost_surface
    >>> L = default_layers()
    >>> s = build_cost_surface(L.terrain, L.countries, L.water, L.pipelines, L.mountains,
    ...                        resolution_m=20_000)
    >>> r = route_to_nearest(s, (69.24, 41.31), {"Almaty": (76.9, 43.25),
    ...                                          "Shymkent": (69.6, 42.3)})
    >>> r.destination.iloc[0]
    'Shymkent'
    """
    o = locate(surface, origin, origin_name, snap_km)
    named = as_places(targets)
    if not named:
        raise RoutingError("route_to_nearest needs at least one target")
    m = _method(surface, method)
    grid = surface if m == "full" else _coarse(surface, default_coarse_factor(surface))
    og = o if grid is surface else locate(grid, (o.lon, o.lat), o.name, snap_km)
    ts = [locate(grid, (lon, lat), n, snap_km) for n, lon, lat in named]
    ends = [(t.row, t.col) for t in ts if (t.row, t.col) != (og.row, og.col)]
    if not ends:
        raise RoutingError(f"every target is at the origin {o.name!r}'s cell")
    if grid is surface:
        _route_memory_check(surface.shape, surface.resolution_m, "route solve")
    mcp, cum = _solve(grid.cost, (og.row, og.col), ends, grid.resolution_m,
                      find_all_ends=False)
    reached = [t for t in ts if (t.row, t.col) in set(ends) and np.isfinite(cum[t.row, t.col])]
    if not reached:
        raise UnreachableError(
            f"none of the {len(ts)} targets ({', '.join(t.name for t in ts[:5])}"
            f"{', ...' if len(ts) > 5 else ''}) can be reached from {o.name!r}: barriers "
            f"separate them"
        )
    best = min(reached, key=lambda t: cum[t.row, t.col])
    if grid is surface:
        path = np.asarray(mcp.traceback((best.row, best.col)))
        return _frame([_record(surface, o, best, path, m)])
    return least_cost_route(surface, (o.lon, o.lat), (best.lon, best.lat),
                            origin_name=o.name, destination_name=best.name, method="refined",
                            snap_km=snap_km)


def routes_many_to_many(
    surface: CostSurface,
    origins: Places,
    destinations: Places, *,
    snap_km: float = SNAP_KM, method: str = "auto", skip_unreachable: bool = False,
) -> gpd.GeoDataFrame:
    """Least-cost routes from every origin to every destination.

    ``method="full"`` runs one Dijkstra sweep per origin (stopping once every destination
    is settled) and traces all routes from it; ``"refined"`` runs one sweep per origin on
    the coarse grid and refines each route in its corridor (less time and memory on fine
    grids). Unreachable pairs raise
    :class:`UnreachableError` naming them, or are left out (logged) with
    ``skip_unreachable``.

    Examples
    --------
    >>> from planner.layers import default_layers
    >>> from planner.costsurface import build_cost_surface
    >>> L = default_layers()
    >>> s = build_cost_surface(L.terrain, L.countries, L.water, L.pipelines, L.mountains,
    ...                        resolution_m=20_000)
    >>> r = routes_many_to_many(s, {"Beyneu": (55.3, 45.1)},
    ...                         {"Shymkent": (69.6, 42.3), "Tashkent": (69.24, 41.31)})
    >>> list(r.destination)
    ['Shymkent', 'Tashkent']
    """
    onamed, dnamed = as_places(origins), as_places(destinations)
    os_ = [locate(surface, (lon, lat), n, snap_km) for n, lon, lat in onamed]
    ds = [locate(surface, (lon, lat), n, snap_km) for n, lon, lat in dnamed]
    m = _method(surface, method)
    records: list[dict[str, object]] = []
    missing: list[str] = []
    for o in os_:
        targets = [d for d in ds if (d.row, d.col) != (o.row, o.col)]
        if not targets:
            continue
        if m == "full":
            _route_memory_check(surface.shape, surface.resolution_m, "route solve")
            mcp, cum = _solve(surface.cost, (o.row, o.col), [(d.row, d.col) for d in targets],
                              surface.resolution_m)
            for d in targets:
                if np.isfinite(cum[d.row, d.col]):
                    path = np.asarray(mcp.traceback((d.row, d.col)))
                    records.append(_record(surface, o, d, path, m))
                else:
                    missing.append(f"{o.name} → {d.name}")
            del mcp, cum
        else:
            for d, rpath in zip(targets, _refined_paths(surface, o, targets, None, None),
                                strict=True):
                if rpath is None:
                    missing.append(f"{o.name} → {d.name}")
                else:
                    records.append(_record(surface, o, d, rpath, m))
    if missing:
        msg = (f"{len(missing)} unreachable pair(s), separated by barriers: "
               f"{'; '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}")
        if not skip_unreachable:
            raise UnreachableError(msg)
        log.warning(msg)
    return _frame(records)


# --- alternatives ----------------------------------------------------------------------


def _xy_line(surface: CostSurface, path: np.ndarray) -> LineString:
    x, y = surface.rowcol_to_xy(path[:, 0], path[:, 1])
    if len(x) == 1:
        x, y = np.r_[x, x], np.r_[y, y]
    return LineString(np.column_stack([x, y]))


def route_overlap(a: LineString, b: LineString, within_m: float) -> float:
    """Share (0–1) of line ``a``'s length lying within ``within_m`` of line ``b``.

    Lines in a projected CRS (metres).

    Examples
    --------
    >>> from shapely.geometry import LineString
    >>> route_overlap(LineString([(0, 0), (10, 0)]), LineString([(0, 0), (5, 0)]), 1)
    0.6
    """
    if a.length == 0:
        return 1.0
    return float(a.intersection(b.buffer(within_m)).length / a.length)


def _penalty_paths(grid: CostSurface, o: Place, d: Place, k: int, *, penalty: float,
                   within_m: float, max_overlap: float, max_premium_pct: float,
                   tries: int) -> list[np.ndarray]:
    """Cell paths of up to ``k`` distinct routes on one grid by the penalty method."""
    res = grid.resolution_m
    _route_memory_check(grid.shape, res, "alternative routes (full-grid solves)")
    work = grid.cost.astype(np.float32, copy=True)
    kept: list[tuple[np.ndarray, LineString]] = []
    factor = penalty
    best_cost: float | None = None
    for attempt in range(tries):
        if len(kept) >= k:
            break
        if attempt == 0:  # nothing penalised yet: the optimum, perhaps solved before
            found = solve_paths(grid, o, [d])[0]
        else:  # the bound must hold on the penalised grid whatever the penalty
            found = window_paths(work, (o.row, o.col), [(d.row, d.col)], res,
                                 min_cost=min(_min_cost(grid), float(work.min())))[
                (d.row, d.col)]
        if found is None:
            if not kept:
                raise _unreachable(o, d)
            break
        path = found
        line = _xy_line(grid, path)
        true_cost = path_cost(grid.cost, path[:, 0], path[:, 1], res)
        if best_cost is None:
            best_cost = true_cost
        overl = [route_overlap(line, other, within_m) for _, other in kept]
        premium = 100.0 * (true_cost - best_cost) / best_cost
        if premium > max_premium_pct:
            log.info("alternatives: next candidate %.1f %% above the best: stopping", premium)
            break
        if not overl or max(overl) <= max_overlap:
            kept.append((path, line))
            factor = penalty
        else:
            factor = 1.0 + (factor - 1.0) * 1.5
        # penalise the cells near the candidate (kept or not) to push the next one away
        buf = line.buffer(within_m)
        mask = rasterio.features.rasterize([(buf, 1)], out_shape=grid.shape,
                                           transform=grid.transform, fill=0,
                                           dtype="uint8") > 0
        work[mask] *= np.float32(factor)
    return [pth for pth, _ in kept]


def alternative_routes(
    surface: CostSurface,
    origin: PlaceLike,
    destination: PlaceLike,
    k: int = 3,
    *,
    origin_name: str | None = None,
    destination_name: str | None = None,
    penalty: float = 1.25,
    penalty_km: float | None = None,
    max_overlap: float = 0.6,
    max_premium_pct: float = 50.0,
    max_tries: int | None = None,
    snap_km: float = SNAP_KM,
    method: str = "auto",
) -> gpd.GeoDataFrame:
    """Up to ``k`` spatially distinct near-optimal routes (the best first).

    Penalty method: after each route found, the cells within ``penalty_km`` of it cost
    ``penalty`` times more and the search is repeated; a candidate is kept when at most
    ``max_overlap`` of its length lies within ``penalty_km`` of any route kept before,
    otherwise the penalty grows by half and the search repeats (``max_tries`` in all).
    Each route's real cost is measured on the unpenalised surface. With ``method``
    refined (``"auto"`` on grids above :data:`REFINE_ABOVE_CELLS` cells) the search runs
    on the coarse grid and each route found is refined in a corridor at full resolution.

    Returns the rows of :func:`least_cost_route` plus ``rank`` (0 = best),
    ``premium_pct`` (cost above the best) and ``overlap`` (largest share of its length
    shared with another kept route) and ``overlap_with`` (that route's rank).

    Published studies find useful alternatives at 4–6 % above the optimum (Talsma et
    al., engrXiv 10.31224/6670).

    Examples
    --------
    >>> from planner.layers import default_layers
    >>> from planner.costsurface import build_cost_surface
    >>> L = default_layers()
    >>> s = build_cost_surface(L.terrain, L.countries, L.water, L.pipelines, L.mountains,
    ...                        resolution_m=20_000)
    >>> alts = alternative_routes(s, (55.3, 45.1), (69.6, 42.3), k=2)
    >>> list(alts["rank"]), bool(alts.premium_pct.iloc[1] > 0)
    ([0, 1], True)
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    o = locate(surface, origin, origin_name, snap_km)
    d = locate(surface, destination, destination_name, snap_km)
    _check_distinct(o, d)
    m = _method(surface, method)
    grid, go, gd = surface, o, d
    if m == "refined":
        f = default_coarse_factor(surface)
        grid = _coarse(surface, f)
        snap = max(snap_km, 3 * grid.resolution_m / 1000)
        go = _prefer(grid, locate(grid, (o.lon, o.lat), o.name, snap), o.row // f, o.col // f)
        gd = _prefer(grid, locate(grid, (d.lon, d.lat), d.name, snap), d.row // f, d.col // f)
    within_m = (penalty_km if penalty_km is not None else
                max(20.0, 3 * grid.resolution_m / 1000)) * 1000
    candidates = _penalty_paths(grid, go, gd, k, penalty=penalty, within_m=within_m,
                                max_overlap=max_overlap, max_premium_pct=max_premium_pct,
                                tries=max_tries if max_tries is not None else 4 * k)
    if grid is surface:
        fine = candidates
    else:
        fine = []
        for cpath in candidates:
            x, y = grid.rowcol_to_xy(cpath[:, 0], cpath[:, 1])
            guide = np.column_stack([x, y])
            path = _corridor_path(surface, o, d, guide, max(10.0, 3 * grid.resolution_m / 1000))
            if path is not None:
                fine.append(path)
        fine.sort(key=lambda pth: path_cost(surface.cost, pth[:, 0], pth[:, 1],
                                            surface.resolution_m))
    kept = [(pth, _xy_line(surface, pth)) for pth in fine]
    records = []
    for path, _ in kept:
        records.append(_record(surface, o, d, path, m))
    out = _frame(records)
    out["rank"] = range(len(out))
    best = float(out.cost.iloc[0])
    out["premium_pct"] = 100.0 * (out.cost - best) / best
    ov, ovw = [], []
    for i, (_, li) in enumerate(kept):
        shares = [(route_overlap(li, lj, within_m), j) for j, (_, lj) in enumerate(kept)
                  if j != i]
        s, j = max(shares) if shares else (0.0, -1)
        ov.append(s)
        ovw.append(j)
    out["overlap"] = ov
    out["overlap_with"] = ovw
    if len(out) < k:
        log.info("alternatives: found %d of %d distinct routes", len(out), k)
    return out


# --- candidate networks ----------------------------------------------------------------


@dataclass(frozen=True)
class CandidateNetwork:
    """A candidate network between many points (SimCCS style).

    Attributes
    ----------
    edges : geopandas.GeoDataFrame
        One least-cost route per Delaunay edge (columns of :func:`least_cost_route`).
    graph : networkx.Graph
        The routes merged at the cell level: nodes are the points and the junctions
        where routes meet or part (``kind`` "endpoint" or "junction", ``lon``, ``lat``);
        edges are the stretches between them with ``cost`` (km-eq), ``length_km``,
        ``geometry`` (EPSG:4326) and ``used_by`` (the Delaunay edges that share them).
    """

    edges: gpd.GeoDataFrame
    graph: nx.Graph

    def segments(self) -> gpd.GeoDataFrame:
        """The merged graph's edges as a GeoDataFrame."""
        rows = [{"u": u, "v": v, **{k: val for k, val in data.items()}}
                for u, v, data in self.graph.edges(data=True)]
        return gpd.GeoDataFrame(rows, geometry="geometry", crs=settings.STORAGE_CRS)


def delaunay_edges(xy: np.ndarray) -> list[tuple[int, int]]:
    """Unique edges of the Delaunay triangulation of points (two points: one edge).

    Examples
    --------
    >>> import numpy as np
    >>> delaunay_edges(np.array([[0, 0], [1, 0], [0, 1], [1, 1.1]]))
    [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]
    """
    n = len(xy)
    if n < 2:
        return []
    if n == 2:
        return [(0, 1)]
    try:
        tri = Delaunay(xy)
    except Exception:  # collinear points: connect in order along the line
        order = np.lexsort((xy[:, 1], xy[:, 0]))
        return sorted((int(min(a, b)), int(max(a, b))) for a, b in itertools.pairwise(order))
    edges: set[tuple[int, int]] = set()
    for s in tri.simplices:
        for a, b in ((s[0], s[1]), (s[1], s[2]), (s[0], s[2])):
            edges.add((int(min(a, b)), int(max(a, b))))
    return sorted(edges)


def candidate_network(
    surface: CostSurface,
    points: Places, *,
    snap_km: float = SNAP_KM,
    method: str = "auto",
) -> CandidateNetwork:
    """Delaunay triangulation over the points, one least-cost path per edge, merged.

    Delaunay runs on the points' projected coordinates (the surface's CRS). With
    ``method="full"`` one Dijkstra sweep per point serves all its Delaunay neighbours;
    ``"refined"`` refines each edge coarse-to-fine (fine grids). The paths are merged at
    the cell level: where two routes share cells they share the graph's edges, and
    junctions appear where they meet or part (as SimCCS builds its candidate network).

    Examples
    --------
    >>> from planner.layers import default_layers
    >>> from planner.costsurface import build_cost_surface
    >>> L = default_layers()
    >>> s = build_cost_surface(L.terrain, L.countries, L.water, L.pipelines, L.mountains,
    ...                        resolution_m=20_000)
    >>> net = candidate_network(s, {"Beyneu": (55.3, 45.1), "Shymkent": (69.6, 42.3),
    ...                             "Tashkent": (69.24, 41.31)})
    >>> len(net.edges), net.graph.number_of_nodes() >= 3
    (3, True)
    """
    named = as_places(points)
    places = [locate(surface, (lon, lat), n, snap_km) for n, lon, lat in named]
    uniq: dict[tuple[int, int], Place] = {}
    for p in places:
        uniq.setdefault((p.row, p.col), p)
    places = list(uniq.values())
    xy = np.column_stack(surface.rowcol_to_xy(np.array([p.row for p in places]),
                                              np.array([p.col for p in places])))
    pairs = delaunay_edges(xy)
    by_origin: dict[int, list[int]] = {}
    for a, b in pairs:
        by_origin.setdefault(a, []).append(b)
    m = _method(surface, method)
    records, paths = [], []
    missing = []
    for a, bs in by_origin.items():
        o = places[a]
        if m == "refined":
            dsts = [places[b] for b in bs]
            for d, rpath in zip(dsts, _refined_paths(surface, o, dsts, None, None),
                                strict=True):
                if rpath is None:
                    missing.append(f"{o.name} – {d.name}")
                    continue
                records.append(_record(surface, o, d, rpath, m))
                paths.append((o, d, rpath))
            continue
        _route_memory_check(surface.shape, surface.resolution_m, "route solve")
        found = solve_paths(surface, o, [places[b] for b in bs])
        for b, path in zip(bs, found, strict=True):
            d = places[b]
            if path is None:
                missing.append(f"{o.name} – {d.name}")
                continue
            records.append(_record(surface, o, d, path, m))
            paths.append((o, d, path))
    if missing:
        # expected where a point lies behind a barrier (an excluded country, a sea): the
        # network goes round it, and a destination no path reaches is reported elsewhere
        log.info("candidate network: %d Delaunay edge(s) unreachable: %s", len(missing),
                 "; ".join(missing))
    graph = _merge_paths(surface, paths)
    return CandidateNetwork(_frame(records), graph)


def _merge_paths(surface: CostSurface,
                 paths: Iterable[tuple[Place, Place, np.ndarray]]) -> nx.Graph:
    """Merge cell paths into one graph, contracting chains of cells between junctions."""
    cells = nx.Graph()
    ends: dict[tuple[int, int], str] = {}
    w = surface.shape[1]
    for o, d, path in paths:
        label = f"{o.name} – {d.name}"
        ends[(o.row, o.col)] = o.name
        ends[(d.row, d.col)] = d.name
        ids = [int(r) * w + int(c) for r, c in path]
        for u, v in itertools.pairwise(ids):
            if cells.has_edge(u, v):
                cells[u][v]["used_by"].add(label)
            else:
                cells.add_edge(u, v, used_by={label})
    end_ids = {r * w + c: name for (r, c), name in ends.items()}
    keep = {n for n in cells if cells.degree(n) != 2 or n in end_ids}
    g = nx.Graph()

    def node_name(n: int) -> str:
        return end_ids.get(n, f"j{n}")

    def add_node(n: int) -> None:
        r, c = divmod(n, w)
        x, y = surface.rowcol_to_xy(np.array([r]), np.array([c]))
        lon, lat = surface.xy_to_lonlat(x, y)
        g.add_node(node_name(n), kind="endpoint" if n in end_ids else "junction",
                   lon=float(lon[0]), lat=float(lat[0]))

    seen: set[tuple[int, int]] = set()
    for start in keep:
        add_node(start)
        for nb in cells.neighbors(start):
            if (start, nb) in seen:
                continue
            chain = [start, nb]
            used = set(cells[start][nb]["used_by"])
            prev, cur = start, nb
            while cur not in keep:
                nxt = next(x for x in cells.neighbors(cur) if x != prev)
                prev, cur = cur, nxt
                chain.append(cur)
            seen.add((start, chain[1]))
            seen.add((cur, chain[-2]))
            add_node(cur)
            rc = np.array([divmod(n, w) for n in chain])
            x, y = surface.rowcol_to_xy(rc[:, 0], rc[:, 1])
            lon, lat = surface.xy_to_lonlat(x, y)
            length = float(GEOD.line_length(lon, lat)) / 1000.0
            cost = path_cost(surface.cost, rc[:, 0], rc[:, 1], surface.resolution_m)
            a, b = node_name(start), node_name(cur)
            if a == b:
                continue
            if not g.has_edge(a, b) or g[a][b]["cost"] > cost:
                g.add_edge(a, b, cost=cost, length_km=length,
                           geometry=LineString(np.column_stack([lon, lat])),
                           used_by=sorted(used))
    return g


__all__ = [
    "SNAP_KM",
    "CandidateNetwork",
    "Place",
    "PlaceError",
    "RoutingError",
    "UnreachableError",
    "alternative_routes",
    "as_places",
    "candidate_network",
    "clear_caches",
    "default_coarse_factor",
    "delaunay_edges",
    "least_cost_route",
    "locate",
    "path_cost",
    "prime_routes",
    "refinement_gap",
    "route_overlap",
    "route_to_nearest",
    "routes_many_to_many",
    "solve_paths",
    "straighten_path",
    "window_paths",
]
