"""The measured CAPEX error table, its band, and the band on a shipped study's outputs."""

from __future__ import annotations

import json
import math
import tomllib

import numpy as np
import pandas as pd
import pytest

from planner.backtest.capex_error import (
    CAPEX_ERROR_CSV,
    CapexErrorTableError,
    capex_band,
    capex_error_band,
    capex_error_from_csv,
    cost_factors,
    log_factor_moments,
)


def _within(ratios: pd.Series) -> int:
    return int(((ratios - 1).abs() <= 0.3).sum())


def test_table_reproduces_the_recorded_scores():
    """Each round's count within ±30 % as the README records it (3/10, 6/12, 6/10, 3/10,
    0/6, 1/5, 1/5, 1/5: 21 of 63 pooled) and the leave-one-out 45 of 83 (54.2 %, the
    ninth round's scores.csv)."""
    t = capex_error_from_csv()
    held = t[t["set"] == "held-out"].groupby("round")["capex_ratio"]
    assert held.size().to_dict() == {1: 10, 2: 12, 3: 10, 4: 10, 5: 6, 6: 5, 8: 5, 9: 5}
    assert held.apply(_within).to_dict() == {1: 3, 2: 6, 3: 6, 4: 3, 5: 0, 6: 1, 8: 1, 9: 1}
    loo = t[t["set"] == "leave-one-out"]
    assert len(loo) == 83 and _within(loo["capex_ratio"]) == 45
    assert set(loo["calibration_lines"]) == {83}
    # each held-out round scored with its round's calibration
    assert t[t["set"] == "held-out"].groupby("round")["calibration_lines"].unique().map(
        list).to_dict() == {1: [27], 2: [37], 3: [49], 4: [57], 5: [67], 6: [73], 8: [78],
                            9: [83]}


def test_band_is_the_quantiles_of_published_over_predicted():
    t = capex_error_from_csv()
    for basis, rows in [("shipped", t[t["calibration_lines"] == 83]),
                        ("held-out", t[t["set"] == "held-out"]), ("all", t)]:
        f = 1 / rows["capex_ratio"].to_numpy()
        band = capex_error_band((0.1, 0.5, 0.9), basis)
        assert band.tolist() == pytest.approx(np.quantile(f, [0.1, 0.5, 0.9]).tolist())
        assert band.is_monotonic_increasing
        # 80 % of the measured lines lie inside P10-P90, up to the quantile's rounding
        inside = ((f >= band[0.1]) & (f <= band[0.9])).mean()
        assert abs(inside - 0.8) <= 2 / len(f)
    assert len(cost_factors()) == 88
    lo, hi = capex_error_band().tolist()
    assert lo < 1 < hi
    with pytest.raises(ValueError, match="basis must be one of"):
        capex_error_band(basis="fitted")
    with pytest.raises(ValueError, match="quantiles"):
        capex_error_band((0.1, 1.5))


def test_loader_rejects_bad_rows_with_one_error(tmp_path):
    good = CAPEX_ERROR_CSV.read_text(encoding="utf-8").splitlines()
    bad = [good[0], good[1],
           "Line A,fitted,9,83,1.1,costs.csv",          # set
           "Line B,held-out,nine,83,1.1,costs.csv",     # round
           "Line C,held-out,9,83,-0.5,costs.csv",       # ratio
           ",held-out,9,83,1.0,",                       # name and recorded_in
           good[1]]                                     # line 7, a duplicate of line 2
    path = tmp_path / "capex_error.csv"
    path.write_text("\n".join(bad) + "\n", encoding="utf-8")
    with pytest.raises(CapexErrorTableError) as err:
        capex_error_from_csv(path)
    text = str(err.value)
    assert text.startswith(f"CAPEX error table {path}: 7 problems")
    for piece in ("line 3: set is 'fitted'", "line 4: round is 'nine'",
                  "line 5: capex_ratio is '-0.5'", "line 6: name is empty",
                  "line 6: recorded_in is empty", "line 2: ", "line 7: "):
        assert piece in text, piece
    path.write_text("name,set,round\nx,held-out,1\n", encoding="utf-8")
    with pytest.raises(CapexErrorTableError, match="missing columns"):
        capex_error_from_csv(path)
    with pytest.raises(CapexErrorTableError, match="no such file"):
        capex_error_from_csv(tmp_path / "none.csv")


def test_example_sweep_uses_the_measured_multiplier():
    """The shipped sweep's construction cost multiplier is the table's lognormal (mean and
    sigma of the log factor, to the 4 decimals written), so the two cannot drift apart."""
    from planner.sweep.study_sweep import default_sweep_path

    spec = tomllib.loads(default_sweep_path().read_text(encoding="utf-8"))
    dim = next(d for d in spec["dimensions"] if d.get("label") == "construction cost multiplier")
    assert dim["multiply"] is True
    mean, sigma = log_factor_moments()
    assert dim["distribution"] == {"kind": "lognormal", "mean": round(mean, 4),
                                   "sigma": round(sigma, 4)}
    assert "planner/data/capex_error.csv" in default_sweep_path().read_text(encoding="utf-8")


def test_band_on_the_default_study(default_run):
    """On the shipped default study: every route's P10 / P90 is its CAPEX times the
    measured quantiles (in the outputs and in ranking.csv), P10 <= CAPEX <= P90, the
    decision report shows the range, and the system plan's JSON carries the same band."""
    lo, hi = capex_error_band().tolist()
    r = default_run.ranking
    assert len(r) and r["capex_musd"].notna().all()
    assert np.allclose(r["capex_musd_p10"], r["capex_musd"] * lo)
    assert np.allclose(r["capex_musd_p90"], r["capex_musd"] * hi)
    assert (r["capex_musd_p10"] <= r["capex_musd"]).all()
    assert (r["capex_musd"] <= r["capex_musd_p90"]).all()
    written = pd.read_csv(default_run.files["ranking_csv"])
    assert np.allclose(written["capex_musd_p10"], written["capex_musd"] * lo)
    assert np.allclose(written["capex_musd_p90"], written["capex_musd"] * hi)
    assert written.columns.get_loc("capex_musd_p10") == written.columns.get_loc(
        "capex_musd") + 1
    assert pd.testing.assert_frame_equal(
        capex_band(written["capex_musd"]), written[["capex_musd_p10", "capex_musd_p90"]],
        check_exact=False) is None
    html = default_run.files["report_html"].read_text(encoding="utf-8")
    md = default_run.files["report_md"].read_text(encoding="utf-8")
    assert f"CAPEX × {lo:.2f} to × {hi:.2f}" in html and f"CAPEX × {lo:.2f} to × {hi:.2f}" in md
    assert "P10–P90 " in html and "CAPEX P90 (M USD)" in md
    plan = json.loads((default_run.out_dir / "system_plan.json").read_text(encoding="utf-8"))
    assert plan["capex_musd"] > 0 and math.isfinite(plan["capex_musd"])
    assert plan["capex_musd_p10"] == pytest.approx(plan["capex_musd"] * lo)
    assert plan["capex_musd_p90"] == pytest.approx(plan["capex_musd"] * hi)
    assert f"P10–P90 {plan['capex_musd_p10']:,.0f}–{plan['capex_musd_p90']:,.0f}" in md
