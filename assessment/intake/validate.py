"""Checks on typed values: ranges, plausibility, cross-field checks and bounds from
``checks.csv`` (a bound may hold only where the application asks for a programme: a loan
amount above 0 where a loan is applied for), and fields that a programme needs. Each check is
vectorised over a batch; only failing cells are turned into problem rows (with file, sheet and
cell).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterator

import numpy as np
import pandas as pd

from .._shared.text import shown
from .asked import requested_programmes
from .cells import check_as_of, is_missing
from .dictionary import Dictionary, Field, is_bound
from .normalize import Batch, field_of

_COMPARE = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
}
_NOT_IN_A_PLACE = ("", "none")


def validate_batch(
    typed: pd.DataFrame,
    batch: Batch,
    dictionary: Dictionary,
    as_of: dt.date,
    missing_warnings: bool = True,
) -> tuple[pd.DataFrame, list[dict]]:
    """A copy of ``typed`` with values outside their hard range blanked, and all problems.

    A blanked value is reported as an error with the value found, so rules never see an
    impossible PUE of 0.9 as a pass; an unusual value is only a warning and is kept. Without
    ``missing_warnings`` a missing optional field is not reported (a missing required one
    still is): a batch screen has no use for them.
    """
    check_as_of(as_of)
    problems: list[dict] = []
    clean = typed.copy(deep=False)  # a blanked value copies its column (copy on write)
    for key, found, bad in _ranges_problems(typed, batch, dictionary):
        problems += found
        if bad.any():
            clean.loc[bad, key] = None
    for check in dictionary.checks:
        if is_bound(check):
            found, bad = _bound_problems(clean, batch, check, dictionary)
            if bad.any():
                clean.loc[bad, check["left"]] = None
            problems += found
        else:
            problems += _check_problems(clean, batch, check, dictionary, as_of)
    problems += _missing_problems(typed, batch, dictionary, missing_warnings)
    return clean, problems


def _numbers(series: pd.Series) -> np.ndarray | None:
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=float, na_value=np.nan)
    return None


def _ranged(series: pd.Series) -> np.ndarray | None:
    """The values a range applies to: numbers, or the year of a date (a date field's range
    is in years: ``min`` 1990 refuses 1989-12-31)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.year.to_numpy(dtype=float, na_value=np.nan)
    return _numbers(series)


def _ranges_problems(
    typed: pd.DataFrame, batch: Batch, dictionary: Dictionary
) -> Iterator[tuple[str, list[dict], np.ndarray]]:
    """``(key, problems, hard-range failures)`` of each column with a value outside its range,
    in column order. The number columns are checked together, as one array; the rest (dates)
    one by one."""
    numeric = [key for key, kind in typed.dtypes.items() if _is_number(kind)]
    fields = [field_of(key, dictionary) for key in numeric]
    values = typed[numeric].to_numpy(dtype=float, na_value=np.nan)
    bounds = {
        name: np.array([np.nan if b is None else b for b in (getattr(f, name) for f in fields)])
        for name in ("min", "max", "plausible_min", "plausible_max")
    }
    with np.errstate(invalid="ignore"):
        outside = (values < bounds["min"]) | (values > bounds["max"])
        outside |= (values < bounds["plausible_min"]) | (values > bounds["plausible_max"])
    flagged = {numeric[at]: (values[:, at], fields[at]) for at in np.flatnonzero(outside.any(0))}
    dates = [
        key for key, kind in typed.dtypes.items() if pd.api.types.is_datetime64_any_dtype(kind)
    ]
    flagged |= {key: (_ranged(typed[key]), field_of(key, dictionary)) for key in dates}
    for key in typed.columns.tolist():
        if key in flagged:
            yield key, *_range_problems(typed, batch, key, flagged[key][1], flagged[key][0])


def _is_number(kind: object) -> bool:
    """A column of numbers (floats or whole numbers, nullable or not), not of booleans."""
    return getattr(kind, "kind", "") in ("i", "u", "f", "c")


def _range_problems(
    typed: pd.DataFrame, batch: Batch, key: str, field: Field, values: np.ndarray
) -> tuple[list[dict], np.ndarray]:
    """Problems outside the hard range (errors) and the plausible range (warnings), and the
    mask of hard-range failures."""
    found = []
    hard = _outside(values, field.min, field.max)
    for low, high, severity, word, message in (
        (field.min, field.max, "error", "between", "out of range"),
        (
            field.plausible_min,
            field.plausible_max,
            "warning",
            "usually between",
            "an unusual value",
        ),
    ):
        bad = _outside(values, low, high) if severity == "warning" else hard
        for position in np.flatnonzero(bad & ~hard if severity == "warning" else bad):
            found.append(
                batch.problem(
                    position,
                    key,
                    message,
                    value=_shown(batch, key, position),
                    expected=_range_text(field, word, low, high),
                    severity=severity,
                    hint=_range_hint(field, typed[key].iloc[position]),
                )
            )
    return found, hard


def _outside(values: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
    bad = np.zeros(len(values), dtype=bool)
    with np.errstate(invalid="ignore"):
        if low is not None:
            bad |= values < low
        if high is not None:
            bad |= values > high
    return bad


def _range_text(field: Field, word: str, low: float | None, high: float | None) -> str:
    """``between 1 and 3``, ``usually between 0.01 and 1,500 MW``; for a date, years:
    ``a date in 1990 or later``."""
    if field.type == "date":
        years = [f"in {low:.0f} or later" if low is not None else ""]
        years.append(f"in {high:.0f} or earlier" if high is not None else "")
        usually = "usually " if word.startswith("usually") else ""
        return f"{usually}a date " + " and ".join(part for part in years if part)
    unit = f" {field.unit}" if field.unit and field.unit != "fraction" else ""
    return f"{word} {_fmt(low, '-inf')} and {_fmt(high, 'inf')}{unit}"


def _range_hint(field: Field, value: object) -> str:
    if field.type == "fraction":
        return "shares are fractions: 0.85 or 85%"
    if field.type == "date":
        early = "a small number in a date cell reads as 1900"
        return f"read as {value:%Y-%m-%d}; check the year ({early})"
    unit = f" {field.unit}" if field.unit else ""
    return f"read as {shown(float(value))}{unit}; check the value and its unit"


def _fmt(number: float | None, unbounded: str) -> str:
    return unbounded if number is None else shown(number)


def _shown(batch: Batch, key: str, position: int) -> object:
    raw = batch.raw[key].iloc[position] if key in batch.raw.columns else None
    return "" if raw is None else raw


def _bound_problems(
    typed: pd.DataFrame, batch: Batch, check: dict[str, str], dictionary: Dictionary
) -> tuple[list[dict], np.ndarray]:
    """A field against a number (``right`` a number in ``checks.csv``), checked like a hard
    range: problems, and the mask of values to blank (an error's). With a ``programme`` only
    the projects that ask for it are held to the bound (:mod:`.asked`); elsewhere a value
    failing it means none (a loan amount of 0 on a REIT issuance: no loan) and is blanked
    without a problem."""
    left = check["left"]
    values = _numbers(typed[left]) if left in typed.columns else None
    if values is None:
        return [], np.zeros(len(typed), dtype=bool)
    with np.errstate(invalid="ignore"):
        bad = ~_COMPARE[check["operator"]](values, float(check["right"])) & ~np.isnan(values)
    held = _held(typed, check)
    field = dictionary.fields[left]
    found = [
        batch.problem(
            p,
            left,
            "out of range",
            value=_shown(batch, left, p),
            expected=check["expected_en"],
            severity=check["severity"],
            hint=f"{_range_hint(field, typed[left].iloc[p])}{_asked_for(check)}",
        )
        for p in np.flatnonzero(bad & held)
    ]
    return found, bad & (~held | (check["severity"] == "error"))


def _held(typed: pd.DataFrame, check: dict[str, str]) -> np.ndarray:
    """The projects a check applies to: all, or those asking for its ``programme``."""
    programme = check.get("programme")
    if not programme:
        return np.ones(len(typed), dtype=bool)
    return requested_programmes(typed)[programme]


def _asked_for(check: dict[str, str]) -> str:
    programme = check.get("programme")
    if not programme:
        return ""
    return f"; the application asks for {programme} (check {check['check_id']})"


def _check_problems(
    typed: pd.DataFrame, batch: Batch, check: dict[str, str], dictionary: Dictionary, as_of: dt.date
) -> list[dict]:
    left, right = check["left"], check["right"]
    if left not in typed.columns or (right != "@as_of" and right not in typed.columns):
        return []
    if check["operator"] == "belongs_to":
        bad = _belongs_bad(typed, left, right, check["attribute"], dictionary)
        right_values = typed[right]
    else:
        bad, right_values = _compare_bad(typed, left, right, check, as_of)
    return [
        batch.problem(
            p,
            left,
            f"inconsistent with {right.lstrip('@')}",
            value=_shown(batch, left, p),
            expected=f"{check['expected_en']} ({right.lstrip('@')} = {_plain(right_values, p)})",
            severity=check["severity"],
            hint=f"check {check['check_id']}",
        )
        for p in np.flatnonzero(bad)
    ]


def _plain(values: object, position: int) -> str:
    if isinstance(values, pd.Series | np.ndarray):
        return shown(values.iloc[position] if isinstance(values, pd.Series) else values[position])
    return shown(values)


def _compare_bad(
    typed: pd.DataFrame, left: str, right: str, check: dict[str, str], as_of: dt.date
) -> tuple[np.ndarray, object]:
    compare = _COMPARE[check["operator"]]
    if right == "@as_of":
        right_values: object = pd.Timestamp(as_of)
        ok = compare(typed[left], right_values)
        return (~ok.fillna(True).astype(bool)).to_numpy() & typed[
            left
        ].notna().to_numpy(), right_values
    factor = float(check["factor"] or 1)
    lhs, rhs = _numbers(typed[left]), _numbers(typed[right])
    with np.errstate(invalid="ignore"):
        bad = ~compare(lhs, rhs * factor) & ~np.isnan(lhs) & ~np.isnan(rhs)
    return bad, rhs * factor


def _belongs_bad(
    typed: pd.DataFrame, left: str, right: str, attribute: str, dictionary: Dictionary
) -> np.ndarray:
    parents = dictionary.choice_map(dictionary.fields[left].choices, attribute)
    lhs = typed[left].to_numpy(dtype=object, na_value="")
    rhs = typed[right].to_numpy(dtype=object, na_value="")
    codes, distinct = pd.factorize(lhs, use_na_sentinel=True)
    expected = np.array([parents.get(code, "") for code in distinct] + [""], dtype=object)[codes]
    skip = _among(lhs, _NOT_IN_A_PLACE) | _among(rhs, _NOT_IN_A_PLACE) | (expected == "")
    return ~skip & (expected != rhs)


def _among(values: np.ndarray, codes: tuple[str, ...]) -> np.ndarray:
    """Whether each value is one of ``codes``."""
    found = np.zeros(len(values), dtype=bool)
    for code in codes:
        found |= values == code
    return found


def _missing_problems(
    typed: pd.DataFrame, batch: Batch, dictionary: Dictionary, warnings: bool = True
) -> list[dict]:
    found: list[dict] = []
    given = _Given(typed, batch)
    kinds = None
    if "project_kind" in typed.columns:
        kinds = typed["project_kind"].to_numpy(dtype=object, na_value=None)
    for field in dictionary.fields.values():
        if not (field.required or warnings):
            continue
        programmes = ", ".join(field.programmes)
        if field.required:
            expected, severity, hint = (
                f"a {field.label_en} for every project",
                "error",
                "fill it in; a row without it cannot be assessed",
            )
        elif programmes:
            expected, severity, hint = (
                f"a value (needed for {programmes})",
                "warning",
                "fill it in, or these programmes are scored as insufficient",
            )
        else:
            continue
        for position in np.flatnonzero(~given.present(field) & _needed(kinds, field, len(typed))):
            found.append(
                batch.problem(
                    position, field.name, "missing", expected=expected, severity=severity, hint=hint
                )
            )
    return found


def _needed(kinds: np.ndarray | None, field: Field, rows: int) -> np.ndarray:
    """Rows whose project kind (``kinds``, None without the column) needs the field (a new
    build has no measured PUE yet)."""
    if not field.not_needed_for or kinds is None:
        return np.ones(rows, dtype=bool)
    return ~_among(kinds, tuple(field.not_needed_for))


class _Given:
    """Which cells were given, for every column at once: parsed, or written but unreadable
    (already an error)."""

    def __init__(self, typed: pd.DataFrame, batch: Batch) -> None:
        self.rows = len(typed)
        self.parsed = typed.notna().to_numpy()
        self.batch = batch
        self.columns: dict[str, list[tuple[int, str]]] = {}
        for number, column in enumerate(typed.columns.tolist()):
            self.columns.setdefault(column.split("@", 1)[0], []).append((number, column))

    def present(self, field: Field) -> np.ndarray:
        """Rows where the field (any year of a series) was given."""
        present = np.zeros(self.rows, dtype=bool)
        for number, column in self.columns.get(field.name, []):
            parsed = self.parsed[:, number].copy()
            if not parsed.all():
                raw = np.asarray(self.batch.column(column))
                unread = np.flatnonzero(~parsed & pd.notna(raw))
                written = [not is_missing(raw[p], field.type) for p in unread]
                parsed[unread[np.array(written, dtype=bool)]] = True
            present |= parsed
        return present
