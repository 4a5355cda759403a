"""Simulation: can a between-region ANOVA on leave-one-out rows see a common region error?

The shipped basis of the CAPEX error (``planner/data/capex_error.csv``, 88 rows) is 83
leave-one-out rows, each predicted with its region's factor fitted on the region's other
lines (shrunk: ``log f = Σ log r / (n - 1 + k)``), and 5 held-out rows predicted with the
factor fitted on all ``n`` lines of the region. This script draws log residuals with a
known region effect (``share`` of the variance ``total``, the rest each line's own),
forms the rows as the calibration does, with the shipped group sizes (each line's first
country's region, :func:`planner.backtest.capex_error.line_regions`) and shrinkage, and
applies :func:`planner.backtest.capex_error.log_factor_anova` to them. It prints, per true
share, the mean F ratio, how often the estimated between-region part is 0, the mean
estimated share, how often the ANOVA's 95 % upper bound lies below the true share and how
often F reaches the one measured on the shipped rows.

A simplification: each line counts once in its first region's factor (the backtest counts
a line once per country of the region and alternates with terrain, parallel-line and
trend factors).

Run::

    PYTHONPATH=. python benchmarks/loo_anova_simulation.py [--runs 2000] [--seed 0]

About 10 s per 1,000 runs and share. Printing is the point of a benchmark.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from planner import economics
from planner.backtest.capex_error import (
    SHIPPED_CALIBRATION_LINES,
    capex_error_from_csv,
    line_regions,
    log_factor_anova,
    log_factor_moments,
)


def group_sizes() -> tuple[dict[str, int], dict[str, int]]:
    """Leave-one-out and held-out rows per region in the shipped basis."""
    t = capex_error_from_csv()
    t = t[t["calibration_lines"] == SHIPPED_CALIBRATION_LINES]
    reg = line_regions(t["name"].tolist()).to_numpy()
    sizes = pd.Series(reg).groupby([t["set"].to_numpy(), reg]).size()
    return (sizes["leave-one-out"].to_dict(),
            sizes["held-out"].to_dict() if "held-out" in sizes.index else {})


def simulate(share: float, runs: int, rng: np.random.Generator, total: float,
             shrinkage: float, loo: dict[str, int], held: dict[str, int],
             observed_f: float = float("nan")) -> dict[str, float]:
    """The ANOVA's results over ``runs`` draws with a true between-region ``share``."""
    # rows in the order the draws below append them: per region its leave-one-out rows,
    # then its held-out rows; then held-out rows of regions without a calibration line
    names, groups = [], []
    for r in [*loo, *(r for r in held if r not in loo)]:
        rows = [f"{r}:loo{i}" for i in range(loo.get(r, 0))]
        rows += [f"{r}:held{i}" for i in range(held.get(r, 0))]
        names += rows
        groups += [r] * len(rows)
    g = pd.Series(groups, index=names)
    sb, sw = np.sqrt(share * total), np.sqrt((1 - share) * total)
    f, zero, est, below = [], 0, [], 0
    for _ in range(runs):
        ys: list[float] = []
        for r, n in loo.items():
            b = rng.normal(0, sb)
            y = b + rng.normal(0, sw, n)
            ys += list(y - (y.sum() - y) / (n - 1 + shrinkage))
            fitted = y.sum() / (n + shrinkage)
            ys += list(b + rng.normal(0, sw, held.get(r, 0)) - fitted)
        for r, n in held.items():
            if r not in loo:  # a region with no calibration line: factor 1
                ys += list(rng.normal(0, sb) + rng.normal(0, sw, n))
        table = pd.DataFrame({"name": names, "set": "leave-one-out", "round": 9,
                              "calibration_lines": SHIPPED_CALIBRATION_LINES,
                              "capex_ratio": np.exp(-np.asarray(ys)), "recorded_in": "sim"})
        a = log_factor_anova("leave-one-out", table, g)
        f.append(a["f"])
        zero += a["sigma2_between"] == 0.0
        est.append(a["icc"])
        below += a["icc_upper95"] < share
    return {"share": share, "mean_f": float(np.mean(f)), "p_zero": zero / runs,
            "mean_estimated_share": float(np.mean(est)), "p_bound_below_truth": below / runs,
            "p_f_at_least_observed": float(np.mean(np.asarray(f) >= observed_f))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    loo, held = group_sizes()
    total = log_factor_moments()[1] ** 2
    k = float(economics.parameter("regional_factor_shrinkage"))
    observed = log_factor_anova()["f"]
    rng = np.random.default_rng(args.seed)
    print(f"leave-one-out rows per region {loo}, held-out {held}, shrinkage {k}, "
          f"total variance {total:.4f}, {args.runs} runs per share, seed {args.seed}")
    print("true share | mean F | P(estimated share = 0) | mean estimated share | "
          f"P(95 % upper bound < true share) | P(F >= observed {observed:.3f})")
    for share in (0.0, 0.2, 0.4):
        s = simulate(share, args.runs, rng, total, k, loo, held, observed)
        print(f"{s['share']:.1f} | {s['mean_f']:.2f} | {s['p_zero']:.3f} | "
              f"{s['mean_estimated_share']:.3f} | {s['p_bound_below_truth']:.3f} | "
              f"{s['p_f_at_least_observed']:.3f}")


if __name__ == "__main__":
    main()
