"""A big frame written as CSV column by column: the bytes ``DataFrame.to_csv`` writes.

pandas formats and quotes every cell of every row, a few hundred rows at a time through the
csv module: 4.4 s for 100,000 screening results of 145 columns, most of a Dask client's time
on a list of millions. Result columns hold few distinct values (codes, verdicts, grades,
rounded figures), so here each distinct value of a column is formatted once, as ``to_csv``
formats its dtype, and quoted by the csv module with ``to_csv``'s settings (so a lone carriage
return stays unquoted, as pandas leaves it); Arrow puts the rows together from those fields,
a block of rows at a time (bounded memory). ``tests/test_csv_blocks.py`` compares the bytes.

A frame with a column of another dtype than :func:`_distinct` takes (dates, mixed objects,
categories that are not text), of one column (the csv module quotes a lone empty field), of
few rows, or written in another encoding than UTF-8 is written by ``to_csv`` itself.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

ROWS_PER_BLOCK = 32_768
FEW_ROWS = 20_000  # below this, to_csv's own pace is fine
_BY_VALUE = ("int64", "bool", "Int64", "boolean")  # dtypes whose equal values are written alike
_MAY_NEED_QUOTES = '[,"\r\n]'  # fields the csv module is asked about (it quotes no others)
_BLOCK_BYTES = 1 << 30  # an Arrow string array holds at most 2 GiB
_UTF8 = ("utf-8", "utf-8-sig")  # Arrow's text is UTF-8: other encodings go through to_csv


def write_frame_csv(frame: pd.DataFrame, path: str | Path, *, encoding: str = "utf-8") -> None:
    """``frame.to_csv(path, index=False, encoding=encoding, lineterminator="\\n")``, faster."""
    small = len(frame) < FEW_ROWS or frame.shape[1] < 2
    columns = None if small or encoding not in _UTF8 else _columns(frame)
    if columns is None:
        frame.to_csv(path, index=False, encoding=encoding, lineterminator="\n")
        return
    import pyarrow as pa
    import pyarrow.compute as pc

    header = frame.iloc[:0].to_csv(index=False, lineterminator="\n")
    with open(path, "w", encoding=encoding, newline="") as text:
        text.write(header)
        text.flush()
        stream = text.buffer
        rows_per_block = _rows_per_block(columns)
        ends = pa.array([""] * min(len(frame), rows_per_block))
        for start in range(0, len(frame), rows_per_block):
            block = slice(start, start + rows_per_block)
            cells = [
                fields.take(pa.array(_slot(codes[block], fields))) for codes, fields in columns
            ]
            rows = pc.binary_join_element_wise(*cells, ",")
            stream.write(_concatenated(pc.binary_join_element_wise(rows, ends[: len(rows)], "\n")))


def _slot(codes: np.ndarray, fields) -> np.ndarray:
    """Codes with a missing value's -1 pointing at the last field (the empty one)."""
    return np.where(codes < 0, len(fields) - 1, codes)


def _rows_per_block(columns: list) -> int:
    """``ROWS_PER_BLOCK``, fewer when the longest fields could make a block's text too long."""
    import pyarrow.compute as pc

    longest = sum(pc.max(pc.binary_length(fields)).as_py() + 1 for _, fields in columns)
    return max(1, min(ROWS_PER_BLOCK, _BLOCK_BYTES // longest))


def _concatenated(strings) -> memoryview:
    """The values of an Arrow string array (no nulls) one after another."""
    offsets = np.frombuffer(strings.buffers()[1], np.int32)[strings.offset :]
    return memoryview(strings.buffers()[2])[offsets[0] : offsets[len(strings)]]


def _columns(frame: pd.DataFrame) -> list | None:
    """Per column, each row's code (-1: missing; a category's own codes, or the smallest
    integers that hold them: a frame of millions of rows keeps its size) and the CSV field of
    each code, the missing value's last; None when a column's dtype is not one this writer
    formats alike (the frame is then written by ``to_csv``)."""
    found = []
    for position in range(frame.shape[1]):
        distinct = _distinct(frame.iloc[:, position])
        if distinct is None:
            return None
        codes, representatives = distinct
        found.append((codes, _fields(representatives)))
    return found


def _distinct(column: pd.Series) -> tuple[np.ndarray, pd.Series] | None:
    """Each row's code (-1: missing) and one row of the column per code (same dtype), then
    a missing value."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype) and _text(pd.Series(dtype.categories)):
        every = pd.Categorical.from_codes([*range(len(dtype.categories)), -1], dtype=dtype)
        return column.cat.codes.to_numpy(), pd.Series(every)
    if isinstance(dtype, pd.CategoricalDtype):
        return None
    if str(dtype) == "float64":  # by bits: 0.0 and -0.0 are written apart
        keys = column.to_numpy().view(np.int64)
    elif str(dtype) in _BY_VALUE or _text(column):
        keys = column
    else:
        return None
    codes, uniques = pd.factorize(keys, use_na_sentinel=True)
    first = np.zeros(len(uniques) + 1, dtype=np.int64)  # no missing value: its slot unused
    rows = pd.Series(codes).drop_duplicates()  # each code's first row
    first[rows.to_numpy()] = rows.index.to_numpy()  # a missing value's -1: the last slot
    small = np.min_scalar_type(-len(uniques) - 1)
    return codes.astype(small), column.iloc[first].reset_index(drop=True)


def _text(column: pd.Series) -> bool:
    """Strings and missing values only (an object column of 1, 1.0 and True is not: they
    are equal keys, written apart)."""
    if isinstance(column.dtype, pd.StringDtype):
        return True
    kinds = ("string", "empty")
    return pd.api.types.is_object_dtype(column.dtype) and pd.api.types.infer_dtype(column) in kinds


def _fields(values: pd.Series):
    """Each value as ``to_csv`` writes it among other fields of a row, as an Arrow array:
    formatted as pandas formats the dtype for CSV, quoted by the csv module."""
    import pyarrow as pa
    import pyarrow.compute as pc

    formatted = _formatted(values)
    fields = pa.array(formatted, pa.string())
    quoted = np.flatnonzero(pc.match_substring_regex(fields, _MAY_NEED_QUOTES).to_numpy(False))
    for position in quoted:
        formatted[position] = _quoted(formatted[position])
    return pa.array(formatted, pa.string()) if len(quoted) else fields


def _formatted(values: pd.Series) -> list[str]:
    """pandas' CSV text of each value: NumPy's ``str`` of a float, an integer or a boolean
    (``astype(str)``, as ``to_csv`` does), text as it is, a missing value empty."""
    missing = values.isna().to_numpy()
    if str(values.dtype) in ("float64", "int64", "bool"):
        text = values.to_numpy().astype(str).astype(object)
    else:
        text = np.asarray([str(value) for value in values.astype(object)], dtype=object)
    text[missing] = ""
    return text.tolist()


def _quoted(value: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([value, 0])
    return out.getvalue()[: -len(",0\n")]
