"""Benchmark: the default study end to end, cold and warm, and the plain baseline, in one
run.

Each run is a fresh process (nothing kept in memory between runs), writing to a temporary
folder:

- cold: an empty cost-surface cache (``PLANNER_CACHE`` in a new folder);
- warm: the same cache, now holding the study's surfaces;
- plain baseline (warm): the same, with the demand centres within reach of each route
  found without the STRtree pre-filter, every centre measured against every 2 km piece
  of the route with ``pyproj.Geod.inv`` (``all_pairs`` of ``bench_country_split.py``, the
  search the per-country split used before the pre-filter). The study's appraisal finds
  them with :func:`planner.domestic.centres_within_reach`, so that is what is replaced.

Printed: total seconds of each and where the time went (``planner study -v`` stages).

Run::

    PYTHONPATH=. python benchmarks/bench_study.py

Printing is the point of a benchmark; the package itself logs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def one_run(plain: bool) -> dict[str, object]:
    """Run the default study in this process; seconds and per-stage timings."""
    from planner import domestic
    from planner.runner import run_study
    from planner.study import default_study_path

    calls = {"n": 0}
    if plain:
        sys.path.insert(0, str(HERE))
        from bench_country_split import all_pairs

        def counted(points: object, mids: object, reach_km: float, crs: object = None
                    ) -> object:
            calls["n"] += 1
            return all_pairs(points, mids, reach_km)  # type: ignore[arg-type]

        domestic.nearest_within_km = counted  # type: ignore[assignment]
    out = run_study(default_study_path(), out_dir=Path(os.environ["PLANNER_MAPS"]) / "study",
                    progress=False)
    return {"seconds": out.seconds, "timings": out.extra.get("timings", {}),
            "candidates": len(out.ranking), "plain_calls": calls["n"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--one", choices=["ours", "plain"], help=argparse.SUPPRESS)
    ap.add_argument("--repeat", type=int, default=1,
                    help="warm and baseline runs, alternated; the fastest of each is kept "
                    "(the machine may be shared)")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_run(args.one == "plain")))
        return
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PLANNER_CACHE=str(Path(tmp) / "cache"),
                   PLANNER_MAPS=str(Path(tmp) / "maps"),
                   PYTHONPATH=os.pathsep.join([str(HERE.parent),
                                               os.environ.get("PYTHONPATH", "")]))
        results: dict[str, dict] = {}
        runs = [("cold", "ours")] + [("warm", "ours"), ("plain baseline (warm)", "plain")] * \
            max(1, args.repeat)
        for name, which in runs:
            done = subprocess.run([sys.executable, __file__, "--one", which], env=env,
                                  capture_output=True, text=True, check=True)
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{name}: {r['seconds']:.1f} s ({r['candidates']} candidate rows)",
                  flush=True)
            if name not in results or r["seconds"] < results[name]["seconds"]:
                results[name] = r
    print()
    stages = list(dict.fromkeys(k for r in results.values() for k in r["timings"]))  # type: ignore[attr-defined]
    print("| stage | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for st in stages:
        print(f"| {st} | " + " | ".join(f"{r['timings'].get(st, 0.0):.1f}"  # type: ignore[attr-defined]
                                       for r in results.values()) + " |")
    print("| **total** | " + " | ".join(f"**{r['seconds']:.1f}**" for r in results.values())
          + " |")
    warm = float(results["warm"]["seconds"])  # type: ignore[arg-type]
    plain = float(results["plain baseline (warm)"]["seconds"])  # type: ignore[arg-type]
    print(f"\nwarm vs plain baseline: {plain / warm:.2f}x "
          f"(the baseline's all-pairs search ran "
          f"{results['plain baseline (warm)']['plain_calls']} times)")


if __name__ == "__main__":
    main()
