"""What the system plan and the coalition game add to a study run's outputs.

:func:`extra_sections` is the one call :func:`planner.runner.write_outputs` makes: it writes
the plan's files into the run's temporary folder, carries over the coalition game's files
from the previous outputs (``planner coalitions`` writes them beside the study's), and
returns the report sections (Markdown, HTML) and a function adding the map layers.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import folium

#: Files of ``planner coalitions`` kept across study runs.
COALITION_FILES = ("coalitions.csv", "shares.csv", "prices.csv", "coalitions.json")


def extra_sections(target: Path, tmp: Path, plan: Any, names: dict[str, Path]
                   ) -> tuple[str, str, Callable[[folium.Map], None]]:
    """Write the plan's files into ``tmp`` (adding them to ``names``), carry the coalition
    files over from ``target``; return (Markdown, HTML, map function)."""
    md, htm = "", ""
    if plan is not None:
        names.update(plan.write(tmp))
        md += "\n" + plan.report_markdown()
        htm += plan.report_html()
    game = None
    if (target / "coalitions.csv").exists():
        for f in COALITION_FILES:
            if (target / f).exists():
                shutil.copy2(target / f, tmp / f)
                names[f.replace(".", "_")] = tmp / f
        from planner.coalition.report import coalition_section, read_game_files

        game = read_game_files(tmp)
        sec_md, sec_html = coalition_section(game)
        md += "\n" + sec_md
        htm += sec_html

    def add(m: folium.Map) -> None:
        if plan is not None:
            plan.add_to_map(m)
        if game is not None:
            from planner.coalition.report import add_coalition_panel

            add_coalition_panel(m, game)

    return md, htm, add


__all__ = ["COALITION_FILES", "extra_sections"]
