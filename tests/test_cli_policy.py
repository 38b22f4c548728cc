"""One exit-code policy (0 all assessed, 2 inputs with errors listed on stderr, 1 usage or fatal
error; --strict counts warnings), the as-of date and the files written said by every command
that assesses, ``-o`` for score's workbook and memos, and ``assess rules export|path``. Run
in this process through ``assessment.cli.main``, as the console script calls it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from helpers import FULL_PROJECT, FULL_YEARLY, ROOT
from run_assess import run

from assessment import write_template

SAMPLE = str(ROOT / "sample_projects" / "03_shenzhen_edge_site.xlsx")
DATE = ["--as-of", "2025-06-30"]


@pytest.fixture(scope="module")
def apps(tmp_path_factory) -> dict[str, str]:
    """A clean application, one with an input error (PUE 0.9) and one with a warning only."""
    folder = tmp_path_factory.mktemp("apps")
    warning_only = {k: v for k, v in FULL_PROJECT.items() if k != "sponsor"}
    made = {
        "clean": FULL_PROJECT,
        "error": {**FULL_PROJECT, "project_id": "T-002", "pue": 0.9},
        "warning": warning_only,
    }
    return {
        name: str(write_template(folder / f"{name}.xlsx", "en", values=v, yearly=FULL_YEARLY))
        for name, v in made.items()
    }


def test_check_exits_0_clean_2_with_input_errors_1_with_nothing_read(apps, tmp_path, capsys):
    assert run(capsys, "check", apps["clean"], *DATE).returncode == 0
    table = run(capsys, "check", apps["error"], *DATE)
    assert table.returncode == 2
    assert "[error] T-002 pue: out of range" in table.stdout  # the table lists them itself
    assert "[error]" not in table.stderr and table.stderr == "as of 2025-06-30\n"
    as_json = run(capsys, "check", apps["error"], *DATE, "--format", "json")
    assert as_json.returncode == 2 and json.loads(as_json.stdout)["problems"]
    assert as_json.stderr.splitlines()[0].endswith(
        "expected between 1 and 3; got '0.9' (hint: read as 0.9; check the value and its unit)"
    )
    nothing = run(capsys, "check", str(tmp_path / "nowhere.xlsx"), *DATE)
    assert nothing.returncode == 1
    assert nothing.stderr.splitlines()[-1].startswith(
        "assess check: error: no project could be read"
    )


def test_strict_counts_warnings(apps, capsys):
    assert run(capsys, "check", apps["warning"], *DATE).returncode == 0
    strict = run(capsys, "check", apps["warning"], *DATE, "--strict", "--format", "json")
    assert strict.returncode == 2 and "[warning] T-001 sponsor: missing" in strict.stderr
    scored = run(capsys, "score", apps["warning"], *DATE, "--no-model", "--strict")
    assert scored.returncode == 2 and "[warning] T-001 sponsor: missing" in scored.stderr


def test_screen_strict_lists_the_warnings_of_scored_projects_and_exits_2(apps, tmp_path, capsys):
    """A screen keeps the shortlist the same with --strict; the warnings (missing fields
    included) are listed on stderr, one line per project, and the exit code is 2."""
    plain = run(capsys, "screen", apps["warning"], "-o", str(tmp_path / "a"), *DATE, "--no-model")
    assert plain.returncode == 0 and "[warning]" not in plain.stderr
    strict = run(
        capsys,
        "screen",
        apps["warning"],
        "-o",
        str(tmp_path / "b"),
        *DATE,
        "--no-model",
        "--strict",
    )
    assert strict.returncode == 2, strict.stderr
    warned = [line for line in strict.stderr.splitlines() if "[warning]" in line]
    assert len(warned) == 1 and "warning.xlsx" in warned[0] and "T-001" in warned[0]
    assert "sponsor: missing" in warned[0] and "[rejected]" not in strict.stderr
    assert strict.stdout.replace("/b", "/a") == plain.stdout
    clean = run(capsys, "screen", apps["clean"], "-o", str(tmp_path / "c"), *DATE, "--strict")
    assert clean.returncode == 0 and "[warning]" not in clean.stderr


def test_score_lists_input_errors_on_stderr_and_exits_2(apps, capsys):
    done = run(capsys, "score", apps["error"], apps["clean"], *DATE, "--no-model")
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if "[error]" in line]
    assert len(errors) == 1 and "error.xlsx:Project!" in errors[0] and "T-002 pue" in errors[0]
    assert "T-001 (as of 2025-06-30)" in done.stdout and "T-002 (as of 2025-06-30)" in done.stdout
    assert "input problems: 1 errors, 0 warnings" in done.stdout


def test_the_as_of_date_is_said_and_json_stays_pure(apps, capsys):
    today = dt.date.today().isoformat()
    done = run(capsys, "score", apps["clean"], "--no-model", "--format", "json")
    assert done.returncode == 0
    assert json.loads(done.stdout)["as_of"] == today
    assert done.stderr == f"as of {today} (today)\n"
    given = run(capsys, "score", apps["clean"], *DATE, "--no-model", "--format", "json", "-q")
    assert given.returncode == 0 and given.stderr == "" and json.loads(given.stdout)
    verbose = run(capsys, "check", apps["clean"], *DATE, "-v")
    assert "as of 2025-06-30" in verbose.stderr and "assess check: exit 0 in" in verbose.stderr


def test_score_o_writes_the_workbook_the_memo_and_a_folder_of_memos(tmp_path, capsys):
    workbook, memo, folder = tmp_path / "s.xlsx", tmp_path / "m.pdf", tmp_path / "memos"
    done = run(capsys, "score", SAMPLE, *DATE, "--no-model", "-o", str(workbook), "-o", str(memo))
    assert done.returncode == 0, done.stderr
    assert f"wrote {workbook}" in done.stdout and f"wrote {memo}" in done.stdout
    assert done.stderr == "as of 2025-06-30\n"
    old = tmp_path / "old.pdf"
    assert run(capsys, "score", SAMPLE, *DATE, "--no-model", "--report", str(old)).returncode == 0
    assert old.read_bytes() == memo.read_bytes()  # the older option writes the same memo
    into = run(capsys, "score", SAMPLE, *DATE, "--no-model", "-o", f"{folder}/", "--format", "json")
    assert into.returncode == 0 and json.loads(into.stdout)["projects"]
    assert f"made folder {folder}" in into.stderr and (folder / "DC-2025-003.pdf").is_file()
    refused = run(capsys, "score", SAMPLE, *DATE, "-o", str(tmp_path / "s.csv"))
    assert refused.returncode == 1 and "-o workbook must be a .xlsx file" in refused.stderr
    twice = run(
        capsys, "score", SAMPLE, *DATE, "-o", str(workbook), "--excel", str(tmp_path / "t.xlsx")
    )
    assert twice.returncode == 1 and "more than one output of a kind" in twice.stderr


def test_screen_lists_rejected_inputs_and_prints_the_manifest_as_json(tmp_path, capsys):
    missing = str(tmp_path / "nowhere.xlsx")
    out = tmp_path / "out"
    done = run(
        capsys, "screen", SAMPLE, missing, "-o", str(out), *DATE, "--no-model", "--format", "json"
    )
    assert done.returncode == 2
    manifest = json.loads(done.stdout)
    assert manifest["counts"]["rejected"] == 1 and manifest["written"]["manifest"].endswith(
        "manifest.json"
    )
    missing = "nowhere.xlsx [rejected] file: no such file or folder"
    assert f"{missing} (expected an existing file or folder)\n" in done.stderr
    assert done.stderr.splitlines()[-1] == "as of 2025-06-30"


def test_rules_export_gives_an_editable_copy_that_assesses_the_same(tmp_path, capsys):
    copy = tmp_path / "mine"
    done = run(capsys, "rules", "export", str(copy))
    assert done.returncode == 0, done.stderr
    assert f"wrote {copy / 'rules'}/ (" in done.stdout and f"wrote {copy / 'templates'}/ (" in (
        done.stdout
    )
    assert (copy / "rules" / "model" / "default_model.skops").is_file()
    assert (copy / "templates" / "report" / "en.yaml").is_file()
    again = run(capsys, "rules", "export", str(copy))
    assert again.returncode == 1 and "the folder is not empty" in again.stderr
    assert run(capsys, "rules", "export", str(copy), "--force").returncode == 0
    checked = run(capsys, "rules", "check", str(copy / "rules")).stdout
    packaged_rules = run(capsys, "rules", "path", "--format", "json").stdout
    assert checked.replace(str(copy / "rules"), json.loads(packaged_rules)["rules"]) == (
        run(capsys, "rules", "check").stdout
    )
    packaged = run(capsys, "score", SAMPLE, *DATE, "--format", "json")
    model = str(copy / "rules" / "model" / "default_model.skops")
    mine = run(capsys, "score", SAMPLE, *DATE, "--format", "json", "--rules", str(copy / "rules"))
    with_model = run(
        capsys,
        "score",
        SAMPLE,
        *DATE,
        "--format",
        "json",
        "--rules",
        str(copy / "rules"),
        "--model",
        model,
    )
    assert packaged.returncode == mine.returncode == with_model.returncode == 0
    assert json.loads(mine.stdout) == json.loads(packaged.stdout)
    assert json.loads(with_model.stdout) == json.loads(packaged.stdout)


def test_rules_path_names_the_packaged_folders(capsys):
    done = run(capsys, "rules", "path", "--format", "json")
    paths = json.loads(done.stdout)
    assert set(paths) == {"rules", "model", "templates"}
    assert Path(paths["rules"]).is_dir() and Path(paths["templates"]).is_dir()
    assert Path(paths["model"]).is_file()
    table = run(capsys, "rules", "path").stdout.splitlines()
    assert [line.split()[0] for line in table] == ["rules", "model", "templates"]
