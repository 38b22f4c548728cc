"""Backtest a rule set (and the risk model) on a history of past loans with known outcomes.

The history is a flat table, one row per loan, of the engine's field and indicator names and a
0/1 ``target`` column (``sample_projects/history/``). :func:`history_frame` turns it into the
frame the rules read: the packaged indicators are computed from it (``pue`` is taken from
``pue_assessed`` when the history has no ``pue``, ``dscr_forecast_min`` from ``dscr_min``, the
base case at origination, when it has no ``dscr_forecast_min``), the history's own columns win
over computed ones, ``in_hub`` is ``hub_zone != none`` and a missing ``financing_purpose`` is
derived from ``project_kind`` (:data:`PURPOSE_BY_KIND`). A rule that needs a column (metric,
condition or segment key) that the history lacks or leaves blank throughout is *not
assessable*: it is listed, and left out of the rule set whose verdicts and decisions are
backtested (kept, it would make every loan undecided).

The model's PD decides as it does for an application (``rules/decision``): from a model whose
card does not say it was calibrated on real outcomes it is advisory, and can refer a loan,
never decline it.

Point in time: each loan is evaluated with the rules in force on 31 December of its
``origination_year``, or every loan on one ``as_of`` date when given. Per rule set:

* outcome rate = outcomes / loans, by recommendation and by programme verdict: the
  programme's status (``eligible``, ``not_eligible``, ``unverified``: only a gate marked
  unverified fails, ``insufficient``, ``not_applicable``: no gate applied), or
  ``not_requested`` where the loan's financing purpose does not ask for the programme
  (:func:`assessment.decision.decide.requested_programmes`; a history without
  ``green_label_requested`` asks for no green label);
* per rule, over the loans where it applied: loans and outcome rate when it passed, failed
  or was insufficient; ``difference`` = fail rate - pass rate; information value
  IV = sum over the verdicts b of (B_b/B - G_b/G) x ln((B_b/B) / (G_b/G)), with B_b the
  outcomes (bads) and G_b the non-outcomes (goods) of verdict b, each + 0.5, and B, G their
  totals over the verdicts that occur (:func:`assessment.model.scorecard.woe_iv`);
* with a model, the scorecard of its PD on the history (:mod:`assessment.model.scorecard`:
  bins, WoE and IV per model feature, ROC, KS, gains, calibration and points);
* AUC (``sklearn.metrics.roc_auc_score``) and Gini = 2 AUC - 1 of the model PD, of each
  programme's rule score (riskier = lower score, so the AUC is of -score) and of the combined
  score = rank of the recommendation (approve 0, approve_with_conditions 1, refer 2,
  incomplete 3, decline 4) + PD (0 without a model), so PD orders loans within a
  recommendation.

With an alternative rule set the same is computed under it, and :func:`compare` adds the
counts and outcome rates of both sets side by side and the loans whose recommendation changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from .._shared.text import shown
from ..criteria.evaluate import FAIL, INSUFFICIENT, PASS, VERDICTS
from ..criteria.pass_rate import SHARES, pass_rates
from ..criteria.rules import Rule, load_rules
from ..decision.decide import RECOMMENDATIONS, load_decision_table, requested_programmes
from ..intake.dictionary import PROGRAMMES
from ..model.estimator import RiskModel
from ..model.fitting import holdout_mask
from ..model.predict import predict
from ..model.scorecard import Scorecard, scorecard, woe_iv
from ..model.training import data_hash, target_values
from .backtest_history import (
    ScoredHistory,
    as_of_dates,
    history_frame,
    loan_index,
    rule_about,
    score_history,
    split_assessable,
)

__all__ = ["Backtest", "Side", "compare", "history_frame", "run_backtest"]

RANK = {name: rank for rank, name in enumerate(RECOMMENDATIONS)}
PROGRAMME_VERDICTS = (
    "eligible",
    "not_eligible",
    "unverified",
    "insufficient",
    "not_applicable",
    "not_requested",
)
PREDICTED = ["pd", "pd_advisory"]  # what a decision reads of a prediction


@dataclass
class Side:
    """The backtest of one rule set: its tables and each loan's recommendation."""

    name: str
    versions: dict[str, str]
    by_recommendation: pd.DataFrame
    by_programme: pd.DataFrame
    rules: pd.DataFrame
    auc: pd.DataFrame
    not_assessable: pd.DataFrame
    recommendation: pd.Series
    combined: pd.Series


@dataclass
class Backtest:
    """Everything one backtest produced; ``alternative`` and the comparison need ``against``."""

    facts: dict[str, object]
    current: Side
    alternative: Side | None = None
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    changed: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)  # keys of the templates' backtest.notes
    scorecard: Scorecard | None = None  # of the model's PD on the history, with a model

    @property
    def sides(self) -> list[Side]:
        return [self.current] + ([self.alternative] if self.alternative else [])

    def table(self, name: str) -> pd.DataFrame:
        """One table of every side, with a leading ``rule_set`` column."""
        parts = [getattr(side, name).assign(rule_set=side.name) for side in self.sides]
        found = pd.concat(parts, ignore_index=True)
        return found[["rule_set", *[c for c in found.columns if c != "rule_set"]]]


# -- the statistics ----------------------------------------------------------------------------
def outcome_rates(groups: pd.Series, y: pd.Series, order: list[str]) -> pd.DataFrame:
    """Per group (in ``order``, then a total row ``all``): loans, outcomes, outcome_rate."""
    table = y.groupby(groups.astype(object)).agg(["size", "sum"]).reindex(order, fill_value=0)
    table.loc["all"] = [len(y), int(y.sum())]
    table.columns = ["loans", "outcomes"]
    table["outcome_rate"] = table["outcomes"] / table["loans"].where(table["loans"] > 0)
    return table.rename_axis("group").reset_index().astype({"loans": int, "outcomes": int})


def information_value(loans: np.ndarray, outcomes: np.ndarray) -> float:
    """IV of a grouping: ``loans`` and ``outcomes`` per group (module docstring)."""
    present = loans > 0
    if not present.any():
        return float("nan")
    return float(woe_iv(outcomes[present], loans[present] - outcomes[present])["iv"].sum())


def rule_table(scored: ScoredHistory, y: pd.Series) -> pd.DataFrame:
    """One row per rule, by IV: loans by verdict, the pass rate and the fail and insufficient
    shares (:func:`assessment.criteria.pass_rate.pass_rates`), the outcome rate among the loans
    of each verdict, their difference (fail - pass) and the IV."""
    rows = [
        _rule_row(rule, scored.codes[rule.rule_id].to_numpy(), y) for rule in scored.rules.rules
    ]
    verdicts = scored.codes.apply(lambda codes: pd.Categorical.from_codes(codes, VERDICTS))
    shares = pass_rates(verdicts, [rule.rule_id for rule in scored.rules.rules])
    table = pd.DataFrame(rows).join(shares[list(SHARES.values())], on="rule_id")[RULE_COLUMNS]
    return table.sort_values("iv", ascending=False, na_position="last", kind="stable").reset_index(
        drop=True
    )


RULE_COLUMNS = [
    *("rule_id", "programme", "severity", "metric", "operator", "threshold", "applicable"),
    *("pass", "fail", "insufficient", *SHARES.values()),
    *("pass_outcome_rate", "fail_outcome_rate", "insufficient_outcome_rate"),
    *("difference", "iv"),
]


def _rule_row(rule: Rule, codes: np.ndarray, y: pd.Series) -> dict[str, object]:
    outcome = y.to_numpy()
    loans = np.array([(codes == code).sum() for code in (PASS, FAIL, INSUFFICIENT)])
    bads = np.array([outcome[codes == code].sum() for code in (PASS, FAIL, INSUFFICIENT)])
    rates = np.divide(bads, loans, out=np.full(3, np.nan), where=loans > 0)
    threshold = "segment table" if rule.segment is not None else shown(rule.threshold)
    return {
        **rule_about(rule),
        "operator": rule.operator,
        "threshold": threshold,
        "applicable": int(loans.sum()),
        **{name: int(n) for name, n in zip(("pass", "fail", "insufficient"), loans, strict=True)},
        "pass_outcome_rate": rates[0],
        "fail_outcome_rate": rates[1],
        "insufficient_outcome_rate": rates[2],
        "difference": rates[1] - rates[0],
        "iv": information_value(loans, bads),
    }


def programme_verdicts(scored: ScoredHistory, frame: pd.DataFrame) -> pd.DataFrame:
    """Per loan and programme: its status, or not_requested where the loan does not ask for
    the programme (:data:`PROGRAMME_VERDICTS`)."""
    asked = requested_programmes(frame.loc[scored.codes.index])
    found = {
        programme: np.where(
            asked[programme],
            scored.programmes[f"{programme}_status"].astype(object).to_numpy(),
            "not_requested",
        )
        for programme in PROGRAMMES
    }
    return pd.DataFrame(found, index=scored.codes.index)


def by_programme(scored: ScoredHistory, frame: pd.DataFrame, y: pd.Series) -> pd.DataFrame:
    verdicts = programme_verdicts(scored, frame)
    parts = [
        outcome_rates(verdicts[p], y, list(PROGRAMME_VERDICTS)).assign(programme=p)
        for p in PROGRAMMES
    ]
    table = pd.concat(parts, ignore_index=True).rename(columns={"group": "verdict"})
    return table[["programme", "verdict", "loans", "outcomes", "outcome_rate"]]


def auc_row(name: str, y: pd.Series, risk: pd.Series, note: str = "") -> dict[str, object]:
    """AUC and Gini of ``risk`` (higher = riskier) over the loans where it is known."""
    known = risk.notna().to_numpy()
    outcome, values = y.to_numpy()[known], risk.to_numpy(dtype=float)[known]
    auc = roc_auc_score(outcome, values) if len(set(outcome)) == 2 else float("nan")
    return {
        "score": name,
        "loans": int(known.sum()),
        "outcomes": int(outcome.sum()),
        "auc": float(auc),
        "gini": 2 * float(auc) - 1,
        "note": note,
    }


def combined_score(recommendation: pd.Series, pd_values: pd.Series | None) -> pd.Series:
    """Rank of the recommendation (approve 0 ... decline 4) + PD (0 without a model)."""
    rank = recommendation.map(RANK).astype(float)
    return rank + (0.0 if pd_values is None else pd_values.reindex(rank.index).fillna(0.0))


def auc_table(
    scored: ScoredHistory,
    y: pd.Series,
    pd_values: pd.Series | None,
    combined: pd.Series,
    model_note: str,
) -> pd.DataFrame:
    """AUC rows of the model PD, each programme's rule score and the combined score."""
    rows = [] if pd_values is None else [auc_row("model PD", y, pd_values, model_note)]
    for programme in PROGRAMMES:
        score = scored.programmes[f"{programme}_score"]
        rows.append(auc_row(f"{programme} rule score", y, -score, "riskier = lower score"))
    note = "recommendation rank + PD" if pd_values is not None else "recommendation rank"
    rows.append(auc_row("combined score", y, combined, f"{note}; {model_note}".strip("; ")))
    return pd.DataFrame(rows)


# -- the whole backtest -------------------------------------------------------------------------
def run_backtest(
    history: pd.DataFrame,
    target: str,
    *,
    rules: str | Path | None = None,
    model: RiskModel | None = None,
    against: str | Path | None = None,
    as_of: dt.date | None = None,
) -> Backtest:
    """Backtest the rules of ``rules`` (default: the packaged ones) and ``model`` on
    ``history``; with ``against``, also the rules folder ``against`` and the comparison."""
    y = pd.Series(target_values(history, target), index=loan_index(history), name=target)
    dates = as_of_dates(history, as_of)
    frame = history_frame(history, dates)
    # the history is scored as the model was trained on it (no structural absence), so the
    # card's hold-out AUC can be reproduced
    predictions = None if model is None else predict(model, frame)
    pd_values = None if predictions is None else predictions["pd"]
    model_note = in_sample_note(model, history)
    held = holdout_rows(model, y, pd_values) if model_note else None
    run = _Run(frame, y, dates, predictions, model_note, held)
    result = Backtest(_facts(history, target, y, as_of, model), run.side("current", rules))
    result.notes = _notes(as_of, history, model_note)
    if model is not None:
        notes = ("tested_history", "in_sample") if model_note else ("tested_history",)
        result.scorecard = scorecard(frame, y.to_numpy(), model, pd_values=pd_values, notes=notes)
    if against is not None:
        result.alternative = run.side("alternative", against)
        result.comparison, result.changed = compare(result.current, result.alternative, y)
    return result


@dataclass
class _Run:
    frame: pd.DataFrame
    y: pd.Series
    dates: np.ndarray
    predictions: pd.DataFrame | None  # pd and pd_advisory by loan
    model_note: str
    held: np.ndarray | None = None

    @property
    def pd_values(self) -> pd.Series | None:
        return None if self.predictions is None else self.predictions["pd"]

    def side(self, name: str, folder: str | Path | None) -> Side:
        assessable, unassessable = split_assessable(load_rules(folder), self.frame)
        table = load_decision_table(decision_table_path(folder))
        predictions = None if self.predictions is None else self.predictions[PREDICTED]
        scored = score_history(self.frame, assessable, self.dates, predictions, table)
        combined = combined_score(scored.recommendation, self.pd_values)
        order = list(RECOMMENDATIONS)
        by_recommendation = outcome_rates(scored.recommendation, self.y, order)
        return Side(
            name,
            assessable.versions(),
            by_recommendation.rename(columns={"group": "recommendation"}),
            by_programme(scored, self.frame, self.y),
            rule_table(scored, self.y),
            self.aucs(scored, combined),
            unassessable,
            scored.recommendation,
            combined,
        )

    def aucs(self, scored: ScoredHistory, combined: pd.Series) -> pd.DataFrame:
        table = auc_table(scored, self.y, self.pd_values, combined, self.model_note)
        if self.held is None:
            return table
        note = "out-of-sample: the model card's hold-out rows"
        y, held = self.y[self.held], self.held
        rows = [
            auc_row("model PD, hold-out rows", y, self.pd_values[held], note),
            auc_row("combined score, hold-out rows", y, combined[held], note),
        ]
        return pd.concat([table, pd.DataFrame(rows)], ignore_index=True)


def holdout_rows(model: RiskModel, y: pd.Series, pd_values: pd.Series) -> np.ndarray | None:
    """The rows ``train_model`` held out (its stratified split, with the card's random_state;
    0, the default, on cards older than that field), when they reproduce the card's hold-out
    AUC (to 1e-6); else None."""
    split = model.card.get("split", {})
    expected = (model.card.get("metrics", {}).get("holdout") or {}).get("auc")
    if not split.get("test_size") or expected is None:
        return None
    held = holdout_mask(y.to_numpy(), split["test_size"], split.get("random_state", 0))
    found = roc_auc_score(y.to_numpy()[held], pd_values.to_numpy()[held])
    return held if abs(found - expected) < 1e-6 else None


def decision_table_path(folder: str | Path | None) -> Path | None:
    """``<folder>/decision/decision_table.csv`` when the rules folder has one, else None (the
    packaged table)."""
    if folder is None:
        return None
    path = Path(folder) / "decision" / "decision_table.csv"
    return path if path.is_file() else None


IN_SAMPLE = "in-sample"  # the AUC table's note of a model trained on the history


def in_sample_note(model: RiskModel | None, history: pd.DataFrame) -> str:
    """:data:`IN_SAMPLE` when the model card's training-data hash is this history's, else
    ""; the note ``in_sample`` says how many rows it was trained on."""
    return IN_SAMPLE if _trained_rows(model, history) else ""


def _trained_rows(model: RiskModel | None, history: pd.DataFrame) -> dict[str, int]:
    """``{"trained_rows": n, "held_out_rows": m}`` of a model trained on this history (its
    card's training-data hash is the history's), else {}."""
    if model is None:
        return {}
    if model.card.get("training_data", {}).get("sha256") != data_hash(history):
        return {}
    balance = model.card.get("class_balance", {})
    return {
        "trained_rows": int(balance.get("train_rows", len(history))),
        "held_out_rows": int(balance.get("test_rows") or 0),
    }


def _facts(history, target, y, as_of, model) -> dict[str, object]:
    return {
        "loans": len(history),
        "target": target,
        "outcomes": int(y.sum()),
        "outcome_rate": float(y.mean()),
        "as_of": as_of.isoformat() if as_of else "31 December of each origination year",
        "model": "none" if model is None else f"{model.kind} {model.card.get('sha256', '')[:12]}",
        **_trained_rows(model, history),
        "history_sha256": data_hash(history),
    }


def _notes(as_of, history, model_note: str) -> list[str]:
    """The notes, as keys of the templates' ``backtest.notes`` (filled with the facts)."""
    notes = ["as_of" if as_of else "origination", "not_assessable"]
    if "financing_purpose" not in history:
        notes.append("purpose_from_kind")  # backtest_history.PURPOSE_BY_KIND
    return notes + (["in_sample"] if model_note else [])


def compare(current: Side, alternative: Side, y: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Side by side per rule set: counts and outcome rates of approved (with or without
    conditions), referred, incomplete and declined loans, AUC of the combined score, and the
    loans whose recommendation changes; and those loans (``loan_id, current, alternative,
    outcome``)."""
    differs = current.recommendation != alternative.recommendation
    changed = (
        pd.DataFrame(
            {
                "current": current.recommendation[differs],
                "alternative": alternative.recommendation[differs],
                "outcome": y[differs],
            }
        )
        .rename_axis("loan_id")
        .reset_index()
    )
    rows = [_side_row(side, y, differs) for side in (current, alternative)]
    return pd.DataFrame(rows), changed


GROUPS = {
    "approved": ("approve", "approve_with_conditions"),
    "referred": ("refer",),
    "incomplete": ("incomplete",),
    "declined": ("decline",),
}


def _side_row(side: Side, y: pd.Series, differs: pd.Series) -> dict[str, object]:
    row: dict[str, object] = {"rule_set": side.name}
    for name, members in GROUPS.items():
        chosen = side.recommendation.isin(members)
        row[name] = int(chosen.sum())
        row[f"{name}_outcome_rate"] = float(y[chosen].mean()) if chosen.any() else float("nan")
    combined = side.auc[side.auc["score"] == "combined score"].iloc[0]
    row["combined_auc"], row["combined_gini"] = combined["auc"], combined["gini"]
    row["changed"] = int(differs.sum())
    row["changed_outcome_rate"] = float(y[differs].mean()) if differs.any() else float("nan")
    return row
