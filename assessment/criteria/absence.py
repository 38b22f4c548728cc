"""Structurally absent model features as data: ``rules/model/structural_absence.csv`` says
where a feature cannot exist for a project (the LTV of a construction loan: nothing is
appraised before completion). The table is validated like a rule pack (names, conditions and
codes), and :func:`structural_absence` gives, per row, the features absent for it; the model
(:func:`assessment.model.predict.predict`) then gives each a neutral value."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from .._shared.resources import data_dir
from ..errors import RuleError
from . import conditions
from .rules import Metric, Problems, metric_catalogue, nearest, read_table

ABSENCE_COLUMNS = ["feature", "when", "reason_en", "reason_zh", "source"]


@dataclass(frozen=True)
class Absence:
    """One row of ``structural_absence.csv``: ``feature`` cannot exist where ``when`` holds."""

    feature: str
    when: str
    condition: object
    reason_en: str
    reason_zh: str
    source: str


@lru_cache(maxsize=8)
def load_absence(path: str | Path | None = None) -> tuple[Absence, ...]:
    """The structural-absence table, validated: every problem (an unknown feature or name in a
    condition, a condition that does not parse, an unknown code, a blank reason or source) is
    reported together in one :class:`RuleError` naming the file, row and column."""
    path = Path(path) if path else data_dir("rules") / "model" / "structural_absence.csv"
    problems = Problems()
    _, rows = read_table(path, problems, ABSENCE_COLUMNS)
    catalogue = metric_catalogue()
    found = tuple(_absence(path, number, row, catalogue, problems) for number, row in rows)
    if problems:
        raise RuleError.from_rows(problems)
    return found


def _absence(
    path: Path, number: int, row: dict, catalogue: dict[str, Metric], problems: Problems
) -> Absence:
    row = {key: row[key].strip() for key in ABSENCE_COLUMNS}
    _known_name(path, number, "feature", row["feature"], catalogue, problems)
    for column in ("when", "reason_en", "reason_zh", "source"):
        if not row[column]:
            problems.add(path, number, column, "", f"{column} is required")
    return Absence(**row, condition=_condition(path, number, row["when"], catalogue, problems))


def _known_name(
    path: Path, number: int, column: str, name: str, catalogue: dict, problems: Problems
) -> bool:
    if name in catalogue:
        return True
    expected = "expected a field of fields.csv or an indicator"
    hint = nearest(name, list(catalogue)) or "see README section Indicators"
    problems.add(path, number, column, name, f"unknown name {name!r}; {expected}", hint)
    return False


def _condition(
    path: Path, number: int, text: str, catalogue: dict[str, Metric], problems: Problems
) -> object:
    """The parsed ``when``; its names must be known and its codes valid for choice fields."""
    try:
        tree = conditions.parse(text)
    except conditions.ConditionError as error:
        problems.add(path, number, "when", text, f"the condition does not parse: {error}")
        return None
    for test in conditions.names(tree):
        if _known_name(path, number, "when", test.name, catalogue, problems):
            _check_codes(path, number, test, catalogue[test.name].choices, problems)
    return tree


def _check_codes(
    path: Path, number: int, test: conditions.Comparison, choices: tuple, problems: Problems
) -> None:
    """Every value a test compares a choice field with is one of its codes."""
    for code in (value for value in test.literals if choices and value not in choices):
        hint = nearest(str(code), list(choices)) or f"one of {', '.join(choices)}"
        problems.add(path, number, "when", code, f"unknown code {code!r} of {test.name}", hint)


def structural_absence(
    frame: pd.DataFrame, absence: tuple[Absence, ...] | None = None
) -> pd.DataFrame:
    """One boolean column per feature of ``absence`` (default: the packaged table): True
    where a row of the table holds for the project. A row whose condition names a column
    ``frame`` lacks does not apply (nothing is known of it)."""
    absence = load_absence() if absence is None else absence
    columns, present = conditions.Columns(frame), set(frame.columns)
    found: dict[str, object] = {}
    for row in absence:
        if {test.name for test in conditions.names(row.condition)} <= present:
            truth, known = conditions.evaluate(row.condition, columns)
            found[row.feature] = found.get(row.feature, False) | (truth & known)
    return pd.DataFrame(found, index=frame.index) if found else pd.DataFrame(index=frame.index)
