"""House rules that keep the code base honest: one direction of imports, a quiet library,
documented commands, and a clean lint."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT

from assessment.cli import build_parser

PACKAGE = ROOT / "assessment"
# The layers in data-flow order: a module imports only from its own part of the tree or from
# an earlier layer. ``criteria`` and ``model`` share a layer and never import each other.
LAYERS = (
    ("errors", "_shared"),
    ("intake",),
    ("criteria", "model"),
    ("decision",),
    ("pipeline",),
    ("reports",),
    ("screening",),
    ("workbench",),
    ("service",),
    ("cli", "__main__"),
)
LAYER_OF = {part: level for level, parts in enumerate(LAYERS) for part in parts}
SHELLS = {"cli", "__main__", "service"}  # service: the web shell (speaks HTTP, never prints)


def _modules() -> list[Path]:
    return sorted(
        p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE
    )


def _dotted(path: Path) -> list[str]:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _part(path: Path) -> str:
    """The top-level part of the tree a module belongs to (``intake``, ``pipeline``...)."""
    return _dotted(path)[0]


def _targets(path: Path) -> list[tuple[list[str], list[str]]]:
    """Every import of the package by ``path``, as (module parts under ``assessment``, names)."""
    package = _dotted(path) if path.name == "__init__.py" else _dotted(path)[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = (
            [a.name for a in node.names] if isinstance(node, ast.Import | ast.ImportFrom) else []
        )
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            found.append((base + (node.module.split(".") if node.module else []), names))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("assessment."):
            found.append((node.module.split(".")[1:], names))
        elif isinstance(node, ast.Import):
            found += [(n.split(".")[1:], []) for n in names if n.startswith("assessment.")]
    return found


def _layer_problems(path: Path) -> list[str]:
    own = _part(path)
    problems = []
    for target, names in _targets(path):
        if not target:  # the package root: only its public API
            continue
        part = target[0]
        if part != own and LAYER_OF[part] > LAYER_OF[own]:
            problems.append(f"imports the later layer {'.'.join(target)}")
        if {part, own} == {"criteria", "model"}:
            problems.append(f"imports {'.'.join(target)}: criteria and model are kept apart")
        private = [n for n in names if n.startswith("_") and n != "__version__"]
        private_module = [t for t in target[1:] if t.startswith("_")]
        if part != own and part != "_shared" and (private or private_module):
            problems.append(f"uses private {private or private_module} of {'.'.join(target)}")
    return problems


def test_every_part_of_the_tree_has_a_layer():
    assert {_part(p) for p in _modules()} <= set(LAYER_OF)
    assert {p.stem for p in PACKAGE.iterdir() if p.suffix == ".py" or p.is_dir()} - {
        "__init__",
        "__pycache__",
    } == set(LAYER_OF), "a new top-level part needs a layer"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: ".".join(_dotted(p)))
def test_no_layer_imports_a_later_one(path):
    assert _layer_problems(path) == []


def test_the_layer_test_catches_an_upward_import(tmp_path):
    """The check itself fails on a module of ``intake`` that imports the decision layer."""
    bad = PACKAGE / "intake" / "read.py"
    text = "from ..decision.decide import decide\nfrom ..errors import _hidden\n"
    original = bad.read_text(encoding="utf-8")
    assert _layer_problems(bad) == []
    try:
        bad.write_text(original + text, encoding="utf-8")
        assert len(_layer_problems(bad)) == 2
    finally:
        bad.write_text(original, encoding="utf-8")


@pytest.mark.parametrize("path", _modules(), ids=lambda p: ".".join(_dotted(p)))
def test_only_shells_print_or_exit(path):
    if _part(path) in SHELLS:
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
    assert block[1].endswith("python3 -m pytest --slow")  # the whole suite, slow tests too
    assert "\npython3 -m pytest --slow\n" in (ROOT / ".ci" / "run").read_text()
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
    from assessment.criteria.indicators import INDICATORS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for indicator in INDICATORS:
        assert f"| `{indicator.name}` |" in readme, indicator.name


def test_every_name_the_benchmarks_import_exists():
    """bench/ imports the package by name in child processes the suite does not run: a
    renamed function must fail here, not in the next benchmark run."""
    missing = []
    for path in sorted((ROOT / "bench").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("assessment"):
                module = importlib.import_module(node.module)
                missing += [
                    f"{path.name}: {node.module}.{alias.name}"
                    for alias in node.names
                    if not hasattr(module, alias.name)
                    and importlib.util.find_spec(f"{node.module}.{alias.name}") is None
                ]
    assert missing == []
