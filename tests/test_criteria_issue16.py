"""The criteria of issue 16 that were missing: the government-procurement ladder on the
evidenced green-power share, the 2023 national green data-centre notice beside the 2025 one and
the listing doubt, 1742's hub-node target and 1922's, local rules by province and city
(``local_cn``), refrigerant GWP and waste heat, and the REIT land term, expansion pipeline and
office-hotel share. Each test reads applications with the real reader (a CSV list or a shipped
workbook) and scores them with the shipped rules."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from helpers import ROOT, SOUND_LOAN, write_list

from assessment.cli import score_json
from assessment.criteria.rules import load_rules
from assessment.errors import RuleError
from assessment.pipeline import score_applications

BEFORE_TARIFF, TARIFF = dt.date(2025, 6, 30), dt.date(2026, 3, 1)

# An operating general DC in Beijing (outside the clusters), refinanced: each test changes it.
BASE = {
    "project_name": "Test campus",
    "province": "beijing",
    "city": "北京",
    "hub": "beijing_tianjin_hebei",
    "cluster": "none",
    "facility_type": "general",
    "project_kind": "operating",
    "financing_purpose": "refinancing",
    "racks": 4000,
    "it_load_mw": 10,
    "rack_utilisation": 0.8,
    "pue": 1.40,
    "pue_design": 1.35,
    "it_energy_mwh": 60000,
    "green_power_share": 0.3,
    "operating_since": "2019-06-01",
    **SOUND_LOAN,
    "appraised_value_cny": 1_500_000_000,
    "major_violations_3y": "false",
    **{f"operating_cash_flow_cny_{year}": 120_000_000 for year in range(2025, 2029)},
    **{f"debt_service_cny_{year}": 80_000_000 for year in range(2025, 2029)},
}
SHENZHEN_NEW = {
    "province": "guangdong",
    "hub": "greater_bay_area",
    "project_kind": "new",
    "financing_purpose": "construction",
    "pue": "",
    "pue_design": 1.3,
    "operating_since": "",
}


def scored(tmp_path, rows: list[dict], as_of: dt.date) -> dict[str, dict]:
    """Each row (changes to :data:`BASE`) read from a CSV list and scored: id -> JSON record."""
    full = [BASE | {"project_id": f"T-{i}"} | row for i, row in enumerate(rows, start=1)]
    run = score_applications(write_list(tmp_path / "list.csv", full), as_of=as_of, model=None)
    assert run.applications.problems.query("severity == 'error'").empty
    return {record["project_id"]: record for record in score_json(run)["projects"]}


def verdict(record: dict, rule_id: str) -> str:
    return next(r["verdict"] for r in record["rules"] if r["rule_id"] == rule_id)


def reasons(record: dict) -> dict[str, str]:
    return {r["criterion"]: r["verdict"] for r in record["decision"]["reasons"]}


# -- local rules -----------------------------------------------------------------------------------
def test_beijing_tariff_flag_is_raised_from_2026_only(tmp_path):
    before = scored(tmp_path, [{}], BEFORE_TARIFF)["T-1"]
    assert verdict(before, "LOC-BJ-PUE-TARIFF") == "not_applicable"
    assert "LOC-BJ-PUE-TARIFF" not in reasons(before)
    after = scored(tmp_path, [{}, {"pue": 1.35}, {"province": "hebei", "city": "廊坊"}], TARIFF)
    assert verdict(after["T-1"], "LOC-BJ-PUE-TARIFF") == "fail"
    assert reasons(after["T-1"])["LOC-BJ-PUE-TARIFF"] == "fail"  # a flag of the floor: referred
    assert after["T-1"]["decision"]["recommendation"] == "refer"
    assert verdict(after["T-2"], "LOC-BJ-PUE-TARIFF") == "pass"  # at 1.35
    assert verdict(after["T-3"], "LOC-BJ-PUE-TARIFF") == "not_applicable"  # outside Beijing


def test_beijing_2027_target_is_a_covenant_of_the_floor(tmp_path):
    record = scored(tmp_path, [{}], BEFORE_TARIFF)["T-1"]
    assert verdict(record, "LOC-BJ-PUE-2027") == "fail"
    assert "LOC-BJ-PUE-2027" in {c["criterion"] for c in record["decision"]["conditions"]}


CITIES = {
    "深圳": "fail",
    "深圳市": "fail",
    "Shenzhen": "fail",
    "  SHENZHEN city ": "fail",
    "Shenzhen (Nanshan)": "fail",
    "Guangzhou": "not_applicable",
    "": "insufficient",
}


def test_shenzhen_is_matched_in_chinese_and_english(tmp_path):
    rows = [SHENZHEN_NEW | {"city": city} for city in CITIES]
    rows.append(SHENZHEN_NEW | {"city": "深圳", "province": "beijing"})  # another province's
    records = scored(tmp_path, rows, BEFORE_TARIFF)
    got = [verdict(records[f"T-{i}"], "LOC-SZ-PUE-NEW") for i in range(1, len(rows) + 1)]
    assert got == [*CITIES.values(), "not_applicable"]
    lower = scored(tmp_path, [SHENZHEN_NEW | {"city": "深圳", "pue_design": 1.2}], BEFORE_TARIFF)
    assert verdict(lower["T-1"], "LOC-SZ-PUE-NEW") == "pass"


def test_shipped_shenzhen_edge_site_is_outside_the_city_cap():
    run = score_applications(
        ROOT / "sample_projects" / "03_shenzhen_edge_site.xlsx", as_of=BEFORE_TARIFF, model=None
    )
    assert run.frame["city_code"].tolist() == ["shenzhen"]
    assert run.evaluation.verdicts.loc[:, "LOC-SZ-PUE-NEW"].tolist() == ["not_applicable"]


def test_rules_check_refuses_a_city_that_choices_do_not_list(tmp_path):
    shutil.copytree(ROOT / "rules" / "local_cn", tmp_path / "local_cn")
    path = tmp_path / "local_cn" / "rules.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("== shenzhen", "== shenzen"), "utf-8")
    with pytest.raises(RuleError, match="shenzen"):
        load_rules(tmp_path)


# -- procurement ladder, national green DC notices, 1742 / 1922 ------------------------------------
def test_procurement_ladder_counts_only_the_evidenced_share(tmp_path):
    rows = [
        {"green_power_share": 0.9},  # claimed, no evidence
        {"green_certificates_mwh": 0.31 * 60000 * 1.4},  # 31 % evidenced
        {"green_certificates_mwh": 0.29 * 60000 * 1.4},  # 29 %
    ]
    records = scored(tmp_path, rows, dt.date(2025, 6, 30))
    got = [verdict(records[f"T-{i}"], "GRN-CAIKU-RE-2025") for i in (1, 2, 3)]
    assert got == ["insufficient", "pass", "fail"]
    assert verdict(records["T-2"], "GRN-CAIKU-RE-2023") == "not_applicable"  # replaced in 2025


def test_procurement_and_notice_steps_follow_each_other():
    rules = {rule.rule_id: rule for rule in load_rules().rules}
    ladder = [rules[f"GRN-CAIKU-RE-{year}"] for year in (2023, 2025, 2027, 2030, 2032)]
    assert [r.valid_to for r in ladder[:-1]] == [r.valid_from for r in ladder[1:]]
    assert ladder[-1].valid_to is None and ladder[0].valid_from == dt.date(2023, 6, 1)
    pue = rules["GRN-CAIKU-PUE-2023"], rules["GRN-CAIKU-PUE-2025"]
    assert pue[0].valid_to == pue[1].valid_from == dt.date(2025, 1, 1)
    for old, new in [("NGDC-2023-PUE", "NGDC-PUE"), ("NGDC-2023-RACKS", "NGDC-RACKS")]:
        assert rules[old].valid_to == rules[new].valid_from
    assert rules["GRN-PUE-1742-HUB-NEW"].valid_to == rules["GRN-PUE-2024-HUB-NEW"].valid_from


def test_a_listed_national_green_dc_above_its_condition_is_doubted(tmp_path):
    rows = [
        {"ngdc_listed": "yes", "ngdc_listed_year": 2023, "province": "hebei", "city": ""},
        {"ngdc_listed": "yes", "pue": 1.25, "province": "hebei", "city": ""},
        {"ngdc_listed": "no", "province": "hebei", "city": ""},
    ]
    records = scored(tmp_path, rows, BEFORE_TARIFF)
    assert verdict(records["T-1"], "NGDC-LISTED-PUE-DOUBT") == "fail"
    assert reasons(records["T-1"])["NGDC-LISTED-PUE-DOUBT"] == "fail"
    assert records["T-1"]["decision"]["recommendation"] == "refer"
    assert verdict(records["T-2"], "NGDC-LISTED-PUE-DOUBT") == "pass"
    assert verdict(records["T-3"], "NGDC-LISTED-PUE-DOUBT") == "not_applicable"


def test_the_2023_notice_decides_before_the_2025_one(tmp_path):
    row = {"cluster": "zhangjiakou", "province": "hebei", "city": "", "pue": 1.28}
    early = scored(tmp_path, [row], dt.date(2024, 6, 30))["T-1"]
    late = scored(tmp_path, [row], dt.date(2025, 9, 30))["T-1"]
    assert verdict(early, "NGDC-2023-PUE") == "pass" and verdict(early, "NGDC-PUE") == (
        "not_applicable"
    )
    assert verdict(late, "NGDC-2023-PUE") == "not_applicable" and verdict(late, "NGDC-PUE") == (
        "pass"
    )
    assert verdict(early, "NGDC-2023-CLUSTER") == "pass"


def test_hub_node_new_build_target_of_1742_ends_with_the_2024_plan(tmp_path):
    row = SHENZHEN_NEW | {"city": "Guangzhou", "pue_design": 1.24}
    early = scored(tmp_path, [row], dt.date(2023, 6, 30))["T-1"]
    late = scored(tmp_path, [row], dt.date(2025, 6, 30))["T-1"]
    assert verdict(early, "GRN-PUE-1742-HUB-NEW") == "pass"
    assert verdict(late, "GRN-PUE-1742-HUB-NEW") == "not_applicable"
    assert verdict(late, "GRN-PUE-2024-HUB-NEW") == "fail"  # 1.24 > 1.2


def test_operating_large_dc_target_of_1922(tmp_path):
    records = scored(tmp_path, [{}, {"pue": 1.29}, {"racks": 2000}], BEFORE_TARIFF)
    got = [verdict(records[f"T-{i}"], "GRN-PUE-1922-LARGE-OPERATING") for i in (1, 2, 3)]
    assert got == ["fail", "pass", "not_applicable"]


# -- refrigerant and waste heat ------------------------------------------------------------------
def test_refrigerant_gwp_and_northern_waste_heat_on_the_samples():
    folder = ROOT / "sample_projects"
    files = ["01_guizhou_guian_hyperscale.xlsx", "09_zhongwei_green_new_build.xlsx"]
    files.append("10_horinger_green_credit_ai.xlsx")
    run = score_applications([folder / name for name in files], as_of=BEFORE_TARIFF, model=None)
    verdicts = run.evaluation.verdicts
    assert verdicts["GRN-REFRIGERANT-GWP"].tolist() == ["pass", "pass", "pass"]  # 675, 675, 7
    heat = verdicts["GRN-WASTE-HEAT-NORTH"].tolist()
    assert heat == ["not_applicable", "fail", "pass"]  # Guizhou; Ningxia without; Hohhot with


# -- REIT ----------------------------------------------------------------------------------------
def test_reit_land_term_pipeline_and_office_share_read_from_the_samples():
    folder = ROOT / "sample_projects"
    names = ["05_zhangjiakou_reit_ready.xlsx", "06_chongqing_two_years_operating.xlsx"]
    run = score_applications([folder / n for n in names], as_of=BEFORE_TARIFF, model=None)
    frame = run.frame
    assert frame["land_term_margin_years"].tolist() == [3.5, 16.0]
    assert frame["expansion_multiple"].round(2).tolist() == [2.16, 1.39]
    verdicts = run.evaluation.verdicts
    assert verdicts["REIT-LAND-TERM"].tolist() == ["pass", "pass"]
    assert verdicts["REIT-EXPANSION-1014"].tolist() == ["pass", "fail"]
    assert verdicts["REIT-EXPANSION-958"].tolist() == ["not_applicable"] * 2
    assert verdicts["REIT-OFFICE-HOTEL-MAX"].tolist() == ["pass", "pass"]
    # a listing not stated reads as not listed: the check does not apply
    assert verdicts["NGDC-LISTED-PUE-DOUBT"].tolist() == ["pass", "not_applicable"]


def test_office_and_hotel_share_gate_and_flag(tmp_path):
    reit = {"financing_purpose": "reit", "loan_amount_cny": "", "loan_tenor_years": ""}
    shares = [0.2, 0.4, 0.6, ""]
    records = scored(tmp_path, [reit | {"office_hotel_share": s} for s in shares], BEFORE_TARIFF)
    got = [
        (verdict(r, "REIT-OFFICE-HOTEL-MAX"), verdict(r, "REIT-OFFICE-HOTEL-30"))
        for r in records.values()
    ]
    assert got == [
        ("pass", "pass"),
        ("pass", "fail"),
        ("fail", "fail"),
        ("insufficient", "insufficient"),
    ]
