"""The windowed cost-surface build: the same surface whatever the window, and a memory
estimate that matches what the build holds."""

from __future__ import annotations

import numpy as np
import pytest

from planner import costsurface
from planner.costsurface import (
    BUILD_BYTES_PER_CELL,
    CostParams,
    ResolutionTooFineError,
    build_cost_surface,
    build_memory_bytes,
    study_grid,
)


@pytest.mark.parametrize("window_cells", [3_000, 20_000])
def test_windows_give_the_same_surface(layers, window_cells) -> None:
    """Bands of about ten rows or many rows: bit-for-bit the one-window surface."""
    # around Tashkent at 1 km: borders, rivers, hills, pipeline corridors 2 cells wide
    region = (68.0, 40.0, 71.5, 42.5)
    transform, shape = study_grid(region, 1_000.0, costsurface.settings.STUDY_CRS)
    args = (layers.terrain, layers.countries, layers.water, layers.pipelines,
            layers.mountains, layers.demand_centres)
    kw = dict(transform=transform, shape=shape, crs=costsurface.settings.STUDY_CRS,
              resolution_m=1_000.0, excluded=("KGZ",), p=CostParams())
    whole = costsurface._build(*args, **kw, window_cells=shape[0] * shape[1])
    banded = costsurface._build(*args, **kw, window_cells=window_cells)
    np.testing.assert_array_equal(banded.cost, whole.cost)
    np.testing.assert_array_equal(banded.elevation, whole.elevation)
    np.testing.assert_array_equal(banded.country, whole.country)
    assert np.isinf(whole.cost).any() and len(np.unique(whole.country)) > 2
    assert (whole.cost[np.isfinite(whole.cost)] < 1.0).any()  # a pipeline corridor


def test_memory_estimate_is_the_result_plus_one_window() -> None:
    shape = (20_000, 30_000)
    need = build_memory_bytes(shape, window_cells=1_000_000)
    result = shape[0] * shape[1] * BUILD_BYTES_PER_CELL
    assert result < need < result * 1.05


def test_refusal_only_beyond_the_limit(layers, tmp_path) -> None:
    args = (layers.terrain, layers.countries, layers.water, layers.pipelines, layers.mountains)
    with pytest.raises(ResolutionTooFineError, match="GiB"):
        build_cost_surface(*args, resolution_m=100.0, max_memory_gib=1.0,
                           cache_dir=tmp_path, use_cache=False)


@pytest.mark.parametrize("r", [1, 2, 5, 20])
def test_corridor_by_distance_transform_equals_disc_dilation(r) -> None:
    from scipy import ndimage

    rng = np.random.default_rng(r)
    mask = rng.random((120, 90)) < 0.002
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    want = ndimage.binary_dilation(mask, structure=(xx**2 + yy**2) <= r * r)
    np.testing.assert_array_equal(costsurface._within_cells(mask, r), want)
