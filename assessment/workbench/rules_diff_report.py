"""The short PDF of a rules diff: rule changes, the flip summary, the flipped projects, the
verdict changes per rule and the pass rates that changed (the pass rate's definition under
them), in the memo's look (:mod:`assessment.reports.pdf.style`). Every word comes
from the ``rules_diff`` section of ``templates/report/<lang>.yaml``; verdicts, programmes and
recommendations from the memo's maps there. The same diff gives the same bytes.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pandas as pd
from reportlab.platypus import Spacer

from .._shared.text import shown
from ..reports.pdf.flowables import Grid, worded_grid, worded_section, write_story
from ..reports.pdf.style import Look, fill
from .rules_diff import SUMMARY_COLUMNS, RulesDiff

__all__ = ["write_diff_pdf"]

MAX_FLIPS = 200  # the workbook holds them all


def write_diff_pdf(
    diff: RulesDiff,
    path: str | Path,
    *,
    as_of: str,
    lang: str = "en",
    templates: str | Path | None = None,
) -> Path:
    """Write the diff (A4) in ``lang`` to ``path`` through a temporary file beside it; a
    ``templates`` folder is searched first for the wording and style."""
    look = Look(lang, templates)
    words = look.words["rules_diff"]
    story = [
        look.para(words["title"], "title", True, look.colour["heading"]),
        look.para(fill(words["lead"], as_of=as_of, packs=_versions(words, diff))),
    ]
    story += _section(look, "changes", _changes(look, diff.changes))
    if len(diff.flips):
        story += _section(look, "summary", _summary(look, diff.summary))
        story += _section(look, "flips", _flips(look, diff.flips.head(MAX_FLIPS)))
    if len(diff.verdicts):
        story += _section(look, "verdicts", _verdicts(look, diff.verdicts))
    rates = _rates(look, diff.changed_rates())
    if rates.rows:
        definition = look.para(look.words["pass_rate"]["definition"])
        story += worded_section(
            look, "rates", [rates.build(look), Spacer(1, 3), definition], group="rules_diff"
        )
    return write_story(look, story, path, words["title"], words["author"])


def _versions(words: dict, diff: RulesDiff) -> str:
    old, new = diff.versions["old"], diff.versions["new"]
    return words["separator"].join(
        fill(words["pack"], pack=pack, old=old.get(pack, "-"), new=new.get(pack, "-"))
        for pack in sorted(old | new)
    )


def _section(look: Look, key: str, grid: Grid) -> list:
    content = [grid.build(look)] if grid.rows else []
    return worded_section(look, key, content, group="rules_diff")


_grid = partial(worded_grid, group="rules_diff")


def _changes(look: Look, changes: pd.DataFrame) -> Grid:
    grid = _grid(look, ["rule", "change", "column", "old", "new"], [110, 55, 70, 140, 140])
    kinds = look.words["rules_diff"]["changes"]
    for row in changes.itertuples(index=False):
        grid.add([row.rule_id, kinds.get(row.change, row.change), row.column, row.old, row.new])
    return grid


def _summary(look: Look, summary: pd.DataFrame) -> Grid:
    columns = [c for c in SUMMARY_COLUMNS if c in summary.columns]
    grid = _grid(look, columns, [85, 80, 85, 85, 80, 90][: len(columns)])
    for row in summary[columns].itertuples(index=False):
        grid.add([_programme(look, row.programme), *row[1:]])
    return grid


def _programme(look: Look, programme: str) -> str:
    if programme == "all":
        return look.words["rules_diff"]["all"]
    return look.word("programmes", programme)


def _flips(look: Look, flips: pd.DataFrame) -> Grid:
    grid = _grid(look, ["project", "outcome", "old", "new", "rules"], [80, 110, 60, 60, 205])
    for row in flips.itertuples(index=False):
        old, new = (_flip_value(look, row.outcome, value) for value in (row.old, row.new))
        grid.add([row.project_id, _outcome(look, row.outcome), old, new, row.rules])
    return grid


def _outcome(look: Look, outcome: str) -> str:
    """``green_status`` -> the programme's status, ``green_grade`` -> its grade."""
    phrases = look.words["rules_diff"]["outcomes"]
    programme, _, kind = outcome.rpartition("_")
    if programme and kind in ("status", "grade"):
        return fill(phrases[kind], programme=look.word("programmes", programme))
    return str(phrases.get(outcome, outcome))


def _flip_value(look: Look, outcome: str, value: str) -> str:
    if outcome == "recommendation":
        return look.word("recommendations", value)
    if outcome.endswith("_status"):
        return look.word("statuses", value)
    return value


def _verdicts(look: Look, verdicts: pd.DataFrame) -> Grid:
    columns = ["rule", "old_verdict", "new_verdict", "projects"]
    grid = _grid(look, columns, [160, 100, 100, 80])
    for row in verdicts.itertuples(index=False):
        old, new = look.word("verdicts", row.old), look.word("verdicts", row.new)
        grid.add([row.rule_id, old, new, row.projects])
    return grid


def _rates(look: Look, rates: pd.DataFrame) -> Grid:
    """Per rule: projects it applies to, pass rate, its shift, fail and cannot-be-decided
    shares, each old -> new."""
    columns = ["rule", "applicable", "pass_rate", "shift_pp", "fail", "insufficient"]
    grid = _grid(look, columns, [130, 75, 90, 46, 85, 85])
    move = look.words["rules_diff"]["move"]
    for row in rates.to_dict("records"):
        cells = [
            fill(move, old=shown(row[f"old_{name}"], spec), new=shown(row[f"new_{name}"], spec))
            for name, spec in _RATE_CELLS
        ]
        grid.add([row["rule_id"], *cells[:2], shown(row["shift_pp"], "{:+.1f}"), *cells[2:]])
    return grid


_RATE_CELLS = (
    ("applicable", "{:,.0f}"),
    ("pass_rate", "{:.1%}"),
    ("fail_share", "{:.1%}"),
    ("insufficient_share", "{:.1%}"),
)
