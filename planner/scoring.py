"""Scoring and ranking candidate routes honestly.

A criteria table (one row per candidate) is normalised to 0–1 (1 = best), weighted by a
named profile kept as data (:data:`WEIGHT_PROFILES`), and ranked. The Pareto front shows
which candidates no other candidate beats on every criterion, and :func:`rank_stability`
samples weights around a profile (Dirichlet, seeded) to give the probability of each rank.

:func:`route_layer_metrics` computes the layer-derived criteria of many candidate lines
at once (geodesic length, countries, border and water crossings, demand in reach) with
spatial indexes; ``benchmarks/bench_scoring.py`` times it against a per-route loop.

Examples
--------
>>> t = pd.DataFrame({"capex_usd": [5e9, 4e9, 6e9], "demand_within_reach_bcm_y": [8, 2, 12]},
...                  index=["A", "B", "C"])
>>> rank(t, {"capex_usd": 1.0})["rank"].tolist()
[2, 1, 3]
>>> rank(t, {"demand_within_reach_bcm_y": 1.0})["rank"].tolist()
[2, 3, 1]
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner import settings
from planner.geodesy import geodesic_length_km

log = logging.getLogger(__name__)

#: The criteria a candidate is judged on: name, direction (``min`` better lower, ``max``
#: better higher), unit and meaning.
CRITERIA = pd.DataFrame(
    [
        ("length_km", "min", "km", "Geodesic route length"),
        ("new_build_km", "min", "km", "Kilometres of new pipe"),
        ("reused_km", "max", "km", "Kilometres of existing lines reused"),
        ("capex_usd", "min", "USD", "Capital cost"),
        ("tariff_usd_per_1000m3", "min", "USD/1000 m3", "Levelized transport tariff"),
        ("delivered_cost_usd_per_1000m3", "min", "USD/1000 m3", "Cost of gas at destination"),
        ("new_demand_bcm_y", "max", "bcm/y",
         "Unserved demand in member countries the route can add (capped by spare capacity)"),
        ("demand_within_reach_bcm_y", "max", "bcm/y",
         "Demand of all centres within reach (any country, supplied or not)"),
        ("countries", "min", "count", "Countries crossed"),
        ("border_crossings", "min", "count", "International borders crossed"),
        ("terrain_difficulty", "min", "-", "Length-weighted terrain multiplier"),
        ("water_crossings", "min", "count", "Rivers and lakes crossed"),
        ("highest_point_m", "min", "m", "Highest elevation on the route"),
        ("compressor_stations", "min", "count", "Compressor stations"),
        ("compressor_power_mw", "min", "MW", "Installed compression"),
    ],
    columns=["criterion", "direction", "unit", "description"],
).set_index("criterion")

#: Named weight profiles (rows: criteria, columns: profiles; each column sums to 1).
#: Judgement of the planner team, not measured: change them per study.
WEIGHT_PROFILES = pd.DataFrame(
    {
        "lowest_cost": {
            "delivered_cost_usd_per_1000m3": 0.35, "capex_usd": 0.25,
            "tariff_usd_per_1000m3": 0.20, "length_km": 0.05, "compressor_power_mw": 0.05,
            "terrain_difficulty": 0.05, "water_crossings": 0.025, "highest_point_m": 0.025,
        },
        "supply_security": {
            "border_crossings": 0.25, "countries": 0.25, "delivered_cost_usd_per_1000m3": 0.15,
            "length_km": 0.10, "terrain_difficulty": 0.10, "highest_point_m": 0.05,
            "water_crossings": 0.05, "compressor_stations": 0.05,
        },
        "domestic_gasification": {
            "new_demand_bcm_y": 0.45, "delivered_cost_usd_per_1000m3": 0.20,
            "capex_usd": 0.10, "length_km": 0.05, "border_crossings": 0.05,
            "reused_km": 0.05, "terrain_difficulty": 0.05, "compressor_power_mw": 0.05,
        },
    }
).fillna(0.0)


def _criteria_in(table: pd.DataFrame) -> list[str]:
    return [c for c in CRITERIA.index if c in table.columns]


def criteria_table(candidates: pd.DataFrame, id_column: str | None = "candidate") -> pd.DataFrame:
    """The criteria columns of a candidates table, indexed by candidate, checked.

    Unknown columns are dropped; numbers must be finite and quantities that cannot be
    negative (lengths, costs, counts, power) must not be.

    Raises
    ------
    ValueError
        No known criterion, non-numeric or negative values (naming the column).

    Examples
    --------
    >>> t = criteria_table(pd.DataFrame({"candidate": ["a"], "length_km": [10.0], "x": [1]}))
    >>> t.columns.tolist()
    ['length_km']
    """
    df = candidates
    if id_column is not None and id_column in df.columns:
        df = df.set_index(id_column)
    cols = _criteria_in(df)
    if not cols:
        raise ValueError(
            f"candidates have none of the criteria columns {list(CRITERIA.index)}"
        )
    out = df[cols].apply(pd.to_numeric, errors="coerce")
    for c in cols:
        bad = out.index[~np.isfinite(out[c].to_numpy(dtype=float))]
        if len(bad):
            raise ValueError(f"column {c!r} is not a finite number for candidates {list(bad)}")
        if c != "highest_point_m" and (out[c] < 0).any():
            raise ValueError(
                f"column {c!r} must not be negative (candidates {list(out.index[out[c] < 0])})"
            )
    if out.index.duplicated().any():
        raise ValueError("candidate ids must be unique")
    return out


def normalise(table: pd.DataFrame, method: str = "minmax") -> pd.DataFrame:
    """Criteria scaled to 0–1 with 1 the best.

    ``minmax``: ``(x - worst) / (best - worst)``; a criterion on which all candidates are
    equal scores 1 for all. ``max``: ratio to the best value (``x / max`` for criteria to
    maximise, ``min / x`` for criteria to minimise; zeros handled).

    Examples
    --------
    >>> normalise(pd.DataFrame({"capex_usd": [1.0, 2.0, 3.0]}))["capex_usd"].tolist()
    [1.0, 0.5, 0.0]
    """
    if method not in ("minmax", "max"):
        raise ValueError(f"method must be one of minmax, max; got {method!r}")
    out = pd.DataFrame(index=table.index)
    for c in _criteria_in(table):
        x = table[c].astype(float)
        maximise = CRITERIA.loc[c, "direction"] == "max"
        if method == "minmax":
            lo, hi = x.min(), x.max()
            if hi == lo:
                out[c] = 1.0
            else:
                out[c] = (x - lo) / (hi - lo) if maximise else (hi - x) / (hi - lo)
        else:
            if maximise:
                out[c] = x / x.max() if x.max() > 0 else 1.0
            else:
                lo = x.min()
                out[c] = np.where(x > 0, lo / x.where(x > 0, 1.0), 1.0) if lo > 0 else (
                    (x == 0).astype(float))
    return out


def weights_for(profile: str | Mapping[str, float]) -> pd.Series:
    """Weights of a named profile (or a mapping of criterion → weight), normalised to sum 1.

    Examples
    --------
    >>> weights_for({"capex_usd": 2, "length_km": 2}).tolist()  # doctest: +ELLIPSIS
    [0.5, 0.5]
    >>> weights_for("cheapest")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: profile must be one of lowest_cost, ... got 'cheapest'
    """
    if isinstance(profile, str):
        if profile not in WEIGHT_PROFILES.columns:
            raise ValueError(
                f"profile must be one of {', '.join(WEIGHT_PROFILES.columns)} or a mapping of "
                f"criteria to weights; got {profile!r}"
            )
        w = WEIGHT_PROFILES[profile]
        w = w[w > 0]
    else:
        w = pd.Series(dict(profile), dtype=float)
    unknown = [c for c in w.index if c not in CRITERIA.index]
    if unknown:
        raise ValueError(f"unknown criteria in weights: {unknown}")
    if (w < 0).any() or not np.isfinite(w.to_numpy()).all() or w.sum() <= 0:
        raise ValueError("weights must be finite, >= 0 and not all zero")
    return w / w.sum()


def _aligned(table: pd.DataFrame, weights: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    missing = [c for c in weights.index if weights[c] > 0 and c not in table.columns]
    if missing:
        raise ValueError(f"candidates lack weighted criteria {missing}")
    cols = [c for c in weights.index if c in table.columns]
    return normalise(table[cols]), weights[cols]


def rank(table: pd.DataFrame, profile: str | Mapping[str, float] = "lowest_cost",
         method: str = "minmax") -> pd.DataFrame:
    """Weighted score (0–1, higher is better) and rank (1 = best) of each candidate.

    Ties share the best rank (``min`` method).

    Examples
    --------
    >>> t = pd.DataFrame({"capex_usd": [5e9, 4e9], "border_crossings": [0, 3]},
    ...                  index=["domestic", "transit"])
    >>> rank(t, {"capex_usd": 1})["rank"].to_dict()
    {'domestic': 2, 'transit': 1}
    >>> rank(t, {"border_crossings": 1})["rank"].to_dict()
    {'domestic': 1, 'transit': 2}
    """
    w = weights_for(profile)
    missing = [c for c in w.index if c not in table.columns]
    if missing:
        raise ValueError(f"candidates lack weighted criteria {missing}")
    norm = normalise(table[list(w.index)], method=method)
    score = norm.mul(w, axis=1).sum(axis=1)
    out = pd.DataFrame({"score": score})
    out["rank"] = out["score"].rank(ascending=False, method="min").astype(int)
    return out


def pareto_front(table: pd.DataFrame, criteria: list[str] | None = None) -> pd.Series:
    """True for candidates no other candidate dominates (at least as good on every
    criterion and better on one).

    Examples
    --------
    >>> t = pd.DataFrame({"capex_usd": [1, 2, 3], "demand_within_reach_bcm_y": [1, 3, 2]},
    ...                  index=list("abc"))
    >>> pareto_front(t).tolist()
    [True, True, False]
    """
    cols = criteria if criteria is not None else _criteria_in(table)
    unknown = [c for c in cols if c not in CRITERIA.index or c not in table.columns]
    if unknown:
        raise ValueError(f"unknown or missing criteria {unknown}")
    sign = np.array([1.0 if CRITERIA.loc[c, "direction"] == "min" else -1.0 for c in cols])
    x = table[cols].to_numpy(dtype=float) * sign  # lower is better everywhere
    le = (x[:, None, :] <= x[None, :, :]).all(axis=2)  # le[j, i]: j at least as good as i
    lt = (x[:, None, :] < x[None, :, :]).any(axis=2)
    dominated = (le & lt).any(axis=0)
    return pd.Series(~dominated, index=table.index, name="pareto")


def rank_stability(
    table: pd.DataFrame,
    profile: str | Mapping[str, float] = "lowest_cost",
    *,
    n_samples: int = 1000,
    concentration: float = 50.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Probability of each rank under uncertain weights.

    Weights are drawn from a Dirichlet distribution centred on the profile,
    ``w ~ Dir(concentration · w0)`` (larger ``concentration`` = more certain weights), and
    every draw ranks the candidates. Seeded: the same inputs give the same answer.

    Returns
    -------
    pandas.DataFrame
        Rows: candidates; columns ``rank_1 … rank_n`` (probabilities, rows sum to 1),
        ``p_best`` and ``expected_rank``.

    Examples
    --------
    >>> t = pd.DataFrame({"capex_usd": [1.0, 1.1, 3.0], "length_km": [9.0, 1.0, 10.0]},
    ...                  index=list("abc"))
    >>> rs = rank_stability(t, {"capex_usd": 0.5, "length_km": 0.5}, n_samples=200)
    >>> float(rs.loc["c", "rank_3"])
    1.0
    """
    n = int(n_samples)
    if n < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples!r}")
    if not concentration > 0:
        raise ValueError(f"concentration must be > 0, got {concentration!r}")
    w0 = weights_for(profile)
    missing = [c for c in w0.index if c not in table.columns]
    if missing:
        raise ValueError(f"candidates lack weighted criteria {missing}")
    norm = normalise(table[list(w0.index)]).to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.maximum(concentration * w0.to_numpy(), 1e-3), size=n)
    scores = w @ norm.T  # (n, candidates)
    # rank 1 = highest score; ties broken by candidate order (stable sort)
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(n)[:, None]
    ranks[rows, order] = np.arange(1, order.shape[1] + 1)[None, :]
    k = norm.shape[0]
    counts = np.stack([(ranks == r).sum(axis=0) for r in range(1, k + 1)], axis=1)
    out = pd.DataFrame(counts / n, index=table.index,
                       columns=[f"rank_{r}" for r in range(1, k + 1)])
    out["p_best"] = out["rank_1"]
    out["expected_rank"] = ranks.mean(axis=0)
    return out


# --------------------------------------------------------------------------------------
# Layer-derived criteria for many candidates at once


#: Geodesic length (km) of every line; see :func:`planner.geodesy.geodesic_length_km`.
geodesic_lengths_km = geodesic_length_km


def _segments(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every line cut into its two-point segments: (segments, index of the source line)."""
    parts, part_idx = shapely.get_parts(lines, return_index=True)
    coords, idx = shapely.get_coordinates(parts, return_index=True)
    same = idx[1:] == idx[:-1]
    seg = shapely.linestrings(np.stack([coords[:-1][same], coords[1:][same]], axis=1))
    return seg, part_idx[idx[1:][same]]


def _count_crossings(rseg: np.ndarray, rid: np.ndarray, n_lines: int,
                     others: gpd.GeoSeries) -> np.ndarray:
    """Number of distinct points where each line meets the other lines.

    ``rseg``/``rid`` are the lines' two-point segments and their line index (see
    :func:`_segments`); the other lines are cut the same way. An STRtree over the other
    segments finds the candidate pairs, GEOS intersects the (tiny) pairs in one vectorised call, and
    points are de-duplicated per line (a crossing through a shared vertex is one
    crossing; an overlapping stretch counts once per route segment it spans).
    """
    if n_lines == 0 or len(others) == 0 or rseg.size == 0:
        return np.zeros(n_lines, dtype=int)
    oseg, _ = _segments(others.to_numpy())
    tree = shapely.STRtree(oseg)
    ri, oi = tree.query(rseg, predicate="intersects")
    if ri.size == 0:
        return np.zeros(n_lines, dtype=int)
    inter = shapely.intersection(rseg[ri], oseg[oi])
    # a crossing is a point; an overlapping stretch (a line) counts once, by its first point
    is_point = shapely.get_type_id(inter) == 0
    xy_all = np.full((inter.size, 2), np.nan)
    xy_all[is_point] = shapely.get_coordinates(inter[is_point])
    is_line = shapely.get_type_id(inter) == 1
    if is_line.any():
        xy_all[is_line] = shapely.get_coordinates(shapely.get_point(inter[is_line], 0))
    xy = xy_all
    ok = np.isfinite(xy).all(axis=1)
    key = pd.DataFrame({"route": rid[ri][ok], "x": np.round(xy[ok, 0], 9),
                        "y": np.round(xy[ok, 1], 9)}).drop_duplicates()
    return np.bincount(key["route"].to_numpy(), minlength=n_lines).astype(int)


def route_layer_metrics(
    routes: gpd.GeoSeries,
    countries: gpd.GeoDataFrame,
    demand_centres: gpd.GeoDataFrame,
    *,
    borders: gpd.GeoSeries | None = None,
    water: gpd.GeoSeries | None = None,
    reach_km: float = settings.REACH_KM,
) -> pd.DataFrame:
    """Layer-derived criteria of many candidate routes at once.

    Parameters
    ----------
    routes : GeoSeries of LineString, EPSG:4326
    countries : GeoDataFrame with ``iso_a3``
    demand_centres : GeoDataFrame with ``demand_bcm_y`` (points)
    borders : GeoSeries of land boundary lines; default: the merged country outlines
    water : GeoSeries of river/lake lines or polygons (their outlines are counted)
    reach_km : float
        Demand centres within this distance of the route count as served.

    Returns
    -------
    pandas.DataFrame
        ``length_km`` (geodesic), ``countries``, ``border_crossings``, ``water_crossings``,
        ``demand_within_reach_bcm_y`` (missing demand counts as none), indexed like ``routes``.

    Examples
    --------
    >>> from shapely import LineString, Point, box
    >>> countries = gpd.GeoDataFrame({"iso_a3": ["AAA", "BBB"]},
    ...     geometry=[box(60, 40, 62, 42), box(62, 40, 64, 42)], crs="EPSG:4326")
    >>> demand = gpd.GeoDataFrame({"demand_bcm_y": [1.5]}, geometry=[Point(63, 41.1)],
    ...                           crs="EPSG:4326")
    >>> routes = gpd.GeoSeries([LineString([(60.5, 41), (63.5, 41)])], crs="EPSG:4326")
    >>> m = route_layer_metrics(routes, countries, demand, reach_km=25)
    >>> m[["countries", "border_crossings", "demand_within_reach_bcm_y"]].values.tolist()
    [[2.0, 1.0, 1.5]]
    """
    if reach_km < 0:
        raise ValueError(f"reach_km must be >= 0, got {reach_km!r}")
    for name, g in (("routes", routes), ("countries", countries),
                    ("demand_centres", demand_centres)):
        if g.crs is not None and not g.crs.equals("EPSG:4326"):
            raise ValueError(f"{name} must be in EPSG:4326, got {g.crs}")
    geoms = gpd.GeoSeries(routes.to_numpy(), crs="EPSG:4326")
    out = pd.DataFrame(index=routes.index)
    out["length_km"] = geodesic_lengths_km(geoms)
    tree = shapely.STRtree(countries.geometry.to_numpy())
    li, _ = tree.query(geoms.to_numpy(), predicate="intersects")
    out["countries"] = np.bincount(li, minlength=len(geoms))
    if borders is None:
        # outlines merged so a border shared by two countries counts once (coastlines of
        # the polygons count too: pass land boundary lines for exact border counts)
        merged = shapely.line_merge(shapely.union_all(countries.geometry.boundary.to_numpy()))
        b = gpd.GeoSeries(shapely.get_parts(merged))
    else:
        b = gpd.GeoSeries(borders.to_numpy())
    rseg, rid = _segments(geoms.to_numpy())
    out["border_crossings"] = _count_crossings(rseg, rid, len(geoms), b)
    if water is not None and len(water):
        w = gpd.GeoSeries(water.to_numpy())
        w = w.where(~w.geom_type.isin(["Polygon", "MultiPolygon"]), w.boundary)
        out["water_crossings"] = _count_crossings(rseg, rid, len(geoms), w)
    else:
        out["water_crossings"] = 0
    proj = geoms.to_crs(settings.STUDY_CRS)
    pts = demand_centres.to_crs(settings.STUDY_CRS)
    demand = pd.to_numeric(demand_centres["demand_bcm_y"], errors="coerce").fillna(0).to_numpy()
    ptree = shapely.STRtree(pts.geometry.to_numpy())
    ri, pi_ = ptree.query(proj.to_numpy(), predicate="dwithin", distance=reach_km * 1000)
    out["demand_within_reach_bcm_y"] = np.bincount(ri, weights=demand[pi_], minlength=len(geoms))
    return out


__all__ = [
    "CRITERIA",
    "WEIGHT_PROFILES",
    "criteria_table",
    "geodesic_lengths_km",
    "normalise",
    "pareto_front",
    "rank",
    "rank_stability",
    "route_layer_metrics",
    "weights_for",
]
