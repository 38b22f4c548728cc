"""Indicator formulas against hand-computed values, on small in-code frames and the samples.

Emission factors are those of the packaged ``rules/reference/grid_emission_factors.csv``
(MEE/NBS; tCO2/MWh): as of 2025-06-30 the latest factors published are those of data year
2022 (published 2024-12-20; the 2023 factors came out on 2025-12-31). The issue-14 meanings
are pinned boundary by boundary in ``test_indicators_issue14.py``.
"""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest
from helpers import AS_OF, ROOT

from assessment import read_applications
from assessment.criteria.indicators import (
    INDICATORS,
    PROJECT_COLUMNS,
    add_indicators,
    indicator_table,
    yearly_indicators,
)
from assessment.errors import AssessmentError, RuleError

TYPES = {"province": "string", "hub": "string", "cluster": "string", "racks": "Int64"}
TYPES["operating_since"] = "datetime64[ns]"
TYPES["project_kind"] = TYPES["facility_type"] = "string"
REFERENCE = ROOT / "rules" / "reference"
GUIZHOU_2022, TIBET_GRID_2022, NATIONAL_2022 = 0.4989, 0.2268, 0.5366


def projects(*rows: dict) -> pd.DataFrame:
    """Projects P1, P2, ... typed as ``read_applications`` types them; unset values missing."""
    ids = pd.Index([f"P{n}" for n in range(1, len(rows) + 1)], dtype="string", name="project_id")
    values = [[row.get(name) for name in PROJECT_COLUMNS] for row in rows]
    table = pd.DataFrame(values, columns=list(PROJECT_COLUMNS))
    table = table.set_axis(ids).astype({n: TYPES.get(n, "float64") for n in PROJECT_COLUMNS})
    return table


def yearly(*rows: tuple[str, str, dict[int, float]]) -> pd.DataFrame:
    """``(project_id, series, {year: value})`` triples as the long yearly table."""
    long = [
        (pid, year, series, value) for pid, series, values in rows for year, value in values.items()
    ]
    table = pd.DataFrame(long, columns=["project_id", "year", "series", "value"])
    return table.astype(
        {"project_id": "string", "year": "int64", "series": "string", "value": "float64"}
    )


NO_YEARLY = yearly()


def one(row: dict, rows: tuple = (), **options) -> pd.Series:
    """The indicators of a single project."""
    return add_indicators(
        projects(row), yearly(*rows), options.pop("as_of", AS_OF), **options
    ).iloc[0]


# -- the registry ------------------------------------------------------------------------------
def test_registry_lists_exactly_the_added_columns():
    frame = projects({"province": "guizhou"})
    added = [c for c in add_indicators(frame, NO_YEARLY, AS_OF).columns if c not in frame.columns]
    assert added == [indicator.name for indicator in INDICATORS]
    assert list(indicator_table().columns) == ["name", "unit", "kind", "formula"]
    assert len(indicator_table()) == len(INDICATORS)


def test_registry_kinds_and_units_are_known():
    units = {"", "MWh", "tCO2", "tCO2/MWh", "tCO2/PFLOPS", "PFLOPS/MW", "years", "fraction", "CNY"}
    units |= {"L/kWh"}
    for indicator in INDICATORS:
        assert indicator.kind in ("number", "bool", "choice", "text", "integer"), indicator
        assert indicator.unit in units, indicator
        assert indicator.formula and "\n" not in indicator.formula, indicator


# -- energy and efficiency ---------------------------------------------------------------------
def test_energy_uses_the_measured_pue_of_an_operating_site_and_the_design_of_a_new_build():
    frame = projects(
        {"pue": 1.25, "pue_design": 1.2, "it_energy_mwh": 40_000},
        {"project_kind": "new", "pue_design": 1.3, "it_energy_mwh": 40_000},
        {"pue_design": 1.3, "it_energy_mwh": 40_000},  # blank kind: operating, nothing measured
    )
    out = add_indicators(frame, NO_YEARLY, AS_OF)
    assert out["pue_assessed"].tolist()[:2] == [1.25, 1.3]
    assert out["pue_basis"].tolist() == ["measured", "design", pd.NA]
    assert out["energy_mwh"].iloc[0] == pytest.approx(1.25 * 40_000)
    assert out["energy_mwh"].iloc[1] == pytest.approx(1.3 * 40_000)
    assert pd.isna(out["energy_mwh"].iloc[2]) and pd.isna(out["gb40879_grade"].iloc[2])


def test_a_retrofit_is_assessed_on_its_design_pue():
    row = one({"project_kind": "retrofit", "pue": 1.61, "pue_design": 1.3, "it_energy_mwh": 1e4})
    assert (row["pue_assessed"], row["pue_basis"], row["gb40879_grade"]) == (1.3, "design", 2)
    measured = one({"project_kind": "retrofit", "pue": 1.61, "it_energy_mwh": 1e4})
    assert pd.isna(measured["pue_assessed"]) and pd.isna(measured["pue_basis"])


@pytest.mark.parametrize(
    ("pue", "grade"), [(1.0, 1), (1.20, 1), (1.2001, 2), (1.30, 2), (1.50, 3), (1.51, 4), (2.5, 4)]
)
def test_gb40879_grade_boundaries(pue, grade):
    assert one({"pue": pue})["gb40879_grade"] == grade
    assert one({"project_kind": "new", "pue_design": pue})["gb40879_grade"] == grade


@pytest.mark.parametrize(
    ("racks", "size"),
    [(0, "edge"), (100, "edge"), (101, "small"), (2999, "small"), (3000, "large"),
     (9999, "large"), (10000, "super_large"), (250_000, "super_large")],
)  # fmt: skip
def test_size_class_boundaries(racks, size):
    assert one({"racks": racks})["size_class"] == size


def test_missing_racks_and_pue_give_missing_classes():
    row = one({})
    assert pd.isna(row["size_class"]) and pd.isna(row["gb40879_grade"])


def test_siting_flags_and_hub_zone():
    frame = projects(
        {"hub": "guizhou", "cluster": "guian"},
        {"hub": "beijing_tianjin_hebei", "cluster": "none"},
        {"hub": "none", "cluster": "none"},
        {},
    )
    out = add_indicators(frame, NO_YEARLY, AS_OF)
    assert out["in_hub"].tolist() == [True, True, False, pd.NA]
    assert out["in_cluster"].tolist() == [True, False, False, pd.NA]
    assert out["hub_zone"].tolist() == ["west", "east", "none", pd.NA]
    assert str(out["in_hub"].dtype) == "boolean" and str(out["hub_zone"].dtype) == "string"


# -- emission factors and carbon ---------------------------------------------------------------
def test_provincial_factor_of_the_latest_year_and_emissions():
    row = one({"province": "guizhou", "pue": 1.25, "it_energy_mwh": 40_000, "compute_pflops": 50})
    assert row["emission_factor"] == GUIZHOU_2022
    assert (row["emission_factor_year"], row["emission_factor_area"]) == (2022, "guizhou")
    assert (row["emission_factor_level"], row["emission_factor_status"]) == (
        "provincial",
        "official",
    )
    assert row["emission_factor_series"].startswith("MEE & NBS announcement on 2022")
    assert row["emissions_tco2"] == pytest.approx(1.25 * 40_000 * 0.4989)
    assert row["cue"] == pytest.approx(1.25 * 0.4989)
    assert row["carbon_per_pflops"] == pytest.approx(1.25 * 40_000 * 0.4989 / 50)


def test_market_based_emissions_net_out_evidenced_green_power_only():
    site = {"province": "guizhou", "pue": 1.25, "it_energy_mwh": 40_000}
    row = one(site | {"green_power_share": 0.4})  # claimed, without evidence: nothing netted
    assert row["emission_factor_market"] == GUIZHOU_2022  # the location factor: no residual mix
    assert row["emission_factor_market_year"] == 2022
    assert row["emissions_market_tco2"] == pytest.approx(1.25 * 40_000 * 0.4989)
    assert row["emissions_market_method"] == "no_evidence"
    assert pd.isna(one(site | {"it_energy_mwh": None})["emissions_market_tco2"])


def test_province_without_provincial_factor_takes_its_grid_region():
    row = one({"province": "tibet", "pue": 1.4, "it_energy_mwh": 1_000})  # southwest grid
    assert row["emission_factor"] == TIBET_GRID_2022
    assert (row["emission_factor_level"], row["emission_factor_area"]) == ("regional", "southwest")
    assert row["emissions_tco2"] == pytest.approx(1.4 * 1_000 * 0.2268)


def test_a_known_province_without_a_grid_region_takes_the_national_factor():
    row = one({"province": "hong_kong", "pue": 1.3, "it_energy_mwh": 2_000})
    assert row["emission_factor"] == NATIONAL_2022
    assert (row["emission_factor_level"], row["emission_factor_area"]) == ("national", "national")
    assert row["emissions_tco2"] == pytest.approx(1.3 * 2_000 * 0.5366)


@pytest.mark.parametrize("province", ["atlantis", None])
def test_unknown_or_missing_province_without_a_clue_has_no_factor(province):
    row = one({"province": province, "hub": "none", "pue": 1.3, "it_energy_mwh": 2_000})
    assert row["province_basis"] == "none" and pd.isna(row["province_assessed"])
    assert pd.isna(row["emission_factor"]) and pd.isna(row["emissions_tco2"])


def test_factor_year_pins_the_data_year():
    row = one({"province": "guizhou", "pue": 1.25, "it_energy_mwh": 40_000}, factor_year=2021)
    assert (row["emission_factor"], row["emission_factor_year"]) == (0.5182, 2021)
    assert (row["emission_factor_market"], row["emission_factor_market_year"]) == (0.5182, 2021)
    assert row["emissions_tco2"] == pytest.approx(1.25 * 40_000 * 0.5182)


def test_assessment_date_limits_the_factor_to_those_published():
    row = one({"province": "tibet", "pue": 1.25, "it_energy_mwh": 1}, as_of=dt.date(2024, 12, 31))
    assert (row["emission_factor"], row["emission_factor_year"]) == (0.2268, 2022)


def test_a_year_without_factors_gives_missing_factors():
    row = one({"province": "guizhou", "pue": 1.25, "it_energy_mwh": 40_000}, factor_year=2024)
    assert pd.isna(row["emission_factor"]) and pd.isna(row["emission_factor_year"])
    assert pd.isna(row["emission_factor_level"]) and pd.isna(row["emissions_tco2"])
    assert pd.isna(row["emission_factor_market"])


def test_carbon_ratios_are_missing_on_zero_denominators():
    site = {"project_kind": "new", "pue_design": 1.2, "it_energy_mwh": 0, "compute_pflops": 0}
    row = one({"province": "guizhou"} | site)
    assert row["emissions_tco2"] == 0
    assert pd.isna(row["cue"]) and pd.isna(row["carbon_per_pflops"])


# -- finance -----------------------------------------------------------------------------------
def test_operating_years_and_finance_ratios():
    row = one(
        {
            "operating_since": "2019-04-01",
            "total_investment_cny": 1.0e9,
            "equity_cny": 3.0e8,
            "loan_amount_cny": 6.0e8,
            "appraised_value_cny": 1.2e9,
            "loan_tenor_years": 12,
            "wale_years": 5.5,
        }
    )
    assert row["operating_years"] == pytest.approx(2282 / 365.25)  # 2019-04-01 .. 2025-06-30
    assert row["leverage"] == pytest.approx(6.0e8 / 1.0e9)
    assert row["equity_ratio"] == pytest.approx(3.0e8 / 1.0e9)
    assert row["ltv"] == pytest.approx(6.0e8 / 1.2e9)
    assert row["tenor_minus_wale"] == pytest.approx(12 - 5.5)


def test_divisions_by_zero_are_missing_never_infinite():
    row = one(
        {"total_investment_cny": 0, "equity_cny": 1, "loan_amount_cny": 1, "appraised_value_cny": 0}
    )
    assert pd.isna(row["leverage"]) and pd.isna(row["equity_ratio"]) and pd.isna(row["ltv"])
    assert pd.isna(one({})["operating_years"])


# -- cash flow ---------------------------------------------------------------------------------
OCF, DS = "operating_cash_flow_cny", "debt_service_cny"
DIST, EBITDA = "distributable_cash_cny", "ebitda_cny"


def test_dscr_min_and_avg_over_years_with_positive_debt_service():
    rows = (
        ("P1", OCF, {2021: 120, 2022: 90, 2023: 130, 2024: 140, 2025: 150}),
        ("P1", DS, {2021: 100, 2022: 100, 2023: 0, 2024: 70}),  # 2023: no debt service, 2025: none
    )
    row = one({}, rows)
    assert row["dscr_min"] == pytest.approx(90 / 100)
    assert row["dscr_avg"] == pytest.approx((120 / 100 + 90 / 100 + 140 / 70) / 3)


def test_distribution_yield_min_and_avg():
    rows = (("P1", DIST, {2025: 79, 2026: 82, 2027: 85}),)
    row = one({"appraised_value_cny": 1480}, rows)
    assert row["distribution_yield_min"] == pytest.approx(79 / 1480)
    assert row["distribution_yield_avg"] == pytest.approx((79 + 82 + 85) / 3 / 1480)
    zero = one({"appraised_value_cny": 0}, rows)
    assert pd.isna(zero["distribution_yield_min"]) and pd.isna(zero["distribution_yield_avg"])


def test_ocf_positive_3y_over_the_last_three_full_years():
    frame = projects({}, {}, {}, {}, {})
    rows = yearly(
        ("P1", OCF, {2021: -5, 2022: 10, 2023: 11, 2024: 12}),  # 2021 is not among the last three
        ("P2", OCF, {2022: 10, 2023: -1, 2024: 12}),
        ("P3", OCF, {2022: 10, 2024: 12}),
        ("P4", OCF, {2022: 0, 2024: 12}),  # a year <= 0 fails even with one missing
        ("P5", OCF, {2025: 10}),  # forecast only
    )
    out = add_indicators(frame, rows, AS_OF)
    assert out["ocf_positive_3y"].tolist() == [True, False, pd.NA, False, pd.NA]
    assert out["ocf_years"].tolist() == [3, 3, 2, 2, 0]
    assert out["last_full_year"].tolist() == [2024] * 5


def test_ebitda_history_to_forecast_ratio():
    rows = (
        ("P1", EBITDA, {2021: 1, 2022: 100, 2023: 106, 2024: 111, 2025: 150, 2026: 160, 2027: 170}),
    )
    row = one({}, rows)
    assert row["ebitda_hist_avg_3y"] == pytest.approx((100 + 106 + 111) / 3)
    assert row["ebitda_forecast_avg_3y"] == pytest.approx((150 + 160 + 170) / 3)
    assert row["ebitda_hist_to_forecast"] == pytest.approx((100 + 106 + 111) / (150 + 160 + 170))


def test_ebitda_ratio_needs_three_years_each_and_a_positive_forecast():
    gap = one({}, (("P1", EBITDA, {2022: 100, 2024: 111, 2025: 1, 2026: 1, 2027: 1}),))
    assert pd.isna(gap["ebitda_hist_avg_3y"]) and pd.isna(gap["ebitda_hist_to_forecast"])
    loss = one({}, (("P1", EBITDA, {2022: 1, 2023: 1, 2024: 1, 2025: -5, 2026: 2, 2027: 3}),))
    assert loss["ebitda_forecast_avg_3y"] == pytest.approx(0)
    assert pd.isna(loss["ebitda_hist_to_forecast"])


def test_yearly_indicators_long_table():
    frame = projects({"appraised_value_cny": 1000}, {})
    rows = yearly(
        ("P1", OCF, {2024: 120}), ("P1", DS, {2024: 100}), ("P1", DIST, {2025: 50}),
        ("P2", OCF, {2023: 80}), ("P2", DS, {2023: 0}), ("P9", OCF, {2024: 1}),
    )  # fmt: skip
    long = yearly_indicators(frame, rows, AS_OF)
    assert long.columns.tolist() == ["project_id", "year", "indicator", "value"]
    assert long[["project_id", "year", "indicator"]].values.tolist() == [
        ["P1", 2024, "dscr"],
        ["P1", 2025, "distribution_yield"],
    ]
    assert long["value"].tolist() == pytest.approx([1.2, 0.05])


def test_project_without_yearly_rows_and_unknown_series_are_ignored():
    rows = (("P1", "revenue_cny", {2024: 5}), ("P1", "made_up", {2024: 1}))
    row = one({}, rows)
    assert pd.isna(row["dscr_min"]) and pd.isna(row["ocf_positive_3y"]) and row["ocf_years"] == 0


# -- contract ----------------------------------------------------------------------------------
def test_inputs_are_not_mutated():
    frame = projects({"province": "guizhou", "pue": 1.3, "it_energy_mwh": 5.0, "racks": 10})
    rows = yearly(("P1", OCF, {2024: 1.0}), ("P1", DS, {2024: 2.0}))
    before, rows_before = frame.copy(), rows.copy()
    out = add_indicators(frame, rows, AS_OF)
    yearly_indicators(frame, rows, AS_OF)
    pd.testing.assert_frame_equal(frame, before)
    pd.testing.assert_frame_equal(rows, rows_before)
    assert out is not frame and "energy_mwh" not in frame.columns


def test_missing_columns_are_named():
    with pytest.raises(AssessmentError, match="no province"):
        add_indicators(projects({}).drop(columns="province"), NO_YEARLY, AS_OF)


def test_reference_dir_is_read_and_checked(tmp_path):
    shutil.copytree(REFERENCE, tmp_path, dirs_exist_ok=True)
    grades = tmp_path / "gb40879_grades.csv"
    grades.write_text(grades.read_text(encoding="utf-8").replace("\n2,1.30,", "\n2,1.35,"), "utf-8")
    assert one({"pue": 1.33}, reference_dir=tmp_path)["gb40879_grade"] == 2
    (tmp_path / "size_classes.csv").write_text("size_class,min_racks,max_racks\nx,0,9\ny,11,\n")
    with pytest.raises(RuleError, match="not contiguous"):
        one({}, reference_dir=tmp_path)
    with pytest.raises(RuleError, match="not found"):
        one({}, reference_dir=tmp_path / "nowhere")


def test_emission_factor_areas_are_engine_codes():
    factors = pd.read_csv(REFERENCE / "grid_emission_factors.csv")
    choices = pd.read_csv(ROOT / "templates" / "application" / "choices.csv")
    provinces = set(choices.loc[choices["set"] == "province", "code"])
    by_type = factors.groupby("factor_type")["area"].agg(set)
    assert by_type["provincial"] <= provinces
    assert by_type["regional"] == set(choices["grid_region"].dropna())
    national = [t for t in by_type.index if t not in ("provincial", "regional")]
    assert all(by_type[t] == {"national"} for t in national)


# -- the samples -------------------------------------------------------------------------------
def test_samples_zhangjiakou_reit():
    found = read_applications([ROOT / "sample_projects"], as_of=dt.date(2025, 6, 30))
    out = add_indicators(found.projects, found.yearly, dt.date(2025, 6, 30))
    row = out.loc["DC-2025-005"]  # Hebei, operating since 2019-04-01, measured PUE 1.26
    assert row["operating_years"] == pytest.approx(2282 / 365.25)
    assert out["ocf_positive_3y"]["DC-2025-005"] and row["ocf_years"] == 3  # 2022-2024 > 0
    assert row["dscr_min"] == pytest.approx(8.5e7 / 6.2e7)  # 2021
    assert row["ebitda_hist_avg_3y"] == pytest.approx((1.00e8 + 1.06e8 + 1.11e8) / 3)
    assert row["distribution_yield_min"] == pytest.approx(7.9e7 / 1.48e9)
    assert row["emissions_tco2"] == pytest.approx(693_800 * 1.26 * 0.7252)  # Hebei 2022
    assert (row["size_class"], row["gb40879_grade"], row["hub_zone"]) == ("super_large", 2, "east")
    assert len(out) == len(found.projects) and out.index.equals(found.projects.index)
    ramping = out.loc["DC-2025-006"]  # Chongqing: actuals for 2023 and 2024 only
    assert pd.isna(ramping["ocf_positive_3y"]) and ramping["ocf_years"] == 2


def test_empty_tables_give_typed_empty_columns():
    out = add_indicators(projects(), NO_YEARLY, AS_OF)
    assert out.empty and out.columns[-1] == INDICATORS[-1].name
    assert str(out["gb40879_grade"].dtype) == "Int64"
    assert str(out["ocf_positive_3y"].dtype) == "boolean"
    assert yearly_indicators(projects(), NO_YEARLY, AS_OF).empty
