"""Batch screenings over HTTP: ``POST /screenings`` starts one in the background (a reviewer or
analyst's work), ``GET /screenings/{id}`` shows its progress, then its outputs are downloaded
from ``GET /screenings/{id}/{name}`` (``screening.xlsx``, ``summary.pdf``, ``manifest.json``).

A screening runs as ``assess screen`` runs (one process per service, in a thread); its outputs
are stored with its completion in one transaction, so it is either complete with all its files
or failed. A screening still running when the service stops is marked failed when the service
starts again (:func:`register.fail_interrupted`).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from .._shared.files import write_atomically
from ..errors import AssessmentError
from ..reports.pdf.style import LANGS
from ..screening.batch import screen_to_folder
from ..screening.records import Settings
from . import desk, register
from .app import Signed  # loaded by create_app, after app.py
from .register import RegisterError, User

OUTPUTS = {
    "screening.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "summary.pdf": "application/pdf",
    "manifest.json": "application/json",
}
MAX_FILES = 500


def add_routes(app: FastAPI) -> None:
    engine = app.state.engine
    app.state.on_start.append(lambda: register.fail_interrupted(engine))

    @app.post("/screenings", status_code=202)
    async def start(
        request: Request,
        user: Signed,
        files: Annotated[list[UploadFile], File()],
        as_of: Annotated[dt.date | None, Form()] = None,
        lang: Annotated[str, Form()] = "en",
    ) -> dict:
        engine, date = request.app.state.engine, as_of or dt.date.today()
        return await start_screening(engine, user, files, date, lang)

    @app.get("/screenings/{screening_id}")
    def progress(request: Request, user: Signed, screening_id: str) -> dict:
        return _described(_visible(request.app.state.engine, user, screening_id))

    @app.get("/screenings/{screening_id}/{name}")
    def output(request: Request, user: Signed, screening_id: str, name: str) -> Response:
        engine = request.app.state.engine
        found = _visible(engine, user, screening_id)
        if name not in found.outputs:
            raise RegisterError("not_found", "no such output of this screening", got=name)
        content = register.blob(engine, found.outputs[name])
        disposition = {"content-disposition": f'attachment; filename="{name}"'}
        return Response(content, media_type=OUTPUTS[name], headers=disposition)


async def start_screening(
    engine: Engine, user: User, files: list, as_of: dt.date, lang: str
) -> dict:
    """Check and keep the uploaded files, start their screening in the background and
    describe it (what ``POST /screenings`` and the screening page both do)."""
    _may_screen(user, files, lang)
    return _started(engine, user, await _kept(files), as_of, lang)


async def _kept(files: list) -> Path:
    """The uploads in a folder of their own, each within the upload limits (none kept when
    one is refused)."""
    folder = Path(tempfile.mkdtemp(prefix="assess-screening-"))
    try:
        for index, upload in enumerate(files):
            content = await upload.read(desk.MAX_UPLOAD_BYTES + 1)
            name = desk.checked_upload(content, upload.filename or "")
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
        raise RegisterError("forbidden", "only a reviewer or analyst screens", got=user.role)
    if not files or len(files) > MAX_FILES:
        raise RegisterError(
            "invalid", "a screening takes files", expected=f"1 to {MAX_FILES}", got=len(files)
        )
    if lang not in LANGS:
        raise RegisterError("invalid", "unknown language", expected=", ".join(LANGS), got=lang)


def _started(engine: Engine, user: User, folder: Path, as_of: dt.date, lang: str) -> dict:
    files = len(list(folder.iterdir()))
    row = register.start_screening(
        engine, files=files, as_of=as_of, lang=lang, created_by=user.name
    )
    worker = threading.Thread(
        target=run_screening, args=(engine, row.id, folder, as_of, lang), daemon=True
    )
    worker.start()
    return _described(row)


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
            progress=lambda done, total, rows: register.screening_progress(
                engine, screening_id, done, total
            ),
        )
        outputs = {name: (out / name).read_bytes() for name in OUTPUTS if (out / name).exists()}
        register.finish_screening(engine, screening_id, outputs, screening.manifest["counts"])
    except AssessmentError as error:
        _record_failure(engine, screening_id, error.render())
    except Exception as error:  # noqa: BLE001 - recorded on the screening, never lost
        _record_failure(engine, screening_id, f"internal error: {type(error).__name__}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


FAILURE_RETRIES = (1, 2, 4, 8, 16)  # seconds between tries to record a failure


def _record_failure(engine: Engine, screening_id: str, message: str) -> None:
    """Mark the screening failed, trying again while the database is away (a database that
    stays away: the next start of the service marks it failed)."""
    for pause in (0, *FAILURE_RETRIES):
        time.sleep(pause)
        try:
            register.fail_screening(engine, screening_id, message)
            return
        except OperationalError:
            continue


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
