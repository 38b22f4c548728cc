"""Properties: reading never raises on arbitrary cell content; units round-trip; every odd
project gets a decision or a reason, the same through the score and the screen."""

from __future__ import annotations

import csv
import datetime as dt
from functools import lru_cache
from pathlib import Path

import openpyxl
import pandas as pd
from helpers import AS_OF, FULL_PROJECT, FULL_YEARLY, ROOT, write_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from assessment import read_applications
from assessment.decision.decide import programmes_as_asked
from assessment.errors import AssessmentError
from assessment.intake.cells import BadValue, parse_cell, plain
from assessment.intake.dictionary import PROGRAMMES
from assessment.model.persist import default_model_path, load_model
from assessment.pipeline import project_records, score_applications
from assessment.screening.batch import screen_inputs
from assessment.screening.records import RECOMMENDATIONS, Settings, cached_rules

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


# -- the whole pipeline: every generated project gets a decision or a reason -----------------
MODEL_PATH = str(default_model_path())
COLUMNS = [*FULL_PROJECT, *(f"{s}_{y}" for s, years in FULL_YEARLY.items() for y in years)]
VALID = FULL_PROJECT | {f"{s}_{y}": v for s, years in FULL_YEARLY.items() for y, v in years.items()}
ODD_CELLS = [
    *("", " ", "nan", "NaN", "inf", "-inf", "Infinity", "1e400", "1e30", "-1e30", "-1", "0"),
    *("99999999999999999999", "0.5", "40", "abc", "是", "85%", "=1+1", "N/A", "3.5亿元"),
    *("1900-01-01", "2999-12-31", "13/13/2020", "\x00", "\u200b", "TRUE", "none"),
]
ODD_IDS = ["", "\x00\x00", "P-1\u200b", "Ｐ－１", "12345678901234567890", "=cmd", "P 1"]
AS_OF_DATES = [AS_OF, dt.date(1900, 1, 1), dt.date(1990, 1, 1), dt.date(2100, 12, 31)]


def odd_value(column: str) -> st.SearchStrategy:
    """The column's valid value, or something odd: blank, a marker, out of range, huge,
    negative, NaN, inf, text where a number belongs, a number where text belongs."""
    if column == "project_id":
        return st.one_of(st.sampled_from(["P-1", "P-2", "P-3"]), st.sampled_from(ODD_IDS))
    return st.one_of(
        st.just(VALID[column]),
        st.sampled_from(ODD_CELLS),
        st.floats().map(repr),
        st.integers(-(10**25), 10**25).map(str),
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=8),
    )


ODD_ROWS = st.lists(
    st.fixed_dictionaries({column: odd_value(column) for column in COLUMNS}),
    min_size=1,
    max_size=4,
)
KEPT_COLUMNS = st.sets(st.sampled_from(COLUMNS)).map(  # the columns left out: a few, any
    lambda dropped: [c for c in COLUMNS if c not in dropped]
)


@lru_cache(maxsize=1)
def risk_model():
    return load_model(MODEL_PATH)


def write_list(path: Path, columns: list[str], rows: list[dict]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows([row[c] for c in columns] for row in rows)
    return path


def written_rows(rows: list[dict], columns: list[str]) -> list[int]:
    """The sheet row numbers of the rows with any cell written."""
    return [n for n, row in enumerate(rows, start=2) if any(str(row[c]).strip() for c in columns)]


def rows_with_errors(problems: pd.DataFrame) -> set[object]:
    """Rows (numbers) named by an error, and ``"file"`` for an error on the whole file."""
    errors = problems[problems["severity"] == "error"]
    digits = errors["cell"].astype(str).str.extract(r"(\d+)", expand=False)
    return {int(d) if isinstance(d, str) else "file" for d in digits}


def assert_score_answers_every_row(scored, rows: list[int]) -> None:
    decisions = scored.decisions["recommendation"]
    assert decisions.isin(RECOMMENDATIONS).all()
    records = project_records(scored)  # the JSON of assess score
    assert [r["decision"]["recommendation"] for r in records] == decisions.tolist()
    kept = set(scored.applications.projects["source_row"].dropna().astype(int))
    refused = rows_with_errors(scored.applications.problems)
    lost = [n for n in rows if n not in kept and n not in refused and "file" not in refused]
    assert not lost, f"rows {lost} neither decided nor refused with a reason"


def assert_screen_answers_every_row(screening, rows: list[int]) -> None:
    results, rejected = screening.results, screening.rejected
    assert results["recommendation"].isin(RECOMMENDATIONS).all()
    assert (rejected["reasons"].str.len() > 0).all()
    kept = set(results["source_row"].dropna().astype(int))
    refused = set(rejected["row"].dropna().astype(int))
    whole_file = rejected["row"].isna().any()
    lost = [n for n in rows if n not in kept and n not in refused and not whole_file]
    assert not lost, f"rows {lost} neither screened nor rejected"


def assert_same_decisions(scored, screening) -> None:
    """A project screened gets the score's recommendation and programme eligibility; one the
    screen rejects for its input errors is incomplete in the score."""
    screened = screening.results.set_index("project_id")
    decisions = scored.decisions["recommendation"]
    programmes = programmes_as_asked(scored.evaluation)  # what every output shows
    for project_id in decisions.index:
        if project_id not in screened.index:
            assert project_id in set(screening.rejected["project_id"])
            assert decisions[project_id] == "incomplete", project_id
            continue
        assert screened.at[project_id, "recommendation"] == decisions[project_id], project_id
        for programme in PROGRAMMES:
            column = f"{programme}_eligible"
            assert plain(screened.at[project_id, column]) == plain(
                programmes.at[project_id, column]
            )
    assert set(screened.index) <= set(decisions.index)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=ODD_ROWS, columns=KEPT_COLUMNS, as_of=st.sampled_from(AS_OF_DATES))
def test_every_odd_project_is_decided_or_refused_by_score_and_screen(
    tmp_path, rows, columns, as_of
):
    """score_applications and screen_inputs raise nothing but the engine's own errors, answer
    every written row (a decision, or a problem / rejection with its reason) and agree."""
    path = write_list(tmp_path / "odd.csv", columns, rows)
    try:
        scored = score_applications(
            [path], as_of=as_of, rules=cached_rules(None), model=risk_model()
        )
        screening = screen_inputs([path], Settings(as_of=as_of, model=MODEL_PATH), jobs=1)
    except AssessmentError:
        return
    written = written_rows(rows, columns)
    assert_score_answers_every_row(scored, written)
    assert_screen_answers_every_row(screening, written)
    assert_same_decisions(scored, screening)


FORMS = [ROOT / "sample_projects" / name for name in ("04_beijing_retrofit_high_pue.xlsx",)]
FORMS.append(ROOT / "sample_projects" / "05_zhangjiakou_reit_ready.xlsx")
TYPED_CELLS = st.one_of(
    st.sampled_from([c for c in ODD_CELLS if not ILLEGAL_CHARACTERS_RE.search(c)]),
    st.sampled_from([None, True, 1e30, -1e30, 10**20, -1, 0, 0.5, 40, 1e-300]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2100, 12, 31)),
)


@lru_cache(maxsize=2)
def form_keys(path: Path) -> dict[str, int]:
    """field key -> row of its value on the project sheet (the second; keys in column F)."""
    sheet = openpyxl.load_workbook(path).worksheets[1]
    return {row[5].value: row[5].row for row in sheet.iter_rows(min_row=2) if row[5].value}


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    form=st.sampled_from(FORMS),
    edits=st.dictionaries(st.sampled_from(COLUMNS[:-17]), TYPED_CELLS, min_size=1, max_size=4),
    as_of=st.sampled_from(AS_OF_DATES),
)
def test_an_application_workbook_with_odd_cells_is_decided_or_refused(tmp_path, form, edits, as_of):
    """Real number, date and boolean cells of the official workbook: one decision or one
    rejection with its reason, the same through the score and the screen."""
    book = openpyxl.load_workbook(form)
    keys = form_keys(form)
    for key, value in edits.items():
        if key in keys:
            book.worksheets[1].cell(keys[key], 2).value = value
    path = tmp_path / "form.xlsx"
    book.save(path)
    scored = score_applications([path], as_of=as_of, rules=cached_rules(None), model=risk_model())
    screening = screen_inputs([path], Settings(as_of=as_of, model=MODEL_PATH), jobs=1)
    assert len(screening.results) + len(screening.rejected) == 1
    assert len(scored.decisions) == 1 or rows_with_errors(scored.applications.problems)
    assert scored.decisions["recommendation"].isin(RECOMMENDATIONS).all()
    assert_same_decisions(scored, screening)
