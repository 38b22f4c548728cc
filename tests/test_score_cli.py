"""``assess score``, ``assess rules check`` and ``assess rules test`` end to end."""

from __future__ import annotations

import json
import shutil

from helpers import ROOT

from assessment.cli import main
from assessment.intake.dictionary import PROGRAMMES

REIT_READY = str(ROOT / "sample_projects" / "05_zhangjiakou_reit_ready.xlsx")


def test_score_json_shape(capsys):
    assert main(["score", REIT_READY, "--as-of", "2025-06-30", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"as_of", "rule_packs", "projects", "problems"}
    project = data["projects"][0]
    assert project["project_id"] == "DC-2025-005" and project["as_of"] == "2025-06-30"
    assert list(project["programmes"]) == list(PROGRAMMES)
    for name, result in project["programmes"].items():
        keys = {"requested", "status", "assessed_status", "eligible", "score", "coverage", "grade"}
        assert keys <= set(result) if name == "credit" else keys == set(result)
    assert project["programmes"]["reit"] == {
        "requested": True,
        "status": "eligible",
        "assessed_status": "eligible",
        "eligible": True,
        "score": 100.0,
        "coverage": 0.5,  # the yield reference applies, the IRR one (operating rights) not
        "grade": "A",
    }
    assert project["programmes"]["credit"]["status"] == "not_requested"
    indicators = project["indicators"]
    for name in (
        "energy_mwh",
        "emissions_tco2",
        "cue",
        "operating_years",
        "dscr_min",
        "dscr_forecast_min",
        "dscr_hist_min",
        "distribution_yield_min",
        "distribution_yield_forecast_min",
    ):
        assert name in indicators
    assert indicators["emission_factor"] == {  # the 2023 factors came out on 2025-12-31
        "value": 0.7252,
        "year": 2022,
        "area": "hebei",
        "level": "provincial",
        "series": indicators["emission_factor"]["series"],
        "status": "official",
    }
    rule = next(r for r in project["rules"] if r["rule_id"] == "REIT-SIZE-1014")
    assert {"rule_id", "programme", "verdict", "value", "threshold", "severity", "source"} <= set(
        rule
    )
    assert (rule["verdict"], rule["value"], rule["threshold"]) == ("pass", 1.48e9, 1e9)


def test_score_as_of_changes_the_rules_in_force(capsys):
    main(["score", REIT_READY, "--as-of", "2024-03-31", "--format", "json"])
    rules = {
        r["rule_id"]: r["verdict"]
        for r in json.loads(capsys.readouterr().out)["projects"][0]["rules"]
    }
    assert rules["REIT-YIELD-2023"] == "pass" and rules["REIT-YIELD-1014-REF"] == "not_applicable"


def test_score_table_names_value_threshold_and_source(capsys):
    assert main(["score", REIT_READY, "--as-of", "2025-06-30"]) == 0
    out = capsys.readouterr().out
    assert "reit          eligible" in out and "credit        not requested" in out
    credit = next(line for line in out.splitlines() if line.startswith("  credit "))
    # nothing to read when not asked
    assert credit.split()[-5:] == ["score:", "-", "rule", "grade:", "-"]
    assert "PD " not in out  # a REIT issue carries no PD decision
    line = next(x for x in out.splitlines() if "GRN-PUE-CLUSTER-EAST" in x)
    assert line.split()[0] == "fail" and "1.26 <= 1.25" in line and "HUB-EAST" in line


def test_rules_check_and_test_commands(tmp_path, capsys):
    assert main(["rules", "check"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("rules in 7 packs")
    assert main(["rules", "test"]) == 0
    assert " passed, 0 failed" in capsys.readouterr().out
    shutil.copytree(ROOT / "rules" / "credit_policy", tmp_path / "credit_policy")
    cases = tmp_path / "credit_policy" / "cases.csv"
    cases.write_text(
        cases.read_text(encoding="utf-8").replace(
            "CR-DSCR-MIN-01,CR-DSCR-MIN,2025-12-31,pass",
            "CR-DSCR-MIN-01,CR-DSCR-MIN,2025-12-31,fail",
        ),
        encoding="utf-8",
    )
    assert main(["rules", "test", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert (
        "FAIL credit_policy CR-DSCR-MIN-01 CR-DSCR-MIN" in out and "expected fail, got pass" in out
    )
    rules = tmp_path / "credit_policy" / "rules.csv"
    row = next(
        line for line in rules.read_text(encoding="utf-8").splitlines() if "CR-DSCR-MIN," in line
    )
    with rules.open("a", encoding="utf-8") as handle:
        handle.write(row.replace("CR-DSCR-MIN,", "CR-DSCR-MIN-NEW,", 1) + "\n")
    assert main(["rules", "test", str(tmp_path)]) == 1
    assert "NO CASE CR-DSCR-MIN-NEW" in capsys.readouterr().out


def test_rules_check_reports_errors_and_exits_one(tmp_path, capsys):
    shutil.copytree(ROOT / "rules" / "credit_policy", tmp_path / "credit_policy")
    rules = tmp_path / "credit_policy" / "rules.csv"
    rules.write_text(
        rules.read_text(encoding="utf-8").replace(",dscr_forecast_min,", ",dcsr_forecast_min,", 1),
        encoding="utf-8",
    )
    assert main(["rules", "check", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert (
        "column metric: unknown metric 'dcsr_forecast_min' (hint: did you mean "
        "'dscr_forecast_min'?)" in err
    )
