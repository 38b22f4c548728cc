"""Turn one raw cell into a typed value in base units, or say why it cannot be.

A raw cell is whatever the reader found: a float, int, bool, datetime or string. Parsing follows
the field's type from the dictionary; units come from the value itself (``"3.5亿元"``,
``"85%"``) or else from the column or row (``"Revenue (万元)"``). Every failure raises
:class:`BadValue` carrying what was expected and a hint; the caller turns it into a problem row.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import unicodedata
from fractions import Fraction

import numpy as np
import pandas as pd

from .._shared.text import shown
from ..errors import AssessmentError
from .dictionary import Dictionary, Field, Unit, canonical_text, match_key

FORMULA_STARTS = ("=", "+", "-", "@")  # text starting so is written as text, never a formula
MISSING_MARKERS = frozenset(
    {
        "",
        "-",
        "--",
        "---",
        "—",
        "–",
        "/",
        "n/a",
        "na",
        "n.a.",
        "nan",
        "null",
        "#n/a",
        "不适用",
        "暂无",
        "无数据",
        "空",
    }
)
_TRUE = frozenset({"是", "有", "yes", "y", "true", "t", "1", "√", "✓", "✔", "对", "ok"})
_FALSE = frozenset({"否", "无", "no", "n", "false", "f", "0", "×", "✗", "✘", "x", "不是", "没有"})
_NUMBER = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*)$")
_THOUSANDS = re.compile(r"(?<=\d)[,\s'_](?=\d{3}(?!\d))")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DIMENSIONLESS = Unit("", "", Fraction(1), False)
_DATE_PATTERNS = (
    (re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T].*)?$"), "ymd"),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), "ymd"),
    (re.compile(r"^(\d{4})[-/.年](\d{1,2})月?$"), "ym"),
    (re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$"), "dmy_or_mdy"),
)


class BadValue(Exception):
    """A cell that does not parse: what was expected, and a hint."""

    def __init__(self, expected: str, hint: str = "") -> None:
        super().__init__(expected)
        self.expected, self.hint = expected, hint


def is_na(value: object) -> bool:
    """None, ``pd.NA`` or a float NaN: a value pandas holds as missing (an infinity is not)."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def is_missing(raw: object, field_type: str) -> bool:
    """An empty cell; for non-text fields also a 'not available' marker such as ``N/A``."""
    if raw is None:
        return True
    if isinstance(raw, float) and math.isnan(raw):
        return True
    if isinstance(raw, str):
        text = canonical_text(raw)
        return not text or (field_type != "text" and text.casefold() in MISSING_MARKERS)
    return False


def parse_text(raw: object) -> str:
    """Text stays text (``"NA"`` is a value); an integral number loses its ``.0``."""
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, dt.datetime) and raw.time() == dt.time():
        return raw.date().isoformat()
    if isinstance(raw, dt.date | dt.datetime):
        return raw.isoformat()
    return str(raw).strip()


def clean_id(text: str) -> str:
    """An identifier as people read it: NFKC (full-width letters and digits become ASCII),
    each space, tab or line break of any kind as a plain space, control and invisible
    characters (NUL, zero-width space, byte-order mark, direction marks) removed, stripped."""
    if text.isascii() and text.isprintable():
        return text.strip()
    kept = (_id_char(ch) for ch in unicodedata.normalize("NFKC", text))
    return "".join(kept).strip()


def _id_char(ch: str) -> str:
    category = unicodedata.category(ch)
    if category[0] == "Z" or ch in "\t\n\r\v\f":
        return " "
    return "" if category[0] == "C" else ch


def shown_invisible(text: str) -> str:
    """``text`` with each control, invisible or unusual space character written as
    ``<U+200B>``."""
    return "".join(f"<U+{ord(ch):04X}>" if _unseen(ch) else ch for ch in text)


def _unseen(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "CZ" and ch != " "


def parse_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float) and raw in (0, 1):
        return bool(raw)
    key = canonical_text(raw).casefold().rstrip(".")
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise BadValue("yes or no (是/否, Y/N, TRUE/FALSE, 1/0)")


FIRST_DATE, LAST_DATE = dt.date(1900, 1, 1), dt.date(2100, 12, 31)  # the dates read or used


def parse_date(raw: object) -> dt.date:
    """A calendar date between 1900 and 2100 from a date cell, an Excel serial or text."""
    date = _any_date(raw)
    if not FIRST_DATE <= date <= LAST_DATE:
        raise BadValue("a date between 1900 and 2100", "check the year")
    return date


def check_as_of(as_of: dt.date) -> dt.date:
    """The assessment date, refused outside the dates the engine reads (1900-2100)."""
    if not FIRST_DATE <= as_of <= LAST_DATE:
        raise AssessmentError(
            "the assessment date is out of range",
            where="as_of",
            expected=f"a date between {FIRST_DATE} and {LAST_DATE}",
            got=str(as_of),
            hint="pass --as-of YYYY-MM-DD (as_of= in Python) within that range",
        )
    return as_of


def as_of_date(value: object, *, default: dt.date | None = None) -> dt.date:
    """The assessment date from a date, a datetime, a pandas Timestamp, a numpy datetime64 or
    an ISO string (``"2025-06-30"``); ``default`` stands for a missing one where the caller
    has one. Anything else, or a date outside 1900-2100, raises :class:`AssessmentError`."""
    if value is None and default is not None:
        return check_as_of(default)
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if value is pd.NaT or value is None:
        raise _not_a_date(value, "the assessment date is missing")
    if isinstance(value, dt.datetime):
        return check_as_of(value.date())
    if isinstance(value, dt.date):
        return check_as_of(value)
    if isinstance(value, str):
        return check_as_of(_iso_date(value))
    raise _not_a_date(value, "the assessment date is not a date")


def _iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text.strip()).date()
    except ValueError:
        raise _not_a_date(text, "the assessment date is not a valid ISO date") from None


def _not_a_date(value: object, what: str) -> AssessmentError:
    return AssessmentError(
        what,
        where="as_of",
        expected="a date, a datetime, a pandas Timestamp or an ISO date string (YYYY-MM-DD)",
        got=f"{value!r} ({type(value).__name__})",
        hint="pass --as-of YYYY-MM-DD (as_of='2025-06-30' or a datetime.date in Python)",
    )


def _any_date(raw: object) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return _excel_serial(float(raw))
    text = canonical_text(raw)
    for pattern, order in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            return _date_from_parts(match.groups(), order)
    raise BadValue(
        "a date such as 2021-06-30, 2021/6/30, 2021年6月30日 or 2021-06",
        "write dates as YYYY-MM-DD",
    )


def _excel_serial(serial: float) -> dt.date:
    if not 1 <= serial <= 2958465 or not serial.is_integer():
        raise BadValue("a date (or an Excel date serial number)", "write dates as YYYY-MM-DD")
    return _EXCEL_EPOCH + dt.timedelta(days=int(serial))


def _date_from_parts(parts: tuple[str, ...], order: str) -> dt.date:
    numbers = [int(p) for p in parts]
    if order == "ym":
        numbers.append(1)
    elif order == "dmy_or_mdy":
        first, second, year = numbers
        if first <= 12 and second <= 12 and first != second:
            raise BadValue(
                "an unambiguous date", "day and month could be swapped: write it as YYYY-MM-DD"
            )
        day, month = (first, second) if first > 12 or second <= 12 else (second, first)
        numbers = [year, month, day]
    try:
        return dt.date(*numbers)
    except ValueError:
        raise BadValue("a calendar date that exists", "check day and month") from None


def parse_choice(raw: object, field: Field, dictionary: Dictionary) -> str:
    code = dictionary.choice_code(field.choices, raw)
    if code is not None:
        return code
    options = dictionary.choice_rows(field.choices)
    names = ", ".join(f"{row['label_en']} / {row['label_zh']}" for row in options[:12])
    more = " ..." if len(options) > 12 else ""
    keys = {match_key(row["label_en"]): row["label_en"] for row in options}
    close = difflib.get_close_matches(match_key(raw), list(keys), n=1, cutoff=0.6)
    hint = f"did you mean {keys[close[0]]!r}?" if close else "pick a value from the dropdown"
    raise BadValue(f"one of: {names}{more}", hint)


def split_number(raw: object) -> tuple[float, str]:
    """``"1,200.5 万元"`` -> ``(1200.5, "万元")``; a number cell -> ``(value, "")``."""
    if isinstance(raw, bool):
        raise BadValue("a number, not TRUE/FALSE")
    if isinstance(raw, int | float):
        return float(raw), ""
    if isinstance(raw, dt.date | dt.datetime):
        raise BadValue("a number, not a date")
    text = _THOUSANDS.sub("", canonical_text(raw).replace("−", "-"))
    negative = text.startswith("(") and text.endswith(")")
    match = _NUMBER.match(text.strip("()") if negative else text)
    if not match:
        raise BadValue("a number")
    value = float(match.group(1))
    return (-value if negative else value), match.group(2).strip()


def resolve_unit(suffix: str, column_unit: str, field: Field, dictionary: Dictionary) -> Unit:
    """The unit of a value: its own suffix wins over the column's, else the field's base unit."""
    text = suffix or column_unit or field.unit
    if not text:
        return _DIMENSIONLESS
    unit = dictionary.unit(text)
    if unit is None or unit.dimension != field.unit:
        names = ", ".join(u.name for u in dictionary.units_of(field.unit)) or "no unit"
        raise BadValue(f"a value in {names}", f"unknown unit {text!r} for {field.name}")
    return unit


def parse_number(
    raw: object, column_unit: str, field: Field, dictionary: Dictionary, fx: float | None = None
) -> float:
    """A number in the field's base unit (CNY, MW, MWh, fraction, ...)."""
    number, suffix = split_number(raw)
    if not math.isfinite(number):
        raise BadValue("a finite number")
    unit = resolve_unit(suffix, column_unit, field, dictionary)
    if field.type == "fraction" and not suffix and not column_unit and number > 1:
        raise BadValue("a fraction between 0 and 1", f"write {number:g}% or put % in the unit")
    return scale(number, unit, fx)


def significant(values: object, digits: int = 15) -> object:
    """Round to ``digits`` significant digits, so that 2.2 亿元 is 220,000,000 and not
    220,000,000.00000003 (binary floats times a decimal factor); arrays or scalars."""
    array = np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        magnitude = np.floor(np.log10(np.abs(array)))
        exponent = np.where(np.isfinite(magnitude), digits - 1 - magnitude, 0)
        power = 10.0 ** np.clip(exponent, -300, 300)
        scaled = array * power
        rounded = np.where(np.isfinite(scaled) & (array != 0), np.round(scaled) / power, array)
    return rounded if isinstance(values, np.ndarray | pd.Series) else float(rounded)


def scale(number: float, unit: Unit, fx: float | None) -> float:
    value = number * unit.factor.numerator / unit.factor.denominator
    if unit.factor != 1:
        value = significant(value)
    if unit.needs_fx:
        if fx is None:
            raise BadValue(
                "an amount in CNY",
                "an amount in USD needs the exchange rate field fx_usd_cny (CNY per USD)",
            )
        value *= fx
    return value


def parse_cell(
    raw: object, column_unit: str, field: Field, dictionary: Dictionary, fx: float | None = None
) -> object:
    """Parse one non-missing cell by its field's type."""
    kind = field.type
    if kind == "text":
        return parse_text(raw)
    if kind == "bool":
        return parse_bool(raw)
    if kind == "date":
        return parse_date(raw)
    if kind == "choice":
        return parse_choice(raw, field, dictionary)
    value = parse_number(raw, column_unit, field, dictionary, fx)
    if kind == "integer":
        _check_whole(value, field)
    return value


MAX_WHOLE = 2**53  # the largest whole number a float (an Excel cell, a CSV number) holds exactly


def _check_whole(value: float, field: Field) -> None:
    """A whole number an integer column can hold; one too large for it fails on its range."""
    if abs(value) > MAX_WHOLE:
        low = shown(-MAX_WHOLE if field.min is None else field.min)
        high = shown(MAX_WHOLE if field.max is None else field.max)
        raise BadValue(
            f"a whole number between {low} and {high}",
            f"read as {value:.6g}, too large for a count; check the value and its unit",
        )
    if not float(value).is_integer():
        raise BadValue("a whole number")


def plain(value: object) -> object:
    """A JSON-ready scalar: None for missing, ISO dates, Python numbers."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | dt.date):
        return value.date().isoformat() if isinstance(value, pd.Timestamp) else value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
