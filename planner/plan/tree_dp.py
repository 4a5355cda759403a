"""Tree plans by dynamic programming over subsets of destinations (Dreyfus–Wagner).

In a plan whose used arcs form a tree rooted at the supply (an arborescence: gas reaches
every node by one arc), the flow on an arc is the demand of the destinations below it,
``D(S) = Σ_{t∈S} demand[t]``. So each arc's cost at that flow is known exactly, standard
diameters included, and the cheapest tree is a Steiner-tree dynamic programme over the
``2^T`` subsets of the ``T`` destinations (Dreyfus and Wagner 1971, "The Steiner problem in
graphs", *Networks* 1(3); with flow-dependent arc costs as in Erickson, Monma and Veinott
1987, "Send-and-split method for minimum-concave-cost network flows", *Mathematics of
Operations Research* 12(4))::

    F(S, v) = min_u [ dist_{D(S)}(v, u) + G(S, u) ]
    G(S, u) = min_{∅≠S'⊂S} F(S', u) + F(S∖S', u);   G({t}, t) = 0

``F(S, v)``: the cheapest tree that takes ``D(S)`` into ``v`` and delivers it to ``S``;
``dist_q``: shortest paths with every arc costed at flow ``q``. One Dijkstra per subset
(:func:`scipy.sparse.csgraph.dijkstra`, from a virtual node joined to every ``u`` at
``G(S, u)``) and ``3^T`` merges: well under a second for the default study's 7 destinations.

Two uses for the plan:

- **Tree plans** (:func:`tree_plan`): arc costs are the plan's own (new arc: the
  cheapest standard diameter that carries the flow, its fixed charge plus compression and
  fuel per unit of flow; existing arc: the tariff, unusable above its spare capacity that
  way). The DP's trees give new arcs to build; the MILP restricted to them chooses
  diameters and flows under every option of the study (capacities, budget, must-use). On
  the default study they cost more than the build relaxation's first plan, so
  :func:`planner.plan.optimise.solve_plan` does not use them;
  ``benchmarks/plan_long_solve.py --tree-plan`` measures them.
- **A lower bound** (:func:`concave_bound`, counted in the plan's gap by
  :func:`planner.plan.optimise.solve_plan` only with ``tree_bound=True``: on the shipped
  studies it is far below the build relaxation's). See its docstring for the argument: with each
  new arc's cost replaced by a concave minorant of its step cost and the existing arcs'
  capacities moved into the objective with Lagrange multipliers, the relaxation is an
  uncapacitated single-source minimum-concave-cost flow, whose optimum is a tree (Zangwill
  1968, "Minimum concave cost flows in certain networks", *Management Science* 14(7)), so
  the DP solves it exactly and every multiplier vector gives a valid bound of the MILP.

Examples
--------
A shared trunk: supply 0, destinations 2 and 3 beyond a junction 1. Arcs cost a fixed
charge of 10 plus 1 per unit of flow; a direct arc 0 → 3 costs 12 + 1 per unit.

>>> import numpy as np
>>> tail, head = np.array([0, 1, 1, 0]), np.array([1, 2, 3, 3])
>>> fixed, per_unit = np.array([10.0, 10, 10, 12]), np.array([1.0, 1, 1, 1])
>>> def cost(q):
...     return fixed + per_unit * q
>>> tree = subset_tree_dp(4, tail, head, cost, root=0, terminals=[2, 3], demand=[1.0, 1.0])
>>> tree.value, tree.arc_flow.tolist()
(34.0, [2.0, 1.0, 1.0, 0.0])
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

#: The DP is skipped above this many destinations (3^T merges per node).
MAX_TERMINALS = 12


@dataclass
class SubsetTree:
    """The DP's optimum.

    Attributes
    ----------
    value : float
        ``F(all destinations, root)``: the cheapest tree's cost (inf: none).
    arc_flow : numpy.ndarray
        Flow the tree sends on every arc (sum over the DP's paths; on an arc two
        branches share, both flows).
    """

    value: float
    arc_flow: np.ndarray


def subset_tree_dp(n_nodes: int, tail: np.ndarray, head: np.ndarray,
                   arc_cost: Callable[[float], np.ndarray], root: int,
                   terminals: Sequence[int], demand: Sequence[float]) -> SubsetTree:
    """The cheapest arborescence from ``root`` to ``terminals`` with flow-dependent costs.

    Parameters
    ----------
    n_nodes
        Nodes are ``0 … n_nodes - 1``.
    tail, head
        Directed arcs.
    arc_cost
        ``arc_cost(q)``: every arc's cost when it carries ``q`` (``inf``: not allowed at
        that flow); called once per subset of terminals, with ``q`` its demand. Costs must
        be ≥ 0.
    root
        Where the gas enters (a super source joined to the supply points, for several).
    terminals, demand
        Destination nodes and their demands (> 0).

    Returns
    -------
    SubsetTree
        Exact among trees. For costs concave and nondecreasing in the flow with
        ``cost(0) = 0`` (subadditive) it is the minimum-cost flow too: a DP solution whose
        paths share an arc costs at least what its summed flow costs.

    Examples
    --------
    One destination: a shortest path.

    >>> import numpy as np
    >>> t = subset_tree_dp(3, np.array([0, 1, 0]), np.array([1, 2, 2]),
    ...                    lambda q: np.array([1.0, 1.0, 3.0]) * q, 0, [2], [2.0])
    >>> t.value, t.arc_flow.tolist()
    (4.0, [2.0, 2.0, 0.0])
    """
    tail = np.asarray(tail, dtype=np.int64)
    head = np.asarray(head, dtype=np.int64)
    n_t = len(terminals)
    if n_t == 0:
        return SubsetTree(0.0, np.zeros(len(tail)))
    full = (1 << n_t) - 1
    dem = np.asarray(demand, dtype=float)
    d_sub = np.zeros(full + 1)
    for m in range(1, full + 1):
        low = (m & -m).bit_length() - 1
        d_sub[m] = d_sub[m & (m - 1)] + dem[low]
    z = n_nodes  # the virtual node of each subset's Dijkstra
    # arcs between the same pair of nodes: only the cheapest counts
    order = np.lexsort((tail, head))
    pair = head[order] * (n_nodes + 1) + tail[order]
    starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    inf = np.inf
    f_val = np.full((full + 1, n_nodes), inf)
    pred = np.full((full + 1, n_nodes + 1), -9999, dtype=np.int64)
    split = np.full((full + 1, n_nodes), -1, dtype=np.int64)
    best_arc: dict[int, np.ndarray] = {}
    for m in range(1, full + 1):
        g = np.full(n_nodes, inf)
        if m & (m - 1) == 0:
            g[terminals[m.bit_length() - 1]] = 0.0
        else:
            sub = (m - 1) & m
            while sub:
                rest = m ^ sub
                if sub < rest:
                    cand = f_val[sub] + f_val[rest]
                    better = cand < g
                    g[better] = cand[better]
                    split[m, better] = sub
                sub = (sub - 1) & m
        cost = np.asarray(arc_cost(float(d_sub[m])), dtype=float)[order]
        group_min = np.minimum.reduceat(cost, starts)
        # index (into ``order``) of the cheapest arc of each pair
        is_min = cost == np.repeat(group_min, np.diff(np.r_[starts, len(cost)]))
        first = np.maximum.reduceat(np.where(is_min, np.arange(len(cost)), -1), starts)
        ok = np.isfinite(group_min)
        best_arc[m] = order[first]
        src = np.r_[np.full(int(np.isfinite(g).sum()), z), head[order][starts][ok]]
        dst = np.r_[np.flatnonzero(np.isfinite(g)), tail[order][starts][ok]]
        w = np.r_[g[np.isfinite(g)], group_min[ok]]
        graph = sp.csr_matrix((w, (src, dst)), shape=(n_nodes + 1, n_nodes + 1))
        dist, pr = dijkstra(graph, directed=True, indices=z, return_predecessors=True)
        f_val[m] = dist[:n_nodes]
        pred[m] = pr
    value = float(f_val[full, root])
    flow = np.zeros(len(tail))
    if not np.isfinite(value):
        return SubsetTree(inf, flow)
    # the arc of each (tail, head) pair that was cheapest at a subset's flow
    pair_of = {(int(tail[i]), int(head[i])): k for k, i in
               enumerate(order[starts])}
    stack = [(full, root)]
    while stack:
        m, v = stack.pop()
        x = v
        while pred[m, x] != z:
            w_ = int(pred[m, x])
            flow[best_arc[m][pair_of[(x, w_)]]] += d_sub[m]
            x = w_
        if m & (m - 1):
            s = int(split[m, x])
            stack += [(s, x), (m ^ s, x)]
    return SubsetTree(value, flow)


# --- the plan's arcs --------------------------------------------------------------------


@dataclass
class PlanArcs:
    """The plan's model as the DP sees it (node indices of :func:`solve_plan`'s model).

    Attributes
    ----------
    n_nodes : int
    ex_u, ex_v : numpy.ndarray
        Existing arcs' ends.
    ex_cost_uv, ex_cost_vu : numpy.ndarray
        Tariff per unit of flow each way (M USD/y per bcm/y).
    ex_cap_uv, ex_cap_vu : numpy.ndarray
        Spare capacity each way (bcm/y; 0: the line may not carry gas that way).
    nw_u, nw_v : numpy.ndarray
        New arcs' ends.
    fixed, per_flow : numpy.ndarray
        New arcs × diameters: annual fixed charge (M USD/y) and cost per unit of flow.
    capacity : numpy.ndarray
        Per diameter, bcm/y (at most the total demand).
    supplies, destinations : list of int
    demand : list of float
        Per destination, bcm/y.
    """

    n_nodes: int
    ex_u: np.ndarray
    ex_v: np.ndarray
    ex_cost_uv: np.ndarray
    ex_cost_vu: np.ndarray
    ex_cap_uv: np.ndarray
    ex_cap_vu: np.ndarray
    nw_u: np.ndarray
    nw_v: np.ndarray
    fixed: np.ndarray
    per_flow: np.ndarray
    capacity: np.ndarray
    supplies: list[int]
    destinations: list[int]
    demand: list[float]

    @property
    def total_demand(self) -> float:
        return float(sum(self.demand))

    def directed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Directed arcs of the DP: ``tail``, ``head``, ``kind`` (0 existing u→v, 1
        existing v→u, 2 new u→v, 3 new v→u, 4 super source → supply) and the index in
        its table. Existing directions of no capacity are left out (the MILP's bound 0);
        the super source is node ``n_nodes``."""
        ne, nn = len(self.ex_u), len(self.nw_u)
        e = np.arange(ne)
        fwd, back = e[self.ex_cap_uv > 0], e[self.ex_cap_vu > 0]
        w = np.arange(nn)
        s = np.asarray(self.supplies, dtype=np.int64)
        tail = np.r_[self.ex_u[fwd], self.ex_v[back], self.nw_u, self.nw_v,
                     np.full(len(s), self.n_nodes)]
        head = np.r_[self.ex_v[fwd], self.ex_u[back], self.nw_v, self.nw_u, s]
        kind = np.r_[np.zeros(len(fwd)), np.ones(len(back)), np.full(nn, 2), np.full(nn, 3),
                     np.full(len(s), 4)].astype(int)
        index = np.r_[fwd, back, w, w, np.arange(len(s))].astype(int)
        return tail.astype(np.int64), head.astype(np.int64), kind, index


def step_cost(fixed: np.ndarray, per_flow: np.ndarray, capacity: np.ndarray,
              q: float) -> np.ndarray:
    """Each new arc's cost carrying ``q``: the cheapest diameter whose capacity is ≥ ``q``
    (inf where none is).

    Examples
    --------
    >>> import numpy as np
    >>> step_cost(np.array([[10.0, 15.0]]), np.array([[1.0, 0.5]]), np.array([2.0, 5.0]),
    ...           3.0).tolist()
    [16.5]
    """
    ok = capacity >= q - 1e-9
    c = np.where(ok[None, :], fixed + per_flow * q, np.inf)
    return np.asarray(c.min(axis=1)) if c.size else np.zeros(len(fixed))


def concave_minorant(fixed: np.ndarray, per_flow: np.ndarray, capacity: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, float]:
    """A concave, nondecreasing minorant of each new arc's step cost.

    The step cost ``g(q)`` (:func:`step_cost`) is piecewise concave between the
    capacities ``c_1 < … < c_K`` (a minimum of affine functions on each interval, jumping
    up after each ``c_k``; infinite above ``c_K``). The piecewise-linear ``p`` through
    ``(0, g(0+))`` and ``(c_k, g(c_k))`` lies below ``g`` on ``(0, c_K]``: on
    ``(c_{k-1}, c_k]`` ``g`` is concave, so above the chord from ``g(c_{k-1}+) ≥
    g(c_{k-1})`` to ``g(c_k)``. The minimum of the lines through consecutive points of
    ``p`` is concave and below ``p`` (at each ``q`` it is at most the line of ``q``'s own
    segment), and equals ``p`` where ``p`` is concave. Capped at its value at ``c_K`` and
    held there above ``c_K`` it is nondecreasing too (a concave function's minimum over
    ``[q, c_K]`` is at an end) and still concave.

    Returns
    -------
    (a, b, c_max)
        New arcs × lines: for ``q > 0``, ``h(q) = min_j a_j + b_j min(q, c_max)``
        (:func:`minorant_at`); ``h(0) = 0`` (the fixed charge is the jump at 0). The
        last column is the flat line at ``h(c_max)``.

    Examples
    --------
    Diameters of capacity 2 and 5 costing 10 and 12 fixed, 1 and 0.5 per unit: points
    (0, 10), (2, 12), (5, 14.5) are concave, so ``h`` is their interpolation.

    >>> import numpy as np
    >>> a, b, c_max = concave_minorant(np.array([[10.0, 12.0]]), np.array([[1.0, 0.5]]),
    ...                                np.array([2.0, 5.0]))
    >>> [round(float(minorant_at(a, b, c_max, q)[0]), 6) for q in (1.0, 2.0, 3.5, 5.0, 9.0)]
    [11.0, 12.0, 13.25, 14.5, 14.5]
    """
    caps = np.unique(np.asarray(capacity, dtype=float))
    xs = np.r_[0.0, caps]
    ys = np.column_stack([step_cost(fixed, per_flow, capacity, 1e-12)]
                         + [step_cost(fixed, per_flow, capacity, c) for c in caps])
    b = np.diff(ys, axis=1) / np.diff(xs)[None, :]
    a = ys[:, :-1] - b * xs[None, :-1]
    top = np.min(a + b * xs[-1], axis=1)
    return (np.column_stack([a, top]), np.column_stack([b, np.zeros(len(b))]),
            float(xs[-1]))


def minorant_at(a: np.ndarray, b: np.ndarray, c_max: float, q: float) -> np.ndarray:
    """:func:`concave_minorant`'s ``h`` of every new arc at flow ``q > 0``."""
    if not len(a):
        return np.zeros(0)
    return np.asarray(np.min(a + b * min(q, c_max), axis=1))


@dataclass
class TreePlanResult:
    """The DP's trees with the plan's own costs.

    Attributes
    ----------
    value : float
        The first tree within every existing arc's capacity: its cost (M USD/y; inf:
        none found).
    built : numpy.ndarray
        Per new arc: whether any of the DP's trees builds it (the neighbourhood the MILP
        restricted to it searches).
    trees : int
        DP runs.
    seconds : float
    """

    value: float
    built: np.ndarray
    trees: int
    seconds: float


def tree_plan(arcs: PlanArcs, *, max_trees: int = 40) -> TreePlanResult:
    """Tree plans with the plan's own arc costs (measured as a first plan; not used by the solve).

    New arcs cost their cheapest standard diameter at the flow (:func:`step_cost`);
    existing arcs their tariff, and cannot carry more than their spare capacity that way.
    Paths of the DP that share an existing arc can together exceed its capacity, so the
    existing arcs so overloaded get a price per unit of flow, raised by the overload, and
    the DP runs again, until a tree respects every capacity (or ``max_trees``). The new
    arcs of all those trees are where the MILP restricted to them searches (diameters and
    flows under every option of the study).

    Examples
    --------
    >>> import numpy as np
    >>> arcs = PlanArcs(3, np.array([0]), np.array([1]), np.array([1.0]), np.array([1.0]),
    ...                 np.array([1.0]), np.array([0.0]), np.array([0, 1]), np.array([2, 2]),
    ...                 np.array([[5.0], [20.0]]), np.array([[1.0], [1.0]]), np.array([3.0]),
    ...                 [0], [1, 2], [1.0, 2.0])
    >>> t = tree_plan(arcs)
    >>> t.value, t.built.tolist()  # 0 → 1 on the existing arc, 0 → 2 new: 1 + (5 + 2)
    (8.0, [True, False])
    """
    t0 = time.perf_counter()
    tail, head, kind, index = arcs.directed()
    q_cap = _per_direction(kind, index, arcs.ex_cap_uv, arcs.ex_cap_vu)
    ex_cost = _per_direction(kind, index, arcs.ex_cost_uv, arcs.ex_cost_vu)
    ex = kind <= 1
    price = np.zeros(len(kind))
    nwf, nwb = kind == 2, kind == 3

    def cost(q: float) -> np.ndarray:
        c = np.zeros(len(kind))
        c[ex] = np.where(q <= q_cap[ex] + 1e-9, (ex_cost[ex] + price[ex]) * q, np.inf)
        nw = step_cost(arcs.fixed, arcs.per_flow, arcs.capacity, q)
        c[nwf] = nw[index[nwf]]
        c[nwb] = nw[index[nwb]]
        return c

    built = np.zeros(len(arcs.nw_u), dtype=bool)
    value, n = np.inf, 0
    while n < max_trees:
        tree = subset_tree_dp(arcs.n_nodes + 1, tail, head, cost, arcs.n_nodes,
                              arcs.destinations, arcs.demand)
        n += 1
        if not np.isfinite(tree.value):
            break
        built[index[(tree.arc_flow > 0) & (nwf | nwb)]] = True
        over = np.where(ex, tree.arc_flow - q_cap, 0.0)
        if over.max() <= 1e-6:
            value = tree.value - float(price[ex] @ tree.arc_flow[ex])
            break
        # an overloaded line's price rises with its overload as a share of the demand, in
        # units of the tree's average cost per unit of demand (scale-free; not tuned)
        hot = over > 1e-6
        d = arcs.total_demand
        price[hot] += tree.value / d * over[hot] / d
    return TreePlanResult(value, built, n, time.perf_counter() - t0)


def _per_direction(kind: np.ndarray, index: np.ndarray, uv: np.ndarray, vu: np.ndarray
                   ) -> np.ndarray:
    """An existing arcs' figure (``uv``/``vu`` per arc) on the DP's directed arcs (0 on
    the others)."""
    out = np.zeros(len(kind))
    out[kind == 0] = uv[index[kind == 0]]
    out[kind == 1] = vu[index[kind == 1]]
    return out


@dataclass
class BoundResult:
    """A lower bound of the plan from the concave tree relaxation.

    Attributes
    ----------
    bound : float
        The best Lagrangian value found (M USD/y): a valid lower bound of the MILP (-inf
        when a destination cannot be reached at all).
    first : float
        Its value with no multipliers (existing capacities dropped).
    iterations : int
    seconds : float
    """

    bound: float
    first: float
    iterations: int
    seconds: float


def concave_bound(arcs: PlanArcs, *, upper: float | None = None, iterations: int = 30,
                  time_limit_s: float = 10.0) -> BoundResult:
    """A lower bound of the plan's MILP: the concave tree relaxation, exactly, with
    Lagrange multipliers on the existing arcs' capacities.

    Why it is a bound. Take any plan the MILP accepts. Where an arc carries gas both
    ways, cancelling the smaller flow keeps every balance and does not raise the cost
    (the costs are nondecreasing in the flow), so let each arc carry its net flow one
    way. A new arc's cost at flow ``q`` is at least its step cost ``g(q)``
    (:func:`step_cost`; ``q`` ≤ the largest capacity, itself at most the total demand),
    hence at least ``h(q)`` (:func:`concave_minorant`). An existing arc's cost is its
    tariff times the flow; with ``λ ≥ 0`` per direction and flow ``x ≤`` capacity ``C``,
    adding ``λ (x - C) ≤ 0`` lowers it. So the plan's cost is at least

        Σ_new h(q_e) + Σ_existing (tariff + λ) x_a - Σ λ C

    of its flow, which is a flow from the supply points (free and unlimited: a super
    source with arcs of cost 0) to the destinations with no capacities left. The budget
    of new km, must-use systems and the two-paths rule are constraints dropped. The
    minimum of that over all such flows is therefore ≤ the MILP's optimum. Its arc costs
    are concave and nondecreasing in the flow with cost 0 at 0, so (Zangwill 1968; a
    flow is a convex combination of the flow polyhedron's vertices plus a nonnegative
    circulation, which only adds cost) a vertex is optimal, and the vertices of a
    single-source uncapacitated flow are arborescences, on which arc flows are subset
    demands ``D(S)``. :func:`subset_tree_dp` finds the cheapest arborescence and (costs
    subadditive) nothing it returns costs less than its flow, so it solves the relaxation
    exactly: each ``λ`` gives a valid bound. The directions the MILP closes (capacity 0)
    stay closed.

    The multipliers follow a subgradient method (Polyak steps towards ``upper``, the
    best known plan, when given): ``λ ← max(0, λ + step (x(λ) - C))``.

    Parameters
    ----------
    arcs
        :class:`PlanArcs`.
    upper
        A known plan's cost (for the step length; default: twice the first bound).
    iterations, time_limit_s
        Stop after either.

    Examples
    --------
    One destination (demand 2) behind an existing arc of spare capacity 1 (tariff 1 per
    unit) and a new arc (fixed 5, 1 per unit). The MILP must build the new arc: 5 + 2 =
    7, or 5 + 1 + 1 = 7 with the existing line full. Without multipliers the bound is 2.

    >>> import numpy as np
    >>> arcs = PlanArcs(2, np.array([0]), np.array([1]), np.array([1.0]), np.array([1.0]),
    ...                 np.array([1.0]), np.array([0.0]), np.array([0]), np.array([1]),
    ...                 np.array([[5.0]]), np.array([[1.0]]), np.array([2.0]),
    ...                 [0], [1], [2.0])
    >>> b = concave_bound(arcs, upper=7.0, iterations=200)
    >>> b.first, round(b.bound, 2) <= 7.0, b.bound > 4.0
    (2.0, True, True)
    """
    t0 = time.perf_counter()
    tail, head, kind, index = arcs.directed()
    a, b, c_max = concave_minorant(arcs.fixed, arcs.per_flow, arcs.capacity)
    ex = kind <= 1
    ex_cost = _per_direction(kind, index, arcs.ex_cost_uv, arcs.ex_cost_vu)
    cap = _per_direction(kind, index, arcs.ex_cap_uv, arcs.ex_cap_vu)
    lam = np.zeros(len(kind))
    nwf, nwb = kind == 2, kind == 3

    def cost(q: float) -> np.ndarray:
        c = np.zeros(len(kind))
        c[ex] = (ex_cost[ex] + lam[ex]) * q
        h = minorant_at(a, b, c_max, q)
        c[nwf] = h[index[nwf]]
        c[nwb] = h[index[nwb]]
        return c

    best, first, it = -np.inf, -np.inf, 0
    theta = 1.0
    stall = 0
    while it < iterations and time.perf_counter() - t0 < time_limit_s:
        tree = subset_tree_dp(arcs.n_nodes + 1, tail, head, cost, arcs.n_nodes,
                              arcs.destinations, arcs.demand)
        if not np.isfinite(tree.value):
            break  # a destination out of reach: no bound claimed (the MILP says infeasible)
        value = tree.value - float(np.sum(lam[ex] * cap[ex]))
        if it == 0:
            first = value
        it += 1
        if value > best + 1e-9:
            best, stall = value, 0
        else:
            stall += 1
            if stall >= 3:
                theta, stall = theta / 2, 0
        sub = np.where(ex, tree.arc_flow - cap, 0.0)
        # a multiplier at 0 with the flow below capacity stays there
        sub = np.where((lam <= 0) & (sub < 0), 0.0, sub)
        norm = float(sub @ sub)
        if norm <= 1e-12:
            break  # the relaxed tree respects every capacity: optimal multipliers
        target = upper if upper is not None else 2 * max(best, 1e-9)
        step = theta * max(target - value, 1e-6 * max(abs(value), 1.0)) / norm
        lam = np.maximum(0.0, lam + step * sub)
    return BoundResult(best, first, it, time.perf_counter() - t0)


__all__ = ["BoundResult", "PlanArcs", "SubsetTree", "TreePlanResult", "concave_bound",
           "concave_minorant", "minorant_at", "step_cost", "subset_tree_dp", "tree_plan"]
