"""The short PDF of a rules diff: rule changes, the flip summary, the flipped projects and the
verdict changes per rule, in the memo's look (:mod:`assessment.pdf_look`). English labels; the
same diff gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .pdf_look import Look
from .pdf_parts import Grid, section, write_story
from .rules_diff import RulesDiff

__all__ = ["write_diff_pdf"]

TITLE = "Rules diff"
MAX_FLIPS = 200  # the workbook holds them all


def write_diff_pdf(diff: RulesDiff, path: str | Path, *, as_of: str) -> Path:
    """Write the diff (A4) to ``path`` through a temporary file beside it."""
    look = Look("en")
    story = [
        look.para(TITLE, "title", True, look.colour["heading"]),
        look.para(f"Assessment date {as_of}; packs {_versions(diff)}"),
    ]
    story += _section(look, "Rule changes", _changes(diff.changes))
    if len(diff.flips):
        story += _section(look, "Flips per programme", _summary(diff.summary))
        story += _section(look, "Project flips", _flips(diff.flips.head(MAX_FLIPS)))
    if len(diff.verdicts):
        story += _section(look, "Verdict changes per rule", _verdicts(diff.verdicts))
    return write_story(look, story, path, TITLE, "assessment rules diff")


def _versions(diff: RulesDiff) -> str:
    old, new = diff.versions["old"], diff.versions["new"]
    return ", ".join(
        f"{pack} {old.get(pack, '-')} -> {new.get(pack, '-')}" for pack in sorted(old | new)
    )


def _section(look: Look, heading: str, grid: Grid) -> list:
    return section(look, heading, [grid.build(look)] if grid.rows else [], "No changes.")


def _changes(changes: pd.DataFrame) -> Grid:
    grid = Grid(["rule", "change", "column", "old", "new"], [110, 55, 70, 140, 140])
    for row in changes.itertuples(index=False):
        grid.add([row.rule_id, row.change, row.column, row.old, row.new])
    return grid


def _summary(summary: pd.DataFrame) -> Grid:
    columns = list(summary.columns)
    grid = Grid([c.replace("_", " ") for c in columns], [85, 80, 85, 85, 80, 90])
    for row in summary.itertuples(index=False):
        grid.add(list(row))
    return grid


def _flips(flips: pd.DataFrame) -> Grid:
    grid = Grid(["project", "outcome", "old", "new", "rules"], [80, 110, 60, 60, 205])
    for row in flips.itertuples(index=False):
        grid.add([row.project_id, row.outcome, row.old, row.new, row.rules])
    return grid


def _verdicts(verdicts: pd.DataFrame) -> Grid:
    grid = Grid(["rule", "old verdict", "new verdict", "projects"], [160, 100, 100, 80])
    for row in verdicts.itertuples(index=False):
        grid.add([row.rule_id, row.old, row.new, row.projects])
    return grid
