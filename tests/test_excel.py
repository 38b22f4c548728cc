"""The Excel workbook of ``assess score --excel``."""

from __future__ import annotations

import openpyxl
from helpers import FULL_PROJECT, FULL_YEARLY

from assessment import write_template
from assessment.cli import main
from assessment.reports.pdf.style import load_template


def test_score_workbook_sheets_colours_and_text_safety(tmp_path, capsys):
    values = {
        **FULL_PROJECT,
        "sponsor": '=HYPERLINK("http://x","y")',
        "city": "+86 city",
        "project_name": "@risky",
    }
    source = write_template(tmp_path / "app.xlsx", "en", values=values, yearly=FULL_YEARLY)
    target = tmp_path / "out.xlsx"
    assert main(["score", str(source), "--as-of", "2025-06-30", "--excel", str(target)]) == 0
    capsys.readouterr()
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == [
        "Decision",
        "Inputs",
        "Indicators",
        "Verdicts",
        "Programmes",
        "Model",
        "Problems",
        "Files",
    ]
    files = [[cell.value for cell in row] for row in book["Files"].iter_rows()]
    assert files[0] == ["File", "SHA-256"] and files[1][0] == "app.xlsx"  # named as given
    assert len(files[1][1]) == 64
    verdicts = book["Verdicts"]
    header = [cell.value for cell in verdicts[1]]
    assert verdicts.freeze_panes == "A2" and verdicts.auto_filter.ref.startswith("A1:")
    column = header.index("Verdict") + 1
    colours = {
        verdicts.cell(row, column).value: verdicts.cell(row, column).fill.fgColor.rgb
        for row in range(2, verdicts.max_row + 1)
    }
    assert colours["pass"].endswith("C6EFCE") and colours["FAIL"].endswith("FFC7CE")
    inputs = {row[4].value: row[1] for row in book["Inputs"].iter_rows(min_row=2) if row[4].value}
    assert inputs["sponsor"].value == '=HYPERLINK("http://x","y")'
    assert inputs["sponsor"].data_type == "s" and inputs["city"].data_type == "s"
    decision = {row[0].value: row[1].value for row in book["Decision"].iter_rows(min_row=2)}
    assert (
        decision["Recommendation"]
        in load_template("en.yaml")["summary"]["recommendations"].values()
    )
    assert not list(tmp_path.glob("tmp*.xlsx")), "no temporary file is left behind"
