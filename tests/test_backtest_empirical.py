"""Empirical cost estimators (planner.backtest.empirical) on constructed projects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner import economics
from planner.backtest import empirical as em


def constructed(n: int = 12, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Lines whose 2020 cost is exactly 0.02 × D_in^0.8 × L^0.9 M USD × terrain × region."""
    rng = np.random.default_rng(seed)
    names = [f"p{i}" for i in range(n)]
    length = rng.uniform(100, 2000, n)
    d = pd.Series(rng.choice([508.0, 762.0, 914.0, 1067.0, 1219.0], n), index=names)
    terrain = np.array(["flat", "hilly", "mountain"] * (n // 3))
    country = np.array(["USA", "DEU"] * (n // 2))
    p = pd.DataFrame({"length_km": length, "capacity_bcm_y": rng.uniform(2, 30, n),
                      "capex_year": rng.integers(2000, 2024, n), "terrain": terrain,
                      "country": country, "cost_region": "", "parallel_existing": 0},
                     index=names)
    tf = pd.Series(terrain).map({"flat": 1.0, "hilly": 1.2, "mountain": 2.0}).to_numpy()
    rf = pd.Series(country).map({"USA": 1.5, "DEU": 1.0}).to_numpy()
    real = 0.02 * (d.to_numpy() / 25.4) ** 0.8 * length ** 0.9 * tf * rf
    p["capex_musd"] = [economics.escalate(c, 2020, int(y))
                       for c, y in zip(real, p["capex_year"], strict=True)]
    return p, d


def test_noiseless_lines_are_reproduced_and_slopes_recovered():
    p, d = constructed()
    fit = em.fit_empirical(p, d, form="diameter_length", ridge=0.0)
    pred = em.predict_empirical(fit, p, d)
    assert np.allclose(pred, p["capex_musd"], rtol=1e-9)
    c = fit.coefficients
    assert c["log_diameter_in"] == pytest.approx(0.8, abs=1e-9)
    assert c["log_length"] == pytest.approx(0.9, abs=1e-9)
    assert np.exp(c["hilly"]) == pytest.approx(1.2, rel=1e-9)
    assert np.exp(c["mountain"]) == pytest.approx(2.0, rel=1e-9)
    assert np.exp(c["region_north_america"] - c["region_europe"]) == pytest.approx(1.5)


def test_leave_one_out_of_noiseless_lines_is_exact():
    p, d = constructed()
    loo = em.leave_one_out(p, d, form="diameter_length", ridge=0.0)
    assert np.allclose(loo, p["capex_musd"], rtol=1e-9)


def test_ridge_shrinks_regional_difference_toward_the_pooled_mean():
    p, d = constructed()
    gaps = []
    for k in (0.0, 1.0, 100.0):
        c = em.fit_empirical(p, d, form="diameter_length", ridge=k).coefficients
        gaps.append(c["region_north_america"] - c["region_europe"])
    assert gaps[0] > gaps[1] > gaps[2] > 0
    assert gaps[2] < 0.1 * gaps[0]


def test_an_unseen_region_takes_the_pooled_mean():
    p, d = constructed()
    fit = em.fit_empirical(p, d, form="diameter_length", ridge=1.0)
    row = p.iloc[[0]]
    unseen = em.predict_empirical(fit, row.assign(country="KAZ"), d)
    seen = em.predict_empirical(fit, row, d)
    own = {"USA": "region_north_america", "DEU": "region_europe"}[row["country"].iloc[0]]
    assert float(unseen.iloc[0]) == pytest.approx(
        float(seen.iloc[0]) / np.exp(fit.coefficients[own]), rel=1e-9)


def test_inner_ridge_choice_never_sees_a_row_outside_its_input():
    p, d = constructed()
    fit, inner = em.fit_with_inner_ridge(p.iloc[:-1], d, form="capacity_length")
    assert set(fit.fitted_on) == set(p.index[:-1])
    assert list(inner.index) == list(p.index[:-1])
    assert fit.ridge in em.RIDGE_GRID


def test_geometric_combination_and_bad_arguments():
    a, b = pd.Series([9.0, 1.0]), pd.Series([1.0, 4.0])
    assert em.combine_geometric(a, b).tolist() == pytest.approx([3.0, 2.0])
    assert em.combine_geometric(a, b, 1.0).tolist() == pytest.approx(a.tolist())
    with pytest.raises(ValueError, match="weight"):
        em.combine_geometric(a, b, 1.5)
    p, d = constructed()
    with pytest.raises(ValueError, match="form must be one of"):
        em.fit_empirical(p, d, form="per_tonne", ridge=1.0)
    with pytest.raises(ValueError, match="criterion"):
        em.fit_with_inner_ridge(p, d, form="inch_km", criterion="abs")


def test_leave_one_out_matches_fitting_without_the_row():
    p, d = constructed(seed=3)
    p["capex_musd"] *= np.random.default_rng(1).lognormal(0, 0.3, len(p))  # noisy costs
    p.loc[p.index[0], "country"] = "KAZ"  # a region seen only in one line
    loo = em.leave_one_out(p, d, form="inch_km", ridge=2.0)
    for name in p.index:
        fit = em.fit_empirical(p.drop(index=name), d, form="inch_km", ridge=2.0)
        one = em.predict_empirical(fit, p.loc[[name]], d)
        assert loo[name] == pytest.approx(float(one.iloc[0]), rel=1e-9)


def test_design_capex_form_recovers_a_scaled_design_cost():
    p, d = constructed()
    design = p["capex_musd"] / 1.3  # a design cost that is 1/1.3 of every published one
    flat = p.assign(terrain="flat", country="USA")
    flat["capex_musd"] = design * 1.3
    fit = em.fit_empirical(flat, d, form="design_capex", ridge=1.0, design_capex_musd=design)
    assert fit.coefficients["log_design_capex"] == pytest.approx(1.0, abs=1e-9)
    assert np.allclose(em.predict_empirical(fit, flat, d, design), flat["capex_musd"])
    with pytest.raises(ValueError, match="design_capex_musd"):
        em.fit_empirical(flat, d, form="design_capex", ridge=1.0)
