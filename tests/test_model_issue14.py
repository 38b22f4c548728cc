"""Issue 14, the risk model: a feature that cannot exist for a project (structurally absent)
neither raises the PD nor is a reason nor is listed as missing; a PD from a model calibrated on
synthetic outcomes is advisory."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
from helpers import AS_OF, ROOT
from trained import history as history_rows
from trained import trained

from assessment import add_indicators, read_applications
from assessment.criteria.absence import load_absence, structural_absence
from assessment.errors import ModelError, RuleError
from assessment.model.compiled import MISSING
from assessment.model.estimator import prepare
from assessment.model.persist import load_model, save_model
from assessment.model.predict import (
    absent_mask,
    neutral_inputs,
    predict,
    prediction_table,
    reasons,
)
from assessment.model.training import read_table, train_model

HISTORY = ROOT / "sample_projects" / "history" / "loan_history.parquet"
REASON_FEATURES = [f"reason_{k}_feature" for k in range(1, 5)]
HEADER = "feature,when,reason_en,reason_zh,source\n"


def predict_as_scoring(model, frame):
    """The model's prediction with the packaged structural-absence table, as scoring does."""
    return predict(model, frame, absent=structural_absence(frame))


@pytest.fixture(scope="module")
def packaged():
    return load_model()


@pytest.fixture(scope="module")
def history():
    return history_rows()  # pd.read_parquet(HISTORY), read once per process


@pytest.fixture(scope="module")
def new_builds(history):
    """Past new builds that had an as-complete appraisal: their LTV is known."""
    rows = history[(history["project_kind"] == "new") & history["ltv"].notna()].head(60)
    return rows.assign(
        financing_purpose="construction",
        appraised_value_cny=rows["loan_amount_cny"] / rows["ltv"],
        rack_utilisation=rows["rack_utilisation"].fillna(0.7),  # given: only LTV is absent
        wale_years=rows["wale_years"].fillna(5.0),
    )


def construction_without_appraisal(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.assign(appraised_value_cny=np.nan, ltv=np.nan)


def reason_names(predicted: pd.DataFrame) -> set[str]:
    return set(predicted[REASON_FEATURES].stack().dropna())


# --- the table ------------------------------------------------------------------------------


def test_the_packaged_table_names_ltv_of_a_construction_loan():
    rows = load_absence()
    assert {row.feature for row in rows} == {
        "ltv",
        "leverage",
        "loan_amount_cny",
        "loan_tenor_years",
        "operating_years",
        "rack_utilisation",
        "wale_years",
    }
    construction = [row for row in rows if "construction" in row.when]
    assert [row.feature for row in construction] == ["ltv"]
    assert all(row.reason_en and row.reason_zh and row.source for row in rows)
    # not dscr_min (a construction loan has a forecast); a new build's operating years are
    # absent for the model, whatever value (0) the rules count
    assert "dscr_min" not in {row.feature for row in rows}


def test_a_bad_table_is_refused_with_every_problem_named(tmp_path):
    path = tmp_path / "structural_absence.csv"
    path.write_text(
        HEADER
        + "ltw,financing_purpose == construction,r,r,s\n"
        + "ltv,financing_purpose == constuction,r,r,s\n"
        + "ltv,financing_purpose ==,r,r,s\n"
        + "ltv,finance_purpose is_blank,r,r,\n",
        encoding="utf-8",
    )
    with pytest.raises(RuleError) as caught:
        load_absence(path)
    problems = {(p["row"], p["column"]): p for p in caught.value.problems}
    assert set(problems) == {(2, "feature"), (3, "when"), (4, "when"), (5, "when"), (5, "source")}
    assert problems[2, "feature"]["value"] == "ltw"
    assert "expected a field of fields.csv or an indicator" in problems[2, "feature"]["message"]
    assert problems[2, "feature"]["hint"] == "did you mean 'ltv'?"
    assert problems[3, "when"]["hint"] == "did you mean 'construction'?"
    assert "does not parse" in problems[4, "when"]["message"]
    assert problems[5, "when"]["hint"] == "did you mean 'financing_purpose'?"
    assert str(path) in str(caught.value) and "row 2, column feature" in str(caught.value)


def test_a_table_without_a_column_is_refused(tmp_path):
    path = tmp_path / "absence.csv"
    path.write_text("feature,when,reason_en,reason_zh\nltv,project_kind == new,r,r\n", "utf-8")
    with pytest.raises(RuleError, match="lacks column 'source'"):
        load_absence(path)


# --- a construction loan: LTV absent, neither a reason nor missing, never raising the PD -----


def test_a_construction_loan_without_appraisal_has_ltv_absent_not_missing(packaged, new_builds):
    predicted = predict_as_scoring(packaged, construction_without_appraisal(new_builds))
    assert all("ltv" in names for names in predicted["absent_features"])
    assert not any("ltv" in names for names in predicted["missing_features"])
    assert "ltv" not in reason_names(predicted)
    assert all(r["feature"] != "ltv" for _, row in predicted.iterrows() for r in reasons(row))


def test_its_pd_is_the_pd_at_the_neutral_ltv(packaged, new_builds):
    frame = construction_without_appraisal(new_builds)
    inputs = prepare(frame, packaged.numeric, packaged.categorical)
    neutral = neutral_inputs(
        packaged, inputs, absent_mask(packaged, structural_absence(frame), inputs)
    )
    ltv = neutral["ltv"].to_numpy(dtype=float)
    assert set(ltv) <= set(packaged.reference["ltv"]["edges"])  # a training decile
    appraised = frame.assign(ltv=ltv, appraised_value_cny=frame["loan_amount_cny"] / ltv)
    at_neutral = predict_as_scoring(packaged, appraised)
    assert not any(at_neutral["absent_features"].map(len))  # given values: nothing absent
    assert np.allclose(
        predict_as_scoring(packaged, frame)["pd"], at_neutral["pd"], rtol=0, atol=1e-12
    )
    effect, _ = packaged.contributions(appraised)
    assert (effect["ltv"] <= 0).all()  # the stand-in value does not raise the PD


def test_the_neutral_value_never_raises_the_risk_and_is_the_usual_one_where_it_can(
    packaged, new_builds
):
    """The model's usual neutral LTV (chosen once, for its typical row) where it lowers or
    keeps the row's risk; else the row's decile closest to zero from below."""
    frame = construction_without_appraisal(new_builds.head(40))
    inputs = prepare(frame, packaged.numeric, packaged.categorical)
    chosen = neutral_inputs(
        packaged, inputs, absent_mask(packaged, structural_absence(frame), inputs)
    )
    usual = packaged.neutral["ltv"]
    assert usual in packaged.reference["ltv"]["edges"]
    kinds = set()
    for edge_effects, value in zip(
        _effects_per_decile(packaged, frame), chosen["ltv"], strict=True
    ):
        not_raising = [effect for effect in edge_effects.values() if effect <= 0]
        assert not_raising and edge_effects[value] <= 0
        if edge_effects[usual] <= 0:
            assert value == usual
            kinds.add("usual")
        else:
            assert edge_effects[value] == max(not_raising)
            kinds.add("searched")
        assert any(effect > 0 for effect in edge_effects.values())  # some decile would raise it
    assert "usual" in kinds


def _effects_per_decile(model, frame: pd.DataFrame) -> list[dict[float, float]]:
    """Per row: the LTV contribution at every training decile of LTV."""
    edges = model.reference["ltv"]["edges"]
    effects = [model.contributions(frame.assign(ltv=edge))[0]["ltv"].to_numpy() for edge in edges]
    return [dict(zip(edges, column, strict=True)) for column in np.array(effects).T]


def test_an_appraised_construction_loan_keeps_its_own_ltv(packaged, new_builds):
    predicted = predict_as_scoring(packaged, new_builds)
    assert not any(predicted["absent_features"].map(len))
    assert np.allclose(predicted["pd"], packaged.predict_pd(new_builds), rtol=0, atol=1e-12)


def test_a_refinancing_with_blank_ltv_still_lists_it_as_missing(packaged, history):
    rows = history[history["project_kind"] == "operating"].head(40)
    frame = rows.assign(financing_purpose="refinancing", appraised_value_cny=np.nan, ltv=np.nan)
    predicted = predict_as_scoring(packaged, frame)
    assert all("ltv" in names for names in predicted["missing_features"])
    assert not any(predicted["absent_features"].map(len))
    assert np.allclose(predicted["pd"], packaged.predict_pd(frame), rtol=0, atol=1e-12)
    assert "ltv" in reason_names(predicted)  # a missing LTV still raises the risk


def test_a_new_build_without_purpose_or_appraisal_has_ltv_absent(packaged, new_builds):
    frame = construction_without_appraisal(new_builds).assign(financing_purpose=None)
    assert all("ltv" in names for names in predict_as_scoring(packaged, frame)["absent_features"])
    unknown_kind = frame.assign(project_kind=None)  # nothing says it is a construction loan
    assert all(
        "ltv" in names for names in predict_as_scoring(packaged, unknown_kind)["missing_features"]
    )


def test_an_empty_absence_table_scores_the_model_as_trained(packaged, new_builds):
    frame = construction_without_appraisal(new_builds)
    predicted = predict(packaged, frame)
    assert all("ltv" in names for names in predicted["missing_features"])
    assert np.allclose(predicted["pd"], packaged.predict_pd(frame), rtol=0, atol=1e-12)


def test_data_without_the_condition_columns_is_scored_as_before(packaged, history):
    rows = history[history["project_kind"] != "new"].head(300)  # no financing_purpose,
    # no appraised_value_cny, no new build (whose utilisation and WALE cannot exist)
    predicted = predict_as_scoring(packaged, rows)
    assert not any(predicted["absent_features"].map(len))
    assert np.allclose(predicted["pd"], packaged.predict_pd(rows), rtol=0, atol=1e-12)


def test_a_reit_without_a_loan_has_its_loan_features_absent(packaged, history):
    rows = history[history["project_kind"] == "operating"].head(10)
    blank = dict.fromkeys(["loan_amount_cny", "leverage", "ltv", "loan_tenor_years"], np.nan)
    predicted = predict_as_scoring(packaged, rows.assign(financing_purpose="reit", **blank))
    loan = {"loan_amount_cny", "leverage", "ltv", "loan_tenor_years"}
    assert all(set(names) == loan for names in predicted["absent_features"])
    assert not loan & reason_names(predicted)
    assert not any(loan & set(names) for names in predicted["missing_features"])


def test_a_logistic_model_treats_absence_the_same_way(history, new_builds):
    model = trained("logistic")  # train_model(history.iloc[:3000], kind="logistic"), shared
    frame = construction_without_appraisal(new_builds)
    predicted = predict_as_scoring(model, frame)
    assert all("ltv" in names for names in predicted["absent_features"])
    inputs = prepare(frame, model.numeric, model.categorical)
    neutral = neutral_inputs(model, inputs, absent_mask(model, structural_absence(frame), inputs))
    assert np.allclose(predicted["pd"], model.predict_pd(neutral), rtol=0, atol=1e-12)
    assert (model.contributions(neutral)[0]["ltv"] <= 0).all()


def test_no_construction_loan_of_the_samples_has_ltv_as_a_reason(packaged):
    applications = read_applications([ROOT / "sample_projects"], as_of=AS_OF)
    frame = add_indicators(applications.projects, applications.yearly, AS_OF)
    predicted = predict_as_scoring(packaged, frame)
    construction = frame["financing_purpose"] == "construction"
    assert construction.sum() > 100
    rows = predicted[construction.to_numpy()]
    assert not (rows[REASON_FEATURES] == "ltv").any().any()
    assert not any("ltv" in names for names in rows["missing_features"])
    refinancing = predicted[(frame["financing_purpose"] == "refinancing").to_numpy()]
    blank_ltv = frame.loc[frame["financing_purpose"] == "refinancing", "ltv"].isna().to_numpy()
    assert blank_ltv.any()
    assert all("ltv" in names for names in refinancing.loc[blank_ltv, "missing_features"])


# --- advisory PD ----------------------------------------------------------------------------


def test_the_packaged_model_gives_an_advisory_pd(packaged, new_builds):
    assert "outcomes" not in packaged.card  # trained before the field: read as synthetic
    assert not packaged.pd_is_binding
    assert predict_as_scoring(packaged, new_builds)["pd_advisory"].all()
    card = json.loads((ROOT / "rules/model/default_model.card.json").read_text("utf-8"))
    assert card["outcomes"] == "synthetic"
    assert "advisory" in (ROOT / "rules/model/default_model.card.md").read_text("utf-8")


@pytest.fixture(scope="module")
def real_model():
    """Shared (trained once per process): a test that changes it takes a copy."""
    return trained("logistic", outcomes="real")


def test_only_a_model_on_real_outcomes_gives_a_binding_pd(real_model, history):
    assert real_model.card["outcomes"] == "real" and real_model.pd_is_binding
    assert not predict_as_scoring(real_model, history.head(5))["pd_advisory"].any()
    synthetic = trained("logistic", outcomes="synthetic")  # on history.iloc[:3000]
    assert synthetic.card["outcomes"] == "synthetic" and not synthetic.pd_is_binding
    assert predict_as_scoring(synthetic, history.head(5))["pd_advisory"].all()
    with pytest.raises(ModelError, match="unknown kind of outcomes"):
        train_model(history.iloc[:3000], "defaulted", kind="logistic", outcomes="REAL")


def test_a_history_marked_synthetic_trains_a_synthetic_model(history):
    table = read_table(HISTORY)  # its parquet schema metadata says synthetic: true
    assert table.attrs["outcomes"] == "synthetic"
    model = train_model(table.iloc[:3000], "defaulted", kind="logistic")
    assert model.card["outcomes"] == "synthetic"
    assert trained("logistic").card["outcomes"] == "real"  # history.iloc[:3000], no attrs


def test_outcomes_survive_save_and_load_and_a_wrong_value_is_refused(real_model, tmp_path):
    path = tmp_path / "bank.skops"
    save_model(real_model, path)
    assert load_model(path).pd_is_binding
    assert "- outcomes: real" in path.with_suffix(".card.md").read_text("utf-8")
    odd = copy.deepcopy(real_model)  # the shared model stays as trained
    odd.card["outcomes"] = "mostly real"
    save_model(odd, tmp_path / "odd.skops")
    assert real_model.card["outcomes"] == "real"
    with pytest.raises(ModelError, match="outcomes is 'mostly real', not real or synthetic"):
        load_model(tmp_path / "odd.skops")


def test_empty_data_and_the_prediction_table_carry_the_new_columns(packaged, new_builds):
    empty = predict_as_scoring(packaged, new_builds.iloc[:0])
    assert {"absent_features", "pd_advisory"} <= set(empty.columns) and empty.empty
    frame = construction_without_appraisal(new_builds.head(3))
    table = prediction_table(frame, predict_as_scoring(packaged, frame), packaged)
    assert list(table["absent_features"]) == ["ltv"] * 3
    assert table["pd_advisory"].all()


def test_a_new_builds_zero_operating_years_is_absent_for_the_model(packaged, history):
    row = history.head(1)
    frame = pd.concat([row, row, row], ignore_index=True).assign(
        project_kind=["new", "new", "operating"],
        operating_since=[pd.NaT, pd.NaT, pd.Timestamp("2024-06-01")],
        operating_years=[0.0, np.nan, 1.0],
    )
    predicted = predict_as_scoring(packaged, frame)
    assert predicted["absent_features"].tolist()[:2] == [["operating_years"], ["operating_years"]]
    assert predicted["pd"].iloc[0] == predicted["pd"].iloc[1]
    assert "operating_years" not in predicted["absent_features"].iloc[2]
    assert "operating_years" not in reason_names(predicted.iloc[:2])


@pytest.mark.parametrize("feature", ["ltv", "operating_years", "facility_type"])
def test_feature_effects_equal_the_full_attribution(packaged, history, feature):
    """The fast path (one transform, only the trees that split on the feature) gives the
    same contributions as scoring every variant in full; a category takes the full path."""
    rows = prepare(history.head(200), packaged.numeric, packaged.categorical)
    values = (
        packaged.reference[feature]["edges"]
        if feature in packaged.numeric
        else [level for level in packaged.reference[feature]["levels"] if level != MISSING]
    )
    fast = packaged.feature_effects(rows, feature, values)
    trial = pd.concat([rows.assign(**{feature: value}) for value in values])
    full, _ = packaged.contributions(trial, trial)
    assert fast.shape == (len(values), len(rows))
    np.testing.assert_allclose(fast, full[feature].to_numpy().reshape(fast.shape), atol=1e-12)
