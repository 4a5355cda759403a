"""Turn candidate routes into the numbers a planner decides on, and rank them.

For each candidate (a row of :func:`planner.runner.generate_candidates`): size the pipe
for its throughput (:func:`planner.hydraulics.size_pipe`), place compressor stations on
its terrain profile, cost it (:func:`planner.economics.route_cost`, with the terrain
multiplier the route met on the cost surface), split it per country
(:func:`planner.economics.per_country_split`), and fill the criteria table that
:mod:`planner.scoring` ranks.
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner import economics, hydraulics, settings
from planner.layers import Layers
from planner.study import Scenario, Study

log = logging.getLogger(__name__)

#: Piece length (km) of the per-country split: borders are located to within this.
SPLIT_SEGMENT_KM = 2.0


def _study_param(study: Study, scenario: Scenario, name: str) -> float | None:
    if name in scenario.costs:
        return float(scenario.costs[name])
    if name in study.costs:
        return float(study.costs[name])
    return None


def river_crossings(route: shapely.Geometry, water: gpd.GeoDataFrame) -> int:
    """How many times a route crosses the rivers of the water layer."""
    rivers = water[water["kind"].eq("river")]
    hits = rivers[rivers.intersects(route)]
    n = 0
    for g in hits.geometry:
        inter = route.intersection(g)
        n += len(shapely.get_parts(inter))
    return n


def appraise_route(row: pd.Series, layers: Layers, study: Study, scenario: Scenario
                   ) -> dict[str, Any]:
    """Engineering and economics of one candidate route (see the module docstring)."""
    q = float(row["throughput_bcm_y"])
    dist = np.asarray(row["distance_km"], dtype=float)
    elev = np.nan_to_num(np.asarray(row["elevation_m"], dtype=float), nan=0.0)
    profile = hydraulics.RouteProfile(dist, elev)
    length = float(profile.length_km)
    sizing = hydraulics.size_pipe(q, length, profile)
    pipe = hydraulics.Pipe(sizing.outer_diameter_mm, sizing.wall_thickness_mm)
    max_p = sizing.pressure_class_mpa * 10.0
    min_in = max_p / 1.5
    per_string = q / sizing.strings
    plan = hydraulics.place_compressor_stations(profile, per_string, pipe, max_p, min_in,
                                                length_km=length, supply_pressure_bar=min_in,
                                                step_km=5.0)
    power_kw = plan.total_power_kw * sizing.strings
    fuel = plan.total_fuel_bcm_y * sizing.strings

    new_km = float(row.get("new_build_km", length))
    reused_km = float(row.get("reused_km", 0.0) or 0.0)
    terrain_factor = max(1.0, float(row["cost"]) / max(float(row["length_km"]), 1e-9))
    rivers = river_crossings(row.geometry, layers.water)

    # One split per route (the slow part); CAPEX and tariff scale it later.
    split = economics.per_country_split(
        row.geometry, layers.countries, 1.0, q, 1.0, layers.demand_centres, settings.REACH_KM,
        max_segment_km=SPLIT_SEGMENT_KM)
    crossings = int(split["border_crossings"].sum())
    on_route = split[(split["km"] > 0) & (split["iso_a3"] != "---")]
    countries = ", ".join(on_route.sort_values("km", ascending=False)["iso_a3"])
    cost = economics.route_cost(
        sizing.outer_diameter_mm, max(new_km, 1e-3), q, strings=sizing.strings,
        compressor_power_kw=power_kw, fuel_bcm_y=fuel, border_crossings=crossings,
        water_crossings=rivers, terrain_factor=terrain_factor,
        discount_rate=_study_param(study, scenario, "discount_rate"),
        lifetime_years=_study_param(study, scenario, "lifetime_years"),
        utilisation=_study_param(study, scenario, "utilisation"),
    )
    tariff = cost.tariff_usd_per_1000m3
    # Reused kilometres pay the existing operator's transit tariff (escalated).
    reuse_tariff = 0.0
    if reused_km > 0:
        per100 = economics.parameter("existing_transit_tariff_usd_per_1000m3_per_100km",
                                     currency_year=economics.DEFAULT_CURRENCY_YEAR)
        reuse_tariff = per100 * reused_km / 100.0
    tariff_total = tariff + reuse_tariff
    supply_price = _study_param(study, scenario, "supply_price_usd_per_1000m3")
    if supply_price is None:
        supply_price = economics.parameter("fuel_gas_price_usd_per_1000m3",
                                           currency_year=economics.DEFAULT_CURRENCY_YEAR)
    delivered = economics.delivered_cost_usd_per_1000m3(supply_price, tariff_total,
                                                        plan.fuel_share)
    stations = plan.stations
    pressure = np.interp(dist, np.asarray(plan.profile["distance_km"], dtype=float),
                         np.asarray(plan.profile["pressure_bar"], dtype=float))
    return {
        "diameter_mm": sizing.outer_diameter_mm,
        "wall_mm": sizing.wall_thickness_mm,
        "pressure_class_mpa": sizing.pressure_class_mpa,
        "strings": sizing.strings,
        "looped": sizing.looped,
        "sizing_note": sizing.message,
        "stations": len(stations),
        "station_km": [round(float(x), 1) for x in stations["distance_km"]],
        "compressor_power_mw": power_kw / 1000.0,
        "fuel_bcm_y": fuel,
        "pressure_bar": pressure,
        "capex_musd": cost.capex_usd / 1e6,
        "opex_musd_y": cost.opex_usd_per_year / 1e6,
        "tariff_usd_per_1000m3": tariff_total,
        "tariff_usd_per_1000m3_100km": tariff_total / (length / 100.0),
        "delivered_cost_usd_per_1000m3": delivered,
        "demand_served_bcm_y": float(split["demand_served_bcm_y"].sum()),
        "border_crossings": crossings,
        "countries": countries,
        "n_countries": len(on_route),
        "water_crossings": rivers,
        "highest_point_m": float(np.nanmax(elev)) if len(elev) else np.nan,
        "terrain_difficulty": terrain_factor,
        "new_build_tariff_per_100km": cost.tariff_usd_per_1000m3_per_100km,
        "country_split": split,
    }


def appraise_candidates(cands: gpd.GeoDataFrame, layers: Layers, study: Study,
                        scenario: Scenario) -> gpd.GeoDataFrame:
    """Add the engineering and economic figures to every candidate."""
    rows = []
    keep = []
    for i, row in cands.iterrows():
        try:
            rows.append(appraise_route(row, layers, study, scenario))
            keep.append(i)
        except ValueError as exc:
            log.warning("candidate %s dropped: %s", row.get("name"), exc)
    out = cands.loc[keep].copy()
    figures = pd.DataFrame(rows, index=keep)
    for c in figures.columns:
        out[c] = figures[c]
    out["route_id"] = [f"{scenario.name[:12]}-{i}" for i in range(len(out))]
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
            "demand_served_bcm_y": cands["demand_served_bcm_y"],
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


#: Criteria of the Pareto front shown to planners: cost, price at destination, demand.
PARETO_CRITERIA = ["capex_usd", "delivered_cost_usd_per_1000m3", "demand_served_bcm_y"]


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
    """Who gains what: per route and per country (km, CAPEX share, transit volume and
    revenue at the route's new-build tariff, demand served, border crossings); a route's
    rows sum to its totals.

    Scales the unit split made during appraisal (CAPEX 1 USD, tariff 1 USD per 1000 m³
    per 100 km): CAPEX by kilometres, revenue by transport work.
    """
    frames = []
    for _, r in cands.iterrows():
        t = r["country_split"].copy()
        per100 = float(r["new_build_tariff_per_100km"])
        t = t.rename(columns={"name": "country"})
        t["capex_musd"] = t["capex_share"] * float(r["capex_musd"])
        t["transit_revenue_musd_y"] = t["transit_revenue_usd_per_year"] * per100 / 1e6
        t = t.drop(columns=["capex_usd", "transit_revenue_usd_per_year"])
        t.insert(0, "route_id", r["route_id"])
        t.insert(1, "name", r["name"])
        frames.append(t)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
