"""The condition language: parsing, errors with positions, and three-valued evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assessment.criteria.conditions import Comparison, ConditionError, Logic, evaluate, parse

FRAME = pd.DataFrame(
    {
        "facility_type": pd.array(["edge", "edge", "general", None], dtype="string"),
        "racks": pd.array([80, 150, 5000, None], dtype="Int64"),
        "hub": pd.array(["guizhou", "none", None, "gansu"], dtype="string"),
        "green_power_share": [0.85, 0.5, np.nan, 0.8],
        "title_clear": pd.array([True, False, None, True], dtype="boolean"),
    }
)


def truth(text: str) -> list[object]:
    value, known = evaluate(parse(text), FRAME)
    return [bool(v) if k else None for v, k in zip(value, known, strict=True)]


def test_parse_tree():
    assert parse("racks <= 100") == Comparison("racks", "<=", (100.0,))
    assert parse("a == x and not (b in (1, 2) or c is_blank)") == Logic(
        "and",
        (
            Comparison("a", "==", ("x",)),
            Logic(
                "not",
                (Logic("or", (Comparison("b", "in", (1.0, 2.0)), Comparison("c", "is_blank"))),),
            ),
        ),
    )
    assert parse("share between (60%, 0.8)") == Comparison("share", "between", (0.6, 0.8))
    assert parse("name == 'Gui an'") == Comparison("name", "==", ("Gui an",))
    assert parse("  ") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("facility_type == edge and racks <= 100", [True, False, False, None]),
        ("racks <= 100", [True, False, False, None]),
        ("hub != none", [True, False, None, True]),
        ("hub in (guizhou, gansu)", [True, False, None, True]),
        ("hub not_in (guizhou)", [False, True, None, True]),
        ("green_power_share > 80%", [True, False, None, False]),
        ("green_power_share between (0.5, 0.8)", [False, True, None, True]),
        ("racks is_blank", [False, False, False, True]),
        ("title_clear == true", [True, False, None, True]),
        ("not racks <= 100", [False, True, True, None]),
        ("racks <= 100 or hub == gansu", [True, False, None, True]),
        ("racks <= 100 and hub == gansu", [False, False, False, None]),
        ("hub == none or racks > 1000", [False, True, True, None]),
    ],
)
def test_three_valued_evaluation(text, expected):
    assert truth(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("racks <=", "expected a value"),
        ("racks 100", "expected a comparison"),
        ("racks <= 100 hub", "unexpected 'hub'"),
        ("(racks <= 100", r"expected \)"),
        ("racks between (1)", "expected 2 values"),
        ("racks ~ 3", "unexpected character '~'"),
        ("and racks", "expected a field or indicator name"),
    ],
)
def test_errors_say_what_and_where(text, message):
    with pytest.raises(ConditionError, match=message) as error:
        parse(text)
    assert "at character" in str(error.value)


def test_no_eval_of_text():
    with pytest.raises(ConditionError):
        parse("__import__('os').system('true')")


@pytest.mark.parametrize("text", ["(" * 51 + "a > 1" + ")" * 51, "not " * 51 + "a > 1"])
def test_nesting_past_the_limit_is_refused_not_a_recursion_error(text):
    with pytest.raises(ConditionError, match="nested deeper than 50 levels"):
        parse(text)
    assert parse("(" * 50 + "a > 1" + ")" * 50) == Comparison("a", ">", (1.0,))
