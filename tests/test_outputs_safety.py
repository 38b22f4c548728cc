"""Outputs a bank can trust: destinations checked before the work starts, the files of one
screening written as a set (a re-run replaces it, Ctrl-C leaves the old one), memo names that
are unique, bounded and stay in their folder, no formula in any workbook or CSV the engine
writes, user text printed literally in PDFs, every PDF font embedded, and inputs named
relative to the command line."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import FULL_PROJECT, ROOT, ctrl_c_heard, write_rows
from openpyxl import load_workbook
from pypdf import PdfReader
from run_assess import run_quietly

from assessment import write_template
from assessment._shared.files import check_destination, csv_safe, file_stem, shown_path
from assessment.cli import main
from assessment.errors import OutputError
from assessment.screening import batch

SAMPLES = ROOT / "sample_projects"
ONE = SAMPLES / "05_zhangjiakou_reit_ready.xlsx"
TWO = SAMPLES / "01_guizhou_guian_hyperscale.xlsx"
DATE = ["--as-of", "2025-06-30"]


# -- destinations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "suffixes", "folder", "message"),
    [
        ("out.csv", (".xlsx",), False, r"must be a \.xlsx file.*got '\.csv'"),
        ("a_folder", (), False, "is a folder"),
        ("a_file.txt", (), True, "is a file"),
        ("a_file.txt/out.xlsx", (".xlsx",), False, "cannot be written under a file"),
        ("inbox/out.xlsx", (".xlsx",), False, "inside the input folder"),
        ("input.xlsx", (".xlsx",), False, "would overwrite the input"),
    ],
)
def test_a_bad_destination_is_refused_with_what_and_hint(tmp_path, name, suffixes, folder, message):
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "inbox").mkdir()
    (tmp_path / "a_file.txt").write_text("x")
    (tmp_path / "input.xlsx").write_text("x")
    with pytest.raises(OutputError, match=message) as caught:
        check_destination(
            tmp_path / name,
            suffixes,
            "--excel workbook",
            folder=folder,
            inputs=[tmp_path / "inbox", tmp_path / "input.xlsx"],
        )
    assert str(tmp_path / name) in str(caught.value) and caught.value.hint


def test_score_refuses_excel_named_csv_before_scoring(tmp_path, capsys):
    target = tmp_path / "out.csv"
    assert main(["score", str(tmp_path / "no-such-input.xlsx"), "--excel", str(target)]) == 1
    err = capsys.readouterr().err
    assert "--excel workbook must be a .xlsx file" in err and "Traceback" not in err
    assert not target.exists()


def test_missing_folders_are_made_and_said_and_files_listed(tmp_path, capsys):
    excel, memo = tmp_path / "new" / "deep" / "out.xlsx", tmp_path / "memos" / "m.pdf"
    args = ["score", str(ONE), *DATE, "--no-model", "--excel", str(excel), "--report", str(memo)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"made folder {tmp_path / 'new'}" in out and f"made folder {excel.parent}" in out
    assert f"wrote {excel}" in out and f"wrote {memo}" in out
    assert excel.is_file() and memo.is_file()


def test_report_into_an_existing_folder_or_trailing_slash_writes_id_pdf(tmp_path, capsys):
    folder = tmp_path / "memos.v2"
    for target in (f"{folder}/", str(tmp_path)):
        assert main(["score", str(ONE), *DATE, "--no-model", "--report", target]) == 0
        written = Path(target) / "DC-2025-005.pdf"
        assert written.is_file() and f"wrote {written}" in capsys.readouterr().out


def test_output_inside_an_input_folder_is_refused_for_screen_and_score(tmp_path, capsys):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(ONE, inbox / ONE.name)
    assert main(["screen", str(inbox), "-o", str(inbox / "out"), *DATE]) == 1
    assert main(["score", str(inbox), "--excel", str(inbox / "s.xlsx"), *DATE]) == 1
    err = capsys.readouterr().err
    assert err.count("inside the input folder") == 2
    assert sorted(p.name for p in inbox.iterdir()) == [ONE.name]


LIMITED_RUNS = """
import os, resource, sys, tempfile
from assessment.cli import main
source, limited, locked = sys.argv[1:]
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))  # as `ulimit -f 4`
code = main(["score", source, "--as-of", "2025-06-30", "--no-model", "--excel", limited])
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
print("exit", code, file=sys.stderr, flush=True)
# the commands import their libraries when they run: load template's now, since "nobody"
# (below) may not be able to read this interpreter's files (a root-only pyenv)
main(["template", "-o", os.path.join(tempfile.mkdtemp(), "warm.xlsx"), "-q"])
child = os.fork()  # the next command in a child, without this process's exit handlers
if child == 0:
    if os.geteuid() == 0:  # root writes anywhere: run the next command as "nobody"
        os.setgid(65534)
        os.setuid(65534)
    code = main(["template", "-o", locked])
    sys.stderr.flush()
    os._exit(code)
sys.exit(os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))
"""


@pytest.mark.slow
def test_a_file_size_limit_or_a_read_only_folder_end_in_one_line_and_no_file():
    """Run in one process (as "nobody" for the read-only folder when the suite runs as root:
    root writes anywhere)."""
    base = Path(tempfile.mkdtemp(prefix="assess-limits-"))  # traversable by another user
    try:
        base.chmod(0o755)
        locked = base / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        command = [sys.executable, "-c", LIMITED_RUNS, str(ONE), "out.xlsx"]
        command.append(str(locked / "app.xlsx"))
        done = subprocess.run(
            command, cwd=base, capture_output=True, text=True, timeout=120, check=False
        )
        lines = done.stderr.splitlines()
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert "out.xlsx: cannot write the file; got File too large" in lines[0]
        assert lines[1] == "exit 1" and "the folder is read-only" in lines[2]
        assert sorted(p.name for p in base.iterdir()) == ["locked"]
        assert list(locked.iterdir()) == []
    finally:
        shutil.rmtree(base, ignore_errors=True)


# -- one screening, one set ---------------------------------------------------------------


def _screen_args(inputs: list, out: Path, *extra: str) -> list[str]:
    args = ["screen", *map(str, inputs), "-o", str(out), *DATE, "--jobs", "1", "--no-model"]
    return [*args, *extra]


def _screen(inputs: list, out: Path, *extra: str) -> int:
    return main(_screen_args(inputs, out, *extra))


@pytest.fixture(scope="module")
def screened_pair(tmp_path_factory) -> Path:
    """One screening of two applications with their memos; a test changing it takes a copy."""
    out = tmp_path_factory.mktemp("pair") / "out"
    done = run_quietly(*_screen_args([ONE, TWO], out, "--reports"))
    assert done.returncode == 0, done.stderr
    return out


def test_a_rerun_replaces_the_previous_set_and_keeps_other_files(tmp_path, capsys, screened_pair):
    out = shutil.copytree(screened_pair, tmp_path / "out")
    assert len(list((out / "reports").iterdir())) == 2
    (out / "notes.txt").write_text("mine")
    assert _screen([ONE], out) == 0
    capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == [
        ".assessignore",
        "manifest.json",
        "notes.txt",
        "screening.xlsx",
        "summary.pdf",
    ]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["projects_scored"] == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_ctrl_c_while_writing_leaves_the_old_set_and_no_temporary_folder(
    tmp_path, capsys, monkeypatch, screened_pair
):
    out = shutil.copytree(screened_pair, tmp_path / "out")
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "write_summary_pdf", interrupted)
    assert _screen([ONE], out) == 130
    assert "interrupted" in capsys.readouterr().err
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.slow
def test_sigint_during_a_batch_exits_130_and_leaves_nothing(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for path in sorted(SAMPLES.glob("0*.xlsx"))[:3]:
        shutil.copy(path, inbox / path.name)
    command = [sys.executable, "-m", "assessment", "screen", str(inbox), "-o", "out", *DATE]
    command += ["--reports", "--jobs", "1"]
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=ctrl_c_heard,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(tmp_path.glob(".out.new-*/reports/*.pdf")):
        time.sleep(0.05)  # wait until the first memo is being written
    os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C does: the whole process group
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inbox"]


# -- memo names ---------------------------------------------------------------------------

HOSTILE_IDS = [
    "P/1",
    "P?1",
    "P 1",
    "P:1",
    "P*1",
    "P|1",
    "../escape",
    "/etc/passwd",
    "..",
    ".",
    ".hidden",
    "CON",
    "nul.txt",
    "a\x00b",
    "x" * 400,
    "项目" * 200,
    "",
]


def test_memo_names_are_unique_bounded_and_stay_in_their_folder(tmp_path):
    stems = [file_stem(i) for i in HOSTILE_IDS]
    assert len(set(stems)) == len(stems)
    for stem in stems:
        path = (tmp_path / f"{stem}.pdf").resolve()
        assert path.parent == tmp_path.resolve()
        assert len(path.name.encode()) <= 120 and "\x00" not in stem
        assert not stem.startswith(".") and stem.upper() not in ("CON", "NUL", "NUL.TXT")
        path.write_bytes(b"")  # the file system takes it
    assert file_stem("DC-2025-001") == "DC-2025-001"  # plain ids keep their name


def test_screen_reports_of_colliding_and_long_ids_each_get_their_memo(tmp_path, capsys):
    ids = ["P/1", "P?1", "P 1", "P:1", "P*1", "P|1", "L" * 300]
    rows = [["project_id", "project_name", "pue", "total_investment_cny"]]
    rows += [[i, f"Project {n}", 1.3, 1e9] for n, i in enumerate(ids)]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_rows(inbox / "list.xlsx", rows)
    out = tmp_path / "out"
    assert _screen([inbox], out, "--reports") == 0
    capsys.readouterr()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["reports"]) == set(ids)
    files = set(manifest["reports"].values())
    assert len(files) == len(ids)
    assert {f"reports/{p.name}" for p in (out / "reports").iterdir()} == files


# -- formula injection --------------------------------------------------------------------

FORMULAS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", '=HYPERLINK("http://x")']


def _no_formulas(path: Path) -> list[str]:
    """Every cell of every sheet: none is a formula."""
    found = []
    for sheet in load_workbook(path).worksheets:
        for row in sheet.iter_rows():
            found += [f"{sheet.title}!{c.coordinate}" for c in row if c.data_type == "f"]
    return found


def test_score_workbook_keeps_formula_like_names_as_text(tmp_path, capsys):
    values = {**FULL_PROJECT, "project_name": "=1+1", "sponsor": "@cmd"}
    source = write_template(tmp_path / "app.xlsx", "en", values=values)
    target = tmp_path / "out.xlsx"
    assert main(["score", str(source), *DATE, "--excel", str(target)]) == 0
    capsys.readouterr()
    assert _no_formulas(target) == []
    cells = [c.value for row in load_workbook(target)["Inputs"].iter_rows() for c in row]
    assert "=1+1" in cells


def test_predict_writes_no_formula_in_xlsx_or_csv(tmp_path, capsys):
    history = pd.read_parquet(SAMPLES / "history" / "loan_history.parquet").head(len(FORMULAS))
    id_column = next(c for c in history.columns if c.endswith("_id"))
    history[id_column] = FORMULAS
    data = tmp_path / "data.csv"
    history.to_csv(data, index=False)
    model = str(ROOT / "rules" / "model" / "default_model.skops")
    for name in ("x.xlsx", "x.csv"):
        assert main(["predict", model, str(data), "-o", str(tmp_path / name)]) == 0
    capsys.readouterr()
    assert _no_formulas(tmp_path / "x.xlsx") == []
    sheet = load_workbook(tmp_path / "x.xlsx").active
    assert [c.value for c in sheet["A"][1:]] == FORMULAS
    with open(tmp_path / "x.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    column = rows[0].index(id_column)
    assert [r[column] for r in rows[1:]] == ["'" + f for f in FORMULAS]


def test_csv_safe_neutralises_text_and_headers_but_not_numbers():
    frame = pd.DataFrame({"=name": ["=1+1", "ok", None], "n": [-1.5, 2.0, 3.0]})
    safe = csv_safe(frame)
    assert list(safe.columns) == ["'=name", "n"]
    assert safe.iloc[:, 0].tolist()[:2] == ["'=1+1", "ok"] and safe["n"].tolist()[0] == -1.5


def test_screen_and_monitor_workbooks_hold_no_formula(tmp_path, capsys):
    rows = [["project_id", "project_name", "pue", "total_investment_cny"]]
    rows += [[f, f, 1.3, 1e9] for f in FORMULAS]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_rows(inbox / "list.xlsx", rows)
    out = tmp_path / "out"
    assert _screen([inbox], out) in (0, 2)  # some ids may be refused: Rejected sheet
    assert _no_formulas(out / "screening.xlsx") == []
    texts = {
        c.value for sheet in load_workbook(out / "screening.xlsx") for row in sheet for c in row
    }
    assert "+SUM(A1)" in texts and "@cmd" in texts
    book = tmp_path / "monitor.xlsx"
    assert main(["monitor", str(out), str(out), "-o", str(book)]) == 0
    capsys.readouterr()
    assert _no_formulas(book) == []


# -- inputs named relative to the command line --------------------------------------------


def test_outputs_name_inputs_relative_to_the_arguments_with_their_hash(tmp_path, capsys):
    inbox = tmp_path / "inbox"
    (inbox / "2025").mkdir(parents=True)
    shutil.copy(ONE, inbox / "2025" / ONE.name)
    out = tmp_path / "out"
    assert _screen([inbox.resolve(), TWO.resolve()], out) == 0
    capsys.readouterr()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    paths = sorted(i["path"] for i in manifest["inputs"])
    assert paths == [TWO.name, f"inbox/2025/{ONE.name}"]
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    shown = {c.value for row in load_workbook(out / "screening.xlsx").worksheets[0] for c in row}
    assert str(tmp_path) not in " ".join(str(v) for v in shown)
    assert shown_path(inbox / "2025" / ONE.name, [inbox]) == f"inbox/2025/{ONE.name}"


# -- PDFs: user text printed literally, huge names, every font embedded -------------------

MARKUP = '<font color="red">X</font> & <b>bold</b> <br/> &amp; <para>'
HUGE = "Very long name " * 3000  # 45,000 characters


@pytest.fixture(scope="module")
def pdf_run(tmp_path_factory):
    """One screening (memos in English and Chinese, summary), a monitor, a rules diff, a
    backtest and a sweep PDF, from projects whose names are markup and huge."""
    base = tmp_path_factory.mktemp("pdfs")
    rows = [["project_id", "project_name", "pue", "total_investment_cny"]]
    rows += [["M-1", MARKUP, 1.3, 1e9], ["H-1", HUGE, 1.3, 1e9]]
    (base / "inbox").mkdir()
    write_rows(base / "inbox" / "list.xlsx", rows)
    history = pd.read_parquet(SAMPLES / "history" / "loan_history.parquet").head(300)
    history.to_csv(base / "history.csv", index=False)
    rules = str(ROOT / "rules")
    runs = [
        ["screen", "inbox", "-o", "out", *DATE, "--jobs", "1", "--reports", "--no-model"],
        ["score", "inbox", *DATE, "--no-model", "--report", "zh/", "--lang", "zh"],
        ["monitor", "out", "out", "-o", "monitor.pdf"],
        ["rules", "diff", rules, rules, "-o", "diff.pdf"],
        ["backtest", "history.csv", "--target", "defaulted", "--no-model", "-o", "bt.pdf"],
        ["sweep", "CMP-GB40879-LIMIT", "--from", "1.2", "--to", "1.5", "--steps", "2"]
        + ["--portfolio", "inbox", *DATE, "-o", "sweep/pue"],
    ]
    here = Path.cwd()
    os.chdir(base)
    try:
        codes = [main(run) for run in runs]
    finally:
        os.chdir(here)
    assert codes == [0] * len(runs)
    return base


def _text(path: Path) -> str:
    return "".join(page.extract_text() for page in PdfReader(path).pages)


def _fonts(path: Path) -> dict[str, bool]:
    """Every font resource of every page and form: whether its file is embedded."""
    found: dict[str, bool] = {}

    def walk(resources) -> None:
        resources = resources.get_object() if resources is not None else {}
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            parts = [font, *(d.get_object() for d in font.get("/DescendantFonts", []))]
            descriptors = [
                p["/FontDescriptor"].get_object() for p in parts if "/FontDescriptor" in p
            ]
            embedded = any(k in d for d in descriptors for k in EMBEDDED)
            found[str(font.get("/BaseFont"))] = embedded
        for form in (resources.get("/XObject") or {}).values():
            walk(form.get_object().get("/Resources"))

    for page in PdfReader(path).pages:
        walk(page.get("/Resources"))
    return found


EMBEDDED = ("/FontFile", "/FontFile2", "/FontFile3")


def test_every_font_of_every_pdf_is_embedded(pdf_run):
    pdfs = sorted(pdf_run.rglob("*.pdf"))
    names = {p.relative_to(pdf_run).as_posix() for p in pdfs}
    expected = {"out/summary.pdf", "monitor.pdf", "diff.pdf", "bt.pdf", "sweep/pue.pdf"}
    assert (
        expected <= names and len([n for n in names if n.startswith(("out/reports/", "zh/"))]) == 4
    )
    for pdf in pdfs:
        fonts = _fonts(pdf)
        assert fonts and all(fonts.values()), f"{pdf.name}: {fonts}"


def test_pdfs_print_markup_in_names_literally(pdf_run):
    manifest = json.loads((pdf_run / "out" / "manifest.json").read_text(encoding="utf-8"))
    for memo in (pdf_run / "out" / manifest["reports"]["M-1"], pdf_run / "zh" / "M-1.pdf"):
        assert MARKUP in _text(memo).replace("\n", " "), memo


def test_a_huge_name_is_clipped_in_table_cells_and_the_pdfs_lay_out(pdf_run):
    summary = _text(pdf_run / "out" / "summary.pdf")
    assert MARKUP in summary.replace("\n", " ")  # the top-candidates table, literally
    assert "Very long name" in summary and "..." in summary and len(summary) < 20_000
    memo = _text(pdf_run / "out" / "reports" / "H-1.pdf")
    assert "Very long name Very long name" in memo and "..." in memo
    assert len(PdfReader(pdf_run / "out" / "reports" / "H-1.pdf").pages) < 40


def test_control_characters_in_a_name_do_not_break_the_workbook_or_memo(tmp_path, capsys):
    name = "bell\x07 escape\x1b[31m rtl\u202eabc"
    source = tmp_path / "list.csv"
    source.write_text(
        f'project_id,project_name,pue,total_investment_cny\nC-1,"{name}",1.3,1e9\n',
        encoding="utf-8",
    )
    excel, memo = tmp_path / "s.xlsx", tmp_path / "m.pdf"
    args = ["score", str(source), *DATE, "--no-model", "--excel", str(excel), "--report", str(memo)]
    assert main(args) == 0
    capsys.readouterr()
    inputs = load_workbook(excel)["Inputs"]
    names = [row[1] for row in inputs.iter_rows(min_row=1, values_only=True)]
    assert "bell\ufffd escape\ufffd[31m rtl\u202eabc" in names
    assert "escape" in _text(memo)


def test_ctrl_c_during_score_memos_leaves_none(tmp_path, capsys, monkeypatch):
    from assessment.reports.memo import write as report

    built = []
    real = report._build

    def second_interrupted(run, record, path, trail=None):
        built.append(record["project_id"])
        if len(built) == 2:
            raise KeyboardInterrupt
        real(run, record, path, trail)

    monkeypatch.setattr(report, "_build", second_interrupted)
    memos = tmp_path / "memos"
    args = ["score", str(ONE), str(TWO), *DATE, "--no-model", "--report", f"{memos}/"]
    assert main(args) == 130
    assert "interrupted" in capsys.readouterr().err
    assert len(built) == 2 and sorted(p.name for p in tmp_path.iterdir()) == []
