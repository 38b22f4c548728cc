"""The CSV of a big frame written column by column is, byte for byte, what ``to_csv`` writes:
odd text (separators, quotes, line breaks), every missing value, floats at their edges."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assessment._shared.csv_blocks import FEW_ROWS, _columns, write_frame_csv
from assessment._shared.files import write_csv

ROWS = FEW_ROWS + 1_234
ODD_TEXT = [
    "plain",
    "a,b",
    'say "hi"',
    "two\nlines",
    "car\rriage",
    "",
    " lead",
    "中文,逗号",
    "'=1+1",
]
FLOATS = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e22, 1e-7, 0.1 + 0.2, 123456789.125, 2.0]


def _odd_frame(seed: int, odd_text: list[str] = ODD_TEXT) -> pd.DataFrame:
    pick = np.random.default_rng(seed).integers
    text = [odd_text[i] for i in pick(0, len(odd_text), ROWS)]
    with_gaps = [None if i % 7 == 0 else value for i, value in enumerate(text)]
    return pd.DataFrame(
        {
            "id": [f"P-{i}" for i in range(ROWS)],
            "category": pd.Categorical(with_gaps),
            "string": pd.array(with_gaps, dtype="string"),
            "object": pd.Series(with_gaps, dtype=object),
            "float": np.asarray(FLOATS)[pick(0, len(FLOATS), ROWS)],
            "int": pick(-(2**62), 2**62, ROWS),
            "Int64": pd.array([None if i % 5 == 0 else i for i in range(ROWS)], dtype="Int64"),
            "bool": pick(0, 2, ROWS).astype(bool),
            "boolean": pd.array([None if i % 3 == 0 else i % 2 == 0 for i in range(ROWS)]),
        }
    )


def _pandas_bytes(frame: pd.DataFrame, tmp_path, encoding: str = "utf-8") -> bytes:
    path = tmp_path / "pandas.csv"
    frame.to_csv(path, index=False, encoding=encoding, lineterminator="\n")
    return path.read_bytes()


@pytest.mark.parametrize("seed", [0, 1])
def test_a_big_frame_is_written_as_to_csv_writes_it(tmp_path, seed):
    frame = _odd_frame(seed)
    assert _columns(frame) is not None  # every column goes the column-wise way
    write_frame_csv(frame, tmp_path / "blocks.csv", encoding="utf-8-sig")
    assert (tmp_path / "blocks.csv").read_bytes() == _pandas_bytes(frame, tmp_path, "utf-8-sig")


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(pd.date_range("2020-01-01", periods=ROWS, freq="h")),  # dates: to_csv's own
        pd.Series([1, 1.0, True, "1"] * (ROWS // 4), dtype=object),  # equal keys written apart
        pd.Series(pd.Categorical([1.5, None, 2.0] * (ROWS // 3))),  # categories not text
    ],
)
def test_a_column_it_does_not_format_sends_the_frame_to_to_csv(tmp_path, column):
    frame = _odd_frame(2).head(len(column)).assign(odd=column.array)
    assert _columns(frame) is None
    write_frame_csv(frame, tmp_path / "blocks.csv")
    assert (tmp_path / "blocks.csv").read_bytes() == _pandas_bytes(frame, tmp_path)


def test_write_csv_neutralises_formulas_in_a_big_frame(tmp_path):
    frame = _odd_frame(3, [t for t in ODD_TEXT if "\r" not in t])  # to_csv leaves a lone CR
    path = write_csv(frame, tmp_path / "out.csv")
    read = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert len(read) == ROWS
    for column in ("category", "string", "object"):
        assert not read[column].str.startswith("=").any(), column
        assert (read[column] == "'=1+1").any(), column


def test_long_fields_make_smaller_blocks_and_the_same_bytes(tmp_path, monkeypatch):
    """An Arrow string array holds at most 2 GiB: rows of long text go fewer to a block."""
    from assessment._shared import csv_blocks

    monkeypatch.setattr(csv_blocks, "_BLOCK_BYTES", 5_000)
    frame = _odd_frame(4)
    assert csv_blocks._rows_per_block(_columns(frame)) < 100
    write_frame_csv(frame, tmp_path / "blocks.csv")
    assert (tmp_path / "blocks.csv").read_bytes() == _pandas_bytes(frame, tmp_path)


def test_another_encoding_than_utf8_is_written_by_to_csv(tmp_path):
    frame = _odd_frame(5, ["中文", "plain"])
    write_frame_csv(frame, tmp_path / "blocks.csv", encoding="gb18030")
    assert (tmp_path / "blocks.csv").read_bytes() == _pandas_bytes(frame, tmp_path, "gb18030")
