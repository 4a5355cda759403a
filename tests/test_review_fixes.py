"""Fixes from the review of the South Caucasus study merge (constructed inputs, except the
identity on the default study's real outputs)."""

from __future__ import annotations

import pytest
from test_newuser_fixes import CAUCASUS  # the newcomer tests' South Caucasus study


def test_a_supply_point_and_a_destination_of_one_name_are_refused():
    # the plan keys terminals by name: the destination "Ganca" replaced the supply "Ganca"
    from planner.study import StudyError, parse_study

    text = ('[study]\nname = "s"\n[[supply]]\nname = "Ganca"\nlon = 49.47\nlat = 40.18\n'
            '[[destinations]]\nname = "Tbilisi"\nthroughput_bcm_y = 1.0\n'
            '[[destinations]]\nname = "ganca"\nthroughput_bcm_y = 1.0\n')
    with pytest.raises(StudyError) as err:
        parse_study(text)
    msg = str(err.value)
    assert "destinations[1].name (line 11): 'ganca' is already supply[0] (line 4)" in msg
    assert msg.count("is already") == 1


def test_plan_network_refuses_a_name_that_is_supply_and_destination():
    from planner.plan.candidates import plan_network

    with pytest.raises(ValueError, match="'Ganca' named both a supply point and a destination"):
        plan_network(None, None, {"Ganca": (49.47, 40.18)},  # type: ignore[arg-type]
                     {"Ganca": (46.35, 40.68, 1.0)}, None,  # type: ignore[arg-type]
                     terrain_classes=None)  # type: ignore[arg-type]


def test_report_names_the_factors_where_new_pipe_is_built_and_the_countries_without_one():
    # the assumptions listed only fitted factors, from every country crossed: RUS and CHN
    # (1.0 by definition) went unnamed, and a country crossed on reused lines only was listed
    import pandas as pd

    from planner.report import ReportInputs, _cost_parameter_rows, method_section
    from planner.study import parse_study

    study = parse_study(CAUCASUS)
    ranking = pd.DataFrame({"scenario": ["a"], "rank": [1], "name": ["T <b>"],
                            "countries": ["AZE, GEO, KAZ, RUS, CHN"], "border_crossings": [4]})
    per_country = pd.DataFrame({"scenario": "a", "route_id": 1,
                                "iso_a3": ["AZE", "GEO", "KAZ", "RUS", "CHN", "<i>"],
                                "new_build_km": [100.0, 50.0, 0.0, 30.0, 20.0, 5.0]})
    rows = _cost_parameter_rows(study, ranking, per_country).set_index("Parameter")
    assert "regional factor central asia" not in rows.index  # KAZ: reused km only
    assert rows.loc["regional factor west asia", "Source"].startswith("new pipe in AZE, GEO;")
    none = rows.loc["regional factor (none fitted)"]
    assert none["Value"] == 1.0
    assert none["Source"].startswith("new pipe in RUS, CHN, <i>: no fitted factor")
    assert "US basis" in none["Source"] and "not measured" in none["Source"]
    html = method_section(ReportInputs(study, ranking, per_country)).html
    assert "new pipe in RUS, CHN, &lt;i&gt;" in html and "<i>" not in html


@pytest.mark.parametrize("where", ["study", "scenario"])
def test_report_shows_the_supply_price_and_the_fuel_price_it_replaces(where):
    # a study-wide supply_price_usd_per_1000m3 was missing from the assumptions, and the
    # fuel gas price row showed the cost table's 150 though fuel is priced at the supply price
    from planner.report import _cost_parameter_rows
    from planner.study import parse_study

    costs = "[costs]\nsupply_price_usd_per_1000m3 = 250\n"
    scen = '[[scenarios]]\nname = "lo"\n[[scenarios]]\nname = "hi"\n'
    if where == "scenario":
        costs, scen = "", ('[[scenarios]]\nname = "lo"\n[[scenarios]]\nname = "hi"\n'
                           "costs = { supply_price_usd_per_1000m3 = 250 }\n")
    study = parse_study(CAUCASUS + costs + scen, "sc.toml")
    rows = _cost_parameter_rows(study).set_index("Parameter")
    if where == "study":
        assert rows.loc["supply price usd per 1000m3", "Value"] == 250.0
        fuel = rows.loc["fuel gas price usd per 1000m3 (replaced by supply price usd per 1000m3)"]
        assert fuel["Value"] == 250.0
        assert fuel["Source"].startswith("study file sc.toml: compressor fuel is priced at")
        assert "cost table default 150" in fuel["Source"]
    else:
        assert rows.loc["supply price usd per 1000m3 (scenario hi)", "Value"] == 250.0
        fuel = rows.loc["fuel gas price usd per 1000m3"]
        assert fuel["Value"] == 150.0
        assert fuel["Source"].endswith("replaced in scenario(s) hi by their supply price "
                                       "(compressor fuel is priced at it)")


def test_plan_and_coalitions_typos_stop_a_study_before_any_routing(tmp_path, monkeypatch):
    # a [plan] typo raised only after every route was searched, a [coalitions] typo never
    # (in `planner study`); now both are among the up-front checks, in one error
    from planner import runner
    from planner.study import StudyError

    def no_routing(*args: object, **kwargs: object) -> None:
        raise AssertionError("routing started before the study was checked")

    monkeypatch.setattr(runner, "cost_surface_for", no_routing)
    monkeypatch.setattr(runner, "reuse_graphs", no_routing)
    path = tmp_path / "s.toml"
    path.write_text('[study]\nname = "s"\n[[supply]]\nname = "Beyneu"\n[[destinations]]\n'
                    'name = "Tashkent"\nthroughput_bcm_y = 1.0\n[plan]\nmax_new_kms = 900\n'
                    '[coalitions]\nplayer = ["KAZ", "UZB"]\n', encoding="utf-8")
    with pytest.raises(StudyError) as err:
        runner.run_study(path, out_dir=tmp_path / "out")
    msg = str(err.value)
    assert "plan.max_new_kms (line 9): unknown option (did you mean 'max_new_km'?)" in msg
    assert "coalitions.player (line 11): unknown key (did you mean 'players'?)" in msg
    assert not (tmp_path / "out").exists()


def test_malformed_coalitions_entries_are_study_problems_not_a_traceback():
    # `planner study` reads [coalitions] up front since section_problems: entries that are
    # not tables, or destinations that are not names, crashed it (AttributeError,
    # TypeError); they are problems of the one study error now, with their lines
    from planner.study import parse_study
    from planner.study_checks import section_problems

    s = parse_study('[study]\nname = "s"\n[[supply]]\nname = "Beyneu"\n[[destinations]]\n'
                    'name = "Tashkent"\nthroughput_bcm_y = 1.0\n[coalitions]\n'
                    'players = ["RUS", "UZB"]\nseller = "RUS"\n'
                    'seller_cost_usd_per_1000m3 = 100\nseller_cost_source = "x"\n'
                    'published_prices = [5]\n[[coalitions.buyers]]\ncountry = "UZB"\n'
                    'destinations = [["Tashkent"], "Samarqand"]\n'
                    'alternative_price_usd_per_1000m3 = 187\nsource = "y"\n')
    problems = section_problems(s)
    assert any(p.startswith("coalitions.published_prices[0]") and "must be a table" in p
               for p in problems), problems
    assert any(p.startswith("coalitions.buyers[0].destinations") and "destination names" in p
               for p in problems), problems
    s = parse_study('[study]\nname = "s"\n[[supply]]\nname = "Beyneu"\n[[destinations]]\n'
                    'name = "Tashkent"\nthroughput_bcm_y = 1.0\n[coalitions]\n'
                    'buyers = "UZB"\n')
    assert any(p.startswith("coalitions.buyers") and "array of tables" in p
               for p in section_problems(s))


def test_default_plan_s_independent_routes_carry_the_study_s_throughputs(default_run):
    # identity on the real outputs: each destination's row in the plan's comparison with
    # independent routes carries the study's throughput (a shadowed loop variable wrote
    # the last line's flow instead: the default study's table totalled 16.64, not 23.00)
    from planner.study import default_study_path, load_study

    study = load_study(default_study_path())
    want = {d.name: float(d.throughput_bcm_y or 0.0) for d in study.destinations}
    ind = default_run.extra["plan"].independent.set_index("destination")
    assert ind["throughput_bcm_y"].to_dict() == pytest.approx(want, abs=1e-9)
    # and the written report's table says the same (its TOTAL row)
    report = (default_run.out_dir / "report.md").read_text(encoding="utf-8")
    total = next(line for line in report.splitlines()
                 if line.startswith("| TOTAL (independent routes) |"))
    assert float(total.split("|")[2]) == pytest.approx(sum(want.values()), abs=0.01)


def test_two_threads_making_their_first_highs_leave_stdout_open():
    # the fd swap that hides HiGHS's banner had no lock: two threads making their first
    # Highs at once could restore each other's /dev/null, so stdout stayed closed off
    import subprocess
    import sys

    code = ("import threading, time, highspy\n"
            "real = highspy.Highs\n"
            "def slow():\n"
            "    time.sleep(0.2)\n"
            "    return real()\n"
            "highspy.Highs = slow\n"
            "from planner.plan import optimise\n"
            "ts = [threading.Thread(target=optimise._new_highs) for _ in range(2)]\n"
            "for t in ts:\n"
            "    t.start()\n"
            "    time.sleep(0.05)\n"
            "for t in ts:\n"
            "    t.join()\n"
            "print('stdout still open', flush=True)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "stdout still open"


def test_destination_at_the_supply_point_means_in_its_grid_cell(layers):
    # the check compared the distance with one cell's width: a destination 1.3 cells away
    # in the supply point's own cell passed, one a tenth of a cell away across a cell edge
    # was refused
    import numpy as np
    from pyproj import Transformer

    from planner.costsurface import study_grid
    from planner.study import StudyError, parse_study
    from planner.study_checks import check_study

    region, res_m = (44.0, 38.0, 51.0, 43.0), 10_000.0
    study_crs = parse_study('[study]\nname = "x"\n[[supply]]\nname = "a"\n[[destinations]]\n'
                            'name = "b"\nthroughput_bcm_y = 1\n').crs
    transform, _ = study_grid(region, res_m, study_crs)
    col, row = np.floor(~transform @ Transformer.from_crs(
        4326, study_crs, always_xy=True).transform(46.35, 40.68))  # near Ganca, on land
    x0, y0 = transform @ (col, row)  # the cell's top-left corner
    back = Transformer.from_crs(study_crs, 4326, always_xy=True)
    at = {"supply": (x0 + 0.05 * res_m, y0 - 0.05 * res_m),
          "same cell": (x0 + 0.95 * res_m, y0 - 0.95 * res_m),
          "next cell": (x0 - 0.05 * res_m, y0 - 0.05 * res_m)}
    ll = {k: back.transform(*v) for k, v in at.items()}
    text = ('[study]\nname = "x"\n[region]\nbounds = [44.0, 38.0, 51.0, 43.0]\n'
            f'resolution_km = 10\n[[supply]]\nname = "supply"\nlon = {ll["supply"][0]}\n'
            f'lat = {ll["supply"][1]}\n')
    for k in ("same cell", "next cell"):
        text += (f'[[destinations]]\nname = "{k}"\nlon = {ll[k][0]}\nlat = {ll[k][1]}\n'
                 'throughput_bcm_y = 1.0\n')
    with pytest.raises(StudyError) as err:
        check_study(parse_study(text), layers)
    msg = str(err.value)
    assert "1 problem" in msg
    assert "destinations[0] (line 10): 'same cell'" in msg
    assert "lies at the supply point (in its 10-km grid cell)" in msg


def test_layers_places_escapes_control_characters_in_names(monkeypatch, capsys):
    # `planner layers --places` printed names from the layers raw: an ESC sequence in a
    # user layer's name reached the terminal
    import pandas as pd

    import planner.layers
    from planner.cli import main

    monkeypatch.setattr(planner.layers, "default_layers", lambda: None)
    monkeypatch.setattr(planner.layers, "layer_places", lambda layers, region: pd.DataFrame(
        {"layer": ["demand_centres"] * 2, "name": ["Ganca", "Evil\x1b[2J"],
         "country": ["Azerbaijan", "X\x07"], "lon": [46.4, 47.0], "lat": [40.7, 41.0]}))
    assert main(["layers", "--places"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "'Evil\\x1b[2J'" in out and "Ganca" in out and "'Ganca'" not in out


def test_a_place_beyond_the_shipped_data_is_said_to_be_outside_its_coverage(layers):
    # Kutaisi (42.7 E) was told it "lies in no country ... move it onto land"
    from planner.study import StudyError, parse_study
    from planner.study_checks import check_study

    study = parse_study('[study]\nname = "w"\n[region]\nbounds = [42.0, 38.0, 51.0, 43.0]\n'
                        '[[supply]]\nname = "Sangachal"\nlon = 49.47\nlat = 40.18\n'
                        '[[destinations]]\nname = "Kutaisi"\nlon = 42.70\nlat = 42.27\n'
                        'throughput_bcm_y = 1.0\n')
    with pytest.raises(StudyError) as err:
        check_study(study, layers)
    msg = str(err.value)
    assert ("destinations[0] (line 9): 'Kutaisi' at (42.700, 42.270) lies outside the "
            "shipped data's coverage (44–90° E, 35–57° N)") in msg
    assert "onto land" not in msg


def test_default_study_delivered_cost_is_the_source_price_plus_the_tariff(default_run):
    # identity on the real outputs: the tariff carries the fuel, so every candidate's
    # delivered cost is the gas at the source plus its tariff (fuel counted once)
    from planner import economics

    r = default_run.ranking
    source = economics.parameter("fuel_gas_price_usd_per_1000m3",
                                 currency_year=economics.DEFAULT_CURRENCY_YEAR)
    assert len(r) > 0
    assert (r["delivered_cost_usd_per_1000m3"]
            - r["tariff_usd_per_1000m3"]).to_numpy() == pytest.approx(source, rel=1e-12)
