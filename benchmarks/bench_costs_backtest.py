"""Benchmark: the cost backtest against the design path it replaces, on the same projects.

Both are scored on the onshore lines of ``planner/data/reference_projects.csv``:

- *before* (the plain path of the study before this backtest): ``hydraulics.size_pipe``
  with its defaults (least steel per km, stations at least 100 km apart, compression
  ratio 1.5), then ``economics.route_cost`` with the earlier fixed parameters: terrain
  1.0 / 1.3 / 1.75 (flat / hilly / mountain, the estimates the table held), the Central
  Asian regional factor 0.75 for every line, no wall-thickness term, no station fixed cost;
  nothing fitted, so its scores are out-of-sample as they stand;
- *after*: ``planner.backtest.costs.backtest_costs`` (cheapest design, fitted factors),
  validated leave-one-out.

Run::

    PYTHONPATH=. python benchmarks/bench_costs_backtest.py     # about 3 min on 2 cores

Printing is the point of a benchmark; the package itself logs.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from planner import economics, hydraulics
from planner.backtest import costs as bc

BEFORE_TERRAIN = {"flat": 1.0, "hilly": 1.3, "mountain": 1.75}
BEFORE_REGIONAL = 0.75


def before(projects: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, p in projects.iterrows():
        if float(p["offshore_km"]) > 0 or p.get("scope", "line") == "system":
            continue
        q, length = float(p["capacity_bcm_y"]), float(p["length_km"])
        s = hydraulics.size_pipe(q, length)
        plan = s.stations
        crossings = max(0, len([c for c in str(p["country"]).split(";") if c.strip()]) - 1)
        c = economics.route_cost(
            s.outer_diameter_mm, length, q, strings=s.strings,
            compressor_power_kw=plan.total_power_kw * s.strings,
            fuel_bcm_y=plan.total_fuel_bcm_y * s.strings, border_crossings=crossings,
            terrain_factor=BEFORE_TERRAIN[str(p["terrain"])],
            regional_factor=BEFORE_REGIONAL, currency_year=int(p["capex_year"]))
        rows.append({"name": p["name"], "terrain": p["terrain"],
                     "capex_ratio": c.capex_usd / 1e6 / float(p["capex_musd"]),
                     "diameter_steps": (bc._standard_index(s.outer_diameter_mm)
                                        - bc._standard_index(p["diameter_mm"])
                                        if pd.notna(p["diameter_mm"]) else np.nan),
                     "station_error": plan.count - p["n_compressor_stations"]})
    return pd.DataFrame(rows)


def shares(capex_ratio: pd.Series, steps: pd.Series, station_error: pd.Series,
           terrain: pd.Series) -> dict[str, float]:
    out = {"CAPEX within ±30 %": float(((capex_ratio - 1).abs() <= 0.3).mean()),
           "diameter within one size": float((steps.dropna().abs() <= 1).mean()),
           "stations within ±2": float((station_error.dropna().abs() <= 2).mean())}
    for t in bc.TERRAINS:
        out[f"median CAPEX ratio, {t}"] = float(capex_ratio[terrain == t].median())
    return out


def main() -> None:
    projects = bc.projects_from_csv(bc.REFERENCE_PROJECTS_CSV)
    t0 = time.perf_counter()
    b = before(projects)
    t_before = time.perf_counter() - t0
    t0 = time.perf_counter()
    bt = bc.backtest_costs(projects)
    t_after = time.perf_counter() - t0
    v = bt.validation[bt.validation["status"] == "ok"]
    rows = {
        "before (fixed parameters)": shares(b["capex_ratio"], b["diameter_steps"],
                                            b["station_error"], b["terrain"]),
        "after, validation (leave-one-out)": shares(
            v["capex_ratio"], v["diameter_steps"],
            v["stations_predicted"] - v["n_compressor_stations"], v["terrain"]),
    }
    table = pd.DataFrame(rows)
    print(f"{len(b)} onshore reference projects; before {t_before:.1f} s, "
          f"after {t_after:.1f} s (grid of designs + leave-one-out)")
    print(table.to_string(float_format=lambda x: f"{x:.2f}"))


if __name__ == "__main__":
    main()
