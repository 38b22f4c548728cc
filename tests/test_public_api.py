"""The public surface is small and pinned: a change to it is a deliberate change here."""

import ast
import inspect
import os
import subprocess
import sys
import types

import pytest
from helpers import ROOT

import assessment

PUBLIC = [
    "Applications",
    "AssessmentError",
    "DictionaryError",
    "Evaluation",
    "InputError",
    "ModelError",
    "OutputError",
    "RiskModel",
    "RuleError",
    "RuleSet",
    "Scored",
    "Screening",
    "Settings",
    "__version__",
    "add_indicators",
    "evaluate_rules",
    "load_dictionary",
    "load_model",
    "load_rules",
    "read_applications",
    "score_applications",
    "screen_inputs",
    "screen_to_folder",
    "write_template",
    "yearly_indicators",
]


def test_public_api_is_pinned():
    assert assessment.__all__ == PUBLIC == sorted(PUBLIC)
    for name in assessment.__all__:
        assert hasattr(assessment, name), name


def is_submodule(value: object) -> bool:
    """A subpackage or module of ``assessment`` (an ``import os`` there would not be)."""
    return isinstance(value, types.ModuleType) and value.__name__.startswith("assessment.")


def public_names(module: types.ModuleType) -> set[str]:
    """What ``dir`` shows that is neither private nor a submodule (httpx's rule)."""
    return {
        name
        for name in dir(module)
        if not name.startswith("_") and not is_submodule(getattr(module, name))
    }


def test_all_equals_the_public_names_of_the_package():
    """httpx-style: nothing public that is not in ``__all__``, once every name is loaded
    (the lazy names and whatever loading them left in the module)."""
    for name in assessment.__all__:
        getattr(assessment, name)
    assert public_names(assessment) == set(assessment.__all__) - {"__version__"}
    loaded = {name for name in vars(assessment) if not name.startswith("_")}
    assert loaded - set(assessment.__all__) == {
        name for name in loaded if is_submodule(getattr(assessment, name))
    }


def test_each_public_name_lives_where_the_lazy_table_says():
    for name, home in assessment._HOMES.items():
        value = getattr(assessment, name)
        assert getattr(value, "__module__", None) == f"assessment.{home}", name
    assert set(assessment._HOMES) == set(assessment.__all__) - {"__version__"}


def test_the_type_checking_imports_match_the_lazy_table():
    """What type checkers and editors see is what ``__getattr__`` loads."""
    tree = ast.parse(inspect.getsource(assessment))
    guarded = next(node for node in tree.body if isinstance(node, ast.If))
    seen = {
        alias.name: node.module
        for node in guarded.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert seen == assessment._HOMES


@pytest.mark.slow
def test_import_assessment_loads_nothing_heavy():
    """``import assessment`` (and reading its surface) starts without pandas, scikit-learn
    or Dask: PEP 562 loads each name on first use."""
    code = (
        "import sys, assessment\n"
        "names = dir(assessment)\n"
        "heavy = [m for m in ('pandas', 'numpy', 'sklearn', 'skops', 'dask', 'reportlab')"
        " if m in sys.modules]\n"
        "print(heavy, 'score_applications' in names)\n"
        "assessment.AssessmentError\n"
        "print('pandas' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[] True", "False"]


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'score'"):
        assessment.score  # noqa: B018


def test_read_applications_unpacks_into_three_frames(tmp_path):
    projects, yearly, problems = assessment.read_applications([tmp_path])
    assert list(yearly.columns) == ["project_id", "year", "series", "value"]
    assert projects.index.name == "project_id" and projects.empty and problems.empty
