"""The system plan as a fixed-charge network-flow MILP (SimCCS; Brimberg et al. 2003).

Choose which new corridors to build and in which standard diameter, and the flows on new
and existing arcs, so that every destination receives its throughput at the least
annualised cost::

    min  Σ_new,k  y[e,k] · (pipe[e,k] · (CRF + pipe O&M) + stations[e,k] · (CRF + compr. O&M))
       + Σ_new,k  (f+[e,k] + f-[e,k]) · L[e] · (compression CAPEX · (CRF + O&M) + fuel)
       + Σ_exist  (x+[e] + x-[e]) · L[e] · tariff · u  (× reverse factor on the direction
                                                         against the design flow only)
    s.t. flow balance at every node (supply points free, destinations their demand)
         f+[e,k] + f-[e,k] ≤ capacity[k] · y[e,k];   Σ_k y[e,k] ≤ 1
         x+[e] ≤ spare capacity u→v [e];   x-[e] ≤ spare capacity v→u [e]
              (each the graph's capacity left that way after the published flows; 0
              against the design flow of a line that cannot be reversed)
         Σ L[e] y[e,k] ≤ budget of new km;  must-use systems carry flow
         (optional) two arc-disjoint paths to every destination over built arcs.

Solver: HiGHS through ``highspy``. The model is a handful of sparse blocks that
scipy.sparse assembles directly (no xarray/linopy model layer to build per solve, which
matters when the coalition game solves many restricted plans). ``highspy`` rather than
:func:`scipy.optimize.milp` (used before, and still for ``reduce=False``, the benchmark's
plain model) because the solve starts from a first plan (``Highs.setSolution``), which
scipy's interface does not offer: the cheaper of the MILP restricted to the arcs its LP
relaxation builds and the *build relaxation*'s network (one binary per new arc, diameters
continuous) given standard diameters (:func:`_solve_highs`). On the default study HiGHS's
own heuristics find plans about 9 % dearer within the 60 s limit. The build relaxation's
bound is the plan's best, so it gets most of the time and a tighter gap of its own. The
plan reports status, objective and ``mip_gap`` (the build relaxation's bound counts), with
a time limit and a relative-gap stop. The tight big-M (a diameter's capacity capped at the
total demand) is the only change to the rows; a disaggregated (one commodity per
destination, also with per-diameter linking rows) formulation, cut-set inequalities, the
incremental diameter encoding and slope-scaling starts were measured and left out (README,
"System plan").

Capacity of a new pipe of diameter D at the study's pressure class P: the flow whose
pressure falls from P to P / compression ratio over the design station spacing
(:func:`planner.hydraulics.pipe_capacity_bcm_y`, level ground). Compression is charged per
unit of flow and km at that design point (stations every spacing km, each with the duty of
:func:`planner.hydraulics.compressor_duty`): an upper bound for pipes run below capacity.
Pipe CAPEX carries the Barlow wall at the class and each station's fitted fixed cost (one
per spacing km built), as the studies' design (:func:`planner.economics.cheapest_design`),
and the pipe regressions' per-project intercept once per new arc (a corridor between
branch points once :func:`planner.plan.candidates.contract_new_chains` has merged its
pieces);
the class defaults to the calibrated design's highest (:class:`PlanOptions`). As in the
route tables, the line pipe takes the fitted pipe-cost trend at the study's currency year
(:func:`diameter_options`) and the arc's terrain factor (:func:`arc_terrain_factors`: the
fitted terrain-class factors over its km per class; the stations' fixed cost not), and
a new arc's CAPEX (pipe and stations) and compression the km-weighted regional factor of
its countries (:func:`arc_regional_factors`).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from planner import economics, hydraulics
from planner.network import NetworkParams
from planner.plan import tree_dp
from planner.plan.candidates import PlanNetwork, directed_capacity
from planner.plan.options import PlanOptions
from planner.terrain_classes import TERRAIN_CLASSES, TerrainClassError, terrain_factor_from_km

log = logging.getLogger(__name__)

#: HiGHS's model statuses that mean it failed (no answer about the model).
_HIGHS_ERRORS = ("kNotset", "kLoadError", "kModelError", "kPresolveError", "kSolveError",
                 "kPostsolveError", "kUnknown", "kMemoryLimit", "kModelEmpty")
#: HiGHS's model statuses where it stopped at a limit: its feasible point, if any, is a
#: plan (status "time limit", not proven), none is no answer either way.
_HIGHS_LIMITS = ("kTimeLimit", "kIterationLimit", "kSolutionLimit", "kObjectiveBound",
                 "kObjectiveTarget", "kInterrupt", "kHighsInterrupt")


@dataclass(frozen=True)
class PlanEconomics:
    """Economic parameters of the plan (defaults from the cost parameter table).

    Attributes
    ----------
    discount_rate, lifetime_years, utilisation : float
    fuel_price_usd_per_1000m3 : float
    tariff_usd_per_1000m3_100km : float
        Tariff paid for transport on existing lines (escalated to the currency year).
    reverse_factor : float
        Extra factor on that tariff against the design flow
        (:class:`planner.network.NetworkParams`, an estimate).
    """

    discount_rate: float
    lifetime_years: float
    utilisation: float
    fuel_price_usd_per_1000m3: float
    tariff_usd_per_1000m3_100km: float
    reverse_factor: float = NetworkParams().reverse_factor
    pipeline_om_share: float = 0.015
    compressor_om_share: float = 0.04
    compressor_usd_per_kw: float = 0.0

    @property
    def crf(self) -> float:
        return economics.capital_recovery_factor(self.discount_rate, self.lifetime_years)

    @classmethod
    def from_costs(cls, costs: dict[str, float] | None = None) -> PlanEconomics:
        """From study/scenario ``[costs]`` overrides and the parameter table."""
        c = dict(costs or {})
        yr = economics.DEFAULT_CURRENCY_YEAR

        def p(name: str, money: bool = False) -> float:
            if name in c:
                return float(c[name])
            return float(economics.parameter(name, currency_year=yr) if money
                         else economics.parameter(name))

        price = (float(c["supply_price_usd_per_1000m3"]) if "supply_price_usd_per_1000m3" in c
                 else p("fuel_gas_price_usd_per_1000m3", True))
        return cls(
            discount_rate=p("discount_rate"), lifetime_years=p("lifetime_years"),
            utilisation=p("utilisation"), fuel_price_usd_per_1000m3=price,
            tariff_usd_per_1000m3_100km=p("existing_transit_tariff_usd_per_1000m3_per_100km",
                                          True),
            pipeline_om_share=p("pipeline_fixed_om_share"),
            compressor_om_share=p("compressor_fixed_om_share"),
            compressor_usd_per_kw=economics.compressor_capex_usd(1.0, currency_year=yr),
        )


def diameter_options(options: PlanOptions, total_demand_bcm_y: float | None = None,
                     gas: hydraulics.Gas | None = None) -> pd.DataFrame:
    """Capacity, CAPEX terms and compression per standard diameter at the pressure class.

    With ``total_demand_bcm_y`` (and ``options.reduce``) diameters above the smallest one
    that carries the whole demand are dropped (dominated: dearer, never needed).

    Returns
    -------
    pandas.DataFrame
        ``diameter_mm``, ``wall_mm``, ``capacity_bcm_y``, ``capex_fixed_usd``,
        ``pipe_usd_per_km`` (flat land; times the arc's terrain factor),
        ``station_usd_per_km`` (the stations' fixed cost per km, not times the terrain
        factor, as in the route tables and the cost backtest) and ``capex_usd_per_km``
        (their sum); all times the arc's regional factor. ``capex_fixed_usd`` is the NETL
        regressions' constant terms, a per-project intercept, charged once per new arc
        (pipe: times the terrain factor);
        both in USD of :data:`planner.economics.DEFAULT_CURRENCY_YEAR` with the line pipe
        (not the stations) times the fitted pipe-cost trend at that year, as studies cost
        new pipe (:func:`planner.economics.pipe_cost_trend_factor`; a calibration of the
        trend on US lines only gives plan arcs no trend),
        ``compressor_kw_per_bcm_km``, ``fuel_per_bcm_km`` (bcm fuel per bcm carried, per km).

    Examples
    --------
    >>> t = diameter_options(PlanOptions(), total_demand_bcm_y=10)
    >>> t["diameter_mm"].tolist()[:2], bool(t["capacity_bcm_y"].is_monotonic_increasing)
    ([508.0, 610.0], True)
    """
    gas = gas or hydraulics.Gas()
    p_max = options.pressure_class_mpa * 10.0
    p_min = p_max / options.compression_ratio
    station_fixed = economics.parameter("compressor_station_fixed_usd",
                                        currency_year=economics.DEFAULT_CURRENCY_YEAR)
    trend = economics.pipe_cost_trend_factor(economics.DEFAULT_CURRENCY_YEAR)
    rows = []
    for d in options.diameters_mm:
        pipe = hydraulics.Pipe.for_pressure(d, options.pressure_class_mpa)
        cap = hydraulics.pipe_capacity_bcm_y(pipe, p_max, p_min,
                                             length_km=options.station_spacing_km, gas=gas)
        duty = hydraulics.compressor_duty(cap, p_min, p_max, gas=gas)
        # as the studies' design (economics.cheapest_design): steel of the Barlow wall at
        # the class, and each station's fitted fixed cost, one per spacing km of new pipe
        wall = pipe.wall_thickness_mm
        c1 = trend * float(economics.pipeline_capex_usd(d, 1.0, wall_thickness_mm=wall)["total"])
        c2 = trend * float(economics.pipeline_capex_usd(d, 2.0, wall_thickness_mm=wall)["total"])
        per_km = options.station_spacing_km * cap
        rows.append({
            "diameter_mm": float(d), "wall_mm": wall, "capacity_bcm_y": cap,
            "capex_fixed_usd": c1 - (c2 - c1),
            "pipe_usd_per_km": c2 - c1,
            "station_usd_per_km": station_fixed / options.station_spacing_km,
            "capex_usd_per_km": c2 - c1 + station_fixed / options.station_spacing_km,
            "compressor_kw_per_bcm_km": duty.driver_power_kw / per_km,
            "fuel_per_bcm_km": hydraulics.m3_per_day_to_bcm_y(duty.fuel_m3_per_day) / per_km,
        })
    t = pd.DataFrame(rows).sort_values("diameter_mm").reset_index(drop=True)
    if options.reduce and total_demand_bcm_y is not None:
        big = np.flatnonzero(t["capacity_bcm_y"].to_numpy() >= total_demand_bcm_y)
        if len(big):
            t = t.iloc[: big[0] + 1].reset_index(drop=True)
    return t


@dataclass
class PlanResult:
    """A solved plan.

    Attributes
    ----------
    status : str
        "optimal"; "time limit" (best found, see ``mip_gap``; without a plan, NaN cost,
        when none was found within the limit); "infeasible"; "unbounded"; "error" (HiGHS
        failed and no plan came out). Only the first two with a finite cost are
        :attr:`ok`.
    objective_musd_y : float
        Annualised cost (CAPEX × CRF + OPEX + fuel + tariffs), million USD per year.
    mip_gap : float
        Relative gap between the solution and the best bound (0 when optimal).
    solve_s : float
    n_variables, n_constraints, n_binaries : int
    arcs : pandas.DataFrame
        Every arc with a flow: ``arc_id``, ``from``, ``to`` (in the flow's direction),
        ``kind``, ``system``, ``reverse``, ``length_km``, ``diameter_mm``, ``flow_bcm_y``,
        ``capex_musd``, ``annual_musd_y`` and its parts, ``km_by_country``, ``country``.
    served : dict
        Destination → served (1/0), for plans where serving is optional.
    value_musd_y : float
        Value of the destinations served (prize mode).
    bounds : dict
        Valid lower bounds of the plan's cost by where they come from (``milp``: HiGHS's
        on the full MILP; ``build``: the build relaxation's; ``tree``: the concave tree
        relaxation's, :func:`planner.plan.tree_dp.concave_bound`, only with
        ``solve_plan(..., tree_bound=True)``); the gap counts the best. Empty when the
        model was solved by :func:`scipy.optimize.milp`.
    message : str
        What went wrong, when HiGHS failed on one of the solve's models or stopped at a
        limit other than time (which model and HiGHS's wording of its status, e.g.
        "HiGHS failed on the full MILP: Solve error"), or found no plan within the time
        limit; empty otherwise. Beside a plan it says the plan survived the failure
        (the failed run's bound dropped, its feasible point or a first plan kept).
    """

    status: str
    objective_musd_y: float
    mip_gap: float
    solve_s: float
    n_variables: int
    n_constraints: int
    n_binaries: int
    arcs: pd.DataFrame
    served: dict[str, float] = field(default_factory=dict)
    value_musd_y: float = 0.0
    bounds: dict[str, float] = field(default_factory=dict)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("optimal", "time limit") and np.isfinite(self.objective_musd_y)

    def summary(self) -> dict[str, Any]:
        out = {"status": self.status, "objective_musd_y": self.objective_musd_y,
               "mip_gap": self.mip_gap, "solve_s": self.solve_s,
               "lower_bound_musd_y": (max(self.bounds.values()) if self.bounds else None),
               "n_variables": self.n_variables, "n_constraints": self.n_constraints,
               "n_binaries": self.n_binaries}
        if self.message:
            out["message"] = self.message
        return out


class _Builder:
    """Sparse constraint rows collected block by block."""

    def __init__(self) -> None:
        self.r: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.lb: list[float] = []
        self.ub: list[float] = []

    def row(self, cols: np.ndarray, vals: np.ndarray, lb: float, ub: float) -> None:
        i = len(self.lb)
        self.r.append(np.full(len(cols), i))
        self.c.append(np.asarray(cols, dtype=int))
        self.v.append(np.asarray(vals, dtype=float))
        self.lb.append(lb)
        self.ub.append(ub)

    def matrix(self, n: int) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        if not self.lb:
            return sp.csr_matrix((0, n)), np.zeros(0), np.zeros(0)
        a = sp.csr_matrix((np.concatenate(self.v), (np.concatenate(self.r),
                                                    np.concatenate(self.c))),
                          shape=(len(self.lb), n))
        return a, np.array(self.lb), np.array(self.ub)


def ex_capacities(arcs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Capacity from ``u`` to ``v`` and from ``v`` to ``u`` of each arc
    (:func:`planner.plan.candidates.directed_capacity`; NaN, unknown, as 0)."""
    if len(arcs) == 0:
        return np.zeros(0), np.zeros(0)
    caps = np.asarray([directed_capacity({str(k): v for k, v in r.items()})
                       for r in arcs.to_dict("records")], dtype=np.float64)
    caps = np.nan_to_num(np.maximum(caps, 0.0), nan=0.0)
    return caps[:, 0].copy(), caps[:, 1].copy()


#: Share of the time limit for a first plan on the arcs the LP relaxation builds.
START_TIME_SHARE = 0.1
#: Share of the time limit for the build relaxation (which arcs, diameters continuous).
#: 0.85, measured on the default study (README, System plan, *On the current cost basis*):
#: its bound and its arcs' plan are the solve's best within 60 s; the full MILP's bound
#: after it stays far below (0.6 before; 2.10-2.23 % gaps at 0.85 against 2.47-3.97 %).
BUILD_TIME_SHARE = 0.85
#: The build relaxation's own relative gap, as a share of the plan's: its bound is the
#: plan's best (HiGHS's bound of the full MILP is far weaker within the limit).
BUILD_GAP_SHARE = 0.1
#: Share of the time limit for the concave tree relaxation's bound (its DP runs).
TREE_BOUND_SHARE = 0.03
#: Seconds of the time limit no HiGHS run is given: HiGHS checks its limit between steps
#: and ends a little after it (0.02-0.08 s past 60 s on the default study's full MILP,
#: issue 15), so each run gets at most the time left less this (:func:`_time_left`).
HIGHS_OVERRUN_S = 0.2


def _time_left(t0: float, limit: float) -> float:
    """Seconds a HiGHS run may take of a solve started at ``t0`` (``time.perf_counter``)
    with ``limit`` seconds: the time left less :data:`HIGHS_OVERRUN_S`; a run gets no
    more than this, and none when it is not positive."""
    return limit - (time.perf_counter() - t0) - HIGHS_OVERRUN_S


#: Whether this process has made a ``highspy.Highs`` (its first prints HiGHS's banner).
_HIGHS_MADE = False
#: Held while the first ``Highs`` is made with fd 1 swapped out: two threads swapping at
#: once could restore each other's /dev/null and leave standard output closed off for good.
_HIGHS_FIRST_LOCK = threading.Lock()


def _new_highs() -> Any:
    """A ``highspy.Highs``; the first of a process is made with standard output closed off at
    the file descriptor, since HiGHS prints its banner ("Running HiGHS ... Copyright") from
    C++ before ``output_flag`` can be set, into the middle of a CLI run's output."""
    global _HIGHS_MADE
    import highspy

    if _HIGHS_MADE:
        return highspy.Highs()
    with _HIGHS_FIRST_LOCK:
        if _HIGHS_MADE:  # made by another thread while this one waited
            return highspy.Highs()
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                try:
                    h = highspy.Highs()
                finally:
                    os.dup2(saved, 1)
        finally:
            os.close(saved)
        _HIGHS_MADE = True
    return h


def _highs_model(c: np.ndarray, lo: np.ndarray, hi: np.ndarray, a_mat: sp.spmatrix,
                 lb: np.ndarray, ub: np.ndarray, integ: np.ndarray | None = None,
                 threads: int | None = None) -> Any:
    """A ``highspy.Highs`` holding the model (``integ``: integer columns; default none;
    ``threads``: HiGHS's option, default HiGHS's own; see :func:`_size_thread_pool`)."""
    import highspy

    h = _new_highs()
    h.setOptionValue("output_flag", False)
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    lp = highspy.HighsLp()
    a = sp.csc_matrix(a_mat)
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = c, lo, hi
    lp.row_lower_, lp.row_upper_ = lb, ub
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_ = a.indptr, a.indices
    lp.a_matrix_.value_ = a.data
    if integ is not None:
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else
                           highspy.HighsVarType.kContinuous for i in integ]
    h.passModel(lp)
    return h


def _build_relaxation(c: np.ndarray, integ: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                      a_mat: sp.spmatrix, lb: np.ndarray, ub: np.ndarray, ycols: np.ndarray,
                      threads: int | None = None, exact: np.ndarray | None = None) -> Any:
    """The build relaxation as a ``highspy.Highs``: the MILP's columns, then one binary
    ``z[e] = Σ_k y[e,k]`` per new arc (``ycols``: arcs × diameters), the diameters ``y``
    continuous (a mix of capacities and costs) except on the arcs ``exact`` (a boolean per
    arc; default none), which keep their integer diameters. Either way a relaxation of the
    MILP, so its dual bound is a bound of the plan; a MILP plan is a point of it with
    ``z`` the sum of its diameter binaries.

    Raises
    ------
    ValueError
        When ``exact`` is not a boolean array with one entry per new arc.
    """
    n, nn, nk = len(c), ycols.shape[0], ycols.shape[1]
    if exact is not None:
        e = np.asarray(exact)
        if e.dtype != np.bool_ or e.shape != (nn,):
            raise ValueError(f"build relaxation: exact must be a boolean array of shape "
                             f"({nn},), one per new arc; got dtype {e.dtype}, shape {e.shape}")
    link = sp.csr_matrix((np.tile(np.r_[np.ones(nk), -1.0], nn),
                          (np.repeat(np.arange(nn), nk + 1),
                           np.c_[ycols, n + np.arange(nn)].ravel())), shape=(nn, n + nn))
    a_b = sp.vstack([sp.hstack([a_mat, sp.csr_matrix((a_mat.shape[0], nn))]), link])
    relaxed = ycols if exact is None else ycols[~np.asarray(exact)]
    integ_b = np.r_[np.where(np.isin(np.arange(n), relaxed), 0, integ), np.ones(nn)]
    return _highs_model(np.r_[c, np.zeros(nn)], np.r_[lo, np.zeros(nn)],
                        np.r_[hi, np.ones(nn)], a_b, np.r_[lb, np.zeros(nn)],
                        np.r_[ub, np.zeros(nn)], integ_b, threads=threads)


def _size_thread_pool() -> None:
    """Let the next HiGHS run size HiGHS's thread pool by its own ``threads`` option.

    HiGHS 1.16 keeps one scheduler per calling thread, sized at that thread's first run;
    a later run in the same thread asking for another number of threads fails (status
    error, no solution). So each plan solve drops the calling thread's scheduler first
    (``Highs.resetGlobalScheduler``); solves in other threads keep theirs.
    """
    import highspy

    highspy.Highs.resetGlobalScheduler(True)


def _warn(messages: list[str] | None, text: str) -> None:
    """A solver note for the plan's ``message``, also logged as a warning."""
    log.warning("plan: %s", text)
    if messages is not None:
        messages.append(text)


def _highs_failed(h: Any, model: str, messages: list[str] | None) -> bool:
    """Whether HiGHS failed on ``h``'s last run (a status of :data:`_HIGHS_ERRORS`); if so
    a warning naming ``model`` and HiGHS's status goes to the log and to ``messages``."""
    import highspy

    st = h.getModelStatus()
    if st not in [getattr(highspy.HighsModelStatus, k) for k in _HIGHS_ERRORS]:
        return False
    _warn(messages, f"HiGHS failed on the {model}: {h.modelStatusToString(st)}")
    return True


def _highs_status(h: Any, model: str, messages: list[str]) -> str:
    """The plan's status word for ``h``'s last run (of ``model``).

    ``optimal``, ``time limit`` (any of :data:`_HIGHS_LIMITS`: stopped at a limit, its
    feasible point, if any, not proven; a limit other than time is named in
    ``messages``), ``infeasible``, ``unbounded``, else ``error`` (HiGHS failed, or a status
    this code does not know) with HiGHS's own wording of the status in ``messages`` and a
    warning. "Primal infeasible or unbounded" counts as ``infeasible`` (every cost of the
    plan's model is bounded below), with the wording in ``messages``.
    """
    import highspy

    ms = highspy.HighsModelStatus
    st = h.getModelStatus()
    text = h.modelStatusToString(st)
    if st == ms.kOptimal:
        return "optimal"
    if st in [getattr(ms, k) for k in _HIGHS_LIMITS if hasattr(ms, k)]:
        if st != ms.kTimeLimit:
            _warn(messages, f"HiGHS stopped the {model} at a limit: {text}")
        return "time limit"
    if st == ms.kInfeasible:
        return "infeasible"
    if st == ms.kUnbounded:
        return "unbounded"
    if st == ms.kUnboundedOrInfeasible:
        messages.append(f"HiGHS on the {model}: {text} (the plan's cost is bounded below: "
                        "infeasible)")
        return "infeasible"
    _warn(messages, f"HiGHS failed on the {model}: {text}")
    return "error"


def _milp_status(code: int, text: str, has_plan: bool, messages: list[str]) -> str:
    """The plan's status word for :func:`scipy.optimize.milp`'s ``status`` and ``message``
    (HiGHS's own status is in the message), given whether it returned a point.

    scipy reports HiGHS's "Model error" as 2 (infeasible) and every other failure, and the
    objective limits, as 4: the message tells them apart. A point with status 4 is still
    a plan (``time limit``: found, not proven). A failure or a limit goes to ``messages``
    (and a warning).

    Examples
    --------
    >>> notes = []
    >>> _milp_status(2, "(HiGHS Status 2: Model error)", False, notes), notes
    ('error', ['HiGHS (scipy.optimize.milp) failed on the MILP: (HiGHS Status 2: Model error)'])
    >>> _milp_status(1, "Time limit reached. (HiGHS Status 13: ...)", True, [])
    'time limit'
    """
    where = "HiGHS (scipy.optimize.milp)"
    if code == 0:
        return "optimal"
    if code == 1:
        if not has_plan:
            messages.append(f"{where} found no plan within the limit: {text}")
        elif "time limit" not in text.lower():
            messages.append(f"{where} stopped at a limit: {text}")
        return "time limit"
    if code == 2 and "infeasible" in text.lower():
        return "infeasible"
    if code == 3:
        return "unbounded"
    if code == 4 and "unbounded or infeasible" in text.lower():
        messages.append(f"{where}: {text} (the plan's cost is bounded below: infeasible)")
        return "infeasible"
    if has_plan:
        _warn(messages, f"{where} stopped with a plan, not proven: {text}")
        return "time limit"
    _warn(messages, f"{where} failed on the MILP: {text}")
    return "error"


def _feasible(x: np.ndarray, integ: np.ndarray, lo: np.ndarray, hi: np.ndarray,
              a_mat: sp.spmatrix, lb: np.ndarray, ub: np.ndarray, tol: float = 1e-6) -> bool:
    """Whether ``x`` is a point of the MILP (bounds, rows and integrality within ``tol``,
    relative to each row's scale): a point a failed HiGHS run left is used only then.

    Examples
    --------
    >>> a = sp.csr_matrix(np.array([[1.0, 1.0]]))
    >>> one = np.ones(1)
    >>> _feasible(np.array([1.0, 0.5]), np.array([1, 0]), np.zeros(2), np.ones(2), a,
    ...           one, 2 * one)
    True
    >>> _feasible(np.array([0.5, 0.5]), np.array([1, 0]), np.zeros(2), np.ones(2), a,
    ...           one, 2 * one)
    False
    """
    x = np.asarray(x, dtype=float)
    if x.shape != lo.shape or not np.isfinite(x).all():
        return False
    if (x < lo - tol).any() or (x > hi + tol).any():
        return False
    on = np.asarray(integ) > 0
    if (np.abs(x[on] - np.round(x[on])) > tol).any():
        return False
    if a_mat.shape[0] == 0:
        return True
    ax = a_mat @ x
    scale = tol * np.maximum(1.0, abs(a_mat) @ np.abs(x))
    return bool(((ax >= lb - scale) & (ax <= ub + scale)).all())


def _run(h: Any, time_limit: float, start: np.ndarray | None = None
         ) -> tuple[np.ndarray | None, float, float]:
    """Run ``h`` (from ``start``) for at most ``time_limit`` seconds (the solve skips a run
    with no time left; a negative limit is run as 0, since HiGHS refuses one and would
    keep the previous limit); its solution (None without one), objective and bound.

    Whether there is a solution is HiGHS's ``primal_solution_status`` (feasible), whatever
    the model status: a run that ends in a failure can still leave a feasible point."""
    import highspy

    h.setOptionValue("time_limit", max(0.0, float(time_limit)))
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = list(start)
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    info = h.getInfo()
    if info.primal_solution_status != 2:  # kSolutionStatusFeasible
        return None, float("inf"), float(info.mip_dual_bound)
    return (np.asarray(h.getSolution().col_value), float(info.objective_function_value),
            float(info.mip_dual_bound))


@dataclass
class _FirstPlan:
    """The plan's MILP in one ``highspy.Highs`` after its LP relaxation, and the first
    plan on the arcs that LP builds (:func:`_first_plan`).

    Attributes
    ----------
    h
        The MILP (binaries integer again, ``mip_rel_gap`` set) for the later runs.
    lp_ok
        Whether the LP relaxation has a point to take arcs from.
    lp_arcs
        The new arcs the LP relaxation builds (a boolean per arc; none without ``lp_ok``).
    x, obj
        The first plan (None, inf without one).
    """

    h: Any
    lp_ok: bool
    lp_arcs: np.ndarray
    x: np.ndarray | None
    obj: float
    ycols: np.ndarray
    integ: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    a_mat: sp.spmatrix
    lb: np.ndarray
    ub: np.ndarray
    c: np.ndarray
    messages: list[str] | None = None
    #: Whether HiGHS proved the LP relaxation infeasible (so the MILP is too).
    lp_infeasible: bool = False

    def restricted(self, built: np.ndarray, time_limit: float
                   ) -> tuple[np.ndarray | None, float]:
        """The MILP with new pipe only on the arcs ``built``, within ``time_limit``: its
        plan (None without one, or without time, ``time_limit`` ≤ 0; a point a failed run
        left only if it is a plan, :func:`_feasible`) and cost."""
        off = self.ycols[~built].ravel().astype(np.int32)
        if not len(off) or time_limit <= 0:
            return None, float("inf")
        h = self.h
        h.changeColsBounds(len(off), off, np.zeros(len(off)), np.zeros(len(off)))
        x, obj, _ = _run(h, time_limit)
        failed = _highs_failed(h, f"MILP restricted to {int(built.sum())} new arcs",
                               self.messages)
        h.changeColsBounds(len(off), off, self.lo[off], self.hi[off])
        if failed:
            x, obj = self.kept(x)
        return x, obj

    def kept(self, x: np.ndarray | None) -> tuple[np.ndarray | None, float]:
        """A failed run's point: kept only if it is a plan (:func:`_feasible`), costed
        from the point (the run's reported cost may be stale); else None, inf."""
        if x is None or not _feasible(x, self.integ, self.lo, self.hi, self.a_mat, self.lb,
                                      self.ub):
            return None, float("inf")
        return x, float(self.c @ x)


def _first_plan(c: np.ndarray, integ: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                a_mat: sp.spmatrix, lb: np.ndarray, ub: np.ndarray, options: PlanOptions,
                ycols: np.ndarray, messages: list[str] | None = None,
                t0: float | None = None) -> _FirstPlan:
    """The LP relaxation (within the time left of the limit, counted from ``t0``, default
    now: :func:`_time_left`), then the MILP restricted to the new arcs it builds within
    :data:`START_TIME_SHARE` of the limit (at most the time left): the first steps of
    :func:`_solve_highs` (and of the benchmark's variants of it). No time left: no run,
    no arcs, no first plan.

    A failed LP relaxation (:data:`_HIGHS_ERRORS`) gives no arcs and a message; one that
    ends "Unknown" with a feasible point (HiGHS's simplex stopping on its anti-cycling
    test with a tiny dual infeasibility, ERGO-Code/HiGHS#2108) is used: its point only
    picks the arcs of a first plan, it gives no bound.
    """
    import highspy

    limit = options.time_limit_s
    t0 = time.perf_counter() if t0 is None else t0
    h = _highs_model(c, lo, hi, a_mat, lb, ub, threads=options.threads)
    left = _time_left(t0, limit)  # the LP relaxation counts in the limit
    lp_ok = lp_infeasible = False
    if left > 0:
        h.setOptionValue("time_limit", left)
        h.run()
        st = h.getModelStatus()
        lp_ok = st == highspy.HighsModelStatus.kOptimal
        lp_infeasible = st == highspy.HighsModelStatus.kInfeasible
        if (st == highspy.HighsModelStatus.kUnknown
                and h.getInfo().primal_solution_status == 2):  # kSolutionStatusFeasible
            log.info("plan: the LP relaxation ended %r with a feasible point (HiGHS #2108); "
                     "its arcs are used", h.modelStatusToString(st))
            lp_ok = True
        else:
            _highs_failed(h, "LP relaxation", messages)
    x_lp = np.asarray(h.getSolution().col_value)
    binaries = np.flatnonzero(integ).astype(np.int32)
    h.changeColsIntegrality(len(binaries), binaries,
                            np.full(len(binaries), highspy.HighsVarType.kInteger))
    h.setOptionValue("mip_rel_gap", options.mip_gap)
    lp_arcs = (x_lp[ycols].sum(axis=1) > 1e-6 if lp_ok and ycols.size and len(x_lp) == len(c)
               else np.zeros(ycols.shape[0], bool))
    first = _FirstPlan(h, lp_ok, lp_arcs, None, float("inf"), ycols, integ, lo, hi, a_mat,
                       lb, ub, np.asarray(c, float), messages, lp_infeasible)
    if lp_arcs.any():
        first.x, first.obj = first.restricted(
            lp_arcs, min(START_TIME_SHARE * limit, _time_left(t0, limit)))
    return first


def _solve_highs(c: np.ndarray, integ: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                 a_mat: sp.csr_matrix, lb: np.ndarray, ub: np.ndarray, options: PlanOptions,
                 ycols: np.ndarray, t0: float, tree_arcs: tree_dp.PlanArcs | None = None,
                 bounds: dict[str, float] | None = None, messages: list[str] | None = None
                 ) -> tuple[str, np.ndarray | None, float]:
    """The MILP through ``highspy``, started from the better of two first plans.

    1. The MILP with new pipe allowed only on the arcs its LP relaxation builds
       (``ycols``: the diameter binaries, arcs × diameters; a few dozen of the hundreds of
       arcs), within :data:`START_TIME_SHARE` of the time limit (:func:`_first_plan`).
    2. The *build relaxation*: one binary per new arc (built or not) and its diameters
       continuous (a mix of capacities and costs), within :data:`BUILD_TIME_SHARE`;
       HiGHS branches on hundreds of build decisions instead of
       thousands of diameter binaries, and finds far better networks. Its arcs then get
       standard diameters in the MILP restricted to them (plan 2). Its dual bound is a
       bound of the plan too (a relaxation), and counts in the reported gap.

    With ``tree_arcs`` (:mod:`planner.plan.tree_dp`; :func:`solve_plan` passes them only
    with ``tree_bound``, off by default) the concave tree relaxation's
    Lagrangian bound (:func:`planner.plan.tree_dp.concave_bound`), within
    :data:`TREE_BOUND_SHARE`, counts in the gap with the others. (The subset DP's tree
    plans, :func:`planner.plan.tree_dp.tree_plan`, are no first plan here: on the default
    study their arcs with standard diameters cost 1,481–1,502 M USD/y against the build
    relaxation's 1,471.2, with 6–10 s of MILP on their arcs; README, "Solving it".)

    The full MILP then starts from the cheaper plan (``Highs.setSolution``, which
    :func:`scipy.optimize.milp` does not offer) for the time left.

    Every run gets at most the time left of ``options.time_limit_s`` counted from ``t0``,
    less :data:`HIGHS_OVERRUN_S` (:func:`_time_left`), and a run with no time left is
    skipped, so the HiGHS runs end within the limit (the optional tree bound checks its
    share between DP passes only). An LP relaxation HiGHS proves infeasible returns
    ``infeasible`` at once (no point of the MILP either).

    Returns status, solution (None without one) and relative gap; ``bounds`` (when
    given) receives each valid lower bound by name (``milp``, ``build``, ``tree``).
    Where HiGHS fails on a model (:data:`_HIGHS_ERRORS`) a warning names it and HiGHS's
    status (also into ``messages``, when given) and the solve goes on without that run's
    bound; a feasible point the failed run left is still a plan (:func:`_feasible`), as
    are the first plans. Status ``error`` when no plan comes out of a failure, ``time
    limit`` (and no solution) when none comes out within the limit.
    """
    messages = [] if messages is None else messages
    limit = options.time_limit_s
    _size_thread_pool()
    first = _first_plan(c, integ, lo, hi, a_mat, lb, ub, options, ycols, messages, t0)
    if first.lp_infeasible:  # no point of the LP relaxation: none of the MILP either
        return "infeasible", None, float("nan")
    h, lp_ok = first.h, first.lp_ok
    best, best_obj, bound = first.x, first.obj, -float("inf")
    if first.lp_arcs.any():
        log.info("plan: first plan on the %d arcs the LP builds: %.1f MUSD/y (%.1f s)",
                 int(first.lp_arcs.sum()), best_obj, time.perf_counter() - t0)
    if lp_ok and ycols.size:
        n = len(c)
        # within the limit: the restricted MILP on its arcs and about 1 s of the full MILP
        # after it (the model is built only when there is time to run it)
        build_s = min(BUILD_TIME_SHARE * limit,
                      _time_left(t0, limit) - START_TIME_SHARE * limit - 1.0)
        x_b: np.ndarray | None = None
        if build_s > 0:
            hb = _build_relaxation(c, integ, lo, hi, a_mat, lb, ub, ycols, options.threads)
            hb.setOptionValue("mip_rel_gap", BUILD_GAP_SHARE * options.mip_gap)
            # (no start here: HiGHS 1.16 maps a start of this model wrongly into its
            # presolved space and then stops "optimal" at a cost below the start's)
            x_b, obj_b, bound = _run(hb, build_s)
            if _highs_failed(hb, "build relaxation", messages):
                bound = -float("inf")  # no bound from a failed run (its arcs still a guess)
        if x_b is not None:
            built = x_b[n:] > 0.5
            x2, obj2 = first.restricted(
                built, min(START_TIME_SHARE * limit, _time_left(t0, limit) - 1.0))
            log.info("plan: build relaxation %.1f MUSD/y (bound %.1f), its %d arcs with "
                     "standard diameters %.1f MUSD/y (%.1f s)", obj_b, bound,
                     int(built.sum()), obj2, time.perf_counter() - t0)
            if obj2 < best_obj:
                best, best_obj = x2, obj2
    tree_bound = -float("inf")
    if tree_arcs is not None and lp_ok:
        tb = tree_dp.concave_bound(tree_arcs, upper=best_obj if np.isfinite(best_obj) else None,
                                   time_limit_s=min(TREE_BOUND_SHARE * limit,
                                                    max(0.0, _time_left(t0, limit))))
        tree_bound = tb.bound
        log.info("plan: tree relaxation bound %.1f MUSD/y (%d DP runs, %.1f s)", tree_bound,
                 tb.iterations, tb.seconds)
    left = _time_left(t0, limit)
    if left > 0:
        x, obj, bound_full = _run(h, left, best)
        status = _highs_status(h, "full MILP", messages)
    else:  # no time left for it: the first plans' best, if any, is the plan
        x, obj, bound_full, status = None, float("inf"), -float("inf"), "time limit"
    if status == "error":
        # no bound from a failed run; its feasible point (checked) is still a plan
        bound_full = -float("inf")
        x, obj = first.kept(x)
        if x is not None:
            status = "time limit"
    if best is not None and (x is None or best_obj < obj - 1e-9 * max(1.0, abs(obj))):
        # the last run found nothing (better) in its time: the first plans' best is a plan
        if x is None:
            status = "time limit"
        x, obj = best, best_obj
    if x is None:
        return status, None, float("nan")
    valid = _valid_bounds({"milp": bound_full, "build": bound, "tree": tree_bound}, obj)
    if bounds is not None:
        bounds.update(valid)
    gap = _gap(obj, valid)
    if status == "time limit" and gap <= options.mip_gap:
        status = "optimal"
    return status, x, gap


def _valid_bounds(candidates: dict[str, float], obj: float) -> dict[str, float]:
    """The finite lower bounds not above the plan's cost (one above it is numerical trouble).

    Examples
    --------
    >>> _valid_bounds({"milp": float("nan"), "build": 95.0, "tree": float("inf")}, 100.0)
    {'build': 95.0}
    """
    out = {}
    for name, v in candidates.items():
        if not np.isfinite(v):
            continue
        if v > obj + 1e-6 * max(abs(obj), 1.0):
            log.warning("plan: the %s bound %.4f is above the plan's cost %.4f; not counted",
                        name, v, obj)
            continue
        out[name] = float(v)
    return out


def _gap(obj: float, bounds: dict[str, float]) -> float:
    """Relative gap of ``obj`` to the best bound (inf without one).

    Examples
    --------
    >>> _gap(100.0, {"milp": 90.0, "build": 98.0})
    0.02
    >>> _gap(100.0, {})
    inf
    """
    if not bounds:
        return float("inf")
    return max(0.0, (obj - max(bounds.values())) / max(abs(obj), 1e-9))


def arc_regional_factors(arcs: pd.DataFrame) -> np.ndarray:
    """Regional cost factor of each arc: :func:`planner.economics.regional_factor_for` of
    its ``km_by_country`` (km-weighted; pieces outside every country left out, as the
    route tables leave them out), so that a new arc's CAPEX is on the route tables' basis.

    Examples
    --------
    >>> t = pd.DataFrame({"km_by_country": [{"KAZ": 100.0}, {"KAZ": 50.0, "RUS": 50.0},
    ...                                     {"---": 10.0}, {}]})
    >>> f = economics.regional_factor_for("KAZ")
    >>> np.allclose(arc_regional_factors(t), [f, (f + 1) / 2, 1.0, 1.0])
    True
    """
    out = np.ones(len(arcs))
    for i, kmc in enumerate(arcs["km_by_country"]):
        if isinstance(kmc, dict) and kmc:
            out[i] = economics.regional_factor_for(
                {str(k): float(v) for k, v in kmc.items() if k != economics.UNASSIGNED})
    return out


def arc_terrain_factors(arcs: pd.DataFrame) -> np.ndarray:
    """Pipe-CAPEX terrain factor of each new arc: the fitted class factors weighted by its
    km per terrain class (``terrain_km``,
    :func:`planner.terrain_classes.terrain_factor_from_km`), as the route tables price
    their new pipe; an arc without its classes raises, naming it.

    Examples
    --------
    >>> t = pd.DataFrame({"arc_id": ["a0", "a1"], "terrain_km": [
    ...     {"flat": 10.0, "hilly": 0.0, "mountain": 0.0}, {"mountain": 5.0}]})
    >>> f = arc_terrain_factors(t)
    >>> bool(f[0] == economics.parameter("terrain_factor_flat"))
    True
    >>> bool(f[1] == economics.parameter("terrain_factor_mountain"))
    True
    """
    ids = arcs["arc_id"] if "arc_id" in arcs else pd.Series(range(len(arcs)), index=arcs.index)
    km = arcs["terrain_km"] if "terrain_km" in arcs else pd.Series(None, index=arcs.index)
    for a, k in zip(ids, km, strict=True):
        if not isinstance(k, Mapping):
            raise TerrainClassError(
                f"plan arc {a}: no km per terrain class (terrain_km is {k!r}), so its pipe "
                f"cost is unknown; build the plan network with the study's terrain classes "
                f"(planner.plan.candidates.plan_network(terrain_classes=...))")
    return np.array([terrain_factor_from_km(k, name=f"plan arc {a}")
                     for a, k in zip(ids, km, strict=True)], dtype=float)


def solve_plan(
    net: PlanNetwork,
    options: PlanOptions,
    econ: PlanEconomics,
    *,
    demand: dict[str, float] | None = None,
    value_usd_per_1000m3: dict[str, float] | None = None,
    gas: hydraulics.Gas | None = None,
    first_plan: bool = True,
    tree_bound: bool = False,
) -> PlanResult:
    """Solve the plan's MILP on a candidate network.

    Parameters
    ----------
    net
        The candidate network (:func:`planner.plan.candidates.plan_network`).
    options
        :class:`PlanOptions` (budget, must-use and forbidden systems, security rule,
        pressure class, time limit, gap).
    econ
        :class:`PlanEconomics`.
    demand
        Destination node → bcm/y (default: the nodes' ``demand_bcm_y``).
    value_usd_per_1000m3
        Optional: destination node → net value of serving it (USD per 1000 m³). Serving
        becomes a choice; the objective is cost minus value and ``value_musd_y`` reports
        the value of the destinations served (the coalition game's surplus).
    first_plan
        With ``options.reduce``: solve through ``highspy`` from a first plan on the arcs
        the LP relaxation builds (:func:`_solve_highs`); False solves with
        :func:`scipy.optimize.milp` from no start (the benchmark's ablation).
    tree_bound
        Also the concave tree relaxation's bound (:func:`planner.plan.tree_dp.concave_bound`,
        within :data:`TREE_BOUND_SHARE` of the limit). Off by default: on the shipped
        studies it is far below the build relaxation's (on the default study 1,036 after
        the solve's 30 steps against 1,434-1,453 M USD/y), so it never counts in the gap
        (README, "Solving it"). Ignored without ``options.reduce`` and ``first_plan``, when
        destinations have a value (prize mode) or above ``tree_dp.MAX_TERMINALS``.

    Returns
    -------
    PlanResult
    """
    t0 = time.perf_counter()
    nodes = list(net.nodes.index)
    idx = {n: i for i, n in enumerate(nodes)}
    dem: dict[str, float] = (dict(demand) if demand is not None else
                             {str(n): float(q) for n, q in net.nodes["demand_bcm_y"].items()
                              if q > 0})
    dem = {n: q for n, q in dem.items() if q > 0}
    arcs = net.arcs[~net.arcs["system"].isin(options.forbidden)].reset_index(drop=True)
    arcs = arcs[arcs["u"].isin(idx) & arcs["v"].isin(idx)].reset_index(drop=True)
    ex = arcs[arcs["kind"] == "existing"].reset_index(drop=True)
    nw = arcs[arcs["kind"] == "new"].reset_index(drop=True)
    dopt = diameter_options(options, sum(dem.values()), gas)
    nk = len(dopt)
    ne, nn = len(ex), len(nw)
    u_ = econ.utilisation
    supplies = [n for n in nodes if bool(net.nodes.at[n, "supply"])]
    dests = list(dem)
    prize = value_usd_per_1000m3 is not None

    # variable layout
    o_x = 0                      # existing: x+ (ne), x- (ne)
    o_y = o_x + 2 * ne           # new: y (nn*nk)
    o_f = o_y + nn * nk          # new: f+ (nn*nk), f- (nn*nk)
    o_s = o_f + 2 * nn * nk      # supply per supply node
    o_z = o_s + len(supplies)    # served per destination (prize mode)
    n_var = o_z + (len(dests) if prize else 0)
    two = options.two_paths
    o_g = n_var                  # security flows: per destination, 2*(ne+nn) arcs + supplies
    n_g_per = 2 * (ne + nn) + len(supplies)
    if two:
        n_var += n_g_per * len(dests)

    c = np.zeros(n_var)
    lo = np.zeros(n_var)
    hi = np.full(n_var, np.inf)
    integ = np.zeros(n_var)

    # existing arcs: tariff per bcm/y (MUSD/y), reverse factor against the design flow
    t100 = econ.tariff_usd_per_1000m3_100km
    ex_len = ex["length_km"].to_numpy(float)
    ex_design = ex["design"].to_numpy(int)
    base = t100 * ex_len / 100.0 * u_
    c[o_x:o_x + ne] = base * np.where(ex_design < 0, econ.reverse_factor, 1.0)
    c[o_x + ne:o_x + 2 * ne] = base * np.where(ex_design > 0, econ.reverse_factor, 1.0)

    # new arcs: fixed charge per diameter, flow cost per diameter
    nw_len = nw["length_km"].to_numpy(float)
    tf = arc_terrain_factors(nw)
    rf = arc_regional_factors(nw)
    capex = np.zeros((nn, nk))
    capital_om = np.zeros((nn, nk))  # CAPEX × CRF + fixed O&M, MUSD/y
    for k, o in enumerate(dopt.to_dict("records")):
        # as the backtest, (pipe × terrain + stations) × regional: terrain on the pipe only
        pipe = (o["capex_fixed_usd"] + o["pipe_usd_per_km"] * nw_len) * tf * rf / 1e6
        stations = o["station_usd_per_km"] * nw_len * rf / 1e6
        capex[:, k] = pipe + stations
        # O&M as economics.route_cost: the pipeline share on pipe, the compressor share
        # on the stations' fixed cost
        capital_om[:, k] = (pipe * (econ.crf + econ.pipeline_om_share)
                            + stations * (econ.crf + econ.compressor_om_share))
    c[o_y:o_y + nn * nk] = capital_om.ravel()
    integ[o_y:o_y + nn * nk] = 1
    hi[o_y:o_y + nn * nk] = 1
    # compression CAPEX takes the regional factor (as in economics.route_cost), fuel not
    comp = (dopt["compressor_kw_per_bcm_km"].to_numpy() * econ.compressor_usd_per_kw
            * (econ.crf + econ.compressor_om_share) / 1e6)
    fuel = dopt["fuel_per_bcm_km"].to_numpy() * u_ * econ.fuel_price_usd_per_1000m3
    per_flow = (np.outer(nw_len * rf, comp) + np.outer(nw_len, fuel)).ravel()  # MUSD/y per bcm/y
    c[o_f:o_f + nn * nk] = per_flow
    c[o_f + nn * nk:o_f + 2 * nn * nk] = per_flow
    if prize:
        vals = value_usd_per_1000m3 or {}
        for j, d in enumerate(dests):
            # value of serving d: net value per 1000 m³ × volume × utilisation (MUSD/y)
            c[o_z + j] = -float(vals.get(d, 0.0)) * dem[d] * u_
        integ[o_z:o_z + len(dests)] = 1
        hi[o_z:o_z + len(dests)] = 1

    b = _Builder()
    ex_u = np.array([idx[n] for n in ex["u"]], dtype=int)
    ex_v = np.array([idx[n] for n in ex["v"]], dtype=int)
    nw_u = np.array([idx[n] for n in nw["u"]], dtype=int)
    nw_v = np.array([idx[n] for n in nw["v"]], dtype=int)
    # flow balance: inflow - outflow + supply = demand (× served)
    rows_c: list[list[int]] = [[] for _ in nodes]
    rows_v: list[list[float]] = [[] for _ in nodes]

    def arc_terms(col_fwd: int, col_rev: int, a: int, z: int) -> None:
        # forward: a -> z ; reverse: z -> a
        rows_c[z] += [col_fwd, col_rev]
        rows_v[z] += [1.0, -1.0]
        rows_c[a] += [col_fwd, col_rev]
        rows_v[a] += [-1.0, 1.0]

    for e in range(ne):
        arc_terms(o_x + e, o_x + ne + e, ex_u[e], ex_v[e])
    for e in range(nn):
        for k in range(nk):
            j = e * nk + k
            arc_terms(o_f + j, o_f + nn * nk + j, nw_u[e], nw_v[e])
    for s_i, s in enumerate(supplies):
        rows_c[idx[s]].append(o_s + s_i)
        rows_v[idx[s]].append(1.0)
    rhs = np.zeros(len(nodes))
    for j, d in enumerate(dests):
        if prize:
            rows_c[idx[d]].append(o_z + j)
            rows_v[idx[d]].append(-dem[d])
        else:
            rhs[idx[d]] += dem[d]
    for i in range(len(nodes)):
        b.row(np.array(rows_c[i], dtype=int), np.array(rows_v[i]), rhs[i], rhs[i])
    # existing capacity, each direction its own (0 where the line may not carry gas that
    # way): bounds on x+ and x-
    cap_uv, cap_vu = ex_capacities(ex)
    hi[o_x:o_x + ne] = cap_uv
    hi[o_x + ne:o_x + 2 * ne] = cap_vu
    # new capacity per diameter, one diameter per arc
    kcap = dopt["capacity_bcm_y"].to_numpy(float)
    if options.reduce:
        # no arc carries more than the whole demand: the tight big-M of each diameter
        kcap = np.minimum(kcap, sum(dem.values()))
    for e in range(nn):
        for k in range(nk):
            j = e * nk + k
            b.row(np.array([o_f + j, o_f + nn * nk + j, o_y + j]),
                  np.array([1.0, 1.0, -kcap[k]]), -np.inf, 0.0)
        if nk > 1:
            b.row(o_y + e * nk + np.arange(nk), np.ones(nk), -np.inf, 1.0)
    if options.max_new_km is not None and nn:
        b.row(o_y + np.arange(nn * nk), np.repeat(nw_len, nk), -np.inf, options.max_new_km)
    for system in options.must_use:
        on = np.flatnonzero(ex["system"].to_numpy() == system)
        if len(on) == 0:
            log.warning("plan: must-use system %s has no arc in the candidate network", system)
            continue
        b.row(np.r_[o_x + on, o_x + ne + on], np.ones(2 * len(on)),
              options.must_use_min_bcm_y, np.inf)
    if two:
        # two units from the supply points to each destination over arc-disjoint built arcs
        for j, d in enumerate(dests):
            g0 = o_g + j * n_g_per
            gc: list[list[int]] = [[] for _ in nodes]
            gv: list[list[float]] = [[] for _ in nodes]
            all_u = np.r_[ex_u, nw_u]
            all_v = np.r_[ex_v, nw_v]
            na = ne + nn
            for a in range(na):
                fwd, rev = g0 + a, g0 + na + a
                gc[all_v[a]] += [fwd, rev]
                gv[all_v[a]] += [1.0, -1.0]
                gc[all_u[a]] += [fwd, rev]
                gv[all_u[a]] += [-1.0, 1.0]
                if a < ne:
                    b.row(np.array([fwd, rev]), np.ones(2), -np.inf, 1.0)
                    # only the ways the line may carry gas
                    hi[fwd] = 1.0 if cap_uv[a] > 0 else 0.0
                    hi[rev] = 1.0 if cap_vu[a] > 0 else 0.0
                else:
                    e = a - ne
                    b.row(np.r_[fwd, rev, o_y + e * nk + np.arange(nk)],
                          np.r_[1.0, 1.0, -np.ones(nk)], -np.inf, 0.0)
            for s_i, s in enumerate(supplies):
                gc[idx[s]].append(g0 + 2 * na + s_i)
                gv[idx[s]].append(1.0)
            for i in range(len(nodes)):
                r = 2.0 if nodes[i] == d else 0.0
                if prize and nodes[i] == d:
                    b.row(np.r_[gc[i], o_z + j], np.r_[gv[i], -2.0], 0.0, 0.0)
                else:
                    b.row(np.array(gc[i], dtype=int), np.array(gv[i]), r, r)
    a_mat, lb, ub = b.matrix(n_var)
    n_con = a_mat.shape[0]
    bounds: dict[str, float] = {}
    tree_arcs = None
    if (tree_bound and options.reduce and first_plan and not prize
            and len(dests) <= tree_dp.MAX_TERMINALS):
        # the model as the subset DP sees it (for the concave tree relaxation's bound)
        tree_arcs = tree_dp.PlanArcs(
            len(nodes), ex_u, ex_v, c[o_x:o_x + ne].copy(), c[o_x + ne:o_x + 2 * ne].copy(),
            cap_uv, cap_vu, nw_u, nw_v, capital_om, per_flow.reshape(nn, nk), kcap,
            [idx[s] for s in supplies], [idx[d] for d in dests], [dem[d] for d in dests])
    log.info("plan MILP: %d variables (%d binary), %d constraints, %d diameters",
             n_var, int(integ.sum()), n_con, nk)
    messages: list[str] = []
    if options.reduce and first_plan:
        status, x_opt, gap = _solve_highs(
            c, integ, lo, hi, a_mat, lb, ub, options,
            o_y + np.arange(nn * nk).reshape(nn, nk), t0, tree_arcs, bounds, messages)
    else:
        res = milp(c, integrality=integ, bounds=Bounds(lo, hi),
                   constraints=LinearConstraint(a_mat, lb, ub) if n_con else None,
                   options={"time_limit": max(0.0, _time_left(t0, options.time_limit_s)),
                            "mip_rel_gap": options.mip_gap, "disp": False})
        x_opt = None if res.x is None else np.asarray(res.x)
        status = _milp_status(int(res.status), str(res.message), x_opt is not None, messages)
        gap = float(getattr(res, "mip_gap", 0.0) or 0.0)
        dual = getattr(res, "mip_dual_bound", None)
        if dual is not None and res.x is not None:
            bounds.update(_valid_bounds({"milp": float(dual)}, float(res.fun)))
    solve_s = time.perf_counter() - t0
    if x_opt is None:
        if status == "time limit" and not any("limit" in m for m in messages):
            messages.append(f"no plan found within the time limit of "
                            f"{options.time_limit_s:g} s")
        elif status == "optimal":  # HiGHS said so but gave no point: no answer
            messages.append("HiGHS reported the MILP optimal but gave no solution")
            status = "error"
        return PlanResult(status, float("nan"), float("nan"), solve_s, n_var, n_con,
                          int(integ.sum()), _empty_arcs(), message="; ".join(messages))
    x = x_opt
    rows = []
    for e in range(ne):
        fp, fm = x[o_x + e], x[o_x + ne + e]
        flow = fp - fm
        if abs(flow) < 1e-6:
            continue
        r = ex.iloc[e]
        fwd = flow > 0
        rev = bool((r["design"] > 0 and not fwd) or (r["design"] < 0 and fwd))
        cost = float(c[o_x + e] * fp + c[o_x + ne + e] * fm)
        rows.append(_arc_row(r, fwd, abs(flow), rev, np.nan, 0.0, 0.0, 0.0, cost))
    y = x[o_y:o_y + nn * nk].reshape(nn, nk)
    fp_all = x[o_f:o_f + nn * nk].reshape(nn, nk)
    fm_all = x[o_f + nn * nk:o_f + 2 * nn * nk].reshape(nn, nk)
    for e in range(nn):
        k = int(np.argmax(y[e]))
        if y[e, k] < 0.5:
            continue
        flow = float(fp_all[e].sum() - fm_all[e].sum())
        r = nw.iloc[e]
        fixed = float(capital_om[e, k])
        var = float(per_flow[e * nk + k] * abs(flow))
        rows.append(_arc_row(r, flow >= 0, abs(flow), False, float(dopt["diameter_mm"].iloc[k]),
                             float(capex[e, k]), fixed, var, 0.0, terrain_factor=float(tf[e])))
    table = pd.DataFrame(rows) if rows else _empty_arcs()
    served = ({d: float(round(x[o_z + j])) for j, d in enumerate(dests)} if prize else
              {d: 1.0 for d in dests})
    value = (float(-sum(c[o_z + j] * round(x[o_z + j]) for j in range(len(dests))))
             if prize else 0.0)
    cost_total = float(table["annual_musd_y"].sum()) if len(table) else 0.0
    log.info("plan: %s, %.1f MUSD/y, gap %.3g, %.1f s", status, cost_total, gap, solve_s)
    return PlanResult(status, cost_total, gap, solve_s, n_var, n_con, int(integ.sum()), table,
                      served, value, bounds, "; ".join(messages))


#: Km per terrain class of a new arc (:mod:`planner.terrain_classes`), as result columns.
TERRAIN_KM_COLUMNS = [f"{c}_km" for c in TERRAIN_CLASSES]

#: Columns of :attr:`PlanResult.arcs`: ``terrain_factor`` (the pipe CAPEX's,
#: :func:`arc_terrain_factors`) and :data:`TERRAIN_KM_COLUMNS` for new arcs, NaN for
#: existing ones.
RESULT_COLUMNS = ["arc_id", "from", "to", "kind", "system", "reverse", "length_km",
                  "diameter_mm", "flow_bcm_y", "capex_musd", "capital_musd_y",
                  "compression_fuel_musd_y", "tariff_musd_y", "annual_musd_y",
                  "terrain_factor", *TERRAIN_KM_COLUMNS,
                  "km_by_country", "country", "geometry"]


def _empty_arcs() -> pd.DataFrame:
    return pd.DataFrame(columns=RESULT_COLUMNS)


def _arc_row(r: pd.Series, forward: bool, flow: float, reverse: bool, diameter: float,
             capex: float, fixed: float, var: float, tariff: float, *,
             terrain_factor: float = np.nan) -> dict[str, Any]:
    """One row of :attr:`PlanResult.arcs` (:data:`RESULT_COLUMNS`); a new arc's km per
    terrain class from its ``terrain_km`` (NaN for an existing arc)."""
    geom = r.geometry
    tk = r.get("terrain_km") if r["kind"] == "new" else None
    terrain_km = {f"{c}_km": float(tk.get(c, 0.0)) if isinstance(tk, Mapping) else np.nan
                  for c in TERRAIN_CLASSES}
    if not forward:
        from shapely.geometry import LineString

        geom = LineString(geom.coords[::-1])
    return {"arc_id": r["arc_id"], "from": r["u"] if forward else r["v"],
            "to": r["v"] if forward else r["u"], "kind": r["kind"], "system": r["system"],
            "reverse": reverse, "length_km": float(r["length_km"]), "diameter_mm": diameter,
            "flow_bcm_y": flow, "capex_musd": capex, "capital_musd_y": fixed,
            "compression_fuel_musd_y": var, "tariff_musd_y": tariff,
            "annual_musd_y": fixed + var + tariff, "terrain_factor": terrain_factor,
            **terrain_km, "km_by_country": r["km_by_country"],
            "country": r["countries"], "geometry": geom}


def independent_best(net: PlanNetwork, options: PlanOptions, econ: PlanEconomics
                     ) -> pd.DataFrame:
    """Each destination's best independent route in the same model (the fair baseline).

    ``alone_musd_y``: the destination solved alone on the whole network (each route sized
    only for its own throughput, as today's candidates are). Those routes can claim the
    same spare capacity of an existing line twice, so their sum need not be feasible.
    ``sequential_musd_y``: destinations routed one after another in the study's order,
    each alone but only in the spare capacity the earlier ones left: the cost of building
    the independent routes together (feasible for the plan, so the plan costs at most
    their sum, up to the MIP gap).

    Returns
    -------
    pandas.DataFrame
        ``destination``, ``throughput_bcm_y``, ``status``, ``alone_musd_y``,
        ``sequential_musd_y``, ``new_km`` (sequential).
    """
    rows = []
    solo = replace(options, two_paths=False, must_use=())
    residual = net.arcs.copy()
    for d, q in net.nodes["demand_bcm_y"].items():
        if q <= 0:
            continue
        alone = solve_plan(net, solo, econ, demand={str(d): float(q)})
        seq = solve_plan(PlanNetwork(net.nodes, residual), solo, econ,
                         demand={str(d): float(q)})
        if len(seq.arcs):
            # take the flow off the capacity of the direction it used
            uv, vu = ex_capacities(residual)
            by_id = {a: i for i, a in enumerate(residual["arc_id"])}
            used = seq.arcs[seq.arcs["kind"] == "existing"]
            for aid, frm, flow in zip(used["arc_id"], used["from"], used["flow_bcm_y"],
                                      strict=True):
                i = by_id[aid]
                if frm == residual["u"].iloc[i]:
                    uv[i] = max(0.0, uv[i] - float(flow))
                else:
                    vu[i] = max(0.0, vu[i] - float(flow))
            new = (residual["kind"] != "existing").to_numpy()
            uv[new], vu[new] = np.nan, np.nan
            residual = residual.assign(capacity_uv_bcm_y=uv, capacity_vu_bcm_y=vu,
                                       capacity_bcm_y=np.maximum(uv, vu))
        new_km = (float(seq.arcs.loc[seq.arcs["kind"] == "new", "length_km"].sum())
                  if len(seq.arcs) else 0.0)
        rows.append({"destination": d, "throughput_bcm_y": float(q), "status": seq.status,
                     "alone_musd_y": alone.objective_musd_y,
                     "sequential_musd_y": seq.objective_musd_y, "new_km": new_km})
    return pd.DataFrame(rows)


__all__ = ["RESULT_COLUMNS", "TERRAIN_KM_COLUMNS", "PlanEconomics", "PlanResult",
           "arc_regional_factors", "arc_terrain_factors",
           "diameter_options", "ex_capacities", "independent_best", "solve_plan"]
