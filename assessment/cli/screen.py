"""``assess screen``: a batch of any size into a ranked shortlist, a summary and a manifest."""

from __future__ import annotations

import argparse
import sys

from ..screening import ROWS_PER_CHUNK
from . import options
from .console import (
    as_of_used,
    emit,
    made_for,
    model_path,
    print_json,
    say_as_of,
    say_verbose,
    wrote,
)


def cmd_screen(args: argparse.Namespace) -> int:
    """Screen everything that came in (folders of workbooks, candidate lists of any length)
    into the folder -o DIR: screening.xlsx (ranked shortlist, Rejected and Summary sheets),
    summary.pdf, manifest.json and, with --reports, reports/<project_id>.pdf. Each rejected
    input is listed on stderr, one line each; exit code 0 when every input was scored, 2 when
    some were rejected (the rest is written), or with --strict when a scored project carries
    input warnings (missing fields included; each listed). --format json prints the manifest.

    Example:
      assess screen sample_projects/ -o screening/ --as-of 2025-06-30 --reports
    """
    from ..errors import AssessmentError

    if args.scheduler and args.engine != "dask":
        raise AssessmentError(
            "--scheduler needs --engine dask", hint="add --engine dask or drop --scheduler"
        )
    from .._shared.files import check_destination
    from ..intake.urls import local_input

    inputs = [local_input(path) for path in args.paths]  # file:// folders are folders read
    folder = check_destination(args.output, (), "output folder", folder=True, inputs=inputs)
    made = made_for(folder / "manifest.json")
    screening, written = _screen(args, folder)
    counts = screening.manifest["counts"]
    names = [p.name + ("/" if key == "reports" else "") for key, p in written.items()]
    wrote(args, [], made)
    if args.format == "json":
        print_json({**screening.manifest, "written": {k: str(p) for k, p in written.items()}})
    else:
        print(
            f"{counts['files']} input file(s): {counts['projects_scored']} project(s) scored, "
            f"{counts['rejected']} rejected; wrote {', '.join(names)} in {folder}"
        )
    say_verbose(args, [f"wrote {path}" for path in written.values()])
    from ..reports.text import rejected_lines

    limit = None if args.verbose else 20
    emit(rejected_lines(screening.rejected, limit), sys.stderr)
    warned = screening.warnings if args.strict else None
    if warned is not None and len(warned):
        emit(rejected_lines(warned, limit, "-v lists each", "warning"), sys.stderr)
    say_as_of(args, screening.manifest.get("as_of", as_of_used(args)))
    return 2 if counts["rejected"] or (warned is not None and len(warned)) else 0


def _screen(args: argparse.Namespace, folder):
    from ..screening.batch import screen_to_folder
    from ..screening.records import Settings

    model = model_path(args)
    settings = Settings(
        as_of=as_of_used(args),
        rules=args.rules,
        model=str(model) if model else None,
        lang=args.lang,
        templates=args.templates,
        strict=args.strict,
        redact=args.redact,
        officer=args.officer,
    )
    bar = ProgressLine(sys.stderr, live=not args.quiet)
    found = screen_to_folder(
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
    return found


class ProgressLine:
    """A one-line progress bar on a terminal; silent when the stream is not a terminal."""

    def __init__(self, stream, live: bool = True) -> None:
        self.stream, self.rows = stream, 0
        self.live = live and hasattr(stream, "isatty") and stream.isatty()

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


def add_screen_command(commands) -> None:
    screen = options.command(
        commands,
        "screen",
        "screen a batch into a ranked shortlist, summary and manifest",
        cmd_screen,
        parents=[
            options.as_of_options(),
            options.rules_options(),
            options.model_options(),
            options.format_options(),
            options.report_options("the PDFs"),
            options.strict_options(),
            options.officer_options(),
        ],
    )
    screen.add_argument(
        "paths", nargs="+", metavar="INPUT", help="files, folders or URLs (s3://bucket/list/*.csv)"
    )
    screen.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    screen.add_argument("--reports", action="store_true", help="also one PDF memo per project")
    screen.add_argument(
        "--redact",
        action="store_true",
        help="a version that can leave the bank: no sponsor names, no source paths",
    )
    screen.add_argument(
        "--jobs", type=options.positive, default=None, metavar="N", help="processes or Dask workers"
    )
    screen.add_argument(
        "--engine",
        choices=("local", "dask"),
        default="local",
        help="local: processes on this machine (default); dask: a Dask cluster (needs pip "
        "install 'assessment[dask]')",
    )
    screen.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler")
    screen.add_argument(
        "--chunk-rows",
        type=options.positive,
        default=ROWS_PER_CHUNK,
        metavar="N",
        help=f"list rows per chunk (default {ROWS_PER_CHUNK}: fewer use less memory, more time)",
    )
