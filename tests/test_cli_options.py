"""The command line as a whole: help that starts fast and reads plainly, one meaning and one
metavar per option, shared options that behave the same everywhere, and shell completion.
In this process through ``assessment.cli.main``; through the real console script (marked
``slow``) where the process matters: what start-up imports."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from run_assess import run

from assessment.cli import build_parser, main
from assessment.cli.completion import command_words

ASSESS = Path(sys.executable).parent / "assess"
HEAVY = ("pandas", "numpy", "sklearn", "skops", "openpyxl", "reportlab", "python_calamine")


def _run(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ASSESS), *args], capture_output=True, text=True, check=False, timeout=120, env=env
    )


def _parsers() -> dict[str, argparse.ArgumentParser]:
    """Every command's parser by its name (``score``, ``rules diff`` ...), the root as ''."""
    found = {}

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        found[name] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child_name, child in action.choices.items():
                    walk(child, f"{name} {child_name}".strip())

    walk(build_parser(), "")
    return found


def _leaves() -> dict[str, argparse.ArgumentParser]:
    parsers = _parsers()
    return {name: p for name, p in parsers.items() if name and "run" in p._defaults}


@pytest.mark.slow
@pytest.mark.parametrize("argv", [["--help"], ["score", "--help"], ["rules", "diff", "--help"]])
def test_help_imports_no_heavy_library(argv):
    """``-X importtime`` lists every module the process imported: none of the heavy ones."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    done = _run(*argv, env=env)
    assert done.returncode == 0 and "usage: assess" in done.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "assessment.cli" in imported, "the import log is read"
    assert not {name for name in imported if name.split(".")[0] in HEAVY}


@pytest.mark.slow
def test_building_the_parser_loads_nothing_heavy():
    code = (
        "import sys; from assessment.cli import build_parser; build_parser(); "
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


@pytest.mark.parametrize("name", sorted(_leaves()))
def test_every_help_is_plain_text_with_an_unbroken_example(name, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")  # narrow: wrapping would break "--as-of" at its hyphen
    parser = _leaves()[name]
    text = parser.format_help()
    assert "``" not in text and ":func:" not in text, name
    assert "Example" in text, name
    examples = text.split("Example", 1)[1].split("\n\n")[0].splitlines()[1:]
    assert examples and all(line.startswith("  ") for line in examples), (name, examples)
    assert any(line.strip().startswith(("assess ", "source ")) for line in examples), name
    assert not [line for line in text.splitlines() if re.search(r"\w-$", line)], name


def test_every_option_has_help_and_one_metavar_per_kind():
    metavars: dict[str, set] = {}
    for name, parser in _leaves().items():
        for action in parser._actions:
            assert action.help, (name, action.dest)
            for option in action.option_strings:
                if action.nargs != 0 and not action.choices:
                    metavars.setdefault(option, set()).add(action.metavar)
    for option in ("--as-of", "--rules", "--model", "--templates", "--portfolio", "--jobs"):
        assert len(metavars[option]) == 1, (option, metavars[option])
    assert metavars["--as-of"] == {"DATE"} and metavars["--model"] == {"MODEL"}
    assert metavars["--rules"] == metavars["--templates"] == {"DIR"}
    assert None not in metavars["-o"]


def test_shared_options_are_everywhere_they_belong():
    leaves = _leaves()

    def options(name: str) -> set[str]:
        return {o for a in leaves[name]._actions for o in a.option_strings}

    printing = ["check", "score", "screen", "rules diff", "sweep", "backtest", "monitor", "drift"]
    for name in printing:
        assert {"--format", "-o"} <= options(name), name
    for name in leaves:
        assert {"-q", "-v", "--debug"} <= options(name), name
    for name in ("check", "score", "screen", "sweep", "backtest", "rules diff", "monitor"):
        assert "--as-of" in options(name), name


@pytest.mark.parametrize(
    "name", sorted(n for n, p in _leaves().items() if "--no-model" in p._option_string_actions)
)
def test_model_and_no_model_exclude_each_other(name, capsys):
    argv = [*name.split(), "--model", "m.skops", "--no-model"]
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 1
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_usage_error_exits_1_and_the_policy_is_in_the_help(capsys, monkeypatch):
    with pytest.raises(SystemExit) as stop:
        main(["score", "--no-such-option", "x"])
    assert stop.value.code == 1 and "unrecognized arguments" in capsys.readouterr().err
    monkeypatch.setenv("COLUMNS", "80")  # as wide as help printed into a pipe
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    help_text = capsys.readouterr().out
    for code in ("0 ", "2 ", "1 ", "70 ", "130 "):
        assert f"\n  {code}" in help_text.split("exit codes", 1)[1], code


def test_monitor_format_text_is_table(tmp_path):
    parser = _leaves()["monitor"]
    assert parser.parse_args(["a", "b"]).format == "table"
    assert parser.parse_args(["a", "b", "--format", "text"]).format == "text"


def test_bash_completion_is_valid_and_knows_every_command(tmp_path, capsys):
    script = run(capsys, "completion", "bash")
    assert script.returncode == 0
    path = tmp_path / "assess.bash"
    path.write_text(script.stdout, encoding="utf-8")
    bash = shutil.which("bash")
    assert bash, "bash is needed to check the completion script"
    assert subprocess.run([bash, "-n", str(path)], capture_output=True).returncode == 0
    words = command_words(build_parser())
    for command in words[""]:
        assert f'"{command}")' in script.stdout, command
    assert set(words["rules"]) == {"check", "test", "diff", "export", "path"}

    def complete(*line: str) -> list[str]:
        shell = (
            f"source {path}; COMP_WORDS=({' '.join(repr(w) for w in line)}); "
            f'COMP_CWORD={len(line) - 1}; _assess; printf "%s\\n" "${{COMPREPLY[@]}}"'
        )
        done = subprocess.run([bash, "-c", shell], capture_output=True, text=True, cwd=tmp_path)
        return done.stdout.split()

    assert set(complete("assess", "")) == set(words[""])
    assert complete("assess", "rules", "ex") == ["export"]
    assert complete("assess", "score", "--for") == ["--format"]
    assert complete("assess", "screen", "--format", "j") == ["json"]
    assert "assess.bash" in complete("assess", "check", "as")
    zsh = run(capsys, "completion", "zsh").stdout
    assert "bashcompinit" in zsh and script.stdout in zsh
