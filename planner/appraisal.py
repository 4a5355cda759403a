"""Turn candidate routes into the numbers a planner decides on, and rank them.

For each candidate (a row of :func:`planner.runner.generate_candidates`): design the new
pipe for its throughput with the calibrated design engine that ``planner backtest costs``
validates on built lines (:func:`design_new_pipe`, :func:`planner.economics.cheapest_design`:
diameter, pressure class, wall, compression ratio and station spacing chosen by cost),
place its compressor stations on the terrain profile, cost it
(:func:`new_build_cost`: :func:`planner.economics.route_cost` with the fitted terrain-class
factors over its new pipe's km per class (:mod:`planner.terrain_classes`), the fitted
pipe-cost trend at the study's currency year and the regional factor of its new-build
countries), account for it per country, built and used
(:func:`planner.accounting.country_accounts`), measure the new demand it can add
(:func:`planner.domestic.new_demand`), and fill the criteria table that
:mod:`planner.scoring` ranks.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner import accounting, domestic, economics, hydraulics, settings, terrain_classes
from planner.layers import Layers
from planner.study import Scenario, Study

log = logging.getLogger(__name__)

#: Piece length (km) of the per-country split: borders are located to within this.
SPLIT_SEGMENT_KM = 2.0
#: Station compression ratio on reused lines: suction falls to maximum pressure / this
#: (new pipe takes the ratio its design chose, :func:`design_new_pipe`).
COMPRESSION_RATIO = 1.5
#: Step (km) of compressor-station placement along a route.
STATION_STEP_KM = 5.0
#: Existing stations within this distance (km) of a reused leg count as on that leg.
STATION_REACH_KM = 10.0
_MIN_LEG_KM = 1e-6


def _study_param(study: Study, scenario: Scenario, name: str) -> float | None:
    if name in scenario.costs:
        return float(scenario.costs[name])
    if name in study.costs:
        return float(study.costs[name])
    return None


def fuel_priced_at_supply(study: Study, scenario: Scenario,
                          params: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """The cost table with the fuel gas priced at the study's (or scenario's) price of gas
    at the supply point, ``supply_price_usd_per_1000m3``, when it sets one; otherwise the
    table unchanged (``None`` stays the shipped table).

    The system plan prices fuel the same way
    (:meth:`planner.plan.optimise.PlanEconomics.from_costs`), so routes and the plan value
    the gas their compressors burn alike.

    Examples
    --------
    >>> from planner.study import default_study_path, load_study
    >>> s = load_study(default_study_path())
    >>> fuel_priced_at_supply(s, s.scenarios[0]) is None     # the default study sets none
    True
    >>> import dataclasses
    >>> sc = dataclasses.replace(s.scenarios[0], costs={"supply_price_usd_per_1000m3": 300.0})
    >>> t = fuel_priced_at_supply(s, sc)
    >>> economics.parameter("fuel_gas_price_usd_per_1000m3", t,
    ...                     currency_year=economics.DEFAULT_CURRENCY_YEAR)
    300.0
    """
    price = _study_param(study, scenario, "supply_price_usd_per_1000m3")
    if price is None:
        return params
    t = (economics.load_cost_parameters() if params is None else params).copy()
    t.loc["fuel_gas_price_usd_per_1000m3", ["value", "currency_year"]] = [
        float(price), economics.DEFAULT_CURRENCY_YEAR]
    return t


def river_crossings(route: shapely.Geometry, water: gpd.GeoDataFrame) -> int:
    """How many times a route crosses the rivers of the water layer (candidates from the
    layer's spatial index)."""
    rivers = water[water["kind"].eq("river")]
    hits = rivers.iloc[rivers.sindex.query(route, predicate="intersects")]
    n = 0
    for g in hits.geometry:
        inter = route.intersection(g)
        n += len(shapely.get_parts(inter))
    return n


def _scale(legs: list[dict[str, Any]], profile: hydraulics.RouteProfile) -> float:
    """Profile km per leg km (both measured along the same line, slightly differently)."""
    total = sum(float(leg["length_km"]) for leg in legs)
    return profile.length_km / total if total > 0 else 1.0


def _leg_spans(legs: list[dict[str, Any]], profile: hydraulics.RouteProfile
               ) -> list[tuple[float, float]]:
    """Where each leg starts and ends on the route profile."""
    scale = _scale(legs, profile)
    return [(float(leg["start_km"]) * scale, float(leg["end_km"]) * scale) for leg in legs]


def leg_profiles(legs: list[dict[str, Any]], profile: hydraulics.RouteProfile
                 ) -> list[hydraulics.RouteProfile | None]:
    """Each leg's part of the route profile, re-based to start at 0; None for a leg of no
    length (a new link that starts on the network)."""
    return [profile.between(a, b) if b - a > _MIN_LEG_KM else None
            for a, b in _leg_spans(legs, profile)]


def _join(parts: list[hydraulics.RouteProfile]) -> hydraulics.RouteProfile:
    """Profiles laid end to end (the new-build legs of a route, as one line to size)."""
    dist: list[np.ndarray] = []
    elev: list[np.ndarray] = []
    offset = 0.0
    for k, p in enumerate(parts):
        skip = 0 if k == 0 else 1
        dist.append(p.distance_km[skip:] + offset)
        elev.append(p.elevation_m[skip:])
        offset += p.length_km
    return hydraulics.RouteProfile(np.concatenate(dist), np.concatenate(elev))


def reused_legs(legs: list[dict[str, Any]], profile: hydraulics.RouteProfile,
                throughput_bcm_y: float, stations: gpd.GeoDataFrame | None = None,
                new_build_pressure_bar: float | None = None) -> pd.DataFrame:
    """Capacity and compression of the existing lines a route reuses, leg by leg.

    Each reused leg with a published diameter and maximum pressure is assessed with
    :func:`planner.hydraulics.assess_existing_line` in the direction the route uses it
    (reverse flow where it runs against the design flow), for the throughput shared over its
    parallel strings; stations keep the suction above maximum / :data:`COMPRESSION_RATIO`.
    Pressure is carried from leg to leg: a leg receives what the previous reused leg
    delivers, or from a new leg the new pipe's ``new_build_pressure_bar`` (its own maximum
    when not given), or its minimum suction pressure when that is unknown (the route's start,
    a line not assessed); a station at its start compresses from there to its maximum.
    Wall thickness is not in the data: it is taken as the Barlow wall for the maximum
    pressure (:meth:`planner.hydraulics.Pipe.for_pressure`). As for new pipe, a maximum
    pressure in MPa × 10 is used as bar absolute (about 1 bar on the safe side).

    New compression a leg needs (``new_power_kw``): none on a forward leg whose existing
    stations (``stations`` within :data:`STATION_REACH_KM`) already give the capacity;
    otherwise every station of the leg's plan. For reverse flow the existing stations face
    the other way, so this is an upper bound: re-piping them costs less, at a price not
    published here. Legs without a published diameter or pressure are listed, not assessed.

    Returns
    -------
    pandas.DataFrame
        One row per reused leg: ``system``, ``reverse``, ``length_km``, ``strings``,
        ``diameter_mm``, ``max_pressure_mpa``, ``assessed``, ``capacity_bcm_y`` (the
        leg's capacity in the direction used, all strings, existing usable stations),
        ``existing_stations``, ``new_stations``, ``new_power_kw``, ``fuel_bcm_y``
        (all strings) and ``note``; for assessed legs also ``_start_km`` (on the route
        profile), ``_pressure`` (distance along the leg, pressure with the stations working)
        and ``_new_station_km``.
    """
    scale = _scale(legs, profile)
    rows = []
    arriving: float | None = None  # bar absolute at the end of the previous leg
    for leg, seg, (start, _) in zip(legs, leg_profiles(legs, profile),
                                    _leg_spans(legs, profile), strict=True):
        if seg is None:
            continue
        if leg["kind"] != "reuse":
            arriving = new_build_pressure_bar if new_build_pressure_bar else np.inf
            continue
        system = str(leg["system"])
        d_mm = float(leg.get("diameter_mm", np.nan))
        p_mpa = float(leg.get("max_pressure_mpa", np.nan))
        n = float(leg.get("strings", np.nan))
        n = int(n) if np.isfinite(n) and n >= 1 else 1
        row: dict[str, Any] = {
            "system": system, "reverse": bool(leg["reverse"]),
            "length_km": float(leg["length_km"]), "strings": n, "diameter_mm": d_mm,
            "max_pressure_mpa": p_mpa, "assessed": False, "capacity_bcm_y": np.nan,
            "existing_stations": 0, "new_stations": 0, "new_power_kw": 0.0,
            "fuel_bcm_y": 0.0, "note": "",
            "max_pressure_basis": str(leg.get("max_pressure_basis") or ""),
        }
        if not (np.isfinite(d_mm) and np.isfinite(p_mpa)):
            row["note"] = "not assessed: no published diameter or maximum pressure"
            rows.append(row)
            arriving = None
            continue
        # as for new pipe (size_pipe): MPa × 10 taken as bar absolute, 1 bar on the safe side
        p_max = p_mpa * 10.0
        p_min = p_max / COMPRESSION_RATIO
        inlet = p_min if arriving is None else min(arriving, p_max)
        pipe = hydraulics.Pipe.for_pressure(d_mm, p_mpa)
        existing: list[float] = []
        if stations is not None and not row["reverse"] and len(stations):
            near = hydraulics.stations_near_route(leg["geometry"], stations,
                                                  within_km=STATION_REACH_KM)
            existing = [float(x) * scale for x in near["distance_along_km"]
                        if 0 <= float(x) * scale < seg.length_km]
        # the line's own direction: reverse legs were drawn along the route (flow) direction
        line_profile = seg.reversed() if row["reverse"] else seg
        per_string = throughput_bcm_y / n
        try:
            a = hydraulics.assess_existing_line(
                pipe, line_profile, p_max, p_min, station_km=existing,
                reverse=row["reverse"])
            plan = hydraulics.place_compressor_stations(
                seg, per_string, pipe, p_max, p_min, step_km=STATION_STEP_KM,
                supply_pressure_bar=inlet if inlet < p_max - 1e-9 else None)
        except ValueError as exc:
            raise ValueError(
                f"reused {system} ({row['length_km']:.0f} km, {n} × {d_mm:g} mm at "
                f"{p_mpa:g} MPa) cannot carry {throughput_bcm_y:g} bcm/y: {exc}") from exc
        arriving = plan.delivery_pressure_bar
        enough = not row["reverse"] and bool(existing) and a.capacity_bcm_y >= per_string
        new = plan.stations
        if enough:
            # the existing stations carry the flow; only a missing inlet station is new
            at_start = existing[0] <= STATION_REACH_KM
            new = new.iloc[0:0] if at_start else new[new["distance_km"] <= 1e-9]
        basis = row["max_pressure_basis"]
        fuel_per_day = plan.stations["fuel_m3_per_day"].to_numpy(dtype=float)
        row.update(
            _plan_station_km=plan.stations["distance_km"].to_numpy(dtype=float),
            _plan_station_fuel=np.array([hydraulics.m3_per_day_to_bcm_y(f) * n
                                         for f in fuel_per_day]),
            _new_station_kw=new["driver_power_kw"].to_numpy(dtype=float) * n,
            _start_km=start,
            _pressure=plan.profile[["distance_km", "pressure_bar"]].to_numpy(dtype=float),
            _new_station_km=new["distance_km"].to_numpy(dtype=float),
            assessed=True, capacity_bcm_y=a.capacity_bcm_y * n,
            existing_stations=len(existing),
            new_stations=len(new),
            new_power_kw=float(new["driver_power_kw"].sum()) * n,
            fuel_bcm_y=plan.total_fuel_bcm_y * n,
            note=("existing stations suffice" if enough else
                  "reverse flow: new compression counted for every station (upper bound)"
                  if row["reverse"] else
                  "existing stations unknown or short: new compression counted")
            + ("" if basis in ("", "published") else f"; max. pressure {basis}"),
        )
        rows.append(row)
    return pd.DataFrame(rows)


def received_bar(legs: list[dict[str, Any]], profile: hydraulics.RouteProfile,
                 existing: pd.DataFrame, max_pressure_bar: float) -> list[float | None]:
    """Pressure (bar) at which each new leg of a reuse route receives its gas; None for a
    leg that starts at the route's start (the supply point, where a head station compresses
    the gas as :func:`planner.hydraulics.size_pipe` does) and for legs of no length.

    A new leg that continues from a reused line receives what that line delivers (its
    assessed plan, :func:`reused_legs`). Where that line is not assessed (no published
    diameter or pressure) its pressure is not known: it is taken to arrive at the new
    pipe's ``max_pressure_bar`` (an assumption, as when the new legs were one line laid
    end to end), so that a station is placed only where the link's own hydraulics need one.

    Examples
    --------
    >>> import numpy as np
    >>> legs = [{"kind": "new", "start_km": 0.0, "end_km": 10.0, "length_km": 10.0},
    ...         {"kind": "reuse", "start_km": 10.0, "end_km": 100.0, "length_km": 90.0},
    ...         {"kind": "new", "start_km": 100.0, "end_km": 114.0, "length_km": 14.0}]
    >>> p = hydraulics.RouteProfile(np.array([0.0, 114.0]), np.zeros(2))
    >>> received_bar(legs, p, pd.DataFrame({"assessed": [False]}), 118.0)
    [None, None, 118.0]
    """
    spans = _leg_spans(legs, profile)
    assessed = existing[existing["assessed"].astype(bool)] if len(existing) else existing
    delivered = [(float(r["_start_km"]) + float(np.asarray(r["_pressure"])[-1, 0]),
                  float(np.asarray(r["_pressure"])[-1, 1]))
                 for r in assessed.to_dict("records")]
    out: list[float | None] = []
    before = False  # a reused leg with length comes before
    for leg, (a, b) in zip(legs, spans, strict=True):
        if b - a <= _MIN_LEG_KM or leg["kind"] != "new" or not before:
            out.append(None)
        else:
            # the assessed reused leg that ends where this one starts (within a step)
            at = [p for end, p in delivered if abs(end - a) <= STATION_STEP_KM]
            out.append(min(at[-1], max_pressure_bar) if at else float(max_pressure_bar))
        before = before or (leg["kind"] == "reuse" and b - a > _MIN_LEG_KM)
    return out


def new_build_plan(legs: list[dict[str, Any]], profile: hydraulics.RouteProfile,
                   sizing: hydraulics.SizingResult, flow_bcm_y: float,
                   existing: pd.DataFrame) -> hydraulics.StationPlan:
    """Compressor stations of a reuse route's new pipe, placed leg by leg on the new legs
    laid end to end (the km :func:`_route_pressure` and :func:`route_stations` read).

    Each new leg is its own line: the first, from the supply point, keeps the design's
    head station; a leg continuing from a reused line starts at the pressure it receives
    (:func:`received_bar`) and gets a station only where its pressure falls below the
    design's minimum suction pressure. When the new pipe is one leg from the supply point
    the design's own plan is returned."""
    p_max = sizing.pressure_class_mpa * 10.0
    received = received_bar(legs, profile, existing, p_max)
    parts = [(part, inlet) for leg, part, inlet in zip(legs, leg_profiles(legs, profile),
                                                       received, strict=True)
             if leg["kind"] == "new" and part is not None]
    if not parts or (len(parts) == 1 and parts[0][1] is None):
        return sizing.stations
    p_min = p_max / sizing.compression_ratio
    pipe = hydraulics.Pipe(sizing.outer_diameter_mm, sizing.wall_thickness_mm)
    plans = [hydraulics.place_compressor_stations(
        part, flow_bcm_y / sizing.strings, pipe, p_max, p_min,
        supply_pressure_bar=p_min if inlet is None else None, inlet_pressure_bar=inlet)
        for part, inlet in parts]
    stations, pressure = [], []
    offset = 0.0
    for k, (plan, (part, _)) in enumerate(zip(plans, parts, strict=True)):
        stations.append(plan.stations.assign(distance_km=plan.stations["distance_km"] + offset))
        pr = plan.profile.iloc[0 if k == 0 else 1:]
        pressure.append(pr.assign(distance_km=pr["distance_km"] + offset))
        offset += part.length_km
    return hydraulics.StationPlan(
        pd.concat(stations, ignore_index=True), pd.concat(pressure, ignore_index=True),
        plans[-1].delivery_pressure_bar, sum(p.total_power_kw for p in plans),
        sum(p.total_fuel_bcm_y for p in plans), sum(p.fuel_share for p in plans))


def _route_pressure(legs: list[dict[str, Any]], profile: hydraulics.RouteProfile,
                    plan: hydraulics.StationPlan, existing: pd.DataFrame
                    ) -> tuple[np.ndarray, list[float]]:
    """Pressure along a reuse route, and its new stations' km, from the new-build plan (on
    the new legs laid end to end) and each assessed reused leg's plan; NaN on lines not
    assessed."""
    d = profile.distance_km
    out = np.full(d.size, np.nan)
    at: list[float] = []
    build_d = np.asarray(plan.profile["distance_km"], dtype=float)
    build_p = np.asarray(plan.profile["pressure_bar"], dtype=float)
    build_st = plan.stations["distance_km"].to_numpy(dtype=float)
    offset = 0.0  # where the new leg starts on the new legs laid end to end
    for leg, (a, b) in zip(legs, _leg_spans(legs, profile), strict=True):
        if leg["kind"] == "reuse" or b - a <= _MIN_LEG_KM:
            continue
        inside = (d >= a) & (d <= b)
        out[inside] = np.interp(d[inside] - a + offset, build_d, build_p)
        at += [a + x - offset for x in build_st if offset <= x < offset + (b - a)]
        offset += b - a
    for r in existing[existing["assessed"].astype(bool)].to_dict("records"):
        pr = np.asarray(r["_pressure"], dtype=float)
        a = float(r["_start_km"])
        inside = (d >= a) & (d <= a + pr[-1, 0])
        out[inside] = np.interp(d[inside] - a, pr[:, 0], pr[:, 1])
        at += [a + float(x) for x in r["_new_station_km"]]
    return out, sorted(at)


def _on_route(legs: list[dict[str, Any]], profile: hydraulics.RouteProfile,
              build_km: np.ndarray) -> np.ndarray:
    """Route-profile km of points given in km along the new legs laid end to end."""
    out = np.full(len(build_km), np.nan)
    offset = 0.0
    for leg, (a, b) in zip(legs, _leg_spans(legs, profile), strict=True):
        if leg["kind"] == "reuse" or b - a <= _MIN_LEG_KM:
            continue
        inside = (build_km >= offset) & (build_km < offset + (b - a))
        out[inside] = a + build_km[inside] - offset
        offset += b - a
    return np.where(np.isnan(out), profile.length_km, out)


def route_stations(legs: list[dict[str, Any]] | None, profile: hydraulics.RouteProfile,
                   plan: hydraulics.StationPlan, strings: int, existing: pd.DataFrame
                   ) -> accounting.Stations:
    """Where a route's compression is (km on its profile), with the new power and the
    fuel of each station: the new-build plan's stations (all strings) and, on reused
    lines, the new stations (power) and every working station of the leg's plan (fuel)."""
    st = plan.stations
    km = st["distance_km"].to_numpy(dtype=float)
    if legs is not None:
        km = _on_route(legs, profile, km)
    kms = [km]
    power = [st["driver_power_kw"].to_numpy(dtype=float) * strings]
    fuel = [np.array([hydraulics.m3_per_day_to_bcm_y(f) * strings
                      for f in st["fuel_m3_per_day"].to_numpy(dtype=float)])]
    for r in existing[existing["assessed"].astype(bool)].to_dict("records"):
        a = float(r["_start_km"])
        new_km = a + np.asarray(r["_new_station_km"], dtype=float)
        plan_km = a + np.asarray(r["_plan_station_km"], dtype=float)
        kms += [new_km, plan_km]
        power += [np.asarray(r["_new_station_kw"], dtype=float), np.zeros(plan_km.size)]
        fuel += [np.zeros(new_km.size), np.asarray(r["_plan_station_fuel"], dtype=float)]
    return accounting.Stations(np.concatenate(kms), np.concatenate(power),
                               np.concatenate(fuel))


@lru_cache(maxsize=512)
def _design_cached(flow_bcm_y: float, distance_km: bytes, elevation_m: bytes,
                   cost_options: tuple[tuple[str, float], ...]) -> hydraulics.SizingResult:
    profile = hydraulics.RouteProfile(np.frombuffer(distance_km), np.frombuffer(elevation_m))
    sizing, _ = economics.cheapest_design(flow_bcm_y, profile.length_km, profile,
                                          cost_options=dict(cost_options))
    return sizing  # type: ignore[return-value]


def design_new_pipe(flow_bcm_y: float, profile: hydraulics.RouteProfile, *,
                    discount_rate: float | None = None, lifetime_years: float | None = None,
                    utilisation: float | None = None,
                    params: pd.DataFrame | None = None) -> hydraulics.SizingResult:
    """The new pipe of a route, by the design engine ``planner backtest costs`` validates.

    :func:`planner.economics.cheapest_design` with the calibrated design margin, highest
    pressure class and per-station fixed cost of the cost table (``params``, default the
    shipped one): the diameter, pressure class, wall, compression ratio and so the station
    spacing are chosen for the lowest levelized tariff, at the US basis of the cost
    regressions (terrain and regional factor 1), as the backtest chooses them; the route's
    own factors then scale its cost. The stations are placed on ``profile``. The study's
    discount rate, lifetime and utilisation (``None``: the table's) enter the trade-off.
    Designs are cached per throughput, profile and financial parameters (a route appears
    in several scenarios).

    Examples
    --------
    >>> import numpy as np
    >>> p = hydraulics.RouteProfile(np.array([0.0, 1500.0]), np.zeros(2))
    >>> s = design_new_pipe(15, p)
    >>> d, _ = economics.cheapest_design(15, 1500.0)  # a level route: the same design
    >>> (s.outer_diameter_mm, s.pressure_class_mpa) == (d.outer_diameter_mm,
    ...                                                 d.pressure_class_mpa)
    True
    """
    opts = {k: float(v) for k, v in (("discount_rate", discount_rate),
                                     ("lifetime_years", lifetime_years),
                                     ("utilisation", utilisation)) if v is not None}
    if params is not None:
        sizing, _ = economics.cheapest_design(float(flow_bcm_y), profile.length_km, profile,
                                              cost_options={**opts, "params": params})
        return sizing  # type: ignore[return-value]
    return _design_cached(float(flow_bcm_y),
                          np.ascontiguousarray(profile.distance_km, dtype=float).tobytes(),
                          np.ascontiguousarray(profile.elevation_m, dtype=float).tobytes(),
                          tuple(sorted(opts.items())))


def new_build_cost(sizing: hydraulics.SizingResult, new_km: float, flow_bcm_y: float,
                   km_by_country: dict[str, float], *, terrain_factor: float = 1.0,
                   params: pd.DataFrame | None = None,
                   **route_options: Any) -> economics.RouteCost:
    """CAPEX, OPEX and tariff of a route's new pipe, as the cost backtest prices a line.

    :func:`planner.economics.route_cost` of the design (diameter, strings, Barlow wall)
    over ``new_km``, in USD of :data:`planner.economics.DEFAULT_CURRENCY_YEAR`, with the
    line pipe times ``terrain_factor`` and the fitted pipe-cost trend at that year
    (:func:`planner.economics.pipe_cost_trend_factor`: pipe only, as the backtest applies
    it; the design was chosen without it, as the backtest chooses designs), and the whole
    CAPEX (pipe, compression, metering, river crossings: as the backtest applies it) times
    the regional factor of ``km_by_country`` weighted by kilometre
    (:func:`planner.economics.regional_factor_for`; a route passes its new-build km by
    country, where the new CAPEX is spent). ``route_options``: the other
    arguments of :func:`planner.economics.route_cost` (compression, crossings, finance).

    Examples
    --------
    >>> import numpy as np
    >>> level = hydraulics.RouteProfile(np.array([0.0, 800.0]), np.zeros(2))
    >>> s = design_new_pipe(5, level)
    >>> trend = economics.pipe_cost_trend_factor(economics.DEFAULT_CURRENCY_YEAR)
    >>> c = new_build_cost(s, 800.0, 5, {"KAZ": 800.0})
    >>> plain = economics.route_cost(s.outer_diameter_mm, 800.0, 5, strings=s.strings,
    ...                              wall_thickness_mm=s.wall_thickness_mm)
    >>> round(c.pipeline_capex_usd / plain.pipeline_capex_usd, 6) == round(
    ...     trend * economics.regional_factor_for("KAZ"), 6)
    True
    """
    trend = economics.pipe_cost_trend_factor(economics.DEFAULT_CURRENCY_YEAR, params,
                                             countries=list(km_by_country))
    return economics.route_cost(
        sizing.outer_diameter_mm, new_km, flow_bcm_y, strings=sizing.strings,
        wall_thickness_mm=sizing.wall_thickness_mm, terrain_factor=terrain_factor * trend,
        regional_factor=economics.regional_factor_for(km_by_country, params), params=params,
        **route_options)


def new_build_km_by_country(pieces: pd.DataFrame) -> dict[str, float]:
    """Kilometres of new pipe per country of a route's pieces
    (:func:`planner.accounting.route_pieces`): where its new CAPEX is spent, so the weights
    of its regional factor (:func:`new_build_cost`); a reused line's km weigh nothing.
    Pieces outside every country are left out (a route whose new pipe lies outside every
    country gets ``{}``, factor 1); a route without new pipe gets the km of all its pieces
    (its only new CAPEX, compression on the reused lines, is along them).

    Examples
    --------
    >>> p = pd.DataFrame({"iso_a3": ["KAZ", "UZB", "UZB", "---"],
    ...                   "kind": ["reuse", "new", "new", "new"], "km": [300.0, 40.0, 60.0, 5.0]})
    >>> new_build_km_by_country(p)
    {'UZB': 100.0}
    >>> new_build_km_by_country(p.assign(kind="reuse"))
    {'KAZ': 300.0, 'UZB': 100.0}
    >>> new_build_km_by_country(p[p["iso_a3"].ne("UZB")])
    {}
    """
    built = pieces["km"] > 0
    has_new = bool((built & pieces["kind"].eq("new")).any())
    known = pieces[built & pieces["iso_a3"].ne(economics.UNASSIGNED)]
    km = (known[known["kind"].eq("new")] if has_new else known).groupby(
        "iso_a3", sort=False)["km"].sum()
    return {str(k): float(v) for k, v in km.items()}


def route_terrain_factor(row: pd.Series) -> float:
    """The whole route's cost-surface cost per km (reused km at the reuse weight), at
    least 1: every route's ``terrain_difficulty`` ranking criterion (its new pipe's CAPEX
    takes the fitted terrain classes instead, :func:`route_geometry`). A cost or length
    that is missing or not finite raises, naming the route.

    Examples
    --------
    >>> route_terrain_factor(pd.Series({"cost": 90.0, "length_km": 100.0}))
    1.0
    >>> route_terrain_factor(pd.Series(  # doctest: +ELLIPSIS
    ...     {"name": "A-B", "cost": float("nan"), "length_km": 100.0}))
    Traceback (most recent call last):
    ...
    ValueError: route A-B: cost-surface cost nan km-eq over 100.0 km is not ...
    """
    cost = float(row.get("cost", np.nan))
    length = float(row.get("length_km", np.nan))
    if not (np.isfinite(cost) and np.isfinite(length) and cost >= 0 and length > 0):
        raise ValueError(f"route {row.get('name', '?')}: cost-surface cost {cost} km-eq over "
                         f"{length} km is not a positive finite figure; the candidate record "
                         f"is incomplete")
    return max(1.0, cost / length)


def scenario_route_id(scenario_name: str, i: int) -> str:
    """A route id unique across scenarios: the scenario's name made folder-safe (first 24
    characters) and a short hash of the whole name, then the candidate's position.

    Examples
    --------
    >>> scenario_route_id("domestic gasification", 3)
    'domestic-gasification-92305f-3'
    >>> scenario_route_id("domestic gasification A", 0) != scenario_route_id(
    ...     "domestic gasification B", 0)
    True
    """
    import hashlib
    import re

    slug = re.sub(r"[^a-z0-9]+", "-", scenario_name.lower()).strip("-")[:24].strip("-")
    digest = hashlib.sha1(scenario_name.encode("utf-8")).hexdigest()[:6]
    return f"{slug or 'scenario'}-{digest}-{i}"


@dataclass(frozen=True)
class RouteGeometry:
    """What of a route's appraisal depends on its geometry only (:func:`route_geometry`):
    a sweep that varies the economics over fixed routes computes it once per route."""

    legs: list[dict[str, Any]]  # the route leg by leg (one "new" leg for a greenfield route)
    pieces: pd.DataFrame  # accounting.route_pieces: per-country pieces, built or reused
    crossings: pd.DataFrame  # accounting.border_crossings of the pieces
    rivers: int  # river crossings of the whole route
    river_points: list[Any]  # where new pipe crosses a river (reused lines cross already)
    river_isos: list[str]  # the country of each of those crossings
    near: pd.DataFrame  # demand centres within reach, with ``iso_a3`` and ``distance_km``
    # km of new pipe per terrain class (planner.terrain_classes): its CAPEX terrain factor
    terrain_km: dict[str, float]
    # the same km per country (rows, ISO3) and class (columns): where the terrain is built
    terrain_km_by_country: pd.DataFrame


def route_geometry(row: pd.Series, layers: Layers,
                   centres: gpd.GeoDataFrame | None = None) -> RouteGeometry:
    """The geometry-only part of :func:`appraise_route` for one candidate ``row``.

    ``centres``: the demand centres with ``unserved_share``
    (:func:`planner.domestic.unserved_shares`; computed when not given).
    """
    legs = row.get("legs")
    reuse = legs if isinstance(legs, list) and any(g["kind"] == "reuse" for g in legs) else None
    route_legs = reuse if reuse is not None else [
        {"kind": "new", "system": "", "length_km": float(row["length_km"]),
         "geometry": row.geometry}]
    pieces = accounting.route_pieces(route_legs, layers.countries,
                                     max_segment_km=SPLIT_SEGMENT_KM)
    crossing_rows = accounting.border_crossings(pieces)
    new_geoms = [g["geometry"] for g in route_legs
                 if g["kind"] == "new" and float(g.get("length_km", 0) or 0) > 0]
    river_pts = accounting.river_crossing_points(new_geoms, layers.water)
    river_isos = list(accounting.nearest_piece_country(np.array([p.x for p in river_pts]),
                                                       np.array([p.y for p in river_pts]),
                                                       pieces))
    if centres is None:
        centres = layers.demand_centres.assign(
            unserved_share=domestic.unserved_shares(layers.demand_centres, layers.countries))
    near = domestic.centres_within_reach(pieces[["lon", "lat"]].to_numpy(), centres,
                                         settings.REACH_KM, piece_km=SPLIT_SEGMENT_KM)
    near["iso_a3"] = domestic.iso_of(near["country"], layers.countries)
    classes = terrain_classes.classifier_for(layers)
    name = f"route {row.get('name', '?')}"
    # one classification of the new legs, by country; the route's km are its column sums
    by_country = accounting.new_build_class_km(route_legs, pieces, classes, name=name)
    terrain_km = {c: float(by_country[c].sum()) for c in terrain_classes.TERRAIN_CLASSES}
    # a lateral runs straight from the route to the centre: its km per terrain class; one
    # that cannot be classified (a centre beyond the DEM) keeps its error, raised only if
    # the lateral is designed (domestic.new_demand): most centres within reach get none
    laterals = shapely.shortest_line(row.geometry, centres.geometry.loc[near.index].to_numpy())
    lateral_km: list[dict[str, float] | None] = []
    lateral_error: list[str] = []
    for g, n in zip(laterals, near["name"], strict=True):
        try:
            lateral_km.append(classes.class_km(
                g, name=f"{name}, lateral to demand centre {n}",
                fix=f"extend the DEM to cover the centre {n} or leave {n} out of the "
                    f"demand centres"))
            lateral_error.append("")
        except terrain_classes.TerrainClassError as err:
            lateral_km.append(None)
            lateral_error.append(str(err))
    near["terrain_km"] = pd.Series(lateral_km, index=near.index, dtype=object)
    near["terrain_error"] = pd.Series(lateral_error, index=near.index, dtype=object)
    return RouteGeometry(route_legs, pieces, crossing_rows,
                         river_crossings(row.geometry, layers.water), list(river_pts),
                         [str(x) for x in river_isos], near, terrain_km, by_country)


def appraise_route(row: pd.Series, layers: Layers, study: Study, scenario: Scenario,
                   members: set[str] | None = None,
                   centres: gpd.GeoDataFrame | None = None, *,
                   geometry: RouteGeometry | None = None,
                   params: pd.DataFrame | None = None) -> dict[str, Any]:
    """Engineering and economics of one candidate route (see the module docstring).

    ``members``: ISO3 codes whose unserved demand counts (default: the destination's
    country); ``centres``: the demand centres with ``unserved_share``
    (:func:`planner.domestic.unserved_shares`; computed when not given).
    ``geometry``: the route's :func:`route_geometry` (per-country pieces, border and river
    crossings, demand within reach), which depends on the geometry only: a sweep that
    varies the economics over fixed routes computes it once and passes it in.
    ``params``: a cost-parameter table in place of the shipped one, used by every cost
    (the design, the route cost, the regional factor, laterals and per-country accounts).
    """
    q = float(row["throughput_bcm_y"])
    dist = np.asarray(row["distance_km"], dtype=float)
    elev = np.nan_to_num(np.asarray(row["elevation_m"], dtype=float), nan=0.0)
    profile = hydraulics.RouteProfile(dist, elev)
    length = float(profile.length_km)
    legs = row.get("legs")
    # a reuse route's legs; None for a greenfield route
    reuse = legs if isinstance(legs, list) and any(g["kind"] == "reuse" for g in legs) else None
    if reuse is not None:
        # new pipe only on the new legs; the reused lines are assessed as they are
        new_parts = [p for leg, p in zip(reuse, leg_profiles(reuse, profile), strict=True)
                     if leg["kind"] == "new" and p is not None]
        build = _join(new_parts) if new_parts else hydraulics.RouteProfile.flat(1.0)
    else:
        build = profile
    # the fuel the compressors burn is the same gas: where the study prices gas at the
    # supply point, its fuel is priced there too (as the system plan prices it)
    params = fuel_priced_at_supply(study, scenario, params)
    sizing = design_new_pipe(
        q, build, discount_rate=_study_param(study, scenario, "discount_rate"),
        lifetime_years=_study_param(study, scenario, "lifetime_years"),
        utilisation=_study_param(study, scenario, "utilisation"), params=params)
    max_p = sizing.pressure_class_mpa * 10.0
    if reuse is not None:
        existing = reused_legs(reuse, profile, q, layers.compressor_stations,
                               new_build_pressure_bar=max_p)
    else:
        existing = pd.DataFrame(columns=["assessed", "length_km", "capacity_bcm_y",
                                         "new_stations", "new_power_kw", "fuel_bcm_y"])
    if reuse is not None:
        # each new leg from the pressure it receives (a link after a reused line gets
        # that line's pressure, not a head station of its own)
        sizing = dataclasses.replace(
            sizing, stations=new_build_plan(reuse, profile, sizing, q, existing))
    plan = sizing.stations  # per string, placed on the new legs' profile by the design
    power_kw = plan.total_power_kw * sizing.strings + float(existing["new_power_kw"].sum())
    fuel = plan.total_fuel_bcm_y * sizing.strings + float(existing["fuel_bcm_y"].sum())
    n_stations = plan.count + int(existing["new_stations"].sum())

    new_km = float(row.get("new_build_km", length))
    reused_km = float(row.get("reused_km", 0.0) or 0.0)
    geo = route_geometry(row, layers, centres) if geometry is None else geometry
    # on the new pipe's CAPEX: the fitted class factors over its km per terrain class
    terrain_factor = terrain_classes.terrain_factor_from_km(
        geo.terrain_km, params, name=f"route {row.get('name', '?')}")
    pieces, crossing_rows = geo.pieces, geo.crossings
    crossings = len(crossing_rows)
    new_crossings = int(crossing_rows["new_build"].sum()) if crossings else 0
    rivers = geo.rivers
    river_pts, river_isos = geo.river_points, geo.river_isos
    km_by = pieces.groupby("iso_a3", sort=False)["km"].sum()
    on_route = km_by[(km_by > 0) & (km_by.index != economics.UNASSIGNED)]
    countries = ", ".join(on_route.sort_values(ascending=False).index)
    rate = _study_param(study, scenario, "discount_rate")
    years = _study_param(study, scenario, "lifetime_years")
    util = _study_param(study, scenario, "utilisation")
    new_km_by_country = new_build_km_by_country(pieces)
    cost = new_build_cost(
        sizing, max(new_km, 1e-3), q, new_km_by_country,
        terrain_factor=terrain_factor, params=params,
        compressor_power_kw=power_kw, fuel_bcm_y=fuel, border_crossings=new_crossings,
        compressor_stations=plan.count * sizing.strings + int(existing["new_stations"].sum()),
        water_crossings=len(river_pts),
        discount_rate=rate, lifetime_years=years, utilisation=util,
    )
    rate = economics.parameter("discount_rate", params) if rate is None else rate
    years = economics.parameter("lifetime_years", params) if years is None else years
    util = economics.parameter("utilisation", params) if util is None else util
    tariff = cost.tariff_usd_per_1000m3
    # Reused kilometres pay the existing operator's transit tariff (escalated).
    reuse_tariff = 0.0
    if reused_km > 0:
        per100 = _study_param(study, scenario,
                              "existing_transit_tariff_usd_per_1000m3_per_100km")
        if per100 is None:
            per100 = economics.parameter("existing_transit_tariff_usd_per_1000m3_per_100km",
                                         params, currency_year=economics.DEFAULT_CURRENCY_YEAR)
        reuse_tariff = per100 * reused_km / 100.0
    tariff_total = tariff + reuse_tariff
    supply_price = _study_param(study, scenario, "supply_price_usd_per_1000m3")
    if supply_price is None:
        supply_price = economics.parameter("fuel_gas_price_usd_per_1000m3", params,
                                           currency_year=economics.DEFAULT_CURRENCY_YEAR)
    # the tariff already recovers the fuel's cost (in the OPEX it levelizes), so the gas
    # bought at the source is not grossed up for the fuel as well: that counted it twice
    delivered = economics.delivered_cost_usd_per_1000m3(supply_price, tariff_total)
    alternative = _study_param(study, scenario, "alternative_gas_price_usd_per_1000m3")
    if alternative is None:
        alternative = economics.parameter("alternative_gas_price_usd_per_1000m3", params,
                                          currency_year=economics.DEFAULT_CURRENCY_YEAR)
    if reuse is not None:
        pressure, at = _route_pressure(reuse, profile, plan, existing)
        station_km = [round(x, 1) for x in at]
    else:
        station_km = [round(float(x), 1) for x in plan.stations["distance_km"]]
        pressure = np.interp(dist, np.asarray(plan.profile["distance_km"], dtype=float),
                             np.asarray(plan.profile["pressure_bar"], dtype=float))

    # domestic needs: demand within reach (any centre), and the new demand it can add
    near = geo.near
    spare = q * (1.0 - util)
    if members is None:
        members = domestic.iso_codes([str(row.get("destination_country") or "")],
                                     layers.countries)
    own = near["name"].astype(str).eq(str(row.get("destination", "")))
    offtakes = domestic.new_demand(near[~own], members, spare, params=params)
    served = offtakes[offtakes["new_demand_bcm_y"] > 0]
    per_country_demand = pd.DataFrame({
        "demand_within_reach_bcm_y": pd.to_numeric(near["demand_bcm_y"], errors="coerce")
        .fillna(0.0).groupby(near["iso_a3"].to_numpy()).sum(),
        "new_demand_bcm_y": offtakes.groupby("iso_a3")["new_demand_bcm_y"].sum(),
        "lateral_capex_musd": offtakes.groupby("iso_a3")["lateral_capex_musd"].sum(),
    }).fillna(0.0)
    names = dict(zip(layers.countries["iso_a3"], layers.countries["name"], strict=False))
    names[economics.UNASSIGNED] = "outside any country"
    buyer = next(iter(domestic.iso_codes([str(row.get("destination_country") or "")],
                                         layers.countries)), None)
    split = accounting.country_accounts(
        pieces, cost, throughput_bcm_y=q, utilisation=util, discount_rate=rate,
        lifetime_years=years,
        stations=route_stations(reuse, profile, plan, sizing.strings, existing),
        fuel_bcm_y=fuel, profile_km=profile.length_km, crossings=crossing_rows,
        river_isos=river_isos, reuse_tariff_usd_per_1000m3=reuse_tariff, buyer_iso=buyer,
        delivered_cost_usd_per_1000m3=delivered,
        alternative_price_usd_per_1000m3=alternative, names=names,
        extra=per_country_demand, params=params, terrain_km=geo.terrain_km_by_country,
        name=f"route {row.get('name', '?')}")
    assessed = existing[existing["assessed"].astype(bool)]
    return {
        "diameter_mm": sizing.outer_diameter_mm,
        "wall_mm": sizing.wall_thickness_mm,
        "pressure_class_mpa": sizing.pressure_class_mpa,
        "strings": sizing.strings,
        "looped": sizing.looped,
        "sizing_note": sizing.message,
        "stations": n_stations,
        "station_km": station_km,
        "compressor_power_mw": power_kw / 1000.0,
        "fuel_bcm_y": fuel,
        "pressure_bar": pressure,
        "capex_musd": cost.capex_usd / 1e6,
        "opex_musd_y": cost.opex_usd_per_year / 1e6,
        "utilisation": util,
        "tariff_usd_per_1000m3": tariff_total,
        "tariff_usd_per_1000m3_100km": tariff_total / (length / 100.0),
        "new_build_tariff_usd_per_1000m3": tariff,
        "reused_tariff_usd_per_1000m3": reuse_tariff,
        "tariff_revenue_musd_y": tariff_total * q * util,
        "delivered_cost_usd_per_1000m3": delivered,
        "alternative_price_usd_per_1000m3": alternative,
        "demand_within_reach_bcm_y": float(per_country_demand["demand_within_reach_bcm_y"]
                                           .sum()),
        "spare_capacity_bcm_y": spare,
        "new_demand_bcm_y": float(offtakes["new_demand_bcm_y"].sum()),
        "lateral_capex_musd": float(offtakes["lateral_capex_musd"].sum()),
        "new_demand_centres": "; ".join(
            f"{r.name} ({r.iso_a3}) {r.new_demand_bcm_y:.2f} bcm/y, {r.distance_km:.0f} km "
            f"lateral {r.lateral_diameter_mm:.0f} mm, {r.lateral_capex_musd:.1f} M USD"
            for r in served.itertuples()),
        "border_crossings": crossings,
        "new_build_border_crossings": new_crossings,
        "countries": countries,
        "n_countries": len(on_route),
        "water_crossings": rivers,
        "new_build_water_crossings": len(river_pts),
        "highest_point_m": float(np.nanmax(elev)) if len(elev) else np.nan,
        # the ranking criterion: the whole route's cost per km (reused km at the reuse
        # weight), floored at 1; the new pipe's CAPEX takes the fitted class factors
        "terrain_difficulty": route_terrain_factor(row),
        "new_build_terrain_factor": terrain_factor,
        **{f"new_build_{c}_km": geo.terrain_km[c] for c in terrain_classes.TERRAIN_CLASSES},
        # the regional factor of the new CAPEX (weighted by new km per country)
        "regional_factor": economics.regional_factor_for(new_km_by_country, params),
        "new_build_tariff_per_100km": cost.tariff_usd_per_1000m3_per_100km,
        "country_split": split,
        "offtakes": offtakes,
        # the existing lines reused: bottleneck capacity, new compression, per-leg table
        "reused_capacity_bcm_y": (float(assessed["capacity_bcm_y"].min())
                                  if len(assessed) else np.nan),
        "reused_assessed_km": float(assessed["length_km"].sum()),
        "reuse_compression_mw": float(existing["new_power_kw"].sum()) / 1000.0,
        "reuse_legs": (existing.drop(columns=[c for c in existing if str(c).startswith("_")])
                       .to_dict("records") if reuse is not None else None),
    }


def demand_setting(cands: pd.DataFrame, layers: Layers, study: Study
                   ) -> tuple[set[str], gpd.GeoDataFrame]:
    """The member countries whose unserved demand counts (the study's, or the candidates'
    destination countries) and the demand centres with their unserved shares."""
    members = domestic.iso_codes(
        study.member_countries or [str(c) for c in cands.get(
            "destination_country", pd.Series(dtype=object)).dropna().unique()],
        layers.countries)
    centres = layers.demand_centres.assign(
        unserved_share=domestic.unserved_shares(layers.demand_centres, layers.countries))
    missing = domestic.members_without_demand(centres, members, layers.countries)
    if missing and tuple(missing) not in _WARNED_NO_DEMAND:
        _WARNED_NO_DEMAND.add(tuple(missing))
        log.warning("no demand centre with a demand estimate in %s: the new demand a "
                    "route can add counts 0 there; add the country's cited consumption to "
                    "planner/data/national_gas_consumption.csv or give a demand_centres "
                    "layer with demand_bcm_y ([layers.demand_centres] in the study)",
                    ", ".join(missing))
    return members, centres


#: Member countries already warned of (:func:`demand_setting`): once per run, not per
#: scenario.
_WARNED_NO_DEMAND: set[tuple[str, ...]] = set()


def appraise_candidates(cands: gpd.GeoDataFrame, layers: Layers, study: Study,
                        scenario: Scenario) -> gpd.GeoDataFrame:
    """Add the engineering and economic figures to every candidate.

    New demand counts in the study's ``member_countries`` (or, when it names none, the
    destinations' countries). Route ids are unique across scenarios
    (:func:`scenario_route_id`).
    """
    members, centres = demand_setting(cands, layers, study)
    rows = []
    keep = []
    for i, row in cands.iterrows():
        try:
            rows.append(appraise_route(row, layers, study, scenario, members, centres))
            keep.append(i)
        except ValueError as exc:
            log.warning("candidate %s dropped: %s", row.get("name"), exc)
    out = cands.loc[keep].copy()
    figures = pd.DataFrame(rows, index=keep)
    for c in figures.columns:
        out[c] = figures[c]
    out["route_id"] = [scenario_route_id(scenario.name, i) for i in range(len(out))]
    return out


def criteria(cands: pd.DataFrame) -> pd.DataFrame:
    """The criteria table :mod:`planner.scoring` ranks, indexed by ``route_id``."""
    t = pd.DataFrame(
        {
            "length_km": cands["length_km"],
            "new_build_km": cands["new_build_km"],
            "reused_km": cands["reused_km"].fillna(0.0),
            "capex_usd": cands["capex_musd"] * 1e6,
            "tariff_usd_per_1000m3": cands["tariff_usd_per_1000m3"],
            "delivered_cost_usd_per_1000m3": cands["delivered_cost_usd_per_1000m3"],
            "new_demand_bcm_y": cands["new_demand_bcm_y"],
            "demand_within_reach_bcm_y": cands["demand_within_reach_bcm_y"],
            "countries": cands["n_countries"],
            "border_crossings": cands["border_crossings"],
            "terrain_difficulty": cands["terrain_difficulty"],
            "water_crossings": cands["water_crossings"],
            "highest_point_m": cands["highest_point_m"],
            "compressor_stations": cands["stations"],
            "compressor_power_mw": cands["compressor_power_mw"],
        }
    ).astype(float)
    t.index = pd.Index(cands["route_id"], name="route_id")
    return t


#: Criteria of the Pareto front shown to planners: cost, price at destination, new demand.
PARETO_CRITERIA = ["capex_usd", "delivered_cost_usd_per_1000m3", "new_demand_bcm_y"]


def rank_candidates(cands: gpd.GeoDataFrame, scenario: Scenario,
                    n_samples: int = 500) -> gpd.GeoDataFrame:
    """Score and rank candidates with the scenario's weight profile.

    Adds ``score`` (0-1, higher is better), ``rank`` (1 = best), ``pareto`` (on
    :data:`PARETO_CRITERIA`), and from :func:`planner.scoring.rank_stability` (seeded
    Monte Carlo over uncertain weights) ``p_best`` and ``expected_rank``.
    """
    from planner import scoring

    if len(cands) == 0:
        raise ValueError(f"scenario {scenario.name!r}: no candidate route is left to rank")
    table = criteria(cands)
    result = scoring.rank(table, scenario.weight_profile)
    stability = scoring.rank_stability(table, scenario.weight_profile, n_samples=n_samples)
    out = cands.copy()
    out["score"] = result["score"].to_numpy()
    out["rank"] = result["rank"].to_numpy().astype(int)
    out["pareto"] = scoring.pareto_front(table, PARETO_CRITERIA).to_numpy()
    out["p_best"] = stability["p_best"].to_numpy()
    out["expected_rank"] = stability["expected_rank"].to_numpy()
    return out.sort_values(["rank", "score"], ascending=[True, False])


def per_country_table(cands: gpd.GeoDataFrame) -> pd.DataFrame:
    """Who gains what: per route and per country, the accounts of
    :func:`planner.accounting.country_accounts` (built and used km, CAPEX, OPEX, fuel,
    transit volume and revenue, net positions, demand within reach and new demand), with
    ``scenario`` (when the candidates have one), ``route_id`` and ``name`` in front. A
    route's rows add up to its totals (see :mod:`planner.accounting`)."""
    frames = [_tagged(r["country_split"], r, "name") for _, r in cands.iterrows()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["scenario", "route_id", "name", *accounting.COUNTRY_COLUMNS])


def _tagged(table: pd.DataFrame, route: pd.Series, name_column: str) -> pd.DataFrame:
    """``table`` with the route's ``scenario`` (when it has one), ``route_id`` and name
    (as ``name_column``) in front."""
    t = table.copy()
    t.insert(0, name_column, route["name"])
    t.insert(0, "route_id", route["route_id"])
    if "scenario" in route.index:
        t.insert(0, "scenario", route["scenario"])
    return t


def offtakes_table(cands: gpd.GeoDataFrame) -> pd.DataFrame:
    """The demand centres each candidate would supply (:func:`planner.domestic.new_demand`
    rows with a new demand), with ``scenario``, ``route_id`` and ``name``."""
    frames = []
    for _, r in cands.iterrows():
        t = r.get("offtakes")
        if not isinstance(t, pd.DataFrame):
            continue
        frames.append(_tagged(t[t["new_demand_bcm_y"] > 0], r, "route"))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["scenario", "route_id", "route", *domestic.NEW_DEMAND_COLUMNS])


#: Columns of :func:`reused_lines_table`.
REUSED_LINE_COLUMNS = [
    "system", "reverse", "length_km", "strings", "diameter_mm", "max_pressure_mpa",
    "max_pressure_basis", "capacity_bcm_y", "existing_stations", "new_stations",
    "new_power_kw", "fuel_bcm_y", "note",
]


def reused_lines_table(cands: pd.DataFrame) -> pd.DataFrame:
    """The existing lines each reuse candidate goes by, one row per leg (from
    :func:`reused_legs`), with the candidate's ``scenario`` (if any), ``route_id``,
    ``name`` and ``throughput_bcm_y``."""
    frames = []
    for _, r in cands.iterrows():
        legs = r.get("reuse_legs")
        if not isinstance(legs, list) or not legs:
            continue
        t = pd.DataFrame(legs).reindex(columns=REUSED_LINE_COLUMNS)
        t.insert(0, "throughput_bcm_y", r["throughput_bcm_y"])
        t.insert(0, "name", r["name"])
        t.insert(0, "route_id", r["route_id"])
        if "scenario" in r.index:
            t.insert(0, "scenario", r["scenario"])
        frames.append(t)
    if not frames:
        return pd.DataFrame(columns=["scenario", "route_id", "name", "throughput_bcm_y",
                                     *REUSED_LINE_COLUMNS])
    return pd.concat(frames, ignore_index=True)
