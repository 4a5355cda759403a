"""Cost surface on the real default layers: components, barriers, cache, refusals."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest

from planner import settings
from planner.costsurface import (
    CostParams,
    CostSurface,
    ResolutionTooFineError,
    build_cost_surface,
    cost_components,
)
from planner.validation import CRSMismatchError

RES = 10_000.0


def _cell(s: CostSurface, lon: float, lat: float) -> tuple[int, int]:
    x, y = s.lonlat_to_xy(np.array([lon]), np.array([lat]))
    r, c = s.xy_to_rowcol(x, y)
    return int(r[0]), int(c[0])


def _cells_in(s: CostSurface, geom) -> tuple[np.ndarray, np.ndarray]:
    import geopandas as gpd
    import rasterio.features

    g = gpd.GeoSeries([geom], crs=settings.STORAGE_CRS).to_crs(s.crs)
    m = rasterio.features.rasterize([(g.iloc[0], 1)], out_shape=s.shape, transform=s.transform,
                                    fill=0, dtype="uint8")
    return np.nonzero(m)


def test_components_carry_multiplier_and_source():
    t = cost_components().set_index("component")
    assert (t["source"].str.len() > 0).all()
    assert t.loc["pipeline_parallel", "multiplier"] == 0.75
    assert "CostMAP" in t.loc["pipeline_parallel", "source"]
    assert t.loc["slope_hill", "multiplier"] == 1.4 and "reVX" in t.loc["slope_hill", "source"]
    assert t.loc["slope_mountain", "multiplier"] == 1.75
    assert t.loc["river_crossing", "multiplier"] == 1.25
    assert np.isinf(t.loc["water_body", "multiplier"])
    # estimates are labelled as such
    assert t.loc["border_crossing", "estimate"] and t.loc["elevation_high", "estimate"]
    assert not t.loc["pipeline_parallel", "estimate"]
    f = cost_components(CostParams(country_factors={"AFG": 3.0})).set_index("component")
    assert f.loc["country_AFG", "multiplier"] == 3.0


def test_surface_grid_and_crs(surface):
    assert surface.crs == settings.STUDY_CRS
    assert surface.resolution_m == RES
    assert surface.cost.dtype == np.float32
    h, w = surface.shape
    assert 200 < h < 300 and 350 < w < 500  # ~2,650 km x 4,190 km at 10 km
    finite = surface.cost[np.isfinite(surface.cost)]
    assert finite.min() > 0 and np.median(finite) == pytest.approx(1.0, abs=0.3)


def test_caspian_and_aral_are_barriers(surface, layers):
    water = layers.water.set_index("name")
    for name in ("Caspian Sea", "North Aral Sea", "South Aral Sea"):
        rows, cols = _cells_in(surface, water.loc[name, "geometry"])
        assert len(rows) > 5, name
        assert np.isinf(surface.cost[rows, cols]).mean() > 0.95, name
    # the Caspian is flat in the DEM: masked before slope, its shore is not a cliff
    assert np.isnan(surface.elevation[_cell(surface, 50.5, 42.0)])


def test_pipeline_corridor_is_cheaper(surface, layers):
    op = layers.pipelines[layers.pipelines.status.str.lower() == "operating"]
    rows, cols = _cells_in(surface, op.geometry.union_all())
    on = surface.cost[rows, cols]
    on = on[np.isfinite(on)]
    land = surface.cost[np.isfinite(surface.cost)]
    assert np.median(on) < np.median(land)
    assert np.median(on) == pytest.approx(0.75, abs=0.1)


def test_excluded_country_is_barrier(layers, cost_cache):
    s = build_cost_surface(layers.terrain, layers.countries, layers.water, layers.pipelines,
                           layers.mountains, resolution_m=RES, excluded_countries=["uzb"],
                           cache_dir=cost_cache)
    idx = s.country_codes.index("UZB")
    assert np.isinf(s.cost[s.country == idx]).all()
    assert s.excluded_countries == ("UZB",)
    by_name = build_cost_surface(layers.terrain, layers.countries, layers.water,
                                 layers.pipelines, layers.mountains, resolution_m=RES,
                                 excluded_countries=["Uzbekistan"], cache_dir=cost_cache)
    assert by_name.key == s.key and by_name.from_cache
    with pytest.raises(ValueError, match="not in the countries layer: XXX"):
        build_cost_surface(layers.terrain, layers.countries, layers.water, layers.pipelines,
                           resolution_m=RES, excluded_countries=["XXX"], cache_dir=cost_cache)


def test_cache_is_reused(layers, tmp_path, caplog):
    args = (layers.terrain, layers.countries, layers.water, layers.pipelines, layers.mountains)
    first = build_cost_surface(*args, resolution_m=20_000, cache_dir=tmp_path)
    assert not first.from_cache and first.cache_path is not None and first.cache_path.exists()
    with caplog.at_level(logging.INFO, logger="planner.costsurface"):
        second = build_cost_surface(*args, resolution_m=20_000, cache_dir=tmp_path)
    assert second.from_cache and second.key == first.key
    assert "loaded from cache" in caplog.text
    np.testing.assert_array_equal(first.cost, second.cost)
    np.testing.assert_array_equal(first.country, second.country)
    assert second.country_codes == first.country_codes
    # no temporary files left behind (atomic write)
    assert [p.name for p in tmp_path.iterdir()] == [first.cache_path.name]
    # any change of inputs gives another key
    other = build_cost_surface(*args, resolution_m=20_000, cache_dir=tmp_path,
                               params=CostParams(parallel_mult=0.8))
    assert other.key != first.key and not other.from_cache
    fewer = build_cost_surface(layers.terrain, layers.countries, layers.water,
                               layers.pipelines.iloc[:-1], layers.mountains,
                               resolution_m=20_000, cache_dir=tmp_path)
    assert fewer.key != first.key


def test_too_fine_resolution_is_refused_before_allocating(layers, tmp_path):
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(ResolutionTooFineError, match=r"need about [\d.]+ GiB") as e:
            build_cost_surface(layers.terrain, layers.countries, layers.water,
                               layers.pipelines, resolution_m=10, cache_dir=tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "resolution_m ≥" in str(e.value)
    assert peak < 200 * 2**20  # nothing grid-sized was allocated
    assert not any(tmp_path.iterdir())


def test_memory_limit_from_environment(layers, tmp_path, monkeypatch):
    monkeypatch.setenv("PLANNER_MAX_MEMORY_GIB", "0.001")
    with pytest.raises(ResolutionTooFineError, match=r"0\.0 GiB allowed"):
        build_cost_surface(layers.terrain, layers.countries, layers.water, layers.pipelines,
                           resolution_m=20_000, cache_dir=tmp_path)


def test_crs_mismatch_names_both(layers, tmp_path):
    with pytest.raises(CRSMismatchError, match=r"EPSG:4326.*EPSG:3857|EPSG:3857.*EPSG:4326"):
        build_cost_surface(layers.terrain, layers.countries, layers.water.to_crs(3857),
                           layers.pipelines, resolution_m=RES, cache_dir=tmp_path)


def test_fine_resolution_small_region(layers, tmp_path):
    """500 m works (on a small region, to stay fast)."""
    s = build_cost_surface(layers.terrain, layers.countries, layers.water, layers.pipelines,
                           layers.mountains, resolution_m=500, region=(68.5, 41.0, 70.5, 42.5),
                           cache_dir=tmp_path)
    assert s.resolution_m == 500 and s.shape[0] > 300 and s.shape[1] > 300
    # Tashkent's neighbourhood is land with a DEM
    r, c = _cell(s, 69.6, 42.0)
    assert np.isfinite(s.cost[r, c]) and np.isfinite(s.elevation[r, c])


def test_default_cache_dir_is_read_at_call_time(layers, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path)
    s = build_cost_surface(layers.terrain, layers.countries, layers.water, layers.pipelines,
                           resolution_m=40_000)
    assert s.cache_path is not None and s.cache_path.parent == tmp_path
    assert os.path.exists(s.cache_path)
