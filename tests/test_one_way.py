"""One way to do each job: one problem renderer, one value formatter, one reference-table
reader, one sha256 helper and atomic write path, one Excel writing library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

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
    """Only errors.py puts a hint into a line as '(hint: ...)'."""
    offenders = []
    for path in _modules("errors.py", "cli/"):
        text = path.read_text(encoding="utf-8")
        if "(hint: {" in text:
            offenders.append(path.relative_to(PACKAGE).as_posix())
    assert offenders == []


# -- 4. one sha256 helper, one atomic write path, one name per job ---------------------------
# Writing calls that put bytes in a file: allowed only inside a callback (a lambda or a nested
# function) handed to _shared.files.write_atomically, or inside _shared itself.
WRITING_METHODS = {"write_text", "write_bytes", "to_parquet", "to_csv", "to_excel", "save"}


def _calls(tree: ast.AST) -> list[tuple[ast.Call, list[ast.AST]]]:
    """Every call with the chain of nodes above it."""
    found = []

    def walk(node: ast.AST, above: list[ast.AST]) -> None:
        if isinstance(node, ast.Call):
            found.append((node, above))
        for child in ast.iter_child_nodes(node):
            walk(child, [*above, node])

    walk(tree, [])
    return found


def _in_callback(above: list[ast.AST]) -> bool:
    functions = [n for n in above if isinstance(n, ast.FunctionDef | ast.Lambda)]
    return len(functions) >= 2 or any(isinstance(n, ast.Lambda) for n in functions)


def _writes_a_file(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Name) and func.id == "open":
        if ast.unparse(call.args[0]) == "os.devnull":
            return False
        modes = [a.value for a in call.args[1:2] if isinstance(a, ast.Constant)]
        modes += [k.value.value for k in call.keywords if k.arg == "mode"]
        return any("w" in str(mode) or "a" in str(mode) for mode in modes)
    if not isinstance(func, ast.Attribute) or func.attr not in WRITING_METHODS:
        return False
    if func.attr == "to_csv":  # to_csv() with no path returns text
        return bool(call.args) or any(k.arg == "path_or_buf" for k in call.keywords)
    return True


def test_only_shared_files_computes_a_sha256():
    offenders = [
        path.relative_to(PACKAGE).as_posix()
        for path in _modules("_shared/")
        if "hashlib" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_the_digests_are_the_usual_ones(tmp_path):
    import hashlib

    from assessment._shared.files import sha256_bytes, sha256_of, sha256_text

    (tmp_path / "a.txt").write_bytes("électricité".encode())
    expected = hashlib.sha256("électricité".encode()).hexdigest()
    assert sha256_of(tmp_path / "a.txt") == sha256_text("électricité") == expected
    assert sha256_bytes("électricité".encode()) == expected


def test_every_file_is_written_through_write_atomically():
    offenders = []
    for path in _modules("_shared/", "cli/", "screening/_rows.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call, above in _calls(tree):
            if _writes_a_file(call) and not _in_callback(above):
                offenders.append(f"{path.relative_to(PACKAGE).as_posix()}:{call.lineno}")
    assert offenders == []


def test_a_name_means_one_thing():
    """write_table, write_outputs and sheets are each defined at most once in the package."""
    defined: dict[str, list[str]] = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name in (
                "write_table",
                "write_outputs",
                "sheets",
            ):
                defined.setdefault(node.name, []).append(path.relative_to(PACKAGE).as_posix())
    assert defined == {"write_table": ["_shared/files.py"]}


def test_write_table_is_imported_from_shared_files_only():
    """No module re-exports write_table: every importer names _shared.files."""
    importers = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and "write_table" in {a.name for a in node.names}:
                importers.append((path.relative_to(PACKAGE).as_posix(), node.module))
    assert importers and all(module.endswith("_shared.files") for _, module in importers)
    assert "cli/model.py" in {name for name, _ in importers}


def test_json_and_text_are_written_atomically(tmp_path):
    from assessment._shared.files import write_json, write_text

    write_json(tmp_path / "m.json", {"a": "é", "n": 1})
    assert (tmp_path / "m.json").read_text(encoding="utf-8") == '{\n "a": "é",\n "n": 1\n}'
    write_text(tmp_path / "t.txt", "x\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "t.txt"]


# -- 3. one reference-table reader -------------------------------------------------------------
TABLE_READERS = ("read_csv(", "DictReader(", "csv.reader(")


def test_modules_that_read_packaged_rules_data_read_tables_through_one_reader():
    """A module that opens a packaged table under rules/ reads it with _shared.tables (rule
    packs go through criteria.rules, which also reads .xlsx packs)."""
    offenders = []
    for path in _modules("_shared/", "criteria/rules.py"):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.parse(text).body:
            code = "\n".join(lines[node.lineno - 1 : node.end_lineno])
            packaged = 'data_dir("rules")' in code or "decision_file(" in code
            if packaged and any(reader in code for reader in TABLE_READERS):
                offenders.append(path.relative_to(PACKAGE).as_posix())
    assert offenders == []
    dictionary = (PACKAGE / "intake" / "dictionary.py").read_text(encoding="utf-8")
    assert not any(reader in dictionary for reader in TABLE_READERS)  # templates/application


def test_a_bad_cell_of_a_reference_table_names_file_row_and_column(tmp_path):
    from assessment._shared.tables import read_reference_table

    table = tmp_path / "grades.csv"
    table.write_text("grade,max_pd\n1,0.005\n2,low\n3,\n", encoding="utf-8")
    with pytest.raises(RuleError) as refused:
        read_reference_table(table, {"grade": "Int64", "max_pd": "float64"})
    assert refused.value.problems[0]["row"] == 3
    assert f"{table}, row 3, column max_pd: not a number; got 'low'" in str(refused.value)


def test_a_reference_table_lacking_a_column_or_missing_says_which(tmp_path):
    from assessment._shared.tables import read_reference_table

    table = tmp_path / "bands.csv"
    table.write_text("measure,band\npsi,stable\n", encoding="utf-8")
    with pytest.raises(RuleError, match=r"row 1, column below: the table lacks columns"):
        read_reference_table(table, dict.fromkeys(("measure", "band", "below"), "text"))
    with pytest.raises(RuleError, match=r"nowhere.csv: table not found \(hint: give it\)"):
        read_reference_table(tmp_path / "nowhere.csv", {}, hint="give it")


def test_reference_tables_read_their_kinds(tmp_path):
    from assessment._shared.tables import read_reference_table

    table = tmp_path / "t.csv"
    table.write_text("year, area ,published\n2021, hebei ,2024-04-12\n2022,,\n", encoding="utf-8")
    read = read_reference_table(
        table, {"year": "Int64", "area": "string", "published": "datetime64[ns]"}
    )
    assert [str(t) for t in read.dtypes] == ["Int64", "string", "datetime64[ns]"]
    assert read["area"].tolist()[0] == "hebei" and read["area"].isna().tolist() == [False, True]


def test_the_packaged_tables_load_through_the_one_reader():
    from assessment.decision.decide import load_borderline, load_decision_table, load_routing
    from assessment.model.drift import load_bands
    from assessment.model.predict import load_grades
    from assessment.workbench.monitor import load_fields

    assert load_grades()["max_pd"].is_monotonic_increasing
    assert list(load_bands("psi")["band"]) == ["stable", "watch", "act"]
    assert set(load_fields()["kind"]) <= {"numeric", "category"}
    assert load_decision_table() and load_routing().roles and load_borderline()


# -- 1. one value -> text formatter ---------------------------------------------------------
OWN_FORMATTERS = ("def format_number", "def formatted", '"/".join', '";".join', ":,.6g}")


def test_the_formatter_shows_values_one_way():
    from assessment._shared.text import joined, shown

    assert [shown(1.0), shown(1), shown(1234.0), shown(0.725), shown(1234.5)] == [
        "1",
        "1",
        "1,234",
        "0.725",
        "1,234.5",
    ]
    assert [shown(None), shown(float("nan")), shown(float("inf"))] == ["-", "-", "-"]
    assert shown(12345678.9) == "12,345,679" and shown(0.1234567, digits=4) == "0.1235"
    assert shown(0.0523, "{:.1%}") == "5.2%" and shown(2.0, unit="MW") == "2 MW"
    assert shown(True) == "true" and shown((1.0, "edge")) == joined([1, "edge"]) == "1; edge"


def test_one_point_zero_prints_as_1_in_every_part_that_shows_it():
    from assessment.decision.paths import worded
    from assessment.intake.validate import _fmt
    from assessment.screening.records import reasons_text
    from assessment.workbench.rules_diff import _segments

    reason = {
        "criterion": "R",
        "verdict": "fail",
        "value": 1.0,
        "operator": "<=",
        "threshold": [1.0, 2.5],
        "source": "S",
    }
    assert reasons_text([reason]) == "R: 1 vs <= (1; 2.5) (S)"
    assert worded(1.0, "") == "1" and worded([1.0, 2.0], "") == "one of (1; 2)"
    assert _fmt(1.0, "inf") == "1"
    import pandas as pd

    assert _segments(pd.DataFrame({"zone": ["east"], "threshold": [1.0]})) == {"zone=east": 1.0}


def test_no_module_keeps_its_own_number_formatter_or_list_separator():
    offenders = []
    for path in _modules("_shared/"):
        text = path.read_text(encoding="utf-8")
        found = [mark for mark in OWN_FORMATTERS if mark in text]
        if found:
            offenders.append((path.relative_to(PACKAGE).as_posix(), found))
    assert offenders == []


# -- 5. one Excel writing library -----------------------------------------------------------
# The screening shortlist keeps its own fast xlsxwriter path (28x faster on large lists).
EXCEL_WRITERS = ("_shared/excel.py", "screening/shortlist.py", "screening/_rows.py")


def test_ordinary_workbooks_are_written_by_one_module_with_one_library():
    offenders = []
    for path in _modules(*EXCEL_WRITERS):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name.startswith("xlsxwriter") or name in ("openpyxl.Workbook",):
                    offenders.append((path.relative_to(PACKAGE).as_posix(), name))
                if name.startswith(("openpyxl.styles", "openpyxl.worksheet", "openpyxl.utils")):
                    offenders.append((path.relative_to(PACKAGE).as_posix(), name))
    assert offenders == []


def test_a_written_table_keeps_fills_formats_filters_frozen_header_and_text(tmp_path):
    import openpyxl
    import pandas as pd

    from assessment._shared.excel import Table, write_workbook

    frame = pd.DataFrame(
        {
            "rule": ["=HYPERLINK(1)", "B"],
            "verdict": ["pass", "fail"],
            "rate": [0.25, None],
            "on": [pd.Timestamp("2025-06-30"), pd.NaT],
            "note": ["", "x"],
        }
    )
    table = Table(frame, fills={"verdict": {"pass": "C6EFCE"}}, formats={"rate": "0.0%"})
    book = openpyxl.load_workbook(write_workbook(tmp_path / "t.xlsx", {"Verdicts": table}))
    sheet = book["Verdicts"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:E3"
    assert sheet["A1"].font.bold and sheet["A2"].value == "=HYPERLINK(1)"
    assert sheet["A2"].data_type == "s"
    assert sheet["B2"].fill.fgColor.rgb.endswith("C6EFCE") and sheet["B3"].fill.fill_type is None
    assert sheet["C2"].number_format == "0.0%" and sheet["C3"].value is None
    assert sheet["D2"].value.date().isoformat() == "2025-06-30"
    assert sheet["D2"].number_format == "yyyy-mm-dd" and sheet["E2"].value is None


def test_yaml_is_parsed_in_one_place():
    parsers = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "yaml.load(" in path.read_text(encoding="utf-8")
    )
    assert parsers == ["_shared/strict_yaml.py"]
