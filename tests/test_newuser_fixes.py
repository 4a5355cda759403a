"""Defects a new analyst hit running a study of another region (the South Caucasus):
each checked on a small constructed case."""

from __future__ import annotations

import numpy as np
import pytest
from test_plan import ECON, OPTS, network  # the plan tests' helpers

from planner.plan.optimise import independent_best

#: A one-destination study of the South Caucasus (supply by coordinates), for report text.
CAUCASUS = ('[study]\nname = "sc"\n[[supply]]\nname = "Sangachal"\nlon = 49.47\nlat = 40.18\n'
            '[[destinations]]\nname = "Tbilisi"\nthroughput_bcm_y = 2.5\n')


def test_independent_routes_keep_each_destination_throughput():
    # D's 3 bcm/y go by two existing lines of 2 bcm/y each: the flow of the last one used
    # to overwrite D's throughput in the comparison table (a shadowed loop variable)
    nodes = {"S": (0, 0, 0, True), "D": (600, 0, 3, False), "E": (600, 300, 1, False)}
    arcs = [("S", "D", "existing", 2.0, ["AAA"]), ("S", "D", "existing", 2.0, ["AAA"]),
            ("S", "E", "new", np.nan, ["AAA"])]
    ind = independent_best(network(nodes, arcs), OPTS, ECON).set_index("destination")
    assert ind["throughput_bcm_y"].to_dict() == pytest.approx({"D": 3.0, "E": 1.0})
    assert ind["status"].eq("optimal").all()


def test_plan_leaves_out_line_nodes_off_the_dem(layers, surface):
    # a region's edge at the DEM's edge (the South Caucasus study, west edge 44.0 E): the
    # nearest node of a line lay 0.5 km beyond it, and the plan stopped with "plan arc ...
    # outside the DEM"; such a node is now left out of the new corridors
    from planner.network import operating_graph
    from planner.plan.candidates import plan_network
    from planner.terrain_classes import TerrainClassifier

    graph = operating_graph(layers.pipelines, countries=layers.countries)
    supply = {"Sangachal": (49.47, 40.18)}
    demand = {"Ganca": (46.35, 40.68, 1.0)}
    full = TerrainClassifier.from_terrain(layers.terrain, layers.mountains)

    def build(classifier: TerrainClassifier):
        return plan_network(surface, graph, supply, demand, layers.countries,
                            pipelines=layers.pipelines, terrain_classes=classifier)

    def new_ends(net) -> set[str]:
        new = net.arcs[net.arcs["kind"] == "new"]
        return set(new["u"]) | set(new["v"])

    net = build(full)
    line_nodes = sorted(n for n in new_ends(net) if str(n).startswith("e"))
    assert line_nodes, "the case needs a new arc to a line's node"
    node = line_nodes[0]
    off = tuple(net.nodes.loc[node, ["lon", "lat"]].astype(float))

    class EdgeOfDem(TerrainClassifier):
        """The real DEM, but with ``node``'s point beyond its edge."""

        def on_dem(self, lonlat: np.ndarray) -> np.ndarray:
            pts = np.asarray(lonlat, dtype=float).reshape(-1, 2)
            return super().on_dem(pts) & ~np.all(np.isclose(pts, off), axis=1)

    edge = EdgeOfDem(full.slope_pct, full.transform, full.ranges)
    assert not edge.on_dem(np.array(off))[0] and full.on_dem(np.array(off))[0]
    net = build(edge)
    assert node not in new_ends(net)


def test_report_names_the_cost_regions_of_the_study_not_central_asia():
    # the report said every study's costs were "NETL regressions scaled to Central Asia"
    # and listed Central Asia's regional factor, also for a South Caucasus study
    import pandas as pd

    from planner.report import ReportInputs, _cost_parameter_rows, method_section, route_risks
    from planner.study import parse_study

    study = parse_study(CAUCASUS)
    ranking = pd.DataFrame({"scenario": ["a"], "rank": [1], "name": ["Tbilisi — greenfield"],
                            "countries": ["AZE, GEO"], "border_crossings": [1]})
    params = _cost_parameter_rows(study, ranking).set_index("Parameter")
    assert "regional factor west asia" in params.index
    assert "regional factor central asia" not in params.index
    assert "alternative gas price usd per 1000m3" in params.index  # a default to check
    text = method_section(ReportInputs(study, ranking, pd.DataFrame())).html
    text += " ".join(route_risks(ranking.iloc[0], ranking))
    # (the default fuel gas price's own source may still name Central Asian gas: a cited
    # default the table shows, which the study overrides with supply_price_usd_per_1000m3)
    assert "scaled to Central Asia" not in text
    assert "regional factor of the countries where the pipe is built" in text


def test_bad_user_layer_gets_one_error_without_reader_warnings(tmp_path, recwarn):
    # a GeoJSON column of mixed types made GeoPandas print "UserWarning: Could not parse
    # column 'POP' as JSON" (with a site-packages path) above the planner's own error
    import json

    from planner.io import layer_from_file
    from planner.validation import LayerError

    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [44.8, 41.7]},
              "properties": {"ID": "t1", "TOWN": "Tbilisi", "CTRY": "Georgia", "POP": 1.1e6}},
             {"type": "Feature", "geometry": {"type": "Point", "coordinates": [46.3, 40.7]},
              "properties": {"ID": "t2", "TOWN": "Ganca", "CTRY": "Azerbaijan", "POP": "lots"}}]
    path = tmp_path / "towns.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    with pytest.raises(LayerError) as err:
        layer_from_file(path, "demand_centres", {"ID": "centre_id", "TOWN": "name",
                                                 "CTRY": "country", "POP": "population"})
    text = str(err.value)
    assert "'population' (people) at rows 1: 'lots'" in text
    assert "rows count the file's features from 0" in text
    assert not [w for w in recwarn if "Could not parse" in str(w.message)]


def test_unknown_place_points_to_a_command_that_lists_names(layers):
    from planner.layers import layer_places
    from planner.study import StudyError, parse_study
    from planner.study_checks import check_study

    study = parse_study('[study]\nname = "sc"\n[region]\nbounds = [44.0, 38.0, 51.0, 43.0]\n'
                        '[[supply]]\nname = "Sangachal"\nlon = 49.47\nlat = 40.18\n'
                        '[[destinations]]\nname = "Gandja"\nthroughput_bcm_y = 1.0\n')
    with pytest.raises(StudyError) as err:
        check_study(study, layers)
    text = str(err.value)
    assert "did you mean 'Ganca'" in text and "`planner layers --places`" in text
    places = layer_places(layers, study.region)
    assert "Ganca" in set(places["name"]) and "Tashkent" not in set(places["name"])


def test_study_name_message_says_what_is_wrong():
    from planner.study import StudyError, parse_study

    with pytest.raises(StudyError) as err:
        parse_study('[study]\nname = "south caucasus/x"\n')
    assert "study.name (line 2): must be a folder-safe name" in str(err.value)


def test_members_without_a_demand_estimate_are_warned_of(layers, caplog):
    # the shipped demand centres carry demand only where national consumption is cited:
    # a South Caucasus study's new demand was 0 everywhere with no word why (Azerbaijan,
    # Georgia and Armenia now have cited figures; Afghanistan and Iraq have none)
    import logging

    import pandas as pd

    from planner import appraisal
    from planner.domestic import members_without_demand
    from planner.study import parse_study

    assert members_without_demand(layers.demand_centres, {"AZE", "GEO", "ARM", "AFG", "IRQ"},
                                  layers.countries) == ["AFG", "IRQ"]
    study = parse_study('[study]\nname = "sc"\nmember_countries = ["Afghanistan", "IRQ", '
                        '"AZE"]\n[[supply]]\nname = "Sangachal"\nlon = 49.47\nlat = 40.18\n'
                        '[[destinations]]\nname = "Tbilisi"\nthroughput_bcm_y = 2.5\n')
    appraisal._WARNED_NO_DEMAND.clear()
    with caplog.at_level(logging.WARNING, logger="planner.appraisal"):
        appraisal.demand_setting(pd.DataFrame(), layers, study)
        appraisal.demand_setting(pd.DataFrame(), layers, study)  # a second scenario
    warned = [r.getMessage() for r in caplog.records if "demand estimate" in r.getMessage()]
    assert len(warned) == 1 and "in AFG, IRQ:" in warned[0]


def test_route_colours_differ_from_the_map_s_line_colours():
    # the second destination's routes were drawn in the under-construction orange (#e6550d)
    from planner.mapui import DESTINATION_COLOURS
    from planner.webmap import STATUS_STYLE

    def rgb(c: str) -> np.ndarray:
        return np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)

    lines = [c for c, _ in STATUS_STYLE.values()] + ["#c0392b", "#1f5fa8"]  # + plan arcs
    gap = min(np.linalg.norm(rgb(d) - rgb(x)) for d in DESTINATION_COLOURS for x in lines)
    among = min(np.linalg.norm(rgb(a) - rgb(b)) for i, a in enumerate(DESTINATION_COLOURS)
                for b in DESTINATION_COLOURS[i + 1:])
    assert gap > 60 and among > 60, (gap, among)


def test_example_study_passes_every_check_and_is_not_shipped(layers):
    # the README's example of another region: checked here (cheap), never run by the tests
    from pathlib import Path

    from planner.study import load_study, shipped_studies
    from planner.study_checks import check_study

    path = Path(__file__).parents[1] / "planner" / "studies" / "examples" / "south_caucasus.toml"
    assert path not in shipped_studies()
    _supply, dests = check_study(load_study(path), layers)
    assert [p.name for p in dests] == ["Tbilisi", "Naxcivan", "Ganca"]


def test_plan_solve_prints_no_highs_banner():
    # "Running HiGHS 1.16.0 ... Copyright" came out in the middle of `planner study`
    import subprocess
    import sys

    code = ("import numpy as np, scipy.sparse as sp\n"
            "from planner.plan.optimise import _highs_model\n"
            "_highs_model(np.ones(1), np.zeros(1), np.ones(1), sp.csr_matrix(np.ones((1, 1))),"
            " np.zeros(1), np.ones(1))\n"
            "print('done')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "done" and "HiGHS" not in out.stderr


@pytest.mark.parametrize(("table", "typo", "meant"), [
    ("plan", "max_new_kms = 500", "max_new_km"),
    ("coalitions", 'seler = "AZE"', "seller"),
])
def test_plan_and_coalition_typos_suggest_the_key(tmp_path, table, typo, meant):
    # every other table of a study says "did you mean"; [plan] and [coalitions] did not
    from planner.coalition.spec import game_spec_from_study
    from planner.plan.options import plan_options_from_study
    from planner.study import StudyError, load_study

    path = tmp_path / "s.toml"
    path.write_text('[study]\nname = "s"\n[[supply]]\nname = "Beyneu"\n[[destinations]]\n'
                    f'name = "Tashkent"\nthroughput_bcm_y = 1.0\n[{table}]\n{typo}\n',
                    encoding="utf-8")
    read = plan_options_from_study if table == "plan" else game_spec_from_study
    with pytest.raises(StudyError) as err:
        read(load_study(path))
    assert "(line 9): unknown" in str(err.value)
    assert f"(did you mean {meant!r}?)" in str(err.value)


def test_two_destinations_or_scenarios_of_one_name_are_refused():
    # a second [[destinations]] "Tbilisi" ran, and the plan (keyed by name) kept only one
    # of the two throughputs; two scenarios of one name share their route ids
    from planner.study import StudyError, parse_study

    text = ('[study]\nname = "s"\n[[supply]]\nname = "Beyneu"\n'
            '[[destinations]]\nname = "Tashkent"\nthroughput_bcm_y = 1.0\n'
            '[[destinations]]\nname = "tashkent"\nthroughput_bcm_y = 2.0\n'
            '[[scenarios]]\nname = "a"\n[[scenarios]]\nname = "a"\n')
    with pytest.raises(StudyError) as err:
        parse_study(text)
    msg = str(err.value)
    assert "destinations[1].name (line 9): 'tashkent' is already destinations[0]" in msg
    assert "scenarios[1].name (line 14): 'a' is already scenarios[0]" in msg


def test_destination_at_the_supply_point_is_a_study_problem(layers):
    # it used to be dropped with a warning, the run going on without it (exit 0)
    from planner.study import StudyError, parse_study
    from planner.study_checks import check_study

    study = parse_study('[study]\nname = "sc"\n[region]\nbounds = [44.0, 38.0, 51.0, 43.0]\n'
                        '[[supply]]\nname = "Sangachal"\nlon = 49.47\nlat = 40.18\n'
                        '[[destinations]]\nname = "on the spot"\nlon = 49.471\nlat = 40.18\n'
                        'throughput_bcm_y = 1.0\n[[destinations]]\nname = "Ganca"\n'
                        'throughput_bcm_y = 1.0\n')
    with pytest.raises(StudyError) as err:
        check_study(study, layers)
    assert "destinations[0] (line 9): 'on the spot'" in str(err.value)
    assert "lies at the supply point" in str(err.value) and "Ganca" not in str(err.value)


def test_off_dem_error_says_where():
    # "plan arc a273 (j16087-e356): 1.0 km outside the DEM" named internal ids only
    from affine import Affine
    from shapely.geometry import LineString

    from planner.terrain import Terrain
    from planner.terrain_classes import TerrainClassError, TerrainClassifier

    t = Terrain(np.zeros((60, 60), dtype=np.float32),
                Affine(1 / 60, 0, 44.0, 0, -1 / 60, 41.0), "EPSG:4326")
    with pytest.raises(TerrainClassError, match=r"lies near 43\.98\d E, 40\.500 N\)"):
        TerrainClassifier.from_terrain(t).class_km(LineString([(43.98, 40.5), (44.5, 40.5)]))


def test_a_folder_given_as_the_study_is_named_a_folder(tmp_path):
    from planner.study import StudyError, load_study

    with pytest.raises(StudyError, match="a folder, not a file"):
        load_study(tmp_path)
