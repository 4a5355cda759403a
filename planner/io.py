"""Reading and writing: the only module (with the study runner) that touches files.

Loaders follow osmnx's naming, ``<thing>_from_<source>``, and return validated
GeoDataFrames in :data:`planner.settings.STORAGE_CRS`:

- :func:`layer_from_file`: any layer from any vector file GeoPandas reads (GeoPackage,
  GeoJSON, Shapefile, FlatGeobuf, GeoParquet), with an optional column mapping;
- :func:`terrain_from_file`: a DEM from any raster rasterio reads;
- :func:`pipelines_from_osm_xml`, :func:`compressor_stations_from_osm_xml`,
  :func:`settlements_from_osm_xml`: OpenStreetMap XML through ``osmnx.features_from_xml``;
- :func:`pipelines_from_overpass` and friends: the same online (optional, needs network).

Writers are atomic: they write to a temporary file beside the target and rename it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from planner import settings
from planner.terrain import Terrain
from planner.validation import LayerError, validate_layer

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


def read_vector(path: PathLike, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file (or a layer of it), with an error that names the path."""
    p = Path(path)
    if not p.exists():
        raise LayerError([f"file not found: {p} (check the path, or the study's [layers] table)"],
                         source=str(p))
    try:
        # the readers' warnings (e.g. "Could not parse column 'POP' as JSON" for a GeoJSON
        # column of mixed types) are logged, not printed: the layer's validation reports
        # what is wrong in the user's terms, once
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if p.suffix.lower() in (".parquet", ".geoparquet"):
                gdf = gpd.read_parquet(p)
            else:
                gdf = gpd.read_file(p, layer=layer, engine="pyogrio")
    except Exception as exc:  # pyogrio and arrow raise many kinds
        raise LayerError(
            [f"cannot read {p}: {exc} (is it a vector file GDAL or GeoParquet can open?)"],
            source=str(p),
        ) from exc
    for w in caught:
        log.info("reading %s: %s", p, w.message)
    return gdf


def layer_from_file(
    path: PathLike,
    layer: str,
    columns: Mapping[str, str] | None = None,
    *,
    file_layer: str | None = None,
    region: tuple[float, float, float, float] | None = settings.DEFAULT_REGION,
) -> gpd.GeoDataFrame:
    """Load a planner layer from a user's vector file.

    Parameters
    ----------
    path
        Any file GeoPandas reads (``.gpkg``, ``.geojson``, ``.shp``, ``.fgb``, ``.parquet``).
    layer
        Which planner layer this is (``"pipelines"``, ``"demand_centres"``, ...).
    columns
        Mapping from the file's column names to the schema's, for files that name things
        differently, e.g. ``{"NAME": "name", "CAP": "capacity_bcm_y"}``.
    file_layer
        Layer inside a multi-layer file (GeoPackage).
    region
        Study region (west, south, east, north) in degrees; features far outside it are
        rejected. ``None`` skips the check.

    Returns
    -------
    geopandas.GeoDataFrame
        Validated and reprojected to EPSG:4326.

    Examples
    --------
    >>> from planner import settings
    >>> countries = layer_from_file(
    ...     settings.raw_path("countries"), "countries",
    ...     columns={"ADM0_A3": "iso_a3", "ADMIN": "name", "POP_EST": "population"})
    >>> "KAZ" in set(countries["iso_a3"])
    True
    """
    gdf = read_vector(path, layer=file_layer)
    if columns:
        missing = [c for c in columns if c not in gdf.columns]
        if missing:
            raise LayerError(
                [
                    f"column mapping names columns the file lacks: {', '.join(missing)} "
                    f"(the file has: {', '.join(map(str, gdf.columns))})"
                ],
                source=f"{path}",
                layer=layer,
            )
        gdf = gdf.rename(columns=dict(columns))
    return validate_layer(gdf, layer, source=str(path), region=region)


def terrain_from_file(path: PathLike) -> Terrain:
    """Read a single-band DEM (metres) with rasterio; nodata becomes NaN.

    Examples
    --------
    >>> from planner import settings
    >>> dem = terrain_from_file(settings.raw_path("dem"))
    >>> dem.shape
    (1320, 2760)
    """
    import rasterio

    p = Path(path)
    if not p.exists():
        raise LayerError([f"file not found: {p}"], source=str(p), layer="terrain")
    try:
        with rasterio.open(p) as src:
            if src.crs is None:
                raise LayerError(
                    ["the raster has no CRS (assign one, e.g. gdal_edit.py -a_srs EPSG:4326)"],
                    source=str(p),
                    layer="terrain",
                )
            band = src.read(1, masked=True)
            elevation = np.ma.filled(band.astype("float32"), np.nan)
            return Terrain(elevation, src.transform, src.crs.to_string())
    except rasterio.errors.RasterioIOError as exc:
        raise LayerError([f"cannot read raster {p}: {exc}"], source=str(p),
                         layer="terrain") from exc


# --- OpenStreetMap ---------------------------------------------------------------------

OSM_TAGS: dict[str, dict[str, bool | str | list[str]]] = {
    "pipelines": {"man_made": "pipeline"},
    "compressor_stations": {"pipeline": "substation"},
    "settlements": {"place": ["city", "town", "village"]},
}


def _features_from_xml(path: PathLike, tags: dict[str, bool | str | list[str]]) -> gpd.GeoDataFrame:
    import osmnx as ox

    p = Path(path)
    if not p.exists():
        raise LayerError([f"file not found: {p}"], source=str(p))
    try:
        return ox.features_from_xml(p, tags=tags)
    except Exception as exc:  # osmnx raises InsufficientResponseError on no match
        if type(exc).__name__ == "InsufficientResponseError":
            return gpd.GeoDataFrame(geometry=[], crs=settings.STORAGE_CRS)
        raise LayerError([f"cannot read OSM XML {p}: {exc}"], source=str(p)) from exc


def _tag(df: pd.DataFrame, key: str) -> pd.Series:
    return df[key] if key in df.columns else pd.Series(pd.NA, index=df.index, dtype=object)


def _osm_pipelines(raw: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    if raw.empty:
        raise LayerError(["no gas pipelines (man_made=pipeline + substance=gas) found"],
                         source=source, layer="pipelines")
    gas = raw[_tag(raw, "substance").astype(str).str.lower().isin(["gas", "natural_gas"])]
    gas = gas[gas.geometry.geom_type.isin(["LineString", "MultiLineString"])]
    ids = [f"osm-{t}-{i}" for t, i in gas.index] if isinstance(gas.index, pd.MultiIndex) \
        else [f"osm-{i}" for i in gas.index]
    status = _tag(gas, "disused").notna().map({True: "Mothballed", False: "Operating"})
    df = gpd.GeoDataFrame(
        {
            "pipeline_id": ids,
            "name": _tag(gas, "name").fillna(_tag(gas, "operator")).fillna("unnamed pipeline"),
            "status": status.to_numpy(),
            "operator": _tag(gas, "operator").to_numpy(),
            "diameter_mm": pd.to_numeric(_tag(gas, "diameter"), errors="coerce").to_numpy(),
            "source": "© OpenStreetMap contributors (ODbL)",
        },
        geometry=gas.geometry.to_numpy(),
        crs=settings.STORAGE_CRS,
    )
    return validate_layer(df, "pipelines", source=source, region=None)


def _osm_compressors(raw: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    if not raw.empty:
        raw = raw[_tag(raw, "substation").astype(str).str.lower().eq("compression")]
    if raw.empty:
        raise LayerError(
            ["no compressor stations (pipeline=substation + substation=compression) found"],
            source=source, layer="compressor_stations")
    pts = raw.geometry.representative_point()
    ids = [f"osm-{t}-{i}" for t, i in raw.index] if isinstance(raw.index, pd.MultiIndex) \
        else [f"osm-{i}" for i in raw.index]
    df = gpd.GeoDataFrame(
        {
            "station_id": ids,
            "name": _tag(raw, "name").fillna("unnamed compressor station").to_numpy(),
            "placement": "coordinates",
            "is_estimate": False,
            "source": "© OpenStreetMap contributors (ODbL)",
        },
        geometry=pts.to_numpy(),
        crs=settings.STORAGE_CRS,
    )
    return validate_layer(df, "compressor_stations", source=source, region=None)


def _osm_settlements(raw: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    if raw.empty:
        raise LayerError(["no settlements (place=city/town/village) found"], source=source,
                         layer="settlements")
    df = gpd.GeoDataFrame(
        {
            "name": _tag(raw, "name").fillna("unnamed").to_numpy(),
            "place": _tag(raw, "place").to_numpy(),
            "population": pd.to_numeric(_tag(raw, "population"), errors="coerce").to_numpy(),
        },
        geometry=raw.geometry.representative_point().to_numpy(),
        crs=settings.STORAGE_CRS,
    )
    return validate_layer(df, "settlements", source=source, region=None)


def pipelines_from_osm_xml(path: PathLike) -> gpd.GeoDataFrame:
    """Gas pipelines (``man_made=pipeline`` + ``substance=gas``) from an OSM XML file.

    Examples
    --------
    >>> from pathlib import Path
    >>> lines = pipelines_from_osm_xml(
    ...     Path("tests/data/ggit_osm_derived_gas_pipelines_sample.osm"))
    >>> len(lines)
    16
    """
    raw = _features_from_xml(path, OSM_TAGS["pipelines"])
    return _osm_pipelines(raw, str(path))


def compressor_stations_from_osm_xml(path: PathLike) -> gpd.GeoDataFrame:
    """Compressor stations (``pipeline=substation`` + ``substation=compression``)."""
    raw = _features_from_xml(path, OSM_TAGS["compressor_stations"])
    return _osm_compressors(raw, str(path))


def settlements_from_osm_xml(path: PathLike) -> gpd.GeoDataFrame:
    """Settlements (``place=city|town|village``) from an OSM XML file."""
    raw = _features_from_xml(path, OSM_TAGS["settlements"])
    return _osm_settlements(raw, str(path))


def _overpass(
    what: str, bbox: tuple[float, float, float, float] | None, place: str | None
) -> gpd.GeoDataFrame:
    """Query Overpass through osmnx for a bounding box (west, south, east, north) or place.

    Needs the network; nothing else in the package does.
    """
    import osmnx as ox

    ox.settings.http_user_agent = settings.USER_AGENT
    tags = OSM_TAGS[what]
    if (bbox is None) == (place is None):
        raise ValueError("give exactly one of bbox=(west, south, east, north) or place='...'")
    if bbox is not None:
        return ox.features_from_bbox(bbox, tags=tags)
    assert place is not None
    return ox.features_from_place(place, tags=tags)


def pipelines_from_overpass(
    bbox: tuple[float, float, float, float] | None = None, place: str | None = None
) -> gpd.GeoDataFrame:
    """Gas pipelines from OpenStreetMap online (Overpass); needs the network."""
    return _osm_pipelines(_overpass("pipelines", bbox, place), "overpass")


def compressor_stations_from_overpass(
    bbox: tuple[float, float, float, float] | None = None, place: str | None = None
) -> gpd.GeoDataFrame:
    """Compressor stations from OpenStreetMap online (Overpass); needs the network."""
    return _osm_compressors(_overpass("compressor_stations", bbox, place), "overpass")


def settlements_from_overpass(
    bbox: tuple[float, float, float, float] | None = None, place: str | None = None
) -> gpd.GeoDataFrame:
    """Settlements from OpenStreetMap online (Overpass); needs the network."""
    return _osm_settlements(_overpass("settlements", bbox, place), "overpass")


# --- atomic writers --------------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(target: PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` on success.

    On error the temporary file is removed and ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix,
                               dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.unlink()  # some drivers refuse to write over an existing file
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text_atomic(target: PathLike, text: str) -> Path:
    """Write text to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_csv(df: pd.DataFrame, target: PathLike, *, float_format: str | None = None) -> Path:
    """Write a table as CSV (atomically), every text cell safe to open in a spreadsheet.

    The one CSV writer of the outputs: text cells and column names that a spreadsheet would
    run as a formula (starting ``= + - @``, tab or CR) get a leading ``'``
    (:func:`planner.neutralise.csv_frame`); numbers are written as they are. Rows end
    in CRLF (RFC 4180). ``float_format`` is passed to :meth:`pandas.DataFrame.to_csv`.

    Examples
    --------
    >>> import tempfile
    >>> p = write_csv(pd.DataFrame({"name": ["=cmd|' /C calc'!A0"], "km": [-3.0]}),
    ...               Path(tempfile.mkdtemp()) / "t.csv")
    >>> p.read_text().splitlines()[1]
    "'=cmd|' /C calc'!A0,-3.0"
    """
    from planner.neutralise import csv_frame

    with atomic_path(target) as tmp:
        # CRLF rows (RFC 4180): a cell holding CR or LF is then always quoted
        csv_frame(df).to_csv(tmp, index=False, lineterminator="\r\n",
                             float_format=float_format)
    return Path(target)


def write_layers_gpkg(target: PathLike, layers: Mapping[str, gpd.GeoDataFrame]) -> Path:
    """Write several GeoDataFrames as layers of one GeoPackage, atomically."""
    with atomic_path(target) as tmp:
        for name, gdf in layers.items():
            gdf.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")
    return Path(target)
