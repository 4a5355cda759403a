"""The system plan's arcs carry their pipe terrain factor and km per terrain class
(``system_plan.csv``), on a constructed network."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString
from test_plan import ECON, OPTS  # the plan tests' economics and options

from planner.plan.candidates import ARC_COLUMNS, PlanNetwork
from planner.plan.optimise import (
    RESULT_COLUMNS,
    TERRAIN_KM_COLUMNS,
    arc_regional_factors,
    arc_terrain_factors,
    diameter_options,
    solve_plan,
)
from planner.plan.outputs import PLAN_COLUMNS, system_plan_table
from planner.terrain_classes import class_factors


def _network() -> PlanNetwork:
    """S to D (6 bcm/y): an existing line of 4 bcm/y spare to H, new pipe S-H (half of it
    mountain) for the rest, and new pipe H-D (flat) for all of it."""
    nodes = pd.DataFrame({"lon": [0.0, 4.0, 6.0], "lat": 0.0, "kind": "x",
                          "demand_bcm_y": [0.0, 0.0, 6.0], "supply": [True, False, False]},
                         index=["S", "H", "D"])
    arcs = [("S", "H", "existing", 4.0, 400.0, None),
            ("S", "H", "new", np.nan, 400.0, {"flat": 200.0, "hilly": 0.0, "mountain": 200.0}),
            ("H", "D", "new", np.nan, 200.0, {"flat": 200.0})]
    rows = []
    for i, (u, v, kind, cap, km, terrain) in enumerate(arcs):
        x0, x1 = nodes.at[u, "lon"], nodes.at[v, "lon"]
        rows.append({"arc_id": f"a{i}", "u": u, "v": v, "kind": kind,
                     "system": "Line" if kind == "existing" else "", "length_km": km,
                     "cost_km_eq": km if kind == "new" else np.nan, "terrain_km": terrain,
                     "capacity_bcm_y": cap, "design": 0, "km_by_country": {"AAA": km},
                     "countries": "AAA", "geometry": LineString([(x0, 0.0), (x1, 0.0)])})
    return PlanNetwork(nodes, gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
                       .reindex(columns=ARC_COLUMNS))


def test_new_arcs_carry_their_terrain_and_existing_arcs_nan(tmp_path):
    net = _network()
    r = solve_plan(net, OPTS, ECON)
    assert r.ok
    arcs = r.arcs.set_index("arc_id")
    assert set(arcs.index) == {"a0", "a1", "a2"}  # the line full, new pipe beside it
    assert list(r.arcs.columns) == RESULT_COLUMNS
    f = class_factors()
    assert arcs.at["a1", "terrain_factor"] == pytest.approx((f["flat"] + f["mountain"]) / 2)
    assert arcs.loc["a1", TERRAIN_KM_COLUMNS].tolist() == [200.0, 0.0, 200.0]
    # a class missing from an arc's terrain_km is 0 km of it
    assert arcs.loc["a2", TERRAIN_KM_COLUMNS].tolist() == [200.0, 0.0, 0.0]
    assert arcs.at["a2", "terrain_factor"] == pytest.approx(f["flat"])
    new = net.arcs[net.arcs["kind"].eq("new")].set_index("arc_id")
    assert arcs.loc[new.index, "terrain_factor"].to_numpy() == pytest.approx(
        arc_terrain_factors(new.reset_index()))
    # the classes add up to the arc's length; an existing arc has no classes
    assert arcs.loc[["a1", "a2"], TERRAIN_KM_COLUMNS].sum(axis=1).tolist() == pytest.approx(
        arcs.loc[["a1", "a2"], "length_km"].tolist())
    assert arcs.loc["a0", ["terrain_factor", *TERRAIN_KM_COLUMNS]].isna().all()
    # as written to system_plan.csv
    path = tmp_path / "system_plan.csv"
    system_plan_table(r.arcs).to_csv(path, index=False)
    written = pd.read_csv(path).set_index("arc_id")
    assert {"terrain_factor", *TERRAIN_KM_COLUMNS} <= set(PLAN_COLUMNS)
    assert written.at["a1", "mountain_km"] == pytest.approx(200.0)
    assert np.isnan(written.at["a0", "terrain_factor"])


def test_a_mountain_arc_costs_its_terrain_factor_on_the_pipe():
    # the same network with the S-H pipe all flat: only that arc's CAPEX changes, by
    # its pipe's share times the change of factor (stations are not terrain-scaled)
    net = _network()
    flat = net.arcs.copy()
    flat.at[1, "terrain_km"] = {"flat": 400.0}
    steep = solve_plan(net, OPTS, ECON).arcs.set_index("arc_id")
    level = solve_plan(PlanNetwork(net.nodes, flat), OPTS, ECON).arcs.set_index("arc_id")
    f = class_factors()
    assert level.at["a1", "terrain_factor"] == pytest.approx(f["flat"])
    assert steep.at["a1", "diameter_mm"] == level.at["a1", "diameter_mm"]
    # the pipe's share: the line pipe and its per-arc intercept at that diameter (flat
    # land, before the terrain factor), times the arc's regional factor (AAA: 1)
    opt = diameter_options(OPTS, 6.0).set_index("diameter_mm").loc[
        steep.at["a1", "diameter_mm"]]
    pipe_musd = (opt["capex_fixed_usd"] + opt["pipe_usd_per_km"] * 400.0) \
        * arc_regional_factors(net.arcs.iloc[[1]])[0] / 1e6
    change = (f["flat"] + f["mountain"]) / 2 - f["flat"]
    assert change > 0
    assert steep.at["a1", "capex_musd"] - level.at["a1", "capex_musd"] == pytest.approx(
        pipe_musd * change, rel=1e-9)
    assert steep.at["a2", "capex_musd"] == pytest.approx(level.at["a2", "capex_musd"])
