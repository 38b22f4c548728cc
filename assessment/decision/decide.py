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

and, unless a screen of many projects leaves them out (``details=False``):

* ``green_label``: the label asked for (granted, refused, ...) and why (a screen shows its
  status, ``label_status``);
* ``conditions``: one covenant per failed score rule and per condition rule not met or not
  shown ("bring contracted_revenue_share from 0.55 to >= 0.7"), with the rule's remedy;
* ``data_quality``: what was missing, wrong or assumed; ``missing_for_decision``: the fields
  that would decide the undecided gates;
* ``path_to_eligibility``: per programme applied for and not won, the smallest changes to the
  failing criteria that would win it (``counterfactual.paths_to_eligibility``).

All of it is worked out for all projects at once, over the table of the verdicts that count
(:mod:`.verdicts`, :mod:`.reasons`, :mod:`.gaps`), not project by project.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .._shared.tables import reference_rows
from ..criteria import conditions
from ..criteria.evaluate import DECISIVE, FAIL, INSUFFICIENT, PASS, STATUSES, Evaluation
from ..criteria.rules import RuleSet, nearest
from ..errors import RuleError
from ..intake.asked import (
    Routing,
    column_or_blank,
    decision_file,
    load_routing,
    requested_programmes,
)
from ..intake.dictionary import PROGRAMMES
from ..intake.read import of_kept_rows
from . import gaps, reasons, verdicts
from .doubts import (
    DOUBTING_ROLES,
    check_doubts,
    doubted_fields,
    doubted_passes,
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
    programmes = doubted(evaluation).programmes
    shown = programmes.set_axis(pd.RangeIndex(len(programmes)))  # where() rebuilds no index
    for programme in PROGRAMMES:
        status = shown[f"{programme}_status"].astype(object)
        shown[f"{programme}_status"] = status.where(asked[programme], "not_requested")
        for part in ("eligible", "score", "coverage", "grade"):
            column = f"{programme}_{part}"
            if column in shown:
                shown[column] = shown[column].where(asked[programme])
    return shown.set_axis(programmes.index)


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

    def column(name: str, dtype: object = object) -> np.ndarray:
        return np.asarray([getattr(row, name) for row in table], dtype=dtype)[chosen]

    return pd.DataFrame(
        {
            "recommendation": column("recommendation"),
            "decision_row": column("order", np.int64),
            "decision_reason": column("reason_en"),
            "decision_reason_zh": column("reason_zh"),
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
    """Per project: recommendation, decisive row and reason, principal reasons and, with
    ``details``, the green label asked for and why, conditions, data quality, the fields that
    would decide an undecided gate and paths to eligibility (a screen of many projects leaves
    them out: its rows show the label's status, ``label_status``). Worked out for all projects
    at once over the table of the verdicts that count (:mod:`.verdicts`)."""
    problems = own_problems(problems, evaluation.frame)
    basis = _basis(evaluation, predictions, problems)
    inputs = basis.inputs
    folder = decision_folder(evaluation.rules)
    table = table or load_decision_table(decision_file(folder, "decision_table.csv"))
    result = recommend(inputs, table)
    labels = inputs["label_status"].to_numpy(dtype=object)
    result["label_status"] = labels
    result[SCORE] = basis.quality[SCORE]
    main, label_rows = verdicts.split(_verdicts(evaluation, basis, not details), labels)
    loans = inputs["credit_route"].to_numpy(dtype=bool)  # the PD speaks for loans only
    aligned = _aligned(predictions, evaluation.frame.index)
    result["reasons"] = reasons.principal_reasons(evaluation, main, aligned, loans)
    if not details:
        return result
    result["green_label"] = reasons.green_labels(evaluation, label_rows, labels)
    return _details(result, evaluation, problems, main, basis)


def _aligned(predictions: pd.DataFrame | None, index: pd.Index) -> pd.DataFrame | None:
    """The predictions row by row with the projects (none for a project not predicted)."""
    if predictions is None or predictions.index.equals(index):
        return predictions
    return predictions.reindex(index)


def _verdicts(evaluation: Evaluation, basis: _Basis, gates_only: bool) -> verdicts.Verdicts:
    """The failed and undecided verdicts of the programmes each project asks for, then its
    gates passed within their borderline margin, then those passed on a doubted value."""
    doubted_gates = [(rule, rows) for rule, rows in basis.doubted if rule.severity == "gate"]
    passes = [basis.borderline, doubted_gates]
    return verdicts.gather(evaluation, basis.asked, basis.routing.roles, passes, gates_only)


def _details(
    result, evaluation: Evaluation, problems, main: verdicts.Verdicts, basis: _Basis
) -> pd.DataFrame:
    frame = evaluation.frame
    blanks = verdicts.Blanks(frame)
    declined = (result["recommendation"] == "decline").to_numpy()  # no conditions
    result["conditions"] = reasons.covenants(evaluation, main, blanks, declined)
    found = gaps.Problems.of(problems, frame.index)
    result["data_quality"] = gaps.data_quality(frame, found, main, basis.quality)
    evidence = {d.rule_id: d.evidence for d in checked_doubts(evaluation.rules) if d.evidence}
    result["missing_for_decision"] = gaps.missing_for_decision(
        evaluation, found, main, evidence, blanks
    )
    paths = paths_to_eligibility(evaluation, _path_programmes(basis))
    result["path_to_eligibility"] = [paths.get(pid, []) for pid in result.index.tolist()]
    return result


def _path_programmes(basis: _Basis) -> dict[str, np.ndarray]:
    """The programmes a path to eligibility is sought for: those asked for, but not the
    informative ones."""
    roles = basis.routing.roles
    return {p: rows & (roles.get(p) != "informative") for p, rows in basis.asked.items()}


DUPLICATE = "duplicate project_id"


def own_problems(problems: pd.DataFrame | None, frame: pd.DataFrame) -> pd.DataFrame | None:
    """The problems of each project's own file and row (:func:`intake.read.of_kept_rows`), not
    those of another input repeating its id: what the screen rejects a project for."""
    if problems is None or problems.empty or "source_file" not in frame.columns:
        return problems
    return problems[of_kept_rows(problems, frame) & (problems["message"] != DUPLICATE)]
