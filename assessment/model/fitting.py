"""Build and fit the risk model's scikit-learn pipelines (training only; scoring needs
none of this: :mod:`.estimator`).

* ``logistic``: a scorecard. Numbers: median imputation with a missing-value indicator, then
  standard scaling; categories: a ``missing`` category, then one-hot; ``LogisticRegression``.
* ``gbm``: numbers pass through (``HistGradientBoostingClassifier`` routes missing values
  natively); categories: a ``missing`` category, then one-hot; monotonic constraints for the
  features whose direction is known (``rules/model/feature_directions.csv``).

Calibration: a Platt step (a one-feature ``LogisticRegression``) fitted on out-of-fold raw
scores of the training part, so ``pd = sigmoid(slope * raw + intercept)``.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from ..errors import ModelError
from .compiled import MISSING
from .estimator import KINDS, feature_of_column

IDENTIFIER_NAMES = frozenset({"id", "project_id", "loan_id", "project_name", "sponsor", "city"})
MAX_CATEGORIES = 30


def default_features(data: pd.DataFrame, target: str) -> tuple[list[str], list[str]]:
    """Numeric and categorical feature columns: everything but the target, identifiers,
    dates and text with more than 30 distinct values."""
    numeric, categorical = [], []
    for name in data.columns:
        series = data[name]
        if name == target or name in IDENTIFIER_NAMES or name.endswith(("_id", "_year")):
            continue
        if pd.api.types.is_datetime64_any_dtype(series):
            continue
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            numeric.append(name)
        elif series.nunique(dropna=True) <= MAX_CATEGORIES:
            categorical.append(name)
    return numeric, categorical


@dataclass(frozen=True)
class Spec:
    """What to train: the kind, the feature columns, known directions and the seed."""

    kind: str
    numeric: list[str]
    categorical: list[str]
    directions: dict[str, int]
    random_state: int = 0


def build_pipeline(spec: Spec) -> Pipeline:
    if spec.kind not in KINDS:
        raise ModelError("unknown model kind", expected=" or ".join(KINDS), got=repr(spec.kind))
    columns = ColumnTransformer(
        [("num", _numbers(spec.kind), spec.numeric), ("cat", _categories(), spec.categorical)],
        verbose_feature_names_out=True,
    )
    return Pipeline([("prepare", columns), ("model", _estimator(spec))])


def _categories() -> Pipeline:
    return Pipeline(
        [
            ("fill", SimpleImputer(strategy="constant", fill_value=MISSING)),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )


def _numbers(kind: str) -> Pipeline | str:
    if kind != "logistic":
        return "passthrough"  # the trees route missing values themselves
    return Pipeline(
        [
            (
                "fill",
                SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            ),
            ("scale", StandardScaler()),
        ]
    )


def _estimator(spec: Spec) -> LogisticRegression | HistGradientBoostingClassifier:
    if spec.kind == "logistic":
        return LogisticRegression(max_iter=2000, C=1.0)
    return HistGradientBoostingClassifier(
        max_iter=150,
        learning_rate=0.08,
        max_depth=4,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=spec.random_state,
    )


def fit(spec: Spec, x: pd.DataFrame, y: np.ndarray) -> Pipeline:
    """A fitted pipeline; for the gbm, monotonic constraints on the transformed columns."""
    return unfitted(spec, x).fit(x, y)


def unfitted(spec: Spec, x: pd.DataFrame) -> Pipeline:
    """The pipeline :func:`fit` fits on ``x``: for the gbm, with monotonic constraints on the
    transformed columns of ``x``."""
    pipeline = build_pipeline(spec)
    if spec.kind == "gbm":
        names = pipeline[0].fit(x).get_feature_names_out()
        pipeline[-1].set_params(
            monotonic_cst=[
                spec.directions.get(feature_of_column(n, spec.numeric, spec.categorical), 0)
                if n.startswith("num__")
                else 0
                for n in names
            ]
        )
    return pipeline


def calibrate(raw: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling: slope and intercept of the log-odds on the raw score."""
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), y)
    return float(platt.coef_[0, 0]), float(platt.intercept_[0])


def out_of_fold_raw(
    spec: Spec, x: pd.DataFrame, y: np.ndarray, pool: Executor | None = None
) -> np.ndarray:
    """Raw scores of five-fold cross-validation: each row scored by a model not fitted on it
    (what scikit-learn's ``cross_val_predict`` gives: the same folds, a clone of the pipeline
    fitted on each; the same numbers as fitting :func:`fit` per fold). The folds are fitted
    on the threads of ``pool`` (one thread of its own without), see :func:`fit_alone`."""
    folds = StratifiedKFold(5, shuffle=True, random_state=spec.random_state)
    pipeline = _constrained_by_name(spec)
    raw = np.empty(len(y))
    with contextlib.nullcontext(pool) if pool else ThreadPoolExecutor(1) as runner:
        scored = [
            (test, runner.submit(fit_alone, clone(pipeline), x.iloc[train], y[train]))
            for train, test in folds.split(x, y)
        ]
        for test, fitted in scored:
            raw[test] = fitted.result().decision_function(x.iloc[test])
    return raw


def fit_alone(pipeline: Pipeline, x: pd.DataFrame, y: np.ndarray) -> Pipeline:
    """``pipeline`` fitted on one OpenMP thread. The gbm grows its trees in short parallel
    steps that end with the threads waiting for one another: separate fits side by side, one
    per core, are faster than one fit on every core (two 56,000-row folds on two busy cores:
    4.8-7.9 s side by side; one alone on two OpenMP threads 6.1-13.2 s, on one 3.8 s). The
    limit holds for the calling thread only (OpenMP's thread count is the thread's own)."""
    with threadpool_limits(limits=1, user_api="openmp"):
        return pipeline.fit(x, y)


def _constrained_by_name(spec: Spec) -> Pipeline:
    """The pipeline of :func:`build_pipeline` with the gbm's monotonic constraints given by
    transformed column name (the prepared columns as a frame), so that a clone fits any fold,
    whatever categories it holds. :func:`fit` gives them as a list instead, so the saved
    model's transform gives arrays (faster to score) and its bytes stay as before."""
    pipeline = build_pipeline(spec)
    if spec.kind == "gbm":
        pipeline[0].set_output(transform="pandas")
        pipeline[-1].set_params(
            monotonic_cst={
                f"num__{name}": step
                for name, step in spec.directions.items()
                if name in spec.numeric
            }
        )
    return pipeline


def split(x: pd.DataFrame, y: np.ndarray, test_size: float, random_state: int):
    return train_test_split(x, y, test_size=test_size, stratify=y, random_state=random_state)


def holdout_mask(y: np.ndarray, test_size: float | None, random_state: int) -> np.ndarray:
    """True on the rows that :func:`split` holds out (the same rows whatever is split), none
    when ``test_size`` is None."""
    positions = np.arange(len(y))
    if test_size is None:
        return np.zeros(len(y), dtype=bool)
    _, test = train_test_split(
        positions, test_size=test_size, stratify=y, random_state=random_state
    )
    return np.isin(positions, test)
