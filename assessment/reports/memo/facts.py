"""What a PDF memo is made from: the scoring run's shared facts (:class:`Run`) and one
project's record with helpers that put values in words and find their source cells
(:class:`Memo`).

Values are shown in the units of the field dictionary (fractions as per cent, money in the
template's unit); enumerated codes in the words of the template or the dictionary.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache

import pandas as pd
from reportlab.platypus import Spacer

from ..._shared.text import MISSING, SEPARATOR, is_missing, joined, shown
from ...criteria.indicators import INDICATORS
from ...intake.dictionary import load_dictionary
from ...pipeline import Scored
from ..numbers import DIGITS, for_people
from ..pdf.flowables import Grid
from ..pdf.style import Look

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_ROW = re.compile(r"\brow (\d+)")  # a list's row as the readers name it


class Run:
    """What the memos of one scoring run share, worked out once: rule titles and metrics,
    and each project's input problems and yearly rows."""

    def __init__(self, scored: Scored, look: Look, memos: int = 1, officer: str = "") -> None:
        self.scored, self.look, self.officer = scored, look, officer
        rules = scored.evaluation.rules.rules
        self.titles = {rule.rule_id: getattr(rule, f"title_{look.lang}") for rule in rules}
        self.metrics = {rule.rule_id: rule.metric for rule in rules}
        self._many = memos > 8
        self._groups: dict[str, dict] = {}

    def rows_of(self, name: str, project_id: str) -> pd.DataFrame:
        """The project's rows of ``applications.<name>`` (``problems`` or ``yearly``)."""
        frame = getattr(self.scored.applications, name)
        if not self._many:
            return frame[frame["project_id"].astype(str) == project_id]
        if name not in self._groups:
            self._groups[name] = frame.groupby(frame["project_id"].astype(str)).indices
        return frame.iloc[self._groups[name].get(project_id, [])]


@dataclass
class Memo:
    """One project's memo in the making: the run and the project's record."""

    run: Run
    record: dict
    read: set = field(default_factory=set, repr=False)  # the names of the project's values read

    @property
    def look(self) -> Look:
        return self.run.look

    @property
    def scored(self) -> Scored:
        return self.run.scored

    @cached_property
    def project(self) -> pd.Series:
        return self.scored.frame.loc[self.record["project_id"]]

    def value(self, name: str) -> object:
        """The project's value of ``name`` (None when it has none), read alone until the whole
        row is made: a screening words the reasons of thousands of projects, a value or two
        of each, and a row of hundreds of columns costs more than the words."""
        self.read.add(name)
        if "project" in self.__dict__:
            return self.project.get(name)
        frame = self.scored.frame
        return frame.at[self.record["project_id"], name] if name in frame.columns else None

    @cached_property
    def yearly(self) -> pd.DataFrame:
        return self.run.rows_of("yearly", str(self.record["project_id"]))

    def title(self, rule_id: str) -> str:
        return f"{rule_id}: {self.run.titles[rule_id]}"

    def unit_of(self, name: str) -> str:
        """The unit a field or indicator is shown in (``fraction`` shows as per cent; a
        calendar year, a name ending in ``_year``, as ``year``: without a thousands separator)."""
        if name.endswith("_year"):
            return "year"
        if name.startswith("dscr"):
            return "x"  # a cover ratio: 1.61x
        field = load_dictionary().fields.get(name)
        if field is not None:
            return "fraction" if field.type == "fraction" else field.unit
        return _indicator_units().get(name, "")

    def rule_unit(self, rule: dict) -> str:
        """The unit a rule's value and threshold are shown in: the rule's own, else its
        metric's (a DSCR rule shows 1.61x)."""
        return rule["unit"] or self.unit_of(self.run.metrics.get(rule["rule_id"], ""))

    def label(self, name: str) -> str:
        """A field or indicator name in words."""
        field = load_dictionary().fields.get(name)
        if field is not None:
            return field.label(self.look.lang)
        return self.look.word("figures", name)

    def shown(self, value: object, unit: str = "") -> str:
        """A value in words with its unit: fractions as per cent, money in the template unit."""
        if isinstance(value, list):
            return joined(self.shown(v, unit) for v in value)
        if is_missing(value):
            return MISSING
        if isinstance(value, bool):
            return self.look.word("yes_no", str(value).lower())
        if isinstance(value, dt.date):
            return shown(value, digits=DIGITS)
        if isinstance(value, int | float):
            return for_people(value, unit, self.look.words)
        if isinstance(value, str) and unit and _numbers(value):  # a range: "-0.05; 0.05"
            return self.shown(_numbers(value), unit)
        if isinstance(value, str):
            value = self.code(value)
        return f"{shown(value, digits=DIGITS)} {self.look.words['units'].get(unit, unit)}".strip()

    def code(self, value: object) -> str:
        """An enumerated code in words: the template's wording, else the dictionary label."""
        value = "" if value is None else str(value)
        if value in self.look.words["codes"]:
            return self.look.word("codes", value)
        return _choice_labels(self.look.lang).get(value, value)

    @cached_property
    def find_cell(self):
        """Where a field was read (``Sheet!B7``; a list's ``Sheet!row 5`` in the memo's
        words: ``候选项目!第 5 行``)."""
        find = self.scored.applications.cell_finder(self.record["project_id"])
        return lambda key: self.cell(find(key))

    def cell(self, text: str) -> str:
        """A cell address in the memo's words: a list's ``row 5`` reads ``第 5 行``."""
        row = self.look.words["words"]["row"]
        return _ROW.sub(lambda m: row.replace("{row}", m.group(1)), text)

    def source_cell(self, metric: str) -> str:
        """Where the inputs of ``metric`` were read: ``Sheet!C14``; a yearly series as the
        range of its cells; several inputs joined by ', '."""
        cells = []
        for name in inputs_of(metric):
            cell = self.find_cell(name)
            if not cell and name in _series():
                years = sorted(self.yearly.loc[self.yearly["series"] == name, "year"])
                found = [c for c in (self.find_cell(f"{name}@{y}") for y in years) if c]
                cell = f"{found[0]}…{found[-1].split('!')[-1]}" if found else ""
            if cell:
                cells.append(cell)
        return ", ".join(cells) or "-"

    def grid(self, columns: list[str], widths: list[float]) -> Grid:
        return Grid([self.look.word("columns", c) for c in columns], widths)

    def verdict(self, verdict: str) -> tuple[str, object]:
        return self.look.word("verdicts", verdict), self.look.colour[verdict]

    def rule_verdict(self, rule: dict) -> tuple[str, object]:
        """A rule's verdict in words and its colour; a pass withheld on a doubted value reads
        ``doubted``."""
        return self.verdict("doubted" if rule.get("withheld") else rule["verdict"])

    def clause(self, item: dict) -> str:
        """``SOURCE: clause`` of a rule, a reason or a condition in the memo's language: in
        Chinese its ``clause_zh``, else the English clause marked as untranslated."""
        return f"{item.get('source', '')}: {self.translated(item, 'clause')}"

    def translated(self, item: dict, key: str) -> str:
        """``item[key]`` in the memo's language: ``<key>_<lang>`` where given, else the
        English ``item[key]`` after the template's ``untranslated`` marker (blank: blank)."""
        english = str(item.get(key) or "")
        if self.look.lang == "en":
            return english
        own = str(item.get(f"{key}_{self.look.lang}") or "")
        if own or not english:
            return own
        return f"{self.look.words['words']['untranslated']}{english}"

    def operator(self, operator: str) -> str:
        """A rule's operator in words (``in`` reads 属于 in Chinese; signs as they are)."""
        return self.look.word("operators", operator)

    def publication(self, text: str) -> str:
        """Where a reference figure was published (the emission factor's ``series``) in the
        memo's language: the template's ``publications`` wording, else marked untranslated."""
        own = self.look.words["publications"].get(text, "")
        return self.translated({"text": text, f"text_{self.look.lang}": own}, "text")


def _numbers(text: str) -> list[float]:
    """The numbers of a threshold written as text (``"-0.05; 0.05"``), or [] if any part is
    not a number."""
    try:
        return [float(part) for part in text.split(SEPARATOR)]
    except ValueError:
        return []


@cache
def inputs_of(metric: str) -> tuple[str, ...]:
    """The input fields a field or indicator rests on (an indicator's formula, expanded)."""
    fields = load_dictionary().fields
    if metric in fields:
        return (metric,)
    formulas = {i.name: i.formula for i in INDICATORS}
    found: list[str] = []
    for name in _NAME.findall(formulas.get(metric, "")):
        if name != metric and (name in fields or name in formulas):
            found += [n for n in inputs_of(name) if n not in found]
    return tuple(found)


@cache
def _choice_labels(lang: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for row in load_dictionary().choices:
        labels.setdefault(row["code"], row[f"label_{lang}"] or row["code"])
    return labels


@cache
def _indicator_units() -> dict[str, str]:
    return {i.name: i.unit for i in INDICATORS}


@lru_cache(maxsize=1)
def _series() -> frozenset[str]:
    return frozenset(f.name for f in load_dictionary().fields.values() if f.type == "series")


def block(look: Look, key: str, content: list) -> list:
    """A section: its heading and content (or the word for 'none')."""
    content = content or [look.para(look.words["words"]["none"])]
    return [Spacer(1, 7), look.section(key), Spacer(1, 3), *content]
