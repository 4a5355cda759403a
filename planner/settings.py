"""Settings in one documented place.

Every module reads its defaults from here, so a user can see and change them in one
place (as in osmnx). In a source checkout the shipped data is the repository's top-level
``geodata/`` and outputs go to the repository's ``maps/``; an installed wheel carries the same
data as ``planner/_geodata`` (copied there by the build, see ``setup.py``) and writes to
``./maps`` in the current folder. ``PLANNER_GEODATA`` and ``PLANNER_MAPS`` override both.

Attributes
----------
GEODATA_DIR : pathlib.Path
    Folder of the shipped raw data (``geodata/raw``) and its ``SOURCES.md``.
CACHE_DIR : pathlib.Path
    Where cost surfaces and other rebuildable artefacts are cached
    (``PLANNER_CACHE``, default ``~/.cache/planner``).
USE_CACHE : bool
    Whether cost surfaces, candidate routes and the plan's candidate network are read from
    and written to :data:`CACHE_DIR` (:mod:`planner.cache`). True unless ``PLANNER_NO_CACHE``
    is set to anything but ``0`` or empty; ``planner study --no-cache`` turns it off.
MAPS_DIR : pathlib.Path
    Where ``planner study`` writes its outputs (``maps/<study>/``): ``PLANNER_MAPS``, else
    the checkout's ``maps/``, else ``maps/`` in the current folder (an installed wheel).
STORAGE_CRS : str
    CRS in which every layer is stored and exchanged (WGS 84 longitude/latitude).
STUDY_CRS : str
    Projected CRS for rasters and buffers of the default region: an equidistant conic
    centred near 67 E with standard parallels 40 N and 52 N (see ``DESIGN.md``).
DEFAULT_REGION : tuple of float
    The default study region (west, south, east, north) in degrees: the extent of the
    shipped raw data.
DEFAULT_RESOLUTION_KM : float
    Cell size (km) of cost surfaces when a study or caller gives none: 10 km, the
    resolution the route backtest (``planner backtest routes``) uses and the calibrated
    cost parameters were fitted at. The default study sets its own, 2 km.
REGION_TOLERANCE_DEG : float
    How far (degrees) a feature may lie outside the study region before validation
    rejects it as "far outside".
MAP_REGION_MARGIN_DEG : float
    A study's map draws the gas-system layers inside its ``[region]`` bounds widened by
    this many degrees (about 55 km of latitude) each side; lines leaving the region are cut
    there (:mod:`planner.map_region`, display only; routing and the plan use whole layers).
REACH_KM : float
    A demand centre within this distance of an operating pipeline counts as within reach
    of gas today (a planning assumption, not a measured figure).
USER_AGENT : str
    Sent with online OpenStreetMap requests (Overpass through osmnx).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT_DIR = PACKAGE_DIR.parent
#: True when running from a source checkout (editable install or ``python -m``), not a wheel.
IN_CHECKOUT = (ROOT_DIR / "pyproject.toml").is_file() and (ROOT_DIR / "geodata").is_dir()


def _geodata_dir() -> Path:
    if "PLANNER_GEODATA" in os.environ:
        return Path(os.environ["PLANNER_GEODATA"])
    if IN_CHECKOUT:
        return ROOT_DIR / "geodata"
    return PACKAGE_DIR / "_geodata"


def _maps_dir() -> Path:
    if "PLANNER_MAPS" in os.environ:
        return Path(os.environ["PLANNER_MAPS"])
    return ROOT_DIR / "maps" if IN_CHECKOUT else Path.cwd() / "maps"


GEODATA_DIR = _geodata_dir()
RAW_DIR = GEODATA_DIR / "raw"
CACHE_DIR = Path(os.environ.get("PLANNER_CACHE", Path.home() / ".cache" / "planner"))
USE_CACHE = os.environ.get("PLANNER_NO_CACHE", "") in ("", "0")
MAPS_DIR = _maps_dir()

STORAGE_CRS = "EPSG:4326"
STUDY_CRS = "+proj=eqdc +lat_0=45 +lon_0=67 +lat_1=40 +lat_2=52 +datum=WGS84 +units=m +no_defs"

DEFAULT_REGION: tuple[float, float, float, float] = (44.0, 35.0, 90.0, 57.0)
DEFAULT_RESOLUTION_KM = 10.0
REGION_TOLERANCE_DEG = 5.0
MAP_REGION_MARGIN_DEG = 0.5

REACH_KM = 50.0

USER_AGENT = "planner (natural-gas transit route planner)"

# Raw files of the default study, relative to RAW_DIR (see geodata/SOURCES.md).
RAW_FILES: dict[str, str] = {
    "gem_pipelines": "energy/gem_ggit_gas_pipelines_region.geojson",
    "gem_asia": "energy/gem_asia_gas_tracker_2024_region.geojson",
    "compressor_sources": "energy/compressor_stations_public_sources.csv",
    "countries": "boundaries/ne_10m_admin_0_countries_region.geojson",
    "borders": "boundaries/ne_10m_admin_0_boundary_lines_land_region.geojson",
    "ne_places": "places/ne_10m_populated_places_region.geojson",
    "geonames": "places/geonames_cities5000_region.geojson",
    "rivers": "hydro/ne_10m_rivers_lake_centerlines_region.geojson",
    "lakes": "hydro/ne_10m_lakes_region.geojson",
    "caspian": "hydro/caspian_sea_from_ne_10m_land.geojson",
    "regions": "physical/ne_10m_geography_regions_polys_region.geojson",
    "peaks": "physical/ne_10m_geography_regions_elevation_points_region.geojson",
    "dem": "dem/dem_composite_1arcmin.tif",
    "dem_source": "dem/dem_composite_1arcmin_source.tif",
}


def raw_path(key: str) -> Path:
    """Path of a shipped raw file by its key in :data:`RAW_FILES`."""
    return RAW_DIR / RAW_FILES[key]
