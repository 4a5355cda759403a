"""Cut-set inequalities for the plan's MILP, separated on its LP relaxation.

Across any cut ``(S, V \\ S)`` with every supply point in ``S``, the demand ``R`` of the
destinations outside ``S`` must cross it: the existing arcs carry at most ``E`` (their
capacity out of ``S``), the new arcs the rest. When ``R > E`` some new pipe must be built
across the cut; with binary diameters ``y[e,k]`` (capacity ``cap_k``)::

    Σ_{new e across the cut} Σ_k min(1, cap_k / (R − E)) · y[e,k]  ≥  1

(the residual-capacity cut-set inequality of capacitated network design: Barahona 1996,
"Network design using cut inequalities", SIAM J. Optim. 6(3); Raack, Koster, Orlowski &
Wessäly 2011, "On cut-based inequalities for capacitated network design polyhedra",
Networks 57(2)). The LP relaxation satisfies it only with ``y`` built in proportion to the
flow, ``(R − E) / cap``: where existing lines carry most of a destination's gas and new
pipe the rest, the LP builds a fraction of that pipe. Such cuts are what the plan's LP
lacks; HiGHS's own cut families (flow covers, MIR on single rows) do not find them.

Separation (:func:`violated_cuts`): for each destination and for all together, a maximum
flow from the supply points over the LP's capacities (existing: spare capacity each way;
new: the capacity the LP built, ``Σ_k min(cap_k, R) y[e,k]``); the source side of its
minimum cut is a candidate ``S``, kept when its inequality is violated.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

#: Capacities are scaled to integers for :func:`scipy.sparse.csgraph.maximum_flow`.
_SCALE = 1e6


def violated_cuts(
    n_nodes: int,
    ex_u: np.ndarray, ex_v: np.ndarray, cap_uv: np.ndarray, cap_vu: np.ndarray,
    nw_u: np.ndarray, nw_v: np.ndarray, kcap: np.ndarray, y: np.ndarray,
    supply: list[int], demand: dict[int, float], *, tol: float = 1e-3,
    max_arcs: int = 40,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cut-set inequalities the LP point ``y`` violates.

    Parameters
    ----------
    n_nodes
        Number of nodes (indices ``0 .. n_nodes - 1``).
    ex_u, ex_v, cap_uv, cap_vu
        Existing arcs: end nodes and capacity from ``u`` to ``v`` and back (bcm/y).
    nw_u, nw_v
        New arcs: end nodes.
    kcap
        Capacity of each diameter (bcm/y).
    y
        LP values of the diameter binaries, shape (new arcs, diameters).
    supply
        Supply nodes.
    demand
        Destination node → demand (bcm/y).

    Returns
    -------
    list of (ndarray, ndarray)
        Per cut: the new arcs across it and the coefficients (arcs × diameters) of
        ``Σ coef · y ≥ 1``.

    Examples
    --------
    A line of spare capacity 3 and a new corridor beside it, 5 to deliver: the LP builds
    0.2 of a 10-capacity pipe; the cut asks for a whole one.

    >>> cuts = violated_cuts(2, np.array([0]), np.array([1]), np.array([3.0]),
    ...                      np.array([0.0]), np.array([0]), np.array([1]),
    ...                      np.array([10.0]), np.array([[0.2]]), [0], {1: 5.0})
    >>> [(a.tolist(), c.tolist()) for a, c in cuts]
    [([0], [[1.0]])]
    """
    nn = len(nw_u)
    if nn == 0 or not demand:
        return []
    src, snk = n_nodes, n_nodes + 1
    total = float(sum(demand.values()))
    targets: list[dict[int, float]] = [{d: q} for d, q in demand.items()]
    if len(demand) > 1:
        targets.append(dict(demand))
    cuts: list[tuple[np.ndarray, np.ndarray]] = []
    seen: set[bytes] = set()
    big = int(total * 10 * _SCALE) + 1
    for target in targets:
        r_t = float(sum(target.values()))
        w_new = (np.minimum(kcap, r_t)[None, :] * y).sum(axis=1)
        tails = np.r_[ex_u, ex_v, nw_u, nw_v, np.full(len(supply), src),
                      np.fromiter(target.keys(), int)]
        heads = np.r_[ex_v, ex_u, nw_v, nw_u, np.asarray(supply, dtype=int),
                      np.full(len(target), snk)]
        caps = np.r_[cap_uv, cap_vu, w_new, w_new, np.full(len(supply), np.inf),
                     np.fromiter(target.values(), float)]
        icap = np.where(np.isfinite(caps), np.round(np.minimum(caps, 10 * total) * _SCALE),
                        big).astype(np.int64)
        keep = (icap > 0) & (tails != heads)
        g = sp.csr_matrix((icap[keep], (tails[keep], heads[keep])),
                          shape=(n_nodes + 2, n_nodes + 2))
        g.sum_duplicates()
        flow = maximum_flow(g, src, snk).flow
        residual = (g - flow).tocsr()
        residual.data = np.where(residual.data > 0, 1, 0)
        residual.eliminate_zeros()
        s_side = np.zeros(n_nodes + 2, dtype=bool)
        s_side[breadth_first_order(residual, src, directed=True,
                                   return_predecessors=False)] = True
        s_side = s_side[:n_nodes]
        r = float(sum(q for d, q in demand.items() if not s_side[d]))
        out_uv = s_side[ex_u] & ~s_side[ex_v]
        out_vu = s_side[ex_v] & ~s_side[ex_u]
        e_cap = float(cap_uv[out_uv].sum() + cap_vu[out_vu].sum())
        if r - e_cap <= tol:
            continue
        across = np.flatnonzero(s_side[nw_u] != s_side[nw_v])
        if len(across) > max_arcs:
            continue
        coef = np.minimum(1.0, kcap / (r - e_cap))[None, :].repeat(len(across), axis=0)
        if float((coef * y[across]).sum()) >= 1.0 - tol:
            continue
        key = across.tobytes()
        if key in seen:
            continue
        seen.add(key)
        cuts.append((across, coef))
    return cuts


__all__ = ["violated_cuts"]
