"""The one place that overrides a private method of reportlab: ``Table._drawCell``.

Why: a memo has hundreds of table cells, and reportlab draws each line of each cell as a text
object of its own. :class:`TextTable` writes every plain-text cell of a table into one text
object instead, drawn after the backgrounds and rules (the table writes a few times faster).
reportlab has no public hook for this: ``Table.draw`` calls ``self._drawCell(cellval,
cellstyle, pos, size)`` per cell, with ``pos`` the cell's lower left corner and ``size`` its
width and height, and a ``CellStyle`` holding ``fontname``, ``fontsize``, ``leading``,
``color``, ``topPadding``, ``leftPadding``, ``href`` and ``destination``.

Checked against reportlab 4.0 to 5.1 (``_drawCell``'s signature and the cell style's
attributes are unchanged over that range; installed 5.1.0); ``pyproject.toml`` pins
``SUPPORTED``. :func:`check` fails with an :class:`AssessmentError` naming the installed
version when ``Table`` no longer draws its cells that way, and
``tests/test_library_internals.py`` compares a :class:`TextTable`'s page with a plain
``Table``'s.
"""

from __future__ import annotations

import functools
import inspect

from reportlab.platypus import Table
from reportlab.platypus.tables import CellStyle

from ...errors import AssessmentError, unsupported_library

SUPPORTED = ">=4,<5.2"  # the pin in pyproject.toml (a test keeps the two equal)
_PARAMETERS = ["self", "cellval", "cellstyle", "pos", "size"]
_STYLE_ATTRIBUTES = (
    "fontname",
    "fontsize",
    "leading",
    "color",
    "topPadding",
    "leftPadding",
    "href",
    "destination",
)


@functools.cache
def check() -> None:
    """Refuse, with the installed reportlab version named, a ``Table`` that does not draw
    its cells through ``_drawCell`` as :class:`TextTable` expects (checked once)."""
    problem = _problem()
    if problem:
        raise unsupported_library(
            AssessmentError,
            "reportlab",
            SUPPORTED,
            "does not draw table cells as the PDF writer expects",
            where="assessment/reports/pdf/_reportlab_table.py",
            got=problem,
        )


def _problem() -> str:
    """What is not as expected, or ""."""
    method = getattr(Table, "_drawCell", None)
    if method is None:
        return "Table has no _drawCell"
    parameters = list(inspect.signature(method).parameters)
    if parameters != _PARAMETERS:
        return f"Table._drawCell takes ({', '.join(parameters)})"
    if "_drawCell" not in Table.draw.__code__.co_names:
        return "Table.draw does not call _drawCell"
    style = CellStyle("check")
    missing = [name for name in _STYLE_ATTRIBUTES if not hasattr(style, name)]
    return "CellStyle lacks " + ", ".join(missing) if missing else ""


class TextTable(Table):
    """A reportlab table whose text cells (left and top aligned, as the grid of
    :mod:`.flowables` sets them) are written into one text object per table, drawn after the
    backgrounds and rules, instead of one text object per line."""

    def __init__(self, *args, **kwargs) -> None:
        check()
        super().__init__(*args, **kwargs)

    def draw(self) -> None:
        self._text, self._text_style = None, None
        super().draw()
        if self._text is not None:
            self.canv.drawText(self._text)

    def _drawCell(self, cellval, cellstyle, pos, size) -> None:  # noqa: N802 (reportlab's name)
        if not isinstance(cellval, str) or cellstyle.href or cellstyle.destination:
            return super()._drawCell(cellval, cellstyle, pos, size)
        if not cellval:
            return None
        if self._text is None:
            self._text = self.canv.beginText()
        text = self._text
        if self._text_style is not cellstyle:
            text.setFont(cellstyle.fontname, cellstyle.fontsize, cellstyle.leading)
            text.setFillColor(cellstyle.color)
            self._text_style = cellstyle
        top = pos[1] + size[1] - cellstyle.topPadding - cellstyle.fontsize
        text.setTextOrigin(pos[0] + cellstyle.leftPadding, top)
        text.textLines(cellval, trim=0)
        return None
