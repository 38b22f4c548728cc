"""The sample inputs in sample_projects/: the committed files are the ones their sources
generate, the values read from them match the golden files exactly, a few facts checked by
hand against sample_projects/source/projects.toml hold, the README's first command screens
them with exit 0, and the inputs broken on purpose (sample_projects/broken/) are rejected."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import re
import shlex
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from helpers import AS_OF, ROOT, compare_golden

from assessment import read_applications
from assessment.cli import main

SAMPLES = ROOT / "sample_projects"
BROKEN_DIR = SAMPLES / "broken"
GOLDEN = ROOT / "tests" / "golden"
UPDATE = (
    "run `python -m pytest tests/test_samples.py --update-golden` and review "
    "`git diff tests/golden`"
)
CANDIDATE_LIST = "sample_projects/candidates/candidate_list_2025.xlsx"
ERROR_ROWS = "sample_projects/broken/candidate_rows_with_errors.xlsx"
EDGE_SITES = "sample_projects/candidates/edge_sites_gbk.csv"


def _load_build():
    """sample_projects/build.py, a script rather than a module of the package."""
    spec = importlib.util.spec_from_file_location("sample_projects_build", SAMPLES / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look up the module of their class
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def read():
    """(projects, yearly, problems) of the whole folder and broken/ (which a walk of the folder
    leaves out), file paths relative to the repo."""
    projects, yearly, problems = read_applications([SAMPLES, BROKEN_DIR], as_of=AS_OF)
    projects = projects.assign(source_file=projects["source_file"].map(_relative))
    return projects, yearly, problems.assign(file=problems["file"].map(_relative))


def _relative(path: str) -> str:
    return Path(path).resolve().relative_to(ROOT).as_posix()


# ------------------------------------------------------------------------------------------
# The committed files are generated from their sources
# ------------------------------------------------------------------------------------------
def test_committed_samples_match_their_source():
    differences = _load_build().verify()
    assert not differences, "\n".join(
        ["the sample files differ from their sources (python sample_projects/build.py):"]
        + differences[:40]
    )


# ------------------------------------------------------------------------------------------
# Golden files: every value and problem read, exactly
# ------------------------------------------------------------------------------------------
def _text(value: object) -> str:
    """A cell of a golden file: floats as repr (exact), dates as ISO, blanks empty."""
    if not isinstance(value, str) and pd.isna(value):
        return ""
    if isinstance(value, float):
        return repr(float(value))
    if isinstance(value, dt.datetime) and value == value.replace(hour=0, minute=0, second=0):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _golden_text(read, name: str) -> str:
    projects, yearly, problems = read
    frame, index = {
        "projects": (projects, True),
        "yearly": (yearly, False),
        "problems": (problems, False),
    }[name]
    text = frame.map(_text).to_csv(index=index, lineterminator="\n")
    return text.replace(f"{ROOT}/", "")  # an absolute path in a hint


@pytest.mark.parametrize("name", ["projects", "yearly", "problems"])
def test_sample_values_match_the_golden_files(read, name, update_golden):
    compare_golden(GOLDEN / f"samples_{name}.csv", _golden_text(read, name), update_golden, UPDATE)


# ------------------------------------------------------------------------------------------
# Facts checked by hand against source/projects.toml
# ------------------------------------------------------------------------------------------
def _series(yearly: pd.DataFrame, project_id: str, series: str) -> dict[int, float]:
    rows = yearly[yearly["project_id"].eq(project_id) & yearly["series"].eq(series)]
    return {
        int(year): float(value) for year, value in zip(rows["year"], rows["value"], strict=True)
    }


def _values(projects: pd.DataFrame, project_id: str, fields) -> dict[str, float]:
    return {name: float(projects.at[project_id, name]) for name in fields}


def test_reit_ready_sample_has_four_years_of_cash_flow_and_three_forecast_years(read):
    projects, yearly, _ = read
    assert _series(yearly, "DC-2025-005", "operating_cash_flow_cny") == {
        2021: 8.5e7,
        2022: 9.3e7,
        2023: 9.9e7,
        2024: 1.04e8,
    }
    assert _series(yearly, "DC-2025-005", "distributable_cash_cny") == {
        2025: 7.9e7,
        2026: 8.2e7,
        2027: 8.5e7,
    }
    assert projects.at["DC-2025-005", "financing_purpose"] == "reit"
    assert projects.at["DC-2025-005", "appraised_value_cny"] == 1.48e9
    assert pd.isna(projects.at["DC-2025-005", "loan_amount_cny"])  # a REIT borrows nothing


# The units demo as the TOML writes it (value and unit in the comment) and in base units.
UNITS_DEMO = {
    "it_load_mw": 20.0,  # 20000.0 kW
    "rack_utilisation": 0.68,  # 68.0 %
    "it_energy_mwh": 108_624.0,  # 10862.4 万千瓦时
    "green_power_share": 0.70,  # 70.0 %
    "total_investment_cny": 2.2e8,  # 2.2 亿元
    "equity_cny": 6.6e7,  # 6600.0 万元
    "loan_amount_cny": 1.5e8,  # 1.5 亿元
    "loan_tenor_years": 10.0,  # 120.0 months
    "contracted_revenue_share": 0.72,  # 72.0 %
    "top_tenant_share": 0.45,  # 45.0 %
    "wale_years": 4.5,  # 54.0 months
    "appraised_value_cny": 2.6e8,  # 2.6 亿元
}


def _exactly(expected):
    """Equal but for the last binary digit: a unit's factor multiplies in floating point, so
    2.2 亿元 reads 220000000.00000003."""
    return pytest.approx(expected, rel=1e-15, abs=0)


def test_units_demo_sample_reads_in_base_units(read):
    projects, yearly, _ = read
    assert _values(projects, "DC-2025-011", UNITS_DEMO) == _exactly(UNITS_DEMO)
    assert _series(yearly, "DC-2025-011", "revenue_cny") == {2023: 1.45e7, 2024: 4.8e7}  # 万元
    assert _series(yearly, "DC-2025-011", "debt_service_cny") == {2023: 4.5e6, 2024: 1.35e7}


def test_usd_sample_converts_at_its_exchange_rate(read):
    projects, _, _ = read
    fields = ["fx_usd_cny", "total_investment_cny", "equity_cny", "loan_amount_cny"]
    # USD million x 7.2: 72.0, 25.0 and 45.0 in the TOML
    expected = {
        "fx_usd_cny": 7.2,
        "total_investment_cny": 518.4e6,
        "equity_cny": 180e6,
        "loan_amount_cny": 324e6,
    }
    assert _values(projects, "DC-2025-016", fields) == _exactly(expected)


def test_edge_sample_reads_kw_and_wan_yuan(read):
    projects, _, _ = read
    fields = ["it_load_mw", "total_investment_cny", "equity_cny", "loan_amount_cny"]
    # 120.0 kW; 224.0, 78.0 and 140.0 万元
    expected = {
        "it_load_mw": 0.12,
        "total_investment_cny": 2.24e6,
        "equity_cny": 7.8e5,
        "loan_amount_cny": 1.4e6,
    }
    assert _values(projects, "DC-2025-003", fields) == _exactly(expected)


def test_candidate_list_and_edge_sites_yield_every_row(read):
    projects, _, _ = read
    listed = projects.index[projects["source_file"].eq(CANDIDATE_LIST)]
    wrong = {"CL-0107", "CL-0131", "CL-0171"}  # in broken/candidate_rows_with_errors.xlsx
    assert len(listed) == 207
    assert set(listed) == {f"CL-{n:04d}" for n in range(1, 211)} - wrong
    assert set(projects.index[projects["source_file"].eq(ERROR_ROWS)]) == wrong
    edge = projects.index[projects["source_file"].eq(EDGE_SITES)]
    assert set(edge) == {f"ES-{n:03d}" for n in range(1, 21)}


# Every problem other than a programme field left blank, by file: (cell, field, severity, check).
# The cells are the rows of the template's Project sheet (Key column F): province row 6,
# cluster 9, rack_utilisation 16, pue 19, equity_cny 28, operating_since 37.
BROKEN = {
    "12_broken_pue_and_equity.xlsx": {
        ("B19", "pue", "error", ""),  # 0.95
        ("B33", "equity_cny", "error", "equity_within_investment"),  # 3.1e8 > 2.8e8
    },
    "13_broken_future_date_and_share.xlsx": {
        ("B16", "rack_utilisation", "error", ""),  # 85.0 as a fraction
        ("B43", "operating_since", "error", "operating_since_not_future"),  # 2032-03-01
    },
    "14_broken_cluster_not_in_hub.xlsx": {
        ("B9", "cluster", "error", "cluster_in_hub"),  # shaoguan in the YRD hub
        ("B9", "cluster", "warning", "cluster_in_province"),  # and in Jiangsu
    },
    "15_broken_missing_name_bad_province.xlsx": {
        ("B6", "province", "error", ""),  # "Guizhuo"
    },
}


def _reported(problems: pd.DataFrame, file: str) -> set[tuple[str, str, str, str]]:
    found = problems[problems["file"].eq(file) & ~problems["message"].eq("missing")]
    return {(row.cell, row.field, row.severity, _check(row.hint)) for row in found.itertuples()}


def _check(hint: object) -> str:
    """The cross-field check a problem comes from ("" for a single-value problem)."""
    return hint.removeprefix("check ") if str(hint).startswith("check ") else ""


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_sample_errors_are_at_the_expected_cells(read, name):
    _, _, problems = read
    assert _reported(problems, f"sample_projects/broken/{name}") == BROKEN[name]


def test_sound_samples_report_no_error_or_warning(read):
    _, _, problems = read
    assert sorted(path.name for path in BROKEN_DIR.glob("[0-9][0-9]_*.xlsx")) == list(BROKEN)
    sound = [path.name for path in sorted(SAMPLES.glob("[0-9][0-9]_*.xlsx"))]
    assert len(sound) == 12 and not set(sound) & set(BROKEN)
    for name in sound:
        assert _reported(problems, f"sample_projects/{name}") == set(), name


# The three wrong cells planted in the candidate list, moved with their rows to
# broken/candidate_rows_with_errors.xlsx (header on row 4 as in the list), and what each holds.
PLANTED = {
    ("P5", "pue", "error"): 4.2,  # CL-0107, meant 1.42
    ("M6", "it_load_mw", "error"): "unknown",  # CL-0131
    ("N7", "rack_utilisation", "error"): 128,  # CL-0171, 128 %
}


def test_candidate_list_errors_are_the_planted_cells_in_broken(read):
    _, _, problems = read
    errors = problems[problems["severity"].eq("error")]
    assert not errors["file"].eq(CANDIDATE_LIST).any()
    found = errors[errors["file"].eq(ERROR_ROWS)]
    assert set(zip(found["cell"], found["field"], found["severity"], strict=True)) == set(PLANTED)
    book = openpyxl.load_workbook(ROOT / ERROR_ROWS, read_only=True)
    sheet = book.worksheets[0]
    cells = {key: sheet[key[0]].value for key in PLANTED}
    header = [cell.value for cell in sheet[4]]
    book.close()
    assert cells == PLANTED
    book = openpyxl.load_workbook(ROOT / CANDIDATE_LIST, read_only=True)
    assert [cell.value for cell in book.worksheets[0][4]] == header  # the list's layout
    book.close()


def test_only_broken_inputs_report_errors(read):
    _, _, problems = read
    erring = set(problems.loc[problems["severity"].eq("error"), "file"])
    assert erring and all(file.startswith("sample_projects/broken/") for file in erring)


# ------------------------------------------------------------------------------------------
# The README's first command, and the broken samples screened
# ------------------------------------------------------------------------------------------
def _readme_screen_command() -> list[str]:
    """The ``assess screen`` part of the first command of README.md's first bash block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    first = block.splitlines()[0]
    words = shlex.split(first[first.index("assess screen") :])
    assert words[:3] == ["assess", "screen", "sample_projects/"], first
    return words[1:]


def _rejected(out: Path) -> list[dict[str, object]]:
    book = openpyxl.load_workbook(out / "screening.xlsx", read_only=True)
    header, *rows = book["Rejected"].iter_rows(values_only=True)
    book.close()
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_the_readme_first_command_scores_every_sample_and_exits_0(tmp_path, monkeypatch, capsys):
    args = _readme_screen_command()
    out = tmp_path / "screening"
    args[args.index("-o") + 1] = str(out)
    monkeypatch.chdir(ROOT)  # the README runs it from the project folder
    assert main(args) == 0, capsys.readouterr()
    assert "256 project(s) scored, 0 rejected" in capsys.readouterr().out
    assert _rejected(out) == []
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["projects_scored"] == 256
    assert not [i["path"] for i in manifest["inputs"] if "broken" in i["path"]]


# project id: (file under broken/, the start of each reason, in order)
REJECTED = {
    "DC-2025-012": (
        "12_broken_pue_and_equity.xlsx",
        ["pue: out of range", "equity_cny: inconsistent with total_investment_cny"],
    ),
    "DC-2025-013": (
        "13_broken_future_date_and_share.xlsx",
        ["rack_utilisation: out of range", "operating_since: inconsistent with as_of"],
    ),
    "DC-2025-014": ("14_broken_cluster_not_in_hub.xlsx", ["cluster: inconsistent with hub"]),
    "DC-2025-015": ("15_broken_missing_name_bad_province.xlsx", ["province: cannot read"]),
    "CL-0107": ("candidate_rows_with_errors.xlsx", ["pue: out of range"]),
    "CL-0131": ("candidate_rows_with_errors.xlsx", ["it_load_mw: cannot read the value"]),
    "CL-0171": ("candidate_rows_with_errors.xlsx", ["rack_utilisation: out of range"]),
}


def test_screening_the_broken_samples_rejects_each_with_its_reasons(tmp_path, capsys):
    out = tmp_path / "broken_screening"
    assert main(["screen", str(BROKEN_DIR), "-o", str(out), "--as-of", "2025-06-30"]) == 2
    assert "0 project(s) scored, 7 rejected" in capsys.readouterr().out
    rejected = {row["project_id"]: row for row in _rejected(out)}
    assert set(rejected) == set(REJECTED)
    for project_id, (file, reasons) in REJECTED.items():
        row = rejected[project_id]
        assert Path(row["file"]).name == file, project_id
        found = row["reasons"].split("; ")
        assert len(found) == len(reasons), row["reasons"]
        starts = [got[: len(want)] for got, want in zip(found, reasons, strict=True)]
        assert starts == reasons, row["reasons"]


def test_the_plausibility_list_raises_each_flag_on_purpose():
    """Each row of candidates/plausibility_checks.csv raises exactly the flags its source row
    lists (as of 2025-06-30), two raise none, and together they raise every plausibility
    check; the doubted PUEs withhold the green label."""
    from assessment.criteria.evaluate import FAIL
    from assessment.pipeline import score_applications

    rows = _load_build().check_rows()
    scored = score_applications(SAMPLES / "candidates" / "plausibility_checks.csv", as_of=AS_OF)
    assert scored.applications.problems.query("message != 'missing'").empty
    flags = [rule for rule in scored.evaluation.rules.rules if rule.severity == "flag"]
    raised = {
        project_id: {
            rule.rule_id
            for rule in flags
            if scored.evaluation.results[rule.rule_id].codes[position] == FAIL
        }
        for position, project_id in enumerate(scored.frame.index)
    }
    assert raised == {row.project_id: set(row.raises) for row in rows}
    assert sum(not row.raises for row in rows) == 2
    checks = {rule.rule_id for rule in flags if rule.pack == "plausibility_cn"}
    assert checks <= set().union(*raised.values())
    labels = scored.decisions["label_status"]
    assert set(labels[labels == "doubted"].index) == {"PC-04", "PC-05", "PC-08", "PC-10"}
    assert scored.decisions.at["PC-01", "recommendation"] == "approve"
    assert scored.decisions.at["PC-01", "data_quality_score"] == 100
