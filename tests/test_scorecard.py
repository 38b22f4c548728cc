"""The scorecard a credit analyst reads (assessment/model/scorecard.py): WoE and IV by hand, AUC
and KS against scikit-learn, gains and calibration that add up, points scaling, what assess
train and assess predict write, and inputs that leave a scorecard little to work with."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pypdf
import pypdfium2
import pytest
from openpyxl import load_workbook
from sklearn.metrics import roc_auc_score, roc_curve
from test_pdf_pages import page_problems
from trained import history, trained

from assessment.cli import main
from assessment.errors import ModelError
from assessment.model.fitting import holdout_mask
from assessment.model.predict import predict, prediction_table
from assessment.model.scorecard import (
    BASE,
    MISSING_BIN,
    Scaling,
    bin_feature,
    bin_table,
    load_scaling,
    pd_score,
    scorecard,
)
from assessment.model.training import calibration_table, training_scorecard
from assessment.workbench.scorecard_report import write_scorecard_pdf, write_scorecard_workbook

ROWS = 1500


@pytest.fixture(scope="module")
def model():
    return trained("logistic", ROWS)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return history(ROWS).reset_index(drop=True)


@pytest.fixture(scope="module")
def card(model, rows):
    return scorecard(rows, rows["defaulted"].to_numpy(), model)


# -- weight of evidence ---------------------------------------------------------------------------
def test_woe_and_iv_of_categories_by_hand():
    values = pd.Series(["a", "a", "a", "b", "b", np.nan], dtype=object)
    y = np.array([1, 0, 0, 1, 1, 0])
    table = bin_table(bin_feature(values, "x", numeric=False, bins=10), y).set_index("bin")
    assert list(table.index) == ["a", "b", MISSING_BIN]
    assert table["loans"].tolist() == [3, 2, 1] and table["events"].tolist() == [1, 2, 0]
    # each cell + 0.5: events 1.5, 2.5, 0.5 of 4.5; non-events 2.5, 0.5, 1.5 of 4.5
    event_share = np.array([1.5, 2.5, 0.5]) / 4.5
    non_event_share = np.array([2.5, 0.5, 1.5]) / 4.5
    woe = [math.log(5 / 3), math.log(1 / 5), math.log(3)]
    np.testing.assert_allclose(table["event_share"], event_share)
    np.testing.assert_allclose(table["non_event_share"], non_event_share)
    np.testing.assert_allclose(table["woe"], woe)
    iv = [2 / 9 * math.log(5 / 3), 4 / 9 * math.log(5), 2 / 9 * math.log(3)]
    np.testing.assert_allclose(table["iv"], iv)
    np.testing.assert_allclose(table["event_rate"], [1 / 3, 1.0, 0.0])


def test_numbers_are_binned_by_quantiles_or_by_value():
    values = pd.Series([1, 2, 3, 4, 5, 6, 7, 8, np.nan], dtype=float)
    y = np.array([1, 1, 0, 1, 0, 0, 0, 0, 1])
    table = bin_table(bin_feature(values, "x", numeric=True, bins=4), y)
    # inner edges at the quartiles 2.75, 4.5, 6.25; a bin holds its lower edge
    assert table["bin"].tolist() == [
        "< 2.75",
        "2.75 to < 4.5",
        "4.5 to < 6.25",
        ">= 6.25",
        MISSING_BIN,
    ]
    assert table["loans"].tolist() == [2, 2, 2, 2, 1]
    assert table["events"].tolist() == [2, 1, 0, 0, 1]
    few = bin_table(
        bin_feature(pd.Series([0.0, 1.0, 1.0, 0.0]), "flag", True, 10), np.array([0, 1, 1, 0])
    )
    assert few["bin"].tolist() == ["= 0", "= 1"] and few["lower"].tolist() == [0.0, 1.0]


def test_features_are_ranked_by_the_sum_of_their_bins_with_their_strength(card):
    by_bins = card.bins.groupby("feature")["iv"].sum()
    features = card.features.set_index("feature")
    np.testing.assert_allclose(features["iv"], by_bins[features.index])
    assert (np.diff(card.features["iv"]) <= 0).all()
    assert card.features["rank"].tolist() == list(range(1, len(card.features) + 1))
    expected = pd.cut(features["iv"], [0, 0.02, 0.1, 0.3, np.inf], right=False,
                      labels=["useless", "weak", "medium", "strong"]).astype(str)  # fmt: skip
    assert features["strength"].tolist() == expected.tolist()
    assert features.loc["dscr_min", "strength"] == "strong"  # the history's strongest driver
    assert card.bins.groupby("feature")["loans"].sum().eq(ROWS).all()


# -- performance ----------------------------------------------------------------------------------
def test_auc_and_ks_equal_scikit_learns(card, model, rows):
    y, pd_values = rows["defaulted"].to_numpy(), model.predict_pd(rows)
    fpr, tpr, cut = roc_curve(y, pd_values)
    assert card.facts["auc"] == pytest.approx(roc_auc_score(y, pd_values))
    assert card.facts["gini"] == pytest.approx(2 * roc_auc_score(y, pd_values) - 1)
    best = np.argmax(tpr - fpr)
    assert card.facts["ks"] == pytest.approx(tpr[best] - fpr[best])
    assert card.facts["ks_pd_cutoff"] == pytest.approx(cut[best])
    assert card.facts["ks_loan_share"] == pytest.approx(np.mean(pd_values >= cut[best]))
    np.testing.assert_allclose(card.roc["tpr"], tpr)
    assert card.roc["pd_cutoff"].iloc[1:].notna().all() and np.isnan(card.roc["pd_cutoff"].iloc[0])


def test_the_training_scorecard_measures_the_hold_out_as_the_card_does(model, rows):
    found = training_scorecard(model, rows, holdout=0.3, sha256="ab" * 32)
    holdout = model.card["metrics"]["holdout"]
    assert found.facts["auc"] == pytest.approx(holdout["auc"], abs=1e-6)
    assert found.facts["ks"] == pytest.approx(holdout["ks"], abs=1e-6)
    held = holdout_mask(rows["defaulted"].to_numpy(), 0.3, 0)
    assert found.facts["tested_loans"] == held.sum() == model.card["class_balance"]["test_rows"]
    assert found.facts["loans"] == (~held).sum()  # bins on the rows the model was fitted on
    assert found.facts["model"] == f"logistic {'ab' * 6}" and found.notes == ["tested_holdout"]


def test_gains_and_calibration_add_up(card, model, rows):
    y, pd_values = rows["defaulted"].to_numpy(), model.predict_pd(rows)
    gains = card.gains
    assert gains["loans"].sum() == ROWS and gains["events"].sum() == y.sum()
    assert gains["decile"].tolist() == list(range(10, 0, -1))  # riskiest first
    assert (np.diff(gains["min_pd"]) <= 0).all() and (gains["max_pd"] >= gains["min_pd"]).all()
    last = gains.iloc[-1]
    assert last[["cum_loan_share", "cum_event_share", "cum_non_event_share"]].tolist() == [1, 1, 1]
    assert gains["ks"].max() <= card.facts["ks"] + 1e-12  # the deciles are some of the cut-offs
    np.testing.assert_allclose(
        gains["cum_lift"], gains["cum_event_share"] / gains["cum_loan_share"]
    )
    calibration = card.calibration
    assert calibration["loans"].sum() == ROWS and calibration["events"].sum() == y.sum()
    weighted = (calibration["mean_pd"] * calibration["loans"]).sum() / ROWS
    assert weighted == pytest.approx(pd_values.mean())
    card_table = pd.DataFrame(calibration_table(y, pd_values))  # the model card's deciles
    np.testing.assert_allclose(card_table["default_rate"], calibration["event_rate"], atol=1e-6)


# -- points ---------------------------------------------------------------------------------------
def test_the_scaling_comes_from_the_data_file_and_doubling_the_odds_adds_pdo():
    scaling = load_scaling()
    assert (scaling.base_score, scaling.base_odds, scaling.pdo) == (600, 50, 20)
    pd_at_base = 1 / (1 + scaling.base_odds)  # odds of repaying 50:1
    assert float(pd_score(pd_at_base, scaling)) == pytest.approx(600)
    odds = np.array([0.5, 3.0, 50.0, 400.0])
    assert pd_score(1 / (1 + 2 * odds), scaling) - pd_score(
        1 / (1 + odds), scaling
    ) == pytest.approx(np.full(4, 20.0))
    other = Scaling(base_score=500, base_odds=20, pdo=40, bins=10)
    assert float(pd_score(1 / 81, other)) == pytest.approx(500 + 2 * 40)


def test_bad_scaling_settings_are_named_together(tmp_path):
    path = tmp_path / "scorecard.csv"
    path.write_text("setting,value\nbase_score,600\nbase_odds,0\nbins,1.5\n", encoding="utf-8")
    with pytest.raises(ModelError) as error:
        load_scaling(path)
    message = str(error.value)
    for part in ("points_to_double_odds is not set", "base_odds must be above 0", "bins must be"):
        assert part in message
    assert str(path) in message


def test_reasons_and_scores_in_points(model, rows):
    scaling = load_scaling()
    frame = rows.head(40)
    predicted = predict(model, frame)
    table = prediction_table(frame, predicted, model)
    logit = np.log(predicted["pd"] / (1 - predicted["pd"]))
    np.testing.assert_allclose(table["score"], scaling.offset - scaling.factor * logit, atol=0.05)
    raised = predicted["reason_1_contribution"].notna()
    assert raised.any()
    expected = -scaling.factor * predicted["reason_1_contribution"]
    np.testing.assert_allclose(table["reason_1_points"][raised], expected[raised], atol=0.05)
    assert (table["reason_1_points"][raised] < 0).all()  # a reason costs points
    columns = list(table.columns)
    assert columns.index("reason_2_points") == columns.index("reason_2") + 1


def test_the_points_of_a_loan_add_up_to_its_score(card, model, rows):
    scaling = load_scaling()
    contributions, base = model.contributions(rows)
    scores = pd_score(model.predict_pd(rows), scaling)
    base_points = card.points.set_index("feature").loc[BASE, "points"]
    summed = base_points + scaling.points(contributions.to_numpy()).sum(axis=1)
    np.testing.assert_allclose(summed, scores, atol=1e-6)
    mean_points = card.points[card.points["feature"] != BASE]
    by_feature = (
        (mean_points["points"] * mean_points["loans"]).groupby(mean_points["feature"]).sum()
    )
    np.testing.assert_allclose(
        by_feature / ROWS, scaling.points(contributions.mean()[by_feature.index])
    )


# -- the files ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained_files(rows, tmp_path_factory):
    folder = tmp_path_factory.mktemp("train")
    data = folder / "history.csv"
    rows.head(800).to_csv(data, index=False)
    model_path = folder / "out" / "bank.skops"
    argv = [
        "train",
        str(data),
        "--target",
        "defaulted",
        "-o",
        str(model_path),
        "--kind",
        "logistic",
    ]
    assert main([*argv, "-q"]) == 0
    return model_path


def test_train_writes_the_scorecard_workbook_beside_the_model(trained_files):
    book = load_workbook(trained_files.with_suffix(".scorecard.xlsx"))
    expected = ["Scorecard", "Features", "Bins", "ROC", "Gains", "Calibration", "Points"]
    assert book.sheetnames == expected
    header = [cell.value for cell in book["Bins"][1]]
    for column in ("feature", "bin", "loans", "events", "event_rate", "woe", "iv"):
        assert column in header
    features = [row for row in book["Features"].iter_rows(min_row=2, values_only=True)]
    assert {row[-1] for row in features} <= {"useless", "weak", "medium", "strong"}
    assert book["Bins"].cell(2, header.index("event_rate") + 1).number_format == "0.00%"
    rows = list(book["Scorecard"].iter_rows(min_row=2, values_only=True))
    items = dict(rows)
    assert items["base score"] == 600 and items["points to double the odds (PDO)"] == 20
    notes = " ".join(value for item, value in rows if item == "note")
    assert "held out of the fit" in notes and "WoE = ln(share of non-events" in notes
    _no_bad_cells(book)


def _no_bad_cells(book) -> None:
    """No cell of any sheet holds an infinity, a NaN or their text."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                assert not (isinstance(value, float) and not math.isfinite(value)), sheet.title
                assert str(value).lower() not in ("nan", "inf", "-inf"), sheet.title


def test_train_writes_the_scorecard_pdf_with_its_charts(trained_files, tmp_path):
    pdf = trained_files.with_suffix(".scorecard.pdf")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    for phrase in (
        "Scorecard",
        "ROC curve",
        "Kolmogorov-Smirnov",
        "Cumulative gains",
        "Calibration",
    ):
        assert phrase in text
    for phrase in ("random model (diagonal)", "perfect calibration", "KS 0.", "strong from 0.3"):
        assert phrase in text  # the reference lines and the marks are labelled
    assert "Events flagged (true positive rate, %)" in text and "Loans flagged, riskiest" in text
    assert "base points" in text and "WoE" in text and "points" in text
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        page = _page_with(document, "ROC curve")
        image = document[page].render(scale=1.5).to_pil()
    finally:
        document.close()
    image.save(tmp_path / "scorecard_roc.png")  # looked at: ROC with markers and diagonal
    pixels = np.asarray(image.convert("RGB")).astype(int)
    line = np.array([0x1F, 0x38, 0x64])  # style.yaml colours: line (the model's curve)
    assert (np.abs(pixels - line).sum(axis=2) < 30).mean() > 0.001


def test_every_scorecard_page_is_clean(trained_files, card, tmp_path):
    """No text over text, nothing off the page, header and page number on every page (the
    checks of test_pdf_pages), in English and Chinese."""
    chinese = write_scorecard_pdf(card, tmp_path / "card_zh.pdf", lang="zh")
    problems = page_problems("scorecard", trained_files.with_suffix(".scorecard.pdf"))
    assert problems + page_problems("scorecard_zh", chinese) == []


def _page_with(document, phrase: str) -> int:
    for index in range(len(document)):
        if phrase in document[index].get_textpage().get_text_range():
            return index
    raise AssertionError(f"no page with {phrase!r}")


def test_the_chinese_scorecard_pdf_takes_its_words_from_zh_yaml(card, tmp_path):
    pdf = write_scorecard_pdf(card, tmp_path / "card.pdf", lang="zh")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    assert "评分卡" in text and "按信息值排序的特征" in text and "随机模型" in text and "强" in text
    assert "ROC curve" not in text and "Calibration" not in text


def test_no_scorecard_writes_none(rows, tmp_path):
    data = tmp_path / "history.csv"
    rows.head(300).to_csv(data, index=False)
    model_path = tmp_path / "m.skops"
    argv = ["train", str(data), "--target", "defaulted", "-o", str(model_path)]
    assert main([*argv, "--kind", "logistic", "--no-scorecard", "-q"]) == 0
    assert model_path.is_file() and not list(tmp_path.glob("*.scorecard.*"))


# -- little to work with --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "case",
    ["one value", "all missing", "no events", "no non-events", "one loan", "two loans", "three"],
)
def test_degenerate_inputs_give_a_defined_scorecard(case, model, rows, tmp_path):
    frame, y = _degenerate(case, rows.head(60).reset_index(drop=True))
    found = scorecard(frame, y, model)
    for table in (
        found.bins,
        found.features,
        found.points,
        found.roc,
        found.gains,
        found.calibration,
    ):
        numbers = table.select_dtypes("number").to_numpy(dtype=float)
        assert not np.isinf(numbers).any()
    assert found.features["iv"].notna().all() and found.bins["woe"].notna().all()
    one_outcome = y.sum() in (0, len(y))
    assert ("one_outcome" in found.notes) == one_outcome and found.has_performance != one_outcome
    assert found.calibration["loans"].sum() == len(y)
    if one_outcome:  # nothing to separate: no power, said so
        assert "one_outcome_bins" in found.notes and (found.features["iv"] == 0).all()
    write_scorecard_workbook(found, tmp_path / "card.xlsx")
    _no_bad_cells(load_workbook(tmp_path / "card.xlsx"))
    pdf = write_scorecard_pdf(found, tmp_path / "card.pdf")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    assert ("need loans of both outcomes" in text) == one_outcome


def _degenerate(case: str, rows: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    y = rows["defaulted"].to_numpy().copy()
    y[:2] = [0, 1]
    if case == "one value":
        return rows.assign(dscr_min=1.3, hub_zone="east"), y
    if case == "all missing":
        return rows.assign(dscr_min=np.nan, facility_type=None), y
    if case in ("no events", "no non-events"):
        return rows, np.full(len(rows), int(case == "no non-events"))
    size = {"one loan": 1, "two loans": 2, "three": 3}[case]
    return rows.head(size), y[:size]


def test_a_feature_of_one_value_has_one_bin_of_no_power(model, rows):
    frame = rows.head(60).assign(dscr_min=1.3)
    found = scorecard(frame, frame["defaulted"].to_numpy(), model)
    bins = found.bins[found.bins["feature"] == "dscr_min"]
    assert bins["bin"].tolist() == ["= 1.3"] and bins["woe"].tolist() == [pytest.approx(0.0)]
    assert found.features.set_index("feature").loc["dscr_min", "strength"] == "useless"


def test_no_loans_is_a_clear_error(model, rows):
    with pytest.raises(ModelError, match="no loans to build a scorecard on"):
        scorecard(rows.iloc[:0], np.array([], dtype=int), model)


def test_train_on_a_history_without_defaults_says_so(rows, tmp_path, capsys):
    data = tmp_path / "history.csv"
    rows.head(100).assign(defaulted=0).to_csv(data, index=False)
    assert main(["train", str(data), "--target", "defaulted", "-o", str(tmp_path / "m.skops")]) == 1
    error = capsys.readouterr().err
    assert "0/1 outcome with both values present" in error and "Traceback" not in error
