"""Benchmark: demand centres within reach of candidate routes, pre-filtered vs all pairs.

The per-country accounts of every candidate (:mod:`planner.accounting`) need the demand
centres within reach of the route, measured geodesically from each centre to the route's
2 km pieces. The baseline is the algorithm the planner used before (each of the 372
centres against every piece with ``pyproj.Geod.inv``, in chunks). The pre-filtered method
(:func:`planner.geodesy.nearest_within_km`) first keeps the centre–piece pairs an STRtree
finds near each other in a projection centred on the route, then measures only those on
the ellipsoid. Both run on the same routes in the same run; the script checks that they
find the same centres at the same distances and prints the ratio.

Routes are the synthetic candidates of ``bench_scoring.py`` (seeded pairs of real demand
centres with jittered vertices), cut into 2 km pieces as the appraisal does.

Run::

    PYTHONPATH=. python benchmarks/bench_country_split.py             # 84 routes
    PYTHONPATH=. python benchmarks/bench_country_split.py --routes 20

Printing is the point of a benchmark; the package itself logs.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from planner import settings
from planner.economics import _segments
from planner.geodesy import GEOD, nearest_within_km
from planner.layers import default_layers

try:  # run as a script from the repository root, or as a module
    from bench_scoring import candidate_routes
except ImportError:  # pragma: no cover
    from benchmarks.bench_scoring import candidate_routes

PIECE_KM = 2.0


def all_pairs(points: np.ndarray, mids: np.ndarray, reach_km: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """The baseline: every centre against every piece midpoint (chunked ``Geod.inv``)."""
    dmin = np.full(len(points), np.inf)
    chunk = max(1, 2_000_000 // max(1, len(mids)))
    for i in range(0, len(points), chunk):
        p = points[i:i + chunk]
        a = np.repeat(p[:, 0:1], len(mids), axis=1)
        b = np.repeat(p[:, 1:2], len(mids), axis=1)
        _, _, d = GEOD.inv(a, b, np.broadcast_to(mids[:, 0], a.shape),
                           np.broadcast_to(mids[:, 1], a.shape))
        dmin[i:i + chunk] = np.asarray(d).min(axis=1) / 1000
    idx = np.flatnonzero(dmin <= reach_km)
    return idx, dmin[idx]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--routes", type=int, default=84)
    args = ap.parse_args()
    layers = default_layers()
    centres = layers.demand_centres
    points = np.column_stack([centres.geometry.x, centres.geometry.y])
    routes = candidate_routes(centres, args.routes, seed=1)
    mids = []
    for line in routes:
        s, e, _ = _segments(line, PIECE_KM)
        mids.append((s + e) / 2)
    reach = settings.REACH_KM + PIECE_KM / 2
    n_pieces = sum(len(m) for m in mids)
    print(f"{len(routes)} routes, {n_pieces:,} pieces of <= {PIECE_KM:g} km, "
          f"{len(points)} demand centres, reach {reach:g} km")

    t0 = time.perf_counter()
    base = [all_pairs(points, m, reach) for m in mids]
    t_base = time.perf_counter() - t0
    t0 = time.perf_counter()
    fast = [nearest_within_km(points, m, reach) for m in mids]
    t_fast = time.perf_counter() - t0

    same = all(np.array_equal(a[0], b[0]) and np.allclose(a[1], b[1])
               for a, b in zip(base, fast, strict=True))
    found = sum(len(a[0]) for a in base)
    print(f"all pairs (Geod.inv, chunked):   {t_base:7.2f} s")
    print(f"STRtree pre-filter + Geod.inv:  {t_fast:7.2f} s")
    print(f"ratio: {t_base / t_fast:.1f}x; {found} centre-route pairs within reach; "
          f"same centres and distances: {same}")


if __name__ == "__main__":
    main()
