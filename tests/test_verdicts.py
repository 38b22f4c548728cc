"""What each verdict means (issue 14): the legal floor for every purpose, green means green,
refer is a judgement and incomplete asks for fields, labels only where asked for, credit on the
loan asked for, and a ranking that follows the decision. Each test builds its applications as
a CSV list, reads it with the real reader and scores it with the shipped rules."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import ROOT, write_list

from assessment.cli import score_json
from assessment.pipeline import score_applications
from assessment.reports.workbook import score_sheets

AS_OF = dt.date(2025, 6, 30)
# the proposed loan's level annuity: CNY 700 m over 12 years at 4 %, priced by hand
ANNUITY = 700_000_000 * 0.04 / (1 - 1.04**-12)
MODEL = ROOT / "rules" / "model" / "default_model.skops"

# A sound construction loan for a new large general DC in the Zhangjiakou cluster: every gate in
# force passes and nothing is missing; each test changes what it is about.
BASE = {
    "project_id": "T-1",
    "project_name": "Test campus",
    "province": "hebei",
    "hub": "beijing_tianjin_hebei",
    "cluster": "zhangjiakou",
    "facility_type": "general",
    "project_kind": "new",
    "financing_purpose": "construction",
    "racks": 4000,
    "it_load_mw": 10,
    "rack_utilisation": "",
    "pue": "",
    "pue_design": 1.18,
    "it_energy_mwh": 60000,
    "green_power_share": 0.5,
    "wue_l_per_kwh": 0.5,
    "total_investment_cny": 1_000_000_000,
    "equity_cny": 300_000_000,
    "loan_amount_cny": 700_000_000,
    "loan_tenor_years": 12,
    "loan_interest_rate": 0.04,
    "contracted_revenue_share": 0.8,
    "top_tenant_share": 0.3,
    "wale_years": 10,
    "major_violations_3y": "false",
    "green_label_requested": "no",
    "glp_use_of_proceeds": "true",
    "glp_evaluation_process": "true",
    "glp_proceeds_management": "true",
    "glp_reporting": "true",
    **{f"operating_cash_flow_cny_{year}": 120_000_000 for year in (2025, 2026, 2027)},
    **{f"debt_service_cny_{year}": 80_000_000 for year in (2025, 2026, 2027)},
}
REIT = {
    "project_kind": "operating",
    "financing_purpose": "reit",
    "pue": 1.26,
    "pue_design": 1.25,
    "rack_utilisation": 0.8,
    "operating_since": "2019-06-01",
    "asset_rights": "ownership",
    "title_clear": "true",
    "land_use_compliant": "true",
    "transferable": "true",
    "approvals_complete": "true",
    "appraised_value_cny": 1_480_000_000,
    "reinvestment_share": 0.9,
    "loan_amount_cny": "",
    "loan_tenor_years": "",
    **{f"ebitda_cny_{year}": 110_000_000 for year in range(2022, 2028)},
    **{f"distributable_cash_cny_{year}": 80_000_000 for year in (2025, 2026, 2027)},
}


def scored_rows(tmp_path, rows: list[dict], as_of: dt.date = AS_OF, model=None) -> dict:
    """Each row (changes to :data:`BASE`) scored: project id -> its JSON record."""
    full = [BASE | {"project_id": f"T-{i}"} | row for i, row in enumerate(rows, start=1)]
    path = write_list(tmp_path / "applications.csv", full)
    scored = score_applications(path, as_of=as_of, model=model)
    assert scored.applications.problems.query("severity == 'error'").empty
    return {p["project_id"]: p for p in score_json(scored)["projects"]}


def one(tmp_path, row: dict, **options) -> dict:
    return scored_rows(tmp_path, [row], **options)["T-1"]


def recommendation(record: dict) -> str:
    return record["decision"]["recommendation"]


def reason_ids(record: dict) -> set[str]:
    return {r["criterion"] for r in record["decision"]["reasons"] if r["kind"] == "rule"}


def status(record: dict, programme: str) -> str:
    return record["programmes"][programme]["status"]


def verdict(record: dict, rule_id: str) -> str:
    return next(r["verdict"] for r in record["rules"] if r["rule_id"] == rule_id)


def test_the_base_case_is_approved_with_only_its_covenants(tmp_path):
    record = one(tmp_path, {})
    assert recommendation(record) == "approve_with_conditions", record["decision"]
    # a new build is judged on its design PUE: meter it after completion
    assert [c["criterion"] for c in record["decision"]["conditions"]] == ["CMP-PUE-METERING"]
    assert status(record, "compliance") == "eligible" and status(record, "credit") == "eligible"
    operating = {"project_kind": "operating", "pue": 1.2, "operating_since": "2019-06-01"}
    record = one(tmp_path, operating | {"financing_purpose": "refinancing"})
    assert recommendation(record) == "approve", record["decision"]


# -- a failed gate is never "all gates pass" -----------------------------------------------------
@pytest.mark.parametrize("purpose", ["reit", "refinancing", "acquisition", "construction"])
@pytest.mark.parametrize(
    ("pue", "floor"), [(1.48, "pass"), (1.49, "borderline"), (1.5, "borderline"), (1.51, "fail")]
)
def test_the_legal_floor_applies_to_every_purpose(tmp_path, purpose, pue, floor):
    extra = REIT if purpose == "reit" else {"project_kind": "operating", "rack_utilisation": 0.8}
    row = extra | {"financing_purpose": purpose, "pue": pue, "operating_since": "2019-06-01"}
    record = one(tmp_path, row)
    named = {r["criterion"]: r["verdict"] for r in record["decision"]["reasons"]}
    if floor == "fail":
        assert status(record, "compliance") == "not_eligible"
        assert recommendation(record) == "decline"
        assert named["CMP-GB40879-LIMIT"] == "fail"
        assert "legal floor" in record["decision"]["decision_reason"]
        return
    assert status(record, "compliance") == "eligible"
    if floor == "borderline":  # within 0.01 of the limit (rules/decision/borderline.csv)
        assert named["CMP-GB40879-LIMIT"] == "borderline"
        assert recommendation(record) == "refer"
    else:
        assert "CMP-GB40879-LIMIT" not in named


def test_a_grade_four_reit_is_declined_not_approved(tmp_path):
    record = one(tmp_path, REIT | {"pue": 1.62})
    assert recommendation(record) == "decline"
    reason = next(r for r in record["decision"]["reasons"] if r["criterion"] == "CMP-GB40879-LIMIT")
    assert reason["value"] == 1.62 and reason["threshold"] == 1.5 and reason["source"] == "GB40879"


def test_a_new_build_failing_the_2024_caps_is_never_approved_as_green(tmp_path):
    row = {"green_label_requested": "yes", "pue_design": 1.28, "cluster": "none", "hub": "none"}
    record = one(tmp_path, row)
    assert verdict(record, "GRN-PUE-2024-LARGE-NEW") == "fail"
    label = record["decision"]["green_label"]
    assert label["status"] == "refused"
    assert "GRN-PUE-2024-LARGE-NEW" in {r["criterion"] for r in label["reasons"]}
    assert "pass" not in record["decision"]["decision_reason"] or recommendation(record) in (
        "approve",
        "approve_with_conditions",
    )


# -- green means green ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pue", "green", "compliance"),
    [
        (1.29, "eligible", "eligible"),
        (1.3, "eligible", "eligible"),
        (1.31, "not_eligible", "eligible"),
        (1.35, "not_eligible", "eligible"),
        (1.5, "not_eligible", "eligible"),
        (1.51, "not_eligible", "not_eligible"),
    ],
)
def test_green_is_grade_two_and_the_floor_is_grade_three(tmp_path, pue, green, compliance):
    row = {
        "project_kind": "operating",
        "financing_purpose": "refinancing",
        "pue": pue,
        "operating_since": "2019-06-01",
        "rack_utilisation": 0.8,
        "cluster": "none",
        "hub": "none",
        "green_label_requested": "yes",
    }
    record = one(tmp_path, row)
    assert status(record, "green") == green
    assert status(record, "compliance") == compliance


def test_an_operating_site_is_judged_on_its_measured_pue_only(tmp_path):
    row = {
        "project_kind": "operating",
        "financing_purpose": "refinancing",
        "pue": "",
        "pue_design": 1.15,
        "operating_since": "2019-06-01",
        "rack_utilisation": 0.8,
        "green_label_requested": "yes",
    }
    record = one(tmp_path, row)
    assert record["indicators"]["pue_assessed"] is None
    assert status(record, "green") == "insufficient"
    assert recommendation(record) == "incomplete"
    assert "pue" in record["decision"]["missing_for_decision"]


def test_an_expansion_is_judged_on_its_new_capacity_design(tmp_path):
    row = {
        "project_kind": "expansion",
        "pue": 1.45,
        "pue_design": 1.18,
        "green_label_requested": "yes",
    }
    record = one(tmp_path, row)
    assert record["indicators"]["pue_assessed"] == 1.18
    assert record["indicators"]["pue_basis"] == "design"
    assert status(record, "green") == "eligible"


def test_a_retrofit_is_judged_on_design_with_a_metering_covenant(tmp_path):
    row = {
        "project_kind": "retrofit",
        "financing_purpose": "retrofit",
        "pue": 1.61,
        "pue_design": 1.28,
        "cluster": "none",
        "hub": "none",
        "green_label_requested": "yes",
    }
    record = one(tmp_path, row)
    assert record["indicators"]["pue_assessed"] == 1.28
    assert status(record, "compliance") == "eligible" and status(record, "green") == "eligible"
    assert record["decision"]["green_label"]["status"] == "granted"
    covenants = {c["criterion"] for c in record["decision"]["conditions"]}
    assert "CMP-PUE-METERING" in covenants
    assert recommendation(record) == "approve_with_conditions"


def test_an_edge_site_is_out_of_gb40879_and_gets_no_green_grade(tmp_path):
    row = {
        "facility_type": "edge",
        "racks": 48,
        "it_load_mw": 0.12,
        "it_energy_mwh": 700,
        "pue_design": 1.35,
        "cluster": "none",
        "hub": "greater_bay_area",
        "province": "guangdong",
        "green_label_requested": "yes",
    }
    record = one(tmp_path, row)
    for rule_id in (
        "CMP-GB40879-LIMIT",
        "GRN-PUE-GRADE2",
        "GRN-PUE-2024-HUB-NEW",
        "GC-CAT2025-6.6.2-PUE",
        "GC-CAT2021-DC-PUE",
    ):
        assert verdict(record, rule_id) == "not_applicable", rule_id
    green = record["programmes"]["green"]
    assert green["status"] == "not_applicable"
    assert green["grade"] is None and green["coverage"] < 0.5
    assert verdict(record, "GC-EDGE-OUT-OF-SCOPE") == "fail"
    assert record["decision"]["green_label"]["status"] == "refused"


def test_a_grade_needs_the_minimum_coverage(tmp_path):
    row = {
        "project_kind": "operating",
        "financing_purpose": "refinancing",
        "pue": 1.2,
        "operating_since": "2019-06-01",
        "rack_utilisation": 0.8,
    }
    record = one(tmp_path, row)
    green = record["programmes"]["green"]
    assert green["coverage"] >= 0.5 and green["grade"] is not None


def test_the_national_green_dc_label_reads_its_conditions_as_gates(tmp_path):
    row = {
        "project_kind": "operating",
        "financing_purpose": "refinancing",
        "pue": 1.22,
        "operating_since": "2019-06-01",
        "rack_utilisation": 0.7,
        "green_power_share": 0.15,
        "green_label_requested": "yes",
    }
    later = dt.date(2025, 12, 31)
    record = one(tmp_path, row, as_of=later)
    assert verdict(record, "NGDC-RE") == "fail"  # Hebei's weight is 19.1 %
    assert record["indicators"]["re_weight_province"] == pytest.approx(0.191)
    assert verdict(record, "NGDC-RACKS") == "pass"
    record = one(tmp_path, row | {"green_power_share": 0.191}, as_of=later)
    assert verdict(record, "NGDC-RE") == "pass"
    assert status(record, "ngdc") == "eligible"
    assert recommendation(record) == "approve_with_conditions"  # ngdc never decides


# -- refer is a judgement, incomplete asks for fields ----------------------------------------------
def test_a_missing_field_is_incomplete_with_the_field_named(tmp_path):
    record = one(tmp_path, {"total_investment_cny": ""})
    assert recommendation(record) == "incomplete"
    assert "total_investment_cny" in record["decision"]["missing_for_decision"]


def test_an_unverified_rule_never_declines_alone(tmp_path):
    record = one(tmp_path, {f"operating_cash_flow_cny_{y}": ANNUITY * 1.1 for y in (2025, 2026)})
    assert verdict(record, "CR-DSCR-MIN") == "fail"
    assert status(record, "credit") == "unverified"
    assert recommendation(record) == "refer"
    reason = next(r for r in record["decision"]["reasons"] if r["criterion"] == "CR-DSCR-MIN")
    assert reason["confidence"] == "unverified"


def test_a_verified_gate_declines(tmp_path):
    record = one(tmp_path, {"equity_cny": 150_000_000})
    assert verdict(record, "CR-EQUITY-MIN") == "fail"
    assert recommendation(record) == "decline" and "CR-EQUITY-MIN" in reason_ids(record)


@pytest.mark.parametrize(
    ("dscr", "expected"),
    [(1.19, "refer"), (1.2, "borderline"), (1.25, "borderline"), (1.26, "pass")],
)
def test_a_pass_within_the_borderline_margin_is_referred(tmp_path, dscr, expected):
    cash = {f"operating_cash_flow_cny_{y}": dscr * ANNUITY for y in (2025, 2026, 2027)}
    record = one(tmp_path, cash)
    named = {r["criterion"]: r["verdict"] for r in record["decision"]["reasons"]}
    if expected == "pass":
        assert "CR-DSCR-MIN" not in named and recommendation(record) != "refer"
    elif expected == "borderline":
        assert named["CR-DSCR-MIN"] == "borderline" and recommendation(record) == "refer"
        assert "borderline" in record["decision"]["decision_reason"]
    else:
        assert named["CR-DSCR-MIN"] == "fail" and recommendation(record) == "refer"


def test_a_flag_is_referred_to_a_person(tmp_path):
    record = one(tmp_path, {"top_tenant_share": 0.6})
    assert verdict(record, "CR-TENANT-CONC") == "fail"
    assert recommendation(record) == "refer" and "CR-TENANT-CONC" in reason_ids(record)


def test_the_unverified_2021_catalogue_refers_a_green_label_before_october_2025(tmp_path):
    row = {
        "project_kind": "operating",
        "financing_purpose": "refinancing",
        "pue": 1.4,
        "operating_since": "2019-06-01",
        "rack_utilisation": 0.8,
        "cluster": "none",
        "hub": "none",
        "green_label_requested": "yes",
    }
    record = one(tmp_path, row, as_of=dt.date(2024, 6, 30))
    assert verdict(record, "GC-CAT2021-DC-PUE") == "fail"
    assert status(record, "green_credit") == "unverified"
    record = one(tmp_path, row, as_of=dt.date(2022, 10, 31))
    assert verdict(record, "GC-CAT2021-DC-PUE") == "not_applicable"  # no GB 40879 yet


def test_a_major_violation_is_a_flag_not_a_decline(tmp_path):
    record = one(tmp_path, {"major_violations_3y": "true"})
    assert verdict(record, "CMP-MAJOR-VIOLATIONS") == "fail"
    assert recommendation(record) == "refer"


# -- labels only where asked for -----------------------------------------------------------------
def test_a_conventional_loan_failing_the_green_test_is_not_referred(tmp_path):
    row = {"pue_design": 1.24, "cluster": "none", "hub": "none", "green_label_requested": "no"}
    record = one(tmp_path, row)
    assert verdict(record, "GRN-PUE-GRADE2") == "pass"
    record = one(tmp_path, row | {"pue_design": 1.4})
    assert verdict(record, "GRN-PUE-GRADE2") == "fail"
    assert status(record, "green") == "not_requested"
    assert record["decision"]["green_label"]["status"] == "not_requested"
    assert recommendation(record) == "approve_with_conditions"  # the metering covenant only


def test_a_requested_label_that_fails_is_refused_and_the_loan_decided_on_credit(tmp_path):
    row = {"pue_design": 1.4, "cluster": "none", "hub": "none", "green_label_requested": "yes"}
    record = one(tmp_path, row)
    assert record["decision"]["green_label"]["status"] == "refused"
    assert "GRN-PUE-GRADE2" in {
        r["criterion"] for r in record["decision"]["green_label"]["reasons"]
    }
    assert recommendation(record) == "approve_with_conditions"  # the metering covenant only


def test_refinancing_an_eligible_green_dc_can_be_green_with_glp_as_conditions(tmp_path):
    row = {
        "project_kind": "operating",
        "financing_purpose": "refinancing",
        "pue": 1.22,
        "operating_since": "2019-06-01",
        "rack_utilisation": 0.8,
        "green_label_requested": "yes",
        "glp_reporting": "",
    }
    record = one(tmp_path, row, as_of=dt.date(2025, 12, 31))
    assert verdict(record, "GC-PURPOSE") == "pass"
    assert record["decision"]["green_label"]["status"] == "granted"
    conditions = {c["criterion"] for c in record["decision"]["conditions"]}
    assert "GC-GLP-REPORTING" in conditions
    assert recommendation(record) == "approve_with_conditions"


def test_programmes_not_asked_for_read_not_requested(tmp_path):
    record = one(tmp_path, REIT)
    assert status(record, "credit") == "not_requested"
    assert status(record, "green_credit") == "not_requested"
    assert record["programmes"]["green_credit"]["requested"] is False
    record = one(tmp_path, {})
    assert status(record, "reit") == "not_requested"


# -- credit on the loan asked for ----------------------------------------------------------------
def test_dscr_is_the_forecast_under_the_proposed_loan_not_the_old_one(tmp_path):
    history = {f"operating_cash_flow_cny_{y}": 100_000_000 for y in (2022, 2023, 2024)}
    old_loan = {f"debt_service_cny_{y}": 150_000_000 for y in (2022, 2023, 2024)}
    row = {
        "project_kind": "operating",
        "financing_purpose": "refinancing",
        "pue": 1.25,
        "operating_since": "2019-06-01",
        "rack_utilisation": 0.8,
        **history,
        **old_loan,
    }
    record = one(tmp_path, row)
    assert record["indicators"]["dscr_hist_min"] < 1.2
    # the reported forecast debt service (80 m a year) is not the proposed loan's
    assert record["indicators"]["dscr_forecast_min"] == pytest.approx(120_000_000 / ANNUITY)
    assert verdict(record, "CR-DSCR-MIN") == "pass"


def test_a_reit_issue_has_no_pd_decision(tmp_path):
    record = one(tmp_path, REIT, model=MODEL)
    assert record["programmes"]["credit"]["pd"] is not None
    assert recommendation(record) == "approve", record["decision"]


def test_the_packaged_model_pd_is_advisory_and_never_declines(tmp_path):
    rows = [
        {
            "contracted_revenue_share": 0.1,
            "top_tenant_share": 0.3,
            "wale_years": 0.5,
            "equity_cny": 200_000_000,
            "loan_amount_cny": 800_000_000,
        }
    ]
    record = scored_rows(tmp_path, rows, model=MODEL)["T-1"]
    assert record["programmes"]["credit"]["pd_advisory"] is True
    assert record["decision"]["decision_row"] != 5  # the binding PD decline
    assert recommendation(record) != "decline" or "pd" not in record["decision"]["decision_reason"]


def test_ltv_of_a_construction_loan_is_never_a_risk_reason(tmp_path):
    record = one(tmp_path, {}, model=MODEL)
    features = {r["feature"] for r in record["programmes"]["credit"]["reasons"]}
    assert "ltv" not in features
    assert "ltv" not in record["programmes"]["credit"]["missing_features"]


# -- time and place ------------------------------------------------------------------------------
def test_a_new_build_without_an_operating_date_is_not_yet_a_reit(tmp_path):
    record = one(tmp_path, REIT | {"project_kind": "new", "operating_since": ""})
    assert record["indicators"]["operating_years"] == 0
    assert verdict(record, "REIT-OPERATING-3Y-1014") == "fail"
    assert recommendation(record) == "decline"
    reason = next(r for r in record["decision"]["reasons"] if r["criterion"].startswith("REIT-OP"))
    assert reason["remedy"].startswith("Not yet eligible: operating from - ")
    record = one(tmp_path, REIT | {"operating_since": "2023-09-01"})
    reason = next(r for r in record["decision"]["reasons"] if r["criterion"].startswith("REIT-OP"))
    assert reason["remedy"].startswith("Not yet eligible: operating from 2023-09-01 ")


def test_the_emission_factor_is_the_one_published_by_the_as_of_date(tmp_path):
    record = one(tmp_path, {})
    factor = record["indicators"]["emission_factor"]
    assert factor["value"] == 0.7252 and factor["year"] == 2022


def test_a_missing_province_comes_from_the_cluster_or_leaves_carbon_undecided(tmp_path):
    record = one(tmp_path, {"province": ""})
    assert record["indicators"]["province_assessed"] == "hebei"
    record = one(tmp_path, {"province": "", "cluster": "none", "hub": "none"})
    assert record["indicators"]["emission_factor"]["value"] is None
    assert record["indicators"]["emissions_tco2"] is None


@pytest.mark.parametrize("share", [0.0, 0.5, 1.0])
def test_market_emissions_stay_between_zero_and_location(tmp_path, share):
    indicators = one(tmp_path, {"green_power_share": share})["indicators"]
    assert 0 <= indicators["emissions_market_tco2"] <= indicators["emissions_tco2"]


def test_a_missing_purpose_does_not_hide_a_failed_legal_floor(tmp_path):
    base = {"project_kind": "operating", "operating_since": "2019-06-01"}
    record = one(tmp_path, base | {"financing_purpose": "", "pue": 1.62})
    assert recommendation(record) == "decline" and "CMP-GB40879-LIMIT" in reason_ids(record)
    record = one(tmp_path, base | {"financing_purpose": "", "pue": 1.2})
    assert recommendation(record) == "incomplete"
    assert record["decision"]["missing_for_decision"] == ["financing_purpose"]


def test_the_workbook_shows_what_was_asked_for(tmp_path):
    path = write_list(tmp_path / "list.csv", [BASE | {"green_label_requested": "no"}])
    scored = score_applications(path, as_of=AS_OF)
    book = score_sheets(scored)
    programmes = book["Programmes"].set_index("project_id")
    assert programmes.at["T-1", "green_status"] == "not_requested"
    assert programmes.at["T-1", "credit_status"] == "eligible"
    decision = book["Decision"].set_index("project_id")
    assert decision.at["T-1", "green_label"] == "not_requested"
    assert "missing_for_decision" in decision.columns
