"""``--format json`` on every command that prints results gives nothing but JSON on stdout (the
notes go to stderr), and ``-o`` writes what would be printed. In this process, through
``assessment.cli.main`` as the console script calls it."""

from __future__ import annotations

import json

import pandas as pd
from helpers import ROOT
from run_assess import run

SAMPLE = str(ROOT / "sample_projects" / "03_shenzhen_edge_site.xlsx")
RULES = str(ROOT / "rules")
MODEL = str(ROOT / "rules" / "model" / "default_model.skops")
HISTORY = ROOT / "sample_projects" / "history" / "loan_history.parquet"
DATE = ["--as-of", "2025-06-30"]


def _json(capsys, *args: str) -> tuple[object, str]:
    done = run(capsys, *args, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def test_sweep_and_rules_diff_print_json(capsys):
    sweep, err = _json(
        capsys, "sweep", "CMP-GB40879-LIMIT", "--from", "1.2", "--to", "1.5", "--steps", "2",
        "--portfolio", SAMPLE, *DATE,
    )  # fmt: skip
    assert sweep["rule_id"] == "CMP-GB40879-LIMIT" and len(sweep["table"]) == 2
    assert {"threshold", "pass_rate"} <= set(sweep["table"][0]) and err == "as of 2025-06-30\n"
    diff, err = _json(capsys, "rules", "diff", RULES, RULES, "--portfolio", SAMPLE, *DATE)
    assert diff["changes"] == [] and diff["flips"] == [] and err == "as of 2025-06-30\n"
    alone, _ = _json(capsys, "rules", "diff", RULES, RULES)
    assert alone == {"changes": []}


def test_rules_check_and_test_print_json(capsys):
    checked, _ = _json(capsys, "rules", "check")
    assert checked["rules"] == sum(p["rules"] for p in checked["packs"]) > 0
    tested, _ = _json(capsys, "rules", "test")
    assert tested["without_a_case"] == [] and all(case["ok"] for case in tested["cases"])


def test_drift_and_backtest_print_json(tmp_path, capsys):
    history = pd.read_parquet(HISTORY).head(600)
    small = tmp_path / "history.csv"
    history.to_csv(small, index=False)
    drift, _ = _json(capsys, "drift", MODEL, str(small))
    assert {"feature", "psi", "band"} <= set(drift[0])
    backtest, err = _json(capsys, "backtest", str(small), "--target", "defaulted", "--no-model")
    assert backtest["facts"]["loans"] == 600 and backtest["current"]["by_recommendation"]
    assert err.startswith("as of ")


def test_check_o_writes_the_json_and_lists_errors_on_stderr(tmp_path, capsys):
    broken = ROOT / "sample_projects" / "broken" / "12_broken_pue_and_equity.xlsx"
    target = tmp_path / "out" / "intake.json"
    done = run(capsys, "check", str(broken), *DATE, "--format", "json", "-o", str(target))
    assert done.returncode == 2 and done.stdout == ""
    written = json.loads(target.read_text(encoding="utf-8"))
    assert [p["project_id"] for p in written["projects"]] == ["DC-2025-012"]
    lines = done.stderr.splitlines()
    assert lines[:2] == [f"made folder {target.parent}", f"wrote {target}"]
    assert sum("[error] DC-2025-012" in line for line in lines) == 2
