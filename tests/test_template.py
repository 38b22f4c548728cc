"""The official workbook is generated from the dictionary and reads back exactly."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest
from helpers import AS_OF, FULL_PROJECT, FULL_YEARLY

from assessment import read_applications, write_template
from assessment.cli import main


def _expected(name: str, value: object) -> object:
    return pd.Timestamp(value) if name == "operating_since" else value


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_filled_template_reads_back_exactly(tmp_path, lang):
    path = write_template(
        tmp_path / f"app_{lang}.xlsx", lang, values=FULL_PROJECT, yearly=FULL_YEARLY
    )
    projects, yearly, problems = read_applications([path], as_of=AS_OF)
    assert problems.empty, problems.to_string()
    row = projects.loc["T-001"]
    for name, value in FULL_PROJECT.items():
        if name != "project_id":
            assert row[name] == _expected(name, value), name
    got = {(r.series, r.year): r.value for r in yearly.itertuples()}
    want = {(s, y): v for s, values in FULL_YEARLY.items() for y, v in values.items()}
    assert got == want


def test_template_has_dropdowns_formats_and_hints(tmp_path, dictionary):
    path = write_template(tmp_path / "blank.xlsx", "zh")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["填报说明", "项目信息", "年度数据", "下拉列表"]
    assert book["下拉列表"].sheet_state == "hidden"
    sheet = book["项目信息"]
    rows = {sheet.cell(r, 6).value: r for r in range(2, sheet.max_row + 1)}
    assert set(rows) - {None} == {f.name for f in dictionary.scalar_fields()}
    validations = {
        str(ref): dv for dv in sheet.data_validations.dataValidation for ref in dv.sqref.ranges
    }
    for field in dictionary.scalar_fields():
        rule = validations[f"B{rows[field.name]}"]
        assert rule.prompt, field.name
        if field.type in ("choice", "bool"):
            assert rule.type == "list", field.name
    assert sheet[f"B{rows['green_power_share']}"].number_format == "0.0%"
    assert sheet[f"B{rows['operating_since']}"].number_format == "yyyy-mm-dd"
    assert sheet["B1"].value == "数值" and sheet[f"A{rows['pue']}"].value == "年度实测PUE"


def test_user_filled_blank_template_reads_back(tmp_path):
    """Fill the blank workbook as a person would: dropdown labels, 是/否, typed units."""
    path = write_template(tmp_path / "blank.xlsx", "zh")
    book = openpyxl.load_workbook(path)
    sheet = book["项目信息"]
    rows = {sheet.cell(r, 6).value: r for r in range(2, sheet.max_row + 1)}
    typed = {
        "project_id": "ZH-9",
        "province": "内蒙古",
        "hub": "内蒙古",
        "cluster": "和林格尔",
        "facility_type": "智算中心",
        "waste_heat_reuse": "是",
        "green_power_share": 0.85,
        "operating_since": dt.datetime(2020, 5, 1),
        "it_load_mw": 1500,
    }
    for name, value in typed.items():
        sheet[f"B{rows[name]}"] = value
    sheet[f"C{rows['it_load_mw']}"] = "kW"
    sheet[f"B{rows['total_investment_cny']}"] = 12.5
    sheet[f"C{rows['total_investment_cny']}"] = "亿元"
    yearly = book["年度数据"]
    yearly.append([2024, 1_000, None, 250])
    yearly["B1"] = "营业收入 (万元)"
    book.save(path)
    projects, yearly_frame, problems = read_applications([path], as_of=AS_OF)
    row = projects.loc["ZH-9"]
    assert (row["province"], row["hub"], row["cluster"]) == ("inner_mongolia",) * 2 + ("horinger",)
    assert row["facility_type"] == "intelligent_computing" and bool(row["waste_heat_reuse"])
    assert row["it_load_mw"] == 1.5 and row["total_investment_cny"] == 1.25e9
    assert row["operating_since"] == pd.Timestamp("2020-05-01")
    assert dict(zip(yearly_frame["series"], yearly_frame["value"], strict=True)) == {
        "revenue_cny": 1.0e7,
        "operating_cash_flow_cny": 250.0,
    }
    assert (problems["severity"] != "error").all(), problems.to_string()


def test_assess_template_command(tmp_path, capsys):
    target = tmp_path / "申请表.xlsx"
    assert main(["template", "--lang", "zh", "-o", str(target)]) == 0
    assert target.exists() and "wrote" in capsys.readouterr().out
    with pytest.raises(ValueError, match="'lang' parameter"):
        write_template(tmp_path / "x.xlsx", "fr")


def test_the_template_never_replaces_an_existing_file_without_force(tmp_path, capsys):
    target = tmp_path / "filled.xlsx"
    target.write_bytes(b"an officer's filled-in application")
    assert main(["template", "-o", str(target)]) == 1
    assert "the file exists" in capsys.readouterr().err
    assert target.read_bytes() == b"an officer's filled-in application"
    assert main(["template", "-o", str(target), "--force"]) == 0
    assert target.read_bytes().startswith(b"PK")
