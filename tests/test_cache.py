"""The persistent cache (planner.cache) and the exact speed-ups of routing: windowed sweeps
proven optimal, paths solved once per surface."""

from __future__ import annotations

import logging
import pickle

import numpy as np
import pytest

from planner import cache, settings


def test_cached_reads_what_it_wrote_and_keys_differ(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"a": np.arange(3)}

    key = cache.cache_key("demo", {"x": 1})
    first, hit1 = cache.cached("demo", key, compute, cache_dir=tmp_path)
    again, hit2 = cache.cached("demo", key, compute, cache_dir=tmp_path)
    assert (hit1, hit2) == (False, True) and len(calls) == 1
    assert np.array_equal(first["a"], again["a"])
    assert cache.cache_key("demo", {"x": 2}) != key
    assert cache.cache_key("other", {"x": 1}) != key
    # only the entry itself, no temporary file left behind
    assert [p.name for p in tmp_path.iterdir()] == [cache.entry_path("demo", key).name]


def test_corrupt_entry_is_ignored_and_rebuilt(tmp_path, caplog):
    key = cache.cache_key("demo", {"x": 1})
    path = cache.entry_path("demo", key, tmp_path)
    path.write_bytes(b"not a pickle")
    with caplog.at_level(logging.WARNING, logger="planner.cache"):
        value, hit = cache.cached("demo", key, lambda: 42, cache_dir=tmp_path)
    assert (value, hit) == (42, False)
    assert "unreadable" in caplog.text
    assert pickle.loads(path.read_bytes()) == (key, 42)  # rewritten whole


def test_entry_of_another_key_is_not_read(tmp_path):
    key = cache.cache_key("demo", {"x": 1})
    cache.entry_path("demo", key, tmp_path).write_bytes(pickle.dumps(("other", 7)))
    assert cache.load("demo", key, tmp_path) is None


def test_cache_off_reads_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "USE_CACHE", False)
    key = cache.cache_key("demo", {"x": 1})
    cache.store("demo", key, 1, tmp_path)
    value, hit = cache.cached("demo", key, lambda: 2, cache_dir=tmp_path)
    assert (value, hit) == (2, False)
    assert cache.load("demo", key, tmp_path) == 1  # the entry written before is untouched


def test_unwritable_cache_does_not_stop_the_run(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    value, hit = cache.cached("demo", "k" * 64, lambda: 3, cache_dir=blocker / "sub")
    assert (value, hit) == (3, False)


def test_tests_never_use_the_users_cache():
    assert settings.CACHE_DIR != settings.Path.home() / ".cache" / "planner"


def test_window_paths_equal_full_grid_optimum():
    """Windowed sweeps give the cost of the full-grid solve, also when the optimum must
    leave the first window (a long wall forces a detour)."""
    from planner.routing import _solve, path_cost, window_paths

    rng = np.random.default_rng(3)
    cost = rng.uniform(0.8, 3.0, (400, 400)).astype(np.float32)
    cost[50:390, 200] = np.inf  # a wall with one gap near the bottom edge
    start, ends = (100, 190), [(100, 215), (300, 120), (20, 20)]
    got = window_paths(cost, start, ends, 1000.0)
    _, cum = _solve(cost, start, ends, 1000.0)
    for e in ends:
        p = got[e]
        assert p is not None and tuple(p[0]) == start and tuple(p[-1]) == e
        assert path_cost(cost, p[:, 0], p[:, 1], 1000.0) == pytest.approx(
            cum[e] / 1000.0, rel=1e-6)


def test_unreachable_in_window_is_none():
    from planner.routing import window_paths

    cost = np.ones((200, 200), np.float32)
    cost[:, 100] = np.inf
    assert window_paths(cost, (10, 10), [(10, 150)], 1000.0) == {(10, 150): None}


def test_paths_solved_once_per_surface(surface, monkeypatch):
    """A least-cost route and the first of its alternatives come from one solve."""
    from planner import routing

    routing.clear_caches()
    calls = []
    real = routing.window_paths

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(routing, "window_paths", counting)
    a, b = (55.3, 45.1), (69.6, 42.3)
    assert routing.prime_routes(surface, a, {"b": b}, method="full") == 1
    r = routing.least_cost_route(surface, a, b, method="full")
    alts = routing.alternative_routes(surface, a, b, k=1, method="full")
    assert len(calls) == 1
    assert float(alts.cost.iloc[0]) == pytest.approx(float(r.cost.iloc[0]))


def test_default_run_cached_its_candidates(default_run):
    """The session's run of the default study left its scenarios' candidates in the
    (temporary) cache, where a second run reads them."""
    names = {p.name.split("-")[0] for p in settings.CACHE_DIR.iterdir()}
    assert {"candidates", "plan", "costsurface"} <= names


def test_default_run_cached_its_plan_solve(default_run):
    """The plan the run reported is the one in the cache, which a second run reports
    without solving again."""
    import json
    import pickle

    entries = sorted(settings.CACHE_DIR.glob("plan-solve-*.pkl"))
    assert entries
    reported = json.loads((default_run.out_dir / "system_plan.json").read_text())
    objectives = []
    for path in entries:
        with path.open("rb") as f:
            _, (result, independent) = pickle.load(f)
        objectives.append(result.objective_musd_y)
        assert len(independent)
    assert any(o == pytest.approx(reported["objective_musd_y"]) for o in objectives)
