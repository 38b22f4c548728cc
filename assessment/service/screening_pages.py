"""The screening pages: a reviewer starts a batch screening from the browser and watches its
progress (the page reloads itself while the screening runs, without script), then downloads
its outputs.

The same functions as ``POST /screenings`` and ``GET /screenings/{id}``
(:mod:`assessment.service.screenings`): the pages add no screening logic.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile as StarletteUpload

from ..reports.pdf.style import LANGS
from . import page_views, register, screenings
from .app import STATUS
from .pages import Poster, Reader, Text, as_of_date, form_page, language, redirect, render, words
from .register import RegisterError

REFRESH_SECONDS = 2  # how often the page of a running screening reloads itself
FORM = "screening_form.html"


def add_routes(app: FastAPI) -> None:
    @app.get("/web/screenings", include_in_schema=False)
    def screening_form(request: Request, user: Reader) -> Response:
        return form_page(request, user, FORM, most=screenings.MAX_FILES)

    @app.post("/web/screenings", include_in_schema=False)
    async def start(request: Request, user: Poster, as_of: Text = "", lang: Text = "") -> Response:
        form, date = {"as_of": as_of, "lang": lang}, as_of_date(as_of)
        if date is None:
            refused = {"message": words(language(request))["upload"]["bad_date"]}
            return form_page(request, user, FORM, refused, form, 422, most=screenings.MAX_FILES)
        sent = (await request.form()).getlist("files")  # no file chosen: one without a name
        chosen = [f for f in sent if isinstance(f, StarletteUpload) and f.filename]
        lang = lang if lang in LANGS else language(request)
        try:
            works = request.app.state.screenings
            found = await screenings.start_screening(works, user, chosen, date, lang)
        except RegisterError as error:
            shown, status = page_views.shown_error(error), STATUS.get(error.code, 500)
            return form_page(request, user, FORM, shown, form, status, most=screenings.MAX_FILES)
        return redirect(f"/web/screenings/{found['id']}")

    @app.get("/web/screenings/{screening_id}", include_in_schema=False)
    def progress(request: Request, user: Reader, screening_id: str) -> Response:
        found = screenings.described_for(request.app.state.engine, user, screening_id)
        outputs = {name: link for name, link in found["links"].items() if name != "self"}
        refresh = REFRESH_SECONDS if found["status"] in register.ACTIVE else 0
        message = page_views.say(found["message"], language(request))  # why it failed
        return render(
            request,
            "screening.html",
            user=user,
            screening=found,
            outputs=outputs,
            refresh=refresh,
            message=message,
        )
