"""Hydraulic check of a solved plan, arc by arc and along each supply-to-destination path.

New arcs: compressor stations placed on the arc's terrain profile at its flow
(:func:`planner.hydraulics.place_compressor_stations`), compared with the compression the
MILP charged (the design spacing). Existing arcs: flow within the spare capacity offered,
and flow against the design direction flagged (stations need reconfiguring). Paths: the
flow decomposed into supply→destination paths, with their km, stations and every place
where a new pipe is fed from an existing line at a lower pressure (a head station).
A violation is a flow the chosen pipe cannot carry with stations at least
``min_spacing_km`` apart, or more flow than an existing arc offers.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from planner import hydraulics
from planner.costsurface import CostSurface
from planner.plan.candidates import PlanNetwork
from planner.plan.options import PlanOptions

log = logging.getLogger(__name__)


def _profile(surface: CostSurface | None, geom: Any, length_km: float
             ) -> hydraulics.RouteProfile:
    """Elevation along a lon/lat line, sampled at the surface's cell size, scaled to the
    arc's geodesic length."""
    if surface is None:
        return hydraulics.RouteProfile.flat(max(length_km, 1e-3))
    from shapely.geometry import LineString

    lon, lat = np.asarray(geom.coords, dtype=float).T
    x, y = surface.lonlat_to_xy(lon, lat)
    line = LineString(np.column_stack([x, y])).segmentize(surface.resolution_m)
    px, py = np.asarray(line.coords).T
    dist = np.r_[0.0, np.cumsum(np.hypot(np.diff(px), np.diff(py)))] / 1000.0
    rr, cc = surface.xy_to_rowcol(px, py)
    h, w = surface.shape
    inside = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
    elev = np.full(len(px), np.nan)
    elev[inside] = surface.elevation[rr[inside], cc[inside]]
    if len(dist) < 2 or dist[-1] <= 0:
        return hydraulics.RouteProfile.flat(max(length_km, 1e-3))
    elev = np.nan_to_num(np.asarray(elev, float), nan=float(np.nanmean(elev))
                         if np.isfinite(elev).any() else 0.0)
    return hydraulics.RouteProfile(np.asarray(dist, float) * length_km / dist[-1], elev)


def check_arcs(arcs: pd.DataFrame, net: PlanNetwork, options: PlanOptions,
               surface: CostSurface | None = None, min_spacing_km: float = 50.0
               ) -> pd.DataFrame:
    """One row per used arc: ``stations``, ``power_mw``, ``min_pressure_bar``,
    ``violation`` (text, empty when none) and ``note``."""
    p_max = options.pressure_class_mpa * 10.0
    p_min = p_max / options.compression_ratio
    caps = net.arcs.set_index("arc_id")["capacity_bcm_y"]
    rows = []
    for _, a in arcs.iterrows():
        out: dict[str, Any] = {"arc_id": a["arc_id"], "stations": 0, "power_mw": 0.0,
                               "min_pressure_bar": np.nan, "violation": "", "note": ""}
        q = float(a["flow_bcm_y"])
        if a["kind"] == "new" and q > 1e-6:
            pipe = hydraulics.Pipe.for_pressure(float(a["diameter_mm"]),
                                                options.pressure_class_mpa)
            prof = _profile(surface, a["geometry"], float(a["length_km"]))
            try:
                plan = hydraulics.place_compressor_stations(
                    prof, q, pipe, p_max, p_min, step_km=5.0)
                out["stations"] = plan.count
                out["power_mw"] = plan.total_power_kw / 1000.0
                out["min_pressure_bar"] = float(plan.profile["pressure_bar"].min())
                # spacing from the arc's start (head at full pressure) to each station
                km = np.r_[0.0, plan.stations["distance_km"].to_numpy(float)]
                gaps = np.diff(km)
                gaps = gaps[gaps > 1e-6]
                if len(gaps) and float(gaps.min()) < min_spacing_km:
                    out["violation"] = (f"stations closer than {min_spacing_km:g} km "
                                        f"({float(gaps.min()):.0f} km)")
            except ValueError as exc:
                out["violation"] = f"cannot carry {q:.2f} bcm/y: {exc}"
        elif a["kind"] == "existing":
            cap = float(caps.get(a["arc_id"], np.nan))
            if np.isfinite(cap) and q > cap + 1e-6:
                out["violation"] = f"flow {q:.2f} above spare capacity {cap:.2f} bcm/y"
            if bool(a["reverse"]):
                out["note"] = "flow against the design direction: stations to reconfigure"
        rows.append(out)
    return pd.DataFrame(rows, columns=["arc_id", "stations", "power_mw", "min_pressure_bar",
                                       "violation", "note"])


def flow_paths(arcs: pd.DataFrame, net: PlanNetwork) -> pd.DataFrame:
    """Decompose the plan's flows into paths from a supply point to each destination.

    Returns
    -------
    pandas.DataFrame
        ``destination``, ``flow_bcm_y``, ``arc_ids`` (list, in order), ``nodes`` (list).
    """
    residual: dict[str, float] = dict(zip(arcs["arc_id"], arcs["flow_bcm_y"].astype(float),
                                          strict=True))
    out_of: dict[str, list[tuple[str, str]]] = {}
    for aid, f, t in zip(arcs["arc_id"], arcs["from"], arcs["to"], strict=True):
        out_of.setdefault(str(f), []).append((str(aid), str(t)))
    supplies = [n for n in net.nodes.index if bool(net.nodes.at[n, "supply"])]
    need = {n: float(q) for n, q in net.nodes["demand_bcm_y"].items() if q > 0}
    rows = []
    for _ in range(10 * len(arcs) + 10):
        # depth-first search from any supply over arcs with residual flow to a destination
        found = None
        for s in supplies:
            stack: list[tuple[str, list[str], list[str]]] = [(s, [], [s])]
            seen = {s}
            while stack and found is None:
                node, path, visited = stack.pop()
                if need.get(node, 0.0) > 1e-6 and path:
                    found = (node, path, visited)
                    break
                for aid, nxt in out_of.get(node, []):
                    if residual[aid] > 1e-6 and nxt not in seen:
                        seen.add(nxt)
                        stack.append((nxt, [*path, aid], [*visited, nxt]))
            if found:
                break
        if found is None:
            break
        dest, path, visited = found
        f = min([need[dest], *[residual[a] for a in path]])
        for a in path:
            residual[a] -= f
        need[dest] -= f
        rows.append({"destination": dest, "flow_bcm_y": f, "arc_ids": path, "nodes": visited})
    return pd.DataFrame(rows, columns=["destination", "flow_bcm_y", "arc_ids", "nodes"])


def check_paths(arcs: pd.DataFrame, arc_check: pd.DataFrame, paths: pd.DataFrame,
                net: PlanNetwork, options: PlanOptions) -> pd.DataFrame:
    """Per path: ``km``, ``new_km``, ``stations`` (on its new arcs), ``head_stations``
    (new pipe fed from an existing line, whose pressure is below the new pipe's class),
    ``reversed_km``, ``violations`` (the arcs' violations on this path)."""
    by = arcs.set_index("arc_id")
    chk = arc_check.set_index("arc_id")
    rows = []
    for _, p in paths.iterrows():
        km = new_km = rev_km = 0.0
        stations = heads = 0
        viol: list[str] = []
        prev_kind = None
        for aid in p["arc_ids"]:
            a = by.loc[aid]
            km += float(a["length_km"])
            if a["kind"] == "new":
                new_km += float(a["length_km"])
                stations += int(chk.at[aid, "stations"])  # type: ignore[arg-type]
                if prev_kind == "existing":
                    heads += 1
            elif bool(a["reverse"]):
                rev_km += float(a["length_km"])
            bad = str(chk.at[aid, "violation"])
            if bad:
                viol.append(f"{aid}: {bad}")
            prev_kind = a["kind"]
        rows.append({"destination": p["destination"], "flow_bcm_y": p["flow_bcm_y"],
                     "km": km, "new_km": new_km, "reversed_km": rev_km,
                     "stations": stations, "head_stations": heads,
                     "violations": "; ".join(viol), "path": " → ".join(p["nodes"])})
    return pd.DataFrame(rows)


__all__ = ["check_arcs", "check_paths", "flow_paths"]
