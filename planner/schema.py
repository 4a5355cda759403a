"""Layer schemas written down as data.

Each layer has one :class:`LayerSchema`: the geometry types it accepts and its columns
(name, type, unit, whether required, description), as PyPSA documents its components.
Validation (:mod:`planner.validation`) and the ``planner layers`` summary read these
tables; nothing else in the package hard-codes a layer's columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class Column:
    """One column of a layer."""

    name: str
    dtype: str  # "str", "float", "int", "bool"
    unit: str
    required: bool
    description: str


@dataclass(frozen=True)
class LayerSchema:
    """A layer's geometry types, id column and columns."""

    name: str
    geometry_types: tuple[str, ...]
    id_column: str | None
    columns: tuple[Column, ...] = field(default_factory=tuple)
    description: str = ""

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def numeric(self) -> list[str]:
        return [c.name for c in self.columns if c.dtype in ("float", "int")]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"layer {self.name!r} has no column {name!r}")

    def table(self) -> pd.DataFrame:
        """The schema as a table (column, type, unit, required, description)."""
        return pd.DataFrame(
            [(c.name, c.dtype, c.unit, c.required, c.description) for c in self.columns],
            columns=["column", "type", "unit", "required", "description"],
        )


_LINES = ("LineString", "MultiLineString")
_POINTS = ("Point",)
_AREAS = ("Polygon", "MultiPolygon")

PIPELINES = LayerSchema(
    "pipelines",
    _LINES,
    "pipeline_id",
    (
        Column("pipeline_id", "str", "", True, "Unique id of the line (GEM project id)"),
        Column("name", "str", "", True, "Name of the pipeline"),
        Column("system", "str", "", False, "System the line is a string or section of"),
        Column("string", "str", "", False, "String, phase or segment within the system"),
        Column("status", "str", "", True, "Operating, Construction, Proposed, Mothballed, ..."),
        Column("countries", "str", "", False, "Countries crossed, comma separated"),
        Column("capacity_bcm_y", "float", "bcm/y", False, "Capacity; missing stays missing"),
        Column(
            "capacity_basis",
            "str",
            "",
            False,
            "'string': the line's own capacity; 'system': the figure repeats the whole "
            "system's capacity and is counted once per system",
        ),
        Column("start_year", "float", "year", False, "Year the line started (or will)"),
        Column("operator", "str", "", False, "Owner or operator"),
        Column("diameter_mm", "float", "mm", False, "Outside diameter, where published"),
        Column("max_pressure_mpa", "float", "MPa", False,
               "Maximum (design or operating) pressure, gauge, where published"),
        Column("max_pressure_basis", "str", "", False,
               "What max_pressure_mpa rests on: 'published', or 'estimate' (say so)"),
        Column("parallel_strings", "float", "", False,
               "Strings of the system that run in parallel along this line (the flow can use "
               "all of them), where published"),
        Column("length_km", "float", "km", False, "Geodesic length (computed)"),
        Column("source", "str", "", False, "Where the row comes from"),
    ),
    "Existing and planned gas transmission pipelines",
)

COMPRESSOR_STATIONS = LayerSchema(
    "compressor_stations",
    _POINTS,
    "station_id",
    (
        Column("station_id", "str", "", True, "Unique id"),
        Column("name", "str", "", True, "Station name"),
        Column("pipeline", "str", "", False, "Pipeline or system the station serves"),
        Column("status", "str", "", False, "Operating or planned"),
        Column("power_mw", "float", "MW", False, "Installed power, where published"),
        Column("km_point", "float", "km", False, "Published kilometre point along the line"),
        Column(
            "placement",
            "str",
            "",
            False,
            "How the point was placed: coordinates, km_point, locality, estimate",
        ),
        Column("is_estimate", "bool", "", False, "True when the location is estimated"),
        Column("source", "str", "", True, "Citation (URL) for the station"),
    ),
    "Gas compressor stations",
)

DEMAND_CENTRES = LayerSchema(
    "demand_centres",
    _POINTS,
    "centre_id",
    (
        Column("centre_id", "str", "", True, "Unique id"),
        Column("name", "str", "", True, "City or town name"),
        Column("country", "str", "", True, "Country name"),
        Column("population", "float", "people", True, "Population"),
        Column(
            "demand_bcm_y",
            "float",
            "bcm/y",
            False,
            "Estimated annual gas demand (national consumption allocated by population)",
        ),
        Column("gas_access", "bool", "", False, "Within reach of an operating pipeline today"),
        Column("distance_to_pipeline_km", "float", "km", False, "To the nearest operating line"),
        Column("source", "str", "", False, "Where the row comes from"),
    ),
    "Cities and towns that need gas",
)

SUPPLY_POINTS = LayerSchema(
    "supply_points",
    _POINTS,
    "supply_id",
    (
        Column("supply_id", "str", "", True, "Unique id"),
        Column("name", "str", "", True, "Name of the field or crossing"),
        Column("kind", "str", "", True, "'gas_field' or 'border_crossing'"),
        Column("country", "str", "", False, "Country of the field, or country entered"),
        Column("from_country", "str", "", False, "For a crossing: country the gas leaves"),
        Column("to_country", "str", "", False, "For a crossing: country the gas enters"),
        Column("pipeline", "str", "", False, "For a crossing: the pipeline system"),
        Column("capacity_bcm_y", "float", "bcm/y", False, "Capacity at the point, if known"),
        Column("source", "str", "", False, "Where the row comes from"),
    ),
    "Gas fields and border crossings of operating pipelines",
)

COUNTRIES = LayerSchema(
    "countries",
    _AREAS,
    "iso_a3",
    (
        Column("iso_a3", "str", "", True, "ISO 3166-1 alpha-3 (or Natural Earth ADM0_A3)"),
        Column("name", "str", "", True, "Country name"),
        Column("population", "float", "people", False, "Population estimate"),
    ),
    "Countries (de-facto view)",
)

WATER = LayerSchema(
    "water",
    (*_AREAS, *_LINES),
    None,
    (
        Column("name", "str", "", False, "Name of the water body"),
        Column("kind", "str", "", True, "'sea', 'lake', 'reservoir' or 'river'"),
    ),
    "Seas, lakes and rivers",
)

SETTLEMENTS = LayerSchema(
    "settlements",
    _POINTS,
    None,
    (
        Column("name", "str", "", True, "Name"),
        Column("population", "float", "people", False, "Population, where tagged"),
    ),
    "Settlements from OpenStreetMap",
)

MOUNTAINS = LayerSchema(
    "mountains",
    _AREAS,
    None,
    (Column("name", "str", "", True, "Name of the range"),),
    "Mountain ranges (Natural Earth geography regions)",
)

SCHEMAS: dict[str, LayerSchema] = {
    s.name: s
    for s in (
        PIPELINES,
        COMPRESSOR_STATIONS,
        DEMAND_CENTRES,
        SUPPLY_POINTS,
        COUNTRIES,
        WATER,
        SETTLEMENTS,
        MOUNTAINS,
    )
}


def schema_for(layer: str) -> LayerSchema:
    """The schema of a layer by name, with an error listing the known layers."""
    try:
        return SCHEMAS[layer]
    except KeyError:
        known = ", ".join(sorted(SCHEMAS))
        raise KeyError(f"unknown layer {layer!r}; known layers: {known}") from None
