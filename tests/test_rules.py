"""Rule packs: loading with every problem reported, unit conversion, as-of selection,
vectorised verdicts, programme results, and the shipped cases."""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT

from assessment.criteria import conditions
from assessment.criteria.cases import run_cases
from assessment.criteria.evaluate import evaluate_rules
from assessment.criteria.rules import load_rules, metric_catalogue
from assessment.errors import RuleError
from assessment.intake.dictionary import PROGRAMMES

RULES = ROOT / "rules"


@pytest.fixture(scope="module")
def rule_set():
    return load_rules()


def _pack_copy(tmp_path, name="credit_policy"):
    target = tmp_path / name
    shutil.copytree(RULES / name, target)
    return target


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_shipped_packs_load(rule_set):
    assert {p.id for p in rule_set.packs} == {
        "compliance_cn",
        "green_dc_cn",
        "green_credit_cn",
        "creit_cn",
        "credit_policy",
        "plausibility_cn",
        "local_cn",
    }
    assert {r.programme for r in rule_set.rules} == set(PROGRAMMES)
    assert len({r.rule_id for r in rule_set.rules}) == len(rule_set.rules) >= 40


def test_every_shipped_case_passes(rule_set):
    results = run_cases(rule_set)
    failures = results[~results["ok"]]
    assert failures.empty, failures.to_string()


def test_every_rule_has_cases_around_its_threshold(rule_set):
    results = run_cases(rule_set)
    for rule in rule_set.rules:
        verdicts = set(results.loc[results["rule_id"] == rule.rule_id, "expected"])
        can_fail = not (
            rule.operator == "in"
            and set(rule.threshold) == set(metric_catalogue()[rule.metric].choices)
        )  # e.g. every facility type is eligible
        # a rule whose condition fixes its own metric can only fail where it applies (the
        # metering covenant of a design PUE, the edge site outside GB 40879)
        can_pass = rule.metric not in {t.name for t in conditions.names(rule.condition)}
        wanted = {"insufficient"} | ({"pass"} if can_pass else set())
        assert wanted | ({"fail"} if can_fail else set()) <= verdicts, rule.rule_id
        if rule.valid_from or rule.valid_to or rule.applies_when:
            assert "not_applicable" in verdicts, rule.rule_id


def test_every_rule_cites_a_source_with_confidence(rule_set):
    for pack in rule_set.packs:
        for rule in pack.rules:
            assert rule.source in pack.sources and rule.clause, rule.rule_id
            assert rule.confidence in ("verified", "verified_secondary", "unverified")
    credit = [r for r in rule_set.rules if r.programme == "credit"]
    assert any(
        r.confidence == "unverified" and "engine default" in r.title_en.lower() + r.clause.lower()
        for r in credit
    )


def test_threshold_units_are_converted_when_loaded(rule_set):
    size = next(r for r in rule_set.rules if r.rule_id == "REIT-SIZE-958")
    assert size.threshold == pytest.approx(1e9)  # written as 10 亿元
    utilisation = next(r for r in rule_set.rules if r.rule_id == "GRN-RACK-UTIL")
    assert utilisation.segment["threshold"].tolist() == pytest.approx([0.65, 0.60])


def test_all_problems_are_reported_together_with_file_row_column_and_hint(tmp_path):
    pack = _pack_copy(tmp_path)
    rules = pack / "rules.csv"
    _edit(rules, ",dscr_forecast_min,", ",dscr_forcast_min,")
    _edit(rules, ",gate,", ",must,")
    _edit(rules, ">=,1.20,", "~,1.20,")
    with pytest.raises(RuleError) as error:
        load_rules(tmp_path)
    rows = error.value.problems
    by_column = {row["column"]: row for row in rows}
    assert by_column["metric"]["message"] == "unknown metric 'dscr_forcast_min'"
    assert by_column["metric"]["hint"] == "did you mean 'dscr_forecast_min'?"
    assert by_column["severity"]["value"] == "must" and by_column["operator"]["value"] == "~"
    assert all(row["file"].endswith("rules.csv") and row["row"] for row in rows)
    assert "row 2, column metric" in str(error.value)


@pytest.mark.parametrize(
    ("old", "new", "column", "message"),
    [
        (
            ",dscr_forecast_min,>=,1.20,,",
            ",dscr_forecast_min,>=,1.20,亿元,",
            "unit",
            "does not fit",
        ),
        (",ENGINE-CREDIT,", ",ENGINE-CRDIT,", "source", "is not in pack.yaml"),
        ("2015-09-09", "2015-13-09", "valid_from", "not a date"),
    ],
)
def test_bad_cells_are_named(tmp_path, old, new, column, message):
    pack = _pack_copy(tmp_path)
    _edit(pack / "rules.csv", old, new)
    with pytest.raises(RuleError) as error:
        load_rules(pack)
    assert any(r["column"] == column and message in r["message"] for r in error.value.problems)


def test_a_condition_with_an_unknown_code_suggests_the_right_one(tmp_path):
    pack = _pack_copy(tmp_path, "green_dc_cn")
    _edit(pack / "rules.csv", "hub_zone == east", "hub_zone == eats")
    with pytest.raises(RuleError, match="did you mean 'east'"):
        load_rules(pack)


def test_rules_load_from_xlsx_with_the_same_columns(tmp_path):
    pack = _pack_copy(tmp_path)
    table = pd.read_csv(pack / "rules.csv", dtype=str, keep_default_na=False)
    table["operator"] = table["operator"].replace({"==": "eq", "!=": "ne"})
    table.to_excel(pack / "rules.xlsx", sheet_name="rules", index=False)
    (pack / "rules.csv").unlink()
    from_xlsx = load_rules(pack).rules
    from_csv = load_rules(RULES / "credit_policy").rules
    assert [(r.rule_id, r.threshold, r.valid_from) for r in from_xlsx] == [
        (r.rule_id, r.threshold, r.valid_from) for r in from_csv
    ]


def test_segment_tables_load_from_xlsx_sheets(tmp_path):
    pack = _pack_copy(tmp_path, "green_dc_cn")
    table = pd.read_csv(pack / "rules.csv", dtype=str, keep_default_na=False)
    table["operator"] = table["operator"].replace({"==": "eq", "!=": "ne"})  # "=..." is a formula
    segment = pd.read_csv(
        pack / "segments" / "rack_utilisation.csv", dtype=str, keep_default_na=False
    )
    with pd.ExcelWriter(pack / "rules.xlsx") as writer:
        table.to_excel(writer, sheet_name="rules", index=False)
        segment.to_excel(writer, sheet_name="rack_utilisation", index=False)
    (pack / "rules.csv").unlink()
    shutil.rmtree(pack / "segments")
    rule = next(r for r in load_rules(pack).rules if r.rule_id == "GRN-RACK-UTIL")
    assert rule.segment["threshold"].tolist() == pytest.approx([0.65, 0.60])


def _reit_frame(**values):
    base = {"distribution_yield_forecast_min": 0.035, "asset_rights": "ownership"}
    frame = pd.DataFrame([{**base, **values}], index=pd.Index(["P1"], name="project_id"))
    frame["asset_rights"] = frame["asset_rights"].astype("string")
    return frame


@pytest.mark.parametrize(
    ("as_of", "verdict"),
    [
        (dt.date(2024, 3, 15), "fail"),
        (dt.date(2024, 9, 15), "not_applicable"),
        (dt.date(2023, 3, 1), "not_applicable"),
    ],
)
def test_the_2023_yield_floor_applies_only_in_its_vintage(rule_set, as_of, verdict):
    catalogue_columns = _all_metric_columns(rule_set, _reit_frame())
    evaluation = evaluate_rules(catalogue_columns, rule_set, as_of)
    assert evaluation.verdicts.loc["P1", "REIT-YIELD-2023"] == verdict


def _all_metric_columns(rule_set, frame):
    kinds = {"number": "float64", "bool": "boolean", "date": "datetime64[ns]"}
    for name, metric in metric_catalogue().items():
        if name not in frame.columns:
            frame[name] = pd.Series(
                [None] * len(frame), index=frame.index, dtype=kinds.get(metric.kind, "string")
            )
    return frame


def test_programme_results_from_gates_and_scores(rule_set):
    frame = _all_metric_columns(
        rule_set,
        pd.DataFrame(
            {
                "dscr_forecast_min": [1.5, 1.1, np.nan],
                "equity_ratio": [0.3, 0.3, 0.3],
                "leverage": [0.6, 0.6, 0.6],
                "loan_tenor_years": [10.0, 20.0, 10.0],
                "contracted_revenue_share": [0.8, 0.8, 0.5],
            },
            index=pd.Index(["good", "weak", "unknown"], name="project_id"),
        ),
    )
    results = evaluate_rules(frame, rule_set, dt.date(2025, 6, 30)).programmes
    # CR-DSCR-MIN is an engine default (unverified): failing alone it does not make the
    # project ineligible, it leaves the outcome to a person
    assert results["credit_status"].tolist() == ["eligible", "unverified", "insufficient"]
    assert results["credit_eligible"].tolist() == [True, pd.NA, pd.NA]
    assert results.loc["good", "credit_score"] == 100.0
    assert results.loc["weak", "credit_score"] == 60.0  # tenor (weight 40) fails
    assert results.loc["unknown", "credit_score"] == 40.0  # contracted share fails
    assert results.loc["good", "credit_grade"] == "A"


def test_evaluation_is_vectorised_over_many_projects(rule_set):
    count = 20_000
    rng = np.random.default_rng(0)
    frame = _all_metric_columns(
        rule_set,
        pd.DataFrame(
            {"dscr_forecast_min": rng.uniform(0.8, 2.0, count)},
            index=pd.Index([f"P{i}" for i in range(count)], name="project_id"),
        ),
    )
    verdicts = evaluate_rules(frame, rule_set, dt.date(2025, 6, 30)).verdicts["CR-DSCR-MIN"]
    expected = np.where(frame["dscr_forecast_min"] >= 1.2, "pass", "fail")
    assert (verdicts.astype(str).to_numpy() == expected).all()
