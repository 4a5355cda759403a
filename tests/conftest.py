"""Shared fixtures: the real default layers, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def layers():
    from planner.layers import default_layers

    return default_layers()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA
