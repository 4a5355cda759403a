"""The calibration's objectives side by side on one search (README, "Route backtest").

Every objective of :data:`planner.backtest.routes.OBJECTIVES` (``shares``, ``distance``,
``margin``) picks its fit from the SAME score table: one draw of parameter sets, each
routed once on every line. A score table carries every metric the objectives read, so
re-scoring needs no routing. For each objective it prints, in the README table's form:

- training: the fit on all routable lines, scored on them (not a validation);
- 5-fold validation: each fold's lines scored by the fit on the other folds' lines
  (folds group a system and its parallels, as ``planner calibrate routes`` does);
- the held-out lines: the fit refitted without them (and their systems), scored on them.

It also prints the candidates each fold picked, the best single parameter set of the draw
on the two "beats" measures (scored on all lines: a ceiling of any fit from this draw, not
a validation), and the margin objective at other scales (a sensitivity check; the shipped
scale, ``OBJECTIVE_MARGIN_KM``, was set from the cell size and not chosen on it).

    F=border_crossing_mult,parallel_mult,parallel_corridor_m,town_access_mult,town_access_m
    F=$F,slope_hill_mult,slope_mtn_mult,mountain_mult
    planner calibrate routes --candidates 40 --parameters $F --objective margin \\
        --params-out margin.json --out margin-run               # routes the search once
    python benchmarks/route_objectives.py --scores margin-run/calibration_scores.csv
    python benchmarks/route_objectives.py --candidates 40 --parameters $F
                                          # routes the search itself (cached) if no table

Default held-out lines: the 9 Central Asian lines of the README's rows
(``--holdout P3273,P2492,P1124,P0739,P3964,P2291,P4048``; CAC-4 and Naiyp–Deryalyk go
with their systems). Runs in seconds on a saved table.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import pandas as pd

from planner.backtest import routes as R
from planner.layers import default_layers

HOLDOUT = "P3273,P2492,P1124,P0739,P3964,P2291,P4048"
F = ("border_crossing_mult,parallel_mult,parallel_corridor_m,town_access_mult,town_access_m,"
     "slope_hill_mult,slope_mtn_mult,mountain_mult")


def read_scores(path: str) -> pd.DataFrame:
    """A score table written by ``planner calibrate routes --out`` (calibration_scores.csv)."""
    df = pd.read_csv(path, dtype={"pipeline_id": str, "extra_country_codes": str,
                                  "error": str}, keep_default_na=False, na_values=[""])
    missing = {"candidate", "pipeline_id", "share_10km", "share_25km", "mean_distance_km",
               "baseline_mean_distance_km", "extra_countries"} - set(df.columns)
    if missing:
        raise SystemExit(f"{path}: not a calibration score table (missing columns: "
                         f"{', '.join(sorted(missing))}); write one with "
                         "`planner calibrate routes --out DIR`")
    return df


def fit(scores: pd.DataFrame, lines: pd.DataFrame, holdout: Sequence[str], folds: int,
        seed: int) -> dict[str, object]:
    """What :func:`planner.backtest.routes.calibrate_routes` fits on ``scores`` (objective
    column already set): training, k-fold and held-out results."""
    routable = scores.groupby("pipeline_id")["share_25km"].apply(lambda s: s.notna().any())
    is_held = R.held_out(lines, holdout)
    train = lines[~is_held & lines["pipeline_id"].map(lambda i: bool(routable.get(i, False)))]
    cid = R.best_candidate(scores, train["pipeline_id"])
    chosen = scores[scores["candidate"] == cid]
    cv = R.cross_validate(scores, train, folds, seed=seed)
    return {"candidate": cid,
            "training": chosen[chosen["pipeline_id"].isin(set(train["pipeline_id"]))],
            "cv": cv,
            "fold_candidates": cv.groupby("fold")["candidate"].first().tolist(),
            "held": chosen[chosen["pipeline_id"].isin(set(lines.loc[is_held, "pipeline_id"]))]}


def row(label: str, scored_on: str, table: pd.DataFrame, straight: bool = False) -> str:
    """One row in the README table's form."""
    s = R.summarise(table)
    dist = f"{s['mean_distance_km']:.1f}"
    if straight:
        dist += f" (straight {s['baseline_mean_distance_km']:.1f})"
    return (f"| {label} | {scored_on} | {100 * s['share_10km']:.1f} | "
            f"{100 * s['share_25km']:.1f} | {dist} | {100 * s['beats_baseline']:.0f} % / "
            f"{100 * s['beats_baseline_distance']:.0f} % | "
            f"{100 * s['no_extra_country']:.0f} % |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scores", help="calibration_scores.csv of `planner calibrate routes "
                    "--out` (default: route the search here, cached)")
    ap.add_argument("--candidates", type=int, default=40)
    ap.add_argument("--parameters", default=F)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--holdout", default=HOLDOUT)
    ap.add_argument("--scales", default="2.5,10",
                    help="margin scales (km) of the sensitivity check")
    a = ap.parse_args(argv)
    holdout = [t.strip() for t in a.holdout.split(",") if t.strip()]

    layers = default_layers()
    lines = R.built_lines(layers.pipelines, min_km=R.MIN_LINE_KM)
    if a.scores:
        scores = read_scores(a.scores)
        source = a.scores
    else:
        cal = R.calibrate_routes(layers, n_candidates=a.candidates, seed=a.seed,
                                 folds=a.folds, lines=lines,
                                 parameters=[t for t in a.parameters.split(",") if t])
        scores = cal.scores
        source = (f"the search routed here ({a.candidates} sets + published, seed {a.seed}, "
                  f"{a.parameters})")
    unknown = sorted(set(scores["pipeline_id"]) - set(lines["pipeline_id"]))
    if unknown:
        raise SystemExit(f"{a.scores}: lines not among the default lines: {', '.join(unknown)}")
    n_sets = scores["candidate"].nunique()
    print(f"score table: {source}; {n_sets} parameter sets x "
          f"{scores['pipeline_id'].nunique()} lines; folds {a.folds}, seed {a.seed}; "
          f"held out: {', '.join(holdout)}\n")

    header = ("| objective (the same draw) | scored on | within 10 km | within 25 km | "
              "mean distance km | beats straight line (strict / distance) | "
              "no extra country |\n| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    print(header)
    notes = []
    for objective in R.OBJECTIVES:
        sc = R.with_objective(scores, objective)
        whole = fit(sc, lines, (), a.folds, a.seed)
        part = fit(sc, lines, holdout, a.folds, a.seed)
        print(row(f"`{objective}` (set {whole['candidate']})", "training",
                  whole["training"]))  # type: ignore[arg-type]
        print(row(f"`{objective}`", "**5-fold validation** (sets "
                  f"{', '.join(map(str, whole['fold_candidates']))})",  # type: ignore[arg-type]
                  whole["cv"]))  # type: ignore[arg-type]
        print(row(f"`{objective}`, refit without the held-out lines (set {part['candidate']})",
                  f"**the {len(part['held'])} held out**",  # type: ignore[arg-type]
                  part["held"], straight=True))  # type: ignore[arg-type]
        notes.append(f"{objective}: fit {whole['candidate']}, folds "
                     f"{whole['fold_candidates']}, held-out refit {part['candidate']}")
    print("\n" + "\n".join(notes))

    ok = scores[scores["share_25km"].notna()]
    beats = pd.DataFrame({
        "candidate": ok["candidate"],
        "strict": ok.apply(R.beats_baseline, axis=1),
        "distance": ok.apply(R.beats_baseline_distance, axis=1),
    }).groupby("candidate").mean()
    for m in ("strict", "distance"):
        best = beats[m].idxmax()
        print(f"best single set by {m} beats on all {ok['pipeline_id'].nunique()} lines "
              f"(training, a ceiling of any fit from this draw): set {best}, "
              f"{100 * beats.loc[best, 'strict']:.0f} % / "
              f"{100 * beats.loc[best, 'distance']:.0f} %")
    print("\nsensitivity of the margin objective to its scale (not used to choose it):")
    for km in [float(x) for x in a.scales.split(",") if x.strip()]:
        sc = scores.assign(objective=R.margin_objective(
            scores["mean_distance_km"], scores["baseline_mean_distance_km"],
            scores["extra_countries"], scale_km=km))
        whole = fit(sc, lines, (), a.folds, a.seed)
        part = fit(sc, lines, holdout, a.folds, a.seed)
        s = R.summarise(whole["cv"])  # type: ignore[arg-type]
        print(f"  {km:g} km: fit {whole['candidate']}, folds {whole['fold_candidates']}, "
              f"held-out refit {part['candidate']}; 5-fold {100 * s['share_25km']:.1f} % "
              f"within 25 km, {100 * s['beats_baseline']:.0f} % / "
              f"{100 * s['beats_baseline_distance']:.0f} % beaten")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
