"""The web service tried as a newcomer at a bank would try it (issue 18): a reviewer signs off
only the decision they were shown; a reason cannot read otherwise than it was written; a memo
downloads whatever its project id; a database away is a 503 (or a page in words), and a moment
away does not fail a screening; an upload is refused before it is read (no sign-in, too large)
and a list sent as one application before it is scored; a list of assessments reads no result;
a register URL that cannot be used is an error, not a bug; the pages fit a narrow window and
long words, say their times' zone and how long a sign-in lasts, and speak Chinese throughout."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from helpers import AS_OF, ROOT

from assessment.service import desk, register
from assessment.service.app import create_app

testclient = pytest.importorskip("fastapi.testclient", reason="httpx comes with the test extras")

WORKBOOK = ROOT / "sample_projects" / "10_horinger_green_credit_ai.xlsx"
CHROMIUM = "/usr/bin/chromium"  # Debian's package, as tests/test_browser.py drives it


@pytest.fixture(scope="module")
def users(engine) -> dict:
    return {
        name: register.add_user(engine, name, role)
        for name, role in (("nina", "officer"), ("vera", "reviewer"))
    }


@pytest.fixture(scope="module")
def app(engine):
    return create_app(engine)


@pytest.fixture(scope="module")
def api(app):
    return testclient.TestClient(app)


@pytest.fixture(scope="module")
def first(engine, users) -> register.Assessment:
    """Nina's assessment of the sample workbook (scored once; the others are its copies)."""
    nina = register.user_of_token(engine, users["nina"].token)
    return desk.assess_upload(engine, WORKBOOK.read_bytes(), WORKBOOK.name, nina, AS_OF)


def copy_of(engine, found: register.Assessment, **changed) -> str:
    """``found`` stored again (with ``changed`` facts), without scoring."""
    keys = ("project_id", "file_name", "record", "result", "rule_versions", "model_sha256")
    keys += ("engine_version", "as_of", "lang", "recommendation", "created_by")
    facts = {key: getattr(found, key) for key in keys} | changed
    content, memo = (register.blob(engine, key) for key in (found.file_sha256, found.memo_sha256))
    return register.record_assessment(engine, content, memo, **facts).id


def bearer(user: register.NewUser) -> dict:
    return {"Authorization": f"Bearer {user.token}"}


def browser(app, user: register.NewUser, lang: str = "en"):
    client = testclient.TestClient(app, follow_redirects=False)
    client.get(f"/web/language/{lang}")
    signed = client.post("/web/sign-in", data={"token": user.token, "next": "/web/register"})
    assert signed.status_code == 303, signed.text
    return client


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', html)[1]


# -- a sign-off signs the decision the reviewer was shown ----------------------------------------


def test_a_reviewer_does_not_sign_off_a_decision_taken_after_the_page_was_shown(
    app, engine, users, first
):
    """The reviewer opens the page (the officer accepted); the officer then overrides; the
    reviewer's sign-off from that page is refused and the page shows the new decision."""
    found = copy_of(engine, first)
    nina = register.user_of_token(engine, users["nina"].token)
    desk.decide(engine, nina, found, "accept")
    vera, path = browser(app, users["vera"]), f"/web/assessments/{found}"
    shown = vera.get(path).text
    decision = re.search(r'name="decision" value="(\d+)"', shown)[1]
    desk.decide(engine, nina, found, "override", outcome="decline", reason="site visit")
    sent = {"csrf": csrf_of(shown), "decision": decision, "comments": "fine"}
    page = vera.post(f"{path}/sign-off", data=sent)
    assert page.status_code == 409
    assert "the decision changed since it was shown" in page.text
    assert "DECLINE" in page.text  # the decision now to read
    assert [e.kind for e in register.events(engine, found)] == ["decision", "decision"]
    latest = re.search(r'name="decision" value="(\d+)"', page.text)[1]
    again = vera.post(f"{path}/sign-off", data={**sent, "decision": latest})
    assert again.status_code == 303
    assert desk.latest_sign_off(register.events(engine, found)) == "vera"


def test_the_api_signs_off_the_decision_it_names_and_the_trail_gives_the_ids(
    api, engine, users, first
):
    found = copy_of(engine, first)
    path, nina, vera = f"/assessments/{found}", bearer(users["nina"]), bearer(users["vera"])
    accepted = api.post(f"{path}/decision", json={"action": "accept"}, headers=nina).json()
    override = {"action": "override", "outcome": "decline", "reason": "site visit"}
    overridden = api.post(f"{path}/decision", json=override, headers=nina).json()
    trail = api.get(path, headers=vera).json()["trail"]
    assert [step["id"] for step in trail] == [accepted["id"], overridden["id"]]
    stale = api.post(f"{path}/sign-off", json={"decision_id": accepted["id"]}, headers=vera)
    assert stale.status_code == 409
    error = stale.json()["error"]
    assert error["code"] == "conflict" and "changed since it was shown" in error["message"]
    assert error["details"]["got"] == f"decision {overridden['id']}"
    assert error["details"]["decided_by"] == "nina"
    signed = api.post(f"{path}/sign-off", json={"decision_id": overridden["id"]}, headers=vera)
    assert signed.status_code == 201 and signed.json()["outcome"] == "decline"


# -- a memo downloads whatever its project id ----------------------------------------------------


@pytest.mark.parametrize("project_id", ["数据中心-001", 'DC"x;y', "DC-2025-010"])
def test_a_memo_downloads_under_its_project_id_in_any_script(api, engine, users, first, project_id):
    found = copy_of(engine, first, project_id=project_id)
    memo = api.get(f"/assessments/{found}/memo.pdf", headers=bearer(users["nina"]))
    assert memo.status_code == 200 and memo.content.startswith(b"%PDF")
    disposition = memo.headers["content-disposition"]
    named = re.fullmatch(r"""attachment; filename(?:="([^"]*)"|\*=UTF-8''(\S+))""", disposition)
    assert named, disposition
    assert (named[1] or unquote(named[2])) == f"{project_id}.pdf"


@pytest.mark.slow  # a screening, and a retry a second later
def test_a_screening_outlives_a_database_locked_while_it_runs(tmp_path):
    """The register is locked by another writer while a screening runs (its progress cannot be
    recorded, its first try to complete fails): the screening completes once the lock goes,
    rather than failing as an internal error."""
    import sqlite3
    import threading
    import time

    from assessment.service import screenings

    path = tmp_path / "register.sqlite"
    register.open_register(f"sqlite:///{path}").dispose()  # migrated, in write-ahead-log mode
    impatient = register.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.1})
    register.add_user(impatient, "rosa", "reviewer")
    facts = {"files": 1, "as_of": AS_OF, "lang": "en", "created_by": "rosa"}
    row = register.start_screening(impatient, "here/1/x", **facts)
    assert register.screening_running(impatient, row.id)
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / WORKBOOK.name).write_bytes(WORKBOOK.read_bytes())
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process's write, held
    args = (impatient, row.id, folder, AS_OF, "en")
    thread = threading.Thread(target=screenings.run_screening, args=args)
    thread.start()
    for _ in range(600):  # the outputs are written: the progress steps were tried meanwhile
        if (folder / "out" / "manifest.json").exists():
            break
        time.sleep(0.1)
    time.sleep(0.3)
    writer.execute("ROLLBACK")
    thread.join(60)
    writer.close()
    found = register.screening(impatient, row.id)
    impatient.dispose()
    assert found.status == "complete", found.message
    assert set(found.outputs) == set(screenings.OUTPUTS)


def test_a_nul_in_a_reason_is_refused_on_the_page_in_its_language(app, engine, users, first):
    """A NUL in a reason: PostgreSQL cannot store it (the page gave the API's JSON); it is
    refused as a control character before it reaches the database, on both."""
    found = copy_of(engine, first)
    nina, path = browser(app, users["nina"], "zh"), f"/web/assessments/{found}"
    sent = {"action": "override", "outcome": "decline", "reason": "a\x00b"}
    page = nina.post(f"{path}/decision", data={"csrf": csrf_of(nina.get(path).text), **sent})
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    assert "理由含有控制字符" in page.text and "实为：U+0000" in page.text
    assert register.events(engine, found) == []


def test_a_value_the_database_cannot_store_is_said_in_the_words_of_the_page():
    from sqlalchemy.exc import DataError

    from assessment.service import page_views

    error = DataError("insert ...", {}, ValueError("NUL"))
    said, status = page_views.error_words(error, desk.words("zh")["error"])
    assert status == 422 and said["message"].startswith("有值无法存入登记册")


def test_a_reason_keeps_its_line_breaks_and_refuses_a_direction_override(api, engine, users, first):
    """A direction override in a reason or a comment made the trail read otherwise than it was
    written ("txet" for "text"): refused, as in a file name; line breaks are kept."""
    found = copy_of(engine, first)
    path, nina = f"/assessments/{found}", bearer(users["nina"])
    spoofed = {"action": "override", "outcome": "decline", "reason": "ok \u202egnp.exe"}
    refused = api.post(f"{path}/decision", json=spoofed, headers=nina)
    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == "the reason has control characters"
    assert refused.json()["error"]["details"]["got"] == "U+202E"
    lines = {**spoofed, "reason": "site visit\r\nsee the report\tp. 3"}
    assert api.post(f"{path}/decision", json=lines, headers=nina).status_code == 201
    assert register.events(engine, found)[-1].reason == lines["reason"]
    vera = bearer(users["vera"])
    comment = api.post(f"{path}/sign-off", json={"comments": "a\x07b"}, headers=vera)
    assert comment.status_code == 422 and comment.json()["error"]["details"]["got"] == "U+0007"


# -- a list sent as one application --------------------------------------------------------------


def test_a_list_sent_as_one_application_is_refused_before_it_is_scored(
    api, engine, users, monkeypatch
):
    """A candidate list of many rows sent to ``POST /assessments`` is refused as soon as it is
    read (it held every other upload of the process while thousands of rows were scored)."""
    scorings = []
    score_read = desk.score_read
    monkeypatch.setattr(
        desk, "score_read", lambda *a, **k: scorings.append(1) or score_read(*a, **k)
    )
    rows = "".join(f"DC-{i:04d},1.3\n" for i in range(200))
    listed = api.post(
        "/assessments",
        files={"file": ("list.csv", f"project_id,pue\n{rows}".encode())},
        data={"as_of": str(AS_OF)},
        headers=bearer(users["nina"]),
    )
    assert listed.status_code == 422
    assert listed.json()["error"]["details"]["got"].startswith("200 project(s)")
    assert scorings == []
    one = api.post(
        "/assessments",
        files={"file": (WORKBOOK.name, WORKBOOK.read_bytes())},
        data={"as_of": str(AS_OF)},
        headers=bearer(users["nina"]),
    )
    assert one.status_code == 201 and scorings == [1]


def test_an_upload_over_the_limit_is_said_to_be_more_than_it_not_the_bytes_read(app, api, users):
    """The service reads an upload only up to the limit: it says the file is more than that,
    not how much of it was read."""
    content = b"x" * (desk.MAX_UPLOAD_BYTES + 1000)
    sent = api.post(
        "/assessments", files={"file": ("big.csv", content)}, headers=bearer(users["nina"])
    )
    assert sent.status_code == 413
    assert sent.json()["error"]["details"]["got"] == "more than 20,971,520 bytes"
    nina = browser(app, users["nina"], "zh")
    token = csrf_of(nina.get("/web/upload").text)
    page = nina.post("/web/upload", data={"csrf": token}, files={"file": ("大.csv", content)})
    assert page.status_code == 413 and "实为：超过 20,971,520 字节" in page.text


def test_a_list_of_assessments_reads_no_result_nor_record(api, engine, users, first):
    """The register page, ``GET /assessments`` and ``assess history`` list assessments of about
    100 KB each (their result): a list reads only what it shows, or a register of thousands
    took seconds and gigabytes a page."""
    import sqlalchemy

    listed = register.assessments(engine, created_by="nina")
    assert listed and all(
        {"result", "record"} <= sqlalchemy.inspect(row).unloaded for row in listed
    )
    shown = api.get("/assessments", headers=bearer(users["vera"])).json()["assessments"]
    assert first.id in {row["id"] for row in shown}
    assert register.assessment(engine, first.id).result == first.result  # one, whole


@pytest.mark.parametrize("path", ["/web/upload", "/web/screenings"])
def test_a_page_upload_is_refused_before_its_body_is_read(app, users, path):
    """Without a sign-in, or announcing more than the limits, a page's upload is answered
    before its body is read: the body here is no form at all, which a read would refuse as
    such (the pages read any body, of any size, from anyone, before asking who sent it)."""
    junk = b"x" * 1000  # announced as more than a screening's 50 files may be
    big = str(desk.MAX_UPLOAD_BYTES * 50 + (2 << 20))
    headers = {"content-type": "multipart/form-data; boundary=nothing", "content-length": big}
    stranger = testclient.TestClient(app, follow_redirects=False)
    sent = stranger.post(path, content=junk, headers=headers)
    assert sent.status_code == 303 and sent.headers["location"].startswith("/web/sign-in")
    vera = browser(app, users["vera"], "zh")
    refused = vera.post(path, content=junk, headers=headers)
    assert refused.status_code == 413 and "text/html" in refused.headers["content-type"]
    assert "上传的内容过大" in refused.text and "不超过" in refused.text


# -- a database away ----------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "field"), [("/assessments", "file"), ("/screenings", "files")])
def test_an_upload_while_the_database_is_away_is_a_503_in_the_error_shape(path, field):
    down = register.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    client = testclient.TestClient(create_app(down))
    sent = client.post(
        path, files={field: (WORKBOOK.name, b"PK")}, headers={"Authorization": "Bearer x"}
    )
    down.dispose()
    assert sent.status_code == 503, sent.text
    assert sent.json() == {
        "error": {
            "code": "unavailable",
            "message": "the register's database cannot be reached",
            "details": {},
        }
    }
    assert sent.headers["retry-after"] == "30"


# -- a register URL that cannot be used --------------------------------------------------------


@pytest.mark.parametrize("database", ["not a url://x", "mysql://x@localhost/y"])
def test_a_register_url_that_cannot_be_used_is_an_error_not_a_bug(database, capsys):
    from assessment.cli import main

    for command in (["history"], ["users", "list"]):
        assert main([*command, "--database", database]) == 1
        said = capsys.readouterr().err
        assert "the register's database URL cannot be used" in said, said
        assert "postgresql://user@host" in said and "this is a bug" not in said


# -- the sign-in and the Chinese pages ---------------------------------------------------------


def test_the_sign_in_page_says_how_long_its_cookie_lasts(app, users):
    """The page said the sign-in ended when the browser closed; its cookie lasts its hours."""
    client = testclient.TestClient(app, follow_redirects=False)
    hours = register.SESSION_HOURS
    assert f"until you sign out, for {hours} hours at most" in client.get("/web/sign-in").text
    signed = client.post("/web/sign-in", data={"token": users["nina"].token})
    assert f"Max-Age={hours * 3600}" in signed.headers["set-cookie"]
    wrong = client.post("/web/sign-in", data={"token": "not a token"})
    assert wrong.status_code == 401 and f"for {hours} hours at most" in wrong.text
    client.get("/web/language/zh")
    assert f"最长 {hours} 小时" in client.get("/web/sign-in").text


def test_the_language_switch_of_a_refused_decision_leads_back_to_the_decision_page(
    app, users, first
):
    """A refused form answers its POST with the decision page; its language switch came back
    to the POST's address, which a browser then asked for as a page: 405."""
    nina, path = browser(app, users["nina"]), f"/web/assessments/{first.id}"
    sent = {"csrf": csrf_of(nina.get(path).text), "action": "override"}
    refused = nina.post(f"{path}/decision", data=sent)
    assert refused.status_code == 422
    switch = re.search(r'href="(/web/language/zh\?next=[^"]+)"', refused.text)[1]
    back = nina.get(switch.replace("&amp;", "&"))
    assert back.status_code == 303 and back.headers["location"] == path
    page = nina.get(back.headers["location"])
    assert page.status_code == 200 and "审贷工作台" in page.text


def test_why_a_screening_failed_reads_chinese_on_a_chinese_page(app, engine, users):
    import datetime as dt

    facts = {"files": 1, "as_of": AS_OF, "lang": "zh", "created_by": "vera"}
    row = register.start_screening(engine, "elsewhere/1/gone", **facts)
    assert register.fail_abandoned(engine, dt.timedelta(hours=1), lambda o: o == row.owner) >= 1
    page = browser(app, users["vera"], "zh").get(f"/web/screenings/{row.id}").text
    assert "已中断：服务在筛查完成前停止" in page and "interrupted" not in page
    english = browser(app, users["vera"], "en").get(f"/web/screenings/{row.id}").text
    assert "interrupted: the service stopped before the screening completed" in english


def test_the_times_of_the_pages_and_the_trail_say_their_zone(app, api, engine, users, first):
    """A time in the register is shown in UTC and says so: an officer in Beijing read a UTC
    time as their own (and PostgreSQL gave it in its session's zone, SQLite in UTC)."""
    found = copy_of(engine, first)
    nina = register.user_of_token(engine, users["nina"].token)
    desk.decide(engine, nina, found, "accept")
    stored = register.events(engine, found)[0].created_at
    when = register.utc(stored).strftime("%Y-%m-%d %H:%M UTC")
    trail = api.get(f"/assessments/{found}", headers=bearer(users["nina"])).json()["trail"]
    assert trail[0]["when"] == when
    page = browser(app, users["nina"]).get(f"/web/assessments/{found}").text
    assert f'<span class="when">{when}</span>' in page
    listed = browser(app, users["nina"]).get("/web/register").text
    assert re.search(r'class="nowrap when">\d{4}-\d\d-\d\d \d\d:\d\d UTC<', listed)


def test_the_chinese_decision_page_lists_in_chinese(app, engine, users, first):
    result = first.result | {
        "decision": first.result["decision"]
        | {"missing_for_decision": ["operating_cash_flow_cny", "debt_service_cny"]}
    }
    found = copy_of(engine, first, result=result)
    chinese = browser(app, users["nina"], "zh").get(f"/web/assessments/{found}").text
    assert re.search(r"经营活动现金流量净额、还本付息额", chinese)
    english = browser(app, users["nina"], "en").get(f"/web/assessments/{found}").text
    assert "Operating cash flow, Debt service" in english


# -- a narrow window ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(app):
    """The service on a free loopback port, in a thread of this process."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.mark.slow  # a browser
def test_the_decision_page_fits_a_narrow_window_and_long_words(served, engine, users, first):
    """At 400 pixels wide the page's columns stack and a wide table scrolls inside its box; a
    reason of 4,000 letters without a space wraps in the trail: the page itself never scrolls
    sideways."""
    long = copy_of(engine, first, file_name="x" * 200 + ".xlsx")
    nina = register.user_of_token(engine, users["nina"].token)
    desk.decide(engine, nina, long, "request_information", reason="W" * desk.MAX_TEXT)
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    wide = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 400, "height": 800})
        page.goto(f"{served}/web/sign-in")
        page.fill("#token", users["nina"].token)
        with page.expect_navigation():
            page.click("main button[type=submit]")
        for width in (400, 1366):
            page.set_viewport_size({"width": width, "height": 800})
            for found in (first.id, long):
                page.goto(f"{served}/web/assessments/{found}")
                wide[width, found] = page.evaluate("document.documentElement.scrollWidth")
        browser.close()
    assert wide == {(width, found): width for width, found in wide}
