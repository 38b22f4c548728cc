"""Parse raw cells into typed columns in base units, column by column.

A :class:`Batch` is a wide frame of raw cells (one row per project, one column per field or
``series@year``) with each column's unit and a way to name the file, sheet and cell of any
value. All official workbooks of a run form one batch; each candidate list is its own batch.
Numeric columns that are already numbers are converted in one vectorised step, and so are
columns of text (a CSV's) whose every cell is a plain number, checked once per distinct cell;
other cells go through :func:`assessment.intake.cells.parse_cell`, once per distinct (value, unit).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import numpy as np
import pandas as pd

from .cells import (
    MAX_WHOLE,
    BadValue,
    clean_id,
    is_missing,
    is_na,
    parse_cell,
    parse_text,
    resolve_unit,
    shown_invisible,
    significant,
)
from .dictionary import Dictionary, Field
from .layouts import FormRecord, ListTable, problem

_NUMERIC = ("number", "integer", "fraction", "series")
Typed = np.ndarray | pd.api.extensions.ExtensionArray  # a typed column, one value per row
_FAST_KINDS = frozenset({"floating", "integer", "mixed-integer-float", "empty"})


@dataclass
class Batch:
    """Raw cells with units and addresses. ``units``, ``sheets`` and ``cells`` map a column to
    a string (the same for every row) or a list with one entry per row; ``files`` likewise.
    For a list, ``cells`` holds column letters and ``row_numbers`` the Excel row of each row."""

    raw: pd.DataFrame
    units: dict[str, object]
    files: object
    sheets: dict[str, object]
    cells: dict[str, object]
    row_numbers: list[int] | None = None
    _distinct: dict[str, tuple[np.ndarray, np.ndarray]] = dataclass_field(
        default_factory=dict, init=False, repr=False
    )
    _ids: dict[int, str] = dataclass_field(default_factory=dict, init=False, repr=False)
    _raw_ids: list[object] | None = dataclass_field(default=None, init=False, repr=False)
    _objects: tuple[dict[str, int], np.ndarray] | None = dataclass_field(
        default=None, init=False, repr=False
    )

    def column(self, key: str) -> pd.Series | np.ndarray:
        """The raw cells of ``key``: a numpy array of objects when every column holds objects
        (the official workbooks: read once, as one array), else the column as it is typed (a
        list's numbers or text)."""
        if self._objects is None:
            every = all(map(pd.api.types.is_object_dtype, self.raw.dtypes))
            positions = {name: at for at, name in enumerate(self.raw.columns)} if every else {}
            self._objects = positions, self.raw.to_numpy() if every else np.empty((0, 0))
        positions, values = self._objects
        return values[:, positions[key]] if key in positions else self.raw[key]

    def distinct(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """``pd.factorize`` of a raw column (codes, distinct cells; -1 for a missing cell),
        computed once per column."""
        if key not in self._distinct:
            self._distinct[key] = _factorize(self.column(key))
        return self._distinct[key]

    def project_id(self, position: int) -> str:
        """The ``project_id`` of a row as text (read when first asked for)."""
        if "project_id" not in self.raw.columns:
            return ""
        if self._raw_ids is None:
            self._raw_ids = self.raw["project_id"].tolist()
        if position not in self._ids:
            raw = self._raw_ids[position]
            self._ids[position] = "" if is_missing(raw, "text") else clean_id(parse_text(raw))
        return self._ids[position]

    def unit(self, key: str) -> object:
        return self.units.get(key, "")

    def where(self, position: int, key: str) -> tuple[str, str, str]:
        """(file, sheet, cell) of one value; for an absent field the row, if any."""
        file = _at(self.files, position)
        row = "" if self.row_numbers is None else str(self.row_numbers[position])
        if key not in self.cells:
            sheet = _at(next(iter(self.sheets.values()), ""), position) if row else ""
            return file, sheet, f"row {row}" if row else ""
        return file, _at(self.sheets[key], position), _at(self.cells[key], position) + row

    def problem(
        self, position: int, key: str, message: str, **details: object
    ) -> dict[str, object]:
        """A problem row for the value of ``key`` in row ``position``."""
        file, sheet, cell = self.where(position, key)
        found = problem(
            message, file=file, sheet=sheet, cell=cell, field=key.split("@", 1)[0], **details
        )
        found["project_id"] = self.project_id(position)
        if "@" in key:
            found["year"] = int(key.split("@", 1)[1])
        return found


def _factorize(column: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes and distinct cells in order of first appearance; a text column (a CSV's, of the
    string dtype) is factorized without making a Python string of every cell."""
    if isinstance(column.dtype, pd.StringDtype):
        codes, distinct = column.array.factorize(use_na_sentinel=True)
        return codes, distinct.to_numpy(dtype=object)
    if isinstance(column, pd.Series):
        column = column.to_numpy(dtype=object)
    return pd.factorize(column, use_na_sentinel=True)


def _at(value: object, position: int) -> str:
    return str(value[position]) if isinstance(value, list) else str(value)


def _column_of(records: list[dict[str, object]], key: str) -> object:
    values = [record.get(key, "") for record in records]
    first = values[0] if values else ""
    return first if all(v == first for v in values) else values


def form_batch(forms: list[FormRecord]) -> Batch:
    """Stack official workbooks into one batch."""
    raw = _objects(pd.DataFrame.from_records([form.values for form in forms]))
    keys = list(dict.fromkeys([*raw.columns, *(k for f in forms for k in f.cells)]))
    units = {k: _column_of([f.units for f in forms], k) for k in keys}
    sheets = {k: _column_of([{k: f.cells.get(k, ("", ""))[0]} for f in forms], k) for k in keys}
    cells = {k: _column_of([{k: f.cells.get(k, ("", ""))[1]} for f in forms], k) for k in keys}
    files = [form.file for form in forms]
    return Batch(raw, units, files, sheets, cells)


def _objects(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as Python objects (numbers, text, timestamps), each missing cell None; one
    block of objects, made in one step (``astype(object).where(notna)`` is column by column)."""
    values = frame.to_numpy(dtype=object)
    values[pd.isna(values)] = None
    return pd.DataFrame(values, index=frame.index, columns=frame.columns, dtype=object)


def list_batch(table: ListTable) -> Batch:
    sheets = {key: table.sheet for key in table.raw.columns}
    return Batch(
        table.raw,
        dict(table.units),
        table.file,
        sheets,
        dict(table.letters),
        list(table.row_numbers),
    )


def field_of(key: str, dictionary: Dictionary) -> Field:
    return dictionary.fields[key.split("@", 1)[0]]


def normalize_batch(batch: Batch, dictionary: Dictionary) -> tuple[pd.DataFrame, list[dict]]:
    """Typed frame (same shape as ``batch.raw``) and the problems found while parsing. Each
    column is typed as an array, row by row in the order of ``batch.raw``; the frame is made
    once, at the end."""
    problems: list[dict] = []
    typed: dict[str, object] = {}
    fx = None
    if "fx_usd_cny" in batch.raw.columns:
        typed["fx_usd_cny"] = _convert(batch, "fx_usd_cny", dictionary, None, problems)
        fx = np.asarray(typed["fx_usd_cny"], dtype=float)
    for key in batch.raw.columns:
        if key not in typed:
            typed[key] = _convert(batch, key, dictionary, fx, problems)
    if "project_id" in typed:
        ids = pd.Series(typed["project_id"], index=batch.raw.index)
        typed["project_id"] = _clean_ids(batch, ids, problems)
    return pd.DataFrame(typed, index=batch.raw.index), problems


ID_DIGITS = 15  # a spreadsheet number keeps 15 significant digits; a longer id loses some


def _clean_ids(batch: Batch, ids: pd.Series, problems: list[dict]) -> pd.Series:
    """The ids with invisible and control characters removed (:func:`clean_id`), each
    change a warning (an id left empty, an error: the row is garbage); an id stored as a
    number of more than ``ID_DIGITS`` digits is an error (its last digits are lost)."""
    ids = ids.copy()
    unusual = ids.str.contains(r"[^\x20-\x7e]", regex=True).fillna(False).to_numpy(dtype=bool)
    for position in np.flatnonzero(unusual):
        written = ids.iat[position]
        ids.iat[position] = clean = clean_id(written)
        if clean != written:
            problems.append(_id_problem(batch, position, written, clean))
    problems += [_long_number_id(batch, p) for p in _long_number_ids(batch)]
    return ids


def _id_problem(batch: Batch, position: int, written: str, clean: str) -> dict:
    if clean:
        message, severity = "had invisible or control characters: removed", "warning"
    else:
        message, severity = "holds only invisible or control characters", "error"
    return batch.problem(
        position,
        "project_id",
        message,
        value=shown_invisible(written),
        expected="an id of visible characters",
        severity=severity,
        hint=f"read as {clean!r}" if clean else "an empty or garbage row (NUL bytes?): remove it",
    )


def _long_number_ids(batch: Batch) -> np.ndarray:
    """Rows whose id is a number (a spreadsheet's number cell) of more than ``ID_DIGITS``
    digits; a column of an integer type (a Parquet int64) holds its ids exactly."""
    column = batch.raw["project_id"]
    if not (column.dtype == object or pd.api.types.is_float_dtype(column.dtype)):
        return np.array([], dtype=int)
    codes, distinct = batch.distinct("project_id")
    long = [
        isinstance(value, float | np.floating | int | np.integer)
        and not isinstance(value, bool)
        and abs(value) >= 10**ID_DIGITS
        for value in distinct
    ]
    return np.flatnonzero(np.isin(codes, np.flatnonzero(long)))


def _long_number_id(batch: Batch, position: int) -> dict:
    return batch.problem(
        position,
        "project_id",
        f"a numeric project_id of more than {ID_DIGITS} digits: its last digits are lost",
        value=batch.project_id(position),
        expected=f"an id written as text (a number keeps {ID_DIGITS} significant digits)",
        hint="format the id column as Text and type the ids again",
    )


def _convert(
    batch: Batch, key: str, dictionary: Dictionary, fx: np.ndarray | None, problems: list[dict]
) -> Typed:
    """One column typed (see :func:`_typed`), each cell in the field's base unit."""
    field = field_of(key, dictionary)
    column = batch.column(key)
    unit = batch.unit(key)
    if field.type in _NUMERIC and isinstance(unit, str):
        kind = pd.api.types.infer_dtype(column, skipna=True)
        numbers = column if kind in _FAST_KINDS else _plain_numbers(batch, key)
        fast = None if numbers is None else _fast_numbers(numbers, unit, field, dictionary, fx)
        if fast is not None:
            return _typed(fast, field)
    return _slow(batch, key, field, dictionary, fx, problems)


def _plain_numbers(batch: Batch, key: str) -> np.ndarray | None:
    """A text column (a CSV's) whose every written cell is a plain finite number, as numbers
    (blank cells missing); None when any cell needs the careful path (units, %, separators,
    words, full-width digits...). A column of text is read one distinct cell at a time."""
    column = batch.column(key)
    codes, distinct = batch.distinct(key)
    if not all(value.__class__ is str for value in distinct):
        return _plain_number_cells(column)
    numbers = _plain_number_cells(distinct)
    if numbers is None:
        return None
    return np.append(numbers, np.nan)[codes]


def _plain_number_cells(column: pd.Series | np.ndarray) -> np.ndarray | None:
    """:func:`_plain_numbers` cell by cell: a few cells one by one in Python, many at once."""
    if len(column) <= _FEW_CELLS:
        values = _few_plain_numbers(column.tolist())
        return None if values is None else np.array(values, dtype=float)
    text = pd.Series(column, dtype=object).astype("string").str.strip()
    blank = text.isna() | (text == "")
    values = pd.to_numeric(text.mask(blank), errors="coerce").astype(float).to_numpy()
    if (np.isnan(values) & ~blank.to_numpy(dtype=bool)).any() or np.isinf(values).any():
        return None
    return values


_FEW_CELLS = 256
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _few_plain_numbers(cells: list[object]) -> list[float] | None:
    """The cells as numbers (blank and missing ones NaN) when each is a plain finite number
    written in ASCII digits, as ``pd.to_numeric`` reads it; None otherwise."""
    values = []
    for cell in cells:
        text = "" if is_na(cell) else str(cell).strip()
        if not text:
            values.append(math.nan)
            continue
        if not _PLAIN_NUMBER.fullmatch(text):
            return None
        value = float(text)
        if math.isinf(value):
            return None
        values.append(value)
    return values


def _fast_numbers(
    column: pd.Series | np.ndarray,
    unit_text: str,
    field: Field,
    dictionary: Dictionary,
    fx: np.ndarray | None,
) -> np.ndarray | None:
    """Vectorised conversion of a column of numbers (missing cells: NaN); None when a cell
    needs the careful path."""
    values = _floats(column)
    try:
        unit = resolve_unit("", unit_text, field, dictionary)
    except BadValue:
        return None
    if field.type == "fraction" and not unit_text and (values > 1).any():
        return None
    if unit.needs_fx and (fx is None or (np.isnan(fx) & ~np.isnan(values)).any()):
        return None
    factor = unit.factor.numerator / unit.factor.denominator
    if factor != 1:
        values = significant(values * factor)
    if unit.needs_fx:
        values = values * fx
    if field.type == "integer" and not _whole(values):
        return None
    return values


def _floats(column: pd.Series | np.ndarray) -> np.ndarray:
    """A column whose cells are all numbers or missing, as floats (missing: NaN)."""
    if isinstance(column, np.ndarray) and column.dtype == object:
        try:  # numbers and None, as the workbooks give them: at once
            return np.asarray(column, dtype=float)
        except (TypeError, ValueError):  # another kind of missing value (pd.NA, NaT)
            return pd.Series(column).to_numpy(dtype=float, na_value=np.nan)
    if isinstance(column, np.ndarray):
        return column.astype(float, copy=False)
    return column.to_numpy(dtype=float, na_value=np.nan)


def _whole(values: np.ndarray) -> bool:
    """Whether every value is missing or a whole number an integer column holds exactly."""
    with np.errstate(invalid="ignore"):
        exact = (values == np.round(values)) & (np.abs(values) <= MAX_WHOLE)
    return bool(np.all(np.isnan(values) | exact))


def _slow(
    batch: Batch,
    key: str,
    field: Field,
    dictionary: Dictionary,
    fx: np.ndarray | None,
    problems: list[dict],
) -> Typed:
    units = batch.unit(key)
    if isinstance(units, str) and (fx is None or field.unit != "CNY"):
        found = _by_distinct(batch, key, field, dictionary, units, problems)
        if found is not None:
            return found
    cache: dict[tuple, object] = {}
    out: list[object] = []
    rates = (
        [None] * len(batch.raw)
        if fx is None or field.unit != "CNY"
        else [None if pd.isna(rate) else float(rate) for rate in fx.tolist()]
    )
    for position, raw in enumerate(batch.column(key).tolist()):
        try:
            out.append(
                _parse_cached(cache, raw, _at(units, position), field, dictionary, rates[position])
            )
        except BadValue as bad:
            out.append(None)
            problems.append(
                batch.problem(
                    position,
                    key,
                    "cannot read the value",
                    value=raw,
                    expected=bad.expected,
                    hint=bad.hint,
                )
            )
    return _typed(out, field)


def _by_distinct(
    batch: Batch, key: str, field: Field, dictionary: Dictionary, unit: str, problems: list[dict]
) -> Typed | None:
    """Parse each distinct cell of a column once (a list's column repeats few values); None
    when the column mixes kinds of values that could compare equal (1, 1.0, True)."""
    codes, distinct = batch.distinct(key)
    if len({type(value) for value in distinct}) > 1:
        return None
    parsed, unreadable = _parse_distinct(distinct, unit, field, dictionary)
    rows = _rows_by_code(codes) if unreadable else None
    for code, bad in unreadable:
        problems += [
            batch.problem(
                int(position),
                key,
                "cannot read the value",
                value=distinct[code],
                expected=bad.expected,
                hint=bad.hint,
            )
            for position in rows(code)
        ]
    return _spread(_typed([*parsed, None], field), codes)


def _parse_distinct(
    distinct: np.ndarray, unit: str, field: Field, dictionary: Dictionary
) -> tuple[list[object], list[tuple[int, BadValue]]]:
    """The parsed distinct cells (None where missing or unreadable), and (code, why) of each
    unreadable one."""
    if field.type == "text" and all(value.__class__ is str for value in distinct):
        return _distinct_texts(distinct), []  # text never fails to parse
    parsed: list[object] = []
    unreadable: list[tuple[int, BadValue]] = []
    for code, raw in enumerate(distinct):
        try:
            missing = is_missing(raw, field.type)
            parsed.append(None if missing else parse_cell(raw, unit, field, dictionary, None))
        except BadValue as bad:
            parsed.append(None)
            unreadable.append((code, bad))
    return parsed, unreadable


def _distinct_texts(distinct: np.ndarray) -> list[str | None]:
    """Distinct text cells as :func:`parse_cell` and :func:`is_missing` read them (stripped;
    None for blank), without their NFKC work for the usual cell: stripped text in ASCII or
    already NFKC-normal is not blank (ids are mostly all distinct: a list's largest column
    parsed value by value)."""
    parsed: list[str | None] = []
    for raw in distinct.tolist():
        text = raw.strip()
        if not text or not (text.isascii() or unicodedata.is_normalized("NFKC", text)):
            text = None if is_missing(raw, "text") else parse_text(raw)
        parsed.append(text)
    return parsed


def _rows_by_code(codes: np.ndarray) -> Callable[[int], np.ndarray]:
    """The rows (in order) holding each code, found with one sort of the codes."""
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]

    def rows(code: int) -> np.ndarray:
        low, high = np.searchsorted(ordered, [code, code + 1])
        return order[low:high]

    return rows


def _spread(typed_distinct: Typed, codes: np.ndarray) -> Typed:
    """The typed value of each row from the typed distinct values (the last one, missing,
    for the rows whose code is -1)."""
    if len(codes) == len(typed_distinct) - 1 and np.array_equal(codes, np.arange(len(codes))):
        return typed_distinct[:-1]  # each row its own value, in order (one workbook)
    positions = np.where(codes < 0, len(typed_distinct) - 1, codes)
    return typed_distinct.take(positions)


def _parse_cached(
    cache: dict, raw: object, unit: str, field: Field, dictionary: Dictionary, rate: float | None
) -> object:
    if is_missing(raw, field.type):
        return None
    try:
        token = (type(raw), raw, unit, rate)
        hash(token)
    except TypeError:
        return parse_cell(raw, unit, field, dictionary, rate)
    if token not in cache:
        try:
            cache[token] = parse_cell(raw, unit, field, dictionary, rate)
        except BadValue as bad:
            cache[token] = bad
    result = cache[token]
    if isinstance(result, BadValue):
        raise result
    return result


def _typed(values: object, field: Field) -> Typed:
    """Values (a list, None for missing, or a float array) as the column of their field:
    floats (NaN for missing), ``Int64``, ``boolean``, ``datetime64[ns]`` or ``string``."""
    kind = field.type
    if kind in ("number", "fraction", "series"):
        return np.asarray(values, dtype=float)
    if kind == "integer":
        numbers = np.asarray(values, dtype=float)
        missing = np.isnan(numbers)
        return pd.arrays.IntegerArray(np.where(missing, 0, numbers).astype("int64"), missing)
    if kind == "bool":
        missing = np.array([value is None for value in values], dtype=bool)
        truth = np.array([value is not None and bool(value) for value in values], dtype=bool)
        return pd.arrays.BooleanArray(truth, missing)
    if kind == "date":
        dates = pd.to_datetime(pd.Series(values, dtype=object), errors="coerce")
        return dates.astype("datetime64[ns]").array
    return pd.array(values, dtype="string")
