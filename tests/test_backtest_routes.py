"""Route backtest and calibration: metrics on constructed cases with known answers, the
assembled surfaces against a full build, the folds of the cross-validation, the study's
[cost_surface] table and parameters that mean the same at every resolution."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString

from planner.backtest.routes import (
    BacktestError,
    RouteSurfaces,
    beats_baseline,
    beats_baseline_distance,
    best_candidate,
    built_lines,
    candidate_params,
    cross_validate,
    line_metrics,
    line_surface,
    margin_objective,
    mean_distance_km,
    route_line,
    share_within,
    with_objective,
    write_backtest,
)
from planner.costsurface import (
    CostParams,
    build_cost_surface,
    calibrated_cost_params,
    cost_params_for_study,
)
from planner.study import StudyError, parse_study

RES = 10_000.0

REAL = LineString([(0, 0), (200_000, 0), (300_000, 80_000)])


def test_route_equal_to_line_scores_full() -> None:
    m = line_metrics(REAL, REAL, LineString([REAL.coords[0], REAL.coords[-1]]))
    assert m["share_10km"] == m["share_25km"] == 1.0
    assert m["length_ratio"] == pytest.approx(1.0)


def test_parallel_offset_15km() -> None:
    offset = REAL.offset_curve(15_000)
    assert share_within(offset, REAL, 10_000) == 0.0
    assert share_within(offset, REAL, 25_000) == 1.0


def test_half_on_line() -> None:
    route = LineString([(0, 0), (100_000, 0), (100_000, 100_000)])
    assert share_within(route, LineString([(0, 0), (100_000, 0)]), 1.0) == pytest.approx(
        0.5, abs=1e-4)


def test_beats_baseline() -> None:
    row = {"share_10km": 0.3, "share_25km": 0.8, "baseline_share_10km": 0.5,
           "baseline_share_25km": 0.6}
    assert beats_baseline(row)
    assert not beats_baseline({**row, "share_25km": 0.5})
    tie = {"share_10km": 1.0, "share_25km": 1.0, "baseline_share_10km": 1.0,
           "baseline_share_25km": 1.0}
    assert beats_baseline(tie)


def test_mean_distance_known_answers() -> None:
    """Equal lines: 0 km; a parallel offset of 15 km: 15 km; the measure has no ceiling
    where the 25 km share has one (an offset of 5 and of 20 km both score 100 %)."""
    assert mean_distance_km(REAL, REAL) == pytest.approx(0.0, abs=1e-9)
    straight = LineString([(0, 0), (100_000, 0)])
    assert mean_distance_km(straight.offset_curve(15_000), straight) == pytest.approx(15.0)
    near, far = straight.offset_curve(5_000), straight.offset_curve(20_000)
    assert share_within(near, straight, 25_000) == share_within(far, straight, 25_000) == 1.0
    assert mean_distance_km(near, straight) < mean_distance_km(far, straight)
    # a detour: route out 40 km and back; symmetric, so the real line's side counts too
    detour = LineString([(0, 0), (50_000, 40_000), (100_000, 0)])
    assert mean_distance_km(detour, straight) == pytest.approx(
        mean_distance_km(straight, detour), rel=0.05)
    m = line_metrics(REAL, REAL, LineString([REAL.coords[0], REAL.coords[-1]]))
    assert m["mean_distance_km"] < 1e-9 and m["baseline_mean_distance_km"] > 10.0


def test_beats_baseline_by_distance() -> None:
    """Closer wins; where the straight line is already on the real line (≤ the tie
    tolerance) a route within the tolerance of it ties; the strict measure does not."""
    from planner.backtest.routes import DISTANCE_TIE_KM

    assert beats_baseline_distance({"mean_distance_km": 8.0, "baseline_mean_distance_km": 9.0})
    assert not beats_baseline_distance({"mean_distance_km": 9.0,
                                        "baseline_mean_distance_km": 8.0})
    perfect = {"mean_distance_km": 1.0 + DISTANCE_TIE_KM, "baseline_mean_distance_km": 1.0}
    assert beats_baseline_distance(perfect)
    assert not beats_baseline_distance({**perfect, "mean_distance_km": 1.1 + DISTANCE_TIE_KM})
    # both within 25 km all along, route at 5 km, straight at 20 km: the strict measure
    # cannot tell them apart on the 25 km share (it looks at the 10 km share only when
    # both are full), the distance measure can
    straight = LineString([(0, 0), (100_000, 0)])
    route, base = straight.offset_curve(5_000), straight.offset_curve(20_000)
    m = line_metrics(route, straight, base)
    assert m["share_25km"] == m["baseline_share_25km"] == 1.0
    assert beats_baseline_distance(m)


def test_margin_objective_on_constructed_rows() -> None:
    """The margin objective is relative to each line's own straight line: a route closer
    than its baseline scores > 0, one farther < 0, a tie 0; it is bounded, odd in the
    margin, and an extra country lowers it by the penalty."""
    from planner.backtest.routes import OBJECTIVE_EXTRA_COUNTRY_PENALTY, OBJECTIVE_MARGIN_KM

    rows = pd.DataFrame({
        "share_10km": [1.0, 0.2, 1.0, 0.5, 1.0],
        "share_25km": [1.0, 0.5, 1.0, 0.9, 1.0],
        "mean_distance_km": [3.0, 40.0, 9.0, 6.0, 3.0],
        "baseline_mean_distance_km": [8.0, 90.0, 4.0, 6.0, 8.0],
        "extra_countries": [0, 0, 0, 0, 1],
    }, index=[10, 11, 12, 13, 14])
    out = with_objective(rows, "margin")
    assert out.index.equals(rows.index)
    v = out["objective"]
    assert v[10] > 0 and v[11] > 0  # closer than the straight line
    assert v[12] < 0  # farther
    assert v[13] == 0.0  # a tie
    assert v[10] == pytest.approx(np.tanh(5.0 / OBJECTIVE_MARGIN_KM))
    assert v[12] == pytest.approx(-v[10])  # odd in the margin
    assert v[11] < 1.0  # bounded: a 50 km gain weighs hardly more than a 5 km one
    assert v[11] - v[10] < 0.25
    assert v[14] == pytest.approx(v[10] - OBJECTIVE_EXTRA_COUNTRY_PENALTY)  # extra country
    # the absolute objectives rank a big gain on a sinuous line far above a small win on a
    # near-straight line; the margin ranks them nearly alike
    dist = with_objective(rows, "distance")["objective"]
    assert dist[10] - dist[11] > 1.0
    # the pure function agrees with the column
    assert float(margin_objective(3.0, 8.0, 0)) == pytest.approx(v[10])


def test_cli_accepts_margin_objective(tmp_path, monkeypatch) -> None:
    """``--objective margin`` (and every objective of ``OBJECTIVES``, which the CLI spells
    out to keep start-up light) reaches the fit in ``calibrate routes`` and in a
    ``backtest routes --holdout`` refit (stubs stand in for the routing); an unknown
    objective is refused by the parser."""
    from planner.backtest import routes as R
    from planner.cli import ROUTE_OBJECTIVES, main

    assert ROUTE_OBJECTIVES == R.OBJECTIVES  # the CLI's spelt-out list cannot drift
    seen: list[str] = []

    class Reached(Exception):
        pass

    def stub(*args: object, **kwargs: object) -> None:
        seen.append(str(kwargs["objective"]))
        raise Reached

    monkeypatch.setattr(R, "calibrate_routes", stub)
    monkeypatch.setattr(R, "backtest_routes", stub)
    monkeypatch.setattr("planner.layers.default_layers", lambda: None)
    for objective in R.OBJECTIVES:
        with pytest.raises(Reached):
            main(["calibrate", "routes", "--objective", objective,
                  "--params-out", str(tmp_path / "p.json")])
        with pytest.raises(Reached):
            main(["backtest", "routes", "--holdout", "P3273", "--objective", objective,
                  "--out", str(tmp_path / "bt")])
    assert seen == [o for o in R.OBJECTIVES for _ in range(2)]
    assert "margin" in seen
    with pytest.raises(SystemExit):
        main(["calibrate", "routes", "--objective", "magic"])
    assert not (tmp_path / "p.json").exists()


def test_candidates_start_with_published_defaults() -> None:
    c = candidate_params(10, seed=1)
    assert len(c) == 11
    assert c.loc[0, "parallel_mult"] == CostParams().parallel_mult
    assert (c["slope_mtn_mult"] >= c["slope_hill_mult"]).all()
    assert c.equals(candidate_params(10, seed=1))  # seeded


def _scores() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Candidate k is perfect on line k only; lines in pairs (groups)."""
    lines = pd.DataFrame({"pipeline_id": [f"L{i}" for i in range(6)],
                          "group": [0, 0, 1, 1, 2, 2]})
    rows = [{"candidate": k, "pipeline_id": f"L{i}",
             "objective": 1.5 if k == i else 0.0 + 0.01 * k,
             "share_10km": 0.0, "share_25km": 0.0, "extra_countries": 0}
            for k in range(6) for i in range(6)]
    return pd.DataFrame(rows), lines


def test_best_candidate_uses_only_given_lines() -> None:
    scores, _ = _scores()
    assert best_candidate(scores, ["L3"]) == 3
    assert best_candidate(scores, ["L1", "L2"]) == 2  # tie (0.76 each) broken by the higher 0.01


def test_cross_validation_never_fits_on_its_own_lines() -> None:
    scores, lines = _scores()
    cv = cross_validate(scores, lines, folds=3, seed=0)
    assert sorted(cv["pipeline_id"]) == sorted(lines["pipeline_id"])  # each line once
    for r in cv.itertuples():
        # the chosen candidate is perfect on a line of another group, never on this one
        assert r.candidate != int(r.pipeline_id[1:])
        fold_lines = set(cv.loc[cv["fold"] == r.fold, "pipeline_id"])
        assert f"L{r.candidate}" not in fold_lines
    # groups stay together
    assert cv.groupby(cv["pipeline_id"].map(dict(zip(lines.pipeline_id, lines.group,
                                                     strict=True))))["fold"].nunique().max() == 1


def test_built_lines_remove_system_and_parallels(layers) -> None:
    lines = built_lines(layers.pipelines)
    assert (lines["length_km"] >= 150).all()
    pipes = layers.pipelines
    row = lines[lines["pipeline_id"] == "P2291"].iloc[0]  # Central Asia–Center (CAC-2)
    removed = pipes.loc[list(row["removed"])]
    same = pipes.index[pipes["system"] == row["system"]]
    assert set(same) <= set(row["removed"])
    assert row["layer_index"] in row["removed"]
    assert len(removed) >= len(same)
    with pytest.raises(BacktestError, match="P9999"):
        built_lines(pipes, ids=["P9999", "P2291"])
    # schematic lines (Chelyabinsk–Petrovsk: one straight segment of 1,100 km) are left
    # out by default, but can be chosen by id
    assert (lines["km_per_vertex"] <= 50.0).all()
    assert "P1446" not in set(lines["pipeline_id"])
    assert list(built_lines(pipes, ids=["P1446"])["pipeline_id"]) == ["P1446"]


@pytest.fixture(scope="module")
def route_surfaces(layers, cost_cache) -> RouteSurfaces:
    return RouteSurfaces.from_layers(layers, RES, cache_dir=cost_cache)


def test_assembled_surface_equals_full_build(layers, route_surfaces, cost_cache) -> None:
    p = CostParams(border_crossing_mult=50, parallel_mult=0.5, parallel_corridor_m=15_000,
                   settlement_mult=2.0, mountain_mult=2.2, slope_hill_mult=1.7,
                   slope_mtn_mult=2.5, river_crossing_mult=4.0, elev_high_mult=1.6,
                   town_access_mult=0.6, town_access_m=12_000.0, length_base=0.5,
                   water_body_mult=20.0,
                   country_factors={"AFG": 3.0})
    removed = list(layers.pipelines.index[layers.pipelines["system"] == "Central Asia–Center"])
    full = build_cost_surface(layers.terrain, layers.countries, layers.water,
                              layers.pipelines.drop(index=removed), layers.mountains,
                              layers.demand_centres, resolution_m=RES, params=p,
                              cache_dir=cost_cache)
    got = route_surfaces.cost(p, removed)
    assert np.array_equal(np.isinf(got), np.isinf(full.cost))
    assert not np.allclose(got, route_surfaces.cost(
        dataclasses.replace(p, town_access_mult=1.0), removed), equal_nan=True)
    ok = np.isfinite(got)
    np.testing.assert_allclose(got[ok], full.cost[ok], rtol=1e-5)


def test_length_base_shrinks_every_factor(route_surfaces) -> None:
    p = CostParams(border_crossing_mult=50, parallel_mult=0.5, town_access_mult=0.6)
    plain = route_surfaces.cost(p)
    based = route_surfaces.cost(dataclasses.replace(p, length_base=3.0))
    ok = np.isfinite(plain)
    assert np.array_equal(ok, np.isfinite(based))
    np.testing.assert_allclose(based[ok] - 1.0, (plain[ok] - 1.0) / 4.0, rtol=1e-5, atol=1e-6)


#: The shipped calibration of 2026-12 (planner/data/calibrated_cost_params.json), pinned
#: so that a new calibration does not change what the deviation-prior test checks.
PINNED = CostParams(slope_hill_mult=2.215162, slope_mtn_mult=5.763901, elev_high_mult=1.25,
                    elev_very_high_mult=1.5, mountain_mult=1.415413, river_crossing_mult=1.25,
                    border_crossing_mult=50.664193, parallel_mult=0.86816,
                    parallel_corridor_m=8553.370828, settlement_mult=5.0,
                    town_access_mult=0.303929, town_access_m=5792.328818)


def test_deviation_prior_of_a_built_line(layers, route_surfaces) -> None:
    """The prior multiplies the line's own surface by 1 + w d / L of its two ends (cells
    pinned: d by hand from the ends' grid coordinates, L = 200.45 km); at 0 the surface
    is the plain one. On Magnitogorsk–Sterlitamak (a near-straight line the pinned factors
    pull a route 20 km off) it brings the route closer."""
    line = built_lines(layers.pipelines, ids=["P2337"]).iloc[0].to_dict()
    p = PINNED
    plain = line_surface(route_surfaces, p, line)
    np.testing.assert_array_equal(plain.cost, route_surfaces.cost(p, line["removed"]))
    prior = line_surface(route_surfaces, dataclasses.replace(p, deviation_weight=2.0), line)
    ok = np.isfinite(plain.cost)
    assert np.array_equal(ok, np.isfinite(prior.cost))
    assert np.all(prior.cost[ok] >= plain.cost[ok])
    # (row, col): 1 + 2 d / L. The two end cells (d: cell centre to end), 5 cells off the
    # middle across (~45 km) and along (~7 km off the segment), and one 3 + 3 cells off
    pinned = {(57, 156): 1.012680, (52, 137): 1.023879, (50, 146): 1.440707,
              (55, 151): 1.081744, (58, 143): 1.406877}
    for (r, c), mult in pinned.items():
        assert prior.cost[r, c] == pytest.approx(plain.cost[r, c] * mult, rel=1e-5), (r, c)
    ring = built_lines(layers.pipelines, ids=["P4745"]).iloc[0].to_dict()  # Tarim rim
    m = route_line(route_surfaces, dataclasses.replace(p, deviation_weight=2.0), ring)
    assert "same place" in m["error"]  # no segment, no prior: no route, as without it
    off = route_line(route_surfaces, p, line)["mean_distance_km"]
    on = route_line(route_surfaces, dataclasses.replace(p, deviation_weight=2.0),
                    line)["mean_distance_km"]
    assert off == pytest.approx(19.8, abs=0.1) and on == pytest.approx(6.3, abs=0.1)


def test_zero_weight_routes_exactly_as_without_the_prior(layers, route_surfaces) -> None:
    """At weight 0, route_line gives the route (and every metric) a route on the plain
    surface gives: the one routed before the parameter existed."""
    from planner.backtest.routes import _left_out
    from planner.routing import least_cost_route

    line = built_lines(layers.pipelines, ids=["P2337"]).iloc[0].to_dict()
    zero = route_line(route_surfaces, dataclasses.replace(PINNED, deviation_weight=0.0), line,
                      geometries=True)
    assert zero == route_line(route_surfaces, PINNED, line, geometries=True)
    (x0, y0), (x1, y1) = line["geometry"].coords[0], line["geometry"].coords[-1]
    plain = least_cost_route(route_surfaces.surface(PINNED, _left_out(line)), (x0, y0),
                             (x1, y1), method="full", straighten=False)
    assert zero["route"].equals_exact(plain.geometry.iloc[0], 0.0)


def test_route_line_on_real_line(layers, route_surfaces, tmp_path) -> None:
    lines = built_lines(layers.pipelines, ids=["P3273"])  # Beineu–Bozoi–Shymkent
    m = route_line(route_surfaces, CostParams(), lines.iloc[0].to_dict(), geometries=True)
    assert m["error"] == ""
    for k in ("share_10km", "share_25km", "baseline_share_10km", "baseline_share_25km"):
        assert 0.0 <= m[k] <= 1.0
    assert m["share_10km"] <= m["share_25km"]
    assert 0.95 < m["length_ratio"] < 2.0
    assert m["route"].coords[0] == pytest.approx(m["real"].coords[0], abs=0.1)


def test_shipped_calibration_has_provenance() -> None:
    params, prov = calibrated_cost_params()
    assert isinstance(params, CostParams)
    if prov:  # the package ships the file: which lines, when, which scores
        assert prov["fitted_on"] and prov["date"] and prov["resolution_km"]
        assert "training" in prov and "cross_validation" in prov


STUDY = """
[study]
name = "demo"
[[supply]]
name = "Beyneu"
[[destinations]]
name = "Shymkent"
throughput_bcm_y = 5
"""


def test_study_cost_surface_table() -> None:
    s = parse_study(STUDY + '[cost_surface]\nparameters = "published"\n'
                    'border_crossing_mult = 40\ncountry_factors = { afg = 3 }\n')
    p = cost_params_for_study(s)
    assert p.border_crossing_mult == 40.0
    assert dict(p.country_factors) == {"AFG": 3.0}
    assert p.parallel_mult == CostParams().parallel_mult
    assert p.town_access_mult == 1.0  # published: the town factor is off
    cal = cost_params_for_study(parse_study(STUDY + '[cost_surface]\nparameters = "calibrated"\n'))
    assert cal.town_access_mult == calibrated_cost_params()[0].town_access_mult
    with pytest.raises(StudyError) as e:
        parse_study(STUDY + '[cost_surface]\nparameters = "magic"\n'
                    'border_crossing_mult = "x"\nfoo = 1\n')
    text = str(e.value)
    assert "3 problems" in text and "cost_surface.foo (line 12)" in text
    with pytest.raises(StudyError, match=r"cost_surface.length_base .*greater than 0"):
        parse_study(STUDY + '[cost_surface]\nlength_base = -1\n')
    with pytest.raises(StudyError, match=r"cost_surface.deviation_weight .*route backtest"):
        parse_study(STUDY + '[cost_surface]\ndeviation_weight = 1\n')


def test_settlement_penalty_independent_of_cell_size(layers, cost_cache) -> None:
    """The same towns count at every resolution, with about the same penalised area."""
    neutral = dict(slope_hill_mult=1.0, slope_mtn_mult=1.0, elev_high_mult=1.0,
                   elev_very_high_mult=1.0, mountain_mult=1.0, river_crossing_mult=1.0,
                   border_crossing_mult=1.0, parallel_mult=1.0)
    p = dataclasses.replace(CostParams(), settlement_mult=2.0, **neutral)
    area = {}
    for res in (10_000.0, 20_000.0):
        s = build_cost_surface(layers.terrain, layers.countries, layers.water,
                               layers.pipelines, layers.mountains, layers.demand_centres,
                               resolution_m=res, params=p, cache_dir=cost_cache)
        extra = np.where(np.isfinite(s.cost), s.cost - 1.0, 0.0)
        area[res] = float(extra.sum()) * res * res / 1e6
    assert area[10_000.0] > 0
    assert area[20_000.0] == pytest.approx(area[10_000.0], rel=0.15)


def test_corridor_width_in_metres(layers, cost_cache) -> None:
    """A 12 km corridor is wider than the line's own cells at 4 km, and the discounted
    area is about the same at 4 and 6 km cells."""
    pipes = layers.pipelines[layers.pipelines["pipeline_id"] == "P3273"]
    p = dataclasses.replace(CostParams(), parallel_mult=0.5, parallel_corridor_m=12_000.0)
    area = {}
    for res in (4_000.0, 6_000.0):
        s = build_cost_surface(layers.terrain, layers.countries, layers.water, pipes,
                               layers.mountains, resolution_m=res, params=p,
                               region=(55.0, 41.0, 70.0, 46.5), cache_dir=cost_cache)
        base = build_cost_surface(layers.terrain, layers.countries, layers.water,
                                  pipes.iloc[:0], layers.mountains, resolution_m=res,
                                  params=p, region=(55.0, 41.0, 70.0, 46.5),
                                  cache_dir=cost_cache)
        ok = np.isfinite(s.cost) & np.isfinite(base.cost)
        area[res] = float((s.cost[ok] < base.cost[ok] * 0.75).sum()) * res * res / 1e6
    km = 1427.5  # the line's length
    assert area[4_000.0] == pytest.approx(area[6_000.0], rel=0.2)
    assert area[4_000.0] > km * 2 * 10  # at least ~20 km wide: two 12 km half-widths


def test_write_backtest_outputs(tmp_path) -> None:
    import geopandas as gpd

    from planner.backtest.routes import RESULT_COLUMNS, RouteBacktest

    table = pd.DataFrame([{"pipeline_id": "P1", "name": "=HYPERLINK(\"x\")", "share_10km": 1.0,
                           "share_25km": 1.0, "length_ratio": 1.0, "baseline_share_10km": 0.5,
                           "baseline_share_25km": 0.5, "extra_countries": 0,
                           "mean_distance_km": 0.0, "baseline_mean_distance_km": 12.0,
                           "set": "validation"}])
    line = LineString([(60, 45), (61, 45)])
    routes = gpd.GeoDataFrame({"pipeline_id": ["P1"] * 3, "name": ["<b>x</b>"] * 3,
                               "kind": ["real", "generated", "straight line"]},
                              geometry=[line] * 3, crs="EPSG:4326")
    res = RouteBacktest(table, routes, pd.DataFrame({"lines": [1]}, index=["validation"]),
                        CostParams())
    files = write_backtest(res, tmp_path)
    csv = pd.read_csv(files["routes.csv"])
    assert list(csv.columns[:len(RESULT_COLUMNS)]) == RESULT_COLUMNS
    assert csv.loc[0, "name"].startswith("'=")
    # through planner.io.write_csv, the one CSV writer of the outputs: rows end CRLF
    assert files["summary.csv"].read_bytes().splitlines(keepends=True)[0].endswith(b"\r\n")
    html = files["routes_map.html"].read_text()
    assert "<b>x</b>" not in html


def test_cli_backtest_routes(tmp_path, capsys) -> None:
    """The command on two real lines: the CSV's columns, shares that nest, and means
    printed that are the table's means."""
    from planner.backtest.routes import RESULT_COLUMNS
    from planner.cli import main

    out = tmp_path / "bt"
    assert main(["backtest", "routes", "--ids", "P3273,P3964", "--out", str(out)]) == 0
    table = pd.read_csv(out / "routes.csv")
    assert list(table.columns[:len(RESULT_COLUMNS)]) == RESULT_COLUMNS
    assert sorted(table["pipeline_id"]) == ["P3273", "P3964"]
    assert (table["share_10km"] <= table["share_25km"] + 1e-12).all()
    assert (table["baseline_share_10km"] <= table["baseline_share_25km"] + 1e-12).all()
    summary = pd.read_csv(out / "summary.csv", index_col="set")
    for s, rows in table.groupby("set"):
        assert summary.loc[s, "share_25km"] == pytest.approx(rows["share_25km"].mean())
        assert summary.loc[s, "lines"] == len(rows)
    assert (out / "routes_map.html").stat().st_size > 10_000
    assert "means" in capsys.readouterr().out

    assert main(["backtest", "routes", "--ids", "P9999", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "P9999" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_calibration_keeps_holdout_apart(layers, route_surfaces, tmp_path, monkeypatch) -> None:
    """Held-out lines are in no fit; cross-validation scores only training lines, each
    once; the provenance names the lines and the scores."""
    from planner import settings
    from planner.backtest.routes import calibrate_routes

    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path)
    ids = ["P3273", "P3964", "P2298", "P2322", "P4743", "P3944"]
    lines = built_lines(layers.pipelines, ids=ids)
    cal = calibrate_routes(layers, n_candidates=2, folds=2, holdout=["P3964"],
                           surfaces=route_surfaces, lines=lines)
    prov = cal.provenance
    assert "P3964" in prov["held_out"] and "P3964" not in prov["fitted_on"]
    assert set(cal.training["pipeline_id"]) == set(prov["fitted_on"])
    assert set(cal.holdout["pipeline_id"]) == {"P3964"}
    assert sorted(cal.cross_validation["pipeline_id"]) == sorted(prov["fitted_on"])
    assert len(cal.scores) == 3 * len(lines)  # published defaults + 2 candidates
    assert prov["training"]["lines"] == len(prov["fitted_on"])
    # the scores are cached: a second fit reads them instead of routing again
    assert list(tmp_path.glob("route-scores-*.csv"))
    # the distance objective: the candidate with the least mean distance on training lines
    dist = calibrate_routes(layers, n_candidates=2, folds=2, holdout=["P3964"],
                            surfaces=route_surfaces, lines=lines, objective="distance")
    train = dist.scores[dist.scores["pipeline_id"].isin(dist.provenance["fitted_on"])]
    penalty = 0.5 * (train["extra_countries"] > 0)
    value = (-train["mean_distance_km"] / 25.0 - penalty).groupby(train["candidate"]).mean()
    assert dist.candidate == int(value.idxmax())
    assert dist.provenance["objective"] == "distance"
    # the margin objective: the best mean margin over each line's own straight line
    marg = calibrate_routes(layers, n_candidates=2, folds=2, holdout=["P3964"],
                            surfaces=route_surfaces, lines=lines, objective="margin")
    margin = np.tanh((train["baseline_mean_distance_km"] - train["mean_distance_km"]) / 5.0)
    assert marg.candidate == int((margin - penalty).groupby(train["candidate"]).mean().idxmax())
    assert marg.provenance["objective"] == "margin" and "tanh" in marg.provenance["method"]
    with pytest.raises(BacktestError, match="objective"):
        calibrate_routes(layers, n_candidates=2, folds=2, surfaces=route_surfaces,
                         lines=lines, objective="magic")


def test_cli_calibrate_routes(tmp_path, capsys, monkeypatch) -> None:
    """A one-candidate fit of the border factor: the parameters file names the lines it
    was fitted on and carries training and validation scores apart."""
    import json

    from planner import settings
    from planner.cli import main

    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path / "cache")
    target = tmp_path / "params.json"
    assert main(["calibrate", "routes", "--parameters", "border_crossing_mult",
                 "--candidates", "1", "--folds", "2", "--params-out", str(target)]) == 0
    doc = json.loads(target.read_text())
    assert set(doc["parameters"]) >= {"border_crossing_mult", "parallel_mult"}
    prov = doc["provenance"]
    assert prov["searched"] == ["border_crossing_mult"]
    assert len(prov["fitted_on"]) == prov["training"]["lines"] > 40
    assert prov["cross_validation"]["lines"] == prov["training"]["lines"]
    out = capsys.readouterr().out
    assert "training" in out and "cross_validation" in out
    assert main(["calibrate", "routes", "--parameters", "nonsense", "--candidates", "1",
                 "--params-out", str(tmp_path / "x.json")]) == 2
    assert "nonsense" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_town_access_area_in_metres(layers, cost_cache) -> None:
    """One town of 20,000 people, a 30 km half-width at ×0.5: the discounted area is the
    disc of 30 km (2,827 km²) at 10 and 5 km cells; a town below the population
    threshold and the factor at 1.0 (the studies' default) discount nothing."""
    import geopandas as gpd
    from shapely.geometry import Point

    towns = gpd.GeoDataFrame({"name": ["A", "B"], "population": [20_000.0, 5_000.0]},
                             geometry=[Point(60.0, 48.0), Point(63.0, 48.0)], crs="EPSG:4326")
    region = (57.0, 46.0, 66.0, 50.0)
    p = dataclasses.replace(CostParams(), town_access_mult=0.5, town_access_m=30_000.0,
                            town_access_min_population=10_000.0)
    area = {}
    for res in (10_000.0, 5_000.0):
        kw = dict(resolution_m=res, region=region, cache_dir=cost_cache, towns=towns)
        on = build_cost_surface(layers.terrain, layers.countries, layers.water,
                                layers.pipelines, layers.mountains, params=p, **kw)
        off = build_cost_surface(layers.terrain, layers.countries, layers.water,
                                 layers.pipelines, layers.mountains,
                                 params=dataclasses.replace(p, town_access_mult=1.0), **kw)
        ok = np.isfinite(on.cost) & np.isfinite(off.cost)
        np.testing.assert_allclose(on.cost[ok][on.cost[ok] < off.cost[ok]],
                                   0.5 * off.cost[ok][on.cost[ok] < off.cost[ok]], rtol=1e-5)
        area[res] = float((on.cost[ok] < off.cost[ok]).sum()) * res * res / 1e6
    disc = np.pi * 30.0 ** 2
    assert area[10_000.0] == pytest.approx(disc, rel=0.15)
    assert area[5_000.0] == pytest.approx(disc, rel=0.05)
    assert CostParams().town_access_mult == 1.0  # studies: off unless a study sets it


def test_built_lines_as_built_leave_out_later_lines(layers) -> None:
    pipes = layers.pipelines
    year = pd.to_numeric(pipes["start_year"], errors="coerce")
    ids = ["P2291", "P3273", "P4212"]  # CAC-2 (1970s), Beineu–Shymkent, SCPX (2018)
    today = built_lines(pipes, ids=ids)
    assert all(later == () for later in today["later"])
    built = built_lines(pipes, ids=ids, as_built=True)
    for r in built.itertuples():
        y = year[r.layer_index]
        assert np.isfinite(y)
        # exactly the lines that started after this one, none of the others
        assert set(r.later) == set(pipes.index[(year > y).to_numpy()])
    assert len(built.loc[built["pipeline_id"] == "P2291", "later"].iloc[0]) > len(
        built.loc[built["pipeline_id"] == "P4212", "later"].iloc[0])


def test_default_search_and_routing_options(layers) -> None:
    from planner.backtest.routes import ROUTE_NEIGHBOURS, ROUTE_STRAIGHTEN

    assert (ROUTE_NEIGHBOURS, ROUTE_STRAIGHTEN) == (8, False)  # as studies route
    default = candidate_params(3)
    assert "length_base" not in default and "water_body_mult" not in default
    assert "deviation_weight" not in default
    prior = candidate_params(3, parameters=["deviation_weight"])
    assert prior["deviation_weight"].iloc[0] == 0.0
    assert prior["deviation_weight"].between(0, 4).all()
    named = candidate_params(3, parameters=["length_base", "border_crossing_mult"])
    assert named["length_base"].iloc[0] == 0.0 and named["length_base"].between(0, 4).all()
    with pytest.raises(BacktestError, match="neighbours must be one of 8, 16, 32"):
        RouteSurfaces.from_layers(layers, RES, neighbours=12)
    with pytest.raises(BacktestError, match="8-neighbour routes only"):
        RouteSurfaces.from_layers(layers, RES, neighbours=16, straighten=True)


def test_length_base_and_water_price_ranges() -> None:
    with pytest.raises(ValueError, match=r"length_base must be 0.*water_body_mult must be"):
        CostParams(length_base=-0.5, water_body_mult=0.0)
    with pytest.raises(ValueError, match="water_body_mult"):
        CostParams(water_body_mult=float("nan"))
    assert CostParams(length_base=0.5, water_body_mult=10.0).water_body_mult == 10.0


def test_route_surfaces_travel_without_their_builder(route_surfaces) -> None:
    """Workers get the surfaces pickled, without the layers the water mask is built from;
    the mask is built before they are sent when a candidate prices water."""
    import pickle

    copy = pickle.loads(pickle.dumps(route_surfaces))
    assert copy._water_source is None
    route_surfaces.water_mask()
    copy = pickle.loads(pickle.dumps(route_surfaces))
    p = dataclasses.replace(CostParams(), water_body_mult=20.0)
    assert np.array_equal(copy.cost(p), route_surfaces.cost(p), equal_nan=True)
    assert (copy.cost(p)[copy.water] == 20.0).all() and copy.water.any()


def test_calibration_refuses_an_unknown_objective_before_any_routing() -> None:
    from planner.backtest import routes as R

    with pytest.raises(R.BacktestError, match="unknown objective 'magic'"):
        R.calibrate_routes(objective="magic")  # no layers loaded, nothing routed
