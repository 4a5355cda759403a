"""Sweeps on ``dask.distributed``: a generic task engine with a restartable results store
(:mod:`planner.sweep.engine`) and the study sweep built on it
(:mod:`planner.sweep.study_sweep`)."""

from planner.sweep.engine import ResultStore, RunSummary, local_client, run_tasks, task_key

__all__ = ["ResultStore", "RunSummary", "local_client", "run_tasks", "task_key"]
