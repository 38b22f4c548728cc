"""Numbers as people read them, in every report: the memo, the printed lines, the summary.

:func:`for_people` writes one value in its unit:

* a fraction as a percentage with one decimal (``8.0%``; below 1 %, two significant digits:
  ``0.87%``);
* money in the scale of its size, by language: ``CNY 210 m``, ``CNY 3.775 bn`` in English,
  ``2.1 亿元``, ``2,000 万元`` in Chinese (the scales are words of the report templates,
  ``money.scales``);
* years of operation and cover ratios with two decimals at most (``6.25 years``, ``1.62x``);
* a calendar year without a thousands separator (``2023``);
* any other number to four significant digits (``1.102``, ``61,945``), with its unit's word.

Missing values are :data:`assessment._shared.text.MISSING`, as everywhere.
"""

from __future__ import annotations

import math

from .._shared.text import MISSING, is_missing, shown

DIGITS = 4  # significant digits of a number people read (shown's digits)
TWO_DECIMALS = ("years", "x")  # units written with two decimals at most: 6.25 years, 1.62x
ENGLISH_MONEY = {"scales": [[1e9, "CNY {} bn"], [1e6, "CNY {} m"], [0, "CNY {}"]]}


def for_people(value: object, unit: str = "", words: dict | None = None) -> str:
    """``value`` in ``unit`` as people write it (see the module); ``words`` are the report
    words of one language (their ``units`` and ``money``), English when not given."""
    if is_missing(value):
        return MISSING
    if isinstance(value, bool) or not isinstance(value, int | float):
        return shown(value, digits=DIGITS)
    if isinstance(value, float) and not math.isfinite(value := float(value)):
        return shown(value, digits=DIGITS)  # inf: no percent, money or year of it
    words = words or {}
    if unit == "fraction":
        return _percent(value * 100)
    if unit == "CNY":
        return money(value, words.get("money") or ENGLISH_MONEY)
    if unit == "year":
        return str(int(value))  # 2023, never 2,023
    if unit in TWO_DECIMALS:
        number = f"{value:,.2f}".rstrip("0").rstrip(".")
        return number + "x" if unit == "x" else f"{number} {_unit(unit, words)}"
    return f"{shown(value, digits=DIGITS)} {_unit(unit, words)}".strip()


def money(value: float, words: dict) -> str:
    """An amount in CNY in the first of the ``scales`` of ``words`` (``[[from, "CNY {} m"],
    ...]``, largest first) it reaches: ``CNY 210 m``, ``3.775 亿元``; templates without scales
    give one: their ``divisor`` and ``unit``."""
    scales = words.get("scales") or [[words["divisor"], "{} " + str(words["unit"])]]
    for start, text in scales:
        if abs(value) >= float(start):
            number = value / float(start) if float(start) else value
            return text.format(shown(number, digits=DIGITS))
    return shown(value, digits=DIGITS)


def _percent(number: float) -> str:
    """One decimal (``8.0%``); below 1 %, two significant digits (``0.87%``, not ``0.9%``)."""
    if 0 < abs(number) < 1:
        return f"{shown(number, digits=2)}%"
    return f"{number:,.1f}%"


def _unit(unit: str, words: dict) -> str:
    return (words.get("units") or {}).get(unit, unit)
