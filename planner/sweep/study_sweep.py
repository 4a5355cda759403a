"""Study sweeps: a base study run over many values of its uncertain inputs.

A sweep file (TOML) names a base study and the dimensions to vary::

    [sweep]
    name = "trilateral-uncertainty"     # output folder under maps/
    study = "default"                   # "default", a shipped study's name, or a path
    design = "monte_carlo"              # or "grid" (every combination of the values)
    samples = 40                        # Monte Carlo draws per scenario
    seed = 20221128
    scenarios = ["lowest cost"]         # optional: default every scenario of the study

    [[dimensions]]
    parameter = "costs.regional_factor_central_asia"   # any cost parameter ...
    multiply = true                                     # ... as a multiple of its base value
    distribution = { kind = "triangular", low = 0.8, mode = 1.0, high = 1.4 }

    [[dimensions]]
    parameter = "costs.discount_rate"
    values = [0.06, 0.08, 0.10, 0.12]

    [[dimensions]]
    parameter = "throughput_scale"      # every destination's throughput × this
    range = { start = 0.75, stop = 1.25, num = 3 }

Parameters: ``costs.<name>`` (a row of ``planner/data/cost_parameters.csv``, or
``supply_price_usd_per_1000m3``, which prices the compressors' fuel as well as the gas, so
it moves tariffs too; in a scenario that sets a supply price, ``fuel_gas_price_usd_per_1000m3``
has no effect and is refused), ``throughput_scale``, and the routing inputs
``excluded_countries`` (lists of ISO3 codes, added to the scenario's own) and
``resolution_km``. A dimension gives ``values`` (a list), a ``range`` (start, stop, num:
evenly spaced, both ends included) or a ``distribution`` (``uniform`` low/high,
``triangular`` low/mode/high, ``normal`` mean/sd, ``lognormal`` mean/sigma of the log),
drawn with the sweep's ``seed``. In a ``monte_carlo`` design every task draws each
dimension (lists and ranges uniformly from their values); in a ``grid`` design the tasks
are every combination of the values (distributions are not allowed there).

A ``multiply = true`` cost dimension with ``per_route = true`` (``monte_carlo`` only) gives
every candidate route its own multiplier in each task, on top of the task's value of the
parameter (a common dimension of the same parameter, or its base value): each route's
estimating error of its own beside the error common to the study. The task holds a seed
(one per sample, from the sweep's ``seed``, the same in every scenario) and the
dimension's values or distribution; a route's draw comes from that seed, the parameter
and the route's name (:func:`route_multiplier`), so it does not depend on which routes a
task appraises or in what order. Each result row carries its route's multiplier as
``route:<parameter>``. The draw is for the route as a whole: two routes that reuse the
same lines and build the same stretch draw independently, not per shared component.
A ``multiply = true`` dimension's distribution must stay above 0 (a lognormal, or a
uniform or triangular with ``low > 0``).

Tasks are cheap by design: routes depend only on the routing inputs, so candidates are
generated once per (resolution, excluded countries), together with everything of them
that depends on geometry only (:func:`planner.appraisal.route_geometry`: per-country
pieces, border and river crossings, demand centres within reach), and cached beside the
results. Each task then sizes, costs and ranks those fixed candidates for one scenario
and one set of values (:func:`appraise_task`), on the workers of a ``dask.distributed``
cluster (:func:`planner.sweep.engine.run_tasks`), with the candidates and layers sent to
each worker once.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import pickle
import re
import tomllib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner import __version__, settings
from planner._checks import ProblemsError
from planner.study import Scenario, Study, load_study, shipped_studies
from planner.study_schema import COST_KEYS, key_lines, line_of

log = logging.getLogger(__name__)

#: Cost parameters a study (or scenario) sets in its own ``[costs]`` table (the study
#: schema's ``COST_KEYS``: they win over the cost table there, so a sweep sets them on the
#: scenario); the rest of ``costs.<name>`` go to the cost-parameter table.
STUDY_COST_KEYS = tuple(COST_KEYS)
#: Parameters that change the routes (and so need candidates generated for them).
ROUTING_PARAMETERS = ("excluded_countries", "resolution_km")
OTHER_PARAMETERS = ("throughput_scale",)
DISTRIBUTIONS = {"uniform": ("low", "high"), "triangular": ("low", "mode", "high"),
                 "normal": ("mean", "sd"), "lognormal": ("mean", "sigma")}
#: Key prefix of a per-route dimension in a task (its seed and values or distribution).
PER_ROUTE = "per_route:"
#: Column prefix of a route's own multiplier in the results.
ROUTE_COLUMN = "route:"
#: Columns of each task's result (besides the parameter columns ``p:<parameter>``).
RESULT_COLUMNS = ["scenario", "candidate", "destination", "kind", "throughput_bcm_y",
                  "capex_musd", "tariff_usd_per_1000m3", "delivered_cost_usd_per_1000m3",
                  "score", "rank", "best"]


class SweepError(ProblemsError):
    """A sweep file failed validation; ``problems`` lists every problem."""

    label = "sweep"


@dataclass(frozen=True)
class Dimension:
    """One input varied by a sweep."""

    parameter: str
    values: tuple[Any, ...] = ()
    distribution: dict[str, Any] | None = None
    multiply: bool = False
    label: str = ""
    per_route: bool = False

    @property
    def name(self) -> str:
        return self.label or self.parameter

    @property
    def key(self) -> str:
        """The dimension's key in a task: its parameter, or ``per_route:<parameter>``."""
        return f"{PER_ROUTE}{self.parameter}" if self.per_route else self.parameter


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file."""

    name: str
    path: Path
    study_path: Path
    dimensions: tuple[Dimension, ...]
    design: str = "monte_carlo"
    samples: int = 20
    seed: int = 0
    scenarios: tuple[str, ...] = ()
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


def _study_path(ref: str, base: Path) -> Path | None:
    if ref == "default":
        from planner.study import default_study_path

        return default_study_path()
    for p in shipped_studies():
        if ref in (p.stem, p.name, load_study(p).name):
            return p
    p = Path(ref)
    p = p if p.is_absolute() else (base / p).resolve()
    return p if p.exists() else None


def parse_sweep(text: str, path: str | Path = "<string>") -> SweepSpec:
    """Parse and validate sweep TOML text; one :class:`SweepError` lists every problem.

    Examples
    --------
    >>> s = parse_sweep('''
    ... [sweep]
    ... name = "demo"
    ... samples = 3
    ... [[dimensions]]
    ... parameter = "costs.discount_rate"
    ... values = [0.06, 0.1]
    ... ''')
    >>> s.design, [d.values for d in s.dimensions]
    ('grid', [(0.06, 0.1)])
    >>> parse_sweep('[sweep]\\nname = "x"\\n[[dimensions]]\\nparameter = "costs.nope"\\n'
    ...             'values = [1]')  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    planner.sweep.study_sweep.SweepError: sweep <string>: 1 problem:
      - dimensions[0].parameter (line 4): unknown parameter 'costs.nope'; ...
    """
    from planner.economics import load_cost_parameters

    path = Path(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(str(path), [f"not valid TOML: {exc}"]) from None
    problems: list[str] = []
    lines = key_lines(text)

    def add(where: str, msg: str, key: str | None = None, value: object = None) -> None:
        n = line_of(lines, where) if key else None
        problems.append(f"{where}{f' (line {n})' if n else ''}: {msg}")

    for key in data:
        if key not in ("sweep", "dimensions"):
            add(key, "unknown table; known: sweep, dimensions", key)
    meta = data.get("sweep", {})
    name = meta.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        add("sweep.name", f"is required: a folder-safe name (letters, digits, - _ .), got "
            f"{name!r}", "name")
        name = "sweep"
    study_ref = meta.get("study", "default")
    study_path = _study_path(str(study_ref), path.parent)
    if study_path is None:
        add("sweep.study", f"no such study: {study_ref!r} (give 'default', a shipped "
            "study's name, or a path to a study TOML)", "study")
    samples = meta.get("samples", 20)
    if not isinstance(samples, int) or isinstance(samples, bool) or not 1 <= samples <= 100_000:
        add("sweep.samples", f"must be a whole number 1-100000, got {samples!r}", "samples")
        samples = 20
    seed = meta.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        add("sweep.seed", f"must be a whole number, got {seed!r}", "seed")
        seed = 0
    scen = meta.get("scenarios", [])
    if not isinstance(scen, list) or not all(isinstance(x, str) for x in scen):
        add("sweep.scenarios", "must be a list of scenario names of the study", "scenarios")
        scen = []

    known_costs = set(load_cost_parameters().index) | set(STUDY_COST_KEYS)
    dims: list[Dimension] = []
    dim_where: list[str] = []
    for i, d in enumerate(data.get("dimensions", [])):
        where = f"dimensions[{i}]"
        par = d.get("parameter")
        if not isinstance(par, str):
            add(f"{where}.parameter", "is required", None)
            continue
        ok = (par in ROUTING_PARAMETERS or par in OTHER_PARAMETERS
              or (par.startswith("costs.") and par[6:] in known_costs))
        if not ok:
            add(f"{where}.parameter", f"unknown parameter {par!r}; known: costs.<a parameter "
                "of planner/data/cost_parameters.csv or supply_price_usd_per_1000m3>, "
                f"{', '.join(OTHER_PARAMETERS + ROUTING_PARAMETERS)}", "parameter", par)
            continue
        given = [k for k in ("values", "range", "distribution") if k in d]
        if len(given) != 1:
            add(where, f"give exactly one of values, range, distribution (got "
                f"{', '.join(given) or 'none'})", "parameter", par)
            continue
        values: tuple[Any, ...] = ()
        dist = None
        if "values" in d:
            v = d["values"]
            if not isinstance(v, list) or not v:
                add(f"{where}.values", "must be a non-empty list", "values")
                continue
            if par == "excluded_countries":
                if not all(isinstance(x, list) and all(isinstance(c, str) for c in x)
                           for x in v):
                    add(f"{where}.values", "must be a list of lists of ISO3 codes, e.g. "
                        '[[], ["TKM"]]', "values")
                    continue
                values = tuple(tuple(sorted(c.upper() for c in x)) for x in v)
            elif not all(isinstance(x, int | float) and not isinstance(x, bool) and x > 0
                         for x in v):
                add(f"{where}.values", f"must be numbers greater than 0, got {v!r}", "values")
                continue
            else:
                values = tuple(float(x) for x in v)
        elif "range" in d:
            r = d["range"]
            try:
                start, stop, num = float(r["start"]), float(r["stop"]), int(r["num"])
                if num < 1 or start <= 0 or stop <= 0:
                    raise ValueError
                values = tuple(float(x) for x in np.linspace(start, stop, num))
            except (KeyError, TypeError, ValueError):
                add(f"{where}.range", "must be { start = >0, stop = >0, num = whole number "
                    f">= 1 }}, got {r!r}", "range")
                continue
        else:
            dist = d["distribution"]
            kind = dist.get("kind") if isinstance(dist, dict) else None
            if kind not in DISTRIBUTIONS:
                add(f"{where}.distribution.kind", f"must be one of "
                    f"{', '.join(DISTRIBUTIONS)}, got {kind!r}", "distribution")
                continue
            missing = [k for k in DISTRIBUTIONS[kind]
                       if not isinstance(dist.get(k), int | float)]
            if missing:
                add(f"{where}.distribution", f"{kind} needs numbers {', '.join(missing)}",
                    "distribution")
                continue
            if par in ROUTING_PARAMETERS:
                add(f"{where}.distribution", f"{par} takes values or a range, not a "
                    "distribution", "distribution")
                continue
            if kind == "triangular" and not dist["low"] <= dist["mode"] <= dist["high"]:
                add(f"{where}.distribution", "triangular needs low <= mode <= high",
                    "distribution")
                continue
            spread = {"normal": "sd", "lognormal": "sigma"}.get(str(kind))
            if spread is not None and dist[spread] < 0:
                add(f"{where}.distribution", f"{kind} needs {spread} >= 0, got "
                    f"{dist[spread]!r}", "distribution")
                continue
            if kind == "uniform" and dist["low"] > dist["high"]:
                add(f"{where}.distribution", "uniform needs low <= high", "distribution")
                continue
            dist = dict(dist)
        multiply = bool(d.get("multiply", False))
        if multiply and not par.startswith("costs."):
            add(f"{where}.multiply", "only cost parameters can be multiplied", "multiply")
        if multiply and dist is not None and _can_be_nonpositive(dist):
            add(f"{where}.distribution", f"a multiplier must stay above 0, but this {kind} "
                "can draw values <= 0; use a lognormal, or a uniform or triangular with "
                "low > 0", "distribution")
            continue
        per_route = d.get("per_route", False)
        if not isinstance(per_route, bool):
            add(f"{where}.per_route", f"must be true or false, got {per_route!r}",
                "per_route")
            continue
        if per_route and not par.startswith("costs."):
            add(f"{where}.per_route", f"only cost parameters can be drawn per route; {par} "
                "is the same for every route of a task", "per_route")
            continue
        if per_route and not multiply:
            add(f"{where}.per_route", "a per-route draw needs multiply = true (each route's "
                "value is the task's value times its own draw)", "per_route")
            continue
        dims.append(Dimension(par, values, dist, multiply, str(d.get("label", "")),
                              per_route))
        dim_where.append(where)
    if not dims and not problems:
        add("dimensions", "at least one [[dimensions]] entry is required")
    first: dict[str, int] = {}
    for j, dim in enumerate(dims):
        if dim.key not in first:
            first[dim.key] = j
            continue
        one, two = dim_where[first[dim.key]], dim_where[j]
        at = [f"{w} (line {line_of(lines, w)})" if line_of(lines, w) else w
              for w in (one, two)]
        problems.append(f"{two}: {dim.parameter} is varied{' per route' if dim.per_route else ''}"
                        f" by both {at[0]} and {at[1]}; each parameter may be varied by one "
                        "dimension only (and by one per_route dimension besides): merge or "
                        "remove one")
    design = meta.get("design", "monte_carlo" if any(d.distribution for d in dims) else "grid")
    if design not in ("grid", "monte_carlo"):
        add("sweep.design", f"must be 'grid' or 'monte_carlo', got {design!r}", "design")
    elif design == "grid" and any(d.distribution for d in dims):
        add("sweep.design", "a grid needs values or ranges; distributions need "
            "design = 'monte_carlo'", "design")
    elif design == "grid" and any(d.per_route for d in dims):
        add("sweep.design", "per_route dimensions are drawn for each route; they need "
            "design = 'monte_carlo'", "design")
    if problems:
        raise SweepError(str(path), problems)
    assert study_path is not None
    return SweepSpec(str(name), path, study_path, tuple(dims), str(design), int(samples),
                     int(seed), tuple(scen), data)


def _can_be_nonpositive(dist: Mapping[str, Any]) -> bool:
    """Whether a validated distribution can draw a value <= 0 (a lognormal cannot)."""
    kind = dist["kind"]
    if kind == "normal":
        return True
    if kind in ("uniform", "triangular"):
        return bool(dist["low"] <= 0)
    return False


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file."""
    p = Path(path)
    if not p.exists():
        raise SweepError(str(p), ["file not found (give a path to a sweep .toml file)"])
    return parse_sweep(p.read_text(encoding="utf-8"), p)


def default_sweep_path() -> Path:
    """The shipped example sweep over the default study's uncertain economics."""
    return Path(__file__).resolve().parent / "default_sweep.toml"


# --- tasks -------------------------------------------------------------------------------


def _stable_int(text: str) -> int:
    """A 64-bit integer of ``text`` that is the same in every process (unlike ``hash``)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def route_multiplier(draw: Mapping[str, Any], parameter: str, route: str) -> float:
    """One route's own multiplier of ``parameter`` in a task, from the task's per-route
    entry ``draw`` (``seed`` and ``values`` or ``distribution``; see :func:`sweep_tasks`).

    Seeded by the task's seed, the parameter and the route's name alone, so a route gets
    the same draw whichever other routes are appraised, in whatever order.

    Examples
    --------
    >>> d = {"seed": 7, "distribution": {"kind": "lognormal", "mean": 0.0, "sigma": 0.5}}
    >>> a = route_multiplier(d, "costs.capex_multiplier", "route A")
    >>> a == route_multiplier(d, "costs.capex_multiplier", "route A")
    True
    >>> a == route_multiplier(d, "costs.capex_multiplier", "route B")
    False
    """
    rng = np.random.default_rng([int(draw["seed"]), _stable_int(parameter),
                                 _stable_int(route)])
    dim = Dimension(parameter, tuple(draw.get("values", ())), draw.get("distribution"))
    return float(_draw(dim, rng))


def route_multipliers(params: Mapping[str, Any], route: str) -> dict[str, float]:
    """``{parameter: multiplier}`` of one route for every per-route dimension of a task."""
    return {k[len(PER_ROUTE):]: route_multiplier(v, k[len(PER_ROUTE):], route)
            for k, v in params.items() if k.startswith(PER_ROUTE)}


def _draw(dim: Dimension, rng: np.random.Generator) -> Any:
    if dim.distribution is None:
        return dim.values[int(rng.integers(len(dim.values)))]
    d = dim.distribution
    kind = d["kind"]
    if kind == "uniform":
        return float(rng.uniform(d["low"], d["high"]))
    if kind == "triangular":
        if d["low"] == d["high"]:
            return float(d["low"])
        return float(rng.triangular(d["low"], d["mode"], d["high"]))
    if kind == "normal":
        return float(rng.normal(d["mean"], d["sd"]))
    return float(rng.lognormal(d["mean"], d["sigma"]))


def study_fingerprint(study: Study, layers: Any = None) -> str:
    """A short hash of the study file's content, the planner version and the terrain
    classes' rule and class factors (:func:`planner.terrain_classes.rule_key`), and with
    ``layers`` also of the layers' contents, the terrain and the code
    (:func:`planner.cache.inputs_fingerprint`): results of another study, version, terrain
    rule or, with ``layers``, other layer data are never taken for this one's (the tasks
    and the cached route sets, :func:`route_set_path`, hold it; :func:`run_sweep` passes
    the layers)."""
    from planner.terrain_classes import rule_key

    text = (json.dumps(study.raw, sort_keys=True, default=str) + __version__
            + json.dumps(rule_key(), sort_keys=True))
    if layers is not None:
        from planner.cache import inputs_fingerprint

        text += inputs_fingerprint(study, layers)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def sweep_tasks(spec: SweepSpec, study: Study, layers: Any = None) -> list[dict[str, Any]]:
    """The tasks of a sweep: one per scenario and set of values (seeded, reproducible).

    Each task is a dict of ``scenario``, ``study`` (:func:`study_fingerprint`, of the
    ``layers`` too when given) and one value per dimension, keyed by the dimension's
    parameter; excluded countries as a sorted list. A per-route dimension adds
    ``per_route:<parameter>``: ``{"seed": ..., "distribution": ...}`` (or ``"values"``),
    the seed one per sample (the same in every scenario), and the parameter's value is
    always set (its base value when no common dimension varies it), so each route's value
    is that times its :func:`route_multiplier`.
    """
    names = [s.name for s in study.scenarios]
    chosen = list(spec.scenarios) or names
    unknown = [s for s in chosen if s not in names]
    if unknown:
        raise SweepError(str(spec.path), [f"sweep.scenarios: {unknown} are not scenarios "
                                          f"of {study.path.name} ({names})"])
    fuel = "costs.fuel_gas_price_usd_per_1000m3"
    pricing = [s.name for s in study.scenarios if s.name in chosen
               and "supply_price_usd_per_1000m3" in {**study.costs, **s.costs}]
    if pricing and any(d.parameter == fuel for d in spec.dimensions):
        # the appraisal prices fuel at a study's supply price (appraisal.fuel_priced_at_supply)
        raise SweepError(str(spec.path), [
            f"dimensions: {fuel} has no effect in scenarios {pricing}: "
            f"{study.path.name} sets supply_price_usd_per_1000m3 there, which prices the "
            f"fuel too; vary costs.supply_price_usd_per_1000m3 instead"])
    common = [d for d in spec.dimensions if not d.per_route]
    per_route = [d for d in spec.dimensions if d.per_route]
    if spec.design == "grid":
        combos = [dict(zip([d.parameter for d in common], vals, strict=True))
                  for vals in itertools.product(*[d.values for d in common])]
    else:
        rng = np.random.default_rng(spec.seed)
        combos = [{d.parameter: _draw(d, rng) for d in common} for _ in range(spec.samples)]
        # a separate stream: adding a per-route dimension leaves the common draws as they are
        seeds = np.random.SeedSequence(spec.seed).spawn(spec.samples)
        for c, ss in zip(combos, seeds, strict=True):
            task_seed = int(ss.generate_state(1, dtype=np.uint64)[0])
            for d in per_route:
                c[d.key] = ({"seed": task_seed, "distribution": dict(d.distribution)}
                            if d.distribution else {"seed": task_seed, "values": list(d.values)})
    fp = study_fingerprint(study, layers)
    tasks = []
    for scen in chosen:
        for c in combos:
            t: dict[str, Any] = {"scenario": scen, "study": fp}
            for k, v in c.items():
                t[k] = list(v) if isinstance(v, tuple) else v
            t = _absolute(spec, study, t)
            for d in per_route:
                t.setdefault(d.parameter, _base_value(study, _scenario_for(study, t),
                                                      d.parameter[6:]))
            tasks.append(t)
    return tasks


def _scenario_for(study: Study, params: Mapping[str, Any]) -> Scenario:
    base = next(s for s in study.scenarios if s.name == params["scenario"])
    excl = tuple(sorted(set(base.excluded_countries)
                        | set(params.get("excluded_countries", []))))
    return replace(base, excluded_countries=excl)


def routing_key(study: Study, params: Mapping[str, Any]) -> tuple[float, tuple[str, ...]]:
    """What a task's candidate routes depend on: resolution (km) and excluded countries."""
    return (float(params.get("resolution_km", study.resolution_km)),
            _scenario_for(study, params).excluded_countries)


#: Bumped whenever :class:`RouteSet` changes, so cached route sets of older runs are rebuilt.
ROUTE_SET_VERSION = 5  # 4: RouteGeometry.terrain_km; 5: its terrain_km_by_country


@dataclass
class RouteSet:
    """Candidate routes of one routing key with their geometry-only figures."""

    candidates: Any  # GeoDataFrame from planner.runner.generate_candidates
    geometries: list[Any]  # planner.appraisal.RouteGeometry of each candidate
    members: set[str]  # ISO3 codes whose new demand counts (as the study runner's)


def build_route_set(study: Study, layers: Any, key: tuple[float, tuple[str, ...]],
                    progress: bool | None = None, graphs: dict[str, Any] | None = None
                    ) -> RouteSet:
    """Generate the candidates of one routing key (the heavy, once-per-key part);
    ``graphs``: the study's pipeline graphs (:func:`planner.runner.reuse_graphs`), built
    once per sweep."""
    from planner.appraisal import demand_setting, route_geometry
    from planner.runner import (
        check_reachable,
        cost_surface_for,
        drop_excluded,
        generate_candidates,
        reuse_graphs,
    )
    from planner.study import resolve_place

    res, excl = key
    st = replace(study, resolution_km=res)
    scen = Scenario("sweep", excluded_countries=excl)
    surface = cost_surface_for(st, layers, scen)
    origins = [resolve_place(p, layers) for p in st.supply]
    dests = [resolve_place(p, layers) for p in st.destinations]
    check_reachable(st, surface, scen, origins, dests)
    cands = generate_candidates(st, layers, surface, origins, dests, progress,
                                reuse_graphs(st, layers) if graphs is None else graphs)
    # as planner.appraisal.appraise_candidates: members and centres before any is dropped
    members, centres = demand_setting(cands, layers, st)
    cands = drop_excluded(cands, scen).reset_index(drop=True)
    geometries = [route_geometry(row, layers, centres) for _, row in cands.iterrows()]
    return RouteSet(cands, geometries, members)


def route_set_path(study: Study, key: tuple[float, tuple[str, ...]],
                   folder: str | os.PathLike[str], layers: Any = None) -> Path:
    """Where the route set of a routing ``key`` is cached in ``folder``: named by a hash
    of :data:`ROUTE_SET_VERSION`, the :func:`study_fingerprint` (study, version, terrain
    rule; with ``layers`` their contents, the terrain and the code) and the key."""
    h = hashlib.sha256(json.dumps([ROUTE_SET_VERSION, study_fingerprint(study, layers),
                                   key[0], list(key[1])]).encode()).hexdigest()[:16]
    return Path(folder) / f"routes-{h}.pkl"


def _cached_route_set(folder: Path, study: Study, layers: Any,
                      key: tuple[float, tuple[str, ...]], progress: bool | None,
                      graphs: Any = None) -> RouteSet:
    """:func:`build_route_set`, cached in ``folder`` (written atomically)."""
    path = route_set_path(study, key, folder, layers)
    h = path.stem.removeprefix("routes-")
    if path.exists():
        with path.open("rb") as f:
            cached: RouteSet = pickle.load(f)
        return cached
    log.info("generating candidates at %.3g km, excluding %s", key[0], list(key[1]) or "none")
    rs = build_route_set(study, layers, key, progress,
                         graphs() if callable(graphs) else graphs)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".routes-{h}-{uuid.uuid4().hex}.tmp"
    try:
        with tmp.open("wb") as f:
            pickle.dump(rs, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return rs


def _cost_table(params: Mapping[str, Any], base: pd.DataFrame | None = None
                ) -> pd.DataFrame | None:
    """The cost-parameter table (or a copy of ``base``) with the task's values (None when
    it sets none)."""
    from planner.economics import load_cost_parameters

    table_keys = [k for k in params if k.startswith("costs.") and k[6:] not in STUDY_COST_KEYS]
    if not table_keys:
        return None
    t = (load_cost_parameters() if base is None else base).copy()
    for k in table_keys:
        t.loc[k[6:], "value"] = float(params[k])
    return t


def _absolute(spec: SweepSpec, study: Study, task: Mapping[str, Any]) -> dict[str, Any]:
    """A task's parameters with multiplied cost parameters turned into values (the
    scenario's, the study's or the cost table's base value × the multiplier)."""
    out = dict(task)
    scen = _scenario_for(study, task)
    for d in spec.dimensions:
        if d.multiply and not d.per_route:
            out[d.parameter] = float(task[d.parameter]) * _base_value(study, scen,
                                                                      d.parameter[6:])
    return out


def _base_value(study: Study, scen: Scenario, name: str) -> float:
    """A cost parameter's base value: the scenario's, the study's or the cost table's."""
    from planner.appraisal import _study_param
    from planner.economics import DEFAULT_CURRENCY_YEAR, parameter

    base = _study_param(study, scen, name)
    if base is None and name in STUDY_COST_KEYS:
        # taken as the appraisal takes it: escalated to the study's currency year
        base = parameter("fuel_gas_price_usd_per_1000m3"
                         if name == "supply_price_usd_per_1000m3" else name,
                         currency_year=DEFAULT_CURRENCY_YEAR)
    elif base is None:  # a cost-table value, escalated where it is used
        base = parameter(name)
    return float(base)


def appraise_task(params: Mapping[str, Any], shared: Mapping[str, Any]) -> pd.DataFrame:
    """One sweep task: size, cost and rank the fixed candidates of ``params``' routing key
    for one scenario and one set of values.

    ``shared`` holds ``study``, ``layers`` and ``routes`` ({routing key: RouteSet}); the
    result has one row per candidate (:data:`RESULT_COLUMNS`, ``p:<parameter>`` and, for
    each per-route dimension, the route's own multiplier ``route:<parameter>``).
    """
    from planner import scoring
    from planner.appraisal import appraise_route, criteria

    study: Study = shared["study"]
    layers = shared["layers"]
    rs: RouteSet = shared["routes"][routing_key(study, params)]
    scen, table = _task_inputs(study, params)
    scale = float(params.get("throughput_scale", 1.0))
    rows = []
    keep = []
    drawn = []
    for i, (_, row) in enumerate(rs.candidates.iterrows()):
        row = row.copy()
        row["throughput_bcm_y"] = float(row["throughput_bcm_y"]) * scale
        own = route_multipliers(params, str(row["name"]))
        route_scen, route_table = scen, table
        if own:  # this route's copy of the inputs, with its own multipliers
            route_scen, route_table = _task_inputs(
                study, {**params, **{p: float(params[p]) * m for p, m in own.items()}}, table)
        try:
            figures = appraise_route(row, layers, study, route_scen, rs.members,
                                     geometry=rs.geometries[i], params=route_table)
        except ValueError as exc:
            log.info("task %s: candidate %s dropped: %s", dict(params), row["name"], exc)
            continue
        for k in ("country_split", "offtakes"):
            figures.pop(k, None)
        keep.append(i)
        rows.append(figures)
        drawn.append(own)
    cands = rs.candidates.iloc[keep].drop(columns="geometry").reset_index(drop=True)
    figs = pd.DataFrame(rows)
    cands = pd.concat([cands.drop(columns=[c for c in figs if c in cands]), figs], axis=1)
    cands["throughput_bcm_y"] = cands["throughput_bcm_y"] * scale
    cands["route_id"] = [f"c{i}" for i in keep]
    out = pd.DataFrame({"scenario": scen.name, "candidate": cands["name"].astype(str),
                        "destination": cands["destination"].astype(str),
                        "kind": cands["kind"].astype(str),
                        "throughput_bcm_y": cands["throughput_bcm_y"].astype(float),
                        "capex_musd": cands["capex_musd"].astype(float),
                        "tariff_usd_per_1000m3": cands["tariff_usd_per_1000m3"].astype(float),
                        "delivered_cost_usd_per_1000m3":
                            cands["delivered_cost_usd_per_1000m3"].astype(float)})
    if len(cands):
        ranked = scoring.rank(criteria(cands), scen.weight_profile)
        out["score"] = ranked["score"].to_numpy()
        out["rank"] = ranked["rank"].to_numpy().astype(int)
    else:
        out["score"] = pd.Series(dtype=float)
        out["rank"] = pd.Series(dtype=int)
    out["best"] = out["rank"].eq(1)
    for k, v in params.items():
        if k not in ("scenario", "study") and not k.startswith(PER_ROUTE):
            out[f"p:{k}"] = ", ".join(v) if isinstance(v, list) else v
    for k in params:
        if k.startswith(PER_ROUTE):
            par = k[len(PER_ROUTE):]
            out[f"{ROUTE_COLUMN}{par}"] = pd.Series([d[par] for d in drawn], dtype=float)
    return out


def _task_inputs(study: Study, params: Mapping[str, Any], base: pd.DataFrame | None = None
                 ) -> tuple[Scenario, pd.DataFrame | None]:
    """The scenario (with the task's study cost keys) and cost table of ``params`` (a copy
    of ``base`` when given: a route's own inputs from its task's)."""
    scen = _scenario_for(study, params)
    costs = dict(scen.costs)
    costs.update({k[6:]: float(v) for k, v in params.items()
                  if k.startswith("costs.") and k[6:] in STUDY_COST_KEYS})
    return replace(scen, costs=costs), _cost_table(params, base)


# --- running -----------------------------------------------------------------------------


@dataclass
class SweepOutputs:
    """What :func:`run_sweep` wrote."""

    out_dir: Path
    files: dict[str, Path]
    results: pd.DataFrame
    summary: pd.DataFrame
    drivers: pd.DataFrame
    run: Any  # engine.RunSummary
    dashboard: str | None = None


def run_sweep(path: str | Path, out_dir: str | Path | None = None, *,
              scheduler: str | None = None, client: Any = None, n_workers: int = 2,
              serial: bool = False, progress: bool | None = None,
              on_client: Any = None) -> SweepOutputs:
    """Run a sweep file; results go to ``<out>/store``, the summary beside it.

    Parameters
    ----------
    path : sweep TOML file
    out_dir : folder (default ``maps/<sweep name>``); the store in it makes re-runs resume
    scheduler : address of an existing Dask scheduler (``tcp://host:8786``)
    client : an existing ``dask.distributed.Client`` (instead of ``scheduler``)
    n_workers : workers of the ``LocalCluster`` started when neither is given
    serial : run the tasks in this process, without Dask
    on_client : called with the client once it is up (the CLI prints its dashboard)
    """
    from planner.study import layers_for_study
    from planner.sweep import engine
    from planner.sweep.summary import write_summary

    spec = load_sweep(path)
    study = load_study(spec.study_path)
    # the layers are read first: the tasks' fingerprint holds their contents, so a store
    # of results from other layer data is not resumed
    layers = layers_for_study(study)
    tasks = sweep_tasks(spec, study, layers)
    target = Path(out_dir) if out_dir else settings.MAPS_DIR / spec.name
    store = engine.ResultStore(target / "store")
    todo = [t for t in tasks if engine.task_key(t) not in store.done()]
    routes: dict[tuple[float, tuple[str, ...]], RouteSet] = {}
    if todo:
        from functools import cache

        from planner.runner import reuse_graphs

        graphs = cache(lambda: reuse_graphs(study, layers))  # built once, and only if needed
        for key in dict.fromkeys(routing_key(study, t) for t in todo):
            routes[key] = _cached_route_set(target / "routes", study, layers, key, progress,
                                            graphs)
    shared = {"study": study, "layers": layers if todo else None, "routes": routes}

    own = None
    dashboard = None
    if not serial and client is None and todo:
        from distributed import Client

        own = Client(scheduler) if scheduler else engine.local_client(n_workers)
        client = own
    try:
        if client is not None:
            dashboard = engine.dashboard_link(client)
            if on_client is not None:
                on_client(client)
        run = engine.run_tasks(appraise_task, tasks, store, None if serial else client,
                               shared=shared, progress=progress, desc="sweep",
                               write_on="client" if scheduler else "worker")
    finally:
        if own is not None:
            cluster = own.cluster if not scheduler else None
            own.close()
            if cluster is not None:
                cluster.close()
    results = store.read(run.keys)
    files, summary, drivers = write_summary(target, spec, results)
    if run.failed:
        log.warning("%d of %d tasks failed; re-run the sweep to retry them",
                    len(run.failed), run.total)
    return SweepOutputs(target, files, results, summary, drivers, run, dashboard)


__all__ = ["Dimension", "SweepError", "SweepOutputs", "SweepSpec", "appraise_task",
           "build_route_set", "default_sweep_path", "load_sweep", "parse_sweep",
           "route_multiplier", "route_multipliers", "route_set_path", "run_sweep",
           "study_fingerprint", "sweep_tasks"]
