"""A verdict is not given on a doubted value.

``rules/decision/doubts.csv`` (data) names, per plausibility flag, the application fields a
raised flag doubts (``doubts``) and the fields whose evidence would clear the doubt
(``evidence``). Where a flag is raised, the *pass* of a gate or score rule of a green label
programme (role ``label`` or ``informative``) whose metric comes from a doubted field is
withheld: a withheld gate makes the programme read ``doubted`` instead of ``eligible`` (its
``_eligible`` blank) and the label ``doubted``, not granted, until the evidence clears the
doubt; a withheld score rule earns no points. A failing rule stays failing: a doubt never
makes a project look better.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .._shared.tables import reference_rows
from ..criteria.evaluate import FAIL, PASS, Evaluation, programme_results
from ..criteria.indicators import input_fields
from ..criteria.rules import nearest
from ..errors import RuleError, table_problem
from ..intake.dictionary import load_dictionary

DOUBTED = "doubted"
DOUBT_COLUMNS = ("rule_id", "doubts", "evidence", "meaning_en", "meaning_zh")
DOUBTING_ROLES = ("label", "informative")  # the programmes whose passes a doubt withholds


@dataclass(frozen=True)
class Doubt:
    """One row of ``doubts.csv`` (its file ``row``): the flag, the fields it doubts and the
    evidence asked for, with what it means in both languages."""

    row: int
    rule_id: str
    doubts: tuple[str, ...]
    evidence: tuple[str, ...]
    meaning_en: str
    meaning_zh: str


@lru_cache(maxsize=4)
def load_doubts(path: Path) -> tuple[Doubt, ...]:
    """The rows of ``path``: each flag once, every field name a field of the dictionary."""
    fields = list(load_dictionary().fields)
    found, problems, seen = [], [], set()
    for number, row in enumerate(reference_rows(path, DOUBT_COLUMNS[:3]), start=2):
        doubt = Doubt(
            number,
            str(row.get("rule_id") or ""),
            _names(row.get("doubts")),
            _names(row.get("evidence")),
            str(row.get("meaning_en") or ""),
            str(row.get("meaning_zh") or ""),
        )
        for column in ("doubts", "evidence"):
            problems += [
                table_problem(
                    path, number, column, "unknown field", got=name, hint=nearest(name, fields)
                )
                for name in getattr(doubt, column)
                if name not in fields
            ]
        if not doubt.doubts:
            problems.append(table_problem(path, number, "doubts", "names no field", got="blank"))
        if doubt.rule_id in seen:
            problems.append(
                table_problem(path, number, "rule_id", "a second row", got=doubt.rule_id)
            )
        seen.add(doubt.rule_id)
        found.append(doubt)
    if problems:
        raise RuleError.from_rows(problems)
    return tuple(found)


def check_doubts(doubts: tuple[Doubt, ...], severities: dict[str, str], path: Path) -> None:
    """Each doubt must name a flag of the rule set it is read with (``severities``: rule id
    -> severity)."""
    flags = sorted(rule for rule, severity in severities.items() if severity == "flag")
    problems = [
        table_problem(
            path,
            d.row,
            "rule_id",
            "not a flag of the rules",
            got=d.rule_id,
            hint=nearest(d.rule_id, flags),
        )
        for d in doubts
        if severities.get(d.rule_id) != "flag"
    ]
    if problems:
        raise RuleError.from_rows(problems)


def _names(text: object) -> tuple[str, ...]:
    return tuple(part.strip() for part in str(text or "").split(";") if part.strip())


def doubted_fields(evaluation: Evaluation, doubts: tuple[Doubt, ...]) -> dict[str, np.ndarray]:
    """Field -> the projects where a raised flag doubts it."""
    found: dict[str, np.ndarray] = {}
    for doubt in doubts:
        result = evaluation.results.get(doubt.rule_id)
        if result is None:
            continue
        raised = result.codes == FAIL
        for name in doubt.doubts:
            found[name] = found.get(name, np.zeros(len(raised), dtype=bool)) | raised
    return found


def doubted_passes(
    evaluation: Evaluation, fields: dict[str, np.ndarray], programmes: tuple[str, ...]
) -> list[tuple[object, np.ndarray]]:
    """Per gate and score rule of ``programmes`` whose metric comes from a doubted field
    (``fields``: :func:`doubted_fields`): the rule and the projects where it passes on a
    doubted value."""
    found: list[tuple[object, np.ndarray]] = []
    if not fields:
        return found
    for rule in evaluation.rules.rules:
        if rule.severity not in ("gate", "score") or rule.programme not in programmes:
            continue
        doubted = [fields[name] for name in input_fields(rule.metric) if name in fields]
        if doubted:
            passing = evaluation.results[rule.rule_id].codes == PASS
            found.append((rule, np.logical_or.reduce(doubted) & passing))
    return found


def with_doubts(evaluation: Evaluation, passes: list[tuple[object, np.ndarray]]) -> pd.DataFrame:
    """The programme results with the ``passes`` withheld (``doubted`` status, no points:
    :func:`criteria.evaluate.programme_results`); the evaluation's own when none is."""
    withheld = {rule.rule_id: rows for rule, rows in passes if rows.any()}
    if not withheld:
        return evaluation.programmes
    return programme_results(evaluation, withheld)
