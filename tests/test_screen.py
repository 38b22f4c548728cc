"""Batch screening: the sample projects give a ranked shortlist and a rejected list, the
manifest accounts for every input, bad inputs are listed and the run goes on, the outputs open
with openpyxl, an interrupted run leaves no half-written workbook, and a real Dask
LocalCluster gives the same results as the local run."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import zipfile

import numpy as np
import pandas as pd
import pytest
from helpers import AS_OF, FULL_PROJECT, ROOT, write_rows
from openpyxl import load_workbook
from pypdf import PdfReader

from assessment import write_template
from assessment.cli import ProgressLine, main
from assessment.decision.decide import RANKING, RECOMMENDATIONS
from assessment.screening.batch import (
    balanced_files_per_chunk,
    screen_inputs,
    write_screening_outputs,
)
from assessment.screening.records import Settings
from assessment.screening.shortlist import HEADER_ROW

SAMPLES = ROOT / "sample_projects"
BROKEN_DIR = SAMPLES / "broken"  # named: sample_projects/.assessignore leaves it out of a walk
MODEL = str(ROOT / "rules" / "model" / "default_model.skops")
BROKEN = {
    "12_broken_pue_and_equity.xlsx",
    "13_broken_future_date_and_share.xlsx",
    "15_broken_missing_name_bad_province.xlsx",
}


@pytest.fixture(scope="module")
def settings():
    return Settings(as_of=AS_OF, model=MODEL)


@pytest.fixture(scope="module")
def screening(settings):
    return screen_inputs([SAMPLES, BROKEN_DIR], settings, jobs=1, rows_per_chunk=80)


def _name(path: str) -> str:
    return str(path).rsplit("/", 1)[-1]


def test_the_shortlist_is_ranked_by_recommendation_then_pd_or_score(screening):
    results = screening.results
    assert list(results["rank"]) == list(range(1, len(results) + 1))
    order = list(RECOMMENDATIONS)  # approve ... refer, incomplete, decline
    ranks = results["recommendation"].map(order.index).to_numpy()
    assert (ranks[:-1] <= ranks[1:]).all(), "a recommendation ranks above a better one"
    assert {"refer", "decline"} <= set(results["recommendation"])  # a decline below every refer
    for _, group in results.groupby("recommendation"):
        loans = group[group["financing_purpose"].ne("reit") & group["pd"].notna()]
        others = group.drop(loans.index)
        assert (np.diff(loans["pd"].to_numpy()) >= 0).all()
        assert (np.diff(others["score"].fillna(-1).to_numpy()) <= 0).all()
        if len(loans) and len(others):
            assert loans.index.max() < others.index.min()
    assert results["project_id"].is_unique
    top = results.iloc[0]
    assert top["recommendation"] == "approve"


def test_the_workbook_and_summary_say_what_the_ranking_is_by(screening, tmp_path):
    out = tmp_path / "shortlist"
    assert main(["screen", str(SAMPLES), "-o", str(out), "--as-of", "2025-06-30"]) == 0
    book = load_workbook(out / "screening.xlsx", read_only=True)
    assert book["Summary"]["A1"].value == RANKING
    summary = " ".join(page.extract_text() for page in PdfReader(out / "summary.pdf").pages)
    assert "Ranked by recommendation" in " ".join(summary.split())


def test_broken_samples_are_rejected_with_their_reasons(screening):
    rejected = screening.rejected
    files = {_name(f) for f in rejected["file"]}
    assert files >= BROKEN
    scored_files = {_name(f) for f in screening.results["source_file"]}
    assert not BROKEN & scored_files
    assert (rejected["reasons"].str.len() > 0).all()


def test_the_manifest_accounts_for_every_input(screening):
    manifest = screening.manifest
    inputs = manifest["inputs"]
    found = sorted(_name(p) for p in SAMPLES.rglob("*") if p.suffix in {".xlsx", ".csv"})
    assert sorted(_name(i["path"]) for i in inputs) == found
    projects = [pid for i in inputs for pid in i["projects"]]
    assert sorted(projects) == sorted(screening.results["project_id"])
    assert manifest["counts"]["projects_scored"] == len(projects)
    assert manifest["counts"]["rejected"] == sum(len(i["rejected"]) for i in inputs)
    assert manifest["counts"]["files"] == len(inputs)
    for entry in inputs:
        assert entry["projects"] or entry["rejected"], entry["path"]
        assert len(entry["sha256"]) == 64
    assert manifest["as_of"] == "2025-06-30" and manifest["model"]


def test_the_cli_writes_the_outputs_and_exits_2_when_some_were_rejected(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["screen", str(SAMPLES), str(BROKEN_DIR), "-o", str(out), "--as-of", "2025-06-30"]
    args += ["--jobs", "1"]
    assert main(args) == 2
    assert "rejected" in capsys.readouterr().out
    written = {p.name for p in out.iterdir()}
    assert written == {"screening.xlsx", "summary.pdf", "manifest.json", ".assessignore"}
    book = load_workbook(out / "screening.xlsx", read_only=False)
    assert book.sheetnames[:3] == ["Screening", "Rejected", "Summary"]
    sheet = book["Screening"]
    assert sheet.freeze_panes == f"A{HEADER_ROW + 2}" and sheet.auto_filter.ref
    header = [cell.value for cell in sheet[HEADER_ROW + 1]]  # under the heading line
    assert header[:3] == ["rank", "project_id", "project_name"]
    assert "REIT-OPERATING-3Y-1014" in header  # a gate rule column
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["rejected"] == book["Rejected"].max_row - 1
    mask = os.umask(0)
    os.umask(mask)
    for path in out.iterdir():  # written through a private temporary file, then opened up
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask, path.name


def test_a_clean_batch_exits_0_and_writes_one_memo_per_project(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("05_zhangjiakou_reit_ready.xlsx", "01_guizhou_guian_hyperscale.xlsx"):
        shutil.copy(SAMPLES / name, folder / name)
    out = tmp_path / "out"
    args = ["screen", str(folder), "-o", str(out), "--as-of", "2025-06-30", "--reports"]
    assert main([*args, "--lang", "zh"]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in (out / "reports").iterdir()) == [
        "DC-2025-001.pdf",
        "DC-2025-005.pdf",
    ]


def test_a_usage_error_exits_1(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["screen", str(SAMPLES), "--jobs", "0", "-o", "x"])
    assert stop.value.code == 1
    capsys.readouterr()


def _bad_batch(folder):
    write_template(folder / "good.xlsx", "en", values=FULL_PROJECT)
    write_template(folder / "again.xlsx", "en", values=FULL_PROJECT)  # the same project_id
    (folder / "empty.xlsx").write_bytes(b"")
    (folder / "report.xlsx").write_bytes(b"%PDF-1.4\n%binary junk")
    with zipfile.ZipFile(folder / "foreign.ods", "w") as archive:
        archive.writestr("hello.txt", "a zip that is no workbook")
    write_rows(
        folder / "list.xlsx",
        [
            ["project_id", "project_name", "pue", "total_investment_cny"],
            ["L-1", "Fine", 1.3, 1e9],
            ["L-2", "Bad PUE", "very low", 1e9],
            ["", "No id", 1.2, 1e9],
        ],
    )


def test_bad_inputs_land_in_rejected_and_the_run_goes_on(tmp_path, settings):
    _bad_batch(tmp_path)
    screening = screen_inputs([tmp_path], settings, jobs=1)
    assert sorted(screening.results["project_id"]) == ["L-1", "T-001"]
    rejected = screening.rejected
    reasons = {(_name(r.file), r.project_id): r.reasons for r in rejected.itertuples()}
    assert "the file is empty" in reasons[("empty.xlsx", "")]
    assert "not a spreadsheet" in reasons[("report.xlsx", "")]
    assert "corrupt" in reasons[("foreign.ods", "")]
    repeated = [reasons.get((name, "T-001"), "") for name in ("again.xlsx", "good.xlsx")]
    assert sum("duplicate project_id" in text for text in repeated) == 1
    assert "pue" in reasons[("list.xlsx", "L-2")]
    assert any(f == "list.xlsx" and pid == "" for f, pid in reasons)  # the row without an id
    inputs = {_name(i["path"]): i for i in screening.manifest["inputs"]}
    assert set(inputs) == {p.name for p in tmp_path.iterdir()}
    assert all(i["projects"] or i["rejected"] for i in inputs.values())


def test_an_interrupted_write_leaves_no_half_written_workbook(tmp_path, screening, monkeypatch):
    import assessment.screening.shortlist as screen_excel

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(screen_excel.Workbook, "close", stop)
    with pytest.raises(KeyboardInterrupt):
        write_screening_outputs(screening, tmp_path, Settings(as_of=AS_OF))
    assert not (tmp_path / "screening.xlsx").exists()
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".xlsx"]


@pytest.mark.slow
def test_dask_gives_the_same_results_as_the_local_run(screening, settings):
    """With Dask's usual web port (8787) taken, as by another cluster: Dask warned ("Port 8787
    is already in use"), which the suite (and a user's warnings-as-errors) turned into a crash."""
    pytest.importorskip("distributed")
    inputs = [SAMPLES, BROKEN_DIR]
    with _port_taken(8787):
        on_dask = screen_inputs(inputs, settings, engine="dask", jobs=2, rows_per_chunk=80)
    pd.testing.assert_frame_equal(
        on_dask.results.reset_index(drop=True), screening.results.reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(
        on_dask.rejected.reset_index(drop=True), screening.rejected.reset_index(drop=True)
    )
    assert on_dask.manifest == screening.manifest


@contextlib.contextmanager
def _port_taken(port: int):
    """``port`` held on every interface for the block (already held by another: left so)."""
    with socket.socket() as held:
        with contextlib.suppress(OSError):
            held.bind(("", port))
            held.listen()
        yield


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_shows_on_a_terminal_only():
    quiet, terminal = io.StringIO(), _Terminal()
    for stream in (quiet, terminal):
        bar = ProgressLine(stream)
        bar(1, 2, 1500)
        bar(2, 2, 500)
        bar.done()
    assert quiet.getvalue() == ""
    assert "1/2 chunks, 1,500 rows" in terminal.getvalue()
    assert terminal.getvalue().endswith("2/2 chunks, 2,000 rows\n")


@pytest.fixture(scope="module")
def empty_files(tmp_path_factory):
    """files -> a folder of that many empty CSV files, made once (the cases only count them)."""
    folders = {}

    def folder_of(files: int):
        if files not in folders:
            folders[files] = tmp_path_factory.mktemp(f"files{files}") / "in"
            folders[files].mkdir()
            for i in range(files):
                (folders[files] / f"f{i:05d}.csv").touch()
        return folders[files]

    return folder_of


@pytest.mark.parametrize(
    "files, jobs, expected", [(10, 2, 50), (10_000, 2, 2500), (10_000, 1, 4000), (4_000, 4, 500)]
)
def test_files_are_screened_two_chunks_per_process_within_bounds(
    tmp_path, empty_files, files, jobs, expected
):
    folder = empty_files(files)
    assert len(list(folder.iterdir())) == files  # nothing added by another case
    assert balanced_files_per_chunk([folder, tmp_path / "missing"], jobs) == expected


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:1", "no port!"])
def test_a_scheduler_nobody_answers_is_said_with_a_hint(tmp_path, capsys, address):
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    sample = str(SAMPLES / "03_shenzhen_edge_site.xlsx")
    argv = ["screen", sample, "-o", str(tmp_path / "out"), "--as-of", "2025-06-30"]
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = main([*argv, "--engine", "dask", "--scheduler", address])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert f"--scheduler {address}: cannot reach the Dask scheduler" in err
    assert "hint: start one with `dask scheduler`" in err
