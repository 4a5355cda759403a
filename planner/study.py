"""Study files (TOML): parsing, validation, and the layers a study works on.

A study names its region, supply points and destinations (by name from the layers or by
coordinates), required throughputs, scenarios (excluded countries, weight profiles, cost
parameters), the cost-surface resolution, and optionally the user's own layer files with
a column mapping. :func:`load_study` validates it and raises one :class:`StudyError`
listing every problem, each with the field and, where it can be found, the line.

The runner that turns a study into outputs is :func:`planner.runner.run_study`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
from shapely.geometry import Point

from planner import settings
from planner._checks import ProblemsError
from planner.layers import VECTOR_LAYERS, Layers, default_layers
from planner.scoring import WEIGHT_PROFILES
from planner.study_schema import check_keys, did_you_mean, key_lines, line_of
from planner.validation import LayerError

STUDIES_PACKAGE = "planner.studies"
DEFAULT_STUDY = "trilateral_gas_union.toml"


class StudyError(ProblemsError):
    """A study file failed validation; ``problems`` lists every problem."""

    label = "study"


@dataclass(frozen=True)
class Place:
    """A supply point or destination: a named feature of a layer, or coordinates."""

    name: str
    lon: float
    lat: float
    country: str | None = None
    layer: str | None = None
    throughput_bcm_y: float | None = None
    kind: str = "destination"


@dataclass(frozen=True)
class Scenario:
    name: str
    weight_profile: str = "lowest_cost"
    excluded_countries: tuple[str, ...] = ()
    costs: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class LayerFile:
    layer: str
    path: Path
    columns: dict[str, str] = field(default_factory=dict)
    file_layer: str | None = None


@dataclass(frozen=True)
class Study:
    """A validated study."""

    name: str
    title: str
    description: str
    path: Path
    region: tuple[float, float, float, float]
    crs: str
    resolution_km: float
    supply: tuple[Place, ...]
    destinations: tuple[Place, ...]
    scenarios: tuple[Scenario, ...]
    alternatives: int
    reuse_existing: bool
    candidate_network: bool
    costs: dict[str, float]
    layer_files: tuple[LayerFile, ...]
    corridors: dict[str, list[str]] = field(default_factory=dict)
    cost_surface: dict[str, Any] = field(default_factory=dict)
    network_wide_reuse: bool = True
    #: Countries (names or ISO3) whose unserved demand counts as new demand a route can
    #: add (``[study] member_countries``); empty: the destinations' countries.
    member_countries: tuple[str, ...] = ()
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    #: line of every key and table header in the file, by field path (for error messages)
    lines: dict[str, int] = field(repr=False, default_factory=dict)


def default_study_path() -> Path:
    """Path of the shipped default study (the trilateral gas union)."""
    return Path(str(resources.files(STUDIES_PACKAGE).joinpath(DEFAULT_STUDY)))


def shipped_studies() -> list[Path]:
    """Paths of every study shipped with the package."""
    folder = resources.files(STUDIES_PACKAGE)
    return sorted(Path(str(folder.joinpath(p.name))) for p in folder.iterdir()
                  if p.name.endswith(".toml"))


class _Checker:
    """Collects problems while reading a study's tables (one per field)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = key_lines(text)
        self.problems: list[str] = []
        self.fields: set[str] = set()

    def add(self, where: str, msg: str, key: str | None = None, value: object = None) -> None:
        if where in self.fields:  # already reported (by the schema check)
            return
        self.fields.add(where)
        n = line_of(self.lines, where)
        line = f" (line {n})" if n else ""
        self.problems.append(f"{where}{line}: {msg}")

    def number(self, table: dict[str, Any], key: str, where: str, *, default: float | None,
               positive: bool = True, maximum: float | None = None) -> float | None:
        if key not in table:
            if default is None:
                self.add(f"{where}.{key}", "is required")
            return default
        v = table[key]
        if isinstance(v, bool) or not isinstance(v, int | float):
            self.add(f"{where}.{key}", f"must be a number, got {v!r}", key, v)
            return default
        if positive and v <= 0:
            self.add(f"{where}.{key}", f"must be greater than 0, got {v}", key, v)
            return default
        if maximum is not None and v > maximum:
            self.add(f"{where}.{key}", f"must be at most {maximum}, got {v}", key, v)
            return default
        return float(v)


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    """``data[key]`` if it is a table, else ``{}`` (the wrong kind is reported already)."""
    value = data.get(key, {})
    return value if isinstance(value, dict) else {}


#: Keys of a study's ``[cost_surface]`` table: ``parameters`` ("published", the default:
#: the documented factors, or "calibrated": fitted to built lines), any numeric field of
#: :class:`planner.costsurface.CostParams`, ``country_factors`` (ISO3 = multiplier) and
#: ``parallel_statuses`` (list of pipeline statuses).
COST_SURFACE_BASES = ("calibrated", "published")


def _cost_surface_keys() -> tuple[str, ...]:
    from planner.costsurface import NUMERIC_PARAMS, PER_ROUTE_PARAMS

    return ("parameters", *(k for k in NUMERIC_PARAMS if k not in PER_ROUTE_PARAMS),
            "country_factors", "parallel_statuses")


def _tables(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The tables of the array ``data[key]`` (anything else is reported already)."""
    value = data.get(key, [])
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def parse_study(text: str, path: str | Path = "<string>", *,
                collect: list[str] | None = None) -> Study:
    """Parse and validate study TOML text (places are resolved later, against layers).

    With ``collect``, problems are appended to it and a study (with defaults where a value
    is wrong) is returned, so that later checks can report theirs together; a file that
    is not TOML still raises.

    Examples
    --------
    >>> s = parse_study('''
    ... [study]
    ... name = "demo"
    ... [[supply]]
    ... name = "Beyneu"
    ... [[destinations]]
    ... name = "Shymkent"
    ... throughput_bcm_y = 5
    ... ''')
    >>> s.name, s.destinations[0].throughput_bcm_y, s.resolution_km
    ('demo', 5.0, 10.0)
    """
    path = Path(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StudyError(str(path), [f"not valid TOML: {exc}"]) from None
    c = _Checker(text)
    for where, msg in check_keys(data):
        c.add(where, msg)

    meta = _table(data, "study")
    name = meta.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        c.add("study.name", ("is required: " if name is None else "must be ")
              + f"a folder-safe name (letters, digits, - _ .), got {name!r}", "name")
        name = "study"

    region_t = _table(data, "region")
    bounds = region_t.get("bounds", list(settings.DEFAULT_REGION))
    region = settings.DEFAULT_REGION
    if (not isinstance(bounds, list) or len(bounds) != 4
            or not all(isinstance(b, int | float) for b in bounds)):
        c.add("region.bounds", f"must be [west, south, east, north] in degrees, got {bounds!r}",
              "bounds")
    elif not (bounds[0] < bounds[2] and bounds[1] < bounds[3]
              and -180 <= bounds[0] and bounds[2] <= 180 and -90 <= bounds[1]
              and bounds[3] <= 90):
        c.add("region.bounds", f"west < east and south < north within ±180/±90, got {bounds}",
              "bounds")
    else:
        region = (float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3]))
    crs = region_t.get("crs", settings.STUDY_CRS)
    try:
        from pyproj import CRS

        if not CRS.from_user_input(crs).is_projected:
            c.add("region.crs", f"must be a projected CRS (metres), got {crs!r}", "crs")
    except Exception as exc:
        c.add("region.crs", f"is not a CRS pyproj knows: {exc}", "crs")
    resolution = c.number(region_t, "resolution_km", "region",
                          default=settings.DEFAULT_RESOLUTION_KM, maximum=100.0)

    # supply and destinations share one namespace: the plan keys its terminals by name,
    # so a destination named as a supply point would silently replace it
    named: dict[str, str] = {}

    def places(key: str, kind: str) -> tuple[Place, ...]:
        items = _tables(data, key)
        if not items:
            c.add(key, f"at least one [[{key}]] entry is required", None)
            return ()
        out = []
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            where = f"{key}[{i}]"
            nm = item.get("name")
            if not isinstance(nm, str) or not nm.strip():
                c.add(f"{where}.name", "is required (a name from the layers, or a label "
                      "with lon/lat)", None)
                continue
            # outputs and the plan key places by name: a second one of a name would merge
            # into (or overwrite) the first
            first = seen.setdefault(nm.strip().casefold(), i)
            other = named.setdefault(nm.strip().casefold(), where)
            if first != i:
                c.add(f"{where}.name", f"{nm.strip()!r} is already {key}[{first}]: give "
                      f"each {kind} its own name (with lon and lat for a label of your own)",
                      "name", nm)
            elif not other.startswith(f"{key}["):
                n = line_of(c.lines, f"{other}.name")
                c.add(f"{where}.name", f"{nm.strip()!r} is already {other}"
                      + (f" (line {n})" if n else "") + f": a {kind} and a supply point "
                      "need names of their own (the plan keys places by name; give one a "
                      "label with lon and lat)", "name", nm)
            lon: Any = item.get("lon")
            lat: Any = item.get("lat")
            if (lon is None) != (lat is None):
                c.add(where, "give both lon and lat, or neither", "name", nm)
            for k, lo, hi in (("lon", -180, 180), ("lat", -90, 90)):
                v = item.get(k)
                if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)
                                      or not lo <= v <= hi):
                    c.add(f"{where}.{k}", f"must be a number in [{lo}, {hi}], got {v!r}", k, v)
            layer = item.get("layer")
            if layer is not None and layer not in ("demand_centres", "supply_points"):
                c.add(f"{where}.layer", "must be 'demand_centres' or 'supply_points', "
                      f"got {layer!r}", "layer", layer)
            q = None
            if kind == "destination":
                q = c.number(item, "throughput_bcm_y", where, default=None, maximum=200.0)
            ok_coords = isinstance(lon, int | float) and isinstance(lat, int | float)
            out.append(Place(nm.strip(), float(lon) if ok_coords else np.nan,
                             float(lat) if ok_coords else np.nan,
                             item.get("country"), layer, q, kind))
        return tuple(out)

    supply = places("supply", "supply")
    destinations = places("destinations", "destination")

    scen = []
    seen_scen: dict[str, int] = {}
    for i, s in enumerate(_tables(data, "scenarios") if "scenarios" in data
                          else [{"name": "base"}]):
        where = f"scenarios[{i}]"
        sname = s.get("name", f"scenario {i + 1}")
        first = seen_scen.setdefault(str(sname).casefold(), i)
        if first != i:  # route ids, outputs and [plan] scenario go by the name
            c.add(f"{where}.name", f"{sname!r} is already scenarios[{first}]: give each "
                  f"scenario its own name", "name", sname)
        excl = s.get("excluded_countries", [])
        if not isinstance(excl, list) or not all(isinstance(x, str) for x in excl):
            c.add(f"{where}.excluded_countries", "must be a list of ISO3 codes", None)
            excl = []
        costs = s.get("costs", {})
        if not isinstance(costs, dict):
            c.add(f"{where}.costs", "must be a table of parameter = number", None)
            costs = {}
        profile = s.get("weight_profile", "lowest_cost")
        if isinstance(profile, str) and profile not in WEIGHT_PROFILES.columns:
            c.add(f"{where}.weight_profile", f"unknown weight profile {profile!r}"
                  f"{did_you_mean(profile, WEIGHT_PROFILES.columns)}; known: "
                  f"{', '.join(WEIGHT_PROFILES.columns)}")
        scen.append(Scenario(sname, profile,
                             tuple(x.upper() for x in excl), dict(costs)))

    cand = _table(data, "candidates")
    alternatives = cand.get("alternatives", 2)
    if not isinstance(alternatives, int) or isinstance(alternatives, bool) \
            or not 0 <= alternatives <= 5:
        c.add("candidates.alternatives", f"must be a whole number 0-5, got {alternatives!r}",
              "alternatives")
        alternatives = 2

    corridors: dict[str, list[str]] = {}
    for i, cor in enumerate(_tables(data, "corridors")):
        where = f"corridors[{i}]"
        cname, systems = cor.get("name"), cor.get("systems")
        if not isinstance(cname, str) or not cname:
            c.add(f"{where}.name", "is required", None)
            continue
        if not isinstance(systems, list) or not systems or \
                not all(isinstance(x, str) for x in systems):
            c.add(f"{where}.systems", "must be a list of pipeline system names "
                  "(the 'system' column of the pipelines layer)", "systems")
            continue
        corridors[cname] = list(systems)

    members = meta.get("member_countries", [])
    if not isinstance(members, list) or not all(isinstance(x, str) for x in members):
        c.add("study.member_countries", "must be a list of country names or ISO3 codes",
              "member_countries")
        members = []

    costs_t = _table(data, "costs")
    for k, v in costs_t.items():
        if isinstance(v, bool) or not isinstance(v, int | float):
            c.add(f"costs.{k}", f"must be a number, got {v!r}", k)

    cost_surface = _cost_surface_table(_table(data, "cost_surface"), c)

    layer_files = []
    for lname, spec in _table(data, "layers").items():
        where = f"layers.{lname}"
        if lname not in VECTOR_LAYERS:
            c.add(where, f"unknown layer; known: {', '.join(VECTOR_LAYERS)}", None)
            continue
        if not isinstance(spec, dict) or not isinstance(spec.get("path"), str):
            c.add(f"{where}.path", "is required (a vector file GeoPandas reads)", None)
            continue
        p = Path(spec["path"])
        if not p.is_absolute():
            p = (path.parent / p).resolve()
        if not p.exists():
            c.add(f"{where}.path", f"file not found: {p}", "path", spec["path"])
        cols = spec.get("columns", {})
        if not isinstance(cols, dict):
            c.add(f"{where}.columns", "must be a table THEIR_NAME = 'schema_name'", None)
            cols = {}
        layer_files.append(LayerFile(lname, p, dict(cols), spec.get("file_layer")))

    if c.problems and collect is None:
        raise StudyError(str(path), c.problems)
    if collect is not None:
        collect.extend(c.problems)
    return Study(
        name=str(name),
        title=str(meta.get("title", name)),
        description=str(meta.get("description", "")),
        path=path,
        region=region,
        crs=str(crs),
        resolution_km=float(resolution or settings.DEFAULT_RESOLUTION_KM),
        supply=supply,
        destinations=destinations,
        scenarios=tuple(scen),
        alternatives=int(alternatives),
        reuse_existing=bool(cand.get("reuse_existing", True)),
        candidate_network=bool(cand.get("network", False)),
        costs={k: float(v) for k, v in costs_t.items() if isinstance(v, int | float)},
        layer_files=tuple(layer_files),
        corridors=corridors,
        cost_surface=cost_surface,
        network_wide_reuse=bool(cand.get("network_wide_reuse", True)),
        member_countries=tuple(members),
        raw=data,
        lines=c.lines,
    )


def _cost_surface_table(table: Any, c: _Checker) -> dict[str, Any]:
    """The ``[cost_surface]`` table, checked (every problem goes to ``c``)."""
    if not isinstance(table, dict):
        c.add("cost_surface", "must be a table of parameter = value", "cost_surface")
        return {}
    from planner.costsurface import PER_ROUTE_PARAMS

    known = _cost_surface_keys()
    out: dict[str, Any] = {}
    for k, v in table.items():
        where = f"cost_surface.{k}"
        if k in PER_ROUTE_PARAMS:
            c.add(where, "applies to the route backtest and calibration only (each built "
                  "line's two ends known); a study routes many pairs on one surface and "
                  "cannot apply it: remove it", k)
        elif k not in known:
            c.add(where, f"unknown parameter; known: {', '.join(known)}", k)
        elif k == "parameters":
            if v not in COST_SURFACE_BASES:
                c.add(where, f"must be one of {', '.join(COST_SURFACE_BASES)}, got {v!r}", k, v)
            else:
                out[k] = v
        elif k == "country_factors":
            ok = isinstance(v, dict) and all(
                isinstance(f, int | float) and not isinstance(f, bool) and f > 0
                for f in v.values())
            if not ok:
                c.add(where, "must be a table ISO3 = positive number, e.g. { AFG = 3.0 }", k)
            else:
                out[k] = {str(i).upper(): float(f) for i, f in v.items()}
        elif k == "parallel_statuses":
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                c.add(where, "must be a list of pipeline statuses, e.g. [\"operating\"]", k)
            else:
                out[k] = list(v)
        else:
            val = c.number(table, k, "cost_surface", default=None)
            if val is not None:
                out[k] = val
    return out


def study_fingerprint(study: Study) -> str:
    """A hash of everything the study file sets (not of where it lies), to tell whether
    results written by an earlier command still belong to this study.

    Examples
    --------
    >>> text = '''
    ... [study]
    ... name = "s"
    ... [[supply]]
    ... name = "A"
    ... lon = 60.0
    ... lat = 45.0
    ... [[destinations]]
    ... name = "B"
    ... lon = 65.0
    ... lat = 42.0
    ... throughput_bcm_y = 2.0
    ... '''
    >>> a, b = parse_study(text), parse_study(text.replace("2.0", "3.0"))
    >>> study_fingerprint(a) == study_fingerprint(b), len(study_fingerprint(a))
    (False, 16)
    """
    import hashlib
    import json

    text = json.dumps(study.raw, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def load_study(path: str | Path, *, collect: list[str] | None = None) -> Study:
    """Read and validate a study file (``collect``: see :func:`parse_study`)."""
    p = Path(path)
    if not p.is_file():
        what = "a folder, not a file" if p.is_dir() else "file not found"
        raise StudyError(str(p), [f"{what} (give a path to a .toml study file)"])
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise StudyError(str(p), [f"not UTF-8 text ({exc.reason} at byte {exc.start}): "
                                  f"save the study file as UTF-8"]) from None
    return parse_study(text, p, collect=collect)


def layers_for_study(study: Study) -> Layers:
    """The default layers with any of the study's own layer files in their place."""
    from planner.io import layer_from_file

    layers = default_layers()
    changes: dict[str, gpd.GeoDataFrame] = {}
    for lf in study.layer_files:
        try:
            changes[lf.layer] = layer_from_file(lf.path, lf.layer, lf.columns,
                                                file_layer=lf.file_layer, region=study.region)
        except LayerError as exc:  # name the study line that points to the file, too
            field_ = f"layers.{lf.layer}.path"
            n = line_of(study.lines, field_)
            raise LayerError(exc.problems, source=exc.source or str(lf.path),
                             layer=exc.layer or lf.layer,
                             named_by=f"study {study.path}, {field_}"
                                      + (f" (line {n})" if n else "")) from None
    if changes:
        sources = dict(layers.sources)
        sources.update({k: str(lf.path) for lf in study.layer_files for k in [lf.layer]})
        layers = layers.replace(**changes, sources=sources)
    return layers


def resolve_place(place: Place, layers: Layers) -> Place:
    """Give a named place its coordinates (from demand centres or supply points).

    Coordinates given in the study win; otherwise the name is looked up (exactly, then
    case-insensitively) in ``place.layer`` or in both point layers.
    """
    if not np.isnan(place.lon):
        return place
    candidates: list[tuple[str, gpd.GeoDataFrame]] = []
    for lname in ([place.layer] if place.layer else ["demand_centres", "supply_points"]):
        candidates.append((lname, layers.vector_layers()[lname]))
    for lname, gdf in candidates:
        names = gdf["name"].astype(str)
        hit = gdf[names == place.name]
        if hit.empty:
            hit = gdf[names.str.casefold() == place.name.casefold()]
        if place.country and "country" in hit:
            hit = hit[hit["country"].eq(place.country) | hit["country"].isna()]
        if len(hit):
            if "population" in hit:
                hit = hit.sort_values("population", ascending=False)
            pt: Point = hit.geometry.iloc[0]
            country = place.country or (hit["country"].iloc[0] if "country" in hit else None)
            return Place(place.name, pt.x, pt.y, country, lname, place.throughput_bcm_y,
                         place.kind)
    raise LayerError(
        [f"{place.kind} {place.name!r} is not a name in "
         f"{' or '.join(n for n, _ in candidates)}: give lon and lat, or a name that "
         f"`planner layers --places` lists"],
        layer=place.layer,
    )
