"""``assess`` run inside the test process: the exit code and what was printed, as the console
script would give them, without the 2-3 s start-up of a new interpreter (pandas, scikit-learn).
Tests about the process itself (the console script, signals, start-up imports, another user)
run it as a subprocess and are marked ``slow``."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import pytest

from assessment.cli import main


@dataclass(frozen=True)
class Ran:
    """One run of ``assess``: its exit code and its standard output and error."""

    returncode: int
    stdout: str
    stderr: str


def run(capsys: pytest.CaptureFixture[str], *args: str) -> Ran:
    """``assess ARGS`` through :func:`assessment.cli.main`, read from ``capsys``. Usage errors
    raise ``SystemExit`` (argparse), which the caller checks with ``pytest.raises``."""
    capsys.readouterr()  # what earlier runs printed is not this run's
    code = main(list(args))
    out, err = capsys.readouterr()
    return Ran(code, out, err)


def run_quietly(*args: str) -> Ran:
    """``assess ARGS`` for a module-scoped fixture (no ``capsys`` there): stdout and stderr
    redirected into strings."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return Ran(code, out.getvalue(), err.getvalue())
