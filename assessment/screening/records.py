"""Batch screening: any number of workbooks and candidate lists -> one ranked result, the list
of what could not be scored, and a manifest that accounts for every input.

The work is cut into chunks (:mod:`assessment.intake.chunks`: groups of files, or row ranges
of a big list). Each chunk goes through two functions of plain pandas frames:

* :func:`read_records`: chunk -> records, one row per project (its fields, its yearly values as
  ``series@year`` columns) and one row per input that cannot be scored (``_reasons`` set);
* :func:`screen_records`: records -> results, the same rows with programme verdicts, scores,
  PD, recommendation, principal reasons and one verdict column per rule (``status`` says
  ``scored`` or ``rejected``).

So the same code runs in this process, in a pool of processes, or on Dask workers
(``from_map`` + ``map_partitions``, :mod:`assessment.screening.run`); rules and model are loaded
once per process. The caller then ranks the results (:func:`rank`), moves projects whose id
was already scored from another input to the rejected list, and builds the manifest.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, repeat
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import __version__
from .._shared.files import file_stem
from .._shared.text import is_missing, joined, written
from ..criteria.evaluate import VERDICTS
from ..criteria.rules import RuleSet, load_rules
from ..decision.decide import (
    LABEL_WORDS,
    RECOMMENDATIONS,
    SHOWN_STATUSES,
    decision_file,
    decision_folder,
    load_decision_table,
    programmes_as_asked,
    requested_programmes,
    routing_of,
)
from ..intake.cells import as_of_date
from ..intake.chunks import Chunk, read_chunk
from ..intake.dictionary import PROGRAMMES, load_dictionary
from ..intake.read import PROBLEM_COLUMNS, SOURCE_COLUMNS, Applications, of_kept_rows
from ..intake.urls import input_sha256
from ..model.persist import default_model_path, load_model
from ..pipeline import KEY_INDICATORS, PACKAGED_MODEL, Scored, score_read
from ..reports.fields import rating_grades, unit_of
from ..reports.numbers import for_people

FIRST_COLUMNS = [
    "project_id",
    "project_name",
    "source_file",
    "source_row",
    "province",
    "hub",
    "facility_type",
    "financing_purpose",
    "recommendation",
    "green_label",
    "eligible",
    "score",
    "pd",
    "grade",
    "data_quality_score",
]
PROGRAMME_COLUMNS = [
    f"{p}_{part}" for p in PROGRAMMES for part in ("status", "eligible", "score", "grade")
]
# Key indicators shown beside the verdicts (and watched by ``assess monitor``).
KEY_COLUMNS = list(KEY_INDICATORS)  # the key figures of Scored.to_frame(), one list
TEXT_COLUMNS = ["reasons", "decision_reason"]
REJECTED_COLUMNS = ["file", "sheet", "row", "cell", "project_id", "reasons"]


@dataclass(frozen=True)
class Settings:
    """What every chunk is screened with. ``rules``: a rules folder (None: the shipped
    packs); ``model``: a model artefact's path, by default the packaged model (as ``assess
    screen`` and :func:`pipeline.score_applications` use; kept as its path), None for the rules
    alone (``--no-model``); ``reports``: a folder to write one PDF memo per scored project into
    (None: no memos), in ``lang``; ``strict``: input warnings (missing fields included) are
    read and kept in :attr:`Screening.warnings`; ``redact``: outputs that can leave the bank
    (:func:`assessment.screening.batch.redacted`)."""

    as_of: dt.date
    rules: str | None = None
    model: str | Path | None = PACKAGED_MODEL  # type: ignore[assignment]  # -> str | None
    reports: str | None = None
    lang: str = "en"
    templates: str | None = None
    strict: bool = False
    redact: bool = False
    officer: str = ""

    def __post_init__(self) -> None:  # as_of as every entry point takes it (as_of_date)
        object.__setattr__(self, "as_of", as_of_date(self.as_of))
        model = default_model_path() if self.model is PACKAGED_MODEL else self.model
        object.__setattr__(self, "model", None if model is None else str(model))


@dataclass
class Screening:
    """The outcome of a batch: ranked ``results``, ``rejected`` inputs and the ``manifest``."""

    results: pd.DataFrame
    rejected: pd.DataFrame
    manifest: dict = field(default_factory=dict)
    rules: RuleSet | None = None
    warnings: pd.DataFrame | None = None  # scored projects' input warnings (Settings.strict)


@lru_cache(maxsize=4)
def cached_rules(folder: str | None) -> RuleSet:
    return load_rules(folder)


@lru_cache(maxsize=4)
def cached_model(path: str | None):
    return load_model(path) if path else None


def read_records(chunk: Chunk, as_of: dt.date, strict: bool = False) -> pd.DataFrame:
    """The records of one chunk: scorable projects, then the inputs that cannot be scored;
    ``strict`` reads the input warnings too (missing fields included)."""
    release_freed_memory()  # what the previous chunk left behind
    return records_of(read_chunk(chunk, as_of=as_of, missing_warnings=strict))


def release_freed_memory() -> None:
    """Give the memory that freed frames leave in the C heap back to the system (glibc's
    ``malloc_trim``; nothing where there is none). Frames of a big screen are made and freed
    step after step; without this the heap keeps their pages and each step's peak comes on top
    of the last one (a 400,000-row driver peaked at 0.85 GiB instead of 0.71)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    arrow = sys.modules.get("pyarrow")  # Arrow's own pool (mimalloc) keeps its pages too
    if arrow is not None:
        arrow.default_memory_pool().release_unused()


@lru_cache(maxsize=1)
def _malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # another C library (musl has no malloc_trim)
        return None


def records_of(applications: Applications) -> pd.DataFrame:
    """Projects with their yearly values as ``series@year`` columns; then one row with
    ``_reasons`` set per project with an input error and per input row or file that yielded
    no project (several problems of one row make one row)."""
    projects, problems = applications.projects, applications.problems
    errors = problems[problems["severity"] == "error"]
    repeats = errors["message"] == DUPLICATE
    known = _within(errors["project_id"], projects.index)
    own = of_kept_rows(errors, projects)  # a problem stays with the file and row it came from
    failing = set(errors.loc[~repeats & own, "project_id"])
    good = projects.drop(index=sorted(failing))
    records = good.join(wide_yearly(applications.yearly, good.index))
    records = records.rename_axis("project_id").reset_index().assign(_reasons="", _cell="")
    records["_warnings"] = _warning_texts(problems, good.index)
    rejected = _project_rejections(projects, errors[~repeats & own])
    rejected += _unscored_rows(errors[~repeats & ~known])
    rejected += _later_repeats(errors[repeats | (known & ~own)], projects)
    columns = ["project_id", *SOURCE_COLUMNS, "_cell", "_reasons"]
    found = pd.concat([records, pd.DataFrame(rejected, columns=columns)], ignore_index=True)
    found.attrs["addresses"] = applications.addresses  # where each field was read: the memos
    return found


DUPLICATE = "duplicate project_id"


def _warning_texts(problems: pd.DataFrame, project_ids: pd.Index) -> np.ndarray:
    """Per scored project (in ``project_ids`` order), its input warnings as one text ('' for
    none)."""
    warnings = problems[problems["severity"] == "warning"]
    warnings = warnings[_within(warnings["project_id"], project_ids)]
    if warnings.empty:
        return np.full(len(project_ids), "", dtype=object)
    return _texts_by_project(warnings).reindex(project_ids).fillna("").to_numpy(dtype=object)


def _texts_by_project(problems: pd.DataFrame) -> pd.Series:
    """Each project's problems as one reason text, indexed by project id (sorted)."""
    texts = [problem_text(problem) for problem in problems.to_dict("records")]
    return pd.Series(texts).groupby(problems["project_id"].to_numpy(), sort=True).agg("; ".join)


def _within(values: pd.Series, index: pd.Index) -> np.ndarray:
    """Whether each value is in the (unique) index: a hash lookup, where ``isin`` on Arrow
    strings walks the index in Python."""
    return index.get_indexer(values.astype(object)) >= 0


def _project_rejections(projects: pd.DataFrame, errors: pd.DataFrame) -> list[dict]:
    """One row per project with input errors (in id order): its source and every error."""
    if errors.empty:
        return []
    reasons = _texts_by_project(errors)
    rows = projects.loc[reasons.index, SOURCE_COLUMNS].astype(object)
    rows = rows.assign(_cell=_cells_by_project(errors).reindex(reasons.index).fillna("").to_numpy())
    rows = rows.assign(_reasons=reasons.to_numpy())
    return rows.rename_axis("project_id").reset_index().to_dict("records")


def _cells_by_project(problems: pd.DataFrame) -> pd.Series:
    """Each project's cells with a problem, in the order of its reasons, as one text
    (``B12; B33``), indexed by project id."""
    cells = problems["cell"].fillna("").astype(str)
    return cells.groupby(problems["project_id"].to_numpy(), sort=True).agg(
        lambda found: "; ".join(dict.fromkeys(cell for cell in found if cell))
    )


def _unscored_rows(errors: pd.DataFrame) -> list[dict]:
    """Problems of rows and files that yielded no project, one row per input row or file."""
    found: dict[tuple, dict] = {}
    problems = errors.to_dict("records")
    record_of = _records_without_id(problems)
    for problem in problems:
        cell = str(problem.get("cell") or "")
        key = record_of.get(
            _place(problem),
            (problem.get("file"), problem.get("sheet"), _row_of(cell), problem.get("project_id")),
        )
        if key in found:
            found[key]["_reasons"] += "; " + problem_text(problem)
            continue
        found[key] = {
            "project_id": problem.get("project_id") or "",
            "source_file": problem.get("file") or "",
            "source_sheet": problem.get("sheet") or "",
            "source_row": key[2],
            "_cell": cell,
            "_reasons": problem_text(problem),
        }
    return list(found.values())


def _place(problem: dict) -> tuple:
    return (problem.get("file"), problem.get("sheet"), _row_of(str(problem.get("cell") or "")))


def _records_without_id(problems: list[dict]) -> dict[tuple, tuple]:
    """Which record each problem of a record without an id belongs to. A list row's problems
    share the row of its missing ``project_id``; an official workbook (one record over many
    rows and sheets) has one missing ``project_id``, and all of the file's problems without an
    id are that record's."""
    missing_ids: dict[object, list[tuple]] = {}
    for problem in problems:
        if problem.get("field") == "project_id" and not problem.get("project_id"):
            missing_ids.setdefault(problem.get("file"), []).append(_place(problem))
    record_of = {}
    for problem in problems:
        places = missing_ids.get(problem.get("file"), [])
        place = _place(problem)
        if not problem.get("project_id") and place not in places and len(places) == 1:
            record_of[place] = (*places[0], "")
    for places in missing_ids.values():
        record_of.update({place: (*place, "") for place in places})
    return record_of


def _later_repeats(repeats: pd.DataFrame, projects: pd.DataFrame) -> list[dict]:
    """The rows of a repeated id other than the one that was kept (and scored), each with
    its own problems (one rejected row per input row)."""
    rows = []
    for problem in repeats.to_dict("records"):
        kept = (
            projects.loc[problem["project_id"]] if problem["project_id"] in projects.index else None
        )
        row = _row_of(str(problem.get("cell") or ""))
        if (
            kept is not None
            and kept["source_file"] == problem["file"]
            and _same(kept["source_row"], row)
        ):
            continue
        rows.append(problem)
    return _unscored_rows(pd.DataFrame(rows, columns=repeats.columns))


def _same(source_row: object, row: object) -> bool:
    if pd.isna(source_row) or row is pd.NA:
        return pd.isna(source_row) and row is pd.NA
    return int(source_row) == int(row)


def _row_of(cell: str) -> object:
    digits = "".join(ch for ch in cell if ch.isdigit())
    return int(digits) if digits else pd.NA


def problem_text(problem: dict) -> str:
    """One problem as a reason: ``field: message (expected ..., got ...)``."""
    text = str(problem.get("message") or "")
    if problem.get("field"):
        text = f"{problem['field']}: {text}"
    details = [
        f"{word} {problem[key]}"
        for key, word in (("expected", "expected"), ("value", "got"))
        if problem.get(key) not in (None, "")
    ]
    return f"{text} ({', '.join(details)})" if details else text


def wide_yearly(yearly: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """The long yearly table as one float column per ``series@year``, rows in ``index``. Ids,
    series and years are each factorized once (Arrow's dictionary encoding for text), so a
    column's name is written once per distinct pair, not once per value."""
    id_codes, ids = pd.factorize(yearly["project_id"])
    at = np.append(index.get_indexer(ids.astype(object)), -1)[id_codes]
    kept = at >= 0
    series_codes, series = pd.factorize(yearly["series"], use_na_sentinel=False)
    year_codes, years = pd.factorize(yearly["year"], use_na_sentinel=False)
    pairs = series_codes.astype(np.int64) * len(years) + year_codes
    pair_codes, distinct = pd.factorize(pairs[kept])
    series, years = series.astype(object), years.tolist()
    names = [f"{series[p // len(years)]}@{int(years[p % len(years)])}" for p in distinct.tolist()]
    columns = sorted(names)
    position = pd.Index(columns, dtype=object).get_indexer(names)[pair_codes]
    values = np.full((len(index), len(columns)), np.nan)
    values[at[kept], position] = yearly["value"].to_numpy(dtype=float)[kept]
    return pd.DataFrame(values, index=index, columns=columns)


def long_yearly(records: pd.DataFrame) -> pd.DataFrame:
    """The ``series@year`` columns of ``records`` back as the long yearly table."""
    columns = [c for c in records.columns if "@" in c]
    if not columns:
        return pd.DataFrame(columns=["project_id", "year", "series", "value"])
    values = records[columns].to_numpy(dtype=float)
    rows, cols = np.nonzero(~np.isnan(values))
    series, years = zip(*(c.split("@", 1) for c in columns), strict=True)
    return pd.DataFrame(
        {
            "project_id": records["project_id"].to_numpy()[rows],
            "year": np.asarray(years, dtype=int)[cols],
            "series": np.asarray(series, dtype=object)[cols],
            "value": values[rows, cols],
        }
    )


def screen_records(records: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Score the records of one chunk: one result row per project, then one row per input
    that could not be scored (``status`` ``rejected``, with its ``reasons``)."""
    release_freed_memory()  # the reading's frames
    addresses = records.attrs.get("addresses", {})
    records = records.copy(deep=False)
    records.attrs = {}  # else pandas deep-copies them with every column taken
    good = records[records["_reasons"] == ""]
    if settings.redact and "sponsor" in good:  # a version to share: no sponsor in the memos
        good = good.assign(sponsor=pd.NA)
    scored = _score(good, settings, addresses) if len(good) else None
    results = (
        result_rows(scored, settings.lang, settings.templates)
        if scored is not None
        else empty_results(settings)
    )
    if scored is not None and settings.reports:
        from ..reports.memo.write import (
            write_reports,  # a later stage, only when memos are asked for
        )

        write_reports(
            scored,
            settings.reports,
            settings.lang,
            settings.templates,
            as_set=False,
            officer=settings.officer,
        )
    rejected = records[records["_reasons"] != ""]
    parts = [results.assign(status="scored"), _rejected_rows(rejected)]
    if "_warnings" in records:
        warned = good[good["_warnings"] != ""]
        parts.append(_rejected_rows(warned.assign(_reasons=warned["_warnings"]), "warned"))
    return pd.concat(parts, ignore_index=True)


def _score(records: pd.DataFrame, settings: Settings, addresses: dict) -> Scored:
    fields = [c for c in records.columns if "@" not in c and not c.startswith("_")]
    projects = records[fields].set_index("project_id")
    empty = pd.DataFrame(columns=PROBLEM_COLUMNS)
    applications = Applications(projects, long_yearly(records), empty, addresses)
    return score_read(
        applications,
        as_of=settings.as_of,
        rules=cached_rules(settings.rules),
        model=cached_model(settings.model),
        details=bool(settings.reports),  # memos need conditions and data quality
    )


def _rejected_rows(records: pd.DataFrame, status: str = "rejected") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "status": status,
            "project_id": records["project_id"].fillna("").astype(str).to_numpy(),
            "source_file": records["source_file"].to_numpy(),
            "source_sheet": records["source_sheet"].to_numpy(),
            "source_row": records["source_row"].to_numpy(),
            "cell": records["_cell"].fillna("").to_numpy(),
            "reasons": records["_reasons"].to_numpy(),
        }
    )


def result_rows(scored: Scored, lang: str = "en", templates: str | None = None) -> pd.DataFrame:
    """One row per scored project: identity, recommendation, the green label asked for,
    eligibility and score over the floor and route asked for, PD and grade, per-programme
    results (``not_requested`` where not asked for), principal reasons and the decision's
    reason in ``lang`` (:func:`reason_lines`), and one verdict column per rule (named by its
    rule id). Built in one go (no fragmented frame)."""
    frame, evaluation, decisions = scored.frame, scored.evaluation, scored.decisions
    routing = routing_of(evaluation.rules)
    programmes, applied = evaluation.programmes, requested_programmes(frame, routing)
    predictions = scored.predictions
    out: dict[str, object] = {
        column: frame.get(column) for column in ("project_name", *SOURCE_COLUMNS, "province", "hub")
    }
    out |= {column: _one_object_per_value(frame[column]) for column in SHARED if column in frame}
    out |= {column: frame.get(column) for column in ("facility_type", "financing_purpose")}
    out["recommendation"] = _coded(decisions["recommendation"], RECOMMENDATIONS)
    out["green_label"] = _coded(decisions["label_status"], tuple(LABEL_WORDS.values()))
    out["eligible"] = _all_eligible(programmes, applied, routing)
    out["score"] = _mean_score(programmes, applied)
    loan = applied["credit"]  # the PD speaks for loans only: none for a REIT issue
    out["pd"] = predictions["pd"].where(loan) if predictions is not None else np.nan
    # the model's rating grade, a whole number (1 best); each programme's rule-score grade
    # (A-D) is its own column, <programme>_grade
    out["grade"] = (
        rating_grades(predictions["grade"]).where(loan) if predictions is not None else pd.NA
    )
    out["data_quality_score"] = decisions["data_quality_score"]
    shown = programmes_as_asked(evaluation)
    out |= {column: shown[column] for column in PROGRAMME_COLUMNS}
    for programme in PROGRAMMES:  # a few codes each: categorical, not a million strings
        out[f"{programme}_status"] = _coded(shown[f"{programme}_status"], SHOWN_STATUSES)
    for column in KEY_COLUMNS:
        out[column] = frame[column].astype(float) if column in frame else np.nan
    out["reasons"] = reason_lines(scored, lang, templates)
    own = "decision_reason" if lang == "en" else f"decision_reason_{lang}"
    out["decision_reason"] = _coded(decisions[own], _reasons(evaluation, lang))
    for rule in evaluation.rules.rules:
        codes = evaluation.results[rule.rule_id].codes
        out[rule.rule_id] = pd.Categorical.from_codes(codes, VERDICTS)
    return pd.DataFrame(out, index=frame.index).rename_axis("project_id").reset_index()


SHARED = ("source_file", "source_sheet")  # a few values, repeated on every row


def _one_object_per_value(values: pd.Series) -> pd.Series:
    """A column of Python objects with every row of one value holding the same object: a
    chunk's rows share their file and sheet names, so the names are pickled to the driver
    once per chunk and held there once (two names on a million rows weighed 130 MB)."""
    if values.dtype != object or values.isna().any():
        return values
    codes, distinct = pd.factorize(values.to_numpy())
    return pd.Series(distinct.astype(object)[codes], index=values.index, dtype=object)


def _coded(values: pd.Series, categories: tuple[str, ...]) -> pd.Categorical:
    """``values`` as a categorical of fixed ``categories`` (every chunk alike, so the chunks
    concatenate into one categorical column)."""
    return pd.Categorical(values.to_numpy(dtype=object), categories=list(categories))


def _reasons(evaluation, lang: str = "en") -> tuple[str, ...]:
    """The reasons of the decision table the projects were decided with, in ``lang``."""
    folder = decision_folder(evaluation.rules)
    table = load_decision_table(decision_file(folder, "decision_table.csv"))
    return tuple(dict.fromkeys(getattr(row, f"reason_{lang}") for row in table))


def empty_results(settings: Settings) -> pd.DataFrame:
    """The results frame of no project: every column, no row."""
    rule_ids = [rule.rule_id for rule in cached_rules(settings.rules).rules]
    columns = ["project_id", *FIRST_COLUMNS[1:], "source_sheet", *PROGRAMME_COLUMNS]
    return pd.DataFrame(columns=[*columns, *KEY_COLUMNS, *TEXT_COLUMNS, *rule_ids])


def _all_eligible(programmes: pd.DataFrame, applied: dict, routing) -> pd.Series:
    """True when the legal floor and the financing route asked for are eligible; False when
    one is not; else NA (a green label is its own column, ``green_label``)."""
    decisive = routing.of_role("floor", "route")
    verdicts = [programmes[f"{p}_eligible"].where(applied[p], True) for p in decisive]
    stacked = pd.concat(verdicts, axis=1)
    found = stacked.all(axis=1, skipna=True).astype("boolean")
    undecided = stacked.isna().any(axis=1) & found
    return found.mask(undecided, pd.NA)


def _mean_score(programmes: pd.DataFrame, applied: dict) -> pd.Series:
    scores = pd.concat([programmes[f"{p}_score"].where(applied[p]) for p in PROGRAMMES], axis=1)
    return scores.mean(axis=1, skipna=True)


def reason_lines(scored: Scored, lang: str = "en", templates: str | None = None) -> list[str]:
    """Each project's principal reasons as one line: in English the compact line of
    :func:`reasons_text` (all projects at once: :func:`reasons_texts`); in another language the
    memo's words (:func:`assessment.reports.memo.front.reasons_line`, ``templates`` searched
    first)."""
    reasons = scored.decisions["reasons"]
    if lang == "en":
        return reasons_texts(reasons.tolist())
    from ..reports.memo.facts import Run  # the memo's words: loaded when asked for

    look = _look(lang, templates)
    worded = _ReasonWords(Run(scored, look, memos=len(reasons)))
    join = str(look.words["reason_line"]["separator"]).join
    return [join([worded(pid, r) for r in found or []]) for pid, found in reasons.items()]


class _ReasonWords:
    """One reason in the memo's words (:func:`assessment.reports.memo.front.reasons_line`),
    each distinct reason worded once: a wording that read nothing of its project (most do;
    an off-range value or a missing model input reads the project's values) is kept for the
    next project with the same reason."""

    def __init__(self, run) -> None:
        from ..reports.memo.facts import Memo
        from ..reports.memo.front import reasons_line

        self.run, self.kept, self.memo, self.line = run, {}, Memo, reasons_line

    def __call__(self, project_id, reason: dict) -> str:
        try:
            key = tuple((name, type(value), value) for name, value in reason.items())
            return self.kept[key]  # 1 and True are equal keys: their types keep them apart
        except TypeError:  # a value that cannot be a key (a list): worded each time
            key = None
        except KeyError:
            pass
        memo = self.memo(self.run, {"project_id": project_id, "indicators": {}})
        said = self.line(memo, [reason])
        if key is not None and not memo.read and not {"project", "yearly"} & memo.__dict__.keys():
            self.kept[key] = said
        return said


@lru_cache(maxsize=4)
def _look(lang: str, templates: str | None):
    from ..reports.pdf.style import Look

    return Look(lang, templates)


def reasons_text(reasons: list[dict]) -> str:
    """Principal reasons as one line, numbers as people write them:
    ``CR-DSCR-MIN: 0.75x vs >= 1.2x (ENGINE-CREDIT)``, ``model: WALE 2.8 years raises the PD``."""
    return reasons_texts([reasons])[0]


def reasons_texts(projects: Sequence[list[dict] | None]) -> list[str]:
    """:func:`reasons_text` of each project's reasons, all written at once: every reason of
    every project in one column, each distinct value written once in its unit, the parts
    joined by Arrow."""
    lists = [found or [] for found in projects]
    flat = list(chain.from_iterable(lists))
    model = np.asarray(list(map(dict.get, flat, repeat("kind"))), dtype=object) == "model"
    parts = np.empty(len(flat), dtype=object)
    parts[model] = _model_parts([flat[i] for i in np.flatnonzero(model).tolist()])
    parts[~model] = _rule_parts([flat[i] for i in np.flatnonzero(~model).tolist()])
    offsets = np.concatenate([[0], np.cumsum(np.fromiter(map(len, lists), dtype=np.int64))])
    lines = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(parts, pa.string()))
    return pc.binary_join(lines, "; ").to_pylist()


def _rule_parts(reasons: list[dict]) -> np.ndarray:
    """``CR-DSCR-MIN: 0.75x vs >= 1.2x (ENGINE-CREDIT)``; a verdict other than fail in
    brackets: ``GRN-PUE-CLUSTER-WEST [borderline]: 1.2 vs <= 1.2 (HUB-WEST)``."""
    keys = ("criterion", "verdict", "metric", "unit", "value", "operator", "threshold", "source")
    r = _columns(reasons, keys, {"operator": "", "source": ""})
    units = _units(r["unit"], [metric or "" for metric in r["metric"]])
    verdicts = _texts(r["verdict"])
    return _joined(
        _texts(r["criterion"]),
        np.where(verdicts == "fail", "", " [" + verdicts + "]"),
        ": ",
        _in_units(r["value"], units, _shown),
        " vs ",
        _texts(r["operator"]),
        " ",
        _in_units(r["threshold"], units, _shown),
        " (",
        _texts(r["source"]),
        ")",
    )


def _model_parts(reasons: list[dict]) -> np.ndarray:
    """``model: WALE 2.8 years, raises the PD``; ``model: DSCR minimum not given, raises ...``."""
    r = _columns(reasons, ("criterion", "value", "contribution"), {})
    raises = np.asarray(r["contribution"], dtype=float) > 0
    units = _units([None] * len(reasons), r["criterion"])
    return _joined(
        "model: ",
        written(r["criterion"], _model_label),
        " ",
        _in_units(r["value"], units, _said),
        ", ",
        np.where(raises, "raises", "lowers").astype(object),
        " the PD",
    )


def _columns(reasons: list[dict], keys: tuple[str, ...], defaults: dict) -> dict[str, list]:
    """The ``keys`` of the reasons as columns: a key a reason lacks is None (or its default
    in ``defaults``), but ``criterion`` and ``contribution`` must be there. (A list per key:
    no tuple per reason for the garbage collector to follow.)"""
    return {key: _column(reasons, key, defaults) for key in keys}


def _column(reasons: list[dict], key: str, defaults: dict) -> list:
    if key in ("criterion", "contribution"):
        return [reason[key] for reason in reasons]
    return [reason.get(key, defaults.get(key)) for reason in reasons]


def _units(own: list, metrics: list) -> np.ndarray:
    """A reason's unit: its own, else its metric's (each metric looked up once)."""
    of_metric = written(metrics, unit_of)
    return np.asarray(
        [unit or fallback for unit, fallback in zip(own, of_metric, strict=True)], dtype=object
    )


def _in_units(values: list, units: np.ndarray, write) -> np.ndarray:
    """Each of ``values`` written by ``write(value, unit)`` in its own unit, each distinct
    value of a unit once."""
    items = np.fromiter(values, dtype=object, count=len(values))
    found = np.empty(len(values), dtype=object)
    codes, distinct = pd.factorize(units, use_na_sentinel=False)
    for code, unit in enumerate(distinct.tolist()):
        at = np.flatnonzero(codes == code)
        found[at] = written(items[at], lambda v, u=unit: write(v, u))
    return found


def _joined(*parts: str | np.ndarray) -> np.ndarray:
    """The parts joined element by element (a text is the same in every row)."""
    arrays = [p if isinstance(p, str) else pa.array(p, pa.string()) for p in parts]
    return pc.binary_join_element_wise(*arrays, "").to_numpy(zero_copy_only=False)


def _texts(values: list) -> np.ndarray:
    """Each value as an f-string writes it."""
    return np.fromiter(map(format, values), dtype=object, count=len(values))


def _model_label(name: str) -> str:
    field = load_dictionary().fields.get(name)
    return field.label("en") if field is not None else _figure_words().get(name, name)


def _said(value: object, unit: str) -> str:
    return "not given" if is_missing(value) else for_people(value, unit)


@lru_cache(maxsize=1)
def _figure_words() -> dict[str, str]:
    """The indicators' names in words (the report templates' ``figures``, English)."""
    from ..reports.pdf.style import load_template

    return load_template("en.yaml")["figures"]


def _shown(value: object, unit: str = "") -> str:
    """A reason's value or threshold in its unit; several in brackets (reasons are joined by
    '; ')."""
    if isinstance(value, list | tuple):
        return f"({joined(for_people(v, unit) for v in value)})"
    return for_people(value, unit)


def rank(results: pd.DataFrame, *, consume: bool = False) -> pd.DataFrame:
    """In the order :data:`RANKING` says; the rows are taken once in that order, column by
    column. With ``consume`` each column is taken out of ``results`` as it is ranked
    (``results`` is left without columns), so a big result is never held twice in full."""
    order = _ranking_order(results)
    index = pd.RangeIndex(len(results))
    ranked = {"rank": np.arange(1, len(results) + 1)}
    for name in list(results.columns):
        column = results.pop(name) if consume else results[name]
        ranked[name] = column.take(order).set_axis(index)
    frame = pd.DataFrame(ranked, index=index, copy=False)
    # each column of a numpy type is a block of its own here: joined when there are many (a
    # frame of object columns), as pandas warns on an insert into one of over 100 blocks
    numpy_columns = sum(not isinstance(t, pd.api.extensions.ExtensionDtype) for t in frame.dtypes)
    return frame.copy() if numpy_columns > _MANY_BLOCKS else frame


_MANY_BLOCKS = 50


def _ranking_order(results: pd.DataFrame) -> np.ndarray:
    ids, _ = pd.factorize(results["project_id"].astype(object), sort=True)
    recommendation = pd.Categorical(results["recommendation"], categories=RECOMMENDATIONS)
    pd_key = results["pd"].astype(float).to_numpy()  # blank for a REIT issue
    return np.lexsort(
        (
            ids,
            -results["score"].astype(float).fillna(-1.0).to_numpy(),
            np.nan_to_num(pd_key, nan=np.inf),
            np.where(recommendation.codes < 0, len(RECOMMENDATIONS), recommendation.codes),
        )
    )


def split_duplicates(results: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Results without the second and later rows of one ``project_id`` (inputs in order),
    and those rows as rejected rows that name where the id was first scored."""
    repeated = results["project_id"].duplicated(keep="first")
    if not repeated.any():
        return results, _rejected_frame([])
    first = results[~repeated].set_index("project_id")
    rows = []
    for row in results[repeated].to_dict("records"):
        seen = first.loc[row["project_id"]]
        where = f"{seen['source_file']} row {seen['source_row']}"
        rows.append(
            _rejected_row(row, f"duplicate project_id: already scored from {where.strip()}")
        )
    return results[~repeated], _rejected_frame(rows)


def _rejected_row(row: dict, reasons: str, cell: str = "") -> dict:
    source_row = row.get("source_row")
    return {
        "file": row.get("source_file") or "",
        "sheet": row.get("source_sheet") or "",
        "row": source_row if source_row is not None else pd.NA,
        "cell": cell,
        "project_id": row.get("project_id") or "",
        "reasons": reasons,
    }


def _rejected_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=REJECTED_COLUMNS)
    frame["row"] = pd.array(frame["row"], dtype="Int64")
    return frame


def rejected_of(parts: pd.DataFrame, status: str = "rejected") -> pd.DataFrame:
    """The rejected (or ``warned``) rows of screened chunks, in the Rejected sheet's columns."""
    wanted = ("project_id", *SOURCE_COLUMNS, "cell", "reasons")  # not every result column
    rows = parts.loc[parts["status"] == status, [c for c in wanted if c in parts.columns]]
    return _rejected_frame(
        [_rejected_row(row, row["reasons"], row["cell"]) for row in rows.to_dict("records")]
    )


def report_files(project_ids: pd.Series) -> dict[str, str]:
    """Each project's memo, relative to the output folder: ``reports/<file name>.pdf``."""
    return {str(i): f"reports/{file_stem(str(i))}.pdf" for i in project_ids}


def manifest(
    files: list[str], results: pd.DataFrame, rejected: pd.DataFrame, settings: Settings
) -> dict:
    """Every input with its hash, the projects scored from it and what was rejected (and,
    when memos are written, each project's memo file); the counts add up: every rejected row
    is one input row or one whole file."""
    scored = results.groupby("source_file", sort=False)["project_id"].agg(list).to_dict()
    refused = {
        file: rows.drop(columns="file").to_dict("records")
        for file, rows in rejected.astype(object).where(rejected.notna(), None).groupby("file")
    }
    inputs = [
        {
            "path": file,
            "sha256": input_sha256(file),
            "projects": scored.get(file, []),
            "rejected": refused.get(file, []),
        }
        for file in files
    ]
    rules = cached_rules(settings.rules)
    model = cached_model(settings.model)
    return {
        "inputs": inputs,
        **({"reports": report_files(results["project_id"])} if settings.reports else {}),
        "counts": {
            "files": len(files),
            "projects_scored": int(len(results)),
            "rejected": int(len(rejected)),
        },
        "rule_packs": rules.versions(),
        "model": None if model is None else model.card.get("sha256"),
        "engine": __version__,
        "as_of": settings.as_of.isoformat(),
    }
