"""The data-quality score of each application: 0-100, from a documented formula.

``rules/decision/data_quality.csv`` (data) gives the three components and their weights
(summing to 100); the score is ``round(sum(weight x share))``:

* ``fields``: the share of the decisive fields given. Decisive are the fields the rules that
  apply to the project read (:meth:`Rule.names`, indicators traced to their fields by
  :func:`criteria.indicators.input_fields`) over the programmes that count for its decision
  (the floor, the route and a requested label); a yearly series counts as given where the
  indicator read from it can be computed.
* ``evidence``: the share of the claims that carry their evidence, averaged over the claims
  made: a green-power share over 0 earns ``green_share_evidenced / green_power_share``
  (at most 1), a PUE judged on its measured value earns 1 when the billed facility energy is
  given, is more than 0 and no raised flag doubts the PUE. A project that claims nothing
  needing evidence earns the full weight.
* ``plausibility``: the share of the checks (the rules of the packs named in ``packs``) that
  apply to the project and pass: a raised flag, or a check that cannot be decided, earns
  nothing. Where none applies, the full weight.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .._shared.tables import reference_rows
from ..criteria.evaluate import NOT_APPLICABLE, PASS, Evaluation
from ..criteria.indicators import input_fields
from ..criteria.rules import nearest
from ..errors import RuleError, table_problem
from ..intake.dictionary import load_dictionary

COMPONENTS = ("fields", "evidence", "plausibility")
SCORE = "data_quality_score"


@dataclass(frozen=True)
class Formula:
    """The weights of :data:`COMPONENTS` (summing to 100) and the packs of plausibility
    checks."""

    weights: dict[str, float]
    packs: tuple[str, ...]


@lru_cache(maxsize=4)
def load_formula(path: Path) -> Formula:
    """The formula of ``path``, checked: each component once, weights >= 0 summing to 100."""
    rows = reference_rows(path, {"component": "text", "weight": "float64", "packs": "text"})
    weights = {row["component"]: row["weight"] for row in rows}
    packs = tuple(p.strip() for row in rows for p in row["packs"].split(";") if p.strip())
    column, problem = _problem(rows, weights)
    if problem:
        found = ", ".join(f"{name} {weight}" for name, weight in weights.items())
        total = sum(w for w in weights.values() if not pd.isna(w))
        hint = f"one row each of {', '.join(COMPONENTS)}; weights >= 0 summing to 100"
        got = f"{found} (sum {total:g})"
        raise RuleError.from_rows([table_problem(path, "", column, problem, got=got, hint=hint)])
    return Formula(weights, packs)


def check_packs(formula: Formula, pack_ids: set[str], path: Path) -> None:
    """Each pack the formula names must be a pack of the rule set it is read with."""
    unknown = [pack for pack in formula.packs if pack not in pack_ids]
    if unknown:
        known = sorted(pack_ids)
        raise RuleError.from_rows(
            [
                table_problem(
                    path, "", "packs", "unknown rule pack", got=pack, hint=nearest(pack, known)
                )
                for pack in unknown
            ]
        )


def _problem(rows: list[dict], weights: dict) -> tuple[str, str]:
    """The column and the problem of the table ("" when it is sound)."""
    if len(rows) != len(weights) or set(weights) != set(COMPONENTS):
        return "component", "the components are not exactly " + ", ".join(COMPONENTS)
    values = np.array(list(weights.values()), dtype=float)
    if np.isnan(values).any() or (values < 0).any() or not np.isclose(values.sum(), 100):
        return "weight", "the weights are not numbers >= 0 summing to 100"
    return "", ""


def quality_scores(
    evaluation: Evaluation, counted: dict[str, np.ndarray], formula: Formula, doubted: dict
) -> pd.DataFrame:
    """Per project: the share earned of each component (0-1) and :data:`SCORE` (0-100);
    ``counted``: programme -> the projects whose decision it counts for; ``doubted``: field ->
    the projects where a raised flag doubts it."""
    shares = {
        "fields": _fields_given(evaluation, counted),
        "evidence": _evidence(evaluation.frame, doubted.get("pue")),
        "plausibility": _plausible(evaluation, formula.packs),
    }
    total = sum(formula.weights[name] * share for name, share in shares.items())
    columns = {f"data_quality_{name}": np.round(share, 3) for name, share in shares.items()}
    score = pd.array(np.rint(total).astype(int), dtype="Int64")
    return pd.DataFrame({SCORE: score, **columns}, index=evaluation.frame.index)


def _fields_given(evaluation: Evaluation, counted: dict[str, np.ndarray]) -> np.ndarray:
    """The share of the decisive fields given, per project (1 where none is decisive)."""
    frame, known = evaluation.frame, set(load_dictionary().fields)
    present: dict[str, np.ndarray] = {}  # column -> has a value, worked out once
    needed: dict[str, np.ndarray] = {}
    given: dict[str, np.ndarray] = {}
    for rule in evaluation.rules.rules:
        rows = counted.get(rule.programme)
        if rows is None:
            continue
        applies = rows & (evaluation.results[rule.rule_id].codes != NOT_APPLICABLE)
        if not applies.any():
            continue
        for name in {f for n in rule.names() for f in input_fields(n) if f in known}:
            column = name if name in frame.columns else rule.metric  # a yearly series
            if column not in present:
                present[column] = _present(frame, column)
            needed[name] = needed.get(name, False) | applies
            given[name] = given.get(name, False) | (applies & present[column])
    if not needed:
        return np.ones(len(frame))
    wanted = np.sum(list(needed.values()), axis=0)
    have = np.sum(list(given.values()), axis=0)
    return np.divide(have, wanted, out=np.ones(len(frame)), where=wanted > 0)


def _present(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Where ``column`` has a value (a yearly series, by the indicator read from it)."""
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[column].notna().to_numpy(dtype=bool)


def _evidence(frame: pd.DataFrame, pue_doubted: np.ndarray | None) -> np.ndarray:
    """The share of the claims made that carry their evidence (1 where none is made); a bill
    of no energy, or one a raised flag finds at odds with the PUE, evidences nothing."""
    claimed = _number(frame, "green_power_share")
    evidenced = _number(frame, "green_share_evidenced")
    share_claim = claimed > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        share_backed = np.clip(np.nan_to_num(evidenced / claimed), 0.0, 1.0)
    measured = _text(frame, "pue_basis") == "measured"
    billed = _number(frame, "facility_energy_billed_mwh") > 0
    if pue_doubted is not None:
        billed &= ~pue_doubted
    claims = share_claim.astype(int) + measured.astype(int)
    earned = np.where(share_claim, share_backed, 0.0) + (measured & billed)
    return np.divide(earned, claims, out=np.ones(len(frame)), where=claims > 0)


def _plausible(evaluation: Evaluation, packs: tuple[str, ...]) -> np.ndarray:
    """The share of the plausibility checks that apply and pass (1 where none applies)."""
    count = len(evaluation.frame)
    applies, passed = np.zeros(count), np.zeros(count)
    for rule in (r for r in evaluation.rules.rules if r.pack in packs):
        codes = evaluation.results[rule.rule_id].codes
        applies += codes != NOT_APPLICABLE
        passed += codes == PASS
    return np.divide(passed, applies, out=np.ones(count), where=applies > 0)


def _number(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return frame[name].to_numpy(dtype="float64", na_value=np.nan)


def _text(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return frame[name].astype(object).fillna("").to_numpy()
