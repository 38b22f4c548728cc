"""The one place that reads scikit-learn's private tree internals.

Why: the gbm's reason codes (path attribution) and its fast feature effects need each fitted
tree's nodes, which :mod:`.forest` walks for all rows at once. ``HistGradientBoostingClassifier``
has no public API for them, so this module reads its private parts:

* ``_predictors``: the fitted trees, one list of :class:`TreePredictor` per iteration
  (``nodes`` is a structured array: ``value``, ``count``, ``feature_idx``,
  ``num_threshold``, ``missing_go_to_left``, ``left``, ``right``, ``is_leaf``, ``depth``,
  ``is_categorical``; children come after their parent);
* ``_baseline_prediction``: the raw score before the first tree, shape (1, 1) for two classes;
* ``_bin_mapper.make_known_categories_bitsets()``: what ``TreePredictor.predict`` needs;
* ``TreePredictor(nodes, binned_left_cat_bitsets, raw_left_cat_bitsets)`` and its
  ``predict(X, known_cat_bitsets, f_idx_map, n_threads)`` (module
  ``sklearn.ensemble._hist_gradient_boosting.predictor``): scikit-learn's own walk of one
  tree (:func:`leaves`), the reference the tests hold the vectorised walk to.

The walk of :mod:`.forest` follows ``_predict_one_from_raw_data`` of scikit-learn's
``_predictor.pyx`` for numeric splits: ``x <= num_threshold`` goes left, a missing value goes
left where ``missing_go_to_left``. It does not read native categorical splits (the engine
one-hot encodes categories, so its gbm has none) nor trees deeper than ``forest.MAX_DEPTH``
(the engine grows them 4 deep): :func:`check` refuses a model that has either.

Checked against scikit-learn 1.5 to 1.9 (the parts used date from 1.0-1.1 and are unchanged
in 1.9.1); ``pyproject.toml`` pins ``SUPPORTED``. :func:`check` fails with a
:class:`ModelError` naming the installed version when a fitted model lacks any of them, and
``tests/test_library_internals.py`` compares what they give with the public
``decision_function`` and ``staged_decision_function``.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

from ..errors import ModelError, unsupported_library
from .forest import MAX_DEPTH

SUPPORTED = ">=1.5,<1.10"  # the pin in pyproject.toml (a test keeps the two equal)
NODE_FIELDS = (
    "value",
    "count",
    "feature_idx",
    "num_threshold",
    "missing_go_to_left",
    "left",
    "right",
    "is_leaf",
    "depth",
    "is_categorical",
)


def check(model: HistGradientBoostingClassifier) -> None:
    """Refuse, with the installed scikit-learn version named, a fitted gbm whose private
    parts are not what this module reads; and a gbm whose trees the walk does not read."""
    problem = _problem(model)
    if problem:
        raise unsupported_library(
            ModelError,
            "scikit-learn",
            SUPPORTED,
            "fitted the gbm's trees in a layout the reason codes do not read",
            where="assessment/model/_sklearn_trees.py",
            got=problem,
            then=" and retrain the model with it",
        )
    problem = _layout_problem([predictor.nodes for (predictor,) in model._predictors])
    if problem:
        raise ModelError(
            "the gbm's trees cannot be walked for the reason codes",
            expected=f"numeric splits only, at most {MAX_DEPTH} levels deep",
            got=problem,
            hint="retrain the model with `assess train` (it one-hot encodes categories and "
            "grows trees 4 levels deep)",
        )


def _problem(model: HistGradientBoostingClassifier) -> str:
    """What is not as expected, or ""."""
    predictors = getattr(model, "_predictors", None)
    if not isinstance(predictors, list) or not all(
        isinstance(step, list) and len(step) == 1 and isinstance(step[0], TreePredictor)
        for step in predictors
    ):
        return "_predictors is not a list of one TreePredictor per iteration"
    missing = [
        name
        for (predictor,) in predictors[:1]
        for name in NODE_FIELDS
        if name not in (predictor.nodes.dtype.names or ())
    ]
    if missing:
        return "TreePredictor.nodes lacks the fields " + ", ".join(missing)
    return _model_problem(model)


def _layout_problem(nodes: list[np.ndarray]) -> str:
    """What the vectorised walk cannot read in the trees, or ""."""
    if any(tree["is_categorical"].any() for tree in nodes):
        return "a tree has native categorical splits (categorical_features)"
    deepest = max((int(tree["depth"].max()) for tree in nodes), default=0)
    if deepest > MAX_DEPTH:
        return f"a tree is {deepest} levels deep, more than {MAX_DEPTH}"
    return ""


def _model_problem(model: HistGradientBoostingClassifier) -> str:
    if np.size(getattr(model, "_baseline_prediction", None)) != 1:
        return "_baseline_prediction is not one number"
    if not callable(
        getattr(getattr(model, "_bin_mapper", None), "make_known_categories_bitsets", None)
    ):
        return "_bin_mapper.make_known_categories_bitsets is missing"
    return ""


def trees(model: HistGradientBoostingClassifier) -> list[TreePredictor]:
    """The fitted trees, in the order they were grown."""
    check(model)
    return [predictor for (predictor,) in model._predictors]


def node_arrays(model: HistGradientBoostingClassifier) -> list[np.ndarray]:
    """The node arrays of the fitted trees, in the order they were grown."""
    return [predictor.nodes for predictor in trees(model)]


def baseline(model: HistGradientBoostingClassifier) -> float:
    """The raw score (log-odds) before the first tree."""
    return float(np.ravel(model._baseline_prediction)[0])


def known_categories(model: HistGradientBoostingClassifier) -> tuple[np.ndarray, np.ndarray]:
    """The category bitsets :func:`leaves` passes to the trees."""
    return model._bin_mapper.make_known_categories_bitsets()


def leaf_finder(predictor: TreePredictor) -> TreePredictor:
    """A copy of the tree whose leaves predict their own node index."""
    numbered = predictor.nodes.copy()
    numbered["value"] = np.arange(len(numbered), dtype=float)
    return TreePredictor(
        numbered, predictor.binned_left_cat_bitsets, predictor.raw_left_cat_bitsets
    )


def leaves(
    finder: TreePredictor, x: np.ndarray, categories: tuple[np.ndarray, np.ndarray], threads: int
) -> np.ndarray:
    """The node index of the leaf each row of ``x`` (float64, C order) lands in."""
    known, f_idx_map = categories
    return finder.predict(x, known, f_idx_map, threads).astype(np.intp)
