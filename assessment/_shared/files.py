"""Writing output files safely: one writer path for every file the engine writes.

* :func:`check_destination` refuses, before any work starts, a destination that cannot take the
  output (wrong suffix, a folder where a file is meant, a file where a folder is meant, a folder
  that cannot be written, or a place inside a folder being read);
* :func:`write_atomically` writes under a temporary name beside the target, then renames;
  :func:`write_text`, :func:`write_json`, :func:`write_csv` and :func:`write_table` (a frame as
  ``.csv`` or ``.xlsx``) write through it;
* :func:`output_set` builds the files of one run in a folder beside the target and swaps them
  in together, the manifest last, replacing the previous run's set;
* :func:`cell_text`, :func:`csv_safe`, :func:`write_csv` and
  :data:`XLSXWRITER_OPTIONS` keep text that a spreadsheet would run as a formula as text;
* :func:`file_stem` turns a project id into a bounded file name that stays in its folder;
* :func:`shown_path` names an input relative to what was given on the command line (a URL
  without its query: :func:`is_url`, :func:`url_path` and :func:`url_name` are the one
  reading of a URL's form);
* :func:`sha256_of` (a file) and :func:`sha256_text` are the only digests.

Missing parent folders of a destination are made when the file is written (and said so by the
command); an existing file in the way of a folder, or the reverse, is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import pandas as pd

from ..errors import OutputError

# What makes a spreadsheet read a cell as a formula (OWASP's list for CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# xlsxwriter: strings are written as strings, never as formulas, links or numbers.
XLSXWRITER_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


def check_destination(
    path: str | Path,
    suffixes: Iterable[str] = (),
    kind: str = "output",
    *,
    folder: bool = False,
    inputs: Iterable[str | Path] = (),
) -> Path:
    """``path`` if the ``kind`` of output (e.g. "--excel workbook") can be written there: a
    file whose suffix is one of ``suffixes`` (or, with ``folder``, a folder), not inside a
    folder of ``inputs``, under a folder that exists and can be written or can be made.
    Raises :class:`OutputError` naming what is wrong and what to do."""
    path = Path(path)
    suffixes = tuple(s.lower() for s in suffixes)
    if suffixes and path.suffix.lower() not in suffixes:
        raise OutputError(
            f"{kind} must be a {' or '.join(suffixes)} file",
            where=str(path),
            expected=f"a name ending {' or '.join(suffixes)}",
            got=repr(path.suffix or "no suffix"),
            hint=f"name the file like {path.stem or 'output'}{suffixes[0]}",
        )
    if path.exists() and path.is_dir() != folder:
        found, meant = ("a folder", "file") if path.is_dir() else ("a file", "folder")
        raise OutputError(
            f"{kind} is {found}",
            where=str(path),
            expected=f"a {meant} name",
            hint=f"give the {meant} to write, or move {path} away",
        )
    _check_parent(path, kind)
    if folder and path.is_dir():
        _check_writable(path, path, kind)
    _check_outside(path, inputs, kind)
    return path


def missing_folders(path: str | Path) -> list[Path]:
    """The folders above ``path`` that do not exist yet (outermost first): what writing it
    will make."""
    missing = [p for p in Path(path).parents if not p.exists()]
    return missing[::-1]


def _check_parent(path: Path, kind: str) -> None:
    existing = next(p for p in Path(path).absolute().parents if p.exists())
    if not existing.is_dir():
        raise OutputError(
            f"{kind} cannot be written under a file",
            where=str(path),
            expected="a folder above it",
            got=f"{existing} is a file",
            hint="choose another place to write to",
        )
    _check_writable(path, existing, kind)


def _check_writable(path: Path, folder: Path, kind: str) -> None:
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(
            f"{kind} cannot be written: the folder is read-only",
            where=str(path),
            got=f"no write permission on {folder}",
            hint="choose a folder you can write to",
        )


def _check_outside(path: Path, inputs: Iterable[str | Path], kind: str) -> None:
    """Outputs inside a folder being read would be read back by the next run."""
    target = path.resolve()
    for given in inputs:
        folder = Path(given).resolve()
        if target == folder and not folder.is_dir():
            raise OutputError(
                f"{kind} would overwrite the input {given}",
                where=str(path),
                expected="a file other than the inputs",
                hint="give the output another name",
            )
        if folder.is_dir() and (target == folder or folder in target.parents):
            raise OutputError(
                f"{kind} is inside the input folder {given}",
                where=str(path),
                expected="a place outside the folders being read",
                hint="the next run would read the outputs back as inputs; write them elsewhere",
            )


def write_atomically(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write`` on a temporary file beside ``path`` (its folder made if need be), then
    :func:`publish` it onto ``path``; on any failure the temporary file is removed and
    ``path`` is left as it was. An OS error (no space, a file-size limit, no permission)
    becomes an :class:`OutputError` naming ``path``."""
    path = Path(path)
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(
            prefix=f".{path.name[:60]}.", suffix=".tmp", dir=path.parent
        )
        os.close(handle)
        temporary = Path(name)
        write(temporary)
        publish(temporary, path)
    except Exception as error:
        cause = error if isinstance(error, OSError) else _wrapped_os_error(error)
        if not isinstance(cause, OSError):
            raise
        raise OutputError(
            "cannot write the file",
            where=str(path),
            got=cause.strerror or str(cause),
            hint="check the free space, the file-size limit (ulimit -f) and the permissions",
        ) from error
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
    return path


def _wrapped_os_error(error: Exception) -> OSError | None:
    """The OS error that a writing library (xlsxwriter's ``FileCreateError``) wrapped."""
    if type(error).__module__.startswith("xlsxwriter") and isinstance(error.__context__, OSError):
        return error.__context__
    return None


def publish(temporary: str | Path, path: str | Path) -> Path:
    """Give ``temporary`` (made by ``tempfile.mkstemp``, so readable by its owner only) the
    permissions a new file gets under the user's umask, and rename it onto ``path``."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(temporary, 0o666 & ~mask)
    os.replace(temporary, path)
    return Path(path)


@contextlib.contextmanager
def output_set(target: str | Path, names: Iterable[str], last: str) -> Iterator[Path]:
    """A new folder beside ``target`` to write one run's files into. When the block ends
    normally, the entries called ``names`` in ``target`` (the previous run's set, whatever
    of it is there) are replaced by the new ones, ``last`` (the manifest) removed first and
    put in last; other files in ``target`` are left alone. When the block fails or is
    interrupted, ``target`` is left as it was and the new folder is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        yield staging
        with _signals_held():
            _swap(staging, target, [n for n in names if n != last] + [last])
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap(staging: Path, target: Path, names: list[str]) -> None:
    """Move the old entries out (the last one first), the new ones in (the last one last)."""
    target.mkdir(exist_ok=True)
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    moved_out, moved_in = [], []
    try:
        for name in reversed(names):
            if os.path.lexists(target / name):
                os.replace(target / name, old / name)
                moved_out.append(name)
        for name in names:
            if os.path.lexists(staging / name):
                os.replace(staging / name, target / name)
                moved_in.append(name)
    except BaseException:
        for name in moved_in:
            os.replace(target / name, staging / name)
        for name in moved_out:
            os.replace(old / name, target / name)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C pressed while the block runs takes effect when it ends (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: caught.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def cell_text(value: object) -> object:
    """``value`` as a CSV cell: text that a spreadsheet would run as a formula gets a leading
    apostrophe (the OWASP advice against CSV injection); other values are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # what XML 1.0 cannot hold


def xlsx_value(value: object) -> object:
    """``value`` for an openpyxl cell: control characters that a workbook cannot hold (XML
    1.0) shown as U+FFFD instead of failing the whole file; other values as they are."""
    if isinstance(value, str) and _NOT_IN_XML.search(value):
        return _NOT_IN_XML.sub("\ufffd", value)
    return value


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with :func:`cell_text` applied to its text values and column names (numbers
    and other values are left as they are)."""
    safe = frame.copy(deep=False)
    for column in frame.columns:
        values = frame[column]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
            continue
        text = _text_only(values)
        risky = text.str.startswith(FORMULA_STARTS).fillna(False).to_numpy(dtype=bool)
        if risky.any():
            safe[column] = values.astype(object).where(~risky, "'" + text.astype(object))
    return safe.set_axis([cell_text(str(c)) for c in frame.columns], axis=1)


def _text_only(values: pd.Series) -> pd.Series:
    """The text values of a column as strings, anything else missing."""
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return values.astype("string")
    return values.map(lambda v: v if isinstance(v, str) else None).astype("string")


def write_text(path: str | Path, text: str) -> Path:
    """``text`` as a UTF-8 file, written atomically."""
    return write_atomically(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def write_json(path: str | Path, data: object, default: Callable | None = None) -> Path:
    """``data`` as indented UTF-8 JSON (non-ASCII kept), written atomically; ``default`` turns
    values JSON does not know into ones it does."""

    def write(temporary: Path) -> None:  # written as it is encoded: never whole in memory
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=1, default=default)

    return write_atomically(path, write)


def write_csv(frame: pd.DataFrame, path: str | Path, *, encoding: str = "utf-8") -> Path:
    """``frame`` as CSV (no index, lines ending in ``\\n``), formula-like text neutralised,
    written atomically (a big frame column by column: :mod:`.csv_blocks`)."""
    from .csv_blocks import write_frame_csv

    safe = csv_safe(frame)
    return write_atomically(path, lambda t: write_frame_csv(safe, t, encoding=encoding))


def write_table(frame: pd.DataFrame, path: str | Path, sheet: str = "Sheet1") -> Path:
    """``frame`` as ``.xlsx`` (one ``sheet``, the bare table, text as text) or CSV, by the
    file's suffix."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        return write_csv(frame, path)
    from .excel import Table, write_workbook  # excel writes through this module

    return write_workbook(path, {sheet: Table(frame, styled=False)})


_UNSAFE = re.compile(r"[^\w.-]+")
_RESERVED = re.compile(r"(con|prn|aux|nul|com\d|lpt\d)(\..*)?", re.IGNORECASE)
MAX_STEM_BYTES = 96


def file_stem(text: str) -> str:
    """A file name for ``text`` (a project id) that stays in its folder: the text itself when
    it is a plain, short name; otherwise its letters, digits, ``.``, ``-`` and ``_`` (others
    as ``_``), cut to a bounded length, and a short hash of the whole text, so that two ids
    never share a name (a hashed name has a ``~``, which a plain one never has)."""
    cleaned = _UNSAFE.sub("_", text)
    if (
        cleaned == text
        and len(text.encode("utf-8")) <= MAX_STEM_BYTES
        and not text.startswith(".")
        and not _RESERVED.fullmatch(text)
    ):
        return text
    digest = sha256_text(text)[:12]
    head = cleaned.lstrip(".").encode("utf-8")[: MAX_STEM_BYTES - 14].decode("utf-8", "ignore")
    return f"{head}~{digest}"


def sha256_of(file: str | Path | BinaryIO) -> str:
    """The SHA-256 of a file (hex), by its path or open for reading bytes (a URL's stream,
    :func:`assessment.intake.urls.input_sha256`), read a megabyte at a time: the one file
    digest."""
    if not isinstance(file, str | Path):
        return _sha256_read(file)
    with open(file, "rb") as handle:
        return _sha256_read(handle)


def _sha256_read(handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    """The SHA-256 (hex) of ``text`` as UTF-8 (lone surrogates kept): the one text digest."""
    return sha256_bytes(text.encode("utf-8", "surrogatepass"))


def sha256_bytes(data: bytes) -> str:
    """The SHA-256 (hex) of bytes already read (a file :func:`sha256_of` would read again)."""
    return hashlib.sha256(data).hexdigest()


def shown_path(path: str | Path, given: Iterable[str | Path]) -> str:
    """``path`` named relative to the command-line argument it was found through: a file
    given by name as its name, a file found in a folder as the folder's name and the rest
    (``inbox/2025/a.xlsx``), never as an absolute local path; a URL likewise, never with
    an http(s) query (:func:`url_path`: a signed link's signature is a credential)."""
    path = Path(_unqueried(path))
    for item in map(Path, map(_unqueried, given)):
        if path == item and not item.is_dir():
            return path.name
        with contextlib.suppress(ValueError):
            rest = path.relative_to(item)
            return str(Path(item.resolve().name) / rest) if item.resolve().name else str(rest)
    return path.name


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+://")
QUERIED = ("http", "https")  # protocols whose URLs may carry a ?query


def is_url(path: object) -> bool:
    """Is ``path`` a URL (``protocol://...``) rather than a local path?"""
    return isinstance(path, str) and bool(_URL.match(path))


def url_protocol(url: str) -> str:
    """The protocol of a URL, in lower case (``s3`` for ``S3://bucket/a.csv``)."""
    return url.split("://", 1)[0].lower()


def url_path(url: str) -> str:
    """What follows ``protocol://``, less the query and fragment of an http(s) URL: its ``?``
    starts what is sent to the server (a signature, a version), never a glob."""
    rest = url.split("://", 1)[-1]
    if url_protocol(url) in QUERIED:
        rest = rest.split("#", 1)[0].split("?", 1)[0]
    return rest


def _unqueried(path: str | Path) -> str | Path:
    return f"{url_protocol(path)}://{url_path(path)}" if is_url(path) else path


def url_name(url: str) -> str:
    """The file name at the end of a URL (``list.csv`` for ``https://host/list.csv?sig=1``)."""
    return PurePosixPath(url_path(url).rstrip("/")).name
