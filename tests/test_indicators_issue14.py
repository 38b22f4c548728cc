"""The indicator meanings of issue 14, each at, above and below its boundary.

Every project goes the real way: a candidate list written to ``tmp_path`` (yearly values as
``<series>_<year>`` columns), read by ``read_applications``, then ``add_indicators``. Factors
and weights are those of the packaged ``rules/reference/`` tables (MEE/NBS, tCO2/MWh).
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
from helpers import AS_OF, FULL_PROJECT, FULL_YEARLY, ROOT

from assessment import read_applications, write_template
from assessment.criteria.indicators import CHOICE_CODES, INDICATORS, add_indicators
from assessment.errors import RuleError

REFERENCE = ROOT / "rules" / "reference"
HEBEI = {2021: 0.7901, 2022: 0.7252, 2023: 0.6516}  # provincial factors by data year
SITE = {"pue": 1.25, "it_energy_mwh": 40_000, "compute_pflops": 50}


def assess(folder: Path, *rows: dict, as_of: dt.date = AS_OF, **options) -> pd.DataFrame:
    """``rows`` (field -> value) as projects P1, P2, ... of one CSV list, read back by
    ``read_applications`` as of ``as_of``, with their indicators."""
    ids = [f"P{n}" for n in range(1, len(rows) + 1)]
    rows = tuple({"project_id": pid} | row for pid, row in zip(ids, rows, strict=True))
    path = folder / f"list_{len(list(folder.glob('list_*.csv')))}.csv"
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    found = read_applications([path], as_of=as_of)
    assert found.projects.index.tolist() == ids, found.problems.to_string()
    return add_indicators(found.projects, found.yearly, as_of, **options)


def series(name: str, values: dict[int, float]) -> dict[str, float]:
    """One yearly series as list columns ``<name>_<year>``."""
    return {f"{name}_{year}": value for year, value in values.items()}


# the rows of the parametrized cases below, assessed together once (as of AS_OF) by `batch`
BATCH: list[dict] = []


def batched(*rows: dict) -> None:
    """Register ``rows`` for the module's one batch (each project is assessed on its own)."""
    BATCH.extend(row for row in rows if row not in BATCH)


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> pd.DataFrame:
    return assess(tmp_path_factory.mktemp("batch"), *BATCH)


def rows_of(batch: pd.DataFrame, *rows: dict) -> pd.DataFrame:
    """The indicators of the registered ``rows``, in their order."""
    return batch.iloc[[BATCH.index(row) for row in rows]]


def test_the_new_indicators_are_registered_with_their_kinds():
    kinds = {indicator.name: (indicator.kind, indicator.unit) for indicator in INDICATORS}
    assert kinds["gb40879_in_scope"] == ("bool", "")
    assert kinds["province_assessed"] == kinds["province_basis"] == ("choice", "")
    assert kinds["emission_factor_status"] == ("choice", "")
    assert kinds["re_weight_province"] == ("number", "fraction")
    assert kinds["debt_service_proposed_cny"] == ("number", "CNY")
    assert kinds["dscr_forecast_min"] == kinds["dscr_hist_min"] == ("number", "")
    assert kinds["distribution_yield_forecast_min"] == ("number", "fraction")
    assert kinds["profit_or_ocf_positive_3y"] == ("bool", "")
    assert CHOICE_CODES["province_basis"] == ("given", "cluster", "hub", "none")
    assert CHOICE_CODES["emission_factor_status"] == ("official", "fallback_before_publication")


# -- 1. the PUE a site is judged on ------------------------------------------------------------
def test_an_operating_site_is_judged_on_its_measured_pue_the_others_on_their_design(tmp_path):
    kinds = ["operating", "", "new", "expansion", "retrofit"]
    out = assess(tmp_path, *({"project_kind": k, "pue": 1.45, "pue_design": 1.25} for k in kinds))
    assert out["pue_assessed"].tolist() == [1.45, 1.45, 1.25, 1.25, 1.25]
    assert out["pue_basis"].tolist() == ["measured"] * 2 + ["design"] * 3
    assert out["gb40879_grade"].tolist() == [3, 3, 2, 2, 2]  # phase one's 1.45 never counts


def test_an_operating_site_without_a_measured_pue_has_none(tmp_path):
    rows = [
        {"project_kind": k, "pue_design": 1.2, "it_energy_mwh": 1_000} for k in ("operating", "")
    ]
    rows.append({"project_kind": "new", "pue": 1.3, "it_energy_mwh": 1_000})  # no design
    out = assess(tmp_path, *rows)
    assert out["pue_assessed"].isna().all() and out["pue_basis"].isna().all()
    assert out["gb40879_grade"].isna().all() and out["energy_mwh"].isna().all()


GRADES = [(1.30, 2), (1.3001, 3), (1.50, 3), (1.5001, 4)]


def graded(pue: float) -> tuple[dict, dict]:
    operating = {"project_kind": "operating", "pue": pue, "pue_design": 1.1}
    expansion = {"project_kind": "expansion", "pue": 1.1, "pue_design": pue}
    return operating | SITE | {"pue": pue}, expansion | {"it_energy_mwh": 40_000}


for _pue, _ in GRADES:
    batched(*graded(_pue))


@pytest.mark.parametrize(("pue", "grade"), GRADES)
def test_grade_and_energy_follow_pue_assessed(batch, pue, grade):
    out = rows_of(batch, *graded(pue))
    assert out["gb40879_grade"].tolist() == [grade, grade]
    assert out["energy_mwh"].tolist() == pytest.approx([40_000 * pue] * 2)


# -- 2. GB 40879 scope -------------------------------------------------------------------------
def test_edge_sites_of_at_most_100_racks_are_outside_gb40879(tmp_path):
    rows = [
        {"facility_type": "edge", "racks": 99},
        {"facility_type": "edge", "racks": 100},
        {"facility_type": "edge", "racks": 101},
        {"facility_type": "general", "racks": 100},
        {"facility_type": "intelligent_computing", "racks": 50},
        {"facility_type": "general", "racks": ""},
        {"facility_type": "edge", "racks": ""},
        {"facility_type": "", "racks": 50},
        {"facility_type": "", "racks": 5_000},
    ]
    out = assess(tmp_path, *rows)
    expected = [False, False, True, True, True, True, pd.NA, pd.NA, pd.NA]
    assert out["gb40879_in_scope"].tolist() == expected
    assert str(out["gb40879_in_scope"].dtype) == "boolean"


def test_the_edge_limit_is_the_edge_size_class_of_the_reference(tmp_path):
    folder = tmp_path / "reference"
    shutil.copytree(REFERENCE, folder)
    classes = folder / "size_classes.csv"
    text = classes.read_text(encoding="utf-8")
    classes.write_text(
        text.replace("\nedge,0,100,", "\nedge,0,120,").replace("\nsmall,101,", "\nsmall,121,")
    )
    rows = [{"facility_type": "edge", "racks": n} for n in (120, 121)]
    out = assess(tmp_path, *rows, reference_dir=folder)
    assert out["gb40879_in_scope"].tolist() == [False, True]


# -- 3. emission factors by publication date ---------------------------------------------------
@pytest.mark.parametrize(
    ("as_of", "year", "status"),
    [
        (dt.date(2020, 1, 1), 2021, "fallback_before_publication"),
        (dt.date(2024, 4, 11), 2021, "fallback_before_publication"),
        (dt.date(2024, 4, 12), 2021, "official"),
        (dt.date(2024, 12, 19), 2021, "official"),
        (dt.date(2024, 12, 20), 2022, "official"),
        (dt.date(2025, 6, 30), 2022, "official"),
        (dt.date(2025, 12, 30), 2022, "official"),
        (dt.date(2025, 12, 31), 2023, "official"),
        (dt.date(2026, 6, 30), 2023, "official"),
    ],
)
def test_factors_are_those_published_by_the_assessment_date(tmp_path, as_of, year, status):
    out = assess(tmp_path, {"province": "hebei"} | SITE, as_of=as_of)
    row = out.iloc[0]
    assert (row["emission_factor"], row["emission_factor_year"]) == (HEBEI[year], year)
    assert (row["emission_factor_status"], row["emission_factor_level"]) == (status, "provincial")
    assert row["emissions_tco2"] == pytest.approx(1.25 * 40_000 * HEBEI[year])
    assert (row["emission_factor_market"], row["emission_factor_market_year"]) == (
        HEBEI[year],
        year,
    )


@pytest.mark.parametrize(
    ("as_of", "factor_year", "expected"),
    [
        (dt.date(2025, 6, 30), 2021, (0.7901, "official")),
        (dt.date(2025, 6, 30), 2022, (0.7252, "official")),
        (dt.date(2025, 6, 30), 2023, None),  # published 2025-12-31: not yet
        (dt.date(2025, 12, 31), 2023, (0.6516, "official")),
        (dt.date(2024, 4, 11), 2021, (0.7901, "fallback_before_publication")),
        (dt.date(2024, 4, 11), 2022, None),  # not in the fallback set
    ],
)
def test_factor_year_picks_a_data_year_among_the_usable_factors(
    tmp_path, as_of, factor_year, expected
):
    row = assess(tmp_path, {"province": "hebei"} | SITE, as_of=as_of, factor_year=factor_year)
    row = row.iloc[0]
    if expected is None:
        assert pd.isna(row["emission_factor"]) and pd.isna(row["emission_factor_status"])
        assert pd.isna(row["emissions_tco2"]) and pd.isna(row["emissions_market_tco2"])
    else:
        assert (row["emission_factor"], row["emission_factor_status"]) == expected
        assert row["emission_factor_year"] == factor_year


@pytest.mark.parametrize(
    ("as_of", "factor"), [(dt.date(2025, 2, 28), 0.7252), (dt.date(2025, 3, 1), 0.7)]
)
def test_a_revision_of_a_data_year_counts_from_its_publication(tmp_path, as_of, factor):
    folder = tmp_path / "reference"
    shutil.copytree(REFERENCE, folder)
    with (folder / "grid_emission_factors.csv").open("a", encoding="utf-8") as table:
        table.write("2022,provincial,河北,Hebei,hebei,0.7,revised (test),2025-03-01,high\n")
    row = assess(tmp_path, {"province": "hebei"} | SITE, as_of=as_of, reference_dir=folder)
    assert (row.iloc[0]["emission_factor"], row.iloc[0]["emission_factor_year"]) == (factor, 2022)


def test_the_published_column_is_required(tmp_path):
    folder = tmp_path / "reference"
    shutil.copytree(REFERENCE, folder)
    table = pd.read_csv(folder / "grid_emission_factors.csv").drop(columns="published")
    table.to_csv(folder / "grid_emission_factors.csv", index=False)
    with pytest.raises(RuleError, match="lacks columns") as refused:
        assess(tmp_path, {"province": "hebei"}, reference_dir=folder)
    assert "published" in str(refused.value)


def test_every_factor_row_has_a_publication_date_not_before_its_data_year():
    factors = pd.read_csv(REFERENCE / "grid_emission_factors.csv", parse_dates=["published"])
    assert factors["published"].notna().all()
    assert (factors["published"].dt.year > factors["data_year"]).all()
    location = factors[factors["factor_type"].isin(["provincial", "regional", "national"])]
    assert location.groupby("data_year")["published"].nunique().eq(1).all()
    assert location["published"].min() == pd.Timestamp("2024-04-12")


# -- 4. the province the carbon indicators use -------------------------------------------------
def test_province_is_inferred_from_the_cluster_or_the_only_province_of_a_hub(tmp_path):
    rows = [
        {"province": "hebei", "hub": "beijing_tianjin_hebei", "cluster": "zhangjiakou"},
        {"province": "", "hub": "beijing_tianjin_hebei", "cluster": "zhangjiakou"},
        {"province": "", "hub": "guizhou", "cluster": "none"},
        {"province": "atlantis", "hub": "ningxia", "cluster": ""},  # unrecognised: read as NA
        {"province": "", "hub": "beijing_tianjin_hebei", "cluster": "none"},  # 3 provinces
        {"province": "", "hub": "chengdu_chongqing", "cluster": ""},  # 2 provinces
        {"province": "", "hub": "yangtze_river_delta", "cluster": "yrd_demo_zone"},
        {"province": "", "hub": "none", "cluster": "none"},
        {},
    ]
    out = assess(tmp_path, *({"it_energy_mwh": 40_000, "pue": 1.25} | row for row in rows))
    assert out["province_assessed"].tolist() == [
        *("hebei", "hebei", "guizhou", "ningxia"),
        *[pd.NA] * 5,
    ]
    assert out["province_basis"].tolist() == [
        *("given", "cluster", "hub", "hub"),
        *["none"] * 5,
    ]
    assert out["emission_factor"].tolist()[:4] == [0.7252, 0.7252, 0.4989, 0.6423]
    assert out["emissions_tco2"].iloc[1] == pytest.approx(1.25 * 40_000 * 0.7252)


def test_without_a_province_the_carbon_indicators_are_missing(tmp_path):
    row = {"hub": "chengdu_chongqing", "green_power_share": 0.3, "compute_pflops": 10} | SITE
    out = assess(tmp_path, row, {"province": "chongqing"} | row).iloc[0]
    carbon = ["emission_factor", "emission_factor_year", "emission_factor_level"]
    carbon += ["emission_factor_status", "emission_factor_market", "emission_factor_market_year"]
    carbon += ["emissions_tco2", "emissions_market_tco2", "cue", "carbon_per_pflops"]
    assert all(pd.isna(out[name]) for name in carbon), out[carbon]
    assert pd.isna(out["re_weight_province"])
    assert out["energy_mwh"] == pytest.approx(1.25 * 40_000)  # the rest is still computed


def test_a_known_province_without_a_provincial_factor_takes_its_grid_region(tmp_path):
    out = assess(tmp_path, {"province": "tibet"} | SITE, {"province": "macau"} | SITE)
    assert out["emission_factor_level"].tolist() == ["regional", "national"]
    assert out["emission_factor"].tolist() == [0.2268, 0.5366]
    assert out["province_basis"].tolist() == ["given", "given"]


# -- 5. operating years of a new build ---------------------------------------------------------
def test_a_new_build_without_an_operating_date_has_zero_operating_years(tmp_path):
    rows = [
        {"project_kind": "new", "operating_since": ""},
        {"project_kind": "new", "operating_since": "2025-06-30"},
        {"project_kind": "new", "operating_since": "2025-06-29"},
        {"project_kind": "operating", "operating_since": ""},
        {"project_kind": "expansion", "operating_since": ""},
        {"project_kind": "", "operating_since": ""},
        {"project_kind": "operating", "operating_since": "2022-06-30"},
    ]
    out = assess(tmp_path, *rows)["operating_years"].tolist()
    assert out[:3] == [0.0, 0.0, pytest.approx(1 / 365.25)]
    assert all(pd.isna(value) for value in out[3:6])
    assert out[6] == pytest.approx(
        1096 / 365.25
    )  # 3 years and a leap day: 2022-06-30 .. 2025-06-30


# -- 6. market-based emissions -----------------------------------------------------------------
SHARES = [(0.0, 1.0), (0.4, 0.6), (1.0, 0.0)]


def guangdong(share: float) -> dict:
    return {"province": "guangdong", "green_power_share": share} | SITE


batched(*(guangdong(share) for share, _ in SHARES))


@pytest.mark.parametrize(("share", "left"), SHARES)
def test_market_emissions_net_out_green_power_at_the_location_factor(batch, share, left):
    """Issue 16: a claimed share without evidence nets out nothing (market = location)."""
    row = rows_of(batch, guangdong(share)).iloc[0]
    assert row["emission_factor_market"] == row["emission_factor"] == 0.4403
    assert row["emissions_market_tco2"] == pytest.approx(1.25 * 40_000 * 0.4403)
    assert 0 <= row["emissions_market_tco2"] <= row["emissions_tco2"]


def test_market_emissions_stay_between_zero_and_location_based(tmp_path):
    """Issue 16: the evidenced green electricity (MWh) is netted out, at most all of it."""
    rows = [{"province": "hebei"} | SITE] * 4
    read = assess(tmp_path, *rows)
    frame = read[read.columns[: read.columns.get_loc("pue_assessed")]]
    frame = frame.assign(green_certificates_mwh=[float("nan"), 0.0, 50_000.0, 1e9])
    out = add_indicators(
        frame, pd.DataFrame(columns=["project_id", "year", "series", "value"]), AS_OF
    )
    location = 1.25 * 40_000 * 0.7252
    assert out["emissions_market_tco2"].tolist() == pytest.approx([location, location, 0, 0])


# -- 7. cash flow ------------------------------------------------------------------------------
def test_net_profit_and_the_loan_rate_round_trip_through_the_template(tmp_path):
    values = FULL_PROJECT | {"loan_interest_rate": 0.045}
    yearly = FULL_YEARLY | {"net_profit_cny": {2022: -3.0e7, 2023: 1.0e7, 2024: 2.5e7}}
    path = write_template(tmp_path / "form.xlsx", "zh", values=values, yearly=yearly)
    found = read_applications([path], as_of=AS_OF)
    mine = found.problems["field"].isin(["loan_interest_rate", "net_profit_cny"])
    assert not mine.any() and (found.problems["severity"] != "error").all()
    assert found.projects.loc["T-001", "loan_interest_rate"] == 0.045
    profit = found.yearly[found.yearly["series"] == "net_profit_cny"]
    assert dict(zip(profit["year"], profit["value"], strict=True)) == yearly["net_profit_cny"]


def test_distribution_yield_forecast_min_takes_the_three_forecast_years(tmp_path):
    dist = {2024: 10, 2025: 79, 2026: 82, 2027: 85, 2028: 5}  # 2024 and 2028 are outside
    row = assess(tmp_path, {"appraised_value_cny": 1480} | series("distributable_cash_cny", dist))
    row = row.iloc[0]
    assert row["distribution_yield_forecast_min"] == pytest.approx(79 / 1480)
    assert row["distribution_yield_min"] == pytest.approx(5 / 1480)  # every year, as before
    none = assess(tmp_path, {"appraised_value_cny": 0} | series("distributable_cash_cny", dist))
    assert pd.isna(none.iloc[0]["distribution_yield_forecast_min"])


OCF, PROFIT = "operating_cash_flow_cny", "net_profit_cny"


POSITIVE = [
    ({2022: -5, 2023: 2, 2024: 4}, {}, True),  # overall positive, one year negative
    ({2022: -2, 2023: 1, 2024: 1}, {}, False),  # sum exactly 0
    ({2022: -2, 2023: 1, 2024: 1.01}, {}, True),  # just above 0
    ({2022: -2, 2023: 1, 2024: 1}, {2022: -1, 2023: 0, 2024: 2}, True),  # profit sum 1
    ({2022: -2, 2023: 1, 2024: 1}, {2022: -1, 2023: 0, 2024: 1}, False),  # both exactly 0
    ({2022: 5, 2024: 5}, {2022: -1, 2023: -1, 2024: -1}, False),  # OCF incomplete
    ({2022: 5, 2024: 5}, {2022: 5, 2023: 5}, pd.NA),  # neither complete
    ({2022: -1, 2023: -1, 2024: -1}, {2023: 9, 2024: 9}, False),  # profit incomplete
    ({2021: 100, 2022: -1, 2023: 0, 2024: 0}, {}, False),  # 2021 is before the window
    ({2022: -1, 2023: 0, 2024: 0, 2025: 100}, {}, False),  # 2025 is a forecast year
]
batched(*(series(OCF, ocf) | series(PROFIT, profit) for ocf, profit, _ in POSITIVE))


@pytest.mark.parametrize(("ocf", "profit", "expected"), POSITIVE)
def test_profit_or_ocf_positive_overall_in_the_last_three_years(batch, ocf, profit, expected):
    out = rows_of(batch, series(OCF, ocf) | series(PROFIT, profit))
    assert out["profit_or_ocf_positive_3y"].tolist() == [expected]
    assert str(out["profit_or_ocf_positive_3y"].dtype) == "boolean"


ANNUITY = 12_950_457.50  # 1e8 × 0.05 / (1 − 1.05^−10), 1.05^10 = 1.628894627


LOANS = [
    ({"loan_interest_rate": 0.05}, ANNUITY),
    ({"loan_interest_rate": 0}, 1.0e7),  # no interest: amount / tenor
    ({"loan_interest_rate": 0.0001}, 1.0e7 * 1.000550),  # just above zero
    ({"loan_interest_rate": ""}, None),
    ({"loan_interest_rate": 0.05, "loan_tenor_years": 0}, None),
    ({"loan_interest_rate": 0.05, "loan_amount_cny": ""}, None),
]
TERMS = {"loan_amount_cny": 1.0e8, "loan_tenor_years": 10}
batched(*(TERMS | loan for loan, _ in LOANS))


@pytest.mark.parametrize(("loan", "expected"), LOANS)
def test_the_proposed_loan_is_a_level_annuity(batch, loan, expected):
    row = rows_of(batch, TERMS | loan).iloc[0]
    if expected is None:
        assert pd.isna(row["debt_service_proposed_cny"])
    else:
        assert row["debt_service_proposed_cny"] == pytest.approx(expected, abs=1, rel=1e-6)


def test_a_frame_without_the_optional_rate_has_no_proposed_debt_service(tmp_path):
    terms = {"loan_amount_cny": 1.0e8, "loan_tenor_years": 10, "loan_interest_rate": 0.05}
    read = assess(tmp_path, terms)
    frame = read[read.columns[: read.columns.get_loc("pue_assessed")]]
    no_rate = pd.DataFrame(columns=["project_id", "year", "series", "value"])
    out = add_indicators(frame.drop(columns="loan_interest_rate"), no_rate, AS_OF)
    assert read["debt_service_proposed_cny"].iloc[0] == pytest.approx(ANNUITY)
    assert pd.isna(out["debt_service_proposed_cny"].iloc[0])


def test_forecast_dscr_is_under_the_proposed_loan_whatever_the_years_report(tmp_path):
    terms = {"loan_amount_cny": 1.0e8, "loan_tenor_years": 10, "loan_interest_rate": 0.05}
    ocf = {2023: 90, 2024: 50, 2025: 15e6, 2026: 20e6, 2027: 30e6}
    service = {2023: 100, 2024: 100, 2026: 1e7, 2027: 0}  # an old loan's service: evidence
    row = assess(tmp_path, terms | series(OCF, ocf) | series("debt_service_cny", service))
    row = row.iloc[0]
    assert row["dscr_forecast_min"] == pytest.approx(15e6 / ANNUITY)
    assert row["dscr_hist_min"] == pytest.approx(50 / 100)  # 2024, the year before as_of
    assert row["dscr_min"] == pytest.approx(50 / 100)  # unchanged: every reported year
    unpriced = {"loan_amount_cny": 1.0e8, "loan_tenor_years": 10}  # no rate: not priced
    reported = assess(
        tmp_path, unpriced | series(OCF, {2025: 15e6}) | series("debt_service_cny", {2025: 1e6})
    )
    assert reported.iloc[0]["dscr_forecast_min"] == pytest.approx(15.0)  # the year's own


def test_forecast_dscr_without_a_loan_or_forecast_is_missing(tmp_path):
    rows = [
        series(OCF, {2025: 10, 2026: 12}),  # no debt service, no proposed loan
        {"loan_amount_cny": 1e8, "loan_tenor_years": 10, "loan_interest_rate": 0.05}
        | series(OCF, {2024: 10}) | series("debt_service_cny", {2024: 5}),  # history only
    ]  # fmt: skip
    out = assess(tmp_path, *rows)
    assert out["dscr_forecast_min"].isna().all()
    assert pd.isna(out["dscr_hist_min"].iloc[0]) and out["dscr_hist_min"].iloc[1] == 2


# -- 8. renewable-consumption weight of the province -------------------------------------------
@pytest.mark.parametrize(
    ("province", "as_of", "weight"),
    [
        ("hebei", dt.date(2022, 12, 31), None),  # before the first year of the table
        ("hebei", dt.date(2023, 1, 1), 0.191),
        ("hebei", dt.date(2025, 6, 30), 0.191),  # the latest year <= 2025
        ("fujian", AS_OF, 0.206),
        ("xinjiang", AS_OF, 0.235),
        ("tibet", AS_OF, None),  # not assessed
        ("hong_kong", AS_OF, None),
    ],
)
def test_re_weight_of_the_province_and_year(tmp_path, province, as_of, weight):
    row = assess(tmp_path, {"province": province}, as_of=as_of).iloc[0]
    if weight is None:
        assert pd.isna(row["re_weight_province"])
    else:
        assert row["re_weight_province"] == pytest.approx(weight)


def test_re_weight_follows_the_inferred_province_and_a_later_year(tmp_path):
    folder = tmp_path / "reference"
    shutil.copytree(REFERENCE, folder)
    with (folder / "renewable_consumption_weights.csv").open("a", encoding="utf-8") as table:
        table.write("2024,hebei,河北,0.25,0.24,test,unverified,a later year\n")
    row = {"hub": "beijing_tianjin_hebei", "cluster": "zhangjiakou"}
    for as_of, weight in ((dt.date(2023, 12, 31), 0.191), (dt.date(2024, 1, 1), 0.25)):
        out = assess(tmp_path, row, as_of=as_of, reference_dir=folder).iloc[0]
        assert out["province_basis"] == "cluster" and out["re_weight_province"] == weight


def test_the_weights_table_holds_the_2023_weights_of_30_provinces():
    weights = pd.read_csv(REFERENCE / "renewable_consumption_weights.csv")
    choices = pd.read_csv(ROOT / "templates" / "application" / "choices.csv")
    provinces = set(choices.loc[choices["set"] == "province", "code"])
    assert set(weights["province"]) <= provinces and "tibet" not in set(weights["province"])
    assert len(weights) == 30 and set(weights["year"]) == {2023}
    by_code = weights.set_index("province")
    assert by_code.loc["fujian", ["total_weight", "non_hydro_weight"]].tolist() == [0.206, 0.10]
    assert by_code.loc["shanghai", ["total_weight", "non_hydro_weight"]].tolist() == [0.30, 0.06]
    assert (weights["total_weight"] >= weights["non_hydro_weight"]).all()
    assert weights["source"].str.contains("569号").all()
    assert set(weights["confidence"]) == {"verified_secondary"}


# -- the samples -------------------------------------------------------------------------------
def test_the_zhangjiakou_sample_as_of_mid_2025():
    found = read_applications([ROOT / "sample_projects"], as_of=AS_OF)
    row = add_indicators(found.projects, found.yearly, AS_OF).loc["DC-2025-005"]
    assert (row["province_assessed"], row["province_basis"]) == ("hebei", "given")
    assert (row["emission_factor"], row["emission_factor_status"]) == (0.7252, "official")
    assert row["re_weight_province"] == pytest.approx(0.191)
    assert row["gb40879_in_scope"] == True  # noqa: E712 (a numpy or pandas boolean)
    assert row["distribution_yield_forecast_min"] == pytest.approx(7.9e7 / 1.48e9)
