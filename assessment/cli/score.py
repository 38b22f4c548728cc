"""``assess score``: every rule's verdict, the programme results and the decision, per project."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from . import options
from .console import (
    as_of_used,
    checked_file,
    emit,
    input_status,
    is_folder,
    made_for,
    model_path,
    print_json,
    require_projects,
    say_as_of,
    say_verbose,
    wrote,
)


def cmd_score(args: argparse.Namespace) -> int:
    """Score applications against the rule packs in force on the as-of date: per project the
    decision, the programme results (eligible, score, grade), key indicators, and each rule's
    verdict with the observed value, the threshold and its source. Input errors are listed on
    stderr, one line each (exit code 2; the projects that could be read are scored).
    -o FILE.xlsx writes the assessment workbook, -o FILE.pdf the PDF memo (several projects:
    FILE_<project_id>.pdf) and -o DIR/ one memo per project into DIR; -o is repeatable.

    Example:
      assess score sample_projects/ --as-of 2025-06-30 -o scores.xlsx -o memos/
    """
    from ..pipeline import project_records, score_applications
    from ..reports.text import problem_summary_lines, score_json, score_lines

    targets = score_targets(args)
    as_of = as_of_used(args)
    model = model_path(args)
    scored = score_applications(args.paths, as_of=as_of, rules=args.rules, model=model)
    require_projects(scored.applications)
    _write_outputs(args, scored, targets)
    if args.format == "json":
        print_json(score_json(scored))
    else:
        for record in project_records(scored):
            emit(score_lines(record, args.all_rules))
        emit(problem_summary_lines(scored.applications.problems))
    status = input_status(args, scored.applications.problems)
    say_verbose(args, [f"rules: {args.rules or 'packaged'}", f"model: {model or 'none'}"])
    say_as_of(args, as_of)
    return status


def score_targets(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The outputs asked for, checked before scoring: ``("xlsx" | "pdf" | "folder", path)``
    from ``-o`` (by suffix) and the older ``--excel`` and ``--report``."""
    inputs = args.paths
    targets = []
    if args.excel:
        targets.append(
            ("xlsx", str(checked_file(args.excel, (".xlsx",), "--excel workbook", inputs)))
        )
    if args.report:
        targets.append(_memo_target(args.report, "--report", inputs))
    for path in args.output or []:
        if not is_folder(path) and not path.lower().endswith(".pdf"):
            kind = "xlsx"
            targets.append((kind, str(checked_file(path, (".xlsx",), "-o workbook", inputs))))
        else:
            targets.append(_memo_target(path, "-o", inputs))
    _at_most_one_of_each(targets)
    return targets


def _memo_target(path: str, option: str, inputs: Sequence[str]) -> tuple[str, str]:
    from .._shared.files import check_destination

    if is_folder(path):
        check_destination(path, (), f"{option} folder", folder=True, inputs=inputs)
        return "folder", path
    check_destination(path, (".pdf",), f"{option} memo", inputs=inputs)
    return "pdf", path


def _at_most_one_of_each(targets: list[tuple[str, str]]) -> None:
    from ..errors import AssessmentError

    kinds = [kind for kind, _ in targets]
    if kinds.count("xlsx") > 1 or kinds.count("pdf") + kinds.count("folder") > 1:
        raise AssessmentError(
            "more than one output of a kind",
            expected="at most one workbook (FILE.xlsx) and one memo (FILE.pdf or DIR/)",
            got=", ".join(path for _, path in targets),
        )


def _write_outputs(args: argparse.Namespace, scored, targets: list[tuple[str, str]]) -> None:
    """Write each output asked for; the writers (openpyxl, reportlab) load only then."""
    from pathlib import Path

    for kind, path in targets:
        if kind == "xlsx":
            from ..reports.workbook import write_score_workbook

            made = made_for(path)
            found = write_score_workbook(scored, path, args.paths, args.lang, args.templates)
            wrote(args, [found], made)
        else:
            from ..reports.memo.write import write_reports

            made = made_for(Path(path) / "memo.pdf" if kind == "folder" else path)
            wrote(
                args,
                write_reports(scored, path, args.lang, args.templates, officer=args.officer),
                made,
            )


def add_score_command(commands) -> None:
    score = options.command(
        commands,
        "score",
        "score applications against the rule packs",
        cmd_score,
        parents=[
            options.as_of_options(),
            options.rules_options(),
            options.model_options(),
            options.format_options(),
            options.strict_options(),
            options.report_options("the PDF memos and the workbook"),
            options.officer_options(),
        ],
    )
    score.add_argument("paths", nargs="+", metavar="INPUT", help="files or folders")
    score.add_argument(
        "-o",
        "--output",
        action="append",
        metavar="FILE",
        help="FILE.xlsx: the assessment workbook; FILE.pdf: the memo (several projects: "
        "FILE_<project_id>.pdf); DIR/: one memo per project (repeatable)",
    )
    score.add_argument(
        "--all-rules", action="store_true", help="also list the rules that do not apply"
    )
    score.add_argument("--excel", metavar="FILE", help="deprecated: use -o FILE.xlsx")
    score.add_argument("--report", metavar="FILE", help="deprecated: use -o FILE.pdf or -o DIR/")
