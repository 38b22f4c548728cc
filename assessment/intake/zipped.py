"""Look inside a zipped workbook (``.xlsx``, ``.xlsm``, ``.ods``) before a spreadsheet library
opens it, so that a hostile file is refused instead of exhausting the memory or aborting the
process (python-calamine allocates a sheet's whole used range at once, and a Rust allocation
failure kills the process).

:func:`inspect_zip` streams every part of the archive once, in bounded blocks, and refuses:

* a zip bomb: parts whose declared unzipped size (or unzipped / zipped ratio) is past the
  limits; a part that inflates past its declared size fails its CRC check and is refused;
* XML with a document type (``<!DOCTYPE``, ``<!ENTITY``) in a sheet, the shared strings or a
  large part: entity expansion ("billion laughs") and external entities (XXE) are never
  processed; no workbook writer declares them (small parts such as styles are not read
  here: python-calamine's XML reader does not expand entities either);
* a sheet whose declared (``<dimension>``) or actual used range (cell references) is past the
  row, column or cell limits ("far-corner" sheets);
* text of one cell past the length limit.

It also notes, per sheet, the cells that hold an Excel error value (``#DIV/0!``), a formula
without a cached value, or the cached value of a link to another workbook (``[1]Sheet1!A1``),
so the reader can report them as what they are. Cells written without a reference (``r``)
are counted for the range but not noted.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.etree import ElementTree

import numpy as np

from ..errors import InputError
from .limits import RATIO_FROM_BYTES, Deadline, Limits

BLOCK_BYTES = 4 << 20
_MAX_CARRY = 64 << 20
_SHEET_PART = re.compile(r"xl/worksheets/[^/]+\.xml")
SMALL_BLOCK = 1 << 20
SMALL_ZIPPED = 64 << 10
_REFERENCES = re.compile(rb' r="([A-Z]{0,5})(\d{0,10})"')
_CELL_OR_ROW = re.compile(rb"<(c|row)[\s>/]")
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="(?:[A-Z]*\d*:)?([A-Z]*)(\d*)"')
_CELL_TAG = re.compile(rb"<(?:\w+:)?c(?=[\s>/])([^>]*)>")
_CELL_END = re.compile(rb"</(?:\w+:)?c>")
_FORMULA = re.compile(rb"<(?:\w+:)?f(?=[\s>/])[^>]*?(?:/>|>([^<]*)</)")
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</")
_ATTRIBUTE = re.compile(rb'\s(r|t)="([^"]*)"')
_REFERENCE = re.compile(r"([A-Z]{1,3})(\d{1,7})")
_EXTERNAL = re.compile(r"\[\d+\]")
_ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'", "&amp;": "&"}
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"

# what zipfile raises for a damaged archive or part
_BROKEN = (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, NotImplementedError)
Notes = dict[tuple[int, int], tuple[str, str]]  # (row, column) from 0 -> (kind, detail)


@dataclass
class _Extent:
    """What the cells of a sheet reach: the highest row and column referenced, and the rows
    and cells written without a reference (placed after the previous one)."""

    rows: int = 0
    columns: int = 0
    unreferenced_rows: int = 0
    unreferenced_cells: bool = False
    widest_row: int = 0
    open_row: int = 0  # cells so far of the row that a block ends in
    notes: Notes = field(default_factory=dict)


def inspect_zip(data: bytes, where: str, limits: Limits, deadline: Deadline) -> dict[str, Notes]:
    """Refuse a zipped workbook past the limits (see the module notes); the noted cells of
    each sheet, by sheet name (xlsx and xlsm; none for ods)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except _BROKEN as error:
        raise _corrupt(where, error) from None
    _check_sizes(members, where, limits)
    notes = {}
    for info in members:
        if _worth_reading(info):
            found = _scan_member(archive, info, where, limits, deadline)
            if found is not None:
                notes[info.filename] = found
    return _by_sheet_name(archive, notes)


def _worth_reading(info: zipfile.ZipInfo) -> bool:
    """Sheets and shared strings (what holds cells), and any part too big to be harmless
    (under ``SMALL_ZIPPED`` zipped, a part cannot inflate past about 66 MiB whatever its
    header says; workbook, style and property parts are that small)."""
    name = info.filename
    return not info.is_dir() and (
        _SHEET_PART.fullmatch(name) is not None
        or name.endswith("sharedStrings.xml")
        or info.compress_size > SMALL_ZIPPED
    )


def _corrupt(where: str, error: Exception) -> InputError:
    return InputError(
        "the workbook is corrupt or unreadable",
        where=where,
        got=f"{type(error).__name__}: {error}",
        hint="open it in Excel or LibreOffice and save it again",
    )


def _check_sizes(members: list[zipfile.ZipInfo], where: str, limits: Limits) -> None:
    total = sum(info.file_size for info in members)
    if total > limits.unzipped_bytes:
        raise limits.exceeded(
            "unzipped_bytes", where, total, hint="a zip bomb, or a workbook to split"
        )
    for info in members:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FROM_BYTES and ratio > limits.zip_ratio:
            raise limits.exceeded(
                "zip_ratio",
                f"{where}, part {info.filename}",
                f"{info.file_size:,} bytes from {info.compress_size:,} (ratio {ratio:,.0f})",
                hint="a zip bomb, or raise the limit with ASSESS_MAX_ZIP_RATIO",
            )
        if info.flag_bits & 0x1:
            raise InputError(
                "the workbook is password-protected",
                where=where,
                expected="an unencrypted workbook",
                got=f"an encrypted part {info.filename}",
                hint="remove the password and resend",
            )


def _scan_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, limits: Limits, deadline: Deadline
) -> Notes | None:
    """Stream one part, block by block (each cut after its last row or tag start, the rest
    carried to the next block); the noted cells for a sheet, else None."""
    sheet = _SHEET_PART.fullmatch(info.filename) is not None
    extent = _Extent()
    for number, block in enumerate(_blocks(archive, info, where, deadline)):
        _check_doctype(block, where, info.filename)
        if len(block) > limits.cell_chars:  # else no text in it can be longer
            _check_text_length(block, where, limits)
        if sheet:
            if number == 0:
                _check_dimension(block, where, info.filename, limits)
            scan = _scan_small if len(block) < SMALL_BLOCK else _scan_cells
            scan(block, extent)
            _check_extent(extent, where, info.filename, limits)
    return extent.notes if sheet else None


def _blocks(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, deadline: Deadline
) -> Iterator[bytes]:
    carry = b""
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(BLOCK_BYTES):
                deadline.check()
                block = carry + chunk
                cut = _cut(block)
                carry = block[cut:]
                if cut:
                    yield block[:cut]
    except _BROKEN as error:
        raise _corrupt(where, error) from None
    if carry:
        yield carry


def _cut(block: bytes) -> int:
    """Where to end a block: before its last row (so cells stay whole), else its last tag."""
    row = max(block.rfind(b"<row"), block.rfind(b":row"))
    if row > 0 and len(block) - row < _MAX_CARRY:
        return block.rfind(b"<", 0, row + 1)
    tag = block.rfind(b"<")
    return tag if tag > 0 and len(block) - tag < _MAX_CARRY else len(block)


def _check_doctype(block: bytes, where: str, part: str) -> None:
    if b"!" in block and (b"<!DOCTYPE" in block or b"<!ENTITY" in block):
        raise InputError(
            "the workbook declares XML entities",
            where=f"{where}, part {part}",
            expected="workbook XML without a document type",
            got="<!DOCTYPE or <!ENTITY (entity expansion or external entities)",
            hint="entities are never expanded; save the workbook again from Excel",
        )


def _check_text_length(block: bytes, where: str, limits: Limits) -> None:
    """Any text between tags longer than the limit (bytes first, then the exact characters)."""
    tags = np.flatnonzero(np.frombuffer(block, np.uint8) == ord("<"))
    bounds = np.concatenate([[0], tags, [len(block)]])
    for gap in np.flatnonzero(np.diff(bounds) > limits.cell_chars):
        piece = block[bounds[gap] : bounds[gap + 1]]
        text = piece[piece.find(b">") + 1 :] if piece.startswith(b"<") else piece
        chars = len(_unescape(text.decode("utf-8", "replace")))
        if chars > limits.cell_chars:
            raise limits.exceeded("cell_chars", where, f"a text of {chars:,} characters")


def _unescape(text: str) -> str:
    return re.sub(r"&(?:lt|gt|quot|apos|amp);", lambda m: _ENTITIES[m.group()], text)


def _check_dimension(block: bytes, where: str, part: str, limits: Limits) -> None:
    found = _DIMENSION.search(block[:65536])
    if found is None:
        return
    letters, digits = found.group(1).decode(), found.group(2).decode()
    columns = _column_number(letters) if letters else 0
    rows = int(digits[:9]) if digits else 0
    _check_range(rows, columns, f"{where}, part {part} (declared used range)", limits)


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters[:5]:
        number = number * 26 + ord(letter) - 64
    return number


def _check_range(rows: int, columns: int, where: str, limits: Limits) -> None:
    hint = "delete the stray cells far from the data (Ctrl+End shows the last one) and save"
    if columns > limits.columns:
        raise limits.exceeded(
            "columns", where, f"a used range across {columns:,} columns", hint=hint
        )
    if rows > limits.rows:
        raise limits.exceeded("rows", where, f"a used range down to row {rows:,}", hint=hint)
    if rows * columns > limits.cells:
        raise limits.exceeded(
            "cells", where, f"a used range of {rows:,} x {columns:,} cells", hint=hint
        )


def _check_extent(extent: _Extent, where: str, part: str, limits: Limits) -> None:
    rows = extent.rows + extent.unreferenced_rows
    widest = max(extent.widest_row, extent.open_row) if extent.unreferenced_cells else 0
    _check_range(rows, extent.columns + widest, f"{where}, part {part}", limits)


def _uncommon(block: bytes) -> bool:
    """Whether a block may have attributes after other whitespace than a space, or tags with
    a namespace prefix (``<x:c``): looked for by single bytes first, which is fast."""
    if any(space in block for space in (b"\t", b"\n", b"\r")) and any(
        odd in block for odd in (b'\nr="', b'\tr="', b'\rr="')
    ):
        return True
    return any(_prefixed(block[at + 1 : at + 5]) for at in _each(block, b":"))


def _prefixed(tail: bytes) -> bool:
    """Whether the bytes after a colon name a cell, row or formula tag (``x:c>``)."""
    name = tail[:3] if tail.startswith(b"row") else tail[:1]
    return name in (b"c", b"f", b"row") and tail[len(name) : len(name) + 1] in _TAG_END


_TAG_END = (b" ", b">", b"/", b"\t", b"\n", b"\r")


def _may_have_notes(block: bytes) -> bool:
    """Whether a block may hold a formula (``<f>``, not ``<formula1>``) or an error cell."""
    formula = any(block[at + 2 : at + 3] in (b">", b" ", b"/") for at in _each(block, b"<f"))
    return formula or (b"#" in block and b't="e"' in block) or _uncommon(block)


def _each(block: bytes, mark: bytes) -> Iterator[int]:
    at = block.find(mark)
    while at >= 0:
        yield at
        at = block.find(mark, at + 1)


def _scan_small(block: bytes, extent: _Extent) -> None:
    """:func:`_scan_cells` for a small block, with regular expressions (numpy's fixed cost
    per call is larger than the work there); cells without a reference go the numpy way."""
    if _uncommon(block):
        _scan_cells(block, extent)
        return
    references = _REFERENCES.findall(block)
    letters = {found for found, _ in references if found}
    numbers = [int(digits) for _, digits in references if digits]
    cells = sum(1 for found, _ in references if found)
    names = _CELL_OR_ROW.findall(block)
    tags = names.count(b"c")
    rows = len(names) - tags
    if tags > cells or rows > len(references) - cells:
        _scan_cells(block, extent)  # exact widths of unreferenced cells
        return
    columns = max((_column_number(found.decode()) for found in letters), default=0)
    extent.columns = max(extent.columns, columns)
    extent.rows = max(extent.rows, max(numbers, default=0))
    if _may_have_notes(block):
        _note_cells(block, extent.notes)


def _scan_cells(block: bytes, extent: _Extent) -> None:
    """Raise the extent by the references of one block, and note its formula cells."""
    data = np.frombuffer(block, np.uint8)
    letters, columns, numbers = _references(data)
    cells = letters > 0
    if cells.any():
        extent.columns = max(extent.columns, int(columns[cells].max()))
    if len(numbers):
        extent.rows = max(extent.rows, int(numbers.max()))
    row_tags, cell_tags = _tag_starts(data, b"row"), _tag_starts(data, b"c")
    extent.unreferenced_rows += max(len(row_tags) - int((~cells & (numbers > 0)).sum()), 0)
    if len(cell_tags) > int(cells.sum()):
        extent.unreferenced_cells = True
    _count_widths(row_tags, cell_tags, extent)
    if _may_have_notes(block):
        _note_cells(block, extent.notes)


def _references(data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each ``r="`` attribute: how many letters, the column they name and the row number
    (a value past Excel's range reads as larger than any limit)."""
    if len(data) < 4:
        return (np.zeros(0, np.int64),) * 3
    hits = (data[1:-2] == ord("r")) & (data[2:-1] == ord("=")) & (data[3:] == ord('"'))
    starts = np.flatnonzero(hits & (data[:-3] <= 32)) + 4
    letters, columns = _run(data, starts, 65, 90, 26, 4)
    _, numbers = _run(data, starts + letters, 48, 57, 10, 9)
    return letters, columns, numbers


def _run(data: np.ndarray, starts: np.ndarray, low: int, high: int, base: int, most: int):
    """Length and value of the run of characters ``low..high`` at each start (base ``base``;
    letters count from 1, digits from 0), at most ``most`` characters; a longer run reads as
    a huge value."""
    length = np.zeros(len(starts), np.int64)
    value = np.zeros(len(starts), np.int64)
    alive = np.ones(len(starts), bool)
    offset = 64 if base == 26 else 48
    for k in range(most + 1):
        byte = data[np.minimum(starts + k, len(data) - 1)].astype(np.int64)
        inside = alive & (byte >= low) & (byte <= high) & (starts + k < len(data))
        if k == most:
            value[inside] = 10**12
            break
        value = np.where(inside, value * base + byte - offset, value)
        length += inside
        alive = inside
    return length, value


def _tag_starts(data: np.ndarray, name: bytes) -> np.ndarray:
    """Positions of ``<name`` or ``<prefix:name`` tags (``name`` followed by space, ``>`` or
    ``/``)."""
    size = len(name)
    if len(data) < size + 2:
        return np.zeros(0, np.int64)
    found = np.isin(data[: -size - 1], (ord("<"), ord(":")))
    for k, byte in enumerate(name, start=1):
        found &= data[k : len(data) - size - 1 + k] == byte
    after = data[size + 1 :]
    found &= (after <= 32) | (after == ord(">")) | (after == ord("/"))
    return np.flatnonzero(found)


def _count_widths(row_tags: np.ndarray, cell_tags: np.ndarray, extent: _Extent) -> None:
    """The most cells in one row; the cells before a block's first row belong to the row the
    previous block ended in."""
    counts = np.bincount(np.searchsorted(row_tags, cell_tags), minlength=len(row_tags) + 1)
    extent.open_row += int(counts[0])
    if len(row_tags):
        inside = int(counts[1:-1].max(initial=0))
        extent.widest_row = max(extent.widest_row, extent.open_row, inside)
        extent.open_row = int(counts[-1])


def _note_cells(block: bytes, notes: Notes) -> None:
    """Note the error cells, the formulas without a cached value and the external links."""
    for tag in _CELL_TAG.finditer(block):
        end = _CELL_END.search(block, tag.end())
        body = block[tag.end() : end.start()] if end and not tag.group(0).endswith(b"/>") else b""
        attributes = dict(_ATTRIBUTE.findall(tag.group(1)))
        kind = attributes.get(b"t", b"")
        formula = _FORMULA.search(body)
        if kind != b"e" and formula is None:
            continue
        place = _place(attributes.get(b"r", b"").decode("ascii", "replace"))
        if place is not None:
            note = _note(kind, formula, _VALUE.search(body))
            if note is not None:
                notes[place] = note


def _note(kind: bytes, formula: re.Match | None, value: re.Match | None) -> tuple[str, str] | None:
    cached = _unescape(value.group(1).decode("utf-8", "replace")) if value else ""
    text = _unescape((formula.group(1) or b"").decode("utf-8", "replace")) if formula else ""
    if kind == b"e":
        return "error", cached or "#VALUE!"
    if not cached and kind != b"str":
        return "uncached", text
    if _EXTERNAL.search(text):
        return "external", text
    return None


def _place(reference: str) -> tuple[int, int] | None:
    found = _REFERENCE.fullmatch(reference)
    if found is None:
        return None
    return int(found.group(2)) - 1, _column_number(found.group(1)) - 1


def _by_sheet_name(archive: zipfile.ZipFile, notes: dict[str, Notes]) -> dict[str, Notes]:
    """The notes of each sheet part under the sheet's name (from the workbook part)."""
    if not any(notes.values()):
        return {}
    try:
        parts = [archive.read(name) for name in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")]
        if any(b"<!DOCTYPE" in part or b"<!ENTITY" in part for part in parts):
            return {}  # never parsed with entities
        book, links = map(ElementTree.fromstring, parts)
    except (KeyError, ElementTree.ParseError, *_BROKEN):
        return {}
    targets = {
        link.get("Id"): posixpath.normpath(posixpath.join("xl", link.get("Target", "")))
        for link in links.iter(_RELS)
    }
    found = {}
    for sheet in book.iter(f"{_MAIN}sheet"):
        part = targets.get(sheet.get(_REL_ID), "").lstrip("/")
        if notes.get(part):
            found[sheet.get("name")] = notes[part]
    return found
