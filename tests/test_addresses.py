"""Source cells: every value read can be traced back to the input cell it came from."""

from __future__ import annotations

import csv

import openpyxl
import pytest
from helpers import AS_OF, FULL_PROJECT, FULL_YEARLY, ROOT, write_rows
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

from assessment import read_applications, write_template

SAMPLES = ROOT / "sample_projects"
FORM = SAMPLES / "05_zhangjiakou_reit_ready.xlsx"
FORM_ID = "DC-2025-005"
LIST = SAMPLES / "candidates" / "candidate_list_2025.xlsx"
GBK_CSV = SAMPLES / "candidates" / "edge_sites_gbk.csv"


@pytest.fixture(scope="module")
def samples():
    return read_applications([FORM, LIST, GBK_CSV], as_of=AS_OF)


def split_address(address: str) -> tuple[str, str, int]:
    """``"Sheet!D27"`` -> ``("Sheet", "D", 27)``."""
    sheet, cell = address.split("!")
    letter, row = coordinate_from_string(cell)
    return sheet, letter, row


def cell_value(book: openpyxl.Workbook, address: str) -> object:
    sheet, cell = address.split("!")
    return book[sheet][cell].value


def test_every_form_field_points_at_the_row_of_its_key(samples):
    book = openpyxl.load_workbook(FORM)
    fields = [key for key in samples.addresses[str(FORM)] if "@" not in key]
    assert len(fields) > 30
    for key in fields:
        sheet, letter, row = split_address(samples.source_cell(FORM_ID, key))
        assert (sheet, letter) == ("项目信息", "B")
        assert book[sheet][f"F{row}"].value == key  # the form's key column names the field
    assert cell_value(book, samples.source_cell(FORM_ID, "project_id")) == FORM_ID
    for key in ("pue", "pue_design", "rack_utilisation"):
        assert (
            cell_value(book, samples.source_cell(FORM_ID, key))
            == samples.projects.loc[FORM_ID, key]
        )


def test_a_form_yearly_key_points_at_the_year_row_and_series_column(samples, dictionary):
    book = openpyxl.load_workbook(FORM)
    address = samples.source_cell(FORM_ID, "revenue_cny@2023")
    sheet, letter, row = split_address(address)
    assert address == "年度数据!B4"
    assert book[sheet][f"A{row}"].value == 2023
    assert dictionary.match_header(book[sheet][f"{letter}1"].value).field == "revenue_cny"
    yearly = samples.yearly.set_index(["project_id", "series", "year"])["value"]
    assert cell_value(book, address) == yearly[FORM_ID, "revenue_cny", 2023]


def test_list_addresses_use_the_column_letter_and_the_project_row(samples, dictionary):
    book = openpyxl.load_workbook(LIST)
    letters = samples.addresses[str(LIST)]
    assert all(len(where) == 2 and where[1].isalpha() for where in letters.values())
    listed = samples.projects[samples.projects["source_file"] == str(LIST)]
    assert len(listed) > 200
    for project_id, row in listed["source_row"].items():  # every row of the list
        assert samples.source_cell(project_id, "project_id") == f"候选项目!A{row}"
        assert cell_value(book, f"候选项目!A{row}") == project_id
    for key, header in (("pue", "PUE"), ("revenue_cny@2023", "revenue_cny_2023")):
        sheet, letter, row = split_address(samples.source_cell("CL-0002", key))
        assert book[sheet][f"{letter}4"].value == header
        assert dictionary.match_header(header).field == key.split("@")[0]
        assert row == listed.loc["CL-0002", "source_row"] == 6
    assert cell_value(book, samples.source_cell("CL-0002", "pue")) == 1.17


def test_gbk_csv_addresses_point_into_the_text_rows(samples, dictionary):
    with open(GBK_CSV, encoding="gbk", newline="") as handle:
        rows = list(csv.reader(handle))
    listed = samples.projects[samples.projects["source_file"] == str(GBK_CSV)]
    assert len(listed) == len(rows) - 1
    for project_id in listed.index:
        sheet, letter, row = split_address(samples.source_cell(project_id, "pue_design"))
        column = column_index_from_string(letter) - 1
        assert sheet == GBK_CSV.stem and rows[row - 1][0] == project_id
        assert dictionary.match_header(rows[0][column]).field == "pue_design"
        assert float(rows[row - 1][column]) == listed.loc[project_id, "pue_design"]


def test_unknown_keys_and_projects_have_no_source_cell(samples):
    assert samples.source_cell(FORM_ID, "dscr") == ""  # an indicator, not an input
    assert samples.source_cell(FORM_ID, "revenue_cny") == ""  # a series needs its year
    assert samples.source_cell(FORM_ID, "revenue_cny@1999") == ""
    assert samples.source_cell("ES-001", "revenue_cny@2023") == ""  # no such column
    assert samples.source_cell("NO-SUCH-ID", "pue") == ""


def test_results_built_without_addresses_still_unpack_and_answer(samples):
    bare = type(samples)(samples.projects, samples.yearly, samples.problems)
    assert bare.addresses == {} and bare.source_cell(FORM_ID, "pue") == ""
    assert [len(frame) for frame in bare] == [len(frame) for frame in samples]


def test_two_lists_in_one_workbook_never_give_a_wrong_cell(tmp_path):
    path = write_rows(tmp_path / "two.xlsx", [["project_id", "pue"], ["A-1", 1.3]], "North")
    book = openpyxl.load_workbook(path)
    south = book.create_sheet("South")
    for row in (["racks", "project_id", "pue"], [40, "B-1", 1.4]):
        south.append(row)
    book.save(path)
    result = read_applications([path], as_of=AS_OF)
    assert result.source_cell("A-1", "pue") == "North!B2"
    assert result.source_cell("B-1", "racks") == "South!A2"
    for key, right in (("project_id", "South!B2"), ("pue", "South!C2")):  # North has them too
        assert result.source_cell("B-1", key) in ("", right)  # blank at worst, never North's


def test_a_process_pool_keeps_the_addresses(tmp_path, monkeypatch):
    for number in range(3):
        values = {**FULL_PROJECT, "project_id": f"P-{number}"}
        write_template(tmp_path / f"p{number}.xlsx", "en", values=values, yearly=FULL_YEARLY)
    write_rows(tmp_path / "list.xlsx", [["project_id", "pue"], ["L-1", 1.3], ["L-2", 1.4]])
    monkeypatch.setattr("assessment.intake.read.PARALLEL_FROM_FILES", 2)
    one = read_applications([tmp_path], as_of=AS_OF, jobs=1)
    two = read_applications([tmp_path], as_of=AS_OF, jobs=2)
    assert two.addresses == one.addresses and len(two.addresses) == 4
    for project_id in two.projects.index:
        for key in ("project_id", "pue", "revenue_cny@2023"):
            assert two.source_cell(project_id, key) == one.source_cell(project_id, key)
    assert two.source_cell("L-2", "pue") == "Candidates!B3"
    book = openpyxl.load_workbook(tmp_path / "p1.xlsx")
    assert cell_value(book, two.source_cell("P-1", "project_id")) == "P-1"
    assert cell_value(book, two.source_cell("P-1", "revenue_cny@2023")) == 3.5e8
