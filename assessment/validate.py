"""Checks on typed values: ranges, plausibility, cross-field checks from ``checks.csv``, and
fields that a programme needs. Each check is vectorised over a batch; only failing cells are
turned into problem rows (with file, sheet and cell).
"""

from __future__ import annotations

import datetime as dt
import operator

import numpy as np
import pandas as pd

from .dictionary import Dictionary, Field
from .normalize import Batch, field_of

_COMPARE = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt,
            "==": operator.eq}
_NOT_IN_A_PLACE = ("", "none")


def validate_batch(typed: pd.DataFrame, batch: Batch, dictionary: Dictionary,
                   as_of: dt.date) -> list[dict]:
    """All problems of one typed batch, in a stable order."""
    problems: list[dict] = []
    for key in typed.columns:
        problems += _range_problems(typed, batch, key, field_of(key, dictionary))
    for check in dictionary.checks:
        problems += _check_problems(typed, batch, check, dictionary, as_of)
    problems += _missing_problems(typed, batch, dictionary)
    return problems


def _numbers(series: pd.Series) -> np.ndarray | None:
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=float, na_value=np.nan)
    return None


def _range_problems(typed: pd.DataFrame, batch: Batch, key: str, field: Field) -> list[dict]:
    values = _numbers(typed[key])
    if values is None:
        return []
    found = []
    unit = f" {field.unit}" if field.unit and field.unit != "fraction" else ""
    for low, high, severity, word, message in (
            (field.min, field.max, "error", "between", "out of range"),
            (field.plausible_min, field.plausible_max, "warning", "usually between",
             "an unusual value")):
        bad = _outside(values, low, high)
        for position in np.flatnonzero(bad):
            found.append(batch.problem(
                position, key, message, value=_shown(batch, key, position),
                expected=f"{word} {_fmt(low)} and {_fmt(high)}{unit}", severity=severity,
                hint=_range_hint(field, values[position])))
    return found


def _outside(values: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
    bad = np.zeros(len(values), dtype=bool)
    with np.errstate(invalid="ignore"):
        if low is not None:
            bad |= values < low
        if high is not None:
            bad |= values > high
    return bad


def _range_hint(field: Field, value: float) -> str:
    if field.type == "fraction":
        return "shares are fractions: 0.85 or 85%"
    unit = f" {field.unit}" if field.unit else ""
    return f"read as {value:,.6g}{unit}; check the value and its unit"


def _fmt(number: float | None) -> str:
    if number is None:
        return "-inf"
    return f"{number:,.6g}"


def _shown(batch: Batch, key: str, position: int) -> object:
    raw = batch.raw[key].iloc[position] if key in batch.raw.columns else None
    return "" if raw is None else raw


def _check_problems(typed: pd.DataFrame, batch: Batch, check: dict[str, str],
                    dictionary: Dictionary, as_of: dt.date) -> list[dict]:
    left, right = check["left"], check["right"]
    if left not in typed.columns or (right != "@as_of" and right not in typed.columns):
        return []
    if check["operator"] == "belongs_to":
        bad = _belongs_bad(typed, left, right, check["attribute"], dictionary)
        right_values = typed[right]
    else:
        bad, right_values = _compare_bad(typed, left, right, check, as_of)
    return [batch.problem(p, left, f"inconsistent with {right.lstrip('@')}",
                          value=_shown(batch, left, p),
                          expected=f"{check['expected_en']} ({right.lstrip('@')} = "
                                   f"{_plain(right_values, p)})",
                          severity=check["severity"], hint=f"check {check['check_id']}")
            for p in np.flatnonzero(bad)]


def _plain(values: object, position: int) -> str:
    value = values.iloc[position] if isinstance(values, pd.Series) else values
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, float):
        return f"{value:,.6g}"
    return str(value)


def _compare_bad(typed: pd.DataFrame, left: str, right: str, check: dict[str, str],
                 as_of: dt.date) -> tuple[np.ndarray, object]:
    compare = _COMPARE[check["operator"]]
    if right == "@as_of":
        right_values: object = pd.Timestamp(as_of)
        ok = compare(typed[left], right_values)
        return (~ok.fillna(True).astype(bool)).to_numpy() & typed[left].notna().to_numpy(), \
            right_values
    factor = float(check["factor"] or 1)
    lhs, rhs = _numbers(typed[left]), _numbers(typed[right])
    with np.errstate(invalid="ignore"):
        bad = ~compare(lhs, rhs * factor) & ~np.isnan(lhs) & ~np.isnan(rhs)
    return bad, typed[right] * factor


def _belongs_bad(typed: pd.DataFrame, left: str, right: str, attribute: str,
                 dictionary: Dictionary) -> np.ndarray:
    choice_set = dictionary.fields[left].choices
    parents = {row["code"]: row.get(attribute, "") for row in dictionary.choice_rows(choice_set)}
    lhs = typed[left].astype(object).where(typed[left].notna(), "")
    rhs = typed[right].astype(object).where(typed[right].notna(), "")
    expected = lhs.map(lambda code: parents.get(code, ""))
    skip = lhs.isin(_NOT_IN_A_PLACE) | rhs.isin(_NOT_IN_A_PLACE) | (expected == "")
    return (~skip & (expected != rhs)).to_numpy()


def _missing_problems(typed: pd.DataFrame, batch: Batch, dictionary: Dictionary) -> list[dict]:
    found: list[dict] = []
    for field in dictionary.fields.values():
        present = _present(typed, field)
        programmes = ", ".join(field.programmes)
        if field.required:
            expected, severity, hint = f"a {field.label_en} for every project", "error", \
                "fill it in; a row without it cannot be assessed"
        elif programmes:
            expected, severity, hint = f"a value (needed for {programmes})", "warning", \
                "fill it in, or these programmes are scored as insufficient"
        else:
            continue
        for position in np.flatnonzero(~present):
            found.append(batch.problem(position, field.name, "missing", expected=expected,
                                       severity=severity, hint=hint))
    return found


def _present(typed: pd.DataFrame, field: Field) -> np.ndarray:
    if field.type != "series":
        if field.name not in typed.columns:
            return np.zeros(len(typed), dtype=bool)
        return typed[field.name].notna().to_numpy()
    columns = [c for c in typed.columns if c.split("@", 1)[0] == field.name]
    if not columns:
        return np.zeros(len(typed), dtype=bool)
    return typed[columns].notna().any(axis=1).to_numpy()
