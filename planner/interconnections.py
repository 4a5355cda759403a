"""Tables of how the existing gas system is operated: interconnections and line flows.

Two package tables, each row with its own source (``geodata/SOURCES.md``):

``planner/data/interconnections.csv``
    One row per known hub or interconnection: the ``systems`` it joins (``;``-separated,
    the ``system`` column of the pipelines layer), where it is (``lon``/``lat``, or a
    kilometre point ``km`` along ``km_system`` from that system's head), how far from that
    point each system's line is looked for (``search_km``), the direction gas may take
    (``both`` or ``A>B``: only from system A into system B), an optional ``capacity_bcm_y``,
    ``status`` and ``source``. :func:`planner.network.pipeline_graph` joins the named
    systems there even where their geometries do not meet (a gap) or only cross.
``planner/data/line_flows.csv``
    One row per system: the design flow direction, whether the line may be run in
    reverse (``reversible``, in the countries ``reverse_countries``; all when empty), the
    reverse capacity and its basis, known current flows in each direction with their year,
    and the published cost of making it reversible.

A user supplies their own tables with :func:`interconnections_from_csv` and
:func:`line_flows_from_csv`, or from a study file::

    [network]
    interconnections = "my_hubs.csv"     # replaces the package table
    line_flows = "my_flows.csv"

Every loader collects every problem of a file and raises one :class:`NetworkTableError`
naming the file, the line and the field.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner._checks import ProblemsError

log = logging.getLogger(__name__)

#: Columns of an interconnections table (``km_system``/``km`` may replace ``lon``/``lat``).
INTERCONNECTION_COLUMNS = ("interconnection_id", "name", "country", "systems", "lon", "lat",
                           "km_system", "km", "search_km", "direction", "capacity_bcm_y",
                           "status", "source", "note")
#: Columns of a line-flows table.
LINE_FLOW_COLUMNS = ("system", "design_direction", "reversible", "reverse_countries",
                     "reverse_pipeline_ids",
                     "reverse_capacity_bcm_y", "reverse_capacity_basis", "current_flow_bcm_y",
                     "current_flow_year", "reverse_flow_bcm_y", "reverse_flow_year",
                     "reversal_cost_musd", "source", "note")
DIRECTIONS = ("north", "south", "east", "west", "unknown")
#: How far from a hub's point a system's line is looked for when the table gives no
#: ``search_km`` (a planning assumption).
DEFAULT_SEARCH_KM = 25.0


class NetworkTableError(ProblemsError):
    """A network table failed validation; ``problems`` lists every problem."""


def _read(path: str | Path | None, package_file: str) -> tuple[pd.DataFrame, str]:
    if path is None:
        ref = resources.files("planner.data").joinpath(package_file)
        with ref.open("r", encoding="utf-8") as f:
            return pd.read_csv(f, dtype=str, keep_default_na=False), f"planner/data/{package_file}"
    p = Path(path)
    if not p.exists():
        raise NetworkTableError(str(p), ["file not found: give the path of a CSV file "
                                         "(relative paths are read from the study's folder)"])
    try:
        return pd.read_csv(p, dtype=str, keep_default_na=False), str(p)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise NetworkTableError(str(p), [f"not a readable CSV file (UTF-8): {exc}"]) from exc


def _number(raw: str, where: str, problems: list[str], *, minimum: float | None = 0.0
            ) -> float:
    if raw.strip() == "":
        return float("nan")
    try:
        v = float(raw)
    except ValueError:
        problems.append(f"{where}: must be a number, got {raw!r}")
        return float("nan")
    if not np.isfinite(v) or (minimum is not None and v < minimum):
        problems.append(f"{where}: must be a finite number >= {minimum:g}, got {raw!r}")
        return float("nan")
    return v


def _read_table(path: str | Path | None, package_file: str, required: tuple[str, ...],
                columns: tuple[str, ...]) -> tuple[pd.DataFrame, str]:
    """The table (see :func:`_read`) with its required columns checked and every other
    column of ``columns`` present (empty where the file has none)."""
    df, name = _read(path, package_file)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise NetworkTableError(name, [f"column {c!r} is missing (columns: {', '.join(columns)})"
                                       for c in missing])
    for c in columns:
        if c not in df.columns:
            df[c] = ""
    return df, name


def interconnections_from_csv(path: str | Path | None = None) -> pd.DataFrame:
    """Read and validate an interconnections table (default: the package table).

    Returns
    -------
    pandas.DataFrame
        One row per interconnection: ``interconnection_id``, ``name``, ``country``,
        ``systems`` (list of str), ``lon``, ``lat``, ``km_system``, ``km``, ``search_km``,
        ``direction`` (``"both"`` or ``(from system, to system)``), ``capacity_bcm_y``,
        ``status``, ``source``, ``note``.

    Examples
    --------
    >>> t = interconnections_from_csv()
    >>> row = t.set_index("interconnection_id").loc["karakalpakstan"]
    >>> row.systems, row.direction
    (['Central Asia–Center', 'Gazli–Nukus'], ('Central Asia–Center', 'Gazli–Nukus'))
    """
    df, name = _read_table(path, "interconnections.csv",
                           ("interconnection_id", "name", "systems", "source"),
                           INTERCONNECTION_COLUMNS)
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, r in df.iterrows():
        line = int(str(i)) + 2  # header is line 1
        where = f"line {line}"
        iid = str(r["interconnection_id"]).strip()
        if not iid:
            problems.append(f"{where}, interconnection_id: is required")
        elif iid in seen:
            problems.append(f"{where}, interconnection_id: {iid!r} is used twice")
        seen.add(iid)
        systems = [s.strip() for s in str(r["systems"]).split(";") if s.strip()]
        if len(systems) < 2:
            problems.append(f"{where}, systems: name at least two systems separated by ';' "
                            f"(the 'system' column of the pipelines layer), got "
                            f"{r['systems']!r}")
        lon = _number(r["lon"], f"{where}, lon", problems, minimum=-180)
        lat = _number(r["lat"], f"{where}, lat", problems, minimum=-90)
        km = _number(r["km"], f"{where}, km", problems)
        km_system = str(r["km_system"]).strip()
        if (np.isfinite(lon) and lon > 180) or (np.isfinite(lat) and lat > 90):
            problems.append(f"{where}, lon/lat: must be degrees (lon -180..180, lat -90..90)")
        has_xy = np.isfinite(lon) and np.isfinite(lat)
        has_km = bool(km_system) and np.isfinite(km)
        if not has_xy and not has_km:
            problems.append(f"{where}, lon/lat: give lon and lat, or km_system and km "
                            "(a kilometre point from that system's head)")
        if km_system and km_system not in systems:
            problems.append(f"{where}, km_system: {km_system!r} is not one of the row's systems")
        search = _number(r["search_km"], f"{where}, search_km", problems)
        if np.isfinite(search) and search <= 0:
            problems.append(f"{where}, search_km: must be greater than 0")
        raw_dir = str(r["direction"]).strip() or "both"
        direction: str | tuple[str, str] = "both"
        if raw_dir != "both":
            parts = [s.strip() for s in raw_dir.split(">")]
            if len(parts) != 2 or not set(parts) <= set(systems):
                problems.append(f"{where}, direction: 'both' or 'A>B' with A and B among the "
                                f"row's systems, got {raw_dir!r}")
            else:
                direction = (parts[0], parts[1])
        if not str(r["source"]).strip():
            problems.append(f"{where}, source: every row needs its source (URL or document)")
        rows.append({
            "interconnection_id": iid, "name": str(r["name"]).strip() or iid,
            "country": str(r["country"]).strip(), "systems": systems, "lon": lon, "lat": lat,
            "km_system": km_system, "km": km,
            "search_km": search if np.isfinite(search) else DEFAULT_SEARCH_KM,
            "direction": direction,
            "capacity_bcm_y": _number(r["capacity_bcm_y"], f"{where}, capacity_bcm_y",
                                      problems),
            "status": str(r["status"]).strip() or "operating",
            "source": str(r["source"]).strip(), "note": str(r["note"]).strip(),
        })
    if problems:
        raise NetworkTableError(name, problems)
    return pd.DataFrame(rows, columns=list(INTERCONNECTION_COLUMNS))


def line_flows_from_csv(path: str | Path | None = None) -> pd.DataFrame:
    """Read and validate a line-flows table (default: the package table), indexed by system.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``system``: ``design_direction``, ``reversible`` (bool),
        ``reverse_countries`` (tuple of ISO3 codes; empty: every country),
        ``reverse_pipeline_ids`` (the strings that may run in reverse; empty: all),
        ``reverse_capacity_bcm_y``, ``reverse_capacity_basis``, ``current_flow_bcm_y``,
        ``current_flow_year``, ``reverse_flow_bcm_y``, ``reverse_flow_year``,
        ``reversal_cost_musd`` (NaN where not published), ``source``, ``note``.

    Examples
    --------
    >>> f = line_flows_from_csv()
    >>> cac = f.loc["Central Asia–Center"]
    >>> cac.design_direction, bool(cac.reversible), float(cac.reverse_flow_bcm_y)
    ('north', True, 5.64)
    >>> bool(f.loc["Beineu–Bozoi–Shymkent"].reversible)
    False
    """
    df, name = _read_table(path, "line_flows.csv",
                           ("system", "design_direction", "reversible", "source"),
                           LINE_FLOW_COLUMNS)
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, r in df.iterrows():
        where = f"line {int(str(i)) + 2}"
        system = str(r["system"]).strip()
        if not system:
            problems.append(f"{where}, system: is required")
        elif system in seen:
            problems.append(f"{where}, system: {system!r} is listed twice")
        seen.add(system)
        direction = str(r["design_direction"]).strip().lower() or "unknown"
        if direction not in DIRECTIONS:
            problems.append(f"{where}, design_direction: one of {', '.join(DIRECTIONS)}, "
                            f"got {r['design_direction']!r}")
        rev = str(r["reversible"]).strip().lower()
        if rev not in ("yes", "no", "true", "false", ""):
            problems.append(f"{where}, reversible: 'yes' or 'no', got {r['reversible']!r}")
        countries = tuple(c.strip().upper() for c in str(r["reverse_countries"]).split(";")
                          if c.strip())
        bad = [c for c in countries if len(c) != 3 or not c.isalpha()]
        if bad:
            problems.append(f"{where}, reverse_countries: ISO3 codes separated by ';', got "
                            f"{', '.join(bad)}")
        if not str(r["source"]).strip():
            problems.append(f"{where}, source: every row needs its source (URL or document)")
        rows.append({
            "system": system, "design_direction": direction,
            "reversible": rev in ("yes", "true"), "reverse_countries": countries,
            "reverse_pipeline_ids": tuple(x.strip() for x in
                                          str(r["reverse_pipeline_ids"]).split(";")
                                          if x.strip()),
            **{c: _number(r[c], f"{where}, {c}", problems)
               for c in ("reverse_capacity_bcm_y", "current_flow_bcm_y", "reverse_flow_bcm_y",
                         "reversal_cost_musd")},
            "reverse_capacity_basis": str(r["reverse_capacity_basis"]).strip(),
            "current_flow_year": str(r["current_flow_year"]).strip(),
            "reverse_flow_year": str(r["reverse_flow_year"]).strip(),
            "source": str(r["source"]).strip(), "note": str(r["note"]).strip(),
        })
    if problems:
        raise NetworkTableError(name, problems)
    return pd.DataFrame(rows, columns=list(LINE_FLOW_COLUMNS)).set_index("system")


def network_tables_for_study(study: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The interconnections and line-flows tables a study uses (its ``[network]`` table,
    paths relative to the study file, else the package tables)."""
    spec = (getattr(study, "raw", None) or {}).get("network", {})
    if not isinstance(spec, dict):
        raise NetworkTableError(str(getattr(study, "path", "study")),
                                ["[network]: must be a table with 'interconnections' and/or "
                                 "'line_flows' = \"file.csv\""])
    unknown = sorted(set(spec) - {"interconnections", "line_flows"})
    if unknown:
        raise NetworkTableError(str(getattr(study, "path", "study")),
                                [f"[network].{k}: unknown key; known: interconnections, "
                                 "line_flows" for k in unknown])
    base = Path(getattr(study, "path", ".")).parent

    def resolve(key: str) -> Path | None:
        v = spec.get(key)
        if v is None:
            return None
        p = Path(str(v))
        return p if p.is_absolute() else base / p

    return (interconnections_from_csv(resolve("interconnections")),
            line_flows_from_csv(resolve("line_flows")))


__all__ = [
    "NetworkTableError",
    "interconnections_from_csv",
    "line_flows_from_csv",
    "network_tables_for_study",
]
