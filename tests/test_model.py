"""The risk model: deterministic training, honest metrics, safe persistence, faithful reasons,
monotonic where the direction is known, drift, and the commands."""

from __future__ import annotations

import importlib.util
import json
import os
import zipfile

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits
from trained import history as history_rows
from trained import trained

from assessment.cli import main
from assessment.errors import ModelError
from assessment.model.card import wording
from assessment.model.drift import drift, psi
from assessment.model.estimator import prepare
from assessment.model.fitting import Spec, default_features, fit, out_of_fold_raw
from assessment.model.persist import load_model, save_model
from assessment.model.predict import grade_of, load_grades, predict
from assessment.model.predict import reasons as reasons_of
from assessment.model.training import train_model, training_threads

HISTORY = ROOT / "sample_projects" / "history" / "loan_history.parquet"


@pytest.fixture(scope="module")
def history():
    return history_rows(3000)


@pytest.fixture(scope="module", params=["logistic", "gbm"])
def model(request):
    """Shared (trained once per process): tests read it, never change it."""
    return trained(request.param)


def test_card_reports_honest_metrics(model, history):
    card = model.card
    assert card["class_balance"]["rows"] == 3000 and card["class_balance"]["test_rows"] == 900
    for part in ("holdout", "cross_validation"):
        metrics = card["metrics"][part]
        assert 0.7 < metrics["auc"] < 0.95 and metrics["gini"] == pytest.approx(
            2 * metrics["auc"] - 1, abs=2e-6
        )
        assert 0 < metrics["ks"] < 1 and 0 < metrics["brier"] < 0.2
    assert len(card["calibration"]["holdout_deciles"]) == 10
    assert "missing" in card["missing_values"] and card["training_data"]["sha256"]
    assert "loan_id" not in model.features and "defaulted" not in model.features


def test_training_twice_gives_identical_figures(history):
    first = trained("gbm")  # the shared model: train_model on the same 3000 rows
    second = train_model(history, "defaulted", kind="gbm")
    assert second is not first
    assert first.card["metrics"] == second.card["metrics"]
    assert np.array_equal(first.predict_pd(history), second.predict_pd(history))


def test_reasons_add_up_to_the_model_output(model, history):
    contributions, base = model.contributions(history)
    probability = model.predict_pd(history)
    logit = np.log(probability / (1 - probability))
    assert np.allclose(contributions.sum(axis=1).to_numpy() + base, logit, atol=1e-9)
    result = predict(model, history.head(200))  # the model as trained
    assert np.allclose(result["pd"], probability[:200])
    for _, row in result.iterrows():
        reasons = reasons_of(row)
        assert len(reasons) <= 4
        assert all(r["contribution"] > 0 for r in reasons)
        assert [r["contribution"] for r in reasons] == sorted(
            (r["contribution"] for r in reasons), reverse=True
        )


def test_gbm_is_monotonic_in_known_directions(history):
    model = trained("gbm")
    row = history.iloc[[0]]
    for feature, lowest, highest in (("dscr_min", 0.6, 3.0), ("leverage", 0.2, 0.95)):
        grid = pd.concat([row] * 30, ignore_index=True)
        grid[feature] = np.linspace(lowest, highest, 30)
        pds = model.predict_pd(grid)
        steps = np.diff(pds) * model.directions[feature]
        assert (steps >= -1e-12).all(), feature


def test_save_load_round_trip_and_card_files(model, history, tmp_path):
    path = tmp_path / "m.skops"
    digest = save_model(model, path)
    loaded = load_model(path)
    assert np.array_equal(loaded.predict_pd(history), model.predict_pd(history))
    assert loaded.card["sha256"] == digest
    assert save_model(loaded, tmp_path / "again.skops") == digest  # same model, same bytes
    card = json.loads(path.with_suffix(".card.json").read_text(encoding="utf-8"))
    assert card["artefact"]["sha256"] == digest
    assert "| auc |" in path.with_suffix(".card.md").read_text(encoding="utf-8")


def test_a_tampered_artefact_is_refused(model, tmp_path):
    path = tmp_path / "m.skops"
    save_model(model, path)
    evil = tmp_path / "evil.skops"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(evil, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "schema.json":
                data = data.replace(b'"sklearn.pipeline"', b'"os"', 1).replace(
                    b'"Pipeline"', b'"system"', 1
                )
            target.writestr(item, data)
    with pytest.raises(ModelError, match="not trusted"):
        load_model(evil)
    (tmp_path / "junk.skops").write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="not a readable model artefact"):
        load_model(tmp_path / "junk.skops")


def test_missing_features_are_named_and_missing_columns_refused(model, history):
    rows = history.head(3).copy()
    rows.loc[rows.index[0], "dscr_min"] = np.nan
    result = predict(model, rows)
    assert "dscr_min" in result["missing_features"].iloc[0]
    with pytest.raises(ModelError, match="lacks columns"):
        predict(model, rows.drop(columns=["dscr_min"]))


def test_grades_come_from_the_table():
    grades = load_grades()
    assert list(grade_of(np.array([0.001, 0.005, 0.03, 0.5]), grades)) == ["1", "1", "4", "7"]


def test_drift_bands(model, history):
    same = drift(model, history)
    assert (same["band"] == "stable").all() and "__score__" in set(same["feature"])
    shifted = history.assign(dscr_min=history["dscr_min"] - 0.6)
    table = drift(model, shifted).set_index("feature")
    assert table.loc["dscr_min", "band"] == "act"
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0


def test_the_history_generator_is_deterministic():
    spec = importlib.util.spec_from_file_location(
        "generate", ROOT / "sample_projects" / "history" / "generate.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    first, second = module.simulate(n=500), module.simulate(n=500)
    pd.testing.assert_frame_equal(first, second)
    shipped = history_rows()  # pd.read_parquet(HISTORY), read once per process
    assert len(shipped) >= 5000 and 0.05 < shipped["defaulted"].mean() < 0.1


def test_train_predict_drift_commands(tmp_path, history, capsys):
    data = tmp_path / "history.csv"
    history.to_csv(data, index=False)
    model_path = tmp_path / "m.skops"
    assert (
        main(
            [
                "train",
                str(data),
                "--target",
                "defaulted",
                "-o",
                str(model_path),
                "--kind",
                "logistic",
            ]
        )
        == 0
    )
    assert "hold-out: auc" in capsys.readouterr().out
    out = tmp_path / "scored.xlsx"
    assert main(["predict", str(model_path), str(data), "-o", str(out)]) == 0
    scored = pd.read_excel(out, engine="calamine")
    assert {"loan_id", "pd", "grade", "reason_1", "model_sha256"} <= set(scored.columns)
    assert main(["drift", str(model_path), str(data)]) == 0
    assert "__score__" in capsys.readouterr().out
    assert main(["train", str(data), "--target", "nope", "-o", str(model_path)]) == 1
    assert "no such target column" in capsys.readouterr().err


def test_score_uses_the_packaged_model_by_default(capsys):
    sample = str(ROOT / "sample_projects" / "05_zhangjiakou_reit_ready.xlsx")
    assert main(["score", sample, "--as-of", "2025-06-30", "--format", "json"]) == 0
    credit = json.loads(capsys.readouterr().out)["projects"][0]["programmes"]["credit"]
    assert 0 < credit["pd"] < 1 and credit["grade"] in list("1234567")
    assert {"feature", "value", "contribution"} <= set(credit["reasons"][0])
    assert len(credit["model"]["sha256"]) == 64
    assert main(["score", sample, "--as-of", "2025-06-30", "--format", "json", "--no-model"]) == 0
    assert "pd" not in json.loads(capsys.readouterr().out)["projects"][0]["programmes"]["credit"]


def test_auto_keeps_the_better_kind_and_no_holdout_fits_on_everything(history):
    model = train_model(history, "defaulted", kind="auto", holdout=None)
    selection = model.card["selection"]
    assert model.kind == max(selection, key=selection.get)
    assert model.card["metrics"]["holdout"] is None
    assert model.card["class_balance"]["train_rows"] == len(history)
    assert len(model.card["calibration"]["cross_validation_deciles"]) == 10
    with pytest.raises(ModelError, match="unknown model kind"):
        train_model(history, "defaulted", kind="forest")


def test_training_uses_one_thread_on_small_data_whatever_the_machine_allows(history, tmp_path):
    """``assess train`` limits OpenMP/BLAS threads by the data's size, so a small history is
    fast on a small machine and gives the same artefact whatever threads the caller allows
    (the gbm's bin mapper stores its thread count in the artefact)."""
    assert training_threads(6_500) == 1 and training_threads(99_999) == 1
    assert training_threads(10**9) == max(1, (os.cpu_count() or 1) - 1)
    models = {1: trained("gbm")}  # the shared model, trained with one OpenMP thread allowed
    with threadpool_limits(limits=2, user_api="openmp"):
        models[2] = train_model(history, "defaulted", kind="gbm")
    assert len(history) == 3000 and training_threads(len(history)) == 1  # small data
    digests = [save_model(models[n], tmp_path / f"threads{n}.skops") for n in (1, 2)]
    assert digests[0] == digests[1]


def test_out_of_fold_scores_are_those_of_a_model_fitted_per_fold(history):
    """``cross_val_predict`` (constraints by column name) gives the numbers of fitting the
    saved model's pipeline (constraints as a list) on each fold by hand."""
    x, y = history.iloc[:1500], history["defaulted"].to_numpy()[:1500]
    numeric, categorical = default_features(x, "defaulted")
    spec = Spec("gbm", numeric, categorical, {"dscr_min": -1, "leverage": 1}, 0)
    x = prepare(x, numeric, categorical)
    by_hand = np.zeros(len(y))
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    for train, test in folds.split(x, y):
        by_hand[test] = fit(spec, x.iloc[train], y[train]).decision_function(x.iloc[test])
    assert np.array_equal(out_of_fold_raw(spec, x, y), by_hand)


def test_the_card_wording_comes_from_the_templates(model, tmp_path):
    words = wording()
    assert model.card["reasons"] == words["reasons"][model.kind]
    assert model.card["missing_values"] == words["missing_values"][model.kind]
    assert model.card["calibration"]["method"] == words["calibration_method"]
    save_model(model, tmp_path / "m.skops")
    text = (tmp_path / "m.card.md").read_text("utf-8")
    assert text.startswith(f"# Risk model card ({model.kind})\n") and "{" not in text
    assert words["outcomes"]["real"] in text  # a history without the synthetic mark
    # three tables of a header and a rule: 4 metrics, the features, 10 deciles
    assert text.count("\n| ") == 3 * 2 + 4 + len(model.features) + 10
