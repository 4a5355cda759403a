"""The curated default layers hold the region's known facts."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from planner.curation import find_border_crossing, pipeline_systems, point_at_km
from planner.layers import layers_summary
from planner.schema import SCHEMAS

GEOD = Geod(ellps="WGS84")


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2] / 1000


def test_every_layer_is_in_storage_crs_and_follows_its_schema(layers):
    for name, gdf in layers.vector_layers().items():
        assert gdf.crs.to_epsg() == 4326, name
        schema = SCHEMAS[name]
        assert set(schema.required) <= set(gdf.columns), name
        assert set(gdf.geom_type) <= set(schema.geometry_types), name
        assert len(gdf) > 0, name


def test_known_pipelines_with_published_capacities(layers):
    p = layers.pipelines
    bbs = p[p["system"].eq("Beineu–Bozoi–Shymkent") & p["status"].eq("Operating")]
    # QazaqGaz / GEM: BBS runs at 15 bcm/y since its 2019 compressor upgrade.
    assert bbs["capacity_bcm_y"].tolist() == [15.0]
    # BBS is published as about 1,475 km long (GEM wiki); the GEM route is within 5 %.
    assert bbs["length_km"].iloc[0] == pytest.approx(1475, rel=0.05)
    cac = p[p["system"].eq("Central Asia–Center")]
    assert {"CAC-2", "CAC-3", "CAC-4", "CAC-5"} <= set(cac["string"])


def test_parallel_strings_do_not_multiply_system_capacity(layers):
    systems = pipeline_systems(layers.pipelines)
    cac_strings = layers.pipelines[layers.pipelines["system"].eq("Central Asia–Center")]
    naive = cac_strings["capacity_bcm_y"].sum()
    # GEM: 60.2 bcm/y on each of three eastern strings, 5.0 on the western CAC-3.
    assert naive == pytest.approx(3 * 60.2 + 5.0)
    assert systems.loc["Central Asia–Center", "capacity_bcm_y"] == pytest.approx(60.2 + 5.0)
    # Central Asia–China: lines A and B (15 each) and C (25) have their own capacities:
    # 55 bcm/y in all, as CNPC publishes for lines A-C.
    assert systems.loc["Central Asia–China", "capacity_bcm_y"] == pytest.approx(55.0)
    assert systems.loc["Bukhara–Ural", "capacity_bcm_y"] == pytest.approx(21.0)


def test_missing_capacity_stays_missing(layers):
    p = layers.pipelines
    branch = p[p["pipeline_id"].eq("P5927")]  # CS 14-Aktobe I: no capacity in GEM
    assert branch["capacity_bcm_y"].isna().all()


@pytest.mark.parametrize(
    ("city", "country", "lonlat"),
    [
        ("Tashkent", "Uzbekistan", (69.24, 41.31)),
        ("Almaty", "Kazakhstan", (76.92, 43.25)),
        ("Astana", "Kazakhstan", (71.43, 51.17)),
        ("Bishkek", "Kyrgyzstan", (74.59, 42.87)),
    ],
)
def test_known_demand_centres(layers, city, country, lonlat):
    d = layers.demand_centres
    row = d[d["name"].eq(city)]
    assert len(row) == 1
    assert row["country"].iloc[0] == country
    pt = row.geometry.iloc[0]
    assert _km((pt.x, pt.y), lonlat) < 15
    assert row["population"].iloc[0] > 500_000


def test_demand_is_national_consumption_shared_by_population(layers):
    d = layers.demand_centres
    kz = d[d["country"].eq("Kazakhstan")]
    nat_pop = layers.countries.set_index("name").loc["Kazakhstan", "population"]
    from planner.curation import _data_csv

    cons = _data_csv("national_gas_consumption.csv").set_index("country")
    kz_cons = cons.loc["Kazakhstan", "consumption_bcm_y"]
    almaty = kz[kz["name"].eq("Almaty")].iloc[0]
    assert almaty["demand_bcm_y"] == pytest.approx(kz_cons * almaty["population"] / nat_pop)
    # The centres' demand never exceeds the national total.
    assert kz["demand_bcm_y"].sum() < kz_cons


def test_gas_access_follows_distance_to_operating_lines(layers):
    d = layers.demand_centres
    tashkent = d[d["name"].eq("Tashkent")].iloc[0]
    assert bool(tashkent["gas_access"])
    assert (d["gas_access"] == (d["distance_to_pipeline_km"] <= 50)).all()


def test_population_cross_checked_with_geonames(layers):
    import geopandas as gpd

    from planner import settings

    gn = gpd.read_file(settings.raw_path("geonames")).set_index("geonameid")["population"]
    d = layers.demand_centres
    from_gn = d[d["source"].str.contains("population: GeoNames")]
    assert len(from_gn) > 0
    ids = from_gn["centre_id"].str.removeprefix("ne-").astype(int)
    assert (from_gn["population"].to_numpy() == gn.loc[ids].to_numpy()).all()
    # NE lists Aktau twice (as "Mangyshlak" and, with a stale 4,479, as "Aqtau"); both
    # carry GeoNames id 610612 and become one centre.
    assert (d["centre_id"] == "ne-610612").sum() == 1


@pytest.mark.parametrize("system", ["Central Asia–Center", "Bukhara–Ural"])
def test_russia_kazakhstan_crossings_are_supply_points(layers, system):
    x = find_border_crossing(layers.supply_points, system, "Russia", "Kazakhstan")
    assert len(x) >= 1
    # Each crossing lies on the Russia-Kazakhstan border: one country on each side.
    for pt in x.geometry:
        near = layers.countries[layers.countries.distance(pt) < 0.05]["iso_a3"]
        assert {"RUS", "KAZ"} <= set(near)


def test_cac_crossing_near_alexandrov_gay(layers):
    """CAC enters Russia at Alexandrov Gay (sourcewatch, Caspian Coastal pipeline page)."""
    x = find_border_crossing(layers.supply_points, "Central Asia–Center", "Russia",
                             "Kazakhstan")
    d = min(_km((p.x, p.y), (48.569, 50.142)) for p in x.geometry)
    assert d < 30


def test_compressor_stations_cite_sources_and_sit_on_their_lines(layers):
    cs = layers.compressor_stations
    assert cs["source"].str.startswith("http").all()
    assert not cs["is_estimate"].any()
    bbs = layers.pipelines.set_index("pipeline_id").loc["P3273", "geometry"]
    on_bbs = cs[cs["pipeline"].str.startswith("Beineu")]
    assert len(on_bbs) >= 5
    # Geodesic interpolation sits within ~10 m of the planar vertex chain.
    assert (on_bbs.distance(bbs) < 1e-3).all()


def test_km_point_placement_agrees_with_independent_geometry(layers):
    """CS-14 (Bukhara-Ural km 1385) is where GEM's 'CS 14-Aktobe' branches start."""
    cs14 = layers.compressor_stations.set_index("name").loc["CS-14", "geometry"]
    branch = layers.pipelines.set_index("pipeline_id").loc["P5927", "geometry"]
    ends = [branch.geoms[0].coords[0], branch.geoms[-1].coords[-1]] \
        if branch.geom_type == "MultiLineString" else [branch.coords[0], branch.coords[-1]]
    assert min(_km((cs14.x, cs14.y), e) for e in ends) < 60


def test_point_at_km_by_hand():
    from shapely.geometry import LineString, Point

    line = LineString([(0, 0), (2, 0)])
    # 111.32 km per degree of longitude at the equator (WGS 84).
    p = point_at_km(line, 111.32)
    assert p.x == pytest.approx(1.0, abs=1e-3)
    p = point_at_km(line, 111.32, start_near=Point(2.1, 0))
    assert p.x == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(ValueError, match="beyond"):
        point_at_km(line, 500)


def test_water_and_terrain(layers):
    w = layers.water
    assert {"sea", "lake", "river"} <= set(w["kind"])
    assert "Lake Balkhash" in set(w["name"])
    t = layers.terrain
    # Khan Tengri area (Tian Shan) is far higher than the Caspian shore.
    tengri = t.elevation_at(np.array([80.17]), np.array([42.21]))[0]
    caspian = t.elevation_at(np.array([51.0]), np.array([43.0]))[0]
    assert tengri > 4000 > 0 > caspian


def test_layers_summary_lists_every_layer(layers):
    s = layers_summary(layers)
    assert list(s["layer"]) == [*layers.vector_layers(), "terrain"]
    assert (s["features"] > 0).all()
    assert set(s["crs"]) == {"EPSG:4326"}
