"""Every unit, alias and value rule of the reader, one cell at a time."""

from __future__ import annotations

import datetime as dt

import pytest

from assessment.intake.cells import BadValue, is_missing, parse_cell


def parse(dictionary, name: str, raw: object, unit: str = "", fx: float | None = None):
    return parse_cell(raw, unit, dictionary.fields[name], dictionary, fx)


@pytest.mark.parametrize(
    ("raw", "unit", "cny"),
    [
        (1200, "", 1200.0),
        (1200, "元", 1200.0),
        (1200, "CNY", 1200.0),
        (1200, "RMB", 1200.0),
        (3.5, "万元", 35_000.0),
        (3.5, "亿元", 350_000_000.0),
        (2.0, "RMB million", 2_000_000.0),
        (2.0, "CNY mn", 2_000_000.0),
        (1.2, "RMB bn", 1_200_000_000.0),
        (7, "千元", 7_000.0),
        ("3.5亿元", "", 350_000_000.0),
        ("1,200,000", "", 1_200_000.0),
        ("1 200 000", "", 1.2e6),
        ("１２００", "", 1200.0),
        ("１，２００万元", "", 12_000_000.0),
        ("(500)", "", -500.0),
        ("2.5 亿", "CNY", 250_000_000.0),
    ],
)
def test_currency(dictionary, raw, unit, cny):
    assert parse(dictionary, "total_investment_cny", raw, unit) == pytest.approx(cny)


def test_usd_needs_an_explicit_rate(dictionary):
    assert parse(dictionary, "loan_amount_cny", 10, "USD million", fx=7.1) == pytest.approx(71e6)
    assert parse(dictionary, "loan_amount_cny", "10 USD", "", fx=7.0) == 70.0
    with pytest.raises(BadValue, match="CNY") as bad:
        parse(dictionary, "loan_amount_cny", 10, "USD million")
    assert "fx_usd_cny" in bad.value.hint


@pytest.mark.parametrize(
    ("name", "raw", "unit", "base"),
    [
        ("it_load_mw", 1500, "kW", 1.5),
        ("it_load_mw", 12, "MW", 12.0),
        ("it_load_mw", 0.2, "GW", 200),
        ("it_load_mw", "800 千瓦", "", 0.8),
        ("it_energy_mwh", 2_000_000, "kWh", 2000.0),
        ("it_energy_mwh", 150, "GWh", 150_000.0),
        ("it_energy_mwh", 1.5, "万千瓦时", 15.0),
        ("it_energy_mwh", 3, "亿千瓦时", 300_000.0),
        ("it_energy_mwh", "12,000 MWh", "", 12_000.0),
        ("loan_tenor_years", 180, "months", 15.0),
        ("compute_pflops", 2, "EFLOPS", 2000.0),
    ],
)
def test_power_energy_and_other_units(dictionary, name, raw, unit, base):
    assert parse(dictionary, name, raw, unit) == pytest.approx(base)


@pytest.mark.parametrize(
    ("raw", "unit", "share"),
    [
        ("85%", "", 0.85),
        ("８５％", "", 0.85),
        (85, "%", 0.85),
        ("85", "%", 0.85),
        (0.85, "", 0.85),
        ("0.85", "", 0.85),
        (0.85, "fraction", 0.85),
        (1, "", 1.0),
        (0, "%", 0.0),
    ],
)
def test_percentages(dictionary, raw, unit, share):
    assert parse(dictionary, "green_power_share", raw, unit) == pytest.approx(share)


def test_a_share_above_one_without_unit_is_refused_with_a_hint(dictionary):
    with pytest.raises(BadValue) as bad:
        parse(dictionary, "green_power_share", 85)
    assert bad.value.expected == "a fraction between 0 and 1" and "85%" in bad.value.hint


def test_wrong_dimension_unit_is_refused(dictionary):
    with pytest.raises(BadValue, match="MW") as bad:
        parse(dictionary, "it_load_mw", 3, "万元")
    assert "unknown unit" in bad.value.hint


@pytest.mark.parametrize(
    "raw",
    [
        "2021-06-30",
        "2021/6/30",
        "2021.06.30",
        "2021年6月30日",
        "20210630",
        "30/06/2021",
        "2021-06-30 00:00:00",
        dt.datetime(2021, 6, 30),
        dt.date(2021, 6, 30),
        44377,
        "２０２１年６月３０日",
    ],
)
def test_dates(dictionary, raw):
    assert parse(dictionary, "operating_since", raw) == dt.date(2021, 6, 30)


def test_month_dates_and_ambiguous_dates(dictionary):
    assert parse(dictionary, "operating_since", "2020年6月") == dt.date(2020, 6, 1)
    assert parse(dictionary, "operating_since", "2020-06") == dt.date(2020, 6, 1)
    with pytest.raises(BadValue, match="unambiguous"):
        parse(dictionary, "operating_since", "03/04/2021")
    with pytest.raises(BadValue, match="exists"):
        parse(dictionary, "operating_since", "2021-02-30")


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("是", True),
        ("否", False),
        ("yes", True),
        ("No", False),
        ("Y", True),
        ("n", False),
        ("TRUE", True),
        ("false", False),
        (True, True),
        (0, False),
        (1.0, True),
        ("有", True),
        ("无", False),
        ("ｙｅｓ", True),
    ],
)
def test_booleans(dictionary, raw, value):
    assert parse(dictionary, "title_clear", raw) is value


@pytest.mark.parametrize(
    ("name", "raw", "code"),
    [
        ("province", "内蒙古自治区", "inner_mongolia"),
        ("province", "Inner Mongolia", "inner_mongolia"),
        ("province", "广东省", "guangdong"),
        ("province", " GUANGDONG ", "guangdong"),
        ("hub", "长三角", "yangtze_river_delta"),
        ("hub", "Greater Bay Area", "greater_bay_area"),
        ("hub", "无", "none"),
        ("hub", "none", "none"),
        ("cluster", "Gui'an", "guian"),
        ("cluster", "贵安集群", "guian"),
        ("facility_type", "智算中心", "intelligent_computing"),
        ("facility_type", "AI", "intelligent_computing"),
        ("facility_type", "边缘", "edge"),
        ("project_kind", "改造", "retrofit"),
        ("financing_purpose", "公募REITs", "reit"),
        ("asset_rights", "特许经营权", "operating_right"),
    ],
)
def test_enumerations_accept_english_and_chinese(dictionary, name, raw, code):
    assert parse(dictionary, name, raw) == code


def test_unknown_choice_suggests_the_nearest(dictionary):
    with pytest.raises(BadValue) as bad:
        parse(dictionary, "province", "Guangdon")
    assert "Guangdong" in bad.value.hint


@pytest.mark.parametrize("raw", ["NA", "None", "N/A", "null", "-"])
def test_text_stays_text(dictionary, raw):
    assert not is_missing(raw, "text")
    assert parse(dictionary, "sponsor", raw) == raw


def test_not_available_markers_are_missing_in_numbers(dictionary):
    assert is_missing("N/A", "number") and is_missing("  ", "text") and is_missing(None, "date")
    assert parse(dictionary, "project_id", 1001.0) == "1001"


def test_integers_and_numbers(dictionary):
    assert parse(dictionary, "racks", "1,200") == 1200
    with pytest.raises(BadValue, match="whole"):
        parse(dictionary, "racks", 10.5)
    with pytest.raises(BadValue, match="number"):
        parse(dictionary, "pue", "about 1.3")
    with pytest.raises(BadValue, match="TRUE/FALSE"):
        parse(dictionary, "pue", True)
