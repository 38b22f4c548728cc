"""Threshold sweep: how one rule's pass rate and its programme's eligibility rate move as the
rule's threshold goes from A to B.

The portfolio is read and its indicators computed once; then, for each threshold, every rule
is evaluated with that one rule's threshold replaced. Thresholds are in the metric's base unit
(PUE a plain number, shares as fractions 0-1).

* pass rate = pass / (pass + fail + insufficient) over the projects where the rule applies;
* eligibility rate = projects of status ``eligible`` / *all* projects of the portfolio (every
  project is evaluated for every programme; a project whose status is ``insufficient`` or
  ``unverified`` counts as not eligible, and the ``undecided`` column counts them; one to which
  no gate of the programme applies, ``not_applicable``, is neither).

The table is written as CSV or xlsx; the chart (both rates against the threshold) as PNG and
PDF, drawn with reportlab.graphics.
"""

from __future__ import annotations

import datetime as dt
import numbers
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pypdfium2
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors

from .._shared.files import write_atomically, write_table
from .._shared.text import shown
from ..criteria.evaluate import FAIL, INSUFFICIENT, PASS, evaluate_rules
from ..criteria.indicators import add_indicators
from ..criteria.rules import Rule, RuleSet, load_rules, nearest
from ..errors import AssessmentError
from ..intake.read import Applications, read_applications
from ..reports.pdf.flowables import write_drawing
from ..reports.pdf.style import Look, fill

TABLE_COLUMNS = [
    "threshold",
    "applicable",
    "passed",
    "pass_rate",
    "eligible",
    "undecided",
    "eligible_rate",
]
UNDECIDED = ("insufficient", "unverified")  # programme statuses that await data or a person
ENGINE = "openpyxl"  # named: the temporary file's suffix does not tell pandas
PASS_COLOUR = colors.HexColor("#1f4e79")
ELIGIBLE_COLOUR = colors.HexColor("#c55a11")


@dataclass
class Sweep:
    """The sweep of one rule: the rule and one table row per threshold."""

    rule: Rule
    table: pd.DataFrame


def find_rule(rule_set: RuleSet, rule_id: str) -> Rule:
    """The rule ``rule_id``; refuses unknown ids and rules without a single numeric threshold."""
    rules = {rule.rule_id: rule for rule in rule_set.rules}
    if rule_id not in rules:
        raise AssessmentError(
            f"unknown rule {rule_id!r}", hint=nearest(rule_id, list(rules)) or "see assess rules"
        )
    rule = rules[rule_id]
    if not _single_number(rule):
        raise AssessmentError(
            f"cannot sweep rule {rule_id!r}",
            expected="a rule with one numeric threshold (operator <, <=, >, >=, ==, !=)",
            got=f"operator {rule.operator!r}, threshold {_shown(rule)}",
        )
    return rule


def _single_number(rule: Rule) -> bool:
    return (
        rule.segment is None
        and rule.operator in ("<", "<=", ">", ">=", "==", "!=")
        and isinstance(rule.threshold, numbers.Real)
        and not isinstance(rule.threshold, bool)
    )


def _shown(rule: Rule) -> str:
    return "a segment table" if rule.segment is not None else shown(rule.threshold)


MAX_STEPS = 1_000  # each step scores the whole portfolio once


def thresholds(start: float, stop: float, steps: int) -> list[float]:
    """``steps`` evenly spaced thresholds from ``start`` to ``stop`` (both included)."""
    if not 2 <= steps <= MAX_STEPS:
        raise AssessmentError(
            "the number of steps is out of range",
            expected=f"--steps from 2 to {MAX_STEPS}",
            got=str(steps),
        )
    if not (np.isfinite(start) and np.isfinite(stop)):
        raise AssessmentError(
            "the threshold range is not finite",
            expected="--from and --to as finite numbers in the metric's base unit",
            got=f"{start:g} to {stop:g}",
        )
    return [round(float(value), 10) for value in np.linspace(start, stop, steps)]


def with_threshold(rule_set: RuleSet, rule_id: str, value: float) -> RuleSet:
    """A copy of ``rule_set`` in which rule ``rule_id`` has threshold ``value``."""
    packs = [
        replace(pack, rules=[_changed(rule, rule_id, value) for rule in pack.rules])
        for pack in rule_set.packs
    ]
    return RuleSet(packs)


def _changed(rule: Rule, rule_id: str, value: float) -> Rule:
    return replace(rule, threshold=value) if rule.rule_id == rule_id else rule


def sweep_rule(
    paths: list[str | Path] | Applications,
    rule_id: str,
    values: list[float],
    *,
    as_of: dt.date,
    rules: str | Path | None = None,
) -> Sweep:
    """Sweep ``rule_id`` over ``values`` on the portfolio read from ``paths`` (or already read:
    :class:`~assessment.intake.read.Applications`)."""
    rule_set = load_rules(rules)
    rule = find_rule(rule_set, rule_id)
    applications = (
        paths if isinstance(paths, Applications) else read_applications(paths, as_of=as_of)
    )
    frame = add_indicators(
        applications.projects, applications.yearly, as_of, reference_dir=rule_set.reference_dir
    )
    return sweep_frame(frame, rule_set, rule, values, as_of)


def sweep_frame(
    frame: pd.DataFrame, rule_set: RuleSet, rule: Rule, values: list[float], as_of: dt.date
) -> Sweep:
    """Sweep ``rule`` over ``values`` on projects that already have their indicators."""
    rows = [
        _row(frame, with_threshold(rule_set, rule.rule_id, value), rule, value, as_of)
        for value in values
    ]
    return Sweep(rule, pd.DataFrame(rows, columns=TABLE_COLUMNS))


def _row(frame: pd.DataFrame, rule_set: RuleSet, rule: Rule, value: float, as_of: dt.date):
    evaluation = evaluate_rules(frame, rule_set, as_of)
    codes = evaluation.results[rule.rule_id].codes
    applicable = int(np.isin(codes, (PASS, FAIL, INSUFFICIENT)).sum())
    passed = int((codes == PASS).sum())
    status = evaluation.programmes[f"{rule.programme}_status"].astype(object)
    eligible = int((status == "eligible").sum())
    undecided = int(status.isin(UNDECIDED).sum())
    return {
        "threshold": value,
        "applicable": applicable,
        "passed": passed,
        "pass_rate": _rate(passed, applicable),
        "eligible": eligible,
        "undecided": undecided,
        "eligible_rate": _rate(eligible, len(frame)),
    }


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else float("nan")


def sweep_lines(sweep: Sweep) -> list[str]:
    """The printed table."""
    rule = sweep.rule
    lines = [
        f"{rule.rule_id} ({rule.programme}, {rule.metric} {rule.operator} threshold"
        f"{' ' + rule.unit if rule.unit else ''}; as loaded: {rule.threshold})",
        f"{'threshold':>10} {'applicable':>10} {'passed':>7} {'pass rate':>10} "
        f"{'eligible':>9} {'undecided':>9} {'eligible rate':>14}",
    ]
    for row in sweep.table.itertuples(index=False):
        lines.append(
            f"{row.threshold:>10g} {row.applicable:>10} {row.passed:>7} {row.pass_rate:>10.1%} "
            f"{row.eligible:>9} {row.undecided:>9} {row.eligible_rate:>14.1%}"
        )
    return lines


def write_sweep_table(sweep: Sweep, path: str | Path) -> Path:
    """The table as ``.csv`` or ``.xlsx`` (by the suffix of ``path``)."""
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise AssessmentError(f"cannot write {str(path)!r}", expected=".csv or .xlsx")
    return write_table(sweep.table, path, sheet="sweep")


def chart(sweep: Sweep, look: Look | None = None, width: int = 520, height: int = 320) -> Drawing:
    """Pass rate and eligibility rate (in %) against the threshold, worded by ``look``
    (default English; ``templates/report/<lang>.yaml``, section ``sweep``)."""
    look = look or Look("en")
    drawing = Drawing(width, height)
    drawing.initialFontName = look.font  # the state's first font, embedded like the rest
    drawing.add(_plot(sweep, width, height, look.font))
    drawing.add(_title(sweep, look, width, height))
    drawing.add(_legend(sweep, look))
    return drawing


def _plot(sweep: Sweep, width: int, height: int, font: str) -> LinePlot:
    table = sweep.table.fillna(0.0)
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 50, 60, width - 80, height - 110
    plot.data = [
        list(zip(table["threshold"], 100 * table["pass_rate"], strict=True)),
        list(zip(table["threshold"], 100 * table["eligible_rate"], strict=True)),
    ]
    for index, colour in enumerate((PASS_COLOUR, ELIGIBLE_COLOUR)):
        plot.lines[index].strokeColor = colour
        plot.lines[index].strokeWidth = 2
    plot.yValueAxis.valueMin, plot.yValueAxis.valueMax, plot.yValueAxis.valueStep = 0, 100, 20
    for axis in (plot.xValueAxis, plot.yValueAxis):
        axis.labels.fontName, axis.labels.fontSize = font, 8
    return plot


def _words(sweep: Sweep, look: Look) -> dict[str, str]:
    rule = sweep.rule
    facts = {
        "rule_id": rule.rule_id,
        "metric": rule.metric,
        "operator": rule.operator,
        "programme": look.word("programmes", rule.programme),
    }
    return {key: fill(phrase, **facts) for key, phrase in look.words["sweep"].items()}


def _title(sweep: Sweep, look: Look, width: int, height: int) -> String:
    text = _words(sweep, look)["title"]
    font = look.font_for(text, bold=True)
    return String(width / 2, height - 25, text, fontName=font, fontSize=10, textAnchor="middle")


def _legend(sweep: Sweep, look: Look) -> Legend:
    words = _words(sweep, look)
    legend = Legend()
    legend.x, legend.y, legend.fontSize = 50, 25, 8
    legend.fontName = look.font_for(words["pass_rate"] + words["eligible_rate"])
    legend.alignment, legend.columnMaximum, legend.dx, legend.deltax = "right", 1, 10, 200
    legend.colorNamePairs = [
        (PASS_COLOUR, words["pass_rate"]),
        (ELIGIBLE_COLOUR, words["eligible_rate"]),
    ]
    return legend


def write_sweep_outputs(
    sweep: Sweep,
    prefix: str | Path,
    table_format: str = "csv",
    lang: str = "en",
    templates: str | Path | None = None,
) -> list[Path]:
    """``PREFIX.csv`` (or ``.xlsx``), ``PREFIX.png`` and ``PREFIX.pdf`` (the chart in
    ``lang``)."""
    prefix = Path(prefix)
    table = write_sweep_table(sweep, prefix.with_name(f"{prefix.name}.{table_format}"))
    look = Look(lang, templates)
    drawing = chart(sweep, look)
    png, pdf = prefix.with_name(f"{prefix.name}.png"), prefix.with_name(f"{prefix.name}.pdf")
    title = _words(sweep, look)["document"]
    write_drawing(drawing, pdf, title, look)
    image = _rasterised(pdf)
    write_atomically(png, lambda temporary: image.save(temporary, format="PNG"))
    return [table, png, pdf]


def _rasterised(pdf: Path):
    """The chart as an image, rasterised from its PDF with pypdfium2 (reportlab's own PNG
    renderer needs a backend that is not a dependency)."""
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        return document[0].render(scale=2).to_pil().copy()
    finally:
        document.close()
