"""The existing pipeline system as one connected graph, as it is operated, and routes
that reuse it.

:func:`pipeline_graph` turns the pipelines layer into a :class:`networkx.MultiGraph` with
real junctions: line ends within a tolerance merged and dangling ends extended onto a line
they nearly meet (momepy), lines split where another line's end lies on them
(T-junctions), crossings left unjoined, and the cited hubs of
``planner/data/interconnections.csv`` joining their systems across gaps. Each edge carries
its line's attributes, its country and its capacity in each direction from
``planner/data/line_flows.csv`` (design direction, whether it may run in reverse, flows
known today, capacity left). Lines are cut into pieces of at most ``tap_spacing_km`` so
that new links can tap a line between its ends. :func:`flow_digraph`,
:func:`spare_capacity`, :func:`places_reached`, :func:`junction_summary` and
:func:`component_summary` read it; ``planner network`` prints them.

:func:`reuse_route` combines that graph with the cost surface: existing edges at a reuse
cost (against the design direction at an extra factor, only where the line may be
reversed, as Central Asia–Center has carried Russian gas south since October 2023), new
links from the cost surface between the places and the network, and the direct greenfield
route; the cheapest path with enough capacity left builds new pipe only where needed. The
route reports its reused and new-build kilometres separately and which pipelines it uses.
"""
from __future__ import annotations

import itertools
import logging
import threading
import warnings
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from pyproj import CRS, Geod
from shapely import STRtree
from shapely.geometry import LineString, MultiLineString, Point
from shapely.ops import linemerge

from planner import settings
from planner.costsurface import CostSurface
from planner.interconnections import line_flows_from_csv
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

#: Design flow direction of each system whose direction is published, from
#: ``planner/data/line_flows.csv`` (each row cites its source). Lines not listed are
#: treated as bidirectional (``direction`` "unknown").
DESIGN_FLOW: dict[str, str] = {
    str(s): str(d) for s, d in line_flows_from_csv()["design_direction"].items()
    if d != "unknown"}


@dataclass(frozen=True)
class NetworkParams:
    """Parameters of the existing network and of reuse.

    Attributes
    ----------
    snap_km
        Junction tolerance: line ends closer than this to each other become one node, and
        an end closer than this to another line joins it there (a T-junction). Estimate:
        GEM geometries are digitised at about this accuracy.
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
        metering reconfigured): estimate 1.2. Reverse flow is only allowed where the
        line-flows table says the line can be reversed.
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
#: Node kinds, from most to least specific (a node takes the first that applies).
NODE_KINDS = ("interconnection", "t_junction", "end_junction", "joint", "tap", "end")
#: Cut marks closer than this (m) along one line are one mark.
_SAME_MARK_M = 1.0
#: Ends closer than this (m) touch (after the gaps are closed).
_TOUCH_M = 0.01


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _close_gaps(lines: list[LineString], crs: str, tol: float) -> list[LineString]:
    """Ends within ``tol`` of each other snapped together, dangling ends within ``tol`` of
    another line extended onto it (momepy), the rest led to the nearest point (shapely)."""
    import momepy

    if not lines:
        return []
    gdf = gpd.GeoDataFrame(geometry=lines, crs=crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # moved to neatnet; same algorithm
        closed = momepy.close_gaps(gdf, tol)
        ext = momepy.extend_lines(gpd.GeoDataFrame(geometry=closed, crs=crs), tol)
    out = [g if isinstance(g, LineString) else lines[i] for i, g in enumerate(ext.geometry)]
    # Ends that extension along the line's own heading does not bring onto another line
    # (a near miss beside it): add the shortest segment to the nearest line within tol.
    ends = [Point(xy) for ln in out for xy in (ln.coords[0], ln.coords[-1])]
    pairs = STRtree(out).query(ends, predicate="dwithin", distance=tol).T
    near_of: dict[int, list[int]] = {}
    for e, j in pairs:
        if int(j) != int(e) // 2:
            near_of.setdefault(int(e), []).append(int(j))
    for e, near in near_of.items():
        i, first = e // 2, e % 2 == 0
        coords = list(out[i].coords)
        end = Point(coords[0] if first else coords[-1])
        if any(out[j].distance(end) <= _TOUCH_M for j in near):
            continue
        j = min(near, key=lambda k: out[k].distance(end))
        onto = out[j].interpolate(out[j].project(end))
        out[i] = LineString([onto.coords[0], *coords] if first else [*coords, onto.coords[0]])
    return out


@dataclass
class _NodeInfo:
    """What meets at a node while the graph is built."""

    xy: tuple[float, float]
    kinds: set[str] = field(default_factory=set)
    ends: set[str] = field(default_factory=set)  # pipeline ids whose line ends here
    lines: set[int] = field(default_factory=set)  # lines with a piece ending here
    hub: str = ""


def _key(x: float, y: float) -> tuple[float, float]:
    """Node key: coordinates on a 1 cm grid, so that ends placed on one point meet."""
    return (round(float(x), 2), round(float(y), 2))


def _flow_attrs(system: str, country: str, flows: pd.DataFrame | None,
                capacity: float, pipeline_id: str = "") -> dict[str, object]:
    """Per-direction capacity of a line piece from the line-flows table (NaN: unknown)."""
    nan = float("nan")
    row = flows.loc[system] if flows is not None and system in flows.index else None
    if row is None:
        return {"direction": "unknown", "reversible": False, "reverse_capacity_bcm_y": nan,
                "current_flow_bcm_y": nan, "reverse_flow_bcm_y": nan,
                "spare_design_bcm_y": capacity, "spare_reverse_bcm_y": nan,
                "reversal_cost_musd": nan, "flow_source": ""}
    # the country limit applies where the piece's country is known (a countries layer)
    reversible = bool(row["reversible"]) and (
        not row["reverse_countries"] or not country or country in row["reverse_countries"]
    ) and (not row.get("reverse_pipeline_ids") or pipeline_id in row["reverse_pipeline_ids"])
    cur = float(row["current_flow_bcm_y"])  # type: ignore[arg-type]
    rcap = float(row["reverse_capacity_bcm_y"])  # type: ignore[arg-type]
    rflow = float(row["reverse_flow_bcm_y"])  # type: ignore[arg-type]
    return {
        "direction": str(row["design_direction"]), "reversible": reversible,
        "reverse_capacity_bcm_y": rcap if reversible else 0.0,
        "current_flow_bcm_y": cur, "reverse_flow_bcm_y": rflow,
        "spare_design_bcm_y": capacity - (cur if np.isfinite(cur) else 0.0),
        "spare_reverse_bcm_y": (rcap - (rflow if np.isfinite(rflow) else 0.0)
                                if reversible else 0.0),
        "reversal_cost_musd": float(row["reversal_cost_musd"]),  # type: ignore[arg-type]
        "flow_source": str(row["source"]),
    }


def _hub_point(row: pd.Series, lines: list[LineString], attrs: list[dict[str, object]],
               crs: str) -> Point | None:
    """A hub's point in the projected CRS: its lon/lat, or its km point along a system."""
    if np.isfinite(row["lon"]) and np.isfinite(row["lat"]):
        p = gpd.GeoSeries([Point(row["lon"], row["lat"])], crs=settings.STORAGE_CRS).to_crs(crs)
        return Point(p.iloc[0].coords[0])
    own = [ln for ln, a in zip(lines, attrs, strict=True) if a["system"] == row["km_system"]]
    if not own:
        return None
    longest = max(own, key=lambda ln: ln.length)
    return longest.interpolate(min(float(row["km"]) * 1000.0, longest.length))


def pipeline_graph(
    pipelines: gpd.GeoDataFrame,
    *,
    params: NetworkParams | None = None,
    crs: str = settings.STUDY_CRS,
    statuses: Sequence[str] | None = None,
    interconnections: pd.DataFrame | None = None,
    line_flows: pd.DataFrame | None = None,
    countries: gpd.GeoDataFrame | None = None,
) -> nx.MultiGraph:
    """The pipelines as one graph with real junctions, as the system is operated.

    Junctions (tolerance ``params.snap_km``):

    - line ends closer than the tolerance are merged into one node and a dangling end
      within the tolerance of another line is extended onto it (``momepy.close_gaps`` and
      ``momepy.extend_lines``); a line is split where another line's end lies on it
      (a *T-junction*);
    - lines that cross, or pass close, without an end near the other are **not** joined
      (pipelines often cross without a connection), unless an interconnection says so;
    - each row of ``interconnections`` joins its systems at its point: every named
      system's line nearest to the point (within the row's ``search_km``) is split there
      and the pieces are linked by an *interconnection* edge (the gap, straight; length 0
      where the lines meet), in the row's direction only when it gives one.

    Parameters
    ----------
    pipelines
        The pipelines layer (EPSG:4326), with ``pipeline_id``, ``name``, ``status`` and
        optionally ``system``, ``capacity_bcm_y``, ``diameter_mm``, ``max_pressure_mpa``,
        ``parallel_strings``, ``max_pressure_basis``.
    params
        :class:`NetworkParams` (tolerance, piece length).
    crs
        Projected CRS in which distances are measured.
    statuses
        Keep only lines with these statuses (lower case); default: all.
    interconnections
        Table of :func:`planner.interconnections.interconnections_from_csv` (default: the
        package table; an empty frame joins nothing). Rows naming systems absent from
        ``pipelines`` join the systems that are present.
    line_flows
        Table of :func:`planner.interconnections.line_flows_from_csv` (default: the
        package table): design direction, reversibility, flows per direction.
    countries
        Countries layer (``iso_a3``): each edge's ``country`` is the one its midpoint is in.

    Returns
    -------
    networkx.MultiGraph
        Graph attribute ``crs``. **Nodes** (integers): ``x``, ``y`` (in ``crs``), ``lon``,
        ``lat``, ``kind`` (one of :data:`NODE_KINDS`: ``interconnection``,
        ``t_junction``, ``end_junction`` (ends of different lines merged), ``joint``
        (parts of one line), ``tap`` (a cut every ``tap_spacing_km``), ``end``),
        ``snapped_m`` (how far the farthest line end was moved to meet here; > 0 for a
        near miss joined), ``systems`` (sorted names) and ``interconnection`` (the hub's
        id, or ""). **Edges** are stored from the lower to the higher node id:
        ``kind`` ("line" or "interconnection"), ``pipeline_id``, ``name``, ``system``,
        ``status``, ``country`` (ISO3, "" without ``countries``), ``length_km``
        (geodesic), ``geometry`` (EPSG:4326, from the lower node), ``capacity_bcm_y``
        (design, in the design direction), ``diameter_mm``, ``max_pressure_mpa``,
        ``parallel_strings``, ``max_pressure_basis``, ``direction`` (design, compass),
        ``flow`` (+1: design flow from the lower to the higher node id, -1: the other way,
        0: either way), ``reversible`` (flow against ``flow`` allowed),
        ``reverse_capacity_bcm_y``, ``current_flow_bcm_y`` and ``reverse_flow_bcm_y``
        (published flows, NaN where not), ``spare_design_bcm_y`` and
        ``spare_reverse_bcm_y`` (capacity left for a new flow in each direction; NaN:
        unknown), ``reversal_cost_musd`` and ``flow_source``. See
        :func:`spare_capacity` for the capacity from one node to another.

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
    >>> sorted(k for _, k in g.nodes(data="kind"))
    ['end', 'end', 'end', 't_junction']
    """
    from planner.interconnections import interconnections_from_csv

    p = params or NetworkParams()
    hubs = interconnections_from_csv() if interconnections is None else interconnections
    flows = line_flows_from_csv() if line_flows is None else line_flows
    gdf = pipelines
    if statuses is not None:
        keep = {s.lower() for s in statuses}
        gdf = gdf[gdf["status"].astype(str).str.lower().isin(keep)]
    if gdf.crs is None:
        raise ValueError("pipelines have no CRS: set one (EPSG:4326)")
    proj = gdf.to_crs(crs)
    tol = p.snap_km * 1000.0

    raw: list[LineString] = []
    attrs: list[dict[str, object]] = []
    for (_, row), geom in zip(gdf.iterrows(), proj.geometry, strict=True):
        system = row.get("system") if isinstance(row.get("system"), str) else row["name"]
        for part in _parts(geom):
            if part.length <= 0:
                continue
            raw.append(part)
            num = pd.to_numeric(pd.Series([row.get(c) for c in _NUMERIC_ATTRS]),
                                errors="coerce")
            attrs.append({
                "kind": "line", "pipeline_id": str(row["pipeline_id"]),
                "name": str(row["name"]), "system": str(system), "status": str(row["status"]),
                **{c: float(v) if pd.notna(v) else float("nan")
                   for c, v in zip(_NUMERIC_ATTRS, num, strict=True)},
                "max_pressure_basis": _text(row.get("max_pressure_basis")),
                # "system": the line repeats its whole system's capacity (count it once)
                "capacity_basis": _text(row.get("capacity_basis")) or "string",
            })
    lines = _close_gaps(raw, crs, tol)
    # Cut marks per line: (distance along, exact point or None, kind, hub id).
    marks: list[list[tuple[float, tuple[float, float] | None, str, str]]] = [
        [(0.0, ln.coords[0], "end", ""), (ln.length, ln.coords[-1], "end", "")]
        for ln in lines]
    ends = [Point(xy) for ln in lines for xy in (ln.coords[0], ln.coords[-1])]
    for e, j in STRtree(lines).query(ends, predicate="dwithin", distance=_TOUCH_M).T:
        i, j = int(e) // 2, int(j)
        at = lines[j].project(ends[e])
        if j != i and _SAME_MARK_M < at < lines[j].length - _SAME_MARK_M:
            marks[j].append((at, ends[e].coords[0], "t_junction", ""))
    hub_points: list[tuple[pd.Series, list[tuple[str, tuple[float, float]]]]] = []
    systems_present = {str(a["system"]) for a in attrs}
    for _, hub in hubs.iterrows():
        present = set(hub["systems"]) & systems_present
        if present and len(present) < len(hub["systems"]):
            log.warning("interconnection %s: %s not among the lines (check the name against "
                        "the 'system' column)", hub["interconnection_id"],
                        ", ".join(sorted(set(hub["systems"]) - present)))
        if len(present) < 2:
            continue
        centre = _hub_point(hub, lines, attrs, crs)
        if centre is None:
            continue
        found: list[tuple[str, tuple[float, float]]] = []
        for system in hub["systems"]:
            own = [i for i, a in enumerate(attrs) if a["system"] == system]
            if not own:
                continue
            dist = {i: lines[i].distance(centre) for i in own}
            best = min(dist.values())
            if best > float(hub["search_km"]) * 1000.0:
                log.warning("interconnection %s: no line of %s within %g km of its point",
                            hub["interconnection_id"], system, hub["search_km"])
                continue
            for i in own:  # every parallel string as close as the nearest
                if dist[i] <= best + 100.0:
                    at = lines[i].project(centre)
                    xy = lines[i].interpolate(at).coords[0]
                    marks[i].append((at, xy, "interconnection", str(hub["interconnection_id"])))
                    found.append((system, xy))
        if len({s for s, _ in found}) >= 2:
            hub_points.append((hub, found))

    # Pieces between consecutive marks (and every tap_spacing_km).
    node_info: dict[tuple[float, float], _NodeInfo] = {}

    def note(xy: tuple[float, float], kind: str, hub: str = "") -> tuple[float, float]:
        k = _key(*xy)
        info = node_info.setdefault(k, _NodeInfo(xy))
        info.kinds.add(kind)
        if hub:
            info.hub = hub
        return k

    pieces: list[tuple[LineString, int, tuple[float, float], tuple[float, float]]] = []
    step = p.tap_spacing_km * 1000.0
    design = [str(flows["design_direction"].get(str(a["system"]), "unknown")) for a in attrs]
    # design flow along the digitised order, from the whole line (not a meandering piece)
    line_sign = [_flow_sign(ln, d) for ln, d in zip(lines, design, strict=True)]
    for i, ln in enumerate(lines):
        ms = sorted(marks[i], key=lambda m: m[0])
        merged: list[tuple[float, tuple[float, float] | None, str, str]] = []
        for m in ms:
            if merged and m[0] - merged[-1][0] <= _SAME_MARK_M:
                keep_m = merged[-1] if merged[-1][2] != "end" or m[2] == "end" else m
                if m[2] == "interconnection":
                    keep_m = (keep_m[0], keep_m[1], "interconnection", m[3])
                merged[-1] = keep_m
            else:
                merged.append(m)
        fine: list[tuple[float, tuple[float, float], str, str]] = []
        for a, b in itertools.pairwise(merged):
            fine.append((a[0], a[1] or ln.interpolate(a[0]).coords[0], a[2], a[3]))
            n = max(1, int(np.ceil((b[0] - a[0]) / step)))
            for d in np.linspace(a[0], b[0], n + 1)[1:-1]:
                fine.append((float(d), ln.interpolate(float(d)).coords[0], "tap", ""))
        last = merged[-1]
        fine.append((last[0], last[1] or ln.interpolate(last[0]).coords[0], last[2], last[3]))
        # the line's own vertices between two marks (substring, vectorised per line)
        verts = np.asarray(ln.coords)
        along = np.r_[0.0, np.cumsum(np.hypot(*np.diff(verts, axis=0).T))]
        for a, b in itertools.pairwise(fine):
            if b[0] - a[0] <= 0:
                continue
            inner = verts[(along > a[0]) & (along < b[0])]
            piece = LineString([a[1], *map(tuple, inner), b[1]])
            ka, kb = note(a[1], a[2], a[3]), note(b[1], b[2], b[3])
            if ka == kb:
                continue
            for k, m in ((ka, a), (kb, b)):
                if m[2] == "end":
                    node_info[k].ends.add(str(attrs[i]["pipeline_id"]))
            pieces.append((piece, i, ka, kb))
            node_info[ka].lines.add(i)
            node_info[kb].lines.add(i)

    keys = list(node_info)
    node_of = {k: n for n, k in enumerate(keys)}
    xy = np.array([node_info[k].xy for k in keys]) if keys else np.zeros((0, 2))
    g = nx.MultiGraph(crs=crs)
    if len(keys):
        ll = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs).to_crs(
            settings.STORAGE_CRS)
        for n, k in enumerate(keys):
            g.add_node(n, x=float(xy[n, 0]), y=float(xy[n, 1]), lon=float(ll.iloc[n].x),
                       lat=float(ll.iloc[n].y),
                       # how far the lines meeting here had to move (0: they touched)
                       snapped_m=max((raw[i].distance(Point(xy[n])) for i in node_info[k].lines),
                                     default=0.0),
                       interconnection=node_info[k].hub)
    projected = gpd.GeoSeries([pc for pc, *_ in pieces], crs=crs)
    geo = projected.to_crs(settings.STORAGE_CRS)
    country = _countries_at(projected, countries)
    flow_cache: dict[tuple[str, str, float, str], dict[str, object]] = {}
    for (_piece, i, ka, kb), geom_ll, iso in zip(pieces, geo, country, strict=True):
        u, v = node_of[ka], node_of[kb]
        la = attrs[i]
        cap = float(la["capacity_bcm_y"])  # type: ignore[arg-type]
        ck = (str(la["system"]), iso, cap, str(la["pipeline_id"]))
        if ck not in flow_cache:
            flow_cache[ck] = _flow_attrs(*ck[:2], flows, cap, ck[3])
        fa = dict(flow_cache[ck])
        # pieces keep the line's digitised order: ka is upstream of kb along the line
        sign = line_sign[i]
        flow = 0 if sign == 0 else (sign if u < v else -sign)
        if flow == 0:
            fa["reversible"] = True  # no design direction: either way at design capacity
            fa["spare_reverse_bcm_y"] = fa["spare_design_bcm_y"]
        g.add_edge(min(u, v), max(u, v), **la, **fa, country=iso, flow=flow,
                   length_km=float(GEOD.geometry_length(geom_ll)) / 1000.0,
                   geometry=geom_ll if u < v else LineString(geom_ll.coords[::-1]))
    for hub, found in hub_points:
        _link_hub(g, hub, [(s, node_of[_key(*pt)]) for s, pt in found], crs)
    for n in g.nodes:
        g.nodes[n]["kind"] = _node_kind(g, n, node_info[keys[n]])
        g.nodes[n]["systems"] = sorted({str(d["system"]) for *_, d in g.edges(n, data=True)})
    log.info("pipeline graph: %d nodes, %d edges from %d lines, %d interconnections",
             g.number_of_nodes(), g.number_of_edges(), len(gdf), len(hub_points))
    return g


def _countries_at(geo: gpd.GeoSeries, countries: gpd.GeoDataFrame | None) -> list[str]:
    """ISO3 of the country each line's midpoint is in ("" outside or without a layer)."""
    if countries is None or not len(geo):
        return [""] * len(geo)
    mid = gpd.GeoDataFrame(geometry=geo.interpolate(0.5, normalized=True), crs=geo.crs)
    hit = gpd.sjoin(mid, countries[["iso_a3", "geometry"]].to_crs(geo.crs), how="left",
                    predicate="within")
    hit = hit[~hit.index.duplicated()]
    return [c if isinstance(c, str) else "" for c in hit["iso_a3"]]


def _link_hub(g: nx.MultiGraph, hub: pd.Series, nodes: list[tuple[str, int]], crs: str
              ) -> None:
    """Interconnection edges joining a hub's systems (a star from the first system)."""
    first_system = nodes[0][0]
    heads = [n for s, n in nodes if s == first_system]
    for system, n in nodes:
        if system == first_system:
            continue
        head = min(heads, key=lambda h: np.hypot(g.nodes[h]["x"] - g.nodes[n]["x"],
                                                 g.nodes[h]["y"] - g.nodes[n]["y"]))
        if head == n:
            continue
        u, v = min(head, n), max(head, n)
        line = LineString([(g.nodes[u]["lon"], g.nodes[u]["lat"]),
                           (g.nodes[v]["lon"], g.nodes[v]["lat"])])
        direction = hub["direction"]
        flow = 0
        if direction != "both":
            src, dst = direction
            if {first_system, system} == {src, dst}:
                from_node = head if first_system == src else n
                flow = 1 if from_node == u else -1
        cap = float(hub["capacity_bcm_y"])
        g.add_edge(u, v, kind="interconnection", pipeline_id=f"IC:{hub['interconnection_id']}",
                   name=str(hub["name"]), system=f"{hub['name']} interconnection",
                   status=str(hub["status"]).capitalize(), country=str(hub["country"]),
                   capacity_bcm_y=cap, diameter_mm=float("nan"),
                   max_pressure_mpa=float("nan"), parallel_strings=float("nan"),
                   max_pressure_basis="", direction="unknown" if flow == 0 else "table",
                   flow=flow, reversible=flow == 0, reverse_capacity_bcm_y=cap if flow == 0
                   else 0.0, current_flow_bcm_y=float("nan"), reverse_flow_bcm_y=float("nan"),
                   spare_design_bcm_y=cap, spare_reverse_bcm_y=cap if flow == 0 else 0.0,
                   reversal_cost_musd=float("nan"), flow_source=str(hub["source"]),
                   length_km=float(GEOD.geometry_length(line)) / 1000.0, geometry=line)


def _node_kind(g: nx.MultiGraph, n: int, info: _NodeInfo) -> str:
    kinds, ends = info.kinds, info.ends
    if info.hub or any(d["kind"] == "interconnection" for *_, d in g.edges(n, data=True)):
        return "interconnection"
    if "t_junction" in kinds:
        return "t_junction"
    if len(ends) >= 2:
        return "end_junction"
    if g.degree(n) <= 1:
        return "end"
    return "joint" if ends else "tap"


def without_systems(graph: nx.MultiGraph, systems: Iterable[str]) -> nx.MultiGraph:
    """A read-only view of ``graph`` without the edges of ``systems`` (a corridor).

    Examples
    --------
    >>> g = nx.MultiGraph()
    >>> _ = g.add_edge(0, 1, system="A"); _ = g.add_edge(1, 2, system="B")
    >>> sorted(d["system"] for *_, d in without_systems(g, ["B"]).edges(data=True))
    ['A']
    """
    drop = set(systems)
    hidden = [(u, v, k) for u, v, k, s in graph.edges(keys=True, data="system") if s in drop]
    return nx.restricted_view(graph, [], hidden)


def system_capacity(capacities: Sequence[float], bases: Sequence[str]) -> float:
    """Capacity of parallel strings of one system, counted once (bcm/y; NaN: unknown).

    A ``system``-basis figure repeats the whole system's capacity on each string (GEM
    does so for some systems, ``planner/data/pipeline_systems.csv``), so the largest
    counts once; ``string``-basis figures are each string's own and add up (the rule of
    :func:`planner.curation.pipeline_systems`).

    Examples
    --------
    >>> system_capacity([60.2, 60.2, 60.2], ["system"] * 3)
    60.2
    >>> system_capacity([15.0, 15.0, 25.0], ["string"] * 3)
    55.0
    """
    caps = np.asarray(capacities, dtype=float)
    is_system = np.asarray([b == "system" for b in bases], dtype=bool)
    known = np.isfinite(caps)
    parts = []
    if (known & is_system).any():
        parts.append(float(caps[known & is_system].max()))
    if (known & ~is_system).any():
        parts.append(float(caps[known & ~is_system].sum()))
    return float(sum(parts)) if parts else float("nan")


def spare_capacity(data: Mapping[str, object], from_node: int, to_node: int) -> float:
    """Capacity left for a new flow on an edge from ``from_node`` to ``to_node`` (bcm/y).

    0 where flow that way is not allowed (against the design direction of a line that
    cannot be reversed); NaN where the capacity is not known.

    Examples
    --------
    >>> e = {"flow": 1, "reversible": False, "spare_design_bcm_y": 10.0,
    ...      "spare_reverse_bcm_y": 0.0}
    >>> spare_capacity(e, 0, 1), spare_capacity(e, 1, 0)
    (10.0, 0.0)
    """
    flow = int(data["flow"])  # type: ignore[call-overload]
    along = 1 if from_node < to_node else -1
    if flow == 0 or along == flow:
        return float(data["spare_design_bcm_y"])  # type: ignore[arg-type]
    if not data.get("reversible", False):
        return 0.0
    return float(data["spare_reverse_bcm_y"])  # type: ignore[arg-type]

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


#: New links already solved on a surface, by (place cell, reach, the nodes and where they
#: are): the corridor graphs of a study share their nodes, and every destination of a study
#: starts from the same supply point, so each place's links are solved once per surface.
_LINKS: weakref.WeakKeyDictionary[CostSurface, dict[tuple[object, ...], dict[
    int, tuple[float, np.ndarray]]]] = weakref.WeakKeyDictionary()


def _links(surface: CostSurface, place: Place, graph: nx.MultiGraph, max_link_km: float,
           ) -> dict[int, tuple[float, np.ndarray]]:
    """New-link cost (km-eq) and cell path from a place to each network node within reach."""
    px, py = surface.rowcol_to_xy(np.array([place.row]), np.array([place.col]))
    reach = max_link_km * 1000.0
    cand = tuple((n, float(d["x"]), float(d["y"])) for n, d in graph.nodes(data=True)
                 if np.hypot(d["x"] - px[0], d["y"] - py[0]) <= reach)
    if not cand:
        return {}
    memo = _LINKS.setdefault(surface, {})
    key = (place.row, place.col, max_link_km, cand)
    if key not in memo:
        memo[key] = _solve_links(surface, place, graph, [n for n, _, _ in cand], reach)
    return memo[key]


def _solve_links(surface: CostSurface, place: Place, graph: nx.MultiGraph, cand: list,
                 reach: float) -> dict[int, tuple[float, np.ndarray]]:
    res = surface.resolution_m
    h, w = surface.shape
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
    ``reuse_factor`` × km, against the design flow at ``reverse_factor`` more (only on
    lines the graph marks ``reversible``, and not at all without ``allow_reverse``),
    pieces whose known capacity left in the direction used (:func:`spare_capacity`) is
    below ``volume_bcm_y`` left out; new links from each place to the network nodes within
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

    dg, small, lock = _reuse_arcs(graph, p, volume_bcm_y, allow_reverse)
    o_links = _links(surface, o, graph, p.max_link_km)
    d_links = _links(surface, d, graph, p.max_link_km)
    # The arcs are shared by every route on this graph (copying them costs more than the
    # search): this route's own links are added, searched and removed under a lock.
    with lock:
        try:
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
                raise UnreachableError(_no_path_reason(
                    dg, small, o.name, d.name, volume_bcm_y, p.max_link_km, require_reuse)
                ) from exc
            arcs = [dg[a][b] for a, b in itertools.pairwise(nodes)]
        finally:
            dg.remove_nodes_from([n for n in ("origin", "destination") if n in dg])

    legs: list[dict[str, object]] = []
    for e in arcs:
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



_Arcs = tuple[nx.DiGraph, list[tuple[object, object, dict[str, object]]], threading.Lock]
#: Directed arcs of the existing network already built for a graph, by the parameters,
#: volume and reverse flow allowed: the same for every origin and destination.
#: A graph must not change once routes have used it (the study's graphs are built once).
_ARCS: weakref.WeakKeyDictionary[nx.MultiGraph, dict[tuple[object, ...], _Arcs]] = (
    weakref.WeakKeyDictionary())
_ARCS_LOCK = threading.Lock()
_Options = dict[tuple[object, object], dict[str, dict[str, object]]]
_OPTIONS: weakref.WeakKeyDictionary[nx.MultiGraph, dict[tuple[NetworkParams, bool], _Options]] = (
    weakref.WeakKeyDictionary())


def _reuse_arcs(graph: nx.MultiGraph, p: NetworkParams, volume_bcm_y: float | None,
                allow_reverse: bool) -> _Arcs:
    """The directed arcs :func:`reuse_route` may use (shared: modify only under the lock
    returned with them) and the pieces left out for too little spare capacity."""
    key = (p, volume_bcm_y, allow_reverse)
    with _ARCS_LOCK:
        memo = _ARCS.setdefault(graph, {})
        if key not in memo:
            memo[key] = _build_reuse_arcs(graph, p, volume_bcm_y, allow_reverse)
        return memo[key]


def _build_reuse_arcs(graph: nx.MultiGraph, p: NetworkParams, volume_bcm_y: float | None,
                      allow_reverse: bool) -> _Arcs:
    per_graph = _OPTIONS.setdefault(graph, {})
    if (p, allow_reverse) not in per_graph:  # the same for every volume
        per_graph[(p, allow_reverse)] = _reuse_options(graph, p, allow_reverse)
    options = per_graph[(p, allow_reverse)]
    dg = nx.DiGraph()
    small: list[tuple[object, object, dict[str, object]]] = []
    for (a, b), per_system in options.items():
        ranked = sorted(per_system.values(), key=lambda e: float(e["cost"]))  # type: ignore[arg-type]
        fits = [e for e in ranked if volume_bcm_y is None
                or not np.isfinite(float(e["spare"]))  # type: ignore[arg-type]
                or float(e["spare"]) >= volume_bcm_y]  # type: ignore[arg-type]
        if fits:
            dg.add_edge(a, b, **fits[0])
        else:
            dg.add_nodes_from((a, b))  # still a place a new link may reach
            small.append((a, b, ranked[0]))
    if volume_bcm_y is not None:
        log.info("reuse: %d directed pieces with less than %.1f bcm/y spare left out",
                 len(small), volume_bcm_y)
    return dg, small, threading.Lock()


def _reuse_options(graph: nx.MultiGraph, p: NetworkParams, allow_reverse: bool) -> _Options:
    """Per directed node pair, the reuse options of each system (not yet filtered by the
    capacity a route needs)."""
    reuse = {s.lower() for s in p.reuse_statuses}
    # Directed options per node pair, one per system (parallel strings of a system merged);
    # the cheapest system with enough capacity left becomes the arc.
    options: dict[tuple[object, object], dict[str, dict[str, object]]] = {}
    for u, v, data in graph.edges(data=True):
        if str(data["status"]).lower() not in reuse:
            continue
        cap = float(data.get("capacity_bcm_y", float("nan")))
        base = p.reuse_factor * data["length_km"]
        lo, hi = min(u, v), max(u, v)  # geometry and flow are stored from lo to hi
        for a, b, along in ((lo, hi, 1), (hi, lo, -1)):
            reverse = data["flow"] != 0 and along != data["flow"]
            # against the design flow only where the line-flows table allows it
            if reverse and not (allow_reverse and data.get("reversible", True)):
                continue
            spare = spare_capacity(data, a, b) if "spare_design_bcm_y" in data else cap
            cost = base * (p.reverse_factor if reverse else 1.0)
            per_system = options.setdefault((a, b), {})
            cur = per_system.get(str(data["system"]))
            string = (cap, str(data.get("capacity_basis", "string")))
            if cur is None or cost < float(cur["cost"]) - 1e-9:  # type: ignore[arg-type]
                per_system[str(data["system"])] = {
                    "cost": cost, "kind": "reuse", "data": data, "reverse": reverse,
                    "forward": a == lo, "ids": [data["pipeline_id"]], "capacity": cap,
                    "spare": spare, "strings_capacity": [string]}
            elif abs(cost - float(cur["cost"])) <= 1e-9:  # type: ignore[arg-type]
                # parallel strings of one system: own capacities add up, a repeated
                # system figure counts once
                cur["ids"].append(data["pipeline_id"])  # type: ignore[attr-defined]
                members: list[tuple[float, str]] = cur["strings_capacity"]  # type: ignore[assignment]
                members.append(string)
                total = system_capacity([c for c, _ in members], [b for _, b in members])
                cur["capacity"] = total
                spares = [c for c in (float(cur["spare"]), spare)  # type: ignore[arg-type]
                          if np.isfinite(c)]
                flowing = float(data.get("current_flow_bcm_y", float("nan")))
                if not np.isfinite(flowing) or "spare_design_bcm_y" not in data:
                    flowing = 0.0
                # a reverse capacity is the system's, not one per string; the design way,
                # what the strings carry together less today's flow (counted once)
                cur["spare"] = (float("nan") if not spares else
                                float(max(spares)) if reverse else total - flowing)
    return options


def _no_path_reason(dg: nx.DiGraph, small: list[tuple[object, object, dict[str, object]]],
                    origin: str, destination: str, volume: float | None, max_link_km: float,
                    require_reuse: bool) -> str:
    """Why no route was found: too little capacity left (naming the lines), or no path."""
    if small:
        full = dg.copy()
        full.add_edges_from(small)
        try:
            nodes = nx.dijkstra_path(full, "origin", "destination", weight="cost")
        except nx.NetworkXNoPath:
            nodes = []
        short: dict[str, float] = {}
        for a, b in itertools.pairwise(nodes):
            e = full[a][b]
            if not dg.has_edge(a, b) and e.get("kind") == "reuse":
                name = f"{e['data']['system']}{' reversed' if e['reverse'] else ''}"
                short[name] = min(short.get(name, float("inf")), float(e["spare"]))
        if short:
            left = "; ".join(f"{k}: {v:.2f} bcm/y left" for k, v in short.items())
            return (f"{destination!r} is connected to {origin!r} through the existing "
                    f"network, but no route there has {volume:g} bcm/y of capacity left "
                    f"({left})")
    return (f"{destination!r} cannot be reached from {origin!r}"
            + (" through the existing network (new links are searched within "
               f"{max_link_km:g} km of each place)" if require_reuse else ""))


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


def flow_digraph(graph: nx.MultiGraph, statuses: Sequence[str] = ("operating",)
                 ) -> nx.DiGraph:
    """The directions gas may take: an arc u → v for every edge that can carry a new flow
    that way (:func:`spare_capacity` not 0), with ``spare_bcm_y`` (summed over parallel
    edges; NaN when any is unknown), ``length_km`` and ``system``.

    Examples
    --------
    >>> g = nx.MultiGraph()
    >>> _ = g.add_edge(0, 1, flow=1, reversible=False, spare_design_bcm_y=5.0,
    ...                spare_reverse_bcm_y=0.0, length_km=10.0, system="A", status="Operating")
    >>> sorted(flow_digraph(g).edges)
    [(0, 1)]
    """
    keep = {s.lower() for s in statuses}
    dg = nx.DiGraph()
    dg.add_nodes_from(graph.nodes(data=True))
    for u, v, d in graph.edges(data=True):
        if str(d.get("status", "")).lower() not in keep:
            continue
        for a, b in ((u, v), (v, u)):
            spare = spare_capacity(d, a, b)
            if spare == 0:
                continue
            if dg.has_edge(a, b):
                dg[a][b]["spare_bcm_y"] = dg[a][b]["spare_bcm_y"] + spare
            else:
                dg.add_edge(a, b, spare_bcm_y=spare, length_km=d["length_km"],
                            system=d["system"])
    return dg


def junction_summary(graph: nx.MultiGraph) -> pd.DataFrame:
    """Nodes per kind (:data:`NODE_KINDS`) and how many joined a near miss (an end moved
    by more than 1 m to meet).

    Examples
    --------
    >>> g = nx.MultiGraph()
    >>> g.add_node(0, kind="t_junction", snapped_m=120.0)
    >>> g.add_node(1, kind="end", snapped_m=0.0)
    >>> junction_summary(g).set_index("kind").loc["t_junction"].to_dict()
    {'nodes': 1, 'near_miss_joined': 1}
    """
    joins = {*JUNCTION_KINDS, "joint"}
    rows = [(k, int(sum(1 for _, d in graph.nodes(data=True) if d.get("kind") == k)),
             int(sum(1 for _, d in graph.nodes(data=True)
                     if k in joins and d.get("kind") == k and d.get("snapped_m", 0.0) > 1.0)))
            for k in NODE_KINDS]
    return pd.DataFrame(rows, columns=["kind", "nodes", "near_miss_joined"])


def component_summary(graph: nx.MultiGraph, top: int = 10) -> pd.DataFrame:
    """The connected components, largest first: nodes, edges, km, countries and systems."""
    rows = []
    for i, comp in enumerate(sorted(nx.connected_components(graph), key=len, reverse=True)):
        sub = graph.subgraph(comp)
        systems = sorted({str(d["system"]) for *_, d in sub.edges(data=True)
                          if d.get("kind") != "interconnection"})
        countries = sorted({str(d.get("country", "")) for *_, d in sub.edges(data=True)} - {""})
        rows.append({"component": i, "nodes": sub.number_of_nodes(),
                     "edges": sub.number_of_edges(),
                     "km": round(sum(d["length_km"] for *_, d in sub.edges(data=True)), 1),
                     "countries": ", ".join(countries), "systems": len(systems),
                     "some_systems": ", ".join(systems[:4]) + (" …" if len(systems) > 4 else "")})
    return pd.DataFrame(rows).head(top)


def places_reached(graph: nx.MultiGraph, places: Mapping[str, PlaceLike],
                   supply: Sequence[str], reach_km: float = settings.REACH_KM
                   ) -> pd.DataFrame:
    """Which places the network reaches, and which the supply points can feed through it.

    A place is *on the network* when a node is within ``reach_km``; it is *fed* when gas
    can flow from a node within ``reach_km`` of a supply point (any of ``supply``, names in
    ``places``) to a node within ``reach_km`` of the place along the allowed directions
    (:func:`flow_digraph`).

    Returns
    -------
    pandas.DataFrame
        One row per place: ``place``, ``supply`` (bool), ``nearest_km``, ``component``
        (index in :func:`component_summary`), ``on_network`` and ``fed_from`` (the supply
        points that can feed it, comma separated).
    """
    if graph.number_of_nodes() == 0:
        return pd.DataFrame(columns=["place", "supply", "nearest_km", "component",
                                     "on_network", "fed_from"])
    ids = list(graph.nodes)
    lonlat = np.array([(graph.nodes[n]["lon"], graph.nodes[n]["lat"]) for n in ids])
    comp_of = {}
    for i, comp in enumerate(sorted(nx.connected_components(graph), key=len, reverse=True)):
        comp_of.update(dict.fromkeys(comp, i))
    near: dict[str, tuple[int, float, set[int]]] = {}  # nearest, its km, nodes in reach
    for name, pl in places.items():
        lon, lat = (pl.x, pl.y) if isinstance(pl, Point) else pl
        _, _, dist = GEOD.inv(np.full(len(ids), lon), np.full(len(ids), lat), lonlat[:, 0],
                              lonlat[:, 1])
        k = int(np.argmin(dist))
        within = {ids[j] for j in np.flatnonzero(np.asarray(dist) <= reach_km * 1000.0)}
        near[name] = (ids[k], float(dist[k]) / 1000.0, within)
    dg = flow_digraph(graph)
    fed: dict[str, list[str]] = {name: [] for name in places}
    for s in supply:
        if s not in near or not near[s][2]:
            continue
        # gas enters at any line within reach of the supply point
        down = set().union(*(nx.descendants(dg, n) | {n} for n in near[s][2] if n in dg))
        for name, (_, _, within) in near.items():
            if name != s and within & down:
                fed[name].append(s)
    return pd.DataFrame([{"place": name, "supply": name in supply, "nearest_km": round(km, 1),
                          "component": comp_of[n], "on_network": km <= reach_km,
                          "fed_from": ", ".join(fed[name])}
                         for name, (n, km, _) in near.items()])


#: Node kinds drawn on the map and counted as junctions.
JUNCTION_KINDS = ("interconnection", "t_junction", "end_junction")


def junctions_frame(graph: nx.MultiGraph) -> gpd.GeoDataFrame:
    """The junction nodes (:data:`JUNCTION_KINDS`) as points, for maps and files.

    Columns: ``node``, ``kind``, ``systems`` (comma separated), ``interconnection``,
    ``snapped_m``; and one line per interconnection link (``kind`` "interconnection link",
    ``name``, ``length_km``). EPSG:4326.

    Examples
    --------
    >>> g = nx.MultiGraph()
    >>> g.add_node(0, lon=60.0, lat=45.0, kind="t_junction", systems=["A", "B"],
    ...            interconnection="", snapped_m=0.0)
    >>> junctions_frame(g)[["kind", "systems"]].to_dict("records")
    [{'kind': 't_junction', 'systems': 'A, B'}]
    """
    rows: list[dict[str, object]] = [
        {"node": n, "kind": d["kind"], "systems": ", ".join(d.get("systems", [])),
         "interconnection": d.get("interconnection", ""), "snapped_m": d.get("snapped_m", 0.0),
         "name": "", "length_km": float("nan"), "geometry": Point(d["lon"], d["lat"])}
        for n, d in graph.nodes(data=True) if d.get("kind") in JUNCTION_KINDS]
    for u, _v, d in graph.edges(data=True):
        if d.get("kind") == "interconnection":
            rows.append({"node": u, "kind": "interconnection link", "systems": "",
                         "interconnection": str(d["pipeline_id"]).removeprefix("IC:"),
                         "snapped_m": 0.0, "name": d["name"], "length_km": d["length_km"],
                         "geometry": d["geometry"]})
    cols = ["node", "kind", "systems", "interconnection", "snapped_m", "name", "length_km",
            "geometry"]
    return gpd.GeoDataFrame(rows, columns=cols, geometry="geometry", crs=settings.STORAGE_CRS)


#: Graphs built by :func:`operating_graph`, with the frames they were built from (held, so
#: that their ids stay unique while cached).
_GRAPHS: dict[tuple[object, ...], tuple[object, object, nx.MultiGraph]] = {}


def operating_graph(pipelines: gpd.GeoDataFrame, *, countries: gpd.GeoDataFrame | None = None,
                    interconnections: pd.DataFrame | None = None,
                    line_flows: pd.DataFrame | None = None) -> nx.MultiGraph:
    """:func:`pipeline_graph` of the operating lines, built once per set of inputs (the
    runner, the map and the CLI share it within a run). Treat the result as read-only."""
    def digest(df: pd.DataFrame | None) -> str:
        return "" if df is None else df.astype(str).to_csv()

    key = (id(pipelines), id(countries), digest(interconnections), digest(line_flows))
    hit = _GRAPHS.get(key)
    if hit is None or hit[0] is not pipelines or hit[1] is not countries:
        if len(_GRAPHS) >= 2:
            _GRAPHS.pop(next(iter(_GRAPHS)))
        def build() -> nx.MultiGraph:
            return pipeline_graph(pipelines, statuses=["operating"], countries=countries,
                                  interconnections=interconnections, line_flows=line_flows)

        if settings.USE_CACHE:  # and across runs, in the persistent cache
            from planner.cache import cache_key, cached, fingerprint_frame

            disk_key = cache_key("pipeline-graph", {
                "pipelines": fingerprint_frame(pipelines),
                "countries": fingerprint_frame(countries),
                "tables": [fingerprint_frame(interconnections), fingerprint_frame(line_flows)]})
            graph, _ = cached("pipeline-graph", disk_key, build)
        else:
            graph = build()
        _GRAPHS[key] = hit = (pipelines, countries, graph)
    return hit[2]


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
    "JUNCTION_KINDS",
    "NODE_KINDS",
    "NetworkParams",
    "ReuseRoute",
    "component_summary",
    "flow_digraph",
    "junction_summary",
    "junctions_frame",
    "network_summary",
    "operating_graph",
    "pipeline_graph",
    "places_near_network",
    "places_reached",
    "reuse_route",
    "spare_capacity",
    "system_capacity",
    "without_systems",
]
