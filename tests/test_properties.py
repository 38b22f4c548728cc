"""Properties: reading never raises on arbitrary cell content; units round-trip."""

from __future__ import annotations

import datetime as dt

from conftest import AS_OF, write_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assessment import read_applications
from assessment.values import BadValue, parse_cell

EXCEL_CELLS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)),
    st.sampled_from(
        [
            "85%",
            "3.5亿元",
            "１２００",
            "是",
            "N/A",
            "(12)",
            "2021年6月",
            "1,2,3",
            "1e400",
            "--",
            "USD 5",
            "%",
            "亿元",
        ]
    ),
)


CELLS = st.one_of(EXCEL_CELLS, st.floats(allow_nan=True, allow_infinity=True))


@settings(max_examples=300, deadline=None)
@given(raw=CELLS, unit=st.sampled_from(["", "%", "万元", "USD", "kW", "bogus"]))
def test_parse_cell_only_ever_raises_bad_value(dictionary, raw, unit):
    for field in dictionary.fields.values():
        try:
            parse_cell(raw, unit, field, dictionary)
        except BadValue as bad:
            assert bad.expected


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.lists(EXCEL_CELLS, min_size=1, max_size=6), min_size=1, max_size=6))
def test_reading_a_list_never_raises(tmp_path, rows):
    header = ["project_id", "pue", "operating_since", "province", "title_clear", "revenue_cny_2023"]
    clean = [[c.isoformat() if isinstance(c, dt.date) else c for c in row] for row in rows]
    clean = [
        [c if not isinstance(c, str) or c.isprintable() else "x" for c in row] for row in clean
    ]
    path = write_rows(tmp_path / "fuzz.xlsx", [header, *clean])
    projects, _, problems = read_applications([path], as_of=AS_OF)
    filled = sum(any(c is not None and str(c).strip() for c in row) for row in clean)
    ids = problems[(problems["field"] == "project_id") & (problems["severity"] == "error")]
    missing = (ids["message"] == "missing").sum()
    repeats = ids[ids["message"] == "duplicate project_id"]
    dropped = len(repeats) - repeats["project_id"].nunique()
    assert len(projects) + missing + dropped == filled, "every non-empty row is accounted for"


@settings(max_examples=200, deadline=None)
@given(
    value=st.floats(0, 1e12, allow_nan=False),
    unit=st.sampled_from(["元", "万元", "亿元", "CNY million", "RMB bn"]),
)
def test_currency_units_round_trip(dictionary, value, unit):
    factor = dictionary.unit(unit).factor
    written = value / float(factor)
    read = parse_cell(written, unit, dictionary.fields["total_investment_cny"], dictionary)
    assert abs(read - value) <= 1e-9 * max(1.0, value)
