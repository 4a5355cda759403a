"""Benchmark: sweep throughput on a 2-worker LocalCluster against a serial loop over the
same tasks, in the same run, and the engine's overhead per task.

Tasks are real study-sweep tasks (:func:`planner.sweep.study_sweep.appraise_task`: size,
cost and rank the default study's fixed candidates for one set of cost values). The
candidates are generated once before timing (the once-per-routing-key part of a sweep).

- baseline: a plain Python loop calling ``appraise_task`` on each task in this process
  (no store, no Dask): the best plain use of the same code;
- serial engine: :func:`run_tasks` without a client (adds the Parquet store);
- cluster: :func:`run_tasks` on a running 2-worker ``LocalCluster`` (processes, one thread
  each), shared inputs scattered to the workers once, results written by the workers;
  cluster start-up is timed apart;
- overhead: :func:`run_tasks` on the cluster with a no-op task, per task.

Run::

    PYTHONPATH=. python benchmarks/bench_sweep.py    # 48 tasks, best of 2 (or pip install -e .)
    PYTHONPATH=. python benchmarks/bench_sweep.py --tasks 24

Printing is the point of a benchmark; the package itself logs.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")

from planner.study import default_study_path, layers_for_study, load_study
from planner.sweep.engine import (
    ResultStore,
    _demo_task,
    local_client,
    run_tasks,
)
from planner.sweep.study_sweep import (
    appraise_task,
    build_route_set,
    parse_sweep,
    routing_key,
    sweep_tasks,
)


def timed_task(params: Any, shared: Any) -> pd.DataFrame:
    """``appraise_task`` with the seconds spent inside it (to tell work from overhead)."""
    t0 = time.perf_counter()
    out = appraise_task(params, shared)
    out["task_s"] = time.perf_counter() - t0
    return out


def _inside(store: ResultStore) -> tuple[pd.DataFrame, float]:
    r = store.read()
    inside = float(r.groupby("task_key")["task_s"].first().sum())
    return (r.drop(columns="task_s").sort_values(["task_key", "candidate"])
            .reset_index(drop=True)), inside


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=48)
    ap.add_argument("--noop-tasks", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=2,
                    help="runs of the plain loop and of the cluster, alternated")
    args = ap.parse_args()

    spec = parse_sweep(f"""
[sweep]
name = "bench"
samples = {args.tasks}
seed = 7
scenarios = ["lowest cost"]
[[dimensions]]
parameter = "costs.regional_factor_central_asia"
multiply = true
distribution = {{ kind = "triangular", low = 0.8, mode = 1.0, high = 1.4 }}
[[dimensions]]
parameter = "costs.discount_rate"
distribution = {{ kind = "uniform", low = 0.06, high = 0.12 }}
[[dimensions]]
parameter = "throughput_scale"
distribution = {{ kind = "uniform", low = 0.75, high = 1.25 }}
""", Path(tempfile.gettempdir()) / "bench_sweep.toml")
    study = load_study(default_study_path())
    layers = layers_for_study(study)
    tasks = sweep_tasks(spec, study)
    t0 = time.perf_counter()
    key = routing_key(study, tasks[0])
    shared = {"study": study, "layers": layers,
              "routes": {key: build_route_set(study, layers, key, progress=False)}}
    print(f"candidates: {len(shared['routes'][key].candidates)} routes generated in "
          f"{time.perf_counter() - t0:.1f} s (once per routing key, not timed below)")
    print(f"{len(tasks)} tasks; machine: {os.cpu_count()} CPUs")

    def plain_loop() -> float:
        t0 = time.perf_counter()
        for t in tasks:
            appraise_task(t, shared)
        return time.perf_counter() - t0

    loop_times = [plain_loop()]
    cluster_times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        s = run_tasks(timed_task, tasks, ResultStore(Path(tmp) / "serial"), shared=shared,
                      progress=False)
        serial_s = time.perf_counter() - t0
        assert s.ran == len(tasks) and s.complete

        t0 = time.perf_counter()
        client = local_client(2, dashboard_address=None)
        start_s = time.perf_counter() - t0
        try:
            # alternated with the plain loop; the fastest of each is kept (shared machine)
            for r in range(args.repeat):
                if r:
                    loop_times.append(plain_loop())
                t0 = time.perf_counter()
                c = run_tasks(timed_task, tasks, ResultStore(Path(tmp) / f"cluster{r}"),
                              client, shared=shared, progress=False)
                cluster_times.append(time.perf_counter() - t0)
                assert c.ran == len(tasks) and c.complete

            noop = [{"x": i} for i in range(args.noop_tasks)]
            t0 = time.perf_counter()
            run_tasks(_demo_task, noop, ResultStore(Path(tmp) / "noop"), client,
                      progress=False)
            noop_s = time.perf_counter() - t0
        finally:
            client.close()
            client.cluster.close()
        serial_r, serial_inside = _inside(ResultStore(Path(tmp) / "serial"))
        cluster_r, cluster_inside = _inside(ResultStore(Path(tmp) / "cluster0"))
        same = serial_r.equals(cluster_r)

    loop_s, cluster_s = min(loop_times), min(cluster_times)
    print()
    print(f"plain loop runs: {', '.join(f'{x:.1f}' for x in loop_times)} s; cluster runs: "
          f"{', '.join(f'{x:.1f}' for x in cluster_times)} s (fastest of each below)")
    print("| method | tasks | time (s) | per task (ms) |")
    print("|---|---|---|---|")
    n = len(tasks)
    print(f"| plain serial loop (baseline) | {n} | {loop_s:.2f} | {1000 * loop_s / n:.0f} |")
    print(f"| run_tasks serial (with store) | {n} | {serial_s:.2f} | "
          f"{1000 * serial_s / n:.0f} |")
    print(f"| run_tasks, 2-worker LocalCluster | {n} | {cluster_s:.2f} | "
          f"{1000 * cluster_s / n:.0f} |")
    print()
    print(f"speed-up of the cluster over the plain loop: {loop_s / cluster_s:.2f}x "
          f"(with the cluster's start-up of {start_s:.1f} s: "
          f"{loop_s / (cluster_s + start_s):.2f}x); results identical: {same}")
    print(f"store overhead serial: {1000 * (serial_s - loop_s) / n:.1f} ms per task")
    print(f"time inside the tasks: serial {serial_inside:.1f} s, on the workers "
          f"{cluster_inside:.1f} s in all ({cluster_inside / serial_inside:.2f}x: above 1, "
          "the workers were slowed by other load on the machine)")
    print(f"parallel efficiency of the first cluster run: time inside its tasks / (2 workers x "
          f"its wall time) = {cluster_inside / (2 * cluster_times[0]):.2f} (1.0: no overhead; "
          "the speed-up on two free cores would be about twice this)")
    print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")
    print(f"engine overhead on the cluster (no-op task, {args.noop_tasks} tasks): "
          f"{1000 * noop_s / args.noop_tasks:.1f} ms per task")


if __name__ == "__main__":
    main()
