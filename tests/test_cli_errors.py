"""The CLI's one error boundary: engine and OS errors as one line (exit 1), Ctrl-C as
``interrupted`` (exit 130), anything else as an internal error (exit 70); ``--debug`` shows the
traceback. In this process through ``assessment.cli.main``; through the real console script
(marked ``slow``) where the process matters: ``python -m``, signals, forked workers."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, ctrl_c_heard

import assessment.cli as cli
from assessment.errors import InputError

ASSESS = Path(sys.executable).parent / "assess"
SAMPLE = ROOT / "sample_projects" / "03_shenzhen_edge_site.xlsx"


@pytest.mark.slow
def test_python_dash_m_runs_the_same_cli():
    done = subprocess.run(
        [sys.executable, "-m", "assessment", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("assess ")


def test_a_missing_input_is_one_line_naming_it(tmp_path, capsys):
    assert cli.main(["score", str(tmp_path / "nowhere.xlsx"), "--as-of", "2025-06-30"]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'nowhere.xlsx'} [error] file: no such file or folder" in err
    assert err.splitlines()[-1].startswith("assess score: error: no project could be")


def test_a_text_file_is_refused_and_a_good_one_beside_it_is_scored(tmp_path, capsys):
    text = tmp_path / "notes.txt"
    text.write_text("not a workbook", encoding="utf-8")
    assert cli.main(["score", str(text), str(SAMPLE), "--as-of", "2025-06-30", "--no-model"]) == 2
    out, err = capsys.readouterr()
    assert "DC-2025-003" in out
    assert f"{text} [error] file: not a supported spreadsheet type" in err


def test_debug_shows_the_traceback(tmp_path, capsys):
    missing = str(tmp_path / "nowhere.xlsx")
    assert cli.main(["score", missing]) == 1
    for argv in (["score", missing, "--debug"], ["--debug", "score", missing]):
        with pytest.raises(InputError, match="no project could be scored"):
            cli.main(argv)


def test_an_os_error_is_one_line(tmp_path, monkeypatch, capsys):
    def fails(args):
        raise PermissionError(13, "Permission denied", str(tmp_path / "out.xlsx"))

    monkeypatch.setattr(cli, "cmd_template", fails)
    assert cli.main(["template", "-o", "x.xlsx"]) == 1
    err = capsys.readouterr().err
    assert err == f"assess template: error: {tmp_path / 'out.xlsx'}: Permission denied\n"


def test_an_unexpected_exception_is_an_internal_error_with_exit_70(monkeypatch, capsys):
    def breaks(args):
        raise ValueError("boolean value of NA is ambiguous")

    monkeypatch.setattr(cli, "cmd_rules_check", breaks)
    assert cli.main(["rules", "check"]) == cli.INTERNAL_ERROR == 70
    err = capsys.readouterr().err.strip()
    assert err.startswith("assess rules check: internal error: ValueError: boolean value of NA")
    assert "--debug" in err and "\n" not in err
    with pytest.raises(ValueError):
        cli.main(["rules", "check", "--debug"])


def test_interrupt_prints_interrupted_and_exits_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_check", interrupted)
    assert cli.main(["check", "x"]) == 130
    assert capsys.readouterr().err == "assess check: interrupted\n"


@pytest.mark.slow
def test_ctrl_c_while_the_libraries_load_exits_130_without_a_traceback(tmp_path):
    """(Ctrl-C during a batch: tests/test_outputs_safety.py, which also checks the outputs.)"""
    command = ["screen", str(ROOT / "sample_projects"), "-o", str(tmp_path / "out"), "--reports"]
    process = subprocess.Popen(
        [str(ASSESS), *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_heard,
    )
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.rstrip().endswith("interrupted") and "Traceback" not in err


def test_screen_of_an_empty_folder_or_a_missing_file_answers(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert cli.main(["screen", str(tmp_path / "empty"), "-o", str(tmp_path / "out")]) == 1
    assert "nothing to screen" in capsys.readouterr().err
    missing = str(tmp_path / "nowhere.xlsx")
    assert cli.main(["screen", missing, "-o", str(tmp_path / "out"), "--no-model"]) == 2
    assert "0 project(s) scored, 1 rejected" in capsys.readouterr().out
    assert cli.main(["check", missing]) == 1
    out = capsys.readouterr().out
    assert "Index" not in out and out.rstrip().endswith("0 projects; 1 errors, 0 warnings")


def test_monitor_never_writes_over_or_into_what_it_compares(tmp_path, capsys):
    base = tmp_path / "base"
    assert cli.main(["screen", str(SAMPLE), "-o", str(base), "--as-of", "2025-06-30"]) == 0
    before = (base / "screening.xlsx").read_bytes()
    assert cli.main(["monitor", str(base), str(base), "-o", str(base / "screening.xlsx")]) == 1
    assert "inside the input folder" in capsys.readouterr().err
    assert (base / "screening.xlsx").read_bytes() == before


@pytest.mark.slow
def test_a_pool_of_processes_with_the_tree_model_finishes(tmp_path):
    """The model is loaded (and checked by scoring one row) before the workers fork: with
    OpenMP threads free to start (no OMP_NUM_THREADS, as on a user's machine) the workers
    once deadlocked inside the trees' predict (400 rows in two chunks were enough)."""
    edge = ROOT / "sample_projects" / "candidates" / "edge_sites_gbk.csv"
    header, *body = list(csv.reader(edge.read_text(encoding="gbk").splitlines()))
    listing = tmp_path / "edge_400.csv"
    with listing.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([f"E-{i:04d}", *body[i % len(body)][1:]] for i in range(400))
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    command = [str(ASSESS), "screen", str(listing), "-o", str(tmp_path / "out"), "--jobs", "2"]
    done = subprocess.run(
        [*command, "--chunk-rows", "200", "--as-of", "2025-06-30"],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "400 project(s) scored" in done.stdout


SWEEP = ["sweep", "CMP-GB40879-LIMIT", "--as-of", "2025-06-30", "--portfolio"]


@pytest.mark.parametrize(
    "argv, code, message",
    [
        ([*SWEEP, "{h}", "--from", "1.2", "--to", "1.5", "--steps", "2"], 1, "no project could"),
        ([*SWEEP, "{h}", str(SAMPLE), "--from", "1.2", "--to", "1.5", "--steps", "2"], 2, "{h}"),
        ([*SWEEP, str(SAMPLE), "--from", "nan", "--to", "1.5", "--steps", "2"], 1, "not finite"),
        ([*SWEEP, str(SAMPLE), "--from", "1", "--to", "2", "--steps", "99999"], 1, "steps"),
        (["rules", "diff", "{r}", "{r}", "--portfolio", "{h}"], 1, "no project could"),
        (["rules", "diff", "{r}", "{r}", "--portfolio", "{h}", str(SAMPLE)], 2, "{h}"),
    ],
    ids=["sweep-empty", "sweep-one-unread", "sweep-nan", "sweep-steps", "diff-empty", "diff-one"],
)
def test_portfolio_commands_name_unread_inputs_and_refuse_odd_ranges(
    tmp_path, capsys, argv, code, message
):
    header_only = tmp_path / "header_only.csv"
    header_only.write_text("project_id,pue\n", encoding="utf-8")
    fill = {"h": str(header_only), "r": str(ROOT / "rules")}
    assert cli.main([a.format(**fill) for a in argv]) == code
    assert message.format(**fill) in capsys.readouterr().err


def test_a_file_reached_twice_is_read_once_and_outputs_are_never_read_back(tmp_path, capsys):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(SAMPLE, inbox / SAMPLE.name)
    again = [str(inbox / SAMPLE.name), str(inbox / "." / SAMPLE.name), str(inbox), str(inbox)]
    assert cli.main(["screen", *again, "-o", str(tmp_path / "a"), "--no-model"]) == 0
    assert "1 input file(s): 1 project(s) scored, 0 rejected" in capsys.readouterr().out
    assert cli.main(["screen", str(SAMPLE), "-o", str(inbox), "--no-model"]) == 0
    assert (inbox / ".assessignore").read_text(encoding="utf-8").count("screening") == 3
    assert cli.main(["screen", str(inbox), "-o", str(tmp_path / "b"), "--no-model"]) == 0
    assert "1 input file(s): 1 project(s) scored, 0 rejected" in capsys.readouterr().out


@pytest.mark.slow
def test_sigterm_during_a_batch_exits_143_and_leaves_nothing(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for path in sorted((ROOT / "sample_projects").glob("0*.xlsx"))[:3]:
        shutil.copy(path, inbox / path.name)
    command = [str(ASSESS), "screen", str(inbox), "-o", "out", "--as-of", "2025-06-30"]
    process = subprocess.Popen(
        [*command, "--reports", "--jobs", "1"], cwd=tmp_path, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(tmp_path.glob(".out.new-*/reports/*.pdf")):
        time.sleep(0.05)  # wait until the first memo is being written
    process.terminate()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert err.rstrip().endswith("assess screen: terminated") and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inbox"]


def test_a_missing_templates_folder_is_refused(tmp_path, capsys):
    report = str(tmp_path / "memo.pdf")
    argv = ["score", str(SAMPLE), "--as-of", "2025-06-30", "--no-model", "--report", report]
    assert cli.main([*argv, "--templates", str(tmp_path / "nowhere")]) == 1
    assert "the templates folder does not exist" in capsys.readouterr().err
