"""Issue 19: the stages sped up for one application give the tables they gave before.

``read_applications`` (projects, yearly rows, problems, cell addresses), ``add_indicators``
(at dates before the first emission factors, between publications and after the last, and with
a pinned factor year), ``evaluate_rules`` (each rule's codes, thresholds and points, the
programme results, the verdict table) and ``structural_absence`` are run by today's engine on
the sample workbooks (the broken ones too), the candidate lists and a 600-row list made from
the sample list, and compared with what the engine of commit ``4e70352`` (issue 19's baseline)
gave on the same inputs: the golden files ``tests/golden/issue19/stages/`` (``golden_tree``:
Parquet and JSON), written once by running that revision's engine in a process of its own
(``bench/baseline.py``: the revision's files from ``git archive``)::

    python bench/make_issue19_golden.py stages

Every table, array and value is compared; numbers to 1e-14 relative (the golden files were
written on one machine; numpy's exp and power may differ in the last bits on CPUs of other
instruction sets), everything else exactly, dtypes included.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from golden_tree import load_tree, save_tree
from helpers import ROOT
from pandas.api.types import is_object_dtype

GOLDEN = ROOT / "tests" / "golden" / "issue19" / "stages"
SAMPLES = Path("sample_projects")  # relative: the tables name their inputs so
INPUTS = [str(SAMPLES), str(SAMPLES / "broken"), str(SAMPLES / "candidates"), "list600.csv"]
READ = (".xlsx", ".csv", ".assessignore")  # the files of the input folders that are read

# The stages, run by either revision's engine: by today's in the test process, by 4e70352's
# in a process of its own (``write_golden``).
STAGES = r"""
import datetime as dt

from assessment.criteria.absence import structural_absence
from assessment.criteria.evaluate import evaluate_rules
from assessment.criteria.indicators import add_indicators
from assessment.criteria.rules import load_rules
from assessment.intake.read import read_applications

DATES = [dt.date(2019, 1, 1), dt.date(2023, 6, 30), dt.date(2025, 6, 30), dt.date(2027, 12, 31)]


def stages(paths):
    rules = load_rules()
    found = {}
    for path in paths:
        read = read_applications([path], as_of=dt.date(2025, 6, 30), jobs=1)
        frames = {"read": (*read, read.addresses)}
        for day in DATES:
            for year in (None, 2021):
                frames[(day, year)] = add_indicators(
                    read.projects, read.yearly, day, factor_year=year
                )
            evaluation = evaluate_rules(frames[(day, None)], rules, day)
            frames[("rules", day)] = (
                {key: (r.codes, r.thresholds, r.points) for key, r in evaluation.results.items()},
                evaluation.programmes,
                evaluation.table(),
                structural_absence(frames[(day, None)]),
            )
        found[path] = frames
    return found
"""


@contextlib.contextmanager
def inputs_folder(folder: Path):
    """``folder`` as the working folder, holding the inputs by the names in ``INPUTS``:
    ``sample_projects`` (a link to ours) and ``list600.csv``."""
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_screen import list_frame, sample_list

    (folder / "sample_projects").symlink_to(ROOT / "sample_projects")
    list_frame(sample_list(), 600, 6).to_csv(folder / "list600.csv", index=False)
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield folder
    finally:
        os.chdir(before)


def input_digests() -> dict[str, str]:
    """SHA-256 of each file the stages read, by its name (in the inputs folder)."""
    folders = [Path(p) for p in INPUTS if Path(p).is_dir()]
    files = [Path(p) for p in INPUTS if Path(p).is_file()]
    files += [f for p in folders for f in sorted(p.iterdir()) if f.name.endswith(READ)]
    return {f.as_posix(): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


@pytest.fixture(scope="module")
def stages(tmp_path_factory):
    """The tables of each input by stage, before and today; the digests of the inputs the
    golden files were made from, and of today's."""
    namespace: dict = {}
    exec(STAGES, namespace)  # the very code 4e70352's engine ran for the golden files
    with inputs_folder(tmp_path_factory.mktemp("stages")):
        today = namespace["stages"](INPUTS)
        digests = input_digests()
    golden = load_tree(GOLDEN)
    return golden["stages"], today, golden["inputs"], digests


RTOL = 1e-14  # numbers: relative, see the module's docstring


def _same(before: object, today: object) -> None:
    if isinstance(before, pd.DataFrame):
        _same_frame(before, today)
    elif isinstance(before, np.ndarray):
        assert isinstance(today, np.ndarray) and today.dtype == before.dtype
        if before.dtype.kind == "f":
            assert np.allclose(today, before, rtol=RTOL, atol=0, equal_nan=True)
        else:
            assert np.array_equal(today, before)
    elif isinstance(before, tuple | list):
        assert len(today) == len(before)
        for old, new in zip(before, today, strict=True):
            _same(old, new)
    elif isinstance(before, dict):
        assert list(today) == list(before)
        for key in before:
            _same(before[key], today[key])
    elif isinstance(before, float) and isinstance(today, float):
        same = math.isclose(today, before, rel_tol=RTOL, abs_tol=0)
        assert same or (before != before and today != today), (before, today)
    else:
        assert today == before or (before != before and today != today), (before, today)


def _same_frame(before: pd.DataFrame, today: pd.DataFrame) -> None:
    """The same columns, index and dtypes; numbers (floats, and the objects of a column of
    mixed values) to ``RTOL``, every other column exactly."""
    assert isinstance(today, pd.DataFrame)
    pd.testing.assert_index_equal(today.columns, before.columns, exact=True)
    close = [i for i, d in enumerate(before.dtypes) if is_object_dtype(d) or d.kind == "f"]
    exact = [i for i in range(before.shape[1]) if i not in close]
    pd.testing.assert_frame_equal(today.iloc[:, exact], before.iloc[:, exact], check_exact=True)
    pd.testing.assert_frame_equal(today.iloc[:, close], before.iloc[:, close], rtol=RTOL, atol=0)


@pytest.mark.slow
def test_read_indicators_and_rules_give_the_tables_they_gave_before(stages):
    before, today, inputs_before, inputs_today = stages
    assert inputs_today == inputs_before, (
        "the sample inputs changed since tests/golden/issue19/stages was written: write it "
        "again from 4e70352 (python bench/make_issue19_golden.py stages)"
    )
    assert list(today) == list(before)
    for path, frames in before.items():
        assert len(frames["read"][0]), path  # every input gives projects
        for key, old in frames.items():
            try:
                _same(old, today[path][key])
            except AssertionError as error:
                raise AssertionError(f"{path}, {key}: {error}") from None


def test_a_difference_in_the_last_bits_is_allowed_and_a_larger_one_found():
    frame = pd.DataFrame({"x": [1.0, np.nan], "n": [1, 2], "o": pd.array([0.1, "a"], dtype=object)})
    ulp = {"x": [np.nextafter(1.0, 2), np.nan], "o": pd.array([np.nextafter(0.1, 1), "a"], object)}
    _same(frame, frame.assign(**ulp))
    for changed in ({"x": [1.0 + 1e-12, np.nan]}, {"n": [1, 3]}, {"o": [0.1 + 1e-12, "a"]}):
        with pytest.raises(AssertionError):
            _same(frame, frame.assign(**changed))
    with pytest.raises(AssertionError):
        _same(frame, frame.astype({"n": "int32"}))
    _same((np.array([0.5, np.nan]), 2.0), (np.array([np.nextafter(0.5, 1), np.nan]), 2.0))
    for changed in (np.array([0.5, 0.5]), np.array([0.5 + 1e-12, np.nan])):
        with pytest.raises(AssertionError):
            _same(np.array([0.5, np.nan]), changed)
    with pytest.raises(AssertionError):
        _same(np.array([1, 2], dtype=np.int8), np.array([1, 3], dtype=np.int8))


# ---- making the golden files from 4e70352 (see the module's docstring) ---------------------


def write_golden(revision: str, folder: Path) -> None:
    """Run the stages with ``revision``'s engine in ``folder`` and keep what they gave."""
    import pickle

    sys.path.insert(0, str(ROOT / "bench"))
    from baseline import run_python

    code = (
        STAGES + "\nimport pickle, sys\npickle.dump(stages(sys.argv[2:]), open(sys.argv[1], 'wb'))"
    )
    with inputs_folder(folder):
        run_python(revision, code, str(folder / "stages.pkl"), *INPUTS, cwd=folder)
        found = {"stages": pickle.loads((folder / "stages.pkl").read_bytes())}
        found["inputs"] = input_digests()
    save_tree(found, GOLDEN)
