"""The engine's exceptions.

Hierarchy::

    AssessmentError            base of everything the engine raises on purpose
    ├── DictionaryError        a field, choice, unit or check table is malformed
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


class InputError(AssessmentError):
    """An input file cannot be read at all."""
