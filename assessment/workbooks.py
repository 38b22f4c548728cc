"""Open input files as grids of raw cells: ``.xlsx``, ``.xlsm`` and ``.ods`` through
python-calamine (macros are never run), ``.csv`` through the standard library, ``.parquet``
(a candidate list; its column names are the header row) through pyarrow.

A long CSV or Parquet list keeps its first records as rows and the rest column-wise (see
:class:`Sheet`): the body of a CSV file is then parsed by pyarrow, but only where pyarrow
splits it into exactly the cells the csv module gives (same dialect, every record as wide as
the first, no blank line or lone carriage return); anything else is read by the csv module.

A file that cannot be read raises :class:`~assessment.errors.InputError` saying why: empty, not
a spreadsheet, password-protected, corrupt, or in an unknown text encoding.
"""

from __future__ import annotations

import codecs
import csv
import decimal
import io
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from .errors import InputError

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".ods", ".csv", ".parquet")
# A folder may hold Parquet data that is no candidate list (sample_projects/history holds the
# loan history the model is trained on), so a Parquet list is read only when named itself.
NAMED_ONLY_SUFFIXES = (".parquet",)
CSV_SAMPLE_CHARS = 8192
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_CSV_ENCODINGS = ("utf-8-sig", "gb18030")
_BLOCK_BYTES = 1 << 24
HEAD_RECORDS = 20  # records a long list keeps as rows: the header is looked for among them


@dataclass
class Sheet:
    """One visible sheet as rows of raw cells, anchored at A1 (row 0 is Excel row 1).

    Hidden sheets (such as the template's dropdown lists) are not read. A long CSV or Parquet
    list has its first records (at least the first ``HEAD_RECORDS``) in ``rows`` and the records
    after them in ``below``: one column of cells each, as long as each other (text columns of
    the ``string`` dtype for a CSV file, object columns for Parquet)."""

    name: str
    rows: list[list[object]]
    label_columns: tuple[list[int], int] | None = None  # cached by layouts._label_columns
    below: list[pd.Series] | None = None

    def all_rows(self) -> list[list[object]]:
        """Every record as a row, those of ``below`` included."""
        if not self.below:
            return self.rows
        cells = [column.tolist() for column in self.below]
        return self.rows + [list(row) for row in zip(*cells, strict=True)]


def find_inputs(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders recursively into their spreadsheet files, in a stable order.

    A file named explicitly is kept whatever its suffix (the reader reports it if foreign);
    inside folders only spreadsheet suffixes are taken (not ``.parquet``, see
    ``NAMED_ONLY_SUFFIXES``), and Excel lock files (``~$*``), hidden files and what an
    ``.assessignore`` file lists (see :func:`_walk`) are left out.
    """
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(p for p in _walk(path, []) if _is_spreadsheet(p)))
        else:
            found.append(path)
    return found


IGNORE_FILE = ".assessignore"


def _walk(folder: Path, ignore: list[tuple[Path, str]]) -> Iterator[Path]:
    """Every path below ``folder`` (symlinked folders not entered, as ``rglob``), leaving out
    what an ``IGNORE_FILE`` in ``folder`` or a folder on the way down lists: one glob pattern
    a line, relative to the folder holding the file (``broken/``: a folder, ``*.tmp``: a name
    at any depth, ``a/*.csv``: anchored there); ``#`` starts a comment."""
    listing = folder / IGNORE_FILE
    if listing.is_file():
        lines = listing.read_text(encoding="utf-8-sig", errors="replace").splitlines()
        patterns = [line.strip() for line in lines]
        ignore = [*ignore, *((folder, p) for p in patterns if p and not p.startswith("#"))]
    for entry in folder.iterdir():
        if any(_listed(entry, base, pattern) for base, pattern in ignore):
            continue
        yield entry
        if entry.is_dir() and not entry.is_symlink():
            yield from _walk(entry, ignore)


def _listed(path: Path, base: Path, pattern: str) -> bool:
    """Does an ignore ``pattern`` of the folder ``base`` match ``path``? A pattern ending in
    ``/`` matches folders only; one with another ``/`` is anchored at ``base``."""
    if pattern.endswith("/") and not path.is_dir():
        return False
    anchored, pattern = "/" in pattern.rstrip("/"), pattern.strip("/")
    relative = path.relative_to(base)
    return (
        bool(pattern)
        and relative.match(pattern)
        and (not anchored or len(relative.parts) == len(Path(pattern).parts))
    )


def _is_spreadsheet(path: Path) -> bool:
    return (
        path.is_file()
        and path.suffix.lower() in SPREADSHEET_SUFFIXES
        and path.suffix.lower() not in NAMED_ONLY_SUFFIXES
        and not path.name.startswith(("~$", "."))
    )


def read_sheets(path: Path) -> list[Sheet]:
    """All sheets of one file as grids; raises InputError when the file cannot be read."""
    where = str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(
            "cannot open the file",
            where=where,
            got=error.strerror or str(error),
            hint="check the path and permissions",
        ) from None
    if not data.strip():
        raise InputError(
            "the file is empty", where=where, expected="a filled workbook", got="0 bytes of data"
        )
    if path.suffix.lower() == ".csv":
        return [_csv_file_sheet(path.stem, data, where)]
    if path.suffix.lower() == ".parquet":
        return [_parquet_file_sheet(path.stem, data, where)]
    _check_container(data, path)
    return _calamine_sheets(data, where)


def _check_container(data: bytes, path: Path) -> None:
    where = str(path)
    if data.startswith(_OLE_MAGIC) and "EncryptedPackage".encode("utf-16-le") in data:
        raise InputError(
            "the workbook is password-protected",
            where=where,
            expected="an unencrypted workbook",
            got="an encrypted package",
            hint="remove the password (File > Info > Protect Workbook) and resend",
        )
    if path.suffix.lower() not in SPREADSHEET_SUFFIXES:
        raise InputError(
            "not a supported spreadsheet type",
            where=where,
            expected=", ".join(SPREADSHEET_SUFFIXES),
            got=repr(path.suffix or "none"),
        )
    if not data.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
        raise InputError(
            "not a spreadsheet",
            where=where,
            expected=f"an Excel or OpenDocument workbook ({path.suffix})",
            got=_describe(data),
            hint="export the file again from the spreadsheet",
        )


def _describe(data: bytes) -> str:
    head = data[:8]
    for magic, name in (
        (b"%PDF", "a PDF document"),
        (b"<", "an HTML or XML page"),
        (b"{", "a JSON document"),
    ):
        if head.lstrip().startswith(magic):
            return name
    return "bytes that are neither a zip container nor an OLE workbook"


def _calamine_sheets(data: bytes, where: str) -> list[Sheet]:
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        return [
            Sheet(meta.name, book.get_sheet_by_name(meta.name).to_python(skip_empty_area=False))
            for meta in book.sheets_metadata
            if meta.visible == SheetVisibleEnum.Visible
        ]
    except Exception as error:  # calamine raises several unrelated types for broken files
        raise InputError(
            "the workbook is corrupt or unreadable",
            where=where,
            got=f"{type(error).__name__}: {error}",
            hint="open it in Excel or LibreOffice and save it again",
        ) from None


def _csv_file_sheet(name: str, data: bytes, where: str) -> Sheet:
    text = _decode(data, where)
    dialect = csv_dialect(text[:CSV_SAMPLE_CHARS])
    head, consumed = _head_records(text, dialect)
    return csv_sheet(name, head, text[consumed:], dialect)


def _head_records(text: str, dialect: type[csv.Dialect]) -> tuple[list[list[object]], int]:
    """The first ``HEAD_RECORDS`` records of a CSV text, and how many characters they span."""
    consumed = 0

    def lines() -> Iterator[str]:
        nonlocal consumed
        for line in _text_lines(text):
            consumed += len(line)
            yield line

    return list(islice(csv.reader(lines(), dialect), HEAD_RECORDS)), consumed


def _text_lines(text: str) -> Iterator[str]:
    """The lines of a text, each with its ``\\n``, as ``io.StringIO(text)`` gives them (without
    copying the text)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start) + 1 or len(text)
        yield text[start:end]
        start = end


def csv_sheet(name: str, rows: list[list[object]], text: str, dialect: type[csv.Dialect]) -> Sheet:
    """A sheet of the records ``rows`` followed by the records of the CSV ``text``, these
    column-wise when pyarrow reads them as the csv module would, else as rows."""
    below = csv_columns(text, dialect) if text else None
    if below is None:
        return Sheet(name, rows + [list(row) for row in csv.reader(io.StringIO(text), dialect)])
    return Sheet(name, rows, below=below)


def csv_columns(text: str, dialect: type[csv.Dialect]) -> list[pd.Series] | None:
    """The cells of a CSV text column-wise, parsed by pyarrow; None when pyarrow could split
    the text otherwise than the csv module (see the module notes), or finds records of
    another width than the first."""
    import pyarrow as pa

    data = text.encode("utf-8")
    if not _arrow_splits_alike(data, dialect):
        return None
    width = len(next(csv.reader(_text_lines(text), dialect), []))
    if width < 2:  # a blank line is one empty cell to pyarrow, no cell to the csv module
        return None
    try:
        table = _arrow_csv(data, dialect, width)
    except pa.ArrowInvalid:
        return None
    if _longest_cell(table) > csv.field_size_limit():  # where the csv module raises
        return None
    return [pd.Series(pd.arrays.ArrowStringArray(column)) for column in table.columns]


def _arrow_splits_alike(data: bytes, dialect: type[csv.Dialect]) -> bool:
    """The dialect and line breaks for which pyarrow and the csv module split alike."""
    return (
        dialect.delimiter in ",;\t"
        and dialect.quotechar in ('"', "'")
        and dialect.quoting == csv.QUOTE_MINIMAL
        and dialect.escapechar is None
        and not dialect.skipinitialspace
        and data.count(b"\r") == data.count(b"\r\n")
        and not data.startswith((b"\n", b"\r\n"))
        and b"\n\n" not in data
        and b"\n\r\n" not in data
    )


def _arrow_csv(data: bytes, dialect: type[csv.Dialect], width: int) -> object:
    import pyarrow as pa
    from pyarrow import csv as arrow_csv

    names = [f"c{index}" for index in range(width)]
    return arrow_csv.read_csv(
        pa.py_buffer(data),
        read_options=arrow_csv.ReadOptions(column_names=names, use_threads=False),
        parse_options=arrow_csv.ParseOptions(
            delimiter=dialect.delimiter,
            quote_char=dialect.quotechar,
            double_quote=dialect.doublequote,
            escape_char=False,
            newlines_in_values=True,
            ignore_empty_lines=False,
        ),
        convert_options=arrow_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _longest_cell(table: object) -> int:
    import pyarrow.compute as pc

    lengths = [pc.max(pc.utf8_length(column)).as_py() for column in table.columns]
    return max((length or 0 for length in lengths), default=0)


def csv_dialect(sample: str) -> type[csv.Dialect]:
    """The delimiter and quoting of a CSV file, sniffed from its first characters."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def csv_encoding(path: Path) -> str:
    """The encoding :func:`read_sheets` decodes a CSV file with, found by reading it in blocks
    (bounded memory): ``utf-8-sig`` when the whole file is UTF-8, else ``gb18030`` (GBK)."""
    for encoding in _CSV_ENCODINGS:
        if _decodes(path, encoding):
            return encoding
    raise _unknown_encoding(str(path))


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as stream:
            while block := stream.read(_BLOCK_BYTES):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _decode(data: bytes, where: str) -> str:
    for encoding in _CSV_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _unknown_encoding(where)


def _unknown_encoding(where: str) -> InputError:
    return InputError(
        "unknown text encoding",
        where=where,
        expected="UTF-8 or GBK text",
        hint="save the CSV as UTF-8",
    )


def _parquet_file_sheet(name: str, data: bytes, where: str) -> Sheet:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as error:
        raise parquet_error(where, error) from None
    return parquet_sheet(name, [list(table.column_names)], table)


def parquet_sheet(name: str, rows: list[list[object]], table: object) -> Sheet:
    """A sheet of the records ``rows`` followed by the rows of a pyarrow table, these (but the
    first few, up to ``HEAD_RECORDS`` records in all) column-wise."""
    columns = parquet_columns(table)
    kept = max(HEAD_RECORDS - len(rows), 0)
    head = [list(row) for row in zip(*(column[:kept] for column in columns), strict=True)]
    below = [pd.Series(column[kept:], dtype=object) for column in columns]
    return Sheet(name, rows + head, below=below if below and len(below[0]) else None)


def parquet_error(where: str, error: Exception) -> InputError:
    return InputError(
        "the Parquet file is corrupt or unreadable",
        where=where,
        expected="a Parquet table with one candidate project per row",
        got=f"{type(error).__name__}: {error}",
        hint="write the file again, e.g. with pandas.DataFrame.to_parquet",
    )


def parquet_rows(table: object) -> list[list[object]]:
    """The rows of a pyarrow table as raw cells like the other readers give: a null (or NaN) is
    an empty string, a decimal a float; numbers, text, dates and booleans are kept."""
    return [list(row) for row in zip(*parquet_columns(table), strict=True)]


def parquet_columns(table: object) -> list[list[object]]:
    """The columns of a pyarrow table as raw cells (see :func:`parquet_rows`)."""
    return [_parquet_cells(column) for column in table.columns]


def _parquet_cells(column: object) -> list[object]:
    import pyarrow as pa

    values = column.to_pylist()
    if column.null_count == 0 and not pa.types.is_floating(column.type):
        return values if not pa.types.is_decimal(column.type) else [float(v) for v in values]
    if pa.types.is_decimal(column.type) or pa.types.is_float16(column.type):
        return [_parquet_cell(value) for value in values]
    for position in np.flatnonzero(_nulls_and_nans(column)):
        values[position] = ""
    return values


def _nulls_and_nans(column: object) -> np.ndarray:
    import pyarrow.compute as pc

    return pc.is_null(column, nan_is_null=True).to_numpy()


def _parquet_cell(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return float(value) if isinstance(value, decimal.Decimal) else value
