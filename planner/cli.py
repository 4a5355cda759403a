"""Command-line interface: ``planner layers``, ``planner study [FILE]``, ``planner network``,
``planner backtest routes``, ``planner backtest costs``, ``planner calibrate routes``,
``planner coalitions [FILE]`` and ``planner sweep [FILE]``.

Every expected failure (a bad study or layer file, a place no route can reach, a
resolution the machine cannot hold, a file that cannot be written) prints one message
and exits with status 2; ``-v`` adds the traceback. Ctrl-C (SIGINT) and SIGTERM stop the
run, remove its temporary files and leave earlier outputs as they were (exit 130 / 143);
one that comes while the new outputs are swapped in is held until they are, and the
message then says the new outputs are in place.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import traceback
from collections.abc import Iterator
from types import FrameType
from typing import Any

from planner import __version__

log = logging.getLogger("planner")

#: Failures that are the input's or the machine's, not the program's: one message each.
#: (ValueError covers StudyError, LayerError, RoutingError; MemoryError covers
#: ResolutionTooFineError; OSError covers missing and unwritable files.)
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError, KeyError, MemoryError)


#: planner.backtest.routes.OBJECTIVES, spelt out to keep geopandas out of start-up (a test
#: checks they are the same).
ROUTE_OBJECTIVES = ("shares", "distance", "margin")


class Terminated(BaseException):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that clean-up code runs."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signal.Signals(signum).name)


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` (main thread only), restoring the old handler."""
    try:
        old = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _left_behind(swapped_in: list[Any]) -> str:
    """What an interrupted run left: the earlier outputs, except the output folders it had
    already swapped in complete (``swapped_in``, :data:`planner.runner.SWAPPED_IN`; a
    signal that comes during the swap is held until it is done).

    Examples
    --------
    >>> _left_behind([])
    'temporary files removed, earlier outputs kept'
    >>> _left_behind(["maps/demo"])  # doctest: +NORMALIZE_WHITESPACE
    'the new outputs completed before the stop are in place: maps/demo; temporary files
    removed, other earlier outputs kept'
    """
    if swapped_in:
        return (f"the new outputs completed before the stop are in place: "
                f"{', '.join(map(str, swapped_in))}; temporary files removed, other "
                "earlier outputs kept")
    return "temporary files removed, earlier outputs kept"


def _swapped_in() -> list[Any]:
    """:data:`planner.runner.SWAPPED_IN` if a run imported the runner (only a run that
    wrote outputs did; importing it here would load geopandas after a Ctrl-C)."""
    runner = sys.modules.get("planner.runner")
    return list(getattr(runner, "SWAPPED_IN", []))


def _printable(text: str) -> str:
    r"""``text`` as is when every character prints, else its ``repr`` (control characters
    from a layer's data escaped, as the CLI's other messages show names with ``!r``).

    Examples
    --------
    >>> _printable("Ganca"), _printable("Gan\x1b[2Jca")
    ('Ganca', "'Gan\\x1b[2Jca'")
    """
    return text if text.isprintable() else repr(text)


def _layers(args: argparse.Namespace) -> int:
    from planner.layers import default_layers, layers_summary

    study = None
    if args.study:
        from planner.study import layers_for_study, load_study

        study = load_study(args.study)
        layers = layers_for_study(study)
    else:
        layers = default_layers()
    if args.places:
        from planner.layers import layer_places

        places = layer_places(layers, study.region if study is not None else None)
        for col in ("layer", "name", "country"):  # text from data: no terminal escapes
            places[col] = places[col].map(_printable)
        print(places.to_string(index=False))
        return 0
    table = layers_summary(layers)
    print(table.to_string(index=False))
    return 0


def _study(args: argparse.Namespace) -> int:
    from planner.runner import run_study
    from planner.study import default_study_path

    path = args.file or default_study_path()
    if args.no_cache:
        from planner import settings

        settings.USE_CACHE = False
    outputs = run_study(path, out_dir=args.out, progress=None if args.progress else False)
    print(f"study written to {outputs.out_dir}")
    for name, p in outputs.files.items():
        print(f"  {name}: {p}")
    return 0


def _network(args: argparse.Namespace) -> int:
    from planner import settings
    from planner.interconnections import (
        interconnections_from_csv,
        line_flows_from_csv,
        network_tables_for_study,
    )
    from planner.network import (
        component_summary,
        junction_summary,
        pipeline_graph,
        places_reached,
    )
    from planner.study import default_study_path, layers_for_study, load_study, resolve_place

    study = load_study(args.study or default_study_path())
    layers = layers_for_study(study)
    hubs, flows = network_tables_for_study(study)
    if args.interconnections:
        hubs = interconnections_from_csv(args.interconnections)
    if args.line_flows:
        flows = line_flows_from_csv(args.line_flows)
    g = pipeline_graph(layers.pipelines, statuses=["operating"], interconnections=hubs,
                       line_flows=flows, countries=layers.countries)
    comps = component_summary(g, top=args.top)
    n_comp = len(component_summary(g, top=10**9))
    print(f"Operating network of study {study.name!r}: {g.number_of_nodes()} nodes, "
          f"{g.number_of_edges()} edges, {n_comp} connected components")
    print("\nLargest components:")
    print(comps.to_string(index=False))
    print("\nJunctions by kind (near_miss_joined: ends moved to meet, within "
          "the tolerance):")
    print(junction_summary(g).to_string(index=False))
    links = [(d["name"], d["length_km"], d["flow"]) for *_, d in g.edges(data=True)
             if d["kind"] == "interconnection"]
    print(f"\nInterconnections applied ({len(hubs)} in the table, {len(links)} links):")
    for name in dict.fromkeys(n for n, *_ in links):
        kms = [km for n, km, _ in links if n == name]
        one_way = any(f != 0 for n, _, f in links if n == name)
        print(f"  {name}: {len(kms)} link(s), longest {max(kms):.1f} km"
              + (", one way" if one_way else ""))
    supply = {p.name: resolve_place(p, layers) for p in study.supply}
    dests = {p.name: resolve_place(p, layers) for p in study.destinations}
    places = {k: (v.lon, v.lat) for k, v in {**supply, **dests}.items()}
    reach = args.reach_km if args.reach_km is not None else settings.REACH_KM
    reached = places_reached(g, places, list(supply), reach_km=reach)
    print(f"\nSupply points and destinations (on the network: a node within "
          f"{reach:g} km; fed_from: supply points whose gas can flow there in "
          "the allowed directions):")
    print(reached.to_string(index=False))
    from planner.map_region import clip_to_box

    centres = clip_to_box(layers.demand_centres, study.region)  # the study's, not the layer's
    pts = {str(r["name"]) + f" ({r['country']})": (r.geometry.x, r.geometry.y)
           for _, r in centres.iterrows()}
    all_c = places_reached(g, pts, [])
    on = int(all_c["on_network"].sum()) if len(all_c) else 0
    print(f"\nDemand centres in the study region on the network: {on} of {len(all_c)}")
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
                             parameters=_ids(args.parameters) or None,
                             objective=args.objective, neighbours=args.neighbours,
                             straighten=args.straighten)
    from planner import settings

    files = write_backtest(result, args.out or settings.MAPS_DIR / "backtest-routes", layers)
    show = result.table.copy()
    for c in ("share_10km", "share_25km", "baseline_share_10km", "baseline_share_25km"):
        show[c] = (100 * show[c]).round(0)
    print(show[["pipeline_id", "name", "set", "share_10km", "share_25km", "length_ratio",
                "baseline_share_10km", "baseline_share_25km", "extra_countries",
                "mean_distance_km", "baseline_mean_distance_km"]]
          .round(2).to_string(index=False))
    print("\nmeans (shares in %, distances in km; beats_baseline, no_extra_country, "
          "closer_than_baseline, beats_baseline_distance: share of lines):")
    print((result.summary * [1, 100, 100, 1, 100, 100, 100, 100, 1, 1, 100, 100])
          .round(1).to_string())
    for name, p in files.items():
        print(f"  {name}: {p}")
    return 0


def _calibrate_routes(args: argparse.Namespace) -> int:
    from pathlib import Path

    from planner.backtest.routes import calibrate_routes, check_params_out, save_calibration
    from planner.io import write_csv

    check_params_out(_ids(args.parameters), args.params_out)
    client = None
    if args.workers > 1:
        from dask.distributed import Client, LocalCluster

        client = Client(LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                     silence_logs=logging.WARNING))
    try:
        cal = calibrate_routes(resolution_km=args.resolution_km, n_candidates=args.candidates,
                               folds=args.folds, seed=args.seed, holdout=_ids(args.holdout),
                               parameters=_ids(args.parameters) or None, client=client,
                               objective=args.objective, neighbours=args.neighbours,
                             straighten=args.straighten)
    finally:
        if client is not None:
            client.close()
    path = save_calibration(cal, args.params_out)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        write_csv(cal.scores, out / "calibration_scores.csv")
        write_csv(cal.candidates.reset_index(), out / "calibration_candidates.csv")
    prov = cal.provenance
    print(f"fitted on {len(prov['fitted_on'])} lines (candidate {cal.candidate}); "
          f"parameters written to {path}")
    for name in ("published_defaults_training", "training", "cross_validation",
                 "validation"):
        if prov.get(name):
            print(f"  {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in prov[name].items()))
    return 0


def _bootstrap_costs(args: argparse.Namespace, path: Any) -> int:
    from pathlib import Path

    from planner.backtest import bootstrap, costs

    problems = []
    if args.bootstrap is None:
        problems.append("--seed and --workers go with --bootstrap N")
    elif args.bootstrap < 1:
        problems.append(f"--bootstrap is {args.bootstrap}; give the number of draws, at least 1")
    if args.seed is not None and args.seed < 0:
        problems.append(f"--seed is {args.seed}; give a non-negative whole number")
    if args.workers is not None and args.workers < 1:
        problems.append(f"--workers is {args.workers}; give at least 1")
    if args.no_calibrate:
        problems.append("--no-calibrate fits nothing, so there is nothing to bootstrap; "
                        "drop one of the two")
    if problems:
        raise ValueError("planner backtest costs: " + "; ".join(problems))
    projects = costs.projects_from_csv(path)
    client = None
    if (args.workers or 1) > 1:
        from planner.sweep.engine import local_client

        if not args.verbose:  # Dask logs its cluster's life at INFO (here and in the workers)
            import os

            os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
        client = local_client(args.workers, silence_logs=logging.WARNING)
    try:
        draws = bootstrap.bootstrap_calibration(
            projects, args.bootstrap, args.seed or 0, client,
            store=Path(args.out) / "bootstrap_store")
    finally:
        if client is not None:
            client.close()
    summary = bootstrap.bootstrap_summary(draws)
    files = bootstrap.write_bootstrap(draws, summary, args.out)
    print("\n".join(bootstrap.summary_text(summary, draws)))
    for name, f in files.items():
        print(f"  {name}: {f}")
    return 0


def _backtest_costs(args: argparse.Namespace) -> int:
    from pathlib import Path

    from planner.backtest import costs

    ref_file = costs.REFERENCE_PROJECTS_CSV
    path = Path(args.projects) if args.projects else ref_file
    if args.bootstrap is not None or args.seed is not None or args.workers is not None:
        return _bootstrap_costs(args, path)
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
    from planner.lattice import NEIGHBOURS  # numpy only: the routing lattices

    parser = argparse.ArgumentParser(prog="planner", description=__doc__)
    parser.add_argument("--version", action="version", version=f"planner {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    p_layers = sub.add_parser("layers", help="print a summary table of the layers")
    p_layers.add_argument("--study", help="a study TOML whose layers to summarise")
    p_layers.add_argument("--places", action="store_true",
                          help="list the demand centres and supply points a study may name "
                               "(within the study's region with --study)")
    p_layers.set_defaults(func=_layers)

    p_study = sub.add_parser("study", help="run a study (default: the shipped default study)")
    p_study.add_argument("file", nargs="?", help="study TOML file")
    p_study.add_argument("--out", help="output folder (default maps/<study>)")
    p_study.add_argument("--progress", action="store_true",
                         help="show progress bars even when not on a terminal")
    p_study.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                         help="log more, and where the time went (per stage)")
    p_study.add_argument("--no-cache", action="store_true",
                         help="neither read nor write the cache of cost surfaces, candidate "
                         "routes and the plan's network (settings.CACHE_DIR)")
    p_study.set_defaults(func=_study)

    p_net = sub.add_parser("network", help="print the existing network as a graph: "
                           "components, junctions, places it reaches")
    p_net.add_argument("--study", help="study TOML (default: the shipped default study)")
    p_net.add_argument("--interconnections", help="your own interconnections CSV")
    p_net.add_argument("--line-flows", help="your own line-flows CSV")
    p_net.add_argument("--top", type=int, default=8, help="components to list (default 8)")
    p_net.add_argument("--reach-km", type=float, default=None,
                       help="a place is on the network within this distance of a line "
                            "(default settings.REACH_KM)")
    p_net.set_defaults(func=_network)

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
    p_br.add_argument("--objective", choices=ROUTE_OBJECTIVES, default="shares",
                      help="what a --holdout refit maximises (default: shares)")
    p_br.add_argument("--neighbours", type=int, choices=NEIGHBOURS, default=None,
                      help="routing lattice: 8 (the grid studies route on; default), 16 or "
                      "32 (near any-angle)")
    p_br.add_argument("--straighten", action="store_true", default=None,
                      help="straighten 8-neighbour routes (straighten_path; studies do not)")
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
    p_cr.add_argument("--objective", choices=ROUTE_OBJECTIVES, default="shares",
                      help="what the fit maximises per line: shares within 25 and 10 km, "
                      "minus the mean distance to the real line, or the margin over the "
                      "straight line's (default: shares)")
    p_cr.add_argument("--neighbours", type=int, choices=NEIGHBOURS, default=None,
                      help="routing lattice: 8 (the grid studies route on; default), 16 or "
                      "32 (near any-angle)")
    p_cr.add_argument("--straighten", action="store_true", default=None,
                      help="straighten 8-neighbour routes (straighten_path; studies do not)")
    p_cr.set_defaults(func=_calibrate_routes)

    p_bt_costs = back_sub.add_parser(
        "costs", help="designs and CAPEX against published projects (costs.csv)")
    p_bt_costs.add_argument("--projects", help="reference projects CSV (default: the shipped "
                            "set, validated leave-one-out; another file is validated "
                            "held-out against parameters fitted on the shipped set)")
    p_bt_costs.add_argument("--out", required=True, help="output folder")
    p_bt_costs.add_argument("--no-calibrate", action="store_true",
                            help="use the shipped parameters as they are (no fit)")
    p_bt_costs.add_argument("--bootstrap", type=int, metavar="N",
                            help="instead of the backtest: refit the calibration on N "
                            "resamples of the projects (bootstrap_draws.csv, "
                            "bootstrap_summary.csv)")
    p_bt_costs.add_argument("--seed", type=int, help="bootstrap seed (default 0)")
    p_bt_costs.add_argument("--workers", type=int,
                            help="bootstrap: dask.distributed local workers (default 1: "
                            "no dask)")
    p_bt_costs.set_defaults(func=_backtest_costs)

    p_coal = sub.add_parser("coalitions", help="the union as a coalition game: values, "
                            "Shapley shares, price corridor (default: the default study)")
    p_coal.add_argument("file", nargs="?", help="study TOML file")
    p_coal.add_argument("--out", help="output folder (default maps/<study>)")
    p_coal.add_argument("--workers", type=int, help="Dask workers (default: the study's)")
    p_coal.set_defaults(func=_coalitions)

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
    done_before = len(_swapped_in())  # main() may run more than once in one process
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        with _sigterm_raises():
            return int(args.func(args))
    except KeyboardInterrupt:
        print(f"planner: interrupted (Ctrl-C): {_left_behind(_swapped_in()[done_before:])}",
              file=sys.stderr)
        return 130
    except Terminated:
        print(f"planner: terminated (SIGTERM): {_left_behind(_swapped_in()[done_before:])}",
              file=sys.stderr)
        return 128 + signal.SIGTERM
    except EXPECTED_ERRORS as exc:
        if args.verbose:
            traceback.print_exc()
        what = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"planner: error: {what}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
