"""Rule test cases as data: ``cases.csv`` next to each pack's rules.

Each row sets some inputs (fields or indicators, given directly), names one rule, an as-of date
and the expected verdict. ``run_cases`` evaluates every case with the real evaluator and returns
one row per case with what was expected and what came out.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import RuleError
from .evaluate import VERDICTS, evaluate_rule
from .rules import Metric, Pack, Problems, RuleSet, metric_catalogue, read_table

CASE_COLUMNS = ["case_id", "rule_id", "as_of", "expected", "note"]
RESULT_COLUMNS = ["pack", "case_id", "rule_id", "as_of", "expected", "got", "ok", "note"]
_DTYPES = {"number": "float64", "bool": "boolean", "choice": "string", "text": "string"}


def run_cases(rule_set: RuleSet) -> pd.DataFrame:
    """Every case of every pack: ``pack, case_id, rule_id, as_of, expected, got, ok, note``."""
    catalogue = metric_catalogue()
    frames = [_run_pack(pack, rule_set, catalogue) for pack in rule_set.packs]
    frames = [frame for frame in frames if len(frame)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=RESULT_COLUMNS)


def uncovered(rule_set: RuleSet, results: pd.DataFrame) -> list[str]:
    """The rules that no case tests (in rule order)."""
    tested = set(results["rule_id"])
    return [rule.rule_id for rule in rule_set.rules if rule.rule_id not in tested]


def _run_pack(pack: Pack, rule_set: RuleSet, catalogue: dict[str, Metric]) -> pd.DataFrame:
    path = pack.folder / "cases.csv"
    if not path.exists():
        return pd.DataFrame(columns=RESULT_COLUMNS)
    cases = _read_cases(path)
    _check_cases(cases, path, pack, catalogue)
    rules = {rule.rule_id: rule for rule in rule_set.rules}
    inputs = _typed_inputs(cases.drop(columns=CASE_COLUMNS, errors="ignore"), catalogue)
    got = pd.Series("", index=cases.index, dtype=object)
    for (rule_id, as_of), group in cases.groupby(["rule_id", "as_of"], sort=False):
        result = evaluate_rule(
            rules[rule_id],
            inputs.loc[group.index],
            dt.date.fromisoformat(as_of),
            pack.in_force(dt.date.fromisoformat(as_of)),
        )
        got.loc[group.index] = [VERDICTS[code] for code in result.codes]
    return pd.DataFrame(
        {
            "pack": pack.id,
            "case_id": cases["case_id"],
            "rule_id": cases["rule_id"],
            "as_of": cases["as_of"],
            "expected": cases["expected"],
            "got": got,
            "ok": cases["expected"] == got,
            "note": cases.get("note", ""),
        }
    )


def _read_cases(path: Path) -> pd.DataFrame:
    """The cases of a pack, indexed by their row in the file; the file's problems raised."""
    problems = Problems()
    header, rows = read_table(path, problems, ["case_id", "rule_id", "as_of", "expected"])
    if problems:
        raise RuleError.from_rows(problems)
    numbers = [number for number, _ in rows]
    return pd.DataFrame([row for _, row in rows], index=numbers, columns=header, dtype=object)


def _check_cases(cases: pd.DataFrame, path: Path, pack: Pack, catalogue: dict[str, Metric]) -> None:
    ids = {rule.rule_id for rule in pack.rules}
    problems = []
    for number, row in cases.iterrows():
        if row.get("rule_id") not in ids:
            problems.append(
                _problem(path, number, "rule_id", row.get("rule_id"), "not a rule of this pack")
            )
        if row.get("expected") not in VERDICTS:
            problems.append(
                _problem(
                    path, number, "expected", row.get("expected"), f"one of {', '.join(VERDICTS)}"
                )
            )
        try:
            dt.date.fromisoformat(row.get("as_of", ""))
        except ValueError:
            problems.append(_problem(path, number, "as_of", row.get("as_of"), "a date"))
    for column in cases.columns:
        if column not in CASE_COLUMNS and column not in catalogue:
            problems.append(_problem(path, 1, column, column, "unknown input column"))
        elif column in catalogue:
            problems += _bad_inputs(cases[column], catalogue[column], path)
    if problems:
        raise RuleError.from_rows(problems)


def _bad_inputs(column: pd.Series, metric: Metric, path: Path) -> list[dict]:
    """Problems of the cells of an input column that are not values of its metric."""
    text = column.str.strip()
    if metric.kind == "number":
        numbers = pd.to_numeric(text.replace("", None), errors="coerce").astype(float)
        bad = (text != "") & ~np.isfinite(numbers)
        expected = "a finite number"
    elif metric.kind == "bool":
        bad = ~text.str.lower().isin(["", "true", "false"])
        expected = "true or false"
    else:
        return []
    return [
        _problem(path, number, column.name, value, expected)
        for number, value in column[bad].items()
    ]


def _problem(path: Path, row: int, column: str, value: object, message: str) -> dict:
    return {
        "file": str(path),
        "row": row,
        "column": column,
        "value": str(value),
        "message": message,
        "hint": "",
    }


def _typed_inputs(raw: pd.DataFrame, catalogue: dict[str, Metric]) -> pd.DataFrame:
    typed = {}
    for column in raw.columns:
        text = raw[column].str.strip()
        kind = catalogue[column].kind
        if kind == "number":
            typed[column] = pd.to_numeric(text.replace("", None), errors="raise").astype(float)
        elif kind == "bool":
            typed[column] = text.str.lower().map({"true": True, "false": False}).astype("boolean")
        else:
            typed[column] = text.replace("", None).astype(_DTYPES.get(kind, "string"))
    return pd.DataFrame(typed, index=raw.index)
