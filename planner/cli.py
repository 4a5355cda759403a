"""Command-line interface: ``planner layers``, ``planner study [FILE]`` and
``planner network``."""

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
    centres = layers.demand_centres
    pts = {str(r["name"]) + f" ({r['country']})": (r.geometry.x, r.geometry.y)
           for _, r in centres.iterrows()}
    all_c = places_reached(g, pts, [])
    on = int(all_c["on_network"].sum())
    print(f"\nDemand centres on the network: {on} of {len(all_c)}")
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
