"""A file that cannot be read becomes one problem row naming it; the other files still load."""

from __future__ import annotations

import io
import zipfile

import pytest
from helpers import AS_OF, FULL_PROJECT, write_rows
from msoffcrypto.format.ooxml import OOXMLFile

from assessment import read_applications, write_template
from assessment.cli import main
from assessment.screening.batch import screen_inputs
from assessment.screening.records import Settings


def _encrypted(source, target):
    out = io.BytesIO()
    with open(source, "rb") as handle:
        OOXMLFile(handle).encrypt("secret", out)
    target.write_bytes(out.getvalue())


def _bad_files(folder):
    good = write_template(folder / "good.xlsx", "en", values=FULL_PROJECT)
    (folder / "empty.xlsx").write_bytes(b"")
    (folder / "blank.csv").write_text("  \n\n")
    (folder / "report.xlsx").write_bytes(b"%PDF-1.4\n%binary junk")
    (folder / "truncated.xlsx").write_bytes(good.read_bytes()[:2000])
    with zipfile.ZipFile(folder / "foreign.ods", "w") as archive:
        archive.writestr("hello.txt", "a zip that is no workbook")
    _encrypted(good, folder / "locked.xlsx")
    write_rows(folder / "unrelated.xlsx", [["colour", "size"], ["red", 3]])
    (folder / "undecodable.csv").write_bytes(b"project_id,city\nX-1,Z\x81rich \x8d\n")
    return good


EXPECTED = {
    "empty.xlsx": "the file is empty",
    "blank.csv": "the file is empty",
    "report.xlsx": "not a spreadsheet",
    "truncated.xlsx": "the workbook is corrupt or unreadable",
    "foreign.ods": "the workbook is corrupt or unreadable",
    "locked.xlsx": "the workbook is password-protected",
    "unrelated.xlsx": "no application or candidate list found",
}


def test_every_bad_file_is_named_and_the_good_one_still_loads(tmp_path):
    _bad_files(tmp_path)
    projects, _, problems = read_applications([tmp_path], as_of=AS_OF)
    assert list(projects.index) == ["T-001"]
    errors = problems[problems["severity"] == "error"]
    by_file = {
        path.rsplit("/", 1)[-1]: message
        for path, message in zip(errors["file"], errors["message"], strict=True)
    }
    for name, message in EXPECTED.items():
        assert by_file[name] == message, name
    assert (errors.set_index("file").loc[str(tmp_path / "locked.xlsx"), "hint"]).startswith(
        "remove the password"
    )


def test_text_that_is_neither_utf8_gbk_nor_cp1252_is_reported(tmp_path):
    _bad_files(tmp_path)
    projects, _, problems = read_applications([tmp_path / "undecodable.csv"], as_of=AS_OF)
    assert projects.empty and problems["message"].tolist() == ["unknown text encoding"]


@pytest.mark.parametrize("rows", [16_000, 2])  # read whole, and as a list in parts
def test_a_utf16_csv_is_refused_for_its_encoding_not_read_as_letters_between_nuls(tmp_path, rows):
    """Windows-1252 decodes every byte, so UTF-16 was read as letters and NULs: no header
    found, and with the encoding warning taken for the file's report, nothing said at all
    (the file was neither scored nor rejected)."""
    path = tmp_path / "unicode.csv"
    path.write_text("project_id,city\nX-1,Zurich\nX-2,Basel\n", encoding="utf-16")
    found = screen_inputs([str(path)], Settings(as_of=AS_OF), jobs=1, rows_per_chunk=rows)
    assert found.results.empty and list(found.rejected["reasons"]) == [
        "unknown text encoding (expected UTF-8, GBK or Windows-1252 text, "
        "got UTF-16 text (a UTF-16 byte order mark))"
    ]


def test_a_file_with_a_warning_and_no_project_is_reported_not_lost(tmp_path):
    path = tmp_path / "menu.csv"
    path.write_bytes(b"caf\xe9,cr\xe8me\n1,2\n3,4\n")  # Windows-1252, guessed: a warning
    projects, _, problems = read_applications([path], as_of=AS_OF)
    errors = problems[problems["severity"] == "error"]
    assert projects.empty and errors["message"].tolist() == [
        "no application or candidate list found"
    ]
    assert problems[problems["severity"] == "warning"]["message"].tolist() == [
        "the text encoding was guessed"
    ]


@pytest.mark.parametrize("name", ["missing.xlsx", "notes.txt"])
def test_explicit_paths_that_are_not_spreadsheets(tmp_path, name):
    if name == "notes.txt":
        (tmp_path / name).write_text("hello")
    _, _, problems = read_applications([tmp_path / name], as_of=AS_OF)
    assert len(problems) == 1 and problems.loc[0, "severity"] == "error"
    assert problems.loc[0, "message"] in (
        "no such file or folder",
        "not a supported spreadsheet type",
    )


def test_check_exits_two_and_prints_one_line_per_problem(tmp_path, capsys):
    _bad_files(tmp_path)
    assert main(["check", str(tmp_path), "--as-of", "2025-06-30"]) == 2  # the good one is read
    lines = capsys.readouterr().out.splitlines()
    locked = [line for line in lines if "locked.xlsx" in line]
    assert len(locked) == 1 and "[error]" in locked[0] and "password-protected" in locked[0]
