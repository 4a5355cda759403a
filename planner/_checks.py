"""Parameter checks shared by the engineering and economics modules.

Each returns the checked value or raises a ``ValueError`` that names the parameter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


class ProblemsError(ValueError):
    """An input file failed validation; ``problems`` lists every problem (the base of
    :class:`planner.study.StudyError`, :class:`planner.sweep.study_sweep.SweepError` and
    :class:`planner.interconnections.NetworkTableError`). ``label`` names the kind of file
    in the message.

    Examples
    --------
    >>> print(ProblemsError("a.csv", ["line 2: x is missing"]))
    a.csv: 1 problem:
      - line 2: x is missing
    """

    label = ""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        n = len(problems)
        body = "\n".join(f"  - {p}" for p in problems)
        head = f"{self.label} {path}" if self.label else path
        super().__init__(f"{head}: {n} problem{'s' if n != 1 else ''}:\n{body}")


def positive(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def non_negative(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def fraction(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or not 0 < v <= 1:
        raise ValueError(f"{name} must be in (0, 1], got {value!r}")
    return v


def choice(name: str, value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value
