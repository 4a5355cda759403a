"""Benchmark: the engineering and the empirical cost estimators on fresh held-out lines.

Both are fitted on the designed lines of ``planner/data/reference_projects.csv`` only
and predict the lines of ``--holdout`` (default: the newest
``planner/data/reference_projects_holdout*.csv`` shipped, the current round of fresh lines;
the first three rounds' lines are now in the reference set, and their files are in the git
history, see README "Fresh held-out lines"):

- *engineering*: ``planner.backtest.costs`` with the shipped calibration (the same
  predictions as ``planner backtest costs --projects FILE``);
- *empirical*: ``planner.backtest.empirical``, log CAPEX on log diameter, capacity and
  length (form ``diameter_capacity_length``) with the terrain, parallel-line and
  ridge-shrunk regional terms, the ridge chosen by leave-one-out on the reference lines
  (squared log error); the diameter is the engineering design's at the shipped calibration.

Run::

    PYTHONPATH=. python benchmarks/bench_costs_holdout.py [--holdout FILE]   # a few seconds

Printing is the point of a benchmark; the package itself logs.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from planner.backtest import costs as bc
from planner.backtest import empirical as em

FORM = "diameter_capacity_length"


def designs(projects: pd.DataFrame, cal: bc.CostCalibration) -> pd.DataFrame:
    """Engineering designs of the designable projects at the calibration's design point."""
    grid = bc.design_grid(projects, station_fixed_grid=[cal.station_fixed_usd],
                          margin_grid=[cal.design_margin],
                          pressure_grid=[cal.max_pressure_class_mpa])
    return next(iter(grid.values()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--holdout", default=None,
                    help="held-out projects CSV (default: the newest shipped held-out set)")
    args = ap.parse_args()
    if args.holdout is None:
        shipped = sorted(p for p in bc.economics.DATA_DIR.glob("reference_projects_holdout*.csv")
                         if p.stem.removeprefix("reference_projects_holdout").isdigit())
        shipped.sort(key=lambda p: int(p.stem.removeprefix("reference_projects_holdout")))
        if not shipped:
            ap.error("no held-out set is shipped in planner/data; pass --holdout FILE "
                     "(earlier rounds' files: README 'Fresh held-out lines')")
        args.holdout = str(shipped[-1])
    t0 = time.perf_counter()
    cal = bc.CostCalibration.from_parameters()  # the shipped calibration, fitted on the set
    ref = bc.projects_from_csv(bc.REFERENCE_PROJECTS_CSV)
    hold = bc.projects_from_csv(args.holdout)
    d_ref, d_hold = designs(ref, cal), designs(hold, cal)
    p_ref = ref.set_index("name").loc[list(d_ref.index)]
    p_hold = hold.set_index("name").loc[list(d_hold.index)]
    pub = p_hold["capex_musd"].astype(float)

    eng = bc._predict(d_hold, hold, cal).reindex(p_hold.index)
    fit, _ = em.fit_with_inner_ridge(
        p_ref, d_ref["diameter_mm_predicted"].astype(float), form=FORM, criterion="sq",
        design_capex_musd=em.design_capex_musd(d_ref))
    emp = em.predict_empirical(fit, p_hold, d_hold["diameter_mm_predicted"].astype(float),
                               em.design_capex_musd(d_hold))
    table = pd.DataFrame({"terrain": p_hold["terrain"], "published": pub,
                          "engineering": eng / pub, "empirical": emp / pub})
    print(f"fitted on {len(p_ref)} reference lines, scored on {len(p_hold)} held-out lines "
          f"(empirical ridge {fit.ridge:g}; {time.perf_counter() - t0:.1f} s)")
    print(table.round(2).to_string())
    for col in ("engineering", "empirical"):
        r = table[col]
        print(f"{col}: within ±30 % {int(((r - 1).abs() <= 0.30).sum())} of {len(r)} "
              f"({((r - 1).abs() <= 0.30).mean():.0%}), median ratio {r.median():.2f}, "
              f"log RMSE {float(np.sqrt((np.log(r) ** 2).mean())):.3f}")


if __name__ == "__main__":
    main()
