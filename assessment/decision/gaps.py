"""What is missing, wrong or assumed in each application, for all projects at once: the
``data_quality`` of a decision (complete / gaps / errors, the missing fields, the undecided
rules, the assumptions made, with the data-quality score of :mod:`.quality`) and its
``missing_for_decision`` (what to correct or give first, the fields that would decide the
undecided gates and the evidence a doubt asks for). Made from the table of the verdicts that
count (:class:`.verdicts.Verdicts`) and the input problems as arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..criteria.evaluate import Evaluation
from ..criteria.indicators import FALLBACK, input_fields
from ..intake.cells import plain
from .verdicts import Blanks, Verdicts, among, groups, merged, per_project, plain_values

ASSUMPTION_COLUMNS = (
    "pue_basis",
    "emission_factor_level",
    "emission_factor_area",
    "emission_factor_year",
    "emission_factor_status",
)


@dataclass(frozen=True, eq=False)
class Problems:
    """The input problems of the projects, as arrays: each problem's project ``position``
    (problems of no project left out), ``severity``, ``message`` and ``field``, by project,
    each project's in their order."""

    position: np.ndarray
    severity: np.ndarray
    message: np.ndarray
    field: np.ndarray

    @classmethod
    def of(cls, problems: pd.DataFrame | None, index: pd.Index) -> Problems:
        if problems is None or problems.empty:
            empty = np.zeros(0, dtype=object)
            return cls(np.zeros(0, dtype=np.int64), empty, empty, empty)
        at = index.get_indexer(problems["project_id"].to_numpy(dtype=object))
        kept = np.flatnonzero(at >= 0)
        order = kept[np.argsort(at[kept], kind="stable")]
        columns = [problems[name].to_numpy(dtype=object)[order] for name in cls.COLUMNS]
        return cls(at[order].astype(np.int64), *columns)

    COLUMNS = ("severity", "message", "field")


def data_quality(
    frame: pd.DataFrame, problems: Problems, main: Verdicts, quality: pd.DataFrame
) -> list[dict]:
    """Per project: ``verdict`` (complete / gaps / errors), the errors, the missing fields,
    the undecided rules and the assumptions made, with the data-quality score and its parts."""
    count = len(frame)
    errors = np.bincount(problems.position[problems.severity == "error"], minlength=count)
    missing = _missing_fields(problems, count)
    undecided = np.bincount(main.position[main.verdict_is("insufficient")], minlength=count)
    gaps = np.fromiter(map(bool, missing), dtype=bool, count=count) | (undecided > 0)
    verdict = np.where(errors > 0, "errors", np.where(gaps, "gaps", "complete"))
    score, parts = _score_facts(quality)
    columns = (verdict.tolist(), errors.tolist(), missing, undecided.tolist(), assumptions(frame))
    return [
        {
            "verdict": v,
            "errors": e,
            "missing": m,
            "undecided_rules": u,
            "assumed": a,
            "score": s,
            "score_parts": p,
        }
        for v, e, m, u, a, s, p in zip(*columns, score, parts, strict=True)
    ]


def _missing_fields(problems: Problems, count: int) -> list[list]:
    """Per project, the fields its problems say are missing, sorted, each once."""
    rows = np.flatnonzero(problems.message == "missing")
    codes, fields = pd.factorize(problems.field[rows], sort=True, use_na_sentinel=False)
    keys = np.unique(problems.position[rows] * (len(fields) + 1) + codes)  # sorted, each once
    positions, at = np.divmod(keys, len(fields) + 1)
    return per_project(positions, np.asarray(fields, dtype=object)[at].tolist(), count)


def _score_facts(quality: pd.DataFrame) -> tuple[list, list[dict]]:
    """The data-quality score and the share earned of each component, for the JSON."""
    shares = {
        name.removeprefix("data_quality_"): list(map(plain, quality[name].tolist()))
        for name in quality.columns
    }
    score = shares.pop("score")
    parts = [
        dict(zip(shares, values, strict=True)) for values in zip(*shares.values(), strict=True)
    ]
    return score, parts or [{} for _ in score]


def assumptions(frame: pd.DataFrame) -> list[list[dict]]:
    """Per project, each assumption as ``code`` (reports word it per language), its facts and
    ``text``; a missing fact (no PUE at all, no emission factor before the first data year)
    makes no assumption."""
    column = {name: _plain_column(frame, name) for name in ASSUMPTION_COLUMNS}
    design = np.flatnonzero(column["pue_basis"] == "design")
    grid = np.flatnonzero(among(column["emission_factor_level"], ("regional", "national")))
    fallback = np.flatnonzero(column["emission_factor_status"] == FALLBACK)
    return merged(
        [
            (design, [_design_pue() for _ in design]),
            (grid, _grid_factors(column, grid)),
            (fallback, [_fallback() for _ in fallback]),
        ],
        len(frame),
    )


def _plain_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    return plain_values(frame[name].to_numpy(dtype=object))


def _design_pue() -> dict:
    text = "PUE assessed on the design value (no measured annual PUE used)"
    return {"code": "design_pue", "text": text}


def _fallback() -> dict:
    text = "no official grid emission factor published by the assessment date: fallback used"
    return {"code": "factor_fallback", "text": text}


def _grid_factors(column: dict[str, np.ndarray], rows: np.ndarray) -> list[dict]:
    names = ("emission_factor_level", "emission_factor_area", "emission_factor_year")
    found = []
    for level, area, year in zip(*(column[name][rows].tolist() for name in names), strict=True):
        facts = {"level": str(level), "area": str(area), "year": year}
        text = f"grid emission factor at {facts['level']} level ({facts['area']}, {year})"
        found.append({"code": "grid_factor_level", **facts, "text": text})
    return found


# --- what to correct or give: missing_for_decision ------------------------------------------

# Each candidate field: the project's position, its rank within the project's candidates of
# one kind, a sub-rank (a field's place among its gate's fields) and the field.
Named = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def missing_for_decision(
    evaluation: Evaluation,
    problems: Problems,
    main: Verdicts,
    evidence: dict[str, tuple[str, ...]],
    blanks: Blanks,
) -> list[list[str]]:
    """Per project, each once, in this order: the fields an input error makes wrong and a
    missing financing purpose (to correct or give first), the fields that would decide its
    undecided gates (each gate's metric, condition and segment names, indicators traced to
    the fields they come from, where the project has no value; the metric itself when none
    is), and the ``evidence`` (flag -> fields) its raised flags ask for, left blank."""
    count, rules = len(evaluation.frame), evaluation.rules.rules
    parts = [
        _wrong_fields(problems),
        _not_given("financing_purpose", blanks, count),
        _deciding_fields(main, rules, blanks),
        _evidence_fields(main, rules, evidence, blanks),
    ]
    position, rank, sub, field = (np.concatenate([p[i] for p in parts]) for i in range(4))
    kind = np.concatenate([np.full(len(p[0]), at) for at, p in enumerate(parts)])
    order = np.lexsort((sub, rank, kind, position))
    position, field = position[order], field[order]
    first = _first_of_each(position, field)
    return per_project(position[first], field[first].tolist(), count)


def _first_of_each(position: np.ndarray, field: np.ndarray) -> np.ndarray:
    """The rows (in order) where a project names a field for the first time."""
    codes, _ = pd.factorize(field, use_na_sentinel=False)
    _, first = np.unique(position * (codes.max(initial=0) + 1) + codes, return_index=True)
    return np.sort(first)


def _named(position: np.ndarray, rank: object, sub: object, field: object) -> Named:
    count = len(position)
    return (
        position.astype(np.int64),
        np.broadcast_to(rank, count).astype(np.int64),
        np.broadcast_to(sub, count).astype(np.int64),
        np.broadcast_to(np.asarray(field, dtype=object), count).copy(),
    )


def _joined(parts: list[Named]) -> Named:
    empty = _named(np.zeros(0, dtype=np.int64), 0, 0, "")
    return tuple(np.concatenate([part[i] for part in [empty, *parts]]) for i in range(4))  # type: ignore[return-value]


def _wrong_fields(problems: Problems) -> Named:
    """The fields of the input errors, in the order of the problems."""
    named = np.fromiter(map(bool, problems.field), dtype=bool, count=len(problems.field))
    rows = np.flatnonzero((problems.severity == "error") & named)
    return _named(problems.position[rows], rows, 0, problems.field[rows])


def _not_given(name: str, blanks: Blanks, count: int) -> Named:
    return _named(np.flatnonzero(blanks.at(name, np.arange(count))), 0, 0, name)


def _deciding_fields(main: Verdicts, rules: Sequence, blanks: Blanks) -> Named:
    """The blank fields of each undecided gate (in the order of ``main``; a field by its
    place among the rule's names), else its metric."""
    undecided = np.flatnonzero(main.severity_is("gate") & main.verdict_is("insufficient"))
    found = []
    for at, which in groups(main.rule[undecided]):
        rows = undecided[which]
        positions = main.position[rows]
        fields = [f for name in rules[at].names() for f in input_fields(name)]
        blank = np.zeros((len(rows), len(fields)), dtype=bool)
        for column, name in enumerate(fields):
            blank[:, column] = blanks.at(name, positions)
        hit, column = np.nonzero(blank)
        found.append(_named(positions[hit], rows[hit], column, np.asarray(fields, object)[column]))
        none = np.flatnonzero(~blank.any(axis=1))
        found.append(_named(positions[none], rows[none], 0, rules[at].metric))
    return _joined(found)


def _evidence_fields(main: Verdicts, rules: Sequence, evidence: dict, blanks: Blanks) -> Named:
    """The blank evidence fields asked for by each raised flag with a doubt (in the order of
    ``main``; a field by its place in the doubt's evidence)."""
    raised = np.flatnonzero(main.verdict_is("fail"))
    found = []
    for at, which in groups(main.rule[raised]):
        rows = raised[which]
        for column, name in enumerate(evidence.get(rules[at].rule_id, ())):
            blank = rows[blanks.at(name, main.position[rows])]
            found.append(_named(main.position[blank], blank, column, name))
    return _joined(found)
