"""Benchmark: the default study end to end, cold and warm, and the plain baseline, in one
run.

Each run is a fresh process (nothing kept in memory between runs), writing to a temporary
folder:

- cold: an empty cost-surface cache (``PLANNER_CACHE`` in a new folder);
- warm: the same cache, now holding the study's surfaces;
- plain baseline (warm): the same, with the per-country split as it was before the
  spatial pre-filters (:mod:`plain_split`: every demand centre measured against every
  piece of every route).

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
    from planner import economics
    from planner.runner import run_study
    from planner.study import default_study_path

    calls = {"n": 0}
    if plain:
        sys.path.insert(0, str(HERE))
        from plain_split import plain_per_country_split

        def counted(*args: object, **kw: object) -> object:
            calls["n"] += 1
            return plain_per_country_split(*args, **kw)  # type: ignore[arg-type]

        economics.per_country_split = counted  # type: ignore[assignment]
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
          f"(the baseline's split ran {results['plain baseline (warm)']['plain_calls']} times)")


if __name__ == "__main__":
    main()
