"""Paths to eligibility: for each programme a project applies for and does not qualify for,
the smallest changes to the failing criteria that would make it eligible.

A programme is won by passing every gate that applies. For each gate that fails, the metric
moves to the nearest value that meets every applicable gate of the programme on that metric
(PUE 1.62 under gates ``<= 1.50`` and ``<= 1.25`` goes to 1.25, not further); a code or a yes/no
is set to a value the gate accepts; a missing value must be provided. The changes are then
applied to the project and the rules evaluated again: a change can bring another gate into
force, whose failure adds a change in the next round (up to ``ROUNDS``). Each path says whether
the last evaluation found the project eligible (``eligible_when_applied``): it cannot when a
gate's condition lacks an input (which value to provide is then unknown). A missing metric is
provided at the gate's threshold.

Each change: ``metric``, ``kind`` (lower, raise, set, provide), ``from``, ``to``, the binding
``operator`` and ``threshold``, ``unit``, the ``criteria`` (rule ids) it answers, what a grade
target ``means`` in a measured value, and ``text`` ("pue_assessed 1.38 -> 1.3").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache

import numpy as np
import pandas as pd

from .._shared.text import joined, shown
from ..criteria import conditions
from ..criteria.evaluate import FAIL, INSUFFICIENT, NOT_APPLICABLE, Evaluation, evaluate_rules
from ..criteria.indicators import grade_pue_limits
from ..criteria.rules import Rule, RuleSet, metric_catalogue
from ..intake.cells import plain
from ..intake.dictionary import PROGRAMMES

ROUNDS = 3
LOWER_BOUNDS = (">", ">=")
UPPER_BOUNDS = ("<", "<=")
PROVIDED = {">": " of at least", ">=": " of at least", "<": " of at most", "<=": " of at most"}


@dataclass
class Change:
    metric: str
    kind: str
    before: object
    after: object
    operator: str
    threshold: object
    unit: str
    criteria: list[str] = field(default_factory=list)

    def record(self) -> dict:
        return {
            "metric": self.metric,
            "kind": self.kind,
            "from": plain(self.before),
            "to": plain(self.after),
            "operator": self.operator,
            "threshold": plain(self.threshold),
            "unit": self.unit,
            "criteria": self.criteria,
            "means": self.means(),
            "text": change_text(self),
        }

    def means(self) -> dict | None:
        """What the target means in a measured value, where the metric is a grade of one
        (``gb40879_grade`` 2 means ``pue_assessed <= 1.3``)."""
        if self.metric != "gb40879_grade" or not isinstance(self.after, int | float):
            return None
        limit = _pue_limits().get(int(self.after))
        return None if limit is None else {"metric": "pue_assessed", "operator": "<=", "to": limit}


def paths_to_eligibility(
    evaluation: Evaluation, relevant: dict[str, np.ndarray]
) -> dict[object, list[dict]]:
    """Per project id, one path per programme it applies for (``relevant``) and is not
    eligible for (none where no gate applies, or where a gate no change can pass fails):
    ``programme``,
    ``changes``, ``eligible_when_applied`` and ``text``."""
    found: dict[object, list[dict]] = {}
    for programme in PROGRAMMES:
        status = evaluation.programmes[f"{programme}_status"].astype(object).to_numpy()
        open_ = ~np.isin(status, ("eligible", "not_applicable"))
        rows = np.flatnonzero(relevant[programme] & open_ & ~_unreachable(evaluation, programme))
        if len(rows):
            for pid, path in _programme_paths(evaluation, programme, rows).items():
                found.setdefault(pid, []).append(path)
    return found


def _unreachable(evaluation: Evaluation, programme: str) -> np.ndarray:
    """Projects failing a gate of ``programme`` whose condition fixes its own metric (an edge
    site outside GB 40879 for catalogue item 6.6.2): no change an applicant can make passes
    it, so no path is offered."""
    found = np.zeros(len(evaluation.frame), dtype=bool)
    for rule in evaluation.rules.rules:
        fixed = rule.metric in {test.name for test in conditions.names(rule.condition)}
        if rule.programme == programme and rule.severity == "gate" and fixed:
            found |= evaluation.results[rule.rule_id].codes == FAIL
    return found


def _programme_paths(evaluation: Evaluation, programme: str, rows: np.ndarray) -> dict:
    """The paths of one programme for the projects at ``rows`` (positions)."""
    frame = evaluation.frame.iloc[rows].copy()
    rules = _programme_rules(evaluation.rules, programme)
    gates = [r for r in rules.rules if r.severity == "gate"]
    changes: list[dict[str, Change]] = [{} for _ in rows]
    open_rows = np.arange(len(rows))
    for _ in range(ROUNDS):
        current = evaluate_rules(frame, rules, evaluation.as_of)
        open_rows = open_rows[~_eligible(current, programme)[open_rows]]
        open_rows = np.array([i for i in open_rows if _round(current, gates, i, changes[i])])
        if not len(open_rows):
            break
        _apply(frame, open_rows, changes)
    final = _eligible(evaluate_rules(frame, rules, evaluation.as_of), programme)
    return {
        frame.index[i]: _path(programme, list(changes[i].values()), bool(final[i]))
        for i in range(len(rows))
    }


def _programme_rules(rule_set: RuleSet, programme: str) -> RuleSet:
    """The rules of one programme (all its eligibility depends on)."""
    packs = [
        replace(pack, rules=[r for r in pack.rules if r.programme == programme])
        for pack in rule_set.packs
    ]
    return RuleSet(packs)


def _eligible(evaluation: Evaluation, programme: str) -> np.ndarray:
    return evaluation.programmes[f"{programme}_eligible"].fillna(False).to_numpy(dtype=bool)


def _path(programme: str, changes: list[Change], eligible: bool) -> dict:
    records = [change.record() for change in changes]
    return {
        "programme": programme,
        "changes": records,
        "eligible_when_applied": eligible,
        "text": " and ".join(record["text"] for record in records),
    }


def _round(evaluation: Evaluation, gates: list[Rule], row: int, found: dict[str, Change]) -> bool:
    """Add the changes the project at ``row`` still needs to ``found``; whether any of them
    can be applied (False when only data to provide is left)."""
    codes = {g.rule_id: evaluation.results[g.rule_id].codes[row] for g in gates}
    applicable = [g for g in gates if codes[g.rule_id] != NOT_APPLICABLE]
    failing = [g for g in applicable if codes[g.rule_id] in (FAIL, INSUFFICIENT)]
    frame = evaluation.frame
    new = False
    for metric in dict.fromkeys(g.metric for g in failing):
        on_metric = [g for g in applicable if g.metric == metric]
        missing = _missing_inputs(failing, metric, frame, row)
        change = (
            _provide(missing)
            if missing
            else _move(metric, frame[metric].iat[row], on_metric, evaluation, row)
        )
        criteria = [g.rule_id for g in failing if g.metric == metric]
        new |= _merge(found, change, criteria)
    return new


def _missing_inputs(failing: list[Rule], metric: str, frame: pd.DataFrame, row: int) -> list[str]:
    """The condition and segment inputs, other than the metric, that a failing gate on
    ``metric`` lacks (the gate cannot be decided without them)."""
    names: list[str] = []
    for rule in failing:
        if rule.metric != metric:
            continue
        needed = [test.name for test in conditions.names(rule.condition)]
        if rule.segment is not None:
            needed += [c for c in rule.segment.columns if c != "threshold"]
        blank = [n for n in needed if n in frame.columns and _blank(frame[n].iat[row])]
        names += [n for n in blank if n != metric and n not in names]
    return names


def _provide(missing: list[str]) -> Change:
    return Change(joined(missing), "provide", None, None, "not_blank", None, "")


def _move(
    metric: str, value: object, gates: list[Rule], evaluation: Evaluation, row: int
) -> Change:
    """The change of ``metric`` that meets every gate in ``gates`` with the least movement."""
    bounds = [(g, _threshold_at(evaluation, g, row)) for g in gates]
    numeric = [(g, t) for g, t in bounds if g.operator in (*LOWER_BOUNDS, *UPPER_BOUNDS, "between")]
    unit = _unit(metric)
    if numeric and len(numeric) == len(bounds):
        return _numeric_change(metric, value, numeric, unit)
    rule, threshold = next((g, t) for g, t in bounds if g.operator not in ("<", "<=", ">", ">="))
    after = _accepted(rule.operator, threshold)
    kind = "provide" if _blank(value) else "set"
    return Change(metric, kind, value, after, rule.operator, threshold, unit)


def _numeric_change(metric: str, value: object, bounds: list, unit: str) -> Change:
    low, high, binding = -math.inf, math.inf, None
    for rule, threshold in bounds:
        lows, highs = _limits(rule.operator, threshold)
        if lows > low:
            low, low_rule = lows, (rule, threshold)
        if highs < high:
            high, high_rule = highs, (rule, threshold)
    if _blank(value):
        after = low if math.isfinite(low) else high
        binding = low_rule if math.isfinite(low) else high_rule
        return Change(metric, "provide", None, after, binding[0].operator, binding[1], unit)
    number = float(value)
    if number < low:
        return Change(metric, "raise", number, low, low_rule[0].operator, low_rule[1], unit)
    return Change(metric, "lower", number, high, high_rule[0].operator, high_rule[1], unit)


def _limits(operator: str, threshold: object) -> tuple[float, float]:
    """The least and greatest values ``operator threshold`` accepts (strict bounds one step
    inside the threshold, in its last decimal place plus one)."""
    if operator == "between":
        return float(threshold[0]), float(threshold[1])
    number = float(threshold)
    step = _step(number) if operator in ("<", ">") else 0.0
    if operator in LOWER_BOUNDS:
        return number + step, math.inf
    return -math.inf, number - step


def _step(number: float) -> float:
    exponent = Decimal(repr(number)).normalize().as_tuple().exponent
    return 10.0 ** (min(int(exponent), 0) - 1)


def _accepted(operator: str, threshold: object) -> object:
    """A value that ``operator threshold`` accepts: the literal, or the list to pick from."""
    if operator == "in":
        return list(threshold) if isinstance(threshold, tuple) else [threshold]
    if operator == "==":
        return threshold
    return None  # != and not_in name what is refused, not a value to take


def _threshold_at(evaluation: Evaluation, rule: Rule, row: int) -> object:
    thresholds = evaluation.results[rule.rule_id].thresholds
    return thresholds[row] if isinstance(thresholds, np.ndarray) else thresholds


def _merge(found: dict[str, Change], change: Change, criteria: list[str]) -> bool:
    """Record ``change`` (keeping the first observed value of a metric changed before);
    whether it can be applied."""
    earlier = found.get(change.metric)
    if earlier is not None:
        change.before, change.kind = earlier.before, earlier.kind
        change.criteria = earlier.criteria
    change.criteria = change.criteria + [c for c in criteria if c not in change.criteria]
    found[change.metric] = change
    return change.kind != "provide" or change.after is not None


def _apply(frame: pd.DataFrame, rows: np.ndarray, changes: list[dict[str, Change]]) -> None:
    """Set every applicable change's target, one column at a time."""
    targets: dict[str, dict[int, object]] = {}
    for i in rows:
        for change in changes[i].values():
            if change.after is not None and change.metric in frame.columns:
                after = change.after[0] if isinstance(change.after, list) else change.after
                targets.setdefault(change.metric, {})[i] = after
    for column, values in targets.items():
        positions, new = list(values), list(values.values())
        try:
            updated = frame[column].copy()
            updated.iloc[positions] = new
        except (TypeError, ValueError):
            updated = frame[column].astype(object)
            updated.iloc[positions] = new
        frame[column] = updated


def _blank(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


@cache
def _pue_limits() -> dict[int, float]:
    return grade_pue_limits()


@cache
def _unit(metric: str) -> str:
    found = metric_catalogue().get(metric)
    return found.unit if found is not None else ""


def change_text(change: Change) -> str:
    """``pue_assessed 1.38 -> 1.3``, ``green_power_share 55% -> 80%``, ``provide dscr_min``."""
    if change.kind == "provide" and change.after is None:
        return f"provide {change.metric}"
    if change.after is None:  # != and not_in name what is refused
        refused = worded(change.threshold, change.unit)
        return f"{change.metric} {worded(change.before, change.unit)} -> other than {refused}"
    after = worded(change.after, change.unit)
    if change.kind == "provide":
        bound = PROVIDED.get(change.operator, ":")
        return f"provide {change.metric}{bound} {after}"
    means = change.means()
    meaning = f" ({means['metric']} {means['operator']} {worded(means['to'], '')})" if means else ""
    return f"{change.metric} {worded(change.before, change.unit)} -> {after}{meaning}"


def worded(value: object, unit: str) -> str:
    """A value in words: fractions as per cent, money with its unit, lists as 'one of'."""
    if isinstance(value, list | tuple):  # a list to pick from; a tuple of refused values
        listed = f"({joined(value)})"
        return f"one of {listed}" if isinstance(value, list) else listed
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        return shown(value)
    if unit == "fraction":
        return f"{shown(round(float(value) * 100, 4))}%"
    return shown(round(float(value), 4), unit=unit)
