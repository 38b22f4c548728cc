"""``assess template`` and ``assess check``: the application workbook and its validation."""

from __future__ import annotations

import argparse

from . import options
from .console import (
    as_of_used,
    checked_file,
    emit,
    input_status,
    made_for,
    print_json,
    require_projects,
    say_as_of,
    wrote,
)


def cmd_template(args: argparse.Namespace) -> int:
    """Write the official application workbook (guide, Project and Yearly sheets, dropdowns).
    An existing file is never replaced unless --force is given.

    Example:
      assess template --lang zh -o 申请表.xlsx
    """
    from ..errors import AssessmentError
    from ..intake.template import write_template

    target = checked_file(args.output, (".xlsx",), "the application workbook")
    if target.exists() and not args.force:
        raise AssessmentError(
            "the file exists (it may be a filled-in application)",
            where=str(target),
            expected="a new file name",
            hint="choose another name, or add --force to replace it with a blank template",
        )
    made = made_for(target)
    wrote(args, [write_template(target, args.lang)], made)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Read applications and candidate lists, print the normalized table and every problem
    (file, sheet and cell, severity, project and field, what, expected, got, hint). Exit code
    2 when any input carries an error (with --strict: a warning), 1 when no project could be
    read at all, 0 otherwise. With
    --format json the problems are in the JSON and the errors also on stderr; -o FILE writes
    the table or JSON to FILE instead of stdout.

    Example:
      assess check sample_projects/ --as-of 2025-06-30 --format json -o intake.json
    """
    from ..intake.read import read_applications
    from ..reports.text import applications_json, check_lines

    output = args.output and checked_file(args.output, (), "-o file", args.paths)
    as_of = as_of_used(args)
    result = read_applications(args.paths, as_of=as_of)
    if args.format == "json":
        data = applications_json(result)
        _write_or_print(args, output, data=data)
    else:
        _write_or_print(args, output, lines=check_lines(result, args.columns, args.every_problem))
    listed = args.format == "table" and not output
    if result.has_errors and result.projects.empty:
        require_projects(result, "read", listed)
    status = input_status(args, result.problems, listed=listed)
    say_as_of(args, as_of)
    return status


def _write_or_print(args, output, data=None, lines=None) -> None:
    """The result on stdout, or into ``-o FILE`` (atomically)."""
    if not output:
        print_json(data) if lines is None else emit(lines)
        return
    import json

    from .._shared.files import write_atomically

    text = json.dumps(data, ensure_ascii=False, indent=1) if lines is None else "\n".join(lines)
    made = made_for(output)
    written = write_atomically(
        output, lambda temporary: temporary.write_text(text + "\n", encoding="utf-8")
    )
    wrote(args, [written], made)


def add_intake_commands(commands) -> None:
    template = options.command(
        commands,
        "template",
        "write the official application workbook",
        cmd_template,
    )
    template.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the .xlsx file to write"
    )
    template.add_argument(
        "--lang",
        choices=("en", "zh"),
        default="en",
        help="language of the labels and help: en (English, default) or zh (Chinese)",
    )
    template.add_argument("--force", action="store_true", help="replace an existing file")
    check = options.command(
        commands,
        "check",
        "read and validate applications",
        cmd_check,
        parents=[options.as_of_options(), options.format_options(), options.strict_options()],
    )
    check.add_argument("paths", nargs="+", metavar="INPUT", help="files or folders")
    check.add_argument("-o", "--output", metavar="FILE", help="write the table or JSON here")
    check.add_argument("--columns", help="comma-separated project columns to print, or 'all'")
    check.add_argument(
        "--every-problem",
        action="store_true",
        help="print each missing-field warning on its own line instead of one "
        "line per field and file",
    )
