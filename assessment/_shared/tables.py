"""Reading the packaged reference tables: one reader for every small CSV table under ``rules/``
(``reference/*``, ``model/rating_grades.csv``, ``monitor/*.csv``, ``decision/*.csv``).

:func:`read_reference_table` reads a table as text, checks that the columns the engine reads are
there and converts them to their kinds; every problem (a missing file or column, a cell that is
not of its kind) is collected and raised together as one :class:`RuleError` whose rows name the
file, row (the header is row 1), column, the value got and what was expected.

Rule packs (``rules.csv`` and its ``.xlsx`` twin, segment tables) have their own reader in
:mod:`assessment.criteria.rules`, which also reads workbooks and checks the rule grammar.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import pandas as pd

from ..errors import RuleError

# kind -> what a cell of that kind must be (for the problem rows)
KINDS = {
    "text": "text (spaces around it are dropped; blank as '')",
    "string": "text (blank as missing)",
    "float64": "a number",
    "Int64": "a whole number",
    "datetime64[ns]": "a date (YYYY-MM-DD)",
}


def read_reference_table(
    path: str | Path, columns: Mapping[str, str], *, hint: str = ""
) -> pd.DataFrame:
    """The CSV table at ``path`` with ``columns`` (name -> kind of :data:`KINDS`) converted,
    other columns as stripped text, in file order. Blank cells are missing (``''`` for
    ``text``). Raises :class:`RuleError` listing every problem; ``hint`` says what to do when
    the file is not there."""
    path = Path(path)
    try:
        state = path.stat()
    except OSError:
        return _read_and_convert(path, tuple(columns.items()), hint)
    key = (str(path.resolve()), state.st_mtime_ns, state.st_size)
    return _read_once(key, tuple(columns.items()), hint).copy()


@lru_cache(maxsize=128)
def _read_once(key: tuple, columns: tuple, hint: str) -> pd.DataFrame:
    """The table of the file ``key`` names (path, modification time, size), read once while
    the file stays as it is: a table a scoring reads every time is read on its first use."""
    return _read_and_convert(Path(key[0]), columns, hint)


def _read_and_convert(path: Path, columns: tuple, hint: str) -> pd.DataFrame:
    columns = dict(columns)
    table = _read_text(path, hint)
    problems = [_missing_column(path, name) for name in columns if name not in table.columns]
    if problems:
        raise RuleError.from_rows(problems)
    for name, kind in columns.items():
        table[name] = _converted(table[name], kind, path, name, problems)
    if problems:
        raise RuleError.from_rows(problems)
    return table


def reference_rows(path: str | Path, columns: Mapping[str, str] | tuple = ()) -> list[dict]:
    """The table as a list of rows (dicts), its ``columns`` (name -> kind, or names read as
    text) checked and converted as :func:`read_reference_table` does."""
    kinds = columns if isinstance(columns, Mapping) else dict.fromkeys(columns, "text")
    return read_reference_table(path, kinds).to_dict("records")


def _read_text(path: Path, hint: str) -> pd.DataFrame:
    if not path.is_file():
        raise RuleError.from_rows([_problem(path, "", "", "", "table not found", hint)])
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError as error:
        problem = _problem(path, "", "", "", "the table is empty", "give a header row, then rows")
        raise RuleError.from_rows([problem]) from error
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as error:
        message = f"cannot read the table: {error}"
        problem = _problem(path, "", "", "", message, "save it as UTF-8 CSV")
        raise RuleError.from_rows([problem]) from error
    table.columns = [str(c).strip() for c in table.columns]
    return table.apply(lambda column: column.str.strip())


def _converted(text: pd.Series, kind: str, path: Path, name: str, problems: list) -> pd.Series:
    if kind == "text":
        return text
    blank = text == ""
    if kind == "string":
        return text.astype("string").mask(blank)
    if kind == "datetime64[ns]":
        values = pd.to_datetime(text.mask(blank), errors="coerce", format="ISO8601")
    else:
        values = pd.to_numeric(text.mask(blank), errors="coerce")
    bad = values.isna() & ~blank
    if kind == "Int64":
        bad |= values.notna() & (values % 1 != 0)
    for position in bad.to_numpy().nonzero()[0]:
        got = text.iloc[position]
        problems.append(_problem(path, position + 2, name, got, f"not {KINDS[kind]}"))
    return values.astype(kind) if not bad.any() else values


def _missing_column(path: Path, name: str) -> dict:
    message = f"the table lacks columns: {name!r} is missing"
    return _problem(path, 1, name, "", message, "restore the header row (see the folder's README)")


def _problem(path: Path, row: object, column: str, got: str, message: str, hint: str = "") -> dict:
    return {
        "file": str(path),
        "row": row,
        "column": column,
        "value": got,
        "message": f"{message}; got {got!r}" if got else message,
        "hint": hint,
    }
