"""The candidate network of the system plan (as SimCCS builds one, plus existing lines).

Nodes are the supply points, the destinations, nodes of the existing network (junctions,
and the nearest node of each system near every supply point or destination) and a few
Steiner-like hubs (the centroids of the Delaunay triangles over supply points and
destinations). Arcs are

- **existing**: pieces of operating lines from :func:`planner.network.pipeline_graph`
  (read through the one adapter :func:`existing_arcs`), each direction with its own spare
  capacity from the graph (published current flows subtracted); against the design flow
  only where the line may be reversed, and then marked ``reverse``;
- **new**: least-cost corridors over the study's cost surface between the points, from
  :func:`planner.routing.candidate_network` (Delaunay triangulation, one least-cost path
  per edge, merged where paths share cells, so shared stretches and junctions appear).

Exact reductions (``reduce=True``): chains of existing pieces of one system through nodes
nothing else touches are contracted into one arc (capacity: the smallest along it), and
dead ends (non-terminal nodes of degree one) are pruned; neither changes the optimum.
Contraction keeps the smallest capacity along the chain in each direction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from shapely.geometry import LineString, MultiPoint, Point
from shapely.ops import linemerge

from planner import settings
from planner.costsurface import CostSurface
from planner.geodesy import GEOD
from planner.network import spare_capacity
from planner.routing import RoutingError, candidate_network, delaunay_edges, locate
from planner.terrain_classes import TerrainClassifier

log = logging.getLogger(__name__)

#: Columns of :attr:`PlanNetwork.arcs`.
ARC_COLUMNS = ["arc_id", "u", "v", "kind", "system", "length_km", "cost_km_eq",
               "capacity_bcm_y", "capacity_uv_bcm_y", "capacity_vu_bcm_y", "design",
               "km_by_country", "countries", "diameter_mm", "max_pressure_mpa", "strings",
               "terrain_km", "geometry"]


@dataclass
class PlanNetwork:
    """Nodes and arcs the plan chooses from.

    Attributes
    ----------
    nodes : pandas.DataFrame
        Indexed by node name: ``lon``, ``lat``, ``kind`` (supply, destination, existing,
        junction, hub), ``demand_bcm_y`` (0 except at destinations), ``supply`` (bool).
    arcs : geopandas.GeoDataFrame
        One row per undirected arc (columns :data:`ARC_COLUMNS`): ``kind`` new|existing,
        ``system`` (existing lines), ``length_km`` (geodesic), ``cost_km_eq`` (cost
        surface, new arcs), for existing arcs ``capacity_uv_bcm_y`` and
        ``capacity_vu_bcm_y`` (capacity left for a new flow from ``u`` to ``v`` and from
        ``v`` to ``u``; 0 where the line may not carry gas that way) and
        ``capacity_bcm_y`` (the larger of the two; a network without the per-direction
        columns offers it both ways), ``design`` (+1: design flow from ``u`` to ``v``,
        -1: from ``v`` to ``u``, 0: unknown), ``km_by_country`` (dict ISO3 → km),
        ``countries``, for existing lines the smallest known ``diameter_mm``,
        ``max_pressure_mpa`` and parallel ``strings`` along the arc (NaN where unknown),
        for new arcs ``terrain_km`` (dict terrain class → km,
        :mod:`planner.terrain_classes`: the pipe CAPEX's terrain factor), geometry
        (EPSG:4326, digitised from ``u`` to ``v``).
    """

    nodes: pd.DataFrame
    arcs: gpd.GeoDataFrame

    def restricted(self, allowed: Sequence[str] | None = None,
                   excluded: Sequence[str] = (), tolerance_km: float = 1.0) -> PlanNetwork:
        """The network without arcs that cross an excluded country (or any country not in
        ``allowed``) for more than ``tolerance_km``.

        Examples
        --------
        >>> import geopandas as gpd
        >>> nodes = pd.DataFrame({"lon": [0, 1], "lat": [0, 0]}, index=["a", "b"])
        >>> arcs = gpd.GeoDataFrame({"u": ["a"], "v": ["b"],
        ...                          "km_by_country": [{"AAA": 50.0, "BBB": 60.0}]})
        >>> len(PlanNetwork(nodes, arcs).restricted(excluded=["BBB"]).arcs)
        0
        """
        allow = {a.upper() for a in allowed} if allowed is not None else None
        excl = {e.upper() for e in excluded}

        def ok(kmc: dict[str, float]) -> bool:
            for c, km in kmc.items():
                if km <= tolerance_km:
                    continue
                if c in excl or (allow is not None and c not in allow):
                    return False
            return True

        keep = [ok(k) for k in self.arcs["km_by_country"]]
        return PlanNetwork(self.nodes.copy(), self.arcs.loc[keep].reset_index(drop=True))


# --- the existing network: one adapter to planner.network ---------------------------------


def _directed_spare(d: dict, a: int, b: int) -> tuple[float, bool]:
    """Capacity left on one graph edge from node ``a`` to ``b`` (bcm/y; NaN: unknown) and
    whether that way is against the design flow. Edges without the line-flows attributes
    (a graph built without them) offer their ``capacity_bcm_y`` either way."""
    flow = int(d.get("flow", 0) or 0)
    along = 1 if a < b else -1
    reverse = flow != 0 and along != flow
    if "spare_design_bcm_y" not in d:
        return float(d.get("capacity_bcm_y", np.nan)), reverse
    return spare_capacity(d, a, b), reverse


def existing_arcs(graph: nx.MultiGraph, pipelines: pd.DataFrame | None = None, *,
                  spare_share: float = 1.0, spare_bcm_y: dict[str, float] | None = None,
                  unknown_capacity_bcm_y: float = 2.0) -> gpd.GeoDataFrame:
    """Arcs of the existing network from :func:`planner.network.pipeline_graph`.

    This is the only place the plan reads the pipeline graph. Parallel pieces of one
    system between the same nodes become one arc. Each direction has its own capacity,
    the graph's capacity left for a new flow that way (:func:`planner.network.
    spare_capacity`: design capacity less the published current flow; against the design
    flow only where the line may be reversed, the capacity prepared for reverse flow less
    the published reverse flow, else 0). In the design direction the capacities the layer
    states per ``string`` add up, capacities stated for the whole ``system`` do not; a
    reverse capacity is the system's (not added up over strings). A capacity the sources
    do not give (design capacity unknown, or a reversible line's reverse capacity not
    published) is ``unknown_capacity_bcm_y``. Study overrides apply to the directions a
    line may carry gas, never opening a closed one: ``spare_bcm_y[system]`` replaces the
    capacity, otherwise it is multiplied by ``spare_share``.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns of :data:`ARC_COLUMNS` (``km_by_country`` empty: see
        :func:`with_countries`); ``u``, ``v`` are ``"e<node>"`` with ``u`` the lower node.

    Examples
    --------
    >>> from shapely.geometry import LineString
    >>> g = nx.MultiGraph()
    >>> _ = g.add_edge(0, 1, system="A", flow=1, reversible=False, length_km=10.0,
    ...                spare_design_bcm_y=8.0, spare_reverse_bcm_y=0.0, pipeline_id="p",
    ...                geometry=LineString([(0, 0), (1, 0)]))
    >>> a = existing_arcs(g)
    >>> a[["u", "v", "capacity_uv_bcm_y", "capacity_vu_bcm_y", "design"]].values.tolist()
    [['e0', 'e1', 8.0, 0.0, 1]]
    """
    spare = spare_bcm_y or {}
    basis: dict[str, str] = {}
    if pipelines is not None and "capacity_basis" in pipelines:
        basis = dict(zip(pipelines["pipeline_id"].astype(str),
                         pipelines["capacity_basis"].astype(str), strict=True))
    groups: dict[tuple[int, int, str], list[dict]] = {}
    for u, v, data in graph.edges(data=True):
        lo, hi = min(u, v), max(u, v)
        groups.setdefault((lo, hi, str(data.get("system", ""))), []).append(data)
    rows = []
    for (lo, hi, system), parts in groups.items():
        caps = []
        for a, b in ((lo, hi), (hi, lo)):
            string_sum, system_max, allowed, unknown = 0.0, 0.0, False, False
            for d in parts:
                cap, reverse = _directed_spare(d, a, b)
                if reverse and not d.get("reversible", "spare_design_bcm_y" not in d):
                    continue  # against the design flow of a line that cannot be reversed
                allowed = True
                used = float(d.get("reverse_flow_bcm_y" if reverse else "current_flow_bcm_y",
                                   np.nan))
                if not np.isfinite(cap) or (cap <= 0 and not np.isfinite(used)):
                    unknown = True  # no capacity given that way
                elif cap <= 0:
                    continue  # full: the published flows use it all
                elif not reverse and basis.get(str(d.get("pipeline_id")),
                                               "system") == "string":
                    string_sum += cap
                else:
                    system_max = max(system_max, cap)
            cap = max(string_sum, system_max)
            if cap <= 0 and unknown:
                cap = unknown_capacity_bcm_y
            if allowed:
                cap = spare[system] if system in spare else cap * spare_share
            caps.append(float(cap) if allowed else 0.0)

        def known(col: str, parts: list[dict] = parts) -> float:
            vals = [float(d.get(col, np.nan)) for d in parts]
            vals = [v for v in vals if np.isfinite(v)]
            return min(vals) if vals else float("nan")

        strings = known("parallel_strings")
        if not np.isfinite(strings):
            strings = float(len({d.get("pipeline_id") for d in parts}))
        first = parts[0]
        rows.append({
            "u": f"e{lo}", "v": f"e{hi}", "kind": "existing", "system": system,
            "length_km": float(first["length_km"]), "cost_km_eq": np.nan,
            "capacity_bcm_y": max(caps), "capacity_uv_bcm_y": caps[0],
            "capacity_vu_bcm_y": caps[1], "design": int(first.get("flow", 0) or 0),
            "diameter_mm": known("diameter_mm"), "max_pressure_mpa": known("max_pressure_mpa"),
            "strings": strings, "geometry": first["geometry"],
        })
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=settings.STORAGE_CRS)
    if out.empty:
        out = gpd.GeoDataFrame(columns=[c for c in ARC_COLUMNS if c != "arc_id"],
                               geometry="geometry", crs=settings.STORAGE_CRS)
    return out


def with_countries(arcs: gpd.GeoDataFrame, countries: gpd.GeoDataFrame,
                   crs: str = settings.STUDY_CRS) -> gpd.GeoDataFrame:
    """Add ``km_by_country`` (ISO3 → geodesic km) and ``countries`` (by km, descending).

    Pieces outside every country polygon (sea, gaps) count as ``"---"``.
    """
    out = arcs.copy().reset_index(drop=True)
    if out.empty:
        out["km_by_country"] = []
        out["countries"] = []
        return out
    lines = gpd.GeoDataFrame({"_i": np.arange(len(out))}, geometry=out.geometry.values,
                             crs=out.crs)
    parts = gpd.overlay(lines, countries[["iso_a3", "geometry"]].to_crs(out.crs),
                        how="intersection", keep_geom_type=True)
    parts["km"] = [float(GEOD.geometry_length(g)) / 1000.0 for g in parts.geometry]
    kmc: list[dict[str, float]] = [{} for _ in range(len(out))]
    for i, iso, km in zip(parts["_i"], parts["iso_a3"], parts["km"], strict=True):
        kmc[int(i)][str(iso)] = kmc[int(i)].get(str(iso), 0.0) + float(km)
    for i, total in enumerate(out["length_km"]):
        rest = float(total) - sum(kmc[i].values())
        if rest > 0.5:
            kmc[i]["---"] = rest
        # scale to the arc's length so rows add up exactly
        s = sum(kmc[i].values())
        if s > 0:
            kmc[i] = {k: v * float(total) / s for k, v in kmc[i].items()}
    out["km_by_country"] = kmc
    out["countries"] = [", ".join(k for k, _ in sorted(d.items(), key=lambda kv: -kv[1])
                                  if k != "---") for d in kmc]
    return out


def directed_capacity(arc: Mapping[str, Any]) -> tuple[float, float]:
    """An existing arc's capacity from ``u`` to ``v`` and from ``v`` to ``u`` (bcm/y): its
    ``capacity_uv_bcm_y``/``capacity_vu_bcm_y``, or ``capacity_bcm_y`` both ways where a
    network has no per-direction figure.

    Examples
    --------
    >>> directed_capacity({"capacity_bcm_y": 5.0})
    (5.0, 5.0)
    >>> directed_capacity({"capacity_bcm_y": 5.0, "capacity_uv_bcm_y": 5.0,
    ...                    "capacity_vu_bcm_y": 0.0})
    (5.0, 0.0)
    """
    both = float(arc.get("capacity_bcm_y", np.nan))
    out = []
    for col in ("capacity_uv_bcm_y", "capacity_vu_bcm_y"):
        val = arc.get(col, np.nan)
        val = float(val) if val is not None and pd.notna(val) else np.nan
        out.append(val if np.isfinite(val) else both)
    return out[0], out[1]


# --- reductions -----------------------------------------------------------------------------


def _series_chains(arcs: pd.DataFrame, removable: set[object],
                   same_chain: Callable[[pd.Series, pd.Series], bool] | None = None
                   ) -> list[list[tuple[object, object, object]]]:
    """Chains of ``arcs`` joined in series through ``removable`` nodes: lists of
    ``(index, from, to)`` oriented along the chain; ``same_chain(first, next)`` may stop a
    chain (e.g. where the system changes)."""
    g = nx.MultiGraph()
    for i, r in arcs.iterrows():
        g.add_edge(r["u"], r["v"], key=i)
    done: set[object] = set()
    chains = []
    for i, r in arcs.iterrows():
        if i in done:
            continue
        chain = [(i, r["u"], r["v"])]
        done.add(i)
        for forward in (True, False):
            end = chain[-1][2] if forward else chain[0][1]
            while end in removable:
                nxt = [(k, a, b) for a, b, k in g.edges(end, keys=True) if k not in done]
                if len(nxt) != 1 or (same_chain is not None
                                     and not same_chain(r, arcs.loc[nxt[0][0]])):
                    break  # a branch, a cycle closed on itself, or another system
                k, a, b = nxt[0]
                other_end = b if a == end else a
                done.add(k)
                if forward:
                    chain.append((k, end, other_end))
                else:
                    chain.insert(0, (k, other_end, end))
                end = other_end
        chains.append(chain)
    return chains


def _chain_geometry(geoms: list[LineString]) -> LineString:
    """One line through pieces already oriented along their chain."""
    merged = linemerge(geoms)
    return merged if isinstance(merged, LineString) else LineString(
        [c for gm in geoms for c in gm.coords])


def contract_chains(arcs: gpd.GeoDataFrame, keep: set[str]) -> gpd.GeoDataFrame:
    """Merge chains of existing arcs of one system through nodes of degree two that are not
    in ``keep``: length adds up, capacity is the smallest along the chain (exact).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import LineString
    >>> a = gpd.GeoDataFrame({"u": ["e0", "e1"], "v": ["e1", "e2"], "kind": "existing",
    ...     "system": "S", "length_km": [10.0, 5.0], "capacity_bcm_y": [8.0, 6.0],
    ...     "design": [1, 1], "cost_km_eq": np.nan},
    ...     geometry=[LineString([(0, 0), (1, 0)]), LineString([(1, 0), (2, 0)])])
    >>> c = contract_chains(a, keep={"e0", "e2"})
    >>> c[["u", "v", "length_km", "capacity_bcm_y", "design"]].values.tolist()
    [['e0', 'e2', 15.0, 6.0, 1]]
    """
    ex = arcs[arcs["kind"] == "existing"]
    other = arcs[arcs["kind"] != "existing"]
    deg = pd.concat([arcs["u"], arcs["v"]]).value_counts()
    ex_deg = pd.concat([ex["u"], ex["v"]]).value_counts()
    removable = {n for n, d in deg.items()
                 if d == 2 and ex_deg.get(n, 0) == 2 and n not in keep}
    rows = {i: r for i, r in ex.iterrows()}
    out = []
    for chain in _series_chains(ex, removable,
                                lambda first, nxt: nxt["system"] == first["system"]):
        r = rows[chain[0][0]]
        if len(chain) == 1:
            out.append(r.to_dict())
            continue
        geoms, length, designs = [], 0.0, []
        caps_uv: list[float] = []
        caps_vu: list[float] = []
        line_attrs: dict[str, list[float]] = {"diameter_mm": [], "max_pressure_mpa": [],
                                              "strings": []}
        for k, a, _b in chain:
            rk = rows[k]
            same = rk["u"] == a
            geoms.append(rk.geometry if same else LineString(rk.geometry.coords[::-1]))
            length += float(rk["length_km"])
            # per direction along the chain (a piece digitised the other way swaps them)
            uv, vu = directed_capacity(rk)
            caps_uv.append(uv if same else vu)
            caps_vu.append(vu if same else uv)
            for col, vals in line_attrs.items():
                val = float(rk.get(col, np.nan))
                if np.isfinite(val):
                    vals.append(val)
            designs.append(int(rk["design"]) * (1 if same else -1))
        geom = _chain_geometry(geoms)
        d = {**r.to_dict(), "u": chain[0][1], "v": chain[-1][2], "length_km": length,
             "capacity_bcm_y": max(min(caps_uv), min(caps_vu)),
             "capacity_uv_bcm_y": min(caps_uv),
             "capacity_vu_bcm_y": min(caps_vu),
             "design": designs[0] if len(set(designs)) == 1 else 0, "geometry": geom,
             **{col: min(vals) if vals else float("nan")
                for col, vals in line_attrs.items()}}
        out.append(d)
    merged_ex = gpd.GeoDataFrame(out, geometry="geometry", crs=arcs.crs)
    return gpd.GeoDataFrame(pd.concat([merged_ex, other], ignore_index=True),
                            geometry="geometry", crs=arcs.crs)


def contract_new_chains(arcs: gpd.GeoDataFrame, keep: set[str]) -> gpd.GeoDataFrame:
    """Merge chains of new arcs through nodes that exactly two new arcs and nothing else
    touch and that are not in ``keep`` (supply points, destinations).

    Flow through such a node is conserved, so both arcs carry the same flow: the chain is
    one corridor. Length and km per country add up, and so do the km per terrain class
    (``terrain_km``, the pipe CAPEX's terrain factor) when the pieces carry them (None
    when one does not; :func:`plan_network` classifies the merged corridor itself);
    ``cost_km_eq`` (the routing surface's km-eq, no longer a cost) becomes
    Σ max(cost_km_eq, length_km) of the pieces. The corridor is built
    in one diameter (as a real project is; the pieces could have differed only where their
    terrain factors differ) and pays the pipe regressions' per-project intercept once,
    not once per piece (:func:`planner.plan.optimise.diameter_options`).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import LineString
    >>> a = gpd.GeoDataFrame({"u": ["s", "m"], "v": ["m", "d"], "kind": "new",
    ...     "system": "", "length_km": [10.0, 5.0], "cost_km_eq": [8.0, 10.0],
    ...     "km_by_country": [{"AAA": 10.0}, {"AAA": 2.0, "BBB": 3.0}]},
    ...     geometry=[LineString([(0, 0), (1, 0)]), LineString([(1, 0), (2, 0)])])
    >>> c = contract_new_chains(a, keep={"s", "d"})
    >>> c[["u", "v", "length_km", "cost_km_eq", "km_by_country"]].values.tolist()
    [['s', 'd', 15.0, 20.0, {'AAA': 12.0, 'BBB': 3.0}]]
    """
    new = arcs[arcs["kind"] == "new"]
    deg = pd.concat([arcs["u"], arcs["v"]]).value_counts()
    new_deg = pd.concat([new["u"], new["v"]]).value_counts()
    removable = {n for n, d in deg.items()
                 if d == 2 and new_deg.get(n, 0) == 2 and n not in keep}
    if not removable:
        return arcs
    rows = {i: r for i, r in new.iterrows()}
    out = []
    for chain in _series_chains(new, removable):
        r = rows[chain[0][0]]
        if len(chain) == 1:
            out.append(r.to_dict())
            continue
        if chain[0][1] == chain[-1][2]:
            continue  # a loop through removable nodes only: never on a useful path
        geoms, length, cost = [], 0.0, 0.0
        kmc: dict[str, float] = {}
        terrain: dict[str, float] | None = {}
        for k, a, _b in chain:
            rk = rows[k]
            geoms.append(rk.geometry if rk["u"] == a else LineString(rk.geometry.coords[::-1]))
            piece = float(rk["length_km"])
            length += piece
            eq = float(rk.get("cost_km_eq", np.nan))
            cost += max(eq, piece) if np.isfinite(eq) else piece
            for c, km in dict(rk.get("km_by_country") or {}).items():
                kmc[c] = kmc.get(c, 0.0) + float(km)
            tk = rk.get("terrain_km")
            if terrain is not None and isinstance(tk, Mapping):
                for c, km in tk.items():
                    terrain[c] = terrain.get(c, 0.0) + float(km)
            else:
                terrain = None
        geom = _chain_geometry(geoms)
        d = {**r.to_dict(), "u": chain[0][1], "v": chain[-1][2], "length_km": length,
             "cost_km_eq": cost, "km_by_country": kmc, "geometry": geom}
        if "terrain_km" in d:
            d["terrain_km"] = terrain
        if "countries" in d:
            d["countries"] = ", ".join(k for k, _ in sorted(kmc.items(), key=lambda kv: -kv[1])
                                       if k != "---")
        out.append(d)
    merged_new = gpd.GeoDataFrame(out, geometry="geometry", crs=arcs.crs)
    return gpd.GeoDataFrame(pd.concat([arcs[arcs["kind"] != "new"], merged_new],
                                      ignore_index=True), geometry="geometry", crs=arcs.crs)


def prune_dead_ends(nodes: pd.DataFrame, arcs: gpd.GeoDataFrame,
                    terminals: set[str]) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Remove non-terminal nodes of degree one (repeatedly), and isolated nodes (exact:
    flow cannot pass through a dead end)."""
    arcs = arcs.copy()
    while True:
        deg = pd.concat([arcs["u"], arcs["v"]]).value_counts()
        dead = {n for n, d in deg.items() if d <= 1 and n not in terminals}
        if not dead:
            break
        arcs = arcs[~arcs["u"].isin(dead) & ~arcs["v"].isin(dead)]
    used = set(arcs["u"]) | set(arcs["v"]) | terminals
    return nodes.loc[[n for n in nodes.index if n in used]], arcs.reset_index(drop=True)


# --- building it ----------------------------------------------------------------------------


def _hub_points(xy: np.ndarray) -> list[tuple[float, float]]:
    """Centroids of the Delaunay triangles over points (projected x, y)."""
    if len(xy) < 3:
        return []
    from scipy.spatial import Delaunay

    try:
        tri = Delaunay(xy)
    except Exception:  # collinear
        return []
    return [tuple(xy[s].mean(axis=0)) for s in tri.simplices]


def plan_network(
    surface: CostSurface,
    graph: nx.MultiGraph,
    supply: dict[str, tuple[float, float]],
    demand: dict[str, tuple[float, float, float]],
    countries: gpd.GeoDataFrame,
    *,
    pipelines: pd.DataFrame | None = None,
    spare_share: float = 1.0,
    spare_bcm_y: dict[str, float] | None = None,
    unknown_capacity_bcm_y: float = 2.0,
    link_km: float = 300.0,
    hubs: bool = True,
    reduce: bool = True,
    terrain_classes: TerrainClassifier,
) -> PlanNetwork:
    """Build the candidate network for a plan.

    Parameters
    ----------
    surface
        The study's cost surface (its CRS must be the graph's).
    graph
        The existing network, :func:`planner.network.pipeline_graph` (operating lines).
    supply
        Supply point name → (lon, lat).
    demand
        Destination name → (lon, lat, throughput bcm/y).
    countries
        The countries layer (``iso_a3``), for the km per country of every arc.
    terrain_classes
        The study's :class:`planner.terrain_classes.TerrainClassifier`
        (:func:`planner.terrain_classes.classifier_for`), for the km per terrain class of
        every new arc (``terrain_km``; its CAPEX's terrain factor). Required: a new arc
        that cannot be classified (off the DEM) raises here, naming it.

    Returns
    -------
    PlanNetwork

    Raises
    ------
    ValueError
        If a name is both a supply point and a destination (terminals are keyed by name).
    """
    both = sorted(set(supply) & set(demand))
    if both:  # keyed by name, the destination would silently replace the supply point
        raise ValueError(f"{', '.join(map(repr, both))} named both a supply point and a "
                         "destination: give each its own name")
    terminals = {**{k: (v[0], v[1]) for k, v in supply.items()},
                 **{k: (v[0], v[1]) for k, v in demand.items()}}
    txy = np.column_stack(surface.lonlat_to_xy(
        np.array([p[0] for p in terminals.values()]),
        np.array([p[1] for p in terminals.values()])))
    # the existing network near the terminals (within link_km of their convex hull)
    hull = MultiPoint([tuple(p) for p in txy]).convex_hull.buffer(link_km * 1000.0)
    near = [n for n, d in graph.nodes(data=True) if hull.contains(Point(d["x"], d["y"]))]
    sub = graph.subgraph(near)
    ex = existing_arcs(sub, pipelines, spare_share=spare_share, spare_bcm_y=spare_bcm_y,
                       unknown_capacity_bcm_y=unknown_capacity_bcm_y)

    # corridor points: terminals, hubs, junctions and each system's nearest node per terminal
    points: dict[str, tuple[float, float]] = dict(terminals)
    if hubs:
        for i, (x, y) in enumerate(_hub_points(txy)):
            lon, lat = surface.xy_to_lonlat(np.array([x]), np.array([y]))
            points[f"hub {i + 1}"] = (float(lon[0]), float(lat[0]))
    deg = pd.concat([ex["u"], ex["v"]]).value_counts() if len(ex) else pd.Series(dtype=int)
    sys_at: dict[str, set[str]] = {}
    for u, v, s in zip(ex["u"], ex["v"], ex["system"], strict=True):
        sys_at.setdefault(u, set()).add(s)
        sys_at.setdefault(v, set()).add(s)
    junctions = {n for n in deg.index if deg[n] != 2 or len(sys_at.get(n, ())) > 1}
    ex_pts = {n: (float(sub.nodes[int(n[1:])]["x"]), float(sub.nodes[int(n[1:])]["y"]))
              for n in sys_at}
    chosen = set(junctions)
    for x0, y0 in txy:
        best: dict[str, tuple[float, str]] = {}
        for n, (x, y) in ex_pts.items():
            dist = float(np.hypot(x - x0, y - y0))
            if dist > link_km * 1000.0:
                continue
            for s in sys_at[n]:
                if s not in best or dist < best[s][0]:
                    best[s] = (dist, n)
        chosen |= {n for _, n in best.values()}
    for n in sorted(chosen):
        lon, lat = surface.xy_to_lonlat(np.array([ex_pts[n][0]]), np.array([ex_pts[n][1]]))
        points[n] = (float(lon[0]), float(lat[0]))

    # locate each point on the grid; points in one cell become one node (aliases)
    located: dict[tuple[int, int], str] = {}
    alias: dict[str, str] = {}
    keep_pts: dict[str, tuple[float, float]] = {}
    for name, (plon, plat) in points.items():
        if name not in terminals and not terrain_classes.on_dem(np.array([plon, plat]))[0]:
            # a line's node beyond the DEM (the region's edge): a new arc to it could not be
            # priced; terminals are checked to lie in the region before the run
            log.info("plan: corridor point %s left out: off the DEM", name)
            continue
        try:
            p = locate(surface, (plon, plat), name)
        except RoutingError as exc:
            if name in terminals:
                raise
            log.info("plan: corridor point %s left out: %s", name, exc)
            continue
        cell = (p.row, p.col)
        if cell in located:
            alias[name] = located[cell]
        else:
            located[cell] = name
            keep_pts[name] = (plon, plat)
    net = candidate_network(surface, keep_pts)
    new_rows = []
    for u, v, d in net.graph.edges(data=True):
        geom = d["geometry"]
        if not isinstance(geom, LineString):
            continue
        new_rows.append({"u": u, "v": v, "kind": "new", "system": "",
                         "length_km": float(d["length_km"]), "cost_km_eq": float(d["cost"]),
                         "capacity_bcm_y": np.nan, "capacity_uv_bcm_y": np.nan,
                         "capacity_vu_bcm_y": np.nan, "design": 0, "diameter_mm": np.nan,
                         "max_pressure_mpa": np.nan, "strings": np.nan, "geometry": geom})
    new = gpd.GeoDataFrame(new_rows, geometry="geometry", crs=settings.STORAGE_CRS)
    if len(ex):
        ex = ex.assign(u=[alias.get(n, n) for n in ex["u"]],
                       v=[alias.get(n, n) for n in ex["v"]])
        ex = ex[ex["u"] != ex["v"]]
    arcs = gpd.GeoDataFrame(pd.concat([ex, new], ignore_index=True), geometry="geometry",
                            crs=settings.STORAGE_CRS)
    arcs = arcs[arcs["length_km"] > 0]

    # nodes
    rows: dict[str, dict[str, Any]] = {}
    kinds = nx.get_node_attributes(net.graph, "kind")
    for name, (plon, plat) in keep_pts.items():
        kind = ("supply" if name in supply else "destination" if name in demand else
                "hub" if name.startswith("hub ") else "existing")
        rows[name] = {"lon": plon, "lat": plat, "kind": kind}
    for n, d in net.graph.nodes(data=True):
        if n not in rows:
            rows[n] = {"lon": d["lon"], "lat": d["lat"], "kind": kinds.get(n, "junction")}
    for n in set(ex["u"]) | set(ex["v"]):
        if n not in rows:
            nd = sub.nodes[int(n[1:])]
            rows[n] = {"lon": nd["lon"], "lat": nd["lat"], "kind": "existing"}
    nodes = pd.DataFrame.from_dict(rows, orient="index")
    nodes["demand_bcm_y"] = 0.0
    nodes["supply"] = False
    for name in supply:
        nodes.loc[alias.get(name, name), "supply"] = True
    for name, (_, _, q) in demand.items():
        key = alias.get(name, name)
        nodes.at[key, "demand_bcm_y"] = float(nodes.at[key, "demand_bcm_y"]) + float(q)  # type: ignore[arg-type]
    term = {alias.get(n, n) for n in terminals}
    if reduce:
        arcs = contract_chains(arcs, keep=set(keep_pts) | term)
        nodes, arcs = prune_dead_ends(nodes, arcs, term)
        arcs = contract_new_chains(arcs, keep=term)
        nodes, arcs = prune_dead_ends(nodes, arcs, term)
    arcs = with_countries(arcs, countries)
    arcs.insert(0, "arc_id", [f"a{i}" for i in range(len(arcs))])
    arcs["terrain_km"] = [
        terrain_classes.class_km(g, name=f"plan arc {a} ({u}-{v})",
                                 fix="keep the study region inside the DEM's bounds "
                                     "(`planner layers`, terrain), or bring a DEM that "
                                     "covers it")
        if k == "new" else None
        for a, u, v, k, g in zip(arcs["arc_id"], arcs["u"], arcs["v"], arcs["kind"],
                                 arcs.geometry, strict=True)]
    log.info("plan network: %d nodes, %d arcs (%d existing, %d new corridors)", len(nodes),
             len(arcs), int((arcs["kind"] == "existing").sum()),
             int((arcs["kind"] == "new").sum()))
    return PlanNetwork(nodes, arcs[ARC_COLUMNS].reset_index(drop=True))


__all__ = ["ARC_COLUMNS", "PlanNetwork", "contract_chains", "contract_new_chains",
           "delaunay_edges", "directed_capacity",
           "existing_arcs", "plan_network", "prune_dead_ends", "with_countries"]
