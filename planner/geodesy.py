"""Geodesic measures on the WGS 84 ellipsoid (lengths are reported geodesically, not from
a projected CRS)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Geod

GEOD = Geod(ellps="WGS84")


def geodesic_length_km(lines: gpd.GeoSeries) -> np.ndarray:
    """Geodesic length (km) of every line of an EPSG:4326 series, in one vectorised pass.

    The parts of a MultiLineString are summed (no jump between parts); a missing
    geometry has no length (NaN).

    Examples
    --------
    >>> from shapely.geometry import LineString, MultiLineString
    >>> s = gpd.GeoSeries([LineString([(0, 0), (1, 0)]),
    ...                    MultiLineString([[(0, 0), (1, 0)], [(5, 0), (6, 0)]]), None])
    >>> [round(float(v), 1) for v in geodesic_length_km(s)]  # a degree at the equator
    [111.3, 222.6, nan]
    """
    geoms = np.asarray(lines.to_numpy(), dtype=object)
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    coords, idx = shapely.get_coordinates(parts, return_index=True)
    same = idx[1:] == idx[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    _, _, d = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    out = np.bincount(part_of[idx[1:][same]], weights=np.asarray(d),
                      minlength=len(geoms)) / 1000.0
    out[shapely.is_missing(geoms)] = np.nan
    return out
