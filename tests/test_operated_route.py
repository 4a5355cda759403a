"""The route operated since October 2023 among the default study's candidates, and the
supply points of a study (real runs of the shipped studies, shared per session)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString

from planner.operated_routes import follows_operated_route, operated_route_table


def operated(run) -> pd.DataFrame:
    c = run.candidates
    return c[follows_operated_route(c)]


def test_the_operated_route_is_a_candidate_to_tashkent_and_samarqand(default_run):
    ops = operated(default_run)
    first = ops[ops["scenario"].eq("lowest cost")].set_index("destination")
    for city in ("Tashkent", "Samarqand"):
        row = first.loc[city]
        # CAC reversed from the Russian border, into the Uzbek network in Karakalpakstan,
        # east on the Uzbek lines; no Beineu–Bozoi–Shymkent or Bukhara–Ural
        assert row["reused_pipelines"].startswith("Central Asia–Center")
        assert "Gazli–Nukus" in row["reused_pipelines"]
        assert row["reused_km"] > 1500
        assert row["new_build_km"] + row["reused_km"] == pytest.approx(row["length_km"])
    # new build: the links at either end only (Samarqand lies 71 km from the nearest GEM
    # line, so its link is longer)
    assert first.loc["Tashkent", "new_build_km"] < 100
    assert first.loc["Samarqand", "new_build_km"] < 160


def test_the_report_says_where_it_ranks_and_why(default_run):
    text = default_run.files["report_md"].read_text(encoding="utf-8")
    assert "## The route operated since October 2023" in text
    t = operated_route_table(default_run.ranking)
    assert len(t) and set(t["destination"]) >= {"Tashkent", "Samarqand"}
    for _, r in t.iterrows():
        assert 1 <= r["rank_for_destination"] <= r["rank"] <= r["of"]
        assert r["why"].startswith(("best for", "behind"))
        assert f"rank {r['rank']} of {r['of']}" in text


def test_every_candidate_names_its_supply_point(shipped_runs):
    from planner.study import load_study, shipped_studies

    for path in shipped_studies():
        study = load_study(path)
        c = shipped_runs[study.name].candidates
        assert set(c["supply_point"]) == {p.name for p in study.supply}
        assert set(c["supply_choice"]) == {"the only supply point"}


def test_destinations_without_a_reuse_candidate_lack_capacity_not_connection(
        shipped_runs, layers, surface):
    # every destination has a reuse candidate, or the network reaches it but no route has
    # its throughput of capacity left (e.g. 10 bcm/y to China against 5.4 left on the
    # reversed Central Asia–Center, 3 bcm/y to Astana against Saryarka's 2.2)
    from planner.network import operating_graph, reuse_route
    from planner.routing import UnreachableError
    from planner.study import load_study, resolve_place, shipped_studies

    graph = operating_graph(layers.pipelines, countries=layers.countries)
    for path in shipped_studies():
        study = load_study(path)
        c = shipped_runs[study.name].candidates
        reuse = set(c.loc[c["kind"].eq("reuse"), "destination"])
        origin = resolve_place(study.supply[0], layers)
        for d in study.destinations:
            if d.name in reuse:
                continue
            d = resolve_place(d, layers)
            with pytest.raises(UnreachableError, match="capacity left"):
                reuse_route(surface, graph, (origin.lon, origin.lat), (d.lon, d.lat),
                            origin_name=origin.name, destination_name=d.name,
                            volume_bcm_y=d.throughput_bcm_y, require_reuse=True)


def test_every_supply_point_is_used_and_the_cheapest_chosen(monkeypatch):
    # two supply points: each destination's candidates come from the cheaper one
    from planner import runner
    from planner.study import Place

    cost = {("north", "d1"): 900.0, ("south", "d1"): 1200.0,
            ("north", "d2"): 1500.0, ("south", "d2"): 700.0}

    def fake(study, layers, surface, origin, dest, graphs):
        return [gpd.GeoDataFrame({
            "origin": [origin.name], "cost": [cost[(origin.name, dest.name)]],
            "kind": ["greenfield"], "label": ["least-cost"], "length_km": [100.0],
            "new_build_km": [100.0], "reused_km": [0.0], "reused_pipelines": [""],
            "destination": [dest.name]},
            geometry=[LineString([(0, 0), (1, 1)])], crs="EPSG:4326")]

    monkeypatch.setattr(runner, "_destination_candidates", fake)
    origins = [Place("north", 60, 50, kind="supply"), Place("south", 60, 40, kind="supply")]
    dests = [Place("d1", 65, 45, throughput_bcm_y=1), Place("d2", 66, 45, throughput_bcm_y=1)]
    c = runner.generate_candidates(None, None, None, origins, dests, progress=False,
                                   graphs={}).set_index("destination")
    assert c.loc["d1", "supply_point"] == "north" and c.loc["d2", "supply_point"] == "south"
    assert c.loc["d1", "supply_choice"] == ("cheapest of 2 supply points "
                                            "(north 900 km-eq; south 1,200 km-eq)")
