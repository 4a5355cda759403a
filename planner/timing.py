"""Where a run's time goes: wall-clock time per named stage, logged at INFO (``-v``).

Examples
--------
>>> timer = StageTimer()
>>> with timer("layers"):
...     pass
>>> list(timer.seconds)
['layers']
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


class StageTimer:
    """Adds up wall-clock seconds per stage; each stage's time is logged as it ends."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self.log = logger or log

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            dt = time.perf_counter() - t0
            self.seconds[stage] = self.seconds.get(stage, 0.0) + dt
            self.log.info("time: %s %.2f s", stage, dt)

    def summary(self, total: float | None = None) -> str:
        """One line: the stages, longest first, with their share of ``total``."""
        seconds = dict(self.seconds)
        if total is None:
            total = sum(seconds.values())
        elif total - sum(seconds.values()) > 0.05:
            seconds["other"] = total - sum(seconds.values())
        parts = [f"{k} {v:.1f} s ({100 * v / total:.0f} %)" if total > 0 else f"{k} {v:.1f} s"
                 for k, v in sorted(seconds.items(), key=lambda kv: -kv[1])]
        return f"{total:.1f} s: " + ", ".join(parts)


__all__ = ["StageTimer"]
