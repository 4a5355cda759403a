"""Junctions of the network graph on constructed geometries, and the network tables."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest
from shapely.geometry import LineString

from planner.interconnections import (
    NetworkTableError,
    interconnections_from_csv,
    line_flows_from_csv,
    network_tables_for_study,
)
from planner.network import (
    NetworkParams,
    flow_digraph,
    junction_summary,
    pipeline_graph,
    spare_capacity,
)

NO_HUBS = pd.DataFrame(columns=["interconnection_id", "systems"])
WIDE = NetworkParams(snap_km=3, tap_spacing_km=1000)


def lines(*geoms: LineString, systems: list[str] | None = None) -> gpd.GeoDataFrame:
    names = [chr(ord("A") + i) for i in range(len(geoms))]
    return gpd.GeoDataFrame({"pipeline_id": [n.lower() for n in names], "name": names,
                             "system": systems or names, "status": ["Operating"] * len(geoms),
                             "capacity_bcm_y": [10.0] * len(geoms)},
                            geometry=list(geoms), crs="EPSG:4326")


def kinds(g: nx.MultiGraph) -> list[str]:
    return sorted(k for _, k in g.nodes(data="kind"))


def test_t_junction_joins():
    # B ends exactly on A's middle: A is split there and the three pieces meet at one node
    p = lines(LineString([(60, 45), (62, 45)]), LineString([(61, 45), (61, 47)]))
    g = pipeline_graph(p, params=WIDE, interconnections=NO_HUBS)
    assert nx.is_connected(g)
    assert g.number_of_edges() == 3 and "t_junction" in kinds(g)


def test_crossing_does_not_join():
    # B crosses A in the middle; neither has an end near the other
    p = lines(LineString([(60, 45), (62, 45)]), LineString([(61, 44), (61, 46)]))
    g = pipeline_graph(p, params=WIDE, interconnections=NO_HUBS)
    assert nx.number_connected_components(g) == 2
    assert not {"t_junction", "end_junction", "interconnection"} & set(kinds(g))


def test_near_miss_within_tolerance_joins():
    # B's end is 1.1 km beside A (pointing away from it), C's start 1.6 km past A's end
    p = lines(LineString([(60, 45), (62, 45)]), LineString([(61.0, 45.01), (61.5, 47)]),
              LineString([(62.02, 45), (63, 45)]))
    g = pipeline_graph(p, params=WIDE, interconnections=NO_HUBS)
    assert nx.is_connected(g)
    s = junction_summary(g).set_index("kind")
    assert s.loc["t_junction", "nodes"] == 1 and s.loc["end_junction", "nodes"] == 1
    assert s.loc["t_junction", "near_miss_joined"] == 1
    # beyond the tolerance they stay apart
    tight = pipeline_graph(p, params=NetworkParams(snap_km=0.5, tap_spacing_km=1000),
                           interconnections=NO_HUBS)
    assert nx.number_connected_components(tight) == 3


def hub_table(tmp_path, direction: str = "both", lon: str = "61.0", lat: str = "45.1"
              ) -> pd.DataFrame:
    f = tmp_path / "hubs.csv"
    f.write_text("interconnection_id,name,systems,lon,lat,search_km,direction,source\n"
                 f"h1,Hub,A;B,{lon},{lat},30,{direction},test source\n", encoding="utf-8")
    return interconnections_from_csv(f)


def test_cited_interconnection_joins_across_a_gap(tmp_path):
    # B ends 22 km from A: beyond the tolerance, joined only by the interconnection
    p = lines(LineString([(60, 45), (62, 45)]), LineString([(61, 45.2), (61, 47)]))
    assert not nx.is_connected(pipeline_graph(p, params=WIDE, interconnections=NO_HUBS))
    g = pipeline_graph(p, params=WIDE, interconnections=hub_table(tmp_path))
    assert nx.is_connected(g)
    link = [d for *_, d in g.edges(data=True) if d["kind"] == "interconnection"]
    assert len(link) == 1 and link[0]["length_km"] == pytest.approx(22.2, abs=0.5)
    assert sum(1 for _, k in g.nodes(data="kind") if k == "interconnection") == 2


def test_interconnection_joins_a_crossing_in_one_direction(tmp_path):
    p = lines(LineString([(60, 45), (62, 45)]), LineString([(61, 44), (61, 46)]))
    g = pipeline_graph(p, params=WIDE, interconnections=hub_table(tmp_path, "A>B", lat="45"))
    assert nx.is_connected(g)
    dg = flow_digraph(g)
    a_end = next(n for n, d in g.nodes(data=True) if d["lon"] == pytest.approx(60))
    b_end = next(n for n, d in g.nodes(data=True) if d["lat"] == pytest.approx(44))
    assert nx.has_path(dg, a_end, b_end) and not nx.has_path(dg, b_end, a_end)


def test_reverse_flow_only_where_the_table_allows(tmp_path):
    f = tmp_path / "flows.csv"
    f.write_text("system,design_direction,reversible,reverse_capacity_bcm_y,"
                 "reverse_flow_bcm_y,source\nA,east,yes,6,2,src\nB,north,no,,,src\n",
                 encoding="utf-8")
    flows = line_flows_from_csv(f)
    p = lines(LineString([(60, 45), (62, 45)]), LineString([(63, 44), (63, 46)]))
    g = pipeline_graph(p, params=WIDE, interconnections=NO_HUBS, line_flows=flows)
    for u, v, d in g.edges(data=True):
        west, east = (u, v) if g.nodes[u]["lon"] < g.nodes[v]["lon"] else (v, u)
        south, north = (u, v) if g.nodes[u]["lat"] < g.nodes[v]["lat"] else (v, u)
        if d["system"] == "A":
            assert spare_capacity(d, west, east) == 10.0  # design direction
            assert spare_capacity(d, east, west) == 4.0  # reverse: 6 - 2 already flowing
        else:
            assert spare_capacity(d, south, north) == 10.0
            assert spare_capacity(d, north, south) == 0.0  # not reversible


def test_bad_tables_name_file_line_and_field(tmp_path):
    f = tmp_path / "hubs.csv"
    f.write_text("interconnection_id,name,systems,lon,lat,direction,source\n"
                 "h1,Hub,A,61,95,A>C,\n", encoding="utf-8")
    with pytest.raises(NetworkTableError) as e:
        interconnections_from_csv(f)
    msg = str(e.value)
    assert "hubs.csv" in msg and "line 2, systems" in msg and "line 2, source" in msg
    assert "line 2, direction" in msg and "lon/lat" in msg
    g = tmp_path / "flows.csv"
    g.write_text("system,design_direction,reversible,source\nA,up,maybe,s\n", encoding="utf-8")
    with pytest.raises(NetworkTableError, match="line 2, design_direction"):
        line_flows_from_csv(g)
    with pytest.raises(NetworkTableError, match="file not found"):
        interconnections_from_csv(tmp_path / "missing.csv")


def test_a_study_supplies_its_own_tables(tmp_path):
    from planner.study import parse_study

    hub_table(tmp_path)  # writes hubs.csv
    text = ('[study]\nname = "t"\n[[supply]]\nname = "s"\nlon = 60\nlat = 45\n'
            '[[destinations]]\nname = "d"\nlon = 62\nlat = 45\nthroughput_bcm_y = 1\n'
            '[network]\ninterconnections = "hubs.csv"\n')
    study = parse_study(text, tmp_path / "t.toml")
    hubs, flows = network_tables_for_study(study)
    assert list(hubs["interconnection_id"]) == ["h1"]
    assert "Central Asia–Center" in flows.index  # the package table by default


def test_junctions_layer_on_the_map(tmp_path):
    from planner import webmap
    from planner.network import junctions_frame

    p = lines(LineString([(60, 45), (62, 45)]), LineString([(61, 45.2), (61, 47)]),
              systems=["A", "<b>B</b>"])
    f = tmp_path / "hubs.csv"
    f.write_text("interconnection_id,name,systems,lon,lat,search_km,source\n"
                 "h1,Hub <i>,A;<b>B</b>,61,45.1,30,src\n", encoding="utf-8")
    g = pipeline_graph(p, params=WIDE, interconnections=interconnections_from_csv(f))
    j = junctions_frame(g)
    assert set(j["kind"]) == {"interconnection", "interconnection link"}
    m = webmap.base_map()
    webmap.add_junctions(m, j)
    assert "Network junctions" in webmap.layer_names(m)["overlays"]
    html = webmap.make_offline(m)
    assert "Hub <i>" not in html and "<b>B</b>" not in html
