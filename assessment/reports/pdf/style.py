"""The look of the engine's PDFs: wording per language, page and type styles, the fonts.

Every font is a TrueType file shipped in ``templates/fonts/`` and embedded (as a subset) in
every PDF: Liberation Sans for Latin text (the same widths as Helvetica, which a PDF viewer
would otherwise substitute), WenQuanYi Micro Hei for Chinese. The PDF standard names
``Helvetica`` and ``Helvetica-Bold`` in a user's ``style.yaml`` stand for the shipped
Liberation Sans files, so no PDF the engine writes references a font it does not carry.

Wording and styles are data: ``templates/report/<lang>.yaml`` and ``style.yaml``, read by
:mod:`assessment.reports.templates` (which needs no reportlab; its names are also here).
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors, pagesizes
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate

from ...errors import AssessmentError
from ..templates import LANGS, fill, find_template, load_template, missing_keys

__all__ = ["LANGS", "Look", "fill", "find_template", "latin_font", "load_template", "missing_keys"]

CJK_FONT = "AssessCJK"
# The PDF standard fonts are never embedded: a style naming them gets these files instead.
_STANDARD_FONTS = {
    "Helvetica": "fonts/LiberationSans-Regular.ttf",
    "Helvetica-Bold": "fonts/LiberationSans-Bold.ttf",
}
# Characters the standard PDF fonts cannot draw: set in the CJK font instead.
WIDE = re.compile(r"[^\x00-\xff]")
_WIDE_RUN = re.compile(r"[^\x00-\xff]+")
# Glyphs that the CJK font maps but leaves blank (templates/fonts/README.md).
_BLANK_GLYPHS = {"℃": "°C", "℉": "°F", "Ⅴ": "V", "Ⅹ": "X"}


class Look:
    """The wording (per language) and the style of a document, with fonts registered."""

    def __init__(self, lang: str, templates: str | Path | None = None) -> None:
        if lang not in LANGS:
            raise ValueError(f"the 'lang' parameter must be one of {LANGS}; got {lang!r} instead")
        self.lang = lang
        self.words = load_template(f"{lang}.yaml", templates)
        self.style = load_template("style.yaml", templates)
        fonts = self.style["fonts"]
        register_cjk(find_template(fonts["zh_file"], templates), fonts["zh_subfont_index"])
        if lang == "zh":
            self.font = self.bold = CJK_FONT
        else:
            self.font, self.bold = (latin_font(fonts[key], templates) for key in ("en", "en_bold"))
        self.colour = {k: colors.HexColor(v) for k, v in self.style["colours"].items()}
        self.size = self.style["sizes"]
        self._styles: dict[tuple, ParagraphStyle] = {}

    def word(self, group: str, key: object) -> str:
        """The wording of ``key`` in the ``group`` map, or the key itself."""
        return str(self.words[group].get(str(key), key))

    def font_for(self, text: str, bold: bool = False) -> str:
        """The font that can draw ``text``: the CJK font for characters beyond Latin-1."""
        if self.font == CJK_FONT or WIDE.search(text):
            return CJK_FONT
        return self.bold if bold else self.font

    def document(self, path: str, title: str, author: str) -> SimpleDocTemplate:
        """A document in this look's page size and margins, written deterministically
        (``invariant``), its pages compressed as ``compress_pages`` says."""
        margins = self.style["margins"]
        return SimpleDocTemplate(
            path,
            pagesize=getattr(pagesizes, self.style["page_size"]),
            leftMargin=margins["left"],
            rightMargin=margins["right"],
            topMargin=margins["top"],
            bottomMargin=margins["bottom"],
            title=title,
            author=author,
            invariant=1,
            pageCompression=int(bool(self.style["compress_pages"])),
            initialFontName=self.font,  # the page's first font too is an embedded one
        )

    def para(self, text: object, kind: str = "body", bold: bool = False, colour=None) -> Paragraph:
        return Paragraph(self.markup(text), self.paragraph_style(kind, bold, colour))

    def paragraph_style(self, kind: str, bold: bool = False, colour=None) -> ParagraphStyle:
        key = (kind, bold, colour)
        if key not in self._styles:
            size = self.size[kind]
            self._styles[key] = ParagraphStyle(
                f"{kind}-{bold}",
                fontName=self.bold if bold else self.font,
                fontSize=size,
                leading=size * 1.25,
                textColor=colour or self.colour["text"],
                wordWrap="CJK" if self.lang == "zh" else None,
            )
        return self._styles[key]

    def markup(self, text: object) -> str:
        """Text for a paragraph: blank glyphs replaced, markup characters escaped, and in an
        English document the characters beyond Latin-1 set in the CJK font."""
        text = escape(self.plain(text))
        if self.font == CJK_FONT:
            return text
        return _WIDE_RUN.sub(lambda m: f'<font name="{CJK_FONT}">{m.group(0)}</font>', text)

    def plain(self, text: object) -> str:
        """Text for a canvas, a drawing or a table cell: blank glyphs replaced."""
        text = "" if text is None else str(text)
        for blank, usable in _BLANK_GLYPHS.items():
            if blank in text:
                text = text.replace(blank, usable)
        return text

    def section(self, key: str) -> Paragraph:
        return self.para(self.words["sections"][key], "heading", True, self.colour["heading"])


def latin_font(name: str, templates: str | Path | None = None) -> str:
    """The registered name of the TrueType file ``name`` (relative to the templates folder;
    ``Helvetica`` and ``Helvetica-Bold`` stand for the shipped Liberation Sans)."""
    path = find_template(_STANDARD_FONTS.get(name, name), templates)
    if path.suffix.lower() != ".ttf":
        raise AssessmentError(
            "a PDF font must be a TrueType file, to be embedded",
            where=str(path),
            expected="a .ttf file in the templates folder",
            got=name,
            hint="name a .ttf file under fonts/ in style.yaml",
        )
    registered = f"Assess-{path.stem}"
    if registered not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(registered, str(path)))
    return registered


def register_cjk(path: Path, index: int) -> None:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(CJK_FONT, str(path), subfontIndex=index))
