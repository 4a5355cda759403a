"""Shared fixtures: the real default layers, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session", autouse=True)
def planner_cache(tmp_path_factory: pytest.TempPathFactory):
    """The persistent cache (:mod:`planner.cache`) in a temporary folder for the session,
    never the user's: ``PLANNER_CACHE`` when set (``make test`` gives one to the notebooks
    and the tests alike), else a folder of the session's temporary directory."""
    import os

    from planner import settings

    old = settings.CACHE_DIR
    settings.CACHE_DIR = Path(os.environ.get("PLANNER_CACHE")
                              or tmp_path_factory.getbasetemp() / "planner-cache")
    yield settings.CACHE_DIR
    settings.CACHE_DIR = old


@pytest.fixture(scope="session")
def layers():
    from planner.layers import default_layers

    return default_layers()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


#: Resolution (m) of the shared test cost surface: coarse, so the suite stays fast.
RES = 10_000.0


@pytest.fixture(scope="session")
def cost_cache(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.getbasetemp() / "planner-cost-cache"


@pytest.fixture(scope="session")
def surface(layers, cost_cache):
    """The default layers' cost surface at :data:`RES`, built once per test session."""
    from planner.costsurface import build_cost_surface

    return build_cost_surface(layers.terrain, layers.countries, layers.water, layers.pipelines,
                              layers.mountains, layers.demand_centres, resolution_m=RES,
                              cache_dir=cost_cache)


@pytest.fixture(scope="session")
def shipped_runs(tmp_path_factory):
    """Both shipped studies run once per test session: ``{study name: StudyOutputs}``.

    Tests of identities on real outputs (per-country rows, flows, shares) use these runs
    instead of starting runs of their own, so the suite stays fast. Under pytest-xdist the
    first worker that needs them runs them and pickles the outputs; the others wait on a
    file lock and load them (the pattern pytest-xdist documents for once-only fixtures).
    """
    import os
    import pickle

    from filelock import FileLock

    worker_id = os.environ.get("PYTEST_XDIST_WORKER", "master")

    def run() -> dict:
        from planner.runner import run_study
        from planner.study import load_study, shipped_studies

        base = tmp_path_factory.getbasetemp()
        if worker_id != "master":
            base = base.parent
        runs = {}
        for path in shipped_studies():
            name = load_study(path).name
            runs[name] = run_study(path, out_dir=base / f"shipped-{name}" / name,
                                   progress=False)
        return runs

    if worker_id == "master":
        return run()
    root = tmp_path_factory.getbasetemp().parent
    cached = root / "shipped_runs.pickle"
    with FileLock(str(cached) + ".lock"):
        if cached.exists():
            return pickle.loads(cached.read_bytes())
        runs = run()
        cached.write_bytes(pickle.dumps(runs))
        return runs


@pytest.fixture(scope="session")
def default_run(shipped_runs):
    """The shipped default study's run (see :func:`shipped_runs`)."""
    from planner.study import default_study_path, load_study

    return shipped_runs[load_study(default_study_path()).name]
