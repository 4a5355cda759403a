"""The deviation prior (``CostParams.deviation_weight``) on constructed surfaces: cost
rises with the distance from the straight segment between a pair's ends, 0 leaves the
surface unchanged, bad values are refused, and the ratio is resolution- and scale-free."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from planner.costsurface import (
    CostParams,
    CostSurface,
    cost_components,
    deviation_multiplier,
    segment_offset_ratio,
    with_deviation_prior,
)
from planner.routing import window_paths

RES = 1000.0


def _surface(h: int = 21, w: int = 41, res: float = RES) -> CostSurface:
    cost = np.ones((h, w), np.float32)
    return CostSurface(cost, Affine(res, 0, 0, 0, -res, h * res), "EPSG:3857", res,
                       np.zeros((h, w), np.float32), np.zeros((h, w), np.uint8), ("",),
                       cost_components())


def _centre(s: CostSurface, row: int, col: int) -> tuple[float, float]:
    x, y = s.rowcol_to_xy(np.array([row]), np.array([col]))
    return float(x[0]), float(y[0])


def test_cost_rises_with_distance_from_the_segment() -> None:
    s = _surface()
    s.cost[3, 5] = np.inf  # a barrier stays one
    s.cost[4, 5] = 0.0  # a free cell stays free
    a, b = _centre(s, 10, 5), _centre(s, 10, 35)  # a 30 km segment along row 10
    got = with_deviation_prior(s, a, b, 2.0)
    assert got is not s and got.key == "" and got.cache_path is None
    assert np.isinf(got.cost[3, 5]) and got.cost[4, 5] == 0.0
    np.testing.assert_allclose(got.cost[10, 5:36], 1.0)  # on the segment: unchanged
    column = got.cost[:11, 20]  # rows 0..10 above the segment's middle: 10..0 km away
    assert np.all(np.diff(column) < 0)
    np.testing.assert_allclose(column, 1.0 + 2.0 * np.arange(10, -1, -1) / 30.0, rtol=1e-6)
    # beyond an end the distance is to that end
    assert got.cost[10, 0] == pytest.approx(1.0 + 2.0 * 5 / 30.0, rel=1e-6)
    assert got.cost[6, 1] == pytest.approx(1.0 + 2.0 * np.hypot(4, 4) / 30.0, rel=1e-6)
    assert "deviation_prior" in set(got.components["component"])
    assert "deviation_prior" not in set(s.components["component"])


def test_zero_weight_leaves_the_surface_unchanged() -> None:
    s = _surface()
    before = s.cost.copy()
    a, b = _centre(s, 10, 5), _centre(s, 10, 35)
    assert with_deviation_prior(s, a, b, 0.0) is s
    assert np.array_equal(s.cost, before)
    assert np.array_equal(deviation_multiplier(s.transform, s.shape, a, b, 0.0),
                          np.ones(s.shape, np.float32))
    assert CostParams().deviation_weight == 0.0


@pytest.mark.parametrize("bad", [-0.5, float("nan"), float("inf")])
def test_bad_weights_refused(bad: float) -> None:
    msg = r"deviation_weight must be 0 \(off\) or a finite number above 0"
    with pytest.raises(ValueError, match=msg):
        CostParams(deviation_weight=bad)
    s = _surface()
    with pytest.raises(ValueError, match=msg):
        with_deviation_prior(s, (0.0, 0.0), (5000.0, 0.0), bad)


def test_coincident_ends_refused() -> None:
    s = _surface()
    with pytest.raises(ValueError, match="the two ends coincide"):
        with_deviation_prior(s, (500.0, 500.0), (500.0, 500.0), 1.0)


def test_ratio_is_resolution_and_scale_free() -> None:
    """The same place has the same d / L on a grid twice as fine and in a map ten times
    as large."""
    coarse = segment_offset_ratio(Affine(3000.0, 0, 0, 0, -3000.0, 40_000.0), (13, 13),
                                  (1000.0, 21_000.0), (39_000.0, 21_000.0))
    fine = segment_offset_ratio(Affine(1000.0, 0, 0, 0, -1000.0, 40_000.0), (40, 40),
                                (1000.0, 21_000.0), (39_000.0, 21_000.0))
    large = segment_offset_ratio(Affine(30_000.0, 0, 0, 0, -30_000.0, 400_000.0), (13, 13),
                                 (10_000.0, 210_000.0), (390_000.0, 210_000.0))
    # the coarse cell (2, 5) has its centre at (16.5 km, 32.5 km), as the fine cell (7, 16)
    assert coarse[2, 5] == pytest.approx(fine[7, 16]) == pytest.approx(large[2, 5])
    assert coarse[2, 5] == pytest.approx(11.5 / 38.0)


def test_the_prior_pulls_a_route_back_to_the_straight_line() -> None:
    """A cheap corridor 8 km off the straight line draws the route; a strong prior keeps
    it on the straight line."""
    s = _surface()
    s.cost[2, :] = 0.3
    start, end = (10, 2), (10, 38)
    a, b = _centre(s, *start), _centre(s, *end)

    def furthest(cost: np.ndarray) -> int:
        path = window_paths(cost, start, [end], RES)[end]
        assert path is not None
        return int(np.max(np.abs(path[:, 0] - 10)))

    assert furthest(s.cost) == 8
    assert furthest(with_deviation_prior(s, a, b, 0.5).cost) == 8
    assert furthest(with_deviation_prior(s, a, b, 8.0).cost) == 0


def test_the_weight_is_not_a_property_of_the_surface(layers, surface, cost_cache) -> None:
    """A study surface built with a weight is the surface without one (the same cache
    entry): the prior is applied per routed pair, never to a shared surface."""
    from planner.costsurface import build_cost_surface

    with_weight = build_cost_surface(
        layers.terrain, layers.countries, layers.water, layers.pipelines, layers.mountains,
        layers.demand_centres, resolution_m=surface.resolution_m,
        params=CostParams(deviation_weight=3.0), cache_dir=cost_cache)
    assert with_weight.key == surface.key
    assert np.array_equal(with_weight.cost, surface.cost)


def test_a_study_never_routes_with_the_prior(monkeypatch, tmp_path) -> None:
    """A study file cannot set the weight, and a calibration file carrying one is refused
    by name (file, line, field), not silently dropped; a weight of 0 passes."""
    import json

    import planner.costsurface as cs
    from planner.study import StudyError, parse_study

    study = ('[study]\nname = "demo"\n[[supply]]\nname = "Beyneu"\n[[destinations]]\n'
             'name = "Shymkent"\nthroughput_bcm_y = 5\n[cost_surface]\n')
    with pytest.raises(StudyError, match=r"deviation_weight \(line 9\): applies to the route "
                       r"backtest and calibration only"):
        parse_study(study + "deviation_weight = 2\n")
    path = tmp_path / "calibrated_cost_params.json"
    monkeypatch.setattr(cs, "calibrated_params_path", lambda: path)
    calibrated = parse_study(study + 'parameters = "calibrated"\n')
    for weight, refused in ((2.0, True), (0.0, False)):
        path.write_text(json.dumps({"parameters": {"border_crossing_mult": 9.0,
                                                   "deviation_weight": weight}}, indent=2))
        if refused:
            with pytest.raises(cs.CalibrationFileError,
                               match=rf"calibration file {path} \(line 4\): deviation_weight "
                               r"= 2 is applied per routed pair .*--params-out FILE"):
                cs.cost_params_for_study(calibrated)
        else:
            assert cs.cost_params_for_study(calibrated).border_crossing_mult == 9.0


def test_offset_ratio_agrees_with_shapely_distance() -> None:
    """d / L of a few cells, one segment oblique to the grid, against shapely's distance
    from the cell centre to the segment (beyond an end: to that end)."""
    from shapely.geometry import LineString, Point

    from planner.costsurface import cell_centres_xy

    transform, shape = Affine(2500.0, 0, 100_000, 0, -2500.0, 90_000), (30, 40)
    a, b = (104_000.0, 60_000.0), (171_000.0, 31_000.0)
    ratio = segment_offset_ratio(transform, shape, a, b)
    xy = cell_centres_xy(transform, shape).reshape(*shape, 2)
    segment = LineString([a, b])
    for r, c in [(0, 0), (12, 1), (11, 30), (29, 39), (20, 18), (5, 37), (24, 2)]:
        want = Point(xy[r, c]).distance(segment) / segment.length
        assert ratio[r, c] == pytest.approx(want, rel=1e-9, abs=1e-12), (r, c)


def test_save_calibration_refuses_a_weight_in_the_shipped_file(tmp_path, monkeypatch) -> None:
    """A fitted non-zero weight is not written to the package's calibration file (nothing
    written); it goes to a file of its own; a weight of 0 may go to the package's file."""
    import pandas as pd

    import planner.backtest.routes as routes
    from planner.backtest.routes import BacktestError, Calibration, params_from_json

    shipped = tmp_path / "shipped.json"
    monkeypatch.setattr(routes, "calibrated_params_path", lambda: shipped)
    empty = pd.DataFrame()

    def cal(weight: float) -> Calibration:
        return Calibration(CostParams(deviation_weight=weight), 1, empty, empty, empty, empty,
                           empty, {"searched": ["border_crossing_mult", "deviation_weight"]})

    for path in (None, shipped, tmp_path / "sub" / ".." / "shipped.json"):
        with pytest.raises(BacktestError, match=rf"not written: {shipped}: deviation_weight "
                           r"= 2 is applied per routed pair.*--params-out FILE"):
            routes.save_calibration(cal(2.0), path)
        assert not shipped.exists()
    own = routes.save_calibration(cal(2.0), tmp_path / "prior.json")
    assert params_from_json(own)[0].deviation_weight == 2.0
    assert params_from_json(routes.save_calibration(cal(0.0)))[0].deviation_weight == 0.0
