"""The measured error of the engineering CAPEX model, and the range it puts on a CAPEX.

``planner/data/capex_error.csv`` holds, per built line, the cost backtest's
``capex_ratio`` (predicted CAPEX over the published figure, as in the ``costs.csv`` of
``planner backtest costs``) on lines the calibration was not fitted on:

- ``set = leave-one-out``, round 9: the 83 designed lines of the shipped reference set,
  each predicted by a calibration fitted on the other 82 (``planner backtest costs --out
  DIR`` at commit 265f0a2, the shipped 83-line calibration, 2026-12-02);
- ``set = held-out``, rounds 1-6, 8 and 9: the 63 fresh lines of the eight held-out
  rounds, each scored once with the calibration of its round (``calibration_lines``:
  27, 37, 49, 57, 67, 73, 78 and 83 lines); rounds 1-8 as recorded in the README's round
  tables (two decimals), round 9 from its ``costs.csv`` (``recorded_in`` says where).

A study's CAPEX is a prediction, so the cost a built line would have is ``CAPEX /
capex_ratio``: :func:`capex_error_band` gives quantiles of that factor (published over
predicted), and :func:`capex_band` multiplies a CAPEX by them. The band assumes the
factor does not depend on the route (its size, region, terrain or year): it is the
spread over whole built lines, not a model of which routes are dearer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from planner import economics
from planner._checks import ProblemsError

CAPEX_ERROR_CSV = economics.DATA_DIR / "capex_error.csv"

COLUMNS = ("name", "set", "round", "calibration_lines", "capex_ratio", "recorded_in")
SETS = ("leave-one-out", "held-out")

#: Which rows each basis takes. ``shipped``: the rows scored with the shipped (83-line)
#: calibration, its leave-one-out and the ninth held-out set; ``held-out``: the fresh
#: lines of every round, each with its round's calibration; ``leave-one-out``: the 83
#: lines alone; ``all``: every row.
BASES = ("shipped", "held-out", "leave-one-out", "all")

#: The calibration studies use: the number of designed lines it was fitted on.
SHIPPED_CALIBRATION_LINES = 83

#: The quantiles studies report (``capex_musd_p10``, ``capex_musd_p90``).
BAND_QUANTILES = (0.1, 0.9)


class CapexErrorTableError(ProblemsError):
    """A CAPEX error table failed validation (every problem listed)."""

    label = "CAPEX error table"


def capex_error_from_csv(path: str | Path | None = None) -> pd.DataFrame:
    """Read and validate a CAPEX error table (default: the shipped one).

    Parameters
    ----------
    path : str or Path, optional
        A CSV with the columns ``name, set, round, calibration_lines, capex_ratio,
        recorded_in``.

    Returns
    -------
    pandas.DataFrame
        One row per scored line; ``round`` and ``calibration_lines`` as int,
        ``capex_ratio`` as float.

    Raises
    ------
    CapexErrorTableError
        Naming the file and every bad row (its line in the file) and field.

    Examples
    --------
    >>> t = capex_error_from_csv()
    >>> t.groupby("set").size().to_dict()
    {'held-out': 63, 'leave-one-out': 83}
    """
    path = Path(path) if path is not None else CAPEX_ERROR_CSV
    if not path.is_file():
        raise CapexErrorTableError(str(path), ["no such file"])
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CapexErrorTableError(str(path), [f"not a readable CSV file ({exc})"]) from None
    return _validate(df, str(path))


def _validate(df: pd.DataFrame, source: str) -> pd.DataFrame:
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise CapexErrorTableError(source, [f"missing columns {missing}; the header needs "
                                            f"{list(COLUMNS)}"])
    if df.empty:
        raise CapexErrorTableError(source, ["no rows (the file has a header only)"])
    problems: list[str] = []
    out = df.copy()
    for i, r in df.iterrows():
        where = f"line {int(str(i)) + 2}"
        if not str(r["name"]).strip():
            problems.append(f"{where}: name is empty; give the line's name")
        if r["set"] not in SETS:
            problems.append(f"{where}: set is {r['set']!r}; use one of {', '.join(SETS)}")
        for c in ("round", "calibration_lines"):
            try:
                v = int(str(r[c]))
                if v < 1:
                    raise ValueError
            except ValueError:
                problems.append(f"{where}: {c} is {r[c]!r}; give a whole number >= 1")
        try:
            ratio = float(str(r["capex_ratio"]))
            if not math.isfinite(ratio) or ratio <= 0:
                raise ValueError
        except ValueError:
            problems.append(f"{where}: capex_ratio is {r['capex_ratio']!r}; give predicted "
                            "over published CAPEX, a number > 0")
        if not str(r["recorded_in"]).strip():
            problems.append(f"{where}: recorded_in is empty; say where the ratio is recorded")
    dup = df[df.duplicated(["name", "set", "round"], keep=False)]
    for i, d in dup.iterrows():
        problems.append(f"line {int(str(i)) + 2}: {d['name']!r} appears more than once in "
                        f"set {d['set']!r}, round {d['round']!r}")
    if problems:
        raise CapexErrorTableError(source, problems)
    out["round"] = out["round"].astype(int)
    out["calibration_lines"] = out["calibration_lines"].astype(int)
    out["capex_ratio"] = out["capex_ratio"].astype(float)
    return out


def _rows(table: pd.DataFrame, basis: str) -> pd.DataFrame:
    if basis == "shipped":
        return table[table["calibration_lines"] == SHIPPED_CALIBRATION_LINES]
    if basis in ("held-out", "leave-one-out"):
        return table[table["set"] == basis]
    if basis == "all":
        return table
    raise ValueError(f"basis must be one of {', '.join(BASES)}; got {basis!r}")


@lru_cache(maxsize=1)
def _shipped() -> pd.DataFrame:
    return capex_error_from_csv()


def cost_factors(basis: str = "shipped", table: pd.DataFrame | None = None) -> pd.Series:
    """Published over predicted CAPEX (``1 / capex_ratio``) of the rows of ``basis``.

    Examples
    --------
    >>> f = cost_factors("leave-one-out")
    >>> len(f), round(float(((1 / f - 1).abs() <= 0.3).mean()), 3)
    (83, 0.542)
    """
    t = _rows(_shipped() if table is None else table, basis)
    return (1.0 / t["capex_ratio"]).rename("cost_factor")


def capex_error_band(q: Sequence[float] = BAND_QUANTILES, basis: str = "shipped",
                     table: pd.DataFrame | None = None) -> pd.Series:
    """Quantiles of the measured cost factor (published over predicted CAPEX).

    A study CAPEX times the ``q`` quantile is the cost below which the share ``q`` of
    the measured lines would fall (quantiles by linear interpolation, numpy's default).

    Parameters
    ----------
    q : sequence of float
        Quantiles in [0, 1]; default P10 and P90.
    basis : {'shipped', 'held-out', 'leave-one-out', 'all'}
        Which rows (see :data:`BASES`); the default is the shipped calibration's own
        error: its leave-one-out on 83 lines and the ninth held-out set, 88 lines.
    table : pandas.DataFrame, optional
        A table from :func:`capex_error_from_csv` (default: the shipped one).

    Returns
    -------
    pandas.Series
        The factor at each quantile, indexed by ``q``.

    Examples
    --------
    >>> capex_error_band((0.1, 0.5, 0.9)).round(3).tolist()
    [0.484, 0.99, 1.486]
    >>> capex_error_band((0.1, 0.5, 0.9), basis="held-out").round(3).tolist()
    [0.454, 0.73, 1.475]
    """
    qs = [float(x) for x in q]
    if any(not 0 <= x <= 1 for x in qs):
        raise ValueError(f"quantiles must be in [0, 1]; got {list(q)!r}")
    f = cost_factors(basis, table).to_numpy()
    return pd.Series(np.quantile(f, qs), index=pd.Index(qs, name="q"), name="cost_factor")


def log_factor_moments(basis: str = "shipped", table: pd.DataFrame | None = None
                       ) -> tuple[float, float]:
    """Mean and standard deviation (n - 1) of the log cost factor: the ``mean`` and
    ``sigma`` of a lognormal cost multiplier with the measured spread.

    Examples
    --------
    >>> [round(v, 4) for v in log_factor_moments()]
    [-0.0523, 0.4852]
    """
    lf = np.log(cost_factors(basis, table).to_numpy())
    return float(lf.mean()), float(lf.std(ddof=1))


#: The reference sets whose ``country`` column gives each scored line's cost region.
REGION_SOURCES = (economics.DATA_DIR / "reference_projects.csv",
                  economics.DATA_DIR / "reference_projects_holdout9.csv")


@lru_cache(maxsize=1)
def _line_countries() -> pd.Series:
    """``country`` of every line of the shipped reference sets, by name (the first set's
    row where a name repeats)."""
    lines = pd.concat([pd.read_csv(f, usecols=["name", "country"], dtype=str,
                                   keep_default_na=False) for f in REGION_SOURCES])
    return lines.drop_duplicates("name").set_index("name")["country"]


def line_regions(names: Sequence[str] | None = None) -> pd.Series:
    """Each line's cost region: the region (``planner/data/cost_regions.csv``) of the
    first country of its ``country`` in the shipped reference sets (:data:`REGION_SOURCES`).

    The first country's, because the backtest gives a line of several regions the mean of
    their factors, not one region; of the 88 lines of the shipped basis one spans two
    regions (Korpeje-Kurt Kui, TKM;IRN), and keeping it costs nothing the split needs.

    Raises
    ------
    ValueError
        Naming every line of ``names`` that no reference set holds, or whose first country
        has no cost region.

    Examples
    --------
    >>> line_regions(["Ruby Pipeline", "Korpeje-Kurt Kui"]).tolist()
    ['north_america', 'central_asia']
    """
    ref = _line_countries()
    table = economics.load_cost_regions().set_index("iso_a3")["region"]
    first = ref.str.split(";").str[0].str.strip().str.upper()
    regions = first.map(table).rename("region")
    if names is None:
        return regions.dropna()
    wanted = list(names)
    problems = [f"{n!r}: not in {', '.join(f.name for f in REGION_SOURCES)}"
                for n in wanted if n not in regions.index]
    problems += [f"{n!r}: country {first[n]!r} has no cost region in cost_regions.csv"
                 for n in wanted if n in regions.index and pd.isna(regions[n])]
    if problems:
        raise ValueError("cost regions of the CAPEX error table: " + "; ".join(problems))
    return regions.reindex(wanted)


def log_factor_anova(basis: str = "shipped", table: pd.DataFrame | None = None,
                     groups: pd.Series | None = None) -> dict[str, float]:
    """One-way random-effects split of the log cost factor by group (default: cost region,
    :func:`line_regions`), by the ANOVA method of moments for unbalanced groups.

    With ``k`` groups of ``n_i`` lines (``N`` in all), ``MSB = Σ n_i (ȳ_i - ȳ)² / (k - 1)``,
    ``MSW = ΣΣ (y_ij - ȳ_i)² / (N - k)`` and ``n0 = (N - Σ n_i² / N) / (k - 1)``: the
    within-group variance ``sigma2_within = MSW`` and the between-group variance
    ``sigma2_between = max(0, (MSB - MSW) / n0)``, from ``E[MSB] = sigma2_within + n0 ·
    sigma2_between`` (Searle, Casella and McCulloch, *Variance Components*, Wiley 1992,
    the one-way classification with unbalanced data); ``icc`` is ``sigma2_between`` over
    the sum. The F ratio ``MSB / MSW`` is that of :func:`scipy.stats.f_oneway`.
    ``icc_upper95`` is the approximate one-sided 95 % upper confidence bound on ``icc``,
    ``(F / F_0.05 - 1) / (F / F_0.05 + n0 - 1)`` with ``F_0.05`` the 5 % quantile of the F
    distribution on ``k - 1`` and ``N - k`` degrees of freedom (exact for balanced groups,
    Searle et al. section 3.5; ``n0`` for the group size otherwise).

    Descriptive only: on leave-one-out rows each region's factor was fitted on the
    region's other lines, so its rows' errors are negatively correlated and the ANOVA
    finds no between-region part whatever the truth (``benchmarks/loo_anova_simulation.py``);
    what a study's routes share is measured by :func:`log_factor_components`.

    Parameters
    ----------
    basis, table
        Which rows (see :func:`capex_error_band`).
    groups : pandas.Series, optional
        Each row's group, indexed by line name (default: :func:`line_regions`, which
        knows the lines of the shipped basis; the held-out rows of rounds 1-8 are
        recorded under short names the reference sets do not hold, so other bases need
        ``groups``).

    Returns
    -------
    dict
        ``lines``, ``groups``, ``n0``, ``msb``, ``msw``, ``f`` (MSB / MSW),
        ``sigma2_between``, ``sigma2_within``, ``icc``, ``icc_upper95`` and
        ``sample_variance`` (n - 1).

    Examples
    --------
    >>> a = log_factor_anova()
    >>> a["lines"], a["groups"], round(a["f"], 3), a["sigma2_between"], round(a["msw"], 4)
    (88, 10, 0.752, 0.0, 0.2416)
    >>> round(a["icc_upper95"], 3)
    0.125
    """
    t = _rows(_shipped() if table is None else table, basis)
    y = np.log(1.0 / t["capex_ratio"].to_numpy(dtype=float))
    g = (line_regions(t["name"].tolist()) if groups is None
         else groups.reindex(t["name"].tolist())).to_numpy()
    if pd.isna(g).any():
        raise ValueError("every row needs a group; missing for "
                         f"{t['name'][pd.isna(g)].tolist()}")
    frame = pd.DataFrame({"y": y, "g": g})
    by = frame.groupby("g")["y"]
    n = by.size().to_numpy(dtype=float)
    k, total = len(n), float(n.sum())
    if k < 2 or total <= k:
        raise ValueError(f"the split needs at least 2 groups and more lines than groups; "
                         f"got {k} groups of {int(total)} lines")
    msb = float((n * (by.mean().to_numpy() - y.mean()) ** 2).sum()) / (k - 1)
    msw = float(((y - by.transform("mean").to_numpy()) ** 2).sum()) / (total - k)
    n0 = (total - float((n ** 2).sum()) / total) / (k - 1)
    between = max(0.0, (msb - msw) / n0)
    f_up = (msb / msw) / float(stats.f.ppf(0.05, k - 1, total - k))
    return {"lines": int(total), "groups": k, "n0": n0, "msb": msb, "msw": msw,
            "f": msb / msw, "sigma2_between": between, "sigma2_within": msw,
            "icc": between / (between + msw),
            "icc_upper95": min(1.0, max(0.0, (f_up - 1) / (f_up + n0 - 1))),
            "sample_variance": float(y.var(ddof=1))}


def regional_factor_weights(region: str, basis: str = "shipped",
                            table: pd.DataFrame | None = None) -> pd.Series:
    """How often each line the calibration was fitted on enters ``region``'s factor.

    ``planner backtest costs`` fits a region's factor as ``log f = Σ log r / (m + k)``
    (``_fit_factors``: each line's log residual is appended once per country of its
    ``country`` in the region, ``m`` the number of entries, ``k`` the
    ``regional_factor_shrinkage``), so a line of three countries of one region counts three
    times. The lines are the ``leave-one-out`` rows of ``basis`` (the shipped calibration's
    83 lines); the weight is the number of the line's countries in ``region`` (lines with
    none are left out).

    Examples
    --------
    >>> regional_factor_weights("central_asia").to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'Central Asia-China A/B': 3, 'East-West (Turkmenistan)': 1, 'Korpeje-Kurt Kui': 1,
     'Kamchik Pass gas pipeline (to the Fergana valley)': 1,
     'Central Karakum-Yylanly gas pipeline (Itera, Turkmenistan)': 1}
    """
    t = _rows(_shipped() if table is None else table, basis)
    names = t.loc[t["set"] == "leave-one-out", "name"].tolist()
    from planner.backtest.costs import _regions  # the regions the fit appends by

    ref = _line_countries().reindex(names).fillna("")
    counts = ref.map(lambda c: _regions(c).count(region))
    return counts[counts > 0].astype(int).rename("entries")


def log_factor_components(region: str, basis: str = "shipped",
                          table: pd.DataFrame | None = None, groups: pd.Series | None = None,
                          shrinkage: float | None = None) -> tuple[float, float, float]:
    """Mean of the log cost factor and its standard deviation split into a part every
    route of one cost region shares (a study's) and a part of each route alone.

    What the routes of a region share is the estimation error of the region's fitted
    factor: with every calibration line's log residual about its region's true factor of
    variance ``σ_w²`` and the factor fitted as ``log f = Σ c_i log r_i / (Σ c_i + k)``
    (:func:`regional_factor_weights` gives ``c_i``; ``k`` the shipped
    ``regional_factor_shrinkage``), the fitted factor's variance about its mean is
    ``σ_w² · Σ c_i² / (Σ c_i + k)²`` (``σ_w² · n / (n + k)²`` when each line counts once).
    That is ``sigma_common²``; ``σ_w²`` is the within-region mean square of
    :func:`log_factor_anova` (on leave-one-out rows it overstates ``σ_w²`` a little, by
    about ``((n + k) / (n - 1 + k))²`` per region, so it errs toward a larger common part);
    the shrinkage's pull toward 1 (a bias of ``k / (n + k)`` of the true effect, unknown)
    is left out. ``sigma_route² = sigma² - sigma_common²`` with ``sigma²`` the sample
    variance of :func:`log_factor_moments`, so a route's product of the common and its
    own lognormal (means adding to ``mean``) keeps the measured lognormal.

    The between-region ANOVA is not used: on leave-one-out rows each region's factor was
    fitted on the region's other lines, which makes its rows' errors negatively
    correlated, and the ANOVA finds no between-region part whatever the truth
    (``benchmarks/loo_anova_simulation.py``).

    Parameters
    ----------
    region : str
        A cost region of ``planner/data/cost_regions.csv`` (the default study's new pipe
        is in ``central_asia``).
    basis, table, groups
        As for :func:`log_factor_anova`.
    shrinkage : float, optional
        ``k`` (default: the shipped ``regional_factor_shrinkage``).

    Returns
    -------
    tuple of float
        ``(mean, sigma_common, sigma_route)``.

    Raises
    ------
    ValueError
        When no calibration line is in ``region`` (its factor is 1 by definition, not an
        estimate, so this measures nothing about it).

    Examples
    --------
    >>> [round(v, 4) for v in log_factor_components("central_asia")]
    [-0.0523, 0.2444, 0.4191]
    """
    mean, sigma = log_factor_moments(basis, table)
    c = regional_factor_weights(region, basis, table).to_numpy(dtype=float)
    if not len(c):
        raise ValueError(f"no line of the calibration is in cost region {region!r}: its "
                         "factor is 1 by definition, so its estimation error is not measured")
    k = float(economics.parameter("regional_factor_shrinkage")) if shrinkage is None \
        else float(shrinkage)
    within = log_factor_anova(basis, table, groups)["sigma2_within"]
    common2 = min(sigma ** 2, within * float((c ** 2).sum()) / (float(c.sum()) + k) ** 2)
    return mean, math.sqrt(common2), math.sqrt(sigma ** 2 - common2)


def capex_band(capex_musd: pd.Series, q: Sequence[float] = BAND_QUANTILES,
               basis: str = "shipped") -> pd.DataFrame:
    """``capex_musd`` times the measured factor quantiles, on the input's index.

    Columns ``capex_musd_p10`` and ``capex_musd_p90`` for the default quantiles
    (``capex_musd_pNN`` in general); NaN stays NaN.

    Examples
    --------
    >>> b = capex_band(pd.Series([1000.0, float("nan")], index=["a", "b"]))
    >>> b.round(1).to_dict("list")
    {'capex_musd_p10': [483.9, nan], 'capex_musd_p90': [1486.1, nan]}
    """
    qs = [float(x) for x in q]
    band = capex_error_band(qs, basis).to_numpy()
    return pd.DataFrame({f"capex_musd_p{round(x * 100):02d}": capex_musd.astype(float) * f
                         for x, f in zip(qs, band, strict=True)}, index=capex_musd.index)


def with_capex_band(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``capex_musd_p10`` and ``capex_musd_p90`` (from its ``capex_musd``)
    added; a frame without ``capex_musd`` is returned as it is."""
    if "capex_musd" not in frame.columns:
        return frame
    band = capex_band(frame["capex_musd"])
    return frame.assign(**{c: band[c] for c in band.columns})
