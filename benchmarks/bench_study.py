"""Benchmark: the default study end to end, cold and warm, and the plain baseline, in one
run.

Each run is a fresh process (nothing kept in memory between runs), writing to a temporary
folder:

- cold: an empty cache (``PLANNER_CACHE`` in a new folder): every cost surface, route,
  appraisal and the plan's candidate network computed, and written to the cache;
- warm: the same cache, now holding them (:mod:`planner.cache`);
- plain baseline: everything computed again with the cache off (``PLANNER_NO_CACHE``) and
  the demand centres within reach of each route found without the STRtree pre-filter,
  every centre measured against every 2 km piece of the route with ``pyproj.Geod.inv``
  (``all_pairs`` of ``bench_country_split.py``, the search the per-country split used
  before the pre-filter). The study's appraisal finds them with
  :func:`planner.domestic.centres_within_reach`, so that is what is replaced. It is
  compared with the cold run, which computes the same things.

The system plan's MILP solves (``solve_plan`` and ``independent_best``, time-limited by
the study's ``[plan]``) are timed apart and reported apart: the targets exclude them.
Printed per run: wall seconds, wall seconds without the plan's solves, CPU seconds (user +
system of the run's process: on a shared machine the wall time also holds the time other
jobs took the cores) and where the time went (``planner study -v`` stages).

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
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
T0 = time.perf_counter()  # the process's start, before planner is imported


def one_run(plain: bool) -> dict[str, object]:
    """Run the default study in this process; seconds and per-stage timings."""
    import resource

    from planner import domestic
    from planner.plan import run as plan_run
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
    solve = {"s": 0.0, "cpu": 0.0}

    def timed(f: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t, c = time.perf_counter(), time.process_time()
            try:
                return f(*args, **kwargs)
            finally:
                solve["s"] += time.perf_counter() - t
                solve["cpu"] += time.process_time() - c
        return wrapper

    plan_run.solve_plan = timed(plan_run.solve_plan)  # type: ignore[assignment]
    plan_run.independent_best = timed(plan_run.independent_best)  # type: ignore[assignment]
    out = run_study(default_study_path(), out_dir=Path(os.environ["PLANNER_MAPS"]) / "study",
                    progress=False)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {"seconds": out.seconds, "solve_s": solve["s"], "solve_cpu_s": solve["cpu"],
            "cpu_s": ru.ru_utime + ru.ru_stime, "process_s": time.perf_counter() - T0,
            "timings": out.extra.get("timings", {}),
            "map_mib": out.files["map"].stat().st_size / 2**20,
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
        env.pop("PLANNER_NO_CACHE", None)
        results: dict[str, dict] = {}
        runs = [("cold", "ours")] + [("warm", "ours"), ("plain baseline", "plain")] * \
            max(1, args.repeat)
        for name, which in runs:
            run_env = dict(env, PLANNER_NO_CACHE="1") if which == "plain" else env
            done = subprocess.run([sys.executable, __file__, "--one", which], env=run_env,
                                  capture_output=True, text=True, check=True)
            r = json.loads(done.stdout.strip().splitlines()[-1])
            r["load"] = os.getloadavg()[0]
            print(f"{name}: {r['seconds']:.1f} s, {r['seconds'] - r['solve_s']:.1f} s without "
                  f"the plan's MILP solves ({r['solve_s']:.1f} s); CPU {r['cpu_s']:.1f} s, "
                  f"{r['cpu_s'] - r['solve_cpu_s']:.1f} s without the solves; the whole "
                  f"process (Python start and imports too) {r['process_s']:.1f} s, "
                  f"{r['process_s'] - r['solve_s']:.1f} s without the solves; load average "
                  f"{r['load']:.1f} ({r['candidates']} candidate rows, map {r['map_mib']:.2f} MiB)",
                  flush=True)
            if name not in results or r["seconds"] - r["solve_s"] < \
                    results[name]["seconds"] - results[name]["solve_s"]:
                results[name] = r
    print()
    stages = list(dict.fromkeys(k for r in results.values() for k in r["timings"]))  # type: ignore[attr-defined]
    print("| stage (s) | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for st in stages:
        print(f"| {st} | " + " | ".join(f"{r['timings'].get(st, 0.0):.1f}"  # type: ignore[attr-defined]
                                       for r in results.values()) + " |")
    print("| of which the plan's MILP solves | " + " | ".join(
        f"{r['solve_s']:.1f}" for r in results.values()) + " |")
    print("| **total** | " + " | ".join(f"**{r['seconds']:.1f}**" for r in results.values())
          + " |")
    print("| **total without the MILP solves** | " + " | ".join(
        f"**{r['seconds'] - r['solve_s']:.1f}**" for r in results.values()) + " |")
    print("| CPU (user + system) without the solves | " + " | ".join(
        f"{r['cpu_s'] - r['solve_cpu_s']:.1f}" for r in results.values()) + " |")
    print("| whole process without the solves | " + " | ".join(
        f"{r['process_s'] - r['solve_s']:.1f}" for r in results.values()) + " |")

    def excl(name: str) -> float:
        return float(results[name]["seconds"]) - float(results[name]["solve_s"])

    print(f"\nwithout the MILP solves: cold {excl('cold'):.1f} s (target < 60), warm "
          f"{excl('warm'):.1f} s (target < 10); plain baseline vs cold: "
          f"{excl('plain baseline') / excl('cold'):.2f}x (the baseline's all-pairs search "
          f"ran {results['plain baseline']['plain_calls']} times)")

if __name__ == "__main__":
    main()
