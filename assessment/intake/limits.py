"""Limits on what one input file may hold, checked before and while it is read, so that a
hostile or broken file is refused quickly and in bounded memory instead of hanging, filling
the memory or killing the process.

Defaults are in :class:`Limits`; each can be changed by an environment variable (read when a
file is read, so worker processes and Dask workers on this machine see the same values):

==========================  ===============================  =================================
environment variable        limit                            default
==========================  ===============================  =================================
``ASSESS_MAX_FILE_BYTES``    size of the file on disk          1 GiB
``ASSESS_MAX_UNZIPPED_BYTES`` size of a workbook unzipped      512 MiB
``ASSESS_MAX_ZIP_RATIO``     unzipped / zipped size of a part  200 (parts over 1 MiB unzipped)
``ASSESS_MAX_ROWS``          rows of a sheet (lines of a CSV)  10,000,000
``ASSESS_MAX_COLUMNS``       columns of a sheet                4,096
``ASSESS_MAX_CELLS``         rows x columns of a sheet's used  100,000,000
                             range
``ASSESS_MAX_CELL_CHARS``    characters in one cell            131,072
``ASSESS_MAX_SECONDS``       seconds to read one file          120
==========================  ===============================  =================================

A file past a limit is rejected with an :class:`~assessment.errors.InputError` naming the
limit, its value, what the file holds and the variable that raises it. The time limit is
checked between the steps of reading (each step is itself bounded by the size limits).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields

from .._shared.text import shown
from ..errors import AssessmentError, InputError

ENV_PREFIX = "ASSESS_MAX_"
RATIO_FROM_BYTES = 1 << 20  # a part smaller than this unzipped is never a bomb


@dataclass(frozen=True)
class Limits:
    """The most one input file may hold (see the module notes for the environment variables)."""

    file_bytes: int = 1 << 30
    unzipped_bytes: int = 512 << 20
    zip_ratio: float = 200.0
    rows: int = 10_000_000
    columns: int = 4_096
    cells: int = 100_000_000
    cell_chars: int = 131_072
    seconds: float = 120.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The defaults, each replaced by its ``ASSESS_MAX_<NAME>`` variable when set."""
        environ = os.environ if environ is None else environ
        found = {}
        for item in fields(cls):
            name = env_name(item.name)
            if environ.get(name, "").strip():
                found[item.name] = _positive(name, environ[name], item.type)
        return cls(**found)

    def exceeded(self, name: str, where: str, got: object, *, hint: str = "") -> InputError:
        """The error of a file past the limit ``name``."""
        limit = getattr(self, name)
        return InputError(
            f"the file is past the {name.replace('_', ' ')} limit",
            where=where,
            expected=f"at most {shown(limit)} ({env_name(name)})",
            got=shown(got) if isinstance(got, int | float) else str(got),
            hint=hint or f"split the file, or raise the limit with {env_name(name)}",
        )


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def _positive(name: str, text: str, kind: object) -> int | float:
    try:
        value = float(text) if kind in (float, "float") else int(text.replace("_", ""))
    except ValueError:
        value = -1
    if not value > 0 or value != value or value == float("inf"):
        raise AssessmentError(
            f"the environment variable {name} must be a positive number",
            got=repr(text),
            hint=f"unset {name} for the default",
        )
    return value


class Deadline:
    """The time limit of reading one file, checked between steps."""

    def __init__(self, limits: Limits, where: str) -> None:
        self.limits, self.where = limits, where
        self.end = time.monotonic() + limits.seconds

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise self.limits.exceeded(
                "seconds",
                self.where,
                f"still reading after {self.limits.seconds:g} s",
                hint="split the file, or raise the limit with ASSESS_MAX_SECONDS",
            )


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_regular_file(path: os.PathLike | str, limits: Limits) -> bytes:
    """The bytes of a regular file within the size limit. A FIFO, device, socket or folder is
    refused without reading from it (it is opened without blocking and looked at first)."""
    where = str(path)
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise cannot_open(where, error) from None
    with os.fdopen(handle, "rb") as stream:
        found = os.fstat(handle)
        check_regular(found, where, limits)
        data = stream.read(found.st_size + 1)  # the buffer is as large as asked for
    if len(data) > found.st_size:
        raise InputError(
            "the file changed while it was read",
            where=where,
            expected=f"{found.st_size:,} bytes",
            got="more",
            hint="wait until the file is written completely",
        )
    return data


def check_path(path: os.PathLike | str, limits: Limits) -> None:
    """Refuse a path that is no regular file or is over the size limit, without opening it."""
    try:
        found = os.stat(path)
    except OSError as error:
        raise cannot_open(str(path), error) from None
    check_regular(found, str(path), limits)


def check_regular(found: os.stat_result, where: str, limits: Limits) -> None:
    kind = next((name for test, name in _KINDS if test(found.st_mode)), None)
    if kind is not None or not stat.S_ISREG(found.st_mode):
        raise InputError(
            "not a regular file",
            where=where,
            expected="a regular file",
            got=kind or "a special file",
            hint="save the data to a file and give its path",
        )
    if found.st_size > limits.file_bytes:
        raise limits.exceeded("file_bytes", where, found.st_size)


def cannot_open(where: str, error: OSError) -> InputError:
    return InputError(
        "cannot open the file",
        where=where,
        got=error.strerror or str(error),
        hint="check the path and permissions",
    )
