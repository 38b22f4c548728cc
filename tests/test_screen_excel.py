"""The shortlist workbook of ``assess screen`` and the full result beside it, read back."""

from __future__ import annotations

import gc
import os
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest
import python_calamine

from assessment.decision.decide import RANKING
from assessment.errors import OutputError
from assessment.screening import _rows as xlsx_rows
from assessment.screening import shortlist as screen_excel
from assessment.screening.shortlist import (
    HEADER_ROW,
    write_full_results,
    write_screening_workbook,
)

PROGRAMMES = ["green", "green_credit", "reit", "credit"]
VERDICTS = ["pass", "fail", "insufficient", "not_applicable"]
RECOMMENDATIONS = ["approve", "approve_with_conditions", "refer", "decline"]
GATES = ["REIT-OPERATING-3Y-1014", "GREEN-PUE-1.25", "CREDIT-DSCR-1.2"]
OTHER_RULES = ["GREEN-WUE-1", "CREDIT-LTV-60"]


@pytest.fixture(autouse=True, params=["in_memory", "constant_memory", "fast"])
def memory_mode(request, monkeypatch):
    """Every test runs three times: xlsxwriter alone with the sheets in memory, xlsxwriter alone
    row by row in its constant-memory mode (forced by a zero cell limit), and the rows of large
    results made by xlsx_rows (forced by a one-row threshold), in blocks of a few hundred rows."""
    monkeypatch.setattr(screen_excel, "_FAST_ROWS", 1 if request.param == "fast" else 10**9)
    if request.param == "constant_memory":
        monkeypatch.setattr(screen_excel, "_IN_MEMORY_CELLS", 0)
    monkeypatch.setattr(xlsx_rows, "_FIRST_BLOCK_ROWS", 300)
    monkeypatch.setattr(xlsx_rows, "_BLOCK_BYTES", 200_000)
    return request.param


def make_results(n: int, gates: list[str] = GATES, others: list[str] = OTHER_RULES):
    """``n`` ranked projects with every column of the screening result."""
    rows = np.arange(n)
    frame = pd.DataFrame(
        {
            "rank": rows + 1,
            "project_id": [f"P{i:05d}" for i in rows],
            "project_name": [f"Project {i}" for i in rows],
            "source_file": [f"batch/app_{i % 7}.xlsx" for i in rows],
            "source_row": pd.array([i + 2 if i % 5 else None for i in rows], dtype="Int64"),
            "province": [["Guizhou", "Inner Mongolia", "Ningxia"][i % 3] for i in rows],
            "hub": [["Gui'an", "Helinger", "Zhongwei"][i % 3] for i in rows],
            "facility_type": ["hyperscale"] * n,
            "financing_purpose": ["construction"] * n,
            "recommendation": [RECOMMENDATIONS[i % 4] for i in rows],
            "eligible": pd.array([[True, False, None][i % 3] for i in rows], dtype="boolean"),
            "score": np.linspace(90, 10, n) if n else [],
            "pd": [0.0123 + i / 10_000 if i % 4 else np.nan for i in rows],
            "grade": pd.array([["A", "B", None][i % 3] for i in rows], dtype="string"),
        }
    )
    for p in PROGRAMMES:
        frame[f"{p}_eligible"] = pd.array([i % 2 == 0 for i in rows], dtype="boolean")
        frame[f"{p}_score"] = np.linspace(80, 20, n) if n else []
        frame[f"{p}_grade"] = [["AAA", "AA", "B"][i % 3] for i in rows]
    frame["reasons"] = ["PUE 1.18 <= 1.25; DSCR 1.4 >= 1.2"] * n
    frame["decision_reason"] = ["all gates pass"] * n
    for k, rule in enumerate(gates + others):
        verdicts = [VERDICTS[(i + k) % 4] if (i + k) % 9 else None for i in rows]
        frame[rule] = pd.Categorical(verdicts, categories=VERDICTS)
    return frame


REJECTED = pd.DataFrame(
    {
        "file": ["batch/bad.xlsx"],
        "sheet": ["Project"],
        "row": [4],
        "cell": ["C4"],
        "project_id": [None],
        "reasons": ["project_id is missing"],
    }
)
SUMMARY = {
    "By recommendation": pd.DataFrame({"recommendation": RECOMMENDATIONS, "projects": [3] * 4}),
    "By province": pd.Series([4, 4, 4], index=["Guizhou", "贵州", "Ningxia"], name="projects")
    .rename_axis("province")
    .to_frame(),
}


def write(tmp_path, results, rejected=REJECTED, **options):
    path = tmp_path / "shortlist.xlsx"
    options.setdefault("gate_rules", GATES)
    write_screening_workbook(results, rejected, SUMMARY, path, **options)
    return openpyxl.load_workbook(path)


def rows(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


H = HEADER_ROW + 1  # the Screening table's header row, as Excel counts (under the heading)


def table(sheet) -> list[list]:
    """The rows of the Screening table: its header, then the projects."""
    return rows(sheet)[HEADER_ROW:]


@pytest.fixture(scope="module")
def _default_books() -> dict:
    return {}


@pytest.fixture
def default_book(memory_mode, tmp_path_factory, _default_books):
    """``write`` of ``make_results(12)`` with the default options, once per memory mode: the
    tests that only read it share it."""
    if memory_mode not in _default_books:
        folder = tmp_path_factory.mktemp(f"default_{memory_mode}")
        _default_books[memory_mode] = write(folder, make_results(12))
    return _default_books[memory_mode]


def test_sheets_in_order_with_frozen_filtered_header(default_book):
    book = default_book
    assert book.sheetnames == ["Screening", "Rejected", "Summary"]
    assert book["Rejected"].freeze_panes == "A2"
    assert book["Rejected"].auto_filter.ref.startswith("A1:")
    screening = book["Screening"]
    assert screening.freeze_panes == f"A{H + 1}"
    last = screening.cell(H, screening.max_column).column_letter
    assert screening.auto_filter.ref == f"A{H}:{last}{H + 12}"
    assert all(cell.font.b for cell in screening[H])
    assert screening["A1"].value == RANKING and screening["A1"].font.b  # the heading line
    assert rows(screening)[1] == [None] * screening.max_column


def test_gate_rules_shown_in_order_and_other_rules_left_out(tmp_path):
    titles = {"GREEN-PUE-1.25": "PUE at most 1.25"}
    screening = write(tmp_path, make_results(12), titles=titles)["Screening"]
    header = table(screening)[0]
    assert header[-4:] == ["decision_reason", *GATES]
    assert not set(OTHER_RULES) & set(header)
    assert (
        screening.cell(H, header.index("GREEN-PUE-1.25") + 1).comment.text
        == titles["GREEN-PUE-1.25"]
    )


def test_values_round_trip_text_stays_text_and_missing_is_blank(tmp_path, memory_mode):
    results = make_results(12)
    results.loc[0, "project_name"] = "贵安数据中心二期"
    results.loc[1, "project_name"] = "=1+1"
    results.loc[2, "hub"] = "@hub"
    results.loc[3, "province"] = "-1"
    screening = write(tmp_path, results)["Screening"]
    header, first, second, third, fourth, fifth = table(screening)[:6]
    at = {name: i for i, name in enumerate(header)}
    assert first[at["project_name"]] == "贵安数据中心二期" and first[at["rank"]] == 1
    assert second[at["project_name"]] == "=1+1"
    assert screening.cell(H + 2, at["project_name"] + 1).data_type == "s"
    assert third[at["hub"]] == "@hub" and fourth[at["province"]] == "-1"
    assert first[at["pd"]] is None and second[at["pd"]] == pytest.approx(results.loc[1, "pd"])
    assert first[at["source_row"]] is None and second[at["source_row"]] == 3
    assert first[at["eligible"]] is True and second[at["eligible"]] is False
    assert third[at["eligible"]] is None and third[at["grade"]] is None
    assert fifth[at["score"]] == pytest.approx(results.loc[4, "score"])
    assert first[at["green_eligible"]] is True and first[at["reit_grade"]] == "AAA"
    assert first[at["REIT-OPERATING-3Y-1014"]] is None  # NA verdict
    assert second[at["REIT-OPERATING-3Y-1014"]] == "fail"
    assert screening.cell(H + 2, at["pd"] + 1).number_format == "0.0%"
    assert screening.cell(H + 1, at["score"] + 1).number_format == "0.0"
    assert screening.cell(H + 1, at["rank"] + 1).number_format == "#,##0"
    with zipfile.ZipFile(tmp_path / "shortlist.xlsx") as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    if memory_mode == "fast":  # no cell references after the header row
        assert f'<c r="B{H}"' in sheet and f'<c r="B{H + 1}"' not in sheet
    else:
        assert ('inlineStr"' in sheet) == (memory_mode == "constant_memory")


def test_columns_sized_to_their_content(tmp_path):
    results = make_results(12)
    results.loc[0, "project_name"] = "贵安数据中心二期扩建工程"
    screening = write(tmp_path, results)["Screening"]
    width = {screening.cell(H, i).value: d.width for i, d in enumerate(_dimensions(screening), 1)}
    assert width["project_name"] >= 24 and width["rank"] < width["project_name"]
    assert width["decision_reason"] >= len("all gates pass")


def _dimensions(sheet):
    letters = [sheet.cell(H, i).column_letter for i in range(1, sheet.max_column + 1)]
    return [sheet.column_dimensions[letter] for letter in letters]


def test_gate_and_recommendation_columns_coloured_by_conditional_formats(default_book):
    screening = default_book["Screening"]
    header = table(screening)[0]
    letter = {name: screening.cell(H, i + 1).column_letter for i, name in enumerate(header)}
    found = {}
    for ranges in screening.conditional_formatting:
        for rule in ranges.rules:
            found[(str(ranges.sqref), rule.formula[0])] = rule.dxf.fill.bgColor.rgb
    gates = f"{letter[GATES[0]]}{H + 1}:{letter[GATES[-1]]}{H + 12}"
    assert found[(gates, '"pass"')].endswith("C6EFCE")
    assert found[(gates, '"fail"')].endswith("FFC7CE")
    assert found[(gates, '"insufficient"')].endswith("FFEB9C")
    assert found[(gates, '"not_applicable"')].endswith("EDEDED")
    column = letter["recommendation"]
    assert found[(f"{column}{H + 1}:{column}{H + 12}", '"refer"')].endswith("D9E1F2")
    rows_range = f"{column}{H + 1}:{column}{H + 12}"
    assert found[(rows_range, '"approve_with_conditions"')].endswith("FFEB9C")


def test_more_rows_than_max_rows_keeps_the_top_and_says_where_the_rest_is(tmp_path):
    book = write(tmp_path, make_results(12), max_rows=5)
    shown = table(book["Screening"])
    assert len(shown) == 6 and [row[0] for row in shown[1:]] == [1, 2, 3, 4, 5]
    assert book["Screening"].auto_filter.ref.endswith(str(H + 5))
    assert book["Summary"]["A1"].value == RANKING
    note = book["Summary"]["A3"].value
    assert note.startswith("Screening holds the top 5 of 12 projects")
    assert "screening.parquet" in note and "screening.csv" in note


def test_summary_blocks_one_under_another(default_book):
    summary = rows(default_book["Summary"])
    assert summary[0][0] == RANKING and summary[1][0] is None
    summary = summary[2:]
    assert summary[0][:2] == ["By recommendation", None]
    assert summary[1][:2] == ["recommendation", "projects"]
    assert summary[2][:2] == ["approve", 3]
    assert summary[6] == [None, None]
    assert summary[7][0] == "By province" and summary[8] == ["province", "projects"]
    assert summary[10] == ["贵州", 4]


def test_rejected_rows_and_an_empty_rejected_sheet(tmp_path):
    book = write(tmp_path, make_results(3))
    assert rows(book["Rejected"]) == [
        ["file", "sheet", "row", "cell", "project_id", "reasons"],
        ["batch/bad.xlsx", "Project", 4, "C4", None, "project_id is missing"],
    ]
    empty = write(tmp_path, make_results(3), rejected=REJECTED.iloc[0:0])["Rejected"]
    assert rows(empty) == [["file", "sheet", "row", "cell", "project_id", "reasons"]]
    assert empty.freeze_panes == "A2" and empty.auto_filter.ref == "A1:F2"
    assert rows(write(tmp_path, make_results(3), rejected=pd.DataFrame())["Rejected"])[0][0] == (
        "file"
    )


def test_no_results_still_writes_a_workbook(tmp_path):
    book = write(tmp_path, make_results(0))
    assert len(table(book["Screening"])) == 1


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("cannot print")


def test_a_failure_midway_leaves_neither_workbook_nor_temporary_file(tmp_path):
    results = make_results(12).astype({"project_name": object})
    results.loc[7, "project_name"] = Unprintable()
    with pytest.raises(RuntimeError, match="cannot print"):
        write(tmp_path, results)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_rename_keeps_the_previous_workbook(tmp_path, monkeypatch):
    write(tmp_path, make_results(2))
    before = (tmp_path / "shortlist.xlsx").read_bytes()

    def refuse(source, target):
        raise PermissionError("the workbook is open in Excel")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OutputError, match="shortlist.xlsx: cannot write.*open in Excel"):
        write(tmp_path, make_results(12))
    assert [p.name for p in tmp_path.iterdir()] == ["shortlist.xlsx"]
    assert (tmp_path / "shortlist.xlsx").read_bytes() == before


def test_unknown_gate_rule_is_refused(tmp_path):
    with pytest.raises(ValueError, match="'gate_rules' parameter.*NO-SUCH-RULE"):
        write(tmp_path, make_results(2), gate_rules=["NO-SUCH-RULE"])
    with pytest.raises(ValueError, match="'max_rows' parameter"):
        write(tmp_path, make_results(2), max_rows=0)
    assert list(tmp_path.iterdir()) == []


def test_full_results_as_parquet_and_csv_with_bom(tmp_path):
    results = make_results(12)
    results.loc[0, "project_name"] = "贵安数据中心"
    paths = write_full_results(results, tmp_path)
    assert [p.name for p in paths] == ["screening.parquet", "screening.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["screening.csv", "screening.parquet"]
    back = pd.read_parquet(paths[0])
    assert list(back.columns) == list(results.columns) and len(back) == 12
    assert back.loc[0, "project_name"] == "贵安数据中心"
    assert paths[1].read_bytes().startswith("\ufeffrank,project_id".encode())
    assert pd.read_csv(paths[1], encoding="utf-8-sig").loc[0, "project_name"] == "贵安数据中心"


def test_csv_text_that_would_run_as_a_formula_starts_with_an_apostrophe(tmp_path):
    results = make_results(6)
    results["project_name"] = ["=1+1", "+SUM(A1)", "-2 of 3", "@cmd", "plain", None]
    results["score"] = [-1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    paths = write_full_results(results, tmp_path)
    back = pd.read_csv(paths[1], encoding="utf-8-sig")
    assert back["project_name"].tolist()[:5] == ["'=1+1", "'+SUM(A1)", "'-2 of 3", "'@cmd", "plain"]
    assert back["score"].tolist() == [-1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert (
        pd.read_parquet(paths[0])["project_name"].tolist()[:5]
        == results["project_name"][:5].tolist()
    )


def test_written_cells_are_freed_without_the_cycle_collector(tmp_path):
    results = make_results(2_000)
    gc.collect()
    write_screening_workbook(results, REJECTED, SUMMARY, tmp_path / "s.xlsx", gate_rules=GATES)
    assert gc.collect() < 5_000  # 2,000 rows x 43 columns were held as one tuple per cell


# The rows that xlsx_rows makes: read back by every reader the project meets, equal to the
# frame written and to what xlsxwriter alone writes.

SPECIAL_TEXTS = [
    "贵安数据中心（二期）",
    "R&D <lab> & co",
    "=1+1",
    "@hub",
    "-1",
    "  padded  ",
    "tab\tinside",
    "line\nbreak",
    "_x0041_ looks escaped",
    "ideographic space\u3000",
    "\u00a0no-break first",
    "emoji 😀 four bytes",
    "plain",
]
CONTROL_TEXTS = ["ctrl\x01\x1f", "carriage\rreturn", "non-character \ufffe"]


def make_mixed(n: int) -> pd.DataFrame:
    """Every kind of column, with missing, non-finite and awkward values, ending with gates."""
    rows = np.arange(n)
    texts = np.array(SPECIAL_TEXTS, dtype=object)
    names = [t if i < 400 else f"{t} {i}" for i, t in enumerate(texts[rows % len(texts)])]
    names[5] = "长" * 40_000  # over Excel's 32,767 characters: cut there
    mixed = [[7, 2.5, "text", True, None, -3, " R&D _x0041_"][i % 7] for i in rows]
    frame = pd.DataFrame(
        {
            "rank": rows + 1,
            "project_id": [f"P{i:05d}&{i % 3}" for i in rows],
            "project_name": pd.array(
                [None if i % 11 == 3 else t for i, t in enumerate(names)],
                dtype=pd.StringDtype("python"),
            ),
            "province": pd.array([["贵州", None, "Ningxia"][i % 3] for i in rows], dtype="str"),
            "note": np.array(texts[(rows * 7) % len(texts)], dtype=object),
            "controls": np.array([CONTROL_TEXTS[i % 3] for i in rows], dtype=object),
            "recommendation": pd.Categorical(
                [RECOMMENDATIONS[i % 4] if i % 5 else None for i in rows],
                categories=RECOMMENDATIONS,
            ),
            "eligible": pd.array([[True, False, None][i % 3] for i in rows], dtype="boolean"),
            "flag": rows % 2 == 0,
            "score": [[np.nan, np.inf, -np.inf, 12.5, 60.0, 99.5][i % 6] for i in rows],
            "pd": np.random.default_rng(1).random(n) / 3,
            "source_row": pd.array([i + 2 if i % 4 else None for i in rows], dtype="Int64"),
            "amount": pd.array([i * 1.25 if i % 6 else None for i in rows], dtype="Float64"),
            "mixed": pd.Series(mixed, dtype=object),
            "nothing": pd.Series([None] * n, dtype=object),
            "as_of": pd.to_datetime(["2025-06-30" if i % 8 else None for i in rows]),
            "reasons": [f"PUE {i / 100:.2f} <= 1.25; DSCR {i % 9} >= 1.2" for i in rows],
            "decision_reason": ["all gates pass", "a gate fails"] * (n // 2) + [""] * (n % 2),
        }
    )
    for k, rule in enumerate(GATES):
        verdicts = [VERDICTS[(i + k) % 4] if (i + k) % 9 else None for i in rows]
        frame[rule] = pd.Categorical(verdicts, categories=VERDICTS)
    return frame


def normal(value: object) -> object:
    """A cell's value as readers and frames can agree on: blanks None, booleans tagged,
    numbers as floats, text cut at Excel's limit."""
    if isinstance(value, str):
        return value[:32_767] or None
    if value is None or pd.isna(value):
        return None
    if isinstance(value, bool | np.bool_):
        return ("bool", bool(value))
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value) if np.isfinite(value) else None
    return str(value)


def normal_rows(rows) -> list[list]:
    return [[normal(v) for v in row] for row in rows]


def untagged(table: list[list]) -> list[list]:
    """Booleans as numbers: pandas reads a column of booleans and blanks as 1.0, 0.0, NaN."""
    return [[float(v[1]) if isinstance(v, tuple) else v for v in row] for row in table]


def pandas_rows(path, **options) -> list[list]:
    found = pd.read_excel(path, sheet_name="Screening", header=HEADER_ROW, **options)
    return untagged(normal_rows(found.astype(object).itertuples(index=False)))


def frame_rows(frame: pd.DataFrame) -> list[list]:
    return normal_rows(frame.astype(object).itertuples(index=False))


TITLES = {rule: f"title of {rule}" for rule in GATES}


@pytest.fixture(scope="module")
def mixed_books(tmp_path_factory):
    """The mixed frame written by xlsx_rows (in blocks of a few hundred rows) and by
    xlsxwriter alone."""
    folder = tmp_path_factory.mktemp("mixed")
    frame = make_mixed(1_500)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(xlsx_rows, "_FIRST_BLOCK_ROWS", 300)
        patch.setattr(xlsx_rows, "_BLOCK_BYTES", 100_000)
        for name, fast_rows in (("fast", 1), ("plain", 10**9)):
            patch.setattr(screen_excel, "_FAST_ROWS", fast_rows)
            write_screening_workbook(
                frame, REJECTED, SUMMARY, folder / f"{name}.xlsx", gate_rules=GATES, titles=TITLES
            )
    return frame, folder / "fast.xlsx", folder / "plain.xlsx"


@pytest.fixture(scope="module")
def mixed_loaded(mixed_books):
    """The fast and the plain workbook of ``mixed_books`` loaded by openpyxl, once: read only."""
    return tuple(openpyxl.load_workbook(path) for path in mixed_books[1:])


@pytest.mark.parametrize("memory_mode", ["fast"], indirect=True)
def test_fast_rows_read_back_as_the_frame_with_calamine_openpyxl_and_pandas(
    mixed_books, mixed_loaded
):
    frame, fast, _ = mixed_books
    # calamine reads control characters back from their "_xHHHH_" escapes but leaves the
    # escape of a non-character as it is, in xlsxwriter's own workbooks too
    expected = frame_rows(frame.replace("non-character \ufffe", "non-character _xFFFE_"))
    book = python_calamine.CalamineWorkbook.from_path(str(fast))
    calamine = book.get_sheet_by_name("Screening").to_python()[HEADER_ROW:]
    assert calamine[0] == list(frame.columns)
    assert normal_rows(calamine[1:]) == expected
    assert pandas_rows(fast, engine="calamine") == untagged(expected)
    # openpyxl leaves the "_xHHHH_" escapes of control characters as they are (in xlsxwriter's
    # own workbooks too): that column is compared with xlsxwriter's workbook below
    readable = frame_rows(frame.drop(columns="controls"))
    kept = [i for i, name in enumerate(frame.columns) if name != "controls"]
    sheet = mixed_loaded[0]["Screening"]
    by_openpyxl = normal_rows(sheet.iter_rows(min_row=H + 1, values_only=True))
    assert [[row[i] for i in kept] for row in by_openpyxl] == readable
    by_pandas = pandas_rows(fast, engine="openpyxl")
    assert [[row[i] for i in kept] for row in by_pandas] == untagged(readable)


@pytest.mark.parametrize("memory_mode", ["fast"], indirect=True)
def test_fast_and_xlsxwriter_workbooks_have_the_same_cells_and_formats(mixed_books, mixed_loaded):
    frame, fast, plain = mixed_books
    books = list(mixed_loaded)
    sheets = [book["Screening"] for book in books]
    values = [normal_rows(sheet.iter_rows(values_only=True)) for sheet in sheets]
    at = list(frame.columns).index("pd")
    for row in values[1][H:]:  # xlsxwriter keeps 16 digits (%.16G), xlsx_rows all 17
        row[at] = pytest.approx(row[at], rel=1e-15) if row[at] is not None else None
    assert values[0] == values[1]
    formats = [[[c.number_format for c in row] for row in sheet.iter_rows()] for sheet in sheets]
    assert formats[0] == formats[1]
    shapes = {"General", "#,##0", "#,##0.00", "0.0", "0.0%", "0"}  # mixed, amount: #,##0.00
    assert {f for row in formats[0] for f in row} == shapes
    for name in ("Rejected", "Summary"):
        assert rows(books[0][name]) == rows(books[1][name])
    calamine = [
        python_calamine.CalamineWorkbook.from_path(str(p)).get_sheet_by_name("Screening")
        for p in (fast, plain)
    ]
    texts = [[[v for v in row if isinstance(v, str)] for row in c.to_python()] for c in calamine]
    assert texts[0] == texts[1]


@pytest.mark.parametrize("memory_mode", ["fast"], indirect=True)
def test_fast_workbook_is_a_sound_zip_with_the_full_dimension_filter_and_colours(
    mixed_books, mixed_loaded
):
    frame, fast, _ = mixed_books
    with zipfile.ZipFile(fast) as archive:
        assert archive.testzip() is None
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
        assert f'<c r="A{H + 1}"' not in sheet and sheet.count("<row ") == len(frame) + 2
        shared = archive.read("xl/sharedStrings.xml").decode()
        assert "<si><t>pass</t></si>" in shared and "<t>R&amp;D &lt;lab&gt; &amp; co</t>" in shared
        assert '<t xml:space="preserve">  padded  ' in shared + sheet
        assert '<t xml:space="preserve">ideographic space\u3000' in shared + sheet
    last = openpyxl.utils.get_column_letter(len(frame.columns))
    streamed = openpyxl.load_workbook(fast, read_only=True)["Screening"]
    assert streamed.calculate_dimension() == f"A1:{last}{len(frame) + H}"
    screening = mixed_loaded[0]["Screening"]
    assert screening.freeze_panes == f"A{H + 1}"
    assert screening.auto_filter.ref == f"A{H}:{last}{len(frame) + H}"
    ranges = {str(r.sqref) for r in screening.conditional_formatting}
    first, end = (
        screening.cell(H, list(frame.columns).index(g) + 1).column_letter
        for g in (GATES[0], GATES[-1])
    )
    assert f"{first}{H + 1}:{end}{len(frame) + H}" in ranges
    comments = {c.value: c.comment.text for c in screening[H] if c.comment}
    assert comments == TITLES
    assert screening.cell(H + 4, list(frame.columns).index("score") + 1).number_format == "0.0"
    assert screening.cell(H + 4, list(frame.columns).index("pd") + 1).number_format == "0.0%"


def test_a_failure_in_the_fast_rows_leaves_neither_workbook_nor_draft(tmp_path, memory_mode):
    results = make_results(700).astype({"project_name": object})
    results.loc[650, "project_name"] = Unprintable()  # past the rows that size the columns
    with pytest.raises(RuntimeError, match="cannot print"):
        write(tmp_path, results)
    assert list(tmp_path.iterdir()) == []


def test_whitespace_that_needs_preserving_is_pythons():
    spaces = {chr(c) for c in range(0x110000) if chr(c).isspace()}
    assert set(xlsx_rows.WHITESPACE) == spaces
