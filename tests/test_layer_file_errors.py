"""A bad row in a study's own layer file is reported with the study line that names it."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point
from test_study import GOOD  # the study tests' minimal study

from planner.study import layers_for_study, load_study
from planner.validation import LayerError

STUDY = GOOD + """
[layers.demand_centres]
path = "centres.geojson"
"""


def test_bad_layer_row_names_the_file_row_field_and_the_study_line(tmp_path):
    gpd.GeoDataFrame({"centre_id": ["a", "b"], "name": ["Alpha", "Beta"],
                      "country": ["Kazakhstan", "Kazakhstan"], "population": ["1000", "many"]},
                     geometry=[Point(69, 42), Point(70, 43)], crs="EPSG:4326"
                     ).to_file(tmp_path / "centres.geojson")
    (tmp_path / "s.toml").write_text(STUDY)
    with pytest.raises(LayerError) as info:
        layers_for_study(load_study(tmp_path / "s.toml"))
    text = str(info.value)
    assert str(tmp_path / "centres.geojson") in text  # the layer file
    assert "'population'" in text and "rows 1: 'many'" in text  # its field and row
    assert f"study {tmp_path / 's.toml'}, layers.demand_centres.path (line 13)" in text
    assert info.value.problems and info.value.layer == "demand_centres"
