"""Hydraulic check of a solved plan, arc by arc and along each supply-to-destination path.

New arcs: compressor stations placed on the arc's terrain profile at its flow
(:func:`planner.hydraulics.place_compressor_stations`), compared with the compression the
MILP charged (the design spacing). Existing arcs: flow within the spare capacity offered,
flow against the design direction flagged (stations need reconfiguring), and, where the
layer gives the line's diameter and maximum pressure, the stations that flow needs on the
line (shared over its parallel strings; in reverse every station counts as new). Paths: the
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
from planner.plan.candidates import PlanNetwork, directed_capacity
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
    # capacity in each direction: arc_id -> (u, capacity u→v, capacity v→u)
    caps = {str(r["arc_id"]): (r["u"], *directed_capacity(r))
            for r in net.arcs.to_dict("records")}
    lines: dict[str, tuple[float, float, float]] = {}
    if {"diameter_mm", "max_pressure_mpa"} <= set(net.arcs.columns):
        strings = (net.arcs["strings"] if "strings" in net.arcs
                   else pd.Series(1.0, index=net.arcs.index))
        for aid, d_mm, p_mpa, n in zip(net.arcs["arc_id"], net.arcs["diameter_mm"],
                                       net.arcs["max_pressure_mpa"], strings, strict=True):
            if np.isfinite(d_mm) and np.isfinite(p_mpa) and p_mpa > 0:
                lines[str(aid)] = (float(d_mm), float(p_mpa),
                                   float(n) if np.isfinite(n) and n >= 1 else 1.0)
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
            u, uv, vu = caps.get(str(a["arc_id"]), ("", np.nan, np.nan))
            cap = uv if a["from"] == u else vu
            if np.isfinite(cap) and q > cap + 1e-6:
                out["violation"] = f"flow {q:.2f} above spare capacity {cap:.2f} bcm/y"
            notes = []
            if bool(a["reverse"]):
                notes.append("flow against the design direction: stations to reconfigure")
            line = lines.get(a["arc_id"])
            if line is not None and q > 1e-6:
                d_mm, p_mpa, strings = line
                # the line at its diameter and maximum pressure (MPa × 10 as bar absolute,
                # the planner's convention), the flow shared over its strings
                pipe = hydraulics.Pipe.for_pressure(d_mm, p_mpa)
                prof = _profile(surface, a["geometry"], float(a["length_km"]))
                try:
                    plan = hydraulics.place_compressor_stations(
                        prof, q / strings, pipe, p_mpa * 10.0,
                        p_mpa * 10.0 / options.compression_ratio, step_km=5.0)
                    out["stations"] = plan.count * int(strings)
                    out["power_mw"] = plan.total_power_kw * strings / 1000.0
                    out["min_pressure_bar"] = float(plan.profile["pressure_bar"].min())
                    notes.append(f"{plan.count} station(s) per string at this flow"
                                 + (" (all new: existing compressors face the design flow)"
                                    if bool(a["reverse"]) else " (existing ones count)"))
                except ValueError as exc:
                    out["violation"] = (f"{d_mm:g} mm at {p_mpa:g} MPa cannot carry "
                                        f"{q:.2f} bcm/y: {exc}")
            out["note"] = "; ".join(notes)
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


def _line_runs(arc_ids: list[str], by: pd.DataFrame, net: PlanNetwork
                ) -> list[tuple[str, list[str]]]:
    """Consecutive existing arcs of one system along a path (where the layer gives the
    line's diameter and pressure): (system, arc ids)."""
    attrs = net.arcs.set_index("arc_id")
    runs: list[tuple[str, list[str]]] = []
    for aid in arc_ids:
        a = by.loc[aid]
        known = (a["kind"] == "existing" and "diameter_mm" in attrs
                 and np.isfinite(float(attrs.at[aid, "diameter_mm"]))
                 and np.isfinite(float(attrs.at[aid, "max_pressure_mpa"])))
        if not known:
            runs.append(("", []))
            continue
        if runs and runs[-1][0] == a["system"]:
            runs[-1][1].append(aid)
        else:
            runs.append((str(a["system"]), [aid]))
    return [r for r in runs if r[1]]


def _run_stations(run: list[str], by: pd.DataFrame, net: PlanNetwork, options: PlanOptions,
                  surface: CostSurface | None) -> tuple[int, float, str]:
    """Stations (all strings) and MW a run of one existing system needs for the flows the
    plan puts on it: pressure carried along the whole run (not restarted at each arc)."""
    attrs = net.arcs.set_index("arc_id")
    d_mm = min(float(attrs.at[a, "diameter_mm"]) for a in run)
    p_mpa = min(float(attrs.at[a, "max_pressure_mpa"]) for a in run)
    strings = max(1.0, min(float(attrs.at[a, "strings"]) if np.isfinite(
        float(attrs.at[a, "strings"])) else 1.0 for a in run))
    q = float(by.loc[run, "flow_bcm_y"].astype(float).max())
    dist: list[float] = []
    elev: list[float] = []
    offset = 0.0
    for a in run:
        prof = _profile(surface, by.at[a, "geometry"],
                        float(by.loc[a, "length_km"]))  # type: ignore[arg-type]
        d = np.asarray(prof.distance_km, float)
        e = np.asarray(prof.elevation_m, float)
        start = 1 if dist else 0
        dist.extend((d[start:] + offset).tolist())
        elev.extend(e[start:].tolist())
        offset += float(d[-1])
    profile = hydraulics.RouteProfile(np.array(dist), np.array(elev))
    pipe = hydraulics.Pipe.for_pressure(d_mm, p_mpa)
    try:
        plan = hydraulics.place_compressor_stations(
            profile, q / strings, pipe, p_mpa * 10.0, p_mpa * 10.0 / options.compression_ratio,
            step_km=5.0)
    except ValueError as exc:
        return 0, 0.0, f"{d_mm:g} mm at {p_mpa:g} MPa cannot carry {q:.2f} bcm/y: {exc}"
    return plan.count * int(strings), plan.total_power_kw * strings / 1000.0, ""


def check_paths(arcs: pd.DataFrame, arc_check: pd.DataFrame, paths: pd.DataFrame,
                net: PlanNetwork, options: PlanOptions, surface: CostSurface | None = None
                ) -> pd.DataFrame:
    """Per path: ``km``, ``new_km``, ``stations`` (on its new arcs), ``head_stations``
    (new pipe fed from an existing line, whose pressure is below the new pipe's class),
    ``reversed_km``, ``line_stations`` and ``line_power_mw`` (what the plan's flows need
    on the existing lines of the path, pressure carried along each line's run; in reverse
    every station is new), ``violations`` (the arcs' and lines' violations on this path)."""
    by = arcs.set_index("arc_id")
    chk = arc_check.set_index("arc_id")
    rows = []
    run_cache: dict[tuple[str, ...], tuple[int, float, str]] = {}
    for _, p in paths.iterrows():
        km = new_km = rev_km = 0.0
        stations = heads = 0
        viol: list[str] = []
        prev_kind = None
        line_st, line_mw = 0, 0.0
        for system, run in _line_runs(list(p["arc_ids"]), by, net):
            key = tuple(run)
            if key not in run_cache:
                run_cache[key] = _run_stations(run, by, net, options, surface)
            n, mw, bad = run_cache[key]
            line_st += n
            line_mw += mw
            if bad:
                viol.append(f"{system}: {bad}")
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
                     "line_stations": line_st, "line_power_mw": line_mw,
                     "violations": "; ".join(viol), "path": " → ".join(p["nodes"])})
    return pd.DataFrame(rows)


__all__ = ["check_arcs", "check_paths", "flow_paths"]
