"""Reading in chunks: the parts of a big list give exactly what reading the whole file gives,
and a plan accounts for every input file once."""

from __future__ import annotations

import csv
import datetime as dt
import pickle
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from helpers import AS_OF, ROOT

from assessment import read_applications
from assessment.intake.chunks import Chunk, plan_chunks, read_chunk
from assessment.intake.workbooks import find_inputs

SAMPLES = ROOT / "sample_projects"
LIST = SAMPLES / "candidates" / "candidate_list_2025.xlsx"
GBK_CSV = SAMPLES / "candidates" / "edge_sites_gbk.csv"
HEADER_ROW = 4  # the sample list's header is under a title, a note and a blank row
PART_ROWS = 37


@pytest.fixture(scope="module")
def list_rows() -> list[list[object]]:
    """The sample candidate list's rows as openpyxl reads them (None for an empty cell)."""
    book = openpyxl.load_workbook(LIST, read_only=True)
    return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]


def _text(cell: object) -> str:
    if cell is None:
        return ""
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat() if cell.time() == dt.time() else cell.isoformat()
    return str(cell)


def _write_csv(path: Path, rows: list[list[object]], encoding: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as stream:
        csv.writer(stream).writerows([_text(c) for c in row] for row in rows)
    return path


def _typed_column(values: list[object]) -> pd.Series:
    """Numbers and dates stay typed (blanks as nulls) where the whole column allows it."""
    filled = [v for v in values if v not in (None, "")]
    if all(isinstance(v, int | float) for v in filled):
        return pd.Series([None if v in (None, "") else float(v) for v in values], dtype=float)
    if all(isinstance(v, dt.datetime) for v in filled):
        return pd.Series([None if v in (None, "") else v for v in values], dtype="datetime64[ns]")
    return pd.Series([_text(v) for v in values], dtype=object)


def _write_parquet(path: Path, rows: list[list[object]]) -> Path:
    header, body = rows[HEADER_ROW - 1], rows[HEADER_ROW:]
    columns = {name: _typed_column([row[i] for row in body]) for i, name in enumerate(header)}
    pd.DataFrame(columns).to_parquet(path, index=False)
    return path


def _with_remarks(rows: list[list[object]]) -> list[list[object]]:
    """An unknown column whose cells hold commas, quotes and line breaks, so that some CSV
    records span several lines."""
    remarks = ["Remarks"] + [
        f'line one, "quoted"\nline two of row {n}' if n % 3 == 0 else f"note {n}"
        for n in range(len(rows) - HEADER_ROW)
    ]
    return [*rows[: HEADER_ROW - 1], *([*row, remarks[i]] for i, row in enumerate(rows[3:]))]


def _read_parts(path: Path, rows_per_chunk: int = PART_ROWS) -> tuple[list[Chunk], list]:
    chunks, missing = plan_chunks([path], rows_per_chunk=rows_per_chunk)
    assert missing == []
    return chunks, [read_chunk(chunk, as_of=AS_OF) for chunk in chunks]


def _same_rows(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def _parts_read_as_whole(path: Path, rows_per_chunk: int = PART_ROWS) -> tuple[list, object]:
    """The parts of ``path``, checked to give the projects, yearly values, problems and
    addresses of the whole file; and the whole file as read at once."""
    whole = read_applications([path], as_of=AS_OF)
    chunks, parts = _read_parts(path, rows_per_chunk)
    assert all(chunk.list_path == str(path) for chunk in chunks)
    projects = pd.concat([part.projects for part in parts])
    pd.testing.assert_frame_equal(projects.sort_index(), whole.projects.sort_index())
    yearly = pd.concat([part.yearly for part in parts])
    keys = ["project_id", "series", "year"]
    pd.testing.assert_frame_equal(_same_rows(yearly, keys), _same_rows(whole.yearly, keys))
    problems = pd.concat([part.problems for part in parts])
    keys = list(problems.columns)
    pd.testing.assert_frame_equal(_same_rows(problems, keys), _same_rows(whole.problems, keys))
    for part in parts:
        assert part.addresses in ({}, whole.addresses)
    return parts, whole


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_csv_parts_read_as_the_whole_file(tmp_path, list_rows, encoding):
    path = _write_csv(tmp_path / f"candidates_{encoding}.csv", list_rows, encoding)
    parts, whole = _parts_read_as_whole(path)
    assert len(parts) == -(-(len(list_rows) - HEADER_ROW) // PART_ROWS) > 3
    assert len(whole.projects) == 207 and len(whole.problems) > 1000


def test_parts_of_a_csv_whose_cells_span_lines(tmp_path, list_rows):
    path = _write_csv(tmp_path / "remarks.csv", _with_remarks(list_rows), "utf-8")
    (first, *rest), _ = _parts_read_as_whole(path)
    assert (first.problems["message"] == "unknown column").sum() == 1
    assert all((part.problems["message"] != "unknown column").all() for part in rest)


def test_parquet_parts_read_as_the_whole_file(tmp_path, list_rows):
    path = _write_parquet(tmp_path / "candidates.parquet", list_rows)
    parts, whole = _parts_read_as_whole(path)
    assert len(parts) > 3 and len(whole.projects) == 207
    assert whole.projects["source_row"].min() == 2  # row 1 holds the column names


def test_gbk_edge_sites_in_parts_read_as_the_whole_file():
    parts, _ = _parts_read_as_whole(GBK_CSV, rows_per_chunk=7)
    assert [part.projects["source_row"].tolist() for part in parts] == [
        list(range(2, 9)),
        list(range(9, 16)),
        list(range(16, 22)),
    ]


def test_a_part_keeps_the_real_row_numbers_and_addresses(tmp_path, list_rows):
    path = _write_csv(tmp_path / "candidates.csv", list_rows, "utf-8")
    part = read_chunk(Chunk(list_path=str(path), start=100, rows=10), as_of=AS_OF)
    first_id = list_rows[HEADER_ROW + 100][0]
    assert part.projects.index[0] == first_id
    assert part.projects["source_row"].iloc[0] == HEADER_ROW + 101
    assert part.source_cell(first_id, "project_id") == f"{path.stem}!A{HEADER_ROW + 101}"
    assert len(part.projects) == 9  # Excel row 110 of the sample is blank


def test_repeated_ids_are_reported_within_a_part_only(tmp_path, list_rows):
    rows = [*list_rows, list_rows[HEADER_ROW], list_rows[-1]]  # repeat CL-0001 and CL-0210
    path = _write_csv(tmp_path / "repeated.csv", rows, "utf-8")
    _, parts = _read_parts(path, rows_per_chunk=100)
    repeated = pd.concat([part.problems for part in parts])
    repeated = repeated[repeated["message"] == "duplicate project_id"]
    assert repeated["project_id"].tolist() == ["CL-0210", "CL-0210"]  # both rows are named
    assert sorted(repeated["cell"]) == ["row 212", "row 214"]


def test_the_last_part_may_be_short_or_past_the_end(tmp_path, list_rows):
    path = _write_csv(tmp_path / "candidates.csv", list_rows, "utf-8")
    past = read_chunk(Chunk(list_path=str(path), start=10_000, rows=5), as_of=AS_OF)
    assert past.projects.empty and past.problems.empty and past.addresses == {}
    rest = read_chunk(Chunk(list_path=str(path), start=200), as_of=AS_OF)  # rows=0: to the end
    assert rest.projects.index[-1] == "CL-0210" and len(rest.projects) == 8


def test_plan_groups_every_sample_file_into_exactly_one_chunk():
    chunks, missing = plan_chunks([SAMPLES], files_per_chunk=4)
    files = [str(p) for p in find_inputs([SAMPLES])]
    assert missing == [] and len(files) == 15  # .assessignore leaves broken/ out
    assert [len(chunk.paths) for chunk in chunks] == [4, 4, 4, 3]
    assert [p for chunk in chunks for p in chunk.paths] == files
    assert all(chunk.list_path is None for chunk in chunks)
    assert pickle.loads(pickle.dumps(chunks)) == chunks


def test_plan_splits_big_lists_and_keeps_small_files_whole(tmp_path, list_rows):
    big = _write_csv(tmp_path / "big.csv", list_rows, "utf-8")
    table = _write_parquet(tmp_path / "big.parquet", list_rows)
    chunks, _ = plan_chunks([LIST, big, GBK_CSV, table], rows_per_chunk=100)
    assert chunks[0] == Chunk(paths=(str(LIST), str(GBK_CSV)))  # xlsx lists are read whole
    starts = [(Path(c.list_path).suffix, c.start, c.rows) for c in chunks[1:]]
    assert starts == [(s, k * 100, 100) for s in (".csv", ".parquet") for k in range(3)]


def test_plan_reports_a_missing_path_and_reads_the_rest(tmp_path):
    missing = tmp_path / "nowhere.xlsx"
    chunks, problems = plan_chunks([missing, GBK_CSV])
    assert chunks == [Chunk(paths=(str(GBK_CSV),))]
    assert [(p["file"], p["message"], p["severity"]) for p in problems] == [
        (str(missing), "no such file or folder", "error")
    ]
    whole = read_applications([missing], as_of=AS_OF).problems
    assert whole.drop(columns=["project_id", "year"]).to_dict("records") == [
        {k: str(v) for k, v in problems[0].items()}
    ]


def test_a_corrupt_parquet_file_is_one_problem(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not a parquet table")
    chunks, _ = plan_chunks([path], rows_per_chunk=10)
    assert chunks == [Chunk(paths=(str(path),))]
    problems = read_chunk(chunks[0], as_of=AS_OF).problems
    assert problems["message"].tolist() == ["the Parquet file is corrupt or unreadable"]
    assert problems.loc[0, "file"] == str(path) and problems.loc[0, "severity"] == "error"
    part = read_chunk(Chunk(list_path=str(path), rows=10), as_of=AS_OF).problems
    assert part["message"].tolist() == problems["message"].tolist()
    later = read_chunk(Chunk(list_path=str(path), start=10, rows=10), as_of=AS_OF)
    assert later.problems.empty  # a file's problem comes with its first part only


def test_parquet_files_in_folders_are_left_to_be_named(tmp_path, list_rows):
    _write_parquet(tmp_path / "candidates.parquet", list_rows)
    assert find_inputs([tmp_path]) == []
    assert find_inputs([SAMPLES / "history"]) == []  # the model's loan history is no list


@pytest.mark.parametrize("name, value", [("rows_per_chunk", 0), ("files_per_chunk", "5")])
def test_plan_parameters_must_be_positive_integers(name, value):
    with pytest.raises(ValueError, match=f"'{name}' parameter of plan_chunks"):
        plan_chunks([GBK_CSV], **{name: value})


def _rows_of(table) -> dict:
    return table.to_pydict()


def test_parquet_parts_in_any_order_are_the_files_rows(tmp_path, monkeypatch):
    """A process keeps where its last read of a Parquet file ended and continues from there;
    parts read forwards, backwards, at random, past the end or whole give the file's rows, in
    one row group or many, with batches that hold several parts or parts over several."""
    import random

    import pyarrow as pa
    import pyarrow.parquet as pq

    from assessment.intake import chunks

    monkeypatch.setattr(chunks, "PARQUET_BATCH_ROWS", 40)
    table = pa.table({"n": list(range(1000)), "text": [f"row {i}" for i in range(1000)]})
    ranges = [(start, 97) for start in range(0, 1000, 97)] + [(0, 13), (13, 13), (26, 400)]
    for group_rows in (1000, 300, 7):
        path = tmp_path / f"groups-{group_rows}.parquet"
        pq.write_table(table, path, row_group_size=group_rows)
        shuffled = random.Random(group_rows).sample(ranges, len(ranges))
        for start, count in [*ranges, *reversed(ranges), *shuffled, (990, None), (1000, 5)]:
            stop = 1000 if count is None else min(start + count, 1000)
            found = chunks._parquet_slice(path, start, count)
            assert _rows_of(found) == _rows_of(table.slice(start, stop - start)), (start, count)
        chunks.close_parquet_files()


def test_parquet_parts_read_forwards_decode_the_file_once(tmp_path, monkeypatch):
    """Parts of a row group of many rows, read in order by one process (each after a look at
    the file's head, as a worker reads them), continue one read of the file: Parquet cannot
    skip rows in a row group, and each part read from the group's start decoded the rows
    before it again. A file written again is read afresh."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from assessment.intake import chunks

    monkeypatch.setattr(chunks, "PARQUET_BATCH_ROWS", 100)
    path = tmp_path / "one-group.parquet"
    pq.write_table(pa.table({"n": list(range(5000))}), path)
    decoded = []  # one entry a batch
    real = chunks._Cursor.open

    def counted(p, start):
        cursor = real(p, start)
        decoded.append(start)  # the batch the cursor opens on
        cursor.batches = (decoded.append(None) or batch for batch in cursor.batches)
        return cursor

    monkeypatch.setattr(chunks._Cursor, "open", counted)
    firsts = []
    for start in range(0, 5000, 500):
        assert chunks._parquet_slice(path, 0, 3)["n"].to_pylist() == [0, 1, 2]
        firsts.append(chunks._parquet_slice(path, start, 500)["n"][0].as_py())
    assert firsts == [*range(0, 5000, 500)]
    assert len(decoded) <= 50 + 10  # the file's 50 batches once, and the head's batch again
    pq.write_table(pa.table({"n": list(range(100, 5200))}), path)
    assert chunks._parquet_slice(path, 0, 5)["n"].to_pylist() == [100, 101, 102, 103, 104]
    chunks.close_parquet_files()
    assert chunks._CURSORS == {}
