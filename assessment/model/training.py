"""Train a risk model honestly and describe it in a model card.

``train_model(data, target)``: a stratified hold-out split (30 %), five-fold cross-validation
on the training part (AUC), Platt calibration on out-of-fold scores, the final pipeline fitted on
the training part, and hold-out metrics: AUC, Gini, KS, Brier score, a calibration table by
decile, the class balance. Fixed ``random_state``: the same data give the same model and figures.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import io
import os
import platform
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from .._shared.files import sha256_text
from .._shared.resources import data_dir
from .._shared.tables import read_reference_table
from .._shared.text import shown
from ..errors import ModelError
from ..intake.limits import Deadline, Limits, read_regular_file
from ..intake.zipped import inspect_zip
from .card import notes
from .estimator import KINDS, OUTCOMES, RiskModel, prepare
from .fitting import (
    Spec,
    calibrate,
    default_features,
    fit_alone,
    holdout_mask,
    out_of_fold_raw,
    split,
    unfitted,
)
from .scorecard import Scorecard, deciles, scorecard

TEST_SIZE = 0.3
LIBRARIES = ("scikit-learn", "numpy", "pandas", "skops")


TABLE_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".ods", ".parquet")


def read_table(path: str | Path) -> pd.DataFrame:
    """A history or data table from ``.csv``, ``.xlsx``/``.xlsm``/``.ods`` or ``.parquet``,
    under the same input limits as applications (regular files only, sizes, zip bombs)."""
    path = Path(path)
    suffix, where = path.suffix.lower(), str(path)
    if suffix not in TABLE_SUFFIXES:
        raise ModelError(
            "unsupported table type",
            where=where,
            expected=", ".join(TABLE_SUFFIXES),
            got=repr(suffix),
        )
    limits = Limits.from_env()
    data = read_regular_file(path, limits)
    if suffix in (".xlsx", ".xlsm", ".ods"):
        inspect_zip(data, where, limits, Deadline(limits, where))
    try:
        table = _parsed_table(io.BytesIO(data), suffix)
    except Exception as error:  # pandas, pyarrow and calamine raise many types on bad files
        raise ModelError(
            "cannot read the table",
            where=where,
            expected=f"a {suffix} table with a header row",
            got=f"{type(error).__name__}: {error}"[:300],
            hint="open the file and save it again, or export it as .csv",
        ) from None
    if table.empty:
        raise ModelError(
            "the table has no rows",
            where=where,
            expected="one row per loan or project under the header",
            got=f"{len(table.columns)} column(s), 0 rows",
        )
    return table


def _parsed_table(data: io.BytesIO, suffix: str) -> pd.DataFrame:
    if suffix == ".parquet":
        table = pd.read_parquet(data)
        if _marked_synthetic(data):
            table.attrs["outcomes"] = "synthetic"
        return table
    if suffix == ".csv":
        return pd.read_csv(data, encoding="utf-8-sig")
    return pd.read_excel(data, engine="calamine")


def _marked_synthetic(data: io.BytesIO) -> bool:
    """The parquet file's schema metadata says ``synthetic: true`` (as the example history's
    does), so a model trained on it is carded as trained on synthetic outcomes."""
    metadata = pq.read_schema(data).metadata or {}
    return metadata.get(b"synthetic", b"").strip().lower() == b"true"


def read_features(path: str | Path) -> list[str]:
    """Feature names, one per line (blank lines and ``#`` comments ignored)."""
    data = read_regular_file(path, Limits.from_env())
    try:
        lines = data.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise ModelError(
            "the features file is not UTF-8 text", where=str(path), expected="one name a line"
        ) from None
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def load_directions(path: str | Path | None = None) -> dict[str, int]:
    """Known risk directions: +1 raises risk, -1 lowers it (``feature_directions.csv``, read
    through the one reference-table reader: a cell that is not a whole number is a
    :class:`RuleError` naming its row)."""
    path = Path(path) if path else data_dir("rules") / "model" / "feature_directions.csv"
    table = read_reference_table(path, {"feature": "text", "direction": "Int64"})
    known = table.dropna(subset=["direction"])  # a blank direction is not known
    return {str(f): int(d) for f, d in zip(known["feature"], known["direction"], strict=True)}


def target_values(data: pd.DataFrame, target: str) -> np.ndarray:
    if target not in data.columns:
        raise ModelError(
            "no such target column",
            expected="one of " + ", ".join(map(str, data.columns[:20])),
            got=repr(target),
        )
    values = pd.to_numeric(data[target], errors="coerce")
    if values.isna().any() or not values.isin([0, 1]).all() or values.nunique() < 2:
        raise ModelError(
            "the target must be a 0/1 outcome with both values present",
            where=f"column {target}",
            got=f"{values.isna().sum()} blank or "
            f"non-numeric, values {sorted(values.dropna().unique())[:5]}",
        )
    return values.to_numpy(dtype=int)


def train_model(
    data: pd.DataFrame,
    target: str,
    *,
    kind: str = "gbm",
    features: list[str] | None = None,
    random_state: int = 0,
    directions: dict[str, int] | None = None,
    holdout: float | None = TEST_SIZE,
    outcomes: str | None = None,
) -> RiskModel:
    """Train, evaluate and calibrate a model of ``kind`` on ``data`` (one row per past loan).

    ``kind="auto"`` cross-validates both kinds on the training part and keeps the better.
    ``holdout`` is the stratified share kept out for the hold-out metrics; ``None`` fits on all
    the data (then only the cross-validation metrics are reported). ``outcomes`` says what the
    history's outcomes are, written to the card: ``real`` (a lender's own loans: the PD may
    decide) or ``synthetic`` (an invented history: the PD is advisory, see
    ``RiskModel.pd_is_binding``); by default ``real``, unless the table says ``synthetic``
    (``data.attrs["outcomes"]``, set by :func:`read_table` for a parquet file marked so)."""
    if kind not in (*KINDS, "auto"):
        raise ModelError("unknown model kind", expected="logistic, gbm or auto", got=repr(kind))
    outcomes = _outcomes(data, outcomes)
    y = target_values(data, target)
    numeric, categorical = _features(data, target, features)
    known = directions if directions is not None else load_directions()
    directions = {k: v for k, v in known.items() if k in numeric}
    _check_plan(y, numeric + categorical, holdout)
    x = prepare(data, numeric, categorical)
    x_train, x_test, y_train, y_test = _split(x, y, holdout, random_state)
    _check_classes(y_train, "the training part", FOLDS)
    _check_classes(y_test, "the hold-out part", 1 if holdout is not None else 0)
    specs = [
        Spec(k, numeric, categorical, directions, random_state)
        for k in (KINDS if kind == "auto" else (kind,))
    ]
    with (
        threadpool_limits(training_threads(len(x))),
        ThreadPoolExecutor(training_workers()) as pool,
    ):
        early = _fitting(pool, specs[0], x_train, y_train) if len(specs) == 1 else None
        scores = {spec.kind: out_of_fold_raw(spec, x_train, y_train, pool) for spec in specs}
        spec = max(specs, key=lambda s: roc_auc_score(y_train, scores[s.kind]))
        pipeline = (early or _fitting(pool, spec, x_train, y_train)).result()
        model = _fitted(spec, target, pipeline, x_train, y_train, scores[spec.kind])
        test_pd = model.predict_pd(x_test) if len(y_test) else np.array([])
    model.reference = drift_reference(x_train, model.predict_pd(x_train), numeric, categorical)
    model.card = model_card(model, data, y, y_train, y_test, test_pd, scores[spec.kind])
    model.card["split"]["random_state"] = random_state
    model.card["outcomes"] = outcomes
    if kind == "auto":
        model.card["selection"] = {
            k: round(float(roc_auc_score(y_train, raw)), 6) for k, raw in scores.items()
        }
    return model


def _outcomes(data: pd.DataFrame, outcomes: str | None) -> str:
    """``outcomes`` as given, else what the table says, else ``real``; one of ``OUTCOMES``."""
    found = outcomes or data.attrs.get("outcomes") or "real"
    if found not in OUTCOMES:
        raise ModelError(
            "unknown kind of outcomes",
            expected=" or ".join(OUTCOMES),
            got=repr(found),
            hint="real for a lender's own loan history, synthetic for an invented one",
        )
    return found


FOLDS = 5  # cross-validation folds: each class needs a loan in every fold
ROWS_PER_THREAD = 50_000


def training_workers() -> int:
    """Fits run side by side while training: one per core, at most the five folds of the
    cross-validation and the final fit (independent of one another). Each fit runs on one
    OpenMP thread (:func:`~assessment.model.fitting.fit_alone`), so a fit gives the same
    artefact on every machine; side by side they use the cores better than one fit on all of
    them (a gbm fit's parallel steps are short and end waiting for one another)."""
    return max(1, min(os.cpu_count() or 1, FOLDS + 1))


def training_threads(rows: int) -> int:
    """OpenMP and BLAS threads while training on ``rows`` loans, besides the fits (the
    calibration, the hold-out and training PDs): one per 50,000 rows, at most one fewer than
    the machine's cores, at least one.

    On small data, or when another program holds a core, threads that wait for one another
    cost more than they save. Measured on a two-core machine busy with other work:
    ``assess train`` of the example history (6,500 rows, gbm, ``OMP_NUM_THREADS`` unset)
    took 35-93 s with two threads and 10-15 s with one, the command's start included; the
    same gbm alone on 6,500 / 50,000 / 200,000 random rows of 30 columns took 0.3 / 2.0 /
    6.3 s with one thread and 3.2 / 9.5 / 24.6 s with two. So a two-core machine uses one
    thread; a larger one more from 100,000 rows. The trees and PDs are the same whatever the
    threads."""
    return max(1, min((os.cpu_count() or 1) - 1, rows // ROWS_PER_THREAD))


def _check_plan(y: np.ndarray, features: list[str], holdout: float | None) -> None:
    """Refuse what cannot be trained before any fitting: no features, features named twice,
    a hold-out share outside (0, 1)."""
    if not features:
        raise ModelError(
            "no feature to train on",
            expected="numeric or text columns besides the target and identifiers",
            got="none",
            hint="name the features in a --features file, one per line",
        )
    repeated = sorted({name for name in features if features.count(name) > 1})
    if repeated:
        raise ModelError("features named twice", got=", ".join(repeated), hint="name each once")
    if holdout is not None and not 0 < holdout < 1:
        raise ModelError(
            "the hold-out share is out of range",
            expected="a share between 0 and 1 (0.3 keeps 30 % of the loans out)",
            got=shown(holdout),
            hint="or give --no-holdout to fit on every loan",
        )
    _check_classes(y, "the history", 2)


def _check_classes(y: np.ndarray, part: str, least: int) -> None:
    """Each outcome (0 and 1) at least ``least`` times in ``part``."""
    counts = {int(v): int((y == v).sum()) for v in (0, 1)}
    if least and min(counts.values()) < least:
        raise ModelError(
            f"too few loans of one outcome in {part}",
            expected=f"at least {least} loans with each outcome (0 and 1)",
            got=f"{counts[0]} with 0 and {counts[1]} with 1",
            hint="train on a longer history, or lower --holdout",
        )


def _split(x: pd.DataFrame, y: np.ndarray, holdout: float | None, random_state: int):
    if holdout is None:
        return x, x.iloc[:0], y, y[:0]
    return split(x, y, holdout, random_state)


def _fitting(pool: Executor, spec: Spec, x: pd.DataFrame, y: np.ndarray) -> Future:
    """The final pipeline of ``spec`` (``fitting.fit``), fitting on a thread of ``pool``:
    a single kind is fitted beside its cross-validation's folds, the better of two after."""
    return pool.submit(fit_alone, unfitted(spec, x), x, y)


def _fitted(
    spec: Spec,
    target: str,
    pipeline: Pipeline,
    x: pd.DataFrame,
    y: np.ndarray,
    raw_oof: np.ndarray,
) -> RiskModel:
    slope, intercept = calibrate(raw_oof, y)
    return RiskModel(
        spec.kind,
        target,
        spec.numeric,
        spec.categorical,
        pipeline,
        slope,
        intercept,
        spec.directions,
        _column_means(pipeline, x, spec.kind),
    )


def _features(
    data: pd.DataFrame, target: str, features: list[str] | None
) -> tuple[list[str], list[str]]:
    numeric, categorical = default_features(data, target)
    if features is None:
        return numeric, categorical
    unknown = [name for name in features if name not in data.columns]
    if unknown:
        raise ModelError(
            "features not in the data",
            got=", ".join(unknown),
            hint="check the features file against the data's columns",
        )
    return (
        [f for f in features if f not in categorical and _is_number(data[f])],
        [f for f in features if f in categorical or not _is_number(data[f])],
    )


def _is_number(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def _column_means(pipeline, x_train: pd.DataFrame, kind: str) -> list[float]:
    if kind != "logistic":
        return []
    return np.asarray(pipeline[:-1].transform(x_train), dtype=float).mean(axis=0).tolist()


def metrics(y: np.ndarray, pd_values: np.ndarray) -> dict[str, float]:
    """AUC, Gini, KS and Brier score of predicted PDs against outcomes."""
    auc = float(roc_auc_score(y, pd_values))
    false_positive, true_positive, _ = roc_curve(y, pd_values)
    return {
        "auc": round(auc, 6),
        "gini": round(2 * auc - 1, 6),
        "ks": round(float(np.max(true_positive - false_positive)), 6),
        "brier": round(float(brier_score_loss(y, pd_values)), 6),
    }


def calibration_table(y: np.ndarray, pd_values: np.ndarray) -> list[dict[str, float]]:
    """By decile of predicted PD: count, mean predicted PD, observed default rate."""
    table = pd.DataFrame({"decile": deciles(pd_values), "pd": pd_values, "y": y})
    table = table.groupby("decile")
    return [
        {
            "decile": int(decile),
            "count": int(len(group)),
            "mean_pd": round(float(group["pd"].mean()), 6),
            "default_rate": round(float(group["y"].mean()), 6),
        }
        for decile, group in table
    ]


def training_scorecard(
    model: RiskModel, data: pd.DataFrame, holdout: float | None = TEST_SIZE, sha256: str = ""
) -> Scorecard:
    """The scorecard of a model :func:`train_model` fitted on ``data`` with ``holdout``: bins,
    WoE, IV and points on its training part, ROC, KS, gains and calibration on its hold-out
    rows (on every row, in-sample, without a hold-out); ``sha256`` names the saved artefact."""
    y = target_values(data, model.target)
    held = holdout_mask(y, holdout, model.card.get("split", {}).get("random_state", 0))
    tested = held if held.any() else None
    note = "tested_holdout" if held.any() else "tested_in_sample"
    found = scorecard(data, y, model, tested=tested, notes=(note,))
    if sha256:
        found.facts["model"] = f"{model.kind} {sha256[:12]}"
    return found


def model_card(
    model: RiskModel,
    data: pd.DataFrame,
    y: np.ndarray,
    y_train: np.ndarray,
    y_test: np.ndarray,
    test_pd: np.ndarray,
    raw_oof: np.ndarray,
) -> dict:
    oof_pd = 1 / (1 + np.exp(-(model.slope * raw_oof + model.intercept)))
    return {
        "kind": model.kind,
        "target": model.target,
        "features": model.features,
        "numeric": model.numeric,
        "categorical": model.categorical,
        "directions": model.directions,
        "training_data": {
            "sha256": data_hash(data),
            "rows": int(len(data)),
            "columns": int(data.shape[1]),
        },
        "class_balance": {
            "rows": int(len(y)),
            "defaults": int(y.sum()),
            "default_rate": round(float(y.mean()), 6),
            "train_rows": int(len(y_train)),
            "test_rows": int(len(y_test)),
        },
        "metrics": {
            "holdout": metrics(y_test, test_pd) if len(y_test) else None,
            "cross_validation": metrics(y_train, oof_pd),
        },
        "calibration": {
            "method": notes(model.kind)["calibration_method"],
            "slope": model.slope,
            "intercept": model.intercept,
            "holdout_deciles": calibration_table(y_test, test_pd) if len(y_test) else None,
            "cross_validation_deciles": calibration_table(y_train, oof_pd),
        },
        "missing_values": notes(model.kind)["missing_values"],
        "reasons": notes(model.kind)["reasons"],
        "split": {"test_size": len(y_test) / len(y), "stratified": True, "cv_folds": 5},
        "libraries": {name: _version(name) for name in LIBRARIES}
        | {"python": platform.python_version()},
        "trained_on": dt.date.today().isoformat(),
    }


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def data_hash(data: pd.DataFrame) -> str:
    """SHA-256 of the data as canonical CSV (column order and values): what
    ``data.to_csv(index=False, lineterminator="\\n", float_format="%.17g")`` writes, with the
    float columns written beforehand (pandas' float formatter calls a Python function per
    value: 100,000 loans took 2.8 s of CPU that way, 2.0 s so)."""
    text = _floats_written(data).to_csv(index=False, lineterminator="\n")
    return sha256_text(text)


def _floats_written(data: pd.DataFrame) -> pd.DataFrame:
    """``data`` with each column of numpy floats as text: ``%.17g``, blank where missing."""
    written = data.copy(deep=False)
    for position, (_, column) in enumerate(data.items()):
        if isinstance(column.dtype, np.dtype) and column.dtype.kind == "f":
            values = column.to_numpy()
            text = np.array([f"{value:.17g}" for value in values.tolist()], dtype=object)
            text[np.isnan(values)] = np.nan
            written.isetitem(position, pd.Series(text, index=data.index, dtype=object))
    return written


def drift_reference(
    x: pd.DataFrame, pd_values: np.ndarray, numeric: list[str], categorical: list[str]
) -> dict:
    """Training distributions for the population stability index: decile edges and shares
    for numbers and the score, level shares for categories."""
    reference = {name: numeric_reference(x[name].to_numpy(dtype=float)) for name in numeric}
    for name in categorical:
        shares = x[name].fillna("missing").value_counts(normalize=True)
        reference[name] = {"levels": {str(k): float(v) for k, v in shares.items()}}
    reference["__score__"] = numeric_reference(np.asarray(pd_values, dtype=float))
    return reference


def numeric_reference(values: np.ndarray) -> dict:
    present = values[~np.isnan(values)]
    edges = np.unique(np.quantile(present, np.linspace(0, 1, 11))) if len(present) else []
    counts = bin_shares(values, list(edges))
    return {"edges": [float(e) for e in edges], "shares": counts}


def bin_shares(values: np.ndarray, edges: list[float]) -> list[float]:
    """Shares of values in the inner bins of ``edges`` (open-ended) plus a missing bin."""
    values = np.asarray(values, dtype=float)
    inner = np.asarray(edges[1:-1], dtype=float)
    bins = np.where(np.isnan(values), len(inner) + 1, np.searchsorted(inner, values, "right"))
    counts = np.bincount(bins.astype(int), minlength=len(inner) + 2)
    return (counts / max(len(values), 1)).tolist()
