"""Threshold sweep: how one rule's pass rate and its programme's eligibility rate move as the
rule's threshold goes from A to B.

The portfolio is read and its indicators computed once; then, for each threshold, every rule
is evaluated with that one rule's threshold replaced. Thresholds are in the metric's base unit
(PUE a plain number, shares as fractions 0-1).

* pass rate, fail share and insufficient share: of the projects the rule applies to (the one
  definition, :mod:`assessment.criteria.pass_rate`);
* eligibility rate = projects of status ``eligible`` / *all* projects of the portfolio (every
  project is evaluated for every programme; a project whose status is ``insufficient`` or
  ``unverified`` counts as not eligible, and the ``undecided`` column counts them; one to which
  no gate of the programme applies, ``not_applicable``, is neither).

The table is written as CSV or xlsx; the chart as PNG and PDF, in the house style
(``templates/report/style.yaml``): the shares that pass, fail and cannot be decided stacked,
the pass rate and the eligibility rate as lines with a marker at each step, the threshold in
force as a labelled vertical line, axis titles, and the pass rate's definition under it.
"""

from __future__ import annotations

import datetime as dt
import numbers
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pypdfium2
from reportlab.graphics.shapes import Drawing

from .._shared.files import write_atomically, write_table
from .._shared.text import shown
from ..criteria.evaluate import VERDICTS, evaluate_rules
from ..criteria.indicators import add_indicators
from ..criteria.pass_rate import SHARES, asked_of, pass_rates
from ..criteria.rules import Rule, RuleSet, load_rules, nearest
from ..decision.decide import programmes_as_asked
from ..errors import AssessmentError
from ..intake.read import Applications, read_applications
from ..reports.fields import Wording
from ..reports.pdf.flowables import Series, line_chart, write_drawing
from ..reports.pdf.style import Look, fill, load_template

TABLE_COLUMNS = [
    "threshold",
    "applicable",
    "pass",
    "fail",
    "insufficient",
    *SHARES.values(),
    "eligible",
    "undecided",
    "eligible_rate",
]
UNDECIDED = ("insufficient", "unverified")  # programme statuses that await data or a person
ENGINE = "openpyxl"  # named: the temporary file's suffix does not tell pandas


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
    verdicts = pd.DataFrame({rule.rule_id: pd.Categorical.from_codes(codes, VERDICTS)})
    asked = asked_of(programmes_as_asked(evaluation), {rule.rule_id: rule.programme})
    rates = pass_rates(verdicts.set_axis(evaluation.frame.index), asked=asked).iloc[0]
    status = evaluation.programmes[f"{rule.programme}_status"].astype(object)
    eligible = int((status == "eligible").sum())
    return {
        "threshold": value,
        **{column: int(rates[column]) for column in TABLE_COLUMNS[1:5]},
        **{share: float(rates[share]) for share in SHARES.values()},
        "eligible": eligible,
        "undecided": int(status.isin(UNDECIDED).sum()),
        "eligible_rate": round(eligible / len(frame), 6) if len(frame) else float("nan"),
    }


def sweep_lines(sweep: Sweep) -> list[str]:
    """The printed table, the pass rate's definition under it."""
    rule = sweep.rule
    lines = [
        f"{rule.rule_id} ({rule.programme}, {rule.metric} {rule.operator} threshold"
        f"{' ' + rule.unit if rule.unit else ''}; as loaded: {rule.threshold})",
        f"{'threshold':>10} {'applicable':>10} {'pass rate':>10} {'fail':>7} "
        f"{'insufficient':>12} {'eligible':>9} {'undecided':>9} {'eligible rate':>14}",
    ]
    for row in sweep.table.itertuples(index=False):
        lines.append(
            f"{row.threshold:>10g} {row.applicable:>10} {row.pass_rate:>10.1%} "
            f"{row.fail_share:>7.1%} {row.insufficient_share:>12.1%} {row.eligible:>9} "
            f"{row.undecided:>9} {row.eligible_rate:>14.1%}"
        )
    return [*lines, "", load_template("en.yaml")["pass_rate"]["definition"]]


def write_sweep_table(sweep: Sweep, path: str | Path) -> Path:
    """The table as ``.csv`` or ``.xlsx`` (by the suffix of ``path``)."""
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise AssessmentError(f"cannot write {str(path)!r}", expected=".csv or .xlsx")
    return write_table(sweep.table, path, sheet="sweep")


def chart(sweep: Sweep, look: Look | None = None) -> Drawing:
    """The sweep in the house style of ``look`` (default English;
    ``templates/report/<lang>.yaml``, sections ``sweep`` and ``pass_rate``): against the
    threshold, the shares of the projects the rule applies to that pass, fail and cannot be
    decided (stacked), the pass rate and the eligibility rate (in %) with a marker at each
    step, and the threshold in force marked."""
    look = look or Look("en")
    words, table = _words(sweep, look), sweep.table.fillna(0.0)
    thresholds = table["threshold"].tolist()
    stacked = 100 * table[list(SHARES.values())].cumsum(axis=1)
    series = [
        Series(
            words["areas"][verdict],
            list(zip(thresholds, stacked[share], strict=True)),
            verdict,
            area=True,
        )
        for verdict, share in SHARES.items()
    ]
    series += [
        Series(words[key], list(zip(thresholds, 100 * table[key], strict=True)), colour)
        for key, colour in (("pass_rate", "line_pass"), ("eligible_rate", "line"))
    ]
    note = fill(words["note"], definition=look.words["pass_rate"]["definition"])
    return line_chart(
        series,
        look,
        titles=(words["x_title"], words["y_title"]),
        y_range=(0.0, 100.0),
        markers=[(float(sweep.rule.threshold), words["in_force"])],
        title=words["title"],
        note=note,
    )


def _words(sweep: Sweep, look: Look) -> dict:
    """The sweep's words in the look's language, the metric by its label (``pue_assessed``:
    "PUE assessed") and the rule's unit in the language's word."""
    rule = sweep.rule
    facts = {
        "rule_id": rule.rule_id,
        "metric": Wording(look.lang, words=look.words).label(rule.metric),
        "operator": rule.operator,
        "unit": f" ({look.word('units', rule.unit)})" if rule.unit else "",
        "threshold": shown(rule.threshold),
        "programme": look.word("programmes", rule.programme),
        "eligible_note": look.words["sweep"]["eligible_note"],
    }
    words = look.words["sweep"]
    filled = {
        key: fill(phrase, **facts) for key, phrase in words.items() if isinstance(phrase, str)
    }
    return filled | {"areas": words["areas"]}


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
