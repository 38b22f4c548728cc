"""A history of past loans as the frame the rules read, the rules it can assess, and its
verdicts and recommendations under one rule set, each loan on its own date (see
:mod:`assessment.workbench.backtest` for the method)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..criteria import conditions
from ..criteria.evaluate import evaluate_rules
from ..criteria.indicators import PROJECT_COLUMNS, add_indicators
from ..criteria.rules import Rule, RuleSet
from ..decision.decide import decision_inputs, recommend
from ..errors import AssessmentError
from ..intake.dictionary import load_dictionary

PURPOSE_BY_KIND = {
    "new": "construction",
    "expansion": "construction",
    "retrofit": "retrofit",
    "operating": "refinancing",
}
# A history column that is, at origination, the indicator a rule reads: the base case's
# minimum DSCR was the forecast under the loan being decided (the rules test the forecast).
AT_ORIGINATION = {"dscr_forecast_min": "dscr_min"}
ID_COLUMNS = ("loan_id", "project_id")
_BLANK_TYPES = {"number": "float64", "fraction": "float64", "integer": "float64"}
_BLANK_TYPES |= {"bool": "boolean", "date": "datetime64[ns]"}


# -- the history as the frame the rules read ------------------------------------------------
def loan_index(data: pd.DataFrame) -> pd.Index:
    """The loans' ids: ``loan_id``, else ``project_id``, else ``row-<n>``; must be unique."""
    column = next((c for c in ID_COLUMNS if c in data.columns), None)
    ids = data[column].astype(str) if column else [f"row-{n}" for n in range(1, len(data) + 1)]
    index = pd.Index(ids, name="loan_id")
    if not index.is_unique:
        raise AssessmentError(
            "loan ids are not unique",
            where=f"column {column}",
            got=", ".join(index[index.duplicated()][:5]),
            hint="give every loan its own id",
        )
    return index


def as_of_dates(data: pd.DataFrame, as_of: dt.date | None) -> np.ndarray:
    """Each loan's assessment date: ``as_of``, else 31 December of its origination year."""
    if as_of is not None:
        return np.full(len(data), as_of, dtype=object)
    column = data.get("origination_year")
    years = None if column is None else pd.to_numeric(column, errors="coerce")
    if years is None or years.isna().any():
        raise AssessmentError(
            "cannot date the loans",
            expected="an origination_year on every row",
            got="no such column" if years is None else f"{int(years.isna().sum())} blank",
            hint="add origination_year, or give one date with --as-of",
        )
    return np.array([dt.date(int(year), 12, 31) for year in years], dtype=object)


def history_frame(data: pd.DataFrame, dates: np.ndarray) -> pd.DataFrame:
    """The history with the packaged indicators, computed per assessment date; the history's
    own columns win; ``in_hub`` and ``financing_purpose`` derived where missing."""
    data = data.set_axis(loan_index(data))
    _check_numbers(data)
    parts = [_with_indicators(data[dates == date], date) for date in sorted(set(dates))]
    frame = pd.concat(parts).reindex(data.index)
    return _derived(frame)


def _check_numbers(data: pd.DataFrame) -> None:
    """A history column of a numeric field holds numbers (or blanks): text there is refused
    with the column, the loan and the value, never guessed."""
    types = {f.name: f.type for f in load_dictionary().scalar_fields()}
    for column in data.columns:
        if _BLANK_TYPES.get(types.get(column, "")) != "float64" or _is_numeric(data[column]):
            continue
        text = data[column].astype(object)
        bad = text.notna() & pd.to_numeric(text, errors="coerce").isna()
        if bad.any():
            raise AssessmentError(
                "text where the history needs numbers",
                where=f"column {column}, loan {bad.idxmax()}",
                expected="numbers or blanks",
                got=repr(text[bad].iloc[0])[:80],
                hint="blank the cell where the value is unknown",
            )


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def _with_indicators(data: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    types = {f.name: f.type for f in load_dictionary().scalar_fields()}
    projects = pd.DataFrame(
        {c: data[c] if c in data else _blank(data.index, types.get(c)) for c in PROJECT_COLUMNS}
    )
    if "pue" not in data and "pue_assessed" in data:
        projects["pue"] = data["pue_assessed"].astype("float64")
    computed = add_indicators(projects, _no_yearly(), as_of)
    for indicator, column in AT_ORIGINATION.items():
        if indicator not in data and column in data:
            computed[indicator] = data[column].astype("float64")
    return computed.drop(columns=[c for c in computed if c in data]).join(data)


def _blank(index: pd.Index, kind: str | None) -> pd.Series:
    dtype = _BLANK_TYPES.get(kind or "number", "string")
    return pd.Series(None if dtype in ("float64", "datetime64[ns]") else pd.NA, index, dtype)


def _no_yearly() -> pd.DataFrame:
    return pd.DataFrame(
        {"project_id": [], "year": pd.Series([], dtype="int64"), "series": [], "value": []}
    )


def _derived(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    if frame["in_hub"].isna().all() and "hub_zone" in frame:
        frame["in_hub"] = frame["hub_zone"].astype("string").ne("none").astype("boolean")
    if "financing_purpose" not in frame and "project_kind" in frame:
        frame["financing_purpose"] = frame["project_kind"].map(PURPOSE_BY_KIND).astype("string")
    return frame


# -- which rules the history can assess -----------------------------------------------------
def needed_columns(rule: Rule) -> list[str]:
    """The columns a rule reads: its metric, its condition's names and its segment keys."""
    names = [rule.metric] + [test.name for test in conditions.names(rule.condition)]
    if rule.segment is not None:
        names += [c for c in rule.segment.columns if c != "threshold"]
    return list(dict.fromkeys(names))


def split_assessable(rule_set: RuleSet, frame: pd.DataFrame) -> tuple[RuleSet, pd.DataFrame]:
    """The rule set without the rules the history cannot assess, and those rules with the
    columns that are missing (absent, or blank on every loan)."""
    rows = []
    for rule in rule_set.rules:
        missing = [c for c in needed_columns(rule) if c not in frame or frame[c].isna().all()]
        if missing:
            rows.append({**rule_about(rule), "missing_columns": ", ".join(missing)})
    dropped = {row["rule_id"] for row in rows}
    packs = [
        replace(pack, rules=[r for r in pack.rules if r.rule_id not in dropped])
        for pack in rule_set.packs
    ]
    columns = ["rule_id", "programme", "severity", "metric", "missing_columns"]
    return RuleSet(packs), pd.DataFrame(rows, columns=columns)


def rule_about(rule: Rule) -> dict[str, object]:
    return {
        "rule_id": rule.rule_id,
        "programme": rule.programme,
        "severity": rule.severity,
        "metric": rule.metric,
    }


# -- scoring the history under one rule set -------------------------------------------------
@dataclass
class ScoredHistory:
    rules: RuleSet
    codes: pd.DataFrame  # loan x rule_id, verdict codes
    programmes: pd.DataFrame
    recommendation: pd.Series


def score_history(
    frame: pd.DataFrame,
    rule_set: RuleSet,
    dates: np.ndarray,
    predictions: pd.DataFrame | None,
    table,
) -> ScoredHistory:
    """Verdicts, programme results and recommendations, each loan on its own date;
    ``predictions`` (``pd`` and ``pd_advisory`` by loan, from :func:`~assessment.model.predict.
    predict`) decide as they do for an application: an advisory PD can refer, never decline."""
    parts = [
        _score_date(frame[dates == date], rule_set, date, predictions, table)
        for date in sorted(set(dates))
    ]
    codes, programmes, recommendation = (
        pd.concat([part[i] for part in parts]).reindex(frame.index) for i in range(3)
    )
    return ScoredHistory(rule_set, codes, programmes, recommendation)


def _score_date(
    frame: pd.DataFrame, rule_set: RuleSet, as_of: dt.date, predictions: pd.DataFrame | None, table
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Verdict codes, programme results and recommendations of the loans dated ``as_of``."""
    evaluation = evaluate_rules(frame, rule_set, as_of)
    codes = pd.DataFrame(
        {rule_id: result.codes for rule_id, result in evaluation.results.items()},
        index=frame.index,
        columns=[rule.rule_id for rule in rule_set.rules],
    )
    dated = None if predictions is None else predictions.loc[frame.index]
    inputs = decision_inputs(evaluation, dated, None)
    return codes, evaluation.programmes, recommend(inputs, table)["recommendation"]
