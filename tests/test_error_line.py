"""The CLI's one error line: engine and OS errors through the one problem renderer."""

from __future__ import annotations

import errno

from assessment.cli import error_line
from assessment.errors import InputError, RuleError


def test_an_engine_error_is_its_problem_rendered() -> None:
    error = InputError(
        "cannot read the workbook", where="a.xlsx", expected="xlsx", got="'zip'", hint="re-save it"
    )
    assert error_line(error) == (
        "error: a.xlsx: cannot read the workbook; expected xlsx; got 'zip' (hint: re-save it)"
    )


def test_a_rule_error_keeps_its_problem_lines() -> None:
    row = {"file": "rules.csv", "row": 3, "column": "op", "message": "unknown operator"}
    assert error_line(RuleError.from_rows([row])) == (
        "error: 1 problem(s) in the rules:\nrules.csv, row 3, column op: unknown operator"
    )


def test_an_os_error_names_its_paths_and_reason() -> None:
    both = OSError(errno.EXDEV, "Invalid cross-device link", "a.xlsx", None, "b/a.xlsx")
    assert error_line(both) == "error: a.xlsx -> b/a.xlsx: Invalid cross-device link"
    assert error_line(FileNotFoundError(errno.ENOENT, "No such file", "x.csv")) == (
        "error: x.csv: No such file"
    )
    assert error_line(OSError("disk full")) == "error: disk full"


def test_anything_else_is_an_internal_error() -> None:
    line = error_line(KeyError("x"))
    assert line.startswith("internal error: KeyError: 'x' (this is a bug;")
