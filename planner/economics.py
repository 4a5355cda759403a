"""Costs, tariffs and who gains what: CAPEX, OPEX, levelized tariff, per-country split.

Every cost parameter lives in one table, ``planner/data/cost_parameters.csv`` (columns
``parameter, value, unit, currency_year, source, note``), loaded and validated by
:func:`load_cost_parameters`. Money is escalated between currency years explicitly with an
index from ``planner/data/escalation_index.csv`` (US CPI-U by default, or CEPCI; 1995 on),
and regional adjustment is a named parameter (``regional_factor_*``, fitted on built lines
by ``planner backtest costs``), never a number buried in code. The default region is
``"none"`` (1.0, the US basis of the NETL regressions); :func:`regional_factor_for` gives
a route's factor from its countries (``planner/data/cost_regions.csv``).

Units are in the names: ``*_usd`` (US dollars of ``currency_year``), ``*_km``, ``*_mm``,
``*_bcm_y``, tariffs in USD per 1000 standard m³ (``usd_per_1000m3``) and per 1000 m³
per 100 km.

Examples
--------
>>> capital_recovery_factor(0.08, 30)  # doctest: +ELLIPSIS
0.0888...
"""

from __future__ import annotations

import logging
import math
import weakref
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely import LineString, MultiLineString

from planner._checks import non_negative as _non_negative
from planner._checks import positive as _positive
from planner.geodesy import GEOD as _GEOD

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
COST_PARAMETERS_CSV = DATA_DIR / "cost_parameters.csv"
ESCALATION_INDEX_CSV = DATA_DIR / "escalation_index.csv"
COST_REGIONS_CSV = DATA_DIR / "cost_regions.csv"
COST_COLUMNS = ("parameter", "value", "unit", "currency_year", "source", "note")
#: The regional factor used when none is given: ``"none"`` (1.0, the US basis of the
#: NETL regressions). A study names its region's ``regional_factor_*`` parameter, or
#: gets one from the route's countries with :func:`regional_factor_for`.
DEFAULT_REGIONAL_FACTOR = "none"

#: Default currency year of results.
DEFAULT_CURRENCY_YEAR = 2023
MM_PER_INCH = 25.4
_KM_PER_MILE = 1.609344
_KW_PER_HP = 0.745699872  # mechanical horsepower (550 ft·lbf/s)




# --------------------------------------------------------------------------------------
# The parameter table and escalation


def load_cost_parameters(path: str | Path | None = None) -> pd.DataFrame:
    """Load and validate the cost parameter table.

    Every row needs a unique ``parameter`` name, a finite numeric ``value``, a ``unit`` and
    a ``source``; monetary rows (unit containing ``USD``) need a ``currency_year``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``parameter``.

    Raises
    ------
    ValueError
        Naming the file, the rows and the column at fault.

    Examples
    --------
    >>> t = load_cost_parameters()
    >>> float(t.loc["compressor_usd_per_hp", "value"])
    3100.0
    """
    path = Path(path) if path is not None else COST_PARAMETERS_CSV
    df = pd.read_csv(path, dtype={"parameter": str, "unit": str, "source": str, "note": str})
    missing = [c for c in COST_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; expected {list(COST_COLUMNS)}")
    problems = []
    dup = df["parameter"][df["parameter"].duplicated()].tolist()
    if dup:
        problems.append(f"duplicate parameter names {dup}")
    values = pd.to_numeric(df["value"], errors="coerce")
    bad = df.loc[values.isna() | ~np.isfinite(values.fillna(0)), "parameter"].tolist()
    if bad:
        problems.append(f"column 'value' is not a finite number for {bad}")
    no_source = df.loc[df["source"].fillna("").str.strip() == "", "parameter"].tolist()
    if no_source:
        problems.append(f"column 'source' is empty for {no_source}")
    no_unit = df.loc[df["unit"].fillna("").str.strip() == "", "parameter"].tolist()
    if no_unit:
        problems.append(f"column 'unit' is empty for {no_unit}")
    money = df["unit"].fillna("").str.contains("USD")
    years = pd.to_numeric(df["currency_year"], errors="coerce")
    no_year = df.loc[money & years.isna(), "parameter"].tolist()
    if no_year:
        problems.append(f"column 'currency_year' is empty for monetary parameters {no_year}")
    problems += _trend_rows_problems(dict(zip(df["parameter"], values, strict=True)))
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    out = df.assign(value=values.astype(float), currency_year=years).set_index("parameter")
    out.attrs["source_file"] = str(path)
    return out


def _trend_rows_problems(values: dict[str, float]) -> list[str]:
    """Problems of the pipe-cost trend's rows: a non-zero ``pipe_cost_trend_per_year``
    needs the rows saying which lines it was fitted on (0 or 1) and their year range, so a
    table cannot apply a slope to lines or years it was not fitted on without saying so."""
    b = values.get("pipe_cost_trend_per_year")
    if b is None or not np.isfinite(b) or b == 0:
        return []
    names = ("pipe_cost_trend_all_regions", "pipe_cost_trend_first_year",
             "pipe_cost_trend_last_year")
    out = []
    missing = [n for n in names if n not in values]
    if missing:
        out.append(f"rows {missing} are missing: a non-zero 'pipe_cost_trend_per_year' needs "
                   "them (which lines it was fitted on, 1 all regions or 0 US only, and "
                   "their first and last capex_year; `planner backtest costs` writes them in "
                   "fitted_parameters.csv)")
    regions = values.get("pipe_cost_trend_all_regions")
    if regions is not None and regions not in (0.0, 1.0):
        out.append(f"'pipe_cost_trend_all_regions' is {regions:g}; use 1 (fitted on every "
                   "region's lines) or 0 (US lines only)")
    first = values.get("pipe_cost_trend_first_year")
    last = values.get("pipe_cost_trend_last_year")
    if first is not None and last is not None and first > last:
        out.append(f"'pipe_cost_trend_first_year' ({first:g}) is after "
                   f"'pipe_cost_trend_last_year' ({last:g})")
    return out


@lru_cache(maxsize=1)
def _default_parameters() -> pd.DataFrame:
    return load_cost_parameters()


def _params(params: pd.DataFrame | None) -> pd.DataFrame:
    return _default_parameters() if params is None else params


def parameter(name: str, params: pd.DataFrame | None = None,
              currency_year: int | None = None, index: str = "cpi_u") -> float:
    """A parameter's value, escalated to ``currency_year`` when it is monetary.

    Examples
    --------
    >>> parameter("discount_rate")
    0.08
    >>> parameter("no_such_thing")
    Traceback (most recent call last):
    ...
    ValueError: unknown cost parameter 'no_such_thing'; see planner/data/cost_parameters.csv
    """
    t = _params(params)
    if name not in t.index:
        raise ValueError(
            f"unknown cost parameter {name!r}; see planner/data/cost_parameters.csv"
        )
    value, year = _lookup(t)[name]
    if currency_year is not None and pd.notna(year):
        value = escalate(value, int(year), currency_year, index=index)
    return value


_LOOKUPS: dict[int, tuple[weakref.ref, dict[str, tuple[float, float]]]] = {}


def _lookup(t: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """``{parameter: (value, currency_year)}`` of a table, cached per table object (the
    cost functions read parameters thousands of times when designs are compared)."""
    hit = _LOOKUPS.get(id(t))
    if hit is not None and hit[0]() is t:
        return hit[1]
    d = {str(k): (float(v), y) for k, v, y in zip(t.index, t["value"], t["currency_year"],
                                                  strict=True)}
    _LOOKUPS[id(t)] = (weakref.ref(t), d)
    return d


@lru_cache(maxsize=1)
def load_escalation_index(path: str | None = None) -> pd.DataFrame:
    """The escalation indices (columns ``index, year, value, source``).

    Examples
    --------
    >>> sorted(load_escalation_index()["index"].unique())
    ['cepci', 'cpi_u']
    """
    df = pd.read_csv(path or ESCALATION_INDEX_CSV)
    for col in ("index", "year", "value", "source"):
        if col not in df.columns:
            raise ValueError(f"{path or ESCALATION_INDEX_CSV}: missing column {col!r}")
    if (df["value"] <= 0).any() or df.duplicated(["index", "year"]).any():
        raise ValueError(f"{path or ESCALATION_INDEX_CSV}: values must be > 0 and unique per year")
    return df


def escalate(value_usd: float, from_year: int, to_year: int, index: str = "cpi_u") -> float:
    """Money of ``from_year`` expressed in ``to_year`` dollars: ``value × I(to) / I(from)``.

    Parameters
    ----------
    index : {"cpi_u", "cepci"}
        US CPI-U (BLS) or the Chemical Engineering Plant Cost Index.

    Examples
    --------
    >>> round(escalate(100.0, 2011, 2023), 2)   # 100 * 304.702 / 224.939
    135.46
    >>> escalate(1.0, 1900, 2023)
    Traceback (most recent call last):
    ...
    ValueError: from_year 1900 is not in the cpi_u index (1995-2024)
    """
    series = _index_series()
    if index not in series:
        raise ValueError(f"index must be one of {sorted(series)}; got {index!r}")
    s = series[index]
    for name, y in (("from_year", from_year), ("to_year", to_year)):
        if int(y) not in s:
            raise ValueError(f"{name} {y} is not in the {index} index ({min(s)}-{max(s)})")
    return float(value_usd) * s[int(to_year)] / s[int(from_year)]


@lru_cache(maxsize=1)
def _index_series() -> dict[str, dict[int, float]]:
    df = load_escalation_index()
    return {str(k): {int(y): float(v) for y, v in zip(g["year"], g["value"], strict=True)}
            for k, g in df.groupby("index")}


# --------------------------------------------------------------------------------------
# Regional factors


@lru_cache(maxsize=1)
def load_cost_regions(path: str | None = None) -> pd.DataFrame:
    """Country (ISO 3166 alpha-3) to cost region (columns ``iso_a3, region, source``).

    Examples
    --------
    >>> load_cost_regions().set_index("iso_a3").loc["KAZ", "region"]
    'central_asia'
    """
    f = path or COST_REGIONS_CSV
    df = pd.read_csv(f, dtype=str)
    missing = [c for c in ("iso_a3", "region", "source") if c not in df.columns]
    if missing:
        raise ValueError(f"{f}: missing columns {missing}")
    dup = df["iso_a3"][df["iso_a3"].duplicated()].tolist()
    if dup:
        raise ValueError(f"{f}: duplicate iso_a3 {dup}")
    return df


def resolve_regional_factor(regional_factor: float | str,
                            params: pd.DataFrame | None = None) -> float:
    """A regional factor as a number: ``"none"`` is 1.0, a string names a parameter.

    Examples
    --------
    >>> resolve_regional_factor("none"), resolve_regional_factor(0.9)
    (1.0, 0.9)
    """
    if isinstance(regional_factor, str):
        if regional_factor == "none":
            return 1.0
        return parameter(regional_factor, params)
    return _positive("regional_factor", regional_factor)


@lru_cache(maxsize=1)
def _region_of() -> dict[str, str]:
    """``{iso_a3: region}`` of the shipped table (read per new arc of every plan solve)."""
    t = load_cost_regions()
    return {str(k): str(v) for k, v in zip(t["iso_a3"], t["region"], strict=True)}


def regional_factor_for(countries: str | dict[str, float] | list[str],
                        params: pd.DataFrame | None = None) -> float:
    """The regional factor of a route from its countries.

    Each country's region (``planner/data/cost_regions.csv``) gives its factor
    (``regional_factor_<region>``); a country not in the table, or a region without a
    factor, counts as ``"none"`` (1.0). Several countries are averaged, weighted by the
    kilometres when a ``{iso_a3: km}`` mapping is given. The result is multiplied by
    ``capex_multiplier`` (1 in the shipped table: a handle on every CAPEX at once for
    sweeps and sensitivity runs, e.g. the cost backtest's measured error; a table without
    the row counts 1).

    Parameters
    ----------
    countries : str, list of str or dict
        ``"KAZ;UZB"``, ``["KAZ", "UZB"]`` or ``{"KAZ": 1200.0, "UZB": 300.0}``.

    Examples
    --------
    >>> f = regional_factor_for("KAZ")
    >>> f == parameter("regional_factor_central_asia")
    True
    >>> regional_factor_for("XXX")
    1.0
    >>> t = load_cost_parameters().copy()
    >>> t.loc["capex_multiplier", "value"] = 1.5
    >>> regional_factor_for("XXX", t), regional_factor_for("KAZ", t) == 1.5 * f
    (1.5, True)
    """
    if isinstance(countries, str):
        weights = {c.strip().upper(): 1.0 for c in countries.split(";") if c.strip()}
    elif isinstance(countries, dict):
        weights = {str(k).upper(): float(v) for k, v in countries.items()}
    else:
        weights = {str(c).strip().upper(): 1.0 for c in countries}
    t = _params(params)
    scale = float(parameter("capex_multiplier", t)) if "capex_multiplier" in t.index else 1.0
    if not weights or sum(weights.values()) <= 0:
        return scale
    regions = _region_of()
    total = 0.0
    for iso, w in weights.items():
        name = f"regional_factor_{regions.get(iso, 'none')}"
        total += w * (parameter(name, t) if name in t.index else 1.0)
    return scale * total / sum(weights.values())


# --------------------------------------------------------------------------------------
# The fitted pipe-cost trend

#: Base year of the pipe-cost trend (the currency year of the NETL regressions): the
#: trend multiplies pipe CAPEX by ``exp(trend × (year − base))`` (:func:`pipe_cost_trend_factor`).
PIPE_TREND_BASE_YEAR = 2011
_TREND_CLAMPED: set[tuple[int, int]] = set()


def in_usa(countries: str | list[str] | dict[str, float] | None) -> bool:
    """Whether a line lies (partly) in the United States: ``countries`` (ISO 3166 alpha-3
    codes, ``;``-separated, or a list, or a dict keyed by them; case and spaces ignored)
    name ``USA``. The one test of "a US line" for the pipe-cost trend fitted on US lines
    only (:func:`pipe_cost_trend_factor`, ``planner backtest costs``).

    Examples
    --------
    >>> in_usa("CAN; usa"), in_usa(["MEX"]), in_usa({"USA": 120.0}), in_usa(None)
    (True, False, True, False)
    """
    if isinstance(countries, str):
        codes = countries.split(";")
    else:
        codes = [str(c) for c in (countries or [])]
    return "USA" in {c.strip().upper() for c in codes}


def pipe_cost_trend_factor(year: int, params: pd.DataFrame | None = None, *,
                           per_year: float | None = None,
                           countries: str | list[str] | dict[str, float] | None = None
                           ) -> float:
    """Multiplier of pipe CAPEX for the fitted yearly pipe-cost trend beyond CPI-U.

    ``exp(b × (year − PIPE_TREND_BASE_YEAR))``: the one formula of the trend, used by
    ``planner backtest costs`` (which fits ``b`` on built lines at their ``capex_year``)
    and by studies (new pipe costed in USD of their currency year, so that a study prices
    new pipe as the validated model does). It multiplies line pipe only, as the terrain
    factor does: not compression, the per-station fixed cost, metering or crossings.

    With ``per_year`` given (the backtest, fitting on its own lines) that slope is applied
    at ``year`` as it is. Otherwise the calibration of the cost table (``params``,
    default the shipped one) is read: ``b`` = ``pipe_cost_trend_per_year`` (0 when the
    table has none); which lines it was fitted on, ``pipe_cost_trend_all_regions`` (1:
    every region's, so every line takes it; 0: US lines only, so a line takes it only
    when ``countries`` name ``USA``, :func:`in_usa`, and no line of unknown country does);
    and the
    ``capex_year`` range of those lines (``pipe_cost_trend_first_year`` to
    ``pipe_cost_trend_last_year``), to which ``year`` is clamped (logged once per year):
    the trend is not extrapolated beyond the years it was fitted on.

    Examples
    --------
    >>> pipe_cost_trend_factor(PIPE_TREND_BASE_YEAR)
    1.0
    >>> b = parameter("pipe_cost_trend_per_year")
    >>> pipe_cost_trend_factor(2023) == math.exp(12 * b)
    True
    >>> pipe_cost_trend_factor(2023, per_year=0.05) == math.exp(12 * 0.05)
    True
    """
    y = int(year)
    if per_year is not None:
        return math.exp(float(per_year) * (y - PIPE_TREND_BASE_YEAR))
    table = _lookup(_params(params))

    def value(name: str, default: float) -> float:
        return table[name][0] if name in table else default

    b = value("pipe_cost_trend_per_year", 0.0)
    if not b:
        return 1.0
    if value("pipe_cost_trend_all_regions", 1.0) != 1.0 and not in_usa(countries):
        return 1.0
    first = int(value("pipe_cost_trend_first_year", y))
    last = int(value("pipe_cost_trend_last_year", y))
    at = min(max(y, first), last)
    if at != y and (y, at) not in _TREND_CLAMPED:
        _TREND_CLAMPED.add((y, at))
        log.info("pipe-cost trend: %d is outside the years it was fitted on (%d-%d); "
                 "applied at %d", y, first, last, at)
    return math.exp(b * (at - PIPE_TREND_BASE_YEAR))


# --------------------------------------------------------------------------------------
# CAPEX and OPEX


def capital_recovery_factor(rate: float, years: float) -> float:
    """``CRF = r (1 + r)^n / ((1 + r)^n - 1)``; ``1/n`` when r = 0.

    Examples
    --------
    >>> round(capital_recovery_factor(0.10, 25), 6)
    0.110168
    """
    r = float(rate)
    if not math.isfinite(r) or r < 0:
        raise ValueError(f"discount_rate must be >= 0, got {rate!r}")
    n = _positive("lifetime_years", years)
    if r == 0:
        return 1.0 / n
    g = (1 + r) ** n
    return r * g / (g - 1)


def pipeline_capex_usd(
    diameter_mm: float,
    length_km: float,
    *,
    strings: int = 1,
    terrain_factor: float = 1.0,
    crossing_factor: float = 1.0,
    regional_factor: float | str = DEFAULT_REGIONAL_FACTOR,
    currency_year: int = DEFAULT_CURRENCY_YEAR,
    index: str = "cpi_u",
    params: pd.DataFrame | None = None,
    wall_thickness_mm: float | None = None,
    offshore_km: float = 0.0,
) -> pd.Series:
    """CAPEX of line pipe by component from the NETL regressions.

    ``component = fixed + mult · L · (d2 D² + d1 D + d0)`` (materials, labour) or
    ``fixed + mult · L · (d1 D + d0)`` (miscellaneous, right of way), D in inches and L in
    miles, 2011 USD, then times the terrain, crossing and regional factors and escalated to
    ``currency_year``. Parallel strings are costed as separate lines.

    With ``wall_thickness_mm`` the materials scale with the steel tonnage: times
    ``t / t_ref`` where ``t_ref`` is the Barlow wall of the same diameter at
    ``netl_reference_pressure_mpa`` (X70, F = 0.72), the typical MAOP of the US lines
    behind the regression. So a higher pressure class costs more steel.

    Offshore sections are refused: the table holds no published offshore cost figure.

    Parameters
    ----------
    diameter_mm : float
        Outside diameter, mm.
    length_km : float
        Route length, km.
    strings : int
        Parallel strings (looping).
    terrain_factor, crossing_factor : float
        Multipliers the route met (length-weighted means from the cost surface).
    regional_factor : float or str
        A number, the name of a ``regional_factor_*`` parameter, or ``"none"`` (1.0, the
        default; see :func:`regional_factor_for`).
    wall_thickness_mm : float, optional
        Wall of the line pipe; scales the materials by steel tonnage (see above).
    offshore_km : float
        Kilometres of the route offshore; anything above 0 raises ``ValueError``.

    Returns
    -------
    pandas.Series
        ``materials``, ``labour``, ``misc``, ``row`` and ``total`` in USD of ``currency_year``.

    Examples
    --------
    >>> c = pipeline_capex_usd(1067, 100, regional_factor=1.0, currency_year=2011)
    >>> round(float(c["total"]) / 1e6, 1)
    227.5
    """
    d_in = _positive("diameter_mm", diameter_mm) / MM_PER_INCH
    l_mi = _positive("length_km", length_km) / _KM_PER_MILE
    n = int(strings)
    if n < 1:
        raise ValueError(f"strings must be >= 1, got {strings!r}")
    tf = _positive("terrain_factor", terrain_factor)
    cf = _positive("crossing_factor", crossing_factor)
    rf = resolve_regional_factor(regional_factor, params)
    if _non_negative("offshore_km", offshore_km) > 0:
        raise ValueError(
            f"offshore_km={offshore_km:g}: offshore sections are not costed (the NETL "
            "regressions are for onshore lines and planner/data/cost_parameters.csv holds no "
            "published offshore cost figure); cost the onshore part only (offshore_km=0) and "
            "add the offshore section from a published figure"
        )
    p = _params(params)

    def v(name: str) -> float:
        return parameter(name, p)

    out = {}
    for comp in ("materials", "labour"):
        out[comp] = v(f"netl_{comp}_fixed") + v(f"netl_{comp}_mult") * l_mi * (
            v(f"netl_{comp}_d2") * d_in**2 + v(f"netl_{comp}_d1") * d_in + v(f"netl_{comp}_d0"))
    if wall_thickness_mm is not None:
        from planner.hydraulics import wall_thickness_mm as barlow_wall

        t = _positive("wall_thickness_mm", wall_thickness_mm)
        t_ref = barlow_wall(float(diameter_mm), v("netl_reference_pressure_mpa"))
        out["materials"] *= t / t_ref
    for comp in ("misc", "row"):
        out[comp] = v(f"netl_{comp}_fixed") + v(f"netl_{comp}_mult") * l_mi * (
            v(f"netl_{comp}_d1") * d_in + v(f"netl_{comp}_d0"))
    base_year = int(_lookup(p)["netl_materials_fixed"][1])
    factor = n * tf * cf * rf * escalate(1.0, base_year, currency_year, index=index)
    # one Series at the end: designs are compared by the hundred (cheapest_design)
    parts = {k: x * factor for k, x in out.items()}
    parts["total"] = sum(parts.values())
    return pd.Series(parts)


def compressor_capex_usd(power_kw: float, *, currency_year: int = DEFAULT_CURRENCY_YEAR,
                         regional_factor: float | str = DEFAULT_REGIONAL_FACTOR,
                         index: str = "cpi_u", params: pd.DataFrame | None = None) -> float:
    """CAPEX of compressor stations: installed power (kW → hp) times USD per hp.

    Examples
    --------
    >>> round(compressor_capex_usd(745.699872, regional_factor=1.0, currency_year=2020))
    3100000
    """
    kw = _non_negative("power_kw", power_kw)
    rf = resolve_regional_factor(regional_factor, params)
    usd_hp = parameter("compressor_usd_per_hp", params, currency_year, index)
    return kw / _KW_PER_HP * usd_hp * rf


def metering_capex_usd(border_crossings: int, *, currency_year: int = DEFAULT_CURRENCY_YEAR,
                       index: str = "cpi_u", params: pd.DataFrame | None = None) -> float:
    """CAPEX of fiscal metering: one station per border crossing.

    >>> metering_capex_usd(2, currency_year=2020)
    30000000.0
    """
    n = int(border_crossings)
    if n < 0:
        raise ValueError(f"border_crossings must be >= 0, got {border_crossings!r}")
    return n * parameter("metering_station_usd", params, currency_year, index)


@dataclass(frozen=True)
class RouteCost:
    """CAPEX, OPEX and tariff of one route (USD of ``currency_year``)."""

    pipeline_capex_usd: float
    compressor_capex_usd: float
    metering_capex_usd: float
    crossings_capex_usd: float
    capex_usd: float
    fixed_opex_usd_per_year: float
    fuel_cost_usd_per_year: float
    opex_usd_per_year: float
    annual_throughput_bcm: float
    tariff_usd_per_1000m3: float
    tariff_usd_per_1000m3_per_100km: float
    length_km: float
    currency_year: int

    def as_series(self) -> pd.Series:
        return pd.Series(self.__dict__)


def levelized_tariff(
    capex_usd: float,
    opex_usd_per_year: float,
    throughput_bcm_y: float,
    length_km: float,
    *,
    discount_rate: float | None = None,
    lifetime_years: float | None = None,
    utilisation: float | None = None,
    params: pd.DataFrame | None = None,
) -> tuple[float, float]:
    """Levelized transport tariff ``(CAPEX · CRF + OPEX) / (throughput · utilisation)``.

    Returns
    -------
    (usd_per_1000m3, usd_per_1000m3_per_100km)

    Examples
    --------
    >>> t, t100 = levelized_tariff(1e9, 2e7, 10, 1000, discount_rate=0.08,
    ...                            lifetime_years=30, utilisation=0.9)
    >>> round(t, 3), round(t100, 3)
    (12.092, 1.209)
    """
    capex = _non_negative("capex_usd", capex_usd)
    opex = _non_negative("opex_usd_per_year", opex_usd_per_year)
    q = _positive("throughput_bcm_y", throughput_bcm_y)
    length = _positive("length_km", length_km)
    r = parameter("discount_rate", params) if discount_rate is None else discount_rate
    n = parameter("lifetime_years", params) if lifetime_years is None else lifetime_years
    u = parameter("utilisation", params) if utilisation is None else float(utilisation)
    if not math.isfinite(u) or not 0 < u <= 1:
        raise ValueError(f"utilisation must be in (0, 1], got {utilisation!r}")
    annual = capex * capital_recovery_factor(r, n) + opex
    thousand_m3 = q * u * 1e6  # bcm = 1e6 thousand m³
    t = annual / thousand_m3
    return t, t / length * 100


def route_cost(
    diameter_mm: float,
    length_km: float,
    throughput_bcm_y: float,
    *,
    strings: int = 1,
    compressor_power_kw: float = 0.0,
    fuel_bcm_y: float = 0.0,
    border_crossings: int = 0,
    water_crossings: int = 0,
    terrain_factor: float = 1.0,
    crossing_factor: float = 1.0,
    regional_factor: float | str = DEFAULT_REGIONAL_FACTOR,
    discount_rate: float | None = None,
    lifetime_years: float | None = None,
    utilisation: float | None = None,
    currency_year: int = DEFAULT_CURRENCY_YEAR,
    index: str = "cpi_u",
    params: pd.DataFrame | None = None,
    wall_thickness_mm: float | None = None,
    offshore_km: float = 0.0,
    compressor_stations: int = 0,
) -> RouteCost:
    """CAPEX, OPEX (fixed O&M and fuel gas) and levelized tariff of a route.

    ``wall_thickness_mm`` and ``offshore_km`` go to :func:`pipeline_capex_usd`.
    ``compressor_stations`` adds ``compressor_station_fixed_usd`` per station (site,
    buildings, controls: the part of a station's cost that does not scale with power) to
    the compression CAPEX. ``regional_factor`` multiplies every CAPEX part (pipe,
    compression, station fixed cost, metering, river crossings), as the cost backtest
    applies it to a line's whole CAPEX; ``terrain_factor`` the line pipe only.

    Examples
    --------
    >>> c = route_cost(1067, 1500, 15, compressor_power_kw=150_000, fuel_bcm_y=0.4,
    ...                border_crossings=1)
    >>> round(c.capex_usd / 1e9, 2), round(c.tariff_usd_per_1000m3_per_100km, 2)
    (5.36, 3.11)
    """
    p = _params(params)
    pipe = pipeline_capex_usd(diameter_mm, length_km, strings=strings,
                              terrain_factor=terrain_factor, crossing_factor=crossing_factor,
                              regional_factor=regional_factor, currency_year=currency_year,
                              index=index, params=p, wall_thickness_mm=wall_thickness_mm,
                              offshore_km=offshore_km)["total"]
    comp = compressor_capex_usd(compressor_power_kw, currency_year=currency_year,
                                regional_factor=regional_factor, index=index, params=p)
    n_st = int(compressor_stations)
    if n_st < 0:
        raise ValueError(f"compressor_stations must be >= 0, got {compressor_stations!r}")
    # the regional factor multiplies the whole CAPEX, as the cost backtest fitted it: on
    # reported totals that include a line's metering and crossings (it has no crossing term)
    rf = resolve_regional_factor(regional_factor, p)
    if n_st:
        comp += n_st * parameter("compressor_station_fixed_usd", p, currency_year, index) * rf
    meter = metering_capex_usd(border_crossings, currency_year=currency_year, index=index,
                               params=p) * rf
    nw = int(water_crossings)
    if nw < 0:
        raise ValueError(f"water_crossings must be >= 0, got {water_crossings!r}")
    cross = nw * parameter("river_crossing_usd", p, currency_year, index) * rf
    capex = float(pipe) + comp + meter + cross
    fixed = (parameter("pipeline_fixed_om_share", p) * (float(pipe) + meter + cross)
             + parameter("compressor_fixed_om_share", p) * comp)
    fuel = _non_negative("fuel_bcm_y", fuel_bcm_y)
    u = parameter("utilisation", p) if utilisation is None else float(utilisation)
    fuel_cost = fuel * u * 1e6 * parameter("fuel_gas_price_usd_per_1000m3", p, currency_year,
                                           index)
    opex = fixed + fuel_cost
    t, t100 = levelized_tariff(capex, opex, throughput_bcm_y, length_km,
                               discount_rate=discount_rate, lifetime_years=lifetime_years,
                               utilisation=u, params=p)
    return RouteCost(float(pipe), comp, meter, cross, capex, fixed, fuel_cost, opex,
                     float(throughput_bcm_y) * u, t, t100, float(length_km), currency_year)


#: Station compression ratios :func:`cheapest_design` chooses among (discharge over suction;
#: 1.2-1.8 spans what pipeline centrifugal compressors are built for, Menon 2005, ch. 4).
DESIGN_COMPRESSION_RATIOS: tuple[float, ...] = (1.2, 1.3, 1.4, 1.5, 1.65, 1.8)
#: The closest station spacing :func:`cheapest_design` considers, km: a physical floor only
#: (the spacing itself comes out of the cost trade-off).
DESIGN_MIN_STATION_SPACING_KM = 30.0


def design_defaults(params: pd.DataFrame | None = None) -> dict[str, object]:
    """The calibrated design options :func:`cheapest_design` uses unless told otherwise.

    From the cost table: ``design_margin`` (the pipe is sized for flow × (1 + margin)) and
    ``pressure_classes_mpa``, the standard classes up to ``design_max_pressure_class_mpa``.
    Both are fitted by ``planner backtest costs`` on built lines (see their ``source``).

    Examples
    --------
    >>> d = design_defaults()
    >>> d["design_margin"] == parameter("design_margin")
    True
    >>> max(d["pressure_classes_mpa"]) <= parameter("design_max_pressure_class_mpa")
    True
    """
    from planner.hydraulics import PRESSURE_CLASSES_MPA

    t = _params(params)
    top = parameter("design_max_pressure_class_mpa", t)
    classes = tuple(c for c in PRESSURE_CLASSES_MPA if c <= top + 1e-9)
    if not classes:
        raise ValueError(f"design_max_pressure_class_mpa={top:g} is below every standard "
                         f"pressure class {PRESSURE_CLASSES_MPA}; see "
                         "planner/data/cost_parameters.csv")
    return {"design_margin": parameter("design_margin", t), "pressure_classes_mpa": classes}


def design_cost_table(
    options: pd.DataFrame,
    flow_bcm_y: float,
    length_km: float,
    *,
    compression_ratio: float = 1.5,
    gas: object | None = None,
    border_crossings: int = 0,
    **cost_options: object,
) -> pd.DataFrame:
    """Tariff and CAPEX of each sizing option of :func:`planner.hydraulics.size_pipe`.

    For every row (diameter, class, compression ratio, strings, estimated stations) the
    station power is the compressor duty from ``class/ratio`` to ``class`` times the number
    of stations (intermediate ones plus a head station) and strings; the ratio is the row's
    ``compression_ratio`` (or ``compression_ratio`` for tables without that column). The
    pipe is costed with the row's wall thickness, so steel tonnage counts.

    Returns
    -------
    pandas.DataFrame
        ``options`` with ``capex_usd``, ``compressor_power_kw``, ``fuel_bcm_y`` and
        ``tariff_usd_per_1000m3`` added.
    """
    from planner import hydraulics as hy

    q = _positive("flow_bcm_y", flow_bcm_y)
    length = _positive("length_km", length_km)
    rows = []
    for _, o in options.iterrows():
        n = int(o.get("strings", 1))
        p_max = float(o["pressure_class_mpa"]) * 10
        ratio = float(o.get("compression_ratio", compression_ratio))
        duty = hy.compressor_duty(q / n, p_max / ratio, p_max,
                                  gas=gas)  # type: ignore[arg-type]
        stations = int(o["stations_estimate"])  # intermediate stations + the head station
        power = duty.driver_power_kw * stations * n
        fuel = hy.m3_per_day_to_bcm_y(duty.fuel_m3_per_day) * stations * n
        wall = o.get("wall_thickness_mm")
        c = route_cost(float(o["outer_diameter_mm"]), length, q, strings=n,
                       compressor_power_kw=power, fuel_bcm_y=fuel,
                       border_crossings=border_crossings, compressor_stations=stations * n,
                       wall_thickness_mm=None if wall is None else float(wall),
                       **cost_options)  # type: ignore[arg-type]
        rows.append({"capex_usd": c.capex_usd, "compressor_power_kw": power,
                     "fuel_bcm_y": fuel, "tariff_usd_per_1000m3": c.tariff_usd_per_1000m3})
    return pd.concat([options.reset_index(drop=True), pd.DataFrame(rows)], axis=1)


def cheapest_design(
    flow_bcm_y: float,
    length_km: float,
    profile: object | None = None,
    *,
    border_crossings: int = 0,
    compression_ratio: float = 1.5,
    min_station_spacing_km: float = DESIGN_MIN_STATION_SPACING_KM,
    cost_options: dict | None = None,
    compression_ratios: tuple[float, ...] | None = DESIGN_COMPRESSION_RATIOS,
    **sizing_options: object,
) -> tuple[object, RouteCost]:
    """Size a pipe for the lowest levelized tariff, then cost the chosen design.

    :func:`planner.hydraulics.size_pipe` lists the feasible diameters, pressure classes and
    station compression ratios; each is costed with :func:`design_cost_table` (steel
    tonnage from the Barlow wall, compression CAPEX with the per-station fixed cost, and
    fuel) and the lowest tariff wins, so pressure class and station spacing are
    trade-offs, not fixed choices. The chosen design's stations are placed on the profile
    and costed with :func:`route_cost`.

    This is the one design engine of the planner: ``planner backtest costs`` validates it
    on built lines and the study path (:func:`planner.appraisal.appraise_route`) sizes new
    pipe with it. Unless ``design_margin`` or ``pressure_classes_mpa`` are given, the
    calibrated values of the cost table are used (:func:`design_defaults`, read from
    ``cost_options["params"]`` when given).

    Parameters
    ----------
    compression_ratios : tuple of float or None
        Ratios to choose among; ``None`` uses ``compression_ratio`` alone.
    sizing_options
        Passed to :func:`planner.hydraulics.size_pipe` (``design_margin``, ``strings``,
        ``location_class``, ``pressure_classes_mpa``, ``gas`` ...).

    Returns
    -------
    (SizingResult, RouteCost)

    Examples
    --------
    The design follows the calibrated table, so the example checks what holds whatever
    the calibration: a standard size and a class within the fitted highest.

    >>> from planner.hydraulics import STANDARD_DIAMETERS_MM
    >>> sizing, cost = cheapest_design(15, 1500)
    >>> sizing.outer_diameter_mm in STANDARD_DIAMETERS_MM
    True
    >>> sizing.pressure_class_mpa <= parameter("design_max_pressure_class_mpa")
    True
    >>> sizing.stations.count >= 1 and cost.tariff_usd_per_1000m3 > 0
    True
    """
    from planner import hydraulics as hy

    copts = dict(cost_options or {})
    for key, value in design_defaults(copts.get("params")).items():  # type: ignore[arg-type]
        sizing_options.setdefault(key, value)

    def rank_by(opts: pd.DataFrame) -> pd.Series:
        t = design_cost_table(opts, flow_bcm_y, length_km, compression_ratio=compression_ratio,
                              gas=sizing_options.get("gas"), border_crossings=border_crossings,
                              **copts)
        return pd.Series(t["tariff_usd_per_1000m3"].to_numpy(), index=opts.index)

    sizing = hy.size_pipe(flow_bcm_y, length_km, profile,  # type: ignore[arg-type]
                          compression_ratio=compression_ratio,
                          compression_ratios=compression_ratios,
                          min_station_spacing_km=min_station_spacing_km, rank_by=rank_by,
                          **sizing_options)  # type: ignore[arg-type]
    plan = sizing.stations
    cost = route_cost(sizing.outer_diameter_mm, length_km, flow_bcm_y, strings=sizing.strings,
                      compressor_power_kw=plan.total_power_kw * sizing.strings,
                      fuel_bcm_y=plan.total_fuel_bcm_y * sizing.strings,
                      border_crossings=border_crossings,
                      compressor_stations=plan.count * sizing.strings,
                      wall_thickness_mm=sizing.wall_thickness_mm, **copts)
    return sizing, cost


def delivered_cost_usd_per_1000m3(supply_price_usd_per_1000m3: float,
                                  tariff_usd_per_1000m3: float, fuel_share: float = 0.0) -> float:
    """Delivered cost at the destination: gas bought at the source plus the transport tariff.

    ``delivered = supply / (1 - fuel_share) + tariff``. Pass ``fuel_share`` only for a
    tariff that excludes the fuel burnt on the way (the shipper then supplies it in kind);
    the planner's tariffs recover the fuel's cost in their OPEX, so the appraisal passes
    none (passing it there would count the fuel twice).

    >>> round(delivered_cost_usd_per_1000m3(150, 30, 0.02), 2)
    183.06
    """
    s = _non_negative("supply_price_usd_per_1000m3", supply_price_usd_per_1000m3)
    t = _non_negative("tariff_usd_per_1000m3", tariff_usd_per_1000m3)
    f = float(fuel_share)
    if not 0 <= f < 1:
        raise ValueError(f"fuel_share must be in [0, 1), got {fuel_share!r}")
    return s / (1 - f) + t


# --------------------------------------------------------------------------------------
# Per-country split


def _segments(route: LineString, max_segment_km: float) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    """Route cut into short pieces: (start lon/lat, end lon/lat, geodesic km per piece).

    For routes with long straight segments in longitude/latitude the total is slightly
    longer than the geodesic between the vertices (the drawn line is not a geodesic).
    Vectorised: one geodesic call for the vertex pairs, one for the pieces."""
    coords = np.asarray(route.coords)[:, :2]
    a, b = coords[:-1], coords[1:]
    _, _, dist = _GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    n = np.maximum(1, np.ceil(np.asarray(dist) / 1000 / max_segment_km)).astype(int)
    # interpolate in longitude/latitude, as the geometry is drawn (and as shapely tests
    # it against the country polygons); each short piece is then measured geodesically
    seg = np.repeat(np.arange(len(a)), n)
    k = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    step = (b[seg] - a[seg]) / n[seg][:, None]
    s = a[seg] + step * k[:, None]
    e = a[seg] + step * (k + 1)[:, None]
    _, _, d = _GEOD.inv(s[:, 0], s[:, 1], e[:, 0], e[:, 1])
    return s, e, np.asarray(d) / 1000


UNASSIGNED = "---"


def per_country_split(
    route_geometry: LineString | MultiLineString,
    countries: gpd.GeoDataFrame,
    capex_usd: float,
    throughput_bcm_y: float,
    transit_tariff_usd_per_1000m3_per_100km: float,
    demand_centres: gpd.GeoDataFrame,
    reach_km: float,
    *,
    max_segment_km: float = 1.0,
) -> pd.DataFrame:
    """Who gains what along a route: one row per country, at one tariff on every km.

    For a route that reuses existing lines, :func:`planner.accounting.country_accounts`
    keeps what is built apart from what is used; the study runner uses that.

    The route is cut into geodesic pieces of at most ``max_segment_km`` and each piece is
    given to the country containing its midpoint; pieces in no country (sea, gaps between
    polygons) go to a row ``iso_a3 = "---"`` so the rows always add up to the route.

    Columns
    -------
    iso_a3, name
    km : geodesic kilometres of the route in the country.
    capex_share, capex_usd : share of the route's CAPEX, allocated by kilometres.
    transit_volume_bcm_y : the throughput crossing the country (the same on every row; not
        additive).
    transport_work_bcm_km : throughput × km (additive).
    transit_revenue_usd_per_year : throughput × km × tariff, the revenue at the stated
        per-100-km tariff earned on the country's kilometres (additive).
    demand_within_reach_bcm_y : demand of the country's demand centres within ``reach_km``
        (geodesic) of the route (additive; a centre near the route in a country the route
        does not cross gets its own row).
    border_crossings : crossings *into* the country along the route (additive: the total
        is the number of borders crossed).

    The totals are in ``df.attrs["totals"]``.

    Raises
    ------
    ValueError
        For a geometry that is not a line, missing columns, or non-positive inputs.

    Examples
    --------
    >>> from shapely import Polygon, Point
    >>> c = gpd.GeoDataFrame({"iso_a3": ["AAA", "BBB"], "name": ["A", "B"]},
    ...     geometry=[Polygon([(0, 0), (1, 0), (1, 1), (0, 1)]),
    ...               Polygon([(1, 0), (2, 0), (2, 1), (1, 1)])], crs="EPSG:4326")
    >>> d = gpd.GeoDataFrame({"name": ["x"], "country": ["BBB"], "demand_bcm_y": [2.0]},
    ...     geometry=[Point(1.5, 0.6)], crs="EPSG:4326")
    >>> df = per_country_split(LineString([(0.5, 0.5), (1.5, 0.5)]), c, 1e9, 10, 0.5, d, 20)
    >>> cols = ["iso_a3", "km", "border_crossings", "demand_within_reach_bcm_y"]
    >>> df[cols].round(1).values.tolist()
    [['AAA', 55.7, 0, 0.0], ['BBB', 55.7, 1, 2.0]]
    """
    if isinstance(route_geometry, MultiLineString):
        lines = list(route_geometry.geoms)
    elif isinstance(route_geometry, LineString):
        lines = [route_geometry]
    else:
        raise ValueError(
            f"route_geometry must be a LineString in EPSG:4326, got {type(route_geometry).__name__}"
        )
    if route_geometry.is_empty:
        raise ValueError("route_geometry is empty")
    capex = _non_negative("capex_usd", capex_usd)
    q = _positive("throughput_bcm_y", throughput_bcm_y)
    tariff = _non_negative("transit_tariff_usd_per_1000m3_per_100km",
                           transit_tariff_usd_per_1000m3_per_100km)
    reach = _non_negative("reach_km", reach_km)
    for frame, name, cols in ((countries, "countries", ("iso_a3", "name")),
                              (demand_centres, "demand_centres",
                               ("name", "country", "demand_bcm_y"))):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} lacks columns {missing}")
        if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
            raise ValueError(f"{name} must be in EPSG:4326, got {frame.crs}")

    parts = [_segments(line, max_segment_km) for line in lines]
    s = np.vstack([p[0] for p in parts])
    e = np.vstack([p[1] for p in parts])
    km = np.concatenate([p[2] for p in parts])
    total_km = float(km.sum())
    if total_km <= 0:
        raise ValueError("route_geometry has zero length")
    mids = gpd.GeoSeries(gpd.points_from_xy((s[:, 0] + e[:, 0]) / 2, (s[:, 1] + e[:, 1]) / 2),
                         crs="EPSG:4326")
    cty = countries[["iso_a3", "geometry"]]
    if cty.crs is None:
        log.warning("countries has no CRS; taking it as EPSG:4326")
        cty = cty.set_crs("EPSG:4326")
    hit = gpd.sjoin(gpd.GeoDataFrame(geometry=mids), cty, how="left", predicate="within")
    hit = hit[~hit.index.duplicated(keep="first")].sort_index()
    iso = hit["iso_a3"].fillna(UNASSIGNED).to_numpy()

    # crossings into a country: changes of country along the route, bridging gaps
    crossings: dict[str, int] = {}
    prev = None
    for c in iso:
        if c == UNASSIGNED:
            continue
        if prev is not None and c != prev:
            crossings[c] = crossings.get(c, 0) + 1
        prev = c

    names = dict(zip(countries["iso_a3"], countries["name"], strict=False))
    names[UNASSIGNED] = "outside any country"
    km_by = pd.Series(km).groupby(iso, sort=False).sum()

    # demand within reach: geodesic distance to the nearest route piece midpoint, measured
    # only for the centres an STRtree in the study CRS finds near the route
    served = pd.Series(dtype=float)
    if len(demand_centres) and reach > 0:
        from planner.geodesy import nearest_within_km

        pts = np.column_stack([demand_centres.geometry.x.to_numpy(),
                               demand_centres.geometry.y.to_numpy()])
        idx, _ = nearest_within_km(pts, np.column_stack([mids.x.to_numpy(), mids.y.to_numpy()]),
                                   reach + max_segment_km / 2)
        dc = demand_centres.iloc[idx]
        country_iso = dc["country"].map(
            lambda x: x if x in names else {v: k for k, v in names.items()}.get(x, x))
        served = pd.to_numeric(dc["demand_bcm_y"], errors="coerce").fillna(0.0).groupby(
            country_iso.to_numpy()).sum()

    order = list(dict.fromkeys([*km_by.index, *served.index]))
    rows = []
    for c in order:
        k = float(km_by.get(c, 0.0))
        rows.append({
            "iso_a3": c,
            "name": names.get(c, c),
            "km": k,
            "capex_share": k / total_km,
            "capex_usd": capex * k / total_km,
            "transit_volume_bcm_y": q if k > 0 else 0.0,
            "transport_work_bcm_km": q * k,
            "transit_revenue_usd_per_year": q * 1e6 * tariff * k / 100,
            "demand_within_reach_bcm_y": float(served.get(c, 0.0)),
            "border_crossings": int(crossings.get(c, 0)),
        })
    df = pd.DataFrame(rows)
    df.attrs["totals"] = {
        "km": total_km,
        "capex_usd": capex,
        "transport_work_bcm_km": q * total_km,
        "transit_revenue_usd_per_year": q * 1e6 * tariff * total_km / 100,
        "demand_within_reach_bcm_y": float(served.sum()),
        "border_crossings": int(sum(crossings.values())),
    }
    return df


__all__ = [
    "UNASSIGNED",
    "RouteCost",
    "capital_recovery_factor",
    "cheapest_design",
    "compressor_capex_usd",
    "delivered_cost_usd_per_1000m3",
    "design_cost_table",
    "design_defaults",
    "escalate",
    "in_usa",
    "levelized_tariff",
    "load_cost_parameters",
    "load_cost_regions",
    "load_escalation_index",
    "metering_capex_usd",
    "parameter",
    "per_country_split",
    "pipe_cost_trend_factor",
    "pipeline_capex_usd",
    "regional_factor_for",
    "resolve_regional_factor",
    "route_cost",
]
