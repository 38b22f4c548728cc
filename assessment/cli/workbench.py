"""``assess sweep``, ``assess backtest`` and ``assess monitor``: the analyst's workbench."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import options
from .console import (
    as_of_used,
    checked_file,
    emit,
    input_status,
    made_for,
    model_path,
    print_json,
    require_projects,
    say_as_of,
    wrote,
    xlsx_and_pdf,
)


def cmd_sweep(args: argparse.Namespace) -> int:
    """Sweep one rule's threshold from A to B in N steps over a portfolio: the rule's pass rate
    (passes over the projects it applies to), fail and insufficient shares, and its
    programme's eligibility rate (eligible / all projects) at each step; printed, and with
    -o PREFIX written as PREFIX.csv (or .xlsx), PREFIX.png and PREFIX.pdf (the chart).
    Thresholds are in the metric's base unit (PUE a plain number, shares as fractions 0-1).

    Example:
      assess sweep CMP-GB40879-LIMIT --from 1.1 --to 1.8 --steps 8 \\
        --portfolio sample_projects/ --as-of 2025-06-30 -o sweep/pue
    """
    from ..intake.read import read_applications
    from ..reports.text import records
    from ..workbench.sweep import sweep_lines, sweep_rule, thresholds, write_sweep_outputs

    if args.output:
        table = f"{args.output}.{args.table_format}"
        for name in (table, f"{args.output}.pdf", f"{args.output}.png"):
            checked_file(name, (Path(name).suffix,), "-o output", args.portfolio)
    values = thresholds(args.start, args.stop, args.steps)
    as_of = as_of_used(args)
    portfolio = read_applications(args.portfolio, as_of=as_of)
    require_projects(portfolio)
    sweep = sweep_rule(portfolio, args.rule_id, values, as_of=as_of, rules=args.rules)
    if args.format == "json":
        print_json({"rule_id": args.rule_id, "table": records(sweep.table)})
    else:
        emit(sweep_lines(sweep))
    if args.output:
        made = made_for(args.output)
        written = write_sweep_outputs(
            sweep, args.output, args.table_format, args.lang, args.templates
        )
        wrote(args, written, made)
    status = input_status(args, portfolio.problems)
    say_as_of(args, as_of)
    return status


def cmd_backtest(args: argparse.Namespace) -> int:
    """Backtest the rules and the risk model on a history of past loans with known outcomes:
    outcome rates by recommendation and by programme verdict, each rule's pass / fail outcome
    rates and information value, the AUC of the model PD, of the rule scores and of the
    combined score; with --against DIR the same under another rules folder, side by side.
    Prints a summary (or, with --format json, the tables); -o FILE.xlsx and -o FILE.pdf
    (either or both) write the workbook and the PDF instead.

    Example:
      assess backtest sample_projects/history/loan_history.parquet --target defaulted \\
        --against new_rules/ -o backtest.xlsx -o backtest.pdf
    """
    from ..model.persist import load_model
    from ..model.training import read_table
    from ..workbench.backtest import run_backtest

    outputs = xlsx_and_pdf(args.output or [], [args.history])
    model_file = model_path(args)
    backtest = run_backtest(
        read_table(args.history),
        args.target,
        rules=args.rules,
        model=load_model(model_file) if model_file else None,
        against=args.against,
        as_of=args.as_of,
    )
    if not outputs:
        _print_backtest(args, backtest)
    _write_backtest(args, backtest, outputs)
    if not args.quiet:
        print(f"as of {backtest.facts['as_of']}", file=sys.stderr)
    return 0


def _print_backtest(args: argparse.Namespace, backtest) -> None:
    from ..reports.text import tables_json
    from ..workbench.backtest_report import summary_lines

    if args.format != "json":
        emit(summary_lines(backtest))
        return
    sides = {"current": backtest.current, "alternative": backtest.alternative}
    data = tables_json(
        {"comparison": backtest.comparison, "changed": backtest.changed},
        facts=backtest.facts,
        notes=backtest.notes,
    )
    for name, side in sides.items():
        if side is not None:
            tables = {
                "by_recommendation": side.by_recommendation,
                "by_programme": side.by_programme,
                "rules": side.rules,
                "auc": side.auc,
                "not_assessable": side.not_assessable,
            }
            data[name] = tables_json(tables, name=side.name, versions=side.versions)
    card = backtest.scorecard
    if card is not None:
        names = ("bins", "features", "roc", "gains", "calibration", "points")
        tables = {key: getattr(card, key) for key in names}
        data["scorecard"] = tables_json(tables, facts=card.facts, notes=card.notes)
    print_json(data)


def _write_backtest(args: argparse.Namespace, backtest, outputs: dict[str, str]) -> None:
    from ..workbench.backtest_report import write_backtest_pdf, write_backtest_workbook

    for suffix, path in outputs.items():
        made = made_for(path)
        if suffix == ".xlsx":
            wrote(args, [write_backtest_workbook(backtest, path)], made)
        else:
            wrote(args, [write_backtest_pdf(backtest, path, args.lang, args.templates)], made)


def cmd_monitor(args: argparse.Namespace) -> int:
    """Compare two screening outputs (a baseline period and a new batch): the shift in each
    rule's pass rate (passes over the projects it applies to) and in its fail and insufficient
    shares, with a two-proportion z, the population stability index of key fields and of the
    model score (pd, score), the recommendation shares and eligibility rates; each banded
    stable, watch or act (limits in rules/monitor/). Prints what moved out of the stable band
    first, then the tables worst first; -o FILE.xlsx and/or -o FILE.pdf also write them.
    With --batch CURRENT is a new batch of applications (files and folders), screened now as
    assess screen would (--as-of, --rules, --model), nothing written.
    Exit code 0 when the comparison ran, whatever the bands; with --batch 2 when some
    applications were rejected (each listed on stderr, one line each; the rest is compared).

    Examples:
      assess monitor screening_2025q1/ screening/ -o monitor.xlsx -o monitor.pdf
      assess monitor screening_2025q1/ inbox/ --batch --as-of 2025-06-30
    """
    import json

    from ..reports.text import records
    from ..workbench.monitor_report import monitor_lines

    outputs = xlsx_and_pdf(args.output or [], [args.baseline, *args.current])
    monitoring = _monitoring(args)
    if args.format == "json":
        tables = {"rules": monitoring.rules, "fields": monitoring.fields}
        data = {"sources": monitoring.sources, "worst_band": monitoring.worst_band()}
        data["moved"] = records(monitoring.moved())
        data |= {name: records(table) for name, table in tables.items()}
        data["population"] = records(monitoring.population)
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        emit(monitor_lines(monitoring))
    _write_monitor(args, monitoring, outputs)
    if not args.batch:
        return 0
    from ..reports.text import rejected_lines

    limit = None if args.verbose else 20
    emit(rejected_lines(monitoring.rejected, limit, "-v lists each"), sys.stderr)
    say_as_of(args, as_of_used(args))
    return 2 if len(monitoring.rejected) else 0


def _write_monitor(args: argparse.Namespace, monitoring, outputs: dict[str, str]) -> None:
    from ..workbench.monitor_report import write_monitor_pdf, write_monitor_workbook

    for suffix, path in outputs.items():
        made = made_for(path)
        if suffix == ".xlsx":
            written = write_monitor_workbook(monitoring, path)
        else:
            written = write_monitor_pdf(monitoring, path, args.lang, args.templates)
        wrote(args, [written], made)


def _monitoring(args: argparse.Namespace):
    """Two screening outputs compared, or (--batch) a baseline output and a new batch
    screened now with the rules, model and date given."""
    from ..errors import AssessmentError
    from ..screening.records import Settings
    from ..workbench.monitor import monitor_batch, monitor_outputs

    if args.batch:
        model = model_path(args)
        settings = Settings(
            as_of=as_of_used(args), rules=args.rules, model=str(model) if model else None
        )
        return monitor_batch(args.baseline, args.current, settings, jobs=args.jobs)
    if len(args.current) != 1 or args.as_of or args.rules or args.model or args.no_model:
        raise AssessmentError(
            "CURRENT must be one screening output unless --batch is given",
            got=" ".join(args.current),
            hint="add --batch to screen applications now (with --as-of, --rules, --model)",
        )
    return monitor_outputs(args.baseline, args.current[0])


def add_workbench_commands(commands) -> None:
    _add_sweep(commands)
    _add_backtest(commands)
    _add_monitor(commands)


def _add_sweep(commands) -> None:
    sweep = options.command(
        commands,
        "sweep",
        "pass and eligibility rates as a rule's threshold moves",
        cmd_sweep,
        parents=[
            options.as_of_options(),
            options.rules_options(),
            options.format_options(),
            options.strict_options(),
            options.report_options(),
        ],
    )
    sweep.add_argument("rule_id", metavar="RULE_ID", help="a rule with one numeric threshold")
    unit = "in the metric's base unit (PUE a plain number, shares as fractions 0-1)"
    sweep.add_argument(
        "--from", dest="start", type=float, required=True, metavar="VALUE", help=f"first, {unit}"
    )
    sweep.add_argument(
        "--to", dest="stop", type=float, required=True, metavar="VALUE", help=f"last, {unit}"
    )
    sweep.add_argument(
        "--steps", type=options.positive, required=True, metavar="N", help="thresholds, 2 or more"
    )
    sweep.add_argument(
        "--portfolio", nargs="+", required=True, metavar="INPUT", help="files or folders"
    )
    sweep.add_argument(
        "-o", "--output", metavar="PREFIX", help="write PREFIX.csv (or .xlsx), PREFIX.png and .pdf"
    )
    sweep.add_argument(
        "--table-format", choices=("csv", "xlsx"), default="csv", help="format of the table file"
    )


def _add_backtest(commands) -> None:
    backtest = options.command(
        commands,
        "backtest",
        "outcome rates, rule power and AUC on a loan history",
        cmd_backtest,
        parents=[
            options.as_of_options("31 Dec of each loan's origination year"),
            options.rules_options(),
            options.model_options(),
            options.format_options(),
            options.report_options(),
        ],
    )
    backtest.add_argument("history", metavar="TABLE", help="history table: .csv, .xlsx, .parquet")
    backtest.add_argument(
        "--target", required=True, metavar="COLUMN", help="the 0/1 outcome column"
    )
    backtest.add_argument("--against", metavar="DIR", help="an alternative rules folder")
    options.repeatable_output(backtest, "an .xlsx workbook or a .pdf")


def _add_monitor(commands) -> None:
    monitor = options.command(
        commands,
        "monitor",
        "rule pass-rate shifts and population stability",
        cmd_monitor,
        parents=[
            options.as_of_options("today; with --batch only"),
            options.rules_options("the packaged rules; with --batch only"),
            options.model_options("the packaged model; with --batch only"),
            options.format_options("table", "json", "text"),
            options.report_options(),
        ],
    )
    monitor.add_argument("baseline", metavar="BASELINE", help="a screening output folder or file")
    monitor.add_argument(
        "current",
        metavar="CURRENT",
        nargs="+",
        help="a screening output folder or file; with --batch, applications to screen now",
    )
    monitor.add_argument(
        "--batch", action="store_true", help="CURRENT is a new batch: screen it now, write nothing"
    )
    monitor.add_argument(
        "--jobs", type=options.positive, default=None, metavar="N", help="with --batch: processes"
    )
    options.repeatable_output(monitor, "an .xlsx workbook or a .pdf")
