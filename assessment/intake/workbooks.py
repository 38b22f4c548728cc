"""Open input files as grids of raw cells: ``.xlsx``, ``.xlsm`` and ``.ods`` through
python-calamine (macros are never run), ``.csv`` through the standard library, ``.parquet``
(a candidate list; its column names are the header row) through pyarrow.

A long CSV or Parquet list keeps its first records as rows and the rest column-wise (see
:class:`Sheet`): the body of a CSV file is then parsed by pyarrow, but only where pyarrow
splits it into exactly the cells the csv module gives (same dialect, every record as wide as
the first, no blank line or lone carriage return); anything else is read by the csv module.

A file that cannot be read raises :class:`~assessment.errors.InputError` saying why: not a
regular file (a FIFO or device is never read from), empty, not a spreadsheet,
password-protected, corrupt, malformed CSV, in an unknown text encoding, or past one of the
:class:`~assessment.intake.limits.Limits` (checked before a spreadsheet library sees the file, see
:mod:`assessment.intake.zipped`).

A CSV file is decoded as UTF-8 when it is valid UTF-8; else as GBK (GB18030) when its
non-ASCII bytes pair up as Chinese text does; else as Windows-1252, with a warning that the
encoding was guessed (:attr:`Sheet.remarks`).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import decimal
import io
import math
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from ..errors import InputError
from .limits import Deadline, Limits, read_regular_file
from .zipped import Notes, inspect_zip

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".ods", ".csv", ".parquet")
# A folder may hold Parquet data that is no candidate list (sample_projects/history holds the
# loan history the model is trained on), so a Parquet list is read only when named itself.
NAMED_ONLY_SUFFIXES = (".parquet",)
CSV_SAMPLE_CHARS = 8192
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_ODD_RUNS_FOR_GBK = 0.1  # GBK text has few runs of an odd number of non-ASCII bytes
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
    notes: Notes | None = None  # (row, column) -> (kind, detail): see assessment.intake.zipped
    remarks: list[dict] | None = None  # warnings about the whole file: {message, value, hint}

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
    return _once_each(found)


def _once_each(paths: list[Path]) -> list[Path]:
    """Each file once, however often it was reached (named twice, through ``./`` or a link,
    or in a folder given twice): the first way it was reached names it."""
    seen: set[str] = set()
    kept = []
    for path in paths:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            kept.append(path)
    return kept


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
    """A spreadsheet name on anything but a folder: a FIFO or device so named is kept, for
    the reader to refuse with its reason (nothing in a folder is left out silently)."""
    return (
        not path.is_dir()
        and path.suffix.lower() in SPREADSHEET_SUFFIXES
        and path.suffix.lower() not in NAMED_ONLY_SUFFIXES
        and not path.name.startswith(("~$", "."))
    )


def read_sheets(path: Path, limits: Limits | None = None) -> list[Sheet]:
    """All sheets of one file as grids; raises InputError when the file cannot be read or is
    past a limit (default: :meth:`Limits.from_env`)."""
    limits = limits or Limits.from_env()
    where = str(path)
    deadline = Deadline(limits, where)
    data = read_regular_file(path, limits)
    if not data or data.isspace():
        raise InputError(
            "the file is empty", where=where, expected="a filled workbook", got="0 bytes of data"
        )
    if path.suffix.lower() == ".csv":
        sheets = [_csv_file_sheet(path.stem, data, where, limits)]
    elif path.suffix.lower() == ".parquet":
        sheets = [_parquet_file_sheet(path.stem, data, where)]
    else:
        _check_container(data, path)
        notes = inspect_zip(data, where, limits, deadline) if data.startswith(_ZIP_MAGIC) else {}
        sheets = _calamine_sheets(data, where, deadline)
        for sheet in sheets:
            sheet.notes = notes.get(sheet.name)
    for sheet in sheets:
        check_grid(sheet, where, limits)
    deadline.check()
    return sheets


def check_grid(sheet: Sheet, where: str, limits: Limits) -> None:
    """Refuse a sheet with more rows, columns or characters in a cell than the limits allow."""
    where = f"{where}, sheet {sheet.name}"
    rows = len(sheet.rows) + (len(sheet.below[0]) if sheet.below else 0)
    if rows > limits.rows:
        raise limits.exceeded("rows", where, rows)
    columns = max(max(map(len, sheet.rows), default=0), len(sheet.below or ()))
    if columns > limits.columns:
        raise limits.exceeded("columns", where, columns)
    longest = max([_longest_text(sheet.rows), *map(_longest_in_column, sheet.below or ())])
    if longest > limits.cell_chars:
        raise limits.exceeded("cell_chars", where, f"a cell of {longest:,} characters")


def _longest_text(rows: list[list[object]]) -> int:
    return max((len(cell) for row in rows for cell in row if cell.__class__ is str), default=0)


def _longest_in_column(column: pd.Series) -> int:
    if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        return pc.max(pc.utf8_length(pa.array(column.array))).as_py() or 0
    return _longest_text([column.tolist()])


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


@contextlib.contextmanager
def _native_stderr_muted() -> Iterator[None]:
    """Drop what native code writes to file descriptor 2 meanwhile: a panic inside the Rust
    reader prints its message (and, with RUST_BACKTRACE set, a backtrace) there before Python
    sees it as an exception, which the reader reports as one problem row instead."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable descriptor 2: nothing to mute
        yield
        return
    try:
        with open(os.devnull, "wb") as sink:
            os.dup2(sink.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _calamine_sheets(data: bytes, where: str, deadline: Deadline) -> list[Sheet]:
    with _native_stderr_muted():
        return _calamine_grids(data, where, deadline)


def _calamine_grids(data: bytes, where: str, deadline: Deadline) -> list[Sheet]:
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = []
        for meta in book.sheets_metadata:
            if meta.visible == SheetVisibleEnum.Visible:
                grid = book.get_sheet_by_name(meta.name).to_python(skip_empty_area=False)
                sheets.append(Sheet(meta.name, grid))
                deadline.check()
        if not sheets and book.sheets_metadata:
            raise InputError(
                "the workbook has only hidden sheets",
                where=where,
                expected="a visible sheet with the application or list",
                got=f"{len(book.sheets_metadata)} hidden sheet(s)",
                hint="unhide the sheet (right-click a sheet tab > Unhide) and save",
            )
        return sheets
    except (InputError, KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # broken files raise several types, a Rust panic included
        raise InputError(
            "the workbook is corrupt or unreadable",
            where=where,
            got=f"{type(error).__name__}: {error}",
            hint="open it in Excel or LibreOffice and save it again",
        ) from None


def _csv_file_sheet(name: str, data: bytes, where: str, limits: Limits) -> Sheet:
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    if lines > limits.rows:
        raise limits.exceeded("rows", where, f"{lines:,} lines")
    encoding, remark = encoding_of([data])
    if encoding is None:
        raise _unknown_encoding(where, data[:4])
    text = data.decode(encoding)
    dialect = csv_dialect(text[:CSV_SAMPLE_CHARS])
    try:
        head, consumed = _head_records(text, dialect)
        sheet = csv_sheet(name, head, text[consumed:], dialect)
    except csv.Error as error:
        raise malformed_csv(where, error, limits) from None
    _check_split_records(sheet.rows, where)
    sheet.remarks = [remark] if remark else None
    return sheet


def _check_split_records(rows: list[list[object]], where: str) -> None:
    """Refuse two short records in a row whose cells add up to one full record and one: a
    record cut in two by a line break inside an unquoted cell (the second half would
    otherwise be read as a project of its own)."""
    lengths = list(map(len, rows))
    width = max(lengths, default=0)
    for number, (first, second) in enumerate(zip(lengths, lengths[1:], strict=False), start=1):
        if 1 < first < width and 1 < second < width and first + second - 1 == width:
            raise InputError(
                "a line break inside an unquoted cell",
                where=f"{where}, records {number} and {number + 1}",
                expected=f"records of {width} cells",
                got=f"{first} and {second} cells",
                hint="put the cell in double quotes, or export the CSV again",
            )


def malformed_csv(where: str, error: csv.Error, limits: Limits) -> InputError:
    """The error of a CSV text the csv module cannot split (a line break inside an unquoted
    cell, a cell past the csv module's length limit)."""
    if "field larger than field limit" in str(error):
        return limits.exceeded("cell_chars", where, f"a cell over {csv.field_size_limit():,}")
    return InputError(
        "the CSV file is malformed",
        where=where,
        expected="cells holding line breaks in double quotes",
        got=str(error),
        hint="export the CSV again from the spreadsheet (it quotes such cells)",
    )


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
    """The delimiter and quote character of a CSV file, sniffed from its first characters;
    a quote inside a quoted field is doubled, as RFC 4180 and every spreadsheet write it (the
    sniffer guesses 'not doubled' from a sample without one, which splits a field like
    ``"Big ""Q"" DC, phase 2"`` in two)."""
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel

    class Sniffed(csv.excel):
        delimiter = sniffed.delimiter
        quotechar = sniffed.quotechar or '"'
        doublequote = True
        skipinitialspace = sniffed.skipinitialspace

    return Sniffed


def csv_encoding(path: Path) -> tuple[str, dict | None]:
    """The encoding :func:`read_sheets` decodes a CSV file with (see the module notes), found
    by reading it in blocks (bounded memory), and the warning when it was guessed."""

    def blocks() -> Iterator[bytes]:
        with path.open("rb") as stream:
            while block := stream.read(_BLOCK_BYTES):
                yield block

    encoding, remark = encoding_of(blocks())
    if encoding is None:
        with path.open("rb") as stream:
            raise _unknown_encoding(str(path), stream.read(4))
    return encoding, remark


_ENCODINGS = ("utf-8-sig", "gb18030", "cp1252")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def encoding_of(blocks: Iterable[bytes]) -> tuple[str | None, dict | None]:
    """``utf-8-sig``, ``gb18030`` or ``cp1252`` for the bytes of a CSV file (None: none of
    them decodes it), and a warning when the choice is a guess."""
    # utf-8 checks what utf-8-sig decodes (its decoder lets a cut-off BOM pass at the end)
    checked = {"utf-8-sig": "utf-8"}
    decoders = {
        name: codecs.getincrementaldecoder(checked.get(name, name))() for name in _ENCODINGS
    }
    runs = odd = 0
    for number, block in enumerate(blocks):
        if number == 0 and block.startswith(_UTF16_BOMS):
            return None, None  # Windows-1252 would read UTF-16 as letters between NULs
        _feed(decoders, block)
        if "gb18030" in decoders:  # the share of odd runs tells GBK only from what GBK decodes
            found, uneven = _high_runs(block)
            runs, odd = runs + found, odd + uneven
    _feed(decoders, b"", final=True)
    return _chosen(set(decoders), odd / runs if runs else 0.0)


def _feed(decoders: dict, block: bytes, *, final: bool = False) -> None:
    """Decode a block with each decoder; those that fail are dropped."""
    for name, decoder in list(decoders.items()):
        try:
            decoder.decode(block, final=final)
        except UnicodeDecodeError:
            del decoders[name]


def _chosen(decodes: set[str], odd_share: float) -> tuple[str | None, dict | None]:
    if "utf-8-sig" in decodes:
        return "utf-8-sig", None
    if "gb18030" in decodes and (odd_share <= _ODD_RUNS_FOR_GBK or "cp1252" not in decodes):
        return "gb18030", None if odd_share <= _ODD_RUNS_FOR_GBK else _guessed("GBK")
    if "cp1252" in decodes:
        return "cp1252", _guessed("Windows-1252 (Western European)")
    return None, None


def _guessed(name: str) -> dict:
    return {
        "message": "the text encoding was guessed",
        "value": name,
        "expected": "UTF-8 text",
        "hint": f"read as {name}: check the accented or Chinese characters, or save as UTF-8",
    }


def _high_runs(block: bytes) -> tuple[int, int]:
    """Runs of non-ASCII bytes, and how many have an odd length (GBK's common characters are
    two non-ASCII bytes each; a Western European accented letter is one)."""
    high = np.frombuffer(block, np.uint8) >= 0x80
    edges = np.flatnonzero(np.diff(np.concatenate([[False], high, [False]]).astype(np.int8)))
    lengths = edges[1::2] - edges[::2]
    return len(lengths), int((lengths % 2).sum())


def _unknown_encoding(where: str, head: bytes) -> InputError:
    utf16 = head.startswith(_UTF16_BOMS)
    return InputError(
        "unknown text encoding",
        where=where,
        expected="UTF-8, GBK or Windows-1252 text",
        got="UTF-16 text (a UTF-16 byte order mark)" if utf16 else "bytes none of them decodes",
        hint="save the CSV as UTF-8 (in Excel: Save As, CSV UTF-8)",
    )


def _parquet_file_sheet(name: str, data: bytes, where: str) -> Sheet:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:  # ParquetFile, not read_table: the dataset layer refuses repeated column names
        table = pq.ParquetFile(pa.BufferReader(data)).read()
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
