"""The sweep engine on a real 2-worker LocalCluster: interrupted runs complete on re-run
with every task's result present exactly once and equal to a serial run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from planner.sweep.engine import ResultStore, _demo_task, local_client, run_tasks, task_key

N_TASKS = 24
TASKS = [{"x": i, "sleep": 0.25} for i in range(N_TASKS)]


def _serial(tmp_path: Path) -> pd.DataFrame:
    store = ResultStore(tmp_path / "serial")
    s = run_tasks(_demo_task, TASKS, store, shared=10, progress=False)
    assert s.ran == N_TASKS and s.complete
    return store.read().drop(columns="pid").sort_values("task_key").reset_index(drop=True)


def _check_once_and_equal(store: ResultStore, serial: pd.DataFrame) -> None:
    got = store.read()
    assert len(got) == N_TASKS
    assert got["task_key"].is_unique
    assert set(got["task_key"]) == {task_key(t) for t in TASKS}
    got = got.drop(columns="pid").sort_values("task_key").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, serial)
    assert not list((store.path / "_tmp").glob("*")), "temporary files left behind"


@pytest.fixture(scope="module")
def client():
    c = local_client(2, dashboard_address=None)
    yield c
    c.close()
    c.cluster.close()


def test_killed_client_completes_on_rerun(tmp_path: Path, client) -> None:
    store = ResultStore(tmp_path / "store")
    script = textwrap.dedent(f"""
        from planner.sweep.engine import _demo_task, local_client, run_tasks
        tasks = [{{"x": i, "sleep": 0.25}} for i in range({N_TASKS})]
        c = local_client(2, dashboard_address=None)
        run_tasks(_demo_task, tasks, {str(store.path)!r}, c, shared=10, progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True,
                            cwd=Path(__file__).resolve().parent.parent)
    try:
        deadline = time.monotonic() + 120
        while len(store.done()) < 4 and time.monotonic() < deadline:
            assert proc.poll() is None, "sweep process ended before it could be killed"
            time.sleep(0.05)
        # kill the client and its cluster (workers, nannies) midway, with no clean-up
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    n_before = len(store.done())
    assert 4 <= n_before < N_TASKS, n_before

    summary = run_tasks(_demo_task, TASKS, store, client, shared=10, progress=False)
    assert summary.skipped == n_before
    assert summary.ran == N_TASKS - n_before and summary.complete
    _check_once_and_equal(store, _serial(tmp_path))


def test_killed_worker_is_replaced_and_nothing_lost(tmp_path: Path, client) -> None:
    store = ResultStore(tmp_path / "store")
    marker = tmp_path / "crashed"
    tasks = [{**t, "crash_marker": str(marker)} for t in TASKS]
    summary = run_tasks(_demo_task, tasks, store, client, shared=10, progress=False)
    assert marker.exists(), "no worker was killed"
    assert summary.complete and summary.ran == N_TASKS
    got = store.read()
    assert len(got) == N_TASKS and got["task_key"].is_unique


def test_client_side_writes_and_failures_are_retried(tmp_path: Path, client) -> None:
    store = ResultStore(tmp_path / "store")
    bad = [{"x": "not a number"}, {"x": 1}]
    s = run_tasks(_demo_task, bad, store, client, write_on="client", progress=False)
    assert s.ran == 1 and list(s.failed) == [task_key(bad[0])]
    assert store.done() == {task_key(bad[1])}
