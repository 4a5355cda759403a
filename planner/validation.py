"""Validation of layers against their schema (:mod:`planner.schema`).

:func:`validate_layer` collects every problem of a layer and raises one
:class:`LayerError` that lists them all, naming the file, the layer, the rows and the
columns, and saying how to fix each. Invalid geometries are repaired (with a warning
that counts them) rather than rejected; a layer in another CRS is reprojected to
EPSG:4326 with a logged message, never silently.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from planner import settings
from planner.schema import schema_for

log = logging.getLogger(__name__)

# Text that means "not known" in the files users bring; anything else non-numeric is an error.
MISSING_MARKERS = {"", "--", "-", "n/a", "na", "nan", "none", "null", "unknown", "?"}


class LayerError(ValueError):
    """A layer failed validation; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[str], source: str | None = None,
                 layer: str | None = None, named_by: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        self.layer = layer
        self.named_by = named_by  # where the file was named, e.g. "study s.toml, line 12"
        where = []
        if layer:
            where.append(f"layer {layer!r}")
        if source:
            where.append(f"from {source}")
        if named_by:
            where.append(f"(named by {named_by})")
        head = " ".join(where) if where else "input"
        n = len(self.problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        if source and any("rows " in p for p in self.problems):
            # a file's rows are its features in file order, the first one row 0
            lines += "\n  (rows count the file's features from 0, in file order)"
        super().__init__(f"{head}: {n} problem{'s' if n != 1 else ''}:\n{lines}")


class CRSMismatchError(ValueError):
    """Two layers meet in different CRSs."""


def _rows(index: pd.Index, limit: int = 8) -> str:
    labels = [str(i) for i in index[:limit]]
    more = f" and {len(index) - limit} more" if len(index) > limit else ""
    return ", ".join(labels) + more


def _to_numeric(series: pd.Series) -> tuple[pd.Series, pd.Index]:
    """Numbers from a column; returns the values and the index of non-numeric entries."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.astype(float), pd.Index([])
    text = series.astype("string").str.strip()
    missing = series.isna() | text.str.lower().isin(MISSING_MARKERS).fillna(True)
    values = pd.to_numeric(text.where(~missing), errors="coerce")
    bad = series.index[(~missing) & values.isna()]
    return values.astype(float), bad


def validate_layer(
    gdf: gpd.GeoDataFrame,
    layer: str,
    *,
    source: str | None = None,
    region: tuple[float, float, float, float] | None = settings.DEFAULT_REGION,
    target_crs: str = settings.STORAGE_CRS,
) -> gpd.GeoDataFrame:
    """Check a layer against its schema and return a clean copy in ``target_crs``.

    Raises
    ------
    LayerError
        With every problem found: missing CRS, wrong geometry type, missing required
        columns, empty layer, missing geometries, duplicate ids, non-numeric values in
        numeric columns, features far outside ``region``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> bad = gpd.GeoDataFrame({"name": ["Tashkent"]}, geometry=[Point(69.2, 41.3)])
    >>> validate_layer(bad, "demand_centres")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    planner.validation.LayerError: layer 'demand_centres': 2 problems:
      - no CRS: set one (e.g. gdf.set_crs('EPSG:4326')) or use a file format that stores it
      - missing required columns: centre_id, country, population (map the file's ...
    """
    schema = schema_for(layer)
    problems: list[str] = []
    gdf = gdf.copy()

    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf:
        raise LayerError(["no geometry column: is this a vector file?"], source, layer)

    if len(gdf) == 0:
        problems.append("the layer is empty: it has no features")

    if gdf.crs is None:
        problems.append("no CRS: set one (e.g. gdf.set_crs('EPSG:4326')) "
                        "or use a file format that stores it")

    missing_cols = [c for c in schema.required if c not in gdf.columns]
    if missing_cols:
        problems.append(
            f"missing required columns: {', '.join(missing_cols)} (map the file's own "
            f"column names with columns={{'THEIR_NAME': '{missing_cols[0]}'}}; "
            f"the file has: {', '.join(str(c) for c in gdf.columns if c != 'geometry')})"
        )

    null_geom = gdf.geometry.isna() | gdf.geometry.is_empty
    if null_geom.any():
        problems.append(f"{int(null_geom.sum())} features have no geometry "
                        f"(rows {_rows(gdf.index[null_geom])}): drop or fix them")

    geom_types = gdf.geometry[~null_geom].geom_type
    wrong = ~geom_types.isin(schema.geometry_types)
    if wrong.any():
        found = ", ".join(sorted(set(geom_types[wrong])))
        problems.append(
            f"wrong geometry type {found} in rows {_rows(geom_types.index[wrong])}: "
            f"{layer} needs {' or '.join(schema.geometry_types)}"
        )

    if gdf.crs is not None and not null_geom.all():
        problems += axis_order_problems(gdf.geometry[~null_geom], region)

    if schema.id_column and schema.id_column in gdf.columns:
        ids = gdf[schema.id_column].astype("string")
        dup = ids.duplicated(keep=False) & ids.notna()
        if dup.any():
            dup_ids = sorted(set(ids[dup].astype(str)))
            problems.append(
                f"duplicate ids in column {schema.id_column!r}: {', '.join(dup_ids[:8])}"
                f"{' ...' if len(dup_ids) > 8 else ''} (rows {_rows(gdf.index[dup])}): "
                f"ids must be unique"
            )
        if ids.isna().any():
            problems.append(f"empty ids in column {schema.id_column!r} "
                            f"(rows {_rows(gdf.index[ids.isna()])})")

    for num in schema.numeric:
        if num not in gdf.columns:
            continue
        values, bad = _to_numeric(gdf[num])
        if len(bad):
            examples = ", ".join(repr(str(v)) for v in gdf.loc[bad[:3], num])
            unit = schema.column(num).unit
            problems.append(
                f"non-numeric values in {num!r} ({unit}) at rows {_rows(bad)}: {examples}; "
                f"write a number, or leave the cell empty where it is not known"
            )
        else:
            gdf[num] = values

    if problems:
        raise LayerError(problems, source, layer)

    # Repair invalid geometries with a counted warning; reproject with a logged note.
    invalid = ~gdf.geometry.is_valid
    if invalid.any():
        count = int(invalid.sum())
        msg = (f"{layer}{' from ' + source if source else ''}: repaired {count} invalid "
               f"geometr{'y' if count == 1 else 'ies'} (rows {_rows(gdf.index[invalid])})")
        warnings.warn(msg, stacklevel=2)
        log.warning(msg)
        gdf.loc[invalid, "geometry"] = gdf.geometry[invalid].make_valid()

    if not CRS.from_user_input(gdf.crs).equals(CRS.from_user_input(target_crs)):
        log.info("%s: reprojecting from %s to %s", layer, gdf.crs.to_string(), target_crs)
        gdf = gdf.to_crs(target_crs)

    if region is not None:
        w, so, e, no = region
        t = settings.REGION_TOLERANCE_DEG
        b = gdf.geometry.bounds
        far = (b.maxx < w - t) | (b.minx > e + t) | (b.maxy < so - t) | (b.miny > no + t)
        if far.any():
            raise LayerError(
                [
                    f"{int(far.sum())} features lie far outside the study region "
                    f"({w}, {so}, {e}, {no}) at rows {_rows(gdf.index[far])}: check the "
                    f"coordinates (swapped lon/lat? a projected file without its CRS?) or "
                    f"set the study's region"
                ],
                source,
                layer,
            )

    for col in schema.columns:
        if col.name not in gdf.columns and not col.required:
            gdf[col.name] = np.nan if col.dtype in ("float", "int") else None
    return gdf


#: Share of a layer's features that must fall in the study region with x and y exchanged,
#: and by how much more than as given, for the layer to count as having swapped axes.
SWAPPED_SHARE = 0.5
SWAPPED_MARGIN = 0.25


def axis_order_problems(geometry: gpd.GeoSeries,
                        region: tuple[float, float, float, float] | None) -> list[str]:
    """Whole-layer checks of coordinates against the layer's CRS and the study region.

    For a geographic CRS: coordinates must lie within ±180/±90, and a layer whose
    features fall in ``region`` mostly with x and y exchanged (at least
    :data:`SWAPPED_SHARE` of them, and :data:`SWAPPED_MARGIN` more than as given) has
    its axes swapped (lat, lon instead of lon, lat). The decision is the layer's, from
    its extent, not a feature's: one stray point neither triggers nor hides it.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> pts = gpd.GeoSeries([Point(41.3, 69.2), Point(43.2, 76.9), Point(51.2, 71.4)],
    ...                     crs="EPSG:4326")  # Tashkent, Almaty, Astana as (lat, lon)
    >>> axis_order_problems(pts, (44.0, 35.0, 90.0, 57.0))  # doctest: +ELLIPSIS
    ['coordinates look swapped (latitude, longitude): 3 of 3 features fall ...']
    >>> axis_order_problems(pts.map(lambda p: Point(p.y, p.x)), (44.0, 35.0, 90.0, 57.0))
    []
    """
    if geometry.crs is None or not CRS.from_user_input(geometry.crs).is_geographic:
        return []
    b = geometry.bounds
    if len(b) == 0:
        return []
    if b.minx.min() < -180 or b.maxx.max() > 180 or b.miny.min() < -90 or b.maxy.max() > 90:
        x_ok = bool(b.minx.min() >= -90 and b.maxx.max() <= 90)
        hint = ("swapped latitude and longitude?" if x_ok else
                "projected coordinates (metres) labelled with a geographic CRS? set the "
                "file's real CRS")
        return [f"coordinates outside ±180° longitude / ±90° latitude (extent "
                f"{b.minx.min():.6g}, {b.miny.min():.6g}, {b.maxx.max():.6g}, "
                f"{b.maxy.max():.6g}) for the geographic CRS {geometry.crs.to_string()}: "
                f"{hint}"]
    if region is None:
        return []
    x = ((b.minx + b.maxx) / 2).to_numpy()
    y = ((b.miny + b.maxy) / 2).to_numpy()
    w, s, e, n = region

    def share(xs: np.ndarray, ys: np.ndarray) -> float:
        return float(np.mean((xs >= w) & (xs <= e) & (ys >= s) & (ys <= n)))

    as_given, exchanged = share(x, y), share(y, x)
    if exchanged >= SWAPPED_SHARE and exchanged >= as_given + SWAPPED_MARGIN:
        k = round(exchanged * len(x))
        return [f"coordinates look swapped (latitude, longitude): {k} of {len(x)} features "
                f"fall in the study region only with x and y exchanged "
                f"({round(as_given * len(x))} as given): write x = longitude, y = latitude "
                f"(e.g. shapely.ops.transform(lambda x, y: (y, x), geom))"]
    return []


def check_same_crs(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, what: str) -> None:
    """Raise :class:`CRSMismatchError` naming both CRSs where two layers meet."""
    if a.crs is None or b.crs is None or not CRS.from_user_input(a.crs).equals(
        CRS.from_user_input(b.crs)
    ):
        ca = a.crs.to_string() if a.crs is not None else "none"
        cb = b.crs.to_string() if b.crs is not None else "none"
        raise CRSMismatchError(
            f"{what}: layers are in different CRSs ({ca} and {cb}); reproject one with "
            f".to_crs({cb!r}) or load both through planner.io, which stores in EPSG:4326"
        )
