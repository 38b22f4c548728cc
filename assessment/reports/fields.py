"""How the reports show a field, an indicator or a column of their tables: the unit its value
is shown in, its label and its codes in words in a language, and its Excel number format.

* :func:`unit_of`: the unit a field or indicator is shown in: ``fraction`` (shown as a
  percentage), ``year`` (a calendar year, a name ending in ``_year``: never ``2,023``), ``x``
  (a cover ratio, ``dscr...``: ``1.62x``), else the unit of the field dictionary or of the
  indicator (``CNY``, ``years``, ``MWh``, ...).
* :class:`Wording`: one language's words (``templates/report/<lang>.yaml``) with the number
  formats and value words of ``templates/report/workbook.yaml``; the labels of fields and
  indicators, codes in words, and the phrases a computation wrote (``share insufficient
  +83.0 pp``, ``inconsistent with total_investment_cny``) in the language.
* :func:`rating_grades`: the model's rating grades as whole numbers (1 best).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pandas as pd

from ..criteria.indicators import CHOICE_SETS, INDICATORS
from ..intake.dictionary import PROGRAMMES, load_dictionary
from .templates import fill, load_template

PROGRAMME_PARTS = ("status", "eligible", "score", "coverage", "grade")
_FACTOR = re.compile(r"reason_(\d+)_(feature|value|contribution)")
_PLACEHOLDER = re.compile(r"\\\{(\w+)\\\}")  # a {name} of a phrase, once escaped for a pattern
PARTS = "; "  # between the parts of a text a computation wrote


def unit_of(name: str) -> str:
    """The unit a field or indicator is shown in (see the module); "" for none."""
    if name.endswith("_year"):
        return "year"
    if name.startswith("dscr"):
        return "x"
    field = load_dictionary().fields.get(name)
    if field is not None:
        return "fraction" if field.type == "fraction" else field.unit
    return _indicators().get(name, ("", ""))[0]


def rating_grades(grades: pd.Series) -> pd.Series:
    """The model's rating grades (``rules/model/rating_grades.csv`` holds them as text) as
    whole numbers, 1 best, when every grade given is one; a lender's scale of other grades
    (``AA``) stays text. The rule-score grade (A-D) is another thing, never passed here."""
    numbers = pd.to_numeric(grades.astype(object), errors="coerce")
    whole = bool((numbers.isna() == grades.isna()).all() and (numbers.dropna() % 1 == 0).all())
    return numbers.astype("Int64") if whole else grades.astype("string")


def programme_part(name: str) -> tuple[str, str]:
    """``("green_credit", "status")`` of ``green_credit_status``; ``("", "")`` for a name that
    is not a programme's result."""
    for programme in sorted(PROGRAMMES, key=len, reverse=True):
        part = name.removeprefix(f"{programme}_")
        if part != name and part in PROGRAMME_PARTS:
            return programme, part
    return "", ""


class Wording:
    """The words of one language (``templates/report/<lang>.yaml``, its ``workbook`` part
    for the workbooks) and the number formats and value words of ``workbook.yaml``; a
    templates folder given is searched first; ``words`` already loaded (a document's
    :class:`~assessment.reports.pdf.style.Look` has them) are not read again."""

    def __init__(
        self, lang: str = "en", templates: str | Path | None = None, words: dict | None = None
    ) -> None:
        self.lang = lang
        self.words = words if words is not None else load_template(f"{lang}.yaml", templates)
        self.book = self.words["workbook"]
        self.shapes = load_template("workbook.yaml", templates)

    def word(self, group: str, key: object) -> str:
        """The word of ``key`` in the map ``group`` (dotted: ``summary.recommendations``),
        else the key."""
        return str(self._group(group).get(str(key), key))

    def column(self, key: str) -> str:
        """A column or heading word of the workbook part."""
        return str(self.book["columns"].get(key, key))

    def label(self, name: str) -> str:
        """A field, indicator or column in words: the dictionary's label, the indicator's
        (``figures``), the workbook's word; ``green_score`` as ``Green data centre: Score``
        (a programme's grade is its rule-score grade)."""
        field = load_dictionary().fields.get(name)
        if field is not None:
            return field.label(self.lang)
        for group in (self.words["figures"], self.book["columns"]):
            if name in group:
                return str(group[name])
        programme, part = programme_part(name)
        if programme:
            part = "rule_grade" if part == "grade" else part
            return f"{self.word('programmes', programme)}: {self.column(part)}"
        factor = _FACTOR.fullmatch(name)
        if factor:
            return f"{fill(self.column('factor'), rank=factor[1])}: {self.label(factor[2])}"
        return name

    def heading(self, name: str) -> str:
        """The label with the unit the number format does not show: ``Total investment
        (CNY)``."""
        unit = self.unit_word(self.unit(name))
        return f"{self.label(name)} ({unit})" if unit else self.label(name)

    def unit(self, name: str) -> str:
        """The unit ``name`` is shown in: :func:`unit_of`, else the one ``workbook.yaml``
        names for the column or the end of its name."""
        found = unit_of(name) or self.shapes["units"].get(name, "")
        for suffix, unit in self.shapes["suffixes"].items():
            found = found or (unit if name.endswith(suffix) else "")
        return found

    def unit_word(self, unit: str) -> str:
        """A unit as the Unit column shows it ("" where the number format shows it)."""
        for words in (self.book["units"], self.words["units"]):
            if unit in words:
                return str(words[unit])
        return unit

    def number_format(self, name: str = "", unit: str | None = None) -> str:
        """The Excel number format of the numbers of ``name`` (or in ``unit``)."""
        unit = self.unit(name) if unit is None else unit
        formats = self.shapes["number_formats"]
        if unit in formats:
            return str(formats[unit])
        return str(formats["count" if _whole(name) else "number"])

    def words_of(self, column: str, sheet: str = "") -> dict[str, str]:
        """The codes of ``column`` (of the sheet keyed ``sheet``) in words: the choices of a
        choice field or indicator, and the template's map ``workbook.yaml`` names for the
        column; {} for a column of free text or numbers."""
        values = self.shapes["values"]
        group = values["sheets"].get(sheet, {}).get(column) or values["columns"].get(column)
        for suffix, named in values["suffixes"].items():
            group = group or (named if column.endswith(suffix) else None)
        codes = self.words["codes"] | self.book["codes"]
        found = _choice_words(column, self.lang, tuple(codes.items()))
        return found | {str(code): str(word) for code, word in self._group(group or "").items()}

    def phrase(self, text: object, phrases: dict) -> str:
        """``text`` a computation wrote (parts joined by ``; ``), each part in the words of
        ``phrases``: its own key, else the first key with ``{placeholders}`` it matches
        (``share insufficient {shift} pp``), filled with what they matched (a ``{field}`` by
        the field's label); a part without words as it is."""
        return PARTS.join(self._phrase(part, phrases) for part in str(text).split(PARTS))

    def _phrase(self, part: str, phrases: dict) -> str:
        if part in phrases:
            return str(phrases[part])
        for key, words in phrases.items():
            found = _phrase_pattern(str(key)).fullmatch(part)
            if found and found.groupdict():
                facts = found.groupdict()
                if "field" in facts:
                    facts["field"] = self.label(facts["field"])
                return fill(str(words), **facts)
        return part

    def _group(self, group: str) -> dict:
        """The map ``group`` (dotted) of the words; {} where the template has none."""
        found = self.words
        for part in group.split("."):
            found = found.get(part) or {}
        return found


@cache
def _phrase_pattern(key: str) -> re.Pattern:
    """A phrase's key as a pattern: each ``{name}`` matches some text, the rest itself."""
    return re.compile(_PLACEHOLDER.sub(r"(?P<\1>.+?)", re.escape(key)))


@cache
def _indicators() -> dict[str, tuple[str, str]]:
    return {i.name: (i.unit, i.kind) for i in INDICATORS}


def _whole(name: str) -> bool:
    """A field or indicator of whole numbers (racks, grades, counts of years)."""
    field = load_dictionary().fields.get(name)
    if field is not None:
        return field.type == "integer"
    return _indicators().get(name, ("", ""))[1] == "integer"


@cache
def _choice_words(column: str, lang: str, codes: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """The choices of a choice field or indicator in ``lang``: the labels of its choice set,
    or for an indicator of codes of its own the template's ``codes`` and any choice label."""
    dictionary = load_dictionary()
    field = dictionary.fields.get(column)
    choice_set = field.choices if field is not None else CHOICE_SETS.get(column, ("",))[0]
    if choice_set:
        rows = dictionary.choice_rows(choice_set)
        return dict(codes) | {row["code"]: row[f"label_{lang}"] or row["code"] for row in rows}
    if _indicators().get(column, ("", ""))[1] != "choice":
        return {}
    found = {row["code"]: row[f"label_{lang}"] or row["code"] for row in dictionary.choices}
    return found | dict(codes)
