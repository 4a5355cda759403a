"""The ``[plan]`` table of a study file: what the system plan may build and use.

Every option has a default; a study enables the plan with a ``[plan]`` table (``enabled =
false`` turns it off again). Problems are collected and raised once, as a
:class:`planner.study.StudyError` naming the file, line and key.

Example study table::

    [plan]
    scenario = "lowest cost"          # whose costs and exclusions apply (default: the first)
    max_new_km = 4000                 # budget of new pipe, km (default: none)
    excluded_countries = ["TKM"]      # never crossed, new or existing (added to the scenario's)
    must_use = ["Central Asia–Center"]   # existing systems that must carry gas
    forbidden = ["Bukhara–Ural"]      # existing systems the plan may not use
    two_paths = false                 # each destination reachable by two arc-disjoint paths
    pressure_class_mpa = 11.8         # pressure class of new pipe (default: the calibrated one)
    time_limit_s = 60
    mip_gap = 0.01
    threads = 1                       # HiGHS threads (0: HiGHS's default, half the cores)
    spare_share = 1.0                 # share of each line's spare capacity on offer
    spare_bcm_y = { "Central Asia–China" = 0.0 }   # per-system spare capacity (overrides)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from planner.hydraulics import PRESSURE_CLASSES_MPA, STANDARD_DIAMETERS_MM
from planner.study import Study, StudyError, _Checker
from planner.study_schema import did_you_mean

#: The trunk sizes a system plan chooses from: the standard sizes from 508 mm (20 in) up.
#: Fixed here, whatever smaller sizes a single line's design may use: a trunk network
#: needs no 12-18 in pipe, and each size adds binaries to the plan's MILP.
TRUNK_DIAMETERS_MM: tuple[float, ...] = tuple(float(d) for d in STANDARD_DIAMETERS_MM
                                              if d >= 508)


def _design_class() -> float:
    """The highest pressure class of the calibrated design (the studies' new pipe)."""
    from planner.economics import design_defaults

    return float(max(design_defaults()["pressure_classes_mpa"]))  # type: ignore[call-overload]


@dataclass(frozen=True)
class PlanOptions:
    """Options of the system plan (see the module docstring for the study-file keys).

    Attributes
    ----------
    enabled : bool
        Whether the study run writes a plan.
    scenario : str or None
        The scenario whose costs and excluded countries apply (None: the first).
    max_new_km : float or None
        Budget of new pipe, km.
    excluded_countries : tuple of str
        ISO3 codes never crossed (added to the scenario's).
    must_use, forbidden : tuple of str
        Existing systems (``system`` column of the pipelines layer) that must carry at
        least ``must_use_min_bcm_y``, or may not be used.
    must_use_min_bcm_y : float
        Flow a must-use system carries at least, bcm/y.
    two_paths : bool
        Supply security: every destination reachable from a supply point by two
        arc-disjoint paths of the built network.
    pressure_class_mpa : float
        Pressure class (maximum operating pressure) of new pipe; default the highest class
        of the calibrated design studies use (:func:`planner.economics.design_defaults`,
        ``design_max_pressure_class_mpa`` of the cost table, fitted by ``planner backtest
        costs``).
    station_spacing_km : float
        Design spacing of compressor stations on new pipe: each diameter's capacity is the
        flow whose pressure falls from the class to class / ``compression_ratio`` over this
        distance (the closest spacing :func:`planner.hydraulics.size_pipe` accepts).
    compression_ratio : float
        Station discharge over suction pressure.
    diameters_mm : tuple of float
        Standard diameters to choose from (default :data:`TRUNK_DIAMETERS_MM`, from 508 mm).
    time_limit_s, mip_gap : float
        Solver time limit and relative optimality gap at which it stops.
    threads : int
        Threads of every HiGHS solve of the plan (HiGHS's ``threads`` option; 0: HiGHS's
        default, which on the 2-core machine of the measurements runs its parallel tree
        search with 2 workers). Default 1, measured (on the cost basis before the studies
        applied the pipe-cost trend): on the default study the serial search
        ends at a 1.27 % gap when it solves the build relaxation within its share of the
        limit (six runs; 1.56–1.75 % in two later runs where it did not), the two-worker
        search at 2.00–2.58 %, with other jobs on the two cores (load 2–3;
        README, System plan, *HiGHS's threads*; ``benchmarks/plan_long_solve.py
        --threads``).
        HiGHS keeps one scheduler per calling thread, sized at its first run, so each
        solve resets the calling thread's.
    spare_share : float
        Share of an existing line's spare capacity the plan may use, in each direction
        the line may carry gas. The spare capacity is the pipeline graph's
        (:func:`planner.network.spare_capacity`, from the layer's design capacity and
        ``line_flows.csv``): design capacity less the published current flow, and against
        the design flow, only where the line may be reversed, the capacity prepared for
        reverse flow less the published reverse flow (0 elsewhere).
    spare_bcm_y : dict
        Spare capacity per existing system, bcm/y, replacing the graph's (and
        ``spare_share``) in each direction the line may carry gas; it does not open a
        direction the line may not run in.
    unknown_capacity_bcm_y : float
        Capacity of an existing line in a direction no source gives one for: the layer
        has no design capacity, or a reversible line's reverse capacity is not published
        (estimate: a small regional line).
    link_km : float
        Existing-network nodes within this straight-line distance of a supply point or
        destination become points of the candidate corridors.
    hubs : bool
        Add Steiner-like hubs (centroids of the Delaunay triangles of supply points and
        destinations) as points of the candidate corridors.
    reduce : bool
        Apply the exact reductions (contract chains of the existing network, prune dead
        ends, drop dominated diameters); off only for the benchmark's baseline.
    """

    enabled: bool = False
    scenario: str | None = None
    max_new_km: float | None = None
    excluded_countries: tuple[str, ...] = ()
    must_use: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    must_use_min_bcm_y: float = 1.0
    two_paths: bool = False
    pressure_class_mpa: float = field(default_factory=lambda: _design_class())
    station_spacing_km: float = 100.0
    compression_ratio: float = 1.5
    diameters_mm: tuple[float, ...] = TRUNK_DIAMETERS_MM
    time_limit_s: float = 60.0
    mip_gap: float = 0.01
    threads: int = 1
    spare_share: float = 1.0
    spare_bcm_y: dict[str, float] = field(default_factory=dict)
    unknown_capacity_bcm_y: float = 2.0
    link_km: float = 300.0
    hubs: bool = True
    reduce: bool = True


_KEYS = {"enabled", "scenario", "max_new_km", "excluded_countries", "must_use", "forbidden",
         "must_use_min_bcm_y", "two_paths", "pressure_class_mpa", "station_spacing_km",
         "compression_ratio", "diameters_mm", "time_limit_s", "mip_gap", "spare_share",
         "spare_bcm_y", "unknown_capacity_bcm_y", "link_km", "hubs", "threads"}


def plan_options_from_study(study: Study) -> PlanOptions:
    """The study's ``[plan]`` options, validated (every problem reported at once).

    Examples
    --------
    >>> from planner.study import parse_study
    >>> s = parse_study('''
    ... [study]
    ... name = "demo"
    ... [[supply]]
    ... name = "Beyneu"
    ... [[destinations]]
    ... name = "Shymkent"
    ... throughput_bcm_y = 5
    ... [plan]
    ... max_new_km = 2000
    ... ''')
    >>> o = plan_options_from_study(s)
    >>> o.enabled, o.max_new_km
    (True, 2000.0)
    """
    table = study.raw.get("plan")
    if table is None:
        return PlanOptions()
    text = study.path.read_text(encoding="utf-8") if study.path.exists() else ""
    c = _Checker(text)
    if not isinstance(table, dict):
        raise StudyError(str(study.path), ["plan: must be a table [plan]"])
    for k in table:
        if k not in _KEYS:
            c.add(f"plan.{k}", f"unknown option{did_you_mean(k, _KEYS)}; known: "
                  f"{', '.join(sorted(_KEYS))}", k)
    out: dict[str, Any] = {"enabled": True}
    for k in ("enabled", "two_paths", "hubs"):
        if k in table:
            if not isinstance(table[k], bool):
                c.add(f"plan.{k}", f"must be true or false, got {table[k]!r}", k)
            else:
                out[k] = table[k]
    scen = table.get("scenario")
    if scen is not None:
        names = [s.name for s in study.scenarios]
        if scen not in names:
            c.add("plan.scenario", f"must name a scenario of the study ({names}), got {scen!r}",
                  "scenario")
        else:
            out["scenario"] = scen
    for k, hi in (("max_new_km", 1e6), ("must_use_min_bcm_y", 200.0),
                  ("pressure_class_mpa", 20.0), ("station_spacing_km", 1000.0),
                  ("time_limit_s", 3600.0), ("mip_gap", 1.0),
                  ("unknown_capacity_bcm_y", 200.0), ("link_km", 3000.0),
                  ("compression_ratio", 3.0)):
        if k in table:
            v = c.number(table, k, "plan", default=None, maximum=hi)
            if v is not None:
                out[k] = v
    if "threads" in table:
        v = table["threads"]
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 256:
            c.add("plan.threads", f"must be a whole number of threads 0-256 (0: HiGHS's "
                  f"default), got {v!r}", "threads")
        else:
            out["threads"] = v
    if "compression_ratio" in out and out["compression_ratio"] <= 1:
        c.add("plan.compression_ratio", "must be greater than 1", "compression_ratio")
    if "spare_share" in table:
        v = table["spare_share"]
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
            c.add("plan.spare_share", f"must be a number in [0, 1], got {v!r}", "spare_share")
        else:
            out["spare_share"] = float(v)
    for k in ("excluded_countries", "must_use", "forbidden"):
        v = table.get(k, [])
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            c.add(f"plan.{k}", f"must be a list of names, got {v!r}", k)
        else:
            out[k] = tuple(x.upper() for x in v) if k == "excluded_countries" else tuple(v)
    if "diameters_mm" in table:
        v = table["diameters_mm"]
        if (not isinstance(v, list) or not v or not all(
                isinstance(x, int | float) and not isinstance(x, bool) and 100 <= x <= 1600
                for x in v)):
            c.add("plan.diameters_mm", f"must be a list of diameters 100-1600 mm, got {v!r}",
                  "diameters_mm")
        else:
            out["diameters_mm"] = tuple(sorted(float(x) for x in v))
    spare = table.get("spare_bcm_y", {})
    if not isinstance(spare, dict) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) and x >= 0
            for x in spare.values()):
        c.add("plan.spare_bcm_y", "must be a table SYSTEM = bcm/y (numbers >= 0)",
              "spare_bcm_y")
    else:
        out["spare_bcm_y"] = {str(k): float(v) for k, v in spare.items()}
    pc = out.get("pressure_class_mpa")
    if pc is not None and pc not in PRESSURE_CLASSES_MPA:
        c.add("plan.pressure_class_mpa",
              f"must be one of the classes {list(PRESSURE_CLASSES_MPA)}, got {pc}",
              "pressure_class_mpa")
    clash = set(out.get("must_use", ())) & set(out.get("forbidden", ()))
    if clash:
        c.add("plan.must_use", f"systems both required and forbidden: {sorted(clash)}",
              "must_use")
    if c.problems:
        raise StudyError(str(study.path), c.problems)
    return PlanOptions(**out)


__all__ = ["TRUNK_DIAMETERS_MM", "PlanOptions", "plan_options_from_study"]
