"""One recommendation per project from the programme results and the risk model.

The decision table (``rules/decision/decision_table.csv``, data that analysts change) is tried
row by row; the first row whose condition holds gives ``approve``, ``approve_with_conditions``,
``refer`` or ``decline``. With it come:

* ``reasons``: every failed gate, then (up to four in all) the model factors that raise the risk
  most and the gates that could not be decided; each names the criterion, the observed value,
  the threshold and the source clause;
* ``conditions``: one covenant per failed score rule or raised flag ("raise green_power_share
  from 0.55 to >= 0.8"), with the rule's remedy;
* ``data_quality``: what was missing, wrong or assumed;
* ``path_to_eligibility``: per programme applied for and not won, the smallest changes to the
  failing criteria that would win it (``counterfactual.paths_to_eligibility``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import conditions
from ._resources import data_dir
from .counterfactual import paths_to_eligibility
from .dictionary import PROGRAMMES
from .errors import RuleError
from .evaluate import FAIL, INSUFFICIENT, VERDICTS, Evaluation
from .ingest import of_kept_rows
from .prediction import reasons as model_reasons
from .rules import nearest
from .values import format_number, plain

RECOMMENDATIONS = ("approve", "approve_with_conditions", "refer", "decline")
MAX_REASONS = 4
CONTEXT_COLUMNS = ("financing_purpose", "facility_type", "project_kind")
INPUT_NAMES = (
    *(f"{p}_{part}" for p in PROGRAMMES for part in ("eligible", "score")),
    "pd",
    *CONTEXT_COLUMNS,
    "gates_failed",
    "gates_insufficient",
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
    """The decision table, validated: every problem is reported together."""
    path = Path(path) if path else data_dir("rules") / "decision" / "decision_table.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
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


def load_purposes(path: str | Path | None = None) -> dict[str, tuple[str, ...]]:
    """The programmes an application is assessed for, by financing purpose (data)."""
    path = Path(path) if path else data_dir("rules") / "decision" / "purpose_programmes.csv"
    table = pd.read_csv(path, dtype=str)
    return {row.financing_purpose: tuple(row.programmes.split(";")) for row in table.itertuples()}


def relevance(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per programme, the projects whose financing purpose asks for it (all when unknown)."""
    purposes = load_purposes()
    purpose = frame.get("financing_purpose", pd.Series(pd.NA, index=frame.index))
    wanted = [
        purposes.get(p, PROGRAMMES) if isinstance(p, str) else PROGRAMMES for p in purpose.tolist()
    ]
    return {
        programme: np.array([programme in ps for ps in wanted], dtype=bool)
        for programme in PROGRAMMES
    }


def decision_inputs(
    evaluation: Evaluation, predictions: pd.DataFrame | None, problems: pd.DataFrame | None
) -> pd.DataFrame:
    """The names a decision row may test, one row per project; the rule counts cover the
    programmes that the application's financing purpose asks for."""
    frame = evaluation.frame
    relevant = relevance(frame)
    inputs = evaluation.programmes[
        [c for c in evaluation.programmes.columns if c.endswith(("_eligible", "_score"))]
    ].copy()
    inputs["pd"] = predictions["pd"] if predictions is not None else np.nan
    for column in CONTEXT_COLUMNS:
        inputs[column] = frame[column] if column in frame.columns else pd.NA
    inputs["gates_failed"] = _count(evaluation, ("gate",), FAIL, relevant)
    inputs["gates_insufficient"] = _count(evaluation, ("gate",), INSUFFICIENT, relevant)
    inputs["conditions"] = _count(evaluation, ("score", "flag"), FAIL, relevant)
    inputs["input_errors"] = _input_errors(frame.index, problems)
    return inputs


def _count(
    evaluation: Evaluation, severities: tuple[str, ...], code: int, relevant: dict
) -> np.ndarray:
    total = np.zeros(len(evaluation.frame), dtype=int)
    for rule in evaluation.rules.rules:
        if rule.severity in severities:
            total += (evaluation.results[rule.rule_id].codes == code) & relevant[rule.programme]
    return total


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
    """Per project: recommendation, decisive row and reason, principal reasons and, with
    ``details``, conditions, data quality and paths to eligibility (a screen of many
    projects leaves them out)."""
    problems = own_problems(problems, evaluation.frame)
    inputs = decision_inputs(evaluation, predictions, problems)
    result = recommend(inputs, table or load_decision_table())
    rules = {rule.rule_id: rule for rule in evaluation.rules.rules}
    by_project = _flagged(evaluation, gates_only=not details)
    models = _prediction_rows(predictions, inputs.index)
    facts = {rule_id: _reason_facts(rule) for rule_id, rule in rules.items()}
    result["reasons"] = [
        principal_reasons(by_project.get(pid, []), facts, models.get(pid)) for pid in inputs.index
    ]
    if not details:
        return result
    problems_of = _grouped(_records(problems, PROBLEM_KEYS) if problems is not None else [])
    assumed = _assumption_facts(evaluation.frame)
    result["conditions"] = [covenants(by_project.get(pid, []), rules) for pid in inputs.index]
    result["data_quality"] = [
        data_quality(assumed.get(pid, {}), problems_of.get(pid, []), by_project.get(pid, []))
        for pid in inputs.index
    ]
    paths = paths_to_eligibility(evaluation, relevance(evaluation.frame))
    result["path_to_eligibility"] = [paths.get(pid, []) for pid in inputs.index]
    return result


DUPLICATE = "duplicate project_id"


def own_problems(problems: pd.DataFrame | None, frame: pd.DataFrame) -> pd.DataFrame | None:
    """The problems of each project's own file and row (:func:`ingest.of_kept_rows`), not
    those of another input repeating its id: what the screen rejects a project for."""
    if problems is None or problems.empty or "source_file" not in frame.columns:
        return problems
    return problems[of_kept_rows(problems, frame) & (problems["message"] != DUPLICATE)]


def _flagged(evaluation: Evaluation, gates_only: bool) -> dict[object, list[dict]]:
    """Each project's failed and undecided verdicts of the programmes it applies for (of the
    gate rules only, with ``gates_only``), in rule order, as plain dicts."""
    relevant = relevance(evaluation.frame)
    found: dict[object, list[dict]] = {}
    for rule in evaluation.rules.rules:
        codes = evaluation.results[rule.rule_id].codes
        rows = np.flatnonzero(relevant[rule.programme] & np.isin(codes, (FAIL, INSUFFICIENT)))
        if not len(rows) or (gates_only and rule.severity != "gate"):
            continue
        facts = evaluation.verdict_facts(rule, rows)
        columns = (
            evaluation.frame.index[rows].tolist(),
            np.asarray(VERDICTS, dtype=object)[codes[rows]].tolist(),
            facts["value"].tolist(),
            facts["threshold"].tolist(),
        )
        rule_id, severity = rule.rule_id, rule.severity
        for pid, verdict, value, threshold in zip(*columns, strict=True):
            found.setdefault(pid, []).append(
                {
                    "rule_id": rule_id,
                    "severity": severity,
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
)


def principal_reasons(rows: list[dict], facts: dict, prediction: dict | None) -> list[dict]:
    """Every failed gate, then model factors and undecided gates up to four in all; ``facts``
    gives what each rule says (``_reason_facts``) by rule id."""
    gates = [row for row in rows if row["severity"] == "gate"]
    found = [_rule_reason(row, facts) for row in gates if row["verdict"] == "fail"]
    if prediction is not None:
        found += [
            {
                "kind": "model",
                "criterion": reason["feature"],
                "value": reason["value"],
                "contribution": reason["contribution"],
                "source": "risk model (see the model card)",
            }
            for reason in model_reasons(prediction)
        ][: max(0, MAX_REASONS - len(found))]
    undecided = [_rule_reason(row, facts) for row in gates if row["verdict"] == "insufficient"]
    return found + undecided[: max(0, MAX_REASONS - len(found))]


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
        "confidence": rule.confidence,
    }


def _threshold(value: object) -> object:
    return value if isinstance(value, str) else plain(value)


def covenants(rows: list[dict], rules: dict) -> list[dict]:
    """One condition per failed score rule or raised flag."""
    return [
        _covenant(row, rules[row["rule_id"]])
        for row in rows
        if row["severity"] in ("score", "flag") and row["verdict"] == "fail"
    ]


def _covenant(row: dict, rule) -> dict:
    value = plain(row["value"])
    shown = format_number(value) if isinstance(value, float) else value
    threshold = _threshold(row["threshold"])
    target = format_number(threshold) if isinstance(threshold, float) else threshold
    text = f"bring {rule.metric} from {shown} to {rule.operator} {target}"
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
    return found
