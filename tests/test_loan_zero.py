"""Issue 18 leftover: a loan amount of 0 is no credit request. Where the application asks for a
loan (its financing purpose routes it to credit), 0 is a data problem: an error at its cell
(expected above 0 when a loan is applied for, got 0), the value left out, so the credit rules
that read it cannot be decided and the model does not score a CNY 0 loan; the application is
``incomplete`` (correct and resubmit), as with any input error, and a screening rejects the
row with the same problem. Where no loan is asked for (a REIT issuance), 0 means no loan: not
applicable, as a blank, and no problem."""

from __future__ import annotations

import csv
import json
import shutil

import openpyxl
import pypdf
import pytest
from helpers import AS_OF, FULL_PROJECT, ROOT, SOUND_LOAN, write_list
from run_assess import run

from assessment.errors import DictionaryError
from assessment.intake.dictionary import Dictionary
from assessment.intake.read import read_applications
from assessment.pipeline import project_records, score_applications
from assessment.reports.memo.write import write_reports

SAMPLE = ROOT / "sample_projects" / "01_guizhou_guian_hyperscale.xlsx"  # a construction loan
REIT_SAMPLE = ROOT / "sample_projects" / "06_chongqing_two_years_operating.xlsx"


def _with_loan(source, target, amount):
    """A copy of an official workbook with its loan amount cell set to ``amount``; the cell's
    address (found by the field key in column F of the Project sheet)."""
    book = openpyxl.load_workbook(source)
    sheet = book["Project"]
    row = next(
        r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 6).value == "loan_amount_cny"
    )
    sheet.cell(row, 2).value = amount
    book.save(target)
    return f"B{row}"


@pytest.fixture(scope="module")
def zero_loan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zero_loan")
    path = folder / "loan_zero.xlsx"
    cell = _with_loan(SAMPLE, path, 0)
    return path, cell


@pytest.fixture(scope="module")
def scored_zero(zero_loan):
    return score_applications(zero_loan[0], as_of=AS_OF)


def _loan_problems(problems):
    return problems[problems["field"] == "loan_amount_cny"].to_dict("records")


def test_a_zero_loan_on_a_loan_application_is_an_error_at_its_cell(zero_loan, scored_zero):
    path, cell = zero_loan
    (problem,) = _loan_problems(scored_zero.applications.problems)
    assert (problem["file"], problem["sheet"], problem["cell"]) == (str(path), "Project", cell)
    assert problem["severity"] == "error" and problem["value"] == "0"
    assert problem["expected"] == "a loan amount above 0 CNY when a loan is applied for"
    assert "asks for credit" in problem["hint"]


def test_a_zero_loan_is_not_scored_as_a_cny_0_loan(scored_zero):
    (record,) = project_records(scored_zero)
    credit = record["programmes"]["credit"]
    assert credit["requested"] and credit["status"] == "insufficient"  # cannot be decided
    verdicts = {r["rule_id"]: r for r in record["rules"]}
    assert verdicts["CR-LEVERAGE-MAX"]["verdict"] == "insufficient"  # not "0.0% <= 80%: pass"
    assert verdicts["CR-LEVERAGE-MAX"]["value"] is None
    assert record["indicators"]["leverage"] is None and record["indicators"]["ltv"] is None
    features = {r["feature"]: r["value"] for r in credit["reasons"]}
    assert features.get("loan_amount_cny") is None  # never "loan_amount_cny = 0 raises the PD"
    assert "loan_amount_cny" in credit["missing_features"]


def test_a_zero_loan_makes_the_application_incomplete_and_names_the_field(scored_zero):
    (record,) = project_records(scored_zero)
    decision = record["decision"]
    assert decision["recommendation"] == "incomplete"
    assert decision["decision_reason"].startswith("the application has input errors")
    assert "loan_amount_cny" in decision["missing_for_decision"]
    assert decision["data_quality"]["verdict"] == "errors"


def test_the_memo_says_no_cny_0_loan_raises_the_pd_and_lists_the_cell(scored_zero, tmp_path):
    (pdf,) = write_reports(scored_zero, tmp_path / "memo.pdf")
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    assert "Recommendation: INCOMPLETE" in text
    assert "Loan amount CNY 0" not in text  # the factor line a CNY 0 loan gave
    assert "Loan amount not given" in text
    assert "Project!B34" in text and "out of range" in text  # the data-quality table


def test_assess_score_names_the_cell_and_gives_no_cny_0_loan(zero_loan, capsys):
    path, cell = zero_loan
    ran = run(capsys, "score", str(path), "--as-of", AS_OF.isoformat(), "--format", "json")
    assert ran.returncode == 2  # input errors, as for any out-of-range value
    assert f"{path}:Project!{cell} [error] DC-2025-001 loan_amount_cny: out of range" in ran.stderr
    assert "expected a loan amount above 0 CNY when a loan is applied for; got '0'" in ran.stderr
    found = json.loads(ran.stdout)
    (project,) = found["projects"]
    assert project["decision"]["recommendation"] == "incomplete"
    reasons = project["programmes"]["credit"]["reasons"]
    assert {"feature": "loan_amount_cny", "value": 0.0} not in [
        {k: r[k] for k in ("feature", "value")} for r in reasons
    ]
    text = run(capsys, "score", str(path), "--as-of", AS_OF.isoformat())
    assert "loan_amount_cny=0" not in text.stdout and "leverage=0" not in text.stdout


def test_a_negative_loan_stays_out_of_its_hard_range(tmp_path):
    path = tmp_path / "negative.xlsx"
    cell = _with_loan(SAMPLE, path, -5)
    read = read_applications(path, as_of=AS_OF)
    (problem,) = _loan_problems(read.problems)
    assert (problem["cell"], problem["severity"], problem["value"]) == (cell, "error", "-5")
    assert problem["expected"].startswith("between 0 and")


def test_a_zero_loan_on_a_reit_issuance_is_no_loan_as_a_blank(tmp_path):
    path = tmp_path / "reit_zero.xlsx"
    _with_loan(REIT_SAMPLE, path, 0)
    blank = tmp_path / "reit_blank.xlsx"
    shutil.copy(REIT_SAMPLE, blank)
    zero_run, blank_run = (score_applications(p, as_of=AS_OF) for p in (path, blank))
    assert _loan_problems(zero_run.applications.problems) == []  # written: not even missing
    assert zero_run.frame["loan_amount_cny"].isna().all()
    (zero,), (none,) = project_records(zero_run), project_records(blank_run)
    assert zero["decision"]["recommendation"] == none["decision"]["recommendation"]
    assert zero["programmes"] == none["programmes"]  # the model's absent features alike
    assert zero["indicators"] == none["indicators"]


def _list_rows() -> list[dict]:
    rows = []
    for project_id, purpose, loan in (
        ("L-ZERO", "construction", 0),
        ("L-SOUND", "construction", 700_000_000),
        ("R-ZERO", "reit", 0),
    ):
        row = {**FULL_PROJECT, **SOUND_LOAN, "project_id": project_id}
        rows.append(row | {"financing_purpose": purpose, "loan_amount_cny": loan})
    return rows


def test_a_list_row_is_judged_by_its_own_purpose(tmp_path):
    read = read_applications(write_list(tmp_path / "list.csv", _list_rows()), as_of=AS_OF)
    errors = read.problems[read.problems["severity"] == "error"]
    assert errors[["project_id", "field", "value"]].to_dict("records") == [
        {"project_id": "L-ZERO", "field": "loan_amount_cny", "value": "0"}
    ]
    loans = read.projects["loan_amount_cny"]
    assert loans.isna().to_dict() == {"L-ZERO": True, "L-SOUND": False, "R-ZERO": True}


def test_assess_screen_rejects_the_zero_loan_row_with_its_cell(tmp_path, capsys):
    data = write_list(tmp_path / "list.csv", _list_rows())
    out = tmp_path / "out"
    args = ("screen", str(data), "-o", str(out), "--as-of", AS_OF.isoformat(), "--no-model")
    ran = run(capsys, *args)
    assert ran.returncode == 2, ran.stderr  # a row rejected, as for any input error
    assert "L-ZERO: loan_amount_cny: out of range" in ran.stderr
    book = openpyxl.load_workbook(out / "screening.xlsx")
    rejected = list(book["Rejected"].iter_rows(min_row=2, values_only=True))
    ((file, sheet, row, cell, project_id, reasons),) = rejected
    assert (project_id, row, cell) == ("L-ZERO", 2, f"{_column_of(data, 'loan_amount_cny')}2")
    assert "expected a loan amount above 0 CNY when a loan is applied for, got 0" in reasons
    screening = list(book["Screening"].iter_rows(min_row=3, values_only=True))
    scored = {row[screening[0].index("project_id")] for row in screening[1:]}
    assert scored == {"L-SOUND", "R-ZERO"}


def _column_of(path, name: str) -> str:
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    return openpyxl.utils.get_column_letter(header.index(name) + 1)


def test_a_check_names_only_known_programmes(tmp_path):
    folder = tmp_path / "application"
    shutil.copytree(ROOT / "templates" / "application", folder)
    checks = folder / "checks.csv"
    with checks.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    (bound,) = [row for row in rows if row["programme"]]
    bound["programme"] = "loans"
    with checks.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(DictionaryError, match="unknown programme in check"):
        Dictionary(folder)
