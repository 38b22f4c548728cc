"""Model files that are not what they claim: each is built for real and refused at load time
with one ModelError line naming the file and the reason; the commands end in that line."""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from assessment.cli import main
from assessment.errors import ModelError
from assessment.model import persist as artefact
from assessment.model.estimator import prepare
from assessment.model.persist import default_model_path, load_model

GOOD = default_model_path().read_bytes()


@pytest.fixture(scope="module")
def payload():
    path = default_model_path()
    return sio.load(path, trusted=sorted(set(sio.get_untrusted_types(file=path))))


def _rezipped(edit) -> bytes:
    """The packaged artefact with each entry passed through ``edit(name, data)`` (None drops)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(GOOD)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = edit(item.filename, source.read(item))
            if data is not None:
                target.writestr(item.filename, data)
    return out.getvalue()


def _pickled_array(name: str, data: bytes) -> bytes:
    if not name.endswith(".npy"):
        return data
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}, "x"], dtype=object), allow_pickle=True)
    return buffer.getvalue()


def _variant(payload: dict, **changes) -> bytes:
    changed = {k: v for k, v in payload.items() if changes.get(k, "") is not None}
    changed |= {k: v for k, v in changes.items() if v is not None}
    return sio.dumps(changed)


def _nan_leaf(payload: dict) -> bytes:
    pipeline = payload["pipeline"]
    nodes = pipeline[-1]._predictors[3][0].nodes
    saved = nodes["value"][0]
    nodes["value"][0] = np.nan
    try:
        return sio.dumps(payload)
    finally:
        nodes["value"][0] = saved


_X, _Y = np.random.default_rng(0).random((20, 2)), np.arange(20) % 2
BUILDERS = {
    "empty": (lambda p: b"", "the model file is empty"),
    "text": (lambda p: b"dscr_min,leverage\n1.2,0.6\n", "not a zip archive"),
    "truncated": (lambda p: GOOD[: len(GOOD) // 2], "not a zip archive or a truncated one"),
    "other zip": (
        lambda p: _rezipped(lambda n, d: None if n == "schema.json" else d),
        "without schema.json",
    ),
    "damaged entry": (
        lambda p: GOOD.replace(GOOD[200:240], bytes(40), 1),
        "not a readable model artefact",
    ),
    "schema not JSON": (
        lambda p: _rezipped(lambda n, d: b"{{{" if n == "schema.json" else d),
        "not a readable model artefact",
    ),
    "pickle-bearing array": (
        lambda p: _rezipped(_pickled_array),
        "Object arrays cannot be loaded",
    ),
    "plain LogisticRegression": (
        lambda p: sio.dumps(LogisticRegression().fit(_X, _Y)),
        "not an assessment risk model",
    ),
    "StandardScaler": (
        lambda p: sio.dumps(StandardScaler().fit(_X)),
        "not an assessment risk model",
    ),
    "pipeline of the wrong kind": (
        lambda p: _variant(p, pipeline=StandardScaler().fit(_X)),
        "needs a Pipeline of ColumnTransformer and HistGradientBoostingClassifier",
    ),
    "estimator of the wrong kind": (
        lambda p: _variant(p, kind="logistic"),
        "this one is ColumnTransformer + HistGradientBoostingClassifier",
    ),
    "card not JSON": (lambda p: _variant(p, card="{not json"), "the model card is not valid"),
    "card missing": (lambda p: _variant(p, card=None), "lacks parts"),
    "card a list": (lambda p: _variant(p, card="[1, 2]"), "not an object"),
    "card metrics a number": (
        lambda p: _variant(p, card='{"metrics": 5}'),
        "metrics is int",
    ),
    "kind unknown": (lambda p: _variant(p, kind="forest"), "the model's kind is not valid"),
    "features not a list": (lambda p: _variant(p, numeric=5), "the model's numeric"),
    "slope NaN": (lambda p: _variant(p, slope=float("nan")), "finite calibration slope"),
    "intercept inf": (lambda p: _variant(p, intercept=float("inf")), "finite calibration"),
    "slope text": (lambda p: _variant(p, slope="abc"), "finite calibration slope"),
    "leaf value NaN": (_nan_leaf, "a learned coefficient is not finite"),
    "drift reference lacking a feature": (
        lambda p: _variant(p, reference={"__score__": p["reference"]["__score__"]}),
        "drift reference of 'racks'",
    ),
}


@pytest.mark.parametrize("name", BUILDERS)
def test_a_hostile_model_file_is_refused_in_one_line(name, payload, tmp_path):
    build, message = BUILDERS[name]
    path = tmp_path / "model.skops"
    path.write_bytes(build(payload))
    with pytest.raises(ModelError) as error:
        load_model(path)
    text = str(error.value)
    assert "\n" not in text and text.startswith(f"{path}: "), text
    assert message in text


def test_the_packaged_model_still_loads_and_scores(payload):
    model = load_model()
    assert model.problem() == ""
    assert model.slope == payload["slope"]


def test_a_huge_file_is_refused_unread(tmp_path):
    path = tmp_path / "huge.skops"
    with path.open("wb") as handle:  # sparse: no disk used, never read
        handle.truncate(artefact.MAX_MODEL_BYTES + 1)
    with pytest.raises(ModelError, match="too large.*MAX_MODEL_BYTES"):
        load_model(path)


def test_an_archive_past_the_unpacked_limit_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "model.skops"
    path.write_bytes(GOOD)
    monkeypatch.setattr(artefact, "MAX_MODEL_UNPACKED_BYTES", 1000)
    with pytest.raises(ModelError, match="bytes unpacked, over 1,000"):
        load_model(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_folder_a_fifo_and_a_missing_file_are_refused_without_a_hang(tmp_path):
    os.mkfifo(tmp_path / "pipe.skops")
    for name, message in (("pipe.skops", "not a file"), ("gone.skops", "no such model file")):
        with pytest.raises(ModelError, match=message):
            load_model(tmp_path / name)
    with pytest.raises(ModelError, match="not a file"):
        load_model(tmp_path)


@pytest.mark.parametrize(
    "command",
    [
        ["predict", "{model}", "{data}"],
        ["drift", "{model}", "{data}"],
        ["score", "--model", "{model}", "{data}"],
    ],
)
def test_commands_end_in_the_one_line(command, payload, tmp_path, capsys):
    model = tmp_path / "bad.skops"
    model.write_bytes(_variant(payload, slope=float("nan")))
    data = tmp_path / "x.csv"
    data.write_text("dscr_min,leverage\n1.2,0.6\n", encoding="utf-8")
    argv = [part.format(model=model, data=data) for part in command]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{model}: the model's slope is not valid" in err
    assert err.startswith(f"assess {command[0]}: error: ")


def test_an_infinite_input_is_a_missing_feature_not_a_silent_decline():
    model = load_model()
    rows = pd.DataFrame({name: [np.nan, np.nan] for name in model.features})
    rows["dscr_min"] = [np.inf, 1.4]
    rows["leverage"] = [-np.inf, 0.6]
    prepared = prepare(rows, model.numeric, model.categorical)
    assert prepared.loc[0, ["dscr_min", "leverage"]].isna().all()  # listed as missing features
    assert np.isfinite(model.predict_pd(rows)).all()


def test_an_unusable_model_is_not_saved(tmp_path):
    model = load_model()
    model.slope = float("nan")
    with pytest.raises(ModelError, match="non-finite PD"):
        artefact.save_model(model, tmp_path / "m.skops")
    assert not (tmp_path / "m.skops").exists()


# -- one artefact is loaded once per process; each caller gets its own model --------------


def test_each_load_is_the_callers_own_and_the_same_bytes_are_not_loaded_again(monkeypatch):
    first = load_model()
    first.slope = float("nan")
    first.card["outcomes"] = "edited"
    first.directions["dscr_min"] = 0
    reads = []
    monkeypatch.setattr(artefact.sio, "loads", lambda *a, **k: reads.append(a) or 1 / 0)
    second = load_model()  # the same bytes: not read by skops again
    assert not reads
    assert np.isfinite(second.slope) and second.card.get("outcomes") != "edited"
    assert second.directions["dscr_min"] != 0
    assert second.problem() == ""


def test_a_file_replaced_in_place_is_loaded_anew_and_a_damaged_one_refused(tmp_path):
    path = tmp_path / "m.skops"
    path.write_bytes(GOOD)
    good = load_model(path)
    path.write_bytes(_rezipped(lambda name, data: None if name == "schema.json" else data))
    with pytest.raises(ModelError, match="without schema.json"):
        load_model(path)
    path.write_bytes(GOOD[: len(GOOD) // 2])
    with pytest.raises(ModelError, match="truncated"):
        load_model(path)
    path.write_bytes(GOOD)
    assert load_model(path).card["sha256"] == good.card["sha256"]


def test_the_models_kept_in_memory_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(artefact, "_KEPT", 2)
    for number in range(artefact._KEPT + 2):
        path = tmp_path / f"m{number}.skops"
        path.write_bytes(_rezipped(lambda name, data, n=number: data) + b"\0" * number)
        load_model(path)
    assert len(artefact._LOADED) == artefact._KEPT
