"""Domestic needs along a route: demand within reach, and the new demand a route can add.

Two measures, kept apart because they answer different questions:

- **Demand within reach** (``demand_within_reach_bcm_y``): the estimated demand of every
  demand centre within :data:`planner.settings.REACH_KM` of the route, whatever its
  country and whether or not it has gas already. It says how many people live near the
  line, not how much gas the line would add.
- **New demand a route can add** (``new_demand_bcm_y``, :func:`new_demand`): for each
  centre within reach that is in one of the study's member countries and has no gas
  access, its unserved demand (an estimate: national consumption × population share, times
  the unserved share of :func:`unserved_shares`; a centre has gas access when an operating
  pipeline lies within reach, see :func:`planner.curation.demand_centres_from_places`).
  The route's own destination is left out (its demand is what the route delivers). The
  total is capped by the route's
  spare capacity, its throughput minus what it delivers to its destination in a year
  (throughput × (1 − utilisation), the convention of :mod:`planner.accounting`); centres
  are served cheapest lateral per bcm first. Each served centre needs an offtake lateral
  from the route (straight line to the nearest point of the route, no detour: a lower
  bound), sized as the smallest :data:`LATERAL_DIAMETERS_MM` pipe that carries the
  centre's share without compression and costed like new pipe
  (:func:`planner.economics.pipeline_capex_usd`).

Published shares of the population with gas (``planner/data/gasification_share.csv``,
cited and dated) check the proximity rule (:func:`gasification_check` sets them beside
the share of the centres' population the rule says has access) and correct it where the
rule finds too few supplied (:func:`unserved_shares`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from planner import economics, hydraulics
from planner.geodesy import nearest_within_km

log = logging.getLogger(__name__)

GASIFICATION_CSV = Path(__file__).resolve().parent / "data" / "gasification_share.csv"

#: Outside diameters (mm) of offtake laterals: standard Russian/CIS line-pipe sizes
#: (GOST 20295 / GOST 10704 ranges) from 159 to 720 mm.
LATERAL_DIAMETERS_MM: tuple[float, ...] = (159, 219, 273, 325, 377, 426, 530, 720)
#: Design pressure (MPa) of a lateral: the lowest standard class of
#: :data:`planner.hydraulics.PRESSURE_CLASSES_MPA`; gas enters at this pressure and may
#: fall to it / :data:`LATERAL_PRESSURE_RATIO` at the city gate (planning assumption).
LATERAL_PRESSURE_MPA = hydraulics.PRESSURE_CLASSES_MPA[0]
LATERAL_PRESSURE_RATIO = 1.5

#: Columns of :func:`new_demand`.
NEW_DEMAND_COLUMNS = ["centre_id", "name", "iso_a3", "distance_km", "demand_bcm_y",
                      "gas_access", "unserved_share", "member", "unserved_bcm_y",
                      "new_demand_bcm_y", "lateral_diameter_mm", "lateral_capex_musd"]


def load_gasification_shares(path: str | Path | None = None) -> pd.DataFrame:
    """The published share of the population with gas per country (cited, dated).

    Examples
    --------
    >>> t = load_gasification_shares()
    >>> float(t.loc["KAZ", "share_of_population"]), int(t.loc["KAZ", "year"])
    (0.59, 2022)
    """
    p = Path(path) if path is not None else GASIFICATION_CSV
    df = pd.read_csv(p)
    need = ["country", "iso_a3", "share_of_population", "year", "source"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"{p}: missing columns {missing}")
    bad = df.index[~df["share_of_population"].between(0, 1) | df["source"].isna()]
    if len(bad):
        raise ValueError(f"{p}: rows {[int(i) + 2 for i in bad]}: share_of_population must "
                         "be in [0, 1] and source given")
    return df.set_index("iso_a3")


def iso_codes(countries: Iterable[str], country_layer: gpd.GeoDataFrame) -> set[str]:
    """ISO3 codes for country names or codes (as the countries layer spells them).

    Examples
    --------
    >>> c = gpd.GeoDataFrame({"iso_a3": ["KAZ"], "name": ["Kazakhstan"]}, geometry=[None])
    >>> sorted(iso_codes(["Kazakhstan", "uzb"], c))
    ['KAZ', 'UZB']
    """
    by_name = {str(n).casefold(): str(i) for n, i in
               zip(country_layer["name"], country_layer["iso_a3"], strict=True)}
    return {by_name.get(str(c).casefold(), str(c).upper()) for c in countries if c}


def iso_of(names: pd.Series, country_layer: gpd.GeoDataFrame) -> pd.Series:
    """ISO3 code of each country name (or code) of a series, on its index."""
    by_name = {str(n).casefold(): str(i) for n, i in
               zip(country_layer["name"], country_layer["iso_a3"], strict=True)}
    return names.map(lambda c: by_name.get(str(c).casefold(), str(c).upper()))


def members_without_demand(centres: pd.DataFrame, members: Iterable[str],
                           country_layer: gpd.GeoDataFrame) -> list[str]:
    """Member countries (ISO3) with no demand centre that has a ``demand_bcm_y`` (or no
    centre at all): their new demand can only count 0 (the shipped layer has demand only where
    ``planner/data/national_gas_consumption.csv`` cites the country's consumption).

    Examples
    --------
    >>> c = gpd.GeoDataFrame({"iso_a3": ["KAZ", "GEO"], "name": ["Kazakhstan", "Georgia"]},
    ...                      geometry=[None, None])
    >>> t = pd.DataFrame({"country": ["Kazakhstan", "Georgia"], "demand_bcm_y": [0.5, None]})
    >>> members_without_demand(t, {"KAZ", "GEO", "ARM"}, c)
    ['ARM', 'GEO']
    """
    iso = iso_of(centres["country"], country_layer)
    known = pd.to_numeric(centres["demand_bcm_y"], errors="coerce").notna()
    with_demand = set(iso[known])
    return sorted(set(members) - with_demand)


def centres_within_reach(mid_lonlat: np.ndarray, centres: gpd.GeoDataFrame, reach_km: float,
                         crs: str | None = None, piece_km: float = 0.0
                         ) -> pd.DataFrame:
    """The demand centres within ``reach_km`` of a route given by its piece midpoints, with
    their geodesic distance to the nearest midpoint (``distance_km``),
    pre-filtered with an STRtree in ``crs`` (default: centred on the route)
    (:func:`planner.geodesy.nearest_within_km`). A centre counts up to
    ``reach_km + piece_km / 2`` from a midpoint (the pieces' half length)."""
    if len(centres) == 0 or len(mid_lonlat) == 0:
        return centres.iloc[0:0].assign(distance_km=[])
    pts = np.column_stack([centres.geometry.x.to_numpy(), centres.geometry.y.to_numpy()])
    idx, dist = nearest_within_km(pts, mid_lonlat, reach_km + piece_km / 2, crs)
    out = pd.DataFrame(centres.drop(columns="geometry").iloc[idx])
    out["distance_km"] = dist
    return out


def lateral_design(flow_bcm_y: float, length_km: float, iso_a3: str = "",
                   params: pd.DataFrame | None = None, *,
                   terrain_factor: float = 1.0) -> tuple[float, float]:
    """Diameter (mm) and CAPEX (USD) of an offtake lateral for ``flow_bcm_y`` over
    ``length_km`` (at least 1 km) in the country ``iso_a3``: the smallest
    :data:`LATERAL_DIAMETERS_MM` pipe that carries the flow without compression from
    :data:`LATERAL_PRESSURE_MPA`, costed with :func:`planner.economics.pipeline_capex_usd`
    at the country's regional factor and the fitted pipe-cost trend at the study's currency
    year (:func:`planner.economics.pipe_cost_trend_factor`) and ``terrain_factor`` on the
    line pipe (the fitted terrain-class factors over its km,
    :func:`planner.terrain_classes.terrain_factor_from_km`; 1: flat land) (the largest pipe
    when none is enough); ``params``: a cost-parameter table in place of the shipped one.

    Examples
    --------
    >>> d, usd = lateral_design(0.2, 40)
    >>> d, round(usd / 1e6, 1)
    (219, 37.8)
    >>> round(lateral_design(0.2, 40, "KAZ")[1] / usd, 4) == round(
    ...     economics.regional_factor_for("KAZ"), 4)
    True
    """
    length = max(float(length_km), 1.0)
    p_in = LATERAL_PRESSURE_MPA * 10.0
    p_out = p_in / LATERAL_PRESSURE_RATIO
    chosen = LATERAL_DIAMETERS_MM[-1]
    for d in LATERAL_DIAMETERS_MM:
        pipe = hydraulics.Pipe.for_pressure(d, LATERAL_PRESSURE_MPA)
        if hydraulics.pipe_capacity_bcm_y(pipe, p_in, p_out, length_km=length) >= flow_bcm_y:
            chosen = d
            break
    # no country: the 'none' region (1.0) times capex_multiplier, as for routes
    factor = economics.regional_factor_for(iso_a3 or [], params)
    # new pipe at the study's currency year: the fitted pipe-cost trend, as on the trunk
    trend = economics.pipe_cost_trend_factor(economics.DEFAULT_CURRENCY_YEAR, params,
                                             countries=[iso_a3])
    capex = float(economics.pipeline_capex_usd(chosen, length,
                                               terrain_factor=trend * float(terrain_factor),
                                               regional_factor=factor, params=params)["total"])
    return chosen, capex


def new_demand(near: pd.DataFrame, members: set[str], spare_bcm_y: float,
               params: pd.DataFrame | None = None) -> pd.DataFrame:
    """The new demand a route can add (see the module docstring).

    Parameters
    ----------
    near : DataFrame
        Centres within reach: ``centre_id``, ``name``, ``iso_a3``, ``demand_bcm_y``,
        ``gas_access``, ``distance_km`` (to the route), optionally ``unserved_share``
        (:func:`unserved_shares`; 1 where missing) and ``terrain_km`` (the lateral's km
        per terrain class, :mod:`planner.terrain_classes`, for its pipe's terrain factor;
        without the column laterals are priced as flat land, factor 1) with
        ``terrain_error`` (why a lateral's classes are unknown, empty when known: raised
        only for a centre whose lateral is designed, a member's with unserved demand).
        Leave out the route's own destination: its demand is what the route delivers.
    members : set of str
        ISO3 codes of the study's member countries; centres elsewhere add nothing.
    spare_bcm_y : float
        What the route can spare for offtakes in a year; the total is capped by it.
    params : DataFrame, optional
        A cost-parameter table for the laterals in place of the shipped one.

    Returns
    -------
    pandas.DataFrame
        :data:`NEW_DEMAND_COLUMNS`, one row per centre within reach, cheapest lateral per
        bcm first; ``new_demand_bcm_y`` sums to at most ``spare_bcm_y``.

    Examples
    --------
    >>> near = pd.DataFrame({"centre_id": ["a", "b", "c"], "name": ["A", "B", "C"],
    ...     "iso_a3": ["KAZ", "KAZ", "RUS"], "demand_bcm_y": [0.3, 0.4, 0.5],
    ...     "gas_access": [False, True, False], "distance_km": [10.0, 5.0, 2.0]})
    >>> t = new_demand(near, {"KAZ"}, spare_bcm_y=1.0)
    >>> sorted(t.set_index("name")["new_demand_bcm_y"].items())
    [('A', 0.3), ('B', 0.0), ('C', 0.0)]
    """
    t = near.reindex(columns=[c for c in NEW_DEMAND_COLUMNS if c in near.columns]).copy()
    t["unserved_share"] = 1.0
    demand = pd.to_numeric(t["demand_bcm_y"], errors="coerce").fillna(0.0)
    access = t.get("gas_access", pd.Series(False, index=t.index)).fillna(False).astype(bool)
    share = pd.to_numeric(near.get("unserved_share", pd.Series(1.0, index=near.index)),
                          errors="coerce").fillna(1.0)
    t["demand_bcm_y"] = demand
    t["gas_access"] = access
    t["member"] = t["iso_a3"].isin(members)
    t["unserved_share"] = np.where(access, 0.0, share)
    t["unserved_bcm_y"] = demand * t["unserved_share"]
    eligible = t["member"] & (t["unserved_bcm_y"] > 0)
    factors = [1.0] * len(near)
    if "terrain_km" in near.columns:
        from planner.terrain_classes import TerrainClassError, terrain_factor_from_km

        errors = near.get("terrain_error", pd.Series("", index=near.index)).fillna("")
        for j, (ok, km, err, n) in enumerate(zip(eligible, near["terrain_km"], errors,
                                                  near["name"], strict=True)):
            if not ok:
                continue  # no lateral designed: its classes are not needed
            if err:
                raise TerrainClassError(str(err))
            factors[j] = terrain_factor_from_km(km, params, name=f"lateral to {n}")
    t["_tf"] = pd.Series(factors, index=near.index, dtype=float)
    full = [lateral_design(q, L, str(c), params, terrain_factor=f) if ok else (np.nan, np.nan)
            for q, L, c, ok, f in zip(t["unserved_bcm_y"], t["distance_km"], t["iso_a3"],
                                      eligible, t["_tf"], strict=True)]
    t["_usd_per_bcm"] = [c / q if ok else np.inf for (_, c), q, ok in
                         zip(full, t["unserved_bcm_y"], eligible, strict=True)]
    t["_full"] = full
    t = t.sort_values(["_usd_per_bcm", "distance_km"]).drop(columns="_usd_per_bcm")
    left = max(float(spare_bcm_y), 0.0)
    served = []
    for q, ok in zip(t["unserved_bcm_y"], t["member"] & (t["unserved_bcm_y"] > 0), strict=True):
        take = min(float(q), left) if ok else 0.0
        left -= take
        served.append(take)
    t["new_demand_bcm_y"] = served
    design = [f if q > 0 and q == u else
              lateral_design(q, L, str(c), params, terrain_factor=g) if q > 0
              else (np.nan, 0.0)
              for q, u, L, c, f, g in zip(t["new_demand_bcm_y"], t["unserved_bcm_y"],
                                          t["distance_km"], t["iso_a3"], t["_full"], t["_tf"],
                                          strict=True)]
    t["lateral_diameter_mm"] = [d for d, _ in design]
    t["lateral_capex_musd"] = [c / 1e6 for _, c in design]
    return t[NEW_DEMAND_COLUMNS].reset_index(drop=True)


def unserved_shares(centres: gpd.GeoDataFrame, countries: gpd.GeoDataFrame,
                    shares: pd.DataFrame | None = None) -> pd.Series:
    """Share of each demand centre's demand that has no gas (an estimate), on its index.

    0 for a centre with gas access (an operating pipeline within reach). For a centre
    without, 1, except in a country with a published share of the population with gas
    (``planner/data/gasification_share.csv``) that is higher than the share the proximity
    rule gives its centres: there the rule misses supplied towns (pipelines missing from
    the data), and each centre without access counts the country's published unserved
    share over the rule's, ``(1 − published) / (1 − by the rule)``, so the country's
    unserved population matches the published figure.

    Examples
    --------
    >>> from shapely import Point
    >>> c = gpd.GeoDataFrame({"country": ["Kazakhstan"] * 2, "population": [3e5, 1e5],
    ...     "gas_access": [True, False]}, geometry=[Point(0, 0)] * 2)
    >>> k = gpd.GeoDataFrame({"iso_a3": ["KAZ"], "name": ["Kazakhstan"]}, geometry=[None])
    >>> s = pd.DataFrame({"country": ["Kazakhstan"], "share_of_population": [0.9],
    ...     "year": [2022], "source": ["x"]}, index=pd.Index(["KAZ"], name="iso_a3"))
    >>> unserved_shares(c, k, s).round(2).tolist()   # rule: 75 % have gas; published 90 %
    [0.0, 0.4]
    """
    check = gasification_check(centres, countries, shares).set_index("iso_a3")
    factor = ((1 - check["published_share"]) / (1 - check["centres_with_access_share"])
              ).clip(upper=1.0).fillna(1.0)
    iso = iso_of(centres["country"], countries)
    access = centres["gas_access"].fillna(False).astype(bool)
    return pd.Series(np.where(access, 0.0, iso.map(factor).fillna(1.0)), index=centres.index)


def gasification_check(centres: gpd.GeoDataFrame, countries: gpd.GeoDataFrame,
                       shares: pd.DataFrame | None = None) -> pd.DataFrame:
    """Published share of the population with gas beside the share of the demand centres'
    population that has gas access by the proximity rule, per country with a published
    share.

    Returns
    -------
    pandas.DataFrame
        ``iso_a3``, ``country``, ``published_share``, ``year``, ``source``,
        ``centres_with_access_share`` (population-weighted, towns of the layer only).
    """
    shares = load_gasification_shares() if shares is None else shares
    iso = iso_of(centres["country"], countries)
    pop = pd.to_numeric(centres["population"], errors="coerce").fillna(0.0)
    access = centres["gas_access"].fillna(False).astype(bool)
    rows = []
    for code, r in shares.iterrows():
        mine = iso.eq(str(code))
        total = float(pop[mine].sum())
        rows.append({"iso_a3": code, "country": r["country"],
                     "published_share": float(r["share_of_population"]),
                     "year": int(r["year"]), "source": r["source"],
                     "centres_with_access_share": float(pop[mine & access].sum()) / total
                     if total > 0 else np.nan})
    return pd.DataFrame(rows)


__all__ = [
    "LATERAL_DIAMETERS_MM",
    "NEW_DEMAND_COLUMNS",
    "centres_within_reach",
    "gasification_check",
    "iso_codes",
    "iso_of",
    "lateral_design",
    "load_gasification_shares",
    "new_demand",
    "unserved_shares",
]
