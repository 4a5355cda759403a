"""The built wheel runs from any folder: shipped data inside it, outputs under ``./maps``.

Builds the wheel offline (``pip wheel --no-deps --no-build-isolation``) from a copy of the
source tree, installs it into a fresh virtual environment that borrows the test
environment's dependencies (no download), and runs ``planner layers`` from an empty folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (ROOT / "setup.py").is_file(), reason="needs the source tree"),
]


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    pytest.importorskip("wheel", reason="building a wheel offline needs the 'wheel' package")
    src = tmp_path_factory.mktemp("src") / "planner-src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "maps", "build", "dist", "*.egg-info", "__pycache__", ".*_cache",
        "notebooks", "tests", "benchmarks"))
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "-w", str(out), str(src)], cwd=src)
    (whl,) = out.glob("planner-*.whl")
    return whl


def test_wheel_carries_the_shipped_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"planner/_geodata/{p.relative_to(ROOT / 'geodata').as_posix()}"
               for p in (ROOT / "geodata").rglob("*") if p.is_file()}
    assert shipped <= names, sorted(shipped - names)[:5]
    assert "planner/studies/trilateral_gas_union.toml" in names
    assert any(n.startswith("planner/static/vendor/leaflet-1.9.3/") for n in names)


def test_installed_wheel_runs_from_any_folder(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], cwd=tmp_path)
    py = venv / "bin" / "python"
    # the dependencies come from this test environment: its site-packages on the new
    # environment's path (a plain path line, so no editable install of planner is loaded)
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=tmp_path).stdout.strip())
    (site / "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "--force-reinstall",
          "--quiet", str(wheel)], cwd=tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in {"PLANNER_GEODATA", "PLANNER_MAPS", "PYTHONPATH"}}
    where = _run([str(py), "-c", "import planner, planner.settings as s; "
                  "print(planner.__file__); print(s.GEODATA_DIR); print(s.MAPS_DIR)"],
                 cwd=work, env=env).stdout.split()
    assert Path(where[0]).is_relative_to(venv), where
    assert Path(where[1]).is_relative_to(venv) and Path(where[1]).name == "_geodata", where
    assert Path(where[2]) == work / "maps", where
    out = _run([str(venv / "bin" / "planner"), "layers"], cwd=work, env=env).stdout
    for layer in ("pipelines", "compressor_stations", "demand_centres", "supply_points"):
        assert layer in out, out
    assert not (work / "maps").exists()  # listing layers writes nothing
