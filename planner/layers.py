"""The set of layers a study works on, and the shipped default set.

A :class:`Layers` bundle holds one GeoDataFrame per vector layer (all in
:data:`planner.settings.STORAGE_CRS`) and the terrain. :func:`default_layers` derives the
curated default layers from the raw files in ``geodata/`` (see :mod:`planner.curation`);
:func:`layers_summary` gives the table that ``planner layers`` prints.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache

import geopandas as gpd
import pandas as pd

from planner import settings
from planner.terrain import Terrain

log = logging.getLogger(__name__)

VECTOR_LAYERS = (
    "pipelines",
    "compressor_stations",
    "demand_centres",
    "supply_points",
    "countries",
    "water",
    "mountains",
)


@dataclass(frozen=True)
class Layers:
    """The layers of one study, each a validated GeoDataFrame in EPSG:4326."""

    pipelines: gpd.GeoDataFrame
    compressor_stations: gpd.GeoDataFrame
    demand_centres: gpd.GeoDataFrame
    supply_points: gpd.GeoDataFrame
    countries: gpd.GeoDataFrame
    water: gpd.GeoDataFrame
    mountains: gpd.GeoDataFrame
    terrain: Terrain
    sources: dict[str, str] = field(default_factory=dict)

    def vector_layers(self) -> dict[str, gpd.GeoDataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in VECTOR_LAYERS}

    def replace(self, **changes: object) -> Layers:
        """A copy with some layers replaced (for a user's own files)."""
        return replace(self, **changes)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def default_layers() -> Layers:
    """The curated default layers of the trilateral study region, from ``geodata/``.

    Derived from the raw files on first call and then kept in memory.

    Examples
    --------
    >>> layers = default_layers()
    >>> "Tashkent" in set(layers.demand_centres["name"])
    True
    """
    from planner import curation

    return curation.default_layers()


def layers_summary(layers: Layers) -> pd.DataFrame:
    """One row per layer: features, CRS, bounds (west, south, east, north) and source."""
    rows = []
    for name, gdf in layers.vector_layers().items():
        b = gdf.total_bounds if len(gdf) else [float("nan")] * 4
        rows.append(
            {
                "layer": name,
                "features": len(gdf),
                "crs": gdf.crs.to_string() if gdf.crs is not None else "none",
                "bounds": "{:.2f}, {:.2f}, {:.2f}, {:.2f}".format(*b),
                "source": layers.sources.get(name, ""),
            }
        )
    t = layers.terrain
    b = t.bounds
    rows.append(
        {
            "layer": "terrain",
            "features": t.elevation.size,
            "crs": t.crs,
            "bounds": "{:.2f}, {:.2f}, {:.2f}, {:.2f}".format(*b),
            "source": layers.sources.get("terrain", ""),
        }
    )
    return pd.DataFrame(rows)


def layer_places(layers: Layers, region: tuple[float, float, float, float] | None = None
                 ) -> pd.DataFrame:
    """The names a study's ``[[supply]]`` and ``[[destinations]]`` may give: every demand
    centre and supply point (``layer``, ``name``, ``country``, ``lon``, ``lat``), those
    inside ``region`` (west, south, east, north) only when it is given, by layer and name.

    Examples
    --------
    >>> t = layer_places(default_layers(), (49.0, 40.0, 50.0, 41.0))
    >>> t.loc[t["name"].eq("Baku"), ["layer", "country"]].values.tolist()
    [['demand_centres', 'Azerbaijan']]
    """
    frames = []
    for name in ("demand_centres", "supply_points"):
        gdf = getattr(layers, name).to_crs(4326)
        pts = gdf.geometry.representative_point()
        frames.append(pd.DataFrame({"layer": name, "name": gdf["name"].astype(str),
                                    "country": gdf["country"].astype(str),
                                    "lon": pts.x.round(3), "lat": pts.y.round(3)}))
    out = pd.concat(frames, ignore_index=True)
    if region is not None:
        w, s, e, n = region
        out = out[out["lon"].between(w, e) & out["lat"].between(s, n)]
    return out.sort_values(["layer", "name"]).reset_index(drop=True)


__all__ = ["VECTOR_LAYERS", "Layers", "default_layers", "layer_places", "layers_summary",
           "settings"]
