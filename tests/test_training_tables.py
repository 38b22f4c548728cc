"""Training reads its reference table, digests its data and words its errors the one way."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from helpers import ROOT
from trained import history as history_rows

from assessment.errors import ModelError, RuleError
from assessment.model.training import data_hash, load_directions, train_model

DIRECTIONS = ROOT / "rules" / "model" / "feature_directions.csv"


def test_the_packaged_directions_load_as_whole_numbers():
    directions = load_directions()
    assert directions == load_directions(DIRECTIONS)
    assert directions["dscr_min"] == -1 and directions["leverage"] == 1
    assert all(type(step) is int and step in (-1, 0, 1) for step in directions.values())


def test_a_direction_that_is_not_a_whole_number_names_its_row(tmp_path):
    table = tmp_path / "directions.csv"
    table.write_text("feature,direction,reason\ndscr_min,-1,x\nleverage,up,y\npue,,z\n")
    with pytest.raises(RuleError) as raised:
        load_directions(table)
    assert "row 3, column direction" in str(raised.value) and "'up'" in str(raised.value)
    table.write_text("feature,direction,reason\ndscr_min,-1,x\npue,,blank is not known\n")
    assert load_directions(table) == {"dscr_min": -1}


def test_the_data_digest_is_the_sha256_of_its_canonical_csv():
    data = pd.DataFrame({"a": [1.0, 0.1], "b": ["x", "é"]})
    text = data.to_csv(index=False, lineterminator="\n", float_format="%.17g")
    assert data_hash(data) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_a_holdout_out_of_range_is_shown_by_the_formatter():
    with pytest.raises(ModelError) as raised:
        train_model(history_rows(200), "defaulted", kind="logistic", holdout=1.5)
    assert "got 1.5" in str(raised.value)
