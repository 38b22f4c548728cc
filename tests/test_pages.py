"""The pages for people (issue 18): sign in and out, the cookie, the CSRF defence, the upload,
the decision page, deciding and signing off, the register, errors in words; in English and
Chinese, on SQLite and on the PostgreSQL server of the test machines (a missing server fails
these tests, it does not skip them). The browser itself: tests/test_browser.py."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser

import pytest
import yaml
from helpers import AS_OF, ROOT
from markupsafe import escape

from assessment.service import pages, register
from assessment.service.app import COOKIE, create_app

testclient = pytest.importorskip("fastapi.testclient", reason="httpx comes with the test extras")

WORKBOOK = ROOT / "sample_projects" / "10_horinger_green_credit_ai.xlsx"  # approve w/ conditions
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WORDS = {
    lang: yaml.safe_load((ROOT / f"templates/web/{lang}.yaml").read_text()) for lang in ("en", "zh")
}


@pytest.fixture(scope="module")
def app(engine):
    found = create_app(engine)
    yield found
    found.state.screenings.stop(
        wait_seconds=60
    )  # before the register goes: no screening left to run on it


@pytest.fixture(scope="module")
def users(engine) -> dict:
    return {
        name: register.add_user(engine, name, role)
        for name, role in (("alice", "officer"), ("carol", "officer"), ("bob", "reviewer"))
    }


def browser(app, user: register.NewUser | None = None, lang: str = "en"):
    """A client with a cookie jar of its own, signed in through the sign-in form."""
    client = testclient.TestClient(app, follow_redirects=False)
    assert client.get(f"/web/language/{lang}").status_code == 303  # the language switch
    if user is not None:
        signed = client.post("/web/sign-in", data={"token": user.token, "next": "/web/register"})
        assert signed.status_code == 303, signed.text
    return client


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', html)[1]


@pytest.fixture(scope="module")
def alice(app, users):
    return browser(app, users["alice"])


@pytest.fixture(scope="module")
def uploaded(alice) -> str:
    """Alice's upload through the form: the id of its assessment."""
    form = alice.get("/web/upload")
    response = alice.post(
        "/web/upload",
        data={"csrf": csrf_of(form.text), "as_of": str(AS_OF), "lang": "en"},
        files={"file": (WORKBOOK.name, WORKBOOK.read_bytes())},
    )
    assert response.status_code == 303, response.text
    found = re.fullmatch(
        r"/web/assessments/([0-9a-f]{32})\?saved=upload", response.headers["location"]
    )
    assert found, response.headers["location"]
    return found[1]


@pytest.fixture(scope="module")
def carols(engine, uploaded, users) -> str:
    """An assessment of carol's: alice's stored again under carol's name (no second scoring)."""
    return _copy_of(engine, uploaded, "carol.xlsx", "carol")


def _copy_of(engine, assessment_id: str, file_name: str, user: str) -> str:
    first = register.assessment(engine, assessment_id)
    facts = {
        key: getattr(first, key)
        for key in ("project_id", "record", "result", "rule_versions", "model_sha256")
        + ("engine_version", "as_of", "lang", "recommendation")
    }
    content, memo = (register.blob(engine, key) for key in (first.file_sha256, first.memo_sha256))
    row = register.record_assessment(
        engine, content, memo, file_name=file_name, created_by=user, **facts
    )
    return row.id


def test_sign_in_sets_an_http_only_strict_cookie_and_sign_out_clears_it(app, users):
    client = browser(app)
    page = client.get("/web/sign-in")
    assert page.status_code == 200 and 'type="password"' in page.text
    signed = client.post("/web/sign-in", data={"token": users["bob"].token, "next": "/web/upload"})
    assert signed.status_code == 303 and signed.headers["location"] == "/web/upload"
    cookie, session = signed.headers["set-cookie"], client.cookies[COOKIE]
    assert users["bob"].token not in cookie and len(session) >= 40  # a session's own token
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert f"Max-Age={register.SESSION_HOURS * 3600}" in cookie
    home = client.get("/web/register")
    assert home.status_code == 200 and "Signed in as bob (reviewer)" in home.text
    out = client.post("/web/sign-out", data={"csrf": csrf_of(home.text)})
    assert out.status_code == 303 and out.headers["location"] == "/web/sign-in"
    assert COOKIE not in client.cookies
    again = client.get("/web/register")
    assert again.status_code == 303 and again.headers["location"].startswith("/web/sign-in?next=")
    client.cookies.set(COOKIE, session)  # the ended session's cookie, kept by someone
    assert client.get("/web/register").status_code == 303
    assert client.get("/assessments").status_code == 401


def test_a_sign_in_ends_when_it_expires_or_its_users_token_changes(app, engine, users):
    bob = register.user_of_token(engine, users["bob"].token)
    expired = register.start_session(engine, bob, hours=-1)
    assert register.user_of_session(engine, expired) is None
    carol = register.add_user(engine, "carol-pages", "reviewer")
    client = browser(app, carol)
    assert client.get("/web/register").status_code == 200
    assert client.get("/assessments").status_code == 200  # a read, with the cookie alone
    register.new_token(engine, "carol-pages", revoke=True)
    assert client.get("/web/register").status_code == 303
    assert client.get("/assessments").status_code == 401


def test_a_wrong_token_is_said_on_the_sign_in_page(app, users):
    client = browser(app, lang="zh")
    response = client.post("/web/sign-in", data={"token": "not-a-token"})
    assert response.status_code == 401
    assert WORDS["zh"]["sign_in"]["wrong"] in response.text and COOKIE not in client.cookies


@pytest.mark.parametrize("path", ["/web/register", "/web/upload", "/web/assessments/abc"])
def test_a_page_without_sign_in_leads_to_the_sign_in_page(app, path):
    response = browser(app).get(path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/web/sign-in?next={path}"


def test_sign_in_returns_only_to_a_page_of_this_site(app, users):
    client = browser(app)
    for next_ in ("https://evil.example/", "//evil.example/web", "/assessments"):
        response = client.post("/web/sign-in", data={"token": users["bob"].token, "next": next_})
        assert response.headers["location"] == "/web/register"
    chosen = client.get("/web/language/zh", params={"next": "https://evil.example/"})
    assert chosen.headers["location"] == "/web/register"
    assert client.cookies[pages.LANG_COOKIE] == "zh"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_page_renders_in_its_language(app, users, uploaded, lang):
    client = browser(app, users["alice"], lang)
    said = WORDS[lang]
    for path, heading in (
        ("/web/register", said["register"]["title"]),
        ("/web/upload", said["upload"]["title"]),
        (f"/web/assessments/{uploaded}", said["decide"]["title"]),
    ):
        response = client.get(path)
        assert response.status_code == 200, response.text
        assert f'<html lang="{said["html_lang"]}">' in response.text
        assert heading in response.text and said["nav"]["sign_out"] in response.text
        assert "'self'" in response.headers["content-security-policy"]
        assert "<script" not in response.text
    if lang == "zh":  # no English page word is left
        for english in ("Sign out", "Register", "Decision trail", "Programme verdicts", "FAIL"):
            assert english not in client.get(f"/web/assessments/{uploaded}").text


def test_the_decision_page_shows_what_the_assessment_found(engine, alice, uploaded):
    page = alice.get(f"/web/assessments/{uploaded}?saved=upload").text
    result = register.assessment(engine, uploaded).result
    report = yaml.safe_load((ROOT / "templates/report/en.yaml").read_text())
    assert WORDS["en"]["decision"]["saved_upload"] in page
    assert report["recommendations"]["approve_with_conditions"] in page
    assert result["decision"]["decision_reason"] in page
    for name in report["programmes"].values():
        assert f'<th scope="row">{name}</th>' in page
    for condition in result["decision"]["conditions"]:
        assert condition["remedy"] in page
    applying = [r for r in result["rules"] if r["verdict"] != "not_applicable"]
    criteria = page.split('class="grid criteria"')[1].split("</table>")[0]
    assert criteria.count("<tr>") == len(applying) + 1  # and the header row
    assert f"{result['decision']['data_quality']['score']}/100" in page
    assert f'href="/assessments/{uploaded}/memo.pdf"' in page
    assert f'href="/assessments/{uploaded}"' in page
    assert WORDS["en"]["decision"]["trail_none"] in page


def test_the_cookie_reads_the_memo_and_json_but_never_writes_through_the_api(alice, uploaded):
    memo = alice.get(f"/assessments/{uploaded}/memo.pdf")
    assert memo.status_code == 200 and memo.content.startswith(b"%PDF")
    assert alice.get(f"/assessments/{uploaded}").json()["id"] == uploaded
    decided = alice.post(f"/assessments/{uploaded}/decision", json={"action": "accept"})
    assert decided.status_code == 401 and decided.json()["error"]["code"] == "unauthorized"


def test_a_form_without_its_csrf_token_or_from_another_site_is_refused(engine, alice, uploaded):
    path = f"/web/assessments/{uploaded}/decision"
    token = csrf_of(alice.get(f"/web/assessments/{uploaded}").text)
    for data, headers in (
        ({"action": "accept"}, {}),
        ({"action": "accept", "csrf": "0" * 64}, {}),
        ({"action": "accept", "csrf": token}, {"origin": "https://evil.example"}),
    ):
        refused = alice.post(path, data=data, headers=headers)
        assert refused.status_code == 403
        assert WORDS["en"]["error"]["forbidden"] in refused.text and "Traceback" not in refused.text
    assert register.events(engine, uploaded) == []
    assert alice.post("/web/sign-out", data={}).status_code == 403


def test_an_override_without_a_reason_says_so_and_keeps_the_form(engine, alice, uploaded):
    page = alice.get(f"/web/assessments/{uploaded}").text
    response = alice.post(
        f"/web/assessments/{uploaded}/decision",
        data={"csrf": csrf_of(page), "action": "override", "outcome": "refer", "reason": " "},
    )
    assert response.status_code == 422
    assert "a decision to override needs a reason" in response.text
    assert 'value="override" checked' in response.text
    assert '<option value="refer" selected>' in response.text
    assert register.events(engine, uploaded) == []


def test_an_officer_cannot_open_a_colleagues_assessment(app, users, alice, carols):
    page = alice.get(f"/web/assessments/{carols}")
    assert page.status_code == 404 and "no assessment has this id" in page.text
    assert carols not in alice.get("/web/register").text
    token = csrf_of(alice.get("/web/register").text)
    posted = alice.post(
        f"/web/assessments/{carols}/decision", data={"csrf": token, "action": "accept"}
    )
    assert posted.status_code == 404
    carol = browser(app, users["carol"])
    assert carol.get(f"/web/assessments/{carols}").status_code == 200


def test_override_then_a_second_user_signs_off(app, engine, users, alice, uploaded):
    path = f"/web/assessments/{uploaded}"
    made = alice.post(
        f"{path}/decision",
        data={
            "csrf": csrf_of(alice.get(path).text),
            "action": "override",
            "outcome": "refer",
            "reason": "site visit needed before the offer",
        },
    )
    assert made.status_code == 303 and made.headers["location"] == f"{path}?saved=decision"
    shown = alice.get(made.headers["location"]).text
    assert "site visit needed before the offer" in shown
    assert WORDS["en"]["decision"]["saved_decision"] in shown
    own = alice.post(f"{path}/sign-off", data={"csrf": csrf_of(shown)})
    assert own.status_code == 403 and "only a reviewer signs off" in own.text
    bob = browser(app, users["bob"])
    page = bob.get(path).text
    assert WORDS["en"]["sign_off"]["submit"] in page and WORDS["en"]["decide"]["submit"] not in page
    done = bob.post(f"{path}/sign-off", data={"csrf": csrf_of(page), "comments": "agreed"})
    assert done.status_code == 303
    after = bob.get(done.headers["location"]).text
    assert "Decided: REFER; signed off by bob." in after and "agreed" in after
    assert [(e.kind, e.actor) for e in register.events(engine, uploaded)] == [
        ("decision", "alice"),
        ("sign_off", "bob"),
    ]


def test_the_register_searches_and_filters(app, engine, users, uploaded, carols):
    """On its own rows (the other tests of a parallel run may add theirs): carol's awaits a
    decision, a copy of alice's is decided and signed off here."""
    signed = _copy_of(engine, uploaded, "signed.xlsx", "alice")
    register.add_event(engine, signed, kind="decision", action="accept", outcome="x", actor="alice")
    register.add_event(engine, signed, kind="sign_off", action="", outcome="x", actor="bob")
    bob = browser(app, users["bob"])

    def listed(**asked) -> set[str]:
        page = bob.get("/web/register", params=asked).text
        return set(re.findall(r'href="/web/assessments/([0-9a-f]{32})"', page))

    assert listed() >= {uploaded, carols, signed}
    assert listed(q="dc-2025-010") >= {uploaded, carols, signed}
    assert listed(q="carol.xlsx") == {carols}
    assert listed(q="nothing-like-it") == set()
    assert listed(officer="carol") == {carols}
    assert listed(recommendation="approve_with_conditions") >= {uploaded, carols, signed}
    assert listed(recommendation="decline") == set()
    assert signed in listed(stage="signed_off") and carols not in listed(stage="signed_off")
    assert carols in listed(stage="awaiting_decision")
    assert signed not in listed(stage="awaiting_decision")
    assert WORDS["en"]["register"]["none"] in bob.get("/web/register", params={"q": "zz"}).text


@pytest.mark.parametrize(
    ("name", "content", "status", "message"),
    [
        ("notes.txt", b"hello", 415, "the upload is not an application workbook or list"),
        ("broken.xlsx", b"PK\x03\x04 not a zip", 422, ""),
        ("two.csv", b"project_id,pue\nA,1.3\nB,1.4\n", 422, "one application without input"),
    ],
)
def test_a_bad_upload_is_said_on_the_upload_page(alice, name, content, status, message):
    form = alice.get("/web/upload").text
    response = alice.post(
        "/web/upload",
        data={"csrf": csrf_of(form), "as_of": "2025-06-30"},
        files={"file": (name, content)},
    )
    assert response.status_code == status
    assert WORDS["en"]["error"]["title"] in response.text and message in response.text
    assert 'value="2025-06-30"' in response.text and "Traceback" not in response.text


def test_an_upload_form_without_a_file_or_with_a_bad_date_says_so(alice):
    token = csrf_of(alice.get("/web/upload").text)
    no_file = alice.post("/web/upload", data={"csrf": token}, files={"file": ("", b"")})
    assert no_file.status_code == 422 and WORDS["en"]["upload"]["no_file"] in no_file.text
    files = {"file": (WORKBOOK.name, b"x")}
    bad_date = alice.post("/web/upload", data={"csrf": token, "as_of": "30/06/2025"}, files=files)
    assert bad_date.status_code == 422
    assert escape(WORDS["en"]["upload"]["bad_date"]) in bad_date.text


def test_errors_of_pages_are_pages_and_the_apis_stay_json(app, alice):
    page = alice.get("/web/no-such-page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert WORDS["en"]["error"]["not_found"] in page.text
    api = alice.get("/no-such-path")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    css = alice.get("/web/static/site.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert alice.get("/web/static/app.py").status_code == 404


def test_a_database_that_is_down_is_said_on_the_page(tmp_path):
    started = register.open_register(f"sqlite:///{tmp_path / 'register.sqlite'}")
    app = create_app(started)
    down = register.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    app.state.engine = down  # the database goes away after the service started
    client = testclient.TestClient(app, follow_redirects=False)
    client.cookies.set(COOKIE, "some-token")
    response = client.get("/web/register")
    down.dispose()
    started.dispose()
    assert response.status_code == 503
    assert escape(WORDS["en"]["error"]["unavailable"]) in response.text


class _Controls(HTMLParser):
    """The form controls of a page and the ids its labels name."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict] = []
        self.labelled: set[str] = set()

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "label":
            self.labelled.add(found.get("for", ""))
        elif tag in ("input", "select", "textarea") and found.get("type") != "hidden":
            self.controls.append(found)


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_every_form_control_has_a_label(app, users, uploaded, who):
    client, seen = browser(app, users[who]), 0
    for path in ("/web/sign-in", "/web/register", "/web/upload", f"/web/assessments/{uploaded}"):
        parser = _Controls()
        parser.feed(client.get(path).text)
        unlabelled = [c for c in parser.controls if c.get("id") not in parser.labelled]
        assert unlabelled == [], path
        seen += len(parser.controls)
    assert seen >= 7  # token, search and its filters, file, date, language ...


def test_the_page_words_have_the_same_keys_in_both_languages():
    def keys(tree: dict, prefix: str = "") -> set[str]:
        found = set()
        for key, value in tree.items():
            found |= keys(value, f"{prefix}{key}.") if isinstance(value, dict) else set()
            found.add(f"{prefix}{key}")
        return found

    english, chinese = keys(WORDS["en"]), keys(WORDS["zh"])
    assert english == chinese
    shadowed = {key for key in english if key.rsplit(".", 1)[-1] in dir(dict)}
    assert shadowed == set()  # a template's w.x.clear would be dict.clear, not the word


def test_a_reviewer_starts_a_screening_and_watches_it_to_the_end(app, users):
    bob = browser(app, users["bob"])
    form = bob.get("/web/screenings")
    assert form.status_code == 200 and 'name="files"' in form.text and "multiple" in form.text
    started = bob.post(
        "/web/screenings",
        data={"csrf": csrf_of(form.text), "as_of": str(AS_OF), "lang": "en"},
        files=[("files", (WORKBOOK.name, WORKBOOK.read_bytes()))],
    )
    assert started.status_code == 303, started.text
    path = started.headers["location"]
    assert re.fullmatch(r"/web/screenings/[0-9a-f]{32}", path)
    for _ in range(600):
        page = bob.get(path)
        if 'http-equiv="refresh"' not in page.text:  # reloads itself while it runs
            break
        assert "Running" in page.text or "Queued" in page.text
        time.sleep(0.2)
    assert "Complete" in page.text, page.text
    for name in ("screening.xlsx", "summary.pdf", "manifest.json"):
        link = re.search(rf'href="(/screenings/[0-9a-f]{{32}}/{re.escape(name)})"', page.text)[1]
        assert bob.get(link).status_code == 200  # the cookie reads the API's downloads
    assert "Projects scored" in page.text


def test_a_screening_form_is_refused_in_words(app, alice, users):
    token = csrf_of(alice.get("/web/screenings").text)
    files = [("files", (WORKBOOK.name, WORKBOOK.read_bytes()))]
    officer = alice.post("/web/screenings", data={"csrf": token}, files=files)
    assert officer.status_code == 403 and "only a reviewer or analyst screens" in officer.text
    bob = browser(app, users["bob"])
    token = csrf_of(bob.get("/web/screenings").text)
    empty = bob.post("/web/screenings", data={"csrf": token}, files=[("files", ("", b""))])
    assert empty.status_code == 422 and "a screening takes files" in empty.text
    wrong = bob.post(
        "/web/screenings", data={"csrf": token}, files=[("files", ("notes.txt", b"hello"))]
    )
    assert wrong.status_code == 415 and 'value="' in wrong.text
