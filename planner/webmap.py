"""Interactive maps that work offline: folium maps of the gas system and candidate routes.

Folium links Leaflet, its plugins, jQuery, Bootstrap and fonts from CDNs, so a plain folium
page draws nothing on a machine without internet. :func:`make_offline` renders a map to a
single self-contained HTML page in which every CDN ``<script src>`` and ``<link href>`` is
replaced by the vendored copy in ``planner/static/vendor/`` (see ``VENDORED.md`` there), with
the images and fonts those stylesheets use inlined as ``data:`` URIs. Only the tile layers
still point at the internet; without them the vector basemap (countries and water) carries
the map.

Building a map:

- :func:`existing_system_map`: basemap, existing pipelines (colour by status, width by
  capacity), compressor stations, demand centres (size by demand, colour by gas access),
  supply points, borders, legend, attributions, fullscreen, measure, minimap and search;
- :func:`add_routes`: candidate routes coloured by rank, with a tooltip (name, rank, score)
  and a popup of the figures behind the score and an optional profile picture;
- :func:`add_cost_surface`: a raster (the cost surface) as an optional image overlay;
- :func:`save_map`: finish the map (search, legend, layer control) and write it atomically.

Every data-derived string goes through :func:`escape_text` before it reaches a tooltip or
popup: folium puts that text into the page as HTML, and ``Tooltip`` and ``Popup`` put it
inside a JavaScript template literal, so ``<``, ``&``, quotes, backticks, ``$`` and ``\\``
are all turned into character references. Geometries are simplified for display only
(:func:`simplify_for_display`); computation never sees the simplified copies.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import LineString
>>> routes = gpd.GeoDataFrame(
...     {"route_id": ["r1"], "name": ["Beineu–Shymkent"], "rank": [1], "score": [0.82],
...      "capex_musd": [2100.0]},
...     geometry=[LineString([(55.2, 45.3), (69.6, 42.3)])], crs="EPSG:4326")
>>> m = base_map()
>>> group = add_routes(m, routes)
>>> html = make_offline(m)
>>> "cdn.jsdelivr.net" in html, "Beineu–Shymkent" in html
(False, True)
"""

from __future__ import annotations

import base64
import html as _html
import io
import logging
import math
import mimetypes
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement, Template
from folium import plugins
from folium.elements import JSCSSMixin

log = logging.getLogger(__name__)

VENDOR_DIR = Path(__file__).resolve().parent / "static" / "vendor"
"""Folder of the vendored JavaScript/CSS (see ``VENDORED.md`` there)."""

DISPLAY_TOLERANCE_DEG = 0.01
"""Default simplification tolerance for display, in degrees (about 1 km)."""

COORD_DECIMALS = 4
"""Decimals kept in displayed coordinates (about 10 m)."""

ATTRIBUTIONS: tuple[str, ...] = (
    "Global Energy Monitor, Global Gas Infrastructure Tracker (CC BY 4.0)",
    "GeoNames (CC BY 4.0)",
    "© OpenStreetMap contributors",
    "Natural Earth",
)
"""Data attributions shown on every map (whatever the base layer)."""

# Every CDN URL folium 0.20 (and the plugins used here) links, and its vendored file.
CDN_FILES: dict[str, str] = {
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet-1.9.3/leaflet.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet-1.9.3/leaflet.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1/jquery.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js":
        "bootstrap-5.2.2/bootstrap.bundle.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css":
        "bootstrap-5.2.2/bootstrap.min.css",
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css":
        "bootstrap-3.4.1-glyphicons/css/bootstrap-glyphicons.css",
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css":
        "fontawesome-free-6.2.0/css/all.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/"
    "leaflet.awesome-markers.js": "leaflet-awesome-markers-2.0.2/leaflet.awesome-markers.js",
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/"
    "leaflet.awesome-markers.css": "leaflet-awesome-markers-2.0.2/leaflet.awesome-markers.css",
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/"
    "leaflet.awesome.rotate.min.css": "leaflet-awesome-rotate/leaflet.awesome.rotate.css",
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js":
        "leaflet.fullscreen-3.0.0/Control.FullScreen.js",
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css":
        "leaflet.fullscreen-3.0.0/Control.FullScreen.css",
    "https://cdn.jsdelivr.net/gh/ljagis/leaflet-measure@2.1.7/dist/leaflet-measure.min.js":
        "leaflet-measure-2.1.7/leaflet-measure.min.js",
    "https://cdn.jsdelivr.net/gh/ljagis/leaflet-measure@2.1.7/dist/leaflet-measure.min.css":
        "leaflet-measure-2.1.7/leaflet-measure.css",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet-minimap/3.6.1/Control.MiniMap.js":
        "leaflet-minimap-3.6.1/Control.MiniMap.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet-minimap/3.6.1/Control.MiniMap.css":
        "leaflet-minimap-3.6.1/Control.MiniMap.min.css",
    "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/dist/leaflet-search.min.js":
        "leaflet-search-2.9.7/dist/leaflet-search.min.js",
    "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/dist/leaflet-search.min.css":
        "leaflet-search-2.9.7/dist/leaflet-search.min.css",
}

# Assets only awesome-marker icons (folium.Icon) need; dropped when the page uses none.
_AWESOME_ONLY = frozenset({
    "leaflet-awesome-markers-2.0.2/leaflet.awesome-markers.js",
    "leaflet-awesome-markers-2.0.2/leaflet.awesome-markers.css",
    "leaflet-awesome-rotate/leaflet.awesome.rotate.css",
    "fontawesome-free-6.2.0/css/all.min.css",
    "bootstrap-3.4.1-glyphicons/css/bootstrap-glyphicons.css",
})

# Pipeline status (lower case, as GEM spells it) -> display class.
STATUS_CLASSES: dict[str, str] = {
    "operating": "Operating",
    "construction": "Under construction",
    "in construction": "Under construction",
    "under construction": "Under construction",
    "proposed": "Proposed",
    "planned": "Proposed",
    "announced": "Proposed",
    "pre-construction": "Proposed",
    "shelved": "Shelved, mothballed or cancelled",
    "mothballed": "Shelved, mothballed or cancelled",
    "cancelled": "Shelved, mothballed or cancelled",
    "retired": "Shelved, mothballed or cancelled",
    "idle": "Shelved, mothballed or cancelled",
}
STATUS_STYLE: dict[str, tuple[str, str | None]] = {
    # class -> (colour, dash array)
    "Operating": ("#1f2d3d", None),
    "Under construction": ("#e6550d", "8 4"),
    "Proposed": ("#8856a7", "4 6"),
    "Shelved, mothballed or cancelled": ("#969696", "2 6"),
    "Other": ("#636363", "1 4"),
}
GAS_ACCESS_COLOURS = {True: "#2b83ba", False: "#d7191c"}
SUPPLY_COLOURS = {"gas_field": "#8c510a", "border_crossing": "#ffffff"}
COMPRESSOR_COLOUR = "#4d4d4d"
WATER_COLOUR = "#9ecae1"
LAND_COLOUR = "#f7f4ea"
ROUTE_PALETTE = ("#00c853", "#aeea00", "#ffd600", "#ff80ab", "#ff1493", "#c2185b", "#880e4f")

BASEMAP_PANE = "planner-basemap"

_STATE_ATTR = "_planner_state"


class OfflineError(RuntimeError):
    """A map still links an external script or stylesheet that is not vendored."""


# --------------------------------------------------------------------------- escaping


def escape_text(value: object) -> str:
    """HTML-escape a data-derived value so that it can only ever show as text.

    Besides ``& < > " '`` (:func:`html.escape`), backticks, ``$`` and ``\\`` become
    character references too, because folium puts ``Tooltip`` and ``Popup`` contents inside
    a JavaScript template literal, where they could end the literal, interpolate (``${``)
    or start an invalid escape. ``None`` and NaN give an empty string.

    Parameters
    ----------
    value
        Any value; it is converted with :class:`str`.

    Returns
    -------
    str
        Text safe to place in HTML text or a quoted attribute, and in a template literal.

    Examples
    --------
    >>> escape_text("<script>alert(1)</script>")
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    >>> escape_text("`${alert(1)}`")
    '&#96;&#36;{alert(1)}&#96;'
    >>> escape_text(None), escape_text(float("nan")), escape_text("Almaty")
    ('', '', 'Almaty')
    """
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    text = _html.escape(str(value), quote=True)
    return text.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def format_value(value: object, digits: int = 3) -> str:
    """Format a figure for display (escaped): numbers with thousands separators.

    Examples
    --------
    >>> format_value(1234567.891), format_value(0.8234), format_value(12), format_value(True)
    ('1,234,568', '0.823', '12', 'yes')
    >>> format_value("<b>")
    '&lt;b&gt;'
    """
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        v = float(value)
        if math.isnan(v):
            return ""
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:,.{digits}g}" if abs(v) < 1 else f"{v:,.{max(digits - 2, 1)}f}"
    return escape_text(value)


def figures_table(figures: Mapping[str, object], *, caption: str | None = None) -> str:
    """An HTML table of ``label: value`` rows, every label and value escaped.

    Examples
    --------
    >>> figures_table({"Length (km)": 1234.5, "Operator": "<i>x</i>"})
    '<table class="planner-figures"><tr><th>Length (km)</th><td>1,234</td></tr><tr><th>Operator</th><td>&lt;i&gt;x&lt;/i&gt;</td></tr></table>'
    """  # noqa: E501
    rows = "".join(
        f"<tr><th>{escape_text(k)}</th><td>{format_value(v)}</td></tr>" for k, v in figures.items()
    )
    cap = f"<caption>{escape_text(caption)}</caption>" if caption else ""
    return f'<table class="planner-figures">{cap}{rows}</table>'


def dataframe_table(df: pd.DataFrame, *, caption: str | None = None, max_rows: int = 30) -> str:
    """An HTML table of a small DataFrame (e.g. per-country figures), every cell escaped.

    Examples
    --------
    >>> import pandas as pd
    >>> dataframe_table(pd.DataFrame({"country": ["KAZ"], "km": [812.0]}))
    '<table class="planner-figures"><tr><th>country</th><th>km</th></tr><tr><td>KAZ</td><td>812.0</td></tr></table>'
    """  # noqa: E501
    head = "".join(f"<th>{escape_text(c)}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{format_value(v)}</td>" for v in row) + "</tr>"
        for row in df.head(max_rows).itertuples(index=False, name=None)
    )
    cap = f"<caption>{escape_text(caption)}</caption>" if caption else ""
    return f'<table class="planner-figures">{cap}<tr>{head}</tr>{body}</table>'


def png_img_tag(png: bytes | str | Path, *, alt: str = "profile", width: int = 360) -> str:
    """An ``<img>`` with the PNG embedded as a base64 ``data:`` URI (no file, no network).

    Examples
    --------
    >>> png_img_tag(b"\\x89PNG\\r\\n\\x1a\\n", alt="<x>")[:40]
    '<img alt="&lt;x&gt;" width="360" src="da'
    """
    data = Path(png).read_bytes() if isinstance(png, str | Path) else bytes(png)
    b64 = base64.b64encode(data).decode("ascii")
    return f'<img alt="{escape_text(alt)}" width="{int(width)}" src="data:image/png;base64,{b64}">'


# --------------------------------------------------------------------------- geometry


def simplify_for_display(
    gdf: gpd.GeoDataFrame,
    tolerance: float = DISPLAY_TOLERANCE_DEG,
    decimals: int = COORD_DECIMALS,
) -> gpd.GeoDataFrame:
    """A copy with geometries simplified and coordinates rounded, for display only.

    Parameters
    ----------
    gdf
        Layer in EPSG:4326 (degrees); not modified.
    tolerance
        Douglas–Peucker tolerance in degrees (topology preserved); 0 keeps every vertex.
    decimals
        Decimals kept in coordinates (4 is about 10 m).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import LineString
    >>> g = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (0.5, 0.001), (1, 0)])],
    ...                      crs="EPSG:4326")
    >>> len(simplify_for_display(g, 0.01).geometry[0].coords), len(g.geometry[0].coords)
    (2, 3)
    """
    out = gdf.copy()
    if out.crs is not None and not out.crs.equals("EPSG:4326"):
        out = out.to_crs("EPSG:4326")
    geoms = out.geometry.values
    if tolerance > 0:
        geoms = shapely.simplify(geoms, tolerance, preserve_topology=True)
    geoms = shapely.transform(geoms, lambda c: np.round(c, decimals))
    out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs="EPSG:4326"))
    return out[~out.geometry.is_empty & out.geometry.notna()]


def _feature_collection(gdf: gpd.GeoDataFrame, columns: Sequence[str]) -> dict[str, Any]:
    """GeoJSON dict of a layer with only the given (already display-ready) columns."""
    cols = [c for c in columns if c in gdf.columns]
    sub = gdf[[*cols, gdf.geometry.name]].copy()
    for c in cols:
        if sub[c].dtype == object or pd.api.types.is_string_dtype(sub[c]):
            sub[c] = sub[c].astype(object).where(sub[c].notna(), "")
    sub = sub.reset_index(drop=True)
    sub["_fid"] = np.arange(len(sub))
    data: dict[str, Any] = sub.__geo_interface__
    for f in data["features"]:
        f["id"] = str(f["properties"]["_fid"])
    return data


# --------------------------------------------------------------------------- map state


@dataclass
class _MapState:
    """What the planner added to a map, for the legend, search and layer control."""

    search_layers: list[folium.GeoJson] = field(default_factory=list)
    legend_sections: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    layer_names: list[str] = field(default_factory=list)
    base_names: list[str] = field(default_factory=list)
    finished: bool = False
    collapsed_layers: bool = True  # the layer control opens on hover/tap, not over the map


def _state(m: folium.Map) -> _MapState:
    st = getattr(m, _STATE_ATTR, None)
    if st is None:
        st = _MapState()
        setattr(m, _STATE_ATTR, st)
    return st


def layer_names(m: folium.Map) -> dict[str, list[str]]:
    """Names of the base layers and overlays the planner put in the map's layer control.

    Examples
    --------
    >>> m = base_map()
    >>> layer_names(m)["base"]
    ['OpenStreetMap', 'Terrain (OpenTopoMap)', 'None (vector basemap only)']
    """
    st = _state(m)
    return {"base": list(st.base_names), "overlays": list(st.layer_names)}


def _group(m: folium.Map, name: str, *, show: bool = True) -> folium.FeatureGroup:
    # Leaflet's layer control sets a layer's name with innerHTML, and names can come from
    # user files (a study's scenario names): escape them; the control shows the raw text.
    fg = folium.FeatureGroup(name=escape_text(name), show=show, overlay=True, control=True)
    fg.add_to(m)
    _state(m).layer_names.append(name)
    return fg


# --------------------------------------------------------------------------- basemap


def base_map(
    location: tuple[float, float] = (45.0, 67.0),
    zoom_start: int = 5,
    *,
    countries: gpd.GeoDataFrame | None = None,
    water: gpd.GeoDataFrame | None = None,
    tolerance: float = DISPLAY_TOLERANCE_DEG,
    controls: bool = True,
) -> folium.Map:
    """An empty planner map: base layers, vector basemap, attributions and plugins.

    Base layers are OpenStreetMap, OpenTopoMap (terrain) and none; whatever is chosen, the
    vector basemap (``countries`` and ``water``, drawn in a pane below the data and not
    clickable) keeps the map readable without tiles.

    Parameters
    ----------
    location
        Initial centre (latitude, longitude).
    zoom_start
        Initial zoom.
    countries, water
        Layers of the vector basemap (``iso_a3``/``name`` and ``name``/``kind``); omitted
        when ``None``.
    tolerance
        Display simplification tolerance in degrees.
    controls
        Add fullscreen, measure and minimap controls.

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> m = base_map(zoom_start=4)
    >>> isinstance(m, folium.Map)
    True
    """
    m = folium.Map(location=list(location), zoom_start=zoom_start, tiles=None,
                   control_scale=True, prefer_canvas=False)
    st = _state(m)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap", overlay=False,
                     control=True, show=True).add_to(m)
    folium.TileLayer("OpenTopoMap", name="Terrain (OpenTopoMap)", overlay=False,
                     control=True, show=False).add_to(m)
    folium.FeatureGroup(name="None (vector basemap only)", overlay=False, control=True,
                        show=False).add_to(m)
    st.base_names += ["OpenStreetMap", "Terrain (OpenTopoMap)", "None (vector basemap only)"]
    folium.map.CustomPane(BASEMAP_PANE, z_index=350, pointer_events=False).add_to(m)
    _Attribution(ATTRIBUTIONS).add_to(m)
    _Css().add_to(m)
    if countries is not None and len(countries):
        add_countries(m, countries, tolerance=tolerance)
    if water is not None and len(water):
        add_water(m, water, tolerance=tolerance * 2)
    if controls:
        plugins.Fullscreen(position="topleft").add_to(m)
        plugins.MeasureControl(position="topleft", primary_length_unit="kilometers",
                               secondary_length_unit="miles",
                               primary_area_unit="sqkilometers").add_to(m)
        plugins.MiniMap(toggle_display=True, position="bottomright").add_to(m)
    return m


def add_countries(m: folium.Map, countries: gpd.GeoDataFrame, *,
                  tolerance: float = DISPLAY_TOLERANCE_DEG,
                  name: str = "Countries and borders") -> folium.FeatureGroup:
    """Countries as light land polygons with their borders (vector basemap layer)."""
    gdf = simplify_for_display(countries, tolerance * 2)
    gdf = gdf.assign(label=gdf.get("name", pd.Series("", index=gdf.index)).map(escape_text))
    fg = _group(m, name)
    folium.GeoJson(
        _feature_collection(gdf, ["label"]),
        name=name, control=False, pane=BASEMAP_PANE, interactive=False,
        style_function=lambda f: {"fillColor": LAND_COLOUR, "fillOpacity": 0.85,
                                  "color": "#7f7f7f", "weight": 1.2, "dashArray": "6 3"},
    ).add_to(fg)
    return fg


def add_water(m: folium.Map, water: gpd.GeoDataFrame, *,
              tolerance: float = DISPLAY_TOLERANCE_DEG,
              name: str = "Seas, lakes and rivers") -> folium.FeatureGroup:
    """Seas, lakes, reservoirs (polygons) and rivers (lines) of the vector basemap."""
    gdf = simplify_for_display(water, tolerance)
    gdf = gdf.assign(label=gdf.get("name", pd.Series("", index=gdf.index)).map(escape_text))
    fg = _group(m, name)
    folium.GeoJson(
        _feature_collection(gdf, ["label"]),
        name=name, control=False, pane=BASEMAP_PANE, interactive=False,
        style_function=lambda f: {"fillColor": WATER_COLOUR, "fillOpacity": 0.9,
                                  "color": "#6baed6", "weight": 1},
    ).add_to(fg)
    return fg


# --------------------------------------------------------------------------- existing system


def _layer(layers: object, name: str) -> gpd.GeoDataFrame | None:
    if isinstance(layers, Mapping):
        return layers.get(name)
    return getattr(layers, name, None)


def _col(gdf: gpd.GeoDataFrame, name: str, default: object = None) -> pd.Series:
    if name in gdf.columns:
        return gdf[name]
    return pd.Series(default, index=gdf.index, dtype=object)


def _status_class(status: object) -> str:
    s = str(status or "").strip().lower()
    return STATUS_CLASSES.get(s, "Other")


def _sqrt_scaled(value: object, base: float, per_sqrt: float, largest: float,
                 missing: float) -> float:
    """``base + per_sqrt √value`` capped at ``largest``; ``missing`` for no positive number
    (a symbol size that grows with capacity or demand, without giants)."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return missing
    if math.isnan(v) or v <= 0:
        return missing
    return float(min(base + per_sqrt * math.sqrt(v), largest))


def _capacity_weight(cap: object) -> float:
    return _sqrt_scaled(cap, 1.2, 0.9, 7.0, missing=1.5)


def add_pipelines(m: folium.Map, pipelines: gpd.GeoDataFrame, *,
                  tolerance: float = DISPLAY_TOLERANCE_DEG) -> list[folium.FeatureGroup]:
    """Existing pipelines, one overlay per status class, colour by status, width by capacity.

    Returns the overlays added (only status classes that occur).
    """
    gdf = simplify_for_display(pipelines, tolerance)
    cls = _col(gdf, "status", "").map(_status_class)
    cap = pd.to_numeric(_col(gdf, "capacity_bcm_y"), errors="coerce")
    length = pd.to_numeric(_col(gdf, "length_km"), errors="coerce")
    gdf = gdf.assign(
        t_name=_col(gdf, "name", "").map(escape_text),
        t_system=_col(gdf, "system", "").map(escape_text),
        t_status=_col(gdf, "status", "").map(escape_text),
        t_countries=_col(gdf, "countries", "").map(escape_text),
        t_capacity=cap.map(lambda v: "unknown" if pd.isna(v) else f"{v:.1f} bcm/y"),
        t_operator=_col(gdf, "operator", "").map(escape_text),
        t_length=length.map(lambda v: "" if pd.isna(v) else f"{v:,.0f} km"),
        _class=cls,
        _weight=cap.map(_capacity_weight),
        _search=_col(gdf, "name", "").astype(str) + " (pipeline)",
    )
    st = _state(m)
    groups = []
    fields = ["t_name", "t_system", "t_status", "t_capacity", "t_length", "t_countries",
              "t_operator"]
    aliases = ["Pipeline", "System", "Status", "Capacity", "Length", "Countries", "Operator"]
    for klass, (colour, dash) in STATUS_STYLE.items():
        sub = gdf[gdf["_class"] == klass]
        if sub.empty:
            continue
        fg = _group(m, f"Pipelines: {klass.lower()}")
        gj = folium.GeoJson(
            _feature_collection(sub, [*fields, "_weight", "_search"]),
            name=f"Pipelines: {klass.lower()}", control=False,
            style_function=lambda f, colour=colour, dash=dash: {
                "color": colour, "weight": f["properties"]["_weight"], "opacity": 0.9,
                "dashArray": dash},
            highlight_function=lambda f: {"weight": f["properties"]["_weight"] + 3},
            tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases, sticky=True),
        )
        gj.add_to(fg)
        st.search_layers.append(gj)
        groups.append(fg)
    st.legend_sections["Existing pipelines (width: capacity)"] = [
        (_legend_line(STATUS_STYLE[k][0], STATUS_STYLE[k][1]), k)
        for k in STATUS_STYLE if (gdf["_class"] == k).any()
    ]
    return groups


def _points(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Point layer with any non-point geometry replaced by a representative point."""
    out = gdf.copy()
    if not (out.geom_type == "Point").all():
        out = out.set_geometry(out.geometry.representative_point())
    return out


def add_compressor_stations(m: folium.Map, stations: gpd.GeoDataFrame,
                            name: str = "Compressor stations") -> folium.FeatureGroup:
    """Compressor stations as small dark circle markers with a tooltip."""
    gdf = simplify_for_display(_points(stations), 0)
    power = pd.to_numeric(_col(gdf, "power_mw"), errors="coerce")
    est = _col(gdf, "is_estimate", False).fillna(False).astype(bool)
    gdf = gdf.assign(
        t_name=_col(gdf, "name", "").map(escape_text),
        t_pipeline=_col(gdf, "pipeline", "").map(escape_text),
        t_power=[("unknown" if pd.isna(p) else f"{p:,.0f} MW") + (" (estimate)" if e else "")
                 for p, e in zip(power, est, strict=True)],
        t_placement=_col(gdf, "placement", "").map(escape_text),
        t_source=_col(gdf, "source", "").map(escape_text),
        _search=_col(gdf, "name", "").astype(str) + " (compressor station)",
    )
    fields = ["t_name", "t_pipeline", "t_power", "t_placement", "t_source"]
    fg = _group(m, name)
    gj = folium.GeoJson(
        _feature_collection(gdf, [*fields, "_search"]), name=name, control=False,
        marker=folium.CircleMarker(radius=4, fill=True),
        style_function=lambda f: {"color": "#ffffff", "weight": 1, "fillColor": COMPRESSOR_COLOUR,
                                  "fillOpacity": 1.0, "radius": 4},
        tooltip=folium.GeoJsonTooltip(
            fields=fields, aliases=["Compressor station", "Pipeline", "Power", "Placement",
                                    "Source"], sticky=True),
    )
    gj.add_to(fg)
    st = _state(m)
    st.search_layers.append(gj)
    st.legend_sections.setdefault("Facilities", []).append(
        (_legend_dot(COMPRESSOR_COLOUR, 5), "Compressor station"))
    return fg


def _demand_radius(d: object) -> float:
    return _sqrt_scaled(d, 4.0, 5.0, 30.0, missing=4.0)


def add_demand_centres(m: folium.Map, centres: gpd.GeoDataFrame,
                       name: str = "Demand centres") -> folium.FeatureGroup:
    """Demand centres: circle area ~ demand (bcm/y), colour = gas access today."""
    gdf = simplify_for_display(_points(centres), 0)
    demand = pd.to_numeric(_col(gdf, "demand_bcm_y"), errors="coerce")
    pop = pd.to_numeric(_col(gdf, "population"), errors="coerce")
    access = _col(gdf, "gas_access", False).fillna(False).astype(bool)
    gdf = gdf.assign(
        t_name=_col(gdf, "name", "").map(escape_text),
        t_country=_col(gdf, "country", "").map(escape_text),
        t_population=pop.map(lambda v: "" if pd.isna(v) else f"{v:,.0f}"),
        t_demand=demand.map(lambda v: "" if pd.isna(v) else f"{v:.2f} bcm/y"),
        t_access=access.map(lambda v: "yes" if v else "no"),
        _radius=demand.map(_demand_radius),
        _colour=access.map(GAS_ACCESS_COLOURS),
        _search=_col(gdf, "name", "").astype(str) + " (demand centre)",
    )
    gdf = gdf.sort_values("_radius", ascending=False)  # small circles drawn on top
    fields = ["t_name", "t_country", "t_population", "t_demand", "t_access"]
    fg = _group(m, name)
    gj = folium.GeoJson(
        _feature_collection(gdf, [*fields, "_radius", "_colour", "_search"]),
        name=name, control=False, marker=folium.CircleMarker(radius=5, fill=True),
        style_function=lambda f: {"radius": f["properties"]["_radius"],
                                  "fillColor": f["properties"]["_colour"], "color": "#ffffff",
                                  "weight": 1, "fillOpacity": 0.75},
        tooltip=folium.GeoJsonTooltip(
            fields=fields, aliases=["Demand centre", "Country", "Population", "Gas demand",
                                    "Gas access today"], sticky=True),
    )
    gj.add_to(fg)
    st = _state(m)
    st.search_layers.append(gj)
    st.legend_sections["Demand centres (area: demand)"] = [
        (_legend_dot(GAS_ACCESS_COLOURS[True], 7), "Gas access today"),
        (_legend_dot(GAS_ACCESS_COLOURS[False], 7), "No gas access"),
    ]
    return fg


def add_supply_points(m: folium.Map, supply: gpd.GeoDataFrame,
                      name: str = "Supply points") -> folium.FeatureGroup:
    """Supply points: gas fields (brown) and border crossings (white), black-ringed circles."""
    gdf = simplify_for_display(_points(supply), 0)
    kind = _col(gdf, "kind", "").astype(str)
    gdf = gdf.assign(
        t_name=_col(gdf, "name", "").map(escape_text),
        t_kind=kind.str.replace("_", " ").map(escape_text),
        t_country=_col(gdf, "country", "").map(escape_text),
        t_from=_col(gdf, "from_country", "").map(escape_text),
        t_to=_col(gdf, "to_country", "").map(escape_text),
        t_pipeline=_col(gdf, "pipeline", "").map(escape_text),
        _colour=kind.map(lambda k: SUPPLY_COLOURS.get(k, "#bdbdbd")),
        _search=_col(gdf, "name", "").astype(str) + " (supply point)",
    )
    fields = ["t_name", "t_kind", "t_country", "t_from", "t_to", "t_pipeline"]
    fg = _group(m, name)
    gj = folium.GeoJson(
        _feature_collection(gdf, [*fields, "_colour", "_search"]),
        name=name, control=False, marker=folium.CircleMarker(radius=7, fill=True),
        style_function=lambda f: {"radius": 7, "fillColor": f["properties"]["_colour"],
                                  "color": "#000000", "weight": 2, "fillOpacity": 0.95},
        tooltip=folium.GeoJsonTooltip(
            fields=fields, aliases=["Supply point", "Kind", "Country", "From", "To",
                                    "Pipeline"], sticky=True),
    )
    gj.add_to(fg)
    st = _state(m)
    st.search_layers.append(gj)
    present = set(kind)
    st.legend_sections.setdefault("Facilities", []).extend(
        (_legend_dot(colour, 7, "#000"), f"Supply: {k.replace('_', ' ')}")
        for k, colour in SUPPLY_COLOURS.items() if k in present)
    return fg


#: Colours of the junction kinds on the map (see :func:`add_junctions`).
JUNCTION_COLOURS = {"interconnection": "#d7301f", "t_junction": "#2171b5",
                    "end_junction": "#6a51a3"}


def add_junctions(m: folium.Map, junctions: gpd.GeoDataFrame,
                  name: str = "Network junctions") -> folium.FeatureGroup:
    """Junctions of the existing network (hidden at start): interconnections (red, with
    their links dashed), T-junctions (blue) and merged line ends (purple).

    ``junctions`` is :func:`planner.network.junctions_frame` of a pipeline graph.
    """
    fg = _group(m, name, show=False)
    kind = _col(junctions, "kind", "").astype(str)
    pts = junctions[kind.isin(list(JUNCTION_COLOURS))]
    links = junctions[kind.eq("interconnection link")]
    if len(links):
        folium.GeoJson(
            _feature_collection(links.assign(
                t_name=_col(links, "name", "").map(escape_text),
                t_km=_col(links, "length_km", 0.0).map(lambda v: f"{float(v):.1f}")),
                ["t_name", "t_km"]),
            control=False,
            style_function=lambda f: {"color": JUNCTION_COLOURS["interconnection"],
                                      "weight": 3, "dashArray": "6 4"},
            tooltip=folium.GeoJsonTooltip(fields=["t_name", "t_km"],
                                          aliases=["Interconnection", "Link (km)"]),
        ).add_to(fg)
    if len(pts):
        pk = _col(pts, "kind", "").astype(str)
        gdf = pts.assign(
            t_kind=pk.str.replace("_", " ").map(escape_text),
            t_systems=_col(pts, "systems", "").map(escape_text),
            t_hub=_col(pts, "interconnection", "").map(escape_text),
            _colour=pk.map(lambda k: JUNCTION_COLOURS.get(k, "#737373")))
        folium.GeoJson(
            _feature_collection(gdf, ["t_kind", "t_systems", "t_hub", "_colour"]),
            control=False, marker=folium.CircleMarker(radius=4, fill=True),
            style_function=lambda f: {"radius": 4, "fillColor": f["properties"]["_colour"],
                                      "color": "#ffffff", "weight": 1, "fillOpacity": 1.0},
            tooltip=folium.GeoJsonTooltip(fields=["t_kind", "t_systems", "t_hub"],
                                          aliases=["Junction", "Systems", "Interconnection"]),
        ).add_to(fg)
    present = set(kind)
    _state(m).legend_sections.setdefault("Network junctions", []).extend(
        (_legend_dot(c, 4), k.replace("_", " ")) for k, c in JUNCTION_COLOURS.items()
        if k in present)
    return fg


def display_extent(layers: object, margin: float = 3.0,
                   ) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) of the gas-system layers plus a margin in degrees.

    ``None`` when there are no gas-system features.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> g = gpd.GeoDataFrame(geometry=[Point(60, 40), Point(70, 50)], crs="EPSG:4326")
    >>> display_extent({"demand_centres": g}, margin=1)
    (59.0, 39.0, 71.0, 51.0)
    """
    bounds = [g.total_bounds for name in ("pipelines", "compressor_stations", "demand_centres",
                                          "supply_points")
              if (g := _layer(layers, name)) is not None and len(g)]
    if not bounds:
        return None
    b = np.array(bounds, dtype=float)
    return (float(b[:, 0].min() - margin), float(b[:, 1].min() - margin),
            float(b[:, 2].max() + margin), float(b[:, 3].max() + margin))


def _clip(gdf: gpd.GeoDataFrame, extent: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    g = gdf if gdf.crs is None or gdf.crs.equals("EPSG:4326") else gdf.to_crs("EPSG:4326")
    out = g.clip(shapely.box(*extent))
    return out[~out.geometry.is_empty]


def existing_system_map(
    layers: object,
    *,
    location: tuple[float, float] | None = None,
    zoom_start: int = 5,
    tolerance: float = DISPLAY_TOLERANCE_DEG,
) -> folium.Map:
    """A map of the existing gas system over the vector basemap.

    Parameters
    ----------
    layers
        A :class:`planner.layers.Layers` bundle, or any object or mapping with the
        GeoDataFrames ``pipelines``, ``compressor_stations``, ``demand_centres``,
        ``supply_points``, ``countries`` and ``water`` (EPSG:4326); missing ones are skipped.
    location
        Initial centre (latitude, longitude); default the centre of the pipelines (or of the
        countries).
    zoom_start
        Initial zoom.
    tolerance
        Display simplification tolerance (degrees).

    Returns
    -------
    folium.Map
        Add routes with :func:`add_routes`, then write with :func:`save_map` (which adds
        search, legend and layer control last).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import LineString, Point
    >>> pipes = gpd.GeoDataFrame({"name": ["CAC"], "status": ["operating"],
    ...                           "capacity_bcm_y": [60.0]},
    ...                          geometry=[LineString([(60, 40), (55, 45)])], crs="EPSG:4326")
    >>> towns = gpd.GeoDataFrame({"name": ["Tashkent"], "demand_bcm_y": [4.0],
    ...                           "gas_access": [True]},
    ...                          geometry=[Point(69.2, 41.3)], crs="EPSG:4326")
    >>> m = existing_system_map({"pipelines": pipes, "demand_centres": towns})
    >>> layer_names(m)["overlays"]
    ['Pipelines: operating', 'Demand centres']
    """
    pipelines = _layer(layers, "pipelines")
    extent = display_extent(layers)
    if location is None and extent is not None:
        w, s, e, n = extent
        location = ((s + n) / 2, (w + e) / 2)
    countries, water = _layer(layers, "countries"), _layer(layers, "water")
    if extent is not None:  # the basemap is only drawn around the data (display only)
        countries = None if countries is None else _clip(countries, extent)
        water = None if water is None else _clip(water, extent)
    m = base_map(location or (45.0, 67.0), zoom_start, countries=countries, water=water,
                 tolerance=tolerance)
    if pipelines is not None and len(pipelines):
        add_pipelines(m, pipelines, tolerance=tolerance)
    for name, adder in (("compressor_stations", add_compressor_stations),
                        ("supply_points", add_supply_points),
                        ("demand_centres", add_demand_centres)):
        gdf = _layer(layers, name)
        if gdf is not None and len(gdf):
            adder(m, gdf)
    return m


# --------------------------------------------------------------------------- routes


def route_colour(rank: int, n: int) -> str:
    """Colour of the route of a given rank (1 = best) among ``n``: green, yellow, pink, maroon.

    Examples
    --------
    >>> route_colour(1, 5), route_colour(5, 5)
    ('#00c853', '#880e4f')
    """
    if n <= 1:
        return ROUTE_PALETTE[0]
    i = round((max(1, min(rank, n)) - 1) / (n - 1) * (len(ROUTE_PALETTE) - 1))
    return ROUTE_PALETTE[i]


_ROUTE_RESERVED = {"route_id", "name", "rank", "score", "popup_html", "geometry"}


def add_routes(
    m: folium.Map,
    routes: gpd.GeoDataFrame,
    *,
    name: str = "Candidate routes",
    columns: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    profiles: Mapping[Any, bytes | str | Path] | None = None,
    tables: Mapping[Any, pd.DataFrame] | None = None,
    tolerance: float = 0.002,
    show: bool = True,
    colours: Mapping[Any, str] | None = None,
    control: bool = True,
) -> folium.FeatureGroup:
    """Add candidate routes, coloured by rank, with tooltip and popup.

    Parameters
    ----------
    m
        Map from :func:`existing_system_map` or :func:`base_map`.
    routes
        LineStrings (EPSG:4326) with ``route_id``, ``name``, ``rank`` (1 = best), ``score``
        and figure columns. An optional ``popup_html`` column replaces the generated figures
        table for that route: it is inserted as HTML, so build it from escaped values
        (:func:`figures_table`, :func:`dataframe_table`).
    name
        Overlay name in the layer control.
    columns
        Figure columns of the popup table, in order; default every column but the reserved
        ones (``route_id``, ``name``, ``rank``, ``score``, ``popup_html``).
    labels
        Display labels of columns (default: :func:`default_label`, e.g. ``capex_musd`` shows as
        "Capex (M USD)").
    profiles
        Per ``route_id``, the elevation/pressure profile: an inline SVG string (see
        :func:`profile_svg`) or a PNG (bytes or path), embedded as a ``data:`` URI.
    tables
        Per ``route_id``, a small table (e.g. figures per country) shown under the figures.
    tolerance
        Display simplification tolerance (degrees).
    show
        Whether the overlay is on when the map opens.
    colours
        Per ``route_id``, a line colour replacing the rank ramp (e.g. one per destination).
    control
        List the overlay in the layer control (``False`` when a page control such as the
        scenario switch of :mod:`planner.mapui` shows and hides it).

    Returns
    -------
    folium.FeatureGroup
        The overlay; each route is a ``GeoJson`` child whose feature has ``route_id``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import LineString
    >>> r = gpd.GeoDataFrame({"route_id": ["a", "b"], "name": ["A", "B"], "rank": [2, 1],
    ...                       "score": [0.5, 0.9], "length_km": [900.0, 1200.0]},
    ...                      geometry=[LineString([(60, 40), (65, 45)]),
    ...                                LineString([(60, 41), (66, 44)])], crs="EPSG:4326")
    >>> m = base_map()
    >>> fg = add_routes(m, r)
    >>> len(fg._children)
    2
    """
    missing = {"route_id", "name", "rank", "score"} - set(routes.columns)
    if missing:
        raise ValueError(f"routes lack column(s) {sorted(missing)}; "
                         "expected route_id, name, rank, score and figure columns")
    labels = dict(labels or {})
    if columns is None:
        columns = [c for c in routes.columns
                   if c not in _ROUTE_RESERVED and c != routes.geometry.name]
    ranks = pd.to_numeric(routes["rank"], errors="coerce")
    n = int(ranks.max()) if ranks.notna().any() else 1
    gdf = simplify_for_display(routes.assign(rank=ranks.fillna(n + 1).astype(int)), tolerance)
    gdf = gdf.sort_values("rank", ascending=False)  # best route drawn last, on top
    if control:
        fg = _group(m, name, show=show)
    else:
        fg = folium.FeatureGroup(name=escape_text(name), show=show, control=False)
        fg.add_to(m)
    for _, row in gdf.iterrows():
        rank = int(row["rank"])
        rid = row["route_id"]
        colour = (colours or {}).get(rid) or route_colour(rank, n)
        title = f"#{rank} {row['name']}"
        score = format_value(row["score"])
        tip = (f"<b>{escape_text(title)}</b><br>score {score}")
        figures: dict[str, object] = {"Rank": rank, "Score": row["score"]}
        for c in columns:
            figures[labels.get(c) or default_label(c)] = row.get(c)
        parts = [f'<div class="planner-popup"><h4>{escape_text(title)}</h4>']
        custom = row.get("popup_html") if "popup_html" in gdf.columns else None
        if isinstance(custom, str) and custom.strip():
            parts.append(_neutralise_literal(custom))
        else:
            parts.append(figures_table(figures))
        if tables is not None and rid in tables:
            parts.append(dataframe_table(tables[rid], caption="Per country"))
        if profiles is not None and rid in profiles:
            prof = profiles[rid]
            if isinstance(prof, str) and prof.lstrip().startswith("<svg"):
                parts.append(_neutralise_literal(prof))  # built from escaped text and numbers
            else:
                parts.append(png_img_tag(prof, alt=f"Profile of {row['name']}"))
        parts.append("</div>")
        feature = {"type": "Feature", "id": escape_text(rid),
                   "properties": {"route_id": str(rid), "rank": rank,
                                  "_search": f"{row['name']} (candidate route)"},
                   "geometry": shapely.geometry.mapping(row.geometry)}
        gj = folium.GeoJson(
            {"type": "FeatureCollection", "features": [feature]},
            name=f"route {rank}", control=False,
            style_function=lambda f, colour=colour: {"color": colour, "weight": 6,
                                                     "opacity": 0.9},
            highlight_function=lambda f: {"weight": 10},
        )
        folium.Tooltip(tip, sticky=True).add_to(gj)
        folium.Popup(folium.Html("".join(parts), script=True), max_width=460).add_to(gj)
        gj.add_to(fg)
    st = _state(m)
    ranks_shown = sorted({int(r) for r in gdf["rank"]})
    st.legend_sections[name] = [
        (_legend_ramp_steps([route_colour(r, n) for r in ranks_shown]),
         f"rank 1 (best) to {ranks_shown[-1]}" if len(ranks_shown) > 1 else "rank 1"),
    ]
    return fg


def _legend_ramp_steps(colours: Sequence[str]) -> str:
    w = max(4, min(12, 84 // max(len(colours), 1)))
    rects = "".join(f'<rect x="{i * w}" y="0" width="{w}" height="8" fill="{c}"/>'
                    for i, c in enumerate(colours))
    return f'<svg width="{w * len(colours)}" height="8">{rects}</svg>'


_UNIT_SUFFIXES = (
    ("_usd_per_kcm", "USD/kcm"), ("_musd", "M USD"), ("_busd", "bn USD"), ("_bcm_y", "bcm/y"),
    ("_km", "km"), ("_mw", "MW"), ("_bar", "bar"), ("_m", "m"), ("_pct", "%"), ("_y", "years"),
)


def default_label(column: str) -> str:
    """A readable label for a figure column, with the unit its suffix names.

    Examples
    --------
    >>> default_label("capex_musd"), default_label("length_km"), default_label("score")
    ('Capex (M USD)', 'Length (km)', 'Score')
    """
    for suffix, unit in _UNIT_SUFFIXES:
        if column.endswith(suffix) and len(column) > len(suffix):
            return f"{column[: -len(suffix)].replace('_', ' ').capitalize()} ({unit})"
    return column.replace("_", " ").capitalize()


def _neutralise_literal(text: str) -> str:
    """Make trusted HTML safe inside a JavaScript template literal (backticks, ``${``, ``\\``)."""
    return text.replace("\\", "&#92;").replace("`", "&#96;").replace("${", "&#36;{")


# --------------------------------------------------------------------------- raster


def add_cost_surface(
    m: folium.Map,
    array: np.ndarray,
    bounds: tuple[float, float, float, float],
    *,
    name: str = "Cost surface",
    cmap: str = "magma_r",
    opacity: float = 0.6,
    show: bool = False,
    max_pixels: int = 1_000_000,
) -> folium.FeatureGroup:
    """Add a raster (e.g. the cost surface) as an optional image overlay.

    Parameters
    ----------
    array
        2-D grid, north row first, on a regular longitude/latitude grid; NaN = transparent.
    bounds
        (west, south, east, north) in degrees.
    cmap
        Matplotlib colormap name; values are stretched between the 2nd and 98th percentile.
    max_pixels
        The grid is subsampled above this many cells to keep the page small.

    Examples
    --------
    >>> import numpy as np
    >>> m = base_map()
    >>> fg = add_cost_surface(m, np.arange(12.0).reshape(3, 4), (60, 40, 64, 43))
    >>> "Cost surface" in layer_names(m)["overlays"]
    True
    """
    from matplotlib import colormaps

    a = np.asarray(array, dtype=float)
    if a.ndim != 2:
        raise ValueError(f"expected a 2-D array, got shape {a.shape}")
    step = max(1, math.ceil(math.sqrt(a.size / max_pixels)))
    a = a[::step, ::step]
    finite = np.isfinite(a)
    rgba = np.zeros((*a.shape, 4), dtype=np.uint8)
    if finite.any():
        lo, hi = np.nanpercentile(a[finite], [2, 98])
        norm = np.clip((a - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
        rgba = (colormaps[cmap](np.where(finite, norm, 0)) * 255).astype(np.uint8)
        rgba[~finite, 3] = 0
    w, s, e, n = bounds
    fg = _group(m, name, show=show)
    folium.raster_layers.ImageOverlay(
        image=rgba, bounds=[[s, w], [n, e]], opacity=opacity, mercator_project=True,
        name=name, control=False, interactive=False,
    ).add_to(fg)
    _state(m).legend_sections[name] = [
        (_legend_ramp(cmap), "low to high cost")]
    return fg


# --------------------------------------------------------------------------- legend etc.


def _legend_line(colour: str, dash: str | None, width: int = 3) -> str:
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<svg width="28" height="10"><line x1="1" y1="5" x2="27" y2="5" '
            f'stroke="{colour}" stroke-width="{width}"{d}/></svg>')


def _legend_dot(colour: str, r: int, stroke: str = "#fff") -> str:
    return (f'<svg width="28" height="16"><circle cx="14" cy="8" r="{r}" fill="{colour}" '
            f'stroke="{stroke}" stroke-width="1"/></svg>')


def _legend_ramp(cmap: str) -> str:
    from matplotlib import colormaps

    c = colormaps[cmap]
    stops = "".join(
        f'<stop offset="{i / 4:.2f}" stop-color="#{"".join(f"{int(v * 255):02x}" for v in c(i / 4)[:3])}"/>'  # noqa: E501
        for i in range(5))
    return (f'<svg width="28" height="10"><defs><linearGradient id="planner-ramp">{stops}'
            '</linearGradient></defs><rect width="28" height="10" fill="url(#planner-ramp)"/>'
            "</svg>")


class _Legend(MacroElement):
    """A collapsible legend box (bottom right), built from trusted, pre-escaped parts."""

    _template = Template("""
        {% macro header(this, kwargs) %}
        <style>
        .planner-legend {position: absolute; z-index: 9999; bottom: 48px; left: 10px;
          background: rgba(255,255,255,0.92); padding: 6px 10px; border-radius: 6px;
          box-shadow: 0 1px 5px rgba(0,0,0,0.4); font: 12px/1.35 system-ui, sans-serif;
          max-height: 45%; max-width: 280px; overflow-y: auto;}
        .planner-legend h5 {font-size: 12px; font-weight: 600; margin: 6px 0 2px;}
        .planner-legend .planner-legend-row {display: flex; align-items: center; gap: 4px;
          margin: 0;}
        .planner-legend summary {cursor: pointer; font-weight: 700;}
        </style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
        <details class="planner-legend"><summary>Legend</summary>{{ this.body }}</details>
        <script>/* open on tall screens only, so it never hides the map on a laptop */
        if (window.innerHeight >= 900) {
          document.querySelectorAll(".planner-legend").forEach(function(d) { d.open = true; });
        }</script>
        {% endmacro %}
    """)

    def __init__(self, body: str) -> None:
        super().__init__()
        self._name = "PlannerLegend"
        self.body = body


class _Attribution(MacroElement):
    """Adds the data attributions to Leaflet's attribution control (always visible)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {% for a in this.items %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ a|tojson }});
        {% endfor %}
        {% endmacro %}
    """)

    def __init__(self, items: Iterable[str]) -> None:
        super().__init__()
        self._name = "PlannerAttribution"
        self.items = [escape_text(a) for a in items]


class _Css(MacroElement):
    _template = Template("""
        {% macro header(this, kwargs) %}
        <style>
        .planner-popup h4 {font-size: 14px; font-weight: 600; margin: 0 0 4px;}
        path.leaflet-interactive:focus {outline: none;}
        table.planner-figures {border-collapse: collapse; font-size: 12px; margin: 4px 0;}
        table.planner-figures th, table.planner-figures td {border-bottom: 1px solid #ddd;
          padding: 1px 6px; text-align: left; vertical-align: top;}
        table.planner-figures td {text-align: right; font-variant-numeric: tabular-nums;}
        table.planner-figures caption {caption-side: top; font-weight: 600; color: #333;}
        .leaflet-control-attribution {font-size: 10px; max-width: 70%;}
        </style>
        {% endmacro %}
    """)


class _Search(JSCSSMixin, MacroElement):
    """One leaflet-search control over several GeoJSON layers (places, pipelines, routes).

    Features carry a raw ``_search`` label; it is shown with ``textContent`` (never as HTML).
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
          var index = L.layerGroup([{% for l in this.layers %}{{ l.get_name() }}{% if not loop.last %}, {% endif %}{% endfor %}]);
          var ctl = new L.Control.Search({
            layer: index, propertyName: "_search", initial: false, marker: false,
            collapsed: true, position: "topleft", textPlaceholder: "Search places, pipelines",
            zoom: 9,
            buildTip: function(text) {
              var li = L.DomUtil.create("li", ""); li.textContent = text; return li;
            },
            moveToLocation: function(latlng, title, map) {
              var lyr = latlng.layer;
              if (lyr && lyr.getBounds) { map.fitBounds(lyr.getBounds(), {maxZoom: 8}); }
              else { map.setView(latlng, 8); }
              if (lyr && lyr.openTooltip) { lyr.openTooltip(latlng); }
            }
          });
          // leaflet-search puts its layer on the map when added; the index stays off it, so
          // each layer's own overlay (and the scenario switch) decides what is drawn
          ctl.setLayer = function(layer) { this._layer = layer; return this; };
          {{ this._parent.get_name() }}.addControl(ctl);
        })();
        {% endmacro %}
    """)  # noqa: E501

    default_js = [  # noqa: RUF012 (folium's JSCSSMixin declares it an instance variable)
        ("Leaflet.Search.js",
         "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/dist/leaflet-search.min.js")]
    default_css = [  # noqa: RUF012
        ("Leaflet.Search.css",
         "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/dist/leaflet-search.min.css")]

    def __init__(self, layers: Sequence[folium.GeoJson]) -> None:
        super().__init__()
        self._name = "PlannerSearch"
        self.layers = list(layers)


def finish_map(m: folium.Map) -> folium.Map:
    """Add (or move to the end) the search, legend and layer control; idempotent.

    They must come after every layer in the page's script, so :func:`save_map` and
    :func:`make_offline` call this; call it yourself only to display a map in a notebook.
    """
    st = _state(m)
    for child in list(m._children.values()):
        if isinstance(child, folium.LayerControl | _Search | _Legend):
            del m._children[child.get_name()]
    search_layers = [gj for gj in st.search_layers]
    for fg in m._children.values():  # candidate routes are searchable too
        if isinstance(fg, folium.FeatureGroup):
            search_layers += [c for c in fg._children.values()
                              if isinstance(c, folium.GeoJson) and c not in search_layers
                              and c.layer_name.startswith("route ")]
    if search_layers:
        _Search(search_layers).add_to(m)
    if st.legend_sections:
        body = "".join(
            f"<h5>{escape_text(title)}</h5>"
            + "".join(f'<p class="planner-legend-row">{sym}<span>{escape_text(label)}</span></p>'
                      for sym, label in items)
            for title, items in st.legend_sections.items())
        _Legend(body).add_to(m)
    folium.LayerControl(collapsed=st.collapsed_layers, position="topright").add_to(m)
    st.finished = True
    return m


# --------------------------------------------------------------------------- offline HTML


@lru_cache(maxsize=64)
def _vendored_text(rel: str) -> str:
    return (VENDOR_DIR / rel).read_text(encoding="utf-8")


@lru_cache(maxsize=256)
def _data_uri(path: Path) -> str:
    mime = {".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf",
            ".svg": "image/svg+xml", ".png": "image/png", ".gif": "image/gif"}.get(
        path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


_URL_RE = re.compile(r"""url\(\s*(['"]?)([^'")]+?)\1\s*\)""")
_FONT_FACE_RE = re.compile(r"@font-face\s*\{[^}]*\}", re.S)
_SRC_RE = re.compile(r"src\s*:\s*([^;}]+)[;]?")


def _resolve(css_dir: Path, url: str) -> Path | None:
    if url.startswith(("data:", "#", "http:", "https:", "//")):
        return None
    p = (css_dir / url.split("?")[0].split("#")[0]).resolve()
    return p if p.is_file() and VENDOR_DIR in p.parents else None


def _inline_css(rel: str) -> str:
    """A vendored stylesheet with its fonts/images as data URIs and missing fonts dropped."""
    css = _vendored_text(rel)
    css_dir = (VENDOR_DIR / rel).parent

    def fix_font_face(block: re.Match[str]) -> str:
        def fix_src(src: re.Match[str]) -> str:
            entries = [e.strip() for e in src.group(1).split(",")]
            kept = []
            for e in entries:
                u = _URL_RE.search(e)
                if u is None or _resolve(css_dir, u.group(2)) is not None:
                    kept.append(e)
            return f"src:{','.join(kept)};" if kept else ""
        return _SRC_RE.sub(fix_src, block.group(0))

    css = _FONT_FACE_RE.sub(fix_font_face, css)

    def inline(u: re.Match[str]) -> str:
        url = u.group(2)
        if url.startswith(("data:", "#")):
            return u.group(0)
        p = _resolve(css_dir, url)
        if p is None:
            log.debug("dropping unresolved url(%s) in %s", url, rel)
            return "url(data:,)"
        return f'url("{_data_uri(p)}")'

    return _URL_RE.sub(inline, css)


def _icon_fix_script() -> str:
    img = VENDOR_DIR / "leaflet-1.9.3" / "images"
    opts = {"iconUrl": _data_uri(img / "marker-icon.png"),
            "iconRetinaUrl": _data_uri(img / "marker-icon-2x.png"),
            "shadowUrl": _data_uri(img / "marker-shadow.png")}
    body = ", ".join(f'{k}: "{v}"' for k, v in opts.items())
    return ("<script>/* planner: default marker icons inlined for offline use */\n"
            f"L.Icon.Default.imagePath = ''; L.Icon.Default.mergeOptions({{{body}}});</script>")


_SCRIPT_SRC_RE = re.compile(r"""<script\b[^>]*\bsrc\s*=\s*["']([^"']+)["'][^>]*>\s*</script>""",
                            re.I)
_LINK_RE = re.compile(r"""<link\b[^>]*\bhref\s*=\s*["']([^"']+)["'][^>]*/?>""", re.I)
_EXTERNAL_RE = re.compile(
    r"""<(script|link|img|iframe|source|embed)\b[^>]*\b(src|href)\s*=\s*["']((?:https?:)?//[^"']+)""",
    re.I)


def offline_html(html: str, *, strict: bool = True, lean: bool = True) -> str:
    """Inline every CDN ``<script src>``/``<link href>`` of a rendered folium page.

    Parameters
    ----------
    html
        A rendered folium page (``m.get_root().render()``).
    strict
        Raise :class:`OfflineError` if an external script, stylesheet, image or frame is
        left (tile URLs inside scripts are not tags and stay).
    lean
        Drop awesome-marker icons and their fonts (Font Awesome, Glyphicons) when the page
        uses no ``L.AwesomeMarkers`` icon: they are most of the weight.

    Returns
    -------
    str

    Examples
    --------
    >>> page = '<head><script src="https://code.jquery.com/jquery-3.7.1.min.js"></script></head>'
    >>> out = offline_html(page)
    >>> "code.jquery.com" in out, "jQuery" in out
    (False, True)
    """
    uses_awesome = "L.AwesomeMarkers" in _SCRIPT_SRC_RE.sub("", html)

    def skip(rel: str) -> bool:
        return lean and not uses_awesome and rel in _AWESOME_ONLY

    def script(mt: re.Match[str]) -> str:
        rel = CDN_FILES.get(mt.group(1))
        if rel is None:
            return mt.group(0)
        if skip(rel):
            return ""
        js = _vendored_text(rel).replace("</script", "<\\/script")
        out = f"<script>/* vendored: {rel} */\n{js}\n</script>"
        if rel.startswith("leaflet-1.9.3/"):
            out += "\n" + _icon_fix_script()
        return out

    def link(mt: re.Match[str]) -> str:
        rel = CDN_FILES.get(mt.group(1))
        if rel is None:
            return mt.group(0)
        if skip(rel):
            return ""
        css = _inline_css(rel).replace("</style", "<\\/style")
        return f"<style>/* vendored: {rel} */\n{css}\n</style>"

    out = _SCRIPT_SRC_RE.sub(script, html)
    out = _LINK_RE.sub(link, out)
    left = sorted({m.group(3) for m in _EXTERNAL_RE.finditer(out)})
    if left:
        msg = f"external resources not vendored: {left} (add them to planner/static/vendor)"
        if strict:
            raise OfflineError(msg)
        log.warning(msg)
    return out


def make_offline(m: folium.Map, *, strict: bool = True, lean: bool = True) -> str:
    """The map as one self-contained HTML page: no request leaves the machine but tiles.

    Finishes the map (:func:`finish_map`), renders it and inlines the vendored scripts,
    stylesheets, images and fonts (:func:`offline_html`).

    Examples
    --------
    >>> html = make_offline(base_map())
    >>> "https://cdn." in html, "L.map(" in html
    (False, True)
    """
    finish_map(m)
    return offline_html(m.get_root().render(), strict=strict, lean=lean)


def save_map(m: folium.Map, path: str | Path, *, strict: bool = True,
             lean: bool = True) -> Path:
    """Write the offline map to ``path`` atomically (temp file beside it, then rename).

    Logs the size; returns the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> p = save_map(base_map(), d / "index.html")
    >>> p.stat().st_size > 100_000
    True
    """
    from planner.io import write_text_atomic

    html = make_offline(m, strict=strict, lean=lean)
    path = write_text_atomic(path, html)
    log.info("map written to %s (%s)", path, human_size(len(html.encode("utf-8"))))
    return path


def inline_frame(page: str | Path, *, height: int = 640) -> str:
    """An ``<iframe srcdoc>`` holding a whole offline page (a map), for a notebook cell.

    The page goes in as an escaped attribute, so it needs no file server and no network:
    ``IPython.display.HTML(inline_frame(path))`` shows the interactive map inline.

    Examples
    --------
    >>> inline_frame("<p title='x'>map</p>", height=300)
    '<iframe srcdoc="&lt;p title=&#x27;x&#x27;&gt;map&lt;/p&gt;" style="width:100%;height:300px;border:1px solid #ccc" sandbox="allow-scripts allow-popups"></iframe>'
    """  # noqa: E501
    text = page.read_text(encoding="utf-8") if isinstance(page, Path) else str(page)
    return (f'<iframe srcdoc="{_html.escape(text, quote=True)}" '
            f'style="width:100%;height:{int(height)}px;border:1px solid #ccc" '
            'sandbox="allow-scripts allow-popups"></iframe>')


def human_size(n: int) -> str:
    """Bytes as a short human-readable size.

    Examples
    --------
    >>> human_size(1536), human_size(3_500_000)
    ('1.5 kB', '3.5 MB')
    """
    if n < 1000:
        return f"{n} B"
    if n < 1_000_000:
        return f"{n / 1000:.1f} kB"
    return f"{n / 1_000_000:.1f} MB"


def map_size_report(html: str) -> dict[str, int]:
    """Bytes of a page by part: vendored libraries, embedded data and total.

    Examples
    --------
    >>> r = map_size_report(make_offline(base_map()))
    >>> r["total"] == r["vendored"] + r["other"]
    True
    """
    total = len(html.encode("utf-8"))
    vendored = sum(len(b.group(0).encode("utf-8")) for b in re.finditer(
        r"<(script|style)>/\* vendored: .*?</\1>", html, re.S))
    return {"total": total, "vendored": vendored, "other": total - vendored}


def profile_png(distance_km: Sequence[float], elevation_m: Sequence[float],
                pressure_bar: Sequence[float] | None = None, *,
                title: str = "") -> bytes:
    """A small PNG of a route's elevation (and pressure) profile for the popup.

    Examples
    --------
    >>> png = profile_png([0, 100, 200], [200, 800, 300], [75, 68, 61])
    >>> png[:4] == b"\\x89PNG"
    True
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2, 1.8), dpi=90)
    ax = fig.add_subplot()
    ax.fill_between(distance_km, elevation_m, color="#bdbdbd", alpha=0.8)
    ax.plot(distance_km, elevation_m, color="#636363", lw=1)
    ax.set_xlabel("km", fontsize=7)
    ax.set_ylabel("elevation (m)", fontsize=7)
    ax.tick_params(labelsize=6)
    if pressure_bar is not None:
        ax2 = ax.twinx()
        ax2.plot(distance_km, pressure_bar, color="#d7301f", lw=1.4)
        ax2.set_ylabel("pressure (bar)", fontsize=7, color="#d7301f")
        ax2.tick_params(labelsize=6)
    if title:
        from planner.neutralise import MPL_TEXT

        ax.set_title(title, fontsize=8, **MPL_TEXT)  # a name is text, never mathtext
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return compact_png(buf.getvalue())


def profile_svg(distance_km: Sequence[float] | np.ndarray,
                elevation_m: Sequence[float] | np.ndarray,
                pressure_bar: Sequence[float] | np.ndarray | None = None, *, title: str = "",
                width: int = 380, height: int = 150, max_points: int = 160) -> str:
    """A small inline SVG of a route's elevation (grey area) and pressure (red line).

    Built from numbers and escaped text only, without matplotlib: a route's chart costs
    well under a millisecond and a few kB, so every route of a study can carry one.

    Examples
    --------
    >>> svg = profile_svg([0, 100, 200], [200, 800, 300], [75, 68, 61], title="<A>")
    >>> svg.startswith("<svg") and "&lt;A&gt;" in svg and "polyline" in svg
    True
    """
    d = np.asarray(distance_km, dtype=float)
    z = np.asarray(elevation_m, dtype=float)
    p = None if pressure_bar is None else np.asarray(pressure_bar, dtype=float)
    if d.size < 2 or d.size != z.size:
        return ""
    step = max(1, math.ceil(d.size / max_points))
    idx = np.unique(np.r_[np.arange(0, d.size, step), d.size - 1])
    left, right, top, bottom = 44, 40 if p is not None else 8, 18, 22
    w, h = width - left - right, height - top - bottom
    d0, d1 = float(np.nanmin(d)), float(np.nanmax(d))
    z0, z1 = float(np.nanmin(z)), float(np.nanmax(z))
    z0, z1 = min(0.0, z0), max(z1, z0 + 100.0)

    def xs(v: np.ndarray) -> np.ndarray:
        return left + (v - d0) / max(d1 - d0, 1e-9) * w

    def ys(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
        return top + h - (v - lo) / max(hi - lo, 1e-9) * h

    def pts(x: np.ndarray, y: np.ndarray) -> str:
        return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True))

    x = xs(d[idx])
    area = pts(np.r_[x[0], x, x[-1]], np.r_[top + h, ys(z[idx], z0, z1), top + h])
    font = 'font-family="sans-serif" font-size="10"'
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="planner-profile" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
             f'<text x="{left}" y="11" {font} font-weight="600">{escape_text(title)}</text>',
             f'<polygon points="{area}" fill="#c9c9c9" stroke="#777" stroke-width="0.8"/>',
             f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#333"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#333"/>',
             f'<text x="{left - 3}" y="{top + 8}" {font} text-anchor="end">{z1:,.0f}</text>',
             f'<text x="{left - 3}" y="{top + h}" {font} text-anchor="end">{z0:,.0f}</text>',
             f'<text x="{left - 30}" y="{top + h / 2 + 3}" {font} fill="#555">m</text>',
             f'<text x="{left}" y="{height - 6}" {font}>0 km</text>',
             f'<text x="{left + w}" y="{height - 6}" {font} text-anchor="end">'
             f'{d1 - d0:,.0f} km</text>',
             f'<text x="{left + w / 2}" y="{height - 6}" {font} text-anchor="middle" '
             f'fill="#555">elevation (grey), pressure (red)</text>']
    if p is not None and p.size == d.size and np.isfinite(p).any():
        p0, p1 = float(np.nanmin(p)), float(np.nanmax(p))
        p0, p1 = min(p0, p1 - 1.0), p1
        pv = np.nan_to_num(p[idx], nan=p0)
        parts += [f'<polyline points="{pts(x, ys(pv, p0, p1))}" fill="none" stroke="#d7301f" '
                  'stroke-width="1.6"/>',
                  f'<line x1="{left + w}" y1="{top}" x2="{left + w}" y2="{top + h}" '
                  'stroke="#d7301f"/>',
                  f'<text x="{left + w + 3}" y="{top + 8}" {font} fill="#d7301f">'
                  f'{p1:,.0f}</text>',
                  f'<text x="{left + w + 3}" y="{top + h}" {font} fill="#d7301f">{p0:,.0f}</text>',
                  f'<text x="{left + w + 3}" y="{top + h / 2 + 3}" {font} fill="#d7301f">bar'
                  '</text>']
    parts.append("</svg>")
    return "".join(parts)


def compact_png(png: bytes, colors: int = 32) -> bytes:
    """The PNG quantised to a small palette (a chart is a few flat colours): ~4x smaller.

    Returns the input unchanged if Pillow cannot read it.

    Examples
    --------
    >>> png = profile_png([0, 100, 200], [200, 800, 300])
    >>> len(compact_png(png)) <= len(png)
    True
    """
    try:
        from PIL import Image

        im = Image.open(io.BytesIO(png)).convert("RGB")
        q = im.quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
        out = io.BytesIO()
        q.save(out, format="PNG", optimize=True)
    except Exception as exc:  # Pillow missing or an unusual PNG: keep the original
        log.debug("PNG not compacted: %s", exc)
        return png
    data = out.getvalue()
    return data if len(data) < len(png) else png


__all__ = [
    "ATTRIBUTIONS",
    "CDN_FILES",
    "VENDOR_DIR",
    "OfflineError",
    "add_compressor_stations",
    "add_cost_surface",
    "add_countries",
    "add_demand_centres",
    "add_pipelines",
    "add_routes",
    "add_supply_points",
    "add_water",
    "base_map",
    "compact_png",
    "dataframe_table",
    "default_label",
    "display_extent",
    "escape_text",
    "existing_system_map",
    "figures_table",
    "finish_map",
    "format_value",
    "human_size",
    "inline_frame",
    "layer_names",
    "make_offline",
    "map_size_report",
    "offline_html",
    "png_img_tag",
    "profile_png",
    "profile_svg",
    "route_colour",
    "save_map",
    "simplify_for_display",
]
