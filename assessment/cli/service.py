"""``assess serve``, ``assess users add``, ``assess history`` and ``assess reprint``: the
officer's desk (the web service) and its assessment register."""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
from collections.abc import Iterator

from . import options
from .console import checked_file, emit, print_json, wrote


@contextlib.contextmanager
def _register(args: argparse.Namespace, existing: bool = False) -> Iterator:
    """The register named by --database, its connections closed after the command; with
    ``existing``, a SQLite register that is not there is an error (a mistyped path does not
    make an empty one)."""
    from ..service.register import RegisterError, database_url, open_register, register_file

    local = args.database is None or "://" not in args.database
    path = register_file(args.database) if local else None
    if existing and local and not path.is_file():
        raise RegisterError(
            "not_found", "no register there", expected="a register file", got=str(path)
        )
    engine = open_register(database_url(args.database))
    try:
        yield engine
    finally:
        engine.dispose()


def cmd_serve(args: argparse.Namespace) -> int:
    """Start the web service: officers upload applications and decide, reviewers sign off,
    other systems call the same over HTTP (OpenAPI schema at /openapi.json). The register is
    a SQLite file under ./assess-data/ unless --database names another.

    With --workers N, N service processes share the port and the register (SQLite in
    write-ahead-log mode, or PostgreSQL): uploads are scored N at a time.

    Example:
      assess users add alice --role officer
      assess serve --port 8000 --workers 2
    """
    import uvicorn

    from ..service import app

    where = {"host": args.host, "port": args.port, "log_level": "warning" if args.quiet else "info"}
    _listenable(args.host, args.port)
    with _register(args) as engine:  # migrated once, before any process serves
        if args.workers == 1:
            uvicorn.run(app.create_app(engine), **where)
            return 0
        os.environ[app.DATABASE_ENV] = engine.url.render_as_string(hide_password=False)
    uvicorn.run(f"{app.__name__}:from_environment", factory=True, workers=args.workers, **where)
    return 0


def _listenable(host: str, port: int) -> None:
    """``host:port`` can be listened on (as uvicorn binds it, reusing an address left in
    TIME_WAIT), or a one-line error saying why: a port in use, a host not of this machine."""
    from ..service.register import RegisterError

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        raise RegisterError(
            "unavailable",
            f"cannot listen on {host}:{port}",
            expected="a free port on an address of this machine",
            got=error.strerror or str(error),
        ) from None


def cmd_users_add(args: argparse.Namespace) -> int:
    """Add a user of the service and print their API token, once (only its hash is kept).

    Example:
      assess users add alice --role officer
    """
    from ..service.register import add_user

    with _register(args) as engine:
        user = add_user(engine, args.name, args.role)
    emit([f"user {user.name} ({user.role}); API token, shown once: {user.token}"])
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    """List the users of the service: name, role, since when, and whether their token is
    revoked (tokens themselves are never stored).

    Example:
      assess users list
    """
    from ..service.register import users

    with _register(args, existing=True) as engine:
        found = users(engine)
    emit(
        [
            f"{u.name:<24} {u.role:<9} since {u.created_at:%Y-%m-%d}"
            + ("  (token revoked)" if u.token_sha256.startswith("revoked-") else "")
            for u in found
        ]
        or ["no user in the register"]
    )
    return 0


def cmd_users_token(args: argparse.Namespace) -> int:
    """Give a user a new API token (printed once; the old one opens nothing from now on), or
    with --revoke none at all.

    Example:
      assess users token alice
      assess users token alice --revoke
    """
    from ..service.register import new_token

    with _register(args, existing=True) as engine:
        user = new_token(engine, args.name, revoke=args.revoke)
    said = "token revoked" if args.revoke else f"new API token, shown once: {user.token}"
    emit([f"user {user.name} ({user.role}); {said}"])
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    """List past assessments of the register, newest first (of one project when named):
    id, project, engine recommendation, latest decision, as-of date, who and when (with the
    uploaded file's name in --format json).

    Example:
      assess history DC-2025-004 --format json
    """
    from ..service import register

    with _register(args, existing=True) as engine:
        found = register.assessments(engine, project_id=args.project)
        rows = [_history_row(engine, row) for row in found]
    if args.format == "json":
        print_json({"assessments": rows})
        return 0
    lines = [
        f"{r['id']}  {r['project_id']:<16} {r['recommendation']:<24} {r['decision'] or '-':<24} "
        f"{_signed(r['signed_off_by'])}  as of {r['as_of']}  by {r['created_by']} "
        f"at {r['created_at']}"
        for r in rows
    ]
    of = f" of project {args.project}" if args.project else ""
    emit(lines or [f"no assessment{of} in the register"])
    return 0


def _signed(reviewer: str | None) -> str:
    return f"signed off by {reviewer}" if reviewer else "not signed off"


def _history_row(engine, row) -> dict:
    from ..service.desk import latest_sign_off
    from ..service.register import events, utc

    trail = events(engine, row.id)
    decided = [e for e in trail if e.kind == "decision"]
    return {
        "id": row.id,
        "project_id": row.project_id,
        "file_name": row.file_name,
        "recommendation": row.recommendation,
        "decision": decided[-1].outcome if decided else None,
        "signed_off_by": latest_sign_off(trail),
        "as_of": row.as_of.isoformat(),
        "created_by": row.created_by,
        "created_at": utc(row.created_at).isoformat(timespec="seconds"),
    }


def cmd_reprint(args: argparse.Namespace) -> int:
    """Re-render a stored assessment's memo from its stored workbook, with the rules and model
    it was made with, and its decision trail (--no-trail: byte for byte the first print).

    Example:
      assess reprint 3f2a9c0d1b7e4c55a1d2e3f4a5b6c7d8 -o memo.pdf
    """
    from ..service.desk import reprint

    output = checked_file(args.output, (".pdf",), "-o memo")
    with _register(args, existing=True) as engine:
        output.write_bytes(reprint(engine, args.id, with_trail=not args.no_trail))
    wrote(args, [output])
    return 0


def _database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        metavar="URL",
        help="the register: a database URL (postgresql://user@host:5432/db) or a SQLite file "
        "(default: assess-data/register.sqlite)",
    )


def add_service_commands(commands) -> None:
    serve = options.command(commands, "serve", "start the web service", cmd_serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=options.port, default=8000, help="port (default 8000)")
    serve.add_argument(
        "--workers",
        type=options.positive,
        default=1,
        metavar="N",
        help="service processes (default 1; about one a core)",
    )
    _database(serve)
    users = commands.add_parser(
        "users",
        help="users of the web service",
        description="Users of the web service: add one (an officer or a reviewer) and print "
        "their API token once; list them; give one a new token or revoke it.\n\nExample:\n"
        "  assess users add alice --role officer",
        formatter_class=options.Formatter,
    )
    user_commands = users.add_subparsers(dest="users_command", required=True, metavar="COMMAND")
    add = options.command(user_commands, "add", "add a user and print their token", cmd_users_add)
    add.add_argument("name", help="the user's name")
    add.add_argument(
        "--role",
        required=True,
        choices=("officer", "reviewer"),
        help="officer: assess, decide, read own; reviewer: sign off, read all",
    )
    _database(add)
    listed = options.command(user_commands, "list", "list the users", cmd_users_list)
    _database(listed)
    token = options.command(
        user_commands, "token", "give a user a new token, or revoke it", cmd_users_token
    )
    token.add_argument("name", help="the user's name")
    token.add_argument("--revoke", action="store_true", help="no token at all from now on")
    _database(token)
    history = options.command(
        commands,
        "history",
        "list past assessments",
        cmd_history,
        parents=[options.format_options()],
    )
    history.add_argument("project", nargs="?", metavar="PROJECT_ID", help="one project's")
    _database(history)
    reprint = options.command(commands, "reprint", "re-render a stored memo", cmd_reprint)
    reprint.add_argument("id", metavar="ID", help="the assessment's id (assess history)")
    reprint.add_argument("-o", "--output", required=True, metavar="FILE", help="the PDF to write")
    reprint.add_argument("--no-trail", action="store_true", help="the first print, byte for byte")
    _database(reprint)
