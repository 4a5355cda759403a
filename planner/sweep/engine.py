"""A generic task engine on :mod:`dask.distributed` with a results store that survives
interruption.

:func:`run_tasks` runs ``fn(params, shared)`` for every task (a dict of parameters) on a
``dask.distributed`` client, or serially in this process without one. Each task's result
(a DataFrame) is written to a :class:`ResultStore` as soon as the task finishes: one
Parquet file per task, in a partition named by a hash of the task's parameters, written to
a temporary file and renamed into place. A re-run skips the tasks whose partition is
there, so a run interrupted anywhere (client or worker killed) completes on re-run with
nothing lost and nothing duplicated: a partition is either whole or absent, and one task
has one partition.

Large inputs every task needs (``shared``) are sent to the workers once
(``Client.scatter(..., broadcast=True)``), not once per task.

The engine knows nothing of studies: the study sweep (:mod:`planner.sweep.study_sweep`),
route calibration and coalition analysis give it their own task function.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)

#: Column the store adds to every result row: the hash of the task's parameters.
TASK_KEY = "task_key"
_RESULT_FILE = "result.parquet"

TaskFn = Callable[[Mapping[str, Any], Any], pd.DataFrame]


def task_key(params: Mapping[str, Any]) -> str:
    """A stable hash of a task's parameters (key order does not matter).

    Examples
    --------
    >>> task_key({"a": 1, "b": [2, 3]}) == task_key({"b": [2, 3], "a": 1})
    True
    >>> len(task_key({"a": 1}))
    16
    """
    text = json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class ResultStore:
    """Task results as Parquet partitions ``<path>/task_key=<hash>/result.parquet``.

    Examples
    --------
    >>> import tempfile
    >>> store = ResultStore(tempfile.mkdtemp())
    >>> store.write("abc", pd.DataFrame({"x": [1.0]}))
    >>> store.done(), store.read()["x"].tolist()
    ({'abc'}, [1.0])
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def partition(self, key: str) -> Path:
        return self.path / f"{TASK_KEY}={key}" / _RESULT_FILE

    def done(self) -> set[str]:
        """Keys of the tasks whose result is in the store."""
        if not self.path.exists():
            return set()
        return {p.parent.name.split("=", 1)[1]
                for p in self.path.glob(f"{TASK_KEY}=*/{_RESULT_FILE}")}

    def write(self, key: str, frame: pd.DataFrame) -> None:
        """Write one task's result atomically (temporary file, then rename)."""
        target = self.partition(key)
        tmp_dir = self.path / "_tmp"  # leading "_": Parquet dataset readers skip it
        tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / f"{key}-{uuid.uuid4().hex}.parquet"
        try:
            frame.to_parquet(tmp, index=False)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def read(self, keys: Iterable[str] | None = None) -> pd.DataFrame:
        """Every stored result (or those of ``keys``), with a :data:`TASK_KEY` column."""
        wanted = sorted(self.done() if keys is None else set(keys) & self.done())
        frames = []
        for k in wanted:
            f = pd.read_parquet(self.partition(k))
            f.insert(0, TASK_KEY, k)
            frames.append(f)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


@dataclass
class RunSummary:
    """What :func:`run_tasks` did."""

    total: int
    skipped: int
    ran: int
    seconds: float
    failed: dict[str, str] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.failed


def _run_one(params: Mapping[str, Any], key: str, fn: TaskFn, shared: Any,
             store_path: str | None) -> tuple[str, pd.DataFrame | None]:
    """Run one task; write its result from the worker when the store is reachable there."""
    frame = fn(params, shared)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"task function must return a pandas DataFrame, got {type(frame)}")
    if store_path is None:
        return key, frame
    ResultStore(store_path).write(key, frame)
    return key, None


def _progress(total: int, desc: str, enabled: bool | None) -> Any:
    from tqdm.auto import tqdm

    show = sys.stderr.isatty() if enabled is None else enabled
    return tqdm(total=total, desc=desc, disable=not show)


def run_tasks(fn: TaskFn, tasks: Sequence[Mapping[str, Any]], store: ResultStore | str | Path,
              client: Any = None, *, shared: Any = None, write_on: str = "worker",
              progress: bool | None = None, desc: str = "tasks") -> RunSummary:
    """Run ``fn(params, shared)`` for each task not yet in ``store``; store each result.

    Parameters
    ----------
    fn : callable
        A module-level function (workers import it by name) taking a task's parameters and
        ``shared``, returning a DataFrame.
    tasks : sequence of dict
        Task parameters (JSON-serialisable values); tasks with equal parameters run once.
    store : ResultStore or path
    client : dask.distributed.Client, optional
        Runs the tasks on its cluster; without one they run serially in this process.
    shared : object, optional
        Inputs every task needs, sent to each worker once.
    write_on : {"worker", "client"}
        Who writes results: the worker that ran the task (the store must be on a file
        system the workers see: always so on a ``LocalCluster``), or this process as
        results arrive (for remote workers without a shared file system).
    progress : bool, optional
        Progress bar (default: on a terminal).

    Returns
    -------
    RunSummary
        Counts, time and the tasks that failed (key → error); failures are not stored, so a
        re-run retries them.

    Examples
    --------
    >>> import tempfile
    >>> store = ResultStore(tempfile.mkdtemp())
    >>> s = run_tasks(_demo_task, [{"x": 1}, {"x": 2}, {"x": 1}], store, progress=False)
    >>> s.total, s.ran, sorted(store.read()["y"].tolist())
    (2, 2, [2, 4])
    >>> run_tasks(_demo_task, [{"x": 1}, {"x": 3}], store, progress=False).ran
    1
    """
    if write_on not in ("worker", "client"):
        raise ValueError(f"write_on must be 'worker' or 'client', got {write_on!r}")
    st = store if isinstance(store, ResultStore) else ResultStore(store)
    t0 = time.perf_counter()
    unique: dict[str, Mapping[str, Any]] = {}
    for t in tasks:
        unique.setdefault(task_key(t), t)
    done = st.done()
    todo = {k: t for k, t in unique.items() if k not in done}
    summary = RunSummary(len(unique), len(unique) - len(todo), 0, 0.0, keys=list(unique))
    log.info("%d tasks: %d already in %s, %d to run", len(unique), summary.skipped, st.path,
             len(todo))
    bar = _progress(len(todo), desc, progress)
    try:
        if client is None:
            for k, t in todo.items():
                try:
                    _run_one(t, k, fn, shared, str(st.path))
                    summary.ran += 1
                except Exception as exc:  # a failed task must not stop the others
                    summary.failed[k] = f"{type(exc).__name__}: {exc}"
                    log.warning("task %s failed: %s", dict(t), exc)
                bar.update()
        elif todo:
            _run_distributed(fn, todo, st, client, shared, write_on, summary, bar)
    finally:
        bar.close()
    summary.seconds = time.perf_counter() - t0
    return summary


#: Rounds in which tasks cancelled by the cluster (a worker died and took the scattered
#: shared inputs or their results with it) are sent again with the inputs scattered anew.
RESUBMIT_ROUNDS = 3


def _cancelled(exc: BaseException) -> bool:
    """Whether a task failed because the cluster dropped it (not because it raised)."""
    import concurrent.futures

    from distributed.client import FutureCancelledError

    return isinstance(exc, FutureCancelledError | concurrent.futures.CancelledError)


def _run_distributed(fn: TaskFn, todo: dict[str, Mapping[str, Any]], store: ResultStore,
                     client: Any, shared: Any, write_on: str, summary: RunSummary,
                     bar: Any) -> None:
    from distributed import as_completed

    store_path = str(store.path) if write_on == "worker" else None
    pending = dict(todo)
    for round_ in range(RESUBMIT_ROUNDS + 1):
        # one object scattered to every worker once a round; tasks get a reference to it
        shared_ref = client.scatter([shared], broadcast=True, hash=False)[0] \
            if shared is not None else None
        keys = list(pending)
        futures = client.map(_run_one, [pending[k] for k in keys], keys, fn=fn,
                             shared=shared_ref, store_path=store_path,
                             key=[f"task-{k}-{round_}" for k in keys], pure=False)
        by_future = dict(zip(futures, keys, strict=True))
        dropped: dict[str, Mapping[str, Any]] = {}
        for fut in as_completed(futures):
            k = by_future[fut]
            try:
                _, frame = fut.result()
                if frame is not None:
                    store.write(k, frame)
                summary.ran += 1
                bar.update()
            except Exception as exc:
                if _cancelled(exc) and round_ < RESUBMIT_ROUNDS:
                    dropped[k] = pending[k]
                else:
                    summary.failed[k] = f"{type(exc).__name__}: {exc}"
                    log.warning("task %s failed: %s", dict(pending[k]), exc)
                    bar.update()
            fut.release()
        if not dropped:
            return
        log.warning("%d tasks dropped by the cluster (a worker was lost): sending them again",
                    len(dropped))
        pending = dropped


def _demo_task(params: Mapping[str, Any], shared: Any) -> pd.DataFrame:
    """A task for the examples and tests: y = 2 x (+ ``shared``), after ``sleep`` seconds;
    with ``crash_marker`` (a path), the first task to run kills its own worker process."""
    time.sleep(float(params.get("sleep", 0.0)))
    marker = params.get("crash_marker")
    if marker and not os.path.exists(marker):
        Path(marker).touch()
        os._exit(1)
    y = 2 * params["x"] + (shared or 0)
    return pd.DataFrame({"x": [params["x"]], "y": [y], "pid": [os.getpid()]})


def local_client(n_workers: int = 2, threads_per_worker: int = 1, **kwargs: Any) -> Any:
    """A ``dask.distributed`` client on a new ``LocalCluster`` of worker processes."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                           processes=True, **kwargs)
    return Client(cluster)


def dashboard_link(client: Any) -> str | None:
    """The Dask dashboard address of ``client``'s cluster, or None when it has none."""
    try:
        link = client.dashboard_link
    except Exception:
        return None
    try:
        import bokeh  # noqa: F401  (the dashboard needs it)
    except ImportError:
        return None
    return str(link) if link else None


__all__ = ["TASK_KEY", "ResultStore", "RunSummary", "dashboard_link", "local_client",
           "run_tasks", "task_key"]
