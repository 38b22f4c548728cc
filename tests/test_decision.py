"""The decision stage: the table as data, first match wins, reasons, conditions, data quality."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
from helpers import ROOT

from assessment.cli import main, score_json
from assessment.decision.decide import (
    load_borderline,
    load_decision_table,
    load_routing,
    requested_programmes,
)
from assessment.errors import RuleError
from assessment.pipeline import score_applications


@pytest.fixture(scope="module")
def scored():
    return score_applications(
        [ROOT / "sample_projects", ROOT / "sample_projects" / "broken"],
        as_of=dt.date(2025, 6, 30),
        model=ROOT / "rules" / "model" / "default_model.skops",
    )


@pytest.fixture(scope="module")
def decisions(scored):
    return {p["project_id"]: p for p in score_json(scored)["projects"]}


def test_the_shipped_table_loads_and_ends_with_a_catch_all():
    table = load_decision_table()
    assert table[-1].when == "" and table[-1].recommendation == "approve"
    assert [row.order for row in table] == sorted(row.order for row in table)


def test_a_broken_table_is_refused_with_row_and_hint(tmp_path):
    path = tmp_path / "decision_table.csv"
    text = (ROOT / "rules" / "decision" / "decision_table.csv").read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            "pd > 0.10 and credit_route == true and pd_binding == true,decline",
            "pdd > 0.10,declin",
            1,
        ),
        encoding="utf-8",
    )
    with pytest.raises(RuleError) as error:
        load_decision_table(path)
    columns = {row["column"]: row for row in error.value.problems}
    assert columns["when"]["hint"] == "did you mean 'pd'?"
    assert columns["recommendation"]["value"] == "declin"


def test_reit_ready_sample_is_approved(decisions):
    decision = decisions["DC-2025-005"]["decision"]
    assert decision["recommendation"] == "approve" and decision["conditions"] == []


def test_every_failed_gate_of_the_floor_and_route_asked_for_is_a_reason(decisions, scored):
    asked, roles = requested_programmes(scored.frame), load_routing().roles
    for position, (project_id, project) in enumerate(decisions.items()):
        assert scored.frame.index[position] == project_id
        wanted = {p for p in asked if asked[p][position] and roles[p] in ("floor", "route")}
        criteria = {r["criterion"] for r in project["decision"]["reasons"] if r["kind"] == "rule"}
        for rule in project["rules"]:
            if (
                rule["severity"] == "gate"
                and rule["verdict"] == "fail"
                and rule["programme"] in wanted
            ):
                assert rule["rule_id"] in criteria, (project_id, rule["rule_id"])


def test_short_operating_history_declines_a_reit_with_the_reason(decisions):
    decision = decisions["DC-2025-006"]["decision"]
    assert decision["recommendation"] == "decline"
    reason = decision["reasons"][0]
    assert reason["criterion"] == "REIT-OPERATING-3Y-1014" and reason["threshold"] == 3.0
    assert reason["value"] < 3 and reason["source"] == "NDRC1014" and reason["clause"]


def test_input_errors_are_incomplete_and_conditions_are_covenants(decisions):
    broken = decisions["DC-2025-012"]["decision"]
    assert broken["recommendation"] == "incomplete" and broken["decision_row"] == 1
    assert broken["data_quality"]["verdict"] == "errors"
    green = decisions["DC-2025-010"]["decision"]
    assert green["recommendation"] == "approve_with_conditions"
    assert green["green_label"] == {"status": "granted", "reasons": []}
    texts = {c["criterion"]: c["text"] for c in green["conditions"]}
    assert texts["CR-CONTRACTED-REVENUE"] == "bring contracted_revenue_share from 0.65 to >= 0.7"
    assert texts["CMP-PUE-METERING"].startswith("Covenant: meter the annual PUE")
    assert all(c["remedy"] for c in green["conditions"])


def test_score_json_has_the_decision(capsys):
    sample = str(ROOT / "sample_projects" / "05_zhangjiakou_reit_ready.xlsx")
    assert main(["score", sample, "--as-of", "2025-06-30", "--format", "json"]) == 0
    decision = json.loads(capsys.readouterr().out)["projects"][0]["decision"]
    assert {"recommendation", "reasons", "conditions"} <= set(decision)


def test_a_bad_borderline_margin_is_refused_with_row_and_hint(tmp_path):
    path = tmp_path / "borderline.csv"
    path.write_text("metric,margin,basis\npue_assessed,-0.01,x\ndscr_forecast_min,lots,y\n")
    with pytest.raises(RuleError) as error:
        load_borderline(tmp_path)
    assert [(p["row"], p["value"]) for p in error.value.problems] == [(2, "-0.01"), (3, "lots")]
    assert load_borderline() == {"pue_assessed": 0.01, "dscr_forecast_min": 0.05}


def test_a_rules_folder_decides_with_its_own_decision_tables(tmp_path, capsys):
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    table = tmp_path / "rules" / "decision" / "decision_table.csv"
    text = table.read_text(encoding="utf-8")
    table.write_text(text.replace("no condition is needed,", "MY OWN WORDS,", 1), "utf-8")
    sample = str(ROOT / "sample_projects" / "05_zhangjiakou_reit_ready.xlsx")
    args = ["score", sample, "--as-of", "2025-06-30", "--format", "json", "--no-model"]
    assert main([*args, "--rules", str(tmp_path / "rules")]) == 0
    decision = json.loads(capsys.readouterr().out)["projects"][0]["decision"]
    assert decision["decision_reason"].endswith("MY OWN WORDS")
    table.write_text(text.replace("compliance_status ==", "compliance_statu ==", 1), "utf-8")
    assert main(["rules", "check", str(tmp_path / "rules")]) == 1
    assert "unknown name 'compliance_statu'" in capsys.readouterr().err


def test_a_covenant_whose_scope_is_unknown_is_not_attached(tmp_path):
    """A Beijing covenant (LOC-BJ-PUE-2027: province beijing, an existing site) is no
    condition of a project whose province and kind are not given; given, it is."""
    from helpers import write_list

    from assessment.pipeline import project_records, score_applications

    rows = [
        {"project_id": "BLANK", "project_name": "Blank"},
        {
            "project_id": "BJ",
            "project_name": "Beijing retrofit",
            "province": "beijing",
            "project_kind": "retrofit",
        },
    ]
    run = score_applications(
        write_list(tmp_path / "list.csv", rows), as_of="2025-06-30", model=None
    )
    found = {r["project_id"]: r["decision"]["conditions"] for r in project_records(run)}
    assert "LOC-BJ-PUE-2027" not in [c["criterion"] for c in found["BLANK"]]
    assert "LOC-BJ-PUE-2027" in [c["criterion"] for c in found["BJ"]]
