"""Least-cost cell paths on a 16- or 32-neighbour lattice (near any-angle routing).

The 8-connected grid of :mod:`planner.routing` (``MCP_Geometric``) measures a straight
line at 22.5° as 8 % longer than it is, and every staircase between two cells with the
same number of straight and diagonal steps costs the same: over even ground a route can
wander tens of kilometres off the straight line at no cost, and on a surface where the
straight line is the cheapest way it cannot be represented (Nash & Koenig, "Any-angle
path planning", AI Magazine 34(4), 2013, on paths of 8-neighbour grids). Adding knight
moves (16 neighbours) or also (1, 3) and (2, 3) moves (32 neighbours) shrinks both: a
straight line between two moves ``a`` degrees apart is at most ``1 / cos(a / 2)`` times
longer on the lattice, 8.2 % for 8 neighbours (45°), 2.7 % for 16 (26.6°) and 1.3 % for
32 (18.4°).

Every move costs its length times the mean cost of the cells its segment passes
through, weighted by the length inside each (so a long move cannot jump over a
one-cell border or river: it pays for the cells it crosses); a barrier cell anywhere
on the segment forbids the move. For the 8 king moves this is exactly
``MCP_Geometric``'s cost (length × mean of the two cells). Dijkstra is
:func:`scipy.sparse.csgraph.dijkstra` on the lattice graph, solved in a window around
the two ends and proven optimal on the whole grid with the bound of
:func:`planner.routing.window_paths`.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

#: Neighbourhoods: number of neighbours -> the move offsets (row, col) of one half-plane;
#: the other half are their negatives.
_HALF_MOVES: dict[int, tuple[tuple[int, int], ...]] = {
    8: ((0, 1), (1, 0), (1, 1), (1, -1)),
    16: ((0, 1), (1, 0), (1, 1), (1, -1), (1, 2), (2, 1), (1, -2), (2, -1)),
    32: ((0, 1), (1, 0), (1, 1), (1, -1), (1, 2), (2, 1), (1, -2), (2, -1),
         (1, 3), (3, 1), (1, -3), (3, -1), (2, 3), (3, 2), (2, -3), (3, -2)),
}
#: Neighbourhoods :func:`lattice_path` accepts.
NEIGHBOURS = tuple(sorted(_HALF_MOVES))
#: Samples per move used to share its length among the cells it passes.
_SAMPLES = 3000
#: Memory (bytes) per cell and neighbour of a lattice solve: the edge list (source,
#: target, weight), its concatenation and its compressed copy, with the move's
#: temporaries. Measured peak (tracemalloc, graph build and Dijkstra, 300 x 300 cells,
#: 16 and 32 neighbours): 67–69 bytes.
BYTES_PER_CELL_EDGE = 72


def moves(neighbours: int) -> tuple[tuple[int, int], ...]:
    """All move offsets (row, col) of a neighbourhood of 8, 16 or 32.

    Examples
    --------
    >>> len(moves(16)), (2, -1) in moves(16), (-1, 3) in moves(32)
    (16, True, True)
    """
    if neighbours not in _HALF_MOVES:
        raise ValueError(f"neighbours must be one of {NEIGHBOURS}, got {neighbours!r}")
    half = _HALF_MOVES[neighbours]
    return half + tuple((-r, -c) for r, c in half)


@functools.cache
def move_cells(dr: int, dc: int) -> tuple[np.ndarray, np.ndarray]:
    """Cells (row, col offsets) the segment between the centres of cell (0, 0) and cell
    (``dr``, ``dc``) passes through, and the share (0–1) of its length in each.

    Examples
    --------
    >>> cells, share = move_cells(1, 2)
    >>> cells.tolist(), np.round(share, 3).tolist()
    ([[0, 0], [0, 1], [1, 1], [1, 2]], [0.25, 0.25, 0.25, 0.25])
    >>> move_cells(0, 1)[1].tolist()
    [0.5, 0.5]
    """
    t = (np.arange(_SAMPLES) + 0.5) / _SAMPLES
    pts = np.floor(np.column_stack([t * dr, t * dc]) + 0.5).astype(np.int64)
    cells, counts = np.unique(pts, axis=0, return_counts=True)
    order = np.argsort(np.abs(cells).sum(axis=1), kind="stable")
    return cells[order], counts[order] / _SAMPLES


def lattice_graph(cost: np.ndarray, res: float, neighbours: int = 16) -> csr_matrix:
    """The lattice graph of a cost raster.

    Parameters
    ----------
    cost
        Cost per metre of each cell (2-D, in units of flat open land); ``inf`` or NaN
        marks a barrier. Zero is a free cell, not a barrier: its moves are kept as
        explicit zero-weight entries, which :mod:`scipy.sparse.csgraph` treats as edges
        of a sparse graph.
    res
        Cell size (m).
    neighbours
        8, 16 or 32 (:data:`NEIGHBOURS`).

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(h × w, h × w)``, one node per cell (row-major), one directed edge per move
        whose cells are all passable, weighted by the move's length (m) × the
        length-weighted mean cost of the cells it passes (m-eq).

    Examples
    --------
    >>> g = lattice_graph(np.array([[1.0, 0.0], [np.inf, 1.0]]), 1.0, neighbours=8)
    >>> g.nnz, float(g[0, 1]), float(g[1, 3])  # free cell 1 reached at half a cell's cost
    (6, 0.5, 0.5)
    """
    from scipy.sparse import csr_matrix

    h, w = cost.shape
    c = np.asarray(cost, dtype=np.float64)
    idx = np.arange(h * w).reshape(h, w)
    src, dst, wt = [], [], []
    for dr, dc in moves(neighbours):
        cells, share = move_cells(dr, dc)
        r0, r1 = max(0, -dr), h - max(0, dr)
        c0, c1 = max(0, -dc), w - max(0, dc)
        if r1 <= r0 or c1 <= c0:
            continue
        acc = np.zeros((r1 - r0, c1 - c0))
        for (ar, ac), f in zip(cells, share, strict=True):
            acc += f * c[r0 + ar:r1 + ar, c0 + ac:c1 + ac]
        acc *= math.hypot(dr, dc) * res
        ok = np.isfinite(acc)  # zero-cost moves stay (explicit zeros are edges)
        src.append(idx[r0:r1, c0:c1][ok])
        dst.append(idx[r0 + dr:r1 + dr, c0 + dc:c1 + dc][ok])
        wt.append(acc[ok])
    return csr_matrix((np.concatenate(wt), (np.concatenate(src), np.concatenate(dst))),
                      shape=(h * w, h * w))


def _band(r0: int, r1: int, c0: int, c1: int, h: int, w: int, width: int) -> np.ndarray:
    """Cells of the grid outside the window [r0, r1) x [c0, c1) within ``width`` of it
    (every path leaving the window lands on one: no move is longer than ``width``)."""
    rr, cc = np.mgrid[max(r0 - width, 0):min(r1 + width, h), max(c0 - width, 0):min(c1 + width, w)]
    out = (rr < r0) | (rr >= r1) | (cc < c0) | (cc >= c1)
    return np.column_stack([rr[out], cc[out]])


def lattice_path(cost: np.ndarray, start: tuple[int, int], end: tuple[int, int],
                 res: float, *, neighbours: int = 16, min_cost: float | None = None,
                 margin_cells: int = 40, margin_share: float = 0.5) -> np.ndarray | None:
    """The least-cost cell path from ``start`` to ``end`` on the ``neighbours`` lattice.

    Parameters
    ----------
    cost
        Cost per metre of each cell (2-D); ``inf`` or NaN is a barrier.
    start, end
        (row, col) cells.
    res
        Cell size (m).
    neighbours
        8, 16 or 32 (:data:`NEIGHBOURS`).
    min_cost
        A lower bound of every passable cell's cost (default ``cost``'s minimum), for the
        window's optimality bound; 0 or unknown solves the whole grid.
    margin_cells, margin_share
        The first window's margin around the two ends.

    Returns
    -------
    numpy.ndarray or None
        ``(n, 2)`` int64 rows of (row, col), from ``start`` to ``end``, one per lattice
        vertex (a move may cross cells between two vertices: :func:`move_cells`); None
        when no path exists.

    Solved in a window around the ends (margin ``max(margin_cells, margin_share × span)``
    cells), doubled until no path leaving the window can be cheaper (a path that leaves
    lands on a cell of the band just outside, so it costs at least ``min_cost`` × its
    straight distance through that cell), so the path is optimal on the whole grid.
    A window too large for memory raises
    :class:`~planner.costsurface.ResolutionTooFineError` before it is allocated.

    Examples
    --------
    >>> c = np.ones((50, 50))
    >>> p = lattice_path(c, (0, 0), (10, 20), 1.0)
    >>> p[0].tolist(), p[-1].tolist(), len(p)  # ten knight moves
    ([0, 0], [10, 20], 11)
    >>> c[:, 25] = np.inf
    >>> lattice_path(c, (0, 0), (0, 40), 1.0) is None
    True
    """
    from scipy.sparse.csgraph import dijkstra

    from planner.costsurface import check_memory

    h, w = cost.shape
    cmin = float(np.min(cost)) if min_cost is None else float(min_cost)
    reach = max(max(abs(r), abs(c)) for r, c in moves(neighbours))
    span = max(abs(start[0] - end[0]), abs(start[1] - end[1]))
    margin = max(margin_cells, int(margin_share * span))
    while True:
        r0 = max(0, min(start[0], end[0]) - margin)
        r1 = min(h, max(start[0], end[0]) + margin + 1)
        c0 = max(0, min(start[1], end[1]) - margin)
        c1 = min(w, max(start[1], end[1]) + margin + 1)
        whole = (r0, c0, r1, c1) == (0, 0, h, w) or not (np.isfinite(cmin) and cmin > 0)
        if whole:
            r0, c0, r1, c1 = 0, 0, h, w
        sub = cost[r0:r1, c0:c1]
        check_memory(sub.shape, res, bytes_per_cell=BYTES_PER_CELL_EDGE * neighbours,
                     what=f"{neighbours}-neighbour lattice route solve")
        ww = c1 - c0
        s = (start[0] - r0) * ww + (start[1] - c0)
        e = (end[0] - r0) * ww + (end[1] - c0)
        dist, pred = dijkstra(lattice_graph(sub, res, neighbours), directed=True, indices=s,
                              return_predecessors=True)
        v = float(dist[e])
        if not whole:
            band = _band(r0, r1, c0, c1, h, w, reach)
            bound = cmin * res * float(np.min(
                np.hypot(band[:, 0] - start[0], band[:, 1] - start[1])
                + np.hypot(band[:, 0] - end[0], band[:, 1] - end[1]))) if len(band) else np.inf
        if whole or v <= bound:
            if not np.isfinite(v):
                return None
            nodes = [e]
            while nodes[-1] != s:
                nodes.append(int(pred[nodes[-1]]))
            flat = np.asarray(nodes[::-1])
            return np.column_stack([flat // ww + r0, flat % ww + c0]).astype(np.int64)
        margin *= 2


def lattice_cost(cost: np.ndarray, path: np.ndarray, res: float) -> float:
    """Cost (km-eq) of a lattice path: each move's length × the length-weighted mean cost
    of the cells it passes (for king moves, :func:`planner.routing.path_cost`'s metric).

    Examples
    --------
    >>> lattice_cost(np.ones((5, 5)), np.array([[0, 0], [1, 2], [2, 4]]), 1000.0)
    4.472136
    """
    total = 0.0
    for a, b in itertools.pairwise(path):
        dr, dc = int(b[0] - a[0]), int(b[1] - a[1])
        cells, share = move_cells(dr, dc)
        v = cost[a[0] + cells[:, 0], a[1] + cells[:, 1]].astype(np.float64)
        total += math.hypot(dr, dc) * res * float(np.sum(share * v))
    return round(total / 1000.0, 6)


__all__ = ["NEIGHBOURS", "lattice_cost", "lattice_graph", "lattice_path", "move_cells",
           "moves"]
