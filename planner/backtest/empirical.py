"""Empirical pipeline-cost estimators, to compare with the engineering design path.

The structure is the one of the cost surveys: the Oil & Gas Journal's annual pipeline
economics report tabulates US interstate pipeline costs per inch-mile from FERC filings,
and Rui, Metz, Reynolds, Chen & Zhou (2011), "Historical pipeline construction cost
analysis", *Int. J. Oil, Gas and Coal Technology* 4(3), 244-263
(https://cupdf.com/document/historical-pipeline-cost-analysis.html) analyse 412 of those
lines by diameter, length, capacity and location. Here the logarithm of CAPEX (escalated
to USD of :data:`BASE_YEAR` with CPI-U) is regressed by least squares on

- ``inch_km``: an offset log(diameter in inches × km) (cost per inch-km, slope 1);
- ``diameter_length``: log diameter and log length;
- ``capacity_length``: log capacity and log length;
- ``diameter_capacity_length``: all three;
- ``design_capex``: the log of a given design CAPEX (the engineering design's at terrain
  and regional factor 1), with a fitted slope;

plus terrain (hilly, mountain) and parallel-line indicators, unpenalised, and regional
and sub-regional indicators penalised by a ridge term (shrinkage toward the pooled mean
for regions with few lines). The diameter is whatever the caller passes: the backtest
passes the engineering design's diameter, known before a line is built.

These estimators were measured against the engineering path and not adopted (README,
"Cost backtest"); they stay so that the measurement can be repeated
(``benchmarks/bench_costs_variants.py``).

Examples
--------
Three lines whose cost is exactly 2 M USD per inch-km (USD of 2020) give that back:

>>> p = pd.DataFrame({"length_km": [100.0, 200.0, 400.0], "capacity_bcm_y": [5.0, 10, 20],
...                   "capex_year": [2020] * 3, "terrain": ["flat"] * 3,
...                   "country": ["USA"] * 3, "cost_region": [""] * 3,
...                   "parallel_existing": [0] * 3}, index=["a", "b", "c"])
>>> d = pd.Series([508.0, 762.0, 1016.0], index=p.index)
>>> p["capex_musd"] = 2.0 * d / 25.4 * p["length_km"]
>>> fit = fit_empirical(p, d, form="inch_km", ridge=1.0)
>>> predict_empirical(fit, p, d).round(6).tolist()
[4000.0, 12000.0, 32000.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner import economics

BASE_YEAR = 2020
FORMS: tuple[str, ...] = ("inch_km", "diameter_length", "capacity_length",
                          "diameter_capacity_length", "design_capex")
#: Ridge penalties on the regional indicators to choose from by an inner leave-one-out.
RIDGE_GRID: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def design_capex_musd(designs: pd.DataFrame) -> pd.Series:
    """The engineering designs' CAPEX (M USD): pipe, compression and metering.

    ``designs`` is a design table of :func:`planner.backtest.costs.design_grid`.

    Examples
    --------
    >>> d = pd.DataFrame({"pipe_usd": [1e9], "compression_usd": [2e8],
    ...                   "metering_usd": [1e7]}, index=["A"])
    >>> design_capex_musd(d).round(1).tolist()
    [1210.0]
    """
    parts = designs[["pipe_usd", "compression_usd", "metering_usd"]].astype(float)
    return parts.sum(axis=1) / 1e6


@dataclass(frozen=True)
class EmpiricalFit:
    """A fitted log-linear cost estimator.

    Attributes
    ----------
    form : str
        One of :data:`FORMS`.
    ridge : float
        Penalty on the regional indicators.
    coefficients : pandas.Series
        Named coefficients of log CAPEX (M USD of :data:`BASE_YEAR`).
    fitted_on : tuple of str
        Index labels of the training projects.
    """

    form: str
    ridge: float
    coefficients: pd.Series
    fitted_on: tuple[str, ...]


def _regions(countries: str, table: dict[str, str]) -> list[str]:
    return [table.get(c.strip(), "none") for c in str(countries).split(";") if c.strip()]


def _region_table() -> dict[str, str]:
    t = economics.load_cost_regions()
    return {str(k): str(v) for k, v in zip(t["iso_a3"], t["region"], strict=True)}


def design_matrix(projects: pd.DataFrame, diameter_mm: pd.Series, form: str,
                  design_capex_musd: pd.Series | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Unpenalised columns, penalised regional columns and the offset, on ``projects.index``.

    A line across several cost regions has weight 1/n on each; a sub-national
    ``cost_region`` is one more indicator.
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}; got {form!r}")
    length = projects["length_km"].astype(float)
    d_in = diameter_mm.reindex(projects.index).astype(float) / economics.MM_PER_INCH
    fixed = pd.DataFrame({
        "intercept": 1.0,
        "hilly": (projects["terrain"] == "hilly").astype(float),
        "mountain": (projects["terrain"] == "mountain").astype(float),
        "parallel": (projects["parallel_existing"].fillna(0).astype(int) == 1).astype(float),
    }, index=projects.index)
    offset = pd.Series(0.0, index=projects.index)
    if form == "inch_km":
        offset = pd.Series(np.log((d_in * length).to_numpy()), index=projects.index)
    if form in ("diameter_length", "diameter_capacity_length"):
        fixed["log_diameter_in"] = np.log(d_in)
    if form in ("capacity_length", "diameter_capacity_length"):
        fixed["log_capacity"] = np.log(projects["capacity_bcm_y"].astype(float))
    if form == "design_capex":
        if design_capex_musd is None:
            raise ValueError("form 'design_capex' needs design_capex_musd")
        capex = design_capex_musd.reindex(projects.index).astype(float)
        fixed["log_design_capex"] = np.log(capex * _escalation(projects))
    elif form != "inch_km":
        fixed["log_length"] = np.log(length)
    table = _region_table()
    groups: dict[str, dict[str, float]] = {}
    for name, countries, sub in zip(projects.index, projects["country"],
                                    projects["cost_region"], strict=True):
        regs = _regions(str(countries), table) or ["none"]
        row = {f"region_{r}": regs.count(r) / len(regs) for r in regs}
        if str(sub or ""):
            row[f"region_{sub}"] = 1.0
        groups[str(name)] = row
    penalised = pd.DataFrame.from_dict(groups, orient="index").reindex(
        [str(n) for n in projects.index]).fillna(0.0)
    penalised.index = projects.index
    return fixed, penalised.sort_index(axis=1), offset


def _escalation(projects: pd.DataFrame) -> pd.Series:
    return pd.Series([economics.escalate(1.0, int(y), BASE_YEAR)
                      for y in projects["capex_year"]], index=projects.index)


def ridge_lstsq(a: np.ndarray, y: np.ndarray, penalty: np.ndarray) -> np.ndarray:
    """Least squares with a ridge penalty per column: ``min |a b - y|² + Σ penalty_j b_j²``.

    Examples
    --------
    >>> a = np.array([[1.0, 1.0], [1.0, 0.0]])
    >>> ridge_lstsq(a, np.array([3.0, 1.0]), np.zeros(2)).round(9).tolist()
    [1.0, 2.0]
    """
    aug = np.vstack([a, np.diag(np.sqrt(np.asarray(penalty, dtype=float)))])
    rhs = np.concatenate([y, np.zeros(a.shape[1])])
    return np.linalg.lstsq(aug, rhs, rcond=None)[0]


def _arrays(projects: pd.DataFrame, diameter_mm: pd.Series, form: str,
            design_capex_musd: pd.Series | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Design matrix, target (log CAPEX less the offset), penalty mask and column names."""
    fixed, pen, offset = design_matrix(projects, diameter_mm, form, design_capex_musd)
    y = np.log(projects["capex_musd"].astype(float) * _escalation(projects)) - offset
    a = np.hstack([fixed.to_numpy(), pen.to_numpy()])
    mask = np.r_[np.zeros(fixed.shape[1]), np.ones(pen.shape[1])]
    return a, y.to_numpy(dtype=float), mask, list(fixed.columns) + list(pen.columns)


def fit_empirical(projects: pd.DataFrame, diameter_mm: pd.Series, *, form: str,
                  ridge: float, design_capex_musd: pd.Series | None = None) -> EmpiricalFit:
    """Fit log CAPEX (M USD of :data:`BASE_YEAR`) by ridge least squares.

    Parameters
    ----------
    projects : pandas.DataFrame
        Validated reference projects (``planner.backtest.costs.projects_from_csv``) indexed
        by name.
    diameter_mm : pandas.Series
        Diameter per project (same index), e.g. the engineering design's.
    form : str
        One of :data:`FORMS`.
    ridge : float
        Penalty on the regional indicators (0: plain least squares).
    design_capex_musd : pandas.Series, optional
        Design CAPEX per project in M USD of its ``capex_year`` (form ``design_capex``).
    """
    a, y, mask, cols = _arrays(projects, diameter_mm, form, design_capex_musd)
    beta = ridge_lstsq(a, y, mask * float(ridge))
    return EmpiricalFit(form, float(ridge), pd.Series(beta, index=cols),
                        tuple(str(n) for n in projects.index))


def predict_empirical(fit: EmpiricalFit, projects: pd.DataFrame, diameter_mm: pd.Series,
                      design_capex_musd: pd.Series | None = None) -> pd.Series:
    """Predicted CAPEX in M USD of each project's ``capex_year``; a region the fit has
    not seen takes the pooled mean (coefficient 0)."""
    fixed, pen, offset = design_matrix(projects, diameter_mm, fit.form, design_capex_musd)
    cols = pd.concat([fixed, pen], axis=1)
    coef = fit.coefficients.reindex(cols.columns).fillna(0.0)
    log_c = cols.to_numpy() @ coef.to_numpy() + offset.to_numpy()
    return pd.Series(np.exp(log_c), index=projects.index) / _escalation(projects)


def _loss(pred: pd.Series, published: pd.Series, criterion: str, tolerance: float) -> float:
    ratio = pred / published.reindex(pred.index)
    if criterion == "hits":
        return -float(((ratio - 1).abs() <= tolerance).mean())
    return float((np.log(ratio) ** 2).mean())


def leave_one_out(projects: pd.DataFrame, diameter_mm: pd.Series, *, form: str,
                  ridge: float, design_capex_musd: pd.Series | None = None) -> pd.Series:
    """Each project predicted by a fit on the others at a given ridge penalty (a region
    seen only in the held-out project takes the pooled mean)."""
    a, y, mask, _ = _arrays(projects, diameter_mm, form, design_capex_musd)
    _, _, offset = design_matrix(projects, diameter_mm, form, design_capex_musd)
    esc = _escalation(projects).to_numpy()
    out = np.empty(len(projects))
    for i in range(len(projects)):
        keep = np.arange(len(projects)) != i
        beta = ridge_lstsq(a[keep], y[keep], mask * float(ridge))
        beta[(mask > 0) & ~a[keep].any(axis=0)] = 0.0  # unseen region: pooled mean
        out[i] = math.exp(float(a[i] @ beta) + float(offset.iloc[i])) / esc[i]
    return pd.Series(out, index=projects.index, dtype=float)


def fit_with_inner_ridge(projects: pd.DataFrame, diameter_mm: pd.Series, *, form: str,
                         ridge_grid: Sequence[float] = RIDGE_GRID, criterion: str = "sq",
                         tolerance: float = 0.30, design_capex_musd: pd.Series | None = None
                         ) -> tuple[EmpiricalFit, pd.Series]:
    """Choose the ridge penalty by leave-one-out on ``projects`` (squared log error,
    ``criterion="sq"``, or the share within ``tolerance``, ``"hits"``; ties: the larger
    penalty), then fit on all of them. Returns the fit and the inner leave-one-out
    predictions at the chosen penalty."""
    if criterion not in ("sq", "hits"):
        raise ValueError(f"criterion must be 'sq' or 'hits'; got {criterion!r}")
    pub = projects["capex_musd"].astype(float)
    inner = {k: leave_one_out(projects, diameter_mm, form=form, ridge=k,
                              design_capex_musd=design_capex_musd) for k in ridge_grid}
    best = min(ridge_grid, key=lambda k: (_loss(inner[k], pub, criterion, tolerance), -k))
    return fit_empirical(projects, diameter_mm, form=form, ridge=best,
                         design_capex_musd=design_capex_musd), inner[best]


def combine_geometric(engineering: pd.Series, empirical: pd.Series,
                      weight: float = 0.5) -> pd.Series:
    """Weighted geometric mean ``engineering**w × empirical**(1-w)``.

    Examples
    --------
    >>> combine_geometric(pd.Series([4.0]), pd.Series([1.0])).tolist()
    [2.0]
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be in [0, 1]; got {weight}")
    return np.exp(weight * np.log(engineering) + (1 - weight) * np.log(empirical))


__all__ = [
    "FORMS",
    "RIDGE_GRID",
    "EmpiricalFit",
    "combine_geometric",
    "design_matrix",
    "fit_empirical",
    "fit_with_inner_ridge",
    "leave_one_out",
    "predict_empirical",
    "ridge_lstsq",
]
