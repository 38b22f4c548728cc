"""``assess train``, ``assess predict`` and ``assess drift``: the risk model."""

from __future__ import annotations

import argparse

from . import options
from .console import checked_file, emit, made_for, note_stream, print_json, wrote

CARD_SUFFIXES = (".card.json", ".card.md")  # the model card save_model writes beside the model


def cmd_train(args: argparse.Namespace) -> int:
    """Train a risk model on a loan history (one row per past loan, a 0/1 outcome column);
    write the skops artefact, its model card (.card.json, .card.md) and its scorecard
    (.scorecard.xlsx, .scorecard.pdf: bins, WoE and IV per feature, ROC, KS, gains,
    calibration, points) beside it.

    Example:
      assess train sample_projects/history/loan_history.parquet --target defaulted -o model.skops
    """
    from ..model.persist import save_model
    from ..model.training import read_features, read_table, train_model, training_scorecard
    from ..reports.text import training_lines
    from ..workbench.scorecard_report import write_scorecard_outputs

    output = checked_file(args.output, (".skops",), "-o model", [args.data])
    data = read_table(args.data)
    features = read_features(args.features) if args.features else None
    holdout_share = None if args.no_holdout else args.holdout
    model = train_model(data, args.target, kind=args.kind, features=features, holdout=holdout_share)
    made = made_for(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    wrote(args, [], made)
    digest = save_model(model, output)
    lines = training_lines(model, digest, args.output, len(data))
    emit(lines[1:] if args.quiet else lines)
    wrote(args, [output.with_suffix(suffix) for suffix in CARD_SUFFIXES])
    if not args.no_scorecard:
        card = training_scorecard(model, data, holdout_share, digest)
        wrote(args, write_scorecard_outputs(card, output, args.lang, args.templates))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Score any table that has the model's features: identifier columns, pd, grade and the
    reasons, written as CSV or xlsx by the extension of -o FILE (printed when no -o).

    Example:
      assess predict model.skops new_loans.csv -o scored.xlsx
    """
    from ..criteria.absence import structural_absence
    from ..model.persist import load_model
    from ..model.predict import predict, prediction_table
    from ..model.training import read_table

    output = args.output and checked_file(args.output, (".csv", ".xlsx"), "-o table", [args.data])
    model = load_model(args.model)
    data = read_table(args.data)
    table = prediction_table(data, predict(model, data, absent=structural_absence(data)), model)
    _table_out(args, table, output)
    return 0


def cmd_drift(args: argparse.Namespace) -> int:
    """Compare a new batch with the model's training data: population stability index per
    feature and for the score, banded stable (< 0.1), watch (0.1-0.25) or act (> 0.25).
    -o FILE writes the table as CSV or xlsx.

    Example:
      assess drift model.skops new_batch.parquet --format json
    """
    from ..model.drift import drift
    from ..model.persist import load_model
    from ..model.training import read_table

    output = args.output and checked_file(args.output, (".csv", ".xlsx"), "-o table", [args.data])
    table = drift(load_model(args.model), read_table(args.data))
    _table_out(args, table, output)
    return 0


def _table_out(args: argparse.Namespace, table, output) -> None:
    """A result table written to ``-o FILE``, else printed as text or JSON records."""
    from .._shared.files import write_table
    from ..reports.text import frame_lines, records

    if output:
        made = made_for(output)
        wrote(args, [], made)
        written = write_table(table, output)
        if not args.quiet:
            print(f"wrote {written}: {len(table)} rows", file=note_stream(args))
    elif args.format == "json":
        print_json(records(table))
    else:
        emit(frame_lines(table))


def add_model_commands(commands) -> None:
    train = options.command(
        commands,
        "train",
        "train a risk model on a loan history",
        cmd_train,
        parents=[options.report_options("the scorecard PDF")],
    )
    train.add_argument("data", metavar="TABLE", help="history table: .csv, .xlsx or .parquet")
    train.add_argument("--target", required=True, metavar="COLUMN", help="the 0/1 outcome column")
    train.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the .skops file to write"
    )
    train.add_argument(
        "--kind",
        choices=("logistic", "gbm", "auto"),
        default="gbm",
        help="logistic, gbm (default) or auto: the kind with the better cross-validated AUC",
    )
    train.add_argument(
        "--holdout",
        type=float,
        default=0.3,
        metavar="SHARE",
        help="share kept out for hold-out metrics (default 0.3)",
    )
    train.add_argument(
        "--no-holdout",
        action="store_true",
        help="fit on all the data; report cross-validation metrics only",
    )
    train.add_argument(
        "--features", metavar="FILE", help="a file naming the features, one per line"
    )
    train.add_argument(
        "--no-scorecard",
        action="store_true",
        help="write no MODEL.scorecard.xlsx and MODEL.scorecard.pdf beside the model",
    )
    for name, help_text, run, data in (
        ("predict", "score a table with a model", cmd_predict, "a table with the model's features"),
        ("drift", "population stability against the training data", cmd_drift,
         "a new batch with the model's features"),
    ):  # fmt: skip
        command = options.command(
            commands, name, help_text, run, parents=[options.format_options()]
        )
        command.add_argument("model", metavar="MODEL", help="a .skops model")
        command.add_argument("data", metavar="TABLE", help=f"{data}: .csv, .xlsx or .parquet")
        command.add_argument("-o", "--output", metavar="FILE", help="a .csv or .xlsx file to write")
