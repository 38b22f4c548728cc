"""Inputs named by fsspec URLs (``file:///data/part-*.csv``, ``s3://bucket/list/``,
``memory://...``): found, sized and copied where they can be read.

A URL is any input that starts with a protocol and ``://`` (``C:\\...`` is a local path;
:func:`~assessment._shared.files.is_url` tells them apart). :func:`expand_urls` turns URLs
(a file, a glob, a folder) into the files they name, with one problem row per URL that names
none or cannot be used (unknown protocol, the package that reads it not installed, a storage
that cannot be reached, no such file). :func:`readable_copy` gives a local file to read: the
path itself for ``file://``, else a copy made in this process's temporary folder (a worker
copies its own files; the client reads them only to hash them). :func:`input_sha256` is the
digest of an input, local or at a URL, for the manifest (a URL's file streamed, never held
whole). fsspec is imported only here, only when a URL is given: local paths never load it.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
import time
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import PurePosixPath
from urllib.parse import unquote

from .._shared.files import QUERIED, is_url, sha256_of, url_name, url_path, url_protocol
from ..errors import InputError
from .layouts import problem
from .limits import Limits

_GLOB = re.compile(r"[*?\[]")
FOLDER_SUFFIXES = (".xlsx", ".xlsm", ".ods", ".csv")  # taken from a folder (as find_inputs)
SILENT_SECONDS = 30  # an http(s) server silent this long is given up (connecting or reading)
HEAD_BYTES = 1 << 16  # what the client reads of a CSV list to estimate its rows
KEPT_COPIES = 4  # copies of list files a process keeps for their later parts
SETTLED_AGE = 60.0  # a copy's modification time is set this far back: it never changes


def expand_urls(urls: Iterable[str]) -> tuple[list[str], list[dict]]:
    """The files the URLs name, each once, in a stable order (a glob's matches and a
    folder's spreadsheet files sorted), and one problem row per URL that names none."""
    found: list[str] = []
    problems: list[dict] = []
    for url in urls:
        try:
            files = _files_at(url)
        except InputError as error:
            problems.append(url_problem(url, error))
            continue
        found += [file for file in files if file not in found]
    return found, problems


def _files_at(url: str) -> list[str]:
    fs, path = filesystem(url)
    with _reading(url):
        if _GLOB.search(url_path(url)):
            files = [fs.unstrip_protocol(p) for p in sorted(fs.glob(path)) if fs.isfile(p)]
            return files or _none_found(url, "no file matches the pattern")
        if fs.isdir(path):
            files = [fs.unstrip_protocol(p) for p in sorted(fs.find(path)) if _in_folder(p)]
            return files or _none_found(url, "no workbook or candidate list in the folder")
        if not fs.exists(path):
            _none_found(url, _missing(fs, path))
    return [url]


def _missing(fs, path: str) -> str:
    """Why nothing is at ``path``: a URL made by ``Path.as_uri()`` has ``%20`` for a space,
    which fsspec reads as written; the decoded path is named when it exists."""
    decoded = unquote(path)
    if decoded != path and fs.exists(decoded):
        return f"no such file at the URL (its %-escapes are read as written: write {decoded!r})"
    return "no such file at the URL"


def _in_folder(path: str) -> bool:
    name = PurePosixPath(path).name
    return name.lower().endswith(FOLDER_SUFFIXES) and not name.startswith(("~$", "."))


def _none_found(url: str, what: str) -> list[str]:
    raise InputError(
        what,
        where=url,
        expected="an existing file, folder or glob pattern at the URL",
        hint="check the URL (list it with the storage's own tool)",
    )


def filesystem(url: str) -> tuple[object, str]:
    """The fsspec filesystem of ``url`` and the path on it; InputError when fsspec does not
    know the protocol or the package that implements it is not installed."""
    protocol = url_protocol(url)
    try:
        import fsspec.core
        from fsspec.registry import known_implementations
    except ImportError:
        raise _needs_package(url, protocol, "fsspec") from None
    try:
        return fsspec.core.url_to_fs(url, **_storage_options(protocol))
    except ImportError as error:
        known = known_implementations.get(protocol, {}).get("class", protocol)
        missing = getattr(error.__cause__, "name", None) or known.split(".")[0]
        raise _needs_package(url, protocol, missing, str(error)) from None
    except ValueError as error:
        raise InputError(
            f"unknown protocol {protocol!r}",
            where=url,
            expected="a protocol fsspec reads: file, s3, gs, az, http(s), memory, ...",
            got=str(error),
            hint="check the URL; a local file needs no protocol (or file:///)",
        ) from None
    except Exception as error:  # a storage that connects when opened (ftp, hdfs...)
        raise _unreachable(url, error) from None


def _storage_options(protocol: str) -> dict:
    """How long to wait for an http(s) server: aiohttp's default gives a request 5 minutes in
    all (a big file's copy included) and waits as long for a server that takes the
    connection and says nothing, at each of the several requests a URL takes (one such input
    held a run for over 25 minutes); here a server silent for ``SILENT_SECONDS`` is given up
    (2.5 minutes for that input), a slow download never. The user's own fsspec configuration
    of ``client_kwargs`` stands."""
    import fsspec.config

    if protocol not in QUERIED or "client_kwargs" in fsspec.config.conf.get(protocol, {}):
        return {}
    try:
        import aiohttp
    except ImportError:
        return {}  # fsspec says what to install
    wait = aiohttp.ClientTimeout(total=None, sock_connect=SILENT_SECONDS, sock_read=SILENT_SECONDS)
    return {"client_kwargs": {"timeout": wait}}


def _needs_package(url: str, protocol: str, package: str, said: str = "") -> InputError:
    """``package``: the module that could not be imported (aiohttp for http://, not fsspec,
    which holds the class); ``said``: fsspec's own words on what to install."""
    return InputError(
        f"reading {protocol}:// URLs needs the {package} package, which is not installed",
        where=url,
        expected=f"{package} installed (on the workers too)",
        got=f"no module {package!r} ({said})" if said else f"no module {package!r}",
        hint=f"pip install {package}",
    )


def _unreachable(url: str, error: Exception) -> InputError:
    return InputError(
        "cannot reach the storage of the URL",
        where=url,
        expected="a storage that answers at the URL's address",
        got=_reason(error),
        hint="check the URL, the network and credentials",
    )


def _reason(error: Exception, limit: int = 300) -> str:
    """An error's type and the first line of its message, at most ``limit`` characters (a
    storage's message can run to pages: hdfs:// lists every place it looked for Java)."""
    first = (str(error).strip().splitlines() or [""])[0]
    text = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _reading:
    """Turns the storage's errors (no such file, no access, network) into InputError."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, trace) -> bool:
        if error is None or isinstance(error, InputError) or not isinstance(error, Exception):
            return False
        missing = isinstance(error, FileNotFoundError)
        raise InputError(
            "no such file at the URL" if missing else "cannot read the URL",
            where=self.url,
            expected="a file that can be read at the URL",
            got=_reason(error),
            hint="check the URL" if missing else "check the URL, the network and credentials",
        ) from None


def url_problem(url: str, error: InputError) -> dict:
    """The problem row of a URL that cannot be used."""
    return problem(error.what, file=url, value=error.got, expected=error.expected, hint=error.hint)


def url_size(url: str) -> tuple[int, str]:
    """The size in bytes of the file at ``url`` and its type (``file``, ``directory``...)."""
    fs, path = filesystem(url)
    with _reading(url):
        info = fs.info(path)
    return int(info.get("size") or 0), str(info.get("type", "file"))


def read_head(url: str, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of the file at ``url``."""
    fs, path = filesystem(url)
    with _reading(url), fs.open(path, "rb") as stream:
        return stream.read(size)


def parquet_rows(url: str) -> int:
    """The rows of the Parquet file at ``url``, read from its footer alone."""
    import pyarrow.parquet as pq

    fs, path = filesystem(url)
    with _reading(url), fs.open(path, "rb") as stream:
        return pq.read_metadata(stream).num_rows


def local_path(url: str) -> str | None:
    """The local path of a ``file://`` URL; None for other storage."""
    fs, path = filesystem(url)
    return path if "file" in _protocols(fs) else None


def local_input(path: str) -> str:
    """The local path a ``file://`` URL names, so that it can be told apart from the outputs
    (a folder being read must not get them); any other path or URL as it is."""
    if not (is_url(path) and url_protocol(path) in ("file", "local")):
        return path
    try:
        return local_path(path) or path
    except InputError:
        return path


def input_sha256(path: str) -> str | None:
    """The SHA-256 of an input file: a local path, or a URL's file streamed through fsspec
    (never copied whole). None when it cannot be read now (a missing input, a folder, a file
    removed or a storage unreachable since it was screened): the run's outputs stand, and a
    digest of something else would be worse than none. A ``file://`` URL is hashed as its
    local path is: a FIFO or a device (``file:///dev/zero``) is never opened."""
    try:
        local = local_path(path) if is_url(path) else path
        if local is not None:
            return sha256_of(local) if os.path.isfile(local) else None
        fs, inner = filesystem(path)
        with _reading(path):
            _check_size(path, fs.info(inner))  # refused unread: not downloaded to be hashed
            with fs.open(inner, "rb") as stream:
                return sha256_of(stream)
    except (InputError, OSError):
        return None


def _protocols(fs: object) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


_copies: OrderedDict[tuple, str] = OrderedDict()  # (url, size, version) -> local copy
_folder: list[str] = []


def readable_copy(url: str, *, keep: bool = False) -> str:
    """A local file holding the file at ``url``: its path for ``file://``, else a copy in
    this process's temporary folder, named as the URL's file (a list's sheet is named after
    it). ``keep`` keeps the copy for later calls (the parts of a list), up to
    ``KEPT_COPIES``; a copy not kept is the caller's to remove (:func:`discard_copy`)."""
    local = local_path(url)
    if local is not None:
        return local
    fs, path = filesystem(url)
    with _reading(url):
        info = fs.info(path)
        _check_size(url, info)
        version = (url, info.get("size"), str(info.get("ETag") or info.get("mtime") or ""))
        if keep and version in _copies and os.path.exists(_copies[version]):
            _copies.move_to_end(version)
            return _copies[version]
        copy = os.path.join(tempfile.mkdtemp(dir=_copy_folder()), url_name(url) or "input")
        fs.get_file(path, copy)
    settled = time.time() - SETTLED_AGE  # the copy never changes: its reading may be cached
    os.utime(copy, (settled, settled))
    if keep:
        _copies[version] = copy
        while len(_copies) > KEPT_COPIES:
            discard_copy(_copies.popitem(last=False)[1])
    return copy


def _check_size(url: str, info: dict) -> None:
    """Refuse a file past the size limit before it is copied or hashed (a worker copied it
    whole, the reader then refused the copy), as a local file is refused unopened."""
    size, limits = info.get("size"), Limits.from_env()
    if isinstance(size, int) and size > limits.file_bytes:
        raise limits.exceeded("file_bytes", url, size)


def discard_copy(copy: str) -> None:
    """Remove a copy made by :func:`readable_copy` (never a ``file://`` URL's own file)."""
    if _folder and copy.startswith(_folder[0] + os.sep):
        shutil.rmtree(os.path.dirname(copy), ignore_errors=True)


def _copy_folder() -> str:
    if not _folder:
        _folder.append(tempfile.mkdtemp(prefix="assess-urls-"))
        atexit.register(shutil.rmtree, _folder[0], True)
    return _folder[0]
