"""The ``assess check`` command: table and JSON output, exit codes (in this process), the real
console script (a subprocess, marked ``slow``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import FULL_PROJECT, FULL_YEARLY

from assessment import write_template
from assessment.cli import main


def _app(tmp_path, **changes):
    return write_template(
        tmp_path / "app.xlsx", "en", values={**FULL_PROJECT, **changes}, yearly=FULL_YEARLY
    )


def test_check_clean_file_exits_zero_and_prints_the_table(tmp_path, capsys):
    assert main(["check", str(_app(tmp_path)), "--as-of", "2025-06-30"]) == 0
    out = capsys.readouterr().out
    assert "T-001" in out and "Gui'an hydro DC" in out
    assert out.rstrip().endswith("1 projects; 0 errors, 0 warnings")


def test_check_json_shape(tmp_path, capsys):
    path = _app(tmp_path, pue=0.9)
    assert main(["check", str(path), "--format", "json", "--as-of", "2025-06-30"]) == 2
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"projects", "yearly", "problems"}
    project = data["projects"][0]
    assert project["project_id"] == "T-001" and project["pue"] is None
    assert project["operating_since"] == "2019-06-30" and project["racks"] == 3000
    assert project["total_investment_cny"] == 2.4e9 and project["rack_utilisation"] == 0.72
    assert {
        "project_id": "T-001",
        "year": 2022,
        "series": "operating_cash_flow_cny",
        "value": -1.0e7,
    } in data["yearly"]
    problem = data["problems"][0]
    assert {"file", "sheet", "cell", "field", "value", "expected", "severity"} <= set(problem)
    assert (problem["field"], problem["value"], problem["severity"]) == ("pue", "0.9", "error")


def test_problem_line_says_what_where_expected_and_got(tmp_path, capsys):
    main(["check", str(_app(tmp_path, equity_cny=3e9)), "--as-of", "2025-06-30"])
    line = next(x for x in capsys.readouterr().out.splitlines() if "[error]" in x)
    assert line.startswith(f"{tmp_path / 'app.xlsx'}:Project!B")
    assert "T-001 equity_cny: inconsistent with total_investment_cny; expected equity" in line
    assert line.endswith("; got '3000000000' (hint: check equity_within_investment)")


@pytest.mark.slow
def test_console_script_runs(tmp_path):
    exe = Path(sys.executable).parent / "assess"
    assert exe.is_file(), "the console script is installed beside this interpreter"
    done = subprocess.run(
        [exe, "check", str(_app(tmp_path)), "--as-of", "2025-06-30"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    bad = subprocess.run(
        [exe, "check", "--as-of", "someday", "x"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 1 and "YYYY-MM-DD" in bad.stderr
