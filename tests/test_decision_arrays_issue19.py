"""Issue 19: the pieces of the decision made for all projects at once write exactly what the
per-project code wrote. Each is compared with its old self, value by value, on values made by
Hypothesis (missing ones, -0.0, NaN and infinities, numpy scalars, texts, lists) and on the
sample projects. The outputs as a whole are compared with the engine before issue 19 in
``test_same_outputs_issue19.py``."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from assessment._shared.text import is_missing, joined, shown, written
from assessment.criteria.indicators import FALLBACK
from assessment.decision.gaps import assumptions
from assessment.decision.reasons import PLACEHOLDER, remedy_texts
from assessment.decision.verdicts import plain_values
from assessment.intake.cells import plain
from assessment.intake.dictionary import load_dictionary
from assessment.reports.fields import unit_of
from assessment.reports.numbers import for_people
from assessment.reports.pdf.style import load_template
from assessment.screening.records import reasons_text, reasons_texts

UNITS = ("", "fraction", "CNY", "year", "x", "years", "MW", "L/kWh")
FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, -0.0, 1.0, 0.5, 1e16, 123456.5, 0.004, -2.5, float("nan"), float("inf")]
)
SCALARS = st.one_of(
    FLOATS,
    st.none(),
    st.integers(-(10**12), 10**12),
    st.booleans(),
    st.text(max_size=6),
    st.floats(-1e12, 1e12).map(np.float64),  # numpy warns of an overflow, Python does not
    st.integers(-1000, 1000).map(np.int64),
)
VALUES = st.lists(st.one_of(SCALARS, st.lists(FLOATS, max_size=3)), max_size=40)


@settings(max_examples=150, deadline=None)
@given(VALUES, st.sampled_from(UNITS))
def test_written_writes_each_value_as_the_writer_does(values, unit):
    for write in (shown, repr, lambda v: for_people(v, unit) if not isinstance(v, list) else "l"):
        assert written(values, write).tolist() == [write(v) for v in values]


@settings(max_examples=50, deadline=None)
@given(st.lists(FLOATS, max_size=40), st.sampled_from(UNITS))
def test_written_writes_a_float_column_as_the_writer_does(values, unit):
    column = np.asarray(values, dtype=float)
    found = written(column, lambda v: for_people(v, unit))
    assert found.tolist() == [for_people(v, unit) for v in column]


def test_written_tells_zero_from_minus_zero_and_none_from_nan():
    assert written([0.0, -0.0, None, math.nan], repr).tolist() == ["0.0", "-0.0", "None", "nan"]
    assert written([1, True, 1.0], repr).tolist() == ["1", "True", "1.0"]


DATES = st.dates(dt.date(1990, 1, 1), dt.date(2040, 1, 1))
PLAIN = st.one_of(
    SCALARS,
    st.just(pd.NA),
    st.just(pd.NaT),
    DATES,
    DATES.map(pd.Timestamp),
    st.booleans().map(np.bool_),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(PLAIN, max_size=30))
def test_plain_values_are_plain_value_by_value(values):
    found = plain_values(np.fromiter(values, dtype=object, count=len(values))).tolist()
    expected = [plain(v) for v in values]
    assert [(type(v), _same(v)) for v in found] == [(type(v), _same(v)) for v in expected]


@settings(max_examples=50, deadline=None)
@given(st.lists(FLOATS, max_size=30))
def test_plain_values_of_a_float_column(values):
    found = plain_values(np.asarray(values, dtype=float)).tolist()
    assert [_same(v) for v in found] == [_same(plain(np.float64(v))) for v in values]


def _same(value: object) -> object:
    """A value comparable with ==, -0.0 apart from 0.0."""
    return repr(value) if isinstance(value, float) else value


# --- the Screening sheet's reasons: the old per-project code, as it was before issue 19 ----


def old_reasons_text(reasons: list[dict]) -> str:
    parts = []
    for reason in reasons or []:
        if reason.get("kind") == "model":
            parts.append(_old_model_reason(reason))
            continue
        unit = reason.get("unit") or unit_of(reason.get("metric") or "")
        value, threshold = (_old_shown(reason.get(k), unit) for k in ("value", "threshold"))
        verdict = "" if reason.get("verdict") == "fail" else f" [{reason.get('verdict')}]"
        parts.append(
            f"{reason['criterion']}{verdict}: {value} vs {reason.get('operator', '')} "
            f"{threshold} ({reason.get('source', '')})"
        )
    return "; ".join(parts)


def _old_model_reason(reason: dict) -> str:
    name = reason["criterion"]
    field = load_dictionary().fields.get(name)
    figures = load_template("en.yaml")["figures"]
    label = field.label("en") if field is not None else figures.get(name, name)
    effect = "raises" if reason["contribution"] > 0 else "lowers"
    value = reason.get("value")
    said = "not given" if is_missing(value) else for_people(value, unit_of(name))
    return f"model: {label} {said}, {effect} the PD"


def _old_shown(value: object, unit: str = "") -> str:
    if isinstance(value, list | tuple):
        return f"({joined(for_people(v, unit) for v in value)})"
    return for_people(value, unit)


METRICS = (
    "pue_assessed",
    "dscr_forecast_min",
    "green_power_share",
    "it_load_mw",
    "",
    "loan_amount_cny",
)
FEATURES = ("equity_ratio", "dscr_min", "wale_years", "pue", "not_a_field", "cooling_type")
RULE_REASON = st.fixed_dictionaries(
    {
        "kind": st.just("rule"),
        "criterion": st.sampled_from(["CR-DSCR-MIN", "GRN-PUE", "R"]),
        "verdict": st.sampled_from(["fail", "insufficient", "borderline", "doubted", None]),
        "metric": st.sampled_from(METRICS),
        "unit": st.sampled_from(["", None, "x", "fraction"]),
        "value": st.one_of(SCALARS, st.lists(FLOATS, max_size=2)),
        "operator": st.sampled_from([">=", "<=", "in", None]),
        "threshold": st.one_of(SCALARS, st.lists(FLOATS, max_size=3)),
        "source": st.sampled_from(["ENGINE-CREDIT", "GB40879", None]),
    }
)
MODEL_REASON = st.fixed_dictionaries(
    {
        "kind": st.just("model"),
        "criterion": st.sampled_from(FEATURES),
        "value": st.one_of(FLOATS, st.none(), st.text(max_size=4), st.integers(0, 3000)),
        "contribution": st.floats(-2, 2),
    }
)
PROJECTS = st.lists(st.lists(RULE_REASON | MODEL_REASON, max_size=5) | st.none(), max_size=12)


@settings(max_examples=60, deadline=None)
@given(PROJECTS)
def test_the_screening_reasons_of_many_projects_are_each_as_before(projects):
    assert reasons_texts(projects) == [old_reasons_text(found) for found in projects]


def test_a_reason_without_its_optional_keys_is_written_as_before():
    reason = {"criterion": "R", "value": 1.0, "threshold": [1.0, 2.5]}
    assert reasons_text([reason]) == old_reasons_text([reason]) == "R [None]: 1 vs  (1; 2.5) ()"


# --- remedies filled with a project's values, and the assumptions made: as before ----------


def old_remedy(remedy: str, frame: pd.DataFrame, pid: object) -> str:
    return PLACEHOLDER.sub(lambda m: _old_field_text(frame, pid, m[1]), remedy)


def _old_field_text(frame: pd.DataFrame, pid: object, name: str) -> str:
    value = frame.at[pid, name] if name in frame.columns else None
    if value is None or (not isinstance(value, str | list | tuple) and bool(pd.isna(value))):
        return "-"
    return value.date().isoformat() if isinstance(value, pd.Timestamp) else str(plain(value))


def old_assumptions(row: dict) -> list[dict]:
    project = {key: plain(value) for key, value in row.items()}
    found = []
    if project.get("pue_basis") == "design":
        text = "PUE assessed on the design value (no measured annual PUE used)"
        found.append({"code": "design_pue", "text": text})
    if project.get("emission_factor_level") in ("regional", "national"):
        facts = {
            "level": str(project["emission_factor_level"]),
            "area": str(project.get("emission_factor_area")),
            "year": plain(project.get("emission_factor_year")),
        }
        text = f"grid emission factor at {facts['level']} level ({facts['area']}, {facts['year']})"
        found.append({"code": "grid_factor_level", **facts, "text": text})
    if project.get("emission_factor_status") == FALLBACK:
        text = "no official grid emission factor published by the assessment date: fallback used"
        found.append({"code": "factor_fallback", "text": text})
    return found


def odd_projects() -> pd.DataFrame:
    """Projects with every kind of value a remedy or an assumption reads, blanks included."""
    return pd.DataFrame(
        {
            "operating_since": pd.to_datetime(["2023-09-01", None, "2019-01-31", None]),
            "pue": [1.25, np.nan, 1.0, -0.0],
            "racks": pd.array([100, None, 0, 7], dtype="Int64"),
            "province": pd.array(["guizhou", None, "beijing", ""], dtype="string"),
            "liquid": pd.array([True, None, False, True], dtype="boolean"),
            "pue_basis": ["design", "measured", None, "design"],
            "emission_factor_level": ["regional", "national", "provincial", None],
            "emission_factor_area": ["north", None, "x", "y"],
            "emission_factor_year": pd.array([2022, None, 2021, 2020], dtype="Int64"),
            "emission_factor_status": [FALLBACK, "official", None, FALLBACK],
        },
        index=pd.Index(["A", "B", "C", "D"], dtype="str"),
    )


def test_remedies_are_filled_with_each_projects_values_as_before():
    frame = odd_projects()
    remedy = "from {operating_since}; pue {pue}, {racks} racks in {province} ({liquid}) {nothing}"
    found = remedy_texts(remedy, frame, np.arange(len(frame)))
    assert found.tolist() == [old_remedy(remedy, frame, pid) for pid in frame.index]
    assert found[0] == "from 2023-09-01; pue 1.25, 100 racks in guizhou (True) -"


def test_the_assumptions_made_are_as_before():
    frame = odd_projects()
    expected = [old_assumptions(row) for row in frame.to_dict("records")]
    assert assumptions(frame) == expected
    assert [len(found) for found in expected] == [3, 1, 0, 2]  # every kind made
    assert assumptions(frame.drop(columns=["pue_basis"]))[0][0]["code"] == "grid_factor_level"
