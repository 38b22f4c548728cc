"""One recommendation per project from the programme results and the risk model.

Which programmes an application is judged on is data (``rules/decision/purpose_programmes.csv``
and ``programme_roles.csv``): the legal floor for every purpose, the financing route of its
purpose, and the green label programmes where ``green_label_requested`` says so (read by
:mod:`assessment.intake.asked`, which the intake's checks share). The decision
table (``rules/decision/decision_table.csv``) is tried row by row; the first row whose condition
holds gives ``approve``, ``approve_with_conditions``, ``refer``, ``incomplete`` or ``decline``
(``rules/decision/README.md`` says what each means). With it come:

* ``reasons``: every failed gate, raised flag and undecided gate of the legal floor and the
  financing route (and of a green label still open), then (up to four in all) the model
  factors that raise the risk most; each names the criterion, the observed value, the
  threshold and the source clause;
* ``green_label``: the label asked for (granted, refused, ...) and why;
* ``conditions``: one covenant per failed score rule and per condition rule not met or not
  shown ("bring contracted_revenue_share from 0.55 to >= 0.7"), with the rule's remedy;
* ``data_quality``: what was missing, wrong or assumed; ``missing_for_decision``: the fields
  that would decide the undecided gates;
* ``path_to_eligibility``: per programme applied for and not won, the smallest changes to the
  failing criteria that would win it (``counterfactual.paths_to_eligibility``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .._shared.tables import reference_rows
from .._shared.text import shown
from ..criteria import conditions
from ..criteria.evaluate import DECISIVE, FAIL, INSUFFICIENT, PASS, STATUSES, VERDICTS, Evaluation
from ..criteria.indicators import FALLBACK, input_fields
from ..criteria.rules import RuleSet, nearest
from ..errors import RuleError
from ..intake.asked import (
    Routing,
    column_or_blank,
    decision_file,
    load_routing,
    requested_programmes,
)
from ..intake.cells import plain
from ..intake.dictionary import PROGRAMMES
from ..intake.read import of_kept_rows
from ..model.predict import reasons as model_reasons
from .doubts import (
    DOUBTING_ROLES,
    check_doubts,
    doubted_fields,
    doubted_passes,
    evidence_fields,
    load_doubts,
    with_doubts,
)
from .paths import paths_to_eligibility
from .quality import SCORE, Formula, check_packs, load_formula, quality_scores

RECOMMENDATIONS = ("approve", "approve_with_conditions", "refer", "incomplete", "decline")
RANKING = (
    "Ranked by recommendation (approve, approve with conditions, refer, incomplete, decline); "
    "within each, loans by PD (lowest first), then projects without a PD (REIT issues, or no "
    "model) by score (highest first); then by project id."
)
MAX_REASONS = 4
CONTEXT_COLUMNS = (
    "financing_purpose",
    "facility_type",
    "project_kind",
    "green_label_requested",
)
INPUT_NAMES = (
    *(f"{p}_{part}" for p in PROGRAMMES for part in ("eligible", "score", "status")),
    *CONTEXT_COLUMNS,
    "compliance_status",
    "route_status",
    "label_status",
    "pd",
    "pd_binding",
    "credit_route",
    "gates_failed",
    "gates_unverified",
    "gates_insufficient",
    "flags",
    "gates_borderline",
    "conditions",
    "input_errors",
)


@dataclass(frozen=True)
class DecisionRow:
    order: int
    when: str
    condition: object
    recommendation: str
    reason_en: str
    reason_zh: str


def load_decision_table(path: str | Path | None = None) -> list[DecisionRow]:
    """The decision table (default: the packaged one), validated: every problem is reported
    together."""
    path = Path(path) if path else decision_file(None, "decision_table.csv")
    rows = reference_rows(path, ("order", "when", "recommendation", "reason_en", "reason_zh"))
    problems: list[dict] = []
    table = [_row(path, number, row, problems) for number, row in enumerate(rows, start=2)]
    if problems:
        raise RuleError.from_rows(problems)
    return sorted(table, key=lambda row: row.order)


def _row(path: Path, number: int, row: dict, problems: list[dict]) -> DecisionRow:
    def add(column: str, value: object, message: str, hint: str = "") -> None:
        problems.append(
            {
                "file": str(path),
                "row": number,
                "column": column,
                "value": str(value),
                "message": message,
                "hint": hint,
            }
        )

    if row.get("recommendation") not in RECOMMENDATIONS:
        add(
            "recommendation",
            row.get("recommendation"),
            "unknown recommendation",
            f"one of {', '.join(RECOMMENDATIONS)}",
        )
    try:
        tree = conditions.parse(row.get("when") or "")
    except conditions.ConditionError as error:
        add("when", row.get("when"), f"the condition does not parse: {error}")
        tree = None
    for test in conditions.names(tree):
        if test.name not in INPUT_NAMES:
            add(
                "when",
                test.name,
                f"unknown name {test.name!r}",
                nearest(test.name, list(INPUT_NAMES)),
            )
    order = int(row["order"]) if str(row.get("order", "")).isdigit() else number
    return DecisionRow(
        order,
        row.get("when") or "",
        tree,
        row.get("recommendation", ""),
        row.get("reason_en", ""),
        row.get("reason_zh", ""),
    )


SHOWN_STATUSES = (*STATUSES, "not_requested")  # what an output shows


def decision_folder(rules: RuleSet | None) -> Path | None:
    """The ``decision`` folder of the rules folder ``rules`` came from, when it has one."""
    root = getattr(rules, "root", None)
    folder = Path(root) / "decision" if root else None
    return folder if folder is not None and folder.is_dir() else None


def routing_of(rules: RuleSet | None) -> Routing:
    return load_routing(decision_folder(rules))


def check_decision_tables(rules: RuleSet) -> str:
    """Load and validate the decision tables ``rules`` decides with (its folder's own, or the
    packaged ones); a summary line, or a RuleError listing every problem."""
    folder = decision_folder(rules)
    table = load_decision_table(decision_file(folder, "decision_table.csv"))
    routing, margins = load_routing(folder), load_borderline(folder)
    doubts = checked_doubts(rules)
    formula_of(rules)  # the data-quality formula, checked against the rules too
    where = str(folder) if folder else "packaged"
    return (
        f"decision: {len(table)} rows, {len(routing.programmes)} purposes, "
        f"{len(margins)} borderline margins, {len(doubts)} doubts ({where})"
    )


def programmes_as_asked(evaluation: Evaluation) -> pd.DataFrame:
    """The programme results with each ``<p>_status`` reading ``not_requested`` where the
    application does not ask for the programme (its eligibility, score, coverage and grade
    blank: nobody asked), and ``doubted`` where an eligible label rests on a doubted value
    (:mod:`.doubts`): what every output shows."""
    routing = routing_of(evaluation.rules)
    asked = requested_programmes(evaluation.frame, routing)
    shown = doubted(evaluation).programmes.copy()
    for programme in PROGRAMMES:
        status = shown[f"{programme}_status"].astype(object)
        shown[f"{programme}_status"] = status.where(asked[programme], "not_requested")
        for part in ("eligible", "score", "coverage", "grade"):
            column = f"{programme}_{part}"
            if column in shown:
                shown[column] = shown[column].where(asked[programme])
    return shown


def decision_inputs(
    evaluation: Evaluation, predictions: pd.DataFrame | None, problems: pd.DataFrame | None
) -> pd.DataFrame:
    """The names a decision row may test, one row per project (``rules/decision/README.md``)."""
    return _basis(evaluation, predictions, problems).inputs


@dataclass(frozen=True)
class _Basis:
    """What a decision rests on, worked out once: the routing tables, the programmes each
    project asks for, the decision inputs and the borderline passes."""

    routing: Routing
    asked: dict[str, np.ndarray]
    inputs: pd.DataFrame
    borderline: list[tuple[object, np.ndarray]]
    doubted: list[tuple[object, np.ndarray]]
    quality: pd.DataFrame


def _basis(
    evaluation: Evaluation, predictions: pd.DataFrame | None, problems: pd.DataFrame | None
) -> _Basis:
    frame, routing = evaluation.frame, routing_of(evaluation.rules)
    asked = requested_programmes(frame, routing)
    doubts = doubted(evaluation)
    programmes = doubts.programmes
    inputs = programmes[[c for c in programmes.columns if c.endswith(INPUT_PARTS)]].copy()
    for column in CONTEXT_COLUMNS:
        inputs[column] = column_or_blank(frame, column)
    inputs["compliance_status"] = _worst(programmes, routing.of_role("floor"), asked)
    inputs["route_status"] = _worst(programmes, routing.of_role("route"), asked)
    inputs["label_status"] = label_status(programmes, routing, asked)
    for name, values in _model_inputs(predictions, asked, len(frame)).items():
        inputs[name] = values
    counted = _decisive(asked, routing, inputs["label_status"].to_numpy())
    for name, (severities, codes, decisive, roles) in COUNTS.items():
        inputs[name] = _count(evaluation, (severities, codes, decisive, roles), counted)
    borderline = borderline_passes(evaluation, counted, routing)
    inputs["gates_borderline"] = sum(
        (hits for _, hits in borderline), np.zeros(len(frame), dtype=int)
    )
    inputs["input_errors"] = _input_errors(frame.index, problems)
    quality = quality_scores(evaluation, counted, formula_of(evaluation.rules), doubts.fields)
    return _Basis(routing, asked, inputs, borderline, doubts.passes, quality)


@dataclass(frozen=True)
class Doubted:
    """What the raised plausibility flags doubt in one evaluation (:mod:`.doubts`): field ->
    the projects where it is doubted, the label rules' passes withheld, and the programme
    results with them withheld."""

    fields: dict[str, np.ndarray]
    passes: list[tuple[object, np.ndarray]]
    programmes: pd.DataFrame


def doubted(evaluation: Evaluation) -> Doubted:
    """The doubts of ``evaluation``, worked out once and kept on it while its rules,
    results and programme results stay the same (the decision, the outputs and the records
    all read them)."""
    key = (id(evaluation.rules), id(evaluation.results), id(evaluation.programmes))
    cached = evaluation.__dict__.get("_doubted")
    if cached is None or cached[0] != key:
        doubts = checked_doubts(evaluation.rules)
        fields = doubted_fields(evaluation, doubts)
        labels = routing_of(evaluation.rules).of_role(*DOUBTING_ROLES)
        passes = doubted_passes(evaluation, fields, labels)
        found = Doubted(fields, passes, with_doubts(evaluation, passes))
        cached = evaluation.__dict__["_doubted"] = (key, found)
    return cached[1]


def checked_doubts(rules: RuleSet) -> tuple:
    """The ``doubts.csv`` of the rules' own decision folder, each row naming a flag of
    ``rules``; without one, the packaged table's rows for the flags ``rules`` has."""
    path = decision_file(decision_folder(rules), "doubts.csv")
    doubts, severities = load_doubts(path), {rule.rule_id: rule.severity for rule in rules.rules}
    if _own(rules, path):
        check_doubts(doubts, severities, path)
        return doubts
    return tuple(doubt for doubt in doubts if severities.get(doubt.rule_id) == "flag")


def formula_of(rules: RuleSet) -> Formula:
    """The data-quality formula of the rules' own decision folder, its packs those of
    ``rules``; without one, the packaged formula with the packs ``rules`` has."""
    path = decision_file(decision_folder(rules), "data_quality.csv")
    formula, packs = load_formula(path), {pack.id for pack in rules.packs}
    if _own(rules, path):
        check_packs(formula, packs, path)
        return formula
    return replace(formula, packs=tuple(pack for pack in formula.packs if pack in packs))


def _own(rules: RuleSet, path: Path) -> bool:
    """Is ``path`` a table of the rules' own decision folder (not the packaged one)?"""
    folder = decision_folder(rules)
    return folder is not None and path.parent == folder


@lru_cache(maxsize=4)
def load_borderline(folder: str | Path | None = None) -> dict[str, float]:
    """Metric -> the margin within which a passed gate on it is borderline (data:
    ``borderline.csv`` of ``folder``, default the packaged ``rules/decision``), each margin a
    finite number of at least 0."""
    path = decision_file(folder, "borderline.csv")
    found, problems = {}, []
    for number, row in enumerate(reference_rows(path, ("metric", "margin")), start=2):
        try:
            margin = float(row.get("margin") or "")
        except ValueError:
            margin = math.nan
        if not (math.isfinite(margin) and margin >= 0):
            problems.append(
                {
                    "file": str(path),
                    "row": number,
                    "column": "margin",
                    "value": str(row.get("margin")),
                    "message": "not a margin",
                    "hint": "a number of at least 0, in the metric's unit",
                }
            )
        found[str(row.get("metric"))] = margin
    if problems:
        raise RuleError.from_rows(problems)
    return found


def borderline_passes(
    evaluation: Evaluation, counted: dict, routing: Routing
) -> list[tuple[object, np.ndarray]]:
    """Per gate on a metric of :func:`load_borderline` that counts for the decision (the
    floor, the route, a granted label): the rule and where it passes within the margin of
    its threshold."""
    margins, found = load_borderline(decision_folder(evaluation.rules)), []
    for rule in evaluation.rules.rules:
        role = routing.roles.get(rule.programme)
        usable = rule.operator in ("<", "<=", ">", ">=") and rule.metric in margins
        if rule.severity != "gate" or not usable or role not in ("floor", "route", "label"):
            continue
        rows = counted[rule.programme] & (counted["label_granted"] if role == "label" else True)
        result = evaluation.results[rule.rule_id]
        value = evaluation.frame[rule.metric].to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            near = np.abs(value - np.asarray(result.thresholds, dtype=float))
            near = near <= margins[rule.metric] + 1e-9
        found.append((rule, rows & near & (result.codes == PASS)))
    return found


INPUT_PARTS = ("_eligible", "_score", "_status")
# name -> (severities, verdict codes, confidence: True decisive only, False unverified only,
# None any; roles counted)
COUNTS = {
    "gates_failed": (("gate",), (FAIL,), True, ("floor", "route")),
    "gates_unverified": (("gate",), (FAIL,), False, ("floor", "route", "label")),
    "gates_insufficient": (("gate",), (INSUFFICIENT,), None, ("floor", "route", "label")),
    "flags": (("flag",), (FAIL,), None, ("floor", "route", "label")),
    "conditions": (("score", "condition"), (FAIL,), None, ("floor", "route", "label")),
}


def _worst(programmes: pd.DataFrame, names: tuple[str, ...], asked: dict) -> np.ndarray:
    """The worst status (:data:`evaluate.STATUSES`, worst first) of the programmes asked
    for among ``names``; ``not_requested`` when none is."""
    rank = np.full(len(programmes), len(STATUSES))
    for name in names:
        here = pd.Categorical(programmes[f"{name}_status"], categories=STATUSES).codes
        rank = np.where(asked[name], np.minimum(rank, here), rank)
    return np.asarray(SHOWN_STATUSES, dtype=object)[rank]


LABEL_WORDS = {
    "not_eligible": "refused",
    "insufficient": "insufficient",
    "unverified": "unverified",
    "doubted": "doubted",
    "eligible": "granted",
    "not_applicable": "not_applicable",
    "not_requested": "not_requested",
}


def label_status(programmes: pd.DataFrame, routing: Routing, asked: dict) -> np.ndarray:
    """The green label asked for: granted, refused, insufficient, unverified, doubted (it
    would be granted on a value a plausibility flag doubts), not_applicable (no label test
    applies) or not_requested, from the worst of the label programmes."""
    worst = _worst(programmes, routing.of_role("label"), asked)
    return pd.Series(worst, dtype=object).map(LABEL_WORDS).to_numpy(dtype=object)


def _model_inputs(predictions, asked: dict, count: int) -> dict:
    """``pd``, ``pd_binding`` (the model card says it was calibrated on real outcomes) and
    ``credit_route`` (a loan is asked for: a REIT issue carries no credit decision)."""
    credit = asked.get("credit", np.zeros(count, dtype=bool))
    if predictions is None:
        return {
            "pd": np.full(count, np.nan),
            "pd_binding": np.zeros(count, dtype=bool),
            "credit_route": credit,
        }
    return {
        "pd": predictions["pd"].to_numpy(dtype=float),
        "pd_binding": ~predictions["pd_advisory"].fillna(True).to_numpy(dtype=bool),
        "credit_route": credit,
    }


def _decisive(asked: dict, routing: Routing, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Per programme, the projects whose verdicts count for the decision: the floor and
    route asked for; the labels asked for, their gates while the label is undecided and their
    other rules once it is granted (a refused label's shortfalls decide nothing)."""
    found = {}
    for programme in PROGRAMMES:
        role = routing.roles.get(programme)
        found[programme] = asked[programme] & (role in ("floor", "route", "label"))
    found["label_granted"] = labels == "granted"
    found["label_open"] = np.isin(labels, ("insufficient", "unverified", "doubted"))
    return found


def _count(evaluation: Evaluation, what: tuple, counted: dict) -> np.ndarray:
    """How many verdicts of one :data:`COUNTS` kind each project has, over the programmes
    that count for it (``counted``, :func:`_decisive`)."""
    severities, codes, decisive, roles = what
    total = np.zeros(len(evaluation.frame), dtype=int)
    routing = routing_of(evaluation.rules)
    for rule in evaluation.rules.rules:
        role = routing.roles.get(rule.programme)
        if rule.severity not in severities or role not in roles:
            continue
        if not _confidence_matches(rule, decisive):
            continue
        rows = counted[rule.programme]
        if role == "label":  # a refused label's verdicts do not decide the loan
            rows = rows & counted["label_open" if rule.severity == "gate" else "label_granted"]
        verdicts = evaluation.results[rule.rule_id].codes
        hit = np.isin(verdicts, codes)
        if rule.severity == "condition":  # a commitment not shown is a condition too
            hit |= verdicts == INSUFFICIENT
        total += hit & rows
    return total


def _confidence_matches(rule, decisive: bool | None) -> bool:
    return decisive is None or (rule.confidence in DECISIVE) == decisive


def _input_errors(index: pd.Index, problems: pd.DataFrame | None) -> np.ndarray:
    if problems is None or problems.empty:
        return np.zeros(len(index), dtype=int)
    errors = problems[problems["severity"] == "error"]["project_id"].value_counts()
    return errors.reindex(index, fill_value=0).to_numpy(dtype=int)


def recommend(inputs: pd.DataFrame, table: list[DecisionRow]) -> pd.DataFrame:
    """``recommendation``, the decisive table row's ``decision_row`` and its reason."""
    chosen = np.full(len(inputs), -1)
    for position, row in enumerate(table):
        truth, known = conditions.evaluate(row.condition, inputs)
        chosen = np.where((chosen < 0) & truth & known, position, chosen)
    if (chosen < 0).any():
        raise RuleError(
            "no decision row matched",
            where="decision_table.csv",
            hint="end the table with a row whose 'when' is blank",
        )
    return pd.DataFrame(
        {
            "recommendation": [table[i].recommendation for i in chosen],
            "decision_row": [table[i].order for i in chosen],
            "decision_reason": [table[i].reason_en for i in chosen],
            "decision_reason_zh": [table[i].reason_zh for i in chosen],
        },
        index=inputs.index,
    )


def decide(
    evaluation: Evaluation,
    predictions: pd.DataFrame | None = None,
    problems: pd.DataFrame | None = None,
    table: list[DecisionRow] | None = None,
    *,
    details: bool = True,
) -> pd.DataFrame:
    """Per project: recommendation, decisive row and reason, principal reasons, the green
    label asked for and, with ``details``, conditions, data quality, the fields that would
    decide an undecided gate and paths to eligibility (a screen of many projects leaves them
    out)."""
    problems = own_problems(problems, evaluation.frame)
    basis = _basis(evaluation, predictions, problems)
    inputs = basis.inputs
    folder = decision_folder(evaluation.rules)
    table = table or load_decision_table(decision_file(folder, "decision_table.csv"))
    result = recommend(inputs, table)
    result["label_status"] = inputs["label_status"].to_numpy()
    result[SCORE] = basis.quality[SCORE]
    rules = {rule.rule_id: rule for rule in evaluation.rules.rules}
    by_project = _flagged(evaluation, basis, gates_only=not details)
    _add_passes(by_project, evaluation, basis, basis.borderline, "borderline")
    doubted_gates = [(rule, rows) for rule, rows in basis.doubted if rule.severity == "gate"]
    _add_passes(by_project, evaluation, basis, doubted_gates, "doubted")
    labels = dict(zip(inputs.index, result["label_status"], strict=True))
    split = {pid: _split_rows(by_project.get(pid, []), labels[pid]) for pid in inputs.index}
    models = _prediction_rows(predictions, inputs.index)  # the PD speaks for loans only
    loans = dict(zip(inputs.index, inputs["credit_route"], strict=True))
    models = {pid: row for pid, row in models.items() if loans[pid]}
    facts = {rule_id: _reason_facts(rule) for rule_id, rule in rules.items()}
    result["reasons"] = [
        _filled(principal_reasons(split[pid][0], facts, models.get(pid)), evaluation.frame, pid)
        for pid in inputs.index
    ]
    result["green_label"] = [green_label(labels[pid], split[pid][1], facts) for pid in inputs.index]
    if not details:
        return result
    return _details(result, evaluation, problems, split, rules, basis)


def _details(
    result, evaluation: Evaluation, problems, split: dict, rules: dict, basis: _Basis
) -> pd.DataFrame:
    problems_of = _grouped(_records(problems, PROBLEM_KEYS) if problems is not None else [])
    assumed = _assumption_facts(evaluation.frame)
    ids, frame = result.index, evaluation.frame
    declined = dict(zip(ids, result["recommendation"] == "decline", strict=True))
    blanks = _Blanks(frame)
    result["conditions"] = [  # a declined loan has no conditions
        [] if declined[pid] else covenants(split[pid][0], rules, blanks.of(i))
        for i, pid in enumerate(ids)
    ]
    parts = basis.quality.to_dict("index")
    result["data_quality"] = [
        data_quality(assumed.get(pid, {}), problems_of.get(pid, []), split[pid][0])
        | _score_facts(parts[pid])
        for pid in ids
    ]
    doubts = checked_doubts(evaluation.rules)
    result["missing_for_decision"] = [
        _missing_for_decision(problems_of.get(pid, []), split[pid][0], rules, doubts, blanks.of(i))
        for i, pid in enumerate(ids)
    ]
    paths = paths_to_eligibility(evaluation, _path_programmes(basis))
    result["path_to_eligibility"] = [paths.get(pid, []) for pid in ids]
    return result


def _missing_for_decision(problems: list, rows: list, rules: dict, doubts: tuple, blank) -> list:
    """What to correct or give first, the fields that would decide the undecided gates and
    the evidence a doubt asks for, each once."""
    found = _to_correct(problems, blank) + deciding_fields(rows, rules, blank)
    return list(dict.fromkeys(found + evidence_fields(rows, doubts, blank)))


def _score_facts(parts: dict) -> dict:
    """The data-quality score and the share earned of each component, for the JSON."""
    shares = {key.removeprefix("data_quality_"): plain(v) for key, v in parts.items()}
    return {"score": plain(shares.pop("score")), "score_parts": shares}


def _path_programmes(basis: _Basis) -> dict[str, np.ndarray]:
    """The programmes a path to eligibility is sought for: those asked for, but not the
    informative ones."""
    roles = basis.routing.roles
    return {p: rows & (roles.get(p) != "informative") for p, rows in basis.asked.items()}


def _add_passes(
    by_project: dict, evaluation: Evaluation, basis: _Basis, passes: list, verdict: str
) -> None:
    """Each gate of ``passes`` (rule, projects) passed within its borderline margin or on a
    doubted value, as a verdict ``borderline`` or ``doubted`` among the project's flagged
    verdicts (a person judges it), for the programmes the project asks for."""
    routing = basis.routing
    for rule, hits in passes:
        rows = np.flatnonzero(hits & basis.asked[rule.programme])
        facts = evaluation.verdict_facts(rule, rows)
        for pid, value, threshold in zip(
            evaluation.frame.index[rows], facts["value"], facts["threshold"], strict=True
        ):
            by_project.setdefault(pid, []).append(
                {
                    "rule_id": rule.rule_id,
                    "programme": rule.programme,
                    "role": routing.roles.get(rule.programme),
                    "severity": "gate",
                    "metric": rule.metric,
                    "verdict": verdict,
                    "value": value,
                    "threshold": threshold,
                }
            )


def _split_rows(rows: list[dict], label: str) -> tuple[list[dict], list[dict]]:
    """A project's flagged verdicts as (those that count for the decision, those of the
    label programmes). A refused label's verdicts explain the refusal only; a label not yet
    granted counts with its gates only."""
    label_rows = [row for row in rows if row["role"] == "label"]
    main = [row for row in rows if row["role"] in ("floor", "route")]
    if label == "granted":
        main += label_rows
    elif label in ("insufficient", "unverified", "doubted"):
        main += [row for row in label_rows if row["severity"] == "gate"]
    return main, label_rows


DUPLICATE = "duplicate project_id"


def own_problems(problems: pd.DataFrame | None, frame: pd.DataFrame) -> pd.DataFrame | None:
    """The problems of each project's own file and row (:func:`intake.read.of_kept_rows`), not
    those of another input repeating its id: what the screen rejects a project for."""
    if problems is None or problems.empty or "source_file" not in frame.columns:
        return problems
    return problems[of_kept_rows(problems, frame) & (problems["message"] != DUPLICATE)]


def _flagged(evaluation: Evaluation, basis: _Basis, gates_only: bool) -> dict[object, list[dict]]:
    """Each project's failed and undecided verdicts of the programmes it asks for (of the
    gate and flag rules only, with ``gates_only``), in rule order, as plain dicts with the
    programme's role; informative programmes are left out."""
    asked, roles = basis.asked, basis.routing.roles
    found: dict[object, list[dict]] = {}
    for rule in evaluation.rules.rules:
        codes = evaluation.results[rule.rule_id].codes
        rows = np.flatnonzero(asked[rule.programme] & np.isin(codes, (FAIL, INSUFFICIENT)))
        role = roles.get(rule.programme)
        skip = gates_only and rule.severity not in ("gate", "flag")
        if not len(rows) or skip or role == "informative":
            continue
        facts = evaluation.verdict_facts(rule, rows)
        columns = (
            evaluation.frame.index[rows].tolist(),
            np.asarray(VERDICTS, dtype=object)[codes[rows]].tolist(),
            facts["value"].tolist(),
            facts["threshold"].tolist(),
        )
        for pid, verdict, value, threshold in zip(*columns, strict=True):
            found.setdefault(pid, []).append(
                {
                    "rule_id": rule.rule_id,
                    "programme": rule.programme,
                    "role": role,
                    "severity": rule.severity,
                    "metric": rule.metric,
                    "verdict": verdict,
                    "value": value,
                    "threshold": threshold,
                }
            )
    return found


PROBLEM_KEYS = ("project_id", "severity", "message", "field")


def _records(frame: pd.DataFrame, keys: tuple[str, ...]) -> list[dict]:
    """Some columns of ``frame`` as one dict per row (column by column: fast on Arrow)."""
    columns = [frame[key].tolist() for key in keys]
    return [dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True)]


def _grouped(rows: list[dict]) -> dict[object, list[dict]]:
    """Rows by their ``project_id``, in order (one pass; no per-project frames)."""
    found: dict[object, list[dict]] = {}
    for row in rows:
        found.setdefault(row["project_id"], []).append(row)
    return found


def _prediction_rows(predictions: pd.DataFrame | None, index: pd.Index) -> dict:
    if predictions is None:
        return {}
    columns = [c for c in predictions.columns if c.startswith("reason_")]
    rows = _records(predictions, tuple(columns))
    return dict(zip(predictions.index, rows, strict=True))


def _assumption_facts(frame: pd.DataFrame) -> dict:
    columns = [c for c in ASSUMPTION_COLUMNS if c in frame.columns]
    return dict(zip(frame.index, _records(frame, tuple(columns)), strict=True))


ASSUMPTION_COLUMNS = (
    "pue_basis",
    "emission_factor_level",
    "emission_factor_area",
    "emission_factor_year",
    "emission_factor_status",
)


def principal_reasons(rows: list[dict], facts: dict, prediction: dict | None) -> list[dict]:
    """Every failed gate, raised flag, borderline pass and undecided gate (what the decision
    rests on), then model factors up to four reasons in all; ``facts`` gives what each rule says
    (``_reason_facts``) by rule id."""
    found = [
        _rule_reason(row, facts)
        for wanted in (
            ("gate", "fail"),
            ("flag", "fail"),
            ("gate", "doubted"),
            ("gate", "borderline"),
            ("gate", "insufficient"),
        )
        for row in rows
        if (row["severity"], row["verdict"]) == wanted
    ]
    if prediction is None:
        return found
    model = [
        {
            "kind": "model",
            "criterion": reason["feature"],
            "value": reason["value"],
            "contribution": reason["contribution"],
            "source": "risk model (see the model card)",
        }
        for reason in model_reasons(prediction)
    ]
    return found + model[: max(0, MAX_REASONS - len(found))]


PLACEHOLDER = re.compile(r"\{([a-z_0-9]+)\}")


def _filled(reasons: list[dict], frame: pd.DataFrame, pid: object) -> list[dict]:
    """The reasons with each ``{field}`` of a rule's remedy replaced by the project's value
    (``-`` where it has none): "not yet eligible: operating from 2023-09-01"."""
    for reason in reasons:
        remedy = reason.get("remedy") or ""
        if "{" in remedy:
            reason["remedy"] = PLACEHOLDER.sub(lambda m: _field_text(frame, pid, m[1]), remedy)
    return reasons


def _field_text(frame: pd.DataFrame, pid: object, name: str) -> str:
    value = frame.at[pid, name] if name in frame.columns else None
    if _is_blank(value):
        return "-"
    return value.date().isoformat() if isinstance(value, pd.Timestamp) else str(plain(value))


def _rule_reason(row: dict, facts: dict) -> dict:
    reason = dict(facts[row["rule_id"]])
    reason["verdict"] = str(row["verdict"])
    reason["value"] = plain(row["value"])
    reason["threshold"] = _threshold(row["threshold"])
    return reason


def _reason_facts(rule) -> dict:
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


def _threshold(value: object) -> object:
    return value if isinstance(value, str) else plain(value)


class _Blanks:
    """Whether a field is blank for a project of ``frame`` (a field the frame lacks is
    blank): the frame's missing values worked out at once."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.missing = frame.isna().to_numpy()
        self.columns = {name: j for j, name in enumerate(frame.columns)}

    def of(self, position: int) -> Callable[[str], bool]:
        """The test for the project at ``position``."""
        row = self.missing[position]
        return lambda name: name not in self.columns or bool(row[self.columns[name]])


def deciding_fields(rows: list[dict], rules: dict, blank) -> list[str]:
    """The missing inputs that would decide the project's undecided gates: each gate's
    metric, condition and segment names, indicators traced to the fields they come from,
    kept where the project has no value (``blank(field)``; the name itself when none is)."""
    found: list[str] = []
    for row in rows:
        if row["severity"] != "gate" or row["verdict"] != "insufficient":
            continue
        names = rules[row["rule_id"]].names()
        missing = [f for n in names for f in input_fields(n) if blank(f)]
        for name in missing or [row["metric"]]:
            if name not in found:
                found.append(name)
    return found


def _to_correct(problems: list[dict], blank) -> list[str]:
    """The fields an input error makes wrong, and a missing financing purpose: to correct or
    give before anything else can be decided."""
    wrong = [p["field"] for p in problems if p["severity"] == "error" and p["field"]]
    if blank("financing_purpose"):
        wrong.append("financing_purpose")
    return list(dict.fromkeys(wrong))


def _is_blank(value: object) -> bool:
    return value is None or (not isinstance(value, str | list | tuple) and bool(pd.isna(value)))


def green_label(status: str, rows: list[dict], facts: dict) -> dict:
    """The green label asked for: its ``status`` and, unless granted, the label gates that
    fail or cannot be decided (why it is refused or undecided)."""
    reasons = [
        _rule_reason(row, facts)
        for row in rows
        if row["severity"] == "gate" and status not in ("granted", "not_requested")
    ]
    return {"status": status, "reasons": reasons}


def covenants(rows: list[dict], rules: dict, blank=lambda name: False) -> list[dict]:
    """One condition per failed score rule and per condition rule not met or not shown; not
    a condition whose ``applies_when`` cannot be decided for a blank field (``blank(name)``):
    a Beijing covenant is no condition of a project whose province is not given."""
    return [
        _covenant(row, rules[row["rule_id"]])
        for row in rows
        if (row["severity"] == "score" and row["verdict"] == "fail")
        or (row["severity"] == "condition" and not _undecided_scope(row, rules, blank))
    ]


def _undecided_scope(row: dict, rules: dict, blank) -> bool:
    """An insufficient rule whose condition names a blank field: whether it applies at all
    is not known."""
    if row["verdict"] != "insufficient":
        return False
    tests = conditions.names(rules[row["rule_id"]].condition)
    return any(blank(test.name) for test in tests)


def _covenant(row: dict, rule) -> dict:
    value, threshold = plain(row["value"]), _threshold(row["threshold"])
    text = f"bring {rule.metric} from {shown(value)} to {rule.operator} {shown(threshold)}"
    if rule.severity == "condition" and rule.remedy_en:  # a covenant says what it asks
        text = rule.remedy_en
    return {
        "criterion": rule.rule_id,
        "title": rule.title_en,
        "title_zh": rule.title_zh,
        "metric": rule.metric,
        "value": value,
        "operator": rule.operator,
        "threshold": threshold,
        "unit": rule.unit,
        "text": text,
        "remedy": rule.remedy_en,
        "remedy_zh": rule.remedy_zh,
        "severity": rule.severity,
        "source": rule.source,
        "clause": rule.clause,
        "clause_zh": rule.clause_zh,
    }


def data_quality(facts: dict, problems: list[dict], rows: list[dict]) -> dict:
    """``verdict`` (complete / gaps / errors), the missing fields and the assumptions made;
    ``facts`` are the project's PUE basis and emission-factor columns, ``problems`` its input
    problems and ``rows`` its failed and undecided verdicts."""
    errors = sum(1 for p in problems if p["severity"] == "error")
    missing = sorted({p["field"] for p in problems if p["message"] == "missing"})
    undecided = sum(1 for row in rows if row["verdict"] == "insufficient")
    verdict = "errors" if errors else ("gaps" if missing or undecided else "complete")
    return {
        "verdict": verdict,
        "errors": errors,
        "missing": missing,
        "undecided_rules": undecided,
        "assumed": _assumptions(facts),
    }


def _assumptions(row: dict) -> list[dict]:
    """Each assumption as ``code`` (reports word it per language), its facts and ``text``; a
    missing fact (NA: no PUE at all, no emission factor before the first data year) makes
    no assumption."""
    project = {key: plain(value) for key, value in row.items()}
    found = []
    if project.get("pue_basis") == "design":
        found.append(
            {
                "code": "design_pue",
                "text": "PUE assessed on the design value (no measured annual PUE used)",
            }
        )
    if project.get("emission_factor_level") in ("regional", "national"):
        facts = {
            "level": str(project["emission_factor_level"]),
            "area": str(project.get("emission_factor_area")),
            "year": plain(project.get("emission_factor_year")),
        }
        text = f"grid emission factor at {facts['level']} level ({facts['area']}, {facts['year']})"
        found.append({"code": "grid_factor_level", **facts, "text": text})
    if project.get("emission_factor_status") == FALLBACK:
        text = "no official grid emission factor published by the assessment date: fallback used"
        found.append({"code": "factor_fallback", "text": text})
    return found
