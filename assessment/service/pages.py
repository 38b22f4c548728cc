"""The pages for people: sign in, upload an application, the decision page, decide and sign
off, and the register with search and filters (the screening pages:
:mod:`assessment.service.screening_pages`). Server-rendered Jinja templates
(``templates/web/``) in English and Chinese, without JavaScript; the pages' own words are
``templates/web/<lang>.yaml``, the assessment's are the memo's (``templates/report/``,
through :mod:`assessment.service.page_views`).

A shell over the desk (:mod:`assessment.service.desk`) like the API: the same functions, no
assessment logic. Signing in with one's API token starts a sign-in session of its own
(:func:`register.start_session`, ``SESSION_HOURS`` long), whose token, not the API token, is
kept in an HttpOnly, SameSite=Strict cookie; signing out ends it. Every form posted with it
carries a CSRF token made from it (:func:`csrf_token`), and a post from another origin is
refused. An error is shown on the page in words (the error shape's message),
never a traceback; a form that succeeds redirects (POST-redirect-GET).
"""

from __future__ import annotations

import datetime as dt
import hmac
from functools import cache
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.exc import DataError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from .._shared.resources import data_dir
from ..reports.pdf.style import LANGS, fill
from . import desk, page_views, register
from .app import COOKIE, STATUS, announced_size
from .register import RegisterError, User

LANG_COOKIE = "assess_lang"
HOME = "/web/register"
STATIC = {  # the files the pages load: name -> (file under templates/, media type)
    "site.css": ("web/site.css", "text/css"),
    "LiberationSans-Regular.ttf": ("fonts/LiberationSans-Regular.ttf", "font/ttf"),
    "LiberationSans-Bold.ttf": ("fonts/LiberationSans-Bold.ttf", "font/ttf"),
}
HEADERS = {  # no script, no frame, no other origin
    "content-security-policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
Text = Annotated[str, Form()]


class NotSignedIn(Exception):
    """A page asked for without a valid sign-in cookie: answered by the sign-in page."""


def add_routes(app: FastAPI) -> None:
    """The pages under ``/web`` (and ``/`` leading there), with their error pages."""
    _error_pages(app)
    _guard_uploads(app)
    _sign_in_routes(app)
    _register_routes(app)
    _decision_routes(app)
    from . import screening_pages  # the screening pages build on these

    screening_pages.add_routes(app)


# -- words, rendering, sign-in ----------------------------------------------------------------


words = desk.words  # the service's words in a language: one loader


@cache
def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(data_dir("templates") / "web"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
    )
    env.filters["fill"] = fill
    return env


def language(request: Request) -> str:
    """The language chosen (the language cookie), else the browser's first, else English."""
    chosen = request.cookies.get(LANG_COOKIE, "")
    if chosen in LANGS:
        return chosen
    return "zh" if request.headers.get("accept-language", "").startswith("zh") else "en"


def csrf_token(token: str) -> str:
    """The CSRF token of a sign-in: an HMAC of its session token, which only its browser
    holds."""
    return hmac.new(token.encode(), b"assess-pages-csrf", "sha256").hexdigest()


def signed_in(request: Request) -> User | None:
    token = request.cookies.get(COOKIE, "")
    return register.user_of_session(request.app.state.engine, token) if token else None


def render(
    request: Request, template: str, status: int = 200, user: User | None = None, **context
) -> HTMLResponse:
    """A page: ``template`` with the words of the request's language, the user and the CSRF
    token of their session."""
    lang = language(request)
    token = request.cookies.get(COOKIE, "") if user else ""
    context.setdefault("error", None)
    context.setdefault("here", _here(request))  # where the language switch comes back to
    html = (
        _templates()
        .get_template(template)
        .render(
            lang=lang,
            w=words(lang),
            user=user,
            csrf=csrf_token(token) if token else "",
            **context,
        )
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _here(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return request.url.path + query


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303, headers=HEADERS)


def _local(path: str) -> str:
    """``path`` if it is a page of this site, else the register (no open redirect)."""
    parts = urlsplit(path)
    local = not parts.scheme and not parts.netloc and path.startswith("/web")
    return path if local and "\\" not in path else HOME


def reader(request: Request) -> User:
    """The signed-in user of a page, or the sign-in page."""
    user = signed_in(request)
    if user is None:
        raise NotSignedIn
    return user


def _same_origin(request: Request) -> None:
    """A form posted from another site is refused (its Origin, when the browser sends one)."""
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.url.netloc:
        raise RegisterError("forbidden", words(language(request))["error"]["forbidden"])


def poster(request: Request, csrf: Text = "") -> User:
    """The signed-in user of a form posted from this site with their session's CSRF token."""
    _same_origin(request)
    user = reader(request)
    expected = csrf_token(request.cookies.get(COOKIE, ""))
    if not hmac.compare_digest(csrf.encode(), expected.encode()):
        raise RegisterError("forbidden", words(language(request))["error"]["forbidden"])
    return user


Reader = Annotated[User, Depends(reader)]
Poster = Annotated[User, Depends(poster)]


def _error_pages(app: FastAPI) -> None:
    """Errors of the pages as pages (the API's stay in the error shape)."""
    kinds = (RegisterError, OperationalError, DataError, RequestValidationError, HTTPException)
    for kind in (*kinds, Exception):
        _page_errors(app, kind, app.exception_handlers.get(kind))

    @app.exception_handler(NotSignedIn)
    async def sign_in_first(request: Request, error: NotSignedIn):
        return redirect(f"/web/sign-in?next={quote(_here(request))}")


UPLOADS = {"/web/upload": False, "/web/screenings": True}  # a page's upload: a screening's?


def _guard_uploads(app: FastAPI) -> None:
    """A page's upload is read only when it is signed in and announces no more bytes than the
    limits allow: the sign-in page, or a 413 page, before its body is read (as the API's)."""

    @app.middleware("http")
    async def guard(request: Request, call_next):
        path = request.url.path
        if request.method != "POST" or path not in UPLOADS:
            return await call_next(request)
        try:
            if await run_in_threadpool(signed_in, request) is None:
                return redirect(f"/web/sign-in?next={quote(path)}")
            announced_size(request, screening=UPLOADS[path])
        except (RegisterError, OperationalError) as error:
            return error_page(request, error)
        return await call_next(request)


def _page_errors(app: FastAPI, kind: type[Exception], api_handler) -> None:
    async def handler(request: Request, error: Exception):
        if request.url.path.startswith("/web"):
            return error_page(request, error)
        if api_handler is None:
            raise error
        return await api_handler(request, error)

    app.add_exception_handler(kind, handler)


def error_page(request: Request, error: Exception) -> HTMLResponse:
    """An error in words: the error shape's message, with what was expected and got."""
    found, status = page_views.error_words(error, words(language(request))["error"])
    user = signed_in(request) if status != 503 else None  # no second try of a database down
    return render(request, "error.html", status, user, error=found)


def _sign_in_routes(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    @app.get("/web", include_in_schema=False)
    def home() -> Response:
        return redirect(HOME)

    @app.get("/web/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in STATIC:
            raise RegisterError("not_found", "no such file", got=name)
        path, media = STATIC[name]
        content = (data_dir("templates") / path).read_bytes()
        return Response(content, media_type=media, headers={"cache-control": "max-age=3600"})

    @app.get("/web/language/{lang}", include_in_schema=False)
    def choose_language(lang: str, next: str = HOME) -> Response:
        response = redirect(_local(next))
        if lang in LANGS:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
        return response

    @app.get("/web/sign-in", include_in_schema=False)
    def sign_in_page(request: Request, next: str = HOME) -> Response:
        return render(request, "sign_in.html", next=_local(next), hours=register.SESSION_HOURS)

    @app.post("/web/sign-in", include_in_schema=False)
    def sign_in(request: Request, token: Text = "", next: Text = HOME) -> Response:
        _same_origin(request)
        token = token.strip()
        user = register.user_of_token(request.app.state.engine, token) if token else None
        if user is None:
            wrong = {"message": words(language(request))["sign_in"]["wrong"]}
            hours, back = register.SESSION_HOURS, _local(next)
            return render(request, "sign_in.html", 401, error=wrong, next=back, hours=hours)
        session = register.start_session(request.app.state.engine, user)
        response = redirect(_local(next))
        secure = request.url.scheme == "https"
        most = int(register.SESSION_HOURS * 3600)
        response.set_cookie(
            COOKIE, session, max_age=most, httponly=True, samesite="strict", secure=secure
        )
        return response

    @app.post("/web/sign-out", include_in_schema=False)
    def sign_out(request: Request, user: Poster) -> Response:
        register.end_session(request.app.state.engine, request.cookies.get(COOKIE, ""))
        response = redirect("/web/sign-in")
        response.delete_cookie(COOKIE, httponly=True, samesite="strict")
        return response


# -- the register and the upload ----------------------------------------------------------------


def _register_routes(app: FastAPI) -> None:
    @app.get("/web/register", include_in_schema=False)
    def register_page(
        request: Request,
        user: Reader,
        q: str = "",
        recommendation: str = "",
        stage: str = "",
        officer: str = "",
    ) -> Response:
        asked = {"q": q, "recommendation": recommendation, "stage": stage, "officer": officer}
        listed = page_views.register_rows(request.app.state.engine, user, asked, language(request))
        return render(request, "register.html", user=user, asked=asked, **listed)

    @app.get("/web/upload", include_in_schema=False)
    def upload_page(request: Request, user: Reader) -> Response:
        return form_page(request, user, "upload.html")

    @app.post("/web/upload", include_in_schema=False)
    async def upload(
        request: Request,
        user: Poster,
        file: Annotated[UploadFile | None, File()] = None,
        as_of: Text = "",
        lang: Text = "",
    ) -> Response:
        said, form = words(language(request))["upload"], {"as_of": as_of, "lang": lang}
        date = as_of_date(as_of)
        if file is None or not file.filename or date is None:
            refused = {"message": said["bad_date" if file and file.filename else "no_file"]}
            return form_page(request, user, "upload.html", refused, form, 422)
        content = await file.read(desk.MAX_UPLOAD_BYTES + 1)
        memo_lang = lang if lang in LANGS else language(request)
        engine = request.app.state.engine
        try:
            found = await run_in_threadpool(
                desk.assess_upload, engine, content, file.filename, user, date, memo_lang
            )
        except RegisterError as error:
            status = STATUS.get(error.code, 500)
            return form_page(
                request, user, "upload.html", page_views.shown_error(error), form, status
            )
        return redirect(f"/web/assessments/{found.id}?saved=upload")


def form_page(
    request: Request,
    user: User,
    template: str,
    error: dict | None = None,
    form: dict | None = None,
    status: int = 200,
    **more,
) -> Response:
    """A page of an upload form (``upload.html``, ``screening_form.html``): the fields as sent
    (else today and the page's language) and why the form was refused, if it was."""
    form = {"as_of": dt.date.today().isoformat(), "lang": language(request)} | {
        k: v for k, v in (form or {}).items() if v
    }
    megabytes, suffixes = desk.MAX_UPLOAD_BYTES >> 20, ",".join(desk.UPLOAD_SUFFIXES)
    return render(
        request,
        template,
        status,
        user,
        error=error,
        form=form,
        megabytes=megabytes,
        suffixes=suffixes,
        **more,
    )


def as_of_date(text: str) -> dt.date | None:
    """The assessment date of a form (today when blank), or None when it is not a date."""
    try:
        return dt.date.fromisoformat(text) if text.strip() else dt.date.today()
    except ValueError:
        return None


# -- the decision page, deciding and signing off -------------------------------------------------


def _decision_routes(app: FastAPI) -> None:
    @app.get("/web/assessments/{assessment_id}", include_in_schema=False)
    def decision_page(
        request: Request, user: Reader, assessment_id: str, saved: str = ""
    ) -> Response:
        return _decision(request, user, assessment_id, saved=saved)

    @app.post("/web/assessments/{assessment_id}/decision", include_in_schema=False)
    def decide(
        request: Request,
        user: Poster,
        assessment_id: str,
        action: Text = "",
        outcome: Text = "",
        reason: Text = "",
        comments: Text = "",
    ) -> Response:
        form = {"action": action, "outcome": outcome, "reason": reason, "comments": comments}
        engine = request.app.state.engine
        try:
            desk.decide(
                engine,
                user,
                assessment_id,
                action,
                outcome=outcome,
                reason=reason,
                comments=comments,
            )
        except RegisterError as error:
            return _refused(request, user, assessment_id, error, form)
        return redirect(f"/web/assessments/{assessment_id}?saved=decision")

    @app.post("/web/assessments/{assessment_id}/sign-off", include_in_schema=False)
    def sign_off(
        request: Request, user: Poster, assessment_id: str, comments: Text = "", decision: Text = ""
    ) -> Response:
        shown = int(decision) if decision.isdigit() else None  # the decision the page showed
        try:
            desk.sign_off(request.app.state.engine, user, assessment_id, comments, shown)
        except RegisterError as error:
            return _refused(request, user, assessment_id, error, {"sign_off_comments": comments})
        return redirect(f"/web/assessments/{assessment_id}?saved=sign_off")


def _refused(request: Request, user: User, assessment_id: str, error: RegisterError, form: dict):
    """The decision page again, with the form as it was sent and why it was refused."""
    if error.code == "not_found":
        raise error
    shown = page_views.shown_error(error)
    return _decision(request, user, assessment_id, form, shown, STATUS.get(error.code, 500))


def _decision(
    request: Request,
    user: User,
    assessment_id: str,
    form: dict | None = None,
    error: dict | None = None,
    status: int = 200,
    saved: str = "",
) -> Response:
    engine = request.app.state.engine
    found = desk.assessment_for(engine, user, assessment_id)
    view = page_views.decision_view(found, register.events(engine, found.id), language(request))
    return render(
        request,
        "decision.html",
        status,
        user,
        found=found,
        view=view,
        form=form or {},
        error=error,
        saved=saved if saved in ("upload", "decision", "sign_off") else "",
        here=f"/web/assessments/{assessment_id}",  # also after a refused form (a POST)
    )
