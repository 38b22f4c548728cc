"""Writing ordinary Excel workbooks: one library (xlsxwriter), one path.

:func:`write_workbook` writes tables (:class:`Table`: a frame with its fills and number
formats) as sheets with a bold, frozen, filtered header and columns as wide as their content,
text always as text (never a formula, link or number), dates as dates, missing values blank;
through a temporary file beside the target (:func:`assessment._shared.files.write_atomically`).
A caller that draws more (charts) passes ``extra``, which gets the workbook and its sheets
before it is closed.

openpyxl stays for reading; the screening shortlist keeps its own fast row writer.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from xlsxwriter import Workbook
from xlsxwriter.utility import quote_sheetname, xl_col_to_name

from .files import XLSXWRITER_OPTIONS, write_atomically, xlsx_value
from .text import joined

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
HEADER = {"bold": True}
WIDTHS = (10, 50, 70)  # a column's width in characters: at least, at most, at most wrapped
_WIDTH_SAMPLE = 200  # the rows looked at to size a column


@dataclass
class Table:
    """A frame to write as one sheet. ``fills``: column -> cell text -> RGB colour of the
    cell; ``formats``: column -> number format of its numbers, or one per row (None:
    General); ``row_formats``: row position -> number format of the numbers in that row (after
    the first column); ``styled``: a bold, frozen, filtered header and column widths (False:
    the bare table); ``headings``: row positions written bold (the group titles of a label /
    value sheet); ``wrap``: columns whose text wraps."""

    frame: pd.DataFrame
    fills: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    formats: Mapping[str, str | Sequence[str | None]] = field(default_factory=dict)
    row_formats: Mapping[int, str] = field(default_factory=dict)
    styled: bool = True
    headings: Collection[int] = ()
    wrap: Collection[str] = ()

    def number_format(self, column: object, row: int) -> str | None:
        """The number format of the cell at ``row`` (a position) of ``column``."""
        found = self.formats.get(column)
        if isinstance(found, str):
            return found
        if found is not None:
            return found[row]
        return self.row_formats.get(row) if column != self.frame.columns[0] else None


def write_workbook(
    path: str | Path,
    tables: Mapping[str, Table | pd.DataFrame],
    extra: Callable[[Workbook, dict], None] | None = None,
) -> Path:
    """Write ``tables`` (sheet title -> :class:`Table` or frame) to ``path`` atomically;
    ``extra(book, sheets)`` draws more (charts) before the book is closed."""

    def draw(book: Workbook, formats: Formats) -> None:
        sheets = {}
        for title, table in tables.items():
            table = table if isinstance(table, Table) else Table(table)
            sheets[title] = book.add_worksheet(title)
            write_table_sheet(sheets[title], table, formats)
        if extra is not None:
            extra(book, sheets)

    return write_book(path, draw)


def write_book(path: str | Path, draw: Callable[[Workbook, Formats], None]) -> Path:
    """A workbook drawn by ``draw(book, formats)`` (a form, not a table: the application
    template), written to ``path`` atomically, strings kept as strings."""

    def write(temporary: Path) -> None:
        book = Workbook(str(temporary), XLSXWRITER_OPTIONS)
        try:
            draw(book, Formats(book))
        finally:
            book.close()

    return write_atomically(path, write)


class Formats:
    """The workbook's cell formats, made once per combination of properties (xlsxwriter needs
    one format object per combination): ``formats(bold=True, num_format="0.0%")``."""

    def __init__(self, book: Workbook) -> None:
        self.book, self.made = book, {}

    def __call__(self, **properties: object):
        if not properties:
            return None
        key = tuple(sorted(properties.items()))
        if key not in self.made:
            self.made[key] = self.book.add_format(dict(properties))
        return self.made[key]


def write_table_sheet(sheet, table: Table, formats: Formats) -> None:
    """``table`` from A1: the header, then the rows."""
    frame = table.frame
    header = formats(**HEADER) if table.styled else None
    for column, name in enumerate(frame.columns):
        sheet.write_string(0, column, xlsx_value(str(name)), header)
        fills = table.fills.get(name, {})
        wrap = {"text_wrap": True} if name in table.wrap else {}
        for row, value in enumerate(frame[name].tolist()):
            fill = fills.get(value) if isinstance(value, str) else None
            style = {**wrap, **(HEADER if row in table.headings else {})}
            if fill:
                style |= {"bg_color": f"#{fill}", "pattern": 1}
            _write_cell(
                sheet, (row + 1, column), value, formats, style, table.number_format(name, row)
            )
    if table.styled and len(frame.columns):
        _style(sheet, table)


def _style(sheet, table: Table) -> None:
    """Columns as wide as their header and first values, a frozen and filtered header."""
    frame = table.frame
    least, most, wrapped = WIDTHS
    for column, name in enumerate(frame.columns):
        values = frame[name].iloc[:_WIDTH_SAMPLE].tolist()
        longest = max([_width(name), *(_width(value) for value in values)]) + 2
        widest = wrapped if name in table.wrap else most
        sheet.set_column(column, column, max(least, min(longest, widest)))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(frame), 1), len(frame.columns) - 1)


def _width(value: object) -> int:
    """The width of a value's text in Excel's character units: wide (CJK) characters count
    twice; a number as about ten characters."""
    value = _plain(value)
    if isinstance(value, int | float | dt.date) and not isinstance(value, bool):
        return 10
    text = "" if value is None else str(value)
    return len(text) + sum(1 for ch in text if ord(ch) >= 0x1100)


def _write_cell(sheet, at: tuple[int, int], value, formats, style: dict, number) -> None:
    value = _plain(value)
    if value is None or value == "":  # an empty text is a blank cell
        if style:
            sheet.write_blank(*at, None, formats(**style))
    elif isinstance(value, bool):
        sheet.write_boolean(*at, value, formats(**style))
    elif isinstance(value, int | float):
        shape = {"num_format": number} if number else {}
        sheet.write_number(*at, value, formats(**style, **shape))
    elif isinstance(value, dt.date):
        midnight = not isinstance(value, dt.datetime) or value.time() == dt.time()
        shape = {"num_format": DATE_FORMAT if midnight else DATETIME_FORMAT}
        sheet.write_datetime(*at, value, formats(**style, **shape))
    else:
        sheet.write_string(*at, xlsx_value(value), formats(**style))


def _plain(value: object) -> object:
    """A value a cell can hold: Python numbers, dates, text (lists joined, dicts as their
    text), missing and non-finite numbers as None."""
    if isinstance(value, list | tuple):
        return joined(value)
    if isinstance(value, dict):
        return str(value)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date | bool | int | float | str):
        return value
    return str(value)


def column_range(sheet: str, column: int, first_row: int, last_row: int) -> str:
    """An absolute range of one column as a formula, rows and columns counted from 0:
    ``='Lists'!$B$2:$B$9``."""
    letter = xl_col_to_name(column)
    return f"={quote_sheetname(sheet)}!${letter}${first_row + 1}:${letter}${last_row + 1}"
