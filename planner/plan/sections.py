"""What the system plan and the coalition game add to a study run's outputs.

:func:`extra_sections` is the one call :func:`planner.runner.write_outputs` makes: it writes
the plan's files into the run's temporary folder, carries over the coalition game's files
from the previous outputs (``planner coalitions`` writes them beside the study's), and
returns what they add to the report and the map through the hooks of
:func:`planner.report.study_report_html` (``extra_sections``) and
:func:`planner.report.study_map` (``extra_layers``, ``extra_panels``).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium

from planner.report import ReportSection

log = logging.getLogger(__name__)

#: Files of ``planner coalitions`` kept across study runs.
COALITION_FILES = ("coalitions.csv", "shares.csv", "prices.csv", "coalitions.json")


@dataclass
class ExtraOutputs:
    """What the plan and the coalition game add: Markdown appended to ``report.md``,
    sections of ``report.html``, layers and side-panel sections of ``index.html``."""

    markdown: str = ""
    sections: list[ReportSection] = field(default_factory=list)
    layers: list[Callable[[folium.Map], Any]] = field(default_factory=list)
    panels: list[tuple[str, str]] = field(default_factory=list)


def _game_fingerprint(folder: Path) -> str | None:
    """The study fingerprint a coalition game in ``folder`` was computed for, if any."""
    import json

    try:
        summary = json.loads((folder / "coalitions.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = summary.get("study_fingerprint") if isinstance(summary, dict) else None
    return str(value) if value else None


def extra_sections(target: Path, tmp: Path, plan: Any, names: dict[str, Path],
                   study_fingerprint: str | None = None) -> ExtraOutputs:
    """Write the plan's files into ``tmp`` (adding them to ``names``), carry the coalition
    files over from ``target`` when they were computed for this very study, layers and
    code (``study_fingerprint``, :func:`planner.cache.inputs_fingerprint`); return what
    they add to the report and the map."""
    out = ExtraOutputs()
    if plan is not None:
        names.update(plan.write(tmp))
        out.markdown += "\n" + plan.report_markdown()
        out.sections.append(ReportSection("System plan", plan.report_html(heading=False),
                                          "system-plan"))
        # hidden at start: the decision map opens on the chosen scenario's routes
        out.layers.append(lambda m: plan.add_to_map(m, show=False))
        out.panels.append(("System plan", plan.panel_html()))
    game_of = _game_fingerprint(target) if (target / "coalitions.csv").exists() else None
    if (target / "coalitions.csv").exists() and study_fingerprint is not None \
            and game_of != study_fingerprint:
        log.warning("the coalition results in %s were computed for another version of the "
                    "study, its layers or the planner and are not carried over: run "
                    "`planner coalitions` again", target)
    elif (target / "coalitions.csv").exists():
        for f in COALITION_FILES:
            if (target / f).exists():
                shutil.copy2(target / f, tmp / f)
                names[f.replace(".", "_")] = tmp / f
        from planner.coalition.report import (
            MARK_END,
            MARK_START,
            TITLE,
            coalition_panel_body,
            coalition_section,
            read_game_files,
        )

        game = read_game_files(tmp)
        sec_md, _ = coalition_section(game)
        _, sec_html = coalition_section(game, heading=False)
        out.markdown += "\n" + sec_md
        # markers: a later `planner coalitions` replaces the body in place
        out.sections.append(ReportSection(TITLE, MARK_START + sec_html + MARK_END,
                                          "coalitions"))
        out.panels.append((TITLE, MARK_START + coalition_panel_body(game) + MARK_END))
    return out


__all__ = ["COALITION_FILES", "ExtraOutputs", "extra_sections"]
