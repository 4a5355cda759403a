"""Least-cost routes on the real default layers (coarse grids, to stay fast)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from planner import settings
from planner.costsurface import CostSurface, build_cost_surface
from planner.routing import (
    PlaceError,
    RoutingError,
    UnreachableError,
    alternative_routes,
    candidate_network,
    least_cost_route,
    locate,
    refinement_gap,
    route_to_nearest,
    routes_many_to_many,
)

RES = 10_000.0

BEYNEU = (55.10, 45.18)
SHYMKENT = (69.60, 42.32)
ORENBURG = (55.11, 51.78)
NUKUS = (59.62, 42.47)
TASHKENT = (69.29, 41.31)
BAKU = (49.86, 40.40)
ATYRAU = (51.92, 47.11)
ARAL = (61.67, 46.80)
ASHGABAT = (58.38, 37.95)
BISHKEK = (74.58, 42.88)
ALMATY = (76.91, 43.33)


def _surface(layers, cost_cache, **kw) -> CostSurface:
    return build_cost_surface(layers.terrain, layers.countries, layers.water, layers.pipelines,
                              layers.mountains, layers.demand_centres, resolution_m=RES,
                              cache_dir=cost_cache, **kw)


def _crossed_km(route: gpd.GeoDataFrame, area) -> float:
    """Kilometres of a route inside an area (measured in the study CRS)."""
    line = route.to_crs(settings.STUDY_CRS).geometry.iloc[0]
    poly = gpd.GeoSeries([area], crs=settings.STORAGE_CRS).to_crs(settings.STUDY_CRS).iloc[0]
    return line.intersection(poly).length / 1000.0


def test_route_columns_and_profile(surface):
    r = least_cost_route(surface, BEYNEU, SHYMKENT, origin_name="Beyneu",
                         destination_name="Shymkent")
    assert r.crs.to_epsg() == 4326 and len(r) == 1
    row = r.iloc[0]
    assert row.origin == "Beyneu" and row.destination == "Shymkent"
    assert row.geometry.geom_type == "LineString"
    assert row.cost > 0 and row.length_km > 1000
    d, z = row.distance_km, row.elevation_m
    assert len(d) == len(z) == len(row.geometry.coords)
    assert d[0] == 0 and np.all(np.diff(d) > 0) and d[-1] == pytest.approx(row.length_km)
    assert np.isfinite(z).all() and -100 < z.min() and z.max() < 1500
    assert row.geometry.coords[0] == pytest.approx(BEYNEU)
    assert sum(row.km_by_country.values()) == pytest.approx(row.length_km)


def test_beyneu_shymkent_much_shorter_than_detour_through_russia(surface):
    direct = least_cost_route(surface, BEYNEU, SHYMKENT).iloc[0]
    via_ru = (least_cost_route(surface, BEYNEU, ORENBURG).iloc[0],
              least_cost_route(surface, ORENBURG, SHYMKENT).iloc[0])
    assert "RUS" not in direct.countries
    assert direct.countries == "KAZ"
    detour_km = sum(r.length_km for r in via_ru)
    assert direct.length_km < 0.7 * detour_km
    assert direct.cost < 0.7 * sum(r.cost for r in via_ru)


def test_routes_avoid_caspian_and_aral(surface, layers):
    water = layers.water.set_index("name")
    caspian = water.loc["Caspian Sea", "geometry"]
    aral = water.loc[["North Aral Sea", "South Aral Sea"], "geometry"].union_all()
    across_caspian = least_cost_route(surface, BAKU, BEYNEU)
    assert _crossed_km(across_caspian, caspian) < 2 * RES / 1000
    # the straight line would cross the sea: the route goes around it
    assert across_caspian.length_km.iloc[0] > 1.3 * 650
    across_aral = least_cost_route(surface, ARAL, NUKUS)
    assert _crossed_km(across_aral, aral) < 2 * RES / 1000
    many = routes_many_to_many(surface, {"Atyrau": ATYRAU, "Baku": BAKU},
                               {"Nukus": NUKUS, "Aral": ARAL, "Ashgabat": ASHGABAT})
    assert len(many) == 6
    for geom in many.geometry:
        one = gpd.GeoDataFrame(geometry=[geom], crs=4326)
        assert _crossed_km(one, caspian) < 2 * RES / 1000
        assert _crossed_km(one, aral) < 2 * RES / 1000


def test_forbidding_a_country_removes_it_from_every_route(layers, cost_cache, surface):
    origins = {"Beyneu": BEYNEU, "Ashgabat": ASHGABAT}
    dests = {"Shymkent": SHYMKENT, "Almaty": ALMATY, "Bishkek": BISHKEK}
    base = routes_many_to_many(surface, origins, dests)
    assert base.countries.str.contains("UZB").any()  # the test means something
    no_uzb = _surface(layers, cost_cache, excluded_countries=["UZB"])
    routes = routes_many_to_many(no_uzb, origins, dests)
    assert len(routes) == 6
    assert not routes.countries.str.contains("UZB").any()
    assert all("UZB" not in r for r in routes.km_by_country)
    # and each is dearer than (or as dear as) before
    merged = base.merge(routes, on=["origin", "destination"], suffixes=("", "_no"))
    assert (merged.cost_no >= merged.cost - 1e-6).all()


def test_alternatives_differ_in_space_and_cost(surface):
    alts = alternative_routes(surface, BEYNEU, SHYMKENT, k=3)
    assert list(alts["rank"]) == [0, 1, 2]
    assert alts.premium_pct.iloc[0] == 0
    assert (alts.premium_pct.iloc[1:] > 0).all()
    assert (alts.premium_pct < 50).all()
    assert (alts.overlap <= 0.6).all()
    proj = alts.to_crs(settings.STUDY_CRS).geometry
    for i in range(len(proj)):
        for j in range(i + 1, len(proj)):
            assert proj.iloc[i].hausdorff_distance(proj.iloc[j]) > 30_000


def test_route_to_nearest_and_many_to_many(surface):
    r = route_to_nearest(surface, TASHKENT, {"Almaty": ALMATY, "Shymkent": SHYMKENT,
                                             "Nukus": NUKUS})
    assert r.destination.iloc[0] == "Shymkent"
    gdf = gpd.GeoDataFrame({"name": ["Shymkent", "Almaty"]},
                           geometry=[Point(SHYMKENT), Point(ALMATY)], crs=4326)
    m = routes_many_to_many(surface, {"Tashkent": TASHKENT, "Bishkek": BISHKEK}, gdf)
    assert set(zip(m.origin, m.destination, strict=True)) == {
        ("Tashkent", "Shymkent"), ("Tashkent", "Almaty"), ("Bishkek", "Shymkent"),
        ("Bishkek", "Almaty")}
    one = least_cost_route(surface, TASHKENT, ALMATY).cost.iloc[0]
    got = m[(m.origin == "Tashkent") & (m.destination == "Almaty")].cost.iloc[0]
    assert got == pytest.approx(one)


def test_candidate_network(surface):
    pts = {"Beyneu": BEYNEU, "Shymkent": SHYMKENT, "Nukus": NUKUS, "Tashkent": TASHKENT,
           "Atyrau": ATYRAU}
    net = candidate_network(surface, pts)
    assert len(net.edges) >= 4  # a Delaunay triangulation of 5 points has 7 to 9 edges
    g = net.graph
    import networkx as nx

    assert nx.is_connected(g)
    assert set(pts) <= set(g.nodes)
    assert all(d["cost"] > 0 and d["length_km"] > 0 for _, _, d in g.edges(data=True))
    # merged: the total length of the graph is below the sum of the routes
    assert sum(d["length_km"] for *_, d in g.edges(data=True)) < net.edges.length_km.sum()
    assert len(net.segments()) == g.number_of_edges()


def test_refinement_matches_full_resolution(surface):
    gap = refinement_gap(surface, ORENBURG, TASHKENT, coarse_factor=3)
    assert 0 <= gap["gap_pct"] < 1.0


def test_place_outside_raster(surface):
    with pytest.raises(PlaceError, match=r"'Paris'.*outside the cost surface"):
        least_cost_route(surface, (2.35, 48.86), SHYMKENT, origin_name="Paris")


def test_place_on_barrier_snaps_or_fails(surface):
    # a point just off the Caspian shore snaps to land and says how far
    p = locate(surface, (51.05, 45.2), "offshore", snap_km=60)
    assert 0 < p.snapped_km <= 60
    with pytest.raises(PlaceError, match=r"'mid-Caspian'.*water.*within 25 km"):
        least_cost_route(surface, (50.5, 42.0), SHYMKENT, origin_name="mid-Caspian")


def test_unreachable_destination_is_named(layers, cost_cache):
    # Kyrgyzstan, cut off from every neighbour
    s = _surface(layers, cost_cache, excluded_countries=["KAZ", "UZB", "TJK", "CHN"])
    with pytest.raises(UnreachableError, match="'Ashgabat' cannot be reached from 'Bishkek'"):
        least_cost_route(s, BISHKEK, ASHGABAT, origin_name="Bishkek",
                         destination_name="Ashgabat")
    with pytest.raises(UnreachableError, match="Bishkek → Ashgabat"):
        routes_many_to_many(s, {"Bishkek": BISHKEK}, {"Ashgabat": ASHGABAT})
    with pytest.raises(PlaceError, match="excluded country KAZ"):
        least_cost_route(s, BISHKEK, ALMATY, destination_name="Almaty", snap_km=5)


def test_identical_origin_and_destination(surface):
    with pytest.raises(RoutingError, match="same place"):
        least_cost_route(surface, TASHKENT, (TASHKENT[0] + 0.001, TASHKENT[1]))
    with pytest.raises(RoutingError, match="same place"):
        alternative_routes(surface, TASHKENT, TASHKENT)


def test_bad_method(surface):
    with pytest.raises(ValueError, match="method must be"):
        least_cost_route(surface, TASHKENT, ALMATY, method="fast")


def test_refined_alternatives_and_network(surface):
    """The coarse-to-fine variants give the same kind of answers."""
    alts = alternative_routes(surface, BEYNEU, SHYMKENT, k=2, method="refined")
    assert len(alts) == 2 and set(alts.method) == {"refined"}
    assert alts.premium_pct.iloc[1] >= 0
    full = least_cost_route(surface, BEYNEU, SHYMKENT, method="full").cost.iloc[0]
    assert alts.cost.iloc[0] <= full * 1.01
    net = candidate_network(surface, {"Beyneu": BEYNEU, "Shymkent": SHYMKENT,
                                       "Nukus": NUKUS}, method="refined")
    assert len(net.edges) == 3 and set(net.edges.method) == {"refined"}


def test_refined_many_to_many_matches_full(surface):
    origins = {"Beyneu": BEYNEU, "Tashkent": TASHKENT}
    dests = {"Shymkent": SHYMKENT, "Nukus": NUKUS, "Almaty": ALMATY}
    full = routes_many_to_many(surface, origins, dests, method="full")
    refined = routes_many_to_many(surface, origins, dests, method="refined")
    m = full.merge(refined, on=["origin", "destination"], suffixes=("_f", "_r"))
    assert len(m) == 6
    assert ((m.cost_r - m.cost_f) / m.cost_f).between(-1e-9, 0.01).all()
