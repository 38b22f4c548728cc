"""Evaluate a rule set on a table of projects, vectorised, one rule at a time.

For every project and rule the verdict is one of:

* ``not_applicable``: the rule (or its pack) is not in force on ``as_of``, its ``applies_when``
  condition is false, or no segment row gives it a threshold;
* ``insufficient``: a value the rule needs is missing (in the condition, a segment key or the
  metric): never a silent pass or fail;
* ``pass`` or ``fail``.

Per programme (:func:`programme_results`): ``status`` (a gate marked unverified never decides
alone), ``eligible``, ``score`` (0-100: points of the applicable score rules over their weights;
an insufficient score rule earns 0), ``coverage`` and ``grade`` (from the pack's grade table,
only when enough of the score weight applies).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._shared.text import joined
from ..intake.cells import as_of_date
from ..intake.dictionary import PROGRAMMES
from . import conditions
from .rules import Rule, RuleSet

VERDICTS = ("not_applicable", "insufficient", "pass", "fail")
_VERDICT_TYPE = pd.CategoricalDtype(VERDICTS)
NOT_APPLICABLE, INSUFFICIENT, PASS, FAIL = range(4)


@dataclass
class RuleResult:
    """Verdict codes, thresholds applied and points of one rule for every project."""

    codes: np.ndarray
    thresholds: object  # a scalar, a tuple (in / between) or an array from a segment table
    points: np.ndarray | None = None


@dataclass
class Evaluation:
    """The project x rule verdict matrix and the programme results."""

    frame: pd.DataFrame
    rules: RuleSet
    as_of: dt.date
    results: dict[str, RuleResult]
    programmes: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def verdicts(self) -> pd.DataFrame:
        """project x rule_id, categorical verdicts."""
        return pd.DataFrame(
            {
                rule_id: pd.Categorical.from_codes(result.codes, VERDICTS)
                for rule_id, result in self.results.items()
            },
            index=self.frame.index,
        )

    def table(
        self, project_ids: list[str] | None = None, masks: dict[str, np.ndarray] | None = None
    ) -> pd.DataFrame:
        """One row per project (all, or ``project_ids``) and rule: verdict, observed value,
        threshold, unit, source. ``masks`` (rule_id -> boolean per project) keeps only the
        rows it marks, so callers that need few rows never build the full table."""
        rows = (
            np.arange(len(self.frame))
            if project_ids is None
            else self.frame.index.get_indexer(project_ids)
        )
        rules = self.rules.rules
        if not rules:
            return pd.DataFrame()
        kept = [  # per rule, the rows kept, as positions among ``rows``
            np.arange(len(rows)) if masks is None else np.flatnonzero(masks[rule.rule_id][rows])
            for rule in rules
        ]
        at = [rows[some] for some in kept]  # ... and in the frame
        table = self._rule_columns(rules, [len(some) for some in kept])
        table |= self._verdict_columns(rules, at)
        table["value"] = self._values(rules, None if project_ids is None else rows, kept)
        table["verdict"] = pd.Categorical.from_codes(table["verdict"], dtype=_VERDICT_TYPE)
        table["project_id"] = self.frame.index[np.concatenate(at)]
        return pd.DataFrame(table, columns=TABLE_COLUMNS)

    @staticmethod
    def _rule_columns(rules: list[Rule], counts: list[int]) -> dict[str, np.ndarray]:
        """The columns that repeat each rule's facts over its rows, built once for all rules
        (one frame for the whole table, not one per rule)."""

        def repeated(values: list[object], dtype: object = object) -> np.ndarray:
            return np.repeat(np.array(values, dtype=dtype), counts)

        weights = [rule.weight if rule.severity == "score" else np.nan for rule in rules]
        return {name: repeated([getattr(rule, name) for rule in rules]) for name in _RULE_FACTS} | {
            "weight": repeated(weights, float)
        }

    def _verdict_columns(self, rules: list[Rule], at: list[np.ndarray]) -> dict[str, np.ndarray]:
        """The verdict codes, points and thresholds of each rule at its rows."""
        pairs = [(self.results[rule.rule_id], rows) for rule, rows in zip(rules, at, strict=True)]
        no_points = [np.full(len(rows), np.nan) for _, rows in pairs]
        return {
            "verdict": np.concatenate([result.codes[rows] for result, rows in pairs]),
            "points": np.concatenate(
                [
                    none if result.points is None else result.points[rows]
                    for (result, rows), none in zip(pairs, no_points, strict=True)
                ]
            ),
            "threshold": np.concatenate(
                [_thresholds_at(result.thresholds, rows) for result, rows in pairs]
            ),
        }

    def _values(
        self, rules: list[Rule], rows: np.ndarray | None, kept: list[np.ndarray]
    ) -> np.ndarray:
        """The observed value of each rule at its rows, as objects: the rows (``rows``, None:
        all) taken once, each metric read once."""
        frame = self.frame if rows is None else self.frame.iloc[rows]
        metrics = list(dict.fromkeys(rule.metric for rule in rules))
        block = frame[metrics].to_numpy(dtype=object)
        values = {metric: block[:, at] for at, metric in enumerate(metrics)}
        return np.concatenate(
            [values[rule.metric][some] for rule, some in zip(rules, kept, strict=True)]
        )

    def verdict_facts(self, rule: Rule, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The observed ``value`` and the ``threshold`` applied of one rule at ``rows``
        (positions), as object arrays."""
        thresholds = _thresholds_at(self.results[rule.rule_id].thresholds, rows)
        values = _objects(self.frame[rule.metric].array, rows)
        return {"value": values, "threshold": thresholds}


_RULE_FACTS = ("rule_id", "programme", "severity", "operator", "unit", "source", "clause")
_RULE_FACTS += ("clause_zh", "confidence")


def _thresholds_at(thresholds: object, rows: np.ndarray) -> np.ndarray:
    """The thresholds applied at ``rows`` (positions): per row from a segment table, else
    the rule's one threshold, shown as a value."""
    if isinstance(thresholds, np.ndarray):
        return thresholds[rows]
    return np.full(len(rows), _shown(thresholds), dtype=object)


def _objects(values: pd.api.extensions.ExtensionArray, rows: np.ndarray) -> np.ndarray:
    """``values`` at ``rows`` (positions) as Python objects (missing: the dtype's own)."""
    return values.take(rows).to_numpy(dtype=object)


TABLE_COLUMNS = [
    "project_id",
    "rule_id",
    "programme",
    "severity",
    "verdict",
    "value",
    "threshold",
    "operator",
    "unit",
    "points",
    "weight",
    "source",
    "clause",
    "clause_zh",
    "confidence",
]


def _shown(threshold: object) -> object:
    """A threshold of several values (``in``, ``between``) as one text, joined as everywhere
    (``a; b``); :func:`pipeline._threshold` splits it back into a list."""
    return joined(threshold) if isinstance(threshold, tuple) else threshold


def evaluate_rules(frame: pd.DataFrame, rules: RuleSet, as_of: dt.date) -> Evaluation:
    """Every rule of ``rules`` on every row of ``frame`` (projects with their indicators)."""
    as_of = as_of_date(as_of)
    forces = {pack.id: pack.in_force(as_of) for pack in rules.packs}
    columns = conditions.Columns(frame)  # each column read once for all the rules
    results = {
        rule.rule_id: evaluate_rule(rule, frame, as_of, forces[rule.pack], columns)
        for rule in rules.rules
    }
    evaluation = Evaluation(frame, rules, as_of, results)
    evaluation.programmes = programme_results(evaluation)
    return evaluation


def evaluate_rule(
    rule: Rule,
    frame: pd.DataFrame,
    as_of: dt.date,
    pack_in_force: bool = True,
    columns: conditions.Columns | None = None,
) -> RuleResult:
    """One rule's verdict codes, thresholds and points; ``columns``: the frame's columns as
    the tests read them, shared by the rules of one evaluation."""
    count = len(frame)
    if not (pack_in_force and rule.in_force(as_of)):
        return RuleResult(np.zeros(count, dtype=np.int8), np.nan, _no_points(rule, count))
    columns = columns if columns is not None else conditions.Columns(frame)
    truth, known = conditions.evaluate(rule.condition, columns)
    threshold, found, undecided = _thresholds(rule, columns)
    codes = np.full(count, FAIL, dtype=np.int8)  # the first that holds, from the last up:
    codes[_passes(rule, columns, threshold)] = PASS
    if rule.operator not in ("is_blank", "not_blank"):
        codes[~columns.known(rule.metric)] = INSUFFICIENT  # no value
    if found is not None:
        codes[~found] = NOT_APPLICABLE  # no segment row
        codes[undecided] = INSUFFICIENT  # a segment key missing
    codes[~truth] = NOT_APPLICABLE  # the condition does not hold
    codes[~known] = INSUFFICIENT  # the condition cannot be decided
    return RuleResult(codes, threshold, _points(rule, columns, threshold, codes))


def _no_points(rule: Rule, count: int) -> np.ndarray | None:
    return np.full(count, np.nan) if rule.severity == "score" else None


def _thresholds(
    rule: Rule, columns: conditions.Columns
) -> tuple[object, np.ndarray | None, np.ndarray | None]:
    """The threshold (scalar, or per row from a segment table), where one was found, and
    where a missing segment key leaves it undecided (None, None: one threshold for all)."""
    count = len(columns)
    if rule.segment is None:
        return rule.threshold, None, None
    values = np.full(count, np.nan)
    found = np.zeros(count, dtype=bool)
    undecided = np.zeros(count, dtype=bool)
    for row in rule.segment_rows:
        match, known = _segment_match(row, columns)
        undecided |= ~found & ~known
        take = match & known & ~found & ~undecided
        values[take] = row["threshold"]
        found |= take
    return values, found, undecided & ~found


def _segment_match(
    row: dict[str, object], columns: conditions.Columns
) -> tuple[np.ndarray, np.ndarray]:
    match = np.ones(len(columns), dtype=bool)
    known = np.ones(len(columns), dtype=bool)
    for key, wanted in row.items():
        if key == "threshold" or wanted is None:
            continue
        truth, key_known = conditions.test_columns(
            conditions.Comparison(key, "==", (wanted,)), columns
        )
        match &= truth
        known &= key_known
    return match, known


def _passes(rule: Rule, columns: conditions.Columns, threshold: object) -> np.ndarray:
    if isinstance(threshold, np.ndarray):
        values = columns.frame[rule.metric].to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            return np.asarray(conditions.COMPARISONS[rule.operator](values, threshold), dtype=bool)
    literals = threshold if isinstance(threshold, tuple) else (threshold,)
    if rule.operator in ("is_blank", "not_blank"):
        literals = ()
    truth, _ = conditions.test_columns(
        conditions.Comparison(rule.metric, rule.operator, literals), columns
    )
    return truth


def _points(
    rule: Rule, columns: conditions.Columns, threshold: object, codes: np.ndarray
) -> np.ndarray | None:
    if rule.severity != "score":
        return None
    if rule.full_at is None:
        earned = np.where(codes == PASS, rule.weight, 0.0)
    else:
        values = columns.frame[rule.metric].to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.clip((values - threshold) / (rule.full_at - threshold), 0.0, 1.0)
        earned = np.where(codes == PASS, np.nan_to_num(share) * rule.weight, 0.0)
    return np.where(codes == NOT_APPLICABLE, np.nan, earned)


# worst first: the order the decision reads a group of programmes in; ``doubted``: eligible
# but for a gate whose pass is withheld (it rests on a value a plausibility flag doubts)
STATUSES = ("not_eligible", "insufficient", "unverified", "doubted", "eligible", "not_applicable")
DECISIVE = ("verified", "verified_secondary")  # confidences that may decide an outcome alone


def programme_results(
    evaluation: Evaluation, withheld: dict[str, np.ndarray] | None = None
) -> pd.DataFrame:
    """Per project and programme: ``<p>_status`` (:data:`STATUSES`), ``<p>_eligible`` (true /
    false, NA unless the status is eligible or not_eligible), ``<p>_score`` (0-100),
    ``<p>_coverage`` (share of the score weight in force that applies) and ``<p>_grade`` (none
    when the coverage is below the pack's ``min_coverage``).

    ``withheld``: rule id -> the projects where a pass of the rule is not counted (it rests on
    a doubted value, ``decision.doubts``): a withheld gate makes an otherwise eligible
    programme ``doubted``; a withheld score rule earns nothing."""
    withheld = withheld or {}
    columns: dict[str, object] = {}
    for programme in PROGRAMMES:
        rules = [r for r in evaluation.rules.rules if r.programme == programme]
        status = _status(rules, evaluation, withheld)
        columns[f"{programme}_status"] = pd.array(status, dtype="string")
        columns[f"{programme}_eligible"] = _eligible(status)
        score, coverage = _score(rules, evaluation, withheld)
        columns[f"{programme}_score"] = score
        columns[f"{programme}_coverage"] = coverage
        enough = coverage >= evaluation.rules.min_coverage(programme)
        columns[f"{programme}_grade"] = _grade(
            np.where(enough, score, np.nan), evaluation.rules.grades(programme)
        )
    return pd.DataFrame(columns, index=evaluation.frame.index)


def _status(rules: list[Rule], evaluation: Evaluation, withheld: dict) -> np.ndarray:
    """``not_eligible`` when a gate that may decide alone fails; else ``insufficient`` when a
    gate cannot be decided; else ``unverified`` when only an unverified gate fails (it never
    decides alone: a person must); else ``doubted`` when a gate's pass is withheld; else
    ``eligible``; ``not_applicable`` when no gate applies."""
    count = len(evaluation.frame)
    failed, short, unverified, doubted, applies = (np.zeros(count, dtype=bool) for _ in range(5))
    for rule in (r for r in rules if r.severity == "gate"):
        codes = evaluation.results[rule.rule_id].codes
        decisive = rule.confidence in DECISIVE
        failed |= (codes == FAIL) & decisive
        unverified |= (codes == FAIL) & (not decisive)
        short |= codes == INSUFFICIENT
        doubted |= withheld.get(rule.rule_id, False) & (codes == PASS)
        applies |= codes != NOT_APPLICABLE
    return np.select(
        [failed, short, unverified, doubted, applies],
        ["not_eligible", "insufficient", "unverified", "doubted", "eligible"],
        "not_applicable",
    ).astype(object)


def _eligible(status: np.ndarray) -> pd.api.extensions.ExtensionArray:
    eligible = pd.array(status == "eligible", dtype="boolean")
    eligible[~np.isin(status, ("eligible", "not_eligible"))] = pd.NA
    return eligible


def _score(
    rules: list[Rule], evaluation: Evaluation, withheld: dict
) -> tuple[np.ndarray, np.ndarray]:
    """The score (points over the weights that apply) and the coverage (the weights that
    apply over the weights of the score rules in force)."""
    count = len(evaluation.frame)
    earned, possible = np.zeros(count), np.zeros(count)
    in_force = 0.0
    for rule in (r for r in rules if r.severity == "score"):
        points = evaluation.results[rule.rule_id].points
        applicable = ~np.isnan(points)
        points = np.where(withheld.get(rule.rule_id, False), 0.0, points)
        earned += np.where(applicable, points, 0.0)
        possible += np.where(applicable, rule.weight, 0.0)
        in_force += rule.weight if rule.in_force(evaluation.as_of) else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(possible > 0, np.round(100 * earned / possible, 1), np.nan)
        coverage = np.where(in_force > 0, np.round(possible / in_force, 3), np.nan)
    return score, coverage


def _grade(score: np.ndarray, grades: list[tuple[str, float]]) -> pd.api.extensions.ExtensionArray:
    labels = np.full(len(score), None, dtype=object)
    undecided = ~np.isnan(score)
    for grade, floor in grades:
        take = undecided & (score >= floor)
        labels[take] = grade
        undecided &= ~take
    return pd.array(labels, dtype="string")
