"""Building blocks of the engine's PDFs: fast text tables and vector bar charts.

Table cells are plain strings wrapped here to their column width (one width lookup per word),
not reportlab ``Paragraph`` objects: a memo has hundreds of cells, and laying out a paragraph
per cell is what makes a report slow. Chinese text breaks between any two characters, other
text between words (a word wider than its column breaks between characters). The cells are
drawn by :class:`TextTable`, whose override of a private reportlab method lives in
:mod:`._reportlab_table`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from reportlab.graphics import renderPDF
from reportlab.graphics.shapes import (
    Circle,
    Drawing,
    Group,
    Line,
    Polygon,
    PolyLine,
    Rect,
    String,
)
from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, Spacer, Table, TableStyle
from reportlab.platypus.tables import CellStyle

from ... import __version__
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
                text = value if value.__class__ is str else shown(value, digits=CELL_DIGITS)
                cell = look.plain(clipped(text))
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


def write_story(
    look: Look, story: list, path: str | Path, title: str, author: str, footer: tuple = ()
) -> Path:
    """``story`` as an A4 document of ``look`` (:meth:`Look.document`), every page with the
    header ``title`` and the ``footer`` lines (else ``author``) and its number
    (:func:`page_frame`), written as :func:`write_pdf` writes."""
    on_page = page_frame(look, title, footer or (f"{author} {__version__}",))

    def build(temporary: str) -> None:
        look.document(temporary, title, author).build(
            story, onFirstPage=on_page, onLaterPages=on_page
        )

    return write_pdf(build, path)


def page_frame(look: Look, header: str, footer: tuple[str, ...]) -> Callable:
    """The page decoration of every A4 document: ``header`` over a thin rule in the top
    margin; up to two ``footer`` lines and the page number in the bottom margin."""
    size, page_word = look.size["footer"], look.words["words"]["page"]

    def on_page(canvas, document) -> None:
        canvas.saveState()
        canvas.setFont(look.font_for(header), size)
        canvas.setFillColor(look.colour["footer"])
        canvas.setStrokeColor(look.colour["grid"])
        left, right = document.leftMargin, document.pagesize[0] - document.rightMargin
        top = document.pagesize[1] - document.topMargin / 2
        canvas.drawString(left, top, look.plain(header))
        canvas.setLineWidth(0.3)
        canvas.line(left, top - 3, right, top - 3)
        low = document.bottomMargin / 2
        for offset, line in zip((9, 0), footer[:2], strict=False):
            canvas.setFont(look.font_for(line), size)
            canvas.drawString(left, low + offset, look.plain(line))
        canvas.setFont(look.font, size)
        canvas.drawRightString(right, low + 9, page_word.replace("{page}", str(document.page)))
        canvas.restoreState()

    return on_page


def write_drawing(drawing: Drawing, path: str | Path, title: str, look: Look) -> Path:
    """``drawing`` as a one-page PDF of its own size and a footer band under it (``title``
    and the engine), titled ``title``, its first font the look's (embedded) one, written as
    :func:`write_pdf` writes."""
    band = 2.5 * look.size["footer"]

    def build(temporary: str) -> None:
        page = Canvas(
            temporary,
            pagesize=(drawing.width, drawing.height + band),
            initialFontName=look.font,
            invariant=1,
        )
        page.setTitle(title)
        renderPDF.draw(drawing, page, 0, band)
        page.setFont(look.font_for(title), look.size["footer"])
        page.setFillColor(look.colour["footer"])
        page.drawString(4, band / 3, look.plain(f"{title} | assessment {__version__}"))
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


def tiles(look: Look, cards: list[tuple[str, str, str, object]], width: float) -> Table:
    """A row of tiles ``(label, value, note, fill)`` read at a glance: the label small, the
    value large, a note under it, each tile on its fill (None: the header fill)."""
    cells, commands = [], []
    for column, (label, value, note, fill) in enumerate(cards):
        cells.append(
            [
                look.para(label, "table", colour=look.colour["footer"]),
                look.para(value, "panel", True),
                look.para(note, "table"),
            ]
        )
        colour = fill if fill is not None else look.colour["header_fill"]
        commands.append(("BACKGROUND", (column, 0), (column, 0), colour))
    commands += [
        ("FONTNAME", (0, 0), (-1, -1), look.font),  # the cell font reportlab sets: embedded
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEAFTER", (0, 0), (-2, 0), 3, colors.white),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
    ]
    table = Table([cells], colWidths=[width / len(cards)] * len(cards), hAlign="LEFT")
    table.setStyle(TableStyle(commands))
    return table


# Charts with axes ------------------------------------------------------------------------


@dataclass
class Series:
    """One series of a :func:`line_chart`: points ``(x, y)`` in the style's colour ``colour``,
    drawn as a line with a marker at each point or, with ``area``, as a band filled from the
    area before it (the x axis for the first) up to these points: areas stack."""

    label: str
    points: list[tuple[float, float]]
    colour: str
    area: bool = False


@dataclass
class _Plot:
    """The plotting box of a chart (points) and the data ranges it shows."""

    box: tuple[float, float, float, float]  # left, bottom, right, top
    xs: tuple[float, float]
    ys: tuple[float, float]

    def at(self, x: float, y: float) -> tuple[float, float]:
        left, bottom, right, top = self.box
        x_span, y_span = (self.xs[1] - self.xs[0]) or 1.0, (self.ys[1] - self.ys[0]) or 1.0
        return (
            left + (x - self.xs[0]) / x_span * (right - left),
            bottom + (y - self.ys[0]) / y_span * (top - bottom),
        )


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) from ``low`` to
    ``high``, about ``count`` of them."""
    span = high - low
    if not math.isfinite(span) or span <= 0:
        return [low]
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [round(k * step, 10) for k in range(first, last + 1)]


def line_chart(
    series: list[Series],
    look: Look,
    *,
    titles: tuple[str, str],
    y_range: tuple[float, float] | None = None,
    markers: list[tuple[float, str]] = (),
    title: str = "",
    note: str = "",
) -> Drawing:
    """A chart of ``series`` against a value axis, sized by ``style.yaml`` ``line_chart``: the
    x and y axis titles ``titles``, ticks and grid lines, a marker at each point of a line,
    a legend, and a labelled vertical line (the style's ``marker`` colour) at each of
    ``markers`` ``(x, label)``, e.g. the threshold in force; ``note`` wrapped under it all."""
    layout, size = look.style["line_chart"], look.size["table"]
    drawing = Drawing(layout["width"], layout["height"])
    drawing.initialFontName = look.font
    top = drawing.height - 4
    if title:
        font = look.font_for(title, bold=True)
        drawing.add(
            String(
                drawing.width / 2,
                top - 10,
                look.plain(title),
                fontName=font,
                fontSize=size + 2,
                textAnchor="middle",
            )
        )
        top -= 20
    top = _legend(drawing, series, look, top)
    bottom = _note(drawing, note, look) + 2 * size + 18
    xs = [x for one in series for x, _ in one.points] + [x for x, _ in markers]
    ys = [y for one in series for _, y in one.points]
    plot = _Plot(
        (layout["left"], bottom, drawing.width - 14, top - 2 * size - 8),
        (min(xs), max(xs)) if xs else (0.0, 1.0),
        y_range or (min(0.0, *ys), max(ys) if ys else 1.0),
    )
    areas = [one for one in series if one.area]
    for index, one in enumerate(areas):  # under the grid lines
        _area(drawing, plot, one, areas[index - 1] if index else None, look)
    _axes(drawing, plot, look, titles)
    for one in series:
        if not one.area:
            _line(drawing, plot, one, look)
    _markers(drawing, plot, markers, look, plot.box[3] + 4)
    return drawing


def _legend(drawing: Drawing, series: list[Series], look: Look, top: float) -> float:
    """The legend rows from ``top`` down; returns the y under them."""
    size, x, y = look.size["table"], look.style["line_chart"]["left"], top - look.size["table"]
    for one in series:
        label = look.plain(one.label)
        font = look.font_for(label)
        wide = 16 + stringWidth(label, font, size) + 12
        if x + wide > drawing.width and x > look.style["line_chart"]["left"]:
            x, y = look.style["line_chart"]["left"], y - size - 5
        colour = look.colour[one.colour]
        if one.area:
            drawing.add(Rect(x, y - 1, 12, size, fillColor=colour, strokeColor=None))
        else:
            width = look.style["line_chart"]["line_width"]
            drawing.add(Line(x, y + 2.5, x + 12, y + 2.5, strokeColor=colour, strokeWidth=width))
            drawing.add(_dot(x + 6, y + 2.5, colour, look))
        drawing.add(String(x + 16, y, label, fontName=font, fontSize=size))
        x += wide
    return y - 4


def _note(drawing: Drawing, note: str, look: Look) -> float:
    """``note`` wrapped to the drawing's width at its foot; returns the height it takes."""
    if not note:
        return 0.0
    size = look.size["table"]
    text = look.plain(note)
    font = look.font_for(text)
    lines = wrap(text, font, size, drawing.width - 8).split("\n")
    for index, line in enumerate(reversed(lines)):
        drawing.add(String(4, 4 + index * (size + 2), line, fontName=font, fontSize=size))
    return len(lines) * (size + 2) + 4


def _axes(drawing: Drawing, plot: _Plot, look: Look, titles: tuple[str, str]) -> None:
    """Grid lines and tick labels of both axes, the axis lines and their titles."""
    size, (left, bottom, right, top) = look.size["table"], plot.box
    grid, ink = look.colour["grid"], look.colour["text"]
    for value in nice_ticks(*plot.ys):
        _, y = plot.at(plot.xs[0], value)
        drawing.add(Line(left, y, right, y, strokeColor=grid, strokeWidth=0.25))
        drawing.add(
            String(
                left - 4,
                y - size / 3,
                shown(value),
                fontName=look.font,
                fontSize=size,
                textAnchor="end",
            )
        )
    for value in nice_ticks(*plot.xs, count=8):
        _x_tick(drawing, look, plot.at(value, plot.ys[0])[0], bottom, value)
    drawing.add(Line(left, bottom, right, bottom, strokeColor=ink, strokeWidth=0.6))
    drawing.add(Line(left, bottom, left, top, strokeColor=ink, strokeWidth=0.6))
    x_title, y_title = (look.plain(title) for title in titles)
    drawing.add(
        String(
            (left + right) / 2,
            bottom - 2 * size - 10,
            x_title,
            fontName=look.font_for(x_title, bold=True),
            fontSize=size,
            textAnchor="middle",
        )
    )
    turned = Group(
        String(
            0,
            0,
            y_title,
            fontName=look.font_for(y_title, bold=True),
            fontSize=size,
            textAnchor="middle",
        ),
        transform=(0, 1, -1, 0, size + 2, (bottom + top) / 2),
    )
    drawing.add(turned)


def _area(drawing: Drawing, plot: _Plot, one: Series, under: Series | None, look: Look) -> None:
    """The band from the area ``under`` (the x axis when None) up to ``one``'s points."""
    points = [plot.at(x, y) for x, y in one.points]
    floor = under.points if under else [(x, plot.ys[0]) for x, _ in one.points]
    outline = [*points, *reversed([plot.at(x, y) for x, y in floor])]
    flat = [value for point in outline for value in point]
    drawing.add(Polygon(flat, fillColor=look.colour[one.colour], strokeColor=None))


def _line(drawing: Drawing, plot: _Plot, one: Series, look: Look) -> None:
    """``one`` as a line with a marker at each point."""
    colour, points = look.colour[one.colour], [plot.at(x, y) for x, y in one.points]
    width = look.style["line_chart"]["line_width"]
    flat = [value for point in points for value in point]
    drawing.add(PolyLine(flat, strokeColor=colour, strokeWidth=width))
    for x, y in points:
        drawing.add(_dot(x, y, colour, look))


def _dot(x: float, y: float, colour: object, look: Look) -> Circle:
    radius = look.style["line_chart"]["marker_size"] / 2
    return Circle(x, y, radius, fillColor=colour, strokeColor=colour, strokeWidth=0.5)


def _markers(
    drawing: Drawing, plot: _Plot, markers: list[tuple[float, str]], look: Look, label_y: float
) -> None:
    """A dashed vertical line at each ``(x, label)``, its label at ``label_y`` beside it (left
    of it in the right half), a label that would overprint another one line lower."""
    size, (left, bottom, right, top) = look.size["table"], plot.box
    colour, taken = look.colour["marker"], []
    for x, label in markers:
        at, _ = plot.at(x, plot.ys[0])
        drawing.add(
            Line(at, bottom, at, top + 4, strokeColor=colour, strokeWidth=1, strokeDashArray=[3, 2])
        )
        text = look.plain(label)
        font, right_half = look.font_for(text), at > (left + right) / 2
        wide = stringWidth(text, font, size)
        span = (at - 3 - wide, at - 3) if right_half else (at + 3, at + 3 + wide)
        row = 0
        while any(r == row and s[0] < span[1] + 2 and span[0] < s[1] + 2 for r, s in taken):
            row += 1
        taken.append((row, span))
        y = label_y - row * (size + 2)
        drawing.add(String(span[0], y, text, fontName=font, fontSize=size, fillColor=colour))


def axis_bars(
    items: list[tuple[str, float, str]],
    look: Look,
    *,
    titles: tuple[str, str],
    limits: list[tuple[float, str]] = (),
    shown: str = "{:.2f}",
) -> Drawing:
    """Horizontal bars ``(label, value, colour key)`` from 0 on a value axis with ticks, the
    axis title and the labels' title ``titles``, the values in a column of their own at the
    right, and a labelled dashed line (the style's ``marker`` colour) at each of ``limits``
    ``(value, label)``, e.g. the limits of the bands."""
    chart, size = look.style["chart"], look.size["table"]
    height, label_width, width = chart["bar_height"], chart["label_width"], chart["width"]
    head, foot = 2 * (size + 2) + 6, 2 * size + 14
    values = [value for _, value, _ in items] + [value for value, _ in limits]
    top_value = max(values, default=0.0) or 1.0
    plot = _Plot(
        (label_width, foot, width - 44, foot + (height + 4) * len(items)),
        (0.0, top_value * 1.05),
        (0.0, float(len(items))),
    )
    drawing = Drawing(width, plot.box[3] + head)
    drawing.initialFontName = look.font
    value_title, label_title = (look.plain(title) for title in titles)
    drawing.add(
        String(
            0,
            plot.box[3] + 4,
            _fitted(label_title, look.font_for(label_title, True), size, label_width - 6),
            fontName=look.font_for(label_title, True),
            fontSize=size,
        )
    )
    for index, (label, value, colour) in enumerate(items):
        y = plot.box[3] - (index + 1) * (height + 4)
        label = look.plain(clipped(label, _LABEL_CHARS))
        font = look.font_for(label)
        label = _fitted(label, font, size, label_width - 6)
        drawing.add(String(0, y + 2, label, fontName=font, fontSize=size))
        end, _ = plot.at(max(value, 0.0), 0)
        drawing.add(
            Rect(
                label_width,
                y,
                end - label_width,
                height,
                fillColor=look.colour[colour],
                strokeColor=None,
            )
        )
        drawing.add(
            String(width - 38, y + 2, shown.format(value), fontName=look.font, fontSize=size)
        )
    _value_axis(drawing, plot, look, value_title)
    _markers(drawing, plot, limits, look, plot.box[3] + head - size - 1)
    return drawing


def _x_tick(drawing: Drawing, look: Look, x: float, bottom: float, value: float) -> None:
    """A tick under the horizontal axis at ``x`` and its value under it."""
    ink, size = look.colour["text"], look.size["table"]
    drawing.add(Line(x, bottom, x, bottom - 3, strokeColor=ink, strokeWidth=0.5))
    label = String(x, bottom - size - 4, shown(value), fontName=look.font, fontSize=size)
    label.textAnchor = "middle"
    drawing.add(label)


def _value_axis(drawing: Drawing, plot: _Plot, look: Look, title: str) -> None:
    """The value axis of :func:`axis_bars` under the bars: line, ticks, labels and title."""
    size, (left, bottom, right, _) = look.size["table"], plot.box
    ink = look.colour["text"]
    drawing.add(Line(left, bottom, right, bottom, strokeColor=ink, strokeWidth=0.6))
    for value in nice_ticks(*plot.xs):
        _x_tick(drawing, look, plot.at(value, 0)[0], bottom, value)
    drawing.add(
        String(
            (left + right) / 2,
            bottom - 2 * size - 10,
            title,
            fontName=look.font_for(title, bold=True),
            fontSize=size,
            textAnchor="middle",
        )
    )


def scaled_to(drawing: Drawing, width: float) -> Drawing:
    """``drawing`` scaled as a whole (its text too) to ``width`` points wide when it is wider,
    e.g. a :func:`line_chart` put in a document's text column of the style's ``chart`` width."""
    if drawing.width <= width:
        return drawing
    factor = width / drawing.width
    scaled = Drawing(width, drawing.height * factor)
    scaled.initialFontName = getattr(drawing, "initialFontName", None)
    scaled.add(Group(*drawing.contents, transform=(factor, 0, 0, factor, 0, 0)))
    return scaled
