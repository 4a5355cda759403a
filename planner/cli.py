"""Command-line interface: ``planner layers``, ``planner study [FILE]``,
``planner backtest routes`` and ``planner calibrate routes``."""

from __future__ import annotations

import argparse
import logging
import sys

from planner import __version__

log = logging.getLogger("planner")


def _layers(args: argparse.Namespace) -> int:
    from planner.layers import default_layers, layers_summary

    if args.study:
        from planner.study import layers_for_study, load_study

        layers = layers_for_study(load_study(args.study))
    else:
        layers = default_layers()
    table = layers_summary(layers)
    print(table.to_string(index=False))
    return 0


def _study(args: argparse.Namespace) -> int:
    from planner.runner import run_study
    from planner.study import default_study_path

    path = args.file or default_study_path()
    outputs = run_study(path, out_dir=args.out, progress=None if args.progress else False)
    print(f"study written to {outputs.out_dir}")
    for name, p in outputs.files.items():
        print(f"  {name}: {p}")
    return 0


def _ids(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _backtest_routes(args: argparse.Namespace) -> int:
    from planner.backtest.routes import backtest_routes, write_backtest
    from planner.layers import default_layers

    layers = default_layers()
    result = backtest_routes(layers, ids=_ids(args.ids), resolution_km=args.resolution_km,
                             holdout=_ids(args.holdout), min_km=args.min_km,
                             n_candidates=args.candidates,
                             parameters=_ids(args.parameters) or None)
    from planner import settings

    files = write_backtest(result, args.out or settings.MAPS_DIR / "backtest-routes", layers)
    show = result.table.copy()
    for c in ("share_10km", "share_25km", "baseline_share_10km", "baseline_share_25km"):
        show[c] = (100 * show[c]).round(0)
    print(show[["pipeline_id", "name", "set", "share_10km", "share_25km", "length_ratio",
                "baseline_share_10km", "baseline_share_25km", "extra_countries"]]
          .round(2).to_string(index=False))
    print("\nmeans (shares in %; beats_baseline and no_extra_country: share of lines):")
    print((result.summary * [1, 100, 100, 1, 100, 100, 100, 100]).round(1).to_string())
    for name, p in files.items():
        print(f"  {name}: {p}")
    return 0


def _calibrate_routes(args: argparse.Namespace) -> int:
    from pathlib import Path

    from planner.backtest.routes import calibrate_routes, save_calibration

    client = None
    if args.workers > 1:
        from dask.distributed import Client, LocalCluster

        client = Client(LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                     silence_logs=logging.WARNING))
    try:
        cal = calibrate_routes(resolution_km=args.resolution_km, n_candidates=args.candidates,
                               folds=args.folds, seed=args.seed, holdout=_ids(args.holdout),
                               parameters=_ids(args.parameters) or None, client=client)
    finally:
        if client is not None:
            client.close()
    path = save_calibration(cal, args.params_out)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        cal.scores.to_csv(out / "calibration_scores.csv", index=False)
        cal.candidates.to_csv(out / "calibration_candidates.csv")
    prov = cal.provenance
    print(f"fitted on {len(prov['fitted_on'])} lines (candidate {cal.candidate}); "
          f"parameters written to {path}")
    for name in ("published_defaults_training", "training", "cross_validation",
                 "validation"):
        if prov.get(name):
            print(f"  {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in prov[name].items()))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``planner`` console script."""
    parser = argparse.ArgumentParser(prog="planner", description=__doc__)
    parser.add_argument("--version", action="version", version=f"planner {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    p_layers = sub.add_parser("layers", help="print a summary table of the layers")
    p_layers.add_argument("--study", help="a study TOML whose layers to summarise")
    p_layers.set_defaults(func=_layers)

    p_study = sub.add_parser("study", help="run a study (default: the shipped default study)")
    p_study.add_argument("file", nargs="?", help="study TOML file")
    p_study.add_argument("--out", help="output folder (default maps/<study>)")
    p_study.add_argument("--progress", action="store_true",
                         help="show progress bars even when not on a terminal")
    p_study.set_defaults(func=_study)

    p_back = sub.add_parser("backtest", help="backtest the planner against what was built")
    back_sub = p_back.add_subparsers(dest="what", required=True)
    p_br = back_sub.add_parser("routes", help="least-cost routes against built pipelines")
    p_br.add_argument("--ids", help="comma-separated pipeline ids (default: every operating "
                      "line longer than --min-km)")
    p_br.add_argument("--resolution-km", type=float, default=None,
                      help="cost-surface cell size (default 10 km)")
    p_br.add_argument("--out", default=None,
                      help="output folder (default maps/backtest-routes)")
    p_br.add_argument("--holdout", help="comma-separated pipeline ids: refit the calibration "
                      "without them and report them as validation")
    p_br.add_argument("--min-km", type=float, default=150.0, help="shortest line tested")
    p_br.add_argument("--candidates", type=int, default=120,
                      help="parameter sets searched by a --holdout refit")
    p_br.add_argument("--parameters", help="comma-separated factors a --holdout refit "
                      "searches (default: all)")
    p_br.set_defaults(func=_backtest_routes)

    p_cal = sub.add_parser("calibrate", help="fit model parameters to what was built")
    cal_sub = p_cal.add_subparsers(dest="what", required=True)
    p_cr = cal_sub.add_parser("routes", help="fit the cost surface to built pipelines")
    p_cr.add_argument("--resolution-km", type=float, default=None)
    p_cr.add_argument("--candidates", type=int, default=120, help="parameter sets searched")
    p_cr.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    p_cr.add_argument("--seed", type=int, default=12)
    p_cr.add_argument("--holdout", help="comma-separated pipeline ids kept out of the fit")
    p_cr.add_argument("--workers", type=int, default=1,
                      help="dask.distributed local workers (default 1: no dask)")
    p_cr.add_argument("--params-out", default=None,
                      help="where to write the parameters (default: the package's file)")
    p_cr.add_argument("--out", default=None, help="folder for the search's score tables")
    p_cr.add_argument("--parameters", help="comma-separated factors to search "
                      "(default: all; e.g. border_crossing_mult)")
    p_cr.set_defaults(func=_calibrate_routes)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print(f"planner: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
