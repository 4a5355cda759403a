"""Results kept beside a study's outputs (a coalition game, a sweep's task results and
route sets) are matched by :func:`planner.cache.inputs_fingerprint`: other layer data, DEM
or code never pass for this study's."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from planner.cache import inputs_fingerprint
from planner.study import default_study_path, load_study
from planner.sweep.study_sweep import route_set_path, study_fingerprint
from planner.terrain import Terrain


@pytest.fixture(scope="module")
def study():
    return load_study(default_study_path())


def _layers(elevation: float = 0.0, x: float = 60.0) -> SimpleNamespace:
    pipes = gpd.GeoDataFrame({"pipeline_id": ["P1"]},
                             geometry=[shapely.LineString([(x, 45.0), (61.0, 45.0)])],
                             crs=4326)
    z = np.full((4, 4), elevation, dtype=np.float32)
    return SimpleNamespace(vector_layers=lambda: {"pipelines": pipes},
                           terrain=Terrain(z, Affine(1.0, 0, 58.0, 0, -1.0, 47.0),
                                           "EPSG:4326"))


def test_the_fingerprint_follows_the_layers_and_the_terrain(study):
    base = inputs_fingerprint(study, _layers())
    assert base == inputs_fingerprint(study, _layers())  # same inputs, same fingerprint
    assert inputs_fingerprint(study, _layers(x=60.5)) != base  # a vector layer edited
    assert inputs_fingerprint(study, _layers(elevation=100.0)) != base  # another DEM


def test_the_sweep_keys_hold_the_layers_when_given(study):
    a, b = _layers(), _layers(x=60.5)
    assert study_fingerprint(study, a) == study_fingerprint(study, _layers())
    assert study_fingerprint(study, a) != study_fingerprint(study, b)
    assert study_fingerprint(study, a) != study_fingerprint(study)
    key = (10.0, ())
    assert (route_set_path(study, key, ".", a).name
            != route_set_path(study, key, ".", b).name)
