"""The assess command: a thin shell over the library, for assessing financing applications.

    assess template -o application.xlsx [--lang zh]
    assess check sample_projects/ [--format json] [--as-of 2025-06-30]
    assess score sample_projects/ [--as-of 2025-06-30] [--rules rules/] [-o scores.xlsx]
    assess screen sample_projects/ -o screening/ [--as-of 2025-06-30] [--reports]
    assess rules check|test [DIR] | diff OLD_DIR NEW_DIR | export DIR | path
    assess sweep RULE_ID --from A --to B --steps N --portfolio INPUT... [-o PREFIX]
    assess backtest TABLE --target COLUMN [--against DIR] [-o backtest.xlsx -o backtest.pdf]
    assess monitor BASELINE CURRENT [-o monitor.xlsx -o monitor.pdf]
    assess train|predict|drift ...
    assess serve [--database URL] | users add NAME --role R | history [ID] | reprint ID -o F
    assess completion bash|zsh

One module per command group (intake, score, screen, rules, model, workbench, completion),
each command beside its options; the shared options are parent parsers in ``options``. A
command imports the library inside its function, so that building the parser (and
``assess --help``) loads nothing heavy. Library errors become one line on stderr and a
non-zero exit code (the policy is ``options.EXIT_CODES``).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import signal
import sys
import time
from collections.abc import Iterator, Sequence

from .. import __version__
from .completion import add_completion_command, cmd_completion
from .intake import add_intake_commands, cmd_check, cmd_template
from .model import add_model_commands, cmd_drift, cmd_predict, cmd_train
from .options import DEBUG, EXIT_CODES, Formatter, Parser, add_output_options
from .rules import (
    add_rules_commands,
    cmd_rules_check,
    cmd_rules_diff,
    cmd_rules_export,
    cmd_rules_path,
    cmd_rules_test,
)
from .score import add_score_command, cmd_score
from .screen import ProgressLine, add_screen_command, cmd_screen
from .service import (
    add_service_commands,
    cmd_history,
    cmd_reprint,
    cmd_serve,
    cmd_users_add,
    cmd_users_list,
    cmd_users_token,
)
from .workbench import add_workbench_commands, cmd_backtest, cmd_monitor, cmd_sweep

__all__ = [
    "INTERNAL_ERROR",
    "ProgressLine",
    "build_parser",
    "cmd_backtest",
    "cmd_check",
    "cmd_completion",
    "cmd_drift",
    "cmd_history",
    "cmd_monitor",
    "cmd_predict",
    "cmd_reprint",
    "cmd_rules_check",
    "cmd_rules_diff",
    "cmd_rules_export",
    "cmd_rules_path",
    "cmd_rules_test",
    "cmd_score",
    "cmd_screen",
    "cmd_serve",
    "cmd_sweep",
    "cmd_template",
    "cmd_train",
    "cmd_users_add",
    "cmd_users_list",
    "cmd_users_token",
    "error_line",
    "main",
    "score_json",
]

INTERNAL_ERROR = 70  # EX_SOFTWARE: an exception the engine did not expect


def __getattr__(name: str):
    """``score_json`` lives in ``reports.text``; loaded on first use (it needs pandas)."""
    if name == "score_json":
        from ..reports.text import score_json

        return score_json
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="assess",
        description=__doc__.split("\n")[0],
        epilog=EXIT_CODES,
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=f"assess {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_intake_commands(commands)
    add_score_command(commands)
    add_screen_command(commands)
    add_rules_commands(commands)
    add_model_commands(commands)
    add_workbench_commands(commands)
    add_service_commands(commands)
    add_completion_command(commands)
    for command in _commands(parser):
        add_output_options(command)
    return parser


@functools.cache
def _parser() -> argparse.ArgumentParser:
    """The parser, built once per process (parsing leaves it unchanged)."""
    return build_parser()


def _commands(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every parser that runs a command (``score``, ``rules diff`` ...), below ``parser``."""
    for action in parser._subparsers._group_actions if parser._subparsers else ():
        for child in action.choices.values():
            if "run" in child._defaults:
                yield child
            else:
                yield from _commands(child)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. The error boundary: the engine's errors and OS errors become one line
    ``assess <command>: error: ...`` and exit 1; Ctrl-C prints ``interrupted`` and exits 130,
    SIGTERM ``terminated`` and 143; anything else is a bug, reported in one line with exit 70
    (``--debug`` shows tracebacks)."""
    args = _parser().parse_args(argv)
    name = " ".join(filter(None, ("assess", args.command, getattr(args, "rules_command", None))))
    started = time.monotonic()
    try:
        with _terminate_as_interrupt():
            code = globals()[args.run](args)  # looked up here, so that tests can replace it
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
        return 1 if _reported(error) else INTERNAL_ERROR
    if args.verbose:
        print(f"{name}: exit {code} in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return code


def _reported(error: Exception) -> bool:
    """The engine's own errors and OS errors: told to the user, not a bug."""
    from ..errors import AssessmentError

    return isinstance(error, AssessmentError | OSError)


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
    from ..errors import AssessmentError, Problem

    if isinstance(error, AssessmentError | OSError):
        return f"error: {Problem.of(error).render()}"
    return (
        f"internal error: {type(error).__name__}: {error} (this is a bug; "
        "run again with --debug for the traceback and report it)"
    )


if __name__ == "__main__":
    sys.exit(main())
