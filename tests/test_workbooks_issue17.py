"""The workbooks people read (issue 17): the assessment workbook of ``assess score -o
FILE.xlsx`` (one project as a memo of label / value rows, several as tables; number formats by
unit; English or Chinese), the grades shown one way, and the Screening sheet's heading line,
which ``assess monitor`` reads past (and still reads sheets written without it)."""

from __future__ import annotations

import re
import shutil

import openpyxl
import pandas as pd
import pytest
from helpers import ROOT
from run_assess import run, run_quietly

from assessment._shared.excel import Table, write_workbook
from assessment.reports.fields import Wording, rating_grades
from assessment.screening.shortlist import HEADER_ROW
from assessment.workbench.monitor import read_screening

SAMPLES = ROOT / "sample_projects"
LOAN = SAMPLES / "02_wuhu_ai_computing_centre.xlsx"  # a loan: PD 1.5 %, rating grade 3
REIT = SAMPLES / "05_zhangjiakou_reit_ready.xlsx"  # a REIT issue, listed green DC in 2023
DATE = ("--as-of", "2025-06-30")
RAW = re.compile(r"^(None|nan|NaN|NaT|<NA>|null)$|\['|\bnan\b")


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, openpyxl.Workbook]:
    """The workbooks of one project (English and Chinese) and of two projects."""
    folder = tmp_path_factory.mktemp("workbooks")
    runs = {
        "one": [str(LOAN)],
        "one_zh": [str(REIT), "--lang", "zh"],
        "many": [str(LOAN), str(REIT)],
    }
    found = {}
    for name, args in runs.items():
        target = folder / f"{name}.xlsx"
        assert run_quietly("score", *args, *DATE, "-o", str(target)).returncode == 0
        found[name] = openpyxl.load_workbook(target)
    return found


def memo_rows(sheet) -> dict[str, tuple]:
    """A label / value sheet's rows by their key (last column): (label cell, value cell,
    unit); checks the header first."""
    header = [cell.value for cell in sheet[1]]
    assert header[:2] in (["Item", "Value"], ["项目", "数值"])
    key = header.index(next(c for c in header if c in ("Key", "字段键")))
    unit = next((header.index(c) for c in header if c in ("Unit", "单位")), None)
    found = {}
    for row in sheet.iter_rows(min_row=2):
        if row[key].value:
            found[row[key].value] = (row[0], row[1], row[unit].value if unit else None)
    return found


def test_one_project_reads_as_a_memo_decision_first(books):
    book = books["one"]
    assert book.sheetnames == [
        *("Decision", "Inputs", "Indicators", "Verdicts", "Programmes", "Model"),
        *("Problems", "Files"),
    ]
    decision = book["Decision"]
    assert decision["A2"].value == "Decision" and decision["A2"].font.b  # a heading row
    assert decision["A3"].value == "Project ID" and decision["B3"].value == "DC-2025-002"
    rows = memo_rows(decision)
    assert list(rows)[:4] == ["project_id", "project_name", "as_of", "recommendation"]
    assert rows["recommendation"][1].value in ("Approve", "Approve with conditions", "Refer")
    assert rows["as_of"][1].number_format == "yyyy-mm-dd"
    headings = [row[0].value for row in decision.iter_rows(min_row=2) if row[0].font.b]
    assert headings == [
        *("Decision", "Credit risk (model)", "Programme results"),
        *("Principal reasons", "Conditions"),
    ]
    assert rows["green_status"][0].value == "Green data centre"
    assert rows["green_status"][1].value in ("eligible", "not eligible", "not requested")


def test_every_number_has_the_format_of_its_unit(books):
    inputs = memo_rows(books["one"]["Inputs"])
    assert inputs["total_investment_cny"][1].number_format == "#,##0"
    assert inputs["total_investment_cny"][2] == "CNY"
    assert inputs["loan_tenor_years"][1].number_format == "0.00"
    assert inputs["green_power_share"][1].number_format == "0.0%"
    assert inputs["racks"][1].number_format == "#,##0" and inputs["racks"][2] == "racks"
    assert inputs["total_investment_cny"][0].value == "Total investment"
    indicators = memo_rows(books["one"]["Indicators"])
    dscr = indicators["dscr_forecast_min"][1]
    assert dscr.number_format == '0.00"x"' and dscr.value == pytest.approx(1.3333, abs=1e-3)
    assert indicators["operating_years"][1].number_format == "0.00"
    assert indicators["emission_factor_year"][1].number_format == "0"
    assert indicators["last_full_year"][1].value == 2024
    decision = memo_rows(books["one"]["Decision"])
    assert decision["pd"][1].number_format == "0.0%" and 0 < decision["pd"][1].value < 1


def test_a_calendar_year_is_never_shown_with_a_thousands_separator(books):
    inputs = memo_rows(books["one_zh"]["申报数据"])
    listed = inputs["ngdc_listed_year"][1]
    assert listed.value == 2023 and listed.number_format == "0"
    years = 0
    for name in ("one", "one_zh"):
        for sheet in books[name].worksheets[1:3]:  # the inputs and the indicators
            for key, (_, value, _) in memo_rows(sheet).items():
                if key.endswith("_year") and isinstance(value.value, int | float):
                    assert value.number_format == "0", key
                    years += 1
    assert years >= 4
    indicators = books["many"]["Indicators"]
    header = [cell.value for cell in indicators[1]]
    for label in ("Emission factor year", "Last full year"):
        assert indicators.cell(2, header.index(label) + 1).number_format == "0"


def test_the_sources_of_the_inputs_are_named(books):
    inputs = memo_rows(books["one"]["Inputs"])
    header = [cell.value for cell in books["one"]["Inputs"][1]]
    cell = header.index("Source cell")
    sheet = books["one"]["Inputs"]
    cells = {row[-1].value: row[cell].value for row in sheet.iter_rows(min_row=2) if row[-1].value}
    assert re.fullmatch(r".+!B\d+", cells["total_investment_cny"])
    assert inputs["source_file"][1].value == LOAN.name


def test_no_cell_shows_none_nan_or_nat_and_missing_reads_dash_in_a_memo(books):
    for name, book in books.items():
        for sheet in book:
            for row in sheet.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str):
                        assert not RAW.search(cell.value), (name, sheet.title, cell.coordinate)
    inputs = memo_rows(books["one_zh"]["申报数据"])
    assert inputs["loan_amount_cny"][1].value == "-"  # a REIT issue asks no loan


def test_grades_one_way_rating_grade_a_number_rule_score_grade_apart(books):
    decision = memo_rows(books["one"]["Decision"])
    grade = decision["rating_grade"][1]
    assert decision["rating_grade"][0].value == "Rating grade (1 best)"
    assert grade.value == 3 and grade.data_type == "n" and grade.number_format == "0"
    programmes = books["one"]["Programmes"]
    header = [cell.value for cell in programmes[1]]
    assert {"Rule-score grade", "Rating grade (1 best)"} <= set(header)
    credit = [row for row in programmes.iter_rows(values_only=True) if row[0] == "Credit"][0]
    assert credit[header.index("Rating grade (1 best)")] == 3
    assert credit[header.index("Rule-score grade")] in tuple("ABCD")
    model = memo_rows(books["one"]["Model"])
    assert model["rating_grade"][1].value == 3
    wide = books["many"]["Model"]
    column = [c.value for c in wide[1]].index("Rating grade (1 best)")
    assert all(isinstance(row[column].value, int) for row in wide.iter_rows(min_row=2))
    header = [cell.value for cell in books["many"]["Programmes"][1]]
    assert "Credit: Rule-score grade" in header and "Credit: Grade" not in header


def test_several_projects_keep_one_row_per_project(books):
    book = books["many"]
    inputs = book["Inputs"]
    header = [cell.value for cell in inputs[1]]
    assert inputs.max_row == 3 and header[0] == "Project ID"
    money = header.index("Total investment (CNY)") + 1
    assert inputs.cell(2, money).number_format == "#,##0"
    assert inputs.cell(2, header.index("Green-power share") + 1).number_format == "0.0%"
    decision = book["Decision"]
    names = [cell.value for cell in decision[1]]
    assert {"Recommendation", "Probability of default (PD)", "Rating grade (1 best)"} <= set(names)
    pd_cell = decision.cell(2, names.index("Probability of default (PD)") + 1)
    assert pd_cell.number_format == "0.0%"


def test_chinese_sheets_headers_labels_and_values(books):
    book = books["one_zh"]
    assert book.sheetnames[:5] == ["评估结论", "申报数据", "衍生指标", "规则结论", "各类别结果"]
    decision = memo_rows(book["评估结论"])
    assert decision["recommendation"][0].value == "评估建议"
    assert decision["recommendation"][1].value == "批准"
    assert (
        decision["reit_status"][1].value == "合格" and decision["green_label"][1].value == "未申请"
    )
    inputs = memo_rows(book["申报数据"])
    assert inputs["province"][1].value == "河北" and inputs["total_investment_cny"][2] == "元"
    verdicts = book["规则结论"]
    header = [cell.value for cell in verdicts[1]]
    assert header[:3] == ["项目编号", "规则", "类别"]
    words = {row[header.index("结论")] for row in verdicts.iter_rows(min_row=2, values_only=True)}
    assert words <= {"通过", "不通过", "数据不足", "不适用", "临界通过", "通过（存疑）"}
    codes = {"not_requested", "eligible", "not_applicable", "approve", "pass", "fail"}
    for sheet in (book["评估结论"], book["各类别结果"], verdicts):
        values = {c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)}
        assert not values & codes, sheet.title


# The Screening sheet -------------------------------------------------------------------


@pytest.fixture(scope="module")
def screened(tmp_path_factory) -> dict:
    """Two samples screened in English and in Chinese."""
    root = tmp_path_factory.mktemp("screened")
    inputs = root / "in"
    inputs.mkdir()
    for sample in (LOAN, REIT):
        shutil.copy(sample, inputs / sample.name)
    found = {}
    for lang in ("en", "zh"):
        out = root / lang
        args = ["screen", str(inputs), "-o", str(out), *DATE, "--lang", lang, "--jobs", "1"]
        assert run_quietly(*args).returncode == 0
        found[lang] = out
    return found


def test_the_screening_sheet_says_what_the_ranking_is_by_and_the_date(screened):
    for lang, words in (
        ("en", ("Assessment date: 2025-06-30", "Ranked by")),
        ("zh", ("评估日期：2025-06-30", "排序依据")),
    ):
        book = openpyxl.load_workbook(screened[lang] / "screening.xlsx")
        sheet = book["Screening"]
        heading = sheet["A1"].value
        assert all(word in heading for word in words) and sheet["A1"].font.b
        ranking = Wording(lang).words["summary"]["notes"]["ranking"]
        assert heading.endswith(ranking) and book["Summary"]["A1"].value == ranking
        header = [cell.value for cell in sheet[HEADER_ROW + 1]]
        assert header[:2] == ["rank", "project_id"]  # the machine names stay
        assert sheet.freeze_panes == f"A{HEADER_ROW + 2}"


def test_the_screening_sheet_formats_its_numbers_and_its_grade_is_a_number(screened):
    sheet = openpyxl.load_workbook(screened["en"] / "screening.xlsx")["Screening"]
    header = [cell.value for cell in sheet[HEADER_ROW + 1]]
    rows = {row[1].value: row for row in sheet.iter_rows(min_row=HEADER_ROW + 2)}
    loan = rows["DC-2025-002"]

    def at(name):
        return loan[header.index(name)]

    assert at("grade").value == 3 and at("grade").data_type == "n"
    assert at("grade").number_format == "0"
    assert at("credit_grade").value in tuple("ABCD")  # the rule-score grade, its own column
    assert at("pd").number_format == "0.0%" and at("green_power_share").number_format == "0.0%"
    assert at("dscr_forecast_min").number_format == '0.00"x"'
    assert at("operating_years").number_format == "0.00"
    assert at("rank").number_format == "#,##0" and at("score").number_format == "0.0"
    assert rows["DC-2025-005"][header.index("grade")].value is None  # no loan: no grade


def test_monitor_reads_the_new_sheet_and_one_written_before_the_heading_line(screened, capsys):
    new = screened["en"] / "screening.xlsx"
    book = openpyxl.load_workbook(new)
    book["Screening"].delete_rows(1, HEADER_ROW)  # as assess screen wrote it before
    old = new.with_name("old.xlsx")
    book.save(old)
    assert openpyxl.load_workbook(old)["Screening"]["B1"].value == "project_id"
    pd.testing.assert_frame_equal(read_screening(old), read_screening(new))
    assert list(read_screening(new).columns[:2]) == ["rank", "project_id"]
    ran = run(capsys, "monitor", str(old), str(screened["en"]))
    assert ran.returncode == 0 and ran.stdout.lower().startswith("no change")


# The pieces ----------------------------------------------------------------------------


def test_a_table_takes_a_number_format_per_row_and_bold_heading_rows(tmp_path):
    frame = pd.DataFrame({"item": ["Figures", "PD", "Year"], "value": [None, 0.0123, 2023]})
    table = Table(frame, formats={"value": [None, "0.0%", "0"]}, headings=[0])
    sheet = openpyxl.load_workbook(write_workbook(tmp_path / "t.xlsx", {"S": table}))["S"]
    assert sheet["A2"].font.b and not sheet["A3"].font.b
    assert sheet["B3"].number_format == "0.0%" and sheet["B4"].number_format == "0"
    assert sheet["B2"].value is None
    assert sheet.column_dimensions["A"].width >= 10


def test_rating_grades_are_whole_numbers_a_lenders_letters_stay_text():
    assert rating_grades(pd.Series(["3", None, "1"])).tolist() == [3, pd.NA, 1]
    assert rating_grades(pd.Series(["3", None])).dtype == "Int64"
    assert rating_grades(pd.Series(["AA", "B"])).tolist() == ["AA", "B"]


def test_units_and_formats_come_from_the_dictionary_indicators_and_workbook_yaml():
    words = Wording("en")
    assert words.unit("pd") == "fraction" and words.number_format("pd") == "0.0%"
    assert words.number_format("ngdc_listed_year") == "0"
    assert words.number_format("dscr_min") == '0.00"x"'
    assert words.number_format("gb40879_grade") == "#,##0"  # whole numbers: a count
    assert words.heading("appraised_value_cny") == "Appraised value (CNY)"
    assert words.label("reit_grade") == "Infrastructure REIT: Rule-score grade"
    assert Wording("zh").heading("appraised_value_cny") == "评估价值 (元)"


def test_a_refrigerant_gwp_is_a_whole_number(tmp_path):
    """1,430, not 1,430.00, in the inputs and the verdicts alike."""
    import openpyxl

    from assessment.cli import main

    out = tmp_path / "one.xlsx"
    workbook = ROOT / "sample_projects" / "04_beijing_retrofit_high_pue.xlsx"
    assert main(["score", str(workbook), "--as-of", "2025-06-30", "-o", str(out)]) == 0
    formats = {
        cell.number_format
        for sheet in openpyxl.load_workbook(out)
        for row in sheet.iter_rows()
        for cell in row
        if cell.value == 1430
    }
    assert formats == {"#,##0"}
