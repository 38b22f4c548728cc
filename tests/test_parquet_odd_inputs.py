"""Parquet lists nobody here wrote: column types a pandas or Spark export may carry, repeated
column names, row groups of three rows. Each is screened whole and in parts; every row ends
up scored or rejected with a reason, never a traceback."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import ROOT

from assessment.screening.batch import screen_inputs
from assessment.screening.records import Settings

LIST = ROOT / "sample_projects" / "candidates" / "plausibility_checks.csv"
SETTINGS = Settings(as_of=dt.date(2025, 6, 30))


@pytest.fixture(scope="module")
def table() -> pa.Table:
    frame = pd.read_csv(LIST)
    return pa.Table.from_pandas(frame, preserve_index=False)


def _screen(path, rows_per_chunk=16_000):
    return screen_inputs([str(path)], SETTINGS, jobs=1, rows_per_chunk=rows_per_chunk)


def _written(tmp_path, name: str, table: pa.Table, **options) -> str:
    path = tmp_path / f"{name}.parquet"
    pq.write_table(table, path, **options)
    return str(path)


EXTRA_COLUMNS = {
    "blob": lambda n: pa.array([b"\x00\xff"] * n),
    "nested": lambda n: pa.array([{"a": 1, "b": "x"}] * n),
    "listed": lambda n: pa.array([[1, 2]] * n),
    "mapped": lambda n: pa.array([[("k", 1)]] * n, pa.map_(pa.string(), pa.int64())),
    "stamp": lambda n: pa.array([dt.datetime(2024, 1, 1, tzinfo=dt.UTC)] * n),
    "lasting": lambda n: pa.array([dt.timedelta(days=1)] * n),
    "clock": lambda n: pa.array([dt.time(1, 2, 3)] * n),
    "nothing": lambda n: pa.nulls(n),
}


def test_columns_of_every_arrow_type_beside_the_list_are_left_alone(tmp_path, table):
    plain = _screen(_written(tmp_path, "plain", table))
    extra = table
    for name, column in EXTRA_COLUMNS.items():
        extra = extra.append_column(name, column(table.num_rows))
    found = _screen(_written(tmp_path, "extra", extra))
    assert found.rejected.empty
    assert list(found.results["project_id"]) == list(plain.results["project_id"])
    assert list(found.results["recommendation"]) == list(plain.results["recommendation"])


def test_a_repeated_column_name_is_reported_and_the_rows_are_scored(tmp_path, table):
    """pyarrow's read_table refuses repeated names ("Multiple matches for FieldRef"); the file
    was called corrupt and nothing was scored. It is read as a CSV with the same header is."""
    repeated = pa.Table.from_arrays(
        [*table.columns, table.column(0)], names=[*table.column_names, "project_id"]
    )
    path = _written(tmp_path, "repeated", repeated)
    for rows in (16_000, 5):  # whole, and in parts
        found = _screen(path, rows_per_chunk=rows)
        assert len(found.results) == table.num_rows
        reasons = list(found.rejected["reasons"])
        assert len(reasons) == 1 and "project_id: a repeated column" in reasons[0]
        assert "corrupt" not in reasons[0]


def test_row_groups_of_three_rows_read_in_parts_give_the_whole_file_s_results(tmp_path, table):
    path = _written(tmp_path, "groups", table, row_group_size=3)
    whole, parts = _screen(path), _screen(path, rows_per_chunk=4)
    pd.testing.assert_frame_equal(whole.results, parts.results)
    assert whole.rejected.empty and parts.rejected.empty


def test_numbers_out_of_range_are_rejected_with_their_cell(tmp_path, table):
    at = table.schema.get_field_index("racks")
    huge = table.set_column(at, "racks", pa.array([2**64 - 1] * table.num_rows, pa.uint64()))
    found = _screen(_written(tmp_path, "huge", huge))
    assert found.results.empty and len(found.rejected) == table.num_rows
    assert all(cell.startswith("L") for cell in found.rejected["cell"])  # racks: column L
    assert found.rejected["reasons"].str.contains("racks").all()
