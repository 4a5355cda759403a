"""The existing pipeline system as a graph, and routes that reuse it (real data)."""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import pytest
from shapely.geometry import LineString

from planner.network import NetworkParams, network_summary, pipeline_graph, reuse_route

RES = 10_000.0


@pytest.fixture(scope="session")
def graph(layers) -> nx.MultiGraph:
    return pipeline_graph(layers.pipelines)


@pytest.fixture(scope="session")
def cac_border(layers):
    """Where Central Asia–Center crosses from Russia into Kazakhstan (supply points)."""
    sp = layers.supply_points
    m = sp[(sp.kind == "border_crossing") & (sp.pipeline == "Central Asia–Center")
           & (sp.from_country == "Russia") & (sp.to_country == "Kazakhstan")]
    assert len(m), "the supply points should hold the CAC Russia–Kazakhstan crossing"
    p = m.geometry.iloc[0]
    return (p.x, p.y)


@pytest.fixture(scope="session")
def nukus(layers):
    d = layers.demand_centres
    p = d[(d.name == "Nukus") & (d.country == "Uzbekistan")].geometry.iloc[0]
    return (p.x, p.y)


def test_graph_attributes(graph):
    assert graph.number_of_nodes() > 100
    for _, _, d in list(graph.edges(data=True))[:50]:
        for key in ("pipeline_id", "name", "system", "status", "capacity_bcm_y", "direction",
                    "flow", "length_km", "geometry"):
            assert key in d
        assert d["length_km"] > 0
    cac = [d for *_, d in graph.edges(data=True) if d["system"] == "Central Asia–Center"]
    assert cac and all(d["direction"] == "north" for d in cac)
    assert {d["status"] for d in cac} == {"Operating"}
    assert max(d["capacity_bcm_y"] for d in cac) == pytest.approx(60.2)
    s = network_summary(graph).set_index(["system", "status"])
    # CAC strings total several thousand km
    assert s.loc[("Central Asia–Center", "Operating"), "length_km"] > 5000


def test_snapping_and_junctions():
    # B ends 1 km from A's middle: A is split there and both meet at one node
    p = gpd.GeoDataFrame(
        {"pipeline_id": ["a", "b", "c"], "name": ["A", "B", "C"],
         "status": ["Operating"] * 3},
        geometry=[LineString([(60, 45), (62, 45)]), LineString([(61, 45.01), (61, 47)]),
                  LineString([(62.02, 45), (63, 45)])], crs="EPSG:4326")
    g = pipeline_graph(p, params=NetworkParams(snap_km=3, tap_spacing_km=1000))
    assert nx.is_connected(g)  # C's start snaps to A's end (1.6 km apart)
    assert g.number_of_nodes() == 5 and g.number_of_edges() == 4
    tight = pipeline_graph(p, params=NetworkParams(snap_km=0.5, tap_spacing_km=1000))
    assert not nx.is_connected(tight)


def test_reuse_route_follows_central_asia_center(surface, graph, cac_border, nukus):
    r = reuse_route(surface, graph, cac_border, nukus, origin_name="CAC RU–KZ border",
                    destination_name="Nukus")
    row = r.route.iloc[0]
    assert "Central Asia–Center" in row.pipelines
    assert r.km_by_system["Central Asia–Center"] > 700
    assert row.reused_km > 700 and row.new_km < 0.3 * row.length_km
    assert row.reused_km + row.new_km == pytest.approx(row.length_km)
    # Russian gas flows south: against CAC's design direction
    assert row.reversed_km > 500
    assert row.cost < row.greenfield_cost
    legs = r.legs
    assert set(legs.kind) <= {"new", "reuse"}
    assert legs.length_km.sum() == pytest.approx(row.length_km)
    cac = legs[legs.system == "Central Asia–Center"]
    assert cac["reverse"].all() and cac.pipeline_ids.str.contains("P").all()
    assert len(row.distance_km) == len(row.elevation_m) > 10
    assert row.countries.startswith("RUS, KAZ") or row.countries.startswith("KAZ")
    assert row.countries.endswith("UZB")
    assert sum(row.km_by_country.values()) == pytest.approx(row.distance_km[-1], rel=1e-6)
    assert r.route.crs.to_epsg() == 4326


def test_reuse_without_reverse_flow(surface, graph, cac_border, nukus):
    r = reuse_route(surface, graph, cac_border, nukus, allow_reverse=False)
    row = r.route.iloc[0]
    assert row.reversed_km == 0
    assert "Central Asia–Center" not in r.legs.loc[r.legs.kind == "reuse", "system"].tolist()


def test_capacity_is_respected(surface, graph, cac_border, nukus):
    r = reuse_route(surface, graph, cac_border, nukus, volume_bcm_y=500)
    row = r.route.iloc[0]
    assert row.reused_km == 0 and row.new_km > 0
    assert row.cost == pytest.approx(row.greenfield_cost)


def test_graph_and_surface_crs_must_match(surface, layers, cac_border, nukus):
    from planner.validation import CRSMismatchError

    g = pipeline_graph(layers.pipelines.iloc[:20], crs="EPSG:3857")
    with pytest.raises(CRSMismatchError, match=r"EPSG:3857.*crs=surface\.crs"):
        reuse_route(surface, g, cac_border, nukus)


@pytest.fixture(scope="session")
def operating(layers) -> nx.MultiGraph:
    from planner.network import operating_graph

    return operating_graph(layers.pipelines, countries=layers.countries)


def test_every_cited_interconnection_is_applied(operating):
    from planner.interconnections import interconnections_from_csv

    table = interconnections_from_csv()
    hubs = {d["interconnection"] for _, d in operating.nodes(data=True)} - {""}
    assert hubs == set(table["interconnection_id"])


def test_supply_points_feed_every_destination_of_the_shipped_studies(layers, operating):
    # through the operated network, in the directions gas may flow (reverse only where the
    # line-flows table allows it); Samarqand lies 71 km from the nearest GEM line
    from planner.network import places_reached
    from planner.study import load_study, resolve_place, shipped_studies

    for path in shipped_studies():
        study = load_study(path)
        supply = {p.name: resolve_place(p, layers) for p in study.supply}
        dests = {p.name: resolve_place(p, layers) for p in study.destinations}
        places = {k: (v.lon, v.lat) for k, v in {**supply, **dests}.items()}
        r = places_reached(operating, places, list(supply), reach_km=80).set_index("place")
        for name in dests:
            assert r.loc[name, "fed_from"], (study.name, name)


def test_cac_reverse_reaches_the_uzbek_network_only_through_karakalpakstan(operating):
    from planner.network import flow_digraph, without_systems

    def node(lon: float, lat: float, system: str) -> int:
        return min((n for n, d in operating.nodes(data=True) if system in d["systems"]),
                   key=lambda n: (operating.nodes[n]["lon"] - lon) ** 2
                   + (operating.nodes[n]["lat"] - lat) ** 2)

    # on the strings run in reverse since 2023 (CAC-4, CAC-5)
    border = min((u for u, _, pid in operating.edges(data="pipeline_id")
                  if pid in ("P5770", "P5771")),
                 key=lambda n: (operating.nodes[n]["lon"] - 48.78) ** 2
                 + (operating.nodes[n]["lat"] - 50.14) ** 2)
    tashkent = node(69.2, 41.3, "Bukhara–Tashkent–Bishkek–Almaty")
    # CAC alone (no Beineu–Bozoi–Shymkent, no Bukhara–Ural): into Uzbekistan, to Tashkent
    cac_only = flow_digraph(without_systems(operating, ["Beineu–Bozoi–Shymkent",
                                                        "Bukhara–Ural"]))
    path = nx.shortest_path(cac_only, border, tashkent, weight="length_km")
    systems = {cac_only[a][b]["system"] for a, b in itertools.pairwise(path)}
    assert {"Central Asia–Center", "Gazli–Nukus"} <= systems
    assert any(s.startswith("Karakalpakstan") for s in systems)
    # without that interconnection, CAC reaches no Uzbek line
    no_hub = without_systems(operating, ["Beineu–Bozoi–Shymkent", "Bukhara–Ural",
                                         *[s for *_, s in operating.edges(data="system")
                                           if s.startswith("Karakalpakstan")]])
    assert not nx.has_path(flow_digraph(no_hub), border, tashkent)


def test_network_command_prints_the_graph_summary(capsys):
    from planner.cli import main

    assert main(["network"]) == 0
    out = capsys.readouterr().out
    for part in ("connected components", "Junctions by kind", "t_junction",
                 "Karakalpakstan: Russian gas into the Uzbek network", "Tashkent",
                 "Demand centres in the study region on the network"):
        assert part in out, part


def test_system_capacity_counts_a_repeated_system_figure_once():
    from planner.network import system_capacity

    assert system_capacity([60.2, 60.2, 60.2], ["system"] * 3) == pytest.approx(60.2)
    assert system_capacity([15.0, 15.0, 25.0], ["string"] * 3) == pytest.approx(55.0)
    assert system_capacity([60.2, 5.0], ["system", "string"]) == pytest.approx(65.2)
    assert system_capacity([float("nan")], ["system"]) != system_capacity([0.0], ["system"])


@pytest.mark.parametrize("reverse", [False, True])
def test_reused_cac_capacity_is_the_systems_not_one_per_string(surface, graph, layers,
                                                               cac_border, nukus, reverse):
    """GEM repeats CAC's 60.2 bcm/y on each eastern string: the merged strings of a reused
    leg count it once (planner/data/pipeline_systems.csv, capacity_basis "system")."""
    from planner.curation import pipeline_systems

    system = pipeline_systems(layers.pipelines).loc["Central Asia–Center", "capacity_bcm_y"]
    a, b = (cac_border, nukus) if reverse else (nukus, cac_border)
    legs = reuse_route(surface, graph, a, b).legs
    cac = legs[legs.system == "Central Asia–Center"]
    assert len(cac) and (cac["reverse"] == reverse).all()
    # several strings merged on the leg, capacity still at most the system's
    assert cac.pipeline_ids.str.count(",").max() >= 1
    assert (cac["capacity_bcm_y"] <= system + 1e-9).all()
