"""Issue 19: the decision made with array operations gives every output exactly as before.

The golden file ``tests/golden/issue19_outputs.json.xz`` holds what the engine of the revision
commit ``4e70352`` (the last commit before the speed work) wrote for the sample inputs: the
screening of every sample workbook and candidate list (every sheet and cell of
``screening.xlsx``, ``manifest.json``, the text of ``summary.pdf``) in English and in Chinese,
and ``assess score --format json`` of every sample project with its workbook and the text of
its PDF memos, in both languages. Each test runs today's engine the same way and compares.

The golden file was made once, by running that revision's engine in processes of its own
(``bench/baseline.py``: the revision's files from ``git archive``, on ``PYTHONPATH``)::

    python tests/test_same_outputs_issue19.py --write-golden 4e70352

or ``python bench/make_issue19_golden.py outputs`` (the script that writes each of issue 19's
golden files). Rewrite it only from that revision: it is the "before" the new code must equal.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import lzma
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pypdf
import pytest
from helpers import AS_OF, ROOT

from assessment.decision.decide import decide
from assessment.pipeline import score_applications
from assessment.reports.text import score_json
from assessment.screening.batch import screen_inputs
from assessment.screening.records import Settings

GOLDEN = ROOT / "tests" / "golden" / "issue19_outputs.json.xz"
PDF_DIGESTS = ROOT / "tests" / "golden" / "issue19" / "outputs_pdf_sha256.json"
SAMPLES = Path("sample_projects")  # relative: the outputs name their inputs so
WORKBOOKS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / SAMPLES).glob("*.xlsx"))
BROKEN = sorted(str(p.relative_to(ROOT)) for p in (ROOT / SAMPLES / "broken").glob("*.xlsx"))
SCREENED = [*WORKBOOKS, str(SAMPLES / "candidates"), str(SAMPLES / "broken")]
LANGS = ("en", "zh")
RUNS = ("screen", "score", "memos")

Runner = Callable[[list[str]], str]  # assess ARGV in the working folder -> what it printed


def commands(lang: str) -> dict[str, list[str]]:
    """The runs whose outputs are compared, by name (each writes into a folder of its name)."""
    as_of = ["--as-of", AS_OF.isoformat(), "--lang", lang, "-q"]
    projects = [*WORKBOOKS, *BROKEN]
    return {
        "screen": ["screen", *SCREENED, "-o", f"screen_{lang}", "--jobs", "1", *as_of],
        "score": ["score", *projects, "--format", "json", "-o", f"score_{lang}/scores.xlsx"]
        + as_of,
        "memos": ["score", *projects, "-o", f"memos_{lang}/", *as_of],
    }


def outputs(
    run: Runner, lang: str, names: tuple[str, ...] = RUNS, known: dict | None = None
) -> dict:
    """What the runs ``names`` of ``lang`` wrote and printed, as plain JSON-ready values
    (``known``: see :func:`pdf_text`)."""
    found = {}
    for name in names:
        argv = commands(lang)[name]
        folder = Path(f"{name}_{lang}")
        folder.mkdir(exist_ok=True)
        printed = run(argv)
        found[name] = files_of(folder, known or {})
        if name == "score":
            found[name]["stdout"] = json.loads(printed)
    return found


def files_of(folder: Path, known: dict[str, list[str]]) -> dict:
    """Every output file under ``folder`` by its relative path: workbooks cell by cell,
    JSON as read, PDFs as their text."""
    found: dict[str, object] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if path.suffix == ".xlsx":
            found[name] = cells(path)
        elif path.suffix == ".json":
            found[name] = json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".pdf":
            found[name] = pdf_text(path, known)
    return found


def pdf_text(path: Path, known: dict[str, list[str]]) -> list[str]:
    """The text of each page of a PDF. ``known``: the text by the SHA-256 of a PDF's bytes,
    for the PDFs 4e70352 wrote when the golden file was made (``PDF_DIGESTS``): a PDF of those
    very bytes has that text, unread (reading the text of every page took two thirds of these
    tests' time); any other is read."""
    digest = _sha256(path)
    if digest in known:
        return known[digest]
    return [page.extract_text() for page in pypdf.PdfReader(path).pages]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def known_texts(golden: dict) -> dict[str, list[str]]:
    """The golden file's text of each PDF 4e70352 wrote, by the SHA-256 of its bytes."""
    digests = json.loads(PDF_DIGESTS.read_text(encoding="utf-8"))
    found = {}
    for path, digest in digests.items():
        lang, run, name = path.split("/", 2)
        found[digest] = golden[lang][run][name]
    return found


def cells(path: Path) -> dict[str, list[list[object]]]:
    """Every sheet's rows of cell values (dates as ISO text)."""
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return {
            sheet.title: [[_plain(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            for sheet in book.worksheets
        }
    finally:
        book.close()


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime | dt.time) else value


def differences(golden: object, now: object, where: str = "") -> list[str]:
    """Where ``now`` differs from ``golden``: one line each, the first few hundred."""
    if isinstance(golden, dict) and isinstance(now, dict):
        found = [f"{where}/{k}: only in the golden file" for k in golden if k not in now]
        found += [f"{where}/{k}: not in the golden file" for k in now if k not in golden]
        for key in (k for k in golden if k in now):
            found += differences(golden[key], now[key], f"{where}/{key}")
        return found[:300]
    if isinstance(golden, list) and isinstance(now, list) and len(golden) == len(now):
        found = []
        for i, (old, new) in enumerate(zip(golden, now, strict=True)):
            found += differences(old, new, f"{where}[{i}]")
        return found[:300]
    same = type(golden) is type(now) and (golden == now or _ulps_apart(golden, now))
    return [] if same else [f"{where}: was {golden!r}, now {now!r}"]


def _ulps_apart(golden: object, now: object) -> bool:
    """Two floats a few units in the last place apart (1e-14 relative): numpy's exp and
    power give such differences on CPUs of other instruction sets (the golden file was
    written on another machine; the engine before issue 19 gives the same last bits as
    today's on this one, ``tests/test_same_frames_issue19.py``)."""
    return isinstance(golden, float) and math.isclose(golden, now, rel_tol=1e-14, abs_tol=0)


def load_golden() -> dict:
    return json.loads(lzma.decompress(GOLDEN.read_bytes()).decode("utf-8"))


@contextlib.contextmanager
def working_folder(folder: Path):
    """``folder`` as the working folder, with ``sample_projects`` in it (a link to ours)."""
    (folder / "sample_projects").symlink_to(ROOT / "sample_projects")
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield folder
    finally:
        os.chdir(before)


def in_process(argv: list[str]) -> str:
    """Today's ``assess ARGV`` in this process (no start-up); what it printed on stdout."""
    from run_assess import run_quietly

    ran = run_quietly(*argv)
    assert ran.returncode in (0, 2), ran.stderr  # 2: the broken samples are rejected
    return ran.stdout


@pytest.fixture(scope="module")
def golden() -> dict:
    assert GOLDEN.is_file(), f"{GOLDEN} is missing: see this module's docstring"
    return load_golden()


@pytest.fixture(scope="module")
def known(golden) -> dict[str, list[str]]:
    return known_texts(golden)


def check(golden: dict, found: dict) -> None:
    problems = differences(golden, found)
    assert not problems, "differs from 4e70352:\n" + "\n".join(problems[:40])


@pytest.mark.slow
def test_the_english_screening_is_as_before(golden, known, tmp_path):
    with working_folder(tmp_path):
        found = outputs(in_process, "en", ("screen",), known)
    check(golden["en"]["screen"], found["screen"])


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """The sample projects scored as ``assess score`` scores them (in the library)."""
    with working_folder(tmp_path_factory.mktemp("scored")):
        return score_applications([*WORKBOOKS, *BROKEN], as_of=AS_OF)


def test_the_english_scores_are_as_before(golden, scored):
    found = json.loads(json.dumps(score_json(scored), ensure_ascii=False, default=str))
    check(golden["en"]["score"]["stdout"], found)  # what assess score --format json prints


def test_a_screen_gives_the_principal_reasons_a_full_assessment_gives(scored):
    args = (scored.evaluation, scored.predictions, scored.applications.problems)
    screened = decide(*args, details=False)  # as a screen decides: no details
    full = scored.decisions
    assert screened["reasons"].tolist() == full["reasons"].tolist()
    shared = ["recommendation", "decision_row", "decision_reason", "label_status"]
    pd.testing.assert_frame_equal(screened[shared], full[shared])
    assert "green_label" not in screened  # a screen's rows show label_status only
    reasons = [r for found in full["reasons"] for r in found]
    kinds = {(r["kind"], r.get("verdict")) for r in reasons}
    assert {("rule", v) for v in ("fail", "insufficient", "borderline", "doubted")} <= kinds
    assert ("model", None) in kinds


def test_the_screening_rows_are_as_before(golden, tmp_path):
    """The library's screening (no workbook written) gives the Screening sheet's rows: every
    column of the results that the sheet shows, cell by cell (numbers as the sheet's writer
    keeps them, to 1e-12)."""
    with working_folder(tmp_path):
        results = screen_inputs(SCREENED, Settings(as_of=AS_OF), jobs=1).results
    sheet = golden["en"]["screen"]["screening.xlsx"]["Screening"]
    header, rows = sheet[2], sheet[3:]
    shown = [name for name in header if name in results.columns]
    assert len(shown) == len(header) - 2  # all but the names added for people: province, hub
    expected = [[row[header.index(name)] for name in shown] for row in rows]
    found = [list(map(_cell, row)) for row in results[shown].itertuples(index=False)]
    assert found == expected


def _cell(value: object) -> object:
    """A value as its cell reads back: blank for a missing one, numbers to 1e-12."""
    value = value.item() if isinstance(value, np.generic) else value
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, float) and not value.is_integer():
        return pytest.approx(value, rel=1e-12, abs=0)
    return value


@pytest.mark.slow
def test_the_english_score_workbook_is_as_before(golden, known, tmp_path):
    with working_folder(tmp_path):
        found = outputs(in_process, "en", ("score",), known)
    check(golden["en"]["score"], found["score"])


@pytest.mark.slow
def test_the_english_memos_are_as_before(golden, known, tmp_path):
    with working_folder(tmp_path):
        found = outputs(in_process, "en", ("memos",), known)
    check(golden["en"]["memos"], found["memos"])


@pytest.mark.slow
def test_every_chinese_output_is_as_before(golden, known, tmp_path):
    with working_folder(tmp_path):
        found = outputs(in_process, "zh", known=known)
    check(golden["zh"], found)


def test_a_difference_is_found_and_named():
    golden = {"screen": {"screening.xlsx": {"Screening": [["a", 1.5, None]]}}}
    changed = {"screen": {"screening.xlsx": {"Screening": [["a", 1.25, None]]}}}
    assert differences(golden, golden) == []
    assert differences(golden, changed) == [
        "/screen/screening.xlsx/Screening[0][1]: was 1.5, now 1.25"
    ]
    assert differences({"x": 1}, {"x": 1.0}) == ["/x: was 1, now 1.0"]  # a type is a difference


# ---- making the golden file from another revision (see the module's docstring) -----------


def revision_runner(revision: str) -> Runner:
    """``python -m assessment ARGV`` with ``revision``'s engine, in the working folder."""
    sys.path.insert(0, str(ROOT / "bench"))
    from baseline import environment

    env = environment(revision)

    def run(argv: list[str]) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "assessment", *argv], capture_output=True, text=True, env=env
        )
        if done.returncode not in (0, 2):
            raise SystemExit(f"assess {' '.join(argv)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    return run


def write_golden(revision: str) -> None:
    import tempfile

    run = revision_runner(revision)
    with tempfile.TemporaryDirectory() as folder, working_folder(Path(folder)):
        found = {lang: outputs(run, lang) for lang in LANGS}
        digests = {
            f"{lang}/{name}/{path.relative_to(f'{name}_{lang}').as_posix()}": _sha256(path)
            for lang in LANGS
            for name in RUNS
            for path in sorted(Path(f"{name}_{lang}").rglob("*.pdf"))
        }
    text = json.dumps(found, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    GOLDEN.write_bytes(lzma.compress(text.encode("utf-8"), preset=9 | lzma.PRESET_EXTREME))
    PDF_DIGESTS.write_text(json.dumps(digests, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN} and {PDF_DIGESTS} from {revision}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "--write-golden":
        raise SystemExit("usage: python tests/test_same_outputs_issue19.py --write-golden REV")
    write_golden(sys.argv[2])
