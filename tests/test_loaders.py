"""Loaders read every vector format and OSM XML; bad input gets one clear error."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point, Polygon

from planner import settings
from planner.io import (
    compressor_stations_from_osm_xml,
    layer_from_file,
    pipelines_from_osm_xml,
    terrain_from_file,
    write_text_atomic,
)
from planner.validation import CRSMismatchError, LayerError, check_same_crs, validate_layer

LAYER_NAMES = ["pipelines", "compressor_stations", "demand_centres", "supply_points",
               "countries", "water"]


def _real(layers, name: str) -> gpd.GeoDataFrame:
    gdf = layers.vector_layers()[name]
    # Drop all-empty optional columns: GPKG cannot store object columns of only None.
    return gdf.dropna(axis=1, how="all").head(20).copy()


@pytest.mark.parametrize(
    ("suffix", "driver"),
    [(".gpkg", "GPKG"), (".geojson", "GeoJSON"), (".shp", "ESRI Shapefile"),
     (".fgb", "FlatGeobuf"), (".parquet", None)],
)
def test_pipelines_round_trip_every_format(layers, tmp_path, suffix, driver):
    src = _real(layers, "pipelines")[["pipeline_id", "name", "status", "capacity_bcm_y",
                                      "geometry"]]
    path = tmp_path / f"pipes{suffix}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # shapefile name truncation
        if driver is None:
            src.to_parquet(path)
        else:
            src.to_file(path, driver=driver)
    # Shapefiles cut names to 10 characters: the column mapping restores them.
    mapping = {"pipeline_i": "pipeline_id", "capacity_b": "capacity_bcm_y"} \
        if suffix == ".shp" else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = layer_from_file(path, "pipelines", columns=mapping)
    # FlatGeobuf's spatial index may reorder features: compare by id.
    got = got.set_index("pipeline_id").loc[src["pipeline_id"]]
    assert np.allclose(got["capacity_bcm_y"].fillna(-1), src["capacity_bcm_y"].fillna(-1))


def test_column_mapping_for_files_that_name_things_differently(tmp_path):
    path = settings.raw_path("gem_pipelines")
    got = layer_from_file(path, "pipelines", columns={"gem_project_id": "pipeline_id",
                                                      "capacity": "capacity_bcm_y"})
    assert "P3273" in set(got["pipeline_id"])
    with pytest.raises(LayerError, match="column mapping names columns the file lacks: CAP"):
        layer_from_file(path, "pipelines", columns={"CAP": "capacity_bcm_y"})


def test_reprojects_to_storage_crs_and_logs_it(layers, tmp_path, caplog):
    src = _real(layers, "demand_centres").to_crs(settings.STUDY_CRS)
    path = tmp_path / "centres.gpkg"
    src.to_file(path)
    with caplog.at_level("INFO", logger="planner.validation"):
        got = layer_from_file(path, "demand_centres")
    assert got.crs.to_epsg() == 4326
    assert "reprojecting" in caplog.text
    assert got.geometry.x.iloc[0] == pytest.approx(src.to_crs(4326).geometry.x.iloc[0])


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(LayerError, match=r"file not found: .*nope\.gpkg"):
        layer_from_file(tmp_path / "nope.gpkg", "pipelines")


def test_unreadable_file_names_the_path(tmp_path):
    bad = tmp_path / "broken.geojson"
    bad.write_text("{ this is not json")
    with pytest.raises(LayerError, match=r"cannot read .*broken\.geojson"):
        layer_from_file(bad, "pipelines")


# --- every bad-input case, on corrupted copies of each real layer ------------------------


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_missing_crs(layers, name):
    gdf = _real(layers, name).set_crs(None, allow_override=True)
    with pytest.raises(LayerError, match="no CRS"):
        validate_layer(gdf, name)


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_empty_layer(layers, name):
    with pytest.raises(LayerError, match="empty"):
        validate_layer(_real(layers, name).iloc[0:0], name)


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_missing_required_columns(layers, name):
    from planner.schema import schema_for

    col = schema_for(name).required[0]
    with pytest.raises(LayerError, match=f"missing required columns: {col}"):
        validate_layer(_real(layers, name).drop(columns=[col]), name)


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_wrong_geometry_type(layers, name):
    gdf = _real(layers, name)
    wrong = Polygon([(60, 45), (61, 45), (61, 46)]) if name in (
        "pipelines", "compressor_stations", "demand_centres", "supply_points") \
        else Point(60, 45)
    gdf.loc[gdf.index[1], "geometry"] = wrong
    with pytest.raises(LayerError, match=rf"wrong geometry type .* rows {gdf.index[1]}"):
        validate_layer(gdf, name)


@pytest.mark.parametrize("name", ["pipelines", "compressor_stations", "demand_centres",
                                  "supply_points", "countries"])
def test_duplicate_ids(layers, name):
    from planner.schema import schema_for

    gdf = _real(layers, name)
    idc = schema_for(name).id_column
    gdf.loc[gdf.index[2], idc] = gdf.loc[gdf.index[0], idc]
    with pytest.raises(LayerError, match=f"duplicate ids in column '{idc}'"):
        validate_layer(gdf, name)


def test_non_numeric_capacities_name_the_rows(layers):
    gdf = _real(layers, "pipelines")
    gdf["capacity_bcm_y"] = gdf["capacity_bcm_y"].astype(object)
    gdf.loc[gdf.index[3], "capacity_bcm_y"] = "ten"
    gdf.loc[gdf.index[4], "capacity_bcm_y"] = "--"  # GEM's marker for unknown: allowed
    with pytest.raises(LayerError, match=r"non-numeric values in 'capacity_bcm_y' \(bcm/y\) "
                                         rf"at rows {gdf.index[3]}: 'ten'"):
        validate_layer(gdf, "pipelines")
    gdf.loc[gdf.index[3], "capacity_bcm_y"] = "12.5"
    ok = validate_layer(gdf, "pipelines")
    assert ok["capacity_bcm_y"].iloc[3] == 12.5
    assert np.isnan(ok["capacity_bcm_y"].iloc[4])


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_far_outside_region(layers, name):
    gdf = _real(layers, name)
    # A swapped lon/lat moves Kazakhstan to the Indian Ocean.
    from shapely import affinity

    gdf.loc[gdf.index[0], "geometry"] = affinity.translate(gdf.geometry.iloc[0], 0, -80)
    with pytest.raises(LayerError, match="far outside the study region"):
        validate_layer(gdf, name)


@pytest.mark.parametrize("name", ["countries", "water"])
def test_invalid_geometries_are_repaired_with_a_counted_warning(layers, name):
    gdf = _real(layers, name)
    bowtie = Polygon([(60, 45), (61, 46), (61, 45), (60, 46)])
    gdf.loc[gdf.index[0], "geometry"] = bowtie
    gdf.loc[gdf.index[1], "geometry"] = bowtie
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        got = validate_layer(gdf, name)
    assert any("repaired 2 invalid geometries" in str(x.message) for x in w)
    assert got.geometry.is_valid.all()


def test_all_problems_in_one_error(layers):
    gdf = _real(layers, "pipelines").drop(columns=["status"]).set_crs(None,
                                                                       allow_override=True)
    gdf.loc[gdf.index[1], "pipeline_id"] = gdf.loc[gdf.index[0], "pipeline_id"]
    with pytest.raises(LayerError) as err:
        validate_layer(gdf, "pipelines", source="client_pipes.gpkg")
    msg = str(err.value)
    assert msg.startswith("layer 'pipelines' from client_pipes.gpkg: 3 problems")
    assert "no CRS" in msg and "status" in msg and "duplicate ids" in msg
    assert len(err.value.problems) == 3


def test_crs_mismatch_where_layers_meet(layers):
    a = layers.countries
    b = layers.water.to_crs(settings.STUDY_CRS)
    with pytest.raises(CRSMismatchError, match=r"EPSG:4326 and .*eqdc.*to_crs"):
        check_same_crs(a, b, "cost surface")


# --- OpenStreetMap -----------------------------------------------------------------------


def test_pipelines_from_osm_xml_fixture(data_dir):
    lines = pipelines_from_osm_xml(data_dir / "ggit_osm_derived_gas_pipelines_sample.osm")
    assert len(lines) == 16
    assert set(lines.geom_type) == {"LineString"}
    assert lines.crs.to_epsg() == 4326
    assert lines["source"].str.contains("OpenStreetMap").all()


def test_osm_xml_without_compressor_stations_says_so(data_dir):
    with pytest.raises(LayerError, match="no compressor stations"):
        compressor_stations_from_osm_xml(
            data_dir / "osmnx_fixture_planet_10.068_48.135_10.071_48.137.osm")


def test_compressor_station_from_hand_made_osm(tmp_path):
    xml = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
 <node id="-1" lat="50.2516" lon="58.4357" version="1">
  <tag k="pipeline" v="substation"/><tag k="substation" v="compression"/>
  <tag k="name" v="&lt;b&gt;KS Test&lt;/b&gt;"/>
 </node>
 <node id="-2" lat="50.30" lon="58.50" version="1">
  <tag k="pipeline" v="substation"/><tag k="substation" v="valve"/>
 </node>
</osm>"""
    p = tmp_path / "cs.osm"
    p.write_text(xml)
    cs = compressor_stations_from_osm_xml(p)
    assert list(cs["name"]) == ["<b>KS Test</b>"]
    assert cs.geometry.iloc[0].x == pytest.approx(58.4357)


# --- terrain and atomic writes -----------------------------------------------------------


def test_terrain_without_crs_is_rejected(tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    p = tmp_path / "nocrs.tif"
    with rasterio.open(p, "w", driver="GTiff", width=4, height=4, count=1, dtype="int16",
                       transform=from_origin(60, 45, 0.1, 0.1)) as dst:
        dst.write(np.zeros((1, 4, 4), dtype="int16"))
    with pytest.raises(LayerError, match="no CRS"):
        terrain_from_file(p)


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "out.txt"
    write_text_atomic(target, "old")
    from planner.io import atomic_path

    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_line_layer_from_shapes():
    gdf = gpd.GeoDataFrame({"pipeline_id": ["a"], "name": ["x"], "status": ["Operating"]},
                           geometry=[LineString([(60, 45), (61, 46)])], crs=4326)
    assert len(validate_layer(gdf, "pipelines")) == 1
