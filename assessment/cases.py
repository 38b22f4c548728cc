"""Rule test cases as data: ``cases.csv`` next to each pack's rules.

Each row sets some inputs (fields or indicators, given directly), names one rule, an as-of date
and the expected verdict. ``run_cases`` evaluates every case with the real evaluator and returns
one row per case with what was expected and what came out.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from .errors import RuleError
from .evaluate import VERDICTS, evaluate_rule
from .rules import Metric, Pack, RuleSet, metric_catalogue

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
    cases = pd.read_csv(path, dtype=str, keep_default_na=False)
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


def _check_cases(cases: pd.DataFrame, path: Path, pack: Pack, catalogue: dict[str, Metric]) -> None:
    ids = {rule.rule_id for rule in pack.rules}
    problems = []
    for number, row in enumerate(cases.to_dict("records"), start=2):
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
    if problems:
        raise RuleError.from_rows(problems)


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
            typed[column] = pd.to_numeric(text.replace("", None), errors="raise")
        elif kind == "bool":
            typed[column] = text.str.lower().map({"true": True, "false": False}).astype("boolean")
        else:
            typed[column] = text.replace("", None).astype(_DTYPES.get(kind, "string"))
    return pd.DataFrame(typed, index=raw.index)
