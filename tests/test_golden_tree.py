"""``golden_tree`` keeps nested results (the golden files of issue 19) and reads them back as
they were: dtypes, index, blanks and the types of values in a column of objects."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from golden_tree import _check_same, load_tree, save_tree


def test_a_tree_of_frames_arrays_and_values_reads_back_as_it_was(tmp_path):
    index = pd.Index(["A", "B", "C"], dtype="string", name="project_id")
    frame = pd.DataFrame(
        {
            "n": pd.array([1, None, 3], dtype="Int64"),
            "x": [0.1, np.nan, -0.0],
            "s": pd.array(["a", None, "c"], dtype="str"),
            "v": pd.Categorical(["pass", "fail", None], categories=["fail", "pass"]),
            "o": pd.array([1.5, pd.NA, (0.1, 2)], dtype=object),
            "when": pd.to_datetime(["2025-06-30", None, "2019-01-01"]),
        },
        index=index,
    )
    tree = {
        "read": (frame, frame.iloc[:0], {"file.xlsx": {"name": ("Sheet", "B3")}}),
        (dt.date(2025, 6, 30), None): [np.array([1, 2], dtype=np.int8), np.array([], float)],
        "plain": pd.DataFrame({"o": [None, "text", 2, True, dt.date(2025, 1, 1)]}),
        "values": [np.nan, 1, "x", None, pd.NA],
    }
    save_tree(tree, tmp_path)
    _check_same(load_tree(tmp_path), tree)
    assert sorted(p.name for p in tmp_path.iterdir())[-1] == "tree.json"


def test_a_change_is_seen():
    frame = pd.DataFrame({"o": pd.array([1, "1"], dtype=object)})
    with pytest.raises(AssertionError):
        _check_same(frame.assign(o=pd.array(["1", "1"], dtype=object)), frame)
    with pytest.raises(AssertionError):
        _check_same((np.array([1.0]),), (np.array([1.0], dtype=np.float32),))
