"""A rough up-front estimate of a study run's time, and a warning when it is long.

A study at a very fine resolution passes the memory check (:mod:`planner.study_checks`)
but can run for many minutes without a word. The time that grows with the resolution is
the cost surfaces' build and the route searches on them, so :func:`estimated_run_seconds`
takes it as ``cells × route searches × SECONDS_PER_CELL_SEARCH`` plus a fixed part, and
:func:`warn_if_slow` logs a warning (shown without ``-v``) naming the
``[region] resolution_km`` that would bring the run near :data:`TARGET_S`.

It is an estimate, not a promise: route searches run in windows around their ends
(:func:`planner.routing.window_paths`), so a study whose places lie close together runs
faster than the estimate, and a busy machine slower. Checked on a resolution left out of
the fit (0.1 km, 48,352,981 cells): 494.5 s estimated, 589.5 s measured (16 % low; the
system plan's candidate network grows faster than the cells).
"""

from __future__ import annotations

import logging
import math
from typing import Any

log = logging.getLogger(__name__)

#: Seconds per cost-surface cell and route search, measured on this project's 2-core
#: machine (shared, load about 2-3) on 2026-12-02 with the cache off
#: (``PLANNER_NO_CACHE=1 planner -v study``): the example study
#: ``planner/studies/examples/south_caucasus.toml`` (20 route searches, see
#: :func:`route_searches`) at resolution_km 0.5 and 0.25 (1,936,880 and 7,739,226 cells)
#: took 30.3 s and 88.0 s in all (the plan's solves included: its network's paths grow
#: with the cells too); (88.0 - 30.3) / (5,802,346 × 20) = 5.0e-7 s (README, "Where the
#: time goes, and fine cost surfaces").
SECONDS_PER_CELL_SEARCH = 5.0e-7
#: Seconds a run takes whatever its resolution (layers, graphs, ranking, map): the same
#: measurement's intercept, 30.3 - 1,936,880 × 20 × 5.0e-7 = 11 s.
FIXED_S = 11.0
#: A run estimated above this many seconds gets a warning.
WARN_ABOVE_S = 300.0
#: The warning suggests the resolution that brings the estimate near this.
TARGET_S = 120.0


def route_searches(study: Any) -> int:
    """Route searches a study asks for: per scenario, one sweep per supply point and, per
    destination, the least-cost route, its ``alternatives`` and (with ``reuse_existing``)
    the reuse route's new links.

    Examples
    --------
    >>> from types import SimpleNamespace as S
    >>> route_searches(S(scenarios=[1, 2], supply=[1], destinations=[1, 2, 3],
    ...                  alternatives=1, reuse_existing=True))
    20
    """
    per_destination = 1 + int(study.alternatives) + (1 if study.reuse_existing else 0)
    return len(study.scenarios) * (len(study.supply) + len(study.destinations) * per_destination)


def surface_cells(study: Any) -> int:
    """Cells of the study's cost surface (its region at its resolution, in its CRS)."""
    from planner.costsurface import study_grid

    _, (h, w) = study_grid(study.region, float(study.resolution_km) * 1000.0, study.crs)
    return int(h) * int(w)


def estimated_run_seconds(study: Any, cells: int | None = None) -> float:
    """Rough seconds of a study run (cold cache): a lower bound. The fit's runs included
    their system plans, but the plan's solves (bounded by ``[plan] time_limit_s``), a
    reuse search per reuse graph rather than per destination, and the searches from each
    further supply point are not modelled (the default study: 103 s estimated, about
    190-200 s measured cold with its plan).

    Examples
    --------
    >>> from types import SimpleNamespace as S
    >>> s = S(scenarios=[1], supply=[1], destinations=[1], alternatives=0,
    ...       reuse_existing=False)
    >>> round(estimated_run_seconds(s, cells=10**8))
    111
    """
    n = surface_cells(study) if cells is None else int(cells)
    return FIXED_S + n * route_searches(study) * SECONDS_PER_CELL_SEARCH


def resolution_for(study: Any, seconds: float, cells: int | None = None) -> float:
    """The ``resolution_km`` (rounded up to 0.1 km) at which the estimate is about
    ``seconds`` (cells scale with the inverse square of the resolution)."""
    n = surface_cells(study) if cells is None else int(cells)
    variable = n * route_searches(study) * SECONDS_PER_CELL_SEARCH
    want = max(seconds - FIXED_S, 1.0)
    km = float(study.resolution_km) * math.sqrt(max(variable / want, 1.0))
    return math.ceil(km * 10.0) / 10.0


def warn_if_slow(study: Any, logger: logging.Logger | None = None) -> float:
    """Log a warning when :func:`estimated_run_seconds` is above :data:`WARN_ABOVE_S`;
    returns the estimate (seconds). The warning names the cells, the route searches, the
    rough duration and the ``[region] resolution_km`` that would take about
    :data:`TARGET_S`."""
    cells = surface_cells(study)
    seconds = estimated_run_seconds(study, cells)
    if seconds > WARN_ABOVE_S:
        (logger or log).warning(
            "study %s: a cost surface at resolution_km = %g has %s cells and the study asks "
            "for %d route searches: the run may take about %s (a rough estimate; %s per "
            "cell and search measured on a 2-core machine). For a run of about %s set "
            "[region] resolution_km = %g (or a smaller region, fewer scenarios, "
            "destinations or alternatives)",
            getattr(study, "name", "?"), study.resolution_km, f"{cells:,}",
            route_searches(study), _duration(seconds),
            f"{SECONDS_PER_CELL_SEARCH:.1e} s", _duration(TARGET_S),
            resolution_for(study, TARGET_S, cells))
    return seconds


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


__all__ = ["FIXED_S", "SECONDS_PER_CELL_SEARCH", "TARGET_S", "WARN_ABOVE_S",
           "estimated_run_seconds", "resolution_for", "route_searches", "surface_cells",
           "warn_if_slow"]
