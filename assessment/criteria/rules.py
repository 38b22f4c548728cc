"""Load rule packs from ``rules/`` and validate every cell before anything is evaluated.

``load_rules(path)`` reads a folder of packs (or one pack folder): ``pack.yaml``, ``rules.csv``
(or ``rules.xlsx``) and ``segments/*.csv``. All problems of all packs are collected and raised
together as one :class:`~assessment.errors.RuleError`, each naming the file, row and column, the
bad value, and the nearest valid name ("unknown metric 'dcsr_min'; did you mean 'dscr_min'?").
Thresholds written in another unit (``60 %``, ``10 亿元``) are converted to the metric's unit
here, once.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import difflib
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path

import pandas as pd
import yaml

from .._shared.resources import data_dir
from .._shared.strict_yaml import parse_yaml
from ..errors import AssessmentError, RuleError
from ..intake.dictionary import PROGRAMMES, Dictionary, load_dictionary
from ..intake.workbooks import read_sheets
from . import conditions
from .indicators import CHOICE_CODES, CHOICE_SETS, INDICATORS

RULE_COLUMNS = [
    "rule_id",
    "programme",
    "title_en",
    "title_zh",
    "applies_when",
    "metric",
    "operator",
    "threshold",
    "unit",
    "segment",
    "full_at",
    "severity",
    "weight",
    "valid_from",
    "valid_to",
    "source",
    "clause",
    "clause_zh",
    "confidence",
    "remedy_en",
    "remedy_zh",
]
# Columns a table may lack (older and user packs): read as blank. ``clause_zh`` is the clause in
# Chinese; without it the Chinese memo shows the English clause, marked, and ``rules check`` warns.
OPTIONAL_COLUMNS = ("clause_zh",)
REQUIRED_COLUMNS = [name for name in RULE_COLUMNS if name not in OPTIONAL_COLUMNS]
OPERATORS = ("<", "<=", ">", ">=", "==", "!=", "in", "not_in", "between", "is_blank", "not_blank")
SEVERITIES = ("gate", "score", "flag", "condition")
CONFIDENCES = ("verified", "verified_secondary", "unverified")
_ORDERED = ("<", "<=", ">", ">=", "between")
# Word spellings, for spreadsheets where a cell starting with "=" would become a formula.
OPERATOR_WORDS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


@dataclass(frozen=True)
class Metric:
    """A name a rule may test: a field or an indicator, with its kind and base unit."""

    name: str
    kind: str  # number, bool, choice, text, date
    unit: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """One validated rule row; ``threshold`` is in the metric's unit."""

    rule_id: str
    pack: str
    programme: str
    title_en: str
    title_zh: str
    applies_when: str
    condition: object
    metric: str
    operator: str
    threshold: object
    unit: str
    segment: pd.DataFrame | None
    full_at: float | None
    severity: str
    weight: float
    valid_from: dt.date | None
    valid_to: dt.date | None
    source: str
    clause: str
    confidence: str
    remedy_en: str
    remedy_zh: str
    clause_zh: str = ""  # the clause in Chinese (blank: not translated)

    def in_force(self, as_of: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= as_of) and (
            self.valid_to is None or as_of < self.valid_to
        )

    @cached_property
    def segment_rows(self) -> list[dict[str, object]]:
        """The segment table's rows (none without one), read once per rule."""
        return [] if self.segment is None else self.segment.to_dict("records")

    def names(self) -> list[str]:
        """The fields and indicators the rule reads: its condition's, its segment table's
        keys, then its metric."""
        keys = [] if self.segment is None else [c for c in self.segment.columns if c != "threshold"]
        return [*(test.name for test in conditions.names(self.condition)), *keys, self.metric]


@dataclass
class Pack:
    id: str
    title_en: str
    title_zh: str
    version: str
    effective_from: dt.date | None
    effective_to: dt.date | None
    sources: dict[str, dict]
    grades: dict[str, list[tuple[str, float]]]
    folder: Path
    rules: list[Rule] = field(default_factory=list)
    min_coverage: float = 0.0

    def in_force(self, as_of: dt.date) -> bool:
        return (self.effective_from is None or self.effective_from <= as_of) and (
            self.effective_to is None or as_of < self.effective_to
        )


@dataclass
class RuleSet:
    """Every pack of a rules folder (``root``: the folder, None for packs put together in
    code); ``root / "decision"`` may hold the folder's own decision tables."""

    packs: list[Pack]
    root: Path | None = None

    @property
    def rules(self) -> list[Rule]:
        """All rules, programme by programme (green, green_credit, reit, credit); sorted once
        while the packs' rule lists stay the same."""
        key = tuple((id(pack.rules), len(pack.rules)) for pack in self.packs)
        cached = self.__dict__.get("_sorted")
        if cached is None or cached[0] != key:
            found = [rule for pack in self.packs for rule in pack.rules]
            order = sorted(found, key=lambda rule: PROGRAMMES.index(rule.programme))
            cached = self.__dict__["_sorted"] = (key, order)
        return list(cached[1])

    def grades(self, programme: str) -> list[tuple[str, float]]:
        for pack in self.packs:
            if programme in pack.grades:
                return pack.grades[programme]
        return []

    def min_coverage(self, programme: str) -> float:
        """The least share of a programme's score weight in force that must apply to the
        project for a grade (``min_coverage`` of the packs holding its rules; the highest)."""
        return max(
            (p.min_coverage for p in self.packs if any(r.programme == programme for r in p.rules)),
            default=0.0,
        )

    def versions(self) -> dict[str, str]:
        return {pack.id: pack.version for pack in self.packs}

    @property
    def reference_dir(self) -> Path | None:
        """The folder's own ``reference/`` tables (None: the packaged ones are read)."""
        folder = self.root / "reference" if self.root else None
        return folder if folder is not None and folder.is_dir() else None

    def table(self) -> pd.DataFrame:
        """The rules as a readable table, indexed by rule_id."""
        rows = [
            {name: getattr(rule, name) for name in RULE_COLUMNS if name != "segment"}
            | {"pack": rule.pack, "segment": "" if rule.segment is None else "table"}
            for rule in self.rules
        ]
        return pd.DataFrame(rows).set_index("rule_id") if rows else pd.DataFrame()


def metric_catalogue(dictionary: Dictionary | None = None) -> dict[str, Metric]:
    """Fields (not the yearly series) and indicators that rules may name."""
    dictionary = dictionary or load_dictionary()
    kinds = {
        "number": "number",
        "integer": "number",
        "fraction": "number",
        "bool": "bool",
        "choice": "choice",
        "text": "text",
        "date": "date",
    }
    found = {
        f.name: Metric(
            f.name,
            kinds[f.type],
            f.unit,
            tuple(dictionary.choice_codes(f.choices)) if f.choices else (),
        )
        for f in dictionary.fields.values()
        if f.type != "series"
    }
    for indicator in INDICATORS:
        kind = "number" if indicator.kind in ("number", "integer") else indicator.kind
        codes = CHOICE_CODES.get(indicator.name, ())
        if indicator.name in CHOICE_SETS:
            choice_set, extra = CHOICE_SETS[indicator.name]
            codes = (*dictionary.choice_codes(choice_set), *extra)
        found[indicator.name] = Metric(indicator.name, kind, indicator.unit, codes)
    return found


class Problems(list):
    """Collects load problems as rows: file, row, column, value, message, hint."""

    def add(
        self,
        file: Path | str,
        row: object,
        column: str,
        value: object,
        message: str,
        hint: str = "",
    ) -> None:
        self.append(
            {
                "file": str(file),
                "row": row,
                "column": column,
                "value": "" if value is None else str(value),
                "message": message,
                "hint": hint,
            }
        )


def load_rules(path: str | Path | None = None, *, dictionary: Dictionary | None = None) -> RuleSet:
    """Load and validate every pack under ``path`` (default: the packaged ``rules/``).

    The packs are read once while their files stay as they are (each file's modification
    time and size, :func:`_packs_state`); each call returns its own :class:`RuleSet` and
    packs, so a caller that changes one changes no other. A ``dictionary`` of one's own is
    read every time."""
    root = Path(path) if path else data_dir("rules")
    if dictionary is not None:
        return _read_rules(root, dictionary)
    return _own_copy(_read_once(root, _packs_state(root)))


@lru_cache(maxsize=8)
def _read_once(root: Path, state: tuple) -> RuleSet:
    """The rules of ``root`` while its packs' files are in ``state``."""
    return _read_rules(root, None)


def _packs_state(root: Path) -> tuple:
    """Each file of each pack folder under ``root``: (path, modification time, size)."""
    return tuple(
        _file_state(file) for folder in _pack_folders(root) for file in sorted(folder.rglob("*"))
    )


def _file_state(path: Path) -> tuple:
    try:
        found = path.stat()
    except OSError:  # gone since the folder was listed: read (and reported) afresh
        return (str(path), None, None)
    return (str(path), found.st_mtime_ns, found.st_size)


def _own_copy(rules: RuleSet) -> RuleSet:
    """``rules`` with packs of its own (the rules themselves are frozen)."""
    packs = [
        replace(
            pack,
            sources={key: dict(value) for key, value in pack.sources.items()},
            grades={key: list(value) for key, value in pack.grades.items()},
            rules=list(pack.rules),
        )
        for pack in rules.packs
    ]
    return RuleSet(packs, rules.root)


def _read_rules(root: Path, dictionary: Dictionary | None) -> RuleSet:
    catalogue = metric_catalogue(dictionary)
    problems = Problems()
    folders = _pack_folders(root)
    if not folders:
        problems.add(
            root,
            "",
            "",
            "",
            "no rule pack found",
            "a pack is a folder with pack.yaml and rules.csv",
        )
    packs = [
        _load_pack(folder, catalogue, dictionary or load_dictionary(), problems)
        for folder in folders
    ]
    _check_unique_ids(packs, problems)
    if problems:
        raise RuleError.from_rows(problems)
    return RuleSet(packs, root)


PACK_FILES = ("pack.yaml", "rules.csv", "rules.xlsx")


def _pack_folders(root: Path) -> list[Path]:
    """``root`` when it is a pack, else its sub-folders that hold any file of a pack (a pack
    that lacks pack.yaml or its rules is then reported, not skipped)."""
    if any((root / name).exists() for name in PACK_FILES):
        return [root]
    if not root.is_dir():
        return []
    return sorted(
        folder
        for folder in root.iterdir()
        if folder.is_dir() and any((folder / name).exists() for name in PACK_FILES)
    )


def _check_unique_ids(packs: list[Pack], problems: Problems) -> None:
    seen: dict[str, str] = {}
    for pack in packs:
        for rule in pack.rules:
            if rule.rule_id in seen:
                problems.add(
                    pack.folder / "rules.csv",
                    rule.rule_id,
                    "rule_id",
                    rule.rule_id,
                    f"rule_id also used in pack {seen[rule.rule_id]}",
                    "give each rule its own id",
                )
            seen[rule.rule_id] = pack.id


def _load_pack(
    folder: Path, catalogue: dict[str, Metric], dictionary: Dictionary, problems: Problems
) -> Pack:
    before = len(problems)
    meta = _read_meta(folder / "pack.yaml", problems)
    sources_unread = any(  # then a rule's source is not reported missing as well
        row["row"] or row["column"] in ("", "sources") for row in problems[before:]
    )
    pack = Pack(
        id=str(meta.get("id", folder.name)),
        title_en=str(meta.get("title_en", "")),
        title_zh=str(meta.get("title_zh", "")),
        version=str(meta.get("version", "")),
        effective_from=_date(
            meta.get("effective_from"), folder / "pack.yaml", "", "effective_from", problems
        ),
        effective_to=_date(
            meta.get("effective_to"), folder / "pack.yaml", "", "effective_to", problems
        ),
        sources={str(s.get("id")): s for s in meta.get("sources") or []},
        grades=_grades(meta.get("grades") or {}, folder / "pack.yaml", problems),
        folder=folder,
        min_coverage=_coverage(meta.get("min_coverage"), folder / "pack.yaml", problems),
    )
    rows, source_file = _read_rule_rows(folder, problems)
    context = _Context(pack, catalogue, dictionary, problems, source_file, not sources_unread)
    pack.rules = _valid_rules(context, rows)
    return pack


MAX_PROBLEMS = 500  # a table with more stops being checked (a wrong file lists thousands)


def _valid_rules(context: _Context, rows: list[tuple[int, dict]]) -> list[Rule]:
    found = []
    for number, row in rows:
        if len(context.problems) >= MAX_PROBLEMS:
            context.add(number, "", "", f"checking stopped after {MAX_PROBLEMS:,} problems")
            break
        rule = context.rule(number, row)
        found += [rule] if rule else []
    return found


# Limits of the files of a rule pack: larger files are refused unread, longer cells named.
MAX_RULE_FILE_BYTES = 2 * 2**20
MAX_CELL_CHARS = 10_000


def read_yaml(path: Path, problems: Problems) -> object:
    """The content of a YAML file of a rule pack (None with a problem when it cannot be used)."""
    text = read_text(path, problems)
    if text is None:
        return None
    try:
        return parse_yaml(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = (mark.line + 1, str(mark.column + 1)) if mark else ("", "")
        problems.add(path, *where, "", f"not valid YAML: {error.problem or error.context}")
    except (yaml.YAMLError, RecursionError) as error:
        problems.add(path, "", "", "", f"not valid YAML: {type(error).__name__}")
    return None


def _read_meta(path: Path, problems: Problems) -> dict:
    before = len(problems)
    meta = read_yaml(path, problems)
    if meta is None and len(problems) == before:
        meta = {}
    if meta is not None and not isinstance(meta, dict):
        problems.add(path, "", "", "", "pack.yaml must be a mapping of keys to values")
    if not isinstance(meta, dict):
        return {}
    return _checked_meta(meta, path, problems)


_META_KINDS = {
    "id": (str, int, float),
    "title_en": (str, int, float),
    "title_zh": (str, int, float),
    "version": (str, int, float),
    "effective_from": (str, dt.date),
    "effective_to": (str, dt.date),
    "sources": (list,),
    "grades": (dict,),
    "min_coverage": (int, float),
}


def _checked_meta(meta: dict, path: Path, problems: Problems) -> dict:
    """The keys of pack.yaml that have the kind they need (the others reported and dropped)."""
    kept = dict(meta)
    for key, kinds in _META_KINDS.items():
        value = meta.get(key)
        if value is not None and not isinstance(value, kinds):
            expected = " or ".join("text" if k is str else k.__name__ for k in kinds)
            problems.add(path, "", key, _short(value), f"{key} must be {expected}")
            kept.pop(key)
    sources = kept.get("sources") or []
    if not all(isinstance(s, dict) and s.get("id") is not None for s in sources):
        problems.add(path, "", "sources", "", "each source needs an 'id' (a list of mappings)")
        kept.pop("sources")
    return kept


def _short(value: object) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= 80 else text[:77] + "..."


def _grades(raw: dict, path: Path, problems: Problems) -> dict[str, list[tuple[str, float]]]:
    grades = {}
    for programme, steps in raw.items():
        if programme not in PROGRAMMES:
            problems.add(
                path,
                "",
                "grades",
                programme,
                "unknown programme",
                f"one of {', '.join(PROGRAMMES)}",
            )
            continue
        try:
            grades[programme] = sorted(
                ((str(s["grade"]), _finite(s["min_score"])) for s in steps),
                key=lambda step: -step[1],
            )
        except (KeyError, TypeError, ValueError):
            problems.add(
                path,
                "",
                "grades",
                programme,
                "each grade needs 'grade' and a finite numeric 'min_score'",
            )
    return grades


def _coverage(value: object, path: Path, problems: Problems) -> float:
    """``min_coverage`` of pack.yaml: a share from 0 to 1 (blank: 0, every grade given)."""
    if value is None:
        return 0.0
    try:
        share = -1.0 if isinstance(value, bool) else _finite(value)
    except (TypeError, ValueError):
        share = -1.0
    if not 0 <= share <= 1:
        problems.add(path, "", "min_coverage", _short(value), "min_coverage must be from 0 to 1")
        return 0.0
    return share


def _finite(value: object) -> float:
    """``value`` as a finite float; ValueError for nan, inf and numbers past the float range."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"not a finite number: {value!r}")
    return number


def _read_rule_rows(folder: Path, problems: Problems) -> tuple[list[tuple[int, dict]], Path]:
    csv_path, xlsx_path = folder / "rules.csv", folder / "rules.xlsx"
    if not csv_path.exists() and not xlsx_path.exists():
        problems.add(folder, "", "", "", "no rules.csv or rules.xlsx in the pack")
        return [], csv_path
    path = csv_path if csv_path.exists() else xlsx_path
    before = len(problems)
    _, rows = read_table(path, problems, REQUIRED_COLUMNS, sheet="rules")
    if not rows and len(problems) == before:
        problems.add(
            path,
            2,
            "",
            "",
            "no rule rows: a pack without rules would pass every project",
            "add rules below the header, or remove the pack",
        )
    return rows, path


def read_table(
    path: Path, problems: Problems, required: list[str], sheet: str = ""
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and the filled rows ``(row number, {column: text})`` of a table of a rule
    pack: a UTF-8 CSV file, or the sheet ``sheet`` of an .xlsx workbook. A file that cannot be
    used, a header that lacks ``required`` columns, and rows with over-long or surplus cells
    are reported in ``problems`` (with file, row and column) and left out."""
    grid = (
        _sheet_grid(path, sheet, problems) if path.suffix == ".xlsx" else _csv_grid(path, problems)
    )
    if grid is None:
        return [], []
    if not any(any(_cell_text(cell) for cell in record) for record in grid):
        problems.add(path, 1, "", "", "the table is empty", "a header row, then one row per entry")
        return [], []
    header = [_cell_text(cell) for cell in grid[0]]
    if not _header_ok(header, required, path, problems):
        return header, []
    rows = [
        (number, row)
        for number, record in enumerate(grid[1:], start=2)
        if (row := _record(record, header, path, number, problems)) is not None
    ]
    return header, rows


def _header_ok(header: list[str], required: list[str], path: Path, problems: Problems) -> bool:
    before = len(problems)
    others = [name for name in header if name not in required]
    for name in required:
        if name not in header:
            hint = nearest(name, others) or f"the header needs {', '.join(required)}"
            problems.add(path, 1, name, "", f"the header lacks column {name!r}", hint)
    for name in sorted({name for name in header if header.count(name) > 1}):
        problems.add(path, 1, name, name, f"column {name!r} appears twice in the header")
    return len(problems) == before


def _record(
    record: list[object], header: list[str], path: Path, number: int, problems: Problems
) -> dict[str, str] | None:
    """One row as ``{column: text}``; None for a blank row or one with a cell to report."""
    cells = [_cell_text(cell) for cell in record]
    if not any(cells):
        return None
    for index, cell in enumerate(cells):
        name = header[index] if index < len(header) else f"{index + 1} (no header)"
        if index >= len(header) and cell:
            problems.add(path, number, name, _short(cell), "a cell beyond the last header column")
            return None
        if len(cell) > MAX_CELL_CHARS:
            problems.add(
                path,
                number,
                name,
                _short(cell),
                f"a cell of {len(cell):,} characters, over {MAX_CELL_CHARS:,}",
                "rules.MAX_CELL_CHARS; shorten the text",
            )
            return None
    return dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=False))


def read_text(path: Path, problems: Problems) -> str | None:
    """A UTF-8 text file of a rule pack (a BOM is dropped), or None with a problem: missing,
    not a file, larger than ``MAX_RULE_FILE_BYTES``, binary, or another encoding."""
    data = _bounded_bytes(path, problems)
    if data is None:
        return None
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        problems.add(path, line, "", "", "a binary file, not text (it holds NUL bytes)")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start : error.start + 1].hex()
        problems.add(
            path,
            line,
            "",
            "",
            f"not UTF-8 text (byte 0x{byte} at line {line})",
            "save the file as UTF-8 (Excel: CSV UTF-8)",
        )
        return None


def _bounded_bytes(path: Path, problems: Problems) -> bytes | None:
    if not path.is_file():
        message = "not a file" if path.exists() else f"no {path.name} in the pack"
        problems.add(path, "", "", "", message)
        return None
    size = path.stat().st_size
    if size > MAX_RULE_FILE_BYTES:
        problems.add(
            path,
            "",
            "",
            "",
            f"the file has {size:,} bytes, over {MAX_RULE_FILE_BYTES:,}",
            "rules.MAX_RULE_FILE_BYTES; split the pack",
        )
        return None
    try:
        return path.read_bytes()
    except OSError as error:
        problems.add(path, "", "", "", f"cannot read the file: {error.strerror or error}")
        return None


def _csv_grid(path: Path, problems: Problems) -> list[list[str]] | None:
    text = read_text(path, problems)
    if text is None:
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    with _field_limit(len(text)):  # cells are bounded by MAX_CELL_CHARS, with their place
        try:
            return list(reader)
        except csv.Error as error:
            problems.add(path, reader.line_num, "", "", f"not a readable CSV record: {error}")
            return None


@contextlib.contextmanager
def _field_limit(size: int) -> Iterator[None]:
    """The csv module's field limit (131,072 characters) raised to ``size`` for one read."""
    old = csv.field_size_limit(max(size, csv.field_size_limit()))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _sheet_grid(path: Path, sheet: str, problems: Problems) -> list[list[object]] | None:
    if _bounded_bytes(path, problems) is None:
        return None
    try:
        sheets = {found.name: found for found in read_sheets(path)}
    except AssessmentError as error:
        problems.add(path, "", "", "", f"cannot read the workbook: {error.what}; {error.got}")
        return None
    if sheet not in sheets:
        problems.add(path, "", "", sheet, f"no sheet {sheet!r} in the workbook")
        return None
    return sheets[sheet].all_rows()


def _sheet_names(path: Path) -> list[str]:
    try:
        return [sheet.name for sheet in read_sheets(path)]
    except AssessmentError:
        return []


def _cell_text(cell: object) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, dt.datetime | dt.date):
        return cell.strftime("%Y-%m-%d")
    return str(cell).strip()


def _date(
    value: object, file: Path, row: object, column: str, problems: Problems
) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        problems.add(file, row, column, value, "not a date", "write dates as YYYY-MM-DD")
        return None


def nearest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


@dataclass
class _Context:
    """Validates the rows of one pack, collecting problems."""

    pack: Pack
    catalogue: dict[str, Metric]
    dictionary: Dictionary
    problems: Problems
    file: Path
    check_sources: bool = True

    def add(self, row: int, column: str, value: object, message: str, hint: str = "") -> None:
        self.problems.add(self.file, row, column, value, message, hint)

    def rule(self, number: int, row: dict[str, str]) -> Rule | None:
        row = {key: (row.get(key) or "").strip() for key in RULE_COLUMNS}
        row["operator"] = OPERATOR_WORDS.get(row["operator"].lower(), row["operator"])
        before = len(self.problems)
        metric = self.metric(number, "metric", row["metric"])
        checked = {
            "programme": self.choice(number, "programme", row["programme"], PROGRAMMES),
            "severity": self.choice(number, "severity", row["severity"], SEVERITIES),
            "confidence": self.choice(number, "confidence", row["confidence"], CONFIDENCES),
            "operator": self.choice(number, "operator", row["operator"], OPERATORS),
            "condition": self.condition(number, row["applies_when"]),
            "valid_from": _date(row["valid_from"], self.file, number, "valid_from", self.problems),
            "valid_to": _date(row["valid_to"], self.file, number, "valid_to", self.problems),
            "weight": self.weight(number, row),
            "full_at": self.number(number, "full_at", row["full_at"], metric, row["unit"]),
        }
        self.required(number, row)
        self.source(number, row["source"])
        threshold = segment = None
        if metric and checked["operator"]:
            threshold, segment = self.threshold(number, row, metric)
        if len(self.problems) > before:
            return None
        return Rule(
            rule_id=row["rule_id"],
            pack=self.pack.id,
            title_en=row["title_en"],
            title_zh=row["title_zh"],
            applies_when=row["applies_when"],
            metric=row["metric"],
            threshold=threshold,
            unit=metric.unit,
            segment=segment,
            source=row["source"],
            clause=row["clause"],
            clause_zh=row["clause_zh"],
            remedy_en=row["remedy_en"],
            remedy_zh=row["remedy_zh"],
            **checked,
        )

    def required(self, number: int, row: dict[str, str]) -> None:
        for column in ("rule_id", "title_en", "title_zh", "source"):
            if not row[column]:
                self.add(number, column, "", f"{column} is required")
        if row["valid_from"] and row["valid_to"] and row["valid_from"] >= row["valid_to"]:
            self.add(number, "valid_to", row["valid_to"], "valid_to must be after valid_from")

    def choice(self, number: int, column: str, value: str, options: tuple[str, ...]) -> str:
        if value not in options:
            hint = nearest(value, list(options)) or f"one of {', '.join(options)}"
            self.add(number, column, value, f"unknown {column} {value!r}", hint)
        return value

    def source(self, number: int, value: str) -> None:
        if value and self.check_sources and value not in self.pack.sources:
            hint = (
                nearest(value, list(self.pack.sources)) or "define it under sources: in pack.yaml"
            )
            self.add(number, "source", value, f"source {value!r} is not in pack.yaml", hint)

    def metric(self, number: int, column: str, name: str) -> Metric | None:
        if name in self.catalogue:
            return self.catalogue[name]
        hint = nearest(name, list(self.catalogue)) or "a field of fields.csv or an indicator"
        self.add(number, column, name, f"unknown {column} {name!r}", hint)
        return None

    def condition(self, number: int, text: str) -> object:
        try:
            tree = conditions.parse(text)
        except conditions.ConditionError as error:
            self.add(number, "applies_when", text, f"the condition does not parse: {error}")
            return None
        for test in conditions.names(tree):
            metric = self.metric(number, "applies_when", test.name)
            if metric:
                self.literals(number, "applies_when", metric, test.op, test.literals)
        return tree

    def literals(
        self, number: int, column: str, metric: Metric, op: str, values: tuple[object, ...]
    ) -> None:
        if op in _ORDERED and metric.kind != "number":
            self.add(
                number,
                column,
                op,
                f"{op!r} needs a numeric metric; {metric.name} is {metric.kind}",
                "use == or in",
            )
        for value in values:
            self.literal(number, column, metric, value)

    def literal(self, number: int, column: str, metric: Metric, value: object) -> None:
        expected = {"number": float, "bool": bool}.get(metric.kind, str)
        if isinstance(value, float) and not math.isfinite(value):
            self.add(number, column, value, f"{value!r} is not a finite number")
        elif (
            metric.kind == "date"
            or not isinstance(value, expected)
            or (expected is float and isinstance(value, bool))
        ):
            self.add(
                number,
                column,
                value,
                f"{metric.name} is {metric.kind}; {value!r} is not a value of it",
            )
        elif metric.choices and value not in metric.choices:
            hint = (
                nearest(str(value), list(metric.choices)) or f"one of {', '.join(metric.choices)}"
            )
            self.add(number, column, value, f"unknown code {value!r} for {metric.name}", hint)

    def weight(self, number: int, row: dict[str, str]) -> float:
        if row["severity"] != "score":
            if row["weight"] or row["full_at"]:
                self.add(
                    number,
                    "weight" if row["weight"] else "full_at",
                    row["weight"] or row["full_at"],
                    "only score rules take a weight or full_at",
                )
            return 0.0
        try:
            weight = _finite(row["weight"])
        except ValueError:
            weight = -1.0
        if weight <= 0:
            self.add(number, "weight", row["weight"], "a score rule needs a finite positive weight")
        return weight

    def number(
        self, number: int, column: str, text: str, metric: Metric | None, unit: str
    ) -> float | None:
        if not text:
            return None
        try:
            value = _finite(text)
        except ValueError:
            self.add(number, column, text, "not a finite number", "write a number such as 1.2")
            return None
        return self.to_metric_unit(number, value, unit, metric)

    def to_metric_unit(
        self, number: int, value: float, unit: str, metric: Metric | None
    ) -> float | None:
        if not unit or metric is None:
            return value
        found = self.dictionary.unit(unit)
        if found is None or found.dimension != metric.unit or found.needs_fx:
            names = (
                ", ".join(u.name for u in self.dictionary.units_of(metric.unit) if not u.needs_fx)
                or "none (leave unit blank)"
            )
            self.add(
                number,
                "unit",
                unit,
                f"unit {unit!r} does not fit {metric.name} ({metric.unit or 'no unit'})",
                f"use one of: {names}",
            )
            return None
        return value * found.factor.numerator / found.factor.denominator

    def threshold(
        self, number: int, row: dict[str, str], metric: Metric
    ) -> tuple[object, pd.DataFrame | None]:
        op, text = row["operator"], row["threshold"]
        if row["segment"]:
            if text:
                self.add(number, "threshold", text, "give a threshold or a segment, not both")
            return None, self.segment(number, row["segment"], metric)
        if op in ("is_blank", "not_blank"):
            return None, None
        if not text:
            self.add(number, "threshold", "", f"operator {op!r} needs a threshold")
            return None, None
        return self.threshold_value(number, op, text, metric, row["unit"]), None

    def threshold_value(self, number: int, op: str, text: str, metric: Metric, unit: str) -> object:
        parts = [part.strip() for part in text.split(";")]
        if op == "between" and len(parts) != 2:
            self.add(number, "threshold", text, "between needs 'low;high'")
            return None
        if op not in ("in", "not_in", "between") and len(parts) != 1:
            self.add(number, "threshold", text, f"{op!r} takes one value")
            return None
        values = [self.typed(number, part, metric, unit) for part in parts]
        self.literals(number, "threshold", metric, op, tuple(v for v in values if v is not None))
        return tuple(values) if op in ("in", "not_in", "between") else values[0]

    def typed(self, number: int, text: str, metric: Metric, unit: str) -> object:
        if metric.kind == "number":
            return self.number(number, "threshold", text, metric, unit)
        if metric.kind == "bool" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        return text

    def segment(self, number: int, name: str, metric: Metric) -> pd.DataFrame | None:
        if Path(name).name != name or name.startswith("."):
            self.add(number, "segment", name, "a segment is named, not a path", "e.g. rack_use")
            return None
        path = self.pack.folder / "segments" / f"{name}.csv"
        sheet = ""
        if not path.exists() and self.file.suffix == ".xlsx" and name in _sheet_names(self.file):
            path, sheet = self.file, name
        elif not path.exists():
            self.add(
                number,
                "segment",
                name,
                f"no segment table segments/{name}.csv (or sheet {name!r} of rules.xlsx)",
            )
            return None
        before = len(self.problems)
        header, rows = read_table(path, self.problems, ["threshold"], sheet=sheet)
        if len(self.problems) > before:
            return None
        return _Segment(replace(self, file=path), metric).validate(header, rows)


@dataclass
class _Segment:
    """Validates one segment table; problems name the segment file."""

    context: _Context
    metric: Metric

    def validate(
        self, header: list[str], rows: list[tuple[int, dict[str, str]]]
    ) -> pd.DataFrame | None:
        problems = self.context.problems
        before = len(problems)
        if not rows:
            self.context.add(2, "threshold", "", "a segment table needs at least one row")
            return None
        keys = [c for c in header if c not in ("threshold", "unit")]
        for key in keys:
            if key not in self.context.catalogue:
                hint = nearest(key, list(self.context.catalogue))
                self.context.add(1, key, key, f"unknown key column {key!r}", hint)
        if len(problems) > before:
            return None
        found = [self.row(number, row, keys) for number, row in rows]
        if len(problems) > before:
            return None
        return pd.DataFrame(found, columns=[*keys, "threshold"])

    def row(self, number: int, row: dict[str, str], keys: list[str]) -> dict[str, object]:
        out: dict[str, object] = {}
        for key in keys:
            metric = self.context.catalogue[key]
            out[key] = None if row[key] == "" else self.context.typed(number, row[key], metric, "")
        value = self.context.number(
            number, "threshold", row["threshold"], self.metric, row.get("unit", "")
        )
        if value is None:
            self.context.add(
                number, "threshold", row["threshold"], "a segment row needs a numeric threshold"
            )
        out["threshold"] = value
        return out
