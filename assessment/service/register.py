"""The assessment register: every assessment, its inputs and outputs, and who decided what,
in a database (SQLite in a local folder by default, PostgreSQL by URL), through SQLAlchemy 2
and the Alembic migrations of :mod:`assessment.service.migrations`.

* ``blobs``: file contents by SHA-256 (the uploaded workbook, the memo PDF), stored in the
  database itself, so that no row can point to a missing file.
* ``users``: a name, a role (``officer`` or ``reviewer``) and the SHA-256 of an API token
  (the token itself is shown once, never stored).
* ``sessions``: the pages' sign-ins, each with a token of its own (its SHA-256 kept), an
  expiry and an end (signing out; a user's new or revoked API token ends them all).
* ``assessments``: one per assessed project: the input file, the normalized record, the result
  JSON, the memo, the rule-pack versions, the model's SHA-256, the engine version, the as-of
  date and language, who ran it and when.
* ``events``: the decision trail, append-only: the officer's decision (accept, override with a
  reason, request information), comments, the reviewer's sign-off. A correction is a new row.
* ``screenings``: batch screenings started over HTTP, each owned by the service process that
  runs it, which keeps its heartbeat while it waits or runs; one abandoned (its process gone,
  or no heartbeat for a while) is marked failed by any process of the service.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, defer, mapped_column

from .._shared.files import sha256_bytes
from ..errors import AssessmentError

ROLES = ("officer", "reviewer")
DEFAULT_FOLDER = "assess-data"
SESSION_HOURS = 12  # a sign-in lasts a working day
ACTIVE = ("queued", "running")  # a screening's states before it completes or fails


class Base(DeclarativeBase):
    pass


class Blob(Base):
    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class User(Base):
    __tablename__ = "users"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class SignIn(Base):
    """A sign-in of the pages: the SHA-256 of its cookie's token, its user, when it ends."""

    __tablename__ = "sessions"
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(ForeignKey("users.name"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Assessment(Base):
    __tablename__ = "assessments"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(200), index=True)
    file_name: Mapped[str] = mapped_column(String(500))
    file_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    memo_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    record: Mapped[dict] = mapped_column(JSON)
    result: Mapped[dict] = mapped_column(JSON)
    rule_versions: Mapped[dict] = mapped_column(JSON)
    model_sha256: Mapped[str] = mapped_column(String(64))
    engine_version: Mapped[str] = mapped_column(String(40))
    as_of: Mapped[dt.date] = mapped_column(Date)
    lang: Mapped[str] = mapped_column(String(5))
    recommendation: Mapped[str] = mapped_column(String(40))
    created_by: Mapped[str] = mapped_column(ForeignKey("users.name"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class Event(Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # decision | sign_off
    action: Mapped[str] = mapped_column(String(40))  # accept | override | request_information
    outcome: Mapped[str] = mapped_column(String(40))  # the recommendation decided
    reason: Mapped[str] = mapped_column(Text, default="")
    comments: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(ForeignKey("users.name"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RegisterError(AssessmentError):
    """A register or service request that cannot be met: ``code`` (``not_found``,
    ``conflict``, ``forbidden``, ``invalid`` ...), what, and the details (``expected``,
    ``got`` ...), rendered as every engine error is."""

    def __init__(self, code: str, message: str, **details: object) -> None:
        expected, got, hint = (str(details.get(key, "")) for key in ("expected", "got", "hint"))
        super().__init__(message, expected=expected, got=got, hint=hint)
        self.code, self.message, self.details = code, message, details


@dataclass(frozen=True)
class NewUser:
    name: str
    role: str
    token: str  # shown once


PSYCOPG = "postgresql+psycopg"  # the PostgreSQL driver the project declares (psycopg 3)


def database_url(database: str | None, folder: str | Path = DEFAULT_FOLDER) -> str:
    """``database`` as a SQLAlchemy URL: a URL as given (a plain ``postgresql://`` or
    ``postgres://`` one with the declared driver, psycopg 3, where SQLAlchemy would look for
    psycopg2), else a SQLite file under ``folder`` (made when missing)."""
    if database and "://" in database:
        scheme, _, rest = database.partition("://")
        return f"{PSYCOPG}://{rest}" if scheme in ("postgresql", "postgres") else database
    path = register_file(database, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path.resolve()}"


def register_file(database: str | None, folder: str | Path = DEFAULT_FOLDER) -> Path:
    """The SQLite file ``database`` names (``register.sqlite`` under ``folder`` when none is
    named); a folder is refused."""
    path = Path(database) if database else Path(folder) / "register.sqlite"
    if path.is_dir():
        raise RegisterError(
            "invalid",
            "the register's database is a folder, not a file",
            expected="a SQLite file or postgresql://user@host:5432/db",
            got=str(path),
            hint=f"name a file in it, e.g. {path / 'register.sqlite'}",
        )
    return path


def open_register(url: str) -> Engine:
    """The database at ``url``, migrated to the newest schema (Alembic ``upgrade head``)."""
    from .migrations import upgrade

    try:
        engine = _engine(url)
    except (ArgumentError, ImportError) as error:  # not a URL, or a driver not installed
        raise RegisterError(
            "invalid",
            "the register's database URL cannot be used",
            expected="a SQLite file or postgresql://user@host:5432/db",
            got=url.partition("://")[0] + "://...",
        ) from error
    try:
        upgrade(engine)
    except OperationalError as error:
        engine.dispose()
        raise RegisterError(
            "unavailable",
            "the register's database cannot be reached",
            expected="a database that answers",
            got=engine.url.render_as_string(hide_password=True),
        ) from error
    return engine


SQLITE_WAIT_SECONDS = 30  # how long a SQLite writer waits for another process's write


def _engine(url: str) -> Engine:
    """An engine for ``url``. A SQLite file is in write-ahead-log mode, so that several
    service processes read while one writes, and each transaction takes the write lock at its
    start (``BEGIN IMMEDIATE``): a writer waits its turn rather than failing midway."""
    if not url.startswith("sqlite"):
        return create_engine(url, future=True, pool_pre_ping=True)
    engine = create_engine(url, future=True, connect_args={"timeout": SQLITE_WAIT_SECONDS})

    @event.listens_for(engine, "connect")
    def write_ahead(connection, _record) -> None:
        connection.isolation_level = None  # the transactions are begun below, not by the driver
        connection.execute("pragma journal_mode=wal")

    @event.listens_for(engine, "begin")
    def immediately(connection) -> None:
        connection.exec_driver_sql("begin immediate")

    return engine


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def utc(moment: dt.datetime) -> dt.datetime:
    """A stored time in UTC with its offset (SQLite gives times back without one)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


sha256 = sha256_bytes  # the one digest of bytes


def add_user(engine: Engine, name: str, role: str) -> NewUser:
    """A new user with a new API token (returned once; only its SHA-256 is kept)."""
    if role not in ROLES:
        raise RegisterError("invalid", f"unknown role {role!r}", expected=list(ROLES), got=role)
    if not name.strip() or len(name) > 200 or not name.isprintable():
        raise RegisterError(
            "invalid",
            "a user's name is 1 to 200 printable characters",
            expected="a name",
            got=repr(name[:40]),  # a control character shown, not acted on by the terminal
        )
    token = secrets.token_urlsafe(32)
    user = User(name=name.strip(), role=role, token_sha256=sha256(token.encode()), created_at=now())
    try:
        with _session(engine) as session, session.begin():
            session.add(user)
    except IntegrityError as error:
        raise RegisterError("conflict", f"the user {name!r} exists already", got=name) from error
    return NewUser(user.name, role, token)


def users(engine: Engine) -> list[User]:
    with _session(engine) as session:
        rows = session.scalars(select(User).order_by(User.name)).all()
        return [_detached(session, row) for row in rows]


def new_token(engine: Engine, name: str, revoke: bool = False) -> NewUser:
    """A user's token replaced by a new one (returned once), or with ``revoke`` by none that
    can be used: the old token opens nothing from now on."""
    token = secrets.token_urlsafe(32)
    stored = f"revoked-{uuid.uuid4().hex}" if revoke else sha256(token.encode())
    with _session(engine) as session, session.begin():
        user = _found(session, User, name, "user has this name")
        user.token_sha256 = stored[:64]
        _end_sessions(session, SignIn.user_name == name)  # those signed in with the old one
    return NewUser(name, user.role, "" if revoke else token)


def user_of_token(engine: Engine, token: str) -> User | None:
    with _session(engine) as session:
        found = session.scalar(select(User).where(User.token_sha256 == sha256(token.encode())))
        return None if found is None else _detached(session, found)


def start_session(engine: Engine, user: User, hours: float = SESSION_HOURS) -> str:
    """A new sign-in of ``user`` for ``hours``: its token (for the cookie; only its SHA-256 is
    kept)."""
    token, moment = secrets.token_urlsafe(32), now()
    with _session(engine) as session, session.begin():
        session.add(
            SignIn(
                token_sha256=sha256(token.encode()),
                user_name=user.name,
                created_at=moment,
                expires_at=moment + dt.timedelta(hours=hours),
            )
        )
    return token


def user_of_session(engine: Engine, token: str) -> User | None:
    """The user of a sign-in that has neither expired nor ended."""
    query = (
        select(User)
        .join(SignIn, SignIn.user_name == User.name)
        .where(SignIn.token_sha256 == sha256(token.encode()))
        .where(SignIn.ended_at.is_(None), SignIn.expires_at > now())
    )
    with _session(engine) as session:
        found = session.scalar(query)
        return None if found is None else _detached(session, found)


def end_session(engine: Engine, token: str) -> None:
    """Sign out: the sign-in of ``token`` opens nothing from now on."""
    with _session(engine) as session, session.begin():
        _end_sessions(session, SignIn.token_sha256 == sha256(token.encode()))


def _end_sessions(session: Session, which) -> None:
    session.execute(update(SignIn).where(which, SignIn.ended_at.is_(None)).values(ended_at=now()))


def _session(engine: Engine) -> Session:
    """A session whose rows stay readable after it ends (no expiry on commit)."""
    return Session(engine, expire_on_commit=False)


def _detached(session: Session, row):
    session.expunge(row)
    return row


def store_blob(session: Session, content: bytes) -> str:
    """Keep ``content`` by its SHA-256 (once, though two processes store it at the same
    moment) and return that."""
    key = sha256(content)
    if session.get(Blob, key) is None:
        insert = _INSERTS[session.get_bind().dialect.name]
        row = {"sha256": key, "size": len(content), "content": content}
        session.execute(insert(Blob).values(row).on_conflict_do_nothing(index_elements=["sha256"]))
    return key


_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}  # with ON CONFLICT


def _found(session: Session, model: type[Base], key: str, what: str):
    """The row of ``model`` with ``key``, or a ``not_found`` error naming ``what``."""
    row = session.get(model, key) if storable(key) else None
    if row is None:
        raise RegisterError("not_found", f"no {what}", got=key)
    return row


def storable(text: str) -> bool:
    """Whether the register can hold ``text``: PostgreSQL's text holds no NUL, so a key or a
    value with one is in no register (found nowhere, on SQLite as on PostgreSQL)."""
    return "\x00" not in text


def blob(engine: Engine, key: str) -> bytes:
    with _session(engine) as session:
        return _found(session, Blob, key, "stored file has this SHA-256").content


def record_assessment(engine: Engine, upload: bytes, memo: bytes, **facts: object) -> Assessment:
    """Store one assessment with its workbook and memo, in one transaction."""
    with _session(engine) as session, session.begin():
        row = Assessment(
            id=uuid.uuid4().hex,
            file_sha256=store_blob(session, upload),
            memo_sha256=store_blob(session, memo),
            created_at=now(),
            **facts,
        )
        session.add(row)
    return row


def assessment(engine: Engine, assessment_id: str) -> Assessment:
    with _session(engine) as session:
        found = _found(session, Assessment, assessment_id, "assessment has this id")
        return _detached(session, found)


def assessments(
    engine: Engine, *, project_id: str | None = None, created_by: str | None = None
) -> list[Assessment]:
    """Past assessments, newest first, of one project or one user when asked: each without its
    result and record (a list needs neither, and they are about 100 KB an assessment; read one
    with :func:`assessment`)."""
    query = (
        select(Assessment)
        .options(defer(Assessment.result, raiseload=True), defer(Assessment.record, raiseload=True))
        .order_by(Assessment.created_at.desc(), Assessment.id)
    )
    if project_id and not storable(project_id):
        return []
    if project_id:
        query = query.where(Assessment.project_id == project_id)
    if created_by:
        query = query.where(Assessment.created_by == created_by)
    with _session(engine) as session:
        return [_detached(session, row) for row in session.scalars(query).all()]


def events(engine: Engine, assessment_id: str) -> list[Event]:
    query = select(Event).where(Event.assessment_id == assessment_id).order_by(Event.id)
    with _session(engine) as session:
        return [_detached(session, row) for row in session.scalars(query).all()]


def events_of(engine: Engine, assessment_ids: list[str]) -> dict[str, list[Event]]:
    """The trails of many assessments in one query, each oldest first."""
    found: dict[str, list[Event]] = {key: [] for key in assessment_ids}
    if not assessment_ids:
        return found
    query = select(Event).where(Event.assessment_id.in_(assessment_ids)).order_by(Event.id)
    with _session(engine) as session:
        for row in session.scalars(query).all():
            found[row.assessment_id].append(_detached(session, row))
    return found


def add_event(engine: Engine, assessment_id: str, **facts: object) -> Event:
    """Append one step of the decision trail (never an update of an earlier one)."""
    with _session(engine) as session, session.begin():
        _found(session, Assessment, assessment_id, "assessment has this id")
        row = Event(assessment_id=assessment_id, created_at=now(), **facts)
        session.add(row)
    return row


def count(engine: Engine, table: type[Base]) -> int:
    with _session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


class ScreeningRun(Base):
    """A batch screening started over HTTP: queued, then running with its progress, then its
    outputs (stored with its completion in one transaction) or why it failed. ``owner`` is the
    service process that runs it (host, process id, start), ``heartbeat_at`` when that
    process last said it was still at it."""

    __tablename__ = "screenings"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))  # queued | running | complete | failed
    files: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0)  # chunks screened
    total: Mapped[int] = mapped_column(Integer, default=0)  # chunks in all (0: not planned yet)
    message: Mapped[str] = mapped_column(Text, default="")
    outputs: Mapped[dict] = mapped_column(JSON, default=dict)  # file name -> blob SHA-256
    counts: Mapped[dict] = mapped_column(JSON, default=dict)  # the manifest's counts
    as_of: Mapped[dt.date] = mapped_column(Date)
    lang: Mapped[str] = mapped_column(String(5))
    created_by: Mapped[str] = mapped_column(ForeignKey("users.name"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    owner: Mapped[str] = mapped_column(String(200), default="")
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


def start_screening(engine: Engine, owner: str, **facts: object) -> ScreeningRun:
    """A new screening, queued in the process ``owner``."""
    moment = now()
    with _session(engine) as session, session.begin():
        row = ScreeningRun(
            id=uuid.uuid4().hex,
            status="queued",
            owner=owner,
            created_at=moment,
            heartbeat_at=moment,
            **facts,
        )
        session.add(row)
    return row


def screening_running(engine: Engine, screening_id: str) -> bool:
    """Mark a queued screening running; False when it is no longer queued (failed meanwhile)."""
    with _session(engine) as session, session.begin():
        row = session.get(ScreeningRun, screening_id)
        if row is None or row.status != "queued":
            return False
        row.status, row.heartbeat_at = "running", now()
        return True


def screening_progress(engine: Engine, screening_id: str, done: int, total: int) -> None:
    with _session(engine) as session, session.begin():
        row = session.get(ScreeningRun, screening_id)
        row.done, row.total, row.heartbeat_at = done, total, now()


def finish_screening(
    engine: Engine, screening_id: str, outputs: dict[str, bytes], counts: dict
) -> None:
    """Store the outputs and mark the screening complete, in one transaction: a screening is
    complete with all its files, or not complete."""
    with _session(engine) as session, session.begin():
        row = session.get(ScreeningRun, screening_id)
        if row.status != "running":  # marked failed meanwhile (abandoned): it stays failed
            return
        row.outputs = {name: store_blob(session, content) for name, content in outputs.items()}
        row.counts, row.status, row.finished_at = counts, "complete", now()
        row.done = row.total = max(row.total, 1)


def fail_screening(engine: Engine, screening_id: str, message: str) -> None:
    with _session(engine) as session, session.begin():
        row = session.get(ScreeningRun, screening_id)
        if row.status in ACTIVE:
            row.status, row.message, row.finished_at = "failed", message, now()


def heartbeat(engine: Engine, owner: str, screening_ids: list[str]) -> None:
    """``owner`` is still at these screenings."""
    if screening_ids:
        with _session(engine) as session, session.begin():
            session.execute(
                update(ScreeningRun)
                .where(ScreeningRun.id.in_(screening_ids), ScreeningRun.owner == owner)
                .where(ScreeningRun.status.in_(ACTIVE))
                .values(heartbeat_at=now())
            )


def fail_abandoned(engine: Engine, stale_after: dt.timedelta, gone) -> int:
    """Mark failed the screenings queued or running whose process is ``gone(owner)`` or has
    kept no heartbeat for ``stale_after``: a stopped or stuck service never leaves one
    pending for ever, whichever process of the service notices."""
    cutoff = now() - stale_after
    with _session(engine) as session, session.begin():
        rows = session.scalars(select(ScreeningRun).where(ScreeningRun.status.in_(ACTIVE))).all()
        abandoned = [
            row
            for row in rows
            if row.heartbeat_at is None or utc(row.heartbeat_at) < cutoff or gone(row.owner)
        ]
        for row in abandoned:
            row.status, row.finished_at = "failed", now()
            row.message = "interrupted: the service stopped before the screening completed"
        return len(abandoned)


def screening(engine: Engine, screening_id: str) -> ScreeningRun:
    with _session(engine) as session:
        found = _found(session, ScreeningRun, screening_id, "screening has this id")
        return _detached(session, found)
