"""How well the reference set determines the cost calibration: a bootstrap of the fit.

Each draw resamples the designed reference lines with replacement (as many as there are)
and reruns the whole fit of :func:`planner.backtest.costs._calibrate` on the draw: the
design point chosen from the grid (per-station fixed cost, design margin, highest pressure
class), the regional shrinkage and whether to fit the pipe-cost trend (inner leave-one-out,
holding out every copy of a line together), then the terrain, regional and parallel-line
factors and the trend. The designs of every line at every grid point are computed once and
shared by all draws; a line drawn twice enters the fit twice (as two rows with their own
keys), so copies act as weights.

The spread of a parameter over the draws is its sampling uncertainty *given the model
form* (how much it would move had other lines of the same kind been built and published);
it says nothing of model error, which the leave-one-out CAPEX error band measures (README,
Cost backtest).

Draws run on ``dask.distributed`` through :func:`planner.sweep.engine.run_tasks` (results
kept in a store, so an interrupted run resumes) or serially without a client. Draw ``i``
of seed ``s`` resamples with ``numpy.random.default_rng([s, i])``: the same seed gives the
same draws whatever the number of draws, workers or order of completion.

Examples
--------
>>> keys, groups = _draw_keys(["a", "b", "c"], [2, 0, 2])
>>> keys, groups == {"c": "c", "a": "a", "c#copy2": "c"}
(['c', 'a', 'c#copy2'], True)
"""

from __future__ import annotations

import hashlib
import logging
import math
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner import economics
from planner.backtest import costs
from planner.io import write_csv
from planner.sweep.engine import ResultStore, run_tasks

log = logging.getLogger(__name__)

#: Quantiles of the summary (P5, P50, P95; pandas' linear interpolation).
QUANTILES: tuple[float, ...] = (0.05, 0.5, 0.95)
#: Parameters chosen from a grid (their summary row gives the share of draws at an edge).
GRID_PARAMETERS = ("compressor_station_fixed_usd", "design_margin",
                   "design_max_pressure_class_mpa", "regional_factor_shrinkage")
#: Columns of a draw that are not fitted parameters.
DRAW_COLUMNS = ("draw", "seed", "lines", "seconds")


def _draw_indices(n_lines: int, seed: int, draw: int) -> np.ndarray:
    """Indices (with replacement) of the lines of draw ``draw`` of ``seed``."""
    return np.random.default_rng([seed, draw]).integers(0, n_lines, size=n_lines)


def _draw_keys(names: Sequence[str], indices: Sequence[int]
               ) -> tuple[list[str], dict[str, str]]:
    """Unique keys of a draw's rows (a line's second copy is ``name#copy2``) and the line
    each key is a copy of."""
    seen: dict[str, int] = {}
    keys: list[str] = []
    groups: dict[str, str] = {}
    for i in indices:
        name = str(names[int(i)])
        seen[name] = seen.get(name, 0) + 1
        key = name if seen[name] == 1 else f"{name}#copy{seen[name]}"
        keys.append(key)
        groups[key] = name
    return keys, groups


def _resampled(grid: Mapping[tuple[float, float, float], pd.DataFrame],
               projects: pd.DataFrame, names: Sequence[str], indices: Sequence[int]
               ) -> tuple[dict[tuple[float, float, float], pd.DataFrame], pd.DataFrame,
                          list[str], dict[str, str]]:
    """The grid and projects of one draw, its rows keyed uniquely."""
    keys, groups = _draw_keys(names, indices)
    drawn = [str(names[int(i)]) for i in indices]
    by_name = projects.set_index("name")
    draw_projects = by_name.loc[drawn].reset_index()
    draw_projects["name"] = keys
    draw_grid = {}
    for point, designs in grid.items():
        d = designs.loc[drawn].copy()
        d.index = pd.Index(keys)
        d.attrs = {"refused": {}}
        draw_grid[point] = d
    return draw_grid, draw_projects, keys, groups


def calibration_row(cal: costs.CostCalibration, projects: pd.DataFrame) -> dict[str, float]:
    """The fitted parameters of ``cal``, named as in ``planner/data/cost_parameters.csv``;
    NaN for a factor no fitted line of ``projects`` bears (terrain class, parallel line;
    regional factors of absent regions are not in ``cal``, so absent from the row)."""
    fitted = projects[projects["name"].isin(cal.fitted_on)]
    row: dict[str, float] = {
        "compressor_station_fixed_usd": cal.station_fixed_usd,
        "design_margin": cal.design_margin,
        "design_max_pressure_class_mpa": cal.max_pressure_class_mpa,
        "regional_factor_shrinkage": cal.region_shrinkage,
        "pipe_cost_trend_per_year": cal.pipe_trend,
        "parallel_existing_factor": (cal.parallel_factor
                                     if (fitted["parallel_existing"] == 1).any()
                                     else math.nan),
    }
    for c in costs.TERRAINS:
        if c != "flat":
            row[f"terrain_factor_{c}"] = (cal.terrain_factors[c]
                                          if (fitted["terrain"] == c).any() else math.nan)
    for r, f in sorted(cal.regional_factors.items()):
        row[f"regional_factor_{r}"] = f
    return row


def _draw_task(params: Mapping[str, Any], shared: Mapping[str, Any]) -> pd.DataFrame:
    """One bootstrap draw (a task of :func:`planner.sweep.engine.run_tasks`)."""
    t0 = time.perf_counter()
    names = shared["names"]
    idx = _draw_indices(len(names), int(params["seed"]), int(params["draw"])).tolist()
    grid, projects, keys, groups = _resampled(shared["grid"], shared["projects"], names, idx)
    cal = costs._calibrate(grid, projects, keys, groups=groups)
    row: dict[str, float] = {"draw": int(params["draw"]), "seed": int(params["seed"]),
                             "lines": len(set(groups.values()))}
    row.update(calibration_row(cal, projects))
    row["seconds"] = time.perf_counter() - t0
    return pd.DataFrame([row])


def _design_grid(projects: pd.DataFrame, client: Any, station_fixed_grid: Sequence[float],
                 margin_grid: Sequence[float], pressure_grid: Sequence[float],
                 params: pd.DataFrame | None
                 ) -> dict[tuple[float, float, float], pd.DataFrame]:
    """:func:`planner.backtest.costs.design_grid`, one grid point per task on ``client``."""
    if client is None:
        return costs.design_grid(projects, station_fixed_grid=station_fixed_grid,
                                 margin_grid=margin_grid, pressure_grid=pressure_grid,
                                 params=params)
    points = [(f, m, p) for f in station_fixed_grid for m in margin_grid
              for p in pressure_grid]
    futures = [client.submit(costs.design_grid, projects, station_fixed_grid=[f],
                             margin_grid=[m], pressure_grid=[p], params=params, pure=False)
               for f, m, p in points]
    grid: dict[tuple[float, float, float], pd.DataFrame] = {}
    for part in client.gather(futures):
        grid.update(part)
    return grid


def _fingerprint(projects: pd.DataFrame, grid_points: Sequence[tuple[float, float, float]],
                 params: pd.DataFrame | None = None) -> str:
    """The key of a run's draws in its results store: the reference projects, the grid,
    the cost table the designs are priced with (``params``, default the shipped one) and
    the code and shipped data (:func:`planner.cache.code_version`), so a re-run resumes
    only draws of the same fit and never reuses draws of another cost table or code.

    Examples
    --------
    >>> p = pd.DataFrame({"name": ["a"]})
    >>> _fingerprint(p, [(1.0, 0.0, 11.8)]) == _fingerprint(p, [(1.0, 0.0, 11.8)])
    True
    """
    from planner.cache import code_version

    table = economics.load_cost_parameters() if params is None else params
    text = (projects.to_csv(index=False) + repr(sorted(grid_points)) + table.to_csv()
            + code_version())
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class BootstrapDrawsFailed(ValueError):
    """Some draws of a bootstrap failed (a ``ValueError``, so the command line prints it
    as one error); the draws that succeeded stay in the results store for a re-run."""


def bootstrap_calibration(projects: pd.DataFrame, n_draws: int, seed: int = 0,
                          client: Any = None, *, store: str | Path | None = None,
                          station_fixed_grid: Sequence[float] = costs.STATION_FIXED_GRID_USD,
                          margin_grid: Sequence[float] = costs.DESIGN_MARGIN_GRID,
                          pressure_grid: Sequence[float] = costs.MAX_PRESSURE_CLASS_GRID_MPA,
                          params: pd.DataFrame | None = None) -> pd.DataFrame:
    """Refit the cost calibration on ``n_draws`` resamples of the reference lines.

    Parameters
    ----------
    projects : pandas.DataFrame
        Validated reference projects (:func:`planner.backtest.costs.projects_from_csv`);
        the designed ones (onshore, scope ``line``) are resampled.
    n_draws : int
        Number of draws (at least 1).
    seed : int
        Seed (non-negative); draw ``i`` uses ``numpy.random.default_rng([seed, i])``.
    client : dask.distributed.Client, optional
        Runs the draws on its cluster; without one they run serially here.
    store : path, optional
        Results store of the draws (:class:`planner.sweep.engine.ResultStore`): a re-run
        into it skips the draws already there. Default: a temporary folder.
    station_fixed_grid, margin_grid, pressure_grid : sequence of float
        The design grid (default: the one the shipped calibration was chosen from).
    params : pandas.DataFrame, optional
        A cost table to design and price the lines with instead of the shipped one.

    Raises
    ------
    BootstrapDrawsFailed
        When any draw fails (the others stay in ``store``; a re-run retries the failed).

    Returns
    -------
    pandas.DataFrame
        One row per draw: ``draw``, ``seed``, ``lines`` (distinct lines drawn),
        ``seconds`` (time of the draw's fit), then every fitted parameter named as in
        ``planner/data/cost_parameters.csv`` (NaN where the draw has no line bearing it).

    Examples
    --------
    >>> bootstrap_calibration(pd.DataFrame(), 0)
    Traceback (most recent call last):
    ...
    ValueError: bootstrap: n_draws is 0; give a whole number of draws of at least 1
    """
    _check_arguments(n_draws, seed)
    costs._require_designable(projects, "bootstrap")
    log.info("designing %d reference projects on the %d-point grid once", len(projects),
             len(station_fixed_grid) * len(margin_grid) * len(pressure_grid))
    grid = _design_grid(projects, client, station_fixed_grid, margin_grid, pressure_grid,
                        params)
    names = [str(n) for n in next(iter(grid.values())).index]
    fp = _fingerprint(projects, list(grid), params)
    tasks = [{"draw": i, "seed": int(seed), "reference": fp} for i in range(n_draws)]
    shared = {"grid": grid, "projects": projects, "names": names}
    with tempfile.TemporaryDirectory(prefix="planner-bootstrap-") as tmp:
        st = ResultStore(store if store is not None else tmp)
        summary = run_tasks(_draw_task, tasks, st, client, shared=shared,
                            desc="bootstrap draws")
        if summary.failed:
            first = next(iter(summary.failed.values()))
            raise BootstrapDrawsFailed(
                f"bootstrap: {len(summary.failed)} of {summary.total} draws failed (first: "
                f"{first}); nothing was written; re-run the same command to retry them "
                "(the draws that succeeded are kept in the store)")
        draws = st.read(summary.keys)
    draws = draws.drop(columns=["task_key"]).sort_values("draw").reset_index(drop=True)
    for c in ("draw", "seed", "lines"):
        draws[c] = draws[c].astype(int)
    fixed = [c for c in DRAW_COLUMNS if c in draws] + [
        "compressor_station_fixed_usd", "design_margin", "design_max_pressure_class_mpa",
        "regional_factor_shrinkage", "pipe_cost_trend_per_year", "parallel_existing_factor",
        *(f"terrain_factor_{c}" for c in costs.TERRAINS if c != "flat")]
    regional = sorted(str(c) for c in draws.columns
                      if str(c).startswith("regional_factor_") and c not in fixed)
    return draws.reindex(columns=[*fixed, *regional])


def _check_arguments(n_draws: Any, seed: Any) -> None:
    problems = []
    if isinstance(n_draws, bool) or not isinstance(n_draws, int | np.integer) or n_draws < 1:
        problems.append(f"n_draws is {n_draws!r}; give a whole number of draws of at least 1")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        problems.append(f"seed is {seed!r}; give a non-negative whole number")
    if problems:
        raise ValueError("bootstrap: " + "; ".join(problems))


def bootstrap_summary(draws: pd.DataFrame, shipped: pd.DataFrame | None = None,
                      grids: Mapping[str, Sequence[float]] | None = None) -> pd.DataFrame:
    """Per fitted parameter: the shipped value, P5, P50 and P95 over the draws, the number
    of draws that fit it, and for the grid-chosen ones the share of draws at a grid edge.

    Parameters
    ----------
    draws : pandas.DataFrame
        :func:`bootstrap_calibration`'s draws.
    shipped : pandas.DataFrame, optional
        The cost table the shipped values are read from (default: the shipped one).
    grids : mapping, optional
        Grid of each grid-chosen parameter (default: the calibration's grids).

    Examples
    --------
    >>> d = pd.DataFrame({"draw": [0, 1, 2], "design_margin": [0.0, 0.15, 0.3]})
    >>> s = bootstrap_summary(d)
    >>> s[["parameter", "p50", "share_at_grid_edge"]].values.tolist()
    [['design_margin', 0.15, 0.6666666666666666]]
    """
    table = economics.load_cost_parameters() if shipped is None else shipped
    grids = dict(grids) if grids is not None else {
        "compressor_station_fixed_usd": costs.STATION_FIXED_GRID_USD,
        "design_margin": costs.DESIGN_MARGIN_GRID,
        "design_max_pressure_class_mpa": costs.MAX_PRESSURE_CLASS_GRID_MPA,
        "regional_factor_shrinkage": costs.REGION_SHRINKAGE_GRID}
    rows = []
    for col in draws.columns:
        if col in DRAW_COLUMNS:
            continue
        v = pd.to_numeric(draws[col], errors="coerce")
        q = v.quantile(list(QUANTILES))
        g = grids.get(col)
        edge = math.nan
        if g is not None and v.notna().any():
            lo, hi = min(g), max(g)
            at = v.dropna()
            edge = float(((at - lo).abs() < 1e-9 * max(1.0, abs(lo))).mean()
                         + ((at - hi).abs() < 1e-9 * max(1.0, abs(hi))).mean())
        rows.append({
            "parameter": col,
            "shipped": (float(economics.parameter(col, table))
                        if col in table.index else math.nan),
            **{f"p{round(p * 100)}": float(x) for p, x in zip(QUANTILES, q, strict=True)},
            "draws": int(v.notna().sum()),
            "share_at_grid_edge": edge,
            "grid": costs._grid_text(g) if g is not None else "",
        })
    return pd.DataFrame(rows)


def write_bootstrap(draws: pd.DataFrame, summary: pd.DataFrame, out_dir: str | Path
                    ) -> dict[str, Path]:
    """Write ``bootstrap_draws.csv`` and ``bootstrap_summary.csv`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"bootstrap_draws": out / "bootstrap_draws.csv",
             "bootstrap_summary": out / "bootstrap_summary.csv"}
    write_csv(draws, files["bootstrap_draws"], float_format="%.6g")
    write_csv(summary, files["bootstrap_summary"], float_format="%.6g")
    return files


def summary_text(summary: pd.DataFrame, draws: pd.DataFrame) -> list[str]:
    """Plain-text lines of the summary for the command line."""
    secs = pd.to_numeric(draws.get("seconds", pd.Series(dtype=float)), errors="coerce")
    head = (f"cost calibration bootstrap: {len(draws)} draws of the reference lines "
            "(sampling uncertainty given the model form, not model error)")
    if secs.notna().any():
        head += f"; {secs.mean():.1f} s per draw's fit"
    shown = summary.copy()
    for c in ("shipped", "p5", "p50", "p95"):
        shown[c] = shown[c].map(lambda x: "" if pd.isna(x) else f"{x:.4g}")
    shown["share_at_grid_edge"] = shown["share_at_grid_edge"].map(
        lambda x: "" if pd.isna(x) else f"{x:.0%}")
    return [head, shown.drop(columns=["grid"]).to_string(index=False)]


__all__ = ["BootstrapDrawsFailed", "bootstrap_calibration", "bootstrap_summary",
           "calibration_row", "summary_text", "write_bootstrap"]
