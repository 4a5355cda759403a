"""Cost surface: a raster of relative construction cost per metre in the study's CRS.

A cell's cost is the cost of building one metre of a new pipeline through it, relative to
flat open land (cost 1.0); a route's cost is the sum over its steps of step length times
the mean of the two cells' costs (scikit-image ``MCP_Geometric``), so it reads as
**kilometres of flat-land-equivalent pipeline** ("km-eq").

The surface is the product of documented components, each with its multiplier and source
kept as data (:func:`cost_components`), plus per-crossing additions for rivers and borders:

- slope (from the DEM, water masked first so the Caspian's flat surface and shore do not
  count), elevation, mountain ranges, settlements: multipliers;
- existing pipeline corridors: a discount (CostMAP ×0.75) for paralleling;
- seas, lakes and reservoirs, countries a study excludes, and cells without DEM data:
  barriers (infinite cost);
- rivers and country borders: a crossing cost, expressed as a multiplier over a
  reference cell of 1 km and rescaled to the grid so a crossing costs the same at any
  resolution;
- per-country factors (a study's political or permitting risk), 1.0 unless given.

Surfaces are cached on disk under :data:`planner.settings.CACHE_DIR` with a key hashed
from every input (parameters, grid, and fingerprints of the data), so a second study run
loads the file instead of rebuilding it. A resolution too fine for this machine's memory
is refused before anything large is allocated.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import rasterio.warp
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.enums import Resampling
from scipy import ndimage

from planner import settings
from planner.terrain import Terrain
from planner.validation import check_same_crs

log = logging.getLogger(__name__)

#: Bumped whenever the way a surface is built changes, so old cache files are not reused.
BUILD_VERSION = 3

#: Memory per cell of a built surface (float32 cost and elevation, uint8 country): what a
#: windowed build holds besides one window's work (:func:`build_memory_bytes`).
BUILD_BYTES_PER_CELL = 9
#: Working memory per cell of one full-grid ``MCP_Geometric`` solve (DESIGN.md: ~58 B/cell)
#: plus the float64 copy of the costs it keeps.
ROUTE_BYTES_PER_CELL = 66

BARRIER_KINDS = ("sea", "lake", "reservoir")

REVX = "NREL reVX least_cost_xmission"
REVX_SLOPE = (f"{REVX}, config/iso_multipliers.json (TEPPC: hill ×1.4 at slope ≥ 2, mountain "
              f"×1.75 at ≥ 8; read here as percent rise, the unit is not stated there)")
COSTMAP = "CostMAP, the cost-surface tool of SimCCS (Hoover, Yaw & Middleton, 2020)"


class ResolutionTooFineError(MemoryError):
    """The requested grid would need more memory than the limit allows."""


@dataclass(frozen=True)
class CostParams:
    """Every factor of a cost surface, with its default and source.

    Multipliers apply to the cost per metre of a cell (1.0 = flat open land). Values
    marked *estimate* in :func:`cost_components` are planning assumptions to calibrate,
    not published figures.

    Attributes
    ----------
    slope_hill_pct, slope_hill_mult, slope_mtn_pct, slope_mtn_mult
        Slope bands (percent rise) and their multipliers: reVX ``hill`` (≥2 %, ×1.4) and
        ``mountain`` (≥8 %, ×1.75). Slope is computed on the DEM's native grid and
        averaged into each cell, so coarse cells keep the share of steep ground.
    elev_high_m, elev_high_mult, elev_very_high_m, elev_very_high_mult
        High-altitude construction (access, short season): estimates.
    mountain_mult
        Inside a Natural Earth mountain-range polygon: estimate (partly overlaps slope).
    river_crossing_mult
        CostMAP's crossing factor ×1.25 over a reference cell of ``reference_cell_m``.
    border_crossing_mult
        Crossing a country border (metering station, permits), as a multiplier over a
        reference cell: estimate, ×6 over 1 km = +5 km-eq per crossing.
    parallel_mult, parallel_corridor_m, parallel_statuses
        Paralleling an existing pipeline: CostMAP ×0.75 within ``parallel_corridor_m``
        metres (a half-width) of a line whose status is one of ``parallel_statuses``.
        The width means the same at every resolution: cells whose centre lies within
        it of a cell the line passes through; a width below one cell leaves only the
        line's own cells.
    settlement_mult, settlement_density_per_km2, settlement_min_population
        Inside a settlement's footprint (a disc of area population / density): CostMAP's
        highest population-density band ×5; density 4,000 people/km² is an estimate.
        Settlements of at least ``settlement_min_population`` count, whatever the cell
        size; a footprint smaller than a cell raises that cell's cost by the share of
        the cell it covers, so the penalty of a town does not depend on the grid.
    town_access_mult, town_access_m, town_access_min_population
        Transport-corridor proxy: cells whose centre lies within ``town_access_m`` metres
        of a town of at least ``town_access_min_population`` people (GeoNames, see
        :func:`towns_from_geonames`) cost ``town_access_mult`` times as much. Roads and
        railways run from town to town, and pipelines are built along them for access;
        the shipped data hold no roads or railways, the towns mark where they run. A
        width in metres (cell centre to the town, exactly) and a population threshold
        mean the same at every cell size. Default 1.0 (off): a factor fitted to built
        lines (``planner calibrate routes``), not a published figure.
    length_base
        A cost per metre every cell carries whatever its ground, in units of flat open
        land's: a cell's cost ``c`` becomes ``(c + length_base) / (1 + length_base)``, so
        flat open land stays 1.0 and every factor's effect shrinks by
        ``1 / (1 + length_base)`` (length weighs more against terrain, corridors and
        towns). 0 (off) by default: fitted to built lines, not a published figure.
    water_body_mult
        Seas, lakes and reservoirs: ``inf`` (default) makes them barriers; a finite value
        makes a water cell cost that many times flat open land (reVX prices water cells
        ×10; a coarse grid turns coastal strips and the reservoirs built lines cross into
        water cells). Excluded countries stay barriers.
    barrier_mult
        Seas, lakes, reservoirs, excluded countries and cells without data. ``inf``
        makes them impassable (reVX uses ×1e6 or exclusion).
    deviation_weight
        A deviation prior for one routed pair (the designer starts from the straight
        line between the ends and deviates only for cause): each cell's cost is
        multiplied by ``1 + deviation_weight * d / L``, ``d`` the distance of the cell
        centre from the straight segment between the pair's ends and ``L`` that
        segment's length, so it means the same at every resolution and line length
        (:func:`with_deviation_prior`). Not a property of the surface: it is applied
        per route where both ends are known (the route backtest and calibration,
        :func:`planner.backtest.routes.route_line`); studies, which share one surface
        and one solve among many pairs, do not apply it (and refuse a calibration file
        carrying a non-zero one). 0 (off) by default: a factor tried against built
        lines, not a published figure.
    country_factors
        Per-country multiplier by ISO3 code (``{"AFG": 3.0}``); 1.0 where not given.
    reference_cell_m
        Cell size over which the crossing multipliers are defined.
    """

    slope_hill_pct: float = 2.0
    slope_hill_mult: float = 1.4
    slope_mtn_pct: float = 8.0
    slope_mtn_mult: float = 1.75
    elev_high_m: float = 2500.0
    elev_high_mult: float = 1.25
    elev_very_high_m: float = 3500.0
    elev_very_high_mult: float = 1.5
    mountain_mult: float = 1.3
    river_crossing_mult: float = 1.25
    border_crossing_mult: float = 6.0
    parallel_mult: float = 0.75
    parallel_corridor_m: float = 2000.0
    parallel_statuses: tuple[str, ...] = ("operating", "construction")
    settlement_mult: float = 5.0
    settlement_density_per_km2: float = 4000.0
    settlement_min_population: float = 50_000.0
    town_access_mult: float = 1.0
    town_access_m: float = 10_000.0
    town_access_min_population: float = 10_000.0
    length_base: float = 0.0
    water_body_mult: float = float("inf")
    barrier_mult: float = float("inf")
    country_factors: Mapping[str, float] = field(default_factory=dict)
    reference_cell_m: float = 1000.0
    deviation_weight: float = 0.0

    def __post_init__(self) -> None:
        problems = []
        if (problem := _deviation_weight_problem(self.deviation_weight)) is not None:
            problems.append(problem)
        if not self.length_base >= 0.0:  # also refuses NaN
            problems.append(f"length_base must be 0 (off) or more, got {self.length_base!r}")
        if not self.water_body_mult > 0.0:
            problems.append("water_body_mult must be above 0 (inf: water is a barrier), "
                            f"got {self.water_body_mult!r}")
        if problems:
            raise ValueError("cost-surface parameters: " + "; ".join(problems))

    def as_dict(self) -> dict[str, object]:
        d = dataclasses.asdict(self)
        d["country_factors"] = dict(sorted(dict(self.country_factors).items()))
        d["parallel_statuses"] = sorted(s.lower() for s in self.parallel_statuses)
        return d


#: Package data file of the calibrated parameters (``planner calibrate routes`` writes it).
CALIBRATED_PARAMS_FILE = "calibrated_cost_params.json"
#: CostParams fields a study's ``[cost_surface]`` table (or a calibration file) may set.
NUMERIC_PARAMS = tuple(f.name for f in dataclasses.fields(CostParams)
                       if f.type in ("float", float))
#: CostParams fields applied per routed pair, not to the surface (:func:`with_deviation_prior`):
#: they do not enter a surface's cache key, and a study's ``[cost_surface]`` table refuses
#: them (a study routes many pairs on one surface).
PER_ROUTE_PARAMS = ("deviation_weight",)


def _deviation_weight_problem(weight: float) -> str | None:
    """What is wrong with a deviation weight (None: nothing), for :class:`CostParams`
    and :func:`deviation_multiplier` alike."""
    if 0.0 <= weight < math.inf:  # also refuses NaN
        return None
    return f"deviation_weight must be 0 (off) or a finite number above 0, got {weight!r}"


class CalibrationFileError(ValueError):
    """A calibration file a study cannot use (the CLI prints it as one message)."""


def per_route_params_problem(values: Mapping[str, object] | Sequence[str],
                             path: str | Path, how_to_fix: str) -> str | None:
    """The message refusing per-route parameters (:data:`PER_ROUTE_PARAMS`) in the
    calibration file ``path``: the non-zero ones of ``values`` (a mapping), or those named
    (a sequence: parameters to be searched); None when there are none. Studies read that
    file and cannot apply them, and the other factors are fitted together with them.
    ``how_to_fix`` ends the message.

    Examples
    --------
    >>> msg = per_route_params_problem({"deviation_weight": 2.0}, "c.json", "fix it")
    >>> msg[:50], msg[-8:]
    ('c.json: deviation_weight = 2 is applied per routed', ': fix it')
    >>> per_route_params_problem({"deviation_weight": 0.0}, "c.json", "") is None
    True
    >>> per_route_params_problem(["deviation_weight"], "c.json", "")[:24]
    'c.json: deviation_weight'
    """
    if isinstance(values, Mapping):
        bad = [f"{k} = {float(values[k]):g}" for k in PER_ROUTE_PARAMS  # type: ignore[arg-type]
               if k in values and float(values[k]) != 0.0]  # type: ignore[arg-type]
    else:
        bad = [k for k in PER_ROUTE_PARAMS if k in values]
    if not bad:
        return None
    return (f"{path}: {', '.join(bad)} {'is' if len(bad) == 1 else 'are'} applied per "
            "routed pair (the route backtest and calibration only); studies read this file "
            "and cannot apply it, and the other factors are fitted together with it: "
            + how_to_fix)


def calibrated_params_path() -> Path:
    """Where the calibrated parameters ship: ``planner/data/calibrated_cost_params.json``."""
    return Path(__file__).resolve().parent / "data" / CALIBRATED_PARAMS_FILE


def cost_params_from_dict(values: Mapping[str, object], base: CostParams | None = None
                          ) -> CostParams:
    """``base`` (default :class:`CostParams`) with the given fields replaced.

    Raises ValueError naming every unknown field.

    Examples
    --------
    >>> cost_params_from_dict({"border_crossing_mult": 40}).border_crossing_mult
    40.0
    """
    known = {f.name for f in dataclasses.fields(CostParams)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown cost-surface parameters: {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(known))})")
    changes: dict[str, object] = {}
    for k, v in values.items():
        if k == "country_factors":
            changes[k] = {str(i).upper(): float(f) for i, f in dict(v).items()}  # type: ignore[call-overload]
        elif k == "parallel_statuses":
            changes[k] = tuple(str(x) for x in v)  # type: ignore[attr-defined]
        else:
            changes[k] = float(v)  # type: ignore[arg-type]
    return dataclasses.replace(base or CostParams(), **changes)  # type: ignore[arg-type]


def calibrated_cost_params() -> tuple[CostParams, dict[str, Any]]:
    """The cost parameters fitted to built pipelines, with their provenance (which lines,
    when, at which resolution, the training and validation scores).

    Falls back to the published defaults (and an empty provenance) when the package
    holds no calibration file.
    """
    path = calibrated_params_path()
    if not path.exists():
        log.warning("no calibrated cost parameters at %s: using the published defaults", path)
        return CostParams(), {}
    doc = json.loads(path.read_text(encoding="utf-8"))
    return cost_params_from_dict(doc["parameters"]), dict(doc.get("provenance", {}))


def cost_components(params: CostParams | None = None) -> pd.DataFrame:
    """The components of a cost surface as a table: component, multiplier, applies_to,
    source, estimate.

    Examples
    --------
    >>> t = cost_components()
    >>> float(t.set_index("component").loc["pipeline_parallel", "multiplier"])
    0.75
    >>> bool(t.set_index("component").loc["border_crossing", "estimate"])
    True
    """
    p = params or CostParams()
    rows = [
        ("slope_hill", p.slope_hill_mult, f"slope ≥ {p.slope_hill_pct:g} %", REVX_SLOPE, False),
        ("slope_mountain", p.slope_mtn_mult, f"slope ≥ {p.slope_mtn_pct:g} %", REVX_SLOPE,
         False),
        ("elevation_high", p.elev_high_mult, f"elevation ≥ {p.elev_high_m:g} m",
         "estimate: high-altitude access and short construction season", True),
        ("elevation_very_high", p.elev_very_high_mult, f"elevation ≥ {p.elev_very_high_m:g} m",
         "estimate: high-altitude access and short construction season", True),
        ("mountain_range", p.mountain_mult, "inside a Natural Earth Range/mtn polygon",
         "estimate: rugged terrain the 1-arcmin DEM smooths out", True),
        ("water_body", p.water_body_mult, "sea, lake or reservoir (the Caspian, the Aral, ...)",
         f"study choice: barrier (pipelines go round lakes; {REVX} uses ×10 for water "
         f"cells and ×1e6 or exclusion for barriers)", False),
        ("river_crossing", p.river_crossing_mult,
         f"river cells, per {p.reference_cell_m:g} m reference cell", COSTMAP, False),
        ("border_crossing", p.border_crossing_mult,
         f"cells along a country border, per {p.reference_cell_m:g} m reference cell",
         "estimate: metering station, customs and permits (+5 km-eq per crossing)", True),
        ("excluded_country", p.barrier_mult, "countries a study excludes",
         "study setting", False),
        ("pipeline_parallel", p.parallel_mult,
         f"within {p.parallel_corridor_m:g} m of an existing pipeline "
         f"({', '.join(p.parallel_statuses)})", COSTMAP, False),
        ("settlement", p.settlement_mult,
         f"settlement footprint (population / {p.settlement_density_per_km2:g} per km², "
         f"population ≥ {p.settlement_min_population:g}; share of a cell when smaller)",
         f"{COSTMAP}: highest population-density band; footprint density an estimate", True),
        ("town_access", p.town_access_mult,
         f"within {p.town_access_m:g} m of a town of at least "
         f"{p.town_access_min_population:g} people (GeoNames)",
         "estimate: transport-corridor proxy, fitted to built lines (1.0 = off)", True),
        ("length_base", p.length_base,
         "every passable cell: cost c -> (c + base) / (1 + base)",
         "estimate: length against the other factors, fitted to built lines (0 = off)",
         True),
        ("no_data", p.barrier_mult, "cells without DEM data (outside the terrain)",
         "no data, no route", False),
    ]
    for iso, f in sorted(dict(p.country_factors).items()):
        rows.append((f"country_{iso}", float(f), f"cells in {iso}", "study setting", True))
    return pd.DataFrame(rows, columns=["component", "multiplier", "applies_to", "source",
                                       "estimate"])


@dataclass(frozen=True, eq=False)
class CostSurface:
    """A cost raster with its grid, the terrain and countries on the same grid.

    Attributes
    ----------
    cost : numpy.ndarray
        float32 cost per metre relative to flat land; ``inf`` marks barriers.
    transform : affine.Affine
        Grid transform in ``crs`` (north-up, square cells of ``resolution_m``).
    crs : str
        The projected CRS of the grid.
    elevation : numpy.ndarray
        float32 elevation (m) on the grid, NaN on water and outside the DEM.
    country : numpy.ndarray
        uint8 index into ``country_codes`` (0 = none).
    country_codes : tuple of str
        ``country_codes[i]`` is the ISO3 code of index ``i``; index 0 is ``""``.
    components : pandas.DataFrame
        The table of :func:`cost_components` the surface was built with.
    key : str
        Hash of every input; the cache file's name.
    cache_path : pathlib.Path or None
        Where the surface is cached.
    from_cache : bool
        True when this object was loaded from the cache rather than built.
    excluded_countries : tuple of str
        Countries made barriers.
    """

    cost: np.ndarray
    transform: Affine
    crs: str
    resolution_m: float
    elevation: np.ndarray
    country: np.ndarray
    country_codes: tuple[str, ...]
    components: pd.DataFrame
    key: str = ""
    cache_path: Path | None = None
    from_cache: bool = False
    excluded_countries: tuple[str, ...] = ()

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.cost.shape[0]), int(self.cost.shape[1]))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in the grid's CRS."""
        h, w = self.shape
        west, north = self.transform @ (0, 0)
        east, south = self.transform @ (w, h)
        return (float(west), float(south), float(east), float(north))

    def lonlat_to_xy(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tr = _transformer(settings.STORAGE_CRS, self.crs)
        x, y = tr.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.asarray(x), np.asarray(y)

    def xy_to_lonlat(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tr = _transformer(self.crs, settings.STORAGE_CRS)
        lon, lat = tr.transform(np.asarray(x, float), np.asarray(y, float))
        return np.asarray(lon), np.asarray(lat)

    def xy_to_rowcol(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column (may fall outside the grid) of points in the grid's CRS."""
        t = ~self.transform
        x, y = np.asarray(x, float), np.asarray(y, float)
        col, row = t.a * x + t.b * y + t.c, t.d * x + t.e * y + t.f
        return np.floor(row).astype(np.int64), np.floor(col).astype(np.int64)

    def rowcol_to_xy(self, row: np.ndarray, col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre coordinates in the grid's CRS."""
        t = self.transform
        c, r = np.asarray(col, float) + 0.5, np.asarray(row, float) + 0.5
        return t.a * c + t.b * r + t.c, t.d * c + t.e * r + t.f

    def country_at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """ISO3 codes of cells ("" where none)."""
        codes = np.asarray(self.country_codes, dtype=object)
        return codes[self.country[np.asarray(rows), np.asarray(cols)]]

    def coarsen(self, factor: int, how: str = "lowest") -> CostSurface:
        """A surface ``factor`` times coarser, for a first, coarse routing pass.

        ``how="lowest"`` (default): a coarse cell costs the mean of the ``factor``
        cheapest of its fine cells, about what a path straight through the block along
        its cheapest line would cost; thin cheap features (a pipeline corridor to follow)
        survive, so the coarse route finds the corridor the fine route will use.
        ``how="mean"``: the mean of the passable fine cells. Either way a coarse cell is a
        barrier when fewer than ``factor`` of its fine cells (``"lowest"``) or fewer than
        half (``"mean"``) are passable; thin barriers survive only at the fine level
        (refinement checks them).

        Examples
        --------
        >>> import numpy as np
        >>> from affine import Affine
        >>> c = np.ones((4, 4), np.float32); c[:2, :2] = np.inf; c[3, 2:] = 0.5
        >>> s = CostSurface(c, Affine(1000, 0, 0, 0, -1000, 4000), "EPSG:3857", 1000.0,
        ...                 np.zeros((4, 4), np.float32), np.zeros((4, 4), np.uint8), ("",),
        ...                 cost_components())
        >>> s.coarsen(2).cost
        array([[inf, 1. ],
               [1. , 0.5]], dtype=float32)
        >>> s.coarsen(2, how="mean").cost
        array([[ inf, 1.  ],
               [1.  , 0.75]], dtype=float32)
        """
        if how not in ("lowest", "mean"):
            raise ValueError(f"how must be 'lowest' or 'mean', got {how!r}")
        if factor <= 1:
            return self
        h, w = self.shape
        hh, ww = -(-h // factor), -(-w // factor)
        cost = np.empty((hh, ww), np.float32)
        ff = factor * factor
        # strips of block rows keep the temporaries small (no grid-sized copies)
        step = max(1, (1 << 22) // (ff * ww))
        for b0 in range(0, hh, step):
            b1 = min(hh, b0 + step)
            strip = np.full(((b1 - b0) * factor, ww * factor), np.inf, np.float32)
            src = self.cost[b0 * factor:min(h, b1 * factor)]
            strip[:src.shape[0], :w] = src
            shape4 = (b1 - b0, factor, ww, factor)
            if how == "lowest":
                blocks = strip.reshape(shape4).transpose(0, 2, 1, 3).reshape(
                    b1 - b0, ww, ff)
                low = np.partition(blocks, factor - 1, axis=2)[:, :, :factor]
                cost[b0:b1] = low.mean(axis=2, dtype=np.float64)  # inf if any is inf
                continue
            passable = np.isfinite(strip)
            strip[~passable] = 0.0
            total = strip.reshape(shape4).sum(axis=3, dtype=np.float64).sum(axis=1)
            n_fin = passable.reshape(shape4).sum(axis=3).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                cost[b0:b1] = np.where(n_fin * 2 > ff, total / n_fin, np.inf)
        # elevation and country of each block's centre cell (for profiles and labels)
        mid = factor // 2
        rows = np.minimum(np.arange(hh) * factor + mid, h - 1)
        cols = np.minimum(np.arange(ww) * factor + mid, w - 1)
        elev = self.elevation[np.ix_(rows, cols)]
        ctry = self.country[np.ix_(rows, cols)]
        t = self.transform @ Affine.scale(factor)
        return dataclasses.replace(
            self, cost=cost, transform=t, resolution_m=self.resolution_m * factor,
            elevation=np.ascontiguousarray(elev, dtype=np.float32),
            country=np.ascontiguousarray(ctry),
            key=f"{self.key}/coarse{factor}{how}", cache_path=None, from_cache=False,
        )


@functools.lru_cache(maxsize=16)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


# --- grid and memory -------------------------------------------------------------------


def study_grid(
    bounds_lonlat: tuple[float, float, float, float], resolution_m: float, crs: str
) -> tuple[Affine, tuple[int, int]]:
    """Transform and shape of a grid covering ``bounds_lonlat`` in ``crs``.

    Examples
    --------
    >>> t, (h, w) = study_grid(settings.DEFAULT_REGION, 10_000, settings.STUDY_CRS)
    >>> (h, w)
    (266, 420)
    """
    if not resolution_m > 0:
        raise ValueError(f"resolution_m must be positive, got {resolution_m}")
    w, s, e, n = rasterio.warp.transform_bounds(settings.STORAGE_CRS, crs, *bounds_lonlat,
                                                densify_pts=101)
    res = float(resolution_m)
    w, s = np.floor(w / res) * res, np.floor(s / res) * res
    e, n = np.ceil(e / res) * res, np.ceil(n / res) * res
    width, height = round((e - w) / res), round((n - s) / res)
    return Affine(res, 0.0, w, 0.0, -res, n), (int(height), int(width))


def memory_limit_bytes() -> int:
    """Memory a surface may use: ``PLANNER_MAX_MEMORY_GIB`` or 70 % of physical memory."""
    env = os.environ.get("PLANNER_MAX_MEMORY_GIB")
    if env:
        return int(float(env) * 2**30)
    try:
        phys = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        phys = 8 * 2**30
    return int(0.7 * phys)


def check_memory(
    shape: tuple[int, int], resolution_m: float, *, bytes_per_cell: float,
    what: str = "cost surface", limit_bytes: int | None = None,
    need_bytes: int | None = None,
) -> int:
    """Refuse (before allocating) a grid that needs more memory than the limit.

    Returns the estimated bytes (``need_bytes`` when given, else cells × ``bytes_per_cell``).
    Raises :class:`ResolutionTooFineError` saying how many GiB the grid would need and the
    finest resolution that fits.

    Examples
    --------
    >>> check_memory((1000, 1000), 500.0, bytes_per_cell=48, limit_bytes=2**30)
    48000000
    >>> check_memory((100_000, 100_000), 50.0, bytes_per_cell=48, limit_bytes=2**30)
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    planner.costsurface.ResolutionTooFineError: a cost surface at 50 m ... need about 447.0 GiB ...
    """
    limit = memory_limit_bytes() if limit_bytes is None else limit_bytes
    cells = int(shape[0]) * int(shape[1])
    need = int(cells * bytes_per_cell) if need_bytes is None else int(need_bytes)
    bytes_per_cell = need / max(cells, 1)
    if need > limit:
        finest = resolution_m * float(np.sqrt(need / limit)) * 1.01
        raise ResolutionTooFineError(
            f"a {what} at {resolution_m:g} m would have {cells:,} cells and need about "
            f"{need / 2**30:.1f} GiB ({bytes_per_cell:.3g} B/cell), more than the "
            f"{limit / 2**30:.1f} GiB allowed: use resolution_m ≥ {np.ceil(finest):.0f}, "
            f"a smaller region, or raise PLANNER_MAX_MEMORY_GIB"
        )
    return need


# --- fingerprints and cache ------------------------------------------------------------


def fingerprint_gdf(gdf: gpd.GeoDataFrame | None) -> str:
    """Hash of a GeoDataFrame's geometries (WKB), attributes and CRS."""
    if gdf is None:
        return "none"
    h = hashlib.sha256()
    h.update(str(gdf.crs).encode())
    for wkb in gdf.geometry.to_wkb():
        h.update(wkb if wkb is not None else b"\0")
    attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    if len(attrs.columns):
        h.update(np.asarray(pd.util.hash_pandas_object(attrs.astype(str), index=True)).tobytes())
        h.update(",".join(map(str, attrs.columns)).encode())
    return h.hexdigest()


def fingerprint_terrain(terrain: Terrain) -> str:
    """Hash of a terrain's elevation values, transform and CRS."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(terrain.elevation).tobytes())
    h.update(repr(tuple(terrain.transform)).encode())
    h.update(str(terrain.crs).encode())
    return h.hexdigest()


def _save_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# --- building --------------------------------------------------------------------------


def _to_crs(gdf: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    return gdf.to_crs(crs) if len(gdf) else gdf.set_crs(crs, allow_override=True)


def _rasterize(geoms: Sequence[object], shape: tuple[int, int], transform: Affine,
               *, all_touched: bool = False, values: Sequence[int] | None = None,
               dtype: str = "uint8") -> np.ndarray:
    geoms = [g for g in geoms if g is not None and not g.is_empty]  # type: ignore[attr-defined]
    if not geoms:
        return np.zeros(shape, dtype=dtype)
    shapes = zip(geoms, values, strict=True) if values is not None else ((g, 1) for g in geoms)
    return rasterio.features.rasterize(shapes, out_shape=shape, transform=transform,
                                       fill=0, all_touched=all_touched, dtype=dtype)


def native_slope_pct(terrain: Terrain, water_native: np.ndarray) -> np.ndarray:
    """Slope (percent rise) on the DEM's own grid, NaN on water and nodata (central
    differences, :func:`numpy.gradient`; metres per degree from the latitude of each row)."""
    z = terrain.elevation.astype(np.float64, copy=True)
    z[water_native] = np.nan
    t = terrain.transform
    if CRS.from_user_input(terrain.crs).is_geographic:
        rows = np.arange(z.shape[0])
        lat = t.f + (rows + 0.5) * t.e
        m_per_deg = 111_320.0
        dx = (np.abs(t.a) * m_per_deg * np.cos(np.radians(lat)))[:, None]
        dy = abs(t.e) * m_per_deg
    else:
        dx, dy = abs(t.a), abs(t.e)
    gy, gx = np.gradient(z)
    return np.asarray(100.0 * np.hypot(gx / dx, gy / dy), dtype=np.float32)


def build_cost_surface(
    terrain: Terrain,
    countries: gpd.GeoDataFrame,
    water: gpd.GeoDataFrame,
    pipelines: gpd.GeoDataFrame,
    mountains: gpd.GeoDataFrame | None = None,
    settlements: gpd.GeoDataFrame | None = None,
    *,
    resolution_m: float | None = None,
    crs: str = settings.STUDY_CRS,
    region: tuple[float, float, float, float] | None = None,
    excluded_countries: Sequence[str] = (),
    params: CostParams | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool | None = None,
    max_memory_gib: float | None = None,
    towns: gpd.GeoDataFrame | None = None,
) -> CostSurface:
    """Build (or load from the cache) the cost surface of a study.

    Parameters
    ----------
    terrain
        The DEM (:class:`planner.terrain.Terrain`, EPSG:4326 or projected).
    countries, water, pipelines, mountains, settlements
        Layers in one CRS (EPSG:4326 as :mod:`planner.layers` gives them). ``countries``
        needs ``iso_a3``; ``water`` needs ``kind`` (sea, lake, reservoir: barriers; river:
        crossings); ``pipelines`` needs ``status``; ``settlements`` (optional, points)
        needs ``population``. ``mountains`` may be None.
    resolution_m
        Cell size in metres (default :data:`planner.settings.DEFAULT_RESOLUTION_KM`).
    crs
        Projected CRS of the grid (default :data:`planner.settings.STUDY_CRS`).
    region
        (west, south, east, north) in degrees; default: the terrain's extent.
    excluded_countries
        Countries the route may not enter (barriers), by ISO3 code or name.
    params
        Multipliers (:class:`CostParams`); defaults documented in :func:`cost_components`.
    cache_dir
        Cache folder (default :data:`planner.settings.CACHE_DIR`, read at call time).
    use_cache
        False to build without reading or writing the cache (default
        :data:`planner.settings.USE_CACHE`).
    max_memory_gib
        Refuse grids needing more than this (default :func:`memory_limit_bytes`).
    towns
        Points with ``population`` for the transport-corridor proxy
        (``params.town_access_mult``); default :func:`towns_from_geonames` when that
        factor is on, unused when it is off (1.0).

    Returns
    -------
    CostSurface
        With ``from_cache`` telling whether it was loaded.

    Raises
    ------
    ResolutionTooFineError
        Before allocating, when the grid would not fit in memory.
    planner.validation.CRSMismatchError
        When the vector layers are not in one CRS.

    Examples
    --------
    >>> from planner.layers import default_layers
    >>> L = default_layers()
    >>> s = build_cost_surface(L.terrain, L.countries, L.water, L.pipelines, L.mountains,
    ...                        resolution_m=20_000)
    >>> s.shape, s.crs == settings.STUDY_CRS
    ((133, 210), True)
    """
    p = params or CostParams()
    if resolution_m is None:
        resolution_m = settings.DEFAULT_RESOLUTION_KM * 1000.0
    if not CRS.from_user_input(crs).is_projected:
        raise ValueError(f"the cost surface needs a projected CRS in metres, got {crs!r} "
                         f"(use planner.settings.STUDY_CRS)")
    layers = {"countries": countries, "water": water, "pipelines": pipelines}
    if mountains is not None:
        layers["mountains"] = mountains
    if settlements is not None:
        layers["settlements"] = settlements
    if p.town_access_mult != 1.0:
        layers["towns"] = towns if towns is not None else towns_from_geonames()
        if "population" not in layers["towns"].columns:
            raise ValueError("towns needs a 'population' column (people per town) for "
                             "town_access_mult; or set town_access_mult = 1.0")
    for name, gdf in layers.items():
        check_same_crs(countries, gdf, f"cost surface: countries and {name}")
    if "iso_a3" not in countries.columns:
        raise ValueError("countries needs an 'iso_a3' column")
    excluded = _iso_codes(countries, excluded_countries)
    unknown = sorted(set(excluded) - set(countries["iso_a3"].astype(str).str.upper()))
    if unknown:
        raise ValueError(f"excluded_countries not in the countries layer: {', '.join(unknown)}"
                         f" (known: {', '.join(sorted(countries['iso_a3'].astype(str)))})")

    bounds = region if region is not None else _terrain_lonlat_bounds(terrain)
    transform, shape = study_grid(bounds, resolution_m, crs)
    limit = None if max_memory_gib is None else int(max_memory_gib * 2**30)
    check_memory(shape, resolution_m, bytes_per_cell=BUILD_BYTES_PER_CELL, limit_bytes=limit,
                 need_bytes=build_memory_bytes(shape, terrain.shape))

    key_src = {
        "version": BUILD_VERSION,
        "resolution_m": float(resolution_m),
        "crs": CRS.from_user_input(crs).to_wkt(),
        "bounds": [round(float(b), 9) for b in bounds],
        "excluded": list(excluded),
        "params": {k: v for k, v in p.as_dict().items() if k not in PER_ROUTE_PARAMS},
        "terrain": fingerprint_terrain(terrain),
        **{name: fingerprint_gdf(gdf) for name, gdf in layers.items()},
    }
    key = hashlib.sha256(json.dumps(key_src, sort_keys=True, default=str).encode()).hexdigest()
    if use_cache is None:
        use_cache = settings.USE_CACHE
    cdir = Path(cache_dir) if cache_dir is not None else Path(settings.CACHE_DIR)
    path = cdir / f"costsurface-{int(resolution_m)}m-{key[:24]}.npz"
    if use_cache and path.exists():
        try:
            surface = _load(path, p, excluded, key)
            log.info("cost surface: loaded from cache %s (%d x %d cells at %g m)", path,
                     *surface.shape, resolution_m)
            return surface
        except Exception as exc:  # a damaged file is rebuilt, not fatal
            log.warning("cost surface: cache file %s unreadable (%s); rebuilding", path, exc)

    log.info("cost surface: building %d x %d cells at %g m (key %s)", *shape, resolution_m,
             key[:12])
    surface = _build(terrain, countries, water, pipelines, mountains, settlements,
                     transform=transform, shape=shape, crs=crs, resolution_m=resolution_m,
                     excluded=excluded, p=p, towns=layers.get("towns"))
    surface = dataclasses.replace(surface, key=key, cache_path=path if use_cache else None)
    if use_cache:
        _save_atomic(path, {
            "cost": surface.cost, "elevation": surface.elevation, "country": surface.country,
            "country_codes": np.asarray(surface.country_codes, dtype=str),
            "transform": np.asarray(tuple(surface.transform)[:6], dtype=np.float64),
            "crs": np.asarray(crs), "resolution_m": np.asarray(float(resolution_m)),
        })
        log.info("cost surface: cached at %s", path)
    return surface


def _rowcol(transform: Affine, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column (may fall outside the grid) of points ``x, y`` in a grid's CRS."""
    t = ~transform
    x, y = np.asarray(x, float), np.asarray(y, float)
    col, row = t.a * x + t.b * y + t.c, t.d * x + t.e * y + t.f
    return np.floor(row).astype(np.int64), np.floor(col).astype(np.int64)


def cost_params_for_study(study: Any) -> CostParams:
    """The cost parameters of a study: its ``[cost_surface]`` table over the published
    defaults (``parameters = "published"``, the default) or the parameters calibrated on
    built lines (``parameters = "calibrated"``, :func:`calibrated_cost_params`).

    Studies default to the published factors because the calibration fits route shape
    only (its border factor, for one, stands for what makes builders avoid a country, not
    for the cost of a crossing) and a route's km-eq sets its ``terrain_difficulty``
    criterion (no longer its CAPEX, which takes the fitted terrain classes of
    :mod:`planner.terrain_classes`).

    Raises :class:`CalibrationFileError` when the calibrated parameters carry a non-zero
    per-route parameter (:data:`PER_ROUTE_PARAMS`), naming the file, line and field.
    """
    table = dict(getattr(study, "cost_surface", {}) or {})
    base_name = table.pop("parameters", "published")
    base = calibrated_cost_params()[0] if base_name == "calibrated" else CostParams()
    if base_name == "calibrated":
        _check_calibration_for_study(base)
    return cost_params_from_dict(table, base)


def _check_calibration_for_study(params: CostParams) -> None:
    """Refuse calibrated parameters carrying a per-route parameter (a study routes many
    pairs on one surface; dropping it would keep factors fitted together with it)."""
    values = {k: getattr(params, k) for k in PER_ROUTE_PARAMS}
    if not any(values.values()):
        return
    path = calibrated_params_path()
    where = str(path)
    with contextlib.suppress(OSError):
        lines = path.read_text(encoding="utf-8").splitlines()
        at = [i for i, s in enumerate(lines, 1) if any(f'"{k}"' in s for k in values)]
        where += f" (line {at[0]})" if at else ""
    problem = per_route_params_problem(
        values, where, "restore the shipped file or rerun `planner calibrate routes` "
        "without them (a calibration searched with them goes to a file of its own: "
        "--params-out FILE)")
    raise CalibrationFileError(f"calibration file {problem}")


def study_cost_surface(study: Any, layers: Any, scenario: Any = None, **kwargs: Any
                       ) -> CostSurface:
    """Build (or load from the cache) the cost surface of a study's scenario.

    Parameters
    ----------
    study
        A :class:`planner.study.Study` (region, CRS, resolution, ``[cost_surface]``).
    layers
        Its :class:`planner.layers.Layers`; the demand centres are the settlements.
    scenario
        A :class:`planner.study.Scenario` (excluded countries); default none excluded.
    **kwargs
        Passed on to :func:`build_cost_surface` (``cache_dir``, ``use_cache``, ...).

    Examples
    --------
    >>> from planner.study import load_study, default_study_path, layers_for_study
    >>> st = load_study(default_study_path())
    >>> s = study_cost_surface(st, layers_for_study(st), st.scenarios[0])
    >>> s.resolution_m == st.resolution_km * 1000
    True
    """
    excluded = tuple(getattr(scenario, "excluded_countries", ()) or ())
    return build_cost_surface(
        layers.terrain, layers.countries, layers.water, layers.pipelines, layers.mountains,
        settlements=layers.demand_centres, resolution_m=study.resolution_km * 1000.0,
        crs=study.crs, region=study.region, excluded_countries=excluded,
        params=cost_params_for_study(study), **kwargs,
    )


@functools.lru_cache(maxsize=1)
def _default_towns() -> gpd.GeoDataFrame:
    from planner.curation import towns_from_geonames as load
    from planner.io import read_vector

    return load(read_vector(settings.raw_path("geonames")))


def towns_from_geonames() -> gpd.GeoDataFrame:
    """The shipped GeoNames towns (5,000+ people) of the default region, the towns of
    the transport-corridor proxy (:func:`planner.curation.towns_from_geonames`)."""
    return _default_towns().copy()


def town_points_xy(towns: gpd.GeoDataFrame, crs: str, min_population: float) -> np.ndarray:
    """Coordinates in ``crs`` of the towns of at least ``min_population`` people."""
    pop = pd.to_numeric(towns["population"], errors="coerce").fillna(0).to_numpy()
    pts = _to_crs(towns[pop >= min_population], crs).geometry.representative_point()
    return np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])


def cell_centres_xy(transform: Affine, shape: tuple[int, int]) -> np.ndarray:
    """``(rows × cols, 2)`` coordinates of the cell centres of a grid, row by row.

    Examples
    --------
    >>> cell_centres_xy(Affine(10.0, 0, 0, 0, -10.0, 20.0), (1, 2)).tolist()
    [[5.0, 15.0], [15.0, 15.0]]
    """
    rows, cols = np.indices(shape, dtype=np.float64)
    c, r = cols.ravel() + 0.5, rows.ravel() + 0.5
    t = transform
    return np.column_stack([t.a * c + t.b * r + t.c, t.d * c + t.e * r + t.f])


def town_distance_m(town_xy: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Distance (m) from each point of ``xy`` to the nearest of ``town_xy`` (inf when
    there is no town), both ``(n, 2)`` arrays in one projected CRS.

    Examples
    --------
    >>> town_distance_m(np.array([[0.0, 0.0]]), np.array([[3000.0, 4000.0]])).tolist()
    [5000.0]
    """
    from scipy.spatial import cKDTree

    if len(town_xy) == 0:
        return np.full(len(xy), np.inf)
    d, _ = cKDTree(town_xy).query(xy)
    return np.asarray(d, dtype=np.float64)


def segment_offset_ratio(transform: Affine, shape: tuple[int, int],
                         start_xy: tuple[float, float], end_xy: tuple[float, float]
                         ) -> np.ndarray:
    """``d / L`` for each cell of a grid: ``d`` the distance of the cell centre from the
    straight segment ``start_xy``–``end_xy`` (to the nearer end beyond either end), ``L``
    the segment's length, both in the grid's projected CRS. A ratio, so it reads the same
    at every cell size and for lines of every length.

    Raises ValueError when the two ends coincide (no segment to deviate from).

    Examples
    --------
    >>> r = segment_offset_ratio(Affine(10.0, 0, 0, 0, -10.0, 30.0), (3, 3), (5, 25), (25, 25))
    >>> r.round(2).tolist()
    [[0.0, 0.0, 0.0], [0.5, 0.5, 0.5], [1.0, 1.0, 1.0]]
    """
    a = np.asarray(start_xy, dtype=np.float64)
    ab = np.asarray(end_xy, dtype=np.float64) - a
    length2 = float(ab @ ab)
    if not length2 > 0.0:
        raise ValueError(f"deviation prior: the two ends coincide at {tuple(start_xy)}; "
                         "there is no straight segment to deviate from")
    ap = cell_centres_xy(transform, shape) - a
    t = np.clip(ap @ ab / length2, 0.0, 1.0)
    d = np.hypot(*(ap - t[:, None] * ab).T)
    return (d / math.sqrt(length2)).reshape(shape)


def deviation_multiplier(transform: Affine, shape: tuple[int, int],
                         start_xy: tuple[float, float], end_xy: tuple[float, float],
                         weight: float, *, ratio: np.ndarray | None = None) -> np.ndarray:
    """The deviation prior of one routed pair: ``1 + weight * d / L`` per cell
    (:func:`segment_offset_ratio`, or ``ratio`` when the caller holds it already), float32;
    1 everywhere when ``weight`` is 0.

    Monotone in the distance from the straight segment, 1 on it, ``1 + weight`` one
    segment length away: a route that strays by a tenth of the line's length pays
    ``weight / 10`` more per km there.

    Examples
    --------
    >>> m = deviation_multiplier(Affine(10.0, 0, 0, 0, -10.0, 30.0), (3, 3), (5, 25),
    ...                          (25, 25), 2.0)
    >>> m[:, 0].tolist()
    [1.0, 2.0, 3.0]
    """
    if (problem := _deviation_weight_problem(weight)) is not None:
        raise ValueError(problem)
    if weight == 0.0:
        return np.ones(shape, np.float32)
    if ratio is None:
        ratio = segment_offset_ratio(transform, shape, start_xy, end_xy)
    return (1.0 + weight * ratio).astype(np.float32)


def with_deviation_prior(surface: CostSurface, start_xy: tuple[float, float],
                         end_xy: tuple[float, float], weight: float, *,
                         ratio: np.ndarray | None = None) -> CostSurface:
    """``surface`` with the deviation prior of the pair ``start_xy``–``end_xy`` (grid CRS)
    applied: every cell's cost times :func:`deviation_multiplier` (barriers stay
    barriers, a cell of cost 0 stays 0). ``weight`` 0 returns ``surface`` itself.
    ``ratio``: the pair's :func:`segment_offset_ratio` on this grid, when the caller
    holds it already (the route backtest caches it per line).

    The prior is a route-planning practice (start from the straight line between the
    ends, deviate only for cause), not a published figure; it belongs to one pair, so the
    returned surface is not cached and lists it as a component
    (``CostParams.deviation_weight``).

    Examples
    --------
    >>> c = np.ones((3, 3), np.float32); c[2, 2] = np.inf
    >>> s = CostSurface(c, Affine(10.0, 0, 0, 0, -10.0, 30.0), "EPSG:3857", 10.0,
    ...                 np.zeros((3, 3), np.float32), np.zeros((3, 3), np.uint8), ("",),
    ...                 cost_components())
    >>> with_deviation_prior(s, (5, 25), (25, 25), 1.0).cost.tolist()
    [[1.0, 1.0, 1.0], [1.5, 1.5, 1.5], [2.0, 2.0, inf]]
    >>> with_deviation_prior(s, (5, 25), (25, 25), 0.0) is s
    True
    """
    if weight == 0.0:  # NaN and negative weights go on to be refused below
        return surface
    mult = deviation_multiplier(surface.transform, surface.shape, start_xy, end_xy, weight,
                                ratio=ratio)
    row = pd.DataFrame([{
        "component": "deviation_prior", "multiplier": float(weight),
        "applies_to": "every cell of this pair's route: cost x (1 + weight x distance from "
                      "the straight segment between the ends / its length)",
        "source": "estimate: route-planning practice (start from the straight line, "
                  "deviate for cause), tried against built lines (0 = off)",
        "estimate": True}])
    return dataclasses.replace(
        surface, cost=(surface.cost * mult).astype(np.float32, copy=False),
        components=pd.concat([surface.components, row], ignore_index=True),
        key="", cache_path=None, from_cache=False)


def _iso_codes(countries: gpd.GeoDataFrame, given: Sequence[str]) -> tuple[str, ...]:
    """ISO3 codes for countries given by code or by name (case-insensitive)."""
    by_name: dict[str, str] = {}
    if "name" in countries.columns:
        by_name = {str(n).lower(): str(i).upper()
                   for n, i in zip(countries["name"], countries["iso_a3"], strict=True)}
    return tuple(sorted({by_name.get(str(c).lower(), str(c).upper()) for c in given}))


def _terrain_lonlat_bounds(terrain: Terrain) -> tuple[float, float, float, float]:
    b = terrain.bounds
    if CRS.from_user_input(terrain.crs).is_geographic:
        return b
    w, s, e, n = rasterio.warp.transform_bounds(terrain.crs, settings.STORAGE_CRS, *b)
    return (w, s, e, n)


def _load(path: Path, p: CostParams, excluded: tuple[str, ...], key: str) -> CostSurface:
    with np.load(path, allow_pickle=False) as z:
        return CostSurface(
            cost=z["cost"], transform=Affine(*z["transform"].tolist()), crs=str(z["crs"]),
            resolution_m=float(z["resolution_m"]), elevation=z["elevation"],
            country=z["country"], country_codes=tuple(str(c) for c in z["country_codes"]),
            components=cost_components(p), key=key, cache_path=path, from_cache=True,
            excluded_countries=excluded,
        )


#: Cells per window of the windowed build: the transient working arrays of one window
#: (about :data:`WINDOW_BYTES_PER_CELL` each) are all the build holds besides its result.
WINDOW_CELLS = 4_000_000
#: Working memory per cell of one window (float32 warps and cost, uint8 country, boolean
#: masks, the border test's temporaries), measured at 10 km and 500 m.
WINDOW_BYTES_PER_CELL = 40


def build_memory_bytes(shape: tuple[int, int], terrain_shape: tuple[int, int] | None = None,
                       window_cells: int | None = None) -> int:
    """Estimated peak memory (bytes) of :func:`build_cost_surface` on a grid of ``shape``.

    The result (:data:`BUILD_BYTES_PER_CELL` per cell: float32 cost and elevation, uint8
    country) plus one window's working arrays plus the slope multiplier on the DEM's own
    grid (float64 elevation and gradients: about 40 B per DEM cell).

    Examples
    --------
    >>> build_memory_bytes((10_000, 10_000), window_cells=1_000_000) / 2**30  # doctest: +ELLIPSIS
    0.87...
    """
    cells = int(shape[0]) * int(shape[1])
    win = min(cells, WINDOW_CELLS if window_cells is None else int(window_cells))
    # a window is whole rows plus halo rows above and below
    win = min(cells, max(win, int(shape[1])) + 2 * int(shape[1]) * _HALO_ROWS_TYPICAL)
    native = 0 if terrain_shape is None else 40 * int(terrain_shape[0]) * int(terrain_shape[1])
    return cells * BUILD_BYTES_PER_CELL + win * WINDOW_BYTES_PER_CELL + native


_HALO_ROWS_TYPICAL = 2


@dataclass
class _Inputs:
    """Everything a window needs, prepared once: layers in the grid's CRS and the slope
    multiplier on the DEM's own grid."""

    terrain: Terrain
    mult_native: np.ndarray
    resampling: Resampling
    bodies: gpd.GeoDataFrame
    rivers: gpd.GeoDataFrame
    mountains: gpd.GeoDataFrame | None
    countries: gpd.GeoDataFrame
    codes: tuple[str, ...]
    settlement_discs: list[object]
    settlement_xy: np.ndarray  # footprints smaller than half a cell: their points
    settlement_area: np.ndarray  # and the share of a cell each covers
    parallel: gpd.GeoDataFrame
    corridor_cells: float  # the corridor's half-width in cells
    town_xy: np.ndarray  # towns of the transport-corridor proxy (grid CRS)


def _prepare(
    terrain: Terrain, countries: gpd.GeoDataFrame, water: gpd.GeoDataFrame,
    pipelines: gpd.GeoDataFrame, mountains: gpd.GeoDataFrame | None,
    settlements: gpd.GeoDataFrame | None, *, crs: str, res: float, p: CostParams,
    towns: gpd.GeoDataFrame | None = None,
) -> _Inputs:
    kind = water["kind"].astype(str).str.lower() if "kind" in water else pd.Series(
        "lake", index=water.index)
    is_area = water.geom_type.isin(["Polygon", "MultiPolygon"])
    bodies = water[is_area & kind.isin(BARRIER_KINDS)]
    rivers = water[~(is_area & kind.isin(BARRIER_KINDS))]

    # Slope on the DEM's native grid (water masked first), as a multiplier, then averaged.
    bodies_t = _to_crs(bodies, terrain.crs)
    water_native = _rasterize(list(bodies_t.geometry), terrain.shape, terrain.transform) > 0
    slope = native_slope_pct(terrain, water_native)
    mult_native = np.ones(terrain.shape, np.float32)
    mult_native[slope >= p.slope_hill_pct] = p.slope_hill_mult
    mult_native[slope >= p.slope_mtn_pct] = p.slope_mtn_mult
    mult_native[~np.isfinite(terrain.elevation)] = np.nan
    del slope
    native_res_m = abs(terrain.transform.a) * (
        111_320.0 * 0.7 if CRS.from_user_input(terrain.crs).is_geographic else 1.0)
    resampling = Resampling.average if res > 1.5 * native_res_m else Resampling.bilinear

    c = _to_crs(countries, crs)
    codes = ("", *[str(x).upper() for x in c["iso_a3"]])
    if len(codes) > 255:
        raise ValueError("at most 254 countries are supported")

    # Settlements at or above the population threshold: footprints of at least half a cell
    # as discs, smaller ones as a point with the share of a cell they cover.
    discs: list[object] = []
    area_xy = np.zeros((0, 2))
    area = np.zeros(0, np.float32)
    if settlements is not None and len(settlements):
        st = _to_crs(settlements, crs)
        pop = pd.to_numeric(st.get("population"), errors="coerce").fillna(0).to_numpy()
        radius_m = np.sqrt(pop / p.settlement_density_per_km2 / np.pi) * 1000.0
        keep = pop >= p.settlement_min_population
        big = keep & (radius_m >= res / 2)
        if big.any():
            discs = list(st.geometry[big].buffer(radius_m[big]))
        small = keep & ~big
        if small.any():
            pts = st.geometry[small].representative_point()
            area_xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
            area = (np.pi * radius_m[small] ** 2 / (res * res)).astype(np.float32)

    status = pipelines["status"].astype(str).str.lower() if "status" in pipelines else None
    par = pipelines if status is None else pipelines[status.isin(
        [x.lower() for x in p.parallel_statuses])]
    return _Inputs(
        terrain=terrain, mult_native=mult_native, resampling=resampling,
        bodies=_to_crs(bodies, crs), rivers=_to_crs(rivers, crs),
        mountains=_to_crs(mountains, crs) if mountains is not None and len(mountains) else None,
        countries=c, codes=codes, settlement_discs=discs, settlement_xy=area_xy,
        settlement_area=area, parallel=_to_crs(par, crs),
        corridor_cells=float(p.parallel_corridor_m) / res,
        town_xy=town_points_xy(towns, crs, p.town_access_min_population)
        if towns is not None and p.town_access_mult != 1.0 else np.zeros((0, 2)),
    )


def _within_cells(mask: np.ndarray, r: float) -> np.ndarray:
    """Cells within ``r`` cells (Euclidean, centre to centre) of a True cell: a dilation
    by a disc of radius ``r``, by distance transform (linear time, whatever ``r``).

    Examples
    --------
    >>> m = np.zeros((5, 5), bool); m[2, 2] = True
    >>> int(_within_cells(m, 1).sum()), int(_within_cells(m, 2).sum())
    (5, 13)
    """
    if r < 1 or not mask.any():
        return mask
    return np.asarray(ndimage.distance_transform_edt(~mask) <= r)


def _warp(inp: _Inputs, src: np.ndarray, dst: np.ndarray, transform: Affine, crs: str) -> None:
    """Resample ``src`` (on the DEM's grid) into ``dst`` in place; GDAL works through the
    grid in chunks of bounded memory."""
    dst[...] = np.nan
    rasterio.warp.reproject(
        src.astype(np.float32, copy=False), dst, src_transform=inp.terrain.transform,
        src_crs=inp.terrain.crs, dst_transform=transform, dst_crs=crs,
        resampling=inp.resampling, src_nodata=np.nan, dst_nodata=np.nan,
        warp_mem_limit=256,
    )


def _build_window(inp: _Inputs, cost: np.ndarray, elevation: np.ndarray, transform: Affine,
                  crs: str, res: float, excluded: tuple[str, ...], p: CostParams
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Finish one window of the grid in place: ``cost`` holds the resampled slope multiplier
    and ``elevation`` the resampled DEM; returns the country index and barrier mask."""
    shape = cost.shape
    no_data = ~np.isfinite(elevation) | ~np.isfinite(cost)
    cost[no_data] = 1.0

    # Elevation bands.
    with np.errstate(invalid="ignore"):
        cost[elevation >= p.elev_very_high_m] *= p.elev_very_high_mult
        cost[(elevation >= p.elev_high_m) & (elevation < p.elev_very_high_m)] *= p.elev_high_mult

    # Mountain ranges.
    if inp.mountains is not None:
        mtn = _rasterize(list(inp.mountains.geometry), shape, transform) > 0
        cost[mtn] *= p.mountain_mult
        del mtn

    # Countries: index raster, per-country factors, excluded countries, borders.
    codes = inp.codes
    country = _rasterize(list(inp.countries.geometry), shape, transform,
                         values=list(range(1, len(codes))))
    for iso, f in dict(p.country_factors).items():
        idx = [i for i, cc in enumerate(codes) if cc == iso.upper()]
        for i in idx:
            cost[country == i] *= float(f)
    border = np.zeros(shape, bool)
    vert = (country[1:, :] != country[:-1, :]) & (country[1:, :] > 0) & (country[:-1, :] > 0)
    border[1:, :] |= vert
    border[:-1, :] |= vert
    del vert
    horiz = (country[:, 1:] != country[:, :-1]) & (country[:, 1:] > 0) & (country[:, :-1] > 0)
    border[:, 1:] |= horiz
    border[:, :-1] |= horiz
    del horiz
    # A crossing steps on about two border cells: each carries half the crossing cost.
    cost[border] += (p.border_crossing_mult - 1.0) * p.reference_cell_m / res / 2.0
    del border

    # Settlements: avoid their footprint.
    # (main's semantics: population threshold independent of the cell size; a footprint
    # smaller than a cell raises that cell's cost by the share of it the footprint covers)
    if inp.settlement_discs or len(inp.settlement_area):
        share = np.zeros(shape, np.float32)
        if inp.settlement_discs:
            share[_rasterize(inp.settlement_discs, shape, transform) > 0] = 1.0
        if len(inp.settlement_area):
            rows, cols = _rowcol(transform, inp.settlement_xy[:, 0], inp.settlement_xy[:, 1])
            inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
            np.add.at(share, (rows[inside], cols[inside]), inp.settlement_area[inside])
        np.minimum(share, 1.0, out=share)
        cost *= 1.0 + (p.settlement_mult - 1.0) * share
        del share

    # Near towns: the transport-corridor proxy (exact distance from each cell centre).
    if len(inp.town_xy):
        near = town_distance_m(inp.town_xy, cell_centres_xy(transform, shape)).reshape(shape)
        cost[near <= p.town_access_m] *= p.town_access_mult
        del near

    # Paralleling existing pipelines: the corridor discount.
    if len(inp.parallel):
        lines = _rasterize(list(inp.parallel.geometry), shape, transform,
                           all_touched=True) > 0
        # the half-width in metres, at any resolution (none below one cell)
        lines = _within_cells(lines, inp.corridor_cells)
        cost[lines] *= p.parallel_mult
        del lines

    # River crossings (added after the multipliers: a crossing costs the same anywhere).
    if len(inp.rivers):
        riv = _rasterize(list(inp.rivers.geometry), shape, transform, all_touched=True) > 0
        cost[riv] += (p.river_crossing_mult - 1.0) * p.reference_cell_m / res
        del riv

    if p.length_base:  # length weighs more against every factor; flat open land stays 1
        cost += p.length_base
        cost /= 1.0 + p.length_base
    # Barriers last: water bodies, excluded countries, no data.
    wb = _rasterize(list(inp.bodies.geometry), shape, transform) > 0
    barrier = wb | no_data
    for iso in excluded:
        for i, cc in enumerate(codes):
            if cc == iso:
                barrier |= country == i
    cost[barrier] = p.barrier_mult
    if np.isfinite(p.water_body_mult):  # water crossable at a price, outside the exclusions
        crossable = wb & ~no_data
        for iso in excluded:
            for i, cc in enumerate(codes):
                if cc == iso:
                    crossable &= country != i
        cost[crossable] = p.water_body_mult
        barrier &= ~crossable
    elevation[wb] = np.nan
    return country, barrier


def _build(
    terrain: Terrain, countries: gpd.GeoDataFrame, water: gpd.GeoDataFrame,
    pipelines: gpd.GeoDataFrame, mountains: gpd.GeoDataFrame | None,
    settlements: gpd.GeoDataFrame | None, *, transform: Affine, shape: tuple[int, int],
    crs: str, resolution_m: float, excluded: tuple[str, ...], p: CostParams,
    window_cells: int | None = None, towns: gpd.GeoDataFrame | None = None,
) -> CostSurface:
    """Build the surface window by window: bands of whole rows, each computed with a halo
    of rows above and below (what the border test and the corridor dilation look at) and
    written into the result, so the build holds the result and one window's work only."""
    res = float(resolution_m)
    inp = _prepare(terrain, countries, water, pipelines, mountains, settlements, crs=crs,
                   res=res, p=p, towns=towns)
    height, width = shape
    halo = max(1, int(np.ceil(inp.corridor_cells)))
    rows = max(1, (WINDOW_CELLS if window_cells is None else int(window_cells)) // width)
    # Resampling the DEM is done over the whole grid, straight into the result (GDAL's own
    # chunks; resampled per window, cells near window edges came out differently).
    cost = np.empty(shape, np.float32)
    elevation = np.empty(shape, np.float32)
    _warp(inp, inp.mult_native, cost, transform, crs)
    _warp(inp, inp.terrain.elevation, elevation, transform, crs)
    country = np.empty(shape, np.uint8)
    barriers = 0
    for r0 in range(0, height, rows):
        r1 = min(height, r0 + rows)
        a0, a1 = max(0, r0 - halo), min(height, r1 + halo)
        win_t = transform @ Affine.translation(0, a0)
        c, e = cost[a0:a1].copy(), elevation[a0:a1].copy()
        k, b = _build_window(inp, c, e, win_t, crs, res, excluded, p)
        cost[r0:r1] = c[r0 - a0:r1 - a0]
        elevation[r0:r1] = e[r0 - a0:r1 - a0]
        country[r0:r1] = k[r0 - a0:r1 - a0]
        barriers += int(b[r0 - a0:r1 - a0].sum())
        del c, e, k, b
    log.info("cost surface: %.1f %% of cells are barriers (%d windows of %d rows)",
             100.0 * barriers / max(1, height * width), -(-height // rows), rows)
    return CostSurface(
        cost=cost, transform=transform, crs=crs, resolution_m=res, elevation=elevation,
        country=country, country_codes=inp.codes, components=cost_components(p),
        excluded_countries=excluded,
    )


__all__ = [
    "BUILD_VERSION",
    "CALIBRATED_PARAMS_FILE",
    "NUMERIC_PARAMS",
    "PER_ROUTE_PARAMS",
    "CalibrationFileError",
    "CostParams",
    "CostSurface",
    "ResolutionTooFineError",
    "build_cost_surface",
    "build_memory_bytes",
    "calibrated_cost_params",
    "calibrated_params_path",
    "cell_centres_xy",
    "check_memory",
    "cost_components",
    "cost_params_for_study",
    "cost_params_from_dict",
    "deviation_multiplier",
    "fingerprint_gdf",
    "fingerprint_terrain",
    "memory_limit_bytes",
    "native_slope_pct",
    "per_route_params_problem",
    "segment_offset_ratio",
    "study_cost_surface",
    "study_grid",
    "town_distance_m",
    "town_points_xy",
    "towns_from_geonames",
    "with_deviation_prior",
]
