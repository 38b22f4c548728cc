"""The fast ways of reading a long candidate list give exactly what the careful ways give.

A long CSV list is parsed column-wise by pyarrow and a long Parquet list kept column-wise;
columns are parsed one distinct cell at a time; the yearly table is built column by column.
The careful ways (the csv module, rows, every cell, ``melt``) are switched on here by
monkeypatching, and both must agree on a generated list full of awkward cells.
"""

from __future__ import annotations

import csv
import io
import os
import random
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import AS_OF

from assessment.intake import layouts, normalize, workbooks
from assessment.intake import read as ingest
from assessment.intake.chunks import plan_chunks, read_chunk
from assessment.intake.read import read_applications
from assessment.intake.workbooks import csv_columns, csv_dialect, read_sheets

HEADER = [
    "项目编号",
    "Project name",
    "省份",
    "Hub",
    "IT load (kW)",
    "上架率(%)",
    "PUE",
    "Total investment (亿元)",
    "资本金(万元)",
    "Racks",
    "余热回收利用",
    "投运日期",
    "operating_cash_flow_cny_2023",
    "ebitda_cny_2023 (万元)",
    "revenue_cny_2024",
    "Remarks",
]
CELLS = [  # the cells each column draws from, blanks and nonsense included
    None,  # project ids are made per row
    ["Alpha", "云谷一号", 'Beta "B", 贵安', "  spaced  ", "数据中心, 二期", ""],
    ["贵州", "Jiangsu", "guizhou", "火星", "", "N/A"],
    ["长三角", "贵州", "Yangtze River Delta", "bad hub", ""],
    ["24000", "8,000", "１２０００", "12 MW", "abc", "", "1e4", "-5", " 900 "],
    ["72.5", "85%", "0.9", "110", "", "N/A", "８５％"],
    ["1.25", "1.3 ", "0.9", "", "一点三", "1.2.3"],
    ["12", "3.5", "3.5亿元", "2,000万元", "", "x", "1 234"],
    ["30000", "１２０００", "1,234.5", "", "-"],
    ["100", "100.5", "1,000", "", "十"],
    ["是", "否", "Y", "n", "TRUE", "1", "0", "对", "maybe", ""],
    [
        "2019-06-30",
        "2020/6/30",
        "2021年6月30日",
        "2020-06",
        "20200630",
        "30/06/2021",
        "06/07/2021",
        "44377",
        "2021-02-30",
        "next year",
        "",
    ],
    ["100000000", "-2,000,000", "1.5e8", "", "n/a", "1,5"],
    ["5000", "5,000", "", "x", "５０００"],
    ["120000000", "98000000.5", "", "0"],
    ["fine", "note, with a comma", 'says "hello"', "line one\nline two", ""],
]
DATA_ROWS = 70


def awkward_rows(seed: int = 7) -> list[list[str]]:
    """A title row, the header and ``DATA_ROWS`` rows (more than the records kept as rows, so
    that the rest is read column-wise), with repeated ids, rows without an id, a blank row and
    a row of spaces."""
    pick = random.Random(seed)
    rows = []
    for number in range(DATA_ROWS):
        project = f"CL-{number:03d}" if number % 11 else ""
        rows.append([project, *(pick.choice(cells) for cells in CELLS[1:])])
    rows[40][0] = rows[5][0] = "CL-005"  # a repeated id
    rows[30] = [""] * len(HEADER)
    rows[31] = ["  "] * len(HEADER)
    return [["Candidate list 2025, draft", "", ""] + [""] * (len(HEADER) - 3), HEADER, *rows]


def write_csv(path: Path, rows: list[list[str]], encoding: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as stream:
        csv.writer(stream).writerows(rows)
    return path


def write_parquet(path: Path, rows: list[list[str]]) -> Path:
    """The header as column names; text cells, and one column of numbers with gaps."""
    header, body = rows[1], rows[2:]
    columns = {name: [row[i] for row in body] for i, name in enumerate(header)}
    numbers = [float(v) if v.replace(".", "").isdigit() else None for v in columns[header[14]]]
    columns[header[14]] = numbers
    pd.DataFrame(columns).to_parquet(path, index=False)
    return path


def _blank_row_cell_by_cell(row: list[object]) -> bool:
    return not any(not layouts._blank(cell) for cell in row)


def _yearly_by_melting(wide: pd.DataFrame, dictionary: object) -> pd.DataFrame:
    series_cols = [c for c in wide.columns if "@" in c]
    long = wide[["project_id", *series_cols]].melt("project_id", var_name="key")
    long = long[long["value"].notna()]
    if long.empty:
        return pd.DataFrame(
            {
                c: pd.Series(dtype=t)
                for c, t in zip(
                    ingest.YEARLY_COLUMNS, ("string", "int64", "string", "float64"), strict=True
                )
            }
        )
    parts = long["key"].str.split("@", n=1, expand=True)
    yearly = pd.DataFrame(
        {
            "project_id": long["project_id"].astype("string"),
            "year": parts[1].astype("int64"),
            "series": parts[0].astype("string"),
            "value": long["value"].astype(float),
        }
    )
    order = {f.name: i for i, f in enumerate(dictionary.series_fields())}
    yearly = yearly.assign(_o=yearly["series"].map(order)).sort_values(
        ["project_id", "_o", "year"], kind="stable"
    )
    return yearly.drop(columns="_o").reset_index(drop=True)


@pytest.fixture
def careful(monkeypatch):
    """Switch every fast path off: rows read by the csv module, every cell parsed alone."""

    def switch_on() -> None:
        monkeypatch.setattr(workbooks, "csv_columns", lambda text, dialect: None)
        monkeypatch.setattr(workbooks, "HEAD_RECORDS", 10**9)
        monkeypatch.setattr(layouts, "_blank_row", _blank_row_cell_by_cell)
        monkeypatch.setattr(
            normalize, "_plain_numbers", lambda b, k: normalize._plain_number_cells(b.raw[k])
        )
        monkeypatch.setattr(normalize, "_by_distinct", lambda *args: None)
        monkeypatch.setattr(ingest, "_yearly", _yearly_by_melting)

    return switch_on


def _sorted(problems: pd.DataFrame) -> pd.DataFrame:
    """Problems in one order: a column parsed cell by cell reports in row order, one parsed
    value by value in the order of the values."""
    return problems.sort_values(list(problems.columns), kind="stable", ignore_index=True)


def assert_same(fast: ingest.Applications, slow: ingest.Applications) -> None:
    pd.testing.assert_frame_equal(fast.projects, slow.projects)
    pd.testing.assert_frame_equal(fast.yearly, slow.yearly)
    pd.testing.assert_frame_equal(_sorted(fast.problems), _sorted(slow.problems))
    assert fast.addresses == slow.addresses


def _read_both(paths: list[Path], careful) -> tuple[ingest.Applications, ingest.Applications]:
    fast = read_applications(paths, as_of=AS_OF)
    careful()
    return fast, read_applications(paths, as_of=AS_OF)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_a_csv_list_reads_alike_fast_and_carefully(tmp_path, careful, encoding):
    path = write_csv(tmp_path / f"list_{encoding}.csv", awkward_rows(), encoding)
    assert read_sheets(path)[0].below is not None  # the fast path is taken
    fast, slow = _read_both([path], careful)
    assert_same(fast, slow)
    assert read_sheets(path)[0].below is None
    messages = set(fast.problems["message"])
    assert {"cannot read the value", "duplicate project_id", "out of range"} <= messages
    assert len(fast.projects) == DATA_ROWS - 2 - 7 - 1  # blank rows, rows without id, repeat
    assert fast.yearly["series"].nunique() == 3


def test_a_parquet_list_reads_alike_fast_and_carefully(tmp_path, careful):
    path = write_parquet(tmp_path / "list.parquet", awkward_rows())
    assert read_sheets(path)[0].below is not None
    fast, slow = _read_both([path], careful)
    assert_same(fast, slow)
    assert fast.projects["source_row"].min() == 3  # row 2 has no project_id


def test_parts_of_a_csv_list_read_alike_fast_and_carefully(tmp_path, careful):
    path = write_csv(tmp_path / "list.csv", awkward_rows(), "utf-8")
    chunks, _ = plan_chunks([path], rows_per_chunk=20)
    fast = [read_chunk(chunk, as_of=AS_OF) for chunk in chunks]
    careful()
    for chunk, part in zip(chunks, fast, strict=True):
        assert_same(part, read_chunk(chunk, as_of=AS_OF))


def test_parts_read_in_any_order_by_one_process_are_the_same(tmp_path):
    """A settled file keeps where its records begin for the next parts: reading the parts
    backwards, then again, gives what reading each in a fresh process gives."""
    rows = awkward_rows()
    path = write_csv(tmp_path / "list.csv", rows + rows[2:] + rows[2:], "utf-8")
    chunks, _ = plan_chunks([path], rows_per_chunk=13)
    fresh = [read_chunk(chunk, as_of=AS_OF) for chunk in chunks]  # a new file: nothing kept
    settled = time.time() - 60
    os.utime(path, (settled, settled))
    for index in [*reversed(range(len(chunks))), *range(len(chunks))]:
        part = read_chunk(chunks[index], as_of=AS_OF)
        pd.testing.assert_frame_equal(part.projects, fresh[index].projects)
        pd.testing.assert_frame_equal(part.problems, fresh[index].problems)


def _csv_module_rows(text: str, dialect: type[csv.Dialect]) -> list[list[str]]:
    return [list(row) for row in csv.reader(io.StringIO(text), dialect)]


def test_pyarrow_splits_csv_text_as_the_csv_module_does():
    pick = random.Random(3)
    pieces = ["a", "中", ",", ";", "\t", '"', "'", '""', " ", "\n", "\r\n", "x\ny", "1,5"]
    taken = 0
    for _ in range(1500):
        text = "".join(pick.choice(pieces) for _ in range(pick.randint(1, 30)))
        dialect = csv_dialect(text)
        columns = csv_columns(text, dialect)
        if columns is not None:
            taken += 1
            rows = [list(row) for row in zip(*(c.tolist() for c in columns), strict=True)]
            assert rows == _csv_module_rows(text, dialect), repr(text)
    assert taken > 100


@pytest.mark.parametrize(
    "text",
    [
        "a,b\n\nc,d\n",  # a blank line: no cell to the csv module
        "a,b\rc,d\n",  # a lone carriage return ends a record for pyarrow only
        "a,b\nc,d,e\n",  # ragged records
        "a\nb\n",  # one column: a blank line would be one empty cell
    ],
)
def test_text_pyarrow_could_split_otherwise_is_left_to_the_csv_module(text):
    assert csv_columns(text, csv.excel) is None


_ODD_CELLS = [
    "12",
    " 3.5 ",
    "+5",
    "5.",
    ".5",
    "1E5",
    "-0",
    "00012",
    "1e400",
    "1e-400",
    "٣",
    "１２",
    "1_0",
    "1,000",
    "nan",
    "inf",
    "-Infinity",
    "",
    "  ",
    None,
    float("nan"),
    pd.NA,
    7,
    2.5,
    True,
    10**20,
    "0x10",
    "1.2.3",
    "e5",
    "5e",
    ".",
    "+",
    "12%",
    "\u30001\u3000",
    "1\t",
]


@pytest.mark.parametrize("seed", range(40))
def test_few_plain_numbers_are_read_as_pandas_reads_many(seed):
    """The Python path for a few cells and the pandas path for many agree, cell for cell."""
    picker = random.Random(seed)
    cells = [picker.choice(_ODD_CELLS) for _ in range(picker.randint(1, 6))]
    if seed % 2:
        cells = [cell for cell in cells if isinstance(cell, str) and cell.strip().isascii()]
        cells = [c for c in cells if c.strip().lstrip("+-").replace(".", "", 1).isdigit()]
        cells += [f"{picker.uniform(-1e6, 1e6):.{picker.randint(0, 17)}g}" for _ in range(5)]
    column = pd.Series(cells, dtype=object)
    few = normalize._plain_number_cells(column)
    many = normalize._plain_number_cells(pd.concat([column] * (normalize._FEW_CELLS + 1)))
    if many is None:
        assert few is None, cells
    else:
        assert few is not None, cells
        assert np.array_equal(few, many[: len(column)], equal_nan=True), cells
