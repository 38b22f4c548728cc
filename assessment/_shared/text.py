"""Values as text: the one formatter every report, reason and message uses.

* :func:`shown` writes one value: missing (None, NaN, NA, NaT, infinite) as :data:`MISSING`;
  a whole number as ``1,234`` (so 1.0 is ``1`` everywhere), other numbers to ``digits``
  significant digits (six unless asked) with thousands separators (``0.725``, ``1,234.5``),
  numbers of ``10**digits`` or more rounded to a whole number (``12,345,679``);
  ``true``/``false``; dates as ISO; a list or tuple joined; with ``spec`` (``"{:.1%}"``) a
  number in that format; with ``unit`` the unit after it.
* :func:`joined` writes several values with :data:`SEPARATOR` between them: thresholds, sets
  of codes, lists of names.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

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
