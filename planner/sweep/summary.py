"""What a study sweep found: distributions per candidate, probability of being best, and
the inputs that drive the ranking (tornado chart); ``sweep.csv`` and a report section.

Pure functions of the results table of :func:`planner.sweep.study_sweep.run_sweep` (one row
per task and candidate); :func:`write_summary` writes them.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Quantiles reported for cost, tariff and rank.
QUANTILES = (0.05, 0.5, 0.95)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def parameter_columns(results: pd.DataFrame) -> list[str]:
    """The varied parameters' columns (``p:<parameter>``)."""
    return [c for c in results.columns if str(c).startswith("p:")]


def route_draw_columns(results: pd.DataFrame) -> list[str]:
    """The per-route draws' columns (``route:<parameter>``: each route's own multiplier)."""
    return [c for c in results.columns if str(c).startswith("route:")]


def candidate_summary(results: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and candidate: how many tasks kept it, the 5/50/95 % quantiles of CAPEX,
    tariff and delivered cost, mean, 5/95 % and lowest/highest rank, and the probability
    of being best (share of the scenario's tasks in which it ranks first; they add up to 1
    per scenario unless ranks tie).

    Examples
    --------
    >>> r = pd.DataFrame({"task_key": ["a", "a", "b", "b"], "scenario": "s",
    ...     "candidate": ["x", "y", "x", "y"], "capex_musd": [1.0, 2.0, 3.0, 1.0],
    ...     "tariff_usd_per_1000m3": 1.0, "delivered_cost_usd_per_1000m3": 1.0,
    ...     "rank": [1, 2, 2, 1], "best": [True, False, False, True]})
    >>> candidate_summary(r)[["candidate", "tasks", "p_best"]].values.tolist()
    [['x', 2, 0.5], ['y', 2, 0.5]]
    """
    if results.empty:
        return pd.DataFrame()
    n_tasks = results.groupby("scenario")["task_key"].nunique()
    g = results.groupby(["scenario", "candidate"], sort=False)
    out = g.size().rename("tasks").to_frame()
    for col, short in (("capex_musd", "capex_musd"), ("tariff_usd_per_1000m3", "tariff"),
                       ("delivered_cost_usd_per_1000m3", "delivered_cost")):
        for q in QUANTILES:
            out[f"{short}_p{int(q * 100):02d}"] = g[col].quantile(q)
    out["rank_mean"] = g["rank"].mean()
    out["rank_p05"] = g["rank"].quantile(0.05)
    out["rank_p95"] = g["rank"].quantile(0.95)
    out["rank_min"] = g["rank"].min()
    out["rank_max"] = g["rank"].max()
    out["p_best"] = g["best"].sum() / n_tasks.reindex(
        out.index.get_level_values("scenario")).to_numpy()
    out = out.reset_index()
    return out.sort_values(["scenario", "p_best", "rank_mean"],
                           ascending=[True, False, True]).reset_index(drop=True)


def ranking_drivers(results: pd.DataFrame) -> pd.DataFrame:
    """Which inputs drive the ranking: per scenario and varied parameter, the probability
    that the scenario's favourite (the candidate most often best) is best, among the tasks
    where the parameter is low and where it is high.

    A numeric parameter is split at its median (low: at or below, high: above); a
    parameter with one value over the scenario's tasks (a distribution of spread 0, say) is
    left out: it drives nothing, and a low/high split of it would show a swing of 0 as if it
    had been measured. A categorical one (excluded countries) is grouped by value,
    and low/high are its least and most favourable groups. ``swing`` = |high - low| orders
    the tornado chart. ``rank_shift`` is how far the whole ranking moves: the mean over
    candidates of |mean rank (high) - mean rank (low)|.

    A per-route draw (``route:<parameter>``, each route's own multiplier) gives a row
    ``<parameter> (own draw)``: the favourite's probability of being best when its own
    draw is at or below its median and above it, and ``rank_shift`` the mean over
    candidates of how far a candidate's mean rank moves between its own low and high
    draws (left out too when every draw is the same).
    """
    rows = []
    for scen, r in results.groupby("scenario", sort=False):
        best = r[r["best"]]
        if best.empty:
            continue
        fav = best["candidate"].value_counts().index[0]
        # per task: is the favourite best there?
        is_fav = ((r["candidate"] == fav) & r["best"]).groupby(r["task_key"]).any()
        for col in parameter_columns(r):
            v = r.groupby("task_key")[col].first().reindex(is_fav.index)
            if v.astype(str).nunique() <= 1:  # not varied: nothing to split
                continue
            if pd.api.types.is_numeric_dtype(v):
                x = v.astype(float)
                med = float(np.median(x))
                high = x > med
                lo_label, hi_label = f"<= {med:.4g}", f"> {med:.4g}"
            else:
                by = is_fav.groupby(v.astype(str)).mean()
                high = v.astype(str).eq(by.idxmax()) & (by.max() > by.min())
                lo_label, hi_label = str(by.idxmin()) or "none", str(by.idxmax()) or "none"
                if by.max() > by.min():
                    keep = v.astype(str).isin([by.idxmin(), by.idxmax()])
                    high = high[keep]
            lo = float(is_fav.reindex(high.index)[~high].mean()) if (~high).any() else np.nan
            hi = float(is_fav.reindex(high.index)[high].mean()) if high.any() else lo
            side = r["task_key"].map(high)
            ranks = r[side.notna()].groupby(["candidate", side[side.notna()].astype(bool)])[
                "rank"].mean().unstack()
            shift = (float((ranks[True] - ranks[False]).abs().mean())
                     if {True, False} <= set(ranks.columns) else 0.0)
            rows.append({"scenario": scen, "parameter": col[2:], "favourite": fav,
                         "p_best_low": lo, "p_best_high": hi, "low": lo_label,
                         "high": hi_label, "swing": abs(hi - lo), "rank_shift": shift,
                         "p_best_all": float(is_fav.mean())})
        for col in route_draw_columns(r):
            if r[col].nunique() <= 1:  # every route drew the same: not varied
                continue
            rows.append({"scenario": scen, **_own_draw_driver(r, col, fav, is_fav),
                         "p_best_all": float(is_fav.mean())})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    return out.sort_values(["scenario", "swing", "rank_shift"],
                           ascending=[True, False, False]).reset_index(drop=True)


def top_order_share(results: pd.DataFrame, top: int = 3) -> pd.Series:
    """Per scenario, the share of tasks whose first ``top`` candidates, in rank order, are
    the scenario's most common such sequence (how stable the head of the ranking is).

    A task's sequence is its candidates of rank <= ``top`` ordered by rank (ties by name).

    Examples
    --------
    >>> r = pd.DataFrame({"task_key": ["a"] * 3 + ["b"] * 3 + ["c"] * 3,
    ...                   "scenario": "s", "candidate": list("XYZ" "XYZ" "XZY"),
    ...                   "rank": [1, 2, 3] * 3})
    >>> top_order_share(r, 2).round(3).to_dict()
    {'s': 0.667}
    """
    head = results[results["rank"] <= top].sort_values(["rank", "candidate"])
    seq = head.groupby(["scenario", "task_key"], sort=False)["candidate"].agg(tuple)
    return seq.groupby(level="scenario", sort=False).agg(
        lambda x: float(x.value_counts().iloc[0] / len(x))).rename("top_order_share")


def _own_draw_driver(r: pd.DataFrame, col: str, fav: str, is_fav: pd.Series
                     ) -> dict[str, Any]:
    """A :func:`ranking_drivers` row of a per-route draw: each candidate split at the
    median of its own draw."""
    own = r[r["candidate"] == fav].set_index("task_key")[col].astype(float)
    med = float(np.median(own)) if len(own) else np.nan
    high = own > med
    fav_best = is_fav.reindex(own.index)
    lo = float(fav_best[~high].mean()) if (~high).any() else np.nan
    hi = float(fav_best[high].mean()) if high.any() else lo
    x = r[col].astype(float)
    above = x > x.groupby(r["candidate"]).transform("median")
    ranks = r.groupby(["candidate", above])["rank"].mean().unstack()
    shift = (float((ranks[True] - ranks[False]).abs().mean())
             if {True, False} <= set(ranks.columns) else 0.0)
    return {"parameter": f"{col[len('route:'):]} (own draw)", "favourite": fav,
            "p_best_low": lo, "p_best_high": hi, "low": f"<= {med:.4g}",
            "high": f"> {med:.4g}", "swing": abs(hi - lo), "rank_shift": shift}


def _mpl_text(text: str) -> str:
    """Text from data made literal for matplotlib (no mathtext)."""
    return str(text).replace("$", r"\$")


def tornado_chart(drivers: pd.DataFrame, path: str | Path) -> Path:
    """Per scenario (PNG): a tornado chart of each input's swing in the favourite's
    probability of being best (left) and how far it moves the whole ranking (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = list(dict.fromkeys(drivers["scenario"]))
    n_par = int(drivers.groupby("scenario").size().max())
    fig, axes = plt.subplots(len(scenarios), 2, squeeze=False, width_ratios=[2, 1],
                             figsize=(10, len(scenarios) * (1.3 + 0.4 * n_par)))
    for (ax, ax2), scen in zip(axes, scenarios, strict=True):
        d = drivers[drivers["scenario"] == scen].iloc[::-1]
        base = float(d["p_best_all"].iloc[0])
        y = np.arange(len(d))
        lo = d["p_best_low"].to_numpy(dtype=float)
        hi = d["p_best_high"].to_numpy(dtype=float)
        ax.barh(y, lo - base, left=base, color="#4c78a8", label="input low")
        ax.barh(y, hi - base, left=base, color="#f58518", label="input high")
        ax.axvline(base, color="black", lw=0.8)
        ax.set_yticks(y, [_mpl_text(p) for p in d["parameter"]])
        ax.set_xlim(-0.02, 1.02)
        fav = str(d["favourite"].iloc[0])
        fav = fav if len(fav) <= 60 else fav[:57] + "..."
        ax.set_xlabel(_mpl_text(f"P(best) of {fav}"), fontsize=8)
        ax.set_title(_mpl_text(f"Scenario: {scen}"), fontsize=10, loc="left")
        ax.legend(loc="lower left", fontsize=7)
        ax2.barh(y, d["rank_shift"].to_numpy(dtype=float), color="#54a24b")
        ax2.set_yticks(y, [])
        ax2.set_xlabel("mean rank shift, low to high", fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110, format="png")
    plt.close(fig)
    return out


def _md(text: object) -> str:
    """Text from data made literal in Markdown."""
    s = str(text).replace("\n", " ")
    return re.sub(r"([\\`*_{}\[\]<>()#+!|~])", r"\\\1", s)


def _csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as formulas get a leading apostrophe."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = [f"'{v}" if isinstance(v, str) and v.startswith(_FORMULA_START) else v
                      for v in out[c]]
    return out


def sweep_report_markdown(summary: pd.DataFrame, drivers: pd.DataFrame, title: str,
                          n_tasks: int, chart: str | None = "tornado.png", top: int = 8,
                          notes: Sequence[str] = ()) -> str:
    """The sweep's report section (Markdown): per scenario the candidates most often best
    with their cost, tariff and rank ranges, and the inputs that drive the ranking;
    ``notes``: sentences on how the sweep was drawn, after the first paragraph.

    Examples
    --------
    >>> s = pd.DataFrame({"scenario": ["s"], "candidate": ["A|B"], "tasks": [2],
    ...     "capex_musd_p50": [1.0], "tariff_p05": [1.0], "tariff_p50": [2.0],
    ...     "tariff_p95": [3.0], "rank_mean": [1.0], "rank_p05": [1.0], "rank_p95": [1.0],
    ...     "p_best": [1.0]})
    >>> "A\\\\|B" in sweep_report_markdown(s, pd.DataFrame(), "t", 2, chart=None)
    True
    """
    lines = [f"## Sweep: {_md(title)}", "",
             f"{n_tasks} tasks. Per candidate: the share of tasks in which it ranks first "
             "(P(best)), the median CAPEX, the 5–95 % range of the tariff and of its rank "
             "(and its lowest–highest rank).", ""]
    if notes:
        lines += [" ".join(_md(n) for n in notes), ""]
    for scen, s in summary.groupby("scenario", sort=False):
        lines += [f"### Scenario: {_md(scen)}", ""]
        if len(s) and n_tasks:
            fav = s.iloc[0]
            lines += [f"The favourite, {_md(fav['candidate'])}, ranks first in "
                      f"{fav['p_best']:.0%} of the tasks.", ""]
        lines += ["| candidate | tasks | P(best) | CAPEX p50 (MUSD) | tariff p5–p95 "
                  "(USD/1000 m³) | rank mean (p5–p95; min–max) |", "|---|---|---|---|---|---|"]
        for r in s.head(top).itertuples(index=False):
            spread = (f"; {r.rank_min:.0f}–{r.rank_max:.0f}" if hasattr(r, "rank_min")
                      else "")
            lines.append(
                f"| {_md(r.candidate)} | {r.tasks} | {r.p_best:.2f} | {r.capex_musd_p50:,.0f}"
                f" | {r.tariff_p05:,.1f}–{r.tariff_p95:,.1f} | {r.rank_mean:.1f} "
                f"({r.rank_p05:.0f}–{r.rank_p95:.0f}{spread}) |")
        d = drivers[drivers["scenario"] == scen] if len(drivers) else drivers
        if len(d):
            lines += ["", f"What drives the ranking (P(best) of {_md(d['favourite'].iloc[0])}"
                      " when the input is low / high):", ""]
            for r in d.itertuples(index=False):
                lines.append(f"- {_md(r.parameter)}: {r.p_best_low:.2f} ({_md(r.low)}) / "
                             f"{r.p_best_high:.2f} ({_md(r.high)}); ranks move by "
                             f"{r.rank_shift:.2f} on average")
        lines.append("")
    if chart:
        lines += [f"![Tornado chart: inputs driving the ranking]({chart})", ""]
    return "\n".join(lines)


def _write_atomic(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_summary(out_dir: Path, spec: Any, results: pd.DataFrame
                  ) -> tuple[dict[str, Path], pd.DataFrame, pd.DataFrame]:
    """Write ``sweep.csv`` (per-candidate summary), ``sweep_drivers.csv``,
    ``tornado.png`` and ``sweep.md`` into ``out_dir`` (each atomically)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = candidate_summary(results)
    drivers = ranking_drivers(results) if len(results) else pd.DataFrame()
    files = {"sweep_csv": out_dir / "sweep.csv", "drivers_csv": out_dir / "sweep_drivers.csv",
             "report_md": out_dir / "sweep.md"}
    _write_atomic(files["sweep_csv"], lambda p: _csv_safe(summary).to_csv(p, index=False))
    _write_atomic(files["drivers_csv"], lambda p: _csv_safe(drivers).to_csv(p, index=False))
    chart = None
    if len(drivers):
        files["tornado_png"] = out_dir / "tornado.png"
        _write_atomic(files["tornado_png"], lambda p: tornado_chart(drivers, p))
        chart = "tornado.png"
    n = int(results["task_key"].nunique()) if len(results) else 0
    notes = [f"{d.name}: drawn for each route on its own in every task (each route's "
             f"{d.parameter} times its own multiplier)."
             for d in getattr(spec, "dimensions", ()) if getattr(d, "per_route", False)]
    md = sweep_report_markdown(summary, drivers, spec.name, n, chart, notes=notes) \
        if len(summary) else f"## Sweep: {_md(spec.name)}\n\nNo results yet.\n"
    _write_atomic(files["report_md"], lambda p: p.write_text(md, encoding="utf-8"))
    return files, summary, drivers


__all__ = ["candidate_summary", "ranking_drivers", "route_draw_columns",
           "sweep_report_markdown", "top_order_share", "tornado_chart", "write_summary"]
