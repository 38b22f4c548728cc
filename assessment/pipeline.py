"""Score applications: ingest -> indicators -> rules -> model -> decision, and the results.

``score_applications(paths, as_of=...)`` runs the stages in order and keeps every table in a
:class:`Scored`; ``scored.to_frame()`` is one row per project (decision, programmes, PD, key
indicators). ``project_records(scored)`` turns the result into one plain dict per project (the
JSON shape of ``assess score``): ``project_id``, ``as_of``, ``programmes``, ``indicators``,
``rules`` and ``decision``.

``as_of`` is a date, a datetime, a pandas Timestamp or an ISO string (``"2025-06-30"``). The
risk model is the packaged one unless ``model`` says otherwise (a loaded model, an artefact
path, or ``None`` to score with the rules alone), as ``assess score`` does.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .criteria.absence import structural_absence
from .criteria.evaluate import Evaluation, evaluate_rules
from .criteria.indicators import INDICATORS, add_indicators
from .criteria.rules import RuleSet, load_rules
from .decision.decide import (
    RECOMMENDATIONS,
    decide,
    doubted,
    programmes_as_asked,
    requested_programmes,
    routing_of,
)
from .intake.cells import as_of_date, plain
from .intake.dictionary import PROGRAMMES
from .intake.read import Applications, read_applications

if TYPE_CHECKING:  # the model's modules (scikit-learn) load only when a model is used
    from .model.estimator import RiskModel

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
# Indicators shown beside the decision in ``Scored.to_frame()`` (the screening's key columns).
KEY_INDICATORS = (
    "pue_assessed",
    "green_power_share",
    "it_load_mw",
    "dscr_forecast_min",
    "operating_years",
)
FRAME_PARTS = ("status", "score", "grade")  # per programme, in ``Scored.to_frame()``
FACTOR_KEYS = {
    "emission_factor_year": "year",
    "emission_factor_area": "area",
    "emission_factor_level": "level",
    "emission_factor_series": "series",
    "emission_factor_status": "status",
}


class _PackagedModel:
    """The default of ``score_applications(model=...)``: the model packaged with the rules."""

    def __repr__(self) -> str:
        return "PACKAGED_MODEL"


PACKAGED_MODEL = _PackagedModel()


@dataclass(repr=False)
class Scored:
    """Everything one scoring run produced: the tables of every stage. ``to_frame()`` gives
    one row per project; the repr is a short summary (counts, rules, model)."""

    as_of: dt.date
    applications: Applications
    frame: pd.DataFrame
    evaluation: Evaluation
    model: RiskModel | None = None
    predictions: pd.DataFrame | None = None
    decisions: pd.DataFrame | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per project (index ``project_id``): its name; the recommendation, green
        label and decision reason; each programme's status (``not_requested`` where the
        application does not ask for it), score and grade; ``pd`` and ``pd_grade`` where the
        model speaks (a loan, with a model; blank otherwise); the :data:`KEY_INDICATORS`."""
        shown = programmes_as_asked(self.evaluation)
        columns = {"project_name": self.frame["project_name"]} | self._decision_columns()
        columns |= {
            f"{programme}_{part}": shown[f"{programme}_{part}"]
            for programme in PROGRAMMES
            for part in FRAME_PARTS
        }
        columns |= self._pd_columns()
        columns |= {name: self.frame[name] for name in KEY_INDICATORS}
        return pd.DataFrame(columns, index=self.frame.index).rename_axis("project_id")

    def _decision_columns(self) -> dict[str, pd.Series]:
        decisions = self.decisions
        if decisions is None:
            return {
                name: pd.Series(pd.NA, index=self.frame.index, dtype=object)
                for name in ("recommendation", "green_label", "decision_reason")
            }
        return {
            "recommendation": decisions["recommendation"],
            "green_label": decisions["label_status"],
            "decision_reason": decisions["decision_reason"],
        }

    def _pd_columns(self) -> dict[str, pd.Series]:
        index = self.frame.index
        if self.predictions is None:
            return {
                "pd": pd.Series(float("nan"), index=index),
                "pd_grade": pd.Series(pd.NA, index=index, dtype=object),
            }
        loan = requested_programmes(self.frame, routing_of(self.evaluation.rules))["credit"]
        return {
            "pd": self.predictions["pd"].where(loan),
            "pd_grade": self.predictions["grade"].astype(object).where(loan),
        }

    def _summary(self) -> list[tuple[str, str]]:
        """The repr's facts as (label, text) pairs."""
        versions = self.evaluation.rules.versions().items()
        severity = Counter(self.applications.problems["severity"])
        return [
            ("projects", f"{len(self.frame)} as of {self.as_of.isoformat()}"),
            ("rules", ", ".join(f"{pack} {version}" for pack, version in versions)),
            ("model", _model_text(self.model)),
            ("recommendations", _recommendation_counts(self.decisions)),
            ("input problems", f"{severity['error']} error(s), {severity['warning']} warning(s)"),
        ]

    def __repr__(self) -> str:
        lines = [f"  {label}: {text}" for label, text in self._summary()]
        return "\n".join(["<Scored", *lines, "  to_frame(): one row per project>"])

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
            f"<td style='text-align:left'>{html.escape(text)}</td></tr>"
            for label, text in self._summary()
        )
        return f"<table><caption>Scored</caption>{rows}</table>"


def _recommendation_counts(decisions: pd.DataFrame | None) -> str:
    """``approve 1, refer 3``: the recommendations made, in the order of
    :data:`RECOMMENDATIONS` (any other after them); ``none`` for none."""
    found = Counter(() if decisions is None else decisions["recommendation"])
    order = [*RECOMMENDATIONS, *sorted(set(found) - set(RECOMMENDATIONS))]
    return ", ".join(f"{name} {found[name]}" for name in order if found[name]) or "none"


def _model_text(model: RiskModel | None) -> str:
    if model is None:
        return "none (rules alone)"
    return f"{model.kind}, sha256 {str(model.card.get('sha256'))[:12]}"


def score_applications(
    paths: str | Path | Iterable[str | Path],
    *,
    as_of: dt.date | str,
    rules: RuleSet | str | Path | None = None,
    model: RiskModel | str | Path | _PackagedModel | None = PACKAGED_MODEL,
) -> Scored:
    """Read, add indicators, evaluate the rules in force on ``as_of`` (a date, datetime,
    pandas Timestamp or ISO string) and predict each project's PD with reason codes.

    ``rules``: a loaded rule set or a rules folder (default: the packaged rules). ``model``: a
    loaded model or an artefact path; by default the packaged model, as ``assess score``
    uses; ``model=None`` scores with the rules alone (no PD), as ``--no-model`` does.
    """
    as_of = as_of_date(as_of)
    if model is PACKAGED_MODEL:
        from .model.persist import default_model_path

        model = default_model_path()
    applications = read_applications(paths, as_of=as_of)
    return score_read(applications, as_of=as_of, rules=rules, model=model)


def score_read(
    applications: Applications,
    *,
    as_of: dt.date | str,
    rules: RuleSet | str | Path | None = None,
    model: RiskModel | str | Path | None = None,
    details: bool = True,
) -> Scored:
    """:func:`score_applications` for applications already read (a chunk of a batch); without
    ``details`` the decisions leave out conditions and data quality (see ``decide``). Here
    ``model=None`` (the default) is the rules alone."""
    as_of = as_of_date(as_of)
    rule_set = rules if isinstance(rules, RuleSet) else load_rules(rules)
    risk_model = _loaded_model(model)
    frame = add_indicators(
        applications.projects, applications.yearly, as_of, reference_dir=rule_set.reference_dir
    )
    predictions = None
    if risk_model is not None and len(frame):
        from .model.predict import predict

        predictions = predict(risk_model, frame, absent=structural_absence(frame))
    evaluation = evaluate_rules(frame, rule_set, as_of)
    decisions = decide(evaluation, predictions, applications.problems, details=details)
    return Scored(as_of, applications, frame, evaluation, risk_model, predictions, decisions)


def _loaded_model(model: RiskModel | str | Path | None) -> RiskModel | None:
    """The model given, loaded when it is a path."""
    if not isinstance(model, str | Path):
        return model
    from .model.persist import load_model

    return load_model(model)


def project_records(scored: Scored, project_ids: list[str] | None = None) -> list[dict]:
    """One record per project (all, or ``project_ids``): programmes, indicators, every rule's
    verdict and the decision."""
    programmes = scored.evaluation.programmes
    shown = programmes_as_asked(scored.evaluation)
    project_ids = list(scored.frame.index) if project_ids is None else list(project_ids)
    table = scored.evaluation.table(project_ids)
    withheld = _withheld(scored.evaluation, project_ids)
    by_project: dict[object, list[dict]] = {}
    for row in _table_rows(table):  # one pass: no frame per project
        by_project.setdefault(row["project_id"], []).append(row)
    return [
        {
            "project_id": project_id,
            "as_of": scored.as_of.isoformat(),
            "programmes": _programmes(
                programmes.loc[project_id], shown.loc[project_id], _prediction(scored, project_id)
            ),
            "indicators": _indicators(scored.frame.loc[project_id]),
            "rules": _rules(by_project.get(project_id), withheld.get(project_id, set())),
            "decision": _decision(scored, project_id),
        }
        for project_id in project_ids
    ]


def _table_rows(table: pd.DataFrame) -> list[dict]:
    """The rows of the verdict table as dicts, read column by column (each column once)."""
    names = list(table.columns)
    columns = [table[name].tolist() for name in names]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def _programmes(row: pd.Series, shown: pd.Series, prediction: dict | None) -> dict[str, dict]:
    """Each programme's result; ``status`` as the outputs show it (``not_requested`` where
    the application does not ask for it, ``doubted`` where a pass is withheld:
    :func:`decision.decide.programmes_as_asked`) with its eligibility, score and grade; the
    rules' own status as ``assessed_status``."""
    found = {
        programme: {
            "requested": shown[f"{programme}_status"] != "not_requested",
            "status": shown[f"{programme}_status"],
            "assessed_status": row[f"{programme}_status"],
            "eligible": plain(shown[f"{programme}_eligible"]),
            "score": plain(shown[f"{programme}_score"]),
            "coverage": plain(shown[f"{programme}_coverage"]),
            "grade": plain(shown[f"{programme}_grade"]),
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
    from .model.predict import reasons

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


def _withheld(evaluation: Evaluation, project_ids: list) -> dict[object, set[str]]:
    """Per project, the rules whose pass is withheld on a doubted value
    (:func:`decision.decide.doubted`)."""
    wanted, found = set(project_ids), {}
    for rule, rows in doubted(evaluation).passes:
        for project_id in evaluation.frame.index[rows]:
            if project_id in wanted:
                found.setdefault(project_id, set()).add(rule.rule_id)
    return found


def _rules(rows: list[dict] | None, withheld: set[str]) -> list[dict]:
    """Each rule's verdict with its facts; ``withheld``: its pass is not counted (a doubted
    value)."""
    if rows is None:
        return []
    return [
        {
            "rule_id": row["rule_id"],
            "programme": row["programme"],
            "verdict": str(row["verdict"]),
            "withheld": row["rule_id"] in withheld,
            "value": plain(row["value"]),
            "threshold": _threshold(row["threshold"]),
            "operator": row["operator"],
            "unit": row["unit"],
            "severity": row["severity"],
            "points": plain(row["points"]),
            "source": row["source"],
            "clause": row["clause"],
            "clause_zh": row["clause_zh"],
            "confidence": row["confidence"],
        }
        for row in rows
    ]


_THOUSANDS = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d+)?")  # a number as the formatter writes it


def _threshold(value: object) -> object:
    """A threshold as the verdict table holds it; several values (joined ``a; b`` by
    :func:`criteria.evaluate._shown`) as a list, each a number where it reads as one."""
    if isinstance(value, str) and ";" in value:
        return [_number_or_text(part.strip()) for part in value.split(";")]
    return plain(value)


def _number_or_text(text: str) -> object:
    """``1,234.5`` (as the formatter writes it) or ``0.3`` as a float, other text as is."""
    number = text.replace(",", "") if _THOUSANDS.fullmatch(text) else text
    try:
        return float(number)
    except ValueError:
        return text
