"""Study sweeps: the sweep file's validation, the identity with the shipped default
study's own ranking, and an interrupted sweep on a 2-worker LocalCluster that completes on
re-run with every task's result present once and equal to a serial run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.sweep.engine import ResultStore
from planner.sweep.study_sweep import SweepError, parse_sweep, run_sweep

ROOT = Path(__file__).resolve().parent.parent

SWEEP = """
[sweep]
name = "test-sweep"
study = "default"
scenarios = ["lowest cost"]

[[dimensions]]
parameter = "costs.discount_rate"
values = [0.06, 0.08, 0.10]

[[dimensions]]
parameter = "costs.regional_factor_central_asia"
multiply = true
values = [1.0, 1.3]
"""
N_TASKS = 6


def test_sweep_file_errors_are_collected_with_lines() -> None:
    bad = """[sweep]
name = "bad name!"
samples = 0

[[dimensions]]
parameter = "costs.no_such_cost"
values = [1]

[[dimensions]]
parameter = "throughput_scale"
distribution = { kind = "cauchy", low = 1 }

[[dimensions]]
parameter = "excluded_countries"
values = ["TKM"]
"""
    with pytest.raises(SweepError) as err:
        parse_sweep(bad, "bad.toml")
    text = str(err.value)
    assert "5 problems" in text
    for part in ("sweep.name (line 2)", "sweep.samples (line 3)",
                 "dimensions[0].parameter (line 6)", "dimensions[1].distribution.kind",
                 "dimensions[2].values"):
        assert part in text


def test_grid_rejects_distributions() -> None:
    with pytest.raises(SweepError, match="design = 'monte_carlo'"):
        parse_sweep('[sweep]\nname = "x"\ndesign = "grid"\n[[dimensions]]\n'
                    'parameter = "throughput_scale"\n'
                    'distribution = { kind = "uniform", low = 0.5, high = 1 }')


@pytest.fixture(scope="module")
def serial_sweep(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    path = folder / "sweep.toml"
    path.write_text(SWEEP, encoding="utf-8")
    out = run_sweep(path, folder / "serial", serial=True, progress=False)
    return path, out


def test_base_task_equals_the_study_ranking(serial_sweep, default_run) -> None:
    """At the study's own values a sweep task gives the study's figures and ranks."""
    _, out = serial_sweep
    r = out.results
    base = r[np.isclose(r["p:costs.discount_rate"], 0.08)
             & np.isclose(r["p:costs.regional_factor_central_asia"],
                          float(pd.read_csv(ROOT / "planner/data/cost_parameters.csv",
                                            index_col="parameter")
                                .loc["regional_factor_central_asia", "value"]))]
    assert base["task_key"].nunique() == 1
    study = default_run.ranking[default_run.ranking["scenario"] == "lowest cost"]
    got = base.set_index("candidate").sort_index()
    want = study.set_index("name").sort_index()
    assert list(got.index) == list(want.index)
    for col in ("capex_musd", "tariff_usd_per_1000m3", "delivered_cost_usd_per_1000m3",
                "score"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-9, err_msg=col)
    assert (got["rank"] == want["rank"]).all()


def test_summary_adds_up(serial_sweep) -> None:
    _, out = serial_sweep
    assert out.run.total == N_TASKS and out.run.complete
    s = out.summary
    # one candidate ranks first per task (no ties here): P(best) adds up to 1
    assert s.groupby("scenario")["p_best"].sum().round(9).eq(1.0).all()
    assert (s["tasks"] == N_TASKS).all()
    assert (s["tariff_p05"] <= s["tariff_p50"]).all() and \
        (s["tariff_p50"] <= s["tariff_p95"]).all()
    assert set(out.drivers["parameter"]) == {"costs.discount_rate",
                                             "costs.regional_factor_central_asia"}
    for f in out.files.values():
        assert f.exists()
    md = out.files["report_md"].read_text(encoding="utf-8")
    assert "## Sweep: test-sweep" in md and "tornado.png" in md


def test_killed_sweep_completes_on_rerun_on_a_local_cluster(serial_sweep, tmp_path) -> None:
    path, serial = serial_sweep
    out = tmp_path / "cluster"
    # the candidates of the serial run (generated once per routing key) are reused
    shutil.copytree(serial.out_dir / "routes", out / "routes")
    cmd = [sys.executable, "-m", "planner.cli", "sweep", str(path), "--out", str(out),
           "--workers", "2"]
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = ResultStore(out / "store")
    try:
        deadline = time.monotonic() + 180
        while len(store.done()) < 2 and time.monotonic() < deadline:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # client, scheduler and workers at once
    finally:
        proc.wait(30)
    n_before = len(store.done())
    assert 2 <= n_before < N_TASKS

    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{n_before} already done, {N_TASKS - n_before} run" in done.stdout

    got = store.read()
    want = serial.results
    assert got["task_key"].nunique() == N_TASKS
    assert not got.duplicated(["task_key", "candidate"]).any()
    key = ["task_key", "candidate"]
    pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                  want.sort_values(key).reset_index(drop=True))


def test_tasks_expand_seeded_and_routing_keys_follow_routing_inputs() -> None:
    from planner.study import default_study_path, load_study
    from planner.sweep.study_sweep import routing_key, sweep_tasks

    study = load_study(default_study_path())
    spec = parse_sweep("""
[sweep]
name = "mc"
samples = 5
seed = 3
scenarios = ["lowest cost", "supply security, Kazakh and Uzbek territory only"]
[[dimensions]]
parameter = "costs.discount_rate"
distribution = { kind = "uniform", low = 0.06, high = 0.12 }
[[dimensions]]
parameter = "excluded_countries"
values = [[], ["chn"]]
[[dimensions]]
parameter = "resolution_km"
values = [10, 20]
[[dimensions]]
parameter = "costs.supply_price_usd_per_1000m3"
multiply = true
values = [2.0]
[[dimensions]]
parameter = "costs.existing_transit_tariff_usd_per_1000m3_per_100km"
multiply = true
values = [1.5]
""")
    tasks = sweep_tasks(spec, study)
    assert len(tasks) == 10 and tasks == sweep_tasks(spec, study)  # seeded: reproducible
    assert all(0.06 <= t["costs.discount_rate"] <= 0.12 for t in tasks)
    from planner.economics import DEFAULT_CURRENCY_YEAR, parameter

    # prices a study sets are multiples of the value the appraisal uses (escalated)
    base = parameter("fuel_gas_price_usd_per_1000m3", currency_year=DEFAULT_CURRENCY_YEAR)
    assert all(t["costs.supply_price_usd_per_1000m3"] == pytest.approx(2 * base) for t in tasks)
    tariff = parameter("existing_transit_tariff_usd_per_1000m3_per_100km",
                       currency_year=DEFAULT_CURRENCY_YEAR)
    assert all(t["costs.existing_transit_tariff_usd_per_1000m3_per_100km"]
               == pytest.approx(1.5 * tariff) for t in tasks)
    for t in tasks:
        res, excl = routing_key(study, t)
        assert res == t["resolution_km"]
        assert ("CHN" in excl) == (t["excluded_countries"] == ["CHN"])
        if t["scenario"].startswith("supply security"):
            assert {"TKM", "AFG"} <= set(excl)  # the scenario's own exclusions stay


def test_cli_reports_a_bad_sweep_file_without_traceback(tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[sweep]\nname = "x"\n[[dimensions]]\nparameter = "costs.discount_rate"\n'
                   'values = ["high"]\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "planner.cli", "sweep", str(bad)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "dimensions[0].values (line 5)" in done.stderr
    assert "Traceback" not in done.stderr
