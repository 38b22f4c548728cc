"""The HTTP API over the desk (:mod:`assessment.service.desk`): FastAPI, with its OpenAPI
schema at ``/openapi.json``.

Every error has one shape, ``{"error": {"code", "message", "details"}}``; a database that is
down gives 503 in that shape, never a traceback. Every request but ``/health`` carries an API
token, ``Authorization: Bearer TOKEN`` (``assess users add`` makes one).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import os
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from .. import __version__
from ..reports.pdf.style import LANGS
from . import desk, register
from .register import Assessment, RegisterError, User

STATUS = {
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "too_large": 413,
    "unsupported_type": 415,
    "invalid": 422,
    "busy": 429,
    "unavailable": 503,
}
RETRY_AFTER = {"busy": "60", "unavailable": "30"}  # seconds, for the Retry-After header
DATABASE_AWAY = "the register's database cannot be reached"


class Decision(BaseModel):
    action: str
    outcome: str = ""
    reason: str = ""
    comments: str = ""


class SignOff(BaseModel):
    comments: str = ""
    decision_id: int | None = None  # the decision signed off (its id): refused if not the latest


def create_app(engine: Engine, screening_limits=None) -> FastAPI:
    """The service over the register at ``engine`` (migrated by :func:`register.open_register`);
    ``screening_limits``: :class:`assessment.service.screenings.Limits` (default: theirs)."""
    app = FastAPI(title="assessment", version=__version__, lifespan=_lifespan)
    app.state.engine, app.state.screening_limits = engine, screening_limits
    app.state.on_start, app.state.on_stop = [], []
    _handlers(app)
    _guard_uploads(app)
    _routes(app)
    _write_routes(app)
    for module in _EXTENSIONS:  # the pages and the screenings, each in a module of its own
        importlib.import_module(f"{__package__}.{module}").add_routes(app)
    app.add_middleware(BodyLimit, limits=BODY_LIMITS)  # outermost: before anything reads
    return app


BODY_LIMITS = {"/assessments": False, "/screenings": True, "/web/upload": False}
BODY_LIMITS["/web/screenings"] = True  # every upload path: a screening's (more files) or not


_EXTENSIONS: tuple[str, ...] = ("pages", "screenings")  # modules with add_routes(app)
DATABASE_ENV = "ASSESS_DATABASE_URL"  # the register of each process of ``assess serve --workers``


def from_environment() -> FastAPI:
    """The service over the register named by ``$ASSESS_DATABASE_URL`` (already migrated):
    what each process of ``assess serve --workers N`` runs."""
    return create_app(register.open_register(os.environ[DATABASE_ENV]))


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI):
    """When the service starts, the extensions' start-up steps (``app.state.on_start``), e.g.
    marking the screenings a stopped service left running as failed; a database that is
    down then is no reason not to start (requests get 503 until it is back). When it stops,
    their stop steps (``app.state.on_stop``)."""
    for step in app.state.on_start:
        with contextlib.suppress(OperationalError):
            step()
    yield
    for step in app.state.on_stop:
        step()


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _error(code: str, message: str, details: dict | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if code == "unauthorized" else {}
    if code in RETRY_AFTER:
        headers["Retry-After"] = RETRY_AFTER[code]
    status = STATUS.get(code, 500)
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


UPLOAD_PATHS = ("/assessments", "/screenings")  # the API's uploads


def _guard_uploads(app: FastAPI) -> None:
    """An upload to the API is refused before its body is read: without a valid token (401),
    or announcing more bytes than the limits allow (413)."""

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if request.method != "POST" or request.url.path not in UPLOAD_PATHS:
            return await call_next(request)
        try:
            await run_in_threadpool(current_user, request)
            announced_size(request, screening=request.url.path == UPLOAD_PATHS[1])
        except RegisterError as error:
            return _error(error.code, error.message, _plain(error.details))
        except OperationalError:  # a middleware's error is not the handlers': said here
            return _error("unavailable", DATABASE_AWAY)
        return await call_next(request)


FORM_ROOM = 1 << 20  # a form's own bytes, besides its files


def most_bytes(screening: bool) -> int:
    """The most bytes the body of an upload (or of a screening's files) may have, with room
    for a form's own bytes besides."""
    return desk.MAX_UPLOAD_BYTES * (50 if screening else 1) + FORM_ROOM


def _limit(most: int, said: str = "at most") -> str:
    """The limit as people are told it: the files' bytes (the form's room left unsaid), one
    figure whether the upload announced its size or not."""
    return f"{said} {most - FORM_ROOM:,} bytes"


class BodyLimit:
    """An upload sent without announcing its size (chunked) is counted as it arrives: past
    :func:`most_bytes`, it is answered 413 in the error shape, and the rest is not read (the
    service is told the client left). ``limits``: path -> screening or not."""

    def __init__(self, app, limits: dict[str, bool]) -> None:
        self.app, self.limits = app, limits

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope.get("method") != "POST" or path not in self.limits:
            return await self.app(scope, receive, send)
        most, seen, answered = most_bytes(self.limits[path]), 0, False

        async def counted() -> dict:
            nonlocal seen, answered
            message = await receive()
            seen += len(message.get("body", b"")) if message["type"] == "http.request" else 0
            if seen > most and not answered:
                answered = True
                await _too_large(send, most)
                return {"type": "http.disconnect"}
            return message

        async def unless_answered(message: dict) -> None:
            if not answered:
                await send(message)

        try:
            await self.app(scope, counted, unless_answered)
        except Exception:  # noqa: BLE001 - the app's own error after the 413 was sent
            if not answered:
                raise


async def _too_large(send, most: int) -> None:
    details = {"got": _limit(most, "more than"), "expected": _limit(most)}
    response = _error("too_large", "the upload is too large", details)
    await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


def announced_size(request: Request, screening: bool) -> None:
    """A request announcing more bytes than an upload (or a screening's files) may have is
    refused (413) before its body is read: the API's uploads and the pages'."""
    most = most_bytes(screening)
    size = request.headers.get("content-length", "")
    if size.isdigit() and int(size) > most:
        raise RegisterError(
            "too_large",
            "the upload is too large",
            got=f"{int(size):,} bytes",
            expected=_limit(most),
        )


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(RegisterError)
    async def register_error(request: Request, error: RegisterError):
        return _error(error.code, error.message, _plain(error.details))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError):
        problems = [_problem(e) for e in error.errors()]
        return _error("invalid", "the request is not as the API expects", {"problems": problems})

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        body = error_body(code, str(error.detail))
        return JSONResponse(body, status_code=error.status_code)

    @app.exception_handler(OperationalError)
    async def database_down(request: Request, error: OperationalError):
        return _error("unavailable", DATABASE_AWAY)

    @app.exception_handler(DataError)
    async def unstorable(request: Request, error: DataError):  # e.g. a NUL in PostgreSQL text
        return _error("invalid", "a value the register cannot store (a control character?)")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception):
        return _error("internal", f"an unexpected error: {type(error).__name__}")


def _problem(error: dict) -> dict:
    """One problem of a request the API cannot read: where, what was expected (the message)
    and, for a value that was sent (not a missing field or a whole body), what was got."""
    problem = {"where": list(error["loc"]), "message": error["msg"]}
    value = error.get("input")
    if isinstance(value, str | int | float | bool):
        problem["got"] = value[:200] if isinstance(value, str) else value
    return problem


def _plain(details: dict) -> dict:
    return {
        k: v if isinstance(v, str | int | float | list | dict) else str(v)
        for k, v in details.items()
    }


COOKIE = "assess_session"  # the pages' sign-in (register.start_session), HttpOnly, Strict


def current_user(request: Request) -> User:
    """The user of the request's API token: ``Authorization: Bearer TOKEN``, or for a read
    (GET, HEAD) the user of the pages' sign-in cookie, so that a signed-in browser opens the
    memo and the JSON. A write through the API carries the header: the cookie-borne writes are
    the pages' forms, each with its CSRF token (:mod:`assessment.service.pages`)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    engine, user = request.app.state.engine, None
    if token:
        user = register.user_of_token(engine, token)
    elif not scheme and request.method in ("GET", "HEAD") and request.cookies.get(COOKIE):
        user = register.user_of_session(engine, request.cookies[COOKIE])
    if user is None:
        raise RegisterError(
            "unauthorized", "a valid API token is needed: Authorization: Bearer TOKEN"
        )
    return user


Signed = Annotated[User, Depends(current_user)]


def _links(found: Assessment) -> dict:
    base = f"/assessments/{found.id}"
    return {
        "self": base,
        "memo": f"{base}/memo.pdf",
        "decision": f"{base}/decision",
        "sign_off": f"{base}/sign-off",
    }


def _summary(found: Assessment) -> dict:
    return {
        "id": found.id,
        "project_id": found.project_id,
        "file_name": found.file_name,
        "recommendation": found.recommendation,
        "as_of": found.as_of.isoformat(),
        "created_by": found.created_by,
        "created_at": register.utc(found.created_at).isoformat(),
        "links": _links(found),
    }


def attachment(name: str) -> dict:
    """The headers of a download named ``name``, in any script (a project id in Chinese, with
    a quote ...): a name that is not plain ASCII goes percent-encoded (RFC 6266, 5987)."""
    quoted = quote(name, safe="")
    if quoted == name:
        return {"content-disposition": f'attachment; filename="{name}"'}
    return {"content-disposition": f"attachment; filename*=UTF-8''{quoted}"}


def _routes(app: FastAPI) -> None:
    """The API's reads (health, assessments, memo, rules); its writes: :func:`_write_routes`."""

    @app.get("/health")
    def health(request: Request) -> dict:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("select 1"))
        return {"status": "ok", "engine": __version__}

    @app.get("/assessments")
    def listed(request: Request, user: Signed, project_id: str | None = None) -> dict:
        mine = None if user.role == "reviewer" else user.name
        rows = register.assessments(
            request.app.state.engine, project_id=project_id, created_by=mine
        )
        return {"assessments": [_summary(row) for row in rows]}

    @app.get("/assessments/{assessment_id}")
    def one(request: Request, user: Signed, assessment_id: str) -> dict:
        engine = request.app.state.engine
        found = desk.assessment_for(engine, user, assessment_id)
        trail = desk.trail(engine, assessment_id)
        return {**found.result, **_summary(found), "trail": trail}

    @app.get("/assessments/{assessment_id}/memo.pdf")
    def memo(request: Request, user: Signed, assessment_id: str) -> Response:
        engine = request.app.state.engine
        found = desk.assessment_for(engine, user, assessment_id)
        has_trail = bool(register.events(engine, assessment_id))
        content = (
            desk.reprint(engine, assessment_id)
            if has_trail
            else register.blob(engine, found.memo_sha256)
        )
        return Response(
            content, media_type="application/pdf", headers=attachment(f"{found.project_id}.pdf")
        )

    @app.get("/rules")
    def rules(user: Signed) -> dict:
        from ..criteria.rules import load_rules
        from ..reports.text import records

        rule_set = load_rules()
        return {"packs": rule_set.versions(), "rules": records(rule_set.table().reset_index())}


def _write_routes(app: FastAPI) -> None:
    """The API's writes: an upload, a decision, a sign-off."""

    @app.post("/assessments", status_code=201)
    async def create(
        request: Request,
        user: Signed,
        file: Annotated[UploadFile, File()],
        as_of: Annotated[dt.date | None, Form()] = None,
        lang: Annotated[str, Form()] = "en",
    ) -> dict:
        if lang not in LANGS:
            raise RegisterError("invalid", "unknown language", expected=", ".join(LANGS), got=lang)
        content = await file.read(desk.MAX_UPLOAD_BYTES + 1)
        found = await run_in_threadpool(  # scoring never holds up the other requests
            desk.assess_upload,
            request.app.state.engine,
            content,
            file.filename or "",
            user,
            as_of or dt.date.today(),
            lang,
        )
        return {**found.result, **_summary(found)}

    @app.post("/assessments/{assessment_id}/decision", status_code=201)
    def decision(request: Request, user: Signed, assessment_id: str, body: Decision) -> dict:
        event = desk.decide(
            request.app.state.engine,
            user,
            assessment_id,
            body.action,
            outcome=body.outcome,
            reason=body.reason,
            comments=body.comments,
        )
        return _event(event)

    @app.post("/assessments/{assessment_id}/sign-off", status_code=201)
    def signed_off(request: Request, user: Signed, assessment_id: str, body: SignOff) -> dict:
        event = desk.sign_off(
            request.app.state.engine, user, assessment_id, body.comments, body.decision_id
        )
        return _event(event)


def _event(event: register.Event) -> dict:
    return {
        "id": event.id,
        "assessment_id": event.assessment_id,
        "kind": event.kind,
        "action": event.action,
        "outcome": event.outcome,
        "reason": event.reason,
        "comments": event.comments,
        "actor": event.actor,
        "created_at": register.utc(event.created_at).isoformat(),
    }
