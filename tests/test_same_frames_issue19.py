"""Issue 19: the stages sped up for one application give the tables they gave before, exactly.

``read_applications`` (projects, yearly rows, problems, cell addresses), ``add_indicators``
(at dates before the first emission factors, between publications and after the last, and with
a pinned factor year), ``evaluate_rules`` (each rule's codes, thresholds and points, the
programme results, the verdict table) and ``structural_absence`` are run by the engine of the
commit ``4e70352`` (issue 19's baseline) in a process of its own (``bench/baseline.py``:
that revision's files
from ``git archive``) and by today's, on the sample workbooks (the broken ones too), the
candidate lists and a 600-row list made from the sample list, and compared with
``assert_frame_equal(check_exact=True)``.
"""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from baseline import BEFORE_ISSUE_19, commit_of, run_python  # noqa: E402

SAMPLES = ROOT / "sample_projects"

# Runs with either revision's engine: argv = [pickle path, input folder or file ...].
STAGES = r"""
import datetime as dt, pickle, sys

from assessment.criteria.absence import structural_absence
from assessment.criteria.evaluate import evaluate_rules
from assessment.criteria.indicators import add_indicators
from assessment.criteria.rules import load_rules
from assessment.intake.read import read_applications

DATES = [dt.date(2019, 1, 1), dt.date(2023, 6, 30), dt.date(2025, 6, 30), dt.date(2027, 12, 31)]
rules = load_rules()
found = {}
for path in sys.argv[2:]:
    read = read_applications([path], as_of=dt.date(2025, 6, 30), jobs=1)
    frames = {"read": (*read, read.addresses)}
    for day in DATES:
        for year in (None, 2021):
            frames[(day, year)] = add_indicators(read.projects, read.yearly, day, factor_year=year)
        evaluation = evaluate_rules(frames[(day, None)], rules, day)
        frames[("rules", day)] = (
            {key: (r.codes, r.thresholds, r.points) for key, r in evaluation.results.items()},
            evaluation.programmes,
            evaluation.table(),
            structural_absence(frames[(day, None)]),
        )
    found[path] = frames
with open(sys.argv[1], "wb") as out:
    pickle.dump(found, out)
"""


def _has_baseline() -> bool:
    try:
        commit_of(BEFORE_ISSUE_19)
    except SystemExit:
        return False
    return True


@pytest.fixture(scope="module")
def stages(tmp_path_factory):
    """(before, today): the tables of each input, by stage."""
    if not _has_baseline():
        pytest.skip(
            f"the revision {BEFORE_ISSUE_19} is not in this repository "
            "(a shallow clone: git fetch --unshallow)"
        )
    folder = tmp_path_factory.mktemp("stages")
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_screen import list_frame, sample_list

    listed = folder / "list600.csv"
    list_frame(sample_list(), 600, 6).to_csv(listed, index=False)
    inputs = [str(SAMPLES), str(SAMPLES / "broken"), str(SAMPLES / "candidates"), str(listed)]
    found = []
    for revision, name in ((BEFORE_ISSUE_19, "before.pkl"), (None, "today.pkl")):
        run_python(revision, STAGES, str(folder / name), *inputs)
        found.append(pickle.loads((folder / name).read_bytes()))
    return tuple(found)


def _same(before: object, today: object) -> None:
    if isinstance(before, pd.DataFrame):
        pd.testing.assert_frame_equal(today, before, check_exact=True)
    elif isinstance(before, np.ndarray):
        assert isinstance(today, np.ndarray) and today.dtype == before.dtype
        assert np.array_equal(today, before, equal_nan=before.dtype.kind == "f")
    elif isinstance(before, tuple | list):
        assert len(today) == len(before)
        for old, new in zip(before, today, strict=True):
            _same(old, new)
    elif isinstance(before, dict):
        assert list(today) == list(before)
        for key in before:
            _same(before[key], today[key])
    else:
        assert today == before or (before != before and today != today), (before, today)


@pytest.mark.slow
def test_read_indicators_and_rules_give_the_tables_they_gave_before(stages):
    before, today = stages
    assert list(today) == list(before)
    for path, frames in before.items():
        assert len(frames["read"][0]), path  # every input gives projects
        for key, old in frames.items():
            try:
                _same(old, today[path][key])
            except AssertionError as error:
                raise AssertionError(f"{path}, {key}: {error}") from None
