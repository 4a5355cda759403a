"""Build hook: the wheel carries the top-level ``geodata/`` as ``planner/_geodata``.

``geodata/`` stays the one source of the shipped data in the repository; an installed
planner finds the copy through :data:`planner.settings.GEODATA_DIR`. Everything else about
the package is declared in ``pyproject.toml``.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

GEODATA = Path(__file__).resolve().parent / "geodata"


class BuildPyWithGeodata(build_py):
    """``build_py`` that also copies ``geodata/`` into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads geodata/ in place
            return
        target = Path(self.build_lib) / "planner" / "_geodata"
        shutil.copytree(GEODATA, target, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))


setup(cmdclass={"build_py": BuildPyWithGeodata})
