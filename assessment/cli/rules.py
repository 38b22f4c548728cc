"""``assess rules check|test|diff|export|path``: work with rule packs."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import options
from .console import (
    as_of_used,
    emit,
    input_status,
    made_for,
    note_stream,
    print_json,
    require_projects,
    say_as_of,
    wrote,
    xlsx_and_pdf,
)

PACKAGED = ("rules", "templates")  # the model sits in rules/model/


def cmd_rules_check(args: argparse.Namespace) -> int:
    """Validate a rules folder: every pack, rule row and segment table, and the decision
    tables it decides with; all problems are listed with file, row, column and a hint.
    --format json prints the packs (id, version, rules) as JSON.

    Example:
      assess rules check rules/
    """
    from ..criteria.rule_warnings import rule_warnings
    from ..criteria.rules import load_rules
    from ..reports.text import rules_check_lines

    rule_set = load_rules(args.directory)
    baseline = args.baseline or (None if args.directory is None else "")
    warnings = rule_warnings(rule_set, None if baseline is None else load_rules(baseline or None))
    if args.format == "json":
        packs = [{"id": p.id, "version": p.version, "rules": len(p.rules)} for p in rule_set.packs]
        print_json({"packs": packs, "rules": len(rule_set.rules), "warnings": warnings})
    else:
        emit([*rules_check_lines(rule_set), *warnings])
    return 0


def cmd_rules_test(args: argparse.Namespace) -> int:
    """Run the test cases shipped with each rule pack (cases.csv) and report each failure
    with the rule, the case, the expected and the actual verdict, and each rule without a
    case. Exit code 1 on either, so that CI keeps every rule covered. --format json prints
    every case with its result, and the rules without a case.

    Example:
      assess rules test rules/
    """
    from ..criteria.cases import run_cases, uncovered
    from ..criteria.rules import load_rules
    from ..reports.text import records, rules_test_lines

    rule_set = load_rules(args.directory)
    results = run_cases(rule_set)
    untested = uncovered(rule_set, results)
    if args.format == "json":
        print_json({"cases": records(results), "without_a_case": list(untested)})
    else:
        emit(rules_test_lines(rule_set, results))
    return 1 if not results["ok"].all() or untested else 0


def cmd_rules_diff(args: argparse.Namespace) -> int:
    """Compare two rules folders: rules added, removed and changed (column, old and new value)
    and, with --portfolio, the projects whose eligibility, grade or recommendation flips,
    with the rules responsible. -o FILE.xlsx also writes the tables as a workbook, -o FILE.pdf
    a short PDF (give -o twice for both).

    Example:
      assess rules diff rules/ new_rules/ --portfolio sample_projects/ -o diff.xlsx
    """
    from ..criteria.rules import load_rules
    from ..intake.read import read_applications
    from ..model.persist import load_model
    from ..workbench.rules_diff import diff_rules

    outputs = xlsx_and_pdf(args.output or [], args.portfolio or [])
    as_of = as_of_used(args)
    old, new = load_rules(args.old), load_rules(args.new)
    applications = read_applications(args.portfolio, as_of=as_of) if args.portfolio else None
    if applications is not None:
        require_projects(applications)
    model = load_model(args.model) if args.model else None
    diff = diff_rules(old, new, applications, as_of=as_of, model=model)
    _print_diff(args, diff)
    _write_diff(args, diff, outputs, as_of)
    if applications is None:
        return 0
    status = input_status(args, applications.problems)
    say_as_of(args, as_of)
    return status


def _print_diff(args: argparse.Namespace, diff) -> None:
    from ..reports.text import diff_lines, tables_json

    if args.format == "json":
        tables = {"changes": diff.changes}
        if args.portfolio:
            tables |= {"flips": diff.flips, "summary": diff.summary, "verdicts": diff.verdicts}
            tables["rates"] = diff.rates
        print_json(tables_json(tables))
    else:
        emit(diff_lines(diff, bool(args.portfolio)))


def _write_diff(args: argparse.Namespace, diff, outputs: dict[str, str], as_of) -> None:
    from ..workbench.rules_diff import write_diff_workbook
    from ..workbench.rules_diff_report import write_diff_pdf

    if ".xlsx" in outputs:
        made = made_for(outputs[".xlsx"])
        wrote(args, [write_diff_workbook(diff, outputs[".xlsx"])], made)
    if ".pdf" in outputs:
        made = made_for(outputs[".pdf"])
        pdf = write_diff_pdf(
            diff, outputs[".pdf"], as_of=as_of.isoformat(), lang=args.lang, templates=args.templates
        )
        wrote(args, [pdf], made)


def cmd_rules_export(args: argparse.Namespace) -> int:
    """Copy the packaged rules (with the risk model in rules/model/) and report templates into
    DIR, as DIR/rules and DIR/templates: an editable copy to change, diff and use with
    --rules DIR/rules, --model DIR/rules/model/default_model.skops and --templates
    DIR/templates. A folder that is not empty is refused unless --force is given (then
    DIR/rules and DIR/templates are replaced, anything else in DIR is left alone).

    Example:
      assess rules export my_rules/
    """
    import shutil

    from .._shared.resources import data_dir

    target = _export_target(Path(args.directory), args.force)
    made = made_for(target / "rules")
    for name in PACKAGED:
        destination = target / name
        if destination.exists():
            shutil.rmtree(destination)
        shutil.copytree(data_dir(name), destination, ignore=shutil.ignore_patterns("__pycache__"))
    wrote(args, [], made)
    if not args.quiet:
        for name in PACKAGED:
            files = sum(1 for p in (target / name).rglob("*") if p.is_file())
            print(f"wrote {target / name}/ ({files} files)", file=note_stream(args))
    return 0


def _export_target(target: Path, force: bool) -> Path:
    from ..errors import OutputError

    if target.exists() and not target.is_dir():
        raise OutputError(
            "the export folder is a file", where=str(target), expected="a folder name"
        )
    if target.is_dir() and any(target.iterdir()) and not force:
        raise OutputError(
            "the folder is not empty",
            where=str(target),
            expected="a new or empty folder",
            hint="choose another folder, or add --force to replace its rules/ and templates/",
        )
    return target


def cmd_rules_path(args: argparse.Namespace) -> int:
    """Print where the packaged rules, the risk model and the report templates are, one
    line each (name, then path); --format json prints them as one object.

    Example:
      assess rules path
    """
    from .._shared.resources import data_dir

    rules = data_dir("rules")
    paths = {
        "rules": str(rules),
        "model": str(rules / "model" / "default_model.skops"),
        "templates": str(data_dir("templates")),
    }
    if args.format == "json":
        print_json(paths)
    else:
        emit([f"{name:<10} {path}" for name, path in paths.items()])
    return 0


def add_rules_commands(commands) -> None:
    rules = commands.add_parser(
        "rules",
        help="work with rule packs",
        description="Work with rule packs: check, test, diff, export, path.\n\n"
        "Example:\n  assess rules check rules/",
        formatter_class=options.Formatter,
    )
    rules_commands = rules.add_subparsers(dest="rules_command", required=True, metavar="COMMAND")
    for name, help_text, run in (
        ("check", "validate a rules folder", cmd_rules_check),
        ("test", "run the rule packs' test cases", cmd_rules_test),
    ):
        command = options.command(
            rules_commands, name, help_text, run, parents=[options.format_options()]
        )
        command.add_argument(
            "directory",
            nargs="?",
            default=None,
            metavar="DIR",
            help="rules folder (default: the packaged rules)",
        )
        if name == "check":
            command.add_argument(
                "--baseline",
                metavar="DIR",
                help="warn of packs whose rules changed against this folder while their "
                "version did not (default: the packaged rules, when DIR is given)",
            )
    _add_rules_diff(rules_commands)
    export = options.command(
        rules_commands,
        "export",
        "copy the packaged rules, model and templates into a folder",
        cmd_rules_export,
    )
    export.add_argument("directory", metavar="DIR", help="the folder to copy into")
    export.add_argument(
        "--force", action="store_true", help="replace DIR/rules and DIR/templates if present"
    )
    options.command(
        rules_commands,
        "path",
        "print where the packaged rules, model and templates are",
        cmd_rules_path,
        parents=[options.format_options()],
    )


def _add_rules_diff(rules_commands) -> None:
    diff = options.command(
        rules_commands,
        "diff",
        "compare two rules folders",
        cmd_rules_diff,
        parents=[
            options.as_of_options(),
            options.format_options(),
            options.strict_options(),
            options.report_options(),
        ],
    )
    diff.add_argument("old", metavar="OLD_DIR", help="the rules folder in force")
    diff.add_argument("new", metavar="NEW_DIR", help="the proposed rules folder")
    diff.add_argument(
        "--portfolio", nargs="+", metavar="INPUT", help="re-score these files or folders"
    )
    diff.add_argument(
        "--model", metavar="MODEL", help="risk model (default: none; the rules are what changes)"
    )
    options.repeatable_output(diff, "an .xlsx workbook or a .pdf")
