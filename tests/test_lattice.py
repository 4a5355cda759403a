"""The 16/32-neighbour lattice solver on constructed grids with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.graph import MCP_Geometric

from planner.lattice import lattice_cost, lattice_path, move_cells, moves


@pytest.mark.parametrize("n", [8, 16, 32])
def test_move_shares_add_up(n: int) -> None:
    for dr, dc in moves(n):
        cells, share = move_cells(dr, dc)
        assert share.sum() == pytest.approx(1.0)
        assert cells[0].tolist() == [0, 0] and cells[-1].tolist() == [dr, dc]


def test_knight_line_costs_its_length() -> None:
    c = np.ones((40, 40))
    for n, expect in ((8, 10 * math.sqrt(2) + 10), (16, 10 * math.sqrt(5))):
        p = lattice_path(c, (0, 0), (10, 20), 1000.0, neighbours=n)
        assert lattice_cost(c, p, 1000.0) == pytest.approx(expect, rel=1e-6)


def test_eight_neighbours_match_mcp_geometric() -> None:
    rng = np.random.default_rng(3)
    c = rng.uniform(0.5, 3.0, (30, 30))
    mcp = MCP_Geometric(c, sampling=(1000.0, 1000.0))
    cum, _ = mcp.find_costs([(2, 3)], [(27, 21)])
    p = lattice_path(c, (2, 3), (27, 21), 1000.0, neighbours=8)
    assert lattice_cost(c, p, 1000.0) == pytest.approx(cum[27, 21] / 1000.0, rel=1e-6)


def test_long_move_pays_for_the_cells_it_crosses() -> None:
    c = np.ones((20, 20))
    c[:, 10] = 1000.0  # a one-cell wall a knight move would otherwise jump over
    p = lattice_path(c, (10, 0), (10, 19), 1000.0, neighbours=32)
    # the optimum crosses the wall straight: 1 km inside it at 1000 and 18 km at 1
    assert lattice_cost(c, p, 1000.0) == pytest.approx(1018.0, rel=1e-9)
    c[:, 10] = np.inf
    assert lattice_path(c, (10, 0), (10, 19), 1000.0, neighbours=32) is None


@pytest.mark.parametrize("n", [16, 32])
def test_window_solve_is_the_whole_grid_optimum(n: int) -> None:
    rng = np.random.default_rng(7)
    c = rng.uniform(1.0, 4.0, (120, 120))
    c[30:90, 60] = np.inf
    a = lattice_path(c, (60, 40), (62, 80), 1000.0, neighbours=n, margin_cells=2,
                     margin_share=0.0)
    b = lattice_path(c, (60, 40), (62, 80), 1000.0, neighbours=n, margin_cells=500)
    assert lattice_cost(c, a, 1000.0) == pytest.approx(lattice_cost(c, b, 1000.0))


def test_lattice_route_never_costs_more_than_the_grid_route(surface) -> None:
    """The 16-neighbour lattice holds every king move at the grid's cost, so its optimum
    on a real surface costs no more than the 8-connected one (Beyneu to Shymkent)."""
    from planner.routing import least_cost_route

    grid = least_cost_route(surface, (55.3, 45.1), (69.6, 42.3), method="full")
    lattice = least_cost_route(surface, (55.3, 45.1), (69.6, 42.3), neighbours=16)
    assert lattice["cost"].iloc[0] <= grid["cost"].iloc[0] + 1e-6
    assert lattice["countries"].iloc[0] == grid["countries"].iloc[0] == "KAZ"
    with pytest.raises(ValueError, match="8, 16, 32"):
        least_cost_route(surface, (55.3, 45.1), (69.6, 42.3), neighbours=12)


def test_zero_cost_cells_are_passable_not_barriers() -> None:
    """A free cell (cost 0) is an explicit zero-weight edge, which scipy's csgraph keeps
    as an edge of a sparse graph: the path uses it and costs nothing there."""
    c = np.full((12, 12), np.inf)
    c[6, :] = 0.0  # a free row through a wall of barriers
    for n in (8, 16, 32):
        p = lattice_path(c, (6, 0), (6, 11), 1000.0, neighbours=n)
        assert p is not None and lattice_cost(c, p, 1000.0) == 0.0
    c[6, 3:] = 1.0  # free then paid: pays only its 8.5 paid cells' length
    p = lattice_path(c, (6, 0), (6, 11), 1000.0, neighbours=16)
    assert lattice_cost(c, p, 1000.0) == pytest.approx(8.5)


def test_lattice_refuses_grid_only_options_and_counts_crossed_countries(surface) -> None:
    from planner.routing import least_cost_route

    for bad in ({"method": "refined"}, {"coarse_factor": 4}, {"corridor_km": 20.0},
                {"straighten": True}):
        with pytest.raises(ValueError, match="only apply to the 8-neighbour grid"):
            least_cost_route(surface, (55.3, 45.1), (69.6, 42.3), neighbours=16, **bad)
    # Beyneu to Tashkent crosses KAZ into UZB: the km by country, counted over the cells
    # each long move crosses, add up to the route's length
    r = least_cost_route(surface, (55.3, 45.1), (69.3, 41.3), neighbours=16).iloc[0]
    km = r["km_by_country"]  # rounded to the metre per country
    assert sum(km.values()) == pytest.approx(r["length_km"], abs=1e-3 * len(km))
    assert r["countries"].split(", ")[0] == "KAZ" and r["countries"].endswith("UZB")
