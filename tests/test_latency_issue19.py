"""Issue 19, where one person waits: ``assess --help`` loads no heavy library, ``assess score``
loads no writer it was not asked for, and what is kept per process (the rule packs, the
reference tables, the report templates) is read again once its file changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers import ROOT

HEAVY = ("pandas", "numpy", "sklearn", "scipy", "skops", "reportlab", "openpyxl", "dask", "yaml")
WRITERS = ("reportlab", "openpyxl", "xlsxwriter", "matplotlib")


def loaded_after(code: str, names: tuple[str, ...]) -> list[str]:
    """The libraries of ``names`` loaded by a new Python process after running ``code``."""
    probe = (
        f"{code}\n"
        "import json, sys\n"
        f"print(json.dumps(sorted(n for n in {names!r} if n in sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"], ["score", "--help"], ["--version"]])
def test_help_loads_no_heavy_library(argv):
    code = (
        "import contextlib, io\n"
        "from assessment.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        f"    main({argv!r})\n"
    )
    assert loaded_after(code, HEAVY) == []


def test_the_cli_module_loads_no_heavy_library():
    assert loaded_after("import assessment.cli, assessment.__main__", HEAVY) == []


@pytest.mark.slow
def test_score_as_text_loads_no_writer():
    code = (
        "import contextlib, io\n"
        "from assessment.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    code = main(['score', 'sample_projects/10_horinger_green_credit_ai.xlsx',"
        " '--as-of', '2025-06-30'])\n"
        "assert code == 0, code\n"
    )
    assert loaded_after(code, WRITERS) == []
