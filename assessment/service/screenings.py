"""Batch screenings over HTTP: ``POST /screenings`` starts one in the background (a reviewer or
analyst's work), ``GET /screenings/{id}`` shows its progress, then its outputs are downloaded
from ``GET /screenings/{id}/{name}`` (``screening.xlsx``, ``summary.pdf``, ``manifest.json``).

A screening runs as ``assess screen`` runs, in a thread of the service process that took it
(:class:`Works`): a few at a time (:class:`Limits`), the next ones queued, more refused (429,
busy). Its outputs are stored with its completion in one transaction, so it is either
complete with all its files or failed. The process keeps a heartbeat on its screenings; one
whose process is gone or whose heartbeat stopped (a killed service, a database away for long)
is marked failed by any process of the service, at its start or on its next beat, and the
uploads a killed process left behind are removed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import queue
import secrets
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from .._shared.files import write_atomically
from ..errors import AssessmentError
from ..reports.pdf.style import LANGS
from ..screening.batch import screen_to_folder
from ..screening.records import Settings
from . import desk, register
from .app import Signed, attachment  # loaded by create_app, after app.py
from .register import RegisterError, User

OUTPUTS = {
    "screening.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "summary.pdf": "application/pdf",
    "manifest.json": "application/json",
}
MAX_FILES = 500
SPOOL = Path(tempfile.gettempdir()) / "assess-spool"  # uploads waiting for their screening
STOPPED = "stopped: the service stopped before the screening completed"


@dataclass(frozen=True)
class Limits:
    """How many screenings one service process runs at a time and keeps queued, and how its
    heartbeat goes (``create_app(engine, screening_limits=Limits(...))``)."""

    at_once: int = 1
    queued: int = 4
    heartbeat_seconds: float = 10.0
    stale_after: dt.timedelta = dt.timedelta(seconds=90)  # no heartbeat that long: abandoned
    spool: Path = SPOOL


@dataclass
class Works:
    """The screenings of this service process: its owner name in the register, the threads
    that run them, the ones it holds (queued or running) and its heartbeat."""

    engine: Engine
    limits: Limits
    owner: str = field(default_factory=lambda: owner_name(os.getpid()))
    held: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.waiting: queue.SimpleQueue = queue.SimpleQueue()
        self.workers: list[threading.Thread] = []
        _, pid, mark = self.owner.split("/")
        self.spool = self.limits.spool / f"{pid}-{mark}"
        _LIVE.add(self.owner)

    def start(self) -> None:
        """At the service's start: fail what stopped processes left, remove their uploads and
        keep the heartbeat."""
        self.beat()
        _remove_left_uploads(self.limits.spool)
        threading.Thread(target=self._beating, name="screening-heartbeat", daemon=True).start()

    def stop(self, wait_seconds: float = 0) -> None:
        """At the service's stop: the screenings held here are failed (a batch is not waited
        for, unless ``wait_seconds`` for its thread to end), their uploads removed."""
        self.stopping.set()
        _LIVE.discard(self.owner)
        with self.lock:
            held, self.held = sorted(self.held), set()
        for screening_id in held:
            with contextlib.suppress(SQLAlchemyError):  # else failed when found abandoned
                register.fail_screening(self.engine, screening_id, STOPPED)
        for _ in self.workers:
            self.waiting.put(None)
        for worker in self.workers:
            worker.join(wait_seconds)
        shutil.rmtree(self.spool, ignore_errors=True)

    def beat(self) -> None:
        """The heartbeat of the screenings held here; those of other processes abandoned."""
        with self.lock:
            held = sorted(self.held)
        register.heartbeat(self.engine, self.owner, held)
        register.fail_abandoned(self.engine, self.limits.stale_after, owner_gone)

    def _beating(self) -> None:
        while not self.stopping.wait(self.limits.heartbeat_seconds):
            with contextlib.suppress(SQLAlchemyError):  # the next beat tries again
                self.beat()

    def take(self, screening_id: str, folder: Path, as_of: dt.date, lang: str) -> None:
        """Queue a screening for the next free worker thread (started on first use)."""
        with self.lock:
            self.held.add(screening_id)
            while len(self.workers) < self.limits.at_once:
                worker = threading.Thread(target=self._work, name="screening", daemon=True)
                self.workers.append(worker)
                worker.start()
        self.waiting.put((screening_id, folder, as_of, lang))

    def _work(self) -> None:
        """Run the queued screenings one after another; a screening whose failure cannot be
        recorded (its database gone) is left to the heartbeat, and the thread goes on."""
        while (job := self.waiting.get()) is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._run(*job)

    def _run(self, screening_id: str, folder: Path, as_of: dt.date, lang: str) -> None:
        try:
            if not self.stopping.is_set() and _with_retries(
                register.screening_running, self.engine, screening_id
            ):
                run_screening(self.engine, screening_id, folder, as_of, lang)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            with self.lock:
                self.held.discard(screening_id)

    def room(self) -> None:
        """Refuse a screening when this process holds as many as it runs and queues."""
        most = self.limits.at_once + self.limits.queued
        with self.lock:
            held = len(self.held)
        if held >= most:
            raise RegisterError(
                "busy",
                "too many screenings are waiting: try again when one has finished",
                expected=f"at most {most} running or queued",
                got=held,
            )


def owner_name(pid: int) -> str:
    """A service process's name in the register: host, process id and a random mark (so that a
    later process with the same id is another owner)."""
    return f"{socket.gethostname()}/{pid}/{secrets.token_hex(4)}"


def owner_gone(owner: str) -> bool:
    """Whether the process ``owner`` is known to be gone: it ran on this host, and its process
    has ended or is another one now. A process on another host is judged by its heartbeat."""
    parts = owner.split("/")
    if len(parts) != 3 or not parts[1].isdigit():
        return True  # not a name a service process gives itself
    host, pid = parts[0], parts[1]
    if host != socket.gethostname():
        return False
    if int(pid) == os.getpid():
        return owner not in _LIVE
    return not _process_alive(int(pid))


_LIVE: set[str] = set()  # the owner names of this process's works


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _remove_left_uploads(spool: Path) -> None:
    """Remove the upload folders (``PID-MARK``) of this host's service processes that are
    gone (a killed service)."""
    if spool.is_dir():
        for folder in spool.iterdir():
            pid, _, mark = folder.name.partition("-")
            if owner_gone(f"{socket.gethostname()}/{pid}/{mark}"):
                shutil.rmtree(folder, ignore_errors=True)


def add_routes(app: FastAPI) -> None:
    works = Works(app.state.engine, app.state.screening_limits or Limits())
    app.state.screenings = works
    app.state.on_start.append(works.start)
    app.state.on_stop.append(works.stop)

    @app.post("/screenings", status_code=202)
    async def start(
        request: Request,
        user: Signed,
        files: Annotated[list[UploadFile], File()],
        as_of: Annotated[dt.date | None, Form()] = None,
        lang: Annotated[str, Form()] = "en",
    ) -> dict:
        date = as_of or dt.date.today()
        return await start_screening(request.app.state.screenings, user, files, date, lang)

    @app.get("/screenings/{screening_id}")
    def progress(request: Request, user: Signed, screening_id: str) -> dict:
        return _described(_visible(request.app.state.engine, user, screening_id))

    @app.get("/screenings/{screening_id}/{name}")
    def output(request: Request, user: Signed, screening_id: str, name: str) -> Response:
        engine = request.app.state.engine
        found = _visible(engine, user, screening_id)
        if name not in found.outputs:
            raise RegisterError(
                "not_found",
                "no such output of this screening",
                expected=", ".join(found.outputs),  # none until it is complete
                got=name,
            )
        content = register.blob(engine, found.outputs[name])
        return Response(content, media_type=OUTPUTS[name], headers=attachment(name))


async def start_screening(works: Works, user: User, files: list, as_of: dt.date, lang: str) -> dict:
    """Check and keep the uploaded files, queue their screening and describe it (what
    ``POST /screenings`` and the screening page both do)."""
    _may_screen(user, files, lang)
    works.room()
    folder = await _kept(files, works.spool)
    row = register.start_screening(
        works.engine,
        works.owner,
        files=len(list(folder.iterdir())),
        as_of=as_of,
        lang=lang,
        created_by=user.name,
    )
    works.take(row.id, folder, as_of, lang)
    return _described(row)


async def _kept(files: list, spool: Path) -> Path:
    """The uploads in a folder of their own under ``spool``, each within the upload limits
    (none kept when one is refused)."""
    spool.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="assess-screening-", dir=spool))
    try:
        for index, upload in enumerate(files):
            content = await upload.read(desk.MAX_UPLOAD_BYTES + 1)
            name = desk.checked_upload(content, upload.filename or "", position=index + 1)
            kept = folder / name if not (folder / name).exists() else folder / f"{index}_{name}"
            write_atomically(kept, lambda f, c=content: f.write_bytes(c))
    except RegisterError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def described_for(engine: Engine, user: User, screening_id: str) -> dict:
    """A screening as the API describes it, if the user may see it."""
    return _described(_visible(engine, user, screening_id))


def _may_screen(user: User, files: list, lang: str) -> None:
    if user.role != "reviewer":
        raise RegisterError(
            "forbidden", "only a reviewer or analyst screens", expected="reviewer", got=user.role
        )
    if not files or len(files) > MAX_FILES:
        raise RegisterError(
            "invalid", "a screening takes files", expected=f"1 to {MAX_FILES}", got=len(files)
        )
    if lang not in LANGS:
        raise RegisterError("invalid", "unknown language", expected=", ".join(LANGS), got=lang)


def run_screening(engine: Engine, screening_id: str, folder: Path, as_of, lang: str) -> None:
    """Screen the uploaded files and store the outputs, or record why it failed."""
    try:
        settings = Settings(as_of=as_of, lang=lang)
        out = folder / "out"
        screening, _ = screen_to_folder(
            sorted(p for p in folder.iterdir() if p.is_file()),
            out,
            settings,
            jobs=1,
            progress=_progress(engine, screening_id),
        )
        outputs = {name: (out / name).read_bytes() for name in OUTPUTS if (out / name).exists()}
        counts = screening.manifest["counts"]
        _with_retries(register.finish_screening, engine, screening_id, outputs, counts)
    except AssessmentError as error:
        _with_retries(register.fail_screening, engine, screening_id, error.render())
    except Exception as error:  # noqa: BLE001 - recorded on the screening, never lost
        message = f"internal error: {type(error).__name__}"
        _with_retries(register.fail_screening, engine, screening_id, message)


def _progress(engine: Engine, screening_id: str):
    """A screening's progress, recorded as it goes: a database away for a moment loses a step
    of the progress, never the screening."""

    def record(done: int, total: int, _rows: int) -> None:
        with contextlib.suppress(OperationalError):
            register.screening_progress(engine, screening_id, done, total)

    return record


RETRIES = (1, 2, 4, 8, 16)  # seconds between tries while the database is away


def _with_retries(step, *args):
    """``step(*args)``, tried again while the database is away; a database that stays away:
    nothing (the screening's heartbeat stops, and it is marked failed once it is back)."""
    for pause in (0, *RETRIES):
        time.sleep(pause)
        try:
            return step(*args)
        except OperationalError:
            continue
    return None


def _visible(engine: Engine, user: User, screening_id: str) -> register.ScreeningRun:
    found = register.screening(engine, screening_id)
    if user.role != "reviewer" and found.created_by != user.name:
        raise RegisterError("not_found", "no screening has this id", got=screening_id)
    return found


def _described(row: register.ScreeningRun) -> dict:
    base = f"/screenings/{row.id}"
    return {
        "id": row.id,
        "status": row.status,
        "progress": {"done": row.done, "total": row.total},
        "files": row.files,
        "counts": row.counts or {},
        "message": row.message,
        "as_of": row.as_of.isoformat(),
        "created_by": row.created_by,
        "links": {"self": base, **{name: f"{base}/{name}" for name in sorted(row.outputs or {})}},
    }
