"""The assessment memo as a PDF: the recommendation, programme verdicts, key figures, reasons
and conditions on page one, then every criterion, the model reasons, data quality, input
problems, a PUE chart and an annex of sources.

Wording and styles are data: ``templates/report/<lang>.yaml`` and ``style.yaml``. A
``templates`` folder given by the user is searched first, file by file, then the packaged one.
The same inputs give a byte-identical PDF (reportlab's invariant mode; no clock).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

import yaml
from reportlab import rl_config
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors, pagesizes
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from . import __version__
from ._resources import data_dir
from .scoring import Scored, project_records

LANGS = ("en", "zh")
CJK_FONT = "AssessCJK"
FIGURES = (
    "pue_assessed",
    "energy_mwh",
    "emissions_tco2",
    "emission_factor",
    "cue",
    "dscr_min",
    "distribution_yield_min",
)
# Glyphs that the CJK font maps but leaves blank (templates/fonts/README.md).
_WIDE = re.compile(r"[^\x00-\xff]+")
_BLANK_GLYPHS = {"℃": "°C", "℉": "°F", "Ⅴ": "V", "Ⅹ": "X"}


def write_reports(
    scored: Scored, target: str | Path, lang: str = "en", templates: str | Path | None = None
) -> list[Path]:
    """One memo per project. A single project goes to ``target``; with several, or when
    ``target`` is a folder (exists, or has no suffix), each project goes to
    ``<folder>/<project_id>.pdf`` or beside ``target`` as ``<stem>_<project_id>.pdf``."""
    target = Path(target)
    ids = [str(i) for i in scored.frame.index]
    if target.is_dir() or not target.suffix:
        target.mkdir(parents=True, exist_ok=True)
        paths = [target / f"{_safe(i)}.pdf" for i in ids]
    elif len(ids) == 1:
        paths = [target]
    else:
        paths = [target.with_name(f"{target.stem}_{_safe(i)}{target.suffix}") for i in ids]
    look = Look(lang, templates)
    records = project_records(scored)
    return [_write(scored, r, p, look) for r, p in zip(records, paths, strict=True)]


def write_report(
    scored: Scored,
    project_id: str,
    path: str | Path,
    lang: str = "en",
    templates: str | Path | None = None,
) -> Path:
    """Write the memo of ``project_id`` to ``path`` (through a temporary file)."""
    return _write(scored, _record(scored, project_id), path, Look(lang, templates))


def _write(scored: Scored, record: dict, path: str | Path, look: Look) -> Path:
    path = Path(path)
    handle, temporary = tempfile.mkstemp(suffix=".pdf", dir=path.parent)
    os.close(handle)
    saved = rl_config.invariant
    rl_config.invariant = 1
    try:
        _build(scored, record, look, temporary)
    except BaseException:
        os.unlink(temporary)
        raise
    finally:
        rl_config.invariant = saved
    os.replace(temporary, path)
    return path


def _record(scored: Scored, project_id: str) -> dict:
    if str(project_id) in set(map(str, scored.frame.index)):
        return project_records(scored, [str(project_id)])[0]
    known = ", ".join(str(i) for i in scored.frame.index)
    raise KeyError(f"project {project_id!r} is not in this scoring run; it holds {known}")


def _safe(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text)


def find_template(name: str, templates: str | Path | None = None) -> Path:
    """``name`` in the user's templates folder if it is there, else the packaged one."""
    for folder in ([Path(templates)] if templates else []) + [data_dir("templates")]:
        for candidate in (folder / "report" / name, folder / name):
            if candidate.is_file():
                return candidate
    raise FileNotFoundError(f"report template {name!r} not found in {templates or 'templates/'}")


class Look:
    """The wording (per language) and the style of a memo, with paragraph styles built."""

    def __init__(self, lang: str, templates: str | Path | None = None) -> None:
        if lang not in LANGS:
            raise ValueError(f"the 'lang' parameter must be one of {LANGS}; got {lang!r} instead")
        self.lang = lang
        self.words = _yaml(find_template(f"{lang}.yaml", templates))
        self.style = _yaml(find_template("style.yaml", templates))
        fonts = self.style["fonts"]
        _register_cjk(find_template(fonts["zh_file"], templates), fonts["zh_subfont_index"])
        if lang == "zh":
            self.font = self.bold = CJK_FONT
        else:
            self.font, self.bold = fonts["en"], fonts["en_bold"]
        self.colour = {k: colors.HexColor(v) for k, v in self.style["colours"].items()}

    def para(self, text: object, kind: str = "body", bold: bool = False, colour=None) -> Paragraph:
        return Paragraph(self.clean(text), self.paragraph_style(kind, bold, colour))

    def paragraph_style(self, kind: str, bold: bool = False, colour=None) -> ParagraphStyle:
        size = self.style["sizes"][kind]
        return ParagraphStyle(
            f"{kind}-{bold}",
            fontName=self.bold if bold else self.font,
            fontSize=size,
            leading=size * 1.25,
            textColor=colour or self.colour["text"],
            wordWrap="CJK" if self.lang == "zh" else None,
        )

    def clean(self, text: object) -> str:
        """Text for a paragraph: blank glyphs replaced, markup characters escaped, and in an
        English memo the characters beyond Latin-1 set in the CJK font."""
        text = escape(self.plain(text))
        if self.font == CJK_FONT:
            return text
        return _WIDE.sub(lambda m: f'<font name="{CJK_FONT}">{m.group(0)}</font>', text)

    def plain(self, text: object) -> str:
        """Text for a canvas or drawing string: blank glyphs replaced."""
        text = "" if text is None else str(text)
        for blank, usable in _BLANK_GLYPHS.items():
            text = text.replace(blank, usable)
        return text

    def section(self, key: str) -> Paragraph:
        return self.para(self.words["sections"][key], "heading", True, self.colour["heading"])


def _yaml(path: Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _register_cjk(path: Path, index: int) -> None:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(CJK_FONT, str(path), subfontIndex=index))


def _build(scored: Scored, record: dict, look: Look, path: str) -> None:
    margins = look.style["margins"]
    doc = SimpleDocTemplate(
        path,
        pagesize=getattr(pagesizes, look.style["page_size"]),
        leftMargin=margins["left"],
        rightMargin=margins["right"],
        topMargin=margins["top"],
        bottomMargin=margins["bottom"],
        title=f"{look.words['title']} {record['project_id']}",
        author=f"assessment {__version__}",
        invariant=1,
    )
    footer = _footer_text(scored, record, look)

    def on_page(canvas, document) -> None:
        canvas.saveState()
        canvas.setFont(look.font, look.style["sizes"]["footer"])
        canvas.setFillColor(look.colour["footer"])
        page = f"{look.words['words']['page']} {document.page}"
        low = margins["bottom"] / 2
        for offset, line in zip((9, 0), footer, strict=True):
            canvas.drawString(margins["left"], low + offset, look.plain(line))
        canvas.drawRightString(document.pagesize[0] - margins["right"], low + 9, page)
        canvas.restoreState()

    doc.build(_story(scored, record, look), onFirstPage=on_page, onLaterPages=on_page)


def _footer_text(scored: Scored, record: dict, look: Look) -> tuple[str, str]:
    """Two lines: the input, model, engine and date; then the rule packs."""
    words = look.words["words"]
    packs = ", ".join(f"{k} {v}" for k, v in sorted(scored.evaluation.rules.versions().items()))
    model = (scored.model.card.get("sha256") or "-") if scored.model is not None else "-"
    first = (
        f"{words['footer_input']} {_input_sha256(scored, record['project_id'])[:16]} | "
        f"{words['footer_model']} {model[:16]} | "
        f"{words['footer_engine']} {__version__} | {words['footer_date']} {record['as_of']}"
    )
    return first, f"{words['footer_rules']}: {packs}"


def _input_sha256(scored: Scored, project_id: str) -> str:
    source = scored.frame.loc[project_id].get("source_file")
    if not isinstance(source, str) or not Path(source).is_file():
        return "-"
    return hashlib.sha256(Path(source).read_bytes()).hexdigest()


def _story(scored: Scored, record: dict, look: Look) -> list:
    name = scored.frame.loc[record["project_id"]].get("project_name")
    words = look.words
    decision = record.get("decision") or {}
    story = [
        look.para(words["title"], "title", True, look.colour["heading"]),
        look.para(f"{words['project']}: {record['project_id']} {_text(name)}", bold=True),
        look.para(f"{words['as_of']}: {record['as_of']}"),
        Spacer(1, 8),
        _recommendation(decision, look),
        look.para(decision.get("decision_reason")),
        Spacer(1, 4),
    ]
    story += _block(look, "programmes", _programme_table(record, look))
    story += _block(look, "figures", _figure_table(record, look))
    story += _block(look, "reasons", _reason_table(decision, look, "rule"))
    story += _block(look, "conditions", _condition_list(decision, look))
    story += _block(look, "criteria", _criteria_table(scored, record, look))
    story.append(
        look.para(words["words"]["unverified_note"], "table", colour=look.colour["unverified"])
    )
    story += _block(look, "model", _reason_table(decision, look, "model"))
    story += _block(look, "quality", _quality(decision, look))
    story += _block(look, "problems", _problem_table(scored, record, look))
    story += _block(look, "chart", _pue_chart(scored, record, look))
    story += _block(look, "sources", _source_table(scored, look))
    return story


def _block(look: Look, key: str, content) -> list:
    if content is None or content == []:
        content = look.para(look.words["words"]["none"])
    items = content if isinstance(content, list) else [content]
    return [Spacer(1, 6), look.section(key), Spacer(1, 3), *items]


def _recommendation(decision: dict, look: Look) -> Paragraph:
    key = decision.get("recommendation") or "none"
    word = look.words["recommendations"].get(key, key)
    colour = look.colour.get(key, look.colour["text"])
    label = look.words["recommendation"]
    text = f"{label}: {word}"
    return look.para(text, "recommendation", True, colour)


def _table(look: Look, header: list[str], rows: list[list], widths=None, fills=None) -> Table:
    cells = [[look.para(h, "table", True) for h in header]]
    cells += [
        [c if isinstance(c, Paragraph) else look.para(_text(c), "table") for c in r] for r in rows
    ]
    table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
    commands = [
        ("GRID", (0, 0), (-1, -1), 0.3, look.colour["grid"]),
        ("BACKGROUND", (0, 0), (-1, 0), look.colour["header_fill"]),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    for row, column, colour in fills or []:
        commands.append(("BACKGROUND", (column, row + 1), (column, row + 1), colour))
    table.setStyle(TableStyle(commands))
    return table


def _text(value: object) -> str:
    """A value as short, stable text: numbers rounded, missing as '-'."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    return str(value)


def _programme_table(record: dict, look: Look) -> Table:
    words, names = look.words, look.words["programmes"]
    header = [words["columns"][c] for c in ("programme", "eligible", "score", "grade", "pd")]
    rows = []
    for key, result in record["programmes"].items():
        eligible = words["eligible"][str(result.get("eligible")).lower()]
        grade = _text(result.get("grade"))
        if result.get("rule_grade") is not None:
            grade += f" ({words['words']['rule_grade']} {result['rule_grade']})"
        pd_text = f"{result['pd']:.2%}" if result.get("pd") is not None else "-"
        rows.append([names.get(key, key), eligible, result.get("score"), grade, pd_text])
    return _table(look, header, rows, [120, 60, 50, 150, 60])


def _figure_table(record: dict, look: Look) -> Table:
    labels, indicators = look.words["figures"], record["indicators"]
    rows = []
    for key in FIGURES:
        value = indicators.get(key)
        if isinstance(value, dict):
            value = f"{_text(value.get('value'))} ({value.get('year')}, {value.get('area')})"
        rows.append([labels.get(key, key), value])
    columns = look.words["columns"]
    return _table(look, [columns["figure"], columns["value"]], rows, [180, 200])


def _reason_table(decision: dict, look: Look, kind: str) -> Table | None:
    reasons = [
        r for r in decision.get("reasons", []) if (r["kind"] == "model") == (kind == "model")
    ]
    if not reasons:
        return None
    c = look.words["columns"]
    if kind == "model":
        rows = [[r["criterion"], r["value"], f"{r['contribution']:+.3f}"] for r in reasons]
        return _table(look, [c["feature"], c["value"], c["contribution"]], rows, [150, 100, 120])
    rows = [
        [
            f"{r['criterion']}: {r.get('title', '')}",
            r.get("value"),
            f"{r.get('operator', '')} {_text(r.get('threshold'))}",
            f"{r.get('source', '')}: {r.get('clause', '')}",
        ]
        for r in reasons
    ]
    header = [c["criterion"], c["observed"], c["threshold"], c["source"]]
    return _table(look, header, rows, [150, 50, 55, 256])


def _condition_list(decision: dict, look: Look) -> list:
    remedy = "remedy_zh" if look.lang == "zh" else "remedy"
    return [
        look.para(f"{c['criterion']}: {c['text']}. {c.get(remedy) or ''} ({c.get('source', '')})")
        for c in decision.get("conditions", [])
    ]


def _criteria_table(scored: Scored, record: dict, look: Look) -> Table:
    titles = scored.evaluation.rules.table()[f"title_{look.lang}"].to_dict()
    c, verdicts = look.words["columns"], look.words["verdicts"]
    header = [c[k] for k in ("rule", "verdict", "observed", "threshold", "unit", "severity")]
    header += [c["source"], c["confidence"]]
    rows, fills = [], []
    for index, rule in enumerate(record["rules"]):
        confidence = rule["confidence"]
        marked = confidence if confidence == "verified" else f"* {confidence}"
        colour = None if confidence == "verified" else look.colour["unverified"]
        rows.append(
            [
                f"{rule['rule_id']}: {titles.get(rule['rule_id'], '')}",
                verdicts.get(rule["verdict"], rule["verdict"]),
                rule["value"],
                f"{rule['operator']} {_text(rule['threshold'])}",
                rule["unit"],
                look.words["severities"].get(rule["severity"], rule["severity"]),
                f"{rule['source']}: {rule['clause']}",
                look.para(marked, "table", colour=colour),
            ]
        )
        fills.append((index, 1, look.colour[rule["verdict"]]))
    return _table(look, header, rows, [104, 46, 40, 46, 32, 34, 130, 78], fills)


def _quality(decision: dict, look: Look) -> list:
    quality = decision.get("data_quality")
    if not quality:
        return []
    words = look.words
    lines = [words["quality"].get(quality["verdict"], quality["verdict"])]
    if quality.get("missing"):
        lines.append(f"{words['words']['missing']}: {', '.join(quality['missing'])}")
    if quality.get("assumed"):
        lines.append(f"{words['words']['assumed']}: {'; '.join(map(str, quality['assumed']))}")
    return [look.para(line) for line in lines]


def _problem_table(scored: Scored, record: dict, look: Look) -> Table | None:
    problems = scored.applications.problems
    mine = problems[problems["project_id"].astype(str) == str(record["project_id"])]
    if mine.empty:
        return None
    c = look.words["columns"]
    rows = [[f"{p.sheet}!{p.cell}", p.field, p.severity, p.message] for p in mine.itertuples()]
    header = [c["cell"], c["field"], c["severity"], c["message"]]
    return _table(look, header, rows, [70, 100, 50, 290])


def _pue_chart(scored: Scored, record: dict, look: Look) -> Drawing | None:
    """Horizontal bars: the project's PUE and each applicable PUE limit."""
    metrics = scored.evaluation.rules.table()["metric"].to_dict()
    limits = [
        (r["rule_id"], float(r["threshold"]))
        for r in record["rules"]
        if metrics.get(r["rule_id"]) == "pue_assessed"
        and r["verdict"] != "not_applicable"
        and isinstance(r["threshold"], int | float)
    ]
    pue = record["indicators"].get("pue_assessed")
    if pue is None or not limits:
        return None
    bars = [
        (look.words["figures"]["pue_assessed"], float(pue), "bar_project"),
        *((rule_id, limit, "bar_limit") for rule_id, limit in limits),
    ]
    return _bars(bars, look)


def _bars(bars: list[tuple[str, float, str]], look: Look) -> Drawing:
    chart = look.style["chart"]
    height, label_width = chart["bar_height"], 150
    width = chart["width"]
    top = max(value for _, value, _ in bars)
    scale = (width - label_width - 40) / top
    drawing = Drawing(width, (height + 4) * len(bars) + 4)
    size = look.style["sizes"]["table"]
    for index, (label, value, colour) in enumerate(bars):
        y = drawing.height - (index + 1) * (height + 4)
        drawing.add(String(0, y + 2, look.plain(label), fontName=look.font, fontSize=size))
        drawing.add(
            Rect(
                label_width,
                y,
                value * scale,
                height,
                fillColor=look.colour[colour],
                strokeColor=None,
            )
        )
        drawing.add(
            String(
                label_width + value * scale + 3,
                y + 2,
                f"{value:.2f}",
                fontName=look.font,
                fontSize=size,
            )
        )
    x = label_width + bars[0][1] * scale
    drawing.add(
        Line(x, 0, x, drawing.height, strokeColor=look.colour["unverified"], strokeWidth=0.5)
    )
    return drawing


def _source_table(scored: Scored, look: Look) -> Table:
    c = look.words["columns"]
    rows = [[k, v] for k, v in sorted(scored.evaluation.rules.versions().items())]
    if scored.model is not None:
        rows.append(["model", scored.model.card.get("sha256") or "-"])
    return _table(look, [c["pack"], c["version"]], rows, [150, 300])
