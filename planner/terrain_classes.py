"""Terrain classes of new pipe: the cost backtest's flat | hilly | mountain, per kilometre.

``planner backtest costs`` fits one pipe-CAPEX factor per terrain class
(``terrain_factor_flat``, ``_hilly``, ``_mountain`` in ``planner/data/cost_parameters.csv``)
on the labels of built lines. A study prices its new pipe with the same factors: it splits
the new pipe's kilometres into the three classes from its own terrain data
(:meth:`TerrainClassifier.class_km`, through :func:`classifier_for`; :func:`terrain_class_km`
for one line) and takes the km-weighted mean of the fitted factors
(:func:`terrain_factor_from_km`).

The rule (:func:`classify`), set before it was compared with any label and not fitted:

- **mountain**: DEM slope at least :data:`MOUNTAIN_SLOPE_PCT` (8 %), or at least
  :data:`HILL_SLOPE_PCT` (2 %) inside a Natural Earth mountain-range polygon;
- **hilly**: slope at least :data:`HILL_SLOPE_PCT` elsewhere;
- **flat**: the rest.

The slope bands are the cost surface's defaults (:class:`planner.costsurface.CostParams`
``slope_hill_pct`` / ``slope_mtn_pct``; a study's ``[cost_surface]`` override changes its
routing only, not its classes, which mirror the backtest's labels: NREL reVX
``least_cost_xmission``,
config/iso_multipliers.json, TEPPC hill ≥ 2, mountain ≥ 8, read as percent rise); the
slope is computed as the cost surface's, on the DEM's own grid
(:func:`planner.costsurface.native_slope_pct`), but without the surface's water mask (the
surface sets lake and sea cells to NaN first, so they and their shores have no slope; here
they keep the DEM's, and a pipe along a shore is classified). The range polygons mark
rugged relief the 1-arcmin DEM smooths out (as the cost surface's ``mountain_mult``):
sloping ground inside them counts as mountain, level ground (valleys, plateaus the
polygons include) not. README 'Terrain classes of new pipe' compares the rule with the
labelled reference lines the study region's pipeline layer holds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from pyproj import Geod

from planner import economics
from planner.backtest.costs import TERRAINS
from planner.costsurface import CostParams, native_slope_pct
from planner.terrain import Terrain

if TYPE_CHECKING:
    from planner.layers import Layers

log = logging.getLogger(__name__)

#: The cost backtest's terrain classes, in order: its labels (one definition).
TERRAIN_CLASSES: tuple[str, ...] = TERRAINS
#: Slope (percent rise) from which ground is hilly: the cost surface's reVX hill band.
HILL_SLOPE_PCT = CostParams.slope_hill_pct
#: Slope (percent rise) from which ground is mountain: the cost surface's reVX mountain band.
MOUNTAIN_SLOPE_PCT = CostParams.slope_mtn_pct
#: Sampling step along a line (degrees, about 1 km): under the DEM's 1-arcmin cell.
SAMPLE_STEP_DEG = 0.01
#: The range rule of :func:`classify`, as words: part of :func:`rule_key`, so a change to
#: the rule (edit this with it) changes the cache keys of classified results.
RANGE_RULE = "mountain: slope >= HILL_SLOPE_PCT inside a mountain-range polygon"

_GEOD = Geod(ellps="WGS84")


class TerrainClassError(ValueError):
    """A line's terrain classes cannot be computed (no geometry, or outside the DEM or on
    its nodata cells)."""


def classify(slope_pct: np.ndarray, in_range: np.ndarray, *,
             hill_pct: float | None = None,
             mountain_pct: float | None = None) -> np.ndarray:
    """The terrain class of each sample (index into :data:`TERRAIN_CLASSES`: 0 flat,
    1 hilly, 2 mountain) from its slope (percent) and whether it lies in a mountain range;
    the bands default to :data:`HILL_SLOPE_PCT` and :data:`MOUNTAIN_SLOPE_PCT` as they are
    when called (what :func:`rule_key` reports).

    Examples
    --------
    >>> classify(np.array([0.5, 3.0, 9.0, 3.0, 0.5]),
    ...          np.array([False, False, False, True, True])).tolist()
    [0, 1, 2, 2, 0]
    """
    hill_pct = HILL_SLOPE_PCT if hill_pct is None else hill_pct
    mountain_pct = MOUNTAIN_SLOPE_PCT if mountain_pct is None else mountain_pct
    s = np.asarray(slope_pct, dtype=float)
    r = np.asarray(in_range, dtype=bool)
    if np.isnan(s).any():
        raise TerrainClassError("slope unknown (NaN) at some samples")
    return np.where((s >= mountain_pct) | (r & (s >= hill_pct)), 2,
                    np.where(s >= hill_pct, 1, 0)).astype(np.int8)


def class_km(km: np.ndarray, classes: np.ndarray) -> dict[str, float]:
    """Kilometres per class (:data:`TERRAIN_CLASSES`, every class present) of samples of
    ``km`` kilometres each in ``classes`` (:func:`classify`).

    Examples
    --------
    >>> class_km(np.array([1.0, 2.0, 0.5]), np.array([0, 2, 2]))
    {'flat': 1.0, 'hilly': 0.0, 'mountain': 2.5}
    """
    sums = np.bincount(np.asarray(classes, dtype=int), weights=np.asarray(km, dtype=float),
                       minlength=len(TERRAIN_CLASSES))
    return {c: float(v) for c, v in zip(TERRAIN_CLASSES, sums, strict=True)}


@dataclass(frozen=True)
class TerrainClassifier:
    """A study's slope grid (percent, on the DEM's own grid, EPSG:4326) and mountain ranges
    (one geometry), ready to classify lines (:meth:`class_km`).

    Build it with :meth:`from_terrain`, or :func:`classifier_for` (a study's layers; the
    slope computed once per DEM and mountains layer).
    """

    slope_pct: np.ndarray
    transform: Affine  # of the slope grid (the DEM's)
    ranges: shapely.Geometry | None

    @classmethod
    def from_terrain(cls, terrain: Terrain, mountains: gpd.GeoDataFrame | None = None
                     ) -> TerrainClassifier:
        """From a DEM in EPSG:4326 and the Natural Earth range polygons (any CRS)."""
        from pyproj import CRS

        if not CRS.from_user_input(terrain.crs).equals(CRS.from_epsg(4326)):
            raise TerrainClassError(f"terrain classes need the DEM in EPSG:4326, not "
                                    f"{terrain.crs}; reproject the DEM file, e.g. "
                                    f"gdalwarp -t_srs EPSG:4326 in.tif out.tif")
        slope = native_slope_pct(terrain, np.zeros(terrain.shape, dtype=bool))
        ranges = None
        if mountains is not None and len(mountains):
            ranges = shapely.union_all(mountains.to_crs(4326).geometry.to_numpy())
            shapely.prepare(ranges)
        return cls(slope, terrain.transform, ranges)

    def _pieces(self, line: shapely.Geometry) -> tuple[np.ndarray, np.ndarray]:
        """Kilometres and middle (lon, lat) of the pieces of ``line`` cut every
        :data:`SAMPLE_STEP_DEG`."""
        parts = shapely.get_parts(shapely.line_merge(line)) if line is not None else []
        km, mids = [], []
        for part in parts:
            xy = shapely.get_coordinates(shapely.segmentize(part, SAMPLE_STEP_DEG))
            if len(xy) < 2:
                continue
            _, _, d = _GEOD.inv(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])
            km.append(np.asarray(d, dtype=float) / 1000.0)
            mids.append((xy[:-1] + xy[1:]) / 2.0)
        if not km:
            return np.zeros(0), np.zeros((0, 2))
        return np.concatenate(km), np.concatenate(mids)

    def _cells(self, lonlat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row, column and on-the-grid flag of points (lon, lat): a point on the grid's
        edge (its south or east one included) lies in the edge cell."""
        col, row = ~self.transform @ (lonlat[:, 0], lonlat[:, 1])
        col, row = np.asarray(col, dtype=float), np.asarray(row, dtype=float)
        h, w = self.slope_pct.shape
        tol = 1e-9  # cells: float round-off of a point exactly on an edge
        inside = (row >= -tol) & (row <= h + tol) & (col >= -tol) & (col <= w + tol)
        return (np.clip(np.floor(row), 0, h - 1).astype(int),
                np.clip(np.floor(col), 0, w - 1).astype(int), inside)

    def samples(self, line: shapely.Geometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Kilometres, slope (percent; NaN outside the DEM and on its nodata cells) and
        in-range flag of the pieces of ``line`` (lon/lat) cut every
        :data:`SAMPLE_STEP_DEG`, each taken at its middle."""
        return self._samples(line)[:3]

    def _samples(self, line: shapely.Geometry
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`samples` and whether each piece lies on the DEM's grid."""
        k, m = self._pieces(line)
        return (k, *self._at(k, m))

    def _at(self, k: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Slope, in-range flag and on-the-grid flag of pieces of ``k`` km with middles
        ``m``."""
        if not len(k):
            return np.zeros(0), np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
        row, col, inside = self._cells(m)
        slope = np.full(len(k), np.nan)
        slope[inside] = self.slope_pct[row[inside], col[inside]]
        rng = (shapely.contains_xy(self.ranges, m[:, 0], m[:, 1])
               if self.ranges is not None else np.zeros(len(k), dtype=bool))
        return slope, np.asarray(rng, dtype=bool), inside

    def on_dem(self, lonlat: np.ndarray) -> np.ndarray:
        """Whether each point (lon, lat; one row each) lies on a DEM cell with data, i.e.
        where a line's terrain class can be computed.

        Examples
        --------
        >>> t = Terrain(np.zeros((60, 60), dtype=np.float32),
        ...             Affine(1 / 60, 0, 44.0, 0, -1 / 60, 41.0), "EPSG:4326")
        >>> TerrainClassifier.from_terrain(t).on_dem(np.array([[44.5, 40.5], [43.99, 40.5]]))
        array([ True, False])
        """
        pts = np.asarray(lonlat, dtype=float).reshape(-1, 2)
        slope, _, inside = self._at(np.ones(len(pts)), pts)
        return inside & np.isfinite(slope)

    def class_km(self, line: shapely.Geometry, name: str = "line", *,
                 fix: str = "extend the DEM (or fill its nodata cells) or keep the route on it"
                 ) -> dict[str, float]:
        """Kilometres of ``line`` (lon/lat) per terrain class (:func:`classify`).

        Raises :class:`TerrainClassError` naming ``name`` when the line has no length, or
        has pieces outside the DEM or on its nodata cells (slope unknown); the message
        ends with ``fix``, what to do about it.
        """
        km, _, classes = self.sample_classes(line, name, fix=fix)
        return class_km(km, classes)

    def sample_classes(self, line: shapely.Geometry, name: str = "line", *,
                       fix: str = "extend the DEM (or fill its nodata cells) or keep the "
                                  "route on it"
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Kilometres, middle (lon, lat; one row each) and class (:func:`classify`) of the
        pieces of ``line`` cut every :data:`SAMPLE_STEP_DEG`: what :meth:`class_km` adds
        up, for placing the classes (e.g. by country,
        :func:`planner.accounting.new_build_class_km`). Raises as :meth:`class_km`.
        """
        if line is None or shapely.is_empty(line):
            raise TerrainClassError(f"{name}: no geometry to classify the terrain of")
        km, mids = self._pieces(line)
        slope, rng, inside = self._at(km, mids)
        unknown = ~np.isfinite(slope)
        if unknown.any():
            off = ~inside
            where = [f"{km[w].sum():.1f} km {what}" for w, what in (
                (off, "outside the DEM"), (unknown & ~off, "on nodata cells of the DEM"))
                if w.any()]
            lon, lat = mids[np.flatnonzero(unknown)[0]]
            raise TerrainClassError(
                f"{name}: {' and '.join(where)}, so its terrain class (and pipe cost) is "
                f"unknown; {fix} (the first such piece lies near {lon:.3f} E, {lat:.3f} N)")
        return km, mids, classify(slope, rng)

    def lines_km(self, lines: list[shapely.Geometry], name: str = "route") -> dict[str, float]:
        """Kilometres per class of several lines together (a route's new legs; none: all
        classes 0 km); each line as :meth:`class_km`."""
        out = dict.fromkeys(TERRAIN_CLASSES, 0.0)
        for i, line in enumerate(lines):
            part = f"{name}, new leg {i + 1}" if len(lines) > 1 else name
            for c, v in self.class_km(line, part).items():
                out[c] += v
        return out


#: Classifiers built in this process, each with the DEM and mountains layer it was built
#: from: holding them keeps their ids from being reused by other objects.
_CLASSIFIERS: list[tuple[Terrain, gpd.GeoDataFrame | None, TerrainClassifier]] = []


def classifier_for(layers: Layers) -> TerrainClassifier:
    """The :class:`TerrainClassifier` of a study's layers (DEM and ``mountains``), built
    once per pair of DEM and mountains layer objects in a process (the last four pairs
    kept): a hit is the very same two objects (``is``), so layers with their own
    mountains (``Layers.replace(mountains=...)``) get their own ranges.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> t = Terrain(np.zeros((60, 60), dtype=np.float32),
    ...             Affine(1 / 60, 0, 44.0, 0, -1 / 60, 41.0), "EPSG:4326")
    >>> a = SimpleNamespace(terrain=t, mountains=None)
    >>> classifier_for(a) is classifier_for(a)
    True
    """
    for terrain, mountains, clf in _CLASSIFIERS:
        if terrain is layers.terrain and mountains is layers.mountains:
            return clf
    clf = TerrainClassifier.from_terrain(layers.terrain, layers.mountains)
    del _CLASSIFIERS[:-3]
    _CLASSIFIERS.append((layers.terrain, layers.mountains, clf))
    return clf


def terrain_class_km(line: shapely.Geometry, terrain: Terrain,
                     mountains: gpd.GeoDataFrame | None = None) -> dict[str, float]:
    """Kilometres of ``line`` (lon/lat) per terrain class (see the module docstring).

    Examples
    --------
    >>> from shapely import LineString
    >>> z = np.zeros((60, 60), dtype=np.float32)  # level ground at 1 arcmin, 44-45 E
    >>> t = Terrain(z, Affine(1 / 60, 0, 44.0, 0, -1 / 60, 41.0), "EPSG:4326")
    >>> km = terrain_class_km(LineString([(44.1, 40.5), (44.9, 40.5)]), t)
    >>> {c: round(v, 1) for c, v in km.items()}
    {'flat': 67.8, 'hilly': 0.0, 'mountain': 0.0}
    """
    return TerrainClassifier.from_terrain(terrain, mountains).class_km(line)


def terrain_factor_from_km(km_by_class: Mapping[str, float] | None,
                           params: pd.DataFrame | None = None, *, name: str = "route"
                           ) -> float:
    """The pipe-CAPEX terrain factor of new pipe with ``km_by_class`` kilometres per class:
    the km-weighted mean of the fitted ``terrain_factor_<class>`` of the cost table
    (``params``, default the shipped one), as ``planner backtest costs`` applies one class
    to a whole line. A line of no kilometres (a route that builds no new pipe) takes the
    flat factor; a missing or non-finite entry raises naming ``name``.

    Examples
    --------
    >>> f = {c: economics.parameter(f"terrain_factor_{c}") for c in TERRAIN_CLASSES}
    >>> terrain_factor_from_km({"flat": 100.0, "hilly": 0.0, "mountain": 0.0}) == f["flat"]
    True
    >>> x = terrain_factor_from_km({"flat": 50.0, "hilly": 0.0, "mountain": 50.0})
    >>> round(x, 6) == round((f["flat"] + f["mountain"]) / 2, 6)
    True
    """
    if not isinstance(km_by_class, Mapping):
        raise TerrainClassError(f"{name}: no km per terrain class of its new pipe (got "
                                f"{km_by_class!r}), so its pipe cost is unknown; its "
                                f"record is incomplete: rerun the study with --no-cache "
                                f"(or delete a sweep's cached route sets)")
    km = {}
    for c, v in km_by_class.items():
        if c not in TERRAIN_CLASSES:
            raise TerrainClassError(f"{name}: unknown terrain class {c!r}; use "
                                    f"{'|'.join(TERRAIN_CLASSES)}")
        x = float(v)
        if not np.isfinite(x) or x < 0:
            raise TerrainClassError(f"{name}: {c} km is {v!r}; it must be a finite "
                                    f"number at least 0")
        km[c] = x
    factors = class_factors(params)
    total = sum(km.values())
    if total <= 0:
        return factors["flat"]
    return sum(factors[c] * v for c, v in km.items()) / total


def class_factors(params: pd.DataFrame | None = None) -> dict[str, float]:
    """The fitted pipe-CAPEX factor of each terrain class (``terrain_factor_<class>`` of
    the cost table ``params``, default the shipped one), in :data:`TERRAIN_CLASSES` order.

    Examples
    --------
    >>> list(class_factors())
    ['flat', 'hilly', 'mountain']
    """
    return {c: float(economics.parameter(f"terrain_factor_{c}", params))
            for c in TERRAIN_CLASSES}


def rule_key(params: pd.DataFrame | None = None, *, factors: bool = True) -> dict[str, Any]:
    """What terrain-classified results depend on besides the DEM and the ranges layer: the
    classes, the slope bands, the range rule, the sampling step and (``factors``) the
    class factors of ``params``; read when called, for the cache keys of everything that
    holds classified km or prices by them (:mod:`planner.cache` keys, the sweep's route
    sets), so a change to any of them never serves a stale entry.

    Examples
    --------
    >>> k = rule_key()
    >>> k["hill_pct"], k["mountain_pct"], sorted(k["factors"])
    (2.0, 8.0, ['flat', 'hilly', 'mountain'])
    >>> "factors" in rule_key(factors=False)
    False
    """
    key: dict[str, Any] = {"classes": list(TERRAIN_CLASSES), "hill_pct": float(HILL_SLOPE_PCT),
                           "mountain_pct": float(MOUNTAIN_SLOPE_PCT), "range_rule": RANGE_RULE,
                           "sample_step_deg": float(SAMPLE_STEP_DEG)}
    if factors:
        key["factors"] = class_factors(params)
    return key


def fitted_factor_range(params: pd.DataFrame | None = None) -> tuple[float, float]:
    """The smallest and largest fitted class factor: every new pipe's factor lies
    between them.

    Examples
    --------
    >>> lo, hi = fitted_factor_range()
    >>> lo <= economics.parameter("terrain_factor_flat") <= hi
    True
    """
    f = list(class_factors(params).values())
    return min(f), max(f)


__all__ = ["HILL_SLOPE_PCT", "MOUNTAIN_SLOPE_PCT", "RANGE_RULE", "SAMPLE_STEP_DEG",
           "TERRAIN_CLASSES", "TerrainClassError", "TerrainClassifier", "class_factors",
           "class_km", "classifier_for", "classify", "fitted_factor_range", "rule_key",
           "terrain_class_km", "terrain_factor_from_km"]
