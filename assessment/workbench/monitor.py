"""Monitor a screened population against a baseline: drift in the rules next to drift in the
model.

:func:`read_screening` reads one screening output: a folder written by ``assess screen``
(``screening.parquet`` when there, else the Screening sheet of ``screening.xlsx``) or one of
those files, or ``screening.csv``. :func:`monitor` compares two of them (and
:func:`monitor_batch` a baseline output with a new batch of applications, screened now):

* :func:`rule_shifts`: per rule column both hold, the pass rate and the fail and
  insufficient shares of the projects the rule applies to (the one definition,
  :mod:`assessment.criteria.pass_rate`), baseline and current; their shifts in percentage
  points, the two-proportion z statistic of the pass rate and a band from
  ``rules/monitor/bands.csv``;
* :func:`field_stability`: the population stability index (PSI) of the fields listed in
  ``rules/monitor/fields.csv``: numbers binned on the baseline's deciles (plus a missing bin,
  as the model's drift reference bins them), categories by level; banded as
  :func:`assessment.model.drift.band` bands the model's drift (one source of the PSI limits);
  the bin that moved most with its baseline and current shares (a number's bin as ``< 0.12``,
  ``[0.12, 0.2)``, ``>= 0.9``; a category's as its code; blanks as ``missing``: the reports
  word codes and ``missing`` in their language);
* :func:`population_shifts`: the number of projects, the share of each recommendation and the
  eligibility rate (eligible / projects) overall and per programme, banded like the rules.

A rule or field that only one side holds is kept, with band ``not compared`` and the reason.
Every table is sorted worst first: act, watch, stable, not compared, then by size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache, reduce
from pathlib import Path

import numpy as np
import pandas as pd

from .._shared.files import sha256_of, shown_path
from .._shared.resources import data_dir
from .._shared.tables import read_reference_table
from .._shared.text import joined, shown
from ..criteria.evaluate import VERDICTS
from ..criteria.pass_rate import asked_of, pass_rates
from ..criteria.rules import load_rules
from ..errors import AssessmentError, InputError
from ..intake.dictionary import PROGRAMMES
from ..model.drift import NOT_COMPARED, band, banded, load_bands, psi
from ..model.training import bin_shares, numeric_reference
from ..screening.batch import screen_inputs
from ..screening.records import RECOMMENDATIONS, Settings
from ..screening.shortlist import HEADER_ROW

__all__ = [
    "Monitoring",
    "field_stability",
    "load_fields",
    "monitor",
    "monitor_batch",
    "monitor_outputs",
    "population_shifts",
    "read_screening",
    "rule_shifts",
    "two_proportion_z",
]

BAND_ORDER = ("act", "watch", "stable", NOT_COMPARED)
SHIFT_MEASURE = "pass_rate_shift_pp"
SCREENING_FILES = ("screening.parquet", "screening.xlsx", "screening.csv")
REQUIRED_COLUMNS = ("project_id", "recommendation", "decision_reason")
FIELD_KINDS = ("numeric", "category")
DIGITS = 12  # significant digits of the numbers binned
RULE_COLUMNS = [
    "rule_id",
    "baseline_applicable",
    "current_applicable",
    "baseline_pass_rate",
    "current_pass_rate",
    "shift_pp",
    "z",
    "baseline_fail_share",
    "current_fail_share",
    "fail_shift_pp",
    "baseline_insufficient_share",
    "current_insufficient_share",
    "insufficient_shift_pp",
    "band",
    "note",
]
# Per share of a rule's verdicts (assessment.criteria.pass_rate.SHARES), its shift column.
SHIFTS = {
    "pass_rate": "shift_pp",
    "fail_share": "fail_shift_pp",
    "insufficient_share": "insufficient_shift_pp",
}
FIELD_COLUMNS = [
    "field",
    "kind",
    "group",
    "baseline_n",
    "current_n",
    "baseline_missing_share",
    "current_missing_share",
    "bins",
    "psi",
    "band",
    "largest_bin",
    "largest_baseline_share",
    "largest_current_share",
    "note",
]
POPULATION_COLUMNS = ["measure", "baseline", "current", "shift_pp", "band", "note"]
MOVED_COLUMNS = ["table", "name", "measure", "baseline", "current", "shift", "band", "detail"]
MOVED_BANDS = ("act", "watch")


@dataclass
class Monitoring:
    """The three tables of one comparison and where the two sides came from; ``rejected``:
    the inputs of a batch screened now (:func:`monitor_batch`) that could not be scored, one
    row each as ``assess screen`` lists them (empty when two outputs are compared)."""

    rules: pd.DataFrame
    fields: pd.DataFrame
    population: pd.DataFrame
    sources: dict[str, str] = field(default_factory=dict)
    rejected: pd.DataFrame = field(default_factory=pd.DataFrame)

    def band_counts(self) -> dict[str, dict[str, int]]:
        """``{"rules": {"act": n, ...}, "fields": {...}}``, every band named."""
        return {
            name: {b: int((table["band"] == b).sum()) for b in BAND_ORDER}
            for name, table in (("rules", self.rules), ("fields", self.fields))
        }

    def unchanged(self) -> bool:
        """Nothing moved: every rule's pass rate, fail and insufficient shares, every field's
        distribution (PSI 0) and every population measure as in the baseline."""
        moves = [
            *(self.rules.get(shift) for shift in SHIFTS.values()),
            self.fields.get("psi"),
            self.population["shift_pp"].iloc[1:],
        ]
        values = pd.concat([pd.Series(m, dtype="float64") for m in moves if m is not None])
        return bool(values.fillna(0).abs().max(skipna=True) == 0) if len(values) else True

    def moved(self) -> pd.DataFrame:
        """What moved out of the stable band (watch or act), worst first (:func:`moved`)."""
        return moved(self)

    def worst_band(self) -> str:
        """The most severe band of any rule, field or population measure."""
        found = set(self.rules["band"]) | set(self.fields["band"]) | set(self.population["band"])
        return next((b for b in BAND_ORDER[:3] if b in found), "stable")


def monitor_outputs(
    baseline: str | Path, current: str | Path, *, fields=None, limits=None
) -> Monitoring:
    """Read two screening outputs (:func:`read_screening`) and compare them."""
    before, after = read_screening(baseline), read_screening(current)
    sources = {"baseline": _source(baseline), "current": _source(current)}
    return monitor(before, after, fields=fields, limits=limits, sources=sources)


def _source(given: str | Path) -> str:
    """A screening output named as given (never an absolute local path), with its sha256."""
    path = screening_file(given)
    return f"{shown_path(path, [given])} (sha256 {sha256_of(path)[:16]})"


def monitor_batch(
    baseline: str | Path, inputs: list[str | Path], settings: Settings, *, jobs: int | None = None
) -> Monitoring:
    """Compare a baseline screening output with a new batch of applications, screened now
    with ``settings`` (rules, model, as-of date) and nothing written; the batch's inputs that
    could not be scored are the result's ``rejected``."""
    before = read_screening(baseline)
    screening = screen_inputs(inputs, settings, jobs=jobs)
    batch = f"{len(inputs)} input(s) screened as of {settings.as_of.isoformat()}"
    sources = {"baseline": _source(baseline), "current": batch}
    found = monitor(before, screening.results, sources=sources)
    found.rejected = screening.rejected
    return found


def monitor(
    baseline: pd.DataFrame,
    current: pd.DataFrame,
    *,
    fields: pd.DataFrame | None = None,
    limits: pd.DataFrame | None = None,
    sources: dict[str, str] | None = None,
) -> Monitoring:
    """Compare two screening result frames: rules, fields and population, worst first."""
    limits = load_bands(SHIFT_MEASURE) if limits is None else limits
    return Monitoring(
        rules=rule_shifts(baseline, current, limits),
        fields=field_stability(baseline, current, fields),
        population=population_shifts(baseline, current, limits),
        sources=dict(sources or {}),
    )


# Reading ---------------------------------------------------------------------------------


def read_screening(path: str | Path) -> pd.DataFrame:
    """The Screening results of an ``assess screen`` output folder or file."""
    file = screening_file(path)
    frame = _read(file)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            f"not screening results: column(s) {', '.join(missing)} missing",
            where=_where(file),
            expected="the columns assess screen writes: project_id ... recommendation ... "
            "decision_reason, then one verdict column per rule",
            got=f"columns {', '.join(map(str, list(frame.columns)[:8])) or '(none)'}",
            hint="pass a folder written by assess screen -o, or its screening.xlsx / "
            ".parquet / .csv",
        )
    return frame


def screening_file(path: str | Path) -> Path:
    """The file to read: ``path`` itself, or the first of :data:`SCREENING_FILES` in it."""
    path = Path(path)
    if path.is_dir():
        found = [path / name for name in SCREENING_FILES if (path / name).is_file()]
        if not found:
            names = sorted(p.name for p in path.iterdir())
            raise InputError(
                "not a screening output folder",
                where=str(path),
                expected=f"a folder holding {' or '.join(SCREENING_FILES[:2])}",
                got=", ".join(names[:6]) + (" ..." if len(names) > 6 else "") or "an empty folder",
                hint="pass the folder given to assess screen -o",
            )
        return found[0]
    if not path.is_file() or path.suffix.lower() not in (".parquet", ".xlsx", ".csv"):
        raise InputError(
            "cannot read screening results",
            where=str(path),
            expected="an assess screen output folder, or a screening .xlsx, .parquet or .csv",
            got="no such file or folder" if not path.exists() else f"a {path.suffix} file",
            hint="check the path; assess screen -o OUTDIR writes OUTDIR/screening.xlsx",
        )
    return path


def _read(file: Path) -> pd.DataFrame:
    """The results in ``file``; of a workbook, the table of its Screening sheet: from its
    header row under the heading line (:data:`HEADER_ROW`), or from the first row in a sheet
    written before the heading line was added."""
    suffix = file.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(file)
        if suffix == ".csv":
            return pd.read_csv(file, encoding="utf-8-sig", low_memory=False)
        try:
            table = pd.read_excel(
                file, sheet_name="Screening", engine="calamine", header=HEADER_ROW
            )
        except ValueError:  # fewer rows than the heading and the header: an older sheet
            table = pd.DataFrame()
        if "project_id" not in table.columns:  # the header in the first row: an older sheet
            table = pd.read_excel(file, sheet_name="Screening", engine="calamine")
        return table
    except Exception as error:  # the readers raise many kinds; all mean "not this format"
        raise InputError(
            "cannot read screening results",
            where=_where(file),
            expected="a file written by assess screen (sheet Screening in an .xlsx)",
            got=f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}",
            hint="pass the folder given to assess screen -o, or one of its files",
        ) from error


def _where(file: Path) -> str:
    return f"{file}, sheet Screening" if file.suffix.lower() == ".xlsx" else str(file)


# Data ------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def load_fields(path: str | Path | None = None) -> pd.DataFrame:
    """The fields to watch: ``field``, ``kind`` (numeric or category), ``group``."""
    path = Path(path) if path else data_dir("rules") / "monitor" / "fields.csv"
    table = read_reference_table(path, dict.fromkeys(("field", "kind", "group"), "text"))
    bad = table[~table["kind"].isin(FIELD_KINDS)]
    if len(bad):
        row = bad.index[0]
        raise AssessmentError(
            "unknown field kind",
            where=f"{path}, row {row + 2}, column kind",
            expected=" or ".join(FIELD_KINDS),
            got=repr(bad.at[row, "kind"]),
        )
    return table


# Rules -----------------------------------------------------------------------------------


def rule_columns(frame: pd.DataFrame) -> list[str]:
    """The verdict columns: those after ``decision_reason`` holding only verdicts."""
    columns = list(frame.columns)
    after = columns[columns.index("decision_reason") + 1 :]
    return [c for c in after if set(frame[c].dropna().astype(str).unique()) <= set(VERDICTS)]


def _programmes_of(rule_ids: list[str]) -> dict[str, str]:
    """The programme of each rule id (the packaged rules'; an id they lack: none, so its
    pass rate counts every project)."""
    rules = {rule.rule_id: rule.programme for rule in load_rules().rules}
    return {rule_id: rules[rule_id] for rule_id in rule_ids if rule_id in rules}


def rule_shifts(
    baseline: pd.DataFrame, current: pd.DataFrame, limits: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per rule, baseline and current: the projects it applies to, its pass rate and its fail
    and insufficient shares (:func:`assessment.criteria.pass_rate.pass_rates`), the shift of
    each in percentage points, the z statistic of the pass rate and the band, the worst of
    the three shifts' (:data:`RULE_COLUMNS`)."""
    limits = load_bands(SHIFT_MEASURE) if limits is None else limits
    before, after = rule_columns(baseline), rule_columns(current)
    both = [rule for rule in before if rule in after]
    programme_of = _programmes_of(both)
    rates = {
        side: pass_rates(frame, both, asked_of(frame, programme_of))
        for side, frame in (("baseline", baseline), ("current", current))
    }
    table = pd.DataFrame({"rule_id": both})
    for side, found in rates.items():
        table[f"{side}_applicable"] = found["applicable"].to_numpy()
        for share in SHIFTS:
            table[f"{side}_{share}"] = found[share].to_numpy()
    for share, shift in SHIFTS.items():
        table[shift] = 100 * (table[f"current_{share}"] - table[f"baseline_{share}"])
    passed = (rates["baseline"]["pass"].to_numpy(), rates["current"]["pass"].to_numpy())
    table["z"] = two_proportion_z(
        passed[0], table["baseline_applicable"], passed[1], table["current_applicable"]
    )
    bands = [banded(table[shift], SHIFT_MEASURE, limits) for shift in SHIFTS.values()]
    table["band"] = reduce(_worse, bands)
    stable = float(limits["below"].iloc[0])
    table["note"] = [_rule_note(row, stable) for row in table.itertuples()]
    parts = [part for part in (table, _one_sided(before, after, "rule_id")) if len(part)]
    table = pd.concat(parts, ignore_index=True) if parts else table
    return worst_first(table.reindex(columns=RULE_COLUMNS), "shift_pp")


def _worse(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Per row the worse of two bands (a band that was compared beats ``not compared``)."""
    rank = {band: i for i, band in enumerate(BAND_ORDER)}
    better = np.array([rank[a] <= rank[b] for a, b in zip(first, second, strict=True)], bool)
    return np.where(better, first, second)


def _rule_note(row, stable: float) -> str:
    """Why a rule is not compared, and a shift in its share insufficient (data that went
    missing, or came in) beyond the ``stable`` limit and larger than that of its pass rate."""
    sides = [s for s in ("baseline", "current") if getattr(row, f"{s}_applicable") == 0]
    notes = [f"applies to no project in the {' and the '.join(sides)}"] if sides else []
    shift = row.insufficient_shift_pp
    if abs(shift) >= stable and abs(shift) > abs(np.nan_to_num(row.shift_pp)):
        notes.append(f"share insufficient {shift:+.1f} pp")
    return joined(notes)


def _one_sided(before: list[str], after: list[str], key: str) -> pd.DataFrame:
    rows = [{key: r, "note": "only in the baseline"} for r in before if r not in after]
    rows += [{key: r, "note": "only in the current"} for r in after if r not in before]
    return pd.DataFrame(rows, columns=[key, "note"]).assign(band=NOT_COMPARED)


def two_proportion_z(
    passed_before: object, n_before: object, passed_now: object, n_now: object
) -> np.ndarray:
    """z = (p2 - p1) / sqrt(p (1 - p) (1/n1 + 1/n2)), p the pooled rate; 0 when both rates
    are 0 or both 1; missing when a side has no rows."""
    x1, n1, x2, n2 = (
        np.asarray(v, dtype=float) for v in (passed_before, n_before, passed_now, n_now)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (x1 + x2) / (n1 + n2)
        spread = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (x2 / n2 - x1 / n1) / spread
    both = (n1 > 0) & (n2 > 0)
    return np.where(both & (spread == 0), 0.0, np.where(both, z, np.nan))


# Fields ----------------------------------------------------------------------------------


def field_stability(
    baseline: pd.DataFrame, current: pd.DataFrame, fields: pd.DataFrame | None = None
) -> pd.DataFrame:
    """PSI and band per watched field (:data:`FIELD_COLUMNS`); a field missing on a side
    is kept as ``not compared``."""
    fields = load_fields() if fields is None else fields
    rows = [_field_row(spec, baseline, current) for spec in fields.itertuples(index=False)]
    return worst_first(pd.DataFrame(rows, columns=FIELD_COLUMNS), "psi")


def _field_row(spec, baseline: pd.DataFrame, current: pd.DataFrame) -> dict:
    row = {"field": spec.field, "kind": spec.kind, "group": spec.group, "note": ""}
    absent = [s for s, f in (("baseline", baseline), ("current", current)) if spec.field not in f]
    if absent:
        return row | {"band": NOT_COMPARED, "note": f"no column in the {' and '.join(absent)}"}
    before, after = baseline[spec.field], current[spec.field]
    shares = numeric_shares if spec.kind == "numeric" else level_shares
    labels, expected, actual = shares(before, after)
    value = round(psi(expected, actual), 6)
    return row | {
        "baseline_n": int(len(before)),
        "current_n": int(len(after)),
        "baseline_missing_share": _missing_share(before, spec.kind),
        "current_missing_share": _missing_share(after, spec.kind),
        "bins": len(labels),
        "psi": value,
        "band": band(value),
        **_largest_move(labels, expected, actual),
    }


def numeric_shares(before: pd.Series, after: pd.Series) -> tuple[list[str], list, list]:
    """Bin labels and shares of both sides in the baseline's decile bins (plus missing)."""
    reference = numeric_reference(_numbers(before))
    edges = reference["edges"]
    return _bin_labels(edges), reference["shares"], bin_shares(_numbers(after), edges)


def level_shares(before: pd.Series, after: pd.Series) -> tuple[list[str], list, list]:
    """Levels (``missing`` for blanks) and their shares on both sides."""
    found = [_levels(side).value_counts(normalize=True) for side in (before, after)]
    labels = sorted(set(found[0].index) | set(found[1].index))
    return labels, *([float(s.get(k, 0.0)) for k in labels] for s in found)


def _numbers(values: pd.Series) -> np.ndarray:
    """Numbers at :data:`DIGITS` significant digits: a value read from a workbook (Excel
    keeps 15 digits) falls in the same bin as the same value read from Parquet."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 10.0 ** (DIGITS - 1 - np.floor(np.log10(np.abs(numbers))))
        rounded = np.round(numbers * scale) / scale
    return np.where(np.isfinite(rounded), rounded, numbers)


def _levels(values: pd.Series) -> pd.Series:
    """Text levels; whole numbers (a grade read from Excel as 4.0) as ``4``."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype(float)
        if (numbers.dropna() % 1 == 0).all():
            values = numbers.astype("Int64")
    text = values.astype("string").str.strip()
    return text.mask(text == "", pd.NA).fillna("missing")


def _missing_share(values: pd.Series, kind: str) -> float:
    blank = np.isnan(_numbers(values)) if kind == "numeric" else _levels(values) == "missing"
    return float(np.mean(blank)) if len(values) else np.nan


def _bin_labels(edges: list[float]) -> list[str]:
    """The bins of :func:`assessment.model.training.bin_shares` in signs, read alike in every
    language: ``< 0.12``, ``[0.12, 0.2)`` (from 0.12, below 0.2), ``>= 0.9``, ``missing``."""
    inner = [shown(e, digits=4) for e in edges[1:-1]]
    if not inner:
        return ["all", "missing"]
    middle = [f"[{a}, {b})" for a, b in zip(inner, inner[1:], strict=False)]
    return [f"< {inner[0]}", *middle, f">= {inner[-1]}", "missing"]


def _largest_move(labels: list[str], expected: list, actual: list) -> dict[str, object]:
    """The bin whose share moved most and its shares; no bin ("") when none moved."""
    moves = np.abs(np.asarray(actual, dtype=float) - np.asarray(expected, dtype=float))
    at = int(np.argmax(moves)) if len(labels) else 0
    if not len(labels) or moves[at] == 0:
        return {"largest_bin": ""}
    return {
        "largest_bin": labels[at],
        "largest_baseline_share": float(expected[at]),
        "largest_current_share": float(actual[at]),
    }


# Population ------------------------------------------------------------------------------


def population_shifts(
    baseline: pd.DataFrame, current: pd.DataFrame, limits: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Projects, recommendation shares and eligibility rates (eligible / projects), baseline
    and current, with the shift in percentage points and its band."""
    limits = load_bands(SHIFT_MEASURE) if limits is None else limits
    sides = (baseline, current)
    rows = [_rate_row(f"share {r}", sides, "recommendation", _is(r)) for r in RECOMMENDATIONS]
    for column in ["eligible", *(f"{p}_eligible" for p in PROGRAMMES)]:
        rows.append(_rate_row(f"{column} rate", sides, column, _is_true))
    table = pd.DataFrame(rows, columns=POPULATION_COLUMNS)
    table["band"] = banded(table["shift_pp"], SHIFT_MEASURE, limits)
    projects = {"measure": "projects", "baseline": len(baseline), "current": len(current)}
    head = pd.DataFrame([projects | {"band": "", "note": ""}], columns=POPULATION_COLUMNS)
    return pd.concat([head.astype({"baseline": float, "current": float}), table], ignore_index=True)


def _rate_row(measure: str, sides: tuple, column: str, chosen) -> dict:
    absent = [s for s, f in zip(("baseline", "current"), sides, strict=True) if column not in f]
    if absent:
        return {"measure": measure, "note": f"no column {column} in the {' and '.join(absent)}"}
    before, after = (float(chosen(f[column]).mean()) if len(f) else np.nan for f in sides)
    shift = 100 * (after - before)
    return {"measure": measure, "baseline": before, "current": after, "shift_pp": shift, "note": ""}


def _is(level: str):
    return lambda values: values.astype(str) == level


_TRUE = {True: True, False: False, "True": True, "False": False, "true": True, "false": False}


def _is_true(values: pd.Series) -> pd.Series:
    """True where the value is true (``True``, 1, ``"True"``); blanks and false are not."""
    return values.astype(object).map(_TRUE).eq(True)


# What moved ------------------------------------------------------------------------------


def moved(monitoring: Monitoring) -> pd.DataFrame:
    """What moved out of the stable band (:data:`MOVED_BANDS`), worst first (act, then
    watch; rules, then population, then fields; then by size), one row each
    (:data:`MOVED_COLUMNS`): a rule by the share of its verdicts that moved most
    (:func:`largest_shifts`), a population measure by its rate, both with baseline, current
    and the shift in percentage points; a field by its PSI (``shift``) with its largest bin
    move: its bin as ``detail``, its shares as baseline and current."""
    parts = [
        _rules_moved(monitoring.rules),
        _population_moved(monitoring.population.iloc[1:]),
        _fields_moved(monitoring.fields),
    ]
    table = pd.concat([pd.DataFrame(part, columns=MOVED_COLUMNS) for part in parts])
    table = table[table["band"].isin(MOVED_BANDS)]
    order = {
        "_band": table["band"].map({b: i for i, b in enumerate(MOVED_BANDS)}),
        "_table": table["table"].map({"rules": 0, "population": 1, "fields": 2}),
        "_size": -pd.to_numeric(table["shift"]).abs(),
    }
    ordered = table.assign(**order).sort_values(list(order), kind="stable")
    return ordered[MOVED_COLUMNS].reset_index(drop=True)


def largest_shifts(rules: pd.DataFrame) -> pd.DataFrame:
    """Per row of a rules table, the share of its verdicts (``pass_rate``, ``fail_share``,
    ``insufficient_share``) whose shift is the largest in size, the pass rate on a tie, and
    that shift in percentage points (``share``, ``shift_pp``)."""
    shifts = rules[list(SHIFTS.values())].apply(pd.to_numeric).to_numpy(dtype=float)
    at = np.nan_to_num(np.abs(shifts), nan=-1.0).argmax(axis=1) if len(rules) else []
    return pd.DataFrame(
        {"share": np.array(list(SHIFTS))[at], "shift_pp": shifts[np.arange(len(rules)), at]},
        index=rules.index,
    )


def _rules_moved(rules: pd.DataFrame) -> list[dict]:
    largest = largest_shifts(rules)
    return [
        {
            "table": "rules",
            "name": row["rule_id"],
            "measure": share,
            "baseline": row[f"baseline_{share}"],
            "current": row[f"current_{share}"],
            "shift": shift,
            "band": row["band"],
            "detail": "",
        }
        for row, share, shift in zip(
            rules.to_dict("records"), largest["share"], largest["shift_pp"], strict=True
        )
    ]


def _population_moved(population: pd.DataFrame) -> list[dict]:
    return [
        {
            "table": "population",
            "name": row["measure"],
            "measure": "rate",
            "baseline": row["baseline"],
            "current": row["current"],
            "shift": row["shift_pp"],
            "band": row["band"],
            "detail": "",
        }
        for row in population.to_dict("records")
    ]


def _fields_moved(fields: pd.DataFrame) -> list[dict]:
    return [
        {
            "table": "fields",
            "name": row["field"],
            "measure": "psi",
            "baseline": row["largest_baseline_share"],
            "current": row["largest_current_share"],
            "shift": row["psi"],
            "band": row["band"],
            "detail": row["largest_bin"],
        }
        for row in fields.to_dict("records")
    ]


# Order -----------------------------------------------------------------------------------


def worst_first(table: pd.DataFrame, size: str) -> pd.DataFrame:
    """Rows by band (act first, not compared last), then by the absolute ``size``."""
    order = table["band"].map({b: i for i, b in enumerate(BAND_ORDER)}).fillna(len(BAND_ORDER))
    magnitude = -pd.to_numeric(table[size], errors="coerce").abs().fillna(-1.0)
    keyed = table.assign(_order=order.to_numpy(), _size=magnitude.to_numpy())
    ordered = keyed.sort_values(["_order", "_size"], kind="stable")
    return ordered.drop(columns=["_order", "_size"]).reset_index(drop=True)
