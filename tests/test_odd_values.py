"""Every odd value gets an answer: a decision, or a problem row / rejection with its reason.

Each case goes through the library pipeline (read -> indicators -> rules -> model -> decision)
with ``score_applications`` and, where the two could differ, through the batch screen.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from helpers import AS_OF, FULL_PROJECT, FULL_YEARLY, ROOT, write_rows

from assessment import read_applications
from assessment.criteria.indicators import PROJECT_COLUMNS
from assessment.decision.decide import programmes_as_asked
from assessment.errors import AssessmentError
from assessment.intake.cells import plain
from assessment.intake.dictionary import PROGRAMMES
from assessment.model.persist import default_model_path, load_model
from assessment.pipeline import Scored, project_records, score_applications
from assessment.screening.batch import screen_inputs
from assessment.screening.records import RECOMMENDATIONS, Settings, cached_rules

SAMPLES = ROOT / "sample_projects"
MODEL_PATH = str(default_model_path())
COLUMNS = [
    *FULL_PROJECT,
    *(f"{series}_{year}" for series, years in FULL_YEARLY.items() for year in years),
]


def full_row(**changes: object) -> dict[str, object]:
    """The complete test project as one list row (yearly values as ``series_year``)."""
    row = dict(FULL_PROJECT)
    for series, years in FULL_YEARLY.items():
        row |= {f"{series}_{year}": value for year, value in years.items()}
    return row | changes


def write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def model():
    return load_model(default_model_path())


def score(path: Path, model, as_of: dt.date = AS_OF) -> tuple[dict[str, dict], Scored]:
    """Each scored project's record by id (the JSON shape of ``assess score``), and the run."""
    scored = score_applications([path], as_of=as_of, rules=cached_rules(None), model=model)
    return {record["project_id"]: record for record in project_records(scored)}, scored


def errors_of(scored, field: str) -> list[dict]:
    problems = scored.applications.problems
    found = problems[(problems["field"] == field) & (problems["severity"] == "error")]
    return found.to_dict("records")


@pytest.mark.parametrize("as_of", [AS_OF, dt.date(1990, 1, 1)])
def test_no_pue_at_all_still_gets_a_decision(tmp_path, model, as_of):
    """Blank measured and design PUE left the PUE basis NA, which the decision's data
    quality tested for truth ("boolean value of NA is ambiguous")."""
    path = write_csv(tmp_path / "list.csv", [full_row(pue="", pue_design="")])
    records, _ = score(path, model, as_of)
    decision = records["T-001"]["decision"]
    assert decision["recommendation"] in RECOMMENDATIONS
    assert not any(a["code"] == "design_pue" for a in decision["data_quality"]["assumed"])


def test_an_as_of_date_before_any_data_gets_a_decision(tmp_path, model):
    """In 1990 no official grid emission factor was published yet: the documented fallback
    (the earliest published set, 2021) is used and marked as such."""
    path = write_csv(tmp_path / "list.csv", [full_row(operating_since="1995-01-01")])
    records, scored = score(path, model, dt.date(1990, 1, 1))
    record = records["T-001"]
    assert record["decision"]["recommendation"] in RECOMMENDATIONS
    assert record["indicators"]["emission_factor"]["year"] == 2021
    assert record["indicators"]["emission_factor"]["status"] == "fallback_before_publication"
    assert errors_of(scored, "operating_since"), "a start after the as-of date is an error"


ODD_PUE = {  # value -> the error it gives (None: read as missing)
    "0.5": "out of range",
    "40": "out of range",
    "-1": "out of range",
    "nan": None,  # a 'not available' marker
    "inf": "cannot read the value",
    "-inf": "cannot read the value",
    "1e400": "cannot read the value",
    "about 1.3": "cannot read the value",
    "2021-06-30": "cannot read the value",
}


def test_odd_pue_values_get_a_decision_and_a_problem(tmp_path, model):
    rows = [full_row(project_id=f"P-{n}", pue=value) for n, value in enumerate(ODD_PUE)]
    records, scored = score(write_csv(tmp_path / "list.csv", rows), model)
    errors = {row["project_id"]: row["message"] for row in errors_of(scored, "pue")}
    for n, problem in enumerate(ODD_PUE.values()):
        decision = records[f"P-{n}"]["decision"]["recommendation"]
        assert decision in RECOMMENDATIONS
        assert errors.get(f"P-{n}") == problem
        assert decision == "incomplete" or problem is None


def test_a_count_too_large_for_its_column_is_a_problem_not_a_crash(tmp_path, model):
    """``racks`` is a whole-number column: 1e30 failed with 'cannot safely cast
    non-equivalent float64 to int64' and stopped the batch."""
    huge = ["1e30", "99999999999999999999", "-1e30"]
    rows = [full_row(project_id=f"H-{n}", racks=value) for n, value in enumerate(huge)]
    records, scored = score(write_csv(tmp_path / "list.csv", [*rows, full_row()]), model)
    assert set(records) == {"H-0", "H-1", "H-2", "T-001"}
    assert records["T-001"]["decision"]["decision_row"] != 1  # row 1: input errors
    found = errors_of(scored, "racks")
    assert [row["project_id"] for row in found] == ["H-0", "H-1", "H-2"]
    for row in found:
        assert records[row["project_id"]]["decision"]["decision_row"] == 1
        assert "whole number between 0 and 1,000,000" in row["expected"]
        assert "too large" in row["hint"] and row["cell"]


def test_a_huge_count_in_a_workbook_number_cell_is_a_problem(tmp_path):
    """The same from a real number cell of a workbook (the vectorised path)."""
    path = write_rows(tmp_path / "list.xlsx", [["project_id", "racks"], ["A", 1e30], ["B", 40]])
    projects, _, problems = read_applications([path], as_of=AS_OF)
    assert projects.loc["B", "racks"] == 40 and projects["racks"].isna().sum() == 1
    bad = problems[problems["field"] == "racks"]
    assert bad[["project_id", "cell", "severity"]].values.tolist() == [["A", "B2", "error"]]


def test_a_twenty_digit_id_in_a_csv_stays_exactly_as_written(tmp_path, model):
    path = write_csv(tmp_path / "list.csv", [full_row(project_id="12345678901234567890")])
    records, scored = score(path, model)
    assert list(records) == ["12345678901234567890"]
    assert not errors_of(scored, "project_id")


def test_a_twenty_digit_numeric_id_in_a_workbook_is_flagged(tmp_path):
    """A number cell keeps 15 significant digits: the id read back is not the one typed."""
    rows = [["project_id", "pue"], [12345678901234567890, 1.3], [123456789012345, 1.3]]
    path = write_rows(tmp_path / "list.xlsx", rows)
    projects, _, problems = read_applications([path], as_of=AS_OF)
    assert "123456789012345" in projects.index  # 15 digits are exact
    bad = problems[problems["field"] == "project_id"]
    assert bad["cell"].tolist() == ["A2"] and bad["severity"].tolist() == ["error"]
    assert "15 digits" in bad["message"].iat[0] and "as Text" in bad["hint"].iat[0]


HIDDEN = ["\u200b", "\ufeff", "\u200d", "\x07", "\u2060", "\u202e"]


def test_an_id_with_an_invisible_character_is_caught_as_a_duplicate(tmp_path, model):
    """``T-001`` and ``T-001`` + a zero-width space (BOM, joiner, bell, direction mark...)
    were two projects."""
    twins = [full_row(project_id=f"T-0{hidden}01", project_name="twin") for hidden in HIDDEN]
    records, scored = score(write_csv(tmp_path / "list.csv", [full_row(), *twins]), model)
    assert list(records) == ["T-001"]
    assert records["T-001"]["project_id"] == "T-001"
    problems = scored.applications.problems
    ids = problems[problems["field"] == "project_id"]
    assert (ids["message"] == "duplicate project_id").sum() == len(HIDDEN) + 1  # every row
    cleaned = ids[ids["message"].str.contains("invisible")]
    assert cleaned["value"].tolist() == [f"T-0<U+{ord(hidden):04X}>01" for hidden in HIDDEN]
    assert set(cleaned["severity"]) == {"warning"}


def test_full_width_ids_are_the_same_id(tmp_path):
    rows = [["project_id", "pue"], ["DC-001", 1.3], ["ＤＣ－００１", 1.4]]
    path = write_rows(tmp_path / "list.xlsx", rows)
    projects, _, problems = read_applications([path], as_of=AS_OF)
    assert list(projects.index) == ["DC-001"]
    assert "duplicate project_id" in set(problems["message"])


def test_a_row_of_nul_bytes_is_rejected_not_a_project(tmp_path, model):
    path = write_csv(tmp_path / "list.csv", [full_row()])
    with path.open("a", encoding="utf-8", newline="") as handle:
        handle.write(",".join(["\x00\x00"] * len(COLUMNS)) + "\n")
    records, scored = score(path, model)
    assert list(records) == ["T-001"]
    (garbage,) = errors_of(scored, "project_id")
    assert garbage["project_id"] == "" and garbage["cell"] == "A3"
    assert "only invisible or control characters" in garbage["message"]
    screening = screen_inputs([path], Settings(as_of=AS_OF), jobs=1)
    assert screening.results["project_id"].tolist() == ["T-001"]
    (reasons,) = screening.rejected["reasons"]
    assert "only invisible or control characters" in reasons


def test_an_implausibly_early_operating_start_is_an_error(tmp_path, model):
    early = ["1900-01-01", "1989-12-31"]
    rows = [full_row(project_id=f"E-{n}", operating_since=since) for n, since in enumerate(early)]
    records, scored = score(write_csv(tmp_path / "list.csv", rows), model)
    found = errors_of(scored, "operating_since")
    assert [(row["project_id"], row["value"]) for row in found] == [
        ("E-0", early[0]),
        ("E-1", early[1]),
    ]
    for row in found:
        assert row["message"] == "out of range" and row["expected"] == "a date in 1990 or later"
        record = records[row["project_id"]]
        assert record["indicators"]["operating_years"] is None
        assert record["decision"]["recommendation"] == "incomplete"


def test_operating_since_1990_is_accepted(tmp_path, model):
    path = write_csv(tmp_path / "list.csv", [full_row(operating_since="1990-01-01")])
    _, scored = score(path, model)
    assert not errors_of(scored, "operating_since")


def test_a_ratio_that_overflows_is_missing_never_infinite(tmp_path, model):
    """A huge amount over a tiny one overflowed to inf (and warned) in DSCR and leverage."""
    row = full_row(
        debt_service_cny_2024="1e-300", total_investment_cny="1e-300", appraised_value_cny="1e-300"
    )
    records, scored = score(write_csv(tmp_path / "list.csv", [row]), model)
    numbers = scored.frame.select_dtypes("number").to_numpy(dtype=float, na_value=np.nan)
    assert not np.isinf(numbers).any()
    assert records["T-001"]["indicators"]["leverage"] is None
    assert records["T-001"]["indicators"]["distribution_yield_avg"] is None  # sum overflows
    assert records["T-001"]["indicators"]["dscr_min"] is not None  # the other years' DSCR
    assert records["T-001"]["decision"]["recommendation"] in RECOMMENDATIONS


def score_and_screen_agree(scored: Scored, screening) -> None:
    """A screened project has the score's recommendation and programme eligibility; one the
    screen rejects for its input errors, the score finds incomplete."""
    screened = screening.results.set_index("project_id")
    decisions = scored.decisions["recommendation"]
    programmes = programmes_as_asked(scored.evaluation).astype(object)  # doubts withheld
    for project_id, recommendation in decisions.items():
        if project_id not in screened.index:
            assert project_id in set(screening.rejected["project_id"]), project_id
            assert recommendation == "incomplete", project_id
            continue
        assert screened.at[project_id, "recommendation"] == recommendation, project_id
        for programme in PROGRAMMES:
            column = f"{programme}_eligible"
            assert plain(screened.at[project_id, column]) == plain(
                programmes.at[project_id, column]
            ), (project_id, column)
    assert set(screened.index) <= set(decisions.index)


def test_every_sample_gets_the_same_decision_from_score_and_screen(model):
    inputs = [SAMPLES, SAMPLES / "broken"]
    scored = score_applications(inputs, as_of=AS_OF, model=model)
    screening = screen_inputs(inputs, Settings(as_of=AS_OF, model=MODEL_PATH), jobs=1)
    assert len(scored.decisions) > 200 and len(screening.rejected) > 0
    score_and_screen_agree(scored, screening)


def test_a_failing_repeat_in_another_file_does_not_refer_the_kept_project(tmp_path, model):
    """The problems of a second row with the same id stay with that row: the score referred
    the kept project for them, the screen did not."""
    first = write_csv(tmp_path / "a.csv", [full_row()])
    second = write_csv(tmp_path / "b.csv", [full_row(pue="0.5")])
    scored = score_applications([first, second], as_of=AS_OF, model=model)
    screening = screen_inputs([first, second], Settings(as_of=AS_OF, model=MODEL_PATH), jobs=1)
    assert scored.decisions.at["T-001", "decision_row"] != 1  # row 1: input errors
    assert scored.decisions.at["T-001", "data_quality"]["errors"] == 0
    score_and_screen_agree(scored, screening)


@pytest.mark.parametrize("as_of", [dt.date(1, 1, 1), dt.date(1677, 1, 1), dt.date(2300, 1, 1)])
def test_an_assessment_date_pandas_cannot_hold_is_refused_with_one_error(tmp_path, as_of):
    """An as-of date outside pandas' datetime range gave OutOfBoundsDatetime."""
    path = write_csv(tmp_path / "list.csv", [full_row()])
    with pytest.raises(AssessmentError, match="assessment date is out of range") as refused:
        score_applications([path], as_of=as_of)
    assert str(as_of) in str(refused.value) and "--as-of" in str(refused.value)
    with pytest.raises(AssessmentError, match="assessment date is out of range"):
        screen_inputs([path], Settings(as_of=as_of), jobs=1)


def test_the_first_and_last_assessment_dates_decide(tmp_path, model):
    path = write_csv(tmp_path / "list.csv", [full_row()])
    for as_of in (dt.date(1900, 1, 1), dt.date(2100, 12, 31)):
        records, _ = score(path, model, as_of)
        assert records["T-001"]["decision"]["recommendation"] in RECOMMENDATIONS


def test_fields_blanked_one_by_one_and_in_pairs_all_get_a_decision(tmp_path, model):
    """Every field blanked alone, and every pair of the fields the indicators read, for a
    REIT and a new build; blank ``pue`` with ``pue_design`` failed in the decision."""
    bases = [full_row(), full_row(financing_purpose="construction", project_kind="new")]
    blanks = [(field, field) for field in COLUMNS[1:]]
    blanks += list(itertools.combinations(PROJECT_COLUMNS, 2))
    rows = [
        base | {"project_id": f"B-{n}-{i}", first: "", second: ""}
        for n, base in enumerate(bases)
        for i, (first, second) in enumerate(blanks)
    ]
    path = write_csv(tmp_path / "blanks.csv", rows)
    scored = score_applications([path], as_of=AS_OF, model=model)
    assert len(scored.decisions) == len(rows)
    assert scored.decisions["recommendation"].isin(RECOMMENDATIONS).all()
    screening = screen_inputs([path], Settings(as_of=AS_OF, model=MODEL_PATH), jobs=1)
    score_and_screen_agree(scored, screening)


def test_a_workbook_without_an_id_is_one_rejected_input(tmp_path):
    book = openpyxl.load_workbook(SAMPLES / "04_beijing_retrofit_high_pue.xlsx")
    sheet = book.worksheets[1]
    rows = {row[5].value: row[5].row for row in sheet.iter_rows(min_row=2) if row[5].value}
    sheet.cell(rows["project_id"], 2).value = None
    sheet.cell(rows["operating_since"], 2).value = dt.datetime(2031, 1, 1)
    book.save(tmp_path / "form.xlsx")
    screening = screen_inputs([tmp_path / "form.xlsx"], Settings(as_of=AS_OF), jobs=1)
    assert screening.results.empty
    assert len(screening.rejected) == 1


def test_list_rows_without_an_id_are_one_rejected_row_each(tmp_path):
    path = tmp_path / "noid.csv"
    path.write_text("project_id,project_name,pue\n,a,1.2\n,b,0.5\nX1,c,1.3\n", encoding="utf-8")
    screening = screen_inputs([path], Settings(as_of=AS_OF), jobs=1)
    rejected = screening.rejected.sort_values("row")
    assert rejected["row"].tolist() == [2, 3]
    assert "pue: out of range" in rejected["reasons"].iloc[1]
    assert "pue" not in rejected["reasons"].iloc[0]
