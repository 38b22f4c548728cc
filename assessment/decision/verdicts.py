"""The verdicts a decision rests on, as one long table made with array operations over the
project x rule verdict matrix.

:func:`gather` takes, per project, its failed and undecided verdicts of the programmes it asks
for (informative programmes left out), then its gates passed within their borderline margin,
then those passed on a doubted value, each in rule order: one row each in a :class:`Verdicts`
table (project position, rule, group, verdict code). :func:`split` keeps the verdicts that count
for the decision and those of the label programmes. The table is filtered and sorted as a
whole; the values observed and the thresholds applied are fetched only for the rows an output
shows (:func:`facts_of`), and the per-project lists the outputs read are cut from sorted
columns at the end (:func:`per_project`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..criteria.evaluate import FAIL, INSUFFICIENT, VERDICTS, Evaluation
from ..intake.cells import plain

FLAGGED, BORDERLINE, DOUBTED = 0, 1, 2  # the groups of a project's verdicts, in this order
WORDS = (*VERDICTS, "borderline", "doubted")  # the verdict codes of the table
OPEN_LABELS = ("insufficient", "unverified", "doubted")  # a label neither granted nor refused


@dataclass(frozen=True, eq=False)
class Verdicts:
    """One row per verdict, as columns of equal length: the project's ``position`` in the
    frame, the ``rule`` (its index in the rule set), the ``group`` (:data:`FLAGGED`,
    :data:`BORDERLINE`, :data:`DOUBTED`) and the ``verdict`` (a code of :data:`WORDS`); with
    each rule's ``severities`` and its programme's ``roles`` (indexed by rule)."""

    position: np.ndarray
    rule: np.ndarray
    group: np.ndarray
    verdict: np.ndarray
    severities: np.ndarray
    roles: np.ndarray

    def __len__(self) -> int:
        return len(self.position)

    def take(self, at: np.ndarray) -> Verdicts:
        """The rows at ``at`` (positions or a mask), in that order."""
        return replace(
            self,
            position=self.position[at],
            rule=self.rule[at],
            group=self.group[at],
            verdict=self.verdict[at],
        )

    def where(self, mask: np.ndarray) -> Verdicts:
        return self.take(np.flatnonzero(mask))

    def by_project(self, *keys: np.ndarray) -> Verdicts:
        """The rows sorted by project, then by ``keys`` (the first the most significant); rows
        alike keep their order."""
        return self.take(np.lexsort((*keys[::-1], self.position)))

    def severity_is(self, *names: str) -> np.ndarray:
        return among(self.severities, names)[self.rule]

    def role_is(self, *names: str) -> np.ndarray:
        return among(self.roles, names)[self.rule]

    def verdict_is(self, *words: str) -> np.ndarray:
        return np.isin(self.verdict, [WORDS.index(word) for word in words])

    def words(self) -> np.ndarray:
        return np.asarray(WORDS, dtype=object)[self.verdict]


def among(values: np.ndarray, words: Sequence[str]) -> np.ndarray:
    """Whether each of ``values`` (an object array, None allowed) is one of ``words``."""
    return np.logical_or.reduce([values == word for word in words])


def gather(
    evaluation: Evaluation,
    asked: dict[str, np.ndarray],
    roles: dict[str, str],
    passes: Sequence[list[tuple[object, np.ndarray]]],
    gates_only: bool,
) -> Verdicts:
    """The failed and undecided verdicts of the programmes each project asks for (``asked``;
    of the gates and flags only with ``gates_only``; none of an informative programme), then
    the gates of each of ``passes`` ([(rule, projects), ...]: passed within their margin, then
    on a doubted value) asked for, sorted by project, group and rule."""
    rules = evaluation.rules.rules
    severities = np.asarray([rule.severity for rule in rules], dtype=object)
    role_of = np.asarray([roles.get(rule.programme) for rule in rules], dtype=object)
    usable = ~among(role_of, ("informative",))
    if gates_only:
        usable &= among(severities, ("gate", "flag"))
    failed, codes = _failed_matrix(evaluation, asked)
    position, rule = np.nonzero(failed & usable)  # by project, then rule
    parts = [(position, rule, np.full(len(rule), FLAGGED), codes[position, rule])]
    index = {found.rule_id: at for at, found in enumerate(rules)}
    for group, found in enumerate(passes, start=BORDERLINE):
        for passed, hits in found:
            rows = np.flatnonzero(hits & asked[passed.programme])
            code = WORDS.index("borderline" if group == BORDERLINE else "doubted")
            at = np.full(len(rows), index[passed.rule_id])
            parts.append((rows, at, np.full(len(rows), group), np.full(len(rows), code)))
    columns = [np.concatenate([part[i] for part in parts]).astype(np.int64) for i in range(4)]
    order = np.argsort(columns[0], kind="stable")  # each project's rows: by group, then rule
    return Verdicts(*(column[order] for column in columns), severities, role_of)


def _failed_matrix(evaluation: Evaluation, asked: dict) -> tuple[np.ndarray, np.ndarray]:
    """Project x rule: a failed or undecided verdict of a programme the project asks for; and
    the verdict codes."""
    rules, count = evaluation.rules.rules, len(evaluation.frame)
    if not rules:
        return np.zeros((count, 0), dtype=bool), np.zeros((count, 0), dtype=np.int64)
    codes = np.column_stack([evaluation.results[rule.rule_id].codes for rule in rules])
    wanted = np.column_stack([asked[rule.programme] for rule in rules])
    return wanted & ((codes == FAIL) | (codes == INSUFFICIENT)), codes


def groups(keys: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """Each distinct key (ascending) and the rows holding it (in order)."""
    order = np.argsort(keys, kind="stable")
    distinct, starts = np.unique(keys[order], return_index=True)
    bounds = [*starts.tolist(), len(keys)]
    for at, key in enumerate(distinct.tolist()):
        yield key, order[bounds[at] : bounds[at + 1]]


def split(table: Verdicts, labels: np.ndarray) -> tuple[Verdicts, Verdicts]:
    """The verdicts that count for the decision (the floor's and the route's, then the label
    programmes': all of them once the label is granted, its gates while it is open) and those
    of the label programmes (a refused label's verdicts explain the refusal only)."""
    of_label = table.role_is("label")
    granted = (labels == "granted")[table.position]
    open_gate = among(labels, OPEN_LABELS)[table.position] & table.severity_is("gate")
    main = table.where(table.role_is("floor", "route") | (of_label & (granted | open_gate)))
    return main.by_project(main.role_is("label")), table.where(of_label)


def facts_of(rows: Verdicts, evaluation: Evaluation) -> tuple[np.ndarray, np.ndarray]:
    """The value observed and the threshold applied at each row, as plain values."""
    values = np.empty(len(rows), dtype=object)
    thresholds = np.empty(len(rows), dtype=object)
    for at, which in groups(rows.rule):
        facts = evaluation.verdict_facts(evaluation.rules.rules[at], rows.position[which])
        values[which] = plain_values(facts["value"])
        thresholds[which] = plain_values(facts["threshold"])
    return values, thresholds


def plain_values(values: np.ndarray) -> np.ndarray:
    """:func:`intake.cells.plain` of each value, as an object array: floats at once (a
    missing or infinite one is None), texts, whole numbers and booleans as they are, other
    values one by one."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        return _finite_or_none(values)
    return by_kind(values, _plain_kind)


def _plain_kind(kind: type, values: np.ndarray) -> np.ndarray:
    if kind is float:
        return _finite_or_none(values)
    if kind in (str, int, bool, type(None)):
        return values
    return np.fromiter(map(plain, values), dtype=object, count=len(values))


def _finite_or_none(values: np.ndarray) -> np.ndarray:
    numbers = values.astype(float)
    found = numbers.astype(object)
    found[~np.isfinite(numbers)] = None
    return found


def by_kind(values: np.ndarray, convert: Callable[[type, np.ndarray], np.ndarray]) -> np.ndarray:
    """``convert(kind, the values of that kind)`` for each kind (type) among ``values``."""
    kinds = np.fromiter(map(type, values), dtype=object, count=len(values))
    codes, distinct = pd.factorize(kinds)
    found = np.empty(len(values), dtype=object)
    for code, kind in enumerate(distinct):
        at = np.flatnonzero(codes == code)
        found[at] = convert(kind, values[at])
    return found


def per_project(positions: np.ndarray, items: list, count: int) -> list[list]:
    """``items`` (sorted by their projects' ``positions``) as one list per project."""
    bounds = np.searchsorted(positions, np.arange(count + 1)).tolist()
    return [items[start:stop] for start, stop in zip(bounds[:-1], bounds[1:], strict=True)]


def merged(parts: Sequence[tuple[np.ndarray, list]], count: int) -> list[list]:
    """Several (positions, items), each sorted by position, as one list per project: each
    project's items of the first part, then of the second ..."""
    positions = np.concatenate([p for p, _ in parts]).astype(np.int64)
    items = [item for _, found in parts for item in found]
    order = np.argsort(positions, kind="stable")  # each part keeps its order
    return per_project(positions[order], [items[i] for i in order.tolist()], count)


class Blanks:
    """Whether a field is blank for the projects at some positions (a field the frame lacks
    is blank everywhere); each column's missing values worked out when first asked for."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.missing: dict[str, np.ndarray] = {}

    def at(self, name: str, positions: np.ndarray) -> np.ndarray:
        if name not in self.frame.columns:
            return np.ones(len(positions), dtype=bool)
        if name not in self.missing:
            self.missing[name] = self.frame[name].isna().to_numpy(dtype=bool)
        return self.missing[name][positions]
