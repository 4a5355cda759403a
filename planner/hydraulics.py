"""Steady-state, isothermal gas flow in transmission pipelines.

Everything a route needs from hydraulics: pressure along a route profile (with the
elevation correction applied segment by segment), the capacity of a pipe between two
pressures, the choice of a standard diameter and pressure class for a throughput (with
looping when even the largest pipe is not enough), compressor stations placed where the
pressure falls to the minimum suction pressure (power and fuel gas), and the capacity an
existing line offers, forwards or in reverse.

Units
-----
The API is in SI-derived units named in every parameter: pressures in bar **absolute**
(``*_bar``), diameters and wall thicknesses in mm, lengths in km, elevations in m,
temperatures in degrees Celsius, throughput in bcm/y (10⁹ standard m³ per year of 365
days). Standard (base) conditions are those of the :class:`Gas`, by default 15 °C and
101.325 kPa (ISO 13443). Internally the flow equations use the metric forms of Menon
(2005): Q in standard m³/day, P in kPa, L in km, D in mm, T in K.

Equations
---------
All from E. S. Menon, *Gas Pipeline Hydraulics* (CRC Press, 2005), chapter 2 (flow
equations, elevation correction, average pressure), chapter 1 (compressibility) and
chapter 4 (compressor power):

- general flow equation ``Q = 1.1494e-3 (Tb/Pb) [(P1² - e^s P2²) / (G Tf Le Z f)]^0.5 D^2.5``
  with the Darcy friction factor ``f`` from Colebrook–White (or Swamee–Jain);
- Weymouth ``Q = 3.7435e-3 E (Tb/Pb) [...]^0.5 D^2.667``;
- Panhandle A ``Q = 4.5965e-3 E (Tb/Pb)^1.0788 [... / G^0.8539 ...]^0.5394 D^2.6182``;
- Panhandle B ``Q = 1.002e-2 E (Tb/Pb)^1.02 [... / G^0.961 ...]^0.51 D^2.53``;
- elevation: ``s = 0.0684 G ΔH / (Tf Z)``, ``Le = L (e^s - 1) / s``;
- compressibility: Papay, or CNGA, or a given Z.

The leading constants are checked against first principles, and the general, Weymouth and
Panhandle A equations against the published answers of Crane TP-410 example 7-18 (within
0.5 %), in ``tests/test_hydraulics.py``.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from planner._checks import choice as _choice
from planner._checks import fraction as _fraction
from planner._checks import positive as _positive

log = logging.getLogger(__name__)

FlowMethod = Literal["general", "weymouth", "panhandle_a", "panhandle_b"]
FrictionMethod = Literal["colebrook", "swamee_jain"]
ZMethod = Literal["papay", "cnga"]

FLOW_METHODS: tuple[str, ...] = ("general", "weymouth", "panhandle_a", "panhandle_b")
FRICTION_METHODS: tuple[str, ...] = ("colebrook", "swamee_jain")
Z_METHODS: tuple[str, ...] = ("papay", "cnga")

#: Standard outside diameters of line pipe (mm), 508–1420 mm: the API 5L sizes 20–56 in
#: (508, 610, 711, 813, 914, 1016, 1067, 1219, 1422 → 1420 in GOST practice). 1067 and
#: 1219 mm are those of the Central Asia–China lines A/B and C (see the tests' sources).
STANDARD_DIAMETERS_MM: tuple[float, ...] = (508, 610, 711, 813, 914, 1016, 1067, 1219, 1420)
#: Pressure classes (MPa, maximum operating pressure) to choose from: 5.4, 7.4, 9.8 and
#: 11.8 MPa, the design pressures of Soviet-era and modern Russian/Central Asian trunk
#: lines (planner convention; a study may pass its own).
PRESSURE_CLASSES_MPA: tuple[float, ...] = (5.4, 7.4, 9.8, 11.8)

#: Specified minimum yield strength of API 5L grade X70 line pipe: 70 ksi = 482.6 MPa
#: (API 5L lists the metric grade as L485).
SMYS_X70_MPA = 483.0
#: ASME B31.8 design factor for location class 1, division 2.
DESIGN_FACTOR_CLASS1 = 0.72
#: Basic design factor F by location class (ASME B31.8-2018, Table 841.1.6-1; the same
#: values as 49 CFR 192.111): class 1 division 1 0.80, class 1 division 2 0.72, class 2
#: 0.60, class 3 0.50, class 4 0.40. Keys are ``(location_class, division)``; classes 2-4
#: have one division (1).
LOCATION_CLASS_DESIGN_FACTORS: dict[tuple[int, int], float] = {
    (1, 1): 0.80, (1, 2): 0.72, (2, 1): 0.60, (3, 1): 0.50, (4, 1): 0.40,
}
#: Density of carbon steel, t/m³ (7,850 kg/m³, the usual line-pipe figure).
STEEL_DENSITY_T_M3 = 7.85
#: Absolute roughness, mm: 0.0457 mm (0.0018 in) for new commercial steel pipe, the usual
#: textbook value (Menon 2005, ch. 2, table of pipe roughness); internally coated pipe is
#: smoother, so this is conservative.
DEFAULT_ROUGHNESS_MM = 0.0457
#: Lower heating value of pipeline gas, MJ per standard m³ (estimate for G ≈ 0.6 gas;
#: IEA conversion factors give about 36 MJ/m³ gross, ~0.9 of it net).
DEFAULT_LHV_MJ_PER_M3 = 34.0

_R = 8.314462618  # J/(mol K), CODATA 2018
_M_AIR = 0.0289647  # kg/mol, molar mass of dry air (ISO 2533 / Lemmon et al. 2000)
_G0 = 9.80665  # m/s², standard gravity
_DAYS_PER_YEAR = 365.0



# --------------------------------------------------------------------------------------
# Gas, pipe and route profile


@dataclass(frozen=True)
class Gas:
    """Gas properties and the standard conditions flows are stated at.

    Parameters
    ----------
    specific_gravity : float
        Relative density to air (dimensionless), 0.55–0.75 for pipeline gas.
    temperature_c : float
        Flowing (ground) temperature, °C; the flow is taken as isothermal.
    viscosity_pa_s : float
        Dynamic viscosity, Pa·s. Default 1.1e-5, a typical value for natural gas
        (Menon 2005 uses 0.000008 lb/(ft·s) = 1.19e-5 Pa·s in his examples).
    heat_capacity_ratio : float
        Ratio of specific heats k = cp/cv. Default 1.3, the typical natural-gas value
        Menon (2005) uses.
    z : float or None
        A given compressibility factor; ``None`` computes it with ``z_method``.
    z_method : {"papay", "cnga"}
        Correlation used when ``z`` is None.
    base_temperature_c, base_pressure_kpa : float
        Standard conditions the flow is stated at (default 15 °C, 101.325 kPa,
        ISO 13443; Russian GOST 2939 uses 20 °C, which gives 1.7 % more m³).
    """

    specific_gravity: float = 0.6
    temperature_c: float = 15.0
    viscosity_pa_s: float = 1.1e-5
    heat_capacity_ratio: float = 1.3
    z: float | None = None
    z_method: ZMethod = "papay"
    base_temperature_c: float = 15.0
    base_pressure_kpa: float = 101.325

    def __post_init__(self) -> None:
        g = _positive("specific_gravity", self.specific_gravity)
        if not 0.3 <= g <= 1.5:
            raise ValueError(f"specific_gravity must be within 0.3–1.5, got {g}")
        if self.temperature_k <= 0:
            raise ValueError(f"temperature_c must be above -273.15 °C, got {self.temperature_c}")
        if self.base_temperature_c + 273.15 <= 0:
            raise ValueError(
                f"base_temperature_c must be above -273.15 °C, got {self.base_temperature_c}"
            )
        _positive("viscosity_pa_s", self.viscosity_pa_s)
        if not self.heat_capacity_ratio > 1:
            raise ValueError(f"heat_capacity_ratio must be > 1, got {self.heat_capacity_ratio}")
        if self.z is not None:
            _positive("z", self.z)
        _choice("z_method", self.z_method, Z_METHODS)
        _positive("base_pressure_kpa", self.base_pressure_kpa)

    @property
    def temperature_k(self) -> float:
        return self.temperature_c + 273.15

    @property
    def base_temperature_k(self) -> float:
        return self.base_temperature_c + 273.15

    @property
    def molar_mass_kg_mol(self) -> float:
        return self.specific_gravity * _M_AIR

    @property
    def base_density_kg_m3(self) -> float:
        """Density at standard conditions (ideal gas), kg/m³."""
        m = self.molar_mass_kg_mol
        return self.base_pressure_kpa * 1e3 * m / (_R * self.base_temperature_k)

    def z_at(self, pressure_bar: float) -> float:
        """Compressibility factor at a pressure (bar absolute) and the flowing temperature."""
        if self.z is not None:
            return float(self.z)
        return compressibility(pressure_bar, self.temperature_c, self.specific_gravity,
                               method=self.z_method)


@dataclass(frozen=True)
class Pipe:
    """One string of line pipe.

    Parameters
    ----------
    outer_diameter_mm, wall_thickness_mm : float
        Outside diameter and wall thickness, mm.
    roughness_mm : float
        Absolute internal roughness, mm (for the Colebrook–White friction factor).
    efficiency : float or None
        Pipeline efficiency E (0–1]. ``None`` uses 1.0 for the general flow equation
        (friction already accounts for roughness) and 0.92 for Weymouth and Panhandle
        (Menon 2005 uses 0.92 in his worked examples).
    """

    outer_diameter_mm: float
    wall_thickness_mm: float
    roughness_mm: float = DEFAULT_ROUGHNESS_MM
    efficiency: float | None = None

    def __post_init__(self) -> None:
        d = _positive("outer_diameter_mm", self.outer_diameter_mm)
        t = _positive("wall_thickness_mm", self.wall_thickness_mm)
        if 2 * t >= d:
            raise ValueError(
                f"wall_thickness_mm ({t}) must be less than half of outer_diameter_mm ({d})"
            )
        if self.roughness_mm < 0 or not math.isfinite(self.roughness_mm):
            raise ValueError(f"roughness_mm must be >= 0, got {self.roughness_mm!r}")
        if self.efficiency is not None:
            _fraction("efficiency", self.efficiency)

    @property
    def inner_diameter_mm(self) -> float:
        return self.outer_diameter_mm - 2 * self.wall_thickness_mm

    @classmethod
    def for_pressure(
        cls,
        outer_diameter_mm: float,
        design_pressure_mpa: float,
        *,
        smys_mpa: float = SMYS_X70_MPA,
        design_factor: float = DESIGN_FACTOR_CLASS1,
        roughness_mm: float = DEFAULT_ROUGHNESS_MM,
    ) -> Pipe:
        """A pipe whose wall is just thick enough for a design pressure (Barlow).

        Examples
        --------
        >>> p = Pipe.for_pressure(1067, 9.8)
        >>> round(p.wall_thickness_mm, 1)
        15.0
        """
        t = wall_thickness_mm(outer_diameter_mm, design_pressure_mpa, smys_mpa=smys_mpa,
                              design_factor=design_factor)
        return cls(outer_diameter_mm, t, roughness_mm=roughness_mm)


def location_class_design_factor(location_class: int, division: int | None = None) -> float:
    """ASME B31.8 basic design factor F of a location class.

    Parameters
    ----------
    location_class : {1, 2, 3, 4}
        Location class by building density along the line (B31.8 §840.2.2).
    division : {1, 2}, optional
        Class 1 only: division 1 (F = 0.80, hydrotested to 1.25 MAOP) or division 2
        (F = 0.72, the default). Ignored for classes 2-4.

    Examples
    --------
    >>> [location_class_design_factor(c) for c in (1, 3)], location_class_design_factor(1, 1)
    ([0.72, 0.5], 0.8)
    """
    lc = int(location_class)
    div = (2 if division is None else int(division)) if lc == 1 else 1
    key = (lc, div)
    if key not in LOCATION_CLASS_DESIGN_FACTORS:
        raise ValueError(
            f"location_class must be 1-4 (division 1 or 2 for class 1), got "
            f"location_class={location_class!r}, division={division!r}"
        )
    return LOCATION_CLASS_DESIGN_FACTORS[key]


def wall_thickness_mm(
    outer_diameter_mm: float,
    design_pressure_mpa: float,
    *,
    smys_mpa: float = SMYS_X70_MPA,
    design_factor: float = DESIGN_FACTOR_CLASS1,
    joint_factor: float = 1.0,
    temperature_factor: float = 1.0,
    location_class: int | None = None,
) -> float:
    """Minimum wall thickness from Barlow's formula, ``t = P D / (2 S F E T)``
    (ASME B31.8 §841.1.1; the same formula as 49 CFR 192.105).

    Parameters
    ----------
    design_factor : float
        F; ignored when ``location_class`` is given (then F comes from
        :func:`location_class_design_factor` for that class, division 2 for class 1).
    joint_factor, temperature_factor : float
        E (1.0 for seamless, ERW and DSAW pipe) and T (1.0 up to 250 °F).

    Examples
    --------
    >>> round(wall_thickness_mm(1420, 11.8), 2)   # 11.8 * 1420 / (2 * 483 * 0.72)
    24.09
    >>> round(wall_thickness_mm(1420, 11.8, location_class=3), 2)   # F = 0.50
    34.69
    """
    d = _positive("outer_diameter_mm", outer_diameter_mm)
    p = _positive("design_pressure_mpa", design_pressure_mpa)
    s = _positive("smys_mpa", smys_mpa)
    f = (location_class_design_factor(location_class) if location_class is not None
         else _fraction("design_factor", design_factor))
    e = _fraction("joint_factor", joint_factor)
    t = _fraction("temperature_factor", temperature_factor)
    return p * d / (2 * s * f * e * t)


def barlow_pressure_mpa(
    outer_diameter_mm: float,
    wall_thickness_mm: float,
    *,
    smys_mpa: float = SMYS_X70_MPA,
    design_factor: float = DESIGN_FACTOR_CLASS1,
    joint_factor: float = 1.0,
    temperature_factor: float = 1.0,
) -> float:
    """Design pressure a wall allows, ``P = 2 S t F E T / D`` (Barlow, gauge).

    Examples
    --------
    >>> round(barlow_pressure_mpa(1067, 15.0), 2)   # 2 * 483 * 15 * 0.72 / 1067
    9.78
    """
    d = _positive("outer_diameter_mm", outer_diameter_mm)
    t = _positive("wall_thickness_mm", wall_thickness_mm)
    if 2 * t >= d:
        raise ValueError(f"wall_thickness_mm ({t}) must be less than half of outer_diameter_mm")
    return (2 * _positive("smys_mpa", smys_mpa) * t * _fraction("design_factor", design_factor)
            * _fraction("joint_factor", joint_factor)
            * _fraction("temperature_factor", temperature_factor) / d)


def steel_t_per_km(outer_diameter_mm: float, wall_thickness_mm: float) -> float:
    """Mass of line pipe, tonnes per km of one string: ``π (D - t) t ρ``.

    Examples
    --------
    >>> round(steel_t_per_km(1067, 13.7))   # Ruby Pipeline's 42 in x 13.7 mm
    356
    """
    d = _positive("outer_diameter_mm", outer_diameter_mm)
    t = _positive("wall_thickness_mm", wall_thickness_mm)
    return math.pi * (d - t) * t * 1e-6 * 1000 * STEEL_DENSITY_T_M3


@dataclass(frozen=True)
class RouteProfile:
    """Elevation along a route: cumulative distance (km, strictly increasing from 0) and
    elevation (m) at each point.

    Examples
    --------
    >>> RouteProfile.flat(100).length_km
    100.0
    """

    distance_km: np.ndarray
    elevation_m: np.ndarray

    def __post_init__(self) -> None:
        d = np.asarray(self.distance_km, dtype=float)
        h = np.asarray(self.elevation_m, dtype=float)
        if d.ndim != 1 or h.shape != d.shape or d.size < 2:
            raise ValueError(
                "distance_km and elevation_m must be 1-D arrays of the same length (>= 2 points)"
            )
        if not (np.all(np.isfinite(d)) and np.all(np.isfinite(h))):
            raise ValueError("distance_km and elevation_m must be finite (fill DEM gaps first)")
        if abs(d[0]) > 1e-9:
            raise ValueError(f"distance_km must start at 0, got {d[0]}")
        if np.any(np.diff(d) <= 0):
            raise ValueError("distance_km must be strictly increasing (zero or negative lengths)")
        object.__setattr__(self, "distance_km", d)
        object.__setattr__(self, "elevation_m", h)

    @property
    def length_km(self) -> float:
        return float(self.distance_km[-1])

    @classmethod
    def flat(cls, length_km: float, elevation_m: float = 0.0) -> RouteProfile:
        """A level route of a given length."""
        length = _positive("length_km", length_km)
        return cls(np.array([0.0, length]), np.array([elevation_m, elevation_m]))

    def reversed(self) -> RouteProfile:
        """The same route travelled from its far end (for reverse flow)."""
        d = self.distance_km
        return RouteProfile(d[-1] - d[::-1], self.elevation_m[::-1].copy())

    def between(self, start_km: float, end_km: float) -> RouteProfile:
        """The part between two distances, re-based to start at 0 (ends interpolated)."""
        d = self.distance_km
        seg = np.concatenate([[start_km], d[(d > start_km) & (d < end_km)], [end_km]])
        return RouteProfile(seg - start_km, np.interp(seg, d, self.elevation_m))

    def refined(self, step_km: float) -> RouteProfile:
        """Points added by linear interpolation so that no step exceeds ``step_km``."""
        step = _positive("step_km", step_km)
        pieces = [self.distance_km[:1]]
        for a, b in zip(self.distance_km[:-1], self.distance_km[1:], strict=True):
            n = max(1, math.ceil((b - a) / step - 1e-9))
            pieces.append(np.linspace(a, b, n + 1)[1:])
        d = np.concatenate(pieces)
        return RouteProfile(d, np.interp(d, self.distance_km, self.elevation_m))


def as_profile(profile: RouteProfile | pd.DataFrame | tuple | None,
               length_km: float | None = None) -> RouteProfile:
    """A :class:`RouteProfile` from a profile, a DataFrame with ``distance_km`` and
    ``elevation_m`` columns, a ``(distance_km, elevation_m)`` pair, or ``None`` (a level
    route of ``length_km``)."""
    if profile is None:
        if length_km is None:
            raise ValueError("length_km is required when no profile is given")
        return RouteProfile.flat(length_km)
    if isinstance(profile, RouteProfile):
        out = profile
    elif isinstance(profile, pd.DataFrame):
        missing = {"distance_km", "elevation_m"} - set(profile.columns)
        if missing:
            raise ValueError(f"profile lacks columns {sorted(missing)}")
        out = RouteProfile(profile["distance_km"].to_numpy(), profile["elevation_m"].to_numpy())
    else:
        d, h = profile
        out = RouteProfile(np.asarray(d, dtype=float), np.asarray(h, dtype=float))
    if length_km is not None:
        _positive("length_km", length_km)
        if abs(out.length_km - length_km) > max(1e-6, 1e-3 * length_km):
            raise ValueError(
                f"length_km ({length_km}) disagrees with the profile's length ({out.length_km})"
            )
    return out


def profile_along(line: object, terrain: object, step_km: float = 2.0) -> RouteProfile:
    """Route profile of a line (EPSG:4326) sampled from a terrain every ``step_km``.

    Distances are geodesic (WGS84). Points where the terrain has no value take the
    elevation of the nearest sampled point that has one.

    Parameters
    ----------
    line : shapely LineString in EPSG:4326
    terrain : planner.terrain.Terrain in EPSG:4326 (anything with ``elevation_at(x, y)``)
    step_km : float
    """
    from pyproj import Geod
    from shapely import LineString

    if not isinstance(line, LineString) or line.is_empty:
        raise ValueError("line must be a non-empty shapely LineString in EPSG:4326")
    step = _positive("step_km", step_km)
    geod = Geod(ellps="WGS84")
    coords = np.asarray(line.coords)[:, :2]
    pts = [coords[:1]]
    for a, b in itertools.pairwise(coords):
        _, _, d = geod.inv(a[0], a[1], b[0], b[1])
        n = max(1, math.ceil(d / 1000 / step))
        if n > 1:
            pts.append(np.asarray(geod.npts(a[0], a[1], b[0], b[1], n - 1)).reshape(-1, 2))
        pts.append(b[None, :])
    xy = np.vstack(pts)
    _, _, seg = geod.inv(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])
    keep = np.concatenate([[True], np.asarray(seg) > 0])
    xy = xy[keep]
    dist = np.concatenate([[0.0], np.cumsum(np.asarray(seg)[keep[1:]])]) / 1000
    sample = terrain.elevation_at  # type: ignore[attr-defined]
    elev = np.asarray(sample(xy[:, 0], xy[:, 1]), dtype=float)
    ok = np.isfinite(elev)
    if not ok.any():
        raise ValueError("the terrain has no elevation along the line (outside the grid?)")
    if not ok.all():
        log.warning("%d of %d profile points lack elevation; filled from neighbours",
                    int((~ok).sum()), ok.size)
        elev = np.interp(dist, dist[ok], elev[ok].astype(np.float64))  # type: ignore[arg-type]
    return RouteProfile(dist, elev)


# --------------------------------------------------------------------------------------
# Unit conversions


def bcm_y_to_m3_per_day(flow_bcm_y: float) -> float:
    """bcm/y (365-day year) to standard m³/day.

    >>> bcm_y_to_m3_per_day(36.5)
    100000000.0
    """
    return float(flow_bcm_y) * 1e9 / _DAYS_PER_YEAR


def m3_per_day_to_bcm_y(flow_m3_per_day: float) -> float:
    """Standard m³/day to bcm/y (365-day year)."""
    return float(flow_m3_per_day) * _DAYS_PER_YEAR / 1e9


def convert_pressure(value: float, unit: str) -> float:
    """A pressure in ``unit`` (bar, kPa, MPa, Pa, psia, atm — all absolute) in bar.

    Examples
    --------
    >>> convert_pressure(9.8, "MPa")
    98.0
    >>> convert_pressure(1, "furlong")
    Traceback (most recent call last):
    ...
    ValueError: unit must be one of bar, kpa, mpa, pa, psia, atm; got 'furlong'
    """
    factors = {"bar": 1.0, "kpa": 0.01, "mpa": 10.0, "pa": 1e-5, "psia": 0.0689475729,
               "atm": 1.01325}
    key = unit.lower()
    if key not in factors:
        raise ValueError(f"unit must be one of {', '.join(factors)}; got {unit!r}")
    return float(value) * factors[key]


_FLOW_UNITS = {
    "bcm/y": 1.0,
    "mcm/d": _DAYS_PER_YEAR / 1e3,  # million m³ per day
    "m3/d": _DAYS_PER_YEAR / 1e9,
    "m3/h": 24 * _DAYS_PER_YEAR / 1e9,
    "mmscfd": 0.3048**3 * _DAYS_PER_YEAR / 1e3,  # million standard ft³ per day
}


def convert_flow(value: float, unit: str) -> float:
    """A throughput in ``unit`` (bcm/y, mcm/d, m3/d, m3/h, MMSCFD) in bcm/y.

    Volumes are taken at the same standard conditions (no conversion between 60 °F and
    15 °C bases).

    Examples
    --------
    >>> round(convert_flow(41.1, "mcm/d"), 2)
    15.0
    >>> convert_flow(1, "tcf")
    Traceback (most recent call last):
    ...
    ValueError: unit must be one of bcm/y, mcm/d, m3/d, m3/h, mmscfd; got 'tcf'
    """
    key = unit.lower()
    if key not in _FLOW_UNITS:
        raise ValueError(f"unit must be one of {', '.join(_FLOW_UNITS)}; got {unit!r}")
    return float(value) * _FLOW_UNITS[key]


# --------------------------------------------------------------------------------------
# Gas properties and friction


def compressibility(
    pressure_bar: float,
    temperature_c: float,
    specific_gravity: float,
    method: ZMethod = "papay",
) -> float:
    """Compressibility factor Z of natural gas.

    ``papay``: Papay (1968) explicit correlation in pseudo-reduced pressure and
    temperature, ``Z = 1 - 3.52 Ppr e^(-2.260 Tpr) + 0.274 Ppr² e^(-1.878 Tpr)``, with the
    pseudo-critical properties from gravity (Menon 2005, eqs. 1.x:
    ``Tpc = 170.491 + 307.344 G`` °R, ``Ppc = 709.604 - 58.718 G`` psia).
    ``cnga``: California Natural Gas Association,
    ``Z = 1 / (1 + 344400 Pg 10^(1.785 G) / Tf^3.825)`` with Pg in psig, Tf in °R.

    Parameters
    ----------
    pressure_bar : float
        Absolute pressure, bar.
    temperature_c : float
        Gas temperature, °C.
    specific_gravity : float
        Relative density to air.
    method : {"papay", "cnga"}

    Examples
    --------
    >>> round(compressibility(70.0, 15.0, 0.6), 3)
    0.845
    >>> round(compressibility(70.0, 15.0, 0.6, method="cnga"), 3)
    0.857
    """
    p = _positive("pressure_bar", pressure_bar)
    t_r = (temperature_c + 273.15) * 1.8
    if t_r <= 0:
        raise ValueError(f"temperature_c must be above -273.15 °C, got {temperature_c}")
    g = _positive("specific_gravity", specific_gravity)
    _choice("method", method, Z_METHODS)
    p_psia = p / 0.0689475729
    if method == "papay":
        tpc = 170.491 + 307.344 * g
        ppc = 709.604 - 58.718 * g
        tpr, ppr = t_r / tpc, p_psia / ppc
        return 1 - 3.52 * ppr * math.exp(-2.260 * tpr) + 0.274 * ppr**2 * math.exp(-1.878 * tpr)
    p_psig = max(p_psia - 14.696, 0.0)
    return 1.0 / (1.0 + 344400.0 * p_psig * 10 ** (1.785 * g) / t_r**3.825)


def average_pressure_bar(inlet_pressure_bar: float, outlet_pressure_bar: float) -> float:
    """Mean pressure of a pipe section, ``(2/3)(P1 + P2 - P1 P2 / (P1 + P2))`` (Menon 2005,
    ch. 2).

    >>> round(average_pressure_bar(100, 50), 3)
    77.778
    """
    p1, p2 = float(inlet_pressure_bar), float(outlet_pressure_bar)
    return 2.0 / 3.0 * (p1 + p2 - p1 * p2 / (p1 + p2))


def reynolds_number(flow_bcm_y: float, inner_diameter_mm: float, gas: Gas | None = None) -> float:
    """Reynolds number ``4 ṁ / (π D μ)`` of a throughput in a pipe.

    Examples
    --------
    >>> f"{reynolds_number(15, 1035):.3g}"
    '3.91e+07'
    """
    gas = gas or Gas()
    q = _positive("flow_bcm_y", flow_bcm_y)
    d = _positive("inner_diameter_mm", inner_diameter_mm) / 1e3
    m = bcm_y_to_m3_per_day(q) / 86400.0 * gas.base_density_kg_m3
    return 4 * m / (math.pi * d * gas.viscosity_pa_s)


def friction_factor(
    reynolds: float, relative_roughness: float, method: FrictionMethod = "colebrook"
) -> float:
    """Darcy friction factor.

    ``colebrook``: Colebrook–White, ``1/√f = -2 log10(ε/(3.7 D) + 2.51/(Re √f))``, solved by
    fixed-point iteration to 1e-12; ``swamee_jain``: the explicit Swamee–Jain (1976)
    approximation, ``f = 0.25 / log10(ε/(3.7 D) + 5.74/Re^0.9)²``. Laminar flow (Re < 2000)
    gives ``64/Re``.

    Examples
    --------
    >>> round(friction_factor(1e7, 4.4e-5), 5)
    0.01065
    >>> round(friction_factor(1e7, 4.4e-5, method="swamee_jain"), 5)
    0.01071
    """
    re = _positive("reynolds", reynolds)
    rr = float(relative_roughness)
    if rr < 0 or not math.isfinite(rr):
        raise ValueError(f"relative_roughness must be >= 0, got {relative_roughness!r}")
    _choice("method", method, FRICTION_METHODS)
    if re < 2000:
        return 64.0 / re
    sj = 0.25 / math.log10(rr / 3.7 + 5.74 / re**0.9) ** 2
    if method == "swamee_jain":
        return sj
    x = 1 / math.sqrt(sj)
    for _ in range(100):
        x_new = -2 * math.log10(rr / 3.7 + 2.51 * x / re)
        if abs(x_new - x) < 1e-12:
            x = x_new
            break
        x = x_new
    return 1 / x**2


# --------------------------------------------------------------------------------------
# Flow equations (Menon 2005, metric forms: Q m³/day, P kPa, L km, D mm, T K)

_CONSTANTS: dict[str, tuple[float, float, float, float, float]] = {
    # method: (leading constant, exponent of Tb/Pb, exponent of G, bracket exponent,
    #          exponent of D)
    "general": (1.1494e-3, 1.0, 1.0, 0.5, 2.5),
    "weymouth": (3.7435e-3, 1.0, 1.0, 0.5, 2.667),
    "panhandle_a": (4.5965e-3, 1.0788, 0.8539, 0.5394, 2.6182),
    "panhandle_b": (1.002e-2, 1.02, 0.961, 0.51, 2.53),
}


def _efficiency(pipe: Pipe, method: str) -> float:
    if pipe.efficiency is not None:
        return pipe.efficiency
    return 1.0 if method == "general" else 0.92


def _resistance(flow_m3d: float, pipe: Pipe, gas: Gas, z: float, method: str,
                friction: str) -> float:
    """``(P1² - e^s P2²) / Le`` in kPa²/km for a flow (m³/day) and a mean Z."""
    c, a, b, e, n = _CONSTANTS[method]
    d = pipe.inner_diameter_mm
    tb_pb = gas.base_temperature_k / gas.base_pressure_kpa
    eff = _efficiency(pipe, method)
    base = flow_m3d / (c * eff * tb_pb**a * d**n)
    out = base ** (1 / e) * gas.specific_gravity**b * gas.temperature_k * z
    if method == "general":
        re = reynolds_number(m3_per_day_to_bcm_y(flow_m3d), d, gas)
        out *= friction_factor(re, pipe.roughness_mm / d, method=friction)  # type: ignore[arg-type]
    return out


def _elevation_s(gas: Gas, dh_m: float, z: float) -> float:
    """Menon's elevation parameter s = 0.0684 G ΔH / (Tf Z) (SI form)."""
    return 0.0684 * gas.specific_gravity * dh_m / (gas.temperature_k * z)


def _equivalent_length(length_km: float, s: float) -> float:
    if abs(s) < 1e-9:
        return length_km
    return length_km * (math.exp(s) - 1) / s


def _check_method(method: str, friction: str) -> None:
    _choice("method", method, FLOW_METHODS)
    _choice("friction", friction, FRICTION_METHODS)


def _march(p_in_kpa: float, flow_m3d: float, dist: np.ndarray, elev: np.ndarray, pipe: Pipe,
           gas: Gas, method: str, friction: str) -> tuple[np.ndarray, np.ndarray]:
    """Pressure (kPa, signed: negative means the gas cannot get there) and Z at each point."""
    n = dist.size
    p = np.empty(n)
    zs = np.empty(n)
    p[0] = p_in_kpa
    zs[0] = gas.z_at(p_in_kpa / 100)
    # resistance per unit Z is independent of pressure; compute once
    k_per_z = _resistance(flow_m3d, pipe, gas, 1.0, method, friction)
    for i in range(1, n):
        if p[i - 1] <= 0:
            p[i:] = -np.inf
            zs[i:] = np.nan
            break
        length = dist[i] - dist[i - 1]
        dh = elev[i] - elev[i - 1]
        p1 = p[i - 1]
        p2 = p1
        z = zs[i - 1]
        p2sq = p1**2
        for _ in range(4):  # Z at the section's mean pressure; converges in 2-3 passes
            z = gas.z_at(max(average_pressure_bar(p1, max(p2, 1e-6)), 1e-3) / 100)
            s = _elevation_s(gas, dh, z)
            p2sq = (p1**2 - k_per_z * z * _equivalent_length(length, s)) / math.exp(s)
            p2_new = math.sqrt(p2sq) if p2sq > 0 else 0.0
            if abs(p2_new - p2) < 1e-6 * p1:
                p2 = p2_new
                break
            p2 = p2_new
        p[i] = math.sqrt(p2sq) if p2sq > 0 else -math.sqrt(-p2sq)
        zs[i] = z
    return p, zs


def pressure_profile(
    flow_bcm_y: float,
    inlet_pressure_bar: float,
    pipe: Pipe,
    profile: RouteProfile | pd.DataFrame | tuple | None = None,
    *,
    length_km: float | None = None,
    gas: Gas | None = None,
    method: FlowMethod = "general",
    friction: FrictionMethod = "colebrook",
) -> pd.DataFrame:
    """Pressure along a route for a throughput, marching segment by segment from the inlet.

    Each profile segment gets its own elevation correction (``s`` and equivalent length) and
    Z at its mean pressure. Where the gas cannot reach a point (the pressure would fall
    below zero) the pressure is NaN and ``reachable`` is False.

    Parameters
    ----------
    flow_bcm_y : float
        Throughput, bcm/y at the gas's standard conditions.
    inlet_pressure_bar : float
        Absolute pressure at km 0, bar.
    pipe : Pipe
    profile : RouteProfile, DataFrame, (distance_km, elevation_m) or None
        Route profile; ``None`` is a level route of ``length_km``.
    gas : Gas, optional
    method : {"general", "weymouth", "panhandle_a", "panhandle_b"}
    friction : {"colebrook", "swamee_jain"}
        Friction factor for the general flow equation.

    Returns
    -------
    pandas.DataFrame
        Columns ``distance_km``, ``elevation_m``, ``pressure_bar``, ``z``, ``reachable``.

    Examples
    --------
    >>> pipe = Pipe(1067, 15.9)
    >>> df = pressure_profile(15, 98, pipe, length_km=150)
    >>> round(float(df["pressure_bar"].iloc[-1]), 1)
    81.7
    """
    gas = gas or Gas()
    _check_method(method, friction)
    q = _positive("flow_bcm_y", flow_bcm_y)
    p_in = _positive("inlet_pressure_bar", inlet_pressure_bar)
    prof = as_profile(profile, length_km)
    p, zs = _march(p_in * 100, bcm_y_to_m3_per_day(q), prof.distance_km, prof.elevation_m, pipe,
                   gas, method, friction)
    ok = p > 0
    return pd.DataFrame({
        "distance_km": prof.distance_km,
        "elevation_m": prof.elevation_m,
        "pressure_bar": np.where(ok, p / 100, np.nan),
        "z": np.where(ok, zs, np.nan),
        "reachable": ok,
    })


def outlet_pressure_bar(
    flow_bcm_y: float,
    inlet_pressure_bar: float,
    pipe: Pipe,
    profile: RouteProfile | pd.DataFrame | tuple | None = None,
    *,
    length_km: float | None = None,
    gas: Gas | None = None,
    method: FlowMethod = "general",
    friction: FrictionMethod = "colebrook",
) -> float:
    """Outlet pressure (bar absolute) of a route; raises ValueError when the gas cannot get
    through (the throughput is impossible for this pipe and inlet pressure).

    Examples
    --------
    >>> round(outlet_pressure_bar(15, 98, Pipe(1067, 15.9), length_km=150), 1)
    81.7
    """
    df = pressure_profile(flow_bcm_y, inlet_pressure_bar, pipe, profile, length_km=length_km,
                          gas=gas, method=method, friction=friction)
    if not bool(df["reachable"].iloc[-1]):
        where = float(df.loc[~df["reachable"], "distance_km"].iloc[0])
        raise ValueError(
            f"flow_bcm_y={flow_bcm_y} is impossible for this pipe at inlet_pressure_bar="
            f"{inlet_pressure_bar}: the pressure is exhausted before km {where:.1f}"
        )
    return float(df["pressure_bar"].iloc[-1])


def _signed_outlet_kpa(q_bcm: float, p_in_kpa: float, prof: RouteProfile, pipe: Pipe, gas: Gas,
                       method: str, friction: str) -> float:
    p, _ = _march(p_in_kpa, bcm_y_to_m3_per_day(q_bcm), prof.distance_km, prof.elevation_m,
                  pipe, gas, method, friction)
    return float(p[-1])


def pipe_capacity_bcm_y(
    pipe: Pipe,
    inlet_pressure_bar: float,
    outlet_pressure_bar: float,
    profile: RouteProfile | pd.DataFrame | tuple | None = None,
    *,
    length_km: float | None = None,
    gas: Gas | None = None,
    method: FlowMethod = "general",
    friction: FrictionMethod = "colebrook",
) -> float:
    """Largest throughput (bcm/y) that arrives at ``outlet_pressure_bar`` when entering at
    ``inlet_pressure_bar``, along a profile (or a level route of ``length_km``).

    Solved by bracketing the outlet pressure, which falls monotonically with flow.

    Examples
    --------
    >>> round(pipe_capacity_bcm_y(Pipe(1067, 15.9), 98, 60, length_km=150), 1)
    21.3
    """
    gas = gas or Gas()
    _check_method(method, friction)
    p1 = _positive("inlet_pressure_bar", inlet_pressure_bar)
    p2 = _positive("outlet_pressure_bar", outlet_pressure_bar)
    if p2 >= p1:
        raise ValueError(
            f"outlet_pressure_bar ({p2}) must be below inlet_pressure_bar ({p1})"
        )
    prof = as_profile(profile, length_km)
    key = (pipe, p1, p2, np.asarray(prof.distance_km, float).tobytes(),
           np.asarray(prof.elevation_m, float).tobytes(), gas, method, friction)
    known = _CAPACITIES.get(key)  # one lookup: another caller may clear the dict
    if known is not None:
        return known
    cap = _pipe_capacity(pipe, p1, p2, prof, gas, method, friction)
    if len(_CAPACITIES) >= 4096:
        _CAPACITIES.clear()
    _CAPACITIES[key] = cap
    return cap


#: Capacities already solved, by every input (a study's scenarios assess the same reused
#: lines along the same profiles: each root-finding marches the profile a dozen times).
_CAPACITIES: dict[tuple[object, ...], float] = {}


def _pipe_capacity(pipe: Pipe, p1: float, p2: float, prof: RouteProfile, gas: Gas,
                   method: str, friction: str) -> float:
    def err(q: float) -> float:
        return _signed_outlet_kpa(q, p1 * 100, prof, pipe, gas, method, friction) - p2 * 100

    lo = 1e-6
    if err(lo) <= 0:
        raise ValueError(
            f"outlet_pressure_bar={p2} cannot be reached even at zero flow (the route climbs "
            f"too high for inlet_pressure_bar={p1})"
        )
    hi = 1.0
    while err(hi) > 0:
        hi *= 2
        if hi > 1e5:
            raise ValueError("capacity did not converge; check the inputs")
    return float(brentq(err, lo, hi, xtol=1e-9, rtol=1e-10))


# --------------------------------------------------------------------------------------
# Compressors


@dataclass(frozen=True)
class CompressorDuty:
    """Power and fuel of one compressor station.

    Attributes
    ----------
    compression_ratio : float
    isentropic_power_kw : float
        Isentropic gas power divided by the isentropic efficiency.
    polytropic_power_kw : float
        Polytropic head times mass flow divided by the polytropic efficiency.
    driver_power_kw : float
        Shaft power the driver delivers (the chosen basis over the mechanical efficiency).
    fuel_m3_per_day : float
        Fuel gas burnt by gas-turbine drivers, standard m³/day.
    fuel_share : float
        Fuel as a share of the throughput.
    """

    compression_ratio: float
    isentropic_power_kw: float
    polytropic_power_kw: float
    driver_power_kw: float
    fuel_m3_per_day: float
    fuel_share: float


def compressor_duty(
    flow_bcm_y: float,
    suction_pressure_bar: float,
    discharge_pressure_bar: float,
    *,
    gas: Gas | None = None,
    suction_temperature_c: float | None = None,
    isentropic_efficiency: float = 0.80,
    polytropic_efficiency: float = 0.85,
    mechanical_efficiency: float = 0.98,
    driver_thermal_efficiency: float = 0.35,
    lhv_mj_per_m3: float = DEFAULT_LHV_MJ_PER_M3,
    power_basis: Literal["isentropic", "polytropic"] = "polytropic",
) -> CompressorDuty:
    """Power and fuel gas of compressing a throughput from suction to discharge pressure.

    Isentropic: ``W = k/(k-1) Z R T / M (r^((k-1)/k) - 1) ṁ / η_is``; polytropic with
    ``(n-1)/n = (k-1)/(k η_p)``: ``W = n/(n-1) Z R T / M (r^((n-1)/n) - 1) ṁ / η_p``
    (Menon 2005, ch. 4; Z is the mean of suction and discharge). Fuel gas is the driver
    power over the gas turbine's thermal efficiency and the gas's lower heating value.
    The default efficiencies are estimates, typical of pipeline centrifugal compressors
    and gas-turbine drivers (isentropic 0.80, polytropic 0.85, mechanical 0.98, turbine
    thermal 0.35); a study should set its own. The throughput is not reduced by the fuel
    burnt upstream (the error is the fuel share, 1–3 %).

    Examples
    --------
    >>> d = compressor_duty(15, 60, 98)
    >>> round(d.compression_ratio, 3), round(d.polytropic_power_kw / 1000, 1)
    (1.633, 24.8)
    """
    gas = gas or Gas()
    q = _positive("flow_bcm_y", flow_bcm_y)
    ps = _positive("suction_pressure_bar", suction_pressure_bar)
    pd_ = _positive("discharge_pressure_bar", discharge_pressure_bar)
    if pd_ < ps:
        raise ValueError(
            f"discharge_pressure_bar ({pd_}) must not be below suction_pressure_bar ({ps})"
        )
    eta_s = _fraction("isentropic_efficiency", isentropic_efficiency)
    eta_p = _fraction("polytropic_efficiency", polytropic_efficiency)
    eta_m = _fraction("mechanical_efficiency", mechanical_efficiency)
    eta_d = _fraction("driver_thermal_efficiency", driver_thermal_efficiency)
    lhv = _positive("lhv_mj_per_m3", lhv_mj_per_m3)
    _choice("power_basis", power_basis, ("isentropic", "polytropic"))
    t1 = gas.temperature_k if suction_temperature_c is None else suction_temperature_c + 273.15
    if t1 <= 0:
        raise ValueError(
            f"suction_temperature_c must be above -273.15, got {suction_temperature_c}")
    k = gas.heat_capacity_ratio
    z = 0.5 * (gas.z_at(ps) + gas.z_at(pd_))
    r = pd_ / ps
    q_m3d = bcm_y_to_m3_per_day(q)
    m = q_m3d / 86400 * gas.base_density_kg_m3
    zrt_m = z * _R * t1 / gas.molar_mass_kg_mol
    w_is = k / (k - 1) * zrt_m * (r ** ((k - 1) / k) - 1) * m / eta_s
    x = (k - 1) / (k * eta_p)  # (n-1)/n
    w_p = (1 / x) * zrt_m * (r**x - 1) * m / eta_p
    shaft = (w_p if power_basis == "polytropic" else w_is) / eta_m
    fuel_m3d = shaft / eta_d / (lhv * 1e6) * 86400
    return CompressorDuty(r, w_is / 1e3, w_p / 1e3, shaft / 1e3, fuel_m3d, fuel_m3d / q_m3d)


@dataclass(frozen=True)
class StationPlan:
    """Compressor stations along a route for one throughput.

    Attributes
    ----------
    stations : pandas.DataFrame
        One row per station: ``distance_km``, ``elevation_m``, ``suction_bar``,
        ``discharge_bar``, ``compression_ratio``, ``isentropic_power_kw``,
        ``polytropic_power_kw``, ``driver_power_kw``, ``fuel_m3_per_day``.
    profile : pandas.DataFrame
        Pressure along the route with the stations working (``distance_km``,
        ``elevation_m``, ``pressure_bar``).
    delivery_pressure_bar : float
        Pressure at the end of the route.
    total_power_kw, total_fuel_bcm_y, fuel_share : float
    """

    stations: pd.DataFrame
    profile: pd.DataFrame
    delivery_pressure_bar: float
    total_power_kw: float
    total_fuel_bcm_y: float
    fuel_share: float

    @property
    def count(self) -> int:
        return len(self.stations)


def place_compressor_stations(
    profile: RouteProfile | pd.DataFrame | tuple | None,
    flow_bcm_y: float,
    pipe: Pipe,
    max_pressure_bar: float,
    min_inlet_pressure_bar: float,
    *,
    length_km: float | None = None,
    supply_pressure_bar: float | None = None,
    delivery_pressure_bar: float | None = None,
    gas: Gas | None = None,
    method: FlowMethod = "general",
    friction: FrictionMethod = "colebrook",
    step_km: float = 2.0,
    inlet_pressure_bar: float | None = None,
    **duty_options: float | str,
) -> StationPlan:
    """Place compressor stations where the pressure falls to the minimum suction pressure.

    The gas leaves km 0 at ``max_pressure_bar`` (a head station compresses it from
    ``supply_pressure_bar`` when that is lower). Marching along the profile in steps of at
    most ``step_km``, a station is placed at the last point whose pressure is still at or
    above ``min_inlet_pressure_bar`` and raises it back to ``max_pressure_bar``. A station
    is also placed where needed so the route delivers at least ``delivery_pressure_bar``
    (default: ``min_inlet_pressure_bar``).

    Parameters
    ----------
    profile : RouteProfile, DataFrame, (distance_km, elevation_m) or None
    flow_bcm_y : float
    pipe : Pipe
    max_pressure_bar : float
        Station discharge pressure (the line's maximum operating pressure), bar absolute.
    min_inlet_pressure_bar : float
        Minimum suction pressure, bar absolute.
    supply_pressure_bar, delivery_pressure_bar : float, optional
    inlet_pressure_bar : float, optional
        Gas received at km 0 at this pressure (capped at ``max_pressure_bar``) from a line
        upstream, with no head station: the first station is placed where the pressure
        falls to the minimum, as for the others (a head station compresses from it only
        when it is already below the minimum). Takes the place of ``supply_pressure_bar``.
    duty_options
        Passed to :func:`compressor_duty` (efficiencies, heating value, power basis).

    Raises
    ------
    ValueError
        If the throughput cannot pass even one step between stations (impossible for this
        pipe and pressure), or a parameter is not positive.

    Examples
    --------
    >>> plan = place_compressor_stations(None, 15, Pipe(1067, 15.9), 98, 60, length_km=1000,
    ...                                  supply_pressure_bar=55)
    >>> plan.count, [round(x) for x in plan.stations["distance_km"]]
    (4, [0, 302, 604, 906])
    >>> round(plan.total_power_kw / 1e3), round(100 * plan.fuel_share, 2)
    (106, 1.87)

    A short link fed by a line upstream at 90 bar needs no station:

    >>> place_compressor_stations(None, 15, Pipe(1067, 15.9), 98, 60, length_km=20,
    ...                           inlet_pressure_bar=90).count
    0
    """
    gas = gas or Gas()
    _check_method(method, friction)
    q = _positive("flow_bcm_y", flow_bcm_y)
    p_max = _positive("max_pressure_bar", max_pressure_bar)
    p_min = _positive("min_inlet_pressure_bar", min_inlet_pressure_bar)
    if p_min >= p_max:
        raise ValueError(
            f"min_inlet_pressure_bar ({p_min}) must be below max_pressure_bar ({p_max})"
        )
    if supply_pressure_bar is not None:
        _positive("supply_pressure_bar", supply_pressure_bar)
    p_del = p_min if delivery_pressure_bar is None else _positive(
        "delivery_pressure_bar", delivery_pressure_bar)
    if p_del > p_max:
        raise ValueError(
            f"delivery_pressure_bar ({p_del}) must not exceed max_pressure_bar ({p_max})"
        )
    prof = as_profile(profile, length_km).refined(step_km)
    dist, elev = prof.distance_km, prof.elevation_m
    q_m3d = bcm_y_to_m3_per_day(q)

    stations: list[tuple[int, float]] = []  # (index, suction bar)
    head = p_max  # pressure leaving km 0
    if inlet_pressure_bar is not None:
        inlet = _positive("inlet_pressure_bar", inlet_pressure_bar)
        if inlet < p_min:  # received below the minimum suction: compress it at once
            supply_pressure_bar = inlet
        else:
            head, supply_pressure_bar = min(inlet, p_max), None
    if supply_pressure_bar is not None and supply_pressure_bar < p_max:
        stations.append((0, float(supply_pressure_bar)))
    pressures = np.empty(dist.size)
    pressures[0] = head
    start = 0
    i = 0
    while i < dist.size - 1:
        # march from the current station (index start) to the end or until below minimum
        p, _ = _march((head if start == 0 else p_max) * 100, q_m3d, dist[start:],
                      elev[start:], pipe, gas, method, friction)
        p = p / 100
        need = np.full(p.size, p_min)
        need[-1] = max(p_del, 0.0) if start + p.size == dist.size else p_min
        below = np.nonzero(p < need)[0]
        if below.size == 0:
            pressures[start:] = p
            break
        j = int(below[0])
        if j <= 1 and start == 0 and head < p_max and not stations:
            # the received gas cannot pass the first step: compress it at km 0
            stations.append((0, float(head)))
            head = p_max
            continue
        if j <= 1:
            raise ValueError(
                f"flow_bcm_y={q} is impossible for a {pipe.outer_diameter_mm:g} mm pipe between "
                f"{p_max} and {p_min} bar: the pressure falls below the minimum within "
                f"{dist[start + 1] - dist[start]:.1f} km of a station"
            )
        k = start + j - 1  # last point still above the minimum: the next station
        pressures[start : k + 1] = p[:j]
        stations.append((k, float(p[j - 1])))
        start = k
        i = k
    rows = []
    for idx, suction in stations:
        duty = compressor_duty(q, suction, p_max, gas=gas, **duty_options)  # type: ignore[arg-type]
        rows.append({
            "distance_km": float(dist[idx]),
            "elevation_m": float(elev[idx]),
            "suction_bar": suction,
            "discharge_bar": p_max,
            "compression_ratio": duty.compression_ratio,
            "isentropic_power_kw": duty.isentropic_power_kw,
            "polytropic_power_kw": duty.polytropic_power_kw,
            "driver_power_kw": duty.driver_power_kw,
            "fuel_m3_per_day": duty.fuel_m3_per_day,
        })
    st = pd.DataFrame(rows, columns=["distance_km", "elevation_m", "suction_bar",
                                     "discharge_bar", "compression_ratio",
                                     "isentropic_power_kw", "polytropic_power_kw",
                                     "driver_power_kw", "fuel_m3_per_day"])
    total_kw = float(st["driver_power_kw"].sum())
    fuel_m3d = float(st["fuel_m3_per_day"].sum())
    prof_df = pd.DataFrame({"distance_km": dist, "elevation_m": elev, "pressure_bar": pressures})
    log.debug("placed %d stations for %.2f bcm/y over %.0f km", len(st), q, prof.length_km)
    return StationPlan(st, prof_df, float(pressures[-1]), total_kw, m3_per_day_to_bcm_y(fuel_m3d),
                       fuel_m3d / q_m3d)


# --------------------------------------------------------------------------------------
# Sizing


def station_spacing_km(
    flow_bcm_y: float,
    pipe: Pipe,
    max_pressure_bar: float,
    min_inlet_pressure_bar: float,
    *,
    gas: Gas | None = None,
    method: FlowMethod = "general",
    friction: FrictionMethod = "colebrook",
) -> float:
    """Distance (km, level ground) over which the pressure falls from ``max_pressure_bar``
    to ``min_inlet_pressure_bar`` at a throughput: the natural compressor-station spacing.

    Examples
    --------
    >>> round(station_spacing_km(15, Pipe(1067, 15.9), 98, 60))
    303
    """
    gas = gas or Gas()
    _check_method(method, friction)
    q = _positive("flow_bcm_y", flow_bcm_y)
    p1 = _positive("max_pressure_bar", max_pressure_bar) * 100
    p2 = _positive("min_inlet_pressure_bar", min_inlet_pressure_bar) * 100
    if p2 >= p1:
        raise ValueError(
            f"min_inlet_pressure_bar ({p2 / 100}) must be below max_pressure_bar ({p1 / 100})"
        )
    z = gas.z_at(average_pressure_bar(p1, p2) / 100)
    k = _resistance(bcm_y_to_m3_per_day(q), pipe, gas, z, method, friction)
    return (p1**2 - p2**2) / k


@dataclass(frozen=True)
class SizingResult:
    """The pipe chosen for a throughput.

    Attributes
    ----------
    outer_diameter_mm, wall_thickness_mm, pressure_class_mpa : float
    strings : int
        Parallel strings (1 unless looping was needed).
    looped : bool
        True when even the largest standard pipe at the highest class was not enough.
    station_spacing_km : float
        Level-ground spacing between compressor stations at this throughput.
    stations : StationPlan
        Stations placed on the actual profile (per string).
    message : str
        Plain-language summary (says when looping was needed and why).
    options : pandas.DataFrame
        Every diameter and class considered, with its spacing and feasibility, for an
        economic comparison.
    compression_ratio : float
        Station discharge over suction pressure of the chosen design.
    """

    outer_diameter_mm: float
    wall_thickness_mm: float
    pressure_class_mpa: float
    strings: int
    looped: bool
    station_spacing_km: float
    stations: StationPlan
    message: str
    options: pd.DataFrame = field(repr=False)
    compression_ratio: float = 1.5

    @property
    def pipe(self) -> Pipe:
        return Pipe(self.outer_diameter_mm, self.wall_thickness_mm)


def size_pipe(
    flow_bcm_y: float,
    length_km: float,
    profile: RouteProfile | pd.DataFrame | tuple | None = None,
    *,
    diameters_mm: Sequence[float] = STANDARD_DIAMETERS_MM,
    pressure_classes_mpa: Sequence[float] = PRESSURE_CLASSES_MPA,
    compression_ratio: float = 1.5,
    min_station_spacing_km: float = 100.0,
    max_strings: int = 4,
    gas: Gas | None = None,
    method: FlowMethod = "general",
    friction: FrictionMethod = "colebrook",
    smys_mpa: float = SMYS_X70_MPA,
    design_factor: float = DESIGN_FACTOR_CLASS1,
    rank_by: Callable[[pd.DataFrame], pd.Series] | None = None,
    compression_ratios: Sequence[float] | None = None,
    design_margin: float = 0.0,
    strings: int | None = None,
    location_class: int | None = None,
) -> SizingResult:
    """Choose a standard diameter and pressure class for a throughput.

    A combination is feasible when, running at its class pressure and letting the pressure
    fall to ``class / compression_ratio`` before the next station, stations need to be no
    closer than ``min_station_spacing_km`` (typical spacing is 50–100 mi, EIA; 30–70 mi,
    INGAA; Soviet-era trunk lines 100–150 km). Among feasible combinations the one with the
    least steel per km of route is chosen (a proxy for cost), or the one with the lowest
    ``rank_by(options)`` (for example a full cost from :mod:`planner.economics`). When no
    single string is feasible, parallel strings are laid (looping): ``n`` strings each
    carrying ``flow/n``, and the result says so. A head station compresses the gas from
    the minimum suction pressure at km 0.

    Parameters
    ----------
    flow_bcm_y : float
        Throughput to carry, bcm/y.
    length_km : float
        Route length, km (must agree with the profile's length when one is given).
    profile : RouteProfile, DataFrame, (distance_km, elevation_m) or None
        Elevation profile for station placement; ``None`` is a level route.
    diameters_mm, pressure_classes_mpa : sequence of float
        Standard outside diameters and pressure classes to choose from.
    compression_ratio : float
        Station discharge over suction pressure (1.3–1.6 is usual).
    min_station_spacing_km : float
        Closest acceptable spacing of compressor stations.
    max_strings : int
        Most parallel strings before the throughput is declared impossible.
    rank_by : callable, optional
        Takes the options table (columns ``outer_diameter_mm``, ``pressure_class_mpa``,
        ``wall_thickness_mm``, ``compression_ratio``, ``station_spacing_km``,
        ``stations_estimate``, ``steel_t_per_km``, ``strings``, ...) and returns a score per
        row; lowest wins.
    compression_ratios : sequence of float, optional
        Station compression ratios to choose from as well (each gives its own station
        spacing), so that spacing is a cost trade-off under ``rank_by`` instead of one fixed
        ratio. ``None`` uses ``compression_ratio`` alone.
    design_margin : float
        Size the pipe for ``flow × (1 + design_margin)`` (a line built with room to grow);
        stations are still placed for ``flow``.
    strings : int, optional
        Lay this many parallel strings (twin lines) instead of looping only when needed.
    location_class : int, optional
        ASME B31.8 location class; sets the design factor of the wall thickness (see
        :func:`location_class_design_factor`) in place of ``design_factor``.

    Raises
    ------
    ValueError
        When ``flow_bcm_y`` would need more than ``max_strings`` strings, or any input is
        zero or negative.

    Examples
    --------
    >>> r = size_pipe(15, 1500)
    >>> r.outer_diameter_mm, r.pressure_class_mpa, r.strings
    (1016.0, 7.4, 1)
    >>> size_pipe(120, 1500).looped
    True
    """
    gas = gas or Gas()
    _check_method(method, friction)
    q = _positive("flow_bcm_y", flow_bcm_y)
    length = _positive("length_km", length_km)
    cr = float(compression_ratio)
    if not cr > 1:
        raise ValueError(f"compression_ratio must be > 1, got {compression_ratio!r}")
    spacing_min = _positive("min_station_spacing_km", min_station_spacing_km)
    if int(max_strings) < 1:
        raise ValueError(f"max_strings must be >= 1, got {max_strings!r}")
    if not diameters_mm or not pressure_classes_mpa:
        raise ValueError("diameters_mm and pressure_classes_mpa must not be empty")
    margin = float(design_margin)
    if not math.isfinite(margin) or margin < 0:
        raise ValueError(f"design_margin must be >= 0, got {design_margin!r}")
    ratios = [cr] if compression_ratios is None else [float(r) for r in compression_ratios]
    if not ratios or any(not r > 1 for r in ratios):
        raise ValueError(f"compression_ratios must be > 1, got {compression_ratios!r}")
    if strings is not None and int(strings) < 1:
        raise ValueError(f"strings must be >= 1, got {strings!r}")
    f_design = (location_class_design_factor(location_class) if location_class is not None
                else design_factor)
    prof = as_profile(profile, length)

    def table(flow: float) -> pd.DataFrame:
        rows = []
        for d in diameters_mm:
            for c in pressure_classes_mpa:
                pipe = Pipe.for_pressure(d, c, smys_mpa=smys_mpa, design_factor=f_design)
                p_max = c * 10
                for r in ratios:
                    spacing = station_spacing_km(flow, pipe, p_max, p_max / r, gas=gas,
                                                 method=method, friction=friction)
                    rows.append({
                        "outer_diameter_mm": float(d), "pressure_class_mpa": float(c),
                        "wall_thickness_mm": pipe.wall_thickness_mm,
                        "compression_ratio": r,
                        "station_spacing_km": spacing,
                        "stations_estimate": math.ceil(length / spacing),
                        "steel_t_per_km": steel_t_per_km(d, pipe.wall_thickness_mm),
                        "feasible": spacing >= spacing_min,
                    })
        return pd.DataFrame(rows)

    q_design = q * (1 + margin)
    strings_given = strings
    n_strings = 1 if strings is None else int(strings)
    opts = table(q_design / n_strings)
    while not opts["feasible"].any():
        if strings is not None:
            raise ValueError(
                f"flow_bcm_y={q_design:g} is impossible in {n_strings} strings of the largest "
                f"pipe ({max(diameters_mm):g} mm at {max(pressure_classes_mpa):g} MPa) with "
                f"compressor stations at least {spacing_min:g} km apart"
            )
        n_strings += 1
        if n_strings > max_strings:
            raise ValueError(
                f"flow_bcm_y={q} is impossible: even {max_strings} parallel strings of the "
                f"largest pipe ({max(diameters_mm):g} mm at {max(pressure_classes_mpa):g} MPa) "
                f"would need compressor stations closer than {spacing_min:g} km"
            )
        opts = table(q_design / n_strings)
    opts["strings"] = n_strings
    opts["steel_t_per_km_route"] = opts["steel_t_per_km"] * n_strings
    feasible = opts[opts["feasible"]].copy()
    if rank_by is not None:
        feasible["rank_score"] = np.asarray(rank_by(feasible), dtype=float)
        best = feasible.sort_values(["rank_score", "steel_t_per_km_route"]).iloc[0]
    else:
        best = feasible.sort_values(["steel_t_per_km_route", "stations_estimate"]).iloc[0]
    d, c, t = (float(best["outer_diameter_mm"]), float(best["pressure_class_mpa"]),
               float(best["wall_thickness_mm"]))
    r_best = float(best["compression_ratio"])
    pipe = Pipe(d, t)
    plan = place_compressor_stations(prof, q / n_strings, pipe, c * 10, c * 10 / r_best,
                                     gas=gas, method=method, friction=friction,
                                     supply_pressure_bar=c * 10 / r_best)
    strings = n_strings
    looped = strings > 1 and strings_given is None
    if strings > 1 and not looped:
        msg = (f"{q:g} bcm/y in {strings} parallel strings (as asked) of {d:g} mm x {t:.1f} mm "
               f"at {c:g} MPa, {q / strings:.2f} bcm/y each")
    elif looped:
        msg = (f"{q:g} bcm/y exceeds what one string of the largest standard pipe "
               f"({max(diameters_mm):g} mm at {max(pressure_classes_mpa):g} MPa) can carry with "
               f"stations at least {spacing_min:g} km apart; looping: {strings} parallel strings "
               f"of {d:g} mm at {c:g} MPa, {q / strings:.2f} bcm/y each")
    else:
        msg = (f"{q:g} bcm/y: {d:g} mm x {t:.1f} mm at {c:g} MPa, stations about "
               f"{float(best['station_spacing_km']):.0f} km apart ({plan.count} on the route)")
    log.info(msg)
    return SizingResult(d, t, c, strings, looped, float(best["station_spacing_km"]), plan, msg,
                        opts, compression_ratio=r_best)


def stations_near_route(route: object, stations: pd.DataFrame, within_km: float = 10.0,
                        crs: str | None = None) -> pd.DataFrame:
    """Existing compressor stations within ``within_km`` of a route (candidates for reuse).

    Parameters
    ----------
    route : shapely LineString in EPSG:4326
    stations : GeoDataFrame of points in EPSG:4326 (e.g. ``layers.compressor_stations``)
    within_km : float
    crs : str, optional
        Projected CRS for the distances (default :data:`planner.settings.STUDY_CRS`, an
        equidistant conic for Central Asia: distances within about 1 % in the region).

    Returns
    -------
    pandas.DataFrame
        The stations' columns plus ``distance_along_km`` (from the route's start) and
        ``offset_km``, sorted along the route.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, Point
    >>> st = gpd.GeoDataFrame({"name": ["near", "far"]},
    ...                       geometry=[Point(65.0, 45.05), Point(65.0, 46.0)], crs="EPSG:4326")
    >>> near = stations_near_route(LineString([(64, 45), (66, 45)]), st, within_km=10)
    >>> near["name"].tolist(), round(float(near["offset_km"].iloc[0]), 1)
    (['near'], 5.6)
    """
    import geopandas as gpd

    from planner import settings

    within = _positive("within_km", within_km)
    if len(stations) == 0:
        return pd.DataFrame(columns=[*stations.columns, "distance_along_km", "offset_km"])
    target = crs or settings.STUDY_CRS
    import shapely

    # densify in lon/lat first so the projected line follows the line as drawn
    line = gpd.GeoSeries([shapely.segmentize(route, 0.05)], crs="EPSG:4326").to_crs(
        target).iloc[0]
    pts = gpd.GeoSeries(stations.geometry, crs=stations.crs or "EPSG:4326").to_crs(target)
    offset = pts.distance(line) / 1000
    along = pts.apply(line.project) / 1000
    out = pd.DataFrame(stations.drop(columns="geometry")).assign(
        distance_along_km=along.to_numpy(), offset_km=offset.to_numpy())
    return out[out["offset_km"] <= within].sort_values("distance_along_km")


# --------------------------------------------------------------------------------------
# Existing lines: uprating and reverse flow


@dataclass(frozen=True)
class ExistingLineAssessment:
    """What an existing line offers in one direction.

    Attributes
    ----------
    direction : str
        ``"forward"`` or ``"reverse"``.
    capacity_bcm_y : float
        Capacity with compression at the usable existing stations (for reverse flow the
        existing stations are taken as unusable: their compressors face the other way).
    capacity_without_compression_bcm_y : float
        Capacity with no compression on the way (gas enters at the maximum pressure).
    target_flow_bcm_y : float or None
    stations_needed : StationPlan or None
        Stations (and power) the target flow would need on this line in this direction.
    message : str
    """

    direction: str
    capacity_bcm_y: float
    capacity_without_compression_bcm_y: float
    target_flow_bcm_y: float | None
    stations_needed: StationPlan | None
    message: str


def assess_existing_line(
    pipe: Pipe,
    profile: RouteProfile | pd.DataFrame | tuple | None,
    max_pressure_bar: float,
    min_inlet_pressure_bar: float,
    *,
    length_km: float | None = None,
    station_km: Sequence[float] = (),
    reverse: bool = False,
    target_flow_bcm_y: float | None = None,
    gas: Gas | None = None,
    method: FlowMethod = "general",
    friction: FrictionMethod = "colebrook",
) -> ExistingLineAssessment:
    """Capacity an existing pipeline offers at its diameter and pressure, forwards or in
    reverse, and the compression a target flow would need.

    Parameters
    ----------
    pipe : Pipe
    profile : route profile (in the line's forward direction) or None
    max_pressure_bar : float
        Maximum operating pressure, possibly derated for age, bar absolute.
    min_inlet_pressure_bar : float
        Minimum suction / delivery pressure, bar absolute.
    station_km : sequence of float
        Existing compressor stations (km along the forward direction, 0 = the head).
    reverse : bool
        Flow from the far end back to km 0.
    target_flow_bcm_y : float, optional
        A flow to check; its station plan is returned.

    Examples
    --------
    >>> a = assess_existing_line(Pipe(1067, 15.9), None, 98, 60, length_km=1000,
    ...                          station_km=[0, 350, 700])
    >>> round(a.capacity_bcm_y, 1), round(a.capacity_without_compression_bcm_y, 1)
    (13.9, 8.2)
    """
    gas = gas or Gas()
    prof = as_profile(profile, length_km)
    p_max = _positive("max_pressure_bar", max_pressure_bar)
    p_min = _positive("min_inlet_pressure_bar", min_inlet_pressure_bar)
    if target_flow_bcm_y is not None:
        _positive("target_flow_bcm_y", target_flow_bcm_y)
    for s in station_km:
        if not 0 <= float(s) < prof.length_km:
            raise ValueError(f"station_km must lie within [0, {prof.length_km}), got {s}")
    work = prof.reversed() if reverse else prof
    stations = [] if reverse else sorted(float(s) for s in station_km)
    no_comp = pipe_capacity_bcm_y(pipe, p_max, p_min, work, gas=gas, method=method,
                                  friction=friction)
    # with stations, the weakest section between them; without, the whole line (done above)
    cuts = sorted(set([0.0, *stations, work.length_km]))
    cap = no_comp if len(cuts) == 2 else min(
        pipe_capacity_bcm_y(pipe, p_max, p_min, work.between(a, b), gas=gas, method=method,
                            friction=friction) for a, b in itertools.pairwise(cuts))
    plan = None
    if target_flow_bcm_y is not None:
        plan = place_compressor_stations(work, target_flow_bcm_y, pipe, p_max, p_min, gas=gas,
                                         method=method, friction=friction)
    direction = "reverse" if reverse else "forward"
    msg = (f"{direction}: {cap:.2f} bcm/y with {'no usable' if reverse else len(stations)} "
           f"existing stations, {no_comp:.2f} bcm/y without compression")
    if plan is not None:
        msg += (f"; {target_flow_bcm_y:g} bcm/y needs {plan.count} stations, "
                f"{plan.total_power_kw / 1e3:.0f} MW")
    return ExistingLineAssessment(direction, cap, no_comp, target_flow_bcm_y, plan, msg)


__all__ = [
    "FLOW_METHODS",
    "PRESSURE_CLASSES_MPA",
    "STANDARD_DIAMETERS_MM",
    "CompressorDuty",
    "ExistingLineAssessment",
    "Gas",
    "Pipe",
    "RouteProfile",
    "SizingResult",
    "StationPlan",
    "as_profile",
    "assess_existing_line",
    "average_pressure_bar",
    "bcm_y_to_m3_per_day",
    "compressibility",
    "compressor_duty",
    "convert_flow",
    "convert_pressure",
    "friction_factor",
    "m3_per_day_to_bcm_y",
    "outlet_pressure_bar",
    "pipe_capacity_bcm_y",
    "place_compressor_stations",
    "pressure_profile",
    "profile_along",
    "reynolds_number",
    "size_pipe",
    "station_spacing_km",
    "stations_near_route",
    "wall_thickness_mm",
]
