"""The keys a study file may set, as one data table, and the checks driven by it.

:data:`STUDY_KEYS` lists every table of a study file and every key each table may hold,
with the kind of value it takes and what it means. :func:`check_keys` walks a parsed study
and reports every key the table does not list (with a "did you mean" from
:func:`difflib.get_close_matches`) and every value of the wrong kind; :func:`key_lines`
finds the line of each key and table header, so every problem can name its line.

Adding a key or a table is one entry here (see the README section "Study files: adding a
key"); the code that reads the value goes where the value is used.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

#: Kinds of value a key takes, with the test and the wording of the error.
KINDS: dict[str, tuple[str, Any]] = {
    "string": ("a string", lambda v: isinstance(v, str)),
    "number": ("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)),
    "integer": ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "boolean": ("true or false", lambda v: isinstance(v, bool)),
    "list": ("a list [...]", lambda v: isinstance(v, list)),
    "table": ("a table", lambda v: isinstance(v, dict)),
    "tables": ("an array of tables [[...]]",
               lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v)),
    "any": ("anything", lambda v: True),
}


@dataclass(frozen=True)
class Key:
    """One key of a study table: the kind of value (a key of :data:`KINDS`) and its meaning."""

    kind: str
    doc: str


#: Cost parameters a study (``[costs]``) or a scenario (``[scenarios.costs]``) may set.
COST_KEYS: dict[str, Key] = {
    "discount_rate": Key("number", "real discount rate (fraction per year)"),
    "lifetime_years": Key("number", "economic lifetime of new pipe (years)"),
    "utilisation": Key("number", "average use of capacity (fraction)"),
    "supply_price_usd_per_1000m3": Key("number", "price of gas at the supply point"),
    "alternative_gas_price_usd_per_1000m3": Key("number",
                                                "the buyer's alternative price of gas"),
    "existing_transit_tariff_usd_per_1000m3_per_100km": Key(
        "number", "tariff of the existing operators on reused lines"),
}

_PLACE = {
    "name": Key("string", "a name from the demand centres or supply points, or a label"),
    "lon": Key("number", "longitude (degrees east); with lat, overrides the name lookup"),
    "lat": Key("number", "latitude (degrees north)"),
    "country": Key("string", "country name or ISO3 code, to pick among places of one name"),
    "layer": Key("string", "'demand_centres' or 'supply_points': where to look the name up"),
}

#: Every table of a study file and the keys it may hold. Table paths join keys with ".";
#: an array of tables (``[[supply]]``) has one path for all its entries; ``*`` stands for
#: any key name (tables whose keys are the user's own names, such as ``[layers.<name>]``).
#: The top level is ``""``.
STUDY_KEYS: dict[str, dict[str, Key]] = {
    "": {
        "study": Key("table", "name, title and description"),
        "region": Key("table", "bounds, CRS and cost-surface resolution"),
        "supply": Key("tables", "where the gas enters"),
        "destinations": Key("tables", "where the gas goes, with throughputs"),
        "scenarios": Key("tables", "weight profile, excluded countries, cost parameters"),
        "candidates": Key("table", "how many and which kinds of candidate routes"),
        "costs": Key("table", "cost parameters for every scenario"),
        "layers": Key("table", "the user's own layer files, by layer name"),
        "corridors": Key("tables", "named corridors of existing pipeline systems"),
        "network": Key("table", "the user's own interconnections and line-flows tables"),
        "cost_surface": Key("table", "cost-surface parameters (checked where they are read: "
                            "planner.study._cost_surface_table)"),
        "plan": Key("table", "the system plan: one optimised network (planner/plan/)"),
        "coalitions": Key("table", "the union as a cooperative game (planner/coalition/)"),
    },
    "cost_surface": {"*": Key("any", "a parameter of planner.costsurface.CostParams")},
    "plan": {"*": Key("any", "a system-plan option (checked where it is read: "
                      "planner.plan.options)")},
    "coalitions": {"*": Key("any", "a coalition-game setting (checked where it is read: "
                            "planner.coalition.spec)")},
    "network": {
        "interconnections": Key("string", "CSV of interconnections (path relative to the "
                                "study file)"),
        "line_flows": Key("string", "CSV of line flows and reversibility (path relative to "
                          "the study file)"),
    },
    "study": {
        "name": Key("string", "folder-safe name (letters, digits, - _ .)"),
        "title": Key("string", "title of the map and report"),
        "description": Key("string", "paragraph under the title"),
        "member_countries": Key("list", "countries (names or ISO3) whose unserved demand "
                                "counts as new demand a route can add"),
    },
    "region": {
        "bounds": Key("list", "[west, south, east, north] in degrees"),
        "crs": Key("string", "projected CRS of the cost surface"),
        "resolution_km": Key("number", "cost-surface cell size (km)"),
    },
    "supply": dict(_PLACE),
    "destinations": {**_PLACE,
                     "throughput_bcm_y": Key("number", "gas delivered (bcm per year)")},
    "scenarios": {
        "name": Key("string", "scenario name"),
        "weight_profile": Key("string", "a column of planner.scoring.WEIGHT_PROFILES"),
        "excluded_countries": Key("list", "countries routes may not cross (ISO3 or name)"),
        "costs": Key("table", "cost parameters of this scenario"),
    },
    "scenarios.costs": COST_KEYS,
    "candidates": {
        "alternatives": Key("integer", "spatially distinct alternatives per destination (0-5)"),
        "reuse_existing": Key("boolean", "also route over existing pipelines"),
        "network": Key("boolean", "also build the candidate network"),
        "network_wide_reuse": Key("boolean", "reuse over the whole operating network"),
    },
    "costs": COST_KEYS,
    "layers": {"*": Key("table", "a layer name from `planner layers` with its file")},
    "layers.*": {
        "path": Key("string", "vector file GeoPandas reads (relative to the study file)"),
        "columns": Key("table", "THEIR_NAME = 'schema_name' column mapping"),
        "file_layer": Key("string", "layer inside a multi-layer file"),
    },
    "layers.*.columns": {"*": Key("string", "schema column the file's column maps to")},
    "corridors": {
        "name": Key("string", "corridor name"),
        "systems": Key("list", "pipeline system names (the pipelines layer's 'system')"),
    },
}


def did_you_mean(word: str, choices: Any) -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``choices``, or ``""``.

    Examples
    --------
    >>> did_you_mean("weight_profle", ["name", "weight_profile"])
    " (did you mean 'weight_profile'?)"
    >>> did_you_mean("zzz", ["name"])
    ''
    """
    by_fold = {str(c).casefold(): str(c) for c in choices}
    hit = difflib.get_close_matches(str(word).casefold(), list(by_fold), n=1, cutoff=0.6)
    return f" (did you mean {by_fold[hit[0]]!r}?)" if hit else ""


def check_keys(data: dict[str, Any], schema: dict[str, dict[str, Key]] | None = None
               ) -> list[tuple[str, str]]:
    """Every unknown key and every value of the wrong kind in a parsed study.

    Returns ``(field, message)`` pairs; ``field`` is the path of the key as
    :func:`key_lines` names it (``destinations[1].country``).

    Examples
    --------
    >>> check_keys({"scenarios": [{"name": "a", "weight_profle": "lowest_cost"}]})
    ... # doctest: +ELLIPSIS
    [('scenarios[0].weight_profle', "unknown key (did you mean 'weight_profile'?); known: ...")]
    >>> check_keys({"region": {"resolution_km": "ten"}})
    [('region.resolution_km', "must be a number, got 'ten'")]
    """
    schema = STUDY_KEYS if schema is None else schema
    problems: list[tuple[str, str]] = []

    def walk(table: dict[str, Any], spec_path: str, where: str) -> None:
        spec = schema.get(spec_path)
        if spec is None:
            return
        for key, value in table.items():
            field = f"{where}.{key}" if where else str(key)
            entry = spec.get(key, spec.get("*"))
            if entry is None:
                what = "table" if isinstance(value, dict | list) and not where else "key"
                known = ", ".join(sorted(k for k in spec if k != "*"))
                problems.append((field, f"unknown {what}{did_you_mean(key, spec)}; "
                                        f"known: {known}"))
                continue
            noun, ok = KINDS[entry.kind]
            if not ok(value):
                problems.append((field, f"must be {noun}, got {value!r}"))
                continue
            child = f"{spec_path}.{'*' if key not in spec else key}".lstrip(".")
            if entry.kind == "table":
                walk(value, child, field)
            elif entry.kind == "tables":
                for i, item in enumerate(value):
                    walk(item, child, f"{field}[{i}]")

    walk(data, "", "")
    return problems


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')"
                  r"(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*=")
_INLINE_KEY = re.compile(r"[{,]\s*([A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')\s*=")


def _parts(dotted: str) -> list[str]:
    return [p.strip().strip("\"'") for p in re.findall(r"\"[^\"]*\"|'[^']*'|[^.]+", dotted)]


def key_lines(text: str) -> dict[str, int]:
    """Line number of every key and table header of TOML ``text``, by field path.

    Paths index arrays of tables: ``destinations[1].country``. Keys set inside an inline
    table on one line are found too; a key nested deeper than that gets its parent's line.

    Examples
    --------
    >>> lines = key_lines('[study]\\nname = "x"\\n[[supply]]\\nname = "a"\\n'
    ...                   '[[supply]]\\nname = "b"\\ncosts = { rate = 1 }\\n')
    >>> lines["study.name"], lines["supply[1].name"], lines["supply[1].costs.rate"]
    (2, 6, 7)
    """
    out: dict[str, int] = {}
    counts: dict[str, int] = {}
    current = ""
    fence: str | None = None
    for n, line in enumerate(text.splitlines(), start=1):
        if fence is not None:  # inside a multi-line string
            if line.count(fence) % 2 == 1:
                fence = None
            continue
        header = _HEADER.match(line)
        if header:
            parts = _parts(header.group(2))
            path = ""
            for i, part in enumerate(parts):
                path = f"{path}.{part}" if path else part
                bare = re.sub(r"\[\d+\]", "", path)
                if i == len(parts) - 1 and header.group(1) == "[[":
                    counts[bare] = counts.get(bare, 0) + 1
                    path = f"{path}[{counts[bare] - 1}]"
                elif bare in counts:
                    path = f"{path}[{counts[bare] - 1}]"
            current = path
            out.setdefault(current, n)
            continue
        key = _KEY.match(line)
        if not key:
            continue
        field = ".".join([current, *_parts(key.group(1))]).lstrip(".")
        out.setdefault(field, n)
        rest = line[key.end():]
        for inner in _INLINE_KEY.finditer(rest):
            out.setdefault(f"{field}.{inner.group(1).strip(chr(34) + chr(39))}", n)
        for q in ('"""', "'''"):
            if rest.count(q) % 2 == 1:
                fence = q
                break
    return out


def line_of(lines: dict[str, int], field: str) -> int | None:
    """The line of ``field``, or of its nearest parent that :func:`key_lines` found."""
    while field:
        if field in lines:
            return lines[field]
        cut = max(field.rfind("."), field.rfind("["))
        field = field[:cut] if cut > 0 else ""
    return None


__all__ = ["COST_KEYS", "KINDS", "STUDY_KEYS", "Key", "check_keys", "did_you_mean",
           "key_lines", "line_of"]
