"""The field dictionary: fields, enumerated choices, units and cross-field checks, read from
``templates/application/*.csv``.

Everything the reader and the template writer know about an application lives in those four
tables; this module only loads them, validates them and answers look-ups: which field a header
or label means, which canonical code an enumerated value has, what a unit is worth.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from .._shared.resources import data_dir
from .._shared.tables import reference_rows
from ..errors import DictionaryError

PROGRAMMES = ("compliance", "green", "green_credit", "ngdc", "reit", "credit")
FIELD_TYPES = ("text", "number", "integer", "fraction", "bool", "date", "choice", "series")
_UNIT_SUFFIXES = ("_cny", "_mw", "_mwh", "_years", "_l_per_kwh", "_pflops")
_BRACKET_UNIT = re.compile(r"[(\[]([^()\[\]]*)[)\]]\s*$")
_IGNORED = re.compile(r"[\s_\-.·:/'’*]+")
_YEAR_AROUND = re.compile(r"^(?:((?:19|20)\d{2})年?)?(.*?)(?:((?:19|20)\d{2})年?)?$")


def canonical_text(text: object) -> str:
    """NFKC-normalised, stripped text: full-width letters, digits and brackets become ASCII."""
    return unicodedata.normalize("NFKC", str(text)).strip()


def split_unit(text: object) -> tuple[str, str]:
    """Split ``"IT load (kW)"`` into ``("IT load", "kW")``; no bracket gives an empty unit."""
    text = canonical_text(text)
    match = _BRACKET_UNIT.search(text)
    if not match or match.start() == 0:
        return text, ""
    return text[: match.start()].strip(), match.group(1).strip()


def match_key(text: object) -> str:
    """The comparison key of a label: case, spaces, punctuation and a bracketed unit ignored."""
    stem, _ = split_unit(text)
    return _IGNORED.sub("", stem.casefold())


@dataclass(frozen=True)
class Field:
    """One row of ``fields.csv``."""

    name: str
    section: str
    type: str
    unit: str
    min: float | None
    max: float | None
    plausible_min: float | None
    plausible_max: float | None
    choices: str
    label_en: str
    label_zh: str
    aliases: tuple[str, ...]
    help_en: str
    help_zh: str
    programmes: tuple[str, ...]
    required: bool
    not_needed_for: tuple[str, ...] = ()

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en

    def help(self, lang: str) -> str:
        return self.help_zh if lang == "zh" else self.help_en


@dataclass(frozen=True)
class Unit:
    """One unit spelling: its dimension (the base unit) and its factor to the base unit."""

    dimension: str
    name: str
    factor: Fraction
    needs_fx: bool


@dataclass(frozen=True)
class Header:
    """What a column header or a row label means: a field, a year for a series, a unit."""

    field: str
    year: int | None
    unit: str


def _table_rows(path: Path) -> list[dict[str, str]]:
    """A dictionary table's rows, every cell as stripped text (the one table reader)."""
    return reference_rows(path)


def _float_or_none(text: str, where: str) -> float | None:
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise DictionaryError(
            "not a number", where=where, expected="a number or blank", got=repr(text)
        ) from None


def _split_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(";") if part.strip())


def _field(row: dict[str, str], where: str) -> Field:
    if row["type"] not in FIELD_TYPES:
        raise DictionaryError(
            "unknown field type",
            where=where,
            expected=", ".join(FIELD_TYPES),
            got=repr(row["type"]),
        )
    programmes = _split_list(row["programmes"])
    for programme in programmes:
        if programme not in PROGRAMMES:
            raise DictionaryError(
                "unknown programme",
                where=where,
                expected=", ".join(PROGRAMMES),
                got=repr(programme),
            )
    numbers = {
        k: _float_or_none(row[k], f"{where}, column {k}")
        for k in ("min", "max", "plausible_min", "plausible_max")
    }
    return Field(
        name=row["name"],
        section=row["section"],
        type=row["type"],
        unit=row["unit"],
        choices=row["choices"],
        label_en=row["label_en"],
        label_zh=row["label_zh"],
        aliases=_split_list(row["aliases"]),
        help_en=row["help_en"],
        help_zh=row["help_zh"],
        programmes=programmes,
        not_needed_for=_split_list(row.get("not_needed_for", "")),
        required=row["required"].strip().lower() == "yes",
        **numbers,
    )


class Dictionary:
    """The loaded field dictionary with its look-up indexes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.fields = self._load_fields(folder / "fields.csv")
        self.choices = _table_rows(folder / "choices.csv")
        self.checks = _table_rows(folder / "checks.csv")
        self.units = self._load_units(folder / "units.csv")
        self._labels = self._label_index()
        self._choice_index = self._choices_by_key()
        self._header_cache: dict[str, Header | None] = {}
        self._choice_maps: dict[tuple[str, str], dict[str, str]] = {}
        self._validate_references()

    # -- loading -------------------------------------------------------------------------
    @staticmethod
    def _load_fields(path: Path) -> dict[str, Field]:
        fields: dict[str, Field] = {}
        for number, row in enumerate(_table_rows(path), start=2):
            field = _field(row, f"{path.name}, row {number}")
            if field.name in fields:
                raise DictionaryError(
                    "duplicate field name", where=f"{path.name}, row {number}", got=field.name
                )
            fields[field.name] = field
        return fields

    @staticmethod
    def _load_units(path: Path) -> dict[str, Unit]:
        units: dict[str, Unit] = {}
        for number, row in enumerate(_table_rows(path), start=2):
            unit = Unit(
                row["dimension"],
                row["unit"],
                Fraction(row["factor"]),
                row["needs_fx"].strip().lower() == "yes",
            )
            for spelling in (row["unit"], *_split_list(row["aliases"])):
                key = unit_key(spelling)
                known = units.get(key)
                if known and known != unit:
                    raise DictionaryError(
                        "unit spelling used twice",
                        where=f"{path.name}, row {number}",
                        got=f"{spelling!r} (also {known.name})",
                    )
                units[key] = unit
        return units

    def _label_index(self) -> dict[str, str]:
        index: dict[str, str] = {}
        for field in self.fields.values():
            for label in self._spellings(field):
                key = match_key(label)
                if index.get(key, field.name) != field.name:
                    raise DictionaryError(
                        "label or alias used by two fields",
                        where="fields.csv",
                        got=f"{label!r} ({index[key]} and {field.name})",
                        hint="make the alias specific to one field",
                    )
                index[key] = field.name
        return index

    @staticmethod
    def _spellings(field: Field) -> tuple[str, ...]:
        stems = [field.name[: -len(s)] for s in _UNIT_SUFFIXES if field.name.endswith(s)]
        return (field.name, *stems, field.label_en, field.label_zh, *field.aliases)

    def _choices_by_key(self) -> dict[str, dict[str, str]]:
        index: dict[str, dict[str, str]] = {}
        for row in self.choices:
            keys = index.setdefault(row["set"], {})
            for spelling in (
                row["code"],
                row["label_en"],
                row["label_zh"],
                *_split_list(row["aliases"]),
            ):
                keys[match_key(spelling)] = row["code"]
        return index

    def _validate_references(self) -> None:
        kinds = {row["code"] for row in self.choices if row["set"] == "project_kind"}
        for field in self.fields.values():
            for kind in field.not_needed_for:
                if kind not in kinds:
                    raise DictionaryError(
                        "unknown project kind in not_needed_for",
                        where=f"field {field.name}",
                        expected=", ".join(sorted(kinds)),
                        got=repr(kind),
                    )
            if field.type == "choice" and field.choices not in self._choice_index:
                raise DictionaryError(
                    "choice set not in choices.csv",
                    where=f"field {field.name}",
                    got=repr(field.choices),
                )
            if (
                field.unit
                and field.type in ("number", "integer", "fraction", "series")
                and unit_key(field.unit) not in self.units
            ):
                raise DictionaryError(
                    "unit not in units.csv", where=f"field {field.name}", got=repr(field.unit)
                )
        for check in self.checks:
            for side in ("left", "right"):
                name = check[side]
                bound = side == "right" and is_bound(check)
                if not (name.startswith("@") or name in self.fields or bound):
                    raise DictionaryError(
                        "unknown field in check", where=check["check_id"], got=repr(name)
                    )
            if check.get("programme") and check["programme"] not in PROGRAMMES:
                raise DictionaryError(
                    "unknown programme in check",
                    where=check["check_id"],
                    expected=", ".join(PROGRAMMES),
                    got=repr(check["programme"]),
                )

    # -- look-ups ------------------------------------------------------------------------
    def match_header(self, text: object) -> Header | None:
        """Which field (and year, for a yearly series) a header or label names, with its unit."""
        if text is None:
            return None
        text = str(text)
        if text not in self._header_cache:
            self._header_cache[text] = self._match(text)
        return self._header_cache[text]

    def _match(self, text: str) -> Header | None:
        stem, unit = split_unit(text)
        key = match_key(stem)
        if not key:
            return None
        if key in self._labels:
            return Header(self._labels[key], None, unit)
        return self._match_series_year(key, unit)

    def _match_series_year(self, key: str, unit: str) -> Header | None:
        before, stem, after = _YEAR_AROUND.match(key).groups()
        year = before or after
        if not year or (before and after):
            return None
        name = self._labels.get(stem)
        if name is None or self.fields[name].type != "series":
            return None
        return Header(name, int(year), unit)

    def choice_code(self, choice_set: str, value: object) -> str | None:
        """The canonical code of an enumerated value, or None when it is not one."""
        return self._choice_index[choice_set].get(match_key(value))

    def choice_codes(self, choice_set: str) -> list[str]:
        return [row["code"] for row in self.choices if row["set"] == choice_set]

    def choice_rows(self, choice_set: str) -> list[dict[str, str]]:
        return [row for row in self.choices if row["set"] == choice_set]

    def choice_map(self, choice_set: str, attribute: str) -> dict[str, str]:
        """Code -> ``attribute`` of each choice of ``choice_set`` (made once; do not change it)."""
        key = (choice_set, attribute)
        if key not in self._choice_maps:
            rows = self.choice_rows(choice_set)
            self._choice_maps[key] = {row["code"]: row.get(attribute, "") for row in rows}
        return self._choice_maps[key]

    def choice_attribute(self, choice_set: str, code: str, attribute: str) -> str:
        for row in self.choices:
            if row["set"] == choice_set and row["code"] == code:
                return row.get(attribute, "")
        return ""

    def unit(self, text: str) -> Unit | None:
        return self.units.get(unit_key(text))

    def units_of(self, dimension: str) -> list[Unit]:
        seen = {unit.name: unit for unit in self.units.values() if unit.dimension == dimension}
        return list(seen.values())

    def scalar_fields(self) -> list[Field]:
        return [f for f in self.fields.values() if f.type != "series"]

    def series_fields(self) -> list[Field]:
        return [f for f in self.fields.values() if f.type == "series"]


def is_bound(check: dict[str, str]) -> bool:
    """Whether a check of ``checks.csv`` compares its field with a number (``right`` is, say,
    ``0``) rather than with another field: a bound, checked like a hard range."""
    try:
        return math.isfinite(float(check["right"]))
    except ValueError:
        return False


def unit_key(text: str) -> str:
    """Units compare by NFKC text without spaces, case-insensitively except for a lone letter."""
    text = canonical_text(text).replace(" ", "")
    return text if len(text) == 1 else text.casefold()


def load_dictionary(folder: str | None = None) -> Dictionary:
    """Load (once per folder) the field dictionary; the packaged one by default (named or not:
    the same one)."""
    return _loaded(str(Path(folder)) if folder else _packaged_folder())


@lru_cache(maxsize=1)
def _packaged_folder() -> str:
    return str(data_dir("templates") / "application")  # once: a memo asks for it per label


@lru_cache(maxsize=8)
def _loaded(folder: str) -> Dictionary:
    return Dictionary(Path(folder))
