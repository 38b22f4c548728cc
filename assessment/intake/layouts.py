"""Recognise what a workbook holds and pull out its raw cells with their addresses.

Two layouts are detected from the content, never from sheet names:

* the **official workbook** (one project per file): a *form* sheet with one field per row
  (label, value, unit) and, optionally, a *yearly* sheet with a ``Year`` column and one column
  per series;
* a **candidate list**: one project per row under a header row found anywhere in the first 20
  rows, yearly values as columns named ``<series>_<YYYY>``.

Headers and labels are matched through the field dictionary (:meth:`Dictionary.match_header`).
The output keeps raw values untouched; parsing happens in :mod:`assessment.intake.normalize`. Value
cells the reader noted (an Excel error, a formula without a cached value, an external link's
cached value: see :mod:`assessment.intake.zipped`) are kept in ``notes`` of the form or list, for
:mod:`assessment.intake.read` to report as what they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np
import pandas as pd

from .cells import parse_text
from .dictionary import Dictionary, Header, match_key
from .workbooks import HEAD_RECORDS, Sheet

HEADER_SCAN_ROWS = HEAD_RECORDS  # a long list keeps these as rows, the rest column-wise
LABEL_SCAN_COLUMNS = 8
_VALUE_HEADERS = frozenset(
    map(match_key, ("value", "values", "数值", "值", "填报值", "填写", "取值", "填报内容"))
)
_UNIT_HEADERS = frozenset(map(match_key, ("unit", "units", "单位", "计量单位")))
_YEAR_HEADERS = frozenset(map(match_key, ("year", "年份", "年度", "fiscal year", "calendar year")))


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def series_key(name: str, year: int) -> str:
    return f"{name}@{year}"


@dataclass
class FormRecord:
    """The raw cells of one official workbook: key -> value, unit and (sheet, cell)."""

    file: str
    values: dict[str, object] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    cells: dict[str, tuple[str, str]] = field(default_factory=dict)
    notes: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (kind, detail)


@dataclass
class ListTable:
    """The raw rows of one candidate-list sheet."""

    file: str
    sheet: str
    raw: pd.DataFrame
    units: dict[str, str]
    letters: dict[str, str]
    row_numbers: list[int]
    notes: dict[tuple[int, str], tuple[str, str]] = field(default_factory=dict)  # (row, key)


@dataclass
class Extract:
    forms: list[FormRecord] = field(default_factory=list)
    lists: list[ListTable] = field(default_factory=list)
    problems: list[dict[str, object]] = field(default_factory=list)


def problem(
    message: str,
    *,
    file: str,
    sheet: str = "",
    cell: str = "",
    field: str = "",
    value: object = "",
    expected: str = "",
    severity: str = "error",
    hint: str = "",
) -> dict[str, object]:
    """One problem row: what (``message``), where, the value found, what was expected."""
    return {
        "file": file,
        "sheet": sheet,
        "cell": cell,
        "field": field,
        "value": "" if value is None else parse_text(value),
        "message": message,
        "expected": expected,
        "severity": severity,
        "hint": hint,
    }


def _blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _header_row(sheet: Sheet, dictionary: Dictionary) -> tuple[int, list[Header | None]]:
    best, best_hits, best_headers = -1, 0, []
    for number, row in enumerate(sheet.rows[:HEADER_SCAN_ROWS]):
        headers = [None if _blank(c) else dictionary.match_header(c) for c in row]
        hits = sum(h is not None for h in headers)
        if hits > best_hits:
            best, best_hits, best_headers = number, hits, headers
    return best, best_headers


def _label_columns(sheet: Sheet, dictionary: Dictionary) -> tuple[list[int], int]:
    """Columns (among the first few) holding at least 3 field labels, and the best count."""
    if sheet.label_columns is None:
        counts = _row_label_counts(sheet.rows, dictionary)
        for col, column in enumerate((sheet.below or [])[:LABEL_SCAN_COLUMNS]):
            counts[col] += _column_label_count(column, dictionary)
        sheet.label_columns = ([col for col, n in enumerate(counts) if n >= 3], max(counts))
    return sheet.label_columns


def _row_label_counts(rows: list[list[object]], dictionary: Dictionary) -> list[int]:
    """Per column among the first few, how many cells of ``rows`` name a field (not a yearly
    series)."""
    counts = [0] * LABEL_SCAN_COLUMNS
    match = dictionary.match_header
    for row in rows:
        for col, cell in enumerate(row[:LABEL_SCAN_COLUMNS]):
            if cell.__class__ is str and cell:
                header = match(cell)
                counts[col] += header is not None and header.year is None
    return counts


def _column_label_count(column: pd.Series, dictionary: Dictionary) -> int:
    """How many cells of a column name a field (not a yearly series); a text column is
    looked at one distinct text at a time."""
    if not isinstance(column.dtype, pd.StringDtype):
        return sum(_is_label(cell, dictionary) for cell in column.tolist())
    codes, texts = column.array.factorize(use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(texts)).tolist()
    found = zip(texts.to_numpy(dtype=object), counts, strict=True)
    return sum(count for text, count in found if _is_label(text, dictionary))


def _is_label(cell: object, dictionary: Dictionary) -> bool:
    if cell.__class__ is not str or not cell:
        return False
    header = dictionary.match_header(cell)
    return header is not None and header.year is None


def classify(sheet: Sheet, dictionary: Dictionary) -> tuple[str, int, list[Header | None]]:
    """``("form" | "yearly" | "list" | "other", header_row, headers)`` for one sheet."""
    header_at, headers = _header_row(sheet, dictionary)
    row_hits = sum(h is not None for h in headers)
    if (
        header_at >= 0
        and _has_year_column(sheet.rows[header_at])
        and any(
            h is not None and h.year is None and dictionary.fields[h.field].type == "series"
            for h in headers
        )
    ):
        return "yearly", header_at, headers
    _, col_hits = _label_columns(sheet, dictionary)
    if (
        row_hits >= 2
        and row_hits >= col_hits
        and any(h is not None and h.field in ("project_id", "project_name") for h in headers)
    ):
        return "list", header_at, headers
    if col_hits >= 3:
        return "form", header_at, headers
    return "other", header_at, headers


def _has_year_column(row: list[object]) -> bool:
    return any(
        isinstance(c, str | int | float) and not _blank(c) and match_key(c) in _YEAR_HEADERS
        for c in row
    )


def extract(file: str, sheets: list[Sheet], dictionary: Dictionary) -> Extract:
    """Find the form, yearly and list sheets of one file and pull their cells."""
    result = Extract()
    result.problems += remark_problems(file, sheets)
    kinds = [(sheet, *classify(sheet, dictionary)) for sheet in sheets]
    forms = [sheet for sheet, kind, _, _ in kinds if kind == "form"]
    for sheet in forms[1:]:
        result.problems.append(
            problem(
                "a second project sheet",
                file=file,
                sheet=sheet.name,
                expected="one project sheet per workbook",
                hint="put each project in its own workbook",
            )
        )
    if forms:
        record = _read_form(file, forms[0], dictionary, result.problems)
        for sheet, kind, header_at, headers in kinds:
            if kind == "yearly":
                _read_yearly(record, sheet, header_at, headers, result.problems)
        result.forms.append(record)
    for sheet, kind, header_at, headers in kinds:
        if kind == "list":
            table = _read_list(file, sheet, header_at, headers, result.problems)
            if table.raw.empty:
                result.problems.append(
                    problem(
                        "the candidate list has no project rows",
                        file=file,
                        sheet=sheet.name,
                        cell=f"A{header_at + 2}",
                        expected="one project per row under the header",
                        hint="fill rows below the header, or remove the file",
                    )
                )
            else:
                result.lists.append(table)
    return result


def remark_problems(file: str, sheets: list[Sheet]) -> list[dict[str, object]]:
    """The reader's warnings about a whole file (such as a guessed text encoding)."""
    return [
        problem(severity="warning", file=file, **remark)
        for sheet in sheets
        for remark in sheet.remarks or ()
    ]


def _noted(record: FormRecord, sheet: Sheet, key: str, row: int, col: int) -> None:
    """Keep the reader's note on the cell a value of ``key`` was read from (0-based)."""
    here = (sheet.name, f"{column_letter(col)}{row + 1}")
    if sheet.notes and (row, col) in sheet.notes and record.cells.get(key) == here:
        record.notes[key] = sheet.notes[(row, col)]


def _find_header_col(sheet: Sheet, wanted: frozenset[str]) -> int | None:
    for row in sheet.rows[:10]:
        for col, cell in enumerate(row):
            if isinstance(cell, str) and cell.strip() and match_key(cell) in wanted:
                return col
    return None


def _read_form(file: str, sheet: Sheet, dictionary: Dictionary, problems: list) -> FormRecord:
    label_cols, _ = _label_columns(sheet, dictionary)
    value_col = _find_header_col(sheet, _VALUE_HEADERS)
    unit_col = _find_header_col(sheet, _UNIT_HEADERS)
    if value_col is None:
        value_col = label_cols[0] + 1
    label_cols = [col for col in label_cols if col not in (value_col, unit_col)]
    record = FormRecord(file)
    for number, row in enumerate(sheet.all_rows(), start=1):
        header = _row_header(row, label_cols, dictionary)
        if header is None or header.year is not None:
            continue
        value = row[value_col] if value_col < len(row) else None
        unit = header.unit
        if unit_col is not None and unit_col < len(row) and not _blank(row[unit_col]):
            unit = str(row[unit_col]).strip()
        _put(
            record,
            header.field,
            value,
            unit,
            (sheet.name, f"{column_letter(value_col)}{number}"),
            problems,
        )
        _noted(record, sheet, header.field, number - 1, value_col)
    return record


def _put(
    record: FormRecord, key: str, value: object, unit: str, where: tuple[str, str], problems: list
) -> None:
    if key in record.cells:
        first = "!".join(record.cells[key])
        problems.append(
            problem(
                "the field is given twice",
                file=record.file,
                sheet=where[0],
                cell=where[1],
                field=key.split("@")[0],
                value=value,
                expected=f"{key} given once (first given in {first})",
                hint="delete the repeated entry",
            )
        )
        return
    record.values[key] = value
    record.units[key] = unit
    record.cells[key] = where


def _row_header(row: list[object], label_cols: list[int], dictionary: Dictionary) -> Header | None:
    for col in label_cols:
        if col < len(row) and isinstance(row[col], str) and row[col].strip():
            header = dictionary.match_header(row[col])
            if header is not None:
                return header
    return None


def _read_yearly(
    record: FormRecord, sheet: Sheet, header_at: int, headers: list[Header | None], problems: list
) -> None:
    year_col = next(
        col
        for col, c in enumerate(sheet.rows[header_at])
        if not _blank(c) and match_key(c) in _YEAR_HEADERS
    )
    series = [(col, h) for col, h in enumerate(headers) if h is not None and h.year is None]
    for col, header in series:  # where a missing series is pointed at: its column header
        record.cells.setdefault(header.field, (sheet.name, f"{column_letter(col)}{header_at + 1}"))
    for number, row in enumerate(sheet.all_rows()[header_at + 1 :], start=header_at + 2):
        values = [
            (col, h, row[col]) for col, h in series if col < len(row) and not _blank(row[col])
        ]
        if not values:
            continue
        year = _year(row[year_col] if year_col < len(row) else None)
        if year is None:
            problems.append(
                problem(
                    "a row of yearly values without a year",
                    file=record.file,
                    sheet=sheet.name,
                    cell=f"{column_letter(year_col)}{number}",
                    field="year",
                    value=row[year_col] if year_col < len(row) else "",
                    expected="a calendar year such as 2024",
                    hint="fill the year of this row or clear its values",
                )
            )
            continue
        for col, header, value in values:
            _put(
                record,
                series_key(header.field, year),
                value,
                header.unit,
                (sheet.name, f"{column_letter(col)}{number}"),
                problems,
            )
            _noted(record, sheet, series_key(header.field, year), number - 1, col)


def _year(cell: object) -> int | None:
    text = str(cell).strip().removesuffix("年").removesuffix(".0")
    if text.isdigit() and 1900 <= int(text) <= 2100:
        return int(text)
    return None


def _read_list(
    file: str, sheet: Sheet, header_at: int, headers: list[Header | None], problems: list
) -> ListTable:
    columns, units = _list_columns(file, sheet, header_at, headers, problems)
    raw, numbers = _list_body(sheet, header_at, columns)
    letters = {key: column_letter(col) for key, col in columns.items()}
    notes = _list_notes(sheet, columns, numbers)
    return ListTable(file, sheet.name, raw, units, letters, numbers, notes)


def _list_notes(
    sheet: Sheet, columns: dict[str, int], numbers: list[int]
) -> dict[tuple[int, str], tuple[str, str]]:
    """The reader's notes on the list's cells, by (row position, key)."""
    if not sheet.notes:
        return {}
    positions = {number: position for position, number in enumerate(numbers)}
    keys = {col: key for key, col in columns.items()}
    return {
        (positions[row + 1], keys[col]): note
        for (row, col), note in sheet.notes.items()
        if row + 1 in positions and col in keys
    }


def _list_columns(
    file: str, sheet: Sheet, header_at: int, headers: list[Header | None], problems: list
) -> tuple[dict[str, int], dict[str, str]]:
    """Key -> column index and key -> unit; unknown and repeated headers are reported."""
    header_row = sheet.rows[header_at]
    columns: dict[str, int] = {}
    units: dict[str, str] = {}
    for col, header in enumerate(headers):
        where = {
            "file": file,
            "sheet": sheet.name,
            "cell": f"{column_letter(col)}{header_at + 1}",
            "value": header_row[col],
        }
        if header is None:
            if not _blank(header_row[col]):
                problems.append(
                    problem(
                        "unknown column",
                        **where,
                        expected="a known field name",
                        severity="warning",
                        hint="the column is ignored; rename it to a field name",
                    )
                )
            continue
        key = header.field if header.year is None else series_key(header.field, header.year)
        if key in columns:
            first = column_letter(columns[key])
            problems.append(
                problem(
                    "a repeated column",
                    **where,
                    field=header.field,
                    expected=f"one column for {key} (first is column {first})",
                    hint="the repeat is ignored",
                )
            )
            continue
        columns[key], units[key] = col, header.unit
    return columns, units


def _list_body(
    sheet: Sheet, header_at: int, columns: dict[str, int]
) -> tuple[pd.DataFrame, list[int]]:
    """The non-empty rows under the header as raw columns, and their Excel row numbers."""
    top = sheet.rows[header_at + 1 :]
    if not sheet.below:
        kept = [index for index, row in enumerate(top) if not _blank_row(row)]
        body = top if len(kept) == len(top) else [top[index] for index in kept]
        return _raw_columns(body, columns), [index + header_at + 2 for index in kept]
    top_blank = np.array([_blank_row(row) for row in top], dtype=bool)
    blank = np.concatenate([top_blank, _blank_rows(sheet.below)])
    kept = np.flatnonzero(~blank)
    raw = pd.DataFrame({key: _joined_column(top, sheet.below, col) for key, col in columns.items()})
    if len(kept) < len(raw):
        raw = raw.iloc[kept].reset_index(drop=True)
    return raw, (kept + header_at + 2).tolist()


def _blank_row(row: list[object]) -> bool:
    """Every cell blank; a row of text cells is joined and stripped at once."""
    try:
        return not "".join(row).strip()
    except TypeError:  # a cell that is no text: a number, a date, None
        return all(_blank(cell) for cell in row)


def _blank_rows(columns: list[pd.Series]) -> np.ndarray:
    """The rows whose every cell is blank; each column is looked at in the rows still blank."""
    blank = np.ones(len(columns[0]), dtype=bool)
    for column in columns:
        rows = np.flatnonzero(blank)
        if not len(rows):
            break
        blank[rows] = _blank_cells(column if len(rows) == len(column) else column.iloc[rows])
    return blank


def _blank_cells(column: pd.Series) -> np.ndarray:
    """Which cells are blank; a text column is looked at one distinct text at a time."""
    if not isinstance(column.dtype, pd.StringDtype):
        return np.fromiter(map(_blank, column.tolist()), dtype=bool, count=len(column))
    codes, texts = column.array.factorize(use_na_sentinel=True)
    blank = [_blank(text) for text in texts.to_numpy(dtype=object)]
    return np.array([*blank, False], dtype=bool)[codes]


def _joined_column(top: list[list[object]], below: list[pd.Series], col: int) -> pd.Series:
    """Column ``col`` of the rows ``top`` followed by the column-wise records ``below`` (an
    empty string where a record is too short to reach it); text stays of the string dtype."""
    cells = _column_cells(top, col, min(map(len, top), default=0))
    text = isinstance(below[0].dtype, pd.StringDtype)
    dtype = "string" if text and all(cell.__class__ is str for cell in cells) else object
    under = below[col] if col < len(below) else pd.Series([""] * len(below[0]), dtype=dtype)
    return pd.concat([pd.Series(cells, dtype=dtype), under.astype(dtype)], ignore_index=True)


def _raw_columns(rows: list[list[object]], columns: dict[str, int]) -> pd.DataFrame:
    """Key -> the cells of its column, as object columns."""
    shortest = min(map(len, rows), default=0)
    return pd.DataFrame(
        {
            key: pd.Series(_column_cells(rows, col, shortest), dtype=object)
            for key, col in columns.items()
        }
    )


def _column_cells(rows: list[list[object]], col: int, shortest: int) -> list[object]:
    """Column ``col`` of ``rows``, an empty string where a row is too short to reach it."""
    if col < shortest:
        return list(map(itemgetter(col), rows))
    return [row[col] if col < len(row) else "" for row in rows]
