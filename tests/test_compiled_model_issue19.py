"""Issue 19, the gbm's compiled form (:mod:`assessment.model.compiled`): scoring without
scikit-learn gives the pipeline's numbers to the last bit; the packaged form is the one its
artefact compiles to; a form that is missing, stale or damaged is passed over for the artefact
(the same numbers, only slower); loading the packaged model imports neither scikit-learn nor
skops."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from trained import trained

from assessment.errors import ModelError
from assessment.model import compiled
from assessment.model.estimator import RiskModel, prepare
from assessment.model.fitting import Spec, build_pipeline
from assessment.model.persist import (
    compiled_path,
    default_model_path,
    file_hash,
    load_model,
    save_model,
    with_pipeline,
)
from assessment.model.predict import predict


@pytest.fixture(scope="module")
def fitted() -> RiskModel:
    """The packaged gbm with its scikit-learn pipeline."""
    return with_pipeline(load_model())


def random_rows(model: RiskModel, count: int, seed: int) -> pd.DataFrame:
    """Rows of the model's features: numbers around the drift reference's edges (some blank,
    infinite or far out), categories of known levels, unknown ones and blanks."""
    rng = np.random.default_rng(seed)
    values = {}
    for name in model.numeric:
        edges = np.asarray(model.reference[name]["edges"], dtype=float)
        column = rng.choice(edges, count) * rng.uniform(0.5, 1.5, count)
        column[rng.random(count) < 0.15] = np.nan
        column[rng.random(count) < 0.01] = np.inf
        values[name] = column
    for name in model.categorical:
        levels = [*model.reference[name]["levels"], "never_seen", None]
        values[name] = pd.Series(rng.choice(np.array(levels, dtype=object), count), dtype=object)
    return pd.DataFrame(values)


@pytest.mark.parametrize("count", [1, 7, 5000])
def test_the_compiled_form_gives_the_pipeline_s_columns_and_raw_scores_to_the_bit(fitted, count):
    rows = prepare(random_rows(fitted, count, seed=count), fitted.numeric, fitted.categorical)
    form = fitted.compiled_form()
    by_pipeline = np.ascontiguousarray(fitted.pipeline[:-1].transform(rows), dtype=np.float64)
    assert np.array_equal(form.transform(rows), by_pipeline, equal_nan=True)
    raw = form.raw_scores(by_pipeline)
    assert np.array_equal(raw, fitted.pipeline.decision_function(rows))  # bitwise


def test_the_packaged_compiled_form_is_what_its_artefact_compiles_to(fitted):
    path = compiled_path(default_model_path())
    with np.load(path, allow_pickle=False) as stored:
        found = {name: stored[name] for name in stored.files}
    assert str(found.pop("artefact_sha256")) == file_hash(default_model_path())
    assert json.loads(str(found.pop("parts")))["numeric"] == fitted.numeric
    expected = compiled.to_arrays(compiled.compile_pipeline(*_parts(fitted)))
    assert found.keys() == expected.keys()
    for name, array in expected.items():
        assert np.array_equal(found[name], array), name


def _parts(model: RiskModel) -> tuple:
    return model.pipeline, model.numeric, model.categorical


def test_the_packaged_model_loads_without_scikit_learn_or_skops():
    code = (
        "import sys\n"
        "from assessment.model.persist import load_model\n"
        "model = load_model()\n"
        "print(model.pipeline is None, sorted(m for m in ('sklearn', 'skops', 'scipy') "
        "if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "[]"]


def test_a_model_loaded_compiled_predicts_what_the_fitted_one_predicts(fitted):
    rows = random_rows(fitted, 3000, seed=3)
    absent = pd.DataFrame({"ltv": np.arange(len(rows)) % 3 == 0}, index=rows.index)
    compiled_model = load_model()
    assert compiled_model.pipeline is None
    pd.testing.assert_frame_equal(
        predict(compiled_model, rows, absent=absent), predict(fitted, rows, absent=absent)
    )
    assert np.array_equal(compiled_model.predict_pd(rows), fitted.predict_pd(rows))


@pytest.fixture
def unloaded(monkeypatch):
    """No model kept from earlier loads: each load reads its files."""
    import assessment.model.persist as persist

    monkeypatch.setattr(persist, "_LOADED", {})


def _copied_model(tmp_path) -> tuple:
    target = tmp_path / "m.skops"
    shutil.copyfile(default_model_path(), target)
    shutil.copyfile(compiled_path(default_model_path()), compiled_path(target))
    return target, compiled_path(target)


def _rewritten(path, change) -> None:
    """The ``.npz`` at ``path`` with ``change(arrays)`` applied, written back."""
    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    change(arrays)
    np.savez(path, **arrays)


def _changes():
    def stale(arrays):
        arrays["artefact_sha256"] = np.array("0" * 64)

    def short_leaves(arrays):
        arrays["walk_leaf_values"] = arrays["walk_leaf_values"][:, :3]

    def split_out_of_range(arrays):
        arrays["walk_split_column"] = arrays["walk_split_column"] + 10_000

    def not_finite(arrays):
        arrays["walk_leaf_values"] = np.full_like(arrays["walk_leaf_values"], np.nan)

    def other_features(arrays):
        parts = json.loads(str(arrays["parts"]))
        parts["numeric"] = parts["numeric"][::-1]
        arrays["parts"] = np.array(json.dumps(parts))

    def bad_card(arrays):
        parts = json.loads(str(arrays["parts"]))
        parts["card"] = "{not json"
        arrays["parts"] = np.array(json.dumps(parts))

    def no_layout(arrays):
        del arrays["layout"]

    return [
        stale,
        short_leaves,
        split_out_of_range,
        not_finite,
        other_features,
        bad_card,
        no_layout,
    ]


@pytest.mark.parametrize("change", _changes(), ids=lambda change: change.__name__)
def test_a_compiled_form_that_does_not_fit_is_passed_over_for_the_artefact(
    tmp_path, fitted, change, unloaded
):
    path, form = _copied_model(tmp_path)
    _rewritten(form, change)
    model = load_model(path)
    assert model.pipeline is not None  # read from the artefact
    rows = random_rows(fitted, 200, seed=5)
    assert np.array_equal(model.predict_pd(rows), fitted.predict_pd(rows))


@pytest.mark.parametrize(
    "content",
    [b"", b"PK\x03\x04 truncated", b"\x00" * 100, "pickle"],
    ids=["empty", "truncated", "zeros", "pickled-objects"],
)
def test_an_unreadable_compiled_form_is_passed_over(tmp_path, fitted, content, unloaded):
    path, form = _copied_model(tmp_path)
    if content == "pickle":  # an object array: numpy refuses to load it without pickle
        np.savez(form, artefact_sha256=np.array([file_hash(path), object()], dtype=object))
    else:
        form.write_bytes(content)
    model = load_model(path)
    assert model.pipeline is not None
    assert model.card["sha256"] == fitted.card["sha256"]


def test_a_compiled_form_unpacking_past_the_limit_is_not_unpacked(tmp_path, monkeypatch):
    import assessment.model.persist as persist

    path, _ = _copied_model(tmp_path)
    monkeypatch.setattr(persist, "MAX_MODEL_UNPACKED_BYTES", 1000)
    assert persist._compiled_arrays(compiled_path(path)) is None


def test_saving_writes_the_compiled_form_the_same_bytes_each_time(tmp_path, unloaded):
    first, second = tmp_path / "a.skops", tmp_path / "b.skops"
    packaged = file_hash(default_model_path())
    fresh = with_pipeline(load_model())  # the shared one's pipeline has scored rows since
    assert save_model(fresh, first) == save_model(load_model(), second) == packaged
    assert compiled_path(first).read_bytes() == compiled_path(second).read_bytes()
    with zipfile.ZipFile(compiled_path(first)) as archive:
        assert {entry.date_time for entry in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_a_logistic_model_saved_over_a_gbm_leaves_no_compiled_form(tmp_path, unloaded):
    path = tmp_path / "m.skops"
    shutil.copyfile(compiled_path(default_model_path()), compiled_path(path))
    save_model(trained("logistic"), path)  # shared, trained once per process
    assert path.is_file() and not compiled_path(path).exists()
    assert load_model(path).kind == "logistic"


def test_a_column_step_of_another_layout_is_refused_naming_retraining():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "c": rng.choice(["x", "y"], 300)})
    pipeline = build_pipeline(Spec("gbm", ["a"], ["c"], {}))
    pipeline[0].transformers[1][1].steps[1][1].set_params(drop="first")
    steps = [("prepare", pipeline[0]), ("model", HistGradientBoostingClassifier(max_iter=3))]
    fitted_pipeline = Pipeline(steps).fit(frame, (frame["a"] > 0).astype(int))
    with pytest.raises(ModelError) as caught:
        compiled.compile_pipeline(fitted_pipeline, ["a"], ["c"])
    assert "one-hot" in str(caught.value) and "retrain" in str(caught.value)
