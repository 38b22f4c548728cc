"""Values as text: the one formatter every report, reason and message uses.

* :func:`shown` writes one value: missing (None, NaN, NA, NaT, infinite) as :data:`MISSING`;
  a whole number as ``1,234`` (so 1.0 is ``1`` everywhere), other numbers to ``digits``
  significant digits (six unless asked) with thousands separators (``0.725``, ``1,234.5``),
  numbers of ``10**digits`` or more rounded to a whole number (``12,345,679``);
  ``true``/``false``; dates as ISO; a list or tuple joined; with ``spec`` (``"{:.1%}"``) a
  number in that format; with ``unit`` the unit after it.
* :func:`joined` writes several values with :data:`SEPARATOR` between them: thresholds, sets
  of codes, lists of names.
* :func:`written` writes many values with any such writer, each distinct value once (a column
  of a million numbers, a reason per project).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

MISSING = "-"
SEPARATOR = "; "
DIGITS = 6  # significant digits of a number shown without a format


def shown(value: object, spec: str = "", unit: str = "", digits: int = DIGITS) -> str:
    """``value`` as text (see the module's docstring); ``unit`` follows a shown value."""
    if isinstance(value, list | tuple):
        return joined(value, spec, unit, digits)
    if is_missing(value):
        return MISSING
    text = _text(value, spec, digits)
    return f"{text} {unit}" if unit else text


def joined(values: Iterable[object], spec: str = "", unit: str = "", digits: int = DIGITS) -> str:
    """Each of ``values`` :func:`shown`, separated by :data:`SEPARATOR`."""
    return SEPARATOR.join(shown(value, spec, unit, digits) for value in values)


def written(values: Sequence[object], write: Callable[[object], str]) -> np.ndarray:
    """``write(value)`` of each of ``values``, as an object array, each distinct value written
    once: floats told apart by their bits (0.0 and -0.0 are two), texts, whole numbers,
    booleans and None by their value; values of other kinds are written one by one."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return _written_floats(values, write)
    kinds = set(map(type, values))
    if len(kinds) == 1:  # the usual: one kind of value
        return _written_kind(kinds.pop(), values, write)
    items = np.fromiter(values, dtype=object, count=len(values))
    codes, distinct = pd.factorize(np.fromiter(map(type, items), dtype=object, count=len(items)))
    found = np.empty(len(items), dtype=object)
    for code, kind in enumerate(distinct):
        at = np.flatnonzero(codes == code)
        found[at] = _written_kind(kind, items[at], write)
    return found


def _written_kind(kind: type, items: Sequence[object], write: Callable) -> np.ndarray:
    """The values of one ``kind``, written."""
    if issubclass(kind, float | np.floating):
        return _written_floats(items, write)
    if kind in (str, int, bool, type(None)):
        items = items.tolist() if isinstance(items, np.ndarray) else items
        texts = {value: write(value) for value in dict.fromkeys(items)}
        return np.fromiter(map(texts.__getitem__, items), dtype=object, count=len(items))
    return np.fromiter(map(write, items), dtype=object, count=len(items))


def _written_floats(values: Sequence[object], write: Callable) -> np.ndarray:
    """Floats written once per distinct value (by its bits), passed to ``write`` as they
    were given (a Python float, or a numpy one)."""
    numbers = np.asarray(values, dtype=float)
    _, first, at = np.unique(numbers.view(np.int64), return_index=True, return_inverse=True)
    texts = [write(values[i]) for i in first.tolist()]
    return np.asarray(texts, dtype=object)[at]


def is_missing(value: object) -> bool:
    """None, NaN, an infinite number, or one of pandas' missing markers."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return not math.isfinite(float(value))
    return False


def _text(value: object, spec: str, digits: int) -> str:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | float | np.number):
        return spec.format(float(value)) if spec else _number(float(value), digits)
    if isinstance(value, pd.Timestamp | dt.datetime):
        midnight = value.time() == dt.time()
        return value.date().isoformat() if midnight else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _number(value: float, digits: int) -> str:
    """``1,234``, ``0.725``, ``1,234.5``, ``12,345,679`` (six digits)."""
    if value.is_integer() and abs(value) < 1e16:
        return f"{int(value):,}"
    return f"{value:,.{digits}g}" if abs(value) < 10**digits else f"{value:,.0f}"
