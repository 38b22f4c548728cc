"""The assessment as an Excel workbook (``assess score -o FILE.xlsx``): the decision, the
inputs, the derived indicators, every rule's verdict, the programme results, the risk model,
the input problems and the input files, in English or Chinese (``lang``).

The layout follows the number of projects:

* one project: a memo. Decision, Inputs, Indicators and Model are rows of label | value | unit
  (| source cell where known | key), grouped under bold headings, the decision first; a
  missing value reads ``-``. Programmes has one row per programme.
* several projects: tables of one row per project (Decision, Inputs, Indicators, Programmes,
  Model); a missing value is a blank cell.

Verdicts, Problems and Files are tables in both. Headers and labels are the words of the
language (the field dictionary's labels, ``templates/report/<lang>.yaml``), with the unit the
number format does not show (``Total investment (CNY)``); codes (recommendations, statuses,
verdicts, provinces) are shown in words. Every number has a number format by its unit
(:mod:`.fields`, ``templates/report/workbook.yaml``): fractions such as the PD as percentages
with one decimal, money in CNY with thousands separators, years of operation with two
decimals, cover ratios as ``1.62x``, calendar years without a separator. The credit
programme's grade is the model's rating grade, a whole number (1 best); a programme's
rule-score grade (A-D, from its rule score) has a column or row of its own, so named.

:func:`score_sheets` gives the tables as data (codes and keys); :func:`write_score_workbook`
puts them in words through :func:`assessment._shared.excel.write_workbook`: every text cell is
written as text, a value that starts with ``=``, ``+``, ``-`` or ``@`` is never a formula.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._shared.excel import Table, write_workbook
from .._shared.files import sha256_of, shown_path
from .._shared.text import MISSING, SEPARATOR, is_missing, joined, shown
from ..criteria.indicators import INDICATORS
from ..decision.decide import programmes_as_asked
from ..intake.dictionary import PROGRAMMES, load_dictionary
from ..intake.template import SECTIONS
from .fields import Wording, rating_grades

VERDICT_FILLS = {
    "pass": "C6EFCE",
    "fail": "FFC7CE",
    "insufficient": "FFEB9C",
    "not_applicable": "EDEDED",
}
# The columns of a label / value sheet, in this order (those no row fills are left out).
MEMO_COLUMNS = (
    *("item", "value", "unit", "verdict", "observed", "threshold", "contribution"),
    *("source_cell", "key", "formula"),
)


def write_score_workbook(
    scored,
    path: str | Path,
    given: list | None = None,
    lang: str = "en",
    templates: str | Path | None = None,
) -> Path:
    """Write the workbook for a scoring run (``assessment.pipeline.Scored``) to ``path`` in
    ``lang`` (words from ``templates`` first), through a temporary file so that an interrupted
    run never leaves a half-written file. With ``given`` (the inputs as named on the command
    line) input files are named relative to them, never by absolute local paths."""
    wording = Wording(lang, templates)
    sheets = {title.lower(): frame for title, frame in score_sheets(scored).items()}
    if given is not None:
        sheets = {title: _named_inputs(frame, given) for title, frame in sheets.items()}
    tables = {key: _table(frame, wording, key) for key, frame in sheets.items()}
    if len(scored.frame) == 1:
        tables |= _memo_sheets(scored, sheets, wording)
    names = wording.book["sheets"]
    return write_workbook(path, {names.get(key, key): table for key, table in tables.items()})


def _named_inputs(frame: pd.DataFrame, given: list) -> pd.DataFrame:
    """``frame`` with its ``source_file`` / ``file`` columns named as :func:`shown_path` does."""
    found = [c for c in ("source_file", "file") if c in frame.columns]
    if not found:
        return frame
    named = {
        c: frame[c].map(lambda p: shown_path(p, given) if isinstance(p, str) and p else p)
        for c in found
    }
    return frame.assign(**named)


def score_sheets(scored) -> dict[str, pd.DataFrame]:
    """The tables of the workbook as data (codes, keys and numbers), by English sheet name."""
    frame = scored.frame
    indicator_names = [i.name for i in INDICATORS if i.name in frame.columns]
    verdicts = scored.evaluation.table()
    rules = scored.evaluation.rules.table()
    verdicts.insert(3, "title", verdicts["rule_id"].map(rules["title_en"]))
    verdicts.insert(4, "title_zh", verdicts["rule_id"].map(rules["title_zh"]))
    verdicts.insert(5, "metric", verdicts["rule_id"].map(rules["metric"]))
    found = {
        "Decision": _decision_table(scored),
        "Inputs": frame.drop(columns=indicator_names).reset_index(),
        "Indicators": frame[indicator_names].reset_index(),
        "Verdicts": verdicts,
        "Programmes": programmes_as_asked(scored.evaluation).reset_index(),
    }
    if scored.predictions is not None:
        found["Model"] = scored.predictions.assign(
            grade=rating_grades(scored.predictions["grade"])
        ).reset_index()
    found["Problems"] = scored.applications.problems
    found["Files"] = _files_table(frame)
    return found


def _files_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Each input file the projects came from, with its SHA-256."""
    files = frame["source_file"].dropna().unique() if "source_file" in frame else []
    rows = [{"file": f, "sha256": sha256_of(f) if Path(f).is_file() else ""} for f in files]
    return pd.DataFrame(rows, columns=["file", "sha256"])


def _decision_table(scored) -> pd.DataFrame:
    decisions = scored.decisions
    if decisions is None:
        return pd.DataFrame()
    credit = scored.to_frame()  # the PD and rating grade where a loan is asked for
    return pd.DataFrame(
        {
            "project_id": decisions.index,
            "recommendation": decisions["recommendation"].to_numpy(),
            "why": decisions["decision_reason"].to_numpy(),
            "why_zh": decisions["decision_reason_zh"].to_numpy(),
            "green_label": [label["status"] for label in decisions["green_label"]],
            "missing_for_decision": decisions["missing_for_decision"].to_numpy(),
            "reasons": [joined(_reason_text(r) for r in rs) for rs in decisions["reasons"]],
            "reasons_zh": [
                joined(_reason_text(r, "zh") for r in rs) for rs in decisions["reasons"]
            ],
            "conditions": [joined(c["text"] for c in cs) for cs in decisions["conditions"]],
            "conditions_zh": [joined(map(_condition_zh, cs)) for cs in decisions["conditions"]],
            "data_quality": [q["verdict"] for q in decisions["data_quality"]],
            "data_quality_score": decisions["data_quality_score"].to_numpy(),
            "pd": credit["pd"].to_numpy(),
            "rating_grade": rating_grades(credit["pd_grade"]).to_numpy(),
        }
    )


def _reason_text(reason: dict, lang: str = "en") -> str:
    """``CR-DSCR-MIN: Minimum DSCR ...`` (the rule's title in ``lang``); a model factor as
    ``wale_years (+0.263)``."""
    if reason["kind"] == "model":
        return f"{reason['criterion']} ({shown(reason['contribution'], '{:+.3f}')})"
    title = (reason.get("title_zh") if lang == "zh" else None) or reason.get("title", "")
    return f"{reason['criterion']}: {title}"


def _condition_zh(condition: dict) -> str:
    """A condition in Chinese: its remedy, else its rule's title, else the English text."""
    return condition.get("remedy_zh") or condition.get("title_zh") or condition["text"]


# Tables -----------------------------------------------------------------------------------


def _table(frame: pd.DataFrame, wording: Wording, sheet: str) -> Table:
    """``frame`` as people read it: headers in words with their units, codes in words, each
    column's numbers in the format of its unit (the value columns of Verdicts, Model and
    Problems: the format of each row's metric, feature or field in its unit, as the sheets of
    that field or indicator show it)."""
    per_row = _row_formats(frame, wording, sheet)
    frame = _in_language(frame, wording, sheet)
    headers = _headers(frame.columns, wording)
    formats = {
        headers[name]: per_row[name] if name in per_row else wording.number_format(name)
        for name in frame.columns
    }
    shown_frame = pd.DataFrame(
        {headers[name]: _in_words(frame[name], name, wording, sheet) for name in frame.columns},
        columns=list(headers.values()),
    )
    fills = {}
    if "verdict" in frame.columns:
        words = wording.words_of("verdict")
        fills[headers["verdict"]] = {words.get(k, k): c for k, c in VERDICT_FILLS.items()}
    return Table(shown_frame, fills=fills, formats=formats)


def _in_language(frame: pd.DataFrame, wording: Wording, sheet: str) -> pd.DataFrame:
    """The columns of the language: a text of the other one (``title_zh`` in English, the
    English ``why`` in Chinese) left out, a Chinese text missing taken from the English one;
    the model's features by their labels; the verdicts' units in words."""
    zh = wording.lang == "zh"
    for name in ("title", "why", "clause", "reasons", "conditions"):
        if f"{name}_zh" in frame.columns:
            chinese = frame[f"{name}_zh"].where(frame[f"{name}_zh"].fillna("") != "")
            kept = chinese.fillna(frame[name]) if zh else frame[name]
            frame = frame.assign(**{name: kept}).drop(columns=f"{name}_zh")
    frame = _coded_by_row(frame, wording, sheet)
    named = ("metric", "field")  # keys shown by their labels
    features = [c for c in frame.columns if str(c).endswith("_feature") or c in named]
    frame = frame.assign(**{c: frame[c].map(wording.label, na_action="ignore") for c in features})
    for name in ("missing_features", "absent_features", "missing_for_decision"):
        if name in frame.columns:
            frame = frame.assign(**{name: [[wording.label(f) for f in n] for n in frame[name]]})
    if sheet == "verdicts":
        frame = frame.assign(unit=frame["unit"].fillna("").map(wording.unit_word))
    return frame


def _row_formats(frame: pd.DataFrame, wording: Wording, sheet: str) -> dict[str, list[str]]:
    """Columns whose numbers take the number format of their row's field: a verdict's value
    and threshold its metric's in the rule's unit (else the metric's), a model factor's
    value its feature's, a problem's value its field's; a whole-number field or indicator
    (the GB 40879 grade) as a count wherever it is shown."""
    if sheet == "verdicts":
        pairs = zip(frame["metric"].fillna(""), frame["unit"].fillna(""), strict=True)
        formats = [wording.number_format(metric, unit or None) for metric, unit in pairs]
        return {"value": formats, "threshold": formats}
    if sheet == "problems":
        return {"value": [wording.number_format(str(f)) for f in frame["field"].fillna("")]}
    return {
        f"{column[: -len('_feature')]}_value": [
            wording.number_format(str(f)) for f in frame[column].fillna("")
        ]
        for column in frame.columns
        if str(column).startswith("reason_") and str(column).endswith("_feature")
    }


# Columns whose codes are in the words of another column's field, row by row.
_CODED_BY = {
    "verdicts": {"value": "metric", "threshold": "metric"},
    "problems": {"value": "field"},
    **{"model": {f"reason_{k}_value": f"reason_{k}_feature" for k in range(1, 10)}},
}


def _coded_by_row(frame: pd.DataFrame, wording: Wording, sheet: str) -> pd.DataFrame:
    """Values whose codes are those of the field or indicator named in the same row (a
    verdict's value of ``pue_basis``, a model factor's ``project_kind``) in words."""
    found = {}
    for column, by in _CODED_BY.get(sheet, {}).items():
        if column in frame.columns and by in frame.columns:
            pairs = zip(frame[by].fillna(""), frame[column], strict=True)
            found[column] = [_coded(wording.words_of(str(name)), value) for name, value in pairs]
    return frame.assign(**found)


def _coded(words: dict[str, str], value: object) -> object:
    """A code in ``words``; each of a list, or of codes joined as a set rule's threshold is
    (``construction; retrofit; refinancing``)."""
    if isinstance(value, list):
        return [_coded(words, item) for item in value]
    if isinstance(value, str) and SEPARATOR in value:
        return joined(words.get(part, part) for part in value.split(SEPARATOR))
    return words.get(value, value) if isinstance(value, str) else value


def _headers(columns, wording: Wording) -> dict[str, str]:
    """Each column's header in words, made unique (two names of the same words keep their
    key)."""
    headers = {name: wording.heading(str(name)) for name in columns}
    seen: dict[str, int] = {}
    for header in headers.values():
        seen[header] = seen.get(header, 0) + 1
    return {n: h if seen[h] == 1 else f"{h} [{n}]" for n, h in headers.items()}


def _in_words(values: pd.Series, name: str, wording: Wording, sheet: str) -> list:
    """The values of a column with codes and booleans in words; numbers, dates and free text
    as they are."""
    words = wording.words_of(str(name), sheet)
    yes_no = wording.words["yes_no"]
    found = []
    for value in values.tolist():
        if isinstance(value, bool | np.bool_):
            value = yes_no[str(bool(value)).lower()]
        elif isinstance(value, str) and words:
            value = words.get(value, value)
        found.append(value)
    return found


# One project: label / value sheets ----------------------------------------------------------


@dataclass
class _Rows:
    """The rows of a label / value sheet in the making: headings and items, each item with
    its value, the unit's word and the number format of its numbers."""

    wording: Wording
    rows: list[dict] = field(default_factory=list)
    headings: list[int] = field(default_factory=list)
    numbers: list[str | None] = field(default_factory=list)

    def heading(self, text: str) -> None:
        self.headings.append(len(self.rows))
        self.rows.append({"item": text})
        self.numbers.append(None)

    def add(self, name: str, value: object, label: str = "", unit: str | None = None, **more):
        """An item: ``name``'s label (or ``label``) and ``value`` (codes and booleans in
        words, missing as ``-``) in the unit of ``name`` (or ``unit``); ``more``: other
        columns of :data:`MEMO_COLUMNS` (numbers in ``observed`` and ``threshold`` take the
        same unit, a ``contribution`` is in log-odds)."""
        wording = self.wording
        unit = wording.unit(name) if unit is None else unit
        row = {"item": label or wording.label(name), "value": self._shown(name, value)}
        self.rows.append(row | {"unit": wording.unit_word(unit), "key": name, **more})
        self.numbers.append(wording.number_format(name, unit))

    def _shown(self, name: str, value: object) -> object:
        if isinstance(value, list):
            return joined(value) if value else MISSING
        if is_missing(value):
            return MISSING
        return _in_words(pd.Series([value], dtype=object), name, self.wording, "")[0]

    def table(self) -> Table:
        kept = ("item", "value", "unit", "key")  # every label / value sheet has them
        rows = self.rows
        filled = [
            c for c in MEMO_COLUMNS if c in kept or any(r.get(c) not in (None, "") for r in rows)
        ]
        headers = {c: self.wording.column(c) for c in filled}
        frame = pd.DataFrame(self.rows, columns=filled).rename(columns=headers)
        formats = {
            headers[c]: self.numbers for c in ("value", "observed", "threshold") if c in headers
        }
        if "contribution" in headers:
            formats[headers["contribution"]] = self.wording.number_format(unit="log_odds")
        return Table(frame, formats=formats, headings=self.headings, wrap=[headers["value"]])


def _memo_sheets(scored, sheets: dict[str, pd.DataFrame], wording: Wording) -> dict[str, Table]:
    """The sheets of a one-project workbook that read as a memo (see the module)."""
    inputs = sheets["inputs"].iloc[0]
    found = {
        "inputs": _input_rows(scored, inputs, wording).table(),
        "indicators": _indicator_rows(sheets["indicators"].iloc[0], wording).table(),
    }
    if scored.decisions is not None:
        found["decision"] = _decision_rows(scored, sheets, wording).table()
        programmes = _programme_rows(sheets["programmes"].iloc[0], sheets["decision"].iloc[0])
        found["programmes"] = _table(programmes, wording, "programmes")
    if "model" in sheets:
        found["model"] = _model_rows(scored, sheets["model"].iloc[0], wording).table()
    return {key: found[key] for key in sheets if key in found}  # the order of the sheets


def _decision_rows(scored, sheets: dict[str, pd.DataFrame], wording: Wording) -> _Rows:
    """The decision, the credit risk, each programme's status, the reasons, the conditions."""
    row, decision = sheets["decision"].iloc[0], scored.decisions.iloc[0]
    zh, headings = wording.lang == "zh", wording.book["headings"]
    rows = _Rows(wording)
    rows.heading(headings["decision"])
    rows.add("project_id", row["project_id"])
    rows.add("project_name", scored.frame["project_name"].iloc[0])
    rows.add("as_of", scored.as_of)
    rows.add("recommendation", row["recommendation"])
    rows.add("why", row["why_zh"] if zh and row["why_zh"] else row["why"])
    for name in ("green_label", "data_quality", "data_quality_score"):
        rows.add(name, row[name])
    needed = [wording.label(name) for name in decision["missing_for_decision"]]
    rows.add("missing_for_decision", needed)
    if not is_missing(row["pd"]):
        rows.heading(headings["credit"])
        rows.add("pd", row["pd"])
        rows.add("rating_grade", row["rating_grade"])
    rows.heading(headings["programmes"])
    for programme in PROGRAMMES:
        status = sheets["programmes"].iloc[0][f"{programme}_status"]
        rows.add(f"{programme}_status", status, wording.word("programmes", programme))
    rows.heading(headings["reasons"])
    for reason in decision["reasons"]:
        _reason_row(rows, reason)
    if not decision["reasons"]:
        rows.add("reasons", "", wording.word("words", "none"), unit="")
    rows.heading(headings["conditions"])
    for condition in decision["conditions"]:
        text = _condition_zh(condition) if zh else condition["text"]
        rows.add(condition["criterion"], text, condition["criterion"], unit="")
    if not decision["conditions"]:
        rows.add("conditions", "", wording.word("words", "none"), unit="")
    return rows


def _reason_row(rows: _Rows, reason: dict) -> None:
    """A failed or undecided rule: its title, verdict, value and threshold; a model factor:
    its value and contribution."""
    wording = rows.wording
    if reason["kind"] == "model":
        label = f"{wording.column('feature')}: {wording.label(reason['criterion'])}"
        rows.add(reason["criterion"], reason["value"], label, contribution=reason["contribution"])
        return
    title = (reason.get("title_zh") if wording.lang == "zh" else None) or reason["title"]
    rows.add(
        reason["metric"],
        title,
        reason["criterion"],
        unit=reason.get("unit") or wording.unit(reason["metric"]),
        verdict=wording.words_of("verdict").get(reason["verdict"], reason["verdict"]),
        observed=reason["value"],
        threshold=reason["threshold"],
        key=reason["criterion"],
    )


def _input_rows(scored, inputs: pd.Series, wording: Wording) -> _Rows:
    """Every field of the application under its section, the yearly values, the source; each
    with the cell it was read from."""
    find = scored.applications.cell_finder(inputs["project_id"])
    rows, section = _Rows(wording), None
    for item in load_dictionary().scalar_fields():
        if item.name not in inputs.index:
            continue
        if item.section != section:
            section = item.section
            rows.heading(SECTIONS[section][wording.lang == "zh"])
        rows.add(item.name, inputs[item.name], source_cell=find(item.name))
    yearly = _yearly(scored, inputs["project_id"])
    if len(yearly):
        rows.heading(wording.book["headings"]["yearly"])
    for series, year, value in yearly.itertuples(index=False):
        key = f"{series}@{year}"
        label = f"{wording.label(series)}, {year}"
        rows.add(series, value, label, source_cell=find(key), key=key)
    rows.heading(wording.book["headings"]["source"])
    for name in ("source_file", "source_sheet", "source_row"):
        rows.add(name, inputs.get(name))
    return rows


def _yearly(scored, project_id: str) -> pd.DataFrame:
    """The project's yearly values (series, year, value), series in the dictionary's order."""
    yearly = scored.applications.yearly
    found = yearly[yearly["project_id"].astype(str) == str(project_id)]
    order = {f.name: i for i, f in enumerate(load_dictionary().series_fields())}
    found = found.assign(order=found["series"].map(order)).sort_values(["order", "year"])
    return found[["series", "year", "value"]]


def _indicator_rows(indicators: pd.Series, wording: Wording) -> _Rows:
    rows = _Rows(wording)
    rows.heading(wording.book["headings"]["indicators"])
    for indicator in INDICATORS:
        if indicator.name in indicators.index:
            value = indicators[indicator.name]
            rows.add(indicator.name, value, formula=indicator.formula)
    return rows


def _programme_rows(programmes: pd.Series, decision: pd.Series) -> pd.DataFrame:
    """One row per programme: status, eligibility, score, coverage, rule-score grade; the
    credit programme's PD and rating grade beside them."""
    rows = [
        {
            "programme": programme,
            "status": programmes[f"{programme}_status"],
            "eligible": programmes[f"{programme}_eligible"],
            "score": programmes[f"{programme}_score"],
            "coverage": programmes[f"{programme}_coverage"],
            "rule_grade": programmes[f"{programme}_grade"],
            "pd": decision["pd"] if programme == "credit" else None,
            "rating_grade": decision["rating_grade"] if programme == "credit" else None,
        }
        for programme in PROGRAMMES
    ]
    frame = pd.DataFrame(rows)
    return frame.drop(columns=["pd", "rating_grade"]) if is_missing(decision["pd"]) else frame


def _model_rows(scored, model: pd.Series, wording: Wording) -> _Rows:
    """The PD, the rating grade, the model, then each factor with its value and contribution."""
    rows = _Rows(wording)
    rows.heading(wording.book["headings"]["credit"])
    rows.add("pd", model["pd"])
    rows.add("rating_grade", model["grade"])
    kind, sha256 = scored.model.kind, str(scored.model.card.get("sha256", ""))
    rows.add("model", f"{wording.word('codes', kind)} ({sha256[:12]})", unit="")
    rows.add("pd_advisory", bool(model["pd_advisory"]))
    for name in ("missing_features", "absent_features"):
        rows.add(name, [wording.label(feature) for feature in model[name]])
    rows.heading(wording.book["headings"]["factors"])
    for rank in range(1, 1 + sum(c.endswith("_feature") for c in model.index)):
        feature = model[f"reason_{rank}_feature"]
        if isinstance(feature, str) and feature:
            contribution = model[f"reason_{rank}_contribution"]
            rows.add(feature, model[f"reason_{rank}_value"], contribution=contribution)
    return rows
