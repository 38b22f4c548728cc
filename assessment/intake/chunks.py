"""Read the inputs of a batch in bounded chunks, so that memory stays bounded however large the
batch, and each chunk can be read by its own process or Dask worker.

:func:`plan_chunks` cuts files and folders into :class:`Chunk` s: groups of whole files
(official workbooks, small lists, ``.xlsx`` lists) and row ranges ("parts") of each ``.csv``
or ``.parquet`` candidate list with more than ``rows_per_chunk`` data rows. :func:`read_chunk`
reads one chunk into the :class:`~assessment.intake.read.Applications` that
:func:`~assessment.intake.read.read_applications` gives, with the same row numbers and addresses.

The parts of a list together give the projects, yearly values and problems of reading the
whole file, with two differences left to the caller: problems with the file or its header
(unknown or repeated columns) come with the first part only, and a ``project_id`` repeated in
two parts is not reported (each part knows only its own rows).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from functools import lru_cache
from itertools import chain
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import pandas as pd

from ..errors import InputError
from .dictionary import Dictionary, load_dictionary
from .layouts import HEADER_SCAN_ROWS, ListTable, _read_list, classify, problem
from .limits import Limits, check_path
from .read import (
    Applications,
    assemble_applications,
    file_problem,
    missing_paths,
    read_applications,
)
from .urls import is_url
from .workbooks import (
    CSV_SAMPLE_CHARS,
    Sheet,
    check_grid,
    csv_dialect,
    csv_encoding,
    csv_sheet,
    find_inputs,
    malformed_csv,
    parquet_error,
    parquet_rows,
    parquet_sheet,
)

LIST_SUFFIXES = (".csv", ".parquet")
PARQUET_BATCH_ROWS = 16_384
SETTLED_SECONDS = 2.0  # a CSV file unchanged for this long keeps its encoding and record starts
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Chunk:
    """What one worker reads: the files ``paths`` whole, or ``rows`` data rows of the list
    ``list_path`` from data row ``start`` (0-based, counted from the row under the header;
    ``rows=0`` reads to the end of the file)."""

    paths: tuple[str, ...] = ()
    list_path: str | None = None
    start: int = 0
    rows: int = 0

    def __post_init__(self) -> None:
        if self.paths and self.list_path is not None:
            raise ValueError(
                "a Chunk holds files read whole or a part of one list, not both; "
                f"got paths={self.paths!r} and list_path={self.list_path!r}"
            )


def plan_chunks(
    paths: str | Path | Iterable[str | Path],
    *,
    rows_per_chunk: int = 100_000,
    files_per_chunk: int = 500,
    dictionary: Dictionary | None = None,
) -> tuple[list[Chunk], list[dict]]:
    """The chunks that read ``paths`` (folders expanded as the reader does), and one problem
    row per path that does not exist.

    Whole files come first, in input order, at most ``files_per_chunk`` to a chunk; then the
    parts of each big list, ``rows_per_chunk`` data rows each. A CSV's rows are counted from
    its lines, so when quoted cells span lines the last part is short (or empty).
    """
    _check_positive("rows_per_chunk", rows_per_chunk)
    _check_positive("files_per_chunk", files_per_chunk)
    dictionary = dictionary or load_dictionary()
    paths = [paths] if isinstance(paths, str | Path) else list(paths)
    local = [path for path in paths if not is_url(path)]
    whole: list[str] = []
    parts: list[Chunk] = []
    for path in find_inputs(p for p in local if Path(p).exists()):
        split = _list_parts(path, rows_per_chunk, dictionary)
        parts += split
        whole += [] if split else [str(path)]
    urls, missing = _expanded_urls(paths)
    for url in urls:
        split = _url_list_parts(url, rows_per_chunk)
        parts += split
        whole += [] if split else [url]
    groups = [
        Chunk(paths=tuple(whole[i : i + files_per_chunk]))
        for i in range(0, len(whole), files_per_chunk)
    ]
    return groups + parts, missing_paths(local) + missing


def input_files(paths: Iterable[str | Path]) -> list[str]:
    """The files ``paths`` name, as :func:`plan_chunks` finds them: folders expanded (see
    :func:`~assessment.intake.workbooks.find_inputs`), URLs as :mod:`.urls` expands them."""
    paths = list(paths)
    local = find_inputs(p for p in paths if not is_url(p) and Path(p).exists())
    return [str(path) for path in local] + _expanded_urls(paths)[0]


def _expanded_urls(paths: list[str | Path]) -> tuple[list[str], list[dict]]:
    urls = [str(path) for path in paths if is_url(path)]
    if not urls:  # fsspec is imported only for URLs
        return [], []
    from .urls import expand_urls

    return expand_urls(urls)


def read_chunk(
    chunk: Chunk,
    *,
    as_of: dt.date,
    dictionary: Dictionary | None = None,
    missing_warnings: bool = True,
) -> Applications:
    """Read one chunk: its files as :func:`read_applications` does, or its part of a list."""
    dictionary = dictionary or load_dictionary()
    if any(map(is_url, (*chunk.paths, chunk.list_path))):
        return _read_url_chunk(chunk, as_of, dictionary, missing_warnings)
    if chunk.list_path is None:
        paths = list(chunk.paths)
        return read_applications(
            paths, as_of=as_of, dictionary=dictionary, jobs=1, missing_warnings=missing_warnings
        )
    lists, problems, unread = _read_part(chunk, dictionary)
    return assemble_applications(
        [], lists, problems, dictionary, as_of, unread, missing_warnings=missing_warnings
    )


def _read_url_chunk(
    chunk: Chunk, as_of: dt.date, dictionary: Dictionary, missing_warnings: bool
) -> Applications:
    """Read a chunk naming URLs as :func:`read_chunk` reads local files, from local copies of
    them (:func:`~assessment.intake.urls.readable_copy`: made here, on the worker), the
    files named by their URLs. A URL that cannot be read is one problem (a list's first part
    says it)."""
    from .urls import discard_copy, readable_copy, url_problem

    copies: dict[str, str] = {}  # URL -> local file
    failed: list[dict] = []
    for url in filter(is_url, (*chunk.paths, chunk.list_path)):
        try:
            copies[url] = readable_copy(url, keep=url == chunk.list_path)
        except InputError as error:
            failed += [url_problem(url, error)] if chunk.start == 0 else []
    local = replace(
        chunk,
        paths=tuple(
            copies.get(path, path) for path in chunk.paths if path in copies or not is_url(path)
        ),
        list_path=copies.get(chunk.list_path, chunk.list_path),
    )
    try:
        found = None
        if local.paths or (local.list_path and not is_url(local.list_path)):
            found = read_chunk(
                local, as_of=as_of, dictionary=dictionary, missing_warnings=missing_warnings
            )
    finally:
        for path in chunk.paths:
            discard_copy(copies.get(path, ""))
    return _named_by_urls(found, copies, failed, dictionary, as_of)


def _named_by_urls(
    found: Applications | None,
    copies: dict[str, str],
    failed: list[dict],
    dictionary: Dictionary,
    as_of: dt.date,
) -> Applications:
    """``found`` with its files named by their URLs, after the problems of the URLs not read."""
    if found is None:
        return assemble_applications([], [], failed, dictionary, as_of)
    names = {copy: url for url, copy in copies.items()}
    projects, problems = found.projects, found.problems
    if "source_file" in projects:
        projects["source_file"] = projects["source_file"].replace(names)
    problems["file"] = problems["file"].replace(names)
    if failed:
        failures = pd.DataFrame(failed, columns=problems.columns)
        problems = pd.concat([failures, problems], ignore_index=True)
    return replace(found, projects=projects, problems=problems)


def _check_positive(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(
            f"the {name!r} parameter of plan_chunks must be a positive integer; "
            f"got {value!r} instead"
        )


def _list_parts(path: Path, rows_per_chunk: int, dictionary: Dictionary) -> list[Chunk]:
    """The parts of a list with more than ``rows_per_chunk`` data rows; none for a file that
    is read whole (a small file, a workbook, or one the reader will report as unreadable)."""
    if path.suffix.lower() not in LIST_SUFFIXES:
        return []
    limits = Limits.from_env()
    try:
        check_path(path, limits)  # a FIFO or device is never opened; the reader refuses it
        records = _record_count(path)
        if records - 1 <= rows_per_chunk or records > limits.rows:
            return []
        data_rows = records - _header_at(path, dictionary) - 1
    except InputError:
        return []
    if data_rows <= rows_per_chunk:
        return []
    return [
        Chunk(list_path=str(path), start=start, rows=rows_per_chunk)
        for start in range(0, data_rows, rows_per_chunk)
    ]


def _url_list_parts(url: str, rows_per_chunk: int) -> list[Chunk]:
    """The parts of a list at a URL, planned from its size and the first ``HEAD_BYTES`` of a
    CSV file (rows estimated from the lines in them) or a Parquet file's footer (its rows),
    never from the whole file: the workers read it. The last part reads to the end, so an
    estimate short of the rows loses none. None for a file read whole."""
    from .urls import HEAD_BYTES, parquet_rows, read_head, url_name, url_size

    suffix = PurePosixPath(url_name(url)).suffix.lower()
    if suffix not in LIST_SUFFIXES:
        return []
    try:
        size, kind = url_size(url)
        if kind != "file":  # the reader refuses it, with its reason
            return []
        if suffix == ".parquet":
            rows = parquet_rows(url)
        else:
            head = read_head(url)
            lines = head.count(b"\n") + (len(head) < HEAD_BYTES and not head.endswith(b"\n"))
            small = len(head) < HEAD_BYTES  # the whole file: its lines are its records
            rows = lines - 1 if small else size * max(lines, 1) // len(head)
    except (InputError, OSError, ValueError):
        return []  # the reader reports it
    count = -(-rows // rows_per_chunk)
    if count < 2:
        return []
    return [
        Chunk(list_path=url, start=part * rows_per_chunk, rows=rows_per_chunk * (part < count - 1))
        for part in range(count)
    ]


def _read_part(chunk: Chunk, dictionary: Dictionary) -> tuple[list[ListTable], list, list]:
    """The part's list table, the problems of the file and header (first part only), and the
    file itself when it holds no candidate list (so that the first part reports it)."""
    path = Path(chunk.list_path)
    first = chunk.start == 0
    try:
        source = _list_source(path)
        head = Sheet(path.stem, source.records(0, HEADER_SCAN_ROWS))
        kind, header_at, headers = classify(head, dictionary)
        if kind != "list":
            return [], [], [path] if first else []
        above = head.rows[: header_at + 1]
        sheet = source.sheet(head.name, above, header_at + 1 + chunk.start, chunk.rows or None)
    except InputError as error:
        return [], [file_problem(path, error)] if first else [], []
    except csv.Error as error:
        return [], [file_problem(path, malformed_csv(str(path), error, Limits()))], []
    try:  # each part is checked: a part past a limit is refused whole, with its reason
        check_grid(sheet, str(path), Limits.from_env())
    except InputError as error:
        return [], [file_problem(path, error)], []
    problems: list[dict] = _remarks(path, source) if first else []
    table = _read_list(str(path), sheet, header_at, headers, problems)
    table.row_numbers = [number + chunk.start for number in table.row_numbers]
    return [table] if len(table.raw) else [], problems if first else [], []


def _remarks(path: Path, source: _CsvList | _ParquetList) -> list[dict]:
    remark = getattr(source, "remark", None)
    return [problem(severity="warning", file=str(path), **remark)] if remark else []


def _header_at(path: Path, dictionary: Dictionary) -> int:
    """The record holding the list header (0 when there is no list: its first part says so)."""
    head = Sheet(path.stem, _list_source(path).records(0, HEADER_SCAN_ROWS))
    kind, header_at, _ = classify(head, dictionary)
    return header_at if kind == "list" else 0


def _list_source(path: Path) -> _CsvList | _ParquetList:
    """The records of a list file; raises InputError when the file cannot be read."""
    suffix = path.suffix.lower()
    if suffix not in LIST_SUFFIXES:
        raise ValueError(
            f"a list part must be a {' or '.join(LIST_SUFFIXES)} file; got {str(path)!r} "
            "(plan_chunks reads other files whole)"
        )
    return _ParquetList(path) if suffix == ".parquet" else _CsvList.open(path)


def _record_count(path: Path) -> int:
    """Records of a list file, from its lines (CSV) or its metadata (Parquet)."""
    if path.suffix.lower() == ".parquet":
        return _ParquetList(path).row_count() + 1
    lines, last = 0, b"\n"
    try:
        with path.open("rb") as stream:
            while block := stream.read(1 << 24):
                lines, last = lines + block.count(b"\n"), block[-1:]
    except OSError as error:
        raise _cannot_open(path, error) from None
    return lines + (last != b"\n")


def _cannot_open(path: Path, error: OSError) -> InputError:
    return InputError(
        "cannot open the file",
        where=str(path),
        got=error.strerror or str(error),
        hint="check the path and permissions",
    )


@dataclass(frozen=True)
class _CsvList:
    """A CSV file read as :func:`~assessment.intake.workbooks.read_sheets` reads it (same encoding,
    dialect and line splitting), a range of records at a time. The encoding of a file, and
    where the records read so far begin (``starts``), are kept for its later parts: a process
    reads many parts of one file."""

    path: Path
    encoding: str
    dialect: type[csv.Dialect]
    starts: dict[int, int] = dataclass_field(compare=False)  # record number -> byte offset
    remark: dict | None = dataclass_field(default=None, compare=False)  # a guessed encoding

    @classmethod
    def open(cls, path: Path) -> _CsvList:
        try:
            version = _settled_version(path)
            encoding, remark = _encoding(version) if version else csv_encoding(path)
            starts = _record_starts(version) if version else {}
            with path.open(encoding=encoding, newline="\n") as text:
                dialect = csv_dialect(text.read(CSV_SAMPLE_CHARS))
                return cls(path, encoding, dialect, starts, remark)
        except OSError as error:
            raise _cannot_open(path, error) from None

    def records(self, first: int, count: int | None) -> list[list[object]]:
        """Records ``first`` to ``first + count - 1`` (``None``: to the end); record 0 is the
        first line. Only the lines up to the last record wanted are read."""
        return [list(row) for row in csv.reader(io.StringIO(self.text(first, count)), self.dialect)]

    def sheet(self, name: str, rows: list[list[object]], first: int, count: int | None) -> Sheet:
        """A sheet of ``rows`` followed by the records :meth:`records` gives."""
        return csv_sheet(name, rows, self.text(first, count), self.dialect)

    def text(self, first: int, count: int | None) -> str:
        """The text of the records :meth:`records` gives."""
        try:
            with self.path.open("rb") as stream:
                lines = self._lines_from(stream, first)
                if count is None:
                    return b"".join(lines).decode(self._line_encoding)
                taken: list[bytes] = []
                self._pass(stream, lines, first, count, taken.append)
                return b"".join(taken).decode(self._line_encoding)
        except OSError as error:
            raise _cannot_open(self.path, error) from None

    @property
    def _line_encoding(self) -> str:
        return "utf-8" if self.encoding == "utf-8-sig" else self.encoding

    def _lines_from(self, stream: BinaryIO, first: int) -> Iterator[bytes]:
        """The lines of ``stream`` from the one that begins record ``first``, found from the
        nearest record before it whose place is known."""
        if not self.starts:
            has_bom = self.encoding == "utf-8-sig" and stream.read(len(_BOM)) == _BOM
            self.starts[0] = len(_BOM) if has_bom else 0
        start = max(record for record in self.starts if record <= first)
        stream.seek(self.starts[start])
        lines = iter(stream)
        self._pass(stream, lines, start, first - start, lambda _: None)
        return lines

    def _pass(
        self,
        stream: BinaryIO,
        lines: Iterator[bytes],
        first: int,
        count: int,
        keep: Callable[[bytes], object],
    ) -> None:
        """Pass ``count`` records from record ``first`` on (see :func:`_pass_records`), and
        note where the next one begins."""
        if _pass_records(lines, count, self.dialect, self._line_encoding, keep) == count:
            self.starts[first + count] = stream.tell()


def _settled_version(path: Path) -> tuple[str, int, int, int] | None:
    """:func:`_version` of a file; None for a file changed in the last ``SETTLED_SECONDS`` (a
    file rewritten at the same size within the granularity of the clock would look unchanged)."""
    stat = path.stat()
    if time.time() - stat.st_mtime < SETTLED_SECONDS:
        return None
    return _version(path, stat)


def _version(path: Path, stat: os.stat_result | None = None) -> tuple[str, int, int, int]:
    """Path, size, modification time and inode of a file, which tell its versions apart."""
    stat = stat or path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino


@lru_cache(maxsize=64)
def _encoding(version: tuple[str, int, int, int]) -> tuple[str, dict | None]:
    """The encoding of one version of a CSV file (see :func:`_settled_version`), and the
    warning when it was guessed."""
    return csv_encoding(Path(version[0]))


@lru_cache(maxsize=64)
def _record_starts(version: tuple[str, int, int, int]) -> dict[int, int]:
    """Record number -> the byte offset where it begins, as found so far, in one version of
    a CSV file (see :func:`_settled_version`)."""
    return {}


def _pass_records(
    lines: Iterator[bytes],
    count: int,
    dialect: type[csv.Dialect],
    encoding: str,
    keep: Callable[[bytes], object],
) -> int:
    """Advance ``lines`` past up to ``count`` CSV records, passing each line to ``keep``, and
    say how many records were passed. A line without a quote or escape character is one
    record; a line with one is parsed by the csv module, which takes as many further lines as
    its record spans (a quoted cell may hold line breaks)."""
    special = _special_bytes(dialect, encoding)
    for passed in range(count):
        line = next(lines, None)
        if line is None:
            return passed
        keep(line)
        if special is not None and special.search(line):
            _finish_record(line, lines, dialect, encoding, keep)
    return count


def _finish_record(
    line: bytes,
    lines: Iterator[bytes],
    dialect: type[csv.Dialect],
    encoding: str,
    keep: Callable[[bytes], object],
) -> None:
    """Take from ``lines`` (each passed to ``keep``) the further lines of the record that
    starts with ``line``: the csv module takes as many as the record spans."""

    def following() -> Iterator[str]:
        for further in lines:
            keep(further)
            yield further.decode(encoding)

    next(csv.reader(chain([line.decode(encoding)], following()), dialect), None)


def _special_bytes(dialect: type[csv.Dialect], encoding: str) -> re.Pattern[bytes] | None:
    """The bytes that can make one record span several lines (UTF-8 and GB18030 never use
    ASCII bytes inside a multi-byte character, so a byte search is exact)."""
    chars = [dialect.escapechar] if dialect.escapechar else []
    if dialect.quoting != csv.QUOTE_NONE and dialect.quotechar:
        chars.append(dialect.quotechar)
    if not chars:
        return None
    return re.compile(b"[" + b"".join(re.escape(c.encode(encoding)) for c in chars) + b"]")


@dataclass(frozen=True)
class _ParquetList:
    """A Parquet candidate list: record 0 is the column names, record ``n`` data row ``n``."""

    path: Path

    def row_count(self) -> int:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.read_metadata(self.path).num_rows
        except (pa.ArrowException, OSError) as error:
            raise parquet_error(str(self.path), error) from None

    def sheet(self, name: str, rows: list[list[object]], first: int, count: int | None) -> Sheet:
        """A sheet of ``rows`` followed by data rows ``first - 1`` to ``first + count - 2``
        (record ``first`` on; ``first`` is at least 1)."""
        import pyarrow as pa

        try:
            return parquet_sheet(name, rows, _parquet_slice(self.path, first - 1, count))
        except (pa.ArrowException, OSError) as error:
            raise parquet_error(str(self.path), error) from None

    def records(self, first: int, count: int | None) -> list[list[object]]:
        import pyarrow as pa

        with_names = first == 0 and count != 0
        rows = None if count is None else count - with_names
        try:
            found = _parquet_slice(self.path, max(first - 1, 0), rows)
            names = [list(found.schema.names)] if with_names else []
            return names + parquet_rows(found)
        except (pa.ArrowException, OSError) as error:
            raise parquet_error(str(self.path), error) from None


def _parquet_slice(path: Path, start: int, count: int | None) -> object:
    """Data rows ``start`` to ``start + count - 1`` of a Parquet file as a pyarrow table,
    decoding only the row groups that hold them, a batch at a time. Parquet cannot skip rows
    inside a row group, so the process keeps where its last read ended (:class:`_Cursor`):
    the next part further down continues from there, and the parts of a row group of a
    million rows are decoded once, not each from the group's start."""
    import pyarrow as pa

    key = (*_version(path), os.getpid())
    with _CURSORS_LOCK:  # a cursor in use is out of the dict: another thread opens its own
        kept = _CURSORS.pop(key, None)
    usable = kept is not None and kept.batch is not None and kept.position <= start
    cursor = kept if usable else _Cursor.open(path, start)
    total = cursor.file.metadata.num_rows
    stop = total if count is None else min(start + max(count, 0), total)
    try:
        pieces = cursor.rows(start, stop)
    finally:  # a read of the file's head between two parts leaves the one further down kept
        _keep_furthest(key, cursor, kept)
    schema = cursor.file.schema_arrow
    return pa.Table.from_batches(pieces, schema) if pieces else schema.empty_table()


@dataclass(eq=False)  # one cursor is itself, whatever it holds
class _Cursor:
    """An open Parquet file read a batch at a time from one row group on to the file's end:
    ``batch`` (None at the end) holds file rows ``position`` to ``position + len(batch) - 1``."""

    file: object
    batches: object
    batch: object
    position: int

    @classmethod
    def open(cls, path: Path, start: int) -> _Cursor:
        import pyarrow.parquet as pq

        file = pq.ParquetFile(path)
        groups, position = _row_groups(file.metadata, start, file.metadata.num_rows)
        batches = iter(  # no group (a start past the end): no batch, not every group's
            file.iter_batches(batch_size=PARQUET_BATCH_ROWS, row_groups=groups) if groups else ()
        )
        return cls(file, batches, next(batches, None), position)

    def rows(self, start: int, stop: int) -> list:
        """The batches' slices of file rows ``start`` to ``stop - 1`` (``start`` at or after
        ``position``), the cursor left at the batch that holds row ``stop``."""
        pieces = []
        while self.batch is not None and self.position < stop:
            low = max(start - self.position, 0)
            high = min(stop - self.position, len(self.batch))
            if low < high:
                pieces.append(self.batch.slice(low, high - low))
            if self.position + len(self.batch) > stop:
                break  # the batch holds rows of the next part too
            self.position += len(self.batch)
            self.batch = next(self.batches, None)
        return pieces

    def close(self) -> None:
        self.file.close()


_CURSORS: dict[tuple, _Cursor] = {}  # (file version, process) -> where its last read ended
_CURSORS_LOCK = threading.Lock()
_CURSORS_KEPT = 4  # files a process keeps open


def close_parquet_files() -> None:
    """Close the Parquet files this process keeps open for their next parts (a screen's end:
    its inputs may be removed then, and an open file keeps its space)."""
    with _CURSORS_LOCK:
        while _CURSORS:
            _CURSORS.popitem()[1].close()


def _keep_furthest(key: tuple, *cursors: _Cursor | None) -> None:
    """Keep the cursor of ``cursors`` furthest down its file for the next part, the others
    closed (and one at the file's end), the oldest kept closed beyond :data:`_CURSORS_KEPT`."""
    found = list(dict.fromkeys(c for c in cursors if c is not None))
    alive = [c for c in found if c.batch is not None]
    kept = max(alive, key=lambda cursor: cursor.position, default=None)
    for cursor in found:
        if cursor is not kept:
            cursor.close()
    if kept is None:
        return
    with _CURSORS_LOCK:
        _CURSORS[key] = kept
        while len(_CURSORS) > _CURSORS_KEPT:
            _CURSORS.pop(next(iter(_CURSORS))).close()


def _row_groups(metadata: object, start: int, stop: int) -> tuple[list[int], int]:
    """The row groups holding rows ``start`` to ``stop - 1``, and the first row of the first."""
    groups: list[int] = []
    first_row = offset = 0
    for index in range(metadata.num_row_groups):
        rows = metadata.row_group(index).num_rows
        if offset < stop and offset + rows > start:
            first_row = first_row if groups else offset
            groups.append(index)
        offset += rows
    return groups, first_row
