"""The study runner end to end on the shipped default study, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import pandas as pd
import pytest

from planner.runner import run_study
from planner.study import default_study_path


def test_outputs_written(default_run):
    files = default_run.files
    assert set(files) == {"map", "ranking_csv", "per_country_csv", "report_md", "report_html",
                          "candidates_gpkg", "reused_lines_csv", "metadata"}
    for p in files.values():
        assert p.exists() and p.stat().st_size > 0, p
    # Nothing half-written or temporary is left beside the outputs.
    siblings = [p.name for p in default_run.out_dir.parent.iterdir()]
    assert siblings == [default_run.out_dir.name]


def test_every_destination_has_ranked_candidates(default_run):
    r = pd.read_csv(default_run.files["ranking_csv"])
    assert set(r["scenario"]) == {"lowest cost", "domestic gasification",
                                  "supply security, Kazakh and Uzbek territory only"}
    for dest in ["Tashkent", "Samarqand", "Shymkent", "Almaty", "Astana", "Qaraghandy"]:
        assert (r["destination"] == dest).any(), dest
    for _, g in r.groupby("scenario"):
        assert sorted(g["rank"]) == list(range(1, len(g) + 1))
    assert (r["capex_musd"] > 0).all()
    assert (r["tariff_usd_per_1000m3"] > 0).all()


def test_excluded_countries_are_not_crossed(default_run):
    c = default_run.candidates
    secure = c[c["scenario"].str.startswith("supply security")]
    for countries in secure["countries"]:
        assert not {"TKM", "KGZ", "TJK", "AFG", "IRN"} & set(str(countries).split(", "))


def test_per_country_rows_sum_to_route_totals(default_run):
    pc = default_run.per_country
    c = default_run.candidates.set_index("route_id")
    for rid, g in pc.groupby("route_id"):
        assert g["km"].sum() == pytest.approx(c.loc[rid, "length_km"], rel=0.01)
        assert g["capex_musd"].sum() == pytest.approx(c.loc[rid, "capex_musd"], rel=1e-6)
        assert g["border_crossings"].sum() == c.loc[rid, "border_crossings"]


def test_reused_lines_table_matches_the_ranking(default_run):
    # every reuse candidate lists the existing lines it goes by; the new compression on
    # them adds up to the route's figure, which is part of its compressor power
    lines = pd.read_csv(default_run.files["reused_lines_csv"])
    r = pd.read_csv(default_run.files["ranking_csv"])
    reuse = r[r["kind"].eq("reuse")]
    assert len(reuse) and len(lines)
    for _, row in reuse.iterrows():
        mine = lines[(lines["scenario"] == row["scenario"]) & (lines["name"] == row["name"])]
        assert mine["length_km"].sum() == pytest.approx(row["reused_km"], rel=1e-6)
        assert mine["new_power_kw"].sum() / 1e3 == pytest.approx(row["reuse_compression_mw"],
                                                                 abs=1e-6)
        assert row["compressor_power_mw"] >= row["reuse_compression_mw"] - 1e-9
    cac = lines[lines["system"].eq("Central Asia–Center")]
    assert len(cac) and cac["reverse"].all() and cac["capacity_bcm_y"].notna().all()
    assert "Existing lines reused" in default_run.files["report_md"].read_text()


def test_candidates_geopackage_and_metadata(default_run):
    g = gpd.read_file(default_run.files["candidates_gpkg"], layer="candidates")
    assert len(g) == len(default_run.candidates)
    assert g.crs.to_epsg() == 4326
    meta = json.loads(default_run.files["metadata"].read_text())
    assert meta["study"] == "trilateral-gas-union"
    assert "geopandas" in meta["versions"]
    assert meta["map_bytes"] == default_run.files["map"].stat().st_size


def test_map_is_offline_and_small(default_run):
    html = default_run.files["map"].read_text()
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    assert default_run.files["map"].stat().st_size < 15_000_000


def test_failed_run_keeps_earlier_outputs(default_run, tmp_path):
    bad = tmp_path / "bad.toml"
    text = default_study_path().read_text().replace(
        'name = "Tashkent"', 'name = "Tashkent"\nlayer = "nowhere"')
    bad.write_text(text)
    before = {p.name: p.read_bytes() for p in default_run.out_dir.iterdir()}
    with pytest.raises(ValueError, match="destinations"):
        run_study(bad, out_dir=default_run.out_dir, progress=False)
    after = {p.name: p.read_bytes() for p in default_run.out_dir.iterdir()}
    assert before == after


def test_cli_layers_prints_summary():
    r = subprocess.run([sys.executable, "-m", "planner.cli", "layers"], capture_output=True,
                       text=True, check=True)
    assert "pipelines" in r.stdout and "EPSG:4326" in r.stdout
    assert "compressor_stations" in r.stdout


def test_cli_study_error_exits_nonzero(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[study]\nname = "x"\n[[supply]]\nname = "Beyneu"\n')
    r = subprocess.run([sys.executable, "-m", "planner.cli", "study", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "at least one [[destinations]] entry is required" in r.stderr
