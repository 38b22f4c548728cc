"""The officer's desk in both languages and with any file name (issue 18): every refusal of the
service has its Chinese, which the Chinese pages show while the API keeps its English; a file
named in any script keeps its name, a path or a hidden character in one is refused; a refused
file of a screening is named; a decision taken after a sign-off needs a reason, and the trail
(API, page, reprinted memo) says which sign-off it replaces."""

from __future__ import annotations

import ast
import io
import re

import pytest
import yaml
from helpers import AS_OF, ROOT
from markupsafe import escape

from assessment.service import desk, page_views, register
from assessment.service.app import create_app

testclient = pytest.importorskip("fastapi.testclient", reason="httpx comes with the test extras")

WORKBOOK = ROOT / "sample_projects" / "10_horinger_green_credit_ai.xlsx"  # approve w/ conditions
WORDS = {
    lang: yaml.safe_load((ROOT / f"templates/web/{lang}.yaml").read_text()) for lang in ("en", "zh")
}
CHINESE = re.compile(r"[\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


# -- every refusal has its Chinese ---------------------------------------------------------------


def _refusals() -> list[tuple[str, int, str, ast.expr]]:
    """Each message, and each ``expected`` and ``got`` written as text, of every
    ``RegisterError(...)`` in ``assessment/service/*.py``: (file, line, part, expression)."""
    found = []
    for path in sorted((ROOT / "assessment" / "service").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and _named(node.func) == "RegisterError"):
                continue
            parts = {"message": node.args[1] if len(node.args) > 1 else None}
            parts |= {
                k.arg: k.value for k in node.keywords if k.arg in ("message", "expected", "got")
            }
            found += [(path.name, node.lineno, part, value) for part, value in parts.items()]
    return found


def _named(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _sample(value: ast.expr) -> str | None:
    """The text an expression gives, each part an f-string fills in as ``7``; None when it is
    not written as text (a name, a call: data, or the page words already in their language)."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value
    if isinstance(value, ast.JoinedStr):
        return "".join(p.value if isinstance(p, ast.Constant) else "7" for p in value.values)
    return None


def _page_words(value: ast.expr) -> bool:
    """``words(lang)[...]...``: the pages' own words, in the page's language already."""
    while isinstance(value, ast.Subscript):
        value = value.value
    return isinstance(value, ast.Call) and _named(value.func) == "words"


def test_the_walk_finds_the_refusals_of_every_module():
    files = {name for name, *_ in _refusals()}
    assert {"desk.py", "register.py", "screenings.py", "app.py", "pages.py"} <= files
    assert len(_refusals()) > 40


def test_every_refusal_raised_by_the_service_has_its_chinese():
    """A message (or what it expected or got) written as text is a phrase of
    ``templates/web/en.yaml`` ``messages``, said in Chinese on a Chinese page."""
    missing = []
    for name, line, part, value in _refusals():
        text = _sample(value)
        if text is None:
            if part == "message" and not _page_words(value):
                missing.append(f"{name}:{line} the message is not text a test can read")
            continue
        chinese = page_views.say(text, "zh")
        if not text or (chinese != text and CHINESE.search(chinese)):
            continue
        if part == "message" or re.search(r"[a-z]{2}", text):
            missing.append(f"{name}:{line} {part} {text!r} has no Chinese")
    assert missing == []


def test_every_phrase_has_chinese_with_the_same_placeholders():
    english, chinese = WORDS["en"]["messages"], WORDS["zh"]["messages"]
    assert english.keys() == chinese.keys()
    for key, phrase in english.items():
        assert CHINESE.search(chinese[key]), key
        assert set(PLACEHOLDER.findall(phrase)) == set(PLACEHOLDER.findall(chinese[key])), key
    assert len(set(english.values())) == len(english)  # one key a phrase


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("a decision to override needs a reason", "作出“改为其他结果”的决定须说明理由"),
        ("no assessment has this id", "没有此编号的评估"),
        ("at most 20,971,520 bytes", "不超过 20,971,520 字节"),  # not "{size} bytes"
        ("accept, override, request_information", "接受建议、改为其他结果、要求补充信息"),
        (".xlsx, .csv", ".xlsx, .csv"),  # not phrases: as they are
        ("the upload cannot be scored: the assessment date is out of range", "评估日期超出范围"),
        ("bob", "bob"),
    ],
)
def test_a_phrase_is_said_in_chinese_with_its_parts(english, chinese):
    assert chinese in page_views.say(english, "zh")
    assert page_views.say(english, "en") == english


# -- the pages and the API ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def users(engine) -> dict:
    return {
        name: register.add_user(engine, name, role)
        for name, role in (("olga", "officer"), ("rita", "reviewer"), ("sam", "reviewer"))
    }


@pytest.fixture(scope="module")
def app(engine):
    return create_app(engine)


@pytest.fixture(scope="module")
def api(app):
    return testclient.TestClient(app)


def bearer(user: register.NewUser) -> dict:
    return {"Authorization": f"Bearer {user.token}"}


def browser(app, user: register.NewUser, lang: str):
    """A client of its own, in ``lang``, signed in through the sign-in form."""
    client = testclient.TestClient(app, follow_redirects=False)
    assert client.get(f"/web/language/{lang}").status_code == 303
    signed = client.post("/web/sign-in", data={"token": user.token, "next": "/web/register"})
    assert signed.status_code == 303, signed.text
    return client


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', html)[1]


@pytest.fixture(scope="module")
def first(engine, users) -> register.Assessment:
    """Olga's assessment of the sample workbook (scored once; the others are its copies)."""
    olga = register.user_of_token(engine, users["olga"].token)
    return desk.assess_upload(engine, WORKBOOK.read_bytes(), WORKBOOK.name, olga, AS_OF)


def copy_of(engine, found: register.Assessment, file_name: str, lang: str = "en") -> str:
    """``found`` stored again under another file name (and memo language), without scoring."""
    facts = {
        key: getattr(found, key)
        for key in ("project_id", "record", "result", "rule_versions", "model_sha256")
        + ("engine_version", "as_of", "recommendation", "created_by")
    }
    content, memo = (register.blob(engine, key) for key in (found.file_sha256, found.memo_sha256))
    row = register.record_assessment(engine, content, memo, file_name=file_name, lang=lang, **facts)
    return row.id


def test_a_refused_override_reads_chinese_on_a_chinese_page_and_english_in_the_api(
    app, api, engine, users, first
):
    path = f"/web/assessments/{first.id}"
    olga = browser(app, users["olga"], "zh")
    sent = {"action": "override", "outcome": "refer", "reason": " "}
    page = olga.post(f"{path}/decision", data={"csrf": csrf_of(olga.get(path).text), **sent})
    assert page.status_code == 422
    assert "作出“改为其他结果”的决定须说明理由" in page.text
    assert "应为：理由" in page.text and "实为：无" in page.text
    assert "needs a reason" not in page.text
    refused = api.post(
        f"/assessments/{first.id}/decision", json=sent, headers=bearer(users["olga"])
    )
    assert refused.status_code == 422
    assert refused.json() == {
        "error": {
            "code": "invalid",
            "message": "a decision to override needs a reason",
            "details": {"expected": "a reason", "got": "none"},
        }
    }
    assert register.events(engine, first.id) == []


def test_a_refused_sign_off_and_a_missing_page_read_chinese(app, users, first):
    olga = browser(app, users["olga"], "zh")
    path = f"/web/assessments/{first.id}"
    own = olga.post(f"{path}/sign-off", data={"csrf": csrf_of(olga.get(path).text)})
    assert own.status_code == 403 and "只有复核人可以签核" in own.text
    assert "应为：复核人" in own.text and "实为：信贷员" in own.text
    missing = olga.get("/web/assessments/" + "0" * 32)
    assert missing.status_code == 404 and "没有此编号的评估" in missing.text


@pytest.mark.parametrize(
    ("name", "content", "status", "chinese"),
    [
        ("笔记.txt", b"hello", 415, ["上传的文件不是申请工作簿或候选项目清单", "实为：.txt"]),
        ("空的.csv", b"", 422, ["上传的文件是空的", "应为：一份工作簿", "实为：0 字节"]),
        (
            "大.csv",
            b"x" * (desk.MAX_UPLOAD_BYTES + 1),
            413,
            ["上传的文件过大", "不超过 20,971,520 字节"],
        ),
        ("two.csv", b"project_id,pue\nA,1.3\nB,1.4\n", 422, ["只含一份申请", "2 个项目"]),
    ],
)
def test_a_refused_upload_reads_chinese_on_the_chinese_upload_page(
    app, users, name, content, status, chinese
):
    olga = browser(app, users["olga"], "zh")
    token = csrf_of(olga.get("/web/upload").text)
    page = olga.post(
        "/web/upload",
        data={"csrf": token, "as_of": str(AS_OF)},
        files={"file": (name, content)},
    )
    assert page.status_code == status
    for words in [*chinese, f"文件：{name}"]:
        assert words in page.text, words
    assert "the upload" not in page.text


# -- file names in any script ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["数据中心申请.xlsx", "Zürich DC (v2).xlsx"])
def test_a_file_name_in_any_script_is_kept(app, api, engine, users, name):
    made = api.post(
        "/assessments",
        files={"file": (name, WORKBOOK.read_bytes())},
        data={"as_of": str(AS_OF)},
        headers=bearer(users["olga"]),
    )
    assert made.status_code == 201, made.text
    found = register.assessment(engine, made.json()["id"])
    assert found.file_name == name
    olga = browser(app, users["olga"], "zh")
    assert f"文件：{escape(name)}" in olga.get(f"/web/assessments/{found.id}").text
    listed = olga.get("/web/register", params={"q": name[:4]}).text
    assert found.id in listed and str(escape(name)) in listed


def test_a_file_name_is_shown_escaped(app, engine, users, first):
    name = '<b onclick="x()">bold</b> & co.xlsx'
    found = copy_of(engine, first, name)
    page = browser(app, users["olga"], "en").get(f"/web/assessments/{found}").text
    assert (
        "<b onclick" not in page
        and "&lt;b onclick=&#34;x()&#34;&gt;bold&lt;/b&gt; &amp; co" in page
    )


def _multipart(name: bytes, content: bytes = b"x") -> tuple[bytes, dict]:
    """A multipart body with ``name`` as sent (a browser or httpx would escape some bytes)."""
    body = (
        b'--B0undary\r\nContent-Disposition: form-data; name="file"; filename="'
        + name
        + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
        + content
        + b"\r\n--B0undary--\r\n"
    )
    return body, {"content-type": "multipart/form-data; boundary=B0undary"}


@pytest.mark.parametrize(
    ("name", "message", "got"),
    [
        ("../x.xlsx", "the file name is a path, not a plain file name", "../x.xlsx"),
        ("a/b.xlsx", "the file name is a path, not a plain file name", "a/b.xlsx"),
        ("a\\b.xlsx", "the file name is a path, not a plain file name", "a\\b.xlsx"),
        ("x\x00.xlsx", "the file name has control characters", "U+0000"),
        ("x\x1by.xlsx", "the file name has control characters", "U+001B"),
        ("invoice\u202exslx.exe.xlsx", "the file name has control characters", "U+202E"),
        ("长" * 81 + ".xlsx", "the file name is too long", "248 bytes"),
    ],
)
def test_a_path_or_hidden_character_in_a_file_name_is_refused(api, users, name, message, got):
    body, headers = _multipart(name.encode(), WORKBOOK.read_bytes())
    refused = api.post("/assessments", content=body, headers=headers | bearer(users["olga"]))
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["message"], error["details"]["got"]) == ("invalid", message, got)
    assert error["details"]["file"] == name
    assert CHINESE.search(page_views.say(message, "zh"))


def test_the_longest_file_name_is_kept():
    longest = "长" * 78 + ".xlsx"  # 239 bytes
    assert desk.checked_upload(b"x", longest) == longest
    with pytest.raises(register.RegisterError, match="too long"):
        desk.checked_upload(b"x", "长" * 79 + ".xlsx")


# -- a refused file of a screening is named -------------------------------------------------------


@pytest.mark.parametrize(
    ("refused", "status", "message"),
    [
        (("empty.csv", b""), 422, "the upload is empty"),
        (("notes.txt", b"hello"), 415, "the upload is not an application workbook or list"),
        (("big.csv", b"x" * (desk.MAX_UPLOAD_BYTES + 1)), 413, "too large"),
    ],
)
def test_a_refused_file_of_a_screening_is_named_with_its_position(
    api, users, refused, status, message
):
    files = [("files", (WORKBOOK.name, WORKBOOK.read_bytes())), ("files", refused)]
    files.append(("files", ("清单.csv", b"project_id\nA\n")))
    answer = api.post("/screenings", files=files, headers=bearer(users["rita"]))
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert message in error["message"]
    assert (error["details"]["file"], error["details"]["position"]) == (refused[0], 2)


def test_a_refused_file_of_a_screening_is_named_on_the_chinese_page(app, users):
    rita = browser(app, users["rita"], "zh")
    token = csrf_of(rita.get("/web/screenings").text)
    files = [("files", (WORKBOOK.name, WORKBOOK.read_bytes())), ("files", ("空.csv", b""))]
    page = rita.post("/web/screenings", data={"csrf": token}, files=files)
    assert page.status_code == 422
    assert "所传第 2 个文件：空.csv" in page.text and "上传的文件是空的" in page.text


# -- a decision after a sign-off -----------------------------------------------------------------


@pytest.fixture
def signed(engine, users, first) -> str:
    """A copy of olga's assessment of its own (its memo in Chinese), accepted by her and
    signed off by rita."""
    found = copy_of(engine, first, "再决定 (修订).xlsx", lang="zh")  # reprinted under its name
    olga, rita = (register.user_of_token(engine, users[n].token) for n in ("olga", "rita"))
    desk.decide(engine, olga, found, "accept")
    desk.sign_off(engine, rita, found)
    return found


def test_a_decision_after_a_sign_off_needs_a_reason_and_names_the_sign_off_it_replaces(
    api, engine, users, signed
):
    path, olga = f"/assessments/{signed}", bearer(users["olga"])
    again = {"action": "override", "outcome": "decline"}
    for refused in (
        api.post(f"{path}/decision", json=again, headers=olga),
        api.post(f"{path}/decision", json={"action": "accept"}, headers=olga),
    ):
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "conflict" and "signed off" in error["message"]
        assert error["details"]["signed_off_by"] == "rita"
    made = api.post(f"{path}/decision", json={**again, "reason": "withdrawn"}, headers=olga)
    assert made.status_code == 201, made.text
    trail = api.get(path, headers=olga).json()["trail"]
    when = trail[1]["when"]
    assert [step["step"] for step in trail] == ["accept", "sign off", "override"]
    assert trail[-1]["replaces_sign_off"] == {"who": "rita", "when": when}
    assert trail[-1]["note"].startswith(f"replaces the decision signed off by rita on {when}")
    assert [step["replaces_sign_off"] for step in trail[:2]] == [None, None]
    events = register.events(engine, signed)
    assert desk.latest_sign_off(events) is None  # the sign-off no longer covers it
    assert page_views.stage(events) == "awaiting_sign_off"
    again_signed = api.post(f"{path}/sign-off", json={}, headers=bearer(users["rita"]))
    assert again_signed.status_code == 201  # the new decision, signed off on its own
    assert desk.latest_sign_off(register.events(engine, signed)) == "rita"


def test_the_page_and_the_memo_say_which_sign_off_a_decision_replaces(app, engine, users, signed):
    olga = register.user_of_token(engine, users["olga"].token)
    desk.decide(engine, olga, signed, "override", outcome="decline", reason="withdrawn")
    when = desk.trail(engine, signed)[1]["when"]
    page = browser(app, users["sam"], "zh").get(f"/web/assessments/{signed}").text
    assert f"取代了 rita 于 {when} 签核的决定：该签核不涵盖本决定。" in page
    assert f"本决定取代了 rita 于 {when} 签核的决定，须重新签核。" in page
    assert WORDS["zh"]["sign_off"]["submit"] in page  # a reviewer signs off again
    english = browser(app, users["sam"], "en").get(f"/web/assessments/{signed}").text
    assert f"Replaces the decision signed off by rita on {when}" in english
    pypdf = pytest.importorskip("pypdf")
    memo = pypdf.PdfReader(io.BytesIO(desk.reprint(engine, signed)))
    last = re.sub(r"\s+", "", memo.pages[-1].extract_text())
    assert f"改为其他结果（取代了rita于{when.replace(' ', '')}签核的决定" in last
    assert "接受建议" in last and "拒绝" in last  # the steps and outcomes in the memo's words
