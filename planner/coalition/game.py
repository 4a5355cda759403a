"""Transferable-utility games: Shapley value, core, least core and nucleolus.

A game is a characteristic function ``v`` given as a mapping from coalitions (frozensets
of player names) to values; missing coalitions are worth 0 and ``v(∅) = 0``.

- :func:`shapley_values`: exact, over all coalitions,
  ``φ_i = Σ_{S ⊆ N∖{i}} |S|! (n − |S| − 1)! / n! · (v(S ∪ {i}) − v(S))``;
- :func:`core_violations` / :func:`in_core`: ``Σ_{i∈S} x_i ≥ v(S)`` for every S and
  ``Σ x_i = v(N)``;
- :func:`least_core`: the smallest ε such that ``Σ_{i∈S} x_i ≥ v(S) − ε`` can hold for every
  proper coalition (an LP, :func:`scipy.optimize.linprog` with HiGHS); the core is empty
  exactly when ε > 0;
- :func:`nucleolus`: the allocation that lexicographically minimises the largest
  excesses (Schmeidler 1969), by the sequence of LPs of Maschler, Peleg & Shapley (1979).
  No well-kept Python library provides it (PyPI has ``pyshapley`` 0.1.0, 2023, Shapley
  only, and a reserved ``nucleolus`` 0.0.1 name), so it is solved here with SciPy's LP.

Examples
--------
The glove game: player L owns a left glove, R1 and R2 a right glove each; a pair is worth 1.

>>> v = {frozenset({"L", "R1"}): 1, frozenset({"L", "R2"}): 1,
...      frozenset({"L", "R1", "R2"}): 1}
>>> phi = shapley_values(["L", "R1", "R2"], v)
>>> [round(x, 4) for x in phi]
[0.6667, 0.1667, 0.1667]
>>> in_core(["L", "R1", "R2"], v, phi)
False
>>> [round(x, 6) for x in nucleolus(["L", "R1", "R2"], v)]
[1.0, 0.0, 0.0]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import linprog

Game = Mapping[frozenset, float]


def coalitions(players: Sequence[Hashable], *, empty: bool = False) -> list[frozenset]:
    """Every coalition of the players, smallest first (``2^n`` with the empty one).

    >>> [sorted(c) for c in coalitions(["a", "b"])]
    [['a'], ['b'], ['a', 'b']]
    """
    out = [frozenset(c) for k in range(0 if empty else 1, len(players) + 1)
           for c in itertools.combinations(players, k)]
    return out


def _v(v: Game, s: frozenset) -> float:
    return float(v.get(s, 0.0)) if s else 0.0


def shapley_values(players: Sequence[Hashable], v: Game) -> pd.Series:
    """Exact Shapley value of every player (sums to ``v(N)``).

    >>> v = {frozenset({"a"}): 1, frozenset({"a", "b"}): 3}
    >>> shapley_values(["a", "b"], v).to_dict()
    {'a': 2.0, 'b': 1.0}
    """
    n = len(players)
    phi = dict.fromkeys(players, 0.0)
    fact = [math.factorial(k) for k in range(n + 1)]
    for i in players:
        others = [p for p in players if p != i]
        for k in range(n):
            w = fact[k] * fact[n - k - 1] / fact[n]
            for c in itertools.combinations(others, k):
                s = frozenset(c)
                phi[i] += w * (_v(v, s | {i}) - _v(v, s))
    return pd.Series(phi, dtype=float)


def core_violations(players: Sequence[Hashable], v: Game, x: Mapping | pd.Series,
                    tol: float = 1e-6) -> pd.DataFrame:
    """Coalitions that get less than they can create alone under allocation ``x``.

    Returns
    -------
    pandas.DataFrame
        ``coalition`` (sorted names joined by "+"), ``value``, ``allocated``, ``shortfall``;
        plus a row ``efficiency`` when ``Σ x ≠ v(N)``.
    """
    x = pd.Series(x, dtype=float)
    rows = []
    grand = frozenset(players)
    for s in coalitions(players):
        got = float(sum(x[p] for p in s))
        if _v(v, s) - got > tol * max(1.0, abs(_v(v, s))):
            rows.append({"coalition": "+".join(sorted(map(str, s))), "value": _v(v, s),
                         "allocated": got, "shortfall": _v(v, s) - got})
    total = float(x.sum())
    if abs(total - _v(v, grand)) > tol * max(1.0, abs(_v(v, grand))):
        rows.append({"coalition": "efficiency", "value": _v(v, grand), "allocated": total,
                     "shortfall": _v(v, grand) - total})
    return pd.DataFrame(rows, columns=["coalition", "value", "allocated", "shortfall"])


def in_core(players: Sequence[Hashable], v: Game, x: Mapping | pd.Series,
            tol: float = 1e-6) -> bool:
    """Whether allocation ``x`` is in the core of the game."""
    return core_violations(players, v, x, tol).empty


def _excess_lp(players: Sequence[Hashable], v: Game, fixed: dict[frozenset, float],
               free: list[frozenset]) -> tuple[float, np.ndarray]:
    """min ε s.t. v(S) − x(S) ≤ ε for S in ``free``, = fixed excess for S in ``fixed``,
    x(N) = v(N)."""
    n = len(players)
    idx = {p: i for i, p in enumerate(players)}
    c = np.zeros(n + 1)
    c[-1] = 1.0
    a_ub, b_ub, a_eq, b_eq = [], [], [], []
    for s in free:
        row = np.zeros(n + 1)
        for p in s:
            row[idx[p]] = -1.0
        row[-1] = -1.0
        a_ub.append(row)
        b_ub.append(-_v(v, s))
    for s, e in fixed.items():
        row = np.zeros(n + 1)
        for p in s:
            row[idx[p]] = 1.0
        a_eq.append(row)
        b_eq.append(_v(v, s) - e)
    row = np.zeros(n + 1)
    row[:n] = 1.0
    a_eq.append(row)
    b_eq.append(_v(v, frozenset(players)))
    res = linprog(c, A_ub=np.array(a_ub) if a_ub else None,
                  b_ub=np.array(b_ub) if b_ub else None, A_eq=np.array(a_eq),
                  b_eq=np.array(b_eq), bounds=[(None, None)] * (n + 1), method="highs")
    if res.status != 0:
        raise RuntimeError(f"excess LP failed: {res.message}")
    return float(res.x[-1]), np.asarray(res.x[:n])


def least_core(players: Sequence[Hashable], v: Game) -> tuple[float, pd.Series]:
    """The least-core ε and an allocation in it; the core is non-empty iff ε ≤ 0.

    >>> v = {frozenset({"a", "b"}): 1, frozenset({"b", "c"}): 1, frozenset({"a", "c"}): 1,
    ...      frozenset({"a", "b", "c"}): 1}
    >>> round(least_core(["a", "b", "c"], v)[0], 6)   # majority game: empty core
    0.333333
    """
    proper = [s for s in coalitions(players) if len(s) < len(players)]
    eps, x = _excess_lp(players, v, {}, proper)
    return eps, pd.Series(x, index=list(players), dtype=float)


def nucleolus(players: Sequence[Hashable], v: Game, tol: float = 1e-9) -> pd.Series:
    """The nucleolus (sequential LPs; each round fixes the coalitions whose excess cannot
    be lowered further).

    >>> v = {frozenset({"a"}): 1, frozenset({"a", "b"}): 3}
    >>> nucleolus(["a", "b"], v).round(6).to_dict()
    {'a': 2.0, 'b': 1.0}
    """
    players = list(players)
    if len(players) == 1:
        return pd.Series({players[0]: _v(v, frozenset(players))}, dtype=float)
    free = [s for s in coalitions(players) if len(s) < len(players)]
    fixed: dict[frozenset, float] = {}
    x = np.zeros(len(players))
    while free:
        eps, x = _excess_lp(players, v, fixed, free)
        # coalitions whose excess is tight at ε in every optimal solution: test each
        still = []
        for s in free:
            others = [t for t in free if t != s]
            trial = dict(fixed)
            # can s's excess go below ε while the others stay ≤ ε?
            n = len(players)
            idx = {p: i for i, p in enumerate(players)}
            c = np.zeros(n)
            for p in s:
                c[idx[p]] = -1.0  # maximise x(S) ⇔ minimise excess of S
            a_ub = []
            b_ub = []
            for t in others:
                row = np.zeros(n)
                for p in t:
                    row[idx[p]] = -1.0
                a_ub.append(row)
                b_ub.append(eps - _v(v, t))
            a_eq, b_eq = [], []
            for t, e in trial.items():
                row = np.zeros(n)
                for p in t:
                    row[idx[p]] = 1.0
                a_eq.append(row)
                b_eq.append(_v(v, t) - e)
            a_eq.append(np.ones(n))
            b_eq.append(_v(v, frozenset(players)))
            res = linprog(c, A_ub=np.array(a_ub) if a_ub else None,
                          b_ub=np.array(b_ub) if b_ub else None, A_eq=np.array(a_eq),
                          b_eq=np.array(b_eq), bounds=[(None, None)] * n, method="highs")
            best_excess = _v(v, s) + float(res.fun) if res.status == 0 else eps
            if best_excess >= eps - tol:
                fixed[s] = eps
            else:
                still.append(s)
        if len(still) == len(free):  # numerical safety: fix the tightest
            fixed[free[0]] = eps
            still = free[1:]
        free = still
        # the allocation is unique once the fixed coalitions span the player space
        rows = np.array([[1.0 if p in s else 0.0 for p in players] for s in fixed]
                        + [np.ones(len(players))])
        if np.linalg.matrix_rank(rows) == len(players):
            break
    eps, x = _excess_lp(players, v, fixed, free) if free else (0.0, x)
    if not free:
        rows = np.array([[1.0 if p in s else 0.0 for p in players] for s in fixed]
                        + [np.ones(len(players))])
        rhs = np.array([_v(v, s) - e for s, e in fixed.items()]
                       + [_v(v, frozenset(players))])
        x = np.linalg.lstsq(rows, rhs, rcond=None)[0]
    return pd.Series(np.asarray(x, dtype=float) + 0.0, index=players, dtype=float)


__all__ = ["Game", "coalitions", "core_violations", "in_core", "least_core", "nucleolus",
           "shapley_values"]
