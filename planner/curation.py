"""Derive the curated default layers from the raw files shipped in ``geodata/raw``.

Each function takes raw GeoDataFrames (read by :func:`default_layers`) and returns a
layer that passes :func:`planner.validation.validate_layer`. The derivation is code, so
it can be re-run and reviewed; ``geodata/SOURCES.md`` documents each input and rule.

Rules (see the functions for details):

- pipelines: GEM GGIT lines; the counting basis of parallel strings comes from
  ``planner/data/pipeline_systems.csv`` so that a system's capacity is not multiplied by
  its strings (:func:`pipeline_systems`).
- compressor stations: placed from the kilometre point published for them along their
  pipeline, or at the published locality (GeoNames coordinates); each row cites its source.
- demand centres: Natural Earth populated places, population cross-checked with GeoNames;
  demand = national consumption (cited) x the centre's share of national population.
- supply points: GEM gas extraction areas and the points where operating pipelines cross
  land borders (computed from GEM routes and Natural Earth border lines).
"""

from __future__ import annotations

import logging
import re
from importlib import resources

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, MultiLineString, Point
from shapely.ops import linemerge

from planner import settings
from planner.geodesy import GEOD, geodesic_length_km
from planner.io import read_vector, terrain_from_file
from planner.layers import Layers
from planner.validation import validate_layer

log = logging.getLogger(__name__)

GEM = "Global Energy Monitor, Global Gas Infrastructure Tracker (Oct 2024), CC BY 4.0"
NE = "Natural Earth 10m (public domain)"


def _data_csv(name: str) -> pd.DataFrame:
    with resources.files("planner.data").joinpath(name).open("r", encoding="utf-8") as f:
        return pd.read_csv(f)


# --- countries, water, mountains --------------------------------------------------------


def countries_from_natural_earth(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Countries with ``iso_a3`` (NE ADM0_A3), name and population.

    The Baikonur lease area (NE's own unit ``KAB``) is Kazakh territory leased to Russia;
    it is merged into Kazakhstan so that a route through it stays in Kazakhstan.
    """
    df = raw.rename(columns={"ADM0_A3": "iso_a3", "ADMIN": "name", "POP_EST": "population"})
    df = df[["iso_a3", "name", "population", "geometry"]].copy()
    df.loc[df["iso_a3"] == "KAB", ["iso_a3", "name", "population"]] = ["KAZ", "Kazakhstan", 0]
    df = df.dissolve(by="iso_a3", aggfunc={"name": "first", "population": "sum"}).reset_index()
    df["source"] = NE
    return validate_layer(df, "countries", source="ne_10m_admin_0_countries")


def water_from_natural_earth(
    caspian: gpd.GeoDataFrame, lakes: gpd.GeoDataFrame, rivers: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Seas (the Caspian), lakes and reservoirs (polygons) and rivers (lines)."""
    sea = gpd.GeoDataFrame({"name": ["Caspian Sea"], "kind": ["sea"]},
                           geometry=caspian.geometry.to_numpy(), crs=caspian.crs)
    lk = gpd.GeoDataFrame(
        {
            "name": lakes["name"].fillna(lakes.get("name_en")),
            "kind": np.where(lakes["featurecla"].eq("Reservoir"), "reservoir", "lake"),
        },
        geometry=lakes.geometry,
        crs=lakes.crs,
    )
    rv = gpd.GeoDataFrame(
        {"name": rivers["name"].fillna(rivers.get("name_en")), "kind": "river"},
        geometry=rivers.geometry,
        crs=rivers.crs,
    )
    df = pd.concat([sea, lk, rv], ignore_index=True)
    df["source"] = NE
    return validate_layer(gpd.GeoDataFrame(df, crs=caspian.crs), "water",
                          source="ne_10m lakes, rivers, Caspian")


def mountains_from_natural_earth(regions: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Mountain ranges (Natural Earth geography regions of class ``Range/mtn``)."""
    df = regions[regions["featurecla"].eq("Range/mtn")][["name", "geometry"]].copy()
    df["source"] = NE
    return validate_layer(df.reset_index(drop=True), "mountains",
                          source="ne_10m_geography_regions_polys")


# --- pipelines ---------------------------------------------------------------------------

_SYSTEM_DASH = re.compile(r"\s*-\s*")


def _system_name(gem_name: str) -> str:
    name = gem_name.replace(" Gas Pipeline", "").replace(" Pipeline", "").strip()
    return _SYSTEM_DASH.sub("–", name)


def pipelines_from_gem(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Pipelines from the GEM GGIT export, with systems and counting basis made explicit.

    ``system`` groups the strings, phases and segments of one pipeline; ``capacity_basis``
    says whether a line's capacity is its own (``string``) or repeats the whole system's
    (``system``), from ``planner/data/pipeline_systems.csv``. Lines not listed there are
    each their own system with their own capacity.
    """
    basis = _data_csv("pipeline_systems.csv").set_index("pipeline_id")
    start = pd.to_numeric(raw["start_year"], errors="coerce")
    df = gpd.GeoDataFrame(
        {
            "pipeline_id": raw["gem_project_id"].astype(str),
            "name": [n if not isinstance(u, str) else f"{n} ({u})"
                     for n, u in zip(raw["name"], raw["unit_name"], strict=True)],
            "system": raw["name"].map(_system_name),
            "string": raw["unit_name"],
            "status": raw["status"],
            "countries": raw["areas"],
            "capacity_bcm_y": pd.to_numeric(raw["capacity"], errors="coerce"),
            "capacity_basis": "string",
            "start_year": start,
            "operator": raw["owner"],
            "diameter_mm": np.nan,
            "max_pressure_mpa": np.nan,
            "parallel_strings": np.nan,
            "max_pressure_basis": None,
            "source": GEM,
        },
        geometry=raw.geometry,
        crs=raw.crs,
    )
    listed = df["pipeline_id"].isin(basis.index)
    df.loc[listed, "system"] = df.loc[listed, "pipeline_id"].map(basis["system"])
    df.loc[listed, "capacity_basis"] = df.loc[listed, "pipeline_id"].map(basis["capacity_basis"])
    # GEM carries no diameter or pressure: published figures per system, where found
    hyd = existing_line_hydraulics().set_index("system")
    df["diameter_mm"] = df["system"].map(hyd["diameter_mm"]).astype(float)
    df["max_pressure_mpa"] = df["system"].map(hyd["max_pressure_mpa"]).astype(float)
    df["parallel_strings"] = df["system"].map(hyd["strings"]).astype(float)
    df["max_pressure_basis"] = df["system"].map(hyd["max_pressure_basis"])
    df["length_km"] = geodesic_length_km(df.geometry)
    return validate_layer(df, "pipelines", source=settings.RAW_FILES["gem_pipelines"])


def existing_line_hydraulics() -> pd.DataFrame:
    """Published diameter and maximum pressure of existing systems, with their sources.

    One row per system (``planner/data/existing_line_hydraulics.csv``): ``strings``,
    ``diameter_mm`` (the smallest trunk diameter where strings differ), ``wall_mm``,
    ``max_pressure_mpa`` (gauge), ``max_pressure_basis`` ("published" or "estimate", the
    estimate explained in ``note``), ``source``, ``note``. Empty cells were not found
    published; such lines are not assessed hydraulically when reused.
    """
    t = _data_csv("existing_line_hydraulics.csv")
    for c in ("strings", "diameter_mm", "wall_mm", "max_pressure_mpa"):
        t[c] = pd.to_numeric(t[c], errors="coerce")
    return t


def pipeline_systems(pipelines: gpd.GeoDataFrame,
                     statuses: tuple[str, ...] = ("Operating",)) -> pd.DataFrame:
    """One row per system: capacity counted once per system, strings, route length.

    A system's capacity is the largest ``system``-basis figure (the figure each parallel
    string repeats) plus the sum of the ``string``-basis figures, over lines whose status
    is in ``statuses``.

    Examples
    --------
    >>> from planner.layers import default_layers
    >>> systems = pipeline_systems(default_layers().pipelines)
    >>> float(systems.loc["Central Asia–China", "capacity_bcm_y"])  # lines A+B+C
    55.0
    """
    p = pipelines[pipelines["status"].isin(statuses)]
    rows = []
    for system, g in p.groupby("system"):
        repeated = g.loc[g["capacity_basis"].eq("system"), "capacity_bcm_y"].max()
        own = g.loc[g["capacity_basis"].eq("string"), "capacity_bcm_y"]
        parts = [v for v in [repeated, own.sum(min_count=1)] if pd.notna(v)]
        rows.append(
            {
                "system": system,
                "capacity_bcm_y": float(sum(parts)) if parts else np.nan,
                "strings": len(g),
                "route_km": float(g["length_km"].max()),
                "string_km": float(g["length_km"].sum()),
                "countries": ", ".join(sorted({c.strip() for cs in g["countries"].dropna()
                                               for c in cs.split(",")})),
            }
        )
    return pd.DataFrame(rows).set_index("system")


def _single_line(geom: LineString | MultiLineString) -> LineString:
    """Merge a route into one line (the longest part when it does not join up)."""
    if isinstance(geom, LineString):
        return geom
    merged = linemerge(geom)
    if isinstance(merged, LineString):
        return merged
    return max(merged.geoms, key=lambda g: g.length)


def point_at_km(line: LineString, km: float, start_near: Point | None = None) -> Point:
    """The point ``km`` geodesic kilometres along ``line`` from its start.

    With ``start_near``, the line is first oriented to start at its end nearest that
    point (a pipeline's kilometre points count from its head station).
    """
    coords = np.asarray(line.coords)
    if start_near is not None:
        d0 = GEOD.inv(coords[0, 0], coords[0, 1], start_near.x, start_near.y)[2]
        d1 = GEOD.inv(coords[-1, 0], coords[-1, 1], start_near.x, start_near.y)[2]
        if d1 < d0:
            coords = coords[::-1]
    seg = GEOD.inv(coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1])[2] / 1000
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    if km > cum[-1]:
        raise ValueError(f"km point {km} is beyond the line's {cum[-1]:.0f} km")
    i = int(np.searchsorted(cum, km, side="right") - 1)
    i = min(i, len(seg) - 1)
    frac = (km - cum[i]) / seg[i] if seg[i] > 0 else 0.0
    az, _, _ = GEOD.inv(coords[i, 0], coords[i, 1], coords[i + 1, 0], coords[i + 1, 1])
    lon, lat, _ = GEOD.fwd(coords[i, 0], coords[i, 1], az, frac * seg[i] * 1000)
    return Point(float(lon), float(lat))


# --- compressor stations -----------------------------------------------------------------

# Where each source row's kilometre count starts (the head of the line, by its name),
# and which GEM line carries it. Localities are GeoNames names.
_STATION_LINES: dict[str, tuple[str, str]] = {
    "Beineu–Bozoi–Shymkent (BBS)": ("P3273", "Beyneu"),
    "Bukhara–Ural": ("P2289", "Bukhara"),
}
# Stations the sources place only by locality: row name prefix -> (GeoNames name, country).
_STATION_LOCALITIES: dict[str, tuple[str, str]] = {
    "Zhezkazgan CS": ("Zhezqazghan", "KZ"),
    "Temirtau CS": ("Temirtau", "KZ"),
    "Sokuluk CS": ("Sokuluk", "KG"),
    "Shatlyk CS": ("Shatlyk", "TM"),
    "Alexandrov Gay CS": ("Aleksandrov Gay", "RU"),
}


def _km_value(text: object) -> float:
    m = re.search(r"\d+(?:\.\d+)?", str(text)) if isinstance(text, str) else None
    return float(m.group()) if m else np.nan


def compressor_stations_from_public_sources(
    sources: pd.DataFrame,
    pipelines: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    """Place the named stations of ``compressor_stations_public_sources.csv``.

    A station with a published kilometre point is placed that far along its pipeline's GEM
    route, counted from the head named first in the pipeline's name (the end nearest that
    town); one named only by locality is placed at the locality (GeoNames coordinates).
    Rows that are counts ("17 CS in total") or name no place are not placed. Every row
    keeps its source URL and the placement method; none is an estimate of location beyond
    that stated method, so ``is_estimate`` is False (a conflicting km point is noted).
    """
    by_id = pipelines.set_index("pipeline_id")
    rows = []
    for _, src in sources.iterrows():
        station = str(src["station"])
        name = station.split("(")[0].strip()
        km = _km_value(src["km_point"])
        note = str(src["km_point"]) if isinstance(src["km_point"], str) else ""
        status = "planned" if "[planned]" in station else "operating"
        name = name.replace("[planned]", "").strip()
        geom: Point | None = None
        placement = ""
        line = _STATION_LINES.get(str(src["pipeline"]))
        if line and not np.isnan(km):
            pid, head = line
            head_pt = places.loc[places["name"].eq(head)].geometry.iloc[0]
            geom = point_at_km(_single_line(by_id.loc[pid, "geometry"]), km, head_pt)
            placement = f"km_point {km:g} from {head} along GEM route {pid}"
        else:
            loc = next((v for k, v in _STATION_LOCALITIES.items() if name.startswith(k)), None)
            if loc:
                hit = places[places["name"].eq(loc[0]) & places["countrycode"].eq(loc[1])]
                if len(hit):
                    geom = hit.geometry.iloc[0]
                    placement = f"locality {loc[0]} (GeoNames coordinates)"
        if geom is None:
            log.info("compressor station not placed (no km point or locality): %s", station)
            continue
        rows.append(
            {
                "name": name,
                "pipeline": src["pipeline"],
                "status": status,
                "power_mw": _km_value(src.get("power_mw")) if isinstance(src.get("power_mw"), str)
                else float(src.get("power_mw") or np.nan),
                "km_point": km,
                "placement": placement,
                "is_estimate": False,
                "note": "conflicting km points in sources: " + note if "CONFLICT" in note
                else note,
                "source": src["source"],
                "geometry": geom,
            }
        )
    df = gpd.GeoDataFrame(rows, geometry="geometry", crs=settings.STORAGE_CRS)
    df.insert(0, "station_id", [f"cs-{i + 1:03d}" for i in range(len(df))])
    return validate_layer(df, "compressor_stations",
                          source=settings.RAW_FILES["compressor_sources"])


# --- demand centres ----------------------------------------------------------------------


def _distance_to_lines_km(points: gpd.GeoSeries, lines: gpd.GeoSeries) -> np.ndarray:
    """Distance (km) from each point to the nearest line, measured in the study CRS."""
    if len(lines) == 0:
        return np.full(len(points), np.inf)
    p = points.to_crs(settings.STUDY_CRS)
    tree = shapely.STRtree(lines.to_crs(settings.STUDY_CRS).to_numpy())
    _, dist = tree.query_nearest(p.to_numpy(), return_distance=True, all_matches=False)
    return np.asarray(dist) / 1000.0


def demand_centres_from_places(
    ne_places: gpd.GeoDataFrame,
    geonames: gpd.GeoDataFrame,
    countries: gpd.GeoDataFrame,
    consumption: pd.DataFrame,
    pipelines: gpd.GeoDataFrame,
    reach_km: float = settings.REACH_KM,
) -> gpd.GeoDataFrame:
    """Demand centres: Natural Earth places with population and an annual demand estimate.

    Population: NE ``POP_MAX``, cross-checked with the GeoNames record of the same
    ``GEONAMEID``; where the two differ by more than a factor of two (NE has stale figures,
    e.g. Aqtau) the GeoNames figure is used and the row says so.

    Demand (an estimate): the country's annual consumption (cited, in
    ``planner/data/national_gas_consumption.csv``) times the centre's share of the
    national population (NE ``POP_EST``); countries without a cited figure get none.

    Gas access: an operating pipeline lies within ``reach_km``.
    """
    gn = geonames.set_index("geonameid")
    ne_pop = pd.to_numeric(ne_places["POP_MAX"], errors="coerce")
    gid = pd.to_numeric(ne_places["GEONAMEID"], errors="coerce")
    gn_pop = gid.map(gn["population"]).astype(float)
    ratio = ne_pop / gn_pop
    use_gn = gn_pop.notna() & (gn_pop > 0) & ((ratio > 2) | (ratio < 0.5) | (ne_pop <= 0))
    population = ne_pop.where(~use_gn, gn_pop)
    source = np.where(use_gn, "population: GeoNames (NE figure differs by >2x)",
                      "population: Natural Earth POP_MAX")
    names = ne_places["NAME"]
    country = ne_places["ADM0NAME"]

    cons = consumption.set_index("country")["consumption_bcm_y"]
    national_pop = countries.set_index("name")["population"]
    demand = population * country.map(cons) / country.map(national_pop)

    operating = pipelines[pipelines["status"].eq("Operating")]
    dist = _distance_to_lines_km(ne_places.geometry, operating.geometry)
    df = gpd.GeoDataFrame(
        {
            "centre_id": [f"ne-{int(g)}" if pd.notna(g) else f"ne-row{i}"
                          for i, g in enumerate(gid)],
            "name": names,
            "country": country,
            "admin1": ne_places["ADM1NAME"],
            "population": population,
            "demand_bcm_y": demand,
            "gas_access": dist <= reach_km,
            "distance_to_pipeline_km": dist,
            "capital": pd.to_numeric(ne_places["ADM0CAP"], errors="coerce").fillna(0) > 0,
            "source": [f"{NE}; {s}; demand: estimate (national consumption x population "
                       f"share)" for s in source],
        },
        geometry=ne_places.geometry,
        crs=ne_places.crs,
    )
    df = df[df["population"] > 0]
    dup = df["centre_id"].duplicated(keep="first")
    df = df[~dup].reset_index(drop=True)
    return validate_layer(df, "demand_centres", source=settings.RAW_FILES["ne_places"])


# --- supply points -----------------------------------------------------------------------


def towns_from_geonames(geonames: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Towns with their population from the GeoNames cities-5000 extract: ``name``,
    ``country`` (ISO2), ``population`` and the point; rows without a population are
    dropped. The cost surface's transport-corridor proxy reads them
    (:class:`planner.costsurface.CostParams` ``town_access_*``).
    """
    pop = pd.to_numeric(geonames["population"], errors="coerce")
    keep = pop.notna() & geonames.geometry.notna()
    return gpd.GeoDataFrame(
        {"name": geonames.loc[keep, "name"].astype(str),
         "country": geonames.loc[keep, "countrycode"].astype(str),
         "population": pop[keep].astype(float)},
        geometry=geonames.geometry[keep], crs=geonames.crs).reset_index(drop=True)


def gas_fields_from_gem(asia: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Gas extraction areas of the GEM Asia Gas Tracker (points)."""
    f = asia[asia["type"].eq("gas_extraction_area")]
    return gpd.GeoDataFrame(
        {
            "supply_id": [f"field-{i + 1:03d}" for i in range(len(f))],
            "name": f["project"].to_numpy(),
            "kind": "gas_field",
            "country": f["countries"].to_numpy(),
            "status": f["status_tabular"].to_numpy(),
            "source": "Global Energy Monitor, Asia Gas Tracker (May 2024), CC BY 4.0; "
            + f["url"].fillna("").to_numpy(),
        },
        geometry=f.geometry.to_numpy(),
        crs=asia.crs,
    )


def border_crossings(
    pipelines: gpd.GeoDataFrame,
    borders: gpd.GeoDataFrame,
    cluster_km: float = 15.0,
    places: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Points where operating pipelines cross land borders, one per system and border.

    Parallel strings cross at nearly one place: intersections of one system with one
    border within ``cluster_km`` of each other are merged into one point (their mean).

    Returns columns ``name``, ``kind`` ("border_crossing"), ``pipeline`` (the system),
    ``from_country``/``to_country`` (the two sides, as Natural Earth names them: left and
    right of the border line; a crossing serves flow either way), ``capacity_bcm_y``.
    With ``places`` (points with a ``name``), each crossing is named after the nearest
    place, so that a system's several crossings of one border can be told apart.
    """
    operating = pipelines[pipelines["status"].eq("Operating")]
    systems = pipeline_systems(pipelines)
    # Lease and glacier units of Natural Earth are not borders gas crosses.
    not_borders = {"Baykonur Cosmodrome", "Siachen Glacier"}
    borders = borders[~borders["ADM0_LEFT"].isin(not_borders)
                      & ~borders["ADM0_RIGHT"].isin(not_borders)]
    rows = []
    for _, b in borders.iterrows():
        left, right = b["ADM0_LEFT"], b["ADM0_RIGHT"]
        hits = operating[operating.intersects(b.geometry)]
        for system, g in hits.groupby("system"):
            pts: list[Point] = []
            for geom in g.geometry:
                inter = geom.intersection(b.geometry)
                pts.extend(p for p in shapely.get_parts(inter) if isinstance(p, Point))
            if not pts:
                continue
            xy = np.array([[p.x, p.y] for p in pts])
            proj = gpd.GeoSeries([Point(x, y) for x, y in xy], crs=settings.STORAGE_CRS
                                 ).to_crs(settings.STUDY_CRS)
            pxy = np.column_stack([proj.x, proj.y])
            label = -np.ones(len(pxy), dtype=int)
            for i in range(len(pxy)):
                if label[i] >= 0:
                    continue
                near = np.hypot(*(pxy - pxy[i]).T) <= cluster_km * 1000
                label[near & (label < 0)] = label.max() + 1
            for k in range(label.max() + 1):
                c = xy[label == k].mean(axis=0)
                rows.append(
                    {
                        "name": f"{system}: {left}–{right} border",
                        "kind": "border_crossing",
                        "country": right,
                        "from_country": left,
                        "to_country": right,
                        "pipeline": system,
                        "capacity_bcm_y": systems.loc[system, "capacity_bcm_y"]
                        if system in systems.index else np.nan,
                        "source": f"computed: {GEM} routes x {NE} land borders",
                        "geometry": Point(*c),
                    }
                )
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=settings.STORAGE_CRS)
    if places is not None and len(out):
        tree = shapely.STRtree(places.geometry.to_numpy())
        nearest = tree.query_nearest(out.geometry.to_numpy(), all_matches=False)[1]
        out["name"] = [f"{n} near {places['name'].iloc[j]}"
                       for n, j in zip(out["name"], nearest, strict=True)]
    repeat = out.groupby("name").cumcount()
    out.loc[repeat > 0, "name"] += " (" + (repeat[repeat > 0] + 1).astype(str) + ")"
    return out


def supply_points_from_layers(
    fields: gpd.GeoDataFrame, crossings: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Gas fields and border crossings as one supply-point layer."""
    crossings = crossings.copy()
    crossings.insert(0, "supply_id", [f"xing-{i + 1:03d}" for i in range(len(crossings))])
    df = pd.concat([fields, crossings], ignore_index=True)
    return validate_layer(gpd.GeoDataFrame(df, crs=settings.STORAGE_CRS), "supply_points",
                          source="GEM gas fields + computed border crossings")


def find_border_crossing(supply_points: gpd.GeoDataFrame, system: str, a: str,
                         b: str) -> gpd.GeoDataFrame:
    """Crossings of ``system`` on the border between countries ``a`` and ``b`` (any order).

    Examples
    --------
    >>> from planner.layers import default_layers
    >>> x = find_border_crossing(default_layers().supply_points, "Central Asia–Center",
    ...                          "Russia", "Kazakhstan")
    >>> len(x) >= 1
    True
    """
    s = supply_points[supply_points["kind"].eq("border_crossing")]
    pair = {a, b}
    same_pair = np.array(
        [{f, t} == pair for f, t in zip(s["from_country"], s["to_country"], strict=True)],
        dtype=bool,
    )
    mask = s["pipeline"].eq(system).to_numpy() & same_pair
    return s[mask]


# --- the default set ---------------------------------------------------------------------


def default_layers() -> Layers:
    """Read the raw files of ``geodata/raw`` and derive every default layer."""
    raw = {k: settings.raw_path(k) for k in settings.RAW_FILES}
    countries = countries_from_natural_earth(read_vector(raw["countries"]))
    water = water_from_natural_earth(read_vector(raw["caspian"]), read_vector(raw["lakes"]),
                                     read_vector(raw["rivers"]))
    mountains = mountains_from_natural_earth(read_vector(raw["regions"]))
    pipelines = pipelines_from_gem(read_vector(raw["gem_pipelines"]))
    geonames = read_vector(raw["geonames"])
    stations = compressor_stations_from_public_sources(
        pd.read_csv(raw["compressor_sources"]), pipelines, geonames)
    consumption = _data_csv("national_gas_consumption.csv")
    demand = demand_centres_from_places(read_vector(raw["ne_places"]), geonames, countries,
                                        consumption, pipelines)
    crossings = border_crossings(pipelines, read_vector(raw["borders"]), places=geonames)
    supply = supply_points_from_layers(gas_fields_from_gem(read_vector(raw["gem_asia"])),
                                       crossings)
    terrain = terrain_from_file(raw["dem"])
    sources = {
        "pipelines": "GEM GGIT (CC BY 4.0)",
        "compressor_stations": "public reports (see source column)",
        "demand_centres": "Natural Earth + GeoNames (CC BY 4.0)",
        "supply_points": "GEM + computed crossings",
        "countries": "Natural Earth",
        "water": "Natural Earth",
        "mountains": "Natural Earth",
        "terrain": "NOAA GLOBE + Mapzen composite (1')",
    }
    return Layers(pipelines, stations, demand, supply, countries, water, mountains, terrain,
                  sources)
