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
was *got*, and a *hint* on what to do, and renders them as one line.
"""

from __future__ import annotations


class AssessmentError(Exception):
    """Base class: a message built from what, where, expected, got and hint."""

    def __init__(
        self, what: str, *, where: str = "", expected: str = "", got: str = "", hint: str = ""
    ) -> None:
        self.what, self.where, self.expected, self.got, self.hint = what, where, expected, got, hint
        super().__init__(self.render())

    def render(self) -> str:
        parts = [f"{self.where}: {self.what}" if self.where else self.what]
        if self.expected:
            parts.append(f"expected {self.expected}")
        if self.got:
            parts.append(f"got {self.got}")
        text = "; ".join(parts)
        return f"{text} (hint: {self.hint})" if self.hint else text


class DictionaryError(AssessmentError):
    """A data table of the field dictionary is malformed."""


class ModelError(AssessmentError):
    """A risk model cannot be trained, loaded or applied."""


class OutputError(AssessmentError):
    """An output file or folder cannot be written where it was asked for."""


class InputError(AssessmentError):
    """An input file cannot be read at all."""


class RuleError(AssessmentError):
    """Rule packs with problems; ``problems`` holds one row per problem (file, row, column,
    value, message, hint), all collected before raising."""

    def __init__(self, what: str, *, problems: list[dict] | None = None, **details: str) -> None:
        self.problems = list(problems or [])
        super().__init__(what, **details)

    @classmethod
    def from_rows(cls, rows: list[dict]) -> RuleError:
        lines = [rule_problem_line(row) for row in rows]
        return cls(f"{len(rows)} problem(s) in the rules:\n" + "\n".join(lines), problems=rows)


def rule_problem_line(row: dict) -> str:
    """``rules/x/rules.csv, row 4, column metric: unknown metric 'dcsr' (hint: ...)``."""
    where = ", ".join(
        part
        for part in (
            row["file"],
            row["row"] and f"row {row['row']}",
            row["column"] and f"column {row['column']}",
        )
        if part
    )
    hint = f" (hint: {row['hint']})" if row.get("hint") else ""
    return f"{where}: {row['message']}{hint}"
