"""A scorecard (:mod:`assessment.model.scorecard`) as workbook sheets and as PDF sections.

Sheets (English, as every workbook): Scorecard (facts as numbers in their number formats, and
notes), Features (IV per feature, ranked, with its strength), Bins (per feature and bin:
loans, events, event rate, WoE, IV; the bounds in the number format of the feature's unit),
ROC, Gains, Calibration and Points (per feature and bin: mean log-odds and points, after the
base points); each feature's label beside its name. ``assess train`` writes them alone beside
the model (``MODEL.scorecard.xlsx``); ``assess backtest`` adds them to its workbook.

PDF sections, worded by the ``scorecard`` section of ``templates/report/<lang>.yaml`` and drawn
in the house style (``style.yaml``): the facts and notes, the features (by their labels) by IV
with a bar chart (the strength bands marked), the ROC, KS, gains and calibration charts (axis
titles, a marker at each decile, the diagonal of a random model or of perfect calibration, the
KS cut-off marked), the gains and calibration tables, and the bins (a category's in the
feature's words) with WoE, IV, log-odds and points.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from reportlab.platypus import KeepTogether, Spacer

from .._shared.excel import Table, write_workbook
from .._shared.text import shown
from ..model.scorecard import BASE, MISSING_BIN, Scorecard, load_strengths
from ..reports.fields import Wording
from ..reports.numbers import for_people
from ..reports.pdf.flowables import (
    Grid,
    Series,
    axis_bars,
    line_chart,
    scaled_to,
    section,
    write_story,
)
from ..reports.pdf.style import Look, fill

__all__ = [
    "iv_limits",
    "scorecard_paths",
    "write_scorecard_outputs",
    "scorecard_sheets",
    "scorecard_story",
    "write_scorecard_pdf",
    "write_scorecard_workbook",
]

PERCENT, DECIMALS = "0.00%", "0.0000"
SHEET_FORMATS = {
    "Features": {"iv": DECIMALS},
    "Bins": {
        **dict.fromkeys(("event_rate", "loan_share", "event_share", "non_event_share"), PERCENT),
        **dict.fromkeys(("woe", "iv"), DECIMALS),
    },
    "ROC": {
        "pd_cutoff": PERCENT,
        **dict.fromkeys(("fpr", "tpr", "ks"), DECIMALS),
        "score_cutoff": "0.0",
    },
    "Gains": {
        **dict.fromkeys(("event_rate", "min_pd", "max_pd", "cum_loan_share"), PERCENT),
        **dict.fromkeys(("cum_event_share", "cum_non_event_share"), PERCENT),
        **dict.fromkeys(("ks", "cum_lift"), DECIMALS),
    },
    "Calibration": dict.fromkeys(("mean_pd", "event_rate", "difference"), PERCENT),
    "Points": {
        "mean_contribution": DECIMALS,
        **dict.fromkeys(("points", "min_points", "max_points"), "0.0"),
    },
}
RATE_FACTS = (
    "event_rate",
    "tested_event_rate",
    "ks_pd_cutoff",
    "ks_loan_share",
    "ks_tpr",
    "ks_fpr",
)
MEASURE_FACTS = ("auc", "gini", "ks")
POINT_FACTS = ("ks_score_cutoff", "factor", "offset")
WHOLE, NUMBER = "#,##0", "#,##0.00"  # the format of any other fact: whole or not
FACT_FORMATS = {
    **dict.fromkeys(RATE_FACTS, PERCENT),
    **dict.fromkeys(MEASURE_FACTS, DECIMALS),
    **dict.fromkeys(POINT_FACTS, NUMBER),
}
BOUNDS = ("lower", "upper")  # the Bins sheet's bounds, in the format of the feature's unit
LABELLED = ("Features", "Bins", "Points")  # the sheets with a feature's label beside it
MAX_BIN_ROWS = 400  # the PDF's bins table; the workbook holds every bin


# -- the workbook ---------------------------------------------------------------------------------
def scorecard_sheets(card: Scorecard) -> dict[str, Table]:
    """The scorecard's sheets by name, with number formats (the bounds of a bin in its
    feature's: ``racks`` ``#,##0``, a share ``0.0%``)."""
    wording = Wording("en")
    frames = {
        "Features": card.features,
        "Bins": card.bins,
        "ROC": card.roc,
        "Gains": card.gains,
        "Calibration": card.calibration,
        "Points": card.points,
    }
    tables = {"Scorecard": fact_sheet(card)}
    for name, frame in frames.items():
        formats = dict(SHEET_FORMATS.get(name, {}))
        if name == "Bins":
            bounds = [wording.number_format(str(feature)) for feature in frame["feature"]]
            formats |= dict.fromkeys(BOUNDS, bounds)
        shown_frame = _labelled(frame, wording) if name in LABELLED else frame
        tables[name] = Table(shown_frame, formats=formats)
    return tables


def _labelled(frame: pd.DataFrame, wording: Wording) -> pd.DataFrame:
    """``frame`` with each feature's label beside its name (the base points: the words')."""
    base = wording.words["scorecard"]["base"]
    labels = [base if f == BASE else wording.label(str(f)) for f in frame["feature"]]
    found = frame.copy()
    found.insert(list(frame.columns).index("feature") + 1, "label", labels)
    return found


def fact_sheet(card: Scorecard) -> Table:
    """The Scorecard sheet: each fact in English words with its value, numbers as numbers in
    their number format (rates as percentages, AUC, Gini and KS with four decimals, counts
    whole), then the notes."""
    look = Look("en")
    words = look.words["scorecard"]["facts"]
    rows = [(words.get(key, key), value) for key, value in card.facts.items()]
    formats = [_fact_format(key, value) for key, value in card.facts.items()]
    notes = note_texts(card, look)
    rows += [(look.words["backtest"]["note"], text) for text in notes]
    frame = pd.DataFrame(rows, columns=["item", "value"])
    return Table(frame, formats={"value": [*formats, *[None] * len(notes)]})


def _fact_format(key: str, value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        return None
    return FACT_FORMATS.get(key) or (WHOLE if float(value).is_integer() else NUMBER)


def write_scorecard_workbook(card: Scorecard, path: str | Path) -> Path:
    """Write the scorecard's sheets to ``path`` (through a temporary file beside it)."""
    return write_workbook(path, scorecard_sheets(card))


def fact_table(card: Scorecard, look: Look) -> pd.DataFrame:
    """Facts and notes as ``item, value`` rows of text, worded by ``look`` (the model's
    kind too: :func:`model_words`)."""
    words = look.words["scorecard"]
    rows = [
        (words["facts"].get(key, key), _fact_words(look, key, value))
        for key, value in card.facts.items()
    ]
    rows += [(look.words["backtest"]["note"], text) for text in note_texts(card, look)]
    return pd.DataFrame(rows, columns=["item", "value"])


def _fact_words(look: Look, key: str, value: object) -> str:
    text = fact_text(key, value)
    return model_words(look, text) if key == "model" else text


def model_words(look: Look, model: object) -> str:
    """``gbm f81004dc9810`` (a model's kind and the start of its sha256) with the kind in
    the look's words (its ``codes``: 梯度提升树 f81004dc9810)."""
    kind, space, sha256 = str(model).partition(" ")
    return f"{look.word('codes', kind)}{space}{sha256}"


def fact_text(key: str, value: object) -> str:
    """A fact as people read it: rates in %, measures with four decimals, points with one."""
    if key in RATE_FACTS:
        return for_people(value, "fraction")
    if key in MEASURE_FACTS:
        return shown(value, "{:.4f}")
    if key in POINT_FACTS:
        return shown(value, "{:,.2f}")
    return shown(value)


def note_texts(card: Scorecard, look: Look) -> list[str]:
    """The scorecard's notes, then the WoE and points notes, filled with its facts."""
    words = look.words["scorecard"]["notes"]
    facts = {key: fact_text(key, value) for key, value in card.facts.items()}
    return [fill(words[key], **facts) for key in [*card.notes, "woe", "points"]]


def scorecard_paths(model_path: str | Path) -> list[Path]:
    """The workbook and the PDF of a model's scorecard: ``MODEL.scorecard.xlsx`` and
    ``MODEL.scorecard.pdf`` beside ``MODEL.skops``."""
    path = Path(model_path)
    return [path.with_suffix(f".scorecard{suffix}") for suffix in (".xlsx", ".pdf")]


def write_scorecard_outputs(
    card: Scorecard,
    model_path: str | Path,
    lang: str = "en",
    templates: str | Path | None = None,
) -> list[Path]:
    """Write the scorecard's workbook and PDF (in ``lang``) beside the model
    (:func:`scorecard_paths`)."""
    workbook, pdf = scorecard_paths(model_path)
    return [
        write_scorecard_workbook(card, workbook),
        write_scorecard_pdf(card, pdf, lang, templates),
    ]


# -- the PDF --------------------------------------------------------------------------------------
def write_scorecard_pdf(
    card: Scorecard, path: str | Path, lang: str = "en", templates: str | Path | None = None
) -> Path:
    """Write the scorecard (A4) in ``lang`` to ``path`` through a temporary file beside it."""
    look = Look(lang, templates)
    words = look.words["scorecard"]
    story = [look.para(words["title"], "title", True, look.colour["heading"])]
    story += scorecard_story(look, card)
    return write_story(look, story, path, words["title"], words["author"])


def scorecard_story(look: Look, card: Scorecard, within: str = "") -> list:
    """The scorecard's sections (module docstring), in ``look``'s words and style; each
    heading as the pattern ``within`` words it (``{heading}``: the section's own heading)
    when the scorecard is part of another document."""
    words = look.words["scorecard"]
    facts = [
        look.para(fill(words["fact"], item=item, value=value))
        for item, value in _fact_rows(card, look)
    ]
    wording = Wording(look.lang, words=look.words)
    sections = [
        ("summary", facts),
        ("features", _feature_parts(look, wording, card)),
        ("roc", _roc_parts(look, card)),
        ("ks", _ks_parts(look, card)),
        ("gains", _gains_parts(look, card)),
        ("calibration", _calibration_parts(look, card)),
        ("bins", [_bins_grid(look, wording, card)]),
    ]
    story = []
    for key, parts in sections:
        heading = words["sections"][key]
        heading = fill(within, heading=heading) if within else heading
        story += section(look, heading, parts, words["empty"])
    return story


def _fact_rows(card: Scorecard, look: Look) -> list[tuple[str, str]]:
    table = fact_table(card, look)
    return list(zip(table["item"], table["value"], strict=True))


def _grid(look: Look, columns: list[str], widths: list[float]) -> Grid:
    names = look.words["scorecard"]["columns"]
    return Grid([names[column] for column in columns], widths)


def _feature_parts(look: Look, wording: Wording, card: Scorecard) -> list:
    """The features by IV (each by its label) in a table and a bar chart."""
    words = look.words["scorecard"]
    grid = _grid(
        look, ["rank", "feature", "kind", "bins", "iv", "strength"], [30, 170, 70, 50, 70, 90]
    )
    for row in card.features.itertuples(index=False):
        kind, strength = (
            words["kinds"].get(row.kind, row.kind),
            words["strengths"].get(row.strength, row.strength),
        )
        label = wording.label(row.feature)
        grid.add([row.rank, label, kind, row.bins, shown(row.iv, "{:.4f}"), strength])
    if card.features.empty:
        return []
    items = [
        (wording.label(row.feature), float(row.iv), "bar_project")
        for row in card.features.itertuples()
    ]
    titles = (words["axes"]["iv"], words["axes"]["feature"])
    chart = axis_bars(items, look, titles=titles, limits=iv_limits(look), shown="{:.3f}")
    return [grid.build(look), Spacer(1, 6), chart, look.para(words["iv_chart_note"])]


def iv_limits(look: Look) -> list[tuple[float, str]]:
    """Where the IV strength bands begin (``rules/model/iv_strength.csv``), labelled: the
    limits of a bar chart of information values."""
    words = look.words["scorecard"]
    bands = load_strengths()
    return [
        (
            float(iv),
            fill(words["iv_limit"], strength=words["strengths"].get(name, name), iv=shown(iv)),
        )
        for name, iv in zip(bands["strength"], bands["min_iv"], strict=True)
        if iv > 0
    ]


def _percent_points(pairs) -> list[tuple[float, float]]:
    return [(100 * float(x), 100 * float(y)) for x, y in pairs]


def _line_chart(look: Look, series: list[Series], titles, **options):
    """A :func:`line_chart` scaled to the document's text column (the style's chart width)."""
    drawing = line_chart(series, look, titles=titles, **options)
    return scaled_to(drawing, look.style["chart"]["width"])


def _roc_parts(look: Look, card: Scorecard) -> list:
    if not card.has_performance:
        return []
    return [_against_random(look, card, "cum_non_event_share", ("fpr", "tpr"))]


def _against_random(look: Look, card: Scorecard, across: str, axes: tuple[str, str]):
    """The share of events captured against ``across`` (both in per cent, by decile), with
    the diagonal of a random model: the ROC and the gains chart."""
    words, gains = look.words["scorecard"], card.gains
    points = zip(gains[across], gains["cum_event_share"], strict=True)
    model = fill(words["series"]["model"], auc=shown(card.facts["auc"], "{:.3f}"))
    series = [
        Series(model, [(0.0, 0.0), *_percent_points(points)], "line"),
        Series(words["series"]["random"], [(0.0, 0.0), (100.0, 100.0)], "line_reference"),
    ]
    titles = tuple(words["axes"][axis] for axis in axes)
    return _line_chart(look, series, titles, y_range=(0.0, 100.0))


def _ks_parts(look: Look, card: Scorecard) -> list:
    if not card.has_performance:
        return []
    words, gains, facts = look.words["scorecard"], card.gains, card.facts
    at = 100 * facts["ks_loan_share"]
    flagged = [0.0, *(100 * gains["cum_loan_share"]), at]
    events = [0.0, *(100 * gains["cum_event_share"]), 100 * facts["ks_tpr"]]
    non_events = [0.0, *(100 * gains["cum_non_event_share"]), 100 * facts["ks_fpr"]]
    order = np.argsort(flagged, kind="stable")
    series = [
        Series(words["series"]["events"], [(flagged[i], events[i]) for i in order], "line"),
        Series(
            words["series"]["non_events"],
            [(flagged[i], non_events[i]) for i in order],
            "line_second",
        ),
    ]
    label = fill(
        words["ks_marker"],
        ks=shown(facts["ks"], "{:.3f}"),
        pd=for_people(facts["ks_pd_cutoff"], "fraction"),
    )
    titles = (words["axes"]["riskiest"], words["axes"]["flagged"])
    return [_line_chart(look, series, titles, y_range=(0.0, 100.0), markers=[(at, label)])]


def _gains_parts(look: Look, card: Scorecard) -> list:
    if not card.has_performance:
        return []
    chart = _against_random(look, card, "cum_loan_share", ("riskiest", "captured"))
    return [KeepTogether([chart, Spacer(1, 4), _gains_grid(look, card.gains)])]


def _gains_grid(look: Look, gains: pd.DataFrame):
    columns = ["decile", "loans", "events", "event_rate", "pd_range", "cum_loan_share"]
    grid = _grid(
        look, [*columns, "cum_event_share", "ks", "cum_lift"], [40, 50, 45, 55, 95, 65, 65, 45, 45]
    )
    for row in gains.itertuples(index=False):
        span = f"{for_people(row.min_pd, 'fraction')} - {for_people(row.max_pd, 'fraction')}"
        shares = [for_people(v, "fraction") for v in (row.cum_loan_share, row.cum_event_share)]
        measures = [shown(row.ks, "{:.3f}"), shown(row.cum_lift, "{:.2f}")]
        grid.add(
            [
                row.decile,
                f"{row.loans:,}",
                f"{row.events:,}",
                for_people(row.event_rate, "fraction"),
                span,
                *shares,
                *measures,
            ]
        )
    return grid.build(look)


def _calibration_parts(look: Look, card: Scorecard) -> list:
    table = card.calibration
    if table.empty:
        return []
    words = look.words["scorecard"]
    points = _percent_points(zip(table["mean_pd"], table["event_rate"], strict=True))
    top = max(max(max(p) for p in points), 1e-6) * 1.05
    series = [
        Series(words["series"]["deciles"], points, "line"),
        Series(words["series"]["perfect"], [(0.0, 0.0), (top, top)], "line_reference"),
    ]
    titles = (words["axes"]["mean_pd"], words["axes"]["event_rate"])
    chart = _line_chart(look, series, titles, y_range=(0.0, top))
    grid = _grid(
        look,
        ["decile", "loans", "events", "mean_pd", "event_rate", "difference"],
        [50, 70, 60, 90, 90, 90],
    )
    for row in table.itertuples(index=False):
        rates = [for_people(v, "fraction") for v in (row.mean_pd, row.event_rate)]
        grid.add(
            [
                row.decile,
                f"{row.loans:,}",
                f"{row.events:,}",
                *rates,
                shown(row.difference, "{:+.2%}"),
            ]
        )
    return [KeepTogether([chart, Spacer(1, 4), grid.build(look)])]


def _bins_grid(look: Look, wording: Wording, card: Scorecard):
    """Every bin (its feature by its label, the bin in words: :func:`_bin_words`) with its
    counts, rate, WoE and IV, and the points of the same bin."""
    words = look.words["scorecard"]
    columns = [
        "feature",
        "bin",
        "loans",
        "events",
        "event_rate",
        "woe",
        "iv",
        "mean_contribution",
        "points",
    ]
    grid = _grid(look, columns, [95, 110, 40, 40, 50, 45, 45, 45, 41])
    base = card.points[card.points["feature"] == BASE]
    for row in base.itertuples(index=False):
        logs, points = shown(row.mean_contribution, "{:.3f}"), shown(row.points, "{:.1f}")
        grid.add([words["base"], "", f"{row.loans:,}", "", "", "", "", logs, points])
    points = card.points[["feature", "bin", "mean_contribution", "points"]]
    rows = card.bins.head(MAX_BIN_ROWS).merge(points, on=["feature", "bin"], how="left")
    for row in rows.itertuples(index=False):
        counts = [f"{row.loans:,}", f"{row.events:,}", for_people(row.event_rate, "fraction")]
        evidence = [shown(row.woe, "{:+.3f}"), shown(row.iv, "{:.4f}")]
        scored = [shown(row.mean_contribution, "{:+.3f}"), shown(row.points, "{:+.1f}")]
        bin_ = _bin_words(look, wording, row)
        grid.add([wording.label(row.feature), bin_, *counts, *evidence, *scored])
    return grid.build(look)


def _bin_words(look: Look, wording: Wording, row) -> str:
    """A bin in the look's words: the blank values' bin, a number's range from its bounds
    (``scorecard.bin_range``), a category's code in the feature's words."""
    words = look.words["scorecard"]
    if row.bin == MISSING_BIN:
        return str(words["missing_bin"])
    if row.kind == "category":
        return wording.words_of(row.feature).get(row.bin, row.bin)
    if pd.notna(row.lower) and pd.notna(row.upper) and row.lower != row.upper:
        return fill(words["bin_range"], low=shown(row.lower), high=shown(row.upper))
    return str(row.bin)  # "< 40", ">= 1,053.5", "= 2": signs read alike in every language
