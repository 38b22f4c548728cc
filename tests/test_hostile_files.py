"""Hostile and odd input files (the corpus of ``tests/corpus/make_corpus.py``): each ends scored
or rejected with its reason, through the reader and through the screening, quickly, in
bounded memory and without killing the process; the limits are named and configurable."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from helpers import AS_OF, ROOT

from assessment.errors import AssessmentError, InputError
from assessment.intake.chunks import plan_chunks
from assessment.intake.limits import Limits
from assessment.intake.read import read_applications
from assessment.intake.workbooks import encoding_of, read_sheets
from assessment.screening.batch import screen_inputs
from assessment.screening.records import Settings

sys.path.insert(0, str(ROOT / "tests" / "corpus"))
from make_corpus import (  # noqa: E402
    FIELDS,
    GIB,
    _far_cell,
    bomb,
    project,
    rewrite_sheet,
    write_csv,
    write_list,
)

LOW_ROWS = "500000"  # the million-row list is past it; the test stays fast


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from make_corpus import make_corpus

    folder = tmp_path_factory.mktemp("corpus")
    return folder, make_corpus(folder)


def _by_name(problems):
    errors = problems[problems["severity"] == "error"]
    found: dict[str, list[str]] = {}
    for file, message in zip(errors["file"], errors["message"], strict=True):
        found.setdefault(Path(file).name, []).append(message)
    return found


def test_every_corpus_file_is_scored_or_rejected_with_its_reason(corpus, monkeypatch):
    folder, expected = corpus
    monkeypatch.setenv("ASSESS_MAX_ROWS", LOW_ROWS)
    started = time.monotonic()
    projects, _, problems = read_applications([folder], as_of=AS_OF)
    assert time.monotonic() - started < 10
    errors = _by_name(problems)
    sources = projects["source_file"].map(lambda f: Path(f).name)
    for name, (outcome, detail) in expected.items():
        if outcome == "scored":
            assert sorted(projects.index[sources == name]) == sorted(detail), name
        else:
            assert any(detail in message for message in errors.get(name, [])), (name, errors)
    assert len(expected) >= 26


def test_the_screening_accounts_for_every_corpus_file(corpus, monkeypatch):
    folder, expected = corpus
    monkeypatch.setenv("ASSESS_MAX_ROWS", LOW_ROWS)
    screening = screen_inputs([folder], Settings(as_of=AS_OF), jobs=1)
    scored = screening.results.assign(name=screening.results["source_file"].map(_name))
    rejected = screening.rejected.assign(name=screening.rejected["file"].map(_name))
    for name, (outcome, detail) in expected.items():
        if outcome == "scored":
            ids = scored.loc[scored["name"] == name, "project_id"]
            assert sorted(ids) == sorted(detail), name
        else:
            reasons = " | ".join(rejected.loc[rejected["name"] == name, "reasons"])
            assert detail in reasons, (name, reasons)
    repeated = rejected[rejected["reasons"].str.contains("duplicate project_id")]
    assert sorted(repeated["name"]) == ["dup_1_within.csv", "dup_2_across.csv"]


def _name(path: object) -> str:
    return Path(str(path)).name


def test_noted_cells_are_reported_as_what_they_are(corpus):
    folder, _ = corpus
    _, _, problems = read_applications([folder / "formulas.xlsx"], as_of=AS_OF)
    by_cell = {cell: rows for cell, rows in problems.groupby("cell")}
    assert by_cell["P2"]["message"].tolist() == ["formula error #DIV/0!"]
    assert by_cell["O2"]["message"].tolist() == ["formula without a cached value"]
    assert "open and save the file in Excel" in by_cell["O2"]["hint"].iloc[0]
    assert by_cell["Q2"]["message"].tolist() == ["the cached value of an external link is used"]
    assert not problems["message"].eq("missing").loc[problems["cell"].isin(["O2", "P2"])].any()


def test_an_external_link_value_is_used_with_a_warning(corpus):
    folder, _ = corpus
    projects, _, problems = read_applications([folder / "external_link.xlsx"], as_of=AS_OF)
    assert projects.loc["LINK-1", "wue_l_per_kwh"] == pytest.approx(1.1)
    link = problems[problems["message"].str.startswith("the cached value of an external")]
    assert link["severity"].tolist() == ["warning"] and link["value"].tolist() == ["=[1]Sheet1!A1"]


def test_a_noted_required_value_keeps_the_error_of_the_missing_value(tmp_path):
    source = write_list(tmp_path / "list.xlsx", [project("REQ-1")])
    target = tmp_path / "required.xlsx"

    def broken_id_column(xml: bytes) -> bytes:  # project_name (column B) as an Excel error
        return xml.replace(
            b'<c r="B2" t="inlineStr"><is><t>Gui\'an hydro DC</t></is></c>',
            b'<c r="B2" t="e"><v>#REF!</v></c>',
        )

    rewrite_sheet(source, target, broken_id_column)
    _, _, problems = read_applications([target], as_of=AS_OF)
    noted = problems[problems["cell"] == "B2"]
    assert noted["message"].tolist() == ["formula error #REF!"]


@pytest.mark.slow
def test_a_cell_at_the_far_corner_aborts_calamine_but_not_the_reader(tmp_path):
    good = write_list(tmp_path / "good.xlsx", [project("FAR-1")])
    far = rewrite_sheet(good, tmp_path / "far.xlsx", _far_cell)
    raw = (
        "from python_calamine import CalamineWorkbook as B; import sys\n"
        "b = B.from_path(sys.argv[1]); b.get_sheet_by_name(b.sheet_names[0]).to_python()"
    )
    crash = subprocess.run([sys.executable, "-c", raw, str(far)], capture_output=True, timeout=60)
    assert crash.returncode != 0  # SIGABRT (-6): what a batch would have died of
    with pytest.raises(InputError, match="columns limit") as error:
        read_sheets(far)
    assert "XFD" not in error.value.got and "16,384 columns" in error.value.got


def test_a_zip_bomb_is_refused_quickly_in_bounded_memory(tmp_path):
    good = write_list(tmp_path / "good.xlsx", [project("B-1")])
    path = bomb(good, tmp_path / "bomb.xlsx", GIB + (1 << 20))
    assert path.stat().st_size < 2 << 20
    tracemalloc.start()
    started = time.monotonic()
    with pytest.raises(InputError, match="unzipped bytes limit"):
        read_sheets(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.monotonic() - started < 1 and peak < 32 << 20


def test_a_part_inflating_past_its_declared_size_is_refused(tmp_path):
    good = write_list(tmp_path / "good.xlsx", [project("B-1")])
    sheet = "xl/worksheets/sheet9.xml"  # a part that is read (a sheet)
    data = bytearray(bomb(good, tmp_path / "bomb.xlsx", 8 << 20, sheet).read_bytes())
    declared = (8 << 20).to_bytes(4, "little")
    data = data.replace(declared, (1000).to_bytes(4, "little"))  # local and central headers lie
    (tmp_path / "liar.xlsx").write_bytes(bytes(data))
    with pytest.raises(InputError, match="corrupt"):
        read_sheets(tmp_path / "liar.xlsx")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/stdin"])
def test_devices_are_refused_without_reading(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    _, _, problems = read_applications([device], as_of=AS_OF)
    assert problems["message"].tolist() in (["not a regular file"], ["cannot open the file"])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_refused_named_or_inside_a_folder(tmp_path):
    os.mkfifo(tmp_path / "pipe.xlsx")
    for given in (tmp_path / "pipe.xlsx", tmp_path):
        _, _, problems = read_applications([given], as_of=AS_OF)
        assert problems["message"].tolist() == ["not a regular file"]
        assert problems["value"].tolist() == ["a FIFO (named pipe)"]
    os.mkfifo(tmp_path / "list.csv")
    assert plan_chunks([tmp_path], rows_per_chunk=1)[0]  # planned whole, never opened


def test_limits_come_from_the_environment_and_bad_values_are_refused():
    assert Limits.from_env({}) == Limits()
    found = Limits.from_env({"ASSESS_MAX_ROWS": "1_000", "ASSESS_MAX_SECONDS": "2.5"})
    assert found.rows == 1000 and found.seconds == 2.5
    for bad in ("0", "-3", "many", "nan", "inf"):
        with pytest.raises(AssessmentError, match="ASSESS_MAX_COLUMNS must be a positive"):
            Limits.from_env({"ASSESS_MAX_COLUMNS": bad})


@pytest.mark.parametrize(
    ("limit", "value"),
    [
        ("rows", 3),
        ("columns", 5),
        ("cells", 20),
        ("cell_chars", 10),
        ("file_bytes", 100),
        ("seconds", 1e-9),
    ],
)
def test_each_limit_is_named_with_its_variable(tmp_path, limit, value):
    path = write_list(tmp_path / "list.xlsx", [project(f"L-{i}") for i in range(5)])
    with pytest.raises(InputError) as error:
        read_sheets(path, Limits(**{limit: value}))
    found = error.value
    assert f"past the {limit.replace('_', ' ')} limit" in found.what
    assert f"ASSESS_MAX_{limit.upper()}" in found.expected and found.got and found.hint


@pytest.mark.parametrize("limit", ["rows", "columns", "cell_chars"])
def test_csv_limits(tmp_path, limit):
    path = write_csv(tmp_path / "list.csv", [project(f"C-{i}") for i in range(40)])
    with pytest.raises(InputError, match=f"past the {limit.replace('_', ' ')} limit"):
        read_sheets(path, Limits(**{limit: 10}))


def test_a_cp1252_list_is_read_right_with_a_warning_and_gbk_without(tmp_path):
    write_csv(
        tmp_path / "west.csv", [project("W-1", city="Zürich", sponsor="Crédit Agricole")], "cp1252"
    )
    write_csv(
        tmp_path / "china.csv", [project("G-1", city="贵安新区", sponsor="贵州数据中心")], "gbk"
    )
    projects, _, problems = read_applications([tmp_path], as_of=AS_OF)
    assert projects.loc["W-1", "city"] == "Zürich"
    assert projects.loc["G-1", "city"] == "贵安新区"
    guessed = problems[problems["message"] == "the text encoding was guessed"]
    assert [Path(f).name for f in guessed["file"]] == ["west.csv"]
    assert guessed["value"].tolist() == ["Windows-1252 (Western European)"]


def test_the_encoding_guess_in_blocks_matches_the_whole():
    text = ("Zürich, Genève, São Paulo; " * 500).encode("cp1252")
    whole = encoding_of([text])
    assert whole[0] == "cp1252" and encoding_of([text[:999], text[999:]]) == whole
    assert encoding_of(["数据中心，贵安".encode("gbk") * 300]) == ("gb18030", None)
    assert encoding_of([b"\x81 \x8d"]) == (None, None)


def test_a_line_break_in_an_unquoted_cell_is_a_malformed_csv(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b"project_id,project_name\r\nX-1,first\rsecond\r\n")
    with pytest.raises(InputError, match="the CSV file is malformed") as error:
        read_sheets(path)
    assert "double quotes" in error.value.expected


@pytest.mark.parametrize("bad_first", [False, True])
def test_a_failing_row_stays_with_its_file(tmp_path, bad_first):
    good, bad = ("b.csv", "a.csv") if bad_first else ("a.csv", "b.csv")
    write_csv(tmp_path / good, [project("P-1")])
    write_csv(tmp_path / bad, [project("P-1", pue="abc")])
    screening = screen_inputs([tmp_path], Settings(as_of=AS_OF), jobs=1)
    rejected = screening.rejected.assign(name=screening.rejected["file"].map(_name))
    reasons = dict(zip(rejected["name"], rejected["reasons"], strict=True))
    assert len(rejected) == 2 - len(screening.results) and "pue" in reasons[bad]
    if bad_first:  # the first row of an id is kept: rejected for its own value
        assert "duplicate" in reasons[good] and "pue" not in reasons[good]
    else:
        assert screening.results["source_file"].map(_name).tolist() == [good]


def test_the_fuzz_harness_runs_without_atheris(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "bench"))
    import fuzz_readers

    monkeypatch.chdir(tmp_path)
    for name, value in fuzz_readers.LIMITS.items():
        monkeypatch.setenv(name, value)
    assert fuzz_readers.plain(12, 3) == 0
    assert fuzz_readers.build_input(b"\x02\x05\x00<x>", fuzz_readers.seeds(tmp_path))[0] == ".xlsx"


def test_a_record_cut_by_a_line_break_in_an_unquoted_cell_is_refused(tmp_path):
    rows = [project("CUT-1"), project("CUT-2")]
    path = write_csv(tmp_path / "cut.csv", rows)
    path.write_text(path.read_text().replace("Gui'an hydro DC", "Gui'an\nhydro DC", 1))
    with pytest.raises(InputError, match="a line break inside an unquoted cell") as error:
        read_sheets(path)
    assert error.value.where.endswith("records 2 and 3")
    _, _, problems = read_applications([path], as_of=AS_OF)
    assert problems["message"].tolist() == ["a line break inside an unquoted cell"]


def test_a_part_of_a_big_list_past_a_limit_is_refused_not_lost(tmp_path, monkeypatch):
    rows = [project(f"PART-{i:03d}") for i in range(30)]
    rows[25][FIELDS.index("project_name")] = "x" * 500  # in the second part
    write_csv(tmp_path / "big.csv", rows)
    monkeypatch.setenv("ASSESS_MAX_CELL_CHARS", "400")
    screening = screen_inputs([tmp_path], Settings(as_of=AS_OF), jobs=1, rows_per_chunk=20)
    assert len(screening.results) == 20  # the first part
    assert screening.rejected["reasons"].str.contains("cell chars limit").tolist() == [True]


def test_a_panic_inside_the_reader_is_one_problem_and_prints_nothing(tmp_path, capfd, monkeypatch):
    """A date cell of -1e30 makes calamine panic (a Rust backtrace on stderr with
    RUST_BACKTRACE set): the file is one problem row and nothing reaches the terminal."""
    import openpyxl

    monkeypatch.setenv("RUST_BACKTRACE", "1")
    book = openpyxl.Workbook()
    book.active.append(["project_id", "operating_since"])
    book.active.append(["P-1", -1e30])
    book.active["B2"].number_format = "yyyy-mm-dd"
    book.save(tmp_path / "panic.xlsx")
    _, _, problems = read_applications([tmp_path / "panic.xlsx"], as_of=AS_OF)
    assert problems["message"].tolist() == ["the workbook is corrupt or unreadable"]
    assert "PanicException" in problems["value"].iloc[0]
    captured = capfd.readouterr()
    assert "panicked" not in captured.err and "backtrace" not in captured.err.lower()
