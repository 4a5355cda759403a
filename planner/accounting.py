"""Who gains what along a route: per-country accounts that add up to the route's totals.

A route is cut into short geodesic pieces, leg by leg (:func:`route_pieces`), so every
kilometre knows whether it is **built** (a new leg) or **used** (a reused existing line,
by system) and in which country it lies. :func:`country_accounts` then locates each part
of the route's CAPEX, OPEX and tariff revenue in a country:

- new pipe (line pipe by new-build km times the country's own terrain factor, from its
  own km per terrain class (:func:`new_build_class_km`), and its own regional factor,
  normalised to the route's total, as compression by station power; a fiscal metering
  station where new pipe meets a border, on the new pipe's side; a river crossing of new
  pipe where it is);
- new compression at its stations (new-build stations and new stations on reused lines);
- fixed O&M with the CAPEX it is a share of, and compressor fuel where it is burnt;
- transit revenue: the new-build tariff's pipe part on the country's new-build km and its
  compression part where the compression is, plus the existing operator's tariff on the
  country's reused km.

One utilisation convention (:data:`UTILISATION_NOTE`): a route's ``throughput_bcm_y`` is
its design (nameplate) capacity; the gas carried in a year is throughput × utilisation;
tariffs are levelized over that volume, and every revenue and delivered volume here uses
it. So Σ over countries of ``transit_revenue_musd_y`` = throughput × utilisation × the
route's tariff (its ``tariff_revenue_musd_y``), and Σ ``capex_musd`` = the route's CAPEX.

Examples
--------
>>> from shapely import LineString, Polygon
>>> c = gpd.GeoDataFrame({"iso_a3": ["AAA", "BBB"], "name": ["A", "B"]},
...     geometry=[Polygon([(0, 0), (1, 0), (1, 1), (0, 1)]),
...               Polygon([(1, 0), (2, 0), (2, 1), (1, 1)])], crs="EPSG:4326")
>>> legs = [{"kind": "new", "system": "", "length_km": 55.0,
...          "geometry": LineString([(0.5, 0.5), (1.0, 0.5)])},
...         {"kind": "reuse", "system": "Old line", "length_km": 56.0,
...          "geometry": LineString([(1.0, 0.5), (1.5, 0.5)])}]
>>> p = route_pieces(legs, c, max_segment_km=5)
>>> p.groupby(["iso_a3", "kind"])["km"].sum().round(1).to_dict()
{('AAA', 'new'): 55.0, ('BBB', 'reuse'): 56.0}
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner.economics import (
    UNASSIGNED,
    RouteCost,
    _segments,
    capital_recovery_factor,
    parameter,
    regional_factor_for,
)
from planner.terrain_classes import TERRAIN_CLASSES, TerrainClassifier, class_factors

log = logging.getLogger(__name__)

#: The utilisation convention, stated once for the report and the README.
UTILISATION_NOTE = (
    "A route's throughput is its design (nameplate) capacity; the gas carried in a year is "
    "throughput × utilisation (the study's `utilisation`). Tariffs are levelized over that "
    "volume, and transit revenues, transit volumes and the buyer's delivered volume use it "
    "too, so per-country revenues add up to throughput × utilisation × tariff.")

#: Columns of the per-country table, in order (see the README for units and identities).
COUNTRY_COLUMNS = [
    "iso_a3", "country", "role", "km", "new_build_km", "reused_km", "reused_systems",
    "new_build_flat_km", "new_build_hilly_km", "new_build_mountain_km",
    "new_build_terrain_factor",
    "pipe_capex_musd", "compression_capex_musd", "capex_musd", "capex_share",
    "annualised_capex_musd_y", "opex_musd_y", "fuel_bcm_y", "transit_volume_bcm_y",
    "transit_revenue_new_musd_y", "transit_revenue_reused_musd_y", "transit_revenue_musd_y",
    "transit_net_musd_y", "delivered_volume_bcm_y", "delivered_cost_usd_per_1000m3",
    "alternative_price_usd_per_1000m3", "buyer_gain_musd_y", "net_position_musd_y",
    "border_crossings", "demand_within_reach_bcm_y", "new_demand_bcm_y",
    "lateral_capex_musd",
]


def route_pieces(legs: Sequence[dict[str, Any]], countries: gpd.GeoDataFrame,
                 max_segment_km: float = 2.0) -> pd.DataFrame:
    """A route cut into geodesic pieces of at most ``max_segment_km``, leg by leg.

    Parameters
    ----------
    legs : sequence of dict
        In route order, each with ``kind`` ("new" or "reuse"), ``system`` (the existing
        line's system for reused legs), ``length_km`` and a LineString ``geometry``
        (EPSG:4326). A greenfield route is one new leg. Each leg's pieces are scaled to
        add up to its ``length_km`` (the figure the route reports), so Σ km = route length.
    countries : GeoDataFrame
        ``iso_a3`` polygons (EPSG:4326); a piece goes to the country holding its midpoint,
        or to ``"---"`` (no country).

    Returns
    -------
    pandas.DataFrame
        One row per piece, in route order: ``leg``, ``kind``, ``system``, ``km``,
        ``start_km``, ``end_km`` (along the route), ``lon``, ``lat`` (midpoint), ``iso_a3``.
    """
    frames = []
    for i, leg in enumerate(legs):
        geom = leg["geometry"]
        length = float(leg.get("length_km", 0.0) or 0.0)
        if geom is None or geom.is_empty or length <= 0:
            continue
        lines = list(geom.geoms) if geom.geom_type == "MultiLineString" else [geom]
        parts = [_segments(g, max_segment_km) for g in lines if len(g.coords) > 1]
        if not parts:
            continue
        s = np.vstack([p[0] for p in parts])
        e = np.vstack([p[1] for p in parts])
        km = np.concatenate([p[2] for p in parts])
        km = km * (length / km.sum()) if km.sum() > 0 else np.full(km.size, length / km.size)
        frames.append(pd.DataFrame({
            "leg": i, "kind": str(leg.get("kind", "new")), "system": str(leg.get("system", "")),
            "km": km, "lon": (s[:, 0] + e[:, 0]) / 2, "lat": (s[:, 1] + e[:, 1]) / 2}))
    if not frames:
        raise ValueError("the route has no leg of positive length")
    out = pd.concat(frames, ignore_index=True)
    out["end_km"] = out["km"].cumsum()
    out["start_km"] = out["end_km"] - out["km"]
    out["iso_a3"] = countries_at(out["lon"].to_numpy(), out["lat"].to_numpy(), countries)
    return out


def countries_at(lon: np.ndarray, lat: np.ndarray, countries: gpd.GeoDataFrame) -> np.ndarray:
    """ISO3 code of the country holding each point (``"---"`` for none; the first country
    in layer order where polygons overlap), tested against prepared polygons."""
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    out = np.full(len(x), UNASSIGNED, dtype=object)
    if len(x) == 0 or len(countries) == 0:
        return out
    free = np.ones(len(x), dtype=bool)
    for iso, geom in zip(countries["iso_a3"], countries.geometry, strict=True):
        if geom is None or geom.is_empty:
            continue
        x0, y0, x1, y1 = geom.bounds
        cand = free & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        if not cand.any():
            continue
        shapely.prepare(geom)
        hit = np.zeros(len(x), dtype=bool)
        hit[cand] = shapely.contains_xy(geom, x[cand], y[cand])
        out[hit] = iso
        free &= ~hit
    return out


def nearest_piece_country(lon: np.ndarray, lat: np.ndarray, pieces: pd.DataFrame,
                          kind: str | None = "new") -> np.ndarray:
    """ISO3 code of the piece (of ``kind``, or any) nearest to each point: where a point
    on the route (a river crossing of new pipe) is accounted, so it lands in a country
    the route's pipe of that kind runs through even on a border river."""
    p = pieces if kind is None else pieces[pieces["kind"].eq(kind)]
    lon = np.asarray(lon, dtype=float)
    if len(lon) == 0 or len(p) == 0:
        return np.full(len(lon), UNASSIGNED, dtype=object)
    tree = shapely.STRtree(shapely.points(p["lon"].to_numpy(), p["lat"].to_numpy()))
    j = tree.query_nearest(shapely.points(lon, np.asarray(lat, dtype=float)),
                           all_matches=False)[1]
    return p["iso_a3"].to_numpy()[j]


def new_build_class_km(legs: Sequence[dict[str, Any]], pieces: pd.DataFrame,
                       classifier: TerrainClassifier, name: str = "route") -> pd.DataFrame:
    """Kilometres of a route's new pipe per country and terrain class.

    Each new leg is classified as the route's own terrain factor classifies it
    (:meth:`planner.terrain_classes.TerrainClassifier.sample_classes`, about every
    kilometre) and each sample goes to the country of the leg's nearest piece, so the
    classes land only where :func:`route_pieces` puts new-build km and the column sums are
    the route's km per class
    (:meth:`~planner.terrain_classes.TerrainClassifier.lines_km` of its new legs).

    Parameters
    ----------
    legs : the route's legs, as given to :func:`route_pieces`.
    pieces : :func:`route_pieces` of those legs.
    classifier : the study's :class:`planner.terrain_classes.TerrainClassifier`.
    name : the route, for errors (a new leg outside the DEM raises, as the route's own
        classification does).

    Returns
    -------
    pandas.DataFrame
        Indexed by ISO3 (``---``: no country; only countries with new pipe), one column
        per class of :data:`planner.terrain_classes.TERRAIN_CLASSES` (km).

    Examples
    --------
    >>> from affine import Affine
    >>> from shapely import LineString, Polygon
    >>> from planner.terrain import Terrain
    >>> z = np.tile(np.arange(120, dtype=np.float32) * 185.0, (60, 1))  # 10 % east of 1 E
    >>> z[:, :60] = 0.0  # level west of 1 E
    >>> clf = TerrainClassifier.from_terrain(
    ...     Terrain(z, Affine(1 / 60, 0, 0.0, 0, -1 / 60, 1.0), "EPSG:4326"))
    >>> c = gpd.GeoDataFrame({"iso_a3": ["AAA", "BBB"]},
    ...     geometry=[Polygon([(0, 0), (1, 0), (1, 1), (0, 1)]),
    ...               Polygon([(1, 0), (2, 0), (2, 1), (1, 1)])], crs="EPSG:4326")
    >>> legs = [{"kind": "new", "system": "", "length_km": 111.0,
    ...          "geometry": LineString([(0.5, 0.5), (1.5, 0.5)])}]
    >>> km = new_build_class_km(legs, route_pieces(legs, c), clf)
    >>> km.round(0).astype(int).to_dict("index")  # the ramp's foot is 2 km of A
    {'AAA': {'flat': 53, 'hilly': 0, 'mountain': 2}, 'BBB': {'flat': 0, 'hilly': 0, 'mountain': 56}}
    >>> bool(np.isclose(km.to_numpy().sum(), sum(clf.lines_km([legs[0]["geometry"]]).values())))
    True
    """
    new = [(i, leg) for i, leg in enumerate(legs)
           if leg.get("kind", "new") == "new" and float(leg.get("length_km", 0) or 0) > 0]
    frames = []
    for j, (i, leg) in enumerate(new):
        part = f"{name}, new leg {j + 1}" if len(new) > 1 else name
        km, mids, classes = classifier.sample_classes(leg["geometry"], part)
        own = pieces[pieces["leg"].eq(i)]
        if not len(km) or not len(own):
            continue
        tree = shapely.STRtree(shapely.points(own["lon"].to_numpy(), own["lat"].to_numpy()))
        at = tree.query_nearest(shapely.points(mids[:, 0], mids[:, 1]), all_matches=False)[1]
        frames.append(pd.DataFrame({"iso_a3": own["iso_a3"].to_numpy()[at],
                                    "terrain": np.asarray(TERRAIN_CLASSES)[classes],
                                    "km": km}))
    if not frames:
        return pd.DataFrame(columns=list(TERRAIN_CLASSES), dtype=float,
                            index=pd.Index([], name="iso_a3"))
    out = pd.concat(frames, ignore_index=True).pivot_table(
        index="iso_a3", columns="terrain", values="km", aggfunc="sum", fill_value=0.0,
        sort=False)
    return out.reindex(columns=list(TERRAIN_CLASSES), fill_value=0.0).astype(float) \
        .rename_axis(columns=None)


def border_crossings(pieces: pd.DataFrame) -> pd.DataFrame:
    """Borders crossed along the route (gaps between polygons bridged): one row per
    crossing with ``into`` (ISO3 of the country entered), ``new_build`` (new pipe on
    either side of the border, so a new fiscal metering station is needed there) and
    ``meter_in`` (the country on the new pipe's side, where that station is built)."""
    rows = []
    prev_iso, prev_kind = None, None
    for iso, kind in zip(pieces["iso_a3"], pieces["kind"], strict=True):
        if iso == UNASSIGNED:
            continue
        if prev_iso is not None and iso != prev_iso:
            new = kind == "new" or prev_kind == "new"
            rows.append({"into": iso, "new_build": new,
                         "meter_in": (iso if kind == "new" else prev_iso) if new else None})
        prev_iso, prev_kind = iso, kind
    return pd.DataFrame(rows, columns=["into", "new_build", "meter_in"])


def river_crossing_points(lines: Sequence[shapely.Geometry], water: gpd.GeoDataFrame
                          ) -> list[shapely.Point]:
    """Where the given lines cross the rivers of the water layer (one point per crossing),
    found through the layer's spatial index."""
    rivers = water[water["kind"].eq("river")]
    out: list[shapely.Point] = []
    if len(rivers) == 0:
        return out
    geoms = rivers.geometry.to_numpy()
    for line in lines:
        if line is None or line.is_empty:
            continue
        for j in rivers.sindex.query(line, predicate="intersects"):
            for part in shapely.get_parts(line.intersection(geoms[j])):
                out.append(part if part.geom_type == "Point" else part.representative_point())
    return out


@dataclass(frozen=True)
class Stations:
    """Compressor stations of a route: km along the route profile, new power (kW, 0 for
    an existing station) and fuel burnt (bcm/y)."""

    km: np.ndarray
    power_kw: np.ndarray
    fuel_bcm_y: np.ndarray


def _share(weights: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Weights normalised to 1 (the fallback's when the weights are all zero)."""
    w = np.clip(weights, 0.0, None)
    if w.sum() > 0:
        return w / w.sum()
    f = np.clip(fallback, 0.0, None)
    return f / f.sum() if f.sum() > 0 else f * 0.0


def _country_terrain(terrain_km: pd.DataFrame | None, isos: list[str],
                     params: pd.DataFrame | None) -> tuple[pd.DataFrame, np.ndarray]:
    """Km per terrain class of each country in ``isos`` (NaN without ``terrain_km``) and
    its terrain factor (1 without): the km-weighted mean of the class factors over its
    class km, the route's mean where it has none."""
    if terrain_km is None:
        return (pd.DataFrame(np.nan, index=isos, columns=list(TERRAIN_CLASSES)),
                np.ones(len(isos)))
    stray = sorted(set(map(str, terrain_km.index)) - set(isos))
    missing = [c for c in TERRAIN_CLASSES if c not in terrain_km.columns]
    if stray or missing:
        raise ValueError(f"terrain_km: countries {stray} have no piece of the route, or "
                         f"classes {missing} are missing; build it with "
                         f"accounting.new_build_class_km from the same legs and pieces")
    tk = terrain_km.reindex(index=isos, columns=list(TERRAIN_CLASSES)).fillna(0.0)
    f = np.array(list(class_factors(params).values()))
    km = tk.to_numpy(dtype=float)
    total = km.sum(axis=1)
    route = float(km.sum(axis=0) @ f / total.sum()) if total.sum() > 0 else float(f[0])
    return tk, np.where(total > 0, (km @ f) / np.where(total > 0, total, 1.0), route)


def country_accounts(
    pieces: pd.DataFrame,
    cost: RouteCost,
    *,
    throughput_bcm_y: float,
    utilisation: float,
    discount_rate: float,
    lifetime_years: float,
    stations: Stations,
    fuel_bcm_y: float,
    profile_km: float,
    crossings: pd.DataFrame,
    river_isos: Sequence[str],
    reuse_tariff_usd_per_1000m3: float,
    buyer_iso: str | None,
    delivered_cost_usd_per_1000m3: float,
    alternative_price_usd_per_1000m3: float,
    names: dict[str, str],
    extra: pd.DataFrame | None = None,
    params: pd.DataFrame | None = None,
    terrain_km: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per-country accounts of one route (columns :data:`COUNTRY_COLUMNS`), in M USD of
    the route's currency year.

    Parameters
    ----------
    pieces : from :func:`route_pieces`.
    cost : the route's :class:`planner.economics.RouteCost` (new pipe, new compression,
        metering on new-build border crossings, river crossings of new pipe). Each part is
        shared by its weights (km, power, crossings) times each country's own regional
        factor, normalised to the part's total (the route is priced at their mean).
    stations : where the compression is (km on a profile of ``profile_km``, rescaled to
        the pieces); its power weights the compressor CAPEX and its fuel the route's
        ``fuel_bcm_y`` and fuel cost.
    crossings : from :func:`border_crossings`; the metering CAPEX is shared over its
        ``new_build`` rows, in the country on the new pipe's side (``meter_in``).
    river_isos : the country of each river crossing of new pipe (the river-crossing CAPEX
        is shared over them).
    reuse_tariff_usd_per_1000m3 : the existing operators' tariff for the whole reused
        length; each country earns it on its share of the reused km.
    buyer_iso : the destination's country; its row gets the delivered volume and cost
        against ``alternative_price_usd_per_1000m3`` (``buyer_gain_musd_y``).
    extra : optional per-country columns (indexed by ISO3) to add, e.g. demand figures;
        countries only there get rows with no km.
    params : a cost-parameter table in place of the shipped one (the O&M shares, the
        regional and terrain-class factors).
    terrain_km : the route's new pipe in km per country (index, ISO3 as in ``pieces``)
        and terrain class (columns :data:`planner.terrain_classes.TERRAIN_CLASSES`), from
        :func:`new_build_class_km`. Each country's new-build km then weigh its own terrain
        factor (the km-weighted mean of the fitted class factors over its class km, as the
        route's; a country with new-build km but none classified, a sliver between two
        samples, takes the route's), so mountain km cost where they lie; None: every
        country at the route's factor (no terrain columns).

    Notes
    -----
    Identities (checked in the tests on both shipped studies): Σ ``capex_musd`` = route
    CAPEX; Σ ``opex_musd_y`` = route OPEX; Σ ``transit_revenue_musd_y`` = throughput ×
    utilisation × (new-build + reused-line tariff); Σ ``km`` = route length; Σ
    ``new_build_<class>_km`` = the route's (with ``terrain_km``); a country with no
    new-build km has no ``pipe_capex_musd``. Net position of a transit country:
    revenue − CAPEX × CRF − OPEX (the existing lines' own O&M is not modelled, so their
    tariff counts as gain: an upper bound).
    """
    vol = float(throughput_bcm_y) * float(utilisation)  # bcm/y carried
    crf = capital_recovery_factor(discount_rate, lifetime_years)
    code, uniq = pd.factorize(pieces["iso_a3"])
    isos = [str(u) for u in uniq]
    n = len(isos)
    pos = {c: i for i, c in enumerate(isos)}

    def total(where: np.ndarray, weights: np.ndarray | float = 1.0) -> np.ndarray:
        w = np.broadcast_to(np.asarray(weights, dtype=float), where.shape)
        return np.bincount(where, weights=w, minlength=n)[:n].astype(float)

    def count(items: Sequence[str]) -> np.ndarray:
        return total(np.array([pos[c] for c in items if c in pos], dtype=int))

    piece_km = pieces["km"].to_numpy(dtype=float)
    is_new = pieces["kind"].eq("new").to_numpy()
    km = total(code, piece_km)
    new_km = total(code[is_new], piece_km[is_new])
    reused_km = total(code[~is_new], piece_km[~is_new])
    by_system = (pieces[~is_new].groupby(["iso_a3", "system"], sort=False)["km"].sum())
    listed: dict[str, list[str]] = {c: [] for c in isos}
    for key, v in by_system.items():
        parts: tuple[Any, ...] = tuple(key)  # type: ignore[arg-type]
        listed[str(parts[0])].append(f"{parts[1]} {v:.0f} km")
    systems = {c: "; ".join(v) for c, v in listed.items()}

    # each country's CAPEX at its own regional factor (the route is priced at their
    # new-km-weighted mean), normalised so the rows still add up to the route's CAPEX
    own = np.array([regional_factor_for(c, params) for c in isos])
    tk, terrain = _country_terrain(terrain_km, isos, params)
    # new pipe: line pipe by new km at the country's own terrain (as the route's CAPEX,
    # its km × the mean of its class factors), meters where new pipe crosses, rivers
    new_share = _share(new_km * terrain * own, km * own)
    metered = (list(crossings.loc[crossings["new_build"].astype(bool), "meter_in"])
               if len(crossings) else [])
    pipe_capex = (cost.pipeline_capex_usd * new_share
                  + cost.metering_capex_usd * _share(count(metered) * own, new_km * own)
                  + cost.crossings_capex_usd * _share(count(list(river_isos)) * own,
                                                      new_km * own))
    # compression and fuel where the stations are
    scale = float(pieces["end_km"].iloc[-1]) / profile_km if profile_km > 0 else 1.0
    at = np.searchsorted(pieces["end_km"].to_numpy(), np.asarray(stations.km) * scale,
                         side="right").clip(0, len(pieces) - 1)
    st_code = code[at] if len(at) else np.array([], dtype=int)
    comp_capex = cost.compressor_capex_usd * _share(
        total(st_code, np.asarray(stations.power_kw, dtype=float)) * own, km * own)
    fuel_share = _share(total(st_code, np.asarray(stations.fuel_bcm_y, dtype=float)), km)
    fuel_cost = cost.fuel_cost_usd_per_year * fuel_share
    pipe_om_share = parameter("pipeline_fixed_om_share", params)
    comp_om = parameter("compressor_fixed_om_share", params) * comp_capex
    opex = pipe_om_share * pipe_capex + comp_om + fuel_cost
    capex = pipe_capex + comp_capex
    # revenue: the new-build tariff recovers exactly the annual cost of the new build
    pipe_all = cost.pipeline_capex_usd + cost.metering_capex_usd + cost.crossings_capex_usd
    rev_new = (pipe_all * (crf + pipe_om_share)) * new_share + comp_capex * crf + comp_om \
        + fuel_cost
    rev_reused = (reuse_tariff_usd_per_1000m3 * vol * 1e6) * _share(reused_km, reused_km)
    revenue = rev_new + rev_reused
    into = (crossings["into"].map(pos).dropna().astype(int).to_numpy()
            if len(crossings) else np.array([], dtype=int))

    t = pd.DataFrame({
        "iso_a3": isos, "km": km, "new_build_km": new_km, "reused_km": reused_km,
        "reused_systems": [systems[c] for c in isos],
        **{f"new_build_{c}_km": tk[c].to_numpy() for c in TERRAIN_CLASSES},
        "new_build_terrain_factor": np.where((new_km > 0) & (terrain_km is not None),
                                             terrain, np.nan),
        "pipe_capex_musd": pipe_capex / 1e6,
        "compression_capex_musd": comp_capex / 1e6,
        "capex_musd": capex / 1e6,
        "capex_share": capex / capex.sum() if capex.sum() > 0 else capex * 0.0,
        "annualised_capex_musd_y": capex * crf / 1e6,
        "opex_musd_y": opex / 1e6,
        "fuel_bcm_y": fuel_share * float(fuel_bcm_y),
        "transit_volume_bcm_y": np.where(km > 0, vol, 0.0),
        "transit_revenue_new_musd_y": rev_new / 1e6,
        "transit_revenue_reused_musd_y": rev_reused / 1e6,
        "transit_revenue_musd_y": revenue / 1e6,
        "transit_net_musd_y": (revenue - capex * crf - opex) / 1e6,
        "border_crossings": total(into).astype(int),
    })
    more = [c for c in [buyer_iso, *(extra.index if extra is not None else [])]
            if c and c not in pos]
    if more:
        t = pd.concat([t, pd.DataFrame({"iso_a3": list(dict.fromkeys(more))})],
                      ignore_index=True)
    buyer = t["iso_a3"].eq(str(buyer_iso)).to_numpy() if buyer_iso else np.zeros(len(t), bool)
    has_km = t["km"].fillna(0.0).to_numpy() > 0
    t["role"] = np.where(buyer, np.where(has_km, "transit, buyer", "buyer"),
                         np.where(has_km, "transit", "near the route"))
    t["delivered_volume_bcm_y"] = np.where(buyer, vol, 0.0)
    t["delivered_cost_usd_per_1000m3"] = np.where(buyer, delivered_cost_usd_per_1000m3, np.nan)
    t["alternative_price_usd_per_1000m3"] = np.where(buyer, alternative_price_usd_per_1000m3,
                                                     np.nan)
    t["buyer_gain_musd_y"] = np.where(
        buyer, (alternative_price_usd_per_1000m3 - delivered_cost_usd_per_1000m3) * vol, 0.0)
    if extra is not None:
        for c in extra.columns:
            t[c] = t["iso_a3"].map(extra[c]).to_numpy()
    keep_nan: tuple[str, ...] = (
        "iso_a3", "role", "reused_systems", "delivered_cost_usd_per_1000m3",
        "alternative_price_usd_per_1000m3", "new_build_terrain_factor")
    if terrain_km is None:  # unknown, not 0 km
        keep_nan += tuple(f"new_build_{c}_km" for c in TERRAIN_CLASSES)
    num = [c for c in t.columns if c not in keep_nan]
    t[num] = t[num].fillna(0.0)
    t["border_crossings"] = t["border_crossings"].astype(int)
    t["reused_systems"] = t["reused_systems"].fillna("")
    t["net_position_musd_y"] = t["transit_net_musd_y"] + t["buyer_gain_musd_y"]
    t["country"] = t["iso_a3"].map(lambda c: names.get(c, c))
    for c in COUNTRY_COLUMNS:
        if c not in t.columns:
            t[c] = 0.0
    return t[COUNTRY_COLUMNS]


__all__ = [
    "COUNTRY_COLUMNS",
    "UTILISATION_NOTE",
    "Stations",
    "border_crossings",
    "countries_at",
    "country_accounts",
    "nearest_piece_country",
    "new_build_class_km",
    "river_crossing_points",
    "route_pieces",
]
