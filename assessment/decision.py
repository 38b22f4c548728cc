"""One recommendation per project from the programme results and the risk model.

The decision table (``rules/decision/decision_table.csv``, data that analysts change) is tried
row by row; the first row whose condition holds gives ``approve``, ``approve_with_conditions``,
``refer`` or ``decline``. With it come:

* ``reasons``: every failed gate, then (up to four in all) the model factors that raise the risk
  most and the gates that could not be decided; each names the criterion, the observed value,
  the threshold and the source clause;
* ``conditions``: one covenant per failed score rule or raised flag ("raise green_power_share
  from 0.55 to >= 0.8"), with the rule's remedy;
* ``data_quality``: what was missing, wrong or assumed.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import conditions
from ._resources import data_dir
from .dictionary import PROGRAMMES
from .errors import RuleError
from .evaluate import FAIL, INSUFFICIENT, Evaluation
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
) -> pd.DataFrame:
    """Per project: recommendation, decisive row and reason, reasons, conditions, data quality."""
    inputs = decision_inputs(evaluation, predictions, problems)
    result = recommend(inputs, table or load_decision_table())
    relevant = relevance(evaluation.frame)
    flagged = evaluation.table(
        masks={
            rule.rule_id: relevant[rule.programme]
            & np.isin(evaluation.results[rule.rule_id].codes, (FAIL, INSUFFICIENT))
            for rule in evaluation.rules.rules
        }
    )
    by_project = dict(tuple(flagged.groupby("project_id", sort=False)))
    rules = {rule.rule_id: rule for rule in evaluation.rules.rules}
    result["reasons"] = [
        principal_reasons(by_project.get(pid), rules, _model_row(predictions, pid))
        for pid in inputs.index
    ]
    result["conditions"] = [covenants(by_project.get(pid), rules) for pid in inputs.index]
    result["data_quality"] = [
        data_quality(evaluation.frame.loc[pid], problems, pid, by_project.get(pid))
        for pid in inputs.index
    ]
    return result


def _model_row(predictions: pd.DataFrame | None, project_id: str) -> pd.Series | None:
    return None if predictions is None else predictions.loc[project_id]


def principal_reasons(
    rows: pd.DataFrame | None, rules: dict, prediction: pd.Series | None
) -> list[dict]:
    """Every failed gate, then model factors and undecided gates up to four in all."""
    rows = rows if rows is not None else pd.DataFrame(columns=["severity", "verdict"])
    gates = rows[rows["severity"] == "gate"]
    found = [
        _rule_reason(row, rules) for row in gates[gates["verdict"] == "fail"].to_dict("records")
    ]
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
    undecided = [
        _rule_reason(row, rules)
        for row in gates[gates["verdict"] == "insufficient"].to_dict("records")
    ]
    return found + undecided[: max(0, MAX_REASONS - len(found))]


def _rule_reason(row: dict, rules: dict) -> dict:
    rule = rules[row["rule_id"]]
    return {
        "kind": "rule",
        "criterion": rule.rule_id,
        "title": rule.title_en,
        "title_zh": rule.title_zh,
        "verdict": str(row["verdict"]),
        "metric": rule.metric,
        "value": plain(row["value"]),
        "operator": rule.operator,
        "threshold": _threshold(row["threshold"]),
        "unit": rule.unit,
        "source": rule.source,
        "clause": rule.clause,
        "confidence": rule.confidence,
    }


def _threshold(value: object) -> object:
    return value if isinstance(value, str) else plain(value)


def covenants(rows: pd.DataFrame | None, rules: dict) -> list[dict]:
    """One condition per failed score rule or raised flag."""
    if rows is None:
        return []
    failed = rows[rows["severity"].isin(["score", "flag"]) & (rows["verdict"] == "fail")]
    return [_covenant(row, rules[row["rule_id"]]) for row in failed.to_dict("records")]


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


def data_quality(
    project: pd.Series, problems: pd.DataFrame | None, project_id: str, rows: pd.DataFrame | None
) -> dict:
    """``verdict`` (complete / gaps / errors), the missing fields and the assumptions made."""
    own = problems[problems["project_id"] == project_id] if problems is not None else None
    errors = int((own["severity"] == "error").sum()) if own is not None else 0
    missing = sorted(set(own.loc[own["message"] == "missing", "field"])) if own is not None else []
    undecided = 0 if rows is None else int((rows["verdict"] == "insufficient").sum())
    verdict = "errors" if errors else ("gaps" if missing or undecided else "complete")
    return {
        "verdict": verdict,
        "errors": errors,
        "missing": missing,
        "undecided_rules": undecided,
        "assumed": _assumptions(project),
    }


def _assumptions(project: pd.Series) -> list[dict]:
    """Each assumption as ``code`` (reports word it per language), its facts and ``text``."""
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
