"""The short PDF of a rules diff: rule changes, the flip summary, the flipped projects, the
verdict changes per rule and the pass rates that changed (the pass rate's definition under
them), in the memo's look (:mod:`assessment.reports.pdf.style`). Every word comes
from the ``rules_diff`` section of ``templates/report/<lang>.yaml`` (the columns of a rule
table from its ``rule_columns``); verdicts, programmes, severities, confidences and
recommendations from the memo's maps there, metrics by their labels
(:class:`assessment.reports.fields.Wording`). The same diff gives the same bytes.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pandas as pd
from reportlab.platypus import Spacer

from .._shared.text import shown
from ..reports.fields import Wording
from ..reports.numbers import for_people
from ..reports.pdf.flowables import Grid, worded_grid, worded_section, write_story
from ..reports.pdf.style import Look, fill
from .rules_diff import SUMMARY_COLUMNS, RulesDiff

__all__ = ["write_diff_pdf"]

MAX_FLIPS = 200  # the workbook holds them all
# The rule columns whose values are codes, and the template's map that words them.
CODED_COLUMNS = {
    "programme": "programmes",
    "severity": "severities",
    "confidence": "confidences",
    "operator": "operators",
}


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
    story += _section(look, "changes", _changes(look, Wording(lang, words=look.words), diff))
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


def _changes(look: Look, wording: Wording, diff: RulesDiff) -> Grid:
    """Each change in words: the column's name, the values' codes and metrics, an added or
    removed rule as what it tests and its title in the language."""
    grid = _grid(look, ["rule", "change", "column", "old", "new"], [110, 55, 70, 140, 140])
    kinds = look.words["rules_diff"]["changes"]
    for row in diff.changes.itertuples(index=False):
        old, new = (_value(look, wording, row.column, value) for value in (row.old, row.new))
        if row.change in ("added", "removed") and row.rule_id in diff.rules:
            whole = _whole(look, wording, diff.rules[row.rule_id])
            old, new = ("", whole) if row.change == "added" else (whole, "")
        change = kinds.get(row.change, row.change)
        grid.add([row.rule_id, change, _column(look, row.column), old, new])
    return grid


def _column(look: Look, column: str) -> str:
    """A rule table's column in words; a segment's row as ``segment table[in_cluster=true]``."""
    names = look.words["rules_diff"]["rule_columns"]
    name, bracket, key = column.partition("[")
    return f"{names.get(name, name)}{bracket}{key}"


def _value(look: Look, wording: Wording, column: str, value: str) -> str:
    """A changed value in words: a code by the template's map, a metric by its label."""
    if column == "metric" and value:
        return wording.label(value)
    return look.word(CODED_COLUMNS[column], value) if column in CODED_COLUMNS else value


def _whole(look: Look, wording: Wording, about: dict) -> str:
    """An added or removed rule: its metric (label), operator, threshold and title."""
    title = (about["title_zh"] if look.lang == "zh" else "") or about["title_en"]
    return fill(
        look.words["rules_diff"]["whole"],
        metric=wording.label(str(about["metric"])),
        operator=look.word("operators", about["operator"]),
        threshold=shown(about["threshold"]),
        title=title,
    )


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
            fill(
                move,
                old=for_people(row[f"old_{name}"], unit),
                new=for_people(row[f"new_{name}"], unit),
            )
            for name, unit in _RATE_CELLS
        ]
        grid.add([row["rule_id"], *cells[:2], shown(row["shift_pp"], "{:+.1f}"), *cells[2:]])
    return grid


_RATE_CELLS = (  # each as people read it (reports.numbers.for_people), in its unit
    ("applicable", ""),
    ("pass_rate", "fraction"),
    ("fail_share", "fraction"),
    ("insufficient_share", "fraction"),
)
