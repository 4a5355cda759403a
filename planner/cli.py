"""Command-line interface: ``planner layers``, ``planner study [FILE]`` and
``planner backtest costs``."""

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


def _backtest_costs(args: argparse.Namespace) -> int:
    from pathlib import Path

    from planner.backtest import costs

    ref_file = costs.REFERENCE_PROJECTS_CSV
    path = Path(args.projects) if args.projects else ref_file
    projects = costs.projects_from_csv(path)
    if args.no_calibrate:
        bt = costs.backtest_costs(projects, calibrate=False)
    elif path.resolve() == ref_file.resolve():
        bt = costs.backtest_costs(projects)
    else:
        bt = costs.backtest_costs(projects, reference=costs.projects_from_csv(ref_file))
    files = costs.write_backtest(bt, args.out, str(path))
    print("\n".join(costs.summary_lines(bt)))
    for name, f in files.items():
        print(f"  {name}: {f}")
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

    p_backtest = sub.add_parser("backtest", help="check the planner against what was built")
    bt_sub = p_backtest.add_subparsers(dest="backtest", required=True)
    p_bt_costs = bt_sub.add_parser(
        "costs", help="designs and CAPEX against published projects (costs.csv)")
    p_bt_costs.add_argument("--projects", help="reference projects CSV (default: the shipped "
                            "set, validated leave-one-out; another file is validated "
                            "held-out against parameters fitted on the shipped set)")
    p_bt_costs.add_argument("--out", required=True, help="output folder")
    p_bt_costs.add_argument("--no-calibrate", action="store_true",
                            help="use the shipped parameters as they are (no fit)")
    p_bt_costs.set_defaults(func=_backtest_costs)

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
