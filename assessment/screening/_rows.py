"""The rows of a large worksheet written straight as OOXML, a block of rows at a time, into a
workbook that xlsxwriter drafted.

xlsxwriter spends a few microseconds of Python on every cell: a million screened projects of
sixty-odd columns took minutes. Here Arrow kernels make the cells instead, column by column, so
Python works per column and per block, not per cell:

* Each column of a block becomes an Arrow string array with one cell's XML per row. Numbers are
  cast to text (the shortest form that reads back to the same float) between ``<c><v>`` and
  ``</v></c>``. Booleans, categoricals, and numbers or text with few distinct values in the
  block are looked up in a small table of their distinct cells; such text refers to a shared
  string. Other text is written inline (``t="inlineStr"``, so never a formula). Missing values
  and non-finite numbers leave an empty ``<c/>``. Text is escaped as xlsxwriter escapes it:
  Arrow replaces ``& < >``; the rare text that needs more (control characters as ``_xHHHH_``,
  outer whitespace kept, Excel's 32,767-character limit), found from its UTF-8 bytes with
  numpy, becomes a shared string escaped in Python.
* Neighbouring looked-up columns are merged into one look-up in the table of their
  combinations, and one element-wise join makes the rows; the block's XML is then contiguous in
  the joined array's buffer. A second thread deflates it into the zip (zlib lets go of the GIL)
  while the next block is built. Blocks hold about ``_BLOCK_BYTES`` of XML, so memory stays
  bounded whatever the number of rows; the sheet is written with ZIP64 headers, as it may pass
  4 GiB.

Cells carry no ``r`` reference. OOXML makes it optional: cells in column order, with ``<c/>``
for the gaps, read the same in openpyxl, python-calamine and pandas (tests/test_screen_excel.py)
and in LibreOffice. Leaving it out makes a cell's XML the same in every row, which is what lets
cells come from tables: for a million rows of 63 columns the cells took 3.4 s instead of 10 s
with references, the XML 1.4 GB instead of 2.0 GB, the file 169 MB instead of 323 MB.

The draft: xlsxwriter writes the whole workbook in constant_memory mode (inline strings, so no
shared strings part of its own) with the big sheet holding its header row and a probe row: one
number cell, with the column's number format, in each column whose numbers have one.
``write_rows`` copies the draft part by part into the target, replacing that sheet's rows with
the header row as xlsxwriter wrote it followed by the generated rows (each column's numbers take
the style ``s`` of its probe cell), setting the sheet's dimension to the full range, and adding
the shared strings part. Everything else (styles, column widths, frozen panes, autofilter,
conditional formats, comments, the other sheets) is xlsxwriter's.
"""

from __future__ import annotations

import collections
import math
import re
import shutil
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from xlsxwriter.utility import xl_cell_to_rowcol, xl_rowcol_to_cell

_BLOCK_BYTES = 16 * 2**20  # XML per block of rows: bounds memory
_FIRST_BLOCK_ROWS = 2_000  # rows of the first block, before the XML per row is known
_MAX_BLOCK_ROWS = 100_000
_BLOCKS_IN_FLIGHT = 2  # blocks built but not yet deflated
_COMBINED_CELLS = 4_096  # largest table of combined cells of neighbouring looked-up columns
_JOINED_AT_ONCE = 16  # inputs of one element-wise join
_FEW_DISTINCT = 4  # a block whose values have at most 1/4 as many distinct ones uses a table
_EXCEL_MAX_CHARS = 32_767  # UTF-16 units; xlsxwriter cuts longer text there
_SAFE_BYTES = _EXCEL_MAX_CHARS  # UTF-8 text this long or shorter is never over the limit

_EMPTY = "<c/>"
_NUMBER_CLOSE = "</v></c>"
_INLINE_OPEN = '<c t="inlineStr"><is><t>'
_INLINE_CLOSE = "</t></is></c>"
_BOOLEAN_CELLS = ('<c t="b"><v>0</v></c>', '<c t="b"><v>1</v></c>')

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SHARED_STRINGS_PART = "xl/sharedStrings.xml"
# The parts that list the others, each with its closing tag and the entry for shared strings.
_LISTS_OF_PARTS = {
    "[Content_Types].xml": (
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>',
    ),
    "xl/_rels/workbook.xml.rels": (
        b"</Relationships>",
        b'<Relationship Id="rIdSharedStrings" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>',
    ),
}

_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))  # "&" first
# Text that needs escapes (RE2, for Arrow): control characters, non-characters, and text that
# looks like an escape.
_NEEDS_ESCAPES = r"[\x00-\x08\x0b-\x1f\x{fffe}\x{ffff}]|_x[0-9a-fA-F]{4}_"
# Python's whitespace (str.isspace, and so xlsxwriter's r"^\s|\s$"), and its UTF-8 encodings as
# numbers, by length.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_WHITESPACE_UTF8 = {
    size: [int.from_bytes(c.encode(), "big") for c in WHITESPACE if len(c.encode()) == size]
    for size in (1, 2, 3)
}
_ESCAPE_LOOKALIKE = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]")

# The cells of one column for rows [start, stop) of the frame.
ColumnCells = Callable[[int, int], "pa.Array | Lookup"]


def write_rows(
    draft: str | Path, target: str | Path, sheet: str, frame: pd.DataFrame, header_row: int = 0
) -> None:
    """Copy the xlsx ``draft`` to ``target`` with the rows of ``frame`` under the header row
    (``header_row``, from 0; the rows above it are kept) of worksheet ``sheet`` (see the
    module's docstring for what the draft holds)."""
    strings = SharedStrings()
    with (
        zipfile.ZipFile(draft) as source,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out,
    ):
        part = _sheet_part(source, sheet)
        if _SHARED_STRINGS_PART in source.namelist():
            raise ValueError(
                f"the draft {draft} has shared strings of its own; xlsxwriter must write it in "
                f"constant_memory mode"
            )
        for info in source.infolist():
            if info.filename == part:
                _write_sheet(out, part, source.read(part), frame, strings, header_row)
            elif info.filename in _LISTS_OF_PARTS:
                out.writestr(info.filename, _with_shared_strings(info.filename, source.read(info)))
            else:
                _copy(source, info, out)
        out.writestr(_SHARED_STRINGS_PART, strings.xml())


def _copy(source: zipfile.ZipFile, info: zipfile.ZipInfo, out: zipfile.ZipFile) -> None:
    """Copy a part as it is, a megabyte at a time (the Rejected sheet may be large)."""
    large = info.file_size >= 2**31
    with source.open(info) as data, out.open(info.filename, "w", force_zip64=large) as copy:
        shutil.copyfileobj(data, copy, 2**20)


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> str:
    """The zip entry of the worksheet named ``sheet``, from the workbook and its relations."""
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    found = [s for s in book.iter(f"{{{_MAIN}}}sheet") if s.get("name") == sheet]
    if not found:
        raise ValueError(f"the draft workbook has no sheet named {sheet!r}")
    relation = found[0].get(f"{{{_RELATIONSHIPS}}}id")
    for item in relations:
        if item.get("Id") == relation:
            target = item.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    raise ValueError(f"the draft workbook has no relation {relation!r} for sheet {sheet!r}")


def _with_shared_strings(name: str, data: bytes) -> bytes:
    """The content types or the workbook's relations, with the shared strings part added."""
    closing, added = _LISTS_OF_PARTS[name]
    return data.replace(closing, added + closing)


def _write_sheet(
    out: zipfile.ZipFile,
    part: str,
    draft: bytes,
    frame: pd.DataFrame,
    strings: SharedStrings,
    header_row: int,
) -> None:
    head, header, probe, tail = _split_sheet(draft, header_row)
    styles = _number_styles(probe)
    last = xl_rowcol_to_cell(header_row + len(frame), max(len(frame.columns) - 1, 0))
    head = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{last}"/>'.encode(), head)
    with out.open(part, "w", force_zip64=True) as handle:
        handle.write(head + b"<sheetData>" + header)
        rows = row_blocks(frame, styles, strings, first_row=header_row + 2)
        _write_in_background(handle.write, rows)
        handle.write(tail)


def _split_sheet(xml: bytes, header_row: int = 0) -> tuple[bytes, bytes, bytes, bytes]:
    """The worksheet XML before ``<sheetData>``, its rows down to the header row
    (``header_row``, from 0), the probe row under it, and the rest from ``</sheetData>`` on."""
    start, end = xml.find(b"<sheetData>"), xml.find(b"</sheetData>")
    if start < 0 or end < 0:
        raise ValueError("the draft worksheet has no rows: write its header row first")
    rows = re.findall(rb"<row\b.*?</row>", xml[start:end], flags=re.DOTALL)
    numbers = [int(re.match(rb'<row r="([0-9]+)"', row)[1]) for row in rows]
    header = b"".join(row for row, n in zip(rows, numbers, strict=True) if n <= header_row + 1)
    probe = [row for row, n in zip(rows, numbers, strict=True) if n == header_row + 2]
    return xml[:start], header, (probe or [b""])[0], xml[end:]


def _number_styles(probe_row: bytes) -> dict[int, int]:
    """Column index -> the style index ``s`` of each cell of the probe row."""
    styles = {}
    for reference, style in re.findall(rb'<c r="([A-Z]+[0-9]+)" s="([0-9]+)"', probe_row):
        styles[xl_cell_to_rowcol(reference.decode())[1]] = int(style)
    return styles


def _write_in_background(write: Callable[[pa.Buffer], object], blocks: Iterator) -> None:
    """``write`` each block in a second thread, in order, while the next one is built."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="xlsx-rows") as writer:
        pending: collections.deque = collections.deque()
        for block in blocks:
            pending.append(writer.submit(write, block))
            while len(pending) > _BLOCKS_IN_FLIGHT:
                pending.popleft().result()
        while pending:
            pending.popleft().result()


def row_blocks(
    frame: pd.DataFrame, styles: dict[int, int], strings: SharedStrings, *, first_row: int = 2
) -> Iterator[pa.Buffer]:
    """The ``<row>`` elements of ``frame``, from worksheet row ``first_row`` on, as blocks of
    UTF-8 XML of about ``_BLOCK_BYTES`` each."""
    columns = [
        _column_cells(frame.iloc[:, i], styles.get(i), strings) for i in range(len(frame.columns))
    ]
    start, rows = 0, _FIRST_BLOCK_ROWS
    while start < len(frame):
        stop = min(start + rows, len(frame))
        cells = _merged([cells(start, stop) for cells in columns])
        block = _joined_rows(first_row + start, stop - start, cells)
        rows = min(max(_BLOCK_BYTES * (stop - start) // max(block.size, 1), 1), _MAX_BLOCK_ROWS)
        start = stop
        yield block


def _joined_rows(first_row: int, count: int, cells: list[pa.Array]) -> pa.Buffer:
    """The rows' XML, contiguous in the buffer of their element-wise join."""
    numbers = pc.cast(pa.array(np.arange(first_row, first_row + count)), pa.string())
    pieces = [pc.binary_join_element_wise('<row r="', numbers, '">', ""), *cells]
    while len(pieces) > _JOINED_AT_ONCE:  # Arrow's join slows down with many inputs
        step = _JOINED_AT_ONCE
        pieces = [_joined(pieces[i : i + step]) for i in range(0, len(pieces), step)]
    rows = pc.binary_join_element_wise(*pieces, "</row>", "")
    offsets = np.frombuffer(rows.buffers()[1], np.int32, count + 1, offset=4 * rows.offset)
    return rows.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))


def _joined(pieces: list[pa.Array]) -> pa.Array:
    return pieces[0] if len(pieces) == 1 else pc.binary_join_element_wise(*pieces, "")


class Lookup(NamedTuple):
    """A column's cells in a block as a table of distinct cells, the last one ``<c/>``, and
    each row's index into it."""

    table: pa.Array
    codes: np.ndarray

    def cells(self) -> pa.Array:
        return self.table.take(self.codes)


def _merged(columns: list[pa.Array | Lookup]) -> list[pa.Array]:
    """The cells of each column, neighbouring look-ups merged into one look-up in the table of
    their combinations while it stays under ``_COMBINED_CELLS``: one take and one join input
    instead of several (both cost per row and input)."""
    found: list[pa.Array | Lookup] = []
    for column in columns:
        last = found[-1] if found else None
        if isinstance(column, Lookup) and isinstance(last, Lookup) and _combinable(last, column):
            found[-1] = _combined(last, column)
        else:
            found.append(column)
    return [item.cells() if isinstance(item, Lookup) else item for item in found]


def _combinable(left: Lookup, right: Lookup) -> bool:
    return len(left.table) * len(right.table) <= _COMBINED_CELLS


def _combined(left: Lookup, right: Lookup) -> Lookup:
    width = len(right.table)
    lefts = left.table.take(np.repeat(np.arange(len(left.table)), width))
    rights = right.table.take(np.tile(np.arange(width), len(left.table)))
    table = pc.binary_join_element_wise(lefts, rights, "")
    return Lookup(table, left.codes.astype(np.int32) * width + right.codes)


def _column_cells(column: pd.Series, style: int | None, strings: SharedStrings) -> ColumnCells:
    """How to make the cells of a column, chosen once from its type, as xlsxwriter's path in
    screen_excel chooses: booleans, numbers, text, or value by value for mixed objects."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _category_cells(column, style, strings)
    if pd.api.types.is_bool_dtype(dtype):
        values = column.to_numpy(dtype="int8", na_value=len(_BOOLEAN_CELLS))
        return _table_cells([*_BOOLEAN_CELLS, _EMPTY], values)
    if pd.api.types.is_numeric_dtype(dtype):
        return _NumberCells(column, style)
    if isinstance(dtype, pd.StringDtype) or pd.api.types.infer_dtype(column, skipna=True) in (
        "string",
        "empty",
    ):
        return _TextCells(column, strings)
    return _python_cells(column, style, strings)


def _table_cells(table: list[str], codes: np.ndarray) -> ColumnCells:
    """Cells looked up by code in a table of cells, one per distinct value."""
    cells = pa.array(table, pa.string())
    return lambda start, stop: Lookup(cells, codes[start:stop])


def _category_cells(column: pd.Series, style: int | None, strings: SharedStrings) -> ColumnCells:
    """Cells looked up by the column's own category codes, a block's widened as it is written
    (a whole column's copy, for a hundred rule columns of a million rows, is 0.2 GiB)."""
    table = [_value_cell(value, style, strings.cell) for value in column.cat.categories]
    codes, cells = column.cat.codes.to_numpy(), pa.array([*table, _EMPTY], pa.string())
    wide = np.int16 if len(table) < 2**15 else np.int32  # room for the missing code

    def block(start: int, stop: int) -> Lookup:
        here = codes[start:stop].astype(wide)
        here[here < 0] = len(table)
        return Lookup(cells, here)

    return block


def _python_cells(column: pd.Series, style: int | None, strings: SharedStrings) -> ColumnCells:
    """Value by value, for columns of mixed Python objects (rare, and slow)."""

    def cells(start: int, stop: int) -> pa.Array:
        values = column.iloc[start:stop]
        missing = values.isna().to_numpy()
        found = [
            _EMPTY if gap else _value_cell(value, style, strings.text_cell)
            for value, gap in zip(values.to_numpy(dtype=object), missing, strict=True)
        ]
        return pa.array(found, pa.string())

    return cells


class _NumberCells:
    """Numbers cast to text by Arrow; while blocks have few distinct numbers, a look-up in a
    table of the distinct ones (casting is the slow part)."""

    def __init__(self, column: pd.Series, style: int | None) -> None:
        self.column = column
        self.open = _number_open(style)
        self.few_distinct = True  # until a block shows otherwise

    def __call__(self, start: int, stop: int) -> pa.Array | Lookup:
        values = _arrow_numbers(self.column.iloc[start:stop])
        if self.few_distinct:
            encoded = pc.dictionary_encode(values)
            if len(encoded.dictionary) * _FEW_DISTINCT <= len(values):
                return _lookup(self._cells(encoded.dictionary), encoded.indices)
            self.few_distinct = False
        return pc.fill_null(self._cells(values), _EMPTY)

    def _cells(self, values: pa.Array) -> pa.Array:
        return pc.binary_join_element_wise(
            self.open, pc.cast(values, pa.string()), _NUMBER_CLOSE, ""
        )


class _TextCells:
    """While blocks have few distinct texts, shared strings looked up in a table of the distinct
    ones; other text inline."""

    def __init__(self, column: pd.Series, strings: SharedStrings) -> None:
        self.column = column
        self.strings = strings
        self.few_distinct = True  # until a block shows otherwise

    def __call__(self, start: int, stop: int) -> pa.Array | Lookup:
        values = _arrow_text(self.column.iloc[start:stop])
        if self.few_distinct:
            encoded = pc.dictionary_encode(values)
            if len(encoded.dictionary) * _FEW_DISTINCT <= len(values):
                table = [self.strings.cell(text) for text in encoded.dictionary.to_pylist()]
                return _lookup(pa.array(table, pa.string()), encoded.indices)
            self.few_distinct = False
        return _inline_cells(values, self.strings)


def _lookup(table: pa.Array, indices: pa.Array) -> Lookup:
    """A look-up in ``table`` by ``indices``, ``<c/>`` where an index is missing."""
    with_empty = pa.concat_arrays([table, pa.array([_EMPTY], pa.string())])
    codes = pc.fill_null(indices, len(table)).to_numpy().astype(np.int32)
    return Lookup(with_empty, codes)


def _inline_cells(values: pa.Array, strings: SharedStrings) -> pa.Array:
    """Inline text cells with ``& < >`` escaped by Arrow. The rare text that needs more care
    (control characters, ``_xHHHH_`` look-alikes, outer whitespace, over Excel's limit) becomes
    a shared string, escaped in Python: readers such as openpyxl undo ``_xHHHH_`` escapes in
    shared strings only, as in the workbooks xlsxwriter writes alone."""
    layout = _Utf8(values)
    escaped = values
    for char, entity in _ENTITIES:
        if layout.contains(char.encode()):
            escaped = pc.replace_substring(escaped, char, entity)
    cells = pc.binary_join_element_wise(_INLINE_OPEN, escaped, _INLINE_CLOSE, "")
    careful = layout.needs_care(values)
    if careful.any():
        redone = [strings.cell(text) for text in values.filter(careful).to_pylist()]
        cells = pc.replace_with_mask(cells, pa.array(careful), pa.array(redone, pa.string()))
    return pc.fill_null(cells, _EMPTY)


class _Utf8:
    """The UTF-8 bytes of a block of text, to find by byte what needs care without running a
    regular expression over every text."""

    def __init__(self, values: pa.Array) -> None:
        offsets = values.buffers()[1]
        data = values.buffers()[2]
        self.offsets = np.frombuffer(offsets, np.int32, len(values) + 1, 4 * values.offset)
        self.data = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
        self.data = self.data[: self.offsets[-1]]
        self.valid = values.is_valid().to_numpy(zero_copy_only=False)

    def needs_care(self, values: pa.Array) -> np.ndarray:
        """Which texts need escapes, keep outer whitespace, or are over Excel's limit."""
        starts, ends = self.offsets[:-1], self.offsets[1:]
        careful = (ends - starts > _SAFE_BYTES) | self._outer_whitespace(starts, ends)
        if self._may_need_escapes():
            found = pc.match_substring_regex(values, _NEEDS_ESCAPES)
            careful |= pc.fill_null(found, False).to_numpy(zero_copy_only=False)
        return careful & self.valid

    def contains(self, pattern: bytes) -> bool:
        """Whether any text holds ``pattern`` (numpy scans faster than ``bytes.find``)."""
        data = self.data[self.offsets[0] :]
        found = np.flatnonzero(data[: len(data) - len(pattern) + 1] == pattern[0])
        for k in range(1, len(pattern)):
            found = found[data[found + k] == pattern[k]]
        return len(found) > 0

    def _may_need_escapes(self) -> bool:
        data = self.data[self.offsets[0] :]
        controls = np.count_nonzero(data < 0x20)  # tabs and newlines need no escape
        if controls and controls > np.count_nonzero(data == 0x09) + np.count_nonzero(data == 0x0A):
            return True
        return any(self.contains(p) for p in (b"_x", b"\xef\xbf\xbe", b"\xef\xbf\xbf"))

    def _outer_whitespace(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Whether each text starts or ends with a character that ``str.isspace``, from its
        first and last three bytes (every such character is one to three bytes long)."""
        if not len(self.data):
            return np.zeros(len(starts), bool)
        first = [self._bytes_at(starts + k) for k in range(3)]
        last = [self._bytes_at(ends - 1 - k) for k in range(3)]
        heads = _is_whitespace(
            first[0], first[0] << 8 | first[1], first[0] << 16 | first[1] << 8 | first[2]
        )
        tails = _is_whitespace(
            last[0], last[1] << 8 | last[0], last[2] << 16 | last[1] << 8 | last[0]
        )
        return (ends > starts) & (heads | tails)

    def _bytes_at(self, positions: np.ndarray) -> np.ndarray:
        return self.data[np.clip(positions, 0, len(self.data) - 1)].astype(np.int32)


def _is_whitespace(one: np.ndarray, two: np.ndarray, three: np.ndarray) -> np.ndarray:
    """Whether the first one, two or three bytes (as big-endian numbers) encode whitespace."""
    found = np.isin(one, _WHITESPACE_UTF8[1]) | np.isin(two, _WHITESPACE_UTF8[2])
    return found | np.isin(three, _WHITESPACE_UTF8[3])


def _arrow_numbers(values: pd.Series) -> pa.Array:
    """Floats with missing and non-finite values null; integers as they are."""
    if pd.api.types.is_float_dtype(values.dtype):
        floats = values.to_numpy(dtype="float64", na_value=np.nan)
        return pa.array(floats, mask=~np.isfinite(floats))
    found = pa.array(values)
    return found.combine_chunks() if isinstance(found, pa.ChunkedArray) else found


def _arrow_text(values: pd.Series) -> pa.Array:
    """The text as an Arrow string array, missing values null."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        found = pa.array(values.array)
    else:
        found = pa.array(values.to_numpy(dtype=object, na_value=None), pa.string())
    found = found.combine_chunks() if isinstance(found, pa.ChunkedArray) else found
    return found if found.type == pa.string() else found.cast(pa.string())


def _value_cell(value: object, style: int | None, text_cell: Callable[[str], str]) -> str:
    """The cell of one non-missing value, as xlsxwriter's path writes it: a boolean, a finite
    number (with ``style``), or else text made by ``text_cell``."""
    if isinstance(value, bool | np.bool_):
        return _BOOLEAN_CELLS[bool(value)]
    if isinstance(value, int | np.integer) or (
        isinstance(value, float | np.floating) and math.isfinite(value)
    ):
        return _number_open(style) + _number_text(value) + _NUMBER_CLOSE
    return text_cell(str(value))


def _number_open(style: int | None) -> str:
    return f'<c s="{style}"><v>' if style is not None else "<c><v>"


def _number_text(value: object) -> str:
    if isinstance(value, int | np.integer):
        return str(int(value))
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _escaped_text(text: str) -> tuple[str, bool]:
    """``text`` as xlsxwriter writes it in a ``<t>`` element, and whether that element must
    preserve its leading or trailing whitespace: cut at Excel's limit, control characters as
    ``_xHHHH_`` (and text that looks like such an escape escaped itself), ``& < >`` as
    entities."""
    text = _excel_length(text)
    text = _ESCAPE_LOOKALIKE.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda found: f"_x{ord(found.group()):04X}_", text)
    preserve = bool(text) and (text[0].isspace() or text[-1].isspace())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), preserve


def _excel_length(text: str) -> str:
    """``text`` cut to at most 32,767 UTF-16 units, never inside a character."""
    if len(text) <= _EXCEL_MAX_CHARS // 2:
        return text
    length = 0
    for index, char in enumerate(text):
        length += 2 if ord(char) > 0xFFFF else 1
        if length > _EXCEL_MAX_CHARS:
            return text[:index]
    return text


class SharedStrings:
    """The workbook's shared strings: each distinct text once, referred to by index."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def cell(self, text: str) -> str:
        """A cell referring to ``text``, which is added if new."""
        return f'<c t="s"><v>{self.index.setdefault(text, len(self.index))}</v></c>'

    def text_cell(self, text: str) -> str:
        """An inline cell holding ``text``, or a shared one if it needs escapes or keeps outer
        whitespace (as ``_inline_cells`` does)."""
        if _CONTROL.search(text) or _ESCAPE_LOOKALIKE.search(text):
            return self.cell(text)
        if text[:1].isspace() or text[-1:].isspace():
            return self.cell(text)
        return _INLINE_OPEN + _escaped_text(text)[0] + _INLINE_CLOSE

    def xml(self) -> bytes:
        """The shared strings part."""
        items = []
        for text in self.index:
            escaped, preserve = _escaped_text(text)
            space = ' xml:space="preserve"' if preserve else ""
            items.append(f"<si><t{space}>{escaped}</t></si>")
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<sst xmlns="{_MAIN}" uniqueCount="{len(self.index)}">{"".join(items)}</sst>'
        ).encode()
