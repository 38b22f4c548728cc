"""Issue 16, the physics and range checks and the carbon accounting: PUE against the floor of
the province's climate zone and the cooling type, the measured-PUE series (trend and the
latest year), WUE against the cooling type, compute per MW, revenue per rack and value per
MW, market-based emissions on the *evidenced* green electricity, and the carbon-intensity
score. Applications are read with the real reader (a CSV list or a shipped workbook) and
scored with the shipped rules; odd inputs must give a verdict, never a traceback, and a
missing value is never a pass."""

from __future__ import annotations

import math

import pytest
from helpers import AS_OF, ROOT, write_list

from assessment.cli import score_json
from assessment.criteria.indicators import CHOICE_CODES, add_indicators
from assessment.intake.read import read_applications
from assessment.pipeline import score_applications

# An operating air-cooled general DC in Guangdong (hot summer, warm winter): each test changes it.
BASE = {
    "project_name": "Test campus",
    "province": "guangdong",
    "hub": "greater_bay_area",
    "cluster": "none",
    "facility_type": "general",
    "project_kind": "operating",
    "financing_purpose": "refinancing",
    "cooling_type": "chilled_water",
    "racks": 4000,
    "it_load_mw": 20,
    "rack_utilisation": 0.8,
    "pue": 1.30,
    "pue_design": 1.30,
    "wue_l_per_kwh": 1.2,
    "it_energy_mwh": 100_000,
    "green_power_share": 0.3,
    "operating_since": "2019-06-01",
    "total_investment_cny": 1_000_000_000,
    "equity_cny": 300_000_000,
    "loan_amount_cny": 700_000_000,
    "loan_tenor_years": 12,
    "appraised_value_cny": 400_000_000,
    "revenue_cny_2024": 40_000_000,
}
GUANGDONG_2022 = 0.4403  # tCO2/MWh, the location factor usable as of 2025-06-30


def scored(tmp_path, rows: list[dict], errors: tuple[str, ...] = ()) -> dict[str, dict]:
    """Each row (changes to :data:`BASE`) read from a CSV list and scored: id -> JSON record.
    The input errors reported are those of the cross-field ``errors`` only (a zero or tiny IT
    load fails ``it_energy_within_load``; the row is still scored)."""
    full = [BASE | {"project_id": f"T-{i}"} | row for i, row in enumerate(rows, start=1)]
    run = score_applications(write_list(tmp_path / "list.csv", full), as_of=AS_OF, model=None)
    found = run.applications.problems.query("severity == 'error'")
    assert set(found["hint"].str.removeprefix("check ")) <= set(errors)
    return {record["project_id"]: record for record in score_json(run)["projects"]}


def verdicts(records: dict[str, dict], rule_id: str) -> list[str]:
    return [
        next(r["verdict"] for r in record["rules"] if r["rule_id"] == rule_id)
        for record in records.values()
    ]


def indicators(tmp_path, rows: list[dict]):
    """The indicator frame of the rows (changes to :data:`BASE`), read with the real reader."""
    full = [BASE | {"project_id": f"T-{i}"} | row for i, row in enumerate(rows, start=1)]
    read = read_applications(write_list(tmp_path / "list.csv", full), as_of=AS_OF)
    return add_indicators(read.projects, read.yearly, AS_OF)


# -- PUE against the climate floor -------------------------------------------------------------
def test_air_cooling_at_pue_1_12_in_guangdong_is_flagged_and_liquid_is_not(tmp_path):
    new = {"project_kind": "new", "pue": "", "pue_design": 1.12, "operating_since": ""}
    rows = [
        new | {"cooling_type": "air"},
        new | {"cooling_type": "liquid"},
        new | {"pue_design": 1.30, "cooling_type": "air"},
    ]
    out = indicators(tmp_path, rows)
    assert out["climate_zone"].tolist() == ["hot_summer_warm_winter"] * 3
    assert out["pue_climate_floor"].tolist() == [1.30, 1.06, 1.30]
    assert verdicts(scored(tmp_path, rows), "PLB-PUE-CLIMATE-FLOOR") == ["fail", "pass", "pass"]


def test_without_a_cooling_type_the_zone_lowest_floor_applies(tmp_path):
    rows = [{"cooling_type": "", "pue": 1.12}, {"cooling_type": "", "pue": 1.03}]
    out = indicators(tmp_path, rows)
    assert out["pue_climate_floor"].tolist() == [1.06, 1.06]  # that of liquid cooling
    assert verdicts(scored(tmp_path, rows), "PLB-PUE-CLIMATE-FLOOR") == ["pass", "fail"]


def test_a_colder_zone_has_a_lower_floor(tmp_path):
    rows = [{"province": "inner_mongolia", "hub": "inner_mongolia", "cooling_type": "air"}]
    out = indicators(tmp_path, rows)
    assert (out["climate_zone"].iloc[0], out["pue_climate_floor"].iloc[0]) == ("severe_cold", 1.15)


def test_no_province_or_no_pue_is_insufficient_not_a_pass(tmp_path):
    rows = [{"province": "", "hub": "none", "cluster": "none"}, {"pue": ""}]
    assert verdicts(scored(tmp_path, rows), "PLB-PUE-CLIMATE-FLOOR") == ["insufficient"] * 2


def test_every_province_has_a_known_zone_and_every_zone_a_floor_per_cooling_type():
    from assessment._shared.tables import read_reference_table

    folder = ROOT / "rules" / "reference"
    zones = read_reference_table(folder / "climate_zones.csv", {"province": "string"})
    floors = read_reference_table(folder / "pue_climate_floors.csv", {"min_pue": "float64"})
    assert set(zones["climate_zone"]) <= set(CHOICE_CODES["climate_zone"])
    assert zones["province"].is_unique and len(zones) == 34
    assert (floors.groupby("climate_zone").size() == 6).all()  # five types and the blank row
    assert set(zones["confidence"]) == set(floors["confidence"]) == {"unverified"}
    lowest = floors[floors["cooling_type"] != ""].groupby("climate_zone")["min_pue"].min()
    blank = floors[floors["cooling_type"] == ""].set_index("climate_zone")["min_pue"]
    assert (blank.sort_index() == lowest.sort_index()).all()


# -- the measured-PUE series -------------------------------------------------------------------
def series(*values: tuple[int, float]) -> dict:
    return {f"pue_by_year_{year}": value for year, value in values}


def test_pue_trend_and_latest_year(tmp_path):
    rows = [
        series((2022, 1.60), (2023, 1.45), (2024, 1.30)),  # falls 0.15 a year: flagged
        series((2023, 1.32), (2024, 1.31)),  # steady; annual 1.30 within 0.02 of 1.31
        series((2024, 1.20)),  # one year: no trend; annual 1.30 is 0.10 off: flagged
        series((2020, 1.50), (2024, 1.30)),  # 0.20 over four years: 0.05 a year
        series((2023, 1.31), (2025, 1.00)),  # the assessment year is not measured yet
        {},  # no series: neither check applies
    ]
    out = indicators(tmp_path, rows)
    assert out["pue_years"].tolist() == [3, 2, 1, 2, 1, 0]
    assert out["pue_drop_max"].iloc[0] == pytest.approx(0.15)
    assert out["pue_drop_max"].iloc[3] == pytest.approx(0.05)
    assert out["pue_latest_gap"].iloc[4] == pytest.approx(-0.01)
    records = scored(tmp_path, rows)
    trend = ["fail", "pass", "not_applicable", "pass", "not_applicable", "not_applicable"]
    assert verdicts(records, "PLB-PUE-TREND") == trend
    latest = ["pass", "pass", "fail", "pass", "pass", "not_applicable"]
    assert verdicts(records, "PLB-PUE-LATEST-YEAR") == latest


def test_a_series_without_an_annual_pue_is_insufficient(tmp_path):
    rows = [series((2023, 1.32), (2024, 1.31)) | {"pue": ""}]
    assert verdicts(scored(tmp_path, rows), "PLB-PUE-LATEST-YEAR") == ["insufficient"]


# -- ranges: WUE, compute, revenue per rack, value per MW --------------------------------------
def test_wue_against_the_cooling_type(tmp_path):
    rows = [
        {"cooling_type": "air", "wue_l_per_kwh": 1.8},  # air cooling uses water only to humidify
        {"cooling_type": "evaporative", "wue_l_per_kwh": 0.02},  # evaporative cannot run dry
        {"cooling_type": "evaporative", "wue_l_per_kwh": 0.3},
        {"cooling_type": "", "wue_l_per_kwh": 4.5},  # above any cooling
        {"cooling_type": "air", "wue_l_per_kwh": 0},
        {"wue_l_per_kwh": ""},
    ]
    out = indicators(tmp_path, rows)
    assert out["wue_off_range"].iloc[0] == pytest.approx(1.3)
    assert out["wue_off_range"].iloc[1] == pytest.approx(-0.08)
    expected = ["fail", "fail", "pass", "fail", "pass", "insufficient"]
    assert verdicts(scored(tmp_path, rows), "PLB-WUE-COOLING") == expected


def test_compute_per_mw_against_the_facility_type(tmp_path):
    ai = {"facility_type": "intelligent_computing"}
    rows = [
        ai | {"compute_pflops": 60_000},  # 3,000 PFLOPS per MW: a low-precision figure
        ai | {"compute_pflops": 800},  # 40 per MW
        ai | {"compute_pflops": 800, "it_load_mw": 0},  # zero IT load: no ratio
        {"compute_pflops": 800, "facility_type": ""},  # no facility type: no range
        {"compute_pflops": ""},  # not stated: the check does not apply
    ]
    expected = ["fail", "pass", "insufficient", "insufficient", "not_applicable"]
    records = scored(tmp_path, rows, errors=("it_energy_within_load",))
    assert verdicts(records, "PLB-COMPUTE-DENSITY") == expected


def test_revenue_per_rack_and_value_per_mw(tmp_path):
    new = {"project_kind": "new", "pue": "", "operating_since": "", "appraised_value_cny": ""}
    rows = [
        {},  # CNY 10,000 a rack, CNY 20 m a MW
        {"revenue_cny_2024": 800_000_000, "appraised_value_cny": 6e9},  # 200,000; 300 m
        {"revenue_cny_2024": 4_000_000, "appraised_value_cny": 2e7},  # 1,000; 1 m
        {"revenue_cny_2024": "", "revenue_cny_2023": 40_000_000, "it_load_mw": 0},
        new | {"revenue_cny_2024": "", "pue_design": 1.3},
    ]
    out = indicators(tmp_path, rows)
    assert out["revenue_per_rack_cny"].iloc[0] == pytest.approx(10_000)
    assert out["value_per_mw_cny"].iloc[0] == pytest.approx(20_000_000)
    assert out["revenue_per_rack_off_range"].iloc[1] == pytest.approx(100_000)
    records = scored(tmp_path, rows, errors=("it_energy_within_load",))
    rack = ["pass", "fail", "fail", "insufficient", "not_applicable"]
    assert verdicts(records, "PLB-REVENUE-PER-RACK") == rack
    value = ["pass", "fail", "fail", "insufficient", "not_applicable"]
    assert verdicts(records, "PLB-VALUE-PER-MW") == value


# -- market-based emissions --------------------------------------------------------------------
def test_market_emissions_net_out_the_evidenced_green_power_only(tmp_path):
    rows = [
        {"green_power_share": 0.9},  # claimed, no evidence: nothing netted
        {"green_power_direct_mwh": 30_000, "green_certificates_mwh": 10_000},
        {"onsite_generation_mwh": 100_000_000},  # more than the site uses: 0, not negative
        {"green_certificates_mwh": 0},
        {"it_energy_mwh": ""},
    ]
    out = indicators(tmp_path, rows)
    location = 100_000 * 1.30 * GUANGDONG_2022
    assert out["emissions_tco2"].iloc[0] == pytest.approx(location)
    assert out["emissions_market_tco2"].iloc[0] == pytest.approx(location)
    assert out["emissions_market_tco2"].iloc[1] == pytest.approx(location - 40_000 * GUANGDONG_2022)
    assert out["emissions_market_tco2"].iloc[2] == 0
    assert out["emissions_market_tco2"].iloc[3] == pytest.approx(location)
    assert math.isnan(out["emissions_market_tco2"].iloc[4])
    methods = ["no_evidence", "evidenced_green_power", "evidenced_green_power", "no_evidence"]
    assert out["emissions_market_method"].tolist()[:4] == methods
    assert out["emissions_market_method"].isna().iloc[4]
    assert out["cue_market"].iloc[1] == pytest.approx(out["emissions_market_tco2"].iloc[1] / 1e5)
    assert (out["emissions_market_tco2"] <= out["emissions_tco2"]).iloc[:4].all()


# -- carbon intensity --------------------------------------------------------------------------
def test_same_pue_on_different_grids_scores_apart(tmp_path):
    label = {"green_label_requested": "true", "pue": 1.25}
    rows = [
        label | {"province": "hebei", "hub": "beijing_tianjin_hebei"},
        label | {"province": "sichuan", "hub": "chengdu_chongqing"},
    ]
    records = list(scored(tmp_path, rows).values())
    rule = [
        next(r for r in record["rules"] if r["rule_id"] == "GRN-CARBON-INTENSITY")
        for record in records
    ]
    assert [r["verdict"] for r in rule] == ["pass", "pass"]
    assert rule[0]["value"] == pytest.approx(1.25 * 0.7252, abs=1e-4)
    assert rule[1]["points"] > rule[0]["points"] + 5


# -- odd and hostile inputs --------------------------------------------------------------------
def test_huge_values_give_verdicts_not_tracebacks(tmp_path):
    rows = [
        {
            "it_energy_mwh": 50_000_000,
            "wue_l_per_kwh": 20,
            "compute_pflops": 10_000_000,
            "it_load_mw": 0.01,
            "revenue_cny_2024": 1e13,
            "appraised_value_cny": 1e13,
            "green_power_direct_mwh": 100_000_000,
        }
    ]
    record = next(iter(scored(tmp_path, rows, errors=("it_energy_within_load",)).values()))
    checks = ["PLB-WUE-COOLING", "PLB-REVENUE-PER-RACK", "PLB-VALUE-PER-MW"]
    found = {r["rule_id"]: r["verdict"] for r in record["rules"]}
    assert [found[c] for c in checks] == ["fail"] * 3
    assert found["PLB-COMPUTE-DENSITY"] == "fail"


def test_indicators_of_an_unknown_province_code_are_missing():
    read = read_applications(
        ROOT / "sample_projects" / "05_zhangjiakou_reit_ready.xlsx", as_of=AS_OF
    )
    projects = read.projects.assign(province="atlantis", hub="none", cluster="none")
    out = add_indicators(projects, read.yearly, AS_OF)
    assert out["climate_zone"].isna().all() and out["pue_climate_floor"].isna().all()


def test_the_shipped_samples_raise_the_new_flags_on_purpose():
    paths = sorted((ROOT / "sample_projects").glob("*.xlsx"))
    run = score_applications(paths, as_of=AS_OF, model=None)
    verdict = run.evaluation.verdicts
    raised = {
        rule: sorted(verdict.index[verdict[rule] == "fail"])
        for rule in ("PLB-PUE-CLIMATE-FLOOR", "PLB-PUE-TREND", "PLB-PUE-LATEST-YEAR")
        + ("PLB-WUE-COOLING", "PLB-COMPUTE-DENSITY", "PLB-REVENUE-PER-RACK")
        + ("PLB-VALUE-PER-MW", "GRN-CARBON-INTENSITY")
    }
    assert raised == {
        "PLB-PUE-CLIMATE-FLOOR": ["DC-2025-016"],
        "PLB-PUE-TREND": ["DC-2025-008"],
        "PLB-PUE-LATEST-YEAR": ["DC-2025-008"],
        "PLB-WUE-COOLING": ["DC-2025-004", "DC-2025-016"],
        "PLB-COMPUTE-DENSITY": [],
        "PLB-REVENUE-PER-RACK": [],
        "PLB-VALUE-PER-MW": [],
        "GRN-CARBON-INTENSITY": [],
    }
    assert verdict.loc["DC-2025-005", "PLB-PUE-TREND"] == "pass"
