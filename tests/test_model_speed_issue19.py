"""Issue 19, the risk model: the gbm's trees walked for all rows at once
(:mod:`assessment.model.forest`) give the numbers of the walk one tree at a time through
scikit-learn's own predictor (the code before issue 19, kept below as the reference), to the
last bit; ``predict`` gives what the engine of commit ``4e70352`` (issue 19's baseline) gives,
on a sample candidate list and on random rows with blanks, unknown categories and absent
features; a gbm the walk cannot read is refused; the faster reading of numbers, the row names
and the training data's hash are the same as before."""

from __future__ import annotations

import hashlib
import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from golden_tree import load_tree, save_tree
from helpers import AS_OF, ROOT
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline

from assessment import add_indicators, read_applications
from assessment.criteria.absence import structural_absence
from assessment.errors import ModelError
from assessment.model import _sklearn_trees, forest, training
from assessment.model.estimator import RiskModel, prepare
from assessment.model.fitting import Spec, build_pipeline
from assessment.model.persist import load_model, save_model, with_pipeline
from assessment.model.predict import _names, predict
from assessment.model.training import data_hash

HISTORY = ROOT / "sample_projects" / "history" / "loan_history.parquet"
CANDIDATES = ROOT / "sample_projects" / "candidates" / "candidate_list_2025.xlsx"
ABSENT = ("ltv", "leverage", "loan_amount_cny", "loan_tenor_years", "operating_years",
          "rack_utilisation", "wale_years")  # fmt: skip


# --- the reference: the walk one tree at a time (4e70352's estimator) ----------------


def walked_one_tree_at_a_time(model: RiskModel, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature path attribution (raw log-odds) and base, as ``_tree_contributions`` of
    4e70352 computed them: one predictor call per tree, sums tree after tree."""
    gbm, mapping = model.pipeline[-1], model._feature_map()
    categories = _sklearn_trees.known_categories(gbm)
    by_feature = np.zeros((mapping.shape[1], len(x)))
    base = np.full(len(x), _sklearn_trees.baseline(gbm))
    for predictor in _sklearn_trees.trees(gbm):
        paths, root = forest._tree_paths(predictor.nodes, x.shape[1])
        paths = paths @ mapping
        finder = _sklearn_trees.leaf_finder(predictor)
        leaves = _sklearn_trees.leaves(finder, x, categories, 1)
        for feature in np.flatnonzero(np.abs(paths).sum(axis=0)):
            by_feature[feature] += paths[:, feature][leaves]
        base += root
    return by_feature.T, base


def effects_one_tree_at_a_time(model: RiskModel, x: np.ndarray, feature: str, values) -> np.ndarray:
    """``feature_effects`` of 4e70352 (raw log-odds): the rows tiled once per value, the
    column set to it, the trees that move the feature walked one at a time."""
    index = model.features.index(feature)
    column = int(np.flatnonzero(model._feature_map()[:, index])[0])
    trial = np.tile(x, (len(values), 1))
    trial[:, column] = np.repeat(np.asarray(values, dtype=np.float64), len(x))
    walked, _ = walked_one_tree_at_a_time(model, trial)
    return walked[:, index].reshape(len(values), len(x))


# --- rows to walk ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def packaged() -> RiskModel:
    """The packaged gbm with its scikit-learn pipeline (the reference walk calls its trees)."""
    return with_pipeline(load_model())


def random_rows(model: RiskModel, count: int, seed: int) -> pd.DataFrame:
    """Rows of the model's features resampled from the loan history, numbers jittered, about
    one cell in six blank, some categories unknown to the model, one row all blank."""
    rng = np.random.default_rng(seed)
    history = pd.read_parquet(HISTORY, columns=model.features)
    frame = history.iloc[rng.integers(len(history), size=count)].reset_index(drop=True)
    for name in model.numeric:
        frame[name] = frame[name].astype(float) * rng.uniform(0.5, 1.5, count)
    frame = frame.astype(object).mask(rng.random(frame.shape) < 0.15)
    for name in model.categorical:
        frame.loc[rng.random(count) < 0.05, name] = "unheard_of"
    frame.iloc[0] = np.nan
    frame.index = pd.Index([f"R{i:05d}" for i in range(count)], name="project_id")
    return frame


def random_absence(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.random((len(frame), len(ABSENT))) < 0.3, frame.index, list(ABSENT))


def transformed(model: RiskModel, frame: pd.DataFrame) -> np.ndarray:
    return model.transform(prepare(frame, model.numeric, model.categorical))


# --- the walk: the same numbers -------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 7, 5000])
def test_the_walk_gives_the_attribution_of_the_walk_one_tree_at_a_time(packaged, count):
    x = transformed(packaged, random_rows(packaged, count, seed=count))
    found, base = forest.contributions(packaged._forest(), x)
    expected, expected_base = walked_one_tree_at_a_time(packaged, x)
    assert np.array_equal(found, expected) and np.array_equal(base, expected_base)
    assert np.isnan(x[0]).any()  # blanks were walked (the first row is all blank)


def test_the_walk_reads_every_kind_of_split_of_a_small_gbm():
    """Numbers with blanks (missing values learned to go either way), a one-hot category
    with a level the model never saw, trees 3 levels deep, some shallower."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=800),
            "b": np.where(rng.random(800) < 0.2, np.nan, rng.normal(size=800)),
            "c": rng.choice(["x", "y", "z"], size=800).astype(object),
        }
    )
    y = (frame["a"] - np.nan_to_num(frame["b"], nan=2.0) + (frame["c"] == "x") > 0).astype(int)
    spec = Spec("gbm", ["a", "b"], ["c"], {})
    columns = build_pipeline(spec)[0]  # the engine's column step (the compiled form reads it)
    gbm = HistGradientBoostingClassifier(max_iter=20, max_depth=3, random_state=0)
    model = RiskModel(
        "gbm",
        "y",
        ["a", "b"],
        ["c"],
        Pipeline([("prepare", columns), ("model", gbm)]).fit(frame, y),
        1.0,
        0.0,
    )
    nodes = _sklearn_trees.node_arrays(gbm)
    assert {0, 1} <= {int(v) for tree in nodes for v in tree["missing_go_to_left"]}
    trial = frame.assign(c=np.where(rng.random(800) < 0.1, "w", frame["c"]))
    x = transformed(model, trial)
    found, base = forest.contributions(model._forest(), x)
    expected, expected_base = walked_one_tree_at_a_time(model, x)
    assert np.array_equal(found, expected) and np.array_equal(base, expected_base)
    public = gbm.decision_function(x)
    assert np.allclose(found.sum(axis=1) + base, public, rtol=0, atol=1e-12)


def test_a_feature_s_effects_are_those_of_the_tiled_walk(packaged):
    """Every number the model reads, held at its training deciles, at each threshold its
    trees split it at (a value on a threshold goes left), blank and infinite."""
    x = transformed(packaged, random_rows(packaged, 200, seed=3))
    walk = packaged._forest()
    for feature in packaged.numeric:
        index = packaged.features.index(feature)
        column = packaged.fed_as_is(feature)
        on_column = walk.split_column % walk.width == column
        values = [*packaged.reference[feature]["edges"], *walk.split_threshold[on_column][:8]]
        values += [np.nan, np.inf, -np.inf]
        found = forest.feature_effects(walk, x, index, column, np.array(values))
        assert np.array_equal(found, effects_one_tree_at_a_time(packaged, x, feature, values))


# --- predict: the outputs of the engine before issue 19 -------------------------------------

# What 4e70352's engine predicted for the cases below: ``tests/golden/issue19/predict/``
# (``golden_tree``), written once by that revision's engine in a process of its own
# (``bench/baseline.py``), with the candidate list's frame it was given (made by today's engine
# then) and a digest of the random rows (made again here: a seeded generator)::
#
#     python bench/make_issue19_golden.py predict
GOLDEN = ROOT / "tests" / "golden" / "issue19" / "predict"

OLD_PREDICT = """
import pickle, sys
from assessment.model.persist import load_model
from assessment.model.predict import predict
cases = pickle.load(open(sys.argv[1], "rb"))
model = load_model()
found = [predict(model, frame, absent=absent) for frame, absent in cases]
pickle.dump(found, open(sys.argv[2], "wb"))
"""


def candidate_frame() -> pd.DataFrame:
    applications = read_applications([CANDIDATES], as_of=AS_OF)
    return add_indicators(applications.projects, applications.yearly, AS_OF)


def predict_cases(model: RiskModel, listed: pd.DataFrame) -> list[tuple]:
    """(frame, absent) pairs: the candidate list, random rows with absent features, one row
    and none."""
    rows = random_rows(model, 3000, seed=19)
    return [
        (listed, structural_absence(listed)),
        (rows, random_absence(rows, seed=19)),
        (rows.iloc[:1], None),
        (rows.iloc[:0], None),
    ]


def rows_digest(cases: list[tuple]) -> str:
    """SHA-256 of the random rows and their absent features, as CSV (floats to the bit)."""
    frame, absent = cases[1]
    return hashlib.sha256((frame.to_csv() + absent.to_csv()).encode("utf-8")).hexdigest()


@pytest.mark.slow
def test_predict_gives_the_outputs_of_the_engine_before_issue_19(packaged):
    golden = load_tree(GOLDEN)
    cases = predict_cases(packaged, golden["listed"])
    assert rows_digest(cases) == golden["rows"], (
        "the random rows are not those tests/golden/issue19/predict was written for (the loan "
        "history or numpy's generator changed): python bench/make_issue19_golden.py predict"
    )
    before = golden["predictions"]
    for (frame, absent), old in zip(cases, before, strict=True):
        new = predict(packaged, frame, absent=absent)
        assert list(new.columns) == list(old.columns) and new.index.equals(old.index)
        for name in new.columns:
            _assert_same_column(new[name], old[name])
    assert before[1]["absent_features"].map(len).sum() > 1000  # absent features were filled


def write_golden(revision: str, folder: Path) -> None:
    """Predict the cases with ``revision``'s engine and keep what it gave."""
    sys.path.insert(0, str(ROOT / "bench"))
    from baseline import run_python

    listed = candidate_frame()
    cases = predict_cases(with_pipeline(load_model()), listed)
    (folder / "cases.pkl").write_bytes(pickle.dumps(cases))
    run_python(revision, OLD_PREDICT, str(folder / "cases.pkl"), str(folder / "old.pkl"))
    found = {"listed": listed, "rows": rows_digest(cases)}
    found["predictions"] = pickle.loads((folder / "old.pkl").read_bytes())
    save_tree(found, GOLDEN)


def _assert_same_column(new: pd.Series, old: pd.Series) -> None:
    assert new.dtype == old.dtype, new.name
    if new.dtype.kind == "f":
        assert np.allclose(new, old, rtol=0, atol=1e-9, equal_nan=True), new.name
        return
    for a, b in zip(new.tolist(), old.tolist(), strict=True):
        assert type(a) is type(b) and (a == b or (a != a and b != b)), (new.name, a, b)


# --- what the walk does not read ------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ({"categorical_features": [0], "max_depth": 3}, "native categorical splits"),
        ({"max_depth": 8, "max_leaf_nodes": 60, "min_samples_leaf": 2}, "levels deep, more than 6"),
    ],
)
def test_a_gbm_the_walk_cannot_read_is_refused(options, said):
    rng = np.random.default_rng(2)
    x = np.column_stack([rng.integers(0, 5, 3000), rng.normal(size=(3000, 3))])
    y = (x[:, 0] % 2 + x[:, 1] * x[:, 2] + rng.normal(size=3000) > 0.5).astype(int)
    gbm = HistGradientBoostingClassifier(max_iter=5, random_state=0, **options).fit(x, y)
    with pytest.raises(ModelError) as caught:
        _sklearn_trees.node_arrays(gbm)
    assert said in str(caught.value) and "retrain" in str(caught.value)


# --- the parts around the walk: the same as before ------------------------------------------


def test_each_row_has_a_list_of_names_of_its_own():
    mask = pd.DataFrame({"a": [True, False, True, True], "b": [False, False, True, False]})
    names = _names(mask)
    assert names == [["a"], [], ["a", "b"], ["a"]]
    names[0].append("c")
    assert names[3] == ["a"] and _names(mask.iloc[:0]) == []


def test_categories_are_read_as_before():
    """Text is kept as it is; anything else is written as ``astype(str)`` writes it."""
    columns = {
        "text": pd.Series(["a", None, "b", np.nan, pd.NA], dtype=object),
        "string": pd.Series(["a", None, "b", "c", "d"], dtype="string"),
        "mixed": pd.Series([1, 2.5, True, b"by", np.float64(0.1)], dtype=object),
        "numbers": pd.Series([1.5, np.nan, 3.0, -0.0, 1e20]),
        "category": pd.Series(pd.Categorical(["a", None, "b", "a", "c"])),
    }
    found = prepare(pd.DataFrame(columns), [], list(columns))
    for name, column in columns.items():
        values = column.astype(object)
        before = values.where(values.notna(), np.nan).astype(str).where(values.notna(), np.nan)
        for new, old in zip(found[name].tolist(), before.tolist(), strict=True):
            assert type(new) is type(old) and (new == old or (new != new and old != old))


def test_numbers_are_read_as_before():
    """A column of numpy numbers is converted directly; the result is the slow path's."""
    values = [1.5, np.nan, np.inf, -np.inf, -0.0, 2**60 + 1, 1e308]
    columns = {
        "floats": pd.Series(values, dtype="float64"),
        "float32": pd.Series([1.1, np.nan, np.inf, 3.0, 0.0, 5.0, 7.0], dtype="float32"),
        "integers": pd.Series([1, -2, 2**62 + 3, 0, 5, 6, 7], dtype="int64"),
        "unsigned": pd.Series([1, 2, 2**64 - 1, 0, 5, 6, 7], dtype="uint64"),
    }
    frame = pd.DataFrame(columns)
    found = prepare(frame, list(columns), [])
    slow = prepare(frame.astype(object), list(columns), [])
    assert np.array_equal(found.to_numpy(), slow.to_numpy(), equal_nan=True)
    assert np.isnan(found["floats"].iloc[2]) and found["floats"].iloc[5] == float(2**60 + 1)


def test_the_training_data_s_hash_is_the_canonical_csv_s():
    """The hash of ``assess train``'s card: SHA-256 of the data as CSV, floats as %.17g."""
    import hashlib

    history = pd.read_parquet(HISTORY).head(500)
    history.loc[3, "ltv"] = np.nan
    history["float32"] = history["dscr_min"].astype("float32")
    history["odd"] = ["a,b", 'say "x"', None, 1.5, -0.0] * 100
    text = history.to_csv(index=False, lineterminator="\n", float_format="%.17g")
    assert data_hash(history) == hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.mark.slow
def test_fits_side_by_side_give_the_model_of_fits_one_after_another(tmp_path, monkeypatch):
    """The folds and the final fit on threads side by side, or one after another: the same
    out-of-fold scores and the same artefact, to the byte."""
    rows = pd.read_parquet(HISTORY).head(800)
    digests = []
    for workers in (1, 3):
        monkeypatch.setattr(training, "training_workers", lambda workers=workers: workers)
        model = training.train_model(rows, "defaulted", kind="gbm")
        digests.append(save_model(model, tmp_path / f"workers{workers}.skops"))
    assert digests[0] == digests[1]
