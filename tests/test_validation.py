"""Ranges, cross-field checks, programme needs and duplicates, each pointed at its cell."""

from __future__ import annotations

import pytest
from helpers import AS_OF, FULL_PROJECT, FULL_YEARLY, write_rows

from assessment import read_applications, write_template


def _read_one(tmp_path, **changes):
    values = {**FULL_PROJECT, **changes}
    values = {k: v for k, v in values.items() if v is not None}
    path = write_template(tmp_path / "app.xlsx", "en", values=values, yearly=FULL_YEARLY)
    return read_applications([path], as_of=AS_OF)


def _problems(result, severity="error"):
    frame = result.problems
    return frame[frame["severity"] == severity]


def test_complete_application_is_clean(tmp_path):
    assert _read_one(tmp_path).problems.empty


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("pue", 0.95, "between 1 and 3"),
        ("green_power_share", 1.2, "between 0 and 1"),
        ("loan_tenor_years", 70, "between 0 and 50 years"),
        ("racks", -5, "between 0 and 1,000,000 racks"),
    ],
)
def test_out_of_range_values_are_errors(tmp_path, field, value, expected):
    errors = _problems(_read_one(tmp_path, **{field: value}))
    assert errors[["field", "message", "expected"]].values.tolist() == [
        [field, "out of range", expected]
    ]
    assert errors.iloc[0]["cell"].startswith("B") and errors.iloc[0]["sheet"] == "Project"


def test_implausible_values_are_warnings(tmp_path):
    warnings = _problems(_read_one(tmp_path, pue=2.8), "warning")
    assert warnings[["field", "message"]].values.tolist() == [["pue", "an unusual value"]]


@pytest.mark.parametrize(
    ("changes", "field", "check"),
    [
        ({"equity_cny": 3.0e9}, "equity_cny", "equity_within_investment"),
        ({"loan_amount_cny": 2.5e9}, "loan_amount_cny", "loan_within_investment"),
        ({"it_energy_mwh": 300_000.0}, "it_energy_mwh", "it_energy_within_load"),
        ({"operating_since": "2026-01-01"}, "operating_since", "operating_since_not_future"),
        ({"cluster": "wuhu"}, "cluster", "cluster_in_hub"),
    ],
)
def test_cross_field_checks(tmp_path, changes, field, check):
    errors = _problems(_read_one(tmp_path, **changes))
    assert errors[["field", "hint"]].values.tolist() == [[field, f"check {check}"]]


def test_province_outside_the_hub_is_a_warning(tmp_path):
    result = _read_one(tmp_path, province="shanxi", cluster="none")
    assert _problems(result)["field"].tolist() == []
    assert _problems(result, "warning")["hint"].tolist() == ["check province_in_hub"]


def test_missing_fields_are_reported_per_programme(tmp_path):
    result = _read_one(tmp_path, pue=None, appraised_value_cny=None)
    warnings = _problems(result, "warning").set_index("field")
    assert warnings.loc["pue", "expected"] == "a value (needed for green, green_credit)"
    assert warnings.loc["appraised_value_cny", "expected"] == "a value (needed for reit)"
    assert _problems(result).empty


def test_optional_field_missing_is_not_a_problem(tmp_path):
    assert _read_one(tmp_path, compute_pflops=None, refrigerant_gwp=None).problems.empty


def test_rows_without_id_and_duplicate_ids_are_listed_not_lost(tmp_path):
    write_template(tmp_path / "a.xlsx", "en", values=FULL_PROJECT)
    write_rows(
        tmp_path / "list.xlsx",
        [["project_id", "project_name"], ["T-001", "twin"], [None, "orphan"], ["T-002", "fine"]],
    )
    projects, _, problems = read_applications([tmp_path], as_of=AS_OF)
    assert list(projects.index) == ["T-001", "T-002"]
    assert projects.loc["T-001", "project_name"] == "Gui'an hydro DC"
    errors = problems[problems["severity"] == "error"]
    assert errors[["cell", "field", "message"]].values.tolist() == [
        ["", "project_id", "duplicate project_id"],
        ["A3", "project_id", "missing"],
        ["row 2", "project_id", "duplicate project_id"],
    ]
