"""What every command says besides its results, in one place: the as-of date it used, the
folders it made and files it wrote, the inputs it could not assess (one line each) and the
exit code that follows from them.

Results go to stdout; notes (``as of ...``, ``wrote ...``, input problems) to stderr when
stdout carries JSON, so that ``--format json`` prints nothing but JSON. ``--quiet`` drops the
notes, never the input problems or errors.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from pathlib import Path

ALL_ASSESSED, SOME_REJECTED = 0, 2


def emit(lines: Sequence[str], stream=None) -> None:
    """Print result lines (stdout unless told)."""
    for line in lines:
        print(line, file=stream or sys.stdout)


def note_stream(args: argparse.Namespace):
    """Where notes go: stderr when stdout carries JSON, else stdout."""
    return sys.stderr if getattr(args, "format", None) == "json" else sys.stdout


def wrote(args: argparse.Namespace, paths: Sequence[object], made: Sequence[object] = ()) -> None:
    """``made folder X`` and ``wrote Y`` lines, unless ``--quiet``."""
    if args.quiet:
        return
    for folder in made:
        print(f"made folder {folder}", file=note_stream(args))
    for path in paths:
        print(f"wrote {path}", file=note_stream(args))


def as_of_used(args: argparse.Namespace) -> dt.date:
    """The assessment date: ``--as-of`` or today."""
    return args.as_of or dt.date.today()


def say_as_of(args: argparse.Namespace, as_of: dt.date | str) -> None:
    """``as of 2025-06-30`` on stderr (``(today)`` when it was not given), unless ``--quiet``."""
    if not args.quiet:
        given = "" if args.as_of else " (today)"
        print(f"as of {as_of}{given}", file=sys.stderr)


def say_verbose(args: argparse.Namespace, lines: Sequence[str]) -> None:
    if args.verbose:
        emit(lines, sys.stderr)


def model_path(args: argparse.Namespace) -> Path | None:
    """The model to assess with: ``--model``, none with ``--no-model``, else the packaged."""
    if args.no_model:
        return None
    if args.model:
        return Path(args.model)
    from ..model.persist import default_model_path

    return default_model_path()


def input_status(args: argparse.Namespace, problems, *, listed: bool = False) -> int:
    """List the inputs' errors (and, with ``--strict``, warnings) on stderr, one line each,
    unless ``listed`` (already printed as the command's result); 2 when there are any."""
    from ..reports.text import problem_lines

    counted = ("error", "warning") if getattr(args, "strict", False) else ("error",)
    found = problems[problems["severity"].isin(counted)]
    if not listed:
        every = getattr(args, "every_problem", False) or args.verbose
        for line in problem_lines(found, every):
            print(line, file=sys.stderr)
    return SOME_REJECTED if len(found) else ALL_ASSESSED


def require_projects(applications, verb: str = "scored", listed: bool = False) -> None:
    """With no project at all there is nothing to assess: a fatal error (exit 1), after the
    inputs that gave none are listed on stderr (unless ``listed`` already)."""
    from ..errors import InputError
    from ..reports.text import problem_line

    if not applications.projects.empty:
        return
    problems = applications.problems
    unread = problems[(problems["severity"] == "error") & (problems["project_id"].fillna("") == "")]
    for row in [] if listed else unread.to_dict("records"):
        print(problem_line(row), file=sys.stderr)
    raise InputError(
        f"no project could be {verb}",
        expected="an application workbook or candidate list with at least one project",
        got=f"{len(unread)} input(s) unread" if len(unread) else "no project rows",
        hint="assess check INPUT lists what is wrong with each input",
    )


def is_folder(path: str) -> bool:
    """An output named as a folder: it exists as one, ends with a slash or has no suffix."""
    return path.endswith(("/", os.sep)) or Path(path).is_dir() or not Path(path).suffix


def checked_file(path: str, suffixes: tuple[str, ...], kind: str, inputs=()) -> Path:
    """An output file's path, checked before the work starts."""
    from .._shared.files import check_destination

    return check_destination(path, suffixes, kind, inputs=inputs)


def made_for(path: str | Path) -> list[Path]:
    """The folders writing ``path`` will make."""
    from .._shared.files import missing_folders

    return missing_folders(path)


def xlsx_and_pdf(paths: list[str], inputs: Sequence[str] = ()) -> dict[str, str]:
    """``-o`` files by suffix: at most one .xlsx and one .pdf, each checked before the work
    starts (a file, not a folder; a folder that can be written; outside the inputs)."""
    from ..errors import AssessmentError

    found: dict[str, str] = {}
    for path in paths:
        suffix = Path(path).suffix.lower()
        if suffix not in (".xlsx", ".pdf") or suffix in found:
            raise AssessmentError(
                f"cannot write {path!r}",
                expected="-o FILE.xlsx and/or -o FILE.pdf, each at most once",
                got=", ".join(paths),
            )
        found[suffix] = str(checked_file(path, (suffix,), f"-o {suffix[1:]}", inputs))
    return found


def print_json(data: object) -> None:
    import json

    json.dump(data, sys.stdout, ensure_ascii=False, indent=1, default=str)
    print()
