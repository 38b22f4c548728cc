"""What a decision says of each project, from the table of its verdicts
(:class:`.verdicts.Verdicts`), worked out for all projects at once: the principal reasons
(rule reasons, their remedies filled with the project's values, then the risk model's factors),
the green label's reasons and the conditions attached. Values are written as text once per
distinct value (:func:`assessment._shared.text.written`); the dictionaries the outputs read are
made at the end, one list per project.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd

from .._shared.text import shown, written
from ..criteria import conditions
from ..criteria.evaluate import Evaluation
from ..intake.cells import plain
from .verdicts import Blanks, Verdicts, among, by_kind, facts_of, groups, merged, per_project

# What the principal reasons are, in this order: (severity, verdict).
PRINCIPAL = (
    ("gate", "fail"),
    ("flag", "fail"),
    ("gate", "doubted"),
    ("gate", "borderline"),
    ("gate", "insufficient"),
)
MAX_REASONS = 4  # rule reasons first, then model factors up to this many in all
MODEL_SOURCE = "risk model (see the model card)"
PLACEHOLDER = re.compile(r"\{([a-z_0-9]+)\}")


def principal_reasons(
    evaluation: Evaluation,
    main: Verdicts,
    predictions: pd.DataFrame | None,
    loans: np.ndarray,
) -> list[list[dict]]:
    """Per project, every failed gate, raised flag, doubted and borderline pass and undecided
    gate of ``main`` (what the decision rests on, in :data:`PRINCIPAL`'s order; each remedy
    filled with the project's values), then the model factors of a loan (:func:`model_factors`)
    up to :data:`MAX_REASONS` in all."""
    count = len(evaluation.frame)
    rows = principal_rows(main)
    found = rule_reasons(evaluation, rows)
    fill_remedies(found, rows, evaluation)
    room = np.maximum(0, MAX_REASONS - np.bincount(rows.position, minlength=count))
    factors = model_factors(predictions, loans, room)
    return merged([(rows.position, found), factors], count)


def principal_rows(main: Verdicts) -> Verdicts:
    """The verdicts of :data:`PRINCIPAL` in its order, each kind in the order of ``main``."""
    kind = np.full(len(main), len(PRINCIPAL))
    for at, (severity, verdict) in enumerate(PRINCIPAL):
        kind[main.severity_is(severity) & main.verdict_is(verdict)] = at
    chosen = kind < len(PRINCIPAL)
    return main.where(chosen).by_project(kind[chosen])


def rule_reasons(evaluation: Evaluation, rows: Verdicts) -> list[dict]:
    """One reason per row: what its rule says (:func:`reason_facts`) with the row's verdict,
    value and threshold."""
    facts = [reason_facts(rule) for rule in evaluation.rules.rules]
    values, thresholds = facts_of(rows, evaluation)
    columns = (rows.rule.tolist(), rows.words().tolist(), values.tolist(), thresholds.tolist())
    return [
        {**facts[rule], "verdict": verdict, "value": value, "threshold": threshold}
        for rule, verdict, value, threshold in zip(*columns, strict=True)
    ]


def reason_facts(rule) -> dict:
    """What a reason says of its rule, in the order of a reason's keys (the verdict, value
    and threshold are the project's)."""
    return {
        "kind": "rule",
        "criterion": rule.rule_id,
        "title": rule.title_en,
        "title_zh": rule.title_zh,
        "verdict": None,
        "metric": rule.metric,
        "value": None,
        "operator": rule.operator,
        "threshold": None,
        "unit": rule.unit,
        "source": rule.source,
        "clause": rule.clause,
        "clause_zh": rule.clause_zh,
        "confidence": rule.confidence,
        "remedy": rule.remedy_en,
    }


def fill_remedies(reasons: list[dict], rows: Verdicts, evaluation: Evaluation) -> None:
    """Each ``{field}`` of a reason's remedy replaced by the project's value (``-`` where it
    has none): "not yet eligible: operating from 2023-09-01"."""
    for at, which in groups(rows.rule):
        remedy = evaluation.rules.rules[at].remedy_en or ""
        if "{" not in remedy:
            continue
        texts = remedy_texts(remedy, evaluation.frame, rows.position[which])
        for row, text in zip(which.tolist(), texts.tolist(), strict=True):
            reasons[row]["remedy"] = text


def remedy_texts(remedy: str, frame: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
    """``remedy`` with its placeholders filled for the projects at ``positions``."""
    pieces = PLACEHOLDER.split(remedy)  # words, name, words, name, ..., words
    found = np.full(len(positions), pieces[0], dtype=object)
    for name, words in zip(pieces[1::2], pieces[2::2], strict=True):
        found = found + field_texts(frame, name, positions) + words
    return found


def field_texts(frame: pd.DataFrame, name: str, positions: np.ndarray) -> np.ndarray:
    """The field ``name`` of the projects at ``positions`` as a remedy writes it."""
    if name not in frame.columns:
        return np.full(len(positions), "-", dtype=object)
    return written(frame[name].iloc[positions].to_numpy(dtype=object), _field_text)


def _field_text(value: object) -> str:
    if _is_blank(value):
        return "-"
    return value.date().isoformat() if isinstance(value, pd.Timestamp) else str(plain(value))


def _is_blank(value: object) -> bool:
    return value is None or (not isinstance(value, str | list | tuple) and bool(pd.isna(value)))


def model_factors(
    predictions: pd.DataFrame | None, loans: np.ndarray, room: np.ndarray
) -> tuple[np.ndarray, list[dict]]:
    """The risk model's factors of each loan (the predictions' ``reason_<k>_feature``,
    ``reason_<k>_value`` and ``reason_<k>_contribution``, by rank ``k`` from 1; a blank
    feature is no factor), at most ``room`` of a project: their project positions and
    reasons."""
    columns = set(getattr(predictions, "columns", ()))
    ranked = list(
        itertools.takewhile(lambda k: f"reason_{k}_feature" in columns, itertools.count(1))
    )
    if not ranked:
        return np.zeros(0, dtype=np.int64), []

    def stacked(part: str, dtype: object) -> np.ndarray:
        parts = [predictions[f"reason_{k}_{part}"].to_numpy(dtype=dtype) for k in ranked]
        return np.column_stack(parts)

    features = stacked("feature", object)
    given = pd.notna(features) & loans[:, None]
    rows, rank = np.nonzero(given & (np.cumsum(given, axis=1) <= room[:, None]))
    values = by_kind(stacked("value", object)[rows, rank], _factor_kind).tolist()
    effects = stacked("contribution", float)[rows, rank].tolist()
    return rows, [
        {
            "kind": "model",
            "criterion": feature,
            "value": value,
            "contribution": effect,
            "source": MODEL_SOURCE,
        }
        for feature, value, effect in zip(
            features[rows, rank].tolist(), values, effects, strict=True
        )
    ]


def _factor_kind(kind: type, values: np.ndarray) -> np.ndarray:
    """A factor's value as the model reports it: NaN as None, numpy scalars as Python ones."""
    if issubclass(kind, float):  # a float, or numpy's float64
        numbers = values.astype(float)
        found = numbers.astype(object)
        found[np.isnan(numbers)] = None
        return found
    if issubclass(kind, np.generic):
        return np.fromiter((value.item() for value in values), dtype=object, count=len(values))
    return values


def green_labels(evaluation: Evaluation, label_rows: Verdicts, labels: np.ndarray) -> list[dict]:
    """The green label asked for: its status and, unless granted (or not asked for), the
    label gates that fail or cannot be decided (why it is refused or undecided)."""
    open_ = ~among(labels, ("granted", "not_requested"))
    rows = label_rows.where(label_rows.severity_is("gate") & open_[label_rows.position])
    found = per_project(rows.position, rule_reasons(evaluation, rows), len(labels))
    return [
        {"status": status, "reasons": reasons}
        for status, reasons in zip(labels.tolist(), found, strict=True)
    ]


def covenants(
    evaluation: Evaluation, main: Verdicts, blanks: Blanks, declined: np.ndarray
) -> list[list[dict]]:
    """Per project, one condition per failed score rule and per condition rule not met or not
    shown; not a condition whose ``applies_when`` cannot be decided for a blank field (a
    Beijing covenant is no condition of a project whose province is not given); none for a
    declined project."""
    scored = main.severity_is("score") & main.verdict_is("fail")
    condition = main.severity_is("condition") & ~_undecided_scope(evaluation, main, blanks)
    rows = main.where((scored | condition) & ~declined[main.position])
    return per_project(rows.position, _covenant_records(evaluation, rows), len(declined))


def _undecided_scope(evaluation: Evaluation, main: Verdicts, blanks: Blanks) -> np.ndarray:
    """Undecided verdicts whose rule's condition names a blank field: whether the rule
    applies at all is not known."""
    found = np.zeros(len(main), dtype=bool)
    undecided = np.flatnonzero(main.verdict_is("insufficient"))
    for at, which in groups(main.rule[undecided]):
        rows = undecided[which]
        for test in conditions.names(evaluation.rules.rules[at].condition):
            found[rows] |= blanks.at(test.name, main.position[rows])
    return found


def _covenant_records(evaluation: Evaluation, rows: Verdicts) -> list[dict]:
    """A covenant per row: "bring pue from 1.4 to <= 1.3", or a condition rule's remedy."""
    rules = evaluation.rules.rules
    facts = [_covenant_facts(rule) for rule in rules]
    metric = np.asarray([rule.metric for rule in rules], dtype=object)[rows.rule]
    operator = np.asarray([rule.operator for rule in rules], dtype=object)[rows.rule]
    own = np.asarray([_own_text(rule) for rule in rules], dtype=object)[rows.rule]
    value, threshold = facts_of(rows, evaluation)
    bring = "bring " + metric + " from " + written(value, shown) + " to " + operator + " "
    text = np.where(own != "", own, bring + written(threshold, shown))
    columns = (rows.rule, value, threshold, text)
    return [
        {**facts[rule], "value": v, "threshold": t, "text": x}
        for rule, v, t, x in zip(*(c.tolist() for c in columns), strict=True)
    ]


def _own_text(rule) -> str:
    """A condition rule's remedy: what its covenant asks ("": say what must change)."""
    return rule.remedy_en if rule.severity == "condition" and rule.remedy_en else ""


def _covenant_facts(rule) -> dict:
    return {
        "criterion": rule.rule_id,
        "title": rule.title_en,
        "title_zh": rule.title_zh,
        "metric": rule.metric,
        "value": None,
        "operator": rule.operator,
        "threshold": None,
        "unit": rule.unit,
        "text": None,
        "remedy": rule.remedy_en,
        "remedy_zh": rule.remedy_zh,
        "severity": rule.severity,
        "source": rule.source,
        "clause": rule.clause,
        "clause_zh": rule.clause_zh,
    }
