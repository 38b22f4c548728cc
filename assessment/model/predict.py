"""Apply a risk model: PD, rating grade and reason codes (drift against the training data is
:mod:`.drift`).

``predict(model, frame)`` returns, per row, ``pd``, ``grade`` (from the grade table kept as data
in ``rules/model/rating_grades.csv``), ``reasons`` (up to four features that raise this row's
risk most: ``{feature, value, contribution}`` in calibrated log-odds), ``missing_features``
(model features that were blank for the row: the PD then rests on the model's handling of
missing values, and the result says so), ``absent_features`` and ``pd_advisory``.

Structurally absent features (``rules/model/structural_absence.csv``): a feature that cannot
exist for a project (the LTV of a construction loan: nothing is appraised before completion) is
not missing. Where a row's condition holds, the feature is given a neutral value (whatever
value the indicators gave it: a new build's 0 years in operation included): of its training
deciles (the model's drift reference; the levels for a category): the one chosen, once per
model, for the training population's typical row, where it does not raise the row's risk;
otherwise the row's own candidate whose contribution is closest to zero without being above it
(if every one raises the risk, the one that raises it least). The PD is the model's at that
value, so the feature cannot raise it; its contribution is shown as 0, it is never a reason
and never listed as missing, and ``absent_features`` names it.

``pd_advisory`` is True on every row unless the model card says the model was calibrated on
real outcomes (``RiskModel.pd_is_binding``): an advisory PD may send a case to a person
(refer), never decline it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .._shared.resources import data_dir
from .._shared.tables import read_reference_table
from .._shared.text import joined, shown
from .compiled import MISSING
from .estimator import RiskModel, prepare
from .scorecard import Scaling, load_scaling, pd_score

MAX_REASONS = 4


@lru_cache(maxsize=8)
def load_grades(path: str | Path | None = None) -> pd.DataFrame:
    """The rating scale, PD bounds ascending (read once per path)."""
    path = Path(path) if path else data_dir("rules") / "model" / "rating_grades.csv"
    table = read_reference_table(path, {"grade": "text", "max_pd": "float64"})
    return table.sort_values("max_pd", ignore_index=True)


def grade_of(pd_values: np.ndarray, grades: pd.DataFrame) -> np.ndarray:
    """The first grade whose ``max_pd`` is at least the PD."""
    position = np.searchsorted(grades["max_pd"].to_numpy(), pd_values, side="left")
    return grades["grade"].to_numpy()[np.minimum(position, len(grades) - 1)]


def predict(
    model: RiskModel,
    frame: pd.DataFrame,
    grades: pd.DataFrame | None = None,
    absent: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``pd``, ``grade``, the reasons as flat columns ``reason_<k>_feature``,
    ``reason_<k>_value`` and ``reason_<k>_contribution`` (k = 1..4, largest first, only
    contributions that raise the risk), ``missing_features``, ``absent_features`` (lists of
    names) and ``pd_advisory`` (bool) per row of ``frame``. ``absent`` holds, per row, the
    features that cannot exist for it (module docstring); by default none is absent."""
    grades = load_grades() if grades is None else grades
    if frame.empty:  # the estimators refuse zero rows: the columns of one unknown row, no row
        probe = pd.DataFrame({name: [np.nan] for name in model.features})
        return predict(model, probe, grades).iloc[:0].set_axis(frame.index[:0])
    inputs = prepare(frame, model.numeric, model.categorical)
    absent = absent_mask(model, absent, inputs)
    filled, transformed = _neutral_filled(model, inputs, absent)
    contributions, base = model.contributions(filled, filled, transformed)
    values = contributions.to_numpy()
    probability = 1.0 / (1.0 + np.exp(-(base + values.sum(axis=1))))
    result = {"pd": probability, "grade": grade_of(probability, grades)}
    result |= _reason_columns(np.where(absent.to_numpy(), 0.0, values), inputs)
    result["missing_features"] = _names(inputs.isna() & ~absent)
    result["absent_features"] = _names(absent)
    result["pd_advisory"] = np.full(len(frame), not model.pd_is_binding)
    return pd.DataFrame(result, index=frame.index)


def absent_mask(
    model: RiskModel, absent: pd.DataFrame | None, inputs: pd.DataFrame
) -> pd.DataFrame:
    """Per row and model feature: True where ``absent`` (one boolean column per feature that
    cannot exist for the row, e.g. :func:`assessment.criteria.absence.structural_absence`)
    says so. A column for a feature the model lacks, or without training values to stand in
    for it, is left out: the feature stays missing."""
    mask = pd.DataFrame(False, index=inputs.index, columns=inputs.columns)
    if absent is None:
        return mask
    for feature in (f for f in absent.columns if f in mask.columns and _candidates(model, f)):
        mask[feature] = absent[feature].to_numpy(dtype=bool)
    return mask


def neutral_inputs(model: RiskModel, inputs: pd.DataFrame, absent: pd.DataFrame) -> pd.DataFrame:
    """``inputs`` with every absent feature set to its neutral value for the row (module
    docstring), feature by feature in the model's order."""
    return _neutral_filled(model, inputs, absent)[0]


def _neutral_filled(
    model: RiskModel, inputs: pd.DataFrame, absent: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`neutral_inputs` and the same rows through ``model.transform``: transformed once,
    then each filled number set in its column where the model feeds it as it is."""
    filled = inputs.copy()
    transformed = model.transform(filled)
    for feature in absent.columns[absent.any().to_numpy()]:
        rows = absent[feature].to_numpy()
        values = _neutral_values(model, filled[rows], feature, transformed[rows])
        filled.loc[rows, feature] = values
        column = model.fed_as_is(feature)
        if column is None:
            transformed = model.transform(filled)
        else:
            transformed[rows, column] = values
    return filled, transformed


def _candidates(model: RiskModel, feature: str) -> list:
    """The values that may stand in for ``feature``: its training deciles, or its levels."""
    reference = model.reference.get(feature, {})
    if feature in model.categorical:
        return [level for level in reference.get("levels", {}) if level != MISSING]
    return list(reference.get("edges", []))


def _neutral_values(
    model: RiskModel, rows: pd.DataFrame, feature: str, transformed: np.ndarray
) -> np.ndarray:
    """Per row, a candidate whose contribution is not above zero: the model's usual one for
    the feature (:func:`_usual_neutral`) where it does not raise the row's risk, else the
    row's own best (:func:`_searched`). Scoring one value for most rows keeps a million-row
    screen fast; every row still gets a value that cannot raise its PD where one exists."""
    usual = _usual_neutral(model, feature)
    chosen = pd.Series([usual] * len(rows))  # floats for a number, objects for a category
    raised = model.feature_effects(rows, feature, [usual], transformed)[0] > 0
    if raised.any():
        chosen[raised] = _searched(model, rows[raised], feature, transformed[raised])
    return chosen.to_numpy()


def _usual_neutral(model: RiskModel, feature: str) -> object:
    """The candidate chosen for the model's typical row (cached on the model)."""
    if feature not in model.neutral:
        model.neutral[feature] = _searched(model, model.typical_row(), feature)[0]
    return model.neutral[feature]


def _searched(
    model: RiskModel, rows: pd.DataFrame, feature: str, transformed: np.ndarray | None = None
) -> np.ndarray:
    """Per row, the candidate whose contribution is the largest not above zero (else the
    smallest)."""
    candidates = _candidates(model, feature)
    effect = model.feature_effects(rows, feature, candidates, transformed)
    lowering = effect <= 0
    best = np.argmax(np.where(lowering, effect, -np.inf), axis=0)
    best = np.where(lowering.any(axis=0), best, np.argmin(effect, axis=0))
    return pd.Series(candidates).to_numpy()[best]


def _reason_columns(values: np.ndarray, inputs: pd.DataFrame) -> dict[str, np.ndarray]:
    order = np.argsort(-values, axis=1)[:, :MAX_REASONS]
    top = np.take_along_axis(values, order, axis=1)
    names = np.asarray(inputs.columns, dtype=object)
    raw = inputs.to_numpy(dtype=object)
    columns = {}
    for rank in range(order.shape[1]):
        raises = top[:, rank] > 0
        picked = order[:, rank]
        columns[f"reason_{rank + 1}_feature"] = np.where(raises, names[picked], None)
        columns[f"reason_{rank + 1}_value"] = np.where(
            raises, raw[np.arange(len(raw)), picked], None
        )
        columns[f"reason_{rank + 1}_contribution"] = np.where(raises, top[:, rank].round(6), np.nan)
    return columns


def reasons(row: pd.Series | dict) -> list[dict]:
    """The reasons of one predicted row as ``[{feature, value, contribution}, ...]``."""
    found = []
    for rank in range(1, MAX_REASONS + 1):
        feature = row.get(f"reason_{rank}_feature")
        if feature is not None and feature == feature:
            found.append(
                {
                    "feature": feature,
                    "value": _plain(row[f"reason_{rank}_value"]),
                    "contribution": float(row[f"reason_{rank}_contribution"]),
                }
            )
    return found


def _names(mask: pd.DataFrame) -> list[list[str]]:
    """Per row, the names of the columns where ``mask`` is True (a list of its own per row):
    the names of each distinct pattern of the mask, handed to its rows."""
    blank = mask.to_numpy(dtype=bool)
    packed = np.packbits(np.pad(blank, ((0, 0), (0, 1))), axis=1)  # a row's pattern as bytes
    keys = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    names = mask.columns.to_numpy()
    named = [names[blank[row]].tolist() for row in first]
    return list(map(list, map(named.__getitem__, inverse.tolist())))


def _plain(value: object) -> object:
    if isinstance(value, float) and np.isnan(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


ID_COLUMNS = ("loan_id", "project_id", "id", "project_name", "sponsor")


def prediction_table(data: pd.DataFrame, predicted: pd.DataFrame, model: RiskModel) -> pd.DataFrame:
    """Identifier columns of ``data`` with pd, grade, the score in points, the reasons as
    flat text columns each followed by its points (``reason_<k>_points``), missing and absent
    features, and ``pd_advisory``. Points are on the scale of ``rules/model/scorecard.csv``
    (:mod:`.scorecard`): a reason's points are -factor x its log-odds contribution."""
    ids = [c for c in data.columns if c in ID_COLUMNS or c.endswith("_id")]
    table = data[ids].reset_index(drop=True).copy()
    table["pd"] = predicted["pd"].to_numpy()
    table["grade"] = predicted["grade"].to_numpy()
    scaling = load_scaling()
    table["score"] = pd_score(predicted["pd"].to_numpy(), scaling).round(1)
    for rank in range(1, MAX_REASONS + 1):
        table[f"reason_{rank}"] = _reason_text(predicted, rank)
        table[f"reason_{rank}_points"] = _reason_points(predicted, rank, scaling)
    table["missing_features"] = [joined(names) for names in predicted["missing_features"]]
    table["absent_features"] = [joined(names) for names in predicted["absent_features"]]
    table["pd_advisory"] = predicted["pd_advisory"].to_numpy()
    table["model_sha256"] = model.card.get("sha256", "")
    return table


def _reason_points(predicted: pd.DataFrame, rank: int, scaling: Scaling) -> np.ndarray:
    """The points reason ``rank`` costs each row (negative: a reason lowers the score; blank
    without the reason), on the scale of ``rules/model/scorecard.csv``."""
    column = predicted.get(f"reason_{rank}_contribution")
    if column is None:
        return np.full(len(predicted), np.nan)
    return scaling.points(column.to_numpy(dtype=float)).round(1)


def _reason_text(predicted: pd.DataFrame, rank: int) -> list[str]:
    """``feature=value (+contribution)`` or blank, for reason ``rank`` of every row (a model
    of fewer features than reasons has no such column: blank)."""
    if f"reason_{rank}_feature" not in predicted:
        return [""] * len(predicted)
    return [
        "" if feature is None else f"{feature}={shown(value)} (+{contribution:.3f})"
        for feature, value, contribution in zip(
            predicted[f"reason_{rank}_feature"],
            predicted[f"reason_{rank}_value"],
            predicted[f"reason_{rank}_contribution"],
            strict=True,
        )
    ]
