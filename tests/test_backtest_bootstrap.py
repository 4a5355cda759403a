"""The bootstrap of the cost calibration, on constructed reference sets priced by the model."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from planner import cli
from planner.backtest import bootstrap as bs
from planner.backtest import costs as bc

#: The design point of the constructed sets (one point: the grid choice is the truth).
POINT = {"station_fixed_grid": (60e6,), "margin_grid": (0.0,), "pressure_grid": (11.8,)}
TRUTH = {"hilly": 1.3, "mountain": 1.6}
#: How close the fit (costs._fit_factors, five alternating rounds) comes to the truth.
FIT_TOLERANCE = 0.02


@pytest.fixture(scope="module")
def constructed() -> pd.DataFrame:
    # six German lines, two per terrain class, one year (so no trend), priced by the model
    # itself with known terrain factors and regional factor 1 (so shrinkage cannot bias it)
    # (the fit's five alternating rounds of terrain and regional means stop within about
    # 1 % of that fixed point: FIT_TOLERANCE)
    rows = {"name": [f"line {i}" for i in range(6)],
            "length_km": [300.0, 500.0, 400.0, 700.0, 350.0, 600.0],
            "capacity_bcm_y": [5.0, 12.0, 8.0, 20.0, 6.0, 15.0],
            "capex_musd": [1.0] * 6, "capex_year": [2015] * 6,
            "terrain": ["flat", "flat", "hilly", "hilly", "mountain", "mountain"],
            "country": ["DEU"] * 6}
    p = bc._validate(pd.DataFrame(rows).astype(str), "constructed")
    designs = next(iter(bc.design_grid(p, **POINT).values()))
    truth = bc.CostCalibration({"flat": 1.0, **TRUTH}, {}, 60e6, 0.0, 11.8)
    p["capex_musd"] = bc._predict(designs, p, truth)[p["name"]].to_numpy()
    p["diameter_mm"] = designs.loc[p["name"], "diameter_mm_predicted"].to_numpy()
    return p


@pytest.fixture(scope="module")
def draws(constructed: pd.DataFrame) -> pd.DataFrame:
    return bs.bootstrap_calibration(constructed, 8, seed=3, **POINT)


def test_every_draw_recovers_the_known_factors(draws):
    assert len(draws) == 8 and draws["draw"].tolist() == list(range(8))
    for c, f in TRUTH.items():
        col = draws[f"terrain_factor_{c}"]
        assert col.notna().sum() >= 4  # most draws hold a line of each class
        assert col.dropna().to_numpy() == pytest.approx(f, rel=FIT_TOLERANCE)
    assert draws["regional_factor_europe"].to_numpy() == pytest.approx(1.0, rel=FIT_TOLERANCE)
    assert draws["pipe_cost_trend_per_year"].abs().max() < 1e-9
    assert draws["parallel_existing_factor"].isna().all()  # no parallel line to fit it on
    assert (draws["design_margin"] == 0.0).all()


def test_the_summary_interval_collapses_on_the_truth_and_is_the_draws_quantiles(draws):
    s = bs.bootstrap_summary(draws).set_index("parameter")
    for c, f in TRUTH.items():
        row = s.loc[f"terrain_factor_{c}"]
        assert (row["p5"], row["p50"], row["p95"]) == pytest.approx((f, f, f),
                                                                    rel=FIT_TOLERANCE)
    for p, row in s.iterrows():
        v = draws[p].dropna().to_numpy(dtype=float)
        assert row["draws"] == len(v)
        if not len(v):  # fitted in no draw (parallel_existing_factor here)
            assert row[["p5", "p50", "p95"]].isna().all()
            continue
        assert [row["p5"], row["p50"], row["p95"]] == pytest.approx(
            np.percentile(v, [5, 50, 95]), rel=1e-12, abs=1e-15)
    # shipped values come from the shipped table; grid edges only for grid-chosen ones
    assert s.loc["terrain_factor_hilly", "shipped"] == pytest.approx(1.041)
    assert math.isnan(s.loc["terrain_factor_hilly", "share_at_grid_edge"])
    assert s.loc["design_margin", "share_at_grid_edge"] == 1.0  # 0 is the grid's low edge


def test_quantiles_and_edges_on_made_up_draws():
    d = pd.DataFrame({"draw": range(5), "design_margin": [0.0, 0.15, 0.15, 0.3, 0.15],
                      "regional_factor_x": [1.0, np.nan, 2.0, 3.0, 4.0]})
    s = bs.bootstrap_summary(d).set_index("parameter")
    assert s.loc["design_margin", "share_at_grid_edge"] == pytest.approx(0.4)
    assert s.loc["regional_factor_x", "draws"] == 4
    assert s.loc["regional_factor_x", ["p5", "p50", "p95"]].tolist() == pytest.approx(
        [1.15, 2.5, 3.85])


def test_a_seed_reproduces_its_draws(constructed, draws):
    params = [c for c in draws if c != "seconds"]
    again = bs.bootstrap_calibration(constructed, 3, seed=3, **POINT)
    pd.testing.assert_frame_equal(again[params], draws[params].iloc[:3])
    other = bs.bootstrap_calibration(constructed, 3, seed=4, **POINT)
    idx = [bs._draw_indices(6, s, i).tolist() for s in (3, 4) for i in range(3)]
    assert idx[:3] != idx[3:]
    assert other["seed"].eq(4).all()


def test_copies_of_a_line_are_weights_and_held_out_together(constructed):
    # a draw's second copy gets its own key; the fit sees it as a row of its own
    names = list(constructed["name"])
    grid = bc.design_grid(constructed, **POINT)
    g, p, keys, groups = bs._resampled(grid, constructed, names, [2, 2, 3, 0, 0, 0])
    assert keys == ["line 2", "line 2#copy2", "line 3", "line 0", "line 0#copy2",
                    "line 0#copy3"]
    assert set(groups.values()) == {"line 0", "line 2", "line 3"}
    assert list(next(iter(g.values())).index) == keys and list(p["name"]) == keys
    cal = bc._calibrate(g, p, keys, groups=groups)
    assert cal.terrain_factors["hilly"] == pytest.approx(TRUTH["hilly"], rel=FIT_TOLERANCE)
    assert len(cal.fitted_on) == 6


def test_cli_refuses_fewer_than_one_draw(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["backtest", "costs", "--bootstrap", "0", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--bootstrap is 0" in err[0] and "at least 1" in err[0]
    assert not out.exists()
    assert cli.main(["backtest", "costs", "--seed", "1", "--out", str(out)]) == 2
    assert "with --bootstrap" in capsys.readouterr().err
    assert not out.exists()


def test_cli_writes_draws_and_summary(constructed, tmp_path, capsys):
    # the whole default design grid on the six constructed lines (a few seconds)
    f = tmp_path / "ref.csv"
    constructed.to_csv(f, index=False)
    out = tmp_path / "out"
    assert cli.main(["backtest", "costs", "--projects", str(f), "--bootstrap", "2",
                     "--seed", "3", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2 draws" in text and "terrain_factor_hilly" in text
    d = pd.read_csv(out / "bootstrap_draws.csv")
    s = pd.read_csv(out / "bootstrap_summary.csv")
    assert len(d) == 2 and set(s["parameter"]) >= {"terrain_factor_hilly", "design_margin"}


def test_cli_reports_failed_draws_as_one_error(constructed, tmp_path, capsys, monkeypatch):
    """A draw that fails ends the command with one error line (no traceback), exit 2, and
    no output table written (the store keeps nothing but what succeeded)."""
    f = tmp_path / "ref.csv"
    constructed.to_csv(f, index=False)
    out = tmp_path / "out"

    def broken(*args, **kwargs):
        raise ZeroDivisionError("made up")

    monkeypatch.setattr(bc, "_calibrate", broken)
    assert cli.main(["backtest", "costs", "--projects", str(f), "--bootstrap", "2",
                     "--out", str(out)]) == 2
    err = [ln for ln in capsys.readouterr().err.strip().splitlines()
           if ln.startswith("planner:")]
    assert len(err) == 1 and "2 of 2 draws failed" in err[0] and "made up" in err[0]
    assert not (out / "bootstrap_draws.csv").exists()
    assert not (out / "bootstrap_summary.csv").exists()


def test_the_store_key_holds_the_cost_table(constructed):
    """Draws priced with another cost table (or other code) are never resumed as these."""
    from planner.economics import load_cost_parameters

    points = [(60e6, 0.0, 11.8)]
    table = load_cost_parameters().copy()
    assert bs._fingerprint(constructed, points) == bs._fingerprint(constructed, points, table)
    table.loc["netl_materials_mult", "value"] *= 2
    assert bs._fingerprint(constructed, points) != bs._fingerprint(constructed, points, table)
