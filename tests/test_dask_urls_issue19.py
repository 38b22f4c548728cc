"""Inputs given as fsspec URLs (issue 19, scale-out): a candidate list split in three CSV files
and one Parquet file, named as ``file://`` URLs (one a glob) or held on the ``memory://``
filesystem, screens to the same results as the local paths, with the local engine and on a
real Dask ``LocalCluster`` (slow); a URL that names nothing, or a protocol nobody reads, is a
rejected input with its reason and the rest is scored."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd
import pytest

from assessment.cli import main
from assessment.errors import InputError
from assessment.intake.chunks import plan_chunks, read_chunk
from assessment.intake.urls import expand_urls, filesystem, is_url
from assessment.screening.batch import screen_inputs
from assessment.screening.records import Settings

ROOT = Path(__file__).resolve().parent.parent
ROWS = 300
SETTINGS = Settings(as_of="2025-06-30", model=None)


@pytest.fixture(scope="module")
def parts(tmp_path_factory) -> list[Path]:
    """The sample list (its rows wrong on purpose included) repeated to ``ROWS`` rows, split
    in part-0.csv, part-1.csv, part-2.csv and part-3.parquet."""
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_screen import list_frame, sample_list

    frame = list_frame(sample_list(), ROWS, 4)
    folder = tmp_path_factory.mktemp("split")
    paths = []
    for number, rows in enumerate(np.array_split(np.arange(ROWS), 4)):
        path = folder / f"part-{number}.{'parquet' if number == 3 else 'csv'}"
        part = frame.iloc[rows]
        part.to_parquet(path, index=False) if number == 3 else part.to_csv(path, index=False)
        paths.append(path)
    past = 1_700_000_000  # settled files: their reading may be cached
    for path in paths:
        os.utime(path, (past, past))
    return paths


@pytest.fixture(scope="module")
def local_run(parts):
    return screen_inputs([str(p) for p in parts], SETTINGS, jobs=1)


@pytest.fixture(scope="module")
def local_in_parts(parts):
    """The local paths screened in chunks of 40 rows (what the URLs read in parts give)."""
    return screen_inputs(parts, SETTINGS, jobs=1, rows_per_chunk=40)


def as_urls(parts: list[Path]) -> list[str]:
    """part-*.csv as a glob URL, part-3.parquet as a file URL."""
    return [f"file://{parts[0].parent}/part-*.csv", parts[3].as_uri()]


def assert_same_screening(found, expected) -> None:
    pd.testing.assert_frame_equal(
        found.results.reset_index(drop=True), expected.results.reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(
        found.rejected.reset_index(drop=True), expected.rejected.reset_index(drop=True)
    )
    assert found.manifest["counts"] == expected.manifest["counts"]
    names = [item["path"] for item in found.manifest["inputs"]]
    assert names == [item["path"] for item in expected.manifest["inputs"]]


def test_a_url_is_told_from_a_local_path():
    assert is_url("file:///data/a.csv") and is_url("s3://bucket/list/part-*.parquet")
    assert not is_url("C:\\data\\a.csv") and not is_url("data/a.csv") and not is_url(Path("a"))


def test_file_urls_and_a_glob_give_the_local_paths_results(parts, local_run):
    found = screen_inputs(as_urls(parts), SETTINGS, jobs=1)
    assert found.manifest["counts"]["projects_scored"] > 0 and found.manifest["counts"]["rejected"]
    assert_same_screening(found, local_run)


def test_url_lists_read_in_parts_give_the_same_results(parts, local_in_parts):
    """Chunks of 40 rows: the CSV parts are planned from the first bytes of each file, the
    Parquet parts from its footer; together they read every row once."""
    chunks, missing = plan_chunks(as_urls(parts), rows_per_chunk=40)
    assert not missing
    assert {chunk.list_path for chunk in chunks} == {p.as_uri() for p in parts}
    assert all(chunk.rows in (0, 40) for chunk in chunks)
    found = screen_inputs(as_urls(parts), SETTINGS, jobs=1, rows_per_chunk=40)
    assert_same_screening(found, local_in_parts)


def test_files_on_the_memory_filesystem_are_copied_and_named_by_their_urls(parts, local_run):
    """memory:// is not a local path: each file is copied where it is read, and every file
    name in the results is the URL's."""
    fs = fsspec.filesystem("memory")
    for path in parts:
        fs.pipe(f"/issue19/list/{path.name}", path.read_bytes())
    try:
        whole = screen_inputs(["memory:///issue19/list/"], SETTINGS, jobs=1)
        found = screen_inputs(["memory:///issue19/list/"], SETTINGS, jobs=1, rows_per_chunk=40)
        chunk = plan_chunks(["memory:///issue19/list/part-0.csv"])[0][0]
        read = read_chunk(chunk, as_of=SETTINGS.as_of)
    finally:
        fs.rm("/issue19", recursive=True)
    assert set(read.projects["source_file"]) == {"memory:///issue19/list/part-0.csv"}
    # a folder takes its CSV files, not its Parquet ones (as a local folder does)
    assert set(whole.results["source_file"]) == {f"list/part-{n}.csv" for n in range(3)}
    in_parts = screen_inputs(parts[:3], SETTINGS, jobs=1, rows_per_chunk=40)
    for screening, expected in [
        (whole, screen_inputs(parts[:3], SETTINGS, jobs=1)),
        (found, in_parts),
    ]:
        columns = screening.results.columns.drop("source_file")
        pd.testing.assert_frame_equal(screening.results[columns], expected.results[columns])


def test_a_url_naming_nothing_is_rejected_with_its_reason_and_the_rest_is_scored(parts, local_run):
    inputs = ["nosuchproto://x.csv", "file:///nope/part-9.csv", *as_urls(parts)]
    found = screen_inputs(inputs, SETTINGS, jobs=1)
    rejected = found.rejected.set_index("file")["reasons"]
    assert "unknown protocol 'nosuchproto'" in rejected["x.csv"]
    assert "no such file at the URL" in rejected["part-9.csv"]
    counts = local_run.manifest["counts"]
    assert found.manifest["counts"]["projects_scored"] == counts["projects_scored"]
    assert found.manifest["counts"]["rejected"] == counts["rejected"] + 2
    assert found.manifest["counts"]["files"] == 6


@pytest.mark.skipif(bool(importlib.util.find_spec("s3fs")), reason="s3fs is installed here")
def test_a_protocol_whose_package_is_missing_names_the_package():
    with pytest.raises(InputError) as error:
        filesystem("s3://bucket/list/part-0.parquet")
    assert "s3fs" in error.value.what and error.value.hint == "pip install s3fs"


def test_a_glob_matching_nothing_is_one_problem(tmp_path):
    found, problems = expand_urls([f"file://{tmp_path}/none-*.csv"])
    assert found == [] and [p["message"] for p in problems] == ["no file matches the pattern"]


def test_local_paths_never_load_fsspec(parts):
    code = (
        "import sys\nfrom assessment.intake.chunks import plan_chunks\n"
        f"plan_chunks({[str(p) for p in parts]!r}, rows_per_chunk=40)\n"
        "print('fsspec' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_the_cli_lists_bad_urls_and_screens_the_rest_without_traceback(parts, tmp_path, capsys):
    inputs = ["nosuchproto://x.csv", *as_urls(parts), "-o", str(tmp_path / "out")]
    code = main(["screen", *inputs, "--as-of", "2025-06-30", "--no-model", "--jobs", "1"])
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err
    assert "x.csv" in err and "unknown protocol 'nosuchproto'" in err
    assert "5 input file(s)" in out


@pytest.mark.slow
def test_dask_workers_read_the_urls_and_give_the_local_results(parts, local_in_parts):
    """A LocalCluster of two worker processes: each reads its own parts from the URLs."""
    found = screen_inputs(as_urls(parts), SETTINGS, engine="dask", jobs=2, rows_per_chunk=40)
    assert_same_screening(found, local_in_parts)


@pytest.mark.slow
def test_assess_screen_on_dask_writes_the_local_shortlist(parts, tmp_path):
    def screening_sheet(inputs: list[str], out: Path, *options: str) -> dict:
        command = ["screen", *inputs, "-o", str(out), "--as-of", "2025-06-30", "--no-model"]
        assert main([*command, *options]) == 2
        return pd.read_excel(out / "screening.xlsx", sheet_name=None, engine="calamine")

    local = screening_sheet([str(p) for p in parts], tmp_path / "local", "--jobs", "1")
    on_dask = screening_sheet(
        as_urls(parts), tmp_path / "dask", "--engine", "dask", "--jobs", "2", "--chunk-rows", "40"
    )
    assert local.keys() == on_dask.keys()
    for name in ("Screening", "Rejected"):
        pd.testing.assert_frame_equal(on_dask[name], local[name])
