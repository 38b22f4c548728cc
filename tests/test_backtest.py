"""``assess backtest`` on the example loan history: every number recomputed here from the raw
columns (pandas, sklearn), the alternative rule set with one moved threshold, and the files."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile

import numpy as np
import pandas as pd
import pypdf
import pypdfium2
import pytest
from helpers import ROOT
from openpyxl import load_workbook
from sklearn.metrics import roc_auc_score

from assessment.cli import main
from assessment.decision.decide import load_borderline
from assessment.errors import AssessmentError
from assessment.model.persist import load_model
from assessment.model.predict import predict
from assessment.model.scorecard import SMOOTHING
from assessment.model.training import read_table
from assessment.reports.pdf.style import Look
from assessment.workbench.backtest import as_of_dates, run_backtest
from assessment.workbench.backtest_report import note_texts, summary_lines, write_backtest_pdf

HISTORY = ROOT / "sample_projects" / "history" / "loan_history.parquet"
RULE = "CR-DSCR-MIN"  # credit gate dscr_forecast_min >= 1.20 (unverified), pack from 2015-09-09
OLD_LIMIT, NEW_LIMIT = 1.20, 1.30


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return read_table(HISTORY)


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def backtest(history, model):
    return run_backtest(history, "defaulted", model=model)


@pytest.fixture(scope="module")
def raw(history) -> pd.DataFrame:
    """The history by loan id, with the year from which the credit pack is in force, the
    verified credit gates that fail (equity, leverage: they decline), and the loans whose
    legal floor (GB 40879, in force 2022-11-01, not for edge sites of <= 100 racks) cannot be
    decided for a missing PUE or fails."""
    frame = history.set_index("loan_id")
    frame["credit_in_force"] = frame["origination_year"] >= 2015
    frame["verified_fails"] = frame["credit_in_force"] & (
        (frame["equity_ratio"] < 0.2) | (frame["leverage"] > 0.8)
    )
    small_edge = (frame["facility_type"] == "edge") & (frame["racks"] <= 100)
    floor = (frame["origination_year"] >= 2022) & ~small_edge
    frame["floor_missing"] = floor & frame["pue_assessed"].isna()
    frame["floor_fails"] = floor & (frame["pue_assessed"] > 1.5)
    return frame


@pytest.fixture(scope="module")
def moved_rules(tmp_path_factory):
    """A copy of rules/ in which CR-DSCR-MIN asks for 1.30 instead of 1.20."""
    folder = tmp_path_factory.mktemp("backtest") / "rules"
    shutil.copytree(ROOT / "rules", folder)
    path = folder / "credit_policy" / "rules.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    edited = [
        line.replace(",dscr_forecast_min,>=,1.20,", ",dscr_forecast_min,>=,1.30,")
        if line.startswith(f"{RULE},")
        else line
        for line in lines
    ]
    assert edited != lines
    path.write_text("".join(edited), encoding="utf-8")
    return folder


def test_the_history_totals(backtest):
    assert backtest.facts["loans"] == 6500
    assert backtest.facts["outcomes"] == 489
    table = backtest.current.by_recommendation.set_index("recommendation")
    assert table.loc["all", "loans"] == 6500 and table.loc["all", "outcomes"] == 489
    assert table.loc["decline", "outcome_rate"] > 5 * table.loc["approve", "outcome_rate"]


def test_outcome_rate_by_recommendation_is_a_groupby(backtest, raw):
    y = raw["defaulted"]
    grouped = y.groupby(backtest.current.recommendation).agg(["size", "sum", "mean"])
    table = backtest.current.by_recommendation.set_index("recommendation").drop(index="all")
    table = table[table["loans"] > 0]
    assert table["loans"].to_dict() == grouped["size"].to_dict()
    assert table["outcomes"].to_dict() == grouped["sum"].to_dict()
    assert np.allclose(table["outcome_rate"], grouped["mean"].reindex(table.index))


def test_every_loan_failing_a_verified_credit_gate_is_declined(backtest, raw):
    fails = raw["verified_fails"]
    assert fails.sum() > 50
    assert (backtest.current.recommendation[fails[fails].index] == "decline").all()
    declined = backtest.current.recommendation == "decline"
    assert set(raw.index[declined]) == set(raw.index[fails | raw["floor_fails"]])


def test_failing_only_the_unverified_dscr_gate_is_referred_never_declined(backtest, raw):
    """CR-DSCR-MIN is an engine default (unverified): it never declines alone. The loan is
    referred, or incomplete where another gate (the legal floor's PUE) cannot be decided."""
    dscr_only = raw["credit_in_force"] & (raw["dscr_min"] < OLD_LIMIT) & ~raw["verified_fails"]
    dscr_only &= ~raw["floor_fails"]
    assert dscr_only.sum() > 1000
    found = backtest.current.recommendation[dscr_only[dscr_only].index]
    missing = raw.loc[found.index, "floor_missing"]
    assert (found[missing] == "incomplete").all() and missing.any()
    assert (found[~missing] == "refer").all()


def test_credit_verdicts_count_the_gate_failures(backtest, raw):
    table = backtest.current.by_programme.set_index(["programme", "verdict"])
    in_force, fails = raw["credit_in_force"], raw["verified_fails"]
    unverified = in_force & ~fails & (raw["dscr_min"] < OLD_LIMIT)
    insufficient = in_force & ~fails & raw["dscr_min"].isna()
    expected = {
        "not_eligible": fails,
        "unverified": unverified,
        "insufficient": insufficient,
        "eligible": in_force & ~fails & (raw["dscr_min"] >= OLD_LIMIT),
        "not_applicable": ~in_force,
        "not_requested": raw["credit_in_force"] & False,  # every loan asks for credit
    }
    for verdict, chosen in expected.items():
        assert table.loc[("credit", verdict), "loans"] == chosen.sum(), verdict
        assert table.loc[("credit", verdict), "outcomes"] == raw.loc[chosen, "defaulted"].sum()
    # no application in the history asks for a green label or a REIT
    for programme in ("green", "green_credit", "ngdc", "reit"):
        assert table.loc[(programme, "not_requested"), "loans"] == len(raw)


def _verdict_counts(raw: pd.DataFrame) -> pd.DataFrame:
    """CR-DSCR-MIN by hand: pass, fail, insufficient over the loans of 2015 on."""
    applied = raw[raw["credit_in_force"]]
    dscr = applied["dscr_min"]
    verdict = np.where(dscr.isna(), "insufficient", np.where(dscr >= OLD_LIMIT, "pass", "fail"))
    return applied["defaulted"].groupby(verdict).agg(["size", "sum"])


def test_the_rates_of_one_rule_by_hand(backtest, raw):
    row = backtest.current.rules.set_index("rule_id").loc[RULE]
    counts = _verdict_counts(raw)
    assert row["applicable"] == counts["size"].sum()
    for verdict in ("pass", "fail", "insufficient"):
        assert row[verdict] == counts.loc[verdict, "size"]
        expected = counts.loc[verdict, "sum"] / counts.loc[verdict, "size"]
        assert row[f"{verdict}_outcome_rate"] == pytest.approx(expected)
    assert row["difference"] == pytest.approx(row["fail_outcome_rate"] - row["pass_outcome_rate"])
    applicable = row["pass"] + row["fail"] + row["insufficient"]
    assert row["pass_rate"] == pytest.approx(row["pass"] / applicable)  # the one definition


def test_the_information_value_of_one_rule_by_hand(backtest, raw):
    counts = _verdict_counts(raw)
    bad = counts["sum"] + SMOOTHING
    good = counts["size"] - counts["sum"] + SMOOTHING
    b, g = bad / bad.sum(), good / good.sum()
    expected = float(((b - g) * np.log(b / g)).sum())
    rules = backtest.current.rules
    assert rules.set_index("rule_id").loc[RULE, "iv"] == pytest.approx(expected)
    assert expected > 0.3  # DSCR is the history's strongest driver
    ivs = rules["iv"].dropna().to_numpy()
    assert (np.diff(ivs) <= 0).all()  # sorted by IV


def test_aucs_equal_roc_auc_score(backtest, history, model, raw):
    auc = backtest.current.auc.set_index("score")
    y = raw["defaulted"].to_numpy()
    pd_values = predict(model, history)["pd"].to_numpy()  # as the backtest scores
    assert auc.loc["model PD", "auc"] == pytest.approx(roc_auc_score(y, pd_values))
    rank = backtest.current.recommendation.map(
        {"approve": 0, "approve_with_conditions": 1, "refer": 2, "incomplete": 3, "decline": 4}
    )
    combined = roc_auc_score(y, rank.to_numpy() + pd_values)
    assert auc.loc["combined score", "auc"] == pytest.approx(combined)
    assert auc.loc["combined score", "gini"] == pytest.approx(2 * combined - 1)


def test_the_packaged_model_is_flagged_in_sample(backtest, model):
    auc = backtest.current.auc.set_index("score")
    assert auc.loc["model PD", "note"].startswith("in-sample")
    assert "in_sample" in backtest.notes  # a key of the templates' backtest.notes
    balance = model.card["class_balance"]
    assert backtest.facts["trained_rows"] == balance["train_rows"]
    assert backtest.facts["held_out_rows"] == balance["test_rows"]
    assert any(note.startswith("In-sample: the model") for note in note_texts(backtest))
    held = auc.loc["model PD, hold-out rows"]
    assert held["loans"] == model.card["class_balance"]["test_rows"]
    assert held["auc"] == pytest.approx(model.card["metrics"]["holdout"]["auc"], abs=1e-6)


def test_rules_the_history_cannot_assess_are_listed(backtest, history):
    listed = backtest.current.not_assessable.set_index("rule_id")
    assert {"GC-GLP-REPORTING", "REIT-TITLE-CLEAR", "GRN-WUE"} <= set(listed.index)
    assert RULE not in listed.index
    for columns in listed["missing_columns"]:
        assert all(column not in history.columns for column in columns.split(", "))
    assert not set(listed.index) & set(backtest.current.rules["rule_id"])


def test_a_moved_threshold_changes_exactly_the_expected_loans(history, raw, moved_rules):
    """DSCR in [1.20, 1.30) now fails the unverified gate, and in [1.30, 1.35] passes it only
    within the borderline margin (rules/decision/borderline.csv): an approved loan (with or
    without conditions: no gate undecided) is referred; refer, incomplete and decline stay."""
    result = run_backtest(history, "defaulted", against=moved_rules)
    before = result.current.recommendation
    margin = load_borderline()["dscr_forecast_min"]
    dscr = raw["dscr_min"]
    between = raw["credit_in_force"] & dscr.between(OLD_LIMIT, NEW_LIMIT + margin + 1e-9)
    approved = before.isin(["approve", "approve_with_conditions"])
    expected = set(raw.index[between & approved])
    changed = result.changed
    assert set(changed["loan_id"]) == expected and len(expected) > 100
    assert (changed["alternative"] == "refer").all()
    assert changed["outcome"].sum() == raw.loc[list(expected), "defaulted"].sum()
    rows = result.comparison.set_index("rule_set")
    referred, declined = (before == "refer").sum(), (before == "decline").sum()
    assert rows.loc["current", "referred"] == referred
    assert rows.loc["alternative", "referred"] == referred + len(expected)
    assert rows.loc["alternative", "declined"] == rows.loc["current", "declined"] == declined
    incomplete = (before == "incomplete").sum()
    assert rows.loc["alternative", "incomplete"] == rows.loc["current", "incomplete"] == incomplete
    assert rows.loc["alternative", "changed_outcome_rate"] == pytest.approx(
        raw.loc[list(expected), "defaulted"].mean()
    )


def test_one_as_of_date_evaluates_every_loan_with_those_rules(history):
    sample = history.head(400)
    result = run_backtest(sample, "defaulted", as_of=dt.date(2025, 12, 31))
    rules = result.current.rules.set_index("rule_id")
    assert rules.loc[RULE, "applicable"] == 400  # in force on that date for every loan
    assert rules.loc["NGDC-PUE", "applicable"] > 0  # a rule of 2025-07-07
    assert "model PD" not in set(result.current.auc["score"])


def test_a_history_without_dates_needs_as_of(history):
    with pytest.raises(AssessmentError, match="origination_year"):
        as_of_dates(history.head(5).drop(columns="origination_year"), None)
    assert set(as_of_dates(history.head(5), None)) <= {
        dt.date(y, 12, 31) for y in range(2012, 2023)
    }
    with pytest.raises(AssessmentError, match="--as-of"):
        run_backtest(history.head(50).drop(columns="origination_year"), "defaulted")


@pytest.fixture(scope="module")
def small_csv(history, tmp_path_factory):
    path = tmp_path_factory.mktemp("backtest_cli") / "history.csv"
    history.head(1500).to_csv(path, index=False)
    return path


def test_the_cli_writes_a_workbook_with_charts_and_a_pdf(small_csv, moved_rules, tmp_path, capsys):
    xlsx, pdf = tmp_path / "out" / "backtest.xlsx", tmp_path / "out" / "backtest.pdf"
    argv = ["backtest", str(small_csv), "--target", "defaulted", "--no-model"]
    assert main([*argv, "--against", str(moved_rules), "-o", str(xlsx), "-o", str(pdf)]) == 0
    assert f"wrote {xlsx}" in capsys.readouterr().out
    book = load_workbook(xlsx)
    assert {"Summary", "By recommendation", "Rules", "Comparison", "Changed loans"} <= set(
        book.sheetnames
    )
    assert len(book["By recommendation"]._charts) == 1 and len(book["Rules"]._charts) == 1
    header = [cell.value for cell in book["Rules"][1]]
    assert header[:2] == ["rule_set", "rule_id"] and "iv" in header
    text = "".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    for phrase in ("Backtest", "Outcome rate by recommendation", "Not assessable", "Comparison"):
        assert phrase in text
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        pixels = np.asarray(document[0].render(scale=0.5).to_pil().convert("L"))
    finally:
        document.close()
    assert (pixels < 128).mean() > 0.005  # ink on page 1


def test_the_cli_prints_a_summary_without_output(small_csv, capsys):
    assert main(["backtest", str(small_csv), "--target", "defaulted", "--no-model"]) == 0
    out = capsys.readouterr().out
    assert "1,500 loans" in out and "outcome rate by recommendation:" in out
    assert "not assessable on this history: " in out and "REIT-TITLE-CLEAR" in out


def test_a_bad_target_is_a_clear_error(small_csv, capsys):
    assert main(["backtest", str(small_csv), "--target", "default", "--no-model"]) == 1
    error = capsys.readouterr().err
    assert "no such target column" in error and "'default'" in error
    assert "Traceback" not in error


def test_an_output_of_another_kind_is_refused(small_csv, tmp_path, capsys):
    argv = ["backtest", str(small_csv), "--target", "defaulted", "--no-model"]
    assert main([*argv, "-o", str(tmp_path / "x.csv")]) == 1
    assert main([*argv, "-o", str(tmp_path / "a.pdf"), "-o", str(tmp_path / "b.pdf")]) == 1
    assert "-o FILE.xlsx and/or -o FILE.pdf" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_the_chinese_pdf_takes_its_words_from_zh_yaml(backtest, tmp_path):
    pdf = write_backtest_pdf(backtest, tmp_path / "backtest.pdf", lang="zh")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    assert "回测" in text and "按评估建议的坏样本率" in text and "区分能力（AUC）" in text
    assert "附条件批准" in text and "信息值 IV" in text
    assert "Outcome rate by recommendation" not in text and "Not assessable" not in text


def test_the_scorecard_of_the_model_pd_on_the_history(backtest, history, model):
    card = backtest.scorecard
    auc = backtest.current.auc.set_index("score").loc["model PD", "auc"]
    assert card.facts["auc"] == pytest.approx(auc) and card.facts["tested_loans"] == len(history)
    assert card.notes == ["tested_history", "in_sample"]  # the packaged model saw this history
    assert set(card.features["feature"]) == set(model.features)
    assert card.gains["loans"].sum() == len(history)
    lines = summary_lines(backtest)
    start = lines.index("scorecard of the model PD on this history:")
    assert lines[start + 1].startswith(f"  AUC {auc:.4f}") and "KS" in lines[start + 1]
    assert lines[start + 2].split()[0] == card.features["feature"].iloc[0]


def test_no_model_no_scorecard(small_csv):
    found = run_backtest(read_table(small_csv), "defaulted")
    assert found.scorecard is None
    assert not any(line.startswith("scorecard") for line in summary_lines(found))


def test_the_backtest_files_carry_the_scorecard_and_charts_in_the_house_style(
    small_csv, tmp_path, capsys
):
    xlsx, pdf = tmp_path / "backtest.xlsx", tmp_path / "backtest.pdf"
    argv = ["backtest", str(small_csv), "--target", "defaulted", "-o", str(xlsx), "-o", str(pdf)]
    assert main([*argv, "-q"]) == 0
    book = load_workbook(xlsx)
    for sheet in ("Scorecard", "Features", "Bins", "ROC", "Gains", "Calibration", "Points"):
        assert sheet in book.sheetnames
    with zipfile.ZipFile(xlsx) as archive:
        charts = [archive.read(n).decode() for n in archive.namelist() if "charts/chart" in n]
    colours = Look("en").style["colours"]
    for chart in charts:  # both axes titled, the series in the house colour, values on them
        assert chart.count("<c:title>") == 3 and "<c:dLbls>" in chart
        assert colours["line"].lstrip("#").upper() in chart
    text = "".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    for phrase in (
        "Outcome rate (%)",
        "Recommendation",
        "all loans 6.8%",
        "Information value (IV)",
    ):
        assert phrase in text  # the bar charts' axis titles and marks
    for phrase in (
        "Scorecard of the model PD: ROC curve",
        "Scorecard of the model PD: Calibration",
    ):
        assert phrase in text
    assert "strong from 0.3" in text


def test_the_json_carries_the_scorecard(small_csv, capsys):
    assert main(["backtest", str(small_csv), "--target", "defaulted", "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)["scorecard"]
    assert {"facts", "notes", "bins", "features", "roc", "gains", "calibration", "points"} <= set(
        found
    )
    assert found["features"][0]["feature"] == "dscr_min" and 0.5 < found["facts"]["auc"] < 1
    assert found["roc"][0]["pd_cutoff"] is None  # no loan flagged: no cut-off, not an infinity
