"""Issue 19's faster screen of a candidate list gives what the plain ways give.

The ``series@year`` columns of a chunk come from ids, series and years factorized once; the
distinct text cells of a list skip their NFKC work when they need none; the Summary's pass
rates ask once per programme whether a project asked for it; an ASCII header or cell is sized
without a look at each character. Each is compared here with the plain way it replaced, and the
floor benchmark (bench/bench_floor.py) runs on a small list.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assessment.criteria.pass_rate import asked_of
from assessment.intake.cells import is_missing, parse_text
from assessment.intake.normalize import _distinct_texts
from assessment.screening.records import (
    _malloc_trim,
    _ranking_order,
    long_yearly,
    rank,
    release_freed_memory,
    wide_yearly,
)
from assessment.screening.shortlist import _text_width
from assessment.screening.summary import _asked

ROOT = Path(__file__).resolve().parents[1]


def plain_wide_yearly(yearly: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """The way before: one ``series@year`` text per value, factorized."""
    at = index.get_indexer(yearly["project_id"].to_numpy(dtype=object))
    rows = yearly[at >= 0]
    keys = rows["series"].astype(str) + "@" + rows["year"].astype(int).astype(str)
    codes, names = pd.factorize(keys.to_numpy(dtype=object))
    columns = sorted(names.tolist())
    position = pd.Index(columns, dtype=object).get_indexer(names)[codes]
    values = np.full((len(index), len(columns)), np.nan)
    values[at[at >= 0], position] = rows["value"].to_numpy(dtype=float)
    return pd.DataFrame(values, index=index, columns=columns)


YEARLY = pd.DataFrame(
    {
        "project_id": pd.array(["B", "A", None, "A", "Z", "B", "A"], dtype="string"),
        "year": [2024, 2023, 2023, 2024, 2022, 2019, 2023],
        "series": pd.array(
            ["revenue_cny", "revenue_cny", "capex_cny", "ebitda_cny", "x", "y", "z"]
        ),
        "value": [1.0, 2.0, 3.0, np.nan, 5.0, -6.5, 7.25],
    }
)


@pytest.mark.parametrize("rows", [slice(None), slice(0, 0), slice(2, 3), slice(4, 5)])
def test_the_yearly_columns_are_those_of_the_plain_way(rows: slice) -> None:
    index = pd.Index(["A", "B", "C"], dtype="string")
    found = wide_yearly(YEARLY.iloc[rows], index)
    pd.testing.assert_frame_equal(found, plain_wide_yearly(YEARLY.iloc[rows], index))


def test_the_yearly_columns_go_back_to_the_long_table() -> None:
    index = pd.Index(["A", "B"], dtype="string")
    records = wide_yearly(YEARLY, index).rename_axis("project_id").reset_index()
    back = long_yearly(records).sort_values(["project_id", "series", "year"], ignore_index=True)
    assert back["series"].tolist() == ["revenue_cny", "z", "revenue_cny", "y"]
    assert back["value"].tolist() == [2.0, 7.25, 1.0, -6.5]


AWKWARD = [
    "abc",
    "  abc ",
    "",
    "   ",
    "\u3000",
    "\u3000x\u3000",
    "ＡＢＣ",
    " 南京 ",
    "\x1c",
    "a\x1cb",
]
AWKWARD += ["\u203e", "\u00a0", "\ufeff", "\u200b", "e\u0301", "\u0301", " \u0301", "Ⅻ", "ﬁ"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(), st.sampled_from(AWKWARD)), max_size=20))
def test_distinct_texts_are_read_as_each_cell_is_read(cells: list[str]) -> None:
    distinct = np.asarray(list(dict.fromkeys(cells)), dtype=object)
    plain = [None if is_missing(raw, "text") else parse_text(raw) for raw in distinct]
    assert _distinct_texts(distinct) == plain


def test_asked_once_per_programme_is_asked_per_rule() -> None:
    statuses = pd.DataFrame(
        {
            "credit_status": pd.Categorical(["eligible", "not_requested", None, "ineligible"]),
            "reit_status": ["not_requested", "eligible", "eligible", "not_requested"],
        }
    )
    programmes = {"R1": "credit", "R2": "reit", "R3": "credit", "R4": "green"}
    found, plain = _asked(statuses, programmes), asked_of(statuses, programmes)
    assert found.keys() == plain.keys() == {"R1", "R2", "R3"}
    for rule, asked in plain.items():
        np.testing.assert_array_equal(found[rule], asked)


@pytest.mark.parametrize("text", ["", "PUE", "a b c", "数据中心", "Ａ", "mixed 中文 text", "ᄀ"])
def test_a_cell_is_as_wide_as_before(text: str) -> None:
    assert _text_width(text) == len(text) + sum(1 for ch in text if ord(ch) >= 0x1100)


def plain_rank(results: pd.DataFrame) -> pd.DataFrame:
    """The way before: the whole frame taken in order, the rank column put in front."""
    ranked = results.take(_ranking_order(results))
    ranked.index = pd.RangeIndex(len(ranked))
    first = pd.DataFrame({"rank": np.arange(1, len(ranked) + 1)}, index=ranked.index)
    return pd.concat([first, ranked], axis=1)


def results_frame(rows: int, objects: bool) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "project_id": [f"P{i % (rows - 3):05d}" for i in range(rows)],
            "recommendation": pd.Categorical(
                rng.choice(["approve", "decline", "refer", None], rows)
            ),
            "score": np.where(rng.random(rows) < 0.2, np.nan, rng.integers(0, 100, rows)),
            "pd": np.where(rng.random(rows) < 0.2, np.nan, rng.random(rows).round(2)),
            "name": pd.array(rng.choice(["a", "b", None], rows), dtype="string"),
            "eligible": pd.array(rng.choice([True, False, None], rows), dtype="boolean"),
        }
    )
    extra = {f"x{i}": rng.random(rows) for i in range(3)}
    extra |= {f"R-{i}": pd.Categorical(rng.choice(["pass", "fail"], rows)) for i in range(120)}
    frame = pd.concat([frame, pd.DataFrame(extra)], axis=1)
    return frame.astype(object) if objects else frame


@pytest.mark.parametrize("objects", [False, True])
def test_ranking_column_by_column_gives_the_plain_ranking(objects: bool) -> None:
    results = results_frame(500, objects)
    expected = plain_rank(results)
    pd.testing.assert_frame_equal(rank(results.copy()), expected, check_exact=True)
    consumed = results.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no PerformanceWarning on an insert afterwards
        ranked = rank(consumed, consume=True)
        ranked.copy(deep=False).insert(3, "added", 1)
    pd.testing.assert_frame_equal(ranked, expected, check_exact=True)
    assert consumed.shape == (500, 0)


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS line")


@pytest.mark.skipif(_malloc_trim() is None, reason="a C library without malloc_trim")
def test_freed_frames_give_their_memory_back() -> None:
    arrays = [np.ones(100_000 // 8) for _ in range(3000)]  # 300 MB of heap blocks
    kept = arrays[::10]  # live blocks all over the heap: free() alone cannot shrink it
    del arrays
    before = _rss_bytes()
    release_freed_memory()
    assert _rss_bytes() < before - 150 * 2**20
    assert len(kept) == 300


@pytest.mark.slow
def test_the_floor_benchmark_runs_and_agrees_with_the_screen(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_floor.py"), "--rows", "400"]
        + ["--repeats", "1", "--keep", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "screen / floor:" in done.stdout
    share = float(done.stdout.split("equal to the screen's: ")[1].split("%")[0])
    assert share > 95.0, done.stdout
    floor = pd.read_parquet(tmp_path / "floor.parquet")
    assert len(floor) == 400 and floor.shape[1] > 50
    assert json.loads((tmp_path / "screening" / "manifest.json").read_text())["counts"]["files"]
