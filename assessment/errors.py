"""The engine's exceptions.

Hierarchy::

    AssessmentError            base of everything the engine raises on purpose
    ├── DictionaryError        a field, choice, unit or check table is malformed
    ├── RuleError              rule packs that do not load: every problem, file/row/column
    ├── ModelError             a model cannot be trained, loaded (untrusted content) or applied
    ├── OutputError            an output cannot be written where it was asked for (checked
    │                          before the work starts: suffix, folder, permissions, inputs)
    └── InputError             an input file cannot be used at all (the reader turns it into
                               one problem row naming the file; other files still load)

Each carries *what* went wrong, *where* (file, sheet, cell or row), what was *expected*, what
was *got*, and a *hint* on what to do, as a :class:`Problem`. :meth:`Problem.render` is the one
way a problem becomes a line of text: an exception's message, a rule pack's problem rows, an
input's problem rows and the command line's error lines all go through it.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem: *what* went wrong, *where* (file, sheet, cell, row, column), about which
    *subject* (project and field), what was *expected*, what was *got*, and a *hint*."""

    what: str
    file: str = ""
    sheet: str = ""
    cell: str = ""
    row: object = ""
    column: str = ""
    expected: str = ""
    got: str = ""
    hint: str = ""
    severity: str = ""
    subject: str = ""

    @classmethod
    def from_row(cls, row: Mapping) -> Problem:
        """A problem row of a table (rule packs: file, row, column, value, message, hint;
        inputs: file, sheet, cell, project_id, field, year, severity, message, value, expected,
        hint) as a :class:`Problem`; an input row names its subject, the file when no project
        or field."""
        value = row.get("value", "")
        got = row.get("got", "")
        if "project_id" in row:  # an input problem: the value read is what was got
            got = "" if _blank(value) else repr(value)
        return cls(
            what=str(row.get("message", row.get("what", ""))),
            **{key: _text(row.get(key)) for key in ("file", "sheet", "cell", "column")},
            row=_text(row.get("row")),
            expected=_text(row.get("expected")),
            got=_text(got),
            hint=_text(row.get("hint")),
            severity=_text(row.get("severity")),
            subject=_subject(row) if "project_id" in row else _text(row.get("subject")),
        )

    @classmethod
    def of(cls, error: BaseException) -> Problem:
        """The problem an engine error or an OS error (its reason and paths) describes."""
        if isinstance(error, AssessmentError):
            return error.problem
        if isinstance(error, OSError):
            paths = (error.filename, error.filename2)
            where = " -> ".join(str(p) for p in paths if p is not None)
            return cls(error.strerror or str(error), file=where)
        return cls(f"{type(error).__name__}: {error}")

    def where(self) -> str:
        """``file:Sheet!B7, row 4, column metric`` (the parts that are known)."""
        place = self.file + (f":{self.sheet}" if self.sheet else "")
        place += f"!{self.cell}" if self.cell else ""
        parts = (
            place,
            self.row != "" and f"row {self.row}",
            self.column and f"column {self.column}",
        )
        return ", ".join(str(part) for part in parts if part)

    def render(self) -> str:
        """The problem as one line:
        ``where [severity] subject: what; expected ...; got ... (hint: ...)``."""
        head = " ".join(
            part
            for part in (self.where(), self.severity and f"[{self.severity}]", self.subject)
            if part
        )
        details = [self.what]
        details += [f"expected {self.expected}"] if self.expected else []
        details += [f"got {self.got}"] if self.got else []
        text = "; ".join(details)
        text = f"{head}: {text}" if head else text
        return f"{text} (hint: {self.hint})" if self.hint else text


def _blank(value: object) -> bool:
    """None, empty text, NaN, or a missing marker of pandas (NA, NaT)."""
    if value is None or (isinstance(value, str) and value == ""):
        return True
    try:
        return bool(value != value)
    except TypeError:  # pandas' NA refuses to be a truth value
        return True


def _text(value: object) -> str:
    return "" if _blank(value) else str(value)


def _subject(row: Mapping) -> str:
    year = row.get("year")
    field = _text(row.get("field")) + ("" if _blank(year) else f"[{year}]")
    return " ".join(part for part in (_text(row.get("project_id")), field) if part) or "file"


class AssessmentError(Exception):
    """Base class: a message built from what, where, expected, got and hint (its
    :class:`Problem`, rendered)."""

    def __init__(
        self, what: str, *, where: str = "", expected: str = "", got: str = "", hint: str = ""
    ) -> None:
        self.what, self.where, self.expected, self.got, self.hint = what, where, expected, got, hint
        self.problem = Problem(what, file=where, expected=expected, got=got, hint=hint)
        super().__init__(self.render())

    def render(self) -> str:
        return self.problem.render()


class DictionaryError(AssessmentError):
    """A data table of the field dictionary is malformed."""


class ModelError(AssessmentError):
    """A risk model cannot be trained, loaded or applied."""


class OutputError(AssessmentError):
    """An output file or folder cannot be written where it was asked for."""


class InputError(AssessmentError):
    """An input file cannot be read at all."""


def table_problem(
    path: object, row: object, column: str, message: str, *, got="", expected="", hint=""
) -> dict:
    """One problem of a table an analyst edits, as a row of :meth:`RuleError.from_rows`."""
    return {
        "file": str(path),
        "row": row,
        "column": column,
        "message": message,
        "got": got,
        "expected": expected,
        "hint": hint,
    }


class RuleError(AssessmentError):
    """Rule packs with problems; ``problems`` holds one row per problem (file, row, column,
    value, message, hint), all collected before raising."""

    def __init__(self, what: str, *, problems: list[dict] | None = None, **details: str) -> None:
        self.problems = list(problems or [])
        super().__init__(what, **details)

    @classmethod
    def from_rows(cls, rows: list[dict]) -> RuleError:
        lines = [Problem.from_row(row).render() for row in rows]
        return cls(f"{len(rows)} problem(s) in the rules:\n" + "\n".join(lines), problems=rows)


def unsupported_library(
    error: type[AssessmentError],
    distribution: str,
    supported: str,
    what: str,
    *,
    then: str = "",
    **details: str,
) -> AssessmentError:
    """The error of a library whose private internals are not as the engine's module for
    them reads them: the installed version named, the pinned range expected, and the hint to
    install it (``then`` adds what to do next)."""
    version = importlib.metadata.version(distribution)
    return error(
        f"{distribution} {version} {what}",
        expected=f"{distribution}{supported}, as pyproject.toml pins",
        hint=f"install a supported version: pip install '{distribution}{supported}'{then}",
        **details,
    )
