"""Checks of a study against its layers, before any heavy work.

:func:`check_study` runs once the study file is read and its layers are loaded (both
fast), before any cost surface is built or route searched. It collects every problem of
the study's places, countries and resolution and raises one
:class:`~planner.study.StudyError` naming file, line and field of each:

- the cost surface at the study's resolution fits in memory;
- every country a scenario excludes, and every country a place names, is in the
  countries layer (by name or ISO3 code), with a "did you mean";
- every place resolves to a point (by name from the layers, or its lon/lat), lies inside
  the study region, on land covered by the countries layer, not in a sea or lake farther
  from its shore than routing may move it, and not in a country a scenario excludes.

:func:`check_reachable` runs once per scenario on the scenario's cost surface (built or
loaded from the cache), before the routing: every destination must be reachable from a
supply point through passable cells.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
from pyproj import CRS
from shapely.geometry import Point

from planner import settings
from planner.layers import Layers
from planner.study import (
    Place,
    Scenario,
    Study,
    StudyError,
    layers_for_study,
    load_study,
    resolve_place,
)
from planner.study_schema import did_you_mean, line_of
from planner.validation import LayerError

log = logging.getLogger(__name__)


class _Problems:
    """Problems of one study, each with its field and the field's line in the file."""

    def __init__(self, study: Study) -> None:
        self.study = study
        self.items: list[str] = []

    def add(self, field: str, msg: str) -> None:
        n = line_of(self.study.lines, field)
        self.items.append(f"{field}{f' (line {n})' if n else ''}: {msg}")

    def raise_if_any(self) -> None:
        if self.items:
            raise StudyError(str(self.study.path), self.items)


def _country_names(layers: Layers) -> dict[str, str]:
    """Country name or ISO3 code (case-folded) -> the countries layer's name."""
    c = layers.countries
    out: dict[str, str] = {}
    for name, iso in zip(c["name"].astype(str), c["iso_a3"].astype(str), strict=True):
        out[iso.casefold()] = name
        out[name.casefold()] = name
    return out


def _iso_codes(layers: Layers) -> dict[str, str]:
    """Country name or ISO3 code (case-folded) -> ISO3 code."""
    c = layers.countries
    out: dict[str, str] = {}
    for name, iso in zip(c["name"].astype(str), c["iso_a3"].astype(str), strict=True):
        out[iso.casefold()] = iso.upper()
        out[name.casefold()] = iso.upper()
    return out


def _unknown_country(given: str, names: dict[str, str]) -> str:
    known = sorted(set(names.values()))
    return (f"unknown country {given!r}{did_you_mean(given, known)}: give a name or ISO3 "
            f"code of the countries layer ({', '.join(known)})")


def _check_resolution(study: Study, problems: _Problems) -> None:
    from planner.costsurface import BUILD_BYTES_PER_CELL, memory_limit_bytes, study_grid

    _, (h, w) = study_grid(study.region, study.resolution_km * 1000.0, study.crs)
    need = h * w * BUILD_BYTES_PER_CELL
    limit = memory_limit_bytes()
    if need > limit:
        finest = study.resolution_km * float(np.sqrt(need / limit)) * 1.01
        problems.add("region.resolution_km",
                     f"a cost surface at {study.resolution_km:g} km over the region has "
                     f"{h * w:,} cells and needs about {need / 2**30:.1f} GiB, more than the "
                     f"{limit / 2**30:.1f} GiB allowed: use resolution_km = "
                     f"{np.ceil(finest * 10) / 10:g} or more, a smaller region, or raise "
                     f"PLANNER_MAX_MEMORY_GIB")


def _name_hint(place: Place, layers: Layers) -> str:
    names: list[str] = []
    for lname in [place.layer] if place.layer else ["demand_centres", "supply_points"]:
        names += layers.vector_layers()[lname]["name"].astype(str).tolist()
    return did_you_mean(place.name, names)


def _resolve(place: Place, field: str, layers: Layers, names: dict[str, str],
             problems: _Problems) -> Place | None:
    if place.country is not None:
        if not isinstance(place.country, str) or place.country.casefold() not in names:
            problems.add(f"{field}.country", _unknown_country(str(place.country), names))
            return None
        place = replace(place, country=names[place.country.casefold()])
    try:
        return resolve_place(place, layers)
    except LayerError:
        pass
    anywhere = replace(place, country=None)
    try:
        other = resolve_place(anywhere, layers)
        problems.add(f"{field}.country", f"{place.kind} {place.name!r} is in {other.country}"
                     f" in the {other.layer} layer, not in {place.country}: correct the "
                     f"country or give lon and lat")
    except LayerError:
        where = place.layer or "demand_centres or supply_points"
        problems.add(f"{field}.name", f"{place.name!r} is not a name in {where}"
                     f"{_name_hint(place, layers)}: give lon and lat, or a name that "
                     f"`planner layers --places` lists")
    return None


def check_study(study: Study, layers: Layers, known: Sequence[str] = ()
                ) -> tuple[list[Place], list[Place]]:
    """Check a study against its layers; return its supply points and destinations resolved.

    ``known`` are problems found already (by :func:`~planner.study.parse_study`); they are
    reported first, and places they concern are not checked again.

    Raises
    ------
    StudyError
        Listing every problem found, each with its field and line.

    Examples
    --------
    >>> from planner.layers import default_layers
    >>> from planner.study import parse_study
    >>> s = parse_study('''
    ... [study]
    ... name = "caspian"
    ... [[supply]]
    ... name = "Beyneu"
    ... [[destinations]]
    ... name = "middle of the Caspian"
    ... lon = 50.5
    ... lat = 42.0
    ... throughput_bcm_y = 1
    ... [[scenarios]]
    ... excluded_countries = ["Kazakstan"]
    ... ''', "caspian.toml")
    >>> check_study(s, default_layers())  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    planner.study.StudyError: study caspian.toml: 2 problems:
      - scenarios[0].excluded_countries (line 12): unknown country 'KAZAKSTAN'
        (did you mean 'Kazakhstan'?): ...
      - destinations[0] (line 6): 'middle of the Caspian' at (50.500, 42.000) lies in
        Caspian Sea, ... km from its shore ...
    """
    from planner.costsurface import BARRIER_KINDS, study_grid
    from planner.routing import SNAP_KM

    problems = _Problems(study)
    problems.items += known
    region_fields = {"region.bounds", "region.crs", "region.resolution_km"}
    if not any(k.split(" ")[0].rstrip(":") in region_fields for k in known):
        _check_resolution(study, problems)
    names = _country_names(layers)
    excluded: dict[str, set[str]] = {}
    for i, scen in enumerate(study.scenarios):
        for c in scen.excluded_countries:
            if c.casefold() in names:
                excluded.setdefault(names[c.casefold()], set()).add(scen.name)
            else:
                problems.add(f"scenarios[{i}].excluded_countries", _unknown_country(c, names))

    resolved: dict[str, list[Place]] = {"supply": [], "destinations": []}
    fields: list[tuple[str, Place]] = []
    for key, places in (("supply", study.supply), ("destinations", study.destinations)):
        for i, place in enumerate(places):
            if any(k.startswith(f"{key}[{i}]") for k in known):
                continue
            got = _resolve(place, f"{key}[{i}]", layers, names, problems)
            if got is not None:
                resolved[key].append(got)
                fields.append((f"{key}[{i}]", got))

    if fields:
        pts = gpd.GeoSeries([Point(p.lon, p.lat) for _, p in fields],
                            crs=layers.countries.crs).to_crs(study.crs)
        water = layers.water
        kind = water["kind"].astype(str).str.lower() if "kind" in water else None
        bodies = water[water.geom_type.isin(["Polygon", "MultiPolygon"])
                       & (kind.isin(BARRIER_KINDS) if kind is not None else True)]
        bodies = bodies.to_crs(study.crs)
        countries = layers.countries.to_crs(study.crs)
        coverage = tuple(round(float(v), 6) for v in
                         layers.countries.to_crs(settings.STORAGE_CRS).total_bounds)
        w, s, e, n = study.region
        for (field, p), pt in zip(fields, pts, strict=True):
            at = f"{p.name!r} at ({p.lon:.3f}, {p.lat:.3f})"
            if not (w <= p.lon <= e and s <= p.lat <= n):
                problems.add(field, f"{at} lies outside the study region ({w}, {s}, {e}, {n}):"
                             f" check lon and lat (swapped?) or widen [region] bounds")
                continue
            inside = bodies[bodies.contains(pt)]
            if len(inside):
                shore_km = float(inside.boundary.distance(pt).min()) / 1000.0
                if shore_km > SNAP_KM:
                    label = inside["name"].dropna().astype(str)
                    what = label.iloc[0] if len(label) else "a sea or lake"
                    problems.add(field, f"{at} lies in {what}, {shore_km:.0f} km from its "
                                 f"shore (routing moves a place at most {SNAP_KM:g} km): "
                                 f"move it onto land")
                    continue
            home = countries[countries.contains(pt)]
            if home.empty:
                d_km = float(countries.distance(pt).min()) / 1000.0
                cw, cs, ce, cn = coverage
                if d_km > SNAP_KM and not (cw <= p.lon <= ce and cs <= p.lat <= cn):
                    whose = ("the shipped data's" if coverage == settings.DEFAULT_REGION
                             else "the countries layer's")
                    problems.add(field, f"{at} lies outside {whose} coverage ({cw:g}–{ce:g}° "
                                 f"E, {cs:g}–{cn:g}° N): choose a place inside it, or give "
                                 f"layers that cover it ([layers.<name>] in the study)")
                elif d_km > SNAP_KM:
                    problems.add(field, f"{at} lies in no country of the countries layer "
                                 f"({d_km:.0f} km from the nearest): move it onto land")
                continue
            country = str(home["name"].iloc[0])
            for scen_name in sorted(excluded.get(country, ())):
                problems.add(field, f"{at} lies in {country}, which scenario {scen_name!r} "
                             f"excludes: drop the place or the exclusion")
        # a destination where every supply point is has no route (it used to be dropped
        # with a warning, and the run went on without it)
        # in the grid cell routing places the supply point in (the surface's own grid,
        # costsurface.study_grid), not merely closer than a cell's width
        transform, _ = study_grid(study.region, float(study.resolution_km) * 1000.0,
                                  study.crs)
        t, x, y = ~transform, pts.x.to_numpy(), pts.y.to_numpy()
        cells = list(zip(np.floor(t.d * x + t.e * y + t.f).astype(int),
                         np.floor(t.a * x + t.b * y + t.c).astype(int), strict=True))
        sup = [c for (f, _), c in zip(fields, cells, strict=True) if f.startswith("supply[")]
        for (field, p), cell in zip(fields, cells, strict=True):
            if field.startswith("destinations[") and sup and all(cell == q for q in sup):
                problems.add(field, f"{p.name!r} at ({p.lon:.3f}, {p.lat:.3f}) lies at the "
                             f"supply point (in its {study.resolution_km:g}-km grid cell): "
                             f"give a destination away from it")
    problems.raise_if_any()
    return resolved["supply"], resolved["destinations"]


def section_problems(study: Study) -> list[str]:
    """The problems of the study's ``[plan]`` and ``[coalitions]`` tables, where present,
    as their own readers find them (:func:`planner.plan.options.plan_options_from_study`,
    :func:`planner.coalition.spec.game_spec_from_study`), so that a typo there stops the
    run before any routing instead of after it (or, for ``[coalitions]``, never).

    Examples
    --------
    >>> from planner.study import parse_study
    >>> s = parse_study('[study]\\nname = "s"\\n[[supply]]\\nname = "Beyneu"\\n'
    ...                 '[[destinations]]\\nname = "Tashkent"\\nthroughput_bcm_y = 1\\n'
    ...                 '[plan]\\nmax_new_kms = 900\\n')
    >>> section_problems(s)[0].split(";")[0]
    "plan.max_new_kms: unknown option (did you mean 'max_new_km'?)"
    """
    from planner.coalition.spec import game_spec_from_study
    from planner.plan.options import plan_options_from_study

    out: list[str] = []
    for key, read in (("plan", plan_options_from_study), ("coalitions", game_spec_from_study)):
        if key in study.raw:
            try:
                read(study)
            except StudyError as exc:
                out.extend(exc.problems)
    return out


def load_checked_study(path: str | Path
                       ) -> tuple[Study, Layers, list[Place], list[Place]]:
    """Read a study file, load its layers and check both; every problem reported at once.

    Returns the study, its layers, and its supply points and destinations resolved.

    Raises
    ------
    StudyError
        Listing every problem of the file (keys, values) and of its places and countries
        against the layers, each with field and line.
    LayerError
        When one of the study's own layer files fails validation.
    """
    problems: list[str] = []
    study = load_study(path, collect=problems)
    problems.extend(section_problems(study))
    try:
        layers = layers_for_study(study)
    except LayerError:
        if problems:  # the file's own problems first; the layer's come once they are fixed
            raise StudyError(str(study.path), problems) from None
        raise
    try:
        if not CRS.from_user_input(study.crs).is_projected:
            raise ValueError
    except Exception:  # reported by parse_study; check the places in the default CRS
        study = replace(study, crs=settings.STUDY_CRS)
    supply, destinations = check_study(study, layers, problems)
    # Excluded countries as the ISO3 codes the routes' country lists use (a study may name them).
    iso = _iso_codes(layers)
    scenarios = tuple(replace(s, excluded_countries=tuple(
        sorted({iso[c.casefold()] for c in s.excluded_countries}))) for s in study.scenarios)
    return replace(study, scenarios=scenarios), layers, supply, destinations


def check_reachable(study: Study, surface: Any, scenario: Scenario,
                    supply: Sequence[Place], destinations: Sequence[Place]) -> None:
    """Check that every destination is reachable from a supply point on ``surface``.

    Places on a barrier move to the nearest passable cell as routing does
    (:func:`planner.routing.locate`); two places are connected when one region of
    8-connected passable cells holds both.

    Raises
    ------
    StudyError
        Naming every place that cannot be located or reached, and the scenario.
    """
    from scipy import ndimage

    from planner.routing import PlaceError, locate

    problems = _Problems(study)
    regions, _ = ndimage.label(np.isfinite(surface.cost), structure=np.ones((3, 3)))

    def cells(places: Sequence[Place], key: str) -> list[tuple[int, Place, int]]:
        out = []
        for i, p in enumerate(places):
            try:
                cell = locate(surface, (p.lon, p.lat), p.name)
            except PlaceError as exc:
                problems.add(f"{key}[{i}]", f"scenario {scenario.name!r}: {exc}")
                continue
            out.append((i, p, int(regions[cell.row, cell.col])))
        return out

    sources = {r for _, _, r in cells(supply, "supply")}
    for i, p, r in cells(destinations, "destinations"):
        if sources and r not in sources:
            problems.add(f"destinations[{i}]", f"scenario {scenario.name!r}: {p.name!r} "
                         f"cannot be reached from any supply point: seas, lakes or excluded "
                         f"countries cut it off")
    problems.raise_if_any()


__all__ = ["check_reachable", "check_study", "load_checked_study", "section_problems"]
