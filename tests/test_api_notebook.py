"""The Python API as a notebook uses it: ``as_of`` of any common date type, the packaged model
by default, ``Scored.to_frame()`` and a short repr, and Dask as an optional extra."""

import ast
import copy
import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from helpers import AS_OF, ROOT

from assessment import (
    AssessmentError,
    RuleSet,
    Settings,
    add_indicators,
    evaluate_rules,
    load_model,
    load_rules,
    read_applications,
    score_applications,
    screen_inputs,
    yearly_indicators,
)
from assessment.cli import main
from assessment.intake.cells import as_of_date
from assessment.model.persist import default_model_path
from assessment.pipeline import project_records

LOAN = ROOT / "sample_projects" / "01_guizhou_guian_hyperscale.xlsx"
REIT = ROOT / "sample_projects" / "05_zhangjiakou_reit_ready.xlsx"
SAMPLES = [LOAN, REIT]
SAME_DAY = {
    "date": AS_OF,
    "datetime": dt.datetime(2025, 6, 30, 17, 45),
    "timestamp": pd.Timestamp("2025-06-30"),
    "iso string": "2025-06-30",
    "iso datetime string": "2025-06-30T09:00:00",
    "numpy datetime64": np.datetime64("2025-06-30"),
}
BAD = {
    "none": None,
    "month 13": "2025-13-01",
    "float": 3.5,
    "NaT": pd.NaT,
    "numpy NaT": np.datetime64("NaT"),
    "bool": True,
    "words": "yesterday",
    "before 1900": "1899-12-31",
    "after 2100": dt.date(2101, 1, 1),
    "timestamp after 2100": pd.Timestamp("2150-01-01"),
}


@pytest.fixture(scope="module")
def applications():
    return read_applications(SAMPLES, as_of=AS_OF)


@pytest.fixture(scope="module")
def scored():
    return score_applications(SAMPLES, as_of=AS_OF)


@pytest.fixture(scope="module")
def rules_alone():
    return score_applications(SAMPLES, as_of=AS_OF, model=None)


# as_of ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", SAME_DAY.values(), ids=SAME_DAY.keys())
def test_as_of_is_any_common_kind_of_date(value):
    assert as_of_date(value) == AS_OF and type(as_of_date(value)) is dt.date


@pytest.mark.parametrize("value", BAD.values(), ids=BAD.keys())
def test_a_bad_as_of_is_refused_with_the_value_what_was_expected_and_a_hint(value):
    with pytest.raises(AssessmentError) as refused:
        as_of_date(value)
    error = refused.value
    assert error.where == "as_of" and "assessment date" in error.what
    assert str(value)[:10] in error.got or repr(value) in error.got
    assert "date" in error.expected and "--as-of" in error.hint
    assert "as_of" in str(error) and "expected" in str(error)


def test_a_missing_as_of_is_the_default_where_there_is_one():
    assert as_of_date(None, default=AS_OF) == AS_OF
    assert read_applications([], as_of=None).problems.empty  # today, as documented


STAGES = {
    "read_applications": lambda apps, as_of: read_applications(SAMPLES, as_of=as_of),
    "add_indicators": lambda apps, as_of: add_indicators(apps.projects, apps.yearly, as_of),
    "yearly_indicators": lambda apps, as_of: yearly_indicators(apps.projects, apps.yearly, as_of),
    "evaluate_rules": lambda apps, as_of: evaluate_rules(
        add_indicators(apps.projects, apps.yearly, AS_OF), load_rules(), as_of
    ),
    "score_applications": lambda apps, as_of: score_applications(SAMPLES, as_of=as_of),
    "Settings": lambda apps, as_of: Settings(as_of=as_of),
}


@pytest.mark.parametrize("stage", STAGES.values(), ids=STAGES.keys())
@pytest.mark.parametrize("value", ["2025-13-01", 3.5, pd.NaT], ids=["month 13", "float", "NaT"])
def test_every_entry_point_refuses_a_bad_as_of_alike(applications, stage, value):
    with pytest.raises(AssessmentError, match="as_of: the assessment date") as refused:
        stage(applications, value)
    assert repr(value) in str(refused.value)


@pytest.mark.parametrize("stage", list(STAGES.values())[1:4], ids=list(STAGES)[1:4])
def test_a_stage_without_a_default_refuses_a_missing_as_of(applications, stage):
    with pytest.raises(AssessmentError, match="the assessment date is missing"):
        stage(applications, None)


@pytest.mark.parametrize("kind", ["datetime", "timestamp", "iso string"])
def test_every_stage_gives_the_same_result_for_the_same_day(applications, rules_alone, kind):
    value = SAME_DAY[kind]
    frame = add_indicators(applications.projects, applications.yearly, value)
    pd.testing.assert_frame_equal(
        frame, add_indicators(applications.projects, applications.yearly, AS_OF)
    )
    pd.testing.assert_frame_equal(
        yearly_indicators(applications.projects, applications.yearly, value),
        yearly_indicators(applications.projects, applications.yearly, AS_OF),
    )
    evaluation = evaluate_rules(frame, load_rules(), value)
    assert evaluation.as_of == AS_OF
    pd.testing.assert_frame_equal(evaluation.programmes, rules_alone.evaluation.programmes)
    again = score_applications(SAMPLES, as_of=value, model=None)
    assert again.as_of == AS_OF
    pd.testing.assert_frame_equal(again.to_frame(), rules_alone.to_frame())
    assert Settings(as_of=value).as_of == AS_OF


def test_screening_takes_an_iso_string():
    screening = screen_inputs(SAMPLES, Settings(as_of="2025-06-30"), jobs=1)
    assert screening.manifest["as_of"] == "2025-06-30"
    assert sorted(screening.results["project_id"]) == sorted(
        read_applications(SAMPLES).projects.index
    )


# the packaged model by default ------------------------------------------------------------


def test_the_library_scores_with_the_packaged_model_by_default(scored, rules_alone):
    packaged = load_model(default_model_path())
    assert scored.model.card["sha256"] == packaged.card["sha256"]
    assert scored.predictions is not None and scored.predictions["pd"].notna().all()
    explicit = score_applications(SAMPLES, as_of=AS_OF, model=default_model_path())
    pd.testing.assert_frame_equal(scored.to_frame(), explicit.to_frame())
    assert rules_alone.model is None and rules_alone.predictions is None
    assert rules_alone.to_frame()["pd"].isna().all()


def cli_projects(capsys, *options: str) -> dict[str, dict]:
    code = main(
        ["score", *map(str, SAMPLES), "--as-of", "2025-06-30", "--format", "json", *options]
    )
    assert code in (0, 2), capsys.readouterr().err
    found = json.loads(capsys.readouterr().out)
    return {project["project_id"]: project for project in found["projects"]}


def test_the_cli_and_the_library_score_alike(capsys, scored, rules_alone):
    """The CLI passes its model explicitly: the packaged one, or none with --no-model."""
    library = {record["project_id"]: record for record in project_records(scored)}
    with_model = cli_projects(capsys)
    assert with_model.keys() == library.keys()
    for project_id, record in library.items():
        cli_credit = with_model[project_id]["programmes"]["credit"]
        assert cli_credit["pd"] == record["programmes"]["credit"]["pd"]
        assert cli_credit["model"]["sha256"] == scored.model.card["sha256"]
        assert with_model[project_id]["decision"] == record["decision"]
    alone = cli_projects(capsys, "--no-model")
    for record in project_records(rules_alone):
        assert "pd" not in alone[record["project_id"]]["programmes"]["credit"]
        assert alone[record["project_id"]]["decision"] == record["decision"]


# to_frame and repr ------------------------------------------------------------------------


def test_to_frame_is_one_row_per_project_with_decision_programmes_pd_and_indicators(scored):
    frame = scored.to_frame()
    assert frame.index.name == "project_id" and list(frame.index) == list(scored.frame.index)
    for column in ("recommendation", "green_label", "credit_status", "green_score", "pd"):
        assert column in frame.columns, column
    for programme in ("compliance", "green", "green_credit", "ngdc", "reit", "credit"):
        assert {f"{programme}_status", f"{programme}_score", f"{programme}_grade"} <= set(frame)
    assert {"pue_assessed", "green_power_share", "dscr_forecast_min"} <= set(frame)
    for record in project_records(scored):
        row = frame.loc[record["project_id"]]
        assert row["recommendation"] == record["decision"]["recommendation"]
        for programme, result in record["programmes"].items():
            assert row[f"{programme}_status"] == result["status"]
        assert row["pue_assessed"] == record["indicators"]["pue_assessed"]


def test_to_frame_shows_a_pd_for_a_loan_only(scored):
    frame = scored.to_frame().set_index("project_name")
    credit = frame["credit_status"]
    loans, others = frame[credit != "not_requested"], frame[credit == "not_requested"]
    assert len(loans) and len(others)  # one loan, one REIT issue
    pds = scored.predictions["pd"].set_axis(scored.frame["project_name"])
    assert (loans["pd"] == pds[loans.index]).all() and loans["pd_grade"].notna().all()
    assert others["pd"].isna().all() and others["pd_grade"].isna().all()


def test_the_repr_is_a_short_summary(scored, rules_alone):
    text = repr(scored)
    lines = text.splitlines()
    assert len(text) < 1000 and len(lines) <= 8, text
    assert "2 as of 2025-06-30" in text
    for pack, version in scored.evaluation.rules.versions().items():
        assert f"{pack} {version}" in text
    assert scored.model.card["sha256"][:12] in text
    counts = scored.decisions["recommendation"].value_counts()
    for recommendation, count in counts.items():
        assert f"{recommendation} {count}" in text
    assert "none (rules alone)" in repr(rules_alone)


def test_the_html_repr_is_a_small_escaped_table(scored):
    rules = RuleSet(
        [
            dataclasses.replace(pack, version="<b>2025&1</b>")
            for pack in scored.evaluation.rules.packs
        ]
    )
    evaluation = copy.copy(scored.evaluation)
    evaluation.rules = rules
    shown = dataclasses.replace(scored, evaluation=evaluation)._repr_html_()
    assert shown.startswith("<table>") and shown.endswith("</table>") and len(shown) < 2000
    assert "&lt;b&gt;2025&amp;1&lt;/b&gt;" in shown and "<b>" not in shown
    assert "2 as of 2025-06-30" in scored._repr_html_()


def test_a_result_without_decisions_still_frames_and_prints(rules_alone):
    undecided = dataclasses.replace(rules_alone, decisions=None)
    frame = undecided.to_frame()
    assert frame["recommendation"].isna().all() and len(frame) == len(rules_alone.frame)
    assert "recommendations: none" in repr(undecided)


def test_the_repr_counts_recommendations_in_their_order(rules_alone):
    decisions = rules_alone.decisions.assign(recommendation=["decline", "approve"])
    text = repr(dataclasses.replace(rules_alone, decisions=decisions))
    assert "recommendations: approve 1, decline 1" in text


def test_an_empty_run_still_prints_and_frames(tmp_path):
    empty = score_applications([tmp_path], as_of=AS_OF)
    assert "0 as of 2025-06-30" in repr(empty) and "recommendations: none" in repr(empty)
    assert empty.to_frame().empty and "recommendation" in empty.to_frame().columns


# Dask is an optional extra ----------------------------------------------------------------

HIDE_DASK = """
import importlib.abc, sys

class HideDask(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("dask", "distributed"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, HideDask())
"""


def run_without_dask(tmp_path, code: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter where dask and distributed cannot be imported."""
    (tmp_path / "sitecustomize.py").write_text(HIDE_DASK, encoding="utf-8")
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=os.environ | {"PYTHONPATH": path, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )


@pytest.mark.slow
def test_without_dask_local_screening_works_and_the_dask_engine_names_the_extra(tmp_path):
    code = f"""
    import sys
    from assessment import AssessmentError, Settings, score_applications, screen_inputs
    from assessment.cli import main
    inputs = [{str(LOAN)!r}, {str(REIT)!r}]
    model = {str(default_model_path())!r}
    screening = screen_inputs(inputs, Settings(as_of="2025-06-30", model=model), jobs=1)
    print("local", len(screening.results), screening.results["pd"].notna().sum())
    print("score", score_applications(inputs, as_of="2025-06-30").predictions["pd"].size)
    try:
        screen_inputs(inputs, Settings(as_of="2025-06-30"), engine="dask", jobs=1)
    except AssessmentError as error:
        print("library", error)
    code = main(["screen", *inputs, "-o", "out", "--engine", "dask", "--as-of", "2025-06-30"])
    print("cli", code)
    print("loaded", sorted(name for name in sys.modules if name.split(".")[0] == "dask"))
    """
    done = run_without_dask(tmp_path, code)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["local"] == "2 1" and lines["score"] == "2"  # the model loads without Dask
    assert "pip install 'assessment[dask]'" in lines["library"]
    assert "no module named 'dask'" in lines["library"]
    assert lines["cli"] == "1" and lines["loaded"] == "[]"
    error = done.stderr.strip().splitlines()
    assert len(error) == 1 and "pip install 'assessment[dask]'" in error[0], done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()


def test_no_module_imports_dask_at_import_time():
    """Only the dask engine (screening/run.py) loads Dask, inside a function, on demand."""
    for path in sorted((ROOT / "assessment").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only: functions load on demand
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] not in ("dask", "distributed"), (path, name)


def test_the_dask_extra_is_declared_and_the_core_does_not_need_it():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not [name for name in project["dependencies"] if name.startswith(("dask", "distr"))]
    extras = project["optional-dependencies"]
    assert {name.split(">")[0] for name in extras["dask"]} == {"dask[dataframe]", "distributed"}
    assert "assessment[dask]" in extras["test"]
