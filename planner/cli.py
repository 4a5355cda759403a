"""Command-line interface: ``planner layers``, ``planner study [FILE]`` and
``planner coalitions [FILE]``."""

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


def _coalitions(args: argparse.Namespace) -> int:
    from planner.coalition.run import run_coalitions

    result, files = run_coalitions(args.file, out_dir=args.out, workers=args.workers)
    s = result.summary
    print(f"grand coalition value {s['grand_coalition_value_musd_y']:,.1f} M USD/y, "
          f"Σ Shapley {s['shapley_sum_musd_y']:,.1f}; Shapley in core: {s['shapley_in_core']}")
    print(result.shares.to_string(index=False))
    for name, p in files.items():
        print(f"  {name}: {p}")
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

    p_coal = sub.add_parser("coalitions", help="the union as a coalition game: values, "
                            "Shapley shares, price corridor (default: the default study)")
    p_coal.add_argument("file", nargs="?", help="study TOML file")
    p_coal.add_argument("--out", help="output folder (default maps/<study>)")
    p_coal.add_argument("--workers", type=int, help="Dask workers (default: the study's)")
    p_coal.set_defaults(func=_coalitions)

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
