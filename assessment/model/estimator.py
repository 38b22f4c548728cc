"""The credit-risk model as scored: a fitted scikit-learn ``Pipeline`` of stock parts (built and
fitted in :mod:`.fitting`), its calibration, and what it was trained on.

Calibration: ``pd = sigmoid(slope * raw + intercept)`` (a Platt step, :mod:`.fitting`).

Reason codes are contributions to the calibrated log-odds that add up exactly, with a base value,
to the model's output:

* logistic: ``slope * coef_j * (x_j - mean_j)`` per transformed column (exact);
* gbm: path attribution (Saabas): along each tree's decision path, the change of the
  count-weighted mean leaf value at each split goes to the split's feature. The trees are
  walked for all rows at once (:mod:`.forest`); they are scikit-learn's private parts, read
  only in :mod:`._sklearn_trees`.

A gbm is scored from its compiled form (:mod:`.compiled`: the one-hot layout and the trees as
arrays), which gives the pipeline's numbers without calling scikit-learn; a model loaded from
its compiled form alone (:mod:`.persist`) has no pipeline, and scikit-learn is not imported.

Columns of one feature (one-hot levels, missing indicators) are summed back to that feature.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ModelError
from . import compiled, forest

KINDS = ("logistic", "gbm")
# What the model was calibrated on (card field ``outcomes``): only a model trained on a
# lender's real loan outcomes gives a binding PD; a card without the field is read as synthetic.
OUTCOMES = ("real", "synthetic")


@dataclass
class RiskModel:
    """A trained model: the fitted pipeline, its calibration and what it was trained on.
    ``pipeline`` is None for a gbm loaded from its compiled form (``derived["compiled"]``)."""

    kind: str
    target: str
    numeric: list[str]
    categorical: list[str]
    pipeline: object  # a fitted scikit-learn Pipeline, or None (see above)
    slope: float
    intercept: float
    directions: dict[str, int] = field(default_factory=dict)
    column_means: list[float] = field(default_factory=list)
    reference: dict = field(default_factory=dict)
    card: dict = field(default_factory=dict)
    derived: dict = field(default_factory=dict, repr=False)  # see _derived
    neutral: dict = field(default_factory=dict, repr=False)  # per feature, computed once

    def typical_row(self) -> pd.DataFrame:
        """One row at the training population's middle: each number at its median decile
        edge, each category at its most frequent level (the model's drift reference)."""
        values = {}
        for name in self.features:
            reference = self.reference.get(name, {})
            edges, levels = reference.get("edges") or [], reference.get("levels") or {}
            middle = edges[len(edges) // 2] if edges else np.nan
            values[name] = [max(levels, key=levels.get) if levels else middle]
        return prepare(pd.DataFrame(values), self.numeric, self.categorical)

    @property
    def features(self) -> list[str]:
        return self.numeric + self.categorical

    @property
    def pd_is_binding(self) -> bool:
        """True only when the card says the model was calibrated on real outcomes; otherwise
        (``synthetic``, or a card from before the field existed) the PD is advisory: it may
        move a case to a person (refer), never decline it."""
        return self.card.get("outcomes") == "real"

    def raw_score(self, frame: pd.DataFrame) -> np.ndarray:
        prepared = prepare(frame, self.numeric, self.categorical)
        if self.kind == "logistic":
            return self.pipeline.decision_function(prepared)
        return self.compiled_form().raw_scores(self.compiled_form().transform(prepared))

    def predict_pd(self, frame: pd.DataFrame) -> np.ndarray:
        return _sigmoid(self.slope * self.raw_score(frame) + self.intercept)

    def transform(self, prepared: pd.DataFrame) -> np.ndarray:
        """The inputs of the classifier: the prepared rows (:func:`prepare`) through the
        pipeline's column step (float64, one row per row)."""
        if self.kind == "gbm":
            return self.compiled_form().transform(prepared)
        return np.ascontiguousarray(self.pipeline[:-1].transform(prepared), dtype=np.float64)

    def fed_as_is(self, feature: str) -> int | None:
        """The column of :meth:`transform` that holds ``feature`` as it is (a number fed to
        the trees), or None (a category, or a number a logistic model imputes and scales)."""
        column = np.flatnonzero(self._feature_map()[:, self.features.index(feature)])
        if self.kind == "logistic" or feature not in self.numeric or len(column) != 1:
            return None
        return int(column[0])

    def feature_effects(
        self,
        frame: pd.DataFrame,
        feature: str,
        values: list,
        transformed: np.ndarray | None = None,
    ) -> np.ndarray:
        """The contribution of ``feature`` (calibrated log-odds) had it taken each of
        ``values``: one row per value, one column per row of ``frame`` (the model's prepared
        inputs, :func:`prepare`; ``transformed``: the frame through :meth:`transform`, when at
        hand). For trees and a number fed to them as it is, only the trees that split on the
        feature are walked, once per distinct way the values pass its splits; otherwise every
        variant is scored in full."""
        column = self.fed_as_is(feature)
        if column is None:
            trial = pd.concat([frame.assign(**{feature: value}) for value in values])
            effect, _ = self.contributions(trial, trial)
            return effect[feature].to_numpy().reshape(len(values), len(frame))
        x = self.transform(frame) if transformed is None else transformed
        index = self.features.index(feature)
        return forest.feature_effects(self._forest(), x, index, column, values) * self.slope

    def _forest(self) -> forest.Forest:
        """The gbm's trees laid out for the vectorised walk."""
        return self.compiled_form().walk

    def compiled_form(self) -> compiled.Compiled:
        """The gbm's column step and trees as arrays (:mod:`.compiled`)."""
        return self._derived(
            "compiled",
            lambda: compiled.compile_pipeline(self.pipeline, self.numeric, self.categorical),
        )

    def _derived(self, name: str, make) -> object:
        """``make()``, worked out once for the fitted pipeline: kept in ``derived`` with the
        pipeline it was worked out for (the copies load_model hands out share the pipeline
        and ``derived``; a model given another pipeline works it out again)."""
        if name not in self.derived or self.derived[name][0] is not self.pipeline:
            self.derived[name] = (self.pipeline, make())
        return self.derived[name][1]

    def contributions(
        self,
        frame: pd.DataFrame,
        prepared: pd.DataFrame | None = None,
        transformed: np.ndarray | None = None,
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Per-feature contributions to the calibrated log-odds, and the base value per row:
        ``base + contributions.sum(axis=1)`` is the log-odds of ``predict_pd``. ``prepared``
        and ``transformed`` (the frame through :func:`prepare` and :meth:`transform`) are
        used when given."""
        if transformed is None:
            if prepared is None:
                prepared = prepare(frame, self.numeric, self.categorical)
            transformed = self.transform(prepared)
        if self.kind == "logistic":
            columns, base = _linear_contributions(
                self.pipeline[-1], transformed, np.asarray(self.column_means, dtype=float)
            )
            columns = columns @ self._feature_map()
        else:
            columns, base = forest.contributions(self._forest(), transformed)
        grouped = pd.DataFrame(columns * self.slope, index=frame.index, columns=self.features)
        return grouped, base * self.slope + self.intercept

    def problem(self) -> str:
        """What makes this model unusable, or "" when it is sound: a pipeline of another kind,
        a coefficient that is not finite, a drift reference that does not fit its features,
        or a row of missing values that it cannot score to a finite PD."""
        try:
            if self.pipeline is None:  # a compiled gbm: its arrays were checked on reading
                return self._reference_problem() or self._probe_problem()
            return self._pipeline_problem() or self._reference_problem() or self._probe_problem()
        except Exception as error:  # parts of a loaded file may be of any trusted type
            return f"its parts cannot be checked ({type(error).__name__}: {error})"

    def _pipeline_problem(self) -> str:
        from sklearn.compose import ColumnTransformer
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline

        wanted = LogisticRegression if self.kind == "logistic" else HistGradientBoostingClassifier
        steps = self.pipeline.steps if isinstance(self.pipeline, Pipeline) else []
        kinds = [type(step).__name__ for _, step in steps] or [type(self.pipeline).__name__]
        if [type(step) for _, step in steps] != [ColumnTransformer, wanted]:
            return (
                f"a {self.kind} model needs a Pipeline of ColumnTransformer and "
                f"{wanted.__name__}; this one is {' + '.join(kinds)}"
            )
        fitted_on = list(getattr(self.pipeline[0], "feature_names_in_", []))
        if fitted_on != self.features:
            return "the pipeline was fitted on other columns than the model's features"
        if len(getattr(self.pipeline[-1], "classes_", [])) != 2:
            return "the classifier is not fitted on two classes"
        learned = _learned_numbers(self.pipeline[-1])
        if not all(np.isfinite(np.asarray(part, dtype=float)).all() for part in learned):
            return "a learned coefficient is not finite"
        if self.kind == "logistic" and len(self.column_means) != learned[0].size:
            return "the column means do not match the coefficients"
        if self.kind == "gbm":
            self.compiled_form()  # a column step the compiled form cannot do is refused here
        return ""

    def _reference_problem(self) -> str:
        for name in [*self.numeric, "__score__"]:
            part = self.reference.get(name)
            if not (
                isinstance(part, dict) and _finite_lists(part.get("edges"), part.get("shares"))
            ):
                return f"the drift reference of {name!r} lacks its edges and shares"
        for name in self.categorical:
            part = self.reference.get(name)
            levels = part.get("levels") if isinstance(part, dict) else None
            if not (isinstance(levels, dict) and _finite_lists(list(levels.values()))):
                return f"the drift reference of {name!r} lacks its level shares"
        return ""

    def _probe_problem(self) -> str:
        probe = pd.DataFrame({name: [np.nan] for name in self.features})
        try:
            probability = self._probe_pd(probe)
        except Exception as error:  # a pipeline of the wrong shape fails in many ways
            return f"it cannot score a row ({type(error).__name__}: {error})"
        if not np.isfinite(np.asarray(probability, dtype=float)).all():
            return "it gives a non-finite PD for a row of missing values"
        return ""

    def _probe_pd(self, probe: pd.DataFrame) -> np.ndarray:
        if self.kind == "gbm":  # numpy only
            return self.predict_pd(probe)
        from threadpoolctl import threadpool_limits

        # One thread: an OpenMP pool started here would deadlock the processes that a batch
        # forks after loading the model (GNU OpenMP does not survive a fork).
        with threadpool_limits(limits=1, user_api="openmp"):
            return self.predict_pd(probe)

    def _feature_map(self) -> np.ndarray:
        """A 0/1 matrix from transformed columns (one-hot levels, indicators) to features."""
        if self.kind == "gbm":
            return self.compiled_form().feature_map
        return self._derived("feature_map", self._mapped)

    def _mapped(self) -> np.ndarray:
        names = self.pipeline[0].get_feature_names_out()
        owners = [feature_of_column(name, self.numeric, self.categorical) for name in names]
        mapping = np.zeros((len(names), len(self.features)))
        mapping[np.arange(len(names)), [self.features.index(o) for o in owners]] = 1.0
        return mapping


def _learned_numbers(estimator: object) -> list[np.ndarray]:
    """The fitted numbers of the classifier: coefficients, or baseline and leaf values."""
    from sklearn.linear_model import LogisticRegression

    from . import _sklearn_trees

    if isinstance(estimator, LogisticRegression):
        return [np.ravel(estimator.coef_), np.ravel(estimator.intercept_)]
    trees = [predictor.nodes["value"] for predictor in _sklearn_trees.trees(estimator)]
    return [np.array([_sklearn_trees.baseline(estimator)]), *trees]


def _finite_lists(*parts: object) -> bool:
    """Every part is a list of finite numbers."""
    return all(
        isinstance(part, list)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in part)
        and bool(np.isfinite(np.asarray(part, dtype=float)).all())
        for part in parts
    )


def _sigmoid(logit: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logit))


def feature_of_column(name: str, numeric: list[str], categorical: list[str]) -> str:
    group, _, rest = name.partition("__")
    if group == "num":
        return rest.removeprefix("missingindicator_")
    return max((c for c in categorical if rest.startswith(f"{c}_")), key=len)


def prepare(frame: pd.DataFrame, numeric: list[str], categorical: list[str]) -> pd.DataFrame:
    """The model's input columns: floats (NaN for missing or infinite) and object categories
    (NaN for missing)."""
    missing = [name for name in numeric + categorical if name not in frame.columns]
    if missing:
        raise ModelError(
            "the data lacks columns the model needs",
            expected=", ".join(numeric + categorical),
            got=", ".join(missing),
            hint="add the columns (blank where unknown)",
        )
    out = {name: _finite(frame[name]) for name in numeric}
    out |= {name: _text(frame[name]) for name in categorical}
    return pd.DataFrame(out, index=frame.index)


def _text(column: pd.Series) -> np.ndarray:
    """A category column as text (objects, NaN for missing): each value as ``astype(str)``
    writes it. Values that are text already are kept as they are (the same, without pandas'
    conversion: 1.5 ms a column even for one row)."""
    values = column.to_numpy(dtype=object)
    missing = pd.isna(values)
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        kept = column.astype(object).where(~missing, np.nan)
        values = kept.astype(str).to_numpy(dtype=object)
    return np.where(missing, np.nan, values)


def _finite(column: pd.Series) -> np.ndarray:
    """A numeric column as floats; missing, text and infinite values become NaN (missing), so
    the model treats them as unknown and the prediction lists them as missing features. A
    column of numpy integers or floats is converted as it is (the same numbers, faster)."""
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "iuf":
        values = column.to_numpy(dtype=np.float64)
    else:
        numbers = pd.to_numeric(column.astype(object), errors="coerce")
        values = pd.Series(numbers).astype("Float64").astype(float).to_numpy()
    return np.where(np.isfinite(values), values, np.nan)


def _linear_contributions(
    model: object, transformed: np.ndarray, means: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exact: coef * (x - training mean) per column; the base is the logit at the means
    (``model``: the fitted ``LogisticRegression``)."""
    coef = model.coef_[0]
    columns = (np.asarray(transformed, dtype=float) - means) * coef
    base = np.full(len(transformed), model.intercept_[0] + float(means @ coef))
    return columns, base
