"""The existing pipeline system as a graph, and routes that reuse it.

:func:`pipeline_graph` turns the pipelines layer into a :class:`networkx.MultiGraph`:
nodes at line ends and junctions (an end that touches another line splits it there),
snapped within a tolerance; edges carry the pipeline's ``pipeline_id``, ``name``,
``system``, ``status``, ``capacity_bcm_y``, ``direction`` (the design flow, where known),
``length_km`` (geodesic) and ``geometry`` (EPSG:4326). Lines are cut into pieces of at most
``tap_spacing_km`` so that new links can tap a line between its ends.

:func:`reuse_route` combines that graph with the cost surface: existing edges at a reuse
cost (both directions; flow against the design direction at an extra factor, for reverse
flow such as Russian gas flowing south on Central Asia–Center since October 2023), new
links from the cost surface between the places and the network, and the direct greenfield
route; the cheapest path through this graph builds new pipe only where needed. The route
reports its reused and new-build kilometres separately and which pipelines it uses.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Geod
from scipy.spatial import cKDTree
from shapely import STRtree
from shapely.geometry import LineString, MultiLineString, Point
from shapely.ops import linemerge

from planner import settings
from planner.costsurface import CostSurface
from planner.routing import (
    SNAP_KM,
    Place,
    PlaceLike,
    RoutingError,
    UnreachableError,
    _solve,
    least_cost_route,
    locate,
    path_cost,
)
from planner.validation import CRSMismatchError

log = logging.getLogger(__name__)

GEOD = Geod(ellps="WGS84")

#: Design flow direction of systems whose direction is published. Lines not listed are
#: treated as bidirectional (``direction`` "unknown"). Central Asia–Center was built for
#: northward flow (Turkmenistan/Uzbekistan to Russia) and has carried Russian gas south to
#: Uzbekistan since October 2023 (Gazprom, QazaqGaz and Uztransgaz announcements).
DESIGN_FLOW: dict[str, str] = {
    "Central Asia–Center": "north",
    "Bukhara–Ural": "north",
    "Okarem–Beyneu": "north",
    "Central Asia–China": "east",
    "Bukhara–Tashkent–Bishkek–Almaty": "east",
    "Beineu–Bozoi–Shymkent": "east",
    "Gazli–Shymkent": "east",
    "Gazli–Nukus": "west",
    "Makat–North Caucasus": "west",
    "Orenburg–Novopskov": "west",
    "Soyuz": "west",
    "West–East 1": "east",
    "West–East 2": "east",
    "West–East 3": "east",
    "West–East 4": "east",
}


@dataclass(frozen=True)
class NetworkParams:
    """Parameters of the existing network and of reuse.

    Attributes
    ----------
    snap_km
        Line ends (and junctions) closer than this become one node (estimate: GEM
        geometries are digitised at about this accuracy).
    tap_spacing_km
        Lines are cut into pieces of at most this length; new links can tap every cut.
    reuse_statuses
        Pipeline statuses that can carry gas (lower case).
    reuse_factor
        Cost of moving gas along an existing line, per km, relative to building 1 km of
        new pipe on flat land: 0.5, after NREL reVX ("reusing a corridor at 50 % of new
        cost"); an upper bound when spare capacity exists, to calibrate.
    reverse_factor
        Extra factor for flow against the design direction (compressor stations and
        metering reconfigured): estimate 1.2.
    max_link_km
        New links to the network are searched within this straight-line distance of a place.
    """

    snap_km: float = 5.0
    tap_spacing_km: float = 25.0
    reuse_statuses: tuple[str, ...] = ("operating",)
    reuse_factor: float = 0.5
    reverse_factor: float = 1.2
    max_link_km: float = 300.0


# --- the existing network ---------------------------------------------------------------


def _parts(geom: object) -> list[LineString]:
    if isinstance(geom, LineString):
        return [geom]
    if isinstance(geom, MultiLineString):
        merged = linemerge(geom)
        return list(merged.geoms) if isinstance(merged, MultiLineString) else [merged]
    return []


def _flow_sign(line: LineString, direction: str) -> int:
    """+1 when the design flow runs along the digitised order, -1 against, 0 unknown."""
    (x0, y0), (x1, y1) = line.coords[0], line.coords[-1]
    if direction == "north":
        return 1 if y1 >= y0 else -1
    if direction == "south":
        return 1 if y1 <= y0 else -1
    if direction == "east":
        return 1 if x1 >= x0 else -1
    if direction == "west":
        return 1 if x1 <= x0 else -1
    return 0


#: Numeric pipeline columns an edge carries (NaN where the layer has none).
_NUMERIC_ATTRS = ("capacity_bcm_y", "diameter_mm", "max_pressure_mpa", "parallel_strings")


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


class _Cutter:
    """Pieces of one line between distances along it: what ``shapely.ops.substring`` gives
    for ``start < end``, with the line's vertices and their distances computed once
    (substring walks every vertex in Python on each call)."""

    def __init__(self, line: LineString) -> None:
        self.line = line
        self.xy = np.asarray(line.coords)[:, :2]
        d = np.diff(self.xy, axis=0)
        # summed in order, as substring does, so the vertices kept are the same
        self.at = np.concatenate([[0.0], np.cumsum(np.sqrt(d[:, 0] ** 2 + d[:, 1] ** 2))])

    def between(self, start: float, end: float) -> LineString:
        ends = shapely.line_interpolate_point(self.line, [start, end])
        inner = self.xy[:-1][(self.at[:-1] > start) & (self.at[:-1] < end)]
        coords = np.vstack([shapely.get_coordinates(ends[:1]), inner,
                            shapely.get_coordinates(ends[1:])])
        return LineString(coords)


def pipeline_graph(
    pipelines: gpd.GeoDataFrame,
    *,
    params: NetworkParams | None = None,
    crs: str = settings.STUDY_CRS,
    statuses: Sequence[str] | None = None,
) -> nx.MultiGraph:
    """The pipelines as a graph (nodes at ends and junctions, snapped within a tolerance).

    A line's end closer than ``params.snap_km`` to another line's interior splits that
    line there (a T-junction); ends closer than ``snap_km`` to each other become one node.
    Lines that cross without an end near the other are not connected: a crossing is not a
    junction.

    Parameters
    ----------
    pipelines
        The pipelines layer (EPSG:4326), with ``pipeline_id``, ``name``, ``status`` and
        optionally ``system``, ``capacity_bcm_y``.
    params
        :class:`NetworkParams` (tolerance, piece length).
    crs
        Projected CRS in which distances are measured.
    statuses
        Keep only lines with these statuses (lower case); default: all.

    Returns
    -------
    networkx.MultiGraph
        Nodes with ``lon``, ``lat``, ``x``, ``y``; edges with ``pipeline_id``, ``name``,
        ``system``, ``status``, ``capacity_bcm_y``, ``diameter_mm``, ``max_pressure_mpa``,
        ``parallel_strings``, ``max_pressure_basis``, ``direction``, ``flow``
        (+1: design flow from the lower to the higher node id, -1: the other way, 0:
        unknown), ``length_km`` and ``geometry`` (EPSG:4326).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import LineString
    >>> p = gpd.GeoDataFrame({"pipeline_id": ["a", "b"], "name": ["A", "B"],
    ...                       "status": ["Operating", "Operating"]},
    ...                      geometry=[LineString([(60, 45), (62, 45)]),
    ...                                LineString([(61, 45.01), (61, 47)])], crs="EPSG:4326")
    >>> g = pipeline_graph(p, params=NetworkParams(tap_spacing_km=1000))
    >>> g.number_of_nodes(), g.number_of_edges()   # A split at the T-junction with B
    (4, 3)
    """
    p = params or NetworkParams()
    gdf = pipelines
    if statuses is not None:
        keep = {s.lower() for s in statuses}
        gdf = gdf[gdf["status"].astype(str).str.lower().isin(keep)]
    if gdf.crs is None:
        raise ValueError("pipelines have no CRS: set one (EPSG:4326)")
    proj = gdf.to_crs(crs)
    tol = p.snap_km * 1000.0

    lines: list[LineString] = []
    attrs: list[dict[str, object]] = []
    for (_, row), geom in zip(gdf.iterrows(), proj.geometry, strict=True):
        system = row.get("system") if isinstance(row.get("system"), str) else row["name"]
        direction = DESIGN_FLOW.get(str(system), "unknown")
        for part in _parts(geom):
            if part.length <= 0:
                continue
            lines.append(part)
            num = pd.to_numeric(pd.Series([row.get(c) for c in _NUMERIC_ATTRS]),
                                errors="coerce")
            attrs.append({
                "pipeline_id": str(row["pipeline_id"]), "name": str(row["name"]),
                "system": str(system), "status": str(row["status"]),
                **{c: float(v) if pd.notna(v) else float("nan")
                   for c, v in zip(_NUMERIC_ATTRS, num, strict=True)},
                "max_pressure_basis": _text(row.get("max_pressure_basis")),
                "direction": direction,
            })

    # Split points: every line's ends, where they touch another line's interior.
    cuts: list[list[float]] = [[0.0, ln.length] for ln in lines]
    tree = STRtree(lines)
    for i, ln in enumerate(lines):
        for end in (Point(ln.coords[0]), Point(ln.coords[-1])):
            for j in tree.query(end.buffer(tol)):
                j = int(j)
                if j == i:
                    continue
                other = lines[j]
                if other.distance(end) > tol:
                    continue
                at = other.project(end)
                if tol < at < other.length - tol:
                    cuts[j].append(at)

    pieces: list[tuple[LineString, int, int]] = []  # (piece, line index, flow sign)
    for i, ln in enumerate(lines):
        sign = _flow_sign(ln, str(attrs[i]["direction"]))
        cut = _Cutter(ln)
        marks = sorted(set(cuts[i]))
        fine: list[float] = []
        step = p.tap_spacing_km * 1000.0
        for a, b in itertools.pairwise(marks):
            n = max(1, int(np.ceil((b - a) / step)))
            fine.extend(np.linspace(a, b, n + 1)[:-1].tolist())
        fine.append(marks[-1])
        for a, b in itertools.pairwise(fine):
            if b - a <= 1.0:
                continue
            piece = cut.between(a, b)
            if isinstance(piece, LineString) and piece.length > 0:
                pieces.append((piece, i, sign))

    # Snap piece ends into nodes (union-find over pairs closer than the tolerance).
    ends = np.array([c for pc, _, _ in pieces for c in (pc.coords[0], pc.coords[-1])])
    parent = np.arange(len(ends))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = int(parent[a])
        return a

    if len(ends):
        for a, b in cKDTree(ends).query_pairs(tol):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(i) for i in range(len(ends))])
    uniq, node_of = np.unique(roots, return_inverse=True)
    g = nx.MultiGraph(crs=crs)
    if len(ends):
        nx_ = np.bincount(node_of, weights=ends[:, 0]) / np.bincount(node_of)
        ny_ = np.bincount(node_of, weights=ends[:, 1]) / np.bincount(node_of)
        lon, lat = gpd.GeoSeries(gpd.points_from_xy(nx_, ny_), crs=crs).to_crs(
            settings.STORAGE_CRS).pipe(lambda s: (s.x.to_numpy(), s.y.to_numpy()))
        for n in range(len(uniq)):
            g.add_node(int(n), x=float(nx_[n]), y=float(ny_[n]), lon=float(lon[n]),
                       lat=float(lat[n]))
    geo = gpd.GeoSeries([pc for pc, _, _ in pieces], crs=crs).to_crs(settings.STORAGE_CRS)
    for k, ((_, i, sign), ll) in enumerate(zip(pieces, geo, strict=True)):
        u, v = int(node_of[2 * k]), int(node_of[2 * k + 1])
        if u == v:
            continue
        # flow: +1 if the design flow runs from min(u, v) to max(u, v)
        flow = 0 if sign == 0 else (sign if u < v else -sign)
        g.add_edge(min(u, v), max(u, v), **attrs[i], flow=flow,
                   length_km=float(GEOD.geometry_length(ll)) / 1000.0,
                   geometry=ll if u < v else LineString(ll.coords[::-1]))
    log.info("pipeline graph: %d nodes, %d edges from %d lines", g.number_of_nodes(),
             g.number_of_edges(), len(gdf))
    return g


# --- reuse routes -----------------------------------------------------------------------

#: Line attributes of a new leg (none: it is not an existing line).
_NO_LINE = {"capacity_bcm_y": float("nan"), "strings": float("nan"),
            "diameter_mm": float("nan"), "max_pressure_mpa": float("nan"),
            "max_pressure_basis": ""}


@dataclass(frozen=True)
class ReuseRoute:
    """A route through the existing system plus new links.

    Attributes
    ----------
    route : geopandas.GeoDataFrame
        One row: ``origin``, ``destination``, ``cost`` (km-eq), ``length_km``,
        ``reused_km``, ``new_km``, ``reversed_km`` (reused against the design flow),
        ``pipelines`` (systems used, in order), ``greenfield_cost`` (the direct new-build
        route, for comparison), ``distance_km`` and ``elevation_m`` (profile),
        ``countries`` (ISO3 codes crossed, in order) and ``km_by_country``, geometry.
    legs : geopandas.GeoDataFrame
        One row per leg, in route order: ``kind`` ("new" or "reuse"), ``system``,
        ``pipeline_ids``, ``reverse`` (bool), ``length_km``, ``start_km`` and ``end_km``
        (along the route), ``cost``, and for reused legs the smallest known along the leg
        of ``capacity_bcm_y``, ``strings`` (parallel lines), ``diameter_mm`` and
        ``max_pressure_mpa`` (and ``max_pressure_basis``); geometry.
    """

    route: gpd.GeoDataFrame
    legs: gpd.GeoDataFrame
    km_by_system: dict[str, float] = field(default_factory=dict)


def _strings(data: dict, ids: list[str]) -> float:
    """Parallel strings of a reused piece: the layer's figure, else the lines merged here."""
    n = float(data.get("parallel_strings", float("nan")))
    return n if np.isfinite(n) else float(len(ids))


def _links(surface: CostSurface, place: Place, graph: nx.MultiGraph, max_link_km: float,
           ) -> dict[int, tuple[float, np.ndarray]]:
    """New-link cost (km-eq) and cell path from a place to each network node within reach."""
    px, py = surface.rowcol_to_xy(np.array([place.row]), np.array([place.col]))
    res = surface.resolution_m
    h, w = surface.shape
    reach = max_link_km * 1000.0
    cand = [n for n, d in graph.nodes(data=True)
            if np.hypot(d["x"] - px[0], d["y"] - py[0]) <= reach]
    if not cand:
        return {}
    rad = int(np.ceil(reach * 1.3 / res))
    r0, r1 = max(0, place.row - rad), min(h, place.row + rad + 1)
    c0, c1 = max(0, place.col - rad), min(w, place.col + rad + 1)
    ends: dict[int, tuple[int, int]] = {}
    for n in cand:
        rr, cc = surface.xy_to_rowcol(np.array([graph.nodes[n]["x"]]),
                                      np.array([graph.nodes[n]["y"]]))
        r, c = int(rr[0]), int(cc[0])
        if r0 <= r < r1 and c0 <= c < c1 and np.isfinite(surface.cost[r, c]):
            ends[n] = (r - r0, c - c0)
    if not ends:
        return {}
    sub = surface.cost[r0:r1, c0:c1]
    mcp, cum = _solve(sub, (place.row - r0, place.col - c0), list(set(ends.values())), res)
    out: dict[int, tuple[float, np.ndarray]] = {}
    for n, (r, c) in ends.items():
        if np.isfinite(cum[r, c]):
            path = np.asarray(mcp.traceback((r, c))) + np.array([r0, c0])
            out[n] = (path_cost(surface.cost, path[:, 0], path[:, 1], res), path)
    return out


def reuse_route(
    surface: CostSurface,
    graph: nx.MultiGraph,
    origin: PlaceLike,
    destination: PlaceLike,
    *,
    origin_name: str | None = None,
    destination_name: str | None = None,
    params: NetworkParams | None = None,
    volume_bcm_y: float | None = None,
    allow_reverse: bool = True,
    snap_km: float = SNAP_KM,
    require_reuse: bool = False,
) -> ReuseRoute:
    """The cheapest route that reuses existing lines and builds new links only where needed.

    The combined graph holds the existing edges (status in ``params.reuse_statuses``) at
    ``reuse_factor`` × km, against the design flow at ``reverse_factor`` more (or not at
    all without ``allow_reverse``), lines whose known capacity is below ``volume_bcm_y``
    left out; new links from each place to the network nodes within
    ``params.max_link_km`` (least-cost paths on ``surface``); and the direct greenfield
    route, unless ``require_reuse`` (then the route must go through the network, even
    when building new would be cheaper, so that a corridor can be costed as such).
    Dijkstra picks the cheapest.

    Examples
    --------
    >>> from planner.layers import default_layers
    >>> from planner.costsurface import build_cost_surface
    >>> L = default_layers()
    >>> s = build_cost_surface(L.terrain, L.countries, L.water, L.pipelines, L.mountains,
    ...                        resolution_m=20_000)
    >>> g = pipeline_graph(L.pipelines, statuses=["operating"])
    >>> r = reuse_route(s, g, (48.78, 50.14), (59.6, 42.46))
    >>> "Central Asia–Center" in r.route.pipelines.iloc[0]
    True
    """
    p = params or NetworkParams()
    gcrs = graph.graph.get("crs")
    if gcrs is None or not CRS.from_user_input(gcrs).equals(CRS.from_user_input(surface.crs)):
        raise CRSMismatchError(
            f"reuse_route: the pipeline graph's nodes are in {gcrs} and the cost surface in "
            f"{surface.crs}; build the graph with pipeline_graph(..., crs=surface.crs)"
        )
    o = locate(surface, origin, origin_name, snap_km)
    d = locate(surface, destination, destination_name, snap_km)
    if (o.row, o.col) == (d.row, d.col):
        raise RoutingError(f"origin {o.name!r} and destination {d.name!r} are the same place")
    greenfield = least_cost_route(surface, (o.lon, o.lat), (d.lon, d.lat), origin_name=o.name,
                                  destination_name=d.name, snap_km=snap_km)
    g_cost = float(greenfield.cost.iloc[0])

    reuse = {s.lower() for s in p.reuse_statuses}
    dg = nx.DiGraph()
    for u, v, data in graph.edges(data=True):
        if str(data["status"]).lower() not in reuse:
            continue
        cap = float(data.get("capacity_bcm_y", float("nan")))
        base = p.reuse_factor * data["length_km"]
        lo, hi = min(u, v), max(u, v)  # geometry and flow are stored from lo to hi
        for a, b, along in ((lo, hi, 1), (hi, lo, -1)):
            reverse = data["flow"] != 0 and along != data["flow"]
            if reverse and not allow_reverse:
                continue
            cost = base * (p.reverse_factor if reverse else 1.0)
            cur = dg.get_edge_data(a, b)
            if cur is None or cost < cur["cost"] - 1e-9:
                dg.add_edge(a, b, cost=cost, kind="reuse", data=data, reverse=reverse,
                            forward=(a == lo), ids=[data["pipeline_id"]], capacity=cap)
            elif abs(cost - cur["cost"]) <= 1e-9 and cur["data"]["system"] == data["system"]:
                # parallel strings of one system: capacities add up
                cur["ids"].append(data["pipeline_id"])
                caps = [c for c in (cur["capacity"], cap) if np.isfinite(c)]
                cur["capacity"] = float(sum(caps)) if caps else float("nan")
    if volume_bcm_y is not None:
        small = [(a, b) for a, b, e in dg.edges(data=True)
                 if np.isfinite(e["capacity"]) and e["capacity"] < volume_bcm_y]
        dg.remove_edges_from(small)
        log.info("reuse: %d directed pieces below %.1f bcm/y left out", len(small),
                 volume_bcm_y)
    o_links = _links(surface, o, graph, p.max_link_km)
    d_links = _links(surface, d, graph, p.max_link_km)
    for n, (c, path) in o_links.items():
        if n in dg:
            dg.add_edge("origin", n, cost=c, kind="new", path=path)
    for n, (c, path) in d_links.items():
        if n in dg:
            dg.add_edge(n, "destination", cost=c, kind="new", path=path[::-1])
    if not require_reuse:
        dg.add_edge("origin", "destination", cost=g_cost, kind="greenfield")
    try:
        nodes = nx.dijkstra_path(dg, "origin", "destination", weight="cost")
    except nx.NetworkXNoPath as exc:
        raise UnreachableError(
            f"{d.name!r} cannot be reached from {o.name!r}"
            + (" through the existing network (new links are searched within "
               f"{p.max_link_km:g} km of each place)" if require_reuse else "")) from exc

    legs: list[dict[str, object]] = []
    for a, b in itertools.pairwise(nodes):
        e = dg[a][b]
        if e["kind"] == "greenfield":
            legs.append({"kind": "new", "system": "", "pipeline_ids": "", "reverse": False,
                         "length_km": float(greenfield.length_km.iloc[0]), "cost": g_cost,
                         **_NO_LINE, "geometry": greenfield.geometry.iloc[0]})
        elif e["kind"] == "new":
            path = e["path"]
            x, y = surface.rowcol_to_xy(path[:, 0], path[:, 1])
            lon, lat = surface.xy_to_lonlat(x, y)
            line = LineString(np.column_stack([lon, lat]) if len(lon) > 1 else
                              [(lon[0], lat[0]), (lon[0], lat[0])])
            legs.append({"kind": "new", "system": "", "pipeline_ids": "", "reverse": False,
                         "length_km": float(GEOD.geometry_length(line)) / 1000.0,
                         "cost": float(e["cost"]), **_NO_LINE, "geometry": line})
        else:
            data = e["data"]
            geom = data["geometry"] if e["forward"] else LineString(
                data["geometry"].coords[::-1])
            leg = {"kind": "reuse", "system": data["system"],
                   "pipeline_ids": ",".join(sorted(e["ids"])), "reverse": bool(e["reverse"]),
                   "length_km": float(data["length_km"]), "cost": float(e["cost"]),
                   "capacity_bcm_y": float(e["capacity"]), "strings": _strings(data, e["ids"]),
                   "diameter_mm": float(data["diameter_mm"]),
                   "max_pressure_mpa": float(data["max_pressure_mpa"]),
                   "max_pressure_basis": data["max_pressure_basis"],
                   "geometry": geom}
            prev = legs[-1] if legs else None
            if (prev and prev["kind"] == "reuse" and prev["system"] == leg["system"]
                    and prev["reverse"] == leg["reverse"]):
                prev["length_km"] = float(prev["length_km"]) + leg["length_km"]  # type: ignore[arg-type]
                prev["cost"] = float(prev["cost"]) + leg["cost"]  # type: ignore[arg-type]
                ids = set(str(prev["pipeline_ids"]).split(",")) | set(e["ids"])
                prev["pipeline_ids"] = ",".join(sorted(ids))
                for col in ("capacity_bcm_y", "strings", "diameter_mm", "max_pressure_mpa"):
                    known = [float(v) for v in (prev[col], leg[col])  # type: ignore[arg-type]
                             if np.isfinite(float(v))]  # type: ignore[arg-type]
                    prev[col] = min(known) if known else float("nan")
                merged = linemerge([prev["geometry"], geom])
                prev["geometry"] = merged if isinstance(merged, LineString) else LineString(
                    [*prev["geometry"].coords, *geom.coords])  # type: ignore[attr-defined]
            else:
                legs.append(leg)
    legs_gdf = gpd.GeoDataFrame(legs, geometry="geometry", crs=settings.STORAGE_CRS)
    legs_gdf["end_km"] = legs_gdf["length_km"].cumsum()
    legs_gdf["start_km"] = legs_gdf["end_km"] - legs_gdf["length_km"]
    reused = float(legs_gdf.loc[legs_gdf.kind == "reuse", "length_km"].sum())
    new = float(legs_gdf.loc[legs_gdf.kind == "new", "length_km"].sum())
    reversed_km = float(legs_gdf.loc[legs_gdf["reverse"].astype(bool), "length_km"].sum())
    systems: list[str] = []
    km_by: dict[str, float] = {}
    for _, leg in legs_gdf[legs_gdf.kind == "reuse"].iterrows():
        if leg["system"] not in systems:
            systems.append(str(leg["system"]))
        km_by[str(leg["system"])] = km_by.get(str(leg["system"]), 0.0) + float(
            leg["length_km"])
    coords: list[tuple[float, float]] = []
    for geom in legs_gdf.geometry:
        cs = list(geom.coords)
        coords.extend(cs if not coords else cs[1:] if coords[-1] == cs[0] else cs)
    line = LineString(coords if len(coords) > 1 else coords * 2)
    dist, elev, countries, km_by_country = _profile(surface, line)
    total_cost = float(legs_gdf.cost.sum())
    route = gpd.GeoDataFrame([{
        "origin": o.name, "destination": d.name, "cost": total_cost,
        "length_km": reused + new, "reused_km": reused, "new_km": new,
        "reversed_km": reversed_km, "pipelines": ", ".join(systems),
        "greenfield_cost": g_cost, "distance_km": dist, "elevation_m": elev,
        "countries": countries, "km_by_country": km_by_country,
        "geometry": line,
    }], geometry="geometry", crs=settings.STORAGE_CRS)
    log.info("reuse route %s → %s: %.0f km-eq (greenfield %.0f): %.0f km reused (%s), "
             "%.0f km new", o.name, d.name, total_cost, g_cost, reused, ", ".join(systems),
             new)
    return ReuseRoute(route, legs_gdf, km_by)


def _profile(surface: CostSurface, line: LineString
             ) -> tuple[np.ndarray, np.ndarray, str, dict[str, float]]:
    """Distance (km) and elevation (m) along a lon/lat line, sampled at the grid spacing,
    the countries crossed (ISO3, in order, comma separated) and the km in each."""
    lon, lat = np.asarray(line.coords).T
    x, y = surface.lonlat_to_xy(lon, lat)
    proj = LineString(np.column_stack([x, y])).segmentize(surface.resolution_m)
    px, py = np.asarray(proj.coords).T
    plon, plat = surface.xy_to_lonlat(px, py)
    _, _, seg = GEOD.inv(plon[:-1], plat[:-1], plon[1:], plat[1:])
    dist = np.r_[0.0, np.cumsum(np.asarray(seg) / 1000.0)]
    rr, cc = surface.xy_to_rowcol(px, py)
    h, w = surface.shape
    ok = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
    elev = np.full(len(px), np.nan)
    elev[ok] = surface.elevation[rr[ok], cc[ok]]
    codes = np.full(len(px), "", dtype=object)
    codes[ok] = surface.country_at(rr[ok], cc[ok])
    order: list[str] = []
    km_by: dict[str, float] = {}
    for code, km in zip(codes[:-1], np.diff(dist), strict=True):
        if code:
            km_by[str(code)] = km_by.get(str(code), 0.0) + float(km)
            if not order or order[-1] != code:
                order.append(str(code))
    return dist, elev, ", ".join(order), {k: round(v, 3) for k, v in km_by.items()}


def network_summary(graph: nx.MultiGraph) -> pd.DataFrame:
    """Kilometres and pieces per system and status of a pipeline graph.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.MultiGraph()
    >>> g.add_edge(0, 1, system="A", status="Operating", length_km=10.0)
    0
    >>> network_summary(g).to_dict("records")
    [{'system': 'A', 'status': 'Operating', 'pieces': 1, 'length_km': 10.0}]
    """
    rows = [(d["system"], d["status"], d["length_km"]) for _, _, d in graph.edges(data=True)]
    df = pd.DataFrame(rows, columns=["system", "status", "length_km"])
    return (df.groupby(["system", "status"], as_index=False)
            .agg(pieces=("length_km", "size"), length_km=("length_km", "sum")))


def places_near_network(graph: nx.MultiGraph, places: Mapping[str, PlaceLike]) -> dict[str, float]:
    """Straight-line distance (km) from each place to the nearest network node."""
    if graph.number_of_nodes() == 0:
        return {k: float("inf") for k in places}
    nodes = np.array([(d["lon"], d["lat"]) for _, d in graph.nodes(data=True)])
    out = {}
    for name, pl in places.items():
        lon, lat = (pl.x, pl.y) if isinstance(pl, Point) else pl
        _, _, dist = GEOD.inv(np.full(len(nodes), lon), np.full(len(nodes), lat),
                              nodes[:, 0], nodes[:, 1])
        out[name] = float(np.min(dist) / 1000.0)
    return out


__all__ = [
    "DESIGN_FLOW",
    "NetworkParams",
    "ReuseRoute",
    "network_summary",
    "pipeline_graph",
    "places_near_network",
    "reuse_route",
]
