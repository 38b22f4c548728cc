"""What each verdict means (issue 14): the legal floor for every purpose, green means green,
refer is a judgement and incomplete asks for fields, labels only where asked for, credit on the
loan asked for, and a ranking that follows the decision. Each test builds its applications as
a CSV list, reads it with the real reader and scores it with the shipped rules. Every row is
registered with :func:`case` when the module loads and scored once per assessment date and
model (projects are scored independently; the first test checks that)."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest
from helpers import ROOT, SOUND_LOAN, write_list

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
    "green_certificates_mwh": 35_400,  # the share's evidence: 0.5 of 60,000 MWh x PUE 1.18
    "wue_l_per_kwh": 0.5,
    **SOUND_LOAN,
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
    "office_hotel_share": 0.0,  # 1014: offices and hotels at most 50 % (30 %) of the floor area
    "loan_amount_cny": "",
    "loan_tenor_years": "",
    **{f"ebitda_cny_{year}": 110_000_000 for year in range(2022, 2028)},
    **{f"distributable_cash_cny_{year}": 80_000_000 for year in (2025, 2026, 2027)},
}


# (as_of, model) -> the rows (changes to BASE) of the tests, scored once by the `batches` fixture
CASES: dict[tuple[dt.date, object], list[dict]] = {}


def case(row: dict, as_of: dt.date = AS_OF, model=None) -> dict:
    """Register ``row`` to be scored with its batch; returns the row."""
    rows = CASES.setdefault((as_of, model), [])
    if row not in rows:
        rows.append(row)
    return row


def scored_rows(path, rows: list[dict], as_of: dt.date = AS_OF, model=None):
    """Each row (changes to :data:`BASE`) scored: project id -> its JSON record, and the run."""
    full = [BASE | {"project_id": f"T-{i}"} | row for i, row in enumerate(rows, start=1)]
    scored = score_applications(write_list(path, full), as_of=as_of, model=model)
    assert scored.applications.problems.query("severity == 'error'").empty
    return {p["project_id"]: p for p in score_json(scored)["projects"]}, scored


@pytest.fixture(scope="module")
def batches(tmp_path_factory) -> dict:
    """Every registered case scored, one run per (as_of, model): key -> (records, run)."""
    folder = tmp_path_factory.mktemp("verdicts")
    return {
        key: scored_rows(folder / f"list_{n}.csv", rows, *key)
        for n, (key, rows) in enumerate(CASES.items())
    }


def project_id(row: dict, as_of: dt.date = AS_OF, model=None) -> str:
    """The id the registered ``row`` has in its batch."""
    return f"T-{CASES[(as_of, model)].index(row) + 1}"


def one(batches: dict, row: dict, as_of: dt.date = AS_OF, model=None) -> dict:
    """The record of the registered ``row``, scored in its batch."""
    return batches[(as_of, model)][0][project_id(row, as_of, model)]


def recommendation(record: dict) -> str:
    return record["decision"]["recommendation"]


def reason_ids(record: dict) -> set[str]:
    return {r["criterion"] for r in record["decision"]["reasons"] if r["kind"] == "rule"}


def status(record: dict, programme: str) -> str:
    return record["programmes"][programme]["status"]


def verdict(record: dict, rule_id: str) -> str:
    return next(r["verdict"] for r in record["rules"] if r["rule_id"] == rule_id)


AS_IS = case({})  # the base case itself
OPERATING = case({"project_kind": "operating", "pue": 1.2, "operating_since": "2019-06-01"})
REFINANCED = case(OPERATING | {"financing_purpose": "refinancing"})


def split_pd(record: dict) -> tuple[dict, float | None]:
    """A copy of ``record`` without the model's PD (equal only to rounding in a batch), and it."""
    copy = json.loads(json.dumps(record))
    return copy, copy["programmes"]["credit"].pop("pd", None)


def test_a_project_scores_the_same_alone_and_in_its_batch(batches, tmp_path):
    for model in (None, MODEL):
        assert project_id(REFINANCED, AS_OF, model) != "T-1" and len(CASES[(AS_OF, model)]) > 1
        alone = scored_rows(tmp_path / "alone.csv", [REFINANCED], AS_OF, model)[0]["T-1"]
        alone, pd_alone = split_pd(alone)
        batched, pd_batched = split_pd(one(batches, REFINANCED, AS_OF, model))
        assert alone == batched | {"project_id": "T-1"}
        assert (pd_alone is None) == (model is None) == (pd_batched is None)
        assert pd_alone == pd_batched or pd_alone == pytest.approx(pd_batched, rel=1e-9)


def test_the_base_case_is_approved_with_only_its_covenants(batches):
    record = one(batches, AS_IS)
    assert recommendation(record) == "approve_with_conditions", record["decision"]
    # a new build is judged on its design PUE: meter it after completion
    assert [c["criterion"] for c in record["decision"]["conditions"]] == ["CMP-PUE-METERING"]
    assert status(record, "compliance") == "eligible" and status(record, "credit") == "eligible"
    record = one(batches, REFINANCED)
    assert recommendation(record) == "approve", record["decision"]


# -- a failed gate is never "all gates pass" -----------------------------------------------------
PURPOSES = ["reit", "refinancing", "acquisition", "construction"]
FLOOR = [(1.48, "pass"), (1.49, "borderline"), (1.5, "borderline"), (1.51, "fail")]


def floor_row(purpose: str, pue: float) -> dict:
    extra = REIT if purpose == "reit" else {"project_kind": "operating", "rack_utilisation": 0.8}
    return extra | {"financing_purpose": purpose, "pue": pue, "operating_since": "2019-06-01"}


for _purpose, (_pue, _) in itertools.product(PURPOSES, FLOOR):
    case(floor_row(_purpose, _pue))


@pytest.mark.parametrize("purpose", PURPOSES)
@pytest.mark.parametrize(("pue", "floor"), FLOOR)
def test_the_legal_floor_applies_to_every_purpose(batches, purpose, pue, floor):
    record = one(batches, floor_row(purpose, pue))
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


GRADE_FOUR_REIT = case(REIT | {"pue": 1.62})


def test_a_grade_four_reit_is_declined_not_approved(batches):
    record = one(batches, GRADE_FOUR_REIT)
    assert recommendation(record) == "decline"
    reason = next(r for r in record["decision"]["reasons"] if r["criterion"] == "CMP-GB40879-LIMIT")
    assert reason["value"] == 1.62 and reason["threshold"] == 1.5 and reason["source"] == "GB40879"


OVER_2024_CAPS = case(
    {"green_label_requested": "yes", "pue_design": 1.28, "cluster": "none", "hub": "none"}
)


def test_a_new_build_failing_the_2024_caps_is_never_approved_as_green(batches):
    record = one(batches, OVER_2024_CAPS)
    assert verdict(record, "GRN-PUE-2024-LARGE-NEW") == "fail"
    label = record["decision"]["green_label"]
    assert label["status"] == "refused"
    assert "GRN-PUE-2024-LARGE-NEW" in {r["criterion"] for r in label["reasons"]}
    assert "pass" not in record["decision"]["decision_reason"] or recommendation(record) in (
        "approve",
        "approve_with_conditions",
    )


# -- green means green ---------------------------------------------------------------------------
GREEN = [
    (1.29, "eligible", "eligible"),
    (1.3, "eligible", "eligible"),
    (1.31, "not_eligible", "eligible"),
    (1.35, "not_eligible", "eligible"),
    (1.5, "not_eligible", "eligible"),
    (1.51, "not_eligible", "not_eligible"),
]


def green_row(pue: float) -> dict:
    return {
        "project_kind": "operating",
        "financing_purpose": "refinancing",
        "pue": pue,
        "operating_since": "2019-06-01",
        "rack_utilisation": 0.8,
        "cluster": "none",
        "hub": "none",
        "green_label_requested": "yes",
    }


for _pue, *_ in GREEN:
    case(green_row(_pue))


@pytest.mark.parametrize(("pue", "green", "compliance"), GREEN)
def test_green_is_grade_two_and_the_floor_is_grade_three(batches, pue, green, compliance):
    record = one(batches, green_row(pue))
    assert status(record, "green") == green
    assert status(record, "compliance") == compliance


MEASURED_ONLY = case(
    {
        "project_kind": "operating",
        "financing_purpose": "refinancing",
        "pue": "",
        "pue_design": 1.15,
        "operating_since": "2019-06-01",
        "rack_utilisation": 0.8,
        "green_label_requested": "yes",
    }
)


def test_an_operating_site_is_judged_on_its_measured_pue_only(batches):
    record = one(batches, MEASURED_ONLY)
    assert record["indicators"]["pue_assessed"] is None
    assert status(record, "green") == "insufficient"
    assert recommendation(record) == "incomplete"
    assert "pue" in record["decision"]["missing_for_decision"]


EXPANSION = case(
    {
        "project_kind": "expansion",
        "pue": 1.45,
        "pue_design": 1.18,
        "green_label_requested": "yes",
    }
)


def test_an_expansion_is_judged_on_its_new_capacity_design(batches):
    record = one(batches, EXPANSION)
    assert record["indicators"]["pue_assessed"] == 1.18
    assert record["indicators"]["pue_basis"] == "design"
    assert status(record, "green") == "eligible"


RETROFIT = case(
    {
        "project_kind": "retrofit",
        "financing_purpose": "retrofit",
        "pue": 1.61,
        "pue_design": 1.28,
        "cluster": "none",
        "hub": "none",
        "green_label_requested": "yes",
        "green_certificates_mwh": 38_400,  # 0.5 of 60,000 MWh x design PUE 1.28
    }
)


def test_a_retrofit_is_judged_on_design_with_a_metering_covenant(batches):
    record = one(batches, RETROFIT)
    assert record["indicators"]["pue_assessed"] == 1.28
    assert status(record, "compliance") == "eligible" and status(record, "green") == "eligible"
    assert record["decision"]["green_label"]["status"] == "granted"
    covenants = {c["criterion"] for c in record["decision"]["conditions"]}
    assert "CMP-PUE-METERING" in covenants
    assert recommendation(record) == "approve_with_conditions"


EDGE = case(
    {
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
)


def test_an_edge_site_is_out_of_gb40879_and_gets_no_green_grade(batches):
    record = one(batches, EDGE)
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


COVERED = case(
    {
        "project_kind": "operating",
        "financing_purpose": "refinancing",
        "pue": 1.2,
        "operating_since": "2019-06-01",
        "rack_utilisation": 0.8,
        "green_label_requested": True,  # a programme not asked for shows no grade
    }
)


def test_a_grade_needs_the_minimum_coverage(batches):
    record = one(batches, COVERED)
    green = record["programmes"]["green"]
    assert green["coverage"] >= 0.5 and green["grade"] is not None


LATER = dt.date(2025, 12, 31)
NGDC = {
    "project_kind": "operating",
    "financing_purpose": "refinancing",
    "pue": 1.22,
    "operating_since": "2019-06-01",
    "rack_utilisation": 0.7,
    "green_power_share": 0.15,
    "green_label_requested": "yes",
}
case(NGDC, as_of=LATER)
case(NGDC | {"green_power_share": 0.191}, as_of=LATER)


def test_the_national_green_dc_label_reads_its_conditions_as_gates(batches):
    record = one(batches, NGDC, as_of=LATER)
    assert verdict(record, "NGDC-RE") == "fail"  # Hebei's weight is 19.1 %
    assert record["indicators"]["re_weight_province"] == pytest.approx(0.191)
    assert verdict(record, "NGDC-RACKS") == "pass"
    record = one(batches, NGDC | {"green_power_share": 0.191}, as_of=LATER)
    assert verdict(record, "NGDC-RE") == "pass"
    assert status(record, "ngdc") == "eligible"
    assert recommendation(record) == "approve_with_conditions"  # ngdc never decides


# -- refer is a judgement, incomplete asks for fields ----------------------------------------------
NO_INVESTMENT = case({"total_investment_cny": ""})


def test_a_missing_field_is_incomplete_with_the_field_named(batches):
    record = one(batches, NO_INVESTMENT)
    assert recommendation(record) == "incomplete"
    assert "total_investment_cny" in record["decision"]["missing_for_decision"]


THIN_CASH = case({f"operating_cash_flow_cny_{y}": ANNUITY * 1.1 for y in (2025, 2026)})


def test_an_unverified_rule_never_declines_alone(batches):
    record = one(batches, THIN_CASH)
    assert verdict(record, "CR-DSCR-MIN") == "fail"
    assert status(record, "credit") == "unverified"
    assert recommendation(record) == "refer"
    reason = next(r for r in record["decision"]["reasons"] if r["criterion"] == "CR-DSCR-MIN")
    assert reason["confidence"] == "unverified"


LOW_EQUITY = case({"equity_cny": 150_000_000})


def test_a_verified_gate_declines(batches):
    record = one(batches, LOW_EQUITY)
    assert verdict(record, "CR-EQUITY-MIN") == "fail"
    assert recommendation(record) == "decline" and "CR-EQUITY-MIN" in reason_ids(record)


DSCR = [(1.19, "refer"), (1.2, "borderline"), (1.25, "borderline"), (1.26, "pass")]


def cash_row(dscr: float) -> dict:
    return {f"operating_cash_flow_cny_{y}": dscr * ANNUITY for y in (2025, 2026, 2027)}


for _dscr, _ in DSCR:
    case(cash_row(_dscr))


@pytest.mark.parametrize(("dscr", "expected"), DSCR)
def test_a_pass_within_the_borderline_margin_is_referred(batches, dscr, expected):
    record = one(batches, cash_row(dscr))
    named = {r["criterion"]: r["verdict"] for r in record["decision"]["reasons"]}
    if expected == "pass":
        assert "CR-DSCR-MIN" not in named and recommendation(record) != "refer"
    elif expected == "borderline":
        assert named["CR-DSCR-MIN"] == "borderline" and recommendation(record) == "refer"
        assert "borderline" in record["decision"]["decision_reason"]
    else:
        assert named["CR-DSCR-MIN"] == "fail" and recommendation(record) == "refer"


TENANT_HEAVY = case({"top_tenant_share": 0.6})


def test_a_flag_is_referred_to_a_person(batches):
    record = one(batches, TENANT_HEAVY)
    assert verdict(record, "CR-TENANT-CONC") == "fail"
    assert recommendation(record) == "refer" and "CR-TENANT-CONC" in reason_ids(record)


CAT2021 = green_row(1.4)
MID_2024, LATE_2022 = dt.date(2024, 6, 30), dt.date(2022, 10, 31)
case(CAT2021, as_of=MID_2024)
case(CAT2021, as_of=LATE_2022)


def test_the_unverified_2021_catalogue_refers_a_green_label_before_october_2025(batches):
    record = one(batches, CAT2021, as_of=MID_2024)
    assert verdict(record, "GC-CAT2021-DC-PUE") == "fail"
    assert status(record, "green_credit") == "unverified"
    record = one(batches, CAT2021, as_of=LATE_2022)
    assert verdict(record, "GC-CAT2021-DC-PUE") == "not_applicable"  # no GB 40879 yet


VIOLATION = case({"major_violations_3y": "true"})


def test_a_major_violation_is_a_flag_not_a_decline(batches):
    record = one(batches, VIOLATION)
    assert verdict(record, "CMP-MAJOR-VIOLATIONS") == "fail"
    assert recommendation(record) == "refer"


# -- labels only where asked for -----------------------------------------------------------------
CONVENTIONAL = case(
    {"pue_design": 1.24, "cluster": "none", "hub": "none", "green_label_requested": "no"}
)
case(CONVENTIONAL | {"pue_design": 1.4})


def test_a_conventional_loan_failing_the_green_test_is_not_referred(batches):
    record = one(batches, CONVENTIONAL)
    assert verdict(record, "GRN-PUE-GRADE2") == "pass"
    record = one(batches, CONVENTIONAL | {"pue_design": 1.4})
    assert verdict(record, "GRN-PUE-GRADE2") == "fail"
    assert status(record, "green") == "not_requested"
    assert record["decision"]["green_label"]["status"] == "not_requested"
    assert recommendation(record) == "approve_with_conditions"  # the metering covenant only


REFUSED_LABEL = case(
    {
        **{"pue_design": 1.4, "cluster": "none", "hub": "none", "green_label_requested": "yes"},
        "green_certificates_mwh": 42_000,  # 0.5 of 60,000 MWh x PUE 1.4: evidenced
    }
)


def test_a_requested_label_that_fails_is_refused_and_the_loan_decided_on_credit(batches):
    record = one(batches, REFUSED_LABEL)
    assert record["decision"]["green_label"]["status"] == "refused"
    assert "GRN-PUE-GRADE2" in {
        r["criterion"] for r in record["decision"]["green_label"]["reasons"]
    }
    assert recommendation(record) == "approve_with_conditions"  # the metering covenant only


GREEN_REFINANCING = case(
    {
        "project_kind": "operating",
        "financing_purpose": "refinancing",
        "pue": 1.22,
        "operating_since": "2019-06-01",
        "rack_utilisation": 0.8,
        "green_label_requested": "yes",
        "glp_reporting": "",
    },
    as_of=LATER,
)


def test_refinancing_an_eligible_green_dc_can_be_green_with_glp_as_conditions(batches):
    record = one(batches, GREEN_REFINANCING, as_of=LATER)
    assert verdict(record, "GC-PURPOSE") == "pass"
    assert record["decision"]["green_label"]["status"] == "granted"
    conditions = {c["criterion"] for c in record["decision"]["conditions"]}
    assert "GC-GLP-REPORTING" in conditions
    assert recommendation(record) == "approve_with_conditions"


case(REIT)


def test_programmes_not_asked_for_read_not_requested(batches):
    record = one(batches, REIT)
    assert status(record, "credit") == "not_requested"
    assert status(record, "green_credit") == "not_requested"
    assert record["programmes"]["green_credit"]["requested"] is False
    record = one(batches, AS_IS)
    assert status(record, "reit") == "not_requested"


# -- credit on the loan asked for ----------------------------------------------------------------
OLD_LOAN = case(
    {
        "project_kind": "operating",
        "financing_purpose": "refinancing",
        "pue": 1.25,
        "operating_since": "2019-06-01",
        "rack_utilisation": 0.8,
        **{f"operating_cash_flow_cny_{y}": 100_000_000 for y in (2022, 2023, 2024)},
        **{f"debt_service_cny_{y}": 150_000_000 for y in (2022, 2023, 2024)},
    }
)


def test_dscr_is_the_forecast_under_the_proposed_loan_not_the_old_one(batches):
    record = one(batches, OLD_LOAN)
    assert record["indicators"]["dscr_hist_min"] < 1.2
    # the reported forecast debt service (80 m a year) is not the proposed loan's
    assert record["indicators"]["dscr_forecast_min"] == pytest.approx(120_000_000 / ANNUITY)
    assert verdict(record, "CR-DSCR-MIN") == "pass"


case(REIT, model=MODEL)


def test_a_reit_issue_has_no_pd_decision(batches):
    record = one(batches, REIT, model=MODEL)
    assert record["programmes"]["credit"]["pd"] is not None
    assert recommendation(record) == "approve", record["decision"]


RISKY = case(
    {
        "contracted_revenue_share": 0.1,
        "top_tenant_share": 0.3,
        "wale_years": 0.5,
        "equity_cny": 200_000_000,
        "loan_amount_cny": 800_000_000,
    },
    model=MODEL,
)


def test_the_packaged_model_pd_is_advisory_and_never_declines(batches):
    record = one(batches, RISKY, model=MODEL)
    assert record["programmes"]["credit"]["pd_advisory"] is True
    assert record["decision"]["decision_row"] != 5  # the binding PD decline
    assert recommendation(record) != "decline" or "pd" not in record["decision"]["decision_reason"]


case(AS_IS, model=MODEL)
case(REFINANCED, model=MODEL)


def test_ltv_of_a_construction_loan_is_never_a_risk_reason(batches):
    record = one(batches, AS_IS, model=MODEL)
    features = {r["feature"] for r in record["programmes"]["credit"]["reasons"]}
    assert "ltv" not in features
    assert "ltv" not in record["programmes"]["credit"]["missing_features"]


# -- time and place ------------------------------------------------------------------------------
NOT_YET_OPERATING = case(REIT | {"project_kind": "new", "operating_since": ""})
RECENTLY_OPERATING = case(REIT | {"operating_since": "2023-09-01"})


def test_a_new_build_without_an_operating_date_is_not_yet_a_reit(batches):
    record = one(batches, NOT_YET_OPERATING)
    assert record["indicators"]["operating_years"] == 0
    assert verdict(record, "REIT-OPERATING-3Y-1014") == "fail"
    assert recommendation(record) == "decline"
    reason = next(r for r in record["decision"]["reasons"] if r["criterion"].startswith("REIT-OP"))
    assert reason["remedy"].startswith("Not yet eligible: operating from - ")
    record = one(batches, RECENTLY_OPERATING)
    reason = next(r for r in record["decision"]["reasons"] if r["criterion"].startswith("REIT-OP"))
    assert reason["remedy"].startswith("Not yet eligible: operating from 2023-09-01 ")


def test_the_emission_factor_is_the_one_published_by_the_as_of_date(batches):
    record = one(batches, AS_IS)
    factor = record["indicators"]["emission_factor"]
    assert factor["value"] == 0.7252 and factor["year"] == 2022


NO_PROVINCE = case({"province": ""})
NOWHERE = case({"province": "", "cluster": "none", "hub": "none"})


def test_a_missing_province_comes_from_the_cluster_or_leaves_carbon_undecided(batches):
    record = one(batches, NO_PROVINCE)
    assert record["indicators"]["province_assessed"] == "hebei"
    record = one(batches, NOWHERE)
    assert record["indicators"]["emission_factor"]["value"] is None
    assert record["indicators"]["emissions_tco2"] is None


SHARES = [0.0, 0.5, 1.0]
for _share in SHARES:
    case({"green_power_share": _share})


@pytest.mark.parametrize("share", SHARES)
def test_market_emissions_stay_between_zero_and_location(batches, share):
    indicators = one(batches, {"green_power_share": share})["indicators"]
    assert 0 <= indicators["emissions_market_tco2"] <= indicators["emissions_tco2"]


UNSTATED = {"project_kind": "operating", "operating_since": "2019-06-01", "financing_purpose": ""}
case(UNSTATED | {"pue": 1.62})
case(UNSTATED | {"pue": 1.2})


def test_a_missing_purpose_does_not_hide_a_failed_legal_floor(batches):
    record = one(batches, UNSTATED | {"pue": 1.62})
    assert recommendation(record) == "decline" and "CMP-GB40879-LIMIT" in reason_ids(record)
    record = one(batches, UNSTATED | {"pue": 1.2})
    assert recommendation(record) == "incomplete"
    assert record["decision"]["missing_for_decision"] == ["financing_purpose"]


NOT_ASKED = case({"green_label_requested": "no"})


def test_the_workbook_shows_what_was_asked_for(batches):
    book = score_sheets(batches[(AS_OF, None)][1])
    key = project_id(NOT_ASKED)
    programmes = book["Programmes"].set_index("project_id")
    assert programmes.at[key, "green_status"] == "not_requested"
    assert programmes.at[key, "credit_status"] == "eligible"
    decision = book["Decision"].set_index("project_id")
    assert decision.at[key, "green_label"] == "not_requested"
    assert "missing_for_decision" in decision.columns
