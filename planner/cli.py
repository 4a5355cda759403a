"""Command-line interface: ``planner layers``, ``planner study [FILE]`` and
``planner sweep [FILE]``."""

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


def _sweep(args: argparse.Namespace) -> int:
    from planner.sweep.study_sweep import default_sweep_path, run_sweep

    if not args.verbose:  # Dask logs its cluster's life at INFO (here and in the workers)
        import os

        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")

    def announce(client: object) -> None:
        from planner.sweep.engine import dashboard_link

        link = dashboard_link(client)
        address = getattr(getattr(client, "scheduler", None), "address", "?")
        print(f"Dask scheduler {address}; dashboard: {link or 'none (install bokeh for one)'}",
              flush=True)

    out = run_sweep(args.file or default_sweep_path(), out_dir=args.out,
                    scheduler=args.scheduler, n_workers=args.workers, serial=args.serial,
                    progress=None if args.progress else False, on_client=announce)
    r = out.run
    print(f"sweep: {r.total} tasks, {r.skipped} already done, {r.ran} run in {r.seconds:.1f} s"
          f", {len(r.failed)} failed")
    print(f"sweep written to {out.out_dir}")
    for name, p in out.files.items():
        print(f"  {name}: {p}")
    if r.failed:
        print("planner: error: some tasks failed (re-run the sweep to retry them):",
              file=sys.stderr)
        for k, msg in list(r.failed.items())[:10]:
            print(f"  task {k}: {msg}", file=sys.stderr)
        return 1
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
    p_study.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                         help="log more, and where the time went (per stage)")
    p_study.set_defaults(func=_study)

    p_sweep = sub.add_parser("sweep", help="run a sweep over a study's inputs on Dask "
                             "(default: the shipped example sweep of the default study)")
    p_sweep.add_argument("file", nargs="?", help="sweep TOML file")
    p_sweep.add_argument("--scheduler", metavar="ADDRESS",
                         help="an existing Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                         "(default: a LocalCluster on this machine)")
    p_sweep.add_argument("--workers", type=int, default=2,
                         help="worker processes of the LocalCluster (default 2)")
    p_sweep.add_argument("--serial", action="store_true", help="run without Dask")
    p_sweep.add_argument("--out", help="output folder (default maps/<sweep>)")
    p_sweep.add_argument("--progress", action="store_true",
                         help="show a progress bar even when not on a terminal")
    p_sweep.set_defaults(func=_sweep)

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
