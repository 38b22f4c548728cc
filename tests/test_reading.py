"""Layouts and file formats: official workbooks, candidate lists, CSV encodings, ODS, XLSM."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import AS_OF, FULL_PROJECT, FULL_YEARLY, write_rows

from assessment import read_applications, write_template

LIST_ROWS = [
    ["2025 candidate list — data centre REIT screening", None],
    ["prepared by the agency; amounts as stated in each header"],
    [],
    [
        "项目编号",
        "Project name",
        "省份",
        "Hub",
        "设施类型",
        "IT load (kW)",
        "上架率(%)",
        "PUE",
        "Total investment (亿元)",
        "资本金(万元)",
        "投运日期",
        "operating_cash_flow_cny_2023",
        "ebitda_cny_2023 (万元)",
        "Remarks",
    ],
    [
        "CL-1",
        "Alpha",
        "贵州",
        "贵州",
        "通用数据中心",
        24000,
        72.5,
        1.25,
        12,
        30000,
        "2019-06-30",
        1.0e8,
        5000,
        "fine",
    ],
    [None, None, None, None, None, None, None, None, None, None, None, None, None, None],
    [
        "CL-2",
        "Beta",
        "Jiangsu",
        "长三角",
        "AI",
        "8,000",
        "85%",
        "1.3",
        "3.5",
        "１２０００",
        "2020年6月",
        "-2,000,000",
        None,
        "",
    ],
]


def test_candidate_list_with_mixed_headers_and_units(tmp_path):
    path = write_rows(tmp_path / "list.xlsx", LIST_ROWS)
    projects, yearly, problems = read_applications([path], as_of=AS_OF)
    assert list(projects.index) == ["CL-1", "CL-2"]
    alpha, beta = projects.loc["CL-1"], projects.loc["CL-2"]
    assert (
        alpha["it_load_mw"],
        alpha["rack_utilisation"],
        alpha["total_investment_cny"],
        alpha["equity_cny"],
    ) == (24.0, 0.725, 1.2e9, 3.0e8)
    assert (beta["province"], beta["hub"], beta["facility_type"]) == (
        "jiangsu",
        "yangtze_river_delta",
        "intelligent_computing",
    )
    assert (beta["it_load_mw"], beta["rack_utilisation"], beta["equity_cny"]) == (8.0, 0.85, 1.2e8)
    assert beta["operating_since"] == pd.Timestamp("2020-06-01")
    assert (alpha["source_sheet"], alpha["source_row"], beta["source_row"]) == ("Candidates", 5, 7)
    assert yearly.to_dict("records") == [
        {"project_id": "CL-1", "year": 2023, "series": "ebitda_cny", "value": 5.0e7},
        {"project_id": "CL-1", "year": 2023, "series": "operating_cash_flow_cny", "value": 1.0e8},
        {"project_id": "CL-2", "year": 2023, "series": "operating_cash_flow_cny", "value": -2.0e6},
    ]
    unknown = problems[problems["message"] == "unknown column"]
    assert unknown[["cell", "value", "severity"]].values.tolist() == [["N4", "Remarks", "warning"]]


def test_a_bad_cell_in_a_list_is_pointed_at(tmp_path):
    rows = [["project_id", "pue", "green_power_share"], ["A", "n/a", 0.5], ["B", "high", 55]]
    path = write_rows(tmp_path / "bad.xlsx", rows)
    projects, _, problems = read_applications([path], as_of=AS_OF)
    assert list(projects.index) == ["A", "B"] and projects["pue"].isna().all()
    errors = problems[problems["severity"] == "error"]
    assert errors[["sheet", "cell", "project_id", "field", "value"]].values.tolist() == [
        ["Candidates", "B3", "B", "pue", "high"],
        ["Candidates", "C3", "B", "green_power_share", "55"],
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_encodings(tmp_path, encoding):
    text = "项目编号,项目名称,省份,PUE,上架率(%)\nE-1,边缘节点,广东省,1.45,66\nE-2,NA,上海,1.5,70\n"
    path = tmp_path / f"list_{encoding}.csv"
    path.write_bytes(text.encode(encoding))
    projects, _, problems = read_applications([path], as_of=AS_OF)
    assert projects.loc["E-1", "project_name"] == "边缘节点"
    assert projects.loc["E-2", "project_name"] == "NA"
    assert projects["province"].tolist() == ["guangdong", "shanghai"]
    assert projects["rack_utilisation"].tolist() == [0.66, 0.70]
    assert not (problems["severity"] == "error").any()


def test_semicolon_csv_and_text_codes(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("project_id;sponsor;city\nNone;None;NA\n", encoding="utf-8")
    projects, _, _ = read_applications([path], as_of=AS_OF)
    assert projects.loc["None", "sponsor"] == "None" and projects.loc["None", "city"] == "NA"


def test_ods_and_xlsm(tmp_path):
    frame = pd.DataFrame({"project_id": ["O-1"], "PUE": [1.31], "IT load (MW)": [4.0]})
    frame.to_excel(tmp_path / "list.ods", engine="odf", index=False)
    write_template(tmp_path / "app.xlsm", "en", values={"project_id": "M-1", "pue": 1.2})
    projects, _, problems = read_applications([tmp_path], as_of=AS_OF)
    assert projects.loc["O-1", "pue"] == 1.31 and projects.loc["O-1", "it_load_mw"] == 4.0
    assert projects.loc["M-1", "pue"] == 1.2
    assert not (problems["severity"] == "error").any()


def test_folders_are_read_recursively_and_lock_files_skipped(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    write_template(tmp_path / "a" / "b" / "p.xlsx", "en", values=FULL_PROJECT, yearly=FULL_YEARLY)
    (tmp_path / "a" / "~$p.xlsx").write_bytes(b"lock")
    (tmp_path / "a" / "notes.txt").write_text("not an input")
    projects, _, problems = read_applications([tmp_path], as_of=AS_OF)
    assert list(projects.index) == ["T-001"] and problems.empty


def test_header_anywhere_in_first_twenty_rows(tmp_path):
    rows = [[f"note {i}"] for i in range(15)] + [["Project ID", "Racks"], ["Z-1", 80]]
    projects, _, _ = read_applications([write_rows(tmp_path / "deep.xlsx", rows)], as_of=AS_OF)
    assert projects.loc["Z-1", "racks"] == 80


def test_a_process_pool_reads_the_same_as_one_process(tmp_path, monkeypatch):
    for number in range(4):
        values = {**FULL_PROJECT, "project_id": f"P-{number}", "pue": 1.2 + number / 100}
        write_template(tmp_path / f"p{number}.xlsx", "en", values=values, yearly=FULL_YEARLY)
    (tmp_path / "broken.xlsx").write_bytes(b"junk")
    monkeypatch.setattr("assessment.intake.read.PARALLEL_FROM_FILES", 2)
    one = read_applications([tmp_path], as_of=AS_OF, jobs=1)
    two = read_applications([tmp_path], as_of=AS_OF, jobs=2)
    for mine, theirs in zip(one, two, strict=True):
        pd.testing.assert_frame_equal(mine, theirs)
    assert len(two.projects) == 4 and two.problems["file"].str.endswith("broken.xlsx").all()


def test_a_doubled_quote_inside_a_quoted_csv_field_stays_in_its_field(tmp_path):
    """RFC 4180: ``"Big ""Q"" DC, phase 2"`` is one field; the sniffer alone read it as two,
    moving every later column one to the right."""
    from assessment.intake.read import read_applications

    path = tmp_path / "quoted.csv"
    path.write_text(
        "project_id,project_name,sponsor,province,city\n"
        'A1,"Big ""Q"" DC, phase 2",=HYPERLINK("x"),hebei,Zhangjiakou\n',
        encoding="utf-8",
    )
    projects = read_applications([path]).projects
    assert projects.at["A1", "project_name"] == 'Big "Q" DC, phase 2'
    assert projects.at["A1", "sponsor"] == '=HYPERLINK("x")'
    assert projects.at["A1", "province"] == "hebei" and projects.at["A1", "city"] == "Zhangjiakou"
