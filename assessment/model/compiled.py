"""A gbm compiled to arrays: what scoring needs of its fitted pipeline, without scikit-learn.

The gbm's column step (:mod:`.fitting`) passes the numbers through and, per category, fills a
missing value with ``missing`` and one-hot encodes the levels seen in training (an unseen
level: all zeros). :meth:`Compiled.transform` does the same with numpy and gives the same
float64 columns; the trees are laid out for the vectorised walk (:mod:`.forest`), whose raw
score is summed as ``decision_function`` sums it. So a gbm scores to the same bits whether its
pipeline is at hand or only these arrays (``tests/test_compiled_model_issue19.py``).

:func:`compile_pipeline` reads a fitted pipeline (it refuses a column step of another
layout); :func:`to_arrays` and :func:`from_arrays` turn the form into plain numpy arrays and
back (no pickle), which :mod:`.persist` keeps beside the artefact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from ..errors import ModelError
from . import forest

MISSING = "missing"  # the level a missing category is filled with (in training too)


@dataclass(frozen=True)
class Compiled:
    """A gbm's column step and trees as arrays."""

    numeric: tuple[str, ...]  # fed to the trees as they are, in this order
    levels: tuple[tuple[str, tuple[str, ...]], ...]  # per category: its one-hot levels
    feature_map: np.ndarray  # 0/1, transformed columns x features
    walk: forest.Forest

    def transform(self, prepared: pd.DataFrame) -> np.ndarray:
        """The trees' inputs (float64, C order): the numbers, then each category's one-hot
        levels, as the pipeline's column step gives them."""
        out = np.zeros((len(prepared), self.walk.width))
        out[:, : len(self.numeric)] = prepared[list(self.numeric)].to_numpy(dtype=np.float64)
        start = len(self.numeric)
        for name, levels in self.levels:
            codes = _codes(prepared[name].to_numpy(dtype=object), levels)
            known = np.flatnonzero(codes >= 0)
            out[known, start + codes[known]] = 1.0
            start += len(levels)
        return out

    def raw_scores(self, transformed: np.ndarray) -> np.ndarray:
        """The raw score (log-odds before calibration) of each row of ``transformed``."""
        return forest.raw_scores(self.walk, transformed)


def _codes(values: np.ndarray, levels: tuple[str, ...]) -> np.ndarray:
    """The position of each value among ``levels`` (-1: not one of them); missing values are
    the level ``missing``."""
    position = {level: index for index, level in enumerate(levels)}
    filled = np.where(pd.isna(values), MISSING, values)
    return np.fromiter((position.get(v, -1) for v in filled), dtype=np.intp, count=len(filled))


def compile_pipeline(pipeline: object, numeric: list[str], categorical: list[str]) -> Compiled:
    """The compiled form of a fitted gbm pipeline (:mod:`.fitting`'s layout)."""
    from . import _sklearn_trees

    columns, gbm = pipeline[0], pipeline[-1]
    levels = tuple(zip(categorical, _one_hot_levels(columns, numeric, categorical), strict=True))
    names = [f"num__{name}" for name in numeric]
    names += [f"cat__{name}_{level}" for name, found in levels for level in found]
    if list(columns.get_feature_names_out()) != names:
        raise _not_compiled("its columns are not the numbers then each category's levels")
    mapping = np.zeros((len(names), len(numeric) + len(categorical)))
    owners = [*range(len(numeric))]
    owners += [len(numeric) + i for i, (_, found) in enumerate(levels) for _ in found]
    mapping[np.arange(len(names)), owners] = 1.0
    nodes = _sklearn_trees.node_arrays(gbm)
    walk = forest.forest(nodes, _sklearn_trees.baseline(gbm), len(names), mapping)
    return Compiled(tuple(numeric), levels, mapping, walk)


def _one_hot_levels(columns: object, numeric: list[str], categorical: list[str]) -> list:
    """Each category's levels, after checking the column step is what :meth:`transform`
    does: numbers passed through, categories filled with ``missing`` and one-hot encoded."""
    steps = dict((name, (step, used)) for name, step, used in columns.transformers_)
    number_step, category_step = steps.get("num", (None, [])), steps.get("cat", (None, []))
    if list(number_step[1]) != numeric or list(category_step[1]) != categorical:
        raise _not_compiled("its column step takes other columns than the model's features")
    if numeric and type(number_step[0]).__name__ != "FunctionTransformer":
        raise _not_compiled("its numbers are not passed through as they are")
    if not categorical:
        return []
    fill, onehot = category_step[0]["fill"], category_step[0]["onehot"]
    settings = onehot.get_params()
    if (fill.strategy, fill.fill_value) != ("constant", MISSING) or (
        settings["handle_unknown"],
        settings["drop"],
        settings["min_frequency"],
        settings["max_categories"],
    ) != ("ignore", None, None, None):
        raise _not_compiled("its categories are not one-hot encoded as the engine trains them")
    return [tuple(str(level) for level in found) for found in onehot.categories_]


def _not_compiled(why: str) -> ModelError:
    return ModelError(
        "the gbm cannot be scored",
        expected="the column step `assess train` builds",
        got=why,
        hint="retrain the model with `assess train`",
    )


# --- as plain arrays ------------------------------------------------------------------------

_LAYOUT = "layout"  # the JSON text of the names and levels, stored as a 0-d unicode array


def to_arrays(form: Compiled) -> dict[str, np.ndarray]:
    """The form as named numpy arrays (numbers and one unicode array: no objects)."""
    layout = {"numeric": list(form.numeric), "levels": [[n, list(v)] for n, v in form.levels]}
    arrays = {_LAYOUT: np.array(json.dumps(layout)), "feature_map": form.feature_map}
    for part in fields(forest.Forest):
        if part.name != "by_column":  # worked out again from split_column
            arrays[f"walk_{part.name}"] = np.asarray(getattr(form.walk, part.name))
    return arrays


def from_arrays(arrays: dict[str, np.ndarray]) -> Compiled:
    """The form :func:`to_arrays` gave (a :class:`ModelError` for arrays of another shape)."""
    try:
        layout = json.loads(str(arrays[_LAYOUT]))
        walk = forest.from_parts(
            {
                part.name: arrays[f"walk_{part.name}"]
                for part in fields(forest.Forest)
                if part.name != "by_column"
            }
        )
        form = Compiled(
            tuple(layout["numeric"]),
            tuple((name, tuple(levels)) for name, levels in layout["levels"]),
            np.asarray(arrays["feature_map"], dtype=np.float64),
            walk,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ModelError("the compiled model is not readable", got=f"{error!r}") from None
    problem = _shape_problem(form)
    if problem:
        raise ModelError("the compiled model is not consistent", got=problem)
    return form


def _shape_problem(form: Compiled) -> str:
    width = len(form.numeric) + sum(len(levels) for _, levels in form.levels)
    features = len(form.numeric) + len(form.levels)
    if form.feature_map.shape != (width, features) or form.walk.width != width:
        return f"{width} columns of {features} features, a map of {form.feature_map.shape}"
    return forest.layout_problem(form.walk)
