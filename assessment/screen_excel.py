"""The ranked shortlist of ``assess screen`` as an Excel workbook, and the full result beside it.

Three sheets: ``Screening`` (one row per project in rank order, gate verdicts and the
recommendation coloured by conditional formats over column ranges), ``Rejected`` (rows that
could not be screened, with reasons) and ``Summary`` (blocks of counts, one under another).

Written with xlsxwriter: column by column in memory up to a million cells (10,000 projects
take under two seconds), row by row in its constant-memory mode beyond. Every text cell is
written as text: a value that starts with ``=``, ``+``, ``-`` or ``@`` is never turned into a
formula or a link. Each file is written under a temporary name in the target folder and renamed
at the end, so an interrupted run never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from xlsxwriter import Workbook
from xlsxwriter.worksheet import Worksheet

from ._files import publish
from .excel import VERDICT_FILLS

EXCEL_MAX_ROWS = 1_048_575  # Excel's row limit minus the header row
RECOMMENDATION_FILLS = {
    "approve": "C6EFCE",
    "approve_with_conditions": "FFEB9C",
    "refer": "D9E1F2",
    "decline": "FFC7CE",
}
REJECTED_COLUMNS = ["file", "sheet", "row", "cell", "project_id", "reasons"]
FULL_RESULT_FILES = ("screening.parquet", "screening.csv")
_LAST_BASE_COLUMN = "decision_reason"  # the rule-verdict columns follow it
_CHUNK_ROWS = 20_000  # rows converted to Python values at a time: bounds memory
_WIDTH_SAMPLE = 500  # rows looked at to size a column
_IN_MEMORY_CELLS = 1_000_000  # above this, write row by row in constant-memory mode (slower)
_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}

# A writer puts one non-missing value in one cell: (row, column, value, format).
Writer = Callable[[int, int, object, object], object]


def write_screening_workbook(
    results: pd.DataFrame,
    rejected: pd.DataFrame,
    summary: dict[str, pd.DataFrame],
    path: str | Path,
    *,
    gate_rules: list[str],
    titles: dict[str, str] | None = None,
    max_rows: int = EXCEL_MAX_ROWS,
) -> Path:
    """Write the shortlist workbook to ``path`` and return it.

    ``results`` is ranked; of its rule columns (those after ``decision_reason``) only
    ``gate_rules`` are shown, with ``titles`` (rule id -> title) as header comments. When
    ``results`` has more than ``max_rows`` rows, Screening holds the first ``max_rows`` and the
    Summary sheet's first line says where the full result is.
    """
    path = Path(path)
    shown = results[screening_columns(results, gate_rules)]
    _check_max_rows(max_rows)
    note = _truncation_note(len(results), max_rows)

    top = shown.iloc[:max_rows]
    options = {**_OPTIONS, "constant_memory": top.size > _IN_MEMORY_CELLS}

    def fill(temporary: Path) -> None:
        with _gc_paused():
            book = Workbook(str(temporary), options)
            try:
                formats = _Formats(book)
                _write_screening(book, formats, top, gate_rules, titles or {})
                _write_table(book.add_worksheet("Rejected"), formats, _rejected_table(rejected))
                _write_summary(book.add_worksheet("Summary"), formats, summary, note)
            finally:
                book.close()
                _release_cells(book)

    return _write_atomically(path, fill)


def write_full_results(results: pd.DataFrame, folder: str | Path) -> list[Path]:
    """Write every row and column of ``results`` to ``screening.parquet`` and
    ``screening.csv`` (UTF-8 with a byte-order mark, so Excel reads Chinese) in ``folder``."""
    folder = Path(folder)
    parquet, csv = (folder / name for name in FULL_RESULT_FILES)
    return [
        _write_atomically(parquet, lambda t: results.to_parquet(t, engine="pyarrow", index=False)),
        _write_atomically(csv, lambda t: results.to_csv(t, index=False, encoding="utf-8-sig")),
    ]


def screening_columns(results: pd.DataFrame, gate_rules: list[str]) -> list[str]:
    """The columns of the Screening sheet: everything up to ``decision_reason``, then the gate
    rules in the given order."""
    columns = [str(c) for c in results.columns]
    if _LAST_BASE_COLUMN not in columns:
        raise ValueError(
            f"the 'results' parameter of write_screening_workbook must have a "
            f"'{_LAST_BASE_COLUMN}' column before the rule columns; got {columns[:20]} instead"
        )
    rule_columns = columns[columns.index(_LAST_BASE_COLUMN) + 1 :]
    unknown = [rule for rule in gate_rules if rule not in rule_columns]
    if unknown:
        raise ValueError(
            f"the 'gate_rules' parameter of write_screening_workbook must name rule columns of "
            f"'results'; got {unknown} instead"
        )
    return columns[: columns.index(_LAST_BASE_COLUMN) + 1] + list(gate_rules)


def _check_max_rows(max_rows: int) -> None:
    if not 1 <= max_rows <= EXCEL_MAX_ROWS:
        raise ValueError(
            f"the 'max_rows' parameter of write_screening_workbook must be between 1 and "
            f"{EXCEL_MAX_ROWS}; got {max_rows} instead"
        )


def _truncation_note(total: int, max_rows: int) -> str | None:
    if total <= max_rows:
        return None
    files = " and ".join(FULL_RESULT_FILES)
    return f"Screening holds the top {max_rows} of {total} projects; the full result is in {files}"


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector while the workbook is built: xlsxwriter keeps one tuple
    per cell until it saves, and the collector scanning them again and again took a quarter of
    the time. Nothing written makes reference cycles; reference counting frees as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _release_cells(book: Workbook) -> None:
    """Drop the saved cells now. xlsxwriter's worksheets and workbook refer to each other, so
    without this the one-tuple-per-cell store would wait for the cycle collector (a quarter
    of a second for 10,000 projects, paid by whatever code runs next)."""
    for sheet in book.worksheets():
        cells = getattr(sheet, "table", None)
        if isinstance(cells, dict):
            cells.clear()


def _write_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write`` on a temporary file beside ``path``, then rename it onto ``path``; on any
    failure the temporary file is removed and ``path`` is left as it was."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        publish(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


class _Formats:
    """The workbook's cell formats and conditional-format fills, made once per workbook."""

    def __init__(self, book: Workbook) -> None:
        self.header = book.add_format({"bold": True})
        self.title = book.add_format({"bold": True, "font_size": 12})
        self.score = book.add_format({"num_format": "0.0"})
        self.percent = book.add_format({"num_format": "0.00%"})
        self.verdicts = {
            k: book.add_format({"bg_color": f"#{c}"}) for k, c in VERDICT_FILLS.items()
        }
        self.recommendations = {
            k: book.add_format({"bg_color": f"#{c}"}) for k, c in RECOMMENDATION_FILLS.items()
        }

    def number_format(self, column: str) -> object:
        if column == "pd":
            return self.percent
        return self.score if column == "score" or column.endswith("_score") else None


def _write_screening(
    book: Workbook,
    formats: _Formats,
    shown: pd.DataFrame,
    gate_rules: list[str],
    titles: dict[str, str],
) -> None:
    sheet = book.add_worksheet("Screening")
    columns = list(shown.columns)
    for rule in gate_rules:
        if titles.get(rule):
            sheet.write_comment(0, columns.index(rule), str(titles[rule]))
    _write_table(sheet, formats, shown)
    last_row = max(len(shown), 1)
    if gate_rules:
        first = columns.index(gate_rules[0])
        _colour(sheet, (1, first, last_row, first + len(gate_rules) - 1), formats.verdicts)
    if "recommendation" in columns:
        at = columns.index("recommendation")
        _colour(sheet, (1, at, last_row, at), formats.recommendations)


def _colour(sheet: Worksheet, cells: tuple[int, int, int, int], fills: dict) -> None:
    """One conditional format per value over a whole range: cheap, whatever the row count."""
    for value, fill in fills.items():
        rule = {"type": "cell", "criteria": "==", "value": f'"{value}"', "format": fill}
        sheet.conditional_format(*cells, rule)


def _rejected_table(rejected: pd.DataFrame) -> pd.DataFrame:
    return rejected if len(rejected.columns) else pd.DataFrame(columns=REJECTED_COLUMNS)


def _write_summary(
    sheet: Worksheet, formats: _Formats, summary: dict[str, pd.DataFrame], note: str | None
) -> None:
    row, widths = 0, {}
    if note:
        sheet.write_string(0, 0, note, formats.title)
        row = 2
    for title, block in summary.items():
        sheet.write_string(row, 0, str(title), formats.title)
        named = any(name is not None for name in block.index.names)
        block = block.reset_index() if named else block
        for column, width in _write_rows(sheet, formats, block, row + 1).items():
            widths[column] = max(width, widths.get(column, 0))
        row += len(block) + 3
    for column, width in widths.items():
        sheet.set_column(column, column, width)


def _write_table(sheet: Worksheet, formats: _Formats, frame: pd.DataFrame) -> None:
    """A table from A1: bold frozen header, autofilter over every row, sized columns."""
    for column, width in _write_rows(sheet, formats, frame, 0).items():
        sheet.set_column(column, column, width)
    sheet.freeze_panes(1, 0)
    if len(frame.columns):
        sheet.autofilter(0, 0, max(len(frame), 1), len(frame.columns) - 1)


def _write_rows(
    sheet: Worksheet, formats: _Formats, frame: pd.DataFrame, header_row: int
) -> dict[int, float]:
    """Write the header at ``header_row`` and the rows under it, a chunk at a time; return a
    width for each column."""
    names = [str(c) for c in frame.columns]
    for index, name in enumerate(names):
        sheet.write_string(header_row, index, name, formats.header)
    plans = [_plan(sheet, frame.iloc[:, i], formats.number_format(n)) for i, n in enumerate(names)]
    widths = {i: _header_width(name) for i, name in enumerate(names)}
    row = header_row + 1
    for chunk in _chunks(frame):
        columns = [plan.values(chunk.iloc[:, i]) for i, plan in enumerate(plans)]
        if row == header_row + 1:
            for index, values in enumerate(columns):
                widths[index] = max(widths[index], _values_width(values[:_WIDTH_SAMPLE]))
        write = _write_by_row if sheet.constant_memory else _write_by_column
        write(columns, plans, row)
        row += len(chunk)
    return widths


def _write_by_row(columns: list[list], plans: list[_Plan], first_row: int) -> None:
    """Row after row, as constant-memory mode requires."""
    cells = [(plan.write, plan.cell_format) for plan in plans]
    for row, values in enumerate(zip(*columns, strict=True), start=first_row):
        for index, (value, (write, cell_format)) in enumerate(zip(values, cells, strict=True)):
            if value is not None:
                write(row, index, value, cell_format)


def _write_by_column(columns: list[list], plans: list[_Plan], first_row: int) -> None:
    """Column after column: a tighter loop, when the whole sheet is kept in memory."""
    for index, (values, (_, write, cell_format)) in enumerate(zip(columns, plans, strict=True)):
        for row, value in enumerate(values, start=first_row):
            if value is not None:
                write(row, index, value, cell_format)


def _chunks(frame: pd.DataFrame) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), _CHUNK_ROWS):
        yield frame.iloc[start : start + _CHUNK_ROWS]


def _plan(sheet: Worksheet, column: pd.Series, number_format: object) -> _Plan:
    """How to write a column, chosen once from its type: booleans, numbers, text, or a
    value-by-value choice for columns of mixed Python objects."""
    if pd.api.types.is_bool_dtype(column.dtype):
        return _Plan(_python_values, sheet.write_boolean, None)
    if pd.api.types.is_numeric_dtype(column.dtype):
        return _Plan(_python_values, sheet.write_number, number_format)
    kind = pd.api.types.infer_dtype(column.astype(object), skipna=True)
    if kind in ("string", "empty"):
        return _Plan(_text_values, sheet.write_string, None)
    return _Plan(_python_values, _any_writer(sheet, number_format), None)


class _Plan(NamedTuple):
    values: Callable[[pd.Series], list]  # a chunk of the column as Python values, None missing
    write: Writer  # puts one value in one cell
    cell_format: object


def _any_writer(sheet: Worksheet, number_format: object) -> Writer:
    def write(row: int, column: int, value: object, cell_format: object) -> object:
        if isinstance(value, bool | np.bool_):
            return sheet.write_boolean(row, column, bool(value))
        if isinstance(value, int | np.integer) or (
            isinstance(value, float | np.floating) and math.isfinite(value)
        ):
            return sheet.write_number(row, column, value, number_format)
        return sheet.write_string(row, column, str(value))

    return write


def _text_values(column: pd.Series) -> list:
    return [None if value is None else str(value) for value in _python_values(column)]


def _python_values(column: pd.Series) -> list:
    """The column as a list with None for every missing or non-finite value."""
    missing = column.isna().to_numpy()
    if pd.api.types.is_float_dtype(column.dtype):
        missing = missing | ~np.isfinite(column.to_numpy(dtype=float, na_value=np.nan))
    values = column.to_numpy(dtype=object, copy=True)
    values[missing] = None
    return values.tolist()


def _header_width(name: str) -> float:
    return min(max(_text_width(name) + 3, 8), 40)


def _values_width(values: list) -> float:
    longest = max((_text_width(_shown(v)) for v in values if v is not None), default=0)
    return min(longest + 2, 60)


def _shown(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "FALSE"
    return f"{value:,.2f}" if isinstance(value, float | np.floating) else str(value)


def _text_width(text: str) -> int:
    """Width in Excel character units: CJK and other wide characters count twice."""
    return len(text) + sum(1 for ch in text if ord(ch) >= 0x1100)
