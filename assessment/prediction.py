"""Apply a risk model: PD, rating grade, reason codes, and drift against the training data.

``predict(model, frame)`` returns, per row, ``pd``, ``grade`` (from the grade table kept as data
in ``rules/model/rating_grades.csv``), ``reasons`` (up to four features that raise this row's
risk most: ``{feature, value, contribution}`` in calibrated log-odds) and ``missing_features``
(model features that were blank for the row: the PD then rests on the model's handling of
missing values, and the result says so).

``drift(model, frame)`` is the population stability index per feature and for the score, with
the usual bands (data: ``rules/monitor/bands.csv``): below 0.1 stable, 0.1-0.25 watch, above
0.25 act.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ._files import write_table as write_rows
from ._resources import data_dir
from .bands import banded
from .model import RiskModel, prepare
from .training import bin_shares

MAX_REASONS = 4
_FLOOR = 1e-4


@lru_cache(maxsize=8)
def load_grades(path: str | Path | None = None) -> pd.DataFrame:
    """The rating scale, PD bounds ascending (read once per path)."""
    path = Path(path) if path else data_dir("rules") / "model" / "rating_grades.csv"
    return pd.read_csv(path, dtype={"grade": str}).sort_values("max_pd", ignore_index=True)


def grade_of(pd_values: np.ndarray, grades: pd.DataFrame) -> np.ndarray:
    """The first grade whose ``max_pd`` is at least the PD."""
    position = np.searchsorted(grades["max_pd"].to_numpy(), pd_values, side="left")
    return grades["grade"].to_numpy()[np.minimum(position, len(grades) - 1)]


def predict(
    model: RiskModel, frame: pd.DataFrame, grades: pd.DataFrame | None = None
) -> pd.DataFrame:
    """``pd``, ``grade``, the reasons as flat columns ``reason_<k>_feature``,
    ``reason_<k>_value`` and ``reason_<k>_contribution`` (k = 1..4, largest first, only
    contributions that raise the risk) and ``missing_features`` per row of ``frame``."""
    grades = load_grades() if grades is None else grades
    if frame.empty:  # the estimators refuse zero rows: the columns of one unknown row, no row
        probe = pd.DataFrame({name: [np.nan] for name in model.features})
        return predict(model, probe, grades).iloc[:0].set_axis(frame.index[:0])
    inputs = prepare(frame, model.numeric, model.categorical)
    contributions, base = model.contributions(frame, inputs)
    values = contributions.to_numpy()
    probability = 1.0 / (1.0 + np.exp(-(base + values.sum(axis=1))))
    result = {"pd": probability, "grade": grade_of(probability, grades)}
    result |= _reason_columns(values, inputs)
    result["missing_features"] = _missing(inputs)
    return pd.DataFrame(result, index=frame.index)


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


def _missing(inputs: pd.DataFrame) -> list[list[str]]:
    blank = inputs.isna().to_numpy()
    names = inputs.columns.to_numpy()
    found: list[list[str]] = [[] for _ in range(len(blank))]
    for row in np.flatnonzero(blank.any(axis=1)):
        found[row] = names[blank[row]].tolist()
    return found


def _plain(value: object) -> object:
    if isinstance(value, float) and np.isnan(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def psi(expected: list[float], actual: list[float]) -> float:
    """Population stability index of two share vectors (empty bins floored at 0.01 %)."""
    e = np.maximum(np.asarray(expected, dtype=float), _FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), _FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def band(value: float) -> str:
    """The PSI band of ``value`` (limits in ``rules/monitor/bands.csv``, measure ``psi``)."""
    return str(banded([value], "psi")[0])


def drift(model: RiskModel, frame: pd.DataFrame) -> pd.DataFrame:
    """PSI per feature and for the score (``__score__``), with its band, sorted worst first."""
    inputs = prepare(frame, model.numeric, model.categorical)
    rows = [
        _numeric_psi(name, inputs[name].to_numpy(dtype=float), model.reference[name])
        for name in model.numeric
    ]
    rows += [_category_psi(name, inputs[name], model.reference[name]) for name in model.categorical]
    rows.append(_numeric_psi("__score__", model.predict_pd(frame), model.reference["__score__"]))
    table = pd.DataFrame(rows, columns=["feature", "psi"])
    table["band"] = table["psi"].map(band)
    return table.sort_values("psi", ascending=False, ignore_index=True)


def _numeric_psi(name: str, values: np.ndarray, reference: dict) -> tuple[str, float]:
    actual = bin_shares(values, reference["edges"])
    return name, round(psi(reference["shares"], actual), 6)


def _category_psi(name: str, values: pd.Series, reference: dict) -> tuple[str, float]:
    levels = reference["levels"]
    shares = values.fillna("missing").value_counts(normalize=True)
    keys = sorted(set(levels) | set(map(str, shares.index)))
    actual = [float(shares.get(key, 0.0)) for key in keys]
    return name, round(psi([levels.get(key, 0.0) for key in keys], actual), 6)


ID_COLUMNS = ("loan_id", "project_id", "id", "project_name", "sponsor")


def prediction_table(data: pd.DataFrame, predicted: pd.DataFrame, model: RiskModel) -> pd.DataFrame:
    """Identifier columns of ``data`` with pd, grade and reasons as flat text columns."""
    ids = [c for c in data.columns if c in ID_COLUMNS or c.endswith("_id")]
    table = data[ids].reset_index(drop=True).copy()
    table["pd"] = predicted["pd"].to_numpy()
    table["grade"] = predicted["grade"].to_numpy()
    for rank in range(1, MAX_REASONS + 1):
        table[f"reason_{rank}"] = _reason_text(predicted, rank)
    table["missing_features"] = ["; ".join(names) for names in predicted["missing_features"]]
    table["model_sha256"] = model.card.get("sha256", "")
    return table


def _reason_text(predicted: pd.DataFrame, rank: int) -> list[str]:
    """``feature=value (+contribution)`` or blank, for reason ``rank`` of every row (a model
    of fewer features than reasons has no such column: blank)."""
    if f"reason_{rank}_feature" not in predicted:
        return [""] * len(predicted)
    return [
        "" if feature is None else f"{feature}={value} (+{contribution:.3f})"
        for feature, value, contribution in zip(
            predicted[f"reason_{rank}_feature"],
            predicted[f"reason_{rank}_value"],
            predicted[f"reason_{rank}_contribution"],
            strict=True,
        )
    ]


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """CSV or xlsx by the file's extension, through the one writer path (text that starts
    like a formula stays text)."""
    return write_rows(table, path)
