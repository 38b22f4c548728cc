"""The options every command shares, as argparse parent parsers, and the parser's look.

Each ``*_options`` function returns a fresh parent parser (``add_help=False``) that a command
lists in ``parents=``: ``--as-of``, ``--rules``, ``--model``/``--no-model`` (mutually
exclusive), ``--lang``, ``--templates``, ``--format``, ``--strict`` and the output options
(``-q``, ``-v``, ``--debug``). One metavar per kind of argument: INPUT (application files or
folders), TABLE (a .csv, .xlsx or .parquet table), MODEL (a .skops model), DIR (a folder),
FILE (a file to write), DATE (YYYY-MM-DD), N (a whole number).

Nothing heavy is imported here: building the parser must stay fast (``assess --help``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import sys
import textwrap

DEBUG = "show the Python traceback of an error"
EXIT_CODES = """\
exit codes (every command):
  0    every input assessed
  2    some inputs rejected or carrying input errors (each listed on stderr, one line
       each; with --strict input warnings count too); the rest is assessed and written
  1    usage error or fatal error (nothing assessed, an output refused, a bad rules
       folder or model, a failed rules test), one line on stderr
  70   internal error (a bug: run again with --debug and report it)
  130  interrupted (Ctrl-C); 143 terminated (SIGTERM)"""


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions are printed as written (their examples stay on one line); option help is
    wrapped at spaces only, never inside a hyphenated word such as ``--as-of``."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        text = " ".join(text.split())
        return textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False)


class Parser(argparse.ArgumentParser):
    """Usage errors exit with 1 (2 means "some inputs were rejected")."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def description(run) -> str:
    """A command's help text: its function's docstring, as plain text."""
    return inspect.cleandoc(run.__doc__ or "")


def command(commands, name: str, help_text: str, run, parents=()) -> Parser:
    """Add the command ``name``, described by the docstring of its function ``run``; ``main``
    calls ``assessment.cli.<run's name>`` (looked up when it runs, so that a test can replace
    it). ``-q``, ``-v`` and ``--debug`` come last, added by :func:`add_output_options`."""
    parser = commands.add_parser(
        name,
        help=help_text,
        description=description(run),
        parents=list(parents),
        formatter_class=Formatter,
    )
    parser.set_defaults(run=run.__name__)
    return parser


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD; got {text!r}") from None


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more; got {text!r}")
    return value


def port(text: str) -> int:
    """A TCP port to listen on: 1 to 65535."""
    value = int(text) if text.isdigit() else 0
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535; got {text!r}")
    return value


def _parent() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(add_help=False)


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``-q`` / ``-v`` (never both) and ``--debug``, the last options of every command."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-q", "--quiet", action="store_true", help="no progress, 'as of' or 'wrote' lines"
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="more detail on stderr: the rules and model used, every rejected input or "
        "problem, the time taken",
    )
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG)


def as_of_options(default: str = "today") -> argparse.ArgumentParser:
    parent = _parent()
    parent.add_argument(
        "--as-of",
        type=parse_date,
        default=None,
        metavar="DATE",
        help=f"assessment date: selects the rules in force and dates the checks (default: "
        f"{default})",
    )
    return parent


def rules_options(default: str = "the packaged rules") -> argparse.ArgumentParser:
    parent = _parent()
    parent.add_argument("--rules", metavar="DIR", help=f"rules folder (default: {default})")
    return parent


def model_options(default: str = "the packaged model") -> argparse.ArgumentParser:
    """``--model`` and ``--no-model``, never both."""
    parent = _parent()
    group = parent.add_mutually_exclusive_group()
    group.add_argument("--model", metavar="MODEL", help=f"risk model (default: {default})")
    group.add_argument("--no-model", action="store_true", help="assess without a risk model")
    return parent


def report_options(of: str = "the PDF") -> argparse.ArgumentParser:
    """``--lang`` and ``--templates`` of the documents named by ``of`` (e.g. "the PDF")."""
    parent = _parent()
    parent.add_argument(
        "--lang",
        choices=("en", "zh"),
        default="en",
        help=f"language of {of}: en (English, default) or zh (Chinese)",
    )
    parent.add_argument(
        "--templates", metavar="DIR", help="folder searched first for report templates"
    )
    return parent


def officer_options() -> argparse.ArgumentParser:
    """``--officer NAME``: the "prepared by" line of the memos' approval block."""
    parent = _parent()
    parent.add_argument(
        "--officer", metavar="NAME", default="", help="who prepared the memos (approval block)"
    )
    return parent


def format_options(*names: str) -> argparse.ArgumentParser:
    parent = _parent()
    choices = names or ("table", "json")
    parent.add_argument(
        "--format",
        choices=choices,
        default="table",
        help="table: readable lines (default); json: one JSON object on stdout, nothing else"
        + (" (text: same as table)" if "text" in choices else ""),
    )
    return parent


def strict_options() -> argparse.ArgumentParser:
    parent = _parent()
    parent.add_argument(
        "--strict",
        action="store_true",
        help="input warnings count as errors: listed on stderr, and the exit code is 2",
    )
    return parent


def repeatable_output(parser: argparse.ArgumentParser, what: str) -> None:
    """``-o FILE`` that may be given once per format (e.g. ``-o x.xlsx -o x.pdf``)."""
    parser.add_argument(
        "-o", "--output", action="append", metavar="FILE", help=f"{what} (repeatable)"
    )
