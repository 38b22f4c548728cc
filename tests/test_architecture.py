"""House rules that keep the code base honest: one direction of imports, a quiet library,
documented commands, and a clean lint."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from assessment.cli import build_parser

PACKAGE = ROOT / "assessment"
# Stages in data-flow order; a module may import only modules of its own stage or earlier.
STAGES = {
    "errors": 0,
    "strict_yaml": 0,
    "limits": 0,
    "_resources": 0,
    "_files": 0,
    "bands": 0,
    "dictionary": 0,
    "zipped": 1,
    "workbooks": 1,
    "values": 1,
    "layouts": 1,
    "normalize": 1,
    "validate": 1,
    "ingest": 1,
    "template": 1,
    "chunks": 1,
    "indicators": 2,
    "conditions": 3,
    "cases": 3,
    "rules": 3,
    "evaluate": 3,
    "scoring": 8,
    "model": 4,
    "training": 4,
    "artefact": 4,
    "prediction": 4,
    "counterfactual": 5,
    "decision": 5,
    "excel": 6,
    "pdf_look": 6,
    "pdf_parts": 6,
    "screen_excel": 6,
    "xlsx_rows": 6,
    "screen_summary": 6,
    "screening": 8,
    "runner": 8,
    "batch": 8,
    "report_memo": 8,
    "report_front": 8,
    "report_detail": 8,
    "report": 8,
    "sweep": 8,
    "monitor": 8,
    "monitor_report": 8,
    "rules_diff": 8,
    "rules_diff_report": 8,
    "backtest": 8,
    "backtest_history": 8,
    "backtest_report": 8,
    "cli": 9,
    "__main__": 9,
}
SHELLS = {"cli", "__main__"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _modules() -> list[Path]:
    return [p for p in PACKAGE.glob("*.py") if p.stem != "__init__"]


def test_every_module_has_a_stage():
    assert {p.stem for p in _modules()} == set(STAGES)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.stem)
def test_no_stage_imports_a_later_stage(path):
    for name in _imports(path):
        assert STAGES[name] <= STAGES[path.stem], f"{path.stem} imports later stage {name}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.stem)
def test_only_shells_print_or_exit(path):
    if path.stem in SHELLS:
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in ("print", "exit", "eval", "exec"), path.stem
        if isinstance(node, ast.Attribute) and node.attr == "exit":
            pytest.fail(f"{path.stem} calls exit")


def test_every_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = build_parser()._subparsers._group_actions[0].choices
    for name, parser in commands.items():
        assert f"### `assess {name}`" in readme, name
        assert parser.description and "Example" in parser.description, name


def test_readme_opens_with_the_two_setup_commands():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    block = lines[lines.index("```bash") + 1 : lines.index("```bash") + 3]
    assert block[0].endswith("assess screen sample_projects/ -o screening/ --as-of 2025-06-30")
    assert block[1].endswith("python3 -m pytest")
    assert "python3 -m pytest" in (ROOT / ".ci" / "run").read_text()
    assert "python3 -m venv" in "\n".join(lines[:20]), "the README says how to make a venv"
    assert "mktemp" in (ROOT / ".ci" / "run").read_text(), ".ci/run uses a fresh venv"


def test_ruff_is_clean():
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "assessment", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout


def test_every_indicator_is_documented_in_the_readme():
    from assessment.indicators import INDICATORS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for indicator in INDICATORS:
        assert f"| `{indicator.name}` |" in readme, indicator.name
