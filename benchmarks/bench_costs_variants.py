"""Benchmark: empirical cost estimators and ensembles against the engineering backtest.

On the onshore lines of ``planner/data/reference_projects.csv``, each scored on training
(fitted on all lines, in-sample) and on leave-one-out validation with every fitted
quantity refit inside each fold:

- *engineering*: ``planner.backtest.costs`` (cheapest design, fitted factors; its own
  nested choice of design point and regional shrinkage);
- *empirical* (``planner.backtest.empirical``): log CAPEX on cost per inch-km, or on log
  diameter / capacity / length, or on the log of the fold's engineering design CAPEX at
  factor 1 (slope fitted), with terrain and parallel-line terms and ridge-shrunk
  regional terms; the ridge penalty chosen by an inner leave-one-out on the fold's
  training lines; the diameter is the fold's engineering design diameter;
- *geometric mean* of the two (weight 0.5, nothing fitted);
- *fitted weight*: ``engineering**w × empirical**(1-w)``, w in 0, 0.1, ..., 1 chosen on
  the fold's training lines from their inner leave-one-out predictions (for the
  engineering side at the fold's design point and shrinkage, which are not re-chosen
  per inner fold: that would cost 40 times the backtest).
- the earlier fixed-parameter path (``bench_costs_backtest.before``) as a second
  estimator in the same two ensembles;
- the engineering estimator's fitted factors shrunk toward that path's fixed factors
  (log f = a log fitted + (1 - a) log fixed), a chosen per fold by inner leave-one-out.

Run::

    PYTHONPATH=. python benchmarks/bench_costs_variants.py     # about 3 min on 2 cores

Printing is the point of a benchmark; the package itself logs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from planner.backtest import costs as bc
from planner.backtest import empirical as em

WEIGHTS = np.linspace(0.0, 1.0, 11)


def within(pred: pd.Series, pub: pd.Series) -> float:
    return float(((pred / pub.reindex(pred.index) - 1).abs() <= bc.CAPEX_TOLERANCE).mean())


def log_rmse(pred: pd.Series, pub: pd.Series) -> float:
    return float(np.sqrt((np.log(pred / pub.reindex(pred.index)) ** 2).mean()))


def best_weight(eng: pd.Series, emp: pd.Series, pub: pd.Series, criterion: str) -> float:
    def loss(w: float) -> float:
        c = em.combine_geometric(eng, emp, w)
        return -within(c, pub) if criterion == "hits" else log_rmse(c, pub)
    return float(min(WEIGHTS, key=lambda w: (loss(w), -w)))  # ties: more engineering


def main() -> None:
    t0 = time.perf_counter()
    projects = bc.projects_from_csv(bc.REFERENCE_PROJECTS_CSV)
    grid = bc.design_grid(projects, station_fixed_grid=bc.STATION_FIXED_GRID_USD,
                          margin_grid=bc.DESIGN_MARGIN_GRID,
                          pressure_grid=bc.MAX_PRESSURE_CLASS_GRID_MPA)
    onshore = list(next(iter(grid.values())).index)
    p = projects.set_index("name").loc[onshore]
    pub = p["capex_musd"].astype(float)

    def key(cal: bc.CostCalibration) -> tuple[float, float, float]:
        return cal.station_fixed_usd, cal.design_margin, cal.max_pressure_class_mpa

    # engineering: training and nested leave-one-out, plus inner predictions per fold
    cal_all = bc._calibrate(grid, projects, onshore)
    eng_train = bc._predict(grid[key(cal_all)].loc[onshore], projects, cal_all)
    d_train = grid[key(cal_all)]["diameter_mm_predicted"].astype(float)

    c_train = em.design_capex_musd(grid[key(cal_all)])
    eng_inner_all = {}
    for m in onshore:
        rest = [x for x in onshore if x != m]
        # the same trend choice as the fit, and its slope passed to the prediction
        t, r, par, tr = bc._fit_factors(grid[key(cal_all)].loc[rest], projects,
                                        cal_all.region_shrinkage,
                                        fit_trend=cal_all.pipe_trend != 0)
        eng_inner_all[m] = float(bc._predict(
            grid[key(cal_all)].loc[[m]], projects,
            bc.CostCalibration(t, r, parallel_factor=par, pipe_trend=tr))[m])
    folds = {}
    for n in onshore:
        rest = [m for m in onshore if m != n]
        cal = bc._calibrate(grid, projects, rest)
        d = grid[key(cal)]
        inner = {}
        for m in rest:
            t, r, par, tr = bc._fit_factors(d.loc[[x for x in rest if x != m]], projects,
                                            cal.region_shrinkage,
                                            fit_trend=cal.pipe_trend != 0)
            inner[m] = float(bc._predict(
                d.loc[[m]], projects,
                bc.CostCalibration(t, r, parallel_factor=par, pipe_trend=tr))[m])
        folds[n] = {"pred": float(bc._predict(d.loc[[n]], projects, cal)[n]),
                    "inner": pd.Series(inner), "diameter": d["diameter_mm_predicted"].astype(float),
                    "capex": em.design_capex_musd(d)}
    eng_val = pd.Series({n: f["pred"] for n, f in folds.items()})
    print(f"engineering: training {within(eng_train, pub):.0%}, validation "
          f"{within(eng_val, pub):.0%}, log RMSE {log_rmse(eng_val, pub):.3f} "
          f"({time.perf_counter() - t0:.0f} s)")

    rows = []
    for form in em.FORMS:
        for criterion in ("sq", "hits"):
            fit_all, inner_all = em.fit_with_inner_ridge(p, d_train, form=form,
                                                         criterion=criterion,
                                                         design_capex_musd=c_train)
            emp_train = em.predict_empirical(fit_all, p, d_train, c_train)
            w_all = best_weight(pd.Series(eng_inner_all), inner_all, pub, criterion)
            emp_val, w_fold = {}, {}
            for n in onshore:
                rest = p.drop(index=n)
                f = folds[n]
                fit, inner = em.fit_with_inner_ridge(rest, f["diameter"], form=form,
                                                     criterion=criterion,
                                                     design_capex_musd=f["capex"])
                emp_val[n] = float(em.predict_empirical(fit, p.loc[[n]], f["diameter"],
                                                        f["capex"]).iloc[0])
                w_fold[n] = best_weight(f["inner"], inner, pub, criterion)
            ev = pd.Series(emp_val)
            geo_val = em.combine_geometric(eng_val, ev)
            fw_val = pd.Series({n: float(em.combine_geometric(
                pd.Series([eng_val[n]]), pd.Series([ev[n]]), w_fold[n]).iloc[0])
                for n in onshore})
            rows.append({
                "form": form, "ridge chosen by": criterion,
                "empirical train": within(emp_train, pub), "empirical val": within(ev, pub),
                "geomean train": within(em.combine_geometric(eng_train, emp_train), pub),
                "geomean val": within(geo_val, pub),
                "fitted-w train": within(em.combine_geometric(eng_train, emp_train, w_all),
                                         pub),
                "fitted-w val": within(fw_val, pub), "w (all)": w_all,
                "w folds mean": float(np.mean(list(w_fold.values()))),
                "log RMSE emp / geo": f"{log_rmse(ev, pub):.3f} / {log_rmse(geo_val, pub):.3f}",
                "corr of log errors": float(np.corrcoef(np.log(eng_val / pub),
                                                        np.log(ev / pub))[0, 1]),
            })
    out = pd.DataFrame(rows)

    # the earlier fixed-parameter path (nothing fitted on these lines) as the second estimator
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_costs_backtest import BEFORE_REGIONAL, BEFORE_TERRAIN, before  # a sibling

    b = before(projects).set_index("name")
    old = b["capex_ratio"].reindex(onshore) * pub
    w_fold = {n: best_weight(folds[n]["inner"], old.drop(index=n), pub, "sq") for n in onshore}
    fw_old = pd.Series({n: float(em.combine_geometric(pd.Series([eng_val[n]]),
                                                      pd.Series([old[n]]), w_fold[n]).iloc[0])
                        for n in onshore})
    w_all = best_weight(pd.Series(eng_inner_all), old, pub, "sq")
    print(f"earlier fixed path: {within(old, pub):.0%} (nothing fitted); geometric mean with "
          f"engineering: training {within(em.combine_geometric(eng_train, old), pub):.0%}, "
          f"validation {within(em.combine_geometric(eng_val, old), pub):.0%}; fitted weight: "
          f"training {within(em.combine_geometric(eng_train, old, w_all), pub):.0%} "
          f"(w {w_all:.1f}), validation {within(fw_old, pub):.0%} (w folds mean "
          f"{np.mean(list(w_fold.values())):.2f}); corr of log errors "
          f"{np.corrcoef(np.log(eng_val / pub), np.log(old / pub))[0, 1]:.2f}")

    # the fitted factors shrunk toward the fixed path's: log f = a log fitted + (1-a) log prior
    alphas = (0.0, 0.25, 0.5, 0.75, 1.0)
    subs = {str(r) for r in p["cost_region"] if r}
    regions = set(bc._region_table().values())

    def toward_prior(cal: bc.CostCalibration, a: float) -> bc.CostCalibration:
        terrain = {c: BEFORE_TERRAIN[c] ** (1 - a) * cal.terrain_factors.get(c, 1.0) ** a
                   for c in bc.TERRAINS}
        reg = {k: (1.0 if k in subs else BEFORE_REGIONAL) ** (1 - a) * v ** a
               for k, v in cal.regional_factors.items()}
        reg.update({k: BEFORE_REGIONAL ** (1 - a) for k in regions - set(reg)})
        return bc.CostCalibration(terrain, reg, cal.station_fixed_usd, cal.design_margin,
                                  cal.max_pressure_class_mpa, cal.region_shrinkage,
                                  cal.fitted_on, cal.parallel_factor ** a,
                                  cal.pipe_trend)  # the trend has no prior: kept

    shrunk_val, chosen = {}, {}
    for n in onshore:
        rest = [m for m in onshore if m != n]
        cal = bc._calibrate(grid, projects, rest)
        d = grid[key(cal)]
        inner: dict[float, list[float]] = {a: [] for a in alphas}
        for m in rest:
            t, r, par, tr = bc._fit_factors(d.loc[[x for x in rest if x != m]], projects,
                                            cal.region_shrinkage,
                                            fit_trend=cal.pipe_trend != 0)
            ci = bc.CostCalibration(t, r, parallel_factor=par, pipe_trend=tr)
            for a in alphas:
                pred = float(bc._predict(d.loc[[m]], projects, toward_prior(ci, a))[m])
                inner[a].append(float(np.log(pred / pub[m]) ** 2))
        chosen[n] = min(alphas, key=lambda a: (float(np.mean(inner[a])), -a))
        shrunk_val[n] = float(bc._predict(d.loc[[n]], projects, toward_prior(cal, chosen[n]))[n])
    print(f"fitted factors shrunk toward the fixed path's, alpha chosen per fold: validation "
          f"{within(pd.Series(shrunk_val), pub):.0%} (alpha chosen "
          f"{pd.Series(chosen).value_counts().to_dict()})")
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(out.round(2).to_string(index=False))
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
