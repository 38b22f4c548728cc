"""A backtest (:mod:`assessment.workbench.backtest`) as printed lines, an Excel workbook with native
charts and a PDF in the memo's look (:mod:`assessment.reports.pdf.style`).

Workbook sheets: Summary (facts and notes), By recommendation (with a column chart of the
outcome rate), By programme, Rules (with a bar chart of the information value), AUC, Not
assessable and, with an alternative rule set, Comparison and Changed loans; with a model, the
scorecard of its PD on the history (:mod:`.scorecard_report`: Scorecard, Features, Bins, ROC,
Gains, Calibration, Points). Every backtest table has a leading ``rule_set`` column
(``current``, ``alternative``); the charts have axis titles, each bar's value and the series
colours of ``style.yaml``. The PDF holds the same tables (the rules that applied to at least
one loan) with two bar charts on titled value axes (the rate of all loans and the IV strength
bands marked) and the scorecard's sections, worded by the ``backtest`` and ``scorecard``
sections of ``templates/report/<lang>.yaml`` (the workbook and printed lines stay English); the
same backtest gives the same bytes.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pandas as pd
from reportlab.platypus import Spacer

from .._shared.excel import Table, write_workbook
from .._shared.text import shown
from ..reports.fields import Wording
from ..reports.numbers import for_people
from ..reports.pdf.flowables import (
    Grid,
    axis_bars,
    phrased,
    section,
    worded_grid,
    worded_section,
    write_story,
)
from ..reports.pdf.style import Look, fill, load_template
from .backtest import Backtest
from .backtest_history import PURPOSE_BY_KIND
from .scorecard_report import iv_limits, model_words, scorecard_sheets, scorecard_story

__all__ = ["summary_lines", "write_backtest_pdf", "write_backtest_workbook"]

RATE_COLUMNS = ("rate", "share", "difference")
SERIES_COLOURS = ("line", "line_second")  # style.yaml colours of the workbook's chart series
MAX_CHART_RULES = 30


class _ForPeople(str):
    """The value format of a chart of :func:`axis_bars` (which writes each bar's value as
    ``shown.format(value)``) whose values are percentages: each written by
    :func:`for_people`, as the tables write the same rate (``0.96%``, ``12.1%``)."""

    def format(self, *values: object, **_: object) -> str:
        return for_people(float(values[0]) / 100, "fraction")


PERCENT = _ForPeople("{:.1f}%")
_section = partial(worded_section, group="backtest")
_grid = partial(worded_grid, group="backtest")
_phrase = partial(phrased, group="backtest")


# -- printed ---------------------------------------------------------------------------------
def summary_lines(backtest: Backtest, top: int = 10) -> list[str]:
    """A readable summary: facts, outcome rates, AUCs, the strongest rules, the comparison."""
    facts = backtest.facts
    lines = [
        f"{facts['loans']:,} loans, {facts['outcomes']:,} with {facts['target']} = 1 "
        f"({for_people(facts['outcome_rate'], 'fraction')}); as of {facts['as_of']}; "
        f"model {facts['model']}",
        *(f"note: {note}" for note in note_texts(backtest)),
    ]
    for side in backtest.sides:
        lines += [
            f"[{side.name} rules: {_versions(side.versions)}]",
            "outcome rate by recommendation:",
        ]
        lines += [
            _rate_line(row.recommendation, row) for row in side.by_recommendation.itertuples()
        ]
        lines += ["AUC:"] + [_auc_line(row) for row in side.auc.itertuples()]
        lines += [f"rules by information value (top {top}):"]
        lines += [_rule_line(row) for row in side.rules.head(top).to_dict("records")]
        lines.append(f"not assessable on this history: {_ids(side.not_assessable)}")
    if backtest.alternative is not None:
        lines += ["comparison:"] + [_compare_line(row) for row in backtest.comparison.itertuples()]
    return lines + _scorecard_lines(backtest, top)


def _scorecard_lines(backtest: Backtest, top: int) -> list[str]:
    """The model PD's scorecard in brief: AUC, KS and where, the strongest features by IV."""
    card = backtest.scorecard
    if card is None:
        return []
    facts = card.facts
    lines = ["scorecard of the model PD on this history:"]
    if card.has_performance:
        lines.append(
            f"  AUC {facts['auc']:.4f}, Gini {facts['gini']:.4f}, KS {facts['ks']:.4f} at PD "
            f"{_pct(facts['ks_pd_cutoff'])} (score {facts['ks_score_cutoff']:.1f})"
        )
    features = card.features.head(top)
    lines += [
        f"  {row.feature:<26} IV {row.iv:.4f}  {row.strength}" for row in features.itertuples()
    ]
    return lines + ["  (the workbook's Scorecard, Features, Bins, ROC, Gains, Calibration, Points)"]


def _versions(versions: dict[str, str]) -> str:
    return ", ".join(f"{pack} {version}" for pack, version in sorted(versions.items()))


def _rate_line(name: str, row) -> str:
    return (
        f"  {name:<24} {row.loans:>7,} loans {row.outcomes:>6,} outcomes  {_pct(row.outcome_rate)}"
    )


def _auc_line(row) -> str:
    note = f"  ({row.note})" if row.note else ""
    auc, gini = shown(row.auc, "{:.4f}"), shown(row.gini, "{:.4f}")
    return f"  {row.score:<30} AUC {auc}  Gini {gini}{note}"


def _rule_line(row: dict) -> str:
    """``GRN-X  IV 0.1234  pass rate 60.0%  outcomes: pass 2.0% (600)  fail ...``."""
    verdicts = "  ".join(
        f"{verdict} {_pct(row[f'{verdict}_outcome_rate'])} ({row[verdict]:,})"
        for verdict in ("pass", "fail", "insufficient")
    )
    iv, rate = shown(row["iv"], "{:.4f}"), _pct(row["pass_rate"])
    return f"  {row['rule_id']:<26} IV {iv}  pass rate {rate}  outcomes: {verdicts}"


def _compare_line(row) -> str:
    return (
        f"  {row.rule_set:<12} approved {row.approved:,} ({_pct(row.approved_outcome_rate)}), "
        f"referred {row.referred:,} ({_pct(row.referred_outcome_rate)}), incomplete "
        f"{row.incomplete:,} ({_pct(row.incomplete_outcome_rate)}), declined "
        f"{row.declined:,} ({_pct(row.declined_outcome_rate)}); combined AUC "
        f"{shown(row.combined_auc, '{:.4f}')}; {row.changed:,} loans change recommendation "
        f"({_pct(row.changed_outcome_rate)} outcomes)"
    )


def _ids(table: pd.DataFrame) -> str:
    return ", ".join(table["rule_id"]) if len(table) else "none"


def _pct(value: object) -> str:
    return for_people(value, "fraction")


# -- the workbook ----------------------------------------------------------------------------
def backtest_sheets(backtest: Backtest) -> dict[str, pd.DataFrame]:
    """The workbook's tables by sheet name."""
    found = {
        "Summary": summary_table(backtest),
        "By recommendation": backtest.table("by_recommendation"),
        "By programme": backtest.table("by_programme"),
        "Rules": backtest.table("rules"),
        "AUC": backtest.table("auc"),
        "Not assessable": backtest.table("not_assessable"),
    }
    if backtest.alternative is not None:
        found["Comparison"] = backtest.comparison
        found["Changed loans"] = backtest.changed
    return found


def summary_table(backtest: Backtest) -> pd.DataFrame:
    """Facts, rule packs and notes as ``item, value`` rows of text."""
    rows = [(key.replace("_", " "), _fact(key, value)) for key, value in backtest.facts.items()]
    rows += [(f"{side.name} rules", _versions(side.versions)) for side in backtest.sides]
    rows += [("note", note) for note in note_texts(backtest)]
    return pd.DataFrame(rows, columns=["item", "value"])


def note_texts(backtest: Backtest, words: dict | None = None, wording: Wording | None = None):
    """The backtest's notes (keys) in ``words`` (a report template; English when not given,
    its ``backtest.notes``), filled with the facts and, for a financing purpose taken from
    the project kind, the columns, their labels in ``wording`` and the pairs of
    :data:`PURPOSE_BY_KIND`."""
    words = (words or load_template("en.yaml"))["backtest"]
    wording = wording or Wording("en")
    facts = {key: _fact(key, value) for key, value in backtest.facts.items()}
    columns = {"purpose": "financing_purpose", "kind": "project_kind"}
    facts |= columns | {f"{key}_label": wording.label(name) for key, name in columns.items()}
    kinds, purposes = (wording.words_of(columns[key]) for key in ("kind", "purpose"))
    pairs = [
        fill(
            words["mapping"],
            kind=kind,
            purpose=purpose,
            kind_label=kinds.get(kind, kind),
            purpose_label=purposes.get(purpose, purpose),
        )
        for kind, purpose in PURPOSE_BY_KIND.items()
    ]
    facts["mapping"] = words["separator"].join(pairs)
    return [fill(words["notes"][key], **facts) for key in backtest.notes]


def _fact(key: str, value: object) -> str:
    if key.endswith("rate"):
        return _pct(value)
    return f"{value:,}" if isinstance(value, int) else str(value)


def write_backtest_workbook(backtest: Backtest, path: str | Path) -> Path:
    """Write the workbook to ``path`` through a temporary file beside it: rates as
    percentages, a chart of outcome rates and one of information values."""
    tables = {
        title: Table(frame, formats=dict.fromkeys(_rate_columns(frame), "0.00%"))
        for title, frame in backtest_sheets(backtest).items()
    }
    if backtest.scorecard is not None:
        tables |= scorecard_sheets(backtest.scorecard)
    colours = _series_colours(Look("en"))

    def charts(book, sheets: dict) -> None:
        rates = tables["By recommendation"].frame
        sheets["By recommendation"].insert_chart("H2", rate_chart(book, rates, colours))
        if len(tables["Rules"].frame):
            sheets["Rules"].insert_chart("R2", iv_chart(book, tables["Rules"].frame, colours))

    return write_workbook(path, tables, extra=charts)


def _rate_columns(frame: pd.DataFrame) -> list:
    return [name for name in frame.columns if str(name).endswith(RATE_COLUMNS)]


def _series_colours(look: Look) -> list[str]:
    """The house style's colours of chart series (``style.yaml``), as ``#RRGGBB``."""
    return [look.style["colours"][key] for key in SERIES_COLOURS]


def rate_chart(book, frame: pd.DataFrame, colours: list[str]):
    """Columns: the outcome rate per recommendation, one series per rule set in the house
    colours, each column's rate written on it; both axes titled."""
    chart = book.add_chart({"type": "column"})
    title = "By recommendation"
    rate = list(frame.columns).index("outcome_rate")
    for index, (name, rows) in enumerate(frame.groupby("rule_set", sort=False)):
        first, last = _span(frame, rows)
        chart.add_series(
            {
                "name": f"{name} rules",
                "categories": [title, first, 1, last, 1],
                "values": [title, first, rate, last, rate],
                "fill": {"color": colours[index % len(colours)]},
                "data_labels": {"value": True, "num_format": "0.0%"},
            }
        )
    chart.set_title({"name": "Outcome rate by recommendation"})
    chart.set_x_axis({"name": "recommendation"})
    chart.set_y_axis({"num_format": "0%", "name": "outcome rate"})
    return chart


def iv_chart(book, frame: pd.DataFrame, colours: list[str]):
    """Bars: the information value of the current rules (sorted by IV; the first rules) in the
    house colour, each bar's IV written on it; both axes titled."""
    chart = book.add_chart({"type": "bar"})
    rows = frame[(frame["rule_set"] == "current") & frame["iv"].notna()].head(MAX_CHART_RULES)
    if len(rows):
        first, last = _span(frame, rows)
        column = list(frame.columns).index("iv")
        rule = list(frame.columns).index("rule_id")
        chart.add_series(
            {
                "name": "information value",
                "categories": ["Rules", first, rule, last, rule],
                "values": ["Rules", first, column, last, column],
                "fill": {"color": colours[0]},
                "data_labels": {"value": True, "num_format": "0.000"},
            }
        )
    chart.set_title({"name": "Information value per rule (current rules)"})
    chart.set_x_axis({"name": "information value (IV)"})
    chart.set_y_axis({"reverse": True, "name": "rule"})
    chart.set_legend({"none": True})
    chart.set_size({"width": 620, "height": 80 + 18 * max(len(rows), 1)})
    return chart


def _span(frame: pd.DataFrame, rows: pd.DataFrame) -> tuple[int, int]:
    """The sheet rows (0-based, after the header) of a contiguous block of ``frame``."""
    positions = frame.index.get_indexer(rows.index)
    return int(positions.min()) + 1, int(positions.max()) + 1


# -- the PDF ---------------------------------------------------------------------------------
def write_backtest_pdf(
    backtest: Backtest,
    path: str | Path,
    lang: str = "en",
    templates: str | Path | None = None,
) -> Path:
    """Write the backtest (A4) in ``lang`` to ``path`` through a temporary file beside it; the
    wording is the ``backtest`` section of ``templates/report/<lang>.yaml`` (a ``templates``
    folder is searched first)."""
    look, wording = Look(lang, templates), Wording(lang, templates)
    words = look.words["backtest"]
    story = [look.para(words["title"], "title", True, look.colour["heading"])]
    story += [look.para(line) for line in _fact_lines(look, wording, backtest)]
    for side in backtest.sides:
        story += _side_story(look, wording, side, len(backtest.sides) > 1)
    if backtest.alternative is not None:
        story += _section(look, "comparison", [_comparison(look, backtest)])
        story += _section(look, "changed", [_changes(look, backtest)])
    if backtest.scorecard is not None:
        story += scorecard_story(look, backtest.scorecard, look.words["scorecard"]["backtest"])
    return write_story(look, story, path, words["title"], words["author"])


def _fact_lines(look: Look, wording: Wording, backtest: Backtest) -> list[str]:
    """Facts, rule packs and notes (the workbook's Summary sheet) in the look's words."""
    words = look.words["backtest"]
    rows = [
        (words["facts"].get(key, key), _fact_words(look, key, value))
        for key, value in backtest.facts.items()
    ]
    rows += [
        (fill(words["rules_of"], rule_set=_rule_set(look, side.name)), _versions(side.versions))
        for side in backtest.sides
    ]
    rows += [(words["note"], note) for note in note_texts(backtest, look.words, wording)]
    return [fill(words["fact"], item=item, value=value) for item, value in rows]


def _fact_words(look: Look, key: str, value: object) -> str:
    """A fact in the look's words: the target and the model's kind as the templates' codes
    word them (``defaulted``, ``gbm``), a phrase of the backtest as its ``phrases``."""
    if key == "target":
        return look.word("codes", value)
    if key == "model":
        return model_words(look, value)
    return _phrase(look, _fact(key, value))


def _rule_set(look: Look, name: str) -> str:
    return str(look.words["backtest"]["rule_sets"].get(name, name))


def _side_story(look: Look, wording: Wording, side, named: bool) -> list:
    words = look.words["backtest"]
    sections = [
        ("by_recommendation", _recommendation_parts(look, side)),
        ("by_programme", [_programmes(look, side)]),
        ("auc", [_aucs(look, side.auc)]),
        ("rules", _rule_parts(look, side.rules)),
        ("not_assessable", [_unassessable(look, wording, side)]),
    ]
    story = []
    for key, parts in sections:
        heading = words["sections"][key]
        if named:
            heading = fill(words["side"], rule_set=_rule_set(look, side.name), heading=heading)
        story += section(look, heading, parts, words["empty"])
    return story


def _recommendation(look: Look, recommendation: str) -> str:
    if recommendation == "all":
        return look.words["backtest"]["all"]
    return look.word("recommendations", recommendation)


def _recommendation_parts(look: Look, side) -> list:
    table = side.by_recommendation
    items = [
        (
            _recommendation(look, row.recommendation),
            100 * row.outcome_rate,
            _colour(look, row.recommendation),
        )
        for row in table.itertuples()
        if row.loans and row.recommendation != "all"
    ]
    words = look.words["backtest"]
    overall = table.loc[table["recommendation"] == "all", "outcome_rate"]
    limits = [
        (100 * float(rate), fill(words["all_loans_rate"], rate=_pct(rate)))
        for rate in overall
        if rate == rate
    ]
    titles = (words["axes"]["outcome_rate"], words["axes"]["recommendation"])
    chart = []
    if items:
        drawing = axis_bars(items, look, titles=titles, limits=limits, shown=PERCENT)
        chart = [look.para(words["rate_chart"]), drawing]
    return [_rates(look, table), Spacer(1, 4), *chart]


def _rule_parts(look: Look, table: pd.DataFrame) -> list:
    rules = table[table["applicable"] > 0]
    items = [
        (r.rule_id, r.iv, "bar_project")
        for r in rules.head(MAX_CHART_RULES).itertuples()
        if r.iv == r.iv
    ]
    words = look.words["backtest"]
    titles = (words["axes"]["iv"], words["axes"]["rule"])
    chart = []
    if items:
        drawing = axis_bars(items, look, titles=titles, limits=iv_limits(look), shown="{:.3f}")
        chart = [look.para(words["iv_chart"]), drawing]
    parts = [_rules(look, rules), Spacer(1, 4), look.para(_unapplied(look, table))]
    return parts + chart


def _unapplied(look: Look, rules: pd.DataFrame) -> str:
    words = look.words["backtest"]
    idle = rules.loc[rules["applicable"] == 0, "rule_id"]
    return fill(words["unapplied"], rules=", ".join(idle) if len(idle) else words["none"])


def _colour(look: Look, recommendation: str) -> str:
    return recommendation if recommendation in look.colour else "bar_project"


def _rates(look: Look, table: pd.DataFrame):
    columns = ["recommendation", "loans", "outcomes", "outcome_rate"]
    grid = _grid(look, columns, [200, 90, 90, 90])
    for row in table.itertuples(index=False):
        counts = [f"{row.loans:,}", f"{row.outcomes:,}", _pct(row.outcome_rate)]
        grid.add([_recommendation(look, row.recommendation), *counts])
    return grid.build(look)


def _programmes(look: Look, side) -> object:
    columns = ["programme", "verdict", "loans", "outcomes", "outcome_rate"]
    grid = _grid(look, columns, [110, 100, 90, 90, 90])
    verdicts = look.words["backtest"]["programme_verdicts"]
    for row in side.by_programme.itertuples(index=False):
        names = [look.word("programmes", row.programme), verdicts.get(row.verdict, row.verdict)]
        counts = [f"{row.loans:,}", f"{row.outcomes:,}", _pct(row.outcome_rate)]
        grid.add([*names, *counts])
    return grid.build(look)


def _aucs(look: Look, table: pd.DataFrame):
    columns = ["score", "loans", "outcomes", "auc", "gini", "note"]
    grid = _grid(look, columns, [130, 50, 50, 45, 45, 191])
    for row in table.itertuples(index=False):
        auc, gini = shown(row.auc, "{:.4f}"), shown(row.gini, "{:.4f}")
        counts = [f"{row.loans:,}", f"{row.outcomes:,}"]
        grid.add([_phrase(look, row.score), *counts, auc, gini, _phrase(look, row.note)])
    return grid.build(look)


def _rules(look: Look, rules: pd.DataFrame):
    columns = ["rule", "severity", "applied", "pass_rate"]
    columns += ["pass_outcome_rate", "fail_outcome_rate", "insufficient_outcome_rate"]
    grid = _grid(look, [*columns, "difference", "iv"], [115, 40, 45, 46, 55, 55, 55, 50, 50])
    for row in rules.itertuples(index=False):
        rates = [_pct(row.pass_rate), _pct(row.pass_outcome_rate)]
        rates += [_pct(row.fail_outcome_rate), _pct(row.insufficient_outcome_rate)]
        difference, iv = shown(row.difference, "{:+.2%}"), shown(row.iv, "{:.4f}")
        severity = look.word("severities", row.severity)
        grid.add([row.rule_id, severity, f"{row.applicable:,}", *rates, difference, iv])
    return grid.build(look)


def _unassessable(look: Look, wording: Wording, side):
    """The rules the history cannot assess, each with the fields it lacks by their labels."""
    if not len(side.not_assessable):
        return look.para(look.words["backtest"]["all_assessable"])
    columns = ["rule", "programme", "severity", "missing_columns"]
    grid = _grid(look, columns, [150, 80, 60, 200])
    separator = look.words["backtest"]["separator"]
    for row in side.not_assessable.itertuples(index=False):
        names = [look.word("programmes", row.programme), look.word("severities", row.severity)]
        missing = separator.join(map(wording.label, str(row.missing_columns).split(", ")))
        grid.add([row.rule_id, *names, missing])
    return grid.build(look)


def _comparison(look: Look, backtest: Backtest):
    table = backtest.comparison.set_index("rule_set").T
    measures = look.words["backtest"]["measures"]
    header = [look.words["backtest"]["columns"]["measure"]]
    grid = Grid(header + [_rule_set(look, name) for name in table.columns], [200, 140, 140])
    for name, values in table.iterrows():
        spec = (
            "{:.1%}"
            if name.endswith("rate")
            else ("{:.4f}" if "auc" in name or "gini" in name else "{:,.0f}")
        )
        label = measures.get(name, name.replace("_", " "))
        grid.add([label, *(shown(float(v), spec) for v in values)])
    return grid.build(look)


def _changes(look: Look, backtest: Backtest):
    changed = backtest.changed
    if not len(changed):
        return look.para(look.words["backtest"]["no_changes"])
    moves = changed.groupby(["current", "alternative"], sort=True)["outcome"].agg(["size", "sum"])
    columns = ["current", "alternative", "loans", "outcomes", "outcome_rate"]
    grid = _grid(look, columns, [120, 120, 80, 80, 80])
    for (old, new), row in moves.iterrows():
        names = [_recommendation(look, old), _recommendation(look, new)]
        counts = [f"{row['size']:,}", f"{row['sum']:,}", _pct(row["sum"] / row["size"])]
        grid.add([*names, *counts])
    return grid.build(look)
