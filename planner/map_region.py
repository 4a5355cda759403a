"""What a study's map draws: the layers clipped to the study's region (display only).

The layers a study computes on stay whole (routing, the plan and the accounts see every
line); only the map and ``planner network``'s count of demand centres are cut to the
region, so a study of another region (the South Caucasus) does not carry the whole
shipped layer's pipelines, junctions and supply points onto its map.

The clip box is the study's ``[region]`` bounds widened by
:data:`planner.settings.MAP_REGION_MARGIN_DEG` on every side: lines that leave the region
are cut at that box, so they are drawn a little beyond the region's edge (where they go
is visible) and no farther.
"""

from __future__ import annotations

import geopandas as gpd
import shapely

from planner import settings
from planner.layers import Layers

Box = tuple[float, float, float, float]


def map_box(region: Box, margin_deg: float | None = None) -> Box:
    """The region (west, south, east, north) widened by ``margin_deg`` degrees each side
    (default :data:`planner.settings.MAP_REGION_MARGIN_DEG`), within ±180 / ±90.

    Examples
    --------
    >>> map_box((44.0, 38.0, 51.0, 43.0), 0.5)
    (43.5, 37.5, 51.5, 43.5)
    """
    m = settings.MAP_REGION_MARGIN_DEG if margin_deg is None else float(margin_deg)
    w, s, e, n = region
    return (max(w - m, -180.0), max(s - m, -90.0), min(e + m, 180.0), min(n + m, 90.0))


def clip_to_box(gdf: gpd.GeoDataFrame, box: Box) -> gpd.GeoDataFrame:
    """The features of ``gdf`` inside ``box`` (lon/lat degrees), lines and polygons cut at
    its edge; on the input's index and in the input's CRS.

    Examples
    --------
    >>> from shapely.geometry import LineString, Point
    >>> g = gpd.GeoDataFrame({"name": ["in", "out", "across"]},
    ...                      geometry=[Point(1, 1), Point(5, 5), LineString([(1, 1), (4, 1)])],
    ...                      crs="EPSG:4326")
    >>> c = clip_to_box(g, (0.0, 0.0, 2.0, 2.0))
    >>> c["name"].tolist(), c.geometry.iloc[1].bounds
    (['in', 'across'], (1.0, 1.0, 2.0, 1.0))
    """
    if gdf.empty:
        return gdf
    g = gdf if gdf.crs is None or gdf.crs.equals("EPSG:4326") else gdf.to_crs("EPSG:4326")
    out = g.clip(shapely.box(*box))
    # a line that only touches the box comes out as points: drop those, not real points
    had_points = g.geometry.geom_type.isin(["Point", "MultiPoint"]).any()
    touched = out.geometry.geom_type.isin(["Point", "MultiPoint"]) & (not had_points)
    out = out[~out.geometry.is_empty & ~touched].sort_index()
    return out if g is gdf else out.to_crs(gdf.crs)


#: The gas-system layers a map draws as features (the basemap's countries and water are
#: already cut around them by :func:`planner.webmap.existing_system_map`).
GAS_LAYERS = ("pipelines", "compressor_stations", "demand_centres", "supply_points")


def layers_for_map(layers: Layers, region: Box, margin_deg: float | None = None) -> Layers:
    """A copy of ``layers`` with the gas-system layers (:data:`GAS_LAYERS`) clipped to
    :func:`map_box` of ``region``: what a study's map draws. The other layers, the terrain
    and the sources are kept as they are."""
    box = map_box(region, margin_deg)
    return layers.replace(**{name: clip_to_box(getattr(layers, name), box)
                             for name in GAS_LAYERS})


__all__ = ["GAS_LAYERS", "clip_to_box", "layers_for_map", "map_box"]
