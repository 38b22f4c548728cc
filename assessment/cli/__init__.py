"""The ``assess`` command: a thin shell over the library.

    assess template -o application.xlsx [--lang zh]
    assess check sample_projects/ [--format json] [--as-of 2025-06-30]
    assess score sample_projects/ [--as-of 2025-06-30] [--rules rules/] [--format json]
    assess screen sample_projects/ -o screening/ [--as-of 2025-06-30] [--reports] [--engine dask]
    assess rules check|test [rules/]
    assess rules diff OLD_DIR NEW_DIR [--portfolio INPUT...] [-o diff.xlsx]
    assess sweep RULE_ID --from A --to B --steps N --portfolio INPUT... [-o PREFIX]
    assess backtest HISTORY --target COLUMN [--against DIR] [-o backtest.xlsx -o backtest.pdf]
    assess monitor BASELINE CURRENT [-o monitor.xlsx -o monitor.pdf]
    assess train|predict|drift ...

Each command parses its arguments, calls the library, and formats the result; library errors
become one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from .. import __version__
from .._shared.files import check_destination, missing_folders
from ..criteria.absence import structural_absence
from ..criteria.cases import run_cases, uncovered
from ..criteria.indicators import FALLBACK
from ..criteria.rules import load_rules
from ..decision.decide import check_decision_tables
from ..errors import AssessmentError, InputError
from ..intake.cells import format_number, plain
from ..intake.read import Applications, read_applications
from ..intake.template import write_template
from ..model.persist import default_model_path, load_model, save_model
from ..model.predict import drift, predict, prediction_table, write_table
from ..model.training import read_features, read_table, train_model
from ..pipeline import Scored, project_records, score_applications
from ..reports.memo.write import write_reports
from ..reports.workbook import write_score_workbook
from ..screening.batch import screen_to_folder
from ..screening.records import Settings
from ..workbench.backtest import run_backtest
from ..workbench.backtest_report import summary_lines, write_backtest_pdf, write_backtest_workbook
from ..workbench.monitor import monitor_batch, monitor_outputs
from ..workbench.monitor_report import monitor_lines, write_monitor_pdf, write_monitor_workbook
from ..workbench.rules_diff import RulesDiff, diff_rules, write_diff_workbook
from ..workbench.rules_diff_report import write_diff_pdf
from ..workbench.sweep import sweep_lines, sweep_rule, thresholds
from ..workbench.sweep import write_outputs as write_sweep_outputs

GROUP_FROM = 5
SUMMARY_COLUMNS = [
    "project_name",
    "province",
    "hub",
    "facility_type",
    "project_kind",
    "racks",
    "it_load_mw",
    "pue",
    "green_power_share",
    "total_investment_cny",
]


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD; got {text!r}") from None


def cmd_template(args: argparse.Namespace) -> int:
    """Write the official application workbook.

    Example: ``assess template --lang zh -o 申请表.xlsx``
    """
    target = check_destination(args.output, (".xlsx",), "the application workbook")
    if target.exists() and not args.force:
        raise AssessmentError(
            "the file exists (it may be a filled-in application)",
            where=str(target),
            expected="a new file name",
            hint="choose another name, or add --force to replace it with a blank template",
        )
    made = missing_folders(target)
    _wrote([write_template(target, args.lang)], made)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Read applications and candidate lists, print the normalized table and every problem;
    exit 1 when there is any error.

    Example: ``assess check sample_projects/ --format json``
    """
    result = read_applications(args.paths, as_of=args.as_of)
    if args.format == "json":
        json.dump(to_json(result), sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        _print_table(result, args.columns, args.every_problem)
    return 1 if result.has_errors else 0


def _print_table(result: Applications, columns: str | None, every_problem: bool) -> None:
    projects, _, problems = result
    chosen = (
        projects.columns.tolist()
        if columns == "all"
        else (columns.split(",") if columns else SUMMARY_COLUMNS)
    )
    with pd.option_context(
        "display.width", 200, "display.max_columns", None, "display.max_rows", None
    ):
        if len(projects):
            print(
                projects[[c for c in chosen if c in projects.columns]].to_string(
                    float_format=format_number
                )
            )
    listed, grouped = _split_missing(problems, every_problem)
    for row in listed.itertuples(index=False):
        print(problem_line(row._asdict()))
    for line in grouped:
        print(line)
    errors = int((problems["severity"] == "error").sum())
    print(f"{len(projects)} projects; {errors} errors, {len(problems) - errors} warnings")


def _split_missing(problems: pd.DataFrame, every_problem: bool) -> tuple[pd.DataFrame, list[str]]:
    """Missing-field warnings repeated over many rows of one file print as one line each
    (field and file), unless every problem is asked for."""
    missing = (problems["message"] == "missing") & (problems["severity"] == "warning")
    counts = (
        problems[missing].groupby(["file", "field"], sort=False)["project_id"].transform("size")
    )
    grouped = missing & (counts.reindex(problems.index, fill_value=0) >= GROUP_FROM)
    if every_problem or not grouped.any():
        return problems, []
    lines = []
    for (file, field), rows in problems[grouped].groupby(["file", "field"], sort=False):
        ids = ", ".join(rows["project_id"].head(3)) + (", ..." if len(rows) > 3 else "")
        lines.append(
            f"{file} [warning] {field}: missing in {len(rows)} projects ({ids}); "
            f"expected {rows['expected'].iloc[0]} (--every-problem lists each)"
        )
    return problems[~grouped], lines


def problem_line(row: dict) -> str:
    """``file:Sheet!B7 [error] DC-1 pue: got '0.95'; expected between 1 and 3 (hint: ...)``."""
    where = (
        row["file"]
        + (f":{row['sheet']}" if row["sheet"] else "")
        + (f"!{row['cell']}" if row["cell"] else "")
    )
    field = row["field"] + (f"[{row['year']}]" if pd.notna(row.get("year")) else "")
    subject = " ".join(part for part in (row["project_id"], field) if part) or "file"
    details = [row["message"]]
    if row["value"] != "":
        details.append(f"got {row['value']!r}")
    if row["expected"]:
        details.append(f"expected {row['expected']}")
    hint = f" (hint: {row['hint']})" if row["hint"] else ""
    return f"{where} [{row['severity']}] {subject}: {'; '.join(details)}{hint}"


def to_json(result: Applications) -> dict[str, list[dict]]:
    """Records keyed by canonical names; base units, ISO dates, null for missing."""
    projects, yearly, problems = result
    return {
        "projects": _records(projects.reset_index()),
        "yearly": _records(yearly),
        "problems": _records(problems),
    }


def _records(frame: pd.DataFrame) -> list[dict]:
    return [
        {key: plain(value) for key, value in row.items()} for row in frame.to_dict(orient="records")
    ]


def cmd_score(args: argparse.Namespace) -> int:
    """Score applications against the rule packs in force on the as-of date: per project the
    programme results (eligible, score, grade), key indicators, and each rule's verdict with the
    observed value, the threshold and its source.

    Example: ``assess score sample_projects/ --as-of 2025-06-30 --format json``
    """
    excel = args.excel and _file(args.excel, (".xlsx",), "--excel workbook", args.paths)
    report = args.report and _report_target(args.report, args.paths)
    as_of = args.as_of or dt.date.today()
    model = None if args.no_model else (args.model or default_model_path())
    scored = score_applications(args.paths, as_of=as_of, rules=args.rules, model=model)
    stream = sys.stderr if args.format == "json" else sys.stdout
    if excel:
        made = missing_folders(excel)
        _wrote([write_score_workbook(scored, excel, given=args.paths)], made, stream)
    if report:
        made = missing_folders(Path(report) / "memo.pdf" if _is_folder(report) else report)
        _wrote(write_reports(scored, report, args.lang, args.templates), made, stream)
    if args.format == "json":
        json.dump(score_json(scored), sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        for record in project_records(scored):
            print("\n".join(score_lines(record, args.all_rules)))
        _print_problem_summary(scored.applications.problems)
    return _unread_inputs_status(scored.applications)


def _unread_inputs_status(applications: Applications) -> int:
    """Inputs that gave no project (missing, unreadable, foreign) are listed on stderr, one line
    each. With no project at all that is an error; with some, exit 2 as ``assess screen``."""
    problems = applications.problems
    unread = problems[(problems["severity"] == "error") & (problems["project_id"].fillna("") == "")]
    for row in unread.to_dict("records"):
        print(problem_line(row), file=sys.stderr)
    if applications.projects.empty:
        raise InputError(
            "no project could be scored",
            expected="an application workbook or candidate list with at least one project",
            got=f"{len(unread)} input(s) unread" if len(unread) else "no project rows",
            hint="assess check INPUT lists what is wrong with each input",
        )
    return 2 if len(unread) else 0


def _file(path: str, suffixes: tuple[str, ...], kind: str, inputs: Sequence[str] = ()) -> Path:
    """An output file's path, checked before the work starts."""
    return check_destination(path, suffixes, kind, inputs=inputs)


def _is_folder(path: str) -> bool:
    """``--report``'s target is a folder: it exists as one, ends with a slash or has no
    suffix (``reports/`` or ``reports``); then each project's memo is written into it."""
    return path.endswith(("/", os.sep)) or Path(path).is_dir() or not Path(path).suffix


def _report_target(path: str, inputs: Sequence[str]) -> str:
    if _is_folder(path):
        check_destination(path, (), "--report folder", folder=True, inputs=inputs)
    else:
        check_destination(path, (".pdf",), "--report memo", inputs=inputs)
    return path


def _wrote(paths: Sequence[Path], made: Sequence[Path], stream=None) -> None:
    """Say which folders were made and which files were written, one line each."""
    for folder in made:
        print(f"made folder {folder}", file=stream or sys.stdout)
    for path in paths:
        print(f"wrote {path}", file=stream or sys.stdout)


def cmd_screen(args: argparse.Namespace) -> int:
    """Screen everything that came in (folders of workbooks, candidate lists of any length)
    into OUTDIR: ``screening.xlsx`` (ranked shortlist, Rejected and Summary sheets),
    ``summary.pdf``, ``manifest.json`` and, with ``--reports``, ``reports/<project_id>.pdf``.
    Exit code 0 when every input was scored, 2 when some were rejected (the rest is written).

    Example: ``assess screen sample_projects/ -o screening/ --as-of 2025-06-30 --reports``
    """
    if args.scheduler and args.engine != "dask":
        raise AssessmentError(
            "--scheduler needs --engine dask", hint="add --engine dask or drop --scheduler"
        )
    folder = check_destination(args.output, (), "output folder", folder=True, inputs=args.paths)
    made = missing_folders(folder / "manifest.json")
    model = None if args.no_model else (args.model or default_model_path())
    settings = Settings(
        as_of=args.as_of or dt.date.today(),
        rules=args.rules,
        model=str(model) if model else None,
        lang=args.lang,
        templates=args.templates,
    )
    bar = ProgressLine(sys.stderr)
    screening, written = screen_to_folder(
        args.paths,
        folder,
        settings,
        reports=args.reports,
        engine=args.engine,
        jobs=args.jobs,
        scheduler=args.scheduler,
        rows_per_chunk=args.chunk_rows,
        progress=bar,
    )
    bar.done()
    counts = screening.manifest["counts"]
    names = [p.name + ("/" if key == "reports" else "") for key, p in written.items()]
    _wrote([], made)
    print(
        f"{counts['files']} input file(s): {counts['projects_scored']} project(s) scored, "
        f"{counts['rejected']} rejected; wrote {', '.join(names)} in {folder}"
    )
    return 2 if counts["rejected"] else 0


class ProgressLine:
    """A one-line progress bar on a terminal; silent when the stream is not a terminal."""

    def __init__(self, stream) -> None:
        self.stream, self.rows = stream, 0
        self.live = hasattr(stream, "isatty") and stream.isatty()

    def __call__(self, done: int, total: int, rows: int) -> None:
        self.rows += rows
        if self.live:
            filled = int(30 * done / max(total, 1))
            bar = "#" * filled + "." * (30 - filled)
            self.stream.write(f"\r[{bar}] {done}/{total} chunks, {self.rows:,} rows")
            self.stream.flush()

    def done(self) -> None:
        if self.live:
            self.stream.write("\n")


def score_json(scored: Scored) -> dict[str, object]:
    """``{as_of, rule_packs, projects: [...], problems: [...]}``."""
    return {
        "as_of": scored.as_of.isoformat(),
        "rule_packs": scored.evaluation.rules.versions(),
        "projects": project_records(scored),
        "problems": _records(scored.applications.problems),
    }


def score_lines(record: dict, all_rules: bool = False) -> list[str]:
    """A project's result as readable lines: programmes, key indicators, rule verdicts."""
    lines = [f"{record['project_id']} (as of {record['as_of']})"]
    if record.get("decision"):
        lines.extend(_decision_lines(record["decision"]))
    for programme, result in record["programmes"].items():
        status = result["status"].replace("_", " ")
        asked = result["requested"]  # nothing asked for: no score or grade to read
        score = "-" if result["score"] is None or not asked else f"{result['score']:g}"
        grade = (result["grade"] if asked else None) or "-"
        lines.append(f"  {programme:<13} {status:<15} score: {score:<6} grade: {grade}")
    if "pd" in record["programmes"]["credit"] and record["programmes"]["credit"]["requested"]:
        lines.append("  " + _model_text(record["programmes"]["credit"]))
    lines.append("  " + _indicator_text(record["indicators"]))
    hidden = 0
    for rule in record["rules"]:
        if rule["verdict"] == "not_applicable" and not all_rules:
            hidden += 1
            continue
        lines.append(f"  {rule['verdict']:<14} {rule['rule_id']:<24} {_rule_text(rule)}")
    if hidden:
        lines.append(f"  ({hidden} rules not applicable; --all-rules lists them)")
    return lines


def _decision_lines(decision: dict) -> list[str]:
    """The recommendation, why, and the conditions attached."""
    lines = [
        f"  recommendation: {decision['recommendation'].upper()} "
        f"({decision['decision_reason']}; data {decision['data_quality']['verdict']})"
    ]
    label = decision.get("green_label") or {}
    if label.get("status", "not_requested") != "not_requested":
        lines.append(f"  green label: {label['status'].replace('_', ' ')}")
        lines += [f"    {_reason_line(r)}" for r in label.get("reasons", [])]
    if decision.get("missing_for_decision"):
        lines.append(f"  needed to decide: {', '.join(decision['missing_for_decision'])}")
    for reason in decision["reasons"]:
        if reason["kind"] == "rule":
            lines.append(f"    because {_reason_line(reason)}")
            if "{" not in reason.get("remedy", "{") and reason["verdict"] == "fail":
                lines.append(f"      {reason['remedy']}")
        else:
            lines.append(
                f"    model factor {reason['criterion']}={_num(reason['value'])} "
                f"(+{reason['contribution']:.3f})"
            )
    lines += [f"    condition: {c['text']} ({c['criterion']})" for c in decision["conditions"]]
    lines += [_path_line(path) for path in decision.get("path_to_eligibility", [])]
    return lines


def _reason_line(reason: dict) -> str:
    """``GRN-PUE-GRADE2: pue_assessed 1.35 fails <= 1.3 [GB40879]``."""
    verb = {"fail": "fails", "borderline": "passes only narrowly"}.get(
        reason["verdict"], "cannot be checked against"
    )
    unverified = " (unverified)" if reason.get("confidence") == "unverified" else ""
    return (
        f"{reason['criterion']}{unverified}: {reason['metric']} {_num(reason['value'])} {verb} "
        f"{reason['operator']} {_num(reason['threshold'])} [{reason['source']}]"
    )


def _path_line(path: dict) -> str:
    """``to be eligible for green: pue_assessed 1.38 -> 1.3``, with a warning when the
    changes alone were not found to be enough."""
    enough = "" if path["eligible_when_applied"] else " (not enough alone: see the undecided rules)"
    return f"    to be eligible for {path['programme']}: {path['text']}{enough}"


def _model_text(credit: dict) -> str:
    """``PD 2.14% (grade 4, gbm 408706040df5); raised by ltv=- (+0.452), ...``."""
    reasons = (
        ", ".join(
            f"{r['feature']}={_num(r['value'])} (+{r['contribution']:.3f})"
            for r in credit["reasons"]
        )
        or "none"
    )
    missing = (
        f"; missing: {', '.join(credit['missing_features'])}" if credit["missing_features"] else ""
    )
    advisory = " advisory: not calibrated on real outcomes, never declines;" * bool(
        credit.get("pd_advisory", True)
    )
    return (
        f"PD {credit['pd']:.2%} (grade {credit['grade']}, {credit['model']['kind']} "
        f"{credit['model']['sha256'][:12]});{advisory} raised by {reasons}{missing}"
    )


def _indicator_text(found: dict) -> str:
    factor = found["emission_factor"]
    source = (
        f"factor {_num(factor['value'])} tCO2/MWh, {factor['area']} {factor['year']} "
        f"{factor['level']}"
        + (", fallback: none published yet" if factor["status"] == FALLBACK else "")
        if factor["value"] is not None
        else "no emission factor: province unknown"
    )
    parts = [
        f"energy {_num(found.get('energy_mwh'))} MWh",
        f"emissions {_num(found.get('emissions_tco2'))} tCO2 ({source})",
        f"CUE {_num(found.get('cue'))}",
        f"operating {_num(found.get('operating_years'))} y",
        f"DSCR forecast min {_num(found.get('dscr_forecast_min'))}",
        f"DSCR history min {_num(found.get('dscr_hist_min'))}",
        f"yield min {_num(found.get('distribution_yield_min'))}",
    ]
    return "; ".join(parts)


def _num(value: object) -> str:
    if value is None:
        return "-"
    return format_number(round(value, 4)) if isinstance(value, float) else str(value)


def _rule_text(rule: dict) -> str:
    value = rule["value"]
    shown = _num(value) if isinstance(value, float) else ("-" if value is None else str(value))
    threshold = rule["threshold"]
    if isinstance(threshold, list):
        threshold = "(" + ", ".join(map(str, threshold)) + ")"
    unit = f" {rule['unit']}" if rule["unit"] and rule["unit"] != "fraction" else ""
    limit = "" if threshold is None else f" {rule['operator']} {_num(threshold)}{unit}"
    return (
        f"{shown}{limit} [{rule['severity']}; {rule['source']} {rule['clause']}"
        f"{'; ' + rule['confidence'] if rule['confidence'] != 'verified' else ''}]"
    )


def _print_problem_summary(problems: pd.DataFrame) -> None:
    errors = int((problems["severity"] == "error").sum())
    if len(problems):
        print(
            f"input problems: {errors} errors, {len(problems) - errors} warnings "
            "(assess check lists them)"
        )


def cmd_rules_check(args: argparse.Namespace) -> int:
    """Validate a rules folder: every pack, rule row and segment table, and the decision
    tables it decides with; all problems are listed with file, row, column and a hint.

    Example: ``assess rules check rules/``
    """
    rule_set = load_rules(args.directory)
    for pack in rule_set.packs:
        counts = pd.Series([r.severity for r in pack.rules]).value_counts().to_dict()
        summary = ", ".join(f"{count} {severity}" for severity, count in sorted(counts.items()))
        print(f"{pack.id} {pack.version}: {len(pack.rules)} rules ({summary})")
    print(check_decision_tables(rule_set))
    print(f"ok: {len(rule_set.rules)} rules in {len(rule_set.packs)} packs")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train a risk model on a loan history (one row per past loan, a 0/1 outcome column);
    write the skops artefact and its model card (.card.json, .card.md) beside it.

    Example: ``assess train sample_projects/history/loan_history.parquet --target defaulted -o
    model.skops --kind gbm``
    """
    output = _file(args.output, (".skops",), "-o model", [args.data])
    data = read_table(args.data)
    features = read_features(args.features) if args.features else None
    holdout_share = None if args.no_holdout else args.holdout
    model = train_model(data, args.target, kind=args.kind, features=features, holdout=holdout_share)
    made = missing_folders(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    _wrote([], made)
    digest = save_model(model, output)
    metrics = model.card["metrics"]
    part = "hold-out" if metrics["holdout"] else "cross-validation"
    shown = metrics["holdout"] or metrics["cross_validation"]
    print(
        f"wrote {args.output} (sha256 {digest[:12]}...): {model.kind}, "
        f"{len(model.features)} features, {len(data)} rows"
    )
    print(f"{part}: " + ", ".join(f"{k} {v:.4f}" for k, v in shown.items()))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Score any table that has the model's features: identifier columns, pd, grade and the
    reasons, written as CSV or xlsx by the output's extension (printed when no -o).

    Example: ``assess predict model.skops new_loans.csv -o scored.xlsx``
    """
    output = args.output and _file(args.output, (".csv", ".xlsx"), "-o table", [args.data])
    model = load_model(args.model)
    data = read_table(args.data)
    table = prediction_table(data, predict(model, data, absent=structural_absence(data)), model)
    if output:
        made = missing_folders(output)
        _wrote([], made)
        print(f"wrote {write_table(table, output)}: {len(table)} rows")
    else:
        print(table.to_string(index=False))
    return 0


def cmd_drift(args: argparse.Namespace) -> int:
    """Compare a new batch with the model's training data: population stability index per
    feature and for the score, banded stable (< 0.1), watch (0.1-0.25) or act (> 0.25).

    Example: ``assess drift model.skops new_batch.parquet``
    """
    table = drift(load_model(args.model), read_table(args.data))
    print(table.to_string(index=False))
    return 0


def cmd_rules_test(args: argparse.Namespace) -> int:
    """Run the test cases shipped with each rule pack (``cases.csv``) and report each failure
    with the rule, the case, the expected and the actual verdict.

    Example: ``assess rules test rules/``
    """
    rule_set = load_rules(args.directory)
    results = run_cases(rule_set)
    for row in results[~results["ok"]].to_dict("records"):
        print(
            f"FAIL {row['pack']} {row['case_id']} {row['rule_id']} as of {row['as_of']}: "
            f"expected {row['expected']}, got {row['got']} ({row['note']})"
        )
    untested = uncovered(rule_set, results)
    for rule_id in untested:
        print(f"NO CASE {rule_id}: add rows for it to its pack's cases.csv")
    passed = int(results["ok"].sum())
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed, {len(untested)} rule(s) without a case")
    return 0 if not failed and not untested else 1


def cmd_rules_diff(args: argparse.Namespace) -> int:
    """Compare two rules folders: rules added, removed and changed (column, old and new value)
    and, with ``--portfolio``, the projects whose eligibility, grade or recommendation flips,
    with the rules responsible. ``-o FILE.xlsx`` also writes the tables as a workbook,
    ``-o FILE.pdf`` a short PDF (give ``-o`` twice for both).

    Example: ``assess rules diff rules/ new_rules/ --portfolio sample_projects/ -o diff.xlsx``
    """
    outputs = _xlsx_and_pdf(args.output or [], args.portfolio or [])
    as_of = args.as_of or dt.date.today()
    old, new = load_rules(args.old), load_rules(args.new)
    applications = read_applications(args.portfolio, as_of=as_of) if args.portfolio else None
    status = _unread_inputs_status(applications) if applications is not None else 0
    model = load_model(args.model) if args.model else None
    diff = diff_rules(old, new, applications, as_of=as_of, model=model)
    print("\n".join(diff_lines(diff, bool(args.portfolio))))
    if ".xlsx" in outputs:
        made = missing_folders(outputs[".xlsx"])
        _wrote([write_diff_workbook(diff, outputs[".xlsx"])], made)
    if ".pdf" in outputs:
        made = missing_folders(outputs[".pdf"])
        pdf = write_diff_pdf(
            diff,
            outputs[".pdf"],
            as_of=as_of.isoformat(),
            lang=args.lang,
            templates=args.templates,
        )
        _wrote([pdf], made)
    return status


def diff_lines(diff: RulesDiff, portfolio: bool) -> list[str]:
    """The printed diff: rule changes, then project flips, the summary per programme and the
    verdict changes per rule."""
    if diff.changes.empty:
        lines = ["no changes in the rule tables"]
    else:
        lines = [f"{len(diff.changes)} rule change(s):"]
        for row in diff.changes.itertuples(index=False):
            detail = f"{row.column}: {row.old} -> {row.new}" if row.column else row.old or row.new
            lines.append(f"  {row.change:<8} {row.rule_id} {detail}")
    if portfolio:
        projects = diff.flips["project_id"].nunique()
        lines.append(f"{projects} project(s) flip:" if projects else "no project flips")
        for row in diff.flips.itertuples(index=False):
            lines.append(f"  {row.project_id} {row.outcome}: {row.old} -> {row.new} ({row.rules})")
        lines += [_summary_line(row) for row in diff.summary.itertuples(index=False)]
        lines += [
            f"  {row.rule_id}: {row.old} -> {row.new} for {row.projects} project(s)"
            for row in diff.verdicts.itertuples(index=False)
        ]
    return lines


def _summary_line(row) -> str:
    if row.programme == "all":
        return f"  recommendation changed for {row.recommendation_changed} project(s)"
    return (
        f"  {row.programme}: {row.became_eligible} became eligible, {row.became_ineligible} "
        f"ineligible, {row.eligibility_unknown} unknown; {row.grade_changed} grade(s) changed"
    )


def cmd_sweep(args: argparse.Namespace) -> int:
    """Sweep one rule's threshold from A to B in N steps over a portfolio: the rule's pass rate
    (pass / applicable) and its programme's eligibility rate (eligible / all projects) at each
    step; printed, and with -o written as PREFIX.csv (or .xlsx), PREFIX.png and PREFIX.pdf.
    Thresholds are in the metric's base unit (PUE a plain number, shares as fractions 0-1).

    Example: ``assess sweep CMP-GB40879-LIMIT --from 1.1 --to 1.8 --steps 8 --portfolio
    sample_projects/ --as-of 2025-06-30 -o sweep/pue``
    """
    if args.output:
        table = f"{args.output}.{args.table_format}"
        for name in (table, f"{args.output}.pdf", f"{args.output}.png"):
            _file(name, (Path(name).suffix,), "-o output", args.portfolio)
    values = thresholds(args.start, args.stop, args.steps)
    as_of = args.as_of or dt.date.today()
    portfolio = read_applications(args.portfolio, as_of=as_of)
    status = _unread_inputs_status(portfolio)
    sweep = sweep_rule(portfolio, args.rule_id, values, as_of=as_of, rules=args.rules)
    print("\n".join(sweep_lines(sweep)))
    if args.output:
        made = missing_folders(args.output)
        written = write_sweep_outputs(
            sweep, args.output, args.table_format, args.lang, args.templates
        )
        _wrote(written, made)
    return status


class _Parser(argparse.ArgumentParser):
    """Usage errors exit with 1 (2 is ``assess screen``'s "some inputs were rejected")."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def cmd_backtest(args: argparse.Namespace) -> int:
    """Backtest the rules and the risk model on a history of past loans with known outcomes:
    outcome rates by recommendation and by programme verdict, each rule's pass / fail outcome
    rates and information value, the AUC of the model PD, of the rule scores and of the
    combined score; with ``--against DIR`` the same under another rules folder, side by side.
    Prints a summary; ``-o FILE.xlsx`` and ``-o FILE.pdf`` (either or both) write the workbook
    and the PDF instead.

    Example: ``assess backtest sample_projects/history/loan_history.parquet --target defaulted
    --against new_rules/ -o backtest.xlsx -o backtest.pdf``
    """
    outputs = _xlsx_and_pdf(args.output or [], [args.history])
    model = None if args.no_model else load_model(args.model or default_model_path())
    backtest = run_backtest(
        read_table(args.history),
        args.target,
        rules=args.rules,
        model=model,
        against=args.against,
        as_of=args.as_of,
    )
    if not outputs:
        print("\n".join(summary_lines(backtest)))
    for suffix, path in outputs.items():
        made = missing_folders(path)
        if suffix == ".xlsx":
            _wrote([write_backtest_workbook(backtest, path)], made)
        else:
            _wrote([write_backtest_pdf(backtest, path, args.lang, args.templates)], made)
    return 0


def _xlsx_and_pdf(paths: list[str], inputs: Sequence[str] = ()) -> dict[str, str]:
    """``-o`` files by suffix: at most one .xlsx and one .pdf, each checked before the work
    starts (a file, not a folder; a folder that can be written; outside the inputs)."""
    found: dict[str, str] = {}
    for path in paths:
        suffix = Path(path).suffix.lower()
        if suffix not in (".xlsx", ".pdf") or suffix in found:
            raise AssessmentError(
                f"cannot write {path!r}",
                expected="-o FILE.xlsx and/or -o FILE.pdf, each at most once",
                got=", ".join(paths),
            )
        found[suffix] = str(_file(path, (suffix,), f"-o {suffix[1:]}", inputs))
    return found


def _add_backtest(commands) -> None:
    backtest = _command(
        commands, "backtest", "outcome rates, rule power and AUC on a loan history", cmd_backtest
    )
    backtest.add_argument("history", metavar="HISTORY", help="history table: .csv, .xlsx, .parquet")
    backtest.add_argument("--target", required=True, help="the 0/1 outcome column")
    backtest.add_argument("--rules", metavar="DIR", help="rules folder (default: the packaged)")
    models = backtest.add_mutually_exclusive_group()
    models.add_argument("--model", metavar="FILE", help="risk model (default: the packaged)")
    models.add_argument("--no-model", action="store_true", help="backtest the rules alone")
    backtest.add_argument("--against", metavar="DIR", help="an alternative rules folder")
    backtest.add_argument(
        "--as-of",
        type=_date,
        default=None,
        help="evaluate every loan on this date (default: 31 Dec of its origination year)",
    )
    backtest.add_argument(
        "-o", "--output", action="append", metavar="FILE", help="an .xlsx or .pdf (repeatable)"
    )
    _add_pdf_language(backtest)


DEBUG = "show the Python traceback of an error"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="assess", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"assess {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG)
    commands = parser.add_subparsers(dest="command", required=True)
    _add_template(commands)
    _add_check(commands)
    _add_score(commands)
    _add_screen(commands)
    _add_rules(commands)
    _add_model_commands(commands)
    _add_monitor(commands)
    _add_sweep_command(commands)
    _add_backtest(commands)
    return parser


def _command(commands, name: str, help_text: str, run) -> argparse.ArgumentParser:
    command = commands.add_parser(name, help=help_text, description=run.__doc__)
    command.set_defaults(run=run)
    command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG)
    return command


def _add_template(commands) -> None:
    template = _command(
        commands, "template", "write the official application workbook", cmd_template
    )
    template.add_argument("-o", "--output", required=True, help="the .xlsx file to write")
    template.add_argument("--lang", choices=("en", "zh"), default="en")
    template.add_argument("--force", action="store_true", help="replace an existing file")


def _add_check(commands) -> None:
    check = _command(commands, "check", "read and validate applications", cmd_check)
    check.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    check.add_argument("--format", choices=("table", "json"), default="table")
    check.add_argument(
        "--as-of", type=_date, default=None, help="assessment date for date checks (default: today)"
    )
    check.add_argument("--columns", help="comma-separated project columns to print, or 'all'")
    check.add_argument(
        "--every-problem",
        action="store_true",
        help="print each missing-field warning on its own line instead of one "
        "line per field and file",
    )


def _add_score(commands) -> None:
    score = _command(commands, "score", "score applications against the rule packs", cmd_score)
    score.add_argument("paths", nargs="+", metavar="INPUT", help="files or folders")
    score.add_argument(
        "--as-of",
        type=_date,
        default=None,
        help="assessment date: selects the rules in force (default: today)",
    )
    score.add_argument("--rules", help="rules folder (default: the packaged rules/)")
    score.add_argument("--format", choices=("table", "json"), default="table")
    score.add_argument(
        "--all-rules", action="store_true", help="also list the rules that do not apply"
    )
    score.add_argument("--model", help="risk model (default: the packaged model)")
    score.add_argument("--no-model", action="store_true", help="score without a risk model")
    score.add_argument("--excel", help="also write the assessment as an .xlsx workbook")
    score.add_argument(
        "--report",
        help="also write the PDF memo (several projects: FILE_<project_id>.pdf; into a folder "
        "when it exists, ends with / or has no suffix)",
    )
    score.add_argument("--lang", choices=("en", "zh"), default="en", help="language of --report")
    score.add_argument("--templates", help="folder searched first for report templates")


def _add_screen(commands) -> None:
    screen = _command(
        commands,
        "screen",
        "screen a batch into a ranked shortlist, summary and manifest",
        cmd_screen,
    )
    screen.add_argument("paths", nargs="+", metavar="INPUT", help="files or folders")
    screen.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    screen.add_argument(
        "--as-of", type=_date, default=None, help="assessment date (default: today)"
    )
    screen.add_argument("--rules", help="rules folder (default: the packaged rules/)")
    screen.add_argument("--model", help="risk model (default: the packaged model)")
    screen.add_argument("--no-model", action="store_true", help="screen without a risk model")
    screen.add_argument("--reports", action="store_true", help="also one PDF memo per project")
    screen.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the PDFs")
    screen.add_argument("--templates", help="folder searched first for report templates")
    screen.add_argument("--jobs", type=_positive, default=None, help="processes or Dask workers")
    screen.add_argument("--engine", choices=("local", "dask"), default="local")
    screen.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler")
    screen.add_argument(
        "--chunk-rows", type=_positive, default=25_000, help="list rows per chunk (default 25000)"
    )


def _add_sweep_command(commands) -> None:
    sweep = _command(
        commands, "sweep", "pass and eligibility rates as a rule's threshold moves", cmd_sweep
    )
    sweep.add_argument("rule_id", metavar="RULE_ID", help="a rule with one numeric threshold")
    unit = "in the metric's base unit (PUE a plain number, shares as fractions 0-1)"
    sweep.add_argument("--from", dest="start", type=float, required=True, help=f"first, {unit}")
    sweep.add_argument("--to", dest="stop", type=float, required=True, help=f"last, {unit}")
    sweep.add_argument("--steps", type=_positive, required=True, help="thresholds, 2 or more")
    sweep.add_argument(
        "--portfolio", nargs="+", required=True, metavar="INPUT", help="files or folders"
    )
    sweep.add_argument("--as-of", type=_date, default=None, help="assessment date (default: today)")
    sweep.add_argument("--rules", help="rules folder (default: the packaged rules/)")
    sweep.add_argument(
        "-o", "--output", metavar="OUTPREFIX", help="write OUTPREFIX.csv, .png and .pdf"
    )
    sweep.add_argument(
        "--table-format", choices=("csv", "xlsx"), default="csv", help="format of the table file"
    )
    _add_pdf_language(sweep)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more; got {text!r}")
    return value


def _add_model_commands(commands) -> None:
    train = _command(commands, "train", "train a risk model on a loan history", cmd_train)
    train.add_argument("data", help="history table: .csv, .xlsx or .parquet")
    train.add_argument("--target", required=True, help="the 0/1 outcome column")
    train.add_argument("-o", "--output", required=True, help="the .skops file to write")
    train.add_argument(
        "--kind",
        choices=("logistic", "gbm", "auto"),
        default="gbm",
        help="auto: the kind with the better cross-validated AUC",
    )
    train.add_argument(
        "--holdout",
        type=float,
        default=0.3,
        help="share kept out for hold-out metrics (default 0.3)",
    )
    train.add_argument(
        "--no-holdout",
        action="store_true",
        help="fit on all the data; report cross-validation metrics only",
    )
    train.add_argument("--features", help="a file naming the features, one per line")
    predict_command = _command(commands, "predict", "score a table with a model", cmd_predict)
    predict_command.add_argument("model", help="a .skops model")
    predict_command.add_argument("data", help="a table with the model's features")
    predict_command.add_argument("-o", "--output", help="a .csv or .xlsx file to write")
    drift_command = _command(
        commands, "drift", "population stability against the training data", cmd_drift
    )
    drift_command.add_argument("model", help="a .skops model")
    drift_command.add_argument("data", help="a new batch with the model's features")


def _add_rules(commands) -> None:
    rules = commands.add_parser(
        "rules",
        help="work with rule packs",
        description="Work with rule packs. Example: ``assess rules check rules/``",
    )
    rules_commands = rules.add_subparsers(dest="rules_command", required=True)
    for name, help_text, run in (
        ("check", "validate a rules folder", cmd_rules_check),
        ("test", "run the rule packs' test cases", cmd_rules_test),
    ):
        command = _command(rules_commands, name, help_text, run)
        command.add_argument(
            "directory",
            nargs="?",
            default=None,
            metavar="DIR",
            help="rules folder (default: the packaged rules/)",
        )
    _add_rules_diff(rules_commands)


def _add_rules_diff(rules_commands) -> None:
    diff = _command(rules_commands, "diff", "compare two rules folders", cmd_rules_diff)
    diff.add_argument("old", metavar="OLD_DIR", help="the rules folder in force")
    diff.add_argument("new", metavar="NEW_DIR", help="the proposed rules folder")
    diff.add_argument(
        "--portfolio", nargs="+", metavar="INPUT", help="re-score these files or folders"
    )
    diff.add_argument("--as-of", type=_date, default=None, help="assessment date (default: today)")
    diff.add_argument("--model", help="risk model (default: none; the rules are what changes)")
    diff.add_argument(
        "-o", "--output", action="append", metavar="FILE", help="an .xlsx or .pdf (repeatable)"
    )
    _add_pdf_language(diff)


def cmd_monitor(args: argparse.Namespace) -> int:
    """Compare two screening outputs (a baseline period and a new batch): the shift in each
    rule's pass rate (pass / (pass + fail)) and share insufficient, with a two-proportion z,
    the population stability index of key fields and of the model score (pd, score), the
    recommendation shares and eligibility rates; each banded stable, watch or act (limits in
    rules/monitor/). Prints the tables worst first; ``-o FILE.xlsx`` and/or ``-o FILE.pdf``
    also write them. With ``--batch`` CURRENT is a new batch of applications (files and
    folders), screened now as ``assess screen`` would (``--as-of``, ``--rules``, ``--model``),
    nothing written. Always exits 0 when the comparison ran.

    Example: ``assess monitor screening_2025q1/ screening/ -o monitor.xlsx -o monitor.pdf``
    or ``assess monitor screening_2025q1/ inbox/ --batch --as-of 2025-06-30``
    """
    outputs = _xlsx_and_pdf(args.output or [], [args.baseline, *args.current])
    monitoring = _monitoring(args)
    if args.format == "json":
        tables = {"rules": monitoring.rules, "fields": monitoring.fields}
        data = {"sources": monitoring.sources, "worst_band": monitoring.worst_band()}
        data |= {name: _records(table) for name, table in tables.items()}
        data["population"] = _records(monitoring.population)
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print("\n".join(monitor_lines(monitoring)))
    for suffix, path in outputs.items():
        made = missing_folders(path)
        if suffix == ".xlsx":
            written = write_monitor_workbook(monitoring, path)
        else:
            written = write_monitor_pdf(monitoring, path, args.lang, args.templates)
        _wrote([written], made, sys.stderr if args.format == "json" else sys.stdout)
    return 0


def _monitoring(args: argparse.Namespace):
    """Two screening outputs compared, or (``--batch``) a baseline output and a new batch
    screened now with the rules, model and date given."""
    if args.batch:
        model = None if args.no_model else (args.model or default_model_path())
        settings = Settings(
            as_of=args.as_of or dt.date.today(),
            rules=args.rules,
            model=str(model) if model else None,
        )
        return monitor_batch(args.baseline, args.current, settings, jobs=args.jobs)
    if len(args.current) != 1 or args.as_of or args.rules or args.model or args.no_model:
        raise AssessmentError(
            "CURRENT must be one screening output unless --batch is given",
            got=" ".join(args.current),
            hint="add --batch to screen applications now (with --as-of, --rules, --model)",
        )
    return monitor_outputs(args.baseline, args.current[0])


def _add_monitor(commands) -> None:
    monitor = _command(
        commands, "monitor", "rule pass-rate shifts and population stability", cmd_monitor
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
    monitor.add_argument("--as-of", type=_date, default=None, help="with --batch (default: today)")
    monitor.add_argument("--rules", metavar="DIR", help="with --batch: rules folder")
    models = monitor.add_mutually_exclusive_group()
    models.add_argument("--model", metavar="FILE", help="with --batch: risk model")
    models.add_argument("--no-model", action="store_true", help="with --batch: no risk model")
    monitor.add_argument("--jobs", type=_positive, default=None, help="with --batch: processes")
    monitor.add_argument(
        "-o", "--output", action="append", metavar="FILE", help="an .xlsx or .pdf (repeatable)"
    )
    monitor.add_argument("--format", choices=("text", "json"), default="text")
    _add_pdf_language(monitor)


def _add_pdf_language(command: argparse.ArgumentParser) -> None:
    """``--lang`` and ``--templates`` of an analyst PDF (the workbook stays in English)."""
    command.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the PDF")
    command.add_argument("--templates", help="folder searched first for report templates")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. The error boundary: the engine's errors and OS errors become one line
    ``assess <command>: error: ...`` and exit 1; Ctrl-C prints ``interrupted`` and exits 130;
    anything else is a bug, reported in one line with exit 70 (``--debug`` shows tracebacks)."""
    args = build_parser().parse_args(argv)
    name = " ".join(filter(None, ("assess", args.command, getattr(args, "rules_command", None))))
    try:
        with _terminate_as_interrupt():
            return args.run(args)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt as stop:
        terminated = isinstance(stop, Terminated)
        print(f"{name}: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
        return 143 if terminated else 130
    except Exception as error:
        if args.debug:
            raise
        print(f"{name}: {error_line(error)}", file=sys.stderr)
        return 1 if isinstance(error, AssessmentError | OSError) else INTERNAL_ERROR


INTERNAL_ERROR = 70  # EX_SOFTWARE: an exception the engine did not expect


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a job scheduler's stop) handled as Ctrl-C is: the outputs of the run
    are left out, the previous ones stay."""


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    def stop(signum, frame):
        raise Terminated

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread (an embedding application): leave it alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def error_line(error: BaseException) -> str:
    """The one line shown for an error: the engine's own rendering, an OS error's reason and
    path, or, for anything else, its type and message marked as an internal error."""
    if isinstance(error, AssessmentError):
        return f"error: {error}"
    if isinstance(error, OSError):
        where = " -> ".join(str(p) for p in (error.filename, error.filename2) if p is not None)
        reason = error.strerror or str(error)
        return f"error: {where}: {reason}" if where else f"error: {reason}"
    return (
        f"internal error: {type(error).__name__}: {error} (this is a bug; "
        "run again with --debug for the traceback and report it)"
    )


if __name__ == "__main__":
    sys.exit(main())
