"""One way to do each job: one problem renderer, one value formatter, one reference-table
reader, one sha256 helper and atomic write path, one Excel writing library."""

from __future__ import annotations

from pathlib import Path

from assessment.errors import AssessmentError, Problem, RuleError

PACKAGE = Path(__file__).resolve().parent.parent / "assessment"


def _modules(*skipped: str) -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if not any(path.relative_to(PACKAGE).as_posix().startswith(s) for s in skipped)
    ]


# -- 1. one problem record, one renderer ----------------------------------------------------
def test_a_problem_renders_where_subject_what_expected_got_and_hint():
    problem = Problem(
        "out of range",
        file="app.xlsx",
        sheet="Project",
        cell="B7",
        severity="error",
        subject="DC-1 pue",
        expected="between 1 and 3",
        got="'0.95'",
        hint="check the unit",
    )
    assert problem.render() == (
        "app.xlsx:Project!B7 [error] DC-1 pue: out of range; expected between 1 and 3; "
        "got '0.95' (hint: check the unit)"
    )


def test_an_engine_error_is_its_problem_rendered():
    error = AssessmentError("cannot write", where="out.xlsx", got="no space", hint="free some")
    assert str(error) == error.problem.render() == Problem.of(error).render()
    assert str(error) == "out.xlsx: cannot write; got no space (hint: free some)"


def test_rule_problem_rows_render_with_file_row_and_column():
    rows = [
        {
            "file": "r.csv",
            "row": 4,
            "column": "metric",
            "value": "dcsr",
            "message": "unknown metric 'dcsr'",
            "hint": "did you mean dscr?",
        },
        {"file": "r.csv", "row": "", "column": "", "value": "", "message": "empty", "hint": ""},
    ]
    text = str(RuleError.from_rows(rows))
    assert "r.csv, row 4, column metric: unknown metric 'dcsr' (hint: did you mean dscr?)" in text
    assert text.endswith("\nr.csv: empty")


def test_an_input_problem_row_names_project_field_and_year_and_quotes_the_value():
    row = {
        "file": "a.xlsx",
        "sheet": "Yearly",
        "cell": "C4",
        "project_id": "DC-1",
        "field": "revenue_cny",
        "year": 2022,
        "severity": "warning",
        "message": "negative",
        "value": "-5",
        "expected": "a positive amount",
        "hint": "",
    }
    assert Problem.from_row(row).render() == (
        "a.xlsx:Yearly!C4 [warning] DC-1 revenue_cny[2022]: negative; "
        "expected a positive amount; got '-5'"
    )
    unread = {
        **row,
        "sheet": "",
        "cell": "",
        "project_id": "",
        "field": "",
        "year": None,
        "value": "",
        "expected": "",
        "message": "cannot read",
    }
    assert Problem.from_row(unread).render() == "a.xlsx [warning] file: cannot read"


def test_an_os_error_is_a_problem_with_its_paths():
    error = FileNotFoundError(2, "No such file or directory", "in.xlsx")
    assert Problem.of(error).render() == "in.xlsx: No such file or directory"


def test_no_module_builds_problem_lines_by_hand():
    """Only errors.py joins 'expected ...' and '(hint: ...)' into a line."""
    offenders = []
    for path in _modules("errors.py", "cli/"):
        text = path.read_text(encoding="utf-8")
        if "(hint: " in text:
            offenders.append(path.relative_to(PACKAGE).as_posix())
    assert offenders == []
