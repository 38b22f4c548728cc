"""Score applications: ingest -> indicators -> rules, and the per-project result records.

``score_applications(paths, as_of=...)`` runs the stages in order and keeps every table;
``project_records(scored)`` turns the result into one plain dict per project (the JSON shape of
``assess score``): ``project_id``, ``as_of``, ``programmes``, ``indicators`` and ``rules``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .criteria.absence import structural_absence
from .criteria.evaluate import Evaluation, evaluate_rules
from .criteria.indicators import INDICATORS, add_indicators
from .criteria.rules import RuleSet, load_rules
from .decision.decide import decide, programmes_as_asked
from .intake.cells import plain
from .intake.dictionary import PROGRAMMES
from .intake.read import Applications, read_applications
from .model.estimator import RiskModel
from .model.persist import load_model
from .model.predict import predict, reasons

DECISION_KEYS = (
    "recommendation",
    "reasons",
    "green_label",
    "conditions",
    "data_quality",
    "missing_for_decision",
    "path_to_eligibility",
    "decision_reason",
    "decision_reason_zh",
)
FACTOR_KEYS = {
    "emission_factor_year": "year",
    "emission_factor_area": "area",
    "emission_factor_level": "level",
    "emission_factor_series": "series",
    "emission_factor_status": "status",
}


@dataclass
class Scored:
    """Everything one scoring run produced."""

    as_of: dt.date
    applications: Applications
    frame: pd.DataFrame
    evaluation: Evaluation
    model: RiskModel | None = None
    predictions: pd.DataFrame | None = None
    decisions: pd.DataFrame | None = None


def score_applications(
    paths: str | Path | Iterable[str | Path],
    *,
    as_of: dt.date,
    rules: RuleSet | str | Path | None = None,
    model: RiskModel | str | Path | None = None,
) -> Scored:
    """Read, add indicators, evaluate the rules in force on ``as_of`` and, with a ``model``
    (a loaded model or an artefact path), predict each project's PD with reason codes."""
    applications = read_applications(paths, as_of=as_of)
    return score_read(applications, as_of=as_of, rules=rules, model=model)


def score_read(
    applications: Applications,
    *,
    as_of: dt.date,
    rules: RuleSet | str | Path | None = None,
    model: RiskModel | str | Path | None = None,
    details: bool = True,
) -> Scored:
    """:func:`score_applications` for applications already read (a chunk of a batch); without
    ``details`` the decisions leave out conditions and data quality (see ``decide``)."""
    rule_set = rules if isinstance(rules, RuleSet) else load_rules(rules)
    risk_model = load_model(model) if isinstance(model, str | Path) else model
    frame = add_indicators(applications.projects, applications.yearly, as_of)
    predictions = None
    if risk_model is not None and len(frame):
        predictions = predict(risk_model, frame, absent=structural_absence(frame))
    evaluation = evaluate_rules(frame, rule_set, as_of)
    decisions = decide(evaluation, predictions, applications.problems, details=details)
    return Scored(as_of, applications, frame, evaluation, risk_model, predictions, decisions)


def project_records(scored: Scored, project_ids: list[str] | None = None) -> list[dict]:
    """One record per project (all, or ``project_ids``): programmes, indicators, every rule's
    verdict and the decision."""
    programmes = scored.evaluation.programmes
    shown = programmes_as_asked(scored.evaluation)
    project_ids = list(scored.frame.index) if project_ids is None else list(project_ids)
    table = scored.evaluation.table(project_ids)
    by_project = (
        {key: rows for key, rows in table.groupby("project_id", sort=False)} if len(table) else {}
    )
    return [
        {
            "project_id": project_id,
            "as_of": scored.as_of.isoformat(),
            "programmes": _programmes(
                programmes.loc[project_id], shown.loc[project_id], _prediction(scored, project_id)
            ),
            "indicators": _indicators(scored.frame.loc[project_id]),
            "rules": _rules(by_project.get(project_id)),
            "decision": _decision(scored, project_id),
        }
        for project_id in project_ids
    ]


def _programmes(row: pd.Series, shown: pd.Series, prediction: dict | None) -> dict[str, dict]:
    """Each programme's result; ``status`` as the outputs show it (``not_requested`` where
    the application does not ask for it, :func:`decision.programmes_as_asked`), the rules'
    own status as ``assessed_status``."""
    found = {
        programme: {
            "requested": shown[f"{programme}_status"] != "not_requested",
            "status": shown[f"{programme}_status"],
            "assessed_status": row[f"{programme}_status"],
            "eligible": plain(row[f"{programme}_eligible"]),
            "score": plain(row[f"{programme}_score"]),
            "coverage": plain(row[f"{programme}_coverage"]),
            "grade": plain(row[f"{programme}_grade"]),
        }
        for programme in PROGRAMMES
    }
    if prediction is not None:  # the credit grade is the model's rating grade
        credit = found["credit"]
        credit["rule_grade"] = credit["grade"]
        credit.update(prediction)
    return found


def _decision(scored: Scored, project_id: str) -> dict | None:
    if scored.decisions is None:
        return None
    row = scored.decisions.loc[project_id]
    found = {key: row[key] for key in DECISION_KEYS}
    return found | {"decision_row": int(row["decision_row"])}


def _prediction(scored: Scored, project_id: str) -> dict | None:
    if scored.predictions is None:
        return None
    row = scored.predictions.loc[project_id]
    return {
        "pd": plain(row["pd"]),
        "grade": str(row["grade"]),
        "reasons": reasons(row),
        "missing_features": row["missing_features"],
        "absent_features": row["absent_features"],
        "pd_advisory": bool(row["pd_advisory"]),
        "model": {"kind": scored.model.kind, "sha256": scored.model.card.get("sha256")},
    }


def _indicators(row: pd.Series) -> dict[str, object]:
    found: dict[str, object] = {}
    for indicator in INDICATORS:
        if indicator.name not in FACTOR_KEYS:
            found[indicator.name] = plain(row[indicator.name])
    found["emission_factor"] = {
        "value": plain(row["emission_factor"]),
        **{key: plain(row[name]) for name, key in FACTOR_KEYS.items()},
    }
    return found


def _rules(rows: pd.DataFrame | None) -> list[dict]:
    if rows is None:
        return []
    return [
        {
            "rule_id": row["rule_id"],
            "programme": row["programme"],
            "verdict": str(row["verdict"]),
            "value": plain(row["value"]),
            "threshold": _threshold(row["threshold"]),
            "operator": row["operator"],
            "unit": row["unit"],
            "severity": row["severity"],
            "points": plain(row["points"]),
            "source": row["source"],
            "clause": row["clause"],
            "confidence": row["confidence"],
        }
        for row in rows.to_dict("records")
    ]


def _threshold(value: object) -> object:
    if isinstance(value, str) and ";" in value:
        return [_number_or_text(part) for part in value.split(";")]
    return plain(value)


def _number_or_text(text: str) -> object:
    try:
        return float(text)
    except ValueError:
        return text
