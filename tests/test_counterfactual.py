"""Paths to eligibility: applying a path's changes wins the programme, and each change is the
least that does (a change stopped short of its target leaves the project ineligible)."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from helpers import ROOT
from pypdf import PdfReader

from assessment import evaluate_rules, score_applications
from assessment.cli import main
from assessment.criteria import conditions
from assessment.decision.decide import load_routing, requested_programmes
from assessment.decision.paths import Change, _limits, change_text, paths_to_eligibility
from assessment.pipeline import project_records
from assessment.reports.memo.write import write_reports

AS_OF = dt.date(2025, 6, 30)
SAMPLES = ROOT / "sample_projects"


@pytest.fixture(scope="module")
def scored():
    return score_applications(SAMPLES, as_of=AS_OF, model=None)


def _paths(scored) -> list[tuple[str, dict]]:
    column = scored.decisions["path_to_eligibility"]
    return [(pid, path) for pid, paths in column.items() for path in paths]


def _applied(scored, paths: list[tuple[str, dict]], shortfall: float = 0.0) -> list[bool]:
    """Whether each project wins its path's programme once the path's changes are applied
    to its row (numeric targets stopped ``shortfall`` short) and the rules evaluated again;
    one evaluation per programme, each project on its own row."""
    won = {}
    for programme in {path["programme"] for _, path in paths}:
        chosen = [(pid, path) for pid, path in paths if path["programme"] == programme]
        frame = scored.frame.loc[[pid for pid, _ in chosen]].copy()
        for pid, path in chosen:
            for change in path["changes"]:
                _set(frame, pid, change, shortfall)
        results = evaluate_rules(frame, scored.evaluation.rules, AS_OF).programmes
        won |= {(pid, programme): _won(results.loc[pid], programme) for pid, _ in chosen}
    return [won[(pid, path["programme"])] for pid, path in paths]


def _set(frame: pd.DataFrame, pid: str, change: dict, shortfall: float) -> None:
    target = change["to"]
    target = target[0] if isinstance(target, list) else target
    if isinstance(change["from"], float) and not isinstance(target, bool):
        target -= shortfall * (1 if change["kind"] == "raise" else -1)
    frame[change["metric"]] = frame[change["metric"]].astype(object)
    frame.loc[pid, change["metric"]] = target


def _won(result, programme: str) -> bool:
    eligible = result[f"{programme}_eligible"]
    return eligible is not pd.NA and bool(eligible)


def test_every_path_that_says_so_makes_the_project_eligible(scored):
    paths = [(pid, p) for pid, p in _paths(scored) if p["eligible_when_applied"]]
    assert len(paths) > 100
    for (pid, path), won in zip(paths, _applied(scored, paths), strict=True):
        assert won, (pid, path["text"])


def test_each_numeric_change_is_the_least_that_wins(scored):
    moved = [
        (pid, p)
        for pid, p in _paths(scored)
        if p["eligible_when_applied"] and any(c["kind"] in ("raise", "lower") for c in p["changes"])
    ]
    assert moved
    for (pid, path), won in zip(moved, _applied(scored, moved, shortfall=0.001), strict=True):
        assert not won, (pid, path["text"])


def test_only_programmes_asked_for_and_not_won_have_a_path(scored):
    """Not the informative ones, and not one none of whose gates applies."""
    asked, roles = requested_programmes(scored.frame), load_routing().roles
    programmes = scored.evaluation.programmes
    fixed_failures = _fixed_failures(scored)
    assert fixed_failures, "the edge samples asking for a label fail GC-EDGE-OUT-OF-SCOPE"
    for position, pid in enumerate(scored.frame.index):
        named = {p["programme"] for p in scored.decisions.at[pid, "path_to_eligibility"]}
        wanted = {
            name
            for name in asked
            if asked[name][position]
            and roles[name] != "informative"
            and programmes.at[pid, f"{name}_status"] not in ("eligible", "not_applicable")
            and not fixed_failures.get((pid, name))
        }
        assert named == wanted, pid


def _fixed_failures(scored) -> dict:
    """(project, programme) -> True where a gate whose condition fixes its own metric fails
    (an edge site outside GB 40879): no change can pass it."""
    found = {}
    verdicts = scored.evaluation.verdicts
    for rule in scored.evaluation.rules.rules:
        if rule.severity == "gate" and rule.metric in {
            test.name for test in conditions.names(rule.condition)
        }:
            for pid in verdicts.index[verdicts[rule.rule_id] == "fail"]:
                found[(pid, rule.programme)] = True
    return found


def test_a_sample_project_path_in_numbers(scored):
    paths = {p["programme"]: p for p in scored.decisions.at["DC-2025-002", "path_to_eligibility"]}
    green = paths["green"]["changes"]
    assert [(c["metric"], c["from"], c["to"], c["criteria"]) for c in green] == [
        ("pue_assessed", 1.25, 1.2, ["GRN-PUE-2024-HUB-NEW"])
    ]
    paths = {p["programme"]: p for p in scored.decisions.at["DC-2025-003", "path_to_eligibility"]}
    assert paths["credit"]["text"] == "dscr_forecast_min 0.6667 -> 1.2"
    reit = scored.decisions.at["DC-2025-006", "path_to_eligibility"][0]
    assert reit["programme"] == "reit"
    assert reit["text"] == (
        "operating_years 2.4695 years -> 3 years"
        " and provide ebitda_hist_to_forecast of at least 70%"
    )


def test_the_tightest_gate_on_a_metric_sets_the_target(scored):
    frame = scored.frame.loc[["DC-2025-002"]].copy()
    frame["pue_assessed"] = 1.62  # fails the 1.50 floor, grade 2 and the new-build limits
    frame["gb40879_grade"] = 4
    evaluation = evaluate_rules(frame, scored.evaluation.rules, AS_OF)
    found = paths_to_eligibility(evaluation, requested_programmes(frame))["DC-2025-002"]
    paths = {path["programme"]: path for path in found}
    (change,) = paths["green"]["changes"]
    assert (change["from"], change["to"], change["kind"]) == (1.62, 1.2, "lower")
    assert change["criteria"] == [
        "GRN-PUE-GRADE2",
        "GRN-PUE-CLUSTER-EAST",
        "GRN-PUE-2024-LARGE-NEW",
        "GRN-PUE-2024-HUB-NEW",
    ]
    assert paths["green"]["eligible_when_applied"] is True
    (floor,) = paths["compliance"]["changes"]
    assert (floor["to"], floor["criteria"]) == (1.5, ["CMP-GB40879-LIMIT"])


@pytest.mark.parametrize(
    ("operator", "threshold", "limits"),
    [
        ("<=", 1.3, (float("-inf"), 1.3)),
        ("<", 1.3, (float("-inf"), 1.29)),
        (">", 3.0, (3.1, float("inf"))),
    ],
)
def test_strict_bounds_step_inside_the_threshold(operator, threshold, limits):
    assert _limits(operator, threshold) == pytest.approx(limits)


def test_json_cli_and_memo_show_the_path(scored, tmp_path, capsys):
    sample = SAMPLES / "02_wuhu_ai_computing_centre.xlsx"
    assert main(["score", str(sample), "--as-of", "2025-06-30", "--format", "json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)["projects"]
    texts = [p["text"] for p in record["decision"]["path_to_eligibility"]]
    assert "pue_assessed 1.25 -> 1.2" in texts
    assert main(["score", str(sample), "--as-of", "2025-06-30"]) == 0
    assert "to be eligible for green: pue_assessed 1.25 -> 1.2" in capsys.readouterr().out
    one = score_applications(sample, as_of=AS_OF, model=None)
    assert project_records(one)[0]["decision"]["path_to_eligibility"]
    for lang, words in (("en", "What would make it eligible"), ("zh", "达到合格条件的最小调整")):
        (pdf,) = write_reports(one, tmp_path / f"{lang}.pdf", lang)
        page = PdfReader(pdf).pages[0].extract_text()
        assert words in page
        assert "1.25" in page[page.index(words) :]


def test_a_grade_target_says_what_it_means_in_pue(scored):
    grades = [
        change
        for _, path in _paths(scored)
        for change in path["changes"]
        if change["metric"] == "gb40879_grade" and change["from"] == 3
    ]
    assert grades, "no sample asks for a green label on a grade 3 PUE"
    grade = grades[0]
    assert (grade["from"], grade["to"]) == (3, 2)
    assert grade["means"] == {"metric": "pue_assessed", "operator": "<=", "to": 1.3}
    assert grade["text"] == "gb40879_grade 3 -> 2 (pue_assessed <= 1.3)"
    frame = scored.frame.dropna(subset=["pue_assessed"])
    graded = frame["gb40879_grade"].astype(int)
    assert (
        frame.loc[graded <= 2, "pue_assessed"].max()
        <= 1.3
        < frame.loc[graded == 3, "pue_assessed"].min()
    )


@pytest.mark.parametrize(
    ("change", "text"),
    [
        (
            Change("green_power_share", "raise", 0.55, 0.8, ">=", 0.8, "fraction"),
            "green_power_share 55% -> 80%",
        ),
        (
            Change(
                "facility_type", "set", "other", ["general", "edge"], "in", ("general", "edge"), ""
            ),
            "facility_type other -> one of (general; edge)",
        ),
        (
            Change("facility_type", "set", "edge", None, "not_in", ("edge", "other"), ""),
            "facility_type edge -> other than (edge; other)",
        ),
        (
            Change("dscr_min", "provide", None, 1.2, ">=", 1.2, ""),
            "provide dscr_min of at least 1.2",
        ),
        (
            Change("racks, hub_zone", "provide", None, None, "not_blank", None, ""),
            "provide racks, hub_zone",
        ),
    ],
)
def test_each_kind_of_change_in_words(change, text):
    assert change_text(change) == text
