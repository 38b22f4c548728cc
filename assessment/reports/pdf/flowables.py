"""Building blocks of the engine's PDFs: fast text tables and vector bar charts.

Table cells are plain strings wrapped here to their column width (one width lookup per word),
not reportlab ``Paragraph`` objects: a memo has hundreds of cells, and laying out a paragraph
per cell is what makes a report slow. Chinese text breaks between any two characters, other
text between words (a word wider than its column breaks between characters). The cells are
drawn by :class:`TextTable`, whose override of a private reportlab method lives in
:mod:`._reportlab_table`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from reportlab.graphics import renderPDF
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, Spacer, Table, TableStyle
from reportlab.platypus.tables import CellStyle

from ..._shared.files import write_atomically
from ..._shared.text import shown
from ._reportlab_table import TextTable
from .style import Look

# A CJK character, a word with its trailing spaces, or a run of spaces.
_TOKENS = re.compile(
    r"[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]|[^\s\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]+\s*|\s+"
)
_PADDING = 2.5


@lru_cache(maxsize=65536)
def wrap(text: str, font: str, size: float, width: float) -> str:
    """``text`` with line breaks so that no line is wider than ``width`` points."""
    lines = []
    for paragraph in text.split("\n"):
        if stringWidth(paragraph, font, size) <= width:
            lines.append(paragraph)
        else:
            lines += _break(paragraph, font, size, width)
    return "\n".join(lines)


def _break(text: str, font: str, size: float, width: float) -> list[str]:
    lines, line, used = [], "", 0.0
    for token in _tokens(text, font, size, width):
        wide = stringWidth(token.rstrip(), font, size)
        if line and used + wide > width:
            lines.append(line.rstrip())
            line, used = "", 0.0
            token = token.lstrip()
        line += token
        used += stringWidth(token, font, size)
    return [*lines, line.rstrip()] if line.strip() or not lines else lines


def _tokens(text: str, font: str, size: float, width: float):
    for token in _TOKENS.findall(text):
        if stringWidth(token.rstrip(), font, size) <= width:
            yield token
        else:
            yield from token  # a word wider than the column: one character at a time


CELL_CHARS = 400  # a table cell shows at most this many characters (then "...")
CELL_DIGITS = 4  # significant digits of a number in a table cell (the formatter's digits)
_LABEL_CHARS = 60  # a chart label likewise


def clipped(text: str, limit: int = CELL_CHARS) -> str:
    """``text`` cut to ``limit`` characters, the cut marked with "...": a name tens of
    thousands of characters long still fits its table cell on one page."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class Grid:
    """A table of plain-text cells: a header row, then rows; optional cell fills and colours."""

    header: list[str]
    widths: list[float]
    rows: list[list[object]] = field(default_factory=list)
    fills: list[tuple[int, int, object]] = field(default_factory=list)
    colours: list[tuple[int, int, object]] = field(default_factory=list)

    def add(self, row: list[object], fill: tuple[int, object] | None = None) -> None:
        if fill is not None:
            self.fills.append((len(self.rows), *fill))
        self.rows.append(row)

    def build(self, look: Look) -> Table:
        """The reportlab table. Cells of one font and colour share one cell style (built
        here, not by style commands applied cell by cell, which is slow for big tables)."""
        size = look.size["table"]
        styles = _CellStyles(size, look.colour["text"])
        colours = {(row + 1, column): colour for row, column, colour in self.colours}
        cells, cell_styles = [], []
        for r, row in enumerate([self.header, *self.rows]):
            line, line_styles = [], []
            for c, value in enumerate(row):
                cell = look.plain(clipped(shown(value, digits=CELL_DIGITS)))
                font = look.font_for(cell, bold=r == 0)
                line.append(wrap(cell, font, size, self.widths[c] - 2 * _PADDING))
                line_styles.append(styles.get(font, colours.get((r, c))))
            cells.append(line)
            cell_styles.append(line_styles)
        commands = [
            ("GRID", (0, 0), (-1, -1), 0.3, look.colour["grid"]),
            ("BACKGROUND", (0, 0), (-1, 0), look.colour["header_fill"]),
        ]
        for row, column, colour in self.fills:
            commands.append(("BACKGROUND", (column, row + 1), (column, row + 1), colour))
        table = TextTable(
            cells, colWidths=self.widths, repeatRows=1, hAlign="LEFT", cellStyles=cell_styles
        )
        table.setStyle(TableStyle(commands))
        return table


class _CellStyles:
    """One shared reportlab cell style per font and text colour."""

    def __init__(self, size: float, colour: object) -> None:
        self.size, self.colour, self.made = size, colour, {}

    def get(self, font: str, colour: object = None) -> CellStyle:
        colour = colour or self.colour
        key = (font, id(colour))
        if key not in self.made:
            style = CellStyle(repr(key))
            style.fontname, style.fontsize, style.leading = font, self.size, self.size * 1.2
            style.color, style.valign = colour, "TOP"
            style.topPadding, style.bottomPadding = 1, 1.5
            style.leftPadding = style.rightPadding = _PADDING
            self.made[key] = style
        return self.made[key]


def write_pdf(build: Callable[[str], None], path: str | Path) -> Path:
    """Run ``build(temporary_path)`` and rename the result onto ``path``; an interrupted build
    leaves nothing behind. ``build`` writes in reportlab's invariant mode (no clock, no random
    ids: the same inputs give the same bytes) by the ``invariant=1`` argument of its document
    (:meth:`Look.document`) or canvas (:func:`write_drawing`), not reportlab's global
    ``rl_config.invariant``."""
    return write_atomically(path, lambda temporary: build(str(temporary)))


def write_story(look: Look, story: list, path: str | Path, title: str, author: str) -> Path:
    """``story`` as an A4 document of ``look`` (:meth:`Look.document`), written as
    :func:`write_pdf` writes."""
    return write_pdf(lambda temporary: look.document(temporary, title, author).build(story), path)


def write_drawing(drawing: Drawing, path: str | Path, title: str, look: Look) -> Path:
    """``drawing`` as a one-page PDF of its own size, titled ``title``, its first font the
    look's (embedded) one, written as :func:`write_pdf` writes."""

    def build(temporary: str) -> None:
        page = Canvas(
            temporary,
            pagesize=(drawing.width, drawing.height),
            initialFontName=look.font,
            invariant=1,
        )
        page.setTitle(title)
        renderPDF.draw(drawing, page, 0, 0)
        page.showPage()
        page.save()

    return write_pdf(build, path)


def section(look: Look, heading: str, content: list, empty: str = "Nothing to show.") -> list:
    """A heading kept on one page with the first item of ``content`` (or ``empty``), then the
    rest."""
    title = look.para(heading, "heading", True, look.colour["heading"])
    content = content or [look.para(empty)]
    return [Spacer(1, 8), KeepTogether([title, Spacer(1, 3), content[0]]), *content[1:]]


def worded_section(look: Look, key: str, content: list, *, group: str) -> list:
    """:func:`section` of a document worded by the template's ``group``: the heading
    ``group.sections.<key>``, and ``group.empty`` when there is no content."""
    words = look.words[group]
    return section(look, words["sections"][key], content, words["empty"])


def worded_grid(look: Look, columns: list[str], widths: list[float], *, group: str) -> Grid:
    """A :class:`Grid` headed by ``group.columns``."""
    names = look.words[group]["columns"]
    return Grid([names[column] for column in columns], widths)


def phrased(look: Look, text: object, *, group: str) -> str:
    """Text a computation wrote (parts joined by ``; ``), each part in the look's language
    where ``group.phrases`` has it."""
    phrases = look.words[group].get("phrases") or {}
    return "; ".join(str(phrases.get(part, part)) for part in str(text).split("; "))


def stacked_bars(
    items: list[tuple[str, list[tuple[float, str]], str]], look: Look, top: float = 100.0
) -> Drawing:
    """Horizontal bars of segments ``(label, [(value, colour key), ...], text)`` on a scale to
    ``top``, each bar's ``text`` written after it (e.g. the pass rate of a rule's pass, fail
    and undecided shares)."""
    chart = look.style["chart"]
    height, label_width, width = chart["bar_height"], chart["label_width"], chart["width"]
    scale = (width - label_width - 40) / top
    drawing = Drawing(width, (height + 4) * len(items) + 4)
    drawing.initialFontName = look.font
    size = look.size["table"]
    for index, (label, segments, text) in enumerate(items):
        y = drawing.height - (index + 1) * (height + 4)
        label = look.plain(clipped(label, _LABEL_CHARS))
        font = look.font_for(label)
        label = _fitted(label, font, size, label_width - 6)
        drawing.add(String(0, y + 2, label, fontName=font, fontSize=size))
        x = label_width
        for value, colour in segments:
            fill = look.colour[colour]
            drawing.add(Rect(x, y, value * scale, height, fillColor=fill, strokeColor=None))
            x += value * scale
        drawing.add(String(x + 3, y + 2, text, fontName=look.font, fontSize=size))
    return drawing


def _fitted(text: str, font: str, size: float, width: float) -> str:
    """``text`` cut (with "...") to fit ``width`` points in ``font`` at ``size``."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "...", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "..."


def bars(
    items: list[tuple[str, float, str]],
    look: Look,
    marker: float | None = None,
    shown: str = "{:.2f}",
    origin: float = 0.0,
) -> Drawing:
    """Horizontal bars ``(label, value, colour key)`` with their values written as ``shown``
    (a format such as ``"{:.0f}"``), drawn from ``origin`` (an axis need not start at 0);
    an optional vertical line at ``marker``, when the values stand in a column of their own
    at the right, so that the line never crosses them."""
    chart = look.style["chart"]
    height, label_width, width = chart["bar_height"], chart["label_width"], chart["width"]
    top = max(value for _, value, _ in items) - origin or 1.0
    scale = (width - label_width - 44) / top
    drawing = Drawing(width, (height + 4) * len(items) + 4)
    drawing.initialFontName = look.font  # the state's first font, embedded like the rest
    size = look.size["table"]
    for index, (label, value, colour) in enumerate(items):
        y = drawing.height - (index + 1) * (height + 4)
        label = look.plain(clipped(label, _LABEL_CHARS))
        drawing.add(String(0, y + 2, label, fontName=look.font_for(label), fontSize=size))
        length = max(value - origin, 0.0) * scale
        fill = look.colour[colour]
        drawing.add(Rect(label_width, y, length, height, fillColor=fill, strokeColor=None))
        at = width - 38 if marker is not None else label_width + length + 3
        drawing.add(String(at, y + 2, shown.format(value), fontName=look.font, fontSize=size))
    if marker is not None:
        x = label_width + (marker - origin) * scale
        line = Line(x, 0, x, drawing.height, strokeColor=look.colour["marker"], strokeWidth=0.5)
        drawing.add(line)
    return drawing
